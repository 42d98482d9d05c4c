//! Licences' lives: issuing, new versions (变更: the old one superseded, the holder kept),
//! status changes (active ⇄ suspended, either → rescinded, cancelled, lapsed or revoked), and who sees a status history's
//! reasons.

use super::{
    Access, Change, HolderRef, MAX_REASON_CHARS, RuleError, free_text, holder_in_entry,
    load_licence, now_ms, put, quoted,
};
use crate::audit::entry::format_time;
use crate::codes::LicenceId;
use crate::licence::issue::{IssueError, Issued};
use crate::licence::model::IssuanceRequest;
use crate::node::config::{Department, Role};
use crate::node::state::{LicenceRecord, Status, StatusChange};
use crate::store::Write;

/// An issued licence: its id and token.
#[derive(Debug)]
pub struct Signed {
    /// The licence id.
    pub id: String,
    /// The licence, compact JWS.
    pub token: String,
    /// Whether its OFD 原件 was made too.
    pub ofd: bool,
}

/// The refusal of a licence the signer would not issue: the request's faults are the
/// caller's (`invalid_request`), the rest the node's.
fn issue_error(e: IssueError) -> RuleError {
    match e {
        IssueError::Request(m) => RuleError::Invalid(m),
        other => RuleError::internal(other),
    }
}

fn new_record(by: &str, issued: &Issued, holder: &str, reason: &str) -> LicenceRecord {
    LicenceRecord {
        id: issued.id.to_string(),
        token: issued.token.clone(),
        type_code: issued.claims.lic.type_code.clone(),
        holder_type: issued.claims.lic.holder_type.clone(),
        holder: holder.to_owned(),
        status: Status::Active,
        history: vec![StatusChange {
            status: Status::Active,
            reason: reason.to_owned(),
            at: format_time(now_ms()),
            by: by.to_owned(),
        }],
        superseded_by: None,
    }
}

/// The OFD 原件 of `issued`, made from the same payload by the node's seal signer, as the
/// write that stores it; none when the node has no seal.
fn original(acc: &Access<'_>, issued: &Issued) -> Result<Option<Write>, RuleError> {
    let Some(ofd_signer) = &acc.node.ofd_signer else {
        return Ok(None);
    };
    let ofd = ofd_signer
        .original(&issued.claims)
        .map_err(RuleError::internal)?;
    Ok(Some(Write::licence_ofd(&issued.id.to_string(), ofd)))
}

/// Issues a licence: signed, recorded active, and indexed under its holder's keyed hash;
/// with its OFD 原件 when the node has a seal (both in the same batch as the entry).
pub fn issue(acc: &mut Access<'_>, req: &IssuanceRequest) -> Result<(Signed, Change), RuleError> {
    let (_, hash) = holder_in_entry(acc, &HolderRef::of(&req.holder))?;
    let issued = acc
        .node
        .signer
        .issue(req, now_ms() / 1000)
        .map_err(issue_error)?;
    acc.entry.licence = Some(issued.id.clone());
    acc.detail("type_code", issued.claims.lic.type_code.clone());
    let record = new_record(acc.by, &issued, hash.as_str(), "issued");
    let id = record.id.clone();
    let ofd = original(acc, &issued)?;
    let made_ofd = ofd.is_some();
    acc.detail("ofd", made_ofd);
    let mut writes = vec![
        put(Write::licence(&id, &record))?,
        Write::holder_index(hash.as_str(), &id),
    ];
    writes.extend(ofd);
    Ok((
        Signed {
            id,
            token: issued.token,
            ofd: made_ofd,
        },
        Change {
            writes,
            guard: None,
        },
    ))
}

