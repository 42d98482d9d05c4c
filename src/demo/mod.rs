//! The demo: public test material for the four demo regions, and a node configuration on it.
//!
//! Nothing here is used by a node in production; it lives apart from [`crate::pki`], which holds
//! only what a verifier needs (trust anchors, chain validation, certificate facts).
//!
//! Each demo region gets three independent hierarchies:
//!
//! - a **licence root** ([`root_ca`]) that issues the region's **licence signer**
//!   ([`issue_signer`]), the certificate whose key signs licences. The signer carries the
//!   licence-signing extended key usage [`LICENCE_SIGNING_EKU_OID`] and SAN URIs binding it to a
//!   region (`urn:gbt2260:<code>`) and an issuing authority (`urn:gb32100:<USCC>`);
//! - a **TLS CA** that issues the node's server/client certificate and the client certificates of
//!   the departments that call it ([`issue_tls`]);
//! - an **SM2 root** (国密, [`sm2_cert`]) that issues the region's **seal maker**
//!   (制章者) and **seal signer** (签章者, the issuing authority, with its 统一社会信用代码), the
//!   certificates of the electronic seals (GB/T 38540) on OFD licences.
//!
//! The licence and TLS hierarchies are separate so that a TLS certificate can never pass as a
//! licence signer and the reverse. CA certificates carry no extendedKeyUsage: rustls-webpki
//! requires the wanted EKU on *every* certificate of a path that has the extension, so an EKU on
//! a CA would break one of the two uses.
//!
//! The parts:
//!
//! - [`ca`]: X.509 CAs, licence signers, TLS certificates and CRLs made with rcgen ([`Ca`],
//!   [`SignerSpec`], [`TlsSpec`], [`crl`], [`eku_extension`]), general enough for fixture
//!   generators that need deliberately unusual certificates (wrong EKU, CA flag on a signer,
//!   expired, other region);
//! - [`sm2_cert`]: SM2 certificates and CRLs (国密), made with RustCrypto `x509-cert`;
//! - [`seal`]: each region's electronic seal (`seal.esl`);
//! - [`generate`]: [`generate_demo`], which writes the whole set to disk;
//! - [`config`]: a complete, commented node configuration for a demo region on that material.
//!
//! Everything here is **public test material**: the keys are written in the clear and must never
//! be used in production.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use time::macros::datetime;

pub mod ca;
pub mod config;
pub mod generate;
pub mod seal;
pub mod sm2_cert;

pub use crate::pki::{LICENCE_SIGNING_EKU_DER, LICENCE_SIGNING_EKU_OID};
pub use ca::{
    CLIENT_AUTH_EKU_DER, Ca, CertAndKey, KeyAlg, SERVER_AUTH_EKU_DER, SignerSpec, TlsSpec, crl,
    eku_extension, issue_signer, issue_tls, root_ca, serial_from_pem,
};
pub use generate::generate_demo;
pub use sm2_cert::Sm2LeafSpec;

/// A demo node's id, `zhengzhao-<region code>`: the CN of its TLS certificate, which its
/// configuration and its partners' name it by.
pub(crate) fn node_id(region: &str) -> String {
    format!("zhengzhao-{region}")
}

/// Validity of every demo CA certificate: 2026-01-01 to 2046-01-01 (UTC).
///
/// The dates are fixed, not relative to "now", so that committed demo material stays valid for
/// years and its validity does not depend on when it was generated; tests pick a validation
/// time inside the window.
pub const DEMO_CA_VALIDITY: (OffsetDateTime, OffsetDateTime) = (
    datetime!(2026-01-01 00:00 UTC),
    datetime!(2046-01-01 00:00 UTC),
);

/// Validity of every demo end-entity certificate: 2026-01-01 to 2036-01-01 (UTC). Fixed for the
/// same reason as [`DEMO_CA_VALIDITY`].
pub const DEMO_EE_VALIDITY: (OffsetDateTime, OffsetDateTime) = (
    datetime!(2026-01-01 00:00 UTC),
    datetime!(2036-01-01 00:00 UTC),
);

/// `thisUpdate`/`nextUpdate` of the empty CRLs written by [`generate_demo`].
pub const DEMO_CRL_VALIDITY: (OffsetDateTime, OffsetDateTime) = (
    datetime!(2026-01-01 00:00 UTC),
    datetime!(2046-01-01 00:00 UTC),
);

/// Errors of the demo PKI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// rcgen refused to build or sign something (bad string for a name, bad key, bad CRL dates).
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A certificate PEM could not be read.
    #[error("could not parse certificate: {reason}")]
    CertificateParse {
        /// What was wrong with it.
        reason: String,
    },
    /// The private key given for a CA is not the key of its certificate.
    #[error("the private key does not belong to the CA certificate")]
    KeyMismatch,
    /// The CA's subject name cannot be reproduced byte for byte as the issuer name of the
    /// certificates it would sign, so they would not chain to it.
    #[error("CA subject name cannot be reproduced as an issuer name: {reason}")]
    UnsupportedName {
        /// Which part of the name is the problem.
        reason: &'static str,
    },
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// The output already exists and overwriting was not asked for.
    #[error("{} already exists and is not empty; nothing was written", .0.display())]
    Exists(PathBuf),
    /// An SM2 certificate, key or CRL could not be made.
    #[error("SM2 material: {0}")]
    Sm2(#[from] sm2_cert::Sm2CertError),
    /// The demo seal (or its picture) could not be made.
    #[error("demo seal: {0}")]
    Seal(String),
    /// Reading or writing a file failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A demo region: a GB/T 2260 region code, its name, and the licence-issuing authority there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoRegion {
    /// GB/T 2260 six-digit administrative division code.
    pub code: &'static str,
    /// The region's name.
    pub name: &'static str,
    /// The authority that issues licences in the region (used as the certificates' O).
    pub authority: &'static str,
    /// The authority's 统一社会信用代码 (GB 32100).
    pub issuer_uscc: &'static str,
}

/// The four demo regions.
pub const DEMO_REGIONS: [DemoRegion; 4] = [
    DemoRegion {
        code: "370900",
        name: "泰安市",
        authority: "泰安市行政审批服务局",
        issuer_uscc: "11370900004090218Y",
    },
    DemoRegion {
        code: "370115",
        name: "济南市济阳区",
        authority: "济南市济阳区行政审批服务局",
        issuer_uscc: "113701150041153580",
    },
    DemoRegion {
        code: "140802",
        name: "运城市盐湖区",
        authority: "运城市盐湖区行政审批服务局",
        issuer_uscc: "11140802011408028G",
    },
    DemoRegion {
        code: "370306",
        name: "淄博市周村区",
        authority: "淄博市周村区行政审批服务局",
        issuer_uscc: "113703060043061546",
    },
];

/// What demo department `<region>-<who>` (`bureau`, `window`) connects to its region's node
/// with, in a directory [`generate_demo`] wrote: the region's TLS CA to trust, its client
/// certificate and its key, in that order.
pub fn department_tls(certs: &Path, region: &str, who: &str) -> [PathBuf; 3] {
    let dir = certs.join(region);
    [
        dir.join("tls-ca.pem"),
        dir.join(format!("{region}-{who}.pem")),
        dir.join(format!("{region}-{who}.key")),
    ]
}
