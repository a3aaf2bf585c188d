use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Seeds `count` identities through the store's bulk path and returns their ids in list
/// order.
async fn seed(app: &TestApp, count: u64) -> Vec<String> {
    use identity_server::domain::contact::{EmailAddress, PhoneNumber};
    use identity_server::domain::user_identity::NewUserIdentity;

    let rows = (0..count)
        .map(|i| NewUserIdentity {
            user_identity_key: Some(format!("key-{i}")),
            email_address: Some(EmailAddress::parse(&format!("person{i}@example.com")).unwrap()),
            phone_number: Some(PhoneNumber::parse(&format!("+1555{i:07}")).unwrap()),
            full_name: Some(format!(
                "Person {i} {}",
                if i % 10 == 3 { "Tenth" } else { "Other" }
            )),
        })
        .collect();
    let workspace = app.workspace_id.parse().unwrap();
    app.store
        .bulk_create_user_identities(workspace, rows)
        .await
        .unwrap();
    all_ids(app, "").await
}

async fn all_ids(app: &TestApp, extra_query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = format!("/user_identities/list?limit=1000{extra_query}");
        if let Some(cursor) = &cursor {
            query.push_str(&format!("&page_cursor={cursor}"));
        }
        let reply = app.get(&query).await;
        let body = reply.assert_ok();
        ids.extend(ids_of(body));
        cursor = body["pagination"]["next_page_cursor"]
            .as_str()
            .map(str::to_owned);
        if cursor.is_none() {
            return ids;
        }
    }
}

fn ids_of(body: &Value) -> Vec<String> {
    body["user_identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|identity| identity["user_identity_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn list_pages_through_thousands_of_rows_without_duplicates_or_gaps() {
    let app = TestApp::spawn().await;
    let expected = seed(&app, 2_500).await;
    assert_eq!(expected.len(), 2_500);

    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let reply = app
            .post(
                "/user_identities/list",
                json!({"limit": 99, "page_cursor": cursor}),
            )
            .await;
        let body = reply.assert_ok().clone();
        let page = ids_of(&body);
        assert!(page.len() <= 99);
        seen.extend(page);
        pages += 1;
        let pagination = &body["pagination"];
        assert_eq!(
            pagination["has_next_page"],
            pagination["next_page_cursor"].is_string()
        );
        if pagination["has_next_page"] == false {
            assert_eq!(pagination["next_page_url"], Value::Null);
            break;
        }
        cursor = pagination["next_page_cursor"].clone();
    }

    assert_eq!(pages, 26);
    assert_eq!(seen, expected);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 2_500);
}

