//! Workspace isolation on every route: an id, key, email, phone or cursor of another
//! workspace answers byte for byte like one that does not exist, and uniqueness is per
//! workspace.

use identity_server::domain::ids::{UserIdentityId, WorkspaceId};
use identity_server::domain::timestamp::Timestamp;
use identity_server::service::pagination::{PageCursor, QueryHash};
use identity_server::store::{ListFilter, ListPosition};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, jean};

/// A caller in the second workspace: its API key, or a personal access token with the
/// `seam-workspace` header.
struct Outsider<'a> {
    app: &'a TestApp,
    token: String,
    workspace_header: Option<String>,
}

impl Outsider<'_> {
    /// Status and the raw body text, for byte-for-byte comparison.
    async fn raw(&self, method: Method, path: &str, body: Option<Value>) -> (u16, String) {
        let mut request = self.app.request(method, path).bearer_auth(&self.token);
        if let Some(workspace) = &self.workspace_header {
            request = request.header("seam-workspace", workspace);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Sends the same request with a foreign value and a missing one; they must match.
    async fn same_answer(
        &self,
        method: Method,
        foreign: (String, Option<Value>),
        missing: (String, Option<Value>),
    ) -> (u16, String) {
        let missing_answer = self.raw(method.clone(), &missing.0, missing.1).await;
        let foreign_answer = self.raw(method, &foreign.0, foreign.1).await;
        assert_eq!(foreign_answer, missing_answer, "{}", foreign.0);
        foreign_answer
    }
}

fn cursor_for(workspace_id: WorkspaceId, limit: usize) -> String {
    PageCursor {
        query: QueryHash::of(workspace_id, &ListFilter::default(), limit),
        after: ListPosition {
            created_at: Timestamp::now(),
            user_identity_id: UserIdentityId::new_random(),
        },
    }
    .encode()
}

#[tokio::test]
async fn foreign_ids_keys_emails_phones_and_cursors_answer_like_missing_ones() {
    let app = TestApp::spawn().await;
    let mine = app.create(jean()).await;
    app.create(json!({"user_identity_key": "second"})).await;
    let id = mine["user_identity_id"].as_str().unwrap();
    let missing_id = UserIdentityId::new_random().to_string();
    let first_page = app.get("/user_identities/list?limit=1").await;
    let my_cursor = first_page.assert_ok()["pagination"]["next_page_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let (other_workspace, other_key) = app.other_workspace().await;
    let pat = app.personal_access_token(&[&other_workspace]).await;
    let outsiders = [
        Outsider {
            app: &app,
            token: other_key,
            workspace_header: None,
        },
        Outsider {
            app: &app,
            token: pat,
            workspace_header: Some(other_workspace.clone()),
        },
    ];

    for outsider in &outsiders {
        let path = |query: &str| format!("/user_identities/{query}");
        let (status, _) = outsider
            .same_answer(
                Method::GET,
                (path(&format!("get?user_identity_id={id}")), None),
                (path(&format!("get?user_identity_id={missing_id}")), None),
            )
            .await;
        assert_eq!(status, 404);
        outsider
            .same_answer(
                Method::POST,
                (path("get"), Some(json!({"user_identity_key": "jean_doe"}))),
                (path("get"), Some(json!({"user_identity_key": "nobody"}))),
            )
            .await;
        outsider
            .same_answer(
                Method::PATCH,
                (
                    path("update"),
                    Some(json!({"user_identity_id": id, "full_name": "X"})),
                ),
                (
                    path("update"),
                    Some(json!({"user_identity_id": missing_id, "full_name": "X"})),
                ),
            )
            .await;
        outsider
            .same_answer(
                Method::DELETE,
                (path(&format!("delete?user_identity_id={id}")), None),
                (path(&format!("delete?user_identity_id={missing_id}")), None),
            )
            .await;
        for (foreign, missing) in [
            (
                format!("user_identity_ids={id}"),
                format!("user_identity_ids={missing_id}"),
            ),
            (
                "search=jean%40example.com".into(),
                "search=nobody%40example.com".into(),
            ),
            ("search=15555550110".into(), "search=19999999999".into()),
            ("search=Jean%20Doe".into(), "search=Nobody%20Here".into()),
            (format!("search={id}"), format!("search={missing_id}")),
        ] {
            let (status, body) = outsider
                .same_answer(
                    Method::GET,
                    (path(&format!("list?{foreign}")), None),
                    (path(&format!("list?{missing}")), None),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            assert!(!body.contains(id), "{body}");
        }
        let missing_cursor = cursor_for(WorkspaceId::new_random(), 1);
        let (status, _) = outsider
            .same_answer(
                Method::GET,
                (path(&format!("list?limit=1&page_cursor={my_cursor}")), None),
                (
                    path(&format!("list?limit=1&page_cursor={missing_cursor}")),
                    None,
                ),
            )
            .await;
        assert_eq!(status, 400);
        let (status, body) = outsider.raw(Method::GET, "/workspaces/get", None).await;
        assert_eq!(status, 200);
        assert!(body.contains(&other_workspace) && !body.contains(&app.workspace_id));
    }
    let unchanged = app
        .get(&format!("/user_identities/get?user_identity_id={id}"))
        .await;
    assert_eq!(unchanged.assert_ok()["user_identity"], mine);
}

#[tokio::test]
async fn uniqueness_is_per_workspace() {
    let app = TestApp::spawn().await;
    let mine = app.create(jean()).await;
    let (_, other_key) = app.other_workspace().await;
    let as_other = |method: Method, path: &str, body: Value| {
        app.send(
            app.request(method, path)
                .bearer_auth(&other_key)
                .json(&body),
        )
    };

    let same_values = as_other(Method::POST, "/user_identities/create", jean()).await;
    let theirs = same_values.assert_ok()["user_identity"].clone();
    let blank = as_other(Method::POST, "/user_identities/create", json!({})).await;
    let blank_id = blank.assert_ok()["user_identity"]["user_identity_id"].clone();
    let update = json!({"user_identity_id": blank_id, "email_address": "JEAN@example.com"});
    let taken_here = as_other(Method::PATCH, "/user_identities/update", update).await;
    let free_here = json!({"user_identity_id": blank_id, "phone_number": "+15555550111"});
    let updated = as_other(Method::PATCH, "/user_identities/update", free_here).await;

    assert_ne!(theirs["user_identity_id"], mine["user_identity_id"]);
    taken_here.assert_error(400, "duplicate_email_address");
    updated.assert_ok();
    app.create(json!({"phone_number": "+15555550111"})).await;
    let still_mine = app
        .get("/user_identities/get?user_identity_key=jean_doe")
        .await;
    assert_eq!(still_mine.assert_ok()["user_identity"], mine);
}
