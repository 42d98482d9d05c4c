//! Cursors over a read-only store, for the auditor's replay: they stream a column family in key
//! order, verifying checksums and leaving the block cache alone, and hand out keys decoded.

use rocksdb::{DB, DBRawIteratorWithThreadMode, ReadOptions};

use super::db::{CF_CHECKPOINTS, CF_ENTRIES, CF_TREE, StoreReader, cf};
use super::keys;
use crate::audit::error::AuditError;
use crate::audit::merkle::NodeId;

type RawIter<'a> = DBRawIteratorWithThreadMode<'a, DB>;

fn read_opts() -> ReadOptions {
    let mut o = ReadOptions::default();
    o.set_verify_checksums(true);
    o.fill_cache(false);
    o
}

/// A cursor over one column family, decoding its keys with `K`.
pub struct Cursor<'a, K> {
    it: RawIter<'a>,
    decode: fn(&[u8]) -> Option<K>,
}

/// A cursor over the entries: keys decode to entry indexes.
pub type EntryCursor<'a> = Cursor<'a, u64>;
/// A cursor over the checkpoints: keys decode to tree sizes.
pub type CheckpointCursor<'a> = Cursor<'a, u64>;
/// A cursor over the tree hashes: keys decode to the subtree they name.
pub type TreeCursor<'a> = Cursor<'a, NodeId>;

impl<K> Cursor<'_, K> {
    /// Whether the cursor is on a record.
    pub fn valid(&self) -> bool {
        self.it.valid()
    }

    /// The record under the cursor: its decoded key (`None` if the key is not one this column
    /// family should hold) and its value. `None` at the end or after an error
    /// ([`Cursor::status`] tells which).
    pub fn current(&self) -> Option<(Option<K>, &[u8])> {
        let (k, v) = self.it.item()?;
        Some(((self.decode)(k), v))
    }

    /// Moves to the next record.
    pub fn next(&mut self) {
        self.it.next();
    }

    /// Moves to the first record.
    pub fn seek_to_first(&mut self) {
        self.it.seek_to_first();
    }

    /// Whether the cursor stopped on an error, and which.
    pub fn status(&self) -> Result<(), AuditError> {
        self.it
            .status()
            .map_err(|e| AuditError::Db(e.into_string()))
    }
}

impl Cursor<'_, u64> {
    /// Moves to the record of `n` (an entry index or a tree size), or the first after it.
    pub fn seek(&mut self, n: u64) {
        self.it.seek(keys::index_key(n));
    }
}

impl Cursor<'_, NodeId> {
    /// Moves to the first hash of `level`, or the first after it.
    pub fn seek_level(&mut self, level: u8) {
        self.it.seek(keys::tree_level_start(level));
    }
}

impl StoreReader {
    fn cursor<K>(
        &self,
        name: &str,
        decode: fn(&[u8]) -> Option<K>,
    ) -> Result<Cursor<'_, K>, AuditError> {
        let db = self.db();
        Ok(Cursor {
            it: db.raw_iterator_cf_opt(cf(db, name)?, read_opts()),
            decode,
        })
    }

    /// A cursor over the entries, not yet positioned.
    pub fn entry_cursor(&self) -> Result<EntryCursor<'_>, AuditError> {
        self.cursor(CF_ENTRIES, keys::index_of)
    }

    /// A cursor over the checkpoints, not yet positioned.
    pub fn checkpoint_cursor(&self) -> Result<CheckpointCursor<'_>, AuditError> {
        self.cursor(CF_CHECKPOINTS, keys::index_of)
    }

    /// A cursor over the tree hashes, not yet positioned.
    pub fn tree_cursor(&self) -> Result<TreeCursor<'_>, AuditError> {
        self.cursor(CF_TREE, keys::node_of)
    }
}
