//! The node's storage: one RocksDB database, owned by this module.
//!
//! Column families:
//! - `audit_entries`: entry index (u64, big-endian) → the entry's exact bytes (the leaf).
//! - `audit_tree`: level (u8) ‖ index (u64, big-endian) → the 32-byte hash of that perfect
//!   subtree (level 0: leaf hashes). Every completed perfect subtree is stored, as tlog tiles do,
//!   so any root or proof costs O(log n) reads.
//! - `audit_checkpoints`: tree size (u64, big-endian) → the signed checkpoint note.
//! - `audit_meta`: `origin`, `size` (u64 big-endian) and `time_ms` (i64 big-endian, the last
//!   entry's time).
//! - `state`: the node's own records, written only together with an audit entry
//!   ([`Write`]).
//!
//! Appends go through one writer thread: it takes every request waiting, gives the entries
//! their indexes and times, and writes them, their tree hashes and the callers' own writes in one
//! synced `WriteBatch` (group commit). A caller hears back only after that batch is on disk; a
//! crash leaves the whole batch or none of it.
//!
//! The last checkpoint the node signed is also kept in a *state file* outside the data
//! directory. Opening a store that is behind that checkpoint (a restored backup) or
//! disagrees with it is refused.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use rocksdb::{
    BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType, Direction,
    IteratorMode, Options, ReadOptions, WriteBatch, WriteOptions,
};
use thiserror::Error;

use super::checkpoint::Checkpoint;
use super::entry::{EntryDraft, EntryError, HolderKey, PreparedEntry, format_time, now_unix_ms};
use super::merkle::{self, CompactRange, Hash, NodeId, ProofError, ProofPlan};
use super::note::{NoteError, NoteSigner, NoteVerifier};
use super::proof_file::TlogProof;

/// Column family of entries.
pub const CF_ENTRIES: &str = "audit_entries";
/// Column family of perfect-subtree hashes.
pub const CF_TREE: &str = "audit_tree";
/// Column family of signed checkpoints.
pub const CF_CHECKPOINTS: &str = "audit_checkpoints";
/// Column family of log metadata.
pub const CF_META: &str = "audit_meta";
/// Column family of the node's own records.
pub const CF_STATE: &str = "state";
/// Every column family, in the order they are opened.
pub const COLUMN_FAMILIES: [&str; 5] = [CF_ENTRIES, CF_TREE, CF_CHECKPOINTS, CF_META, CF_STATE];

/// Most entries one synced write carries.
const MAX_GROUP_ENTRIES: usize = 4096;

/// The writer waits for more appends only after a group of at least this many entries.
const LINGER_FROM_GROUP: usize = 4;

/// The longest the writer waits for more appends before a synced write.
const MAX_LINGER: Duration = Duration::from_micros(500);

/// Why the audit log refused or failed.
#[derive(Debug, Error)]
pub enum AuditError {
    /// RocksDB reported an error; the operation did not happen.
    #[error("audit store: {0}")]
    Db(String),
    /// A file outside the database (state file, key) could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The entry was refused.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// A proof could not be made.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// A note or checkpoint was refused.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The store is behind the last checkpoint this node signed.
    #[error(
        "the audit store holds {store_size} entries, but this node signed a checkpoint at size \
         {signed_size} (state file {state_file}): the data directory was rolled back, for example \
         restored from an old backup; refusing to continue from an older log"
    )]
    RolledBack {
        /// Entries in the store.
        store_size: u64,
        /// Size of the last signed checkpoint.
        signed_size: u64,
        /// Where that checkpoint was kept.
        state_file: String,
    },
    /// The store disagrees with a checkpoint this node signed, or with itself.
    #[error("the audit store is inconsistent: {0}")]
    Inconsistent(String),
    /// The log is shutting down or its writer stopped.
    #[error("the audit log is closed")]
    Closed,
    /// A size or index beyond the log.
    #[error("{what} {asked} is beyond the log's size {size}")]
    Beyond {
        /// What was asked for.
        what: &'static str,
        /// The value asked for.
        asked: u64,
        /// The log's size.
        size: u64,
    },
}

fn db_err(e: rocksdb::Error) -> AuditError {
    AuditError::Db(e.into_string())
}

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

/// What an acknowledged append tells the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Index of the first entry written.
    pub index: u64,
    /// Leaf hash of each entry written, in order.
    pub leaf_hashes: Vec<Hash>,
    /// The time stamped on the entries.
    pub time: String,
}

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

struct Head {
    range: CompactRange,
    time_ms: i64,
}

struct Request {
    /// The entries, checked and serialised by the caller but for index and time.
    entries: Vec<PreparedEntry>,
    writes: Vec<Write>,
    reply: tokio::sync::oneshot::Sender<Result<Receipt, AuditError>>,
}

