#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Tampering with a real store, through RocksDB itself, and `zhengzhao audit verify` naming the
//! first index concerned: each case builds a store of 3000 entries with checkpoints at 500,
//! 1024, 1777 and 2600, closes it, copies the directory, opens the copy with RocksDB under the
//! store's column family names, changes it, closes it, and runs the binary on it.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::digest;
use rocksdb::{DB, IteratorMode, Options};
use support::command::{p, zz};
use tempfile::TempDir;
use zhengzhao::audit::entry::{Action, Actor, EntryDraft};
use zhengzhao::audit::log::{AuditLog, LogConfig};
use zhengzhao::audit::note::NoteSigner;
use zhengzhao::store::{CF_CHECKPOINTS, CF_ENTRIES, CF_META, CF_TREE, COLUMN_FAMILIES};

const ORIGIN: &str = "zhengzhao/370900";
const SIZE: u64 = 3000;
const CHECKPOINTS: [u64; 4] = [500, 1024, 1777, 2600];

/// A closed store, built once per test, that each case copies before tampering.
struct Base {
    tmp: TempDir,
    vkey: String,
    root: [u8; 32],
}

impl Base {
    fn dir(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    /// A copy of the store to tamper with.
    fn copy(&self) -> TempDir {
        let to = tempfile::tempdir().unwrap();
        for f in std::fs::read_dir(self.dir()).unwrap() {
            let f = f.unwrap();
            assert!(f.file_type().unwrap().is_file(), "{:?}", f.path());
            std::fs::copy(f.path(), to.path().join(f.file_name())).unwrap();
        }
        to
    }
}

fn draft(i: u64) -> EntryDraft {
    let mut d = EntryDraft::new(
        Actor::named(format!("clerk-{}", i % 7)),
        Action::AuditRead,
        "ok",
    );
    d.purpose = Some("年度抽查".into());
    d.detail.insert("n".into(), i.into());
    d
}

fn build() -> Base {
    build_with(SIZE, &CHECKPOINTS)
}

/// A closed store of `size` entries with checkpoints at `checkpoints`.
fn build_with(size: u64, checkpoints: &[u64]) -> Base {
    let tmp = tempfile::tempdir().unwrap();
    let (signer, _) = NoteSigner::generate(ORIGIN).unwrap();
    let vkey = signer.vkey();
    let log = AuditLog::open(
        &tmp.path().join("data"),
        LogConfig {
            origin: ORIGIN.into(),
            signer,
            state_file: tmp.path().join("checkpoint.note"),
            checkpoint_interval: None,
            adopt_store: false,
            holder_key: None,
        },
    )
    .unwrap();
    let mut next = 0;
    for end in checkpoints.iter().copied().chain([size]) {
        while next < end {
            let n = (end - next).min(97);
            let r = log
                .append_many((next..next + n).map(draft).collect())
                .unwrap();
            assert_eq!(r.index, next);
            next += n;
        }
        if checkpoints.contains(&end) {
            assert_eq!(log.checkpoint_now().unwrap().checkpoint.size, end);
        }
    }
    let (head, root) = log.head().unwrap();
    assert_eq!(head, size);
    log.close();
    drop(log);
    Base { tmp, vkey, root }
}

/// Open a copy with RocksDB, under the store's column families, change it, close it.
fn tamper(dir: &Path, change: impl FnOnce(&DB)) {
    let db = DB::open_cf(&Options::default(), dir, COLUMN_FAMILIES).unwrap();
    change(&db);
    drop(db);
}

fn tree_key(level: u8, index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = level;
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

fn get(db: &DB, cf: &str, key: &[u8]) -> Vec<u8> {
    db.get_cf(db.cf_handle(cf).unwrap(), key)
        .unwrap()
        .unwrap_or_else(|| panic!("{cf} {key:?} is not stored"))
}

fn put(db: &DB, cf: &str, key: &[u8], value: &[u8]) {
    db.put_cf(db.cf_handle(cf).unwrap(), key, value).unwrap();
}

fn delete(db: &DB, cf: &str, key: &[u8]) {
    assert!(db.get_cf(db.cf_handle(cf).unwrap(), key).unwrap().is_some());
    db.delete_cf(db.cf_handle(cf).unwrap(), key).unwrap();
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    ctx.finish().as_ref().try_into().unwrap()
}

/// Recompute every leaf and perfect-subtree hash from the stored entries (RFC 6962, written
/// out here independently of the crate) and store them all.
fn rewrite_tree(db: &DB) {
    let entries: Vec<Vec<u8>> = db
        .iterator_cf(db.cf_handle(CF_ENTRIES).unwrap(), IteratorMode::Start)
        .map(|kv| kv.unwrap().1.into_vec())
        .collect();
    let mut nodes: Vec<[u8; 32]> = entries.iter().map(|e| sha256(&[&[0x00], e])).collect();
    let mut level = 0u8;
    while !nodes.is_empty() {
        for (i, h) in nodes.iter().enumerate() {
            put(db, CF_TREE, &tree_key(level, i as u64), h);
        }
        nodes = nodes
            .chunks_exact(2)
            .map(|c| sha256(&[&[0x01], &c[0], &c[1]]))
            .collect();
        level += 1;
    }
}

struct Verify {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn verify(dir: &Path, vkey: &str) -> Verify {
    let out = zz(&["audit", "verify", "--data-dir", p(dir), "--vkey", vkey]);
    Verify {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Exit 1, naming `index`, with a reason that says each of `says`.
fn expect_disagreement(dir: &Path, vkey: &str, index: u64, says: &[&str]) {
    let v = verify(dir, vkey);
    assert_eq!(v.code, Some(1), "{}{}", v.stdout, v.stderr);
    let prefix = format!("zhengzhao: the log disagrees at index {index}: ");
    let reason = v
        .stderr
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("want index {index}, got: {}", v.stderr))
        .trim_end();
    for s in says {
        assert!(reason.contains(s), "want {s:?} in: {reason}");
    }
    println!("index {index}: {reason}");
    assert!(v.stdout.is_empty(), "{}", v.stdout);
}

fn entry_bytes(db: &DB, index: u64) -> Vec<u8> {
    get(db, CF_ENTRIES, &index.to_be_bytes())
}

#[test]
fn the_untouched_copy_verifies() {
    let base = build();
    let copy = base.copy();
    let v = verify(copy.path(), &base.vkey);
    assert_eq!(v.code, Some(0), "{}", v.stderr);
    assert_eq!(
        v.stdout,
        format!(
            "verified {SIZE} entries; root {}; 4 checkpoints, the newest at size 2600\n",
            B64.encode(base.root)
        )
    );
    // Opening the copy read-write and closing it changes nothing either.
    tamper(copy.path(), |_| {});
    assert_eq!(verify(copy.path(), &base.vkey).stdout, v.stdout);
}

#[test]
fn one_changed_byte_of_an_entry_is_named() {
    let base = build();
    let k = 1234;
    let original = {
        let copy = base.copy();
        let db =
            DB::open_cf_for_read_only(&Options::default(), copy.path(), COLUMN_FAMILIES, false)
                .unwrap();
        entry_bytes(&db, k)
    };
    let find = |needle: &[u8]| {
        original
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap_or_else(|| panic!("{} not in entry", String::from_utf8_lossy(needle)))
    };
    let outcome = find(br#""outcome":"ok""#) + br#""outcome":"o"#.len();
    let index = find(br#""index":1234"#) + br#""index":1"#.len();
    let time = find(br#""time":"2"#) + br#""time":""#.len();
    // Where, what it becomes, what the reason must say.
    let cases: [(usize, u8, &str); 6] = [
        (outcome, b'K', "the stored leaf hash of entry 1234 differs"),
        (index, b'3', "entry 1234 states index"),
        (time, b'1', "entry 1234 is older than entry 1233"),
        (0, b'[', "leaf hash of entry 1234"),
        (original.len() - 1, b' ', "leaf hash of entry 1234"),
        (original.len() / 2, b'\x01', "entry 1234"),
    ];
    for (at, to, says) in cases {
        assert_ne!(original[at], to);
        let copy = base.copy();
        tamper(copy.path(), |db| {
            let mut e = original.clone();
            e[at] = to;
            put(db, CF_ENTRIES, &k.to_be_bytes(), &e);
        });
        expect_disagreement(copy.path(), &base.vkey, k, &[says]);
    }
}

#[test]
fn a_deleted_entry_is_named() {
    let base = build();
    expect_deleted_entries_named(&base, &[0, 2222, SIZE - 1]);
}

/// Each of `indexes`, deleted alone from a copy, is named as missing.
fn expect_deleted_entries_named(base: &Base, indexes: &[u64]) {
    for &k in indexes {
        let copy = base.copy();
        tamper(copy.path(), |db| delete(db, CF_ENTRIES, &k.to_be_bytes()));
        expect_disagreement(
            copy.path(),
            &base.vkey,
            k,
            &[&format!("entry {k} is missing")],
        );
    }
}

#[test]
fn swapped_entries_are_named_at_the_first() {
    let base = build();
    let (j, k) = (700u64, 2100u64);
    let copy = base.copy();
    tamper(copy.path(), |db| {
        let (a, b) = (entry_bytes(db, j), entry_bytes(db, k));
        put(db, CF_ENTRIES, &j.to_be_bytes(), &b);
        put(db, CF_ENTRIES, &k.to_be_bytes(), &a);
    });
    expect_disagreement(copy.path(), &base.vkey, j, &["entry 700 states index 2100"]);
}

#[test]
fn a_log_truncated_before_its_newest_checkpoint_is_named_where_it_ends() {
    let base = build();
    let end = 2400u64;
    let copy = base.copy();
    tamper(copy.path(), |db| {
        for i in end..SIZE {
            delete(db, CF_ENTRIES, &i.to_be_bytes());
        }
        put(db, CF_META, b"size", &end.to_be_bytes());
    });
    expect_disagreement(
        copy.path(),
        &base.vkey,
        end,
        &[
            "a checkpoint was signed at size 2600 but the log ends at 2400",
            "entries from 2400 on are missing",
        ],
    );
}

#[test]
fn a_changed_leaf_hash_is_named() {
    let base = build();
    let k = 1500u64;
    let copy = base.copy();
    tamper(copy.path(), |db| {
        let mut h = get(db, CF_TREE, &tree_key(0, k));
        h[31] ^= 1;
        put(db, CF_TREE, &tree_key(0, k), &h);
    });
    expect_disagreement(
        copy.path(),
        &base.vkey,
        k,
        &["the stored leaf hash of entry 1500 differs from the recomputed one"],
    );
}

#[test]
fn a_changed_interior_hash_is_named_at_its_first_entry() {
    let base = build();
    // (level, index) → the first entry under it and the range named.
    for (level, index, first, says) in [
        (
            3u8,
            100u64,
            800u64,
            "subtree of entries [800, 808) (level 3) differs",
        ),
        (
            10,
            1,
            1024,
            "subtree of entries [1024, 2048) (level 10) differs",
        ),
        (11, 0, 0, "subtree of entries [0, 2048) (level 11) differs"),
        (
            1,
            1499,
            2998,
            "subtree of entries [2998, 3000) (level 1) differs",
        ),
    ] {
        let copy = base.copy();
        tamper(copy.path(), |db| {
            let mut h = get(db, CF_TREE, &tree_key(level, index));
            h[0] ^= 0x80;
            put(db, CF_TREE, &tree_key(level, index), &h);
        });
        expect_disagreement(copy.path(), &base.vkey, first, &[says]);
    }
}

#[test]
fn a_deleted_interior_hash_is_named_at_its_first_entry() {
    let base = build();
    for (level, index, first, says) in [
        (
            5u8,
            20u64,
            640u64,
            "subtree of entries [640, 672) (level 5) is missing",
        ),
        // The only node of its level: nothing of that level follows it.
        (
            11,
            0,
            0,
            "subtree of entries [0, 2048) (level 11) is missing",
        ),
        // The last node of its level.
        (
            2,
            749,
            2996,
            "subtree of entries [2996, 3000) (level 2) is missing",
        ),
    ] {
        let copy = base.copy();
        tamper(copy.path(), |db| {
            delete(db, CF_TREE, &tree_key(level, index))
        });
        expect_disagreement(copy.path(), &base.vkey, first, &[says]);
    }
}

#[test]
fn an_entry_rewritten_with_all_its_hashes_is_caught_by_the_next_checkpoint() {
    let base = build();
    // The changed entry → the first entry the failing checkpoint covers, and that checkpoint.
    for (k, from, cp) in [
        (1900u64, 1777u64, 2600u64),
        (300, 0, 500),
        (1024, 1024, 1777),
    ] {
        let copy = base.copy();
        tamper(copy.path(), |db| {
            let e = entry_bytes(db, k);
            let text = String::from_utf8(e).unwrap();
            let forged = text.replace(r#""outcome":"ok""#, r#""outcome":"no""#);
            assert_ne!(forged, text);
            put(db, CF_ENTRIES, &k.to_be_bytes(), forged.as_bytes());
            rewrite_tree(db);
            // The forgery reaches the leaf hash.
            assert_eq!(
                get(db, CF_TREE, &tree_key(0, k)),
                sha256(&[&[0x00], forged.as_bytes()])
            );
        });
        expect_disagreement(
            copy.path(),
            &base.vkey,
            from,
            &[&format!(
                "entries [{from}, {cp}) do not hash to the root signed in the checkpoint at size \
                 {cp}"
            )],
        );
    }
}

#[test]
fn an_entry_rewritten_with_its_hashes_after_the_newest_checkpoint_is_beyond_any_signature() {
    // Nothing signed covers entries after the newest checkpoint: the replay can only report
    // how far the signatures reach. The node signs checkpoints often to keep that tail short.
    let base = build();
    let copy = base.copy();
    tamper(copy.path(), |db| {
        let text = String::from_utf8(entry_bytes(db, 2800)).unwrap();
        let forged = text.replace(r#""outcome":"ok""#, r#""outcome":"no""#);
        put(db, CF_ENTRIES, &2800u64.to_be_bytes(), forged.as_bytes());
        rewrite_tree(db);
    });
    let v = verify(copy.path(), &base.vkey);
    assert_eq!(v.code, Some(0), "{}", v.stderr);
    assert!(
        v.stdout
            .ends_with("4 checkpoints, the newest at size 2600\n"),
        "{}",
        v.stdout
    );
}

#[test]
fn an_altered_checkpoint_signature_is_named_at_the_range_it_covers() {
    let base = build();
    for (cp, from) in [(1777u64, 1024u64), (500, 0)] {
        let copy = base.copy();
        tamper(copy.path(), |db| {
            let note = String::from_utf8(get(db, CF_CHECKPOINTS, &cp.to_be_bytes())).unwrap();
            // The signature line is the last: "— <name> <base64(key id ‖ signature)>\n". Change
            // a character of the signature proper, keeping the base64 canonical.
            let mut bytes = note.into_bytes();
            let at = bytes.len() - 10;
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            put(db, CF_CHECKPOINTS, &cp.to_be_bytes(), &bytes);
        });
        expect_disagreement(
            copy.path(),
            &base.vkey,
            from,
            &[&format!("the checkpoint at size {cp} does not verify")],
        );
    }
}

#[test]
fn a_checkpoint_signed_by_another_key_is_named_at_the_range_it_covers() {
    let base = build();
    let copy = base.copy();
    // Another key under the very same name: only the key (its id and signature) differs.
    let (other, _) = NoteSigner::generate(ORIGIN).unwrap();
    tamper(copy.path(), |db| {
        let note = String::from_utf8(get(db, CF_CHECKPOINTS, &1024u64.to_be_bytes())).unwrap();
        let (body, _) = note.split_once("\n\n").unwrap();
        let forged = other.sign(&format!("{body}\n")).unwrap();
        assert!(forged.starts_with(body));
        put(
            db,
            CF_CHECKPOINTS,
            &1024u64.to_be_bytes(),
            forged.as_bytes(),
        );
    });
    expect_disagreement(
        copy.path(),
        &base.vkey,
        500,
        &["the checkpoint at size 1024 does not verify"],
    );
}

/// A key that signed none of the checkpoints (another region's log key, or another key under
/// this log's name) is a usage error, exit 2, that says so; never "the log disagrees", which
/// would read as tampering.
#[test]
fn a_key_that_signed_no_checkpoint_is_named_as_the_wrong_key_not_a_disagreement() {
    let base = build();
    let copy = base.copy();
    for name in ["zhengzhao/140802", ORIGIN] {
        let (other, _) = NoteSigner::generate(name).unwrap();
        let v = verify(copy.path(), &other.vkey());
        assert_eq!(v.code, Some(2), "{name}: {}{}", v.stdout, v.stderr);
        let id: String = other.key_id().iter().map(|b| format!("{b:02x}")).collect();
        let want = format!(
            "zhengzhao: this key ({name} {id}) did not sign the log's checkpoints; the first, at \
             size {}, is signed by {ORIGIN} ",
            CHECKPOINTS[0]
        );
        assert!(v.stderr.starts_with(&want), "{name}: {}", v.stderr);
        assert!(!v.stderr.contains("disagrees"), "{}", v.stderr);
        assert!(v.stdout.is_empty(), "{}", v.stdout);
    }
}

/// The replay reads entries in chunks of 4 096 on several threads; what it finds, and which
/// finding comes first, must not depend on that: a step back in time across a chunk boundary,
/// a later chunk's problem next to an earlier one's, the first and the last entry of a chunk.
#[test]
fn findings_across_reader_chunks_are_named_in_sequence_order() {
    const BIG: u64 = 12_500;
    let base = build_with(BIG, &[4096, 12_000]);
    let untouched = verify(base.copy().path(), &base.vkey);
    assert_eq!(untouched.code, Some(0), "{}", untouched.stderr);

    // Entry 4096 opens the second chunk: set its time back a millennium.
    let copy = base.copy();
    tamper(copy.path(), |db| {
        let mut e = entry_bytes(db, 4096);
        let at = e.windows(8).position(|w| w == br#""time":""#).unwrap() + 8;
        e[at] = b'1';
        put(db, CF_ENTRIES, &4096u64.to_be_bytes(), &e);
    });
    expect_disagreement(
        copy.path(),
        &base.vkey,
        4096,
        &["entry 4096 is older than entry 4095"],
    );

    // Problems in chunks read by different threads: the earlier index is named, whichever
    // thread finishes first.
    for (deleted, changed, first) in [(8193u64, 4500u64, 4500u64), (4500, 8193, 4500)] {
        let copy = base.copy();
        tamper(copy.path(), |db| {
            delete(db, CF_ENTRIES, &deleted.to_be_bytes());
            let mut e = entry_bytes(db, changed);
            let at = e.windows(9).position(|w| w == br#""outcome""#).unwrap() + 11;
            e[at] ^= 0x20;
            put(db, CF_ENTRIES, &changed.to_be_bytes(), &e);
        });
        expect_disagreement(copy.path(), &base.vkey, first, &[&format!("entry {first}")]);
    }

    // The first and last entries of a chunk, and the last entry of the log.
    expect_deleted_entries_named(&base, &[4095, 8192, BIG - 1]);

    // An entry stored beyond the recorded size.
    let copy = base.copy();
    tamper(copy.path(), |db| {
        let e = entry_bytes(db, BIG - 1);
        put(db, CF_ENTRIES, &BIG.to_be_bytes(), &e);
    });
    expect_disagreement(
        copy.path(),
        &base.vkey,
        BIG,
        &["entries are stored beyond the recorded size 12500"],
    );
}
