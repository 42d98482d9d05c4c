//! The auditor's replay: stream a store, recompute everything, compare with what is stored and
//! signed, and name the first index where anything disagrees.
//!
//! Memory stays O(log n): one compact range, one iterator per tree level, one over the
//! checkpoints. Each entry is read once, its leaf hash recomputed and compared with the stored
//! one, every completed perfect subtree recomputed and compared with the stored one, and at every
//! stored checkpoint the recomputed root is compared with the signed one, whose signature,
//! origin and size are checked. Two checkpoints whose roots both match the tree recomputed from
//! the same entries are consistent with each other by construction.

use std::io::Write as _;
use std::time::{Duration, Instant};

use rocksdb::{DB, DBRawIteratorWithThreadMode, ReadOptions};

use super::checkpoint::Checkpoint;
use super::merkle::{self, CompactRange, Hash, NodeId};
use super::note::NoteVerifier;
use super::store::{AuditError, CF_CHECKPOINTS, CF_ENTRIES, CF_TREE, StoreReader};

/// What the replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Everything agrees.
    Verified {
        /// Entries verified.
        size: u64,
        /// The root they hash to.
        root: Hash,
        /// Signed checkpoints checked.
        checkpoints: u64,
        /// Size of the newest checkpoint (0 if none).
        latest_checkpoint: u64,
    },
    /// The first disagreement.
    Disagrees {
        /// The first entry index concerned.
        index: u64,
        /// What disagrees.
        reason: String,
    },
}

/// Progress reports: entries done and entries in all.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

type RawIter<'a> = DBRawIteratorWithThreadMode<'a, DB>;

fn read_opts() -> ReadOptions {
    let mut o = ReadOptions::default();
    o.set_verify_checksums(true);
    o.fill_cache(false);
    o
}

/// The entries are read in one long sequential scan: a large readahead pays there (and only
/// there: one such buffer per tree level would cost memory for nothing).
fn entries_read_opts() -> ReadOptions {
    let mut o = read_opts();
    o.set_readahead_size(4 << 20);
    o
}

fn key_u64(k: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(k.try_into().ok()?))
}

/// Find a top-level string or integer member of a canonical entry without a full parse:
/// returns the raw value text. Nested members and members inside strings are skipped.
fn top_level_member<'a>(json: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < json.len() && json[i] != b'"' {
                    i += if json[i] == b'\\' { 2 } else { 1 };
                }
                let key = json.get(start..i)?;
                i += 1;
                if depth == 1 && key == name && json.get(i) == Some(&b':') {
                    let vstart = i + 1;
                    let mut j = vstart;
                    if json.get(j) == Some(&b'"') {
                        j += 1;
                        while j < json.len() && json[j] != b'"' {
                            j += if json[j] == b'\\' { 2 } else { 1 };
                        }
                        return json.get(vstart + 1..j);
                    }
                    while j < json.len() && json[j].is_ascii_digit() {
                        j += 1;
                    }
                    return json.get(vstart..j);
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

struct Levels<'a> {
    db: &'a DB,
    iters: Vec<RawIter<'a>>,
}

impl<'a> Levels<'a> {
    /// Compare a recomputed node with the next stored node of its level.
    fn check(&mut self, id: NodeId, hash: &Hash) -> Result<(), (u64, String)> {
        let where_ = || {
            format!(
                "subtree of entries [{}, {}) (level {})",
                id.first_leaf(),
                id.first_leaf() + id.width(),
                id.level
            )
        };
        while self.iters.len() <= usize::from(id.level) {
            let level = self.iters.len() as u8;
            let Some(tree) = self.db.cf_handle(CF_TREE) else {
                return Err((id.first_leaf(), "the tree column family is missing".into()));
            };
            let mut it = self.db.raw_iterator_cf_opt(tree, read_opts());
            it.seek([level]);
            self.iters.push(it);
        }
        let it = &mut self.iters[usize::from(id.level)];
        let want_key = {
            let mut k = [0u8; 9];
            k[0] = id.level;
            k[1..].copy_from_slice(&id.index.to_be_bytes());
            k
        };
        match it.key() {
            Some(k) if k == want_key => {}
            Some(k) if k.len() == 9 && k[0] == id.level => {
                let got = key_u64(&k[1..]).unwrap_or(0);
                let what = if got > id.index {
                    "is missing"
                } else {
                    "is out of order"
                };
                return Err((
                    id.first_leaf(),
                    format!("the stored hash of the {} {what}", where_()),
                ));
            }
            _ => {
                if let Err(e) = it.status() {
                    return Err((id.first_leaf(), format!("reading the tree: {e}")));
                }
                return Err((
                    id.first_leaf(),
                    format!("the stored hash of the {} is missing", where_()),
                ));
            }
        }
        if it.value() != Some(hash.as_slice()) {
            let what = if id.level == 0 {
                "leaf hash of entry".to_owned()
            } else {
                where_()
            };
            let what = if id.level == 0 {
                format!("{what} {}", id.index)
            } else {
                what
            };
            return Err((
                id.first_leaf(),
                format!("the stored {what} differs from the recomputed one"),
            ));
        }
        it.next();
        Ok(())
    }
}