struct Inner {
    db: DB,
    origin: String,
    signer: NoteSigner,
    verifier: NoteVerifier,
    state_file: PathBuf,
    head: RwLock<Head>,
    /// Serialises checkpoint signing, held through its writes and syncs.
    signing: Mutex<()>,
    /// The last checkpoint signed, published once it is on disk; held only to read or replace
    /// it, so readers never wait for a checkpoint's sync.
    last: Mutex<Option<SignedCheckpoint>>,
    broken: AtomicBool,
    /// Appends announced and not yet submitted (see [`AuditLog::announce`]).
    announced: Arc<Announcements>,
    /// The key entries' text is redacted with.
    holder_key: Option<HolderKey>,
}

/// The appends announced to the writer, and how to wake it when the last is withdrawn.
#[derive(Default)]
struct Announcements {
    count: AtomicUsize,
    /// Set while the writer waits for announced appends.
    lingering: AtomicBool,
    /// The writer's thread, to unpark.
    writer: std::sync::OnceLock<std::thread::Thread>,
}

/// An append to come, announced to the log's writer; dropping it withdraws the announcement.
#[must_use = "the announcement lasts as long as the value"]
pub struct Announced(Arc<Announcements>);

impl Drop for Announced {
    fn drop(&mut self) {
        // The last withdrawal ends a writer's wait at once. Both sides use `SeqCst`: either the
        // writer sees the count at zero before it parks, or this sees it lingering and unparks
        // it (an unpark before the park makes the park return at once).
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1
            && self.0.lingering.load(Ordering::SeqCst)
            && let Some(writer) = self.0.writer.get()
        {
            writer.unpark();
        }
    }
}

/// The append-only audit log of one node.
pub struct AuditLog {
    inner: Arc<Inner>,
    tx: Mutex<Option<mpsc::Sender<Request>>>,
    stop: Mutex<Option<mpsc::Sender<()>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// An append waiting for its synced write.
pub struct Pending(tokio::sync::oneshot::Receiver<Result<Receipt, AuditError>>);

impl Pending {
    /// Block until the write is on disk (not from inside an async runtime: use
    /// [`Pending::recv`] there).
    pub fn wait(self) -> Result<Receipt, AuditError> {
        self.0.blocking_recv().unwrap_or(Err(AuditError::Closed))
    }

    /// Wait for the write from async code.
    pub async fn recv(self) -> Result<Receipt, AuditError> {
        self.0.await.unwrap_or(Err(AuditError::Closed))
    }

    /// Waits for the write like [`Pending::recv`], keeping `hold` (a lock over the state the
    /// write changes) until the write is on disk or has failed, even if the caller stops
    /// waiting: dropping the future early hands the wait and `hold` to a task of their own (or,
    /// outside a Tokio runtime, waits there and then).
    pub fn recv_holding<H: Send + Unpin + 'static>(self, hold: H) -> Holding<H> {
        Holding {
            rx: Some(self.0),
            hold: Some(hold),
        }
    }
}

/// The future of [`Pending::recv_holding`].
pub struct Holding<H: Send + Unpin + 'static> {
    rx: Option<tokio::sync::oneshot::Receiver<Result<Receipt, AuditError>>>,
    hold: Option<H>,
}

impl<H: Send + Unpin + 'static> std::future::Future for Holding<H> {
    type Output = Result<Receipt, AuditError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = &mut *self;
        let Some(rx) = this.rx.as_mut() else {
            return std::task::Poll::Ready(Err(AuditError::Closed));
        };
        match std::pin::Pin::new(rx).poll(cx) {
            std::task::Poll::Pending => std::task::Poll::Pending,
            std::task::Poll::Ready(r) => {
                this.rx = None;
                this.hold = None;
                std::task::Poll::Ready(r.unwrap_or(Err(AuditError::Closed)))
            }
        }
    }
}

impl<H: Send + Unpin + 'static> Drop for Holding<H> {
    fn drop(&mut self) {
        let (Some(rx), Some(hold)) = (self.rx.take(), self.hold.take()) else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let _ = rx.await;
                    drop(hold);
                });
            }
            Err(_) => {
                let _ = rx.blocking_recv();
                drop(hold);
            }
        }
    }
}

fn tree_key(id: NodeId) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = id.level;
    k[1..].copy_from_slice(&id.index.to_be_bytes());
    k
}

fn u64_of(bytes: &[u8], what: &str) -> Result<u64, AuditError> {
    let b: [u8; 8] = bytes
        .try_into()
        .map_err(|_| AuditError::Inconsistent(format!("{what} is not 8 bytes")))?;
    Ok(u64::from_be_bytes(b))
}