/// A new version of the active licence `previous`, for the same holder: the new one recorded
/// active, the old one superseded by it, under the old one's lock. Refused as `not_found`,
/// `invalid_transition` (it is not active) and `holder_mismatch`.
pub async fn amend(
    acc: &mut Access<'_>,
    previous: &LicenceId,
    req: &IssuanceRequest,
) -> Result<(Signed, Change), RuleError> {
    let id = previous.to_string();
    let guard = acc.node.locks.lock(crate::node::locks::licence(&id)).await;
    let Some(mut old) = load_licence(acc.node, &id)? else {
        return Err(RuleError::NoSuchLicence);
    };
    acc.detail("previous", id.as_str());
    if old.status != Status::Active {
        // A suspended licence gets no new version: that would lift the suspension unlogged.
        return Err(RuleError::NotActive(old.status));
    }
    let (_, hash) = holder_in_entry(acc, &HolderRef::of(&req.holder))?;
    if hash.as_str() != old.holder {
        return Err(RuleError::HolderMismatch);
    }
    let issued = acc
        .node
        .signer
        .issue_next_version(req, now_ms() / 1000, previous)
        .map_err(issue_error)?;
    let new_id = issued.id.to_string();
    acc.entry.licence = Some(issued.id.clone());
    let record = new_record(
        acc.by,
        &issued,
        hash.as_str(),
        &format!("new version of {id}"),
    );
    old.status = Status::Superseded;
    old.superseded_by = Some(new_id.clone());
    old.history.push(StatusChange {
        status: Status::Superseded,
        reason: format!("replaced by {new_id}"),
        at: format_time(now_ms()),
        by: acc.by.to_owned(),
    });
    let ofd = original(acc, &issued)?;
    let made_ofd = ofd.is_some();
    acc.detail("ofd", made_ofd);
    let mut writes = vec![
        put(Write::licence(&new_id, &record))?,
        Write::holder_index(hash.as_str(), &new_id),
        put(Write::licence(&id, &old))?,
    ];
    writes.extend(ofd);
    Ok((
        Signed {
            id: new_id,
            token: issued.token,
            ofd: made_ofd,
        },
        Change {
            writes,
            guard: Some(guard),
        },
    ))
}

/// The status a caller may ask a licence to take, by name (`active`, `suspended`,
/// `rescinded`, `cancelled`, `lapsed`, `revoked`) or by national code (`01`, `02`, `03`, `04`,
/// `05` for lapsed, `07`). `superseded` is refused: a new version supersedes a licence, never a
/// status change.
pub fn requested_status(s: &str) -> Result<Status, RuleError> {
    let by_code = Status::ALL
        .into_iter()
        .find(|st| *st != Status::Superseded && st.code() == s);
    match Status::from_name(s).or(by_code) {
        Some(st) if st != Status::Superseded => Ok(st),
        _ => Err(RuleError::Invalid(format!(
            "status {}: one of active, suspended, rescinded, cancelled, lapsed, revoked, or \
             their codes 01, 02, 03, 04, 05, 07 (a new version supersedes a licence)",
            quoted(s)
        ))),
    }
}

/// Moves the licence `id` to the status `to` asks for, for `reason`, under its lock: refused
/// as `invalid_request` (the status or the reason), `not_found` and `invalid_transition`.
/// Returns the record as changed.
pub async fn set_status(
    acc: &mut Access<'_>,
    id: &LicenceId,
    to: &str,
    reason: &str,
) -> Result<(LicenceRecord, Change), RuleError> {
    let to = requested_status(to)?;
    free_text("reason", reason, MAX_REASON_CHARS)?;
    acc.detail("to", to.as_str());
    let id = id.to_string();
    let guard = acc.node.locks.lock(crate::node::locks::licence(&id)).await;
    let Some(mut rec) = load_licence(acc.node, &id)? else {
        return Err(RuleError::NoSuchLicence);
    };
    acc.detail("from", rec.status.as_str());
    if !rec.status.may_become(to) {
        return Err(RuleError::InvalidTransition {
            from: rec.status,
            to,
        });
    }
    rec.status = to;
    rec.history.push(StatusChange {
        status: to,
        // Free text by a department: a holder code in it is stored as its keyed hash only.
        reason: acc.node.holder_key.redact(reason),
        at: format_time(now_ms()),
        by: acc.by.to_owned(),
    });
    let writes = vec![put(Write::licence(&id, &rec))?];
    Ok((
        rec,
        Change {
            writes,
            guard: Some(guard),
        },
    ))
}

