#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark panics on setup failure by design
//! The audit log: synced appends per second and the auditor's replay rate, each next to the raw
//! limit measured in the same run on the same disk. Run with `cargo bench --bench audit`.
//!
//! 1. **fdatasync**: 4 KiB appended to a file and `File::sync_data`, in a loop for 2 s, in the
//!    directory that holds the bench's stores, just before and just after each append run (the
//!    disk is shared; its rate moves). A group commit costs at least one of these.
//! 2. **appends**: 1 and then 64 threads, each calling `AuditLog::append` in a loop for 3 s
//!    with a realistic entry (actor with region and certificate hash, licence identifier,
//!    holder hash, matter, purpose, request hash, a small detail object). The number of synced
//!    writes is estimated from the write system calls of the `audit-writer` thread
//!    (`/proc/self/task/<tid>/io`, `syscw`): RocksDB writes each synced batch to its WAL with
//!    one `write` before its `fdatasync`, so entries per synced write = appends ÷ `syscw`.
//! 3. **replay**: a store of `ZZ_BENCH_ENTRIES` entries (default 1 000 000, built with
//!    `append_many` in batches of 4 096 and one checkpoint) is replayed with
//!    `replay::replay`, next to raw SHA-256 leaf hashing (`0x00 ‖ entry`, ring) of the same
//!    entries' bytes held in memory. Peak RSS (`VmHWM`, reset through `/proc/self/clear_refs`
//!    just before) is printed around the first replay round, before anything else is loaded,
//!    to show that replay memory does not grow with the log. Then what replay is made of:
//!    RocksDB iteration of the entries and of the tree hashes alone (same read options as
//!    replay), and leaf plus interior-node hashing in memory.
//!
//! `ZZ_BENCH_SHOW_ENTRY=1` prints the sample entry.
//!
//! The stores live under Cargo's per-target temporary directory (inside the target directory),
//! not in `/tmp`, which may be another file system (tmpfs); the file system used is printed.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ring::digest;
use rocksdb::{DB, Options, ReadOptions};
use serde_json::json;
use zhengzhao::audit::entry::{Action, Actor, EntryDraft, HolderHash, HolderKey};
use zhengzhao::audit::log::{AuditLog, LogConfig};
use zhengzhao::audit::merkle::{CompactRange, Hash};
use zhengzhao::audit::note::{NoteSigner, NoteVerifier};
use zhengzhao::audit::replay::{self, Verdict};
use zhengzhao::codes::{HolderCode, HolderType, LicenceId, LicenceTypeCode, Uscc};
use zhengzhao::store::{CF_ENTRIES, CF_TREE, COLUMN_FAMILIES, StoreReader};

const SYNC_TIME: Duration = Duration::from_secs(2);
const APPEND_TIME: Duration = Duration::from_secs(3);
const BATCH: u64 = 4096;
const REPLAY_ROUNDS: usize = 3;
const HOLDERS: usize = 4096;
const ORIGIN: &str = "zhengzhao/370900";

/// Everything an entry needs that is costly to make, made once.
struct Material {
    type_code: LicenceTypeCode,
    issuer: Uscc,
    certs: Vec<String>,
    holders: Vec<HolderHash>,
}

impl Material {
    fn new() -> Material {
        let code = HolderCode::parse(HolderType::Organisation, "11370900004090218Y").unwrap();
        // One node has one holder key; distinct keys here only make distinct holder hashes
        // without having to make thousands of valid credit codes.
        let holders = (0..HOLDERS)
            .map(|i| HolderKey::from_bytes(&sha256(&(i as u64).to_be_bytes())).holder_hash(&code))
            .collect();
        let certs = (0..16u64)
            .map(|i| hex::encode(sha256(&(i + 1_000_000).to_be_bytes())))
            .collect();
        Material {
            type_code: "11100000000013338W032".parse().unwrap(),
            issuer: "11220000013544541J".parse().unwrap(),
            certs,
            holders,
        }
    }

