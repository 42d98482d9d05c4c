//! The append-only audit log of one node: opening a store and checking it against itself and
//! against the last checkpoint this node signed, appends, proofs, and checkpoint signing.
//!
//! The bytes live in [`crate::store`]: its group commit writer gives entries their indexes and
//! times and writes them with the callers' own records in one synced batch. This module keeps
//! the log's rules: it never opens a store that disagrees with what was signed, and never signs
//! a tree that does not extend the last one.
//!
//! The last checkpoint the node signed is also kept in a *state file* outside the data
//! directory. Opening a store that is behind that checkpoint (a restored backup) or
//! disagrees with it is refused.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::checkpoint::Checkpoint;
use super::entry::{EntryDraft, EntryError, HolderKey};
use super::error::AuditError;
use super::merkle::{self, CompactRange, Hash, ProofPlan};
use super::note::{NoteSigner, NoteVerifier};
use super::proof_file::TlogProof;
use crate::store::{
    Announced, Committed, Pending, Receipt, Records, State, Store, Table, Write, Writer,
};

/// How to open the log.
pub struct LogConfig {
    /// Checkpoint origin line, for example `zhengzhao/370900`.
    pub origin: String,
    /// The node's checkpoint signing key.
    pub signer: NoteSigner,
    /// File outside the data directory that keeps the last checkpoint signed.
    pub state_file: PathBuf,
    /// How often to sign a new checkpoint when the log has grown; `None` for only on demand.
    pub checkpoint_interval: Option<Duration>,
    /// Accept a store whose checkpoints have no state file yet (first start with a new state
    /// file path for an existing store). Off by default: a missing state file is refused.
    pub adopt_store: bool,
    /// The node's holder key: a holder code found in an entry's text is written as its keyed
    /// hash (`<holder:HASH>`). Without one, as `<redacted>`.
    pub holder_key: Option<HolderKey>,
}

impl fmt::Debug for LogConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogConfig")
            .field("origin", &self.origin)
            .field("signer", &self.signer.name())
            .field("state_file", &self.state_file)
            .field("checkpoint_interval", &self.checkpoint_interval)
            .field("adopt_store", &self.adopt_store)
            .field("holder_key", &self.holder_key.is_some())
            .finish()
    }
}

/// The default origin of a region's log.
pub fn default_origin(region: &str) -> String {
    format!("zhengzhao/{region}")
}

/// A checkpoint this log signed: its parsed body and the note text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The signed note.
    pub note: String,
}

struct Inner {
    /// The store and the head of the tree as the writer committed it.
    log: Arc<Committed>,
    origin: String,
    signer: NoteSigner,
    verifier: NoteVerifier,
    state_file: PathBuf,
    /// Serialises checkpoint signing, held through its writes and syncs.
    signing: Mutex<()>,
    /// The last checkpoint signed, published once it is on disk; held only to read or replace
    /// it, so readers never wait for a checkpoint's sync.
    last: Mutex<Option<SignedCheckpoint>>,
    /// The key entries' text is redacted with.
    holder_key: Option<HolderKey>,
}

impl Inner {
    fn store(&self) -> &Store {
        self.log.store()
    }
}

/// The append-only audit log of one node.
pub struct AuditLog {
    inner: Arc<Inner>,
    writer: Writer,
    stop: Mutex<Option<mpsc::Sender<()>>>,
    timer: Mutex<Option<JoinHandle<()>>>,
}

