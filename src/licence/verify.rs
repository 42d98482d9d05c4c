//! Licence verification: every check reported, one outcome.
//!
//! The order of work: the token is decoded strictly ([`crate::licence::jws::decode`]); a
//! token that cannot be decoded ends there as `malformed` or `unsupported_algorithm`. Then
//! every remaining check runs and is reported, and the outcome is the first failure in this
//! order: `malformed` (an `x5c` entry framed as DER but not a certificate), `bad_signature`,
//! `untrusted_issuer`, `bad_identifier`, `issuer_mismatch`, `not_yet_valid`, `expired`.
//! Live status (revoked, suspended, superseded) is the node's
//! business; the report keeps its place as `status: "not_checked"`.
//!
//! Certificate revocation is part of the chain check (rustls-webpki consults the CRLs while it
//! builds the path); the `chain.revocation` check says what that covered: for each CA on the
//! way up from the signer, the CRL it was checked against (its name, issuer, thisUpdate and
//! nextUpdate), or that no CRL was given for that CA, so that revocation was not checked there.
//! CRLs are optional: an unchecked CA does not fail the licence, the report only says so.
//!
//! Chain validation is cached by the SHA-256 fingerprint of the `x5c` chain: a cached path is
//! reused only for a signing time inside the common validity of every certificate in the
//! chain and for the same region, and the cache lives and dies with the [`Verifier`] and its
//! fixed anchors and CRLs.

use crate::codes::{HolderCode, HolderType, LicenceId, LicenceTypeCode, RegionCode, Uscc};
use crate::licence::jws::{Alg, DecodeError, Decoded, decode};
use crate::licence::model::Claims;
use crate::pki::cert::{Eku, PublicKey, SignerFacts, common_validity, signer_facts};
use crate::pki::trust::{ChainVerdict, Revocation, TrustStore};
use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
use serde::Serialize;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, OnceLock, RwLock};

/// How far in the future a signing time may lie, for clock skew between nodes (seconds).
pub const MAX_CLOCK_SKEW: i64 = 300;
/// Chains kept in the validation cache before it is emptied.
const CACHE_LIMIT: usize = 4096;
/// Path verdicts kept per chain (one per region asked for) before they are emptied.
const PATHS_PER_CHAIN_LIMIT: usize = 64;

/// The one outcome of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every check passed.
    Valid,
    /// Not a licence token: structure, JSON, header or payload is wrong.
    Malformed,
    /// `alg` is not ES256 or EdDSA.
    UnsupportedAlgorithm,
    /// The signature does not verify under the signer certificate's key.
    BadSignature,
    /// No valid path to a trust anchor, a signer not fit for licence signing, or a revoked one.
    UntrustedIssuer,
    /// `iss` or `lic.region` disagree with the signer certificate, or its anchor may not vouch
    /// for the licence's region.
    IssuerMismatch,
    /// An identifier (licence id, issuer, holder, type, region) fails its own validation.
    BadIdentifier,
    /// The licence's validity has not started (or it was signed in the future).
    NotYetValid,
    /// The licence's validity has ended.
    Expired,
}

impl Outcome {
    /// The outcome's stable name, as in reports and fixture file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Valid => "valid",
            Outcome::Malformed => "malformed",
            Outcome::UnsupportedAlgorithm => "unsupported_algorithm",
            Outcome::BadSignature => "bad_signature",
            Outcome::UntrustedIssuer => "untrusted_issuer",
            Outcome::IssuerMismatch => "issuer_mismatch",
            Outcome::BadIdentifier => "bad_identifier",
            Outcome::NotYetValid => "not_yet_valid",
            Outcome::Expired => "expired",
        }
    }

    /// The order in which a failure decides the outcome once a token has decoded: the first
    /// of these that some failed check yields is the outcome (docs/licence-format.md).
    pub const PRECEDENCE: [Outcome; 7] = [
        Outcome::Malformed,
        Outcome::BadSignature,
        Outcome::UntrustedIssuer,
        Outcome::BadIdentifier,
        Outcome::IssuerMismatch,
        Outcome::NotYetValid,
        Outcome::Expired,
    ];

    /// Every outcome.
    pub const ALL: [Outcome; 9] = [
        Outcome::Valid,
        Outcome::Malformed,
        Outcome::UnsupportedAlgorithm,
        Outcome::BadSignature,
        Outcome::UntrustedIssuer,
        Outcome::IssuerMismatch,
        Outcome::BadIdentifier,
        Outcome::NotYetValid,
        Outcome::Expired,
    ];
}

