//! SM2 certificates and CRLs, built with RustCrypto `x509-cert` and signed with [`crate::gm`].
//!
//! x509-cert's [`CertificateBuilder`] and [`CrlBuilder`] assemble the `TBSCertificate` and
//! `TBSCertList`; `sm2::dsa::SigningKey` gives them what they need from a signer
//! (`signature::Keypair`, and `SignatureAlgorithmIdentifier`, which writes SM2-with-SM3,
//! `1.2.156.10197.1.501`, without parameters). The signing itself goes through
//! [`Sm2PrivateKey::sign`] (distinguishing ID `1234567812345678`) and the value is written as
//! the DER `SEQUENCE { r, s }` RFC 5280 and GM/T 0015 want: the builder's one-call `build`
//! would write sm2 0.14's `SignatureBitStringEncoding`, which is the raw 64-byte `r ‖ s` and
//! which OpenSSL and most verifiers refuse. So each object is `finalize`d (TBS DER out),
//! signed, and `assemble`d with the DER value.
//!
//! What is written:
//!
//! - **root CA** ([`sm2_root_ca`]): self-signed, subject `C=CN, O=…, CN=…`, basicConstraints
//!   cA (critical, no path length), keyUsage keyCertSign + cRLSign (critical), subject key
//!   identifier (SHA-1 of the key bits, RFC 5280 method 1) and the same value as authority key
//!   identifier, no extendedKeyUsage;
//! - **end entities** ([`issue_sm2_leaf`], [`Sm2LeafSpec`]): the seal signer (签章者, the
//!   issuing authority) and the seal maker (制章者), cA=FALSE (critical), keyUsage
//!   digitalSignature + nonRepudiation (critical), SKI and AKI, SAN URIs naming the region
//!   and (signer) the USCC, no extendedKeyUsage (seal chains require none, see
//!   [`crate::pki::trust`]);
//! - **CRLs** ([`sm2_crl`]): v2, thisUpdate/nextUpdate, cRLNumber, the CA's key identifier as
//!   authority key identifier, revoked serials with their dates.
//!
//! **Where the 统一社会信用代码 goes.** The seal signer's subject carries the authority's USCC
//! in `organizationIdentifier` (2.5.4.97, X.520: "an identification of an organization
//! different from the organization name"), as the bare 18 characters, and the certificate also
//! has the SAN URI `urn:gb32100:<USCC>` that the licence signer uses (read by
//! [`crate::pki::cert::signer_facts`]). `serialNumber` (2.5.4.5) was not used: it names a
//! device or person's serial and is easily confused with the certificate's serial number;
//! ETSI's `NTRCN-` prefix form was not used because no Chinese verifier expects it.
//!
//! Everything is **public test material** when it comes from [`crate::demo`].

use crate::demo::{CertAndKey, DEMO_EE_VALIDITY, DemoRegion};
use crate::gm::{GmError, Sm2PrivateKey};
use der::asn1::{Any, BitString, Ia5String, ObjectIdentifier, SetOfVec, Uint, Utf8StringRef};
use der::{Decode, DecodePem, Encode, EncodePem, Tag, pem::LineEnding};
use std::time::{Duration, UNIX_EPOCH};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder, CrlBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::crl::RevokedCert;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlNumber, ExtendedKeyUsage, KeyUsage,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};

pub use der::asn1::ObjectIdentifier as Oid;
pub use x509_cert::ext::pkix::KeyUsages;

/// OID of `organizationIdentifier` (X.520, 2.5.4.97), where the signer's USCC goes.
pub const OID_ORGANIZATION_IDENTIFIER: &str = "2.5.4.97";

const OID_COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
const OID_ORGANISATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_ORG_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap(OID_ORGANIZATION_IDENTIFIER);

