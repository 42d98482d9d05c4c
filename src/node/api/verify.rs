//! `POST /v1/verify`: a licence, a usage copy or an OFD file.

use std::str::FromStr;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::codes::{HolderCode, HolderType, LicenceId};
use crate::licence::verify::Outcome;
use crate::node::state::Status;
use crate::node::usage::{self};

use super::dispatch::{Answer, Ctx, Payload};
use super::error::{ApiError, bad, internal, json_err};
use super::input::{MAX_PURPOSE_CHARS, free_text, load_record, now_ms, parse_json};

/// Only a licence's status.
#[derive(Deserialize)]
pub(super) struct StatusOnly {
    pub(super) status: Status,
}

// ---------------------------------------------------------------------------------------------
// Verification.

/// The body of `POST /v1/verify`: exactly one of `licence` and `ofd`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyRequest {
    /// A licence or a usage copy, compact JWS.
    #[serde(default)]
    pub(super) licence: Option<String>,
    /// An OFD file, standard base64.
    #[serde(default)]
    pub(super) ofd: Option<String>,
    pub(super) purpose: String,
}

/// What `POST /v1/verify` was given to verify.
pub(super) enum Document {
    /// A licence or a usage copy, compact JWS.
    Licence(String),
    /// An OFD file, standard base64.
    Ofd(String),
}

pub(super) async fn verify(ctx: &mut Ctx, bytes: &[u8]) -> Result<Answer, ApiError> {
    let req: VerifyRequest = parse_json(bytes)?;
    let document = match (req.licence, req.ofd) {
        (Some(licence), None) => Document::Licence(licence),
        (None, Some(ofd)) => Document::Ofd(ofd),
        (Some(_), Some(_)) => {
            return Err(bad(
                "licence_or_ofd",
                "give one document to verify, `licence` or `ofd`, not both",
            ));
        }
        (None, None) => {
            return Err(bad(
                "licence_or_ofd",
                "give a document to verify: `licence` (a licence or usage copy) or `ofd` (an \
                 OFD file, base64)",
            ));
        }
    };
    free_text("purpose", &req.purpose, MAX_PURPOSE_CHARS)?;
    ctx.draft.purpose = Some(req.purpose);
    let licence = match document {
        Document::Licence(licence) => licence,
        Document::Ofd(ofd) => return verify_ofd(ctx, &ofd).await,
    };
    let now = now_ms() / 1000;
    let mut body = Map::new();
    let token = if usage::is_usage_copy(&licence) {
        match usage::check(&licence, ctx.node.verifier.trust(), now) {
            Ok(copy) => {
                ctx.detail("usage_copy", true);
                ctx.draft.matter = Some(copy.matter.clone());
                body.insert(
                    "usage_copy".into(),
                    json!({
                        "made_by": copy.made_by,
                        "for": copy.for_,
                        "matter": copy.matter,
                        "purpose": copy.purpose,
                        "made_at": copy.made_at,
                        "valid_until": copy.valid_until,
                    }),
                );
                copy.licence
            }
            Err(refusal) => {
                let mut a = Answer::json(
                    StatusCode::OK,
                    json!({
                        "outcome": refusal.outcome,
                        "usage_copy": {"outcome": refusal.outcome, "detail": refusal.detail},
                        "status": "not_checked",
                    }),
                );
                a.outcome = refusal.outcome.to_owned();
                return Ok(a);
            }
        }
    } else {
        licence
    };
    let report = ctx.node.verifier.verify(&token, now);
    let mut outcome = report.outcome.as_str().to_owned();
    let mut status = "not_checked".to_owned();
    if let Some(claims) = &report.licence {
        if let Ok(id) = LicenceId::from_str(&claims.jti) {
            ctx.draft.licence = Some(id);
        }
        if let (Ok(t), true) = (
            HolderType::from_str(&claims.lic.holder_type),
            report.outcome == Outcome::Valid,
        ) && let Ok(h) = HolderCode::parse(t, &claims.sub)
        {
            ctx.draft.holder = Some(ctx.node.holder_key.holder_hash(&h));
        }
        let node = ctx.node.clone();
        let partner = crate::codes::RegionCode::from_str(&claims.lic.region)
            .ok()
            .and_then(|r| node.federation.partner(&r));
        if let (Some(link), Outcome::Valid) = (partner, report.outcome) {
            // A partner's licence: recognised at signing time, a signer its trust list lists,
            // and live status from the partner itself.
            if let Some((refused, detail)) = crate::node::federation::partner_refusal(
                link,
                &token,
                &claims.lic.type_code,
                claims.iat,
            ) {
                outcome = refused.to_owned();
                ctx.detail("refused", detail.clone());
                body.insert(
                    "federation".into(),
                    json!({"outcome": refused, "detail": detail}),
                );
            } else {
                match crate::node::federation::partner_status(&node, link, &claims.jti).await {
                    Ok(s) => {
                        if s != "active" {
                            outcome = s.clone();
                        }
                        status = s;
                    }
                    Err(e) => {
                        ctx.detail("status_error", e.clone());
                        status = "unknown".into();
                        outcome = "status_unknown".into();
                    }
                }
                ctx.detail("status_from", link.partner.region.to_string());
            }
        }
        // Live status for this node's own licences.
        if report.outcome == Outcome::Valid
            && claims.lic.region == ctx.node.config.region.to_string()
        {
            match load_record::<StatusOnly>(ctx, &claims.jti)? {
                // By jti, never by token bytes (ES256 signatures are malleable); the token
                // verified under an anchor for this region, so the id is this node's.
                Some(rec) => {
                    status = rec.status.as_str().to_owned();
                    if rec.status != Status::Active {
                        outcome = status.clone();
                    }
                }
                None => {
                    status = "unknown".into();
                    outcome = "status_unknown".into();
                }
            }
        }
    }
    // Serialised once, straight to bytes: the report is most of the answer.
    #[derive(serde::Serialize)]
    struct VerifyAnswer<'a> {
        outcome: &'a str,
        status: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        usage_copy: Option<&'a Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        federation: Option<&'a Value>,
        report: &'a crate::licence::verify::Report,
    }
    let bytes = serde_json::to_vec(&VerifyAnswer {
        outcome: &outcome,
        status: &status,
        usage_copy: body.get("usage_copy"),
        federation: body.get("federation"),
        report: &report,
    })
    .map_err(json_err)?;
    Ok(Answer {
        status: StatusCode::OK,
        body: Payload::JsonBytes(bytes),
        writes: Vec::new(),
        outcome,
        guard: None,
    })
}

