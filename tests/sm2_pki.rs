#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! SM2 certificates and chains: certificates and CRLs built by `demo::sm2_cert`, checked with
//! OpenSSL over their TBS (an implementation nobody here wrote), read with x509-parser, and
//! validated by `TrustStore::validate_for` (rustls-webpki with the SM2 algorithms) for every
//! outcome a seal chain can have.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use std::path::Path;
use support::command::{openssl, openssl_sm2_check, output_text};

use der::asn1::AnyRef;
use der::{Decode, Encode, Reader, SliceReader, Tag, Tagged};
use time::OffsetDateTime;
use time::macros::datetime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use zhengzhao::codes::RegionCode;
use zhengzhao::demo::sm2_cert::{
    KeyUsages, Oid, Sm2Ca, Sm2LeafSpec, issue_sm2_leaf, sm2_crl, sm2_root_ca, sm2_serial_from_pem,
};
use zhengzhao::demo::{DEMO_CA_VALIDITY, DEMO_CRL_VALIDITY, DEMO_REGIONS};
use zhengzhao::gm::{Sm2PrivateKey, Sm2PublicKey};
use zhengzhao::pki::trust::{ChainUsage, ChainVerdict, TrustStore};

/// Inside every demo validity window (2026-01-01 .. 2036-01-01).
const AT: OffsetDateTime = datetime!(2030-06-01 00:00 UTC);

fn region(code: &str) -> RegionCode {
    code.parse().unwrap()
}

fn der_of(pem: &str) -> Vec<u8> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .unwrap()
        .1
        .contents
}

fn parse(der: &[u8]) -> X509Certificate<'_> {
    let (rest, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    assert!(rest.is_empty());
    cert
}

/// A region's SM2 PKI: the root, a seal signer and a seal maker.
struct Pki {
    root: Sm2Ca,
    root_pem: String,
    signer_pem: String,
    maker_pem: String,
}

fn pki(code: &str) -> Pki {
    pki_named(code, "测试SM2根CA")
}

fn pki_named(code: &str, root_cn: &str) -> Pki {
    let r = DEMO_REGIONS.iter().find(|r| r.code == code).unwrap();
    let (root, pair) = sm2_root_ca(root_cn, r.authority, DEMO_CA_VALIDITY).unwrap();
    let signer = issue_sm2_leaf(&root, &Sm2LeafSpec::seal_signer(r)).unwrap();
    let maker = issue_sm2_leaf(&root, &Sm2LeafSpec::seal_maker(r)).unwrap();
    Pki {
        root,
        root_pem: pair.cert_pem,
        signer_pem: signer.cert_pem,
        maker_pem: maker.cert_pem,
    }
}

/// Checks with OpenSSL that the object in `file` (a certificate or CRL, PEM) is signed by
/// the key in `pub.pem` over its TBS with the ID, and not without it. Returns the TBS OpenSSL
/// extracted.
fn openssl_checks_tbs_signature(dir: &Path, file: &str) -> Vec<u8> {
    let listing = output_text(&openssl(&["asn1parse", "-in", file], dir));
    let top: Vec<usize> = listing
        .lines()
        .filter(|l| l.contains("d=1"))
        .map(|l| l.split(':').next().unwrap().trim().parse().unwrap())
        .collect();
    assert_eq!(top.len(), 3, "TBS, algorithm, signature: {listing}");
    let (tbs_at, sig_at) = (top[0].to_string(), top[2].to_string());
    let out = openssl(
        &[
            "asn1parse",
            "-in",
            file,
            "-strparse",
            &tbs_at,
            "-noout",
            "-out",
            "tbs.der",
        ],
        dir,
    );
    assert!(out.status.success(), "{}", output_text(&out));
    let out = openssl(
        &[
            "asn1parse",
            "-in",
            file,
            "-strparse",
            &sig_at,
            "-noout",
            "-out",
            "sig.der",
        ],
        dir,
    );
    assert!(out.status.success(), "{}", output_text(&out));
    let check = |with_id| {
        openssl_sm2_check(
            &dir.join("pub.pem"),
            &dir.join("sig.der"),
            &dir.join("tbs.der"),
            with_id,
        )
    };
    let out = check(true);
    assert!(
        output_text(&out).contains("Verified OK"),
        "{file}: {}",
        output_text(&out)
    );
    let out = check(false);
    assert!(
        !out.status.success(),
        "{file} verified without the ID: {}",
        output_text(&out)
    );
    std::fs::read(dir.join("tbs.der")).unwrap()
}

