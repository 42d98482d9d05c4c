//! RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verifiers.
//!
//! Hashes follow RFC 6962 §2.1: a leaf is `SHA-256(0x00 ‖ entry)`, an interior node
//! `SHA-256(0x01 ‖ left ‖ right)`, a tree of `n > 1` leaves splits at the largest power of two
//! below `n`, and the empty tree hashes to `SHA-256("")`.
//!
//! The tree is stored as *perfect subtrees*: node `(level, index)` is the hash of leaves
//! `[index · 2^level, (index + 1) · 2^level)`. Every range a proof or a root needs is either one
//! such node or, on the right edge of the tree, a short fold of them. [`ProofPlan`] lists the
//! perfect nodes a proof or root needs (O(log n) of them), so a store can read them in one go and
//! [`ProofPlan::finish`] assembles the answer. Nothing here holds a tree in memory.

use ring::digest;
use thiserror::Error;

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// Hash of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    sha256(&[&[]])
}

/// RFC 6962 leaf hash: SHA-256(0x00 ‖ entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    sha256(&[&[0x00], entry])
}

/// RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[0x01], left, right])
}

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// A perfect subtree: leaves `[index · 2^level, (index + 1) · 2^level)`. Level 0 is a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height above the leaves: 0 for a leaf hash.
    pub level: u8,
    /// Position among the nodes of this level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub fn new(level: u8, index: u64) -> NodeId {
        NodeId { level, index }
    }

    /// The first leaf this node covers.
    pub fn first_leaf(self) -> u64 {
        self.index << self.level
    }

    /// The number of leaves this node covers.
    pub fn width(self) -> u64 {
        1u64 << self.level
    }
}

/// Why a proof or a request for one was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof from or to size 0 was asked for or given.
    #[error("a consistency proof needs two non-empty trees (sizes {first} and {second})")]
    EmptyTree {
        /// The older size.
        first: u64,
        /// The newer size.
        second: u64,
    },
    /// The older size is larger than the newer one.
    #[error("size {first} is larger than size {second}")]
    SizesReversed {
        /// The older size.
        first: u64,
        /// The newer size.
        second: u64,
    },
    /// The proof has the wrong number of hashes for its sizes.
    #[error("proof has {got} hashes where {want} are needed")]
    WrongLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes the sizes call for.
        want: usize,
    },
    /// The proof does not lead to the expected root.
    #[error("proof does not match the root")]
    RootMismatch,
    /// The store could not supply a hash the proof needs.
    #[error("node hash {0:?} is not available")]
    MissingNode(NodeId),
}

/// Largest power of two strictly below `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The perfect subtrees that make up leaves `[start, end)`, left to right, for a range that a
/// proof or root can ask for: `start` is a multiple of the largest block. Panics never; an empty
/// range gives no nodes.
pub fn decompose(start: u64, end: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let remaining = end - at;
        // Largest power of two that fits in the remaining width and that `at` is aligned to.
        let mut level = 63 - remaining.leading_zeros();
        if at != 0 {
            level = level.min(at.trailing_zeros());
        }
        let level = level as u8;
        out.push(NodeId::new(level, at >> level));
        at += 1u64 << level;
    }
    out
}

/// The hash of a range given the hashes of its [`decompose`] nodes, in the same order.
fn fold(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    let mut acc = *last;
    for h in rest.iter().rev() {
        acc = node_hash(h, &acc);
    }
    Some(acc)
}

/// RFC 9162 §2.1.3.1 PATH(m, D[start:end]) as the ranges whose hashes form the proof, leaf first.
fn inclusion_ranges(m: u64, start: u64, end: u64, out: &mut Vec<(u64, u64)>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    if m < k {
        inclusion_ranges(m, start, start + k, out);
        out.push((start + k, end));
    } else {
        inclusion_ranges(m - k, start + k, end, out);
        out.push((start, start + k));
    }
}

