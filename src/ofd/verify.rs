//! Verification of a sealed or signed OFD document: every signature checked and reported, a
//! document outcome, and the files no signature protects.
//!
//! For each signature of `Signatures.xml`, in order, the checks that apply:
//!
//! | check | what it asks | fails as |
//! |---|---|---|
//! | `references` | every `Reference` names a package file whose SM3 digest is its `CheckValue` | `tampered` (`unsupported_algorithm` for another `CheckMethod`) |
//! | `data_hash` | the signed data hash is SM3 of the raw bytes of this `Signature.xml` | `tampered` |
//! | `signature` | the signature verifies over what it covers, with the signer's key | `bad_signature` |
//! | `seal_signature` | the seal maker's signature on the seal verifies | `bad_signature` |
//! | `seal_validity` | the seal's validity period covers the signing time | `expired` |
//! | `signer_in_seal` | the seal lists the signer's certificate | `untrusted_issuer` |
//! | `signer_chain` | the signer's certificate chains to a trust anchor, at the signing time (brought inside the certificate's own validity, which `signer_validity` judges) | `untrusted_issuer` |
//! | `seal_maker_chain` | the seal maker's certificate chains to a trust anchor, when the seal was made | `untrusted_issuer` |
//! | `signer_validity` | the signer's certificate was valid at the signing time | `expired` |
//!
//! A value that cannot be read fails the check that needed it as `malformed`, an algorithm
//! other than SM2-with-SM3 and SM3 as `unsupported_algorithm`. A signature's outcome is the
//! first of `malformed`, `unsupported_algorithm`, `tampered`, `bad_signature`,
//! `untrusted_issuer`, `expired` that one of its failed checks yields, else `valid`.
//!
//! **Coverage.** A file is covered when a signature whose `references`, `data_hash` and
//! `signature` checks hold (trust aside) references it. Every package file but the signature
//! machinery (`Signatures.xml`, each `Signature.xml` and `SignedValue.dat`) must be covered: any
//! other file (`OFD.xml`, `Document.xml`, a page, a resource, an annotation, a template) can
//! change what a reader shows, so a document with an uncovered one is never `valid`: it is
//! `not_covered` when its signatures are all valid.
//!
//! **Region binding.** When the document's metadata gives a valid GB/T 36904 licence
//! identifier, its issuing authority's 统一社会信用代码 names the region (characters 3-8), and
//! only an anchor bound to that region vouches for the signer and the seal maker. A document
//! that names no licence is not a region's licence: any anchor may vouch for it.

use super::document::{Ofd, SignatureEntry, SignatureType};
use super::report::{
    MetaItem, OfdCheck, OfdOutcome, OfdReport, SealInfo, SignatureReport, SignerInfo,
};
use super::ses::{self, SesError, SesFormat, SignedValue};
use crate::codes::RegionCode;
use crate::gm::{self, Sm2PublicKey};
use crate::licence::verify::{MAX_CLOCK_SKEW, beijing_time, rfc3339};
use crate::pki::trust::{ChainUsage, ChainVerdict, TrustStore};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::RwLock;

/// Names of the digest method SM3 in `CheckMethod` (compared without case).
const SM3_NAMES: [&str; 2] = ["sm3", gm::OID_SM3];

/// Entries each cache holds before it is emptied.
const CACHE_LIMIT: usize = 4096;

/// A chain verdict worth keeping: a path found, for one certificate, region and usage.
type ChainKey = ([u8; 32], Option<RegionCode>, u8);

/// What a verification trusts: anchors and CRLs, and public keys given for bare signatures.
///
/// Two caches live and die with it (its anchors and CRLs never change): the paths found for a
/// certificate (by the SM3 of its DER, the region and the usage), reused for a time inside
/// that certificate's own validity — a seal signer's or maker's chain is that one certificate
/// under an anchor, which has no validity of its own — and the seals whose maker's signature
/// verified (by the SM3 of the exact bytes signed, the signature and the maker's certificate).
/// Only successes are kept: a failure is judged again each time.
#[derive(Debug, Default)]
pub struct OfdVerifier {
    trust: TrustStore,
    keys: Vec<Sm2PublicKey>,
    chains: RwLock<HashMap<ChainKey, (i64, i64, String)>>,
    seals: RwLock<HashSet<[u8; 32]>>,
}

impl OfdVerifier {
    /// A verifier trusting the anchors (and honouring the CRLs) of `trust`.
    pub fn new(trust: TrustStore) -> Self {
        OfdVerifier {
            trust,
            ..OfdVerifier::default()
        }
    }

