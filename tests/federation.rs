#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Federation between real nodes of the four demo regions on loopback: cross-region lookups
//! with consent, partners down or slow, live status from the issuing partner, recognition at
//! signing time, a partner answering with another region's licence or another holder's, a
//! client hanging up mid-lookup, a slow partner beside state changes, trust lists (revocation,
//! rollback, equivocation, a signer not listed), and witnessing with fork detection.

#[allow(dead_code)] // uses only part of the shared support
mod node_support;

use std::time::{Duration, Instant};

use node_support::*;
use serde_json::{Value, json};
use zhengzhao::audit::note::CosignatureVerifier;
use zhengzhao::node::client::Client;

/// Every entry of `node`'s log so far, read by its bureau (an auditor).
async fn entries(node: &Node) -> Vec<Logged> {
    let mut tail = AuditTail::new(node).await;
    tail.read(Some(0), None).await.0
}

/// Waits (up to 20 s) until `node`'s log has an entry that `pick` accepts; returns it.
async fn wait_for_entry(node: &Node, what: &str, pick: impl Fn(&Logged) -> bool) -> Logged {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(e) = entries(node).await.into_iter().rev().find(|e| pick(e)) {
            return e;
        }
        assert!(
            Instant::now() < deadline,
            "no entry {what} in {}'s log within 20 s",
            node.region
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Asserts the entry's actor is the node of `region`, by its node certificate.
fn assert_node_actor(e: &Logged, region: &str) {
    let a = &e.entry["actor"];
    assert_eq!(
        a["id"],
        json!(format!("zhengzhao-{region}")),
        "{}",
        e.text()
    );
    assert_eq!(a["region"], json!(region), "{}", e.text());
    assert_eq!(
        a["cert_sha256"],
        json!(cert_sha256(region, "node.pem")),
        "{}",
        e.text()
    );
}

/// A config edit: the lookup deadline set to `ms`.
fn lookup_deadline(ms: u32) -> impl FnOnce(String) -> String {
    move |c| {
        replace_once(
            &c,
            "lookup_deadline_ms = 3000",
            &format!("lookup_deadline_ms = {ms}"),
        )
    }
}

/// `config` with `from` replaced by `to` in the `[[partners]]` entry of `region`.
fn edit_partner(config: &str, region: &str, from: &str, to: &str) -> String {
    let at = config
        .find(&format!("[[partners]]\nregion = \"{region}\""))
        .unwrap_or_else(|| panic!("no partner {region} in the config"));
    let (head, tail) = config.split_at(at);
    format!("{head}{}", replace_once(tail, from, to))
}

fn person_lookup(consent: Option<&str>, regions: Value) -> Value {
    let mut v = json!({
        "holder": {"type": "111", "code": PERSON},
        "matter": CONSENT,
        "purpose": "跨省通办：资格核验",
        "case": "KS-2026-0001",
        "mode": "consent",
        "regions": regions,
    });
    if let Some(c) = consent {
        v["consent"] = json!(c);
    }
    v
}

/// The holder (type and code) of fixtures/requests/<region>.json.
fn holder_of(region: &str) -> Value {
    let h = &fixture_request(region)["holder"];
    json!({"type": h["type"], "code": h["code"]})
}

async fn verify(client: &mut Client, licence: &str) -> Value {
    let r = send(
        client,
        "POST",
        "/v1/verify",
        Some(&json!({"licence": licence, "purpose": "跨域核验"})),
    )
    .await;
    json_of(&r, 200)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cross_region_lookup_with_consent_between_four_nodes() {
    let mesh = Mesh::new();
    let taian = mesh.start("370900", |c| c);
    let jiyang = mesh.start("370115", |c| c);
    let yuncheng = mesh.start("140802", |c| c);
    let zhoucun = mesh.start("370306", |c| c);

    // 运城 issues a person's licence; its portal records the holder's consent for 泰安's window.
    let (id, _token) = issue(&mut yuncheng.bureau(), &person_request(PERSON)).await;
    let r = send(
        &mut yuncheng.bureau(),
        "POST",
        "/v1/consents",
        Some(&json!({
            "holder": {"type": "111", "code": PERSON},
            "grantee": "370900-window",
            "grantee_region": "370900",
            "type_codes": [PERSON_TYPE],
            "uses": 1
        })),
    )
    .await;
    let consent = json_of(&r, 201)["consent_id"].as_str().unwrap().to_owned();

    // 泰安's window asks every region: 运城 has the licence, the others have nothing.
    let mut window = taian.window();
    let r = send(
        &mut window,
        "POST",
        "/v1/lookups",
        Some(&person_lookup(Some(&consent), json!("all"))),
    )
    .await;
    let v = json_of(&r, 200);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{v}");
    assert_eq!(results[0]["id"], json!(id));
    assert_eq!(results[0]["region"], json!("140802"));
    assert_eq!(results[0]["status"], json!("active"));
    let copy = results[0]["usage_copy"]
        .as_str()
        .expect("a usage copy")
        .to_owned();
    // 济阳 and 周村 hold no consent for this holder: each says so, in `partial`.
    let partial = v["partial"].as_array().unwrap();
    let mut failed: Vec<(String, String)> = partial
        .iter()
        .map(|p| {
            (
                p["region"].as_str().unwrap().to_owned(),
                p["error"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        vec![
            ("370115".to_owned(), "consent_not_found".to_owned()),
            ("370306".to_owned(), "consent_not_found".to_owned()),
            ("370900".to_owned(), "consent_not_found".to_owned()),
        ],
        "{v}"
    );

    // The home node logged the forwarding, with the results per region.
    let (index, _) = receipt(&r).expect("a receipt");
    let home = entries(&taian).await;
    let e = home.iter().find(|e| e.index == index).expect("the entry");
    assert_eq!(e.action(), "federation.forward");
    assert_eq!(e.outcome(), "partial");
    assert_eq!(e.detail("results")[0]["region"], json!("140802"));
    assert!(!e.text().contains(PERSON), "no ID number in the entry");

    // 运城 logged the access: the forwarding node, on behalf of the department.
    let e = wait_for_entry(&yuncheng, "licence.lookup by 泰安's node", |e| {
        e.action() == "licence.lookup" && e.outcome() == "ok"
    })
    .await;
    assert_node_actor(&e, "370900");
    assert_eq!(
        e.detail("on_behalf_of"),
        &json!({"department": "370900-window", "region": "370900"})
    );
    assert!(!e.text().contains(PERSON), "no ID number in the entry");

    // The usage copy verifies at home, with live status from 运城.
    let v = verify(&mut window, &copy).await;
    assert_eq!(v["outcome"], json!("valid"), "{v}");
    assert_eq!(v["status"], json!("active"));
    assert_eq!(v["usage_copy"]["for"], json!("370900/370900-window"));
    let e = wait_for_entry(&yuncheng, "a status read by 泰安's node", |e| {
        e.action() == "licence.status_read"
    })
    .await;
    assert_node_actor(&e, "370900");

    // The consent had one use: the next lookup is refused by 运城.
    let r = send(
        &mut window,
        "POST",
        "/v1/lookups",
        Some(&person_lookup(Some(&consent), json!(["140802"]))),
    )
    .await;
    let v = json_of(&r, 200);
    assert_eq!(v["results"], json!([]));
    assert_eq!(
        v["partial"],
        json!([{"region": "140802", "error": "consent_used_up"}])
    );

    // A region that is neither this one nor a partner is refused as a whole.
    let r = send(
        &mut window,
        "POST",
        "/v1/lookups",
        Some(&person_lookup(Some(&consent), json!(["110105"]))),
    )
    .await;
    assert_eq!(error_code(&r, 400), "unknown_region");

    // A department (not a partner's node) may not use the forwarding endpoint itself.
    let r = send(
        &mut yuncheng.client_with(
            &cert_path("370900", "370900-window.pem"),
            &cert_path("370900", "370900-window.key"),
        ),
        "POST",
        "/v1/federation/lookups",
        Some(
            &json!({"department": "370900-window", "holder": {"type": "111", "code": PERSON},
                     "matter": CONSENT, "purpose": "直接调用", "consent": consent,
                     "case": "KS-2026-0002", "mode": "consent"}),
        ),
    )
    .await;
    assert_eq!(error_code(&r, 403), "forbidden_role");
    drop((jiyang, zhoucun));
}

#[tokio::test(flavor = "multi_thread")]
async fn partners_down_or_slow_give_partial_results_within_the_deadline() {
    let mesh = Mesh::new();
    // 济阳 is slow: something holds its port and never answers. 周村 is down.
    let slow = std::net::TcpListener::bind(mesh.addr("370115")).unwrap();
    let yuncheng = mesh.start("140802", |c| c);
    let taian = mesh.start("370900", lookup_deadline(1500));
    let org = holder_of("140802");
    issue(&mut yuncheng.bureau(), &fixture_request("140802")).await;

    let started = Instant::now();
    let r = send(
        &mut taian.window(),
        "POST",
        "/v1/lookups",
        Some(
            &json!({"holder": org, "matter": STATUTORY, "purpose": "跨省通办", "regions": "all",
            "case": "KS-2026-0003", "mode": "duty"}),
        ),
    )
    .await;
    let took = started.elapsed();
    let v = json_of(&r, 200);
    assert_eq!(v["results"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["results"][0]["region"], json!("140802"));
    let mut partial: Vec<String> = v["partial"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}:{}",
                p["region"].as_str().unwrap(),
                p["error"].as_str().unwrap()
            )
        })
        .collect();
    partial.sort();
    assert_eq!(
        partial,
        vec!["370115:deadline", "370306:unreachable"],
        "{v}"
    );
    // One deadline for all: the answer does not wait for the slow partner past it.
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_millis(1500 + 2000),
        "took {took:?} with a 1.5 s deadline"
    );
    drop(slow);
}

/// A department that hangs up while its lookup waits for a partner does not take the lookup out
/// of the log: it is logged as abandoned, with what was asked.
#[tokio::test(flavor = "multi_thread")]
async fn a_lookup_whose_client_hangs_up_is_still_logged() {
    let mesh = Mesh::new();
    // 济阳 is slow: something holds its port and never answers.
    let slow = std::net::TcpListener::bind(mesh.addr("370115")).unwrap();
    let taian = mesh.start("370900", lookup_deadline(1500));
    let purpose = "跨省通办：中途挂断";
    let body = json!({"holder": holder_of("370900"), "matter": STATUTORY, "purpose": purpose, "case": "KS-2026-0004", "mode": "duty",
                      "regions": ["370115"]});
    let mut window = taian.window();
    let asked = send(&mut window, "POST", "/v1/lookups", Some(&body));
    assert!(
        tokio::time::timeout(Duration::from_millis(500), asked)
            .await
            .is_err(),
        "answered before the slow partner's deadline"
    );
    // The department hangs up while its lookup waits for 济阳.
    drop(window);
    let e = wait_for_entry(&taian, "for the lookup of a client that hung up", |e| {
        e.entry["purpose"] == json!(purpose)
    })
    .await;
    assert_eq!(e.action(), "federation.forward", "{}", e.text());
    assert_eq!(e.outcome(), "abandoned", "{}", e.text());
    assert_eq!(e.detail("regions"), &json!(["370115"]), "{}", e.text());
    assert!(e.entry["holder"].is_string(), "{}", e.text());
    // One entry for it, not a second one when the partner's deadline passes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let logged = entries(&taian).await;
    assert_eq!(
        logged
            .iter()
            .filter(|e| e.entry["purpose"] == json!(purpose))
            .count(),
        1
    );
    drop(slow);
}

/// A lookup that spends a consent here does not hold the node's state lock while it waits for a
/// slow partner: a status change made meanwhile is answered first, and the lookup's own part,
/// run after the partners, sees it.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_partner_does_not_hold_up_state_changes() {
    let mesh = Mesh::new();
    let slow = std::net::TcpListener::bind(mesh.addr("370115")).unwrap();
    let taian = mesh.start("370900", lookup_deadline(4000));
    let mut bureau = taian.bureau();
    let (id, _) = issue(&mut bureau, &person_request(PERSON)).await;
    let consent = grant(&mut bureau, PERSON, "370900-window", None).await;

    let mut window = taian.window();
    let lookup = tokio::spawn(async move {
        let r = send(
            &mut window,
            "POST",
            "/v1/lookups",
            Some(&person_lookup(Some(&consent), json!(["370900", "370115"]))),
        )
        .await;
        (Instant::now(), r)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = set_status(&mut bureau, &id, "suspended").await;
    let changed = Instant::now();
    json_of(&r, 200);
    let (answered, r) = lookup.await.unwrap();
    let v = json_of(&r, 200);
    assert!(
        changed < answered,
        "the status change was answered {:?} after the lookup: it waited for the lock",
        changed - answered
    );
    assert_eq!(v["results"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["results"][0]["id"], json!(id), "{v}");
    assert_eq!(v["results"][0]["status"], json!("suspended"), "{v}");
    assert_eq!(
        v["partial"],
        json!([{"region": "370115", "error": "deadline"}]),
        "{v}"
    );
    drop(slow);
}

#[tokio::test(flavor = "multi_thread")]
async fn live_status_comes_from_the_issuing_partner() {
    let mesh = Mesh::new();
    let mut yuncheng = mesh.start("140802", |c| c);
    let taian = mesh.start("370900", |c| c);
    let (id, token) = issue(&mut yuncheng.bureau(), &fixture_request("140802")).await;
    let mut window = taian.window();

    let v = verify(&mut window, &token).await;
    assert_eq!(
        (v["outcome"].as_str(), v["status"].as_str()),
        (Some("valid"), Some("active")),
        "{v}"
    );

    let r = set_status(&mut yuncheng.bureau(), &id, "revoked").await;
    json_of(&r, 200);
    let v = verify(&mut window, &token).await;
    assert_eq!(v["outcome"], json!("revoked"), "{v}");
    assert_eq!(v["status"], json!("revoked"));

    // The partner cannot be reached: the status is unknown, never valid.
    yuncheng.stop();
    let started = Instant::now();
    let v = verify(&mut window, &token).await;
    assert_eq!(v["outcome"], json!("status_unknown"), "{v}");
    assert_eq!(v["status"], json!("unknown"));
    assert!(started.elapsed() < Duration::from_millis(1500 + 2000));
}

#[tokio::test(flavor = "multi_thread")]
async fn recognition_is_judged_at_the_signing_time_and_by_type() {
    let mesh = Mesh::new();
    let yuncheng = mesh.start("140802", |c| c);
    // 泰安 recognises 运城's person licences since 2026; every other type only from tomorrow.
    let tomorrow = zhengzhao::licence::verify::rfc3339(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 86_400,
    );
    let taian = mesh.start("370900", |c| {
        let from = "recognition = [{ types = [\"*\"], from = \"2026-01-01T00:00:00+08:00\" }]";
        edit_partner(
            &c,
            "140802",
            from,
            &format!(
                "recognition = [{{ types = [\"{PERSON_TYPE}\"], from = \"2026-01-01T00:00:00+08:00\" }}, \
                 {{ types = [\"*\"], from = \"{tomorrow}\" }}]"
            ),
        )
    });
    // An organisation's licence (the type of the 泰安 fixture), issued by 运城.
    let (_, org_token) = issue(&mut yuncheng.bureau(), &fixture_request("370900")).await;
    let (_, person_token) = issue(&mut yuncheng.bureau(), &person_request(PERSON)).await;
    let mut window = taian.window();

    let v = verify(&mut window, &org_token).await;
    assert_eq!(v["outcome"], json!("not_recognised"), "{v}");
    assert_eq!(v["status"], json!("not_checked"));
    let v = verify(&mut window, &person_token).await;
    assert_eq!(v["outcome"], json!("valid"), "{v}");

    // A lookup drops what is not recognised, and logs it.
    let e = emptied_lookup_at_yuncheng(&taian, &mut window, holder_of("370900"), None).await;
    assert_eq!(e.detail("dropped")[0]["outcome"], json!("not_recognised"));
}

/// A statutory lookup, forwarded to 运城, of the organisation holding `region`'s fixture
/// licence, whose results all were dropped at home: checks the answer is empty and the entry
/// a `partial` `federation.forward`, and returns the entry.
async fn emptied_lookup_at_yuncheng(
    home: &Node,
    window: &mut Client,
    holder: Value,
    type_code: Option<&str>,
) -> Logged {
    let mut ask = json!({"holder": holder, "matter": STATUTORY, "purpose": "跨省通办",
        "case": "KS-2026-0005", "mode": "duty",
                         "regions": ["140802"]});
    if let Some(t) = type_code {
        ask["type_code"] = json!(t);
    }
    let r = send(window, "POST", "/v1/lookups", Some(&ask)).await;
    let v = json_of(&r, 200);
    assert_eq!(v["results"], json!([]), "{v}");
    let (index, _) = receipt(&r).unwrap();
    let e = entries(home)
        .await
        .into_iter()
        .find(|e| e.index == index)
        .unwrap();
    assert_eq!(e.action(), "federation.forward");
    assert_eq!(e.outcome(), "partial");
    e
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_answering_with_another_regions_licence_is_refused_and_logged() {
    let mesh = Mesh::new();
    let zhoucun = mesh.start("370306", |c| c);
    // 泰安's entry for 运城 points at 周村's node (and trusts its TLS CA): whatever answers as
    // 运城 there answers with licences signed under 周村's name.
    let zhoucun_url = format!("https://{}", mesh.addr("370306"));
    let yuncheng_url = format!("https://{}", mesh.addr("140802"));
    let taian = mesh.start("370900", |c| {
        let c = edit_partner(&c, "140802", &yuncheng_url, &zhoucun_url);
        let c = edit_partner(
            &c,
            "140802",
            &format!("{}/140802/tls-ca.pem", p(&certs())),
            &format!("{}/370306/tls-ca.pem", p(&certs())),
        );
        // With its CRL: a CRL of another CA is refused at start.
        edit_partner(
            &c,
            "140802",
            &format!("{}/140802/tls-ca.crl.pem", p(&certs())),
            &format!("{}/370306/tls-ca.crl.pem", p(&certs())),
        )
    });
    issue(&mut zhoucun.bureau(), &fixture_request("370306")).await;
    let e =
        emptied_lookup_at_yuncheng(&taian, &mut taian.window(), holder_of("370306"), None).await;
    let dropped = &e.detail("dropped")[0];
    assert_eq!(dropped["region"], json!("140802"));
    assert_eq!(dropped["outcome"], json!("wrong_region"), "{}", e.text());
}

/// Answers every request on `addr` with `answer` (200, JSON), under 运城's node certificate and
/// accepting 泰安's node: a partner that says whatever it likes. One request per connection.
async fn fake_yuncheng(addr: &str, answer: &Value) -> tokio::task::JoinHandle<()> {
    fake_yuncheng_answering(addr, "200 OK", answer).await
}

/// [`fake_yuncheng`] with another HTTP status (`"403 Forbidden"`).
async fn fake_yuncheng_answering(
    addr: &str,
    status: &str,
    answer: &Value,
) -> tokio::task::JoinHandle<()> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let region = "370900".parse().unwrap();
    let (config, _) = zhengzhao::node::tls::server_config(
        &cert_path("140802", "node.pem"),
        &cert_path("140802", "node.key"),
        &[(cert_path("370900", "tls-ca.pem"), None, region)],
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let body = answer.to_string();
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, response) = (acceptor.clone(), response.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                // The head, then as many bytes as its content-length says.
                let mut got = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|n| n.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if got.len() >= end + 4 + length {
                            break;
                        }
                    }
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    })
}

/// A partner answering with a genuine licence of its own region, but of another holder than the
/// one asked about (or with a usage copy made for another purpose), is refused and logged.
#[tokio::test(flavor = "multi_thread")]
async fn a_partner_answering_about_another_holder_is_refused_and_logged() {
    let mesh = Mesh::new();
    let mut yuncheng = mesh.start("140802", |c| c);
    let taian = mesh.start("370900", |c| c);
    let mut window = taian.window();
    // 运城 holds a licence of another holder; 泰安's window gets it, with a usage copy,
    // by a genuine lookup.
    let mut other = fixture_request("140802");
    other["holder"]["code"] = json!(OTHER_PERSON);
    issue(&mut yuncheng.bureau(), &other).await;
    let other_holder = json!({"type": other["holder"]["type"], "code": OTHER_PERSON});
    let r = send(
        &mut window,
        "POST",
        "/v1/lookups",
        Some(
            &json!({"holder": other_holder, "matter": STATUTORY, "purpose": "取证", "case": "KS-2026-0006", "mode": "duty",
                     "regions": ["140802"]}),
        ),
    )
    .await;
    let v = json_of(&r, 200);
    let mut item = v["results"][0].clone();
    assert!(item["usage_copy"].is_string(), "{v}");
    item.as_object_mut().unwrap().remove("region");
    let answer = json!({"results": [item], "partial": [], "receipt": {"index": 0}});

    // Now whatever answers as 运城 answers every lookup with that licence and copy.
    yuncheng.stop();
    let fake = fake_yuncheng(&mesh.addr("140802"), &answer).await;
    let e = emptied_lookup_at_yuncheng(&taian, &mut window, holder_of("140802"), None).await;
    let dropped = &e.detail("dropped")[0];
    assert_eq!(dropped["region"], json!("140802"));
    assert_eq!(dropped["outcome"], json!("wrong_holder"), "{}", e.text());
    // Asked about that holder, but for licences of another type.
    let e =
        emptied_lookup_at_yuncheng(&taian, &mut window, other_holder.clone(), Some(ORG_TYPE)).await;
    assert_eq!(
        e.detail("dropped")[0]["outcome"],
        json!("wrong_type"),
        "{}",
        e.text()
    );
    // Asked about that holder, but for another purpose than the copy was made for.
    let e = emptied_lookup_at_yuncheng(&taian, &mut window, other_holder, None).await;
    assert_eq!(
        e.detail("dropped")[0]["outcome"],
        json!("bad_usage_copy"),
        "{}",
        e.text()
    );
    assert!(
        !e.text().contains(OTHER_PERSON),
        "no ID number in the entry"
    );
    fake.abort();
}

/// The 50-result bound holds across regions: 30 licences here and 30 at 运城 of one holder give
/// 50 (here first), `more`, and the 10 left out counted by region in the entry. A partner
/// answering with more than 50 is refused whole; refusals beyond the first 16 are counted.
#[tokio::test(flavor = "multi_thread")]
async fn a_cross_region_lookup_answers_with_at_most_50_licences() {
    use zhengzhao::node::api::MAX_LOOKUP_RESULTS;
    let mesh = Mesh::new();
    let mut yuncheng = mesh.start("140802", |c| c);
    let taian = mesh.start("370900", |c| c);
    let mut window = taian.window();
    let holder = holder_of("370900");
    let (mut here, mut there) = (Vec::new(), Vec::new());
    for _ in 0..30 {
        here.push(
            issue(&mut taian.bureau(), &fixture_request("370900"))
                .await
                .0,
        );
        there.push(
            issue(&mut yuncheng.bureau(), &fixture_request("370900"))
                .await
                .0,
        );
    }
    let ask = json!({"holder": holder, "matter": STATUTORY, "purpose": "跨省通办",
        "case": "KS-2026-0007", "mode": "duty",
                     "regions": ["370900", "140802"]});
    let r = send(&mut window, "POST", "/v1/lookups", Some(&ask)).await;
    let v = json_of(&r, 200);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), MAX_LOOKUP_RESULTS, "{v}");
    assert_eq!(v["more"], json!(true));
    assert_eq!(v["partial"], json!([]));
    let regions: Vec<&str> = results
        .iter()
        .map(|r| r["region"].as_str().unwrap())
        .collect();
    assert!(regions[..30].iter().all(|r| *r == "370900"), "here first");
    assert!(regions[30..].iter().all(|r| *r == "140802"));
    let (index, _) = receipt(&r).unwrap();
    let e = entries(&taian)
        .await
        .into_iter()
        .find(|e| e.index == index)
        .unwrap();
    assert_eq!(e.action(), "federation.forward");
    assert_eq!(e.outcome(), "ok", "{}", e.text());
    assert_eq!(e.detail("more"), &json!(true));
    assert_eq!(e.detail("withheld"), &json!({"140802": 10}));
    assert_eq!(
        e.detail("results").as_array().unwrap().len(),
        MAX_LOOKUP_RESULTS
    );

    // Asked alone, 运城 answers with all 30.
    let ask_there = json!({"holder": holder, "matter": STATUTORY, "purpose": "跨省通办",
        "case": "KS-2026-0008", "mode": "duty",
                           "regions": ["140802"]});
    let v = json_of(
        &send(&mut window, "POST", "/v1/lookups", Some(&ask_there)).await,
        200,
    );
    assert_eq!(v["results"].as_array().unwrap().len(), 30);
    assert_eq!(v["more"], json!(false));
    let mut item = v["results"][0].clone();
    item.as_object_mut().unwrap().remove("region");

    // Whatever answers as 运城 now answers with 51 results: refused whole.
    yuncheng.stop();
    let many = vec![item.clone(); MAX_LOOKUP_RESULTS + 1];
    let fake = fake_yuncheng(
        &mesh.addr("140802"),
        &json!({"results": many, "more": false, "receipt": {"index": 0}}),
    )
    .await;
    let e = emptied_lookup_at_yuncheng(&taian, &mut window, holder.clone(), None).await;
    assert_eq!(
        e.detail("partial"),
        &json!([{"region": "140802", "error": "too_many_results"}]),
        "{}",
        e.text()
    );
    assert_eq!(
        e.detail("receipt_140802"),
        &json!(0),
        "the partner's entry is named"
    );
    fake.abort();
    let _ = fake.await; // the port is free again

    // One result and "more": passed on, and so is "more".
    let fake = fake_yuncheng(
        &mesh.addr("140802"),
        &json!({"results": [item.clone()], "more": true, "receipt": {"index": 0}}),
    )
    .await;
    let v = json_of(
        &send(&mut window, "POST", "/v1/lookups", Some(&ask_there)).await,
        200,
    );
    assert_eq!(v["results"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["more"], json!(true));
    fake.abort();
    let _ = fake.await;

    // A status that is none of the three: refused as malformed.
    let mut odd = item.clone();
    odd["status"] = json!("x".repeat(300));
    let fake = fake_yuncheng(
        &mesh.addr("140802"),
        &json!({"results": [odd], "more": false, "receipt": {"index": 0}}),
    )
    .await;
    let e = emptied_lookup_at_yuncheng(&taian, &mut window, holder.clone(), None).await;
    assert_eq!(
        e.detail("dropped")[0]["outcome"],
        json!("malformed"),
        "{}",
        e.text()
    );
    assert!(!e.text().contains(&"x".repeat(300)));
    fake.abort();
    let _ = fake.await;
    // With 20 results about another holder: each refused, the first 16 named, all counted.
    let fake = fake_yuncheng(
        &mesh.addr("140802"),
        &json!({"results": vec![item; 20], "more": false, "receipt": {"index": 0}}),
    )
    .await;
    let e = emptied_lookup_at_yuncheng(&taian, &mut window, holder_of("140802"), None).await;
    let dropped = e.detail("dropped").as_array().unwrap();
    assert_eq!(dropped.len(), 16, "{}", e.text());
    assert!(dropped.iter().all(|d| d["outcome"] == "wrong_holder"));
    assert_eq!(e.detail("dropped_total"), &json!(20));
    fake.abort();
}

/// A partner answering with more than `MAX_ANSWER_BYTES` is not read to its end: its answer is
/// `bad_answer`, and the lookup goes on without it.
#[tokio::test(flavor = "multi_thread")]
async fn a_partner_answer_longer_than_the_limit_is_not_read_to_its_end() {
    use zhengzhao::node::client::MAX_ANSWER_BYTES;
    let mesh = Mesh::new();
    let taian = mesh.start("370900", |c| c);
    let huge = json!({"results": [], "more": false, "pad": "x".repeat(MAX_ANSWER_BYTES + 1)});
    let fake = fake_yuncheng(&mesh.addr("140802"), &huge).await;
    let e =
        emptied_lookup_at_yuncheng(&taian, &mut taian.window(), holder_of("370900"), None).await;
    assert_eq!(
        e.detail("partial"),
        &json!([{"region": "140802", "error": "bad_answer"}]),
        "{}",
        e.text()
    );
    fake.abort();
}

/// A partner's refusal is passed on by its error code, with the partner's receipt, when the code
/// is one (1 to 64 of `a-z` and `_`); anything else the partner says there is `bad_answer`.
#[tokio::test(flavor = "multi_thread")]
async fn a_partners_refusal_is_passed_on_by_its_code_with_its_receipt() {
    let mesh = Mesh::new();
    let taian = mesh.start("370900", |c| c);
    let mut window = taian.window();
    let odd = format!("Not a code: {PERSON}");
    for (code, shown) in [
        ("consent_used_up", "consent_used_up"),
        (odd.as_str(), "bad_answer"),
    ] {
        let refusal = json!({"error": {"code": code, "message": "no"}, "receipt": {"index": 7}});
        let fake = fake_yuncheng_answering(&mesh.addr("140802"), "403 Forbidden", &refusal).await;
        let e = emptied_lookup_at_yuncheng(&taian, &mut window, holder_of("370900"), None).await;
        assert_eq!(
            e.detail("partial"),
            &json!([{"region": "140802", "error": shown}]),
            "{}",
            e.text()
        );
        assert_eq!(e.detail("receipt_140802"), &json!(7), "{}", e.text());
        fake.abort();
        let _ = fake.await;
    }
}

/// The `federation.trust_list` entries about `partner` in `node`'s log.
async fn trust_entries(node: &Node, partner: &str) -> Vec<(String, u64)> {
    entries(node)
        .await
        .into_iter()
        .filter(|e| e.action() == "federation.trust_list" && e.detail("partner") == &json!(partner))
        .map(|e| {
            (
                e.outcome().to_owned(),
                e.detail("sequence").as_u64().unwrap_or(0),
            )
        })
        .collect()
}

async fn wait_trust(node: &Node, partner: &str, want: (&str, u64)) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = trust_entries(node, partner).await;
        if got.iter().any(|(o, s)| o == want.0 && *s == want.1) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no trust list entry {want:?}; got {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// 运城 with one licence of its own (returned), and 泰安 fetching 运城's trust list every
/// 300 ms, once it has accepted the first.
async fn yuncheng_and_a_following_taian(mesh: &Mesh) -> (Node, String, Node) {
    let yuncheng = mesh.start("140802", |c| c);
    let (_, token) = issue(&mut yuncheng.bureau(), &fixture_request("140802")).await;
    let taian = mesh.start("370900", |c| {
        replace_once(
            &c,
            "trust_list_refresh_ms = 300000",
            "trust_list_refresh_ms = 300",
        )
    });
    wait_trust(&taian, "140802", ("accepted", 1)).await;
    (yuncheng, token, taian)
}

/// A node config whose `[signer]` revokes 运城's demo signer (`revoked` belongs to [signer]:
/// it is written as the table's first key).
fn revoking_yunchengs_signer(config: &str) -> String {
    let sha = cert_sha256("140802", "signer.pem");
    replace_once(
        config,
        "[signer]\n",
        &format!(
            "[signer]\nrevoked = [{{ sha256 = \"{sha}\", revoked_at = \"2026-06-01T00:00:00+08:00\", \
             reason = \"key compromise (test)\" }}]\n"
        ),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn trust_lists_follow_revocation_and_refuse_a_rollback() {
    let mesh = Mesh::new();
    let (mut yuncheng, token, taian) = yuncheng_and_a_following_taian(&mesh).await;
    let mut window = taian.window();
    assert_eq!(verify(&mut window, &token).await["outcome"], json!("valid"));

    // 运城 revokes its signer in its trust list: 泰安 follows without a config change.
    yuncheng.stop();
    let original = std::fs::read_to_string(&yuncheng.config).unwrap();
    std::fs::write(&yuncheng.config, revoking_yunchengs_signer(&original)).unwrap();
    yuncheng.restart();
    wait_trust(&taian, "140802", ("accepted", 2)).await;
    let v = verify(&mut window, &token).await;
    assert_eq!(v["outcome"], json!("signer_revoked"), "{v}");

    // A 运城 node rebuilt from nothing serves sequence 1 again: refused as a rollback, and
    // the revocation stays in force.
    yuncheng.stop();
    let fresh = mesh.start("140802", |c| c);
    wait_trust(&taian, "140802", ("rollback", 1)).await;
    let v = verify(&mut window, &token).await;
    assert_eq!(v["outcome"], json!("signer_revoked"), "{v}");
    drop(fresh);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trust_list_equivocating_at_the_same_sequence_is_refused() {
    let mesh = Mesh::new();
    let (mut yuncheng, token, taian) = yuncheng_and_a_following_taian(&mesh).await;

    // A 运城 node rebuilt from nothing with another signer list (its signer revoked) publishes
    // sequence 1 again, with other content: two lists under one sequence.
    yuncheng.stop();
    let other = mesh.start("140802", |c| revoking_yunchengs_signer(&c));
    wait_trust(&taian, "140802", ("equivocation", 1)).await;
    assert!(
        !trust_entries(&taian, "140802")
            .await
            .iter()
            .any(|(o, s)| o == "accepted" && *s > 1),
        "nothing past sequence 1 was accepted"
    );
    // The list held stays: the revocation in the equivocating list is not in force. (The
    // rebuilt node does not hold the licence, so its live status is unknown.)
    let v = verify(&mut taian.window(), &token).await;
    assert_eq!(v["outcome"], json!("status_unknown"), "{v}");
    assert!(v.get("federation").is_none(), "{v}");
    drop(other);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_signer_missing_from_its_trust_list_is_refused_and_logged() {
    use zhengzhao::demo::{Ca, DEMO_REGIONS, KeyAlg, SignerSpec, issue_signer};
    use zhengzhao::licence::issue::Signer;
    use zhengzhao::licence::model::IssuanceRequest;

    let mesh = Mesh::new();
    let (_yuncheng, listed, taian) = yuncheng_and_a_following_taian(&mesh).await;

    // A second signer under 运城's own licence root: the chain and region binding hold, but
    // 运城's trust list does not name it.
    let read = |f: &str| std::fs::read_to_string(cert_path("140802", f)).unwrap();
    let root = Ca::from_pem(&read("licence-root.pem"), &read("licence-root.key")).unwrap();
    let region = DEMO_REGIONS.iter().find(|r| r.code == "140802").unwrap();
    let second = issue_signer(&root, &SignerSpec::standard(region, KeyAlg::EcdsaP256)).unwrap();
    let signer =
        Signer::from_pem(second.cert_pem.as_bytes(), second.key_pem.as_bytes(), None).unwrap();
    let request: IssuanceRequest = serde_json::from_value(fixture_request("140802")).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let unlisted = signer.issue(&request, now).unwrap().token;

    let mut window = taian.window();
    assert_eq!(
        verify(&mut window, &listed).await["outcome"],
        json!("valid")
    );
    let v = verify(&mut window, &unlisted).await;
    assert_eq!(v["outcome"], json!("signer_not_listed"), "{v}");
    assert_eq!(
        v["federation"]["outcome"],
        json!("signer_not_listed"),
        "{v}"
    );
    assert_eq!(
        v["report"]["outcome"],
        json!("valid"),
        "signature and chain hold: {v}"
    );
    let e = wait_for_entry(&taian, "the refused verify", |e| {
        e.action() == "licence.verify" && e.outcome() == "signer_not_listed"
    })
    .await;
    assert!(
        e.detail("refused")
            .as_str()
            .is_some_and(|d| d.contains("not in the partner's trust list")),
        "{}",
        e.text()
    );
}

/// The cosignatures on `note` that verify with the demo witness keys of `regions`.
fn cosigned_by(note: &str, regions: &[&str]) -> Vec<String> {
    regions
        .iter()
        .filter(|r| {
            let vkey = std::fs::read_to_string(cert_path(r, "witness.vkey")).unwrap();
            CosignatureVerifier::parse(vkey.trim())
                .unwrap()
                .verify(note)
                .is_ok()
        })
        .map(|r| r.to_string())
        .collect()
}

/// Waits (up to 20 s) for a checkpoint of at least `min` entries cosigned by every witness.
async fn cosigned_note(node: &Node, witnesses: &[&str], min: u64) -> (String, u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut c = node.bureau();
        let (note, cp) = checkpoint(node, &mut c, min).await;
        if cosigned_by(&note, witnesses).len() == witnesses.len() {
            return (note, cp.size);
        }
        assert!(
            Instant::now() < deadline,
            "not cosigned by every witness:\n{note}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn witnesses_cosign_and_catch_a_forked_log() {
    let mesh = Mesh::new();
    let fast = |c: String| {
        replace_once(
            &c,
            "witness_interval_ms = 1000",
            "witness_interval_ms = 200",
        )
    };
    let mut taian = mesh.start("370900", fast);
    let others: Vec<Node> = ["370115", "140802", "370306"]
        .iter()
        .map(|r| mesh.start(r, fast))
        .collect();
    let witnesses = ["370115", "140802", "370306"];

    // 泰安's checkpoint comes with the three partners' cosignatures.
    let bureau = taian.bureau();
    cosigned_note(&taian, &witnesses, 1).await;

    // An old copy of the data directory (and its state file), taken while stopped.
    taian.stop();
    let backup = taian.dir().join("backup");
    copy_dir(&taian.data_dir, &backup);
    let state_backup = std::fs::read(taian.state_file()).unwrap();
    taian.restart();
    let mut bureau2 = taian.bureau();
    for _ in 0..5 {
        send(&mut bureau2, "GET", "/v1/licences/x/status", None).await;
    }
    drop(bureau);
    let (_, witnessed) = cosigned_note(&taian, &witnesses, 6).await;

    // The operator swaps the old copy back and the node writes a different history on top.
    taian.stop();
    std::fs::remove_dir_all(&taian.data_dir).unwrap();
    copy_dir(&backup, &taian.data_dir);
    std::fs::write(taian.state_file(), state_backup).unwrap();
    taian.restart();
    let mut c = taian.bureau();
    for _ in 0..(witnessed + 3) {
        send(&mut c, "GET", "/v1/licences/y/status", None).await;
    }

    // Every witness refuses it and keeps both signed checkpoints.
    for w in &others {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let r = send(&mut w.bureau(), "GET", "/v1/witness/state", None).await;
            let v = json_of(&r, 200);
            let ev: Vec<&Value> = v["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["origin"] == json!("zhengzhao/370900"))
                .collect();
            if let Some(e) = ev.first() {
                let verifier = taian.verifier();
                let note = e["note"].as_str().unwrap();
                let old = e["witnessed"].as_str().expect("the cosigned checkpoint");
                let a =
                    zhengzhao::audit::checkpoint::Checkpoint::open(note, &verifier, None).unwrap();
                let b =
                    zhengzhao::audit::checkpoint::Checkpoint::open(old, &verifier, None).unwrap();
                assert_eq!(b.size, witnessed, "the witness kept what it had cosigned");
                assert!(a.size > b.size, "and the newer, inconsistent one");
                // The witnessed state did not move to the forked log.
                let log = v["logs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|l| {
                        l["note"]
                            .as_str()
                            .unwrap_or("")
                            .starts_with("zhengzhao/370900\n")
                    })
                    .unwrap();
                assert_eq!(log["size"], json!(witnessed));
                let fork = wait_for_entry(w, "a fork_detected entry", |e| {
                    e.action() == "federation.witness" && e.outcome() == "fork_detected"
                })
                .await;
                assert_node_actor(&fork, "370900");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "witness {} kept no evidence: {v}",
                w.region
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A checkpoint of `origin` at `size` over one leaf per index, signed with `region`'s audit key.
fn signed_checkpoint(region: &str, origin: &str, size: u64) -> String {
    use zhengzhao::audit::checkpoint::Checkpoint;
    use zhengzhao::audit::merkle::leaf_hash;
    use zhengzhao::audit::note::NoteSigner;
    let key = std::fs::read_to_string(cert_path(region, "audit.key")).unwrap();
    let signer = NoteSigner::from_private_key(key.trim_end()).unwrap();
    Checkpoint {
        origin: origin.to_owned(),
        size,
        root: leaf_hash(format!("{size}").as_bytes()),
        extensions: Vec::new(),
    }
    .sign(&signer)
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_witness_endpoint_names_each_refusal_and_logs_it() {
    let mesh = Mesh::new();
    let taian = mesh.start("370900", |c| c);
    // 运城's node (its certificate, from its TLS CA) submits to 泰安's witness.
    let mut partner = taian.client_with(
        &cert_path("140802", "node.pem"),
        &cert_path("140802", "node.key"),
    );
    let submit = |old: u64, note: &str| format!("old {old}\n\n{note}").into_bytes();
    async fn add(c: &mut Client, body: Vec<u8>) -> zhengzhao::node::client::Reply {
        c.raw(
            "POST",
            "/v1/witness/add-checkpoint",
            Some("text/plain"),
            body,
        )
        .await
        .unwrap()
    }

    // Refusals: each with its code, each an audit entry.
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"not a submission".to_vec(), 400, "malformed"),
        (
            submit(
                0,
                &signed_checkpoint("140802", "example.org/another-log", 1),
            ),
            404,
            "unknown_log",
        ),
        (
            // 运城's origin, signed with 淄博's key.
            submit(0, &signed_checkpoint("370306", "zhengzhao/140802", 1)),
            403,
            "bad_signature",
        ),
    ];
    let mut tail = AuditTail::new(&taian).await;
    for (body, status, code) in cases {
        let r = add(&mut partner, body).await;
        assert_eq!(error_code(&r, status), code);
        let e = tail.one_for(&r, "federation.witness", code).await;
        assert_node_actor(&e, "140802");
    }
    // A department is not a partner's node.
    let r = add(
        &mut taian.window(),
        submit(0, &signed_checkpoint("140802", "zhengzhao/140802", 1)),
    )
    .await;
    assert_eq!(error_code(&r, 403), "forbidden_role");
    tail.one_for(&r, "auth.denied", "forbidden_role").await;

    // Cosigned, then a stale `old`: 409 with the witness's size; neither is an entry.
    let r = add(
        &mut partner,
        submit(0, &signed_checkpoint("140802", "zhengzhao/140802", 1)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().starts_with("— zhengzhao-witness/370900 "),
        "{}",
        r.text()
    );
    let r = add(
        &mut partner,
        submit(0, &signed_checkpoint("140802", "zhengzhao/140802", 2)),
    )
    .await;
    assert_eq!((r.status, r.text()), (409, "1\n".to_owned()));
    assert_eq!(r.headers.get("content-type").unwrap(), "text/x.tlog.size");
    tail.none().await;
}

/// 跨省通办 with OFD: 泰安's window asks 运城 for a company's licences as OFD; 运城 answers with
/// its 加注件 (its 原件 and annotation under its own seal), which 泰安 checks under 运城's SM2
/// root before passing it on, and which then verifies at 泰安 with its live status from 运城.
/// (What 泰安 refuses of a partner's OFD copy is tested on `check_ofd_copy` itself.)
#[tokio::test(flavor = "multi_thread")]
async fn a_cross_province_lookup_with_ofd_usage_copies() {
    use base64::Engine as _;
    let mesh = Mesh::new();
    let yuncheng = mesh.start("140802", |c| c);
    let taian = mesh.start("370900", |c| c);
    let org = holder_of("140802");
    let (id, _) = issue(&mut yuncheng.bureau(), &fixture_request("140802")).await;

    let mut window = taian.window();
    let r = send(
        &mut window,
        "POST",
        "/v1/lookups",
        Some(
            &json!({"holder": org, "matter": STATUTORY, "purpose": "跨省通办",
                     "case": "TA-2026-120200018", "mode": "duty",
                     "regions": ["140802"], "format": "ofd"}),
        ),
    )
    .await;
    let v = json_of(&r, 200);
    assert_eq!(v["partial"], json!([]), "{v}");
    let result = &v["results"][0];
    assert_eq!(result["region"], json!("140802"));
    assert_eq!(result["id"], json!(id));
    let b64 = result["usage_copy"].as_str().unwrap().to_owned();
    let file = base64::engine::general_purpose::STANDARD
        .decode(&b64)
        .unwrap();
    let annotation = zhengzhao::node::usage::annotation_of(&file)
        .unwrap()
        .unwrap();
    assert_eq!(annotation.made_by_region, "140802");
    assert_eq!(annotation.department, "370900-window");
    assert_eq!(annotation.department_region, "370900");
    assert_eq!(annotation.case.as_deref(), Some("TA-2026-120200018"));

    // Verified at 泰安: 运城's seals under 运城's SM2 root, live status from 运城.
    let verify = json!({"ofd": b64, "purpose": "核验跨省加注件"});
    let r = send(&mut window, "POST", "/v1/verify", Some(&verify)).await;
    let v = json_of(&r, 200);
    assert_eq!(v["outcome"], json!("valid"), "{v}");
    assert_eq!(v["status"], json!("active"));
    assert_eq!(v["usage_copy"]["for_caller"], json!(true));
    let e = wait_for_entry(&taian, "licence.verify", |e| {
        e.entry["licence"] == json!(id)
    })
    .await;
    assert_eq!(e.detail("status_from"), "140802");

    // 运城 revokes it: the same copy now verifies as revoked at 泰安.
    let r = set_status(&mut yuncheng.bureau(), &id, "revoked").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(&mut window, "POST", "/v1/verify", Some(&verify)).await;
    assert_eq!(json_of(&r, 200)["outcome"], json!("revoked"));
}
