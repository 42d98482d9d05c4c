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

use der::asn1::{
    AnyRef, BitStringRef, GeneralizedTime, Ia5StringRef, ObjectIdentifier, OctetStringRef,
    PrintableStringRef, Utf8StringRef,
};
use der::{Decode, Encode, Header, Length, Reader, Sequence, SliceReader, Tag, Tagged, Writer};

use crate::gm::{self, Sm2PrivateKey, Sm2PublicKey, Sm2Signature};

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

/// The offset of China Standard Time, assumed for GM/T 0031 time texts that name no zone.
const CHINA_OFFSET_SECONDS: i32 = 8 * 3600;

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

// ---------------------------------------------------------------------------------------------
// Public values
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// The ASN.1 structures
// ---------------------------------------------------------------------------------------------

/// DER structures of GB/T 38540, GM/T 0031 and GB/T 35275, decoded and encoded by `der`.
mod asn {
    use super::*;

    /// One whole TLV kept as stored, for the fields a signature covers.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) struct Tlv<'a>(pub &'a [u8]);

    impl<'a> Decode<'a> for Tlv<'a> {
        type Error = der::Error;
        fn decode<R: Reader<'a>>(reader: &mut R) -> der::Result<Self> {
            reader.tlv_bytes().map(Tlv)
        }
    }

    impl Encode for Tlv<'_> {
        fn encoded_len(&self) -> der::Result<Length> {
            Length::try_from(self.0.len())
        }
        fn encode(&self, writer: &mut impl Writer) -> der::Result<()> {
            writer.write(self.0)
        }
    }

    /// `SES_Header ::= SEQUENCE { ID IA5String, version INTEGER, Vid IA5String }`
    #[derive(Sequence)]
    pub(super) struct SesHeader<'a> {
        pub id: Ia5StringRef<'a>,
        pub version: i64,
        pub vid: Ia5StringRef<'a>,
    }

    /// `ExtData ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }`
    #[derive(Sequence)]
    pub(super) struct ExtData<'a> {
        pub extn_id: ObjectIdentifier,
        #[asn1(optional = "true")]
        pub critical: Option<bool>,
        pub extn_value: &'a OctetStringRef,
    }

    /// `SES_SealInfo ::= SEQUENCE { header, esID IA5String, property, picture, extDatas OPTIONAL }`
    #[derive(Sequence)]
    pub(super) struct SealInfo<'a> {
        pub header: SesHeader<'a>,
        pub es_id: Ia5StringRef<'a>,
        pub property: Tlv<'a>,
        pub picture: PictureInfo<'a>,
        #[asn1(optional = "true")]
        pub ext_datas: Option<Vec<ExtData<'a>>>,
    }

    /// GB/T 38540 `SES_ESPropertyInfo`.
    #[derive(Sequence)]
    pub(super) struct PropertyV4<'a> {
        pub kind: i64,
        pub name: Utf8StringRef<'a>,
        pub cert_list_type: i64,
        pub cert_list: AnyRef<'a>,
        pub create_date: AnyRef<'a>,
        pub valid_start: AnyRef<'a>,
        pub valid_end: AnyRef<'a>,
    }

    /// GM/T 0031 `SES_ESPropertyInfo` (`certList SEQUENCE OF cert`).
    #[derive(Sequence)]
    pub(super) struct PropertyV1<'a> {
        pub kind: i64,
        pub name: Utf8StringRef<'a>,
        pub cert_list: Vec<&'a OctetStringRef>,
        pub create_date: AnyRef<'a>,
        pub valid_start: AnyRef<'a>,
        pub valid_end: AnyRef<'a>,
    }

    /// `CertDigestObj ::= SEQUENCE { type PrintableString, value OCTET STRING }`
    #[derive(Sequence)]
    pub(super) struct CertDigestObj<'a> {
        pub kind: PrintableStringRef<'a>,
        pub value: &'a OctetStringRef,
    }

    /// `SES_ESPictrueInfo ::= SEQUENCE { type IA5String, data OCTET STRING, width, height }`
    #[derive(Sequence)]
    pub(super) struct PictureInfo<'a> {
        pub kind: Ia5StringRef<'a>,
        pub data: &'a OctetStringRef,
        pub width: i64,
        pub height: i64,
    }

    /// GB/T 38540 `SES_Seal ::= SEQUENCE { eSealInfo, cert OCTET STRING, signAlgID OID,
    /// signedValue BIT STRING }`, and ofdrw's version 5 with `timeStamp [0] OPTIONAL` after it.
    #[derive(Sequence)]
    pub(super) struct SealV4<'a> {
        pub info: Tlv<'a>,
        pub cert: &'a OctetStringRef,
        pub sign_alg: ObjectIdentifier,
        pub signed_value: BitStringRef<'a>,
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub time_stamp: Option<BitStringRef<'a>>,
    }

    /// GM/T 0031 `SESeal ::= SEQUENCE { esealInfo, signInfo SES_SignInfo }`
    #[derive(Sequence)]
    pub(super) struct SealV1<'a> {
        pub info: Tlv<'a>,
        pub sign_info: SignInfoV1<'a>,
    }

    /// GM/T 0031 `SES_SignInfo ::= SEQUENCE { cert OCTET STRING, signatureAlgorithm OID,
    /// signData BIT STRING }`; cert and algorithm kept as stored, since the maker's signature
    /// covers them.
    #[derive(Sequence)]
    pub(super) struct SignInfoV1<'a> {
        pub cert: Tlv<'a>,
        pub signature_algorithm: Tlv<'a>,
        pub sign_data: BitStringRef<'a>,
    }

    /// GB/T 38540 `TBS_Sign`.
    #[derive(Sequence)]
    pub(super) struct TbsV4<'a> {
        pub version: i64,
        pub eseal: Tlv<'a>,
        pub time_info: AnyRef<'a>,
        pub data_hash: BitStringRef<'a>,
        pub property_info: Ia5StringRef<'a>,
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub ext_datas: Option<Vec<ExtData<'a>>>,
    }

    /// GB/T 38540 `SES_Signature`.
    #[derive(Sequence)]
    pub(super) struct SignatureV4<'a> {
        pub to_sign: Tlv<'a>,
        pub cert: &'a OctetStringRef,
        pub signature_alg_id: ObjectIdentifier,
        pub signature: BitStringRef<'a>,
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub time_stamp: Option<BitStringRef<'a>>,
    }

    /// GM/T 0031 `TBS_Sign`: `timeInfo` and `dataHash` BIT STRINGs (some vendors write OCTET
    /// STRINGs, read alike).
    #[derive(Sequence)]
    pub(super) struct TbsV1<'a> {
        pub version: i64,
        pub eseal: Tlv<'a>,
        pub time_info: AnyRef<'a>,
        pub data_hash: AnyRef<'a>,
        pub property_info: Ia5StringRef<'a>,
        pub cert: &'a OctetStringRef,
        pub signature_algorithm: ObjectIdentifier,
    }

    /// GM/T 0031 `SES_Signature ::= SEQUENCE { toSign TBS_Sign, signature BIT STRING }`
    #[derive(Sequence)]
    pub(super) struct SignatureV1<'a> {
        pub to_sign: Tlv<'a>,
        pub signature: BitStringRef<'a>,
    }

    /// `ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY OPTIONAL }`
    #[derive(Sequence)]
    pub(super) struct ContentInfo<'a> {
        pub content_type: ObjectIdentifier,
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub content: Option<AnyRef<'a>>,
    }

    /// `Attribute ::= SEQUENCE { attrType OID, attrValues SET OF ANY }`
    #[derive(Sequence)]
    pub(super) struct Attribute<'a> {
        pub attr_type: ObjectIdentifier,
        pub values: AnyRef<'a>,
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// The elements of a constructed value (SEQUENCE, SET or a constructed context tag).
fn elements<'a>(any: AnyRef<'a>, what: &'static str) -> Result<Vec<AnyRef<'a>>, SesError> {
    if !any.tag().is_constructed() {
        return Err(malformed_msg(
            what,
            format!("expected a constructed value, found {}", any.tag()),
        ));
    }
    let mut reader = SliceReader::new(any.value()).map_err(malformed(what))?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        out.push(AnyRef::decode(&mut reader).map_err(malformed(what))?);
    }
    Ok(out)
}

