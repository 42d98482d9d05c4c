#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Cross-check of the audit store's roots and proofs with an implementation nobody here wrote
//! the Rust of: tests/merkle/merkle.py, RFC 9162 §2.1 on Python's hashlib alone.
//!
//! A real store (RocksDB in a temporary directory, a freshly generated checkpoint key) gets a
//! few hundred entries in batches of different sizes. The test hands Python the exact bytes of
//! every stored entry and, for many (index, size) and (first, second) pairs, the proofs and roots
//! the store gives. Python computes MTH, PATH and PROOF itself from the entry bytes; they must be
//! byte-identical to ours, and its own verifiers must accept our proofs and refuse mutated ones.

#[allow(dead_code)] // uses only part of the shared support
mod audit_support;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::Command;

use audit_support::{append_batches, draft, open_log};
use serde_json::{Value, json};
use zhengzhao::audit::log::AuditLog;
use zhengzhao::audit::merkle::{Hash, leaf_hash, verify_consistency, verify_inclusion};

/// Tree sizes the pairs are drawn from: small trees, each side of powers of two, and the whole
/// log.
fn sizes(total: u64) -> BTreeSet<u64> {
    let mut s: BTreeSet<u64> = (1..=12).collect();
    for p in [16u64, 32, 64, 128, 256] {
        s.extend([p - 1, p, p + 1]);
    }
    s.extend([100, 200, 300, total - 1, total]);
    s.retain(|&n| 1 <= n && n <= total);
    s
}

/// Indexes (or first sizes) to pair with `n`: all of them for small `n`, else the edges, the
/// middle and a stride.
fn picks(lo: u64, n: u64) -> BTreeSet<u64> {
    if n - lo < 20 {
        return (lo..n).collect();
    }
    let mut s: BTreeSet<u64> = [lo, lo + 1, n / 2, n - 2, n - 1].into();
    s.extend((lo..n).step_by(13));
    s
}

fn hexes(hs: &[Hash]) -> Vec<String> {
    hs.iter().map(hex::encode).collect()
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h[bit / 8] ^= 1 << (bit % 8);
    h
}

/// One item handed to Python, and whether its verifier must accept it.
struct Asked {
    what: String,
    item: Value,
    valid: bool,
}

fn run_python(request: &Value) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("request.json");
    std::fs::write(&path, serde_json::to_vec(request).unwrap()).unwrap();
    let out = Command::new("python3")
        .arg("tests/merkle/merkle.py")
        .arg(&path)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): this test needs Python 3 (.ci/setup installs it)")
        });
    assert!(
        out.status.success(),
        "tests/merkle/merkle.py failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn build_log(log: &AuditLog) -> u64 {
    // Batches of many sizes, then a few appends queued together so that one group commit
    // carries several requests.
    let drafts: Vec<_> = (0..300).map(|n| draft("py", n)).collect();
    append_batches(log, drafts, &[1, 1, 2, 5, 64, 3, 100, 17, 31, 8, 69]);
    let pending: Vec<_> = (300..333)
        .map(|n| log.submit(vec![draft("py", n)], Vec::new()).unwrap())
        .collect();
    for p in pending {
        p.wait().unwrap();
    }
    log.size()
}

