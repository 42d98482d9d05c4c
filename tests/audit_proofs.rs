#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Property tests of the audit store's proofs (`zhengzhao::audit::log` over
//! `zhengzhao::audit::merkle`).
//!
//! Each case builds a real store of a random size (1..300 entries, appended in random batch
//! sizes) and checks that:
//!
//! - `root_at(n)` equals the root recomputed from the stored entries with `leaf_hash` and a
//!   `CompactRange`, for every `n`, and every receipt matches the stored entry;
//! - every inclusion proof for random `(i, n ≤ size)` and every consistency proof for random
//!   `(m ≤ n ≤ size)` the store gives verifies against `root_at`;
//! - every mutation of a proof is refused: one bit flipped in one hash, a hash dropped,
//!   appended, prepended, duplicated, two adjacent hashes swapped, a wrong root or leaf;
//! - changing index, size, first or second by ±1 gives exactly the verdict of the RFC 9162
//!   definitions. Such a change does not always break a proof: the inclusion proof of leaf 0 in
//!   a tree of 6 leaves is also a well-formed proof of leaf 0 in a tree of 7 leaves with the
//!   same root (the verifier cannot know how many leaves an opaque sibling hash covers). So the
//!   expected verdict is computed, by [`path_root`] and [`consistency_roots`]: recursions that
//!   follow the RFC's definitions of PATH and SUBPROOF, written separately from the iterative
//!   verifiers under test. Mutated inputs are checked both against the original roots and
//!   against the true roots of the new sizes;
//! - sizes of 0 and indexes at or beyond the size are refused by the store with errors.

#[allow(dead_code)] // uses only part of the shared support
mod audit_support;

use audit_support::{append_batches, draft, open_log};
use proptest::collection::vec;
use proptest::prelude::*;
use zhengzhao::audit::error::AuditError;
use zhengzhao::audit::log::AuditLog;
use zhengzhao::audit::merkle::{
    CompactRange, Hash, ProofError, empty_root, leaf_hash, node_hash, verify_consistency,
    verify_inclusion,
};
use zhengzhao::store::Receipt;

// ---------------------------------------------------------------------------------------------
// The RFC 9162 definitions, as recursions

/// The largest power of two smaller than `n` (n > 1).
fn split(n: u64) -> u64 {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The root that `proof` gives for `leaf` at `index` in a tree of `size` leaves, following the
/// definition of PATH (RFC 9162 §2.1.3.1): each proof hash is the sibling subtree on the way
/// up, leaf side first. `None` if the proof has too few or too many hashes for the shape.
fn path_root(leaf: &Hash, index: u64, size: u64, proof: &[Hash]) -> Option<Hash> {
    fn up(leaf: &Hash, m: u64, n: u64, proof: &mut std::slice::Iter<'_, Hash>) -> Option<Hash> {
        if n == 1 {
            return Some(*leaf);
        }
        let k = split(n);
        if m < k {
            let left = up(leaf, m, k, proof)?;
            Some(node_hash(&left, proof.next()?))
        } else {
            let right = up(leaf, m - k, n - k, proof)?;
            Some(node_hash(proof.next()?, &right))
        }
    }
    if index >= size {
        return None;
    }
    let mut it = proof.iter();
    let root = up(leaf, index, size, &mut it)?;
    it.next().is_none().then_some(root)
}

/// The (first, second) roots that `proof` gives from `first_root`, following the definition of
/// SUBPROOF (RFC 9162 §2.1.4.1); `None` if the proof does not fit the sizes' shape.
fn consistency_roots(
    first: u64,
    second: u64,
    proof: &[Hash],
    first_root: &Hash,
) -> Option<(Hash, Hash)> {
    fn sub(
        m: u64,
        n: u64,
        whole: bool,
        first_root: &Hash,
        proof: &mut std::slice::Iter<'_, Hash>,
    ) -> Option<(Hash, Hash)> {
        if m == n {
            // SUBPROOF(m, D[m], true) is empty: this subtree is the old tree itself.
            let h = if whole { *first_root } else { *proof.next()? };
            return Some((h, h));
        }
        let k = split(n);
        if m <= k {
            let (f, s) = sub(m, k, whole, first_root, proof)?;
            Some((f, node_hash(&s, proof.next()?)))
        } else {
            let (f, s) = sub(m - k, n - k, false, first_root, proof)?;
            let left = proof.next()?;
            Some((node_hash(left, &f), node_hash(left, &s)))
        }
    }
    if first == 0 || first > second {
        return None;
    }
    let mut it = proof.iter();
    let roots = sub(first, second, true, first_root, &mut it)?;
    it.next().is_none().then_some(roots)
}

fn inclusion_holds(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    path_root(leaf, index, size, proof) == Some(*root)
}

fn consistency_holds(first: u64, second: u64, proof: &[Hash], r1: &Hash, r2: &Hash) -> bool {
    consistency_roots(first, second, proof, r1) == Some((*r1, *r2))
}

// ---------------------------------------------------------------------------------------------
// Mutations

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h[bit / 8 % 32] ^= 1 << (bit % 8);
    h
}

