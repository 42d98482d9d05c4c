#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Floods against a real node with lowered limits, over real sockets: silent TCP sockets (more
//! than the connection limit and the handshake limit, from several loopback addresses and from
//! the client's own, reopened as the node closes them), and idle kept-alive connections of one
//! certificate (more than its per-caller bound). Meanwhile another client opens a fresh
//! mutual-TLS connection for each request: its p99 stays under a second and the node's memory
//! stays bounded; the idle connections are closed after the idle deadline.

#[allow(dead_code)] // uses only part of the shared support
mod node_support;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt as _;

use node_support::*;

/// One flood at a time: each measures a client's latency, which another flood on the same
/// cores would distort.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Loopback address 127.0.0.`last`.
fn lo(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// A node with small limits: 16 connections (4 per caller, 2 reserved), 64 pending handshakes
/// (16 per address), a 2 s handshake deadline and a 1.5 s header (and idle) deadline.
fn small_node() -> Node {
    Node::start_with(REGION, |c| {
        let c = replace_once(
            &c,
            "max_connections = 1024",
            "max_connections = 16\nmax_connections_per_caller = 4\nreserved_connections = 2\n\
             max_handshakes = 64\nmax_handshakes_per_ip = 16",
        );
        let c = replace_once(&c, "handshake_ms = 10000", "handshake_ms = 2000");
        replace_once(&c, "header_ms = 10000", "header_ms = 1500")
    })
}

/// One request of a normal client: a fresh mutual-TLS connection from `from` as the window,
/// `GET /healthz`, the answer read to the close. Its duration, or what went wrong.
async fn one_request(node: &Node, from: IpAddr) -> Result<Duration, String> {
    let started = Instant::now();
    let config = raw_tls_config(REGION, "370900-window");
    let mut tls = tls_from(node, config, from)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| format!("write: {e}"))?;
    let got = read_to_close(&mut tls, Duration::from_secs(10))
        .await
        .ok_or("no close within 10 s")?;
    if got.is_empty() {
        return Err("closed: no answer".into());
    }
    if !got.starts_with(b"HTTP/1.1 200") {
        return Err(format!("answer: {:?}", String::from_utf8_lossy(&got)));
    }
    Ok(started.elapsed())
}

/// `n` requests of a normal client, alternating between `from`; their p50 and p99, after
/// asserting that each was answered, and how many connections were closed before their answer
/// (the client then connects again at once, within the request's time, as clients do; at most
/// 3 times).
async fn timed_requests(node: &Node, n: usize, from: &[IpAddr]) -> (Duration, Duration, usize) {
    let mut times = Vec::new();
    let mut again = 0;
    for i in 0..n {
        let started = Instant::now();
        let mut tries = 0;
        loop {
            match one_request(node, from[i % from.len()]).await {
                Ok(_) => break,
                Err(e)
                    if tries < 3
                        && ["connect", "write", "closed"]
                            .iter()
                            .any(|p| e.starts_with(p)) =>
                {
                    tries += 1;
                    again += 1;
                }
                Err(e) => panic!("request {i} from {}: {e}", from[i % from.len()]),
            }
        }
        times.push(started.elapsed());
    }
    times.sort();
    (times[n / 2], times[(n * 99).div_ceil(100) - 1], again)
}

/// Samples the node's RSS every 100 ms until `stop`; the peak, in KiB.
fn rss_sampler(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(rss_kib(pid));
            std::thread::sleep(Duration::from_millis(100));
        }
        peak
    })
}

