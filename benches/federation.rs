#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark panics on setup failure by design
//! Cross-region lookup latency next to a local lookup's, in one run. Run with
//! `cargo bench --bench federation`.
//!
//! Two real `zhengzhao serve` processes on loopback, 泰安 (370900) and 运城市盐湖区 (140802),
//! each the other's partner (`zhengzhao demo config --partner`). Each issues one licence to
//! the same organisation. Then 泰安's window sends statutory lookups at a fixed rate
//! (`ZZ_BENCH_LOOKUP_RATE`, default 100/s) for 5 s from 16 kept-alive connections: first
//! local ones (no `regions`: one licence found, one usage copy signed, one synced audit entry),
//! then cross-region ones (`"regions": ["140802"]`: forwarded to 运城 over node-to-node mutual
//! TLS, where the lookup runs and is audited, then every returned licence and usage copy is
//! verified at 泰安 before its own audit entry). Latency is measured from each request's
//! scheduled time, p50/p99/max printed for both, and their ratio.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zhengzhao::node::client::Client;

fn certs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("certs")
}

fn client(url: &str, region: &str, who: &str) -> Client {
    let dir = certs().join(region);
    Client::new(
        url,
        &dir.join("tls-ca.pem"),
        &dir.join(format!("{region}-{who}.pem")),
        &dir.join(format!("{region}-{who}.key")),
    )
    .unwrap()
}

struct NodeProcess {
    child: Child,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(dir: &Path, region: &str, port: u16, partner: &str, partner_port: u16) -> NodeProcess {
    let exe = env!("CARGO_BIN_EXE_zhengzhao");
    let out = Command::new(exe)
        .args(["demo", "config", "--region", region, "--certs"])
        .arg(certs())
        .arg("--data-dir")
        .arg(dir.join(format!("data-{region}")))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--partner",
            &format!("{partner}=https://127.0.0.1:{partner_port}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = dir.join(format!("{region}.toml"));
    std::fs::write(&config, &out.stdout).unwrap();
    let mut child = Command::new(exe)
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    assert!(line.starts_with("listening on "), "{line:?}");
    NodeProcess { child }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Lookups of `body` at `rate` per second for 5 s from 16 connections; sorted latencies (ms).
async fn run(url: &str, body: Value, rate: f64, want_region: &'static str) -> Vec<f64> {
    let conns = 16usize;
    let per = rate / conns as f64;
    let total = Duration::from_secs(5);
    let start = Instant::now() + Duration::from_millis(300);
    let mut tasks = Vec::new();
    for k in 0..conns {
        let mut c = client(url, "370900", "window");
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
                let found = v["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["region"] == want_region && x["usage_copy"].is_string());
                assert!(found, "{v}");
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

fn main() {
    let rate: f64 = std::env::var("ZZ_BENCH_LOOKUP_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100.0);
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(base).unwrap();
    let tmp = tempfile::Builder::new()
        .prefix("federation-bench-")
        .tempdir_in(base)
        .unwrap();
    let (ta_port, yc_port) = (free_port(), free_port());
    let _taian = start(tmp.path(), "370900", ta_port, "140802", yc_port);
    let _yuncheng = start(tmp.path(), "140802", yc_port, "370900", ta_port);
    let ta = format!("https://127.0.0.1:{ta_port}");
    let yc = format!("https://127.0.0.1:{yc_port}");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (local, cross) = runtime.block_on(async {
        let request: Value = serde_json::from_slice(
            &std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/requests/370900.json"),
            )
            .unwrap(),
        )
        .unwrap();
        for (url, region) in [(&ta, "370900"), (&yc, "140802")] {
            let r = client(url, region, "bureau")
                .request("POST", "/v1/licences", Some(&request))
                .await
                .unwrap();
            assert_eq!(r.status, 201, "{}", r.text());
        }
        let holder = json!({"type": request["holder"]["type"], "code": request["holder"]["code"]});
        let local = json!({"holder": holder, "matter": "DEMO-STATUTORY", "purpose": "基准测试"});
        let mut cross = local.clone();
        cross["regions"] = json!(["140802"]);
        let l = run(&ta, local, rate, "370900").await;
        let c = run(&ta, cross, rate, "140802").await;
        (l, c)
    });
    let show = |what: &str, l: &[f64]| {
        println!(
            "{what} at {rate:.0}/s for 5 s (16 connections, from the scheduled time): {} lookups, \
             p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            l.len(),
            percentile(l, 0.50),
            percentile(l, 0.99),
            l.last().copied().unwrap_or(f64::NAN)
        );
    };
    show("local lookup (泰安)", &local);
    show("cross-region lookup (泰安 -> 运城)", &cross);
    println!(
        "cross-region / local: p50 {:.2}x, p99 {:.2}x",
        percentile(&cross, 0.5) / percentile(&local, 0.5),
        percentile(&cross, 0.99) / percentile(&local, 0.99)
    );
}
