#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The writer against the reader and the verifier of this crate, the demo SM2 PKI of region
//! 370900 (certs/), ofdrw's unsigned page, and Python's zipfile and ElementTree.

use super::*;
use crate::codes::{LicenceId, RegionCode};
use crate::gm::Sm2PrivateKey;
use crate::ofd::document::read;
use crate::ofd::report::OfdOutcome;
use crate::ofd::ses;
use crate::ofd::ses::{SealSpec, build_seal_v4};
use crate::ofd::verify::OfdVerifier;
use crate::pki::trust::TrustStore;
use std::path::PathBuf;

/// 2026-11-01T00:00:00Z.
const SIGNED: i64 = 1_793_491_200;
/// 2026-12-01T00:00:00Z.
const AT: i64 = 1_796_083_200;
/// 2026-01-01T00:00:00Z.
const YEAR_START: i64 = 1_767_225_600;

fn path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn text(rel: &str) -> String {
    std::fs::read_to_string(path(rel)).unwrap()
}

fn der(pem: &str) -> Vec<u8> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .unwrap()
        .1
        .contents
}

/// The demo SM2 material of region 370900: the signer's certificate and key, and a seal
/// made by the region's seal maker listing that signer.
struct Pki {
    signer_cert: Vec<u8>,
    signer_key: Sm2PrivateKey,
    seal: Vec<u8>,
}

fn pki() -> Pki {
    let dir = "certs/370900";
    let signer_cert = der(&text(&format!("{dir}/seal-signer.pem")));
    let signer_key = Sm2PrivateKey::from_pem(&text(&format!("{dir}/seal-signer.key"))).unwrap();
    let maker_cert = der(&text(&format!("{dir}/seal-maker.pem")));
    let maker_key = Sm2PrivateKey::from_pem(&text(&format!("{dir}/seal-maker.key"))).unwrap();
    let seal = build_seal_v4(
        &SealSpec {
            vendor_id: "zhengzhao",
            es_id: "370900-test",
            seal_type: 1,
            name: "泰安市行政审批服务局电子印章",
            signer_certs: &[&signer_cert],
            created: YEAR_START,
            valid_start: YEAR_START,
            valid_end: YEAR_START + 5 * 365 * 86_400,
            picture_type: "PNG",
            picture: b"\x89PNG\r\n\x1a\n",
            width: 40,
            height: 40,
        },
        &maker_cert,
        &maker_key,
    )
    .unwrap();
    Pki {
        signer_cert,
        signer_key,
        seal,
    }
}

fn verifier() -> OfdVerifier {
    let mut trust = TrustStore::new();
    let region: RegionCode = "370900".parse().unwrap();
    trust
        .add_pem(
            text("certs/370900/sm2-root.pem").as_bytes(),
            &[region],
            "370900",
        )
        .unwrap();
    trust
        .add_crl_pem(text("certs/370900/sm2-root.crl.pem").as_bytes(), "370900")
        .unwrap();
    OfdVerifier::new(trust)
}

fn licence_id() -> LicenceId {
    LicenceId::new(
        "11100000000013338W032".parse().unwrap(),
        "11370900004090218Y".parse().unwrap(),
        "OFD0001",
        1,
    )
    .unwrap()
}

fn builder() -> OfdBuilder {
    OfdBuilder::new(
        "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "建筑施工企业安全生产许可证",
        time::macros::date!(2026 - 11 - 01),
    )
    .custom_data(crate::ofd::LICENCE_ID_NAME, licence_id().as_str())
    .custom_data("持证主体", "示例建设有限公司 & Co")
    .page(Page::lines([
        "建筑施工企业安全生产许可证",
        "",
        "单位名称：示例建设有限公司",
        "许可范围：建筑施工 <A&B>",
    ]))
    .page(Page::new().text(20.0, 250.0, 3.0, "第二页"))
}

fn input<'a>(p: &'a Pki, signed_at: i64, page: usize) -> SealInput<'a> {
    SealInput {
        seal_der: &p.seal,
        signer_cert_der: &p.signer_cert,
        signer_key: &p.signer_key,
        signed_at,
        page,
        boundary: Boundary {
            x: 140.0,
            y: 200.0,
            width: 40.0,
            height: 40.0,
        },
    }
}

fn checks_all_ok(report: &crate::ofd::report::OfdReport) {
    for s in &report.signatures {
        for c in &s.checks {
            assert!(c.ok, "signature {}: {} failed: {}", s.id, c.check, c.detail);
        }
        assert_eq!(s.checks.len(), 9, "{:?}", s.checks);
    }
}

