//! `POST /v1/lookups` and `POST /v1/federation/lookups`: 免证办 lookups here and across
//! partner regions.

use std::str::FromStr;
use std::sync::Arc;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::audit::entry::{Action, Actor};
use crate::audit::store::{Table, Write};
use crate::codes::{HolderCode, HolderType, LicenceTypeCode};
use crate::licence::verify::rfc3339;
use crate::node::locks::KeyGuard;
use crate::node::state::{Status, consent_key, holder_prefix, put_json};
use crate::node::usage::{self, MadeBy, UsageCopy};

use super::consents::load_consent;
use super::dispatch::{Answer, Ctx};
use super::error::{ApiError, bad, forbidden, internal, json_err, unavailable};
use super::forwarded::{Expected, forward_lookup};
use super::input::{
    HolderRef, MAX_PURPOSE_CHARS, free_text, holder_in_entry, is_code, load_licence, now_ms,
    parse_json, quoted,
};

// ---------------------------------------------------------------------------------------------
// Lookups (免证办).

/// Which regions a lookup covers: `"all"` (this one and every partner) or a list of codes.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub(super) enum Regions {
    Word(String),
    List(Vec<String>),
}

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

/// A lookup forwarded by a partner node on behalf of one of its departments.
#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FederatedLookupRequest {
    pub(super) department: String,
    pub(super) holder: HolderRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) type_code: Option<String>,
    pub(super) matter: String,
    pub(super) purpose: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) consent: Option<String>,
}

impl serde::Serialize for HolderRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json!({"type": self.holder_type, "code": self.code}).serialize(s)
    }
}

/// Who a lookup is for: a department of this region, or of a partner region.
pub(super) struct Requester {
    pub(super) id: String,
    pub(super) region: crate::codes::RegionCode,
    pub(super) types: crate::node::config::Types,
    /// The usage copy's `for`: the department id, `<region>/<id>` for a partner's.
    pub(super) for_: String,
}

/// What is looked up: the holder, the type (if one), the matter, the purpose and the consent.
#[derive(Clone, Copy)]
pub(super) struct Ask<'a> {
    pub(super) holder: &'a HolderCode,
    pub(super) hash: &'a crate::audit::entry::HolderHash,
    pub(super) type_code: Option<&'a String>,
    pub(super) matter: &'a crate::node::config::Matter,
    pub(super) purpose: &'a str,
    pub(super) consent: Option<&'a String>,
}

/// The most licences one lookup answers with, here or across regions together. A holder with
/// more (a large company over the years) is answered with the first ones and `more: true`; the
/// department narrows the next lookup by `type_code`. The bound keeps every answer, and the
/// audit entry listing what it handed out, a bounded size, and bounds the usage copies one
/// request can have signed.
pub const MAX_LOOKUP_RESULTS: usize = 50;

/// The refusals of a partner's licences listed by name in a cross-region lookup's entry; the
/// rest are counted (`dropped_total`).
pub(super) const MAX_DROPPED_LISTED: usize = 16;

/// What a lookup found here.
pub(super) struct Found {
    pub(super) results: Vec<Value>,
    pub(super) ids: Vec<Value>,
    /// More licences matched than [`MAX_LOOKUP_RESULTS`]; they were left out.
    pub(super) more: bool,
    pub(super) writes: Vec<Write>,
    pub(super) guard: Option<KeyGuard>,
}

impl Found {
    /// The answer to a lookup of one region: its results, whether there were more, and what
    /// the entry records of them.
    pub(super) fn answer(self, ctx: &mut Ctx) -> Answer {
        ctx.detail("results", self.ids);
        if self.more {
            ctx.detail("more", true);
        }
        let mut a = Answer::json(
            StatusCode::OK,
            json!({"results": self.results, "more": self.more}),
        );
        a.writes = self.writes;
        a.guard = self.guard;
        a
    }
}

