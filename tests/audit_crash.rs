#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Crash drill, with real processes and a real RocksDB directory: the `audit_load` example
//! appends from 8 threads to one data directory and prints every acknowledged append; the test
//! kills it with SIGKILL (`std::process::Child::kill` sends SIGKILL on Unix) at a random moment
//! — during start-up, mid-stream, between a write and a checkpoint — many times over, restarting
//! it on the same directory, key and state file. After every kill, every append it acknowledged
//! must be in the store, at its index, with its leaf hash and its writer and sequence number;
//! the store must be dense; `zhengzhao audit verify` must pass; and the next start must open
//! the store (the state-file check must survive a kill at any moment).
//!
//! The drill needs the example binary: plain `cargo test` builds examples; with `--test
//! audit_crash` alone, run `cargo build --examples` first. `ZZ_CRASH_SEED=<n>` replays a run.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ring::digest;
use rocksdb::{DB, Options};
use support::Rng;
use support::command::{p, zz};
use zhengzhao::audit::checkpoint::Checkpoint;
use zhengzhao::audit::entry::Entry;
use zhengzhao::audit::log::{AuditLog, LogConfig};
use zhengzhao::audit::note::NoteSigner;
use zhengzhao::store::{CF_TREE, COLUMN_FAMILIES, StoreReader};

const ORIGIN: &str = "zhengzhao/370900";
const WRITERS: u64 = 8;
const ROUNDS: u32 = 40;
/// Stop starting new rounds after this long (slow machines), once at least `MIN_ROUNDS` ran.
const BUDGET: Duration = Duration::from_secs(45);
const MIN_ROUNDS: u32 = 10;

/// The `audit_load` example, next to this test's own binary: target/<profile>/deps/<test> →
/// target/<profile>/examples/audit_load.
fn audit_load() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("examples").join("audit_load"));
    let path = match path {
        Some(p) if p.is_file() => p,
        p => panic!(
            "the crash-drill writer `audit_load` is not built (looked for {p:?}); plain `cargo \
             test` builds examples, or run `cargo build --examples` before `cargo test --test \
             audit_crash`"
        ),
    };
    // `cargo test --test audit_crash` alone does not rebuild examples: refuse one older than
    // the library this test was built with, rather than drill yesterday's code.
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let newest_lib = std::fs::read_dir(exe.parent().unwrap())
        .unwrap()
        .filter_map(|f| f.ok().map(|f| f.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libzhengzhao-") && n.ends_with(".rlib"))
        })
        .filter_map(|p| modified(&p))
        .max();
    if let (Some(lib), Some(example)) = (newest_lib, modified(&path)) {
        assert!(
            example >= lib,
            "{} is older than the library: run `cargo build --examples` (or plain `cargo test`)",
            path.display()
        );
    }
    path
}

impl Rng {
    /// Uniform enough in `[lo, hi]`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn leaf_hash(entry: &[u8]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[0x00]);
    ctx.update(entry);
    ctx.finish().as_ref().try_into().unwrap()
}

/// One acknowledged append, as the writer printed it.
#[derive(Debug, Clone)]
struct Ack {
    round: u32,
    writer: u64,
    seq: u64,
    leaf: [u8; 32],
}

fn parse_ack(line: &str, round: u32) -> (u64, Ack) {
    let parts: Vec<&str> = line.split(' ').collect();
    let [index, writer, seq, leaf] = parts.as_slice() else {
        panic!("round {round}: malformed acknowledgement line {line:?}");
    };
    let leaf: [u8; 32] = hex::decode(leaf)
        .ok()
        .and_then(|b| b.try_into().ok())
        .unwrap_or_else(|| panic!("round {round}: bad leaf hash in {line:?}"));
    (
        index.parse().unwrap(),
        Ack {
            round,
            writer: writer.parse().unwrap(),
            seq: seq.parse().unwrap(),
            leaf,
        },
    )
}

/// How a round ends.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// This long after the process started (it may still be opening the store).
    Elapsed(Duration),
    /// After this many acknowledged appends.
    Acks(usize),
}

