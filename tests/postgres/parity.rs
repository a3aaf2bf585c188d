//! The same story told to a server on SQLite and to one on PostgreSQL must get the same
//! answers, byte for byte once ids, times and cursors (which differ by nature) are
//! replaced by the order in which they first appeared.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::database;
use crate::server::{Server, admin};

/// One request and its answer, normalized.
#[derive(Debug, PartialEq)]
struct Exchange {
    request: String,
    status: u16,
    body: String,
}

struct Teller {
    client: reqwest::Client,
    server: Server,
    api_key: String,
    transcript: Vec<Exchange>,
    /// Real value -> placeholder, in order of first appearance.
    aliases: HashMap<String, String>,
}

impl Teller {
    fn new(database: &str) -> Self {
        let workspace = admin(
            database,
            &["admin", "workspace", "create", "--name", "Parity"],
        );
        Self {
            client: reqwest::Client::new(),
            server: Server::start(database, &[]),
            api_key: workspace["api_key"].as_str().unwrap().to_owned(),
            transcript: Vec::new(),
            aliases: HashMap::new(),
        }
    }

    /// Sends a request (GET with a query, or POST with a JSON body) and records it.
    async fn call(&mut self, path: &str, body: Option<Value>) -> Value {
        let label = match path.split_once("page_cursor=") {
            Some((before, cursor)) => {
                format!("{before}page_cursor={}", self.alias("cursor", cursor))
            }
            None => path.to_owned(),
        };
        self.call_as(path, &label, body).await
    }

    /// As [`Teller::call`], recorded under `label` instead of the path.
    async fn call_as(&mut self, path: &str, label: &str, body: Option<Value>) -> Value {
        let request = match &body {
            Some(body) => self.client.post(self.server.url(path)).json(body),
            None => self.client.get(self.server.url(path)),
        };
        let response = request.bearer_auth(&self.api_key).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        let request = format!(
            "{label} {}",
            body.map(|b| b.to_string()).unwrap_or_default()
        );
        let exchange = Exchange {
            request: self.normalize_text(&request),
            status,
            body: self.normalize(&value).to_string(),
        };
        self.transcript.push(exchange);
        value
    }

    fn alias(&mut self, kind: &str, real: &str) -> String {
        let next = self.aliases.len() + 1;
        self.aliases
            .entry(real.to_owned())
            .or_insert_with(|| format!("<{kind}{next}>"))
            .clone()
    }

    fn normalize(&mut self, value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, value)| {
                        let value = match (key.as_str(), value) {
                            // Two creates may or may not share a millisecond.
                            ("created_at", Value::String(_)) => json!("<time>"),
                            ("next_page_cursor", Value::String(cursor)) => {
                                json!(self.alias("cursor", cursor))
                            }
                            ("next_page_url", Value::String(url)) => {
                                let cursor = url.rsplit("page_cursor=").next().unwrap_or(url);
                                json!(self.alias("cursor", cursor))
                            }
                            _ => self.normalize(value),
                        };
                        (key.clone(), value)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.normalize(v)).collect()),
            Value::String(text) => json!(self.normalize_text(text)),
            other => other.clone(),
        }
    }

    /// Replaces every UUID in the text (any case) by its alias.
    fn normalize_text(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while !rest.is_empty() {
            let candidate = rest.get(..36).filter(|c| uuid::Uuid::try_parse(c).is_ok());
            match candidate {
                Some(id) if id.contains('-') => {
                    let alias = self.alias("id", &id.to_lowercase());
                    out.push_str(&alias);
                    rest = &rest[36..];
                }
                _ => {
                    let next = rest.chars().next().unwrap();
                    out.push(next);
                    rest = &rest[next.len_utf8()..];
                }
            }
        }
        out
    }
}

