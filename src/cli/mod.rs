//! The command line: a thin layer over the library.
//!
//! Exit codes: 0 success (for `licence verify`: the licence is valid); 1 the answer is no (the
//! licence is not valid, or the request was refused); 2 usage, input/output or
//! configuration errors.

mod audit;
mod licence;
mod node;
mod ofd;
mod pki;

use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

/// zhengzhao (证照): issue and verify electronic licences.
#[derive(Debug, Parser)]
#[command(name = "zhengzhao", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Issue, verify and inspect licences.
    #[command(subcommand)]
    Licence(licence::LicenceCommand),
    /// Certificates and keys.
    #[command(subcommand)]
    Pki(pki::PkiCommand),
    /// The audit log: its signing key, and the auditor's replay, export and proofs.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// OFD documents (the national format) sealed with electronic seals: verify, show.
    #[command(subcommand)]
    Ofd(ofd::OfdCommand),
    /// Run the node: the mutual-TLS HTTPS API over its data directory.
    Serve {
        /// The node's configuration file (TOML; `zhengzhao demo config` prints an example).
        #[arg(long)]
        config: std::path::PathBuf,
    },
    /// Demo material: a working configuration for a demo region.
    #[command(subcommand)]
    Demo(node::DemoCommand),
}

/// A failure that ends the command, with its exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Exit 1: the answer is no.
    No(String),
    /// Exit 2: usage, input/output or configuration.
    Usage(String),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    quiet_on_a_closed_pipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Licence(cmd) => licence::run(cmd),
        Command::Pki(cmd) => pki::run(cmd),
        Command::Ofd(cmd) => ofd::run(cmd),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Serve { config } => node::serve(config),
        Command::Demo(cmd) => node::demo(cmd),
    };
    match result {
        Ok(code) => code,
        Err(Failure::No(m)) => {
            eprintln!("zhengzhao: {m}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(m)) => {
            eprintln!("zhengzhao: {m}");
            ExitCode::from(2)
        }
    }
}

/// The exit status of a command whose reader went away (`zhengzhao ofd show FILE | head`): what
/// a shell reports for a program ended by SIGPIPE, 128 + 13.
const CLOSED_PIPE_EXIT: i32 = 141;

/// A reader that stops reading (`| head`) makes `println!` panic, since Rust programs ignore
/// SIGPIPE. That is no fault of the program's: it ends quietly with [`CLOSED_PIPE_EXIT`], as
/// other command-line tools do, instead of printing a panic. Every other panic is reported as
/// before.
fn quiet_on_a_closed_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(CLOSED_PIPE_EXIT);
        }
        report(info);
    }));
}

/// Reads a whole file, or standard input for `-`.
pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Failure::Usage(format!("standard input: {e}")))?;
    } else {
        buf =
            std::fs::read(path).map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
    }
    Ok(buf)
}

/// Reads a PEM or other file, mapping errors to exit 2.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    crate::pki::read_file(path).map_err(|e| Failure::Usage(e.to_string()))
}

/// Seconds since the Unix epoch, now.
/// Creates `path` readable by its owner only (a key, or a licence whose metadata holds a
/// person's ID number) and writes `bytes`, synced; refuses to replace a file unless `force`.
pub(crate) fn write_owner_only(path: &Path, bytes: &[u8], force: bool) -> Result<(), Failure> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |e: std::io::Error| Failure::Usage(format!("{}: {e}", path.display()));
    let mut o = std::fs::OpenOptions::new();
    o.write(true).mode(0o600);
    if force {
        o.create(true).truncate(true);
    } else {
        o.create_new(true);
    }
    let mut f = o.open(path).map_err(io)?;
    // `mode` applies only to a file created here: a replaced one keeps its permissions unless
    // they are set.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Prints a value as pretty JSON on standard output.