/// Start the writer, let it run until `kill_at`, SIGKILL it. Returns the complete lines it
/// printed (a line cut short by the kill is dropped: its append is on disk but unparseable).
fn run_round(
    exe: &Path,
    dir: &Path,
    key: &Path,
    state: &Path,
    round: u32,
    kill_at: KillAt,
) -> Vec<String> {
    let start = Instant::now();
    let mut child = Command::new(exe)
        .arg(dir)
        .arg(key)
        .arg(state)
        .args([ORIGIN, &WRITERS.to_string(), "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        loop {
            let mut buf = Vec::new();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) if buf.ends_with(b"\n") => {
                    buf.pop();
                    if tx.send(String::from_utf8(buf).unwrap()).is_err() {
                        break;
                    }
                }
                Ok(_) => break, // cut short by the kill
            }
        }
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let mut lines = Vec::new();
    // A writer that has not printed anything for this long is stuck (or failed to start).
    let cap = Duration::from_secs(10);
    loop {
        let wait = match kill_at {
            KillAt::Elapsed(d) => match d.checked_sub(start.elapsed()) {
                Some(left) => left.min(Duration::from_millis(5)),
                None => break,
            },
            KillAt::Acks(n) if lines.len() >= n => break,
            KillAt::Acks(_) => Duration::from_millis(5),
        };
        match rx.recv_timeout(wait) {
            Ok(line) => lines.push(line),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if start.elapsed() > cap {
            break;
        }
    }
    // SIGKILL: no destructor, no flush, no checkpoint on the way out.
    let _ = child.kill();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    lines.extend(rx.try_iter());
    let stderr = err_reader.join().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "round {round}: the writer ended on its own ({status}) instead of being killed, after \
         {} acknowledged appends; its standard error:\n{stderr}",
        lines.len()
    );
    lines
}

/// Everything the writer acknowledged is in the store as it said; the store is dense.
/// Returns the store's size.
fn check_store(dir: &Path, acks: &BTreeMap<u64, Ack>, seed: u64) -> u64 {
    let reader = StoreReader::open(dir).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let size = reader.size().unwrap();
    // Dense: every index below the size is stored.
    let visited = reader
        .for_each_entry(0, size, |_, _| Ok(()))
        .unwrap_or_else(|e| panic!("seed {seed}: the store is not dense: {e}"));
    assert_eq!(visited, size, "seed {seed}: entries stop before the size");
    assert!(
        reader.entry(size).unwrap().is_none(),
        "seed {seed}: an entry is stored at {size}, beyond the recorded size"
    );
    // The stored leaf hashes, read straight from RocksDB.
    let mut o = Options::default();
    o.set_paranoid_checks(true);
    let db = DB::open_cf_for_read_only(&o, dir, COLUMN_FAMILIES, false).unwrap();
    let tree = db.cf_handle(CF_TREE).unwrap();
    for (&index, ack) in acks {
        let ctx = format!(
            "seed {seed}: entry {index} (round {}, writer {}, seq {})",
            ack.round, ack.writer, ack.seq
        );
        assert!(
            index < size,
            "{ctx} was acknowledged but the store ends at {size}"
        );
        let bytes = reader
            .entry(index)
            .unwrap()
            .unwrap_or_else(|| panic!("{ctx} was acknowledged but is not stored"));
        assert_eq!(
            leaf_hash(&bytes),
            ack.leaf,
            "{ctx}: the stored bytes do not hash to the acknowledged leaf"
        );
        let mut k = [0u8; 9];
        k[1..].copy_from_slice(&index.to_be_bytes());
        let stored_leaf = db.get_cf(tree, k).unwrap();
        assert_eq!(
            stored_leaf.as_deref(),
            Some(&ack.leaf[..]),
            "{ctx}: the stored leaf hash is not the acknowledged one"
        );
        let entry = Entry::parse(&bytes).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(entry.index, index, "{ctx}: the entry states another index");
        let detail = &entry.draft.detail;
        assert_eq!(
            (
                detail.get("writer").and_then(|v| v.as_u64()),
                detail.get("seq").and_then(|v| v.as_u64())
            ),
            (Some(ack.writer), Some(ack.seq)),
            "{ctx}: the stored entry is another writer's or another sequence number's"
        );
    }
    size
}

