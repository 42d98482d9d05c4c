#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! 用证 by matter and case (docs/api.md, `POST /v1/lookups`): each lookup names its case number
//! and its mode (`duty`, `consent`, `delegate`), its entry records them (the delegate by its
//! keyed hash only), each refused input has its error code and one entry, and
//! `zhengzhao audit export --case` / `--licence` find exactly the entries of a case or a licence
//! through the store's index, checked against the log.

#[allow(dead_code)] // uses only part of the shared support
mod node_support;

use std::process::Command;

use serde_json::{Value, json};
use zhengzhao::node::client::Client;

use node_support::*;

/// A lookup of `holder` for `matter` in `mode`, for case `case`.
fn ask(holder: Value, matter: &str, case: &str, mode: &str) -> Value {
    json!({
        "holder": holder,
        "matter": matter,
        "purpose": "办理施工许可，免交纸质证照",
        "case": case,
        "mode": mode,
    })
}

fn person() -> Value {
    json!({"type": "111", "code": PERSON})
}

fn org() -> Value {
    json!({"type": "001", "code": ORG})
}

/// `POST /v1/lookups` by the window, [`expect`]ed to get `want`.
async fn lookup(
    tail: &mut AuditTail,
    window: &mut Client,
    body: &Value,
    want: Want<'_>,
) -> (Value, Logged) {
    tail.post(window, "/v1/lookups", body, want).await
}

