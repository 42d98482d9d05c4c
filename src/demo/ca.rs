//! X.509 material of the demo PKI, made with rcgen: CAs ([`Ca`], [`root_ca`]), licence signers
//! ([`issue_signer`], [`SignerSpec`]), TLS certificates ([`issue_tls`], [`TlsSpec`]) and CRLs
//! ([`crl`]).
//!
//! The builders check nothing about what they are asked for, so fixture generators use them for
//! deliberately unusual certificates too. Public test material: see [`crate::demo`].

use std::net::IpAddr;

use rcgen::string::{Ia5String, PrintableString};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension,
    DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod,
    KeyPair, KeyUsagePurpose, PublicKeyData, RevokedCertParams, SanType, SerialNumber,
    SignatureAlgorithm,
};
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::pem::Pem;

use super::{DEMO_EE_VALIDITY, DemoError, DemoRegion};
use crate::pki::LICENCE_SIGNING_EKU_DER;

/// DER value bytes of id-kp-serverAuth, 1.3.6.1.5.5.7.3.1.
pub const SERVER_AUTH_EKU_DER: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];

/// DER value bytes of id-kp-clientAuth, 1.3.6.1.5.5.7.3.2.
pub const CLIENT_AUTH_EKU_DER: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

/// id-ce-extKeyUsage, 2.5.29.37.
const EXT_KEY_USAGE_OID: &[u64] = &[2, 5, 29, 37];

/// Key algorithm of a generated end-entity key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlg {
    /// ECDSA on P-256 with SHA-256.
    EcdsaP256,
    /// Ed25519.
    Ed25519,
}

impl KeyAlg {
    fn rcgen(self) -> &'static SignatureAlgorithm {
        match self {
            KeyAlg::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlg::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }
}

/// A certificate and its private key, both PEM.
#[derive(Clone)]
pub struct CertAndKey {
    /// The certificate, PEM (`CERTIFICATE`).
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM (`PRIVATE KEY`).
    pub key_pem: String,
}

impl std::fmt::Debug for CertAndKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertAndKey")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"[elided]")
            .finish()
    }
}

/// An issuing CA: its certificate and signing key, ready to sign certificates and CRLs.
///
/// Built from the CA's real certificate ([`Ca::from_pem`]), so issued certificates carry the
/// CA's exact subject name as their issuer and its subject key identifier as their authority key
/// identifier.
#[derive(Debug)]
pub struct Ca {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
    /// Key identifier for the CRL's authorityKeyIdentifier; the same one rcgen puts in issued
    /// certificates (the CA's subjectKeyIdentifier, or SHA-256 of its key if it has none).
    key_id_method: KeyIdMethod,
}

impl Ca {
    /// Loads a CA from its certificate PEM and PKCS#8 private key PEM.
    ///
    /// Refuses a key that is not the certificate's key ([`DemoError::KeyMismatch`]) and a subject
    /// name that rcgen would not re-encode byte for byte as an issuer name
    /// ([`DemoError::UnsupportedName`]: multi-valued RDNs, repeated attribute types, non-DER
    /// input; string types rcgen does not know come back as [`DemoError::Rcgen`]), since
    /// certificates issued under it would silently fail to chain.
    /// It does not check that the certificate is a CA or may sign certificates: fixture
    /// generators issue under unsuitable "CAs" on purpose.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca, DemoError> {
        let pem = parse_pem(cert_pem)?;
        let cert = parse_cert(&pem)?;
        check_name_shape(&cert)?;

        let key = KeyPair::from_pem(key_pem)?;
        if key.subject_public_key_info() != cert.tbs_certificate.subject_pki.raw {
            return Err(DemoError::KeyMismatch);
        }
        let ski = cert
            .tbs_certificate
            .get_extension_unique(&x509_parser::oid_registry::OID_X509_EXT_SUBJECT_KEY_IDENTIFIER)
            .map_err(|e| DemoError::CertificateParse {
                reason: format!("subjectKeyIdentifier: {e}"),
            })?;
        let key_id_method = match ski.map(|ext| ext.parsed_extension()) {
            Some(ParsedExtension::SubjectKeyIdentifier(id)) => {
                KeyIdMethod::PreSpecified(id.0.to_vec())
            }
            Some(_) => {
                return Err(DemoError::CertificateParse {
                    reason: "malformed subjectKeyIdentifier".into(),
                });
            }
            None => KeyIdMethod::Sha256,
        };

