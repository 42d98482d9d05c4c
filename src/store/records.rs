//! The node's own records in the `state` column family: writes made in the batch of an audit
//! entry, and typed reads by record kind. Values are the caller's (JSON for every record the
//! node keeps, empty for an index entry); keys are built here only.

use serde::Serialize;

use super::db::Store;
use super::keys;
use crate::audit::error::AuditError;
use crate::codes::RegionCode;

/// Key-value records, in key order.
pub type Records = Vec<(Vec<u8>, Vec<u8>)>;

/// A table of the node's own records that may be written together with an audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// The `state` column family.
    State,
}

/// One write to the node's own records, made in the same batch as an audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Where.
    pub table: Table,
    /// The key.
    pub key: Vec<u8>,
    /// The new value, or `None` to delete.
    pub value: Option<Vec<u8>>,
}

/// A write of a JSON record to the state table.
pub fn put_json<T: Serialize>(key: Vec<u8>, value: &T) -> Result<Write, serde_json::Error> {
    Ok(Write {
        table: Table::State,
        key,
        value: Some(serde_json::to_vec(value)?),
    })
}

/// A write of an empty value (an index entry).
pub fn put_empty(key: Vec<u8>) -> Write {
    Write {
        table: Table::State,
        key,
        value: Some(Vec::new()),
    }
}

impl Write {
    /// Stores a licence record (JSON) under its id.
    pub fn licence<T: Serialize>(id: &str, record: &T) -> Result<Write, serde_json::Error> {
        put_json(keys::licence_key(id), record)
    }

    /// Stores the OFD 原件 of licence `id` (the file's bytes, as issued).
    pub fn licence_ofd(id: &str, ofd: Vec<u8>) -> Write {
        Write {
            table: Table::State,
            key: keys::licence_ofd_key(id),
            value: Some(ofd),
        }
    }

    /// Adds licence `id` to the index of the holder of keyed hash `holder_hash`.
    pub fn holder_index(holder_hash: &str, id: &str) -> Write {
        put_empty(keys::holder_key(holder_hash, id))
    }

    /// Stores a consent record (JSON) under its id.
    pub fn consent<T: Serialize>(id: &str, record: &T) -> Result<Write, serde_json::Error> {
        put_json(keys::consent_key(id), record)
    }

    /// Stores the witness's record (JSON) of the partner log `origin`.
    pub fn witnessed<T: Serialize>(origin: &str, record: &T) -> Result<Write, serde_json::Error> {
        put_json(keys::witnessed_key(origin), record)
    }

    /// Keeps evidence (JSON) against the partner log `origin`, under the SHA-256 (hex) of the
    /// note that contradicts it. The key is returned too: the audit entry names it.
    pub fn witness_evidence<T: Serialize>(
        origin: &str,
        note_sha256: &str,
        record: &T,
    ) -> Result<(String, Write), serde_json::Error> {
        let key = keys::witness_evidence_key(origin, note_sha256);
        let write = put_json(key.clone().into_bytes(), record)?;
        Ok((key, write))
    }

    /// Stores this node's own trust-list record (JSON).
    pub fn own_trust_list<T: Serialize>(record: &T) -> Result<Write, serde_json::Error> {
        put_json(keys::OWN_TRUST_LIST_KEY.to_vec(), record)
    }

    /// Stores the last trust list (JSON) kept from the partner `region`.
    pub fn trust_list<T: Serialize>(
        region: &RegionCode,
        record: &T,
    ) -> Result<Write, serde_json::Error> {
        put_json(keys::trust_list_key(region), record)
    }
}

/// Typed reads of the node's own records, by kind: callers name a record, never a key.
#[derive(Clone, Copy)]
pub struct State<'a>(&'a Store);

impl<'a> State<'a> {
    /// The records of `store`.
    pub fn of(store: &'a Store) -> State<'a> {
        State(store)
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, AuditError> {
        self.0.get(Table::State, key)
    }

    fn scan(&self, prefix: &[u8]) -> Result<Records, AuditError> {
        self.0.scan(Table::State, prefix)
    }

    /// The record of licence `id`.
    pub fn licence(&self, id: &str) -> Result<Option<Vec<u8>>, AuditError> {
        self.get(&keys::licence_key(id))
    }

    /// The OFD 原件 of licence `id`, if it was issued with one.
    pub fn licence_ofd(&self, id: &str) -> Result<Option<Vec<u8>>, AuditError> {
        self.get(&keys::licence_ofd_key(id))
    }

    /// The ids of the licences indexed under the holder of keyed hash `holder_hash`, in key
    /// order.
    pub fn holder_licences(&self, holder_hash: &str) -> Result<Vec<String>, AuditError> {
        let records = self.scan(&keys::holder_prefix(holder_hash))?;
        Ok(records
            .iter()
            .filter_map(|(k, _)| keys::holder_licence_id(k))
            .collect())
    }

    /// The record of consent `id`.
    pub fn consent(&self, id: &str) -> Result<Option<Vec<u8>>, AuditError> {
        self.get(&keys::consent_key(id))
    }

    /// The witness's record of the partner log `origin`.
    pub fn witnessed(&self, origin: &str) -> Result<Option<Vec<u8>>, AuditError> {
        self.get(&keys::witnessed_key(origin))
    }

    /// Every witnessed log's record, in key order.
    pub fn witnessed_logs(&self) -> Result<Vec<Vec<u8>>, AuditError> {
        Ok(values(self.scan(keys::WITNESSED_PREFIX)?))
    }

    /// Every piece of witness evidence kept, in key order.
    pub fn witness_evidence(&self) -> Result<Vec<Vec<u8>>, AuditError> {
        Ok(values(self.scan(keys::WITNESS_EVIDENCE_PREFIX)?))
    }

    /// This node's own trust-list record.
    pub fn own_trust_list(&self) -> Result<Option<Vec<u8>>, AuditError> {
        self.get(keys::OWN_TRUST_LIST_KEY)
    }

    /// The last trust list kept from the partner `region`.
    pub fn trust_list(&self, region: &RegionCode) -> Result<Option<Vec<u8>>, AuditError> {
        self.get(&keys::trust_list_key(region))
    }
}

fn values(records: Records) -> Vec<Vec<u8>> {
    records.into_iter().map(|(_, v)| v).collect()
}
