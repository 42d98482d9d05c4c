//! The auditor's remote replay: follow a node's log over the API, recompute it, and keep what
//! was verified in a state file, so each run checks only what is new and that the node's log
//! still extends what it showed before.
//!
//! One run: fetch the node's signed checkpoint and open it with the pinned verifier key; fetch
//! every entry from the size verified last time up to the checkpoint's size, in order, checking
//! each states its own index; extend the kept compact range with their leaf hashes; the
//! resulting root must be the checkpoint's. That the log extends the one verified before holds
//! by construction (the new root was computed from the old tree's peaks), and the node's own
//! consistency proof between the two sizes is checked too. The state file is replaced
//! atomically only after all of that held. Memory is O(log n) plus one page of entries.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use super::client::Client;
use crate::audit::checkpoint::Checkpoint;
use crate::audit::entry::Entry;
use crate::audit::merkle::{self, CompactRange, Hash};
use crate::audit::note::NoteVerifier;

/// Entries fetched per request.
const PAGE: u64 = 5_000;

/// The lines of an answer to `GET /v1/audit/entries?from={index}&to={to}`: it may end early
/// (the node's read limit), so at least one line and at most `to - index`; otherwise the node
/// is not answering what it was asked, which is named.
fn page_lines(body: &[u8], index: u64, to: u64) -> Result<Vec<&[u8]>, String> {
    let lines: Vec<&[u8]> = if body.is_empty() {
        Vec::new()
    } else {
        body.strip_suffix(b"\n")
            .unwrap_or(body)
            .split(|b| *b == b'\n')
            .collect()
    };
    if lines.is_empty() || lines.len() as u64 > to.saturating_sub(index) {
        return Err(format!(
            "asked for entries [{index}, {to}), the node sent {}",
            lines.len()
        ));
    }
    Ok(lines)
}

/// What the auditor keeps between runs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuditorState {
    /// The log's origin.
    pub origin: String,
    /// Entries verified.
    pub size: u64,
    /// Their root (base64).
    pub root: String,
    /// The compact range's peaks (base64), largest subtree first.
    pub peaks: Vec<String>,
    /// The checkpoint verified last, as the node signed it.
    pub checkpoint: String,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteVerdict {
    /// The log verified and extends what was verified before.
    Verified {
        /// Size verified before this run.
        from: u64,
        /// Size verified now.
        size: u64,
        /// Root at `size` (base64).
        root: String,
    },
    /// The node showed something that contradicts its log or what it showed before.
    Disagrees(String),
}

