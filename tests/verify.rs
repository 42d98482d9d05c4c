#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Verifier behaviour beyond the fixtures: the chain cache never answers for a signing time,
//! region or chain it did not validate; CRL and anchor loading refuse what would be silently
//! wrong; extreme times do not panic.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use base64::Engine as _;
use std::collections::BTreeMap;
use support::{FIXTURE_AT, FIXTURE_IAT, cert_path, demo_store, read};
use zhengzhao::codes::{LicenceId, RegionCode};
use zhengzhao::licence::{Claims, LicenceFace, Outcome, SigningKey, Verifier};
use zhengzhao::pki::trust::TrustStore;

const USCC_370900: &str = "11370900004090218Y";
const USCC_370115: &str = "113701150041153580";

fn claims(region: &str, uscc: &str, iat: i64) -> Claims {
    let id = LicenceId::new(
        "11100000000013338W032".parse().unwrap(),
        uscc.parse().unwrap(),
        "VERIFYTEST000000001",
        1,
    )
    .unwrap();
    Claims {
        jti: id.to_string(),
        iss: uscc.into(),
        sub: "91110000600037341L".into(),
        iat,
        nbf: iat,
        exp: None,
        lic: LicenceFace {
            type_code: "11100000000013338W032".into(),
            type_name: "营业执照".into(),
            number: "1".into(),
            holder_type: "001".into(),
            holder_name: "示例有限公司".into(),
            issuer_name: "泰安市行政审批服务局".into(),
            region: region.into(),
            version: "001".into(),
            fields: BTreeMap::new(),
        },
    }
}

fn signer_370900() -> (SigningKey, Vec<Vec<u8>>) {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let key = SigningKey::from_pkcs8_pem(&read(&cert_path("370900", "signer.key"))).unwrap();
    let der = CertificateDer::from_pem_slice(&read(&cert_path("370900", "signer.pem"))).unwrap();
    (key, vec![der.to_vec()])
}

/// A licence signed with `key` and `chain` over [`claims`] of `region`, `uscc` and `iat`.
fn sign(key: &SigningKey, chain: &[Vec<u8>], region: &str, uscc: &str, iat: i64) -> String {
    key.sign_claims(chain, &claims(region, uscc, iat)).unwrap()
}

/// 泰安's signer, a verifier over the demo store, and a licence that verifier has found valid
/// once (so that its path is cached).
fn verified_once() -> (SigningKey, Vec<Vec<u8>>, Verifier, String) {
    let (key, chain) = signer_370900();
    let v = Verifier::new(demo_store());
    let ok = sign(&key, &chain, "370900", USCC_370900, FIXTURE_IAT);
    assert_eq!(v.verify(&ok, FIXTURE_AT).outcome, Outcome::Valid);
    (key, chain, v, ok)
}

#[test]
fn a_cached_path_is_not_reused_outside_the_signers_validity() {
    let (key, chain, v, ok) = verified_once();
    // The demo signer is valid 2026-01-01 to 2036-01-01: signed in 2040 or 2025 it is not.
    let late_iat = 2_208_988_800; // 2040-01-01
    let late = sign(&key, &chain, "370900", USCC_370900, late_iat);
    let r = v.verify(&late, late_iat + 10);
    assert_eq!(
        r.outcome,
        Outcome::UntrustedIssuer,
        "{:?}",
        r.first_failure()
    );
    let early_iat = 1_735_689_600; // 2025-01-01
    let early = sign(&key, &chain, "370900", USCC_370900, early_iat);
    assert_eq!(
        v.verify(&early, FIXTURE_AT).outcome,
        Outcome::UntrustedIssuer
    );
    // And the cached success still stands for a signing time inside the window.
    assert_eq!(v.verify(&ok, FIXTURE_AT).outcome, Outcome::Valid);
}

#[test]
fn a_cached_path_is_not_reused_for_another_region() {
    let (key, chain, v, _) = verified_once();
    let other = sign(&key, &chain, "370115", USCC_370900, FIXTURE_IAT);
    let r = v.verify(&other, FIXTURE_AT);
    assert_eq!(r.outcome, Outcome::IssuerMismatch);
    assert!(r.checks.iter().any(|c| c.check == "anchor.region" && !c.ok));
    let other_iss = sign(&key, &chain, "370900", USCC_370115, FIXTURE_IAT);
    assert_eq!(
        v.verify(&other_iss, FIXTURE_AT).outcome,
        Outcome::IssuerMismatch
    );
}

#[test]
fn one_anchor_may_vouch_for_several_regions() {
    let (key, chain) = signer_370900();
    let mut store = TrustStore::new();
    let regions: Vec<RegionCode> = ["370900", "370115"]
        .iter()
        .map(|r| r.parse().unwrap())
        .collect();
    store
        .add_pem(
            &read(&cert_path("370900", "licence-root.pem")),
            &regions,
            "root",
        )
        .unwrap();
    let v = Verifier::new(store);
    let token = sign(&key, &chain, "370900", USCC_370900, FIXTURE_IAT);
    assert_eq!(v.verify(&token, FIXTURE_AT).outcome, Outcome::Valid);
    // Bound to 370115 too, but the signer certificate itself names only 370900.
    let token = sign(&key, &chain, "370115", USCC_370900, FIXTURE_IAT);
    let r = v.verify(&token, FIXTURE_AT);
    assert_eq!(r.outcome, Outcome::IssuerMismatch);
    assert!(
        r.checks
            .iter()
            .any(|c| c.check == "binding.region" && !c.ok)
    );
    assert!(r.checks.iter().any(|c| c.check == "anchor.region" && c.ok));
}