    /// The `i`-th entry: a licence verification by one of 16 service windows.
    fn draft(&self, i: u64) -> EntryDraft {
        let window = (i % 16) as usize;
        let mut d = EntryDraft::new(
            Actor {
                id: format!("370902-window-{window:02}"),
                region: Some("370902".parse().unwrap()),
                cert_sha256: Some(self.certs[window].clone()),
            },
            if i.is_multiple_of(4) {
                Action::LicenceLookup
            } else {
                Action::LicenceVerify
            },
            "valid",
        );
        let serial = format!("{:07}", 2_430_000 + i % 1_000_000);
        d.licence =
            Some(LicenceId::new(self.type_code.clone(), self.issuer.clone(), &serial, 1).unwrap());
        d.holder = Some(self.holders[(i as usize * 7919) % HOLDERS].clone());
        d.matter = Some("企业开办".into());
        d.purpose = Some("资格审查".into());
        d.request_sha256 = Some(hex::encode(sha256(&i.to_le_bytes())));
        d.detail.insert("channel".into(), json!("window"));
        d
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

fn leaf_hash_raw(entry: &[u8]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[0x00]);
    ctx.update(entry);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A `kB` line of `/proc/self/status`.
fn status_kib(name: &str) -> u64 {
    let s = fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Reset VmHWM to the current RSS (Linux ≥ 4.0).
fn reset_peak_rss() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The mount that holds `dir`: (mount point, file system type, device).
fn mount_of(dir: &Path) -> (String, String, String) {
    let dir = fs::canonicalize(dir).unwrap();
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut best = (String::new(), String::new(), String::new());
    for line in info.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let Some(sep) = f.iter().position(|&x| x == "-") else {
            continue;
        };
        let point = f[4];
        if dir.starts_with(point) && point.len() >= best.0.len() {
            best = (
                point.to_owned(),
                f[sep + 1].to_owned(),
                f[sep + 2].to_owned(),
            );
        }
    }
    best
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Bytes of the store's files: (write-ahead logs, table files, everything).
fn store_bytes(dir: &Path) -> (u64, u64, u64) {
    let (mut wal, mut sst, mut all) = (0, 0, 0);
    for e in fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let Ok(m) = e.metadata() else { continue };
        if !m.is_file() {
            continue;
        }
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".log") {
            wal += m.len();
        } else if name.ends_with(".sst") {
            sst += m.len();
        }
        all += m.len();
    }
    (wal, sst, all)
}

/// `syscw` of the log's writer thread, read through `/proc/self/task/<tid>/io`.
struct WriterIo(PathBuf);

impl WriterIo {
    /// The writer names itself once it runs, which may be a moment after `AuditLog::open`.
    fn find() -> Option<WriterIo> {
        let start = Instant::now();
        loop {
            let found = fs::read_dir("/proc/self/task").ok()?.find_map(|t| {
                let t = t.ok()?.path();
                let comm = fs::read_to_string(t.join("comm")).ok()?;
                (comm.trim_end() == "audit-writer").then(|| WriterIo(t.join("io")))
            });
            if found.is_some() || start.elapsed() > Duration::from_secs(2) {
                return found;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn syscw(&self) -> Option<u64> {
        fs::read_to_string(&self.0)
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("syscw: "))?
            .trim()
            .parse()
            .ok()
    }
}

fn open_log(root: &Path, name: &str) -> (AuditLog, NoteVerifier, PathBuf) {
    let dir = root.join(name);
    let signer = NoteSigner::generate("zhengzhao-bench.example").unwrap().0;
    let verifier = signer.verifier();
    let log = AuditLog::open(
        &dir,
        LogConfig {
            origin: ORIGIN.into(),
            signer,
            state_file: root.join(format!("{name}.checkpoint")),
            checkpoint_interval: None,
            adopt_store: false,
            holder_key: None,
        },
    )
    .unwrap();
    (log, verifier, dir)
}

/// 4 KiB appended and `fdatasync`ed in a loop, in a new file: syncs per second.
fn raw_fdatasync(root: &Path) -> f64 {
    let path = root.join("fdatasync.probe");
    let mut f = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .unwrap();
    let block = [0x5au8; 4096];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < SYNC_TIME {
        f.write_all(&block).unwrap();
        f.sync_data().unwrap();
        n += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    drop(f);
    fs::remove_file(&path).unwrap();
    n as f64 / secs
}

struct AppendRun {
    appends: u64,
    secs: f64,
    syscw: Option<u64>,
}

fn appends(log: &AuditLog, material: &Material, threads: usize) -> AppendRun {
    let io = WriterIo::find();
    let before = io.as_ref().and_then(WriterIo::syscw);
    let total = AtomicU64::new(0);
    let seq = AtomicU64::new(0);
    let barrier = Barrier::new(threads + 1);
    let (start, end) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    let mut n = 0u64;
                    while start.elapsed() < APPEND_TIME {
                        let i = seq.fetch_add(1, Ordering::Relaxed);
                        log.append(material.draft(i), Vec::new()).unwrap();
                        n += 1;
                    }
                    total.fetch_add(n, Ordering::Relaxed);
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for w in workers {
            w.join().unwrap();
        }
        (start, Instant::now())
    });
    let after = io.as_ref().and_then(WriterIo::syscw);
    AppendRun {
        appends: total.into_inner(),
        secs: (end - start).as_secs_f64(),
        syscw: before.zip(after).map(|(b, a)| a - b),
    }
}

fn read_opts() -> ReadOptions {
    // The same as replay's.
    let mut o = ReadOptions::default();
    o.set_verify_checksums(true);
    o.fill_cache(false);
    o
}

/// Iterate one column family from the start, touching every key and value: (items, value bytes).
fn iterate(db: &DB, name: &str) -> (u64, u64) {
    let mut it = db.raw_iterator_cf_opt(db.cf_handle(name).unwrap(), read_opts());
    it.seek_to_first();
    let (mut n, mut bytes) = (0u64, 0u64);
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        n += 1;
        bytes += (k.len() + v.len()) as u64;
        it.next();
    }
    it.status().unwrap();
    (n, bytes)
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64())
}

