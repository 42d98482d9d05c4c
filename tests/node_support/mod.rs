//! Shared by the node tests: a real `zhengzhao serve` process for a demo region on a temporary
//! data directory and clients for the region's two demo departments ([`node`], which the node
//! benchmarks share), requests and their answers, a reader of the node's audit log over its own
//! API that checks "exactly one new entry per request", several nodes as each other's partners,
//! and raw mutual-TLS connections.

mod node;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
pub use node::*;
use serde_json::{Value, json};
use zhengzhao::audit::checkpoint::Checkpoint;
use zhengzhao::audit::merkle;
use zhengzhao::node::client::{Client, Reply};

/// The demo region most tests use.
pub const REGION: &str = "370900";
/// The demo's statutory matter (no consent needed).
pub const STATUTORY: &str = "DEMO-STATUTORY";
/// The demo's matter that needs a person holder's consent.
pub const CONSENT: &str = "DEMO-CONSENT";
/// A valid 居民身份证号.
pub const PERSON: &str = "11010519491231002X";
/// Another valid 居民身份证号.
pub const OTHER_PERSON: &str = "110105194912310038";
/// The 统一社会信用代码 of the organisation in fixtures/requests/370900.json.
pub const ORG: &str = "91110000600037341L";
/// The licence type of fixtures/requests/370900.json.
pub const ORG_TYPE: &str = "11100000000013338W032";
/// The licence type the tests issue to persons.
pub const PERSON_TYPE: &str = "11100000000013338W011";

