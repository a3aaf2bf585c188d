//! A bounded, proptest-driven fuzzer for the request path: random verbs, routes, query
//! strings, headers, credentials and bodies (well-formed JSON with hostile values, and
//! junk bytes), sent over HTTP to a live server, plus junk bytes on a raw socket. No
//! input may produce a 5xx, a panic, a hang or a body outside the envelope.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::helpers::{TestApp, jean};

/// Cases per run; keeps the fuzzer to a few seconds of the test suite. Set
/// `IDENTITY_FUZZ_CASES` for a longer run.
const CASES: u32 = 400;

fn cases(default: u32) -> u32 {
    std::env::var("IDENTITY_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}

const ROUTES: &[&str] = &[
    "/user_identities/create",
    "/user_identities/get",
    "/user_identities/list",
    "/user_identities/update",
    "/user_identities/delete",
    "/workspaces/get",
    "/health",
    "/ready",
    "/metrics",
    "/openapi.json",
];

const FIELDS: &[&str] = &[
    "user_identity_id",
    "user_identity_key",
    "email_address",
    "phone_number",
    "full_name",
    "limit",
    "page_cursor",
    "search",
    "user_identity_ids",
    "created_before",
    "acs_system_ids",
    "credential_manager_acs_system_id",
];

#[derive(Debug, Clone)]
enum Credential {
    None,
    ApiKey,
    PersonalAccessToken { workspace_header: bool },
    Raw(String),
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Case {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    credential: Credential,
    content_type: Option<String>,
    body: Body,
}

/// Text a parser might trip on.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("48500a8e-5e7e-4bde-b7e5-0be97cae5d7a".to_owned()),
        Just("jean@example.com".to_owned()),
        Just("+15555550110".to_owned()),
        Just("2024-01-11T05:37:50.264Z".to_owned()),
        Just("AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned()),
        Just("-1e309".to_owned()),
        Just("\"* OR 1=1 --".to_owned()),
        Just("\u{0}\u{202e}\u{fffd}".to_owned()),
        "[0-9,.eE+-]{0,24}",
        "\\PC{0,40}",
        "[a-zA-Z0-9@.+_\" -]{200,300}",
    ]
}

fn hostile_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        hostile_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{0,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(FIELDS).prop_map(str::to_owned),
        1 => "[a-z_\\[\\]]{0,12}",
    ]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        1 => Just(Body::None),
        5 => proptest::collection::btree_map(field_name(), hostile_json(), 0..6)
            .prop_map(|map| Body::Json(Value::Object(map.into_iter().collect::<Map<_, _>>()))),
        1 => hostile_json().prop_map(Body::Json),
        1 => proptest::collection::vec(any::<u8>(), 0..80).prop_map(Body::Bytes),
    ]
}

fn credential() -> impl Strategy<Value = Credential> {
    prop_oneof![
        6 => Just(Credential::ApiKey),
        2 => any::<bool>().prop_map(|workspace_header| Credential::PersonalAccessToken { workspace_header }),
        1 => Just(Credential::None),
        1 => "(Bearer |bearer |Basic )?(seam_|seam_at1|seam_cst|ey)?[ -~]{0,60}".prop_map(Credential::Raw),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let method = proptest::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PATCH,
        Method::DELETE,
        Method::PUT,
        Method::OPTIONS,
        Method::HEAD,
    ]);
    let path = prop_oneof![
        8 => proptest::sample::select(ROUTES).prop_map(str::to_owned),
        1 => "/[a-z_/.%]{0,30}",
    ];
    let query = proptest::collection::vec((field_name(), hostile_text()), 0..5);
    let content_type = proptest::option::of(prop_oneof![
        Just("application/json".to_owned()),
        Just("application/json; charset=utf-8".to_owned()),
        Just("text/plain".to_owned()),
        "[ -~]{0,30}",
    ]);
    (method, path, query, credential(), content_type, body()).prop_map(
        |(method, path, query, credential, content_type, body)| Case {
            method,
            path,
            query,
            credential,
            content_type,
            body,
        },
    )
}

struct Target {
    app: TestApp,
    token: String,
}

