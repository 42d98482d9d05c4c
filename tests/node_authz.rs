#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Who may do what on the node (docs/api.md), against a real `zhengzhao serve` process: the
//! role matrix (each role-restricted endpoint refused with 403 `forbidden_role` and an
//! `auth.denied` entry, before the body is even parsed), callers of other regions (refused at
//! the handshake unless their CA is configured, and then only served what needs no role), the
//! 用证清单 (matters and types not allowed), every consent refusal, things that do not exist,
//! and malformed requests — each refusal recorded with exactly one audit entry.

#[allow(dead_code)] // uses only part of the shared support
mod node_support;

use std::str::FromStr as _;
use std::time::Duration;

use serde_json::{Value, json};
use zhengzhao::codes::LicenceId;

use node_support::*;

fn lookup_body(holder_type: &str, code: &str, matter: &str) -> Value {
    json!({
        "holder": {"type": holder_type, "code": code},
        "matter": matter,
        "purpose": "办理业务",
        "case": "370900-2026-000001",
        "mode": if matter == STATUTORY { "duty" } else { "consent" },
    })
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, b))
}

/// A well-formed licence id of this node's issuer that no licence has.
fn unknown_licence_id(like: &str) -> String {
    let id = LicenceId::from_str(like).unwrap();
    LicenceId::new(
        id.type_code().clone(),
        id.issuer().clone(),
        "NOSUCHLICENCE0000001",
        1,
    )
    .unwrap()
    .as_str()
    .to_owned()
}

#[tokio::test]
async fn each_role_restricted_endpoint_refuses_a_department_without_the_role() {
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;
    let (id, token) = issue(&mut bureau, &fixture_request(REGION)).await;
    tail.one("licence.issue", "ok").await;
    let r = send(
        &mut bureau,
        "POST",
        "/v1/consents",
        Some(&json!({
            "holder": {"type": "001", "code": ORG},
            "grantee": "370900-window",
            "type_codes": [ORG_TYPE]
        })),
    )
    .await;
    let consent = json_of(&r, 201)["consent_id"].as_str().unwrap().to_owned();
    tail.one("consent.grant", "ok").await;

    // The body is not parsed: a body that is not even JSON is refused for the role alone.
    let garbage = b"{\"not json".to_vec();
    let cases = [
        (
            false,
            "POST",
            "/v1/licences".to_owned(),
            "licence.issue",
            "issuer",
        ),
        (false, "POST", status_path(&id), "licence.status", "issuer"),
        (
            false,
            "POST",
            format!("/v1/licences/{id}/versions"),
            "licence.issue",
            "issuer",
        ),
        (
            false,
            "POST",
            "/v1/consents".to_owned(),
            "consent.grant",
            "portal",
        ),
        (
            false,
            "DELETE",
            format!("/v1/consents/{consent}"),
            "consent.revoke",
            "portal",
        ),
        (
            false,
            "GET",
            "/v1/audit/entries".to_owned(),
            "audit.read",
            "auditor",
        ),
        (
            true,
            "POST",
            "/v1/verify".to_owned(),
            "licence.verify",
            "verifier",
        ),
        (
            true,
            "POST",
            "/v1/lookups".to_owned(),
            "licence.lookup",
            "consumer",
        ),
    ];
    for (as_bureau, method, path, wanted, role) in cases {
        let client = if as_bureau { &mut bureau } else { &mut window };
        let body = if method == "POST" {
            garbage.clone()
        } else {
            Vec::new()
        };
        let ct = (method == "POST").then_some("application/json");
        let (v, e) = expect_raw(
            &mut tail,
            client,
            method,
            &path,
            (ct, body.clone()),
            (403, "auth.denied", "forbidden_role"),
        )
        .await;
        assert!(
            v["error"]["message"].as_str().unwrap().contains(role),
            "{method} {path}: {v}"
        );
        assert_eq!(e.detail("wanted"), wanted, "{method} {path}: {}", e.text());
        assert!(
            e.detail("roles")
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == role),
            "{}",
            e.text()
        );
        if method == "POST" {
            assert_eq!(e.entry["request_sha256"], sha256_hex(&body).as_str());
        } else {
            assert!(e.entry["request_sha256"].is_null());
        }
    }

    // Nothing changed: the licence is still active with its one change, the consent live.
    let r = send(&mut window, "GET", &status_path(&id), None).await;
    let v = json_of(&r, 200);
    assert_eq!(v["status"], "active");
    assert_eq!(v["history"].as_array().unwrap().len(), 1);
    tail.one("licence.status_read", "ok").await;
    let r = send(
        &mut bureau,
        "DELETE",
        &format!("/v1/consents/{consent}"),
        None,
    )
    .await;
    json_of(&r, 200);
    tail.one("consent.revoke", "ok").await;

    // A role refusal with a valid body gives the same answer: the caller learns nothing.
    let (v, _) = tail
        .post(
            &mut bureau,
            "/v1/verify",
            &json!({"licence": token, "purpose": "核验"}),
            (403, "auth.denied", "forbidden_role"),
        )
        .await;
    assert!(v.get("outcome").is_none());
}

