//! The HTTP API (docs/api.md): routes, roles and the 用证清单, and exactly one audit entry for
//! every request that reaches the application, written before the response in the same synced
//! batch as the state change it records.
//!
//! Every request is dispatched here by one fallback handler, so that no framework rejection
//! (a body too large, a path that does not parse) can answer without an audit entry. Only
//! `GET /healthz`, `GET /v1/audit/checkpoint`, `GET /v1/audit/vkey`, `GET /v1/trust-list` and
//! the cosignatures (200) and size answers (409) of `POST /v1/witness/add-checkpoint`, which
//! touch no licence and no personal data, are answered without one (docs/api.md).

use std::str::FromStr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use http_body_util::BodyExt as _;
use ring::digest;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::Node;
use super::config::Role;
use super::locks::KeyGuard;
use super::state::{
    ConsentRecord, LicenceRecord, Status, StatusChange, consent_key, holder_key, holder_prefix,
    licence_key, put_empty, put_json,
};
use super::tls::Caller;
use super::usage::{self, MadeBy, UsageCopy};
use crate::audit::entry::{Action, Actor, EntryDraft, format_time, now_unix_ms};
use crate::audit::store::{Table, Write};
use crate::codes::{HolderCode, HolderType, LicenceId, LicenceTypeCode};
use crate::licence::issue::IssueError;
use crate::licence::model::IssuanceRequest;
use crate::licence::verify::{Outcome, rfc3339};

/// The OpenAPI 3.1 description served at `GET /v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Most entries one `GET /v1/audit/entries` returns.
pub const MAX_ENTRIES_PER_READ: u64 = 10_000;
/// Longest purpose, in characters.
const MAX_PURPOSE_CHARS: usize = 200;
/// Longest request path kept in an audit entry, in characters.
const MAX_LOGGED_PATH: usize = 512;
/// Longest status reason, in characters.
const MAX_REASON_CHARS: usize = 200;

/// The router: everything goes through [`handle`].
pub fn router(node: Arc<Node>) -> Router {
    Router::new().fallback(handle).with_state(node)
}

/// The routes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Healthz,
    Checkpoint,
    Vkey,
    OpenApi,
    Issue,
    SetStatus(String),
    Amend(String),
    GetStatus(String),
    Verify,
    GrantConsent,
    WithdrawConsent(String),
    Lookup,
    AuditEntries,
    InclusionProof,
    ConsistencyProof,
    TrustList,
    WitnessAdd,
    WitnessState,
    FederatedLookup,
    /// A known path with a method it does not take.
    WrongMethod(Action),
    Unknown,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Route {
        let segs: Vec<&str> = path.split('/').collect();
        let m = method.clone();
        let (route, allowed) = match segs.as_slice() {
            ["", "healthz"] => (Route::Healthz, Method::GET),
            ["", "v1", "openapi.json"] => (Route::OpenApi, Method::GET),
            ["", "v1", "audit", "checkpoint"] => (Route::Checkpoint, Method::GET),
            ["", "v1", "audit", "vkey"] => (Route::Vkey, Method::GET),
            ["", "v1", "audit", "entries"] => (Route::AuditEntries, Method::GET),
            ["", "v1", "audit", "proof", "inclusion"] => (Route::InclusionProof, Method::GET),
            ["", "v1", "audit", "proof", "consistency"] => (Route::ConsistencyProof, Method::GET),
            ["", "v1", "licences"] => (Route::Issue, Method::POST),
            ["", "v1", "licences", id, "status"] if !id.is_empty() => {
                if m == Method::GET {
                    return Route::GetStatus((*id).to_owned());
                }
                (Route::SetStatus((*id).to_owned()), Method::POST)
            }
            ["", "v1", "licences", id, "versions"] if !id.is_empty() => {
                (Route::Amend((*id).to_owned()), Method::POST)
            }
            ["", "v1", "verify"] => (Route::Verify, Method::POST),
            ["", "v1", "consents"] => (Route::GrantConsent, Method::POST),
            ["", "v1", "consents", id] if !id.is_empty() => {
                (Route::WithdrawConsent((*id).to_owned()), Method::DELETE)
            }
            ["", "v1", "lookups"] => (Route::Lookup, Method::POST),
            ["", "v1", "trust-list"] => (Route::TrustList, Method::GET),
            ["", "v1", "witness", "add-checkpoint"] => (Route::WitnessAdd, Method::POST),
            ["", "v1", "witness", "state"] => (Route::WitnessState, Method::GET),
            ["", "v1", "federation", "lookups"] => (Route::FederatedLookup, Method::POST),
            _ => return Route::Unknown,
        };
        if m == allowed {
            route
        } else {
            Route::WrongMethod(route.action())
        }
    }

    fn action(&self) -> Action {
        match self {
            Route::Issue | Route::Amend(_) => Action::LicenceIssue,
            Route::SetStatus(_) => Action::LicenceStatus,
            Route::GetStatus(_) => Action::LicenceStatusRead,
            Route::Verify => Action::LicenceVerify,
            Route::GrantConsent => Action::ConsentGrant,
            Route::WithdrawConsent(_) => Action::ConsentRevoke,
            Route::Lookup | Route::FederatedLookup => Action::LicenceLookup,
            Route::TrustList => Action::FederationTrustList,
            Route::WitnessAdd => Action::FederationWitness,
            Route::WitnessState => Action::AuditRead,
            Route::AuditEntries
            | Route::InclusionProof
            | Route::ConsistencyProof
            | Route::Checkpoint
            | Route::Vkey => Action::AuditRead,
            Route::OpenApi | Route::Healthz => Action::ApiDescribe,
            Route::WrongMethod(a) => *a,
            Route::Unknown => Action::RequestUnknown,
        }
    }

    /// The roles that may call the route; empty: any authenticated caller.
    fn roles(&self) -> &'static [Role] {
        match self {
            Route::Issue | Route::SetStatus(_) | Route::Amend(_) => &[Role::Issuer],
            Route::Verify => &[Role::Verifier, Role::Consumer],
            Route::GrantConsent | Route::WithdrawConsent(_) => &[Role::Portal],
            Route::Lookup => &[Role::Consumer],
            Route::AuditEntries => &[Role::Auditor],
            _ => &[],
        }
    }

    /// The largest body the route reads: `POST /v1/verify` may carry an OFD file.
    fn body_limit(&self, limits: &super::config::Limits) -> usize {
        match self {
            Route::Verify => limits.verify_request_bytes,
            _ => limits.request_bytes,
        }
    }

    fn takes_body(&self) -> bool {
        matches!(
            self,
            Route::Issue
                | Route::SetStatus(_)
                | Route::Amend(_)
                | Route::Verify
                | Route::GrantConsent
                | Route::Lookup
                | Route::FederatedLookup
        )
    }
}

