#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! The node's HTTP API (docs/api.md) against a real `zhengzhao serve` process: the success path
//! of every endpoint — issue, status read and change with history, new versions superseding the
//! old, verification with live status (valid, suspended, revoked, superseded) and of usage
//! copies, consents granted and withdrawn, lookups for statutory matters and with consent,
//! audit entries and inclusion and consistency proofs checked against the signed checkpoint,
//! the OpenAPI description and /healthz — and for each audited request exactly one audit entry
//! with the right action and outcome, whose leaf hash the answer's receipt names.

#[allow(dead_code)] // uses only part of the shared support
mod node_support;

use std::str::FromStr as _;

use serde_json::{Value, json};
use zhengzhao::audit::merkle::{self, CompactRange};
use zhengzhao::codes::LicenceId;

use node_support::*;

fn lookup_body(holder_type: &str, code: &str, matter: &str) -> Value {
    json!({
        "holder": {"type": holder_type, "code": code},
        "matter": matter,
        "purpose": "办理施工许可，免交纸质证照",
        "case": "370900-2026-000001",
        "mode": if matter == STATUTORY { "duty" } else { "consent" },
    })
}

#[tokio::test]
async fn healthz_vkey_checkpoint_and_openapi() {
    let node = Node::start(REGION);
    let mut tail = AuditTail::new(&node).await;
    let mut window = node.window();

    // The three unaudited endpoints.
    let r = send(&mut window, "GET", "/healthz", None).await;
    assert_eq!(json_of(&r, 200), json!({"status": "ok"}));
    assert!(receipt(&r).is_none(), "/healthz has no receipt");
    // Query strings and bodies are ignored.
    let r = send_raw(
        &mut window,
        "GET",
        "/healthz?x=1",
        Some("text/plain"),
        b"x".to_vec(),
    )
    .await;
    assert_eq!(json_of(&r, 200), json!({"status": "ok"}));
    let r = send(&mut window, "GET", "/v1/audit/vkey", None).await;
    assert_eq!(r.status, 200);
    let pinned = std::fs::read_to_string(cert_path(REGION, "audit.vkey")).unwrap();
    assert_eq!(r.text(), format!("{}\n", pinned.trim_end()));
    let (note, cp) = checkpoint(&node, &mut window, 1).await;
    assert_eq!(cp.origin, "zhengzhao/370900");
    assert!(note.contains("\n\n— zhengzhao/370900 "), "{note}");
    tail.none().await;

    // The OpenAPI description: audited as api.describe, the receipt in the headers.
    let r = send(&mut window, "GET", "/v1/openapi.json", None).await;
    let (doc, e) = check(
        &mut tail,
        &r,
        "GET",
        "/v1/openapi.json",
        (200, "api.describe", "ok"),
    )
    .await;
    assert_actor(&e, REGION, "370900-window");
    assert_eq!(
        r.headers.get("content-type").unwrap().to_str().unwrap(),
        "application/json"
    );
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for want in [
        "/healthz",
        "/v1/openapi.json",
        "/v1/licences",
        "/v1/licences/{id}/status",
        "/v1/licences/{id}/versions",
        "/v1/verify",
        "/v1/consents",
        "/v1/consents/{id}",
        "/v1/lookups",
        "/v1/audit/checkpoint",
        "/v1/audit/vkey",
        "/v1/audit/entries",
        "/v1/audit/proof/inclusion",
        "/v1/audit/proof/consistency",
    ] {
        assert!(paths.contains_key(want), "openapi.json lacks {want}");
    }
    assert!(e.entry["request_sha256"].is_null());
}