impl FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("unknown outcome {s:?}"))
    }
}

/// One check and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The check's stable name, e.g. `signature`, `chain`, `id.jti`.
    pub check: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, in words.
    pub detail: String,
    /// The outcome this check yields when it fails.
    #[serde(skip)]
    pub fails_as: Outcome,
}

/// Live status of the licence at its issuer: filled in by the node, not by this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveStatus {
    /// Not looked up: offline verification checks signature, chain and dates only.
    NotChecked,
}

/// The verification report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The one outcome.
    pub outcome: Outcome,
    /// When the licence was checked, RFC 3339.
    pub verified_at: String,
    /// Every check that ran, in order.
    pub checks: Vec<Check>,
    /// Live status at the issuer.
    pub status: LiveStatus,
    /// The signer certificate's subject, when `x5c` decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The decoded payload, when it decoded (not trusted unless `outcome` is `valid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licence: Option<Claims>,
}

impl Report {
    /// The first failed check, if any.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| !c.ok)
    }
}

struct CachedChain {
    facts: SignerFacts,
    /// Latest notBefore and earliest notAfter over every certificate in the chain.
    window: (i64, i64),
    /// Verdicts of paths found, by the region validated for (`None`: an invalid region).
    paths: RwLock<HashMap<Option<RegionCode>, ChainVerdict>>,
    /// How the chain stands against the CRLs, and the `chain.revocation` detail when it
    /// passes: both depend only on the chain and the verifier's fixed CRLs.
    revocation: OnceLock<(Vec<Revocation>, String)>,
}

/// Verifies licences against a fixed set of trust anchors and CRLs.
pub struct Verifier {
    trust: TrustStore,
    cache: RwLock<HashMap<[u8; 32], Arc<CachedChain>>>,
}