/// What [`lookup_scope`] established: the holder, its keyed hash, and the matter as configured.
pub(super) struct Scope {
    pub(super) holder: HolderCode,
    pub(super) hash: crate::audit::entry::HolderHash,
    pub(super) matter: crate::node::config::Matter,
}

impl Scope {
    /// The lookup of this scope for the type (if one), purpose and consent asked.
    pub(super) fn ask<'a>(
        &'a self,
        type_code: Option<&'a String>,
        purpose: &'a str,
        consent: Option<&'a String>,
    ) -> Ask<'a> {
        Ask {
            holder: &self.holder,
            hash: &self.hash,
            type_code,
            matter: &self.matter,
            purpose,
            consent,
        }
    }
}

/// What every lookup checks first, each recorded in the entry as it passes: the matter's code
/// and the purpose, the holder, the matter configured here and among `matters` (the
/// requester's), and the type asked for, if any, valid and among `types`.
pub(super) fn lookup_scope(
    ctx: &mut Ctx,
    holder: &HolderRef,
    type_code: Option<&String>,
    matter: &str,
    purpose: &str,
    matters: &std::collections::BTreeSet<String>,
    types: &crate::node::config::Types,
) -> Result<Scope, ApiError> {
    if !is_code(matter) {
        return Err(bad(
            "invalid_request",
            "matter: 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'",
        ));
    }
    ctx.draft.matter = Some(matter.to_owned());
    free_text("purpose", purpose, MAX_PURPOSE_CHARS)?;
    ctx.draft.purpose = Some(purpose.to_owned());
    let (holder, hash) = holder_in_entry(ctx, holder)?;
    let configured = ctx
        .node
        .config
        .matters
        .get(matter)
        .filter(|_| matters.contains(matter))
        .cloned()
        .ok_or_else(|| matter_refused(matter))?;
    check_type_code(ctx, type_code, types)?;
    Ok(Scope {
        holder,
        hash,
        matter: configured,
    })
}

pub(super) fn matter_refused(matter: &str) -> ApiError {
    forbidden(
        "matter_not_allowed",
        format!(
            "the department may not use licences for matter {}",
            quoted(matter)
        ),
    )
}

pub(super) fn check_type_code(
    ctx: &mut Ctx,
    type_code: Option<&String>,
    allowed: &crate::node::config::Types,
) -> Result<(), ApiError> {
    if let Some(t) = type_code {
        LicenceTypeCode::from_str(t)
            .map_err(|e| bad("invalid_request", format!("type_code: {e}")))?;
        if !allowed.allows(t) {
            return Err(forbidden(
                "type_not_allowed",
                format!("the department may not use licences of type {t}"),
            ));
        }
        ctx.detail("type_code", t.clone());
    }
    Ok(())
}

