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

#[allow(dead_code)] // uses only part of the shared support
mod support;

use serde_json::{Value, json};
use support::{
    certs, demo_client, fixture_request, free_port, lookup_latencies, percentile, print_latencies,
    start_node,
};

fn main() {
    let rate: f64 = std::env::var("ZZ_BENCH_LOOKUP_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100.0);
    let (ta_port, yc_port) = (free_port(), free_port());
    let ta = format!("https://127.0.0.1:{ta_port}");
    let yc = format!("https://127.0.0.1:{yc_port}");
    let mut taian = start_node(
        "federation-bench-",
        "370900",
        &format!("127.0.0.1:{ta_port}"),
        &[("140802".into(), yc.clone())],
    );
    let mut yuncheng = start_node(
        "federation-bench-",
        "140802",
        &format!("127.0.0.1:{yc_port}"),
        &[("370900".into(), ta.clone())],
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (local, cross) = runtime.block_on(async {
        let request = fixture_request("370900");
        for (url, region) in [(&ta, "370900"), (&yc, "140802")] {
            let r = demo_client(url, &certs(), region, "bureau")
                .request("POST", "/v1/licences", Some(&request))
                .await
                .unwrap();
            assert_eq!(r.status, 201, "{}", r.text());
        }
        let holder = json!({"type": request["holder"]["type"], "code": request["holder"]["code"]});
        let local = json!({"holder": holder, "matter": "DEMO-STATUTORY", "purpose": "基准测试",
            "case": "BENCH-0001", "mode": "duty"});
        let mut cross = local.clone();
        cross["regions"] = json!(["140802"]);
        // The answer holds a usage copy from the region asked.
        fn from(v: &Value, region: &str) -> bool {
            v["results"].as_array().is_some_and(|r| {
                r.iter()
                    .any(|x| x["region"] == region && x["usage_copy"].is_string())
            })
        }
        let l = lookup_latencies(&ta, "370900", local, rate, |v| from(v, "370900")).await;
        let c = lookup_latencies(&ta, "370900", cross, rate, |v| from(v, "140802")).await;
        (l, c)
    });
    print_latencies("local lookup (泰安)", rate, &local);
    print_latencies("cross-region lookup (泰安 -> 运城)", rate, &cross);
    println!(
        "cross-region / local: p50 {:.2}x, p99 {:.2}x",
        percentile(&cross, 0.5) / percentile(&local, 0.5),
        percentile(&cross, 0.99) / percentile(&local, 0.99)
    );
    taian.stop();
    yuncheng.stop();
}
