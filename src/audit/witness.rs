//! The decision logic of a transparency log witness (c2sp.org/tlog-witness): read an
//! `add-checkpoint` request, check it against what the witness has cosigned for the log, and
//! say what to answer.
//!
//! There is no I/O here. The caller looks the log up by the checkpoint's origin
//! ([`AddCheckpoint::origin`]; an unknown origin is its "404 Not Found"), reads the witness's
//! [`Witnessed`] state for it, calls [`add_checkpoint`], and maps the [`Verdict`] to HTTP.
//! On [`Verdict::Cosigned`] it must persist the new state *before* answering, and the read,
//! the check and the write must be atomic per log: two requests checked against the same
//! state must not both be persisted, or a smaller tree could overwrite a larger one.
//!
//! ```text
//! old <decimal>             (the size the client believes the witness has)
//! <base64 hash>             (zero or more consistency proof hashes, at most 63)
//!
//! <signed checkpoint note>
//! ```

use serde::{Deserialize, Serialize};

use crate::audit::checkpoint::Checkpoint;
use crate::audit::merkle::{Hash, empty_root, verify_consistency};
use crate::audit::note::{
    CosignatureSigner, MAX_NOTE_BYTES, Note, NoteVerifier, decode_hash, parse_decimal,
};

/// The most consistency proof hashes a request may carry (the spec's limit: a proof between
/// two trees of fewer than 2^64 leaves never needs more).
pub const MAX_PROOF_HASHES: usize = 63;

/// The largest request body accepted: a maximal note plus 4 KiB for the old size line and
/// 63 proof lines (each at most 45 bytes).
pub const MAX_ADD_CHECKPOINT_BYTES: usize = MAX_NOTE_BYTES + (1 << 12);

/// Why an `add-checkpoint` body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The body is not an old size line, proof lines, a blank line and a note ("400 Bad
    /// Request").
    #[error("malformed add-checkpoint request: {0}")]
    Malformed(String),
}

/// A parsed `add-checkpoint` body: `old <size>\n`, zero or more base64 proof lines, an empty
/// line, then the checkpoint note. The note is kept verbatim and not yet parsed or verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The tree size the client believes the witness last cosigned for this log.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size (RFC 6962 §2.1.2).
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// The checkpoint's origin as claimed by its first line, unverified: what the caller
    /// looks the log up by. Empty if the note has no first line.
    pub fn origin(&self) -> &str {
        self.checkpoint
            .split_once('\n')
            .map_or("", |(origin, _)| origin)
    }
}

fn malformed(why: impl Into<String>) -> WitnessError {
    WitnessError::Malformed(why.into())
}

/// Parse an `add-checkpoint` body. Checks the old size line (decimal, no leading zero), each
/// proof line (canonical standard base64 of 32 bytes, at most [`MAX_PROOF_HASHES`] of them),
/// the blank line and the body size; the note itself is checked by [`add_checkpoint`].
pub fn parse_add_checkpoint(body: &str) -> Result<AddCheckpoint, WitnessError> {
    if body.len() > MAX_ADD_CHECKPOINT_BYTES {
        return Err(malformed(format!(
            "body is {} bytes, over the limit of {MAX_ADD_CHECKPOINT_BYTES}",
            body.len()
        )));
    }
    // Proof lines are never empty, so the first blank line is the separator.
    let Some(split) = body.find("\n\n") else {
        return Err(malformed(
            "no blank line between the proof and the checkpoint",
        ));
    };
    let (head, checkpoint) = (&body[..split], &body[split + 2..]);
    let mut lines = head.split('\n');
    let Some(old) = lines.next().and_then(|l| l.strip_prefix("old ")) else {
        return Err(malformed("the first line is not \"old <size>\""));
    };
    let old = parse_decimal(old, "old size").map_err(|e| malformed(e.to_string()))?;
    let mut proof = Vec::new();
    for line in lines {
        if proof.len() == MAX_PROOF_HASHES {
            return Err(malformed(format!(
                "more than {MAX_PROOF_HASHES} consistency proof lines"
            )));
        }
        proof.push(
            decode_hash(line, "consistency proof hash").map_err(|e| malformed(e.to_string()))?,
        );
    }
    if checkpoint.is_empty() {
        return Err(malformed("no checkpoint after the blank line"));
    }
    Ok(AddCheckpoint {
        old,
        proof,
        checkpoint: checkpoint.to_owned(),
    })
}