fn load_state(path: &Path) -> Result<Option<AuditorState>, String> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| format!("{}: not an auditor state file: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn save_state(path: &Path, state: &AuditorState) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?;
    let write = || -> std::io::Result<()> {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().map_err(|e| format!("{}: {e}", path.display()))
}

fn b64_hash(s: &str) -> Result<Hash, String> {
    B64.decode(s)
        .ok()
        .and_then(|v| <Hash>::try_from(v.as_slice()).ok())
        .ok_or_else(|| format!("{s:?} is not a base64 SHA-256 hash"))
}

/// Runs one remote replay. Errors are of use or of the network (exit 2); what the node got
/// wrong is a [`RemoteVerdict::Disagrees`] (exit 1).
pub async fn replay_remote(
    client: &mut Client,
    verifier: &NoteVerifier,
    state_path: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RemoteVerdict, String> {
    let state = load_state(state_path)?;
    let reply = client.request("GET", "/v1/audit/checkpoint", None).await?;
    if reply.status != 200 {
        return Err(format!(
            "GET /v1/audit/checkpoint: HTTP {}: {}",
            reply.status,
            reply.text()
        ));
    }
    let note = reply.text();
    let origin = state.as_ref().map(|s| s.origin.as_str());
    let cp = match Checkpoint::open(&note, verifier, origin) {
        Ok(cp) => cp,
        Err(e) => {
            return Ok(RemoteVerdict::Disagrees(format!(
                "the node's checkpoint does not verify under the pinned key: {e}"
            )));
        }
    };
    let (from, mut range) = match &state {
        None => (0, CompactRange::new()),
        Some(s) => {
            let peaks = s
                .peaks
                .iter()
                .map(|p| b64_hash(p))
                .collect::<Result<Vec<_>, _>>()?;
            let range = CompactRange::from_peaks(s.size, peaks).ok_or_else(|| {
                format!("{}: the peaks do not fit the size", state_path.display())
            })?;
            if B64.encode(range.root()) != s.root {
                return Err(format!(
                    "{}: the peaks do not hash to the root",
                    state_path.display()
                ));
            }
            (s.size, range)
        }
    };
    if cp.size < from {
        return Ok(RemoteVerdict::Disagrees(format!(
            "the node's log shrank: it signed size {} but size {from} was verified before \
             (rolled back or rewritten)",
            cp.size
        )));
    }
    let mut index = from;
    while index < cp.size {
        let to = (index + PAGE).min(cp.size);
        let path = format!("/v1/audit/entries?from={index}&to={to}");
        let reply = client.request("GET", &path, None).await?;
        if reply.status != 200 {
            return Err(format!(
                "GET {path}: HTTP {}: {}",
                reply.status,
                reply.text()
            ));
        }
        let body = reply.body;
        let lines = match page_lines(&body, index, to) {
            Ok(lines) => lines,
            Err(why) => return Ok(RemoteVerdict::Disagrees(why)),
        };
        for line in lines {
            let entry = match Entry::parse(line) {
                Ok(e) => e,
                Err(e) => {
                    return Ok(RemoteVerdict::Disagrees(format!(
                        "entry {index} is not a valid entry: {e}"
                    )));
                }
            };
            if entry.index != index {
                return Ok(RemoteVerdict::Disagrees(format!(
                    "entry {index} states index {}",
                    entry.index
                )));
            }
            range.push(merkle::leaf_hash(line), |_, _| {});
            index += 1;
        }
        progress(index, cp.size);
    }
    if range.root() != cp.root {
        return Ok(RemoteVerdict::Disagrees(format!(
            "entries [0, {}) as the node serves them do not hash to the root it signed at size \
             {}{}",
            cp.size,
            cp.size,
            if from > 0 {
                format!(
                    " (entries up to {from} were verified before: the node rewrote history or \
                     serves entries other than those it signed)"
                )
            } else {
                String::new()
            }
        )));
    }
    if let Some(s) = &state
        && from > 0
        && from < cp.size
    {
        let path = format!("/v1/audit/proof/consistency?from={from}&to={}", cp.size);
        let reply = client.request("GET", &path, None).await?;
        let v = reply.json()?;
        let hashes = v
            .get("hashes")
            .and_then(|h| h.as_array())
            .ok_or_else(|| format!("GET {path}: no hashes in {v}"))?
            .iter()
            .map(|h| {
                h.as_str()
                    .map(b64_hash)
                    .unwrap_or(Err("not a string".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let old_root = b64_hash(&s.root)?;
        if let Err(e) = merkle::verify_consistency(from, cp.size, &hashes, &old_root, &cp.root) {
            return Ok(RemoteVerdict::Disagrees(format!(
                "the node's consistency proof from {from} to {} does not verify: {e}",
                cp.size
            )));
        }
    }
    let root = B64.encode(range.root());
    save_state(
        state_path,
        &AuditorState {
            origin: cp.origin.clone(),
            size: cp.size,
            root: root.clone(),
            peaks: range.peaks().iter().map(|p| B64.encode(p)).collect(),
            checkpoint: note,
        },
    )?;
    Ok(RemoteVerdict::Verified {
        from,
        size: cp.size,
        root,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::page_lines;

    /// An answer may end early but must hold at least one line and no more than asked for: an
    /// empty answer would otherwise keep the replay asking for ever.
    #[test]
    fn a_page_ends_early_but_is_never_empty_or_too_long() {
        assert_eq!(
            page_lines(b"a\nb\n", 10, 15).unwrap(),
            vec![&b"a"[..], b"b"]
        );
        assert_eq!(page_lines(b"a\nb\nc\n", 10, 13).unwrap().len(), 3);
        let empty = page_lines(b"", 10, 15).unwrap_err();
        assert!(
            empty.contains("[10, 15)") && empty.contains("sent 0"),
            "{empty}"
        );
        let long = page_lines(b"a\nb\nc\n", 10, 12).unwrap_err();
        assert!(long.contains("sent 3"), "{long}");
    }
}
