//! `POST /v1/witness/add-checkpoint` and `GET /v1/witness/state`: witnessing partners' logs
//! (C2SP tlog-witness).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::audit::entry::{Action, format_time};
use crate::node::Node;
use crate::store::Write;

use super::dispatch::{Answer, Ctx, sha256_hex};
use super::error::{ApiError, bad, error_body, fail, forbidden, internal, json_err, unavailable};
use super::error::{ErrorBody, UnrecordedError};
use super::input::quoted;
use crate::node::rules::now_ms;

/// What became of an add-checkpoint request.
pub(super) enum Witnessing {
    /// Cosigned (200) or the witness's size (409): answered without an entry.
    Done(Response),
    /// Refused: answered with an entry (and any evidence kept beside it).
    Refused(Answer),
}

/// The witness's record of one partner log.
#[derive(serde::Serialize, Deserialize)]
pub(super) struct WitnessRecord {
    #[serde(flatten)]
    pub(super) state: crate::audit::witness::Witnessed,
    pub(super) cosigned_at: String,
}

/// Evidence of a log that contradicted what this witness had cosigned.
#[derive(serde::Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = WitnessEvidence)]
pub(super) struct Evidence {
    /// The log's origin.
    pub(super) origin: String,
    /// Why the checkpoint does not fit.
    pub(super) reason: String,
    /// The checkpoint the log signed that does not fit.
    pub(super) note: String,
    /// The checkpoint this witness had cosigned.
    pub(super) witnessed: Option<String>,
    /// When, RFC 3339.
    pub(super) at: String,
}

/// This region's signed trust list (compact JWS, docs/federation.md): the licence signers its
/// node vouches for, and those it revoked. Unaudited.
#[utoipa::path(
    get,
    path = "/v1/trust-list",
    tag = "federation",
    responses(
        (status = 200, description = "The trust list.", body = String,
            content_type = "application/jose"),
        (status = 500, description = "It could not be signed (`internal`).", body = UnrecordedError),
    )
)]
pub(super) fn trust_list(node: &Node) -> Response {
    match crate::node::federation::signed_trust_list(node) {
        Ok(t) => {
            let mut r = Response::new(Body::from(t));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jose"),
            );
            r
        }
        Err(e) => internal(e).into_response(),
    }
}