#[tokio::test]
async fn issue_read_and_change_status() {
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;

    let req = fixture_request(REGION);
    let body = serde_json::to_vec(&req).unwrap();
    let (v, e) = tail
        .post(
            &mut bureau,
            "/v1/licences",
            &req,
            (201, "licence.issue", "ok"),
        )
        .await;
    let id = v["id"].as_str().unwrap().to_owned();
    let parsed = LicenceId::from_str(&id).expect("a GB/T 36904 licence id");
    assert_eq!(parsed.version(), 1);
    assert_eq!(parsed.type_code().as_str(), ORG_TYPE);
    assert_eq!(v["licence"].as_str().unwrap().split('.').count(), 3);
    assert_actor(&e, REGION, "370900-bureau");
    assert_eq!(e.entry["licence"], id.as_str());
    assert_eq!(e.detail("type_code"), ORG_TYPE);
    assert_eq!(
        e.entry["holder"].as_str().map(str::len),
        Some(64),
        "a keyed hash"
    );
    assert!(!e.text().contains(ORG), "holder codes never enter the log");
    assert_eq!(
        e.entry["request_sha256"],
        hex::encode(ring::digest::digest(&ring::digest::SHA256, &body))
    );

    // Read the status: active, issued, by the bureau (reasons and who made each change are
    // shown to the issuer and the auditor; node_hardening.rs shows what others see).
    let (v, e) = tail
        .get(
            &mut bureau,
            &status_path(&id),
            (200, "licence.status_read", "ok"),
        )
        .await;
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["status"], "active");
    assert!(v["superseded_by"].is_null());
    let h = v["history"].as_array().unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["status"], "active");
    assert_eq!(h[0]["reason"], "issued");
    assert_eq!(h[0]["by"], "370900-bureau");
    assert!(h[0]["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(e.entry["licence"], id.as_str());
    assert_actor(&e, REGION, "370900-bureau");

    // Suspend, reinstate, revoke: each answer carries the whole history.
    let mut from = "active";
    for (n, to) in ["suspended", "active", "revoked"].into_iter().enumerate() {
        let reason = format!("第{n}次变更：{to}");
        let (v, e) = tail
            .post(
                &mut bureau,
                &status_path(&id),
                &json!({"status": to, "reason": reason}),
                (200, "licence.status", "ok"),
            )
            .await;
        assert_eq!(v["id"], id.as_str());
        assert_eq!(v["status"], to);
        let h = v["history"].as_array().unwrap();
        assert_eq!(h.len(), n + 2, "{v}");
        assert_eq!(h[n + 1]["status"], to);
        assert_eq!(h[n + 1]["reason"], reason.as_str());
        assert_eq!(h[n + 1]["by"], "370900-bureau");
        assert_eq!(e.entry["licence"], id.as_str());
        assert_eq!(e.detail("from"), from);
        assert_eq!(e.detail("to"), to);
        from = to;
    }
    let (v, _) = tail
        .get(
            &mut window,
            &status_path(&id),
            (200, "licence.status_read", "ok"),
        )
        .await;
    assert_eq!(v["status"], "revoked");
    let statuses: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["active", "suspended", "active", "revoked"]);

    // Revoked is final; asking for the status a licence has is a refused transition too.
    let (_, e) = tail
        .post(
            &mut bureau,
            &status_path(&id),
            &json!({"status": "active", "reason": "撤销吊销"}),
            (409, "licence.status", "invalid_transition"),
        )
        .await;
    assert_eq!(e.detail("from"), "revoked");
    let (other, _) = issue(&mut bureau, &req).await;
    tail.one("licence.issue", "ok").await;
    tail.post(
        &mut bureau,
        &status_path(&other),
        &json!({"status": "active", "reason": "再次启用"}),
        (409, "licence.status", "invalid_transition"),
    )
    .await;
    // The same holder's licences share its keyed hash.
    let (_, e) = tail
        .get(
            &mut window,
            &status_path(&other),
            (200, "licence.status_read", "ok"),
        )
        .await;
    assert_eq!(e.entry["licence"], other.as_str());
}

