//! `zhengzhao audit …`: the log's key, and the auditor's tools.

use std::fs;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Subcommand;

use super::{Failure, read_input};
use crate::audit::log::default_origin;
use crate::audit::merkle;
use crate::audit::note::{NoteSigner, NoteVerifier};
use crate::audit::proof_file::TlogProof;
use crate::audit::replay::{self, Verdict};
use crate::codes::RegionCode;
use crate::store::StoreReader;

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Make a checkpoint signing key (Ed25519). Writes the private key to FILE (mode 0600) and
    /// prints the verifier key, `<name>+<key id>+<base64 key>`, for auditors and witnesses.
    Keygen {
        /// Where to write the private key; refused if it exists, unless --force.
        #[arg(long)]
        out: PathBuf,
        /// The key name: by default `zhengzhao/<region>` with --region, else `zhengzhao`.
        #[arg(long, conflicts_with = "region")]
        name: Option<String>,
        /// Name the key after this region's log, `zhengzhao/<region>`.
        #[arg(long)]
        region: Option<RegionCode>,
        /// Also write the verifier key to this file.
        #[arg(long)]
        vkey_out: Option<PathBuf>,
        /// Replace an existing key file.
        #[arg(long)]
        force: bool,
        /// A witness's cosignature key (C2SP cosignature/v1) instead of a log's checkpoint key;
        /// by default named `zhengzhao-witness/<region>`.
        #[arg(long)]
        witness: bool,
    },
    /// Replay a data directory: recompute every leaf, interior hash and root, check every
    /// stored checkpoint. Exit 0 with the size and root verified, or exit 1 with the first
    /// index where anything disagrees.
    Verify {
        /// The node's data directory (read only; a copy is fine).
        #[arg(long)]
        data_dir: PathBuf,
        /// The log's verifier key: the text itself, or a file holding it.
        #[arg(long)]
        vkey: String,
        /// Insist on this log origin (default: the one recorded in the store).
        #[arg(long)]
        origin: Option<String>,
    },
    /// Replay a running node's log over its API: fetch its checkpoint and every entry not yet
    /// verified, recompute the tree, and check that the log extends what was verified before
    /// (kept in --state). Exit 0 with the size and root verified; exit 1 naming what the node
    /// got wrong; exit 2 on errors of use or of the network.
    Replay {
        /// The node's base URL, `https://host:port`.
        #[arg(long)]
        node: String,
        /// The auditor's client certificate (PEM).
        #[arg(long)]
        cert: PathBuf,
        /// Its private key (PEM).
        #[arg(long)]
        key: PathBuf,
        /// The CA that issued the node's TLS certificate (PEM).
        #[arg(long)]
        ca: PathBuf,
        /// The log's verifier key: the text itself, or a file holding it (pin your own copy).
        #[arg(long)]
        vkey: String,
        /// What was verified last time; created on the first run, replaced after each success.
        #[arg(long)]
        state: PathBuf,
    },
    /// Write entries as JSON Lines: `{"index":…,"leaf_hash":"<hex>","entry":<the entry>}`. The
    /// entry is embedded byte for byte, so its leaf hash can be recomputed from the line. With
    /// --case or --licence, every entry that names that case or licence, found through the
    /// store's index and each checked to name it (exit 1 if the index points at one that does
    /// not).
    Export {
        /// The node's data directory (read only).
        #[arg(long)]
        data_dir: PathBuf,
        /// First index (default 0).
        #[arg(long, default_value_t = 0, conflicts_with_all = ["case", "licence"])]
        from: u64,
        /// Index to stop before (default: the end of the log).
        #[arg(long, conflicts_with_all = ["case", "licence"])]
        to: Option<u64>,
        /// Only the entries of lookups for this case number (业务流水号).
        #[arg(long, conflicts_with = "licence")]
        case: Option<String>,
        /// Only the entries that name this licence: its id (or, for a licence whose serial holds
        /// a personal code, the `<licence:HASH>` token its entries carry).
        #[arg(long)]
        licence: Option<String>,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write an offline proof (C2SP tlog-proof) that entry INDEX is in the newest stored
    /// checkpoint, and optionally the entry's exact bytes.
    Prove {
        /// The node's data directory (read only).
        #[arg(long)]
        data_dir: PathBuf,
        /// The entry's index.
        #[arg(long)]
        index: u64,
        /// Write the proof here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the entry's exact bytes here.
        #[arg(long)]
        entry_out: Option<PathBuf>,
    },
    /// Check an offline proof file against an entry and the log's verifier key, with nothing
    /// else. Exit 0 if the entry is in the signed checkpoint, 1 if not.
    VerifyProof {
        /// The log's verifier key: the text itself, or a file holding it.
        #[arg(long)]
        vkey: String,
        /// The entry's exact bytes (`-` for standard input).
        #[arg(long)]
        entry: PathBuf,
        /// Insist on this log origin.
        #[arg(long)]
        origin: Option<String>,
        /// The proof file.
        proof: PathBuf,
    },
}

