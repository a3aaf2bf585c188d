//! Three `serve` processes on one database: uniqueness, pagination and auth must not
//! depend on which instance answers.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::database;
use crate::server::Server;

const PAIRS: usize = 400;

/// What pair `i` of create attempts shares, and the error the losing attempt must get.
/// A quarter of the pairs share everything (key, email in another case, phone), so every
/// such value is attempted on two instances at once; the others share one field each, so
/// each unique index is raced on its own.
fn pair_bodies(i: usize) -> ([Value; 2], &'static str) {
    let body = |side: usize| {
        json!({
            "user_identity_key": format!("k-{i}-{side}"),
            "email_address": format!("e{i}-{side}@multi.example"),
            "phone_number": format!("+1444{i:04}{side}0"),
            "full_name": format!("Multi Person {i}"),
        })
    };
    let (mut first, mut second) = (body(0), body(1));
    let share_key = |first: &mut Value, second: &mut Value| {
        first["user_identity_key"] = json!(format!("shared-{i}"));
        second["user_identity_key"] = json!(format!("shared-{i}"));
    };
    let share_email = |first: &mut Value, second: &mut Value| {
        first["email_address"] = json!(format!("shared{i}@multi.example"));
        second["email_address"] = json!(format!("SHARED{i}@Multi.Example"));
    };
    let share_phone = |first: &mut Value, second: &mut Value| {
        first["phone_number"] = json!(format!("+1333{i:06}"));
        second["phone_number"] = json!(format!("+1333{i:06}"));
    };
    let expected = match i % 4 {
        0 => {
            share_key(&mut first, &mut second);
            "duplicate_user_identity_key"
        }
        1 => {
            share_email(&mut first, &mut second);
            "duplicate_email_address"
        }
        2 => {
            share_phone(&mut first, &mut second);
            "duplicate_phone_number"
        }
        _ => {
            share_key(&mut first, &mut second);
            share_email(&mut first, &mut second);
            share_phone(&mut first, &mut second);
            // Several collisions name the phone first, on both backends.
            "duplicate_phone_number"
        }
    };
    ([first, second], expected)
}

async fn post(client: &reqwest::Client, url: String, key: &str, body: &Value) -> (u16, Value) {
    let response = client
        .post(url)
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_uniqueness_and_pagination() {
    let Some(admin_url) = database::admin_url() else {
        eprintln!("IDENTITY_TEST_POSTGRES_URL is not set; skipped");
        return;
    };
    let url = database::fresh_database(&admin_url).await;
    migrate_from_three_processes_at_once(&url);
    let servers = start_three_at_once(&url);
    let printed: Vec<String> = servers.iter().filter_map(Server::printed_api_key).collect();
    assert_eq!(printed.len(), 1, "one instance creates the first workspace");
    let api_key = Arc::new(printed[0].clone());
    let client = reqwest::Client::new();

    let limit = Arc::new(Semaphore::new(24));
    let mut pairs = tokio::task::JoinSet::new();
    for i in 0..PAIRS {
        let (servers, client, key, limit) = (
            servers.clone(),
            client.clone(),
            api_key.clone(),
            limit.clone(),
        );
        pairs.spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let ([first, second], expected) = pair_bodies(i);
            let first_url = servers[i % 3].url("/user_identities/create");
            let second_url = servers[(i + 1) % 3].url("/user_identities/create");
            let (a, b) = tokio::join!(
                post(&client, first_url, &key, &first),
                post(&client, second_url, &key, &second)
            );
            (i, expected, a, b)
        });
    }

    let mut created = HashSet::new();
    while let Some(outcome) = pairs.join_next().await {
        let (i, expected, a, b) = outcome.unwrap();
        let (winner, loser) = match (a.0, b.0) {
            (200, _) => (a, b),
            (_, 200) => (b, a),
            _ => panic!("pair {i}: neither attempt succeeded: {a:?} {b:?}"),
        };
        assert_eq!(loser.0, 400, "pair {i}: {loser:?}");
        assert_eq!(loser.1["error"]["type"], expected, "pair {i}: {loser:?}");
        let id = winner.1["user_identity"]["user_identity_id"]
            .as_str()
            .unwrap();
        assert!(created.insert(id.to_owned()));
    }
    assert_eq!(created.len(), PAIRS);

    let listed = list_through_alternating_instances(&client, &servers, &api_key).await;
    let unique: HashSet<_> = listed.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(unique.len(), listed.len(), "no identity is listed twice");
    assert_eq!(unique, created, "every created identity is listed");
    assert!(
        listed.windows(2).all(|pair| pair[0] < pair[1]),
        "pages follow (created_at, user_identity_id) order"
    );
}

/// Three servers start together on a database without workspaces.
fn start_three_at_once(url: &str) -> Arc<Vec<Server>> {
    let starting: Vec<_> = (0..3).map(|_| Server::spawn(url, &[])).collect();
    Arc::new(starting.into_iter().map(|server| server.wait()).collect())
}

/// Three `migrate` processes race on an empty database; the advisory lock lets each
/// migration run once and all three succeed.
fn migrate_from_three_processes_at_once(url: &str) {
    let children: Vec<_> = (0..3)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_identity-server"))
                .args(["migrate", "--database", url])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run migrate")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Every `(created_at, user_identity_id)` in the workspace, reading page `n` from
/// instance `n % 3`.
async fn list_through_alternating_instances(
    client: &reqwest::Client,
    servers: &[Server],
    api_key: &str,
) -> Vec<(String, String)> {
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0.. {
        let mut url = servers[page % 3].url("/user_identities/list?limit=25");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&page_cursor={cursor}"));
        }
        let response = client.get(url).bearer_auth(api_key).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        for identity in body["user_identities"].as_array().unwrap() {
            listed.push((
                identity["created_at"].as_str().unwrap().to_owned(),
                identity["user_identity_id"].as_str().unwrap().to_owned(),
            ));
        }
        cursor = body["pagination"]["next_page_cursor"]
            .as_str()
            .map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    listed
}
