//! Crash safety: concurrent creates, updates and deletes against the server binary (the
//! release build under scripts/test.sh, see `process::binary`), which is
//! killed with SIGKILL at a random moment, several times. After each restart every
//! acknowledged write is there, exactly (a deleted identity is gone); a write in flight at
//! the kill is there entirely or not at all; and on SQLite the database and its search
//! index pass their integrity checks.
//!
//! Runs on PostgreSQL when `IDENTITY_TEST_POSTGRES_URL` is set, on a cluster that keeps
//! PostgreSQL's durable settings (`fsync`, `synchronous_commit`, `full_page_writes`): its
//! own cluster when `IDENTITY_TEST_PG_CLUSTER` names the script that starts one (as
//! scripts/with-postgres.sh does), and then every other round crashes PostgreSQL too
//! (an immediate shutdown, replayed from the WAL at the next start) along with the server.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::database::{self, Cluster};
use crate::process::{ServerProcess, workspace};

const ROUNDS: usize = 6;
const WORKERS: usize = 8;

/// The fields of one identity as a client last saw them; `None` once deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    email_address: String,
    phone_number: Option<String>,
    full_name: String,
}

/// One identity a worker owns: what the server acknowledged, and the write in flight.
#[derive(Debug, Clone)]
struct Tracked {
    key: String,
    id: Option<String>,
    /// `Some(None)`: acknowledged as deleted (or never acknowledged as created).
    confirmed: Option<Fields>,
    /// The state the write in flight would produce, if one was cut off by the kill.
    pending: Option<Option<Fields>>,
}

/// A small deterministic generator; the seed is printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

struct Load {
    client: Client,
    base: String,
    api_key: String,
    stop: AtomicBool,
    phones: AtomicU64,
    acknowledged: AtomicU64,
}

enum Outcome {
    Acknowledged(Value),
    Refused(Value),
    /// No answer, or `503`: the write may or may not have happened.
    Lost,
}

impl Load {
    async fn send(&self, method: Method, path: &str, body: Value) -> Outcome {
        let sent = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await;
        let Ok(response) = sent else {
            return Outcome::Lost;
        };
        let status = response.status();
        let Ok(body) = response.json::<Value>().await else {
            return Outcome::Lost;
        };
        if status.is_success() {
            self.acknowledged.fetch_add(1, Ordering::Relaxed);
            Outcome::Acknowledged(body)
        } else if status == 503 {
            // Overloaded (a pool or statement timeout); not acknowledged.
            Outcome::Lost
        } else {
            assert!(status.is_client_error(), "{status} {body}");
            Outcome::Refused(body)
        }
    }

    fn phone(&self) -> String {
        format!("+1{:010}", self.phones.fetch_add(1, Ordering::Relaxed))
    }
}

/// Writes until the server dies or `stop` is set. Each worker's writes are sequential, so
/// at most one of its writes is in flight when the server is killed.
async fn worker(
    load: Arc<Load>,
    (number, round, seed): (usize, usize, u64),
    mut owned: Vec<Tracked>,
) -> Vec<Tracked> {
    let mut rng = Rng(seed | 1);
    let mut created = 0;
    while !load.stop.load(Ordering::Relaxed) {
        let live: Vec<usize> = (0..owned.len())
            .filter(|&index| owned[index].confirmed.is_some())
            .collect();
        let choice = rng.below(10);
        let lost = if live.is_empty() || choice < 4 {
            created += 1;
            let key = format!("w{number}_r{round}_{created}");
            let fields = Fields {
                email_address: format!("{key}.v0@example.com"),
                phone_number: Some(load.phone()),
                full_name: format!("{key} v0"),
            };
            owned.push(Tracked {
                key,
                id: None,
                confirmed: None,
                pending: None,
            });
            let tracked = owned.last_mut().unwrap();
            create(&load, tracked, fields).await
        } else {
            let tracked = &mut owned[live[rng.below(live.len() as u64) as usize]];
            if choice < 9 {
                let version = rng.next() % 1_000_000;
                let fields = Fields {
                    email_address: format!("{}.v{version}@example.com", tracked.key),
                    phone_number: (version % 3 != 0).then(|| load.phone()),
                    full_name: format!("{} v{version}", tracked.key),
                };
                update(&load, tracked, fields).await
            } else {
                delete(&load, tracked).await
            }
        };
        if lost {
            break;
        }
    }
    owned
}

/// Each returns `true` when the answer was lost (the server died).
async fn create(load: &Load, tracked: &mut Tracked, fields: Fields) -> bool {
    let body = json!({
        "user_identity_key": tracked.key,
        "email_address": fields.email_address,
        "phone_number": fields.phone_number,
        "full_name": fields.full_name,
    });
    tracked.pending = Some(Some(fields.clone()));
    match load
        .send(Method::POST, "/user_identities/create", body)
        .await
    {
        Outcome::Acknowledged(reply) => {
            let identity = &reply["user_identity"];
            assert_eq!(fields_of(identity), fields, "create answers what it stored");
            tracked.id = identity["user_identity_id"].as_str().map(str::to_owned);
            tracked.confirmed = Some(fields);
            tracked.pending = None;
            false
        }
        Outcome::Refused(reply) => panic!("create refused: {reply}"),
        Outcome::Lost => true,
    }
}

