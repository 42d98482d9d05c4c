#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Requests refused below the application, over real mutual-TLS connections: a malformed
//! request (400), a URI over hyper's limit (414) and a head over 64 KiB (431, from hyper or
//! from the node) each leave one `request.unknown` entry for the caller that sent it, with the
//! outcome and status and none of the request's bytes; what is refused before TLS completes has
//! no caller and leaves none.

#[allow(dead_code)] // uses only part of the shared support
mod node_support;

use std::net::IpAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt as _;

use node_support::*;

const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// What the window gets for `request` sent on a connection of its own: the status line, or
/// "(closed)", and the whole answer.
async fn send_raw_request(node: &Node, request: &[u8]) -> (String, String) {
    let config = raw_tls_config(REGION, "370900-window");
    let mut tls = tls_from(node, config, LOCAL).await.unwrap();
    // The node may stop reading (and close) before all of it is written.
    let _ = tls.write_all(request).await;
    let _ = tls.flush().await;
    let got = read_to_close(&mut tls, Duration::from_secs(10))
        .await
        .expect("the node closes the connection");
    let got = String::from_utf8_lossy(&got).into_owned();
    let line = got.lines().next().unwrap_or("(closed)").to_owned();
    (line, got)
}

#[tokio::test]
async fn requests_the_http_layer_refuses_are_audited_for_their_caller() {
    let node = Node::start(REGION);
    let mut tail = AuditTail::new(&node).await;
    let padding = "q".repeat(200 * 1024);
    let uri = format!(
        "GET /{} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "u".repeat(70_000)
    );
    let huge = format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: {padding}\r\n\r\n");
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: {}\r\n\r\n",
        &padding[..80 * 1024]
    );
    // (what, request, status, outcome, whether the answer must arrive)
    let cases: Vec<(&str, Vec<u8>, u16, &str, bool)> = vec![
        (
            "a header line without a colon",
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nsecret-line-no-colon\r\n\r\n".to_vec(),
            400,
            "malformed_request",
            true,
        ),
        (
            "an invalid method",
            b"G(T /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_vec(),
            400,
            "malformed_request",
            true,
        ),
        (
            "a URI of 70 000 bytes",
            uri.into_bytes(),
            414,
            "uri_too_long",
            true,
        ),
        // Over hyper's buffer: it stops reading, and the close may reset the connection before
        // the answer is read.
        (
            "a head of 200 KiB",
            huge.into_bytes(),
            431,
            "head_too_large",
            false,
        ),
        // Within hyper's buffer, over the node's limit: the node's answer, with its receipt.
        (
            "a head of 80 KiB",
            big.into_bytes(),
            431,
            "head_too_large",
            true,
        ),
    ];
    for (what, request, status, outcome, must_answer) in cases {
        let (line, answer) = send_raw_request(&node, &request).await;
        let want = format!("HTTP/1.1 {status} ");
        if must_answer {
            assert!(line.starts_with(&want), "{what}: {line}");
        } else {
            assert!(
                line.starts_with(&want) || line == "(closed)",
                "{what}: {line}"
            );
        }
        let entries = entries_within(&mut tail, Duration::from_secs(10)).await;
        let texts: Vec<String> = entries.iter().map(Logged::text).collect();
        assert_eq!(entries.len(), 1, "{what}: one entry, got {texts:?}");
        let e = &entries[0];
        assert_eq!(e.action(), "request.unknown", "{what}: {}", e.text());
        assert_eq!(e.outcome(), outcome, "{what}: {}", e.text());
        assert_eq!(e.detail("status"), status, "{what}: {}", e.text());
        assert_actor(e, REGION, "370900-window");
        // None of the request: no path, no header, no padding.
        assert!(e.detail("path").is_null(), "{what}: {}", e.text());
        for bytes in ["healthz", "secret-line", "uuuuuuuu", "qqqqqqqq", "G(T"] {
            assert!(!e.text().contains(bytes), "{what}: {bytes} in {}", e.text());
        }
        if what == "a head of 80 KiB" {
            let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
            let v: Value = serde_json::from_str(body).unwrap();
            assert_eq!(v["error"]["code"], "head_too_large");
            assert_eq!(v["receipt"]["index"], e.index, "{body}");
            assert_eq!(v["receipt"]["leaf_hash"], e.leaf_b64().as_str(), "{body}");
        }
    }

    // Before TLS completes there is no caller: plain HTTP on the TLS port, a certificate-less
    // handshake. Closed without an answer, and no entry.
    let mut tcp = tcp_from(&node, LOCAL).await.unwrap();
    let _ = tcp
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await;
    let got = read_to_close(&mut tcp, Duration::from_secs(15)).await;
    assert!(
        got.as_deref().is_some_and(|b| !b.starts_with(b"HTTP/")),
        "plain HTTP: {got:?}"
    );
    tail.none().await;
}