pub(crate) fn run(cmd: AuditCommand) -> Result<ExitCode, Failure> {
    match cmd {
        AuditCommand::Keygen {
            out,
            name,
            region,
            vkey_out,
            force,
            witness,
        } => keygen(&out, name, region, vkey_out.as_deref(), force, witness),
        AuditCommand::Replay {
            node,
            cert,
            key,
            ca,
            vkey,
            state,
        } => replay_remote(&node, &cert, &key, &ca, &vkey, &state),
        AuditCommand::Verify {
            data_dir,
            vkey,
            origin,
        } => verify(&data_dir, &vkey, origin.as_deref()),
        AuditCommand::Export {
            data_dir,
            from,
            to,
            case,
            licence,
            out,
        } => match (case, licence) {
            (Some(c), _) => export_indexed(&data_dir, Indexed::Case(&c), out.as_deref()),
            (_, Some(l)) => export_indexed(&data_dir, Indexed::Licence(&l), out.as_deref()),
            (None, None) => export(&data_dir, from, to, out.as_deref()),
        },
        AuditCommand::Prove {
            data_dir,
            index,
            out,
            entry_out,
        } => prove(&data_dir, index, out.as_deref(), entry_out.as_deref()),
        AuditCommand::VerifyProof {
            vkey,
            entry,
            origin,
            proof,
        } => verify_proof(&vkey, &entry, origin.as_deref(), &proof),
    }
}

/// A verifier key given as text, or as a file holding it.
fn replay_remote(
    node: &str,
    cert: &Path,
    key: &Path,
    ca: &Path,
    vkey: &str,
    state: &Path,
) -> Result<ExitCode, Failure> {
    use crate::node::auditor::{RemoteVerdict, replay_remote};
    let verifier = load_vkey(vkey)?;
    let mut client =
        crate::node::client::Client::new(node, ca, cert, key).map_err(Failure::Usage)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("starting the runtime: {e}")))?;
    let mut progress = |done: u64, total: u64| {
        if std::io::stderr().is_terminal() {
            eprint!("\rverified {done} of {total} entries   ");
        }
    };
    let verdict = runtime
        .block_on(replay_remote(&mut client, &verifier, state, &mut progress))
        .map_err(Failure::Usage)?;
    match verdict {
        RemoteVerdict::Verified { from, size, root } => {
            println!(
                "verified {node}: entries [{from}, {size}) new, log size {size}, root {root}; \
                 consistent with the size verified before"
            );
            Ok(ExitCode::SUCCESS)
        }
        RemoteVerdict::Disagrees(why) => Err(Failure::No(format!("the node {node}: {why}"))),
    }
}

pub(crate) fn load_vkey(arg: &str) -> Result<NoteVerifier, Failure> {
    if let Ok(v) = NoteVerifier::parse(arg.trim_end_matches('\n')) {
        return Ok(v);
    }
    let text = fs::read_to_string(arg).map_err(|e| {
        Failure::Usage(format!(
            "--vkey {arg}: neither a verifier key nor a readable file ({e})"
        ))
    })?;
    NoteVerifier::parse(text.trim_end_matches('\n'))
        .map_err(|e| Failure::Usage(format!("--vkey {arg}: {e}")))
}

/// Create a file only the owner can read, refusing to replace one unless `force`.
fn write_private(path: &Path, text: &str, force: bool) -> Result<(), Failure> {
    super::write_owner_only(path, text.as_bytes(), force)
}

fn keygen(
    out: &Path,
    name: Option<String>,
    region: Option<RegionCode>,
    vkey_out: Option<&Path>,
    force: bool,
    witness: bool,
) -> Result<ExitCode, Failure> {
    let name = match (name, region, witness) {
        (Some(n), _, _) => n,
        (None, Some(r), false) => default_origin(r.as_str()),
        (None, Some(r), true) => crate::audit::witness_name(r.as_str()),
        (None, None, false) => "zhengzhao".to_owned(),
        (None, None, true) => "zhengzhao-witness".to_owned(),
    };
    let (vkey, private) = if witness {
        let (signer, private) = crate::audit::note::CosignatureSigner::generate(&name)
            .map_err(|e| Failure::Usage(format!("--name: {e}")))?;
        (signer.vkey(), private)
    } else {
        let (signer, private) =
            NoteSigner::generate(&name).map_err(|e| Failure::Usage(format!("--name: {e}")))?;
        (signer.vkey(), private)
    };
    write_private(out, &private, force)?;
    if let Some(p) = vkey_out {
        fs::write(p, format!("{vkey}\n"))
            .map_err(|e| Failure::Usage(format!("{}: {e}", p.display())))?;
    }
    println!("{vkey}");
    Ok(ExitCode::SUCCESS)
}

