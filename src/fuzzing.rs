//! Fuzz target bodies, shared by `fuzz/` and the seed-replay tests.
//!
//! Each `fuzz_*` function takes arbitrary bytes, runs one part of the library on them and
//! asserts what must hold for every input. `fuzz/` (cargo-fuzz) drives them with libFuzzer;
//! `tests/fuzz_seeds.rs` replays the committed seeds in `fuzz/corpus/` on stable.

use std::fmt::{Debug, Display};
use std::str::FromStr;
use std::sync::OnceLock;

use time::macros::date;

use crate::audit::checkpoint::Checkpoint;
use crate::audit::note::{CosignatureVerifier, MAX_SIGNATURES, Note, NoteSigner, NoteVerifier};
use crate::audit::proof_file::TlogProof;
use crate::codes::{
    CodeError, HolderCode, HolderType, LicenceId, LicenceTypeCode, RegionCode, ResidentId, Uscc,
};
use crate::licence::jws::{self, DecodeError};
use crate::licence::{Outcome, Verifier};
use crate::pki::trust::TrustStore;

/// Feed `data` (read as UTF-8, invalid sequences replaced) to every identifier parser in
/// [`crate::codes`]: [`Uscc`], [`Uscc::from_body`], [`ResidentId`] (with today's date and with
/// [`ResidentId::parse_at`] on a fixed date), [`RegionCode`], [`LicenceTypeCode`],
/// [`LicenceId`], [`HolderType`] and [`HolderCode`].
///
/// Panics (which is what a fuzzer looks for) if a parser panics, or if a value it accepts does
/// not come back equal after `Display` and `FromStr`. Never panics otherwise.
pub fn fuzz_identifiers(data: &[u8]) {
    /// Parse with `FromStr` and, if accepted, check the round trip.
    fn round_trip<T>(s: &str) -> Option<T>
    where
        T: FromStr<Err = CodeError> + Display + Debug + PartialEq,
    {
        let value = s.parse::<T>().ok()?;
        assert_eq!(value.to_string().parse::<T>().as_ref(), Ok(&value));
        Some(value)
    }

    let text = String::from_utf8_lossy(data);
    let s = text.as_ref();

    round_trip::<Uscc>(s);
    round_trip::<ResidentId>(s);
    round_trip::<RegionCode>(s);
    round_trip::<LicenceTypeCode>(s);
    round_trip::<LicenceId>(s);

    if let Ok(code) = Uscc::from_body(s) {
        assert_eq!(code.to_string().parse::<Uscc>().as_ref(), Ok(&code));
    }

    let fixed_day = date!(2025 - 06 - 01);
    if let Ok(id) = ResidentId::parse_at(s, fixed_day) {
        assert_eq!(
            ResidentId::parse_at(&id.to_string(), fixed_day).as_ref(),
            Ok(&id)
        );
    }

    if let Ok(holder_type) = s.parse::<HolderType>() {
        assert_eq!(
            holder_type.to_string().parse::<HolderType>(),
            Ok(holder_type)
        );
    }
    for holder_type in [HolderType::Person, HolderType::Organisation] {
        if let Ok(holder) = HolderCode::parse_at(holder_type, s, fixed_day) {
            assert_eq!(holder.holder_type(), holder_type);
            assert_eq!(
                HolderCode::parse_at(holder_type, &holder.to_string(), fixed_day).as_ref(),
                Ok(&holder)
            );
        }
    }
}

/// The demo licence root of region 370900 (`certs/370900/licence-root.pem`).
///
/// Public test material, committed with the demo PKI; embedded only so that
/// [`fuzz_licence`] has a trust anchor, and trusted by nothing else.
const FUZZ_ROOT_PEM: &[u8] = include_bytes!("../certs/370900/licence-root.pem");
/// The region [`FUZZ_ROOT_PEM`] is bound to in [`fuzz_licence`].
const FUZZ_REGION: &str = "370900";
/// The instant [`fuzz_licence`] verifies at: 2026-12-01T00:00:00Z, as the fixtures are.
const FUZZ_AT: i64 = 1_796_083_200;

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

/// Log key for [`fuzz_notes`]: the public test key of golang.org/x/mod/sumdb/note's tests.
const FUZZ_NOTE_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/// Witness key for [`fuzz_notes`]: made for the committed seeds, its private half discarded.
const FUZZ_WITNESS_VKEY: &str =
    "witness.zhengzhao.example/fuzz+b1b762cf+BEd+kSUQSYyMqH9O4inGb+2crc2BdsIo210NvBAoe05g";