    /// Also trusts `key` for bare SM2 signatures (`Type="Sign"` with no certificate).
    pub fn with_key(mut self, key: Sm2PublicKey) -> Self {
        self.keys.push(key);
        self
    }

    /// The anchors and CRLs trusted.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// Verifies the OFD file `bytes` at `now` (Unix seconds: the report's time, and the limit
    /// for a signing time, give or take [`MAX_CLOCK_SKEW`]). Never panics; input that is not an
    /// OFD document gives a `malformed` report with the reason.
    pub fn verify(&self, bytes: &[u8], now: i64) -> OfdReport {
        match super::document::read(bytes) {
            Ok(ofd) => self.verify_read(&ofd, now),
            Err(e) => OfdReport {
                outcome: OfdOutcome::Malformed,
                verified_at: rfc3339(now),
                error: Some(e.to_string()),
                signatures: Vec::new(),
                uncovered: Vec::new(),
                metadata: Vec::new(),
                licence_id: None,
            },
        }
    }

    /// Verifies a package already read.
    pub fn verify_read(&self, ofd: &Ofd, now: i64) -> OfdReport {
        let mut signatures = Vec::new();
        let mut covered: BTreeSet<&str> = BTreeSet::new();
        let mut machinery: BTreeSet<&str> = BTreeSet::new();
        let mut metadata = Vec::new();
        let mut licence_id = None;
        for doc in &ofd.documents {
            metadata.extend(doc.custom_datas.iter().map(|(name, value)| MetaItem {
                name: name.clone(),
                value: value.clone(),
            }));
            if licence_id.is_none() {
                licence_id = doc.licence_id.id().map(|id| id.as_str().to_owned());
            }
            let region = doc
                .licence_id
                .id()
                .and_then(|id| id.issuer().region_digits().parse::<RegionCode>().ok());
            if let Some(p) = &doc.signatures_path {
                machinery.insert(p);
            }
            for entry in &doc.signatures {
                machinery.insert(&entry.signature_xml_path);
                machinery.insert(&entry.signed_value_path);
                let (report, intact) = self.signature(ofd, entry, region.as_ref(), now);
                if intact {
                    covered.extend(
                        entry
                            .signed_info
                            .references
                            .iter()
                            .map(|r| r.file_ref.as_str()),
                    );
                }
                signatures.push(report);
            }
        }
        let uncovered: Vec<String> = ofd
            .package
            .files()
            .map(|(path, _)| path)
            .filter(|p| !covered.contains(p) && !machinery.contains(p))
            .map(|p| format!("/{p}"))
            .collect();
        OfdReport {
            outcome: OfdReport::outcome_of(&signatures, !uncovered.is_empty()),
            verified_at: rfc3339(now),
            error: None,
            signatures,
            uncovered,
            metadata,
            licence_id,
        }
    }

