#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! The node as a process and a TLS endpoint: handshakes refused without a client certificate,
//! with one from an unknown CA (or a CA impersonating the region's by name) and with TLS 1.2;
//! configs with a bad key refused with exit 2 naming the key, never a panic; a stop with SIGTERM
//! and a restart on the same data directory keeping licences and continuing the audit log
//! (checked offline with `zhengzhao audit verify`); and `zhengzhao audit replay` following a
//! running node, continuing from its state file, and refusing a state the node contradicts.

#[allow(dead_code)] // uses only part of the shared support
mod node_support;

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use zhengzhao::audit::merkle::{self, CompactRange};

use node_support::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What a raw TLS connection with `config` gets for `GET /healthz`: `Ok(bytes answered)`, or
/// `Err(where it failed)`.
async fn raw_get(node: &Node, config: Arc<ClientConfig>) -> Result<Vec<u8>, String> {
    let addr = node.url.strip_prefix("https://").unwrap();
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let fut = async {
        let mut tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .map_err(|e| format!("write: {e}"))?;
        tls.flush().await.map_err(|e| format!("flush: {e}"))?;
        let mut out = Vec::new();
        match tls.read_to_end(&mut out).await {
            Ok(_) => Ok(out),
            // An answer followed by an unclean close is still an answer.
            Err(_) if !out.is_empty() => Ok(out),
            Err(e) => Err(format!("read: {e}")),
        }
    };
    tokio::time::timeout(Duration::from_secs(15), fut)
        .await
        .map_err(|_| "no answer and no close within 15 s".to_owned())?
}

/// Asserts that no HTTP answer came back: the handshake failed, or the first read did (TLS 1.3
/// clients learn of a refused certificate only then), or the connection closed empty.
fn assert_no_answer(what: &str, got: Result<Vec<u8>, String>) {
    match got {
        Err(e) => eprintln!("{what}: refused ({e})"),
        Ok(bytes) => assert!(
            !bytes.starts_with(b"HTTP/"),
            "{what}: the node answered:\n{}",
            text(&bytes)
        ),
    }
}

