//! The audited dispatch: one handler for every request, the caller named, the body read within
//! its bounds, the roles checked, the route run, and its audit entry written (with the route's
//! state changes, in one synced batch) before the answer goes out with the entry's receipt.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use http_body_util::BodyExt as _;
use ring::digest;
use serde::Serialize;
use serde_json::Value;

use crate::audit::entry::{Action, Actor, EntryDraft};
use crate::node::Node;
use crate::node::locks::KeyGuard;
use crate::node::tls::Caller;
use crate::store::Write;

use super::Route;
use super::audit::{audit_entries, consistency, inclusion};
use super::consents::{grant_consent, withdraw_consent};
use super::error::{
    ApiError, UnrecordedError, bad, error_body, fail, forbidden, internal, json_err,
};
use super::input::{MAX_MESSAGE_CHARS, cut_chars, no_params, parse_query};
use super::licences::{amend, get_ofd, get_status, issue, set_status};
use super::lookups::{federated_lookup, lookup};
use super::verify::verify;
use super::witness::{Witnessing, witness_add, witness_state};
use crate::node::rules::{Access, Change};

/// Longest request path kept in an audit entry, in characters.
const MAX_LOGGED_PATH: usize = 512;

/// What a handler answers, and what it writes with the audit entry.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) body: Payload,
    pub(super) writes: Vec<Write>,
    pub(super) outcome: String,
    /// Held until the entry and the writes are on disk.
    pub(super) guard: Option<KeyGuard>,
}

pub(super) enum Payload {
    /// A serialised JSON object; the receipt is added as its last member.
    Json(Vec<u8>),
    /// Bytes of a content type; the receipt goes in headers.
    Raw(&'static str, Vec<u8>),
    /// A streamed body of a content type; the receipt goes in headers.
    Stream(&'static str, Body),
}

impl Answer {
    /// A `200` answer of `bytes` of `content_type` (the receipt in headers), outcome `ok`.
    pub(super) fn raw(content_type: &'static str, bytes: Vec<u8>) -> Answer {
        Answer {
            status: StatusCode::OK,
            body: Payload::Raw(content_type, bytes),
            writes: Vec::new(),
            outcome: "ok".into(),
            guard: None,
        }
    }

    /// A JSON answer: `body` (a struct, serialised once, straight to bytes), outcome `ok`.
    pub(super) fn json<T: Serialize>(status: StatusCode, body: &T) -> Result<Answer, ApiError> {
        let bytes = serde_json::to_vec(body).map_err(json_err)?;
        Ok(Answer {
            status,
            body: Payload::Json(bytes),
            writes: Vec::new(),
            outcome: "ok".into(),
            guard: None,
        })
    }

    /// The answer with the state writes of `change`, written with the entry under its lock.
    pub(super) fn with(mut self, change: Change) -> Answer {
        self.writes = change.writes;
        self.guard = change.guard;
        self
    }

    /// The answer with the entry's outcome `outcome`.
    pub(super) fn outcome(mut self, outcome: impl Into<String>) -> Answer {
        self.outcome = outcome.into();
        self
    }
}

/// The audit entry under construction, filled in by the handler.
pub(super) struct Ctx {
    pub(super) node: Arc<Node>,
    pub(super) caller: Caller,
    pub(super) draft: EntryDraft,
    /// This request's audit entry, announced to the log's writer until it is submitted (or
    /// the request turns out to write none): `None` once it is.
    pub(super) announced: Option<crate::store::Announced>,
}

impl Drop for Ctx {
    /// A request dropped before its entry was submitted was abandoned on the way: its client
    /// hung up and hyper dropped it while it waited (for a partner, the state lock, its body).
    /// It was still an access, so it is logged as `abandoned` with what was known by then. No
    /// state change of it was written, and a lock it held goes with it.
    fn drop(&mut self) {
        if self.announced.is_none() {
            return;
        }
        let mut draft = self.draft.clone();
        draft.outcome = "abandoned".into();
        draft.detail.insert(
            "abandoned".into(),
            "the connection closed before the answer".into(),
        );
        if let Err(e) = self.node.log.submit(vec![draft], Vec::new()) {
            tracing::error!(error = %e, "the entry of an abandoned request could not be written");
        }
    }
}

impl Ctx {
    pub(super) fn department(&self) -> Option<&crate::node::config::Department> {
        if self.caller.region != self.node.config.region {
            return None;
        }
        self.node.config.departments.get(&self.caller.id)
    }

    pub(super) fn detail(&mut self, key: &str, value: impl Into<Value>) {
        self.draft.detail.insert(key.into(), value.into());
    }

    /// The request as the rules see it: the node, the caller's id, the entry.
    pub(super) fn access(&mut self) -> Access<'_> {
        Access {
            node: &self.node,
            by: &self.caller.id,
            entry: &mut self.draft,
        }
    }
}

/// A JSON answer of `body`.
pub(super) fn respond_json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(bytes),
    )
        .into_response()
}

