#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::asn;
use super::build::sm2_with_sm3_oid;
use super::parse::sequence_of_tlvs;
use super::time::{parse_dashed_local, parse_generalized, parse_utc};
use super::*;
use crate::gm::{self, Sm2PrivateKey, Sm2PublicKey, Sm2Signature};
use ::time::macros::datetime;
use der::TagNumber;
use der::asn1::{
    AnyRef, BitStringRef, Ia5StringRef, ObjectIdentifier, OctetStringRef, PrintableStringRef,
};
use der::{Decode, Encode, Header, Length, Tag};
use proptest::prelude::*;

const USER_V1: &[u8] = include_bytes!("../../../fixtures/ofd/ofdrw/UserV1.esl");
const USER_V4: &[u8] = include_bytes!("../../../fixtures/ofd/ofdrw/UserV4.esl");
const USER_V5: &[u8] = include_bytes!("../../../fixtures/ofd/ofdrw/UserV5.esl");
const SIGNED_VALUE_V4: &[u8] = include_bytes!("../../../fixtures/ofd/ofdrw/SignedValueV4.dat");
const USER_PUB: &str = include_str!("../../../fixtures/ofd/ofdrw/USER.pub.pem");
const SIGN_CERT: &str = include_str!("../../../fixtures/ofd/ofdrw/sign_cert.pem");
const SIGN_KEY: &str = include_str!("../../../fixtures/ofd/ofdrw/sign_key.pem");
const AP_SV: &[u8] =
    include_bytes!("../../../fixtures/ofd/ofdrw/extracted/allprotected-Sign_0-SignedValue.dat");
const AP_XML: &[u8] =
    include_bytes!("../../../fixtures/ofd/ofdrw/extracted/allprotected-Sign_0-Signature.xml");
const LATE_SV: &[u8] =
    include_bytes!("../../../fixtures/ofd/ofdrw/extracted/SESV4SignDoc-Sign_0-SignedValue.dat");
const LATE_XML: &[u8] =
    include_bytes!("../../../fixtures/ofd/ofdrw/extracted/SESV4SignDoc-Sign_0-Signature.xml");
const DS_SV: &[u8] =
    include_bytes!("../../../fixtures/ofd/ofdrw/extracted/DigitalSign-Sign_0-SignedValue.dat");
const DS_XML: &[u8] =
    include_bytes!("../../../fixtures/ofd/ofdrw/extracted/DigitalSign-Sign_0-Signature.xml");

/// ofdrw's test seal (UserV4.esl, and the seal inside its signatures).
const TEST_SEAL_ES_ID: &str = "51f044b76510434e9bc67a1185c2fba5";
const TEST_SEAL_NAME: &str = "OFD R&W 测试用印章";

fn sign_cert_der() -> Vec<u8> {
    der::pem::decode_vec(SIGN_CERT.as_bytes()).unwrap().1
}

fn sign_key() -> Sm2PrivateKey {
    Sm2PrivateKey::from_pem(SIGN_KEY).unwrap()
}

fn serial_of(cert_der: &[u8]) -> String {
    let (_, c) = x509_parser::parse_x509_certificate(cert_der).unwrap();
    hex::encode_upper(c.tbs_certificate.raw_serial())
}

fn ses(bytes: &[u8]) -> SesSignature {
    match parse_signed_value(bytes).unwrap() {
        SignedValue::Ses(s) => *s,
        other => panic!("not an SES_Signature: {other:?}"),
    }
}

/// The value with byte `at` changed.
fn flipped(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v[at] ^= 0x01;
    v
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("present")
}

fn is_bad(r: Result<(), SesError>, what: &str) -> bool {
    matches!(r, Err(SesError::BadSignature { what: w }) if w == what)
}

// --- ofdrw's seals ------------------------------------------------------------------------

#[test]
fn user_v1_seal_is_gmt0031_and_its_maker_signed_the_sequence_of_info_cert_and_algorithm() {
    let seal = parse_seal(USER_V1).unwrap();
    assert_eq!(seal.format, SesFormat::Gmt0031);
    assert_eq!(seal.header_version, 1);
    assert_eq!(seal.vendor_id, "OFDR&WTest");
    assert_eq!(seal.es_id, "40C8CDD24DEF43388B86E62CCE1D6832");
    assert_eq!(seal.name, "OFDRW测试用印章");
    assert_eq!(seal.created.text, "200422021807Z");
    assert_eq!(
        seal.valid_start.unix,
        datetime!(2020-04-22 02:18:07 UTC).unix_timestamp()
    );
    assert_eq!(
        seal.valid_end.unix,
        datetime!(2022-04-22 02:18:07 UTC).unix_timestamp()
    );
    assert_eq!(seal.picture.kind, "PNG");
    assert!(seal.picture.data.starts_with(b"\x89PNG"));
    assert_eq!((seal.picture.width, seal.picture.height), (40, 40));
    let CertList::Certificates(certs) = &seal.cert_list else {
        panic!("a certificate list")
    };
    assert_eq!(certs.len(), 1);
    assert_eq!(serial_of(&certs[0]), "01719D2DAB60");
    assert_eq!(serial_of(&seal.maker_cert_der), "01719D2E201D");
    assert_eq!(seal.maker_signature_alg, OID_SM2_WITH_SM3);
    // SEQUENCE { eSealInfo (offset 4, 16381 bytes), cert, signatureAlgorithm } as stored.
    let info = &USER_V1[4..4 + 4 + 16377];
    let cert_and_alg = &USER_V1[16389..16929];
    let mut expected = vec![0x30, 0x82];
    expected.extend_from_slice(&((info.len() + cert_and_alg.len()) as u16).to_be_bytes());
    expected.extend_from_slice(info);
    expected.extend_from_slice(cert_and_alg);
    assert_eq!(seal.maker_signed_bytes, expected);
    seal.verify_maker_signature().unwrap();
    // Over DER(eSealInfo) alone, as v4 would have it, the same value does not verify.
    let mut v4_reading = seal.clone();
    v4_reading.maker_signed_bytes = info.to_vec();
    assert!(is_bad(
        v4_reading.verify_maker_signature(),
        "seal maker's signature"
    ));
}

