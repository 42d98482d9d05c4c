//! A small HTTPS client with a client certificate: HTTP/1.1 over TLS 1.3, one kept-alive
//! connection, re-opened when the server closes it. Used by the auditor's remote replay, the
//! demo, the tests and the benchmark.

use std::sync::Arc;
use std::time::Duration;

use bytes_shim::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::tls;

/// `bytes::Bytes`, through hyper's re-export path.
mod bytes_shim {
    pub use hyper::body::Bytes;
}

/// A response: status, headers, the whole body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The headers.
    pub headers: hyper::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "the answer (HTTP {}) is not JSON: {e}: {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(200)])
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The largest answer a client reads, in bytes: more than any node answers with (a lookup's
/// 50 results of the largest licences and usage copies, about 8 MiB; an entries page of at most
/// 16 MiB), so that a partner or a node that says more cannot fill this one's memory.
pub const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// How the error of an answer over the limit begins.
pub const ANSWER_TOO_LARGE: &str = "the answer is larger than";

/// A client of one node.
pub struct Client {
    config: Arc<ClientConfig>,
    host: String,
    port: u16,
    sender: Option<SendRequest<Full<Bytes>>>,
    timeout: Duration,
    max_answer: usize,
}

/// Splits `https://host:port[/]` into host and port.
pub fn parse_base_url(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("{url:?}: the node's URL must start with https://"))?;
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') {
        return Err(format!("{url:?}: give the node's base URL, without a path"));
    }
    let (host, port) = if let Some(r) = rest.strip_prefix('[') {
        let (h, p) = r
            .split_once("]:")
            .ok_or_else(|| format!("{url:?}: an IPv6 address needs a port: https://[::1]:8443"))?;
        (h.to_owned(), p)
    } else {
        let (h, p) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("{url:?}: the URL needs a port"))?;
        (h.to_owned(), p)
    };
    let port = port
        .parse()
        .map_err(|_| format!("{url:?}: {port:?} is not a port"))?;
    Ok((host, port))
}

impl Client {
    /// A client of the node at `base_url`, trusting `ca` for its certificate and presenting
    /// `cert` and `key`.
    pub fn new(
        base_url: &str,
        ca: &std::path::Path,
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> Result<Client, String> {
        let (host, port) = parse_base_url(base_url)?;
        Ok(Client {
            config: tls::client_config(ca, cert, key)?,
            host,
            port,
            sender: None,
            timeout: Duration::from_secs(30),
            max_answer: MAX_ANSWER_BYTES,
        })
    }

    /// A client for the node at `base_url` with a ready TLS client configuration.
    pub fn from_config(base_url: &str, config: Arc<ClientConfig>) -> Result<Client, String> {
        let (host, port) = parse_base_url(base_url)?;
        Ok(Client {
            config,
            host,
            port,
            sender: None,
            timeout: Duration::from_secs(30),
            max_answer: MAX_ANSWER_BYTES,
        })
    }

    /// Sets the largest answer read (by default [`MAX_ANSWER_BYTES`]); a longer one is an error.
    pub fn with_max_answer(mut self, bytes: usize) -> Client {
        self.max_answer = bytes;
        self
    }

    /// Sets the deadline of each request (connection included).
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let tcp = TcpStream::connect((self.host.trim_matches(['[', ']']), self.port))
            .await
            .map_err(|e| format!("connecting to {}:{}: {e}", self.host, self.port))?;
        let _ = tcp.set_nodelay(true);
        let name = tls::server_name(&self.host)?;
        let stream = TlsConnector::from(self.config.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {}:{}: {e}", self.host, self.port))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP with {}:{}: {e}", self.host, self.port))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Sends one request: `body` is JSON when given. Retries once on a fresh connection if the
    /// kept-alive one was closed before the request went out.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Reply, String> {
        let bytes = match body {
            Some(v) => serde_json::to_vec(v).map_err(|e| e.to_string())?,
            None => Vec::new(),
        };
        let ct = body.map(|_| "application/json");
        self.raw(method, path, ct, bytes).await
    }

    /// Sends one request with a raw body and content type. The whole exchange, the connection
    /// and the one retry included, must end within the client's timeout.
    pub async fn raw(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Reply, String> {
        let timeout = self.timeout;
        let exchange = async {
            for attempt in 0..2 {
                let mut sender = match self.sender.take() {
                    Some(s) if !s.is_closed() => s,
                    _ => self.connect().await?,
                };
                if sender.ready().await.is_err() {
                    if attempt == 0 {
                        continue;
                    }
                    return Err("the connection closed".into());
                }
                let mut req = hyper::Request::builder()
                    .method(method)
                    .uri(path)
                    .header(hyper::header::HOST, format!("{}:{}", self.host, self.port));
                if let Some(ct) = content_type {
                    req = req.header(hyper::header::CONTENT_TYPE, ct);
                }
                let req = req
                    .body(Full::new(Bytes::from(body.clone())))
                    .map_err(|e| e.to_string())?;
                match sender.send_request(req).await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let headers = resp.headers().clone();
                        let limit = self.max_answer;
                        let body = http_body_util::Limited::new(resp.into_body(), limit)
                            .collect()
                            .await
                            .map_err(|e| {
                                if e.is::<http_body_util::LengthLimitError>() {
                                    format!("{ANSWER_TOO_LARGE} {limit} bytes")
                                } else {
                                    format!("reading the answer: {e}")
                                }
                            })?
                            .to_bytes()
                            .to_vec();
                        self.sender = Some(sender);
                        return Ok(Reply {
                            status,
                            headers,
                            body,
                        });
                    }
                    Err(e) if attempt == 0 && e.is_canceled() => continue,
                    Err(e) => return Err(format!("request {method} {path}: {e}")),
                }
            }
            Err::<Reply, String>("the connection closed".into())
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| format!("no answer within {timeout:?}"))?
    }
}