#[tokio::test]
async fn a_verifier_without_the_consumer_role_may_verify_but_not_look_up() {
    let node = Node::start_with(REGION, |c| {
        // Types and matters are only for consumers, so they go too.
        replace_once(
            &c,
            "roles = [\"consumer\", \"verifier\"]\ntypes = [\"*\"]\n\
             matters = [\"DEMO-STATUTORY\", \"DEMO-CONSENT\"]",
            "roles = [\"verifier\"]",
        )
    });
    let (mut tail, mut bureau, mut window) = node.session().await;
    let (_, token) = issue(&mut bureau, &fixture_request(REGION)).await;
    tail.one("licence.issue", "ok").await;
    tail.post(
        &mut window,
        "/v1/verify",
        &json!({"licence": token, "purpose": "核验"}),
        (200, "licence.verify", "valid"),
    )
    .await;
    let (_, e) = tail
        .post(
            &mut window,
            "/v1/lookups",
            &lookup_body("001", ORG, STATUTORY),
            (403, "auth.denied", "forbidden_role"),
        )
        .await;
    assert_eq!(e.detail("wanted"), "licence.lookup");
}

#[tokio::test]
async fn a_caller_of_another_regions_ca_is_refused_at_the_handshake() {
    let node = Node::start(REGION);
    let mut tail = AuditTail::new(&node).await;
    for region in ["370115", "140802"] {
        let mut stranger = node.client_with(
            &cert_path(region, &format!("{region}-bureau.pem")),
            &cert_path(region, &format!("{region}-bureau.key")),
        );
        let r = stranger.request("GET", "/v1/openapi.json", None).await;
        assert!(r.is_err(), "a {region} certificate was served: {r:?}");
    }
    // Not served, so not recorded.
    tail.none().await;
}

#[tokio::test]
async fn a_caller_of_a_configured_partner_ca_gets_only_what_needs_no_role() {
    let partner = "370115";
    let node = Node::start_with(REGION, |c| {
        replace_once(
            &c,
            "client_cas = [\n",
            &format!(
                "client_cas = [\n  {{ cert = {:?}, crl = {:?}, region = \"{partner}\" }},\n",
                p(&cert_path(partner, "tls-ca.pem")),
                p(&cert_path(partner, "tls-ca.crl.pem")),
            ),
        )
    });
    let mut tail = AuditTail::new(&node).await;
    let mut bureau = node.bureau();
    let (id, token) = issue(&mut bureau, &fixture_request(REGION)).await;
    tail.one("licence.issue", "ok").await;
    // 370115's bureau is an issuer, auditor and portal in its own region, nothing here.
    let mut other = node.client_with(
        &cert_path(partner, "370115-bureau.pem"),
        &cert_path(partner, "370115-bureau.key"),
    );
    let (_, e) = tail
        .get(&mut other, "/v1/openapi.json", (200, "api.describe", "ok"))
        .await;
    assert_actor(&e, partner, "370115-bureau");
    tail.get(
        &mut other,
        &status_path(&id),
        (200, "licence.status_read", "ok"),
    )
    .await;
    for (method, path, body, wanted) in [
        (
            "POST",
            "/v1/licences".to_owned(),
            Some(fixture_request(REGION)),
            "licence.issue",
        ),
        (
            "POST",
            status_path(&id),
            Some(json!({"status": "revoked", "reason": "外地吊销"})),
            "licence.status",
        ),
        ("GET", "/v1/audit/entries".to_owned(), None, "audit.read"),
        (
            "POST",
            "/v1/verify".to_owned(),
            Some(json!({"licence": token, "purpose": "核验"})),
            "licence.verify",
        ),
    ] {
        let (v, e) = expect(
            &mut tail,
            &mut other,
            method,
            &path,
            body.as_ref(),
            (403, "auth.denied", "forbidden_role"),
        )
        .await;
        assert_eq!(e.detail("wanted"), wanted);
        assert_actor(&e, partner, "370115-bureau");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not a department of this region"),
            "{v}"
        );
    }
    let r = send(&mut bureau, "GET", &status_path(&id), None).await;
    assert_eq!(json_of(&r, 200)["status"], "active");
}

