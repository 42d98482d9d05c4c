#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Replays the committed fuzz seeds (`fuzz/corpus/<target>/`) through the fuzz bodies in
//! `zhengzhao::fuzzing`, so that stable `cargo test` exercises them without cargo-fuzz.

use std::path::PathBuf;
use zhengzhao::fuzzing::{fuzz_identifiers, fuzz_licence};

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
    // 67 licence fixtures and 12 hand-made oddities.
    assert!(n >= 79, "only {n} licence seeds: the corpus went missing");
}

#[test]
fn identifier_seeds() {
    let n = replay("identifiers", fuzz_identifiers);
    assert!(
        n >= 45,
        "only {n} identifier seeds: the corpus went missing"
    );
}
