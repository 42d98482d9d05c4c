//! What the node benchmarks (`node`, `federation`) share: a real `zhengzhao serve` process and
//! clients of its demo departments (the node tests' own, `tests/node_support/node.rs`), the
//! fixed-rate lookup loop and percentiles.

#[path = "../../tests/node_support/node.rs"]
mod node;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use node::*;
use serde_json::Value;

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

/// Starts the demo node of `region` (`zhengzhao demo config`) with its data and config in a
/// fresh [`bench_dir`] named after `prefix`, listening on `listen`, with `partners` as
/// `(region, url)`, logging warnings only; returns once it listens.
pub fn start_node(prefix: &str, region: &str, listen: &str, partners: &[(String, String)]) -> Node {
    Node::start_in(
        bench_dir(prefix),
        region,
        listen,
        partners,
        |c| c,
        Logs::Warnings,
    )
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
        let mut c = demo_client(url, &certs(), region, "window");
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
