//! The store against a real RocksDB directory: the bytes it writes are the documented layout,
//! byte for byte, and the typed reads find exactly their own records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rocksdb::{DB, IteratorMode, Options};

use super::*;
use crate::audit::entry::{Action, Actor, EntryDraft};
use crate::audit::merkle::{self, CompactRange};
use crate::codes::RegionCode;

fn draft(n: u64) -> EntryDraft {
    EntryDraft::new(
        Actor::named(format!("actor-{n}")),
        Action::LicenceVerify,
        "ok",
    )
}

/// Every record of a column family, read with RocksDB itself.
fn raw(dir: &std::path::Path, name: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let db = DB::open_cf_for_read_only(&Options::default(), dir, COLUMN_FAMILIES, false).unwrap();
    db.iterator_cf(db.cf_handle(name).unwrap(), IteratorMode::Start)
        .map(|r| {
            let (k, v) = r.unwrap();
            (k.into_vec(), v.into_vec())
        })
        .collect()
}

#[test]
fn a_group_commit_writes_the_documented_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = Store::open(&path).unwrap();
    store.set_origin("example.org/layout").unwrap();
    let writer = Writer::start(store, CompactRange::new(), 0).unwrap();
    let entries = (0..3)
        .map(|n| draft(n).prepare_keyed(None).unwrap())
        .collect();
    let writes = vec![
        Write::licence("L1", &serde_json::json!({"id": "L1"})).unwrap(),
        Write::holder_index("ab", "L1"),
    ];
    let receipt = writer.submit(entries, writes).unwrap().wait().unwrap();
    assert_eq!(receipt.index, 0);
    assert_eq!(writer.committed().size(), 3);
    let (size, root) = writer.committed().head().unwrap();
    assert_eq!(size, 3);
    writer.close();
    drop(writer);

    let stored = raw(&path, "audit_entries");
    let keys: Vec<&[u8]> = stored.iter().map(|(k, _)| k.as_slice()).collect();
    assert_eq!(
        keys,
        [
            &[0, 0, 0, 0, 0, 0, 0, 0][..],
            &[0, 0, 0, 0, 0, 0, 0, 1][..],
            &[0, 0, 0, 0, 0, 0, 0, 2][..]
        ]
    );
    let leaves: Vec<_> = stored.iter().map(|(_, v)| merkle::leaf_hash(v)).collect();
    assert_eq!(receipt.leaf_hashes, leaves);
    // Three leaves and the one completed pair: level ‖ index.
    let tree = raw(&path, "audit_tree");
    let tree_keys: Vec<&[u8]> = tree.iter().map(|(k, _)| k.as_slice()).collect();
    assert_eq!(
        tree_keys,
        [
            &[0, 0, 0, 0, 0, 0, 0, 0, 0][..],
            &[0, 0, 0, 0, 0, 0, 0, 0, 1][..],
            &[0, 0, 0, 0, 0, 0, 0, 0, 2][..],
            &[1, 0, 0, 0, 0, 0, 0, 0, 0][..],
        ]
    );
    assert_eq!(tree[3].1, merkle::node_hash(&leaves[0], &leaves[1]));
    assert_eq!(
        root,
        merkle::node_hash(&merkle::node_hash(&leaves[0], &leaves[1]), &leaves[2])
    );
    let meta = raw(&path, "audit_meta");
    let meta_keys: Vec<&[u8]> = meta.iter().map(|(k, _)| k.as_slice()).collect();
    assert_eq!(
        meta_keys,
        [&b"origin"[..], b"schema_version", b"size", b"time_ms"]
    );
    assert_eq!(meta[0].1, b"example.org/layout");
    assert_eq!(meta[1].1, SCHEMA_VERSION.to_be_bytes());
    assert_eq!(meta[2].1, 3u64.to_be_bytes());
    assert_eq!(meta[3].1.len(), 8);
    let state = raw(&path, "state");
    assert_eq!(
        state,
        [
            (b"holder/ab/L1".to_vec(), Vec::new()),
            (b"licence/L1".to_vec(), br#"{"id":"L1"}"#.to_vec()),
        ]
    );

    // Read back through the store, as a reopened log does.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.size().unwrap(), 3);
    assert_eq!(store.last_entry_index().unwrap(), Some(2));
    assert_eq!(store.root(3).unwrap(), root);
    assert_eq!(
        store.entry(1).unwrap().as_deref(),
        Some(stored[1].1.as_slice())
    );
    assert_eq!(
        store.origin().unwrap().as_deref(),
        Some("example.org/layout")
    );
    store.put_checkpoint(3, "a note\n").unwrap();
    assert_eq!(store.checkpoint(3).unwrap().as_deref(), Some("a note\n"));
    assert_eq!(store.checkpoints().unwrap(), [(3, "a note\n".to_owned())]);
    drop(store);
    assert_eq!(
        raw(&path, "audit_checkpoints"),
        [(vec![0, 0, 0, 0, 0, 0, 0, 3], b"a note\n".to_vec())]
    );
}

