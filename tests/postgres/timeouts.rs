//! A statement that runs past `--db-statement-timeout-seconds` is cancelled by PostgreSQL
//! and its request answers 503; the same server then serves the next request.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::database;
use crate::server::{Server, admin};

async fn create(client: &reqwest::Client, server: &Server, key: &str, n: u32) -> (u16, Value) {
    let response = client
        .post(server.url("/user_identities/create"))
        .bearer_auth(key)
        .json(&json!({ "user_identity_key": format!("slow-{n}") }))
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_past_the_timeout_answers_503() {
    let Some(admin_url) = database::admin_url() else {
        eprintln!("IDENTITY_TEST_POSTGRES_URL is not set; skipped");
        return;
    };
    let url = database::fresh_database(&admin_url).await;
    let workspace = admin(&url, &["admin", "workspace", "create", "--name", "Slow"]);
    let key = workspace["api_key"].as_str().unwrap();
    let server = Server::start(&url, &["--db-statement-timeout-seconds", "0.5"]);
    let client = reqwest::Client::new();
    assert_eq!(create(&client, &server, key, 1).await.0, 200);

    // Another session holds the table, so the next insert waits on its lock.
    let mut blocker = database::connect(&url).await;
    let lock = blocker.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE user_identities IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let started = Instant::now();
    let (status, body) = create(&client, &server, key, 2).await;
    let waited = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["type"], "service_unavailable");
    assert!(
        waited >= Duration::from_millis(450),
        "cancelled after {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "cancelled after {waited:?}"
    );
    lock.rollback().await.unwrap();

    assert_eq!(create(&client, &server, key, 3).await.0, 200);
    let (status, body) = create(&client, &server, key, 2).await;
    assert_eq!(status, 200, "the cancelled create stored nothing: {body}");
}