async fn update(load: &Load, tracked: &mut Tracked, fields: Fields) -> bool {
    let body = json!({
        "user_identity_id": tracked.id,
        "email_address": fields.email_address,
        "phone_number": fields.phone_number,
        "full_name": fields.full_name,
    });
    tracked.pending = Some(Some(fields.clone()));
    match load
        .send(Method::PATCH, "/user_identities/update", body)
        .await
    {
        Outcome::Acknowledged(_) => {
            tracked.confirmed = Some(fields);
            tracked.pending = None;
            false
        }
        Outcome::Refused(reply) => panic!("update refused: {reply}"),
        Outcome::Lost => true,
    }
}

async fn delete(load: &Load, tracked: &mut Tracked) -> bool {
    let body = json!({ "user_identity_id": tracked.id });
    tracked.pending = Some(None);
    match load
        .send(Method::POST, "/user_identities/delete", body)
        .await
    {
        Outcome::Acknowledged(_) => {
            tracked.confirmed = None;
            tracked.pending = None;
            false
        }
        Outcome::Refused(reply) => panic!("delete refused: {reply}"),
        Outcome::Lost => true,
    }
}

fn fields_of(identity: &Value) -> Fields {
    Fields {
        email_address: identity["email_address"].as_str().unwrap().to_owned(),
        phone_number: identity["phone_number"].as_str().map(str::to_owned),
        full_name: identity["full_name"].as_str().unwrap().to_owned(),
    }
}

/// Every identity in the workspace, by key, read page by page.
async fn all_identities(server: &ServerProcess, api_key: &str) -> HashMap<String, Value> {
    let client = Client::new();
    let mut found = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut body = json!({ "limit": 1000 });
        if let Some(cursor) = &cursor {
            body["page_cursor"] = json!(cursor);
        }
        let page = list_page(&client, server, api_key, &body).await;
        for identity in page["user_identities"].as_array().expect("a list page") {
            let key = identity["user_identity_key"].as_str().unwrap().to_owned();
            assert!(
                found.insert(key, identity.clone()).is_none(),
                "listed twice"
            );
        }
        match page["pagination"]["next_page_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return found,
        }
    }
}

