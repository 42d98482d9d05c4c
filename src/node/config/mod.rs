//! The node's configuration file (TOML), checked as a whole before the node starts.
//!
//! The first problem found is reported, naming the key (`tls.cert`, `departments[2].roles`,
//! …) and what is wrong with it. Relative paths are relative to the directory of the config file.
//! `zhengzhao demo config` prints a complete, commented example.
//!
//! This file holds what the node is given: [`Config`] and its parts. The file as TOML reads it
//! is in `raw`, the checks of single values in `values`, and [`Config::parse`], which checks
//! the whole and builds a [`Config`], in `parse`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::codes::RegionCode;

mod parse;
mod raw;
mod values;

/// A configuration problem: the key concerned and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config: `{key}`: {problem}")]
pub struct ConfigError {
    /// The key, as a dotted path.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

fn err(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        problem: problem.into(),
    }
}

/// What a department may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Issues licences and changes their status.
    Issuer,
    /// Looks licences up for a matter (免证办) and verifies them.
    Consumer,
    /// Verifies licences.
    Verifier,
    /// Reads the audit log.
    Auditor,
    /// Records holders' consents (the citizen portal).
    Portal,
}

impl Role {
    /// The role's name in the config and in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Issuer => "issuer",
            Role::Consumer => "consumer",
            Role::Verifier => "verifier",
            Role::Auditor => "auditor",
            Role::Portal => "portal",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Ok(match s {
            "issuer" => Role::Issuer,
            "consumer" => Role::Consumer,
            "verifier" => Role::Verifier,
            "auditor" => Role::Auditor,
            "portal" => Role::Portal,
            _ => {
                return Err(format!(
                    "unknown role {s:?}; roles are issuer, consumer, verifier, auditor, portal"
                ));
            }
        })
    }
}

/// Licence types a consumer may use: all, or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Types {
    /// Every licence type (`["*"]`).
    All,
    /// These type codes.
    Only(BTreeSet<String>),
}

impl Types {
    /// Whether `type_code` is allowed.
    pub fn allows(&self, type_code: &str) -> bool {
        match self {
            Types::All => true,
            Types::Only(set) => set.contains(type_code),
        }
    }
}

impl Types {
    /// The codes, or `["*"]`.
    pub fn to_list(&self) -> Vec<String> {
        match self {
            Types::All => vec!["*".to_owned()],
            Types::Only(set) => set.iter().cloned().collect(),
        }
    }
}

/// A department of this region: its id is the CN of its client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    /// The department id.
    pub id: String,
    /// Its roles.
    pub roles: BTreeSet<Role>,
    /// Licence types it may use as a consumer (用证清单).
    pub types: Types,
    /// Matter codes it may use as a consumer.
    pub matters: BTreeSet<String>,
}

/// A matter (事项) a licence may be used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matter {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// A matter where the law itself provides for the use: no holder consent needed.
    pub statutory: bool,
}

/// A CA whose certificates may connect, and the region it speaks for.
#[derive(Debug, Clone)]
pub struct ClientCa {
    /// The CA certificate (PEM).
    pub cert: PathBuf,
    /// Its CRL (PEM), if any.
    pub crl: Option<PathBuf>,
    /// The region its certificates belong to.
    pub region: RegionCode,
}

/// A licence trust anchor and the regions it may vouch for.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    /// The root certificate (PEM).
    pub cert: PathBuf,
    /// Its CRL (PEM), if any.
    pub crl: Option<PathBuf>,
    /// The regions it vouches for.
    pub regions: Vec<RegionCode>,
}

/// A period during which some of a partner's licence types are recognised here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognition {
    /// The types recognised.
    pub types: Types,
    /// From (Unix seconds, inclusive).
    pub from: i64,
    /// Until (Unix seconds, exclusive); open-ended if `None`.
    pub until: Option<i64>,
}