#[test]
fn typed_reads_find_their_own_records_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let region: RegionCode = "370900".parse().unwrap();
    let (evidence_key, evidence) =
        Write::witness_evidence("zhengzhao/370900", "00ff", &"e").unwrap();
    assert_eq!(evidence_key, "witness-evidence/zhengzhao/370900/00ff");
    store
        .write_records(vec![
            Write::licence("L1", &"licence").unwrap(),
            Write::licence("L10", &"licence 10").unwrap(),
            Write::holder_index("ab", "L1"),
            Write::holder_index("ab", "L3"),
            Write::holder_index("abc", "L2"),
            Write::holder_index("a", "L4"),
            Write::consent("C1", &"consent").unwrap(),
            Write::witnessed("zhengzhao/370900", &"w").unwrap(),
            evidence,
            Write::own_trust_list(&"own").unwrap(),
            Write::trust_list(&region, &"theirs").unwrap(),
        ])
        .unwrap();
    let state = State::of(&store);
    assert_eq!(state.licence("L1").unwrap().unwrap(), br#""licence""#);
    assert_eq!(state.licence("L10").unwrap().unwrap(), br#""licence 10""#);
    assert_eq!(state.licence("L2").unwrap(), None);
    assert_eq!(state.holder_licences("ab").unwrap(), ["L1", "L3"]);
    assert_eq!(state.holder_licences("abc").unwrap(), ["L2"]);
    assert_eq!(state.holder_licences("a").unwrap(), ["L4"]);
    assert!(state.holder_licences("b").unwrap().is_empty());
    assert_eq!(state.consent("C1").unwrap().unwrap(), br#""consent""#);
    assert_eq!(state.consent("L1").unwrap(), None);
    assert_eq!(
        state.witnessed("zhengzhao/370900").unwrap().unwrap(),
        br#""w""#
    );
    assert_eq!(state.witnessed("zhengzhao/3709").unwrap(), None);
    assert_eq!(state.witnessed_logs().unwrap(), [br#""w""#.to_vec()]);
    assert_eq!(state.witness_evidence().unwrap(), [br#""e""#.to_vec()]);
    assert_eq!(state.own_trust_list().unwrap().unwrap(), br#""own""#);
    assert_eq!(state.trust_list(&region).unwrap().unwrap(), br#""theirs""#);
    let other: RegionCode = "370100".parse().unwrap();
    assert_eq!(state.trust_list(&other).unwrap(), None);
    // A delete removes the record and nothing beside it.
    store
        .write_records(vec![Write {
            table: Table::State,
            key: licence_key("L1"),
            value: None,
        }])
        .unwrap();
    assert_eq!(state.licence("L1").unwrap(), None);
    assert!(state.licence("L10").unwrap().is_some());
}

#[test]
fn a_reader_refuses_a_directory_without_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let err = StoreReader::open(dir.path()).err().unwrap();
    assert!(err.to_string().contains("no audit store here"), "{err}");
}

/// A licence id with a valid check character (fixtures/data-v1/licences.txt).
const LICENCE: &str =
    "1.2.156.3005.2.11100000000013338W032.11370900004090218Y.0ECIX7WSEI5X5Y7RMNMO.001.Z";

/// An entry naming case `case` (if any) and licence [`LICENCE`] (if `licence`).
fn naming(n: u64, case: Option<&str>, licence: bool) -> EntryDraft {
    let mut d = draft(n);
    if let Some(c) = case {
        d.detail.insert("case".into(), c.into());
    }
    if licence {
        d.licence = Some(LICENCE.parse().unwrap());
    }
    d
}

/// Every index row of the store at `path`, as (kind, term, entry index).
fn index_rows(path: &std::path::Path) -> Vec<(String, String, u64)> {
    raw(path, "state")
        .into_iter()
        .filter_map(|(k, _)| {
            let k = String::from_utf8(k).unwrap();
            let (kind, rest) = k.split_once('/')?;
            if !kind.starts_with("entries-by-") {
                return None;
            }
            let (term, index) = rest.rsplit_once('/').unwrap();
            Some((
                kind.to_owned(),
                term.to_owned(),
                u64::from_str_radix(index, 16).unwrap(),
            ))
        })
        .collect()
}

/// The index rows the entries of the store at `path` call for, read from the entries.
fn rows_from_entries(path: &std::path::Path) -> Vec<(String, String, u64)> {
    let mut rows = Vec::new();
    for (k, v) in raw(path, "audit_entries") {
        let i = keys::index_of(&k).unwrap();
        let terms = crate::audit::entry::Entry::parse(&v).unwrap().index_terms();
        rows.extend(
            terms
                .cases
                .into_iter()
                .map(|c| ("entries-by-case".into(), c, i)),
        );
        rows.extend(
            terms
                .licences
                .into_iter()
                .map(|l| ("entries-by-licence".into(), l, i)),
        );
    }
    rows.sort();
    rows
}

/// Writes groups of entries, some naming a case or a licence, and closes the store.
fn write_named_entries(path: &std::path::Path) {
    let store = Store::open(path).unwrap();
    store.set_origin("example.org/index").unwrap();
    let writer = Writer::start(store, CompactRange::new(), 0).unwrap();
    let groups = [
        vec![naming(0, Some("C-1"), true), naming(1, None, false)],
        vec![naming(2, Some("C-2"), false)],
        vec![naming(3, Some("C-1"), false), naming(4, None, true)],
    ];
    for group in groups {
        let entries = group
            .iter()
            .map(|d| d.prepare_keyed(None).unwrap())
            .collect();
        writer.submit(entries, Vec::new()).unwrap().wait().unwrap();
    }
    writer.close();
}

#[test]
fn index_rows_are_written_with_their_entries_and_each_names_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    write_named_entries(&path);
    let mut rows = index_rows(&path);
    rows.sort();
    // Every row points at an entry that names it, and every entry's terms have their rows.
    assert_eq!(rows, rows_from_entries(&path));
    let reader = StoreReader::open(&path).unwrap();
    assert_eq!(reader.case_entries("C-1").unwrap(), [0, 3]);
    assert_eq!(reader.case_entries("C-2").unwrap(), [2]);
    assert_eq!(reader.case_entries("C").unwrap(), Vec::<u64>::new());
    assert_eq!(reader.licence_entries(LICENCE).unwrap(), [0, 4]);
    assert_eq!(reader.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn a_version_1_directory_is_migrated_at_open_and_a_second_open_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    write_named_entries(&path);
    // Back to what the previous version wrote: no index rows, no schema version.
    {
        let db = DB::open_cf(&Options::default(), &path, COLUMN_FAMILIES).unwrap();
        let state = db.cf_handle("state").unwrap();
        for (kind, term, i) in index_rows(&path) {
            db.delete_cf(state, format!("{kind}/{term}/{i:016x}"))
                .unwrap();
        }
        db.delete_cf(db.cf_handle("audit_meta").unwrap(), b"schema_version")
            .unwrap();
    }
    assert!(index_rows(&path).is_empty());
    let reader = StoreReader::open(&path).unwrap();
    assert_eq!(
        reader.schema_version().unwrap(),
        1,
        "read-only: not migrated"
    );
    drop(reader);

    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.migrated(),
        Some(Migration {
            from: 1,
            to: SCHEMA_VERSION,
            entries_indexed: 5
        })
    );
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    drop(store);
    let mut rows = index_rows(&path);
    rows.sort();
    assert_eq!(rows, rows_from_entries(&path));
    let store = Store::open(&path).unwrap();
    assert_eq!(store.migrated(), None, "the second open does nothing");
}

#[test]
fn a_newer_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    drop(Store::open(&path).unwrap());
    {
        let db = DB::open_cf(&Options::default(), &path, COLUMN_FAMILIES).unwrap();
        let meta = db.cf_handle("audit_meta").unwrap();
        db.put_cf(meta, b"schema_version", (SCHEMA_VERSION + 1).to_be_bytes())
            .unwrap();
    }
    let want = format!(
        "the data directory is of store schema version {}, newer than this zhengzhao knows (up \
         to {SCHEMA_VERSION}): it was written by a newer zhengzhao; open it with that version or \
         a later one",
        SCHEMA_VERSION + 1
    );
    assert_eq!(Store::open(&path).err().unwrap().to_string(), want);
    assert_eq!(StoreReader::open(&path).err().unwrap().to_string(), want);
}
