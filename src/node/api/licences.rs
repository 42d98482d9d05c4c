//! `POST /v1/licences`, `POST /v1/licences/{id}/versions`, `POST` and `GET
//! /v1/licences/{id}/status`: issuing, new versions, status changes and reads.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::audit::entry::format_time;
use crate::licence::issue::IssueError;
use crate::licence::model::IssuanceRequest;
use crate::node::config::Role;
use crate::node::state::{
    LicenceRecord, Status, StatusChange, holder_key, licence_key, put_empty, put_json,
};

use super::dispatch::{Answer, Ctx};
use super::error::{ApiError, bad, fail, internal, json_err};
use super::input::{
    HolderRef, free_text, holder_in_entry, licence_id, load_licence, now_ms, parse_json, quoted,
};

/// Longest status reason, in characters.
pub(super) const MAX_REASON_CHARS: usize = 200;

// ---------------------------------------------------------------------------------------------
// Licences.

pub(super) fn issue_error(e: IssueError) -> ApiError {
    match e {
        IssueError::Request(m) => bad("invalid_request", m),
        other => internal(other.to_string()),
    }
}

pub(super) fn new_record(
    ctx: &Ctx,
    issued: &crate::licence::issue::Issued,
    holder: &str,
    reason: &str,
) -> LicenceRecord {
    LicenceRecord {
        id: issued.id.to_string(),
        token: issued.token.clone(),
        type_code: issued.claims.lic.type_code.clone(),
        holder_type: issued.claims.lic.holder_type.clone(),
        holder: holder.to_owned(),
        status: Status::Active,
        history: vec![StatusChange {
            status: Status::Active,
            reason: reason.to_owned(),
            at: format_time(now_ms()),
            by: ctx.caller.id.clone(),
        }],
        superseded_by: None,
    }
}

pub(super) fn issue(ctx: &mut Ctx, bytes: &[u8]) -> Result<Answer, ApiError> {
    let req: IssuanceRequest = parse_json(bytes)?;
    let (_, hash) = holder_in_entry(ctx, &HolderRef::of(&req.holder))?;
    let issued = ctx
        .node
        .signer
        .issue(&req, now_ms() / 1000)
        .map_err(issue_error)?;
    ctx.draft.licence = Some(issued.id.clone());
    ctx.detail("type_code", issued.claims.lic.type_code.clone());
    let record = new_record(ctx, &issued, hash.as_str(), "issued");
    let id = record.id.clone();
    let mut a = Answer::json(
        StatusCode::CREATED,
        json!({"id": id, "licence": issued.token}),
    );
    a.writes = vec![
        put_json(licence_key(&id), &record).map_err(json_err)?,
        put_empty(holder_key(hash.as_str(), &id)),
    ];
    Ok(a)
}