/// RFC 9162 §2.1.4.1 SUBPROOF(m, D[start:end], b) as ranges, innermost first.
fn consistency_ranges(m: u64, start: u64, end: u64, whole: bool, out: &mut Vec<(u64, u64)>) {
    let n = end - start;
    if m == n {
        if !whole {
            out.push((start, end));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        consistency_ranges(m, start, start + k, whole, out);
        out.push((start + k, end));
    } else {
        consistency_ranges(m - k, start + k, end, false, out);
        out.push((start, start + k));
    }
}

/// The perfect nodes a proof or root needs, and how to assemble it from their hashes.
#[derive(Debug, Clone)]
pub struct ProofPlan {
    ranges: Vec<(u64, u64)>,
    nodes: Vec<NodeId>,
}

impl ProofPlan {
    fn from_ranges(ranges: Vec<(u64, u64)>) -> ProofPlan {
        let mut nodes: Vec<NodeId> = ranges.iter().flat_map(|&(a, b)| decompose(a, b)).collect();
        nodes.sort_unstable();
        nodes.dedup();
        ProofPlan { ranges, nodes }
    }

    /// Plan the inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        let mut ranges = Vec::new();
        inclusion_ranges(index, 0, size, &mut ranges);
        Ok(ProofPlan::from_ranges(ranges))
    }

    /// Plan the consistency proof between the trees of `first` and `second` leaves
    /// (`0 < first ≤ second`; equal sizes give an empty proof).
    pub fn consistency(first: u64, second: u64) -> Result<ProofPlan, ProofError> {
        if first == 0 || second == 0 {
            return Err(ProofError::EmptyTree { first, second });
        }
        if first > second {
            return Err(ProofError::SizesReversed { first, second });
        }
        let mut ranges = Vec::new();
        if first < second {
            consistency_ranges(first, 0, second, true, &mut ranges);
        }
        Ok(ProofPlan::from_ranges(ranges))
    }

    /// Plan the root of the tree of `size` leaves (no nodes for the empty tree).
    pub fn root(size: u64) -> ProofPlan {
        if size == 0 {
            return ProofPlan {
                ranges: Vec::new(),
                nodes: Vec::new(),
            };
        }
        ProofPlan::from_ranges(vec![(0, size)])
    }

    /// The distinct perfect nodes to read, sorted by level then index.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// Assemble the hashes, given the hash of each node of [`ProofPlan::nodes`] in that order.
    /// For a root plan the result has one hash (none for the empty tree: use [`empty_root`]).
    pub fn finish(&self, node_hashes: &[Hash]) -> Result<Vec<Hash>, ProofError> {
        expect_len(node_hashes.len(), self.nodes.len())?;
        let mut out = Vec::with_capacity(self.ranges.len());
        for &(a, b) in &self.ranges {
            let mut parts = Vec::new();
            for id in decompose(a, b) {
                let i = self
                    .nodes
                    .binary_search(&id)
                    .map_err(|_| ProofError::MissingNode(id))?;
                parts.push(node_hashes[i]);
            }
            out.push(fold(&parts).ok_or(ProofError::MissingNode(NodeId::new(0, a)))?);
        }
        Ok(out)
    }

    /// Assemble a root from node hashes (see [`ProofPlan::root`]).
    pub fn finish_root(&self, node_hashes: &[Hash]) -> Result<Hash, ProofError> {
        Ok(self
            .finish(node_hashes)?
            .first()
            .copied()
            .unwrap_or_else(empty_root))
    }
}

/// Check that `leaf` is entry `index` of the tree of `size` leaves with root `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let want = inclusion_len(index, size);
    expect_len(proof.len(), want)?;
    let mut r = *leaf;
    walk_path(index, size - 1, proof, proof.len(), want, |p, left| {
        r = if left {
            node_hash(p, &r)
        } else {
            node_hash(&r, p)
        };
    })?;
    if &r != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Check that the tree of `second` leaves with root `second_root` extends the tree of `first`
