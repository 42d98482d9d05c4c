//! Electronic seals (电子印章) and electronic signatures (电子签章) in DER, and the
//! cryptographic checks on them.
//!
//! An OFD signature's `SignedValue.dat` holds one of:
//! - a GB/T 38540-2020 `SES_Signature` (version 4; ofdrw's "v5" seals fit the same structures),
//! - a GM/T 0031-2014 `SES_Signature` (v1/v2),
//! - a GB/T 35275 `SignedData` (`Type="Sign"`), with or without signed attributes,
//! - a bare SM2 signature over `Signature.xml` (`Type="Sign"`), as DER or raw `r ‖ s`.
//!
//! [`parse_signed_value`] tells them apart and [`parse_seal`] reads a standalone seal (`.esl`).
//! Everything is decoded with the `der` crate; the parsed values keep, next to the fields, the
//! exact bytes each signature covers, as they were stored:
//! - the signature of an `SES_Signature` covers the whole `TBS_Sign` TLV ([`SesSignature::tbs_der`]);
//! - a GB/T 38540 seal maker's signature covers the `eSealInfo` TLV, a GM/T 0031 one
//!   `SEQUENCE { eSealInfo, cert, signatureAlgorithm }` built from the stored TLVs
//!   ([`Seal::maker_signed_bytes`]);
//! - a `SignedData` signature covers its signed attributes re-tagged as a `SET` (the stored
//!   `[0]` TLV with its first byte `0x31`), or the content itself when there are none.
//!
//! The checks are pure functions that answer whether the cryptography holds; trusting a
//! certificate, a seal maker or a time is for the verifier that calls them. Only SM2 with SM3
//! (and the distinguishing ID `1234567812345678`) is implemented; any other algorithm gives
//! [`SesError::UnsupportedAlgorithm`] rather than a failed check.

//!
//! The parts: `asn` holds the DER structures, `parse` reads them into the values below, `time`
//! reads the times they carry, `check` holds the signature checks, and `build` writes GB/T 38540
//! seals and signatures.

use crate::gm::{self, Sm2Signature};

mod asn;
mod build;
mod check;
mod parse;
mod time;

pub use build::{SealSpec, TbsSpec, build_seal_v4, sign_v4};
pub use check::sm2_key_of_certificate;
pub use parse::{parse_seal, parse_ses_signature, parse_signed_value};

/// OID of SM2 with SM3 signatures, the only signature algorithm checked here.
pub const OID_SM2_WITH_SM3: &str = gm::OID_SM2_WITH_SM3;
/// OID of the SM2 signature scheme (`sm2sign`, GM/T 0006), which GB/T 35275 names as the
/// signature algorithm of a `SignedData` whose digest algorithm is SM3.
pub const OID_SM2_SIGN: &str = "1.2.156.10197.1.301.1";
/// OID of GB/T 35275 `data`.
pub const OID_GBT35275_DATA: &str = "1.2.156.10197.6.1.4.2.1";
/// OID of GB/T 35275 `signedData`.
pub const OID_GBT35275_SIGNED_DATA: &str = "1.2.156.10197.6.1.4.2.2";
/// OID of PKCS #7 `data`, which some vendors write instead of GB/T 35275's.
pub const OID_PKCS7_DATA: &str = "1.2.840.113549.1.7.1";
/// OID of PKCS #7 `signedData`, which some vendors write instead of GB/T 35275's.
pub const OID_PKCS7_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
/// OID of the `messageDigest` attribute (PKCS #9).
pub const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
/// OID of the `signingTime` attribute (PKCS #9).
pub const OID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";