/// What one replay measured.
struct ReplayRun {
    /// Seconds `StoreReader::open` took (it replays the write-ahead log into memory).
    open_secs: f64,
    /// RSS in KiB once it returned.
    open_rss: u64,
    /// Seconds `replay` took.
    secs: f64,
}

/// Open the store read-only and replay it once.
fn replay_once(dir: &Path, verifier: &NoteVerifier, n: u64) -> ReplayRun {
    let (reader, open_secs) = timed(|| StoreReader::open(dir).unwrap());
    let open_rss = status_kib("VmRSS");
    let (verdict, secs) =
        timed(|| replay::replay(&reader, verifier, None, &mut |_, _| {}).unwrap());
    match verdict {
        Verdict::Verified {
            size, checkpoints, ..
        } => {
            assert_eq!(size, n);
            assert_eq!(checkpoints, 1);
        }
        other => panic!("replay did not verify: {other:?}"),
    }
    ReplayRun {
        open_secs,
        open_rss,
        secs,
    }
}

fn main() {
    let entries: u64 = std::env::var("ZZ_BENCH_ENTRIES")
        .ok()
        .map(|v| v.parse().expect("ZZ_BENCH_ENTRIES is a number of entries"))
        .unwrap_or(1_000_000);
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(base).unwrap();
    let mut root = tempfile::Builder::new()
        .prefix("audit-bench-")
        .tempdir_in(base)
        .unwrap();
    // ZZ_BENCH_KEEP=1 keeps the replay store and its verifier key, to replay it again with
    // `zhengzhao audit verify` in a process of its own (for its peak memory, say).
    let keep = std::env::var_os("ZZ_BENCH_KEEP").is_some();
    root.disable_cleanup(keep);
    let root = root.path();

    let (point, fstype, device) = mount_of(root);
    let same_as_tmp = fs::metadata("/tmp")
        .map(|m| m.dev() == fs::metadata(root).unwrap().dev())
        .unwrap_or(false);
    println!("stores in:  {}", root.display());
    println!(
        "file system: {fstype} on {device}, mounted at {point}; /tmp is {} file system",
        if same_as_tmp { "the same" } else { "another" }
    );
    println!(
        "machine: {} CPUs, load average {} at start",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );

    let material = Material::new();
    let sample = zhengzhao::audit::entry::Entry {
        index: 123_456,
        time: zhengzhao::audit::entry::format_time(1_795_000_000_123),
        draft: material.draft(123_456),
    }
    .to_bytes()
    .unwrap();
    println!("entry size: {} bytes", sample.len());
    if std::env::var_os("ZZ_BENCH_SHOW_ENTRY").is_some() {
        println!("{}", String::from_utf8_lossy(&sample));
    }

    // 1 and 2. Synced appends, each run between two measurements of the raw limit, since the
    // disk is shared and its sync rate moves from one second to the next.
    println!();
    {
        let (log, _, _) = open_log(root, "appends");
        for threads in [1usize, 64] {
            let before = raw_fdatasync(root);
            let r = appends(&log, &material, threads);
            let after = raw_fdatasync(root);
            let sync_rate = (before + after) / 2.0;
            let rate = r.appends as f64 / r.secs;
            println!(
                "raw fdatasync (4 KiB append + sync_data, {SYNC_TIME:?}): {before:.0} /s before, {after:.0} /s after"
            );
            print!(
                "synced appends, {threads:>2} writer{}: {rate:>8.0} /s = {:5.1} x raw fdatasync",
                if threads == 1 { " " } else { "s" },
                rate / sync_rate
            );
            match r.syscw {
                Some(w) if w > 0 => {
                    let syncs = w as f64 / r.secs;
                    println!(
                        "; ~{:.1} entries per synced write, ~{syncs:.0} synced writes/s = {:.0} % of raw",
                        r.appends as f64 / w as f64,
                        100.0 * syncs / sync_rate
                    );
                }
                _ => println!("; synced writes not counted (no /proc/self/task/<tid>/io)"),
            }
            if threads == 64 {
                println!(
                    "goal: >= 20 000 appends/s with 64 writers: {}",
                    if rate >= 20_000.0 { "met" } else { "NOT met" }
                );
            }
        }
        log.close();
        fs::remove_dir_all(root.join("appends")).unwrap();
    }

    // 3. Replay.
    println!();
    let (dir, verifier) = {
        let (log, verifier, dir) = open_log(root, "replay");
        let (_, secs) = timed(|| {
            let mut i = 0u64;
            while i < entries {
                let n = BATCH.min(entries - i);
                log.append_many((i..i + n).map(|j| material.draft(j)).collect())
                    .unwrap();
                i += n;
            }
            log.checkpoint_now().unwrap();
        });
        assert_eq!(log.size(), entries);
        log.close();
        drop(log);
        if keep {
            let vkey = root.join("replay.vkey");
            fs::write(&vkey, format!("{}\n", verifier.vkey())).unwrap();
            println!("kept: {} (verifier key {})", dir.display(), vkey.display());
        }
        let mb = |b: u64| b as f64 / f64::from(1 << 20);
        let (wal, sst, all) = store_bytes(&dir);
        println!(
            "store of {entries} entries built in {secs:.1} s ({:.0} entries/s with append_many, batches of {BATCH})",
            entries as f64 / secs
        );
        println!(
            "on disk: {:.0} MiB ({:.0} MiB write-ahead log, {:.0} MiB tables)",
            mb(all),
            mb(wal),
            mb(sst)
        );
        (dir, verifier)
    };

    // Memory: the peak is reset just before the first replay, so that it shows what opening
    // the store read-only and replaying it cost, not the build before.
    let lifetime_peak = status_kib("VmHWM");
    let reset = reset_peak_rss();
    let (peak_before, rss_before) = (status_kib("VmHWM"), status_kib("VmRSS"));
    let first = replay_once(&dir, &verifier, entries);
    let (peak, rss_after) = (status_kib("VmHWM"), status_kib("VmRSS"));
    println!(
        "RSS: {:.1} MiB before replay, {:.1} MiB once StoreReader::open returned, {:.1} MiB after; \
         peak RSS (VmHWM) {:.1} MiB before replay, {:.1} MiB after{}",
        mib(rss_before),
        mib(first.open_rss),
        mib(rss_after),
        mib(peak_before),
        mib(peak),
        if reset {
            format!(
                " (reset before replay; {:.1} MiB over the build)",
                mib(lifetime_peak)
            )
        } else {
            " (could not be reset: lifetime peak)".to_owned()
        }
    );

    // The entries' bytes in memory, read straight from the store.
    let db = DB::open_cf_for_read_only(&Options::default(), &dir, COLUMN_FAMILIES, false).unwrap();
    let (mut buf, mut ends) = (Vec::new(), Vec::with_capacity(entries as usize));
    {
        let mut it = db.raw_iterator_cf(db.cf_handle(CF_ENTRIES).unwrap());
        it.seek_to_first();
        while let Some(v) = it.value() {
            buf.extend_from_slice(v);
            ends.push(buf.len());
            it.next();
        }
    }
    assert_eq!(ends.len() as u64, entries);
    let hash_all = || {
        let mut start = 0;
        let mut acc = 0u8;
        for &end in &ends {
            acc ^= leaf_hash_raw(&buf[start..end])[0];
            start = end;
        }
        std::hint::black_box(acc);
    };

    println!(
        "StoreReader::open took {:.2} s (not counted in the replay rate)",
        first.open_secs
    );
    let (mut raw, mut full) = (Vec::new(), vec![entries as f64 / first.secs]);
    for round in 0..REPLAY_ROUNDS {
        raw.push(entries as f64 / timed(hash_all).1);
        if round > 0 {
            full.push(entries as f64 / replay_once(&dir, &verifier, entries).secs);
        }
    }
    let (raw, full) = (median(raw), median(full));
    println!(
        "raw SHA-256 leaf hashing, in memory: {raw:>9.0} entries/s ({:.0} MB/s)",
        raw * buf.len() as f64 / entries as f64 / 1e6
    );
    println!(
        "replay (audit verify):              {full:>9.0} entries/s (median of {REPLAY_ROUNDS})"
    );
    println!("ratio: {:.1} % of raw", 100.0 * full / raw);
    println!(
        "goal: replay >= 1 000 000 entries/s: {}",
        if full >= 1_000_000.0 {
            "met"
        } else {
            "NOT met"
        }
    );

    // What replay is made of.
    println!();
    println!("replay's parts, each alone, in seconds for {entries} entries:");
    let ((n, bytes), t_entries) = timed(|| iterate(&db, CF_ENTRIES));
    assert_eq!(n, entries);
    println!(
        "  RocksDB iteration, entries:      {t_entries:6.3} s ({:.0} /s, {:.0} MB/s)",
        n as f64 / t_entries,
        bytes as f64 / t_entries / 1e6
    );
    let ((n, _), t_tree) = timed(|| iterate(&db, CF_TREE));
    println!(
        "  RocksDB iteration, tree hashes:  {t_tree:6.3} s ({n} nodes, {:.0} /s)",
        n as f64 / t_tree
    );
    let (_, t_leaf) = timed(hash_all);
    println!("  leaf hashing in memory:          {t_leaf:6.3} s");
    let (_, t_tree_hash) = timed(|| {
        let mut range = CompactRange::new();
        let mut start = 0;
        for &end in &ends {
            range.push(leaf_hash_raw(&buf[start..end]), |_, h| {
                std::hint::black_box(h);
            });
            start = end;
        }
        std::hint::black_box(range.root());
    });
    println!("  leaf + interior hashing, memory: {t_tree_hash:6.3} s");
    let parts = t_entries + t_tree + t_tree_hash;
    let whole = entries as f64 / full;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "  sum of the parts:                {parts:6.3} s of one core's time; the replay took {whole:.3} s of wall time on {cpus} cores ({:.2} x the parts' sum)",
        whole / parts
    );
    println!("machine: load average {} at end", load_average());
}
