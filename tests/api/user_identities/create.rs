use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, jean};

fn is_canonical_uuid(text: &str) -> bool {
    identity_server::domain::ids::parse_canonical_uuid(text).is_ok() && text == text.to_lowercase()
}

fn is_rfc3339_millis_utc(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 24
        && bytes[10] == b'T'
        && bytes[19] == b'.'
        && bytes[23] == b'Z'
        && identity_server::domain::timestamp::Timestamp::parse(text).is_ok()
}

#[tokio::test]
async fn create_returns_the_documented_example() {
    let app = TestApp::spawn().await;

    let reply = app.post("/user_identities/create", jean()).await;

    assert_eq!(reply.status, 200);
    let body = reply.assert_ok();
    let object = body.as_object().unwrap();
    assert_eq!(
        object.keys().collect::<Vec<_>>(),
        ["ok", "user_identity"].iter().collect::<Vec<_>>()
    );
    let identity = &body["user_identity"];
    let keys: Vec<&str> = identity
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "user_identity_id",
        "user_identity_key",
        "email_address",
        "phone_number",
        "display_name",
        "full_name",
        "created_at",
        "workspace_id",
        "errors",
        "warnings",
        "acs_user_ids",
    ];
    expected.sort_unstable();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected);
    assert!(is_canonical_uuid(
        identity["user_identity_id"].as_str().unwrap()
    ));
    assert_eq!(identity["user_identity_key"], "jean_doe");
    assert_eq!(identity["email_address"], "jean@example.com");
    assert_eq!(identity["phone_number"], "+15555550110");
    assert_eq!(identity["display_name"], "Jean Doe");
    assert_eq!(identity["full_name"], "Jean Doe");
    assert!(
        is_rfc3339_millis_utc(identity["created_at"].as_str().unwrap()),
        "{identity}"
    );
    assert_eq!(identity["workspace_id"], app.workspace_id.as_str());
    assert_eq!(identity["errors"], json!([]));
    assert_eq!(identity["warnings"], json!([]));
    assert_eq!(identity["acs_user_ids"], json!([]));
}

#[tokio::test]
async fn create_accepts_an_empty_object_and_an_empty_body() {
    let app = TestApp::spawn().await;

    let identity = app.create(json!({})).await;
    for field in [
        "user_identity_key",
        "email_address",
        "phone_number",
        "full_name",
    ] {
        assert_eq!(identity[field], Value::Null, "{field}");
    }
    let display_name = identity["display_name"].as_str().unwrap();
    assert!(display_name.contains(identity["user_identity_id"].as_str().unwrap()));

    let reply = app
        .send(
            app.request(Method::POST, "/user_identities/create")
                .bearer_auth(&app.api_key),
        )
        .await;
    reply.assert_ok();
}

#[tokio::test]
async fn create_stores_null_fields_as_absent() {
    let app = TestApp::spawn().await;

    let identity = app
        .create(json!({"user_identity_key": null, "email_address": null, "phone_number": null, "full_name": "Ann"}))
        .await;

    assert_eq!(identity["user_identity_key"], Value::Null);
    assert_eq!(identity["display_name"], "Ann");
}

#[tokio::test]
async fn create_derives_display_name_from_the_best_field() {
    let app = TestApp::spawn().await;

    let by_email = app
        .create(json!({"email_address": "a@example.com", "user_identity_key": "k1"}))
        .await;
    let by_phone = app
        .create(json!({"phone_number": "+15555550111", "user_identity_key": "k2"}))
        .await;
    let by_key = app.create(json!({"user_identity_key": "k3"})).await;

    assert_eq!(by_email["display_name"], "a@example.com");
    assert_eq!(by_phone["display_name"], "+15555550111");
    assert_eq!(by_key["display_name"], "k3");
}

#[tokio::test]
async fn create_trims_the_phone_number() {
    let app = TestApp::spawn().await;

    let identity = app.create(json!({"phone_number": "  +15555550110 "})).await;

    assert_eq!(identity["phone_number"], "+15555550110");
}