/// What went wrong building an SM2 certificate or CRL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Sm2CertError {
    /// The SM2 key could not be made, read or used.
    #[error("SM2 key: {0}")]
    Key(#[from] GmError),
    /// x509-cert refused to build the object.
    #[error("x509-cert builder: {0}")]
    Build(String),
    /// A value could not be encoded in DER (a name, a date, an extension).
    #[error("DER encoding: {0}")]
    Der(String),
    /// A date is before 1970 or after 9999, which certificates cannot carry.
    #[error("date out of range: {0}")]
    Date(String),
    /// The CA certificate could not be read.
    #[error("CA certificate: {0}")]
    Certificate(String),
    /// The private key given for a CA is not the key of its certificate.
    #[error("the private key does not belong to the CA certificate")]
    KeyMismatch,
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

impl From<der::Error> for Sm2CertError {
    fn from(e: der::Error) -> Self {
        Sm2CertError::Der(e.to_string())
    }
}

impl From<x509_cert::builder::Error> for Sm2CertError {
    fn from(e: x509_cert::builder::Error) -> Self {
        Sm2CertError::Build(e.to_string())
    }
}

/// An SM2 CA ready to issue certificates and CRLs: its certificate and its key.
#[derive(Debug)]
pub struct Sm2Ca {
    cert: Certificate,
    cert_pem: String,
    key: Sm2PrivateKey,
}

impl Sm2Ca {
    /// Loads a CA from its certificate PEM and its key PEM (PKCS#8 or SEC1).
    ///
    /// Refuses a key that is not the certificate's ([`Sm2CertError::KeyMismatch`]), and a
    /// certificate whose subject does not re-encode byte for byte (certificates issued under it
    /// would name another issuer and not chain). It does not check that the certificate is a
    /// CA: fixture generators issue under unsuitable "CAs" on purpose.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Sm2Ca, Sm2CertError> {
        let cert = Certificate::from_pem(cert_pem.trim().as_bytes())
            .map_err(|e| Sm2CertError::Certificate(format!("not a PEM certificate: {e}")))?;
        let key = Sm2PrivateKey::from_pem(key_pem)?;
        let point = cert
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .as_bytes()
            .unwrap_or_default();
        if point != key.public_key().to_sec1().as_slice() {
            return Err(Sm2CertError::KeyMismatch);
        }
        let der = cert.to_der()?;
        let parsed = crate::pki::cert::parse_der(&der)
            .map_err(|e| Sm2CertError::Certificate(e.to_string()))?;
        if parsed.subject().as_raw() != cert.tbs_certificate().subject().to_der()?.as_slice() {
            return Err(Sm2CertError::Certificate(
                "the subject name does not re-encode as the same DER".into(),
            ));
        }
        Ok(Sm2Ca {
            cert,
            cert_pem: cert_pem.to_owned(),
            key,
        })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> Result<Vec<u8>, Sm2CertError> {
        Ok(self.cert.to_der()?)
    }

    /// The CA's signing key.
    pub fn key(&self) -> &Sm2PrivateKey {
        &self.key
    }
}

/// What an SM2 end-entity certificate says. [`Sm2LeafSpec::seal_signer`] and
/// [`Sm2LeafSpec::seal_maker`] give the standard ones; fixture generators change fields.
#[derive(Debug, Clone)]
pub struct Sm2LeafSpec {
    /// Subject CN.
    pub common_name: String,
    /// Subject O.
    pub organisation: String,
    /// The subject's 统一社会信用代码: written as `organizationIdentifier` and as the SAN URI
    /// `urn:gb32100:<USCC>`. `None` writes neither.
    pub uscc: Option<String>,
    /// A GB/T 2260 region code for the SAN URI `urn:gbt2260:<code>`; `None` writes none.
    pub region: Option<String>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// keyUsage bits; empty means no keyUsage extension.
    pub key_usage: Vec<KeyUsages>,
    /// extendedKeyUsage purposes; empty means no extendedKeyUsage extension (the demo's).
    /// Fixtures set vendors' choices here (ofdrw's seal signer has clientAuth only).
    pub extended_key_usage: Vec<ObjectIdentifier>,
    /// basicConstraints cA=TRUE instead of cA=FALSE.
    pub is_ca: bool,
}

impl Sm2LeafSpec {
    /// The seal signer (签章者) of `region`: the issuing authority, CN `<name>电子签章 (demo)`,
    /// O the authority, its USCC, the region, keyUsage digitalSignature + nonRepudiation,
    /// [`DEMO_EE_VALIDITY`].
    pub fn seal_signer(region: &DemoRegion) -> Sm2LeafSpec {
        Sm2LeafSpec {
            common_name: format!("{}电子签章 (demo)", region.name),
            organisation: region.authority.to_owned(),
            uscc: Some(region.issuer_uscc.to_owned()),
            region: Some(region.code.to_owned()),
            not_before: DEMO_EE_VALIDITY.0,
            not_after: DEMO_EE_VALIDITY.1,
            key_usage: vec![KeyUsages::DigitalSignature, KeyUsages::NonRepudiation],
            extended_key_usage: Vec::new(),
            is_ca: false,
        }
    }

    /// The seal maker (制章者) of `region`: CN `<name>电子印章制作 (demo)`, O the authority
    /// whose seal system makes the seals, no USCC, the region, keyUsage digitalSignature +
    /// nonRepudiation, [`DEMO_EE_VALIDITY`].
    pub fn seal_maker(region: &DemoRegion) -> Sm2LeafSpec {
        Sm2LeafSpec {
            common_name: format!("{}电子印章制作 (demo)", region.name),
            uscc: None,
            ..Sm2LeafSpec::seal_signer(region)
        }
    }
}

/// A profile for x509-cert's builder: the subject and issuer given, and exactly the extensions
/// listed in the module doc.
struct Profile {
    subject: Name,
    issuer: Option<Name>,
    is_ca: bool,
    key_usage: Vec<KeyUsages>,
    ekus: Vec<ObjectIdentifier>,
    uris: Vec<String>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, subject: &Name) -> Name {
        self.issuer.clone().unwrap_or_else(|| subject.clone())
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut ext: Vec<Extension> = Vec::new();
        let subject = tbs.subject();
        let bc = BasicConstraints {
            ca: self.is_ca,
            path_len_constraint: None,
        };
        ext.push(bc.to_extension(subject, &ext)?);
        if !self.key_usage.is_empty() {
            let mut bits = self.key_usage.iter().copied();
            if let Some(first) = bits.next() {
                let flags = bits.fold(first.into(), |acc, k| acc | k);
                ext.push(KeyUsage(flags).to_extension(subject, &ext)?);
            }
        }
        if !self.ekus.is_empty() {
            ext.push(ExtendedKeyUsage(self.ekus.clone()).to_extension(subject, &ext)?);
        }
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        ext.push(ski.to_extension(subject, &ext)?);
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(SubjectKeyIdentifier::try_from(issuer_spk)?.0),
            ..Default::default()
        };
        ext.push(aki.to_extension(subject, &ext)?);
        if !self.uris.is_empty() {
            let names = self
                .uris
                .iter()
                .map(|u| Ia5String::new(u).map(GeneralName::UniformResourceIdentifier))
                .collect::<Result<Vec<_>, _>>()?;
            ext.push(SubjectAltName(names).to_extension(subject, &ext)?);
        }
        Ok(ext)
    }
}

