//! The node's own records: licences with their status history, and consents. They are kept in
//! the `state` column family as JSON, under keys that only [`crate::store`] builds
//! ([`crate::store::Write::licence`], [`crate::store::State::licence`], …).
//!
//! No holder ID number appears in a key or a value, except inside the signed licence token
//! itself: the index and the consents carry the holder's keyed hash only.

use serde::{Deserialize, Serialize};

/// A licence's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In force.
    Active,
    /// Suspended (暂扣): may return to active.
    Suspended,
    /// Revoked (吊销/注销): final.
    Revoked,
    /// Replaced by a newer version (变更): final.
    Superseded,
}

impl Status {
    /// The status's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Revoked => "revoked",
            Status::Superseded => "superseded",
        }
    }

    /// Whether a caller may move a licence from `self` to `to` (supersession happens only
    /// through a new version).
    pub fn may_become(self, to: Status) -> bool {
        matches!(
            (self, to),
            (Status::Active, Status::Suspended)
                | (Status::Suspended, Status::Active)
                | (Status::Active | Status::Suspended, Status::Revoked)
        )
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

    #[test]
    fn only_allowed_transitions() {
        use Status::*;
        for (from, to, ok) in [
            (Active, Suspended, true),
            (Suspended, Active, true),
            (Active, Revoked, true),
            (Suspended, Revoked, true),
            (Revoked, Active, false),
            (Revoked, Suspended, false),
            (Active, Active, false),
            (Active, Superseded, false),
            (Superseded, Active, false),
        ] {
            assert_eq!(from.may_become(to), ok, "{from:?} -> {to:?}");
        }
    }
}
