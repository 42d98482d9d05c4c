#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! The examples in docs/licence-format.md are checked here, so the page other regions
//! implement from cannot drift from the code.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use support::{FIXTURE_AT, cert_path, read, root};
use zhengzhao::codes::{LicenceId, RegionCode};
use zhengzhao::licence::{Claims, IssuanceRequest, Outcome, Signer, Verifier};
use zhengzhao::pki::trust::TrustStore;

/// The body of the fenced block whose info string is `tag`.
fn block(doc: &str, tag: &str) -> String {
    let start = doc
        .find(&format!("```{tag}\n"))
        .unwrap_or_else(|| panic!("no ```{tag} block"));
    let body = &doc[start + tag.len() + 4..];
    body[..body.find("```").unwrap()].to_owned()
}

fn doc() -> String {
    String::from_utf8(read(&root().join("docs/licence-format.md"))).unwrap()
}

fn store(region: &str) -> TrustStore {
    let mut s = TrustStore::new();
    let r: RegionCode = region.parse().unwrap();
    s.add_pem(
        &read(&cert_path("370900", "licence-root.pem")),
        &[r],
        "root",
    )
    .unwrap();
    s
}

#[test]
fn the_example_token_verifies_and_is_bound_to_its_region() {
    let token: String = block(&doc(), "jws example").split_whitespace().collect();
    let report = Verifier::new(store("370900")).verify(&token, FIXTURE_AT);
    assert_eq!(
        report.outcome,
        Outcome::Valid,
        "{:?}",
        report.first_failure()
    );
    let report = Verifier::new(store("370115")).verify(&token, FIXTURE_AT);
    assert_eq!(report.outcome, Outcome::IssuerMismatch);
    // exp as the page says: 2029-01-01T00:00:00+08:00.
    let exp = report.licence.unwrap().exp.unwrap();
    assert_eq!(exp, 1_861_891_200);
    let expired = Verifier::new(store("370900")).verify(&token, exp);
    assert_eq!(expired.outcome, Outcome::Expired);
}

#[test]
fn the_example_request_issues_a_licence_shaped_like_the_example_payload() {
    let doc = doc();
    let req: IssuanceRequest = serde_json::from_str(&block(&doc, "json request")).unwrap();
    let signer = Signer::from_pem(
        &read(&cert_path("370900", "signer.pem")),
        &read(&cert_path("370900", "signer.key")),
        None,
    )
    .unwrap();
    let issued = signer.issue(&req, support::FIXTURE_IAT).unwrap();
    let example: Claims = serde_json::from_str(&block(&doc, "json payload")).unwrap();
    // Everything but the serial, check character and signing time is as the page shows.
    assert_eq!(issued.claims.lic, example.lic);
    assert_eq!(
        (issued.claims.iss.as_str(), issued.claims.sub.as_str()),
        (example.iss.as_str(), example.sub.as_str())
    );
    assert_eq!(
        (issued.claims.nbf, issued.claims.exp),
        (example.nbf, example.exp)
    );
    // The example id is a valid identifier that agrees with the payload.
    let id: LicenceId = example.jti.parse().unwrap();
    assert_eq!(id.issuer().as_str(), example.iss);
    assert_eq!(id.type_code().as_str(), example.lic.type_code);
    let verified = Verifier::new(store("370900")).verify(&issued.token, FIXTURE_AT);
    assert_eq!(verified.outcome, Outcome::Valid);
}

#[test]
fn the_eku_oid_on_the_page_is_the_one_in_the_code() {
    let doc = doc();
    assert!(doc.contains(zhengzhao::pki::LICENCE_SIGNING_EKU_OID));
    assert!(doc.contains(&hex::encode(zhengzhao::pki::LICENCE_SIGNING_EKU_DER)));
}

#[test]
fn the_outcome_precedence_on_the_page_is_the_one_in_the_code() {
    let order: Vec<&str> = Outcome::PRECEDENCE.iter().map(|o| o.as_str()).collect();
    let page = doc().split_whitespace().collect::<Vec<_>>().join(" ");
    let written = order.iter().map(|o| format!("`{o}`")).collect::<Vec<_>>();
    // The page names them in this order in its precedence sentence.
    let mut at = page
        .find("first failure in the order of the table above")
        .unwrap();
    for name in &written {
        let found = page[at..]
            .find(name.as_str())
            .unwrap_or_else(|| panic!("{name} out of order"));
        at += found + name.len();
    }
}
