//! The HTTP request surface: requests of every route, method and caller through the node's
//! router, without a socket.

use std::sync::OnceLock;

/// The demo region of [`fuzz_http`]'s node.
const HTTP_REGION: &str = "370900";
/// The demo region named as [`fuzz_http`]'s node's partner (its node is never up).
const HTTP_PARTNER: &str = "370115";
/// Requests one node serves before [`fuzz_http`] replaces it with a fresh one, so that a long
/// run's data directory (in memory under `/dev/shm`) and the holder index stay small: every
/// issuance adds a licence of the skeletons' few holders, and a lookup answers (and signs a
/// usage copy of) every licence of its holder, so its cost grows with the requests served.
const HTTP_REQUESTS_PER_NODE: u64 = 20_000;
/// The prefix of [`fuzz_http`]'s temporary directories (`<prefix><pid>-<n>`).
const HTTP_DIR_PREFIX: &str = "zhengzhao-fuzz-http-";

/// GB 11643's own example resident ID number (nobody's), the holder of person skeletons.
const HTTP_PERSON: &str = "11010519491231002X";
/// Another valid resident ID number made for tests (nobody's).
const HTTP_OTHER_PERSON: &str = "110105194912310038";
/// The organisation of `fixtures/requests/370900.json`.
const HTTP_ORG: &str = "91110000600037341L";
/// The licence type the skeletons issue to persons.
const HTTP_PERSON_TYPE: &str = "11100000000013338W011";
/// An issuance request for an organisation: the fixture the node tests use.
const HTTP_ORG_REQUEST: &str = include_str!("../../fixtures/requests/370900.json");
/// A valid licence of this region, the default `licence` of verification skeletons.
const HTTP_OWN_LICENCE: &str = include_str!("../../fixtures/licences/valid.370900.jws");
/// A valid licence of the partner region: its live status is asked of the partner, which is down.
const HTTP_PARTNER_LICENCE: &str = include_str!("../../fixtures/licences/valid.370115.jws");

/// Who calls: the certificate's CN and its CA's region; `None`: no caller at all (the
/// dispatcher must still log the request, as `(unidentified)`).
const HTTP_CALLERS: [Option<(&str, &str)>; 6] = [
    // issuer, portal, auditor
    Some(("370900-bureau", HTTP_REGION)),
    // consumer, verifier
    Some(("370900-window", HTTP_REGION)),
    // the partner's node
    Some(("zhengzhao-370115", HTTP_PARTNER)),
    // a department of the partner: not one of this node's
    Some(("370115-window", HTTP_PARTNER)),
    // a certificate of this region's CA that names no department
    Some(("370900-stranger", HTTP_REGION)),
    None,
];

/// Path templates and the method each takes; `{}` is filled in from the input.
const HTTP_PATHS: [(&str, &str); 20] = [
    ("/healthz", "GET"),
    ("/v1/openapi.json", "GET"),
    ("/v1/audit/checkpoint", "GET"),
    ("/v1/audit/vkey", "GET"),
    ("/v1/audit/entries", "GET"),
    ("/v1/audit/proof/inclusion", "GET"),
    ("/v1/audit/proof/consistency", "GET"),
    ("/v1/licences", "POST"),
    ("/v1/licences/{}/status", "POST"),
    ("/v1/licences/{}/status", "GET"),
    ("/v1/licences/{}/versions", "POST"),
    ("/v1/verify", "POST"),
    ("/v1/consents", "POST"),
    ("/v1/consents/{}", "DELETE"),
    ("/v1/lookups", "POST"),
    ("/v1/trust-list", "GET"),
    ("/v1/witness/add-checkpoint", "POST"),
    ("/v1/witness/state", "GET"),
    ("/v1/federation/lookups", "POST"),
    ("{}", "GET"),
];

/// Methods chosen by a byte; the last slot takes a token from the input.
const HTTP_METHODS: [&str; 8] = [
    "GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "",
];