/// The OFD 原件 of licence `id`: refused as `not_found` when there is no such licence, and as
/// `no_ofd` when it was issued without one (before the node had a seal).
pub fn original_of(acc: &mut Access<'_>, id: &LicenceId) -> Result<Vec<u8>, RuleError> {
    let id = id.to_string();
    if let Some(ofd) = acc
        .node
        .log
        .state()
        .licence_ofd(&id)
        .map_err(RuleError::storage)?
    {
        acc.detail("bytes", ofd.len());
        return Ok(ofd);
    }
    match load_licence(acc.node, &id)? {
        None => Err(RuleError::NoSuchLicence),
        Some(_) => Err(RuleError::NoOriginal),
    }
}

/// Whether a status history's reasons and authors are shown to `department` (`None`: a caller
/// that is no department of this region, a partner's node or department included): only to
/// this region's issuers and auditors. The reasons are free text written by the issuer, which
/// may name people or circumstances.
pub fn reasons_shown(department: Option<&Department>) -> bool {
    department.is_some_and(|d| d.roles.contains(&Role::Issuer) || d.roles.contains(&Role::Auditor))
}

/// The licence `id`'s record, recording in the entry whether its reasons are shown: refused
/// as `not_found`.
pub fn status(
    acc: &mut Access<'_>,
    id: &LicenceId,
    department: Option<&Department>,
) -> Result<(LicenceRecord, bool), RuleError> {
    let Some(rec) = load_licence(acc.node, &id.to_string())? else {
        return Err(RuleError::NoSuchLicence);
    };
    let full = reasons_shown(department);
    acc.detail("reasons_shown", full);
    Ok((rec, full))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::node::config::Types;

    #[test]
    fn statuses_are_asked_for_by_name_or_code() {
        for (asked, status) in [
            ("active", Status::Active),
            ("01", Status::Active),
            ("suspended", Status::Suspended),
            ("02", Status::Suspended),
            ("rescinded", Status::Rescinded),
            ("03", Status::Rescinded),
            ("cancelled", Status::Cancelled),
            ("04", Status::Cancelled),
            ("lapsed", Status::Lapsed),
            ("05", Status::Lapsed),
            ("revoked", Status::Revoked),
            ("07", Status::Revoked),
        ] {
            assert_eq!(requested_status(asked), Ok(status), "{asked}");
        }
        for bad in ["superseded", "06", "1", "Active", ""] {
            let e = requested_status(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_request", "{bad}");
        }
        assert_eq!(
            requested_status("superseded").unwrap_err().to_string(),
            "status \"superseded\": one of active, suspended, rescinded, cancelled, lapsed, \
             revoked, or their codes 01, 02, 03, 04, 05, 07 (a new version supersedes a licence)"
        );
    }

    #[test]
    fn reasons_only_for_issuers_and_auditors() {
        let dept = |roles: &[Role]| Department {
            id: "370900-x".into(),
            roles: roles.iter().copied().collect(),
            types: Types::All,
            matters: Default::default(),
        };
        assert!(reasons_shown(Some(&dept(&[Role::Issuer]))));
        assert!(reasons_shown(Some(&dept(&[Role::Auditor, Role::Consumer]))));
        assert!(!reasons_shown(Some(&dept(&[
            Role::Consumer,
            Role::Verifier
        ]))));
        assert!(!reasons_shown(None));
        let e = RuleError::InvalidTransition {
            from: Status::Revoked,
            to: Status::Active,
        };
        assert_eq!(e.code(), "invalid_transition");
        assert_eq!(e.to_string(), "a revoked licence cannot become active");
    }
}