/// The sum of a field over the node's summary lines (`field=N`).
fn summed(stderr: &str, field: &str) -> u64 {
    stderr
        .lines()
        .filter(|l| l.contains("connections refused or closed"))
        .filter_map(|l| {
            let at = l.find(&format!("{field}="))?;
            let rest = &l[at + field.len() + 1..];
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_silent_sockets_leaves_clients_served_and_memory_bounded() {
    let _serial = SERIAL.lock().await;
    let mut node = small_node();
    let pid = node.pid();
    // Warm up, then the figures without a flood.
    timed_requests(&node, 5, &[lo(1)]).await;
    let rss_before = rss_kib(pid);
    let (quiet_p50, quiet_p99, _) = timed_requests(&node, 20, &[lo(1)]).await;

    // 8 addresses × 20 sockets, and 30 from 127.0.0.1: 190 silent sockets, beyond the 64
    // pending handshakes, the 16 per address and the 16 connections.
    let stop = Arc::new(AtomicBool::new(false));
    let closed = Arc::new(AtomicU64::new(0));
    let addr = node_addr(&node);
    let sources: Vec<(IpAddr, usize)> = (2..=9).map(|i| (lo(i), 20)).chain([(lo(1), 30)]).collect();
    // The flood runs on a runtime of its own, as from another machine: the client's requests
    // do not wait behind the flood's tasks in this process.
    let flood = {
        let stop = stop.clone();
        let closed = closed.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut tasks = Vec::new();
                for (from, count) in sources {
                    for _ in 0..count {
                        let stop = stop.clone();
                        let closed = closed.clone();
                        tasks.push(tokio::spawn(async move {
                            while !stop.load(Ordering::Relaxed) {
                                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                                socket.bind(std::net::SocketAddr::new(from, 0)).unwrap();
                                let Ok(mut tcp) = socket.connect(addr).await else {
                                    tokio::time::sleep(Duration::from_millis(20)).await;
                                    continue;
                                };
                                // Silent until the node closes it (or the flood ends).
                                let _ = read_to_close(&mut tcp, Duration::from_secs(5)).await;
                                closed.fetch_add(1, Ordering::Relaxed);
                                drop(tcp);
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }));
                    }
                }
                for t in tasks {
                    t.await.unwrap();
                }
            })
        })
    };
    let sampling = Arc::new(AtomicBool::new(false));
    let sampler = rss_sampler(pid, sampling.clone());
    // Let the flood fill every bound.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let flood_started = Instant::now();
    // The client from a flooded address and from the flood's busiest one, its own.
    let (p50, p99, again) = timed_requests(&node, 100, &[lo(1), lo(2), lo(1), lo(3)]).await;
    let flood_time = flood_started.elapsed();
    sampling.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    flood.join().unwrap();
    let closes = closed.load(Ordering::Relaxed);
    let rss_after = rss_kib(pid);
    eprintln!(
        "silent flood: 190 sockets; node closed {closes} of them in {flood_time:?}; 100 fresh \
         connections p50 {p50:?} p99 {p99:?}, {again} reconnects (without the flood p50 {quiet_p50:?} p99 \
         {quiet_p99:?}); RSS {rss_before} KiB before, peak {peak} KiB, {rss_after} KiB after"
    );
    assert!(p99 < Duration::from_secs(1), "p99 {p99:?} under the flood");
    assert!(
        again <= 10,
        "{again} of 100 connections were closed before their answer"
    );
    assert!(
        peak < rss_before + 64 * 1024,
        "RSS grew from {rss_before} KiB to {peak} KiB under the flood"
    );
    assert!(closes >= 190, "the node closed only {closes} flood sockets");

    // The summary lines say what was shed, and are few.
    let status = node.stop();
    assert!(status.success(), "{status}");
    let stderr = node.stderr();
    let per_ip = summed(&stderr, "shed_per_ip");
    let shed = summed(&stderr, "shed");
    eprintln!("summary: shed_per_ip {per_ip}, shed {shed}");
    assert!(per_ip > 0, "no socket shed per address:\n{stderr}");
    assert!(shed > 0, "no socket shed from the full gate:\n{stderr}");
    let lines = stderr.lines().count();
    assert!(
        lines < 40,
        "{lines} log lines for {closes} closed sockets:\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_of_one_caller_hold_only_its_share_and_time_out() {
    let _serial = SERIAL.lock().await;
    let node = small_node();
    let pid = node.pid();
    timed_requests(&node, 5, &[lo(1)]).await;
    let rss_before = rss_kib(pid);

    // 12 kept-alive connections of the bureau (its bound is 4), each asking once and then
    // idling until the node closes it, reopened at once.
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(std::sync::Mutex::new(Vec::<Duration>::new()));
    let unserved = Arc::new(AtomicU64::new(0));
    let mut flood = Vec::new();
    for i in 0..12u8 {
        let stop = stop.clone();
        let served = served.clone();
        let unserved = unserved.clone();
        let addr = node_addr(&node);
        flood.push(tokio::spawn(async move {
            let config = raw_tls_config(REGION, "370900-bureau");
            while !stop.load(Ordering::Relaxed) {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket
                    .bind(std::net::SocketAddr::new(lo(10 + i % 3), 0))
                    .unwrap();
                let Ok(tcp) = socket.connect(addr).await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
                let Ok(mut tls) = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name, tcp)
                    .await
                else {
                    continue;
                };
                let _ = tls
                    .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    .await;
                // The answer (keep-alive: the connection stays open), then idle until closed.
                let mut first = [0u8; 512];
                let n = tokio::time::timeout(Duration::from_secs(10), async {
                    use tokio::io::AsyncReadExt as _;
                    tls.read(&mut first).await
                })
                .await;
                match n {
                    Ok(Ok(n)) if n > 0 && first.starts_with(b"HTTP/1.1 200") => {
                        let answered = Instant::now();
                        if read_to_close(&mut tls, Duration::from_secs(10))
                            .await
                            .is_some()
                        {
                            served.lock().unwrap().push(answered.elapsed());
                        }
                    }
                    _ => {
                        unserved.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let sampling = Arc::new(AtomicBool::new(false));
    let sampler = rss_sampler(pid, sampling.clone());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (p50, p99, again) = timed_requests(&node, 60, &[lo(1), lo(10)]).await;
    // Long enough for several rounds of idle timeouts.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    sampling.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    for f in flood {
        f.await.unwrap();
    }
    let idle = served.lock().unwrap().clone();
    let unserved = unserved.load(Ordering::Relaxed);
    let longest = idle.iter().max().copied().unwrap_or_default();
    let shortest = idle.iter().min().copied().unwrap_or_default();
    eprintln!(
        "idle flood: 12 connections of one caller; {} served and closed when idle (after \
         {shortest:?} to {longest:?}), {unserved} closed unserved; the other caller's 60 fresh \
         connections p50 {p50:?} p99 {p99:?}, {again} reconnects; RSS {rss_before} KiB before, \
         peak {peak} KiB",
        idle.len()
    );
    assert!(
        p99 < Duration::from_secs(1),
        "p99 {p99:?} under the idle flood"
    );
    assert!(
        peak < rss_before + 64 * 1024,
        "RSS grew from {rss_before} KiB to {peak} KiB"
    );
    // Idle connections are closed after header_ms (1.5 s): not before, and not much after.
    assert!(
        idle.len() >= 8,
        "only {} idle connections closed",
        idle.len()
    );
    assert!(
        shortest >= Duration::from_millis(1300),
        "closed after {shortest:?}"
    );
    assert!(longest < Duration::from_secs(5), "closed after {longest:?}");
    // More than the bound asked at once: the rest waited, and some were closed unserved.
    assert!(unserved > 0, "every connection of the caller was served");
}