pub(super) fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes))
}

/// Whether the node is alive: its audit log takes writes. Unaudited.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "The audit log takes writes.", body = Health),
        (status = 503, description = "The audit log refuses writes (`audit_unavailable`).",
            body = UnrecordedError),
    )
)]
pub(super) fn healthz(node: &Node) -> Response {
    if node.log.healthy() {
        respond_json(StatusCode::OK, &Health { status: "ok" })
    } else {
        fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "the audit log refuses writes",
        )
        .into_response()
    }
}

/// The one handler.
pub(super) async fn handle(State(node): State<Arc<Node>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let route = Route::parse(&parts.method, parts.uri.path());
    // Unaudited: nothing personal, nothing about a licence.
    match route {
        Route::Healthz => return healthz(&node),
        Route::Checkpoint => return super::audit::checkpoint(&node),
        Route::Vkey => return super::audit::vkey(&node),
        Route::TrustList => return super::witness::trust_list(&node),
        _ => {}
    }
    audited(node, route, parts, body).await
}

/// An audited request, from naming its caller to its answer with the receipt of its entry.
pub(super) async fn audited(
    node: Arc<Node>,
    route: Route,
    parts: axum::http::request::Parts,
    body: Body,
) -> Response {
    let caller = parts
        .extensions
        .get::<Caller>()
        .cloned()
        .unwrap_or_else(|| Caller {
            id: "(unidentified)".into(),
            region: node.config.region,
            cert_sha256: String::new(),
        });
    let mut ctx = Ctx {
        draft: EntryDraft::new(
            Actor {
                id: caller.id.clone(),
                region: Some(caller.region),
                cert_sha256: (!caller.cert_sha256.is_empty()).then(|| caller.cert_sha256.clone()),
            },
            route.action(),
            "ok",
        ),
        announced: Some(node.log.announce()),
        node: node.clone(),
        caller,
    };
    ctx.detail("method", parts.method.as_str());
    // The path as received, cut to a length an entry can always hold.
    let path = parts.uri.path();
    let cut = path
        .char_indices()
        .nth(MAX_LOGGED_PATH)
        .map_or(path, |(i, _)| &path[..i]);
    ctx.detail("path", cut);

    if route == Route::WitnessAdd {
        // Cosigning (200) and the size answer (409) are protocol traffic about logs, with no
        // licence or personal data: not entries, or witnessing partners' logs would feed each
        // other forever. Every refusal is an entry.
        let limit = route.body_limit(&ctx.node.config.limits);
        let result = match read_body(&ctx.node, body, limit).await {
            Ok(bytes) => witness_add(&mut ctx, &bytes).await,
            Err(e) => Err(e),
        };
        return match result {
            Ok(Witnessing::Done(response)) => {
                ctx.announced = None;
                response
            }
            Ok(Witnessing::Refused(answer)) => finish(ctx, Ok(answer)).await,
            Err(e) => finish(ctx, Err(e)).await,
        };
    }
    let result = run(&mut ctx, &route, &parts.headers, parts.uri.query(), body).await;
    finish(ctx, result).await
}