/// What is wrong with a seal or a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SesError {
    /// The bytes are not the structure named: bad DER, a missing or extra field, a field of
    /// the wrong type, an impossible date.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// The structure or field being read.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// An algorithm other than SM2 with SM3 (or a key that is not an SM2 key).
    #[error(
        "unsupported algorithm for {what}: {oid} (only SM2 with SM3, {OID_SM2_WITH_SM3}, is supported)"
    )]
    UnsupportedAlgorithm {
        /// The signature or key concerned.
        what: &'static str,
        /// The algorithm's OID (or a description of the key).
        oid: String,
    },
    /// The signature is well formed but does not verify over the bytes it covers.
    #[error("the {what} does not verify")]
    BadSignature {
        /// Which signature: `signature`, `seal maker's signature`, ...
        what: &'static str,
    },
    /// The signed data hash (or `messageDigest`, or embedded content) is not that of the
    /// `Signature.xml` given.
    #[error("the {what} does not match Signature.xml")]
    DataHashMismatch {
        /// Which value: `dataHash`, `messageDigest`, `content`.
        what: &'static str,
    },
    /// The signer's certificate is not one the seal lists, neither as a certificate nor as a
    /// digest of one.
    #[error("the signer's certificate is not listed in the seal")]
    SignerNotInSeal,
    /// The seal's validity period does not cover the time given.
    #[error("the seal is valid from {valid_start} to {valid_end} (Unix seconds), not at {at}")]
    SealNotValid {
        /// The time asked about (Unix seconds).
        at: i64,
        /// The seal's `validStart`.
        valid_start: i64,
        /// The seal's `validEnd`.
        valid_end: i64,
    },
    /// A `SignedData` whose signer's certificate is not among its certificates.
    #[error("the SignedData does not include its signer's certificate")]
    NoSignerCertificate,
    /// A value could not be built (an input out of range for its ASN.1 type).
    #[error("cannot build {what}: {detail}")]
    Build {
        /// What was being built.
        what: &'static str,
        /// Why it failed.
        detail: String,
    },
}

fn malformed(what: &'static str) -> impl Fn(der::Error) -> SesError {
    move |e| SesError::Malformed {
        what,
        detail: e.to_string(),
    }
}

fn malformed_msg(what: &'static str, detail: impl Into<String>) -> SesError {
    SesError::Malformed {
        what,
        detail: detail.into(),
    }
}

fn build_err(what: &'static str) -> impl Fn(der::Error) -> SesError {
    move |e| SesError::Build {
        what,
        detail: e.to_string(),
    }
}

/// Which standard's structures a seal or signature uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SesFormat {
    /// GB/T 38540-2020 (seal header version 4, and ofdrw's version 5).
    Gbt38540,
    /// GM/T 0031-2014 (seal header versions 1 to 3).
    Gmt0031,
}

/// A time read from a seal or signature: the instant, and the text it was written as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesTime {
    /// Seconds since the Unix epoch.
    pub unix: i64,
    /// The text as stored (`20201012111403Z`, `2020-04-22 16:22:44`, ...).
    pub text: String,
}

/// A digest of a certificate listed in a seal (`CertDigestObj`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertDigest {
    /// The hash's name as written (`SM3`, `SHA1`, `SHA256`, ...).
    pub algorithm: String,
    /// The digest of the certificate's DER.
    pub value: Vec<u8>,
}

/// The signers' certificates a seal lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertList {
    /// The certificates themselves (DER), `certListType` 1 and GM/T 0031.
    Certificates(Vec<Vec<u8>>),
    /// Digests of them, `certListType` 2.
    Digests(Vec<CertDigest>),
}

/// The seal's picture (`SES_ESPictrueInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// The image type as written (`PNG`, `GIF`, `OFD`, ...).
    pub kind: String,
    /// The image bytes.
    pub data: Vec<u8>,
    /// Display width in millimetres.
    pub width: i64,
    /// Display height in millimetres.
    pub height: i64,
}

