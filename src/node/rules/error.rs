//! Why a 免证办 rule refused, in the rules' own terms: the HTTP layer gives each its status.

use crate::codes::RegionCode;
use crate::node::state::Status;

/// A refusal by the rules, or a failure on the way. Each has a stable snake_case
/// [`code`](RuleError::code) (the same in answers, audit entries and partners' answers) and,
/// as its `Display`, a message that tells the caller what to change. No message holds a
/// holder's number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// A member of the request that does not hold (`invalid_request`).
    #[error("{0}")]
    Invalid(String),
    /// The holder's type or code does not parse (`invalid_holder`).
    #[error("{0}")]
    InvalidHolder(String),
    /// A consent's grantee is no department that may be granted one here (`unknown_grantee`).
    #[error("{0}")]
    UnknownGrantee(String),
    /// A lookup names a region that is neither this one nor a partner's (`unknown_region`).
    #[error("regions: {0} is neither this region nor a partner's")]
    UnknownRegion(RegionCode),
    /// A new version names another holder than the licence it replaces (`holder_mismatch`).
    #[error("a new version keeps the holder of the licence it replaces")]
    HolderMismatch,
    /// No licence of this id (`not_found`).
    #[error("no such licence")]
    NoSuchLicence,
    /// The licence was issued without an OFD 原件, before the node had a seal (`no_ofd`).
    #[error("the licence was issued without an OFD 原件 (the node had no seal then)")]
    NoOriginal,
    /// No consent of this id, to withdraw (`not_found`).
    #[error("no such consent")]
    NoSuchConsent,
    /// Only an active licence gets a new version (`invalid_transition`).
    #[error("the licence is {}; only an active licence gets a new version", .0.as_str())]
    NotActive(Status),
    /// A status change the licence's status does not allow (`invalid_transition`).
    #[error("a {} licence cannot become {}", .from.as_str(), .to.as_str())]
    InvalidTransition {
        /// The licence's status.
        from: Status,
        /// The status asked for.
        to: Status,
    },
    /// The consent was withdrawn before (`already_withdrawn`).
    #[error("the consent was already withdrawn")]
    AlreadyWithdrawn,
    /// The requester's 用证清单 does not hold the matter (`matter_not_allowed`); the message
    /// quotes the matter.
    #[error("the department may not use licences for matter {0}")]
    MatterNotAllowed(String),
    /// The requester's 用证清单 does not hold the type (`type_not_allowed`).
    #[error("the department may not use licences of type {0}")]
    TypeNotAllowed(String),
    /// A lookup in mode `consent` or `delegate` that names no consent (`consent_required`).
    #[error("a lookup in mode consent or delegate needs the holder's consent")]
    ConsentRequired,
    /// No consent of the id given (`consent_not_found`).
    #[error("no such consent")]
    ConsentNotFound,
    /// The consent is another holder's, or for another department (`consent_mismatch`).
    #[error("the consent is not this holder's consent for this department")]
    ConsentNotTheirs,
    /// The consent does not cover the type asked for (`consent_mismatch`).
    #[error("the consent does not cover type {0}")]
    ConsentNotForType(String),
    /// The holder withdrew the consent (`consent_withdrawn`).
    #[error("the holder withdrew the consent")]
    ConsentWithdrawn,
    /// The consent's time is up (`consent_expired`).
    #[error("the consent has expired")]
    ConsentExpired,
    /// The consent's uses are spent (`consent_used_up`).
    #[error("the consent has no uses left")]
    ConsentUsedUp,
    /// A lookup's case number is missing or not acceptable (`invalid_case`).
    #[error("{0}")]
    InvalidCase(String),
    /// A lookup's mode is missing or not one of `duty`, `consent`, `delegate` (`invalid_mode`).
    #[error("{0}")]
    InvalidMode(String),
    /// A `duty` lookup for a matter that is not statutory (`mode_not_allowed`); the message
    /// quotes the matter.
    #[error(
        "matter {0} is not statutory: a lookup for it rests on the holder's consent (mode consent or delegate), not on duty"
    )]
    ModeNotAllowed(String),
    /// A `delegate` lookup that names no delegate (`delegate_required`).
    #[error("delegate: required in mode delegate: the delegate's name, type and code")]
    DelegateRequired,
    /// A delegate that does not parse, or one named in another mode (`invalid_delegate`).
    #[error("{0}")]
    InvalidDelegate(String),
    /// The node's storage could not be read (`storage_unavailable`); the text is for the log.
    #[error("the node's storage could not be read")]
    Storage(String),
    /// Anything else that went wrong inside (`internal`); the text is for the log only.
    #[error("the node could not complete the request")]
    Internal(String),
}

impl RuleError {
    /// The stable code: what callers, audit entries and partners' answers name it by.
    pub fn code(&self) -> &'static str {
        match self {
            RuleError::Invalid(_) => "invalid_request",
            RuleError::InvalidHolder(_) => "invalid_holder",
            RuleError::UnknownGrantee(_) => "unknown_grantee",
            RuleError::UnknownRegion(_) => "unknown_region",
            RuleError::HolderMismatch => "holder_mismatch",
            RuleError::NoSuchLicence | RuleError::NoSuchConsent => "not_found",
            RuleError::NoOriginal => "no_ofd",
            RuleError::NotActive(_) | RuleError::InvalidTransition { .. } => "invalid_transition",
            RuleError::AlreadyWithdrawn => "already_withdrawn",
            RuleError::MatterNotAllowed(_) => "matter_not_allowed",
            RuleError::TypeNotAllowed(_) => "type_not_allowed",
            RuleError::ConsentRequired => "consent_required",
            RuleError::ConsentNotFound => "consent_not_found",
            RuleError::ConsentNotTheirs | RuleError::ConsentNotForType(_) => "consent_mismatch",
            RuleError::ConsentWithdrawn => "consent_withdrawn",
            RuleError::ConsentExpired => "consent_expired",
            RuleError::ConsentUsedUp => "consent_used_up",
            RuleError::InvalidCase(_) => "invalid_case",
            RuleError::InvalidMode(_) => "invalid_mode",
            RuleError::ModeNotAllowed(_) => "mode_not_allowed",
            RuleError::DelegateRequired => "delegate_required",
            RuleError::InvalidDelegate(_) => "invalid_delegate",
            RuleError::Storage(_) => "storage_unavailable",
            RuleError::Internal(_) => "internal",
        }
    }

    /// A failure to read the state table, logged.
    pub(crate) fn storage(e: impl std::fmt::Display) -> RuleError {
        tracing::error!(error = %e, "state read failed");
        RuleError::Storage(e.to_string())
    }

    /// A failure inside, logged.
    pub(crate) fn internal(e: impl std::fmt::Display) -> RuleError {
        let message = e.to_string();
        tracing::error!(%message, "internal error");
        RuleError::Internal(message)
    }
}
