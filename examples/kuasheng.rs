#![allow(clippy::unwrap_used, clippy::expect_used)] // a demo stops at its first failure by design
//! The README demo's cross-province scenario (跨省通办) between two running nodes that are each
//! other's partners: 运城市盐湖区 (140802, Shanxi) issues a person's licence and records the
//! holder's consent for a window in 泰安市 (370900, Shandong); the 泰安 window looks it up across
//! regions, verifies the usage copy with live status from 运城, sees a revocation at 运城 take
//! effect, and reads 泰安's checkpoint cosigned by 运城 as witness.
//!
//! The lookup is made a second time with `"format": "ofd"`: 运城 answers with its OFD 加注件,
//! which 泰安 checks under 运城's SM2 root, writes as a file and verifies with live status.
//!
//! `cargo run --example kuasheng -- https://TAIAN https://YUNCHENG certs [OFD_DIR]`

use std::path::Path;
use std::time::Duration;

mod common;

use common::{desk, expect, ofd_dir, person_licence, save_ofd, step};
use serde_json::{Value, json};
use zhengzhao::audit::note::CosignatureVerifier;

const PERSON: &str = "11010519491231002X";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let taian = args.get(1).expect("泰安's URL");
    let yuncheng = args.get(2).expect("运城's URL");
    let certs = Path::new(args.get(3).expect("the demo PKI directory"));
    let mut yc_bureau = desk(yuncheng, certs, "140802", "bureau", "运城");
    let mut ta_window = desk(taian, certs, "370900", "window", "泰安");

    let person = person_licence(PERSON);
    let v = step(
        &mut yc_bureau,
        "POST",
        "/v1/licences",
        Some(&person),
        "运城市盐湖区 (140802-bureau) issues 李四's 二级建造师注册证书",
        201,
        "issuance at 运城",
    )
    .await;
    let id = v["id"].as_str().unwrap().to_owned();
    println!("    licence id {id}");

    let v = step(&mut yc_bureau, "POST", "/v1/consents", Some(&json!({ "holder": {"type": "111", "code": PERSON}, "grantee": "370900-window", "grantee_region": "370900", "type_codes": ["11100000000013338W011"], "uses": 3 })), "运城's portal records 李四's consent for 泰安's window (370900/370900-window), 3 uses", 201, "consent at 运城").await;
    let consent = v["consent_id"].as_str().unwrap().to_owned();

    let lookup = json!({
        "holder": {"type": "111", "code": PERSON},
        "matter": "DEMO-CONSENT",
        "purpose": "跨省通办：办理建筑业企业资质申请，核验注册建造师证书",
        "case": "370900-2026-KS0001",
        "mode": "consent",
        "consent": consent,
        "regions": "all",
    });
    let v = step(&mut ta_window, "POST", "/v1/lookups", Some(&lookup), "泰安's window looks 李四 up in every region (\"regions\": \"all\"); 泰安 forwards to 运城 over mutual TLS", 200, "the cross-region lookup").await;
    let results = v["results"].as_array().unwrap();
    expect(results.len() == 1, "one licence, from 运城");
    let copy = results[0]["usage_copy"].as_str().unwrap().to_owned();
    println!(
        "    result: region {} · {} · {} · usage copy (加注件) signed by 运城: {} bytes",
        results[0]["region"].as_str().unwrap(),
        results[0]["id"].as_str().unwrap(),
        results[0]["status"].as_str().unwrap(),
        copy.len()
    );
    println!(
        "    partial: {} (泰安 itself holds no consent for 李四)",
        v["partial"]
    );

    let verify = json!({"licence": copy, "purpose": "核验跨省加注件"});
    let v = step(&mut ta_window, "POST", "/v1/verify", Some(&verify), "泰安's window verifies the usage copy: 运城's anchor, recognition, live status asked of 运城", 200, "an answer").await;
    println!(
        "    outcome {} · status {} · for {}",
        v["outcome"], v["status"], v["usage_copy"]["for"]
    );
    expect(v["outcome"] == "valid", "the usage copy verifies");

    let mut ofd_lookup = lookup.clone();
    ofd_lookup["format"] = json!("ofd");
    ofd_lookup["regions"] = json!(["140802"]);
    let v = step(&mut ta_window, "POST", "/v1/lookups", Some(&ofd_lookup), "泰安's window asks 运城 again with \"format\": \"ofd\": 运城's OFD 加注件, checked by 泰安 under 运城's SM2 root before it is passed on", 200, "the cross-region OFD lookup").await;
    let ofd_copy = v["results"][0]["usage_copy"].as_str().unwrap().to_owned();
    save_ofd(
        &ofd_dir(args.get(4)),
        "140802-usage-copy.ofd",
        ofd_copy.as_bytes(),
        "运城's 加注件",
    );
    let ofd_verify = json!({"ofd": ofd_copy, "purpose": "核验跨省加注件"});
    let v = step(&mut ta_window, "POST", "/v1/verify", Some(&ofd_verify), "泰安's window verifies 运城's OFD 加注件: 运城's seals, the annotation, live status asked of 运城", 200, "an answer").await;
    println!(
        "    outcome {} · status {} · made by {} for {}/{}",
        v["outcome"],
        v["status"],
        v["usage_copy"]["made_by_region"],
        v["usage_copy"]["department_region"],
        v["usage_copy"]["department"]
    );
    expect(
        v["outcome"] == "valid",
        "运城's OFD usage copy verifies in 泰安",
    );

    step(
        &mut yc_bureau,
        "POST",
        &format!("/v1/licences/{id}/status"),
        Some(&json!({"status": "revoked", "reason": "注册证书注销"})),
        "运城 revokes the licence",
        200,
        "revocation at 运城",
    )
    .await;

    let v = step(
        &mut ta_window,
        "POST",
        "/v1/verify",
        Some(&verify),
        "泰安 verifies the same usage copy again",
        200,
        "an answer",
    )
    .await;
    println!("    outcome {} · status {}", v["outcome"], v["status"]);
    expect(
        v["outcome"] == "revoked",
        "revoked at 运城 is revoked in 泰安",
    );
    let v = step(
        &mut ta_window,
        "POST",
        "/v1/verify",
        Some(&ofd_verify),
        "and the same OFD 加注件",
        200,
        "an answer",
    )
    .await;
    println!("    outcome {} · status {}", v["outcome"], v["status"]);
    expect(
        v["outcome"] == "revoked",
        "the OFD copy of a licence revoked at 运城 is revoked in 泰安",
    );

    // 运城's own record of the forwarded lookup: the forwarding node, on behalf of the window.
    let r = yc_bureau
        .request("GET", "/v1/audit/entries", None)
        .await
        .unwrap();
    let text = r.text();
    if let Some(line) = text
        .lines()
        .find(|l| l.contains("\"on_behalf_of\"") && l.contains("licence.lookup"))
    {
        let e: Value = serde_json::from_str(line).unwrap();
        println!(
            "--- 运城's audit log holds the access: actor {} ({}), on behalf of {}, matter {}, holder {}…",
            e["actor"]["id"],
            e["actor"]["region"],
            e["detail"]["on_behalf_of"],
            e["matter"],
            &e["holder"].as_str().unwrap_or("")[..12]
        );
    } else {
        expect(false, "运城 logged the forwarded lookup");
    }

    // 运城 witnesses 泰安's log: 泰安's checkpoint comes with 运城's cosignature.
    let vkey = std::fs::read_to_string(certs.join("140802/witness.vkey")).unwrap();
    let witness = CosignatureVerifier::parse(vkey.trim()).unwrap();
    for _ in 0..50 {
        let r = ta_window
            .request("GET", "/v1/audit/checkpoint", None)
            .await
            .unwrap();
        let note = r.text();
        if witness.verify(&note).is_ok() {
            println!(
                "--- 泰安's checkpoint, cosigned by 运城 as witness (GET /v1/audit/checkpoint)"
            );
            for line in note.lines() {
                println!("    {line}");
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    expect(false, "泰安's checkpoint cosigned by 运城 within 10 s");
}
