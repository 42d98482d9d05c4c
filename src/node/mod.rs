//! The node: a mutual-TLS HTTPS API over one RocksDB directory, every access audited.
//!
//! - [`config`]: the TOML configuration, checked whole before anything starts;
//! - [`tls`]: rustls server and client configurations (TLS 1.3, client certificates);
//! - [`server`]: the accept loop, handshakes off the loop, limits, graceful shutdown;
//! - [`api`]: the HTTP API by resource: the routes, roles, and one audit entry per request;
//! - [`rules`]: the 免证办 rules (the 用证清单, consents, lookups here and across partners,
//!   usage copies, status changes), apart from HTTP;
//! - [`state`]: licences, the holder index and consents in the `state` column family;
//! - [`locks`]: locks by record key for read-modify-write changes of the state table;
//! - [`usage`]: usage copies (加注件), in [`rules`];
//! - [`auditor`]: the auditor's remote replay;
//! - [`client`]: a small HTTPS client with a client certificate (auditors, tests, the demo);
//! - [`federation`]: partner nodes, trust lists, and the witness sender.

pub mod api;
pub mod auditor;
pub mod client;
pub mod config;
pub mod federation;
pub mod locks;
pub mod rules;
pub mod server;
pub mod state;
pub mod tls;

use std::sync::Arc;

use crate::audit::entry::HolderKey;
use crate::audit::log::{AuditLog, LogConfig};
use crate::audit::note::NoteSigner;
use crate::licence::issue::Signer;
use crate::licence::original::OfdSigner;
use crate::licence::verify::Verifier;
use crate::ofd::verify::OfdVerifier;
use crate::pki::trust::TrustStore;

pub use config::{Config, ConfigError};
pub use rules::usage;

/// Why the node could not start: the config key concerned and what is wrong.
pub type StartError = ConfigError;

/// A running node's parts.
pub struct Node {
    /// The checked configuration.
    pub config: Config,
    /// The audit log (and the state table beside it).
    pub log: AuditLog,
    /// The licence signer.
    pub signer: Signer,
    /// The seal signer, making OFD 原件 and OFD usage copies; `None` when the config names no
    /// seal.
    pub ofd_signer: Option<OfdSigner>,
    /// Licence verification against the configured anchors.
    pub verifier: Verifier,
    /// OFD verification against the same anchors and CRLs.
    pub ofd_verifier: OfdVerifier,
    /// Places for OFD verifications running at once ([`MAX_OFD_VERIFICATIONS`]).
    pub ofd_verifications: Arc<tokio::sync::Semaphore>,
    /// The holder-hash key.
    pub holder_key: HolderKey,
    /// TLS server configuration.
    pub tls: Arc<rustls::ServerConfig>,
    /// Client CAs and their regions.
    pub client_cas: Vec<tls::KnownCa>,
    /// Serialises read-modify-write changes of the state table per record (a licence's status,
    /// a consent's uses, a witnessed log's state).
    pub locks: Arc<locks::KeyedLocks>,
    /// Partner nodes, the witness key, the trust-list sequence.
    pub federation: federation::Federation,
    /// Places for audit reads (`GET /v1/audit/entries`) streamed at once.
    pub audit_reads: Arc<tokio::sync::Semaphore>,
}

/// Audit reads streamed at once; more wait (at most 30 s) for a place.
pub const MAX_AUDIT_READS: usize = 8;

/// OFD verifications run at once; more wait for a place. Each may hold its file and up to
/// [`crate::ofd::MAX_TOTAL_BYTES`] (64 MiB) of inflated package, so this bounds what OFD
/// verification can cost the node's memory, whatever the number of callers.
pub const MAX_OFD_VERIFICATIONS: usize = 4;

/// The bytes of the file at `p`, which the config key `key` names.
fn read(key: &'static str, p: &std::path::Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(p).map_err(|e| ConfigError {
        key: key.into(),
        problem: format!("{}: {e}", p.display()),
    })
}

fn at(key: &str) -> impl Fn(String) -> ConfigError + '_ {
    move |problem| ConfigError {
        key: key.to_owned(),
        problem,
    }
}