#[tokio::test]
async fn a_new_version_supersedes_the_old() {
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;

    let req = fixture_request(REGION);
    let (old, old_token) = issue(&mut bureau, &req).await;
    let issued = tail.one("licence.issue", "ok").await;
    let mut changed = req.clone();
    changed["fields"]["注册资本万元"] = json!(8000);
    let (v, e) = tail
        .post(
            &mut bureau,
            &format!("/v1/licences/{old}/versions"),
            &changed,
            (201, "licence.issue", "ok"),
        )
        .await;
    let new = v["id"].as_str().unwrap().to_owned();
    let new_token = v["licence"].as_str().unwrap().to_owned();
    assert_eq!(v["previous"], old.as_str());
    let (o, n) = (
        LicenceId::from_str(&old).unwrap(),
        LicenceId::from_str(&new).unwrap(),
    );
    assert_eq!(n.version(), 2);
    assert_eq!(n.serial(), o.serial());
    assert_eq!(n.type_code(), o.type_code());
    assert_eq!(e.entry["licence"], new.as_str());
    assert_eq!(e.detail("previous"), old.as_str());
    assert_eq!(e.entry["holder"], issued.entry["holder"]);

    let (v, _) = tail
        .get(
            &mut bureau,
            &status_path(&old),
            (200, "licence.status_read", "ok"),
        )
        .await;
    assert_eq!(v["status"], "superseded");
    assert_eq!(v["superseded_by"], new.as_str());
    let h = v["history"].as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1]["status"], "superseded");
    assert_eq!(h[1]["reason"], format!("replaced by {new}"));
    let (v, _) = tail
        .get(
            &mut bureau,
            &status_path(&new),
            (200, "licence.status_read", "ok"),
        )
        .await;
    assert_eq!(v["status"], "active");
    assert!(v["superseded_by"].is_null());
    assert_eq!(v["history"][0]["reason"], format!("new version of {old}"));

    // Verification reads the live status: the old version is superseded, the new one valid.
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"licence": old_token, "purpose": "核验"}),
            (200, "licence.verify", "superseded"),
        )
        .await;
    assert_eq!(v["outcome"], "superseded");
    assert_eq!(v["status"], "superseded");
    assert_eq!(v["report"]["outcome"], "valid");
    assert_eq!(e.entry["licence"], old.as_str());
    let (v, _) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"licence": new_token, "purpose": "核验"}),
            (200, "licence.verify", "valid"),
        )
        .await;
    assert_eq!(v["status"], "active");

    // A superseded licence has no next version.
    tail.post(
        &mut bureau,
        &format!("/v1/licences/{old}/versions"),
        &changed,
        (409, "licence.issue", "invalid_transition"),
    )
    .await;
}

/// docs/api.md, `POST /v1/licences/{id}/versions`: "A `suspended` licence may be given a new
/// version; the new version is `active`."
#[tokio::test]
async fn a_suspended_licence_gets_no_new_version() {
    // A new version is active: giving one to a suspended licence would lift the suspension
    // without a licence.status entry, so it is refused until the licence is reinstated.
    let node = Node::start(REGION);
    let mut tail = AuditTail::new(&node).await;
    let mut bureau = node.bureau();
    let req = fixture_request(REGION);
    let (old, _) = issue(&mut bureau, &req).await;
    json_of(&set_status(&mut bureau, &old, "suspended").await, 200);
    tail.new_entries().await;
    tail.post(
        &mut bureau,
        &format!("/v1/licences/{old}/versions"),
        &req,
        (409, "licence.issue", "invalid_transition"),
    )
    .await;
    let r = send(&mut bureau, "GET", &status_path(&old), None).await;
    assert_eq!(json_of(&r, 200)["status"], "suspended");
    json_of(&set_status(&mut bureau, &old, "active").await, 200);
    tail.new_entries().await;
    let (v, _) = tail
        .post(
            &mut bureau,
            &format!("/v1/licences/{old}/versions"),
            &req,
            (201, "licence.issue", "ok"),
        )
        .await;
    let new = v["id"].as_str().unwrap();
    let r = send(&mut bureau, "GET", &status_path(new), None).await;
    assert_eq!(json_of(&r, 200)["status"], "active");
    let r = send(&mut bureau, "GET", &status_path(&old), None).await;
    assert_eq!(json_of(&r, 200)["status"], "superseded");
}

