//! OFD documents, electronic seals and signatures.

use std::str::FromStr;
use std::sync::OnceLock;

use super::licence::FUZZ_AT;
use crate::codes::LicenceId;
use crate::gm::{Sm2PublicKey, Sm2Signature};
use crate::ofd::report::{OfdOutcome, OfdReport, SignatureReport};
use crate::ofd::ses::{self, SignedValue};
use crate::ofd::verify::OfdVerifier;
use crate::pki::trust::TrustStore;

/// The SM2 public key [`fuzz_ofd`] trusts for bare signatures: ofdrw's test signer's
/// (`fixtures/ofd/ofdrw/USER.pub.pem`), which signed the bare signature of the `DigitalSign`
/// seed. Public test material, trusted by nothing else.
const FUZZ_OFD_KEY_PEM: &str = include_str!("../../fixtures/ofd/ofdrw/USER.pub.pem");

/// The verifiers [`fuzz_ofd`] uses, built once: one trusting nothing, one trusting
/// [`FUZZ_OFD_KEY_PEM`] for bare SM2 signatures.
static FUZZ_OFD_VERIFIERS: OnceLock<Result<(OfdVerifier, OfdVerifier), String>> = OnceLock::new();

fn fuzz_ofd_verifiers() -> Result<(OfdVerifier, OfdVerifier), String> {
    let key = Sm2PublicKey::from_pem(FUZZ_OFD_KEY_PEM).map_err(|e| e.to_string())?;
    Ok((
        OfdVerifier::new(TrustStore::new()),
        OfdVerifier::new(TrustStore::new()).with_key(key),
    ))
}

/// The check names of the OFD report (docs/ofd-verification.md).
const OFD_CHECKS: [&str; 9] = [
    "references",
    "data_hash",
    "signature",
    "seal_signature",
    "seal_validity",
    "signer_in_seal",
    "signer_chain",
    "seal_maker_chain",
    "signer_validity",
];

/// A report as JSON, for comparing two (the report types are not `PartialEq`).
fn ofd_json(report: &impl serde::Serialize) -> serde_json::Value {
    match serde_json::to_value(report) {
        Ok(v) => v,
        Err(e) => panic!("an OFD report does not serialize: {e}"),
    }
}

/// Feed `data` to the OFD package reader ([`crate::ofd::read`]), to [`OfdVerifier::verify`]
/// trusting nothing and trusting one key for bare SM2 signatures (at 2026-12-01T00:00:00Z),
/// and to the seal and signature parsers [`ses::parse_seal`], [`ses::parse_signed_value`] and
/// [`ses::parse_ses_signature`] (and the checks on what they accept).
///
/// Panics (which is what a fuzzer looks for) if any of them panics, or if:
/// - a report does not serialize, or its JSON `outcome` is not the outcome's stable name;
/// - the report is malformed as a whole (`error` set; no signatures, files or metadata)
///   other than exactly when `read` fails; when `read` succeeds, the report differs from
///   [`OfdVerifier::verify_read`]'s on what it read, or its outcome from
///   [`OfdReport::outcome_of`] its signatures and whether files are uncovered;
/// - a signature's outcome is not [`SignatureReport::outcome_of`] its checks, it has no
///   `references` check first, or a check has a name the report does not define;
/// - a `valid` document has no signature, an uncovered file, or a signature not `valid`;
/// - a licence id reported does not parse as one;
/// - verifying the same bytes again gives another report; trusting the key changes a
///   signature that is not a bare SM2 one, or a bare one without the key does not fail
///   `signer_chain`;
/// - a seal accepted is not the whole input; a signature value accepted does not hold its
///   `TBS_Sign` and its seal as stored in the input; `parse_ses_signature` and
///   `parse_signed_value` disagree; a bare SM2 value does not survive DER and raw re-encoding.
///
/// Never panics otherwise. The embedded key failing to load is also a panic: it is a bug.
pub fn fuzz_ofd(data: &[u8]) {
    let (bare, keyed) = match FUZZ_OFD_VERIFIERS.get_or_init(fuzz_ofd_verifiers) {
        Ok((bare, keyed)) => (bare, keyed),
        Err(e) => panic!("the embedded SM2 key does not load: {e}"),
    };
    let read = crate::ofd::read(data);
    let report = bare.verify(data, FUZZ_AT);
    let with_key = keyed.verify(data, FUZZ_AT);
    for r in [&report, &with_key] {
        check_ofd_report(r, read.is_ok());
    }
    if let Ok(ofd) = &read {
        assert_eq!(ofd_json(&bare.verify_read(ofd, FUZZ_AT)), ofd_json(&report));
    }
    assert_eq!(
        ofd_json(&bare.verify(data, FUZZ_AT)),
        ofd_json(&report),
        "a second verification differs"
    );

    // The key is for bare SM2 signatures only.
    assert_eq!(report.signatures.len(), with_key.signatures.len());
    for (plain, keyed) in report.signatures.iter().zip(&with_key.signatures) {
        if plain.format == Some("sm2") {
            assert!(
                plain
                    .checks
                    .iter()
                    .any(|c| c.check == "signer_chain" && !c.ok),
                "a bare signature trusted without a key: {plain:?}"
            );
        } else {
            assert_eq!(
                ofd_json(plain),
                ofd_json(keyed),
                "the key changed {plain:?}"
            );
        }
    }

    fuzz_ses(data);
}

