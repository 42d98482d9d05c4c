//! PKI: trust anchors bound to regions, certificate path validation, and certificate facts.
//!
//! - [`cert`] reads the facts a verifier needs from a document-signer certificate.
//! - [`trust`] holds trust anchors, each bound to the regions it may vouch for, with the CRLs
//!   to honour, and validates a signer's chain with rustls-webpki.
//! - [`sm2`] lets rustls-webpki check SM2-with-SM3 signatures (国密 chains).
//!
//! The demo PKI, which makes certificates rather than checks them, is [`crate::demo`].

pub mod cert;
pub mod sm2;
pub mod trust;

/// The licence-signing extended key usage, in dotted form.
///
/// A UUID-derived OID (`2.25.<uuid as integer>`, ITU-T X.667), so no registration is needed and
/// it collides with nothing. Its last arc does not fit in a `u64`.
pub const LICENCE_SIGNING_EKU_OID: &str = "2.25.91810980038859142214668408484851701763";

/// The DER value bytes (no tag, no length) of [`LICENCE_SIGNING_EKU_OID`], as rustls-webpki's
/// `KeyUsage` wants them.
pub const LICENCE_SIGNING_EKU_DER: &[u8] = &[
    0x69, 0x81, 0x8a, 0x92, 0x93, 0xb3, 0xa5, 0x9b, 0xaa, 0xb5, 0x8d, 0x88, 0x92, 0xb3, 0xeb, 0xfd,
    0xae, 0xa5, 0xb0, 0x03,
];

/// Errors loading PKI material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// PEM text holds nothing of the expected kind, or is not PEM.
    #[error("{what}: {detail}")]
    Pem {
        /// What was being read.
        what: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A certificate could not be used for what it was given for.
    #[error("{what}: {detail}")]
    Certificate {
        /// Which certificate.
        what: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A private key could not be used.
    #[error("private key: {0}")]
    Key(String),
}

/// Reads a file for the PKI loaders, naming the path in the error.
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, PkiError> {
    std::fs::read(path).map_err(|source| PkiError::Io {
        path: path.display().to_string(),
        source,
    })
}