/// A fresh certificate with subject CN `cn`, signed by a fresh key under the subject name of
/// `certs/<region>/tls-ca.pem`: the right names, the wrong CA.
fn impostor(region: &str, cn: &str) -> Identity {
    let ca_der = CertificateDer::from_pem_file(cert_path(region, "tls-ca.pem")).unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_der(&ca_der, ca_key).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = params.signed_by(&key, &issuer).unwrap();
    (
        vec![leaf.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

/// A self-signed certificate with subject CN `cn`.
fn self_signed(cn: &str) -> Identity {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let key = rcgen::KeyPair::generate().unwrap();
    let c = params.self_signed(&key).unwrap();
    (
        vec![c.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

/// A ClientHello offering TLS 1.2 only (no `supported_versions`): ECDHE-AES128-GCM suites,
/// X25519 and P-256, ECDSA P-256 and RSA-PSS signatures.
fn tls12_client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0x5a; 32]); // random
    body.push(0); // no session id
    body.extend_from_slice(&[0x00, 0x04, 0xc0, 0x2b, 0xc0, 0x2f]);
    body.extend_from_slice(&[0x01, 0x00]); // null compression
    let extensions: &[u8] = &[
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17, // supported_groups
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // ec_point_formats
        0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04, // signature_algorithms
    ];
    body.extend_from_slice(&u16::try_from(extensions.len()).unwrap().to_be_bytes());
    body.extend_from_slice(extensions);
    let len = u32::try_from(body.len()).unwrap().to_be_bytes();
    let mut handshake = vec![0x01, len[1], len[2], len[3]];
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap().to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

#[tokio::test]
async fn handshakes_without_a_certificate_of_a_configured_ca_get_no_answer() {
    let node = Node::start(REGION);
    let mut tail = AuditTail::new(&node).await;
    let tls13: &[&'static rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

    // The control: the same raw request with the bureau's certificate is answered.
    let ok = raw_get(
        &node,
        tls_client_config(REGION, tls13, Some(demo_identity(REGION, "370900-bureau"))),
    )
    .await
    .unwrap();
    assert!(ok.starts_with(b"HTTP/1.1 200"), "{}", text(&ok));

    assert_no_answer(
        "no client certificate",
        raw_get(&node, tls_client_config(REGION, tls13, None)).await,
    );
    assert_no_answer(
        "a self-signed certificate",
        raw_get(
            &node,
            tls_client_config(REGION, tls13, Some(self_signed("370900-bureau"))),
        )
        .await,
    );
    assert_no_answer(
        "a certificate of a CA with the region CA's name but another key",
        raw_get(
            &node,
            tls_client_config(REGION, tls13, Some(impostor(REGION, "370900-bureau"))),
        )
        .await,
    );
    assert_no_answer(
        "a certificate of another region's CA",
        raw_get(
            &node,
            tls_client_config(
                REGION,
                tls13,
                Some(demo_identity("370115", "370115-bureau")),
            ),
        )
        .await,
    );
    // TLS 1.2 is not offered: a 1.2-only ClientHello gets an alert or a close, no ServerHello.
    let addr = node.url.strip_prefix("https://").unwrap();
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&tls12_client_hello()).await.unwrap();
    let mut first = [0u8; 1];
    let got = tokio::time::timeout(Duration::from_secs(15), tcp.read(&mut first))
        .await
        .expect("an answer or a close within 15 s");
    match got {
        Ok(0) => eprintln!("TLS 1.2: closed"),
        Err(e) => eprintln!("TLS 1.2: {e}"),
        Ok(_) => {
            assert_eq!(
                first[0], 0x15,
                "want a TLS alert record, got type {}",
                first[0]
            );
            eprintln!("TLS 1.2: alert");
        }
    }
    // None of them reached the application: nothing was recorded.
    tail.none().await;
    // And the node still serves.
    let mut window = node.window();
    let r = send(&mut window, "GET", "/healthz", None).await;
    assert_eq!(json_of(&r, 200)["status"], "ok");
}

#[test]
fn a_config_with_a_bad_key_exits_2_naming_the_key() {
    let node_pem = p(&cert_path(REGION, "node.pem")).to_owned();
    let node_key = p(&cert_path(REGION, "node.key")).to_owned();
    let signer_pem = p(&cert_path(REGION, "signer.pem")).to_owned();
    type Edit = Box<dyn Fn(String, &Path) -> String>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "`tls.cert`",
            Box::new({
                let node_pem = node_pem.clone();
                move |c, d| {
                    replace_once(
                        &c,
                        &format!("cert = {node_pem:?}"),
                        &format!("cert = {:?}", p(&d.join("missing.pem"))),
                    )
                }
            }),
        ),
        (
            "`node.listen`",
            Box::new(|c, _| {
                replace_once(
                    &c,
                    "listen = \"127.0.0.1:0\"",
                    "listen = \"localhost:8443\"",
                )
            }),
        ),
        (
            "`colour`",
            Box::new(|c, _| replace_once(&c, "[node]\n", "[node]\ncolour = \"red\"\n")),
        ),
        (
            "`departments[0].roles`",
            Box::new(|c, _| {
                replace_once(
                    &c,
                    "roles = [\"issuer\", \"portal\", \"auditor\"]",
                    "roles = [\"issuer\", \"admin\"]",
                )
            }),
        ),
        (
            "`limits.body_ms`",
            Box::new(|c, _| replace_once(&c, "body_ms = 10000", "body_ms = 0")),
        ),
        (
            "`limits.audit_read_bytes`",
            Box::new(|c, _| {
                replace_once(
                    &c,
                    "audit_read_bytes = 8388608",
                    "audit_read_bytes = 16777217",
                )
            }),
        ),
        (
            "`(syntax)`",
            Box::new(|c, _| replace_once(&c, "[limits]", "[limits")),
        ),
        (
            // The server key is a certificate, not a key: found when the key is loaded.
            "`tls`",
            Box::new({
                let node_pem = node_pem.clone();
                move |c, _| {
                    replace_once(
                        &c,
                        &format!("key = {node_key:?}"),
                        &format!("key = {node_pem:?}"),
                    )
                }
            }),
        ),
        (
            // The licence signer is the node's TLS certificate.
            "`signer",
            Box::new(move |c, _| {
                replace_once(
                    &c,
                    &format!("cert = {signer_pem:?}"),
                    &format!("cert = {node_pem:?}"),
                )
            }),
        ),
    ];
    for (key, edit) in cases {
        let out = serve_with(REGION, edit);
        let err = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{key}: exit status; stderr:\n{err}"
        );
        assert!(err.contains("config: "), "{key}: {err}");
        assert!(err.contains(key), "{key} not named in:\n{err}");
        assert!(!err.contains("panicked"), "{key}: a panic:\n{err}");
        assert!(!text(&out.stdout).contains("listening on"), "{key}");
    }
}

/// A data directory that cannot be made is named with the operating system's reason in
/// words, never in a debugging form (`Os { code: 20, … }`).
#[test]
fn a_data_directory_that_cannot_be_made_is_named_in_words() {
    let out = serve_with(REGION, |c, dir| {
        let file = dir.join("a-file");
        std::fs::write(&file, b"not a directory").unwrap();
        let data = dir.join("data");
        replace_once(
            &c,
            &format!("data_dir = {:?}", p(&data)),
            &format!("data_dir = {:?}", p(&file.join("data"))),
        )
    });
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`node.data_dir`")
            && err.contains("a-file/data: cannot make the data directory: Not a directory"),
        "{err}"
    );
    assert!(!err.contains("Os {") && !err.contains("kind:"), "{err}");
}

