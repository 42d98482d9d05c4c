//! Lookups across regions, as the asking node sees them: the lookup forwarded to a partner
//! node on behalf of a department, and the checks on every licence (and usage copy) the partner
//! answers with before it is passed on.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::HolderRef;
use super::lookups::{CopyFormat, LookupResult, MAX_LOOKUP_RESULTS};
use super::now_ms;
use super::usage;
use crate::codes::{HolderCode, HolderType, RegionCode};
use crate::licence::model::Claims;
use crate::licence::verify::{Outcome, Verifier};
use crate::node::Node;
use crate::node::config::Types;
use crate::node::federation::PartnerLink;
use crate::node::state::Status;

/// A lookup forwarded by a partner node on behalf of one of its departments: the body of
/// `POST /v1/federation/lookups`.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FederatedLookupRequest)]
pub struct ForwardedLookup {
    /// The partner's department.
    pub department: String,
    /// The holder.
    pub holder: HolderRef,
    /// The type asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_code: Option<String>,
    /// The matter.
    pub matter: String,
    /// The purpose.
    pub purpose: String,
    /// The holder's consent, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<String>,
    /// The case number (业务流水号); required, as in `POST /v1/lookups`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(required = true, value_type = String)]
    pub case: Option<String>,
    /// `duty`, `consent` or `delegate`; required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(required = true, value_type = super::basis::Mode)]
    pub mode: Option<String>,
    /// The delegate, in mode `delegate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegate: Option<super::basis::DelegateRef>,
    /// The usage copies' format; absent: JWS.
    #[serde(default, skip_serializing_if = "CopyFormat::is_jws")]
    #[schema(value_type = Option<String>)]
    pub format: CopyFormat,
}

/// A licence a partner answered with that was not passed on, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dropped {
    /// Why, in words (at most 256 characters).
    pub detail: String,
    /// The id the partner gave (at most 64 characters).
    pub id: String,
    /// Why: a verification outcome, or `wrong_region`, `wrong_holder`, `wrong_type`,
    /// `type_not_allowed`, `bad_usage_copy`, `malformed`.
    pub outcome: String,
    /// The partner's region.
    pub region: String,
}

/// What a partner answered to a forwarded lookup, after checking.
pub struct Forwarded {
    /// The licences that passed.
    pub results: Vec<LookupResult>,
    /// The partner had more than it answered with.
    pub more: bool,
    /// The licences that did not pass.
    pub dropped: Vec<Dropped>,
    /// The index of the partner's entry for the lookup, if it gave one.
    pub receipt: Option<u64>,
}

/// What a forwarded lookup asked for whom, which every licence and usage copy in the answer
/// must match.
pub struct Expected {
    /// The holder asked about.
    pub holder: HolderCode,
    /// The type asked for, if one.
    pub type_code: Option<String>,
    /// The department's 用证清单 types.
    pub types: Types,
    /// `<region>/<department>`, as the partner names the copy's recipient.
    pub for_: String,
    /// The matter.
    pub matter: String,
    /// The purpose, as forwarded.
    pub purpose: String,
    /// The usage copies' format.
    pub format: CopyFormat,
}