/// Subject `C=CN, O=<organisation>, [organizationIdentifier=<uscc>,] CN=<common_name>`; C as
/// PrintableString, the others UTF8String.
pub fn sm2_name(
    common_name: &str,
    organisation: &str,
    uscc: Option<&str>,
) -> Result<Name, Sm2CertError> {
    let mut rdns = RdnSequence::default();
    let mut push = |oid: ObjectIdentifier, value: Any| -> Result<(), Sm2CertError> {
        let mut set = SetOfVec::new();
        set.insert(AttributeTypeAndValue { oid, value })?;
        rdns.push(RelativeDistinguishedName::from(set));
        Ok(())
    };
    push(
        OID_COUNTRY,
        Any::new(Tag::PrintableString, b"CN".as_slice())?,
    )?;
    push(
        OID_ORGANISATION,
        Any::from(Utf8StringRef::new(organisation)?),
    )?;
    if let Some(uscc) = uscc {
        push(OID_ORG_ID, Any::from(Utf8StringRef::new(uscc)?))?;
    }
    push(OID_COMMON_NAME, Any::from(Utf8StringRef::new(common_name)?))?;
    Ok(Name::from_der(&rdns.to_der()?)?)
}

/// Makes a self-signed SM2 root CA with a new key (see the module doc for its profile), valid
/// over `validity`. Returns the CA ready to issue and its PEM certificate and PKCS#8 key.
pub fn sm2_root_ca(
    common_name: &str,
    organisation: &str,
    validity: (OffsetDateTime, OffsetDateTime),
) -> Result<(Sm2Ca, CertAndKey), Sm2CertError> {
    let key = Sm2PrivateKey::generate()?;
    let profile = Profile {
        subject: sm2_name(common_name, organisation, None)?,
        issuer: None,
        is_ca: true,
        key_usage: vec![KeyUsages::KeyCertSign, KeyUsages::CRLSign],
        ekus: Vec::new(),
        uris: Vec::new(),
    };
    let cert = build_cert(profile, &key, &key, validity)?;
    let pair = CertAndKey {
        cert_pem: cert.to_pem(LineEnding::LF)?,
        key_pem: key.to_pkcs8_pem()?,
    };
    let ca = Sm2Ca {
        cert,
        cert_pem: pair.cert_pem.clone(),
        key,
    };
    Ok((ca, pair))
}

