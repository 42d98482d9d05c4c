//! `zhengzhao pki …`

use super::Failure;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(crate) enum PkiCommand {
    /// Generate the demo PKI of the four demo regions (public test material, never for production).
    Demo {
        /// Directory to write into; one sub-directory per region.
        #[arg(long)]
        out: PathBuf,
        /// Replace material already there.
        #[arg(long)]
        force: bool,
        /// Only (re)make each region's electronic seal `seal.esl` from the seal maker's key and
        /// certificate and the seal signer's certificate already in the directory; nothing else
        /// is touched. The same keys always give the same seals.
        #[arg(long, conflicts_with = "force")]
        seals_only: bool,
    },
}

pub(crate) fn run(cmd: PkiCommand) -> Result<ExitCode, Failure> {
    match cmd {
        PkiCommand::Demo {
            out,
            force,
            seals_only,
        } => {
            let files = if seals_only {
                crate::demo::seal::write_demo_seals(&out)
            } else {
                crate::demo::generate_demo(&out, force)
            }
            .map_err(|e| match e {
                // The command's own flag, which the library cannot name.
                crate::demo::DemoError::Exists(_) => {
                    Failure::Usage(format!("{e}: pass --force to replace it"))
                }
                e => Failure::Usage(e.to_string()),
            })?;
            println!("wrote {} files under {}", files.len(), out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