/// The lookup in this node's own records, for `who`: the consent (spent under the state
/// lock), then the holder's licences the requester may have, each active one with a usage copy.
pub(super) async fn lookup_here(
    ctx: &mut Ctx,
    who: &Requester,
    ask: &Ask<'_>,
) -> Result<Found, ApiError> {
    let Ask {
        holder,
        hash,
        type_code,
        matter,
        purpose,
        consent,
    } = *ask;
    let person = holder.holder_type() == HolderType::Person;
    let needs_consent = person && !matter.statutory;
    let mut writes = Vec::new();
    let mut guard = None;
    let mut consent_types: Option<Vec<String>> = None;
    let own = ctx.node.config.region.to_string();
    if needs_consent {
        let Some(cid) = consent else {
            return Err(forbidden(
                "consent_required",
                "a person's licences need the holder's consent for this matter",
            ));
        };
        ctx.detail("consent_id", cid.clone());
        guard = Some(ctx.node.locks.lock(crate::node::locks::consent(cid)).await);
        let Some(mut c) = load_consent(ctx, cid)? else {
            return Err(forbidden("consent_not_found", "no such consent"));
        };
        let grantee_region = c.grantee_region.clone().unwrap_or_else(|| own.clone());
        if c.holder != hash.as_str()
            || c.grantee != who.id
            || grantee_region != who.region.to_string()
        {
            return Err(forbidden(
                "consent_mismatch",
                "the consent is not this holder's consent for this department",
            ));
        }
        if c.withdrawn_at.is_some() {
            return Err(forbidden(
                "consent_withdrawn",
                "the holder withdrew the consent",
            ));
        }
        if c.until_unix.is_some_and(|u| now_ms() / 1000 >= u) {
            return Err(forbidden("consent_expired", "the consent has expired"));
        }
        match c.uses_left {
            Some(0) => return Err(forbidden("consent_used_up", "the consent has no uses left")),
            Some(n) => c.uses_left = Some(n - 1),
            None => {}
        }
        if let Some(t) = type_code
            && !c.type_codes.contains(t)
        {
            return Err(forbidden(
                "consent_mismatch",
                format!("the consent does not cover type {t}"),
            ));
        }
        consent_types = Some(c.type_codes.clone());
        ctx.detail("consent_uses_left", c.uses_left);
        writes.push(put_json(consent_key(cid), &c).map_err(json_err)?);
    } else if consent.is_some() {
        ctx.detail("consent_ignored", true);
    }

    let records = ctx
        .node
        .log
        .scan(Table::State, &holder_prefix(hash.as_str()))
        .map_err(unavailable)?;
    let now = now_ms();
    let valid_until =
        now + i64::try_from(ctx.node.config.limits.usage_copy.as_millis()).unwrap_or(600_000);
    let mut results = Vec::new();
    let mut ids = Vec::new();
    let mut more = false;
    for (key, _) in records {
        let key = String::from_utf8_lossy(&key);
        let Some(id) = key.rsplit('/').next() else {
            continue;
        };
        let Some(rec) = load_licence(ctx, id)? else {
            continue;
        };
        if rec.status == Status::Superseded
            || !who.types.allows(&rec.type_code)
            || type_code.is_some_and(|t| t != &rec.type_code)
            || consent_types
                .as_ref()
                .is_some_and(|ts| !ts.contains(&rec.type_code))
        {
            continue;
        }
        if results.len() == MAX_LOOKUP_RESULTS {
            more = true;
            break;
        }
        let copy = if rec.status == Status::Active {
            let c = UsageCopy {
                licence: rec.token.clone(),
                made_by: MadeBy {
                    node: ctx.node.config.node_id.clone(),
                    region: own.clone(),
                },
                for_: who.for_.clone(),
                matter: matter.code.clone(),
                purpose: purpose.to_owned(),
                made_at: rfc3339(now / 1000),
                valid_until: rfc3339(valid_until / 1000),
            };
            Some(usage::make(&ctx.node.signer, &c).map_err(|e| internal(e.to_string()))?)
        } else {
            None
        };
        ids.push(json!({"id": rec.id, "status": rec.status, "usage_copy": copy.is_some()}));
        results.push(json!({
            "id": rec.id,
            "region": own,
            "status": rec.status,
            "licence": rec.token,
            "usage_copy": copy,
        }));
    }
    Ok(Found {
        results,
        ids,
        more,
        writes,
        guard,
    })
}

