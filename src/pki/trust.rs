//! Trust anchors, each bound to the regions it may vouch for, and chain validation.
//!
//! A licence names its region (`lic.region`). Its chain is first validated against only the
//! anchors bound to that region; when that fails, once more against every anchor, so that a
//! chain to a real anchor of the wrong region is reported as such (`issuer_mismatch`) rather
//! than as an unknown issuer.
//!
//! rustls-webpki applies a required EKU to every certificate of a path. Document-signer chains
//! are validated with the licence-signing EKU *required if present*: a CA certificate without
//! an EKU extension passes, one whose EKU leaves licence signing out fails. That the leaf
//! itself carries the EKU, and keyUsage digitalSignature (webpki does not read keyUsage), is
//! checked by the verifier from [`crate::pki::cert::SignerFacts`].
//!
//! **CRLs.** A CRL is honoured for the certificates its issuer signed, and only a trust anchor's
//! CRL is accepted ([`TrustStore::add_crl_pem`]): a CRL from any other issuer would revoke
//! nothing the store can vouch for, and would leave its loader believing certificates are
//! checked when none is. The store keeps what each CRL says about itself ([`CrlFacts`]) so that
//! a report can name the CRL a chain was checked against, or say that none covers it
//! ([`TrustStore::revocation`]).
//!
//! **SM2 chains.** The chain algorithms include SM2-with-SM3 ([`crate::pki::sm2`]), so SM2
//! roots can be anchors (bound to regions like the others), and SM2 certificates and
//! SM2-signed CRLs validate through the same rustls-webpki path building.
//!
//! **Seal chains** ([`TrustStore::validate_for`] with [`ChainUsage::SealSigner`] or
//! [`ChainUsage::SealMaker`]): the certificates of electronic seals (GB/T 38540) come from
//! many vendors' CAs, and their extendedKeyUsage is whatever the vendor chose (ofdrw's seal
//! signer has only clientAuth; others have none, or private OIDs). No EKU identifies a seal
//! signer or maker, so the licence-signing rule cannot apply, and none replaces it: these
//! chains are validated with *no EKU requirement*. rustls-webpki 0.103 takes any
//! [`ExtendedKeyUsageValidator`]; [`AnyPurpose`] accepts every well-formed EKU list and an
//! absent extension (a present but empty or malformed one is still refused by webpki). What
//! still binds the certificate to its use: the path to an anchor of the region, validity at
//! the signing time, the CRLs, basicConstraints (a CA certificate cannot be the leaf), and a
//! keyUsage that, when present, allows signing (digitalSignature or nonRepudiation, checked
//! here since webpki ignores keyUsage). That the signer is one the seal lists is the seal
//! verifier's check, not this one's.

use crate::codes::RegionCode;
use crate::pki::{LICENCE_SIGNING_EKU_DER, PkiError, cert::parse_der};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, TrustAnchor, UnixTime};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, ExtendedKeyUsageValidator,
    KeyPurposeIdIter, KeyUsage, OwnedCertRevocationList, RevocationCheckDepth,
    RevocationOptionsBuilder, UnknownStatusPolicy,
};

/// Signature algorithms accepted on certificates and CRLs in a signer's chain.
static CHAIN_ALGS: &[&dyn rustls_pki_types::SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    crate::pki::sm2::SM2_SM3,
    crate::pki::sm2::SM2_SM3_NULL,
    crate::pki::sm2::SM2_SM3_GMT0015_KEY,
    crate::pki::sm2::SM2_SM3_NULL_GMT0015_KEY,
    crate::pki::sm2::SM2_SM3_GMT0015_KEY_NULL,
    crate::pki::sm2::SM2_SM3_NULL_GMT0015_KEY_NULL,
];

/// What a chain is validated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainUsage {
    /// A licence signer: the licence-signing EKU, required if present, on every certificate.
    Licence,
    /// The signer of an electronic seal signature (签章者): no EKU requirement, keyUsage
    /// allowing signatures when present.
    SealSigner,
    /// The maker of an electronic seal (制章者): as [`ChainUsage::SealSigner`].
    SealMaker,
}

/// An EKU validator that accepts any well-formed list of purposes, or none.
///
/// For seal chains (see the module doc): vendors' seal certificates carry arbitrary EKUs.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyPurpose;

