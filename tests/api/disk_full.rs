//! A full disk under SQLite: writes are refused with `503 service_unavailable` and store
//! nothing, reads keep answering, and once space returns writes succeed again without a
//! restart. Every acknowledged create is there afterwards, no refused one is, and the
//! database passes its integrity checks.
//!
//! Needs a small file system of its own: scripts/test.sh mounts a tmpfs and names it in
//! `IDENTITY_TEST_SMALL_DISK` (mounting needs root; without it the script says so and this
//! test is skipped).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};

use crate::crash::check_sqlite_integrity;
use crate::process::{ServerProcess, workspace};

/// Written before the server starts and deleted once the disk is full: the space that
/// comes back.
const BALLAST_BYTES: usize = 2 << 20;
/// Creates sent at most; the disk fills long before (each group commit appends pages to
/// the write-ahead log).
const MAX_CREATES: usize = 20_000;

fn small_disk() -> Option<PathBuf> {
    std::env::var_os("IDENTITY_TEST_SMALL_DISK")
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
}

async fn create(client: &Client, server: &ServerProcess, api_key: &str, n: usize) -> (u16, Value) {
    let body = json!({
        "user_identity_key": format!("full-{n}"),
        "email_address": format!("full{n}@disk.example"),
        "full_name": format!("{} {n}", "Filling The Disk".repeat(12)),
    });
    let response = client
        .post(server.url("/user_identities/create"))
        .bearer_auth(api_key)
        .json(&body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

async fn get(client: &Client, server: &ServerProcess, api_key: &str, path: &str) -> (u16, Value) {
    let response = client
        .get(server.url(path))
        .bearer_auth(api_key)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// Every key in the workspace, read page by page.
async fn stored_keys(client: &Client, server: &ServerProcess, api_key: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut path = "/user_identities/list?limit=1000".to_owned();
    loop {
        let (status, page) = get(client, server, api_key, &path).await;
        assert_eq!(status, 200, "{page}");
        for identity in page["user_identities"].as_array().unwrap() {
            keys.insert(identity["user_identity_key"].as_str().unwrap().to_owned());
        }
        match page["pagination"]["next_page_cursor"].as_str() {
            Some(cursor) => path = format!("/user_identities/list?limit=1000&page_cursor={cursor}"),
            None => return keys,
        }
    }
}

#[tokio::test]
async fn a_full_disk_refuses_writes_keeps_reads_and_recovers_when_space_returns() {
    let Some(disk) = small_disk() else {
        eprintln!("IDENTITY_TEST_SMALL_DISK is not set; skipped");
        return;
    };
    let dir = tempfile::tempdir_in(&disk).unwrap();
    let ballast = dir.path().join("ballast");
    std::fs::write(&ballast, vec![0u8; BALLAST_BYTES]).unwrap();
    let database = format!("sqlite://{}", dir.path().join("identity.db").display());
    let (_, api_key) = workspace(&database);
    let mut server = ServerProcess::start(&database, &[]);
    let client = Client::new();

    let mut acknowledged = BTreeSet::new();
    let mut refused = 0;
    let mut n = 0;
    while refused < 3 {
        assert!(n < MAX_CREATES, "the disk never filled");
        let (status, body) = create(&client, &server, &api_key, n).await;
        match status {
            200 => {
                acknowledged.insert(format!("full-{n}"));
            }
            503 => {
                assert_eq!(body["error"]["type"], "service_unavailable", "{body}");
                assert_eq!(body["ok"], false);
                refused += 1;
            }
            _ => panic!("create {n} answered {status}: {body}"),
        }
        n += 1;
    }
    assert!(!acknowledged.is_empty(), "the disk was full from the start");
    eprintln!(
        "{} creates acknowledged before the disk filled",
        acknowledged.len()
    );

    // Reads do not need space.
    let last = acknowledged.iter().next_back().unwrap();
    let (status, body) = get(
        &client,
        &server,
        &api_key,
        &format!("/user_identities/get?user_identity_key={last}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stored_keys(&client, &server, &api_key).await, acknowledged);

    // Space comes back: the next writes succeed, with no restart.
    std::fs::remove_file(&ballast).unwrap();
    for _ in 0..3 {
        let (status, body) = create(&client, &server, &api_key, n).await;
        assert_eq!(status, 200, "a create once space returned: {body}");
        acknowledged.insert(format!("full-{n}"));
        n += 1;
    }
    assert_eq!(stored_keys(&client, &server, &api_key).await, acknowledged);

    // And all of it is on disk, whole, for the next start.
    server.terminate();
    assert!(
        server.wait_exit(Duration::from_secs(30)).is_some(),
        "the server exits on SIGTERM"
    );
    check_sqlite_integrity(&database);
    let restarted = ServerProcess::start(&database, &[]);
    assert_eq!(
        stored_keys(&client, &restarted, &api_key).await,
        acknowledged
    );
    assert!(
        !restarted.logs().contains("Filling The Disk"),
        "no name in the logs"
    );
}
