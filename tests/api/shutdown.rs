//! SIGTERM: stop accepting, finish requests in flight within the grace period, exit 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::fresh_database_url;
use crate::process::{ServerProcess, WriteLock, workspace};

const BODY: &str = r#"{"user_identity_key":"in_flight","full_name":"In Flight"}"#;

/// Opens a connection and sends a create request whose body stops after `sent` bytes.
/// A first request on the same connection makes sure the server has accepted it.
fn start_create(address: &str, api_key: &str, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let health = format!("GET /health HTTP/1.1\r\nHost: {address}\r\n\r\n");
    stream.write_all(health.as_bytes()).unwrap();
    let mut answered = Vec::new();
    while !answered.ends_with(b"{\"ok\":true}") {
        let mut byte = [0];
        stream
            .read_exact(&mut byte)
            .expect("the health check answers");
        answered.push(byte[0]);
    }
    let head = format!(
        "POST /user_identities/create HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {api_key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        BODY.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&BODY.as_bytes()[..sent]).unwrap();
    stream
}

fn read_response(stream: &mut TcpStream) -> (u16, Value) {
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a complete response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_requests_in_flight_then_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database_url(&dir).await;
    let (_, api_key) = workspace(&database);
    let mut server = ServerProcess::start(&database, &["--shutdown-grace-seconds", "10"]);
    let mut in_flight = start_create(&server.address, &api_key, 10);
    std::thread::sleep(Duration::from_millis(200));

    server.terminate();
    std::thread::sleep(Duration::from_millis(300));
    let refused = TcpStream::connect(&server.address).is_err();
    in_flight.write_all(&BODY.as_bytes()[10..]).unwrap();
    let (status, created) = read_response(&mut in_flight);
    let exit = server.wait_exit(Duration::from_secs(10));

    assert!(refused, "new connections are refused once SIGTERM arrived");
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        exit.map(|status| status.code()),
        Some(Some(0)),
        "{}",
        server.logs()
    );
    let id = created["user_identity"]["user_identity_id"]
        .as_str()
        .unwrap();
    let restarted = ServerProcess::start(&database, &[]);
    let fetched = reqwest::Client::new()
        .get(restarted.url(&format!("/user_identities/get?user_identity_id={id}")))
        .bearer_auth(&api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_exits_zero_when_the_grace_period_ends_first() {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database_url(&dir).await;
    let (_, api_key) = workspace(&database);
    let mut server = ServerProcess::start(
        &database,
        &[
            "--shutdown-grace-seconds",
            "0.5",
            "--body-read-timeout-seconds",
            "60",
        ],
    );
    let _stalled = start_create(&server.address, &api_key, 10);
    std::thread::sleep(Duration::from_millis(200));

    server.terminate();
    let exit = server.wait_exit(Duration::from_secs(20));

    assert_eq!(
        exit.map(|status| status.code()),
        Some(Some(0)),
        "{}",
        server.logs()
    );
    assert!(
        server.logs().contains("grace period over"),
        "{}",
        server.logs()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_waits_for_a_request_the_database_is_holding_up() {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database_url(&dir).await;
    let (_, api_key) = workspace(&database);
    let mut server = ServerProcess::start(&database, &["--shutdown-grace-seconds", "30"]);
    let lock = WriteLock::take(&database).await;
    // The whole request is sent; the server reads it and its write waits for the lock.
    let address = server.address.clone();
    let in_flight = tokio::task::spawn_blocking(move || {
        let mut stream = start_create(&address, &api_key, BODY.len());
        read_response(&mut stream)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    server.terminate();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let refused = TcpStream::connect(&server.address).is_err();
    let still_running = server.wait_exit(Duration::from_millis(500)).is_none();
    lock.release().await;
    let (status, created) = in_flight.await.unwrap();
    let exit = server.wait_exit(Duration::from_secs(20));

    assert!(refused, "new connections are refused once SIGTERM arrived");
    assert!(still_running, "the server waits for the request in flight");
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["user_identity"]["user_identity_key"], "in_flight");
    assert_eq!(
        exit.map(|status| status.code()),
        Some(Some(0)),
        "{}",
        server.logs()
    );
    assert!(
        server.logs().contains("all connections closed"),
        "{}",
        server.logs()
    );
}
