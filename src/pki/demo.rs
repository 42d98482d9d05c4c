//! The demo PKI: public test material for the four demo regions.
//!
//! Each demo region gets two independent hierarchies:
//!
//! - a **licence root** ([`root_ca`]) that issues the region's **licence signer**
//!   ([`issue_signer`]), the certificate whose key signs licences. The signer carries the
//!   licence-signing extended key usage [`LICENCE_SIGNING_EKU_OID`] and SAN URIs binding it to a
//!   region (`urn:gbt2260:<code>`) and an issuing authority (`urn:gb32100:<USCC>`);
//! - a **TLS CA** that issues the node's server/client certificate and the client certificates of
//!   the departments that call it ([`issue_tls`]).
//!
//! - an **SM2 root** (国密, [`crate::pki::sm2_cert`]) that issues the region's **seal maker**
//!   (制章者) and **seal signer** (签章者, the issuing authority, with its 统一社会信用代码), the
//!   certificates of the electronic seals (GB/T 38540) on OFD licences.
//!
//! The two hierarchies are separate so that a TLS certificate can never pass as a licence signer
//! and the reverse. CA certificates carry no extendedKeyUsage: rustls-webpki requires the
//! wanted EKU on *every* certificate of a path that has the extension, so an EKU on a CA would
//! break one of the two uses.
//!
//! [`generate_demo`] writes the whole set to disk. The building blocks ([`Ca`], [`SignerSpec`],
//! [`TlsSpec`], [`crl`], [`eku_extension`]) are general enough for fixture generators that need
//! deliberately unusual certificates (wrong EKU, CA flag on a signer, expired, other region).
//!
//! Everything here is **public test material**: the keys are written in the clear and must never
//! be used in production.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use rcgen::string::{Ia5String, PrintableString};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension,
    DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod,
    KeyPair, KeyUsagePurpose, PublicKeyData, RevokedCertParams, SanType, SerialNumber,
    SignatureAlgorithm,
};
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;
use time::macros::datetime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::pem::Pem;

pub use crate::pki::sm2_cert::{self, Sm2LeafSpec};
pub use crate::pki::{LICENCE_SIGNING_EKU_DER, LICENCE_SIGNING_EKU_OID};

/// DER value bytes of id-kp-serverAuth, 1.3.6.1.5.5.7.3.1.
pub const SERVER_AUTH_EKU_DER: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];

/// DER value bytes of id-kp-clientAuth, 1.3.6.1.5.5.7.3.2.
pub const CLIENT_AUTH_EKU_DER: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

/// id-ce-extKeyUsage, 2.5.29.37.
const EXT_KEY_USAGE_OID: &[u64] = &[2, 5, 29, 37];

/// Validity of every demo CA certificate: 2026-01-01 to 2046-01-01 (UTC).
///
/// The dates are fixed, not relative to "now", so that committed demo material stays valid for
/// years and its validity does not depend on when it was generated; tests pick a validation
/// time inside the window.
pub const DEMO_CA_VALIDITY: (OffsetDateTime, OffsetDateTime) = (
    datetime!(2026-01-01 00:00 UTC),
    datetime!(2046-01-01 00:00 UTC),
);

/// Validity of every demo end-entity certificate: 2026-01-01 to 2036-01-01 (UTC). Fixed for the
/// same reason as [`DEMO_CA_VALIDITY`].
pub const DEMO_EE_VALIDITY: (OffsetDateTime, OffsetDateTime) = (
    datetime!(2026-01-01 00:00 UTC),
    datetime!(2036-01-01 00:00 UTC),
);

/// `thisUpdate`/`nextUpdate` of the empty CRLs written by [`generate_demo`].
pub const DEMO_CRL_VALIDITY: (OffsetDateTime, OffsetDateTime) = (
    datetime!(2026-01-01 00:00 UTC),
    datetime!(2046-01-01 00:00 UTC),
);