        let issuer = Issuer::from_ca_cert_der(&pem.contents.clone().into(), key)?;
        let ca = Ca {
            cert_pem: cert_pem.to_owned(),
            issuer,
            key_id_method,
        };
        ca.check_issuer_name_round_trips(cert.subject().as_raw())?;
        Ok(ca)
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Signs a throwaway certificate and checks its issuer name is the CA's subject, byte for
    /// byte. Path validators (rustls-webpki among them) compare names as bytes.
    fn check_issuer_name_round_trips(&self, subject_der: &[u8]) -> Result<(), DemoError> {
        let probe = CertificateParams::default().signed_by(self.issuer.key(), &self.issuer)?;
        let (_, probe) = x509_parser::parse_x509_certificate(probe.der()).map_err(|e| {
            DemoError::CertificateParse {
                reason: format!("probe certificate: {e}"),
            }
        })?;
        if probe.issuer().as_raw() != subject_der {
            return Err(DemoError::UnsupportedName {
                reason: "re-encoded name differs from the certificate's (not DER?)",
            });
        }
        Ok(())
    }
}

/// Builds a non-critical extendedKeyUsage extension (2.5.29.37) listing the given OIDs, each given
/// as DER value bytes (e.g. [`LICENCE_SIGNING_EKU_DER`], [`SERVER_AUTH_EKU_DER`]).
///
/// rcgen's `ExtendedKeyUsagePurpose::Other` holds arcs as `u64` and cannot express the licence
/// OID, hence this hand-built DER. Do not also set `CertificateParams::extended_key_usages`, or
/// the certificate gets two EKU extensions. Call `set_criticality(true)` on the result for a
/// critical one.
pub fn eku_extension(oid_values: &[&[u8]]) -> CustomExtension {
    let mut seq = Vec::new();
    for oid in oid_values {
        seq.extend(der_tlv(0x06, oid));
    }
    CustomExtension::from_oid_content(EXT_KEY_USAGE_OID, der_tlv(0x30, &seq))
}

/// DER tag-length-value with a definite length (short or long form).
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend(&bytes[skip..]);
    }
    out.extend(content);
    out
}

/// Creates a self-signed root CA: ECDSA P-256, subject `C=CN, O=<organisation>,
/// CN=<common_name>`, basicConstraints CA without a path length limit, keyUsage keyCertSign and
/// cRLSign, a subject key identifier, a random positive 16-byte serial, and no extendedKeyUsage.
///
/// Returns the CA ready to issue, and its PEM certificate and key for writing out.
pub fn root_ca(
    common_name: &str,
    organisation: &str,
    validity: (OffsetDateTime, OffsetDateTime),
) -> Result<(Ca, CertAndKey), DemoError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(common_name, organisation)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.serial_number = Some(random_serial()?);
    (params.not_before, params.not_after) = validity;
    let cert = params.self_signed(&key)?;
    let pair = CertAndKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    };
    let ca = Ca::from_pem(&pair.cert_pem, &pair.key_pem)?;
    Ok((ca, pair))
}

