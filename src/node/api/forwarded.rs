//! A lookup forwarded to a partner node, and the checks on what it answers.

use std::str::FromStr;

use serde_json::{Value, json};

use crate::codes::{HolderCode, HolderType};
use crate::licence::verify::Outcome;
use crate::node::usage::{self};

use super::input::now_ms;
use super::lookups::MAX_LOOKUP_RESULTS;

/// What a partner answered to a forwarded lookup, after checking.
pub(super) struct Forwarded {
    pub(super) results: Vec<Value>,
    /// The partner had more than it answered with.
    pub(super) more: bool,
    pub(super) dropped: Vec<Value>,
    pub(super) receipt: Option<u64>,
}

/// Forwards a lookup to the partner of `region` and checks every licence it returns against
/// that partner's anchors and recognition; what fails is dropped (and named in the entry).
pub(super) async fn forward_lookup(
    node: &crate::node::Node,
    region: crate::codes::RegionCode,
    body: Vec<u8>,
    deadline: tokio::time::Instant,
    expected: &Expected,
) -> Result<Forwarded, (String, Option<u64>)> {
    let link = node
        .federation
        .partner(&region)
        .ok_or_else(|| ("not_a_partner".to_owned(), None))?;
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    let reply = link
        .call(
            "POST",
            "/v1/federation/lookups",
            Some("application/json"),
            body,
            left,
        )
        .await
        .map_err(|e| {
            tracing::info!(partner = %region, error = %e, "forwarded lookup failed");
            let code = if e.starts_with("no answer within") {
                "deadline"
            } else if e.starts_with(crate::node::client::ANSWER_TOO_LARGE) {
                "bad_answer"
            } else {
                "unreachable"
            };
            (code.to_owned(), None)
        })?;
    let v = reply.json().map_err(|_| ("bad_answer".to_owned(), None))?;
    // The partner's entry for this lookup, whatever it answered: an auditor finds both halves.
    let receipt = v.pointer("/receipt/index").and_then(Value::as_u64);
    let refuse = |code: &str| (code.to_owned(), receipt);
    if reply.status != 200 {
        // The partner's error code, if it is one (it goes into this node's answer and entry).
        let code = v
            .pointer("/error/code")
            .and_then(|c| c.as_str())
            .filter(|c| {
                (1..=64).contains(&c.len())
                    && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            })
            .unwrap_or("bad_answer");
        return Err(refuse(code));
    }
    let items = v
        .get("results")
        .and_then(|r| r.as_array())
        .ok_or_else(|| refuse("bad_answer"))?;
    // A partner answers with at most as many as any node does; more is not checked one by one.
    if items.len() > MAX_LOOKUP_RESULTS {
        tracing::warn!(partner = %region, results = items.len(), "a partner answered with too many licences");
        return Err(refuse("too_many_results"));
    }
    let more = v.get("more").and_then(Value::as_bool).unwrap_or(false);
    let now = now_ms() / 1000;
    let mut results = Vec::new();
    let mut dropped = Vec::new();
    let region_s = region.to_string();
    for item in items {
        let id = item.get("id").and_then(Value::as_str).unwrap_or("");
        let licence = item.get("licence").and_then(Value::as_str).unwrap_or("");
        let status = item.get("status").and_then(Value::as_str).unwrap_or("");
        let copy = item.get("usage_copy").and_then(Value::as_str);
        let refusal = if ["active", "suspended", "revoked"].contains(&status) {
            check_forwarded(node, link, (id, licence, copy), now, expected)
        } else {
            Some((
                "malformed",
                "the status is not active, suspended or revoked".into(),
            ))
        };
        match refusal {
            None => results.push(json!({
                "id": id,
                "region": region_s,
                "status": status,
                "licence": licence,
                "usage_copy": copy,
            })),
            Some((outcome, detail)) => {
                tracing::warn!(partner = %region, %outcome, %detail, "a partner's licence dropped");
                dropped.push(json!({
                    "region": region_s,
                    "id": id.chars().take(64).collect::<String>(),
                    "outcome": outcome,
                    "detail": detail.chars().take(256).collect::<String>(),
                }));
            }
        }
    }
    Ok(Forwarded {
        results,
        more,
        dropped,
        receipt,
    })
}

/// What a forwarded lookup asked for whom, which every licence and usage copy in the answer
/// must match.
pub(super) struct Expected {
    pub(super) holder: HolderCode,
    pub(super) type_code: Option<String>,
    /// The department's 用证清单 types.
    pub(super) types: crate::node::config::Types,
    /// `<region>/<department>`, as the partner names the copy's recipient.
    pub(super) for_: String,
    pub(super) matter: String,
    pub(super) purpose: String,
}

/// Why a licence (and its usage copy) a partner returned is not passed on, if it is not.
pub(super) fn check_forwarded(
    node: &crate::node::Node,
    link: &crate::node::federation::PartnerLink,
    (id, licence, copy): (&str, &str, Option<&str>),
    now: i64,
    expected: &Expected,
) -> Option<(&'static str, String)> {
    let region = link.partner.region.to_string();
    let report = node.verifier.verify(licence, now);
    let Some(claims) = &report.licence else {
        return Some((
            report.outcome.as_str(),
            "the licence does not verify".into(),
        ));
    };
    if claims.lic.region != region {
        return Some((
            "wrong_region",
            format!(
                "the partner of region {region} answered with a licence of region {}",
                claims.lic.region
            ),
        ));
    }
    if report.outcome != Outcome::Valid && report.outcome != Outcome::Expired {
        let why = report
            .first_failure()
            .map(|c| c.detail.clone())
            .unwrap_or_default();
        return Some((report.outcome.as_str(), why));
    }
    if claims.jti != id {
        return Some(("malformed", "the id does not match the licence".into()));
    }
    // The answer must be about what was asked: a partner answering with someone else's licence
    // would hand this department a holder it did not ask about (and may not see).
    let holder = HolderType::from_str(&claims.lic.holder_type)
        .ok()
        .and_then(|t| HolderCode::parse(t, &claims.sub).ok());
    if holder.as_ref() != Some(&expected.holder) {
        return Some((
            "wrong_holder",
            "the licence is not the holder's that was asked about".into(),
        ));
    }
    if let Some(t) = expected
        .type_code
        .as_ref()
        .filter(|t| **t != claims.lic.type_code)
    {
        return Some((
            "wrong_type",
            format!(
                "type {t} was asked for, the licence is of type {}",
                claims.lic.type_code
            ),
        ));
    }
    // The department's own 用证清单 holds for what partners return, too.
    if !expected.types.allows(&claims.lic.type_code) {
        return Some((
            "type_not_allowed",
            format!(
                "the department may not use licences of type {}",
                claims.lic.type_code
            ),
        ));
    }
    if let Some(r) =
        crate::node::federation::partner_refusal(link, licence, &claims.lic.type_code, claims.iat)
    {
        return Some(r);
    }
    if let Some(copy) = copy {
        match usage::check(copy, node.verifier.trust(), now) {
            Ok(c)
                if c.made_by.region == region
                    && c.licence == licence
                    && c.for_ == expected.for_
                    && c.matter == expected.matter
                    && c.purpose == expected.purpose => {}
            Ok(_) => {
                return Some((
                    "bad_usage_copy",
                    "the usage copy is not the partner's copy of this licence for this \
                     department, matter and purpose"
                        .into(),
                ));
            }
            Err(r) => return Some((r.outcome, r.detail)),
        }
    }
    None
}
