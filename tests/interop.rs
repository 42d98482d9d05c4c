#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Interop with an implementation nobody here wrote: Python's `cryptography`
//! (tests/interop/jose.py). A licence the CLI issued verifies there; a licence it signs under a
//! CA it made verifies here when that CA is an anchor, and is `untrusted_issuer` when not.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use std::path::Path;
use std::process::{Command, Output};
use support::{cert_path, root};
use zhengzhao::codes::LicenceId;
use zhengzhao::licence::{Claims, LicenceFace};

fn python(args: &[&str]) -> Output {
    support::command::python(&root().join("tests/interop/jose.py"), args)
}

fn zz(args: &[&str], stdin: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zhengzhao"));
    cmd.args(args);
    if let Some(p) = stdin {
        cmd.stdin(std::fs::File::open(p).unwrap());
    }
    cmd.output().unwrap()
}

#[test]
fn a_licence_zhengzhao_issued_verifies_in_python_cryptography() {
    let dir = tempfile::tempdir().unwrap();
    let req = dir.path().join("req.json");
    std::fs::write(
        &req,
        r#"{"type_code":"11100000000013338W032","type_name":"营业执照",
            "holder":{"type":"001","code":"91110000600037341L","name":"示例有限公司"},
            "fields":{"注册资本万元":100}}"#,
    )
    .unwrap();
    for region in support::REGIONS {
        let out = zz(
            &[
                "licence",
                "issue",
                "--signer-cert",
                cert_path(region, "signer.pem").to_str().unwrap(),
                "--signer-key",
                cert_path(region, "signer.key").to_str().unwrap(),
                "--input",
                req.to_str().unwrap(),
            ],
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = dir.path().join(format!("{region}.jws"));
        std::fs::write(&token, &out.stdout).unwrap();
        let root_pem = cert_path(region, "licence-root.pem");
        let py = python(&[
            "verify",
            token.to_str().unwrap(),
            root_pem.to_str().unwrap(),
        ]);
        assert_eq!(
            String::from_utf8_lossy(&py.stdout).trim(),
            "ok",
            "{region}: {}",
            String::from_utf8_lossy(&py.stderr)
        );

        // The independent check can fail: a tampered payload is refused there too.
        let text = String::from_utf8(out.stdout.clone()).unwrap();
        let parts: Vec<&str> = text.trim().split('.').collect();
        let tampered = dir.path().join(format!("{region}-tampered.jws"));
        std::fs::write(
            &tampered,
            format!("{}.{}A.{}", parts[0], parts[1], parts[2]),
        )
        .unwrap();
        let py = python(&[
            "verify",
            tampered.to_str().unwrap(),
            root_pem.to_str().unwrap(),
        ]);
        assert!(!py.status.success(), "python accepted a tampered licence");
    }
}

#[test]
fn a_licence_python_signed_verifies_only_when_its_ca_is_an_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let uscc = "11370900004090218Y";
    let id = LicenceId::new(
        "11100000000013338W032".parse().unwrap(),
        uscc.parse().unwrap(),
        "PY0000000000000001",
        1,
    )
    .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = Claims {
        jti: id.to_string(),
        iss: uscc.into(),
        sub: "91110000600037341L".into(),
        iat: now - 60,
        nbf: now - 60,
        exp: None,
        lic: LicenceFace {
            type_code: "11100000000013338W032".into(),
            type_name: "营业执照".into(),
            number: "PY-1".into(),
            holder_type: "001".into(),
            holder_name: "示例有限公司".into(),
            issuer_name: "互认测试发证机关".into(),
            region: "370900".into(),
            version: "001".into(),
            fields: Default::default(),
        },
    };
    let payload = dir.path().join("payload.json");
    std::fs::write(&payload, serde_json::to_vec(&claims).unwrap()).unwrap();
    let py = python(&[
        "sign",
        payload.to_str().unwrap(),
        "370900",
        uscc,
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stdout)
    );
    let token = dir.path().join("licence.jws");

    let py_root = format!("{}=370900", dir.path().join("root.pem").display());
    let out = zz(
        &[
            "licence",
            "verify",
            "--json",
            "--trust",
            &py_root,
            token.to_str().unwrap(),
        ],
        None,
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "valid", "{report:#}");
    assert_eq!(out.status.code(), Some(0));

    let demo_root = format!(
        "{}=370900",
        cert_path("370900", "licence-root.pem").display()
    );
    let out = zz(
        &["licence", "verify", "--json", "--trust", &demo_root, "-"],
        Some(&token),
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "untrusted_issuer", "{report:#}");
    assert_eq!(out.status.code(), Some(1));
}