/// An error answer: status, stable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn fail(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        code,
        message: message.into(),
    }
}

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    fail(StatusCode::BAD_REQUEST, code, message)
}

fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
    fail(StatusCode::FORBIDDEN, code, message)
}

fn internal(message: impl Into<String>) -> ApiError {
    let message = message.into();
    tracing::error!(%message, "internal error");
    fail(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the node could not complete the request",
    )
}

/// What a handler answers, and what it writes with the audit entry.
struct Answer {
    status: StatusCode,
    body: Payload,
    writes: Vec<Write>,
    outcome: String,
    /// Held until the entry and the writes are on disk.
    guard: Option<KeyGuard>,
}

enum Payload {
    Json(Map<String, Value>),
    /// A serialised JSON object; the receipt is added as its last member.
    JsonBytes(Vec<u8>),
    /// Bytes of a content type; the receipt goes in headers.
    Raw(&'static str, Vec<u8>),
    /// A streamed body of a content type; the receipt goes in headers.
    Stream(&'static str, Body),
}

impl Answer {
    fn json(status: StatusCode, body: Value) -> Answer {
        let body = match body {
            Value::Object(m) => m,
            other => {
                let mut m = Map::new();
                m.insert("value".into(), other);
                m
            }
        };
        Answer {
            status,
            body: Payload::Json(body),
            writes: Vec::new(),
            outcome: "ok".into(),
            guard: None,
        }
    }
}

/// The audit entry under construction, filled in by the handler.
struct Ctx {
    node: Arc<Node>,
    caller: Caller,
    draft: EntryDraft,
    /// This request's audit entry, announced to the log's writer until it is submitted (or
    /// the request turns out to write none): `None` once it is.
    announced: Option<crate::audit::store::Announced>,
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
    fn department(&self) -> Option<&super::config::Department> {
        if self.caller.region != self.node.config.region {
            return None;
        }
        self.node.config.departments.get(&self.caller.id)
    }

    fn detail(&mut self, key: &str, value: impl Into<Value>) {
        self.draft.detail.insert(key.into(), value.into());
    }
}

fn error_body(code: &str, message: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("error".into(), json!({"code": code, "message": message}));
    m
}

fn respond_json(status: StatusCode, body: &Map<String, Value>) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(bytes),
    )
        .into_response()
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes))
}

/// The one handler.
async fn handle(State(node): State<Arc<Node>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let route = Route::parse(&parts.method, parts.uri.path());
    // Unaudited: nothing personal, nothing about a licence.
    match route {
        Route::Healthz => {
            return if node.log.healthy() {
                respond_json(StatusCode::OK, &json_map(json!({"status": "ok"})))
            } else {
                respond_json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &error_body("audit_unavailable", "the audit log refuses writes"),
                )
            };
        }
        Route::Checkpoint => {
            return match node.log.latest_checkpoint() {
                Some(cp) => text(
                    StatusCode::OK,
                    node.federation.cosigned(&cp.note, &cp.checkpoint.body()),
                ),
                None => respond_json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &error_body("no_checkpoint", "no checkpoint has been signed yet"),
                ),
            };
        }
        Route::Vkey => return text(StatusCode::OK, format!("{}\n", node.log.verifier().vkey())),
        Route::TrustList => {
            return match super::federation::signed_trust_list(&node) {
                Ok(t) => {
                    let mut r = Response::new(Body::from(t));
                    r.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/jose"),
                    );
                    r
                }
                Err(e) => {
                    let e = internal(e);
                    respond_json(e.status, &error_body(e.code, &e.message))
                }
            };
        }
        _ => {}
    }
    audited(node, route, parts, body).await
}

