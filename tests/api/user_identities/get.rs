use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, jean};

#[tokio::test]
async fn get_finds_by_id_and_by_key_with_get_and_post() {
    let app = TestApp::spawn().await;
    let created = app.create(jean()).await;
    let id = created["user_identity_id"].as_str().unwrap();

    let by_id = app
        .get(&format!("/user_identities/get?user_identity_id={id}"))
        .await;
    let by_key = app
        .get("/user_identities/get?user_identity_key=jean_doe")
        .await;
    let by_post = app
        .post("/user_identities/get", json!({"user_identity_id": id}))
        .await;
    let by_post_key = app
        .post(
            "/user_identities/get",
            json!({"user_identity_key": "jean_doe"}),
        )
        .await;

    for reply in [by_id, by_key, by_post, by_post_key] {
        assert_eq!(reply.assert_ok()["user_identity"], created);
    }
}

#[tokio::test]
async fn get_rejects_a_malformed_id_before_any_lookup() {
    let app = TestApp::spawn().await;

    for id in [
        "nope",
        "48500a8e5e7e4bdeb7e50be97cae5d7a",
        "48500a8e-5e7e-4bde-b7e5-0be97cae5d7",
        "",
    ] {
        let reply = app
            .get(&format!("/user_identities/get?user_identity_id={id}"))
            .await;

        reply.assert_error(400, "invalid_input");
        assert_eq!(
            reply.body["error"]["validation_errors"]["user_identity_id"]["_errors"][0],
            "Invalid uuid",
            "{id}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn get_answers_not_found_for_unknown_ids_and_keys() {
    let app = TestApp::spawn().await;

    let by_id = app
        .get("/user_identities/get?user_identity_id=48500a8e-5e7e-4bde-b7e5-0be97cae5d7a")
        .await;
    let by_key = app
        .get("/user_identities/get?user_identity_key=ghost")
        .await;

    by_id.assert_error(404, "user_identity_not_found");
    by_key.assert_error(404, "user_identity_not_found");
}

#[tokio::test]
async fn get_requires_exactly_one_of_id_or_key() {
    let app = TestApp::spawn().await;

    let neither = app.get("/user_identities/get").await;
    let both = app
        .post(
            "/user_identities/get",
            json!({"user_identity_id": "48500a8e-5e7e-4bde-b7e5-0be97cae5d7a", "user_identity_key": "k"}),
        )
        .await;

    neither.assert_error(400, "invalid_input");
    both.assert_error(400, "invalid_input");
}

#[tokio::test]
async fn get_treats_another_workspaces_identity_as_missing() {
    let app = TestApp::spawn().await;
    let (_, other_key) = app.other_workspace().await;
    let created = app.create(jean()).await;
    let id = created["user_identity_id"].as_str().unwrap();

    for query in [
        format!("user_identity_id={id}"),
        "user_identity_key=jean_doe".to_owned(),
    ] {
        let request = app
            .request(Method::GET, &format!("/user_identities/get?{query}"))
            .bearer_auth(&other_key);
        let reply = app.send(request).await;

        reply.assert_error(404, "user_identity_not_found");
    }
}