#[test]
fn a_built_document_reads_back_with_its_metadata_and_pages() {
    let files = builder().build().unwrap();
    let names: Vec<&str> = files.iter().map(|(p, _)| p).collect();
    assert_eq!(
        names,
        [
            "OFD.xml",
            "Doc_0/Document.xml",
            "Doc_0/PublicRes.xml",
            "Doc_0/Pages/Page_0/Content.xml",
            "Doc_0/Pages/Page_1/Content.xml"
        ]
    );
    let zip = files.to_zip().unwrap();
    let ofd = read(&zip).unwrap();
    let doc = &ofd.documents[0];
    assert_eq!(
        doc.doc_id.as_deref(),
        Some("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    );
    assert_eq!(doc.title.as_deref(), Some("建筑施工企业安全生产许可证"));
    assert_eq!(doc.creation_date.as_deref(), Some("2026-11-01"));
    assert_eq!(doc.creator.as_deref(), Some("zhengzhao"));
    assert_eq!(
        doc.custom_datas,
        vec![
            ("证照标识".to_owned(), licence_id().as_str().to_owned()),
            ("持证主体".to_owned(), "示例建设有限公司 & Co".to_owned())
        ]
    );
    assert_eq!(doc.licence_id.id(), Some(&licence_id()));
    let pages: Vec<&str> = doc.pages.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        pages,
        [
            "Doc_0/Pages/Page_0/Content.xml",
            "Doc_0/Pages/Page_1/Content.xml"
        ]
    );
    assert_eq!(doc.resources, ["Doc_0/PublicRes.xml"]);
    assert!(doc.missing.is_empty(), "{:?}", doc.missing);
    assert!(doc.signatures_path.is_none() && doc.signatures.is_empty());
    let page = String::from_utf8(
        files
            .get("Doc_0/Pages/Page_0/Content.xml")
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(page.contains("许可范围：建筑施工 &lt;A&amp;B&gt;</ofd:TextCode>"));
    // Three lines drawn (the empty one leaves a gap): the third 16 mm below the first.
    assert_eq!(page.matches("<ofd:TextObject ").count(), 3);
    assert!(page.contains(r#"Boundary="25 46 "#), "{page}");
    // CJK characters advance a full em, others half of one.
    assert!(
        page.contains(r#"DeltaX="4.2 4.2 4.2 4.2 4.2 4.2 4.2 4.2 4.2 2.1 2.1 2.1 2.1 2.1">"#),
        "{page}"
    );
    assert_eq!(verifier().verify(&zip, AT).outcome, OfdOutcome::Unsigned);
}

#[test]
fn a_sealed_document_verifies_valid_under_the_regions_sm2_root() {
    let p = pki();
    let files = builder()
        .build()
        .unwrap()
        .seal(&input(&p, SIGNED, 0))
        .unwrap();
    let zip = files.to_zip().unwrap();
    let report = verifier().verify(&zip, AT);
    assert_eq!(report.outcome, OfdOutcome::Valid, "{report:#?}");
    checks_all_ok(&report);
    assert!(report.uncovered.is_empty(), "{:?}", report.uncovered);
    assert_eq!(report.licence_id.as_deref(), Some(licence_id().as_str()));
    let s = &report.signatures[0];
    assert_eq!((s.id.as_str(), s.kind.as_str()), ("1", "Seal"));
    assert_eq!(s.signed_at.as_deref(), Some("2026-11-01T00:00:00Z"));
    assert_eq!(
        s.seal.as_ref().unwrap().name,
        "泰安市行政审批服务局电子印章"
    );

    let ofd = read(&zip).unwrap();
    let doc = &ofd.documents[0];
    assert_eq!(
        doc.signatures_path.as_deref(),
        Some("Doc_0/Signs/Signatures.xml")
    );
    let entry = &doc.signatures[0];
    assert_eq!(entry.signature_xml_path, "Doc_0/Signs/Sign_0/Signature.xml");
    assert_eq!(
        entry.signed_value_path,
        "Doc_0/Signs/Sign_0/SignedValue.dat"
    );
    let info = &entry.signed_info;
    assert_eq!(
        info.signature_method.as_deref(),
        Some("1.2.156.10197.1.501")
    );
    assert_eq!(info.check_method.as_deref(), Some("1.2.156.10197.1.401"));
    assert_eq!(
        info.signature_date_time.as_deref(),
        Some("2026-11-01T00:00:00Z")
    );
    assert_eq!(
        info.seal_path.as_deref(),
        Some("Doc_0/Signs/Sign_0/Seal.esl")
    );
    assert_eq!(
        files.get("Doc_0/Signs/Sign_0/Seal.esl"),
        Some(p.seal.as_slice())
    );
    let annot = &info.stamp_annots[0];
    assert_eq!(
        (
            annot.id.as_str(),
            annot.page_ref.as_str(),
            annot.boundary.as_str()
        ),
        ("2", doc.pages[0].id.as_str(), "140 200 40 40")
    );
    // Every file but Signatures.xml and the signature's own two files, in package order.
    let referenced: Vec<&str> = info
        .references
        .iter()
        .map(|r| r.file_ref.as_str())
        .collect();
    let expected: Vec<&str> = files
        .iter()
        .map(|(p, _)| p)
        .filter(|p| {
            !matches!(
                *p,
                "Doc_0/Signs/Signatures.xml"
                    | "Doc_0/Signs/Sign_0/Signature.xml"
                    | "Doc_0/Signs/Sign_0/SignedValue.dat"
            )
        })
        .collect();
    assert_eq!(referenced, expected);
    assert!(referenced.contains(&"OFD.xml") && referenced.contains(&"Doc_0/Signs/Sign_0/Seal.esl"));
    // The dataHash is SM3 of Signature.xml exactly as stored.
    let value = ses::parse_ses_signature(files.get(&entry.signed_value_path).unwrap()).unwrap();
    assert_eq!(value.data_hash, gm::sm3(&entry.signature_xml_bytes));
    assert_eq!(value.property_info, "/Doc_0/Signs/Sign_0/Signature.xml");
    assert_eq!(value.time_info.unix, SIGNED);
}

#[test]
fn a_second_seal_leaves_the_first_valid() {
    let p = pki();
    let once = builder()
        .build()
        .unwrap()
        .seal(&input(&p, SIGNED, 0))
        .unwrap();
    let twice = once.seal(&input(&p, SIGNED + 3600, 1)).unwrap();
    for f in [
        "OFD.xml",
        "Doc_0/Signs/Sign_0/Signature.xml",
        "Doc_0/Signs/Sign_0/SignedValue.dat",
        "Doc_0/Signs/Sign_0/Seal.esl",
    ] {
        assert_eq!(once.get(f), twice.get(f), "{f} changed");
    }
    assert_ne!(
        once.get("Doc_0/Signs/Signatures.xml"),
        twice.get("Doc_0/Signs/Signatures.xml")
    );
    let zip = twice.to_zip().unwrap();
    let report = verifier().verify(&zip, AT);
    assert_eq!(report.outcome, OfdOutcome::Valid, "{report:#?}");
    assert_eq!(report.signatures.len(), 2);
    checks_all_ok(&report);
    let ofd = read(&zip).unwrap();
    let doc = &ofd.documents[0];
    let ids: Vec<&str> = doc.signatures.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["1", "3"]);
    let second = &doc.signatures[1];
    assert_eq!(
        second.signature_xml_path,
        "Doc_0/Signs/Sign_1/Signature.xml"
    );
    assert_eq!(second.signed_info.stamp_annots[0].id, "4");
    assert_eq!(second.signed_info.stamp_annots[0].page_ref, doc.pages[1].id);
    let refs: Vec<&str> = second
        .signed_info
        .references
        .iter()
        .map(|r| r.file_ref.as_str())
        .collect();
    assert!(refs.contains(&"Doc_0/Signs/Sign_0/Signature.xml"));
    assert!(refs.contains(&"Doc_0/Signs/Sign_0/SignedValue.dat"));
    assert!(!refs.contains(&"Doc_0/Signs/Signatures.xml"));
    let signatures =
        String::from_utf8(twice.get("Doc_0/Signs/Signatures.xml").unwrap().to_vec()).unwrap();
    assert!(
        signatures.contains("<ofd:MaxSignId>4</ofd:MaxSignId>"),
        "{signatures}"
    );
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    let p = pki();
    let make = || {
        let unsigned = builder().build().unwrap().to_zip().unwrap();
        seal(&unsigned, &input(&p, SIGNED, 0)).unwrap()
    };
    let a = make();
    assert_eq!(a, make());
    // `seal` on a zip is `seal` on its files.
    let files = builder()
        .build()
        .unwrap()
        .seal(&input(&p, SIGNED, 0))
        .unwrap();
    assert_eq!(a, files.to_zip().unwrap());
    assert_eq!(OfdFiles::from_zip(&a).unwrap(), files);
}

#[test]
fn an_unsigned_document_of_another_writer_is_sealed_too() {
    // ofdrw's unsigned page: OFD.xml gains a Signatures element in its own prefix, and
    // nothing else of it changes. It names no licence, so any anchor vouches for it.
    let original = std::fs::read(path("fixtures/ofd/ofdrw/helloworld.ofd")).unwrap();
    let p = pki();
    let sealed = seal(&original, &input(&p, SIGNED, 0)).unwrap();
    let report = verifier().verify(&sealed, AT);
    assert_eq!(report.outcome, OfdOutcome::Valid, "{report:#?}");
    checks_all_ok(&report);
    let before = OfdFiles::from_zip(&original).unwrap();
    let after = OfdFiles::from_zip(&sealed).unwrap();
    let old = String::from_utf8(before.get("OFD.xml").unwrap().to_vec()).unwrap();
    let new = String::from_utf8(after.get("OFD.xml").unwrap().to_vec()).unwrap();
    let added = "<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures>";
    assert_eq!(new.replace(added, ""), old);
    for (path, bytes) in before.iter().filter(|(p, _)| *p != "OFD.xml") {
        assert_eq!(after.get(path), Some(bytes), "{path} changed");
    }
}

#[test]
fn a_document_without_pages_is_refused() {
    let err = OfdBuilder::new("id", "t", time::macros::date!(2026 - 01 - 01))
        .build()
        .unwrap_err();
    assert!(matches!(err, OfdWriteError::NoPages), "{err}");
}

#[test]
fn control_characters_in_text_are_refused() {
    for b in [
        builder().page(Page::lines(["a\nb"])),
        builder().custom_data("x", "\u{0}"),
        OfdBuilder::new("id\t", "t", time::macros::date!(2026 - 01 - 01)).page(Page::new()),
    ] {
        let err = b.build().unwrap_err();
        assert!(matches!(err, OfdWriteError::BadText { .. }), "{err}");
    }
}

#[test]
fn numbers_that_are_not_finite_or_negative_are_refused() {
    for page in [
        Page::new().text(f64::NAN, 1.0, 1.0, "x"),
        Page::new().text(1.0, -1.0, 1.0, "x"),
        Page::new().text(1.0, 1.0, f64::INFINITY, "x"),
    ] {
        let err = builder().page(page).build().unwrap_err();
        assert!(matches!(err, OfdWriteError::BadNumber { .. }), "{err}");
    }
    let err = builder().page_size(-210.0, 297.0).build().unwrap_err();
    assert!(matches!(err, OfdWriteError::BadNumber { .. }), "{err}");
    let p = pki();
    let files = builder().build().unwrap();
    for (width, height) in [(0.0, 40.0), (40.0, f64::NAN)] {
        let mut i = input(&p, SIGNED, 0);
        i.boundary.width = width;
        i.boundary.height = height;
        let err = files.seal(&i).unwrap_err();
        assert!(matches!(err, OfdWriteError::BadNumber { .. }), "{err}");
    }
}

#[test]
fn a_page_that_does_not_exist_is_refused() {
    let p = pki();
    let err = builder()
        .build()
        .unwrap()
        .seal(&input(&p, SIGNED, 2))
        .unwrap_err();
    assert!(
        matches!(err, OfdWriteError::NoSuchPage { page: 2, pages: 2 }),
        "{err}"
    );
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused() {
    let p = pki();
    let other = Sm2PrivateKey::generate().unwrap();
    let mut i = input(&p, SIGNED, 0);
    i.signer_key = &other;
    let err = builder().build().unwrap().seal(&i).unwrap_err();
    assert!(matches!(err, OfdWriteError::KeyMismatch), "{err}");
}

#[test]
fn a_seal_that_is_not_gbt38540_is_refused() {
    // ofdrw's GM/T 0031 v1 seal cannot go into a GB/T 38540 signature.
    let v1 = std::fs::read(path("fixtures/ofd/ofdrw/UserV1.esl")).unwrap();
    let p = pki();
    let mut i = input(&p, SIGNED, 0);
    i.seal_der = &v1;
    let err = builder().build().unwrap().seal(&i).unwrap_err();
    assert!(
        matches!(
            err,
            OfdWriteError::Ses(SesError::Build {
                what: "TBS_Sign.eseal",
                ..
            })
        ),
        "{err}"
    );
    let mut i = input(&p, SIGNED, 0);
    i.signed_at = -1;
    let err = builder().build().unwrap().seal(&i).unwrap_err();
    assert!(
        matches!(err, OfdWriteError::Ses(SesError::Build { .. })),
        "{err}"
    );
}

#[test]
fn a_package_the_reader_refuses_is_not_sealed() {
    let p = pki();
    let err = seal(b"not a zip", &input(&p, SIGNED, 0)).unwrap_err();
    assert!(
        matches!(err, OfdWriteError::Read(OfdError::NotAZip)),
        "{err}"
    );
    // Two documents in one package.
    let mut files = builder().build().unwrap();
    let ofd = String::from_utf8(files.get("OFD.xml").unwrap().to_vec()).unwrap();
    let (head, rest) = ofd.split_once("<ofd:DocBody>").unwrap();
    let (body, tail) = rest.split_once("</ofd:DocBody>").unwrap();
    let two =
        format!("{head}<ofd:DocBody>{body}</ofd:DocBody><ofd:DocBody>{body}</ofd:DocBody>{tail}");
    files.insert("OFD.xml", two.into_bytes()).unwrap();
    let err = files.seal(&input(&p, SIGNED, 0)).unwrap_err();
    assert!(
        matches!(err, OfdWriteError::SeveralDocuments { count: 2 }),
        "{err}"
    );
}

#[test]
fn paths_outside_the_package_are_refused() {
    let mut files = OfdFiles::new();
    for bad in [
        "", "/OFD.xml", "../evil", "a/../b", "a//b", "a/./b", "a\\b", "dir/", "a\u{1}",
    ] {
        let err = files.insert(bad, Vec::new()).unwrap_err();
        assert!(
            matches!(err, OfdWriteError::BadPath { .. }),
            "{bad:?}: {err}"
        );
    }
    assert!(files.is_empty());
    files.insert("Doc_0/Res/a.png", vec![1]).unwrap();
    files.insert("Doc_0/Res/a.png", vec![2]).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files.remove("Doc_0/Res/a.png"), Some(vec![2]));
}

#[test]
fn python_reads_a_sealed_package_and_agrees_with_every_digest() {
    // zipfile checks every CRC, ElementTree parses every XML file, hashlib's SM3 recomputes
    // every CheckValue of both signatures: an implementation nobody here wrote.
    let p = pki();
    let zip = builder()
        .build()
        .unwrap()
        .seal(&input(&p, SIGNED, 0))
        .unwrap()
        .seal(&input(&p, SIGNED + 60, 1))
        .unwrap()
        .to_zip()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sealed.ofd");
    std::fs::write(&file, &zip).unwrap();
    let script = r#"
import base64, hashlib, sys, zipfile
import xml.etree.ElementTree as ET
NS = {"ofd": "http://www.ofdspec.org/2016"}
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
for name in z.namelist():
    if name.endswith(".xml"):
        ET.fromstring(z.read(name))
body = ET.fromstring(z.read("OFD.xml")).find("ofd:DocBody", NS)
assert body.find("ofd:DocInfo/ofd:CustomDatas/ofd:CustomData[@Name='证照标识']", NS) is not None
sigs = ET.fromstring(z.read(body.find("ofd:Signatures", NS).text.lstrip("/")))
checked = 0
for s in sigs.findall("ofd:Signature", NS):
    sig = ET.fromstring(z.read(s.get("BaseLoc").lstrip("/")))
    refs = sig.find("ofd:SignedInfo/ofd:References", NS)
    assert refs.get("CheckMethod") == "1.2.156.10197.1.401"
    for r in refs.findall("ofd:Reference", NS):
        data = z.read(r.get("FileRef").lstrip("/"))
        want = base64.b64decode(r.find("ofd:CheckValue", NS).text)
        assert hashlib.new("sm3", data).digest() == want, r.get("FileRef")
        checked += 1
    assert sig.find("ofd:SignedValue", NS).text.lstrip("/") in z.namelist()
print(len(sigs.findall("ofd:Signature", NS)), checked)
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 2 signatures; the first references 6 files, the second those, the first's two files and its own seal.
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2 15");
}