/// The legal statuses (docs/licence-status.md) through the real node: asked for by name or by
/// national code, answered with both, a final status going nowhere (`invalid_transition`),
/// `superseded` never asked for, and a verification naming the status as its outcome.
#[tokio::test]
async fn legal_statuses_by_name_or_code_and_their_transitions() {
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;
    let req = fixture_request(REGION);
    for (asked, name, code) in [
        ("03", "rescinded", "03"),
        ("cancelled", "cancelled", "04"),
        ("05", "lapsed", "05"),
        ("07", "revoked", "07"),
    ] {
        let (id, token) = issue(&mut bureau, &req).await;
        tail.one("licence.issue", "ok").await;
        // Allowed: suspended first, then the final status from suspended.
        let (v, _) = tail
            .status_change(
                &mut bureau,
                &id,
                "02",
                "暂扣",
                (200, "licence.status", "ok"),
            )
            .await;
        assert_eq!(
            (&v["status"], &v["status_code"]),
            (&json!("suspended"), &json!("02"))
        );
        let (v, e) = tail
            .status_change(
                &mut bureau,
                &id,
                asked,
                "依法处理",
                (200, "licence.status", "ok"),
            )
            .await;
        assert_eq!(v["status"], name, "{v}");
        assert_eq!(v["status_code"], code);
        assert_eq!(v["history"][2]["status_code"], code);
        assert_eq!(e.detail("from"), "suspended");
        assert_eq!(e.detail("to"), name);
        // Refused: nothing leaves a final status, not even to itself.
        for to in ["active", "suspended", name] {
            let (v, e) = tail
                .status_change(
                    &mut bureau,
                    &id,
                    to,
                    "恢复",
                    (409, "licence.status", "invalid_transition"),
                )
                .await;
            assert_eq!(v["error"]["code"], "invalid_transition");
            assert_eq!(e.detail("from"), name);
        }
        let (v, _) = tail
            .get(
                &mut window,
                &status_path(&id),
                (200, "licence.status_read", "ok"),
            )
            .await;
        assert_eq!(
            (&v["status"], &v["status_code"]),
            (&json!(name), &json!(code))
        );
        let (v, _) = tail
            .post(
                &mut window,
                "/v1/verify",
                &json!({"licence": token, "purpose": "核验"}),
                (200, "licence.verify", name),
            )
            .await;
        assert_eq!(v["outcome"], name);
        assert_eq!(v["status_code"], code);
    }
    // Superseded comes only with a new version: asked for, by name or code, it is refused.
    let (id, _) = issue(&mut bureau, &req).await;
    tail.one("licence.issue", "ok").await;
    for asked in ["superseded", "06"] {
        tail.status_change(
            &mut bureau,
            &id,
            asked,
            "变更",
            (400, "licence.status", "invalid_request"),
        )
        .await;
    }
    // Active to active is refused; active to lapsed directly is allowed.
    tail.status_change(
        &mut bureau,
        &id,
        "01",
        "有效",
        (409, "licence.status", "invalid_transition"),
    )
    .await;
    let (v, _) = tail
        .status_change(
            &mut bureau,
            &id,
            "lapsed",
            "有效期届满未延续",
            (200, "licence.status", "ok"),
        )
        .await;
    assert_eq!(v["status_code"], "05");
}

#[tokio::test]
async fn verification_reads_the_live_status() {
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;
    let (id, token) = issue(&mut bureau, &fixture_request(REGION)).await;
    let issued = tail.one("licence.issue", "ok").await;

    let verify = json!({"licence": token, "purpose": "核验施工许可"});
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/verify",
            &verify,
            (200, "licence.verify", "valid"),
        )
        .await;
    assert_eq!(v["outcome"], "valid");
    assert_eq!(v["status"], "active");
    assert_eq!(v["report"]["outcome"], "valid");
    assert_eq!(v["report"]["status"], "not_checked");
    assert_eq!(v["report"]["licence"]["jti"], id.as_str());
    assert!(v.get("usage_copy").is_none());
    assert_eq!(e.entry["licence"], id.as_str());
    assert_eq!(e.entry["purpose"], "核验施工许可");
    assert_eq!(e.entry["holder"], issued.entry["holder"]);
    assert_actor(&e, REGION, "370900-window");

    for status in ["suspended", "revoked"] {
        json_of(&set_status(&mut bureau, &id, status).await, 200);
        tail.one("licence.status", "ok").await;
        let (v, _) = tail
            .post(
                &mut window,
                "/v1/verify",
                &verify,
                (200, "licence.verify", status),
            )
            .await;
        assert_eq!(v["outcome"], status);
        assert_eq!(v["status"], status);
        assert_eq!(v["report"]["outcome"], "valid", "valid as signed");
    }

    // A licence of another region: valid as signed, its status not checked here.
    let foreign =
        std::fs::read_to_string(root().join("fixtures/licences/valid.370115.jws")).unwrap();
    let (v, _) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"licence": foreign.trim_end(), "purpose": "核验外地证照"}),
            (200, "licence.verify", "valid"),
        )
        .await;
    assert_eq!(v["status"], "not_checked");
    // A licence of this region the node does not hold.
    let unknown =
        std::fs::read_to_string(root().join("fixtures/licences/valid.370900.jws")).unwrap();
    let (v, _) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"licence": unknown.trim_end(), "purpose": "核验"}),
            (200, "licence.verify", "status_unknown"),
        )
        .await;
    assert_eq!(v["status"], "unknown");
    // An invalid licence is a 200 too, with the licence core's outcome.
    let bad = std::fs::read_to_string(
        root().join("fixtures/licences/bad_signature.tampered-payload.jws"),
    )
    .unwrap();
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"licence": bad.trim_end(), "purpose": "核验"}),
            (200, "licence.verify", "bad_signature"),
        )
        .await;
    assert_eq!(v["status"], "not_checked");
    assert!(e.entry["holder"].is_null(), "no holder unless valid");
}

