#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! `POST /v1/verify` with an OFD document (`{"ofd": "<base64>", "purpose"}`), against a real
//! `zhengzhao serve` process over mutual TLS: ofdrw's sealed files give the outcome and the
//! checks `zhengzhao ofd verify` gives (the demo node does not trust ofdrw's root); an unsigned
//! file is `unsigned`, bytes that are no OFD `malformed`; every refusal by its code; the larger
//! body limit of this one route; and exactly one audit entry per request, naming the file by
//! its SM3 digest (as OpenSSL computes it), never holding the file, with the document's licence
//! id as the entry's licence under the usual redaction.

#[allow(dead_code)] // uses only part of the shared support
mod node_support;

use std::io::{Cursor, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr as _;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use zhengzhao::codes::LicenceId;
use zhengzhao::node::client::Client;
use zhengzhao::node::config::{MAX_REQUEST_BYTES, MAX_VERIFY_REQUEST_BYTES};

use node_support::*;

const PURPOSE: &str = "核验电子证照原件";

fn ofdrw_path(name: &str) -> PathBuf {
    root().join("fixtures/ofd/ofdrw").join(name)
}

fn ofdrw(name: &str) -> Vec<u8> {
    std::fs::read(ofdrw_path(name)).unwrap()
}

/// SM3 of `bytes`, lower-case hex, as OpenSSL computes it.
fn openssl_sm3(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sm3", "-r"])
        .arg(&path)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let hex = text.split_whitespace().next().unwrap().to_owned();
    assert_eq!(hex.len(), 64, "{text}");
    hex
}

fn ofd_body(file: &[u8]) -> Value {
    json!({"ofd": B64.encode(file), "purpose": PURPOSE})
}

/// The node's answer to `file`: 200 with `outcome`, one `licence.verify` entry with that
/// outcome whose receipt the answer carries, the purpose, the file's SM3 and size in the
/// detail, and nothing of the file itself.
async fn verify_file(
    tail: &mut AuditTail,
    client: &mut Client,
    file: &[u8],
    outcome: &str,
) -> (Value, Logged) {
    verify_file_of(tail, client, file, outcome, (outcome, "not_checked")).await
}

/// [`verify_file`] of a document whose seals give `report_outcome` and the node the outcome and
/// live status `(outcome, status)`.
async fn verify_file_of(
    tail: &mut AuditTail,
    client: &mut Client,
    file: &[u8],
    report_outcome: &str,
    (outcome, status): (&str, &str),
) -> (Value, Logged) {
    let (v, e) = tail
        .post(
            client,
            "/v1/verify",
            &ofd_body(file),
            (200, "licence.verify", outcome),
        )
        .await;
    assert_eq!(v["outcome"], outcome, "{v}");
    assert_eq!(v["status"], status, "{v}");
    assert_eq!(v["report"]["outcome"], report_outcome, "{v}");
    assert!(v["receipt"].is_object(), "{v}");
    assert_logged_file(&e, file);
    (v, e)
}

/// The entry names `file` by its SM3 and size, and holds no part of its base64.
fn assert_logged_file(e: &Logged, file: &[u8]) {
    assert_eq!(e.entry["purpose"], PURPOSE, "{}", e.text());
    assert_eq!(
        e.detail("ofd_sm3"),
        openssl_sm3(file).as_str(),
        "{}",
        e.text()
    );
    assert_eq!(e.detail("ofd_bytes"), file.len(), "{}", e.text());
    let b64 = B64.encode(file);
    let text = e.text();
    for at in [0, b64.len() / 2, b64.len().saturating_sub(24)] {
        let piece = &b64[at..(at + 24).min(b64.len())];
        assert!(
            piece.len() < 8 || !text.contains(piece),
            "the entry holds the file's base64 {piece:?}: {text}"
        );
    }
    assert!(
        text.len() < 2048,
        "an entry of {} bytes: {text}",
        text.len()
    );
}

/// The report without its `verified_at`, which differs between two runs.
fn timeless(report: &Value) -> Value {
    let mut r = report.clone();
    r.as_object_mut().unwrap().remove("verified_at");
    r
}

/// What `zhengzhao ofd verify --json FILE` prints, without `verified_at`.
fn cli_report(name: &str) -> Value {
    let out = zz(&["ofd", "verify", "--json", p(&ofdrw_path(name))]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    timeless(&serde_json::from_slice(&out.stdout).unwrap())
}

/// The example answer of docs/api.md (the fenced block `json ofd-verify-answer`).
fn docs_example() -> Value {
    let doc = std::fs::read_to_string(root().join("docs/api.md")).unwrap();
    let tag = "```json ofd-verify-answer\n";
    let start = doc.find(tag).expect("docs/api.md has the example") + tag.len();
    let body = &doc[start..];
    serde_json::from_str(&body[..body.find("```").unwrap()]).unwrap()
}

/// ofdrw's unsigned page with `custom` as its `DocInfo/CustomDatas` (name, value).
fn helloworld_with(custom: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(Cursor::new(ofdrw("helloworld.ofd"))).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        if entry.is_dir() {
            out.add_directory(name, options).unwrap();
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if name == "OFD.xml" {
            let datas: String = custom
                .iter()
                .map(|(n, v)| format!("<ofd:CustomData Name=\"{n}\">{v}</ofd:CustomData>"))
                .collect();
            let text = String::from_utf8(bytes).unwrap();
            let text = replace_once(
                &text,
                "</ofd:DocInfo>",
                &format!("<ofd:CustomDatas>{datas}</ofd:CustomDatas></ofd:DocInfo>"),
            );
            bytes = text.into_bytes();
        }
        out.start_file(name, options).unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// ofdrw's sealed documents give the CLI's report, checks and all: the node trusts its own
/// region's roots, not ofdrw's, as the CLI without `--trust` trusts nothing.
#[tokio::test]
async fn ofdrw_documents_give_the_report_the_cli_gives() {
    let node = Node::start(REGION);
    let mut tail = AuditTail::new(&node).await;
    let mut window = node.window();

    let file = ofdrw("allprotected.ofd");
    let (v, e) = verify_file(&mut tail, &mut window, &file, "untrusted_issuer").await;
    assert_actor(&e, REGION, "370900-window");
    assert!(e.entry["licence"].is_null(), "no licence id: {}", e.text());
    let report = &v["report"];
    let sigs = report["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 1, "{report}");
    assert_eq!(sigs[0]["id"], "001");
    assert_eq!(sigs[0]["format"], "gbt38540");
    assert_eq!(sigs[0]["outcome"], "untrusted_issuer");
    let checks: Vec<(&str, bool)> = sigs[0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["check"].as_str().unwrap(), c["ok"].as_bool().unwrap()))
        .collect();
    for ok in [
        "references",
        "data_hash",
        "signature",
        "seal_signature",
        "seal_validity",
        "signer_in_seal",
        "signer_validity",
    ] {
        assert!(checks.contains(&(ok, true)), "{ok} must hold: {checks:?}");
    }
    for failed in ["signer_chain", "seal_maker_chain"] {
        assert!(
            checks.contains(&(failed, false)),
            "{failed} must fail: {checks:?}"
        );
    }
    assert_eq!(timeless(report), cli_report("allprotected.ofd"));
    // docs/api.md shows this very answer.
    let example = docs_example();
    assert_eq!(example["outcome"], v["outcome"]);
    assert_eq!(example["status"], v["status"]);
    assert_eq!(timeless(&example["report"]), timeless(report));
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&example), keys(&v));
    assert_eq!(keys(&example["report"]), keys(report));
    assert_eq!(keys(&example["receipt"]), keys(&v["receipt"]));
    assert!(example["receipt"]["index"].is_u64());
    // openapi.json describes it: every member it has is a property, every required one there.
    let openapi: Value = serde_json::from_str(&zhengzhao::node::api::openapi_json()).unwrap();
    let schemas = &openapi["components"]["schemas"];
    for (schema, value) in [
        ("OfdVerifyResponse", &v),
        ("OfdReport", report),
        ("OfdSignature", &sigs[0]),
    ] {
        let properties = keys(&schemas[schema]["properties"]);
        let mut have = keys(value);
        assert!(
            have.iter().all(|k| properties.contains(k)),
            "{schema}: {have:?} not all in {properties:?}"
        );
        have.sort();
        for k in schemas[schema]["required"].as_array().unwrap() {
            assert!(
                have.contains(&k.as_str().unwrap().to_owned()),
                "{schema}: {k}"
            );
        }
    }
    let leaf = B64.decode(example["receipt"]["leaf_hash"].as_str().unwrap());
    assert_eq!(leaf.map(|h| h.len()), Ok(32), "{}", example["receipt"]);

    // Two seals, the first broken by the second (docs/ofd-verification.md).
    let file = ofdrw("h.ofd");
    let (v, _) = verify_file(&mut tail, &mut window, &file, "tampered").await;
    assert_eq!(timeless(&v["report"]), cli_report("h.ofd"));
    let first = &v["report"]["signatures"][0];
    assert_eq!(first["outcome"], "tampered");
    assert!(
        first["checks"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("/Doc_0/Signs/Signatures.xml"),
        "{first}"
    );
    assert_eq!(v["report"]["signatures"][1]["outcome"], "untrusted_issuer");
}

#[tokio::test]
async fn unsigned_malformed_and_licence_ids() {
    let node = Node::start(REGION);
    let mut tail = AuditTail::new(&node).await;
    let mut window = node.window();

    let (v, e) = verify_file(&mut tail, &mut window, &ofdrw("helloworld.ofd"), "unsigned").await;
    assert_eq!(v["report"]["signatures"], json!([]));
    assert!(v["report"]["licence_id"].is_null());
    assert!(e.entry["licence"].is_null());

    // Valid base64 of bytes that are no OFD: a verification, of a bad file.
    for not_ofd in [
        b"".to_vec(),
        b"%PDF-1.7 not an OFD at all".to_vec(),
        ofdrw("UserV4.esl"),
    ] {
        let (v, _) = verify_file(&mut tail, &mut window, &not_ofd, "malformed").await;
        assert!(v["report"]["error"].is_string(), "{v}");
    }

    // The metadata's licence id is the entry's licence.
    let id = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F";
    let file = helloworld_with(&[("证照标识", id), ("持证主体", "某某有限公司")]);
    let (v, e) = verify_file(&mut tail, &mut window, &file, "unsigned").await;
    assert_eq!(v["report"]["licence_id"], id);
    assert_eq!(
        v["report"]["metadata"],
        json!([{"name": "证照标识", "value": id}, {"name": "持证主体", "value": "某某有限公司"}])
    );
    assert_eq!(e.entry["licence"], id, "{}", e.text());

    // A licence id whose serial is a person's ID number is logged by its keyed hash only, as
    // every licence id is.
    let like = LicenceId::from_str(id).unwrap();
    let personal =
        LicenceId::new(like.type_code().clone(), like.issuer().clone(), PERSON, 1).unwrap();
    let file = helloworld_with(&[("证照标识", personal.as_str())]);
    let (v, e) = verify_file(&mut tail, &mut window, &file, "unsigned").await;
    assert_eq!(v["report"]["licence_id"], personal.as_str());
    assert!(e.entry["licence"].is_null(), "{}", e.text());
    assert!(
        e.detail("licence_hash")
            .as_str()
            .unwrap()
            .starts_with("<licence:"),
        "{}",
        e.text()
    );
    assert!(!e.text().contains(PERSON), "{}", e.text());
}

#[tokio::test]
async fn each_refusal_by_its_code() {
    let node = Node::start(REGION);
    let mut tail = AuditTail::new(&node).await;
    let mut window = node.window();
    let b64 = B64.encode(ofdrw("helloworld.ofd"));

    // Not base64: refused, nothing verified, no digest logged.
    for garbage in ["not base64 at all!", "UEsDBA", "UEsD BA==", "UEsDBA==\n"] {
        let (v, e) = tail
            .post(
                &mut window,
                "/v1/verify",
                &json!({"ofd": garbage, "purpose": PURPOSE}),
                (400, "licence.verify", "invalid_base64"),
            )
            .await;
        assert!(
            v["error"]["message"].as_str().unwrap().contains("base64"),
            "{v}"
        );
        assert!(e.detail("ofd_sm3").is_null(), "{}", e.text());
    }

    // Exactly one document.
    let (v, _) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"licence": "x.y.z", "ofd": b64, "purpose": PURPOSE}),
            (400, "licence.verify", "licence_or_ofd"),
        )
        .await;
    assert!(
        v["error"]["message"].as_str().unwrap().contains("not both"),
        "{v}"
    );
    let (v, _) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"purpose": PURPOSE}),
            (400, "licence.verify", "licence_or_ofd"),
        )
        .await;
    assert!(
        v["error"]["message"].as_str().unwrap().contains("`ofd`"),
        "{v}"
    );

    // The purpose is checked as for a licence, before the file is read.
    let (_, e) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"ofd": b64, "purpose": "核验\u{202E}"}),
            (400, "licence.verify", "invalid_request"),
        )
        .await;
    assert!(e.detail("ofd_sm3").is_null(), "{}", e.text());
    tail.post(
        &mut window,
        "/v1/verify",
        &json!({"ofd": 42, "purpose": PURPOSE}),
        (400, "licence.verify", "invalid_request"),
    )
    .await;
    tail.post(
        &mut window,
        "/v1/verify",
        &json!({"ofd": b64, "purpose": PURPOSE, "pages": 1}),
        (400, "licence.verify", "unknown_field"),
    )
    .await;

    // A department without the role learns nothing, and its file is not read.
    let mut bureau = node.bureau();
    let (_, e) = tail
        .post(
            &mut bureau,
            "/v1/verify",
            &json!({"ofd": b64, "purpose": PURPOSE}),
            (403, "auth.denied", "forbidden_role"),
        )
        .await;
    assert_eq!(e.detail("wanted"), "licence.verify");
    assert!(e.detail("ofd_sm3").is_null(), "{}", e.text());
}

