//! Transport-level behaviour every route shares: bodies, content types, unknown routes,
//! request ids and CORS.

use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

const CREATE: &str = "/user_identities/create";

#[tokio::test]
async fn malformed_json_answers_in_the_envelope() {
    let app = TestApp::spawn().await;

    for body in ["{", "{\"full_name\": }", "nul", "{\"a\":1}}"] {
        let reply = app
            .send(
                app.request(Method::POST, CREATE)
                    .bearer_auth(&app.api_key)
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        reply.assert_error(400, "invalid_input");
    }
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_invalid_input() {
    let app = TestApp::spawn().await;

    for body in [json!([1, 2]), json!("text"), json!(42), json!(null)] {
        let reply = app.post(CREATE, body.clone()).await;
        reply.assert_error(400, "invalid_input");
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused_by_content_type() {
    let app = TestApp::spawn().await;

    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = app
            .request(Method::POST, CREATE)
            .bearer_auth(&app.api_key)
            .body("full_name=Jean");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        app.send(request)
            .await
            .assert_error(400, "invalid_content_type");
    }
    let with_charset = app
        .send(
            app.request(Method::POST, CREATE)
                .bearer_auth(&app.api_key)
                .header("content-type", "application/json; charset=utf-8")
                .body(r#"{"full_name":"Jean"}"#),
        )
        .await;
    with_charset.assert_ok();
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let huge = "x".repeat(1024 * 1024 + 1);

    let reply = app.post(CREATE, json!({"full_name": huge})).await;

    reply.assert_error(413, "payload_too_large");
    let list = app.get("/user_identities/list").await;
    assert_eq!(list.assert_ok()["user_identities"], json!([]));
}

#[tokio::test]
async fn unknown_routes_answer_not_found_in_the_envelope() {
    let app = TestApp::spawn().await;

    for path in [
        "/",
        "/user_identities",
        "/user_identities/nope",
        "/devices/list",
    ] {
        let reply = app.get(path).await;
        reply.assert_error(404, "not_found");
        assert!(reply.request_id.is_some());
    }
}

#[tokio::test]
async fn every_response_carries_a_unique_request_id() {
    let app = TestApp::spawn().await;

    let ok = app.get("/user_identities/list").await;
    let bad = app.post(CREATE, json!({"email_address": "x"})).await;
    let anonymous = app
        .send(app.request(Method::GET, "/user_identities/list"))
        .await;

    let ids: Vec<String> = [ok, bad, anonymous]
        .into_iter()
        .map(|reply| reply.request_id.unwrap())
        .collect();
    assert!(ids.iter().all(|id| !id.is_empty()));
    assert_ne!(ids[0], ids[1]);
    assert_ne!(ids[1], ids[2]);
}

#[tokio::test]
async fn options_requests_get_cors_headers() {
    let app = TestApp::spawn().await;

    let response = app.request(Method::OPTIONS, CREATE).send().await.unwrap();

    assert_eq!(response.status(), 200);
    let allowed = response.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(allowed.contains("seam-workspace"));
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn health_and_readiness_need_no_credentials() {
    let app = TestApp::spawn().await;

    for path in ["/health", "/ready"] {
        let response = app.request(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn the_workspace_of_the_caller_can_be_read() {
    let app = TestApp::spawn().await;

    let reply = app.get("/workspaces/get").await;

    assert_eq!(
        reply.assert_ok()["workspace"]["workspace_id"],
        app.workspace_id.as_str()
    );
}

#[tokio::test]
async fn the_openapi_description_matches_what_the_server_answers() {
    let app = TestApp::spawn().await;
    let created = app.create(crate::helpers::jean()).await;

    let response = app
        .request(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let document: serde_json::Value = response.json().await.unwrap();

    let schema = &document["components"]["schemas"]["user_identity"];
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut answered: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    required.sort_unstable();
    answered.sort_unstable();
    assert_eq!(required, answered);
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (verb, _) in operations.as_object().unwrap() {
            let method = Method::from_bytes(verb.to_uppercase().as_bytes()).unwrap();
            let reply = app.call(method, path, None).await;
            assert_ne!(reply.status, 405, "{verb} {path} is described but refused");
            assert_ne!(reply.status, 404, "{verb} {path} is described but unrouted");
        }
    }
}