    /// One signature's report, and whether its references, data hash and signature hold (so
    /// that the files it references are covered).
    fn signature(
        &self,
        ofd: &Ofd,
        entry: &SignatureEntry,
        region: Option<&RegionCode>,
        now: i64,
    ) -> (SignatureReport, bool) {
        let mut checks = vec![references(ofd, entry)];
        let mut out = SignatureReport {
            id: entry.id.clone(),
            kind: match entry.kind {
                SignatureType::Seal => "Seal".into(),
                SignatureType::Sign => "Sign".into(),
            },
            format: None,
            outcome: OfdOutcome::Valid,
            checks: Vec::new(),
            signer: None,
            seal: None,
            signed_at: None,
        };
        let xml = entry.signature_xml_bytes.as_slice();
        let value = match ofd.package.get(&entry.signed_value_path) {
            None => Err(SesError::Malformed {
                what: "SignedValue",
                detail: format!("/{} is not in the package", entry.signed_value_path),
            }),
            Some(bytes) => ses::parse_signed_value(bytes),
        };
        match value {
            Err(e) => checks.push(from_error("signature", &e)),
            Ok(SignedValue::Ses(s)) => {
                out.format = Some(match s.format {
                    SesFormat::Gbt38540 => "gbt38540",
                    SesFormat::Gmt0031 => "gmt0031",
                });
                out.signed_at = Some(rfc3339(s.time_info.unix));
                out.seal = Some(SealInfo {
                    es_id: s.seal.es_id.clone(),
                    name: s.seal.name.clone(),
                    valid_from: rfc3339(s.seal.valid_start.unix),
                    valid_until: rfc3339(s.seal.valid_end.unix),
                });
                out.signer = signer_info(&s.signer_cert_der);
                let at = s.time_info.unix;
                checks.push(check_of(
                    "data_hash",
                    s.check_data_hash(xml),
                    "SM3 of Signature.xml",
                ));
                checks.push(check_of(
                    "signature",
                    s.verify_signature(),
                    "SM2 over TBS_Sign with the signer's key",
                ));
                checks.push(check_of(
                    "seal_signature",
                    self.seal_signature(&s.seal),
                    "the seal maker's SM2 signature on the seal",
                ));
                let seal_dates = format!(
                    "the seal is valid from {} to {}, and it was applied at {}",
                    beijing_time(s.seal.valid_start.unix),
                    beijing_time(s.seal.valid_end.unix),
                    beijing_time(at)
                );
                checks.push(match s.seal_valid_at_signing() {
                    Ok(()) => pass("seal_validity", &seal_dates),
                    Err(_) => fail("seal_validity", OfdOutcome::Expired, &seal_dates),
                });
                checks.push(check_of(
                    "signer_in_seal",
                    s.signer_in_seal(),
                    "the seal lists the signer's certificate",
                ));
                checks.push(self.chain(
                    "signer_chain",
                    &s.signer_cert_der,
                    region,
                    at,
                    "the signer",
                ));
                checks.push(self.chain(
                    "seal_maker_chain",
                    &s.seal.maker_cert_der,
                    region,
                    s.seal.created.unix,
                    "the seal maker",
                ));
                checks.push(validity(&s.signer_cert_der, at, now));
            }
            Ok(SignedValue::SignedData(d)) => {
                out.format = Some("gbt35275");
                let at = d
                    .signed_attributes
                    .as_ref()
                    .and_then(|a| a.signing_time.as_ref())
                    .map(|t| t.unix)
                    .or_else(|| declared_time(entry));
                out.signed_at = at.map(rfc3339);
                checks.push(check_of(
                    "data_hash",
                    d.check_data_hash(xml),
                    "the signed content is Signature.xml",
                ));
                checks.push(check_of(
                    "signature",
                    d.verify_signature(xml),
                    "SM2 over the signed attributes or Signature.xml with the signer's key",
                ));
                match (&d.signer_cert_der, at) {
                    (Some(cert), Some(at)) => {
                        out.signer = signer_info(cert);
                        checks.push(self.chain("signer_chain", cert, region, at, "the signer"));
                        checks.push(validity(cert, at, now));
                    }
                    (Some(cert), None) => {
                        out.signer = signer_info(cert);
                        checks.push(fail(
                            "signer_validity",
                            OfdOutcome::Malformed,
                            "the signature states no signing time (no signingTime, no SignatureDateTime)",
                        ));
                    }
                    (None, _) => checks.push(fail(
                        "signer_chain",
                        OfdOutcome::UntrustedIssuer,
                        "the SignedData carries no certificate of its signer",
                    )),
                }
            }
            Ok(SignedValue::BareSm2(sig)) => {
                out.format = Some("sm2");
                out.signed_at = declared_time(entry).map(rfc3339);
                if self.keys.is_empty() {
                    checks.push(fail(
                        "signer_chain",
                        OfdOutcome::UntrustedIssuer,
                        "a bare SM2 signature names no signer and no key was given to check it with",
                    ));
                } else if self.keys.iter().any(|k| k.verify(xml, &sig).is_ok()) {
                    checks.push(pass(
                        "signature",
                        "SM2 over Signature.xml with a key given for bare signatures",
                    ));
                } else {
                    checks.push(fail(
                        "signature",
                        OfdOutcome::BadSignature,
                        "SM2 over Signature.xml verifies with none of the keys given",
                    ));
                }
            }
        }
        // Covered by this signature: its references and signature hold, and its data hash
        // where it has one (a bare signature covers Signature.xml directly).
        let holds = |name: &str| checks.iter().any(|c| c.check == name && c.ok);
        let data_hash_holds = holds("data_hash") || !checks.iter().any(|c| c.check == "data_hash");
        let intact = holds("references") && holds("signature") && data_hash_holds;
        out.outcome = SignatureReport::outcome_of(&checks);
        out.checks = checks;
        (out, intact)
    }