/// Proofs that differ from `proof` in one of the ways that must always be refused, named. The
/// hashes of a proof are hashes of distinct subtrees, so they differ from each other, from the
/// roots and from `extra`.
fn broken_proofs(proof: &[Hash], bit: usize, extra: &[Hash]) -> Vec<(String, Vec<Hash>)> {
    let mut out = Vec::new();
    for j in 0..proof.len() {
        for b in [bit, 255 - bit] {
            let mut p = proof.to_vec();
            p[j] = flip(&p[j], b);
            out.push((format!("bit {b} of hash {j} flipped"), p));
        }
        let mut p = proof.to_vec();
        p.remove(j);
        out.push((format!("hash {j} dropped"), p));
        let mut p = proof.to_vec();
        p.insert(j, proof[j]);
        out.push((format!("hash {j} duplicated"), p));
        if j + 1 < proof.len() {
            let mut p = proof.to_vec();
            p.swap(j, j + 1);
            out.push((format!("hashes {j} and {} swapped", j + 1), p));
        }
    }
    for (k, h) in extra.iter().enumerate() {
        let mut p = proof.to_vec();
        p.push(*h);
        out.push((format!("extra hash {k} appended"), p.clone()));
        let mut p = proof.to_vec();
        p.insert(0, *h);
        out.push((format!("extra hash {k} prepended"), p));
    }
    out
}

