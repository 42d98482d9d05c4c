//! Usage copies (加注件): a licence handed to a department for one matter and purpose, for a
//! short time, signed by the node's licence signer.
//!
//! A compact JWS, header `{"alg","typ":"usage-copy+jwt","x5c"}`, over
//! `{"licence","made_by":{"node","region"},"for","matter","purpose","made_at","valid_until"}`.
//! Checking one: the header, the signer chain to a trust anchor bound to `made_by.region` with
//! the licence-signing EKU, the signature, `made_at` not in the future and `valid_until` not
//! passed; then the licence inside is verified as any licence is.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

use crate::codes::RegionCode;
use crate::licence::issue::{IssueError, Signer};
use crate::licence::verify::rfc3339;
use crate::pki::cert::{Eku, PublicKey, signer_facts};
use crate::pki::trust::{ChainVerdict, TrustStore};

/// The `typ` of a usage copy.
pub const TYP: &str = "usage-copy+jwt";

/// Who made a usage copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MadeBy {
    /// The node id.
    pub node: String,
    /// Its region.
    pub region: String,
}

/// The payload of a usage copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageCopy {
    /// The licence (compact JWS), as issued.
    pub licence: String,
    /// The node that made the copy.
    pub made_by: MadeBy,
    /// The department it was made for.
    #[serde(rename = "for")]
    pub for_: String,
    /// The matter code.
    pub matter: String,
    /// The stated purpose.
    pub purpose: String,
    /// When it was made, RFC 3339.
    pub made_at: String,
    /// When it stops being valid (exclusive), RFC 3339.
    pub valid_until: String,
}

/// Signs a usage copy.
pub fn make(signer: &Signer, copy: &UsageCopy) -> Result<String, IssueError> {
    let payload = serde_json::to_vec(copy).map_err(|e| IssueError::Signing(e.to_string()))?;
    signer.sign_document(TYP, &payload)
}

/// Whether a token says it is a usage copy (by its header's `typ`), without trusting it.
pub fn is_usage_copy(token: &str) -> bool {
    let Some(h) = token.split('.').next() else {
        return false;
    };
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(h) else {
        return false;
    };
    // Typed and borrowed: the rest of the header (a licence's x5c) is skipped, not built.
    #[derive(Deserialize)]
    struct Typ<'a> {
        #[serde(borrow)]
        typ: Option<&'a str>,
    }
    serde_json::from_slice::<Typ<'_>>(&bytes)
        .ok()
        .and_then(|h| h.typ)
        .is_some_and(|t| t == TYP)
}

pub use crate::licence::annotated::{CopyRefusal as Refusal, refuse};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    typ: String,
    x5c: Vec<String>,
}

use crate::licence::annotated::{in_time, parse_time};

/// Checks a compact JWS document of type `typ` signed by a licence signer: the header, the
/// signer chain to a trust anchor bound to the region `claims` names (at the time it names),
/// the licence-signing EKU, the signer certificate naming that region, and the signature.
/// Returns the payload and the signer certificate (DER).
pub fn check_document<T: serde::de::DeserializeOwned>(
    token: &str,
    typ: &str,
    trust: &TrustStore,
    claims: impl FnOnce(&T) -> Result<(RegionCode, i64), Refusal>,
) -> Result<(T, Vec<u8>), Refusal> {
    let token = token.trim_end_matches(['\r', '\n']);
    if token.len() > 96 * 1024 {
        return Err(refuse("malformed", "a signed document is at most 96 KiB"));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err(refuse(
            "malformed",
            "a compact JWS has exactly three dot-separated segments",
        ));
    };
    let b64 = |seg: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(seg)
            .map_err(|e| refuse("malformed", format!("{what} is not base64url: {e}")))
    };
    let header: Header = serde_json::from_slice(&b64(h, "header")?)
        .map_err(|e| refuse("malformed", format!("header: {e}")))?;
    if header.typ != typ {
        return Err(refuse("malformed", format!("typ is not {typ}")));
    }
    let doc: T = serde_json::from_slice(&b64(p, "payload")?)
        .map_err(|e| refuse("malformed", format!("payload: {e}")))?;
    let signature = b64(s, "signature")?;
    if header.x5c.is_empty() || header.x5c.len() > 4 {
        return Err(refuse("malformed", "x5c must hold 1 to 4 certificates"));
    }
    let mut chain = header
        .x5c
        .iter()
        .map(|c| STANDARD.decode(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| refuse("malformed", format!("x5c: {e}")))?;
    let (region, signed_at) = claims(&doc)?;

    let facts = signer_facts(&chain[0]).map_err(|e| refuse("untrusted_issuer", e.to_string()))?;
    if facts.eku != Eku::LicenceSigning {
        return Err(refuse(
            "untrusted_issuer",
            "the signer certificate is not for licence signing",
        ));
    }
    let region_s = region.to_string();
    if !facts.regions.iter().any(|r| r == &region_s) {
        return Err(refuse(
            "untrusted_issuer",
            format!("the signer certificate does not name region {region}"),
        ));
    }
    match trust.validate(&chain, Some(&region), signed_at) {
        ChainVerdict::Trusted { .. } => {}
        ChainVerdict::NotBoundToRegion { anchor, .. } => {
            return Err(refuse(
                "untrusted_issuer",
                format!("{anchor} may not vouch for region {region}"),
            ));
        }
        ChainVerdict::Untrusted(why) => return Err(refuse("untrusted_issuer", why)),
    }
    let input = format!("{h}.{p}");
    let ok = match (header.alg.as_str(), &facts.key) {
        ("ES256", PublicKey::P256(pk)) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pk)
            .verify(input.as_bytes(), &signature)
            .is_ok(),
        ("EdDSA", PublicKey::Ed25519(pk)) => UnparsedPublicKey::new(&ED25519, pk)
            .verify(input.as_bytes(), &signature)
            .is_ok(),
        _ => false,
    };
    if !ok {
        return Err(refuse(
            "bad_signature",
            "the document's signature does not verify",
        ));
    }
    Ok((doc, chain.swap_remove(0)))
}