#[test]
fn user_v4_seal_is_gbt38540_and_its_maker_signed_the_seal_info() {
    let seal = parse_seal(USER_V4).unwrap();
    assert_eq!(seal.format, SesFormat::Gbt38540);
    assert_eq!(seal.header_version, 4);
    assert_eq!(seal.es_id, TEST_SEAL_ES_ID);
    assert_eq!(seal.name, TEST_SEAL_NAME);
    assert_eq!(seal.seal_type, 3);
    assert_eq!(seal.valid_start.text, "20200422020900Z");
    assert_eq!(
        seal.valid_start.unix,
        datetime!(2020-04-22 02:09:00 UTC).unix_timestamp()
    );
    assert_eq!(
        seal.valid_end.unix,
        datetime!(2022-04-22 02:09:00 UTC).unix_timestamp()
    );
    let CertList::Certificates(certs) = &seal.cert_list else {
        panic!("a certificate list")
    };
    assert_eq!(serial_of(&certs[0]), "01719D2DAB60");
    assert_eq!(serial_of(&seal.maker_cert_der), "01719D2E201D");
    assert_eq!(seal.maker_signed_bytes, &USER_V4[4..4 + 4 + 16389]);
    assert_eq!(seal.timestamp, None);
    assert_eq!(seal.der, USER_V4);
    seal.verify_maker_signature().unwrap();
}

#[test]
fn user_v5_seal_reads_with_the_v4_structures_and_its_maker_signed_the_seal_info() {
    let seal = parse_seal(USER_V5).unwrap();
    assert_eq!(seal.format, SesFormat::Gbt38540);
    assert_eq!(seal.header_version, 5);
    assert_eq!(seal.vendor_id, "OFDR&WTestV5");
    assert_eq!(seal.es_id, "09aaf39291e049e4b3d716414590937e");
    assert_eq!(seal.name, "OFD R&W V5测试用印章");
    assert_eq!(
        seal.valid_start.unix,
        datetime!(2026-04-24 08:53:23 UTC).unix_timestamp()
    );
    assert_eq!(
        seal.valid_end.unix,
        datetime!(2028-04-24 08:53:23 UTC).unix_timestamp()
    );
    assert_eq!(seal.maker_signed_bytes, &USER_V5[4..4 + 4 + 16393]);
    seal.verify_maker_signature().unwrap();
}

#[test]
fn a_changed_byte_in_each_seal_info_breaks_the_makers_signature() {
    for (name, file) in [("v1", USER_V1), ("v4", USER_V4), ("v5", USER_V5)] {
        // A byte of the picture, inside eSealInfo: still valid DER.
        let at = find(file, b"IHDR");
        let seal = parse_seal(&flipped(file, at)).unwrap();
        assert!(
            is_bad(seal.verify_maker_signature(), "seal maker's signature"),
            "{name}"
        );
        // The seal's name, inside the property info.
        let at = find(file, "测试用印章".as_bytes());
        let seal = parse_seal(&flipped(file, at + 1)).unwrap();
        assert!(
            is_bad(seal.verify_maker_signature(), "seal maker's signature"),
            "{name}"
        );
    }
    // GM/T 0031 also signs the algorithm identifier and the maker's certificate: a changed
    // serial number in the certificate breaks it too.
    let seal = parse_seal(USER_V1).unwrap();
    let serial = hex::decode("01719D2E201D").unwrap();
    let at = 16389 + find(&USER_V1[16389..], &serial) + 5;
    let changed = parse_seal(&flipped(USER_V1, at)).unwrap();
    assert_ne!(changed.maker_cert_der, seal.maker_cert_der);
    assert!(is_bad(
        changed.verify_maker_signature(),
        "seal maker's signature"
    ));
}

// --- ofdrw's signatures -------------------------------------------------------------------

#[test]
fn signed_value_v4_signature_covers_the_tbs_sign_and_its_seal_verifies() {
    let s = ses(SIGNED_VALUE_V4);
    assert_eq!(s.format, SesFormat::Gbt38540);
    assert_eq!(s.version, 4);
    // TBS_Sign: offset 4, header 4 + 17101 bytes, exactly as stored.
    assert_eq!(s.tbs_der, &SIGNED_VALUE_V4[4..4 + 17105]);
    assert_eq!(s.time_info.text, "20201012111403Z");
    assert_eq!(
        s.time_info.unix,
        datetime!(2020-10-12 11:14:03 UTC).unix_timestamp()
    );
    assert_eq!(s.property_info, "/Doc_0/Signs/Sign_0/Signature.xml");
    assert_eq!(s.data_hash.len(), 32);
    assert_eq!(s.signature_alg, OID_SM2_WITH_SM3);
    assert_eq!(serial_of(&s.signer_cert_der), "01719D2DAB60");
    assert_eq!(s.timestamp, None);
    assert_eq!(s.seal.es_id, TEST_SEAL_ES_ID);
    assert_eq!(s.seal.der, &SIGNED_VALUE_V4[11..11 + 4 + 17007]);
    s.verify_signature().unwrap();
    s.seal.verify_maker_signature().unwrap();
    s.signer_in_seal().unwrap();
    s.seal_valid_at_signing().unwrap();
}

#[test]
fn allprotected_signature_hash_signature_and_seal_all_hold() {
    let s = ses(AP_SV);
    assert_eq!(
        s.time_info.unix,
        datetime!(2020-10-23 11:45:37 UTC).unix_timestamp()
    );
    assert!(s.data_hash_matches(AP_XML));
    s.check_data_hash(AP_XML).unwrap();
    s.verify_signature().unwrap();
    s.seal.verify_maker_signature().unwrap();
    s.signer_in_seal().unwrap();
    s.seal_valid_at_signing().unwrap();
    assert_eq!(s.seal.name, TEST_SEAL_NAME);
}

#[test]
fn a_changed_signature_xml_does_not_match_the_data_hash() {
    let s = ses(AP_SV);
    let xml = flipped(AP_XML, AP_XML.len() / 2);
    assert!(!s.data_hash_matches(&xml));
    assert_eq!(
        s.check_data_hash(&xml),
        Err(SesError::DataHashMismatch { what: "dataHash" })
    );
}

