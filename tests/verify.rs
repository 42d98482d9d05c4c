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
    let r: RegionCode = "370900".parse().unwrap();
    let crl = read(&cert_path("370900", "licence-root.crl.pem"));
    // A CRL that no anchor issued would check nothing: refused, before and after anchors.
    let mut anchored = TrustStore::new();
    let e = anchored.add_crl_pem(&crl, "early").unwrap_err();
    assert!(
        e.to_string().contains("which is none of the trust anchors"),
        "{e}"
    );
    anchored
        .add_pem(
            &read(&cert_path("370900", "licence-root.pem")),
            &[r],
            "root",
        )
        .unwrap();
    let e = anchored
        .add_crl_pem(&read(&cert_path("370115", "licence-root.crl.pem")), "济阳")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "济阳: issued by C=CN, O=济南市济阳区行政审批服务局, CN=济南市济阳区电子证照根CA (demo), \
         which is none of the trust anchors: it would check nothing"
    );
    assert_eq!(anchored.crls().count(), 0);
    anchored.add_crl_pem(&crl, "first").unwrap();
    assert_eq!(anchored.crls().count(), 1);
    let e = anchored
        .add_crl_pem(
            &read(&support::root().join("fixtures/pki/370900-licence-root.crl.pem")),
            "second",
        )
        .unwrap_err();
    assert!(e.to_string().contains("already loaded"), "{e}");

    let mut store = TrustStore::new();
    let e = store
        .add_crl_pem(
            &read(&cert_path("370900", "licence-root.pem")),
            "a certificate",
        )
        .unwrap_err();
    assert!(e.to_string().contains("no X509 CRL"), "{e}");
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

/// The `chain.revocation` check of `token` under `store`, with the report's outcome.
fn revocation_check(store: TrustStore, token: &str) -> (Outcome, zhengzhao::licence::Check) {
    let r = Verifier::new(store).verify(token, FIXTURE_AT);
    let check = r
        .checks
        .iter()
        .find(|c| c.check == "chain.revocation")
        .cloned()
        .unwrap_or_else(|| panic!("no chain.revocation check: {:?}", r.checks));
    (r.outcome, check)
}

/// 泰安's root alone, bound to 370900, with `crl` loaded under `name` when given.
fn store_370900(crl: Option<(&std::path::Path, &str)>) -> TrustStore {
    let mut store = TrustStore::new();
    let r: RegionCode = "370900".parse().unwrap();
    store
        .add_pem(
            &read(&cert_path("370900", "licence-root.pem")),
            &[r],
            "root",
        )
        .unwrap();
    if let Some((path, name)) = crl {
        store.add_crl_pem(&read(path), name).unwrap();
    }
    store
}

#[test]
fn the_report_names_the_crl_the_chain_was_checked_against() {
    let (key, chain) = signer_370900();
    let token = sign(&key, &chain, "370900", USCC_370900, FIXTURE_IAT);
    let crl = cert_path("370900", "licence-root.crl.pem");
    let store = store_370900(Some((&crl, "the demo CRL")));
    let facts: Vec<_> = store.crls().cloned().collect();
    assert_eq!(facts.len(), 1);
    assert_eq!(facts[0].name, "the demo CRL");
    assert_eq!(facts[0].this_update, 1_767_225_600); // 2026-01-01
    assert_eq!(facts[0].next_update, Some(2_398_377_600)); // 2046-01-01
    let (outcome, check) = revocation_check(store, &token);
    assert_eq!(outcome, Outcome::Valid);
    assert!(check.ok, "{check:?}");
    assert_eq!(
        check.detail,
        "CRL the demo CRL issued by C=CN, O=泰安市行政审批服务局, CN=泰安市电子证照根CA (demo), \
         thisUpdate 2026-01-01T08:00:00+08:00, nextUpdate 2046-01-01T08:00:00+08:00: the signer \
         certificate is not on it"
    );
    // The report orders it right after the chain it belongs to.
    let r = Verifier::new(store_370900(Some((&crl, "x")))).verify(&token, FIXTURE_AT);
    let names: Vec<_> = r.checks.iter().map(|c| c.check).collect();
    let at = names.iter().position(|c| *c == "chain").unwrap();
    assert_eq!(names[at + 1], "chain.revocation", "{names:?}");
}

