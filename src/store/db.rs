//! Opening the database, its column families and options, and every read.

use std::path::Path;

use rocksdb::{
    BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType, Direction,
    IteratorMode, Options, ReadOptions, WriteBatch, WriteOptions,
};

use super::keys::{self, META_ORIGIN, META_SIZE, META_TIME_MS};
use super::records::{Records, Table, Write};
use crate::audit::error::AuditError;
use crate::audit::merkle::{Hash, NodeId, ProofPlan};

/// Column family of entries.
pub const CF_ENTRIES: &str = "audit_entries";
/// Column family of perfect-subtree hashes.
pub const CF_TREE: &str = "audit_tree";
/// Column family of signed checkpoints.
pub const CF_CHECKPOINTS: &str = "audit_checkpoints";
/// Column family of log metadata.
pub const CF_META: &str = "audit_meta";
/// Column family of the node's own records.
pub const CF_STATE: &str = "state";
/// Every column family, in the order they are opened.
pub const COLUMN_FAMILIES: [&str; 5] = [CF_ENTRIES, CF_TREE, CF_CHECKPOINTS, CF_META, CF_STATE];

/// The block cache of a read-only reader, shared by its column families.
const READER_CACHE_BYTES: usize = 8 << 20;
/// Table files a read-only reader keeps open at once.
const READER_OPEN_FILES: i32 = 32;

pub(super) fn db_err(e: rocksdb::Error) -> AuditError {
    AuditError::Db(e.into_string())
}

pub(super) fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a ColumnFamily, AuditError> {
    db.cf_handle(name)
        .ok_or_else(|| AuditError::Inconsistent(format!("column family {name} is missing")))
}

fn u64_of(bytes: &[u8], what: &str) -> Result<u64, AuditError> {
    keys::index_of(bytes).ok_or_else(|| AuditError::Inconsistent(format!("{what} is not 8 bytes")))
}

pub(super) fn synced() -> WriteOptions {
    let mut wo = WriteOptions::default();
    wo.set_sync(true);
    wo
}

fn db_options() -> Options {
    let mut o = Options::default();
    o.create_if_missing(true);
    o.create_missing_column_families(true);
    o.set_paranoid_checks(true);
    o.set_max_background_jobs(2);
    // The small column families (meta, checkpoints, state) rarely fill a memtable; without a cap
    // they would keep every write-ahead log file alive, and a read-only open replays them all.
    o.set_max_total_wal_size(64 << 20);
    o
}

fn cf_descriptors() -> Vec<ColumnFamilyDescriptor> {
    COLUMN_FAMILIES
        .iter()
        .map(|&name| {
            let mut o = Options::default();
            if name == CF_ENTRIES || name == CF_STATE {
                o.set_compression_type(DBCompressionType::Lz4);
            } else {
                o.set_compression_type(DBCompressionType::None);
            }
            let mut t = BlockBasedOptions::default();
            t.set_block_size(16 * 1024);
            o.set_block_based_table_factory(&t);
            ColumnFamilyDescriptor::new(name, o)
        })
        .collect()
}

/// The node's database, open for reading and writing. Only the log writes to it: the group
/// commit writer (entries, tree, size, the callers' records), and the log's opening and signing
/// (origin, checkpoints).
pub struct Store {
    pub(super) db: DB,
    /// What opening did to an older directory's schema, if anything.
    migrated: Option<super::migrate::Migration>,
}

/// Read access to a store: used by the log itself and, read-only, by the auditor's tools.
pub struct StoreReader {
    db: DB,
}

impl Store {
    /// Opens (or creates) the database in `dir`, with every column family, and migrates a
    /// directory of an older schema version (`store::migrate`); refuses one of a newer
    /// version ([`AuditError::NewerSchema`]).
    pub fn open(dir: &Path) -> Result<Store, AuditError> {
        // Made here rather than by RocksDB, whose message for a directory it cannot make
        // carries the operating system's error in its debugging form.
        std::fs::create_dir_all(dir).map_err(|e| {
            AuditError::Io(format!(
                "{}: cannot make the data directory: {e}",
                dir.display()
            ))
        })?;
        let db = DB::open_cf_descriptors(&db_options(), dir, cf_descriptors()).map_err(db_err)?;
        let mut store = Store { db, migrated: None };
        store.migrated = super::migrate::migrate(&store)?;
        Ok(store)
    }

    /// What opening did to the directory's schema: `None` when it was already current (or
    /// new).
    pub fn migrated(&self) -> Option<super::migrate::Migration> {
        self.migrated
    }

    /// The schema version the directory records.
    pub fn schema_version(&self) -> Result<u32, AuditError> {
        super::migrate::stored_version(&self.db)
    }