/// One whole DER value with nothing after it.
fn single<'a>(bytes: &'a [u8], what: &'static str) -> Result<AnyRef<'a>, SesError> {
    AnyRef::from_der(bytes).map_err(malformed(what))
}

fn bits<'a>(b: &BitStringRef<'a>, what: &'static str) -> Result<&'a [u8], SesError> {
    b.as_bytes()
        .ok_or_else(|| malformed_msg(what, "the BIT STRING is not a whole number of bytes"))
}

/// The bytes of a BIT STRING (whole bytes) or an OCTET STRING.
fn bit_or_octet_string<'a>(any: AnyRef<'a>, what: &'static str) -> Result<&'a [u8], SesError> {
    match any.tag() {
        Tag::BitString => bits(&BitStringRef::try_from(any).map_err(malformed(what))?, what),
        Tag::OctetString => Ok(<&OctetStringRef>::try_from(any)
            .map_err(malformed(what))?
            .as_bytes()),
        other => Err(malformed_msg(
            what,
            format!("expected a BIT STRING, found {other}"),
        )),
    }
}

/// A UTCTime or GeneralizedTime.
fn asn1_time(any: AnyRef<'_>, what: &'static str) -> Result<SesTime, SesError> {
    let text = std::str::from_utf8(any.value())
        .map_err(|_| malformed_msg(what, "the time is not text"))?;
    let unix = match any.tag() {
        Tag::GeneralizedTime => parse_generalized(text),
        Tag::UtcTime => parse_utc(text),
        other => {
            return Err(malformed_msg(
                what,
                format!("expected a GeneralizedTime or UTCTime, found {other}"),
            ));
        }
    }
    .ok_or_else(|| malformed_msg(what, format!("unreadable time {text:?}")))?;
    Ok(SesTime {
        unix,
        text: text.to_owned(),
    })
}

/// Reads `n` ASCII digits from the front of `s`.
fn take_digits(s: &mut &str, n: usize) -> Option<u32> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    *s = &s[n..];
    head.parse().ok()
}

/// `Z`, `+HHMM` or `-HHMM` at the end of a time text: the offset in seconds.
fn zone(s: &str) -> Option<i32> {
    match s.as_bytes().first() {
        Some(b'Z') if s.len() == 1 => Some(0),
        Some(sign @ (b'+' | b'-')) if s.len() == 5 => {
            let mut rest = &s[1..];
            let h = take_digits(&mut rest, 2)? as i32;
            let m = take_digits(&mut rest, 2)? as i32;
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            Some(if *sign == b'-' { -off } else { off })
        }
        _ => None,
    }
}

fn unix_of(
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    offset: i32,
) -> Option<i64> {
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
    let t = time::Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    let off = time::UtcOffset::from_whole_seconds(offset).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, t)
            .assume_offset(off)
            .unix_timestamp(),
    )
}

/// `YYYYMMDDHHMMSS[.fff]` then `Z` or `±HHMM` (fractions of a second are dropped).
fn parse_generalized(text: &str) -> Option<i64> {
    let mut s = text;
    let year = take_digits(&mut s, 4)? as i32;
    let month = take_digits(&mut s, 2)?;
    let day = take_digits(&mut s, 2)?;
    let hour = take_digits(&mut s, 2)?;
    let minute = take_digits(&mut s, 2)?;
    let second = take_digits(&mut s, 2)?;
    if let Some(rest) = s.strip_prefix(['.', ',']) {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        s = &rest[n..];
    }
    unix_of(year, month, day, hour, minute, second, zone(s)?)
}

/// `YYMMDDHHMM[SS]` then `Z` or `±HHMM`; years 50-99 are 19xx (RFC 5280).
fn parse_utc(text: &str) -> Option<i64> {
    let mut s = text;
    let yy = take_digits(&mut s, 2)? as i32;
    let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
    let month = take_digits(&mut s, 2)?;
    let day = take_digits(&mut s, 2)?;
    let hour = take_digits(&mut s, 2)?;
    let minute = take_digits(&mut s, 2)?;
    let second = if s.starts_with(|c: char| c.is_ascii_digit()) {
        take_digits(&mut s, 2)?
    } else {
        0
    };
    unix_of(year, month, day, hour, minute, second, zone(s)?)
}

