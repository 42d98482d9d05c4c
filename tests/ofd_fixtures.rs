#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! The generated OFD fixtures: every file in `fixtures/ofd/generated/` is named
//! `<outcome>.<case>.ofd` and must verify to that outcome with the four demo SM2 roots from
//! `certs/`, each bound to its own region (and their CRLs), at 2026-12-01T00:00:00Z.
//! `fixtures/ofd/generated/MANIFEST.json` says, per file, which checks of each signature must
//! fail — exactly those, so a case meant to fail one check alone does — and, where it matters,
//! the uncovered files and a phrase of a check's detail. The manifest is written from what each
//! case was built to be, never from a verifier's answer.
//!
//! The generator is the ignored test `regenerate`:
//! `cargo test --test ofd_fixtures -- --ignored regenerate` rewrites `fixtures/ofd/generated/`
//! from the demo PKI in `certs/` (the committed `seal.esl` seals and their keys) and from
//! certificates it makes for the occasion (another signer under a region's root, an untrusted
//! root, an expired signer). Fresh certificates are random, so a run rewrites those files;
//! the outcomes stay the same.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::command::{openssl_pubkey, openssl_sm2_verify};
use support::{FIXTURE_AT, FIXTURE_IAT, REGIONS, cert_path, read, root};
use zhengzhao::codes::{LicenceId, RegionCode};
use zhengzhao::demo::seal::{DEMO_SEAL_FILE, DEMO_SEAL_VALIDITY, demo_seal_picture};
use zhengzhao::demo::{DEMO_CA_VALIDITY, DEMO_REGIONS, Sm2LeafSpec, sm2_cert};
use zhengzhao::gm::{self, SigEncoding, Sm2PrivateKey, Sm2Signature};
use zhengzhao::ofd::report::{OfdOutcome, OfdReport};
use zhengzhao::ofd::ses::{self, SealSpec, SignedValue, TbsSpec};
use zhengzhao::ofd::verify::OfdVerifier;
use zhengzhao::ofd::write::{Boundary, OfdBuilder, OfdFiles, Page, SealInput};
use zhengzhao::pki::trust::TrustStore;

const OUTCOMES: [OfdOutcome; 9] = [
    OfdOutcome::Malformed,
    OfdOutcome::UnsupportedAlgorithm,
    OfdOutcome::Tampered,
    OfdOutcome::BadSignature,
    OfdOutcome::UntrustedIssuer,
    OfdOutcome::Expired,
    OfdOutcome::NotCovered,
    OfdOutcome::Unsigned,
    OfdOutcome::Valid,
];

fn dir() -> PathBuf {
    root().join("fixtures/ofd/generated")
}

fn manifest() -> BTreeMap<String, Value> {
    serde_json::from_slice(&read(&dir().join("MANIFEST.json"))).unwrap()
}

/// The four demo SM2 roots, each bound to its region, with their CRLs.
fn sm2_store() -> TrustStore {
    let mut store = TrustStore::new();
    for r in REGIONS {
        let region: RegionCode = r.parse().unwrap();
        store
            .add_pem(&read(&cert_path(r, "sm2-root.pem")), &[region], r)
            .unwrap();
        store
            .add_crl_pem(&read(&cert_path(r, "sm2-root.crl.pem")), r)
            .unwrap();
    }
    store
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ofd"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                read(&p),
            )
        })
        .collect();
    out.sort();
    out
}

fn failing(report: &OfdReport, sig: usize) -> Vec<String> {
    let mut names: Vec<String> = report.signatures[sig]
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.check.to_owned())
        .collect();
    names.sort();
    names
}

fn strings(v: &Value) -> Vec<String> {
    let mut s: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect();
    s.sort();
    s
}

