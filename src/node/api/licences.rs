//! `POST /v1/licences`, `POST /v1/licences/{id}/versions`, `POST` and `GET
//! /v1/licences/{id}/status`: issuing, new versions, status changes and reads. The rules are in
//! [`rules::licences`](crate::node::rules::licences).

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dispatch::{Answer, Ctx};
use super::error::{ApiError, ErrorBody};
use super::input::{licence_id, parse_json};
use crate::licence::model::IssuanceRequest;
use crate::node::rules::licences as rules;
use crate::node::state::{Status, StatusChange};

/// The answer to `POST /v1/licences`.
#[derive(Serialize, ToSchema)]
pub(super) struct IssueResponse {
    /// The licence id.
    pub(super) id: String,
    /// The licence, compact JWS.
    pub(super) licence: String,
    /// Where its OFD 原件 is (`/v1/licences/{id}/ofd`); absent when the node has no seal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) ofd: Option<String>,
}

/// Where the OFD 原件 of `id` is served, when one was made.
fn ofd_path(id: &str, made: bool) -> Option<String> {
    made.then(|| format!("/v1/licences/{id}/ofd"))
}

/// The answer to `POST /v1/licences/{id}/versions`.
#[derive(Serialize, ToSchema)]
pub(super) struct AmendResponse {
    /// The new version's id.
    pub(super) id: String,
    /// The new version, compact JWS.
    pub(super) licence: String,
    /// The id of the version it supersedes.
    pub(super) previous: String,
    /// Where the new version's OFD 原件 is; absent when the node has no seal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) ofd: Option<String>,
}

/// The body of `POST /v1/licences/{id}/status`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusRequest {
    /// `active`, `suspended`, `rescinded`, `cancelled`, `lapsed` or `revoked`, or the national
    /// code of one of them (`01`, `02`, `03`, `04`, `05`, `07`).
    pub(super) status: String,
    /// Why, free text.
    pub(super) reason: String,
}

/// The answer to `POST /v1/licences/{id}/status`.
#[derive(Serialize, ToSchema)]
pub(super) struct SetStatusResponse<'a> {
    pub(super) id: &'a str,
    #[schema(schema_with = status_schema)]
    pub(super) status: Status,
    /// The status's national code.
    #[schema(schema_with = status_code_schema)]
    pub(super) status_code: &'static str,
    /// Every change, the new one last, each with its reason and author.
    pub(super) history: Vec<HistoryItem<'a>>,
}

/// One change of a licence's status: its reason and author only for those
/// [`rules::reasons_shown`] names (and in the answer to the change itself).
#[derive(Serialize, ToSchema)]
#[schema(as = StatusChange)]
pub(super) struct HistoryItem<'a> {
    #[schema(schema_with = status_schema)]
    pub(super) status: Status,
    #[schema(schema_with = status_code_schema)]
    pub(super) status_code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) reason: Option<&'a str>,
    pub(super) at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) by: Option<&'a str>,
}

/// The answer to `GET /v1/licences/{id}/status`.
#[derive(Serialize, ToSchema)]
pub(super) struct StatusResponse<'a> {
    pub(super) id: &'a str,
    #[schema(schema_with = status_schema)]
    pub(super) status: Status,
    #[schema(schema_with = status_code_schema)]
    pub(super) status_code: &'static str,
    pub(super) history: Vec<HistoryItem<'a>>,
    pub(super) superseded_by: Option<&'a str>,
}

impl<'a> HistoryItem<'a> {
    /// A change, with its reason and author when `full`.
    fn of(c: &'a StatusChange, full: bool) -> HistoryItem<'a> {
        HistoryItem {
            status: c.status,
            status_code: c.status.code(),
            reason: full.then_some(c.reason.as_str()),
            at: &c.at,
            by: full.then_some(c.by.as_str()),
        }
    }
}

/// The schema of a licence's status: the names [`Status`] has on the wire.
pub(super) fn status_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Status::ALL.map(Status::as_str)))
        .build()
}

/// The schema of a status's national code (docs/licence-status.md).
pub(super) fn status_code_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["01", "02", "03", "04", "05", "07"]))
        .description(Some(
            "01 有效 active, 02 暂扣 suspended, 03 撤销 rescinded, 04 注销 cancelled, 05 失效 \
             lapsed or superseded, 07 吊销 revoked",
        ))
        .build()
}