fn db_options() -> Options {
    let mut o = Options::default();
    o.create_if_missing(true);
    o.create_missing_column_families(true);
    o.set_paranoid_checks(true);
    o.set_max_background_jobs(2);
    // The small column families (meta, checkpoints, state) rarely fill a memtable; without a cap
    // they would keep every write-ahead log file alive, and a read-only open replays them all.
    o.set_max_total_wal_size(64 << 20);
    o
}

fn cf_descriptors() -> Vec<ColumnFamilyDescriptor> {
    COLUMN_FAMILIES
        .iter()
        .map(|&name| {
            let mut o = Options::default();
            if name == CF_ENTRIES || name == CF_STATE {
                o.set_compression_type(DBCompressionType::Lz4);
            } else {
                o.set_compression_type(DBCompressionType::None);
            }
            let mut t = BlockBasedOptions::default();
            t.set_block_size(16 * 1024);
            o.set_block_based_table_factory(&t);
            ColumnFamilyDescriptor::new(name, o)
        })
        .collect()
}

/// The block cache of a read-only reader, shared by its column families.
const READER_CACHE_BYTES: usize = 8 << 20;
/// Table files a read-only reader keeps open at once.
const READER_OPEN_FILES: i32 = 32;

/// Read access to a store: used by the log itself and, read-only, by the auditor's tools.
pub struct StoreReader {
    db: DB,
}

fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a ColumnFamily, AuditError> {
    db.cf_handle(name)
        .ok_or_else(|| AuditError::Inconsistent(format!("column family {name} is missing")))
}

impl StoreReader {
    /// Open a data directory read-only. Refuses a directory that holds no zhengzhao store.
    pub fn open(dir: &Path) -> Result<StoreReader, AuditError> {
        if !dir.join("CURRENT").exists() {
            return Err(AuditError::Io(format!(
                "{}: no audit store here",
                dir.display()
            )));
        }
        let mut o = Options::default();
        o.set_paranoid_checks(true);
        o.set_max_open_files(READER_OPEN_FILES);
        // Index blocks go through one small cache instead of staying with each open table, so
        // that a reader's memory does not grow with the store.
        let cache = rocksdb::Cache::new_lru_cache(READER_CACHE_BYTES);
        let cfs = COLUMN_FAMILIES.iter().map(|&name| {
            let mut t = BlockBasedOptions::default();
            t.set_block_cache(&cache);
            t.set_cache_index_and_filter_blocks(true);
            let mut o = Options::default();
            o.set_block_based_table_factory(&t);
            ColumnFamilyDescriptor::new(name, o)
        });
        let db = DB::open_cf_descriptors_read_only(&o, dir, cfs, false).map_err(db_err)?;
        Ok(StoreReader { db })
    }

    /// The underlying database.
    pub(crate) fn db(&self) -> &DB {
        &self.db
    }

    /// The origin recorded when the store was created.
    pub fn origin(&self) -> Result<Option<String>, AuditError> {
        meta_origin(&self.db)
    }

    /// Entries recorded as appended.
    pub fn size(&self) -> Result<u64, AuditError> {
        meta_size(&self.db)
    }

    /// Every stored checkpoint note, by size, smallest first.
    pub fn checkpoints(&self) -> Result<Vec<(u64, String)>, AuditError> {
        stored_checkpoints(&self.db)
    }

    /// The newest stored checkpoint note and its size.
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, AuditError> {
        let mut it = self
            .db
            .iterator_cf(cf(&self.db, CF_CHECKPOINTS)?, IteratorMode::End);
        let Some(item) = it.next() else {
            return Ok(None);
        };
        let (k, v) = item.map_err(db_err)?;
        let size = u64_of(&k, "checkpoint key")?;
        let note = String::from_utf8(v.into_vec()).map_err(|_| {
            AuditError::Inconsistent(format!("checkpoint at size {size} is not UTF-8"))
        })?;
        Ok(Some((size, note)))
    }

