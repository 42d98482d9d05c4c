//! The API's error answer: a status, a stable snake_case code and a message.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

/// An error answer: status, stable code, message.
#[derive(Debug)]
pub(super) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) code: &'static str,
    pub(super) message: String,
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

pub(super) fn error_body(code: &str, message: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("error".into(), json!({"code": code, "message": message}));
    m
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