impl Verifier {
    /// A verifier over `trust`.
    pub fn new(trust: TrustStore) -> Self {
        Verifier {
            trust,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// The trust store this verifier uses.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// Verifies `token` as of `at` (seconds since the Unix epoch).
    pub fn verify(&self, token: &str, at: i64) -> Report {
        let mut r = Report {
            outcome: Outcome::Valid,
            verified_at: rfc3339(at),
            checks: Vec::new(),
            status: LiveStatus::NotChecked,
            signer: None,
            licence: None,
        };
        let decoded = match decode(token) {
            Ok(d) => d,
            Err(e) => {
                let (check, fails_as) = decode_check(&e);
                r.checks.push(Check {
                    check,
                    ok: false,
                    detail: e.to_string(),
                    fails_as,
                });
                r.outcome = fails_as;
                return r;
            }
        };
        r.checks.push(pass(
            "format",
            Outcome::Malformed,
            format!(
                "compact JWS, alg {}, typ licence+jwt, {} certificate(s) in x5c",
                decoded.alg.as_str(),
                decoded.x5c.len()
            ),
        ));
        self.check_decoded(&decoded, at, &mut r);
        r.licence = Some(decoded.claims);
        r.outcome = Outcome::PRECEDENCE
            .into_iter()
            .find(|o| r.checks.iter().any(|c| !c.ok && c.fails_as == *o))
            .unwrap_or(Outcome::Valid);
        r
    }

    fn check_decoded(&self, d: &Decoded<'_>, at: i64, r: &mut Report) {
        let claims = &d.claims;
        let ids = check_identifiers(claims, at, r);
        let (chain, new_fingerprint) = match self.chain(&d.x5c) {
            Ok(c) => c,
            Err(detail) => {
                r.checks.push(fail("x5c", Outcome::Malformed, detail));
                check_validity(claims, at, r);
                return;
            }
        };
        let facts = &chain.facts;
        r.signer = Some(facts.subject.clone());
        let signature = check_signature(d, &facts.key);
        let signature_ok = signature.ok;
        r.checks.push(signature);
        if let (true, Some(fp)) = (signature_ok, new_fingerprint) {
            self.remember(fp, &chain);
        }

        // The signer certificate must be fit for licence signing.
        r.checks.push(if facts.self_signed {
            fail(
                "signer.self_signed",
                Outcome::UntrustedIssuer,
                "the signer certificate is self-signed".into(),
            )
        } else {
            pass(
                "signer.self_signed",
                Outcome::UntrustedIssuer,
                "issued by another certificate".into(),
            )
        });
        r.checks.push(match facts.digital_signature {
            Some(true) => pass(
                "signer.key_usage",
                Outcome::UntrustedIssuer,
                "keyUsage includes digitalSignature".into(),
            ),
            Some(false) => fail(
                "signer.key_usage",
                Outcome::UntrustedIssuer,
                "keyUsage lacks digitalSignature".into(),
            ),
            None => fail(
                "signer.key_usage",
                Outcome::UntrustedIssuer,
                "no keyUsage extension".into(),
            ),
        });
        r.checks.push(match facts.eku {
            Eku::LicenceSigning => pass(
                "signer.eku",
                Outcome::UntrustedIssuer,
                "extendedKeyUsage includes licence signing".into(),
            ),
            Eku::Without => fail(
                "signer.eku",
                Outcome::UntrustedIssuer,
                "extendedKeyUsage lacks licence signing".into(),
            ),
            Eku::Absent => fail(
                "signer.eku",
                Outcome::UntrustedIssuer,
                "no extendedKeyUsage extension; licence signing is required".into(),
            ),
        });

        // A path to an anchor at the signing time, and that anchor's region binding.
        // Path building costs more than anything else here and fills the cache: a token whose
        // signature fails gets neither.
        let verdict = if signature_ok {
            self.path(&chain, &d.x5c, ids.region.as_ref(), claims.iat)
        } else {
            ChainVerdict::Untrusted("not checked: the signature does not verify".into())
        };
        let revocation = |chain_ok: bool| {
            if !signature_ok {
                return fail(
                    "chain.revocation",
                    Outcome::UntrustedIssuer,
                    "not checked: the signature does not verify".into(),
                );
            }
            let (entries, covered) = chain
                .revocation
                .get_or_init(|| revocation_facts(self.trust.revocation(&d.x5c)));
            check_revocation(entries, covered, chain_ok, at)
        };
        match verdict {
            ChainVerdict::Trusted { anchor } => {
                r.checks.push(pass(
                    "chain",
                    Outcome::UntrustedIssuer,
                    format!("valid at the signing time, to anchor {anchor}"),
                ));
                r.checks.push(revocation(true));
                r.checks.push(pass(
                    "anchor.region",
                    Outcome::IssuerMismatch,
                    format!("anchor is bound to region {}", claims.lic.region),
                ));
            }
            ChainVerdict::NotBoundToRegion {
                anchor,
                anchor_regions,
            } => {
                r.checks.push(pass(
                    "chain",
                    Outcome::UntrustedIssuer,
                    format!("valid at the signing time, to anchor {anchor}"),
                ));
                r.checks.push(revocation(true));
                r.checks.push(fail(
                    "anchor.region",
                    Outcome::IssuerMismatch,
                    format!(
                        "anchor {anchor} vouches for {} but the licence names region {:?}",
                        anchor_regions.join(", "),
                        claims.lic.region
                    ),
                ));
            }
            ChainVerdict::Untrusted(detail) => {
                r.checks
                    .push(fail("chain", Outcome::UntrustedIssuer, detail));
                r.checks.push(revocation(false));
            }
        }

        // The signer certificate must name the issuer and region the licence claims.
        r.checks.push(if facts.usccs.contains(&claims.iss) {
            pass(
                "binding.iss",
                Outcome::IssuerMismatch,
                "iss is named by the signer certificate".into(),
            )
        } else {
            fail(
                "binding.iss",
                Outcome::IssuerMismatch,
                format!(
                    "iss {} is not among the signer certificate's issuers [{}]",
                    claims.iss,
                    facts.usccs.join(", ")
                ),
            )
        });
        r.checks
            .push(if facts.regions.contains(&claims.lic.region) {
                pass(
                    "binding.region",
                    Outcome::IssuerMismatch,
                    "lic.region is named by the signer certificate".into(),
                )
            } else {
                fail(
                    "binding.region",
                    Outcome::IssuerMismatch,
                    format!(
                        "lic.region {} is not among the signer certificate's regions [{}]",
                        claims.lic.region,
                        facts.regions.join(", ")
                    ),
                )
            });
        check_validity(claims, at, r);
    }

    /// The facts of a chain: from the cache, or parsed now (with the fingerprint to remember
    /// them under, which [`Self::remember`] does only for a chain that signed something).
    fn chain(&self, x5c: &[Vec<u8>]) -> Result<(Arc<CachedChain>, Option<[u8; 32]>), String> {
        let fp = fingerprint(x5c);
        if let Some(hit) = self.cache.read().ok().and_then(|c| c.get(&fp).cloned()) {
            return Ok((hit, None));
        }
        let leaf = x5c.first().ok_or("x5c is empty")?;
        let facts = signer_facts(leaf).map_err(|e| e.to_string())?;
        let window = common_validity(x5c).map_err(|e| e.to_string())?;
        let entry = Arc::new(CachedChain {
            facts,
            window,
            paths: RwLock::new(HashMap::new()),
            revocation: OnceLock::new(),
        });
        Ok((entry, Some(fp)))
    }

    /// Keeps a chain seen for the first time, once a signature under it has verified.
    fn remember(&self, fp: [u8; 32], entry: &Arc<CachedChain>) {
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(fp, entry.clone());
        }
    }

    /// The path verdict for `chain` at signing time `iat`, from the cache when it applies.
    fn path(
        &self,
        chain: &CachedChain,
        x5c: &[Vec<u8>],
        region: Option<&RegionCode>,
        iat: i64,
    ) -> ChainVerdict {
        let in_window = chain.window.0 <= iat && iat <= chain.window.1;
        let key = region.copied();
        if in_window && let Some(v) = chain.paths.read().ok().and_then(|p| p.get(&key).cloned()) {
            return v;
        }
        let verdict = self.trust.validate(x5c, region, iat);
        // A found path holds for every time in the window; a failure may depend on the time.
        if in_window
            && !matches!(verdict, ChainVerdict::Untrusted(_))
            && let Ok(mut p) = chain.paths.write()
        {
            if p.len() >= PATHS_PER_CHAIN_LIMIT {
                p.clear();
            }
            p.insert(key, verdict.clone());
        }
        verdict
    }
}

fn fingerprint(x5c: &[Vec<u8>]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for der in x5c {
        ctx.update(&(der.len() as u64).to_be_bytes());
        ctx.update(der);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

fn pass(check: &'static str, fails_as: Outcome, detail: String) -> Check {
    Check {
        check,
        ok: true,
        detail,
        fails_as,
    }
}

fn fail(check: &'static str, fails_as: Outcome, detail: String) -> Check {
    Check {
        check,
        ok: false,
        detail,
        fails_as,
    }
}

fn decode_check(e: &DecodeError) -> (&'static str, Outcome) {
    match e {
        DecodeError::TooLarge(_) => ("size", Outcome::Malformed),
        DecodeError::Structure(_) => ("structure", Outcome::Malformed),
        DecodeError::Header(_) => ("header", Outcome::Malformed),
        DecodeError::AlgMissing => ("alg", Outcome::Malformed),
        DecodeError::UnsupportedAlg(_) => ("alg", Outcome::UnsupportedAlgorithm),
        DecodeError::Typ(_) => ("typ", Outcome::Malformed),
        DecodeError::Crit(_) => ("crit", Outcome::Malformed),
        DecodeError::KeySource(_) => ("key_source", Outcome::Malformed),
        DecodeError::X5c(_) => ("x5c", Outcome::Malformed),
        DecodeError::Payload(_) => ("payload", Outcome::Malformed),
        DecodeError::Claims(_) => ("claims", Outcome::Malformed),
    }
}

fn check_signature(d: &Decoded<'_>, key: &PublicKey) -> Check {
    let bad = |detail: String| fail("signature", Outcome::BadSignature, detail);
    if d.signature.len() != 64 {
        let hint = if d.signature.first() == Some(&0x30) {
            " (DER-encoded? JWS wants raw r‖s)"
        } else {
            ""
        };
        return bad(format!(
            "signature is {} bytes, {} needs 64{hint}",
            d.signature.len(),
            d.alg.as_str()
        ));
    }
    let verified = match (d.alg, key) {
        (Alg::Es256, PublicKey::P256(pk)) => {
            let (r, s) = d.signature.split_at(32);
            if r.iter().all(|b| *b == 0) || s.iter().all(|b| *b == 0) {
                return bad("ECDSA signature has r = 0 or s = 0".into());
            }
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pk)
                .verify(d.signing_input, &d.signature)
        }
        (Alg::EdDsa, PublicKey::Ed25519(pk)) => {
            UnparsedPublicKey::new(&ED25519, pk).verify(d.signing_input, &d.signature)
        }
        (alg, key) => {
            return bad(format!(
                "alg {} does not match the signer's {} key",
                alg.as_str(),
                key.kind()
            ));
        }
    };
    match verified {
        Ok(()) => pass(
            "signature",
            Outcome::BadSignature,
            format!(
                "{} signature verifies under the signer certificate's key",
                d.alg.as_str()
            ),
        ),
        Err(_) => bad("signature does not verify under the signer certificate's key".into()),
    }
}

/// Names a certificate of the chain by its place: the signer, or the CA certificate by subject.
fn who(i: usize, e: &Revocation) -> String {
    if i == 0 {
        "the signer certificate".into()
    } else {
        format!("the CA certificate {}", e.subject)
    }
}

/// The facts of [`TrustStore::revocation`] and the `chain.revocation` detail when the chain
/// passes: per CA on the way up, the CRL it was checked against, or that none was given.
fn revocation_facts(entries: Vec<Revocation>) -> (Vec<Revocation>, String) {
    let parts: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| match &e.crl {
            Some(crl) => format!(
                "CRL {} issued by {}, thisUpdate {}, nextUpdate {}: {} is not on it",
                crl.name,
                crl.issuer,
                beijing_time(crl.this_update),
                crl.next_update.map_or_else(|| "none".into(), beijing_time),
                who(i, e)
            ),
            None => format!(
                "no CRL was given for {}, the issuer of {}: revocation not checked for that CA",
                e.issuer,
                who(i, e)
            ),
        })
        .collect();
    let detail = if parts.is_empty() {
        "no certificate of the chain has an issuer whose CRL could list it".into()
    } else {
        parts.join("; ")
    };
    (entries, detail)
}

/// The `chain.revocation` check. A certificate listed on its issuer's CRL fails it (the chain
/// check fails too: path validation consults the same CRLs); a chain that does not validate
/// leaves it unchecked; otherwise it passes, naming the CRLs, and a CRL past its nextUpdate at
/// `at` is said to be so (offline, its freshness is the operator's business, not a failure).
fn check_revocation(entries: &[Revocation], covered: &str, chain_ok: bool, at: i64) -> Check {
    if let Some((i, e, crl, since)) = entries
        .iter()
        .enumerate()
        .find_map(|(i, e)| Some((i, e, e.crl.as_ref()?, e.revoked_at?)))
    {
        return fail(
            "chain.revocation",
            Outcome::UntrustedIssuer,
            format!(
                "{} (serial {}) is revoked: CRL {} issued by {}, thisUpdate {}, lists it as \
                 revoked since {}",
                who(i, e),
                e.serial,
                crl.name,
                crl.issuer,
                beijing_time(crl.this_update),
                beijing_time(since)
            ),
        );
    }
    if !chain_ok {
        return fail(
            "chain.revocation",
            Outcome::UntrustedIssuer,
            "not checked: the chain does not validate".into(),
        );
    }
    let stale: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.crl.as_ref())
        .filter(|c| c.next_update.is_some_and(|n| n < at))
        .map(|c| c.name.as_str())
        .collect();
    let detail = if stale.is_empty() {
        covered.to_owned()
    } else {
        format!(
            "{covered}; at {} {} past its nextUpdate: revocations since may be missing",
            beijing_time(at),
            if stale.len() == 1 {
                format!("CRL {} is", stale[0])
            } else {
                format!("CRLs {} are", stale.join(", "))
            }
        )
    };
    pass("chain.revocation", Outcome::UntrustedIssuer, detail)
}