    /// The seal maker's signature, from the cache when these very bytes verified before.
    fn seal_signature(&self, seal: &ses::Seal) -> Result<(), SesError> {
        let key = gm::sm3_parts(&[
            &seal.maker_signed_bytes,
            &(seal.maker_signed_bytes.len() as u64).to_be_bytes(),
            &seal.maker_signature,
            &(seal.maker_signature.len() as u64).to_be_bytes(),
            &seal.maker_cert_der,
            seal.maker_signature_alg.as_bytes(),
        ]);
        if self.seals.read().is_ok_and(|c| c.contains(&key)) {
            return Ok(());
        }
        seal.verify_maker_signature()?;
        if let Ok(mut cache) = self.seals.write() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key);
        }
        Ok(())
    }

    /// A chain check of `cert` (alone: seals carry no intermediates) at `at`.
    fn chain(
        &self,
        name: &'static str,
        cert: &[u8],
        region: Option<&RegionCode>,
        at: i64,
        who: &str,
    ) -> OfdCheck {
        let usage = if name == "seal_maker_chain" {
            ChainUsage::SealMaker
        } else {
            ChainUsage::SealSigner
        };
        // The signer's certificate's own dates at the signing time are `signer_validity`'s
        // to judge (an `expired` failure); its chain is judged at the signing time brought
        // inside those dates, so that a signer whose certificate had lapsed is `expired` when
        // its chain is trusted and `untrusted_issuer` when it is not, rather than always
        // `untrusted_issuer`. The seal maker has no check of its own dates: its chain is
        // judged at the seal's making time as it stands.
        let key: ChainKey = (gm::sm3(cert), region.copied(), usage as u8);
        // A signer judged at a time inside its certificate's dates: the cached window is
        // those dates, so for a signer a cached path always answers.
        let bring_inside = |at: i64, (from, until): (i64, i64)| match usage {
            ChainUsage::SealSigner if from <= until => at.clamp(from, until),
            _ => at,
        };
        if let Ok(cache) = self.chains.read()
            && let Some((from, until, anchor)) = cache.get(&key)
            && (*from..=*until).contains(&bring_inside(at, (*from, *until)))
        {
            return pass(name, &format!("{who} chains to {anchor}"));
        }
        let window = crate::pki::cert::parse_der(cert).ok().map(|c| {
            (
                c.validity().not_before.timestamp(),
                c.validity().not_after.timestamp(),
            )
        });
        let at = window.map_or(at, |w| bring_inside(at, w));
        match self.trust.validate_for(&[cert.to_vec()], region, at, usage) {
            ChainVerdict::Trusted { anchor } => {
                if let Some((from, until)) = window
                    && let Ok(mut cache) = self.chains.write()
                {
                    if cache.len() >= CACHE_LIMIT {
                        cache.clear();
                    }
                    cache.insert(key, (from, until, anchor.clone()));
                }
                pass(name, &format!("{who} chains to {anchor}"))
            }
            ChainVerdict::NotBoundToRegion { anchor, .. } if region.is_none() => pass(
                name,
                &format!("{who} chains to {anchor} (the document names no region)"),
            ),
            ChainVerdict::NotBoundToRegion {
                anchor,
                anchor_regions,
            } => fail(
                name,
                OfdOutcome::UntrustedIssuer,
                &format!(
                    "{who} chains to {anchor}, which vouches for {} and not for region {}",
                    anchor_regions.join(", "),
                    region.map(|r| r.to_string()).unwrap_or_default()
                ),
            ),
            ChainVerdict::Untrusted(why) => {
                fail(name, OfdOutcome::UntrustedIssuer, &format!("{who}: {why}"))
            }
        }
    }
}

/// The `references` check: the digest method, and each referenced file's SM3.
fn references(ofd: &Ofd, entry: &SignatureEntry) -> OfdCheck {
    let info = &entry.signed_info;
    let method = info.check_method.as_deref().unwrap_or("");
    if !SM3_NAMES
        .iter()
        .any(|n| n.eq_ignore_ascii_case(method.trim()))
    {
        return fail(
            "references",
            OfdOutcome::UnsupportedAlgorithm,
            &format!("CheckMethod {method:?} is not SM3"),
        );
    }
    if info.references.is_empty() {
        return fail(
            "references",
            OfdOutcome::Malformed,
            "the signature references no file",
        );
    }
    let mut broken = Vec::new();
    for r in &info.references {
        match ofd.package.get(&r.file_ref) {
            None => broken.push(format!("/{} is not in the package", r.file_ref)),
            Some(bytes) if gm::sm3(bytes).as_slice() != r.check_value.as_slice() => {
                broken.push(format!("/{} does not match its digest", r.file_ref));
            }
            Some(_) => {}
        }
    }
    if broken.is_empty() {
        pass(
            "references",
            &format!(
                "{} files, each matching its SM3 digest",
                info.references.len()
            ),
        )
    } else {
        fail("references", OfdOutcome::Tampered, &broken.join("; "))
    }
}