#[test]
fn store_roots_and_proofs_match_an_independent_python_implementation() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let total = build_log(&log);
    assert_eq!(total, 333);
    let checkpoint = log.checkpoint_now().unwrap().checkpoint;
    assert_eq!(checkpoint.size, total);

    let stored = log.entries(0, total).unwrap();
    assert_eq!(stored.len() as u64, total);
    for (i, (index, bytes)) in stored.iter().enumerate() {
        assert_eq!(*index, i as u64);
        assert_eq!(log.entry(*index).unwrap().as_ref(), Some(bytes));
    }
    let entries: Vec<&Vec<u8>> = stored.iter().map(|(_, b)| b).collect();

    let root_sizes: Vec<u64> = (0..=total).collect();
    let roots: Vec<Hash> = root_sizes
        .iter()
        .map(|&n| log.root_at(n).unwrap())
        .collect();
    assert_eq!(roots[total as usize], checkpoint.root);

    let mut inclusion: Vec<Asked> = Vec::new();
    let mut consistency: Vec<Asked> = Vec::new();
    for n in sizes(total) {
        let root = roots[n as usize];
        for i in picks(0, n) {
            let proof = log.inclusion_proof(i, n).unwrap();
            verify_inclusion(&leaf_hash(entries[i as usize]), i, n, &proof, &root).unwrap();
            let item = |proof: &[Hash], root: &Hash| json!({"index": i, "size": n, "proof": hexes(proof), "root": hex::encode(root)});
            inclusion.push(Asked {
                what: format!("inclusion ({i}, {n})"),
                item: item(&proof, &root),
                valid: true,
            });
            // Mutations Python's verifier must refuse.
            inclusion.push(Asked {
                what: format!("inclusion ({i}, {n}) with a flipped root"),
                item: item(&proof, &flip(&root, (i as usize * 7) % 256)),
                valid: false,
            });
            if let Some(last) = proof.len().checked_sub(1) {
                let mut bad = proof.clone();
                bad[last] = flip(&bad[last], 255);
                inclusion.push(Asked {
                    what: format!("inclusion ({i}, {n}) with a flipped hash"),
                    item: item(&bad, &root),
                    valid: false,
                });
                inclusion.push(Asked {
                    what: format!("inclusion ({i}, {n}) with a hash dropped"),
                    item: item(&proof[..last], &root),
                    valid: false,
                });
            }
        }
        for m in picks(1, n + 1) {
            let proof = log.consistency_proof(m, n).unwrap();
            let first = roots[m as usize];
            verify_consistency(m, n, &proof, &first, &root).unwrap();
            let item = |proof: &[Hash], r1: &Hash, r2: &Hash| {
                json!({"first": m, "second": n, "proof": hexes(proof),
                       "first_root": hex::encode(r1), "second_root": hex::encode(r2)})
            };
            consistency.push(Asked {
                what: format!("consistency ({m}, {n})"),
                item: item(&proof, &first, &root),
                valid: true,
            });
            consistency.push(Asked {
                what: format!("consistency ({m}, {n}) with a flipped second root"),
                item: item(&proof, &first, &flip(&root, 3)),
                valid: false,
            });
            if let Some(h) = proof.first() {
                let mut bad = proof.clone();
                bad[0] = flip(h, 100);
                consistency.push(Asked {
                    what: format!("consistency ({m}, {n}) with a flipped hash"),
                    item: item(&bad, &first, &root),
                    valid: false,
                });
                let mut longer = proof.clone();
                longer.push(*h);
                consistency.push(Asked {
                    what: format!("consistency ({m}, {n}) with a hash appended"),
                    item: item(&longer, &first, &root),
                    valid: false,
                });
            }
        }
    }

    let request = json!({
        "entries": entries.iter().map(hex::encode).collect::<Vec<_>>(),
        "roots": root_sizes,
        "inclusion": inclusion.iter().map(|a| &a.item).collect::<Vec<_>>(),
        "consistency": consistency.iter().map(|a| &a.item).collect::<Vec<_>>(),
    });
    let answer = run_python(&request);

    let mut failures = String::new();
    let leaf_hashes = answer["leaf_hashes"].as_array().unwrap();
    assert_eq!(leaf_hashes.len(), entries.len());
    for (i, (py, bytes)) in leaf_hashes.iter().zip(&entries).enumerate() {
        if py.as_str() != Some(hex::encode(leaf_hash(bytes)).as_str()) {
            let _ = writeln!(failures, "leaf hash of entry {i}: python {py}");
        }
    }
    let py_roots = answer["roots"].as_array().unwrap();
    assert_eq!(py_roots.len(), roots.len());
    for (n, (py, ours)) in py_roots.iter().zip(&roots).enumerate() {
        if py.as_str() != Some(hex::encode(ours).as_str()) {
            let _ = writeln!(
                failures,
                "root of size {n}: ours {}, python {py}",
                hex::encode(ours)
            );
        }
    }
    let compare =
        |asked: &[Asked], answers: &Value, fields: &[(&str, &str)], failures: &mut String| {
            let answers = answers.as_array().unwrap();
            assert_eq!(answers.len(), asked.len());
            for (a, py) in asked.iter().zip(answers) {
                if py["verifies"].as_bool() != Some(a.valid) {
                    let _ = writeln!(
                        failures,
                        "{}: python's verifier says {}",
                        a.what, py["verifies"]
                    );
                }
                if a.valid {
                    for (ours, theirs) in fields {
                        if a.item[ours] != py[theirs] {
                            let _ = writeln!(
                                failures,
                                "{}: {ours} differs: ours {}, python {}",
                                a.what, a.item[ours], py[theirs]
                            );
                        }
                    }
                }
            }
        };
    compare(
        &inclusion,
        &answer["inclusion"],
        &[("proof", "path"), ("root", "root")],
        &mut failures,
    );
    compare(
        &consistency,
        &answer["consistency"],
        &[
            ("proof", "proof"),
            ("first_root", "first_root"),
            ("second_root", "second_root"),
        ],
        &mut failures,
    );
    let count = |v: &[Asked], valid: bool| v.iter().filter(|a| a.valid == valid).count();
    eprintln!(
        "python {}: {total} entries, {} roots, {} inclusion proofs (+{} mutated), \
         {} consistency proofs (+{} mutated)",
        answer["python"],
        roots.len(),
        count(&inclusion, true),
        count(&inclusion, false),
        count(&consistency, true),
        count(&consistency, false),
    );
    assert!(
        failures.is_empty(),
        "disagreements with python:\n{failures}"
    );
}