/// `YYYY-MM-DD HH:MM:SS`, China Standard Time (what GM/T 0031 signers such as ofdrw write).
fn parse_dashed_local(text: &str) -> Option<i64> {
    let mut s = text;
    let year = take_digits(&mut s, 4)? as i32;
    s = s.strip_prefix('-')?;
    let month = take_digits(&mut s, 2)?;
    s = s.strip_prefix('-')?;
    let day = take_digits(&mut s, 2)?;
    s = s.strip_prefix(' ')?;
    let hour = take_digits(&mut s, 2)?;
    s = s.strip_prefix(':')?;
    let minute = take_digits(&mut s, 2)?;
    s = s.strip_prefix(':')?;
    let second = take_digits(&mut s, 2)?;
    if !s.is_empty() {
        return None;
    }
    unix_of(year, month, day, hour, minute, second, CHINA_OFFSET_SECONDS)
}

/// GM/T 0031 `timeInfo`: the content of its BIT STRING is a DER UTCTime or GeneralizedTime,
/// or the time as text (`YYMMDDHHMMSSZ`, `YYYYMMDDHHMMSSZ`, or `YYYY-MM-DD HH:MM:SS` in
/// China Standard Time).
fn gmt0031_time(content: &[u8]) -> Result<SesTime, SesError> {
    const WHAT: &str = "TBS_Sign.timeInfo";
    if let Ok(any) = AnyRef::from_der(content)
        && matches!(any.tag(), Tag::UtcTime | Tag::GeneralizedTime)
    {
        return asn1_time(any, WHAT);
    }
    let text = std::str::from_utf8(content).map_err(|_| {
        malformed_msg(
            WHAT,
            "neither a DER time nor a time text (a timestamp token is not read)",
        )
    })?;
    let unix = parse_dashed_local(text)
        .or_else(|| parse_generalized(text))
        .or_else(|| parse_utc(text))
        .ok_or_else(|| malformed_msg(WHAT, format!("unreadable time {text:?}")))?;
    Ok(SesTime {
        unix,
        text: text.to_owned(),
    })
}

/// Reads a standalone electronic seal (`.esl`): GB/T 38540 `SES_Seal` or GM/T 0031 `SESeal`.
///
/// Refuses anything that is not exactly one seal in DER: trailing bytes, missing fields,
/// a header whose ID is not `ES` or whose version does not match the layout, unreadable
/// dates, a certificate list that does not match its declared type.
pub fn parse_seal(bytes: &[u8]) -> Result<Seal, SesError> {
    const WHAT: &str = "SES_Seal";
    let top = single(bytes, WHAT)?;
    if top.tag() != Tag::Sequence {
        return Err(malformed_msg(
            WHAT,
            format!("expected a SEQUENCE, found {}", top.tag()),
        ));
    }
    let items = elements(top, WHAT)?;
    // GB/T 38540 puts the maker's certificate second; GM/T 0031 a SES_SignInfo SEQUENCE.
    match items.get(1).map(|a| a.tag()) {
        Some(Tag::OctetString) => parse_seal_v4(bytes),
        Some(Tag::Sequence) => parse_seal_v1(bytes),
        Some(other) => Err(malformed_msg(
            WHAT,
            format!(
                "second element is {other}, neither a certificate (GB/T 38540) nor SES_SignInfo (GM/T 0031)"
            ),
        )),
        None => Err(malformed_msg(WHAT, "fewer than two elements")),
    }
}

fn parse_seal_v4(bytes: &[u8]) -> Result<Seal, SesError> {
    let seal = asn::SealV4::from_der(bytes).map_err(malformed("SES_Seal (GB/T 38540)"))?;
    let mut out = seal_info(seal.info.0, SesFormat::Gbt38540)?;
    out.maker_cert_der = seal.cert.as_bytes().to_vec();
    out.maker_signature_alg = seal.sign_alg.to_string();
    out.maker_signature = bits(&seal.signed_value, "SES_Seal.signedValue")?.to_vec();
    out.maker_signed_bytes = seal.info.0.to_vec();
    out.timestamp = seal
        .time_stamp
        .map(|t| bits(&t, "SES_Seal.timeStamp").map(<[u8]>::to_vec))
        .transpose()?;
    out.der = bytes.to_vec();
    Ok(out)
}

fn parse_seal_v1(bytes: &[u8]) -> Result<Seal, SesError> {
    const WHAT: &str = "SESeal (GM/T 0031)";
    let seal = asn::SealV1::from_der(bytes).map_err(malformed(WHAT))?;
    let mut out = seal_info(seal.info.0, SesFormat::Gmt0031)?;
    let cert = <&OctetStringRef>::from_der(seal.sign_info.cert.0)
        .map_err(malformed("SES_SignInfo.cert"))?;
    let alg: ObjectIdentifier = ObjectIdentifier::from_der(seal.sign_info.signature_algorithm.0)
        .map_err(malformed("SES_SignInfo.signatureAlgorithm"))?;
    out.maker_cert_der = cert.as_bytes().to_vec();
    out.maker_signature_alg = alg.to_string();
    out.maker_signature = bits(&seal.sign_info.sign_data, "SES_SignInfo.signData")?.to_vec();
    // The maker signs SEQUENCE { esealInfo, cert, signatureAlgorithm }, from the stored TLVs.
    let body = [
        seal.info.0,
        seal.sign_info.cert.0,
        seal.sign_info.signature_algorithm.0,
    ];
    out.maker_signed_bytes = sequence_of_tlvs(&body).map_err(malformed(WHAT))?;
    out.der = bytes.to_vec();
    Ok(out)
}

/// `SEQUENCE { tlvs... }` from TLVs kept as stored.
fn sequence_of_tlvs(tlvs: &[&[u8]]) -> der::Result<Vec<u8>> {
    let len: usize = tlvs.iter().map(|t| t.len()).sum();
    let mut out = Header::new(Tag::Sequence, Length::try_from(len)?).to_der()?;
    for t in tlvs {
        out.extend_from_slice(t);
    }
    Ok(out)
}