#[tokio::test]
async fn statutory_lookup_gives_usage_copies_that_verify() {
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;
    let (id, _) = issue(&mut bureau, &fixture_request(REGION)).await;
    let issued = tail.one("licence.issue", "ok").await;

    let req = lookup_body("001", ORG, STATUTORY);
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/lookups",
            &req,
            (200, "licence.lookup", "ok"),
        )
        .await;
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{v}");
    assert_eq!(results[0]["id"], id.as_str());
    assert_eq!(results[0]["status"], "active");
    let copy = results[0]["usage_copy"].as_str().unwrap().to_owned();
    assert_eq!(e.entry["matter"], STATUTORY);
    assert_eq!(e.entry["purpose"], "办理施工许可，免交纸质证照");
    assert_eq!(e.entry["holder"], issued.entry["holder"]);
    assert_eq!(
        e.detail("results"),
        &json!([{"id": id, "status": "active", "usage_copy": true}])
    );
    assert!(!e.text().contains(ORG));
    assert_actor(&e, REGION, "370900-window");

    // The usage copy verifies, with its facts beside the report.
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"licence": copy, "purpose": "核验加注件"}),
            (200, "licence.verify", "valid"),
        )
        .await;
    assert_eq!(v["status"], "active");
    let facts = &v["usage_copy"];
    assert_eq!(facts["for"], "370900-window");
    assert_eq!(facts["matter"], STATUTORY);
    assert_eq!(facts["purpose"], "办理施工许可，免交纸质证照");
    assert_eq!(facts["made_by"]["region"], REGION);
    assert_eq!(facts["made_by"]["node"], "zhengzhao-370900");
    assert_eq!(e.entry["matter"], STATUTORY);
    assert_eq!(e.detail("usage_copy"), true);
    assert_eq!(e.entry["licence"], id.as_str());

    // Suspended after the copy was made: the copy verifies as suspended, and a new lookup
    // returns the licence without a copy.
    json_of(&set_status(&mut bureau, &id, "suspended").await, 200);
    tail.one("licence.status", "ok").await;
    let (v, _) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"licence": copy, "purpose": "核验加注件"}),
            (200, "licence.verify", "suspended"),
        )
        .await;
    assert_eq!(v["status"], "suspended");
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/lookups",
            &req,
            (200, "licence.lookup", "ok"),
        )
        .await;
    assert_eq!(v["results"][0]["status"], "suspended");
    assert!(v["results"][0]["usage_copy"].is_null());
    assert!(v["results"][0]["licence"].is_string());
    assert_eq!(
        e.detail("results"),
        &json!([{"id": id, "status": "suspended", "usage_copy": false}])
    );

    // A usage copy whose signature was tampered with does not hold.
    let mut parts: Vec<String> = copy.split('.').map(str::to_owned).collect();
    let sig = parts[2].clone();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    parts[2] = format!("{flipped}{}", &sig[1..]);
    let (v, _) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"licence": parts.join("."), "purpose": "核验加注件"}),
            (200, "licence.verify", "bad_signature"),
        )
        .await;
    assert_eq!(v["usage_copy"]["outcome"], "bad_signature");
    assert_eq!(v["status"], "not_checked");

    // No licences: a 200 with an empty list.
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/lookups",
            &lookup_body("111", PERSON, STATUTORY),
            (200, "licence.lookup", "ok"),
        )
        .await;
    assert_eq!(v["results"], json!([]));
    assert_eq!(e.detail("results"), &json!([]));
}