/// Leaves read and hashed by the reader thread, and why it stopped early, if it did.
struct Chunk {
    leaves: Vec<Hash>,
    stop: Option<Stop>,
}

enum Stop {
    Disagrees(u64, String),
    Db(String),
}

const CHUNK: usize = 4096;

/// Read entries `0..size` in order: check each is in place, states its index and does not go
/// back in time, and send its leaf hash. Stops at the first problem, which ends its chunk.
fn read_leaves(mut entries: RawIter<'_>, size: u64, tx: &std::sync::mpsc::SyncSender<Chunk>) {
    let mut leaves = Vec::with_capacity(CHUNK);
    let mut last_time: Vec<u8> = Vec::new();
    let mut index = 0u64;
    let stop = loop {
        if index == size {
            break if entries.valid() {
                Some(Stop::Disagrees(
                    size,
                    format!("entries are stored beyond the recorded size {size}"),
                ))
            } else {
                entries.status().err().map(|e| Stop::Db(e.into_string()))
            };
        }
        let Some(key) = entries.key() else {
            break Some(match entries.status() {
                Err(e) => Stop::Db(e.into_string()),
                Ok(()) => Stop::Disagrees(
                    index,
                    format!("entry {index} is missing: the log ends at {index} of {size}"),
                ),
            });
        };
        match key_u64(key) {
            Some(k) if k == index => {}
            Some(k) if k > index => {
                break Some(Stop::Disagrees(index, format!("entry {index} is missing")));
            }
            _ => {
                break Some(Stop::Disagrees(
                    index,
                    format!("an unexpected key precedes entry {index}"),
                ));
            }
        }
        let Some(bytes) = entries.value() else {
            break Some(Stop::Disagrees(
                index,
                format!("entry {index} has no value"),
            ));
        };
        // The entry must say where it belongs and must not go back in time.
        let stated = top_level_member(bytes, b"index")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse::<u64>().ok());
        if stated != Some(index) {
            let stated =
                stated.map_or_else(|| "no valid index".to_owned(), |s| format!("index {s}"));
            break Some(Stop::Disagrees(
                index,
                format!("entry {index} states {stated}"),
            ));
        }
        match top_level_member(bytes, b"time") {
            Some(t) if t.len() == 24 => {
                if t < last_time.as_slice() {
                    break Some(Stop::Disagrees(
                        index,
                        format!(
                            "entry {index} is older than entry {}",
                            index.saturating_sub(1)
                        ),
                    ));
                }
                last_time.clear();
                last_time.extend_from_slice(t);
            }
            _ => {
                break Some(Stop::Disagrees(
                    index,
                    format!("entry {index} has no valid time"),
                ));
            }
        }
        leaves.push(merkle::leaf_hash(bytes));
        entries.next();
        index += 1;
        if leaves.len() == CHUNK {
            let full = std::mem::replace(&mut leaves, Vec::with_capacity(CHUNK));
            if tx
                .send(Chunk {
                    leaves: full,
                    stop: None,
                })
                .is_err()
            {
                return;
            }
        }
    };
    let _ = tx.send(Chunk { leaves, stop });
}

