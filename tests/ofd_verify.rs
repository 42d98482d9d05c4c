#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `zhengzhao ofd verify` on ofdrw's real files (fixtures/ofd/ofdrw/, made by another
//! implementation): each gives the result its SOURCES.md names, without `--trust` (so no chain
//! reaches an anchor), and exit code 1 for all of them but a bare signature checked with its key.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ofd/ofdrw")
        .join(name)
}

/// Runs `zhengzhao ofd verify --json` with `extra` arguments; the report and the exit code.
fn verify(name: &str, extra: &[&str]) -> (Value, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_zhengzhao"))
        .args(["ofd", "verify", "--json", "--at", "2026-12-01T00:00:00Z"])
        .args(extra)
        .arg(fixture(name))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{name}: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, out.status.code().unwrap())
}

/// Each check of signature `sig` by name: `Some(ok)`, or `None` when it is left out.
fn check(report: &Value, sig: usize, name: &str) -> Option<bool> {
    report["signatures"][sig]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .map(|c| c["ok"].as_bool().unwrap())
}

fn detail(report: &Value, sig: usize, name: &str) -> String {
    report["signatures"][sig]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .map(|c| c["detail"].as_str().unwrap().to_owned())
        .unwrap()
}

/// The checks the README names as passing for a fully intact ofdrw seal.
const INTACT: [&str; 7] = [
    "references",
    "data_hash",
    "signature",
    "seal_signature",
    "seal_validity",
    "signer_validity",
    "signer_in_seal",
];

#[test]
fn allprotected_holds_in_every_check_but_trust() {
    let (r, code) = verify("allprotected.ofd", &[]);
    assert_eq!(code, 1);
    assert_eq!(r["outcome"], "untrusted_issuer");
    let s = &r["signatures"][0];
    assert_eq!(s["id"], "001");
    assert_eq!(s["type"], "Seal");
    assert_eq!(s["format"], "gbt38540");
    assert_eq!(s["outcome"], "untrusted_issuer");
    assert_eq!(s["signed_at"], "2020-10-23T11:45:37Z");
    assert_eq!(s["signer"]["serial"], "01719D2DAB60");
    assert_eq!(s["seal"]["es_id"], "51f044b76510434e9bc67a1185c2fba5");
    assert_eq!(s["seal"]["name"], "OFD R&W 测试用印章");
    assert_eq!(s["seal"]["valid_from"], "2020-04-22T02:09:00Z");
    assert_eq!(s["seal"]["valid_until"], "2022-04-22T02:09:00Z");
    for c in INTACT {
        assert_eq!(check(&r, 0, c), Some(true), "{c}");
    }
    assert_eq!(check(&r, 0, "signer_chain"), Some(false));
    assert_eq!(check(&r, 0, "seal_maker_chain"), Some(false));
    assert_eq!(r["uncovered"], serde_json::json!([]));
    assert_eq!(r["licence_id"], Value::Null);
}

#[test]
fn the_riding_seal_holds_in_every_check_but_trust() {
    let (r, code) = verify("V4RideRight.ofd", &[]);
    assert_eq!(code, 1);
    assert_eq!(r["outcome"], "untrusted_issuer");
    assert_eq!(r["signatures"][0]["id"], "s001");
    assert_eq!(r["signatures"][0]["signed_at"], "2021-05-19T12:53:44Z");
    for c in INTACT {
        assert_eq!(check(&r, 0, c), Some(true), "{c}");
    }
}

#[test]
fn a_later_seal_breaks_the_first_seals_reference_to_signatures_xml_and_only_that() {
    let (r, code) = verify("h.ofd", &[]);
    assert_eq!(code, 1);
    assert_eq!(r["outcome"], "tampered");
    let first = &r["signatures"][0];
    assert_eq!(first["id"], "s001");
    assert_eq!(first["outcome"], "tampered");
    assert_eq!(check(&r, 0, "references"), Some(false));
    assert_eq!(
        detail(&r, 0, "references"),
        "/Doc_0/Signs/Signatures.xml does not match its digest"
    );
    for c in ["data_hash", "signature", "seal_signature"] {
        assert_eq!(check(&r, 0, c), Some(true), "s001 {c}");
    }
    let second = &r["signatures"][1];
    assert_eq!(second["id"], "s007");
    assert_eq!(second["outcome"], "untrusted_issuer");
    for c in INTACT {
        assert_eq!(check(&r, 1, c), Some(true), "s007 {c}");
    }
    // s007 covers what s001 no longer can: nothing is left uncovered.
    assert_eq!(r["uncovered"], serde_json::json!([]));
}

