#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The usage copy against this crate's reader and verifier, with the demo PKI of certs/.

use super::*;
use crate::codes::RegionCode;
use crate::licence::model::IssuanceRequest;
use crate::ofd::report::OfdOutcome;
use crate::ofd::verify::OfdVerifier;
use crate::pki::trust::TrustStore;
use std::path::PathBuf;

/// 2026-11-01T00:00:00Z.
const NOW: i64 = 1_793_491_200;

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

fn signer() -> OfdSigner {
    let d = "certs/370900";
    OfdSigner::from_pem(
        &read(&format!("{d}/seal-signer.pem")),
        &read(&format!("{d}/seal-signer.key")),
        &read(&format!("{d}/seal.esl")),
        NOW,
    )
    .unwrap()
}

fn verifier() -> OfdVerifier {
    let mut trust = TrustStore::new();
    let code: RegionCode = "370900".parse().unwrap();
    trust
        .add_pem(&read("certs/370900/sm2-root.pem"), &[code], "370900")
        .unwrap();
    OfdVerifier::new(trust)
}

fn annotation(licence: &str) -> UsageAnnotation {
    UsageAnnotation {
        licence: licence.to_owned(),
        made_by_node: "node-370900".into(),
        made_by_region: "370900".into(),
        department: "370900-window".into(),
        department_region: "370900".into(),
        matter: "370900-ZZ-001".into(),
        matter_name: "演示：法定事项".into(),
        case: Some("TA2026120100017".into()),
        purpose: "办理施工许可 <核验> & 存档".into(),
        made_at: crate::licence::verify::rfc3339(NOW + 60),
        valid_until: crate::licence::verify::rfc3339(NOW + 660),
    }
}

fn copy() -> (Vec<u8>, UsageAnnotation) {
    let s = signer();
    let req: IssuanceRequest =
        serde_json::from_slice(&read("fixtures/requests/370900.json")).unwrap();
    let (_, claims) = s.authority().claims(&req, NOW, None).unwrap();
    let original = s.original(&claims).unwrap();
    let a = annotation(&claims.jti);
    (annotate(&original, &a, &s, NOW + 60, NOW + 660).unwrap(), a)
}

#[test]
fn a_usage_copy_keeps_the_issuers_seal_valid_and_adds_one_covering_everything() {
    let (ofd, a) = copy();
    let report = verifier().verify(&ofd, NOW + 120);
    assert_eq!(report.outcome, OfdOutcome::Valid, "{report:#?}");
    assert_eq!(report.signatures.len(), 2);
    assert!(
        report
            .signatures
            .iter()
            .all(|s| s.outcome == OfdOutcome::Valid)
    );
    assert!(report.uncovered.is_empty());
    assert_eq!(report.licence_id.as_deref(), Some(a.licence.as_str()));
    let files = OfdFiles::from_zip(&ofd).unwrap();
    let read = read_annotation(|p| files.get(p).map(<[u8]>::to_vec))
        .unwrap()
        .unwrap();
    assert_eq!(read, a);
    // The annotation shows what it says.
    let xml = String::from_utf8(files.get(ANNOTATION_FILE).unwrap().to_vec()).unwrap();
    assert!(
        xml.contains("加注件：仅供370900-window（370900）办理演示：法定事项（370900-ZZ-001）使用")
    );
    assert!(xml.contains("&lt;核验&gt; &amp; 存档"));
    // A copy of a copy is refused.
    let e = annotate(&ofd, &a, &signer(), NOW + 60, NOW + 660).unwrap_err();
    assert!(e.to_string().contains("already a usage copy"), "{e}");
}