    /// The exact bytes of entry `index`, if stored.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, AuditError> {
        self.db
            .get_cf(cf(&self.db, CF_ENTRIES)?, index.to_be_bytes())
            .map_err(db_err)
    }

    /// Inclusion proof of entry `index` in the tree of `size` entries, from stored hashes.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, AuditError> {
        let stored = self.size()?;
        if size > stored {
            return Err(AuditError::Beyond {
                what: "tree size",
                asked: size,
                size: stored,
            });
        }
        plan_hashes(&self.db, &ProofPlan::inclusion(index, size)?)
    }

    /// Visit entries `[from, to)` in order with their exact bytes; stops at the first gap.
    pub fn for_each_entry(
        &self,
        from: u64,
        to: u64,
        mut visit: impl FnMut(u64, &[u8]) -> Result<(), AuditError>,
    ) -> Result<u64, AuditError> {
        let mut it = self.db.raw_iterator_cf(cf(&self.db, CF_ENTRIES)?);
        it.seek(from.to_be_bytes());
        let mut next = from;
        while next < to {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if u64_of(k, "entry key")? != next {
                return Err(AuditError::Inconsistent(format!("entry {next} is missing")));
            }
            visit(next, v)?;
            next += 1;
            it.next();
        }
        it.status().map_err(db_err)?;
        Ok(next - from)
    }
}

fn meta_origin(db: &DB) -> Result<Option<String>, AuditError> {
    let v = db.get_cf(cf(db, CF_META)?, b"origin").map_err(db_err)?;
    v.map(|b| {
        String::from_utf8(b).map_err(|_| AuditError::Inconsistent("origin is not UTF-8".into()))
    })
    .transpose()
}

fn meta_size(db: &DB) -> Result<u64, AuditError> {
    match db.get_cf(cf(db, CF_META)?, b"size").map_err(db_err)? {
        None => Ok(0),
        Some(b) => u64_of(&b, "stored size"),
    }
}

fn stored_checkpoints(db: &DB) -> Result<Vec<(u64, String)>, AuditError> {
    let mut out = Vec::new();
    for item in db.iterator_cf(cf(db, CF_CHECKPOINTS)?, IteratorMode::Start) {
        let (k, v) = item.map_err(db_err)?;
        let size = u64_of(&k, "checkpoint key")?;
        let note = String::from_utf8(v.into_vec()).map_err(|_| {
            AuditError::Inconsistent(format!("checkpoint at size {size} is not UTF-8"))
        })?;
        out.push((size, note));
    }
    Ok(out)
}

/// Read the given perfect nodes (one multi-get).
fn read_nodes(db: &DB, ids: &[NodeId]) -> Result<Vec<Hash>, AuditError> {
    let tree = cf(db, CF_TREE)?;
    let keys: Vec<[u8; 9]> = ids.iter().map(|&id| tree_key(id)).collect();
    let values = db.batched_multi_get_cf(tree, keys.iter(), false);
    let mut out = Vec::with_capacity(ids.len());
    for (id, v) in ids.iter().zip(values) {
        let v = v.map_err(db_err)?.ok_or(AuditError::Inconsistent(format!(
            "tree hash at level {} index {} is missing",
            id.level, id.index
        )))?;
        let h: Hash = v.as_ref().try_into().map_err(|_| {
            AuditError::Inconsistent(format!(
                "tree hash at level {} index {} is not 32 bytes",
                id.level, id.index
            ))
        })?;
        out.push(h);
    }
    Ok(out)
}

fn plan_hashes(db: &DB, plan: &ProofPlan) -> Result<Vec<Hash>, AuditError> {
    let nodes = read_nodes(db, plan.nodes())?;
    Ok(plan.finish(&nodes)?)
}

