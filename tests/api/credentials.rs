//! Credentials: revocation by the admin commands reaches every instance within the cache
//! bound, secrets are stored only as hashes, and a refused token says nothing about why.

use std::time::Duration;

use reqwest::{Client, Method};

use crate::helpers::{TestApp, fresh_database_url};
use crate::process::{ServerProcess, admin, workspace};

const CACHE_SECONDS: &str = "1";

async fn status(server: &ServerProcess, token: &str, workspace: Option<&str>) -> u16 {
    let mut request = Client::new()
        .get(server.url("/user_identities/list"))
        .bearer_auth(token);
    if let Some(workspace) = workspace {
        request = request.header("seam-workspace", workspace);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn revocation_reaches_every_instance_within_the_cache_bound() {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database_url(&dir).await;
    let (workspace_id, revoked_key) = workspace(&database);
    let kept = admin(
        &database,
        &["api-key", "create", "--workspace", &workspace_id],
    );
    let kept_key = kept["api_key"].as_str().unwrap().to_owned();
    let pat = admin(&database, &["pat", "create", "--workspace", &workspace_id]);
    let pat = pat["personal_access_token"].as_str().unwrap().to_owned();
    let args = ["--credential-cache-seconds", CACHE_SECONDS];
    let instances = [
        ServerProcess::start(&database, &args),
        ServerProcess::start(&database, &args),
    ];
    for server in &instances {
        assert_eq!(status(server, &revoked_key, None).await, 200);
        assert_eq!(status(server, &pat, Some(&workspace_id)).await, 200);
    }

    admin(&database, &["api-key", "revoke", "--api-key", &revoked_key]);
    admin(&database, &["pat", "revoke", "--token", &pat]);
    tokio::time::sleep(Duration::from_millis(1300)).await;

    for server in &instances {
        assert_eq!(status(server, &revoked_key, None).await, 401);
        assert_eq!(status(server, &pat, Some(&workspace_id)).await, 401);
        assert_eq!(status(server, &kept_key, None).await, 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_stored_only_as_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database_url(&dir).await;
    let (workspace_id, api_key) = workspace(&database);
    let pat = admin(&database, &["pat", "create", "--workspace", &workspace_id]);
    let pat = pat["personal_access_token"].as_str().unwrap().to_owned();

    let stored = everything_stored(&database).await;

    assert!(!stored.is_empty());
    for token in [&api_key, &pat] {
        let secret = token.rsplit('_').next().unwrap();
        let public_id = token
            .trim_start_matches("seam_at1")
            .trim_start_matches("seam_");
        let public_id = &public_id[..12];
        assert!(
            contains(&stored, public_id.as_bytes()),
            "the public id is stored"
        );
        assert!(
            !contains(&stored, secret.as_bytes()),
            "a secret is stored in clear"
        );
    }
}

/// On SQLite the bytes of the database file and its WAL; on PostgreSQL every row of every
/// table, as text.
async fn everything_stored(database: &str) -> Vec<u8> {
    let mut stored = Vec::new();
    match database.strip_prefix("sqlite://") {
        Some(path) => {
            for suffix in ["", "-wal"] {
                if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                    stored.extend(bytes);
                }
            }
        }
        None => {
            let client = crate::database::connect(database).await;
            let tables = client
                .query(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
                    &[],
                )
                .await
                .unwrap();
            for table in tables {
                let table: String = table.get(0);
                let rows = client
                    .query(&format!("SELECT t::text FROM \"{table}\" t"), &[])
                    .await
                    .unwrap();
                for row in rows {
                    stored.extend(row.get::<_, String>(0).into_bytes());
                    stored.push(b'\n');
                }
            }
        }
    }
    stored
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test]
async fn an_unknown_credential_and_a_wrong_secret_answer_alike() {
    let app = TestApp::spawn().await;
    let token = app.personal_access_token(&[&app.workspace_id]).await;
    let flip = |token: &str| {
        let last = if token.ends_with('A') { "B" } else { "A" };
        format!("{}{last}", &token[..token.len() - 1])
    };
    let unknown_key = "seam_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned();
    let unknown_pat = "seam_at1000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned();
    let answer = |token: String| async {
        let request = app
            .request(Method::GET, "/user_identities/list")
            .bearer_auth(token)
            .header("seam-workspace", &app.workspace_id);
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };

    let wrong_key = answer(flip(&app.api_key)).await;
    let wrong_pat = answer(flip(&token)).await;

    assert_eq!(wrong_key.0, 401);
    assert_eq!(wrong_key, answer(unknown_key).await);
    assert_eq!(wrong_key, answer("seam_malformed".into()).await);
    assert_eq!(wrong_pat.0, 401);
    assert_eq!(wrong_pat, answer(unknown_pat).await);
}
