#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! The OFD reader on real files: ofdrw's signed and unsigned documents in
//! `fixtures/ofd/ofdrw/` (see its SOURCES.md). Each must read, with the pages, signatures and
//! references its SOURCES.md describes; one is cross-checked against Python's zipfile and
//! xml.etree, an implementation nobody here wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

use zhengzhao::ofd::{self, Ofd, OfdDocument, SignatureType};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ofd/ofdrw")
        .join(name)
}

fn read(name: &str) -> Ofd {
    let bytes = std::fs::read(fixture(name)).unwrap();
    ofd::read(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn only_document(ofd: &Ofd) -> &OfdDocument {
    assert_eq!(ofd.documents.len(), 1);
    &ofd.documents[0]
}

fn signature_ids(doc: &OfdDocument) -> Vec<&str> {
    doc.signatures.iter().map(|s| s.id.as_str()).collect()
}

#[test]
fn every_ofd_fixture_reads() {
    let mut seen = 0;
    for entry in std::fs::read_dir(fixture("")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ofd") {
            let bytes = std::fs::read(&path).unwrap();
            let ofd = ofd::read(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(ofd.documents.len(), 1, "{}", path.display());
            seen += 1;
        }
    }
    assert_eq!(seen, 6);
}

#[test]
fn allprotected_has_one_page_and_one_seal_referencing_signatures_xml() {
    let ofd = read("allprotected.ofd");
    let doc = only_document(&ofd);
    assert_eq!(doc.doc_root, "Doc_0/Document.xml");
    assert_eq!(
        doc.doc_id.as_deref(),
        Some("07723bc91fdf4078a17588d63c419bea")
    );
    assert_eq!(doc.creation_date.as_deref(), Some("2020-04-25"));
    assert_eq!(doc.pages.len(), 1);
    assert_eq!(doc.pages[0].path, "Doc_0/Pages/Page_0/Content.xml");
    assert_eq!(doc.resources, vec!["Doc_0/PublicRes.xml"]);
    assert!(doc.missing.is_empty(), "{:?}", doc.missing);
    assert_eq!(
        doc.signatures_path.as_deref(),
        Some("Doc_0/Signs/Signatures.xml")
    );
    assert_eq!(signature_ids(doc), vec!["001"]);
    let sig = &doc.signatures[0];
    assert_eq!(sig.kind, SignatureType::Seal);
    assert_eq!(sig.signature_xml_path, "Doc_0/Signs/Sign_0/Signature.xml");
    assert_eq!(
        sig.signature_xml_bytes,
        ofd.package.get("Doc_0/Signs/Sign_0/Signature.xml").unwrap()
    );
    assert_eq!(sig.signed_value_path, "Doc_0/Signs/Sign_0/SignedValue.dat");
    assert_eq!(
        sig.signed_info.seal_path.as_deref(),
        Some("Doc_0/Signs/Sign_0/Seal.esl")
    );
    let refs: Vec<&str> = sig
        .signed_info
        .references
        .iter()
        .map(|r| r.file_ref.as_str())
        .collect();
    assert!(refs.contains(&"Doc_0/Signs/Signatures.xml"), "{refs:?}");
    // "references every file but its own Signature.xml and SignedValue.dat".
    let mut expected: Vec<&str> = ofd
        .package
        .files()
        .map(|(p, _)| p)
        .filter(|p| {
            *p != "Doc_0/Signs/Sign_0/Signature.xml" && *p != "Doc_0/Signs/Sign_0/SignedValue.dat"
        })
        .collect();
    let mut got = refs.clone();
    expected.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, expected);
    for r in &sig.signed_info.references {
        assert_eq!(r.check_value.len(), 32, "{}", r.file_ref);
        assert_eq!(r.file_ref_raw, format!("/{}", r.file_ref));
    }
}

#[test]
fn v4_ride_right_has_five_pages_a_riding_seal_and_lacks_public_res() {
    let ofd = read("V4RideRight.ofd");
    let doc = only_document(&ofd);
    assert_eq!(doc.pages.len(), 5);
    assert_eq!(doc.missing, vec!["Doc_0/PublicRes.xml"]);
    assert_eq!(signature_ids(doc), vec!["s001"]);
    let annots = &doc.signatures[0].signed_info.stamp_annots;
    assert_eq!(annots.len(), 5);
    let page_ids: Vec<&str> = doc.pages.iter().map(|p| p.id.as_str()).collect();
    for annot in annots {
        assert!(annot.clip.is_some(), "{annot:?}");
        assert!(page_ids.contains(&annot.page_ref.as_str()), "{annot:?}");
    }
}

#[test]
fn h_has_five_pages_and_two_seals_the_first_referencing_signatures_xml() {
    let ofd = read("h.ofd");
    let doc = only_document(&ofd);
    assert_eq!(doc.pages.len(), 5);
    assert_eq!(
        doc.pages.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec!["1", "21", "43", "63", "83"]
    );
    assert_eq!(signature_ids(doc), vec!["s001", "s007"]);
    let s001 = &doc.signatures[0].signed_info;
    let s007 = &doc.signatures[1].signed_info;
    assert_eq!(s001.check_method.as_deref(), Some("SM3"));
    assert_eq!(
        s001.signature_method.as_deref(),
        Some("1.2.156.10197.1.501")
    );
    assert_eq!(
        s001.signature_date_time.as_deref(),
        Some("2020-07-16 16:04:27")
    );
    let provider = s001.provider.as_ref().unwrap();
    assert_eq!(provider.name.as_deref(), Some("ofdrw-sign"));
    assert_eq!(provider.company.as_deref(), Some("ofdrw"));
    assert_eq!(provider.version.as_deref(), Some("1.5.2"));
    assert!(
        s001.references
            .iter()
            .any(|r| r.file_ref == "Doc_0/Signs/Signatures.xml")
    );
    assert!(
        !s007
            .references
            .iter()
            .any(|r| r.file_ref == "Doc_0/Signs/Signatures.xml")
    );
    assert_eq!(
        doc.signatures[1].signature_xml_path,
        "Doc_0/Signs/Sign_1/Signature.xml"
    );
}

#[test]
fn sesv4_sign_doc_has_one_seal() {
    let ofd = read("SESV4SignDoc.ofd");
    let doc = only_document(&ofd);
    assert_eq!(doc.pages.len(), 1);
    assert_eq!(signature_ids(doc), vec!["1"]);
    assert_eq!(doc.signatures[0].kind, SignatureType::Seal);
}

#[test]
fn digital_sign_has_one_sign_signature_without_a_seal() {
    let ofd = read("DigitalSign.ofd");
    let doc = only_document(&ofd);
    assert_eq!(signature_ids(doc), vec!["s001"]);
    let sig = &doc.signatures[0];
    assert_eq!(sig.kind, SignatureType::Sign);
    assert_eq!(sig.signed_info.seal_path, None);
    assert_eq!(
        ofd.package.get(&sig.signed_value_path).map(<[u8]>::len),
        Some(70)
    );
}

#[test]
fn helloworld_is_unsigned() {
    let ofd = read("helloworld.ofd");
    let doc = only_document(&ofd);
    assert_eq!(doc.pages.len(), 1);
    assert_eq!(doc.signatures_path, None);
    assert!(doc.signatures.is_empty());
    assert!(doc.missing.is_empty());
}

#[test]
fn no_fixture_carries_a_licence_id() {
    for name in ["allprotected.ofd", "h.ofd", "helloworld.ofd"] {
        let ofd = read(name);
        let doc = only_document(&ofd);
        assert!(doc.custom_datas.is_empty(), "{name}");
        assert_eq!(doc.licence_id.id(), None, "{name}");
        assert!(!doc.licence_id.is_invalid(), "{name}");
    }
}

#[test]
fn every_signature_names_sm3_and_sm2_with_sm3() {
    for name in [
        "allprotected.ofd",
        "V4RideRight.ofd",
        "h.ofd",
        "SESV4SignDoc.ofd",
        "DigitalSign.ofd",
    ] {
        let ofd = read(name);
        for sig in &only_document(&ofd).signatures {
            assert_eq!(
                sig.signed_info.check_method.as_deref(),
                Some("SM3"),
                "{name}"
            );
            assert_eq!(
                sig.signed_info.signature_method.as_deref(),
                Some("1.2.156.10197.1.501"),
                "{name}"
            );
        }
    }
}

/// The references whose CheckValue is not SM3 of the package file they resolve to.
fn mismatched_references(ofd: &Ofd, signature: usize) -> Vec<String> {
    let sig = &only_document(ofd).signatures[signature];
    sig.signed_info
        .references
        .iter()
        .filter(|r| {
            ofd.package
                .get(&r.file_ref)
                .is_none_or(|bytes| zhengzhao::gm::sm3(bytes).as_slice() != r.check_value)
        })
        .map(|r| r.file_ref.clone())
        .collect()
}

#[test]
fn references_resolve_to_the_files_their_digests_were_taken_of() {
    // Not a verification (that is the verifier's), but it shows each FileRef resolved to the
    // very file it names: the digests match, except where SOURCES.md says they must not.
    for name in [
        "allprotected.ofd",
        "V4RideRight.ofd",
        "SESV4SignDoc.ofd",
        "DigitalSign.ofd",
    ] {
        assert_eq!(
            mismatched_references(&read(name), 0),
            Vec::<String>::new(),
            "{name}"
        );
    }
    let h = read("h.ofd");
    assert_eq!(
        mismatched_references(&h, 0),
        vec!["Doc_0/Signs/Signatures.xml"]
    );
    assert_eq!(mismatched_references(&h, 1), Vec::<String>::new());
}

/// What Python's zipfile and xml.etree see in `h.ofd`: every file with its size and SHA-256,
/// the pages' BaseLoc, the signatures' ID/Type/BaseLoc, and each signature's references
/// (FileRef and CheckValue as written).
const PYTHON: &str = r#"
import hashlib, json, sys, zipfile
import xml.etree.ElementTree as ET
NS = '{http://www.ofdspec.org/2016}'
z = zipfile.ZipFile(sys.argv[1])
files = [[i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest()]
         for i in z.infolist() if not i.filename.endswith('/')]
ofd = ET.fromstring(z.read('OFD.xml'))
root = ofd.find(NS + 'DocBody/' + NS + 'DocRoot').text
doc = ET.fromstring(z.read(root))
pages = [[p.get('ID'), p.get('BaseLoc')] for p in doc.iter(NS + 'Page')]
sigs_loc = ofd.find(NS + 'DocBody/' + NS + 'Signatures').text
sigs = ET.fromstring(z.read(sigs_loc.lstrip('/')))
signatures = []
for s in sigs.iter(NS + 'Signature'):
    x = ET.fromstring(z.read(s.get('BaseLoc').lstrip('/')))
    refs = [[r.get('FileRef'), r.find(NS + 'CheckValue').text] for r in x.iter(NS + 'Reference')]
    method = x.find('.//' + NS + 'References').get('CheckMethod')
    signatures.append([s.get('ID'), s.get('Type'), s.get('BaseLoc'), method, refs])
print(json.dumps({'files': files, 'pages': pages, 'signatures': signatures}))
"#;

#[test]
fn h_reads_as_python_reads_it() {
    use base64::Engine as _;

    let path = fixture("h.ofd");
    let out = Command::new("python3")
        .arg("-c")
        .arg(PYTHON)
        .arg(&path)
        .output()
        .expect("python3 must be installed to run this cross-check");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let ofd = read("h.ofd");
    let doc = only_document(&ofd);
    let files: Vec<serde_json::Value> = ofd
        .package
        .files()
        .map(|(p, b)| serde_json::json!([p, b.len(), sha256_hex(b)]))
        .collect();
    assert_eq!(python["files"], serde_json::Value::from(files));

    let pages: Vec<serde_json::Value> = doc
        .pages
        .iter()
        .map(|p| {
            let raw = p.path.strip_prefix("Doc_0/").unwrap();
            serde_json::json!([p.id, raw])
        })
        .collect();
    assert_eq!(python["pages"], serde_json::Value::from(pages));

    let sigs: Vec<serde_json::Value> = doc
        .signatures
        .iter()
        .map(|s| {
            let kind = match s.kind {
                SignatureType::Seal => "Seal",
                SignatureType::Sign => "Sign",
            };
            let refs: Vec<serde_json::Value> = s
                .signed_info
                .references
                .iter()
                .map(|r| {
                    serde_json::json!([
                        r.file_ref_raw,
                        base64::engine::general_purpose::STANDARD.encode(&r.check_value)
                    ])
                })
                .collect();
            serde_json::json!([
                s.id,
                kind,
                format!("/{}", s.signature_xml_path),
                s.signed_info.check_method,
                refs
            ])
        })
        .collect();
    assert_eq!(python["signatures"], serde_json::Value::from(sigs));
}

/// SHA-256 (through ring), as hex.
fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}
