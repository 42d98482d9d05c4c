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
mod openapi;
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

pub use openapi::openapi_json;

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
    GetOfd(String),
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

/// A route: its method, its path, and what a request of them is, given the path's `{id}`.
type RouteSpec = (&'static str, &'static str, fn(&str) -> Route);

/// Every route the node serves: its method, its path (`{id}` stands for one non-empty
/// segment), and what it is. Where a path takes two methods, the first listed names the
/// action of a request with another method. The OpenAPI document describes exactly these (a
/// test checks it both ways).
const ROUTES: &[RouteSpec] = &[
    ("GET", "/healthz", |_| Route::Healthz),
    ("GET", "/v1/openapi.json", |_| Route::OpenApi),
    ("GET", "/v1/audit/checkpoint", |_| Route::Checkpoint),
    ("GET", "/v1/audit/vkey", |_| Route::Vkey),
    ("GET", "/v1/audit/entries", |_| Route::AuditEntries),
    ("GET", "/v1/audit/proof/inclusion", |_| {
        Route::InclusionProof
    }),
    ("GET", "/v1/audit/proof/consistency", |_| {
        Route::ConsistencyProof
    }),
    ("POST", "/v1/licences", |_| Route::Issue),
    ("POST", "/v1/licences/{id}/status", |id| {
        Route::SetStatus(id.to_owned())
    }),
    ("GET", "/v1/licences/{id}/status", |id| {
        Route::GetStatus(id.to_owned())
    }),
    ("GET", "/v1/licences/{id}/ofd", |id| {
        Route::GetOfd(id.to_owned())
    }),
    ("POST", "/v1/licences/{id}/versions", |id| {
        Route::Amend(id.to_owned())
    }),
    ("POST", "/v1/verify", |_| Route::Verify),
    ("POST", "/v1/consents", |_| Route::GrantConsent),
    ("DELETE", "/v1/consents/{id}", |id| {
        Route::WithdrawConsent(id.to_owned())
    }),
    ("POST", "/v1/lookups", |_| Route::Lookup),
    ("GET", "/v1/trust-list", |_| Route::TrustList),
    ("POST", "/v1/witness/add-checkpoint", |_| Route::WitnessAdd),
    ("GET", "/v1/witness/state", |_| Route::WitnessState),
    ("POST", "/v1/federation/lookups", |_| Route::FederatedLookup),
];

/// The `{id}` of `path` if it has the shape of `template` (`""` when the template has none).
fn matches<'p>(template: &str, path: &'p str) -> Option<&'p str> {
    let mut id = "";
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(id),
            (Some("{id}"), Some(seg)) if !seg.is_empty() => id = seg,
            (Some(a), Some(b)) if a == b => {}
            _ => return None,
        }
    }
}

impl Route {
    fn parse(method: &Method, path: &str) -> Route {
        let mut known = None;
        for (m, template, route) in ROUTES {
            let Some(id) = matches(template, path) else {
                continue;
            };
            if *m == method.as_str() {
                return route(id);
            }
            known.get_or_insert_with(|| route(id));
        }
        match known {
            Some(route) => Route::WrongMethod(route.action()),
            None => Route::Unknown,
        }
    }

    fn action(&self) -> Action {
        match self {
            Route::Issue | Route::Amend(_) => Action::LicenceIssue,
            Route::SetStatus(_) => Action::LicenceStatus,
            Route::GetStatus(_) => Action::LicenceStatusRead,
            Route::GetOfd(_) => Action::LicenceOfdRead,
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

    /// Whether a request of the route leaves an audit entry: all but the four that touch no
    /// licence and no personal data (and the witness's cosignatures, answered as text).
    fn audited(&self) -> bool {
        !matches!(
            self,
            Route::Healthz | Route::Checkpoint | Route::Vkey | Route::TrustList
        )
    }

    /// The roles that may call the route; empty: any authenticated caller.
    fn roles(&self) -> &'static [Role] {
        match self {
            Route::Issue | Route::SetStatus(_) | Route::Amend(_) => &[Role::Issuer],
            Route::GetOfd(_) => &[Role::Issuer, Role::Auditor],
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
