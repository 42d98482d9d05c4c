//! The facts a verifier needs from a document-signer certificate, read with x509-parser.
//!
//! rustls-webpki validates paths but deliberately ignores keyUsage and exposes no SANs of
//! the URI kind, so those are read here and checked by the verifier itself.

use crate::pki::{LICENCE_SIGNING_EKU_DER, PkiError};
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::{OID_KEY_TYPE_EC_PUBLIC_KEY, OID_SIG_ED25519};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The DER value of the namedCurve OID prime256v1 (1.2.840.10045.3.1.7).
const P256_CURVE: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// A signer's public key, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// An uncompressed P-256 point.
    P256(Vec<u8>),
    /// A 32-byte Ed25519 key.
    Ed25519(Vec<u8>),
    /// Any other key; the string names it.
    Other(String),
}

impl PublicKey {
    /// A short name of the key's kind, for reports.
    pub fn kind(&self) -> &str {
        match self {
            PublicKey::P256(_) => "P-256",
            PublicKey::Ed25519(_) => "Ed25519",
            PublicKey::Other(s) => s,
        }
    }
}

/// What the licence-signing EKU looks like on a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eku {
    /// No extendedKeyUsage extension.
    Absent,
    /// An extendedKeyUsage extension without the licence-signing purpose.
    Without,
    /// An extendedKeyUsage extension with the licence-signing purpose.
    LicenceSigning,
}

/// The facts of a document-signer certificate that licence verification checks.
#[derive(Debug, Clone)]
pub struct SignerFacts {
    /// The subject, as an RFC 4514 string.
    pub subject: String,
    /// The subject's organisation (O), the issuing authority's name.
    pub organisation: Option<String>,
    /// The public key.
    pub key: PublicKey,
    /// Subject and issuer are the same name.
    pub self_signed: bool,
    /// keyUsage digitalSignature: `None` when the certificate has no keyUsage extension.
    pub digital_signature: Option<bool>,
    /// The licence-signing EKU.
    pub eku: Eku,
    /// Regions named by `urn:gbt2260:<region>` SAN URIs.
    pub regions: Vec<String>,
    /// Issuers named by `urn:gb32100:<USCC>` SAN URIs.
    pub usccs: Vec<String>,
    /// notBefore, seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: i64,
}

/// Parses one DER certificate, refusing trailing bytes.
pub fn parse_der(der: &[u8]) -> Result<X509Certificate<'_>, PkiError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok((rest, _)) => Err(PkiError::Certificate {
            what: "certificate".into(),
            detail: format!("{} bytes after the certificate", rest.len()),
        }),
        Err(e) => Err(PkiError::Certificate {
            what: "certificate".into(),
            detail: format!("not a DER certificate: {e}"),
        }),
    }
}

/// Reads the facts of a document-signer certificate from its DER.
pub fn signer_facts(der: &[u8]) -> Result<SignerFacts, PkiError> {
    let cert = parse_der(der)?;
    let bad = |detail: String| PkiError::Certificate {
        what: "signer certificate".into(),
        detail,
    };
    let spki = cert.public_key();
    let key = if spki.algorithm.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        match curve {
            Some(oid) if oid.as_bytes() == P256_CURVE => {
                PublicKey::P256(spki.subject_public_key.data.to_vec())
            }
            Some(oid) => PublicKey::Other(format!("EC key on curve {oid}")),
            None => PublicKey::Other("EC key without a named curve".into()),
        }
    } else if spki.algorithm.algorithm == OID_SIG_ED25519 {
        PublicKey::Ed25519(spki.subject_public_key.data.to_vec())
    } else {
        PublicKey::Other(format!("key of type {}", spki.algorithm.algorithm))
    };
    let digital_signature = cert
        .key_usage()
        .map_err(|e| bad(format!("keyUsage: {e}")))?
        .map(|ku| ku.value.digital_signature());
    let eku = match cert
        .extended_key_usage()
        .map_err(|e| bad(format!("extendedKeyUsage: {e}")))?
    {
        None => Eku::Absent,
        Some(ext)
            if ext
                .value
                .other
                .iter()
                .any(|o| o.as_bytes() == LICENCE_SIGNING_EKU_DER) =>
        {
            Eku::LicenceSigning
        }
        Some(_) => Eku::Without,
    };
    let mut regions = Vec::new();
    let mut usccs = Vec::new();
    if let Some(san) = cert
        .subject_alternative_name()
        .map_err(|e| bad(format!("subjectAltName: {e}")))?
    {
        for name in &san.value.general_names {
            if let GeneralName::URI(uri) = name {
                if let Some(r) = uri.strip_prefix("urn:gbt2260:") {
                    regions.push(r.to_owned());
                } else if let Some(u) = uri.strip_prefix("urn:gb32100:") {
                    usccs.push(u.to_owned());
                }
            }
        }
    }
    let organisation = cert
        .subject()
        .iter_organization()
        .next()
        .and_then(|o| o.as_str().ok())
        .map(str::to_owned);
    Ok(SignerFacts {
        subject: cert.subject().to_string(),
        organisation,
        key,
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        digital_signature,
        eku,
        regions,
        usccs,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// The validity window shared by every certificate in `chain`: (latest notBefore, earliest notAfter).
pub fn common_validity(chain: &[Vec<u8>]) -> Result<(i64, i64), PkiError> {
    let mut window = (i64::MIN, i64::MAX);
    for der in chain {
        let cert = parse_der(der)?;
        window.0 = window.0.max(cert.validity().not_before.timestamp());
        window.1 = window.1.min(cert.validity().not_after.timestamp());
    }
    Ok(window)
}