/// `POST /v1/verify` reads bodies up to 4 MiB, every other route up to 256 KiB, each refusal
/// the same audited 413.
#[tokio::test]
async fn only_verify_takes_bodies_past_256_kib() {
    assert_eq!(MAX_REQUEST_BYTES, 256 * 1024);
    assert_eq!(MAX_VERIFY_REQUEST_BYTES, 4 * 1024 * 1024);
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;
    let json_ct = Some("application/json");

    // A sealed file in a body of 1 MiB (JSON white space after it): read and verified here...
    let file = ofdrw("allprotected.ofd");
    let mut body = serde_json::to_vec(&ofd_body(&file)).unwrap();
    body.resize(1024 * 1024, b' ');
    let (v, e) = expect_raw(
        &mut tail,
        &mut window,
        "POST",
        "/v1/verify",
        (json_ct, body.clone()),
        (200, "licence.verify", "untrusted_issuer"),
    )
    .await;
    assert_eq!(v["report"]["signatures"][0]["id"], "001");
    assert_logged_file(&e, &file);
    assert_eq!(
        e.entry["request_sha256"],
        hex::encode(ring::digest::digest(&ring::digest::SHA256, &body))
    );
    // ...and refused on any other route, before anything else.
    let (v, e) = expect_raw(
        &mut tail,
        &mut bureau,
        "POST",
        "/v1/licences",
        (json_ct, body.clone()),
        (413, "licence.issue", "payload_too_large"),
    )
    .await;
    assert!(v["error"]["message"].as_str().unwrap().contains("262144"));
    assert!(e.entry["request_sha256"].is_null());
    expect_raw(
        &mut tail,
        &mut window,
        "POST",
        "/v1/lookups",
        (json_ct, vec![b' '; MAX_REQUEST_BYTES + 1]),
        (413, "licence.lookup", "payload_too_large"),
    )
    .await;

    // A file of about 3 MiB (a scanned document, say): its base64 fills the body to the byte.
    let mut big = b"not an OFD: ".to_vec();
    big.resize(3 * 1024 * 1024 - 1024, b'x');
    let mut body = serde_json::to_vec(&ofd_body(&big)).unwrap();
    assert!(body.len() < MAX_VERIFY_REQUEST_BYTES, "{}", body.len());
    body.resize(MAX_VERIFY_REQUEST_BYTES, b' ');
    let (_, e) = expect_raw(
        &mut tail,
        &mut window,
        "POST",
        "/v1/verify",
        (json_ct, body.clone()),
        (200, "licence.verify", "malformed"),
    )
    .await;
    assert_logged_file(&e, &big);
    body.push(b' ');
    let (v, e) = expect_raw(
        &mut tail,
        &mut window,
        "POST",
        "/v1/verify",
        (json_ct, body),
        (413, "licence.verify", "payload_too_large"),
    )
    .await;
    assert!(v["error"]["message"].as_str().unwrap().contains("4194304"));
    assert!(e.detail("ofd_sm3").is_null(), "{}", e.text());
    // The route's limit is the route's: another method on its path keeps 256 KiB.
    expect_raw(
        &mut tail,
        &mut window,
        "PUT",
        "/v1/verify",
        (json_ct, vec![b' '; MAX_REQUEST_BYTES + 1]),
        (413, "licence.verify", "payload_too_large"),
    )
    .await;
}