impl ExtendedKeyUsageValidator for AnyPurpose {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        // Every entry must still be an OID: a malformed extension is refused.
        for id in iter {
            id?;
        }
        Ok(())
    }
}

/// The EKU rule of a usage.
enum EkuRule {
    Licence(KeyUsage),
    Any(AnyPurpose),
}

impl ExtendedKeyUsageValidator for EkuRule {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        match self {
            EkuRule::Licence(k) => k.validate(iter),
            EkuRule::Any(a) => a.validate(iter),
        }
    }
}

/// One trust anchor: a licence root CA and the regions it may vouch for.
#[derive(Debug, Clone)]
pub struct Anchor {
    /// The anchor's subject, for reports.
    pub subject: String,
    /// The regions this anchor may vouch for.
    pub regions: BTreeSet<RegionCode>,
    anchor: TrustAnchor<'static>,
    /// The subject's DER, as CRLs name their issuer.
    subject_der: Vec<u8>,
}

/// What a loaded CRL says about itself: for reports that name the CRL a chain was checked
/// against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlFacts {
    /// The name the CRL was loaded under (a file, a configuration key).
    pub name: String,
    /// The issuer's distinguished name, as text.
    pub issuer: String,
    /// thisUpdate, seconds since the Unix epoch.
    pub this_update: i64,
    /// nextUpdate, seconds since the Unix epoch, when the CRL has one.
    pub next_update: Option<i64>,
}

/// A CRL as the store keeps it beside webpki's copy: its facts, the raw issuer name it is
/// found by, and the serials it lists.
#[derive(Debug)]
struct LoadedCrl {
    facts: CrlFacts,
    issuer_der: Vec<u8>,
    /// Revoked serials (the INTEGER's content bytes) and their revocation dates.
    revoked: BTreeMap<Vec<u8>, i64>,
}

/// How one certificate of a chain stands against the loaded CRLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The certificate's subject.
    pub subject: String,
    /// Its serial number, hexadecimal bytes separated by colons.
    pub serial: String,
    /// Its issuer's distinguished name.
    pub issuer: String,
    /// The issuer's CRL, when one was loaded: `None` means revocation is not checked for this
    /// certificate.
    pub crl: Option<CrlFacts>,
    /// When that CRL lists the certificate: its revocation date (seconds since the epoch).
    pub revoked_at: Option<i64>,
}

/// The result of validating a signer's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainVerdict {
    /// A path to an anchor bound to the licence's region.
    Trusted {
        /// The anchor's subject.
        anchor: String,
    },
    /// A path exists, but only to anchors not bound to the licence's region.
    NotBoundToRegion {
        /// The anchor's subject.
        anchor: String,
        /// The regions that anchor is bound to.
        anchor_regions: Vec<String>,
    },
    /// No valid path to any anchor.
    Untrusted(String),
}

/// Trust anchors bound to regions, and the CRLs to honour.
#[derive(Debug, Default)]
pub struct TrustStore {
    anchors: Vec<Anchor>,
    by_region: BTreeMap<RegionCode, Vec<TrustAnchor<'static>>>,
    all: Vec<TrustAnchor<'static>>,
    crls: Vec<CertRevocationList<'static>>,
    /// What the store knows of each CRL in `crls`, in the same order.
    crl_facts: Vec<LoadedCrl>,
}

impl TrustStore {
    /// An empty store: it trusts nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The anchors, in the order they were added.
    pub fn anchors(&self) -> &[Anchor] {
        &self.anchors
    }

    /// Adds every certificate in `pem` as an anchor bound to `regions`.
    ///
    /// Refuses PEM without certificates, an empty region list, and certificates that are not
    /// CA certificates (a leaf made an anchor would vouch for itself).
    pub fn add_pem(
        &mut self,
        pem: &[u8],
        regions: &[RegionCode],
        what: &str,
    ) -> Result<usize, PkiError> {
        if regions.is_empty() {
            return Err(PkiError::Certificate {
                what: what.into(),
                detail: "a trust anchor must be bound to at least one region".into(),
            });
        }
        self.add_pem_bound_to(pem, regions, what)
    }

