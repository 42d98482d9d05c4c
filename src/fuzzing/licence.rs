//! Licence tokens through `jws::decode` and the verifier.

use std::str::FromStr;
use std::sync::OnceLock;

use crate::codes::RegionCode;
use crate::licence::jws::{self, DecodeError};
use crate::licence::{Outcome, Verifier};
use crate::pki::trust::TrustStore;

/// The demo licence root of region 370900 (`certs/370900/licence-root.pem`).
///
/// Public test material, committed with the demo PKI; embedded only so that
/// [`fuzz_licence`] has a trust anchor, and trusted by nothing else.
const FUZZ_ROOT_PEM: &[u8] = include_bytes!("../../certs/370900/licence-root.pem");
/// The region [`FUZZ_ROOT_PEM`] is bound to in [`fuzz_licence`].
const FUZZ_REGION: &str = "370900";
/// The instant [`fuzz_licence`] verifies at: 2026-12-01T00:00:00Z, as the fixtures are.
pub(super) const FUZZ_AT: i64 = 1_796_083_200;

/// The verifier [`fuzz_licence`] uses: built once, so its chain cache persists across inputs.
static FUZZ_VERIFIER: OnceLock<Result<Verifier, String>> = OnceLock::new();

fn fuzz_verifier() -> Result<Verifier, String> {
    let region = RegionCode::from_str(FUZZ_REGION).map_err(|e| e.to_string())?;
    let mut store = TrustStore::new();
    store
        .add_pem(FUZZ_ROOT_PEM, &[region], "370900 licence root")
        .map_err(|e| e.to_string())?;
    Ok(Verifier::new(store))
}

/// Feed `data` (read as UTF-8, invalid sequences replaced) to [`jws::decode`] and to a
/// [`Verifier`] that trusts only the 370900 demo licence root (bound to region 370900, no
/// CRL), at 2026-12-01T00:00:00Z.
///
/// Panics (which is what a fuzzer looks for) if decoding or verification panics, or if the
/// report breaks one of these invariants:
/// - the outcome is `valid` exactly when every check passed, and otherwise it is the
///   `fails_as` of a failed check, and no failed check yields an earlier outcome in the
///   verifier's order;
/// - when `decode` fails the outcome is `unsupported_algorithm` for a refused `alg` and
///   `malformed` otherwise, and the report holds that one failed check, no licence and no
///   signer; when it succeeds the report carries the decoded claims, the outcome is never
///   `unsupported_algorithm`, and `malformed` only from the `x5c` check (an entry framed as
///   DER that is not a certificate);
/// - a `valid` licence has a signer, names region 370900, and is in force at the instant;
/// - verifying the same token again (now with the chain cache warm) gives the same report;
/// - the report serializes to JSON whose `outcome` is the outcome's stable name.
///
/// Never panics otherwise. The embedded root failing to load is also a panic: it is a bug.
pub fn fuzz_licence(data: &[u8]) {
    let rank = |o: Outcome| Outcome::PRECEDENCE.iter().position(|x| *x == o);

    let verifier = match FUZZ_VERIFIER.get_or_init(fuzz_verifier) {
        Ok(v) => v,
        Err(e) => panic!("the embedded 370900 licence root does not load: {e}"),
    };
    let text = String::from_utf8_lossy(data);
    let token = text.as_ref();

    let decoded = jws::decode(token);
    let report = verifier.verify(token, FUZZ_AT);
    let outcome = report.outcome;
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.ok).collect();

    // The outcome and the checks agree.
    assert!(!report.checks.is_empty(), "a report without checks");
    assert_eq!(
        outcome == Outcome::Valid,
        failed.is_empty(),
        "outcome {outcome:?} with failed checks {failed:?}"
    );
    if outcome != Outcome::Valid {
        assert!(
            failed.iter().any(|c| c.fails_as == outcome),
            "outcome {outcome:?} named by no failed check: {failed:?}"
        );
    }
    assert_eq!(report.first_failure().is_none(), outcome == Outcome::Valid);

    match &decoded {
        Err(e) => {
            let expected = match e {
                DecodeError::UnsupportedAlg(_) => Outcome::UnsupportedAlgorithm,
                _ => Outcome::Malformed,
            };
            assert_eq!(outcome, expected, "decode failed with {e:?}");
            assert_eq!(report.checks.len(), 1, "checks after a decode failure");
            assert!(report.licence.is_none() && report.signer.is_none());
        }
        Ok(d) => {
            assert!(
                rank(outcome).is_some() || outcome == Outcome::Valid,
                "decoded, yet outcome {outcome:?}"
            );
            if outcome == Outcome::Malformed {
                assert!(
                    failed
                        .iter()
                        .all(|c| c.fails_as != Outcome::Malformed || c.check == "x5c"),
                    "decoded, yet malformed by {failed:?}"
                );
            }
            assert_eq!(report.licence.as_ref(), Some(&d.claims));
            // No failed check yields an outcome that comes before the one reported.
            if let Some(r) = rank(outcome) {
                for c in &failed {
                    assert!(
                        rank(c.fails_as).is_some_and(|x| x >= r),
                        "outcome {outcome:?} but {c:?} failed"
                    );
                }
            }
        }
    }

    if outcome == Outcome::Valid {
        assert!(report.signer.is_some(), "valid without a signer");
        match &report.licence {
            Some(claims) => {
                assert_eq!(claims.lic.region, FUZZ_REGION, "valid outside 370900");
                assert!(claims.nbf <= FUZZ_AT, "valid before nbf");
                assert!(
                    claims.exp.is_none_or(|exp| exp > FUZZ_AT),
                    "valid after exp"
                );
                assert!(
                    claims.iat <= FUZZ_AT + crate::licence::verify::MAX_CLOCK_SKEW,
                    "valid though signed in the future"
                );
            }
            None => panic!("valid without a licence"),
        }
    }

    // The chain cache is warm now; it must not change the answer.
    let again = verifier.verify(token, FUZZ_AT);
    assert_eq!(again.outcome, outcome, "second verification differs");
    assert_eq!(again.checks, report.checks, "second verification differs");
    assert_eq!(again.signer, report.signer);

    match serde_json::to_value(&report) {
        Ok(json) => assert_eq!(
            json.get("outcome").and_then(|v| v.as_str()),
            Some(outcome.as_str())
        ),
        Err(e) => panic!("the report does not serialize: {e}"),
    }
}