#[test]
fn without_a_crl_the_report_says_revocation_was_not_checked() {
    let (key, chain) = signer_370900();
    let token = sign(&key, &chain, "370900", USCC_370900, FIXTURE_IAT);
    let (outcome, check) = revocation_check(store_370900(None), &token);
    // CRLs are optional: the licence is valid, and the report says what was not checked.
    assert_eq!(outcome, Outcome::Valid);
    assert!(check.ok, "{check:?}");
    assert_eq!(
        check.detail,
        "no CRL was given for C=CN, O=泰安市行政审批服务局, CN=泰安市电子证照根CA (demo), the \
         issuer of the signer certificate: revocation not checked for that CA"
    );
}

#[test]
fn a_crl_past_its_next_update_is_reported_not_failed() {
    let (key, chain) = signer_370900();
    let iat = 2_398_377_600 + 86_400; // the day after the demo CRL's nextUpdate
    let token = sign(&key, &chain, "370900", USCC_370900, iat);
    let crl = cert_path("370900", "licence-root.crl.pem");
    let r = Verifier::new(store_370900(Some((&crl, "old")))).verify(&token, iat + 10);
    let check = r
        .checks
        .iter()
        .find(|c| c.check == "chain.revocation")
        .unwrap();
    // The signer expired in 2036: the chain fails on that, and revocation is not vouched for.
    assert_eq!(r.outcome, Outcome::UntrustedIssuer);
    assert!(
        !check.ok && check.detail.contains("not checked"),
        "{check:?}"
    );

    // Signed in time, verified after the CRL's nextUpdate: said, not failed.
    let token = sign(&key, &chain, "370900", USCC_370900, FIXTURE_IAT);
    let r = Verifier::new(store_370900(Some((&crl, "old")))).verify(&token, iat);
    let check = r
        .checks
        .iter()
        .find(|c| c.check == "chain.revocation")
        .unwrap();
    assert!(check.ok, "{check:?}");
    assert!(
        check
            .detail
            .ends_with("CRL old is past its nextUpdate: revocations since may be missing"),
        "{check:?}"
    );
}

#[test]
fn a_revoked_signer_is_still_refused_and_the_crl_named() {
    let token = String::from_utf8(read(
        &support::root().join("fixtures/licences/untrusted_issuer.signer-revoked-by-crl.jws"),
    ))
    .unwrap();
    let crl = support::root().join("fixtures/pki/370900-licence-root.crl.pem");
    let store = store_370900(Some((&crl, "revoking CRL")));
    let r = Verifier::new(store).verify(&token, FIXTURE_AT);
    assert_eq!(r.outcome, Outcome::UntrustedIssuer);
    let chain = r.checks.iter().find(|c| c.check == "chain").unwrap();
    assert!(
        !chain.ok && chain.detail == "a certificate in the chain is revoked by its CRL",
        "{chain:?}"
    );
    let check = r
        .checks
        .iter()
        .find(|c| c.check == "chain.revocation")
        .unwrap();
    assert!(!check.ok, "{check:?}");
    assert!(
        check.detail.starts_with("the signer certificate (serial ")
            && check.detail.contains(
                ") is revoked: CRL revoking CRL issued by C=CN, O=泰安市行政审批服务局, \
                 CN=泰安市电子证照根CA (demo), thisUpdate 2026-10-15T08:00:00+08:00, lists it as \
                 revoked since 2026-10-15T08:00:00+08:00"
            ),
        "{check:?}"
    );
    // The same token without that CRL: valid, and the report says revocation went unchecked.
    let (outcome, check) = revocation_check(store_370900(None), &token);
    assert_eq!(outcome, Outcome::Valid);
    assert!(check.detail.contains("revocation not checked for that CA"));
}
