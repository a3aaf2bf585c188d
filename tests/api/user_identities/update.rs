use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, jean};

async fn get(app: &TestApp, id: &str) -> Value {
    let reply = app
        .get(&format!("/user_identities/get?user_identity_id={id}"))
        .await;
    reply.assert_ok()["user_identity"].clone()
}

#[tokio::test]
async fn update_keeps_absent_fields_clears_nulls_and_replaces_values() {
    let app = TestApp::spawn().await;
    let created = app.create(jean()).await;
    let id = created["user_identity_id"].as_str().unwrap();

    let reply = app
        .call(
            Method::PATCH,
            "/user_identities/update",
            Some(json!({"user_identity_id": id, "full_name": null, "email_address": "new@example.com"})),
        )
        .await;

    assert_eq!(reply.assert_ok(), &json!({"ok": true}));
    let updated = get(&app, id).await;
    assert_eq!(updated["full_name"], Value::Null);
    assert_eq!(updated["email_address"], "new@example.com");
    assert_eq!(updated["display_name"], "new@example.com");
    assert_eq!(updated["user_identity_key"], "jean_doe");
    assert_eq!(updated["phone_number"], "+15555550110");
    assert_eq!(updated["created_at"], created["created_at"]);
}

#[tokio::test]
async fn update_with_post_and_no_fields_changes_nothing() {
    let app = TestApp::spawn().await;
    let created = app.create(jean()).await;
    let id = created["user_identity_id"].as_str().unwrap();

    let reply = app
        .post("/user_identities/update", json!({"user_identity_id": id}))
        .await;

    reply.assert_ok();
    assert_eq!(get(&app, id).await, created);
}

#[tokio::test]
async fn update_reads_the_body_only() {
    let app = TestApp::spawn().await;
    let created = app.create(jean()).await;
    let id = created["user_identity_id"].as_str().unwrap();

    let reply = app
        .call(
            Method::PATCH,
            &format!("/user_identities/update?user_identity_id={id}&full_name=Q"),
            Some(json!({})),
        )
        .await;

    reply.assert_error(400, "invalid_input");
    assert_eq!(
        reply.body["error"]["message"],
        "user_identity_id is required"
    );
    assert_eq!(get(&app, id).await["full_name"], "Jean Doe");
}

#[tokio::test]
async fn update_refuses_values_taken_by_another_identity() {
    let app = TestApp::spawn().await;
    app.create(jean()).await;
    let other = app
        .create(json!({"user_identity_key": "other", "full_name": "Other"}))
        .await;
    let id = other["user_identity_id"].as_str().unwrap();

    for (field, value, error_type) in [
        (
            "user_identity_key",
            "jean_doe",
            "duplicate_user_identity_key",
        ),
        (
            "email_address",
            "Jean@Example.com",
            "duplicate_email_address",
        ),
        ("phone_number", "+15555550110", "duplicate_phone_number"),
    ] {
        let body = json!({"user_identity_id": id, "full_name": "Changed", field: value});
        let reply = app
            .call(Method::PATCH, "/user_identities/update", Some(body))
            .await;
        reply.assert_error(400, error_type);
    }

    assert_eq!(get(&app, id).await, other);
}

#[tokio::test]
async fn update_may_set_a_value_the_identity_already_has() {
    let app = TestApp::spawn().await;
    let created = app.create(jean()).await;
    let id = created["user_identity_id"].as_str().unwrap();

    let body = json!({"user_identity_id": id, "email_address": "JEAN@example.com", "user_identity_key": "jean_doe"});
    let reply = app
        .call(Method::PATCH, "/user_identities/update", Some(body))
        .await;

    reply.assert_ok();
    assert_eq!(get(&app, id).await["email_address"], "JEAN@example.com");
}

#[tokio::test]
async fn update_validates_every_field() {
    let app = TestApp::spawn().await;
    let created = app.create(jean()).await;
    let id = created["user_identity_id"].as_str().unwrap();

    for (body, field) in [
        (json!({"user_identity_id": "nope"}), "user_identity_id"),
        (
            json!({"user_identity_id": id, "email_address": "bad"}),
            "email_address",
        ),
        (
            json!({"user_identity_id": id, "phone_number": "12"}),
            "phone_number",
        ),
        (
            json!({"user_identity_id": id, "full_name": ""}),
            "full_name",
        ),
        (
            json!({"user_identity_id": id, "user_identity_key": 7}),
            "user_identity_key",
        ),
    ] {
        let reply = app
            .call(Method::PATCH, "/user_identities/update", Some(body))
            .await;
        reply.assert_error(400, "invalid_input");
        assert!(
            reply.body["error"]["validation_errors"][field].is_object(),
            "{}",
            reply.body
        );
    }
    assert_eq!(get(&app, id).await, created);
}

#[tokio::test]
async fn update_answers_not_found_for_unknown_and_foreign_identities() {
    let app = TestApp::spawn().await;
    let created = app.create(jean()).await;
    let id = created["user_identity_id"].as_str().unwrap();
    let (_, other_key) = app.other_workspace().await;

    let unknown = app
        .call(
            Method::PATCH,
            "/user_identities/update",
            Some(json!({"user_identity_id": "48500a8e-5e7e-4bde-b7e5-0be97cae5d7a", "full_name": "X"})),
        )
        .await;
    let foreign = app
        .send(
            app.request(Method::PATCH, "/user_identities/update")
                .bearer_auth(&other_key)
                .json(&json!({"user_identity_id": id, "full_name": "Hijacked"})),
        )
        .await;

    unknown.assert_error(404, "user_identity_not_found");
    foreign.assert_error(404, "user_identity_not_found");
    assert_eq!(get(&app, id).await["full_name"], "Jean Doe");
}
