//! DER structures of GB/T 38540, GM/T 0031 and GB/T 35275, decoded and encoded by `der`.

use der::asn1::{
    AnyRef, BitStringRef, Ia5StringRef, ObjectIdentifier, OctetStringRef, PrintableStringRef,
    Utf8StringRef,
};
use der::{Decode, Encode, Length, Reader, Sequence, Writer};

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

/// The shape GB/T 38540 gives both its signed structures: `SES_Seal ::= SEQUENCE { eSealInfo,
/// cert OCTET STRING, signAlgID OID, signedValue BIT STRING }` and `SES_Signature ::= SEQUENCE
/// { toSign TBS_Sign, cert OCTET STRING, signatureAlgID OID, signature BIT STRING,
/// timeStamp [0] OPTIONAL }`; ofdrw's version 5 seals add the same `timeStamp [0] OPTIONAL`.
/// `tbs` is what the signature covers, kept as stored.
#[derive(Sequence)]
pub(super) struct SignedV4<'a> {
    pub tbs: Tlv<'a>,
    pub cert: &'a OctetStringRef,
    pub alg: ObjectIdentifier,
    pub value: BitStringRef<'a>,
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
