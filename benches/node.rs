#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark panics on setup failure by design
//! The node over mutual TLS with durable audit, next to the raw limit measured in the same run.
//! Run with `cargo bench --bench node`.
//!
//! A real `zhengzhao serve` process of demo region 370900 runs on a fresh data directory (under
//! the target directory, or `ZZ_BENCH_DIR`) and issues one licence. Then:
//!
//! 1. **raw P-256**: ring's ECDSA P-256 SHA-256 verification of that licence's own signature
//!    (its JWS signing input, under its signer certificate's key, nothing parsed), on every
//!    core at once (one thread per core) for 3 s: the floor of a verify.
//! 2. **verify**: 64 clients, each on its own kept-alive TLS 1.3 connection with the window's
//!    client certificate, loop `POST /v1/verify` for `ZZ_BENCH_SECS` (default 5) seconds. The
//!    load generator is kept lean, since it shares the node's two cores: one thread, one
//!    prepared request per connection, answers read by their `content-length`. Every answer is
//!    checked: the first of each connection in full (`valid`, the report `valid`), every one by
//!    its fixed start (`{"outcome":"valid","status":"active",`) and its receipt (an index and a
//!    32-byte leaf hash) at the end. Each request verified the licence's signature and chain,
//!    read its live status and wrote one synced audit entry before answering. Also printed:
//!    the CPU time per verify of the node process and of the load generator (from `/proc`),
//!    next to raw P-256's, and the share of the round the machine sat idle.
//! 3. **transport floor**: the same load generator, on 64 new connections, for `GET /healthz`,
//!    which neither verifies nor writes the audit log: what mutual TLS, HTTP/1.1 and loopback
//!    TCP cost per request on this machine, node and client side.
//! 4. **raw P-256 again**, after those rounds (the machine is shared; its rate moves).
//! 5. **lookup latency**: statutory lookups (one licence found, one usage copy signed) sent at
//!    a fixed rate (`ZZ_BENCH_LOOKUP_RATE`, default 200/s) for 5 s from 16 connections, each
//!    latency measured from the request's scheduled time (so a stall is not hidden by sending
//!    less), p50/p99/max printed.
//! 6. **lookup latency with `"format": "ofd"`**: the same lookups, each answered with an OFD
//!    加注件 (the stored 原件, the annotation, a second SM2 seal and a new zip) instead of a JWS
//!    usage copy, at the same rate, printed next to the JWS figures of the same run.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use serde_json::json;
use support::{certs, demo_client, fixture_request, lookup_latencies, print_latencies, start_node};

const REGION: &str = "370900";

/// The node's allocator for the load generator too: it shares the node's two cores.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What the node verifies in a licence: its JWS signing input, its signature, and the public
/// key of the signer certificate in its `x5c`.
#[derive(Clone)]
struct Signed {
    input: Vec<u8>,
    signature: Vec<u8>,
    public: Vec<u8>,
}

impl Signed {
    fn of(token: &str) -> Signed {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let (input, signature) = token.rsplit_once('.').unwrap();
        let (header, _) = input.split_once('.').unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        let der = STANDARD.decode(header["x5c"][0].as_str().unwrap()).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let signed = Signed {
            input: input.as_bytes().to_vec(),
            signature: URL_SAFE_NO_PAD.decode(signature).unwrap(),
            public: cert.public_key().subject_public_key.data.to_vec(),
        };
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &signed.public)
            .verify(&signed.input, &signed.signature)
            .expect("the benchmark's licence verifies under its signer's key");
        signed
    }
}