/// Errors of the demo PKI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// rcgen refused to build or sign something (bad string for a name, bad key, bad CRL dates).
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A certificate PEM could not be read.
    #[error("could not parse certificate: {reason}")]
    CertificateParse {
        /// What was wrong with it.
        reason: String,
    },
    /// The private key given for a CA is not the key of its certificate.
    #[error("the private key does not belong to the CA certificate")]
    KeyMismatch,
    /// The CA's subject name cannot be reproduced byte for byte as the issuer name of the
    /// certificates it would sign, so they would not chain to it.
    #[error("CA subject name cannot be reproduced as an issuer name: {reason}")]
    UnsupportedName {
        /// Which part of the name is the problem.
        reason: &'static str,
    },
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// The output already exists and overwriting was not asked for.
    #[error("{} already exists and is not empty; pass overwrite to replace it", .0.display())]
    Exists(PathBuf),
    /// An SM2 certificate, key or CRL could not be made.
    #[error("SM2 material: {0}")]
    Sm2(#[from] crate::pki::sm2_cert::Sm2CertError),
    /// The demo seal (or its picture) could not be made.
    #[error("demo seal: {0}")]
    Seal(String),
    /// Reading or writing a file failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A demo region: a GB/T 2260 region code, its name, and the licence-issuing authority there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoRegion {
    /// GB/T 2260 six-digit administrative division code.
    pub code: &'static str,
    /// The region's name.
    pub name: &'static str,
    /// The authority that issues licences in the region (used as the certificates' O).
    pub authority: &'static str,
    /// The authority's 统一社会信用代码 (GB 32100).
    pub issuer_uscc: &'static str,
}

/// The four demo regions.
pub const DEMO_REGIONS: [DemoRegion; 4] = [
    DemoRegion {
        code: "370900",
        name: "泰安市",
        authority: "泰安市行政审批服务局",
        issuer_uscc: "11370900004090218Y",
    },
    DemoRegion {
        code: "370115",
        name: "济南市济阳区",
        authority: "济南市济阳区行政审批服务局",
        issuer_uscc: "113701150041153580",
    },
    DemoRegion {
        code: "140802",
        name: "运城市盐湖区",
        authority: "运城市盐湖区行政审批服务局",
        issuer_uscc: "11140802011408028G",
    },
    DemoRegion {
        code: "370306",
        name: "淄博市周村区",
        authority: "淄博市周村区行政审批服务局",
        issuer_uscc: "113703060043061546",
    },
];

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
    /// Put [`LICENCE_SIGNING_EKU_OID`] in the extendedKeyUsage extension.
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

/// What demo department `<region>-<who>` (`bureau`, `window`) connects to its region's node
/// with, in a directory [`generate_demo`] wrote: the region's TLS CA to trust, its client
/// certificate and its key, in that order.
pub fn department_tls(certs: &Path, region: &str, who: &str) -> [PathBuf; 3] {
    let dir = certs.join(region);
    [
        dir.join("tls-ca.pem"),
        dir.join(format!("{region}-{who}.pem")),
        dir.join(format!("{region}-{who}.key")),
    ]
}