/// The requests [`fuzz_http`] expects no audit entry for (docs/api.md): method GET and these
/// paths exactly (any query).
const HTTP_UNAUDITED: [&str; 4] = [
    "/healthz",
    "/v1/audit/checkpoint",
    "/v1/audit/vkey",
    "/v1/trust-list",
];

/// What earlier requests created, so that later ones can name it: the latest licence issued
/// (id and token) and the latest consent granted.
#[derive(Default)]
struct HttpMemory {
    licence_id: Option<String>,
    token: Option<String>,
    consent_id: Option<String>,
}

/// One node and the directory it lives in.
struct HttpNode {
    node: std::sync::Arc<crate::node::Node>,
    dir: std::path::PathBuf,
    served: u64,
    memory: HttpMemory,
}

/// The runtime [`fuzz_http`] drives the router on: one thread, with timers and I/O (partner
/// calls).
static HTTP_RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
/// The node [`fuzz_http`] sends requests to, replaced every [`HTTP_REQUESTS_PER_NODE`].
static HTTP_NODE: std::sync::Mutex<Option<HttpNode>> = std::sync::Mutex::new(None);
/// Counts the nodes opened by this process, for their directory names.
static HTTP_NODES_OPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Where [`fuzz_http`] keeps its nodes' data: `/dev/shm` when there is one (a synced write
/// there costs nothing), the system's temporary directory otherwise.
fn http_base_dir() -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Removes the directories of earlier fuzzing processes that have ended (a process that
/// exits through libFuzzer runs no destructors). Only where `/proc` tells which are alive.
fn sweep_http_dirs(base: &std::path::Path) {
    let proc_dir = std::path::Path::new("/proc/self");
    if !proc_dir.exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(HTTP_DIR_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().filter(|p| !p.is_empty()) else {
            continue;
        };
        if pid.bytes().all(|b| b.is_ascii_digit())
            && !std::path::Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Opens a node of demo region [`HTTP_REGION`] on the demo PKI in `certs/`, with demo
/// partner [`HTTP_PARTNER`] at a local port nothing listens on, its data in a new directory;
/// publishes its trust list and signs its first checkpoint, as `zhengzhao serve` does.
fn open_http_node(runtime: &tokio::runtime::Runtime) -> Result<HttpNode, String> {
    let base = http_base_dir();
    let n = HTTP_NODES_OPENED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if n == 0 {
        sweep_http_dirs(&base);
    }
    let dir = base.join(format!("{HTTP_DIR_PREFIX}{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // A port that was free a moment ago: the partner's calls are refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("finding a closed port: {e}"))?;
    let certs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("certs");
    let partners = [(
        HTTP_PARTNER.to_owned(),
        format!("https://127.0.0.1:{}", closed.port()),
    )];
    let text = crate::demo::config::config_text(
        HTTP_REGION,
        &certs,
        &dir.join("data"),
        "127.0.0.1:0",
        &partners,
    )?;
    let mut config = crate::node::Config::parse(&text, &dir).map_err(|e| e.to_string())?;
    // Audit reads answer at most 16 KiB of entries (at least one entry is always sent), not
    // the demo's 8 MiB: with hundreds of thousands of entries in the log, each read otherwise
    // serialises and re-parses megabytes, and reads would take most of the fuzzer's time.
    // The bound is a configuration value; the code paths are the same.
    config.limits.audit_read_bytes = 16 * 1024;
    let node = crate::node::Node::open(config).map_err(|e| e.to_string())?;
    let node = std::sync::Arc::new(node);
    let opened = HttpNode {
        node: node.clone(),
        dir,
        served: 0,
        memory: HttpMemory::default(),
    };
    runtime.block_on(crate::node::federation::publish_trust_list(&node))?;
    node.log.checkpoint_now().map_err(|e| e.to_string())?;
    Ok(opened)
}

/// A request decoded from fuzz input, and what [`fuzz_http`] needs to judge its answer.
struct HttpCase {
    request: axum::http::Request<axum::body::Body>,
    method: String,
    path: String,
    caller: Option<crate::node::tls::Caller>,
}

/// Splits `data` after its 6 header bytes into fields separated by `0xff`.
fn http_fields(data: &[u8]) -> ([u8; 6], Vec<&[u8]>) {
    let mut head = [0u8; 6];
    for (slot, b) in head.iter_mut().zip(data) {
        *slot = *b;
    }
    let rest = data.get(6..).unwrap_or(&[]);
    (head, rest.split(|b| *b == 0xff).collect())
}

/// Percent-encodes every byte outside the URI's unreserved and sub-delimiter characters, `/`,
/// `:`, `@`, `%` and (for a query) `=`, `&`, `?`.
fn percent_encode(bytes: &[u8], query: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        let keep = b.is_ascii_alphanumeric()
            || b"-._~!$'()*+,;/:@%".contains(&b)
            || (query && b"=&?".contains(&b));
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The JSON skeleton of body selector `which` (`None`: the raw field is the body).
fn http_skeleton(which: u8) -> Option<serde_json::Value> {
    use serde_json::json;
    let person = json!({"type": "111", "code": HTTP_PERSON});
    let org = json!({"type": "001", "code": HTTP_ORG});
    Some(match which % 14 {
        1 => serde_json::from_str(HTTP_ORG_REQUEST).unwrap_or_default(),
        2 => json!({
            "type_code": HTTP_PERSON_TYPE,
            "type_name": "特种作业操作证",
            "holder": {"type": "111", "code": HTTP_PERSON, "name": "李四"},
            "valid_from": "2026-01-01",
            "valid_until": "2032-12-31",
            "fields": {"作业类别": "电工作业"}
        }),
        3 => json!({"status": "suspended", "reason": "核查中"}),
        4 => json!({"status": "active", "reason": "核查完毕"}),
        5 => json!({"licence": "$TOKEN", "purpose": "窗口核验"}),
        6 => json!({"licence": HTTP_PARTNER_LICENCE.trim(), "purpose": "跨省核验"}),
        7 => json!({
            "holder": person,
            "grantee": "370900-window",
            "type_codes": [HTTP_PERSON_TYPE],
            "uses": 2
        }),
        8 => json!({"holder": org, "matter": "DEMO-STATUTORY", "purpose": "办理许可",
            "case": "FZ-0008", "mode": "duty"}),
        9 => json!({
            "holder": person,
            "type_code": HTTP_PERSON_TYPE,
            "matter": "DEMO-CONSENT",
            "purpose": "办理事项",
            "case": "FZ-0009",
            "mode": "consent",
            "consent": "$CONSENT"
        }),
        10 => json!({
            "holder": org,
            "matter": "DEMO-STATUTORY",
            "purpose": "跨省通办",
            "case": "FZ-0010",
            "mode": "duty",
            "regions": "all",
            "format": "ofd"
        }),
        11 => json!({
            "department": "370115-window",
            "holder": org,
            "matter": "DEMO-STATUTORY",
            "purpose": "跨省通办",
            "case": "FZ-0011",
            "mode": "duty"
        }),
        12 => json!({
            "holder": {"type": "111", "code": HTTP_OTHER_PERSON},
            "grantee": "370115-window",
            "grantee_region": HTTP_PARTNER,
            "type_codes": [HTTP_PERSON_TYPE],
            "until": "2030-01-01T00:00:00Z"
        }),
        13 => json!({}),
        _ => return None,
    })
}

/// Every leaf of `v` (and every array or object that is empty), as a JSON pointer.
fn json_leaves(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                json_leaves(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        serde_json::Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                json_leaves(x, format!("{at}/{i}"), out);
            }
        }
        _ => out.push(at),
    }
}

/// Replaces the placeholders `$TOKEN` and `$CONSENT` by what `memory` holds (or defaults).
fn fill_placeholders(v: &mut serde_json::Value, memory: &HttpMemory) {
    match v {
        serde_json::Value::String(s) if s == "$TOKEN" => {
            *s = memory
                .token
                .clone()
                .unwrap_or_else(|| HTTP_OWN_LICENCE.trim().to_owned());
        }
        serde_json::Value::String(s) if s == "$CONSENT" => {
            *s = memory.consent_id.clone().unwrap_or_else(|| "c".repeat(32));
        }
        serde_json::Value::Object(m) => m.values_mut().for_each(|x| fill_placeholders(x, memory)),
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| fill_placeholders(x, memory)),
        _ => {}
    }
}

/// Decodes fuzz input into a request. The six leading bytes choose the caller, the method,
/// the path template, the body skeleton, what is done to the skeleton and the headers; the
/// rest is split on `0xff` into the path argument, the query, the body (or the value put into
/// the skeleton), an extra header (`name:value`) and a method token.
///
/// `None` when the bytes make no request `http` can build (a method or header it refuses):
/// hyper refuses those before the application, so they say nothing about the dispatcher.
fn decode_http(data: &[u8], memory: &HttpMemory) -> Option<HttpCase> {
    use axum::http::{HeaderName, HeaderValue, Method, Request, header};

    let ([who, how, which_path, which_body, hole, flags], fields) = http_fields(data);
    let field = |i: usize| fields.get(i).copied().unwrap_or(&[]);

    let caller = HTTP_CALLERS[usize::from(who) % HTTP_CALLERS.len()].and_then(|(id, region)| {
        Some(crate::node::tls::Caller {
            id: id.to_owned(),
            region: region.parse().ok()?,
            cert_sha256: hex::encode(ring::digest::digest(&ring::digest::SHA256, id.as_bytes())),
        })
    });

    let (template, natural) = HTTP_PATHS[usize::from(which_path) % HTTP_PATHS.len()];
    let method = if how < 0x80 {
        natural.as_bytes()
    } else {
        match HTTP_METHODS[usize::from(how) % HTTP_METHODS.len()] {
            "" => field(4),
            m => m.as_bytes(),
        }
    };
    let method = Method::from_bytes(method).ok()?;

    let arg = field(0);
    let path = if template == "{}" {
        let mut p = percent_encode(arg, false);
        if !p.starts_with('/') {
            p.insert(0, '/');
        }
        p
    } else if template.contains("{}") {
        let filler = if arg.is_empty() {
            if template.starts_with("/v1/consents") {
                memory.consent_id.clone().unwrap_or_else(|| "c".repeat(32))
            } else {
                memory.licence_id.clone().unwrap_or_else(|| {
                    "1.2.156.3005.2.11100000000013338W032.11370900004090218Y.2026000001.001.0"
                        .into()
                })
            }
        } else {
            percent_encode(arg, false)
        };
        template.replace("{}", &filler)
    } else {
        template.to_owned()
    };

    let query = match (flags >> 2) & 3 {
        0 => None,
        1 => Some(percent_encode(field(1), true)),
        _ => {
            // Numbers the audit routes can answer: within the log as it is.
            let n = |i: usize| field(1).get(i).copied().map_or(0, u64::from);
            Some(match template {
                "/v1/audit/proof/inclusion" => format!("index={}&size={}", n(0), n(0) + n(1) + 1),
                "/v1/audit/proof/consistency" => format!("from={}&to={}", n(0), n(0) + n(1)),
                _ => format!("from={}&to={}", n(0), n(0) + n(1)),
            })
        }
    };
    let uri = match &query {
        Some(q) => format!("{path}?{q}"),
        None => path.clone(),
    };

    let value = field(2);
    let body: Vec<u8> = match http_skeleton(which_body) {
        None => value.to_vec(),
        Some(mut skeleton) => {
            let mut leaves = Vec::new();
            json_leaves(&skeleton, String::new(), &mut leaves);
            let leaf = leaves
                .get(usize::from(hole & 0x3f) % leaves.len().max(1))
                .cloned()
                .unwrap_or_default();
            let fill = serde_json::from_slice::<serde_json::Value>(value).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(value).into_owned())
            });
            match hole >> 6 {
                // Replace a leaf (or, with an empty pointer, the whole body).
                0 | 1 => {
                    if let Some(slot) = skeleton.pointer_mut(&leaf) {
                        *slot = fill;
                    }
                }
                // Remove a member.
                2 => {
                    if let Some((parent, key)) = leaf.rsplit_once('/')
                        && let Some(serde_json::Value::Object(m)) = skeleton.pointer_mut(parent)
                    {
                        m.remove(&key.replace("~1", "/").replace("~0", "~"));
                    }
                }
                // As it is, or with a member the request does not know.
                _ => {
                    if !value.is_empty()
                        && let serde_json::Value::Object(m) = &mut skeleton
                    {
                        m.insert(String::from_utf8_lossy(value).into_owned(), fill);
                    }
                }
            }
            fill_placeholders(&mut skeleton, memory);
            serde_json::to_vec(&skeleton).ok()?
        }
    };

    let mut builder = Request::builder().method(method.clone()).uri(uri.as_str());
    match flags & 3 {
        0 => builder = builder.header(header::CONTENT_TYPE, "application/json"),
        1 => {}
        2 => builder = builder.header(header::CONTENT_TYPE, "Application/JSON; charset=utf-8"),
        _ => {
            builder = builder.header(
                header::CONTENT_TYPE,
                HeaderValue::from_bytes(field(3)).ok()?,
            )
        }
    }
    if flags & 0x10 != 0 {
        builder = builder.header(header::CONTENT_LENGTH, body.len());
    }
    if flags & 0x20 != 0 {
        let extra = field(3);
        let (name, value) = match extra.iter().position(|b| *b == b':') {
            Some(i) => (&extra[..i], &extra[i + 1..]),
            None => (extra, &[][..]),
        };
        builder = builder.header(
            HeaderName::from_bytes(name).ok()?,
            HeaderValue::from_bytes(value).ok()?,
        );
    }
    let mut request = match builder.body(axum::body::Body::from(body)) {
        Ok(r) => r,
        // A URI that does not parse: the path or query held what no request line can.
        Err(_) => return None,
    };
    let path = request.uri().path().to_owned();
    if let Some(c) = &caller {
        request.extensions_mut().insert(c.clone());
    }
    Some(HttpCase {
        request,
        method: method.as_str().to_owned(),
        path,
        caller,
    })
}