#[tokio::test]
async fn a_second_node_on_a_busy_address_or_data_directory_exits_2() {
    let node = Node::start(REGION);
    let addr = node.url.strip_prefix("https://").unwrap().to_owned();
    // The same address, another data directory.
    let out = serve_with(REGION, |c, _| {
        replace_once(
            &c,
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"{addr}\""),
        )
    });
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`node.listen`"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The same data directory (and state file), another port.
    let text_cfg = std::fs::read_to_string(&node.config).unwrap();
    let out = serve_with(REGION, |_, _| text_cfg.clone());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`node.data_dir`"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The first node is unharmed.
    let mut window = node.window();
    let r = send(&mut window, "GET", "/healthz", None).await;
    assert_eq!(r.status, 200);
}

fn audit_verify(data_dir: &Path) -> Output {
    zz(&[
        "audit",
        "verify",
        "--data-dir",
        p(data_dir),
        "--vkey",
        p(&cert_path(REGION, "audit.vkey")),
    ])
}

#[tokio::test]
async fn a_restart_keeps_licences_and_continues_the_log() {
    let mut node = Node::start(REGION);
    let mut bureau = node.bureau();
    let (id, _) = issue(&mut bureau, &fixture_request(REGION)).await;
    let r = set_status(&mut bureau, &id, "suspended").await;
    json_of(&r, 200);
    let (suspend_index, suspend_leaf) = receipt(&r).unwrap();
    let (_, before) = checkpoint(&node, &mut bureau, suspend_index + 1).await;
    drop(bureau);

    let status = node.stop();
    assert!(
        status.success(),
        "exit {status}; stderr:\n{}",
        node.stderr()
    );
    assert!(
        node.stderr().contains("final checkpoint signed"),
        "{}",
        node.stderr()
    );
    let out = audit_verify(&node.data_dir);
    assert!(
        out.status.success(),
        "audit verify on the stopped node: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    node.restart();
    let mut tail = AuditTail::new(&node).await;
    let mut bureau = node.bureau();
    // The licence and its history are there.
    let (v, _) = tail
        .get(
            &mut bureau,
            &status_path(&id),
            (200, "licence.status_read", "ok"),
        )
        .await;
    assert_eq!(v["status"], "suspended");
    assert_eq!(v["history"].as_array().unwrap().len(), 2);
    // It can still change.
    let (v, _) = tail
        .post(
            &mut bureau,
            &status_path(&id),
            &json!({"status": "active", "reason": "整改完毕"}),
            (200, "licence.status", "ok"),
        )
        .await;
    assert_eq!(v["history"].as_array().unwrap().len(), 3);

    // The log continues: one log, indexes in sequence, node.stop then node.start.
    let (all, _) = tail.read(Some(0), None).await;
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.index, i as u64);
    }
    let starts: Vec<u64> = all
        .iter()
        .filter(|e| e.action() == "node.start")
        .map(|e| e.index)
        .collect();
    assert_eq!(starts.len(), 2, "two starts");
    assert_eq!(starts[0], 0);
    let stop = &all[usize::try_from(starts[1]).unwrap() - 1];
    assert_eq!(stop.action(), "node.stop");
    assert_eq!(stop.entry["actor"]["id"], "zhengzhao-370900");
    assert!(starts[1] > suspend_index);
    assert_eq!(
        all[usize::try_from(suspend_index).unwrap()].leaf_b64(),
        suspend_leaf
    );

    // The new checkpoints extend the old one, and still include the old receipt.
    let (_, after) = checkpoint(&node, &mut bureau, starts[1] + 1).await;
    let r = send(
        &mut bureau,
        "GET",
        &format!(
            "/v1/audit/proof/consistency?from={}&to={}",
            before.size, after.size
        ),
        None,
    )
    .await;
    let proof: Vec<_> = json_of(&r, 200)["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hash_b64(h.as_str().unwrap()))
        .collect();
    merkle::verify_consistency(before.size, after.size, &proof, &before.root, &after.root).unwrap();
    let r = send(
        &mut bureau,
        "GET",
        &format!(
            "/v1/audit/proof/inclusion?index={suspend_index}&size={}",
            after.size
        ),
        None,
    )
    .await;
    let proof: Vec<_> = json_of(&r, 200)["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hash_b64(h.as_str().unwrap()))
        .collect();
    merkle::verify_inclusion(
        &hash_b64(&suspend_leaf),
        suspend_index,
        after.size,
        &proof,
        &after.root,
    )
    .unwrap();

    drop(bureau);
    drop(tail);
    let status = node.stop();
    assert!(
        status.success(),
        "exit {status}; stderr:\n{}",
        node.stderr()
    );
    let out = audit_verify(&node.data_dir);
    assert!(
        out.status.success(),
        "audit verify after the second stop: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn replay(node: &Node, state: &Path, vkey: &Path) -> Output {
    zz(&[
        "audit",
        "replay",
        "--node",
        &node.url,
        "--cert",
        p(&cert_path(REGION, "370900-bureau.pem")),
        "--key",
        p(&cert_path(REGION, "370900-bureau.key")),
        "--ca",
        p(&cert_path(REGION, "tls-ca.pem")),
        "--vkey",
        p(vkey),
        "--state",
        p(state),
    ])
}

/// [`replay`], which must exit 0.
fn replay_ok(node: &Node, state: &Path, vkey: &Path) -> Output {
    let out = replay(node, state, vkey);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

fn read_state(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A state file of `size` entries whose peaks are not the node's.
fn forged_state(good: &Value, size: u64) -> Value {
    let mut range = CompactRange::new();
    for i in 0..size {
        range.push(
            merkle::leaf_hash(format!("forged {i}").as_bytes()),
            |_, _| {},
        );
    }
    let mut state = good.clone();
    state["size"] = json!(size);
    state["root"] = json!(B64.encode(range.root()));
    state["peaks"] = json!(
        range
            .peaks()
            .iter()
            .map(|h| B64.encode(h))
            .collect::<Vec<_>>()
    );
    state
}

/// With a small `limits.audit_read_bytes`, an entries answer ends early (at least one entry,
/// within the limit, the entry saying where it ended) and the remote replay asks again from
/// there, verifying everything.
#[tokio::test]
async fn entries_answers_end_early_past_the_read_limit_and_the_replay_follows() {
    let node = Node::start_with(REGION, |c| {
        replace_once(&c, "audit_read_bytes = 8388608", "audit_read_bytes = 2048")
    });
    let mut bureau = node.bureau();
    for _ in 0..3 {
        issue(&mut bureau, &fixture_request(REGION)).await;
    }
    let (_, cp) = checkpoint(&node, &mut bureau, 4).await;
    let mut tail = AuditTail::new(&node).await;
    let (entries, index) = tail.read(Some(0), Some(cp.size)).await;
    assert!(!entries.is_empty());
    assert!(
        (entries.len() as u64) < cp.size,
        "{} of {}",
        entries.len(),
        cp.size
    );
    let bytes: usize = entries.iter().map(|e| e.line.len()).sum();
    assert!(bytes <= 2048 || entries.len() == 1, "{bytes} bytes");
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.index, i as u64);
    }
    let (read, _) = tail.read(Some(index), Some(index + 1)).await;
    assert_eq!(read[0].action(), "audit.read");
    assert_eq!(read[0].detail("sent_to"), &json!(entries.len()));

    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("auditor.json");
    replay_ok(&node, &state, &cert_path(REGION, "audit.vkey"));
    assert!(read_state(&state)["size"].as_u64().unwrap() >= cp.size);
}

#[tokio::test]
async fn remote_replay_follows_the_node_and_refuses_a_contradicted_state() {
    let node = Node::start(REGION);
    let mut bureau = node.bureau();
    let vkey = cert_path(REGION, "audit.vkey");
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("auditor.json");
    issue(&mut bureau, &fixture_request(REGION)).await;
    let (_, cp) = checkpoint(&node, &mut bureau, 2).await;

    // First run: everything up to the checkpoint.
    let out = replay_ok(&node, &state, &vkey);
    let first = read_state(&state);
    let size1 = first["size"].as_u64().unwrap();
    assert!(size1 >= cp.size);
    assert!(
        text(&out.stdout).contains(&format!("entries [0, {size1}) new")),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(first["origin"], "zhengzhao/370900");

    // More happens; the second run continues from the state.
    issue(&mut bureau, &fixture_request(REGION)).await;
    checkpoint(&node, &mut bureau, size1 + 1).await;
    let out = replay_ok(&node, &state, &vkey);
    let second = read_state(&state);
    let size2 = second["size"].as_u64().unwrap();
    assert!(size2 > size1);
    assert!(
        text(&out.stdout).contains(&format!("entries [{size1}, {size2}) new")),
        "{}",
        text(&out.stdout)
    );
    // Its root is the root of the entries the node serves.
    let mut tail = AuditTail::new(&node).await;
    let (entries, _) = tail.read(Some(0), Some(size2)).await;
    let mut range = CompactRange::new();
    for e in &entries {
        range.push(merkle::leaf_hash(&e.line), |_, _| {});
    }
    assert_eq!(second["root"], B64.encode(range.root()).as_str());

    // A state whose history the node's log does not extend: exit 1, naming the root.
    checkpoint(&node, &mut bureau, size2 + 1).await;
    let forged = work.path().join("forged.json");
    std::fs::write(&forged, forged_state(&second, size2).to_string()).unwrap();
    let out = replay(&node, &forged, &vkey);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("do not hash to the root"), "{said}");
    assert!(said.contains("rewrote history"), "{said}");
    assert_eq!(
        read_state(&forged),
        forged_state(&second, size2),
        "the state file is replaced only after a run that verified"
    );

    // A state larger than the node's log: the log shrank, exit 1.
    let (_, now) = checkpoint(&node, &mut bureau, 1).await;
    std::fs::write(&forged, forged_state(&second, now.size + 1000).to_string()).unwrap();
    let out = replay(&node, &forged, &vkey);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("shrank"), "{said}");

    // A checkpoint that does not open under the pinned key (another region's): exit 1.
    let out = replay(
        &node,
        &work.path().join("fresh.json"),
        &cert_path("370115", "audit.vkey"),
    );
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("does not verify under the pinned key"),
        "{said}"
    );
    assert!(!work.path().join("fresh.json").exists());

    // A state file whose root is not its peaks' is the auditor's own problem: exit 2.
    let mut broken = second.clone();
    broken["root"] = json!(B64.encode(merkle::leaf_hash(b"another root")));
    std::fs::write(&forged, broken.to_string()).unwrap();
    let out = replay(&node, &forged, &vkey);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("do not hash to the root"), "{said}");

    // The genuine state still replays.
    replay_ok(&node, &state, &vkey);
}

