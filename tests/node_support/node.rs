//! A real `zhengzhao serve` process for a demo region, shared by the node tests and the node
//! benchmarks: its config written by `zhengzhao demo config` (and edited at will), the process
//! started on a loopback port chosen at run time (or one given), a wait until it says it
//! listens, and clients of its demo departments.

#[path = "client.rs"]
mod client;
#[path = "../support/command.rs"]
mod command;
#[path = "../support/demo.rs"]
mod demo;

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use client::demo_client;
pub use command::*;
pub use demo::*;
use serde_json::Value;
use tempfile::TempDir;
use zhengzhao::audit::note::NoteVerifier;
use zhengzhao::node::client::Client;

/// How long a node may take to say it listens.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a node may take to stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(40);
/// How long a test's client waits for an answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

/// The config `zhengzhao demo config` prints for `region`.
pub fn demo_config(region: &str, data_dir: &Path, listen: &str) -> String {
    demo_config_with(region, data_dir, listen, &[])
}

/// The config `zhengzhao demo config` prints for `region` with `--partner` for each of
/// `partners` (region, URL).
pub fn demo_config_with(
    region: &str,
    data_dir: &Path,
    listen: &str,
    partners: &[(String, String)],
) -> String {
    let mut args: Vec<String> = [
        "demo",
        "config",
        "--region",
        region,
        "--certs",
        p(&certs()),
        "--data-dir",
        p(data_dir),
        "--listen",
        listen,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (r, u) in partners {
        args.push("--partner".into());
        args.push(format!("{r}={u}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = zz(&args);
    assert!(
        out.status.success(),
        "zhengzhao demo config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the config is UTF-8")
}

/// `zhengzhao serve --config` on the demo config of `region` changed by `edit` (given the config
/// and a temporary directory for files it writes), for a config the node must refuse: what the
/// process said once it ended (a panic if it still runs after 30 s).
pub fn serve_with(region: &str, edit: impl FnOnce(String, &Path) -> String) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        edit(demo_config(region, &data, "127.0.0.1:0"), dir.path()),
    )
    .unwrap();
    let mut child = std::process::Command::new(bin())
        .args(["serve", "--config", p(&config)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A config that is refused ends the process at once; one that is not would listen.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the node did not refuse its config within 30 s:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Replaces `from` by `to` in `text`, insisting that `from` occurs.
pub fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the config has no {from:?} to replace:\n{text}"
    );
    text.replacen(from, to, 1)
}

/// What becomes of a node's log lines (its standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logs {
    /// Kept for [`Node::stderr`], at the level `RUST_LOG` gives (a test).
    Captured,
    /// Warnings only (`RUST_LOG=warn`), on this process's standard error (a benchmark: nothing
    /// kept, nothing read on the side).
    Warnings,
}

/// A running (or stopped) `zhengzhao serve` process with its own temporary directory.
pub struct Node {
    /// The demo region.
    pub region: String,
    /// The config file.
    pub config: PathBuf,
    /// The node's data directory.
    pub data_dir: PathBuf,
    /// `https://127.0.0.1:<port>` of the current run.
    pub url: String,
    child: Option<Child>,
    stderr: Arc<Mutex<String>>,
    stderr_thread: Option<JoinHandle<()>>,
    logs: Logs,
    dir: TempDir,
}

impl Node {
    /// A node of demo region `region` with the demo config.
    pub fn start(region: &str) -> Node {
        Node::start_with(region, |c| c)
    }

    /// A node of demo region `region` with the demo config changed by `edit`.
    pub fn start_with(region: &str, edit: impl FnOnce(String) -> String) -> Node {
        Node::start_full(region, "127.0.0.1:0", &[], edit)
    }

    /// A node of demo region `region` listening on `listen`, with demo `partners`
    /// (region, URL), its config changed by `edit`.
    pub fn start_full(
        region: &str,
        listen: &str,
        partners: &[(String, String)],
        edit: impl FnOnce(String) -> String,
    ) -> Node {
        let dir = tempfile::tempdir().expect("a temporary directory");
        Node::start_in(dir, region, listen, partners, edit, Logs::Captured)
    }

    /// [`Node::start_full`] in directory `dir` (config, data, audit state file), which the node
    /// owns from then on, with its log lines going where `logs` says.
    pub fn start_in(
        dir: TempDir,
        region: &str,
        listen: &str,
        partners: &[(String, String)],
        edit: impl FnOnce(String) -> String,
        logs: Logs,
    ) -> Node {
        let data_dir = dir.path().join("data");
        let text = edit(demo_config_with(region, &data_dir, listen, partners));
        let config = dir.path().join("node.toml");
        std::fs::write(&config, text).expect("write the config");
        let mut node = Node {
            region: region.to_owned(),
            config,
            data_dir,
            url: String::new(),
            child: None,
            stderr: Arc::new(Mutex::new(String::new())),
            stderr_thread: None,
            logs,
            dir,
        };
        node.launch();
        node
    }

    /// The node's temporary directory (config, data, audit state file).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn launch(&mut self) {
        assert!(self.child.is_none(), "the node is already running");
        let mut command = Command::new(bin());
        command
            .args(["serve", "--config", p(&self.config)])
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        match self.logs {
            Logs::Captured => command.stderr(Stdio::piped()),
            Logs::Warnings => command.env("RUST_LOG", "warn").stderr(Stdio::inherit()),
        };
        let mut child = command.spawn().expect("spawn zhengzhao serve");
        let buf = Arc::new(Mutex::new(String::new()));
        self.stderr_thread = child.stderr.take().map(|mut err| {
            let sink = buf.clone();
            std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                loop {
                    match err.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => sink
                            .lock()
                            .expect("stderr buffer")
                            .push_str(&String::from_utf8_lossy(&chunk[..n])),
                    }
                }
            })
        });
        self.stderr = buf;
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keeps draining standard output for the life of the process.
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                // Nobody may listen any more; keep reading so the node never blocks.
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        break addr.trim().to_owned();
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().expect("wait for the node");
                    self.join_stderr();
                    panic!(
                        "zhengzhao serve ended ({status}) before it listened; its stderr:\n{}",
                        self.stderr()
                    );
                }
                Err(mpsc::RecvTimeoutError::Timeout) => self.kill_and_fail(
                    &mut child,
                    &format!("zhengzhao serve did not listen within {START_TIMEOUT:?}"),
                ),
            }
        };
        self.url = format!("https://{addr}");
        self.child = Some(child);
    }

    /// Kills the node that failed to do `what` in time, and fails the test with its stderr.
    fn kill_and_fail(&mut self, child: &mut Child, what: &str) -> ! {
        let _ = child.kill();
        let _ = child.wait();
        self.join_stderr();
        panic!("{what}; its stderr:\n{}", self.stderr());
    }

    fn join_stderr(&mut self) {
        if let Some(t) = self.stderr_thread.take() {
            let _ = t.join();
        }
    }

    /// What the node wrote to standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }

    /// The process id of the running node.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the node is running").id()
    }

    /// Sends SIGTERM and waits for the node to exit; returns its exit status.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the node is running");
        let pid = child.id().to_string();
        let kill = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(kill.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("wait for the node") {
                self.join_stderr();
                return status;
            }
            if Instant::now() >= deadline {
                self.kill_and_fail(
                    &mut child,
                    &format!("the node did not stop within {STOP_TIMEOUT:?} of SIGTERM"),
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the stopped node again on the same config and data directory (a new port).
    pub fn restart(&mut self) {
        self.launch();
    }

    /// A client of this node presenting `cert` and `key`, trusting the region's TLS CA.
    pub fn client_with(&self, cert_pem: &Path, key_pem: &Path) -> Client {
        Client::new(
            &self.url,
            &cert_path(&self.region, "tls-ca.pem"),
            cert_pem,
            key_pem,
        )
        .expect("a client")
        .with_timeout(CLIENT_TIMEOUT)
    }

    /// A client presenting department `<region>-<name>`'s demo certificate.
    pub fn department(&self, name: &str) -> Client {
        demo_client(&self.url, &certs(), &self.region, name).with_timeout(CLIENT_TIMEOUT)
    }

    /// The bureau: issuer, portal, auditor.
    pub fn bureau(&self) -> Client {
        self.department("bureau")
    }

    /// The window: consumer, verifier.
    pub fn window(&self) -> Client {
        self.department("window")
    }

    /// The audit state file (the last checkpoint signed), beside the data directory.
    pub fn state_file(&self) -> PathBuf {
        self.dir.path().join("data.audit-state")
    }

    /// Whether the node process is running.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// The region's pinned verifier key.
    pub fn verifier(&self) -> NoteVerifier {
        let text =
            std::fs::read_to_string(cert_path(&self.region, "audit.vkey")).expect("audit.vkey");
        NoteVerifier::parse(text.trim_end()).expect("a verifier key")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A free loopback port (bound and released: another process could take it first, which the
/// node's start would then report).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The issuance request of fixtures/requests/<region>.json.
pub fn fixture_request(region: &str) -> Value {
    let path = root()
        .join("fixtures/requests")
        .join(format!("{region}.json"));
    serde_json::from_slice(&read(&path)).expect("JSON")
}
