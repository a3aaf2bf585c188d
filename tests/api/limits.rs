//! Every documented limit, and what a client sees when it reaches one.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use identity_server::AppConfig;
use identity_server::server::ConnectionLimits;
use identity_server::service::rate_limit::RateLimit;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, jean};

const CREATE: &str = "/user_identities/create";
const LIST: &str = "/user_identities/list";

/// Writes `request` on a fresh socket and reads until the server closes it (`Ok`) or
/// `wait` ends (`Err`).
async fn raw_exchange(
    app: &TestApp,
    request: &'static [u8],
    wait: Duration,
) -> Result<String, String> {
    let address = app.address;
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).expect("connect");
        stream.set_read_timeout(Some(wait)).unwrap();
        stream.write_all(request).unwrap();
        let mut response = Vec::new();
        let outcome = stream.read_to_end(&mut response);
        let text = String::from_utf8_lossy(&response).into_owned();
        outcome.map(|_| text.clone()).map_err(|_| text)
    })
    .await
    .unwrap()
}

fn envelope_of(response: &str) -> Value {
    let (_, body) = response
        .split_once("\r\n\r\n")
        .expect("a complete response");
    serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON body: {response}"))
}

#[tokio::test]
async fn string_fields_longer_than_their_limit_are_invalid_input() {
    let app = TestApp::spawn().await;
    let email_254 = format!("{}@example.com", "a".repeat(254 - 12));
    let cases = [
        ("user_identity_key", "k".repeat(256), 255),
        ("full_name", "é".repeat(256), 255),
        ("email_address", format!("a{email_254}"), 254),
    ];

    for (field, value, limit) in cases {
        let reply = app.post(CREATE, json!({ field: value })).await;
        reply.assert_error(400, "invalid_input");
        let issue = format!("String must contain at most {limit} character(s)");
        assert_eq!(
            reply.body["error"]["message"],
            format!("{issue} for \"{field}\"")
        );
        assert_eq!(
            reply.body["error"]["validation_errors"][field]["_errors"][0],
            issue
        );
    }
    let at_limits = json!({
        "user_identity_key": "k".repeat(255),
        "full_name": "é".repeat(255),
        "email_address": email_254,
    });
    let created = app.create(at_limits).await;
    let id = created["user_identity_id"].as_str().unwrap();

    let update = json!({"user_identity_id": id, "full_name": "n".repeat(256)});
    let reply = app
        .call(Method::PATCH, "/user_identities/update", Some(update))
        .await;
    reply.assert_error(400, "invalid_input");
    let search = app.get(&format!("{LIST}?search={}", "s".repeat(256))).await;
    search.assert_error(400, "invalid_input");
    let listed = app.get(LIST).await;
    assert_eq!(listed.assert_ok()["user_identities"], json!([created]));
}

#[tokio::test]
async fn oversized_headers_answer_431() {
    let app = TestApp::spawn().await;

    let big = app
        .send(
            app.request(Method::GET, LIST)
                .bearer_auth(&app.api_key)
                .header("x-big", "a".repeat(33 * 1024)),
        )
        .await;
    big.assert_error(431, "request_header_fields_too_large");
    assert!(big.request_id.is_some());

    let huge = app
        .request(Method::GET, LIST)
        .header("x-huge", "a".repeat(70 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 431);
    app.get(LIST).await.assert_ok();
}

#[tokio::test]
async fn a_body_that_arrives_too_slowly_answers_408() {
    let config = AppConfig {
        body_read_timeout: Duration::from_millis(300),
        ..AppConfig::default()
    };
    let app = TestApp::spawn_with(config).await;
    let head = format!(
        "POST {CREATE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"full_name\":",
        app.api_key
    );

    let address = app.address;
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        let mut response = vec![0; 4096];
        let read = stream.read(&mut response).unwrap();
        String::from_utf8_lossy(&response[..read]).into_owned()
    })
    .await
    .unwrap();

    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    let envelope = envelope_of(&response);
    assert_eq!(envelope["error"]["type"], "request_timeout");
    assert_eq!(envelope["ok"], false);
    assert_eq!(
        app.get(LIST).await.assert_ok()["user_identities"],
        json!([])
    );
}

#[tokio::test]
async fn a_client_too_slow_to_send_headers_is_disconnected() {
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ConnectionLimits::default()
    };
    let app = TestApp::spawn_limited(AppConfig::default(), limits).await;

    let partial = b"GET /user_identities/list HTTP/1.1\r\nHost: x\r\n";
    let closed = raw_exchange(&app, partial, Duration::from_secs(10)).await;

    let text = closed.expect("the server closes the connection");
    assert!(!text.contains("200 OK"), "{text}");
    app.get(LIST).await.assert_ok();
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let limits = ConnectionLimits {
        max_connections: 1,
        ..ConnectionLimits::default()
    };
    let app = TestApp::spawn_limited(AppConfig::default(), limits).await;
    let request = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let address = app.address;

    let outcome = tokio::task::spawn_blocking(move || {
        let mut first = TcpStream::connect(address).unwrap();
        first
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut buffer = [0; 1024];
        let read = first.read(&mut buffer).unwrap();
        assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));

        let mut second = TcpStream::connect(address).unwrap();
        second.write_all(request.as_bytes()).unwrap();
        second
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let waited = second.read(&mut buffer).is_err();
        drop(first);
        second
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut response = String::new();
        second.read_to_string(&mut response).unwrap();
        (waited, response)
    })
    .await
    .unwrap();

    assert!(
        outcome.0,
        "the second connection was served while the first was open"
    );
    assert!(outcome.1.starts_with("HTTP/1.1 200"), "{}", outcome.1);
}

