//! The node's storage: one RocksDB database, and the only module that knows its layout.
//!
//! Column families ([`COLUMN_FAMILIES`]):
//! - `audit_entries`: entry index (u64, big-endian) → the entry's exact bytes (the leaf).
//! - `audit_tree`: level (u8) ‖ index (u64, big-endian) → the 32-byte hash of that perfect
//!   subtree (level 0: leaf hashes). Every completed perfect subtree is stored, as tlog tiles do,
//!   so any root or proof costs O(log n) reads.
//! - `audit_checkpoints`: tree size (u64, big-endian) → the signed checkpoint note.
//! - `audit_meta`: `origin`, `size` (u64 big-endian), `time_ms` (i64 big-endian, the last
//!   entry's time) and `schema_version` (u32 big-endian; absent: version 1).
//! - `state`: the node's own records, written together with an audit entry ([`Write`]):
//!
//! | key | value |
//! |---|---|
//! | `licence/<licence id>` | the licence record (JSON) |
//! | `holder/<holder hash>/<licence id>` | empty: the holder index |
//! | `consent/<consent id>` | the consent record (JSON) |
//! | `witness/<origin>` | the witness's record of a partner log (JSON) |
//! | `witness-evidence/<origin>/<sha256 of the note>` | evidence against a partner log (JSON) |
//! | `trust-list/self` | this node's trust-list sequence (JSON) |
//! | `trust-list/<region>` | the last trust list kept from a partner (JSON) |
//! | `entries-by-case/<case>/<index, 16 hex digits>` | empty: an entry naming the case |
//! | `entries-by-licence/<licence>/<index, 16 hex digits>` | empty: an entry naming the licence |
//!
//! The pieces:
//! - [`keys`]: every key encoding, and its decoding.
//! - `db`: opening the database ([`Store`] read-write, [`StoreReader`] read-only), the column
//!   families and their options, and the reads.
//! - `records`: the node's own records: [`Write`]s and the typed reads of [`State`].
//! - `writer`: the group commit [`Writer`]: entries, their tree hashes, the size and the callers'
//!   writes in one synced batch.
//! - `cursor`: streaming cursors for the auditor's replay.
//! - `migrate`: the schema version, and the migration of older directories at open.
//!
//! The audit log's rules (what it opens, what it signs) and its Merkle math live in
//! [`crate::audit`], which knows no RocksDB.

mod cursor;
mod db;
pub mod keys;
mod migrate;
mod records;
mod writer;

pub use cursor::{CheckpointCursor, Cursor, EntryCursor, TreeCursor};
pub use db::{
    CF_CHECKPOINTS, CF_ENTRIES, CF_META, CF_STATE, CF_TREE, COLUMN_FAMILIES, Store, StoreReader,
};
pub use keys::{consent_key, holder_key, holder_prefix, licence_key};
pub use migrate::{Migration, SCHEMA_VERSION};
pub use records::{Records, State, Table, Write, put_empty, put_json};
pub use writer::{Announced, Committed, Holding, Pending, Receipt, Writer};

#[cfg(test)]
mod tests;