    /// Adds every certificate in `pem` as an anchor bound to no region: it vouches for no
    /// region's licence, only for documents that name no region (OFD documents that are not
    /// licences).
    pub fn add_pem_unbound(&mut self, pem: &[u8], what: &str) -> Result<usize, PkiError> {
        self.add_pem_bound_to(pem, &[], what)
    }

    fn add_pem_bound_to(
        &mut self,
        pem: &[u8],
        regions: &[RegionCode],
        what: &str,
    ) -> Result<usize, PkiError> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PkiError::Pem {
                what: what.into(),
                detail: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(PkiError::Pem {
                what: what.into(),
                detail: "no CERTIFICATE block".into(),
            });
        }
        for der in &certs {
            self.add_der(der, regions, what)?;
        }
        Ok(certs.len())
    }

    /// Adds one DER certificate as an anchor bound to `regions`.
    pub fn add_der(
        &mut self,
        der: &[u8],
        regions: &[RegionCode],
        what: &str,
    ) -> Result<(), PkiError> {
        let bad = |detail: String| PkiError::Certificate {
            what: what.into(),
            detail,
        };
        let cert = parse_der(der)?;
        if !cert.is_ca() {
            return Err(bad(
                "not a CA certificate (basicConstraints cA is not set)".into()
            ));
        }
        let subject = cert.subject().to_string();
        let subject_der = cert.subject().as_raw().to_vec();
        let der = CertificateDer::from(der.to_vec());
        let anchor = webpki::anchor_from_trusted_cert(&der)
            .map_err(|e| bad(format!("cannot be a trust anchor: {e:?}")))?
            .to_owned();
        for region in regions {
            self.by_region
                .entry(*region)
                .or_default()
                .push(anchor.clone());
        }
        self.all.push(anchor.clone());
        self.anchors.push(Anchor {
            subject,
            regions: regions.iter().copied().collect(),
            anchor,
            subject_der,
        });
        Ok(())
    }

    /// Adds every CRL in `pem`, under the name `what` (reports name the CRL by it). A CRL is
    /// used for the certificates its issuer signed, once its signature checks out against that
    /// issuer.
    ///
    /// Refuses a CRL whose issuer is none of the anchors added so far: add the anchors first.
    /// Path validation consults a CRL only for certificates its issuer signed, and the store
    /// knows no CA but its anchors, so such a CRL would check nothing while its loader believed
    /// it did. Refuses a second CRL from an issuer that already has one: path validation would
    /// use only the first, so a newer CRL loaded after an older one would be silently ignored.
    pub fn add_crl_pem(&mut self, pem: &[u8], what: &str) -> Result<usize, PkiError> {
        let crls = CertificateRevocationListDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PkiError::Pem {
                what: what.into(),
                detail: e.to_string(),
            })?;
        if crls.is_empty() {
            return Err(PkiError::Pem {
                what: what.into(),
                detail: "no X509 CRL block".into(),
            });
        }
        for der in &crls {
            let bad = |detail: String| PkiError::Certificate {
                what: what.into(),
                detail,
            };
            let loaded = match x509_parser::parse_x509_crl(der) {
                Ok(([], crl)) => LoadedCrl {
                    facts: CrlFacts {
                        name: what.into(),
                        issuer: crl.issuer().to_string(),
                        this_update: crl.last_update().timestamp(),
                        next_update: crl.next_update().map(|t| t.timestamp()),
                    },
                    issuer_der: crl.issuer().as_raw().to_vec(),
                    revoked: crl
                        .iter_revoked_certificates()
                        .map(|r| (r.raw_serial().to_vec(), r.revocation_date.timestamp()))
                        .collect(),
                },
                Ok(_) => return Err(bad("bytes after the CRL".into())),
                Err(e) => return Err(bad(format!("not a CRL: {e}"))),
            };
            if !self
                .anchors
                .iter()
                .any(|a| a.subject_der == loaded.issuer_der)
            {
                return Err(bad(format!(
                    "issued by {}, which is none of the trust anchors: it would check nothing",
                    loaded.facts.issuer
                )));
            }
            if self
                .crl_facts
                .iter()
                .any(|c| c.issuer_der == loaded.issuer_der)
            {
                return Err(bad(
                    "a CRL from the same issuer is already loaded; give only the newest".into(),
                ));
            }
            let crl = OwnedCertRevocationList::from_der(der)
                .map_err(|e| bad(format!("not a usable CRL: {e:?}")))?;
            self.crls.push(crl.into());
            self.crl_facts.push(loaded);
        }
        Ok(crls.len())
    }

    /// The CRLs loaded, in the order they were added.
    pub fn crls(&self) -> impl Iterator<Item = &CrlFacts> {
        self.crl_facts.iter().map(|c| &c.facts)
    }

    /// How each certificate on the way from the leaf of `chain` (DER, leaf first) up to its
    /// anchor stands against the loaded CRLs: the leaf, then each certificate of `chain` that
    /// issued the one before, as path building follows names. Self-signed certificates (an
    /// anchor carried in the chain) and certificates that do not parse are left out: no CRL
    /// covers the first, and the chain check reports the second.
    ///
    /// This reads what the CRLs list; it does not judge the chain. Whether the path is valid,
    /// and the CRLs' signatures, are [`TrustStore::validate_for`]'s business.
    pub fn revocation(&self, chain: &[Vec<u8>]) -> Vec<Revocation> {
        let parsed: Vec<_> = chain.iter().map(|d| parse_der(d).ok()).collect();
        let mut out = Vec::new();
        let mut at = 0;
        // Each step moves to another certificate of the chain: a cycle of names ends here.
        for _ in 0..chain.len() {
            let Some(Some(cert)) = parsed.get(at) else {
                break;
            };
            let issuer_der = cert.issuer().as_raw();
            if issuer_der == cert.subject().as_raw() {
                break;
            }
            let crl = self.crl_facts.iter().find(|c| c.issuer_der == issuer_der);
            out.push(Revocation {
                subject: cert.subject().to_string(),
                serial: cert.raw_serial_as_string(),
                issuer: cert.issuer().to_string(),
                crl: crl.map(|c| c.facts.clone()),
                revoked_at: crl.and_then(|c| c.revoked.get(cert.raw_serial()).copied()),
            });
            match parsed.iter().enumerate().skip(1).find(|(i, c)| {
                *i != at
                    && c.as_ref()
                        .is_some_and(|c| c.subject().as_raw() == issuer_der)
            }) {
                Some((i, _)) => at = i,
                None => break,
            }
        }
        out
    }

    /// Validates `chain` (DER, leaf first) at `time` (seconds since the Unix epoch) for
    /// licence signing in `region`.
    ///
    /// `region` is `None` when the licence's region is not a valid code: the chain is then
    /// checked against every anchor and can at best be `NotBoundToRegion`.
    pub fn validate(
        &self,
        chain: &[Vec<u8>],
        region: Option<&RegionCode>,
        time: i64,
    ) -> ChainVerdict {
        self.validate_for(chain, region, time, ChainUsage::Licence)
    }

    /// Validates `chain` (DER, leaf first) at `time` (seconds since the Unix epoch, the
    /// signing time) for `usage` in `region`.
    ///
    /// The region binding is [`TrustStore::validate`]'s: a path to an anchor bound to
    /// `region` first, then to any anchor (`NotBoundToRegion`). CRLs are honoured; validity is
    /// judged at `time`. [`ChainUsage::Licence`] is exactly [`TrustStore::validate`]; the seal
    /// usages require no EKU and refuse a leaf whose keyUsage allows no signature (see the
    /// module doc).
    pub fn validate_for(
        &self,
        chain: &[Vec<u8>],
        region: Option<&RegionCode>,
        time: i64,
        usage: ChainUsage,
    ) -> ChainVerdict {
        let Some((leaf, rest)) = chain.split_first() else {
            return ChainVerdict::Untrusted("no certificate".into());
        };
        let eku = match usage {
            ChainUsage::Licence => {
                EkuRule::Licence(KeyUsage::required_if_present(LICENCE_SIGNING_EKU_DER))
            }
            ChainUsage::SealSigner | ChainUsage::SealMaker => {
                if let Err(why) = allows_signing(leaf) {
                    return ChainVerdict::Untrusted(why);
                }
                EkuRule::Any(AnyPurpose)
            }
        };
        let Ok(secs) = u64::try_from(time) else {
            return ChainVerdict::Untrusted("signing time is before 1970".into());
        };
        let time = UnixTime::since_unix_epoch(Duration::from_secs(secs));
        let leaf = CertificateDer::from(leaf.as_slice());
        let ee = match EndEntityCert::try_from(&leaf) {
            Ok(ee) => ee,
            Err(e) => return ChainVerdict::Untrusted(describe(&e)),
        };
        let intermediates: Vec<CertificateDer<'_>> = rest
            .iter()
            .map(|d| CertificateDer::from(d.as_slice()))
            .collect();
        let crl_refs: Vec<&CertRevocationList<'_>> = self.crls.iter().collect();
        let path_to = |anchors: &[TrustAnchor<'static>]| {
            let revocation = RevocationOptionsBuilder::new(&crl_refs).ok().map(|b| {
                b.with_depth(RevocationCheckDepth::Chain)
                    .with_status_policy(UnknownStatusPolicy::Allow)
                    .with_expiration_policy(ExpirationPolicy::Ignore)
                    .build()
            });
            ee.verify_for_usage(
                CHAIN_ALGS,
                anchors,
                &intermediates,
                time,
                &eku,
                revocation,
                None,
            )
            .map(|path| self.describe_anchor(path.anchor()))
        };
        let bound = region
            .and_then(|r| self.by_region.get(r))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let first_error = match path_to(bound) {
            Ok((anchor, _)) => return ChainVerdict::Trusted { anchor },
            Err(e) => e,
        };
        match path_to(&self.all) {
            Ok((anchor, anchor_regions)) => ChainVerdict::NotBoundToRegion {
                anchor,
                anchor_regions,
            },
            // With no anchor for the region, the error against all anchors says more.
            Err(e) if bound.is_empty() => ChainVerdict::Untrusted(describe(&e)),
            Err(_) => ChainVerdict::Untrusted(describe(&first_error)),
        }
    }

    fn describe_anchor(&self, ta: &TrustAnchor<'_>) -> (String, Vec<String>) {
        self.anchors
            .iter()
            .find(|a| {
                a.anchor.subject == ta.subject
                    && a.anchor.subject_public_key_info == ta.subject_public_key_info
            })
            .map(|a| {
                (
                    a.subject.clone(),
                    a.regions.iter().map(|r| r.to_string()).collect(),
                )
            })
            .unwrap_or_else(|| ("(unknown anchor)".into(), Vec::new()))
    }
}