/// What the witness has cosigned for one log: the latest tree size and root, and the signed
/// checkpoint it accepted for them. `root` is standard base64 in serialized form.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Witnessed {
    /// Tree size of the latest cosigned checkpoint.
    pub size: u64,
    /// Root hash of the latest cosigned checkpoint.
    #[serde(with = "root_b64")]
    pub root: Hash,
    /// The latest cosigned checkpoint note, as submitted (without the witness's cosignature).
    pub note: String,
}

/// Serde for a hash as canonical standard base64.
mod root_b64 {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::audit::merkle::Hash;
    use crate::audit::note::{decode_hash, encode_b64};

    pub(super) fn serialize<S: Serializer>(root: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode_b64(root))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(d)?;
        decode_hash(&text, "root hash").map_err(serde::de::Error::custom)
    }
}

/// What to answer an `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// "200 OK": persist `state` first (atomically with the check, see the module docs), then
    /// answer `cosignature`, one note signature line ending in a newline.
    Cosigned {
        /// The witness's new state for this log.
        state: Witnessed,
        /// The witness's `cosignature/v1` line over the checkpoint.
        cosignature: String,
    },
    /// "409 Conflict": `old` is not the size the witness has cosigned, or it is but the
    /// checkpoint has that size and another root. Answer `size` in decimal and a newline, as
    /// `text/x.tlog.size`.
    Conflict {
        /// The size the witness last cosigned for this log (0 if never).
        size: u64,
        /// When the checkpoint is validly signed by the log and has the witnessed size but
        /// another root: the note, which with the witnessed one proves a fork. Keep it.
        evidence: Option<String>,
    },
    /// "403 Forbidden": no signature by the log's key verifies, or the checkpoint's origin is
    /// not the log's.
    BadSignature(String),
    /// "422 Unprocessable Entity": the consistency proof does not verify (or is not empty
    /// where it must be), or a size-0 checkpoint has a root other than the empty tree's.
    Rejected {
        /// Why, for the response body and the operator.
        reason: String,
        /// The note, when it is validly signed by the log but could not be shown consistent
        /// with what the witness cosigned (a possible fork): the caller keeps it as evidence.
        evidence: Option<String>,
    },
    /// "400 Bad Request": the body, the note or the checkpoint is malformed, or the old size
    /// is larger than the checkpoint's.
    Malformed(String),
    /// "500 Internal Server Error": the witness could not cosign (a timestamp over 2^63 - 1).
    /// Nothing is to be persisted.
    Internal(String),
}

