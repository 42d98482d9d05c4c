//! `POST /v1/lookups` and `POST /v1/federation/lookups`: 免证办 lookups here and across
//! partner regions. The rules are in [`rules::lookups`](crate::node::rules::lookups) and
//! [`rules::scope`](crate::node::rules::scope).

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::dispatch::{Answer, Ctx};
use super::error::{ApiError, forbidden, internal};
use super::input::parse_json;
use crate::audit::entry::{Action, Actor};
use crate::node::rules::lookups::{self as rules, Looked, LookupResult, Partial, Query, Regions};
use crate::node::rules::partners::ForwardedLookup;
use crate::node::rules::scope::Requester;
use crate::node::rules::{HolderRef, RuleError, is_code};

/// The body of `POST /v1/lookups`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LookupRequest {
    pub(super) holder: HolderRef,
    #[serde(default)]
    pub(super) type_code: Option<String>,
    pub(super) matter: String,
    pub(super) purpose: String,
    #[serde(default)]
    pub(super) consent: Option<String>,
    #[serde(default)]
    pub(super) regions: Option<Regions>,
}

/// The answer to a lookup: `partial` only for a lookup across regions.
#[derive(Serialize)]
pub(super) struct LookupResponse<'a> {
    pub(super) results: &'a [LookupResult],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) partial: Option<&'a [Partial]>,
    pub(super) more: bool,
}

/// The answer of what a lookup found, its consent spent with the entry.
fn answer(looked: Looked) -> Result<Answer, ApiError> {
    let body = LookupResponse {
        results: &looked.results,
        partial: looked.partial.as_deref(),
        more: looked.more,
    };
    Ok(Answer::json(StatusCode::OK, &body)?
        .outcome(looked.outcome)
        .with(looked.change))
}

/// A department's lookup: here, or (with `regions`) here and at partner nodes.
pub(super) async fn lookup(ctx: &mut Ctx, bytes: &[u8]) -> Result<Answer, ApiError> {
    let req: LookupRequest = parse_json(bytes)?;
    let dept = ctx
        .department()
        .cloned()
        .ok_or_else(|| internal("a consumer without a department"))?;
    let who = Requester::department(&dept, ctx.node.config.region);
    let q = Query {
        holder: &req.holder,
        type_code: req.type_code.as_ref(),
        matter: &req.matter,
        purpose: &req.purpose,
        consent: req.consent.as_ref(),
    };
    let looked = match &req.regions {
        None => rules::lookup_here(&mut ctx.access(), &who, &q).await?,
        Some(regions) => rules::lookup_across(&mut ctx.access(), &who, &q, regions).await?,
    };
    answer(looked)
}

/// A partner node's lookup on behalf of one of its departments, under what the partner is
/// granted here.
pub(super) async fn federated_lookup(ctx: &mut Ctx, bytes: &[u8]) -> Result<Answer, ApiError> {
    let Some(link) = ctx.node.federation.partner_node(&ctx.caller) else {
        ctx.draft.action = Action::AuthDenied;
        ctx.detail("wanted", "licence.lookup");
        return Err(forbidden(
            "forbidden_role",
            "only a partner region's node may forward lookups",
        ));
    };
    let partner = link.partner.region;
    let grant_types = link.partner.grant_types.clone();
    let grant_matters = link.partner.grant_matters.clone();
    let req: ForwardedLookup = parse_json(bytes)?;
    if !is_code(&req.department) {
        return Err(RuleError::Invalid("department: not a department id".into()).into());
    }
    ctx.detail(
        "on_behalf_of",
        serde_json::json!({"department": req.department, "region": partner.to_string()}),
    );
    ctx.draft.on_behalf_of = Some(Actor {
        id: req.department.clone(),
        region: Some(partner),
        cert_sha256: None,
    });
    let who = Requester::partner_department(&req.department, partner, &grant_types, &grant_matters);
    let q = Query {
        holder: &req.holder,
        type_code: req.type_code.as_ref(),
        matter: &req.matter,
        purpose: &req.purpose,
        consent: req.consent.as_ref(),
    };
    answer(rules::lookup_here(&mut ctx.access(), &who, &q).await?)
}
