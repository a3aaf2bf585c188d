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

/// A PostgreSQL backend process stopped with SIGSTOP until dropped.
struct Frozen(i32);

impl Frozen {
    fn new(pid: i32) -> Self {
        let status = std::process::Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -STOP {pid}");
        Self(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-CONT", &self.0.to_string()])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_stops_answering_is_dropped_after_the_deadline() {
    let Some(admin_url) = database::admin_url() else {
        eprintln!("IDENTITY_TEST_POSTGRES_URL is not set; skipped");
        return;
    };
    let url = database::fresh_database(&admin_url).await;
    let workspace = admin(&url, &["admin", "workspace", "create", "--name", "Frozen"]);
    let key = workspace["api_key"].as_str().unwrap();
    let flags = [
        "--db-pool-size",
        "1",
        "--db-statement-timeout-seconds",
        "1",
        "--db-connect-timeout-seconds",
        "1",
        "--credential-cache-seconds",
        "60",
    ];
    let server = Server::start(&url, &flags);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    assert_eq!(create(&client, &server, key, 1).await.0, 200);

    // Freeze the server's only connection: its backend takes the query and never answers,
    // while the socket stays open, as in a network partition.
    let inspector = database::connect(&url).await;
    let pid: i32 = inspector
        .query_one(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'identity-server'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let frozen = Frozen::new(pid);
    let started = Instant::now();
    let (status, body) = create(&client, &server, key, 2).await;
    let waited = started.elapsed();
    drop(frozen);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["type"], "service_unavailable");
    assert!(waited < Duration::from_secs(6), "gave up after {waited:?}");

    let (status, body) = create(&client, &server, key, 3).await;
    assert_eq!(
        status, 200,
        "a new connection replaces the frozen one: {body}"
    );
}

/// The backend of the connection that reads by id share, as `pg_stat_activity` shows it:
/// the one whose last statement was that read.
async fn shared_read_backend(inspector: &tokio_postgres::Client) -> i32 {
    inspector
        .query_one(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'identity-server'
                 AND query LIKE '%WHERE u.user_identity_id = $1 AND u.workspace_id = $2'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_read_connection_that_stops_answering_or_closes_is_replaced() {
    let Some(admin_url) = database::admin_url() else {
        eprintln!("IDENTITY_TEST_POSTGRES_URL is not set; skipped");
        return;
    };
    let url = database::fresh_database(&admin_url).await;
    let workspace = admin(&url, &["admin", "workspace", "create", "--name", "Shared"]);
    let key = workspace["api_key"].as_str().unwrap();
    // A pool of 4: three pooled connections and one that reads by id share.
    let flags = [
        "--db-pool-size",
        "4",
        "--db-statement-timeout-seconds",
        "1",
        "--db-connect-timeout-seconds",
        "1",
    ];
    let server = Server::start(&url, &flags);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let (status, created) = create(&client, &server, key, 1).await;
    assert_eq!(status, 200, "{created}");
    let id = created["user_identity"]["user_identity_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = || async {
        let response = client
            .get(server.url("/user_identities/get"))
            .query(&[("user_identity_id", id.as_str())])
            .bearer_auth(key)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.expect("JSON body"))
    };
    let (status, body) = get().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_identity"]["user_identity_id"], id.as_str());

    let inspector = database::connect(&url).await;
    let frozen = Frozen::new(shared_read_backend(&inspector).await);
    let started = Instant::now();
    let (status, body) = get().await;
    let waited = started.elapsed();
    drop(frozen);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["type"], "service_unavailable");
    assert!(waited < Duration::from_secs(6), "gave up after {waited:?}");
    let (status, body) = get().await;
    assert_eq!(
        status, 200,
        "a new connection replaces the frozen one: {body}"
    );

    // A connection the database closes is replaced too; a read already on its way when
    // it closed may answer 503.
    let pid = shared_read_backend(&inspector).await;
    inspector
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (status, body) = get().await;
        assert!(status == 200 || status == 503, "{status} {body}");
        statuses.push(status);
        if status == 200 {
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    assert_ne!(shared_read_backend(&inspector).await, pid);
}
