//! The configuration file as TOML gives it, before any check: what serde reads.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) node: RawNode,
    pub(super) tls: RawTls,
    pub(super) signer: RawSigner,
    pub(super) seal: Option<RawSeal>,
    pub(super) audit: RawAudit,
    #[serde(default)]
    pub(super) trust: Vec<RawAnchor>,
    #[serde(default)]
    pub(super) departments: Vec<RawDepartment>,
    #[serde(default)]
    pub(super) matters: Vec<RawMatter>,
    #[serde(default)]
    pub(super) limits: RawLimits,
    pub(super) witness: Option<RawWitness>,
    #[serde(default)]
    pub(super) partners: Vec<RawPartner>,
    #[serde(default)]
    pub(super) federation: RawFederation,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWitness {
    pub(super) key: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoot {
    pub(super) cert: PathBuf,
    pub(super) crl: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRecognition {
    pub(super) types: Vec<String>,
    pub(super) from: String,
    pub(super) until: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGrants {
    #[serde(default)]
    pub(super) types: Vec<String>,
    #[serde(default)]
    pub(super) matters: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPartner {
    pub(super) region: String,
    pub(super) name: String,
    pub(super) url: String,
    pub(super) node_id: String,
    pub(super) tls_ca: PathBuf,
    pub(super) tls_crl: Option<PathBuf>,
    pub(super) licence_roots: Vec<RawRoot>,
    pub(super) audit_vkey: PathBuf,
    pub(super) audit_origin: Option<String>,
    pub(super) witness_vkey: Option<PathBuf>,
    #[serde(default)]
    pub(super) recognition: Vec<RawRecognition>,
    #[serde(default)]
    pub(super) grants: RawGrants,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFederation {
    pub(super) lookup_deadline_ms: Option<u64>,
    pub(super) status_deadline_ms: Option<u64>,
    pub(super) trust_list_refresh_ms: Option<u64>,
    pub(super) witness_interval_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRevoked {
    pub(super) sha256: String,
    pub(super) revoked_at: String,
    pub(super) reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNode {
    pub(super) region: String,
    pub(super) region_name: String,
    pub(super) id: String,
    pub(super) listen: String,
    pub(super) data_dir: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub(super) cert: PathBuf,
    pub(super) key: PathBuf,
    pub(super) client_cas: Vec<RawClientCa>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClientCa {
    pub(super) cert: PathBuf,
    pub(super) crl: Option<PathBuf>,
    pub(super) region: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSeal {
    pub(super) file: PathBuf,
    pub(super) signer_cert: PathBuf,
    pub(super) signer_key: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSigner {
    pub(super) cert: PathBuf,
    pub(super) key: PathBuf,
    pub(super) chain: Option<PathBuf>,
    #[serde(default)]
    pub(super) also: Vec<PathBuf>,
    #[serde(default)]
    pub(super) revoked: Vec<RawRevoked>,
    pub(super) types: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    pub(super) key: PathBuf,
    pub(super) state_file: Option<PathBuf>,
    pub(super) origin: Option<String>,
    pub(super) holder_secret: PathBuf,
    pub(super) checkpoint_interval_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAnchor {
    pub(super) cert: PathBuf,
    pub(super) crl: Option<PathBuf>,
    pub(super) regions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDepartment {
    pub(super) id: String,
    pub(super) roles: Vec<String>,
    #[serde(default)]
    pub(super) types: Vec<String>,
    #[serde(default)]
    pub(super) matters: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMatter {
    pub(super) code: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) statutory: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub(super) max_connections: Option<usize>,
    pub(super) max_connections_per_caller: Option<usize>,
    pub(super) reserved_connections: Option<usize>,
    pub(super) max_handshakes: Option<usize>,
    pub(super) max_handshakes_per_ip: Option<usize>,
    pub(super) handshake_ms: Option<u64>,
    pub(super) header_ms: Option<u64>,
    pub(super) body_ms: Option<u64>,
    pub(super) write_ms: Option<u64>,
    pub(super) usage_copy_secs: Option<u64>,
    pub(super) audit_read_bytes: Option<usize>,
}