/// What to put in a licence-signer certificate. [`SignerSpec::standard`] gives the normal one;
/// fixture generators change fields to make unusual ones.
#[derive(Debug, Clone)]
pub struct SignerSpec {
    /// GB/T 2260 region code, used for the `urn:gbt2260:` SAN URI when `san_uris` is `None`.
    pub region: String,
    /// Issuing authority's USCC, used for the `urn:gb32100:` SAN URI when `san_uris` is `None`.
    pub issuer_uscc: String,
    /// Subject CN.
    pub common_name: String,
    /// Subject O.
    pub organisation: String,
    /// Algorithm of the signer's new key.
    pub key_alg: KeyAlg,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Put [`crate::pki::LICENCE_SIGNING_EKU_OID`] in the extendedKeyUsage extension.
    pub licence_eku: bool,
    /// Put serverAuth and clientAuth in the extendedKeyUsage extension.
    ///
    /// With neither this nor `licence_eku`, the certificate has no extendedKeyUsage at all.
    pub tls_ekus: bool,
    /// keyUsage bits; empty means no keyUsage extension.
    pub key_usage: Vec<KeyUsagePurpose>,
    /// SAN URIs; `None` means the standard two (`urn:gbt2260:<region>`,
    /// `urn:gb32100:<issuer_uscc>`), `Some(vec![])` means no SAN extension.
    pub san_uris: Option<Vec<String>>,
    /// basicConstraints cA=TRUE (no path length limit) instead of cA=FALSE.
    pub is_ca: bool,
}

impl SignerSpec {
    /// The standard licence signer of `region`: CN `<name>电子证照签发 (demo)`, O the authority,
    /// keyUsage digitalSignature only, the licence EKU only, the two standard SAN URIs,
    /// [`DEMO_EE_VALIDITY`], not a CA.
    pub fn standard(region: &DemoRegion, key_alg: KeyAlg) -> SignerSpec {
        SignerSpec {
            region: region.code.to_owned(),
            issuer_uscc: region.issuer_uscc.to_owned(),
            common_name: format!("{}电子证照签发 (demo)", region.name),
            organisation: region.authority.to_owned(),
            key_alg,
            not_before: DEMO_EE_VALIDITY.0,
            not_after: DEMO_EE_VALIDITY.1,
            licence_eku: true,
            tls_ekus: false,
            key_usage: vec![KeyUsagePurpose::DigitalSignature],
            san_uris: None,
            is_ca: false,
        }
    }

    fn san_uris(&self) -> Vec<String> {
        match &self.san_uris {
            Some(uris) => uris.clone(),
            None => vec![
                format!("urn:gbt2260:{}", self.region),
                format!("urn:gb32100:{}", self.issuer_uscc),
            ],
        }
    }
}

