#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! The command line, run as a real process: help everywhere, exit codes, issue → verify in
//! every demo region, `show` saying it verified nothing, and `pki demo` making usable PKI.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use std::process::Output;
use support::command::{p, zz, zz_stdin};
use support::{REGIONS, cert_path};

const REQUEST: &str = r#"{"type_code":"11100000000013338W032","type_name":"建筑施工企业安全生产许可证",
 "holder":{"type":"111","code":"11010519491231002X","name":"张三"},
 "valid_until":"2099-12-31","fields":{"许可范围":"建筑施工","在册":true}}"#;

fn issue(region: &str, request: &str) -> Output {
    zz_stdin(
        &[
            "licence",
            "issue",
            "--signer-cert",
            p(&cert_path(region, "signer.pem")),
            "--signer-key",
            p(&cert_path(region, "signer.key")),
        ],
        request.as_bytes(),
    )
}

fn trust(region: &str) -> String {
    format!(
        "{}={region}",
        cert_path(region, "licence-root.pem").display()
    )
}

#[test]
fn help_is_on_every_command() {
    for args in [
        vec!["--help"],
        vec!["licence", "--help"],
        vec!["licence", "issue", "--help"],
        vec!["licence", "verify", "--help"],
        vec!["licence", "show", "--help"],
        vec!["pki", "--help"],
        vec!["pki", "demo", "--help"],
    ] {
        let out = zz(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn issue_then_verify_in_every_region() {
    let dir = tempfile::tempdir().unwrap();
    for region in REGIONS {
        let out = issue(region, REQUEST);
        assert!(
            out.status.success(),
            "{region}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let file = dir.path().join(format!("{region}.jws"));
        std::fs::write(&file, &out.stdout).unwrap();
        let out = zz(&[
            "licence",
            "verify",
            "--json",
            "--trust",
            &trust(region),
            p(&file),
        ]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["outcome"], "valid", "{report:#}");
        assert_eq!(report["status"], "not_checked");
        assert_eq!(report["licence"]["lic"]["region"], region);
        assert_eq!(out.status.code(), Some(0));

        // The same licence under another region's anchor, bound to its own region: untrusted.
        let other = if region == "370900" {
            "370115"
        } else {
            "370900"
        };
        let out = zz(&["licence", "verify", "--trust", &trust(other), p(&file)]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stdout).contains("outcome: untrusted_issuer"));
    }
}

#[test]
fn verify_exit_codes_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = zz(&[
        "licence",
        "verify",
        "--trust",
        &trust("370900"),
        p(&dir.path().join("missing.jws")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = zz(&["licence", "verify", "--trust", "no-equals-sign", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PEM=REGION"));
    let bad_region = format!("{}=3709", cert_path("370900", "licence-root.pem").display());
    let out = zz(&["licence", "verify", "--trust", &bad_region, "-"]);
    assert_eq!(out.status.code(), Some(2));
    // A leaf is not a trust anchor.
    let leaf = format!("{}=370900", cert_path("370900", "signer.pem").display());
    let out = zz(&["licence", "verify", "--trust", &leaf, "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a CA"));
    // Missing --trust is a usage error.
    let out = zz(&["licence", "verify", "-"]);
    assert_eq!(out.status.code(), Some(2));
    let out = zz_stdin(
        &[
            "licence",
            "verify",
            "--trust",
            &trust("370900"),
            "--at",
            "yesterday",
            "-",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    // Garbage is a licence that is not valid: exit 1, outcome malformed.
    let out = zz_stdin(
        &[
            "licence",
            "verify",
            "--json",
            "--trust",
            &trust("370900"),
            "-",
        ],
        b"not a licence",
    );
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "malformed");
}

#[test]
fn verify_at_a_given_time() {
    let out = issue("370900", REQUEST);
    let token = out.stdout;
    // valid_until 2099-12-31 (CST): still valid on the last day, expired the next.
    let t = trust("370900");
    let at = |when: &str| {
        zz_stdin(
            &[
                "licence", "verify", "--json", "--trust", &t, "--at", when, "-",
            ],
            &token,
        )
    };
    let report = |o: Output| {
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["outcome"].clone()
    };
    assert_eq!(report(at("2099-12-31T15:59:59Z")), "valid");
    assert_eq!(report(at("2099-12-31T16:00:00Z")), "expired");
    assert_eq!(report(at("2020-01-01T00:00:00Z")), "not_yet_valid");
    // The same instant with its offset in Beijing time.
    assert_eq!(report(at("2099-12-31T23:59:59+08:00")), "valid");
    // People read times in Beijing time with the offset; the JSON's own times stay in UTC.
    let json: serde_json::Value =
        serde_json::from_slice(&at("2099-12-31T15:59:59Z").stdout).unwrap();
    assert_eq!(json["verified_at"], "2099-12-31T15:59:59Z");
    let text = zz_stdin(
        &[
            "licence",
            "verify",
            "--trust",
            &t,
            "--at",
            "2099-12-31T15:59:59Z",
            "-",
        ],
        &token,
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("checked: 2099-12-31T23:59:59+08:00\n"),
        "{text}"
    );
    assert!(
        text.contains("valid until 2100-01-01T00:00:00+08:00"),
        "the end of 2099-12-31 in Beijing: {text}"
    );
    // A bare date (or anything but RFC 3339) is refused naming the form, never read as some
    // midnight somewhere.
    for when in ["2027-01-01", "2027-01-01 00:00:00", "2027-01-01T00:00:00"] {
        let out = at(when);
        assert_eq!(out.status.code(), Some(2), "{when}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains(&format!("--at {when:?}: not an RFC 3339 time"))
                && said.contains("2027-01-01T00:00:00+08:00"),
            "{when}: {said}"
        );
        assert!(out.stdout.is_empty(), "{when}");
    }
}

#[test]
fn refused_requests_exit_1_and_name_the_member_without_the_id_number() {
    let bad_id = REQUEST.replace("11010519491231002X", "110101197608056896");
    let out = issue("370900", &bad_id);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holder.code"), "{err}");
    assert!(
        !err.contains("110101197608056896"),
        "the ID number leaked: {err}"
    );
    let out = issue("370900", &REQUEST.replace("\"type_name\"", "\"typo\""));
    assert_eq!(out.status.code(), Some(1));
    let out = issue(
        "370900",
        &REQUEST.replace("{\"type_code\"", "{\"type_name\":\"x\",\"type_code\""),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("duplicate"));
    let out = issue("370900", &REQUEST.replace("2099-12-31", "1999-12-31"));
    assert_eq!(out.status.code(), Some(1));
    // A certificate that is not a document signer cannot issue.
    let out = zz_stdin(
        &[
            "licence",
            "issue",
            "--signer-cert",
            p(&cert_path("370900", "node.pem")),
            "--signer-key",
            p(&cert_path("370900", "node.key")),
        ],
        REQUEST.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(2));
    // The key must belong to the certificate.
    let out = zz_stdin(
        &[
            "licence",
            "issue",
            "--signer-cert",
            p(&cert_path("370900", "signer.pem")),
            "--signer-key",
            p(&cert_path("370115", "signer.key")),
        ],
        REQUEST.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not belong"));
}

#[test]
fn show_decodes_and_says_it_verified_nothing() {
    let token = issue("370115", REQUEST).stdout;
    let out = zz_stdin(&["licence", "show", "-"], &token);
    assert_eq!(out.status.code(), Some(0));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["verified"], false);
    assert!(shown["warning"].as_str().unwrap().contains("NOT VERIFIED"));
    assert_eq!(shown["payload"]["lic"]["region"], "370115");
    assert!(
        shown["certificates"][0]["subject"]
            .as_str()
            .unwrap()
            .contains("CN=")
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT VERIFIED"));
    let out = zz_stdin(&["licence", "show", "-"], b"a.b");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn pki_demo_makes_material_that_issues_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = zz(&["pki", "demo", "--out", p(dir.path())]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = zz(&["pki", "demo", "--out", p(dir.path())]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "must refuse to overwrite without --force"
    );
    // The message names the flag that exists.
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains(
            "already exists and is not empty; nothing was written: pass --force to replace it"
        ),
        "{said}"
    );
    let r = dir.path().join("140802");
    let out = zz_stdin(
        &[
            "licence",
            "issue",
            "--signer-cert",
            p(&r.join("signer.pem")),
            "--signer-key",
            p(&r.join("signer.key")),
        ],
        REQUEST.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = format!("{}=140802", r.join("licence-root.pem").display());
    let crl = r.join("licence-root.crl.pem");
    let out = zz_stdin(
        &["licence", "verify", "--trust", &t, "--crl", p(&crl), "-"],
        &out.stdout,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The report's `chain.revocation` line, as printed and as JSON: the CRL given with `--crl`
/// (named by its path, with its issuer, thisUpdate and nextUpdate), or that none was given.
#[test]
fn verify_reports_the_crl_it_checked_against_or_none() {
    let token = issue("370900", REQUEST).stdout;
    let crl = cert_path("370900", "licence-root.crl.pem");
    let t = trust("370900");
    let out = zz_stdin(
        &["licence", "verify", "--trust", &t, "--crl", p(&crl), "-"],
        &token,
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("chain.revocation"))
        .unwrap_or_else(|| panic!("no chain.revocation line:\n{text}"));
    assert_eq!(
        line,
        format!(
            "  [ ok ] chain.revocation   CRL {} issued by C=CN, O=泰安市行政审批服务局, \
             CN=泰安市电子证照根CA (demo), thisUpdate 2026-01-01T08:00:00+08:00, nextUpdate \
             2046-01-01T08:00:00+08:00: the signer certificate is not on it",
            crl.display()
        )
    );

    let out = zz_stdin(&["licence", "verify", "--json", "--trust", &t, "-"], &token);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "chain.revocation")
        .unwrap_or_else(|| panic!("no chain.revocation check: {report:#}"));
    assert_eq!(check["ok"], true);
    assert_eq!(
        check["detail"],
        "no CRL was given for C=CN, O=泰安市行政审批服务局, CN=泰安市电子证照根CA (demo), the \
         issuer of the signer certificate: revocation not checked for that CA"
    );
}

/// A CRL that none of the `--trust` anchors issued would check nothing: exit 2, naming it,
/// whether it comes before or after the anchors on the command line.
#[test]
fn verify_refuses_a_crl_no_anchor_issued() {
    let token = issue("370900", REQUEST).stdout;
    let theirs = cert_path("370115", "licence-root.crl.pem");
    let t = trust("370900");
    let expected = format!(
        "zhengzhao: --crl {}: issued by C=CN, O=济南市济阳区行政审批服务局, \
         CN=济南市济阳区电子证照根CA (demo), which is none of the trust anchors: it would check \
         nothing\n",
        theirs.display()
    );
    for args in [
        ["licence", "verify", "--trust", &t, "--crl", p(&theirs), "-"],
        ["licence", "verify", "--crl", p(&theirs), "--trust", &t, "-"],
    ] {
        let out = zz_stdin(&args, &token);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), expected);
        assert!(out.stdout.is_empty());
    }
    // Its own anchor given as well, the same CRL is taken.
    let both = [
        "licence",
        "verify",
        "--trust",
        &t,
        "--trust",
        &trust("370115"),
        "--crl",
        p(&theirs),
        "-",
    ];
    assert_eq!(zz_stdin(&both, &token).status.code(), Some(0));
}
