#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! `zhengzhao licence issue --format ofd`: the 原件 it writes verifies in `zhengzhao ofd verify`
//! under the region's SM2 root, and in an independent reader (`tests/ofd_reader.py`: Python's
//! zipfile and ElementTree, OpenSSL for SM3 and both SM2 signatures); a change to any file is
//! found by both; the same for a usage copy (加注件) made from it; the command's refusals.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use std::path::{Path, PathBuf};

use support::command::{output_text, p, python, zz};
use support::{cert_path, root};
use zhengzhao::ofd::write::OfdFiles;

fn reader() -> PathBuf {
    root().join("tests/ofd_reader.py")
}

/// Issues the request `request` of region 370900 as OFD into `dir`, returning the file and
/// the licence id printed.
fn issue(dir: &Path, request: &Path, name: &str) -> (PathBuf, String) {
    let out = dir.join(name);
    let o = zz(&[
        "licence",
        "issue",
        "--format",
        "ofd",
        "--signer-cert",
        p(&cert_path("370900", "seal-signer.pem")),
        "--signer-key",
        p(&cert_path("370900", "seal-signer.key")),
        "--seal",
        p(&cert_path("370900", "seal.esl")),
        "--input",
        p(request),
        "--out",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", output_text(&o));
    let id = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    (out, id)
}

fn verify(file: &Path) -> (i32, String) {
    let o = zz(&[
        "ofd",
        "verify",
        "--trust",
        &format!("{}=370900", p(&cert_path("370900", "sm2-root.pem"))),
        p(file),
    ]);
    (o.status.code().unwrap(), output_text(&o))
}

fn person_request(dir: &Path) -> PathBuf {
    let path = dir.join("person.json");
    std::fs::write(
        &path,
        r#"{"type_code": "11100000000013338W032", "type_name": "建筑施工特种作业操作资格证",
            "holder": {"type": "111", "code": "11010519491231002X", "name": "王小明"},
            "valid_from": "2026-01-01", "fields": {"作业类别": "建筑电工"}}"#,
    )
    .unwrap();
    path
}

#[test]
fn an_issued_original_is_valid_in_zhengzhao_and_in_the_independent_reader() {
    let dir = tempfile::tempdir().unwrap();
    for (request, name) in [
        (root().join("fixtures/requests/370900.json"), "org.ofd"),
        (person_request(dir.path()), "person.ofd"),
    ] {
        let (file, id) = issue(dir.path(), &request, name);
        let (code, text) = verify(&file);
        assert_eq!(code, 0, "{text}");
        assert!(text.starts_with("outcome: valid\n"), "{text}");
        assert!(text.contains(&format!("licence: {id}")), "{text}");
        let o = python(&reader(), &[p(&file)]);
        let said = output_text(&o);
        assert!(o.status.success(), "{said}");
        assert!(
            said.contains("/Doc_0/Signs/Sign_0/Signature.xml ok 5 references"),
            "{said}"
        );
        assert!(said.contains("covered 5 files"), "{said}");
        // The file is the holder's: readable by its owner only.
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// Changes each file of `files` but `Signatures.xml` (a text of an XML file, a byte of the
/// others) and insists that `zhengzhao ofd verify` and the independent reader both refuse the
/// result; returns how many files were changed.
fn every_change_is_found(dir: &Path, files: &OfdFiles) -> usize {
    let mut changed_files = 0;
    for (path, bytes) in files.iter() {
        if path.ends_with("/Signatures.xml") {
            continue; // covered by no signature by design; its meaning is tested in the unit tests
        }
        let mut b = bytes.to_vec();
        if path.ends_with(".xml") {
            // A character of text changed, the XML still well-formed.
            let at = b.windows(2).position(|w| w == b"><").unwrap();
            b.insert(at + 1, b'x');
        } else {
            let mid = b.len() / 2;
            b[mid] ^= 0x01;
        }
        let mut changed = files.clone();
        changed.insert(path, b).unwrap();
        let tampered = dir.join(format!("t{changed_files}.ofd"));
        std::fs::write(&tampered, changed.to_zip().unwrap()).unwrap();
        let (code, text) = verify(&tampered);
        assert_eq!(code, 1, "{path}: {text}");
        let o = python(&reader(), &[p(&tampered)]);
        assert!(!o.status.success(), "{path}: {}", output_text(&o));
        let said = output_text(&o);
        // The seals checked before the failing one are said to hold; the last line fails.
        let last = said.lines().last().unwrap_or_default();
        assert!(last.starts_with("FAIL "), "{path}: {said}");
        changed_files += 1;
    }
    changed_files
}

#[test]
fn a_change_to_any_file_is_found_by_both_readers() {
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = issue(
        dir.path(),
        &root().join("fixtures/requests/370900.json"),
        "l.ofd",
    );
    let files = OfdFiles::from_zip(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        every_change_is_found(dir.path(), &files),
        7,
        "every file but Signatures.xml"
    );
}

#[test]
fn a_usage_copy_holds_in_both_readers_and_a_change_to_any_of_its_files_is_found() {
    use zhengzhao::licence::annotated::{UsageAnnotation, annotate};
    use zhengzhao::licence::original::OfdSigner;
    let dir = tempfile::tempdir().unwrap();
    let (file, id) = issue(
        dir.path(),
        &root().join("fixtures/requests/370900.json"),
        "l.ofd",
    );
    let read = |f: &str| std::fs::read(cert_path("370900", f)).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let signer = OfdSigner::from_pem(
        &read("seal-signer.pem"),
        &read("seal-signer.key"),
        &read("seal.esl"),
        now,
    )
    .unwrap();
    let annotation = UsageAnnotation {
        licence: id,
        made_by_node: "node-370900".into(),
        made_by_region: "370900".into(),
        department: "370900-window".into(),
        department_region: "370900".into(),
        matter: "DEMO-STATUTORY".into(),
        matter_name: "演示：法定事项".into(),
        case: Some("TA-2026-0001".into()),
        purpose: "核验".into(),
        made_at: zhengzhao::licence::verify::rfc3339(now),
        valid_until: zhengzhao::licence::verify::rfc3339(now + 600),
    };
    let copy = annotate(
        &std::fs::read(&file).unwrap(),
        &annotation,
        &signer,
        now,
        now + 600,
    )
    .unwrap();
    let copy_file = dir.path().join("copy.ofd");
    std::fs::write(&copy_file, &copy).unwrap();
    let (code, text) = verify(&copy_file);
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("outcome: valid\n"), "{text}");
    assert!(text.contains("usage copy (加注件): holds"), "{text}");
    assert!(text.contains("  case:    TA-2026-0001"), "{text}");
    // Past its 有效期至 the copy does not hold, though its seals do.
    let later = zhengzhao::licence::verify::rfc3339(now + 601);
    let trust = format!("{}=370900", p(&cert_path("370900", "sm2-root.pem")));
    let o = zz(&[
        "ofd",
        "verify",
        "--at",
        &later,
        "--trust",
        &trust,
        p(&copy_file),
    ]);
    let text = output_text(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.starts_with("outcome: usage_copy_expired\n"), "{text}");
    assert!(text.contains("seals:   valid"), "{text}");
    let o = zz(&[
        "ofd",
        "verify",
        "--json",
        "--at",
        &later,
        "--trust",
        &trust,
        p(&copy_file),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "valid", "the document's own outcome: {v}");
    assert_eq!(v["usage_copy"]["refused"]["outcome"], "usage_copy_expired");
    assert_eq!(v["usage_copy"]["annotation"]["department"], "370900-window");
    let o = python(&reader(), &[p(&copy_file)]);
    let said = output_text(&o);
    assert!(o.status.success(), "{said}");
    // The issuer's seal (5 files) and the node's (every file but the list and its own two).
    assert!(
        said.contains("/Doc_0/Signs/Sign_0/Signature.xml ok 5 references"),
        "{said}"
    );
    assert!(
        said.contains("/Doc_0/Signs/Sign_1/Signature.xml ok 9 references"),
        "{said}"
    );
    assert!(said.contains("covered 7 files"), "{said}");
    let files = OfdFiles::from_zip(&copy).unwrap();
    assert_eq!(
        every_change_is_found(dir.path(), &files),
        11,
        "every file but Signatures.xml"
    );
}

#[test]
fn issuing_as_ofd_refuses_what_cannot_make_a_valid_original() {
    let dir = tempfile::tempdir().unwrap();
    let req = root().join("fixtures/requests/370900.json");
    let base = |seal: &str, out: &str| {
        vec![
            "licence".to_owned(),
            "issue".into(),
            "--format".into(),
            "ofd".into(),
            "--signer-cert".into(),
            p(&cert_path("370900", "seal-signer.pem")).into(),
            "--signer-key".into(),
            p(&cert_path("370900", "seal-signer.key")).into(),
            "--seal".into(),
            seal.into(),
            "--input".into(),
            p(&req).into(),
            "--out".into(),
            out.into(),
        ]
    };
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = zz(&args);
        (o.status.code().unwrap(), output_text(&o))
    };
    let out = dir.path().join("x.ofd");
    // Another region's seal does not list this signer.
    let (code, text) = run(&base(p(&cert_path("140802", "seal.esl")), p(&out)));
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("does not list the seal signer's certificate"),
        "{text}"
    );
    assert!(!out.exists());
    // --seal is needed, --chain is refused.
    let mut args = base(p(&cert_path("370900", "seal.esl")), p(&out));
    args.drain(8..10);
    let (code, text) = run(&args);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("--format ofd needs --seal"), "{text}");
    let mut args = base(p(&cert_path("370900", "seal.esl")), p(&out));
    args.extend([
        "--chain".into(),
        p(&cert_path("370900", "seal-signer.pem")).into(),
    ]);
    let (code, text) = run(&args);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("--chain is for --format jws"), "{text}");
    // An existing file is never overwritten.
    std::fs::write(&out, b"kept").unwrap();
    let (code, text) = run(&base(p(&cert_path("370900", "seal.esl")), p(&out)));
    assert_eq!(code, 2, "{text}");
    assert_eq!(std::fs::read(&out).unwrap(), b"kept");
    // A JWS issuance takes no --seal.
    let o = zz(&[
        "licence",
        "issue",
        "--signer-cert",
        p(&cert_path("370900", "signer.pem")),
        "--signer-key",
        p(&cert_path("370900", "signer.key")),
        "--seal",
        p(&cert_path("370900", "seal.esl")),
        "--input",
        p(&req),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", output_text(&o));
}
