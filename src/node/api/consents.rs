//! `POST /v1/consents` and `DELETE /v1/consents/{id}`: a holder's consents.

use std::str::FromStr;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use crate::audit::entry::format_time;
use crate::audit::store::Table;
use crate::codes::LicenceTypeCode;
use crate::licence::verify::rfc3339;
use crate::node::config::Role;
use crate::node::state::{ConsentRecord, consent_key, put_json};

use super::dispatch::{Answer, Ctx};
use super::error::{ApiError, bad, fail, internal, json_err, unavailable};
use super::input::{HolderRef, holder_in_entry, is_code, now_ms, parse_json, quoted};

// ---------------------------------------------------------------------------------------------
// Consents.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsentRequest {
    pub(super) holder: HolderRef,
    pub(super) grantee: String,
    #[serde(default)]
    pub(super) grantee_region: Option<String>,
    pub(super) type_codes: Vec<String>,
    #[serde(default)]
    pub(super) until: Option<String>,
    #[serde(default)]
    pub(super) uses: Option<u64>,
}

pub(super) fn random_id() -> Result<String, ApiError> {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| internal("no randomness"))?;
    Ok(hex::encode(b))
}

pub(super) fn grant_consent(ctx: &mut Ctx, bytes: &[u8]) -> Result<Answer, ApiError> {
    let req: ConsentRequest = parse_json(bytes)?;
    let (_, hash) = holder_in_entry(ctx, &req.holder)?;
    let own = ctx.node.config.region;
    let grantee_region = match &req.grantee_region {
        None => own,
        Some(r) => crate::codes::RegionCode::from_str(r)
            .map_err(|e| bad("invalid_request", format!("grantee_region: {e}")))?,
    };
    if grantee_region == own {
        ctx.node
            .config
            .departments
            .get(&req.grantee)
            .filter(|d| d.roles.contains(&Role::Consumer))
            .ok_or_else(|| {
                bad(
                    "unknown_grantee",
                    format!(
                        "{} is not a consumer department of this region",
                        quoted(&req.grantee)
                    ),
                )
            })?;
    } else {
        // A partner region's department: its id is the partner's business; the partner's
        // grants here decide what it may ask.
        let ok = ctx
            .node
            .federation
            .partner(&grantee_region)
            .is_some_and(|p| !p.partner.grant_matters.is_empty());
        if !ok || !is_code(&req.grantee) {
            return Err(bad(
                "unknown_grantee",
                format!(
                    "{} of region {grantee_region} is not a department of a partner region \
                     that may look licences up here",
                    quoted(&req.grantee)
                ),
            ));
        }
    }
    if req.type_codes.is_empty() || req.type_codes.len() > 64 {
        return Err(bad(
            "invalid_request",
            "type_codes: 1 to 64 licence type codes",
        ));
    }
    for t in &req.type_codes {
        LicenceTypeCode::from_str(t)
            .map_err(|e| bad("invalid_request", format!("type_codes: {}: {e}", quoted(t))))?;
    }
    let now = now_ms() / 1000;
    let until_unix = match &req.until {
        None => None,
        Some(u) => {
            let t = time::OffsetDateTime::parse(u, &time::format_description::well_known::Rfc3339)
                .map_err(|e| bad("invalid_request", format!("until: not RFC 3339: {e}")))?
                .unix_timestamp();
            if t <= now {
                return Err(bad("invalid_request", "until: must be in the future"));
            }
            Some(t)
        }
    };
    if let Some(n) = req.uses
        && !(1..=1_000_000).contains(&n)
    {
        return Err(bad("invalid_request", "uses: 1 to 1000000"));
    }
    let id = random_id()?;
    let record = ConsentRecord {
        id: id.clone(),
        holder: hash.as_str().to_owned(),
        grantee: req.grantee.clone(),
        grantee_region: (grantee_region != own).then(|| grantee_region.to_string()),
        type_codes: req.type_codes.clone(),
        until: until_unix.map(rfc3339),
        until_unix,
        uses_left: req.uses,
        granted_by: ctx.caller.id.clone(),
        granted_at: format_time(now_ms()),
        withdrawn_at: None,
    };
    ctx.detail("consent_id", id.clone());
    ctx.detail("grantee", req.grantee.clone());
    if grantee_region != own {
        ctx.detail("grantee_region", grantee_region.to_string());
    }
    ctx.detail("type_codes", req.type_codes.clone());
    let mut a = Answer::json(
        StatusCode::CREATED,
        json!({"consent_id": id, "until": record.until, "uses": record.uses_left}),
    );
    a.writes = vec![put_json(consent_key(&id), &record).map_err(json_err)?];
    Ok(a)
}

pub(super) fn load_consent(ctx: &Ctx, id: &str) -> Result<Option<ConsentRecord>, ApiError> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    match ctx.node.log.get(Table::State, &consent_key(id)) {
        Ok(None) => Ok(None),
        Ok(Some(v)) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| internal(format!("consent record: {e}"))),
        Err(e) => Err(unavailable(e)),
    }
}

pub(super) async fn withdraw_consent(ctx: &mut Ctx, id: &str) -> Result<Answer, ApiError> {
    let guard = ctx.node.locks.lock(crate::node::locks::consent(id)).await;
    let Some(mut rec) = load_consent(ctx, id)? else {
        return Err(fail(StatusCode::NOT_FOUND, "not_found", "no such consent"));
    };
    ctx.detail("consent_id", id);
    ctx.draft.holder =
        Some(crate::audit::entry::HolderHash::from_hex(&rec.holder).map_err(internal)?);
    if rec.withdrawn_at.is_some() {
        return Err(fail(
            StatusCode::CONFLICT,
            "already_withdrawn",
            "the consent was already withdrawn",
        ));
    }
    let at = format_time(now_ms());
    rec.withdrawn_at = Some(at.clone());
    let mut a = Answer::json(
        StatusCode::OK,
        json!({"consent_id": id, "withdrawn_at": at}),
    );
    a.writes = vec![put_json(consent_key(id), &rec).map_err(json_err)?];
    a.guard = Some(guard);
    Ok(a)
}