/// `zhengzhao audit verify` on the directory: exit 0 and the size verified.
fn audit_verify(dir: &Path, vkey: &str, size: u64, seed: u64) {
    let out = zz(&["audit", "verify", "--data-dir", p(dir), "--vkey", vkey]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "seed {seed}: audit verify failed after a kill:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(&format!("verified {size} entries;")),
        "seed {seed}: {stdout}"
    );
}

#[test]
fn sigkill_at_any_moment_loses_no_acknowledged_append() {
    let exe = audit_load();
    let seed = std::env::var("ZZ_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            (t.as_nanos() as u64) | 1
        });
    println!("ZZ_CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let key = tmp.path().join("log.key");
    // The state file lives outside the data directory, as on a node.
    let state = tmp.path().join("checkpoint.note");
    let (signer, private) = NoteSigner::generate(ORIGIN).unwrap();
    std::fs::write(&key, private).unwrap();
    let vkey = signer.vkey();

    let started = Instant::now();
    let mut acks: BTreeMap<u64, Ack> = BTreeMap::new();
    let mut kills = 0u32;
    let mut kills_before_first_ack = 0u32;
    let mut kills_between_state_file_and_store = 0u32;
    let mut newest_checkpoint = 0u64;
    let verifier = signer.verifier();
    let mut size = 0u64;
    let mut round = 0u32;
    while round < ROUNDS && (round < MIN_ROUNDS || started.elapsed() < BUDGET) {
        let kill_at = match rng.next() % 8 {
            // During start-up: opening RocksDB, the state-file check, the first appends.
            0 => KillAt::Elapsed(Duration::from_millis(rng.range(0, 20))),
            1..=4 => KillAt::Elapsed(Duration::from_millis(rng.range(20, 300))),
            _ => KillAt::Acks(rng.range(1, 400) as usize),
        };
        let lines = run_round(&exe, &dir, &key, &state, round, kill_at);
        kills += 1;
        if lines.is_empty() {
            kills_before_first_ack += 1;
        }
        // Each writer acknowledges its sequence numbers in order, from 0, at rising indexes.
        let mut last: HashMap<u64, (u64, u64)> = HashMap::new();
        for line in &lines {
            let (index, ack) = parse_ack(line, round);
            assert!(ack.writer < WRITERS, "seed {seed}: {line}");
            let want_seq = last.get(&ack.writer).map_or(0, |&(s, _)| s + 1);
            assert_eq!(ack.seq, want_seq, "seed {seed}: round {round}: {line}");
            if let Some(&(_, prev_index)) = last.get(&ack.writer) {
                assert!(index > prev_index, "seed {seed}: round {round}: {line}");
            }
            // Earlier rounds' appends are never overwritten: an index is acknowledged once.
            assert!(
                index >= size,
                "seed {seed}: round {round} acknowledged index {index}, below the {size} \
                 entries stored before it started"
            );
            last.insert(ack.writer, (ack.seq, index));
            if let Some(prev) = acks.insert(index, ack) {
                panic!("seed {seed}: index {index} acknowledged twice (first {prev:?})");
            }
        }
        // Before anything was acknowledged, a kill may have come before the store was created,
        // or while RocksDB was still adding its column families: the next start finishes that.
        let created =
            dir.join("CURRENT").exists() && (!acks.is_empty() || StoreReader::open(&dir).is_ok());
        if created {
            let now = check_store(&dir, &acks, seed);
            assert!(
                now >= size,
                "seed {seed}: the store shrank from {size} to {now}"
            );
            size = now;
            audit_verify(&dir, &vkey, size, seed);
            // The state file is never torn: always a checkpoint this key signed, within the
            // store; ahead of the store's own newest checkpoint if the kill came between the
            // two writes (the next start puts it in the store).
            if let Ok(note) = std::fs::read_to_string(&state) {
                let cp = Checkpoint::open(&note, &verifier, Some(ORIGIN))
                    .unwrap_or_else(|e| panic!("seed {seed}: state file after a kill: {e}"));
                assert!(cp.size <= size, "seed {seed}: state file at {}", cp.size);
                let stored = StoreReader::open(&dir)
                    .unwrap()
                    .latest_checkpoint()
                    .unwrap()
                    .map_or(0, |(s, _)| s);
                assert!(
                    stored <= cp.size,
                    "seed {seed}: store at {stored}, file {}",
                    cp.size
                );
                if stored < cp.size {
                    kills_between_state_file_and_store += 1;
                }
                newest_checkpoint = cp.size;
            }
        } else {
            assert!(acks.is_empty(), "seed {seed}: acknowledged, but no store");
            println!("round {round}: killed before the store was created");
        }
        round += 1;
    }

    // After the last kill the node starts normally: same state file, no adoption.
    let log = AuditLog::open(
        &dir,
        LogConfig {
            origin: ORIGIN.into(),
            signer: NoteSigner::from_private_key(&std::fs::read_to_string(&key).unwrap()).unwrap(),
            state_file: state.clone(),
            checkpoint_interval: None,
            adopt_store: false,
            holder_key: None,
        },
    )
    .unwrap_or_else(|e| panic!("seed {seed}: the store does not open after the last kill: {e}"));
    assert_eq!(log.size(), size);
    let cp = log.checkpoint_now().unwrap();
    assert_eq!(cp.checkpoint.size, size);
    log.close();
    drop(log);
    check_store(&dir, &acks, seed);
    audit_verify(&dir, &vkey, size, seed);

    assert!(
        acks.len() as u32 > kills,
        "seed {seed}: too few appends were acknowledged ({}) to mean anything",
        acks.len()
    );
    assert!(
        newest_checkpoint > 0,
        "seed {seed}: no checkpoint was ever signed"
    );
    println!(
        "{kills} kills ({kills_before_first_ack} before the first acknowledgement of their \
         round, {kills_between_state_file_and_store} between a checkpoint's state file and its \
         store record), {} acknowledged appends, {size} entries in the store, newest checkpoint \
         before the last restart at {newest_checkpoint}, {:.1} s",
        acks.len(),
        started.elapsed().as_secs_f64()
    );
}

