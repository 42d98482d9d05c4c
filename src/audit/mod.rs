//! The audit log: every access to a licence, in an append-only RFC 6962 Merkle log.
//!
//! - [`merkle`]: tree hashing, proofs and their verifiers, with no storage.
//! - [`note`]: signed notes (c2sp.org/signed-note) and witness cosignatures.
//! - [`checkpoint`]: checkpoints (c2sp.org/tlog-checkpoint), the log's signed tree heads.
//! - [`proof_file`]: offline inclusion proofs (c2sp.org/tlog-proof).
pub mod checkpoint;
pub mod merkle;
pub mod note;
pub mod proof_file;