/// Writes the demo PKI of all [`DEMO_REGIONS`] under `out`, and `out/README.md`.
///
/// For each region, `out/<code>/` gets:
/// `licence-root.pem`/`.key`/`.crl.pem` (licence root CA, its key, an empty CRL),
/// `signer.pem`/`.key` ([`SignerSpec::standard`], ECDSA P-256),
/// `sm2-root.pem`/`.key`/`.crl.pem` (the SM2 root, its key, an empty CRL),
/// `seal-maker.pem`/`.key` ([`Sm2LeafSpec::seal_maker`]), `seal-signer.pem`/`.key`
/// ([`Sm2LeafSpec::seal_signer`]), `seal.esl` (the region's electronic seal,
/// [`crate::pki::demo_seal::demo_seal`]),
/// `tls-ca.pem`/`.key`/`.crl.pem` (the TLS CA, its key, an empty CRL),
/// `node.pem`/`.key` (CN `zhengzhao-<code>`, serverAuth+clientAuth, SAN DNS `localhost`, IP
/// `127.0.0.1` and `::1`), and `<code>-bureau.pem`/`.key`, `<code>-window.pem`/`.key` (client
/// certificates whose CN is the department id, clientAuth only), `audit.key` (the node's
/// Ed25519 checkpoint key, C2SP form) and `holder.secret` (its holder-hash secret).
///
/// Dates are fixed ([`DEMO_CA_VALIDITY`], [`DEMO_EE_VALIDITY`], [`DEMO_CRL_VALIDITY`]) so
/// committed material does not expire soon. Private keys are PKCS#8 PEM, mode 0600 on unix.
///
/// Refuses, before writing anything, if a region directory exists and is not empty or
/// `README.md` exists, unless `overwrite` ([`DemoError::Exists`]). Returns every file written.
pub fn generate_demo(out: &Path, overwrite: bool) -> Result<Vec<PathBuf>, DemoError> {
    let readme = out.join("README.md");
    if !overwrite {
        if readme.exists() {
            return Err(DemoError::Exists(readme));
        }
        for region in &DEMO_REGIONS {
            let dir = out.join(region.code);
            if is_non_empty_dir(&dir)? {
                return Err(DemoError::Exists(dir));
            }
        }
    }

    let mut written = Vec::new();
    for region in &DEMO_REGIONS {
        let dir = out.join(region.code);
        fs::create_dir_all(&dir).map_err(|source| DemoError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut put = |name: &str, contents: &[u8], secret: bool| -> Result<(), DemoError> {
            let path = dir.join(name);
            write_file(&path, contents, secret)?;
            written.push(path);
            Ok(())
        };
        let mut put_pair = |stem: &str, pair: &CertAndKey| -> Result<(), DemoError> {
            put(&format!("{stem}.pem"), pair.cert_pem.as_bytes(), false)?;
            put(&format!("{stem}.key"), pair.key_pem.as_bytes(), true)
        };

        let (root, root_pair) = root_ca(
            &format!("{}电子证照根CA (demo)", region.name),
            region.authority,
            DEMO_CA_VALIDITY,
        )?;
        put_pair("licence-root", &root_pair)?;
        let signer = issue_signer(&root, &SignerSpec::standard(region, KeyAlg::EcdsaP256))?;
        put_pair("signer", &signer)?;

        let (sm2_root, sm2_root_pair) = sm2_cert::sm2_root_ca(
            &format!("{}电子证照SM2根CA (demo)", region.name),
            region.authority,
            DEMO_CA_VALIDITY,
        )?;
        put_pair("sm2-root", &sm2_root_pair)?;
        let maker = sm2_cert::issue_sm2_leaf(&sm2_root, &Sm2LeafSpec::seal_maker(region))?;
        put_pair("seal-maker", &maker)?;
        let seal_signer = sm2_cert::issue_sm2_leaf(&sm2_root, &Sm2LeafSpec::seal_signer(region))?;
        put_pair("seal-signer", &seal_signer)?;

        let (tls_ca, tls_ca_pair) = root_ca(
            &format!("{}节点TLS CA (demo)", region.name),
            region.authority,
            DEMO_CA_VALIDITY,
        )?;
        put_pair("tls-ca", &tls_ca_pair)?;
        let node = issue_tls(
            &tls_ca,
            &TlsSpec {
                common_name: format!("zhengzhao-{}", region.code),
                organisation: region.authority.to_owned(),
                dns_names: vec!["localhost".to_owned()],
                ip_addresses: vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()],
                server_auth: true,
                client_auth: true,
                not_before: DEMO_EE_VALIDITY.0,
                not_after: DEMO_EE_VALIDITY.1,
            },
        )?;
        put_pair("node", &node)?;
        for department in ["bureau", "window"] {
            let id = format!("{}-{department}", region.code);
            let client = issue_tls(
                &tls_ca,
                &TlsSpec {
                    common_name: id.clone(),
                    organisation: region.authority.to_owned(),
                    dns_names: Vec::new(),
                    ip_addresses: Vec::new(),
                    server_auth: false,
                    client_auth: true,
                    not_before: DEMO_EE_VALIDITY.0,
                    not_after: DEMO_EE_VALIDITY.1,
                },
            )?;
            put_pair(&id, &client)?;
        }

        // The region's electronic seal, made by its seal maker for its seal signer.
        let seal = crate::pki::demo_seal::demo_seal(
            region,
            &maker.cert_pem,
            &maker.key_pem,
            &seal_signer.cert_pem,
        )?;
        put(crate::pki::demo_seal::DEMO_SEAL_FILE, &seal, false)?;

        // The node's audit checkpoint key and holder-hash secret (public demo material too).
        let (audit_signer, audit_key) = crate::audit::note::NoteSigner::generate(
            &crate::audit::store::default_origin(region.code),
        )
        .map_err(|_| DemoError::Random)?;
        put("audit.key", audit_key.as_bytes(), true)?;
        put(
            "audit.vkey",
            format!("{}\n", audit_signer.vkey()).as_bytes(),
            false,
        )?;
        let (witness, witness_key) = crate::audit::note::CosignatureSigner::generate(
            &crate::audit::witness_name(region.code),
        )
        .map_err(|_| DemoError::Random)?;
        put("witness.key", witness_key.as_bytes(), true)?;
        put(
            "witness.vkey",
            format!("{}\n", witness.vkey()).as_bytes(),
            false,
        )?;
        let (_, holder_secret) =
            crate::audit::entry::HolderKey::generate().map_err(|_| DemoError::Random)?;
        put("holder.secret", holder_secret.as_bytes(), true)?;

        let (this_update, next_update) = DEMO_CRL_VALIDITY;
        put(
            "licence-root.crl.pem",
            crl(&root, &[], this_update, next_update, 1)?.as_bytes(),
            false,
        )?;
        put(
            "tls-ca.crl.pem",
            crl(&tls_ca, &[], this_update, next_update, 1)?.as_bytes(),
            false,
        )?;
        put(
            "sm2-root.crl.pem",
            sm2_cert::sm2_crl(&sm2_root, &[], this_update, next_update, 1)?.as_bytes(),
            false,
        )?;
    }

    write_file(&readme, readme_text().as_bytes(), false)?;
    written.push(readme);
    Ok(written)
}

