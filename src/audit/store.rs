//! The old home of the audit log and its store, kept as re-exports while callers move: the log
//! is [`crate::audit::log`], its error [`crate::audit::error`], and the RocksDB layout, reads and
//! group commit writer [`crate::store`].

pub use super::error::AuditError;
pub use super::log::{AuditLog, LogConfig, SignedCheckpoint, default_origin};
pub use crate::store::{
    Announced, CF_CHECKPOINTS, CF_ENTRIES, CF_META, CF_STATE, CF_TREE, COLUMN_FAMILIES, Holding,
    Pending, Receipt, Records, StoreReader, Table, Write,
};
