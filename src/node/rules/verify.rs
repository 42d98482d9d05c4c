//! Verifying a licence or a usage copy for a department: the signature and chain (by
//! [`Verifier`](crate::licence::verify::Verifier)), then the live status, from this node's
//! records for its own licences and from the partner for a partner's, and the partner's
//! recognition of the type and signer.

use std::str::FromStr;

use serde::Serialize;

use super::usage::{self, MadeBy, Refusal};
use super::{Access, RuleError, load_record, now_ms};
use crate::codes::{HolderCode, HolderType, LicenceId, RegionCode};
use crate::licence::annotated::UsageAnnotation;
use crate::licence::verify::{Outcome, Report};
use crate::node::state::Status;
use crate::ofd::report::{OfdOutcome, OfdReport};

/// What a usage copy says, as a verification answers with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = UsageCopyFacts)]
pub struct CopyFacts {
    /// The node that made it: `{"node", "region"}`.
    #[schema(value_type = Object)]
    pub made_by: MadeBy,
    /// The department it was made for.
    #[serde(rename = "for")]
    pub for_: String,
    /// The matter.
    pub matter: String,
    /// The purpose.
    pub purpose: String,
    /// When it was made.
    pub made_at: String,
    /// When it stops being valid.
    pub valid_until: String,
}

/// A partner's refusal of its own licence here: not recognised, or its signer revoked or not
/// listed by the partner's trust list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FederationRefusal {
    /// `not_recognised`, `signer_revoked`, `signer_not_listed` or `malformed`.
    pub outcome: String,
    /// In words.
    pub detail: String,
}

/// A licence verified for a caller.
pub struct Verified {
    /// The outcome: the report's, or the status when the licence is valid but not active
    /// (`suspended`, `rescinded`, `cancelled`, `lapsed`, `revoked`, `superseded`),
    /// `status_unknown`, or a partner's refusal.
    pub outcome: String,
    /// The live status: a [`Status`] name, `unknown`, or `not_checked` (not valid, or neither
    /// this region's nor a partner's licence).
    pub status: String,
    /// The usage copy the licence came in, if it came in one.
    pub usage_copy: Option<CopyFacts>,
    /// A partner's refusal, for a partner's licence.
    pub federation: Option<FederationRefusal>,
    /// The verification report.
    pub report: Report,
}

/// What became of a licence or usage copy given to verify.
pub enum Checked {
    /// A usage copy that does not hold: its licence is not checked.
    CopyRefused(Refusal),
    /// A licence (perhaps from a usage copy that holds), verified.
    Verified(Box<Verified>),
}

/// The live status of licence `jti` of `region` and the outcome it gives a licence that
/// verified (`valid` when active, else the status, `status_unknown` when it cannot be read):
/// from this node's records for its own region, from the partner for a partner's (the entry
/// names it, `status_from`), `None` for any other region.
pub async fn live_status(
    acc: &mut Access<'_>,
    region: &str,
    jti: &str,
) -> Result<Option<(String, String)>, RuleError> {
    if region == acc.node.config.region.to_string() {
        /// Only a licence's status.
        #[derive(serde::Deserialize)]
        struct StatusOnly {
            status: Status,
        }
        // By jti, never by token bytes (ES256 signatures are malleable); the document verified
        // under an anchor for this region, so the id is this node's.
        return Ok(Some(match load_record::<StatusOnly>(acc.node, jti)? {
            Some(rec) => {
                let status = rec.status.as_str().to_owned();
                let outcome = if rec.status == Status::Active {
                    "valid".to_owned()
                } else {
                    status.clone()
                };
                (status, outcome)
            }
            None => ("unknown".into(), "status_unknown".into()),
        }));
    }
    let node = acc.node.clone();
    let Some(link) = RegionCode::from_str(region)
        .ok()
        .and_then(|r| node.federation.partner(&r))
    else {
        return Ok(None);
    };
    acc.detail("status_from", link.partner.region.to_string());
    Ok(Some(
        match crate::node::federation::partner_status(&node, link, jti).await {
            Ok(s) => {
                let outcome = if s == Status::Active {
                    "valid".to_owned()
                } else {
                    s.as_str().to_owned()
                };
                (s.as_str().to_owned(), outcome)
            }
            Err(e) => {
                acc.detail("status_error", e);
                ("unknown".into(), "status_unknown".into())
            }
        },
    ))
}

/// What an OFD file given to verify is: a 原件, or a usage copy (加注件) that holds or not.
pub enum OfdCopy {
    /// No usage annotation: a licence's 原件 (or any sealed document).
    None,
    /// A usage copy that holds, and whether it names the caller's department and region.
    Holds {
        /// What it says.
        annotation: Box<UsageAnnotation>,
        /// It was made for the caller.
        for_caller: bool,
    },
    /// A usage copy that does not hold.
    Refused(Refusal),
}

