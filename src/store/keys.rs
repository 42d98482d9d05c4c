//! Every key the store writes, encoded and decoded in one place.
//!
//! The log's column families use fixed-width big-endian integers, so that key order is index
//! order. The `state` column family uses text keys: a kind, a slash, and the record's name
//! (`licence/<id>`, `holder/<hash>/<id>`, …). A prefix scan over a kind ends its prefix with the
//! slash, so a name that is a prefix of another (`holder/ab/` and `holder/abc/`) never reads the
//! other's records.

use crate::audit::entry::IndexTerms;
use crate::audit::merkle::NodeId;
use crate::codes::RegionCode;

/// Key of entry `index` in `audit_entries`, and of the checkpoint of tree size `size` in
/// `audit_checkpoints`: the number, big-endian.
pub(crate) fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// The number an `audit_entries` or `audit_checkpoints` key stands for; `None` if the key is not
/// 8 bytes.
pub(crate) fn index_of(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}

/// Key of a perfect subtree's hash in `audit_tree`: level ‖ index, big-endian.
pub(crate) fn tree_key(id: NodeId) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = id.level;
    k[1..].copy_from_slice(&id.index.to_be_bytes());
    k
}

/// Where the tree hashes of `level` start in `audit_tree`.
pub(crate) fn tree_level_start(level: u8) -> [u8; 1] {
    [level]
}

/// The subtree an `audit_tree` key names; `None` if the key is not 9 bytes.
pub(crate) fn node_of(key: &[u8]) -> Option<NodeId> {
    let (&level, index) = key.split_first()?;
    Some(NodeId {
        level,
        index: index_of(index)?,
    })
}

/// `audit_meta`: the log's origin line (UTF-8).
pub(crate) const META_ORIGIN: &[u8] = b"origin";
/// `audit_meta`: entries appended (u64, big-endian).
pub(crate) const META_SIZE: &[u8] = b"size";
/// `audit_meta`: the last entry's time (milliseconds since the epoch, i64 as u64, big-endian).
pub(crate) const META_TIME_MS: &[u8] = b"time_ms";

/// `audit_meta`: the store's schema version (u32, big-endian); absent: version 1, the layout
/// before there was one.
pub(crate) const META_SCHEMA_VERSION: &[u8] = b"schema_version";

/// Key prefix of the index of the entries that name case `case`: `entries-by-case/<case>/`.
pub fn case_entries_prefix(case: &str) -> Vec<u8> {
    format!("entries-by-case/{case}/").into_bytes()
}

/// Key of one row of the case index: `entries-by-case/<case>/<entry index, 16 hex digits>`.
pub fn case_entry_key(case: &str, index: u64) -> Vec<u8> {
    format!("entries-by-case/{case}/{index:016x}").into_bytes()
}

/// Key prefix of the index of the entries that name licence `licence` (an id, or a
/// `<licence:HASH>` token): `entries-by-licence/<licence>/`.
pub fn licence_entries_prefix(licence: &str) -> Vec<u8> {
    format!("entries-by-licence/{licence}/").into_bytes()
}

/// Key of one row of the licence index: `entries-by-licence/<licence>/<entry index, 16 hex
/// digits>`.
pub fn licence_entry_key(licence: &str, index: u64) -> Vec<u8> {
    format!("entries-by-licence/{licence}/{index:016x}").into_bytes()
}

/// The index rows of entry `index`, whose terms are `terms`: one per case and per licence.
pub fn entry_index_keys(terms: &IndexTerms, index: u64) -> impl Iterator<Item = Vec<u8>> + '_ {
    let cases = terms.cases.iter().map(move |c| case_entry_key(c, index));
    let licences = terms
        .licences
        .iter()
        .map(move |l| licence_entry_key(l, index));
    cases.chain(licences)
}