/// Reads `SES_SealInfo` into a [`Seal`] whose maker fields the caller fills in.
fn seal_info(der: &[u8], format: SesFormat) -> Result<Seal, SesError> {
    const WHAT: &str = "SES_SealInfo";
    let info = asn::SealInfo::from_der(der).map_err(malformed(WHAT))?;
    if info.header.id.as_str() != "ES" {
        return Err(malformed_msg(
            "SES_Header",
            format!("ID is {:?}, not \"ES\"", info.header.id.as_str()),
        ));
    }
    let version = info.header.version;
    let fits = match format {
        SesFormat::Gbt38540 => version >= 4,
        SesFormat::Gmt0031 => (1..4).contains(&version),
    };
    if !fits {
        return Err(malformed_msg(
            "SES_Header",
            format!("version {version} does not match the {format:?} layout of the seal"),
        ));
    }
    let (seal_type, name, cert_list, dates) = match format {
        SesFormat::Gbt38540 => {
            let p = asn::PropertyV4::from_der(info.property.0)
                .map_err(malformed("SES_ESPropertyInfo (GB/T 38540)"))?;
            let list = cert_list_v4(p.cert_list_type, p.cert_list)?;
            (
                p.kind,
                p.name.as_str().to_owned(),
                list,
                [p.create_date, p.valid_start, p.valid_end],
            )
        }
        SesFormat::Gmt0031 => {
            let p = asn::PropertyV1::from_der(info.property.0)
                .map_err(malformed("SES_ESPropertyInfo (GM/T 0031)"))?;
            let list =
                CertList::Certificates(p.cert_list.iter().map(|c| c.as_bytes().to_vec()).collect());
            (
                p.kind,
                p.name.as_str().to_owned(),
                list,
                [p.create_date, p.valid_start, p.valid_end],
            )
        }
    };
    let [created, valid_start, valid_end] = dates;
    Ok(Seal {
        format,
        header_version: version,
        vendor_id: info.header.vid.as_str().to_owned(),
        es_id: info.es_id.as_str().to_owned(),
        seal_type,
        name,
        cert_list,
        created: asn1_time(created, "SES_ESPropertyInfo.createDate")?,
        valid_start: asn1_time(valid_start, "SES_ESPropertyInfo.validStart")?,
        valid_end: asn1_time(valid_end, "SES_ESPropertyInfo.validEnd")?,
        picture: Picture {
            kind: info.picture.kind.as_str().to_owned(),
            data: info.picture.data.as_bytes().to_vec(),
            width: info.picture.width,
            height: info.picture.height,
        },
        maker_cert_der: Vec::new(),
        maker_signature_alg: String::new(),
        maker_signature: Vec::new(),
        maker_signed_bytes: Vec::new(),
        timestamp: None,
        der: Vec::new(),
    })
}

/// GB/T 38540 `certList`: `certListType` 1 a SEQUENCE OF certificates, 2 of `CertDigestObj`.
fn cert_list_v4(list_type: i64, list: AnyRef<'_>) -> Result<CertList, SesError> {
    const WHAT: &str = "SES_ESPropertyInfo.certList";
    if list.tag() != Tag::Sequence {
        return Err(malformed_msg(
            WHAT,
            format!("expected a SEQUENCE, found {}", list.tag()),
        ));
    }
    let items = elements(list, WHAT)?;
    match list_type {
        1 => items
            .into_iter()
            .map(|c| {
                <&OctetStringRef>::try_from(c)
                    .map(|o| o.as_bytes().to_vec())
                    .map_err(malformed(WHAT))
            })
            .collect::<Result<_, _>>()
            .map(CertList::Certificates),
        2 => items
            .into_iter()
            .map(|d| {
                d.decode_as::<asn::CertDigestObj<'_>>()
                    .map(|o| CertDigest {
                        algorithm: o.kind.as_str().to_owned(),
                        value: o.value.as_bytes().to_vec(),
                    })
                    .map_err(malformed(WHAT))
            })
            .collect::<Result<_, _>>()
            .map(CertList::Digests),
        other => Err(malformed_msg(
            WHAT,
            format!("certListType {other} is neither 1 (certificates) nor 2 (digests)"),
        )),
    }
}

/// Reads a `SignedValue.dat`: an `SES_Signature` (GB/T 38540 or GM/T 0031), a GB/T 35275
/// `SignedData`, or a bare SM2 signature.
///
/// Refuses anything else; every refusal is [`SesError::Malformed`] naming the structure.
pub fn parse_signed_value(bytes: &[u8]) -> Result<SignedValue, SesError> {
    const WHAT: &str = "SignedValue";
    if let Ok(sig) = Sm2Signature::parse(bytes) {
        return Ok(SignedValue::BareSm2(sig));
    }
    let top = single(bytes, WHAT)?;
    if top.tag() != Tag::Sequence {
        return Err(malformed_msg(
            WHAT,
            format!("expected a SEQUENCE, found {}", top.tag()),
        ));
    }
    let items = elements(top, WHAT)?;
    match (items.first().map(|a| a.tag()), items.len()) {
        (Some(Tag::ObjectIdentifier), _) => {
            parse_signed_data(bytes).map(|s| SignedValue::SignedData(Box::new(s)))
        }
        (Some(Tag::Sequence), 2) => parse_ses_v1(bytes).map(|s| SignedValue::Ses(Box::new(s))),
        (Some(Tag::Sequence), _) => parse_ses_v4(bytes).map(|s| SignedValue::Ses(Box::new(s))),
        _ => Err(malformed_msg(
            WHAT,
            "neither an SES_Signature, a SignedData nor an SM2 signature",
        )),
    }
}

/// Reads an `SES_Signature` (GB/T 38540 or GM/T 0031); refuses a `SignedData` or bare value.
pub fn parse_ses_signature(bytes: &[u8]) -> Result<SesSignature, SesError> {
    match parse_signed_value(bytes)? {
        SignedValue::Ses(s) => Ok(*s),
        _ => Err(malformed_msg(
            "SES_Signature",
            "the value is not an electronic signature with a seal",
        )),
    }
}

fn parse_ses_v4(bytes: &[u8]) -> Result<SesSignature, SesError> {
    let sig = asn::SignatureV4::from_der(bytes).map_err(malformed("SES_Signature (GB/T 38540)"))?;
    let tbs = asn::TbsV4::from_der(sig.to_sign.0).map_err(malformed("TBS_Sign (GB/T 38540)"))?;
    let seal = parse_seal(tbs.eseal.0)?;
    if seal.format != SesFormat::Gbt38540 {
        return Err(malformed_msg(
            "TBS_Sign.eseal",
            "a GM/T 0031 seal inside a GB/T 38540 signature",
        ));
    }
    if tbs.time_info.tag() != Tag::GeneralizedTime {
        return Err(malformed_msg(
            "TBS_Sign.timeInfo",
            format!("expected a GeneralizedTime, found {}", tbs.time_info.tag()),
        ));
    }
    Ok(SesSignature {
        format: SesFormat::Gbt38540,
        tbs_der: sig.to_sign.0.to_vec(),
        version: tbs.version,
        seal,
        time_info: asn1_time(tbs.time_info, "TBS_Sign.timeInfo")?,
        data_hash: bits(&tbs.data_hash, "TBS_Sign.dataHash")?.to_vec(),
        property_info: tbs.property_info.as_str().to_owned(),
        signer_cert_der: sig.cert.as_bytes().to_vec(),
        signature_alg: sig.signature_alg_id.to_string(),
        signature: bits(&sig.signature, "SES_Signature.signature")?.to_vec(),
        timestamp: sig
            .time_stamp
            .map(|t| bits(&t, "SES_Signature.timeStamp").map(<[u8]>::to_vec))
            .transpose()?,
    })
}

