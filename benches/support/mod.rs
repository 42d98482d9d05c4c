//! What the node benchmarks (`node`, `federation`) share: the demo PKI, clients, a real
//! `zhengzhao serve` process, the fixed-rate lookup loop and percentiles.

// Each benchmark compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use zhengzhao::node::client::Client;

/// The demo PKI.
pub fn certs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("certs")
}

/// A client of `url` with the certificate of department `<region>-<who>`.
pub fn client(url: &str, region: &str, who: &str) -> Client {
    let [ca, cert, key] = zhengzhao::pki::demo::department_tls(&certs(), region, who);
    Client::new(url, &ca, &cert, &key).unwrap()
}

/// A fresh directory for a run's data: under `ZZ_BENCH_DIR` when set (another disk), else
/// under the target directory.
pub fn bench_dir(prefix: &str) -> tempfile::TempDir {
    let base = std::env::var_os("ZZ_BENCH_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")), PathBuf::from);
    std::fs::create_dir_all(&base).unwrap();
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&base)
        .unwrap()
}

/// A running `zhengzhao serve`, stopped with SIGTERM when dropped.
pub struct NodeProcess {
    child: Child,
    /// `https://<the address it listens on>`.
    pub url: String,
}

impl NodeProcess {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Starts the demo node of `region` (`zhengzhao demo config`) with its data and config in
/// `dir`, listening on `listen`, with `partners` as `(region, url)`; returns once it listens.
pub fn start_node(
    dir: &Path,
    region: &str,
    listen: &str,
    partners: &[(&str, String)],
) -> NodeProcess {
    let exe = env!("CARGO_BIN_EXE_zhengzhao");
    let mut config = Command::new(exe);
    config
        .args(["demo", "config", "--region", region, "--certs"])
        .arg(certs())
        .arg("--data-dir")
        .arg(dir.join(format!("data-{region}")))
        .args(["--listen", listen]);
    for (partner, url) in partners {
        config.args(["--partner", &format!("{partner}={url}")]);
    }
    let out = config.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.join(format!("{region}.toml"));
    std::fs::write(&path, &out.stdout).unwrap();
    let mut child = Command::new(exe)
        .args(["serve", "--config"])
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the node did not start: {line:?}"))
        .to_owned();
    NodeProcess {
        child,
        url: format!("https://{addr}"),
    }
}

/// `POST /v1/lookups` of `body` as `<region>-window` at `rate` per second for 5 s from 16
/// kept-alive connections; each answer must be 200 and pass `check`. Returns the latencies in
/// milliseconds, sorted, each measured from the request's scheduled time (so a stall is not
/// hidden by sending less).
pub async fn lookup_latencies(
    url: &str,
    region: &str,
    body: Value,
    rate: f64,
    check: fn(&Value) -> bool,
) -> Vec<f64> {
    let conns = 16usize;
    let per = rate / conns as f64;
    let total = Duration::from_secs(5);
    let start = Instant::now() + Duration::from_millis(300);
    let mut tasks = Vec::new();
    for k in 0..conns {
        let mut c = client(url, region, "window");
        c.request("GET", "/healthz", None).await.unwrap();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            let interval = Duration::from_secs_f64(1.0 / per);
            let mut due = start + interval.mul_f64(k as f64 / conns as f64);
            while due < start + total {
                tokio::time::sleep_until(due.into()).await;
                let r = c.request("POST", "/v1/lookups", Some(&body)).await.unwrap();
                assert_eq!(r.status, 200, "{}", r.text());
                let v = r.json().unwrap();
                assert!(check(&v), "{v}");
                out.push(due.elapsed().as_secs_f64() * 1000.0);
                due += interval;
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by(|a, b| a.total_cmp(b));
    all
}

/// The `p` quantile (0 to 1) of sorted values; NaN when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Prints `<what> at <rate>/s …: n lookups, p50, p99, max` for sorted latencies.
pub fn print_latencies(what: &str, rate: f64, sorted: &[f64]) {
    println!(
        "{what} at {rate:.0}/s for 5 s (16 connections, from the scheduled time): {} lookups, \
         p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        sorted.len(),
        percentile(sorted, 0.50),
        percentile(sorted, 0.99),
        sorted.last().copied().unwrap_or(f64::NAN)
    );
}

/// A free TCP port on 127.0.0.1 (for nodes that must know each other's address up front).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
