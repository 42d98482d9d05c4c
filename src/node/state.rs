//! The node's own records: licences with their status history, and consents. They are kept in
//! the `state` column family as JSON, under keys that only [`crate::store`] builds
//! ([`crate::store::Write::licence`], [`crate::store::State::licence`], …).
//!
//! No holder ID number appears in a key or a value, except inside the signed licence token
//! itself: the index and the consents carry the holder's keyed hash only.

use serde::{Deserialize, Serialize};

/// A licence's status, with the code national exchange interfaces give it (docs/licence-status.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In force (有效, `01`).
    Active,
    /// Suspended (暂扣, `02`): may return to active.
    Suspended,
    /// Rescinded (撤销, `03`): the grant itself was unlawful or obtained by deceit; final.
    Rescinded,
    /// Cancelled (注销, `04`): ended at the holder's request, the holder's end or the like; final.
    Cancelled,
    /// Lapsed (失效, `05`): ended by law without a decision (its term ran out and was not
    /// renewed, the business it licensed ended); final.
    Lapsed,
    /// Revoked as a penalty (吊销, `07`); final. Records written before the other final statuses
    /// existed say `revoked` for 注销 too, and keep it.
    Revoked,
    /// Replaced by a newer version (变更); final. Its code is `05` (the old version has lost
    /// effect); reached only by issuing a new version.
    Superseded,
}

impl Status {
    /// Every status, in the order of their codes.
    pub const ALL: [Status; 7] = [
        Status::Active,
        Status::Suspended,
        Status::Rescinded,
        Status::Cancelled,
        Status::Lapsed,
        Status::Revoked,
        Status::Superseded,
    ];

    /// The status's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Rescinded => "rescinded",
            Status::Cancelled => "cancelled",
            Status::Lapsed => "lapsed",
            Status::Revoked => "revoked",
            Status::Superseded => "superseded",
        }
    }

    /// The national code: `01` 有效, `02` 暂扣, `03` 撤销, `04` 注销, `05` 失效 (lapsed, and
    /// superseded), `07` 吊销.
    pub fn code(self) -> &'static str {
        match self {
            Status::Active => "01",
            Status::Suspended => "02",
            Status::Rescinded => "03",
            Status::Cancelled => "04",
            Status::Lapsed | Status::Superseded => "05",
            Status::Revoked => "07",
        }
    }

    /// The status a name stands for; `None` for any other word.
    pub fn from_name(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The status a partner's answer states: its name (`status`) and, from partners of this
    /// version, its code (`status_code`), which must be the name's. A partner of the version
    /// before codes answers with the name alone; the code is then the name's. Refused (why, in
    /// words) when the name is missing or unknown or the code disagrees with it.
    pub fn from_answer(name: Option<&str>, code: Option<&str>) -> Result<Status, String> {
        let status = name
            .and_then(Status::from_name)
            .ok_or_else(|| "the status is not one of the statuses a licence has".to_owned())?;
        match code {
            Some(c) if c != status.code() => Err(format!(
                "the status code does not match the status {}",
                status.as_str()
            )),
            _ => Ok(status),
        }
    }

    /// Whether nothing follows this status.
    pub fn is_final(self) -> bool {
        !matches!(self, Status::Active | Status::Suspended)
    }

    /// Whether a caller may move a licence from `self` to `to`: active and suspended into each
    /// other, and either into rescinded, cancelled, lapsed or revoked; nothing out of a final
    /// status, nothing to the same status, and never to superseded (only a new version
    /// supersedes a licence).
    pub fn may_become(self, to: Status) -> bool {
        !self.is_final() && to != self && to != Status::Superseded
    }
}

/// One change of status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// The new status.
    pub status: Status,
    /// Why.
    pub reason: String,
    /// When, RFC 3339 UTC with milliseconds.
    pub at: String,
    /// Who: the department id (or the node).
    pub by: String,
}

/// A licence this node issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceRecord {
    /// The licence id.
    pub id: String,
    /// The signed licence (compact JWS).
    pub token: String,
    /// Its type code.
    pub type_code: String,
    /// `111` or `001`.
    pub holder_type: String,
    /// The holder's keyed hash.
    pub holder: String,
    /// The current status.
    pub status: Status,
    /// Every status it has had, oldest first (the first is `active` at issuance).
    pub history: Vec<StatusChange>,
    /// The version that replaced it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
}

/// A holder's consent to a department's use of some licence types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRecord {
    /// The consent id.
    pub id: String,
    /// The holder's keyed hash.
    pub holder: String,
    /// The department allowed.
    pub grantee: String,
    /// The department's region, when it is a partner region's department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grantee_region: Option<String>,
    /// The licence types it may use.
    pub type_codes: Vec<String>,
    /// When it ends (exclusive), RFC 3339; `None`: until withdrawn.
    pub until: Option<String>,
    /// The same, seconds since the Unix epoch.
    pub until_unix: Option<i64>,
    /// Uses left; `None`: unlimited.
    pub uses_left: Option<u64>,
    /// The portal that recorded it.
    pub granted_by: String,
    /// When.
    pub granted_at: String,
    /// When it was withdrawn, if it was.
    pub withdrawn_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair of statuses, allowed or refused, against the table of docs/licence-status.md.
    #[test]
    fn every_transition_is_allowed_or_refused_as_the_table_says() {
        use Status::*;
        let allowed = [
            (Active, Suspended),
            (Active, Rescinded),
            (Active, Cancelled),
            (Active, Lapsed),
            (Active, Revoked),
            (Suspended, Active),
            (Suspended, Rescinded),
            (Suspended, Cancelled),
            (Suspended, Lapsed),
            (Suspended, Revoked),
        ];
        let mut refused = 0;
        for from in Status::ALL {
            for to in Status::ALL {
                let ok = allowed.contains(&(from, to));
                assert_eq!(from.may_become(to), ok, "{from:?} -> {to:?}");
                refused += usize::from(!ok);
            }
        }
        assert_eq!(refused, 49 - allowed.len());
        // The refusals by kind: the same status, anything out of a final one, superseded.
        for s in Status::ALL {
            assert!(!s.may_become(s), "{s:?} -> itself");
            assert!(!s.may_become(Superseded), "{s:?} -> superseded");
        }
        for from in [Rescinded, Cancelled, Lapsed, Revoked, Superseded] {
            assert!(Status::ALL.iter().all(|&to| !from.may_become(to)));
        }
    }

    #[test]
    fn codes_and_names() {
        let table: Vec<(&str, &str)> = Status::ALL.iter().map(|s| (s.as_str(), s.code())).collect();
        assert_eq!(
            table,
            [
                ("active", "01"),
                ("suspended", "02"),
                ("rescinded", "03"),
                ("cancelled", "04"),
                ("lapsed", "05"),
                ("revoked", "07"),
                ("superseded", "05"),
            ]
        );
        for s in Status::ALL {
            assert_eq!(Status::from_name(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(Status::from_name("07"), None);
    }

    #[test]
    fn a_partners_status_with_or_without_its_code() {
        assert_eq!(
            Status::from_answer(Some("revoked"), None),
            Ok(Status::Revoked)
        );
        assert_eq!(
            Status::from_answer(Some("cancelled"), Some("04")),
            Ok(Status::Cancelled)
        );
        assert_eq!(
            Status::from_answer(Some("superseded"), Some("05")),
            Ok(Status::Superseded)
        );
        assert!(Status::from_answer(Some("revoked"), Some("04")).is_err());
        assert!(Status::from_answer(None, Some("01")).is_err());
        assert!(Status::from_answer(Some("withdrawn"), None).is_err());
    }
}