/// Reads a request body of at most `limit` bytes, bounded in time.
pub(super) async fn read_body(
    node: &crate::node::Node,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    let limits = node.config.limits;
    let limited = http_body_util::Limited::new(body, limit);
    let bytes = match tokio::time::timeout(limits.body, limited.collect()).await {
        Err(_) => {
            return Err(fail(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "the request body did not arrive in time",
            ));
        }
        Ok(Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return Err(fail(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("request bodies of this endpoint are at most {limit} bytes"),
                ));
            }
            return Err(bad("bad_body", format!("reading the request body: {e}")));
        }
        Ok(Ok(c)) => c.to_bytes(),
    };
    Ok(bytes)
}

/// Reads the body (bounded in size and time), checks the caller's roles, runs the route.
pub(super) async fn run(
    ctx: &mut Ctx,
    route: &Route,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Body,
) -> Result<Answer, ApiError> {
    let bytes = read_body(&ctx.node, body, route.body_limit(&ctx.node.config.limits)).await?;
    if !bytes.is_empty() {
        ctx.draft.request_sha256 = Some(sha256_hex(&bytes));
    }
    match route {
        Route::Unknown => {
            return Err(fail(StatusCode::NOT_FOUND, "not_found", "no such endpoint"));
        }
        Route::WrongMethod(_) => {
            return Err(fail(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "the endpoint does not take this method",
            ));
        }
        _ => {}
    }
    // Roles first: a caller without the role learns nothing about its request.
    let roles = route.roles();
    if !roles.is_empty() {
        let has = ctx
            .department()
            .is_some_and(|d| roles.iter().any(|r| d.roles.contains(r)));
        if !has {
            let wanted: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            ctx.detail("wanted", route.action().as_str());
            ctx.detail("roles", wanted.clone());
            ctx.draft.action = Action::AuthDenied;
            let who = if ctx.department().is_some() {
                "the department"
            } else {
                "the caller is not a department of this region and"
            };
            return Err(forbidden(
                "forbidden_role",
                format!("{who} does not have the role {}", wanted.join(" or ")),
            ));
        }
    }
    if route.takes_body() {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/json") {
            return Err(fail(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be application/json",
            ));
        }
    } else if !bytes.is_empty() {
        return Err(bad(
            "unexpected_body",
            "this endpoint takes no request body",
        ));
    }
    let q = parse_query(query)?;
    if route.takes_body()
        || matches!(
            route,
            Route::OpenApi | Route::GetStatus(_) | Route::GetOfd(_)
        )
    {
        no_params(&q)?;
    }
    match route {
        Route::OpenApi => Ok(Answer::raw(
            "application/json",
            super::openapi::openapi().to_vec(),
        )),
        Route::Issue => issue(ctx, &bytes),
        Route::Amend(id) => amend(ctx, id, &bytes).await,
        Route::SetStatus(id) => set_status(ctx, id, &bytes).await,
        Route::GetStatus(id) => get_status(ctx, id),
        Route::GetOfd(id) => get_ofd(ctx, id),
        Route::Verify => verify(ctx, &bytes).await,
        Route::GrantConsent => grant_consent(ctx, &bytes),
        Route::WithdrawConsent(id) => {
            no_params(&q)?;
            withdraw_consent(ctx, id).await
        }
        Route::Lookup => lookup(ctx, &bytes).await,
        Route::FederatedLookup => federated_lookup(ctx, &bytes).await,
        Route::WitnessState => {
            no_params(&q)?;
            witness_state(ctx)
        }
        Route::AuditEntries => audit_entries(ctx, &q).await,
        Route::InclusionProof => inclusion(ctx, &q),
        Route::ConsistencyProof => consistency(ctx, &q),
        Route::Healthz
        | Route::Checkpoint
        | Route::Vkey
        | Route::TrustList
        | Route::WitnessAdd
        | Route::Unknown
        | Route::WrongMethod(_) => Err(internal("route dispatched twice")),
    }
}

/// The first leaf hash of a receipt, base64.
pub(super) fn leaf_b64(receipt: &crate::store::Receipt) -> String {
    receipt
        .leaf_hashes
        .first()
        .map(|h| B64.encode(h))
        .unwrap_or_default()
}