fn readme_text() -> String {
    let date = |t: OffsetDateTime| t.date().to_string();
    let mut text = String::from(
        "# Demo PKI: PUBLIC TEST MATERIAL\n\
         \n\
         Every private key in this directory is PUBLIC TEST MATERIAL. It is committed to a public\n\
         repository and anyone can sign with it. NEVER use these keys or certificates in\n\
         production, and never trust these roots outside tests and demos.\n\
         \n\
         Generated by `zhengzhao::pki::demo::generate_demo`. Regenerating replaces every key.\n\
         \n\
         ## Files per region directory (`<code>/`)\n\
         \n\
         | File | What it is |\n\
         |---|---|\n\
         | `licence-root.pem`, `licence-root.key` | licence root CA (self-signed, ECDSA P-256) and its PKCS#8 key |\n\
         | `licence-root.crl.pem` | empty CRL signed by the licence root |\n\
         | `signer.pem`, `signer.key` | licence signer: keyUsage digitalSignature, EKU 2.25.91810980038859142214668408484851701763 only, SAN `urn:gbt2260:<code>` and `urn:gb32100:<issuer USCC>` |\n\
         | `sm2-root.pem`, `sm2-root.key` | SM2 root CA (国密, self-signed, SM2-with-SM3, distinguishing ID 1234567812345678) and its PKCS#8 key |\n\
         | `sm2-root.crl.pem` | empty CRL signed by the SM2 root |\n\
         | `seal-maker.pem`, `seal-maker.key` | seal maker (制章者) under the SM2 root: keyUsage digitalSignature + nonRepudiation, no EKU, SAN `urn:gbt2260:<code>` |\n\
         | `seal-signer.pem`, `seal-signer.key` | seal signer (签章者, the issuing authority) under the SM2 root: keyUsage digitalSignature + nonRepudiation, no EKU, the authority's USCC as `organizationIdentifier` and SAN `urn:gb32100:<USCC>`, SAN `urn:gbt2260:<code>` |\n\
         | `seal.esl` | the authority's electronic seal (电子印章): GB/T 38540 v4 `SES_Seal` made (signed) by the seal maker, listing the seal signer's certificate, named `<authority>电子印章`, esID `<code>-demo-seal`, valid 2026-01-01 to 2031-01-01, picture a 160×160 PNG (red ring and star) shown 40×40 mm |\n\
         | `tls-ca.pem`, `tls-ca.key` | the node TLS CA (self-signed, ECDSA P-256) and its key |\n\
         | `tls-ca.crl.pem` | empty CRL signed by the TLS CA |\n\
         | `node.pem`, `node.key` | node certificate, CN `zhengzhao-<code>`, serverAuth + clientAuth, SAN DNS `localhost`, IP `127.0.0.1`, `::1` |\n\
         | `<code>-bureau.pem`, `.key` | client certificate of department `<code>-bureau` (clientAuth only) |\n\
         | `<code>-window.pem`, `.key` | client certificate of department `<code>-window` (clientAuth only) |\n\
         | `audit.key` | the node's audit checkpoint key (Ed25519, C2SP private key text, name `zhengzhao/<code>`) |\n\
         | `holder.secret` | the node's holder-hash secret (HMAC-SHA256 key, 64 hex digits) |\n\
         | `audit.vkey` | the verifier key of `audit.key`, for auditors (`zhengzhao audit keygen --vkey-out`) |\n\
         | `witness.key`, `witness.vkey` | the node's witness cosignature key (C2SP cosignature/v1, name `zhengzhao-witness/<code>`) and its verifier key |\n\
         \n\
         The licence and TLS hierarchies have separate roots, so neither kind of certificate\n\
         passes as the other. CA certificates carry no extendedKeyUsage: rustls-webpki requires\n\
         the wanted EKU on every certificate of a path that has the extension.\n\
         \n\
         Check an SM2 certificate's or CRL's signature with OpenSSL 3 over its TBS, with the ID\n\
         (`openssl dgst -sm3 -verify PUB -sigopt distid:1234567812345678 -signature SIG TBS`):\n\
         OpenSSL 3.0's `openssl verify` checks SM2 certificate signatures without the ID and\n\
         refuses them.\n\
         \n\
         `seal.esl` is a function of `seal-maker.pem`, `seal-maker.key` and `seal-signer.pem`\n\
         (fixed dates, deterministic SM2 nonce): `zhengzhao pki demo --out DIR --seals-only`\n\
         remakes every region's seal from the keys already in DIR, byte for byte the same, and\n\
         touches nothing else. Regenerating the whole PKI makes new keys, hence new seals.\n\
         \n\
         ## Fixed validity dates\n\
         \n\
         Dates are fixed rather than relative to the time of generation, so committed material\n\
         does not rot:\n\
         \n",
    );
    text.push_str(&format!(
        "- CA certificates: {} to {}\n- end-entity certificates: {} to {}\n- CRLs: thisUpdate {}, nextUpdate {}\n\n## Regions\n\n",
        date(DEMO_CA_VALIDITY.0),
        date(DEMO_CA_VALIDITY.1),
        date(DEMO_EE_VALIDITY.0),
        date(DEMO_EE_VALIDITY.1),
        date(DEMO_CRL_VALIDITY.0),
        date(DEMO_CRL_VALIDITY.1),
    ));
    for r in &DEMO_REGIONS {
        text.push_str(&format!(
            "- `{}` {}: {} ({})\n",
            r.code, r.name, r.authority, r.issuer_uscc
        ));
    }
    text
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

fn is_non_empty_dir(dir: &Path) -> Result<bool, DemoError> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(DemoError::Io {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Writes `contents` to `path`, replacing it. A `secret` file is created with mode 0600 on unix,
/// and an existing one is narrowed to 0600 before anything is written into it.
fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), DemoError> {
    let io = |source| DemoError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path).map_err(io)?;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io)?;
        return write_all(file, contents).map_err(io);
    }
    #[cfg(not(unix))]
    let _ = secret;
    write_all(options.open(path).map_err(io)?, contents).map_err(io)
}

fn write_all(mut file: fs::File, contents: &[u8]) -> std::io::Result<()> {
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design

    use super::*;

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
