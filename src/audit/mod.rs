//! The audit log: every access to a licence, in an append-only RFC 6962 Merkle log.
//!
//! - [`merkle`]: tree hashing, proofs and their verifiers, with no storage.
//! - [`entry`]: the audit entry and its canonical bytes; holder codes as keyed hashes.
//! - [`note`]: C2SP signed notes, Ed25519 note keys and witness cosignatures.
//! - [`checkpoint`]: C2SP tlog-checkpoint bodies, signed and opened as notes.
//! - [`proof_file`]: C2SP tlog-proof files, checked offline.
//! - [`log`]: the log: opening and checking a store, appends, proofs, checkpoint signing.
//! - [`error`]: why the log refused or failed.
//! - [`store`]: the log's former paths, re-exported from [`log`], [`error`] and [`crate::store`].
//! - [`replay`]: the auditor's replay of a store.
//! - [`witness`]: the decision logic of a C2SP tlog-witness, with no I/O.
//!
//! None of these knows RocksDB: the bytes on disk belong to [`crate::store`].
pub mod checkpoint;
pub mod entry;
pub mod error;
pub mod log;
pub mod merkle;
pub mod note;
pub mod proof_file;
pub mod replay;
pub mod witness;

/// The name of a region node's witness key: `zhengzhao-witness/<region>`.
pub fn witness_name(region: &str) -> String {
    format!("zhengzhao-witness/{region}")
}