impl Node {
    /// Loads keys and certificates and opens the data directory. Blocking.
    pub fn open(config: Config) -> Result<Node, StartError> {
        let mut cas: Vec<_> = config
            .client_cas
            .iter()
            .map(|c| (c.cert.clone(), c.crl.clone(), c.region))
            .collect();
        // Partner nodes connect with certificates of their own TLS CA.
        for p in config.partners.values() {
            cas.push((p.tls_ca.clone(), p.tls_crl.clone(), p.region));
        }
        let (tls, client_cas) =
            tls::server_config(&config.tls_cert, &config.tls_key, &cas).map_err(at("tls"))?;

        let chain = match &config.signer_chain {
            Some(p) => Some(read("signer.chain", p)?),
            None => None,
        };
        let signer = Signer::from_pem(
            &read("signer.cert", &config.signer_cert)?,
            &read("signer.key", &config.signer_key)?,
            chain.as_deref(),
        )
        .map_err(|e| at("signer")(e.to_string()))?;
        if signer.region() != &config.region {
            return Err(at("signer.cert")(format!(
                "the signer signs for region {}, not for this node's region {}",
                signer.region(),
                config.region
            )));
        }

        let ofd_signer = match &config.seal {
            None => None,
            Some(s) => Some(ofd_signer(s, &signer)?),
        };

        // Licences and OFD documents are verified against the same anchors and CRLs: the store
        // is built once for each verifier, from the same configuration.
        let verifier = Verifier::new(trust_store(&config)?);
        let ofd_verifier = OfdVerifier::new(trust_store(&config)?);

        let holder_key =
            HolderKey::from_file(&config.holder_secret).map_err(at("audit.holder_secret"))?;
        let key_text = String::from_utf8(read("audit.key", &config.audit_key)?)
            .map_err(|_| at("audit.key")("not UTF-8 text".into()))?;
        let note_signer =
            NoteSigner::from_private_key(&key_text).map_err(|e| at("audit.key")(e.to_string()))?;
        let log = AuditLog::open(
            &config.data_dir,
            LogConfig {
                origin: config.audit_origin.clone(),
                signer: note_signer,
                state_file: config.audit_state.clone(),
                checkpoint_interval: Some(config.checkpoint_interval),
                adopt_store: false,
                holder_key: Some(holder_key.clone()),
            },
        )
        .map_err(|e| at("node.data_dir")(e.to_string()))?;
        let federation = federation::Federation::open(&config, &log)?;
        Ok(Node {
            config,
            log,
            signer,
            ofd_signer,
            verifier,
            ofd_verifier,
            ofd_verifications: Arc::new(tokio::sync::Semaphore::new(MAX_OFD_VERIFICATIONS)),
            holder_key,
            tls,
            client_cas,
            locks: locks::KeyedLocks::new(),
            federation,
            audit_reads: Arc::new(tokio::sync::Semaphore::new(MAX_AUDIT_READS)),
        })
    }
}

/// The seal signer of `[seal]`, checked now: the seal lists the signer and both are valid,
/// and the signer's certificate names the licence signer's authority (the same region and
/// 统一社会信用代码), since both formats of a licence come from one payload.
fn ofd_signer(s: &config::SealFiles, signer: &Signer) -> Result<OfdSigner, StartError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let ofd = OfdSigner::from_pem(
        &read("seal.signer_cert", &s.signer_cert)?,
        &read("seal.signer_key", &s.signer_key)?,
        &read("seal.file", &s.file)?,
        now,
    )
    .map_err(|e| at("seal")(e.to_string()))?;
    let (a, b) = (ofd.authority(), signer.authority());
    if a.region != b.region || a.issuer != b.issuer {
        return Err(at("seal.signer_cert")(format!(
            "the seal signer signs for {} in region {}, the licence signer for {} in region {}: \
             both must name the same authority",
            a.issuer, a.region, b.issuer, b.region
        )));
    }
    Ok(ofd)
}

/// The trust anchors and CRLs the node verifies licences and OFD documents against: each
/// `[[trust]]` (bound to its regions) and each partner's `licence_roots` (bound to the
/// partner's region only).
fn trust_store(config: &Config) -> Result<TrustStore, StartError> {
    let mut trust = TrustStore::new();
    for (i, t) in config.trust.iter().enumerate() {
        let k = format!("trust[{i}]");
        let pem = read("trust", &t.cert)?;
        trust
            .add_pem(&pem, &t.regions, &k)
            .map_err(|e| at(&k)(e.to_string()))?;
        if let Some(c) = &t.crl {
            // Reports name the CRL by its key: the node's file paths are not the caller's business.
            let k = format!("{k}.crl");
            let pem = read("trust", c)?;
            trust
                .add_crl_pem(&pem, &k)
                .map_err(|e| at(&k)(e.to_string()))?;
        }
    }
    // A partner's licence roots vouch for the partner's region only.
    for (i, p) in config.partners.values().enumerate() {
        let k = format!("partners[{i}].licence_roots");
        for (j, (cert, crl)) in p.licence_roots.iter().enumerate() {
            let pem = read("partners.licence_roots", cert)?;
            trust
                .add_pem(&pem, std::slice::from_ref(&p.region), &k)
                .map_err(|e| at(&k)(e.to_string()))?;
            if let Some(c) = crl {
                let pem = read("partners.licence_roots", c)?;
                // Partners are kept by region, not in the order of the file: the report names
                // the CRL by the partner's region.
                let name = format!("partner {}'s licence_roots[{j}].crl", p.region);
                trust
                    .add_crl_pem(&pem, &name)
                    .map_err(|e| at(&k)(e.to_string()))?;
            }
        }
    }
    Ok(trust)
}