#[tokio::test]
async fn a_credential_over_its_rate_gets_429_with_retry_after() {
    let config = AppConfig {
        rate_limit: Some(RateLimit {
            per_second: 0.2,
            burst: 3,
        }),
        ..AppConfig::default()
    };
    let app = TestApp::spawn_with(config).await;
    let (_, other_key) = app.other_workspace().await;

    for _ in 0..3 {
        app.get(LIST).await.assert_ok();
    }
    let response = app
        .request(Method::POST, CREATE)
        .bearer_auth(&app.api_key)
        .json(&jean())
        .send()
        .await
        .unwrap();
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let limited = TestApp::reply(response).await;

    limited.assert_error(429, "rate_limited");
    assert!((1..=5).contains(&retry_after), "{retry_after}");
    let other = app
        .send(app.request(Method::GET, LIST).bearer_auth(&other_key))
        .await;
    other.assert_ok();
    let listed = app
        .send(app.request(Method::GET, LIST).bearer_auth(&other_key))
        .await;
    assert_eq!(listed.assert_ok()["user_identities"], json!([]));
}

/// A client whose requests come from `source` (any address in 127.0.0.0/8 is local).
fn client_from(source: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(source))
        .build()
        .unwrap()
}

#[tokio::test]
async fn failed_authentications_from_one_address_are_bounded_with_429_and_retry_after() {
    let config = AppConfig {
        auth_failure_limit: Some(RateLimit {
            per_second: 0.01,
            burst: 3,
        }),
        ..AppConfig::default()
    };
    let app = TestApp::spawn_with(config).await;
    let (prefix, _) = app.api_key.rsplit_once('_').unwrap();
    let wrong_secret = format!("{prefix}_{}", "x".repeat(32));
    let attacker = client_from([127, 0, 0, 2]);
    let neighbour = client_from([127, 0, 0, 3]);
    let list = |client: &reqwest::Client, key: Option<&str>| {
        let request = client.get(app.url(LIST));
        match key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    };

    // Successful authentications cost nothing.
    for _ in 0..5 {
        app.send(list(&attacker, Some(&app.api_key)))
            .await
            .assert_ok();
    }
    // An unknown key, a known key with a wrong secret and no credentials at all each
    // count as one failure.
    let unknown = "seam_000000000000_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for key in [Some(unknown), Some(wrong_secret.as_str()), None] {
        app.send(list(&attacker, key))
            .await
            .assert_error(401, "unauthorized");
    }
    let response = list(&attacker, Some(&app.api_key)).send().await.unwrap();
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let limited = TestApp::reply(response).await;

    limited.assert_error(429, "rate_limited");
    assert!(
        limited.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("failed authentication"),
        "{}",
        limited.body
    );
    assert!((1..=100).contains(&retry_after), "{retry_after}");
    let refused = app.send(list(&attacker, Some(unknown))).await;
    refused.assert_error(429, "rate_limited");
    let health = attacker.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "routes without credentials are open");
    app.send(list(&neighbour, Some(&app.api_key)))
        .await
        .assert_ok();
    app.send(list(&neighbour, Some(unknown)))
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn without_a_bound_failed_authentications_are_never_429() {
    let app = TestApp::spawn().await;
    let unknown = "seam_000000000000_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for _ in 0..150 {
        let reply = app
            .send(app.request(Method::GET, LIST).bearer_auth(unknown))
            .await;
        reply.assert_error(401, "unauthorized");
    }
    app.get(LIST).await.assert_ok();
}

#[tokio::test]
async fn strings_holding_a_nul_character_are_invalid_input() {
    let app = TestApp::spawn().await;

    let created = app.post(CREATE, json!({"full_name": "Jean\u{0}Doe"})).await;
    let searched = app.get(&format!("{LIST}?search=%00abc")).await;
    let by_key = app.get("/user_identities/get?user_identity_key=a%00").await;

    for reply in [created, searched, by_key] {
        reply.assert_error(400, "invalid_input");
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("NUL")
        );
    }
}

#[tokio::test]
async fn other_verbs_on_get_only_routes_answer_405_in_the_envelope() {
    let app = TestApp::spawn().await;

    for path in ["/health", "/ready", "/openapi.json"] {
        let reply = app.send(app.request(Method::POST, path)).await;
        reply.assert_error(405, "method_not_allowed");
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ConnectionLimits::default()
    };
    let app = TestApp::spawn_limited(AppConfig::default(), limits).await;

    let request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    let closed = raw_exchange(&app, request, Duration::from_secs(10)).await;

    let text = closed.expect("the server closes the idle connection");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

#[tokio::test]
async fn more_than_one_hundred_header_fields_answer_431() {
    let app = TestApp::spawn().await;
    let mut request = app.request(Method::GET, LIST).bearer_auth(&app.api_key);
    for number in 0..101 {
        request = request.header(format!("x-field-{number}"), "1");
    }

    let response = request.send().await.unwrap();

    assert_eq!(response.status(), 431);
}