/// Checks a usage copy at `now` (Unix seconds): [`check_document`] under `made_by.region` at
/// `made_at`, `made_at` not in the future and `valid_until` not passed. The licence inside
/// is not checked here: the caller verifies it as any licence.
pub fn check(token: &str, trust: &TrustStore, now: i64) -> Result<UsageCopy, Refusal> {
    let (copy, _) = check_document::<UsageCopy>(token, TYP, trust, |copy| {
        let region = RegionCode::from_str(&copy.made_by.region)
            .map_err(|e| refuse("malformed", format!("made_by.region: {e}")))?;
        Ok((region, parse_time("made_at", &copy.made_at)?))
    })?;
    in_time(
        ("made_at", &copy.made_at),
        ("valid_until", &copy.valid_until),
        now,
    )?;
    Ok(copy)
}

/// What an OFD usage copy needs besides the licence: who it is for, the matter, the case (when
/// the lookup gave one), the purpose, and its times (Unix seconds).
pub struct OfdCopyFor<'a> {
    /// The department.
    pub department: &'a str,
    /// Its region.
    pub region: &'a RegionCode,
    /// The matter.
    pub matter: &'a crate::node::config::Matter,
    /// The case number.
    pub case: Option<&'a str>,
    /// The purpose, as it travels (a holder code in it as its keyed hash).
    pub purpose: &'a str,
    /// When it is made.
    pub made_at: i64,
    /// When it stops being valid (exclusive).
    pub valid_until: i64,
}

/// The OFD usage copy (加注件) of this node's licence `id` (its compact JWS `token`), made by
/// this node's seal signer: the stored 原件 (or, for a licence issued before the node had a
/// seal, the 原件 made again from its payload, which gives the same bytes it would have had)
/// with the annotation and the node's seal. `None` when the node has no seal, or when the 原件
/// cannot be made (the seal was not valid when the licence was signed).
pub fn make_ofd(
    node: &crate::node::Node,
    id: &str,
    token: &str,
    copy: &OfdCopyFor<'_>,
) -> Result<Option<Vec<u8>>, super::RuleError> {
    use crate::licence::annotated::{UsageAnnotation, annotate};
    let Some(signer) = &node.ofd_signer else {
        return Ok(None);
    };
    let original = match node
        .log
        .state()
        .licence_ofd(id)
        .map_err(super::RuleError::storage)?
    {
        Some(ofd) => ofd,
        // The payload is decoded only for a licence without a stored 原件.
        None => match crate::licence::jws::decode(token)
            .map_err(|e| e.to_string())
            .and_then(|d| signer.original(&d.claims).map_err(|e| e.to_string()))
        {
            Ok(ofd) => ofd,
            Err(e) => {
                tracing::warn!(licence = %id, error = %e, "no OFD 原件 for a usage copy");
                return Ok(None);
            }
        },
    };
    let annotation = UsageAnnotation {
        licence: id.to_owned(),
        made_by_node: node.config.node_id.clone(),
        made_by_region: node.config.region.to_string(),
        department: copy.department.to_owned(),
        department_region: copy.region.to_string(),
        matter: copy.matter.code.clone(),
        matter_name: copy.matter.name.clone(),
        case: copy.case.map(str::to_owned),
        purpose: copy.purpose.to_owned(),
        made_at: rfc3339(copy.made_at),
        valid_until: rfc3339(copy.valid_until),
    };
    annotate(
        &original,
        &annotation,
        signer,
        copy.made_at,
        copy.valid_until,
    )
    .map(Some)
    .map_err(super::RuleError::internal)
}

/// Checks an OFD usage copy at `now`: every seal valid and every file covered (by `verifier`,
/// whose anchors bind each to the licence's region), the annotation present and readable,
/// naming the licence the metadata names and made by that licence's region, made not in the
/// future and still valid. Returns the annotation and the verification report.
pub fn check_ofd(
    verifier: &crate::ofd::verify::OfdVerifier,
    file: &[u8],
    now: i64,
) -> Result<
    (
        crate::licence::annotated::UsageAnnotation,
        crate::ofd::report::OfdReport,
    ),
    Refusal,
> {
    let (report, annotation) = crate::licence::annotated::verify_file(verifier, file, now);
    let annotation = annotation
        .ok_or_else(|| refuse("malformed", "the OFD file is not a usage copy (加注件)"))?
        .map_err(|e| refuse("malformed", format!("the usage annotation: {e}")))?;
    crate::licence::annotated::check(&report, &annotation, now)?;
    Ok((annotation, report))
}

pub use crate::licence::annotated::annotation_of;