/// The receipt of a request's audit entry, as answers carry it.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Receipt<'a> {
    /// The entry's index in the log (0-based).
    pub(super) index: u64,
    /// Its leaf hash (RFC 6962), standard base64.
    pub(super) leaf_hash: &'a str,
}

/// The answer of `GET /healthz`.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Health {
    /// `ok`.
    pub(super) status: &'static str,
}

/// A JSON answer (`body`, a serialised object) with the receipt of its entry as its last
/// member: `{…}` → `{…,"receipt":{…}}`, the body serialised once.
pub(super) fn with_receipt(
    status: StatusCode,
    mut body: Vec<u8>,
    receipt: &Receipt<'_>,
) -> Response {
    if body.last() == Some(&b'}')
        && let Ok(receipt) = serde_json::to_vec(receipt)
    {
        body.pop();
        if body.len() > 1 {
            body.push(b',');
        }
        body.extend_from_slice(b"\"receipt\":");
        body.extend_from_slice(&receipt);
        body.push(b'}');
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

/// `body` serialised, for [`with_receipt`].
fn to_bytes<T: Serialize>(body: &T) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec())
}

/// The entry of a request whose own entry was refused: who, what and on which licence and
/// holder, with none of the request's free text or details but its method and the start of its
/// path, which always fits.
pub(super) fn reduced_draft(draft: &EntryDraft, status: StatusCode) -> EntryDraft {
    let mut reduced = EntryDraft::new(draft.actor.clone(), draft.action, "unrecordable_request");
    reduced.on_behalf_of = draft.on_behalf_of.clone();
    reduced.licence = draft.licence.clone();
    reduced.holder = draft.holder.clone();
    reduced.request_sha256 = draft.request_sha256.clone();
    for key in ["method", "path"] {
        if let Some(Value::String(v)) = draft.detail.get(key) {
            let v = cut_chars(v, 128);
            let clean: String = v.chars().filter(|c| !c.is_control()).collect();
            reduced.detail.insert(key.into(), clean.into());
        }
    }
    reduced
        .detail
        .insert("status".into(), StatusCode::BAD_REQUEST.as_u16().into());
    reduced
        .detail
        .insert("refused_status".into(), status.as_u16().into());
    reduced
}

/// Appends the audit entry (with the answer's writes), then answers with its receipt.
pub(super) async fn finish(mut ctx: Ctx, result: Result<Answer, ApiError>) -> Response {
    let (status, payload, writes, guard) = match result {
        Ok(a) => {
            ctx.draft.outcome = a.outcome;
            (a.status, a.body, a.writes, a.guard)
        }
        Err(e) => {
            ctx.draft.outcome = e.code.to_owned();
            // What the caller sent may be quoted: redacted, then cut, so that no message can
            // carry a holder code or push the entry past its limit.
            let message = ctx.node.holder_key.redact(&e.message);
            let message = cut_chars(&message, MAX_MESSAGE_CHARS);
            ctx.detail("message", message.as_ref());
            (
                e.status,
                Payload::Json(to_bytes(&error_body(e.code, &message))),
                Vec::new(),
                None,
            )
        }
    };
    ctx.detail("status", status.as_u16());
    let draft = std::mem::replace(
        &mut ctx.draft,
        EntryDraft::new(Actor::default(), Action::AuthDenied, ""),
    );
    let reduced = reduced_draft(&draft, status);
    let pending = ctx.node.log.submit(vec![draft], writes);
    ctx.announced = None;
    // A state change keeps its lock until its write is on disk or has failed, even if this
    // request is dropped meanwhile (its client hung up): a later change could otherwise read
    // the state before this one and be written after it, undoing it.
    let receipt = match (pending, guard) {
        (Ok(p), Some(guard)) => p.recv_holding(guard).await,
        (Ok(p), None) => p.recv().await,
        (Err(e), _) => Err(e),
    };
    let receipt = match receipt {
        Ok(r) => r,
        Err(crate::audit::error::AuditError::Entry(refused)) => {
            // The entry itself was refused (too large, or a member the log does not take):
            // nothing of the request was written. The attempt is still an access, so it is
            // recorded with what an entry can always hold, and refused.
            tracing::warn!(error = %refused, "a request's entry was refused; recorded reduced");
            let receipt = match ctx.node.log.submit(vec![reduced], Vec::new()) {
                Ok(p) => p.recv().await,
                Err(e) => Err(e),
            };
            let body = error_body(
                "unrecordable_request",
                "the request's audit entry could not hold what it would record, so it was not \
                 served",
            );
            return match receipt {
                Ok(r) => {
                    let leaf = leaf_b64(&r);
                    let receipt = Receipt {
                        index: r.index,
                        leaf_hash: &leaf,
                    };
                    with_receipt(StatusCode::BAD_REQUEST, to_bytes(&body), &receipt)
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit write failed; request refused");
                    fail(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "audit_unavailable",
                        "the access could not be recorded, so it was not served",
                    )
                    .into_response()
                }
            };
        }
        Err(e) => {
            tracing::error!(error = %e, "audit write failed; request refused");
            return fail(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                "the access could not be recorded, so it was not served",
            )
            .into_response();
        }
    };
    let leaf = leaf_b64(&receipt);
    match payload {
        Payload::Json(body) => {
            let receipt = Receipt {
                index: receipt.index,
                leaf_hash: &leaf,
            };
            with_receipt(status, body, &receipt)
        }
        Payload::Raw(content_type, bytes) => {
            raw_with_receipt(status, content_type, Body::from(bytes), &receipt, &leaf)
        }
        Payload::Stream(content_type, body) => {
            raw_with_receipt(status, content_type, body, &receipt, &leaf)
        }
    }
}

