//! What the demo scenarios share: a department's client, a step printed with its receipt, and
//! a stop at the first surprise.

use std::path::Path;

use serde_json::Value;
use zhengzhao::node::client::{Client, Reply};

/// A client of the node at `url` as department `<region>-<who>` of the demo PKI under `certs`.
pub fn client(url: &str, certs: &Path, region: &str, who: &str) -> Client {
    let dir = certs.join(region);
    Client::new(
        url,
        &dir.join("tls-ca.pem"),
        &dir.join(format!("{region}-{who}.pem")),
        &dir.join(format!("{region}-{who}.key")),
    )
    .unwrap()
}

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
