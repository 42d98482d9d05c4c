//! The API's one error type: a status, a stable snake_case code and a message, answered as
//! `{"error": {"code", "message"}}` (with the receipt of the request's entry when it has one).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::dispatch::respond_json;
use crate::node::rules::RuleError;

/// An error answer: status, stable code, message.
#[derive(Debug)]
pub(super) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) code: &'static str,
    pub(super) message: String,
}

/// The body of an error answer of an audited request (the dispatch adds the receipt).
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub(super) struct ErrorBody<'a> {
    pub(super) error: ErrorDetail<'a>,
}

/// The body of an error answer that no entry records: an unaudited endpoint's, or an audited
/// request's whose entry could not be written (`audit_unavailable`).
#[derive(Serialize, ToSchema)]
pub(super) struct UnrecordedError<'a> {
    pub(super) error: ErrorDetail<'a>,
}

/// What went wrong: the stable code and a message for the caller.
#[derive(Serialize, ToSchema)]
pub(super) struct ErrorDetail<'a> {
    /// The stable, snake_case code (docs/api.md, Errors).
    pub(super) code: &'a str,
    /// What to fix, in words.
    pub(super) message: &'a str,
}

/// The body `{"error": {"code", "message"}}`.
pub(super) fn error_body<'a>(code: &'a str, message: &'a str) -> ErrorBody<'a> {
    ErrorBody {
        error: ErrorDetail { code, message },
    }
}

impl IntoResponse for ApiError {
    /// The answer without a receipt: for the unaudited endpoints only (an audited request's
    /// error is answered by the dispatch, with its entry's receipt).
    fn into_response(self) -> Response {
        let body = UnrecordedError {
            error: ErrorDetail {
                code: self.code,
                message: &self.message,
            },
        };
        respond_json(self.status, &body)
    }
}

pub(super) fn fail(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        code,
        message: message.into(),
    }
}

pub(super) fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    fail(StatusCode::BAD_REQUEST, code, message)
}

pub(super) fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
    fail(StatusCode::FORBIDDEN, code, message)
}

pub(super) fn internal(message: impl Into<String>) -> ApiError {
    let message = message.into();
    tracing::error!(%message, "internal error");
    fail(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the node could not complete the request",
    )
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "state read failed");
    fail(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage_unavailable",
        "the node's storage could not be read",
    )
}

pub(super) fn json_err(e: serde_json::Error) -> ApiError {
    internal(e.to_string())
}

/// The status of each refusal of the rules; the code and message are the rule's own.
fn rule_status(e: &RuleError) -> StatusCode {
    match e {
        RuleError::Invalid(_)
        | RuleError::InvalidHolder(_)
        | RuleError::UnknownGrantee(_)
        | RuleError::UnknownRegion(_)
        | RuleError::HolderMismatch
        | RuleError::InvalidCase(_)
        | RuleError::InvalidMode(_)
        | RuleError::DelegateRequired
        | RuleError::InvalidDelegate(_) => StatusCode::BAD_REQUEST,
        RuleError::NoSuchLicence | RuleError::NoSuchConsent | RuleError::NoOriginal => {
            StatusCode::NOT_FOUND
        }
        RuleError::NotActive(_)
        | RuleError::InvalidTransition { .. }
        | RuleError::AlreadyWithdrawn => StatusCode::CONFLICT,
        RuleError::MatterNotAllowed(_)
        | RuleError::ModeNotAllowed(_)
        | RuleError::TypeNotAllowed(_)
        | RuleError::ConsentRequired
        | RuleError::ConsentNotFound
        | RuleError::ConsentNotTheirs
        | RuleError::ConsentNotForType(_)
        | RuleError::ConsentWithdrawn
        | RuleError::ConsentExpired
        | RuleError::ConsentUsedUp => StatusCode::FORBIDDEN,
        RuleError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        RuleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<RuleError> for ApiError {
    /// The rule's code and message (a failure inside was logged where it happened, and its
    /// message names no detail), with its status.
    fn from(e: RuleError) -> ApiError {
        fail(rule_status(&e), e.code(), e.to_string())
    }
}
