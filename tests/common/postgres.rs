//! Scratch PostgreSQL databases for tests, on the server `IDENTITY_TEST_POSTGRES_URL`
//! names (scripts/with-postgres.sh starts one). Databases are left behind: the test
//! cluster is thrown away as a whole.

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