#[test]
fn a_changed_byte_in_the_tbs_sign_breaks_the_signature_and_only_it() {
    // In propertyInfo: the seal is untouched.
    let at = 17074 + 2 + 3;
    let s = ses(&flipped(AP_SV, at));
    assert!(is_bad(s.verify_signature(), "signature"));
    s.seal.verify_maker_signature().unwrap();
    // In dataHash: the hash no longer matches and the signature breaks.
    let s = ses(&flipped(AP_SV, 17039 + 2 + 5));
    assert!(!s.data_hash_matches(AP_XML));
    assert!(is_bad(s.verify_signature(), "signature"));
    // In timeInfo (the seconds' last digit, 7 to 6).
    let s = ses(&flipped(AP_SV, 17022 + 2 + 13));
    assert_eq!(s.time_info.text, "20201023114536Z");
    assert!(is_bad(s.verify_signature(), "signature"));
    // In the seal's picture, inside TBS_Sign: both signatures break.
    let at = find(AP_SV, b"IHDR");
    let s = ses(&flipped(AP_SV, at));
    assert!(is_bad(s.verify_signature(), "signature"));
    assert!(is_bad(
        s.seal.verify_maker_signature(),
        "seal maker's signature"
    ));
}

#[test]
fn a_changed_signature_value_does_not_verify() {
    // The last byte of s inside the signature's BIT STRING.
    let s = ses(&flipped(AP_SV, AP_SV.len() - 1));
    assert!(is_bad(s.verify_signature(), "signature"));
}

#[test]
fn a_signature_made_after_the_seal_expired_is_flagged_by_the_validity_check_only() {
    let s = ses(LATE_SV);
    assert_eq!(
        s.time_info.unix,
        datetime!(2026-08-04 02:08:09 UTC).unix_timestamp()
    );
    assert!(s.data_hash_matches(LATE_XML));
    s.verify_signature().unwrap();
    s.seal.verify_maker_signature().unwrap();
    s.signer_in_seal().unwrap();
    assert_eq!(
        s.seal_valid_at_signing(),
        Err(SesError::SealNotValid {
            at: s.time_info.unix,
            valid_start: datetime!(2020-04-22 02:09:00 UTC).unix_timestamp(),
            valid_end: datetime!(2022-04-22 02:09:00 UTC).unix_timestamp(),
        })
    );
    // Both ends are included.
    s.seal.valid_at(s.seal.valid_start.unix).unwrap();
    s.seal.valid_at(s.seal.valid_end.unix).unwrap();
    assert!(s.seal.valid_at(s.seal.valid_start.unix - 1).is_err());
}

#[test]
fn digital_sign_is_a_bare_sm2_signature_over_signature_xml() {
    let SignedValue::BareSm2(sig) = parse_signed_value(DS_SV).unwrap() else {
        panic!("a bare SM2 signature")
    };
    assert_eq!(sig.encoding(), gm::SigEncoding::Der);
    let key = Sm2PublicKey::from_pem(USER_PUB).unwrap();
    key.verify(DS_XML, &sig).unwrap();
    assert_eq!(
        key.verify(&flipped(DS_XML, 40), &sig),
        Err(gm::GmError::Mismatch)
    );
    // The raw r ‖ s form reads as a bare signature too, and verifies alike.
    let SignedValue::BareSm2(raw) = parse_signed_value(&sig.to_raw()).unwrap() else {
        panic!("a bare SM2 signature")
    };
    assert_eq!(raw.encoding(), gm::SigEncoding::Raw);
    key.verify(DS_XML, &raw).unwrap();
}

// --- building ----------------------------------------------------------------------------

const SIGNED_AT: i64 = 1_700_000_000;

fn spec<'a>(certs: &'a [&'a [u8]]) -> SealSpec<'a> {
    SealSpec {
        vendor_id: "zhengzhao",
        es_id: "37090020260001",
        seal_type: 1,
        name: "泰安市测试局电子印章",
        signer_certs: certs,
        created: SIGNED_AT - 1000,
        valid_start: SIGNED_AT - 1000,
        valid_end: SIGNED_AT + 86_400,
        picture_type: "PNG",
        picture: b"\x89PNG\r\n\x1a\n not really a picture",
        width: 40,
        height: 40,
    }
}

fn built_signature() -> (Vec<u8>, Vec<u8>) {
    let cert = sign_cert_der();
    let key = sign_key();
    let certs = [cert.as_slice()];
    let seal = build_seal_v4(&spec(&certs), &cert, &key).unwrap();
    let xml = b"<ofd:Signature/>";
    let sig = sign_v4(
        &TbsSpec {
            signed_at: SIGNED_AT,
            data_hash: gm::sm3(xml),
            property_info: "/Doc_0/Signs/Sign_0/Signature.xml",
        },
        &seal,
        &cert,
        &key,
    )
    .unwrap();
    (seal, sig)
}

#[test]
fn a_built_seal_and_signature_read_back_and_verify() {
    let (seal_der, sig_der) = built_signature();
    let seal = parse_seal(&seal_der).unwrap();
    assert_eq!(seal.format, SesFormat::Gbt38540);
    assert_eq!(seal.header_version, 4);
    assert_eq!(seal.es_id, "37090020260001");
    assert_eq!(seal.name, "泰安市测试局电子印章");
    assert_eq!(seal.valid_end.unix, SIGNED_AT + 86_400);
    assert_eq!(seal.valid_end.text, "20231115221320Z");
    assert_eq!(
        seal.cert_list,
        CertList::Certificates(vec![sign_cert_der()])
    );
    assert_eq!(seal.picture.width, 40);
    seal.verify_maker_signature().unwrap();

    let s = ses(&sig_der);
    assert_eq!(s.format, SesFormat::Gbt38540);
    assert_eq!(s.version, 4);
    assert_eq!(s.seal, seal);
    assert_eq!(s.time_info.unix, SIGNED_AT);
    assert!(s.data_hash_matches(b"<ofd:Signature/>"));
    assert_eq!(s.signer_cert_der, sign_cert_der());
    s.verify_signature().unwrap();
    s.signer_in_seal().unwrap();
    s.seal_valid_at_signing().unwrap();
    // The same layout as ofdrw's: TBS_Sign right after the outer header, the seal after the
    // TBS version.
    assert_eq!(&sig_der[4..4 + s.tbs_der.len()], s.tbs_der.as_slice());
    assert_eq!(&s.tbs_der[7..7 + seal_der.len()], seal_der.as_slice());
}

#[test]
fn building_refuses_values_that_do_not_fit() {
    let cert = sign_cert_der();
    let key = sign_key();
    let certs = [cert.as_slice()];
    let mut bad = spec(&certs);
    bad.es_id = "编号";
    assert!(matches!(
        build_seal_v4(&bad, &cert, &key),
        Err(SesError::Build { what: "esID", .. })
    ));
    let mut early = spec(&certs);
    early.valid_start = -1;
    assert!(matches!(
        build_seal_v4(&early, &cert, &key),
        Err(SesError::Build {
            what: "validStart",
            ..
        })
    ));
    let tbs = TbsSpec {
        signed_at: SIGNED_AT,
        data_hash: [0; 32],
        property_info: "x",
    };
    assert!(matches!(
        sign_v4(&tbs, USER_V1, &cert, &key),
        Err(SesError::Build {
            what: "TBS_Sign.eseal",
            ..
        })
    ));
}

/// Runs `openssl dgst -sm3 -verify` with the distinguishing ID; true when it says OK.
fn openssl_verifies(cert_der: &[u8], msg: &[u8], sig: &Sm2Signature) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let key = sm2_key_of_certificate(cert_der, "test").unwrap();
    let pem = der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &key.to_spki_der())
        .unwrap();
    std::fs::write(dir.path().join("pub.pem"), pem).unwrap();
    std::fs::write(dir.path().join("msg"), msg).unwrap();
    std::fs::write(dir.path().join("sig"), sig.to_der()).unwrap();
    let out = std::process::Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "dgst",
            "-sm3",
            "-verify",
            "pub.pem",
            "-sigopt",
            "distid:1234567812345678",
            "-signature",
            "sig",
            "msg",
        ])
        .output()
        .expect("openssl runs");
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

