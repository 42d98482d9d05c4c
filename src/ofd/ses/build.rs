//! Building GB/T 38540 seals and signatures (for the demo seal and test fixtures).

use der::asn1::{
    AnyRef, BitStringRef, GeneralizedTime, Ia5StringRef, ObjectIdentifier, OctetStringRef,
    Utf8StringRef,
};
use der::{Decode, Encode};

use super::parse::parse_seal;
use super::{OID_SM2_WITH_SM3, SesError, SesFormat, asn, build_err};
use crate::gm::Sm2PrivateKey;

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
    signed_v4(
        &info,
        maker_cert_der,
        maker_key,
        SignedNames {
            structure: "SES_Seal",
            signing: "seal maker's signature",
            value: "signedValue",
        },
    )
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
    signed_v4(
        &tbs_der,
        signer_cert_der,
        signer_key,
        SignedNames {
            structure: "SES_Signature",
            signing: "signature",
            value: "signature",
        },
    )
}

/// What the errors of [`signed_v4`] call the structure, the act of signing and the signature
/// field.
struct SignedNames {
    structure: &'static str,
    signing: &'static str,
    value: &'static str,
}

/// Signs `tbs_der` with `key` (SM2-with-SM3) and writes the GB/T 38540 signed structure
/// ([`asn::SignedV4`], the shape of both `SES_Seal` and `SES_Signature`) around it, with the
/// signer's certificate and without a timestamp.
fn signed_v4(
    tbs_der: &[u8],
    cert_der: &[u8],
    key: &Sm2PrivateKey,
    names: SignedNames,
) -> Result<Vec<u8>, SesError> {
    let sig = key.sign(tbs_der).map_err(|e| SesError::Build {
        what: names.signing,
        detail: e.to_string(),
    })?;
    let sig_der = sig.to_der();
    asn::SignedV4 {
        tbs: asn::Tlv(tbs_der),
        cert: OctetStringRef::new(cert_der).map_err(build_err("cert"))?,
        alg: sm2_with_sm3_oid(),
        value: BitStringRef::from_bytes(&sig_der).map_err(build_err(names.value))?,
        time_stamp: None,
    }
    .to_der()
    .map_err(build_err(names.structure))
}

/// The SM2-with-SM3 algorithm identifier's OID.
pub(super) fn sm2_with_sm3_oid() -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(OID_SM2_WITH_SM3)
}
