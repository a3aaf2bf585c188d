//! PostgreSQL stops while two instances serve traffic: requests (writes, and reads on the
//! shared read connections) answer 503 in Seam's envelope, quickly, and succeed again once
//! the database is back, without a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::database::{self, Cluster};
use crate::server::{Server, admin};

struct Caller {
    client: reqwest::Client,
    api_key: String,
}

impl Caller {
    async fn create(&self, server: &Server, n: usize) -> (u16, Value, Duration) {
        let started = Instant::now();
        let response = self
            .client
            .post(server.url("/user_identities/create"))
            .bearer_auth(&self.api_key)
            .json(&json!({ "user_identity_key": format!("outage-{n}") }))
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let body = response.json().await.expect("JSON body");
        (status, body, started.elapsed())
    }

    /// `get` by key: a single-row read, which takes the shared read connections.
    async fn get(&self, server: &Server, n: usize) -> (u16, Value) {
        let response = self
            .client
            .get(server.url(&format!(
                "/user_identities/get?user_identity_key=outage-{n}"
            )))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    async fn status(&self, server: &Server, path: &str) -> u16 {
        let response = self.client.get(server.url(path)).send().await.unwrap();
        response.status().as_u16()
    }
}

/// Creates identities on every server in turn until `stop` is set; returns each status.
async fn background_traffic(
    caller: Arc<Caller>,
    servers: Arc<[Server; 2]>,
    stop: Arc<AtomicBool>,
) -> Vec<u16> {
    let mut statuses = Vec::new();
    let mut n = 1_000_000;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let (status, body, _) = caller.create(&servers[n % 2], n).await;
        assert!(
            status == 200 || (status == 503 && body["error"]["type"] == "service_unavailable"),
            "traffic across the outage answers 200 or 503 in the envelope: {status} {body}"
        );
        statuses.push(status);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_answers_503_and_recovers_without_restart() {
    let Some((cluster, admin_url)) = database::admin_url().and_then(|_| Cluster::init(false))
    else {
        eprintln!("IDENTITY_TEST_PG_CLUSTER is not set; skipped");
        return;
    };
    let url = database::fresh_database(&admin_url).await;
    let workspace = admin(&url, &["admin", "workspace", "create", "--name", "Outage"]);
    let flags = [
        "--db-connect-timeout-seconds",
        "1",
        "--credential-cache-seconds",
        "0",
    ];
    let servers = Arc::new([Server::start(&url, &flags), Server::start(&url, &flags)]);
    let caller = Arc::new(Caller {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        api_key: workspace["api_key"].as_str().unwrap().to_owned(),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = tokio::spawn(background_traffic(
        caller.clone(),
        servers.clone(),
        stop.clone(),
    ));
    let mut n = 0;
    for server in servers.iter() {
        for _ in 0..20 {
            n += 1;
            let (status, body, _) = caller.create(server, n).await;
            assert_eq!(status, 200, "before the outage: {body}");
            let (status, body) = caller.get(server, n).await;
            assert_eq!(status, 200, "before the outage: {body}");
        }
    }

    cluster.run("stop");
    for server in servers.iter() {
        for _ in 0..10 {
            n += 1;
            let (status, body, took) = caller.create(server, n).await;
            assert_eq!(status, 503, "during the outage: {body}");
            assert_eq!(body["ok"], false);
            assert_eq!(body["error"]["type"], "service_unavailable");
            assert!(
                !body.to_string().contains("postgres"),
                "a 503 says nothing about internals: {body}"
            );
            assert!(took < Duration::from_secs(10), "answered in {took:?}");
        }
        let (status, body) = caller.get(server, 1).await;
        assert_eq!(status, 503, "a read during the outage: {body}");
        assert_eq!(body["error"]["type"], "service_unavailable");
        assert_eq!(caller.status(server, "/ready").await, 503);
        assert_eq!(caller.status(server, "/health").await, 200);
    }

    cluster.run("start");
    for server in servers.iter() {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            n += 1;
            let (status, body, _) = caller.create(server, n).await;
            if status == 200 {
                break;
            }
            assert_eq!(status, 503, "while reconnecting: {body}");
            assert!(Instant::now() < deadline, "no recovery: {:?}", server.log());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    for server in servers.iter() {
        assert_eq!(caller.status(server, "/ready").await, 200);
        for _ in 0..20 {
            n += 1;
            let (status, body, _) = caller.create(server, n).await;
            assert_eq!(status, 200, "after recovery: {body}");
            let (status, body) = caller.get(server, n % 20 + 1).await;
            assert_eq!(status, 200, "a read after recovery: {body}");
        }
    }

    stop.store(true, Ordering::Relaxed);
    let statuses = traffic.await.unwrap();
    assert!(statuses.contains(&503), "the traffic saw the outage");
    assert_eq!(statuses.last(), Some(&200), "and its end");
}
