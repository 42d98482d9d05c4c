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
    assert_eq!(meta_keys, [&b"origin"[..], b"size", b"time_ms"]);
    assert_eq!(meta[0].1, b"example.org/layout");
    assert_eq!(meta[1].1, 3u64.to_be_bytes());
    assert_eq!(meta[2].1.len(), 8);
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