fn root_from_db(db: &DB, size: u64) -> Result<Hash, AuditError> {
    let plan = ProofPlan::root(size);
    let nodes = read_nodes(db, plan.nodes())?;
    Ok(plan.finish_root(&nodes)?)
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
        let db = DB::open_cf_descriptors(&db_options(), dir, cf_descriptors()).map_err(db_err)?;
        let verifier = config.signer.verifier();

        // The origin is fixed when the store is created.
        match meta_origin(&db)? {
            Some(o) if o != config.origin => {
                return Err(AuditError::Inconsistent(format!(
                    "the store belongs to log `{o}`, not `{}`",
                    config.origin
                )));
            }
            Some(_) => {}
            None => {
                let mut wo = WriteOptions::default();
                wo.set_sync(true);
                db.put_cf_opt(cf(&db, CF_META)?, b"origin", config.origin.as_bytes(), &wo)
                    .map_err(db_err)?;
            }
        }

        let size = meta_size(&db)?;
        // Entries are dense: the last one is at size - 1 and there is none beyond.
        let last_key = {
            let mut it = db.iterator_cf(cf(&db, CF_ENTRIES)?, IteratorMode::End);
            let last = it.next().transpose().map_err(db_err)?;
            last.map(|(k, _)| u64_of(&k, "entry key")).transpose()?
        };
        if last_key.map_or(0, |k| k + 1) != size {
            return Err(AuditError::Inconsistent(format!(
                "metadata says {size} entries but the last entry stored is {last_key:?}"
            )));
        }
        // The peaks largest first, as `CompactRange` keeps them (a root plan's nodes are sorted
        // by level, smallest first: reversed peaks would give a wrong root and wrong hashes for
        // every subtree completed after the restart).
        let peaks = read_nodes(&db, &merkle::decompose(0, size))?;
        let range = CompactRange::from_peaks(size, peaks)
            .ok_or_else(|| AuditError::Inconsistent("peak hashes do not fit the size".into()))?;
        let time_ms = match db.get_cf(cf(&db, CF_META)?, b"time_ms").map_err(db_err)? {
            Some(b) => u64_of(&b, "stored time")? as i64,
            None => 0,
        };

        // The checkpoints in the store must verify and agree with the tree.
        let stored = stored_checkpoints(&db)?;
        let mut last_stored: Option<SignedCheckpoint> = None;
        if let Some((cp_size, note)) = stored.last() {
            let cp = Checkpoint::open(note, &verifier, Some(&config.origin))?;
            if cp.size != *cp_size || cp.size > size || root_from_db(&db, cp.size)? != cp.root {
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
                if root_from_db(&db, cp.size)? != cp.root {
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
                    let mut wo = WriteOptions::default();
                    wo.set_sync(true);
                    db.put_cf_opt(
                        cf(&db, CF_CHECKPOINTS)?,
                        cp.size.to_be_bytes(),
                        note.as_bytes(),
                        &wo,
                    )
                    .map_err(db_err)?;
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

        let inner = Arc::new(Inner {
            db,
            origin: config.origin,
            signer: config.signer,
            verifier,
            state_file: config.state_file,
            head: RwLock::new(Head { range, time_ms }),
            signing: Mutex::new(()),
            last: Mutex::new(last),
            broken: AtomicBool::new(false),
            announced: Arc::new(Announcements::default()),
            holder_key: config.holder_key,
        });

        let (tx, rx) = mpsc::channel::<Request>();
        let writer_inner = Arc::clone(&inner);
        let mut threads = vec![
            std::thread::Builder::new()
                .name("audit-writer".into())
                .spawn(move || writer_loop(&writer_inner, &rx))
                .map_err(|e| AuditError::Io(format!("cannot start the audit writer: {e}")))?,
        ];
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        if let Some(every) = config.checkpoint_interval {
            let cp_inner = Arc::clone(&inner);
            threads.push(
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
            tx: Mutex::new(Some(tx)),
            stop: Mutex::new(Some(stop_tx)),
            threads: Mutex::new(threads),
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
        let (reply, rx) = tokio::sync::oneshot::channel();
        let guard = self.tx.lock().map_err(|_| AuditError::Closed)?;
        let tx = guard.as_ref().ok_or(AuditError::Closed)?;
        tx.send(Request {
            entries,
            writes,
            reply,
        })
        .map_err(|_| AuditError::Closed)?;
        Ok(Pending(rx))
    }

    /// Announces an append this caller is about to submit (a request being served), until the
    /// returned value is dropped. While appends are announced and the last group was shared,
    /// the writer waits a little for them before paying for a sync; once none is, it writes at
    /// once, so a caller never waits for an append that is not coming.
    pub fn announce(&self) -> Announced {
        self.inner.announced.count.fetch_add(1, Ordering::SeqCst);
        Announced(Arc::clone(&self.inner.announced))
    }

    /// How many appends are announced and not yet withdrawn.
    pub fn announced(&self) -> usize {
        self.inner.announced.count.load(Ordering::SeqCst)
    }

    /// Whether the log still accepts appends: false once a write has failed (until reopened)
    /// or once it is closed.
    pub fn healthy(&self) -> bool {
        !self.inner.broken.load(Ordering::SeqCst)
            && self.tx.lock().map(|t| t.is_some()).unwrap_or(false)
    }

    /// Writes to the state table alone, synced, with no entry: only for records that are not
    /// accesses to licences or personal data (a witness's cosigned state of a partner's log).
    pub fn write_state(&self, writes: Vec<Write>) -> Result<(), AuditError> {
        if !self.healthy() {
            return Err(AuditError::Db(
                "an earlier write failed; the log refuses writes until it is reopened".into(),
            ));
        }
        let db = &self.inner.db;
        let state = cf(db, CF_STATE)?;
        let mut batch = WriteBatch::default();
        for w in writes {
            let Table::State = w.table;
            match w.value {
                Some(v) => batch.put_cf(state, &w.key, v),
                None => batch.delete_cf(state, &w.key),
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        db.write_opt(batch, &wo).map_err(db_err)
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
        self.inner.head.read().map_or(0, |h| h.range.size())
    }

    /// Root of the log as it is now, with its size.
    pub fn head(&self) -> Result<(u64, Hash), AuditError> {
        let h = self.inner.head.read().map_err(|_| AuditError::Closed)?;
        Ok((h.range.size(), h.range.root()))
    }

    /// Root of the tree of the first `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash, AuditError> {
        self.check_size("size", size)?;
        root_from_db(&self.inner.db, size)
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
        plan_hashes(&self.inner.db, &ProofPlan::inclusion(index, size)?)
    }

    /// Consistency proof between the trees of `first` and `second` entries.
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, AuditError> {
        self.check_size("tree size", second)?;
        plan_hashes(&self.inner.db, &ProofPlan::consistency(first, second)?)
    }

    /// The exact bytes of entry `index`, if it exists.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, AuditError> {
        if index >= self.size() {
            return Ok(None);
        }
        self.inner
            .db
            .get_cf(cf(&self.inner.db, CF_ENTRIES)?, index.to_be_bytes())
            .map_err(db_err)
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
        let mut out = Vec::new();
        let mut bytes = 0usize;
        if from >= to {
            return Ok(out);
        }
        let db = &self.inner.db;
        let mode = IteratorMode::From(&from.to_be_bytes(), Direction::Forward);
        for item in db.iterator_cf_opt(cf(db, CF_ENTRIES)?, ReadOptions::default(), mode) {
            let (k, v) = item.map_err(db_err)?;
            let i = u64_of(&k, "entry key")?;
            if i >= to {
                break;
            }
            bytes = bytes.saturating_add(v.len() + 1);
            if bytes > max_bytes && !out.is_empty() {
                break;
            }
            out.push((i, v.into_vec()));
        }
        Ok(out)
    }

    /// A record of the node's own, from the `state` table.
    pub fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, AuditError> {
        let Table::State = table;
        self.inner
            .db
            .get_cf(cf(&self.inner.db, CF_STATE)?, key)
            .map_err(db_err)
    }

    /// Records of the `state` table whose keys start with `prefix`, in key order.
    pub fn scan(&self, table: Table, prefix: &[u8]) -> Result<Records, AuditError> {
        let Table::State = table;
        let db = &self.inner.db;
        let mut out = Vec::new();
        for item in db.iterator_cf(
            cf(db, CF_STATE)?,
            IteratorMode::From(prefix, Direction::Forward),
        ) {
            let (k, v) = item.map_err(db_err)?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.into_vec(), v.into_vec()));
        }
        Ok(out)
    }

    /// The last checkpoint signed, if any.
    pub fn latest_checkpoint(&self) -> Option<SignedCheckpoint> {
        self.inner.last.lock().ok().and_then(|l| l.clone())
    }

    /// The stored checkpoint of exactly `size` entries, if one was signed.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<String>, AuditError> {
        let v = self
            .inner
            .db
            .get_cf(cf(&self.inner.db, CF_CHECKPOINTS)?, size.to_be_bytes())
            .map_err(db_err)?;
        v.map(|b| {
            String::from_utf8(b)
                .map_err(|_| AuditError::Inconsistent("checkpoint is not UTF-8".into()))
        })
        .transpose()
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
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Ok(mut stop) = self.stop.lock() {
            stop.take();
        }
        if let Ok(mut threads) = self.threads.lock() {
            for t in threads.drain(..) {
                let _ = t.join();
            }
        }
        let db = &self.inner.db;
        let cfs: Vec<&ColumnFamily> = COLUMN_FAMILIES
            .iter()
            .filter_map(|n| db.cf_handle(n))
            .collect();
        if let Err(e) = db.flush_cfs_opt(&cfs, &rocksdb::FlushOptions::default()) {
            tracing::warn!(error = %e, "flushing the audit store on close failed; the log replays at the next open");
        }
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
        let (size, root) = {
            let h = self.head.read().map_err(|_| AuditError::Closed)?;
            (h.range.size(), h.range.root())
        };
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
                let proof = plan_hashes(&self.db, &ProofPlan::consistency(p.size, size)?)?;
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
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db
            .put_cf_opt(
                cf(&self.db, CF_CHECKPOINTS)?,
                size.to_be_bytes(),
                note.as_bytes(),
                &wo,
            )
            .map_err(db_err)?;
        let signed = SignedCheckpoint { checkpoint, note };
        *self.last.lock().map_err(|_| AuditError::Closed)? = Some(signed.clone());
        Ok(Some(signed))
    }
}

/// Marks the log broken if the writer thread ends by a panic: its callers then get `Closed`
/// (their reply senders are dropped), and [`AuditLog::healthy`] must say so too.
struct BreakOnPanic<'a>(&'a AtomicBool);