/// Issues a licence (issuers): signed, recorded active, indexed under its holder's keyed hash.
#[utoipa::path(
    post,
    path = "/v1/licences",
    tag = "licences",
    request_body(content = serde_json::Value,
        description = "An issuance request: `type_code`, `holder`, `fields`, `valid_from`, \
            `valid_until` (docs/api.md, docs/licence-format.md)."),
    responses(
        (status = 201, description = "Issued.", body = IssueResponse),
        (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_request`, `invalid_holder`.", body = ErrorBody),
        (status = 403, description = "Not an issuer (`forbidden_role`).", body = ErrorBody),
    )
)]
pub(super) fn issue(ctx: &mut Ctx, bytes: &[u8]) -> Result<Answer, ApiError> {
    let req: IssuanceRequest = parse_json(bytes)?;
    let (signed, change) = rules::issue(&mut ctx.access(), &req)?;
    let body = IssueResponse {
        ofd: ofd_path(&signed.id, signed.ofd),
        id: signed.id,
        licence: signed.token,
    };
    Ok(Answer::json(StatusCode::CREATED, &body)?.with(change))
}

/// A new version of an active licence (变更), for the same holder; the old one is superseded.
#[utoipa::path(
    post,
    path = "/v1/licences/{id}/versions",
    tag = "licences",
    params(("id" = String, Path, description = "The licence id (GB/T 36904).")),
    request_body(content = serde_json::Value, description = "An issuance request, as for `POST /v1/licences`."),
    responses(
        (status = 201, description = "The new version.", body = AmendResponse),
        (status = 400, description = "`invalid_licence_id`, `invalid_request`, `holder_mismatch`, …", body = ErrorBody),
        (status = 403, description = "Not an issuer (`forbidden_role`).", body = ErrorBody),
        (status = 404, description = "No such licence (`not_found`).", body = ErrorBody),
        (status = 409, description = "The licence is not active (`invalid_transition`).", body = ErrorBody),
    )
)]
pub(super) async fn amend(ctx: &mut Ctx, id: &str, bytes: &[u8]) -> Result<Answer, ApiError> {
    let previous = licence_id(ctx, id)?;
    let req: IssuanceRequest = parse_json(bytes)?;
    let (signed, change) = rules::amend(&mut ctx.access(), &previous, &req).await?;
    let body = AmendResponse {
        ofd: ofd_path(&signed.id, signed.ofd),
        id: signed.id,
        licence: signed.token,
        previous: id.to_owned(),
    };
    Ok(Answer::json(StatusCode::CREATED, &body)?.with(change))
}

/// Changes a licence's status: active ⇄ suspended, either → rescinded, cancelled, lapsed or
/// revoked (docs/licence-status.md).
#[utoipa::path(
    post,
    path = "/v1/licences/{id}/status",
    tag = "licences",
    params(("id" = String, Path, description = "The licence id (GB/T 36904).")),
    request_body = StatusRequest,
    responses(
        (status = 200, description = "Changed.", body = SetStatusResponse),
        (status = 400, description = "`invalid_licence_id`, `invalid_request`, …", body = ErrorBody),
        (status = 403, description = "Not an issuer (`forbidden_role`).", body = ErrorBody),
        (status = 404, description = "No such licence (`not_found`).", body = ErrorBody),
        (status = 409, description = "Not a change its status allows (`invalid_transition`).", body = ErrorBody),
    )
)]
pub(super) async fn set_status(ctx: &mut Ctx, id: &str, bytes: &[u8]) -> Result<Answer, ApiError> {
    let licence = licence_id(ctx, id)?;
    let req: StatusRequest = parse_json(bytes)?;
    let (rec, change) =
        rules::set_status(&mut ctx.access(), &licence, &req.status, &req.reason).await?;
    let body = SetStatusResponse {
        id,
        status: rec.status,
        status_code: rec.status.code(),
        history: rec
            .history
            .iter()
            .map(|c| HistoryItem::of(c, true))
            .collect(),
    };
    Ok(Answer::json(StatusCode::OK, &body)?.with(change))
}

/// A licence's status and history; each change's reason and author only for this region's
/// issuers and auditors.
#[utoipa::path(
    get,
    path = "/v1/licences/{id}/status",
    tag = "licences",
    params(("id" = String, Path, description = "The licence id (GB/T 36904).")),
    responses(
        (status = 200, description = "The status.", body = StatusResponse),
        (status = 400, description = "`invalid_licence_id`, `invalid_query`.", body = ErrorBody),
        (status = 404, description = "No such licence (`not_found`).", body = ErrorBody),
    )
)]
pub(super) fn get_status(ctx: &mut Ctx, id: &str) -> Result<Answer, ApiError> {
    let licence = licence_id(ctx, id)?;
    let department = ctx.department().cloned();
    let (rec, full) = rules::status(&mut ctx.access(), &licence, department.as_ref())?;
    let history = rec
        .history
        .iter()
        .map(|c| HistoryItem::of(c, full))
        .collect();
    let body = StatusResponse {
        id,
        status: rec.status,
        status_code: rec.status.code(),
        history,
        superseded_by: rec.superseded_by.as_deref(),
    };
    Answer::json(StatusCode::OK, &body)
}

/// The OFD 原件 of a licence (issuers, auditors), `application/ofd`, as issued: the same
/// licence as its JWS, sealed with the authority's electronic seal.
#[utoipa::path(
    get,
    path = "/v1/licences/{id}/ofd",
    tag = "licences",
    params(("id" = String, Path, description = "The licence id (GB/T 36904).")),
    responses(
        (status = 200, description = "The OFD file.", content_type = "application/ofd", body = Vec<u8>),
        (status = 400, description = "`invalid_licence_id`, `invalid_query`.", body = ErrorBody),
        (status = 403, description = "Not an issuer or auditor (`forbidden_role`).", body = ErrorBody),
        (status = 404, description = "No such licence (`not_found`), or one issued without an OFD (`no_ofd`).", body = ErrorBody),
    )
)]
pub(super) fn get_ofd(ctx: &mut Ctx, id: &str) -> Result<Answer, ApiError> {
    let licence = licence_id(ctx, id)?;
    let ofd = rules::original_of(&mut ctx.access(), &licence)?;
    Ok(Answer::raw(OFD_MEDIA_TYPE, ofd))
}

/// The media type of OFD files.
pub(super) const OFD_MEDIA_TYPE: &str = "application/ofd";