fn parse_ses_v1(bytes: &[u8]) -> Result<SesSignature, SesError> {
    let sig = asn::SignatureV1::from_der(bytes).map_err(malformed("SES_Signature (GM/T 0031)"))?;
    let tbs = asn::TbsV1::from_der(sig.to_sign.0).map_err(malformed("TBS_Sign (GM/T 0031)"))?;
    let seal = parse_seal(tbs.eseal.0)?;
    if seal.format != SesFormat::Gmt0031 {
        return Err(malformed_msg(
            "TBS_Sign.eseal",
            "a GB/T 38540 seal inside a GM/T 0031 signature",
        ));
    }
    let time = bit_or_octet_string(tbs.time_info, "TBS_Sign.timeInfo")?;
    Ok(SesSignature {
        format: SesFormat::Gmt0031,
        tbs_der: sig.to_sign.0.to_vec(),
        version: tbs.version,
        seal,
        time_info: gmt0031_time(time)?,
        data_hash: bit_or_octet_string(tbs.data_hash, "TBS_Sign.dataHash")?.to_vec(),
        property_info: tbs.property_info.as_str().to_owned(),
        signer_cert_der: tbs.cert.as_bytes().to_vec(),
        signature_alg: tbs.signature_algorithm.to_string(),
        signature: bits(&sig.signature, "SES_Signature.signature")?.to_vec(),
        timestamp: None,
    })
}

fn parse_signed_data(bytes: &[u8]) -> Result<SignedData, SesError> {
    const WHAT: &str = "SignedData";
    let outer = asn::ContentInfo::from_der(bytes).map_err(malformed("ContentInfo"))?;
    let content_type = outer.content_type.to_string();
    if content_type != OID_GBT35275_SIGNED_DATA && content_type != OID_PKCS7_SIGNED_DATA {
        return Err(malformed_msg(
            "ContentInfo",
            format!("content type {content_type} is not signedData"),
        ));
    }
    let sd = outer
        .content
        .ok_or_else(|| malformed_msg("ContentInfo", "no content"))?;
    if sd.tag() != Tag::Sequence {
        return Err(malformed_msg(WHAT, "not a SEQUENCE"));
    }
    // SignedData ::= SEQUENCE { version, digestAlgorithms SET, contentInfo,
    //   certificates [0] IMPLICIT OPTIONAL, crls [1] IMPLICIT OPTIONAL, signerInfos SET }
    let items = elements(sd, WHAT)?;
    let mut it = items.into_iter().peekable();
    let version = it.next().ok_or_else(|| malformed_msg(WHAT, "empty"))?;
    i64::try_from(version).map_err(malformed("SignedData.version"))?;
    let digest_algs = it
        .next()
        .ok_or_else(|| malformed_msg(WHAT, "no digestAlgorithms"))?;
    if digest_algs.tag() != Tag::Set {
        return Err(malformed_msg("SignedData.digestAlgorithms", "not a SET"));
    }
    let inner = it
        .next()
        .ok_or_else(|| malformed_msg(WHAT, "no contentInfo"))?
        .decode_as::<asn::ContentInfo<'_>>()
        .map_err(malformed("SignedData.contentInfo"))?;
    let inner_type = inner.content_type.to_string();
    if inner_type != OID_GBT35275_DATA && inner_type != OID_PKCS7_DATA {
        return Err(malformed_msg(
            "SignedData.contentInfo",
            format!("content type {inner_type} is not data"),
        ));
    }
    let content = inner
        .content
        .map(|c| {
            <&OctetStringRef>::try_from(c)
                .map(|o| o.as_bytes().to_vec())
                .map_err(malformed("SignedData.contentInfo.content"))
        })
        .transpose()?;
    let context = |n: u8| Tag::ContextSpecific {
        constructed: true,
        number: der::TagNumber(n.into()),
    };
    let mut certificates = Vec::new();
    if it.peek().map(|a| a.tag()) == Some(context(0))
        && let Some(certs) = it.next()
    {
        for c in elements(certs, "SignedData.certificates")? {
            if c.tag() != Tag::Sequence {
                return Err(malformed_msg(
                    "SignedData.certificates",
                    "an entry is not a certificate",
                ));
            }
            certificates.push(c.to_der().map_err(malformed("SignedData.certificates"))?);
        }
    }
    if it.peek().map(|a| a.tag()) == Some(context(1)) {
        it.next();
    }
    let signer_infos = it
        .next()
        .ok_or_else(|| malformed_msg(WHAT, "no signerInfos"))?;
    if it.next().is_some() {
        return Err(malformed_msg(WHAT, "elements after signerInfos"));
    }
    if signer_infos.tag() != Tag::Set {
        return Err(malformed_msg("SignedData.signerInfos", "not a SET"));
    }
    let signers = elements(signer_infos, "SignedData.signerInfos")?;
    let [signer] = signers.as_slice() else {
        return Err(malformed_msg(
            "SignedData.signerInfos",
            format!("{} signers; exactly one is read", signers.len()),
        ));
    };
    signer_info(*signer, content_type, content, certificates)
}

