#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! A holder's ID number in disguise, sent to a real node in a purpose, a path, a query and a
//! status reason, must come out of none of it: not in an audit entry (read back over the API),
//! not in the node's log on standard error, not in any answer (usage copies included).
//!
//! `11010519491231002X` is the example number printed in GB 11643 itself, nobody's. The
//! licences used are an organisation's, so no answer has a reason to carry a person's number.

#[allow(dead_code)] // uses only part of the shared support
mod node_support;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization as _;

use node_support::*;

/// The number in disguise, as a person might type it into free text.
fn disguised_texts() -> Vec<String> {
    vec![
        "１１０１０５１９４９１２３１００２Ｘ".into(),
        "110105\u{3000}19491231\u{3000}002X".into(),
        "110105-1949-1231-002X".into(),
        "110.105.1949.1231.002.x".into(),
        "一一〇一〇五一九四九一二三一〇〇二X".into(),
        "一一零一零五 一九四九 一二三一 零零二Ｘ".into(),
        "壹壹零壹零伍壹玖肆玖壹贰叁壹零零贰X".into(),
        "%31%31%30%31%30%35%31%39%34%39%31%32%33%31%30%30%32%58".into(),
        "%EF%BC%91%EF%BC%91010519491231002X".into(),
        "1101\u{200B}0519491231\u{2060}002X".into(),
        "110105\u{202E}19491231\u{2066}002X".into(),
        "１1〇-1０5 %31９4九 12·31 零0%32 x".into(),
    ]
}

/// Percent-encodes every byte of `s` that is not unreserved in a URI.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The number as paths carry it (each a valid URI path segment).
fn disguised_segments() -> Vec<String> {
    let mut v = vec![
        "110105-19491231-002X".to_owned(),
        "110105.19491231.002X".to_owned(),
        "%31%31%30%31%30%35%31%39%34%39%31%32%33%31%30%30%32%58".to_owned(),
        "%2531%2531010519491231002X".to_owned(),
    ];
    for s in [
        "１１０１０５１９４９１２３１００２Ｘ",
        "一一〇一〇五一九四九一二三一〇〇二X",
        "110105\u{3000}19491231\u{200B}002X",
    ] {
        v.push(encode(s));
    }
    v
}

/// The text read as the redaction reads it, strictly: each character normalised (NFKC),
/// percent-encoding decoded (or not), Chinese numerals as digits, and only digits and
/// upper-case letters kept; tokens become `|`.
fn reading(text: &str, decode: bool) -> String {
    let mut t = text.replace("<redacted>", "|");
    for prefix in ["<holder:", "<licence:"] {
        while let Some(i) = t.find(prefix) {
            let end = t[i..].find('>').map_or(t.len(), |e| i + e + 1);
            t.replace_range(i..end, "|");
        }
    }
    let mut chars: Vec<char> = t.chars().flat_map(|c| std::iter::once(c).nfkc()).collect();
    if decode {
        for _ in 0..4 {
            let s: String = chars.iter().collect();
            let decoded = percent_decode(&s);
            chars = decoded
                .chars()
                .flat_map(|c| std::iter::once(c).nfkc())
                .collect();
        }
    }
    chars
        .into_iter()
        .filter_map(|c| {
            let c = numeral(c).unwrap_or(c);
            if c.is_ascii_alphanumeric() || c == '|' {
                Some(c.to_ascii_uppercase())
            } else {
                None
            }
        })
        .collect()
}

fn numeral(c: char) -> Option<char> {
    let d = "〇一二三四五六七八九"
        .chars()
        .position(|n| n == c)
        .or_else(|| "零壹贰叁肆伍陆柒捌玖".chars().position(|n| n == c))?;
    char::from_digit(u32::try_from(d).ok()?, 10)
}