/// Feed `data` (read as UTF-8, invalid sequences replaced) to the parsers of
/// [`crate::audit::note`], [`crate::audit::checkpoint`] and [`crate::audit::proof_file`]:
/// [`Note::parse`], [`Checkpoint::parse_body`], [`TlogProof::parse`], [`NoteVerifier::parse`],
/// [`CosignatureVerifier::parse`] and [`NoteSigner::from_private_key`]; and to verification
/// with a fixed log key and witness key ([`NoteVerifier::verify`], [`Checkpoint::open`],
/// [`CosignatureVerifier::verify`], [`TlogProof::verify`] with the proof's extra data, or
/// `entry 0`, as the entry).
///
/// Panics (which is what a fuzzer looks for) if any of them panics, or if an accepted input
/// does not come back byte for byte from its printer (a note's [`Note::to_text`], a
/// checkpoint's [`Checkpoint::body`], a proof's [`TlogProof::to_text`], a key's `vkey()`) and
/// re-parse equal; or if a verified note's body is not the parsed note's body. Never panics
/// otherwise. The embedded keys failing to load is also a panic: it is a bug.
pub fn fuzz_notes(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let s = text.as_ref();
    let log = match NoteVerifier::parse(FUZZ_NOTE_VKEY) {
        Ok(v) => v,
        Err(e) => panic!("the embedded log key does not load: {e}"),
    };
    let witness = match CosignatureVerifier::parse(FUZZ_WITNESS_VKEY) {
        Ok(v) => v,
        Err(e) => panic!("the embedded witness key does not load: {e}"),
    };

    let note = Note::parse(s);
    if let Ok(note) = &note {
        assert_eq!(note.to_text(), s);
        assert_eq!(Note::parse(&note.to_text()).as_ref(), Ok(note));
        assert!((1..=MAX_SIGNATURES).contains(&note.signatures.len()));
    }
    if let Ok(body) = log.verify(s) {
        assert_eq!(note.as_ref().map(|n| n.body), Ok(body));
    }
    if let Ok(checkpoint) = Checkpoint::open(s, &log, None) {
        let body = note.as_ref().map(|n| n.body);
        assert_eq!(body, Ok(checkpoint.body().as_str()));
    }
    if witness.verify(s).is_ok() {
        assert!(note.is_ok());
    }

    if let Ok(checkpoint) = Checkpoint::parse_body(s) {
        let body = checkpoint.body();
        assert_eq!(body, s);
        assert_eq!(Checkpoint::parse_body(&body), Ok(checkpoint));
    }

    if let Ok(proof) = TlogProof::parse(s) {
        let again = proof.to_text();
        assert_eq!(again, s);
        assert_eq!(TlogProof::parse(&again).as_ref(), Ok(&proof));
        let entry = proof.extra.as_deref().unwrap_or(b"entry 0");
        if let Ok(checkpoint) = proof.verify(entry, &log, None) {
            assert!(proof.index < checkpoint.size);
        }
    }

    if let Ok(key) = NoteVerifier::parse(s) {
        assert_eq!(key.vkey(), s);
        assert_eq!(NoteVerifier::parse(&key.vkey()).as_ref(), Ok(&key));
    }
    if let Ok(key) = CosignatureVerifier::parse(s) {
        assert_eq!(key.vkey(), s);
        assert_eq!(CosignatureVerifier::parse(&key.vkey()).as_ref(), Ok(&key));
    }
    if let Ok(signer) = NoteSigner::from_private_key(s) {
        assert_eq!(NoteVerifier::parse(&signer.vkey()), Ok(signer.verifier()));
    }
}

#[cfg(test)]
mod identifier_tests {
    use super::fuzz_identifiers;
    use proptest::prelude::*;

    /// Seeds: valid codes of every kind, and near misses.
    const SEEDS: &[&[u8]] = &[
        b"",
        b"11100000000013338W",
        b"11100000000013338",
        b"11100000000013338X",
        b"91110000600037341L",
        // GB 11643's own example resident ID number (nobody's), and in lower case.
        b"11010519491231002X",
        b"11010519491231002x",
        b"110105491231002",
        // The domain notes' invalid example (wrong check character): nobody's number either.
        b"110101197608056896",
        b"11010520000229001",
        b"370125",
        b"190000",
        b"11100000000013338W032",
        b"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
        b"1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
        b"1.2.156.3005.2.11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M",
        b"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.000.F",
        b"111",
        b"001",
        "一二三四五六七八九十一二三四五六七八".as_bytes(),
        b"\xff\xfe11100000000013338W",
        b"11010519491231002\xc3",
    ];

    #[test]
    fn seeds() {
        for seed in SEEDS {
            fuzz_identifiers(seed);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..120)) {
            fuzz_identifiers(&data);
        }

        #[test]
        fn arbitrary_text(s in "\\PC{0,100}") {
            fuzz_identifiers(s.as_bytes());
        }
    }
}