/// The invariants of one OFD report (see [`fuzz_ofd`]).
fn check_ofd_report(report: &OfdReport, read_ok: bool) {
    let json = ofd_json(report);
    assert_eq!(
        json.get("outcome").and_then(|v| v.as_str()),
        Some(report.outcome.as_str())
    );
    let whole_malformed = report.error.is_some();
    assert_eq!(whole_malformed, !read_ok, "error {:?}", report.error);
    if whole_malformed {
        assert_eq!(report.outcome, OfdOutcome::Malformed);
        assert!(report.signatures.is_empty() && report.uncovered.is_empty());
        assert!(report.metadata.is_empty() && report.licence_id.is_none());
        return;
    }
    assert_eq!(
        report.outcome,
        OfdReport::outcome_of(&report.signatures, !report.uncovered.is_empty())
    );
    for sig in &report.signatures {
        assert_eq!(
            sig.outcome,
            SignatureReport::outcome_of(&sig.checks),
            "{sig:?}"
        );
        assert!(
            !matches!(sig.outcome, OfdOutcome::NotCovered | OfdOutcome::Unsigned),
            "{sig:?}"
        );
        assert_eq!(sig.checks.first().map(|c| c.check), Some("references"));
        for c in &sig.checks {
            assert!(OFD_CHECKS.contains(&c.check), "unknown check {c:?}");
        }
    }
    if report.outcome == OfdOutcome::Valid {
        assert!(!report.signatures.is_empty(), "valid without a signature");
        assert!(report.uncovered.is_empty(), "valid: {:?}", report.uncovered);
        assert!(
            report
                .signatures
                .iter()
                .all(|s| s.outcome == OfdOutcome::Valid)
        );
    }
    if let Some(id) = &report.licence_id {
        assert!(LicenceId::from_str(id).is_ok(), "licence id {id:?}");
    }
}

/// Whether `needle` occurs in `haystack`.
fn holds_slice(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The seal and signature parsers on `data` (see [`fuzz_ofd`]).
fn fuzz_ses(data: &[u8]) {
    if let Ok(seal) = ses::parse_seal(data) {
        assert_eq!(seal.der, data, "a seal accepted is the whole input");
        let _ = seal.verify_maker_signature();
        let _ = seal.valid_at(seal.created.unix);
        let _ = seal.lists_certificate(&seal.maker_cert_der);
    }
    let value = ses::parse_signed_value(data);
    assert_eq!(
        ses::parse_ses_signature(data).is_ok(),
        matches!(value, Ok(SignedValue::Ses(_)))
    );
    match value {
        Ok(SignedValue::Ses(s)) => {
            assert!(holds_slice(data, &s.tbs_der), "TBS_Sign not as stored");
            assert!(holds_slice(data, &s.seal.der), "the seal not as stored");
            let _ = s.verify_signature();
            let _ = s.seal.verify_maker_signature();
            let _ = s.signer_in_seal();
            let _ = s.check_data_hash(data);
            let _ = s.seal_valid_at_signing();
        }
        Ok(SignedValue::SignedData(d)) => {
            let _ = d.check_data_hash(data);
            let _ = d.verify_signature(data);
        }
        Ok(SignedValue::BareSm2(sig)) => {
            for encoded in [sig.to_der(), sig.to_raw().to_vec()] {
                match Sm2Signature::parse(&encoded) {
                    Ok(again) => assert_eq!(again.to_raw(), sig.to_raw()),
                    Err(e) => panic!("{sig:?} re-encoded does not parse: {e}"),
                }
            }
        }
        Err(_) => {}
    }
}