/// `%XX` decoded as UTF-8 (lossy), everything else as is.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|c| char::from(*c).to_digit(16));
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2))
        {
            out.push(u8::try_from(h * 16 + l).unwrap());
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether 15 consecutive characters of PERSON can be read in `text`.
fn leaks(text: &str) -> bool {
    [true, false].into_iter().any(|decode| {
        let r = reading(text, decode);
        (0..=PERSON.len() - 15).any(|i| r.contains(&PERSON[i..i + 15]))
    })
}

/// The strings of a JSON answer, with the payload of each JWS among them decoded (usage
/// copies carry the purpose).
fn answer_texts(reply: &zhengzhao::node::client::Reply) -> Vec<String> {
    let mut out = vec![reply.text()];
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                let parts: Vec<&str> = s.split('.').collect();
                if parts.len() == 3
                    && let Ok(payload) = B64URL.decode(parts[1])
                {
                    out.push(String::from_utf8_lossy(&payload).into_owned());
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(m) => m.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    if let Ok(v) = reply.json() {
        walk(&v, &mut out);
    }
    out
}

#[tokio::test]
async fn disguised_id_numbers_reach_no_entry_log_line_or_answer() {
    let mut node = Node::start(REGION);
    let mut bureau = node.bureau();
    let mut window = node.window();
    let mut leaked: Vec<String> = Vec::new();
    let mut check = |what: &str, reply: &zhengzhao::node::client::Reply| {
        for text in answer_texts(reply) {
            if leaks(&text) {
                leaked.push(format!("answer to {what} (HTTP {}): {text}", reply.status));
            }
        }
    };

    let (id, token) = issue(&mut bureau, &fixture_request(REGION)).await;
    // The reading finds the number where it is in clear, so a pass means something.
    assert!(leaks(&format!("核验 {}", disguised_texts()[4])));

    for (i, d) in disguised_texts().iter().enumerate() {
        let purpose = format!("核验 {d} 的证照");
        let r = send(
            &mut window,
            "POST",
            "/v1/verify",
            Some(&json!({"licence": token, "purpose": purpose})),
        )
        .await;
        check(&format!("verify, purpose {i}"), &r);
        let r = send(
            &mut window,
            "POST",
            "/v1/lookups",
            Some(&json!({
                "holder": {"type": "001", "code": ORG},
                "matter": STATUTORY,
                "purpose": purpose,
                "case": "370900-2026-000003",
                "mode": "duty",
            })),
        )
        .await;
        check(&format!("lookup, purpose {i}"), &r);
    }

    for (i, seg) in disguised_segments().iter().enumerate() {
        for path in [
            status_path(seg),
            format!("/v1/licences/{seg}"),
            format!("/v1/{seg}"),
            format!("/v1/audit/entries?from=0&to=0&holder={seg}"),
            format!("/v1/audit/entries?{seg}=1"),
            format!("/v1/audit/entries?from={seg}"),
        ] {
            let r = send(&mut bureau, "GET", &path, None).await;
            check(&format!("GET path {i}: {path}"), &r);
        }
    }

    // A status reason, then the status as read by the issuer and by another department.
    let status = status_path(&id);
    for (i, d) in disguised_texts().iter().enumerate() {
        let (to, back) = ("suspended", "active");
        for s in [to, back] {
            let r = send(
                &mut bureau,
                "POST",
                &status,
                Some(&json!({"status": s, "reason": format!("持证人 {d} 申请")})),
            )
            .await;
            check(&format!("status change, reason {i}"), &r);
        }
    }
    let r = send(&mut bureau, "GET", &status, None).await;
    check("GET status by the issuer", &r);
    let r = send(&mut window, "GET", &status, None).await;
    check("GET status by another department", &r);

    // Every entry, read back over the API.
    let mut tail = AuditTail::new(&node).await;
    let (entries, _) = tail.read(Some(0), None).await;
    assert!(entries.len() > 50, "{} entries", entries.len());
    for e in &entries {
        let text = e.text();
        if leaks(&text) {
            leaked.push(format!("entry {}: {text}", e.index));
        }
        assert!(
            !text.contains(['\u{2028}', '\u{2029}', '\u{200B}', '\u{202E}', '\u{2066}']),
            "entry {} holds a character a reader misreads: {text}",
            e.index
        );
    }

    node.stop();
    let stderr = node.stderr();
    for line in stderr.lines() {
        if leaks(line) {
            leaked.push(format!("log line: {line}"));
        }
    }
    assert!(
        leaked.is_empty(),
        "{} leaks of the number:\n{}",
        leaked.len(),
        leaked.join("\n")
    );
}