/// leaves with root `first_root` (RFC 9162 §2.1.4.2). A proof from size 0 is refused; equal
/// sizes need an empty proof and equal roots.
pub fn verify_consistency(
    first: u64,
    second: u64,
    proof: &[Hash],
    first_root: &Hash,
    second_root: &Hash,
) -> Result<(), ProofError> {
    if first == 0 || second == 0 {
        return Err(ProofError::EmptyTree { first, second });
    }
    if first > second {
        return Err(ProofError::SizesReversed { first, second });
    }
    let want = consistency_len(first, second);
    expect_len(proof.len(), want)?;
    if first == second {
        return if first_root == second_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    // When `first` is a power of two, its root is the first node of the path and is left out.
    let mut nodes: Vec<&Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        nodes.push(first_root);
    }
    nodes.extend(proof.iter());
    let mut f = first - 1;
    let mut s = second - 1;
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (head, rest) = nodes
        .split_first()
        .ok_or(ProofError::WrongLength { got: 0, want })?;
    let mut fr = **head;
    let mut sr = **head;
    walk_path(f, s, rest.iter().copied(), proof.len(), want, |c, left| {
        if left {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
        } else {
            sr = node_hash(&sr, c);
        }
    })?;
    if &fr != first_root || &sr != second_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Refuses a list of hashes of another length than the one wanted.
fn expect_len(got: usize, want: usize) -> Result<(), ProofError> {
    if got == want {
        Ok(())
    } else {
        Err(ProofError::WrongLength { got, want })
    }
}

/// The walk up the tree both proof checks make (RFC 9162 §2.1.3.2 and §2.1.4.2), with `f`
/// the index of the node being proved and `s` the last index at its level. Each hash of the
/// path is handed to `step` with whether it is a left sibling (hashed in front of what has
/// been built so far); a path too long or too short for the tree is refused as
/// `WrongLength { got, want }`, so that both checks refuse it alike.
fn walk_path<'a>(
    mut f: u64,
    mut s: u64,
    path: impl IntoIterator<Item = &'a Hash>,
    got: usize,
    want: usize,
    mut step: impl FnMut(&Hash, bool),
) -> Result<(), ProofError> {
    for p in path {
        if s == 0 {
            return Err(ProofError::WrongLength { got, want });
        }
        if f & 1 == 1 || f == s {
            step(p, true);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            step(p, false);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength { got, want });
    }
    Ok(())
}

/// Number of hashes in the inclusion proof of `index` in a tree of `size` leaves.
pub fn inclusion_len(index: u64, size: u64) -> usize {
    let mut ranges = Vec::new();
    if index < size {
        inclusion_ranges(index, 0, size, &mut ranges);
    }
    ranges.len()
}

/// Number of hashes in the consistency proof between sizes `first` and `second`.
pub fn consistency_len(first: u64, second: u64) -> usize {
    let mut ranges = Vec::new();
    if 0 < first && first < second {
        consistency_ranges(first, 0, second, true, &mut ranges);
    }
    ranges.len()
}