/// ECDSA P-256 verifications per second of the licence's own signature, on `threads` threads
/// at once, for `secs`: ring's `verify` alone, with nothing parsed.
fn raw_p256(signed: &Signed, threads: usize, secs: f64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (stop, count, signed) = (stop.clone(), count.clone(), signed.clone());
            std::thread::spawn(move || {
                let pk = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &signed.public);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    pk.verify(&signed.input, &signed.signature).unwrap();
                    n += 1;
                }
                count.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// One kept-alive HTTP/1.1 connection over mutual TLS that sends one prepared request again
/// and again: the load generator's side kept as small as it can be, since it runs on the same
/// two cores as the node (the README's client, `node::client`, builds each request afresh and
/// runs hyper's connection as a task of its own).
struct Sender {
    tls: tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    request: Arc<Vec<u8>>,
    buf: Vec<u8>,
}

impl Sender {
    async fn connect(addr: &str, request: Arc<Vec<u8>>) -> Sender {
        let [ca, cert, key] = zhengzhao::demo::department_tls(&certs(), REGION, "window");
        let config = zhengzhao::node::tls::client_config(&ca, &cert, &key).unwrap();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let (host, _) = addr.rsplit_once(':').unwrap();
        let name = zhengzhao::node::tls::server_name(host).unwrap();
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .unwrap();
        Sender {
            tls,
            request,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends the request, reads the whole answer; returns the status and the body.
    async fn send(&mut self) -> (u16, &[u8]) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        self.tls.write_all(&self.request).await.unwrap();
        self.buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        let (head_end, length) = loop {
            let n = self.tls.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the node closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..i]).unwrap();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().unwrap())
                    })
                    .expect("an answer with a content-length");
                break (i + 4, length);
            }
        };
        while self.buf.len() < head_end + length {
            let n = self.tls.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the node closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(self.buf.len(), head_end + length, "bytes after the answer");
        let status = std::str::from_utf8(&self.buf[9..12])
            .unwrap()
            .parse()
            .unwrap();
        (status, &self.buf[head_end..])
    }
}

/// Checks a verify answer without building it: `valid` and `active` first, a receipt with an
/// index and a 32-byte leaf hash last.
fn check_valid(body: &[u8]) {
    let text = std::str::from_utf8(body).unwrap();
    assert!(
        text.starts_with(r#"{"outcome":"valid","status":"active","#),
        "{text}"
    );
    let receipt = text
        .rsplit_once(r#","receipt":{"index":"#)
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("no receipt: {text}"));
    let (index, rest) = receipt.split_once(',').unwrap();
    index.parse::<u64>().unwrap();
    let hash = rest
        .strip_prefix(r#""leaf_hash":""#)
        .and_then(|r| r.strip_suffix(r#""}}"#))
        .unwrap_or_else(|| panic!("no leaf hash: {text}"));
    assert_eq!(hash.len(), 44, "{text}");
}

/// CPU seconds (user + system) a process has used so far, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15, so 11 and 12 after the state.
    (ticks(11) + ticks(12)) / clock_ticks()
}

/// The kernel's clock tick rate for `/proc` times (`getconf CLK_TCK`, 100 on Linux).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Idle and total CPU time of the whole machine so far, from `/proc/stat`, in ticks.
fn machine_ticks() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or("");
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    (idle, v.iter().sum())
}

/// What one round of requests measured.
struct Round {
    answered: u64,
    elapsed: f64,
    /// CPU seconds of the node process and of this process over the round.
    node_cpu: f64,
    client_cpu: f64,
    /// The share of the whole machine's CPU time that sat idle.
    idle: f64,
}

impl Round {
    fn rate(&self) -> f64 {
        self.answered as f64 / self.elapsed
    }

    /// Microseconds of `cpu` per answered request.
    fn per(&self, cpu: f64) -> f64 {
        1e6 * cpu / self.answered.max(1) as f64
    }
}

/// 64 clients, each on its own kept-alive connection, send `request` again and again for
/// `secs`; the first answer of each is checked by `first` (before the round starts), every one
/// by `each`.
async fn round(
    addr: &str,
    request: Vec<u8>,
    node_pid: &str,
    secs: f64,
    first: fn(&[u8]),
    each: fn(&[u8]),
) -> Round {
    let request = Arc::new(request);
    // Connect every client first, so the handshakes are not in the measured window.
    let mut clients = Vec::new();
    for _ in 0..64 {
        let mut c = Sender::connect(addr, request.clone()).await;
        let (status, body) = c.send().await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(body));
        first(body);
        clients.push(c);
    }
    let count = Arc::new(AtomicU64::new(0));
    let cpu_start = (cpu_seconds(node_pid), cpu_seconds("self"), machine_ticks());
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            let count = count.clone();
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let (status, body) = c.send().await;
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(body));
                    each(body);
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let ticks = machine_ticks();
    Round {
        answered: count.load(Ordering::Relaxed),
        elapsed,
        node_cpu: cpu_seconds(node_pid) - cpu_start.0,
        client_cpu: cpu_seconds("self") - cpu_start.1,
        idle: (ticks.0 - cpu_start.2.0) / (ticks.1 - cpu_start.2.1).max(1.0),
    }
}