/// `SignerInfo ::= SEQUENCE { version, issuerAndSerialNumber, digestAlgorithm,
/// authenticatedAttributes [0] IMPLICIT OPTIONAL, digestEncryptionAlgorithm, encryptedDigest
/// OCTET STRING, unauthenticatedAttributes [1] IMPLICIT OPTIONAL }`
fn signer_info(
    signer: AnyRef<'_>,
    content_type: String,
    content: Option<Vec<u8>>,
    certificates: Vec<Vec<u8>>,
) -> Result<SignedData, SesError> {
    const WHAT: &str = "SignerInfo";
    if signer.tag() != Tag::Sequence {
        return Err(malformed_msg(WHAT, "not a SEQUENCE"));
    }
    // The signed attributes' exact TLV is needed, so walk the SEQUENCE with a reader.
    let mut r = SliceReader::new(signer.value()).map_err(malformed(WHAT))?;
    let m = malformed(WHAT);
    i64::decode(&mut r).map_err(&m)?;
    let sid = AnyRef::decode(&mut r).map_err(&m)?;
    let digest_alg = spki::AlgorithmIdentifierRef::decode(&mut r).map_err(&m)?;
    let attrs_tag = Tag::ContextSpecific {
        constructed: true,
        number: der::TagNumber(0),
    };
    let attrs = if Tag::peek(&r).map_err(&m)? == attrs_tag {
        Some(asn::Tlv::decode(&mut r).map_err(&m)?)
    } else {
        None
    };
    let sig_alg = spki::AlgorithmIdentifierRef::decode(&mut r).map_err(&m)?;
    let signature = <&OctetStringRef>::decode(&mut r).map_err(&m)?;
    if !r.is_finished() {
        AnyRef::decode(&mut r).map_err(&m)?; // unauthenticatedAttributes
    }
    r.finish().map_err(&m)?;

    let signed_attributes = attrs.map(|t| signed_attributes(t.0)).transpose()?;
    let signer_cert_der = find_signer(sid, &certificates)?;
    Ok(SignedData {
        content_type,
        content,
        certificates,
        signer_cert_der,
        digest_alg: digest_alg.oid.to_string(),
        signature_alg: sig_alg.oid.to_string(),
        signed_attributes,
        signature: signature.as_bytes().to_vec(),
    })
}

fn signed_attributes(tlv: &[u8]) -> Result<SignedAttributes, SesError> {
    const WHAT: &str = "SignerInfo.authenticatedAttributes";
    let any = single(tlv, WHAT)?;
    let mut message_digest = None;
    let mut signing_time = None;
    for a in elements(any, WHAT)? {
        let attr = a
            .decode_as::<asn::Attribute<'_>>()
            .map_err(malformed(WHAT))?;
        if attr.values.tag() != Tag::Set {
            return Err(malformed_msg(WHAT, "attribute values are not a SET"));
        }
        let values = elements(attr.values, WHAT)?;
        let [value] = values.as_slice() else {
            return Err(malformed_msg(
                WHAT,
                "an attribute without exactly one value",
            ));
        };
        let oid = attr.attr_type.to_string();
        let seen = if oid == OID_MESSAGE_DIGEST {
            let d = <&OctetStringRef>::try_from(*value).map_err(malformed(WHAT))?;
            message_digest.replace(d.as_bytes().to_vec()).is_some()
        } else if oid == OID_SIGNING_TIME {
            signing_time
                .replace(asn1_time(*value, "signingTime")?)
                .is_some()
        } else {
            false
        };
        if seen {
            return Err(malformed_msg(WHAT, format!("attribute {oid} given twice")));
        }
    }
    let message_digest =
        message_digest.ok_or_else(|| malformed_msg(WHAT, "no messageDigest attribute"))?;
    // The signature covers the attributes as a SET: the same content under tag 0x31.
    let signed_der = Header::new(Tag::Set, any.header().length())
        .to_der()
        .map(|mut h| {
            h.extend_from_slice(any.value());
            h
        })
        .map_err(malformed(WHAT))?;
    Ok(SignedAttributes {
        signed_der,
        message_digest,
        signing_time,
    })
}