/// What an OFD verification costs: the reason the node runs it on a blocking thread, not on
/// the async workers (a licence verification takes a tenth of a millisecond).
#[test]
fn an_ofd_verification_takes_milliseconds() {
    use zhengzhao::ofd::report::OfdOutcome;
    use zhengzhao::ofd::verify::OfdVerifier;
    use zhengzhao::pki::trust::TrustStore;

    let file = ofdrw("h.ofd");
    let verifier = OfdVerifier::new(TrustStore::new());
    let now = 1_796_083_200;
    assert_eq!(verifier.verify(&file, now).outcome, OfdOutcome::Tampered);
    let runs = 20;
    let start = Instant::now();
    for _ in 0..runs {
        assert_eq!(verifier.verify(&file, now).outcome, OfdOutcome::Tampered);
    }
    let each = start.elapsed() / runs;
    eprintln!(
        "h.ofd ({} bytes, 5 pages, 2 seals): {each:?} per verification",
        file.len()
    );
}

/// The node's SM2 anchors (the demo config binds each region's SM2 root to it): a licence of
/// 泰安 sealed with 泰安's demo seal is `valid`, with its licence id in the entry; the same
/// licence sealed with 济南市济阳区's seal is `untrusted_issuer` (that root does not vouch for
/// region 370900); a page changed after sealing is `tampered`.
#[tokio::test]
async fn the_regions_own_sealed_licences_verify_under_its_sm2_root() {
    let node = Node::start(REGION);
    let mut tail = AuditTail::new(&node).await;
    let mut window = node.window();
    let generated = |name: &str| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/ofd/generated")
                .join(name),
        )
        .unwrap()
    };
    // Sealed under the region's root, but not a licence this node issued: its seals hold, and
    // its live status is unknown (as for a JWS licence of this region the node has no record of).
    let file = generated("valid.one-seal.ofd");
    let (v, e) = verify_file_of(
        &mut tail,
        &mut window,
        &file,
        "valid",
        ("status_unknown", "unknown"),
    )
    .await;
    let id = v["report"]["licence_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("1.2.156.3005.2."), "{v}");
    assert_eq!(e.entry["licence"], id.as_str(), "{}", e.text());
    let checks = v["report"]["signatures"][0]["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| c["ok"] == true), "{v}");
    assert_eq!(v["report"]["uncovered"], json!([]));

    let file = generated("untrusted_issuer.seal-of-another-region.ofd");
    let (v, _) = verify_file(&mut tail, &mut window, &file, "untrusted_issuer").await;
    let chain = v["report"]["signatures"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "signer_chain")
        .unwrap()
        .clone();
    assert_eq!(chain["ok"], false, "{v}");
    assert!(
        chain["detail"]
            .as_str()
            .unwrap()
            .contains("not for region 370900"),
        "{chain}"
    );

    let file = generated("tampered.page-changed-after-sealing.ofd");
    verify_file(&mut tail, &mut window, &file, "tampered").await;
}