/// `zhengzhao audit export --data-dir DIR ARGS…`: exit status, the entries' indexes, stderr.
fn export(node: &Node, args: &[&str]) -> (i32, Vec<u64>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zhengzhao"))
        .args(["audit", "export", "--data-dir"])
        .arg(&node.data_dir)
        .args(args)
        .output()
        .unwrap();
    let lines = parse_lines(&out.stdout);
    for l in &lines {
        // Each line carries the entry as it is in the log, with its leaf hash.
        let entry = &l.entry["entry"];
        assert_eq!(entry["index"].as_u64(), Some(l.index));
    }
    (
        out.status.code().unwrap_or(-1),
        lines.iter().map(|l| l.index).collect(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn lookups_name_case_and_mode_and_export_finds_them_by_case_and_licence() {
    let node = Node::start(REGION);
    let (mut tail, mut bureau, mut window) = node.session().await;
    let (org_id, _) = issue(&mut bureau, &fixture_request(REGION)).await;
    let org_issue = tail.one("licence.issue", "ok").await;
    let (person_id, _) = issue(&mut bureau, &person_request(PERSON)).await;
    let person_issue = tail.one("licence.issue", "ok").await;
    let (v, _) = tail
        .post(
            &mut bureau,
            "/v1/consents",
            &window_consent(json!({"uses": 10})),
            (201, "consent.grant", "ok"),
        )
        .await;
    let consent = v["consent_id"].as_str().unwrap().to_owned();

    // 依职能: a statutory matter, no consent.
    let (v, duty) = tail
        .post(
            &mut window,
            "/v1/lookups",
            &ask(org(), STATUTORY, "370900-2026-000001", "duty"),
            (200, "licence.lookup", "ok"),
        )
        .await;
    assert_eq!(v["results"][0]["id"], org_id.as_str());
    assert_eq!(v["results"][0]["status_code"], "01");
    assert_eq!(duty.entry["matter"], STATUTORY);
    assert_eq!(duty.entry["purpose"], "办理施工许可，免交纸质证照");
    assert_eq!(duty.detail("case"), "370900-2026-000001");
    assert_eq!(duty.detail("mode"), "duty");
    assert!(duty.detail("delegate").is_null());

    // 授权用证: the holder's consent, spent. A case number of many digits is kept as it is.
    let long_case = "3709002026120200000000042";
    let mut body = ask(person(), CONSENT, long_case, "consent");
    body["consent"] = json!(consent);
    let (v, by_consent) =
        lookup(&mut tail, &mut window, &body, (200, "licence.lookup", "ok")).await;
    assert_eq!(v["results"][0]["id"], person_id.as_str());
    assert_eq!(by_consent.detail("case"), long_case);
    assert_eq!(by_consent.detail("mode"), "consent");
    assert_eq!(by_consent.detail("consent_id"), consent.as_str());

    // 委托: a delegate under the holder's authorisation, with the consent; the delegate is
    // logged by its keyed hash, never its code or name.
    let mut body = ask(person(), CONSENT, "370900-2026-000001", "delegate");
    body["consent"] = json!(consent);
    body["delegate"] = json!({"name": "王五", "type": "111", "code": OTHER_PERSON});
    let (_, delegated) = lookup(&mut tail, &mut window, &body, (200, "licence.lookup", "ok")).await;
    assert_eq!(delegated.detail("mode"), "delegate");
    let hash = delegated.detail("delegate");
    assert_eq!(
        hash.as_str().map(str::len),
        Some(64),
        "a keyed hash: {hash}"
    );
    assert_ne!(hash, &delegated.entry["holder"]);
    assert!(!delegated.text().contains(OTHER_PERSON));
    assert!(!delegated.text().contains("王五"));

    // Each refusal: its code, and one entry that names what was refused.
    let no_case = {
        let mut b = ask(org(), STATUTORY, "x", "duty");
        b.as_object_mut().unwrap().remove("case");
        b
    };
    let no_mode = {
        let mut b = ask(org(), STATUTORY, "C-9", "duty");
        b.as_object_mut().unwrap().remove("mode");
        b
    };
    let no_delegate = {
        let mut b = ask(person(), CONSENT, "C-9", "delegate");
        b["consent"] = json!(consent);
        b
    };
    let no_consent = {
        let mut b = ask(person(), CONSENT, "C-9", "delegate");
        b["delegate"] = json!({"name": "王五", "type": "111", "code": OTHER_PERSON});
        b
    };
    let bad_delegate = {
        let mut b = ask(person(), CONSENT, "C-9", "delegate");
        b["consent"] = json!(consent);
        b["delegate"] = json!({"name": "王五", "type": "111", "code": "110105194912310039"});
        b
    };
    let delegate_in_duty = {
        let mut b = ask(org(), STATUTORY, "C-9", "duty");
        b["delegate"] = json!({"name": "王五", "type": "111", "code": OTHER_PERSON});
        b
    };
    for (body, status, code) in [
        (no_case, 400, "invalid_case"),
        (ask(org(), STATUTORY, "", "duty"), 400, "invalid_case"),
        (ask(org(), STATUTORY, "a b", "duty"), 400, "invalid_case"),
        (ask(org(), STATUTORY, PERSON, "duty"), 400, "invalid_case"),
        (
            ask(org(), STATUTORY, &format!("case-{ORG}"), "duty"),
            400,
            "invalid_case",
        ),
        (no_mode, 400, "invalid_mode"),
        (
            ask(org(), STATUTORY, "C-9", "statutory"),
            400,
            "invalid_mode",
        ),
        (ask(org(), CONSENT, "C-9", "duty"), 403, "mode_not_allowed"),
        (no_delegate, 400, "delegate_required"),
        (bad_delegate, 400, "invalid_delegate"),
        (delegate_in_duty, 400, "invalid_delegate"),
        (no_consent, 403, "consent_required"),
        (
            ask(person(), CONSENT, "C-9", "consent"),
            403,
            "consent_required",
        ),
    ] {
        let (v, e) = lookup(
            &mut tail,
            &mut window,
            &body,
            (status, "licence.lookup", code),
        )
        .await;
        assert_eq!(v["error"]["code"], code, "{body}");
        assert!(!e.text().contains(PERSON) && !e.text().contains(OTHER_PERSON));
        assert!(!v.to_string().contains(PERSON), "{v}");
    }

    // A status change and a verification name the licence too.
    json_of(&set_status(&mut bureau, &person_id, "02").await, 200);
    let suspended = tail.one("licence.status", "ok").await;

    // Export by case: exactly the lookups that named it (the delegate's and the duty one),
    // and none of the refusals of the other cases.
    let (code, got, err) = export(&node, &["--case", "370900-2026-000001"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(got, [duty.index, delegated.index]);
    let (_, got, _) = export(&node, &["--case", long_case]);
    assert_eq!(got, [by_consent.index]);
    let (code, got, _) = export(&node, &["--case", "no-such-case"]);
    assert_eq!((code, got.len()), (0, 0));
    // Export by licence: its issuance, the lookups that handed it out, its status change.
    let (_, got, _) = export(&node, &["--licence", &person_id]);
    assert_eq!(
        got,
        [
            person_issue.index,
            by_consent.index,
            delegated.index,
            suspended.index
        ]
    );
    let (_, got, _) = export(&node, &["--licence", &org_id]);
    assert_eq!(got, [org_issue.index, duty.index]);
    // --case and --from do not go together.
    let (code, _, _) = export(&node, &["--case", "C-9", "--from", "1"]);
    assert_eq!(code, 2);
}