#[tokio::test]
async fn list_orders_by_created_at_then_id() {
    let app = TestApp::spawn().await;
    for i in 0..30 {
        app.create(json!({"user_identity_key": format!("k{i}")}))
            .await;
    }

    let body = app.get("/user_identities/list").await.assert_ok().clone();

    let rows = body["user_identities"].as_array().unwrap();
    let keys: Vec<(String, String)> = rows
        .iter()
        .map(|row| {
            (
                row["created_at"].as_str().unwrap().to_owned(),
                row["user_identity_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let created_keys: Vec<&str> = rows
        .iter()
        .map(|row| row["user_identity_key"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..30).map(|i| format!("k{i}")).collect();
    assert_eq!(created_keys, expected);
}

#[tokio::test]
async fn list_next_page_url_returns_the_next_page_when_followed() {
    let app = TestApp::spawn().await;
    let expected = seed(&app, 25).await;

    let first = app
        .get("/user_identities/list?limit=10&search=example")
        .await;
    let url = first.body["pagination"]["next_page_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = url
        .strip_prefix(&format!("http://{}", app.address))
        .expect("absolute URL to us");
    let second = app.get(path).await;

    assert_eq!(ids_of(second.assert_ok()), expected[10..20].to_vec());
}

#[tokio::test]
async fn list_refuses_a_cursor_reused_with_different_parameters() {
    let app = TestApp::spawn().await;
    seed(&app, 30).await;
    let first = app
        .get("/user_identities/list?limit=10&search=person")
        .await;
    let cursor = first.body["pagination"]["next_page_cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    for changed in [
        "limit=11&search=person",
        "limit=10&search=Person",
        "limit=10",
        "limit=10&search=person&created_before=2100-01-01T00:00:00.000Z",
        "search=person",
    ] {
        let reply = app
            .get(&format!(
                "/user_identities/list?{changed}&page_cursor={cursor}"
            ))
            .await;
        reply.assert_error(400, "mismatched_page_parameters");
    }
    let same = app
        .get(&format!(
            "/user_identities/list?limit=10&search=person&page_cursor={cursor}"
        ))
        .await;
    assert_eq!(ids_of(same.assert_ok()).len(), 10);
}

#[tokio::test]
async fn list_reads_an_empty_or_null_cursor_as_the_first_page() {
    let app = TestApp::spawn().await;
    let ids = seed(&app, 3).await;

    let empty = app
        .get("/user_identities/list?limit=2&page_cursor=&_strict=true")
        .await;
    let null = app
        .post(
            "/user_identities/list",
            json!({"limit": 2, "page_cursor": null}),
        )
        .await;

    assert_eq!(ids_of(empty.assert_ok()), ids[..2].to_vec());
    assert_eq!(ids_of(null.assert_ok()), ids[..2].to_vec());
}

#[tokio::test]
async fn list_refuses_a_malformed_cursor() {
    let app = TestApp::spawn().await;

    for cursor in ["garbage!", "AAAA", "eyJmb28iOiJiYXIifQ"] {
        let reply = app
            .post("/user_identities/list", json!({"page_cursor": cursor}))
            .await;

        reply.assert_error(400, "invalid_input");
        assert!(
            reply.body["error"]["validation_errors"]["page_cursor"].is_object(),
            "{}",
            reply.body
        );
    }
}

#[tokio::test]
async fn list_search_matches_substrings_case_insensitively() {
    let app = TestApp::spawn().await;
    let jean = app
        .create(json!({"full_name": "Jean Doe", "email_address": "jd@example.com", "phone_number": "+15555550110"}))
        .await;
    let marie = app.create(json!({"full_name": "Marie Curie", "email_address": "MC@Radium.org", "user_identity_key": "jean-key"})).await;
    let jean_id = jean["user_identity_id"].as_str().unwrap();
    let marie_id = marie["user_identity_id"].as_str().unwrap().to_owned();

    let cases: Vec<(String, Vec<&str>)> = vec![
        ("jEaN".into(), vec![jean_id]),
        ("ean d".into(), vec![jean_id]),
        ("radium.ORG".into(), vec![&marie_id]),
        ("5550110".into(), vec![jean_id]),
        ("e".into(), vec![jean_id, &marie_id]),
        ("ri".into(), vec![&marie_id]),
        (marie_id[24..36].to_owned(), vec![&marie_id]),
        ("jean-key".into(), vec![]),
        ("nobody".into(), vec![]),
        // A match must lie within one value, whatever separates the values in an index.
        ("doejd@".into(), vec![]),
        ("doe\u{1}jd@".into(), vec![]),
        ("example.com\u{1}+1555".into(), vec![]),
        (format!("radium.org\u{1}{}", &marie_id[..8]), vec![]),
    ];
    for (search, expected) in cases {
        let reply = app
            .post("/user_identities/list", json!({"search": search}))
            .await;
        assert_eq!(ids_of(reply.assert_ok()), expected, "search {search:?}");
    }
    let everyone = app
        .post("/user_identities/list", json!({"search": ""}))
        .await;
    assert_eq!(ids_of(everyone.assert_ok()).len(), 2);
}

#[tokio::test]
async fn list_short_searches_fold_unicode_case_like_long_ones() {
    let app = TestApp::spawn().await;
    let omega = app.create(json!({"full_name": "Ωmega Émile"})).await;
    app.create(json!({"full_name": "Alpha"})).await;
    let omega_id = omega["user_identity_id"].as_str().unwrap().to_owned();

    for search in ["ω", "Ω", "émi", "ÉM", "é"] {
        let reply = app
            .post("/user_identities/list", json!({"search": search}))
            .await;
        assert_eq!(
            ids_of(reply.assert_ok()),
            vec![omega_id.clone()],
            "search {search:?}"
        );
    }
}

/// Writes that the server commits together (one group commit on SQLite) keep the search
/// index exact: creates, creates refused as duplicates, renames and deletes in flight at
/// once, and rows created, renamed and deleted within moments of each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_search_follows_writes_committed_together() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let mut old = Vec::new();
    for i in 0..30 {
        let identity = app
            .create(json!({"full_name": format!("Old {i} zqold"), "email_address": format!("old{i}@example.com")}))
            .await;
        old.push(identity["user_identity_id"].as_str().unwrap().to_owned());
    }

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30 {
        let app = app.clone();
        tasks.spawn(async move {
            let created = app
                .post(
                    "/user_identities/create",
                    json!({"full_name": format!("New {i} zqnew")}),
                )
                .await;
            // Row 3k + 2 is neither renamed nor deleted below: its email stays taken.
            let taken = format!("old{}@example.com", 3 * (i % 10) + 2);
            let duplicate = app
                .post(
                    "/user_identities/create",
                    json!({"full_name": format!("Dup {i} zqdup"), "email_address": taken}),
                )
                .await;
            duplicate.assert_error(400, "duplicate_email_address");
            created.assert_ok()["user_identity"]["user_identity_id"]
                .as_str()
                .unwrap()
                .to_owned()
        });
    }
    for (i, id) in old.iter().enumerate() {
        let (changer, id) = (app.clone(), id.clone());
        tasks.spawn(async move {
            let change = match i % 3 {
                0 => changer
                    .post(
                        "/user_identities/update",
                        json!({"user_identity_id": id, "full_name": format!("Renamed {i} zqren")}),
                    )
                    .await,
                1 => {
                    changer
                        .post("/user_identities/delete", json!({"user_identity_id": id}))
                        .await
                }
                _ => return String::new(),
            };
            change.assert_ok();
            String::new()
        });
        let app = app.clone();
        tasks.spawn(async move {
            let created = app
                .create(json!({"full_name": format!("Brief {i} zqfirst")}))
                .await;
            let id = created["user_identity_id"].as_str().unwrap().to_owned();
            app.post(
                "/user_identities/update",
                json!({"user_identity_id": id, "full_name": format!("Brief {i} zqsecond")}),
            )
            .await
            .assert_ok();
            if i % 2 == 0 {
                app.post("/user_identities/delete", json!({"user_identity_id": id}))
                    .await
                    .assert_ok();
                return String::new();
            }
            id
        });
    }
    let mut kept: HashSet<String> = HashSet::new();
    while let Some(id) = tasks.join_next().await {
        kept.extend(Some(id.unwrap()).filter(|id| !id.is_empty()));
    }

    let found = |search: &'static str| {
        let app = app.clone();
        async move {
            all_ids(&app, &format!("&search={search}"))
                .await
                .into_iter()
                .collect::<HashSet<_>>()
        }
    };
    let of_old = |rest: usize| -> HashSet<String> {
        old.iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == rest)
            .map(|(_, id)| id.clone())
            .collect()
    };
    assert_eq!(found("zqold").await, of_old(2));
    assert_eq!(found("zqren").await, of_old(0));
    assert_eq!(found("zqdup").await, HashSet::new());
    assert_eq!(found("zqfirst").await, HashSet::new());
    assert_eq!(found("zqnew").await.len(), 30);
    let second = found("zqsecond").await;
    assert_eq!(second.len(), 15);
    let created: HashSet<String> = found("zqnew").await.union(&second).cloned().collect();
    assert_eq!(created, kept);

    if let Some(path) = app.database_url.strip_prefix("sqlite://") {
        rusqlite::Connection::open(path)
            .unwrap()
            .execute(
                "INSERT INTO user_identities_search (user_identities_search) VALUES ('integrity-check')",
                [],
            )
            .expect("the search index matches the table");
    }
}

#[tokio::test]
async fn list_search_pages_in_list_order() {
    let app = TestApp::spawn().await;
    let all = seed(&app, 1_000).await;
    let tenth: Vec<String> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 10 == 3)
        .map(|(_, id)| id.clone())
        .collect();

    let found = all_ids(&app, "&search=TENTH").await;
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let reply = app
            .get(&format!(
                "/user_identities/list?limit=7&search=tenth{cursor}"
            ))
            .await;
        let body = reply.assert_ok().clone();
        paged.extend(ids_of(&body));
        match body["pagination"]["next_page_cursor"].as_str() {
            Some(next) => cursor = format!("&page_cursor={next}"),
            None => break,
        }
    }

    assert_eq!(found, tenth);
    assert_eq!(paged, tenth);
}

#[tokio::test]
async fn list_filters_by_ids_in_every_array_form() {
    let app = TestApp::spawn().await;
    let ids = seed(&app, 5).await;
    let (a, b) = (&ids[1], &ids[3]);

    let forms = [
        format!("/user_identities/list?user_identity_ids={a}&user_identity_ids={b}"),
        format!("/user_identities/list?user_identity_ids={a},{b}"),
        format!("/user_identities/list?user_identity_ids[]={a}&user_identity_ids[]={b}"),
    ];
    for path in forms {
        let reply = app.get(&path).await;
        assert_eq!(
            ids_of(reply.assert_ok()),
            vec![a.clone(), b.clone()],
            "{path}"
        );
    }
    let posted = app
        .post(
            "/user_identities/list",
            json!({"user_identity_ids": [b, a]}),
        )
        .await;
    assert_eq!(ids_of(posted.assert_ok()), vec![a.clone(), b.clone()]);
    let bad = app
        .post(
            "/user_identities/list",
            json!({"user_identity_ids": [a, "nope"]}),
        )
        .await;
    bad.assert_error(400, "invalid_input");
    assert_eq!(
        bad.body["error"]["validation_errors"]["user_identity_ids"]["1"]["_errors"][0],
        "Invalid uuid"
    );
}

#[tokio::test]
async fn list_filters_by_created_before() {
    let app = TestApp::spawn().await;
    let first = app.create(json!({"full_name": "First"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = app.create(json!({"full_name": "Second"})).await;
    let cutoff = second["created_at"].as_str().unwrap();

    let reply = app
        .get(&format!("/user_identities/list?created_before={cutoff}"))
        .await;

    assert_eq!(
        ids_of(reply.assert_ok()),
        vec![first["user_identity_id"].as_str().unwrap().to_owned()]
    );
    let bad = app
        .get("/user_identities/list?created_before=yesterday")
        .await;
    bad.assert_error(400, "invalid_input");
}

#[tokio::test]
async fn list_validates_and_caps_limit() {
    let app = TestApp::spawn().await;
    seed(&app, 1_200).await;

    for (limit, message) in [
        ("0", "Number must be greater than 0"),
        ("-3", "Number must be greater than 0"),
        ("abc", "Expected number, received nan"),
        ("1.5", "Expected integer, received float"),
    ] {
        let reply = app
            .get(&format!("/user_identities/list?limit={limit}"))
            .await;
        reply.assert_error(400, "invalid_input");
        assert_eq!(
            reply.body["error"]["validation_errors"]["limit"]["_errors"][0],
            message
        );
    }
    let default = app.get("/user_identities/list").await;
    assert_eq!(ids_of(default.assert_ok()).len(), 500);
    let capped = app
        .post("/user_identities/list", json!({"limit": 5000}))
        .await;
    assert_eq!(ids_of(capped.assert_ok()).len(), 1000);
    let numeric_string = app
        .post("/user_identities/list", json!({"limit": "3"}))
        .await;
    assert_eq!(ids_of(numeric_string.assert_ok()).len(), 3);
}

#[tokio::test]
async fn list_shows_only_the_callers_workspace_and_refuses_its_cursors() {
    let app = TestApp::spawn().await;
    seed(&app, 5).await;
    let (_, other_key) = app.other_workspace().await;
    let mine = app.get("/user_identities/list?limit=2").await;
    let cursor = mine.body["pagination"]["next_page_cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    let theirs = app
        .send(
            app.request(Method::GET, "/user_identities/list?limit=2")
                .bearer_auth(&other_key),
        )
        .await;
    let stolen = app
        .send(
            app.request(
                Method::GET,
                &format!("/user_identities/list?limit=2&page_cursor={cursor}"),
            )
            .bearer_auth(&other_key),
        )
        .await;
    let search = app
        .send(
            app.request(Method::GET, "/user_identities/list?search=person")
                .bearer_auth(&other_key),
        )
        .await;

    assert_eq!(theirs.assert_ok()["user_identities"], json!([]));
    stolen.assert_error(400, "mismatched_page_parameters");
    assert_eq!(search.assert_ok()["user_identities"], json!([]));
}