/// The identifiers that parsed, for the checks that need them.
struct Ids {
    region: Option<RegionCode>,
}

fn check_identifiers(c: &Claims, at: i64, r: &mut Report) -> Ids {
    let mut id_check = |check: &'static str, result: Result<(), String>, ok: &str| {
        r.checks.push(match result {
            Ok(()) => pass(check, Outcome::BadIdentifier, ok.into()),
            Err(e) => fail(check, Outcome::BadIdentifier, e),
        });
    };
    let jti = LicenceId::from_str(&c.jti);
    id_check(
        "id.jti",
        jti.as_ref().map(|_| ()).map_err(|e| format!("jti: {e}")),
        "licence id is a valid GB/T 36904 identifier",
    );
    let iss = Uscc::from_str(&c.iss);
    id_check(
        "id.iss",
        iss.as_ref().map(|_| ()).map_err(|e| format!("iss: {e}")),
        "issuer code is a valid 统一社会信用代码",
    );
    let type_code = LicenceTypeCode::from_str(&c.lic.type_code);
    id_check(
        "id.type_code",
        type_code
            .as_ref()
            .map(|_| ())
            .map_err(|e| format!("lic.type_code: {e}")),
        "licence type code is valid",
    );
    let region = RegionCode::from_str(&c.lic.region);
    id_check(
        "id.region",
        region
            .as_ref()
            .map(|_| ())
            .map_err(|e| format!("lic.region: {e}")),
        "region is a valid GB/T 2260 code",
    );
    let holder = HolderType::from_str(&c.lic.holder_type)
        .map_err(|e| format!("lic.holder_type: {e}"))
        .and_then(|t| {
            HolderCode::parse_at(t, &c.sub, cst_date(at))
                .map(|_| ())
                .map_err(|e| format!("sub: {e}"))
        });
    id_check("id.sub", holder, "holder code is valid for its holder type");
    // The licence id embeds the type, the issuer and the version: they must agree.
    let agree = match (&jti, &iss, &type_code) {
        (Ok(id), Ok(iss), Ok(tc)) => {
            if id.issuer() != iss {
                Err(format!("jti names issuer {} but iss is {iss}", id.issuer()))
            } else if id.type_code() != tc {
                Err(format!(
                    "jti names type {} but lic.type_code is {tc}",
                    id.type_code()
                ))
            } else if format!("{:03}", id.version()) != c.lic.version {
                Err(format!(
                    "jti names version {:03} but lic.version is {:?}",
                    id.version(),
                    c.lic.version
                ))
            } else {
                Ok(())
            }
        }
        _ => Err("cannot compare: an identifier above is invalid".into()),
    };
    id_check(
        "id.consistent",
        agree,
        "jti agrees with iss, lic.type_code and lic.version",
    );
    Ids {
        region: region.ok(),
    }
}

