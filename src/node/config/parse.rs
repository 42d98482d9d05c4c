//! [`Config::load`] and [`Config::parse`]: the TOML read, then every key checked and the
//! configuration built, the first problem reported.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use super::raw::RawConfig;
use super::values::{
    bounded, check_name, crl_file, file, millis, optional_file, region, rfc3339_secs, types,
};
use super::{
    ClientCa, Config, ConfigError, Department, FederationLimits, Limits, MAX_REQUEST_BYTES,
    MAX_VERIFY_REQUEST_BYTES, Matter, Partner, Recognition, RevokedSigner, Role, SealFiles,
    TrustAnchor, Types, err,
};

impl Config {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| err("(file)", format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, base)
    }

    /// Checks config text; relative paths are taken from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let msg = e.message().to_owned();
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            // The toml error names unknown and missing keys in its message.
            err(key_of(&msg), format!("{msg}{at}"))
        })?;
        let n = &raw.node;
        let region_code = region("node.region", &n.region)?;
        if n.region_name.trim().is_empty() {
            return Err(err("node.region_name", "must not be empty"));
        }
        check_name("node.id", &n.id)?;
        let listen = SocketAddr::from_str(&n.listen).map_err(|e| {
            err(
                "node.listen",
                format!("{:?} is not an address and port: {e}", n.listen),
            )
        })?;
        if n.data_dir.as_os_str().is_empty() {
            return Err(err("node.data_dir", "must not be empty"));
        }
        let data_dir = base.join(&n.data_dir);

        let tls_cert = file(base, "tls.cert", &raw.tls.cert)?;
        let tls_key = file(base, "tls.key", &raw.tls.key)?;
        if raw.tls.client_cas.is_empty() {
            return Err(err(
                "tls.client_cas",
                "at least one client CA is needed: every caller must present a certificate",
            ));
        }
        let mut client_cas = Vec::new();
        for (i, ca) in raw.tls.client_cas.iter().enumerate() {
            let k = format!("tls.client_cas[{i}]");
            let cert = file(base, &format!("{k}.cert"), &ca.cert)?;
            client_cas.push(ClientCa {
                crl: crl_file(
                    base,
                    &format!("{k}.crl"),
                    ca.crl.as_deref(),
                    &cert,
                    &format!("{k}.cert"),
                )?,
                cert,
                region: region(&format!("{k}.region"), &ca.region)?,
            });
        }

        let seal = match &raw.seal {
            None => None,
            Some(s) => Some(SealFiles {
                file: file(base, "seal.file", &s.file)?,
                signer_cert: file(base, "seal.signer_cert", &s.signer_cert)?,
                signer_key: file(base, "seal.signer_key", &s.signer_key)?,
            }),
        };
        let signer_cert = file(base, "signer.cert", &raw.signer.cert)?;
        let signer_key = file(base, "signer.key", &raw.signer.key)?;
        let signer_chain = optional_file(base, "signer.chain", &raw.signer.chain)?;
        let signer_also = raw
            .signer
            .also
            .iter()
            .enumerate()
            .map(|(i, p)| file(base, &format!("signer.also[{i}]"), p))
            .collect::<Result<Vec<_>, _>>()?;
        let mut signer_revoked = Vec::new();
        for (i, r) in raw.signer.revoked.iter().enumerate() {
            let k = format!("signer.revoked[{i}]");
            let sha = r.sha256.to_ascii_lowercase();
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err(
                    format!("{k}.sha256"),
                    "must be the certificate's SHA-256: 64 hex digits",
                ));
            }
            if r.reason.trim().is_empty() || r.reason.chars().count() > 200 {
                return Err(err(format!("{k}.reason"), "1 to 200 characters"));
            }
            signer_revoked.push(RevokedSigner {
                sha256: sha,
                at: rfc3339_secs(&format!("{k}.revoked_at"), &r.revoked_at)?,
                reason: r.reason.clone(),
            });
        }
        let signer_types = match &raw.signer.types {
            None => Types::All,
            Some(list) if list.is_empty() => {
                return Err(err("signer.types", "must name at least one type, or \"*\""));
            }
            Some(list) => types("signer.types", list)?,
        };

        let a = &raw.audit;
        let audit_key = file(base, "audit.key", &a.key)?;
        let audit_state = match &a.state_file {
            Some(p) => base.join(p),
            None => {
                let mut name = audit_key.file_name().unwrap_or_default().to_owned();
                name.push(".checkpoint");
                audit_key.with_file_name(name)
            }
        };
        if audit_state.starts_with(&data_dir) {
            return Err(err(
                "audit.state_file",
                "must be outside the data directory: it is what catches a data directory \
                 restored from an old backup",
            ));
        }
        let audit_origin = a
            .origin
            .clone()
            .unwrap_or_else(|| crate::audit::log::default_origin(&n.region));
        crate::audit::note::check_key_name(&audit_origin)
            .map_err(|e| err("audit.origin", e.to_string()))?;
        let checkpoint_interval = millis(
            "audit.checkpoint_interval_ms",
            a.checkpoint_interval_ms,
            Duration::from_secs(1),
        )?;
        let holder_secret = file(base, "audit.holder_secret", &a.holder_secret)?;

        let mut trust = Vec::new();
        for (i, t) in raw.trust.iter().enumerate() {
            let k = format!("trust[{i}]");
            if t.regions.is_empty() {
                return Err(err(
                    format!("{k}.regions"),
                    "a trust anchor must be bound to at least one region",
                ));
            }
            let cert = file(base, &format!("{k}.cert"), &t.cert)?;
            trust.push(TrustAnchor {
                crl: crl_file(
                    base,
                    &format!("{k}.crl"),
                    t.crl.as_deref(),
                    &cert,
                    &format!("{k}.cert"),
                )?,
                cert,
                regions: t
                    .regions
                    .iter()
                    .enumerate()
                    .map(|(j, r)| region(&format!("{k}.regions[{j}]"), r))
                    .collect::<Result<_, _>>()?,
            });
        }

        let mut matters = BTreeMap::new();
        for (i, m) in raw.matters.iter().enumerate() {
            let k = format!("matters[{i}]");
            check_name(&format!("{k}.code"), &m.code)?;
            if m.name.trim().is_empty() {
                return Err(err(format!("{k}.name"), "must not be empty"));
            }
            let matter = Matter {
                code: m.code.clone(),
                name: m.name.clone(),
                statutory: m.statutory,
            };
            if matters.insert(m.code.clone(), matter).is_some() {
                return Err(err(
                    format!("{k}.code"),
                    format!("matter {:?} is listed twice", m.code),
                ));
            }
        }

        let mut departments = BTreeMap::new();
        for (i, d) in raw.departments.iter().enumerate() {
            let k = format!("departments[{i}]");
            check_name(&format!("{k}.id"), &d.id)?;
            if d.roles.is_empty() {
                return Err(err(format!("{k}.roles"), "must name at least one role"));
            }
            let roles = d
                .roles
                .iter()
                .map(|r| Role::from_str(r).map_err(|e| err(format!("{k}.roles"), e)))
                .collect::<Result<BTreeSet<_>, _>>()?;
            let types = types(&format!("{k}.types"), &d.types)?;
            let mut dm = BTreeSet::new();
            for (j, m) in d.matters.iter().enumerate() {
                if !matters.contains_key(m) {
                    return Err(err(
                        format!("{k}.matters[{j}]"),
                        format!("{m:?} is not a matter listed under [[matters]]"),
                    ));
                }
                dm.insert(m.clone());
            }
            let consumer = roles.contains(&Role::Consumer);
            if !consumer && (!d.types.is_empty() || !d.matters.is_empty()) {
                return Err(err(
                    format!("{k}.types"),
                    "types and matters are for departments with the consumer role",
                ));
            }
            let dept = Department {
                id: d.id.clone(),
                roles,
                types,
                matters: dm,
            };
            if departments.insert(d.id.clone(), dept).is_some() {
                return Err(err(
                    format!("{k}.id"),
                    format!("department {:?} is listed twice", d.id),
                ));
            }
        }

        let witness_key = match &raw.witness {
            Some(w) => Some(file(base, "witness.key", &w.key)?),
            None => None,
        };
        let mut partners = BTreeMap::new();
        for (i, p) in raw.partners.iter().enumerate() {
            let k = format!("partners[{i}]");
            let pregion = region(&format!("{k}.region"), &p.region)?;
            if pregion == region_code {
                return Err(err(format!("{k}.region"), "a node is not its own partner"));
            }
            if p.name.trim().is_empty() {
                return Err(err(format!("{k}.name"), "must not be empty"));
            }
            crate::node::client::parse_base_url(&p.url).map_err(|e| err(format!("{k}.url"), e))?;
            check_name(&format!("{k}.node_id"), &p.node_id)?;
            if p.licence_roots.is_empty() {
                return Err(err(
                    format!("{k}.licence_roots"),
                    "a partner needs at least one licence root",
                ));
            }
            let mut licence_roots = Vec::new();
            for (j, r) in p.licence_roots.iter().enumerate() {
                let kk = format!("{k}.licence_roots[{j}]");
                let cert = file(base, &format!("{kk}.cert"), &r.cert)?;
                let crl = crl_file(
                    base,
                    &format!("{kk}.crl"),
                    r.crl.as_deref(),
                    &cert,
                    &format!("{kk}.cert"),
                )?;
                licence_roots.push((cert, crl));
            }
            let mut recognition = Vec::new();
            for (j, r) in p.recognition.iter().enumerate() {
                let kk = format!("{k}.recognition[{j}]");
                if r.types.is_empty() {
                    return Err(err(format!("{kk}.types"), "must name at least one type"));
                }
                let from = rfc3339_secs(&format!("{kk}.from"), &r.from)?;
                let until = match &r.until {
                    Some(u) => Some(rfc3339_secs(&format!("{kk}.until"), u)?),
                    None => None,
                };
                if until.is_some_and(|u| u <= from) {
                    return Err(err(format!("{kk}.until"), "must be after `from`"));
                }
                recognition.push(Recognition {
                    types: types(&format!("{kk}.types"), &r.types)?,
                    from,
                    until,
                });
            }
            let mut grant_matters = BTreeSet::new();
            for (j, m) in p.grants.matters.iter().enumerate() {
                if !matters.contains_key(m) {
                    return Err(err(
                        format!("{k}.grants.matters[{j}]"),
                        format!("{m:?} is not a matter listed under [[matters]]"),
                    ));
                }
                grant_matters.insert(m.clone());
            }
            let audit_origin = p
                .audit_origin
                .clone()
                .unwrap_or_else(|| crate::audit::log::default_origin(&p.region));
            crate::audit::note::check_key_name(&audit_origin)
                .map_err(|e| err(format!("{k}.audit_origin"), e.to_string()))?;
            let tls_ca = file(base, &format!("{k}.tls_ca"), &p.tls_ca)?;
            let partner = Partner {
                region: pregion,
                name: p.name.clone(),
                url: p.url.clone(),
                node_id: p.node_id.clone(),
                tls_crl: crl_file(
                    base,
                    &format!("{k}.tls_crl"),
                    p.tls_crl.as_deref(),
                    &tls_ca,
                    &format!("{k}.tls_ca"),
                )?,
                tls_ca,
                licence_roots,
                audit_vkey: file(base, &format!("{k}.audit_vkey"), &p.audit_vkey)?,
                audit_origin,
                witness_vkey: optional_file(base, &format!("{k}.witness_vkey"), &p.witness_vkey)?,
                recognition,
                grant_types: if p.grants.types.is_empty() {
                    Types::Only(BTreeSet::new())
                } else {
                    types(&format!("{k}.grants.types"), &p.grants.types)?
                },
                grant_matters,
            };
            if partners.insert(pregion, partner).is_some() {
                return Err(err(
                    format!("{k}.region"),
                    format!("partner region {pregion} is listed twice"),
                ));
            }
        }
        for (i, t) in trust.iter().enumerate() {
            if let Some(r) = t.regions.iter().find(|r| partners.contains_key(r)) {
                return Err(err(
                    format!("trust[{i}].regions"),
                    format!(
                        "{r} is a partner region: its licence roots go under its [[partners]] \
                         entry, with the recognition agreed"
                    ),
                ));
            }
        }
        let f = &raw.federation;
        let fd = FederationLimits::default();
        let federation = FederationLimits {
            lookup_deadline: millis(
                "federation.lookup_deadline_ms",
                f.lookup_deadline_ms,
                fd.lookup_deadline,
            )?,
            status_deadline: millis(
                "federation.status_deadline_ms",
                f.status_deadline_ms,
                fd.status_deadline,
            )?,
            trust_list_refresh: millis(
                "federation.trust_list_refresh_ms",
                f.trust_list_refresh_ms,
                fd.trust_list_refresh,
            )?,
            witness_interval: millis(
                "federation.witness_interval_ms",
                f.witness_interval_ms,
                fd.witness_interval,
            )?,
        };

        let l = &raw.limits;
        let d = Limits::default();
        let max_connections = bounded(
            "limits.max_connections",
            l.max_connections,
            d.max_connections,
            1..=65_536,
            "1 to 65536",
        )?;
        let max_connections_per_caller = bounded(
            "limits.max_connections_per_caller",
            l.max_connections_per_caller,
            d.max_connections_per_caller.min(max_connections),
            1..=max_connections,
            format_args!("1 to max_connections ({max_connections})"),
        )?;
        let reserved_connections = bounded(
            "limits.reserved_connections",
            l.reserved_connections,
            // A 32nd of the connections: 32 of the default 1024.
            max_connections / 32,
            0..=max_connections - 1,
            format_args!("0 to max_connections - 1 ({})", max_connections - 1),
        )?;
        let max_handshakes = bounded(
            "limits.max_handshakes",
            l.max_handshakes,
            d.max_handshakes,
            1..=65_536,
            "1 to 65536",
        )?;
        let max_handshakes_per_ip = bounded(
            "limits.max_handshakes_per_ip",
            l.max_handshakes_per_ip,
            d.max_handshakes_per_ip.min(max_handshakes),
            1..=max_handshakes,
            format_args!("1 to max_handshakes ({max_handshakes})"),
        )?;
        let usage_copy = Duration::from_secs(bounded(
            "limits.usage_copy_secs",
            l.usage_copy_secs,
            d.usage_copy.as_secs(),
            1..=86_400,
            "1 to 86400 (a day)",
        )?);
        let audit_read_bytes = bounded(
            "limits.audit_read_bytes",
            l.audit_read_bytes,
            d.audit_read_bytes,
            1024..=16 * 1024 * 1024,
            "1024 to 16777216 (16 MiB)",
        )?;
        let limits = Limits {
            max_connections,
            max_connections_per_caller,
            reserved_connections,
            max_handshakes,
            max_handshakes_per_ip,
            handshake: millis("limits.handshake_ms", l.handshake_ms, d.handshake)?,
            header: millis("limits.header_ms", l.header_ms, d.header)?,
            body: millis("limits.body_ms", l.body_ms, d.body)?,
            write: millis("limits.write_ms", l.write_ms, d.write)?,
            request_bytes: MAX_REQUEST_BYTES,
            verify_request_bytes: MAX_VERIFY_REQUEST_BYTES,
            usage_copy,
            audit_read_bytes,
        };

        Ok(Config {
            region: region_code,
            region_name: n.region_name.clone(),
            node_id: n.id.clone(),
            listen,
            data_dir,
            tls_cert,
            tls_key,
            client_cas,
            signer_cert,
            signer_key,
            signer_chain,
            signer_also,
            signer_revoked,
            signer_types,
            seal,
            audit_key,
            audit_state,
            audit_origin,
            checkpoint_interval,
            holder_secret,
            trust,
            departments,
            matters,
            limits,
            witness_key,
            partners,
            federation,
        })
    }
}

/// The key a toml error message names, if it names one (`unknown field `x``, `missing field
/// `x``); otherwise `(syntax)`.
fn key_of(msg: &str) -> String {
    for marker in ["unknown field `", "missing field `", "duplicate key `"] {
        if let Some(rest) = msg.split(marker).nth(1)
            && let Some(name) = rest.split('`').next()
        {
            return name.to_owned();
        }
    }
    "(syntax)".to_owned()
}