/// A node whose handshake, header and body deadlines are 300 ms.
fn impatient_node() -> Node {
    Node::start_with(REGION, |c| {
        let c = replace_once(&c, "handshake_ms = 10000", "handshake_ms = 300");
        let c = replace_once(&c, "header_ms = 10000", "header_ms = 300");
        replace_once(&c, "body_ms = 10000", "body_ms = 300")
    })
}

/// A TLS connection to the node as the window.
async fn window_tls(node: &Node) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let config = tls_client_config(
        REGION,
        &[&rustls::version::TLS13],
        Some(demo_identity(REGION, "370900-window")),
    );
    let addr = node.url.strip_prefix("https://").unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio_rustls::TlsConnector::from(config)
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap()
}

/// Everything the peer sends until it closes (or an error), within `limit`.
async fn read_until_closed(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    limit: Duration,
) -> Vec<u8> {
    let mut out = Vec::new();
    let r = tokio::time::timeout(limit, stream.read_to_end(&mut out)).await;
    assert!(
        r.is_ok(),
        "the node did not close the connection within {limit:?}"
    );
    out
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_refused_and_logged() {
    let node = impatient_node();
    let mut tail = AuditTail::new(&node).await;
    let mut tls = window_tls(&node).await;
    tls.write_all(
        b"POST /v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\nConnection: close\r\n\r\n{\"licence\": ",
    )
    .await
    .unwrap();
    tls.flush().await.unwrap();
    let answer = text(&read_until_closed(&mut tls, Duration::from_secs(10)).await);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["error"]["code"], "body_timeout");
    let e = tail.one("licence.verify", "body_timeout").await;
    assert_eq!(v["receipt"]["index"], e.index);
    assert_eq!(v["receipt"]["leaf_hash"], e.leaf_b64().as_str());
    assert_eq!(e.detail("status"), 408);
}

