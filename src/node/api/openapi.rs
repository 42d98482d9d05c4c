//! The OpenAPI 3.1 description of the API, generated from the handlers' `#[utoipa::path]`
//! attributes and the wire types' `ToSchema`, served at `GET /v1/openapi.json`.
//!
//! Two things the attributes do not say are added here, from the code: the mutual-TLS
//! security scheme, and the `receipt` member of every JSON answer of an audited route (every
//! route but those [`Route::audited`] names), which the dispatch adds as the answer's last
//! member.

use std::sync::LazyLock;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{Object, Ref, Schema};
use utoipa::openapi::security::SecurityScheme;
use utoipa::{Modify, OpenApi};

use super::{ROUTES, audit, consents, dispatch, error, licences, lookups, verify, witness};
use crate::node::rules;

/// The document, as built from the code.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "zhengzhao node API",
        description = "The HTTP API of a zhengzhao node (docs/api.md): issuing licences and \
            changing their status, verifying them and OFD licence documents sealed with \
            electronic seals, recording holders' consents, looking licences up for a matter \
            (免证办) here and at partner regions' nodes, and reading the audit log that records \
            every access. Every caller is named by its client certificate (mutual TLS)."
    ),
    servers((
        url = "https://{host}:{port}",
        description = "A zhengzhao node (`node.listen` in its configuration).",
        variables(
            ("host" = (default = "127.0.0.1", description = "The node's address")),
            ("port" = (default = "8443", description = "The node's port"))
        )
    )),
    paths(
        dispatch::healthz,
        openapi,
        audit::checkpoint,
        audit::vkey,
        audit::audit_entries,
        audit::inclusion,
        audit::consistency,
        licences::issue,
        licences::set_status,
        licences::get_status,
        licences::get_ofd,
        licences::amend,
        verify::verify,
        consents::grant_consent,
        consents::withdraw_consent,
        lookups::lookup,
        lookups::federated_lookup,
        witness::trust_list,
        witness::witness_add,
        witness::witness_state,
    ),
    components(schemas(dispatch::Receipt, error::ErrorBody, error::UnrecordedError, rules::HolderRef)),
    modifiers(&Additions),
    security(("mutualTLS" = [])),
    tags(
        (name = "licences", description = "Issuing licences and changing their status."),
        (name = "verification", description = "Verifying licences, usage copies and OFD documents."),
        (name = "consents", description = "Holders' consents, recorded by the citizen portal."),
        (name = "lookups", description = "Looking up a holder's licences for a matter (免证办)."),
        (name = "audit", description = "The audit log: checkpoints, entries and proofs."),
        (name = "federation", description = "Partner regions' nodes: the trust list, forwarded lookups and witnessing (docs/federation.md)."),
        (name = "health", description = "Liveness."),
        (name = "api", description = "This description."),
    )
)]
pub(super) struct ApiDoc;

/// This description (the OpenAPI 3.1 document, JSON).
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "api",
    responses((
        status = 200,
        description = "This document. The receipt of the request's entry is in the headers \
            `zhengzhao-receipt-index` and `zhengzhao-receipt-leaf-hash`.",
        body = serde_json::Value,
        content_type = "application/json"
    ))
)]
pub(super) fn openapi() -> &'static [u8] {
    &DOCUMENT
}

/// The document, serialised once.
static DOCUMENT: LazyLock<Vec<u8>> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .map(String::into_bytes)
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "the OpenAPI document could not be serialised");
            b"{}".to_vec()
        })
});

/// The OpenAPI 3.1 description served at `GET /v1/openapi.json`, generated from the code.
pub fn openapi_json() -> String {
    String::from_utf8_lossy(openapi()).into_owned()
}

/// The security scheme, and the receipts of audited answers.
struct Additions;

impl Modify for Additions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.security_schemes.insert(
            "mutualTLS".into(),
            SecurityScheme::MutualTls {
                description: Some(
                    "A client certificate from a CA the node's configuration names; the CA \
                     gives the caller's region, the certificate's CN its id."
                        .into(),
                ),
                extensions: None,
            },
        );
        // The JSON answers of audited routes carry the receipt of their entry.
        let mut receipted = std::collections::BTreeSet::new();
        for (method, template, route) in ROUTES {
            if !route("id").audited() {
                continue;
            }
            let Some(item) = doc.paths.paths.get(*template) else {
                continue;
            };
            let op = match *method {
                "GET" => item.get.as_ref(),
                "POST" => item.post.as_ref(),
                "DELETE" => item.delete.as_ref(),
                _ => None,
            };
            let Some(op) = op else { continue };
            for response in op.responses.responses.values() {
                let RefOr::T(response) = response else {
                    continue;
                };
                if let Some(content) = response.content.get("application/json")
                    && let Some(RefOr::Ref(r)) = &content.schema
                    && let Some(name) = schema_name(r)
                {
                    receipted.insert(name.to_owned());
                }
            }
        }
        // An answer of several shapes (`oneOf`): each shape carries it.
        let mut shapes = Vec::new();
        for name in &receipted {
            if let Some(RefOr::T(Schema::OneOf(one))) = components.schemas.get(name) {
                shapes.extend(one.items.iter().filter_map(|item| match item {
                    RefOr::Ref(r) => schema_name(r).map(str::to_owned),
                    RefOr::T(_) => None,
                }));
            }
        }
        receipted.extend(shapes);
        let receipt = RefOr::Ref(Ref::from_schema_name("Receipt"));
        for name in receipted {
            if let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut(&name) {
                add_receipt(o, receipt.clone());
            }
        }
    }
}

