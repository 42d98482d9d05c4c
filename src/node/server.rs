//! The accept loop and the connections it hands off.
//!
//! The loop only accepts: each connection gets its own task at once. Nothing scarce is held by a
//! peer that has not authenticated:
//!
//! - A connection accepted is **pending** until its TLS handshake has named the caller and it
//!   has a slot. Pending connections are bounded in all (`limits.max_handshakes`) and per source
//!   address (`limits.max_handshakes_per_ip`); a new one that finds a bound full closes the
//!   oldest pending connection of that address, then the oldest of all, preferring those that
//!   have not sent a byte yet. The handshake, and the wait for a slot after it, have one
//!   deadline (`limits.handshake`) from the accept.
//! - An **established** connection holds one of `limits.max_connections` slots; one caller (one
//!   certificate) holds at most `limits.max_connections_per_caller`, and the last
//!   `limits.reserved_connections` slots go only to callers that hold none, so a caller gets in
//!   while others fill the rest.
//! - An established connection serves HTTP/1.1 (keep-alive) with a deadline on each request's
//!   headers, which also bounds the idle time between requests, and on each answer's writes (a
//!   client that stops reading loses its connection).
//!
//! Refused and closed connections are counted, and one summary line is logged per
//! [`SUMMARY_EVERY`] when there were any, never a line per socket. A request hyper refuses itself
//! (malformed, head or URI too long) is written to the audit log for the caller that sent it.
//! On shutdown the loop stops accepting, pending connections close, every established
//! connection finishes its in-flight request and closes, and the caller then signs a final
//! checkpoint.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tower::ServiceExt as _;

use super::Node;
use super::config::Limits;
use super::tls::{Caller, caller};
use crate::audit::entry::{Action, Actor, EntryDraft};

/// The largest request head (request line and headers) served.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The size of a request's head as sent: request line and header lines.
fn head_bytes<B>(req: &hyper::Request<B>) -> usize {
    let line = req.method().as_str().len() + req.uri().to_string().len() + 12;
    req.headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum::<usize>()
        + line
}