/// RFC 6962 MTH, straight from its recursive definition.
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => digest::digest(&digest::SHA256, b"")
            .as_ref()
            .try_into()
            .unwrap(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            let mut ctx = digest::Context::new(&digest::SHA256);
            ctx.update(&[0x01]);
            ctx.update(&mth(&leaves[..k]));
            ctx.update(&mth(&leaves[k..]));
            ctx.finish().as_ref().try_into().unwrap()
        }
    }
}

#[test]
fn every_restart_continues_the_same_tree() {
    // Closed and reopened at every size up to about 80, so with one to six peaks to pick up,
    // the log goes on appending to the tree its entries hash to, and signs a checkpoint
    // consistent with the one before each time.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (signer, private) = NoteSigner::generate(ORIGIN).unwrap();
    let vkey = signer.vkey();
    let mut size = 0u64;
    for round in 0..40u64 {
        let log = AuditLog::open(
            &dir,
            LogConfig {
                origin: ORIGIN.into(),
                signer: NoteSigner::from_private_key(&private).unwrap(),
                state_file: tmp.path().join("checkpoint.note"),
                checkpoint_interval: None,
                adopt_store: false,
                holder_key: None,
            },
        )
        .unwrap_or_else(|e| panic!("reopening at size {size}: {e}"));
        assert_eq!(log.size(), size);
        for _ in 0..=round % 3 {
            let mut d = zhengzhao::audit::entry::EntryDraft::new(
                zhengzhao::audit::entry::Actor::named("restart"),
                zhengzhao::audit::entry::Action::AuditRead,
                "ok",
            );
            d.detail.insert("round".into(), round.into());
            log.append(d, Vec::new()).unwrap();
        }
        let (new_size, root) = log.head().unwrap();
        let leaves: Vec<[u8; 32]> = log
            .entries(0, new_size)
            .unwrap()
            .iter()
            .map(|(_, e)| leaf_hash(e))
            .collect();
        assert_eq!(
            root,
            mth(&leaves),
            "after reopening at size {size} and appending to {new_size}"
        );
        let cp = log
            .checkpoint_now()
            .unwrap_or_else(|e| panic!("after reopening at size {size}: {e}"));
        assert_eq!((cp.checkpoint.size, cp.checkpoint.root), (new_size, root));
        log.close();
        size = new_size;
    }
    audit_verify(&dir, &vkey, size, 0);
}
