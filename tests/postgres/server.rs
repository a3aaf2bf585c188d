//! The built binary as a child process: `serve` on a port the OS picks, and admin
//! commands.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_identity-server");

/// A running `identity-server serve`; killed on drop.
pub struct Server {
    pub base_url: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `serve` on `database` with extra flags and waits until it listens.
    pub fn start(database: &str, flags: &[&str]) -> Self {
        let mut child = Command::new(BINARY)
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(["--database", database])
            .args(flags)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start identity-server serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, address) = std::sync::mpsc::channel();
        let lines = log.clone();
        // Drains stderr for the server's whole life, so logging never blocks it.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(listening) = listening_address(&line) {
                    let _ = found.send(listening);
                }
                lines.lock().unwrap().push(line);
            }
        });
        let address = match address.recv_timeout(Duration::from_secs(30)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not start: {:?}", log.lock().unwrap());
            }
        };
        Self {
            base_url: format!("http://{address}"),
            child,
            log,
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_url)
    }

    /// Log lines so far, for failure messages.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listening_address(line: &str) -> Option<String> {
    let entry: Value = serde_json::from_str(line).ok()?;
    let fields = &entry["fields"];
    (fields["message"] == "identity-server listening")
        .then(|| fields["address"].as_str().map(str::to_owned))
        .flatten()
}

/// Runs an admin command (or `migrate`) and returns its JSON output, if it prints any.
pub fn admin(database: &str, args: &[&str]) -> Value {
    let output = Command::new(BINARY)
        .args(args)
        .args(["--database", database])
        .output()
        .expect("run identity-server");
    assert!(
        output.status.success(),
        "identity-server {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    serde_json::from_str(stdout.trim()).unwrap_or(Value::Null)
}