/// `x - 1` and `x + 1`, where they exist.
fn neighbours(x: u64) -> Vec<u64> {
    [x.checked_sub(1), x.checked_add(1)]
        .into_iter()
        .flatten()
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The store

struct Fixture {
    _dir: tempfile::TempDir,
    log: AuditLog,
    /// Leaf hash of each entry, recomputed from the stored bytes.
    leaves: Vec<Hash>,
    /// `root_at(n)` for every n in 0..=size.
    roots: Vec<Hash>,
}

impl Fixture {
    fn size(&self) -> u64 {
        self.leaves.len() as u64
    }
}

/// A store of `size` entries appended in batches of `batches` sizes (the rest in one batch),
/// checked against its own entries.
fn build(size: u64, batches: &[usize]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let drafts = (0..size).map(|n| draft("prop", n)).collect();
    let receipts = append_batches(&log, drafts, batches);
    assert_eq!(log.size(), size);

    let stored = log.entries(0, size).unwrap();
    assert_eq!(stored.len() as u64, size, "entries() gives every entry");
    let mut range = CompactRange::new();
    let mut leaves = Vec::new();
    let mut roots = vec![log.root_at(0).unwrap()];
    assert_eq!(roots[0], empty_root());
    for (i, (index, bytes)) in stored.iter().enumerate() {
        assert_eq!(*index, i as u64, "entries are dense");
        assert_eq!(log.entry(*index).unwrap().as_ref(), Some(bytes));
        let leaf = leaf_hash(bytes);
        leaves.push(leaf);
        range.push(leaf, |_, _| {});
        let root = log.root_at(range.size()).unwrap();
        assert_eq!(root, range.root(), "root_at({})", range.size());
        roots.push(root);
    }
    assert_eq!(log.head().unwrap(), (size, range.root()));
    check_receipts(&receipts, &leaves);
    Fixture {
        _dir: dir,
        log,
        leaves,
        roots,
    }
}

fn check_receipts(receipts: &[Receipt], leaves: &[Hash]) {
    let mut next = 0u64;
    for r in receipts {
        assert_eq!(r.index, next, "receipts follow each other");
        for (k, h) in r.leaf_hashes.iter().enumerate() {
            assert_eq!(
                *h,
                leaves[next as usize + k],
                "receipt leaf hash {}",
                next + k as u64
            );
        }
        next += r.leaf_hashes.len() as u64;
    }
    assert_eq!(next, leaves.len() as u64);
}

fn check_inclusion(fx: &Fixture, i: u64, n: u64, bit: usize) {
    let proof = fx.log.inclusion_proof(i, n).unwrap();
    let leaf = fx.leaves[i as usize];
    let root = fx.roots[n as usize];
    let what = format!("inclusion of {i} in {n} (store of {})", fx.size());
    verify_inclusion(&leaf, i, n, &proof, &root).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        inclusion_holds(&leaf, i, n, &proof, &root),
        "{what}: RFC definition disagrees"
    );

    // Mutations that must be refused.
    let refuse = |how: &str, leaf: &Hash, proof: &[Hash], root: &Hash| {
        assert!(
            !inclusion_holds(leaf, i, n, proof, root),
            "{what}, {how}: the mutation is still a valid proof"
        );
        assert!(
            verify_inclusion(leaf, i, n, proof, root).is_err(),
            "{what}, {how}: verified"
        );
    };
    for (how, p) in broken_proofs(&proof, bit, &[root, leaf, flip(&root, bit)]) {
        refuse(&how, &leaf, &p, &root);
    }
    let mut wrong_roots = vec![flip(&root, bit), empty_root(), fx.roots[n as usize - 1]];
    if let Some(r) = fx.roots.get(n as usize + 1) {
        wrong_roots.push(*r);
    }
    for r in wrong_roots.iter().filter(|r| **r != root) {
        refuse(&format!("root {}", hex::encode(r)), &leaf, &proof, r);
    }
    let mut wrong_leaves = vec![flip(&leaf, bit)];
    for j in neighbours(i).into_iter().filter(|&j| j < fx.size()) {
        wrong_leaves.push(fx.leaves[j as usize]);
    }
    for l in &wrong_leaves {
        refuse(&format!("leaf {}", hex::encode(l)), l, &proof, &root);
    }

    // Index and size moved by one: the verifier must agree with the definition, against the
    // original leaf and root and against the true ones.
    let agree = |how: &str, leaf: &Hash, i: u64, n: u64, root: &Hash| {
        let want = inclusion_holds(leaf, i, n, &proof, root);
        let got = verify_inclusion(leaf, i, n, &proof, root);
        assert_eq!(
            got.is_ok(),
            want,
            "{what}, {how}: verifier says {got:?}, the RFC definition says {want}"
        );
    };
    for j in neighbours(i) {
        agree(&format!("index {j}"), &leaf, j, n, &root);
        if j < fx.size() {
            agree(
                &format!("index {j}, its leaf"),
                &fx.leaves[j as usize],
                j,
                n,
                &root,
            );
        }
    }
    for m in neighbours(n) {
        agree(&format!("size {m}"), &leaf, i, m, &root);
        if let Some(r) = fx.roots.get(m as usize) {
            agree(&format!("size {m}, its root"), &leaf, i, m, r);
        }
    }
}

