//! What the demo scenarios share: a department's client (the node tests' own,
//! `tests/node_support/client.rs`) named with the node whose log records its requests, a step
//! printed with its receipt, and a stop at the first surprise.

#[path = "../../tests/node_support/client.rs"]
mod client;

use std::path::Path;

use serde_json::Value;
use zhengzhao::node::client::{Client, Reply};

/// A department's client of one node, and the name of that node's region, whose audit log
/// records what the department asks.
pub struct Desk {
    client: Client,
    log: &'static str,
}

/// The demo department `who` of `region` (its certificate under `certs`) calling the node at
/// `url`, whose log is `log`'s.
pub fn desk(url: &str, certs: &Path, region: &str, who: &str, log: &'static str) -> Desk {
    Desk {
        client: client::demo_client(url, certs, region, who),
        log,
    }
}

impl std::ops::Deref for Desk {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for Desk {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// Prints a step, its HTTP status and its audit receipt in `log`'s log (and the error, if
/// any); returns the body.
pub fn show(step: &str, log: &str, reply: &Reply) -> Value {
    let v = reply.json().unwrap();
    let receipt = &v["receipt"];
    println!(
        "--- {step}\n    HTTP {} · {log}'s audit log, entry {} (leaf {})",
        reply.status,
        receipt["index"],
        receipt["leaf_hash"].as_str().unwrap_or("-")
    );
    if let Some(e) = v.get("error") {
        println!("    error {}: {}", e["code"], e["message"]);
    }
    v
}

/// An RFC 3339 time from an answer, as people in the demo regions read it: in Beijing time,
/// with its offset (`2026-12-02T08:41:04+08:00`). Anything else is shown as it came.
#[allow(dead_code)] // the cross-province scenario prints no time
pub fn beijing(v: &Value) -> String {
    use time::format_description::well_known::Rfc3339;
    let Some(s) = v.as_str() else {
        return v.to_string();
    };
    time::OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .and_then(|t| t.to_offset(time::macros::offset!(+8)).format(&Rfc3339).ok())
        .unwrap_or_else(|| s.to_owned())
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
    desk: &mut Desk,
    method: &str,
    path: &str,
    body: Option<&Value>,
    title: &str,
    want: u16,
    what: &str,
) -> Value {
    let reply = desk.client.request(method, path, body).await.unwrap();
    let v = show(title, desk.log, &reply);
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

/// Writes an OFD file the demo made into `dir` as `name` and says where it is (a reader opens
/// it with any OFD reader). `bytes` is the file, or its standard base64 as the API carries it.
pub fn save_ofd(dir: &Path, name: &str, bytes: &[u8], what: &str) -> std::path::PathBuf {
    use base64::Engine as _;
    let file = match base64::engine::general_purpose::STANDARD.decode(bytes) {
        Ok(decoded) if !bytes.starts_with(b"PK") => decoded,
        _ => bytes.to_vec(),
    };
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, &file).unwrap();
    println!("    {what}: {} ({} bytes)", path.display(), file.len());
    path
}

/// The OFD directory a scenario writes into: its argument `arg`, or `demo-data/ofd`.
pub fn ofd_dir(arg: Option<&String>) -> std::path::PathBuf {
    arg.map_or_else(|| "demo-data/ofd".into(), std::path::PathBuf::from)
}
