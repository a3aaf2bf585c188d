//! The built binary, used the way the README tells a newcomer to use it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::admin;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends one HTTP/1.1 request over a plain socket, as curl would, and returns status and
/// body.
fn raw_http(address: &str, request: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a complete response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON body: {response}")),
    )
}

#[test]
fn the_binary_started_without_arguments_serves_the_documented_example() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(crate::process::binary())
        .current_dir(dir.path())
        .env_remove("IDENTITY_SERVER_DATABASE")
        .env_remove("IDENTITY_SERVER_LISTEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let api_key = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.trim()
                .starts_with("seam_")
                .then(|| line.trim().to_owned())
        })
        .expect("the API key is printed on first start");
    assert!(
        dir.path().join("data").is_dir(),
        "the database lives in ./data/"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect("127.0.0.1:3020").is_err() {
        assert!(
            Instant::now() < deadline,
            "the server listens on 127.0.0.1:3020"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let body = r#"{"user_identity_key":"jean_doe","email_address":"jean@example.com","phone_number":"+15555550110","full_name":"Jean Doe"}"#;
    let create = format!(
        "POST /user_identities/create HTTP/1.1\r\nHost: 127.0.0.1:3020\r\nAuthorization: Bearer {api_key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, created) = raw_http("127.0.0.1:3020", &create);
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["ok"], true);
    let identity = &created["user_identity"];
    assert_eq!(identity["display_name"], "Jean Doe");

    let get = format!(
        "GET /user_identities/get?user_identity_id={} HTTP/1.1\r\nHost: 127.0.0.1:3020\r\n\
         Authorization: Bearer {api_key}\r\nConnection: close\r\n\r\n",
        identity["user_identity_id"].as_str().unwrap()
    );
    let (status, fetched) = raw_http("127.0.0.1:3020", &get);
    assert_eq!(status, 200);
    assert_eq!(&fetched["user_identity"], identity);
}

#[test]
fn admin_commands_print_json_that_scripts_can_use() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("admin.db").display());

    let workspace = admin(&database, &["workspace", "create", "--name", "Acme"]);
    let workspace_id = workspace["workspace_id"].as_str().unwrap();
    assert_eq!(workspace["name"], "Acme");
    assert!(workspace["api_key"].as_str().unwrap().starts_with("seam_"));
    let second = admin(&database, &["workspace", "create", "--name", "Beta"]);
    let key = admin(
        &database,
        &["api-key", "create", "--workspace", workspace_id],
    );
    assert!(key["api_key"].as_str().unwrap().starts_with("seam_"));
    let pat = admin(
        &database,
        &[
            "pat",
            "create",
            "--workspace",
            workspace_id,
            "--workspace",
            second["workspace_id"].as_str().unwrap(),
        ],
    );
    assert!(
        pat["personal_access_token"]
            .as_str()
            .unwrap()
            .starts_with("seam_at")
    );
    let revoked = admin(
        &database,
        &[
            "api-key",
            "revoke",
            "--api-key",
            key["api_key"].as_str().unwrap(),
        ],
    );
    assert_eq!(revoked["revoked"], true);

    let missing = Command::new(crate::process::binary())
        .args([
            "admin",
            "api-key",
            "create",
            "--workspace",
            "48500a8e-5e7e-4bde-b7e5-0be97cae5d7a",
        ])
        .args(["--database", &database])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(missing.stdout.is_empty());
}