/// The body of `POST /v1/consents` by which [`PERSON`] lets 泰安's window use their
/// [`PERSON_TYPE`] licences, with the members of `extra` (`until`, `uses`) added.
pub fn window_consent(extra: serde_json::Value) -> serde_json::Value {
    let mut body = serde_json::json!({
        "holder": {"type": "111", "code": PERSON},
        "grantee": "370900-window",
        "type_codes": [PERSON_TYPE],
    });
    if let (Some(b), serde_json::Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    body
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// Sends a request, panicking on a network error.
pub async fn send(client: &mut Client, method: &str, path: &str, body: Option<&Value>) -> Reply {
    client
        .request(method, path, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// Sends a request with a raw body and content type, panicking on a network error.
pub async fn send_raw(
    client: &mut Client,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    client
        .raw(method, path, content_type, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// The reply's JSON body, insisting on the status.
pub fn json_of(reply: &Reply, status: u16) -> Value {
    let v = reply.json().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.status, status, "HTTP status; body: {v}");
    v
}

/// The error code of an error reply, insisting on the status.
pub fn error_code(reply: &Reply, status: u16) -> String {
    let v = json_of(reply, status);
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error answer: {v}"))
        .to_owned()
}

/// The receipt of a reply: `(index, leaf_hash)`, from the JSON body or from the headers.
pub fn receipt(reply: &Reply) -> Option<(u64, String)> {
    let h = |name: &str| {
        reply
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if let (Some(i), Some(l)) = (
        h("zhengzhao-receipt-index"),
        h("zhengzhao-receipt-leaf-hash"),
    ) {
        return Some((i.parse().expect("a receipt index"), l));
    }
    let v: Value = serde_json::from_slice(&reply.body).ok()?;
    let r = v.get("receipt")?;
    Some((r["index"].as_u64()?, r["leaf_hash"].as_str()?.to_owned()))
}

/// An issuance request for a person holder.
pub fn person_request(code: &str) -> Value {
    json!({
        "type_code": PERSON_TYPE,
        "type_name": "特种作业操作证",
        "holder": {"type": "111", "code": code, "name": "李四"},
        "valid_from": "2026-01-01",
        "valid_until": "2032-12-31",
        "fields": {"作业类别": "电工作业"}
    })
}

/// Issues `req` as the bureau; returns `(id, token)`.
pub async fn issue(bureau: &mut Client, req: &Value) -> (String, String) {
    let reply = send(bureau, "POST", "/v1/licences", Some(req)).await;
    let v = json_of(&reply, 201);
    (
        v["id"].as_str().expect("an id").to_owned(),
        v["licence"].as_str().expect("a licence").to_owned(),
    )
}

/// Grants `holder`'s consent to `grantee` for PERSON_TYPE licences, as the portal.
pub async fn grant(bureau: &mut Client, holder: &str, grantee: &str, uses: Option<u64>) -> String {
    let mut body = json!({
        "holder": {"type": "111", "code": holder},
        "grantee": grantee,
        "type_codes": [PERSON_TYPE],
    });
    if let Some(n) = uses {
        body["uses"] = json!(n);
    }
    let r = send(bureau, "POST", "/v1/consents", Some(&body)).await;
    json_of(&r, 201)["consent_id"]
        .as_str()
        .expect("a consent id")
        .to_owned()
}

/// `/v1/licences/{id}/status`.
pub fn status_path(id: &str) -> String {
    format!("/v1/licences/{id}/status")
}

/// `POST /v1/licences/{id}/status` as the bureau; returns the reply.
pub async fn set_status(bureau: &mut Client, id: &str, status: &str) -> Reply {
    send(
        bureau,
        "POST",
        &status_path(id),
        Some(&json!({"status": status, "reason": format!("测试：{status}")})),
    )
    .await
}

/// The newest checkpoint, opened with the region's pinned key; waits until its size is at
/// least `min_size` (checkpoints are signed about once a second while the log grows).
pub async fn checkpoint(node: &Node, client: &mut Client, min_size: u64) -> (String, Checkpoint) {
    let verifier = node.verifier();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reply = send(client, "GET", "/v1/audit/checkpoint", None).await;
        if reply.status == 200 {
            let note = reply.text();
            let cp = Checkpoint::open(
                &note,
                &verifier,
                Some(&format!("zhengzhao/{}", node.region)),
            )
            .unwrap_or_else(|e| panic!("the checkpoint does not open: {e}:\n{note}"));
            if cp.size >= min_size {
                return (note, cp);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint of size >= {min_size} within 15 s (last answer HTTP {}: {})",
            reply.status,
            reply.text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Decodes a base64 hash.
pub fn hash_b64(s: &str) -> merkle::Hash {
    let v = B64.decode(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
    v.as_slice().try_into().expect("32 bytes")
}

// ---------------------------------------------------------------------------------------------
// The audit log, read over the API.

/// One entry of the log: its index, exact bytes and parsed value.
#[derive(Debug, Clone)]
pub struct Logged {
    /// The entry's index.
    pub index: u64,
    /// The entry's exact bytes (the Merkle leaf).
    pub line: Vec<u8>,
    /// The entry, parsed.
    pub entry: Value,
}

impl Logged {
    /// `action`.
    pub fn action(&self) -> &str {
        self.entry["action"].as_str().unwrap_or("")
    }

    /// `outcome`.
    pub fn outcome(&self) -> &str {
        self.entry["outcome"].as_str().unwrap_or("")
    }

    /// `detail.<key>`.
    pub fn detail(&self, key: &str) -> &Value {
        &self.entry["detail"][key]
    }

    /// The Merkle leaf hash of the entry's bytes, standard base64.
    pub fn leaf_b64(&self) -> String {
        B64.encode(merkle::leaf_hash(&self.line))
    }

    /// The entry's text, for messages and for "contains" checks.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.line).into_owned()
    }

    /// Asserts that `reply` carries a receipt naming this entry: its index and leaf hash.
    pub fn assert_receipt_of(&self, reply: &Reply) {
        let (index, leaf) = receipt(reply).unwrap_or_else(|| {
            panic!(
                "HTTP {} answer without a receipt: {}",
                reply.status,
                reply.text()
            )
        });
        assert_eq!(index, self.index, "the receipt's index");
        assert_eq!(leaf, self.leaf_b64(), "the receipt's leaf hash");
        assert_eq!(leaf.len(), 44, "standard padded base64 of 32 bytes");
    }
}

/// Follows the audit log as the region's auditor (the bureau), remembering how far it read.
///
/// Reading the entries is itself audited: each read appends one `audit.read` entry, whose
/// index (the read's receipt) is the log's size before the read. So after a read of `[from,
/// size)` the tail continues at `size + 1`, skipping its own read.
pub struct AuditTail {
    client: Client,
    /// The index of the first entry not yet seen (own reads excluded).
    pub next: u64,
}

impl AuditTail {
    /// A tail starting at the end of the log as it is now.
    pub async fn new(node: &Node) -> AuditTail {
        let mut tail = AuditTail {
            client: node.bureau(),
            next: 0,
        };
        let (_, receipt) = tail.read(Some(0), Some(0)).await;
        tail.next = receipt + 1;
        tail
    }

    /// `GET /v1/audit/entries` with the given bounds: the entries and the read's receipt index.
    pub async fn read(&mut self, from: Option<u64>, to: Option<u64>) -> (Vec<Logged>, u64) {
        let mut q = Vec::new();
        if let Some(f) = from {
            q.push(format!("from={f}"));
        }
        if let Some(t) = to {
            q.push(format!("to={t}"));
        }
        let path = if q.is_empty() {
            "/v1/audit/entries".to_owned()
        } else {
            format!("/v1/audit/entries?{}", q.join("&"))
        };
        let reply = send(&mut self.client, "GET", &path, None).await;
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
        let ct = reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(ct, "application/jsonl", "GET {path}: content type");
        let (index, _) = receipt(&reply).expect("entries carry a receipt in the headers");
        (parse_lines(&reply.body), index)
    }

    /// Every entry written since the last call (the tail's own reads excluded).
    pub async fn new_entries(&mut self) -> Vec<Logged> {
        let (entries, receipt) = self.read(Some(self.next), None).await;
        assert_eq!(
            receipt,
            self.next + entries.len() as u64,
            "the read's own entry comes right after what it returned"
        );
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.index, self.next + i as u64, "entries come in order");
        }
        self.next = receipt + 1;
        entries
    }

    /// Asserts that exactly one entry was written since the last call, with `action` and
    /// `outcome`; returns it.
    pub async fn one(&mut self, action: &str, outcome: &str) -> Logged {
        let entries = self.new_entries().await;
        let texts: Vec<String> = entries.iter().map(Logged::text).collect();
        assert_eq!(
            entries.len(),
            1,
            "want exactly one new entry ({action}, {outcome}), got {}:\n{}",
            entries.len(),
            texts.join("\n")
        );
        let e = entries.into_iter().next().expect("one entry");
        assert_eq!(e.action(), action, "action of {}", e.text());
        assert_eq!(e.outcome(), outcome, "outcome of {}", e.text());
        e
    }

    /// Asserts that exactly one entry was written since the last call, with `action` and
    /// `outcome`, and that `reply` carries its receipt; returns it.
    pub async fn one_for(&mut self, reply: &Reply, action: &str, outcome: &str) -> Logged {
        let e = self.one(action, outcome).await;
        e.assert_receipt_of(reply);
        e
    }

    /// Asserts that nothing was written since the last call.
    pub async fn none(&mut self) {
        let entries = self.new_entries().await;
        let texts: Vec<String> = entries.iter().map(Logged::text).collect();
        assert!(
            entries.is_empty(),
            "want no new entry, got:\n{}",
            texts.join("\n")
        );
    }
}

impl Node {
    /// What most tests open first: an [`AuditTail`] from the end of the log as it is now, then
    /// clients of the bureau and of the window.
    pub async fn session(&self) -> (AuditTail, Client, Client) {
        (AuditTail::new(self).await, self.bureau(), self.window())
    }
}

/// Splits a JSON Lines body into entries.
pub fn parse_lines(body: &[u8]) -> Vec<Logged> {
    if body.is_empty() {
        return Vec::new();
    }
    let inner = body
        .strip_suffix(b"\n")
        .expect("every line ends with a newline");
    inner
        .split(|b| *b == b'\n')
        .map(|line| {
            let entry: Value = serde_json::from_slice(line).unwrap_or_else(|e| {
                panic!("not a JSON entry: {e}: {}", String::from_utf8_lossy(line))
            });
            Logged {
                index: entry["index"].as_u64().expect("an index"),
                line: line.to_vec(),
                entry,
            }
        })
        .collect()
}

/// What a request should get: HTTP status, and the action and outcome of its one entry.
pub type Want<'a> = (u16, &'a str, &'a str);

/// Sends a request and asserts the answer's status and that exactly one entry was written,
/// with the action and outcome wanted, whose receipt the answer carries. For an error answer,
/// the error code must be the outcome. Returns the answer's JSON (`Value::Null` if it is not
/// JSON) and the entry.
pub async fn expect(
    tail: &mut AuditTail,
    client: &mut Client,
    method: &str,
    path: &str,
    body: Option<&Value>,
    want: Want<'_>,
) -> (Value, Logged) {
    let reply = send(client, method, path, body).await;
    check(tail, &reply, method, path, want).await
}

impl AuditTail {
    /// [`expect`] of `GET path` with no body, sent by `client`.
    pub async fn get(
        &mut self,
        client: &mut Client,
        path: &str,
        want: Want<'_>,
    ) -> (Value, Logged) {
        expect(self, client, "GET", path, None, want).await
    }

    /// [`expect`] of `POST path` with JSON `body`, sent by `client`.
    pub async fn post(
        &mut self,
        client: &mut Client,
        path: &str,
        body: &Value,
        want: Want<'_>,
    ) -> (Value, Logged) {
        expect(self, client, "POST", path, Some(body), want).await
    }

    /// [`expect`] of the status change of licence `id` to `to` (a name or a code), for
    /// `reason`, sent by `bureau`.
    pub async fn status_change(
        &mut self,
        bureau: &mut Client,
        id: &str,
        to: &str,
        reason: &str,
        want: Want<'_>,
    ) -> (Value, Logged) {
        let body = json!({"status": to, "reason": reason});
        expect(self, bureau, "POST", &status_path(id), Some(&body), want).await
    }

    /// [`expect`] of `DELETE path` with no body, sent by `client`.
    pub async fn delete(
        &mut self,
        client: &mut Client,
        path: &str,
        want: Want<'_>,
    ) -> (Value, Logged) {
        expect(self, client, "DELETE", path, None, want).await
    }
}

/// [`expect`] with a raw body and content type.
pub async fn expect_raw(
    tail: &mut AuditTail,
    client: &mut Client,
    method: &str,
    path: &str,
    (content_type, body): (Option<&str>, Vec<u8>),
    want: Want<'_>,
) -> (Value, Logged) {
    let reply = send_raw(client, method, path, content_type, body).await;
    check(tail, &reply, method, path, want).await
}

/// Asserts what [`expect`] asserts about an answer already received.
pub async fn check(
    tail: &mut AuditTail,
    reply: &Reply,
    method: &str,
    path: &str,
    (status, action, outcome): Want<'_>,
) -> (Value, Logged) {
    let v: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    assert_eq!(
        reply.status,
        status,
        "{method} {path}: HTTP status; body: {}",
        reply.text()
    );
    if status >= 400 {
        assert_eq!(
            v["error"]["code"].as_str(),
            Some(outcome),
            "{method} {path}: error code; body: {v}"
        );
    }
    let e = tail.one_for(reply, action, outcome).await;
    assert_eq!(e.detail("method"), method, "detail.method of {}", e.text());
    let logged_path = redacted(path.split('?').next().unwrap_or(path));
    assert_eq!(
        unkeyed(e.detail("path").as_str().unwrap_or("")),
        logged_path,
        "detail.path of {}",
        e.text()
    );
    assert_eq!(e.detail("status"), status, "detail.status of {}", e.text());
    (v, e)
}

/// SHA-256 (lower-case hex) of the DER of the first certificate in `certs/<region>/<file>`.
pub fn cert_sha256(region: &str, file: &str) -> String {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let der = CertificateDer::from_pem_file(cert_path(region, file)).expect("a PEM certificate");
    hex::encode(ring::digest::digest(&ring::digest::SHA256, &der))
}

/// Asserts the entry's actor: department (or node) `id` of `region`, with the certificate of
/// `certs/<region>/<id>.pem`.
pub fn assert_actor(e: &Logged, region: &str, id: &str) {
    let a = &e.entry["actor"];
    assert_eq!(a["id"], id, "actor of {}", e.text());
    assert_eq!(a["region"], region, "actor of {}", e.text());
    assert_eq!(
        a["cert_sha256"],
        cert_sha256(region, &format!("{id}.pem")),
        "actor of {}",
        e.text()
    );
}

/// `s` as the log keeps free text (docs/audit-format.md): every run of 15 or more characters
/// from `0-9Xx` replaced by `<redacted>` (a `detail` string that is a whole licence id or type
/// code is kept as is; the request path is not one).
pub fn redacted(s: &str) -> String {
    zhengzhao::codes::redact_id_numbers(s)
}

/// `s` with each holder's token (`<holder:HASH>`, the node's keyed hash) written as the
/// `<redacted>` that [`redacted`], which has no key, writes in its place.
pub fn unkeyed(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("<holder:") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + "<holder:".len()..];
        let hex = tail
            .get(..64)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        match (hex, tail.as_bytes().get(64)) {
            (Some(_), Some(b'>')) => {
                out.push_str("<redacted>");
                rest = &tail[65..];
            }
            _ => {
                out.push_str("<holder:");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------------
// Several nodes: the four demo regions as each other's partners.

/// Demo regions with fixed loopback addresses, each the partner of all the others.
pub struct Mesh {
    /// Region → `127.0.0.1:<port>`.
    pub addrs: Vec<(String, String)>,
}

impl Mesh {
    /// Addresses for all four demo regions.
    pub fn new() -> Mesh {
        Mesh {
            addrs: REGIONS
                .iter()
                .map(|r| (r.to_string(), format!("127.0.0.1:{}", free_port())))
                .collect(),
        }
    }

    /// The address of `region`.
    pub fn addr(&self, region: &str) -> String {
        self.addrs
            .iter()
            .find(|(r, _)| r == region)
            .map(|(_, a)| a.clone())
            .expect("a demo region")
    }

    /// The partners of `region`: every other region with its URL.
    pub fn partners_of(&self, region: &str) -> Vec<(String, String)> {
        self.addrs
            .iter()
            .filter(|(r, _)| r != region)
            .map(|(r, a)| (r.clone(), format!("https://{a}")))
            .collect()
    }

    /// Starts `region`'s node with its config changed by `edit`.
    pub fn start(&self, region: &str, edit: impl FnOnce(String) -> String) -> Node {
        Node::start_full(region, &self.addr(region), &self.partners_of(region), edit)
    }
}

impl Default for Mesh {
    fn default() -> Self {
        Mesh::new()
    }
}

// ---------------------------------------------------------------------------------------------
// Raw connections: mutual TLS by hand, from a chosen loopback address.

/// A client identity: a certificate chain and its private key.
pub type Identity = (
    Vec<rustls_pki_types::CertificateDer<'static>>,
    rustls_pki_types::PrivateKeyDer<'static>,
);

/// The identity in `certs/<region>/<name>.pem` and `.key`.
pub fn demo_identity(region: &str, name: &str) -> Identity {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert_path(region, &format!("{name}.pem")))
        .expect("a certificate file")
        .collect::<Result<Vec<_>, _>>()
        .expect("certificates");
    let key = PrivateKeyDer::from_pem_file(cert_path(region, &format!("{name}.key")))
        .expect("a private key");
    (chain, key)
}

/// A client config for the TLS `versions` trusting the region's TLS CA, presenting `identity`
/// if given, offering HTTP/1.1.
pub fn tls_client_config(
    region: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
    identity: Option<Identity>,
) -> Arc<rustls::ClientConfig> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(cert_path(region, "tls-ca.pem")).expect("the TLS CA") {
        roots
            .add(c.expect("a CA certificate"))
            .expect("a usable CA");
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("the TLS versions")
        .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .expect("a client identity"),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A TLS 1.3 client config presenting `certs/<region>/<name>.pem` (and its key), trusting the
/// region's TLS CA, offering HTTP/1.1.
pub fn raw_tls_config(region: &str, name: &str) -> Arc<rustls::ClientConfig> {
    tls_client_config(
        region,
        &[&rustls::version::TLS13],
        Some(demo_identity(region, name)),
    )
}

/// The node's address.
pub fn node_addr(node: &Node) -> std::net::SocketAddr {
    node.url
        .strip_prefix("https://")
        .expect("an https URL")
        .parse()
        .expect("a socket address")
}

/// A TCP connection to the node from loopback address `from` (any port).
pub async fn tcp_from(
    node: &Node,
    from: std::net::IpAddr,
) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(std::net::SocketAddr::new(from, 0))?;
    socket.connect(node_addr(node)).await
}

/// A mutual-TLS connection to the node with `config`, from loopback address `from`.
pub async fn tls_from(
    node: &Node,
    config: Arc<rustls::ClientConfig>,
    from: std::net::IpAddr,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let tcp = tcp_from(node, from).await?;
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("a server name");
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
}

/// Everything the peer sends until it closes, a read fails, or `limit` passes (then `None`).
pub async fn read_to_close(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    limit: Duration,
) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt as _;
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    let read_all = async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read_all).await.ok()?;
    Some(out)
}

/// The entries written since the tail's last read, waiting up to `limit` for the first one
/// (for entries written after an answer, or with none). Unlike [`AuditTail::new_entries`] it
/// allows an entry written between a read and the read's own entry: it reads again, leaving out
/// its own reads.
pub async fn entries_within(tail: &mut AuditTail, limit: Duration) -> Vec<Logged> {
    let deadline = Instant::now() + limit;
    let from = tail.next;
    let mut own = Vec::new();
    loop {
        let (entries, receipt) = tail.read(Some(from), None).await;
        own.push(receipt);
        // Every entry before the read's own one was returned: nothing was written meanwhile.
        let complete = receipt == from + entries.len() as u64;
        let others: Vec<Logged> = entries
            .into_iter()
            .filter(|e| !own.contains(&e.index))
            .collect();
        if complete && (!others.is_empty() || Instant::now() >= deadline) {
            tail.next = receipt + 1;
            return others;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The resident set size of process `pid`, in KiB (`VmRSS` of /proc/<pid>/status).
pub fn rss_kib(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process's status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}
