//! Reading seals and signed values from DER into the values of [`super`].

use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetStringRef};
use der::{Decode, Encode, Header, Length, Reader, SliceReader, Tag, Tagged};

use super::time::{asn1_time, gmt0031_time};
use super::{
    CertDigest, CertList, Picture, Seal, SesError, SesFormat, SesSignature, SignedAttributes,
    SignedData, SignedValue, asn, malformed, malformed_msg,
};
use super::{
    OID_GBT35275_DATA, OID_GBT35275_SIGNED_DATA, OID_MESSAGE_DIGEST, OID_PKCS7_DATA,
    OID_PKCS7_SIGNED_DATA, OID_SIGNING_TIME,
};
use crate::gm::Sm2Signature;

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

/// The elements of a SEQUENCE; anything else is refused, naming the tag found.
fn sequence_elements<'a>(any: AnyRef<'a>, what: &'static str) -> Result<Vec<AnyRef<'a>>, SesError> {
    if any.tag() != Tag::Sequence {
        return Err(malformed_msg(
            what,
            format!("expected a SEQUENCE, found {}", any.tag()),
        ));
    }
    elements(any, what)
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

/// Reads a standalone electronic seal (`.esl`): GB/T 38540 `SES_Seal` or GM/T 0031 `SESeal`.
///
/// Refuses anything that is not exactly one seal in DER: trailing bytes, missing fields,
/// a header whose ID is not `ES` or whose version does not match the layout, unreadable
/// dates, a certificate list that does not match its declared type.
pub fn parse_seal(bytes: &[u8]) -> Result<Seal, SesError> {
    const WHAT: &str = "SES_Seal";
    let items = sequence_elements(single(bytes, WHAT)?, WHAT)?;
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
    let seal = asn::SignedV4::from_der(bytes).map_err(malformed("SES_Seal (GB/T 38540)"))?;
    let mut out = seal_info(seal.tbs.0, SesFormat::Gbt38540)?;
    out.maker_cert_der = seal.cert.as_bytes().to_vec();
    out.maker_signature_alg = seal.alg.to_string();
    out.maker_signature = bits(&seal.value, "SES_Seal.signedValue")?.to_vec();
    out.maker_signed_bytes = seal.tbs.0.to_vec();
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
pub(super) fn sequence_of_tlvs(tlvs: &[&[u8]]) -> der::Result<Vec<u8>> {
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
    let items = sequence_elements(list, WHAT)?;
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
    let items = sequence_elements(single(bytes, WHAT)?, WHAT)?;
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

/// The seal inside a signature of `format`: a signature of one standard carrying the other's
/// seal is refused, as neither standard allows it.
fn signature_seal(der: &[u8], format: SesFormat) -> Result<Seal, SesError> {
    let standard = |f| match f {
        SesFormat::Gbt38540 => "GB/T 38540",
        SesFormat::Gmt0031 => "GM/T 0031",
    };
    let seal = parse_seal(der)?;
    if seal.format != format {
        return Err(malformed_msg(
            "TBS_Sign.eseal",
            format!(
                "a {} seal inside a {} signature",
                standard(seal.format),
                standard(format)
            ),
        ));
    }
    Ok(seal)
}

fn parse_ses_v4(bytes: &[u8]) -> Result<SesSignature, SesError> {
    let sig = asn::SignedV4::from_der(bytes).map_err(malformed("SES_Signature (GB/T 38540)"))?;
    let tbs = asn::TbsV4::from_der(sig.tbs.0).map_err(malformed("TBS_Sign (GB/T 38540)"))?;
    let seal = signature_seal(tbs.eseal.0, SesFormat::Gbt38540)?;
    if tbs.time_info.tag() != Tag::GeneralizedTime {
        return Err(malformed_msg(
            "TBS_Sign.timeInfo",
            format!("expected a GeneralizedTime, found {}", tbs.time_info.tag()),
        ));
    }
    Ok(SesSignature {
        format: SesFormat::Gbt38540,
        tbs_der: sig.tbs.0.to_vec(),
        version: tbs.version,
        seal,
        time_info: asn1_time(tbs.time_info, "TBS_Sign.timeInfo")?,
        data_hash: bits(&tbs.data_hash, "TBS_Sign.dataHash")?.to_vec(),
        property_info: tbs.property_info.as_str().to_owned(),
        signer_cert_der: sig.cert.as_bytes().to_vec(),
        signature_alg: sig.alg.to_string(),
        signature: bits(&sig.value, "SES_Signature.signature")?.to_vec(),
        timestamp: sig
            .time_stamp
            .map(|t| bits(&t, "SES_Signature.timeStamp").map(<[u8]>::to_vec))
            .transpose()?,
    })
}

fn parse_ses_v1(bytes: &[u8]) -> Result<SesSignature, SesError> {
    let sig = asn::SignatureV1::from_der(bytes).map_err(malformed("SES_Signature (GM/T 0031)"))?;
    let tbs = asn::TbsV1::from_der(sig.to_sign.0).map_err(malformed("TBS_Sign (GM/T 0031)"))?;
    let seal = signature_seal(tbs.eseal.0, SesFormat::Gmt0031)?;
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

/// The content type of a ContentInfo, refused unless it is `kind` (`signedData` or `data`)
/// under one of `oids`: GB/T 35275 gives the PKCS #7 structures OIDs of its own, and sealed
/// documents carry either.
fn content_type_of(
    info: &asn::ContentInfo<'_>,
    oids: [&str; 2],
    what: &'static str,
    kind: &str,
) -> Result<String, SesError> {
    let content_type = info.content_type.to_string();
    if !oids.contains(&content_type.as_str()) {
        return Err(malformed_msg(
            what,
            format!("content type {content_type} is not {kind}"),
        ));
    }
    Ok(content_type)
}

fn parse_signed_data(bytes: &[u8]) -> Result<SignedData, SesError> {
    const WHAT: &str = "SignedData";
    let outer = asn::ContentInfo::from_der(bytes).map_err(malformed("ContentInfo"))?;
    let content_type = content_type_of(
        &outer,
        [OID_GBT35275_SIGNED_DATA, OID_PKCS7_SIGNED_DATA],
        "ContentInfo",
        "signedData",
    )?;
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
    content_type_of(
        &inner,
        [OID_GBT35275_DATA, OID_PKCS7_DATA],
        "SignedData.contentInfo",
        "data",
    )?;
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