/// Issues a licence-signer certificate under `ca` with a new key, exactly as `spec` says.
///
/// Always sets an authority key identifier, a subject key identifier, an explicit
/// basicConstraints and a random positive 16-byte serial. Checks nothing about `spec`: strange
/// specs make strange certificates, which is the point for fixtures. Fails only if rcgen refuses
/// a value (e.g. a SAN URI that is not ASCII).
pub fn issue_signer(ca: &Ca, spec: &SignerSpec) -> Result<CertAndKey, DemoError> {
    let key = KeyPair::generate_for(spec.key_alg.rcgen())?;
    let mut params = leaf_params(&spec.common_name, &spec.organisation)?;
    (params.not_before, params.not_after) = (spec.not_before, spec.not_after);
    params.key_usages = spec.key_usage.clone();
    if spec.is_ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    params.subject_alt_names = spec
        .san_uris()
        .into_iter()
        .map(|uri| Ok(SanType::URI(Ia5String::try_from(uri)?)))
        .collect::<Result<_, rcgen::Error>>()?;

    let mut ekus: Vec<&[u8]> = Vec::new();
    if spec.licence_eku {
        ekus.push(LICENCE_SIGNING_EKU_DER);
    }
    if spec.tls_ekus {
        ekus.extend([SERVER_AUTH_EKU_DER, CLIENT_AUTH_EKU_DER]);
    }
    if !ekus.is_empty() {
        params.custom_extensions.push(eku_extension(&ekus));
    }

    let cert = params.signed_by(&key, &ca.issuer)?;
    Ok(CertAndKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// What to put in a TLS certificate (node or client).
#[derive(Debug, Clone)]
pub struct TlsSpec {
    /// Subject CN.
    pub common_name: String,
    /// Subject O.
    pub organisation: String,
    /// SAN DNS names.
    pub dns_names: Vec<String>,
    /// SAN IP addresses.
    pub ip_addresses: Vec<IpAddr>,
    /// Include id-kp-serverAuth.
    pub server_auth: bool,
    /// Include id-kp-clientAuth.
    pub client_auth: bool,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

/// Issues a TLS certificate under `ca` with a new ECDSA P-256 key: keyUsage digitalSignature,
/// the EKUs `spec` asks for (none asked: no EKU extension), the SANs it lists, an authority key
/// identifier and a random serial. Fails only if rcgen refuses a value (e.g. a non-ASCII DNS
/// name).
pub fn issue_tls(ca: &Ca, spec: &TlsSpec) -> Result<CertAndKey, DemoError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = leaf_params(&spec.common_name, &spec.organisation)?;
    (params.not_before, params.not_after) = (spec.not_before, spec.not_after);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if spec.server_auth {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    if spec.client_auth {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    for name in &spec.dns_names {
        params
            .subject_alt_names
            .push(SanType::DnsName(Ia5String::try_from(name.as_str())?));
    }
    params
        .subject_alt_names
        .extend(spec.ip_addresses.iter().copied().map(SanType::IpAddress));

    let cert = params.signed_by(&key, &ca.issuer)?;
    Ok(CertAndKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Signs a CRL for `ca` listing `revoked` (serial, revocation time) entries, with the given
/// `thisUpdate`, `nextUpdate` and CRL number, and returns it as PEM (`X509 CRL`).
///
/// The CRL's authority key identifier is the CA's subject key identifier. Refuses
/// `next_update <= this_update` and a CA whose keyUsage lacks cRLSign (both via rcgen).
pub fn crl(
    ca: &Ca,
    revoked: &[(SerialNumber, OffsetDateTime)],
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    crl_number: u64,
) -> Result<String, DemoError> {
    let params = CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: SerialNumber::from(crl_number),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|(serial, at)| RevokedCertParams {
                serial_number: serial.clone(),
                revocation_time: *at,
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: ca.key_id_method.clone(),
    };
    Ok(params.signed_by(&ca.issuer)?.pem()?)
}

/// Reads the serial number of a certificate given as PEM, e.g. to revoke it with [`crl`].
pub fn serial_from_pem(cert_pem: &str) -> Result<SerialNumber, DemoError> {
    let pem = parse_pem(cert_pem)?;
    let cert = parse_cert(&pem)?;
    Ok(SerialNumber::from_slice(cert.raw_serial()))
}

/// Subject `C=CN, O=<organisation>, CN=<common_name>`; C as PrintableString per RFC 5280.
fn subject(common_name: &str, organisation: &str) -> Result<DistinguishedName, DemoError> {
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CountryName,
        DnValue::PrintableString(PrintableString::try_from("CN")?),
    );
    dn.push(DnType::OrganizationName, organisation);
    dn.push(DnType::CommonName, common_name);
    Ok(dn)
}

/// Parameters shared by every end-entity certificate: subject, random serial, AKI, and an explicit
/// cA=FALSE (which is also what makes rcgen write a subject key identifier).
fn leaf_params(common_name: &str, organisation: &str) -> Result<CertificateParams, DemoError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(common_name, organisation)?;
    params.serial_number = Some(random_serial()?);
    params.use_authority_key_identifier_extension = true;
    params.is_ca = IsCa::ExplicitNoCa;
    Ok(params)
}

/// A random serial of exactly 16 bytes in DER: top bit clear (positive), next bit set (no
/// leading zero byte to strip).
fn random_serial() -> Result<SerialNumber, DemoError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| DemoError::Random)?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

fn parse_pem(cert_pem: &str) -> Result<Pem, DemoError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).map_err(|e| {
        DemoError::CertificateParse {
            reason: format!("PEM: {e}"),
        }
    })?;
    if pem.label != "CERTIFICATE" {
        return Err(DemoError::CertificateParse {
            reason: format!("PEM label is {:?}, not CERTIFICATE", pem.label),
        });
    }
    Ok(pem)
}

fn parse_cert(pem: &Pem) -> Result<X509Certificate<'_>, DemoError> {
    pem.parse_x509().map_err(|e| DemoError::CertificateParse {
        reason: format!("X.509: {e}"),
    })
}