/// Issues an end-entity (or, with `spec.is_ca`, a CA) certificate under `ca` with a new SM2
/// key, exactly as `spec` says. Checks nothing about `spec`; fails only when a value cannot be
/// encoded (a date outside 1970-9999, a SAN URI that is not ASCII).
pub fn issue_sm2_leaf(ca: &Sm2Ca, spec: &Sm2LeafSpec) -> Result<CertAndKey, Sm2CertError> {
    let key = Sm2PrivateKey::generate()?;
    let mut uris = Vec::new();
    if let Some(region) = &spec.region {
        uris.push(format!("urn:gbt2260:{region}"));
    }
    if let Some(uscc) = &spec.uscc {
        uris.push(format!("urn:gb32100:{uscc}"));
    }
    let profile = Profile {
        subject: sm2_name(&spec.common_name, &spec.organisation, spec.uscc.as_deref())?,
        issuer: Some(ca.cert.tbs_certificate().subject().clone()),
        is_ca: spec.is_ca,
        key_usage: spec.key_usage.clone(),
        ekus: spec.extended_key_usage.clone(),
        uris,
    };
    let cert = build_cert(profile, &key, &ca.key, (spec.not_before, spec.not_after))?;
    Ok(CertAndKey {
        cert_pem: cert.to_pem(LineEnding::LF)?,
        key_pem: key.to_pkcs8_pem()?,
    })
}

fn build_cert(
    profile: Profile,
    subject_key: &Sm2PrivateKey,
    issuer_key: &Sm2PrivateKey,
    (not_before, not_after): (OffsetDateTime, OffsetDateTime),
) -> Result<Certificate, Sm2CertError> {
    let spki = SubjectPublicKeyInfoOwned::from_der(&subject_key.public_key().to_spki_der())?;
    let validity = Validity::new(time(not_before)?, time(not_after)?);
    let mut builder = CertificateBuilder::new(profile, random_serial()?, validity, spki)?;
    let signer = issuer_key.signing_key();
    let tbs = builder.finalize(signer)?;
    let signature = BitString::from_bytes(&issuer_key.sign(&tbs)?.to_der())?;
    Ok(builder.assemble(signature, signer)?)
}

