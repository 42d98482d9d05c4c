#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! SM2 known answers against OpenSSL 3, an implementation nobody here wrote, in both
//! directions: signatures made by `gm` verify with `openssl dgst -sm3 -verify`, and signatures
//! made by OpenSSL (with a key `gm` wrote, and with a key OpenSSL generated) verify with
//! `gm::Sm2PublicKey`, all under the distinguishing ID 1234567812345678. Without the ID
//! (OpenSSL's default, an empty ID) none of them verifies: the ID is part of what is checked.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use std::path::Path;
use support::command::{openssl, openssl_sm2_check, output_text};
use zhengzhao::gm::{DEFAULT_DISTID, GmError, Sm2PrivateKey, Sm2PublicKey, Sm2Signature};

const MESSAGE: &[u8] = "电子证照 SM2 known answer: the message both sides sign".as_bytes();

fn distid() -> String {
    format!("distid:{DEFAULT_DISTID}")
}

fn public_pem(key: &Sm2PublicKey) -> String {
    der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &key.to_spki_der()).unwrap()
}

#[test]
fn a_gm_signature_verifies_with_openssl_only_under_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let sk = Sm2PrivateKey::generate().unwrap();
    std::fs::write(dir.path().join("pub.pem"), public_pem(&sk.public_key())).unwrap();
    std::fs::write(dir.path().join("msg"), MESSAGE).unwrap();
    let sig = sk.sign(MESSAGE).unwrap();
    std::fs::write(dir.path().join("sig.der"), sig.to_der()).unwrap();

    let d = dir.path();
    let check = |msg: &str, with_id| {
        openssl_sm2_check(
            &d.join("pub.pem"),
            &d.join("sig.der"),
            &d.join(msg),
            with_id,
        )
    };
    let out = check("msg", true);
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("Verified OK"),
        "{}",
        output_text(&out)
    );

    // Without the ID, OpenSSL uses an empty one: the same bytes must not verify.
    let out = check("msg", false);
    assert!(
        !out.status.success(),
        "verified without the ID: {}",
        output_text(&out)
    );
    assert!(
        output_text(&out).contains("Verification failure"),
        "{}",
        output_text(&out)
    );

    // Another message does not verify under the ID either.
    std::fs::write(d.join("other"), b"another message").unwrap();
    let out = check("other", true);
    assert!(!out.status.success(), "{}", output_text(&out));
}

/// OpenSSL signs `msg` in `dir` with `key` (with or without the ID) and returns the signature.
fn openssl_sign(dir: &Path, key: &str, with_id: bool) -> Vec<u8> {
    let id = distid();
    let mut args = vec!["dgst", "-sm3", "-sign", key];
    if with_id {
        args.extend(["-sigopt", &id]);
    }
    args.extend(["-out", "sig.der", "msg"]);
    let out = openssl(&args, dir);
    assert!(out.status.success(), "{}", output_text(&out));
    std::fs::read(dir.join("sig.der")).unwrap()
}

#[test]
fn an_openssl_signature_with_a_key_gm_wrote_verifies_with_gm_only_under_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let sk = Sm2PrivateKey::generate().unwrap();
    std::fs::write(dir.path().join("key.pem"), sk.to_pkcs8_pem().unwrap()).unwrap();
    std::fs::write(dir.path().join("msg"), MESSAGE).unwrap();
    let pk = sk.public_key();

    let sig = Sm2Signature::parse(&openssl_sign(dir.path(), "key.pem", true)).unwrap();
    pk.verify(MESSAGE, &sig).unwrap();
    assert_eq!(pk.verify(b"another message", &sig), Err(GmError::Mismatch));

    let no_id = Sm2Signature::parse(&openssl_sign(dir.path(), "key.pem", false)).unwrap();
    assert_eq!(pk.verify(MESSAGE, &no_id), Err(GmError::Mismatch));
}

#[test]
fn an_openssl_signature_with_an_openssl_key_verifies_with_gm_only_under_the_id() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("msg"), MESSAGE).unwrap();
    let out = openssl(
        &["genpkey", "-algorithm", "SM2", "-out", "key.pem"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", output_text(&out));
    let out = openssl(
        &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", output_text(&out));
    let pub_pem = std::fs::read_to_string(dir.path().join("pub.pem")).unwrap();
    let pk = Sm2PublicKey::from_pem(&pub_pem).unwrap();
    // gm reads OpenSSL's private key too, and finds the same public key.
    let key_pem = std::fs::read_to_string(dir.path().join("key.pem")).unwrap();
    let sk = Sm2PrivateKey::from_pem(&key_pem).unwrap();
    assert_eq!(sk.public_key().to_sec1(), pk.to_sec1());

    let sig = Sm2Signature::parse(&openssl_sign(dir.path(), "key.pem", true)).unwrap();
    pk.verify(MESSAGE, &sig).unwrap();

    let no_id = Sm2Signature::parse(&openssl_sign(dir.path(), "key.pem", false)).unwrap();
    assert_eq!(pk.verify(MESSAGE, &no_id), Err(GmError::Mismatch));
}
