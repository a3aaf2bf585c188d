//! Scratch PostgreSQL databases for tests, on the server `IDENTITY_TEST_POSTGRES_URL`
//! names (scripts/with-postgres.sh starts one). Databases are left behind: the test
//! cluster is thrown away as a whole. Tests that stop or crash PostgreSQL start a private
//! [`Cluster`] with the script `IDENTITY_TEST_PG_CLUSTER` names.

use std::path::PathBuf;
use std::process::Command;

/// The admin URL, when PostgreSQL tests are enabled.
pub fn admin_url() -> Option<String> {
    std::env::var("IDENTITY_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// Creates a uniquely named database and returns its URL.
pub async fn fresh_database(admin_url: &str) -> String {
    let name = format!("identity_test_{}", uuid::Uuid::new_v4().simple());
    let client = connect(admin_url).await;
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a test database");
    with_database(admin_url, &name)
}

/// A direct connection, for tests that inspect the database itself.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|error| panic!("connect to PostgreSQL: {error}"));
    tokio::spawn(connection);
    client
}

/// The URL with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let host_start = base.find("://").map_or(0, |at| at + 3);
    let base = match base[host_start..].find('/') {
        Some(slash) => &base[..host_start + slash],
        None => base,
    };
    match query {
        "" => format!("{base}/{name}"),
        query => format!("{base}/{name}?{query}"),
    }
}

/// A private cluster, for a test that stops or crashes it; destroyed on drop.
pub struct Cluster {
    script: PathBuf,
    dir: PathBuf,
}

impl Cluster {
    /// Starts a cluster with `scripts/pg-cluster.sh init DIR [durable]` and returns it with
    /// its admin URL. `None` when `IDENTITY_TEST_PG_CLUSTER` is not set.
    pub fn init(durable: bool) -> Option<(Self, String)> {
        let script = PathBuf::from(std::env::var_os("IDENTITY_TEST_PG_CLUSTER")?);
        // Under /tmp rather than $TMPDIR: the cluster's unprivileged owner must reach it.
        let dir = PathBuf::from(format!("/tmp/identity-pg-private.{}", uuid::Uuid::new_v4()));
        let cluster = Self { script, dir };
        let mode: &[&str] = if durable { &["durable"] } else { &[] };
        let url = cluster.run_with("init", mode);
        Some((cluster, url.trim().to_owned()))
    }

    /// Runs `pg-cluster.sh COMMAND DIR` (`start`, `stop`, `crash`) and returns its output.
    pub fn run(&self, command: &str) -> String {
        self.run_with(command, &[])
    }

    fn run_with(&self, command: &str, extra: &[&str]) -> String {
        let output = Command::new(&self.script)
            .arg(command)
            .arg(&self.dir)
            .args(extra)
            .output()
            .expect("run pg-cluster.sh");
        assert!(
            output.status.success(),
            "pg-cluster.sh {command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(&self.script)
            .arg("destroy")
            .arg(&self.dir)
            .status();
    }
}