#[test]
fn openssl_verifies_the_built_signatures_over_the_bytes_they_cover() {
    let (_, sig_der) = built_signature();
    let s = ses(&sig_der);
    let sig = Sm2Signature::parse(&s.signature).unwrap();
    assert!(openssl_verifies(&s.signer_cert_der, &s.tbs_der, &sig));
    assert!(!openssl_verifies(
        &s.signer_cert_der,
        &flipped(&s.tbs_der, 30),
        &sig
    ));
    let maker = Sm2Signature::parse(&s.seal.maker_signature).unwrap();
    assert!(openssl_verifies(
        &s.seal.maker_cert_der,
        &s.seal.maker_signed_bytes,
        &maker
    ));
}

#[test]
fn openssl_agrees_on_ofdrws_signatures() {
    let s = ses(AP_SV);
    let sig = Sm2Signature::parse(&s.signature).unwrap();
    assert!(openssl_verifies(&s.signer_cert_der, &s.tbs_der, &sig));
    let v1 = parse_seal(USER_V1).unwrap();
    let maker = Sm2Signature::parse(&v1.maker_signature).unwrap();
    assert!(openssl_verifies(
        &v1.maker_cert_der,
        &v1.maker_signed_bytes,
        &maker
    ));
}

// --- algorithms, signers, certificate lists -------------------------------------------------

/// A v4 signature re-assembled with another signature algorithm OID.
fn with_signature_alg(sig_der: &[u8], oid: &str) -> Vec<u8> {
    let mut s = asn::SignedV4::from_der(sig_der).unwrap();
    s.alg = ObjectIdentifier::new_unwrap(oid);
    s.to_der().unwrap()
}

#[test]
fn another_signature_algorithm_is_unsupported_not_bad() {
    let (seal_der, sig_der) = built_signature();
    let ecdsa = "1.2.840.10045.4.3.2";
    let s = ses(&with_signature_alg(&sig_der, ecdsa));
    assert_eq!(
        s.verify_signature(),
        Err(SesError::UnsupportedAlgorithm {
            what: "signature",
            oid: ecdsa.into()
        })
    );
    let mut seal = asn::SignedV4::from_der(&seal_der).unwrap();
    seal.alg = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
    let seal = parse_seal(&seal.to_der().unwrap()).unwrap();
    assert!(matches!(
        seal.verify_maker_signature(),
        Err(SesError::UnsupportedAlgorithm {
            what: "seal maker's signature",
            ..
        })
    ));
}

#[test]
fn a_signer_certificate_that_is_not_sm2_is_unsupported() {
    let (_, sig_der) = built_signature();
    let mut s = ses(&sig_der);
    // A P-256 certificate made by ring/rcgen.
    let p256 = rcgen::generate_simple_self_signed(vec!["x".into()]).unwrap();
    s.signer_cert_der = p256.cert.der().to_vec();
    assert!(matches!(
        s.verify_signature(),
        Err(SesError::UnsupportedAlgorithm { what: "signature", oid }) if oid.contains("1.2.840.10045.3.1.7")
    ));
    s.signer_cert_der = b"not a certificate".to_vec();
    assert!(matches!(
        s.verify_signature(),
        Err(SesError::Malformed {
            what: "signature",
            ..
        })
    ));
}

#[test]
fn a_signer_the_seal_does_not_list_is_refused_by_name() {
    // The seal lists ofdrw's USER certificate; sign with ofdrw's other test certificate.
    let cert = sign_cert_der();
    let sig = sign_v4(
        &TbsSpec {
            signed_at: SIGNED_AT,
            data_hash: [7; 32],
            property_info: "p",
        },
        USER_V4,
        &cert,
        &sign_key(),
    )
    .unwrap();
    let s = ses(&sig);
    s.verify_signature().unwrap();
    assert_eq!(s.signer_in_seal(), Err(SesError::SignerNotInSeal));
}

