//! The node's configuration file (TOML), checked as a whole before the node starts.
//!
//! The first problem found is reported, naming the key (`tls.cert`, `departments[2].roles`,
//! …) and what is wrong with it. Relative paths are relative to the directory of the config file.
//! `zhengzhao demo config` prints a complete, commented example.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::codes::{LicenceTypeCode, RegionCode};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    node: RawNode,
    tls: RawTls,
    signer: RawSigner,
    audit: RawAudit,
    #[serde(default)]
    trust: Vec<RawAnchor>,
    #[serde(default)]
    departments: Vec<RawDepartment>,
    #[serde(default)]
    matters: Vec<RawMatter>,
    #[serde(default)]
    limits: RawLimits,
    witness: Option<RawWitness>,
    #[serde(default)]
    partners: Vec<RawPartner>,
    #[serde(default)]
    federation: RawFederation,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWitness {
    key: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoot {
    cert: PathBuf,
    crl: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecognition {
    types: Vec<String>,
    from: String,
    until: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGrants {
    #[serde(default)]
    types: Vec<String>,
    #[serde(default)]
    matters: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartner {
    region: String,
    name: String,
    url: String,
    node_id: String,
    tls_ca: PathBuf,
    tls_crl: Option<PathBuf>,
    licence_roots: Vec<RawRoot>,
    audit_vkey: PathBuf,
    audit_origin: Option<String>,
    witness_vkey: Option<PathBuf>,
    #[serde(default)]
    recognition: Vec<RawRecognition>,
    #[serde(default)]
    grants: RawGrants,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFederation {
    lookup_deadline_ms: Option<u64>,
    status_deadline_ms: Option<u64>,
    trust_list_refresh_ms: Option<u64>,
    witness_interval_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRevoked {
    sha256: String,
    revoked_at: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    region: String,
    region_name: String,
    id: String,
    listen: String,
    data_dir: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: PathBuf,
    key: PathBuf,
    client_cas: Vec<RawClientCa>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClientCa {
    cert: PathBuf,
    crl: Option<PathBuf>,
    region: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigner {
    cert: PathBuf,
    key: PathBuf,
    chain: Option<PathBuf>,
    #[serde(default)]
    also: Vec<PathBuf>,
    #[serde(default)]
    revoked: Vec<RawRevoked>,
    types: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    key: PathBuf,
    state_file: Option<PathBuf>,
    origin: Option<String>,
    holder_secret: PathBuf,
    checkpoint_interval_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnchor {
    cert: PathBuf,
    crl: Option<PathBuf>,
    regions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepartment {
    id: String,
    roles: Vec<String>,
    #[serde(default)]
    types: Vec<String>,
    #[serde(default)]
    matters: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatter {
    code: String,
    name: String,
    #[serde(default)]
    statutory: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_connections: Option<usize>,
    max_connections_per_caller: Option<usize>,
    reserved_connections: Option<usize>,
    max_handshakes: Option<usize>,
    max_handshakes_per_ip: Option<usize>,
    handshake_ms: Option<u64>,
    header_ms: Option<u64>,
    body_ms: Option<u64>,
    write_ms: Option<u64>,
    usage_copy_secs: Option<u64>,
    audit_read_bytes: Option<usize>,
}

/// A department id or matter code: 1 to 64 characters of `A-Z a-z 0-9 - _ .`.
fn check_name(key: &str, s: &str) -> Result<(), ConfigError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(err(
            key,
            format!("{s:?} must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'"),
        ))
    }
}

fn region(key: &str, s: &str) -> Result<RegionCode, ConfigError> {
    RegionCode::from_str(s).map_err(|e| err(key, format!("{s:?} is not a region code: {e}")))
}

/// A path that must name an existing file; relative to `base`.
fn file(base: &Path, key: &str, p: &Path) -> Result<PathBuf, ConfigError> {
    let p = base.join(p);
    match std::fs::metadata(&p) {
        Ok(m) if m.is_file() => Ok(p),
        Ok(_) => Err(err(key, format!("{} is not a file", p.display()))),
        Err(e) => Err(err(key, format!("{}: {e}", p.display()))),
    }
}

/// How close a CRL's `nextUpdate` may come before the node warns at start: a week.
const CRL_WARNING_SECS: i64 = 7 * 86_400;

/// A CRL file: one or more PEM `X509 CRL` blocks, each parseable and none past its
/// `nextUpdate`. A stale CRL cannot say what was revoked since, so the node refuses to start on
/// one (and its TLS refuses a handshake checked against one that goes stale while it runs).
fn crl_file(base: &Path, key: &str, p: &Path) -> Result<PathBuf, ConfigError> {
    use rustls_pki_types::CertificateRevocationListDer;
    use rustls_pki_types::pem::PemObject as _;
    let p = file(base, key, p)?;
    let bytes = std::fs::read(&p).map_err(|e| err(key, format!("{}: {e}", p.display())))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let mut n = 0;
    for der in CertificateRevocationListDer::pem_slice_iter(&bytes) {
        let der = der.map_err(|e| err(key, format!("{}: {e}", p.display())))?;
        let (_, crl) = x509_parser::parse_x509_crl(&der)
            .map_err(|e| err(key, format!("{}: not a CRL: {e}", p.display())))?;
        if let Some(next) = crl.next_update()
            && next.timestamp() <= now
        {
            return Err(err(
                key,
                format!(
                    "{}: the CRL's nextUpdate ({next}) has passed: it cannot say what was revoked \
                     since; install a fresh one",
                    p.display()
                ),
            ));
        }
        if let Some(next) = crl.next_update()
            && next.timestamp() - now < CRL_WARNING_SECS
        {
            tracing::warn!(key, %next, "a CRL's nextUpdate is less than a week away: once it passes, the node refuses the certificates it covers");
        }
        n += 1;
    }
    if n == 0 {
        return Err(err(key, format!("{}: no X509 CRL block", p.display())));
    }
    Ok(p)
}

fn millis(key: &str, v: Option<u64>, default: Duration) -> Result<Duration, ConfigError> {
    match v {
        None => Ok(default),
        Some(0) => Err(err(key, "must be at least 1")),
        Some(ms) if ms > 3_600_000 => Err(err(key, "must be at most 3600000 (an hour)")),
        Some(ms) => Ok(Duration::from_millis(ms)),
    }
}

/// An RFC 3339 time, as Unix seconds.
fn rfc3339_secs(key: &str, s: &str) -> Result<i64, ConfigError> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| err(key, format!("{s:?} is not an RFC 3339 time: {e}")))
}

/// A list of licence type codes, or `["*"]` for all.
fn types(key: &str, list: &[String]) -> Result<Types, ConfigError> {
    if list.iter().any(|t| t == "*") {
        if list.len() > 1 {
            return Err(err(key, "\"*\" (every type) stands alone"));
        }
        return Ok(Types::All);
    }
    let mut set = BTreeSet::new();
    for (j, t) in list.iter().enumerate() {
        LicenceTypeCode::from_str(t).map_err(|e| {
            err(
                format!("{key}[{j}]"),
                format!("{t:?} is not a licence type code: {e}"),
            )
        })?;
        set.insert(t.clone());
    }
    Ok(Types::Only(set))
}

fn optional_file(
    base: &Path,
    key: &str,
    p: &Option<PathBuf>,
) -> Result<Option<PathBuf>, ConfigError> {
    match p {
        Some(p) => Ok(Some(file(base, key, p)?)),
        None => Ok(None),
    }
}

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
            client_cas.push(ClientCa {
                cert: file(base, &format!("{k}.cert"), &ca.cert)?,
                crl: match &ca.crl {
                    Some(c) => Some(crl_file(base, &format!("{k}.crl"), c)?),
                    None => None,
                },
                region: region(&format!("{k}.region"), &ca.region)?,
            });
        }

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
            .unwrap_or_else(|| crate::audit::store::default_origin(&n.region));
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
            trust.push(TrustAnchor {
                cert: file(base, &format!("{k}.cert"), &t.cert)?,
                crl: match &t.crl {
                    Some(c) => Some(crl_file(base, &format!("{k}.crl"), c)?),
                    None => None,
                },
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
            super::client::parse_base_url(&p.url).map_err(|e| err(format!("{k}.url"), e))?;
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
                licence_roots.push((
                    file(base, &format!("{kk}.cert"), &r.cert)?,
                    match &r.crl {
                        Some(c) => Some(crl_file(base, &format!("{kk}.crl"), c)?),
                        None => None,
                    },
                ));
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
                .unwrap_or_else(|| crate::audit::store::default_origin(&p.region));
            crate::audit::note::check_key_name(&audit_origin)
                .map_err(|e| err(format!("{k}.audit_origin"), e.to_string()))?;
            let partner = Partner {
                region: pregion,
                name: p.name.clone(),
                url: p.url.clone(),
                node_id: p.node_id.clone(),
                tls_ca: file(base, &format!("{k}.tls_ca"), &p.tls_ca)?,
                tls_crl: match &p.tls_crl {
                    Some(c) => Some(crl_file(base, &format!("{k}.tls_crl"), c)?),
                    None => None,
                },
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
        let max_connections = match l.max_connections {
            None => d.max_connections,
            Some(n) if (1..=65_536).contains(&n) => n,
            Some(_) => return Err(err("limits.max_connections", "must be 1 to 65536")),
        };
        let max_connections_per_caller = match l.max_connections_per_caller {
            None => d.max_connections_per_caller.min(max_connections),
            Some(n) if (1..=max_connections).contains(&n) => n,
            Some(_) => {
                return Err(err(
                    "limits.max_connections_per_caller",
                    format!("must be 1 to max_connections ({max_connections})"),
                ));
            }
        };
        let reserved_connections = match l.reserved_connections {
            // A 32nd of the connections: 32 of the default 1024.
            None => max_connections / 32,
            Some(n) if n < max_connections => n,
            Some(_) => {
                return Err(err(
                    "limits.reserved_connections",
                    format!("must be 0 to max_connections - 1 ({})", max_connections - 1),
                ));
            }
        };
        let max_handshakes = match l.max_handshakes {
            None => d.max_handshakes,
            Some(n) if (1..=65_536).contains(&n) => n,
            Some(_) => return Err(err("limits.max_handshakes", "must be 1 to 65536")),
        };
        let max_handshakes_per_ip = match l.max_handshakes_per_ip {
            None => d.max_handshakes_per_ip.min(max_handshakes),
            Some(n) if (1..=max_handshakes).contains(&n) => n,
            Some(_) => {
                return Err(err(
                    "limits.max_handshakes_per_ip",
                    format!("must be 1 to max_handshakes ({max_handshakes})"),
                ));
            }
        };
        let usage_copy = match l.usage_copy_secs {
            None => d.usage_copy,
            Some(s) if (1..=86_400).contains(&s) => Duration::from_secs(s),
            Some(_) => {
                return Err(err("limits.usage_copy_secs", "must be 1 to 86400 (a day)"));
            }
        };
        let audit_read_bytes = match l.audit_read_bytes {
            None => d.audit_read_bytes,
            Some(n) if (1024..=16 * 1024 * 1024).contains(&n) => n,
            Some(_) => {
                return Err(err(
                    "limits.audit_read_bytes",
                    "must be 1024 to 16777216 (16 MiB)",
                ));
            }
        };
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

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