#[test]
fn a_changed_annotation_breaks_the_second_seal_only() {
    let (ofd, _) = copy();
    let mut files = OfdFiles::from_zip(&ofd).unwrap();
    let xml = String::from_utf8(files.get(ANNOTATION_FILE).unwrap().to_vec()).unwrap();
    files
        .insert(
            ANNOTATION_FILE,
            xml.replace("370900-window", "370900-bureau").into_bytes(),
        )
        .unwrap();
    let report = verifier().verify(&files.to_zip().unwrap(), NOW + 120);
    assert_eq!(report.outcome, OfdOutcome::Tampered);
    assert_eq!(report.signatures[0].outcome, OfdOutcome::Valid);
    assert_eq!(report.signatures[1].outcome, OfdOutcome::Tampered);
    // Without the annotation's seal (the copy's signature dropped), the annotation is a file no
    // seal covers.
    let mut files = OfdFiles::from_zip(&ofd).unwrap();
    let list = "Doc_0/Signs/Signatures.xml";
    let xml = String::from_utf8(files.get(list).unwrap().to_vec()).unwrap();
    let second = xml.rfind("<ofd:Signature ").unwrap();
    let end = second + xml[second..].find("/>").unwrap() + 2;
    files
        .insert(
            list,
            format!("{}{}", &xml[..second], &xml[end..]).into_bytes(),
        )
        .unwrap();
    let report = verifier().verify(&files.to_zip().unwrap(), NOW + 120);
    assert_eq!(report.outcome, OfdOutcome::NotCovered, "{report:#?}");
    assert!(
        report
            .uncovered
            .iter()
            .any(|f| f.trim_start_matches('/') == ANNOTATION_FILE),
        "{:?}",
        report.uncovered
    );
}

#[test]
fn annotations_that_do_not_say_what_a_usage_copy_says_are_refused() {
    let (ofd, _) = copy();
    let files = OfdFiles::from_zip(&ofd).unwrap();
    let xml = String::from_utf8(files.get(ANNOTATION_FILE).unwrap().to_vec()).unwrap();
    for (from, to, why) in [
        (
            r#"<ofd:Parameter Name="用证部门">370900-window</ofd:Parameter>"#,
            "",
            "no 用证部门",
        ),
        (
            r#"<ofd:Parameter Name="用证目的">"#,
            r#"<ofd:Parameter Name="用证目的">x</ofd:Parameter><ofd:Parameter Name="用证目的">"#,
            "given twice",
        ),
        (r#"Name="事项名称""#, r#"Name="备注""#, "unknown parameter"),
        (r#"Subtype="加注件""#, r#"Subtype="其他""#, "Subtype"),
    ] {
        let changed = xml.replace(from, to);
        assert_ne!(changed, xml, "{from}");
        let e = read_annotation(|_| Some(changed.clone().into_bytes()))
            .unwrap()
            .unwrap_err();
        assert!(e.contains(why), "{why}: {e}");
    }
    assert!(read_annotation(|_| None).is_none());
}

#[test]
fn the_copy_checks_name_each_refusal() {
    let (ofd, a) = copy();
    let v = verifier();
    let (report, read) = verify_file(&v, &ofd, NOW + 120);
    assert_eq!(
        read,
        Some(Ok(a.clone())),
        "one reading gives the report and the annotation"
    );
    assert_eq!(check(&report, &a, NOW + 120), Ok(()));
    let outcome = |a: &UsageAnnotation, now: i64| check(&report, a, now).unwrap_err().outcome;
    let mut other = a.clone();
    other.licence = other.licence.replace(".001.", ".002.");
    assert_eq!(outcome(&other, NOW + 120), "malformed", "another licence");
    let mut other = a.clone();
    other.made_by_region = "370115".into();
    assert_eq!(
        outcome(&other, NOW + 120),
        "untrusted_issuer",
        "another region"
    );
    let mut other = a.clone();
    other.made_at = "yesterday".into();
    assert_eq!(
        outcome(&other, NOW + 120),
        "malformed",
        "an unreadable time"
    );
    assert_eq!(outcome(&a, NOW + 60 - 301), "not_yet_valid");
    assert_eq!(outcome(&a, NOW + 660), "usage_copy_expired");
    // Seals that do not hold are the refusal, whatever the annotation says.
    let untrusted = OfdVerifier::new(TrustStore::new());
    let (report, _) = verify_file(&untrusted, &ofd, NOW + 120);
    assert_eq!(
        check(&report, &a, NOW + 120).unwrap_err().outcome,
        "untrusted_issuer"
    );
    // Bytes that are not a package: the verifier's own refusal, and no annotation.
    let (report, read) = verify_file(&v, b"not a zip", NOW);
    assert_eq!(report.outcome, OfdOutcome::Malformed);
    assert!(read.is_none());
}
