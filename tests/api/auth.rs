use std::time::Duration;

use identity_server::AppConfig;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, jean};

const LIST: &str = "/user_identities/list";

#[tokio::test]
async fn requests_without_valid_credentials_are_unauthorized() {
    let app = TestApp::spawn().await;
    let last = if app.api_key.ends_with('x') { "y" } else { "x" };
    let wrong_secret = format!("{}{last}", &app.api_key[..app.api_key.len() - 1]);

    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "unauthorized"),
        (Some("Basic abc".into()), "unauthorized"),
        (Some("Bearer".into()), "unauthorized"),
        (
            Some("Bearer seam_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
            "unauthorized",
        ),
        (Some(format!("Bearer {wrong_secret}")), "unauthorized"),
        (Some("Bearer seam_short".into()), "unauthorized"),
        (
            Some("Bearer eyJhbGciOiJIUzI1NiJ9.e30.x".into()),
            "unauthorized",
        ),
        (
            Some("Bearer seam_cst1abc_def".into()),
            "client_session_token_used_for_api_key",
        ),
        (Some("Bearer random-garbage".into()), "unauthorized"),
    ];
    for (header, error_type) in cases {
        let mut request = app.request(Method::GET, LIST);
        if let Some(header) = &header {
            request = request.header("authorization", header);
        }
        let reply = app.send(request).await;
        reply.assert_error(401, error_type);
        assert!(reply.request_id.is_some());
    }
}

#[tokio::test]
async fn authentication_comes_before_the_method_check() {
    let app = TestApp::spawn().await;

    let anonymous = app.send(app.request(Method::PUT, LIST)).await;
    let authenticated = app.call(Method::PUT, LIST, None).await;
    let create_by_get = app.call(Method::GET, "/user_identities/create", None).await;

    anonymous.assert_error(401, "unauthorized");
    authenticated.assert_error(405, "method_not_allowed");
    assert_eq!(
        authenticated.body["error"]["message"],
        "only GET,POST accepted"
    );
    create_by_get.assert_error(405, "method_not_allowed");
}

#[tokio::test]
async fn api_keys_ignore_the_workspace_header() {
    let app = TestApp::spawn().await;
    let (other_workspace, _) = app.other_workspace().await;

    let created = app
        .send(
            app.request(Method::POST, "/user_identities/create")
                .bearer_auth(&app.api_key)
                .header("seam-workspace", &other_workspace)
                .json(&jean()),
        )
        .await;

    assert_eq!(
        created.assert_ok()["user_identity"]["workspace_id"],
        app.workspace_id.as_str()
    );
}

#[tokio::test]
async fn personal_access_tokens_act_in_the_workspace_header_names() {
    let app = TestApp::spawn().await;
    let (other_workspace, _) = app.other_workspace().await;
    let token = app
        .personal_access_token(&[&app.workspace_id, &other_workspace])
        .await;

    for workspace in [&app.workspace_id, &other_workspace] {
        let reply = app
            .send(
                app.request(Method::POST, "/user_identities/create")
                    .bearer_auth(&token)
                    .header("seam-workspace", workspace.as_str())
                    .json(&jean()),
            )
            .await;
        assert_eq!(
            reply.assert_ok()["user_identity"]["workspace_id"],
            workspace.as_str()
        );
    }
}

#[tokio::test]
async fn personal_access_tokens_need_a_workspace_they_belong_to() {
    let app = TestApp::spawn().await;
    let (other_workspace, _) = app.other_workspace().await;
    let token = app.personal_access_token(&[&app.workspace_id]).await;
    let send = |workspace: Option<&str>| {
        let mut request = app.request(Method::GET, LIST).bearer_auth(&token);
        if let Some(workspace) = workspace {
            request = request.header("seam-workspace", workspace);
        }
        app.send(request)
    };

    send(None).await.assert_error(400, "missing_workspace_id");
    send(Some(""))
        .await
        .assert_error(400, "missing_workspace_id");
    send(Some(&other_workspace))
        .await
        .assert_error(401, "unauthorized");
    send(Some("not-a-uuid"))
        .await
        .assert_error(401, "unauthorized");
    send(Some("48500a8e-5e7e-4bde-b7e5-0be97cae5d7a"))
        .await
        .assert_error(401, "unauthorized");
    send(Some(&app.workspace_id)).await.assert_ok();
}

#[tokio::test]
async fn a_personal_access_token_with_a_wrong_secret_is_refused() {
    let app = TestApp::spawn().await;
    let token = app.personal_access_token(&[&app.workspace_id]).await;
    let forged = format!("{}A", &token[..token.len() - 1]);
    let forged = if forged == token {
        format!("{}B", &token[..token.len() - 1])
    } else {
        forged
    };

    let reply = app
        .send(
            app.request(Method::GET, LIST)
                .bearer_auth(&forged)
                .header("seam-workspace", &app.workspace_id),
        )
        .await;

    reply.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn revoked_credentials_stop_working_once_the_cache_expires() {
    let config = AppConfig {
        credential_cache_ttl: Duration::from_millis(200),
        ..AppConfig::default()
    };
    let app = TestApp::spawn_with(config).await;
    let token = app.personal_access_token(&[&app.workspace_id]).await;
    app.get(LIST).await.assert_ok();
    let with_token = || {
        app.request(Method::GET, LIST)
            .bearer_auth(&token)
            .header("seam-workspace", &app.workspace_id)
    };
    app.send(with_token()).await.assert_ok();

    let key_id = identity_server::service::credentials::public_id_of(&app.api_key).unwrap();
    let token_id = identity_server::service::credentials::public_id_of(&token).unwrap();
    app.store.revoke_api_key(&key_id).await.unwrap();
    app.store
        .revoke_personal_access_token(&token_id)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;

    app.get(LIST).await.assert_error(401, "unauthorized");
    app.send(with_token())
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn every_route_hides_other_workspaces() {
    let app = TestApp::spawn().await;
    let created = app.create(jean()).await;
    let id = created["user_identity_id"].as_str().unwrap();
    let (other_workspace, other_key) = app.other_workspace().await;
    let token = app.personal_access_token(&[&other_workspace]).await;

    for auth in [("key", other_key.as_str()), ("pat", token.as_str())] {
        let call = |method: Method, path: String, body: Option<serde_json::Value>| {
            let mut request = app.request(method, &path).bearer_auth(auth.1);
            if auth.0 == "pat" {
                request = request.header("seam-workspace", &other_workspace);
            }
            if let Some(body) = body {
                request = request.json(&body);
            }
            app.send(request)
        };
        call(
            Method::GET,
            format!("/user_identities/get?user_identity_id={id}"),
            None,
        )
        .await
        .assert_error(404, "user_identity_not_found");
        call(
            Method::GET,
            "/user_identities/get?user_identity_key=jean_doe".into(),
            None,
        )
        .await
        .assert_error(404, "user_identity_not_found");
        call(
            Method::PATCH,
            "/user_identities/update".into(),
            Some(json!({"user_identity_id": id, "full_name": "X"})),
        )
        .await
        .assert_error(404, "user_identity_not_found");
        call(
            Method::DELETE,
            format!("/user_identities/delete?user_identity_id={id}"),
            None,
        )
        .await
        .assert_error(404, "user_identity_not_found");
        let listed = call(
            Method::GET,
            format!("/user_identities/list?user_identity_ids={id}"),
            None,
        )
        .await;
        assert_eq!(listed.assert_ok()["user_identities"], json!([]));
    }
    let mine = app
        .get(&format!("/user_identities/get?user_identity_id={id}"))
        .await;
    assert_eq!(mine.assert_ok()["user_identity"], created);
}
