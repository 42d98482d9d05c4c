#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Replays the committed fuzz seeds (`fuzz/corpus/<target>/`) through the fuzz bodies in
//! `zhengzhao::fuzzing`, so that stable `cargo test` exercises them without cargo-fuzz.

use std::path::PathBuf;
use zhengzhao::fuzzing::{fuzz_identifiers, fuzz_licence, fuzz_notes};

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