/// Decode `data` into an HTTP request (see below), send it to the router of a node of demo
/// region 370900 ([`crate::node::api::router`], no socket), with the caller a mutual-TLS
/// handshake would have attached, and check the answer and the audit log.
///
/// The node: the demo configuration of region 370900 on the demo PKI in `certs/`, with demo
/// region 370115 as its partner at a local port nothing listens on (so every call to the
/// partner is refused at once), its data in a temporary directory (under `/dev/shm` when
/// there is one). One node serves the requests of a process, in order, and keeps what they
/// changed; it is replaced by a fresh one every [`HTTP_REQUESTS_PER_NODE`] requests so that a
/// long run's memory stays bounded.
///
/// The input: six bytes choose the caller (the region's bureau: issuer, portal and auditor;
/// its window: consumer and verifier; the partner's node; a partner's department; a
/// certificate naming no department; no caller), the method (the path's own or one of a
/// few, or a token from the input), one of the API's paths (or an arbitrary one), a body
/// (a JSON skeleton of each request the API takes, or raw bytes), a change to the skeleton
/// (a member replaced by or set to a value from the input, removed, or an unknown member
/// added) and the headers (`content-type` absent, JSON or arbitrary; `content-length`; one
/// arbitrary header) and the query (none, arbitrary, or numbers for the audit reads). The
/// rest, split on `0xff`: a path argument (a licence or consent id; empty: the latest one
/// issued or granted), the query, the value, the header and the method token.
///
/// Panics (which is what a fuzzer looks for) if the dispatcher panics, or if:
/// - any answer is a 5xx: with the partner down, lookups answer `partial` and verifications
///   `status_unknown` with 200, and a healthy store never fails a read or write;
/// - `GET` of `/healthz`, `/v1/audit/checkpoint`, `/v1/audit/vkey` or `/v1/trust-list` is not
///   answered 200, or changes the audit log's size;
/// - a cosignature (200) or size answer (409) of `POST /v1/witness/add-checkpoint` changes
///   the log's size;
/// - any other request does not add exactly one entry, at the index its answer's receipt
///   names (the body's `receipt.index`, or the `zhengzhao-receipt-index` header); or its
///   answer is not a JSON object of type `application/json`; or a 4xx has no `error.code`
///   (1 to 64 of `a-z` and `_`) and `error.message`; or the entry's actor is not the caller
///   (`(unidentified)` without one), its `detail.status` is not the answer's status, its
///   `outcome` is not the error code of a 4xx, or it holds one of the skeletons' resident ID
///   numbers in clear.
///
/// Never panics otherwise. A node that cannot be opened is also a panic: it is a bug.
pub fn fuzz_http(data: &[u8]) {
    http_exchange(data);
}

