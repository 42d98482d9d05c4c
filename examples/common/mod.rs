//! What the demo scenarios share: a department's client (the node tests' own,
//! `tests/node_support/client.rs`), a step printed with its receipt, and a stop at the first
//! surprise.

#[path = "../../tests/node_support/client.rs"]
mod client;

pub use client::demo_client;
use serde_json::Value;
use zhengzhao::node::client::{Client, Reply};

/// Prints a step, its HTTP status and its audit receipt (and error, if any); returns the body.
pub fn show(step: &str, reply: &Reply) -> Value {
    let v = reply.json().unwrap();
    let receipt = &v["receipt"];
    println!(
        "--- {step}\n    HTTP {} · audit entry {} (leaf {})",
        reply.status,
        receipt["index"],
        receipt["leaf_hash"].as_str().unwrap_or("-")
    );
    if let Some(e) = v.get("error") {
        println!("    error {}: {}", e["code"], e["message"]);
    }
    v
}

/// Stops the demo when `cond` does not hold.
pub fn expect(cond: bool, what: &str) {
    if !cond {
        eprintln!("demo: unexpected: {what}");
        std::process::exit(1);
    }
}

/// Sends one request, prints it as `title` (see [`show`]) and stops the demo unless the answer
/// has HTTP status `want`; returns the body.
pub async fn step(
    client: &mut Client,
    method: &str,
    path: &str,
    body: Option<&Value>,
    title: &str,
    want: u16,
    what: &str,
) -> Value {
    let reply = client.request(method, path, body).await.unwrap();
    let v = show(title, &reply);
    expect(reply.status == want, what);
    v
}

/// The person's licence both scenarios issue: 李四's 二级建造师注册证书, holder `code`.
pub fn person_licence(code: &str) -> Value {
    serde_json::json!({
        "type_code": "11100000000013338W011",
        "type_name": "二级建造师注册证书",
        "holder": {"type": "111", "code": code, "name": "李四"},
        "valid_until": "2030-06-30",
        "fields": {"专业": "建筑工程"}
    })
}