fn open_reader(dir: &Path) -> Result<StoreReader, Failure> {
    // The reader's errors name the directory themselves.
    StoreReader::open(dir).map_err(|e| Failure::Usage(e.to_string()))
}

fn verify(dir: &Path, vkey: &str, origin: Option<&str>) -> Result<ExitCode, Failure> {
    let verifier = load_vkey(vkey)?;
    let reader = open_reader(dir)?;
    let mut quiet = |_: u64, _: u64| {};
    let mut shown = replay::terminal_progress();
    let progress: replay::Progress<'_> = if std::io::stderr().is_terminal() {
        &mut shown
    } else {
        &mut quiet
    };
    let verdict = replay::replay(&reader, &verifier, origin, progress)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    match verdict {
        Verdict::Verified {
            size,
            root,
            checkpoints,
            latest_checkpoint,
        } => {
            println!(
                "verified {size} entries; root {}; {checkpoints} checkpoints, the newest at size \
                 {latest_checkpoint}",
                B64.encode(root)
            );
            Ok(ExitCode::SUCCESS)
        }
        Verdict::WrongKey { reason } => Err(Failure::Usage(reason)),
        Verdict::Disagrees { index, reason } => Err(Failure::No(format!(
            "the log disagrees at index {index}: {reason}"
        ))),
    }
}