/// The entry index a case or licence index key ends with; `None` if it does not end with a
/// slash and 16 hex digits.
pub fn indexed_entry(key: &[u8]) -> Option<u64> {
    let (rest, hex) = key.split_at_checked(key.len().checked_sub(16)?)?;
    if !rest.ends_with(b"/") {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
}

/// Key of a licence record: `licence/<licence id>`.
pub fn licence_key(id: &str) -> Vec<u8> {
    format!("licence/{id}").into_bytes()
}

/// Key of a licence's OFD 原件 (the `.ofd` file's bytes): `ofd/<licence id>`.
pub fn licence_ofd_key(id: &str) -> Vec<u8> {
    format!("ofd/{id}").into_bytes()
}

/// Key prefix of a holder's index entries: `holder/<holder hash>/`.
pub fn holder_prefix(holder_hash: &str) -> Vec<u8> {
    format!("holder/{holder_hash}/").into_bytes()
}

/// Key of one holder index entry: `holder/<holder hash>/<licence id>`.
pub fn holder_key(holder_hash: &str, id: &str) -> Vec<u8> {
    format!("holder/{holder_hash}/{id}").into_bytes()
}

/// The licence id a holder index key names: the text after its last slash (lossily decoded).
pub fn holder_licence_id(key: &[u8]) -> Option<String> {
    let key = String::from_utf8_lossy(key);
    key.rsplit('/').next().map(str::to_owned)
}

/// Key of a consent record: `consent/<consent id>`.
pub fn consent_key(id: &str) -> Vec<u8> {
    format!("consent/{id}").into_bytes()
}

/// Key prefix of every witnessed log's record.
pub const WITNESSED_PREFIX: &[u8] = b"witness/";

/// Key of the record of a partner log this node witnesses: `witness/<origin>`.
pub fn witnessed_key(origin: &str) -> Vec<u8> {
    format!("witness/{origin}").into_bytes()
}

/// Key prefix of every piece of witness evidence.
pub const WITNESS_EVIDENCE_PREFIX: &[u8] = b"witness-evidence/";

/// Key of the evidence against a partner log, by the SHA-256 (hex) of the note that contradicts
/// what this witness cosigned: `witness-evidence/<origin>/<sha256>`. Text, because the key is
/// also named in the audit entry of the refusal.
pub fn witness_evidence_key(origin: &str, note_sha256: &str) -> String {
    format!("witness-evidence/{origin}/{note_sha256}")
}

/// Key of this node's own trust-list sequence: `trust-list/self`.
pub const OWN_TRUST_LIST_KEY: &[u8] = b"trust-list/self";

/// Key of the last trust list kept from a partner region: `trust-list/<region>`.
pub fn trust_list_key(region: &RegionCode) -> Vec<u8> {
    format!("trust-list/{region}").into_bytes()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn index_keys_round_trip_and_sort_as_numbers() {
        for i in [0, 1, 255, 256, 1 << 32, u64::MAX - 1, u64::MAX] {
            assert_eq!(index_of(&index_key(i)), Some(i));
        }
        assert_eq!(index_key(1), [0, 0, 0, 0, 0, 0, 0, 1]);
        let mut keys: Vec<[u8; 8]> = [300u64, 2, 70_000, 1, 256].map(index_key).to_vec();
        keys.sort();
        let order: Vec<u64> = keys.iter().map(|k| index_of(k).unwrap()).collect();
        assert_eq!(order, [1, 2, 256, 300, 70_000]);
        assert_eq!(index_of(&[0; 7]), None);
        assert_eq!(index_of(&[0; 9]), None);
        assert_eq!(index_of(b""), None);
    }

    #[test]
    fn tree_keys_round_trip_and_group_by_level() {
        for (level, index) in [(0, 0), (0, 5), (3, 1), (63, u64::MAX)] {
            let id = NodeId { level, index };
            let k = tree_key(id);
            assert_eq!(k[0], level);
            assert_eq!(node_of(&k), Some(id));
            assert!(k.starts_with(&tree_level_start(level)));
        }
        assert_eq!(
            tree_key(NodeId {
                level: 2,
                index: 258
            }),
            [2, 0, 0, 0, 0, 0, 0, 1, 2]
        );
        // Every hash of a level sorts before any of the next level.
        let last_of_0 = tree_key(NodeId {
            level: 0,
            index: u64::MAX,
        });
        let first_of_1 = tree_key(NodeId { level: 1, index: 0 });
        assert!(last_of_0 < first_of_1);
        assert!(tree_level_start(1).as_slice() > last_of_0.as_slice());
        assert_eq!(node_of(&[0; 8]), None);
        assert_eq!(node_of(&[0; 10]), None);
        assert_eq!(node_of(b""), None);
    }

    #[test]
    fn state_keys_are_the_documented_text() {
        assert_eq!(licence_key("L1"), b"licence/L1");
        assert_eq!(holder_prefix("ab"), b"holder/ab/");
        assert_eq!(holder_key("ab", "L1"), b"holder/ab/L1");
        assert_eq!(consent_key("C1"), b"consent/C1");
        assert_eq!(
            witnessed_key("zhengzhao/370900"),
            b"witness/zhengzhao/370900"
        );
        assert_eq!(
            witness_evidence_key("zhengzhao/370900", "00ff"),
            "witness-evidence/zhengzhao/370900/00ff"
        );
        let region: RegionCode = "370900".parse().unwrap();
        assert_eq!(trust_list_key(&region), b"trust-list/370900");
        assert_eq!(OWN_TRUST_LIST_KEY, b"trust-list/self");
    }

    #[test]
    fn entry_index_keys_round_trip_and_sort_as_numbers() {
        assert_eq!(
            case_entry_key("A-1", 258),
            b"entries-by-case/A-1/0000000000000102"
        );
        assert_eq!(
            licence_entry_key("L1", 1),
            b"entries-by-licence/L1/0000000000000001"
        );
        for i in [0, 1, 255, 1 << 40, u64::MAX] {
            let k = case_entry_key("泰审批〔2026〕1号", i);
            assert!(k.starts_with(&case_entries_prefix("泰审批〔2026〕1号")));
            assert_eq!(indexed_entry(&k), Some(i));
            assert_eq!(indexed_entry(&licence_entry_key("L", i)), Some(i));
        }
        let mut keys: Vec<Vec<u8>> = [300u64, 2, 70_000].map(|i| case_entry_key("c", i)).to_vec();
        keys.sort();
        let order: Vec<u64> = keys.iter().map(|k| indexed_entry(k).unwrap()).collect();
        assert_eq!(order, [2, 300, 70_000]);
        assert_eq!(indexed_entry(b"short"), None);
        assert_eq!(indexed_entry(b"entries-by-case/c0000000000000001"), None);
    }

    #[test]
    fn holder_index_keys_round_trip() {
        for (hash, id) in [("ab", "L1"), ("0123abcd", "37090020260001")] {
            let key = holder_key(hash, id);
            assert!(key.starts_with(&holder_prefix(hash)));
            assert_eq!(holder_licence_id(&key).as_deref(), Some(id));
        }
    }

    /// Every key the state table holds, of every kind, sorted as RocksDB sorts them.
    fn every_state_key() -> Vec<Vec<u8>> {
        let region: RegionCode = "370900".parse().unwrap();
        let mut keys = vec![
            licence_key("L1"),
            licence_key("L10"),
            holder_key("ab", "L1"),
            holder_key("abc", "L2"),
            holder_key("ab0", "L3"),
            holder_key("a", "L4"),
            consent_key("C1"),
            consent_key("C10"),
            witnessed_key("zhengzhao/370900"),
            witnessed_key("zhengzhao/3709"),
            witness_evidence_key("zhengzhao/370900", "00").into_bytes(),
            witness_evidence_key("zhengzhao/3709", "01").into_bytes(),
            trust_list_key(&region),
            OWN_TRUST_LIST_KEY.to_vec(),
            case_entry_key("C1", 3),
            case_entry_key("C1-2", 4),
            licence_entry_key("L1", 5),
            licence_entry_key("L10", 6),
        ];
        keys.sort();
        keys
    }

    fn scan<'a>(keys: &'a [Vec<u8>], prefix: &[u8]) -> Vec<&'a [u8]> {
        keys.iter()
            .filter(|k| k.starts_with(prefix))
            .map(Vec::as_slice)
            .collect()
    }

    #[test]
    fn a_holder_scan_does_not_reach_a_holder_whose_hash_extends_it() {
        let keys = every_state_key();
        assert_eq!(scan(&keys, &holder_prefix("ab")), [&b"holder/ab/L1"[..]]);
        assert_eq!(scan(&keys, &holder_prefix("abc")), [&b"holder/abc/L2"[..]]);
        assert_eq!(scan(&keys, &holder_prefix("a")), [&b"holder/a/L4"[..]]);
        assert!(scan(&keys, &holder_prefix("b")).is_empty());
    }

    #[test]
    fn an_entry_index_scan_reads_only_its_own_case_or_licence() {
        let keys = every_state_key();
        assert_eq!(scan(&keys, &case_entries_prefix("C1")).len(), 1);
        assert_eq!(scan(&keys, &licence_entries_prefix("L1")).len(), 1);
        assert_eq!(
            scan(&keys, &licence_key("L1")).len(),
            2,
            "records, not index rows"
        );
    }

    #[test]
    fn witness_scans_do_not_reach_each_other() {
        let keys = every_state_key();
        let logs = scan(&keys, WITNESSED_PREFIX);
        assert_eq!(logs.len(), 2);
        assert!(logs.iter().all(|k| !k.starts_with(WITNESS_EVIDENCE_PREFIX)));
        let evidence = scan(&keys, WITNESS_EVIDENCE_PREFIX);
        assert_eq!(evidence.len(), 2);
        assert!(evidence.iter().all(|k| !k.starts_with(WITNESSED_PREFIX)));
    }

    #[test]
    fn kinds_do_not_share_keys() {
        let keys = every_state_key();
        let kinds: [&[u8]; 8] = [
            b"licence/",
            b"holder/",
            b"consent/",
            WITNESSED_PREFIX,
            WITNESS_EVIDENCE_PREFIX,
            b"trust-list/",
            b"entries-by-case/",
            b"entries-by-licence/",
        ];
        for key in &keys {
            let of = kinds.iter().filter(|p| key.starts_with(p)).count();
            assert_eq!(of, 1, "{}", String::from_utf8_lossy(key));
        }
        // Licence ids that extend each other stay apart in a point read.
        assert_ne!(licence_key("L1"), licence_key("L10"));
        assert_eq!(
            scan(&keys, &licence_key("L1")).len(),
            2,
            "a prefix, not a key"
        );
    }
}
