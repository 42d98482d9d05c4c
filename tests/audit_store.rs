#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! The audit store under concurrent appends (`zhengzhao::store`): 16 threads append 200
//! entries each, one at a time, through the group-committing writer. Announced appends (the
//! writer's linger) and checkpoints.

#[allow(dead_code)] // uses only part of the shared support
mod audit_support;

use std::collections::BTreeMap;

use audit_support::{draft, open_log, reopen_log};
use zhengzhao::audit::entry::Entry;
use zhengzhao::audit::merkle::{CompactRange, empty_root, leaf_hash};
use zhengzhao::store::{Receipt, Table, Write};

const THREADS: u64 = 16;
const PER_THREAD: u64 = 200;

/// `append(t, k)` for k in `0..per_thread` on each of `threads` threads at once: each
/// thread's results in the order it got them.
fn in_threads<T: Send>(
    threads: u64,
    per_thread: u64,
    append: impl Fn(u64, u64) -> T + Sync,
) -> Vec<Vec<T>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let append = &append;
                s.spawn(move || (0..per_thread).map(|k| append(t, k)).collect())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn concurrent_appends_get_dense_unique_indexes_matching_their_entries() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());

    // Each thread keeps its receipts in the order it got them.
    let per_thread: Vec<Vec<Receipt>> = in_threads(THREADS, PER_THREAD, |t, k| {
        // A write to the node's own records rides along with each entry.
        let write = Write {
            table: Table::State,
            key: format!("t{t}/{k}").into_bytes(),
            value: Some(format!("{t}:{k}").into_bytes()),
        };
        log.append(draft(&format!("t{t}"), k), vec![write]).unwrap()
    });

    let total = THREADS * PER_THREAD;
    assert_eq!(log.size(), total);

    // Every index given exactly once, and together they are 0..total.
    let mut owner: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for (t, receipts) in per_thread.iter().enumerate() {
        assert_eq!(receipts.len() as u64, PER_THREAD);
        for (k, r) in receipts.iter().enumerate() {
            assert_eq!(r.leaf_hashes.len(), 1, "one entry, one leaf hash");
            if let Some(prev) = owner.insert(r.index, (t as u64, k as u64)) {
                panic!(
                    "index {} given twice: to {prev:?} and to ({t}, {k})",
                    r.index
                );
            }
        }
        // A thread waits for each append, so its own entries come in order.
        assert!(
            receipts.windows(2).all(|w| w[0].index < w[1].index),
            "thread {t}'s indexes are not increasing"
        );
    }
    assert!(
        owner.keys().copied().eq(0..total),
        "indexes are not dense 0..{total}"
    );

    // Each receipt names the entry its caller appended.
    for (t, receipts) in per_thread.iter().enumerate() {
        for (k, r) in receipts.iter().enumerate() {
            let bytes = log.entry(r.index).unwrap().expect("the entry exists");
            assert_eq!(
                leaf_hash(&bytes),
                r.leaf_hashes[0],
                "leaf hash of {}",
                r.index
            );
            let e = Entry::parse(&bytes).unwrap();
            assert_eq!(e.index, r.index);
            assert_eq!(e.time, r.time);
            assert_eq!(
                e.draft,
                draft(&format!("t{t}"), k as u64),
                "entry {}",
                r.index
            );
            assert_eq!(
                log.get(Table::State, format!("t{t}/{k}").as_bytes())
                    .unwrap(),
                Some(format!("{t}:{k}").into_bytes())
            );
        }
    }

    // The tree over what is stored is the tree the log reports.
    let stored = log.entries(0, total).unwrap();
    assert_eq!(stored.len() as u64, total);
    let mut range = CompactRange::new();
    for (i, (index, bytes)) in stored.iter().enumerate() {
        assert_eq!(*index, i as u64);
        range.push(leaf_hash(bytes), |_, _| {});
    }
    assert_eq!(log.head().unwrap(), (total, range.root()));
    assert_eq!(log.root_at(total).unwrap(), range.root());
}

/// A checkpoint signed while the log is still empty (size 0, the empty root) is extended by
/// every later tree, so it must not stop the log from signing the next one.
#[test]
fn announcements_are_counted_and_one_never_submitted_holds_up_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let (a, b) = (log.announce(), log.announce());
    assert_eq!(log.announced(), 2);
    drop(a);
    assert_eq!(log.announced(), 1);
    drop(b);
    assert_eq!(log.announced(), 0);

    // An announced append that never comes: shared groups still get written (the writer's
    // wait for announced appends is bounded), every append is answered, indexes stay dense.
    let stuck = log.announce();
    let receipts: Vec<Receipt> = in_threads(8, 50, |t, k| {
        let _mine = log.announce();
        log.append(draft(&format!("t{t}"), k), Vec::new()).unwrap()
    })
    .concat();
    assert_eq!(
        log.announced(),
        1,
        "each appender's announcement was withdrawn"
    );
    drop(stuck);
    assert_eq!(log.announced(), 0);
    let mut indexes: Vec<u64> = receipts.iter().map(|r| r.index).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..400).collect::<Vec<_>>());
    assert_eq!(log.size(), 400);
}

#[test]
fn a_checkpoint_of_the_empty_log_does_not_block_later_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let empty = log.checkpoint_now().unwrap().checkpoint;
    assert_eq!((empty.size, empty.root), (0, empty_root()));

    log.append_many((0..5).map(|n| draft("cp", n)).collect())
        .unwrap();
    let next = log.checkpoint_now().unwrap().checkpoint;
    assert_eq!((next.size, next.root), (5, log.root_at(5).unwrap()));
    assert_eq!(log.latest_checkpoint().unwrap().checkpoint, next);
    let proof = log.tlog_proof(4).unwrap();
    assert_eq!(proof.index, 4);

    // And the store opens again with the state file at size 5.
    drop(log);
    let log = reopen_log(dir.path());
    assert_eq!(log.size(), 5);
    assert_eq!(log.latest_checkpoint().unwrap().checkpoint, next);
}

/// `entries_within` stops before the line (entry and newline) that would pass the byte limit, always sends the
/// first entry even when it alone is larger, and never reads past `to`.
#[test]
fn a_bounded_read_stops_at_the_byte_limit_but_always_sends_one_entry() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    log.append_many((0..10).map(|n| draft("read", n)).collect())
        .unwrap();
    let all = log.entries(0, 10).unwrap();
    let len = |i: usize| all[i].1.len();
    // Exactly the first three lines (entry and newline) fit: three come.
    let three = len(0) + len(1) + len(2) + 3;
    let got = log.entries_within(0, 10, three).unwrap();
    assert_eq!(got, all[..3].to_vec());
    // One byte less: two.
    assert_eq!(log.entries_within(0, 10, three - 1).unwrap().len(), 2);
    // A limit below the first entry's size: that entry alone.
    assert_eq!(log.entries_within(4, 10, 1).unwrap(), all[4..5].to_vec());
    // No limit reached: up to `to`.
    assert_eq!(
        log.entries_within(7, 9, usize::MAX).unwrap(),
        all[7..9].to_vec()
    );
    assert!(log.entries_within(9, 9, 1).unwrap().is_empty());
}