/// The certificate an `IssuerAndSerialNumber` names, if the `SignedData` carries it.
fn find_signer(sid: AnyRef<'_>, certificates: &[Vec<u8>]) -> Result<Option<Vec<u8>>, SesError> {
    const WHAT: &str = "SignerInfo.issuerAndSerialNumber";
    if sid.tag() != Tag::Sequence {
        return Err(malformed_msg(
            WHAT,
            "only issuerAndSerialNumber signer identifiers are read",
        ));
    }
    let parts = elements(sid, WHAT)?;
    let [issuer, serial] = parts.as_slice() else {
        return Err(malformed_msg(WHAT, "not { issuer, serialNumber }"));
    };
    if serial.tag() != Tag::Integer {
        return Err(malformed_msg(WHAT, "the serial number is not an INTEGER"));
    }
    let issuer_der = issuer.to_der().map_err(malformed(WHAT))?;
    for c in certificates {
        if let Ok((_, cert)) = x509_parser::parse_x509_certificate(c)
            && cert.tbs_certificate.issuer.as_raw() == issuer_der.as_slice()
            && cert.tbs_certificate.raw_serial() == serial.value()
        {
            return Ok(Some(c.clone()));
        }
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// The SM2 public key of a certificate (DER).
///
/// A certificate that cannot be read is [`SesError::Malformed`]; one whose key is not an SM2
/// key is [`SesError::UnsupportedAlgorithm`].
pub fn sm2_key_of_certificate(
    cert_der: &[u8],
    what: &'static str,
) -> Result<Sm2PublicKey, SesError> {
    let (rest, cert) = x509_parser::parse_x509_certificate(cert_der)
        .map_err(|e| malformed_msg(what, format!("certificate: {e}")))?;
    if !rest.is_empty() {
        return Err(malformed_msg(what, "bytes after the certificate"));
    }
    let spki_der = cert.tbs_certificate.subject_pki.raw;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| malformed_msg(what, format!("certificate's public key: {e}")))?;
    let alg = spki.algorithm.oid.to_string();
    let curve = spki
        .algorithm
        .parameters
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .map(|o| o.to_string());
    let sm2 = alg == gm::OID_SM2_CURVE
        || (alg == gm::OID_EC_PUBLIC_KEY && curve.as_deref() == Some(gm::OID_SM2_CURVE));
    if !sm2 {
        return Err(SesError::UnsupportedAlgorithm {
            what,
            oid: match curve {
                Some(c) => format!("{alg} on curve {c}"),
                None => alg,
            },
        });
    }
    Sm2PublicKey::from_spki_der(spki_der)
        .map_err(|e| malformed_msg(what, format!("certificate's public key: {e}")))
}

/// Checks an SM2-with-SM3 signature value over `msg` with the key of `cert_der`.
fn check_sm2(
    alg: &str,
    cert_der: &[u8],
    msg: &[u8],
    signature: &[u8],
    what: &'static str,
) -> Result<(), SesError> {
    if alg != OID_SM2_WITH_SM3 {
        return Err(SesError::UnsupportedAlgorithm {
            what,
            oid: alg.to_owned(),
        });
    }
    let key = sm2_key_of_certificate(cert_der, what)?;
    let sig = Sm2Signature::parse(signature)
        .map_err(|e| malformed_msg(what, format!("signature value: {e}")))?;
    key.verify(msg, &sig)
        .map_err(|_| SesError::BadSignature { what })
}

impl Seal {
    /// Checks the seal maker's signature over [`Seal::maker_signed_bytes`] with the key of
    /// [`Seal::maker_cert_der`]. Says nothing about whether the maker is trusted.
    pub fn verify_maker_signature(&self) -> Result<(), SesError> {
        check_sm2(
            &self.maker_signature_alg,
            &self.maker_cert_der,
            &self.maker_signed_bytes,
            &self.maker_signature,
            "seal maker's signature",
        )
    }

    /// Checks that the seal's validity period covers `at` (Unix seconds), both ends included.
    pub fn valid_at(&self, at: i64) -> Result<(), SesError> {
        if self.valid_start.unix <= at && at <= self.valid_end.unix {
            Ok(())
        } else {
            Err(SesError::SealNotValid {
                at,
                valid_start: self.valid_start.unix,
                valid_end: self.valid_end.unix,
            })
        }
    }

    /// Whether the seal lists `cert_der`: the same DER, or its digest under the named hash
    /// (SM3, SHA-1 or SHA-256). A digest under another hash never matches.
    pub fn lists_certificate(&self, cert_der: &[u8]) -> bool {
        match &self.cert_list {
            CertList::Certificates(certs) => certs.iter().any(|c| c.as_slice() == cert_der),
            CertList::Digests(digests) => digests
                .iter()
                .any(|d| digest_by_name(&d.algorithm, cert_der).is_some_and(|h| h == d.value)),
        }
    }
}

/// The digest of `data` under the hash named as seals name them (`SM3`, `SHA1`, `SHA-256`, in
/// any case, or SM3's OID), if it is one known here.
fn digest_by_name(name: &str, data: &[u8]) -> Option<Vec<u8>> {
    let n: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match n.as_str() {
        "sm3" | "12156101971401" => Some(gm::sm3(data).to_vec()),
        "sha1" => Some(
            ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
                .as_ref()
                .to_vec(),
        ),
        "sha256" => Some(
            ring::digest::digest(&ring::digest::SHA256, data)
                .as_ref()
                .to_vec(),
        ),
        _ => None,
    }
}

impl SesSignature {
    /// Checks the signature over the exact `TBS_Sign` bytes with the key of the signer's
    /// certificate. Says nothing about whether the signer is trusted.
    pub fn verify_signature(&self) -> Result<(), SesError> {
        check_sm2(
            &self.signature_alg,
            &self.signer_cert_der,
            &self.tbs_der,
            &self.signature,
            "signature",
        )
    }

    /// Checks that the seal lists the signer's certificate.
    pub fn signer_in_seal(&self) -> Result<(), SesError> {
        if self.seal.lists_certificate(&self.signer_cert_der) {
            Ok(())
        } else {
            Err(SesError::SignerNotInSeal)
        }
    }

    /// Whether `dataHash` is SM3 of `signature_xml` (the raw bytes of the signature's
    /// `Signature.xml`).
    pub fn data_hash_matches(&self, signature_xml: &[u8]) -> bool {
        self.data_hash == gm::sm3(signature_xml)
    }

    /// [`SesSignature::data_hash_matches`] as a check.
    pub fn check_data_hash(&self, signature_xml: &[u8]) -> Result<(), SesError> {
        if self.data_hash_matches(signature_xml) {
            Ok(())
        } else {
            Err(SesError::DataHashMismatch { what: "dataHash" })
        }
    }

    /// Checks that the seal's validity period covers the signing time (`timeInfo`).
    pub fn seal_valid_at_signing(&self) -> Result<(), SesError> {
        self.seal.valid_at(self.time_info.unix)
    }
}

impl SignedData {
    /// The bytes signed: `content` when the `SignedData` carries it, else `signature_xml`.
    fn signed_content<'a>(&'a self, signature_xml: &'a [u8]) -> &'a [u8] {
        self.content.as_deref().unwrap_or(signature_xml)
    }

    /// Checks that what the signature protects is `signature_xml`: the embedded content, if
    /// any, equals it, and the `messageDigest` attribute, if any, is its SM3.
    pub fn check_data_hash(&self, signature_xml: &[u8]) -> Result<(), SesError> {
        if self.content.as_deref().is_some_and(|c| c != signature_xml) {
            return Err(SesError::DataHashMismatch { what: "content" });
        }
        if let Some(attrs) = &self.signed_attributes {
            if self.digest_alg != gm::OID_SM3 {
                return Err(SesError::UnsupportedAlgorithm {
                    what: "SignedData digest",
                    oid: self.digest_alg.clone(),
                });
            }
            if attrs.message_digest != gm::sm3(signature_xml) {
                return Err(SesError::DataHashMismatch {
                    what: "messageDigest",
                });
            }
        }
        Ok(())
    }

    /// Checks the signature with the key of the signer's certificate: over the signed
    /// attributes (as a `SET`) when present, else over the content (`signature_xml` when the
    /// signature is detached). The digest algorithm must be SM3 and the signature algorithm
    /// SM2 (`sm2sign` or SM2-with-SM3).
    pub fn verify_signature(&self, signature_xml: &[u8]) -> Result<(), SesError> {
        const WHAT: &str = "signature";
        if self.digest_alg != gm::OID_SM3 {
            return Err(SesError::UnsupportedAlgorithm {
                what: "SignedData digest",
                oid: self.digest_alg.clone(),
            });
        }
        if self.signature_alg != OID_SM2_SIGN && self.signature_alg != OID_SM2_WITH_SM3 {
            return Err(SesError::UnsupportedAlgorithm {
                what: WHAT,
                oid: self.signature_alg.clone(),
            });
        }
        let cert = self
            .signer_cert_der
            .as_deref()
            .ok_or(SesError::NoSignerCertificate)?;
        let msg = match &self.signed_attributes {
            Some(a) => a.signed_der.as_slice(),
            None => self.signed_content(signature_xml),
        };
        check_sm2(OID_SM2_WITH_SM3, cert, msg, &self.signature, WHAT)
    }
}

// ---------------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------------

/// What a GB/T 38540 seal says, for [`build_seal_v4`].
#[derive(Debug, Clone)]
pub struct SealSpec<'a> {
    /// The header's vendor id (`Vid`).
    pub vendor_id: &'a str,
    /// The seal's identifier (`esID`, ASCII).
    pub es_id: &'a str,
    /// The seal's type (1 an organisation's seal, 2 a person's).
    pub seal_type: i64,
    /// The seal's name.
    pub name: &'a str,
    /// The signers' certificates (DER) the seal lists (`certListType` 1).
    pub signer_certs: &'a [&'a [u8]],
    /// When it is made (Unix seconds).
    pub created: i64,
    /// Start of its validity (Unix seconds).
    pub valid_start: i64,
    /// End of its validity (Unix seconds).
    pub valid_end: i64,
    /// The picture's type (`PNG`, ...).
    pub picture_type: &'a str,
    /// The picture's bytes.
    pub picture: &'a [u8],
    /// Display width in millimetres.
    pub width: i64,
    /// Display height in millimetres.
    pub height: i64,
}