/// The right edge of a growing tree: one hash per set bit of its size (the "peaks", largest
/// first). Appending a leaf reports the perfect nodes it completes, so a writer can store them
/// and a replay can compare them with what is stored. Holds O(log n) hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    peaks: Vec<Hash>,
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> CompactRange {
        CompactRange::default()
    }

    /// A tree of `size` leaves from the hashes of its peaks (the nodes of `decompose(0, size)`,
    /// in that order). `None` if the number of hashes does not fit the size.
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Option<CompactRange> {
        (peaks.len() == size.count_ones() as usize).then_some(CompactRange { size, peaks })
    }

    /// Leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The peak hashes, largest subtree first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Append a leaf hash. Calls `completed` for every perfect node this completes, the leaf
    /// itself (level 0) first, then upwards.
    pub fn push(&mut self, leaf: Hash, mut completed: impl FnMut(NodeId, &Hash)) {
        let index = self.size;
        completed(NodeId::new(0, index), &leaf);
        let mut acc = leaf;
        let mut level = 0u8;
        // Each trailing one bit of the old size is a peak the new leaf merges with.
        while (index >> level) & 1 == 1 {
            let Some(left) = self.peaks.pop() else { break };
            acc = node_hash(&left, &acc);
            level += 1;
            completed(NodeId::new(level, index >> level), &acc);
        }
        self.peaks.push(acc);
        self.size += 1;
    }

    /// The root hash of the tree so far.
    pub fn root(&self) -> Hash {
        fold(&self.peaks).unwrap_or_else(empty_root)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Reference MTH straight from the RFC's recursive definition.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// Every perfect node of the tree, computed from the leaves.
    fn node(leaves: &[Hash], id: NodeId) -> Hash {
        let a = id.first_leaf() as usize;
        mth(&leaves[a..a + id.width() as usize])
    }

    fn run(plan: &ProofPlan, l: &[Hash]) -> Vec<Hash> {
        let hashes: Vec<Hash> = plan.nodes().iter().map(|&id| node(l, id)).collect();
        plan.finish(&hashes).unwrap()
    }

    #[test]
    fn empty_tree_hash_is_sha256_of_nothing() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn roots_proofs_and_compact_range_agree_with_the_definition() {
        for n in 1..=70u64 {
            let l = leaves(n);
            let want = mth(&l);
            assert_eq!(
                ProofPlan::root(n)
                    .finish_root(&run_nodes(&ProofPlan::root(n), &l))
                    .unwrap(),
                want
            );
            let mut cr = CompactRange::new();
            let mut completed = Vec::new();
            for h in &l {
                cr.push(*h, |id, h| completed.push((id, *h)));
            }
            assert_eq!(cr.root(), want, "compact range root at {n}");
            for (id, h) in completed {
                assert_eq!(node(&l, id), h, "completed node {id:?}");
            }
            for i in 0..n {
                let proof = run(&ProofPlan::inclusion(i, n).unwrap(), &l);
                assert_eq!(proof.len(), inclusion_len(i, n));
                verify_inclusion(&l[i as usize], i, n, &proof, &want).unwrap();
            }
            for m in 1..=n {
                let proof = run(&ProofPlan::consistency(m, n).unwrap(), &l);
                let first = mth(&l[..m as usize]);
                verify_consistency(m, n, &proof, &first, &want).unwrap();
            }
        }
    }

    fn run_nodes(plan: &ProofPlan, l: &[Hash]) -> Vec<Hash> {
        plan.nodes().iter().map(|&id| node(l, id)).collect()
    }

    #[test]
    fn plans_read_logarithmically_many_nodes() {
        let n = (1u64 << 40) + 12345;
        assert!(ProofPlan::root(n).nodes().len() <= 41);
        assert!(ProofPlan::inclusion(n - 1, n).unwrap().nodes().len() <= 2 * 41);
        assert!(ProofPlan::inclusion(7, n).unwrap().nodes().len() <= 2 * 41);
        assert!(ProofPlan::consistency(n / 3, n).unwrap().nodes().len() <= 2 * 41);
    }

    #[test]
    fn malformed_requests_are_refused() {
        assert_eq!(
            ProofPlan::inclusion(5, 5).unwrap_err(),
            ProofError::IndexOutOfRange { index: 5, size: 5 }
        );
        assert!(matches!(
            ProofPlan::consistency(0, 5),
            Err(ProofError::EmptyTree { .. })
        ));
        assert!(matches!(
            ProofPlan::consistency(6, 5),
            Err(ProofError::SizesReversed { .. })
        ));
        let l = leaves(8);
        let root = mth(&l);
        assert!(matches!(
            verify_consistency(8, 8, &[root], &root, &root),
            Err(ProofError::WrongLength { .. })
        ));
        verify_consistency(8, 8, &[], &root, &root).unwrap();
        assert!(verify_consistency(8, 8, &[], &root, &l[0]).is_err());
        assert!(verify_inclusion(&l[0], 8, 8, &[], &root).is_err());
        assert!(verify_inclusion(&l[0], 0, 1, &[], &l[0]).is_ok());
    }

    #[test]
    fn decompose_covers_the_range_with_aligned_blocks() {
        for a in [0u64, 8, 16, 64] {
            for b in a..a + 40 {
                let nodes = decompose(a, b);
                let mut at = a;
                for id in &nodes {
                    assert_eq!(id.first_leaf(), at);
                    at += id.width();
                }
                assert_eq!(at, b);
            }
        }
    }
}
