//! The group commit writer: one thread that writes the log's entries, their tree hashes, their
//! index rows (by case and by licence), the new size and the callers' own records in one
//! synced batch.
//!
//! It takes every request waiting, gives the entries their indexes and times, and writes them,
//! their tree hashes and the callers' own writes in one synced `WriteBatch`. A caller hears back
//! only after that batch is on disk; a crash leaves the whole batch or none of it. If a write
//! fails, every caller in the batch gets the error and the writer refuses every later append
//! until the store is reopened: fail closed.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use rocksdb::WriteBatch;

use super::db::{CF_ENTRIES, CF_META, CF_STATE, CF_TREE, Store, cf, synced};
use super::keys::{self, META_SIZE, META_TIME_MS};
use super::records::{Table, Write};
use crate::audit::entry::{PreparedEntry, format_time, now_unix_ms};
use crate::audit::error::AuditError;
use crate::audit::merkle::{self, CompactRange, Hash};

/// Most entries one synced write carries.
const MAX_GROUP_ENTRIES: usize = 4096;

/// The writer waits for more appends only after a group of at least this many entries.
const LINGER_FROM_GROUP: usize = 4;

/// The longest the writer waits for more appends before a synced write.
const MAX_LINGER: Duration = Duration::from_micros(500);

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

/// The store and the log's head as committed to it, shared by the writer thread and the log.
pub struct Committed {
    store: Store,
    head: RwLock<Head>,
    broken: AtomicBool,
    /// Appends announced and not yet submitted (see [`Writer::announce`]).
    announced: Arc<Announcements>,
}

impl Committed {
    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Entries durably appended.
    pub fn size(&self) -> u64 {
        self.head.read().map_or(0, |h| h.range.size())
    }

    /// The size and root of the log as it is now.
    pub fn head(&self) -> Result<(u64, Hash), AuditError> {
        let h = self.head.read().map_err(|_| AuditError::Closed)?;
        Ok((h.range.size(), h.range.root()))
    }
}

/// The group commit writer of a store: appends go in through [`Writer::submit`].
pub struct Writer {
    committed: Arc<Committed>,
    tx: Mutex<Option<mpsc::Sender<Request>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer of `store`, whose tree is `range` and whose last entry's time is
    /// `time_ms` (both as read back from the store).
    pub fn start(store: Store, range: CompactRange, time_ms: i64) -> Result<Writer, AuditError> {
        let committed = Arc::new(Committed {
            store,
            head: RwLock::new(Head { range, time_ms }),
            broken: AtomicBool::new(false),
            announced: Arc::new(Announcements::default()),
        });
        let (tx, rx) = mpsc::channel::<Request>();
        let writer = Arc::clone(&committed);
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer_loop(&writer, &rx))
            .map_err(|e| AuditError::Io(format!("cannot start the audit writer: {e}")))?;
        Ok(Writer {
            committed,
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The store and head this writer commits to.
    pub fn committed(&self) -> &Arc<Committed> {
        &self.committed
    }

    /// Queues entries (checked and serialised but for index and time, logged consecutively, in
    /// order) and the caller's own writes, to be written in one synced batch.
    pub fn submit(
        &self,
        entries: Vec<PreparedEntry>,
        writes: Vec<Write>,
    ) -> Result<Pending, AuditError> {
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

    /// Announces an append this caller is about to submit, until the returned value is
    /// dropped. While appends are announced and the last group was shared, the writer waits a
    /// little for them before paying for a sync; once none is, it writes at once.
    pub fn announce(&self) -> Announced {
        self.committed
            .announced
            .count
            .fetch_add(1, Ordering::SeqCst);
        Announced(Arc::clone(&self.committed.announced))
    }

    /// How many appends are announced and not yet withdrawn.
    pub fn announced(&self) -> usize {
        self.committed.announced.count.load(Ordering::SeqCst)
    }

    /// Whether the writer still accepts appends: false once a write has failed (until the
    /// store is reopened) or once it is closed.
    pub fn healthy(&self) -> bool {
        !self.committed.broken.load(Ordering::SeqCst)
            && self.tx.lock().map(|t| t.is_some()).unwrap_or(false)
    }

    /// Writes records of the node's own alone, synced, with no entry.
    pub fn write_state(&self, writes: Vec<Write>) -> Result<(), AuditError> {
        if !self.healthy() {
            return Err(AuditError::Db(
                "an earlier write failed; the log refuses writes until it is reopened".into(),
            ));
        }
        self.committed.store.write_records(writes)
    }

    /// Stops the writer after the appends already queued.
    pub fn close(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Ok(mut thread) = self.thread.lock()
            && let Some(t) = thread.take()
        {
            let _ = t.join();
        }
    }
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

/// Marks the log broken if the writer thread ends by a panic: its callers then get `Closed`
/// (their reply senders are dropped), and [`Writer::healthy`] must say so too.
struct BreakOnPanic<'a>(&'a AtomicBool);

impl Drop for BreakOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

fn writer_loop(inner: &Committed, rx: &mpsc::Receiver<Request>) {
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
fn write_group(inner: &Committed, group: Vec<Request>) {
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
        cf(&inner.store.db, CF_ENTRIES),
        cf(&inner.store.db, CF_TREE),
        cf(&inner.store.db, CF_META),
        cf(&inner.store.db, CF_STATE),
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
        for (i, (b, e)) in bytes.iter().zip(&req.entries).enumerate() {
            let index = start + i as u64;
            batch.put_cf(entries_cf, keys::index_key(index), b);
            let leaf = merkle::leaf_hash(b);
            leaf_hashes.push(leaf);
            range.push(leaf, |id, h| batch.put_cf(tree_cf, keys::tree_key(id), h));
            // The entry's index rows, in the entry's own batch: an entry is never on disk
            // without them, nor they without it.
            for key in keys::entry_index_keys(e.index_terms(), index) {
                batch.put_cf(state_cf, key, []);
            }
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
    batch.put_cf(meta_cf, META_SIZE, range.size().to_be_bytes());
    batch.put_cf(meta_cf, META_TIME_MS, (time_ms as u64).to_be_bytes());
    match inner.store.db.write_opt(batch, &synced()) {
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
