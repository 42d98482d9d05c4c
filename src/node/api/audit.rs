//! `GET /v1/audit/entries` and the audit log's proofs over HTTP.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::node::Node;

use super::dispatch::text;
use super::dispatch::{Answer, Ctx, Payload};
use super::error::{ApiError, bad, fail, internal, unavailable};
use super::error::{ErrorBody, UnrecordedError};
use super::input::{Query, int_params};

/// Most entries one `GET /v1/audit/entries` returns.
pub const MAX_ENTRIES_PER_READ: u64 = 10_000;

/// The most bytes of entries an audit read reads from the store and holds at once.
const AUDIT_READ_CHUNK: usize = 64 * 1024;
/// How many chunks of one audit read may wait for the connection to take them.
const AUDIT_READ_QUEUE: usize = 2;
/// How long an audit read waits for one of the [`crate::node::MAX_AUDIT_READS`] places.
const AUDIT_READ_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The latest checkpoint of the log (C2SP signed note), with the witnesses' cosignatures the
/// node holds. Unaudited.
#[utoipa::path(
    get,
    path = "/v1/audit/checkpoint",
    tag = "audit",
    responses(
        (status = 200, description = "The checkpoint, a signed note.", body = String,
            content_type = "text/plain; charset=utf-8"),
        (status = 503, description = "No checkpoint has been signed yet (`no_checkpoint`).",
            body = UnrecordedError),
    )
)]
pub(super) fn checkpoint(node: &Node) -> Response {
    match node.log.latest_checkpoint() {
        Some(cp) => text(
            StatusCode::OK,
            node.federation.cosigned(&cp.note, &cp.checkpoint.body()),
        ),
        None => fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_checkpoint",
            "no checkpoint has been signed yet",
        )
        .into_response(),
    }
}

/// The log's checkpoint verifier key (C2SP note verifier key), one line. Unaudited.
#[utoipa::path(
    get,
    path = "/v1/audit/vkey",
    tag = "audit",
    responses((status = 200, description = "The verifier key.", body = String,
        content_type = "text/plain; charset=utf-8"))
)]
pub(super) fn vkey(node: &Node) -> Response {
    text(StatusCode::OK, format!("{}\n", node.log.verifier().vkey()))
}

/// Entries `[from, to)` of the audit log, one JSON object a line, as stored (docs/audit-log.md);
/// the answer may end early past the node's read limit, and the reader asks again from there.
#[utoipa::path(
    get,
    path = "/v1/audit/entries",
    tag = "audit",
    params(
        ("from" = Option<u64>, Query, description = "The first entry (default 0)."),
        ("to" = Option<u64>, Query, description = "The entry after the last (default: the log's size); at most 10,000 after `from`."),
    ),
    responses(
        (status = 200, description = "The entries, JSON lines; the receipt in the headers \
            `zhengzhao-receipt-index` and `zhengzhao-receipt-leaf-hash`.", body = String,
            content_type = "application/jsonl"),
        (status = 400, description = "`invalid_query`, `out_of_range`, `range_too_large`.", body = ErrorBody),
        (status = 403, description = "Not an auditor (`forbidden_role`).", body = ErrorBody),
        (status = 503, description = "Too many reads at once (`busy`).", body = ErrorBody),
    )
)]
pub(super) async fn audit_entries(ctx: &mut Ctx, q: &Query) -> Result<Answer, ApiError> {
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
    log: &crate::audit::log::AuditLog,
    from: u64,
    to: u64,
    limit: usize,
) -> Result<u64, crate::audit::error::AuditError> {
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

pub(super) fn hashes(h: &[crate::audit::merkle::Hash]) -> Vec<String> {
    h.iter().map(|x| B64.encode(x)).collect()
}

/// An inclusion proof (RFC 6962) of entry `index` in the tree of size `size`.
#[utoipa::path(
    get,
    path = "/v1/audit/proof/inclusion",
    tag = "audit",
    params(
        ("index" = u64, Query, description = "The entry."),
        ("size" = u64, Query, description = "The tree size, at most the log's."),
    ),
    responses(
        (status = 200, description = "The proof.", body = InclusionProof),
        (status = 400, description = "`invalid_query`, `out_of_range`.", body = ErrorBody),
    )
)]
pub(super) fn inclusion(ctx: &mut Ctx, q: &Query) -> Result<Answer, ApiError> {
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
    let body = InclusionProof {
        index,
        size,
        hashes: hashes(&proof),
    };
    Answer::json(StatusCode::OK, &body)
}

/// A consistency proof (RFC 6962) between the trees of sizes `from` and `to`.
#[utoipa::path(
    get,
    path = "/v1/audit/proof/consistency",
    tag = "audit",
    params(
        ("from" = u64, Query, description = "The older tree size, at least 1."),
        ("to" = u64, Query, description = "The newer tree size, at most the log's."),
    ),
    responses(
        (status = 200, description = "The proof.", body = ConsistencyProof),
        (status = 400, description = "`invalid_query`, `out_of_range`.", body = ErrorBody),
    )
)]
pub(super) fn consistency(ctx: &mut Ctx, q: &Query) -> Result<Answer, ApiError> {
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
    let body = ConsistencyProof {
        from,
        to,
        hashes: hashes(&proof),
    };
    Answer::json(StatusCode::OK, &body)
}

/// The answer to `GET /v1/audit/proof/inclusion`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct InclusionProof {
    pub(super) index: u64,
    pub(super) size: u64,
    /// The proof's hashes, base64, in RFC 6962 order.
    pub(super) hashes: Vec<String>,
}

/// The answer to `GET /v1/audit/proof/consistency`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct ConsistencyProof {
    pub(super) from: u64,
    pub(super) to: u64,
    /// The proof's hashes, base64, in RFC 6962 order.
    pub(super) hashes: Vec<String>,
}
