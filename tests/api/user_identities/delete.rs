use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, jean};

#[tokio::test]
async fn delete_removes_the_identity_for_good() {
    let app = TestApp::spawn().await;
    let created = app.create(jean()).await;
    let id = created["user_identity_id"].as_str().unwrap();

    let deleted = app
        .call(
            Method::DELETE,
            &format!("/user_identities/delete?user_identity_id={id}"),
            None,
        )
        .await;
    let get = app
        .get(&format!("/user_identities/get?user_identity_id={id}"))
        .await;
    let again = app
        .post("/user_identities/delete", json!({"user_identity_id": id}))
        .await;

    assert_eq!(deleted.assert_ok(), &json!({"ok": true}));
    get.assert_error(404, "user_identity_not_found");
    again.assert_error(404, "user_identity_not_found");
    // Its key, email and phone are free again.
    app.create(jean()).await;
}

#[tokio::test]
async fn delete_with_post_removes_it_from_lists_and_search() {
    let app = TestApp::spawn().await;
    let created = app.create(jean()).await;
    let id = created["user_identity_id"].as_str().unwrap();

    app.post("/user_identities/delete", json!({"user_identity_id": id}))
        .await
        .assert_ok();

    let list = app.get("/user_identities/list?search=jean").await;
    assert_eq!(list.assert_ok()["user_identities"], json!([]));
}

#[tokio::test]
async fn delete_validates_the_id() {
    let app = TestApp::spawn().await;

    let missing = app
        .call(Method::DELETE, "/user_identities/delete", None)
        .await;
    let malformed = app
        .call(
            Method::DELETE,
            "/user_identities/delete?user_identity_id=12",
            None,
        )
        .await;

    missing.assert_error(400, "invalid_input");
    assert_eq!(
        missing.body["error"]["message"],
        "user_identity_id is required"
    );
    malformed.assert_error(400, "invalid_input");
}

#[tokio::test]
async fn delete_cannot_reach_another_workspace() {
    let app = TestApp::spawn().await;
    let created = app.create(jean()).await;
    let id = created["user_identity_id"].as_str().unwrap();
    let (_, other_key) = app.other_workspace().await;

    let reply = app
        .send(
            app.request(
                Method::DELETE,
                &format!("/user_identities/delete?user_identity_id={id}"),
            )
            .bearer_auth(&other_key),
        )
        .await;

    reply.assert_error(404, "user_identity_not_found");
    app.get(&format!("/user_identities/get?user_identity_id={id}"))
        .await
        .assert_ok();
}