#[tokio::test]
async fn matters_and_types_off_the_departments_list_are_refused() {
    // The window may use only PERSON_TYPE licences, for the statutory matter only.
    let node = Node::start_with(REGION, |c| {
        let c = replace_once(&c, "types = [\"*\"]", &format!("types = [{PERSON_TYPE:?}]"));
        replace_once(
            &c,
            "matters = [\"DEMO-STATUTORY\", \"DEMO-CONSENT\"]",
            "matters = [\"DEMO-STATUTORY\"]",
        )
    });
    let (mut tail, mut bureau, mut window) = node.session().await;
    // The organisation holds one licence of each type.
    issue(&mut bureau, &fixture_request(REGION)).await;
    let mut req = person_request(PERSON);
    req["holder"] = json!({"type": "001", "code": ORG, "name": "泰安示例建设有限公司"});
    let (allowed, _) = issue(&mut bureau, &req).await;
    tail.new_entries().await;

    // A configured matter not on the list, and a matter not configured at all.
    for matter in [CONSENT, "NO-SUCH-MATTER"] {
        let (_, e) = tail
            .post(
                &mut window,
                "/v1/lookups",
                &lookup_body("001", ORG, matter),
                (403, "licence.lookup", "matter_not_allowed"),
            )
            .await;
        assert_eq!(e.entry["matter"], matter);
        assert!(e.detail("results").is_null());
    }
    // A type not on the list.
    let mut req = lookup_body("001", ORG, STATUTORY);
    req["type_code"] = json!(ORG_TYPE);
    let (_, e) = tail
        .post(
            &mut window,
            "/v1/lookups",
            &req,
            (403, "licence.lookup", "type_not_allowed"),
        )
        .await;
    assert!(e.detail("results").is_null());
    // Not a licence type code at all.
    req["type_code"] = json!("not-a-type-code");
    tail.post(
        &mut window,
        "/v1/lookups",
        &req,
        (400, "licence.lookup", "invalid_request"),
    )
    .await;
    // Without a type: only the licences of types on the list come back.
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/lookups",
            &lookup_body("001", ORG, STATUTORY),
            (200, "licence.lookup", "ok"),
        )
        .await;
    let ids: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [allowed.as_str()]);
    assert_eq!(e.detail("results").as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn lookups_refused_for_want_of_a_live_matching_consent() {
    // A second consumer department, to grant a consent to someone else.
    let node = Node::start_with(REGION, |c| {
        format!(
            "{c}\n[[departments]]\nid = \"370900-other\"\nroles = [\"consumer\"]\n\
             types = [\"*\"]\nmatters = [{CONSENT:?}]\n"
        )
    });
    let (mut tail, mut bureau, mut window) = node.session().await;
    issue(&mut bureau, &person_request(PERSON)).await;
    tail.one("licence.issue", "ok").await;

    let b = &mut bureau;
    let mine = grant(b, PERSON, "370900-window", Some(1)).await;
    let others = grant(b, OTHER_PERSON, "370900-window", None).await;
    let elsewhere = grant(b, PERSON, "370900-other", None).await;
    let withdrawn = grant(b, PERSON, "370900-window", None).await;
    let r = send(
        &mut bureau,
        "DELETE",
        &format!("/v1/consents/{withdrawn}"),
        None,
    )
    .await;
    json_of(&r, 200);
    assert_eq!(tail.new_entries().await.len(), 5);

    let lookup = |consent: Option<&str>, type_code: Option<&str>| {
        let mut b = lookup_body("111", PERSON, CONSENT);
        if let Some(c) = consent {
            b["consent"] = json!(c);
        }
        if let Some(t) = type_code {
            b["type_code"] = json!(t);
        }
        b
    };
    let cases = [
        (lookup(None, None), "consent_required"),
        (
            lookup(Some("00000000000000000000000000000000"), None),
            "consent_not_found",
        ),
        (lookup(Some("not-a-consent-id"), None), "consent_not_found"),
        (lookup(Some(&others), None), "consent_mismatch"),
        (lookup(Some(&elsewhere), None), "consent_mismatch"),
        (lookup(Some(&withdrawn), None), "consent_withdrawn"),
        // The consent does not cover the type asked for.
        (lookup(Some(&mine), Some(ORG_TYPE)), "consent_mismatch"),
    ];
    for (body, code) in &cases {
        let (v, e) = tail
            .post(
                &mut window,
                "/v1/lookups",
                body,
                (403, "licence.lookup", code),
            )
            .await;
        assert!(v.get("results").is_none());
        assert!(e.detail("results").is_null(), "{}", e.text());
        assert_eq!(e.entry["matter"], CONSENT);
        assert!(!e.text().contains(PERSON));
    }
    // None of those spent the one use of `mine`: it works once, then is used up.
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/lookups",
            &lookup(Some(&mine), None),
            (200, "licence.lookup", "ok"),
        )
        .await;
    assert_eq!(v["results"].as_array().unwrap().len(), 1);
    assert_eq!(e.detail("consent_uses_left"), 0);
    tail.post(
        &mut window,
        "/v1/lookups",
        &lookup(Some(&mine), None),
        (403, "licence.lookup", "consent_used_up"),
    )
    .await;
}