/// A partner region's node, under a mutual-recognition agreement.
#[derive(Debug, Clone)]
pub struct Partner {
    /// The partner's region.
    pub region: RegionCode,
    /// Its name.
    pub name: String,
    /// Its node's base URL (`https://host:port`).
    pub url: String,
    /// Its node's id: the CN of the certificate it connects with.
    pub node_id: String,
    /// The partner's TLS CA: checks its server certificate and its client certificate.
    pub tls_ca: PathBuf,
    /// That CA's CRL, if any.
    pub tls_crl: Option<PathBuf>,
    /// The partner's licence roots (with CRLs), bound to the partner's region.
    pub licence_roots: Vec<(PathBuf, Option<PathBuf>)>,
    /// The partner's audit log verifier key (C2SP vkey text).
    pub audit_vkey: PathBuf,
    /// The partner's audit log origin.
    pub audit_origin: String,
    /// The partner's witness cosignature verifier key, if it witnesses our log.
    pub witness_vkey: Option<PathBuf>,
    /// Which of the partner's licence types are recognised here, and when (a history).
    pub recognition: Vec<Recognition>,
    /// Our licence types the partner's departments may look up.
    pub grant_types: Types,
    /// The matters they may look them up for.
    pub grant_matters: BTreeSet<String>,
}

impl Partner {
    /// Whether a licence of `type_code` signed at `signed_at` (Unix seconds) is recognised.
    pub fn recognises(&self, type_code: &str, signed_at: i64) -> bool {
        self.recognition.iter().any(|r| {
            r.types.allows(type_code)
                && r.from <= signed_at
                && r.until.is_none_or(|u| signed_at < u)
        })
    }
}

/// Deadlines and schedules of federation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FederationLimits {
    /// One deadline for a forwarded lookup, all partners in parallel.
    pub lookup_deadline: Duration,
    /// Deadline for a partner's live status during a verification.
    pub status_deadline: Duration,
    /// How often partners' trust lists are fetched.
    pub trust_list_refresh: Duration,
    /// How often this node's checkpoints are sent to its witnesses.
    pub witness_interval: Duration,
}

impl Default for FederationLimits {
    fn default() -> Self {
        FederationLimits {
            lookup_deadline: Duration::from_secs(3),
            status_deadline: Duration::from_millis(1500),
            trust_list_refresh: Duration::from_secs(300),
            witness_interval: Duration::from_secs(1),
        }
    }
}

/// The `[seal]` table: the electronic seal (GB/T 38540 `.esl`) and the seal signer's SM2
/// certificate and key (PKCS#8 PEM), which the seal must list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealFiles {
    /// The seal.
    pub file: PathBuf,
    /// The seal signer's certificate.
    pub signer_cert: PathBuf,
    /// The seal signer's key.
    pub signer_key: PathBuf,
}

/// A licence signer certificate of this node that was revoked, by its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedSigner {
    /// SHA-256 of the certificate (DER), lower-case hex.
    pub sha256: String,
    /// When it was revoked (Unix seconds).
    pub at: i64,
    /// Why.
    pub reason: String,
}

/// Time and size limits on connections and requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Authenticated connections served at once (after the TLS handshake has named the
    /// caller); a connection that finds none free waits for one within the handshake deadline.
    pub max_connections: usize,
    /// Connections one caller (one client certificate) may hold at once.
    pub max_connections_per_caller: usize,
    /// Of `max_connections`, the slots kept for callers that hold no connection yet, so that a
    /// caller always gets in while others fill the rest.
    pub reserved_connections: usize,
    /// Connections accepted and not yet authenticated (TLS handshake, then a wait for a slot);
    /// when full, the oldest is closed to make room for a new one (silent ones first).
    pub max_handshakes: usize,
    /// Of `max_handshakes`, how many may come from one IP address; when full, that address's
    /// oldest is closed first.
    pub max_handshakes_per_ip: usize,
    /// Time for a TLS handshake, and for the wait for a free slot after it, from the accept.
    pub handshake: Duration,
    /// Time to read a request's headers (and between requests on a kept-alive connection).
    pub header: Duration,
    /// Time to read a request's body.
    pub body: Duration,
    /// Time an answer's bytes may wait for the client to take them: a client that stops reading
    /// loses its connection (and its place among `max_connections`).
    pub write: Duration,
    /// Largest request body, in bytes, but for `POST /v1/verify`.
    pub request_bytes: usize,
    /// Largest body of `POST /v1/verify`, which may carry an OFD file, in bytes.
    pub verify_request_bytes: usize,
    /// How long a usage copy (加注件) is valid.
    pub usage_copy: Duration,
    /// The most bytes of entries one `GET /v1/audit/entries` answers with (at least one entry
    /// is always sent): the rest of the range is asked for again.
    pub audit_read_bytes: usize,
}

