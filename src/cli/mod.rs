//! The command line: a thin layer over the library.

use std::process::ExitCode;

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