#[tokio::test]
async fn consents_granted_used_and_withdrawn() {
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;
    let (id, _) = issue(&mut bureau, &person_request(PERSON)).await;
    let issued = tail.one("licence.issue", "ok").await;
    assert!(!issued.text().contains(PERSON));

    let (v, e) = tail
        .post(
            &mut bureau,
            "/v1/consents",
            &window_consent(json!({"uses": 2})),
            (201, "consent.grant", "ok"),
        )
        .await;
    let consent = v["consent_id"].as_str().unwrap().to_owned();
    assert_eq!(consent.len(), 32);
    assert!(consent.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(v["uses"], 2);
    assert!(v["until"].is_null());
    assert_eq!(e.detail("consent_id"), consent.as_str());
    assert_eq!(e.detail("grantee"), "370900-window");
    assert_eq!(e.detail("type_codes"), &json!([PERSON_TYPE]));
    assert_eq!(e.entry["holder"], issued.entry["holder"]);
    assert!(
        !e.text().contains(PERSON),
        "holder codes never enter the log"
    );
    assert_actor(&e, REGION, "370900-bureau");

    // A consent with an end.
    let until = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    let until = until
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (v, _) = tail
        .post(
            &mut bureau,
            "/v1/consents",
            &json!({
                "holder": {"type": "111", "code": PERSON},
                "grantee": "370900-window",
                "type_codes": [PERSON_TYPE, ORG_TYPE],
                "until": until
            }),
            (201, "consent.grant", "ok"),
        )
        .await;
    assert_eq!(v["until"], until.as_str());
    assert!(v["uses"].is_null());

    // A lookup for a matter that needs consent, with it: one use spent.
    let mut req = lookup_body("111", PERSON, CONSENT);
    req["consent"] = json!(consent);
    req["type_code"] = json!(PERSON_TYPE);
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/lookups",
            &req,
            (200, "licence.lookup", "ok"),
        )
        .await;
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{v}");
    assert_eq!(results[0]["id"], id.as_str());
    let copy = results[0]["usage_copy"].as_str().unwrap().to_owned();
    assert_eq!(e.detail("consent_id"), consent.as_str());
    assert_eq!(e.detail("consent_uses_left"), 1);
    assert_eq!(e.detail("type_code"), PERSON_TYPE);
    assert_eq!(e.entry["matter"], CONSENT);
    assert_eq!(e.entry["holder"], issued.entry["holder"]);
    assert!(!e.text().contains(PERSON));
    let (v, _) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"licence": copy, "purpose": "核验"}),
            (200, "licence.verify", "valid"),
        )
        .await;
    assert_eq!(v["usage_copy"]["matter"], CONSENT);

    // Statutory: no consent needed for a person either.
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/lookups",
            &lookup_body("111", PERSON, STATUTORY),
            (200, "licence.lookup", "ok"),
        )
        .await;
    assert_eq!(v["results"].as_array().unwrap().len(), 1);
    assert!(e.detail("consent_id").is_null());

    // In mode duty a consent given is ignored, and the entry says so.
    let mut org = lookup_body("001", ORG, STATUTORY);
    org["consent"] = json!(consent);
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/lookups",
            &org,
            (200, "licence.lookup", "ok"),
        )
        .await;
    assert_eq!(v["results"], json!([]));
    assert_eq!(e.detail("consent_ignored"), true);
    assert_eq!(e.detail("mode"), "duty");
    // In mode consent the consent must be the holder's, an organisation's too: the person's
    // consent does not let the window use the organisation's licences.
    let mut org = lookup_body("001", ORG, CONSENT);
    org["consent"] = json!(consent);
    tail.post(
        &mut window,
        "/v1/lookups",
        &org,
        (403, "licence.lookup", "consent_mismatch"),
    )
    .await;

    // Withdraw it: kept, marked withdrawn; lookups relying on it are refused from then on.
    let (v, e) = tail
        .delete(
            &mut bureau,
            &format!("/v1/consents/{consent}"),
            (200, "consent.revoke", "ok"),
        )
        .await;
    assert_eq!(v["consent_id"], consent.as_str());
    assert!(v["withdrawn_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(e.detail("consent_id"), consent.as_str());
    assert_eq!(e.entry["holder"], issued.entry["holder"]);
    tail.post(
        &mut window,
        "/v1/lookups",
        &req,
        (403, "licence.lookup", "consent_withdrawn"),
    )
    .await;
}

#[tokio::test]
async fn audit_entries_and_proofs_verify_against_the_signed_checkpoint() {
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;

    // Some requests, with their receipts.
    let mut receipts = Vec::new();
    let r = send(
        &mut bureau,
        "POST",
        "/v1/licences",
        Some(&fixture_request(REGION)),
    )
    .await;
    let id = json_of(&r, 201)["id"].as_str().unwrap().to_owned();
    receipts.push(receipt(&r).unwrap());
    let r = send(&mut window, "GET", &status_path(&id), None).await;
    receipts.push(receipt(&r).unwrap());
    let r = send(&mut window, "GET", "/v1/no-such-endpoint", None).await;
    receipts.push(receipt(&r).unwrap());
    let r = send(&mut window, "GET", "/v1/openapi.json", None).await;
    receipts.push(receipt(&r).unwrap());
    let last = receipts.last().unwrap().0;
    let entries = tail.new_entries().await;
    assert_eq!(entries.len(), 4);

    // A checkpoint covering them, opened with the pinned key.
    let (_, first_cp) = checkpoint(&node, &mut window, 1).await;
    let (_, cp) = checkpoint(&node, &mut window, last + 1).await;

    // The entries served are the log the checkpoint signs: [0, size) hashes to its root.
    let (all, read_at) = tail.read(Some(0), Some(cp.size)).await;
    assert_eq!(read_at, tail.next);
    tail.next = read_at + 1; // that read's own entry
    assert_eq!(all.len() as u64, cp.size);
    let mut range = CompactRange::new();
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.index, i as u64);
        range.push(merkle::leaf_hash(&e.line), |_, _| {});
    }
    assert_eq!(range.root(), cp.root, "the entries hash to the signed root");
    assert_eq!(all[0].action(), "node.start");
    assert_eq!(all[0].entry["actor"]["id"], "zhengzhao-370900");

    // Each receipt: the leaf hash is the entry's, and an inclusion proof holds.
    for (index, leaf) in &receipts {
        let e = &all[usize::try_from(*index).unwrap()];
        assert_eq!(&e.leaf_b64(), leaf, "entry {index}'s leaf hash");
        let path = format!("/v1/audit/proof/inclusion?index={index}&size={}", cp.size);
        let (v, e) = tail
            .get(&mut window, &path, (200, "audit.read", "ok"))
            .await;
        assert_eq!(e.detail("index"), *index);
        assert_eq!(e.detail("size"), cp.size);
        assert_eq!(v["index"], *index);
        assert_eq!(v["size"], cp.size);
        let proof: Vec<_> = v["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| hash_b64(h.as_str().unwrap()))
            .collect();
        merkle::verify_inclusion(&hash_b64(leaf), *index, cp.size, &proof, &cp.root)
            .unwrap_or_else(|e| panic!("inclusion of {index} in {}: {e}", cp.size));
        // A proof for another leaf does not hold.
        let wrong = merkle::leaf_hash(b"not the entry");
        assert!(merkle::verify_inclusion(&wrong, *index, cp.size, &proof, &cp.root).is_err());
    }

    // Consistency between the first checkpoint and the newer one.
    let (_, newer) = checkpoint(&node, &mut window, tail.next).await;
    let path = format!(
        "/v1/audit/proof/consistency?from={}&to={}",
        first_cp.size, newer.size
    );
    let (v, e) = tail
        .get(&mut window, &path, (200, "audit.read", "ok"))
        .await;
    assert_eq!(e.detail("from"), first_cp.size);
    assert_eq!(e.detail("to"), newer.size);
    let proof: Vec<_> = v["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hash_b64(h.as_str().unwrap()))
        .collect();
    merkle::verify_consistency(
        first_cp.size,
        newer.size,
        &proof,
        &first_cp.root,
        &newer.root,
    )
    .unwrap();
    // Equal sizes: an empty proof.
    let path = format!(
        "/v1/audit/proof/consistency?from={}&to={}",
        newer.size, newer.size
    );
    let (v, _) = tail
        .get(&mut window, &path, (200, "audit.read", "ok"))
        .await;
    assert_eq!(v["hashes"], json!([]));

    // Reading entries is audited, with the range in the detail and the receipt in headers.
    let from = tail.next;
    assert!(tail.new_entries().await.is_empty());
    let (entries, _) = tail.read(Some(from), Some(from + 1)).await;
    assert_eq!(entries.len(), 1);
    let own = &entries[0];
    assert_eq!(own.index, from);
    assert_eq!(own.action(), "audit.read");
    assert_eq!(own.outcome(), "ok");
    assert_eq!(own.detail("from"), from);
    assert_eq!(own.detail("to"), from, "`to` defaults to the log's size");
    assert_actor(own, REGION, "370900-bureau");
}

/// Every answer that records an access carries the receipt of its entry, in the body or (for
/// entries and openapi.json) in the headers; the unaudited ones carry none.
#[tokio::test]
async fn receipts_name_the_entries() {
    let node = Node::start(REGION);
    let mut tail = AuditTail::new(&node).await;
    let mut window = node.window();
    for (method, path) in [
        ("GET", "/v1/openapi.json"),
        ("GET", "/v1/nothing-here"),
        ("PUT", "/v1/verify"),
        ("GET", "/v1/audit/proof/inclusion?index=0&size=1"),
    ] {
        let r = send(&mut window, method, path, None).await;
        let e = tail.new_entries().await;
        assert_eq!(e.len(), 1, "{method} {path}");
        e[0].assert_receipt_of(&r);
    }
    for path in ["/healthz", "/v1/audit/checkpoint", "/v1/audit/vkey"] {
        let r = send(&mut window, "GET", path, None).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(receipt(&r).is_none(), "{path} is unaudited: no receipt");
    }
    tail.none().await;
}

/// P-256's group order, big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// The same ES256 token with its signature (r, s) replaced by (r, n − s), which verifies too.
fn malleate(token: &str) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&B64URL.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256", "the demo signer signs with ES256");
    let sig = B64URL.decode(parts[2]).unwrap();
    assert_eq!(sig.len(), 64);
    let mut s = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(P256_N[i]) - i16::from(sig[32 + i]) - borrow;
        borrow = i16::from(d < 0);
        s[i] = u8::try_from(d.rem_euclid(256)).unwrap();
    }
    assert_eq!(borrow, 0);
    let mut out = sig[..32].to_vec();
    out.extend_from_slice(&s);
    format!("{}.{}.{}", parts[0], parts[1], B64URL.encode(out))
}