/// A non-JSON answer, its entry's receipt in headers.
pub(super) fn raw_with_receipt(
    status: StatusCode,
    content_type: &'static str,
    body: Body,
    receipt: &crate::store::Receipt,
    leaf: &str,
) -> Response {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&receipt.index.to_string()) {
        h.insert("zhengzhao-receipt-index", v);
    }
    if let Ok(v) = HeaderValue::from_str(leaf) {
        h.insert("zhengzhao-receipt-leaf-hash", v);
    }
    r
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// The fail-safe entry of a request whose own entry the log refuses always fits: it keeps
    /// who, what, the licence and the holder, and drops the details that made the entry too large.
    #[test]
    fn a_reduced_draft_fits_where_its_request_did_not() {
        let actor = Actor {
            id: "370900-window".into(),
            region: Some("370900".parse().unwrap()),
            cert_sha256: Some("ab".repeat(32)),
        };
        let mut draft = EntryDraft::new(actor.clone(), Action::LicenceLookup, "ok");
        draft.detail.insert("method".into(), "POST".into());
        draft.detail.insert(
            "path".into(),
            format!("/v1/lookups/{}", "p".repeat(600)).into(),
        );
        draft
            .detail
            .insert("huge".into(), "x".repeat(70 * 1024).into());
        let refused = draft
            .prepare()
            .unwrap()
            .assemble(7, "2026-12-01T00:00:00.000Z");
        assert!(
            matches!(refused, Err(crate::audit::entry::EntryError::TooLarge(_))),
            "{refused:?}"
        );

        let reduced = reduced_draft(&draft, StatusCode::OK);
        let bytes = reduced
            .prepare()
            .unwrap()
            .assemble(7, "2026-12-01T00:00:00.000Z")
            .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["outcome"], "unrecordable_request");
        assert_eq!(v["action"], "licence.lookup");
        assert_eq!(v["actor"]["id"], "370900-window");
        assert_eq!(v["detail"]["status"], 400);
        assert_eq!(v["detail"]["refused_status"], 200);
        assert_eq!(v["detail"]["method"], "POST");
        assert_eq!(
            v["detail"]["path"].as_str().unwrap().chars().count(),
            129,
            "128 characters and the cut mark"
        );
        assert!(v["detail"].get("huge").is_none());
        assert!(bytes.len() < 2048, "{} bytes", bytes.len());
    }
}