fn generalized_time_der(unix: i64, what: &'static str) -> Result<Vec<u8>, SesError> {
    let secs = u64::try_from(unix).map_err(|_| SesError::Build {
        what,
        detail: format!("time {unix} is before 1970"),
    })?;
    GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .and_then(|t| t.to_der())
        .map_err(build_err(what))
}

fn any_of(der: &[u8]) -> Result<AnyRef<'_>, SesError> {
    AnyRef::from_der(der).map_err(build_err("SES_ESPropertyInfo"))
}

fn sm2_with_sm3_oid() -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(OID_SM2_WITH_SM3)
}

/// Builds a GB/T 38540 v4 `SES_Seal` (header version 4), signed by the seal maker over
/// `DER(eSealInfo)` with SM2-with-SM3.
///
/// Refuses values that do not fit their ASN.1 types (a non-ASCII `esID`, times before 1970).
pub fn build_seal_v4(
    spec: &SealSpec<'_>,
    maker_cert_der: &[u8],
    maker_key: &Sm2PrivateKey,
) -> Result<Vec<u8>, SesError> {
    let certs = spec
        .signer_certs
        .iter()
        .map(|c| OctetStringRef::new(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(build_err("certList"))?;
    let cert_list = certs.to_der().map_err(build_err("certList"))?;
    let created = generalized_time_der(spec.created, "createDate")?;
    let start = generalized_time_der(spec.valid_start, "validStart")?;
    let end = generalized_time_der(spec.valid_end, "validEnd")?;
    let property = asn::PropertyV4 {
        kind: spec.seal_type,
        name: Utf8StringRef::new(spec.name).map_err(build_err("name"))?,
        cert_list_type: 1,
        cert_list: any_of(&cert_list)?,
        create_date: any_of(&created)?,
        valid_start: any_of(&start)?,
        valid_end: any_of(&end)?,
    }
    .to_der()
    .map_err(build_err("SES_ESPropertyInfo"))?;
    let info = asn::SealInfo {
        header: asn::SesHeader {
            id: Ia5StringRef::new("ES").map_err(build_err("SES_Header"))?,
            version: 4,
            vid: Ia5StringRef::new(spec.vendor_id).map_err(build_err("Vid"))?,
        },
        es_id: Ia5StringRef::new(spec.es_id).map_err(build_err("esID"))?,
        property: asn::Tlv(&property),
        picture: asn::PictureInfo {
            kind: Ia5StringRef::new(spec.picture_type).map_err(build_err("picture type"))?,
            data: OctetStringRef::new(spec.picture).map_err(build_err("picture"))?,
            width: spec.width,
            height: spec.height,
        },
        ext_datas: None,
    }
    .to_der()
    .map_err(build_err("SES_SealInfo"))?;
    let sig = maker_key.sign(&info).map_err(|e| SesError::Build {
        what: "seal maker's signature",
        detail: e.to_string(),
    })?;
    let sig_der = sig.to_der();
    asn::SealV4 {
        info: asn::Tlv(&info),
        cert: OctetStringRef::new(maker_cert_der).map_err(build_err("cert"))?,
        sign_alg: sm2_with_sm3_oid(),
        signed_value: BitStringRef::from_bytes(&sig_der).map_err(build_err("signedValue"))?,
        time_stamp: None,
    }
    .to_der()
    .map_err(build_err("SES_Seal"))
}

/// What a GB/T 38540 `TBS_Sign` says besides the seal, for [`sign_v4`].
#[derive(Debug, Clone)]
pub struct TbsSpec<'a> {
    /// The signing time (Unix seconds).
    pub signed_at: i64,
    /// SM3 of the signature's `Signature.xml`.
    pub data_hash: [u8; 32],
    /// `propertyInfo` (ASCII), conventionally the path of `Signature.xml`.
    pub property_info: &'a str,
}

/// Builds a GB/T 38540 v4 `SES_Signature` applying `seal_der` (a v4 seal as stored), signed
/// by the signer over `DER(TBS_Sign)` with SM2-with-SM3, without a timestamp.
///
/// Refuses a seal that is not a GB/T 38540 one and values that do not fit their types.
pub fn sign_v4(
    tbs: &TbsSpec<'_>,
    seal_der: &[u8],
    signer_cert_der: &[u8],
    signer_key: &Sm2PrivateKey,
) -> Result<Vec<u8>, SesError> {
    let seal = parse_seal(seal_der).map_err(|e| SesError::Build {
        what: "TBS_Sign.eseal",
        detail: e.to_string(),
    })?;
    if seal.format != SesFormat::Gbt38540 {
        return Err(SesError::Build {
            what: "TBS_Sign.eseal",
            detail: "a GB/T 38540 signature needs a GB/T 38540 seal".into(),
        });
    }
    let time = generalized_time_der(tbs.signed_at, "timeInfo")?;
    let tbs_der = asn::TbsV4 {
        version: 4,
        eseal: asn::Tlv(seal_der),
        time_info: AnyRef::from_der(&time).map_err(build_err("timeInfo"))?,
        data_hash: BitStringRef::from_bytes(&tbs.data_hash).map_err(build_err("dataHash"))?,
        property_info: Ia5StringRef::new(tbs.property_info).map_err(build_err("propertyInfo"))?,
        ext_datas: None,
    }
    .to_der()
    .map_err(build_err("TBS_Sign"))?;
    let sig = signer_key.sign(&tbs_der).map_err(|e| SesError::Build {
        what: "signature",
        detail: e.to_string(),
    })?;
    let sig_der = sig.to_der();
    asn::SignatureV4 {
        to_sign: asn::Tlv(&tbs_der),
        cert: OctetStringRef::new(signer_cert_der).map_err(build_err("cert"))?,
        signature_alg_id: sm2_with_sm3_oid(),
        signature: BitStringRef::from_bytes(&sig_der).map_err(build_err("signature"))?,
        time_stamp: None,
    }
    .to_der()
    .map_err(build_err("SES_Signature"))
}

#[cfg(test)]
mod tests;