#[test]
fn every_certificate_and_crl_signature_checks_with_openssl_over_the_tbs() {
    let p = pki("370900");
    let revoked = sm2_serial_from_pem(&p.signer_pem).unwrap();
    let crl_pem = sm2_crl(
        &p.root,
        &[(revoked, datetime!(2030-01-01 00:00 UTC))],
        DEMO_CRL_VALIDITY.0,
        DEMO_CRL_VALIDITY.1,
        7,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("root.pem"), &p.root_pem).unwrap();
    std::fs::write(dir.path().join("signer.pem"), &p.signer_pem).unwrap();
    std::fs::write(dir.path().join("maker.pem"), &p.maker_pem).unwrap();
    std::fs::write(dir.path().join("crl.pem"), &crl_pem).unwrap();
    let out = openssl(
        &[
            "x509", "-in", "root.pem", "-pubkey", "-noout", "-out", "pub.pem",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", output_text(&out));
    for file in ["root.pem", "signer.pem", "maker.pem"] {
        let tbs = openssl_checks_tbs_signature(dir.path(), file);
        // What OpenSSL calls the TBS is what x509-parser calls it.
        let pem = std::fs::read_to_string(dir.path().join(file)).unwrap();
        let der = der_of(&pem);
        assert_eq!(tbs, parse(&der).tbs_certificate.as_ref(), "{file}");
    }
    let tbs = openssl_checks_tbs_signature(dir.path(), "crl.pem");
    let crl_der = der_of(&crl_pem);
    let (_, crl) = x509_parser::parse_x509_crl(&crl_der).unwrap();
    assert_eq!(tbs, crl.tbs_cert_list.as_ref());
    // OpenSSL reads the CRL's content as we wrote it.
    let listing = output_text(&openssl(
        &["crl", "-in", "crl.pem", "-noout", "-text"],
        dir.path(),
    ));
    assert!(listing.contains("SM2-with-SM3"), "{listing}");
    assert!(listing.contains("X509v3 CRL Number"), "{listing}");
    let serial = hex::encode_upper(sm2_serial_from_pem(&p.signer_pem).unwrap());
    assert!(listing.replace(':', "").contains(&serial), "{listing}");
}

/// The object identifiers the profile needs, as x509-parser prints them.
const SM2_WITH_SM3: &str = "1.2.156.10197.1.501";
const SM2_CURVE: &str = "1.2.156.10197.1.301";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

fn ski(cert: &X509Certificate<'_>) -> Vec<u8> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .unwrap()
}

fn aki(cert: &X509Certificate<'_>) -> Vec<u8> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
        .unwrap()
}

#[test]
fn x509_parser_reads_the_sm2_profile() {
    let r = &DEMO_REGIONS[1];
    let (root, pair) = sm2_root_ca("测试SM2根CA", r.authority, DEMO_CA_VALIDITY).unwrap();
    let signer = issue_sm2_leaf(&root, &Sm2LeafSpec::seal_signer(r)).unwrap();
    let maker = issue_sm2_leaf(&root, &Sm2LeafSpec::seal_maker(r)).unwrap();
    let root_der = der_of(&pair.cert_pem);
    let root_cert = parse(&root_der);

    for (pem, key_pem) in [
        (&pair.cert_pem, &pair.key_pem),
        (&signer.cert_pem, &signer.key_pem),
        (&maker.cert_pem, &maker.key_pem),
    ] {
        let der = der_of(pem);
        let cert = parse(&der);
        assert_eq!(
            cert.signature_algorithm.algorithm.to_id_string(),
            SM2_WITH_SM3
        );
        assert!(cert.signature_algorithm.parameters.is_none());
        let spki = cert.public_key();
        assert_eq!(spki.algorithm.algorithm.to_id_string(), EC_PUBLIC_KEY);
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .unwrap()
            .as_oid()
            .unwrap();
        assert_eq!(curve.to_id_string(), SM2_CURVE);
        // The key read from the certificate is the key of the PKCS#8 file.
        let from_cert = Sm2PublicKey::from_spki_der(spki.raw).unwrap();
        let key = Sm2PrivateKey::from_pem(key_pem).unwrap();
        assert_eq!(from_cert.to_sec1(), key.public_key().to_sec1());
        assert_eq!(cert.issuer().as_raw(), root_cert.subject().as_raw());
        assert_eq!(aki(&cert), ski(&root_cert));
        assert_eq!(ski(&cert).len(), 20);
        assert_eq!(cert.raw_serial().len(), 16);
    }

    let bc = root_cert.basic_constraints().unwrap().unwrap();
    assert!(bc.critical && bc.value.ca && bc.value.path_len_constraint.is_none());
    let ku = root_cert.key_usage().unwrap().unwrap();
    assert!(ku.critical && ku.value.key_cert_sign() && ku.value.crl_sign());
    assert!(!ku.value.digital_signature());
    assert!(root_cert.extended_key_usage().unwrap().is_none());

    for pem in [&signer.cert_pem, &maker.cert_pem] {
        let der = der_of(pem);
        let cert = parse(&der);
        let bc = cert.basic_constraints().unwrap().unwrap();
        assert!(bc.critical && !bc.value.ca);
        let ku = cert.key_usage().unwrap().unwrap();
        assert!(ku.critical && ku.value.digital_signature() && ku.value.non_repudiation());
        assert!(!ku.value.key_cert_sign());
        assert!(cert.extended_key_usage().unwrap().is_none());
        assert_eq!(
            cert.subject()
                .iter_organization()
                .next()
                .unwrap()
                .as_str()
                .unwrap(),
            r.authority
        );
    }

    // The seal signer names the authority's USCC in organizationIdentifier and in its SAN.
    let der = der_of(&signer.cert_pem);
    let cert = parse(&der);
    let org_id: Vec<&str> = cert
        .subject()
        .iter_attributes()
        .filter(|a| a.attr_type().to_id_string() == "2.5.4.97")
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(org_id, vec![r.issuer_uscc]);
    let facts = zhengzhao::pki::cert::signer_facts(&der).unwrap();
    assert_eq!(facts.usccs, vec![r.issuer_uscc.to_owned()]);
    assert_eq!(facts.regions, vec![r.code.to_owned()]);
    // The maker carries no USCC.
    let der = der_of(&maker.cert_pem);
    let cert = parse(&der);
    assert!(
        cert.subject()
            .iter_attributes()
            .all(|a| a.attr_type().to_id_string() != "2.5.4.97")
    );
    let san = cert.subject_alternative_name().unwrap().unwrap();
    assert!(
        san.value
            .general_names
            .iter()
            .all(|n| !matches!(n, GeneralName::URI(u) if u.starts_with("urn:gb32100:")))
    );
}

/// A store with `root_pem` bound to `code`, and `crl` if given.
fn store(root_pem: &str, code: &str, crl: Option<&str>) -> TrustStore {
    let mut s = TrustStore::new();
    s.add_pem(root_pem.as_bytes(), &[region(code)], "sm2 root")
        .unwrap();
    if let Some(crl) = crl {
        s.add_crl_pem(crl.as_bytes(), "sm2 crl").unwrap();
    }
    s
}

fn untrusted(v: ChainVerdict) -> String {
    match v {
        ChainVerdict::Untrusted(why) => why,
        other => panic!("expected Untrusted, got {other:?}"),
    }
}

#[test]
fn seal_chains_are_trusted_under_their_regions_sm2_root() {
    let p = pki("370900");
    let empty_crl = sm2_crl(&p.root, &[], DEMO_CRL_VALIDITY.0, DEMO_CRL_VALIDITY.1, 1).unwrap();
    let s = store(&p.root_pem, "370900", Some(&empty_crl));
    let at = AT.unix_timestamp();
    for (pem, usage) in [
        (&p.signer_pem, ChainUsage::SealSigner),
        (&p.maker_pem, ChainUsage::SealMaker),
    ] {
        let chain = vec![der_of(pem)];
        match s.validate_for(&chain, Some(&region("370900")), at, usage) {
            ChainVerdict::Trusted { anchor } => assert!(anchor.contains("测试SM2根CA"), "{anchor}"),
            other => panic!("{usage:?}: {other:?}"),
        }
        // The root in the chain as well changes nothing.
        let with_root = vec![der_of(pem), der_of(&p.root_pem)];
        assert!(matches!(
            s.validate_for(&with_root, Some(&region("370900")), at, usage),
            ChainVerdict::Trusted { .. }
        ));
    }
    // The demo seal certificates carry no EKU, so the licence rule (required if present)
    // passes too: the usages differ for certificates that carry one (below).
    assert!(matches!(
        s.validate(&[der_of(&p.signer_pem)], Some(&region("370900")), at),
        ChainVerdict::Trusted { .. }
    ));
}

#[test]
fn a_seal_chain_to_another_regions_root_is_not_bound_to_the_region() {
    let p = pki("370900");
    let s = store(&p.root_pem, "370900", None);
    let chain = vec![der_of(&p.signer_pem)];
    let at = AT.unix_timestamp();
    match s.validate_for(&chain, Some(&region("370115")), at, ChainUsage::SealSigner) {
        ChainVerdict::NotBoundToRegion {
            anchor,
            anchor_regions,
        } => {
            assert!(anchor.contains("测试SM2根CA"));
            assert_eq!(anchor_regions, vec!["370900".to_owned()]);
        }
        other => panic!("{other:?}"),
    }
    // No valid region at all: at best NotBoundToRegion.
    assert!(matches!(
        s.validate_for(&chain, None, at, ChainUsage::SealMaker),
        ChainVerdict::NotBoundToRegion { .. }
    ));
}

#[test]
fn a_seal_certificate_is_refused_outside_its_validity_at_the_signing_time() {
    let p = pki("370115");
    let s = store(&p.root_pem, "370115", None);
    let chain = vec![der_of(&p.signer_pem)];
    let r = Some(region("370115"));
    let after = datetime!(2036-06-01 00:00 UTC).unix_timestamp();
    let why = untrusted(s.validate_for(&chain, r.as_ref(), after, ChainUsage::SealSigner));
    assert!(why.contains("expired at the signing time"), "{why}");
    let before = datetime!(2025-06-01 00:00 UTC).unix_timestamp();
    let why = untrusted(s.validate_for(&chain, r.as_ref(), before, ChainUsage::SealSigner));
    assert!(why.contains("not yet valid at the signing time"), "{why}");
    let why = untrusted(s.validate_for(&chain, r.as_ref(), -1, ChainUsage::SealSigner));
    assert!(why.contains("before 1970"), "{why}");
    let why = untrusted(s.validate_for(&[], r.as_ref(), 0, ChainUsage::SealSigner));
    assert!(why.contains("no certificate"), "{why}");
}

#[test]
fn a_seal_certificate_revoked_by_an_sm2_crl_is_refused() {
    let p = pki("140802");
    let serial = sm2_serial_from_pem(&p.signer_pem).unwrap();
    let crl = sm2_crl(
        &p.root,
        &[(serial, datetime!(2029-01-01 00:00 UTC))],
        DEMO_CRL_VALIDITY.0,
        DEMO_CRL_VALIDITY.1,
        2,
    )
    .unwrap();
    let s = store(&p.root_pem, "140802", Some(&crl));
    let r = Some(region("140802"));
    let at = AT.unix_timestamp();
    let why = untrusted(s.validate_for(
        &[der_of(&p.signer_pem)],
        r.as_ref(),
        at,
        ChainUsage::SealSigner,
    ));
    assert!(why.contains("revoked"), "{why}");
    // The maker, not on the list, stays trusted under the same CRL.
    assert!(matches!(
        s.validate_for(
            &[der_of(&p.maker_pem)],
            r.as_ref(),
            at,
            ChainUsage::SealMaker
        ),
        ChainVerdict::Trusted { .. }
    ));
}

#[test]
fn a_crl_with_a_tampered_signature_fails_the_chain() {
    let p = pki("140802");
    let crl = sm2_crl(&p.root, &[], DEMO_CRL_VALIDITY.0, DEMO_CRL_VALIDITY.1, 3).unwrap();
    // Re-sign the CRL's TBS with another key: same issuer name, wrong signature.
    let other = Sm2PrivateKey::generate().unwrap();
    let forged = resign(&der_of(&crl), &other, None, None);
    let pem = der::pem::encode_string("X509 CRL", der::pem::LineEnding::LF, &forged).unwrap();
    let s = store(&p.root_pem, "140802", Some(&pem));
    let why = untrusted(s.validate_for(
        &[der_of(&p.signer_pem)],
        Some(&region("140802")),
        AT.unix_timestamp(),
        ChainUsage::SealSigner,
    ));
    assert!(why.contains("a CRL's signature does not verify"), "{why}");
}

#[test]
fn a_seal_chain_to_an_unknown_root_is_refused() {
    let ours = pki("370306");
    let theirs = pki_named("370306", "别处的SM2根CA");
    let s = store(&ours.root_pem, "370306", None);
    let why = untrusted(s.validate_for(
        &[der_of(&theirs.signer_pem)],
        Some(&region("370306")),
        AT.unix_timestamp(),
        ChainUsage::SealSigner,
    ));
    assert!(why.contains("no path to a trust anchor"), "{why}");
    // An impostor root with our root's very name but its own key: the name matches an
    // anchor, the signature does not.
    let impostor = pki("370306");
    let why = untrusted(s.validate_for(
        &[der_of(&impostor.signer_pem)],
        Some(&region("370306")),
        AT.unix_timestamp(),
        ChainUsage::SealSigner,
    ));
    assert!(
        why.contains("does not verify under its issuer's key"),
        "{why}"
    );
}

#[test]
fn a_tampered_certificate_signature_is_refused() {
    let p = pki("370306");
    let s = store(&p.root_pem, "370306", None);
    let good = der_of(&p.signer_pem);
    // Flip a bit of the signature value (the last byte of the certificate is s's last byte).
    let mut bad_sig = good.clone();
    *bad_sig.last_mut().unwrap() ^= 0x01;
    // Flip a bit inside the TBS (a byte of the subject's CN, well inside the TBS).
    let mut bad_tbs = good.clone();
    let cn = "电子签章".as_bytes();
    let at = bad_tbs.windows(cn.len()).position(|w| w == cn).unwrap();
    bad_tbs[at + cn.len() - 1] ^= 0x01;
    for chain in [bad_sig, bad_tbs] {
        let why = untrusted(s.validate_for(
            &[chain],
            Some(&region("370306")),
            AT.unix_timestamp(),
            ChainUsage::SealSigner,
        ));
        assert!(
            why.contains("does not verify under its issuer's key"),
            "{why}"
        );
    }
}

#[test]
fn seal_usages_require_no_eku_but_a_key_usage_that_signs() {
    let r = &DEMO_REGIONS[0];
    let (root, pair) = sm2_root_ca("测试SM2根CA", r.authority, DEMO_CA_VALIDITY).unwrap();
    let s = store(&pair.cert_pem, r.code, None);
    let reg = Some(region(r.code));
    let at = AT.unix_timestamp();
    // clientAuth only, as ofdrw's seal signer has: good for seals, not for licences.
    let client_auth = Sm2LeafSpec {
        extended_key_usage: vec![Oid::new_unwrap("1.3.6.1.5.5.7.3.2")],
        ..Sm2LeafSpec::seal_signer(r)
    };
    let leaf = issue_sm2_leaf(&root, &client_auth).unwrap();
    let chain = vec![der_of(&leaf.cert_pem)];
    for usage in [ChainUsage::SealSigner, ChainUsage::SealMaker] {
        assert!(
            matches!(
                s.validate_for(&chain, reg.as_ref(), at, usage),
                ChainVerdict::Trusted { .. }
            ),
            "{usage:?}"
        );
    }
    let why = untrusted(s.validate_for(&chain, reg.as_ref(), at, ChainUsage::Licence));
    assert!(why.contains("without licence signing"), "{why}");

    // An EKU list whose entry is not an OID (an OCTET STRING of the same bytes), re-signed
    // by the root: "any purpose" still means a well-formed list, so it is refused.
    let eku_value = [
        0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02,
    ];
    let good = der_of(&leaf.cert_pem);
    let at_eku = good
        .windows(eku_value.len())
        .position(|w| w == eku_value)
        .unwrap();
    let mut bad = good.clone();
    bad[at_eku + 2] = 0x04;
    let bad = resign(&bad, root.key(), None, None);
    for usage in [ChainUsage::SealSigner, ChainUsage::SealMaker] {
        let why = untrusted(s.validate_for(std::slice::from_ref(&bad), reg.as_ref(), at, usage));
        assert!(why.contains("BadDer"), "{why}");
    }

    // keyUsage keyCertSign only: no signature allowed, refused for both seal usages.
    let no_sign = Sm2LeafSpec {
        key_usage: vec![KeyUsages::KeyEncipherment],
        ..Sm2LeafSpec::seal_maker(r)
    };
    let leaf = issue_sm2_leaf(&root, &no_sign).unwrap();
    let chain = vec![der_of(&leaf.cert_pem)];
    for usage in [ChainUsage::SealSigner, ChainUsage::SealMaker] {
        let why = untrusted(s.validate_for(&chain, reg.as_ref(), at, usage));
        assert!(
            why.contains("allows neither digitalSignature nor nonRepudiation"),
            "{why}"
        );
    }
    // nonRepudiation alone is enough.
    let non_rep = Sm2LeafSpec {
        key_usage: vec![KeyUsages::NonRepudiation],
        ..Sm2LeafSpec::seal_signer(r)
    };
    let leaf = issue_sm2_leaf(&root, &non_rep).unwrap();
    assert!(matches!(
        s.validate_for(
            &[der_of(&leaf.cert_pem)],
            reg.as_ref(),
            at,
            ChainUsage::SealSigner
        ),
        ChainVerdict::Trusted { .. }
    ));
    // A CA certificate cannot be the seal signer.
    let ca_leaf = Sm2LeafSpec {
        is_ca: true,
        ..Sm2LeafSpec::seal_signer(r)
    };
    let leaf = issue_sm2_leaf(&root, &ca_leaf).unwrap();
    let why = untrusted(s.validate_for(
        &[der_of(&leaf.cert_pem)],
        reg.as_ref(),
        at,
        ChainUsage::SealSigner,
    ));
    assert!(why.contains("CA certificate"), "{why}");
}

/// The elements (full TLVs) of a DER SEQUENCE.
fn elements(seq: &[u8]) -> Vec<Vec<u8>> {
    let any = AnyRef::from_der(seq).unwrap();
    assert_eq!(any.tag(), Tag::Sequence);
    let mut r = SliceReader::new(any.value()).unwrap();
    let mut out = Vec::new();
    while !r.is_finished() {
        out.push(AnyRef::decode(&mut r).unwrap().to_der().unwrap());
    }
    out
}

fn sequence(parts: &[Vec<u8>]) -> Vec<u8> {
    AnyRef::new(Tag::Sequence, &parts.concat())
        .unwrap()
        .to_der()
        .unwrap()
}

/// Re-signs a certificate or CRL with `key`, optionally replacing its signature algorithm
/// (both places) and, for a certificate, its subjectPublicKeyInfo.
fn resign(der: &[u8], key: &Sm2PrivateKey, alg: Option<&[u8]>, spki: Option<&[u8]>) -> Vec<u8> {
    let outer = elements(der);
    let mut tbs = elements(&outer[0]);
    let mut alg_der = outer[1].clone();
    if let Some(alg) = alg {
        alg_der = alg.to_vec();
        // TBSCertificate: [0] version, serial, signature; TBSCertList: version, signature.
        let i = tbs.iter().position(|e| e == &outer[1]).unwrap();
        tbs[i] = alg_der.clone();
    }
    if let Some(spki) = spki {
        tbs[6] = spki.to_vec();
    }
    let tbs = sequence(&tbs);
    let sig = key.sign(&tbs).unwrap().to_der();
    let bits = der::asn1::BitStringRef::new(0, &sig)
        .unwrap()
        .to_der()
        .unwrap();
    sequence(&[tbs, alg_der, bits])
}

fn pem_cert(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap()
}

/// The other spellings rustls-webpki can meet: SM2-with-SM3 with a NULL parameter, and an
/// issuer key in the GM/T 0015 form (the SM2 OID as key algorithm, with or without NULL).
#[test]
fn null_parameters_and_the_gmt0015_key_form_validate() {
    let r = &DEMO_REGIONS[0];
    let p = pki(r.code);
    let key = p.root.key();
    let at = AT.unix_timestamp();
    let reg = Some(region(r.code));
    let sig_null: &[u8] = &[
        0x30, 0x0c, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75, 0x05, 0x00,
    ];
    let point = key.public_key().to_sec1();
    let gmt_spki = |null: bool| {
        let mut alg = vec![0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d];
        if null {
            alg.extend([0x05, 0x00]);
        }
        let alg = AnyRef::new(Tag::Sequence, &alg).unwrap().to_der().unwrap();
        let bits = der::asn1::BitStringRef::new(0, &point)
            .unwrap()
            .to_der()
            .unwrap();
        sequence(&[alg, bits])
    };
    // gm reads both GM/T 0015 forms as the same key.
    for null in [false, true] {
        let k = Sm2PublicKey::from_spki_der(&gmt_spki(null)).unwrap();
        assert_eq!(k.to_sec1(), point);
    }

    let root_der = der_of(&p.root_pem);
    let leaf_der = der_of(&p.signer_pem);
    let leaf_null = resign(&leaf_der, key, Some(sig_null), None);
    assert_ne!(leaf_null, leaf_der);
    for (root_spki, leaf) in [
        (None, &leaf_null),
        (Some(gmt_spki(false)), &leaf_der),
        (Some(gmt_spki(false)), &leaf_null),
        (Some(gmt_spki(true)), &leaf_der),
        (Some(gmt_spki(true)), &leaf_null),
    ] {
        let root = match &root_spki {
            None => root_der.clone(),
            Some(spki) => resign(&root_der, key, None, Some(spki)),
        };
        let s = store(&pem_cert(&root), r.code, None);
        let v = s.validate_for(
            std::slice::from_ref(leaf),
            reg.as_ref(),
            at,
            ChainUsage::SealSigner,
        );
        assert!(
            matches!(v, ChainVerdict::Trusted { .. }),
            "root key form {:?}: {v:?}",
            root_spki.as_ref().map(hex::encode)
        );
    }

    // Any other parameter is no spelling of SM2-with-SM3: refused as unsupported.
    let sig_other: &[u8] = &[
        0x30, 0x0d, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75, 0x02, 0x01, 0x01,
    ];
    let leaf_other = resign(&leaf_der, key, Some(sig_other), None);
    let s = store(&p.root_pem, r.code, None);
    let why = untrusted(s.validate_for(&[leaf_other], reg.as_ref(), at, ChainUsage::SealSigner));
    assert!(why.contains("an algorithm not accepted"), "{why}");
}

#[test]
fn ca_from_pem_reloads_a_root_and_refuses_someone_elses_key() {
    let r = &DEMO_REGIONS[2];
    let (_, a) = sm2_root_ca("A", r.authority, DEMO_CA_VALIDITY).unwrap();
    let (_, b) = sm2_root_ca("B", r.authority, DEMO_CA_VALIDITY).unwrap();
    let ca = Sm2Ca::from_pem(&a.cert_pem, &a.key_pem).unwrap();
    assert_eq!(ca.cert_pem(), a.cert_pem);
    assert_eq!(ca.cert_der().unwrap(), der_of(&a.cert_pem));
    // A leaf issued under the reloaded CA chains to the original certificate.
    let leaf = issue_sm2_leaf(&ca, &Sm2LeafSpec::seal_signer(r)).unwrap();
    let s = store(&a.cert_pem, r.code, None);
    assert!(matches!(
        s.validate_for(
            &[der_of(&leaf.cert_pem)],
            Some(&region(r.code)),
            AT.unix_timestamp(),
            ChainUsage::SealSigner
        ),
        ChainVerdict::Trusted { .. }
    ));
    let e = Sm2Ca::from_pem(&a.cert_pem, &b.key_pem).unwrap_err();
    assert!(e.to_string().contains("does not belong"), "{e}");
    let e = Sm2Ca::from_pem(&a.key_pem, &a.key_pem).unwrap_err();
    assert!(e.to_string().contains("not a PEM certificate"), "{e}");
}

#[test]
fn crls_refuse_next_update_before_this_update() {
    let p = pki("370900");
    let e = sm2_crl(&p.root, &[], DEMO_CRL_VALIDITY.1, DEMO_CRL_VALIDITY.0, 1).unwrap_err();
    assert!(
        e.to_string()
            .contains("nextUpdate must be after thisUpdate"),
        "{e}"
    );
}

/// The committed demo material: each region's seal signer and maker chain to its SM2 root,
/// with its CRL, bound to that region only.
#[test]
fn the_committed_demo_seal_certificates_validate() {
    let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("certs");
    let read = |code: &str, f: &str| std::fs::read_to_string(certs.join(code).join(f)).unwrap();
    let at = AT.unix_timestamp();
    for r in &DEMO_REGIONS {
        let s = store(
            &read(r.code, "sm2-root.pem"),
            r.code,
            Some(&read(r.code, "sm2-root.crl.pem")),
        );
        for (file, usage) in [
            ("seal-signer.pem", ChainUsage::SealSigner),
            ("seal-maker.pem", ChainUsage::SealMaker),
        ] {
            let chain = vec![der_of(&read(r.code, file))];
            let v = s.validate_for(&chain, Some(&region(r.code)), at, usage);
            assert!(
                matches!(v, ChainVerdict::Trusted { .. }),
                "{}/{file}: {v:?}",
                r.code
            );
            let other = DEMO_REGIONS.iter().find(|o| o.code != r.code).unwrap();
            let v = s.validate_for(&chain, Some(&region(other.code)), at, usage);
            assert!(matches!(v, ChainVerdict::NotBoundToRegion { .. }), "{v:?}");
        }
        // The keys are the certificates' keys.
        for stem in ["sm2-root", "seal-signer", "seal-maker"] {
            let der = der_of(&read(r.code, &format!("{stem}.pem")));
            let key = Sm2PrivateKey::from_pem(&read(r.code, &format!("{stem}.key"))).unwrap();
            let from_cert = Sm2PublicKey::from_spki_der(parse(&der).public_key().raw).unwrap();
            assert_eq!(from_cert.to_sec1(), key.public_key().to_sec1(), "{stem}");
        }
        // The signer names the region's authority and its USCC.
        let der = der_of(&read(r.code, "seal-signer.pem"));
        let facts = zhengzhao::pki::cert::signer_facts(&der).unwrap();
        assert_eq!(facts.organisation.as_deref(), Some(r.authority));
        assert_eq!(facts.usccs, vec![r.issuer_uscc.to_owned()]);
    }
}
