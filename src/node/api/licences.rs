//! `POST /v1/licences`, `POST /v1/licences/{id}/versions`, `POST` and `GET
//! /v1/licences/{id}/status`: issuing, new versions, status changes and reads. The rules are in
//! [`rules::licences`](crate::node::rules::licences).

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::dispatch::{Answer, Ctx};
use super::error::ApiError;
use super::input::{licence_id, parse_json};
use crate::licence::model::IssuanceRequest;
use crate::node::rules::licences as rules;
use crate::node::state::{Status, StatusChange};

/// The answer to `POST /v1/licences`.
#[derive(Serialize)]
pub(super) struct IssueResponse {
    /// The licence id.
    pub(super) id: String,
    /// The licence, compact JWS.
    pub(super) licence: String,
}

/// The answer to `POST /v1/licences/{id}/versions`.
#[derive(Serialize)]
pub(super) struct AmendResponse {
    /// The new version's id.
    pub(super) id: String,
    /// The new version, compact JWS.
    pub(super) licence: String,
    /// The id of the version it supersedes.
    pub(super) previous: String,
}

/// The body of `POST /v1/licences/{id}/status`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusRequest {
    /// `active`, `suspended` or `revoked`.
    pub(super) status: String,
    /// Why, free text.
    pub(super) reason: String,
}

/// The answer to `POST /v1/licences/{id}/status`.
#[derive(Serialize)]
pub(super) struct SetStatusResponse<'a> {
    pub(super) id: &'a str,
    pub(super) status: Status,
    /// Every change, the new one last.
    pub(super) history: &'a [StatusChange],
}

/// One change in the answer to `GET /v1/licences/{id}/status`: its reason and author only for
/// those [`rules::reasons_shown`] names.
#[derive(Serialize)]
pub(super) struct HistoryItem<'a> {
    pub(super) status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) reason: Option<&'a str>,
    pub(super) at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) by: Option<&'a str>,
}

/// The answer to `GET /v1/licences/{id}/status`.
#[derive(Serialize)]
pub(super) struct StatusResponse<'a> {
    pub(super) id: &'a str,
    pub(super) status: Status,
    pub(super) history: Vec<HistoryItem<'a>>,
    pub(super) superseded_by: Option<&'a str>,
}

pub(super) fn issue(ctx: &mut Ctx, bytes: &[u8]) -> Result<Answer, ApiError> {
    let req: IssuanceRequest = parse_json(bytes)?;
    let (signed, change) = rules::issue(&mut ctx.access(), &req)?;
    let body = IssueResponse {
        id: signed.id,
        licence: signed.token,
    };
    Ok(Answer::json(StatusCode::CREATED, &body)?.with(change))
}

pub(super) async fn amend(ctx: &mut Ctx, id: &str, bytes: &[u8]) -> Result<Answer, ApiError> {
    let previous = licence_id(ctx, id)?;
    let req: IssuanceRequest = parse_json(bytes)?;
    let (signed, change) = rules::amend(&mut ctx.access(), &previous, &req).await?;
    let body = AmendResponse {
        id: signed.id,
        licence: signed.token,
        previous: id.to_owned(),
    };
    Ok(Answer::json(StatusCode::CREATED, &body)?.with(change))
}

pub(super) async fn set_status(ctx: &mut Ctx, id: &str, bytes: &[u8]) -> Result<Answer, ApiError> {
    let licence = licence_id(ctx, id)?;
    let req: StatusRequest = parse_json(bytes)?;
    let (rec, change) =
        rules::set_status(&mut ctx.access(), &licence, &req.status, &req.reason).await?;
    let body = SetStatusResponse {
        id,
        status: rec.status,
        history: &rec.history,
    };
    Ok(Answer::json(StatusCode::OK, &body)?.with(change))
}

/// A licence's status and history, its reasons as [`rules::reasons_shown`] says.
pub(super) fn get_status(ctx: &mut Ctx, id: &str) -> Result<Answer, ApiError> {
    let licence = licence_id(ctx, id)?;
    let department = ctx.department().cloned();
    let (rec, full) = rules::status(&mut ctx.access(), &licence, department.as_ref())?;
    let history = rec
        .history
        .iter()
        .map(|c| HistoryItem {
            status: c.status,
            reason: full.then_some(c.reason.as_str()),
            at: &c.at,
            by: full.then_some(c.by.as_str()),
        })
        .collect();
    let body = StatusResponse {
        id,
        status: rec.status,
        history,
        superseded_by: rec.superseded_by.as_deref(),
    };
    Answer::json(StatusCode::OK, &body)
}