fn id_of(reply: &Value) -> String {
    reply["user_identity"]["user_identity_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The story: creates (with duplicates and bad input), reads, searches in several
/// scripts and cases, pages, updates and deletes.
async fn story(teller: &mut Teller) {
    let create = "/user_identities/create";
    let jean = teller
        .call(create, Some(json!({"user_identity_key": "jean_doe", "email_address": "Jean.Doe@Example.com", "phone_number": "+15555550110", "full_name": "Jean Doe"})))
        .await;
    let emile = teller
        .call(
            create,
            Some(json!({"email_address": "emile@example.com", "full_name": "Émile Zoë Ångström"})),
        )
        .await;
    teller
        .call(
            create,
            Some(json!({"full_name": "Ωmega İstanbul straße", "phone_number": " +442071838750 "})),
        )
        .await;
    teller
        .call(create, Some(json!({"user_identity_key": "k-only"})))
        .await;
    teller.call(create, Some(json!({}))).await;
    for body in [
        json!({"user_identity_key": "jean_doe"}),
        json!({"email_address": "JEAN.DOE@example.COM"}),
        json!({"phone_number": "+15555550110"}),
        json!({"user_identity_key": "jean_doe", "email_address": "jean.doe@example.com", "phone_number": "+15555550110"}),
        json!({"user_identity_key": "jean_doe", "email_address": "jean.doe@example.com"}),
        json!({"email_address": "not an email"}),
        json!({"phone_number": "5555550110"}),
        json!({"user_identity_key": ""}),
        json!({"full_name": "Unknown fields", "favourite_colour": "green"}),
        json!([1, 2]),
    ] {
        teller.call(create, Some(body)).await;
    }

    let (jean_id, emile_id) = (id_of(&jean), id_of(&emile));
    for query in [
        format!("user_identity_id={jean_id}"),
        "user_identity_key=jean_doe".to_owned(),
        "user_identity_id=00000000-0000-4000-8000-000000000000".to_owned(),
        "user_identity_id=not-a-uuid".to_owned(),
        format!("user_identity_id={jean_id}&user_identity_key=jean_doe"),
    ] {
        teller
            .call(&format!("/user_identities/get?{query}"), None)
            .await;
    }

    let id_fragment = jean_id[9..23].to_uppercase();
    let path = format!("/user_identities/list?search={id_fragment}");
    teller
        .call_as(&path, "list?search=<part of an id>", None)
        .await;
    // Terms are chosen so they cannot match the random hex of an id.
    for search in [
        "jean",
        "JEAN",
        "ÉMI",
        "émi",
        "zoë",
        "ZOË",
        "ångström",
        "ωme",
        "Ω",
        "é",
        "İstanbul",
        "STRASSE",
        "straße",
        "%",
        "_",
        "\\",
        "oe",
        "n",
        "5550110",
        "+44",
        "@example.com",
        "nomatch",
        "\"",
        "'",
        "Doe\"",
        "ean D",
        "n D",
        "%oe",
        "J_an",
        " ",
        "ström",
    ] {
        let encoded: String = form_urlencoded::byte_serialize(search.as_bytes()).collect();
        teller
            .call(&format!("/user_identities/list?search={encoded}"), None)
            .await;
    }
    let mut cursor = String::new();
    loop {
        let page = teller
            .call(&format!("/user_identities/list?limit=2{cursor}"), None)
            .await;
        match page["pagination"]["next_page_cursor"].as_str() {
            Some(next) => cursor = format!("&page_cursor={next}"),
            None => break,
        }
    }
    teller
        .call(
            &format!("/user_identities/list?user_identity_ids={jean_id},{emile_id}"),
            None,
        )
        .await;
    teller
        .call("/user_identities/list?created_before=2000-01-01", None)
        .await;

    let update = "/user_identities/update";
    for body in [
        json!({"user_identity_id": jean_id, "full_name": "Jean Q. Doe", "phone_number": null}),
        json!({"user_identity_id": jean_id, "email_address": "EMILE@example.com"}),
        json!({"user_identity_id": jean_id, "email_address": "emile@example.com", "user_identity_key": "k-only"}),
        json!({"user_identity_id": jean_id}),
        json!({"user_identity_id": "00000000-0000-4000-8000-000000000000", "full_name": "x"}),
    ] {
        teller.call(update, Some(body)).await;
    }
    teller
        .call(
            &format!("/user_identities/get?user_identity_id={jean_id}"),
            None,
        )
        .await;

    let delete = "/user_identities/delete";
    teller
        .call(delete, Some(json!({"user_identity_id": emile_id})))
        .await;
    teller
        .call(delete, Some(json!({"user_identity_id": emile_id})))
        .await;
    teller.call("/user_identities/list", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_answer_the_same_story_alike() {
    let Some(admin_url) = database::admin_url() else {
        eprintln!("IDENTITY_TEST_POSTGRES_URL is not set; skipped");
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("parity.db").display());
    let postgres = database::fresh_database(&admin_url).await;
    let mut on_sqlite = Teller::new(&sqlite);
    let mut on_postgres = Teller::new(&postgres);
    story(&mut on_sqlite).await;
    story(&mut on_postgres).await;

    assert!(on_sqlite.transcript.len() > 60, "the whole story was told");
    assert_eq!(on_sqlite.transcript.len(), on_postgres.transcript.len());
    for (sqlite, postgres) in on_sqlite.transcript.iter().zip(&on_postgres.transcript) {
        assert_eq!(
            sqlite, postgres,
            "SQLite (left) and PostgreSQL (right) differ"
        );
    }
}