    /// The origin recorded when the store was created.
    pub fn origin(&self) -> Result<Option<String>, AuditError> {
        meta_origin(&self.db)
    }

    /// Records the log's origin, synced.
    pub fn set_origin(&self, origin: &str) -> Result<(), AuditError> {
        self.db
            .put_cf_opt(
                cf(&self.db, CF_META)?,
                META_ORIGIN,
                origin.as_bytes(),
                &synced(),
            )
            .map_err(db_err)
    }

    /// Entries recorded as appended.
    pub fn size(&self) -> Result<u64, AuditError> {
        meta_size(&self.db)
    }

    /// The last entry's time as recorded (milliseconds since the epoch; 0 if none).
    pub fn time_ms(&self) -> Result<i64, AuditError> {
        match self
            .db
            .get_cf(cf(&self.db, CF_META)?, META_TIME_MS)
            .map_err(db_err)?
        {
            Some(b) => Ok(u64_of(&b, "stored time")? as i64),
            None => Ok(0),
        }
    }

    /// The index of the last entry stored, if any.
    pub fn last_entry_index(&self) -> Result<Option<u64>, AuditError> {
        let mut it = self
            .db
            .iterator_cf(cf(&self.db, CF_ENTRIES)?, IteratorMode::End);
        let last = it.next().transpose().map_err(db_err)?;
        last.map(|(k, _)| u64_of(&k, "entry key")).transpose()
    }

    /// The stored hashes of the given perfect subtrees (one multi-get).
    pub fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, AuditError> {
        read_nodes(&self.db, ids)
    }

    /// The hashes a proof plan names, read and combined into the proof.
    pub fn proof(&self, plan: &ProofPlan) -> Result<Vec<Hash>, AuditError> {
        plan_hashes(&self.db, plan)
    }

    /// The root of the first `size` entries, from the stored hashes.
    pub fn root(&self, size: u64) -> Result<Hash, AuditError> {
        root_from_db(&self.db, size)
    }

    /// Every stored checkpoint note, by size, smallest first.
    pub fn checkpoints(&self) -> Result<Vec<(u64, String)>, AuditError> {
        stored_checkpoints(&self.db)
    }

    /// The stored checkpoint of exactly `size` entries, if one was signed.
    pub fn checkpoint(&self, size: u64) -> Result<Option<String>, AuditError> {
        let v = self
            .db
            .get_cf(cf(&self.db, CF_CHECKPOINTS)?, keys::index_key(size))
            .map_err(db_err)?;
        v.map(|b| {
            String::from_utf8(b)
                .map_err(|_| AuditError::Inconsistent("checkpoint is not UTF-8".into()))
        })
        .transpose()
    }

    /// Stores the checkpoint note of `size` entries, synced.
    pub fn put_checkpoint(&self, size: u64, note: &str) -> Result<(), AuditError> {
        self.db
            .put_cf_opt(
                cf(&self.db, CF_CHECKPOINTS)?,
                keys::index_key(size),
                note.as_bytes(),
                &synced(),
            )
            .map_err(db_err)
    }

    /// The exact bytes of entry `index`, if stored.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, AuditError> {
        read_entry(&self.db, index)
    }

    /// Entries `[from, to)` in order with their indexes, stopping before the entry that would
    /// make their lines (each entry's bytes and a newline) more than `max_bytes` in all; the
    /// first entry is always included.
    pub fn entries_within(
        &self,
        from: u64,
        to: u64,
        max_bytes: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, AuditError> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        if from >= to {
            return Ok(out);
        }
        let db = &self.db;
        let start = keys::index_key(from);
        let mode = IteratorMode::From(&start, Direction::Forward);
        for item in db.iterator_cf_opt(cf(db, CF_ENTRIES)?, ReadOptions::default(), mode) {
            let (k, v) = item.map_err(db_err)?;
            let i = u64_of(&k, "entry key")?;
            if i >= to {
                break;
            }
            bytes = bytes.saturating_add(v.len() + 1);
            if bytes > max_bytes && !out.is_empty() {
                break;
            }
            out.push((i, v.into_vec()));
        }
        Ok(out)
    }

    /// A record of the node's own.
    pub fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, AuditError> {
        let Table::State = table;
        self.db.get_cf(cf(&self.db, CF_STATE)?, key).map_err(db_err)
    }

    /// Records of the node's own whose keys start with `prefix`, in key order.
    pub fn scan(&self, table: Table, prefix: &[u8]) -> Result<Records, AuditError> {
        let Table::State = table;
        let db = &self.db;
        let mut out = Vec::new();
        for item in db.iterator_cf(
            cf(db, CF_STATE)?,
            IteratorMode::From(prefix, Direction::Forward),
        ) {
            let (k, v) = item.map_err(db_err)?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.into_vec(), v.into_vec()));
        }
        Ok(out)
    }

    /// Writes records of the node's own alone, synced, in one batch.
    pub(super) fn write_records(&self, writes: Vec<Write>) -> Result<(), AuditError> {
        let state = cf(&self.db, CF_STATE)?;
        let mut batch = WriteBatch::default();
        for w in writes {
            let Table::State = w.table;
            match w.value {
                Some(v) => batch.put_cf(state, &w.key, v),
                None => batch.delete_cf(state, &w.key),
            }
        }
        self.db.write_opt(batch, &synced()).map_err(db_err)
    }

    /// Flushes the memtables, so the write-ahead log is not replayed at the next open.
    pub fn flush(&self) {
        let db = &self.db;
        let cfs: Vec<&ColumnFamily> = COLUMN_FAMILIES
            .iter()
            .filter_map(|n| db.cf_handle(n))
            .collect();
        if let Err(e) = db.flush_cfs_opt(&cfs, &rocksdb::FlushOptions::default()) {
            tracing::warn!(error = %e, "flushing the audit store on close failed; the log replays at the next open");
        }
    }
}

