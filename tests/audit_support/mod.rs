//! Shared by the audit store tests: a real log in a temporary directory, and entries to fill it.

use std::path::Path;

use serde_json::Value;
use zhengzhao::audit::entry::{Action, Actor, EntryDraft};
use zhengzhao::audit::log::{AuditLog, LogConfig};
use zhengzhao::audit::note::NoteSigner;
use zhengzhao::store::Receipt;

/// The origin of every test log.
pub const ORIGIN: &str = "zhengzhao.test/audit/370900";

/// A new, empty log in `dir` (created if needed) with a freshly generated signing key. The
/// database lives in `dir/db`, the checkpoint state file and the private key beside it.
pub fn open_log(dir: &Path) -> AuditLog {
    let (_, private) = NoteSigner::generate(ORIGIN).expect("generate a note key");
    std::fs::write(dir.join("note.key"), private).expect("write the note key");
    reopen_log(dir)
}

/// The log [`open_log`] made in `dir`, opened again with the same key.
pub fn reopen_log(dir: &Path) -> AuditLog {
    let private = std::fs::read_to_string(dir.join("note.key")).expect("read the note key");
    let signer = NoteSigner::from_private_key(&private).expect("a note key");
    AuditLog::open(
        &dir.join("db"),
        LogConfig {
            origin: ORIGIN.to_owned(),
            signer,
            state_file: dir.join("checkpoint.note"),
            checkpoint_interval: None,
            adopt_store: false,
            holder_key: None,
        },
    )
    .expect("open the audit log")
}

const ACTIONS: [Action; 6] = [
    Action::LicenceVerify,
    Action::LicenceLookup,
    Action::LicenceStatus,
    Action::AuditRead,
    Action::AuthDenied,
    Action::NodeStart,
];

/// Entry draft number `n` of a test: the actor, action, matter and detail vary with `n`, and the
/// text includes non-ASCII, so the exact bytes of entries differ in length and content.
pub fn draft(tag: &str, n: u64) -> EntryDraft {
    let mut d = EntryDraft::new(
        Actor::named(format!("{tag}-actor-{}", n % 7)),
        ACTIONS[(n % ACTIONS.len() as u64) as usize],
        if n.is_multiple_of(5) { "denied" } else { "ok" },
    );
    if n.is_multiple_of(3) {
        d.matter = Some(format!("营业执照查验 {n}"));
    }
    if n % 4 == 1 {
        d.purpose = Some("核验 / verification".into());
    }
    d.detail.insert("tag".into(), Value::String(tag.to_owned()));
    d.detail.insert("n".into(), Value::from(n));
    d
}

/// Append `drafts` in consecutive batches of the given sizes (the last batch takes what is left),
/// checking each receipt's first index. Returns the receipts.
pub fn append_batches(
    log: &AuditLog,
    mut drafts: Vec<EntryDraft>,
    sizes: &[usize],
) -> Vec<Receipt> {
    let mut receipts = Vec::new();
    let mut sizes = sizes.iter().copied();
    while !drafts.is_empty() {
        let take = sizes.next().unwrap_or(drafts.len()).clamp(1, drafts.len());
        let rest = drafts.split_off(take);
        let before = log.size();
        let receipt = log.append_many(drafts).expect("append a batch");
        assert_eq!(receipt.index, before, "a batch starts at the log's size");
        assert_eq!(receipt.leaf_hashes.len(), take, "one leaf hash per entry");
        receipts.push(receipt);
        drafts = rest;
    }
    receipts
}