/// The signing time `Signature.xml` declares (`SignatureDateTime`), for signatures that carry
/// none of their own.
fn declared_time(entry: &SignatureEntry) -> Option<i64> {
    parse_declared_time(entry.signed_info.signature_date_time.as_deref()?)
}

/// Reads a `SignatureDateTime` as vendors write it: RFC 3339, `YYYY-MM-DD HH:MM:SS` or
/// `YYYYMMDDHHMMSS` (China Standard Time when no zone is given), `YYYYMMDDHHMMSSZ` (UTC).
pub fn parse_declared_time(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let china = UtcOffset::from_hms(8, 0, 0).ok()?;
    let (body, offset) = match text.strip_suffix('Z') {
        Some(b) => (b, UtcOffset::UTC),
        None => (text, china),
    };
    let dashed = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let compact = format_description!("[year][month][day][hour][minute][second]");
    PrimitiveDateTime::parse(body, &dashed)
        .or_else(|_| PrimitiveDateTime::parse(body, &compact))
        .ok()
        .map(|t| t.assume_offset(offset).unix_timestamp())
}

/// The `signer_validity` check: the certificate's own dates around the signing time, and a
/// signing time not in the future.
fn validity(cert: &[u8], at: i64, now: i64) -> OfdCheck {
    let Ok(c) = crate::pki::cert::parse_der(cert) else {
        return fail(
            "signer_validity",
            OfdOutcome::Malformed,
            "the signer's certificate cannot be read",
        );
    };
    let from = c.validity().not_before.timestamp();
    let until = c.validity().not_after.timestamp();
    let dates = format!(
        "the signer's certificate is valid from {} to {}, and it signed at {}",
        beijing_time(from),
        beijing_time(until),
        beijing_time(at)
    );
    if at > now + MAX_CLOCK_SKEW {
        fail(
            "signer_validity",
            OfdOutcome::Expired,
            &format!(
                "signed in the future: {} is after {}",
                beijing_time(at),
                beijing_time(now)
            ),
        )
    } else if at < from || at > until {
        fail("signer_validity", OfdOutcome::Expired, &dates)
    } else {
        pass("signer_validity", &dates)
    }
}

/// The signer as its certificate names it.
fn signer_info(cert: &[u8]) -> Option<SignerInfo> {
    let c = crate::pki::cert::parse_der(cert).ok()?;
    Some(SignerInfo {
        subject: c.subject().to_string(),
        serial: c.raw_serial_as_string().replace(':', "").to_uppercase(),
        not_before: rfc3339(c.validity().not_before.timestamp()),
        not_after: rfc3339(c.validity().not_after.timestamp()),
    })
}

fn pass(check: &'static str, detail: &str) -> OfdCheck {
    OfdCheck {
        check,
        ok: true,
        detail: detail.to_owned(),
        fails_as: OfdOutcome::Valid,
    }
}

fn fail(check: &'static str, fails_as: OfdOutcome, detail: &str) -> OfdCheck {
    OfdCheck {
        check,
        ok: false,
        detail: detail.to_owned(),
        fails_as,
    }
}

/// A check from a [`ses`] result: its error mapped to the outcome it yields.
fn check_of(check: &'static str, r: Result<(), SesError>, what: &str) -> OfdCheck {
    match r {
        Ok(()) => pass(check, what),
        Err(e) => from_error(check, &e),
    }
}

fn from_error(check: &'static str, e: &SesError) -> OfdCheck {
    let fails_as = match e {
        SesError::Malformed { .. } | SesError::Build { .. } => OfdOutcome::Malformed,
        SesError::UnsupportedAlgorithm { .. } => OfdOutcome::UnsupportedAlgorithm,
        SesError::DataHashMismatch { .. } => OfdOutcome::Tampered,
        SesError::BadSignature { .. } => OfdOutcome::BadSignature,
        SesError::SignerNotInSeal | SesError::NoSignerCertificate => OfdOutcome::UntrustedIssuer,
        SesError::SealNotValid { .. } => OfdOutcome::Expired,
    };
    fail(check, fails_as, &e.to_string())
}