#[tokio::test]
async fn slow_or_silent_connections_are_closed_without_an_entry() {
    let node = impatient_node();
    let mut tail = AuditTail::new(&node).await;
    let addr = node.url.strip_prefix("https://").unwrap().to_owned();

    // Silent before the handshake.
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let got = read_until_closed(&mut tcp, Duration::from_secs(5)).await;
    assert!(got.is_empty(), "{}", text(&got));

    // A request line, then nothing.
    let mut tls = window_tls(&node).await;
    tls.write_all(b"GET /v1/openapi.json HTTP/1.1\r\n")
        .await
        .unwrap();
    tls.flush().await.unwrap();
    let got = text(&read_until_closed(&mut tls, Duration::from_secs(5)).await);
    assert!(got.is_empty(), "closed without an answer, got: {got}");

    tail.none().await;
    // An idle kept-alive connection of a client is closed after header_ms, and the client
    // opens a new one.
    let mut window = node.window();
    let r = send(&mut window, "GET", "/healthz", None).await;
    assert_eq!(r.status, 200);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let r = send(&mut window, "GET", "/healthz", None).await;
    assert_eq!(r.status, 200);
}

/// What a request for `/v1/openapi.json` with a head of about `kib` KiB gets.
async fn big_head(node: &Node, kib: usize) -> String {
    let mut tls = window_tls(node).await;
    let head = format!(
        "GET /v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         X-Padding: {}\r\n\r\n",
        "a".repeat(kib * 1024)
    );
    // The node may stop reading (and close) before all of it is written.
    let _ = tls.write_all(head.as_bytes()).await;
    let _ = tls.flush().await;
    let got = text(&read_until_closed(&mut tls, Duration::from_secs(10)).await);
    got.lines().next().unwrap_or("(closed)").to_owned()
}