impl StoreReader {
    /// Open a data directory read-only. Refuses a directory that holds no zhengzhao store.
    /// Each error names the directory.
    pub fn open(dir: &Path) -> Result<StoreReader, AuditError> {
        if !dir.join("CURRENT").exists() {
            return Err(AuditError::Io(format!(
                "{}: no audit store here",
                dir.display()
            )));
        }
        let mut o = Options::default();
        o.set_paranoid_checks(true);
        o.set_max_open_files(READER_OPEN_FILES);
        // Index blocks go through one small cache instead of staying with each open table, so
        // that a reader's memory does not grow with the store.
        let cache = rocksdb::Cache::new_lru_cache(READER_CACHE_BYTES);
        let cfs = COLUMN_FAMILIES.iter().map(|&name| {
            let mut t = BlockBasedOptions::default();
            t.set_block_cache(&cache);
            t.set_cache_index_and_filter_blocks(true);
            let mut o = Options::default();
            o.set_block_based_table_factory(&t);
            ColumnFamilyDescriptor::new(name, o)
        });
        let db = DB::open_cf_descriptors_read_only(&o, dir, cfs, false)
            .map_err(|e| AuditError::Db(format!("{}: {}", dir.display(), e.into_string())))?;
        super::migrate::known(super::migrate::stored_version(&db)?)?;
        Ok(StoreReader { db })
    }

    /// The schema version the directory records (1: written before there was one, and not
    /// opened for writing since; it has no entry index).
    pub fn schema_version(&self) -> Result<u32, AuditError> {
        super::migrate::stored_version(&self.db)
    }

    /// The indexes of the entries that name case `case`, in order.
    pub fn case_entries(&self, case: &str) -> Result<Vec<u64>, AuditError> {
        indexed(&self.db, &keys::case_entries_prefix(case))
    }

    /// The indexes of the entries that name licence `licence` (an id, or a `<licence:HASH>`
    /// token), in order.
    pub fn licence_entries(&self, licence: &str) -> Result<Vec<u64>, AuditError> {
        indexed(&self.db, &keys::licence_entries_prefix(licence))
    }

    pub(super) fn db(&self) -> &DB {
        &self.db
    }

    /// The origin recorded when the store was created.
    pub fn origin(&self) -> Result<Option<String>, AuditError> {
        meta_origin(&self.db)
    }

    /// Entries recorded as appended.
    pub fn size(&self) -> Result<u64, AuditError> {
        meta_size(&self.db)
    }

    /// Every stored checkpoint note, by size, smallest first.
    pub fn checkpoints(&self) -> Result<Vec<(u64, String)>, AuditError> {
        stored_checkpoints(&self.db)
    }

    /// The newest stored checkpoint note and its size.
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, AuditError> {
        let mut it = self
            .db
            .iterator_cf(cf(&self.db, CF_CHECKPOINTS)?, IteratorMode::End);
        let Some(item) = it.next() else {
            return Ok(None);
        };
        let (k, v) = item.map_err(db_err)?;
        let size = u64_of(&k, "checkpoint key")?;
        let note = String::from_utf8(v.into_vec()).map_err(|_| {
            AuditError::Inconsistent(format!("checkpoint at size {size} is not UTF-8"))
        })?;
        Ok(Some((size, note)))
    }