pub(crate) fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::Usage(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// One check of a verify report as the clerk reads it: `[ ok ]` or `[FAIL]`, the check's name
/// padded to `width` so that the details line up, then what was found.
pub(crate) fn print_check(ok: bool, check: &str, detail: &str, width: usize) {
    println!(
        "  [{}] {check:<width$} {detail}",
        if ok { " ok " } else { "FAIL" }
    );
}

/// A time a report carries in UTC (RFC 3339), shown to people in China Standard Time with its
/// offset, as the reports' check lines show times; anything else is shown as it is.
pub(crate) fn shown_time(utc: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(utc, &Rfc3339)
        .map(|t| crate::licence::verify::beijing_time(t.unix_timestamp()))
        .unwrap_or_else(|_| utc.to_owned())
}

/// The options both verify commands share, so that they judge and answer alike: the instant
/// to judge at, and how to print the report.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// Verify as of this instant (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
}

impl ReportArgs {
    /// The instant to judge at: `--at`, or now when absent.
    pub(crate) fn instant(&self) -> Result<i64, Failure> {
        match &self.at {
            // An instant, not a day: a bare date would need a time zone and an hour the user
            // never gave, so only RFC 3339 with its offset is taken.
            Some(s) => {
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .map(|t| t.unix_timestamp())
                    .map_err(|_| {
                        Failure::Usage(format!(
                            "--at {s:?}: not an RFC 3339 time; give a date, a time and an offset, \
                         e.g. 2027-01-01T00:00:00+08:00"
                        ))
                    })
            }
            None => Ok(now()),
        }
    }

    /// Prints the report (whole as JSON with `--json`, else as the clerk's text) and turns its
    /// verdict into the exit code: 0 when valid, 1 for any other outcome.
    pub(crate) fn finish<R: serde::Serialize>(
        &self,
        report: &R,
        print_text: fn(&R),
        valid: bool,
    ) -> Result<ExitCode, Failure> {
        if self.json {
            print_json(report)?;
        } else {
            print_text(report);
        }
        Ok(if valid {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }
}

/// The anchors of `--trust PEM=REGION[,REGION...]` arguments and the CRLs of `--crl`, each
/// CRL named in reports by its path and refused unless a `--trust` anchor issued it.
///
/// With `regions_required`, every anchor must name its regions (licences always name theirs);
/// without, `--trust PEM` alone adds an anchor bound to no region, which vouches only for
/// documents that name none (OFD documents that are no region's licence).
pub(crate) fn trust_store(
    trust: &[String],
    crls: &[std::path::PathBuf],
    regions_required: bool,
) -> Result<crate::pki::trust::TrustStore, Failure> {
    use crate::codes::RegionCode;
    use std::str::FromStr;
    let mut store = crate::pki::trust::TrustStore::new();
    for arg in trust {
        let (path, regions) = match arg.rsplit_once('=') {
            Some((path, regions)) => {
                let regions = regions
                    .split(',')
                    .map(|r| {
                        RegionCode::from_str(r.trim())
                            .map_err(|e| Failure::Usage(format!("--trust {arg:?}: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                (std::path::PathBuf::from(path), regions)
            }
            None if regions_required => {
                return Err(Failure::Usage(format!(
                    "--trust {arg:?}: expected PEM=REGION[,REGION...]"
                )));
            }
            None => (std::path::PathBuf::from(arg), Vec::new()),
        };
        let pem = read_file(&path)?;
        let what = path.display().to_string();
        let added = if regions.is_empty() {
            store.add_pem_unbound(&pem, &what)
        } else {
            store.add_pem(&pem, &regions, &what)
        };
        added.map_err(|e| Failure::Usage(e.to_string()))?;
    }
    // Every anchor is in the store before the first CRL, whatever the order of the arguments:
    // a CRL is refused unless one of them issued it.
    for path in crls {
        store
            .add_crl_pem(&read_file(path)?, &path.display().to_string())
            .map_err(|e| Failure::Usage(format!("--crl {e}")))?;
    }
    Ok(store)
}