#[test]
fn every_generated_fixture_gives_its_named_outcome_and_fails_exactly_its_checks() {
    let verifier = OfdVerifier::new(sm2_store());
    let manifest = manifest();
    let files = fixtures();
    let mut problems = Vec::new();
    let mut seen = BTreeMap::<OfdOutcome, usize>::new();
    for (name, bytes) in &files {
        let Some(want) = manifest.get(name) else {
            problems.push(format!("{name}: not in MANIFEST.json"));
            continue;
        };
        let outcome = name.split('.').next().unwrap();
        assert_eq!(
            want["outcome"], outcome,
            "{name}: manifest and name disagree"
        );
        let report = verifier.verify(bytes, FIXTURE_AT);
        *seen.entry(report.outcome).or_default() += 1;
        if report.outcome.as_str() != outcome {
            problems.push(format!(
                "{name}: expected {outcome}, got {} ({:?}; {:#?})",
                report.outcome.as_str(),
                report.error,
                report.signatures
            ));
            continue;
        }
        let sigs = want["signatures"].as_array().unwrap();
        if sigs.len() != report.signatures.len() {
            problems.push(format!(
                "{name}: {} signatures, expected {}",
                report.signatures.len(),
                sigs.len()
            ));
            continue;
        }
        for (i, expected) in sigs.iter().enumerate() {
            let got = failing(&report, i);
            if got != strings(expected) {
                problems.push(format!(
                    "{name}: signature {i} fails {got:?}, expected {expected}: {:#?}",
                    report.signatures[i].checks
                ));
            }
        }
        if let Some(uncovered) = want.get("uncovered") {
            let mut got = report.uncovered.clone();
            got.sort();
            if got != strings(uncovered) {
                problems.push(format!("{name}: uncovered {got:?}, expected {uncovered}"));
            }
        }
        if let Some(d) = want.get("detail") {
            let sig = d["signature"].as_u64().unwrap() as usize;
            let check = d["check"].as_str().unwrap();
            let phrase = d["contains"].as_str().unwrap();
            let detail = &report.signatures[sig]
                .checks
                .iter()
                .find(|c| c.check == check)
                .unwrap()
                .detail;
            if !detail.contains(phrase) {
                problems.push(format!("{name}: {check} says {detail:?}, not {phrase:?}"));
            }
        }
        if let Some(phrase) = want.get("error") {
            let error = report.error.clone().unwrap_or_default();
            if !error.contains(phrase.as_str().unwrap()) {
                problems.push(format!("{name}: error {error:?}, not {phrase}"));
            }
        }
        if report.outcome == OfdOutcome::Valid {
            assert!(report.uncovered.is_empty(), "{name}");
            for s in &report.signatures {
                assert_eq!(s.checks.len(), 9, "{name}: {:?}", s.checks);
            }
        }
    }
    for file in manifest.keys() {
        if !files.iter().any(|(n, _)| n == file) {
            problems.push(format!("{file}: in MANIFEST.json but missing"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for o in OUTCOMES {
        assert!(seen.contains_key(&o), "no fixture for {}", o.as_str());
    }
    assert!(files.len() >= 28, "fixtures went missing: {}", files.len());
}

#[test]
fn each_vendor_encoding_of_the_signature_value_is_what_its_fixture_holds() {
    for (name, encoding) in [
        ("valid.vendor-raw-signature.ofd", SigEncoding::Raw),
        (
            "valid.vendor-der-without-leading-zero.ofd",
            SigEncoding::LenientDer,
        ),
        ("valid.one-seal.ofd", SigEncoding::Der),
    ] {
        let files = OfdFiles::from_zip(&read(&dir().join(name))).unwrap();
        let value = files.get("Doc_0/Signs/Sign_0/SignedValue.dat").unwrap();
        let s = ses::parse_ses_signature(value).unwrap();
        let sig = Sm2Signature::parse(&s.signature).unwrap();
        assert_eq!(sig.encoding(), encoding, "{name}");
    }
}

#[test]
fn zip_bombs_are_refused_fast() {
    let verifier = OfdVerifier::new(sm2_store());
    for name in [
        "malformed.zip-bomb.ofd",
        "malformed.zip-bomb-lying-sizes.ofd",
    ] {
        let bytes = read(&dir().join(name));
        assert!(bytes.len() < 256 << 10, "{name}: {} bytes", bytes.len());
        let start = Instant::now();
        let report = verifier.verify(&bytes, FIXTURE_AT);
        let took = start.elapsed();
        assert_eq!(report.outcome, OfdOutcome::Malformed, "{name}");
        assert!(took < Duration::from_secs(1), "{name}: {took:?}");
    }
}

/// `openssl dgst -sm3 -sigopt distid:1234567812345678 -verify`, of a DER signature over `data`
/// with the key of the certificate `cert_der`: whether OpenSSL says `Verified OK`.
fn openssl_verifies(dir: &Path, cert_der: &[u8], data: &[u8], sig: &[u8]) -> bool {
    std::fs::write(dir.join("cert.der"), cert_der).unwrap();
    let pubkey = openssl_pubkey(&dir.join("cert.der"));
    std::fs::write(dir.join("pub.pem"), &pubkey).unwrap();
    std::fs::write(dir.join("data"), data).unwrap();
    let der = Sm2Signature::parse(sig).unwrap().to_der();
    std::fs::write(dir.join("sig.der"), der).unwrap();
    let out = openssl_sm2_verify(
        &dir.join("pub.pem"),
        &dir.join("sig.der"),
        &dir.join("data"),
    );
    String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

fn openssl_sm3(dir: &Path, data: &[u8]) -> Vec<u8> {
    std::fs::write(dir.join("digest-input"), data).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sm3", "-binary"])
        .arg(dir.join("digest-input"))
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn openssl_agrees_with_every_digest_and_sm2_signature_of_every_fixture() {
    // For every signature the reader can reach: OpenSSL's SM3 of each referenced file and of
    // Signature.xml, and its SM2 verification of the signature (over DER(TBS_Sign)) and of
    // the seal maker's (over DER(eSealInfo)), agree with the checks MANIFEST.json names as
    // passing or failing.
    let manifest = manifest();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut signatures = 0;
    for (name, bytes) in fixtures() {
        let Ok(ofd) = zhengzhao::ofd::read(&bytes) else {
            continue;
        };
        let want = &manifest[&name]["signatures"];
        for (i, entry) in ofd.documents[0].signatures.iter().enumerate() {
            let fails = strings(&want[i]);
            let fails = |c: &str| fails.iter().any(|f| f == c);
            let Some(value) = ofd.package.get(&entry.signed_value_path) else {
                continue;
            };
            let Ok(SignedValue::Ses(s)) = ses::parse_signed_value(value) else {
                assert!(fails("signature"), "{name}: unreadable value");
                continue;
            };
            signatures += 1;
            let info = &entry.signed_info;
            if info.check_method.as_deref() == Some(gm::OID_SM3) {
                let all_match = info.references.iter().all(|r| {
                    ofd.package
                        .get(&r.file_ref)
                        .is_some_and(|f| openssl_sm3(d, f) == r.check_value)
                });
                assert_eq!(all_match, !fails("references"), "{name} #{i}: references");
            }
            assert_eq!(
                openssl_sm3(d, &entry.signature_xml_bytes) == s.data_hash,
                !fails("data_hash"),
                "{name} #{i}: data hash"
            );
            if s.signature_alg == gm::OID_SM2_WITH_SM3 {
                assert_eq!(
                    openssl_verifies(d, &s.signer_cert_der, &s.tbs_der, &s.signature),
                    !fails("signature"),
                    "{name} #{i}: signature"
                );
            }
            assert_eq!(
                openssl_verifies(
                    d,
                    &s.seal.maker_cert_der,
                    &s.seal.maker_signed_bytes,
                    &s.seal.maker_signature
                ),
                !fails("seal_signature"),
                "{name} #{i}: seal maker's signature"
            );
        }
    }
    assert!(signatures >= 25, "only {signatures} signatures checked");
}

#[test]
fn the_command_line_agrees_with_the_fixtures_it_is_given() {
    let mut args: Vec<String> = vec![
        "ofd".into(),
        "verify".into(),
        "--json".into(),
        "--at".into(),
        "2026-12-01T00:00:00Z".into(),
    ];
    for r in REGIONS {
        args.push("--trust".into());
        args.push(format!(
            "{}={r}",
            cert_path(r, "sm2-root.pem").to_str().unwrap()
        ));
    }
    for (name, code) in [
        ("valid.two-seals.ofd", 0),
        ("untrusted_issuer.seal-of-another-region.ofd", 1),
        ("not_covered.page-added-after-sealing.ofd", 1),
        ("malformed.not-a-zip.ofd", 1),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_zhengzhao"))
            .args(&args)
            .arg(dir().join(name))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{name}");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["outcome"], name.split('.').next().unwrap(), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// The generator.

/// A signer: certificate (DER) and key.
struct Signer {
    cert: Vec<u8>,
    key: Sm2PrivateKey,
}

/// A region's committed material.
struct Region {
    code: &'static str,
    uscc: &'static str,
    root: sm2_cert::Sm2Ca,
    maker: Signer,
    signer: Signer,
    seal: Vec<u8>,
}

fn text(code: &str, file: &str) -> String {
    String::from_utf8(read(&cert_path(code, file))).unwrap()
}

fn der(pem: &str) -> Vec<u8> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .unwrap()
        .1
        .contents
}

fn pair(cert_pem: &str, key_pem: &str) -> Signer {
    Signer {
        cert: der(cert_pem),
        key: Sm2PrivateKey::from_pem(key_pem).unwrap(),
    }
}

fn load(code: &'static str) -> Region {
    let d = DEMO_REGIONS.iter().find(|r| r.code == code).unwrap();
    Region {
        code,
        uscc: d.issuer_uscc,
        root: sm2_cert::Sm2Ca::from_pem(&text(code, "sm2-root.pem"), &text(code, "sm2-root.key"))
            .unwrap(),
        maker: pair(&text(code, "seal-maker.pem"), &text(code, "seal-maker.key")),
        signer: pair(
            &text(code, "seal-signer.pem"),
            &text(code, "seal-signer.key"),
        ),
        seal: read(&cert_path(code, DEMO_SEAL_FILE)),
    }
}

const TYPE_CODE: &str = "11100000000013338W032";
const DAY: i64 = 86_400;

/// A demo licence of `region`'s authority as an OFD document, with `pages` pages.
fn licence(region: &Region, serial: &str, pages: usize) -> OfdFiles {
    let id = LicenceId::new(
        TYPE_CODE.parse().unwrap(),
        region.uscc.parse().unwrap(),
        serial,
        1,
    )
    .unwrap();
    let authority = DEMO_REGIONS
        .iter()
        .find(|r| r.code == region.code)
        .unwrap()
        .authority;
    let mut b = OfdBuilder::new(
        format!("{:0>32}", serial.to_lowercase()),
        "建筑施工企业安全生产许可证",
        time::macros::date!(2026 - 11 - 01),
    )
    .custom_data("证照标识", id.as_str())
    .custom_data("证照类型代码", TYPE_CODE)
    .custom_data("持证主体", "示例建设有限公司")
    .custom_data("发证机构", authority)
    .page(Page::lines([
        "建筑施工企业安全生产许可证".to_owned(),
        String::new(),
        format!("编号：FIXTURE-{serial}"),
        "单位名称：示例建设有限公司".to_owned(),
        "统一社会信用代码：91110000600037341L".to_owned(),
        "许可范围：建筑施工".to_owned(),
        String::new(),
        format!("发证机关：{authority}"),
        "发证日期：2026年11月01日".to_owned(),
    ]));
    for n in 1..pages {
        b = b.page(Page::lines([format!("附页 {n}"), "（示例）".to_owned()]));
    }
    b.build().unwrap()
}

fn input<'a>(seal: &'a [u8], signer: &'a Signer, signed_at: i64) -> SealInput<'a> {
    SealInput {
        seal_der: seal,
        signer_cert_der: &signer.cert,
        signer_key: &signer.key,
        signed_at,
        page: 0,
        boundary: Boundary {
            x: 130.0,
            y: 80.0,
            width: 40.0,
            height: 40.0,
        },
    }
}

/// A seal made by `maker`, listing `signers`, valid from `start` to `end`.
fn make_seal(maker: &Signer, signers: &[&[u8]], name: &str, start: i64, end: i64) -> Vec<u8> {
    ses::build_seal_v4(
        &SealSpec {
            vendor_id: "zhengzhao-fixture",
            es_id: "fixture-seal",
            seal_type: 1,
            name,
            signer_certs: signers,
            created: start,
            valid_start: start,
            valid_end: end,
            picture_type: "PNG",
            picture: &demo_seal_picture().unwrap(),
            width: 40,
            height: 40,
        },
        &maker.cert,
        &maker.key,
    )
    .unwrap()
}

/// A certificate issued under `ca` from `spec`.
fn issue(ca: &sm2_cert::Sm2Ca, spec: &Sm2LeafSpec) -> Signer {
    let ck = sm2_cert::issue_sm2_leaf(ca, spec).unwrap();
    pair(&ck.cert_pem, &ck.key_pem)
}

fn seal_start() -> i64 {
    DEMO_SEAL_VALIDITY.0.unix_timestamp()
}

fn xml_of(files: &OfdFiles, path: &str) -> String {
    String::from_utf8(files.get(path).unwrap().to_vec()).unwrap()
}

/// Rewrites `Sign_<n>/Signature.xml` with `edit` and signs it again (a new SignedValue.dat
/// whose dataHash is the new file's), as a signer who wrote it that way would have.
fn resign(
    files: &mut OfdFiles,
    n: usize,
    seal: &[u8],
    signer: &Signer,
    signed_at: i64,
    edit: impl FnOnce(String) -> String,
) {
    let path = format!("Doc_0/Signs/Sign_{n}/Signature.xml");
    let xml = edit(xml_of(files, &path));
    let value = ses::sign_v4(
        &TbsSpec {
            signed_at,
            data_hash: gm::sm3(xml.as_bytes()),
            property_info: &format!("/{path}"),
        },
        seal,
        &signer.cert,
        &signer.key,
    )
    .unwrap();
    files.insert(&path, xml.into_bytes()).unwrap();
    files
        .insert(&format!("Doc_0/Signs/Sign_{n}/SignedValue.dat"), value)
        .unwrap();
}

/// A DER TLV.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// DER of the OID SM2-with-SM3, 1.2.156.10197.1.501.
const OID_SM2_SM3_TLV: [u8; 10] = [0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75];
/// DER of the OID SM2-with-SHA1, 1.2.156.10197.1.502 (GM/T 0006).
const OID_SM2_SHA1_TLV: [u8; 10] = [0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x76];

/// A v4 `SES_Signature` rebuilt from `value` with another algorithm OID and signature bytes:
/// `SEQUENCE { TBS_Sign (as stored), cert, signatureAlgID, signature }`.
fn rebuild(value: &[u8], alg_tlv: &[u8], signature: &[u8]) -> Vec<u8> {
    let s = ses::parse_ses_signature(value).unwrap();
    let mut body = s.tbs_der.clone();
    body.extend(tlv(0x04, &s.signer_cert_der));
    body.extend_from_slice(alg_tlv);
    let mut bits = vec![0];
    bits.extend_from_slice(signature);
    body.extend(tlv(0x03, &bits));
    tlv(0x30, &body)
}

/// DER `SEQUENCE { r, s }` of a raw signature with each INTEGER's content the bare 32-byte
/// big-endian number (leading zero bytes dropped, none added): what some vendors write.
fn der_without_leading_zero(raw: &[u8; 64]) -> Vec<u8> {
    let int = |x: &[u8]| {
        let x: Vec<u8> = x.iter().copied().skip_while(|b| *b == 0).collect();
        tlv(0x02, &x)
    };
    let mut body = int(&raw[..32]);
    body.extend(int(&raw[32..]));
    tlv(0x30, &body)
}

/// The central and local header offsets of the zip entry `name`.
fn entry_headers(zip: &[u8], name: &str) -> (usize, usize) {
    let le16 = |at: usize| u16::from_le_bytes([zip[at], zip[at + 1]]) as usize;
    let le32 = |at: usize| u32::from_le_bytes(zip[at..at + 4].try_into().unwrap()) as usize;
    let mut at = 0;
    while let Some(i) = zip[at..].windows(4).position(|w| w == b"PK\x01\x02") {
        let c = at + i;
        let n = le16(c + 28);
        if &zip[c + 46..c + 46 + n] == name.as_bytes() {
            return (c, le32(c + 42));
        }
        at = c + 4;
    }
    panic!("no entry {name}");
}

/// A zip of `files` plus entries whose names the writer would refuse, written as given.
fn zip_with_raw_names(files: &OfdFiles, extra: &[(&str, &[u8])]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let all = files
        .iter()
        .chain(extra.iter().map(|(n, b)| (*n, *b)))
        .collect::<Vec<_>>();
    for (name, bytes) in all {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::DEFAULT)
            .name(name.as_bytes());
        w.start_file_with_options(options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

struct Out {
    dir: PathBuf,
    manifest: BTreeMap<String, Value>,
}

impl Out {
    /// Writes `<outcome>.<case>.ofd`: `failing` lists, per signature, the checks that must fail;
    /// `extra` adds `uncovered`, `detail` or `error` to its manifest entry.
    fn put(&mut self, name: &str, bytes: &[u8], failing: &[&[&str]], extra: Value) {
        std::fs::write(self.dir.join(name), bytes).unwrap();
        let mut entry = json!({
            "outcome": name.split('.').next().unwrap(),
            "signatures": failing,
        });
        if let Value::Object(m) = extra {
            for (k, v) in m {
                entry[k] = v;
            }
        }
        self.manifest.insert(name.to_owned(), entry);
    }
}

#[test]
#[ignore = "generator: rewrites fixtures/ofd/generated/ from certs/"]
fn regenerate() {
    let dir = dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut out = Out {
        dir: dir.clone(),
        manifest: BTreeMap::new(),
    };
    let r = load("370900");
    let jinan = load("370115");
    let signed = FIXTURE_IAT;
    let ok: &[&str] = &[];
    let none = json!({});
    let sealed = |files: &OfdFiles, seal: &[u8], signer: &Signer, at: i64| {
        files.seal(&input(seal, signer, at)).unwrap()
    };
    let one = sealed(&licence(&r, "OFD0001", 1), &r.seal, &r.signer, signed);

    // valid
    out.put(
        "valid.one-seal.ofd",
        &one.to_zip().unwrap(),
        &[ok],
        json!({"uncovered": []}),
    );
    let first = sealed(&licence(&r, "OFD0002", 2), &r.seal, &r.signer, signed - DAY);
    let mut second_input = input(&r.seal, &r.signer, signed);
    second_input.page = 1;
    let two = first.seal(&second_input).unwrap();
    out.put(
        "valid.two-seals.ofd",
        &two.to_zip().unwrap(),
        &[ok, ok],
        json!({"uncovered": []}),
    );
    for code in ["370115", "140802", "370306"] {
        let other = load(code);
        let files = sealed(
            &licence(&other, "OFD0003", 1),
            &other.seal,
            &other.signer,
            signed,
        );
        out.put(
            &format!("valid.seal-{code}.ofd"),
            &files.to_zip().unwrap(),
            &[ok],
            json!({"uncovered": []}),
        );
    }
    let value_path = "Doc_0/Signs/Sign_0/SignedValue.dat";
    let reencoded = |files: &OfdFiles, encode: &dyn Fn(&[u8; 64]) -> Vec<u8>| {
        let mut files = files.clone();
        let value = files.get(value_path).unwrap().to_vec();
        let raw = Sm2Signature::parse(&ses::parse_ses_signature(&value).unwrap().signature)
            .unwrap()
            .to_raw();
        files
            .insert(value_path, rebuild(&value, &OID_SM2_SM3_TLV, &encode(&raw)))
            .unwrap();
        files
    };
    let raw = reencoded(
        &sealed(&licence(&r, "OFD0004", 1), &r.seal, &r.signer, signed),
        &|raw| raw.to_vec(),
    );
    out.put(
        "valid.vendor-raw-signature.ofd",
        &raw.to_zip().unwrap(),
        &[ok],
        json!({"uncovered": []}),
    );
    // A signature whose r or s has its top bit set, so that DER needs a leading zero to omit.
    let lenient = (0..64)
        .map(|k| sealed(&licence(&r, "OFD0005", 1), &r.seal, &r.signer, signed + k))
        .find(|f| {
            let v = ses::parse_ses_signature(f.get(value_path).unwrap()).unwrap();
            let raw = Sm2Signature::parse(&v.signature).unwrap().to_raw();
            raw[0] >= 0x80 || raw[32] >= 0x80
        })
        .unwrap();
    out.put(
        "valid.vendor-der-without-leading-zero.ofd",
        &reencoded(&lenient, &der_without_leading_zero)
            .to_zip()
            .unwrap(),
        &[ok],
        json!({"uncovered": []}),
    );

    // tampered
    let mut files = one.clone();
    let page = "Doc_0/Pages/Page_0/Content.xml";
    let changed =
        xml_of(&files, page).replace("许可范围：建筑施工", "许可范围：建筑施工、爆破作业");
    files.insert(page, changed.into_bytes()).unwrap();
    out.put(
        "tampered.page-changed-after-sealing.ofd",
        &files.to_zip().unwrap(),
        &[&["references"]],
        json!({"detail": {"signature": 0, "check": "references", "contains": "/Doc_0/Pages/Page_0/Content.xml does not match"}}),
    );
    let mut files = one.clone();
    let sig_xml = "Doc_0/Signs/Sign_0/Signature.xml";
    let spaced = format!("{}\n", xml_of(&files, sig_xml));
    files.insert(sig_xml, spaced.into_bytes()).unwrap();
    out.put(
        "tampered.signature-xml-changed-after-signing.ofd",
        &files.to_zip().unwrap(),
        &[&["data_hash"]],
        none.clone(),
    );
    // ofdrw's pitfall: a first seal that references Signatures.xml breaks when a second seal
    // rewrites it; the second seal is valid.
    let mut files = sealed(&licence(&r, "OFD0006", 1), &r.seal, &r.signer, signed - DAY);
    let listed = STANDARD.encode(gm::sm3(files.get("Doc_0/Signs/Signatures.xml").unwrap()));
    resign(&mut files, 0, &r.seal, &r.signer, signed - DAY, |x| {
        x.replace(
            "</ofd:References>",
            &format!(
                r#"<ofd:Reference FileRef="/Doc_0/Signs/Signatures.xml"><ofd:CheckValue>{listed}</ofd:CheckValue></ofd:Reference></ofd:References>"#
            ),
        )
    });
    let files = sealed(&files, &r.seal, &r.signer, signed);
    out.put(
        "tampered.first-seal-referenced-signatures-xml.ofd",
        &files.to_zip().unwrap(),
        &[&["references"], ok],
        json!({"detail": {"signature": 0, "check": "references", "contains": "/Doc_0/Signs/Signatures.xml does not match its digest"}}),
    );

    // bad_signature
    let mut files = one.clone();
    let mut value = files.get(value_path).unwrap().to_vec();
    *value.last_mut().unwrap() ^= 0x01;
    files.insert(value_path, value).unwrap();
    out.put(
        "bad_signature.signature-bit-flipped.ofd",
        &files.to_zip().unwrap(),
        &[&["signature"]],
        none.clone(),
    );
    let mut broken_seal = r.seal.clone();
    *broken_seal.last_mut().unwrap() ^= 0x01;
    let files = sealed(&licence(&r, "OFD0007", 1), &broken_seal, &r.signer, signed);
    out.put(
        "bad_signature.seal-maker-signature-bit-flipped.ofd",
        &files.to_zip().unwrap(),
        &[&["seal_signature"]],
        none.clone(),
    );

    // expired
    let short = make_seal(
        &r.maker,
        &[&r.signer.cert],
        "泰安市行政审批服务局电子印章（半年）",
        seal_start(),
        seal_start() + 151 * DAY, // 2026-06-01
    );
    let files = sealed(&licence(&r, "OFD0008", 1), &short, &r.signer, signed);
    out.put(
        "expired.seal-used-after-its-validity.ofd",
        &files.to_zip().unwrap(),
        &[&["seal_validity"]],
        none.clone(),
    );
    let files = sealed(
        &licence(&r, "OFD0009", 1),
        &r.seal,
        &r.signer,
        FIXTURE_AT + 180 * DAY,
    );
    out.put(
        "expired.signed-in-the-future.ofd",
        &files.to_zip().unwrap(),
        &[&["signer_validity"]],
        json!({"detail": {"signature": 0, "check": "signer_validity", "contains": "signed in the future"}}),
    );

    // untrusted_issuer
    let demo = DEMO_REGIONS.iter().find(|d| d.code == r.code).unwrap();
    let mut spec = Sm2LeafSpec::seal_signer(demo);
    spec.common_name = "泰安市另一签章人 (fixture)".into();
    let stranger = issue(&r.root, &spec);
    let files = sealed(&licence(&r, "OFD0010", 1), &r.seal, &stranger, signed);
    out.put(
        "untrusted_issuer.signer-not-in-seal.ofd",
        &files.to_zip().unwrap(),
        &[&["signer_in_seal"]],
        none.clone(),
    );
    let (untrusted_root, _) = sm2_cert::sm2_root_ca(
        "泰安市电子证照SM2根CA (demo)",
        demo.authority,
        DEMO_CA_VALIDITY,
    )
    .unwrap();
    let impostor = issue(&untrusted_root, &Sm2LeafSpec::seal_signer(demo));
    let seal = make_seal(
        &r.maker,
        &[&impostor.cert],
        "泰安市行政审批服务局电子印章",
        seal_start(),
        DEMO_SEAL_VALIDITY.1.unix_timestamp(),
    );
    let files = sealed(&licence(&r, "OFD0011", 1), &seal, &impostor, signed);
    out.put(
        "untrusted_issuer.signer-from-untrusted-root.ofd",
        &files.to_zip().unwrap(),
        &[&["signer_chain"]],
        none.clone(),
    );
    let rogue_maker = issue(&untrusted_root, &Sm2LeafSpec::seal_maker(demo));
    let seal = make_seal(
        &rogue_maker,
        &[&r.signer.cert],
        "泰安市行政审批服务局电子印章",
        seal_start(),
        DEMO_SEAL_VALIDITY.1.unix_timestamp(),
    );
    let files = sealed(&licence(&r, "OFD0012", 1), &seal, &r.signer, signed);
    out.put(
        "untrusted_issuer.seal-maker-from-untrusted-root.ofd",
        &files.to_zip().unwrap(),
        &[&["seal_maker_chain"]],
        none.clone(),
    );
    let files = sealed(
        &licence(&r, "OFD0013", 1),
        &jinan.seal,
        &jinan.signer,
        signed,
    );
    out.put(
        "untrusted_issuer.seal-of-another-region.ofd",
        &files.to_zip().unwrap(),
        &[&["seal_maker_chain", "signer_chain"]],
        json!({"detail": {"signature": 0, "check": "signer_chain", "contains": "not for region 370900"}}),
    );
    let mut spec = Sm2LeafSpec::seal_signer(demo);
    spec.not_after = time::macros::datetime!(2026-06-01 00:00 UTC);
    let lapsed = issue(&r.root, &spec);
    let seal = make_seal(
        &r.maker,
        &[&lapsed.cert],
        "泰安市行政审批服务局电子印章",
        seal_start(),
        DEMO_SEAL_VALIDITY.1.unix_timestamp(),
    );
    let files = sealed(&licence(&r, "OFD0014", 1), &seal, &lapsed, signed);
    out.put(
        "expired.signer-expired-at-signing.ofd",
        &files.to_zip().unwrap(),
        &[&["signer_validity"]],
        none.clone(),
    );

    // unsupported_algorithm
    let mut files = one.clone();
    let value = files.get(value_path).unwrap().to_vec();
    let s = ses::parse_ses_signature(&value).unwrap();
    files
        .insert(value_path, rebuild(&value, &OID_SM2_SHA1_TLV, &s.signature))
        .unwrap();
    out.put(
        "unsupported_algorithm.signature-sm2-with-sha1.ofd",
        &files.to_zip().unwrap(),
        &[&["signature"]],
        none.clone(),
    );
    let mut files = sealed(&licence(&r, "OFD0015", 1), &r.seal, &r.signer, signed);
    let snapshot = files.clone();
    resign(&mut files, 0, &r.seal, &r.signer, signed, |x| {
        let x = x.replace(
            r#"CheckMethod="1.2.156.10197.1.401""#,
            r#"CheckMethod="2.16.840.1.101.3.4.2.1""#,
        );
        let mut parts = x.split(r#"<ofd:Reference FileRef="/"#);
        let mut rebuilt = parts.next().unwrap().to_owned();
        for part in parts {
            let (path, rest) = part.split_once('"').unwrap();
            let (_, after) = rest.split_once("</ofd:CheckValue>").unwrap();
            let digest = ring::digest::digest(&ring::digest::SHA256, snapshot.get(path).unwrap());
            rebuilt.push_str(&format!(
                r#"<ofd:Reference FileRef="/{path}"><ofd:CheckValue>{}</ofd:CheckValue>{after}"#,
                STANDARD.encode(digest.as_ref())
            ));
        }
        rebuilt
    });
    out.put(
        "unsupported_algorithm.check-method-sha256.ofd",
        &files.to_zip().unwrap(),
        &[&["references"]],
        none.clone(),
    );

    // malformed
    out.put(
        "malformed.not-a-zip.ofd",
        "建筑施工企业安全生产许可证\n这不是OFD文件。\n".as_bytes(),
        &[],
        json!({"error": "does not begin with a zip header"}),
    );
    let mut files = one.clone();
    files.remove("OFD.xml").unwrap();
    out.put(
        "malformed.no-ofd-xml.ofd",
        &files.to_zip().unwrap(),
        &[],
        json!({"error": "\"OFD.xml\" is missing"}),
    );
    let mut files = one.clone();
    files
        .insert(
            value_path,
            b"\x30\x82\xff\xffgarbage, not an SES_Signature".to_vec(),
        )
        .unwrap();
    out.put(
        "malformed.garbage-signed-value.ofd",
        &files.to_zip().unwrap(),
        &[&["signature"]],
        none.clone(),
    );
    let bomb_name = "Doc_0/Res/bomb.bin";
    let mut files = one.clone();
    files.insert(bomb_name, vec![0; 65 << 20]).unwrap();
    let bomb = files.to_zip().unwrap();
    out.put(
        "malformed.zip-bomb.ofd",
        &bomb,
        &[],
        json!({"error": "accepted for one file"}),
    );
    let mut lying = bomb.clone();
    let (central, local) = entry_headers(&lying, bomb_name);
    let small = 1000u32.to_le_bytes();
    lying[central + 24..central + 28].copy_from_slice(&small);
    lying[local + 22..local + 26].copy_from_slice(&small);
    out.put(
        "malformed.zip-bomb-lying-sizes.ofd",
        &lying,
        &[],
        json!({"error": "declares 1000 bytes but its data holds a different amount"}),
    );
    out.put(
        "malformed.path-traversal.ofd",
        &zip_with_raw_names(&one, &[("../evil", b"#!/bin/sh\necho owned\n")]),
        &[],
        json!({"error": "`..` segments are refused"}),
    );

    // not_covered
    let mut files = one.clone();
    let added = "Doc_0/Pages/Page_1/Content.xml";
    let page = xml_of(&licence(&r, "OFD0001", 2), added);
    files.insert(added, page.into_bytes()).unwrap();
    out.put(
        "not_covered.page-added-after-sealing.ofd",
        &files.to_zip().unwrap(),
        &[ok],
        json!({"uncovered": [format!("/{added}")]}),
    );
    let mut files = sealed(&licence(&r, "OFD0016", 2), &r.seal, &r.signer, signed);
    resign(&mut files, 0, &r.seal, &r.signer, signed, |x| {
        let start = x
            .find(r#"<ofd:Reference FileRef="/Doc_0/Pages/Page_1/Content.xml">"#)
            .unwrap();
        let end = start + x[start..].find("</ofd:Reference>").unwrap() + "</ofd:Reference>".len();
        format!("{}{}", &x[..start], &x[end..])
    });
    out.put(
        "not_covered.page-not-referenced.ofd",
        &files.to_zip().unwrap(),
        &[ok],
        json!({"uncovered": ["/Doc_0/Pages/Page_1/Content.xml"]}),
    );

    // unsigned
    out.put(
        "unsigned.licence.ofd",
        &licence(&r, "OFD0017", 1).to_zip().unwrap(),
        &[],
        none,
    );

    let mut text = serde_json::to_string_pretty(&out.manifest).unwrap();
    text.push('\n');
    std::fs::write(dir.join("MANIFEST.json"), text).unwrap();
}