#[tokio::test]
async fn an_expired_consent_is_refused() {
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;
    issue(&mut bureau, &person_request(PERSON)).await;
    // `until` is kept to the second; two seconds ahead is always still in the future.
    let until_unix = time::OffsetDateTime::now_utc().unix_timestamp() + 2;
    let until = time::OffsetDateTime::from_unix_timestamp(until_unix)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let r = send(
        &mut bureau,
        "POST",
        "/v1/consents",
        Some(&window_consent(json!({"until": until}))),
    )
    .await;
    let v = json_of(&r, 201);
    let consent = v["consent_id"].as_str().unwrap().to_owned();
    assert_eq!(v["until"], until.as_str());
    tail.new_entries().await;
    let mut body = lookup_body("111", PERSON, CONSENT);
    body["consent"] = json!(consent);
    // Used while live: if the answer came before `until`, the node checked before it too.
    let r = send(&mut window, "POST", "/v1/lookups", Some(&body)).await;
    let now_ms = || time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    if now_ms() < i128::from(until_unix) * 1000 {
        json_of(&r, 200);
    }
    tail.new_entries().await;
    // Past `until` (exclusive), by a little.
    let left = i128::from(until_unix) * 1000 - now_ms();
    if left > 0 {
        let ms = u64::try_from(left).unwrap() + 50;
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    tail.post(
        &mut window,
        "/v1/lookups",
        &body,
        (403, "licence.lookup", "consent_expired"),
    )
    .await;
    // A consent ending in the past cannot be granted.
    tail.post(
        &mut bureau,
        "/v1/consents",
        &window_consent(json!({"until": until})),
        (400, "consent.grant", "invalid_request"),
    )
    .await;
}

#[tokio::test]
async fn what_does_not_exist_or_cannot_be() {
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;
    let (id, _) = issue(&mut bureau, &fixture_request(REGION)).await;
    tail.one("licence.issue", "ok").await;
    let missing = unknown_licence_id(&id);

    let (_, e) = tail
        .get(
            &mut window,
            &status_path(&missing),
            (404, "licence.status_read", "not_found"),
        )
        .await;
    assert_eq!(e.entry["licence"], missing.as_str());
    assert!(e.detail("message").is_string());
    tail.post(
        &mut bureau,
        &status_path(&missing),
        &json!({"status": "suspended", "reason": "暂扣"}),
        (404, "licence.status", "not_found"),
    )
    .await;
    tail.post(
        &mut bureau,
        &format!("/v1/licences/{missing}/versions"),
        &fixture_request(REGION),
        (404, "licence.issue", "not_found"),
    )
    .await;
    for bad in ["not-a-licence-id", &id[..id.len() - 1]] {
        tail.get(
            &mut window,
            &format!("/v1/licences/{bad}x/status"),
            (400, "licence.status_read", "invalid_licence_id"),
        )
        .await;
    }
    tail.delete(
        &mut bureau,
        "/v1/consents/0123456789abcdef0123456789abcdef",
        (404, "consent.revoke", "not_found"),
    )
    .await;

    // A status the model does not have; a reason that is only white space.
    for body in [
        json!({"status": "superseded", "reason": "变更"}),
        json!({"status": "suspended", "reason": "   "}),
    ] {
        tail.post(
            &mut bureau,
            &status_path(&id),
            &body,
            (400, "licence.status", "invalid_request"),
        )
        .await;
    }
    // A new version for another holder.
    let mut other = fixture_request(REGION);
    other["holder"]["code"] = json!("11220000013544541J");
    tail.post(
        &mut bureau,
        &format!("/v1/licences/{id}/versions"),
        &other,
        (400, "licence.issue", "holder_mismatch"),
    )
    .await;
    // A holder code that fails its check.
    other["holder"]["code"] = json!("91370900MA3C4XKE9X");
    tail.post(
        &mut bureau,
        &format!("/v1/licences/{id}/versions"),
        &other,
        (400, "licence.issue", "invalid_holder"),
    )
    .await;

    // Consents: withdrawn twice, an unknown grantee, a grantee without the consumer role, a
    // bad holder code.
    let consent = grant(&mut bureau, PERSON, "370900-window", None).await;
    tail.one("consent.grant", "ok").await;
    let path = format!("/v1/consents/{consent}");
    tail.delete(&mut bureau, &path, (200, "consent.revoke", "ok"))
        .await;
    tail.delete(
        &mut bureau,
        &path,
        (409, "consent.revoke", "already_withdrawn"),
    )
    .await;
    for grantee in ["370900-nobody", "370900-bureau"] {
        tail.post(
            &mut bureau,
            "/v1/consents",
            &json!({
                "holder": {"type": "111", "code": PERSON},
                "grantee": grantee,
                "type_codes": [PERSON_TYPE],
            }),
            (400, "consent.grant", "unknown_grantee"),
        )
        .await;
    }
    let (_, e) = tail
        .post(
            &mut bureau,
            "/v1/consents",
            &json!({
                "holder": {"type": "111", "code": "110105194912310039"},
                "grantee": "370900-window",
                "type_codes": [PERSON_TYPE],
            }),
            (400, "consent.grant", "invalid_holder"),
        )
        .await;
    assert!(!e.text().contains("110105194912310039"));
}

/// A 统一社会信用代码 with letters before its check character.
const ORG_WITH_LETTERS: &str = "91110108MA01ABCD2H";

#[tokio::test]
async fn malformed_requests_are_refused_and_each_is_logged_once() {
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;
    let json_ct = Some("application/json");

    // Bodies: not JSON, an unknown member, a member missing.
    let (_, e) = expect_raw(
        &mut tail,
        &mut bureau,
        "POST",
        "/v1/licences",
        (json_ct, b"{\"type_code\": ".to_vec()),
        (400, "licence.issue", "malformed_json"),
    )
    .await;
    assert_eq!(
        e.entry["request_sha256"],
        sha256_hex(b"{\"type_code\": ").as_str()
    );
    let mut extra = fixture_request(REGION);
    extra["colour"] = json!("red");
    let (v, _) = tail
        .post(
            &mut bureau,
            "/v1/licences",
            &extra,
            (400, "licence.issue", "unknown_field"),
        )
        .await;
    assert!(v["error"]["message"].as_str().unwrap().contains("colour"));
    tail.post(
        &mut window,
        "/v1/verify",
        &json!({"licence": "x.y.z", "purpose": "核验", "extra": 1}),
        (400, "licence.verify", "unknown_field"),
    )
    .await;
    let (v, _) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"licence": "x.y.z"}),
            (400, "licence.verify", "invalid_request"),
        )
        .await;
    assert!(v["error"]["message"].as_str().unwrap().contains("purpose"));
    // serde's message quotes the offending value; a holder's number is not echoed or logged.
    for holder in [
        json!({"type": "111", "code": 110105194912310021_u64}),
        json!(ORG_WITH_LETTERS),
    ] {
        let (v, e) = tail
            .post(
                &mut window,
                "/v1/lookups",
                &json!({"holder": holder, "matter": STATUTORY, "purpose": "核验", "case": "C-1", "mode": "duty"}),
                (400, "licence.lookup", "invalid_request"),
            )
            .await;
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains("<redacted>"), "{message}");
        for number in ["110105194912310021", ORG_WITH_LETTERS] {
            assert!(!message.contains(number), "{message}");
            assert!(!e.text().contains(number), "{}", e.text());
        }
    }

    // Media types: wrong, missing; a charset parameter is fine.
    let body = serde_json::to_vec(&json!({"licence": "x.y.z", "purpose": "核验"})).unwrap();
    for ct in [Some("text/plain"), Some("application/jsonl"), None] {
        expect_raw(
            &mut tail,
            &mut window,
            "POST",
            "/v1/verify",
            (ct, body.clone()),
            (415, "licence.verify", "unsupported_media_type"),
        )
        .await;
    }
    expect_raw(
        &mut tail,
        &mut window,
        "POST",
        "/v1/verify",
        (Some("Application/JSON; charset=utf-8"), body.clone()),
        (200, "licence.verify", "malformed"),
    )
    .await;

    // Size: over 256 KiB is refused before anything else; exactly 256 KiB is read.
    let limit = 256 * 1024;
    let (v, e) = expect_raw(
        &mut tail,
        &mut bureau,
        "POST",
        "/v1/licences",
        (json_ct, vec![b' '; limit + 1]),
        (413, "licence.issue", "payload_too_large"),
    )
    .await;
    assert!(v["receipt"].is_object());
    assert!(e.entry["request_sha256"].is_null());
    expect_raw(
        &mut tail,
        &mut bureau,
        "POST",
        "/v1/no/such/endpoint",
        (json_ct, vec![b'{'; limit + 100]),
        (413, "request.unknown", "payload_too_large"),
    )
    .await;
    expect_raw(
        &mut tail,
        &mut bureau,
        "POST",
        "/v1/licences",
        (json_ct, vec![b' '; limit]),
        (400, "licence.issue", "malformed_json"),
    )
    .await;

    // Paths and methods.
    for path in [
        "/v1/nothing",
        "/",
        "/v1/licences/",
        "/v1/licences//status",
        "/v1/consents/",
        "/v1/licences/x/status/extra",
        "/V1/LICENCES",
    ] {
        tail.get(&mut window, path, (404, "request.unknown", "not_found"))
            .await;
    }
    for (method, path, action) in [
        ("PUT", "/v1/licences", "licence.issue"),
        ("GET", "/v1/licences", "licence.issue"),
        ("GET", "/v1/verify", "licence.verify"),
        ("DELETE", "/v1/licences/x/status", "licence.status"),
        ("GET", "/v1/licences/x/versions", "licence.issue"),
        ("POST", "/v1/consents/abc", "consent.revoke"),
        ("GET", "/v1/consents", "consent.grant"),
        ("GET", "/v1/lookups", "licence.lookup"),
        ("POST", "/v1/audit/entries", "audit.read"),
        ("POST", "/v1/audit/checkpoint", "audit.read"),
        ("DELETE", "/v1/audit/vkey", "audit.read"),
        ("POST", "/healthz", "api.describe"),
        ("POST", "/v1/openapi.json", "api.describe"),
    ] {
        expect(
            &mut tail,
            &mut window,
            method,
            path,
            None,
            (405, action, "method_not_allowed"),
        )
        .await;
    }

    // A body where none is taken; query strings where none, or not these, are taken.
    expect_raw(
        &mut tail,
        &mut window,
        "GET",
        "/v1/openapi.json",
        (json_ct, b"{}".to_vec()),
        (400, "api.describe", "unexpected_body"),
    )
    .await;
    let verify_body = json!({"licence": "x.y.z", "purpose": "核验"});
    for (as_bureau, method, path, body, action) in [
        (
            false,
            "POST",
            "/v1/verify?x=1",
            Some(&verify_body),
            "licence.verify",
        ),
        (false, "GET", "/v1/openapi.json?v=2", None, "api.describe"),
        (true, "GET", "/v1/audit/entries?from=-1", None, "audit.read"),
        (
            true,
            "GET",
            "/v1/audit/entries?from=%31",
            None,
            "audit.read",
        ),
        (
            true,
            "GET",
            "/v1/audit/entries?from=0&from=0",
            None,
            "audit.read",
        ),
        (true, "GET", "/v1/audit/entries?limit=5", None, "audit.read"),
        (
            false,
            "GET",
            "/v1/audit/proof/inclusion?index=0",
            None,
            "audit.read",
        ),
        (
            false,
            "GET",
            "/v1/audit/proof/consistency?from=1&to=2&x=3",
            None,
            "audit.read",
        ),
        (
            false,
            "GET",
            "/v1/audit/proof/inclusion?index=0&size=123456789012345678901",
            None,
            "audit.read",
        ),
    ] {
        let client = if as_bureau { &mut bureau } else { &mut window };
        expect(
            &mut tail,
            client,
            method,
            path,
            body,
            (400, action, "invalid_query"),
        )
        .await;
    }

    // Ranges beyond the log.
    for (as_bureau, path) in [
        (true, "/v1/audit/entries?from=5&to=2"),
        (true, "/v1/audit/entries?to=100000"),
        (false, "/v1/audit/proof/inclusion?index=3&size=3"),
        (false, "/v1/audit/proof/inclusion?index=0&size=100000"),
        (false, "/v1/audit/proof/consistency?from=0&to=1"),
        (false, "/v1/audit/proof/consistency?from=2&to=1"),
    ] {
        let client = if as_bureau { &mut bureau } else { &mut window };
        tail.get(client, path, (400, "audit.read", "out_of_range"))
            .await;
    }
    // The node is still healthy after all that.
    let r = send(&mut window, "GET", "/healthz", None).await;
    assert_eq!(json_of(&r, 200)["status"], "ok");
}

