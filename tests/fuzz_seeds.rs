#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Replays the committed fuzz seeds (`fuzz/corpus/<target>/`) through the fuzz bodies in
//! `zhengzhao::fuzzing`, so that stable `cargo test` exercises them without cargo-fuzz.

use std::path::PathBuf;
use std::sync::Mutex;
use zhengzhao::fuzzing::{
    fuzz_http, fuzz_identifiers, fuzz_licence, fuzz_notes, fuzz_ofd, http_exchange,
};

/// Runs `body` on every file in `fuzz/corpus/<target>/` and returns how many it replayed.
fn replay(target: &str, body: fn(&[u8])) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    for path in &paths {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // A panic names the seed that caused it.
        let outcome = std::panic::catch_unwind(|| body(&data));
        assert!(outcome.is_ok(), "seed {} panicked", path.display());
    }
    paths.len()
}

#[test]
fn licence_seeds() {
    let n = replay("licence", fuzz_licence);
    // 71 licence fixtures and 12 hand-made oddities (`odd.*`).
    assert!(n >= 83, "only {n} licence seeds: the corpus went missing");
}

#[test]
fn every_licence_fixture_is_a_licence_seed() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("fuzz/corpus/licence");
    let missing: Vec<String> = std::fs::read_dir(root.join("fixtures/licences"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".jws") && !corpus.join(name).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "copy these fixtures into fuzz/corpus/licence/: {missing:?}"
    );
}

#[test]
fn identifier_seeds() {
    let n = replay("identifiers", fuzz_identifiers);
    assert!(
        n >= 45,
        "only {n} identifier seeds: the corpus went missing"
    );
}

#[test]
fn note_seeds() {
    let n = replay("notes", fuzz_notes);
    // 6 made by signing, 4 keys and published examples, 13 hand-made oddities (`odd.*`).
    assert!(n >= 23, "only {n} note seeds: the corpus went missing");
}

#[test]
fn note_seeds_reach_signature_and_proof_verification() {
    use zhengzhao::audit::checkpoint::Checkpoint;
    use zhengzhao::audit::note::{CosignatureVerifier, NoteVerifier};
    use zhengzhao::audit::proof_file::TlogProof;

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/notes");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let log = NoteVerifier::parse(&read("vkey-log")).unwrap();
    let witness = CosignatureVerifier::parse(&read("vkey-witness")).unwrap();
    assert!(Checkpoint::open(&read("checkpoint"), &log, None).is_ok());
    assert_eq!(
        witness.verify(&read("checkpoint-cosigned")),
        Ok(1_700_000_000)
    );
    let proof = TlogProof::parse(&read("proof")).unwrap();
    assert!(proof.verify(b"entry 0", &log, None).is_ok());
    let proof = TlogProof::parse(&read("proof-extra")).unwrap();
    let entry = proof.extra.clone().unwrap();
    assert!(proof.verify(&entry, &log, None).is_ok());
}

#[test]
fn ofd_seeds() {
    let n = replay("ofd", fuzz_ofd);
    // 13 of ofdrw's files, 3 of them re-packed without compression, 9 hand-made (`odd.*`).
    assert!(n >= 25, "only {n} ofd seeds: the corpus went missing");
}

#[test]
fn every_ofdrw_file_is_an_ofd_seed() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("fuzz/corpus/ofd");
    let ofdrw = root.join("fixtures/ofd/ofdrw");
    let mut names: Vec<String> = std::fs::read_dir(&ofdrw)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            [".ofd", ".esl", ".dat"]
                .iter()
                .any(|ext| name.ends_with(ext))
        })
        .map(|name| format!("ofdrw.{name}"))
        .collect();
    names.extend(
        std::fs::read_dir(ofdrw.join("extracted"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".dat"))
            .map(|name| format!("ofdrw.extracted.{name}")),
    );
    assert!(names.len() >= 13, "{names:?}");
    let missing: Vec<&String> = names
        .iter()
        .filter(|name| !corpus.join(name).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "run python3 fuzz/make_ofd_seeds.py; missing: {missing:?}"
    );
}