/// Rejects names rcgen's `Issuer::from_ca_cert_der` would mangle or panic on: it keeps one
/// attribute per type (a second OU would replace the first), supports one attribute per RDN, and
/// panics on an empty RDN.
fn check_name_shape(cert: &X509Certificate<'_>) -> Result<(), DemoError> {
    let mut seen = Vec::new();
    for rdn in cert.subject().iter() {
        let mut attrs = rdn.iter();
        let (Some(attr), None) = (attrs.next(), attrs.next()) else {
            return Err(DemoError::UnsupportedName {
                reason: "an RDN without exactly one attribute",
            });
        };
        let ty = attr.attr_type().as_bytes();
        if seen.contains(&ty) {
            return Err(DemoError::UnsupportedName {
                reason: "an attribute type repeated",
            });
        }
        seen.push(ty);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design

    use super::*;
    use crate::demo::{DEMO_CA_VALIDITY, DEMO_CRL_VALIDITY, DEMO_REGIONS};
    use crate::pki::LICENCE_SIGNING_EKU_OID;

    /// Encodes a dotted OID into DER value bytes (arcs up to u128), independently of the
    /// hand-written constant.
    fn encode_oid(dotted: &str) -> Vec<u8> {
        let arcs: Vec<u128> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
        let mut out = Vec::new();
        let mut push_arc = |mut v: u128| {
            let mut tmp = vec![(v & 0x7f) as u8];
            v >>= 7;
            while v > 0 {
                tmp.push(0x80 | (v & 0x7f) as u8);
                v >>= 7;
            }
            out.extend(tmp.iter().rev());
        };
        push_arc(arcs[0] * 40 + arcs[1]);
        for &arc in &arcs[2..] {
            push_arc(arc);
        }
        out
    }

    #[test]
    fn licence_eku_der_matches_dotted_oid() {
        assert_eq!(encode_oid(LICENCE_SIGNING_EKU_OID), LICENCE_SIGNING_EKU_DER);
        assert_eq!(encode_oid("1.3.6.1.5.5.7.3.1"), SERVER_AUTH_EKU_DER);
        assert_eq!(encode_oid("1.3.6.1.5.5.7.3.2"), CLIENT_AUTH_EKU_DER);
    }

    #[test]
    fn der_tlv_uses_long_form_lengths() {
        assert_eq!(der_tlv(0x04, &[1, 2]), vec![0x04, 0x02, 1, 2]);
        let long = der_tlv(0x04, &[0; 200]);
        assert_eq!(&long[..3], &[0x04, 0x81, 200]);
        let longer = der_tlv(0x04, &[0; 300]);
        assert_eq!(&longer[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn eku_extension_is_non_critical_sequence_of_oids() {
        let ext = eku_extension(&[LICENCE_SIGNING_EKU_DER, SERVER_AUTH_EKU_DER]);
        assert!(!ext.criticality());
        assert_eq!(ext.oid_components().collect::<Vec<_>>(), vec![2, 5, 29, 37]);
        let mut expected = vec![0x30, 2 + 20 + 2 + 8, 0x06, 20];
        expected.extend(LICENCE_SIGNING_EKU_DER);
        expected.extend([0x06, 8]);
        expected.extend(SERVER_AUTH_EKU_DER);
        assert_eq!(ext.content(), expected);
    }

    #[test]
    fn serials_are_positive_sixteen_bytes() {
        for _ in 0..64 {
            let s = random_serial().unwrap().to_bytes();
            assert_eq!(s.len(), 16);
            assert_eq!(s[0] & 0xc0, 0x40);
        }
    }

    #[test]
    fn ca_from_pem_refuses_someone_elses_key() {
        let (_, a) = root_ca("A", "Org", DEMO_CA_VALIDITY).unwrap();
        let (_, b) = root_ca("B", "Org", DEMO_CA_VALIDITY).unwrap();
        assert!(matches!(
            Ca::from_pem(&a.cert_pem, &b.key_pem),
            Err(DemoError::KeyMismatch)
        ));
    }

    #[test]
    fn ca_from_pem_refuses_a_key_pem_as_certificate() {
        let (_, a) = root_ca("A", "Org", DEMO_CA_VALIDITY).unwrap();
        assert!(matches!(
            Ca::from_pem(&a.key_pem, &a.key_pem),
            Err(DemoError::CertificateParse { .. })
        ));
    }

    #[test]
    fn ca_from_pem_refuses_repeated_attribute_types() {
        // Two OUs: rcgen's DistinguishedName keeps one value per type, so certificates issued
        // under this CA would name a different issuer. rcgen treats the custom OID and the
        // named OU type as distinct, which is how we get it to write two.
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CustomDnType(vec![2, 5, 4, 11]), "a");
        dn.push(DnType::OrganizationalUnitName, "b");
        params.distinguished_name = dn;
        let cert = params.self_signed(&key).unwrap();
        assert!(matches!(
            Ca::from_pem(&cert.pem(), &key.serialize_pem()),
            Err(DemoError::UnsupportedName { .. })
        ));
    }

    #[test]
    fn ed25519_ca_issues_and_signs_crls() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = subject("Ed CA", "Org").unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        let ca = Ca::from_pem(&cert.pem(), &key.serialize_pem()).unwrap();
        let region = &DEMO_REGIONS[0];
        issue_signer(&ca, &SignerSpec::standard(region, KeyAlg::EcdsaP256)).unwrap();
        let (this_update, next_update) = DEMO_CRL_VALIDITY;
        crl(&ca, &[], this_update, next_update, 1).unwrap();
    }

    /// The AKI of a CRL and of the certificates a CA issues must be the same value. A CA
    /// certificate without a subjectKeyIdentifier exercises the fallback (SHA-256 of its key).
    #[test]
    fn crl_and_issued_certificates_share_the_authority_key_id() {
        fn aki(ext: &[x509_parser::extensions::X509Extension<'_>]) -> Vec<u8> {
            ext.iter()
                .find_map(|e| match e.parsed_extension() {
                    ParsedExtension::AuthorityKeyIdentifier(a) => {
                        a.key_identifier.as_ref().map(|k| k.0.to_vec())
                    }
                    _ => None,
                })
                .unwrap()
        }
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = subject("No SKI", "Org").unwrap();
        // IsCa::NoCa: rcgen writes neither basicConstraints nor a subjectKeyIdentifier.
        let cert = params.self_signed(&key).unwrap();
        let ca_pem = cert.pem();
        let ca = Ca::from_pem(&ca_pem, &key.serialize_pem()).unwrap();
        assert!(
            parse_cert(&parse_pem(&ca_pem).unwrap())
                .unwrap()
                .iter_extensions()
                .next()
                .is_none()
        );

        let signer = issue_signer(
            &ca,
            &SignerSpec::standard(&DEMO_REGIONS[0], KeyAlg::Ed25519),
        )
        .unwrap();
        let signer_pem = parse_pem(&signer.cert_pem).unwrap();
        let signer_aki = aki(parse_cert(&signer_pem).unwrap().extensions());

        let (this_update, next_update) = DEMO_CRL_VALIDITY;
        let crl_pem = crl(&ca, &[], this_update, next_update, 1).unwrap();
        let (_, crl_der) = x509_parser::pem::parse_x509_pem(crl_pem.as_bytes()).unwrap();
        let (_, parsed) = x509_parser::parse_x509_crl(&crl_der.contents).unwrap();
        assert_eq!(aki(parsed.extensions()), signer_aki);
        assert_eq!(signer_aki.len(), 20);
    }

    #[test]
    fn crl_refuses_next_update_before_this_update() {
        let (ca, _) = root_ca("A", "Org", DEMO_CA_VALIDITY).unwrap();
        let (this_update, next_update) = DEMO_CRL_VALIDITY;
        assert!(matches!(
            crl(&ca, &[], next_update, this_update, 1),
            Err(DemoError::Rcgen(rcgen::Error::InvalidCrlNextUpdate))
        ));
    }
}
