//! The HTTP API (docs/api.md): routes, roles and the 用证清单, and exactly one audit entry for
//! every request that reaches the application, written before the response in the same synced
//! batch as the state change it records.
//!
//! Every request is dispatched here by one fallback handler, so that no framework rejection
//! (a body too large, a path that does not parse) can answer without an audit entry. Only
//! `GET /healthz`, `GET /v1/audit/checkpoint`, `GET /v1/audit/vkey`, `GET /v1/trust-list` and
//! the cosignatures (200) and size answers (409) of `POST /v1/witness/add-checkpoint`, which
//! touch no licence and no personal data, are answered without one (docs/api.md).

mod audit;
mod consents;
mod dispatch;
mod error;
mod input;
mod licences;
mod lookups;
mod verify;
mod witness;

use std::sync::Arc;

use axum::Router;
use axum::http::Method;

use super::Node;
use super::config::Role;
use crate::audit::entry::Action;

pub use crate::node::rules::lookups::MAX_LOOKUP_RESULTS;
pub use audit::MAX_ENTRIES_PER_READ;

/// The OpenAPI 3.1 description served at `GET /v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The router: everything goes through [`dispatch::handle`].
pub fn router(node: Arc<Node>) -> Router {
    Router::new().fallback(dispatch::handle).with_state(node)
}

/// The routes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Healthz,
    Checkpoint,
    Vkey,
    OpenApi,
    Issue,
    SetStatus(String),
    Amend(String),
    GetStatus(String),
    Verify,
    GrantConsent,
    WithdrawConsent(String),
    Lookup,
    AuditEntries,
    InclusionProof,
    ConsistencyProof,
    TrustList,
    WitnessAdd,
    WitnessState,
    FederatedLookup,
    /// A known path with a method it does not take.
    WrongMethod(Action),
    Unknown,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Route {
        let segs: Vec<&str> = path.split('/').collect();
        let m = method.clone();
        let (route, allowed) = match segs.as_slice() {
            ["", "healthz"] => (Route::Healthz, Method::GET),
            ["", "v1", "openapi.json"] => (Route::OpenApi, Method::GET),
            ["", "v1", "audit", "checkpoint"] => (Route::Checkpoint, Method::GET),
            ["", "v1", "audit", "vkey"] => (Route::Vkey, Method::GET),
            ["", "v1", "audit", "entries"] => (Route::AuditEntries, Method::GET),
            ["", "v1", "audit", "proof", "inclusion"] => (Route::InclusionProof, Method::GET),
            ["", "v1", "audit", "proof", "consistency"] => (Route::ConsistencyProof, Method::GET),
            ["", "v1", "licences"] => (Route::Issue, Method::POST),
            ["", "v1", "licences", id, "status"] if !id.is_empty() => {
                if m == Method::GET {
                    return Route::GetStatus((*id).to_owned());
                }
                (Route::SetStatus((*id).to_owned()), Method::POST)
            }
            ["", "v1", "licences", id, "versions"] if !id.is_empty() => {
                (Route::Amend((*id).to_owned()), Method::POST)
            }
            ["", "v1", "verify"] => (Route::Verify, Method::POST),
            ["", "v1", "consents"] => (Route::GrantConsent, Method::POST),
            ["", "v1", "consents", id] if !id.is_empty() => {
                (Route::WithdrawConsent((*id).to_owned()), Method::DELETE)
            }
            ["", "v1", "lookups"] => (Route::Lookup, Method::POST),
            ["", "v1", "trust-list"] => (Route::TrustList, Method::GET),
            ["", "v1", "witness", "add-checkpoint"] => (Route::WitnessAdd, Method::POST),
            ["", "v1", "witness", "state"] => (Route::WitnessState, Method::GET),
            ["", "v1", "federation", "lookups"] => (Route::FederatedLookup, Method::POST),
            _ => return Route::Unknown,
        };
        if m == allowed {
            route
        } else {
            Route::WrongMethod(route.action())
        }
    }

    fn action(&self) -> Action {
        match self {
            Route::Issue | Route::Amend(_) => Action::LicenceIssue,
            Route::SetStatus(_) => Action::LicenceStatus,
            Route::GetStatus(_) => Action::LicenceStatusRead,
            Route::Verify => Action::LicenceVerify,
            Route::GrantConsent => Action::ConsentGrant,
            Route::WithdrawConsent(_) => Action::ConsentRevoke,
            Route::Lookup | Route::FederatedLookup => Action::LicenceLookup,
            Route::TrustList => Action::FederationTrustList,
            Route::WitnessAdd => Action::FederationWitness,
            Route::WitnessState => Action::AuditRead,
            Route::AuditEntries
            | Route::InclusionProof
            | Route::ConsistencyProof
            | Route::Checkpoint
            | Route::Vkey => Action::AuditRead,
            Route::OpenApi | Route::Healthz => Action::ApiDescribe,
            Route::WrongMethod(a) => *a,
            Route::Unknown => Action::RequestUnknown,
        }
    }

    /// The roles that may call the route; empty: any authenticated caller.
    fn roles(&self) -> &'static [Role] {
        match self {
            Route::Issue | Route::SetStatus(_) | Route::Amend(_) => &[Role::Issuer],
            Route::Verify => &[Role::Verifier, Role::Consumer],
            Route::GrantConsent | Route::WithdrawConsent(_) => &[Role::Portal],
            Route::Lookup => &[Role::Consumer],
            Route::AuditEntries => &[Role::Auditor],
            _ => &[],
        }
    }

    /// The largest body the route reads: `POST /v1/verify` may carry an OFD file.
    fn body_limit(&self, limits: &super::config::Limits) -> usize {
        match self {
            Route::Verify => limits.verify_request_bytes,
            _ => limits.request_bytes,
        }
    }

    fn takes_body(&self) -> bool {
        matches!(
            self,
            Route::Issue
                | Route::SetStatus(_)
                | Route::Amend(_)
                | Route::Verify
                | Route::GrantConsent
                | Route::Lookup
                | Route::FederatedLookup
        )
    }
}
