//! Shared test support: the demo material and where it lies ([`demo`]), the commands tests run
//! as processes ([`command`]: the binary under test, `openssl`, `python3`), the demo trust
//! store, the fixed instants fixtures are made for, and a small deterministic generator.

pub mod command;
mod demo;

pub use demo::*;
use zhengzhao::codes::RegionCode;
use zhengzhao::pki::trust::TrustStore;

/// The instant fixtures are verified at: 2026-12-01T00:00:00Z.
pub const FIXTURE_AT: i64 = 1_796_083_200;
/// The signing time of fixtures: 2026-11-01T00:00:00Z.
pub const FIXTURE_IAT: i64 = 1_793_491_200;

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

/// A small deterministic generator, xorshift64*: no dependency, and the seed in a failure
/// message replays the run. Tests add the draws they need in their own `impl Rng` blocks.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}