#[tokio::test]
async fn create_rejects_duplicate_key_email_and_phone() {
    let app = TestApp::spawn().await;
    app.create(jean()).await;

    let cases = [
        (
            json!({"user_identity_key": "jean_doe"}),
            "duplicate_user_identity_key",
        ),
        (
            json!({"email_address": "JEAN@Example.com"}),
            "duplicate_email_address",
        ),
        (
            json!({"phone_number": "+15555550110"}),
            "duplicate_phone_number",
        ),
    ];
    for (body, error_type) in cases {
        let reply = app.post("/user_identities/create", body).await;
        reply.assert_error(400, error_type);
    }

    let list = app.get("/user_identities/list").await;
    assert_eq!(
        list.assert_ok()["user_identities"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn create_allows_the_same_values_in_another_workspace() {
    let app = TestApp::spawn().await;
    let (_, other_key) = app.other_workspace().await;
    app.create(jean()).await;

    let reply = app
        .send(
            app.request(Method::POST, "/user_identities/create")
                .bearer_auth(&other_key)
                .json(&jean()),
        )
        .await;

    reply.assert_ok();
}

#[tokio::test]
async fn create_lets_exactly_one_of_racing_duplicates_win() {
    let app = std::sync::Arc::new(TestApp::spawn().await);

    let attempts = (0..24).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            let body = json!({"email_address": "race@example.com", "user_identity_key": format!("racer-{i}")});
            app.post("/user_identities/create", body).await
        })
    });
    let mut winners = 0;
    for attempt in attempts {
        let reply = attempt.await.unwrap();
        if reply.status == 200 {
            winners += 1;
        } else {
            reply.assert_error(400, "duplicate_email_address");
        }
    }

    assert_eq!(winners, 1);
}

/// Concurrent creates are written together (a group commit on SQLite, one multi-row
/// insert on PostgreSQL); a duplicate among them must fail alone, naming its own field,
/// and take none of its neighbours down with it.
#[tokio::test]
async fn concurrent_creates_fail_only_the_duplicates_each_naming_its_field() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let fields = [
        ("user_identity_key", "duplicate_user_identity_key"),
        ("email_address", "duplicate_email_address"),
        ("phone_number", "duplicate_phone_number"),
    ];
    let shared_value = |group: usize, field: &str| match field {
        "user_identity_key" => format!("shared-{group}"),
        "email_address" => format!("shared-{group}@example.com"),
        _ => format!("+1555{group:07}"),
    };

    // 30 groups of 3 attempts; in each group every attempt shares one field's value and
    // holds its own values for the others, and 30 unique creates run alongside.
    let mut attempts = Vec::new();
    for group in 0..30 {
        let (field, _) = fields[group % 3];
        for attempt in 0..3 {
            let n = group * 3 + attempt;
            let mut body = json!({
                "user_identity_key": format!("own-{n}"),
                "email_address": format!("own-{n}@example.com"),
                "phone_number": format!("+1666{n:07}"),
                "full_name": format!("Attempt {n}"),
            });
            body[field] = json!(shared_value(group, field));
            attempts.push((Some(group), body));
        }
        let unique = json!({"user_identity_key": format!("unique-{group}")});
        attempts.push((None, unique));
    }
    let replies = attempts.into_iter().map(|(group, body)| {
        let app = app.clone();
        tokio::spawn(async move { (group, app.post("/user_identities/create", body).await) })
    });

    let mut winners = [0; 30];
    let mut created = Vec::new();
    for reply in replies {
        let (group, reply) = reply.await.unwrap();
        match group {
            None => created.push(reply.assert_ok()["user_identity"].clone()),
            Some(group) if reply.status == 200 => {
                winners[group] += 1;
                created.push(reply.body["user_identity"].clone());
            }
            Some(group) => reply.assert_error(400, fields[group % 3].1),
        }
    }

    assert_eq!(winners, [1; 30], "exactly one attempt of each group wins");
    for identity in &created {
        let id = identity["user_identity_id"].as_str().unwrap();
        let stored = app
            .get(&format!("/user_identities/get?user_identity_id={id}"))
            .await;
        assert_eq!(&stored.assert_ok()["user_identity"], identity);
    }
    let listed = app.get("/user_identities/list?limit=1000").await;
    let listed = listed.assert_ok()["user_identities"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(listed, created.len());
    assert_eq!(listed, 60);
}

