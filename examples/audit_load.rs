//! A load and crash-drill writer for the audit log: several threads append synthetic entries to
//! a data directory and print one line per acknowledged append, `<index> <writer> <seq>
//! <leaf hash hex>`, flushed at once. The crash test kills it with SIGKILL mid-stream and
//! checks that every line it printed is in the store. Never point it at a real node's data.
//!
//! `audit_load DATA_DIR KEY_FILE STATE_FILE ORIGIN WRITERS COUNT` (COUNT 0: until killed).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use zhengzhao::audit::entry::{Action, Actor, EntryDraft};
use zhengzhao::audit::log::{AuditLog, LogConfig};
use zhengzhao::audit::note::NoteSigner;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, key, state, origin, writers, count] = args.as_slice() else {
        eprintln!("usage: audit_load DATA_DIR KEY_FILE STATE_FILE ORIGIN WRITERS COUNT");
        return ExitCode::from(2);
    };
    let (Ok(writers), Ok(count)) = (writers.parse::<u64>(), count.parse::<u64>()) else {
        eprintln!("WRITERS and COUNT are numbers");
        return ExitCode::from(2);
    };
    let signer = match std::fs::read_to_string(key)
        .map_err(|e| e.to_string())
        .and_then(|t| NoteSigner::from_private_key(&t).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{key}: {e}");
            return ExitCode::from(2);
        }
    };
    let config = LogConfig {
        origin: origin.clone(),
        signer,
        state_file: PathBuf::from(state),
        checkpoint_interval: Some(Duration::from_millis(50)),
        adopt_store: false,
        holder_key: None,
    };
    let log = match AuditLog::open(std::path::Path::new(dir), config) {
        Ok(l) => Arc::new(l),
        Err(e) => {
            eprintln!("open: {e}");
            return ExitCode::from(1);
        }
    };
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || -> Result<(), String> {
                let mut seq = 0u64;
                while count == 0 || seq < count {
                    let mut d =
                        EntryDraft::new(Actor::named(format!("load-{w}")), Action::AuditRead, "ok");
                    d.detail.insert("writer".into(), w.into());
                    d.detail.insert("seq".into(), seq.into());
                    let r = log.append(d, Vec::new()).map_err(|e| e.to_string())?;
                    let leaf = r.leaf_hashes.first().map(hex::encode).unwrap_or_default();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{} {w} {seq} {leaf}", r.index).map_err(|e| e.to_string())?;
                    out.flush().map_err(|e| e.to_string())?;
                    seq += 1;
                }
                Ok(())
            })
        })
        .collect();
    let mut code = ExitCode::SUCCESS;
    for t in threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("writer: {e}");
                code = ExitCode::from(1);
            }
            Err(_) => code = ExitCode::from(1),
        }
    }
    if let Err(e) = log.checkpoint_now() {
        eprintln!("checkpoint: {e}");
        code = ExitCode::from(1);
    }
    code
}