/// An audited request, from naming its caller to its answer with the receipt of its entry.
async fn audited(
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

fn json_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Reads a request body of at most `limit` bytes, bounded in time.
async fn read_body(
    node: &super::Node,
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
async fn run(
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
    if route.takes_body() || matches!(route, Route::OpenApi | Route::GetStatus(_)) {
        no_params(&q)?;
    }
    match route {
        Route::OpenApi => Ok(Answer {
            status: StatusCode::OK,
            body: Payload::Raw("application/json", OPENAPI.as_bytes().to_vec()),
            writes: Vec::new(),
            outcome: "ok".into(),
            guard: None,
        }),
        Route::Issue => issue(ctx, &bytes),
        Route::Amend(id) => amend(ctx, id, &bytes).await,
        Route::SetStatus(id) => set_status(ctx, id, &bytes).await,
        Route::GetStatus(id) => get_status(ctx, id),
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
fn leaf_b64(receipt: &crate::audit::store::Receipt) -> String {
    receipt
        .leaf_hashes
        .first()
        .map(|h| B64.encode(h))
        .unwrap_or_default()
}

/// A JSON answer with the receipt of its entry as its last member.
fn with_receipt(
    status: StatusCode,
    mut body: Map<String, Value>,
    receipt: &crate::audit::store::Receipt,
) -> Response {
    body.insert(
        "receipt".into(),
        json!({"index": receipt.index, "leaf_hash": leaf_b64(receipt)}),
    );
    respond_json(status, &body)
}

/// The entry of a request whose own entry was refused: who, what and on which licence and
/// holder, with none of the request's free text or details but its method and the start of its
/// path, which always fits.
fn reduced_draft(draft: &EntryDraft, status: StatusCode) -> EntryDraft {
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
async fn finish(mut ctx: Ctx, result: Result<Answer, ApiError>) -> Response {
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
                Payload::Json(error_body(e.code, &message)),
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
        Err(crate::audit::store::AuditError::Entry(refused)) => {
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
                Ok(r) => with_receipt(StatusCode::BAD_REQUEST, body, &r),
                Err(e) => {
                    tracing::error!(error = %e, "audit write failed; request refused");
                    respond_json(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &error_body(
                            "audit_unavailable",
                            "the access could not be recorded, so it was not served",
                        ),
                    )
                }
            };
        }
        Err(e) => {
            tracing::error!(error = %e, "audit write failed; request refused");
            return respond_json(
                StatusCode::SERVICE_UNAVAILABLE,
                &error_body(
                    "audit_unavailable",
                    "the access could not be recorded, so it was not served",
                ),
            );
        }
    };
    let leaf = leaf_b64(&receipt);
    match payload {
        Payload::Json(body) => with_receipt(status, body, &receipt),
        Payload::JsonBytes(mut bytes) => {
            // `{…}` → `{…,"receipt":{…}}`: the receipt joins a body serialised once.
            let receipt = json!({"index": receipt.index, "leaf_hash": leaf});
            if bytes.last() == Some(&b'}') {
                bytes.pop();
                if bytes.len() > 1 {
                    bytes.push(b',');
                }
                bytes.extend_from_slice(b"\"receipt\":");
                bytes.extend_from_slice(receipt.to_string().as_bytes());
                bytes.push(b'}');
            }
            (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                Body::from(bytes),
            )
                .into_response()
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
fn raw_with_receipt(
    status: StatusCode,
    content_type: &'static str,
    body: Body,
    receipt: &crate::audit::store::Receipt,
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

// ---------------------------------------------------------------------------------------------
// Input helpers.

/// Parses a JSON body into `T`, naming what is wrong: `malformed_json`, `unknown_field`,
/// `invalid_request`.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        // serde quotes the offending value, which may be a holder's number.
        let msg = crate::codes::redact_id_numbers(&e.to_string());
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                bad("malformed_json", format!("the body is not JSON: {msg}"))
            }
            Category::Data if msg.contains("unknown field") => bad("unknown_field", msg),
            Category::Data => bad("invalid_request", msg),
        }
    })
}

type Query = Vec<(String, String)>;

fn parse_query(q: Option<&str>) -> Result<Query, ApiError> {
    let mut out: Query = Vec::new();
    for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if out.iter().any(|(seen, _)| seen == k) {
            return Err(bad(
                "invalid_query",
                format!("parameter {} is repeated", quoted(k)),
            ));
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    Ok(out)
}

fn no_params(q: &Query) -> Result<(), ApiError> {
    match q.first() {
        None => Ok(()),
        Some((k, _)) => Err(bad(
            "invalid_query",
            format!("unknown parameter {}", quoted(k)),
        )),
    }
}

/// The unsigned integer parameters `names` (each required unless it has a default); any other
/// parameter is refused.
fn int_params<const N: usize>(
    q: &Query,
    names: [(&str, Option<u64>); N],
) -> Result<[u64; N], ApiError> {
    for (k, _) in q {
        if !names.iter().any(|(n, _)| n == k) {
            return Err(bad(
                "invalid_query",
                format!("unknown parameter {}", quoted(k)),
            ));
        }
    }
    let mut out = [0u64; N];
    for (i, (name, default)) in names.iter().enumerate() {
        out[i] = match q.iter().find(|(k, _)| k == name) {
            Some((_, v)) => {
                if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad(
                        "invalid_query",
                        format!("{name} must be a non-negative integer"),
                    ));
                }
                v.parse()
                    .map_err(|_| bad("invalid_query", format!("{name} is out of range")))?
            }
            None => default.ok_or_else(|| bad("invalid_query", format!("{name} is required")))?,
        };
    }
    Ok(out)
}

/// A matter code or id: 1 to 64 characters of `A-Z a-z 0-9 - _ .`.
fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A free text of 1 to `max` characters, not only white space, without control, line-separator,
/// bidirectional-control or invisible format characters (docs/api.md, Free text).
fn free_text(what: &str, s: &str, max: usize) -> Result<(), ApiError> {
    crate::codes::check_free_text(s, max)
        .map_err(|fault| bad("invalid_request", format!("{what}: {fault}")))
}

/// The most characters of a caller's input an error message quotes.
const MAX_QUOTED_CHARS: usize = 64;
/// The most characters of an error message, in the answer and in the entry.
const MAX_MESSAGE_CHARS: usize = 512;

/// `s` quoted for an error message: at most [`MAX_QUOTED_CHARS`] characters of it (`…` marks a
/// cut), escaped as a Rust string literal so that control and invisible characters show.
fn quoted(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTED_CHARS) {
        None => format!("{s:?}"),
        Some((i, _)) => format!("{:?}…", &s[..i]),
    }
}

/// At most `max` characters of `s`, `…` marking a cut.
fn cut_chars(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => s.into(),
        Some((i, _)) => format!("{}…", &s[..i]).into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolderRef {
    #[serde(rename = "type")]
    holder_type: String,
    code: String,
}

impl HolderRef {
    /// The type and code of an issuance request's holder.
    fn of(h: &crate::licence::model::HolderRequest) -> HolderRef {
        HolderRef {
            holder_type: h.holder_type.clone(),
            code: h.code.clone(),
        }
    }
}

impl std::fmt::Debug for HolderRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HolderRef({}, {})",
            self.holder_type,
            crate::codes::mask(&self.code)
        )
    }
}

fn holder_code(h: &HolderRef) -> Result<HolderCode, ApiError> {
    let t = HolderType::from_str(&h.holder_type)
        .map_err(|e| bad("invalid_holder", format!("holder.type: {e}")))?;
    HolderCode::parse(t, &h.code).map_err(|e| bad("invalid_holder", format!("holder.code: {e}")))
}

/// Parses the holder, records its keyed hash in the entry, and returns both.
fn holder_in_entry(
    ctx: &mut Ctx,
    h: &HolderRef,
) -> Result<(HolderCode, crate::audit::entry::HolderHash), ApiError> {
    let holder = holder_code(h)?;
    let hash = ctx.node.holder_key.holder_hash(&holder);
    ctx.draft.holder = Some(hash.clone());
    Ok((holder, hash))
}

fn now_ms() -> i64 {
    now_unix_ms()
}

fn load_licence(ctx: &Ctx, id: &str) -> Result<Option<LicenceRecord>, ApiError> {
    load_record(ctx, id)
}