/// A v4 seal whose certificate list holds digests (`certListType` 2).
fn seal_with_digests(digests: &[(&str, Vec<u8>)]) -> Seal {
    let cert = sign_cert_der();
    let key = sign_key();
    let certs = [cert.as_slice()];
    let built = build_seal_v4(&spec(&certs), &cert, &key).unwrap();
    let seal = asn::SignedV4::from_der(&built).unwrap();
    let info = asn::SealInfo::from_der(seal.tbs.0).unwrap();
    let mut prop = asn::PropertyV4::from_der(info.property.0).unwrap();
    let objs: Vec<asn::CertDigestObj<'_>> = digests
        .iter()
        .map(|(n, v)| asn::CertDigestObj {
            kind: PrintableStringRef::new(n).unwrap(),
            value: OctetStringRef::new(v).unwrap(),
        })
        .collect();
    let list = objs.to_der().unwrap();
    prop.cert_list_type = 2;
    prop.cert_list = AnyRef::from_der(&list).unwrap();
    let prop = prop.to_der().unwrap();
    let info = asn::SealInfo {
        property: asn::Tlv(&prop),
        ..info
    }
    .to_der()
    .unwrap();
    let sig = key.sign(&info).unwrap().to_der();
    let out = asn::SignedV4 {
        tbs: asn::Tlv(&info),
        value: BitStringRef::from_bytes(&sig).unwrap(),
        ..seal
    }
    .to_der()
    .unwrap();
    let seal = parse_seal(&out).unwrap();
    seal.verify_maker_signature().unwrap();
    seal
}

#[test]
fn a_seal_may_list_its_signers_by_digest() {
    let cert = sign_cert_der();
    let sm3 = seal_with_digests(&[("SM3", gm::sm3(&cert).to_vec())]);
    assert!(matches!(&sm3.cert_list, CertList::Digests(d) if d[0].algorithm == "SM3"));
    assert!(sm3.lists_certificate(&cert));
    let sha256 = ring::digest::digest(&ring::digest::SHA256, &cert);
    let other = seal_with_digests(&[("MD5", vec![0; 16]), ("SHA-256", sha256.as_ref().to_vec())]);
    assert!(other.lists_certificate(&cert));
    // A digest of another certificate, or under a hash not known here, does not match.
    let wrong = seal_with_digests(&[("SM3", gm::sm3(b"another").to_vec()), ("MD5", vec![0; 16])]);
    assert!(!wrong.lists_certificate(&cert));
}

// --- GM/T 0031 signatures -----------------------------------------------------------------

/// A GM/T 0031 `SES_Signature` applying `seal_der`, as ofdrw's v1 signer builds it: `timeInfo`
/// and `dataHash` are BIT STRINGs.
fn gmt0031_signature(
    seal_der: &[u8],
    time_info: &[u8],
    data_hash: &[u8; 32],
    cert: &[u8],
    key: &Sm2PrivateKey,
) -> Vec<u8> {
    let time_bits = BitStringRef::from_bytes(time_info)
        .unwrap()
        .to_der()
        .unwrap();
    let hash_bits = BitStringRef::from_bytes(data_hash)
        .unwrap()
        .to_der()
        .unwrap();
    let tbs = asn::TbsV1 {
        version: 1,
        eseal: asn::Tlv(seal_der),
        time_info: AnyRef::from_der(&time_bits).unwrap(),
        data_hash: AnyRef::from_der(&hash_bits).unwrap(),
        property_info: Ia5StringRef::new("/Doc_0/Signs/Sign_0/Signature.xml").unwrap(),
        cert: OctetStringRef::new(cert).unwrap(),
        signature_algorithm: sm2_with_sm3_oid(),
    }
    .to_der()
    .unwrap();
    let sig = key.sign(&tbs).unwrap().to_der();
    asn::SignatureV1 {
        to_sign: asn::Tlv(&tbs),
        signature: BitStringRef::from_bytes(&sig).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// ofdrw's v1 seal listing `listed` instead, re-made by the holder of `sign_key.pem`.
fn gmt0031_seal(listed: &[u8]) -> Vec<u8> {
    let v1 = asn::SealV1::from_der(USER_V1).unwrap();
    let info = asn::SealInfo::from_der(v1.info.0).unwrap();
    let prop = asn::PropertyV1::from_der(info.property.0).unwrap();
    let prop = asn::PropertyV1 {
        cert_list: vec![OctetStringRef::new(listed).unwrap()],
        ..prop
    }
    .to_der()
    .unwrap();
    let info = asn::SealInfo {
        property: asn::Tlv(&prop),
        ..info
    }
    .to_der()
    .unwrap();
    let maker = sign_cert_der();
    let cert_tlv = OctetStringRef::new(&maker).unwrap().to_der().unwrap();
    let alg_tlv = sm2_with_sm3_oid().to_der().unwrap();
    let signed = sequence_of_tlvs(&[&info, &cert_tlv, &alg_tlv]).unwrap();
    let sig = sign_key().sign(&signed).unwrap().to_der();
    asn::SealV1 {
        info: asn::Tlv(&info),
        sign_info: asn::SignInfoV1 {
            cert: asn::Tlv(&cert_tlv),
            signature_algorithm: asn::Tlv(&alg_tlv),
            sign_data: BitStringRef::from_bytes(&sig).unwrap(),
        },
    }
    .to_der()
    .unwrap()
}

#[test]
fn a_gmt0031_signature_reads_and_verifies_like_ofdrws_v1_signer_makes_them() {
    let cert = sign_cert_der();
    let seal = gmt0031_seal(&cert);
    let xml = b"<ofd:Signature/>";
    let der = gmt0031_signature(
        &seal,
        b"2020-04-22 16:22:44",
        &gm::sm3(xml),
        &cert,
        &sign_key(),
    );
    let s = ses(&der);
    assert_eq!(s.format, SesFormat::Gmt0031);
    assert_eq!(s.version, 1);
    assert_eq!(s.seal.format, SesFormat::Gmt0031);
    assert_eq!(s.time_info.text, "2020-04-22 16:22:44");
    // China Standard Time.
    assert_eq!(
        s.time_info.unix,
        datetime!(2020-04-22 08:22:44 UTC).unix_timestamp()
    );
    assert!(s.data_hash_matches(xml));
    s.verify_signature().unwrap();
    s.seal.verify_maker_signature().unwrap();
    s.signer_in_seal().unwrap();
    s.seal_valid_at_signing().unwrap();
    let sig = Sm2Signature::parse(&s.signature).unwrap();
    assert!(openssl_verifies(&cert, &s.tbs_der, &sig));
    // A changed byte of TBS_Sign (the property info) breaks it.
    let at = find(&der, b"/Doc_0/Signs");
    assert!(is_bad(
        ses(&flipped(&der, at + 2)).verify_signature(),
        "signature"
    ));
}

#[test]
fn gmt0031_time_info_may_hold_a_der_time() {
    let cert = sign_cert_der();
    let seal = gmt0031_seal(&cert);
    let utc =
        der::asn1::UtcTime::from_unix_duration(std::time::Duration::from_secs(SIGNED_AT as u64))
            .unwrap()
            .to_der()
            .unwrap();
    let s = ses(&gmt0031_signature(
        &seal,
        &utc,
        &[1; 32],
        &cert,
        &sign_key(),
    ));
    assert_eq!(s.time_info.unix, SIGNED_AT);
    let s = ses(&gmt0031_signature(
        &seal,
        b"231114221320Z",
        &[1; 32],
        &cert,
        &sign_key(),
    ));
    assert_eq!(s.time_info.unix, SIGNED_AT);
    let bad = gmt0031_signature(&seal, b"yesterday", &[1; 32], &cert, &sign_key());
    assert!(matches!(
        parse_signed_value(&bad),
        Err(SesError::Malformed {
            what: "TBS_Sign.timeInfo",
            ..
        })
    ));
}

#[test]
fn a_gmt0031_signature_with_ofdrws_seal_names_a_signer_it_does_not_list() {
    let cert = sign_cert_der();
    let der = gmt0031_signature(
        USER_V1,
        b"2020-04-22 16:22:44",
        &[0; 32],
        &cert,
        &sign_key(),
    );
    let s = ses(&der);
    s.verify_signature().unwrap();
    s.seal.verify_maker_signature().unwrap();
    assert_eq!(s.signer_in_seal(), Err(SesError::SignerNotInSeal));
}

#[test]
fn seals_and_signatures_of_different_standards_do_not_mix() {
    let cert = sign_cert_der();
    // A GM/T 0031 signature around a GB/T 38540 seal.
    let der = gmt0031_signature(
        USER_V4,
        b"2020-04-22 16:22:44",
        &[0; 32],
        &cert,
        &sign_key(),
    );
    assert!(matches!(
        parse_signed_value(&der),
        Err(SesError::Malformed {
            what: "TBS_Sign.eseal",
            ..
        })
    ));
}

// --- GB/T 35275 SignedData ----------------------------------------------------------------

/// A constructed TLV of `tag` around `parts`.
fn cons(tag: Tag, parts: &[&[u8]]) -> Vec<u8> {
    let body = parts.concat();
    let mut out = Header::new(tag, Length::try_from(body.len()).unwrap())
        .to_der()
        .unwrap();
    out.extend_from_slice(&body);
    out
}

fn ctx(n: u32) -> Tag {
    Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(n),
    }
}

fn oid_der(oid: &str) -> Vec<u8> {
    ObjectIdentifier::new_unwrap(oid).to_der().unwrap()
}

fn alg_der(oid: &str) -> Vec<u8> {
    cons(Tag::Sequence, &[&oid_der(oid)])
}

struct SignedDataSpec<'a> {
    content: Option<&'a [u8]>,
    attributes: bool,
    message: &'a [u8],
    digest_alg: &'a str,
    signature_alg: &'a str,
    include_cert: bool,
}