/// Decide an `add-checkpoint` request (c2sp.org/tlog-witness) for the log `origin`, whose key
/// is `log_key`, given the witness's state for it (`None` if it never cosigned one).
///
/// In order: the body and note must parse (400); the note must carry a valid signature by
/// `log_key` (signatures by other keys are ignored) and the checkpoint's origin must be
/// `origin` (403); the checkpoint must parse (400); the old size must not exceed the
/// checkpoint's (400) and must equal the witnessed size (409); equal sizes need equal roots
/// (409, with evidence) and an empty proof (422); growth from size 0 needs an empty proof and
/// growth from a witnessed tree a consistency proof from its root (422, with evidence). Then
/// the checkpoint is cosigned at `now_unix_secs`. Re-submitting the witnessed checkpoint is
/// cosigned again.
pub fn add_checkpoint(
    body: &str,
    origin: &str,
    log_key: &NoteVerifier,
    current: Option<&Witnessed>,
    witness: &CosignatureSigner,
    now_unix_secs: u64,
) -> Verdict {
    let req = match parse_add_checkpoint(body) {
        Ok(req) => req,
        Err(WitnessError::Malformed(why)) => return Verdict::Malformed(why),
    };
    let note = req.checkpoint.as_str();
    if let Err(e) = Note::parse(note) {
        return Verdict::Malformed(format!("checkpoint note: {e}"));
    }
    let signed_body = match log_key.verify(note) {
        Ok(body) => body,
        Err(e) => return Verdict::BadSignature(e.to_string()),
    };
    let checkpoint = match Checkpoint::parse_body(signed_body) {
        Ok(c) => c,
        Err(e) => return Verdict::Malformed(format!("checkpoint: {e}")),
    };
    if checkpoint.origin != origin {
        return Verdict::BadSignature(format!(
            "checkpoint origin {:?} is not the log's origin {origin:?}",
            checkpoint.origin
        ));
    }
    let (size, root) = (checkpoint.size, checkpoint.root);
    let evidence = || Some(note.to_owned());
    if req.old > size {
        return Verdict::Malformed(format!(
            "old size {} is larger than the checkpoint size {size}",
            req.old
        ));
    }
    let have = current.map_or(0, |w| w.size);
    if req.old != have {
        return Verdict::Conflict {
            size: have,
            evidence: None,
        };
    }
    if size == 0 && root != empty_root() {
        return Verdict::Rejected {
            reason: "checkpoint of size 0 does not have the empty tree's root".to_owned(),
            evidence: evidence(),
        };
    }
    match current {
        Some(w) if w.size > 0 => {
            if size == w.size {
                if root != w.root {
                    return Verdict::Conflict {
                        size: have,
                        evidence: evidence(),
                    };
                }
                if !req.proof.is_empty() {
                    return Verdict::Rejected {
                        reason: "a consistency proof between equal sizes must be empty".to_owned(),
                        evidence: None,
                    };
                }
            } else if let Err(e) = verify_consistency(w.size, size, &req.proof, &w.root, &root) {
                return Verdict::Rejected {
                    reason: format!(
                        "consistency proof from size {} to {size} does not verify: {e}",
                        w.size
                    ),
                    evidence: evidence(),
                };
            }
        }
        // Nothing witnessed yet (or only the empty tree): every tree extends it.
        _ => {
            if !req.proof.is_empty() {
                return Verdict::Rejected {
                    reason: "a consistency proof from size 0 must be empty".to_owned(),
                    evidence: None,
                };
            }
        }
    }
    match witness.cosign(signed_body, now_unix_secs) {
        Ok(cosignature) => Verdict::Cosigned {
            state: Witnessed {
                size,
                root,
                note: note.to_owned(),
            },
            cosignature,
        },
        Err(e) => Verdict::Internal(format!("could not cosign: {e}")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::HashMap;

    use super::*;
    use crate::audit::merkle::{CompactRange, NodeId, ProofPlan, leaf_hash};
    use crate::audit::note::{CosignatureVerifier, NoteSigner, encode_b64};

    const ORIGIN: &str = "example.com/log";
    const NOW: u64 = 1_700_000_000;

    /// A tree built with the crate's own compact range: every perfect node, and the root at
    /// every size.
    struct Tree {
        nodes: HashMap<NodeId, Hash>,
        roots: Vec<Hash>,
    }

    impl Tree {
        fn new(n: u64, salt: &str) -> Tree {
            let mut nodes = HashMap::new();
            let mut cr = CompactRange::new();
            let mut roots = vec![cr.root()];
            for i in 0..n {
                cr.push(leaf_hash(format!("{salt} {i}").as_bytes()), |id, h| {
                    nodes.insert(id, *h);
                });
                roots.push(cr.root());
            }
            Tree { nodes, roots }
        }

        fn root(&self, size: u64) -> Hash {
            self.roots[size as usize]
        }

        fn proof(&self, first: u64, second: u64) -> Vec<Hash> {
            let plan = ProofPlan::consistency(first, second).unwrap();
            let hashes: Vec<Hash> = plan.nodes().iter().map(|id| self.nodes[id]).collect();
            plan.finish(&hashes).unwrap()
        }
    }

    struct Fixture {
        log: NoteSigner,
        witness: CosignatureSigner,
        tree: Tree,
    }

    fn fixture() -> Fixture {
        Fixture {
            log: NoteSigner::generate(ORIGIN).unwrap().0,
            witness: CosignatureSigner::generate("witness.example/w1").unwrap().0,
            tree: Tree::new(9, "honest"),
        }
    }

    fn sign(log: &NoteSigner, origin: &str, size: u64, root: Hash) -> String {
        Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        }
        .sign(log)
        .unwrap()
    }

    fn request(old: u64, proof: &[Hash], note: &str) -> String {
        let mut out = format!("old {old}\n");
        for h in proof {
            out.push_str(&encode_b64(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(note);
        out
    }

    impl Fixture {
        fn note(&self, size: u64) -> String {
            sign(&self.log, ORIGIN, size, self.tree.root(size))
        }

        fn decide(&self, body: &str, current: Option<&Witnessed>) -> Verdict {
            add_checkpoint(
                body,
                ORIGIN,
                &self.log.verifier(),
                current,
                &self.witness,
                NOW,
            )
        }

        /// The state after cosigning the honest tree at `size`.
        fn witnessed(&self, size: u64) -> Witnessed {
            Witnessed {
                size,
                root: self.tree.root(size),
                note: self.note(size),
            }
        }

        fn verifier(&self) -> CosignatureVerifier {
            self.witness.verifier()
        }
    }

    fn cosigned(v: Verdict) -> (Witnessed, String) {
        match v {
            Verdict::Cosigned { state, cosignature } => (state, cosignature),
            other => panic!("expected a cosignature, got {other:?}"),
        }
    }

    #[test]
    fn first_checkpoint_is_cosigned_and_the_cosignature_verifies() {
        let f = fixture();
        let note = f.note(5);
        let (state, cosig) = cosigned(f.decide(&request(0, &[], &note), None));
        assert_eq!(state, f.witnessed(5));
        assert!(cosig.starts_with("\u{2014} witness.example/w1 "));
        assert!(cosig.ends_with('\n'));
        assert_eq!(cosig.matches('\n').count(), 1);
        assert_eq!(f.verifier().verify(&format!("{note}{cosig}")), Ok(NOW));
        // The log's own signature still verifies on the cosigned note.
        f.log.verifier().verify(&format!("{note}{cosig}")).unwrap();
    }

    #[test]
    fn growth_with_a_correct_consistency_proof_is_cosigned() {
        let f = fixture();
        let have = f.witnessed(5);
        let note = f.note(9);
        let body = request(5, &f.tree.proof(5, 9), &note);
        let (state, cosig) = cosigned(f.decide(&body, Some(&have)));
        assert_eq!(state, f.witnessed(9));
        assert_eq!(f.verifier().verify(&format!("{note}{cosig}")), Ok(NOW));
        // Every size from every witnessed size, power of two or not.
        for m in 1..=9 {
            for n in m + 1..=9 {
                let body = request(m, &f.tree.proof(m, n), &f.note(n));
                let (state, _) = cosigned(f.decide(&body, Some(&f.witnessed(m))));
                assert_eq!((state.size, state.root), (n, f.tree.root(n)));
            }
        }
    }

    #[test]
    fn resubmitting_the_witnessed_checkpoint_is_cosigned_again() {
        let f = fixture();
        let have = f.witnessed(5);
        let (state, cosig) = cosigned(f.decide(&request(5, &[], &have.note), Some(&have)));
        assert_eq!(state, have);
        assert_eq!(
            f.verifier().verify(&format!("{}{cosig}", have.note)),
            Ok(NOW)
        );
    }

    #[test]
    fn stale_old_size_is_a_conflict_with_the_witnessed_size() {
        let f = fixture();
        let have = f.witnessed(9);
        let body = request(5, &f.tree.proof(5, 9), &f.note(9));
        assert_eq!(
            f.decide(&body, Some(&have)),
            Verdict::Conflict {
                size: 9,
                evidence: None
            }
        );
        // A client that knows nothing asks with old 0 and learns the size.
        assert_eq!(
            f.decide(&request(0, &[], &f.note(9)), Some(&have)),
            Verdict::Conflict {
                size: 9,
                evidence: None
            }
        );
        // And a witness that has nothing answers 0.
        assert_eq!(
            f.decide(&request(5, &f.tree.proof(5, 9), &f.note(9)), None),
            Verdict::Conflict {
                size: 0,
                evidence: None
            }
        );
    }

    #[test]
    fn bad_proof_is_rejected_with_evidence() {
        let f = fixture();
        let have = f.witnessed(5);
        let note = f.note(9);
        let mut proof = f.tree.proof(5, 9);
        proof[0][0] ^= 1;
        match f.decide(&request(5, &proof, &note), Some(&have)) {
            Verdict::Rejected { reason, evidence } => {
                assert!(reason.contains("does not verify"), "{reason}");
                assert_eq!(evidence, Some(note.clone()));
            }
            other => panic!("expected rejection, got {other:?}"),
        }
        // A proof of the wrong length does not verify either.
        let short = &f.tree.proof(5, 9)[1..];
        assert!(matches!(
            f.decide(&request(5, short, &note), Some(&have)),
            Verdict::Rejected {
                evidence: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn same_size_with_another_root_is_a_conflict_with_evidence() {
        let f = fixture();
        let have = f.witnessed(5);
        let fork = sign(&f.log, ORIGIN, 5, Tree::new(5, "forked").root(5));
        assert_eq!(
            f.decide(&request(5, &[], &fork), Some(&have)),
            Verdict::Conflict {
                size: 5,
                evidence: Some(fork)
            }
        );
    }

    #[test]
    fn forked_tree_with_its_own_proof_is_rejected_with_evidence() {
        let f = fixture();
        let have = f.witnessed(5);
        let forked = Tree::new(9, "forked");
        let note = sign(&f.log, ORIGIN, 9, forked.root(9));
        // The proof is valid within the forked tree, but not from the witnessed root.
        verify_consistency(5, 9, &forked.proof(5, 9), &forked.root(5), &forked.root(9)).unwrap();
        match f.decide(&request(5, &forked.proof(5, 9), &note), Some(&have)) {
            Verdict::Rejected { evidence, .. } => assert_eq!(evidence, Some(note)),
            other => panic!("expected rejection, got {other:?}"),
        }
    }

    #[test]
    fn wrong_key_is_a_bad_signature() {
        let f = fixture();
        let other = NoteSigner::generate(ORIGIN).unwrap().0;
        let note = sign(&other, ORIGIN, 5, f.tree.root(5));
        assert!(matches!(
            f.decide(&request(0, &[], &note), None),
            Verdict::BadSignature(_)
        ));
        // A tampered body fails the right key too.
        let tampered = f.note(5).replacen("\n5\n", "\n6\n", 1);
        assert!(matches!(
            f.decide(&request(0, &[], &tampered), None),
            Verdict::BadSignature(_)
        ));
    }

    #[test]
    fn signatures_by_unknown_keys_are_ignored() {
        let f = fixture();
        let other = NoteSigner::generate("someone.else").unwrap().0;
        let note = f.note(5);
        let extra = other.sign(&note[..note.find("\n\n").unwrap() + 1]).unwrap();
        let extra_line = &extra[extra.find("\n\n").unwrap() + 2..];
        let both = format!("{note}{extra_line}");
        let (state, cosig) = cosigned(f.decide(&request(0, &[], &both), None));
        assert_eq!(state.note, both);
        assert_eq!(f.verifier().verify(&format!("{both}{cosig}")), Ok(NOW));
    }

    #[test]
    fn wrong_origin_is_a_bad_signature() {
        let f = fixture();
        let note = sign(&f.log, "example.com/other-log", 5, f.tree.root(5));
        match f.decide(&request(0, &[], &note), None) {
            Verdict::BadSignature(why) => assert!(why.contains("origin"), "{why}"),
            other => panic!("expected a bad signature, got {other:?}"),
        }
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let f = fixture();
        let note = f.note(5);
        let h = encode_b64(&f.tree.root(3));
        let mut too_many = String::from("old 1\n");
        for _ in 0..64 {
            too_many.push_str(&h);
            too_many.push('\n');
        }
        too_many.push('\n');
        too_many.push_str(&note);
        // Each body, and a word of the reason it must be refused for.
        let cases = [
            (format!("\n{note}"), "first line"),
            (format!("5\n\n{note}"), "first line"),
            (format!("old  5\n\n{note}"), "decimal"),
            (format!("old 05\n\n{note}"), "leading zero"),
            (format!("old -1\n\n{note}"), "decimal"),
            (format!("old 18446744073709551616\n\n{note}"), "64 bits"),
            (format!("old 1\nnot base64!\n\n{note}"), "base64"),
            (
                format!("old 1\n{}\n\n{note}", &h[..h.len() - 4]),
                "30 bytes",
            ),
            // Without the blank line, the checkpoint's origin reads as a proof line.
            (format!("old 1\n{h}\n{note}"), "base64"),
            ("old 0\n".to_owned(), "no blank line"),
            ("old 0\n\n".to_owned(), "no checkpoint"),
            (format!("old 0\n\n\n{note}"), "note body is empty"),
            (
                format!("old 0\n\n{}", note.replace("\n\n", "\n")),
                "no blank line between the note body",
            ),
            (format!("old 0\n\n{}", &note[..note.len() - 1]), "newline"),
            (
                format!("old 0\n\n{}", f.log.sign("example.com/log\n5\n").unwrap()),
                "fewer than origin",
            ),
            (too_many, "more than 63"),
            (
                format!("old 0\n\n{note}{}", "x".repeat(MAX_ADD_CHECKPOINT_BYTES)),
                "over the limit",
            ),
        ];
        for (body, want) in &cases {
            match f.decide(body, None) {
                Verdict::Malformed(why) => assert!(why.contains(want), "{why:?} lacks {want:?}"),
                other => panic!("expected malformed for {body:?}, got {other:?}"),
            }
        }
        assert!(matches!(
            parse_add_checkpoint("old 0\n"),
            Err(WitnessError::Malformed(_))
        ));
        // 63 proof lines are fine to parse.
        let ok = format!("old 1\n{}\n{note}", format!("{h}\n").repeat(63));
        assert_eq!(parse_add_checkpoint(&ok).unwrap().proof.len(), 63);
    }

    #[test]
    fn parsed_request_keeps_its_parts() {
        let f = fixture();
        let note = f.note(9);
        let proof = f.tree.proof(5, 9);
        let req = parse_add_checkpoint(&request(5, &proof, &note)).unwrap();
        assert_eq!(req.old, 5);
        assert_eq!(req.proof, proof);
        assert_eq!(req.checkpoint, note);
        assert_eq!(req.origin(), ORIGIN);
    }

    #[test]
    fn size_below_old_is_malformed() {
        let f = fixture();
        let have = f.witnessed(9);
        match f.decide(&request(9, &[], &f.note(5)), Some(&have)) {
            Verdict::Malformed(why) => assert!(why.contains("larger"), "{why}"),
            other => panic!("expected malformed, got {other:?}"),
        }
        // Even when old is not what the witness has: the 400 comes before the 409.
        assert!(matches!(
            f.decide(&request(7, &[], &f.note(5)), Some(&have)),
            Verdict::Malformed(_)
        ));
    }

    #[test]
    fn proofs_that_must_be_empty_are_rejected() {
        let f = fixture();
        let proof = f.tree.proof(5, 9);
        assert_eq!(
            f.decide(&request(0, &proof, &f.note(9)), None),
            Verdict::Rejected {
                reason: "a consistency proof from size 0 must be empty".to_owned(),
                evidence: None
            }
        );
        let have = f.witnessed(5);
        assert_eq!(
            f.decide(&request(5, &proof[..1], &have.note), Some(&have)),
            Verdict::Rejected {
                reason: "a consistency proof between equal sizes must be empty".to_owned(),
                evidence: None
            }
        );
    }

    #[test]
    fn empty_trees() {
        let f = fixture();
        let (state, _) = cosigned(f.decide(&request(0, &[], &f.note(0)), None));
        assert_eq!((state.size, state.root), (0, empty_root()));
        // From a witnessed empty tree, any tree is a growth with an empty proof.
        let (state, _) = cosigned(f.decide(&request(0, &[], &f.note(5)), Some(&state)));
        assert_eq!(state, f.witnessed(5));
        // A size-0 checkpoint with any other root is the log lying.
        let bad = sign(&f.log, ORIGIN, 0, f.tree.root(1));
        assert!(matches!(
            f.decide(&request(0, &[], &bad), None),
            Verdict::Rejected {
                evidence: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn extension_lines_are_cosigned_with_the_body() {
        let f = fixture();
        let note = Checkpoint {
            origin: ORIGIN.to_owned(),
            size: 5,
            root: f.tree.root(5),
            extensions: vec!["ext line".to_owned()],
        }
        .sign(&f.log)
        .unwrap();
        let (_, cosig) = cosigned(f.decide(&request(0, &[], &note), None));
        assert_eq!(f.verifier().verify(&format!("{note}{cosig}")), Ok(NOW));
    }

    #[test]
    fn a_clock_beyond_the_cosignature_range_is_an_internal_error() {
        let f = fixture();
        let v = add_checkpoint(
            &request(0, &[], &f.note(5)),
            ORIGIN,
            &f.log.verifier(),
            None,
            &f.witness,
            u64::MAX,
        );
        assert!(matches!(v, Verdict::Internal(_)), "{v:?}");
    }

    #[test]
    fn witnessed_state_round_trips_through_json_with_a_base64_root() {
        let f = fixture();
        let w = f.witnessed(5);
        let json = serde_json::to_string(&w).unwrap();
        assert!(
            json.contains(&format!("\"root\":\"{}\"", encode_b64(&w.root))),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Witnessed>(&json).unwrap(), w);
        let bad = json.replace(&encode_b64(&w.root), "AAAA");
        assert!(serde_json::from_str::<Witnessed>(&bad).is_err());
    }
}