impl Drop for BreakOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

fn writer_loop(inner: &Inner, rx: &mpsc::Receiver<Request>) {
    let _break_on_panic = BreakOnPanic(&inner.broken);
    // The last withdrawn announcement unparks this thread.
    let _ = inner.announced.writer.set(std::thread::current());
    // Takes what is queued, up to `MAX_GROUP_ENTRIES`; returns the group's entry count.
    let drain = |group: &mut Vec<Request>, mut count: usize| {
        while count < MAX_GROUP_ENTRIES {
            match rx.try_recv() {
                Ok(r) => {
                    count += r.entries.len();
                    group.push(r);
                }
                Err(_) => break,
            }
        }
        count
    };
    // The previous group's size and the time its synced write took.
    let mut last = (0usize, Duration::ZERO);
    while let Ok(first) = rx.recv() {
        let count = first.entries.len();
        let mut group = vec![first];
        let mut count = drain(&mut group, count);
        // Under concurrent load (the last group was shared) and while appends are announced,
        // wait a little for them before paying for a sync: as long as the last synced write
        // took and at most `MAX_LINGER`, so a caller waits at most about two syncs. The writer
        // parks rather than waiting on the queue, so the appends arriving meanwhile wake nobody;
        // the withdrawal of the last announcement unparks it (everyone it could wait for is
        // then in the queue). A lone caller never waits.
        if last.0 >= LINGER_FROM_GROUP {
            let deadline = std::time::Instant::now() + last.1.min(MAX_LINGER);
            let announced = &inner.announced;
            announced.lingering.store(true, Ordering::SeqCst);
            while count < MAX_GROUP_ENTRIES && announced.count.load(Ordering::SeqCst) > 0 {
                let now = std::time::Instant::now();
                if now >= deadline {
                    break;
                }
                std::thread::park_timeout(deadline - now);
                count = drain(&mut group, count);
            }
            announced.lingering.store(false, Ordering::SeqCst);
            count = drain(&mut group, count);
        }
        let started = std::time::Instant::now();
        write_group(inner, group);
        last = (count, started.elapsed());
    }
}