#[tokio::test]
async fn create_rejects_malformed_fields_naming_each() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"user_identity_key": ""}),
            "user_identity_key",
            "String must contain at least 1 character(s)",
        ),
        (
            json!({"full_name": ""}),
            "full_name",
            "String must contain at least 1 character(s)",
        ),
        (
            json!({"email_address": ""}),
            "email_address",
            "Invalid email",
        ),
        (
            json!({"email_address": "jean@"}),
            "email_address",
            "Invalid email",
        ),
        (
            json!({"email_address": "je..an@example.com"}),
            "email_address",
            "Invalid email",
        ),
        (
            json!({"phone_number": "555-0110"}),
            "phone_number",
            "Phone number must be in E.164 format: +14155552671",
        ),
        (
            json!({"phone_number": ""}),
            "phone_number",
            "Phone number must be in E.164 format: +14155552671",
        ),
        (
            json!({"phone_number": 15555550110_u64}),
            "phone_number",
            "Expected string, received number",
        ),
        (
            json!({"full_name": ["Jean"]}),
            "full_name",
            "Expected string, received array",
        ),
        (
            json!({"user_identity_key": {"a": 1}}),
            "user_identity_key",
            "Expected string, received object",
        ),
        (
            json!({"email_address": true}),
            "email_address",
            "Expected string, received boolean",
        ),
        (
            json!({"acs_system_ids": ["nope"]}),
            "acs_system_ids",
            "Invalid uuid",
        ),
    ];
    for (body, field, message) in cases {
        let reply = app.post("/user_identities/create", body.clone()).await;

        reply.assert_error(400, "invalid_input");
        let errors = &reply.body["error"]["validation_errors"][field];
        let found = errors["_errors"]
            .as_array()
            .map(|list| list.contains(&json!(message)))
            .unwrap_or(false)
            || errors["0"]["_errors"]
                .as_array()
                .is_some_and(|list| list.contains(&json!(message)));
        assert!(found, "{body} -> {}", reply.body);
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(field),
            "{}",
            reply.body
        );
    }
    let list = app.get("/user_identities/list").await;
    assert_eq!(list.assert_ok()["user_identities"], json!([]));
}

#[tokio::test]
async fn create_reports_every_bad_field_at_once() {
    let app = TestApp::spawn().await;

    let reply = app
        .post(
            "/user_identities/create",
            json!({"email_address": "x", "phone_number": "y", "full_name": ""}),
        )
        .await;

    reply.assert_error(400, "invalid_input");
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("3 Input Errors: "), "{message}");
}

#[tokio::test]
async fn create_merges_query_and_body_with_the_body_winning() {
    let app = TestApp::spawn().await;

    let reply = app
        .post(
            "/user_identities/create?full_name=Query&user_identity_key=from_query",
            json!({"full_name": "Body"}),
        )
        .await;

    let identity = &reply.assert_ok()["user_identity"];
    assert_eq!(identity["full_name"], "Body");
    assert_eq!(identity["user_identity_key"], "from_query");
}

#[tokio::test]
async fn create_ignores_unknown_parameters() {
    let app = TestApp::spawn().await;

    let identity = app
        .create(json!({"full_name": "Ann", "_strict": true, "color": "blue"}))
        .await;

    assert_eq!(identity["full_name"], "Ann");
}

#[tokio::test]
async fn create_refuses_acs_systems_that_do_not_exist() {
    let app = TestApp::spawn().await;

    let reply = app
        .post(
            "/user_identities/create",
            json!({"full_name": "Ann", "acs_system_ids": ["48500a8e-5e7e-4bde-b7e5-0be97cae5d7a"]}),
        )
        .await;

    reply.assert_error(404, "acs_system_not_found");
    let list = app.get("/user_identities/list").await;
    assert_eq!(list.assert_ok()["user_identities"], json!([]));
}