/// The name of the component schema `r` refers to.
fn schema_name(r: &Ref) -> Option<&str> {
    r.ref_location.strip_prefix("#/components/schemas/")
}

/// `receipt` as a required member of `o`.
fn add_receipt(o: &mut Object, receipt: RefOr<Schema>) {
    o.properties.insert("receipt".into(), receipt);
    if !o.required.iter().any(|r| r == "receipt") {
        o.required.push("receipt".into());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::super::Route;
    use super::*;

    fn doc() -> Value {
        serde_json::from_str(&openapi_json()).expect("the document is JSON")
    }

    /// Every `$ref` in `v`, with where it is.
    fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k == "$ref"
                        && let Some(r) = v.as_str()
                    {
                        out.push((at.to_owned(), r.to_owned()));
                    }
                    refs(v, &format!("{at}/{k}"), out);
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    refs(v, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_and_every_ref_resolves() {
        let d = doc();
        assert!(
            d["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")),
            "{}",
            d["openapi"]
        );
        assert_eq!(d["info"]["title"], "zhengzhao node API");
        assert_eq!(d["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(d["paths"].is_object());
        assert!(d["components"]["schemas"].is_object());
        assert_eq!(
            d["components"]["securitySchemes"]["mutualTLS"]["type"],
            "mutualTLS"
        );
        assert_eq!(d["security"], serde_json::json!([{"mutualTLS": []}]));
        let mut found = Vec::new();
        refs(&d, "", &mut found);
        assert!(found.len() > 40, "{} references", found.len());
        for (at, r) in found {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{at}: {r} is not local"));
            assert!(d.pointer(pointer).is_some(), "{at}: {r} does not resolve");
        }
        // Every operation says what it answers, and names only tags the document lists.
        let tags: BTreeSet<&str> = d["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        for (path, item) in d["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{method} {path}"
                );
                for t in op["tags"].as_array().unwrap() {
                    assert!(tags.contains(t.as_str().unwrap()), "{method} {path}: {t}");
                }
            }
        }
    }

    #[test]
    fn every_route_is_described_and_every_description_routed() {
        let d = doc();
        let described: BTreeSet<(String, String)> = d["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| {
                        [
                            "get", "put", "post", "delete", "options", "head", "patch", "trace",
                        ]
                        .contains(&k.as_str())
                    })
                    .map(|m| (m.to_uppercase(), path.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let routed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        assert_eq!(routed.len(), ROUTES.len(), "a route is listed twice");
        assert_eq!(described, routed);
        // And the router takes each as described: the path, with an id where `{id}` is, and the
        // method, to the route the table names (not a wrong method, not an unknown path).
        for (method, path, _) in ROUTES {
            let concrete = path.replace("{id}", "x");
            let m = axum::http::Method::from_bytes(method.as_bytes()).unwrap();
            let route = Route::parse(&m, &concrete);
            assert!(
                !matches!(route, Route::WrongMethod(_) | Route::Unknown),
                "{method} {concrete}: {route:?}"
            );
        }
    }

    #[test]
    fn audited_json_answers_carry_the_receipt() {
        let d = doc();
        let schemas = &d["components"]["schemas"];
        for name in [
            "IssueResponse",
            "StatusResponse",
            "LookupResponse",
            "Error",
            "VerifyResponse",
            "OfdVerifyResponse",
        ] {
            assert!(
                schemas[name]["properties"]["receipt"].is_object(),
                "{name}: {}",
                schemas[name]
            );
            assert!(
                schemas[name]["required"]
                    .as_array()
                    .unwrap()
                    .contains(&"receipt".into()),
                "{name}"
            );
        }
        for name in ["UnrecordedError", "Health"] {
            assert!(
                schemas[name]["properties"].get("receipt").is_none(),
                "{name}: {}",
                schemas[name]
            );
        }
    }
}