/// Write one group of requests in one synced batch and answer each of them.
fn write_group(inner: &Inner, group: Vec<Request>) {
    if inner.broken.load(Ordering::SeqCst) {
        for r in group {
            let _ = r.reply.send(Err(AuditError::Db(
                "an earlier write failed; the log refuses appends until it is reopened".into(),
            )));
        }
        return;
    }
    let (mut range, last_ms) = match inner.head.read() {
        Ok(h) => (h.range.clone(), h.time_ms),
        Err(_) => {
            for r in group {
                let _ = r.reply.send(Err(AuditError::Closed));
            }
            return;
        }
    };
    let (Ok(entries_cf), Ok(tree_cf), Ok(meta_cf), Ok(state_cf)) = (
        cf(&inner.db, CF_ENTRIES),
        cf(&inner.db, CF_TREE),
        cf(&inner.db, CF_META),
        cf(&inner.db, CF_STATE),
    ) else {
        for r in group {
            let _ = r.reply.send(Err(AuditError::Inconsistent(
                "column family missing".into(),
            )));
        }
        return;
    };
    let time_ms = now_unix_ms().max(last_ms);
    let time = format_time(time_ms);
    let mut batch = WriteBatch::default();
    let mut accepted: Vec<(Request, Receipt)> = Vec::with_capacity(group.len());
    for req in group {
        // Serialise the whole request first: a refused entry must not use up an index.
        let start = range.size();
        let mut bytes = Vec::with_capacity(req.entries.len());
        let mut refused = None;
        for (i, e) in req.entries.iter().enumerate() {
            match e.assemble(start + i as u64, &time) {
                Ok(b) => bytes.push(b),
                Err(err) => {
                    refused = Some(err);
                    break;
                }
            }
        }
        if let Some(err) = refused {
            let _ = req.reply.send(Err(AuditError::Entry(err)));
            continue;
        }
        let mut leaf_hashes = Vec::with_capacity(bytes.len());
        for (i, b) in bytes.iter().enumerate() {
            let index = start + i as u64;
            batch.put_cf(entries_cf, index.to_be_bytes(), b);
            let leaf = merkle::leaf_hash(b);
            leaf_hashes.push(leaf);
            range.push(leaf, |id, h| batch.put_cf(tree_cf, tree_key(id), h));
        }
        for w in &req.writes {
            let Table::State = w.table;
            match &w.value {
                Some(v) => batch.put_cf(state_cf, &w.key, v),
                None => batch.delete_cf(state_cf, &w.key),
            }
        }
        let receipt = Receipt {
            index: start,
            leaf_hashes,
            time: time.clone(),
        };
        accepted.push((req, receipt));
    }
    if accepted.is_empty() {
        return;
    }
    batch.put_cf(meta_cf, b"size", range.size().to_be_bytes());
    batch.put_cf(meta_cf, b"time_ms", (time_ms as u64).to_be_bytes());
    let mut wo = WriteOptions::default();
    wo.set_sync(true);
    match inner.db.write_opt(batch, &wo) {
        Ok(()) => {
            let Ok(mut h) = inner.head.write() else {
                // Written, but the head cannot follow: answering Ok would let the next group
                // reuse these indices. Refuse, and every append after, until reopened (which
                // reads the head back from the store).
                inner.broken.store(true, Ordering::SeqCst);
                tracing::error!("the log's head is unusable; the log now refuses appends");
                for (req, _) in accepted {
                    let _ = req.reply.send(Err(AuditError::Inconsistent(
                        "the log's head is unusable; the write's outcome is unknown".into(),
                    )));
                }
                return;
            };
            h.range = range;
            h.time_ms = time_ms;
            drop(h);
            for (req, receipt) in accepted {
                let _ = req.reply.send(Ok(receipt));
            }
        }
        Err(e) => {
            // Fail closed: no caller is told its entry is logged, and no later append is taken
            // until the store is reopened and checked.
            inner.broken.store(true, Ordering::SeqCst);
            let msg = e.into_string();
            tracing::error!(error = %msg, "audit write failed; the log now refuses appends");
            for (req, _) in accepted {
                let _ = req.reply.send(Err(AuditError::Db(msg.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// A caller that stops waiting for its write does not release the lock it holds over the
    /// state the write changes: the lock goes when the write is done, not before.
    #[test]
    fn a_dropped_wait_keeps_its_lock_until_the_write_is_done() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        let (reply, rx) = tokio::sync::oneshot::channel();
        runtime.block_on(async {
            let guard = lock.clone().lock_owned().await;
            let waiting = Pending(rx).recv_holding(guard);
            // Polled once, then dropped: a request whose client hung up.
            let gone = tokio::time::timeout(Duration::ZERO, waiting).await;
            assert!(gone.is_err());
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert!(lock.try_lock().is_err(), "the lock went before the write");
            let receipt = Receipt {
                index: 0,
                leaf_hashes: Vec::new(),
                time: String::new(),
            };
            assert!(reply.send(Ok(receipt)).is_ok());
            let freed = tokio::time::timeout(Duration::from_secs(10), lock.lock()).await;
            assert!(freed.is_ok(), "the lock was not released after the write");
        });
    }

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

    /// A writer thread that panics leaves the log marked broken, so health checks say so; one
    /// that ends normally (the log closed) does not.
    #[test]
    fn a_writer_that_panics_marks_the_log_broken() {
        let broken = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&broken);
        let ended = std::thread::spawn(move || {
            let _guard = BreakOnPanic(&flag);
        })
        .join();
        assert!(ended.is_ok());
        assert!(!broken.load(Ordering::SeqCst));
        let flag = Arc::clone(&broken);
        let panicked = std::thread::spawn(move || {
            let _guard = BreakOnPanic(&flag);
            panic!("the writer fails");
        })
        .join();
        assert!(panicked.is_err());
        assert!(broken.load(Ordering::SeqCst));
    }

    /// A writer waiting for announced appends wakes when the last one is withdrawn, not when
    /// its wait runs out: here the wait would last a minute.
    #[test]
    fn the_last_withdrawal_unparks_a_lingering_writer() {
        let announcements = Arc::new(Announcements::default());
        announcements.count.fetch_add(2, Ordering::SeqCst);
        let (first, second) = (
            Announced(Arc::clone(&announcements)),
            Announced(Arc::clone(&announcements)),
        );
        let (ready, parked) = mpsc::channel();
        let writer = {
            let announcements = Arc::clone(&announcements);
            std::thread::spawn(move || {
                let _ = announcements.writer.set(std::thread::current());
                announcements.lingering.store(true, Ordering::SeqCst);
                ready.send(()).unwrap();
                let wait = Duration::from_secs(60);
                let started = std::time::Instant::now();
                while announcements.count.load(Ordering::SeqCst) > 0 && started.elapsed() < wait {
                    std::thread::park_timeout(wait.saturating_sub(started.elapsed()));
                }
                started.elapsed()
            })
        };
        parked.recv().unwrap();
        drop(first);
        drop(second);
        let waited = writer.join().unwrap();
        assert!(
            waited < Duration::from_secs(30),
            "the writer waited {waited:?}"
        );
        assert_eq!(announcements.count.load(Ordering::SeqCst), 0);
    }
}