/// Forwards a lookup to the partner of `region` and checks every licence it returns against
/// that partner's anchors and recognition; what fails is dropped (and named in the entry).
/// A failure is an error code (`not_a_partner`, `deadline`, `bad_answer`, `unreachable`,
/// `too_many_results` or the partner's own) with the partner's receipt, if it gave one.
pub async fn forward_lookup(
    node: &Node,
    region: RegionCode,
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
        let copy = item.get("usage_copy").and_then(Value::as_str);
        let status = Status::from_answer(
            item.get("status").and_then(Value::as_str),
            item.get("status_code").and_then(Value::as_str),
        )
        .and_then(|s| match s {
            // A lookup leaves superseded versions out.
            Status::Superseded => Err("a superseded version in a lookup's results".to_owned()),
            s => Ok(s),
        });
        let (status, refusal) = match status {
            Ok(s) => (s, None),
            Err(why) => (Status::Revoked, Some(("malformed", why))),
        };
        let refusal =
            refusal.or_else(|| check_forwarded(node, link, (id, licence, copy), now, expected));
        match refusal {
            None => results.push(LookupResult {
                id: id.to_owned(),
                licence: licence.to_owned(),
                region: region_s.clone(),
                status,
                status_code: status.code(),
                usage_copy: copy.map(str::to_owned),
            }),
            Some((outcome, detail)) => {
                tracing::warn!(partner = %region, %outcome, %detail, "a partner's licence dropped");
                dropped.push(Dropped {
                    detail: detail.chars().take(256).collect(),
                    id: id.chars().take(64).collect(),
                    outcome: outcome.to_owned(),
                    region: region_s.clone(),
                });
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

/// Why a licence (and its usage copy) a partner returned is not passed on, if it is not: the
/// licence as [`check_partner_licence`] checks it, the partner's recognition of it (its trust
/// list), and the usage copy, which must be the partner's copy of this licence for this
/// department, matter and purpose.
pub fn check_forwarded(
    node: &Node,
    link: &PartnerLink,
    (id, licence, copy): (&str, &str, Option<&str>),
    now: i64,
    expected: &Expected,
) -> Option<(&'static str, String)> {
    let region = link.partner.region;
    let claims = match check_partner_licence(&node.verifier, region, (id, licence), now, expected) {
        Ok(claims) => claims,
        Err(refusal) => return Some(refusal),
    };
    if let Some(r) =
        crate::node::federation::partner_refusal(link, licence, &claims.lic.type_code, claims.iat)
    {
        return Some(r);
    }
    let copy = copy?;
    match expected.format {
        CopyFormat::Jws => check_usage_copy(&node.verifier, region, licence, copy, now, expected),
        CopyFormat::Ofd => check_ofd_copy(&node.ofd_verifier, region, id, copy, now, expected),
    }
    .err()
}

/// The checks on a licence the partner of `region` answered with, that need no more than the
/// node's anchors: it verifies (valid, or expired), is of the partner's region, has the id
/// given, is the holder's that was asked about, of the type asked for (if one), and of a type
/// the department may use. Returns its claims.
pub fn check_partner_licence(
    verifier: &Verifier,
    region: RegionCode,
    (id, licence): (&str, &str),
    now: i64,
    expected: &Expected,
) -> Result<Claims, (&'static str, String)> {
    let region = region.to_string();
    let mut report = verifier.verify(licence, now);
    let Some(claims) = report.licence.take() else {
        return Err((
            report.outcome.as_str(),
            "the licence does not verify".into(),
        ));
    };
    if claims.lic.region != region {
        return Err((
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
        return Err((report.outcome.as_str(), why));
    }
    if claims.jti != id {
        return Err(("malformed", "the id does not match the licence".into()));
    }
    // The answer must be about what was asked: a partner answering with someone else's licence
    // would hand this department a holder it did not ask about (and may not see).
    let holder = HolderType::from_str(&claims.lic.holder_type)
        .ok()
        .and_then(|t| HolderCode::parse(t, &claims.sub).ok());
    if holder.as_ref() != Some(&expected.holder) {
        return Err((
            "wrong_holder",
            "the licence is not the holder's that was asked about".into(),
        ));
    }
    if let Some(t) = expected
        .type_code
        .as_ref()
        .filter(|t| **t != claims.lic.type_code)
    {
        return Err((
            "wrong_type",
            format!(
                "type {t} was asked for, the licence is of type {}",
                claims.lic.type_code
            ),
        ));
    }
    // The department's own 用证清单 holds for what partners return, too.
    if !expected.types.allows(&claims.lic.type_code) {
        return Err((
            "type_not_allowed",
            format!(
                "the department may not use licences of type {}",
                claims.lic.type_code
            ),
        ));
    }
    Ok(claims)
}

/// The usage copy a partner of `region` handed out with `licence`: it must hold, be made by
/// the partner's region, of this licence, for this department, matter and purpose.
pub fn check_usage_copy(
    verifier: &Verifier,
    region: RegionCode,
    licence: &str,
    copy: &str,
    now: i64,
    expected: &Expected,
) -> Result<(), (&'static str, String)> {
    match usage::check(copy, verifier.trust(), now) {
        Ok(c)
            if c.made_by.region == region.to_string()
                && c.licence == licence
                && c.for_ == expected.for_
                && c.matter == expected.matter
                && c.purpose == expected.purpose =>
        {
            Ok(())
        }
        Ok(_) => Err((
            "bad_usage_copy",
            "the usage copy is not the partner's copy of this licence for this department, \
             matter and purpose"
                .into(),
        )),
        Err(r) => Err((r.outcome, r.detail)),
    }
}

/// The OFD usage copy (base64) a partner of `region` handed out with licence `id`: its seals
/// hold under the partner's anchors (bound to its region), and its annotation is the partner's,
/// of this licence, for this department, matter and purpose ([`usage::check_ofd`]).
pub fn check_ofd_copy(
    verifier: &crate::ofd::verify::OfdVerifier,
    region: RegionCode,
    id: &str,
    copy: &str,
    now: i64,
    expected: &Expected,
) -> Result<(), (&'static str, String)> {
    use base64::Engine as _;
    let file = base64::engine::general_purpose::STANDARD
        .decode(copy)
        .map_err(|e| {
            (
                "malformed",
                format!("the OFD usage copy is not base64: {e}"),
            )
        })?;
    let (a, _) = usage::check_ofd(verifier, &file, now).map_err(|r| (r.outcome, r.detail))?;
    if a.made_by_region == region.to_string()
        && a.licence == id
        && format!("{}/{}", a.department_region, a.department) == expected.for_
        && a.matter == expected.matter
        && a.purpose == expected.purpose
    {
        Ok(())
    } else {
        Err((
            "bad_usage_copy",
            "the OFD usage copy is not the partner's copy of this licence for this department, \
             matter and purpose"
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::pki::trust::TrustStore;

    /// 2026-12-01T00:00:00Z, when the fixture licences are valid.
    const AT: i64 = 1_796_083_200;
    const TYPE: &str = "11100000000013338W032";
    const HOLDER: &str = "91110000600037341L";
    const LICENCE_370115: &str = include_str!("../../../fixtures/licences/valid.370115.jws");
    const LICENCE_370900: &str = include_str!("../../../fixtures/licences/valid.370900.jws");
    const ID_370115: &str =
        "1.2.156.3005.2.11100000000013338W032.113701150041153580.MSMI9A46B6WHZ0CBKTBM.001.5";

    /// A verifier trusting the demo licence roots of 370900 and 370115, each for its region.
    fn verifier() -> Verifier {
        let mut store = TrustStore::new();
        for region in ["370900", "370115"] {
            let pem = std::fs::read(format!(
                "{}/certs/{region}/licence-root.pem",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            store
                .add_pem(&pem, &[region.parse().unwrap()], region)
                .unwrap();
        }
        Verifier::new(store)
    }

    fn expected(holder: &str, type_code: Option<&str>, types: Types) -> Expected {
        Expected {
            holder: HolderCode::parse(HolderType::Organisation, holder).unwrap(),
            type_code: type_code.map(str::to_owned),
            types,
            for_: "370900/370900-window".into(),
            matter: "open-shop".into(),
            purpose: "opening a shop".into(),
            format: CopyFormat::Jws,
        }
    }

    fn check(
        region: &str,
        id: &str,
        licence: &str,
        expected: &Expected,
    ) -> Result<Claims, (&'static str, String)> {
        check_partner_licence(
            &verifier(),
            region.parse().unwrap(),
            (id, licence.trim_end()),
            AT,
            expected,
        )
    }

    #[test]
    fn the_partners_own_licence_for_the_holder_passes() {
        let claims = check(
            "370115",
            ID_370115,
            LICENCE_370115,
            &expected(HOLDER, Some(TYPE), Types::All),
        )
        .unwrap();
        assert_eq!(claims.jti, ID_370115);
        assert_eq!(claims.lic.region, "370115");
    }

    #[test]
    fn another_regions_licence_is_wrong_region() {
        let (outcome, detail) = check(
            "370115",
            ID_370115,
            LICENCE_370900,
            &expected(HOLDER, None, Types::All),
        )
        .unwrap_err();
        assert_eq!(outcome, "wrong_region");
        assert_eq!(
            detail,
            "the partner of region 370115 answered with a licence of region 370900"
        );
    }

    #[test]
    fn a_licence_that_does_not_verify_is_dropped_with_its_outcome() {
        let (outcome, _) = check(
            "370115",
            ID_370115,
            "not.a.licence",
            &expected(HOLDER, None, Types::All),
        )
        .unwrap_err();
        assert_eq!(outcome, "malformed");
        // A signature that does not cover the payload.
        let mut parts: Vec<&str> = LICENCE_370115.trim_end().split('.').collect();
        let other: Vec<&str> = LICENCE_370900.trim_end().split('.').collect();
        parts[2] = other[2];
        let forged = parts.join(".");
        let (outcome, _) = check(
            "370115",
            ID_370115,
            &forged,
            &expected(HOLDER, None, Types::All),
        )
        .unwrap_err();
        assert_eq!(outcome, "bad_signature");
    }

    #[test]
    fn another_id_holder_or_type_is_refused() {
        let ok = expected(HOLDER, None, Types::All);
        let (outcome, _) = check("370115", "another-id", LICENCE_370115, &ok).unwrap_err();
        assert_eq!(outcome, "malformed");
        // Someone else's licence: a valid USCC, not the one asked about.
        let (outcome, _) = check(
            "370115",
            ID_370115,
            LICENCE_370115,
            &expected("11220000013544541J", None, Types::All),
        )
        .unwrap_err();
        assert_eq!(outcome, "wrong_holder");
        let (outcome, detail) = check(
            "370115",
            ID_370115,
            LICENCE_370115,
            &expected(HOLDER, Some("11100000000013338W011"), Types::All),
        )
        .unwrap_err();
        assert_eq!(outcome, "wrong_type");
        assert_eq!(
            detail,
            format!("type 11100000000013338W011 was asked for, the licence is of type {TYPE}")
        );
        // The department's 用证清单 holds for partners' licences too.
        let only_other = Types::Only(["11100000000013338W011".to_owned()].into());
        let (outcome, _) = check(
            "370115",
            ID_370115,
            LICENCE_370115,
            &expected(HOLDER, None, only_other),
        )
        .unwrap_err();
        assert_eq!(outcome, "type_not_allowed");
    }

    #[test]
    fn a_licence_in_place_of_a_usage_copy_is_refused() {
        // The partner hands the licence itself where a usage copy belongs.
        let refused = check_usage_copy(
            &verifier(),
            "370115".parse().unwrap(),
            LICENCE_370115.trim_end(),
            LICENCE_370115.trim_end(),
            AT,
            &expected(HOLDER, None, Types::All),
        )
        .unwrap_err();
        assert_eq!(refused.0, "malformed");
    }

    /// An OFD usage copy of a 370900 licence made by 370900's seal for `purpose`, made at
    /// `made_at` and valid ten minutes, and a verifier trusting 370900's SM2 root.
    fn ofd_copy(purpose: &str, made_at: i64) -> (String, String, crate::ofd::verify::OfdVerifier) {
        use crate::licence::annotated::{UsageAnnotation, annotate};
        use crate::licence::original::OfdSigner;
        use base64::Engine as _;
        let read =
            |rel: &str| std::fs::read(format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let signer = OfdSigner::from_pem(
            &read("certs/370900/seal-signer.pem"),
            &read("certs/370900/seal-signer.key"),
            &read("certs/370900/seal.esl"),
            AT,
        )
        .unwrap();
        let req = serde_json::from_slice(&read("fixtures/requests/370900.json")).unwrap();
        let (id, claims) = signer.authority().claims(&req, AT - 86_400, None).unwrap();
        let original = signer.original(&claims).unwrap();
        let a = UsageAnnotation {
            licence: id.to_string(),
            made_by_node: "node-370900".into(),
            made_by_region: "370900".into(),
            department: "370900-window".into(),
            department_region: "370900".into(),
            matter: "open-shop".into(),
            matter_name: "开店".into(),
            case: None,
            purpose: purpose.into(),
            made_at: crate::licence::verify::rfc3339(made_at),
            valid_until: crate::licence::verify::rfc3339(made_at + 600),
        };
        let copy = annotate(&original, &a, &signer, made_at, made_at + 600).unwrap();
        let mut trust = TrustStore::new();
        trust
            .add_pem(
                &read("certs/370900/sm2-root.pem"),
                &["370900".parse().unwrap()],
                "370900",
            )
            .unwrap();
        (
            id.to_string(),
            base64::engine::general_purpose::STANDARD.encode(copy),
            crate::ofd::verify::OfdVerifier::new(trust),
        )
    }

    #[test]
    fn a_partners_ofd_usage_copy_must_be_its_copy_for_this_department_matter_and_purpose() {
        let region: RegionCode = "370900".parse().unwrap();
        let want = expected(HOLDER, None, Types::All);
        let (id, copy, v) = ofd_copy("opening a shop", AT);
        assert_eq!(
            check_ofd_copy(&v, region, &id, &copy, AT + 60, &want),
            Ok(())
        );
        let code = |r: Result<(), (&'static str, String)>| r.unwrap_err().0;
        // Another purpose, another region's answer, another licence.
        let (id2, other, v2) = ofd_copy("another purpose", AT);
        assert_eq!(
            code(check_ofd_copy(&v2, region, &id2, &other, AT + 60, &want)),
            "bad_usage_copy"
        );
        let r370115: RegionCode = "370115".parse().unwrap();
        assert_eq!(
            code(check_ofd_copy(&v, r370115, &id, &copy, AT + 60, &want)),
            "bad_usage_copy"
        );
        assert_eq!(
            code(check_ofd_copy(&v, region, &id2, &copy, AT + 60, &want)),
            "bad_usage_copy"
        );
        // Out of its time.
        assert_eq!(
            code(check_ofd_copy(&v, region, &id, &copy, AT + 600, &want)),
            "usage_copy_expired"
        );
        // Sealed in the future: the verifier's check of the signing time refuses it first.
        assert_eq!(
            code(check_ofd_copy(&v, region, &id, &copy, AT - 400, &want)),
            "expired"
        );
        // Not base64, not a usage copy, not trusted.
        assert_eq!(
            code(check_ofd_copy(&v, region, &id, "!!", AT + 60, &want)),
            "malformed"
        );
        let original = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            crate::ofd::write::OfdFiles::from_zip(
                &base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &copy).unwrap(),
            )
            .map(|mut f| {
                f.remove(crate::licence::annotated::ANNOTATION_FILE);
                f.to_zip().unwrap()
            })
            .unwrap(),
        );
        let refused = check_ofd_copy(&v, region, &id, &original, AT + 60, &want).unwrap_err();
        assert_eq!(refused.0, "malformed");
        assert!(refused.1.contains("not a usage copy"), "{}", refused.1);
        let untrusted = crate::ofd::verify::OfdVerifier::new(TrustStore::new());
        assert_eq!(
            code(check_ofd_copy(
                &untrusted,
                region,
                &id,
                &copy,
                AT + 60,
                &want
            )),
            "untrusted_issuer"
        );
    }
}