pub(super) async fn amend(ctx: &mut Ctx, id: &str, bytes: &[u8]) -> Result<Answer, ApiError> {
    let previous = licence_id(ctx, id)?;
    let req: IssuanceRequest = parse_json(bytes)?;
    let guard = ctx.node.locks.lock(crate::node::locks::licence(id)).await;
    let Some(mut old) = load_licence(ctx, id)? else {
        return Err(fail(StatusCode::NOT_FOUND, "not_found", "no such licence"));
    };
    ctx.detail("previous", id);
    if old.status != Status::Active {
        // A suspended licence gets no new version: that would lift the suspension unlogged.
        return Err(fail(
            StatusCode::CONFLICT,
            "invalid_transition",
            format!(
                "the licence is {}; only an active licence gets a new version",
                old.status.as_str()
            ),
        ));
    }
    let (_, hash) = holder_in_entry(ctx, &HolderRef::of(&req.holder))?;
    if hash.as_str() != old.holder {
        return Err(bad(
            "holder_mismatch",
            "a new version keeps the holder of the licence it replaces",
        ));
    }
    let issued = ctx
        .node
        .signer
        .issue_next_version(&req, now_ms() / 1000, &previous)
        .map_err(issue_error)?;
    let new_id = issued.id.to_string();
    ctx.draft.licence = Some(issued.id.clone());
    let record = new_record(ctx, &issued, hash.as_str(), &format!("new version of {id}"));
    old.status = Status::Superseded;
    old.superseded_by = Some(new_id.clone());
    old.history.push(StatusChange {
        status: Status::Superseded,
        reason: format!("replaced by {new_id}"),
        at: format_time(now_ms()),
        by: ctx.caller.id.clone(),
    });
    let mut a = Answer::json(
        StatusCode::CREATED,
        json!({"id": new_id, "licence": issued.token, "previous": id}),
    );
    a.writes = vec![
        put_json(licence_key(&new_id), &record).map_err(json_err)?,
        put_empty(holder_key(hash.as_str(), &new_id)),
        put_json(licence_key(id), &old).map_err(json_err)?,
    ];
    a.guard = Some(guard);
    Ok(a)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusRequest {
    pub(super) status: String,
    pub(super) reason: String,
}

pub(super) async fn set_status(ctx: &mut Ctx, id: &str, bytes: &[u8]) -> Result<Answer, ApiError> {
    licence_id(ctx, id)?;
    let req: StatusRequest = parse_json(bytes)?;
    let to = match req.status.as_str() {
        "active" => Status::Active,
        "suspended" => Status::Suspended,
        "revoked" => Status::Revoked,
        other => {
            return Err(bad(
                "invalid_request",
                format!(
                    "status {}: one of active, suspended, revoked (a new version supersedes \
                     a licence)",
                    quoted(other)
                ),
            ));
        }
    };
    free_text("reason", &req.reason, MAX_REASON_CHARS)?;
    ctx.detail("to", to.as_str());
    let guard = ctx.node.locks.lock(crate::node::locks::licence(id)).await;
    let Some(mut rec) = load_licence(ctx, id)? else {
        return Err(fail(StatusCode::NOT_FOUND, "not_found", "no such licence"));
    };
    ctx.detail("from", rec.status.as_str());
    if !rec.status.may_become(to) {
        return Err(fail(
            StatusCode::CONFLICT,
            "invalid_transition",
            format!(
                "a {} licence cannot become {}",
                rec.status.as_str(),
                to.as_str()
            ),
        ));
    }
    rec.status = to;
    rec.history.push(StatusChange {
        status: to,
        // Free text by a department: a holder code in it is stored as its keyed hash only.
        reason: ctx.node.holder_key.redact(&req.reason),
        at: format_time(now_ms()),
        by: ctx.caller.id.clone(),
    });
    let mut a = Answer::json(
        StatusCode::OK,
        json!({"id": id, "status": to, "history": rec.history}),
    );
    a.writes = vec![put_json(licence_key(id), &rec).map_err(json_err)?];
    a.guard = Some(guard);
    Ok(a)
}

/// A licence's status and history. The reasons (free text written by the issuer, which may
/// name people or circumstances) and who made each change are shown only to this region's
/// issuers and auditors; every other caller, partners' nodes and departments included, sees
/// each change's status and time.
pub(super) fn get_status(ctx: &mut Ctx, id: &str) -> Result<Answer, ApiError> {
    licence_id(ctx, id)?;
    let Some(rec) = load_licence(ctx, id)? else {
        return Err(fail(StatusCode::NOT_FOUND, "not_found", "no such licence"));
    };
    let full = ctx
        .department()
        .is_some_and(|d| d.roles.contains(&Role::Issuer) || d.roles.contains(&Role::Auditor));
    ctx.detail("reasons_shown", full);
    let history: Vec<Value> = if full {
        rec.history
            .iter()
            .map(|c| json!({"status": c.status, "reason": c.reason, "at": c.at, "by": c.by}))
            .collect()
    } else {
        rec.history
            .iter()
            .map(|c| json!({"status": c.status, "at": c.at}))
            .collect()
    };
    Ok(Answer::json(
        StatusCode::OK,
        json!({
            "id": id,
            "status": rec.status,
            "history": history,
            "superseded_by": rec.superseded_by,
        }),
    ))
}