fn check_consistency(fx: &Fixture, m: u64, n: u64, bit: usize) {
    let proof = fx.log.consistency_proof(m, n).unwrap();
    let (r1, r2) = (fx.roots[m as usize], fx.roots[n as usize]);
    let what = format!("consistency from {m} to {n} (store of {})", fx.size());
    verify_consistency(m, n, &proof, &r1, &r2).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        consistency_holds(m, n, &proof, &r1, &r2),
        "{what}: RFC definition disagrees"
    );

    let refuse = |how: &str, proof: &[Hash], a: &Hash, b: &Hash| {
        assert!(
            !consistency_holds(m, n, proof, a, b),
            "{what}, {how}: the mutation is still a valid proof"
        );
        assert!(
            verify_consistency(m, n, proof, a, b).is_err(),
            "{what}, {how}: verified"
        );
    };
    for (how, p) in broken_proofs(&proof, bit, &[r1, r2, flip(&r2, bit)]) {
        refuse(&how, &p, &r1, &r2);
    }
    let mut firsts = vec![flip(&r1, bit), r2, fx.roots[m as usize - 1]];
    let mut seconds = vec![flip(&r2, bit), r1, fx.roots[n as usize - 1]];
    firsts.extend(fx.roots.get(m as usize + 1));
    seconds.extend(fx.roots.get(n as usize + 1));
    for a in firsts.iter().filter(|a| **a != r1) {
        refuse(&format!("first root {}", hex::encode(a)), &proof, a, &r2);
    }
    for b in seconds.iter().filter(|b| **b != r2) {
        refuse(&format!("second root {}", hex::encode(b)), &proof, &r1, b);
    }
    if r1 != r2 {
        refuse("roots swapped", &proof, &r2, &r1);
    }

    let agree = |how: &str, m: u64, n: u64, a: &Hash, b: &Hash| {
        let want = consistency_holds(m, n, &proof, a, b);
        let got = verify_consistency(m, n, &proof, a, b);
        assert_eq!(
            got.is_ok(),
            want,
            "{what}, {how}: verifier says {got:?}, the RFC definition says {want}"
        );
        if m == 0 || m > n {
            assert!(got.is_err(), "{what}, {how}: not a valid pair of sizes");
        }
    };
    for f in neighbours(m) {
        agree(&format!("first {f}"), f, n, &r1, &r2);
        if let Some(a) = fx.roots.get(f as usize) {
            agree(&format!("first {f}, its root"), f, n, a, &r2);
        }
    }
    for s in neighbours(n) {
        agree(&format!("second {s}"), m, s, &r1, &r2);
        if let Some(b) = fx.roots.get(s as usize) {
            agree(&format!("second {s}, its root"), m, s, &r1, b);
        }
    }
}

/// Requests the store must refuse with an error (a panic fails the test too).
fn check_refusals(fx: &Fixture) {
    let log = &fx.log;
    let size = fx.size();
    let index_error = |r: Result<Vec<Hash>, AuditError>, what: &str| match r {
        Err(AuditError::Proof(ProofError::IndexOutOfRange { .. })) => {}
        other => panic!("{what}: {other:?}"),
    };
    let empty_error = |r: Result<Vec<Hash>, AuditError>, what: &str| match r {
        Err(AuditError::Proof(ProofError::EmptyTree { .. })) => {}
        other => panic!("{what}: {other:?}"),
    };
    let beyond = |r: Result<Vec<Hash>, AuditError>, what: &str| match r {
        Err(AuditError::Beyond { .. }) => {}
        other => panic!("{what}: {other:?}"),
    };
    index_error(log.inclusion_proof(0, 0), "inclusion in size 0");
    index_error(log.inclusion_proof(1, 0), "inclusion of 1 in size 0");
    index_error(log.inclusion_proof(size, size), "inclusion of index = size");
    index_error(
        log.inclusion_proof(size + 7, size),
        "inclusion of index > size",
    );
    index_error(log.inclusion_proof(u64::MAX, size), "inclusion of u64::MAX");
    beyond(log.inclusion_proof(0, size + 1), "inclusion in size + 1");
    beyond(
        log.inclusion_proof(u64::MAX, u64::MAX),
        "inclusion in u64::MAX",
    );
    empty_error(log.consistency_proof(0, 0), "consistency 0 to 0");
    empty_error(log.consistency_proof(0, 1), "consistency 0 to 1");
    empty_error(log.consistency_proof(0, size), "consistency 0 to size");
    empty_error(log.consistency_proof(1, 0), "consistency 1 to 0");
    if size > 1 {
        assert!(matches!(
            log.consistency_proof(size, size - 1),
            Err(AuditError::Proof(ProofError::SizesReversed { .. }))
        ));
    }
    beyond(
        log.consistency_proof(size, size + 1),
        "consistency to size + 1",
    );
    beyond(
        log.consistency_proof(1, u64::MAX),
        "consistency to u64::MAX",
    );
    assert!(matches!(
        log.consistency_proof(size + 1, size),
        Err(AuditError::Proof(ProofError::SizesReversed { .. }))
    ));
    assert!(matches!(
        log.root_at(size + 1),
        Err(AuditError::Beyond { .. })
    ));
    assert!(matches!(
        log.root_at(u64::MAX),
        Err(AuditError::Beyond { .. })
    ));
    assert_eq!(log.entry(size).unwrap(), None);
    assert_eq!(log.entry(u64::MAX).unwrap(), None);
    assert!(log.entries(size, u64::MAX).unwrap().is_empty());
    assert!(log.entries(u64::MAX, 0).unwrap().is_empty());
    assert!(log.tlog_proof(0).is_err(), "no checkpoint signed yet");
}