fn check_validity(c: &Claims, at: i64, r: &mut Report) {
    r.checks.push(if c.iat > at.saturating_add(MAX_CLOCK_SKEW) {
        fail(
            "time.iat",
            Outcome::NotYetValid,
            format!(
                "signed at {}, after {}",
                beijing_time(c.iat),
                beijing_time(at)
            ),
        )
    } else {
        pass(
            "time.iat",
            Outcome::NotYetValid,
            format!("signed at {}", beijing_time(c.iat)),
        )
    });
    r.checks.push(if c.nbf > at {
        fail(
            "time.nbf",
            Outcome::NotYetValid,
            format!("valid from {}", beijing_time(c.nbf)),
        )
    } else {
        pass(
            "time.nbf",
            Outcome::NotYetValid,
            format!("valid from {}", beijing_time(c.nbf)),
        )
    });
    r.checks.push(match c.exp {
        None => pass("time.exp", Outcome::Expired, "long-term (长期有效)".into()),
        Some(exp) if exp <= at => fail(
            "time.exp",
            Outcome::Expired,
            format!("expired at {}", beijing_time(exp)),
        ),
        Some(exp) => pass(
            "time.exp",
            Outcome::Expired,
            format!("valid until {}", beijing_time(exp)),
        ),
    });
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC.
pub fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{secs}"))
}

/// Formats seconds since the Unix epoch as RFC 3339 in China Standard Time, with its offset
/// (`2026-12-02T08:31:03+08:00`): how the reports' texts show a time to people in the regions.
/// Machine fields (`verified_at`, the JSON report's times) stay in UTC ([`rfc3339`]).
pub fn beijing_time(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.to_offset(time::macros::offset!(+8))
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{secs}"))
}

/// The calendar date in China Standard Time (UTC+8) at `secs` since the Unix epoch.
pub fn cst_date(secs: i64) -> time::Date {
    let t =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.to_offset(time::macros::offset!(+8)).date()
}
