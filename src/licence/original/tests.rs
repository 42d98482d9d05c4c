#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The 原件 against this crate's OFD reader and verifier, with the demo PKI of certs/.

use super::*;
use crate::codes::RegionCode;
use crate::licence::model::IssuanceRequest;
use crate::ofd::report::OfdOutcome;
use crate::ofd::verify::OfdVerifier;
use crate::ofd::write::OfdFiles;
use crate::pki::trust::TrustStore;
use std::path::PathBuf;

/// 2026-11-01T00:00:00Z.
const NOW: i64 = 1_793_491_200;

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

fn signer(region: &str) -> OfdSigner {
    let dir = format!("certs/{region}");
    OfdSigner::from_pem(
        &read(&format!("{dir}/seal-signer.pem")),
        &read(&format!("{dir}/seal-signer.key")),
        &read(&format!("{dir}/seal.esl")),
        NOW,
    )
    .unwrap()
}

fn verifier(region: &str) -> OfdVerifier {
    let mut trust = TrustStore::new();
    let code: RegionCode = region.parse().unwrap();
    trust
        .add_pem(
            &read(&format!("certs/{region}/sm2-root.pem")),
            &[code],
            region,
        )
        .unwrap();
    OfdVerifier::new(trust)
}

fn request(holder: &str) -> IssuanceRequest {
    let mut req: IssuanceRequest =
        serde_json::from_slice(&read("fixtures/requests/370900.json")).unwrap();
    if holder == "person" {
        req.holder.holder_type = "111".into();
        req.holder.code = "11010519491231002X".into();
        req.holder.name = "王小明".into();
    }
    req
}

fn claims(s: &OfdSigner, holder: &str) -> Claims {
    s.authority().claims(&request(holder), NOW, None).unwrap().1
}

#[test]
fn an_original_verifies_under_its_regions_sm2_root_and_carries_the_metadata() {
    let s = signer("370900");
    let c = claims(&s, "organisation");
    let ofd = s.original(&c).unwrap();
    let report = verifier("370900").verify(&ofd, NOW + 60);
    assert_eq!(report.outcome, OfdOutcome::Valid, "{report:#?}");
    assert_eq!(report.licence_id.as_deref(), Some(c.jti.as_str()));
    assert!(report.uncovered.is_empty());
    let meta: Vec<(String, String)> = report
        .metadata
        .iter()
        .map(|m| (m.name.clone(), m.value.clone()))
        .collect();
    let get = |n: &str| meta.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert_eq!(get("证照标识"), Some(c.jti.as_str()));
    assert_eq!(get("证照名称"), Some("建筑施工企业安全生产许可证"));
    assert_eq!(get("证照颁发机构代码"), Some("11370900004090218Y"));
    assert_eq!(get("证照有效期起始日期"), Some("2026-01-01"));
    assert_eq!(get("证照有效期截止日期"), Some("2028-12-31"));
    assert_eq!(get("证照颁发日期"), Some("2026-11-01"));
    assert_eq!(get("持证主体代码类型"), Some("001"));
    // Under another region's root the licence is not vouched for.
    assert_ne!(
        verifier("140802").verify(&ofd, NOW + 60).outcome,
        OfdOutcome::Valid
    );
    // Deterministic: the same licence gives the same bytes.
    assert_eq!(ofd, s.original(&c).unwrap());
}