/// [`fuzz_http`], returning the answer's status and body (`None`: the bytes make no request).
pub fn http_exchange(data: &[u8]) -> Option<(u16, Vec<u8>)> {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    let runtime = match HTTP_RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    }) {
        Ok(r) => r,
        Err(e) => panic!("no runtime for the node: {e}"),
    };
    let mut slot = match HTTP_NODE.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    if slot
        .as_ref()
        .is_none_or(|n| n.served >= HTTP_REQUESTS_PER_NODE)
    {
        // The old node closes and its directory goes before the new one opens.
        if let Some(old) = slot.take() {
            let dir = old.dir.clone();
            old.node.log.close();
            drop(old);
            let _ = std::fs::remove_dir_all(dir);
        }
        match open_http_node(runtime) {
            Ok(n) => *slot = Some(n),
            Err(e) => panic!("the demo node does not open: {e}"),
        }
    }
    let rig = slot.as_mut()?;
    rig.served += 1;
    let case = decode_http(data, &rig.memory)?;
    let node = rig.node.clone();
    let before = node.log.size();
    let (parts, body) = match runtime.block_on(async {
        let response = crate::node::api::router(node.clone())
            .oneshot(case.request)
            .await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map(|c| c.to_bytes());
        Ok::<_, std::convert::Infallible>((parts, body))
    }) {
        Ok((parts, Ok(body))) => (parts, body),
        Ok((_, Err(e))) => panic!("the answer's body failed: {e}"),
        Err(never) => match never {},
    };
    let after = node.log.size();
    let status = parts.status;
    let shown = || {
        String::from_utf8_lossy(&body)
            .chars()
            .take(2000)
            .collect::<String>()
    };
    let what = format!("{} {} -> {}", case.method, case.path, status.as_u16());

    assert!(!status.is_server_error(), "{what}: {}", shown());

    let unaudited = case.method == "GET" && HTTP_UNAUDITED.contains(&case.path.as_str());
    let witnessing = case.method == "POST"
        && case.path == "/v1/witness/add-checkpoint"
        && matches!(status.as_u16(), 200 | 409);
    if unaudited || witnessing {
        assert_eq!(after, before, "{what}: the audit log changed");
        if unaudited {
            assert_eq!(status.as_u16(), 200, "{what}: {}", shown());
        }
        return Some((status.as_u16(), body.to_vec()));
    }

    assert_eq!(after, before + 1, "{what}: not exactly one entry");
    let content_type = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    // Entries read are JSON lines; a HEAD answer carries headers only.
    let lines = status.as_u16() == 200 && case.path == "/v1/audit/entries";
    let head = case.method == "HEAD";
    let expected_type = if lines {
        "application/jsonl"
    } else {
        "application/json"
    };
    assert_eq!(content_type, Some(expected_type), "{what}");
    let header_receipt = parts
        .headers
        .get("zhengzhao-receipt-index")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let json = if head {
        assert!(body.is_empty(), "{what}: a body for HEAD");
        serde_json::Value::Null
    } else if lines {
        for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let entry = serde_json::from_slice::<serde_json::Value>(line);
            assert!(
                entry.is_ok_and(|e| e.is_object()),
                "{what}: a line that is not an entry: {}",
                String::from_utf8_lossy(line)
            );
        }
        assert_eq!(
            header_receipt,
            Some(before),
            "{what}: the receipt names another entry"
        );
        serde_json::Value::Null
    } else {
        let json: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => panic!("{what}: the answer is not JSON ({e}): {}", shown()),
        };
        assert!(json.is_object(), "{what}: the answer is not an object");
        let receipt = json
            .pointer("/receipt/index")
            .and_then(serde_json::Value::as_u64)
            .or(header_receipt);
        assert_eq!(
            receipt,
            Some(before),
            "{what}: the receipt names another entry"
        );
        json
    };

    let code = json
        .pointer("/error/code")
        .and_then(serde_json::Value::as_str);
    if status.is_client_error() && !head {
        assert!(
            code.is_some_and(|c| (1..=64).contains(&c.len())
                && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')),
            "{what}: no error code: {}",
            shown()
        );
        assert!(
            json.pointer("/error/message")
                .is_some_and(serde_json::Value::is_string),
            "{what}: no error message"
        );
    }

    let entry = match node.log.entry(before) {
        Ok(Some(e)) => e,
        other => panic!("{what}: entry {before} unreadable: {other:?}"),
    };
    let entry_text = String::from_utf8_lossy(&entry);
    for person in [HTTP_PERSON, HTTP_OTHER_PERSON] {
        assert!(
            !entry_text.to_ascii_uppercase().contains(person),
            "{what}: a resident ID number in clear in entry {before}: {entry_text}"
        );
    }
    let entry: serde_json::Value = match serde_json::from_slice(&entry) {
        Ok(v) => v,
        Err(e) => panic!("{what}: entry {before} is not JSON ({e}): {entry_text}"),
    };
    let actor = case
        .caller
        .as_ref()
        .map_or("(unidentified)", |c| c.id.as_str());
    assert_eq!(
        entry
            .pointer("/actor/id")
            .and_then(serde_json::Value::as_str),
        Some(actor),
        "{what}: entry {before}: {entry_text}"
    );
    assert_eq!(
        entry
            .pointer("/detail/status")
            .and_then(serde_json::Value::as_u64),
        Some(u64::from(status.as_u16())),
        "{what}: entry {before}: {entry_text}"
    );
    if status.is_client_error() && !head {
        assert_eq!(
            entry.get("outcome").and_then(serde_json::Value::as_str),
            code,
            "{what}: entry {before}: {entry_text}"
        );
    }

    // Remember what was created, for later requests to name.
    if status.as_u16() == 201 {
        let text = |k: &str| {
            json.get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        if let (Some(id), Some(token)) = (text("id"), text("licence")) {
            rig.memory.licence_id = Some(id);
            rig.memory.token = Some(token);
        }
        if let Some(id) = text("consent_id") {
            rig.memory.consent_id = Some(id);
        }
    }
    Some((status.as_u16(), body.to_vec()))
}