/// The largest request body the node accepts: 256 KiB (but see
/// [`MAX_VERIFY_REQUEST_BYTES`]).
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// The largest body of `POST /v1/verify`: 4 MiB. That request may carry an OFD licence file in
/// base64: a one-page licence with its seal picture is 20 to 80 KB, a scanned page or several a
/// megabyte or two, and base64 adds a third. Only this route reads bodies this large; every
/// other keeps [`MAX_REQUEST_BYTES`].
pub const MAX_VERIFY_REQUEST_BYTES: usize = 4 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            max_connections_per_caller: 64,
            reserved_connections: 32,
            max_handshakes: 1024,
            max_handshakes_per_ip: 128,
            handshake: Duration::from_secs(10),
            header: Duration::from_secs(10),
            body: Duration::from_secs(10),
            write: Duration::from_secs(30),
            request_bytes: MAX_REQUEST_BYTES,
            verify_request_bytes: MAX_VERIFY_REQUEST_BYTES,
            usage_copy: Duration::from_secs(600),
            audit_read_bytes: 8 * 1024 * 1024,
        }
    }
}

/// The checked configuration. Relative paths of the file have been joined to the directory of
/// the config file.
#[derive(Debug, Clone)]
pub struct Config {
    /// This node's region.
    pub region: RegionCode,
    /// The region's name.
    pub region_name: String,
    /// This node's id (the CN of its TLS certificate).
    pub node_id: String,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The RocksDB data directory.
    pub data_dir: PathBuf,
    /// TLS server certificate chain (PEM).
    pub tls_cert: PathBuf,
    /// TLS server key (PKCS#8 PEM).
    pub tls_key: PathBuf,
    /// CAs whose client certificates may connect.
    pub client_cas: Vec<ClientCa>,
    /// Licence signer certificate (PEM).
    pub signer_cert: PathBuf,
    /// Licence signer key (PKCS#8 PEM).
    pub signer_key: PathBuf,
    /// The rest of the signer's chain (PEM), if any.
    pub signer_chain: Option<PathBuf>,
    /// Other current signer certificates (PEM), published in the trust list (rotation).
    pub signer_also: Vec<PathBuf>,
    /// Revoked signer certificates, published in the trust list.
    pub signer_revoked: Vec<RevokedSigner>,
    /// Licence types this node issues.
    pub signer_types: Types,
    /// The authority's electronic seal and its seal signer, for OFD 原件 and OFD usage copies;
    /// `None`: the node issues JWS only.
    pub seal: Option<SealFiles>,
    /// The audit log's Ed25519 checkpoint key (C2SP private key text).
    pub audit_key: PathBuf,
    /// The file that keeps the last checkpoint signed (outside the data directory).
    pub audit_state: PathBuf,
    /// The log's origin.
    pub audit_origin: String,
    /// How often to sign a checkpoint when the log has grown.
    pub checkpoint_interval: Duration,
    /// The holder-hash secret (hex, 32 bytes).
    pub holder_secret: PathBuf,
    /// Licence trust anchors.
    pub trust: Vec<TrustAnchor>,
    /// Departments by id.
    pub departments: BTreeMap<String, Department>,
    /// Matters by code.
    pub matters: BTreeMap<String, Matter>,
    /// Limits.
    pub limits: Limits,
    /// This node's witness cosignature key (C2SP private key text), if it witnesses.
    pub witness_key: Option<PathBuf>,
    /// Partner regions by code.
    pub partners: BTreeMap<RegionCode, Partner>,
    /// Federation deadlines and schedules.
    pub federation: FederationLimits,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::path::Path;

    #[test]
    fn roles_parse_and_unknown_ones_are_named() {
        assert_eq!(Role::from_str("issuer"), Ok(Role::Issuer));
        assert!(Role::from_str("admin").unwrap_err().contains("admin"));
    }