/// The first answer of a verify round, in full.
fn first_valid(body: &[u8]) {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["outcome"], "valid");
    assert_eq!(v["report"]["outcome"], "valid");
    check_valid(body);
}

/// A health answer.
fn check_ok(body: &[u8]) {
    assert_eq!(body, br#"{"status":"ok"}"#);
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let secs: f64 = std::env::var("ZZ_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5.0);
    let rate: f64 = std::env::var("ZZ_BENCH_LOOKUP_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200.0);
    println!("machine: {cores} CPUs");

    let mut node = start_node("node-bench-", REGION, "127.0.0.1:0", &[]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = node.url.clone();
    let addr = url.strip_prefix("https://").unwrap().to_owned();
    let node_pid = node.pid().to_string();
    let token = runtime.block_on(async {
        let mut bureau = demo_client(&url, &certs(), REGION, "bureau");
        let request = fixture_request(REGION);
        let r = bureau
            .request("POST", "/v1/licences", Some(&request))
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{}", r.text());
        r.json().unwrap()["licence"].as_str().unwrap().to_owned()
    });
    let signed = Signed::of(&token);
    println!(
        "licence: {} bytes, signing input {} bytes",
        token.len(),
        signed.input.len()
    );

    let raw_before = raw_p256(&signed, cores, 3.0);
    println!("raw ECDSA P-256 verify of the licence, {cores} threads: {raw_before:.0} /s");

    let body = serde_json::to_vec(&json!({"licence": token, "purpose": "基准测试"})).unwrap();
    let mut request = format!(
        "POST /v1/verify HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let verify = runtime.block_on(round(
        &addr,
        request,
        &node_pid,
        secs,
        first_valid,
        check_valid,
    ));
    // The same load generator on the same kind of connections, for an answer that neither
    // verifies nor writes the audit log: what the transport alone costs.
    let request = format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\n\r\n").into_bytes();
    let floor = runtime.block_on(round(&addr, request, &node_pid, secs, check_ok, check_ok));

    let raw_after = raw_p256(&signed, cores, 3.0);
    println!("raw ECDSA P-256 verify of the licence, {cores} threads, after: {raw_after:.0} /s");
    let raw = (raw_before + raw_after) / 2.0;
    let rate_verify = verify.rate();
    println!(
        "POST /v1/verify over mutual TLS, 64 kept-alive clients, durable audit: {rate_verify:.0} /s \
         ({} in {:.1} s) = {:.1} % of raw P-256 (mean of before and after)",
        verify.answered,
        verify.elapsed,
        100.0 * rate_verify / raw
    );
    println!(
        "CPU per verify: node {:.1} us, load generator {:.1} us, raw P-256 {:.1} us \
         (core time); machine idle {:.1} % of the round",
        verify.per(verify.node_cpu),
        verify.per(verify.client_cpu),
        1e6 * cores as f64 / raw,
        100.0 * verify.idle
    );
    println!(
        "transport floor, GET /healthz (no verify, no audit) the same way: {:.0} /s; CPU per \
         request: node {:.1} us, load generator {:.1} us; machine idle {:.1} %",
        floor.rate(),
        floor.per(floor.node_cpu),
        floor.per(floor.client_cpu),
        100.0 * floor.idle
    );
    println!(
        "goal: >= 50 % of raw: {}",
        if rate_verify >= raw / 2.0 {
            "met"
        } else {
            "NOT met"
        }
    );

    // Lookup latency at a fixed rate.
    let body = json!({
        "holder": {"type": "001", "code": "91110000600037341L"},
        "matter": "DEMO-STATUTORY",
        "purpose": "基准测试",
        "case": "BENCH-0001",
        "mode": "duty",
    });
    let latencies = runtime.block_on(lookup_latencies(
        &node.url,
        REGION,
        body.clone(),
        rate,
        |v| v["results"][0]["usage_copy"].is_string(),
    ));
    print_latencies("POST /v1/lookups", rate, &latencies);
    let mut ofd = body.clone();
    ofd["format"] = json!("ofd");
    let latencies = runtime.block_on(lookup_latencies(&node.url, REGION, ofd, rate, |v| {
        v["results"][0]["usage_copy"]
            .as_str()
            .is_some_and(|c| c.starts_with("UEsDB"))
    }));
    print_latencies(
        "POST /v1/lookups with \"format\": \"ofd\"",
        rate,
        &latencies,
    );
    node.stop();
}