/// The seeds reach what their names say: each hand-made zip the refusal it shows, ofdrw's
/// documents their outcomes (the re-packed ones the same as the originals), the bare signature
/// `valid` with the key the target trusts, and the seal and signature files their parsers.
#[test]
fn ofd_seeds_reach_what_their_names_say() {
    use zhengzhao::gm::Sm2PublicKey;
    use zhengzhao::ofd::ses::{self, SignedValue};
    use zhengzhao::ofd::verify::OfdVerifier;
    use zhengzhao::pki::trust::TrustStore;

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/ofd");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    for (name, code) in [
        ("odd.zip-empty", "missing_file"),
        ("odd.zip-one-entry", "missing_file"),
        ("odd.zip-name-traversal", "parent_segment"),
        ("odd.zip-name-absolute", "absolute_name"),
        ("odd.zip-name-backslash", "backslash"),
        ("odd.zip-name-duplicate", "duplicate_names"),
        ("odd.zip-name-case-collision", "name_collision"),
        ("odd.zip-bomb-1mib-of-zeros", "compression_ratio"),
        ("odd.ofd-docroot-outside", "bad_location"),
        ("ofdrw.UserV4.esl", "not_a_zip"),
    ] {
        match zhengzhao::ofd::read(&read(name)) {
            Ok(_) => panic!("{name} was read"),
            Err(e) => assert_eq!(e.code(), code, "{name}: {e}"),
        }
    }

    let key = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/ofd/ofdrw/USER.pub.pem"),
    )
    .unwrap();
    let plain = OfdVerifier::new(TrustStore::new());
    let keyed = OfdVerifier::new(TrustStore::new()).with_key(Sm2PublicKey::from_pem(&key).unwrap());
    let at = 1_796_083_200;
    for (name, without_key, with_key) in [
        (
            "ofdrw.allprotected.ofd",
            "untrusted_issuer",
            "untrusted_issuer",
        ),
        (
            "ofdrw.allprotected-stored.ofd",
            "untrusted_issuer",
            "untrusted_issuer",
        ),
        ("ofdrw.h.ofd", "tampered", "tampered"),
        ("ofdrw.DigitalSign.ofd", "untrusted_issuer", "valid"),
        ("ofdrw.DigitalSign-stored.ofd", "untrusted_issuer", "valid"),
        ("ofdrw.helloworld-stored.ofd", "unsigned", "unsigned"),
    ] {
        let bytes = read(name);
        assert_eq!(
            plain.verify(&bytes, at).outcome.as_str(),
            without_key,
            "{name}"
        );
        assert_eq!(
            keyed.verify(&bytes, at).outcome.as_str(),
            with_key,
            "{name}"
        );
    }

    for name in ["ofdrw.UserV1.esl", "ofdrw.UserV4.esl", "ofdrw.UserV5.esl"] {
        let seal = ses::parse_seal(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(seal.verify_maker_signature().is_ok(), "{name}");
    }
    for name in [
        "ofdrw.SignedValueV4.dat",
        "ofdrw.extracted.allprotected-Sign_0-SignedValue.dat",
    ] {
        let value = ses::parse_signed_value(&read(name));
        assert!(
            matches!(value, Ok(SignedValue::Ses(_))),
            "{name}: {value:?}"
        );
    }
    let value =
        ses::parse_signed_value(&read("ofdrw.extracted.DigitalSign-Sign_0-SignedValue.dat"));
    assert!(matches!(value, Ok(SignedValue::BareSm2(_))), "{value:?}");
}

/// The http tests share one node (per process) and what it remembers (the latest licence and
/// consent): they take turns.
static HTTP_TURN: Mutex<()> = Mutex::new(());

#[test]
fn http_seeds() {
    let _turn = HTTP_TURN.lock().unwrap_or_else(|p| p.into_inner());
    let n = replay("http", fuzz_http);
    assert!(n >= 40, "only {n} http seeds: the corpus went missing");
}

#[test]
fn http_seeds_reach_the_routes() {
    let _turn = HTTP_TURN.lock().unwrap_or_else(|p| p.into_inner());
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/http");
    // In this order: a licence is issued before it is read, amended, suspended and verified;
    // a consent is granted before a lookup uses it and before it is withdrawn.
    let expected: &[(&str, u16)] = &[
        ("healthz", 200),
        ("openapi", 200),
        ("checkpoint", 200),
        ("vkey", 200),
        ("trust-list", 200),
        ("issue-org", 201),
        ("issue-person", 201),
        ("status-read-latest", 200),
        ("amend-latest", 201),
        ("verify-latest", 200),
        ("status-suspend-latest", 200),
        ("status-activate-latest", 200),
        ("verify-partner-licence-partner-down", 200),
        ("consent-grant", 201),
        ("lookup-with-consent", 200),
        ("consent-withdraw-latest", 200),
        ("consent-grant-partner-department", 201),
        ("lookup-statutory", 200),
        ("lookup-all-regions-partner-down", 200),
        ("federated-lookup-from-partner", 200),
        ("audit-entries", 200),
        ("audit-inclusion-proof", 200),
        ("audit-consistency-proof", 200),
        ("witness-state", 200),
        ("extra-header", 200),
        ("issue-as-window-forbidden", 403),
        ("audit-entries-forbidden", 403),
        ("lookup-unidentified", 403),
        ("federated-lookup-from-stranger", 403),
        ("issue-no-content-type", 415),
        ("issue-malformed-json", 400),
        ("issue-unknown-member", 400),
        ("issue-bad-valid-until", 400),
        ("status-bad-licence-id", 400),
        ("verify-control-char-purpose", 400),
        ("lookup-id-number-in-purpose", 200),
        ("lookup-duty-for-a-matter-not-statutory", 403),
        ("lookup-without-case", 400),
        ("lookup-unknown-mode", 400),
        ("audit-entries-bad-query", 400),
        ("body-on-get", 400),
        ("witness-add-checkpoint-garbage", 404),
        ("bad-method-put", 405),
        ("bad-method-token", 405),
        ("head-healthz", 405),
        ("unknown-path", 404),
        ("unknown-path-percent-encoded-healthz", 404),
    ];
    let mut wrong = Vec::new();
    for (name, status) in expected {
        let data = std::fs::read(dir.join(name)).unwrap();
        let (got, body) = http_exchange(&data).unwrap_or_else(|| panic!("{name}: no request"));
        if got != *status {
            wrong.push(format!(
                "{name}: {got} (expected {status}): {}",
                String::from_utf8_lossy(&body)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