#[test]
fn an_empty_store_trusts_nothing() {
    let (key, chain) = signer_370900();
    let token = sign(&key, &chain, "370900", USCC_370900, FIXTURE_IAT);
    let r = Verifier::new(TrustStore::new()).verify(&token, FIXTURE_AT);
    assert_eq!(r.outcome, Outcome::UntrustedIssuer);
}

#[test]
fn loading_refuses_what_would_be_silently_wrong() {
    let mut store = TrustStore::new();
    let crl = read(&cert_path("370900", "licence-root.crl.pem"));
    store.add_crl_pem(&crl, "first").unwrap();
    let e = store
        .add_crl_pem(
            &read(&support::root().join("fixtures/pki/370900-licence-root.crl.pem")),
            "second",
        )
        .unwrap_err();
    assert!(e.to_string().contains("already loaded"), "{e}");
    let e = store
        .add_crl_pem(
            &read(&cert_path("370900", "licence-root.pem")),
            "a certificate",
        )
        .unwrap_err();
    assert!(e.to_string().contains("no X509 CRL"), "{e}");
    let r: RegionCode = "370900".parse().unwrap();
    let e = store
        .add_pem(&read(&cert_path("370900", "signer.pem")), &[r], "leaf")
        .unwrap_err();
    assert!(e.to_string().contains("not a CA"), "{e}");
    let e = store
        .add_pem(&read(&cert_path("370900", "licence-root.pem")), &[], "root")
        .unwrap_err();
    assert!(e.to_string().contains("at least one region"), "{e}");
    let e = store
        .add_pem(
            b"-----BEGIN NOTHING-----\n-----END NOTHING-----\n",
            &[r],
            "junk",
        )
        .unwrap_err();
    assert!(e.to_string().contains("no CERTIFICATE"), "{e}");
    assert!(store.anchors().is_empty());
}

#[test]
fn extreme_times_do_not_panic() {
    let (key, chain) = signer_370900();
    let v = Verifier::new(demo_store());
    for (iat, nbf, exp) in [
        (i64::MAX, i64::MAX, Some(i64::MAX)),
        (i64::MIN, i64::MIN, Some(i64::MIN)),
        (-1, 0, None),
        (FIXTURE_IAT, i64::MIN, Some(i64::MAX)),
    ] {
        let mut c = claims("370900", USCC_370900, iat);
        c.nbf = nbf;
        c.exp = exp;
        let token = key.sign_claims(&chain, &c).unwrap();
        for at in [i64::MIN, 0, FIXTURE_AT, i64::MAX] {
            let r = v.verify(&token, at);
            // Only the sane signing time, checked at a time inside the (huge) validity, passes.
            let valid = iat == FIXTURE_IAT && at == FIXTURE_AT;
            assert_eq!(
                r.outcome == Outcome::Valid,
                valid,
                "iat {iat} nbf {nbf} exp {exp:?} at {at}: {:?}",
                r.first_failure()
            );
            serde_json::to_string(&r).unwrap();
        }
    }
}

#[test]
fn the_verifier_is_shared_across_threads() {
    let (key, chain) = signer_370900();
    let v = Verifier::new(demo_store());
    let token = sign(&key, &chain, "370900", USCC_370900, FIXTURE_IAT);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    assert_eq!(v.verify(&token, FIXTURE_AT).outcome, Outcome::Valid);
                }
            });
        }
    });
}

#[test]
fn resident_id_numbers_stay_out_of_debug_output_and_error_details() {
    let (key, chain) = signer_370900();
    let v = Verifier::new(demo_store());
    let id = "11010519491231002X";
    let mut c = claims("370900", USCC_370900, FIXTURE_IAT);
    c.lic.holder_type = "111".into();
    c.sub = id.into();
    let token = key.sign_claims(&chain, &c).unwrap();
    let report = v.verify(&token, FIXTURE_AT);
    assert_eq!(report.outcome, Outcome::Valid);
    let debug = format!("{report:?}");
    assert!(!debug.contains(id), "{debug}");
    assert!(debug.contains("110105********002X"));

    // A payload that quotes the number where a string belongs: serde's message would echo it.
    let mut payload = serde_json::to_value(&c).unwrap();
    payload["sub"] = serde_json::json!(110105194912310021u64);
    let input = format!(
        "{}.{}",
        base64url(
            &serde_json::to_vec(&serde_json::json!({
                "alg": "ES256", "typ": "licence+jwt",
                "x5c": [base64::engine::general_purpose::STANDARD.encode(&chain[0])]
            }))
            .unwrap()
        ),
        base64url(&serde_json::to_vec(&payload).unwrap())
    );
    let token = format!(
        "{input}.{}",
        base64url(&key.sign(input.as_bytes()).unwrap())
    );
    let report = v.verify(&token, FIXTURE_AT);
    assert_eq!(report.outcome, Outcome::Malformed);
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("110105194912310021"), "{text}");
    assert!(text.contains("<redacted>"), "{text}");
}

fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn a_forged_signature_does_not_get_its_chain_validated() {
    let (key, chain) = signer_370900();
    let v = Verifier::new(demo_store());
    let token = sign(&key, &chain, "370900", USCC_370900, FIXTURE_IAT);
    let (input, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", base64url(&[7u8; 64]));
    let r = v.verify(&forged, FIXTURE_AT);
    assert_eq!(r.outcome, Outcome::BadSignature);
    let chain_check = r.checks.iter().find(|c| c.check == "chain").unwrap();
    assert!(
        chain_check.detail.contains("not checked"),
        "{chain_check:?}"
    );
    // The genuine token still verifies afterwards.
    assert_eq!(v.verify(&token, FIXTURE_AT).outcome, Outcome::Valid);
}