/// A licence record, or the part of it `T` names (the rest is skipped, not built).
fn load_record<T: DeserializeOwned>(ctx: &Ctx, id: &str) -> Result<Option<T>, ApiError> {
    match ctx.node.log.get(Table::State, &licence_key(id)) {
        Ok(None) => Ok(None),
        Ok(Some(v)) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| internal(format!("licence record {id}: {e}"))),
        Err(e) => Err(unavailable(e)),
    }
}

/// Only a licence's status.
#[derive(Deserialize)]
struct StatusOnly {
    status: Status,
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "state read failed");
    fail(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage_unavailable",
        "the node's storage could not be read",
    )
}

/// A licence id from a path: it must parse, and names the entry's licence.
fn licence_id(ctx: &mut Ctx, id: &str) -> Result<LicenceId, ApiError> {
    let parsed = LicenceId::from_str(id)
        .map_err(|e| bad("invalid_licence_id", format!("not a licence id: {e}")))?;
    ctx.draft.licence = Some(parsed.clone());
    Ok(parsed)
}

fn json_err(e: serde_json::Error) -> ApiError {
    internal(e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Licences.

fn issue_error(e: IssueError) -> ApiError {
    match e {
        IssueError::Request(m) => bad("invalid_request", m),
        other => internal(other.to_string()),
    }
}

fn new_record(
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

fn issue(ctx: &mut Ctx, bytes: &[u8]) -> Result<Answer, ApiError> {
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

async fn amend(ctx: &mut Ctx, id: &str, bytes: &[u8]) -> Result<Answer, ApiError> {
    let previous = licence_id(ctx, id)?;
    let req: IssuanceRequest = parse_json(bytes)?;
    let guard = ctx.node.locks.lock(super::locks::licence(id)).await;
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
struct StatusRequest {
    status: String,
    reason: String,
}

async fn set_status(ctx: &mut Ctx, id: &str, bytes: &[u8]) -> Result<Answer, ApiError> {
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
    let guard = ctx.node.locks.lock(super::locks::licence(id)).await;
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
fn get_status(ctx: &mut Ctx, id: &str) -> Result<Answer, ApiError> {
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

// ---------------------------------------------------------------------------------------------
// Verification.

/// The body of `POST /v1/verify`: exactly one of `licence` and `ofd`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    /// A licence or a usage copy, compact JWS.
    #[serde(default)]
    licence: Option<String>,
    /// An OFD file, standard base64.
    #[serde(default)]
    ofd: Option<String>,
    purpose: String,
}

/// What `POST /v1/verify` was given to verify.
enum Document {
    /// A licence or a usage copy, compact JWS.
    Licence(String),
    /// An OFD file, standard base64.
    Ofd(String),
}

async fn verify(ctx: &mut Ctx, bytes: &[u8]) -> Result<Answer, ApiError> {
    let req: VerifyRequest = parse_json(bytes)?;
    let document = match (req.licence, req.ofd) {
        (Some(licence), None) => Document::Licence(licence),
        (None, Some(ofd)) => Document::Ofd(ofd),
        (Some(_), Some(_)) => {
            return Err(bad(
                "licence_or_ofd",
                "give one document to verify, `licence` or `ofd`, not both",
            ));
        }
        (None, None) => {
            return Err(bad(
                "licence_or_ofd",
                "give a document to verify: `licence` (a licence or usage copy) or `ofd` (an \
                 OFD file, base64)",
            ));
        }
    };
    free_text("purpose", &req.purpose, MAX_PURPOSE_CHARS)?;
    ctx.draft.purpose = Some(req.purpose);
    let licence = match document {
        Document::Licence(licence) => licence,
        Document::Ofd(ofd) => return verify_ofd(ctx, &ofd).await,
    };
    let now = now_ms() / 1000;
    let mut body = Map::new();
    let token = if usage::is_usage_copy(&licence) {
        match usage::check(&licence, ctx.node.verifier.trust(), now) {
            Ok(copy) => {
                ctx.detail("usage_copy", true);
                ctx.draft.matter = Some(copy.matter.clone());
                body.insert(
                    "usage_copy".into(),
                    json!({
                        "made_by": copy.made_by,
                        "for": copy.for_,
                        "matter": copy.matter,
                        "purpose": copy.purpose,
                        "made_at": copy.made_at,
                        "valid_until": copy.valid_until,
                    }),
                );
                copy.licence
            }
            Err(refusal) => {
                let mut a = Answer::json(
                    StatusCode::OK,
                    json!({
                        "outcome": refusal.outcome,
                        "usage_copy": {"outcome": refusal.outcome, "detail": refusal.detail},
                        "status": "not_checked",
                    }),
                );
                a.outcome = refusal.outcome.to_owned();
                return Ok(a);
            }
        }
    } else {
        licence
    };
    let report = ctx.node.verifier.verify(&token, now);
    let mut outcome = report.outcome.as_str().to_owned();
    let mut status = "not_checked".to_owned();
    if let Some(claims) = &report.licence {
        if let Ok(id) = LicenceId::from_str(&claims.jti) {
            ctx.draft.licence = Some(id);
        }
        if let (Ok(t), true) = (
            HolderType::from_str(&claims.lic.holder_type),
            report.outcome == Outcome::Valid,
        ) && let Ok(h) = HolderCode::parse(t, &claims.sub)
        {
            ctx.draft.holder = Some(ctx.node.holder_key.holder_hash(&h));
        }
        let node = ctx.node.clone();
        let partner = crate::codes::RegionCode::from_str(&claims.lic.region)
            .ok()
            .and_then(|r| node.federation.partner(&r));
        if let (Some(link), Outcome::Valid) = (partner, report.outcome) {
            // A partner's licence: recognised at signing time, a signer its trust list lists,
            // and live status from the partner itself.
            if let Some((refused, detail)) =
                super::federation::partner_refusal(link, &token, &claims.lic.type_code, claims.iat)
            {
                outcome = refused.to_owned();
                ctx.detail("refused", detail.clone());
                body.insert(
                    "federation".into(),
                    json!({"outcome": refused, "detail": detail}),
                );
            } else {
                match super::federation::partner_status(&node, link, &claims.jti).await {
                    Ok(s) => {
                        if s != "active" {
                            outcome = s.clone();
                        }
                        status = s;
                    }
                    Err(e) => {
                        ctx.detail("status_error", e.clone());
                        status = "unknown".into();
                        outcome = "status_unknown".into();
                    }
                }
                ctx.detail("status_from", link.partner.region.to_string());
            }
        }
        // Live status for this node's own licences.
        if report.outcome == Outcome::Valid
            && claims.lic.region == ctx.node.config.region.to_string()
        {
            match load_record::<StatusOnly>(ctx, &claims.jti)? {
                // By jti, never by token bytes (ES256 signatures are malleable); the token
                // verified under an anchor for this region, so the id is this node's.
                Some(rec) => {
                    status = rec.status.as_str().to_owned();
                    if rec.status != Status::Active {
                        outcome = status.clone();
                    }
                }
                None => {
                    status = "unknown".into();
                    outcome = "status_unknown".into();
                }
            }
        }
    }
    // Serialised once, straight to bytes: the report is most of the answer.
    #[derive(serde::Serialize)]
    struct VerifyAnswer<'a> {
        outcome: &'a str,
        status: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        usage_copy: Option<&'a Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        federation: Option<&'a Value>,
        report: &'a crate::licence::verify::Report,
    }
    let bytes = serde_json::to_vec(&VerifyAnswer {
        outcome: &outcome,
        status: &status,
        usage_copy: body.get("usage_copy"),
        federation: body.get("federation"),
        report: &report,
    })
    .map_err(json_err)?;
    Ok(Answer {
        status: StatusCode::OK,
        body: Payload::JsonBytes(bytes),
        writes: Vec::new(),
        outcome,
        guard: None,
    })
}

/// `POST /v1/verify` with `ofd`: the file decoded, verified against the node's anchors on a
/// blocking thread (an OFD verification takes milliseconds: it inflates a zip, hashes every
/// file and checks several SM2 signatures), and answered with its report. The entry names the
/// file by its SM3 digest (never its bytes) and the licence the document's metadata names.
async fn verify_ofd(ctx: &mut Ctx, b64: &str) -> Result<Answer, ApiError> {
    let file = B64.decode(b64).map_err(|e| {
        bad(
            "invalid_base64",
            format!("`ofd` is not standard base64 (RFC 4648, with padding): {e}"),
        )
    })?;
    ctx.detail(
        crate::audit::entry::OFD_SM3,
        hex::encode(crate::gm::sm3(&file)),
    );
    ctx.detail("ofd_bytes", file.len());
    let node = ctx.node.clone();
    // Held by the verification itself, which runs to its end even if this request is dropped.
    let place = node
        .ofd_verifications
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| internal(format!("OFD verification places: {e}")))?;
    let now = now_ms() / 1000;
    let report = tokio::task::spawn_blocking(move || {
        let _place = place;
        node.ofd_verifier.verify(&file, now)
    })
    .await
    .map_err(|e| internal(format!("the OFD verification ended: {e}")))?;
    if let Some(id) = report.licence_id.as_deref() {
        ctx.draft.licence = LicenceId::from_str(id).ok();
    }
    #[derive(serde::Serialize)]
    struct OfdAnswer<'a> {
        outcome: &'static str,
        status: &'static str,
        report: &'a crate::ofd::report::OfdReport,
    }
    let outcome = report.outcome.as_str();
    let bytes = serde_json::to_vec(&OfdAnswer {
        outcome,
        // No live status: an OFD licence is not one of this node's records.
        status: "not_checked",
        report: &report,
    })
    .map_err(json_err)?;
    Ok(Answer {
        status: StatusCode::OK,
        body: Payload::JsonBytes(bytes),
        writes: Vec::new(),
        outcome: outcome.to_owned(),
        guard: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Consents.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentRequest {
    holder: HolderRef,
    grantee: String,
    #[serde(default)]
    grantee_region: Option<String>,
    type_codes: Vec<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    uses: Option<u64>,
}

fn random_id() -> Result<String, ApiError> {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| internal("no randomness"))?;
    Ok(hex::encode(b))
}

fn grant_consent(ctx: &mut Ctx, bytes: &[u8]) -> Result<Answer, ApiError> {
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

fn load_consent(ctx: &Ctx, id: &str) -> Result<Option<ConsentRecord>, ApiError> {
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

async fn withdraw_consent(ctx: &mut Ctx, id: &str) -> Result<Answer, ApiError> {
    let guard = ctx.node.locks.lock(super::locks::consent(id)).await;
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

// ---------------------------------------------------------------------------------------------
// Lookups (免证办).

/// Which regions a lookup covers: `"all"` (this one and every partner) or a list of codes.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
enum Regions {
    Word(String),
    List(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupRequest {
    holder: HolderRef,
    #[serde(default)]
    type_code: Option<String>,
    matter: String,
    purpose: String,
    #[serde(default)]
    consent: Option<String>,
    #[serde(default)]
    regions: Option<Regions>,
}

/// A lookup forwarded by a partner node on behalf of one of its departments.
#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct FederatedLookupRequest {
    department: String,
    holder: HolderRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    type_code: Option<String>,
    matter: String,
    purpose: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    consent: Option<String>,
}

impl serde::Serialize for HolderRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json!({"type": self.holder_type, "code": self.code}).serialize(s)
    }
}

/// Who a lookup is for: a department of this region, or of a partner region.
struct Requester {
    id: String,
    region: crate::codes::RegionCode,
    types: super::config::Types,
    /// The usage copy's `for`: the department id, `<region>/<id>` for a partner's.
    for_: String,
}

/// What is looked up: the holder, the type (if one), the matter, the purpose and the consent.
#[derive(Clone, Copy)]
struct Ask<'a> {
    holder: &'a HolderCode,
    hash: &'a crate::audit::entry::HolderHash,
    type_code: Option<&'a String>,
    matter: &'a super::config::Matter,
    purpose: &'a str,
    consent: Option<&'a String>,
}

/// The most licences one lookup answers with, here or across regions together. A holder with
/// more (a large company over the years) is answered with the first ones and `more: true`; the
/// department narrows the next lookup by `type_code`. The bound keeps every answer, and the
/// audit entry listing what it handed out, a bounded size, and bounds the usage copies one
/// request can have signed.
pub const MAX_LOOKUP_RESULTS: usize = 50;

/// The refusals of a partner's licences listed by name in a cross-region lookup's entry; the
/// rest are counted (`dropped_total`).
const MAX_DROPPED_LISTED: usize = 16;

/// What a lookup found here.
struct Found {
    results: Vec<Value>,
    ids: Vec<Value>,
    /// More licences matched than [`MAX_LOOKUP_RESULTS`]; they were left out.
    more: bool,
    writes: Vec<Write>,
    guard: Option<KeyGuard>,
}

impl Found {
    /// The answer to a lookup of one region: its results, whether there were more, and what
    /// the entry records of them.
    fn answer(self, ctx: &mut Ctx) -> Answer {
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
struct Scope {
    holder: HolderCode,
    hash: crate::audit::entry::HolderHash,
    matter: super::config::Matter,
}

impl Scope {
    /// The lookup of this scope for the type (if one), purpose and consent asked.
    fn ask<'a>(
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
fn lookup_scope(
    ctx: &mut Ctx,
    holder: &HolderRef,
    type_code: Option<&String>,
    matter: &str,
    purpose: &str,
    matters: &std::collections::BTreeSet<String>,
    types: &super::config::Types,
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

fn matter_refused(matter: &str) -> ApiError {
    forbidden(
        "matter_not_allowed",
        format!(
            "the department may not use licences for matter {}",
            quoted(matter)
        ),
    )
}

fn check_type_code(
    ctx: &mut Ctx,
    type_code: Option<&String>,
    allowed: &super::config::Types,
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
async fn lookup_here(ctx: &mut Ctx, who: &Requester, ask: &Ask<'_>) -> Result<Found, ApiError> {
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
        guard = Some(ctx.node.locks.lock(super::locks::consent(cid)).await);
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
async fn lookup(ctx: &mut Ctx, bytes: &[u8]) -> Result<Answer, ApiError> {
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

/// What a partner answered to a forwarded lookup, after checking.
struct Forwarded {
    results: Vec<Value>,
    /// The partner had more than it answered with.
    more: bool,
    dropped: Vec<Value>,
    receipt: Option<u64>,
}

/// Forwards a lookup to the partner of `region` and checks every licence it returns against
/// that partner's anchors and recognition; what fails is dropped (and named in the entry).
async fn forward_lookup(
    node: &super::Node,
    region: crate::codes::RegionCode,
    body: Vec<u8>,
    deadline: tokio::time::Instant,
    expected: &Expected,
) -> Result<Forwarded, (String, Option<u64>)> {
    let link = node
        .federation
        .partner(&region)
        .ok_or_else(|| ("not_a_partner".to_owned(), None))?;
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    let reply = link
        .call(
            "POST",
            "/v1/federation/lookups",
            Some("application/json"),
            body,
            left,
        )
        .await
        .map_err(|e| {
            tracing::info!(partner = %region, error = %e, "forwarded lookup failed");
            let code = if e.starts_with("no answer within") {
                "deadline"
            } else if e.starts_with(super::client::ANSWER_TOO_LARGE) {
                "bad_answer"
            } else {
                "unreachable"
            };
            (code.to_owned(), None)
        })?;
    let v = reply.json().map_err(|_| ("bad_answer".to_owned(), None))?;
    // The partner's entry for this lookup, whatever it answered: an auditor finds both halves.
    let receipt = v.pointer("/receipt/index").and_then(Value::as_u64);
    let refuse = |code: &str| (code.to_owned(), receipt);
    if reply.status != 200 {
        // The partner's error code, if it is one (it goes into this node's answer and entry).
        let code = v
            .pointer("/error/code")
            .and_then(|c| c.as_str())
            .filter(|c| {
                (1..=64).contains(&c.len())
                    && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            })
            .unwrap_or("bad_answer");
        return Err(refuse(code));
    }
    let items = v
        .get("results")
        .and_then(|r| r.as_array())
        .ok_or_else(|| refuse("bad_answer"))?;
    // A partner answers with at most as many as any node does; more is not checked one by one.
    if items.len() > MAX_LOOKUP_RESULTS {
        tracing::warn!(partner = %region, results = items.len(), "a partner answered with too many licences");
        return Err(refuse("too_many_results"));
    }
    let more = v.get("more").and_then(Value::as_bool).unwrap_or(false);
    let now = now_ms() / 1000;
    let mut results = Vec::new();
    let mut dropped = Vec::new();
    let region_s = region.to_string();
    for item in items {
        let id = item.get("id").and_then(Value::as_str).unwrap_or("");
        let licence = item.get("licence").and_then(Value::as_str).unwrap_or("");
        let status = item.get("status").and_then(Value::as_str).unwrap_or("");
        let copy = item.get("usage_copy").and_then(Value::as_str);
        let refusal = if ["active", "suspended", "revoked"].contains(&status) {
            check_forwarded(node, link, (id, licence, copy), now, expected)
        } else {
            Some((
                "malformed",
                "the status is not active, suspended or revoked".into(),
            ))
        };
        match refusal {
            None => results.push(json!({
                "id": id,
                "region": region_s,
                "status": status,
                "licence": licence,
                "usage_copy": copy,
            })),
            Some((outcome, detail)) => {
                tracing::warn!(partner = %region, %outcome, %detail, "a partner's licence dropped");
                dropped.push(json!({
                    "region": region_s,
                    "id": id.chars().take(64).collect::<String>(),
                    "outcome": outcome,
                    "detail": detail.chars().take(256).collect::<String>(),
                }));
            }
        }
    }
    Ok(Forwarded {
        results,
        more,
        dropped,
        receipt,
    })
}

/// What a forwarded lookup asked for whom, which every licence and usage copy in the answer
/// must match.
struct Expected {
    holder: HolderCode,
    type_code: Option<String>,
    /// The department's 用证清单 types.
    types: super::config::Types,
    /// `<region>/<department>`, as the partner names the copy's recipient.
    for_: String,
    matter: String,
    purpose: String,
}

/// Why a licence (and its usage copy) a partner returned is not passed on, if it is not.
fn check_forwarded(
    node: &super::Node,
    link: &super::federation::PartnerLink,
    (id, licence, copy): (&str, &str, Option<&str>),
    now: i64,
    expected: &Expected,
) -> Option<(&'static str, String)> {
    let region = link.partner.region.to_string();
    let report = node.verifier.verify(licence, now);
    let Some(claims) = &report.licence else {
        return Some((
            report.outcome.as_str(),
            "the licence does not verify".into(),
        ));
    };
    if claims.lic.region != region {
        return Some((
            "wrong_region",
            format!(
                "the partner of region {region} answered with a licence of region {}",
                claims.lic.region
            ),
        ));
    }
    if report.outcome != Outcome::Valid && report.outcome != Outcome::Expired {
        let why = report
            .first_failure()
            .map(|c| c.detail.clone())
            .unwrap_or_default();
        return Some((report.outcome.as_str(), why));
    }
    if claims.jti != id {
        return Some(("malformed", "the id does not match the licence".into()));
    }
    // The answer must be about what was asked: a partner answering with someone else's licence
    // would hand this department a holder it did not ask about (and may not see).
    let holder = HolderType::from_str(&claims.lic.holder_type)
        .ok()
        .and_then(|t| HolderCode::parse(t, &claims.sub).ok());
    if holder.as_ref() != Some(&expected.holder) {
        return Some((
            "wrong_holder",
            "the licence is not the holder's that was asked about".into(),
        ));
    }
    if let Some(t) = expected
        .type_code
        .as_ref()
        .filter(|t| **t != claims.lic.type_code)
    {
        return Some((
            "wrong_type",
            format!(
                "type {t} was asked for, the licence is of type {}",
                claims.lic.type_code
            ),
        ));
    }
    // The department's own 用证清单 holds for what partners return, too.
    if !expected.types.allows(&claims.lic.type_code) {
        return Some((
            "type_not_allowed",
            format!(
                "the department may not use licences of type {}",
                claims.lic.type_code
            ),
        ));
    }
    if let Some(r) =
        super::federation::partner_refusal(link, licence, &claims.lic.type_code, claims.iat)
    {
        return Some(r);
    }
    if let Some(copy) = copy {
        match usage::check(copy, node.verifier.trust(), now) {
            Ok(c)
                if c.made_by.region == region
                    && c.licence == licence
                    && c.for_ == expected.for_
                    && c.matter == expected.matter
                    && c.purpose == expected.purpose => {}
            Ok(_) => {
                return Some((
                    "bad_usage_copy",
                    "the usage copy is not the partner's copy of this licence for this \
                     department, matter and purpose"
                        .into(),
                ));
            }
            Err(r) => return Some((r.outcome, r.detail)),
        }
    }
    None
}

/// A partner node's lookup on behalf of one of its departments, under what the partner is
/// granted here.
async fn federated_lookup(ctx: &mut Ctx, bytes: &[u8]) -> Result<Answer, ApiError> {
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

// ---------------------------------------------------------------------------------------------
// The audit log over HTTP.

/// The most bytes of entries an audit read reads from the store and holds at once.
const AUDIT_READ_CHUNK: usize = 64 * 1024;
/// How many chunks of one audit read may wait for the connection to take them.
const AUDIT_READ_QUEUE: usize = 2;
/// How long an audit read waits for one of the [`super::MAX_AUDIT_READS`] places.
const AUDIT_READ_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

async fn audit_entries(ctx: &mut Ctx, q: &Query) -> Result<Answer, ApiError> {
    let size = ctx.node.log.size();
    let [from, to] = int_params(q, [("from", Some(0)), ("to", Some(size))])?;
    ctx.detail("from", from);
    ctx.detail("to", to);
    if from > to || to > size {
        return Err(bad(
            "out_of_range",
            format!("need from <= to <= {size} (the log's size)"),
        ));
    }
    if to - from > MAX_ENTRIES_PER_READ {
        return Err(bad(
            "range_too_large",
            format!("at most {MAX_ENTRIES_PER_READ} entries per request"),
        ));
    }
    // A bounded number of reads at once, each holding a bounded buffer: a hundred auditors
    // cost the node no more memory than a few.
    let permit = match tokio::time::timeout(
        AUDIT_READ_WAIT,
        ctx.node.audit_reads.clone().acquire_owned(),
    )
    .await
    {
        Ok(Ok(p)) => p,
        _ => {
            return Err(fail(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many audit reads at once; ask again shortly",
            ));
        }
    };
    // Like RFC 6962's get-entries, an answer may end early (past `limits.audit_read_bytes`);
    // the reader asks again from where it ended. Where it ends is settled before the entry is
    // written, a chunk at a time; the entries are then streamed, a chunk at a time.
    let limit = ctx.node.config.limits.audit_read_bytes;
    let node = ctx.node.clone();
    let sent_to = tokio::task::spawn_blocking(move || read_end(&node.log, from, to, limit))
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(unavailable)?;
    if sent_to < to {
        ctx.detail("sent_to", sent_to);
    }
    let (tx, rx) = tokio::sync::mpsc::channel(AUDIT_READ_QUEUE);
    let node = ctx.node.clone();
    // One blocking task per read, holding its place until the last chunk is taken or the
    // connection goes away (a reader that stops reading loses its connection after
    // `limits.write_ms`, and this task with it).
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut next = from;
        while next < sent_to {
            let lines = match node.log.entries_within(next, sent_to, AUDIT_READ_CHUNK) {
                Ok(entries) if !entries.is_empty() => {
                    next += entries.len() as u64;
                    let mut out = Vec::with_capacity(AUDIT_READ_CHUNK + 1024);
                    for (_, bytes) in entries {
                        out.extend_from_slice(&bytes);
                        out.push(b'\n');
                    }
                    Ok(axum::body::Bytes::from(out))
                }
                other => {
                    tracing::error!(?other, "an audit read stopped: the store could not be read");
                    Err(std::io::Error::other("the audit store could not be read"))
                }
            };
            let failed = lines.is_err();
            // The connection went away, or the store failed (the answer is then cut short,
            // which the reader sees as a broken transfer, never as a shorter log).
            if tx.blocking_send(lines).is_err() || failed {
                break;
            }
        }
    });
    Ok(Answer {
        status: StatusCode::OK,
        body: Payload::Stream("application/jsonl", Body::new(ChunkBody(rx))),
        writes: Vec::new(),
        outcome: "ok".into(),
        guard: None,
    })
}

/// Where an audit read of `[from, to)` ends: before the entry that would take its lines past
/// `limit` bytes, one entry at least. Reads a chunk at a time, keeping none.
fn read_end(
    log: &crate::audit::store::AuditLog,
    from: u64,
    to: u64,
    limit: usize,
) -> Result<u64, crate::audit::store::AuditError> {
    let mut next = from;
    let mut bytes = 0usize;
    while next < to {
        let chunk = log.entries_within(next, to, AUDIT_READ_CHUNK)?;
        if chunk.is_empty() {
            break;
        }
        for (_, entry) in chunk {
            bytes = bytes.saturating_add(entry.len() + 1);
            if bytes > limit && next > from {
                return Ok(next);
            }
            next += 1;
        }
    }
    Ok(next)
}

/// A response body fed, chunk by chunk, by the task that reads the store.
struct ChunkBody(tokio::sync::mpsc::Receiver<Result<axum::body::Bytes, std::io::Error>>);

impl axum::body::HttpBody for ChunkBody {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|c| c.map(|r| r.map(hyper::body::Frame::data)))
    }
}

fn hashes(h: &[crate::audit::merkle::Hash]) -> Vec<String> {
    h.iter().map(|x| B64.encode(x)).collect()
}

fn inclusion(ctx: &mut Ctx, q: &Query) -> Result<Answer, ApiError> {
    let [index, size] = int_params(q, [("index", None), ("size", None)])?;
    ctx.detail("index", index);
    ctx.detail("size", size);
    let log_size = ctx.node.log.size();
    if size == 0 || size > log_size || index >= size {
        return Err(bad(
            "out_of_range",
            format!("need index < size <= {log_size} (the log's size)"),
        ));
    }
    let proof = ctx
        .node
        .log
        .inclusion_proof(index, size)
        .map_err(unavailable)?;
    Ok(Answer::json(
        StatusCode::OK,
        json!({"index": index, "size": size, "hashes": hashes(&proof)}),
    ))
}

fn consistency(ctx: &mut Ctx, q: &Query) -> Result<Answer, ApiError> {
    let [from, to] = int_params(q, [("from", None), ("to", None)])?;
    ctx.detail("from", from);
    ctx.detail("to", to);
    let log_size = ctx.node.log.size();
    if from == 0 || from > to || to > log_size {
        return Err(bad(
            "out_of_range",
            format!("need 0 < from <= to <= {log_size} (the log's size)"),
        ));
    }
    let proof = ctx
        .node
        .log
        .consistency_proof(from, to)
        .map_err(unavailable)?;
    Ok(Answer::json(
        StatusCode::OK,
        json!({"from": from, "to": to, "hashes": hashes(&proof)}),
    ))
}

// ---------------------------------------------------------------------------------------------
// Witnessing partners' logs (C2SP tlog-witness).

/// What became of an add-checkpoint request.
enum Witnessing {
    /// Cosigned (200) or the witness's size (409): answered without an entry.
    Done(Response),
    /// Refused: answered with an entry (and any evidence kept beside it).
    Refused(Answer),
}

fn witness_key(origin: &str) -> Vec<u8> {
    format!("witness/{origin}").into_bytes()
}

/// The witness's record of one partner log.
#[derive(serde::Serialize, Deserialize)]
struct WitnessRecord {
    #[serde(flatten)]
    state: crate::audit::witness::Witnessed,
    cosigned_at: String,
}

/// Evidence of a log that contradicted what this witness had cosigned.
#[derive(serde::Serialize, Deserialize)]
struct Evidence {
    origin: String,
    reason: String,
    /// The checkpoint the log signed that does not fit.
    note: String,
    /// The checkpoint this witness had cosigned.
    witnessed: Option<String>,
    at: String,
}

async fn witness_add(ctx: &mut Ctx, bytes: &[u8]) -> Result<Witnessing, ApiError> {
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
    let guard = node.locks.lock(super::locks::witnessed(&origin)).await;
    let current: Option<WitnessRecord> = match node.log.get(Table::State, &witness_key(&origin)) {
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
            let write = put_json(witness_key(&origin), &record).map_err(json_err)?;
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
                json!({"error": {"code": "inconsistent", "message": reason}}),
            );
            a.outcome = "inconsistent".into();
            ctx.detail("message", reason.clone());
            if let Some(note) = evidence {
                let key = format!("witness-evidence/{origin}/{}", sha256_hex(note.as_bytes()));
                let record = Evidence {
                    origin: origin.clone(),
                    reason,
                    note,
                    witnessed: current.map(|c| c.state.note),
                    at: format_time(now),
                };
                ctx.detail("evidence", key.clone());
                a.outcome = "fork_detected".into();
                a.writes = vec![put_json(key.into_bytes(), &record).map_err(json_err)?];
            }
            a.guard = Some(guard);
            Ok(Witnessing::Refused(a))
        }
    }
}

/// `GET /v1/witness/state`: the partner logs this node witnesses, and the evidence it keeps.
fn witness_state(ctx: &mut Ctx) -> Result<Answer, ApiError> {
    let logs = ctx
        .node
        .log
        .scan(Table::State, b"witness/")
        .map_err(unavailable)?;
    let evidence = ctx
        .node
        .log
        .scan(Table::State, b"witness-evidence/")
        .map_err(unavailable)?;
    let parse = |v: &[u8]| serde_json::from_slice::<Value>(v).map_err(|e| internal(e.to_string()));
    let logs = logs
        .iter()
        .map(|(_, v)| parse(v))
        .collect::<Result<Vec<_>, _>>()?;
    let evidence = evidence
        .iter()
        .map(|(_, v)| parse(v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Answer::json(
        StatusCode::OK,
        json!({"logs": logs, "evidence": evidence}),
    ))
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

    #[test]
    fn quotes_and_messages_are_cut() {
        assert_eq!(quoted("abc"), "\"abc\"");
        let long = "é".repeat(100);
        let q = quoted(&long);
        assert_eq!(q, format!("{:?}…", "é".repeat(MAX_QUOTED_CHARS)));
        // Invisible characters show in a quote.
        assert_eq!(quoted("a\u{202E}b"), "\"a\\u{202e}b\"");
        assert_eq!(cut_chars("abcdef", 3), "abc…");
        assert_eq!(cut_chars("abc", 3), "abc");
    }
}