/// docs/licence-format.md: a licence's identity is its `jti`, never the token's bytes, since
/// (r, s) and (r, n − s) both verify. So the other signature of a revoked licence must be
/// reported revoked too, not valid and not unknown.
#[tokio::test]
async fn the_other_ecdsa_signature_of_a_licence_gets_its_live_status() {
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;
    let (id, token) = issue(&mut bureau, &fixture_request(REGION)).await;
    let twin = malleate(&token);
    assert_ne!(twin, token);
    tail.one("licence.issue", "ok").await;
    let (v, _) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"licence": twin, "purpose": "核验"}),
            (200, "licence.verify", "valid"),
        )
        .await;
    assert_eq!(v["report"]["licence"]["jti"], id.as_str());
    json_of(&set_status(&mut bureau, &id, "revoked").await, 200);
    tail.one("licence.status", "ok").await;
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/verify",
            &json!({"licence": twin, "purpose": "核验"}),
            (200, "licence.verify", "revoked"),
        )
        .await;
    assert_eq!(v["status"], "revoked");
    assert_eq!(e.entry["licence"], id.as_str());
}

/// A lookup answers with at most `MAX_LOOKUP_RESULTS` licences: exactly that many is not "more";
/// one beyond is, and the ones left out are the last in the holder index (by id) and get no
/// usage copy. The entry lists what was handed out.
#[tokio::test]
async fn a_lookup_answers_with_at_most_50_licences_and_says_when_there_were_more() {
    use zhengzhao::node::api::MAX_LOOKUP_RESULTS;
    assert_eq!(MAX_LOOKUP_RESULTS, 50, "the docs say 50");
    let node = Node::start(REGION);
    let mut bureau = node.bureau();
    let mut window = node.window();
    let mut ids = Vec::new();
    for _ in 0..MAX_LOOKUP_RESULTS {
        ids.push(issue(&mut bureau, &fixture_request(REGION)).await.0);
    }
    let mut tail = AuditTail::new(&node).await;
    let req = lookup_body("001", ORG, STATUTORY);
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/lookups",
            &req,
            (200, "licence.lookup", "ok"),
        )
        .await;
    assert_eq!(v["results"].as_array().unwrap().len(), MAX_LOOKUP_RESULTS);
    assert_eq!(v["more"], false);
    assert!(e.entry["detail"].get("more").is_none(), "{}", e.text());

    for _ in 0..2 {
        ids.push(issue(&mut bureau, &fixture_request(REGION)).await.0);
    }
    let mut tail = AuditTail::new(&node).await;
    let (v, e) = tail
        .post(
            &mut window,
            "/v1/lookups",
            &req,
            (200, "licence.lookup", "ok"),
        )
        .await;
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), MAX_LOOKUP_RESULTS);
    assert_eq!(v["more"], true);
    assert!(results.iter().all(|r| r["usage_copy"].is_string()));
    let mut sorted = ids.clone();
    sorted.sort();
    let answered: Vec<&str> = results.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let first: Vec<&str> = sorted[..MAX_LOOKUP_RESULTS]
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(answered, first, "the first 50 in id order");
    assert_eq!(e.detail("more"), true);
    let listed = e.detail("results").as_array().unwrap();
    assert_eq!(listed.len(), MAX_LOOKUP_RESULTS);
    assert!(listed.iter().all(|r| r["usage_copy"] == true));
}