/// Write `text` to `path` so that a crash leaves the old file or the new one: a temporary file
/// in the same directory, synced, renamed over, and the directory synced.
fn write_atomically(path: &Path, text: &str) -> Result<(), AuditError> {
    let io = |e: std::io::Error| AuditError::Io(format!("{}: {e}", path.display()));
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    {
        let mut f = fs::File::create(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    fs::rename(&tmp, path).map_err(io)?;
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    Ok(())
}

impl AuditLog {
    /// Open (or create) the log in `dir`. Checks that the store agrees with itself and with
    /// the last checkpoint this node signed, then starts the writer (and the checkpoint timer).
    pub fn open(dir: &Path, config: LogConfig) -> Result<AuditLog, AuditError> {
        let db = Store::open(dir)?;
        let verifier = config.signer.verifier();

        // The origin is fixed when the store is created.
        match db.origin()? {
            Some(o) if o != config.origin => {
                return Err(AuditError::Inconsistent(format!(
                    "the store belongs to log `{o}`, not `{}`",
                    config.origin
                )));
            }
            Some(_) => {}
            None => db.set_origin(&config.origin)?,
        }

        let size = db.size()?;
        // Entries are dense: the last one is at size - 1 and there is none beyond.
        let last_key = db.last_entry_index()?;
        if last_key.map_or(0, |k| k + 1) != size {
            return Err(AuditError::Inconsistent(format!(
                "metadata says {size} entries but the last entry stored is {last_key:?}"
            )));
        }
        // The peaks largest first, as `CompactRange` keeps them (a root plan's nodes are sorted
        // by level, smallest first: reversed peaks would give a wrong root and wrong hashes for
        // every subtree completed after the restart).
        let peaks = db.nodes(&merkle::decompose(0, size))?;
        let range = CompactRange::from_peaks(size, peaks)
            .ok_or_else(|| AuditError::Inconsistent("peak hashes do not fit the size".into()))?;
        let time_ms = db.time_ms()?;

        // The checkpoints in the store must verify and agree with the tree.
        let stored = db.checkpoints()?;
        let mut last_stored: Option<SignedCheckpoint> = None;
        if let Some((cp_size, note)) = stored.last() {
            let cp = Checkpoint::open(note, &verifier, Some(&config.origin))?;
            if cp.size != *cp_size || cp.size > size || db.root(cp.size)? != cp.root {
                return Err(AuditError::Inconsistent(format!(
                    "the stored checkpoint at size {cp_size} does not match the stored tree"
                )));
            }
            last_stored = Some(SignedCheckpoint {
                checkpoint: cp,
                note: note.clone(),
            });
        }

        // The state file outside the store is the authority on what was signed.
        let state_text = match fs::read_to_string(&config.state_file) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(AuditError::Io(format!(
                    "{}: {e}",
                    config.state_file.display()
                )));
            }
        };
        let state_name = config.state_file.display().to_string();
        let last = match state_text {
            Some(note) => {
                let cp = Checkpoint::open(&note, &verifier, Some(&config.origin)).map_err(|e| {
                    AuditError::Io(format!(
                        "{state_name}: not a checkpoint signed by this node: {e}"
                    ))
                })?;
                if cp.size > size {
                    return Err(AuditError::RolledBack {
                        store_size: size,
                        signed_size: cp.size,
                        state_file: state_name,
                    });
                }
                if db.root(cp.size)? != cp.root {
                    return Err(AuditError::Inconsistent(format!(
                        "the store's tree at size {} differs from the checkpoint this node signed \
                         (state file {state_name}): history was rewritten",
                        cp.size
                    )));
                }
                if let Some(s) = &last_stored
                    && s.checkpoint.size > cp.size
                {
                    return Err(AuditError::Inconsistent(format!(
                        "the store holds a checkpoint at size {} newer than the state file's {}",
                        s.checkpoint.size, cp.size
                    )));
                }
                // A crash between the state file and the store leaves the newest only in the file.
                if last_stored.as_ref().map(|s| s.checkpoint.size) != Some(cp.size) {
                    db.put_checkpoint(cp.size, &note)?;
                }
                Some(SignedCheckpoint {
                    checkpoint: cp,
                    note,
                })
            }
            None => match last_stored {
                Some(s) if !config.adopt_store => {
                    return Err(AuditError::Inconsistent(format!(
                        "the store holds checkpoints up to size {} but the state file {state_name} \
                         is missing; restore it, or adopt the store as it is on purpose",
                        s.checkpoint.size
                    )));
                }
                Some(s) => {
                    write_atomically(&config.state_file, &s.note)?;
                    Some(s)
                }
                None => None,
            },
        };

        let writer = Writer::start(db, range, time_ms)?;
        let inner = Arc::new(Inner {
            log: Arc::clone(writer.committed()),
            origin: config.origin,
            signer: config.signer,
            verifier,
            state_file: config.state_file,
            signing: Mutex::new(()),
            last: Mutex::new(last),
            holder_key: config.holder_key,
        });

        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let mut timer = None;
        if let Some(every) = config.checkpoint_interval {
            let cp_inner = Arc::clone(&inner);
            timer = Some(
                std::thread::Builder::new()
                    .name("audit-checkpoint".into())
                    .spawn(move || {
                        while let Err(mpsc::RecvTimeoutError::Timeout) = stop_rx.recv_timeout(every)
                        {
                            if let Err(e) = cp_inner.checkpoint(false) {
                                tracing::error!(error = %e, "signing a checkpoint failed");
                            }
                        }
                    })
                    .map_err(|e| {
                        AuditError::Io(format!("cannot start the checkpoint timer: {e}"))
                    })?,
            );
        }
        Ok(AuditLog {
            inner,
            writer,
            stop: Mutex::new(Some(stop_tx)),
            timer: Mutex::new(timer),
        })
    }

    /// Queue entries (logged consecutively, in order) and the caller's own writes, to be written
    /// in one synced batch.
    pub fn submit(
        &self,
        drafts: Vec<EntryDraft>,
        writes: Vec<Write>,
    ) -> Result<Pending, AuditError> {
        if drafts.is_empty() {
            return Err(AuditError::Entry(EntryError::Member {
                member: "entries",
                reason: "an append needs at least one entry".into(),
            }));
        }
        // Checked and serialised here, on the caller's thread: the single writer only joins
        // each entry's parts with its index and time. A refused entry uses up no index.
        let entries = drafts
            .iter()
            .map(|d| d.prepare_keyed(self.inner.holder_key.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(AuditError::Entry)?;
        self.writer.submit(entries, writes)
    }

    /// Announces an append this caller is about to submit (a request being served), until the
    /// returned value is dropped. While appends are announced and the last group was shared,
    /// the writer waits a little for them before paying for a sync; once none is, it writes at
    /// once, so a caller never waits for an append that is not coming.
    pub fn announce(&self) -> Announced {
        self.writer.announce()
    }

    /// How many appends are announced and not yet withdrawn.
    pub fn announced(&self) -> usize {
        self.writer.announced()
    }

    /// Whether the log still accepts appends: false once a write has failed (until reopened)
    /// or once it is closed.
    pub fn healthy(&self) -> bool {
        self.writer.healthy()
    }

    /// Writes to the state table alone, synced, with no entry: only for records that are not
    /// accesses to licences or personal data (a witness's cosigned state of a partner's log).
    pub fn write_state(&self, writes: Vec<Write>) -> Result<(), AuditError> {
        self.writer.write_state(writes)
    }

    /// Append one entry with the caller's writes and wait until it is on disk.
    pub fn append(&self, draft: EntryDraft, writes: Vec<Write>) -> Result<Receipt, AuditError> {
        self.submit(vec![draft], writes)?.wait()
    }

    /// Append several entries (consecutive indexes) and wait until they are on disk.
    pub fn append_many(&self, drafts: Vec<EntryDraft>) -> Result<Receipt, AuditError> {
        self.submit(drafts, Vec::new())?.wait()
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The checkpoint verifier key of this log, in C2SP form.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.inner.verifier
    }

    /// Entries durably appended.
    pub fn size(&self) -> u64 {
        self.inner.log.size()
    }

    /// Root of the log as it is now, with its size.
    pub fn head(&self) -> Result<(u64, Hash), AuditError> {
        self.inner.log.head()
    }

    /// Root of the tree of the first `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash, AuditError> {
        self.check_size("size", size)?;
        self.inner.store().root(size)
    }

    fn check_size(&self, what: &'static str, asked: u64) -> Result<(), AuditError> {
        let size = self.size();
        if asked > size {
            return Err(AuditError::Beyond { what, asked, size });
        }
        Ok(())
    }

    /// Inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, AuditError> {
        self.check_size("tree size", size)?;
        self.inner
            .store()
            .proof(&ProofPlan::inclusion(index, size)?)
    }

    /// Consistency proof between the trees of `first` and `second` entries.
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, AuditError> {
        self.check_size("tree size", second)?;
        self.inner
            .store()
            .proof(&ProofPlan::consistency(first, second)?)
    }

    /// The exact bytes of entry `index`, if it exists.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, AuditError> {
        if index >= self.size() {
            return Ok(None);
        }
        self.inner.store().entry(index)
    }

    /// Entries `[from, to)` (clipped to the log), with their indexes.
    pub fn entries(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, AuditError> {
        self.entries_within(from, to, usize::MAX)
    }

    /// Entries `[from, to)` as [`AuditLog::entries`], stopping before the entry that would make
    /// their lines (each entry's bytes and a newline) more than `max_bytes` in all; the first
    /// entry is always included.
    pub fn entries_within(
        &self,
        from: u64,
        to: u64,
        max_bytes: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, AuditError> {
        let to = to.min(self.size());
        self.inner.store().entries_within(from, to, max_bytes)
    }

    /// A record of the node's own, from the `state` table, by its raw key (prefer the typed
    /// reads of [`AuditLog::state`]).
    pub fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, AuditError> {
        self.inner.store().get(table, key)
    }

    /// Records of the `state` table whose raw keys start with `prefix`, in key order (prefer
    /// the typed reads of [`AuditLog::state`]).
    pub fn scan(&self, table: Table, prefix: &[u8]) -> Result<Records, AuditError> {
        self.inner.store().scan(table, prefix)
    }

    /// Typed reads of the node's own records (licences, holder index, consents, witness state,
    /// trust lists).
    pub fn state(&self) -> State<'_> {
        State::of(self.inner.store())
    }

    /// The last checkpoint signed, if any.
    pub fn latest_checkpoint(&self) -> Option<SignedCheckpoint> {
        self.inner.last.lock().ok().and_then(|l| l.clone())
    }

    /// The stored checkpoint of exactly `size` entries, if one was signed.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<String>, AuditError> {
        self.inner.store().checkpoint(size)
    }

    /// Sign a checkpoint of the log as it is now, unless the last one already covers it.
    pub fn checkpoint_now(&self) -> Result<SignedCheckpoint, AuditError> {
        self.inner
            .checkpoint(true)?
            .ok_or(AuditError::Inconsistent("no checkpoint".into()))
    }

    /// An offline proof (C2SP tlog-proof) that entry `index` is in the latest checkpoint.
    pub fn tlog_proof(&self, index: u64) -> Result<TlogProof, AuditError> {
        let cp = self.latest_checkpoint().ok_or(AuditError::Inconsistent(
            "no checkpoint has been signed yet".into(),
        ))?;
        if index >= cp.checkpoint.size {
            return Err(AuditError::Beyond {
                what: "entry index",
                asked: index,
                size: cp.checkpoint.size,
            });
        }
        let hashes = self.inclusion_proof(index, cp.checkpoint.size)?;
        Ok(TlogProof {
            extra: None,
            index,
            hashes,
            checkpoint: cp.note,
        })
    }

    /// Stop the writer and timer after the appends already queued, and flush the memtables so
    /// the write-ahead log is not replayed at the next open.
    pub fn close(&self) {
        if let Ok(mut stop) = self.stop.lock() {
            stop.take();
        }
        self.writer.close();
        if let Ok(mut timer) = self.timer.lock()
            && let Some(t) = timer.take()
        {
            let _ = t.join();
        }
        self.inner.store().flush();
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.close();
    }
}

