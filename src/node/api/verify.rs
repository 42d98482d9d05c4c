//! `POST /v1/verify`: a licence, a usage copy or an OFD file. What a verification checks is in
//! [`rules::verify`](crate::node::rules::verify) and [`crate::ofd::verify`].

use std::str::FromStr;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dispatch::{Answer, Ctx};
use super::error::{ApiError, ErrorBody, bad, internal};
use super::input::parse_json;
use crate::codes::LicenceId;
use crate::node::rules::verify::{Checked, CopyFacts, FederationRefusal, OfdCopy};
use crate::node::rules::{self, MAX_PURPOSE_CHARS, free_text, now_ms};
use crate::node::state::Status;

/// The body of `POST /v1/verify`: exactly one of `licence` and `ofd`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyRequest {
    /// A licence or a usage copy, compact JWS.
    #[serde(default)]
    pub(super) licence: Option<String>,
    /// An OFD file, standard base64.
    #[serde(default)]
    pub(super) ofd: Option<String>,
    /// Why the caller verifies it, free text.
    pub(super) purpose: String,
}

/// The answer to `POST /v1/verify` with a licence or a usage copy that holds.
#[derive(Serialize, ToSchema)]
pub(super) struct VerifyResponse<'a> {
    pub(super) outcome: &'a str,
    pub(super) status: &'a str,
    /// The live status's national code, when there is a live status (docs/licence-status.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = super::licences::status_code_schema)]
    pub(super) status_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) usage_copy: Option<&'a CopyFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) federation: Option<&'a FederationRefusal>,
    /// The licence core's verification report, as `zhengzhao licence verify --json` prints
    /// it (docs/licence-format.md).
    #[schema(value_type = Object)]
    pub(super) report: &'a crate::licence::verify::Report,
}

/// Why a usage copy was refused, as `POST /v1/verify` answers it.
#[derive(Serialize, ToSchema)]
pub(super) struct UsageCopyRefusal<'a> {
    pub(super) outcome: &'a str,
    pub(super) detail: &'a str,
}

/// The answer to `POST /v1/verify` with a usage copy that does not hold.
#[derive(Serialize, ToSchema)]
pub(super) struct CopyRefusedResponse<'a> {
    pub(super) outcome: &'a str,
    pub(super) status: &'static str,
    pub(super) usage_copy: UsageCopyRefusal<'a>,
}

/// The answer to `POST /v1/verify` with an OFD file.
#[derive(Serialize, ToSchema)]
pub(super) struct OfdVerifyResponse<'a> {
    pub(super) outcome: &'a str,
    /// The live status of the licence the document names, when its seals hold and it is this
    /// region's or a partner's; else `not_checked`.
    pub(super) status: &'a str,
    /// The status's national code, when there is a live status (docs/licence-status.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = super::licences::status_code_schema)]
    pub(super) status_code: Option<&'static str>,
    /// What an OFD usage copy (加注件) that holds says, and whether it was made for the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) usage_copy: Option<OfdCopyFacts<'a>>,
    /// Why an OFD usage copy does not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) usage_copy_refused: Option<UsageCopyRefusal<'a>>,
    pub(super) report: &'a crate::ofd::report::OfdReport,
}

/// An OFD usage copy's annotation, and whether it names the calling department and region.
#[derive(Serialize, ToSchema)]
pub(super) struct OfdCopyFacts<'a> {
    #[serde(flatten)]
    pub(super) annotation: &'a crate::licence::annotated::UsageAnnotation,
    /// It names the caller's department and region (reported, not enforced: docs/api.md).
    pub(super) for_caller: bool,
}

/// The answers of `POST /v1/verify`, one of three shapes (this type only describes them).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // A description, never built.
pub(super) enum VerifyAnswer<'a> {
    /// A licence, or a usage copy that holds.
    Licence(VerifyResponse<'a>),
    /// A usage copy that does not hold.
    CopyRefused(CopyRefusedResponse<'a>),
    /// An OFD file.
    Ofd(OfdVerifyResponse<'a>),
}

/// What `POST /v1/verify` was given to verify.
enum Document {
    /// A licence or a usage copy, compact JWS.
    Licence(String),
    /// An OFD file, standard base64.
    Ofd(String),
}

/// Verifies a licence, a usage copy or an OFD file (verifiers and consumers): the signature
/// and chain, and for a licence its live status here or at its partner.
#[utoipa::path(
    post,
    path = "/v1/verify",
    tag = "verification",
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "The verification; its `outcome` says whether it holds.", body = VerifyAnswer),
        (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_request`, `licence_or_ofd`, `invalid_base64`.", body = ErrorBody),
        (status = 403, description = "Neither a verifier nor a consumer (`forbidden_role`).", body = ErrorBody),
        (status = 413, description = "The body is too large (`payload_too_large`).", body = ErrorBody),
    )
)]
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
    match rules::verify::licence(&mut ctx.access(), licence).await? {
        Checked::CopyRefused(refusal) => {
            let body = CopyRefusedResponse {
                outcome: refusal.outcome,
                status: "not_checked",
                usage_copy: UsageCopyRefusal {
                    outcome: refusal.outcome,
                    detail: &refusal.detail,
                },
            };
            Ok(Answer::json(StatusCode::OK, &body)?.outcome(refusal.outcome))
        }
        Checked::Verified(v) => {
            let body = VerifyResponse {
                outcome: &v.outcome,
                status: &v.status,
                status_code: Status::from_name(&v.status).map(Status::code),
                usage_copy: v.usage_copy.as_ref(),
                federation: v.federation.as_ref(),
                report: &v.report,
            };
            Ok(Answer::json(StatusCode::OK, &body)?.outcome(v.outcome.clone()))
        }
    }
}

/// `POST /v1/verify` with `ofd`: the file decoded, verified against the node's anchors on a
/// blocking thread (an OFD verification takes milliseconds: it inflates a zip, hashes every
/// file and checks several SM2 signatures), and answered with its report. The entry names the
/// file by its SM3 digest (never its bytes) and the licence the document's metadata names.
async fn verify_ofd(ctx: &mut Ctx, b64: &str) -> Result<Answer, ApiError> {
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
    let (report, annotation) = tokio::task::spawn_blocking(move || {
        let _place = place;
        crate::licence::annotated::verify_file(&node.ofd_verifier, &file, now)
    })
    .await
    .map_err(|e| internal(format!("the OFD verification ended: {e}")))?;
    if let Some(id) = report.licence_id.as_deref() {
        ctx.draft.licence = LicenceId::from_str(id).ok();
    }
    let department = ctx.department().map(|d| d.id.clone());
    let caller = department.as_deref().map(|d| (d, ctx.node.config.region));
    let v = rules::verify::ofd(&mut ctx.access(), &report, annotation, caller, now).await?;
    let (usage_copy, usage_copy_refused) = match &v.copy {
        OfdCopy::None => (None, None),
        OfdCopy::Holds {
            annotation,
            for_caller,
        } => (
            Some(OfdCopyFacts {
                annotation,
                for_caller: *for_caller,
            }),
            None,
        ),
        OfdCopy::Refused(r) => (
            None,
            Some(UsageCopyRefusal {
                outcome: r.outcome,
                detail: &r.detail,
            }),
        ),
    };
    let body = OfdVerifyResponse {
        outcome: &v.outcome,
        status: &v.status,
        status_code: Status::from_name(&v.status).map(Status::code),
        usage_copy,
        usage_copy_refused,
        report: &report,
    };
    Ok(Answer::json(StatusCode::OK, &body)?.outcome(v.outcome.clone()))
}