/// Where an export writes: `out`, or standard output.
fn export_sink(out: Option<&Path>) -> Result<std::io::BufWriter<Box<dyn std::io::Write>>, Failure> {
    let sink: Box<dyn std::io::Write> = match out {
        Some(p) => Box::new(
            fs::File::create(p).map_err(|e| Failure::Usage(format!("{}: {e}", p.display())))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    Ok(std::io::BufWriter::new(sink))
}

/// One exported line: the entry's index, its leaf hash and its exact bytes.
fn export_line(
    w: &mut impl std::io::Write,
    i: u64,
    bytes: &[u8],
) -> Result<(), crate::audit::error::AuditError> {
    let io = |e: std::io::Error| crate::audit::error::AuditError::Io(format!("writing: {e}"));
    write!(
        w,
        "{{\"index\":{i},\"leaf_hash\":\"{}\",\"entry\":",
        B64.encode(merkle::leaf_hash(bytes))
    )
    .map_err(io)?;
    w.write_all(bytes).map_err(io)?;
    w.write_all(b"}\n").map_err(io)
}

fn export(dir: &Path, from: u64, to: Option<u64>, out: Option<&Path>) -> Result<ExitCode, Failure> {
    let reader = open_reader(dir)?;
    let size = reader.size().map_err(|e| Failure::Usage(e.to_string()))?;
    let asked = match to {
        Some(t) => format!("--from {from} --to {t}"),
        None => format!("--from {from}"),
    };
    let to = to.unwrap_or(size);
    if to > size || (from >= size && size > 0) {
        return Err(Failure::Usage(past_the_end(&asked, size)));
    }
    if from > to {
        return Err(Failure::Usage(format!("{asked}: --from is after --to")));
    }
    let mut w = export_sink(out)?;
    reader
        .for_each_entry(from, to, |i, bytes| export_line(&mut w, i, bytes))
        .map_err(|e| Failure::Usage(e.to_string()))?;
    w.flush()
        .map_err(|e| Failure::Usage(format!("writing: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// What an indexed export asks for.
#[derive(Clone, Copy)]
enum Indexed<'a> {
    /// `--case`.
    Case(&'a str),
    /// `--licence`.
    Licence(&'a str),
}

/// Every entry the store's index lists for a case or a licence, each read from the log and
/// checked to name it: an index row pointing past the log, at a missing entry, or at an entry
/// that does not name the case or licence is a disagreement (exit 1), never printed.
fn export_indexed(dir: &Path, asked: Indexed<'_>, out: Option<&Path>) -> Result<ExitCode, Failure> {
    let reader = open_reader(dir)?;
    let usage = |e: crate::audit::error::AuditError| Failure::Usage(e.to_string());
    let version = reader.schema_version().map_err(usage)?;
    if version < crate::store::SCHEMA_VERSION {
        return Err(Failure::Usage(format!(
            "{}: store schema version {version} has no entry index; the node migrates the data \
             directory when it opens it (`zhengzhao serve`), or export by --from and --to",
            dir.display()
        )));
    }
    let (what, indexes) = match asked {
        Indexed::Case(c) => (format!("case {c:?}"), reader.case_entries(c)),
        Indexed::Licence(l) => (format!("licence {l}"), reader.licence_entries(l)),
    };
    let indexes = indexes.map_err(usage)?;
    let size = reader.size().map_err(usage)?;
    // Checked before anything is written: a disagreement prints nothing.
    let mut found = Vec::with_capacity(indexes.len());
    for i in indexes {
        let disagrees = |why: String| {
            Failure::No(format!(
                "the index disagrees with the log: it lists entry {i} for {what}, {why}"
            ))
        };
        if i >= size {
            return Err(disagrees(format!("past the log's size {size}")));
        }
        let bytes = reader
            .entry(i)
            .map_err(usage)?
            .ok_or_else(|| disagrees("which is missing".into()))?;
        let entry = crate::audit::entry::Entry::parse(&bytes)
            .map_err(|e| disagrees(format!("which is not an entry: {e}")))?;
        let terms = entry.index_terms();
        let names = match asked {
            Indexed::Case(c) => terms.cases.iter().any(|x| x == c),
            Indexed::Licence(l) => terms.licences.iter().any(|x| x == l),
        };
        if entry.index != i || !names {
            return Err(disagrees("which does not name it".into()));
        }
        found.push((i, bytes));
    }
    let mut w = export_sink(out)?;
    for (i, bytes) in &found {
        export_line(&mut w, *i, bytes).map_err(usage)?;
    }
    w.flush()
        .map_err(|e| Failure::Usage(format!("writing: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// What an index or range past the end of a store says: what was asked, and what the store
/// holds.
fn past_the_end(asked: &str, size: u64) -> String {
    let holds = match size {
        0 => "no entries".to_owned(),
        1 => "1 entry, index 0".to_owned(),
        n => format!("{n} entries, indices 0 to {}", n - 1),
    };
    format!("{asked}: past the end of this log, which holds {holds}")
}

fn prove(
    dir: &Path,
    index: u64,
    out: Option<&Path>,
    entry_out: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let reader = open_reader(dir)?;
    let usage = |e: crate::audit::error::AuditError| Failure::Usage(e.to_string());
    let log_size = reader.size().map_err(usage)?;
    if index >= log_size {
        return Err(Failure::Usage(past_the_end(
            &format!("--index {index}"),
            log_size,
        )));
    }
    let (size, note) = reader
        .latest_checkpoint()
        .map_err(usage)?
        .ok_or_else(|| Failure::No("the store holds no signed checkpoint yet".into()))?;
    if index >= size {
        return Err(Failure::No(format!(
            "entry {index} is not in the newest checkpoint (size {size}) this store holds: no \
             signature covers it yet; prove it from a copy taken after the node's next checkpoint"
        )));
    }
    let hashes = reader.inclusion_proof(index, size).map_err(usage)?;
    let proof = TlogProof {
        extra: None,
        index,
        hashes,
        checkpoint: note,
    };
    let text = proof.to_text();
    match out {
        Some(p) => {
            fs::write(p, &text).map_err(|e| Failure::Usage(format!("{}: {e}", p.display())))?
        }
        None => print!("{text}"),
    }
    if let Some(p) = entry_out {
        let bytes = reader
            .entry(index)
            .map_err(usage)?
            .ok_or_else(|| Failure::No(format!("entry {index} is missing from the store")))?;
        fs::write(p, bytes).map_err(|e| Failure::Usage(format!("{}: {e}", p.display())))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn verify_proof(
    vkey: &str,
    entry: &Path,
    origin: Option<&str>,
    proof: &Path,
) -> Result<ExitCode, Failure> {
    let verifier = load_vkey(vkey)?;
    let entry = read_input(entry)?;
    let text = fs::read(proof).map_err(|e| Failure::Usage(format!("{}: {e}", proof.display())))?;
    let text = String::from_utf8(text)
        .map_err(|_| Failure::No(format!("{}: not UTF-8 text", proof.display())))?;
    let proof = TlogProof::parse(&text).map_err(|e| Failure::No(format!("proof file: {e}")))?;
    let cp = proof
        .verify(&entry, &verifier, origin)
        .map_err(|e| Failure::No(format!("the proof does not hold: {e}")))?;
    println!(
        "entry {} is in the log `{}` at size {} (root {}), signed by {}",
        proof.index,
        cp.origin,
        cp.size,
        B64.encode(cp.root),
        verifier.name()
    );
    Ok(ExitCode::SUCCESS)
}