/// A random store: its size and the batch sizes it is appended in.
fn store_shape() -> impl Strategy<Value = (u64, Vec<usize>)> {
    (1u64..300, vec(1usize..=64, 0..24))
}

/// Random pairs, mapped into range by each case: (a, b, bit).
fn pairs() -> impl Strategy<Value = Vec<(u64, u64, usize)>> {
    vec((any::<u64>(), any::<u64>(), 0usize..256), 1..10)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    #[test]
    fn store_proofs_verify_and_their_mutations_do_not(
        (size, batches) in store_shape(),
        inclusion in pairs(),
        consistency in pairs(),
    ) {
        let fx = build(size, &batches);
        check_refusals(&fx);

        // The random pairs, and the edges of the store every time.
        let mut inc: Vec<(u64, u64, usize)> = inclusion
            .iter()
            .map(|&(a, b, bit)| {
                let n = 1 + a % size;
                (b % n, n, bit)
            })
            .collect();
        inc.extend([(0, size, 7), (size - 1, size, 200), (0, 1, 0)]);
        for (i, n, bit) in inc {
            check_inclusion(&fx, i, n, bit);
        }
        let mut cons: Vec<(u64, u64, usize)> = consistency
            .iter()
            .map(|&(a, b, bit)| {
                let n = 1 + a % size;
                (1 + b % n, n, bit)
            })
            .collect();
        cons.extend([(1, size, 3), (size, size, 9), (size.div_ceil(2), size, 130)]);
        for (m, n, bit) in cons {
            check_consistency(&fx, m, n, bit);
        }

        // A proof file for the latest checkpoint verifies too.
        let cp = fx.log.checkpoint_now().unwrap().checkpoint;
        prop_assert_eq!(cp.size, size);
        prop_assert_eq!(cp.root, fx.roots[size as usize]);
        let last = fx.log.tlog_proof(size - 1).unwrap();
        verify_inclusion(&fx.leaves[size as usize - 1], size - 1, size, &last.hashes, &cp.root)
            .unwrap();
        prop_assert!(fx.log.tlog_proof(size).is_err());
    }
}

/// The point of computing verdicts rather than assuming refusals: the inclusion proof of leaf 0
/// in a tree of 6 is also a well-formed proof of leaf 0 in a tree of 7 with the same root, and
/// the consistency proof from 6 to 8 is also one from 6 to 7. Both the definitions and the
/// verifiers say so; against the true roots of 7 both fail.
#[test]
fn a_size_off_by_one_can_leave_a_proof_valid() {
    let fx = build(8, &[3, 5]);
    let proof = fx.log.inclusion_proof(0, 6).unwrap();
    let (leaf, root6, root7) = (fx.leaves[0], fx.roots[6], fx.roots[7]);
    assert!(inclusion_holds(&leaf, 0, 7, &proof, &root6));
    verify_inclusion(&leaf, 0, 7, &proof, &root6).unwrap();
    assert!(!inclusion_holds(&leaf, 0, 7, &proof, &root7));
    assert!(verify_inclusion(&leaf, 0, 7, &proof, &root7).is_err());

    let proof = fx.log.consistency_proof(6, 8).unwrap();
    let root8 = fx.roots[8];
    assert!(consistency_holds(6, 7, &proof, &root6, &root8));
    verify_consistency(6, 7, &proof, &root6, &root8).unwrap();
    assert!(verify_consistency(6, 7, &proof, &root6, &root7).is_err());
}