/// Replay a store against the log's verifier key. `origin`, if given, must be the store's.
pub fn replay(
    reader: &StoreReader,
    verifier: &NoteVerifier,
    origin: Option<&str>,
    progress: Progress<'_>,
) -> Result<Verdict, AuditError> {
    let db = reader.db();
    let stored_origin = reader.origin()?;
    let size = reader.size()?;
    let log_origin = match (stored_origin, origin) {
        (Some(s), Some(o)) if s != o => {
            return Ok(Verdict::Disagrees {
                index: 0,
                reason: format!("the store belongs to log `{s}`, not `{o}`"),
            });
        }
        (Some(s), _) => s,
        (None, Some(o)) => o.to_owned(),
        (None, None) if size == 0 => String::new(),
        (None, None) => {
            return Ok(Verdict::Disagrees {
                index: 0,
                reason: "the store records no origin".into(),
            });
        }
    };
    let disagree = |index: u64, reason: String| Ok(Verdict::Disagrees { index, reason });

    let (Some(entries_cf), Some(cps_cf)) = (db.cf_handle(CF_ENTRIES), db.cf_handle(CF_CHECKPOINTS))
    else {
        return Err(AuditError::Inconsistent(
            "column families are missing".into(),
        ));
    };
    let mut entries = db.raw_iterator_cf_opt(entries_cf, entries_read_opts());
    entries.seek_to_first();
    let mut cps = db.raw_iterator_cf_opt(cps_cf, read_opts());
    cps.seek_to_first();
    let mut levels = Levels {
        db,
        iters: Vec::new(),
    };
    let mut range = CompactRange::new();
    let mut checkpoints = 0u64;
    let mut latest_checkpoint = 0u64;
    let mut last_report = Instant::now();

    // Check every checkpoint stored at the current size.
    let mut check_checkpoints = |cps: &mut RawIter<'_>,
                                 range: &CompactRange,
                                 end: bool|
     -> Result<Option<(u64, String)>, AuditError> {
        while let Some(k) = cps.key() {
            let Some(cp_size) = key_u64(k) else {
                return Ok(Some((
                    range.size(),
                    "a checkpoint key is not 8 bytes".into(),
                )));
            };
            if cp_size > range.size() {
                if end {
                    return Ok(Some((
                        range.size(),
                        format!(
                            "a checkpoint was signed at size {cp_size} but the log ends at {}: \
                             entries from {} on are missing",
                            range.size(),
                            range.size()
                        ),
                    )));
                }
                return Ok(None);
            }
            let prev = latest_checkpoint;
            let Some(note) = cps.value().and_then(|v| std::str::from_utf8(v).ok()) else {
                return Ok(Some((
                    prev,
                    format!("the checkpoint at size {cp_size} is not UTF-8"),
                )));
            };
            let cp = match Checkpoint::open(note, verifier, Some(&log_origin)) {
                Ok(cp) => cp,
                Err(e) => {
                    return Ok(Some((
                        prev,
                        format!("the checkpoint at size {cp_size} does not verify: {e}"),
                    )));
                }
            };
            if cp.size != cp_size {
                return Ok(Some((
                    prev,
                    format!(
                        "the checkpoint stored under size {cp_size} is for size {}",
                        cp.size
                    ),
                )));
            }
            if cp.root != range.root() {
                return Ok(Some((
                    prev,
                    format!(
                        "entries [{prev}, {cp_size}) do not hash to the root signed in the \
                         checkpoint at size {cp_size}"
                    ),
                )));
            }
            checkpoints += 1;
            latest_checkpoint = cp_size;
            cps.next();
        }
        cps.status().map_err(|e| AuditError::Db(e.into_string()))?;
        Ok(None)
    };

    if let Some((i, r)) = check_checkpoints(&mut cps, &range, size == 0)? {
        return disagree(i, r);
    }
    // Entries are read, checked and leaf-hashed on a second thread while this one builds the
    // tree, compares it with the stored hashes and checks checkpoints: the two halves of the
    // work run on two cores, and the order of the findings is the same as in one pass.
    let verdict = std::thread::scope(|scope| -> Result<Option<Verdict>, AuditError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(8);
        scope.spawn(move || read_leaves(entries, size, &tx));
        let mut index = 0u64;
        for chunk in rx {
            for leaf in chunk.leaves {
                let mut failed = None;
                range.push(leaf, |id, h| {
                    if failed.is_none() {
                        if let Err(e) = levels.check(id, h) {
                            failed = Some(e);
                        }
                    }
                });
                if let Some((i, r)) = failed {
                    return Ok(Some(Verdict::Disagrees {
                        index: i,
                        reason: r,
                    }));
                }
                if let Some((i, r)) = check_checkpoints(&mut cps, &range, index + 1 == size)? {
                    return Ok(Some(Verdict::Disagrees {
                        index: i,
                        reason: r,
                    }));
                }
                index += 1;
                if index & 0xfff == 0 && last_report.elapsed() >= Duration::from_millis(200) {
                    progress(index, size);
                    last_report = Instant::now();
                }
            }
            match chunk.stop {
                Some(Stop::Disagrees(i, r)) => {
                    return Ok(Some(Verdict::Disagrees {
                        index: i,
                        reason: r,
                    }));
                }
                Some(Stop::Db(e)) => return Err(AuditError::Db(e)),
                None => {}
            }
        }
        Ok(None)
    })?;
    if let Some(v) = verdict {
        return Ok(v);
    }
    progress(size, size);
    Ok(Verdict::Verified {
        size,
        root: range.root(),
        checkpoints,
        latest_checkpoint,
    })
}

/// A progress printer for a terminal: one line, rewritten in place, on standard error.
pub fn terminal_progress() -> impl FnMut(u64, u64) {
    let start = Instant::now();
    move |done, total| {
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        let mut err = std::io::stderr();
        let _ = write!(
            err,
            "\rverified {done} of {total} entries ({:.0} entries/s)   ",
            done as f64 / secs
        );
        if done == total {
            let _ = writeln!(err);
        }
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn top_level_members_skip_nested_and_quoted_names() {
        let j = br#"{"a":"x\"index\":9","detail":{"index":5,"time":"no"},"index":42,"time":"2026-11-21T00:00:00.000Z"}"#;
        assert_eq!(top_level_member(j, b"index"), Some(&b"42"[..]));
        assert_eq!(
            top_level_member(j, b"time"),
            Some(&b"2026-11-21T00:00:00.000Z"[..])
        );
        assert_eq!(top_level_member(j, b"zzz"), None);
        assert_eq!(top_level_member(b"{\"index\":", b"index"), Some(&b""[..]));
    }
}
