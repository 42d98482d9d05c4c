//! `POST /v1/consents` and `DELETE /v1/consents/{id}`: a holder's consents, recorded by the
//! citizen portal. The rules are in [`rules::consents`](crate::node::rules::consents).

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::dispatch::{Answer, Ctx};
use super::error::ApiError;
use super::input::parse_json;
use crate::node::rules::HolderRef;
use crate::node::rules::consents::{self as rules, Grant};

/// The body of `POST /v1/consents`.
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

/// The answer to `POST /v1/consents`.
#[derive(Serialize)]
pub(super) struct ConsentResponse {
    pub(super) consent_id: String,
    /// When it ends, RFC 3339; `null`: until withdrawn.
    pub(super) until: Option<String>,
    /// Its uses; `null`: unlimited.
    pub(super) uses: Option<u64>,
}

/// The answer to `DELETE /v1/consents/{id}`.
#[derive(Serialize)]
pub(super) struct ConsentWithdrawn<'a> {
    pub(super) consent_id: &'a str,
    pub(super) withdrawn_at: String,
}

pub(super) fn grant_consent(ctx: &mut Ctx, bytes: &[u8]) -> Result<Answer, ApiError> {
    let req: ConsentRequest = parse_json(bytes)?;
    let grant = Grant {
        holder: &req.holder,
        grantee: &req.grantee,
        grantee_region: req.grantee_region.as_deref(),
        type_codes: &req.type_codes,
        until: req.until.as_deref(),
        uses: req.uses,
    };
    let (record, change) = rules::grant(&mut ctx.access(), &grant)?;
    let body = ConsentResponse {
        consent_id: record.id,
        until: record.until,
        uses: record.uses_left,
    };
    Ok(Answer::json(StatusCode::CREATED, &body)?.with(change))
}

pub(super) async fn withdraw_consent(ctx: &mut Ctx, id: &str) -> Result<Answer, ApiError> {
    let (withdrawn_at, change) = rules::withdraw(&mut ctx.access(), id).await?;
    let body = ConsentWithdrawn {
        consent_id: id,
        withdrawn_at,
    };
    Ok(Answer::json(StatusCode::OK, &body)?.with(change))
}