/// A partner node's checkpoint to cosign (C2SP tlog-witness `add-checkpoint`): cosigned (200)
/// or answered with the size this witness holds (409) without an entry; every refusal is an
/// entry, and a fork is kept as evidence.
#[utoipa::path(
    post,
    path = "/v1/witness/add-checkpoint",
    tag = "federation",
    request_body(content = String, content_type = "text/plain",
        description = "`old <size>`, the consistency proof's lines, a blank line, the signed checkpoint."),
    responses(
        (status = 200, description = "The cosignature line(s).", body = String,
            content_type = "text/plain; charset=utf-8"),
        (status = 409, description = "The size this witness holds for the log.", body = String,
            content_type = "text/x.tlog.size"),
        (status = 400, description = "`malformed`.", body = ErrorBody),
        (status = 403, description = "`forbidden_role` (not a partner's node), `bad_signature`.", body = ErrorBody),
        (status = 404, description = "`not_a_witness`, `unknown_log`.", body = ErrorBody),
        (status = 422, description = "`inconsistent`: the checkpoint contradicts what was cosigned.", body = ErrorBody),
    )
)]
pub(super) async fn witness_add(ctx: &mut Ctx, bytes: &[u8]) -> Result<Witnessing, ApiError> {
    use crate::audit::witness::{self, Verdict};
    ctx.draft.request_sha256 = Some(sha256_hex(bytes));
    let node = ctx.node.clone();
    if node.federation.partner_node(&ctx.caller).is_none() {
        ctx.draft.action = Action::AuthDenied;
        ctx.detail("wanted", Action::FederationWitness.as_str());
        return Err(forbidden(
            "forbidden_role",
            "only a partner region's node may submit checkpoints",
        ));
    }
    let Some(signer) = &node.federation.witness else {
        return Err(fail(
            StatusCode::NOT_FOUND,
            "not_a_witness",
            "this node has no witness key",
        ));
    };
    let text = std::str::from_utf8(bytes).map_err(|_| bad("malformed", "the body is not UTF-8"))?;
    let parsed =
        witness::parse_add_checkpoint(text).map_err(|e| bad("malformed", e.to_string()))?;
    let origin = parsed.checkpoint.lines().next().unwrap_or("").to_owned();
    let origin_shown: String = origin.chars().take(128).collect();
    ctx.detail("origin", origin_shown.clone());
    let Some(link) = node.federation.partner_by_origin(&origin) else {
        return Err(fail(
            StatusCode::NOT_FOUND,
            "unknown_log",
            format!(
                "this witness does not witness the log {}",
                quoted(&origin_shown)
            ),
        ));
    };
    let guard = node
        .locks
        .lock(crate::node::locks::witnessed(&origin))
        .await;
    let current: Option<WitnessRecord> = match node.log.state().witnessed(&origin) {
        Ok(Some(v)) => {
            Some(serde_json::from_slice(&v).map_err(|e| internal(format!("witness record: {e}")))?)
        }
        Ok(None) => None,
        Err(e) => return Err(unavailable(e)),
    };
    let now = now_ms();
    let verdict = witness::add_checkpoint(
        text,
        &origin,
        &link.log_key,
        current.as_ref().map(|r| &r.state),
        signer,
        u64::try_from(now / 1000).unwrap_or(0),
    );
    // A same-size checkpoint with another root gets 422 here (tlog-witness says 409): it is a
    // fork, and 422 with kept evidence is what every other fork gets from this witness.
    let verdict = match verdict {
        Verdict::Conflict {
            evidence: Some(note),
            ..
        } => Verdict::Rejected {
            reason: "a checkpoint of the size already cosigned with another root: a fork".into(),
            evidence: Some(note),
        },
        other => other,
    };
    match verdict {
        Verdict::Internal(why) => Err(internal(why)),
        Verdict::Cosigned { state, cosignature } => {
            let record = WitnessRecord {
                state,
                cosigned_at: format_time(now),
            };
            let write = Write::witnessed(&origin, &record).map_err(json_err)?;
            // A synced write: on a blocking thread, not on the async workers. The state lock goes
            // with it and is released only once the write is done, even if this request is
            // dropped meanwhile (a later checkpoint must read the state this one wrote).
            let writer = node.clone();
            let stored = tokio::task::spawn_blocking(move || {
                let r = writer.log.write_state(vec![write]);
                drop(guard);
                r
            })
            .await
            .map_err(|e| internal(format!("the witness write ended: {e}")))?;
            stored.map_err(|e| {
                tracing::error!(error = %e, "witness state not stored");
                fail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "the cosigned state could not be stored, so nothing was cosigned",
                )
            })?;
            let mut r = Response::new(Body::from(cosignature));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            Ok(Witnessing::Done(r))
        }
        Verdict::Conflict { size, .. } => {
            let mut r = Response::new(Body::from(format!("{size}\n")));
            *r.status_mut() = StatusCode::CONFLICT;
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/x.tlog.size"),
            );
            Ok(Witnessing::Done(r))
        }
        Verdict::BadSignature(why) => Err(forbidden("bad_signature", why)),
        Verdict::Malformed(why) => Err(bad("malformed", why)),
        Verdict::Rejected { reason, evidence } => {
            let mut a = Answer::json(
                StatusCode::UNPROCESSABLE_ENTITY,
                &error_body("inconsistent", &reason),
            )?;
            a.outcome = "inconsistent".into();
            ctx.detail("message", reason.clone());
            if let Some(note) = evidence {
                let note_sha256 = sha256_hex(note.as_bytes());
                let record = Evidence {
                    origin: origin.clone(),
                    reason,
                    note,
                    witnessed: current.map(|c| c.state.note),
                    at: format_time(now),
                };
                let (key, write) =
                    Write::witness_evidence(&origin, &note_sha256, &record).map_err(json_err)?;
                ctx.detail("evidence", key);
                a.outcome = "fork_detected".into();
                a.writes = vec![write];
            }
            a.guard = Some(guard);
            Ok(Witnessing::Refused(a))
        }
    }
}

/// `GET /v1/witness/state`: the partner logs this node witnesses, and the evidence it keeps.
#[utoipa::path(
    get,
    path = "/v1/witness/state",
    tag = "federation",
    responses((status = 200, description = "The logs and the evidence.", body = WitnessState))
)]
pub(super) fn witness_state(ctx: &mut Ctx) -> Result<Answer, ApiError> {
    let state = ctx.node.log.state();
    let logs = state.witnessed_logs().map_err(unavailable)?;
    let evidence = state.witness_evidence().map_err(unavailable)?;
    let logs = logs
        .iter()
        .map(|v| serde_json::from_slice::<WitnessRecord>(v).map_err(json_err))
        .collect::<Result<Vec<_>, _>>()?;
    let evidence = evidence
        .iter()
        .map(|v| serde_json::from_slice::<Evidence>(v).map_err(json_err))
        .collect::<Result<Vec<_>, _>>()?;
    Answer::json(StatusCode::OK, &WitnessState { logs, evidence })
}

/// The answer to `GET /v1/witness/state`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct WitnessState {
    /// Each partner log witnessed: `size`, `root` (base64), `note` (the checkpoint cosigned)
    /// and `cosigned_at`.
    #[schema(value_type = Vec<Object>)]
    pub(super) logs: Vec<WitnessRecord>,
    /// Each contradiction kept.
    pub(super) evidence: Vec<Evidence>,
}