/// docs/api.md, limits: a request head (line and headers) over 64 KiB is refused below the
/// application, 431 `head_too_large`, with a `request.unknown` entry for its caller.
#[tokio::test]
async fn a_request_head_over_64_kib_is_refused_with_an_entry() {
    let node = Node::start(REGION);
    let mut tail = AuditTail::new(&node).await;
    // Just under the limit: served, and recorded.
    let got = big_head(&node, 60).await;
    assert_eq!(got, "HTTP/1.1 200 OK");
    tail.one("api.describe", "ok").await;
    // Far over it, and over it by a little: refused, each with its entry (written once the
    // HTTP layer has closed the connection, for the largest).
    for kib in [200, 65, 70, 100] {
        let got = big_head(&node, kib).await;
        assert!(!got.starts_with("HTTP/1.1 2"), "a {kib} KiB head: {got}");
        let entries = entries_within(&mut tail, Duration::from_secs(10)).await;
        assert_eq!(entries.len(), 1, "a {kib} KiB head");
        assert_eq!(entries[0].action(), "request.unknown");
        assert_eq!(entries[0].outcome(), "head_too_large");
    }
}

/// A client that sends requests and never reads the answers loses its connection once an
/// answer has waited `limits.write_ms` for it: with one connection allowed, the next client is
/// then served. Without the deadline it would wait in the backlog for ever.
#[tokio::test]
async fn a_client_that_stops_reading_loses_its_connection() {
    let node = Node::start_with(REGION, |c| {
        let c = replace_once(&c, "max_connections = 1024", "max_connections = 1");
        replace_once(&c, "write_ms = 30000", "write_ms = 500")
    });
    let tls13: &[&'static rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
    let bureau = || tls_client_config(REGION, tls13, Some(demo_identity(REGION, "370900-bureau")));
    let addr: std::net::SocketAddr = node.url.strip_prefix("https://").unwrap().parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut stalled = tokio_rustls::TlsConnector::from(bureau())
        .connect(name, tcp)
        .await
        .unwrap();
    // A hundred answers of the OpenAPI description (about 15 MB), none of them read.
    let one = b"GET /v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    stalled.write_all(&one.repeat(100)).await.unwrap();
    stalled.flush().await.unwrap();

    let started = std::time::Instant::now();
    let ok = raw_get(&node, bureau()).await.unwrap();
    assert!(ok.starts_with(b"HTTP/1.1 200"), "{}", text(&ok));
    assert!(started.elapsed() < Duration::from_secs(15));
    drop(stalled);
}

/// A CRL of the demo CA `name` (`tls-ca`, `licence-root`) of this region, revoking nothing,
/// issued an hour before `next_update`.
fn crl_until(name: &str, next_update: time::OffsetDateTime) -> String {
    use zhengzhao::demo::{Ca, crl};
    let read = |f: &str| std::fs::read_to_string(cert_path(REGION, f)).unwrap();
    let ca = Ca::from_pem(&read(&format!("{name}.pem")), &read(&format!("{name}.key"))).unwrap();
    crl(
        &ca,
        &[],
        next_update - time::Duration::hours(1),
        next_update,
        7,
    )
    .unwrap()
}

/// A CRL that the CA it is given with did not issue would check nothing: the node refuses to
/// start on one (exit 2, naming the key and the CA's key), for a licence root and for a client
/// CA alike.
#[test]
fn a_crl_not_issued_by_its_ca_is_refused_at_start() {
    for (name, key, ca_key) in [
        ("licence-root", "`trust[0].crl`", "`trust[0].cert`"),
        (
            "tls-ca",
            "`tls.client_cas[0].crl`",
            "`tls.client_cas[0].cert`",
        ),
    ] {
        let ours = p(&cert_path(REGION, &format!("{name}.crl.pem"))).to_owned();
        let theirs = p(&cert_path("370115", &format!("{name}.crl.pem"))).to_owned();
        let out = serve_with(REGION, |c, _| {
            assert_eq!(c.matches(&ours).count(), 1, "{c}");
            c.replace(&ours, &theirs)
        });
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {err}");
        assert!(err.contains(key), "{key} not named in:\n{err}");
        assert!(
            err.contains(&format!(
                "{theirs}: issued by C=CN, O=济南市济阳区行政审批服务局, CN=济南市济阳区"
            )) && err.contains(&format!(
                "which is not the CA of {ca_key} (C=CN, O=泰安市行政审批服务局, CN=泰安市"
            )) && err.contains("it would check nothing"),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// A CRL past its `nextUpdate` cannot say what was revoked since: the node refuses to start on
/// one (exit 2, naming the key), and a client CA's CRL that goes stale while the node runs fails
/// the handshakes checked against it from then on.
#[tokio::test]
async fn stale_crls_are_refused_at_start_and_fail_handshakes_once_stale() {
    let past = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
    for (name, key) in [
        ("tls-ca", "`tls.client_cas[0].crl`"),
        ("licence-root", "`trust[0].crl`"),
    ] {
        let original = p(&cert_path(REGION, &format!("{name}.crl.pem"))).to_owned();
        let out = serve_with(REGION, |c, d| {
            let stale = d.join("stale.crl.pem");
            std::fs::write(&stale, crl_until(name, past)).unwrap();
            assert!(c.contains(&original), "{c}");
            c.replace(&original, p(&stale))
        });
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {err}");
        assert!(err.contains(key), "{key} not named in:\n{err}");
        assert!(err.contains("nextUpdate"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }

    // Fresh for a few more seconds: served, then refused.
    let until = time::OffsetDateTime::now_utc() + time::Duration::seconds(10);
    let tmp = tempfile::tempdir().unwrap();
    let crl_path = tmp.path().join("tls-ca.crl.pem");
    std::fs::write(&crl_path, crl_until("tls-ca", until)).unwrap();
    let original = p(&cert_path(REGION, "tls-ca.crl.pem")).to_owned();
    let node = Node::start_with(REGION, |c| c.replace(&original, p(&crl_path)));
    let tls13: &[&'static rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
    let bureau = || tls_client_config(REGION, tls13, Some(demo_identity(REGION, "370900-bureau")));
    let ok = raw_get(&node, bureau()).await.unwrap();
    assert!(ok.starts_with(b"HTTP/1.1 200"), "{}", text(&ok));
    let wait = until - time::OffsetDateTime::now_utc() + time::Duration::milliseconds(1500);
    tokio::time::sleep(Duration::from_millis(
        u64::try_from(wait.whole_milliseconds()).unwrap_or(0),
    ))
    .await;
    assert_no_answer(
        "a client CA whose CRL went stale",
        raw_get(&node, bureau()).await,
    );
}

/// The client CA's CRL is honoured: with a CRL revoking the window's certificate, the window's
/// handshake gets no answer while the bureau's, under the same CA, is served.
#[tokio::test]
async fn a_client_certificate_revoked_by_its_ca_crl_gets_no_answer() {
    use zhengzhao::demo::{Ca, crl, serial_from_pem};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("certs")
        .join(REGION);
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let ca = Ca::from_pem(&read("tls-ca.pem"), &read("tls-ca.key")).unwrap();
    let serial = serial_from_pem(&read("370900-window.pem")).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let revoking = crl(
        &ca,
        &[(serial, now - time::Duration::hours(1))],
        now - time::Duration::hours(1),
        now + time::Duration::days(30),
        2,
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let crl_path = tmp.path().join("tls-ca.crl.pem");
    std::fs::write(&crl_path, revoking).unwrap();
    let original = dir.join("tls-ca.crl.pem").to_string_lossy().into_owned();
    let node = Node::start_with(REGION, |config| {
        assert!(config.contains(&original), "{config}");
        config.replace(&original, &crl_path.to_string_lossy())
    });
    let tls13: &[&'static rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
    let ok = raw_get(
        &node,
        tls_client_config(REGION, tls13, Some(demo_identity(REGION, "370900-bureau"))),
    )
    .await
    .unwrap();
    assert!(ok.starts_with(b"HTTP/1.1 200"), "{}", text(&ok));
    assert_no_answer(
        "a revoked client certificate",
        raw_get(
            &node,
            tls_client_config(REGION, tls13, Some(demo_identity(REGION, "370900-window"))),
        )
        .await,
    );
}