#[test]
fn a_seal_applied_after_its_validity_and_its_signers() {
    let (r, code) = verify("SESV4SignDoc.ofd", &[]);
    assert_eq!(code, 1);
    assert_eq!(r["outcome"], "untrusted_issuer", "trust outranks expiry");
    for c in ["references", "data_hash", "signature", "seal_signature"] {
        assert_eq!(check(&r, 0, c), Some(true), "{c}");
    }
    assert_eq!(check(&r, 0, "seal_validity"), Some(false));
    assert_eq!(check(&r, 0, "signer_validity"), Some(false));
    assert_eq!(r["signatures"][0]["signed_at"], "2026-08-04T02:08:09Z");
    assert!(detail(&r, 0, "seal_validity").contains("2022-04-22T10:09:00+08:00"));
}

#[test]
fn a_bare_signature_is_trusted_only_with_its_key() {
    let (r, code) = verify("DigitalSign.ofd", &[]);
    assert_eq!(code, 1);
    assert_eq!(r["outcome"], "untrusted_issuer");
    let s = &r["signatures"][0];
    assert_eq!(s["type"], "Sign");
    assert_eq!(s["format"], "sm2");
    assert_eq!(check(&r, 0, "references"), Some(true));
    assert_eq!(check(&r, 0, "signer_chain"), Some(false));
    assert_eq!(
        check(&r, 0, "signature"),
        None,
        "not checkable without a key"
    );

    let key = fixture("USER.pub.pem");
    let (r, code) = verify("DigitalSign.ofd", &["--key", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["outcome"], "valid");
    assert_eq!(check(&r, 0, "signature"), Some(true));
    assert_eq!(r["uncovered"], serde_json::json!([]));
}

#[test]
fn a_bare_signature_under_another_key_is_a_bad_signature() {
    // The seal maker's key of ofdrw's test PKI, which did not make this signature.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.pub.pem");
    let out = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(fixture("sign_key.pem"))
        .arg("-out")
        .arg(&other)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (r, code) = verify("DigitalSign.ofd", &["--key", other.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(r["outcome"], "bad_signature");
    assert_eq!(check(&r, 0, "signature"), Some(false));
    // Nothing verified: every content file is uncovered.
    let uncovered = r["uncovered"].as_array().unwrap();
    assert!(uncovered.contains(&Value::from("/OFD.xml")), "{r}");
    assert!(uncovered.contains(&Value::from("/Doc_0/Pages/Page_0/Content.xml")));
    assert!(!uncovered.contains(&Value::from("/Doc_0/Signs/Sign_0/Signature.xml")));
}

#[test]
fn an_unsigned_page_is_unsigned_with_every_file_uncovered() {
    let (r, code) = verify("helloworld.ofd", &[]);
    assert_eq!(code, 1);
    assert_eq!(r["outcome"], "unsigned");
    assert_eq!(r["signatures"], serde_json::json!([]));
    assert!(!r["uncovered"].as_array().unwrap().is_empty());
}

#[test]
fn a_file_that_is_not_an_ofd_is_malformed_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, why) in [
        ("text.ofd", b"not a zip at all".to_vec(), "zip header"),
        ("empty.ofd", Vec::new(), "empty"),
        (
            "seal.ofd",
            std::fs::read(fixture("UserV4.esl")).unwrap(),
            "zip header",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_zhengzhao"))
            .args(["ofd", "verify", "--json"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["outcome"], "malformed", "{name}");
        assert!(r["error"].as_str().unwrap().contains(why), "{name}: {r}");
    }
}

#[test]
fn usage_and_io_errors_exit_2() {
    for args in [
        vec!["ofd", "verify", "/nonexistent/file.ofd"],
        vec!["ofd", "verify", "--at", "yesterday", "x.ofd"],
        vec![
            "ofd",
            "verify",
            "--trust",
            "/nonexistent/root.pem=370900",
            "x.ofd",
        ],
        vec!["ofd", "verify", "--trust", "root.pem=37090", "x.ofd"],
        vec!["ofd", "show", "/nonexistent/file.ofd"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_zhengzhao"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: says why");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_zhengzhao"))
        .args(["ofd", "verify", "--key"])
        .arg(fixture("sign_cert.pem"))
        .arg(fixture("DigitalSign.ofd"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("expected a PUBLIC KEY block"),
        "{out:?}"
    );
}

#[test]
fn the_readable_report_puts_each_check_on_its_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_zhengzhao"))
        .args(["ofd", "verify", "--at", "2026-12-01T00:00:00Z"])
        .arg(fixture("h.ofd"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("outcome: tampered\n"), "{text}");
    assert!(text.contains("signature s001 (Seal, gbt38540): tampered"));
    assert!(
        text.contains("[FAIL] references        /Doc_0/Signs/Signatures.xml does not match"),
        "{text}"
    );
    assert_eq!(text.matches("[ ok ] seal_signature").count(), 2);
}

#[test]
fn show_trusts_nothing_and_names_seals_pictures_and_certificates() {
    let out = Command::new(env!("CARGO_BIN_EXE_zhengzhao"))
        .args(["ofd", "show"])
        .arg(fixture("h.ofd"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("NOT VERIFIED"), "{text}");
    assert!(text.contains("pages:   5"));
    assert!(text.contains("named but absent: /Doc_0/PublicRes.xml"));
    assert_eq!(text.matches("picture PNG").count(), 2, "{text}");
    assert!(
        text.contains("serial 01719D2E201D"),
        "the maker's certificate"
    );
}

/// The body of the fenced block of docs/ofd-verification.md whose info string is `tag`.
fn doc_block(tag: &str) -> String {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ofd-verification.md"),
    )
    .unwrap();
    let start = doc
        .find(&format!("```{tag}\n"))
        .unwrap_or_else(|| panic!("no ```{tag} block"));
    let body = &doc[start + tag.len() + 4..];
    body[..body.find("```").unwrap()].to_owned()
}

#[test]
fn the_documented_example_is_what_the_command_prints() {
    let (report, _) = verify("h.ofd", &[]);
    let documented: Value = serde_json::from_str(&doc_block("json ofd-report-h")).unwrap();
    assert_eq!(documented, report);
    let out = Command::new(env!("CARGO_BIN_EXE_zhengzhao"))
        .args(["ofd", "verify", "--at", "2026-12-01T00:00:00Z"])
        .arg(fixture("h.ofd"))
        .output()
        .unwrap();
    assert_eq!(
        doc_block("text ofd-verify-h"),
        String::from_utf8(out.stdout).unwrap()
    );
}

#[test]
fn the_documented_precedence_is_the_codes() {
    use zhengzhao::ofd::report::OfdOutcome::*;
    let documented: Vec<String> = doc_block("text precedence")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let mut code = [
        Expired,
        Malformed,
        BadSignature,
        UntrustedIssuer,
        Tampered,
        UnsupportedAlgorithm,
    ];
    code.sort();
    let code: Vec<String> = code.iter().map(|o| o.as_str().to_owned()).collect();
    assert_eq!(documented, code);
}

/// The verifier's caches (paths found, seals verified) change nothing: every generated fixture
/// gives the same report from a verifier that has seen every fixture before as from a fresh
/// one, and the fixture whose signer had lapsed stays `expired` after the same signer's key
/// and root were cached as trusted.
#[test]
fn warm_caches_give_the_reports_of_a_cold_verifier() {
    use zhengzhao::ofd::verify::OfdVerifier;
    use zhengzhao::pki::trust::TrustStore;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let store = || {
        let mut t = TrustStore::new();
        for region in ["370900", "370115", "140802", "370306"] {
            let pem = std::fs::read(root.join(format!("certs/{region}/sm2-root.pem"))).unwrap();
            t.add_pem(&pem, &[region.parse().unwrap()], region).unwrap();
        }
        t
    };
    let at = 1_796_083_200; // 2026-12-01T00:00:00Z
    let mut files: Vec<_> = std::fs::read_dir(root.join("fixtures/ofd/generated"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ofd"))
        .collect();
    files.sort();
    assert!(files.len() > 20);
    let warm = OfdVerifier::new(store());
    for round in 0..2 {
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            let cold = serde_json::to_value(OfdVerifier::new(store()).verify(&bytes, at)).unwrap();
            let hot = serde_json::to_value(warm.verify(&bytes, at)).unwrap();
            assert_eq!(cold, hot, "round {round}: {}", f.display());
        }
    }
}

/// An anchor given without `=REGION` vouches for no region's licence: 泰安's own sealed
/// licence is `untrusted_issuer` under 泰安's SM2 root given that way, `valid` when bound.
#[test]
fn an_anchor_without_regions_vouches_for_no_regions_licence() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sm2_root = root.join("certs/370900/sm2-root.pem");
    let file = root.join("fixtures/ofd/generated/valid.one-seal.ofd");
    let run = |trust: String| {
        let out = Command::new(env!("CARGO_BIN_EXE_zhengzhao"))
            .args(["ofd", "verify", "--json", "--at", "2026-12-01T00:00:00Z"])
            .args(["--trust", &trust])
            .arg(&file)
            .output()
            .unwrap();
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        (r["outcome"].as_str().unwrap().to_owned(), out.status.code())
    };
    let unbound = run(sm2_root.display().to_string());
    assert_eq!(unbound, ("untrusted_issuer".to_owned(), Some(1)));
    let bound = run(format!("{}=370900", sm2_root.display()));
    assert_eq!(bound, ("valid".to_owned(), Some(0)));
}

/// A reader that goes away (`zhengzhao ofd show FILE | head`) ends the command quietly, with the
/// status a shell gives a program ended by SIGPIPE, not with a panic.
#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zhengzhao"))
        .args(["ofd", "show", "fixtures/ofd/ofdrw/h.ofd"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader closes its end before the command writes.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "{err}");
    assert_eq!(out.status.code(), Some(141));
}
