//! The store's schema versions, and the migration of a data directory written by an older
//! version when it is opened for writing (docs/audit-format.md, "Schema versions").
//!
//! The version is the `schema_version` key of `audit_meta`; a directory without it is
//! version 1. Version 2 added the entry index (`entries-by-case/…`, `entries-by-licence/…` in
//! `state`, written with each entry from then on); the migration from 1 writes the rows of
//! every entry already in the log, in synced batches that may be written again without harm,
//! and the version last, so that a crash during the migration leaves version 1, migrated
//! again at the next open. A directory of a newer version than this build knows is refused.

use rocksdb::{DB, IteratorMode, WriteBatch};

use super::db::{CF_ENTRIES, CF_META, CF_STATE, Store, cf, db_err, synced};
use super::keys::{self, META_SCHEMA_VERSION};
use crate::audit::entry::Entry;
use crate::audit::error::AuditError;

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 2;

/// Entries whose index rows one synced batch of the migration carries.
const BACKFILL_BATCH: usize = 1024;

/// The schema version `db` records (1 when it records none).
pub(super) fn stored_version(db: &DB) -> Result<u32, AuditError> {
    match db
        .get_cf(cf(db, CF_META)?, META_SCHEMA_VERSION)
        .map_err(db_err)?
    {
        None => Ok(1),
        Some(b) => {
            let b: [u8; 4] = b.as_slice().try_into().map_err(|_| {
                AuditError::Inconsistent("the stored schema version is not 4 bytes".into())
            })?;
            Ok(u32::from_be_bytes(b))
        }
    }
}

/// Refuses a version newer than [`SCHEMA_VERSION`].
pub(super) fn known(version: u32) -> Result<u32, AuditError> {
    if version > SCHEMA_VERSION {
        return Err(AuditError::NewerSchema {
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    Ok(version)
}

/// What opening did to the directory's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The version found.
    pub from: u32,
    /// The version now recorded ([`SCHEMA_VERSION`]).
    pub to: u32,
    /// Entries whose index rows were written.
    pub entries_indexed: u64,
}

/// Brings `store` to [`SCHEMA_VERSION`]: `None` when it already was.
pub(super) fn migrate(store: &Store) -> Result<Option<Migration>, AuditError> {
    let db = &store.db;
    let from = known(stored_version(db)?)?;
    if from == SCHEMA_VERSION {
        return Ok(None);
    }
    // Version 1 to 2: the index rows of every entry in the log.
    let state = cf(db, CF_STATE)?;
    let mut batch = WriteBatch::default();
    let mut in_batch = 0usize;
    let mut indexed = 0u64;
    for item in db.iterator_cf(cf(db, CF_ENTRIES)?, IteratorMode::Start) {
        let (k, v) = item.map_err(db_err)?;
        let index = keys::index_of(&k)
            .ok_or_else(|| AuditError::Inconsistent("an entry key is not 8 bytes".into()))?;
        let entry = Entry::parse(&v).map_err(|e| {
            AuditError::Inconsistent(format!("entry {index}, while indexing it: {e}"))
        })?;
        if entry.index != index {
            return Err(AuditError::Inconsistent(format!(
                "the entry stored at {index} says it is entry {}",
                entry.index
            )));
        }
        for key in keys::entry_index_keys(&entry.index_terms(), index) {
            batch.put_cf(state, key, []);
        }
        indexed += 1;
        in_batch += 1;
        if in_batch == BACKFILL_BATCH {
            db.write_opt(std::mem::take(&mut batch), &synced())
                .map_err(db_err)?;
            in_batch = 0;
        }
    }
    // The version last, with the last rows: a crash before this leaves version 1.
    batch.put_cf(
        cf(db, CF_META)?,
        META_SCHEMA_VERSION,
        SCHEMA_VERSION.to_be_bytes(),
    );
    db.write_opt(batch, &synced()).map_err(db_err)?;
    tracing::info!(
        from,
        to = SCHEMA_VERSION,
        entries = indexed,
        "store schema migrated"
    );
    Ok(Some(Migration {
        from,
        to: SCHEMA_VERSION,
        entries_indexed: indexed,
    }))
}