impl Inner {
    /// Sign a checkpoint if the log has grown (or if `always` and none exists for this size).
    fn checkpoint(&self, always: bool) -> Result<Option<SignedCheckpoint>, AuditError> {
        let _signing = self.signing.lock().map_err(|_| AuditError::Closed)?;
        // Only a signer replaces `last`, and this one holds `signing`: the copy stays current.
        let last = self.last.lock().map_err(|_| AuditError::Closed)?.clone();
        let (size, root) = self.log.head()?;
        if let Some(prev) = last.as_ref() {
            let p = &prev.checkpoint;
            if p.size == size {
                if p.root != root {
                    return Err(AuditError::Inconsistent(format!(
                        "the tree at size {size} differs from the last checkpoint; refusing to sign"
                    )));
                }
                return Ok(if always { Some(prev.clone()) } else { None });
            }
            if p.size > size {
                return Err(AuditError::Inconsistent(format!(
                    "the log is at size {size}, behind its last checkpoint at {}; refusing to sign",
                    p.size
                )));
            }
            // Never sign a view that does not extend the last one. Every tree extends the empty
            // tree, which has no consistency proof.
            if p.size == 0 {
                if p.root != merkle::empty_root() {
                    return Err(AuditError::Inconsistent(
                        "the last checkpoint is of size 0 with a root other than the empty tree's"
                            .into(),
                    ));
                }
            } else {
                let proof = self.store().proof(&ProofPlan::consistency(p.size, size)?)?;
                merkle::verify_consistency(p.size, size, &proof, &p.root, &root).map_err(|e| {
                    AuditError::Inconsistent(format!(
                        "the tree at size {size} is not consistent with the checkpoint at {}: {e}; \
                     refusing to sign",
                        p.size
                    ))
                })?;
            }
        } else if size == 0 && !always {
            return Ok(None);
        }
        let checkpoint = Checkpoint {
            origin: self.origin.clone(),
            size,
            root,
            extensions: Vec::new(),
        };
        let note = checkpoint.sign(&self.signer)?;
        // The state file first: once it is on disk the store can never be opened behind it.
        write_atomically(&self.state_file, &note)?;
        self.store().put_checkpoint(size, &note)?;
        let signed = SignedCheckpoint { checkpoint, note };
        *self.last.lock().map_err(|_| AuditError::Closed)? = Some(signed.clone());
        Ok(Some(signed))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Reading the last checkpoint does not wait for one being signed and synced: the signer
    /// holds its own lock through its writes, and `last` only to publish the result.
    #[test]
    fn readers_of_the_last_checkpoint_do_not_wait_for_one_being_signed() {
        let dir = tempfile::tempdir().unwrap();
        let (signer, _) = NoteSigner::generate("example.org/read-test").unwrap();
        let log = AuditLog::open(
            &dir.path().join("db"),
            LogConfig {
                origin: "example.org/read-test".into(),
                signer,
                state_file: dir.path().join("checkpoint.note"),
                checkpoint_interval: None,
                adopt_store: false,
                holder_key: None,
            },
        )
        .unwrap();
        let first = log.checkpoint_now().unwrap();
        // A signer in the middle of its writes.
        let signing = log.inner.signing.lock().unwrap();
        let read = std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel();
            let log = &log;
            scope.spawn(move || {
                let _ = tx.send(log.latest_checkpoint());
            });
            let read = rx.recv_timeout(Duration::from_secs(10));
            drop(signing);
            read
        });
        assert_eq!(
            read.expect("the reader waited for the signer")
                .map(|c| c.note),
            Some(first.note)
        );
    }
}