    /// The exact bytes of entry `index`, if stored.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, AuditError> {
        read_entry(&self.db, index)
    }

    /// Inclusion proof of entry `index` in the tree of `size` entries, from stored hashes.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, AuditError> {
        let stored = self.size()?;
        if size > stored {
            return Err(AuditError::Beyond {
                what: "tree size",
                asked: size,
                size: stored,
            });
        }
        plan_hashes(&self.db, &ProofPlan::inclusion(index, size)?)
    }

    /// Visit entries `[from, to)` in order with their exact bytes; stops at the first gap.
    pub fn for_each_entry(
        &self,
        from: u64,
        to: u64,
        mut visit: impl FnMut(u64, &[u8]) -> Result<(), AuditError>,
    ) -> Result<u64, AuditError> {
        let mut it = self.db.raw_iterator_cf(cf(&self.db, CF_ENTRIES)?);
        it.seek(keys::index_key(from));
        let mut next = from;
        while next < to {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if u64_of(k, "entry key")? != next {
                return Err(AuditError::Inconsistent(format!("entry {next} is missing")));
            }
            visit(next, v)?;
            next += 1;
            it.next();
        }
        it.status().map_err(db_err)?;
        Ok(next - from)
    }
}

/// The entry indexes of the index rows under `prefix`, in order.
fn indexed(db: &DB, prefix: &[u8]) -> Result<Vec<u64>, AuditError> {
    let mut out = Vec::new();
    for item in db.iterator_cf(
        cf(db, CF_STATE)?,
        IteratorMode::From(prefix, Direction::Forward),
    ) {
        let (k, _) = item.map_err(db_err)?;
        if !k.starts_with(prefix) {
            break;
        }
        let i = keys::indexed_entry(&k).ok_or_else(|| {
            AuditError::Inconsistent(format!(
                "an index row's key does not end with an entry index: {}",
                String::from_utf8_lossy(&k)
            ))
        })?;
        out.push(i);
    }
    Ok(out)
}

fn read_entry(db: &DB, index: u64) -> Result<Option<Vec<u8>>, AuditError> {
    db.get_cf(cf(db, CF_ENTRIES)?, keys::index_key(index))
        .map_err(db_err)
}

fn meta_origin(db: &DB) -> Result<Option<String>, AuditError> {
    let v = db.get_cf(cf(db, CF_META)?, META_ORIGIN).map_err(db_err)?;
    v.map(|b| {
        String::from_utf8(b).map_err(|_| AuditError::Inconsistent("origin is not UTF-8".into()))
    })
    .transpose()
}

fn meta_size(db: &DB) -> Result<u64, AuditError> {
    match db.get_cf(cf(db, CF_META)?, META_SIZE).map_err(db_err)? {
        None => Ok(0),
        Some(b) => u64_of(&b, "stored size"),
    }
}

fn stored_checkpoints(db: &DB) -> Result<Vec<(u64, String)>, AuditError> {
    let mut out = Vec::new();
    for item in db.iterator_cf(cf(db, CF_CHECKPOINTS)?, IteratorMode::Start) {
        let (k, v) = item.map_err(db_err)?;
        let size = u64_of(&k, "checkpoint key")?;
        let note = String::from_utf8(v.into_vec()).map_err(|_| {
            AuditError::Inconsistent(format!("checkpoint at size {size} is not UTF-8"))
        })?;
        out.push((size, note));
    }
    Ok(out)
}

/// Read the given perfect nodes (one multi-get).
fn read_nodes(db: &DB, ids: &[NodeId]) -> Result<Vec<Hash>, AuditError> {
    let tree = cf(db, CF_TREE)?;
    let keys: Vec<[u8; 9]> = ids.iter().map(|&id| keys::tree_key(id)).collect();
    let values = db.batched_multi_get_cf(tree, keys.iter(), false);
    let mut out = Vec::with_capacity(ids.len());
    for (id, v) in ids.iter().zip(values) {
        let v = v.map_err(db_err)?.ok_or(AuditError::Inconsistent(format!(
            "tree hash at level {} index {} is missing",
            id.level, id.index
        )))?;
        let h: Hash = v.as_ref().try_into().map_err(|_| {
            AuditError::Inconsistent(format!(
                "tree hash at level {} index {} is not 32 bytes",
                id.level, id.index
            ))
        })?;
        out.push(h);
    }
    Ok(out)
}

fn plan_hashes(db: &DB, plan: &ProofPlan) -> Result<Vec<Hash>, AuditError> {
    let nodes = read_nodes(db, plan.nodes())?;
    Ok(plan.finish(&nodes)?)
}

fn root_from_db(db: &DB, size: u64) -> Result<Hash, AuditError> {
    let plan = ProofPlan::root(size);
    let nodes = read_nodes(db, plan.nodes())?;
    Ok(plan.finish_root(&nodes)?)
}