/// Signs a CRL for `ca` listing `revoked` (serial as DER INTEGER content bytes, revocation
/// time), with `thisUpdate`, `nextUpdate` and the CRL number, and returns it as PEM
/// (`X509 CRL`).
///
/// Refuses `next_update <= this_update`, and a CA certificate whose authority key identifier
/// differs from its subject key identifier: x509-cert 0.3's CRL builder copies the CA's AKI
/// into the CRL, which is right only for a root.
pub fn sm2_crl(
    ca: &Sm2Ca,
    revoked: &[(Vec<u8>, OffsetDateTime)],
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    crl_number: u64,
) -> Result<String, Sm2CertError> {
    if next_update <= this_update {
        return Err(Sm2CertError::Date(
            "nextUpdate must be after thisUpdate".into(),
        ));
    }
    let tbs = ca.cert.tbs_certificate();
    let aki = tbs
        .get_extension::<AuthorityKeyIdentifier>()?
        .and_then(|(_, a)| a.key_identifier);
    let ski = tbs
        .get_extension::<SubjectKeyIdentifier>()?
        .map(|(_, s)| s.0);
    if aki.is_some() && aki != ski {
        return Err(Sm2CertError::Certificate(
            "the CA's authority key identifier is not its own key identifier (not a root): \
             its CRL would name the wrong key"
                .into(),
        ));
    }
    let number = CrlNumber(Uint::new(&crl_number.to_be_bytes())?);
    let entries = revoked
        .iter()
        .map(|(serial, at)| {
            Ok(RevokedCert {
                serial_number: SerialNumber::<x509_cert::certificate::Rfc5280>::new(serial)?,
                revocation_date: time(*at)?,
                crl_entry_extensions: None,
            })
        })
        .collect::<Result<Vec<_>, Sm2CertError>>()?;
    let mut builder = CrlBuilder::new_with_this_update(&ca.cert, number, time(this_update)?)?
        .with_next_update(Some(time(next_update)?));
    if !entries.is_empty() {
        builder = builder.with_certificates(entries.into_iter());
    }
    let signer = ca.key.signing_key();
    let tbs = builder.finalize(signer)?;
    let signature = BitString::from_bytes(&ca.key.sign(&tbs)?.to_der())?;
    let crl = builder.assemble(signature, signer)?;
    Ok(crl.to_pem(LineEnding::LF)?)
}

/// A certificate time: UTCTime through 2049, GeneralizedTime after (RFC 5280).
fn time(t: OffsetDateTime) -> Result<Time, Sm2CertError> {
    let secs = u64::try_from(t.unix_timestamp())
        .map_err(|_| Sm2CertError::Date(format!("{t} is before 1970")))?;
    let at = UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .ok_or_else(|| Sm2CertError::Date(format!("{t} is too far ahead")))?;
    Time::try_from(at).map_err(|e| Sm2CertError::Date(format!("{t}: {e}")))
}

/// A random positive serial of exactly 16 bytes, as the demo's other certificates have.
fn random_serial() -> Result<SerialNumber, Sm2CertError> {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| Sm2CertError::Random)?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::new(&bytes)?)
}

/// The serial number (DER INTEGER content bytes) of a certificate given as PEM, e.g. to revoke
/// it with [`sm2_crl`].
pub fn sm2_serial_from_pem(cert_pem: &str) -> Result<Vec<u8>, Sm2CertError> {
    let cert = Certificate::from_pem(cert_pem.trim().as_bytes())
        .map_err(|e| Sm2CertError::Certificate(format!("not a PEM certificate: {e}")))?;
    Ok(cert.tbs_certificate().serial_number().as_bytes().to_vec())
}
