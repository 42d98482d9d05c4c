#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Replays the committed fuzz seeds (`fuzz/corpus/<target>/`) through the fuzz bodies in
//! `zhengzhao::fuzzing`, so that stable `cargo test` exercises them without cargo-fuzz.

use std::path::PathBuf;
use std::sync::Mutex;
use zhengzhao::fuzzing::{fuzz_http, fuzz_identifiers, fuzz_licence, fuzz_notes, http_exchange};

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