impl Default for SignedDataSpec<'_> {
    fn default() -> Self {
        SignedDataSpec {
            content: None,
            attributes: true,
            message: b"<ofd:Signature/>",
            digest_alg: gm::OID_SM3,
            signature_alg: OID_SM2_SIGN,
            include_cert: true,
        }
    }
}

/// A GB/T 35275 `SignedData` signed with ofdrw's `sign_key.pem`.
fn signed_data(spec: &SignedDataSpec<'_>) -> Vec<u8> {
    let cert = sign_cert_der();
    let (_, parsed) = x509_parser::parse_x509_certificate(&cert).unwrap();
    let serial = parsed.tbs_certificate.raw_serial();
    let serial_der = {
        let mut h = Header::new(Tag::Integer, Length::try_from(serial.len()).unwrap())
            .to_der()
            .unwrap();
        h.extend_from_slice(serial);
        h
    };
    let sid = cons(
        Tag::Sequence,
        &[parsed.tbs_certificate.issuer.as_raw(), &serial_der],
    );
    let digest = OctetStringRef::new(&gm::sm3(spec.message))
        .unwrap()
        .to_der()
        .unwrap();
    let attrs_body = [
        cons(
            Tag::Sequence,
            &[
                &oid_der("1.2.840.113549.1.9.3"),
                &cons(Tag::Set, &[&oid_der(OID_GBT35275_DATA)]),
            ],
        ),
        cons(
            Tag::Sequence,
            &[&oid_der(OID_MESSAGE_DIGEST), &cons(Tag::Set, &[&digest])],
        ),
    ];
    let attrs_set = cons(Tag::Set, &[&attrs_body[0], &attrs_body[1]]);
    let key = sign_key();
    let (attrs, sig) = if spec.attributes {
        (
            cons(ctx(0), &[&attrs_body[0], &attrs_body[1]]),
            key.sign(&attrs_set).unwrap(),
        )
    } else {
        (Vec::new(), key.sign(spec.message).unwrap())
    };
    let sig = OctetStringRef::new(&sig.to_der())
        .unwrap()
        .to_der()
        .unwrap();
    let signer = cons(
        Tag::Sequence,
        &[
            &1i64.to_der().unwrap(),
            &sid,
            &alg_der(spec.digest_alg),
            &attrs,
            &alg_der(spec.signature_alg),
            &sig,
        ],
    );
    let content = spec
        .content
        .map(|c| {
            cons(
                ctx(0),
                &[&OctetStringRef::new(c).unwrap().to_der().unwrap()],
            )
        })
        .unwrap_or_default();
    let certs = if spec.include_cert {
        cons(ctx(0), &[&cert])
    } else {
        Vec::new()
    };
    let sd = cons(
        Tag::Sequence,
        &[
            &1i64.to_der().unwrap(),
            &cons(Tag::Set, &[&alg_der(spec.digest_alg)]),
            &cons(Tag::Sequence, &[&oid_der(OID_GBT35275_DATA), &content]),
            &certs,
            &cons(Tag::Set, &[&signer]),
        ],
    );
    cons(
        Tag::Sequence,
        &[&oid_der(OID_GBT35275_SIGNED_DATA), &cons(ctx(0), &[&sd])],
    )
}