/// An electronic seal (`SES_Seal` / `SESeal`), with the bytes its maker signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// The structures it uses.
    pub format: SesFormat,
    /// The header's version (1-3 GM/T 0031, 4 GB/T 38540, 5 ofdrw's reading of a later draft).
    pub header_version: i64,
    /// The vendor id of the header (`Vid`).
    pub vendor_id: String,
    /// The seal's identifier (`esID`).
    pub es_id: String,
    /// The seal's type (1 an organisation's seal, 2 a person's, others as vendors use them).
    pub seal_type: i64,
    /// The seal's name.
    pub name: String,
    /// The signers it may be used by.
    pub cert_list: CertList,
    /// When it was made.
    pub created: SesTime,
    /// Start of its validity.
    pub valid_start: SesTime,
    /// End of its validity.
    pub valid_end: SesTime,
    /// Its picture.
    pub picture: Picture,
    /// The seal maker's (制章者) certificate, DER.
    pub maker_cert_der: Vec<u8>,
    /// The OID of the maker's signature algorithm.
    pub maker_signature_alg: String,
    /// The maker's signature value as stored (content of its BIT STRING).
    pub maker_signature: Vec<u8>,
    /// The exact bytes the maker's signature covers.
    pub maker_signed_bytes: Vec<u8>,
    /// A timestamp over the seal, when one is present (ofdrw's version 5), as stored.
    pub timestamp: Option<Vec<u8>>,
    /// The whole seal's DER as stored.
    pub der: Vec<u8>,
}

/// An `SES_Signature` (GB/T 38540 v4 or GM/T 0031), with the bytes its signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesSignature {
    /// The structures it uses.
    pub format: SesFormat,
    /// The exact `TBS_Sign` TLV, which the signature covers.
    pub tbs_der: Vec<u8>,
    /// `TBS_Sign.version`.
    pub version: i64,
    /// The seal applied.
    pub seal: Seal,
    /// When the signature says it was made (`timeInfo`).
    pub time_info: SesTime,
    /// `dataHash`: SM3 of the signature's `Signature.xml`.
    pub data_hash: Vec<u8>,
    /// `propertyInfo` (ofdrw writes the path of `Signature.xml`).
    pub property_info: String,
    /// The signer's (签章者) certificate, DER.
    pub signer_cert_der: Vec<u8>,
    /// The OID of the signature algorithm.
    pub signature_alg: String,
    /// The signature value as stored (content of its BIT STRING).
    pub signature: Vec<u8>,
    /// The timestamp (`timeStamp`, GB/T 38540), when present, as stored.
    pub timestamp: Option<Vec<u8>>,
}

/// The signed attributes of a [`SignedData`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAttributes {
    /// The attributes as the `SET` the signature covers (stored `[0]` TLV re-tagged `0x31`).
    pub signed_der: Vec<u8>,
    /// The `messageDigest` attribute.
    pub message_digest: Vec<u8>,
    /// The `signingTime` attribute, when present.
    pub signing_time: Option<SesTime>,
}

/// A GB/T 35275 `SignedData` with one signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedData {
    /// The outer `contentType` (GB/T 35275 or PKCS #7 `signedData`).
    pub content_type: String,
    /// The encapsulated content, when the signature is not detached.
    pub content: Option<Vec<u8>>,
    /// The certificates it carries (DER).
    pub certificates: Vec<Vec<u8>>,
    /// The signer's certificate, found among them by issuer and serial number.
    pub signer_cert_der: Option<Vec<u8>>,
    /// The OID of the signer's digest algorithm.
    pub digest_alg: String,
    /// The OID of the signer's signature algorithm.
    pub signature_alg: String,
    /// The signed attributes, when present.
    pub signed_attributes: Option<SignedAttributes>,
    /// The signature value as stored (content of its OCTET STRING).
    pub signature: Vec<u8>,
}

/// What a `SignedValue.dat` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedValue {
    /// An electronic signature with a seal (`Type="Seal"`).
    Ses(Box<SesSignature>),
    /// A GB/T 35275 `SignedData` (`Type="Sign"`).
    SignedData(Box<SignedData>),
    /// A bare SM2 signature over `Signature.xml` (`Type="Sign"`), no certificate.
    BareSm2(Sm2Signature),
}

#[cfg(test)]
mod tests;