/// `POST /v1/verify` with `ofd`: the file decoded, verified against the node's anchors on a
/// blocking thread (an OFD verification takes milliseconds: it inflates a zip, hashes every
/// file and checks several SM2 signatures), and answered with its report. The entry names the
/// file by its SM3 digest (never its bytes) and the licence the document's metadata names.
pub(super) async fn verify_ofd(ctx: &mut Ctx, b64: &str) -> Result<Answer, ApiError> {
    let file = B64.decode(b64).map_err(|e| {
        bad(
            "invalid_base64",
            format!("`ofd` is not standard base64 (RFC 4648, with padding): {e}"),
        )
    })?;
    ctx.detail(
        crate::audit::entry::OFD_SM3,
        hex::encode(crate::gm::sm3(&file)),
    );
    ctx.detail("ofd_bytes", file.len());
    let node = ctx.node.clone();
    // Held by the verification itself, which runs to its end even if this request is dropped.
    let place = node
        .ofd_verifications
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| internal(format!("OFD verification places: {e}")))?;
    let now = now_ms() / 1000;
    let report = tokio::task::spawn_blocking(move || {
        let _place = place;
        node.ofd_verifier.verify(&file, now)
    })
    .await
    .map_err(|e| internal(format!("the OFD verification ended: {e}")))?;
    if let Some(id) = report.licence_id.as_deref() {
        ctx.draft.licence = LicenceId::from_str(id).ok();
    }
    #[derive(serde::Serialize)]
    struct OfdAnswer<'a> {
        outcome: &'static str,
        status: &'static str,
        report: &'a crate::ofd::report::OfdReport,
    }
    let outcome = report.outcome.as_str();
    let bytes = serde_json::to_vec(&OfdAnswer {
        outcome,
        // No live status: an OFD licence is not one of this node's records.
        status: "not_checked",
        report: &report,
    })
    .map_err(json_err)?;
    Ok(Answer {
        status: StatusCode::OK,
        body: Payload::JsonBytes(bytes),
        writes: Vec::new(),
        outcome: outcome.to_owned(),
        guard: None,
    })
}