/// One list page; a `503` from an overloaded machine is retried, anything else fails.
async fn list_page(client: &Client, server: &ServerProcess, api_key: &str, body: &Value) -> Value {
    for _ in 0..50 {
        let response = client
            .post(server.url("/user_identities/list"))
            .bearer_auth(api_key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let page: Value = response.json().await.unwrap();
        match status.as_u16() {
            200 => return page,
            503 => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => panic!("list failed: {status} {page}"),
        }
    }
    panic!("the restarted server stayed unavailable");
}

/// Reads up to `count` identities, picked at random, one by one by id: `get` answers what
/// the list showed, or `404` for one that is gone. Lists and single reads take different
/// paths (on PostgreSQL, different connections).
async fn spot_check_gets(
    server: &ServerProcess,
    api_key: &str,
    tracked: &[Tracked],
    stored: &HashMap<String, Value>,
    rng: &mut Rng,
    count: usize,
) {
    let client = Client::new();
    let with_ids: Vec<&Tracked> = tracked.iter().filter(|t| t.id.is_some()).collect();
    for _ in 0..count.min(with_ids.len()) {
        let identity = with_ids[rng.below(with_ids.len() as u64) as usize];
        let id = identity.id.as_deref().unwrap();
        let response = client
            .get(server.url(&format!("/user_identities/get?user_identity_id={id}")))
            .bearer_auth(api_key)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        match stored.get(&identity.key) {
            Some(listed) => {
                assert_eq!(status, 200, "{}: {body}", identity.key);
                assert_eq!(&body["user_identity"], listed, "{}", identity.key);
            }
            None => assert_eq!(status, 404, "{}: {body}", identity.key),
        }
    }
}

/// Checks what survived against what was acknowledged, then makes the survivors the
/// acknowledged state for the next round. Returns the number of identities checked.
fn verify(tracked: &mut [Tracked], mut stored: HashMap<String, Value>) -> usize {
    for identity in tracked.iter_mut() {
        let actual = stored.remove(&identity.key);
        let actual_fields = actual.as_ref().map(fields_of);
        let allowed_pending = identity.pending.as_ref();
        assert!(
            actual_fields == identity.confirmed || allowed_pending == Some(&actual_fields),
            "{}: stored {actual_fields:?}, acknowledged {:?}, in flight {allowed_pending:?}",
            identity.key,
            identity.confirmed,
        );
        if let (Some(id), Some(actual)) = (&identity.id, &actual) {
            assert_eq!(actual["user_identity_id"].as_str(), Some(id.as_str()));
        }
        if identity.id.is_none() {
            identity.id = actual
                .as_ref()
                .and_then(|value| value["user_identity_id"].as_str().map(str::to_owned));
        }
        identity.confirmed = actual_fields;
        identity.pending = None;
    }
    assert!(stored.is_empty(), "identities nobody wrote: {stored:?}");
    tracked.len()
}

/// On PostgreSQL, waits until the killed server's sessions are gone: a COMMIT it sent just
/// before dying may still land, and must land before the survivors are read.
async fn wait_for_orphaned_sessions(database: &str) {
    if !database.starts_with("postgres") {
        return;
    }
    let (client, connection) = tokio_postgres::connect(database, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    // Client sessions only: autovacuum workers also show up here, but write no rows.
    let others = "SELECT count(*) FROM pg_stat_activity \
                  WHERE datname = current_database() AND pid <> pg_backend_pid() \
                      AND backend_type = 'client backend'";
    for _ in 0..500 {
        let count: i64 = client.query_one(others, &[]).await.unwrap().get(0);
        if count == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the killed server's database sessions did not end");
}

/// `PRAGMA integrity_check` and FTS5's own check of the search index.
pub fn check_sqlite_integrity(database: &str) {
    let Some(path) = database.strip_prefix("sqlite://") else {
        return;
    };
    let conn = rusqlite::Connection::open(path).unwrap();
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(result, "ok");
    conn.execute(
        "INSERT INTO user_identities_search (user_identities_search) VALUES ('integrity-check')",
        [],
    )
    .expect("the search index matches the table");
    let orphans: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(orphans, 0);
}

/// The database the test writes to, and the private cluster it lives on, if any.
async fn crash_database(dir: &tempfile::TempDir) -> (String, Option<Cluster>) {
    let Some(shared) = database::admin_url() else {
        return (
            format!("sqlite://{}", dir.path().join("identity.db").display()),
            None,
        );
    };
    let (cluster, admin_url) = match Cluster::init(true) {
        Some((cluster, admin_url)) => (Some(cluster), admin_url),
        None => (None, shared),
    };
    let url = database::fresh_database(&admin_url).await;
    let client = database::connect(&url).await;
    for setting in ["fsync", "synchronous_commit", "full_page_writes"] {
        let value: String = client
            .query_one(&format!("SHOW {setting}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            value, "on",
            "the crash test needs a durable PostgreSQL ({setting} is {value}); set \
             IDENTITY_TEST_PG_CLUSTER to let it start its own"
        );
    }
    (url, cluster)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9_and_nothing_is_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let (database, cluster) = crash_database(&dir).await;
    let (_, api_key) = workspace(&database);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let mut owned: Vec<Vec<Tracked>> = vec![Vec::new(); WORKERS];
    let (mut checked, mut acknowledged, mut database_crashes) = (0, 0, 0);

    for round in 0..ROUNDS {
        let mut server = ServerProcess::start(&database, &[]);
        let load = Arc::new(Load {
            client: Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            base: format!("http://{}", server.address),
            api_key: api_key.clone(),
            stop: AtomicBool::new(false),
            phones: AtomicU64::new((round as u64) << 32),
            acknowledged: AtomicU64::new(0),
        });
        let workers: Vec<_> = owned
            .drain(..)
            .enumerate()
            .map(|(number, mine)| {
                let who = (number, round, rng.next());
                tokio::spawn(worker(load.clone(), who, mine))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(200 + rng.below(800))).await;
        let crash_database = cluster.as_ref().filter(|_| round % 2 == 1);
        if let Some(cluster) = crash_database {
            // PostgreSQL dies first, with commits in flight; the server then answers 503
            // until it is killed too.
            tokio::task::block_in_place(|| cluster.run("crash"));
            database_crashes += 1;
        }
        server.kill_hard();
        load.stop.store(true, Ordering::Relaxed);
        for handle in workers {
            owned.push(handle.await.expect("worker"));
        }
        acknowledged += load.acknowledged.load(Ordering::Relaxed);

        match crash_database {
            Some(cluster) => tokio::task::block_in_place(|| cluster.run("start")),
            None => String::new(),
        };
        wait_for_orphaned_sessions(&database).await;
        check_sqlite_integrity(&database);
        let restarted = ServerProcess::start(&database, &[]);
        let stored = all_identities(&restarted, &api_key).await;
        let mut everyone: Vec<Tracked> = owned.iter().flatten().cloned().collect();
        spot_check_gets(&restarted, &api_key, &everyone, &stored, &mut rng, 64).await;
        checked += verify(&mut everyone, stored);
        let mut rest = everyone.into_iter();
        for mine in owned.iter_mut() {
            let count = mine.len();
            *mine = rest.by_ref().take(count).collect();
        }
    }
    eprintln!(
        "crash test (seed {seed}, {}): {ROUNDS} kills of the server ({database_crashes} with \
         PostgreSQL crashed too), {acknowledged} acknowledged requests, {checked} identity checks",
        crate::process::binary()
    );
    assert!(
        acknowledged > 10 * ROUNDS as u64,
        "too little load to mean anything"
    );
}