/// A department's lookup: here, or (with `regions`) here and at partner nodes.
pub(super) async fn lookup(ctx: &mut Ctx, bytes: &[u8]) -> Result<Answer, ApiError> {
    let req: LookupRequest = parse_json(bytes)?;
    let dept = ctx
        .department()
        .cloned()
        .ok_or_else(|| internal("a consumer without a department"))?;
    let scope = lookup_scope(
        ctx,
        &req.holder,
        req.type_code.as_ref(),
        &req.matter,
        &req.purpose,
        &dept.matters,
        &dept.types,
    )?;
    let own = ctx.node.config.region;
    let who = Requester {
        id: dept.id.clone(),
        region: own,
        types: dept.types.clone(),
        for_: dept.id.clone(),
    };
    // The purpose travels in usage copies and to partners: a holder code in it goes as its
    // keyed hash (a fixed point: redacting it again changes nothing).
    let purpose = ctx.node.holder_key.redact(&req.purpose);
    let ask = scope.ask(req.type_code.as_ref(), &purpose, req.consent.as_ref());
    let Some(regions) = &req.regions else {
        let found = lookup_here(ctx, &who, &ask).await?;
        return Ok(found.answer(ctx));
    };

    // Across regions: which ones.
    let partners: Vec<crate::codes::RegionCode> =
        ctx.node.federation.partners.keys().copied().collect();
    let (here, asked): (bool, Vec<crate::codes::RegionCode>) = match regions {
        Regions::Word(w) if w == "all" => (true, partners),
        Regions::Word(w) => {
            return Err(bad(
                "invalid_request",
                format!("regions: {}: \"all\" or a list of region codes", quoted(w)),
            ));
        }
        Regions::List(list) => {
            if list.is_empty() || list.len() > 64 {
                return Err(bad("invalid_request", "regions: 1 to 64 region codes"));
            }
            let mut here = false;
            let mut asked = Vec::new();
            for r in list {
                let code = crate::codes::RegionCode::from_str(r)
                    .map_err(|e| bad("invalid_request", format!("regions: {}: {e}", quoted(r))))?;
                if code == own {
                    here = true;
                } else if partners.contains(&code) {
                    if !asked.contains(&code) {
                        asked.push(code);
                    }
                } else {
                    return Err(bad(
                        "unknown_region",
                        format!("regions: {code} is neither this region nor a partner's"),
                    ));
                }
            }
            (here, asked)
        }
    };
    ctx.draft.action = Action::FederationForward;
    ctx.detail(
        "regions",
        asked.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
    );

    // The partners are asked first, in parallel, under one deadline.
    let forward = FederatedLookupRequest {
        department: dept.id.clone(),
        holder: HolderRef {
            holder_type: req.holder.holder_type.clone(),
            code: req.holder.code.clone(),
        },
        type_code: req.type_code.clone(),
        matter: req.matter.clone(),
        purpose: purpose.clone(),
        consent: req.consent.clone(),
    };
    let body = serde_json::to_vec(&forward).map_err(json_err)?;
    let deadline = tokio::time::Instant::now() + ctx.node.config.federation.lookup_deadline;
    // What every answer must be about: this holder, this type if one was named, and copies made
    // for this department, matter and purpose.
    let expected = Arc::new(Expected {
        holder: ask.holder.clone(),
        type_code: req.type_code.clone(),
        types: dept.types.clone(),
        for_: format!("{own}/{}", dept.id),
        matter: req.matter.clone(),
        purpose: purpose.clone(),
    });
    let mut set = tokio::task::JoinSet::new();
    for region in &asked {
        let node = ctx.node.clone();
        let body = body.clone();
        let region = *region;
        let expected = expected.clone();
        set.spawn(async move {
            let r = forward_lookup(&node, region, body, deadline, &expected).await;
            (region, r)
        });
    }

    // The partners' answers first, and only then the local lookup: it may take the state lock
    // (to spend a consent), which must not be held while partners are waited for (every state
    // change here would wait for the slowest partner, and two nodes asking each other would
    // each hold the lock the other's forwarded lookup needs).
    let mut forwarded = Vec::new();
    let mut partner_partial = Vec::new();
    let mut answered = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, set.join_next()).await {
            Ok(Some(Ok((region, outcome)))) => {
                answered.push(region);
                match outcome {
                    Ok(fwd) => {
                        if let Some(i) = fwd.receipt {
                            ctx.detail(&format!("receipt_{region}"), i);
                        }
                        forwarded.push((region, fwd));
                    }
                    Err((error, receipt)) => {
                        if let Some(i) = receipt {
                            ctx.detail(&format!("receipt_{region}"), i);
                        }
                        partner_partial.push(json!({"region": region.to_string(), "error": error}))
                    }
                }
            }
            Ok(Some(Err(_))) => {}
            Ok(None) => break,
            Err(_) => {
                set.abort_all();
                break;
            }
        }
    }
    for region in &asked {
        if !answered.contains(region) {
            partner_partial.push(json!({"region": region.to_string(), "error": "deadline"}));
        }
    }
    let mut results = Vec::new();
    let mut ids = Vec::new();
    let mut partial = Vec::new();
    let mut writes = Vec::new();
    let mut guard = None;
    let mut more = false;
    if here {
        match lookup_here(ctx, &who, &ask).await {
            Ok(found) => {
                more = found.more;
                results.extend(found.results);
                for mut id in found.ids {
                    id["region"] = json!(own.to_string());
                    ids.push(id);
                }
                writes = found.writes;
                guard = found.guard;
            }
            Err(e) => partial.push(json!({"region": own.to_string(), "error": e.code})),
        }
    }
    // The partners' results after this region's, in the order the regions were asked, up to
    // the bound; what is left out is counted by region (`withheld`).
    let mut dropped = Vec::new();
    let mut dropped_total = 0usize;
    let mut withheld = serde_json::Map::new();
    for region in &asked {
        let Some(i) = forwarded.iter().position(|(r, _)| r == region) else {
            continue;
        };
        let (_, fwd) = forwarded.swap_remove(i);
        more |= fwd.more;
        dropped_total += fwd.dropped.len();
        let room = MAX_DROPPED_LISTED.saturating_sub(dropped.len());
        dropped.extend(fwd.dropped.into_iter().take(room));
        let mut left_out = 0u64;
        for r in fwd.results {
            if results.len() == MAX_LOOKUP_RESULTS {
                left_out += 1;
                continue;
            }
            ids.push(json!({
                "id": r.get("id"),
                "region": region.to_string(),
                "status": r.get("status"),
                "usage_copy": r.get("usage_copy").is_some_and(|c| !c.is_null()),
            }));
            results.push(r);
        }
        if left_out > 0 {
            more = true;
            withheld.insert(region.to_string(), left_out.into());
        }
    }
    partial.extend(partner_partial);
    ctx.detail("results", ids);
    if more {
        ctx.detail("more", true);
    }
    if !withheld.is_empty() {
        ctx.detail("withheld", Value::Object(withheld));
    }
    if !partial.is_empty() {
        ctx.detail("partial", partial.clone());
    }
    if !dropped.is_empty() {
        ctx.detail("dropped", dropped.clone());
    }
    if dropped_total > dropped.len() {
        ctx.detail("dropped_total", dropped_total);
    }
    let mut a = Answer::json(
        StatusCode::OK,
        json!({"results": results, "partial": partial, "more": more}),
    );
    if !partial.is_empty() || !dropped.is_empty() {
        a.outcome = "partial".into();
    }
    a.writes = writes;
    a.guard = guard;
    Ok(a)
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
    let grant_types = link.partner.grant_types.clone();
    let grant_matters = link.partner.grant_matters.clone();
    let partner_region = link.partner.region;
    let req: FederatedLookupRequest = parse_json(bytes)?;
    if !is_code(&req.department) {
        return Err(bad("invalid_request", "department: not a department id"));
    }
    ctx.detail(
        "on_behalf_of",
        json!({"department": req.department, "region": partner_region.to_string()}),
    );
    ctx.draft.on_behalf_of = Some(Actor {
        id: req.department.clone(),
        region: Some(partner_region),
        cert_sha256: None,
    });
    let scope = lookup_scope(
        ctx,
        &req.holder,
        req.type_code.as_ref(),
        &req.matter,
        &req.purpose,
        &grant_matters,
        &grant_types,
    )?;
    let who = Requester {
        id: req.department.clone(),
        region: partner_region,
        types: grant_types,
        for_: format!("{partner_region}/{}", req.department),
    };
    let purpose = ctx.node.holder_key.redact(&req.purpose);
    let ask = scope.ask(req.type_code.as_ref(), &purpose, req.consent.as_ref());
    let found = lookup_here(ctx, &who, &ask).await?;
    Ok(found.answer(ctx))
}