/// Whether a seal certificate's keyUsage, when present, allows signatures.
fn allows_signing(der: &[u8]) -> Result<(), String> {
    let cert = parse_der(der).map_err(|e| e.to_string())?;
    match cert.key_usage() {
        Ok(None) => Ok(()),
        Ok(Some(ku)) if ku.value.digital_signature() || ku.value.non_repudiation() => Ok(()),
        Ok(Some(_)) => Err(
            "the certificate's keyUsage allows neither digitalSignature nor nonRepudiation".into(),
        ),
        Err(e) => Err(format!("the certificate's keyUsage is malformed: {e}")),
    }
}

/// Says what a webpki error means for a document signer.
fn describe(e: &webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::UnknownIssuer => "no path to a trust anchor".into(),
        E::CertRevoked => "a certificate in the chain is revoked by its CRL".into(),
        E::CertExpired { .. } => {
            "a certificate in the chain had expired at the signing time".into()
        }
        E::CertNotValidYet { .. } => {
            "a certificate in the chain was not yet valid at the signing time".into()
        }
        E::RequiredEkuNotFoundContext(_) => {
            "a certificate in the chain has an extendedKeyUsage without licence signing".into()
        }
        E::CaUsedAsEndEntity => "the signer certificate is a CA certificate".into(),
        E::InvalidSignatureForPublicKey => {
            "a certificate's signature does not verify under its issuer's key \
             (tampered, or an issuer of the same name with another key)"
                .into()
        }
        E::InvalidCrlSignatureForPublicKey => {
            "a CRL's signature does not verify under its issuer's key".into()
        }
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            format!("a certificate is signed with an algorithm not accepted: {e:?}")
        }
        other => format!("chain validation failed: {other:?}"),
    }
}
