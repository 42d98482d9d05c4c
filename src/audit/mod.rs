//! The audit log: every access to a licence, in an append-only RFC 6962 Merkle log.
//!
//! - [`merkle`]: tree hashing, proofs and their verifiers, with no storage.
//! - [`entry`]: the audit entry and its canonical bytes; holder codes as keyed hashes.
pub mod entry;
pub mod merkle;
