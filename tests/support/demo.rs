//! The demo material: the four demo regions, where the repository and its demo PKI lie, and a
//! file read with its name in the panic. Shared by the tests' `support` and `node_support` and
//! by the benchmarks.

use std::path::{Path, PathBuf};

/// The four demo regions.
pub const REGIONS: [&str; 4] = ["370900", "370115", "140802", "370306"];

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo PKI directory, `certs/`.
pub fn certs() -> PathBuf {
    root().join("certs")
}

/// `certs/<region>/<file>`.
pub fn cert_path(region: &str, file: &str) -> PathBuf {
    certs().join(region).join(file)
}

/// The bytes of `path`, panicking with its name.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