/// docs/api.md, "One state lock": two lookups cannot both spend the last use of a consent, and
/// two status changes cannot both act on the same old status.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_spend_a_last_use_once_and_change_a_status_once() {
    const N: usize = 8;
    let node = Node::start(REGION);
    let mut tail = AuditTail::new(&node).await;
    let mut bureau = node.bureau();
    let (id, _) = issue(&mut bureau, &person_request(PERSON)).await;
    let consent = grant(&mut bureau, PERSON, "370900-window", Some(1)).await;
    tail.new_entries().await;

    let mut body = lookup_body("111", PERSON, CONSENT);
    body["consent"] = json!(consent);
    let mut tasks = Vec::new();
    for _ in 0..N {
        let mut c = node.window();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            send(&mut c, "POST", "/v1/lookups", Some(&body)).await
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        codes.push(if r.status == 200 {
            "ok".to_owned()
        } else {
            error_code(&r, 403)
        });
    }
    codes.sort();
    let mut want = vec!["consent_used_up".to_owned(); N - 1];
    want.push("ok".to_owned());
    want.sort();
    assert_eq!(codes, want);
    let entries = tail.new_entries().await;
    assert_eq!(entries.len(), N, "one entry per lookup");
    let ok: Vec<_> = entries.iter().filter(|e| e.outcome() == "ok").collect();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].detail("consent_uses_left"), 0);

    let mut tasks = Vec::new();
    for _ in 0..N {
        let mut c = node.bureau();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            set_status(&mut c, &id, "suspended").await
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().status);
    }
    statuses.sort_unstable();
    let mut want = vec![409u16; N - 1];
    want.insert(0, 200);
    assert_eq!(statuses, want);
    let r = send(&mut bureau, "GET", &status_path(&id), None).await;
    assert_eq!(json_of(&r, 200)["history"].as_array().unwrap().len(), 2);
    let entries = tail.new_entries().await;
    assert_eq!(entries.len(), N + 1);
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.outcome() == "invalid_transition")
            .count(),
        N - 1
    );
}
