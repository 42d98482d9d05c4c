//! `POST /v1/lookups` and `POST /v1/federation/lookups`: 免证办 lookups here and across
//! partner regions. The rules are in [`rules::lookups`](crate::node::rules::lookups) and
//! [`rules::scope`](crate::node::rules::scope).

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dispatch::{Answer, Ctx};
use super::error::{ApiError, ErrorBody, forbidden, internal};
use super::input::parse_json;
use crate::audit::entry::{Action, Actor};
use crate::node::rules::basis::{Asked, DelegateRef, Mode};
use crate::node::rules::lookups::{
    self as rules, CopyFormat, Looked, LookupResult, Partial, Query, Regions,
};
use crate::node::rules::partners::ForwardedLookup;
use crate::node::rules::scope::Requester;
use crate::node::rules::{HolderRef, RuleError, is_code};

/// The body of `POST /v1/lookups`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LookupRequest {
    /// The holder whose licences are looked up.
    pub(super) holder: HolderRef,
    /// Only licences of this type.
    #[serde(default)]
    pub(super) type_code: Option<String>,
    /// The matter (事项) code, one the department's 用证清单 lists.
    pub(super) matter: String,
    /// Why, free text (at most 200 characters).
    pub(super) purpose: String,
    /// The holder's consent: required in modes `consent` and `delegate`, ignored in `duty`.
    #[serde(default)]
    pub(super) consent: Option<String>,
    /// The case number (业务流水号) the lookup serves: 1 to 64 characters, no white space, no
    /// `/`, no ID number. Required.
    #[serde(default)]
    #[schema(required = true, value_type = String, example = "370900-2026-000123")]
    pub(super) case: Option<String>,
    /// `duty` (依职能, statutory matters only), `consent` (授权用证) or `delegate` (委托).
    /// Required.
    #[serde(default)]
    #[schema(required = true, value_type = Mode)]
    pub(super) mode: Option<String>,
    /// The delegate acting for the holder: required in mode `delegate`, refused otherwise.
    #[serde(default)]
    pub(super) delegate: Option<DelegateRef>,
    /// Other regions to ask too: `"all"` or region codes (this one's among them or not).
    #[serde(default)]
    pub(super) regions: Option<Regions>,
    /// The usage copies' format: `"jws"` (the default) or `"ofd"` (OFD 加注件, base64).
    #[serde(default)]
    #[schema(value_type = Option<CopyFormat>)]
    pub(super) format: Option<String>,
}

/// The answer to a lookup: `partial` only for a lookup across regions.
#[derive(Serialize, ToSchema)]
pub(super) struct LookupResponse<'a> {
    /// The licences, at most 50.
    pub(super) results: &'a [LookupResult],
    /// The regions that did not answer; only for a lookup across regions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) partial: Option<&'a [Partial]>,
    /// More licences matched than were answered with.
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

/// A department's lookup (consumers): a holder's licences for a matter, here or (with
/// `regions`) here and at partner nodes, each active one with a usage copy.
#[utoipa::path(
    post,
    path = "/v1/lookups",
    tag = "lookups",
    request_body = LookupRequest,
    responses(
        (status = 200, description = "The licences found.", body = LookupResponse),
        (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_request`, `invalid_holder`, `invalid_case`, `invalid_mode`, `delegate_required`, `invalid_delegate`, `unknown_region`.", body = ErrorBody),
        (status = 403, description = "`forbidden_role`, `matter_not_allowed`, `mode_not_allowed`, `type_not_allowed`, `consent_required`, `consent_not_found`, `consent_mismatch`, `consent_withdrawn`, `consent_expired`, `consent_used_up`.", body = ErrorBody),
    )
)]
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
        format: CopyFormat::asked(req.format.as_deref())?,
        basis: Asked {
            case: req.case.as_deref(),
            mode: req.mode.as_deref(),
            delegate: req.delegate.as_ref(),
        },
    };
    let looked = match &req.regions {
        None => rules::lookup_here(&mut ctx.access(), &who, &q).await?,
        Some(regions) => rules::lookup_across(&mut ctx.access(), &who, &q, regions).await?,
    };
    answer(looked)
}

/// A partner node's lookup on behalf of one of its departments, under what the partner is
/// granted here.
#[utoipa::path(
    post,
    path = "/v1/federation/lookups",
    tag = "federation",
    request_body = ForwardedLookup,
    responses(
        (status = 200, description = "The licences found here.", body = LookupResponse),
        (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_request`, `invalid_holder`, `invalid_case`, `invalid_mode`, `delegate_required`, `invalid_delegate`.", body = ErrorBody),
        (status = 403, description = "Not a partner's node (`forbidden_role`), what the partner is not granted, `mode_not_allowed`, or a consent refusal.", body = ErrorBody),
    )
)]
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
        format: req.format,
        basis: Asked {
            case: req.case.as_deref(),
            mode: req.mode.as_deref(),
            delegate: req.delegate.as_ref(),
        },
    };
    answer(rules::lookup_here(&mut ctx.access(), &who, &q).await?)
}