fn sd(bytes: &[u8]) -> SignedData {
    match parse_signed_value(bytes).unwrap() {
        SignedValue::SignedData(s) => *s,
        other => panic!("not a SignedData: {other:?}"),
    }
}

#[test]
fn signed_data_with_attributes_covers_them_as_a_set() {
    let xml = b"<ofd:Signature/>";
    let s = sd(&signed_data(&SignedDataSpec::default()));
    assert_eq!(s.content_type, OID_GBT35275_SIGNED_DATA);
    assert_eq!(s.content, None);
    assert_eq!(
        s.signer_cert_der.as_deref(),
        Some(sign_cert_der().as_slice())
    );
    let attrs = s.signed_attributes.as_ref().unwrap();
    assert_eq!(attrs.signed_der[0], 0x31);
    assert_eq!(attrs.message_digest, gm::sm3(xml));
    s.check_data_hash(xml).unwrap();
    s.verify_signature(xml).unwrap();
    let sig = Sm2Signature::parse(&s.signature).unwrap();
    assert!(openssl_verifies(&sign_cert_der(), &attrs.signed_der, &sig));
    // Another Signature.xml: the digest differs (the signature, over the attributes, holds).
    assert_eq!(
        s.check_data_hash(b"<other/>"),
        Err(SesError::DataHashMismatch {
            what: "messageDigest"
        })
    );
    // A changed attribute breaks the signature.
    let der = signed_data(&SignedDataSpec::default());
    let at = find(&der, &gm::sm3(xml));
    let changed = sd(&flipped(&der, at));
    assert!(is_bad(changed.verify_signature(xml), "signature"));
}

#[test]
fn signed_data_without_attributes_covers_the_content() {
    let xml = b"<ofd:Signature/>";
    let detached = sd(&signed_data(&SignedDataSpec {
        attributes: false,
        ..Default::default()
    }));
    assert!(detached.signed_attributes.is_none());
    detached.check_data_hash(xml).unwrap();
    detached.verify_signature(xml).unwrap();
    assert!(is_bad(detached.verify_signature(b"<other/>"), "signature"));

    let attached = sd(&signed_data(&SignedDataSpec {
        attributes: false,
        content: Some(xml),
        ..Default::default()
    }));
    assert_eq!(attached.content.as_deref(), Some(&xml[..]));
    attached.check_data_hash(xml).unwrap();
    attached.verify_signature(xml).unwrap();
    // The content it carries is not the Signature.xml given.
    assert_eq!(
        attached.check_data_hash(b"<other/>"),
        Err(SesError::DataHashMismatch { what: "content" })
    );
}

#[test]
fn signed_data_refusals_are_named() {
    let xml = b"<ofd:Signature/>";
    let sha256 = sd(&signed_data(&SignedDataSpec {
        digest_alg: "2.16.840.1.101.3.4.2.1",
        ..Default::default()
    }));
    assert!(matches!(
        sha256.verify_signature(xml),
        Err(SesError::UnsupportedAlgorithm {
            what: "SignedData digest",
            ..
        })
    ));
    let rsa = sd(&signed_data(&SignedDataSpec {
        signature_alg: "1.2.840.113549.1.1.11",
        ..Default::default()
    }));
    assert!(matches!(
        rsa.verify_signature(xml),
        Err(SesError::UnsupportedAlgorithm {
            what: "signature",
            ..
        })
    ));
    let with_sm3 = sd(&signed_data(&SignedDataSpec {
        signature_alg: OID_SM2_WITH_SM3,
        ..Default::default()
    }));
    with_sm3.verify_signature(xml).unwrap();
    let no_cert = sd(&signed_data(&SignedDataSpec {
        include_cert: false,
        ..Default::default()
    }));
    assert_eq!(no_cert.signer_cert_der, None);
    assert_eq!(
        no_cert.verify_signature(xml),
        Err(SesError::NoSignerCertificate)
    );
}

// --- refusals of malformed input ----------------------------------------------------------

fn malformed_what(r: Result<impl std::fmt::Debug, SesError>) -> &'static str {
    match r {
        Err(SesError::Malformed { what, .. }) => what,
        other => panic!("expected a Malformed error, got {other:?}"),
    }
}

#[test]
fn malformed_seals_are_refused_by_name() {
    // Not DER at all, and trailing bytes.
    assert_eq!(malformed_what(parse_seal(b"hello")), "SES_Seal");
    let mut trailing = USER_V4.to_vec();
    trailing.push(0);
    assert_eq!(malformed_what(parse_seal(&trailing)), "SES_Seal");
    // Header ID other than "ES".
    let at = find(USER_V4, b"ES");
    let mut bad_id = USER_V4.to_vec();
    bad_id[at + 1] = b'X';
    assert_eq!(malformed_what(parse_seal(&bad_id)), "SES_Header");
    // A v4 layout claiming header version 1 (INTEGER 04 at offset 16).
    let mut v1_claim = USER_V4.to_vec();
    assert_eq!(v1_claim[16], 4);
    v1_claim[16] = 1;
    assert_eq!(malformed_what(parse_seal(&v1_claim)), "SES_Header");
    // certListType 3 (INTEGER 01 at offset 97).
    let mut list3 = USER_V4.to_vec();
    assert_eq!(list3[97], 1);
    list3[97] = 3;
    assert_eq!(
        malformed_what(parse_seal(&list3)),
        "SES_ESPropertyInfo.certList"
    );
    // An impossible date: month 13 in createDate (offset 634 + 2 + 4).
    let mut month = USER_V4.to_vec();
    month[640] = b'1';
    month[641] = b'3';
    assert_eq!(
        malformed_what(parse_seal(&month)),
        "SES_ESPropertyInfo.createDate"
    );
    // A seal is not a signed value of any other kind.
    assert_eq!(malformed_what(parse_ses_signature(DS_SV)), "SES_Signature");
}

