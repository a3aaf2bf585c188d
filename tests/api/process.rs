//! The built binary as a child process: start `serve` on a free port, read its logs, send
//! it signals, and run admin commands against its database.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The server binary these tests start: `IDENTITY_TEST_SERVER_BINARY` when set
/// (scripts/test.sh points it at the release build, the one that ships), else the one
/// cargo built along with the tests.
pub fn binary() -> String {
    std::env::var("IDENTITY_TEST_SERVER_BINARY")
        .ok()
        .filter(|path| !path.is_empty())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_identity-server").to_owned())
}

/// A running `identity-server serve`, killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// `host:port` it listens on.
    pub address: String,
    logs: Arc<Mutex<String>>,
    /// Copies stderr into `logs`; joined once the process exits, so no line is missed.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts `serve` on `127.0.0.1:0` with `RUST_LOG=info` and waits until it listens.
    pub fn start(database: &str, args: &[&str]) -> Self {
        Self::start_logging(database, args, "info")
    }

    /// Like [`Self::start`], with `RUST_LOG` set to `filter`.
    pub fn start_logging(database: &str, args: &[&str], filter: &str) -> Self {
        let mut child = Command::new(binary())
            .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
            .args(args)
            .env("RUST_LOG", filter)
            .env("NO_COLOR", "1")
            .env_remove("IDENTITY_SERVER_LOG_FORMAT")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let logs = Arc::new(Mutex::new(String::new()));
        let (found, address) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let line = strip_ansi(&line);
                if let Some(address) = listening_address(&line) {
                    let _ = found.send(address);
                }
                let mut logs = sink.lock().unwrap();
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        let address = address
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the server did not start: {}", logs.lock().unwrap()));
        Self {
            child,
            address,
            logs,
            reader: Some(reader),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server wrote to stderr so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// `kill -9`: the process gets no chance to clean up.
    pub fn kill_hard(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
        self.finish_reading();
    }

    fn finish_reading(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    /// Waits for the process to exit, up to `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.finish_reading();
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listening_address(line: &str) -> Option<String> {
    if !line.contains("identity-server listening") {
        return None;
    }
    let start = line.find("address=")? + "address=".len();
    let address = line[start..].split_whitespace().next()?;
    Some(address.to_owned())
}

/// Removes terminal colour codes, in case the logger adds them.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs `identity-server admin ARGS --database DATABASE` and returns its JSON output.
pub fn admin(database: &str, args: &[&str]) -> Value {
    let output = Command::new(binary())
        .arg("admin")
        .args(args)
        .args(["--database", database])
        .output()
        .expect("run admin command");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// A new workspace on `database`: its id and API key.
pub fn workspace(database: &str) -> (String, String) {
    let created = admin(database, &["workspace", "create", "--name", "Test"]);
    (
        created["workspace_id"].as_str().unwrap().to_owned(),
        created["api_key"].as_str().unwrap().to_owned(),
    )
}

/// Holds the database's write lock from outside the server, so that a write the server
/// starts waits for it: SQLite's `BEGIN IMMEDIATE`, or PostgreSQL's `SHARE` lock on the
/// identities table, which blocks inserts.
pub enum WriteLock {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client),
}

impl WriteLock {
    pub async fn take(database: &str) -> Self {
        match database.strip_prefix("sqlite://") {
            Some(path) => {
                let connection = rusqlite::Connection::open(path).unwrap();
                connection.execute_batch("BEGIN IMMEDIATE").unwrap();
                Self::Sqlite(connection)
            }
            None => {
                let client = crate::database::connect(database).await;
                client
                    .batch_execute("BEGIN; LOCK TABLE user_identities IN SHARE MODE")
                    .await
                    .unwrap();
                Self::Postgres(client)
            }
        }
    }

    pub async fn release(self) {
        match self {
            Self::Sqlite(connection) => connection.execute_batch("ROLLBACK").unwrap(),
            Self::Postgres(client) => client.batch_execute("ROLLBACK").await.unwrap(),
        }
    }
}
