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

use super::checkpoint::Checkpoint;
use super::error::AuditError;
use super::merkle::{self, CompactRange, Hash, NodeId};
use super::note::{Note, NoteError, NoteVerifier};
use crate::store::{CheckpointCursor, EntryCursor, StoreReader, TreeCursor};

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
    /// The verifier key signed none of the log's checkpoints: the key of another log (or
    /// another key of this one), which says nothing about the log itself.
    WrongKey {
        /// The key, and the keys the first checkpoint is signed by.
        reason: String,
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

/// The raw text of a top-level string or integer member value starting at `i` (just after
/// the colon), and the position after it.
fn member_value(json: &[u8], i: usize) -> Option<&[u8]> {
    let mut j = i;
    if json.get(j) == Some(&b'"') {
        j += 1;
        while j < json.len() && json[j] != b'"' {
            j += if json[j] == b'\\' { 2 } else { 1 };
        }
        return json.get(i + 1..j);
    }
    while j < json.len() && json[j].is_ascii_digit() {
        j += 1;
    }
    json.get(i..j)
}

/// Find the top-level `index` and `time` members of a canonical entry in one pass, without a
/// full parse: their raw value texts. Nested members and names inside strings are skipped; the
/// scan stops once both are found.
fn index_and_time(json: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    let (mut index, mut time) = (None, None);
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
                let key = json.get(start..i.min(json.len())).unwrap_or_default();
                i += 1;
                if depth == 1 && json.get(i) == Some(&b':') {
                    if key == b"index" && index.is_none() {
                        index = member_value(json, i + 1);
                    } else if key == b"time" && time.is_none() {
                        time = member_value(json, i + 1);
                    }
                    if index.is_some() && time.is_some() {
                        break;
                    }
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    (index, time)
}

struct Levels<'a> {
    reader: &'a StoreReader,
    iters: Vec<TreeCursor<'a>>,
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
            let Ok(mut it) = self.reader.tree_cursor() else {
                return Err((id.first_leaf(), "the tree column family is missing".into()));
            };
            it.seek_level(level);
            self.iters.push(it);
        }
        let it = &mut self.iters[usize::from(id.level)];
        let value = match it.current() {
            Some((Some(got), v)) if got == id => v,
            Some((Some(got), _)) if got.level == id.level => {
                let what = if got.index > id.index {
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
                    let e = db_message(e);
                    return Err((id.first_leaf(), format!("reading the tree: {e}")));
                }
                return Err((
                    id.first_leaf(),
                    format!("the stored hash of the {} is missing", where_()),
                ));
            }
        };
        if value != hash.as_slice() {
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

/// One chunk of entries read, checked and leaf-hashed by a reader thread.
struct Chunk {
    /// Index of its first entry.
    first: u64,
    leaves: Vec<Hash>,
    /// `time` of its first and last entries (empty if it has none).
    first_time: Vec<u8>,
    last_time: Vec<u8>,
    /// Why the reader stopped inside this chunk, if it did.
    stop: Option<Stop>,
}

enum Stop {
    Disagrees(u64, String),
    Db(String),
}

/// The message of a failed read, as the store reported it.
fn db_message(e: AuditError) -> String {
    match e {
        AuditError::Db(m) => m,
        other => other.to_string(),
    }
}

/// Entries per chunk.
const CHUNK: u64 = 4096;

/// Read, check and leaf-hash entries `[first, end)`: each is in place, states its index and
/// does not go back in time from the one before it in the chunk. `last` says this chunk ends
/// the log, so nothing may follow it. Stops at the first problem.
fn read_chunk(entries: &mut EntryCursor<'_>, first: u64, end: u64, last: bool) -> Chunk {
    let mut chunk = Chunk {
        first,
        leaves: Vec::with_capacity((end - first) as usize),
        first_time: Vec::new(),
        last_time: Vec::new(),
        stop: None,
    };
    entries.seek(first);
    let disagrees = |i: u64, r: String| Some(Stop::Disagrees(i, r));
    for index in first..end {
        let Some((key, bytes)) = entries.current() else {
            chunk.stop = match entries.status() {
                Err(e) => Some(Stop::Db(db_message(e))),
                Ok(()) => disagrees(
                    index,
                    format!(
                        "entry {index} is missing: the log ends before the recorded size {end}"
                    ),
                ),
            };
            return chunk;
        };
        match key {
            Some(k) if k == index => {}
            Some(k) if k > index => {
                chunk.stop = disagrees(index, format!("entry {index} is missing"));
                return chunk;
            }
            _ => {
                chunk.stop = disagrees(index, format!("an unexpected key precedes entry {index}"));
                return chunk;
            }
        }
        // The entry must say where it belongs and must not go back in time.
        let (stated, time) = index_and_time(bytes);
        let stated = stated
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse::<u64>().ok());
        if stated != Some(index) {
            let stated =
                stated.map_or_else(|| "no valid index".to_owned(), |s| format!("index {s}"));
            chunk.stop = disagrees(index, format!("entry {index} states {stated}"));
            return chunk;
        }
        match time {
            Some(t) if t.len() == 24 => {
                if index == first {
                    chunk.first_time.extend_from_slice(t);
                } else if t < chunk.last_time.as_slice() {
                    chunk.stop = disagrees(
                        index,
                        format!("entry {index} is older than entry {}", index - 1),
                    );
                    return chunk;
                }
                chunk.last_time.clear();
                chunk.last_time.extend_from_slice(t);
            }
            _ => {
                chunk.stop = disagrees(index, format!("entry {index} has no valid time"));
                return chunk;
            }
        }
        chunk.leaves.push(merkle::leaf_hash(bytes));
        entries.next();
    }
    if last {
        chunk.stop = if entries.valid() {
            disagrees(
                end,
                format!("entries are stored beyond the recorded size {end}"),
            )
        } else {
            entries.status().err().map(|e| Stop::Db(db_message(e)))
        };
    }
    chunk
}

/// A reader thread: chunks `worker, worker + workers, …` of the entries `0..size`, in order,
/// each sent as soon as it is read. Stops after a chunk that found a problem, or when the
/// receiver is gone.
fn read_leaves(
    mut entries: EntryCursor<'_>,
    size: u64,
    worker: u64,
    workers: u64,
    tx: &std::sync::mpsc::SyncSender<Chunk>,
) {
    let mut c = worker;
    while c * CHUNK < size {
        let first = c * CHUNK;
        let end = (first + CHUNK).min(size);
        let chunk = read_chunk(&mut entries, first, end, end == size);
        let stop = chunk.stop.is_some();
        if tx.send(chunk).is_err() || stop {
            return;
        }
        c += workers;
    }
}

/// A key id as the note's signature lines carry it, in hex.
fn hex_key_id(id: [u8; 4]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// The keys (name and key id) whose signatures a note carries, for a message.
fn signers_of(note: &str) -> String {
    match Note::parse(note) {
        Ok(n) if !n.signatures.is_empty() => n
            .signatures
            .iter()
            .map(|s| format!("{} {}", s.name, hex_key_id(s.key_id)))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "no key".to_owned(),
    }
}

/// Reader threads: one per core beyond the tree builder's, at least one, at most four.
fn reader_threads() -> u64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    cores.clamp(1, 4)
}

/// Replay a store against the log's verifier key. `origin`, if given, must be the store's.
pub fn replay(
    reader: &StoreReader,
    verifier: &NoteVerifier,
    origin: Option<&str>,
    progress: Progress<'_>,
) -> Result<Verdict, AuditError> {
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

    let (Ok(mut entries), Ok(mut cps)) = (reader.entry_cursor(), reader.checkpoint_cursor()) else {
        return Err(AuditError::Inconsistent(
            "column families are missing".into(),
        ));
    };
    cps.seek_to_first();
    let mut levels = Levels {
        reader,
        iters: Vec::new(),
    };
    let mut range = CompactRange::new();
    let mut checkpoints = 0u64;
    let mut latest_checkpoint = 0u64;
    let mut last_report = Instant::now();

    // Check every checkpoint stored at the current size.
    // Set when the first checkpoint is not signed by the key at all (see below).
    let wrong_key: std::cell::Cell<Option<String>> = std::cell::Cell::new(None);
    let stopped = |index: u64, reason: String| match wrong_key.take() {
        Some(reason) => Verdict::WrongKey { reason },
        None => Verdict::Disagrees { index, reason },
    };
    let mut check_checkpoints = |cps: &mut CheckpointCursor<'_>,
                                 range: &CompactRange,
                                 end: bool|
     -> Result<Option<(u64, String)>, AuditError> {
        while let Some((k, v)) = cps.current() {
            let Some(cp_size) = k else {
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
            let Ok(note) = std::str::from_utf8(v) else {
                return Ok(Some((
                    prev,
                    format!("the checkpoint at size {cp_size} is not UTF-8"),
                )));
            };
            let cp = match Checkpoint::open(note, verifier, Some(&log_origin)) {
                Ok(cp) => cp,
                // The first checkpoint carries no signature by this key: the wrong key, not a
                // log that disagrees. (A later one without it, after others verified, is a
                // disagreement: the log's key does not change.)
                Err(NoteError::NoMatchingSignature { .. }) if checkpoints == 0 => {
                    wrong_key.set(Some(format!(
                        "this key ({} {}) did not sign the log's checkpoints; the first, at size \
                         {cp_size}, is signed by {}",
                        verifier.name(),
                        hex_key_id(verifier.key_id()),
                        signers_of(note)
                    )));
                    return Ok(Some((prev, String::new())));
                }
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
        cps.status()?;
        Ok(None)
    };

    if let Some((i, r)) = check_checkpoints(&mut cps, &range, size == 0)? {
        return Ok(stopped(i, r));
    }
    // Entries are read, checked and leaf-hashed by reader threads, each taking every
    // `workers`-th chunk with its own iterator, while this thread builds the tree from their
    // leaves in index order, compares it with the stored hashes and checks checkpoints. The
    // order of the findings is that of one sequential pass: chunks are consumed in order, and
    // the time order across a chunk boundary is checked here.
    if size == 0 {
        entries.seek_to_first();
        if entries.valid() {
            return disagree(0, "entries are stored beyond the recorded size 0".into());
        }
        entries.status()?;
    }
    let workers = reader_threads();
    let verdict = std::thread::scope(|scope| -> Result<Option<Verdict>, AuditError> {
        let mut rxs = Vec::new();
        for w in 0..workers {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(4);
            let it = reader.entry_cursor()?;
            scope.spawn(move || read_leaves(it, size, w, workers, &tx));
            rxs.push(rx);
        }
        let mut index = 0u64;
        let mut last_time: Vec<u8> = Vec::new();
        let mut c = 0u64;
        while index < size {
            let Ok(chunk) = rxs[(c % workers) as usize].recv() else {
                return Err(AuditError::Db(format!(
                    "a reader thread stopped before entry {index}"
                )));
            };
            c += 1;
            debug_assert_eq!(chunk.first, index);
            if !chunk.first_time.is_empty() && chunk.first_time < last_time {
                return Ok(Some(Verdict::Disagrees {
                    index,
                    reason: format!(
                        "entry {index} is older than entry {}",
                        index.saturating_sub(1)
                    ),
                }));
            }
            if !chunk.last_time.is_empty() {
                last_time = chunk.last_time;
            }
            for leaf in chunk.leaves {
                let mut failed = None;
                range.push(leaf, |id, h| {
                    if failed.is_none()
                        && let Err(e) = levels.check(id, h)
                    {
                        failed = Some(e);
                    }
                });
                if let Some((i, r)) = failed {
                    return Ok(Some(Verdict::Disagrees {
                        index: i,
                        reason: r,
                    }));
                }
                if let Some((i, r)) = check_checkpoints(&mut cps, &range, index + 1 == size)? {
                    return Ok(Some(stopped(i, r)));
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
        assert_eq!(
            index_and_time(j),
            (Some(&b"42"[..]), Some(&b"2026-11-21T00:00:00.000Z"[..]))
        );
        assert_eq!(index_and_time(br#"{"a":1}"#), (None, None));
        assert_eq!(index_and_time(b"{\"index\":"), (Some(&b""[..]), None));
        assert_eq!(
            index_and_time(b"{\"time\":\"abc"),
            (None, Some(&b"abc"[..]))
        );
    }
}