#[test]
fn malformed_signed_values_are_refused_by_name() {
    assert_eq!(malformed_what(parse_signed_value(b"")), "SignedValue");
    assert_eq!(
        malformed_what(parse_signed_value(&[0x04, 0x00])),
        "SignedValue"
    );
    // A seal where a signature should be: its first element is no TBS_Sign.
    assert_eq!(
        malformed_what(parse_signed_value(USER_V4)),
        "TBS_Sign (GB/T 38540)"
    );
    // timeInfo must be a GeneralizedTime in GB/T 38540 (0x18 at offset 17022 → UTCTime 0x17).
    let mut utc = AP_SV.to_vec();
    assert_eq!(utc[17022], 0x18);
    utc[17022] = 0x17;
    assert_eq!(
        malformed_what(parse_signed_value(&utc)),
        "TBS_Sign.timeInfo"
    );
    // A BIT STRING with unused bits in dataHash.
    let mut unused = AP_SV.to_vec();
    assert_eq!(unused[17041], 0);
    unused[17041] = 1;
    assert_eq!(
        malformed_what(parse_signed_value(&unused)),
        "TBS_Sign.dataHash"
    );
}

#[test]
fn every_truncation_of_the_real_files_is_refused() {
    for (name, file) in [
        ("UserV1", USER_V1),
        ("UserV4", USER_V4),
        ("UserV5", USER_V5),
        ("SignedValueV4", SIGNED_VALUE_V4),
        ("allprotected", AP_SV),
    ] {
        for len in 0..file.len() {
            let cut = &file[..len];
            assert!(parse_seal(cut).is_err(), "{name} cut at {len}");
            // A cut of exactly 64 bytes reads as a raw r ‖ s value: not an error, and not
            // anything but a bare signature.
            match parse_signed_value(cut) {
                Err(_) => {}
                Ok(SignedValue::BareSm2(_)) if len == 64 => {}
                Ok(other) => panic!("{name} cut at {len} read as {other:?}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_signed_value(&bytes);
        let _ = parse_seal(&bytes);
    }

    #[test]
    fn changed_bytes_of_the_real_files_never_panic(
        at in 0usize..17_726,
        value in any::<u8>(),
        which in 0usize..4,
    ) {
        static SIGNED_DATA: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let sd_der = SIGNED_DATA.get_or_init(|| signed_data(&SignedDataSpec::default()));
        let file = [AP_SV, USER_V1, SIGNED_VALUE_V4, sd_der.as_slice()][which];
        let mut v = file.to_vec();
        let i = at % v.len();
        v[i] = value;
        if let Ok(SignedValue::Ses(s)) = parse_signed_value(&v) {
            let _ = s.verify_signature();
            let _ = s.seal.verify_maker_signature();
            let _ = s.signer_in_seal();
        }
        if let Ok(SignedValue::SignedData(s)) = parse_signed_value(&v) {
            let _ = s.check_data_hash(b"<ofd:Signature/>");
            let _ = s.verify_signature(b"<ofd:Signature/>");
        }
        if let Ok(seal) = parse_seal(&v) {
            let _ = seal.verify_maker_signature();
        }
    }
}

// --- times --------------------------------------------------------------------------------

#[test]
fn time_texts_read_as_written_and_impossible_ones_are_refused() {
    let t = datetime!(2020-10-12 11:14:03 UTC).unix_timestamp();
    assert_eq!(parse_generalized("20201012111403Z"), Some(t));
    assert_eq!(parse_generalized("20201012111403.250Z"), Some(t));
    assert_eq!(parse_generalized("20201012191403+0800"), Some(t));
    assert_eq!(parse_utc("201012111403Z"), Some(t));
    assert_eq!(parse_utc("2010121114Z"), Some(t - 3));
    assert_eq!(parse_utc("991231235959Z"), Some(946_684_799));
    assert_eq!(parse_dashed_local("2020-10-12 19:14:03"), Some(t));
    for bad in [
        "20201012111403",
        "20201312111403Z",
        "20200230111403Z",
        "20201012111403.Z",
        "2020101211140Z",
        "20201012111403+2400",
        "2020-10-12T19:14:03",
    ] {
        assert_eq!(parse_generalized(bad), None, "{bad}");
        assert_eq!(parse_dashed_local(bad), None, "{bad}");
    }
}

#[test]
fn signature_values_in_vendor_encodings_verify_inside_an_ses_signature() {
    let (_, sig_der) = built_signature();
    let value = Sm2Signature::parse(&ses(&sig_der).signature).unwrap();
    let raw = value.to_raw();
    // The same r and s with s's INTEGER given a superfluous leading zero (not minimal DER).
    let der = value.to_der();
    let r_len = usize::from(der[3]);
    let (r_int, s_int) = der[2..].split_at(2 + r_len);
    let mut s_padded = vec![0x02, s_int[1] + 1, 0x00];
    s_padded.extend_from_slice(&s_int[2..]);
    let lenient = cons(Tag::Sequence, &[r_int, &s_padded]);
    for (bytes, encoding) in [
        (raw.to_vec(), gm::SigEncoding::Raw),
        (lenient, gm::SigEncoding::LenientDer),
    ] {
        let mut s = asn::SignedV4::from_der(&sig_der).unwrap();
        s.value = BitStringRef::from_bytes(&bytes).unwrap();
        let reassembled = ses(&s.to_der().unwrap());
        assert_eq!(
            Sm2Signature::parse(&reassembled.signature)
                .unwrap()
                .encoding(),
            encoding
        );
        reassembled.verify_signature().unwrap();
    }
    // Garbage where the value should be is malformed, not a bad signature.
    let mut s = asn::SignedV4::from_der(&sig_der).unwrap();
    s.value = BitStringRef::from_bytes(b"garbage").unwrap();
    assert!(matches!(
        ses(&s.to_der().unwrap()).verify_signature(),
        Err(SesError::Malformed {
            what: "signature",
            ..
        })
    ));
}
