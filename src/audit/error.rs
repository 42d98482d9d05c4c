//! Why the audit log refused or failed: one error for the log and the store beneath it.

use thiserror::Error;

use super::entry::EntryError;
use super::merkle::ProofError;
use super::note::NoteError;

/// Why the audit log refused or failed.
#[derive(Debug, Error)]
pub enum AuditError {
    /// RocksDB reported an error; the operation did not happen.
    #[error("audit store: {0}")]
    Db(String),
    /// A file outside the database (state file, key) could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The entry was refused.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// A proof could not be made.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// A note or checkpoint was refused.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The store is behind the last checkpoint this node signed.
    #[error(
        "the audit store holds {store_size} entries, but this node signed a checkpoint at size \
         {signed_size} (state file {state_file}): the data directory was rolled back, for example \
         restored from an old backup; refusing to continue from an older log"
    )]
    RolledBack {
        /// Entries in the store.
        store_size: u64,
        /// Size of the last signed checkpoint.
        signed_size: u64,
        /// Where that checkpoint was kept.
        state_file: String,
    },
    /// The store disagrees with a checkpoint this node signed, or with itself.
    #[error("the audit store is inconsistent: {0}")]
    Inconsistent(String),
    /// The data directory was written by a newer version of the store than this one knows.
    #[error(
        "the data directory is of store schema version {found}, newer than this zhengzhao knows \
         (up to {known}): it was written by a newer zhengzhao; open it with that version or a \
         later one"
    )]
    NewerSchema {
        /// The version the directory records.
        found: u32,
        /// The newest version this build knows.
        known: u32,
    },
    /// The log is shutting down or its writer stopped.
    #[error("the audit log is closed")]
    Closed,
    /// A size or index beyond the log.
    #[error("{what} {asked} is beyond the log's size {size}")]
    Beyond {
        /// What was asked for.
        what: &'static str,
        /// The value asked for.
        asked: u64,
        /// The log's size.
        size: u64,
    },
}
