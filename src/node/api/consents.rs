//! `POST /v1/consents` and `DELETE /v1/consents/{id}`: a holder's consents, recorded by the
//! citizen portal. The rules are in [`rules::consents`](crate::node::rules::consents).

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dispatch::{Answer, Ctx};
use super::error::{ApiError, ErrorBody};
use super::input::parse_json;
use crate::node::rules::HolderRef;
use crate::node::rules::consents::{self as rules, Grant};

/// The body of `POST /v1/consents`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsentRequest {
    /// The holder consenting.
    pub(super) holder: HolderRef,
    /// The department allowed: a consumer of this region, or a partner region's department.
    pub(super) grantee: String,
    /// The department's region, when it is a partner's.
    #[serde(default)]
    pub(super) grantee_region: Option<String>,
    /// The licence types it may use: 1 to 64 type codes.
    pub(super) type_codes: Vec<String>,
    /// When it ends, RFC 3339, in the future; absent: until withdrawn.
    #[serde(default)]
    pub(super) until: Option<String>,
    /// How many lookups it allows, 1 to 1000000; absent: unlimited.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000000)]
    pub(super) uses: Option<u64>,
}

/// The answer to `POST /v1/consents`.
#[derive(Serialize, ToSchema)]
pub(super) struct ConsentResponse {
    pub(super) consent_id: String,
    /// When it ends, RFC 3339; `null`: until withdrawn.
    pub(super) until: Option<String>,
    /// Its uses; `null`: unlimited.
    pub(super) uses: Option<u64>,
}

/// The answer to `DELETE /v1/consents/{id}`.
#[derive(Serialize, ToSchema)]
pub(super) struct ConsentWithdrawn<'a> {
    pub(super) consent_id: &'a str,
    pub(super) withdrawn_at: String,
}

/// Records a holder's consent (the citizen portal).
#[utoipa::path(
    post,
    path = "/v1/consents",
    tag = "consents",
    request_body = ConsentRequest,
    responses(
        (status = 201, description = "Recorded.", body = ConsentResponse),
        (status = 400, description = "`malformed_json`, `unknown_field`, `invalid_request`, `invalid_holder`, `unknown_grantee`.", body = ErrorBody),
        (status = 403, description = "Not the portal (`forbidden_role`).", body = ErrorBody),
    )
)]
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

/// Withdraws a consent (the citizen portal).
#[utoipa::path(
    delete,
    path = "/v1/consents/{id}",
    tag = "consents",
    params(("id" = String, Path, description = "The consent id (32 hex digits).")),
    responses(
        (status = 200, description = "Withdrawn.", body = ConsentWithdrawn),
        (status = 403, description = "Not the portal (`forbidden_role`).", body = ErrorBody),
        (status = 404, description = "No such consent (`not_found`).", body = ErrorBody),
        (status = 409, description = "Withdrawn before (`already_withdrawn`).", body = ErrorBody),
    )
)]
pub(super) async fn withdraw_consent(ctx: &mut Ctx, id: &str) -> Result<Answer, ApiError> {
    let (withdrawn_at, change) = rules::withdraw(&mut ctx.access(), id).await?;
    let body = ConsentWithdrawn {
        consent_id: id,
        withdrawn_at,
    };
    Ok(Answer::json(StatusCode::OK, &body)?.with(change))
}
