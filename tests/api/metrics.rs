use crate::helpers::{TestApp, jean};

fn count(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_without_personal_data() {
    let app = TestApp::spawn().await;
    app.create(jean()).await;
    let duplicate = app.post("/user_identities/create", jean()).await;
    assert_eq!(duplicate.status, 400);
    app.get("/user_identities/list?search=jean")
        .await
        .assert_ok();
    let missing = app.get("/no/such/route").await;
    assert_eq!(missing.status, 404);

    let response = app
        .request(reqwest::Method::GET, "/metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "no credentials needed");
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();

    let requests = "identity_server_http_requests_total";
    let create = "route=\"/user_identities/create\",method=\"POST\"";
    assert_eq!(
        count(&text, &format!("{requests}{{{create},status=\"200\"}}")),
        Some(1)
    );
    assert_eq!(
        count(&text, &format!("{requests}{{{create},status=\"400\"}}")),
        Some(1)
    );
    let unmatched = "route=\"unmatched\",method=\"GET\",status=\"404\"";
    assert_eq!(count(&text, &format!("{requests}{{{unmatched}}}")), Some(1));
    let latency = "identity_server_http_request_duration_seconds";
    let create_count = format!("{latency}_count{{route=\"/user_identities/create\"}}");
    assert_eq!(count(&text, &create_count), Some(2));
    let create_all = format!("{latency}_bucket{{route=\"/user_identities/create\",le=\"+Inf\"}}");
    assert_eq!(count(&text, &create_all), Some(2));

    let pooled = std::env::var_os("IDENTITY_TEST_POSTGRES_URL").is_some();
    assert_eq!(
        text.contains("identity_server_db_pool_connections "),
        pooled,
        "pool gauges exactly when the store pools connections"
    );
    for secret in [
        app.api_key.as_str(),
        "jean",
        "Jean",
        "+15555550110",
        &app.workspace_id,
    ] {
        assert!(
            !text.contains(secret),
            "{secret} leaked into metrics:\n{text}"
        );
    }
}