/// What an OFD verification answers besides its report: the outcome, the live status (for a
/// licence of this region or a partner's whose seals hold), and the usage copy.
pub struct OfdVerified {
    /// The outcome: the report's, a usage copy's refusal, or the status when not active.
    pub outcome: String,
    /// The live status, or `not_checked`.
    pub status: String,
    /// The usage copy, if the file is one.
    pub copy: OfdCopy,
}

/// Judges an OFD `report` made at `now` on a file whose usage annotation is `annotation` (if
/// it has one) for the caller (`department`, `region`): a usage copy's checks, then the live
/// status of the licence when the seals hold. The entry records the usage copy's matter.
pub async fn ofd(
    acc: &mut Access<'_>,
    report: &OfdReport,
    annotation: Option<Result<UsageAnnotation, String>>,
    caller: Option<(&str, RegionCode)>,
    now: i64,
) -> Result<OfdVerified, RuleError> {
    let copy = match annotation {
        None => OfdCopy::None,
        Some(Err(e)) => OfdCopy::Refused(usage::refuse(
            "malformed",
            format!("the usage annotation: {e}"),
        )),
        Some(Ok(a)) => match crate::licence::annotated::check(report, &a, now) {
            Err(r) => OfdCopy::Refused(r),
            Ok(()) => {
                acc.detail("usage_copy", true);
                acc.entry.matter = Some(a.matter.clone());
                let for_caller = caller.is_some_and(|(d, r)| {
                    a.department == d && a.department_region == r.to_string()
                });
                acc.detail("usage_copy_for_caller", for_caller);
                OfdCopy::Holds {
                    annotation: Box::new(a),
                    for_caller,
                }
            }
        },
    };
    let mut outcome = report.outcome.as_str().to_owned();
    let mut status = "not_checked".to_owned();
    if let OfdCopy::Refused(r) = &copy {
        outcome = r.outcome.to_owned();
    } else if report.outcome == OfdOutcome::Valid
        && let Some(id) = report
            .licence_id
            .as_deref()
            .and_then(|i| LicenceId::from_str(i).ok())
    {
        let region = id.issuer().region_digits().to_owned();
        if let Some(live) = live_status(acc, &region, id.as_str()).await? {
            (status, outcome) = live;
        }
    }
    Ok(OfdVerified {
        outcome,
        status,
        copy,
    })
}

/// Verifies `token` (a licence or a usage copy, compact JWS) at now, recording in the entry
/// the licence, its holder (when valid), the usage copy's matter, and where the live status
/// came from.
pub async fn licence(acc: &mut Access<'_>, token: String) -> Result<Checked, RuleError> {
    let now = now_ms() / 1000;
    let mut usage_copy = None;
    let token = if usage::is_usage_copy(&token) {
        match usage::check(&token, acc.node.verifier.trust(), now) {
            Ok(copy) => {
                acc.detail("usage_copy", true);
                acc.entry.matter = Some(copy.matter.clone());
                usage_copy = Some(CopyFacts {
                    made_by: copy.made_by,
                    for_: copy.for_,
                    matter: copy.matter,
                    purpose: copy.purpose,
                    made_at: copy.made_at,
                    valid_until: copy.valid_until,
                });
                copy.licence
            }
            Err(refusal) => return Ok(Checked::CopyRefused(refusal)),
        }
    } else {
        token
    };
    let report = acc.node.verifier.verify(&token, now);
    let mut outcome = report.outcome.as_str().to_owned();
    let mut status = "not_checked".to_owned();
    let mut federation = None;
    if let Some(claims) = &report.licence {
        if let Ok(id) = LicenceId::from_str(&claims.jti) {
            acc.entry.licence = Some(id);
        }
        if let (Ok(t), true) = (
            HolderType::from_str(&claims.lic.holder_type),
            report.outcome == Outcome::Valid,
        ) && let Ok(h) = HolderCode::parse(t, &claims.sub)
        {
            acc.entry.holder = Some(acc.node.holder_key.holder_hash(&h));
        }
        let node = acc.node.clone();
        let partner = RegionCode::from_str(&claims.lic.region)
            .ok()
            .and_then(|r| node.federation.partner(&r));
        if let (Some(link), Outcome::Valid) = (partner, report.outcome) {
            // A partner's licence: recognised at signing time, a signer its trust list lists,
            // and live status from the partner itself.
            if let Some((refused, detail)) = crate::node::federation::partner_refusal(
                link,
                &token,
                &claims.lic.type_code,
                claims.iat,
            ) {
                outcome = refused.to_owned();
                acc.detail("refused", detail.clone());
                federation = Some(FederationRefusal {
                    outcome: refused.to_owned(),
                    detail,
                });
            } else if let Some(live) = live_status(acc, &claims.lic.region, &claims.jti).await? {
                (status, outcome) = live;
            }
        }
        // Live status for this node's own licences.
        if report.outcome == Outcome::Valid
            && claims.lic.region == acc.node.config.region.to_string()
            && let Some(live) = live_status(acc, &claims.lic.region, &claims.jti).await?
        {
            (status, outcome) = live;
        }
    }
    Ok(Checked::Verified(Box::new(Verified {
        outcome,
        status,
        usage_copy,
        federation,
        report,
    })))
}
