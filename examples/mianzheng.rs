#![allow(clippy::unwrap_used, clippy::expect_used)] // a demo stops at its first failure by design
//! The README demo's 免证办 scenario, played against a running node of demo region 370900:
//! issue a business licence, issue a person's licence, record the person's consent, a window's
//! lookups with their usage copies, a verify, a revocation, the lookup and verify again.
//!
//! The licences are issued as JWS and as OFD 原件; the company's 原件 and an OFD usage copy
//! (加注件) of it are written as files any OFD reader opens.
//!
//! `cargo run --example mianzheng -- https://127.0.0.1:8443 certs [RECEIPT_FILE [OFD_DIR]]`:
//! the node's URL, the demo PKI directory, where to write the index of the consented lookup's
//! audit entry (for an inclusion proof afterwards), and where to write the OFD files
//! (`demo-data/ofd` by default).

use std::path::Path;

mod common;

use common::{beijing, desk, expect, ofd_dir, person_licence, save_ofd, step};
use serde_json::{Value, json};

const REGION: &str = "370900";
const PERSON: &str = "11010519491231002X";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).expect("the node's URL");
    let certs = Path::new(args.get(2).expect("the demo PKI directory"));
    let mut bureau = desk(url, certs, REGION, "bureau", "泰安");
    let mut window = desk(url, certs, REGION, "window", "泰安");

    let business: Value =
        serde_json::from_slice(&std::fs::read("fixtures/requests/370900.json").unwrap()).unwrap();
    let v = step(&mut bureau, "POST", "/v1/licences", Some(&business), "泰安市行政审批服务局 (370900-bureau) issues a business licence (安全生产许可证) to 泰安示例建设有限公司", 201, "issuance").await;
    let business_id = v["id"].as_str().unwrap().to_owned();
    println!("    licence id {business_id}");
    let ofd_dir = ofd_dir(args.get(4));
    let reply = bureau
        .request("GET", &format!("/v1/licences/{business_id}/ofd"), None)
        .await
        .unwrap();
    expect(
        reply.status == 200,
        "the OFD 原件 (GET /v1/licences/{id}/ofd)",
    );
    println!(
        "--- 370900-bureau reads the same licence as an OFD 原件 (GB/T 36905, sealed with 泰安市行政审批服务局电子印章, GB/T 38540 SM2), GET /v1/licences/{{id}}/ofd"
    );
    save_ofd(
        &ofd_dir,
        "370900-licence.ofd",
        &reply.body,
        "the 原件, same id as the JWS",
    );

    let person = person_licence(PERSON);
    let v = step(
        &mut bureau,
        "POST",
        "/v1/licences",
        Some(&person),
        "370900-bureau issues a person's licence (二级建造师注册证书) to 李四",
        201,
        "issuance",
    )
    .await;
    println!("    licence id {}", v["id"].as_str().unwrap());

    let lookup_person = |consent: Option<&str>| {
        let mut body = json!({
            "holder": {"type": "111", "code": PERSON},
            "matter": "DEMO-CONSENT",
            "purpose": "办理建筑业企业资质申请，核验注册建造师证书",
            "case": "370900-2026-ZZ0001",
            "mode": "consent",
        });
        if let Some(c) = consent {
            body["consent"] = json!(c);
        }
        body
    };
    step(
        &mut window,
        "POST",
        "/v1/lookups",
        Some(&lookup_person(None)),
        "窗口 (370900-window: the service window where citizens apply) looks up 李四's licences for DEMO-CONSENT without consent",
        403,
        "a lookup without consent is refused",
    )
    .await;

    let consent = json!({
        "holder": {"type": "111", "code": PERSON},
        "grantee": "370900-window",
        "type_codes": ["11100000000013338W011"],
        "uses": 2
    });
    let v = step(
        &mut bureau,
        "POST",
        "/v1/consents",
        Some(&consent),
        "李四 grants consent through the portal (370900-bureau): the window, type W011, 2 uses",
        201,
        "consent",
    )
    .await;
    let consent_id = v["consent_id"].as_str().unwrap().to_owned();
    println!("    consent id {consent_id}");

    let v = step(
        &mut window,
        "POST",
        "/v1/lookups",
        Some(&lookup_person(Some(&consent_id))),
        "窗口 looks up 李四's licences with the consent",
        200,
        "the consented lookup",
    )
    .await;
    let results = v["results"].as_array().unwrap();
    expect(results.len() == 1, "one licence found");
    println!(
        "    found {} ({}), usage copy of {} bytes",
        results[0]["id"].as_str().unwrap(),
        results[0]["status"],
        results[0]["usage_copy"].as_str().unwrap().len()
    );
    if let Some(path) = args.get(3) {
        std::fs::write(path, v["receipt"]["index"].to_string()).unwrap();
    }
    let copy = results[0]["usage_copy"].as_str().unwrap().to_owned();

    let v = step(
        &mut window,
        "POST",
        "/v1/verify",
        Some(&json!({"licence": copy, "purpose": "核验加注件"})),
        "窗口 verifies the usage copy (加注件: the licence annotated and signed by the node for this department, matter and purpose)",
        200,
        "an answer",
    )
    .await;
    println!(
        "    outcome {}, live status {}, made for {} / {} until {}",
        v["outcome"],
        v["status"],
        v["usage_copy"]["for"],
        v["usage_copy"]["matter"],
        beijing(&v["usage_copy"]["valid_until"])
    );
    expect(v["outcome"] == "valid", "the usage copy verifies");

    let lookup_business = json!({
        "holder": {"type": "001", "code": "91110000600037341L"},
        "matter": "DEMO-STATUTORY",
        "purpose": "工程招投标资格审查",
        "case": "370900-2026-ZB0001",
        "mode": "duty",
    });
    let v = step(
        &mut window,
        "POST",
        "/v1/lookups",
        Some(&lookup_business),
        "窗口 looks up the company's licences for a statutory matter (no consent needed)",
        200,
        "the statutory lookup",
    )
    .await;
    let found = &v["results"][0];
    println!(
        "    found {} ({}), usage copy: {}",
        found["id"].as_str().unwrap(),
        found["status"],
        if found["usage_copy"].is_string() {
            "yes"
        } else {
            "no"
        }
    );
    let business_token = found["licence"].as_str().unwrap().to_owned();

    let mut ofd_lookup = lookup_business.clone();
    ofd_lookup["format"] = json!("ofd");
    let v = step(
        &mut window,
        "POST",
        "/v1/lookups",
        Some(&ofd_lookup),
        "窗口 asks the same with \"format\": \"ofd\": the usage copy as an OFD 加注件 (the 原件, an annotation naming the window, matter and purpose, and the node's seal over both)",
        200,
        "the OFD lookup",
    )
    .await;
    let ofd_copy = v["results"][0]["usage_copy"].as_str().unwrap().to_owned();
    save_ofd(
        &ofd_dir,
        "370900-usage-copy.ofd",
        ofd_copy.as_bytes(),
        "the 加注件",
    );
    let v = step(
        &mut window,
        "POST",
        "/v1/verify",
        Some(&json!({"ofd": ofd_copy, "purpose": "核验加注件"})),
        "窗口 verifies the OFD 加注件: both seals, the annotation, the live status",
        200,
        "an answer",
    )
    .await;
    println!(
        "    outcome {}, live status {}, {} seals valid, made for {} ({}) / {} until {}",
        v["outcome"],
        v["status"],
        v["report"]["signatures"]
            .as_array()
            .map_or(0, |s| s.iter().filter(|s| s["outcome"] == "valid").count()),
        v["usage_copy"]["department"],
        v["usage_copy"]["for_caller"],
        v["usage_copy"]["matter"],
        beijing(&v["usage_copy"]["valid_until"])
    );
    expect(v["outcome"] == "valid", "the OFD usage copy verifies");

    let v = step(
        &mut bureau,
        "POST",
        &format!("/v1/licences/{business_id}/status"),
        Some(&json!({"status": "revoked", "reason": "依法吊销"})),
        "370900-bureau revokes the business licence",
        200,
        "an answer",
    )
    .await;
    println!(
        "    status {}, history of {}",
        v["status"],
        v["history"].as_array().map_or(0, Vec::len)
    );

    let v = step(
        &mut window,
        "POST",
        "/v1/verify",
        Some(&json!({"licence": business_token, "purpose": "复核"})),
        "窗口 verifies the business licence again",
        200,
        "an answer",
    )
    .await;
    println!("    outcome {}, live status {}", v["outcome"], v["status"]);
    expect(
        v["outcome"] == "revoked",
        "the revoked licence verifies as revoked",
    );

    let v = step(
        &mut window,
        "POST",
        "/v1/lookups",
        Some(&lookup_business),
        "窗口 looks the company up again",
        200,
        "an answer",
    )
    .await;
    let found = &v["results"][0];
    println!(
        "    found {} ({}), usage copy: {}",
        found["id"].as_str().unwrap(),
        found["status"],
        if found["usage_copy"].is_string() {
            "yes"
        } else {
            "none for a revoked licence"
        }
    );
    expect(
        found["usage_copy"].is_null(),
        "no usage copy for a revoked licence",
    );

    // The node signs a checkpoint at most once a second when its log has grown.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let r = window
        .request("GET", "/v1/audit/checkpoint", None)
        .await
        .unwrap();
    println!("--- the node's signed checkpoint (GET /v1/audit/checkpoint), a second later");
    for line in r.text().lines() {
        println!("    {line}");
    }
}
