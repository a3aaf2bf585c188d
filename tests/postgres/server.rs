//! The built binary as a child process: `serve` on a port the OS picks, and admin
//! commands.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_identity-server");

/// A running `identity-server serve`; killed on drop.
pub struct Server {
    pub base_url: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
}

/// A `serve` process started but not yet listening.
pub struct Starting {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
    address: mpsc::Receiver<String>,
}

impl Starting {
    /// Waits until the server listens.
    pub fn wait(mut self) -> Server {
        let Ok(address) = self.address.recv_timeout(Duration::from_secs(30)) else {
            let _ = self.child.kill();
            panic!("the server did not start: {:?}", self.log.lock().unwrap());
        };
        Server {
            base_url: format!("http://{address}"),
            child: self.child,
            log: self.log,
            stdout: self.stdout,
        }
    }
}

/// Collects a child's output lines for its whole life, so it never blocks on a full pipe.
fn drain(
    output: impl std::io::Read + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
    listening: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            if let Some(found) = &listening {
                if let Some(address) = listening_address(&line) {
                    let _ = found.send(address);
                }
            }
            lines.lock().unwrap().push(line);
        }
    });
}

impl Server {
    /// Starts `serve` on `database` with extra flags and waits until it listens.
    pub fn start(database: &str, flags: &[&str]) -> Self {
        Self::spawn(database, flags).wait()
    }

    /// Starts `serve` without waiting, so that several can start at the same moment.
    pub fn spawn(database: &str, flags: &[&str]) -> Starting {
        let mut child = Command::new(BINARY)
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(["--database", database])
            .args(flags)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start identity-server serve");
        let (log, stdout) = (Arc::default(), Arc::default());
        let (found, address) = mpsc::channel();
        drain(child.stderr.take().unwrap(), Arc::clone(&log), Some(found));
        drain(child.stdout.take().unwrap(), Arc::clone(&stdout), None);
        Starting {
            child,
            log,
            stdout,
            address,
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_url)
    }

    /// Log lines so far, for failure messages.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The API key this server printed when it created the first workspace, if it did.
    pub fn printed_api_key(&self) -> Option<String> {
        let stdout = self.stdout.lock().unwrap();
        stdout
            .iter()
            .map(|line| line.trim())
            .find(|line| line.starts_with("seam_"))
            .map(str::to_owned)
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
