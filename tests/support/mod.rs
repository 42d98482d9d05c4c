//! Shared test support: paths, the demo trust store, the fixed instants fixtures are made for.
#![allow(dead_code)] // each test crate uses a different part of this module

use std::path::{Path, PathBuf};
use zhengzhao::codes::RegionCode;
use zhengzhao::pki::trust::TrustStore;

/// The demo regions.
pub const REGIONS: [&str; 4] = ["370900", "370115", "140802", "370306"];

/// The instant fixtures are verified at: 2026-12-01T00:00:00Z.
pub const FIXTURE_AT: i64 = 1_796_083_200;
/// The signing time of fixtures: 2026-11-01T00:00:00Z.
pub const FIXTURE_IAT: i64 = 1_793_491_200;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `certs/<region>/<file>`.
pub fn cert_path(region: &str, file: &str) -> PathBuf {
    root().join("certs").join(region).join(file)
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Trust anchors of the four demo regions, each bound to its own region, with their CRLs;
/// for 370900 the fixtures' CRL (which revokes a signer) replaces the empty demo one.
pub fn demo_store() -> TrustStore {
    let mut store = TrustStore::new();
    for r in REGIONS {
        let region: RegionCode = r.parse().unwrap();
        store
            .add_pem(&read(&cert_path(r, "licence-root.pem")), &[region], r)
            .unwrap();
        let crl = if r == "370900" {
            root().join("fixtures/pki/370900-licence-root.crl.pem")
        } else {
            cert_path(r, "licence-root.crl.pem")
        };
        store.add_crl_pem(&read(&crl), r).unwrap();
    }
    store
}