impl Target {
    async fn send(&self, case: &Case) -> (u16, String) {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in &case.query {
            query.append_pair(key, value);
        }
        let url = format!("{}?{}", case.path, query.finish());
        let mut request = self.app.request(case.method.clone(), &url);
        request = match &case.credential {
            Credential::None => request,
            Credential::ApiKey => request.bearer_auth(&self.app.api_key),
            Credential::PersonalAccessToken { workspace_header } => {
                let request = request.bearer_auth(&self.token);
                match workspace_header {
                    true => request.header("seam-workspace", &self.app.workspace_id),
                    false => request,
                }
            }
            Credential::Raw(header) => match reqwest::header::HeaderValue::from_str(header) {
                Ok(value) => request.header("authorization", value),
                Err(_) => request,
            },
        };
        if let Some(content_type) = &case.content_type {
            if let Ok(value) = reqwest::header::HeaderValue::from_str(content_type) {
                request = request.header("content-type", value);
            }
        }
        request = match &case.body {
            Body::None => request,
            Body::Json(value) => request.body(serde_json::to_vec(value).unwrap()),
            Body::Bytes(bytes) => request.body(bytes.clone()),
        };
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a complete body"))
    }
}

fn check_answer(case: &Case, status: u16, text: &str) -> Result<(), TestCaseError> {
    prop_assert!(status < 500, "{status} for {case:?}: {text}");
    let plain_text = case.path == "/metrics" && status == 200;
    if case.method == Method::HEAD
        || (case.method == Method::OPTIONS && status == 200)
        || plain_text
    {
        return Ok(());
    }
    let body: Value = serde_json::from_str(text)
        .map_err(|_| TestCaseError::fail(format!("not JSON ({status}) for {case:?}: {text}")))?;
    if status >= 400 {
        let lower = text.to_lowercase();
        for internal in ["sqlite", "postgres", "sql", "panick", "constraint", "src/"] {
            prop_assert!(!lower.contains(internal), "internal text in {}", text);
        }
        prop_assert_eq!(&body["ok"], &json!(false), "{}", text);
        prop_assert!(
            body["error"]["type"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{}",
            text
        );
        prop_assert!(body["error"]["message"].is_string(), "{}", text);
    } else if !case.path.ends_with("openapi.json") {
        prop_assert_eq!(&body["ok"], &json!(true), "{}", text);
    }
    Ok(())
}

#[test]
fn no_request_produces_a_server_error_or_leaves_the_envelope() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let target = runtime.block_on(async {
        let app = TestApp::spawn().await;
        app.create(jean()).await;
        let token = app.personal_access_token(&[&app.workspace_id]).await;
        Target { app, token }
    });
    let config = Config {
        cases: cases(CASES),
        failure_persistence: None,
        ..Config::default()
    };

    TestRunner::new(config)
        .run(&case(), |case| {
            let (status, text) = runtime.block_on(target.send(&case));
            check_answer(&case, status, &text)
        })
        .unwrap();

    runtime.block_on(async {
        target.app.get("/user_identities/list").await.assert_ok();
        target.app.create(json!({"full_name": "Still works"})).await;
    });
}

#[test]
fn junk_on_the_socket_never_gets_a_server_error() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(TestApp::spawn());
    let junk = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        ("[A-Z]{1,8}", "/[ -~]{0,40}", "[ -~\r\n]{0,200}").prop_map(|(method, path, rest)| {
            format!("{method} {path} HTTP/1.1\r\nHost: x\r\n{rest}\r\n\r\n").into_bytes()
        }),
    ];
    let config = Config {
        cases: cases(100),
        failure_persistence: None,
        ..Config::default()
    };

    TestRunner::new(config)
        .run(&junk, |bytes| {
            let mut stream = TcpStream::connect(app.address).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let _ = stream.write_all(&bytes);
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let mut response = Vec::new();
            let _ = stream.read_to_end(&mut response);
            let text = String::from_utf8_lossy(&response);
            if let Some(status) = text
                .strip_prefix("HTTP/1.1 ")
                .and_then(|rest| rest.get(..3))
            {
                prop_assert!(!status.starts_with('5'), "{text}");
            }
            Ok(())
        })
        .unwrap();

    runtime.block_on(async {
        app.get("/user_identities/list").await.assert_ok();
    });
}