/// A connection whose writes fail once they have waited `limit` for the peer to take their
/// bytes: a client that sends requests and never reads the answers would otherwise hold its
/// connection, and its place among the connections served, for ever.
struct WriteDeadline<T> {
    io: T,
    limit: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> WriteDeadline<T> {
    fn new(io: T, limit: Duration) -> Self {
        WriteDeadline {
            io,
            limit,
            stalled: None,
        }
    }

    /// Passes on a write's result; a write still pending starts (or goes on with) the wait, and
    /// fails once the wait has lasted `limit`.
    fn waited<R>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        match r {
            Poll::Ready(v) => {
                self.stalled = None;
                Poll::Ready(v)
            }
            Poll::Pending => {
                let limit = self.limit;
                let wait = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                match wait.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client did not take the answer in time",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write(cx, buf);
        this.waited(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.waited(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_flush(cx);
        this.waited(cx, r)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_shutdown(cx);
        this.waited(cx, r)
    }
}

/// How long a shutdown waits for connections to finish before it gives up on them.
pub const DRAIN: Duration = Duration::from_secs(20);

/// How often the summary of refused and closed connections is logged, when there were any.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// Connections refused or closed since the last summary, by cause.
#[derive(Default)]
struct Counts {
    /// TLS handshakes that failed (no certificate, an unknown CA, a revoked one, not TLS 1.3…).
    handshake_refused: AtomicU64,
    /// Connections that sent nothing, or did not finish the handshake, within the deadline.
    handshake_timed_out: AtomicU64,
    /// Pending connections closed to make room for a newer one from the same address.
    shed_per_ip: AtomicU64,
    /// Pending connections closed to make room for a newer one (all addresses).
    shed: AtomicU64,
    /// Certificates that passed the handshake but name no caller.
    no_caller: AtomicU64,
    /// Authenticated connections closed because their caller held its share of slots until the
    /// deadline.
    over_caller_limit: AtomicU64,
    /// Authenticated connections closed because no slot was free until the deadline.
    no_free_slot: AtomicU64,
    /// Requests the HTTP layer refused (each with its audit entry).
    requests_refused: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counts {
    /// Logs one line with the counts since the last call, if any is not zero, and starts again.
    fn summarise(&self, gate: &Gate) {
        let take = |c: &AtomicU64| c.swap(0, Ordering::Relaxed);
        let v = [
            take(&self.handshake_refused),
            take(&self.handshake_timed_out),
            take(&self.shed_per_ip),
            take(&self.shed),
            take(&self.no_caller),
            take(&self.over_caller_limit),
            take(&self.no_free_slot),
            take(&self.requests_refused),
        ];
        if v.iter().all(|n| *n == 0) {
            return;
        }
        let (pending, established) = gate.occupancy();
        tracing::info!(
            handshake_refused = v[0],
            handshake_timed_out = v[1],
            shed_per_ip = v[2],
            shed = v[3],
            no_caller = v[4],
            over_caller_limit = v[5],
            no_free_slot = v[6],
            requests_refused = v[7],
            pending,
            established,
            "connections refused or closed since the last summary"
        );
    }
}

/// A pending connection in the gate: its address, and the sender whose drop closes it.
struct Waiting {
    ip: IpAddr,
    _shed: oneshot::Sender<()>,
}

/// The pending connections of one address, oldest first.
#[derive(Default)]
struct ByIp {
    all: BTreeSet<u64>,
    silent: BTreeSet<u64>,
}

/// What the gate knows: pending connections by age (all, silent, per address) and the slots
/// held, in all and per caller.
#[derive(Default)]
struct GateState {
    next: u64,
    pending: BTreeMap<u64, Waiting>,
    silent: BTreeSet<u64>,
    by_ip: HashMap<IpAddr, ByIp>,
    established: usize,
    by_caller: HashMap<String, usize>,
}

impl GateState {
    /// Forgets pending connection `seq` (dropping its sender closes it, if it still runs).
    fn remove(&mut self, seq: u64) -> bool {
        let Some(w) = self.pending.remove(&seq) else {
            return false;
        };
        self.silent.remove(&seq);
        if let Some(b) = self.by_ip.get_mut(&w.ip) {
            b.all.remove(&seq);
            b.silent.remove(&seq);
            if b.all.is_empty() {
                self.by_ip.remove(&w.ip);
            }
        }
        true
    }
}

/// Why an authenticated connection has no slot yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoSlot {
    /// Its caller holds `max_connections_per_caller`.
    Caller,
    /// Every slot it may take is held.
    Full,
}

/// Pending connections and established slots, shared by the accept loop and the connections.
struct Gate {
    limits: Limits,
    state: Mutex<GateState>,
    /// Told whenever a slot is given back.
    freed: Notify,
    counts: Counts,
}

impl Gate {
    fn new(limits: Limits) -> Arc<Gate> {
        Arc::new(Gate {
            limits,
            state: Mutex::new(GateState::default()),
            freed: Notify::new(),
            counts: Counts::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        // The state stays consistent between statements: a panic elsewhere cannot break it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// (pending, established).
    fn occupancy(&self) -> (usize, usize) {
        let s = self.lock();
        (s.pending.len(), s.established)
    }

    /// Registers a connection just accepted from `ip`, closing the oldest pending one of the
    /// same address, then of all, when a bound is full (silent ones first). The receiver
    /// resolves when this one is closed the same way.
    fn enter(self: &Arc<Self>, ip: IpAddr, spoken: bool) -> (Ticket, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let mut s = self.lock();
        let victim = s
            .by_ip
            .get(&ip)
            .filter(|b| b.all.len() >= self.limits.max_handshakes_per_ip)
            .and_then(|b| b.silent.first().or(b.all.first()).copied());
        if let Some(v) = victim
            && s.remove(v)
        {
            bump(&self.counts.shed_per_ip);
        }
        if s.pending.len() >= self.limits.max_handshakes {
            let victim = s.silent.first().or(s.pending.keys().next()).copied();
            if let Some(v) = victim
                && s.remove(v)
            {
                bump(&self.counts.shed);
            }
        }
        let seq = s.next;
        s.next += 1;
        s.pending.insert(seq, Waiting { ip, _shed: tx });
        if !spoken {
            s.silent.insert(seq);
        }
        let b = s.by_ip.entry(ip).or_default();
        b.all.insert(seq);
        if !spoken {
            b.silent.insert(seq);
        }
        (
            Ticket {
                gate: Arc::clone(self),
                seq,
            },
            rx,
        )
    }

    /// Pending connection `seq` has sent its first bytes: it is shed after the silent ones.
    fn spoke(&self, seq: u64) {
        let mut s = self.lock();
        s.silent.remove(&seq);
        if let Some(ip) = s.pending.get(&seq).map(|w| w.ip)
            && let Some(b) = s.by_ip.get_mut(&ip)
        {
            b.silent.remove(&seq);
        }
    }

    /// A slot for a connection of the caller whose certificate hashes to `key`, if it may take
    /// one now.
    fn admit(self: &Arc<Self>, key: &str) -> Result<Slot, NoSlot> {
        let l = &self.limits;
        let mut s = self.lock();
        let mine = s.by_caller.get(key).copied().unwrap_or(0);
        if mine >= l.max_connections_per_caller {
            return Err(NoSlot::Caller);
        }
        let open = l.max_connections.saturating_sub(l.reserved_connections);
        if s.established < open || (mine == 0 && s.established < l.max_connections) {
            s.established += 1;
            *s.by_caller.entry(key.to_owned()).or_insert(0) += 1;
            Ok(Slot {
                gate: Arc::clone(self),
                key: key.to_owned(),
            })
        } else {
            Err(NoSlot::Full)
        }
    }
}

/// A pending connection's place in the gate, given up when dropped.
struct Ticket {
    gate: Arc<Gate>,
    seq: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.gate.lock().remove(self.seq);
    }
}

/// An established connection's slot, given back when dropped.
struct Slot {
    gate: Arc<Gate>,
    key: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut s = self.gate.lock();
            s.established = s.established.saturating_sub(1);
            if let Some(n) = s.by_caller.get_mut(&self.key) {
                *n -= 1;
                if *n == 0 {
                    s.by_caller.remove(&self.key);
                }
            }
        }
        self.gate.freed.notify_waiters();
    }
}

/// Resolves once shutdown has begun.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// What every connection task shares.
struct Shared {
    node: Arc<Node>,
    app: axum::Router,
    acceptor: TlsAcceptor,
    gate: Arc<Gate>,
}

/// Serves `listener` until `shutdown` resolves, then drains connections.
pub async fn serve(
    node: Arc<Node>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let gate = Gate::new(node.config.limits);
    let shared = Arc::new(Shared {
        app: super::api::router(node.clone()),
        acceptor: TlsAcceptor::from(node.tls.clone()),
        gate: gate.clone(),
        node,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    // Each connection task holds a sender: once all are dropped, every connection has ended.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let summary = {
        let gate = gate.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SUMMARY_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every.tick().await;
            loop {
                tokio::select! {
                    _ = every.tick() => gate.counts.summarise(&gate),
                    _ = stopped(&mut stop) => break,
                }
            }
        })
    };
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off a little, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let (ticket, shed) = gate.enter(peer.ip(), has_spoken(&tcp).await);
        let shared = shared.clone();
        let stop = stop_rx.clone();
        let alive = alive_tx.clone();
        tokio::spawn(async move {
            let _alive = alive;
            connection(shared, tcp, peer, ticket, shed, stop).await;
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(alive_tx);
    if tokio::time::timeout(DRAIN, alive_rx.recv()).await.is_err() {
        tracing::warn!("connections still open after the drain period; stopping anyway");
    }
    let _ = summary.await;
    gate.counts.summarise(&gate);
}

/// Whether the peer has sent bytes already (a client sends its TLS hello at once), without
/// waiting or reading them.
async fn has_spoken(tcp: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    std::future::poll_fn(|cx| {
        let mut buf = ReadBuf::new(&mut byte);
        Poll::Ready(matches!(tcp.poll_peek(cx, &mut buf), Poll::Ready(Ok(n)) if n > 0))
    })
    .await
}

/// One connection, from its accept to its close.
async fn connection(
    shared: Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    ticket: Ticket,
    mut shed: oneshot::Receiver<()>,
    mut stop: watch::Receiver<bool>,
) {
    let gate = &shared.gate;
    let deadline = Instant::now() + gate.limits.handshake;
    let authenticated = tokio::select! {
        biased;
        _ = &mut shed => None,
        _ = stopped(&mut stop) => None,
        a = authenticate(&shared, tcp, ticket.seq, deadline) => a,
    };
    let Some((tls, who)) = authenticated else {
        return;
    };
    let slot = loop {
        let freed = gate.freed.notified();
        tokio::pin!(freed);
        freed.as_mut().enable();
        let why = match gate.admit(&who.cert_sha256) {
            Ok(slot) => break slot,
            Err(why) => why,
        };
        tokio::select! {
            biased;
            _ = &mut shed => return,
            _ = stopped(&mut stop) => return,
            _ = &mut freed => {}
            _ = tokio::time::sleep_until(deadline) => {
                bump(match why {
                    NoSlot::Caller => &gate.counts.over_caller_limit,
                    NoSlot::Full => &gate.counts.no_free_slot,
                });
                return;
            }
        }
    };
    drop(ticket);
    tracing::trace!(%peer, caller = %who.id, "connection established");
    serve_http(&shared, tls, who, stop).await;
    drop(slot);
}

/// The TLS handshake of a pending connection, and the caller its certificate names; `None`
/// (counted) when there is none by `deadline`.
async fn authenticate(
    shared: &Shared,
    tcp: TcpStream,
    seq: u64,
    deadline: Instant,
) -> Option<(TlsStream<TcpStream>, Caller)> {
    let counts = &shared.gate.counts;
    // Silent until it sends its first bytes: until then it is the first to be shed.
    if tokio::time::timeout_at(deadline, tcp.readable())
        .await
        .is_err()
    {
        bump(&counts.handshake_timed_out);
        return None;
    }
    shared.gate.spoke(seq);
    let tls = match tokio::time::timeout_at(deadline, shared.acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(_)) => {
            bump(&counts.handshake_refused);
            return None;
        }
        Err(_) => {
            bump(&counts.handshake_timed_out);
            return None;
        }
    };
    let who = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| caller(c, &shared.node.client_cas));
    match who {
        Some(who) => Some((tls, who)),
        None => {
            // rustls checked the path; a certificate without a CN, or from a CA we cannot
            // place, is not a caller we can name, so it is not served.
            bump(&counts.no_caller);
            None
        }
    }
}

/// What the HTTP layer refused a request as, if `e` is such a refusal: the outcome of its
/// entry and the status hyper answered with (none: closed without an answer).
fn refusal(e: &hyper::Error) -> Option<(&'static str, Option<u16>)> {
    if !e.is_parse() {
        return None;
    }
    if e.is_parse_too_large() {
        // hyper tells its two "too large" refusals apart only in their message.
        return Some(if e.to_string().contains("URI too long") {
            ("uri_too_long", Some(414))
        } else {
            ("head_too_large", Some(431))
        });
    }
    if e.is_parse_version_h2() {
        // An HTTP/2 preface on this HTTP/1.1 connection: hyper closes it without an answer.
        return Some(("malformed_request", None));
    }
    Some(("malformed_request", Some(400)))
}

/// The fixed message of a refusal's entry.
fn refusal_message(outcome: &str) -> &'static str {
    match outcome {
        "uri_too_long" => "request URIs are at most 65534 bytes",
        "head_too_large" => "request heads are at most 64 KiB",
        _ => "the request is not valid HTTP/1.1",
    }
}

/// Writes the audit entry of a request refused below the application: the caller, the
/// outcome, the status answered and a fixed message; never the request's bytes.
async fn audit_refusal(
    node: &Node,
    who: &Caller,
    outcome: &'static str,
    status: Option<u16>,
) -> Result<crate::store::Receipt, crate::audit::error::AuditError> {
    let mut draft = EntryDraft::new(
        Actor {
            id: who.id.clone(),
            region: Some(who.region),
            cert_sha256: (!who.cert_sha256.is_empty()).then(|| who.cert_sha256.clone()),
        },
        Action::RequestUnknown,
        outcome,
    );
    if let Some(s) = status {
        draft.detail.insert("status".into(), s.into());
    }
    draft
        .detail
        .insert("message".into(), refusal_message(outcome).into());
    node.log.submit(vec![draft], Vec::new())?.recv().await
}

/// The 431 answer to a head over [`MAX_HEAD_BYTES`] that hyper read, with the receipt of its
/// entry (503 when the entry could not be written).
async fn head_too_large(node: &Node, who: &Caller) -> axum::response::Response {
    let (status, body) = match audit_refusal(node, who, "head_too_large", Some(431)).await {
        Ok(receipt) => (
            hyper::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            serde_json::json!({
                "error": {"code": "head_too_large", "message": refusal_message("head_too_large")},
                "receipt": {
                    "index": receipt.index,
                    "leaf_hash": receipt.leaf_hashes.first().map(|h| B64.encode(h)).unwrap_or_default(),
                },
            }),
        ),
        Err(e) => {
            tracing::error!(error = %e, "audit write failed; request refused");
            (
                hyper::StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"error": {
                    "code": "audit_unavailable",
                    "message": "the access could not be recorded, so it was not served",
                }}),
            )
        }
    };
    let mut r = axum::response::Response::new(axum::body::Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
    r
}

/// HTTP/1.1 on an established connection until it ends, or until shutdown (after the request
/// in flight).
async fn serve_http(
    shared: &Arc<Shared>,
    tls: TlsStream<TcpStream>,
    who: Caller,
    mut stop: watch::Receiver<bool>,
) {
    let limits = shared.gate.limits;
    let service = {
        let who = who.clone();
        let app = shared.app.clone();
        let node = shared.node.clone();
        hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let app = app.clone();
            let node = node.clone();
            let who = who.clone();
            async move {
                // The transport's limit, before the application; its own entry.
                if head_bytes(&req) > MAX_HEAD_BYTES {
                    return Ok(head_too_large(&node, &who).await);
                }
                req.extensions_mut().insert(who);
                app.oneshot(req).await
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // Also the idle time between requests: hyper starts it again once an answer is done.
        .header_read_timeout(limits.header)
        .keep_alive(true)
        // Room for a 64 KiB head; `head_bytes` enforces the limit exactly.
        .max_buf_size(2 * MAX_HEAD_BYTES);
    let io = WriteDeadline::new(tls, limits.write);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let ended = tokio::select! {
        r = conn.as_mut() => r,
        _ = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    let Err(e) = ended else {
        return;
    };
    match refusal(&e) {
        Some((outcome, status)) => {
            bump(&shared.gate.counts.requests_refused);
            if let Err(e) = audit_refusal(&shared.node, &who, outcome, status).await {
                tracing::error!(error = %e, outcome, "the entry of a refused request could not be written");
            }
        }
        None => tracing::debug!(error = %e, "connection ended"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn limits(
        handshakes: usize,
        per_ip: usize,
        conns: usize,
        per_caller: usize,
        reserved: usize,
    ) -> Limits {
        Limits {
            max_handshakes: handshakes,
            max_handshakes_per_ip: per_ip,
            max_connections: conns,
            max_connections_per_caller: per_caller,
            reserved_connections: reserved,
            ..Limits::default()
        }
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    fn closed(rx: &mut oneshot::Receiver<()>) -> bool {
        matches!(rx.try_recv(), Err(oneshot::error::TryRecvError::Closed))
    }

    #[test]
    fn a_full_address_sheds_its_own_oldest_silent_connection_first() {
        let gate = Gate::new(limits(100, 3, 10, 10, 0));
        let (a1, mut r1) = gate.enter(ip(2), false);
        let (a2, mut r2) = gate.enter(ip(2), false);
        let (_b, mut rb) = gate.enter(ip(3), false);
        let (_a3, mut r3) = gate.enter(ip(2), false);
        // a1 has spoken (a handshake under way): a2 is the oldest silent one of 127.0.0.2.
        gate.spoke(a1.seq);
        let (_a4, mut r4) = gate.enter(ip(2), false);
        assert!(
            closed(&mut r2),
            "the oldest silent one of the address is shed"
        );
        assert!(!closed(&mut r1) && !closed(&mut r3) && !closed(&mut r4));
        assert!(!closed(&mut rb), "another address is not touched");
        assert_eq!(gate.counts.shed_per_ip.load(Ordering::Relaxed), 1);
        // A shed ticket's drop changes nothing.
        drop(a2);
        assert_eq!(gate.occupancy().0, 4);
    }

    #[test]
    fn a_full_gate_sheds_the_oldest_silent_connection_of_all() {
        let gate = Gate::new(limits(3, 3, 10, 10, 0));
        let (t1, mut r1) = gate.enter(ip(2), false);
        let (_t2, mut r2) = gate.enter(ip(3), false);
        let (t3, mut r3) = gate.enter(ip(4), false);
        gate.spoke(t1.seq);
        let (t4, mut r4) = gate.enter(ip(5), false);
        assert!(closed(&mut r2), "the oldest silent one is shed");
        assert!(!closed(&mut r1) && !closed(&mut r3) && !closed(&mut r4));
        assert_eq!(gate.occupancy().0, 3);
        // When every pending one has spoken, the oldest goes.
        gate.spoke(t3.seq);
        gate.spoke(t4.seq);
        let (_t5, _r5) = gate.enter(ip(6), false);
        assert!(closed(&mut r1), "with none silent, the oldest one is shed");
        assert!(!closed(&mut r3) && !closed(&mut r4));
        assert_eq!(gate.counts.shed.load(Ordering::Relaxed), 2);
        drop(t1);
        assert_eq!(
            gate.occupancy().0,
            3,
            "a shed ticket's drop changes nothing"
        );
    }

    #[test]
    fn slots_are_bounded_per_caller_and_the_reserve_is_for_callers_holding_none() {
        let gate = Gate::new(limits(10, 10, 4, 3, 1));
        let a: Vec<Slot> = (0..3).map(|_| gate.admit("a").unwrap()).collect();
        assert_eq!(gate.admit("a").err(), Some(NoSlot::Caller));
        // Three of four held: the last one is the reserve, for a caller holding none.
        let b = gate.admit("b").unwrap();
        assert_eq!(gate.admit("b").err(), Some(NoSlot::Full));
        assert_eq!(
            gate.admit("c").err(),
            Some(NoSlot::Full),
            "all four are held"
        );
        drop(b);
        let c = gate.admit("c").unwrap();
        drop(a);
        assert_eq!(gate.occupancy().1, 1);
        let _more: Vec<Slot> = (0..2).map(|_| gate.admit("c").unwrap()).collect();
        assert_eq!(
            gate.admit("c").err(),
            Some(NoSlot::Caller),
            "c holds its three"
        );
        drop(c);
        assert!(!gate.lock().by_caller.contains_key("a"));
    }

    /// The error hyper's server ends a connection with after reading `request`.
    async fn hyper_error(request: Vec<u8>) -> hyper::Error {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let service = hyper::service::service_fn(|_req: hyper::Request<Incoming>| async {
            Ok::<_, std::convert::Infallible>(hyper::Response::new(String::new()))
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .max_buf_size(2 * MAX_HEAD_BYTES)
            .serve_connection(TokioIo::new(server), service);
        use tokio::io::AsyncWriteExt as _;
        let _ = client.write_all(&request).await;
        let _ = client.shutdown().await;
        tokio::time::timeout(Duration::from_secs(10), conn)
            .await
            .expect("hyper ends the connection")
            .expect_err("hyper refuses the request")
    }

    #[tokio::test]
    async fn hyper_refusals_are_classified() {
        let bad = b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n".to_vec();
        assert_eq!(
            refusal(&hyper_error(bad).await),
            Some(("malformed_request", Some(400)))
        );
        let uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
        assert_eq!(
            refusal(&hyper_error(uri.into_bytes()).await),
            Some(("uri_too_long", Some(414)))
        );
        // A head over hyper's buffer is refused as `head_too_large` too; the node tests send
        // it over TLS, which hands it over in records as a network does.
        let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
        assert_eq!(
            refusal(&hyper_error(many.into_bytes()).await),
            Some(("head_too_large", Some(431)))
        );
    }
}
