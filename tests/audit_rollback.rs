#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! The store refuses to open behind, or against, the last checkpoint the node signed, which is
//! kept in a state file outside the data directory: a data directory restored from a backup,
//! a store rebuilt with the same key and different history, a missing state file, another
//! log's store. Real RocksDB directories, copied as an operator would.

use std::path::{Path, PathBuf};

use rocksdb::{DB, Options};
use tempfile::TempDir;
use zhengzhao::audit::entry::{Action, Actor, EntryDraft};
use zhengzhao::audit::error::AuditError;
use zhengzhao::audit::log::{AuditLog, LogConfig};
use zhengzhao::audit::note::NoteSigner;
use zhengzhao::store::{CF_CHECKPOINTS, COLUMN_FAMILIES};

const ORIGIN: &str = "zhengzhao/370900";

/// One node: a data directory, a state file beside it (not inside), a key.
struct Node {
    tmp: TempDir,
    key: String,
}

impl Node {
    fn new() -> Node {
        let (_, key) = NoteSigner::generate(ORIGIN).unwrap();
        Node::with_key(key)
    }

    fn with_key(key: String) -> Node {
        Node {
            tmp: tempfile::tempdir().unwrap(),
            key,
        }
    }

    fn dir(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    fn state(&self) -> PathBuf {
        self.tmp.path().join("checkpoint.note")
    }

    fn config(&self, origin: &str, state: &Path, adopt_store: bool) -> LogConfig {
        LogConfig {
            origin: origin.into(),
            signer: NoteSigner::from_private_key(&self.key).unwrap(),
            state_file: state.to_owned(),
            checkpoint_interval: None,
            adopt_store,
            holder_key: None,
        }
    }

    fn open(&self) -> AuditLog {
        AuditLog::open(&self.dir(), self.config(ORIGIN, &self.state(), false))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_open(&self, config: LogConfig) -> Result<AuditLog, AuditError> {
        AuditLog::open(&self.dir(), config)
    }
}

fn refused(r: Result<AuditLog, AuditError>) -> AuditError {
    match r {
        Ok(log) => panic!("opened a store of {} entries", log.size()),
        Err(e) => e,
    }
}

/// Append `n` entries saying `what`, and return the new size.
fn append(log: &AuditLog, n: u64, what: &str) -> u64 {
    for i in 0..n {
        let mut d = EntryDraft::new(Actor::named("clerk"), Action::AuditRead, "ok");
        d.purpose = Some(format!("{what} {i}"));
        log.append(d, Vec::new()).unwrap();
    }
    log.size()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in std::fs::read_dir(from).unwrap() {
        let f = f.unwrap();
        assert!(f.file_type().unwrap().is_file(), "{:?}", f.path());
        std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
    }
}

fn replace_dir(dir: &Path, with: &Path) {
    std::fs::remove_dir_all(dir).unwrap();
    copy_dir(with, dir);
}

#[test]
fn a_data_directory_restored_from_a_backup_is_refused_as_rolled_back() {
    let node = Node::new();
    let backup = tempfile::tempdir().unwrap();
    let log = node.open();
    append(&log, 100, "first");
    assert_eq!(log.checkpoint_now().unwrap().checkpoint.size, 100);
    // The backup also holds entries the node had not signed yet.
    assert_eq!(append(&log, 20, "unsigned"), 120);
    log.close();
    drop(log);
    copy_dir(&node.dir(), backup.path());

    let log = node.open();
    assert_eq!(append(&log, 30, "second"), 150);
    assert_eq!(log.checkpoint_now().unwrap().checkpoint.size, 150);
    log.close();
    drop(log);
    let signed = std::fs::read_to_string(node.state()).unwrap();

    replace_dir(&node.dir(), backup.path());
    let e = refused(node.try_open(node.config(ORIGIN, &node.state(), false)));
    let AuditError::RolledBack {
        store_size,
        signed_size,
        ref state_file,
    } = e
    else {
        panic!("want RolledBack, got {e:?}");
    };
    assert_eq!((store_size, signed_size), (120, 150));
    assert_eq!(state_file, &node.state().display().to_string());
    let msg = e.to_string();
    for says in [
        "holds 120 entries",
        "signed a checkpoint at size 150",
        "was rolled back",
        "refusing to continue from an older log",
    ] {
        assert!(msg.contains(says), "want {says:?} in: {msg}");
    }
    // A data directory lost altogether, and started afresh, is behind too.
    std::fs::remove_dir_all(node.dir()).unwrap();
    let e = refused(node.try_open(node.config(ORIGIN, &node.state(), false)));
    assert!(
        matches!(
            e,
            AuditError::RolledBack {
                store_size: 0,
                signed_size: 150,
                ..
            }
        ),
        "{e:?}"
    );
    replace_dir(&node.dir(), backup.path());
    // Adopting the store on purpose does not override a state file that is there.
    let e = refused(node.try_open(node.config(ORIGIN, &node.state(), true)));
    assert!(matches!(e, AuditError::RolledBack { .. }), "{e:?}");
    // Refusing changed nothing: the state file still holds the newest checkpoint.
    assert_eq!(std::fs::read_to_string(node.state()).unwrap(), signed);
}

#[test]
fn a_store_rewritten_under_the_same_key_is_refused_as_inconsistent() {
    let node = Node::new();
    let log = node.open();
    append(&log, 64, "original");
    log.checkpoint_now().unwrap();
    log.close();
    drop(log);
    let signed = std::fs::read_to_string(node.state()).unwrap();

    // The same size, and longer: a fresh store, signed with the same key, with other entries.
    for (size, with_checkpoint) in [(64u64, true), (64, false), (90, true)] {
        let forger = Node::with_key(node.key.clone());
        let log = forger.open();
        assert_eq!(append(&log, size, "rewritten"), size);
        if with_checkpoint {
            log.checkpoint_now().unwrap();
        }
        log.close();
        drop(log);
        replace_dir(&node.dir(), &forger.dir());
        let e = refused(node.try_open(node.config(ORIGIN, &node.state(), false)));
        let AuditError::Inconsistent(msg) = &e else {
            panic!("size {size}: want Inconsistent, got {e:?}");
        };
        assert!(
            msg.contains(
                "the store's tree at size 64 differs from the checkpoint this node signed"
            ) && msg.contains("history was rewritten"),
            "size {size}: {msg}"
        );
        assert_eq!(std::fs::read_to_string(node.state()).unwrap(), signed);
    }
}

#[test]
fn a_missing_state_file_is_refused_unless_the_store_is_adopted() {
    let node = Node::new();
    // Entries but no checkpoint: nothing was signed, so there is nothing to be behind.
    let log = node.open();
    append(&log, 10, "unsigned");
    log.close();
    drop(log);
    assert!(!node.state().exists());
    let log = node.open();
    append(&log, 10, "signed");
    let cp = log.checkpoint_now().unwrap();
    log.close();
    drop(log);

    std::fs::remove_file(node.state()).unwrap();
    let e = refused(node.try_open(node.config(ORIGIN, &node.state(), false)));
    let AuditError::Inconsistent(msg) = &e else {
        panic!("want Inconsistent, got {e:?}");
    };
    assert!(
        msg.contains("checkpoints up to size 20")
            && msg.contains("state file")
            && msg.contains("is missing"),
        "{msg}"
    );
    assert!(!node.state().exists());

    // Adopted on purpose: the state file is written from the store's newest checkpoint.
    let log = node
        .try_open(node.config(ORIGIN, &node.state(), true))
        .unwrap();
    assert_eq!(log.size(), 20);
    log.close();
    drop(log);
    assert_eq!(std::fs::read_to_string(node.state()).unwrap(), cp.note);
    // From then on it opens as usual.
    let log = node.open();
    assert_eq!(log.latest_checkpoint().unwrap(), cp);
}

#[test]
fn another_logs_store_or_key_is_refused() {
    let node = Node::new();
    let log = node.open();
    append(&log, 5, "entry");
    log.checkpoint_now().unwrap();
    log.close();
    drop(log);

    // Another origin, even with a state file of its own: the store belongs to one log.
    let other_state = node.tmp.path().join("other.note");
    let e = refused(node.try_open(node.config("zhengzhao/370115", &other_state, false)));
    let AuditError::Inconsistent(msg) = &e else {
        panic!("want Inconsistent, got {e:?}");
    };
    assert!(
        msg.contains("belongs to log `zhengzhao/370900`, not `zhengzhao/370115`"),
        "{msg}"
    );
    assert!(!other_state.exists());

    // The right origin, but the state file of another log signed with the same key.
    let other = Node::with_key(node.key.clone());
    let log = AuditLog::open(
        &other.dir(),
        other.config("zhengzhao/370115", &other.state(), false),
    )
    .unwrap();
    append(&log, 5, "other");
    log.checkpoint_now().unwrap();
    log.close();
    drop(log);
    let e = refused(node.try_open(node.config(ORIGIN, &other.state(), false)));
    assert!(matches!(e, AuditError::Io(_)), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("not a checkpoint signed by this node") && msg.contains("zhengzhao/370115"),
        "{msg}"
    );

    // Another key: the store's checkpoints do not verify.
    let stranger = Node::new();
    let e = refused(AuditLog::open(
        &node.dir(),
        stranger.config(ORIGIN, &node.state(), false),
    ));
    assert!(matches!(e, AuditError::Note(_)), "{e:?}");

    // None of that harmed the store.
    assert_eq!(node.open().size(), 5);
}

#[test]
fn a_checkpoint_only_in_the_state_file_is_put_back_in_the_store() {
    // A crash after the state file was written but before the store recorded the checkpoint.
    let node = Node::new();
    let log = node.open();
    append(&log, 8, "entry");
    log.checkpoint_now().unwrap();
    append(&log, 5, "entry");
    let cp = log.checkpoint_now().unwrap();
    log.close();
    drop(log);
    {
        let db = DB::open_cf(&Options::default(), node.dir(), COLUMN_FAMILIES).unwrap();
        db.delete_cf(db.cf_handle(CF_CHECKPOINTS).unwrap(), 13u64.to_be_bytes())
            .unwrap();
    }
    let log = node.open();
    assert_eq!(log.latest_checkpoint().unwrap(), cp);
    assert_eq!(log.checkpoint_at(13).unwrap(), Some(cp.note.clone()));
}

#[test]
fn a_state_file_behind_the_stores_checkpoints_is_refused() {
    let node = Node::new();
    let old_state = node.tmp.path().join("old.note");
    let log = node.open();
    append(&log, 8, "entry");
    log.checkpoint_now().unwrap();
    std::fs::copy(node.state(), &old_state).unwrap();
    append(&log, 5, "entry");
    log.checkpoint_now().unwrap();
    log.close();
    drop(log);
    let e = refused(node.try_open(node.config(ORIGIN, &old_state, false)));
    let AuditError::Inconsistent(msg) = &e else {
        panic!("want Inconsistent, got {e:?}");
    };
    assert!(
        msg.contains("checkpoint at size 13 newer than the state file's 8"),
        "{msg}"
    );
}