#[test]
fn a_persons_id_number_is_only_in_the_metadata() {
    let s = signer("370900");
    let c = claims(&s, "person");
    let ofd = s.original(&c).unwrap();
    assert_eq!(
        verifier("370900").verify(&ofd, NOW).outcome,
        OfdOutcome::Valid
    );
    let files = OfdFiles::from_zip(&ofd).unwrap();
    let id = "11010519491231002X";
    let holding: Vec<&str> = files
        .iter()
        .filter(|(_, b)| b.windows(id.len()).any(|w| w == id.as_bytes()))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(holding, ["OFD.xml"]);
    let ofd_xml = String::from_utf8(files.get("OFD.xml").unwrap().to_vec()).unwrap();
    assert_eq!(ofd_xml.matches(id).count(), 1);
    assert!(ofd_xml.contains(&format!(r#"<ofd:CustomData Name="持证主体代码">{id}<"#)));
    let page = String::from_utf8_lossy(files.get("Doc_0/Pages/Page_0/Content.xml").unwrap());
    assert!(page.contains("王小明"));
    assert!(!page.contains("统一社会信用代码"));
}

#[test]
fn changing_any_file_of_an_original_is_found() {
    let s = signer("370900");
    let ofd = s.original(&claims(&s, "organisation")).unwrap();
    let files = OfdFiles::from_zip(&ofd).unwrap();
    let v = verifier("370900");
    let mut checked = 0;
    for (path, bytes) in files.iter() {
        if path.ends_with("/Signatures.xml") {
            // The list of signatures no signature covers (a later seal rewrites it); what it
            // says is checked below.
            continue;
        }
        let mut changed = files.clone();
        let mut b = bytes.to_vec();
        // The last byte of an XML file is its closing `>`; a space after it keeps the XML
        // readable, so what is tested is the signature, not the parser.
        if path.ends_with(".xml") {
            b.extend_from_slice(b" ");
        } else {
            let last = b.len() - 1;
            b[last] ^= 1;
        }
        changed.insert(path, b).unwrap();
        let report = v.verify(&changed.to_zip().unwrap(), NOW);
        assert_ne!(report.outcome, OfdOutcome::Valid, "{path} changed unseen");
        checked += 1;
    }
    assert_eq!(checked, files.len() - 1, "every file but Signatures.xml");
    // A list of signatures that leaves the seal out leaves the document unsigned.
    let mut changed = files.clone();
    let list = "Doc_0/Signs/Signatures.xml";
    let xml = String::from_utf8(files.get(list).unwrap().to_vec()).unwrap();
    let start = xml.find("<ofd:Signature ").unwrap();
    let end = start + xml[start..].find("/>").unwrap() + 2;
    let without = format!("{}{}", &xml[..start], &xml[end..]);
    changed.insert(list, without.into_bytes()).unwrap();
    assert_ne!(
        v.verify(&changed.to_zip().unwrap(), NOW).outcome,
        OfdOutcome::Valid
    );
}

#[test]
fn the_signer_is_refused_for_what_would_make_an_invalid_original() {
    let dir = "certs/370900";
    let cert = read(&format!("{dir}/seal-signer.pem"));
    let key = read(&format!("{dir}/seal-signer.key"));
    let seal = read(&format!("{dir}/seal.esl"));
    // Another region's seal does not list this signer.
    let e = OfdSigner::from_pem(&cert, &key, &read("certs/140802/seal.esl"), NOW).unwrap_err();
    assert!(matches!(e, OriginalError::SignerNotInSeal { .. }), "{e}");
    assert!(
        e.to_string().contains("does not list the seal signer"),
        "{e}"
    );
    // Another region's key is not this certificate's.
    let e =
        OfdSigner::from_pem(&cert, &read("certs/140802/seal-signer.key"), &seal, NOW).unwrap_err();
    assert!(matches!(e, OriginalError::Key(_)), "{e}");
    // The demo seals end on 2031-01-01.
    let e = OfdSigner::from_pem(&cert, &key, &seal, 1_924_992_000 + 1).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "the seal is valid from 2026-01-01T08:00:00+08:00 until 2031-01-01T08:00:00+08:00"
        ),
        "{e}"
    );
    // Not a seal.
    let e = OfdSigner::from_pem(&cert, &key, b"not a seal", NOW).unwrap_err();
    assert!(matches!(e, OriginalError::Seal(_)), "{e}");
    // A licence of another authority is not sealed by this one.
    let other = signer("140802");
    let c = claims(&other, "organisation");
    let e = signer("370900").original(&c).unwrap_err();
    assert!(matches!(e, OriginalError::OtherAuthority { .. }), "{e}");
}

#[test]
fn a_long_face_runs_onto_more_pages_and_the_seal_sits_on_the_authoritys_line() {
    let s = signer("370900");
    let mut req = request("organisation");
    for i in 0..40 {
        req.fields.insert(
            format!("经营项目{i:02}"),
            FieldValue::Text("建筑工程施工；市政公用工程施工；".repeat(3)),
        );
    }
    let c = s.authority().claims(&req, NOW, None).unwrap().1;
    let (pages, page, boundary) = face(&c, (40.0, 40.0));
    assert!(pages.len() >= 3, "{} pages", pages.len());
    assert_eq!(page, pages.len() - 1);
    let authority = pages[page]
        .texts
        .iter()
        .find(|t| t.text.starts_with("发证机关："))
        .unwrap();
    assert!(boundary.y <= authority.y && authority.y <= boundary.y + boundary.height);
    for p in &pages {
        for t in &p.texts {
            assert!(t.y <= A4.1 - 10.0, "{} at {}", t.text, t.y);
            assert!(
                t.x + width(&t.text, t.size) <= A4.0 - LINE_LEFT + 0.01,
                "{}",
                t.text
            );
        }
    }
    let ofd = s.original(&c).unwrap();
    assert_eq!(
        verifier("370900").verify(&ofd, NOW).outcome,
        OfdOutcome::Valid
    );
}

#[test]
fn an_original_follows_the_package_conventions_other_readers_expect() {
    let s = signer("370900");
    let files = OfdFiles::from_zip(&s.original(&claims(&s, "organisation")).unwrap()).unwrap();
    let paths: Vec<&str> = files.iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        [
            "OFD.xml",
            "Doc_0/Document.xml",
            "Doc_0/PublicRes.xml",
            "Doc_0/Pages/Page_0/Content.xml",
            "Doc_0/Signs/Sign_0/Seal.esl",
            "Doc_0/Signs/Sign_0/Signature.xml",
            "Doc_0/Signs/Sign_0/SignedValue.dat",
            "Doc_0/Signs/Signatures.xml",
        ]
    );
    for (path, bytes) in files.iter().filter(|(p, _)| p.ends_with(".xml")) {
        let xml = std::str::from_utf8(bytes).unwrap();
        assert!(
            xml.contains(r#"xmlns:ofd="http://www.ofdspec.org/2016""#),
            "{path}: the OFD namespace with the ofd: prefix"
        );
    }
    let signature = std::str::from_utf8(files.get("Doc_0/Signs/Sign_0/Signature.xml").unwrap())
        .unwrap()
        .to_owned();
    assert!(signature.contains(r#"<ofd:References CheckMethod="1.2.156.10197.1.401">"#));
    assert!(signature.contains("<ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>"));
    assert!(!signature.contains("Signatures.xml"), "never referenced");
    for p in &paths[..4] {
        assert!(
            signature.contains(&format!(r#"FileRef="/{p}""#)),
            "{p} referenced"
        );
    }
    let ofd = std::str::from_utf8(files.get("OFD.xml").unwrap()).unwrap();
    assert!(ofd.contains("<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>"));
    assert!(ofd.contains("<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures>"));
}
