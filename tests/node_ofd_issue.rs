#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! The node issues every licence in both formats: `POST /v1/licences` makes the JWS and the OFD
//! 原件 from one payload (same id, one audit entry); `GET /v1/licences/{id}/ofd` serves the 原件
//! to issuers and auditors, and it verifies in `zhengzhao ofd verify` and in the independent
//! reader; a new version (变更) gets a new OFD; a node whose seal does not list its signer, has
//! expired, or belongs to another authority does not start; a node without a seal issues JWS
//! only and says so.

#[allow(dead_code)] // uses only part of the shared support
mod node_support;

use std::path::Path;
use std::str::FromStr as _;

use node_support::*;
use zhengzhao::codes::LicenceId;
use zhengzhao::gm::Sm2PrivateKey;
use zhengzhao::ofd::ses::{SealSpec, build_seal_v4};

const REGION: &str = "370900";

fn ofd_path(id: &str) -> String {
    format!("/v1/licences/{id}/ofd")
}

/// `zhengzhao ofd verify` under the region's SM2 root: (exit code, what it printed).
fn ofd_verify(file: &Path) -> (i32, String) {
    let o = zz(&[
        "ofd",
        "verify",
        "--trust",
        &format!("{}=370900", p(&cert_path(REGION, "sm2-root.pem"))),
        p(file),
    ]);
    (o.status.code().unwrap(), output_text(&o))
}

