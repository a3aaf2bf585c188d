//! What the binary writes to its logs during a full create, get, list, update and delete
//! cycle, failures included: ids and statuses, never a credential, email address, phone
//! number, name or key; at `RUST_LOG=info` and at `trace`. A server error answers a
//! generic message and logs its cause on the request's one failure line, with its id.

use std::time::Duration;

use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::helpers::fresh_database_url;
use crate::process::{ServerProcess, WriteLock, admin, workspace};

/// Personal data used in the cycle; none of it may reach the logs.
const KEY: &str = "zq_private_key_81";
const EMAIL: &str = "Quentin.Private@Example.org";
const PHONE: &str = "+447700900123";
const NAME: &str = "Quentin Zebedee Private";
const NEW_EMAIL: &str = "qz.renamed@example.net";
const NEW_PHONE: &str = "+33612345678";
const NEW_NAME: &str = "Zebedee Renamed";

async fn call(
    server: &ServerProcess,
    token: &str,
    method: Method,
    path: &str,
    body: Value,
) -> Value {
    let request = Client::new()
        .request(method, server.url(path))
        .bearer_auth(token)
        .header("seam-workspace", "not-used-by-api-keys");
    let request = match body {
        Value::Null => request,
        body => request.json(&body),
    };
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_at_info_hold_no_secret_and_no_personal_data() {
    cycle_logs_nothing_private("info").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_at_trace_hold_no_secret_and_no_personal_data() {
    cycle_logs_nothing_private("trace").await;
}

async fn cycle_logs_nothing_private(filter: &str) {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database_url(&dir).await;
    let (workspace_id, api_key) = workspace(&database);
    let pat = admin(&database, &["pat", "create", "--workspace", &workspace_id]);
    let pat = pat["personal_access_token"].as_str().unwrap().to_owned();
    let mut server = ServerProcess::start_logging(&database, &[], filter);
    let last = if api_key.ends_with('0') { "1" } else { "0" };
    let wrong_secret = format!("{}{last}", &api_key[..api_key.len() - 1]);

    let identity = json!({
        "user_identity_key": KEY, "email_address": EMAIL, "phone_number": PHONE, "full_name": NAME,
    });
    let created = call(
        &server,
        &api_key,
        Method::POST,
        "/user_identities/create",
        identity.clone(),
    )
    .await;
    let id = created["user_identity"]["user_identity_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let duplicate = call(
        &server,
        &api_key,
        Method::POST,
        "/user_identities/create",
        identity,
    )
    .await;
    let duplicate_type = duplicate["error"]["type"].as_str().unwrap();
    assert!(duplicate_type.starts_with("duplicate_"), "{duplicate}");
    call(
        &server,
        &api_key,
        Method::GET,
        &format!("/user_identities/get?user_identity_id={id}"),
        Value::Null,
    )
    .await;
    call(
        &server,
        &api_key,
        Method::GET,
        &format!("/user_identities/get?user_identity_key={KEY}"),
        Value::Null,
    )
    .await;
    let search = format!("/user_identities/list?search={}", EMAIL.replace('+', "%2B"));
    let listed = call(&server, &api_key, Method::GET, &search, Value::Null).await;
    assert_eq!(
        listed["user_identities"][0]["user_identity_id"],
        id.as_str()
    );
    let update = json!({
        "user_identity_id": id, "email_address": NEW_EMAIL, "phone_number": NEW_PHONE, "full_name": NEW_NAME,
    });
    call(
        &server,
        &api_key,
        Method::PATCH,
        "/user_identities/update",
        update,
    )
    .await;
    let invalid = json!({ "user_identity_id": id, "email_address": "not an email" });
    call(
        &server,
        &api_key,
        Method::PATCH,
        "/user_identities/update",
        invalid,
    )
    .await;
    let refused = call(
        &server,
        &wrong_secret,
        Method::GET,
        "/user_identities/list",
        Value::Null,
    )
    .await;
    assert_eq!(refused["error"]["type"], "unauthorized");
    let with_pat = Client::new()
        .get(server.url(&format!("/user_identities/get?user_identity_id={id}")))
        .bearer_auth(&pat)
        .header("seam-workspace", &workspace_id)
        .send()
        .await
        .unwrap();
    assert_eq!(with_pat.status(), 200);
    let deleted = call(
        &server,
        &api_key,
        Method::DELETE,
        &format!("/user_identities/delete?user_identity_id={id}"),
        Value::Null,
    )
    .await;
    assert_eq!(deleted["ok"], true);
    server.terminate();
    server
        .wait_exit(Duration::from_secs(20))
        .expect("the server stops");
    let logs = server.logs();

    let finished = logs
        .lines()
        .filter(|line| line.contains("request finished"))
        .count();
    assert!(finished >= 10, "one line per request is logged:\n{logs}");
    assert!(
        logs.contains(&workspace_id),
        "ids are logged where useful:\n{logs}"
    );
    let secret = |token: &str| token.rsplit('_').next().unwrap().to_owned();
    let forbidden = [
        api_key.clone(),
        secret(&api_key),
        secret(&wrong_secret),
        pat.clone(),
        secret(&pat),
        KEY.into(),
        EMAIL.into(),
        EMAIL.to_lowercase(),
        PHONE.into(),
        PHONE.trim_start_matches('+').into(),
        NAME.into(),
        "Quentin".into(),
        NEW_EMAIL.into(),
        NEW_PHONE.into(),
        NEW_NAME.into(),
        "not an email".into(),
    ];
    for value in forbidden {
        assert!(!logs.contains(&value), "the logs hold {value:?}:\n{logs}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_answers_a_generic_message_and_logs_its_cause_with_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database_url(&dir).await;
    let (_, api_key) = workspace(&database);
    // A write kept waiting past its deadline fails with 503: SQLite gives up after its
    // busy timeout (5 seconds), PostgreSQL cancels the statement after the timeout here.
    let mut server = ServerProcess::start(&database, &["--db-statement-timeout-seconds", "1"]);
    let lock = WriteLock::take(&database).await;
    let identity = json!({
        "user_identity_key": KEY, "email_address": EMAIL, "phone_number": PHONE, "full_name": NAME,
    });

    let response = Client::new()
        .post(server.url("/user_identities/create"))
        .bearer_auth(&api_key)
        .json(&identity)
        .send()
        .await
        .unwrap();
    lock.release().await;
    let status = response.status().as_u16();
    let request_id = response.headers()["seam-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.text().await.unwrap();
    server.terminate();
    server
        .wait_exit(Duration::from_secs(20))
        .expect("the server stops");
    let logs = server.logs();

    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body,
        r#"{"error":{"type":"service_unavailable","message":"The service is temporarily unavailable; retry shortly"},"ok":false}"#
    );
    let failed: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("request failed"))
        .collect();
    assert_eq!(failed.len(), 1, "{logs}");
    assert!(failed[0].contains(&request_id), "{logs}");
    let cause = failed[0]
        .split_once("cause=")
        .map(|(_, cause)| cause.trim())
        .unwrap_or_default();
    assert!(cause.len() > 5, "the cause is logged: {logs}");
    assert!(!body.contains(cause), "{body}");
    for value in [KEY, EMAIL, PHONE, NAME, &api_key] {
        assert!(!logs.contains(value), "the logs hold {value:?}:\n{logs}");
    }
}