    #[test]
    fn syntax_errors_name_a_line() {
        let e = Config::parse("[node\nregion = 1", Path::new(".")).unwrap_err();
        assert_eq!(e.key, "(syntax)");
        assert!(e.problem.contains("line 1"), "{e}");
        let e = Config::parse("[node]\nregion = \"370900\"\n", Path::new(".")).unwrap_err();
        assert!(e.to_string().contains("missing field"), "{e}");
    }

    /// The demo config of region 370900 with `[limits]` lines added.
    fn with_limits(lines: &str) -> Result<Config, ConfigError> {
        let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("certs");
        let data = std::env::temp_dir().join("zhengzhao-config-test-data");
        let text =
            crate::demo::config::config_text("370900", &certs, &data, "127.0.0.1:0", &[]).unwrap();
        let text = text.replacen("[limits]\n", &format!("[limits]\n{lines}\n"), 1);
        Config::parse(&text, Path::new("/"))
    }

    /// The demo config shows each connection limit with its default, so an operator sees the
    /// knobs: `max_connections` set, the four that follow it as comments (set, they would stop
    /// following it); uncommented, each gives what the node uses without it.
    #[test]
    fn the_demo_config_shows_every_connection_limit_at_its_default() {
        let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("certs");
        let data = std::env::temp_dir().join("zhengzhao-config-test-data");
        let text =
            crate::demo::config::config_text("370900", &certs, &data, "127.0.0.1:0", &[]).unwrap();
        let d = Limits::default();
        assert!(text.contains(&format!("\nmax_connections = {}\n", d.max_connections)));
        let mut uncommented = text.clone();
        for (key, default) in [
            ("max_connections_per_caller", d.max_connections_per_caller),
            ("reserved_connections", d.reserved_connections),
            ("max_handshakes", d.max_handshakes),
            ("max_handshakes_per_ip", d.max_handshakes_per_ip),
        ] {
            let line = format!("\n# {key} = {default}\n");
            assert!(text.contains(&line), "{key} = {default} in the demo config");
            uncommented = uncommented.replacen(&line, &format!("\n{key} = {default}\n"), 1);
        }
        assert_ne!(uncommented, text);
        assert_eq!(Config::parse(&text, Path::new("/")).unwrap().limits, d);
        assert_eq!(
            Config::parse(&uncommented, Path::new("/")).unwrap().limits,
            d
        );
    }

    #[test]
    fn connection_limits_have_defaults_and_bad_ones_name_their_key() {
        let l = with_limits("").unwrap().limits;
        assert_eq!(
            (
                l.max_connections,
                l.max_connections_per_caller,
                l.reserved_connections,
                l.max_handshakes,
                l.max_handshakes_per_ip
            ),
            (1024, 64, 32, 1024, 128)
        );
        // Defaults that follow smaller bounds.
        let text = with_limits("max_handshakes = 16").unwrap().limits;
        assert_eq!(text.max_handshakes_per_ip, 16);
        let c = with_limits("").unwrap();
        assert_eq!(c.limits.handshake, Duration::from_secs(10));
        let ok = with_limits(
            "max_connections_per_caller = 2\nreserved_connections = 0\nmax_handshakes = 8\n\
             max_handshakes_per_ip = 8",
        )
        .unwrap()
        .limits;
        assert_eq!(ok.max_connections_per_caller, 2);
        assert_eq!(ok.reserved_connections, 0);
        for (line, key) in [
            (
                "max_connections_per_caller = 0",
                "limits.max_connections_per_caller",
            ),
            (
                "max_connections_per_caller = 1025",
                "limits.max_connections_per_caller",
            ),
            ("reserved_connections = 1024", "limits.reserved_connections"),
            ("max_handshakes = 0", "limits.max_handshakes"),
            ("max_handshakes = 65537", "limits.max_handshakes"),
            ("max_handshakes_per_ip = 0", "limits.max_handshakes_per_ip"),
            (
                "max_handshakes = 8\nmax_handshakes_per_ip = 9",
                "limits.max_handshakes_per_ip",
            ),
        ] {
            let e = with_limits(line).unwrap_err();
            assert_eq!(e.key, key, "{line}: {e}");
        }
    }
}