fn metadata(text: &str, name: &str) -> String {
    let key = format!("  {name}: ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licences_are_issued_as_jws_and_ofd_and_the_original_is_served() {
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;
    let dir = tempfile::tempdir().unwrap();

    let (v, e) = tail
        .post(
            &mut bureau,
            "/v1/licences",
            &fixture_request(REGION),
            (201, "licence.issue", "ok"),
        )
        .await;
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(v["ofd"], ofd_path(&id).as_str());
    assert_eq!(e.detail("ofd"), true);

    // The 原件, as the bureau (an issuer and auditor) reads it: one entry of its own.
    let reply = bureau.request("GET", &ofd_path(&id), None).await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.headers["content-type"], "application/ofd");
    let e = tail.one_for(&reply, "licence.ofd_read", "ok").await;
    assert_eq!(e.entry["licence"], id.as_str());
    let file = dir.path().join("licence.ofd");
    std::fs::write(&file, &reply.body).unwrap();
    let (code, text) = ofd_verify(&file);
    assert_eq!(code, 0, "{text}");
    // The same licence as the JWS: its id, its content.
    assert!(text.contains(&format!("licence: {id}")), "{text}");
    assert_eq!(metadata(&text, "证照标识"), id);
    assert_eq!(metadata(&text, "证照编号"), "(鲁)JZ安许证字[2026]090001");
    assert_eq!(metadata(&text, "证照版本号"), "001");
    let o = python(&root().join("tests/ofd_reader.py"), &[p(&file)]);
    assert!(o.status.success(), "{}", output_text(&o));

    // A department that is no issuer or auditor is refused, and that is logged.
    let reply = window.request("GET", &ofd_path(&id), None).await.unwrap();
    assert_eq!(reply.status, 403, "{}", reply.text());
    tail.one_for(&reply, "auth.denied", "forbidden_role").await;

    // A new version (变更) gets its own 原件; the old one's stays as it was issued.
    let mut req = fixture_request(REGION);
    req["fields"]["注册资本万元"] = 8000.into();
    let (v, e) = tail
        .post(
            &mut bureau,
            &format!("/v1/licences/{id}/versions"),
            &req,
            (201, "licence.issue", "ok"),
        )
        .await;
    let new_id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(LicenceId::from_str(&new_id).unwrap().version(), 2);
    assert_eq!(v["ofd"], ofd_path(&new_id).as_str());
    assert_eq!(e.detail("ofd"), true);
    let reply = bureau
        .request("GET", &ofd_path(&new_id), None)
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    let new_file = dir.path().join("v2.ofd");
    std::fs::write(&new_file, &reply.body).unwrap();
    let (code, text) = ofd_verify(&new_file);
    assert_eq!(code, 0, "{text}");
    assert_eq!(metadata(&text, "证照标识"), new_id);
    assert_eq!(metadata(&text, "证照版本号"), "002");
    let page = zhengzhao::ofd::write::OfdFiles::from_zip(&reply.body).unwrap();
    let page =
        String::from_utf8_lossy(page.get("Doc_0/Pages/Page_0/Content.xml").unwrap()).into_owned();
    assert!(page.contains("注册资本万元：8000"), "{page}");
    let old = bureau.request("GET", &ofd_path(&id), None).await.unwrap();
    assert_eq!(old.body, std::fs::read(&file).unwrap());

    // An id nobody issued.
    let l = LicenceId::from_str(&id).unwrap();
    let other = LicenceId::new(l.type_code().clone(), l.issuer().clone(), "NOSUCH0001", 1)
        .unwrap()
        .to_string();
    let reply = bureau
        .request("GET", &ofd_path(&other), None)
        .await
        .unwrap();
    assert_eq!(error_code(&reply, 404), "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_a_seal_issues_jws_only() {
    let node = Node::start_with(REGION, |c| {
        let start = c.find("[seal]").unwrap();
        let end = start + c[start..].find("\n\n").unwrap() + 2;
        format!("{}{}", &c[..start], &c[end..])
    });
    let (mut tail, mut bureau, _) = node.session().await;
    let (v, e) = tail
        .post(
            &mut bureau,
            "/v1/licences",
            &fixture_request(REGION),
            (201, "licence.issue", "ok"),
        )
        .await;
    assert!(v.get("ofd").is_none(), "{v}");
    assert_eq!(e.detail("ofd"), false);
    let id = v["id"].as_str().unwrap();
    let reply = bureau.request("GET", &ofd_path(id), None).await.unwrap();
    assert_eq!(error_code(&reply, 404), "no_ofd");
    assert!(
        reply.text().contains("issued without an OFD"),
        "{}",
        reply.text()
    );
    // OFD usage copies are refused as such, not answered with none.
    let mut window = node.window();
    let reply = window
        .request("POST", "/v1/lookups", Some(&ofd_lookup()))
        .await
        .unwrap();
    assert_eq!(error_code(&reply, 400), "invalid_request");
    assert!(
        reply.text().contains("makes no OFD usage copies"),
        "{}",
        reply.text()
    );
}

/// A GB/T 38540 seal of region 370900's seal maker, listing `signer_pem`, valid from `start` to
/// `end` (Unix seconds).
fn seal_of(signer_pem: &Path, start: i64, end: i64) -> Vec<u8> {
    let der = |path: &Path| {
        x509_parser::pem::parse_x509_pem(&std::fs::read(path).unwrap())
            .unwrap()
            .1
            .contents
    };
    let maker_key = Sm2PrivateKey::from_pem(
        &std::fs::read_to_string(cert_path(REGION, "seal-maker.key")).unwrap(),
    )
    .unwrap();
    let signer = der(signer_pem);
    build_seal_v4(
        &SealSpec {
            es_id: "370900-test-seal",
            name: "测试印章",
            seal_type: 1,
            vendor_id: "zhengzhao",
            created: start,
            valid_start: start,
            valid_end: end,
            signer_certs: &[&signer],
            picture_type: "PNG",
            picture: &zhengzhao::demo::seal::demo_seal_picture().unwrap(),
            width: 40,
            height: 40,
        },
        &der(&cert_path(REGION, "seal-maker.pem")),
        &maker_key,
    )
    .unwrap()
}

#[test]
fn a_node_whose_seal_cannot_seal_its_licences_does_not_start() {
    let seal = p(&cert_path(REGION, "seal.esl")).to_owned();
    let seal_pem = p(&cert_path(REGION, "seal-signer.pem")).to_owned();
    let seal_key = p(&cert_path(REGION, "seal-signer.key")).to_owned();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    type Edit<'a> = Box<dyn Fn(String, &Path) -> String + 'a>;
    let cases: Vec<(&str, Edit<'_>)> = vec![
        (
            "does not list the seal signer's certificate",
            Box::new(|c, _| c.replace(&seal, p(&cert_path("140802", "seal.esl")))),
        ),
        (
            "the seal is valid from",
            Box::new(|c, d| {
                let f = d.join("old.esl");
                let pem = cert_path(REGION, "seal-signer.pem");
                std::fs::write(&f, seal_of(&pem, now - 400 * 86_400, now - 86_400)).unwrap();
                c.replace(&seal, p(&f))
            }),
        ),
        (
            "both must name the same authority",
            Box::new(|c, _| {
                c.replace(&seal, p(&cert_path("140802", "seal.esl")))
                    .replace(&seal_pem, p(&cert_path("140802", "seal-signer.pem")))
                    .replace(&seal_key, p(&cert_path("140802", "seal-signer.key")))
            }),
        ),
        (
            "the key does not belong to the seal signer certificate",
            Box::new(|c, _| c.replace(&seal_key, p(&cert_path("140802", "seal-signer.key")))),
        ),
    ];
    for (want, edit) in cases {
        let out = serve_with(REGION, edit);
        let err = output_text(&out);
        assert_eq!(out.status.code(), Some(2), "{want}: {err}");
        assert!(err.contains("seal"), "the key is named: {err}");
        assert!(err.contains(want), "{want} not said in:\n{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// The lookup of the fixture holder's licences for the statutory demo matter, copies as OFD.
fn ofd_lookup() -> serde_json::Value {
    serde_json::json!({
        "holder": {"type": "001", "code": "91110000600037341L"},
        "matter": zhengzhao::demo::config::DEMO_STATUTORY,
        "purpose": "办理建筑工程施工许可",
        "case": "TA-2026-120200017",
        "mode": "duty",
        "format": "ofd"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ofd_lookup_hands_out_usage_copies_that_verify_with_both_seals() {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    // The bureau verifies too here, so a copy made for the window can be shown to another
    // department of the region.
    let node = Node::start_with(REGION, |c| {
        replace_once(
            &c,
            r#"roles = ["issuer", "portal", "auditor"]"#,
            r#"roles = ["issuer", "portal", "auditor", "verifier"]"#,
        )
    });
    let (mut tail, mut bureau, mut window) = node.session().await;
    let (id, _) = issue(&mut bureau, &fixture_request(REGION)).await;
    tail.new_entries().await;

    let lookup = (200, "licence.lookup", "ok");
    let (v, e) = tail
        .post(&mut window, "/v1/lookups", &ofd_lookup(), lookup)
        .await;
    assert_eq!(e.detail("format"), "ofd");
    // A format that is neither is refused by name, and logged.
    let mut bad = ofd_lookup();
    bad["format"] = "pdf".into();
    let reply = window
        .request("POST", "/v1/lookups", Some(&bad))
        .await
        .unwrap();
    assert_eq!(error_code(&reply, 400), "invalid_request");
    assert!(
        reply
            .text()
            .contains(r#"format: \"pdf\": \"jws\" or \"ofd\""#),
        "{}",
        reply.text()
    );
    tail.one_for(&reply, "licence.lookup", "invalid_request")
        .await;
    let r = &v["results"][0];
    assert_eq!(r["id"], id.as_str());
    assert_eq!(r["licence"].as_str().unwrap().split('.').count(), 3);
    let b64 = r["usage_copy"].as_str().unwrap().to_owned();
    let bytes = B64.decode(&b64).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("copy.ofd");
    std::fs::write(&file, &bytes).unwrap();

    // Both seals hold in zhengzhao and in the independent reader.
    let (code, text) = ofd_verify(&file);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        text.matches("(Seal, gbt38540): valid").count(),
        2,
        "the issuer's seal and the node's: {text}"
    );
    let o = python(&root().join("tests/ofd_reader.py"), &[p(&file)]);
    let said = output_text(&o);
    assert!(o.status.success(), "{said}");
    assert_eq!(said.matches(" ok ").count(), 2, "{said}");

    // The window verifies it at the node: both seals, the annotation, the live status.
    let body = serde_json::json!({"ofd": b64, "purpose": "核验加注件"});
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/verify",
            &body,
            (200, "licence.verify", "valid"),
        )
        .await;
    assert_eq!(v["status"], "active", "{v}");
    assert_eq!(v["status_code"], "01", "{v}");
    let copy = &v["usage_copy"];
    assert_eq!(copy["for_caller"], true, "{v}");
    assert_eq!(copy["department"], "370900-window");
    assert_eq!(copy["department_region"], REGION);
    assert_eq!(copy["matter"], zhengzhao::demo::config::DEMO_STATUTORY);
    assert_eq!(copy["purpose"], "办理建筑工程施工许可");
    assert_eq!(copy["case"], "TA-2026-120200017");
    assert_eq!(copy["matter_name"], "演示：法定事项");
    assert_eq!(copy["licence"], id.as_str());
    assert_eq!(e.detail("usage_copy"), true);
    assert_eq!(e.entry["licence"], id.as_str());
    assert_eq!(e.entry["matter"], zhengzhao::demo::config::DEMO_STATUTORY);

    // Another department of the region sees that it was not made for it.
    let (v, e) = tail
        .post(
            &mut bureau,
            "/v1/verify",
            &body,
            (200, "licence.verify", "valid"),
        )
        .await;
    assert_eq!(v["usage_copy"]["for_caller"], false, "{v}");
    assert_eq!(e.detail("usage_copy_for_caller"), false);

    // A changed annotation breaks the node's seal: refused, the licence not judged further.
    let mut files = zhengzhao::ofd::write::OfdFiles::from_zip(&bytes).unwrap();
    let annot = zhengzhao::licence::annotated::ANNOTATION_FILE;
    let xml = String::from_utf8(files.get(annot).unwrap().to_vec()).unwrap();
    files
        .insert(
            annot,
            xml.replace("办理建筑工程施工许可", "办理其他事项")
                .into_bytes(),
        )
        .unwrap();
    let tampered = B64.encode(files.to_zip().unwrap());
    let (v, _) = tail
        .post(
            &mut window,
            "/v1/verify",
            &serde_json::json!({"ofd": tampered, "purpose": "核验加注件"}),
            (200, "licence.verify", "tampered"),
        )
        .await;
    assert_eq!(v["status"], "not_checked");
    assert_eq!(v["usage_copy_refused"]["outcome"], "tampered", "{v}");
    assert!(v.get("usage_copy").is_none());

    // The licence suspended after the copy was made: the copy verifies as suspended.
    let r = set_status(&mut bureau, &id, "suspended").await;
    assert_eq!(r.status, 200, "{}", r.text());
    tail.new_entries().await;
    let (v, _) = tail
        .post(
            &mut window,
            "/v1/verify",
            &body,
            (200, "licence.verify", "suspended"),
        )
        .await;
    assert_eq!(v["status"], "suspended");
    assert_eq!(v["status_code"], "02");
    // A suspended licence gets no copy.
    let (v, _) = tail
        .post(&mut window, "/v1/lookups", &ofd_lookup(), lookup)
        .await;
    assert_eq!(v["results"][0]["usage_copy"], serde_json::Value::Null);

    // The 原件 alone, verified: its seal holds and its live status is read.
    let original = bureau.request("GET", &ofd_path(&id), None).await.unwrap();
    tail.new_entries().await;
    let (v, _) = tail
        .post(
            &mut window,
            "/v1/verify",
            &serde_json::json!({"ofd": B64.encode(&original.body), "purpose": "核验原件"}),
            (200, "licence.verify", "suspended"),
        )
        .await;
    assert_eq!(v["status"], "suspended");
    assert!(v.get("usage_copy").is_none() && v.get("usage_copy_refused").is_none());
}
