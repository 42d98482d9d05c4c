//! Federation with partner regions' nodes (docs/federation.md).
//!
//! - [`PartnerLink`]: one partner: its TLS client configuration and a small pool of kept-alive
//!   connections, its audit and witness keys, and the trust list last accepted from it;
//! - trust lists: this node's signed list of licence signers (with a sequence number that only
//!   grows) and the fetching, checking and keeping of partners' lists;
//! - the witness sender: this node's new checkpoints go to its partners, which cosign them.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::digest;
use rustls::ClientConfig;
use serde::{Deserialize, Serialize};

use super::Node;
use super::client::{Client, Reply};
use super::config::{Config, ConfigError, Partner};
use super::tls::Caller;
use super::usage::{self, Refusal, refuse};
use crate::audit::entry::{Action, Actor, EntryDraft, now_unix_ms};
use crate::audit::log::AuditLog;
use crate::audit::note::{CosignatureSigner, CosignatureVerifier, NoteVerifier};
use crate::codes::RegionCode;
use crate::licence::verify::rfc3339;
use crate::pki::trust::TrustStore;
use crate::store::Write;

/// The `typ` of a signed trust list.
pub const TRUST_LIST_TYP: &str = "trust-list+jwt";
/// How long a published trust list is valid (`next_update`).
pub const TRUST_LIST_VALIDITY_SECS: i64 = 24 * 3600;
/// Kept-alive connections kept per partner.
const POOL: usize = 16;

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes))
}

/// A revoked licence signer in a trust list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedEntry {
    /// SHA-256 of the certificate (DER), lower-case hex.
    pub sha256: String,
    /// When it was revoked (RFC 3339).
    pub revoked_at: String,
    /// Why.
    pub reason: String,
}

/// A node's signed trust list: its licence signers, revoked signers and licence types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustList {
    /// The node's region.
    pub region: String,
    /// The node's id.
    pub node: String,
    /// Grows whenever the content (signers, revoked signers, types) changes.
    pub sequence: u64,
    /// When this copy was signed (RFC 3339).
    pub issued_at: String,
    /// When to fetch it again at the latest (RFC 3339).
    pub next_update: String,
    /// Current licence signer certificates (standard base64 of DER).
    pub signers: Vec<String>,
    /// Revoked licence signer certificates.
    pub revoked_signers: Vec<RevokedEntry>,
    /// Licence types the node issues (`["*"]`: all).
    pub types: Vec<String>,
}

impl TrustList {
    /// SHA-256 over the content that the sequence number versions.
    pub fn content_hash(&self) -> String {
        let content = serde_json::json!({
            "signers": self.signers,
            "revoked_signers": self.revoked_signers,
            "types": self.types,
        });
        sha256_hex(content.to_string().as_bytes())
    }

    /// Whether the signer certificate with this SHA-256 is listed as current.
    pub fn lists_signer(&self, sha256: &str) -> bool {
        self.signers.iter().any(|c| {
            STANDARD
                .decode(c)
                .is_ok_and(|der| sha256_hex(&der) == sha256)
        })
    }

    /// The revocation of the signer with this SHA-256, if it is revoked.
    pub fn revocation(&self, sha256: &str) -> Option<&RevokedEntry> {
        self.revoked_signers.iter().find(|r| r.sha256 == sha256)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OwnSequence {
    sequence: u64,
    content: String,
}

/// How far a partner's witness has got with this node's log.
#[derive(Debug, Clone, Default)]
struct WitnessProgress {
    /// The size the witness says it holds, once known.
    known: Option<u64>,
    /// The checkpoint body it last cosigned, and its cosignature lines.
    cosigned: Option<(String, String)>,
    /// It refused a checkpoint of ours (a bad proof or signature): not asked again.
    refused: bool,
}

/// One partner node.
pub struct PartnerLink {
    /// Its configuration.
    pub partner: Partner,
    tls: Arc<ClientConfig>,
    pool: Mutex<Vec<Client>>,
    /// Its audit log's verifier key.
    pub log_key: NoteVerifier,
    /// Its witness key, if it witnesses our log.
    pub witness_key: Option<CosignatureVerifier>,
    trust_list: RwLock<Option<TrustList>>,
    /// The last refused trust list's content hash and sequence, not to log it twice.
    last_refused: Mutex<Option<(u64, String)>>,
    progress: Mutex<WitnessProgress>,
}

impl PartnerLink {
    /// `GET path` of the partner under `deadline`; anything but 200 is an error.
    pub async fn get_ok(&self, path: &str, deadline: Duration) -> Result<Reply, String> {
        let reply = self.call("GET", path, None, Vec::new(), deadline).await?;
        if reply.status != 200 {
            return Err(format!("the partner answered HTTP {}", reply.status));
        }
        Ok(reply)
    }

    /// Calls the partner's node: `method path`, a body of `content_type`, under `deadline`.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        deadline: Duration,
    ) -> Result<Reply, String> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        let client = match pooled {
            Some(c) => c,
            None => Client::from_config(&self.partner.url, self.tls.clone())?,
        };
        let mut client = client.with_timeout(deadline);
        let reply = client.raw(method, path, content_type, body).await;
        if reply.is_ok()
            && let Ok(mut p) = self.pool.lock()
            && p.len() < POOL
        {
            p.push(client);
        }
        reply
    }

    /// The trust list last accepted from the partner.
    pub fn trust_list(&self) -> Option<TrustList> {
        self.trust_list.read().ok().and_then(|l| l.clone())
    }
}

/// This node's partners, its witness key, and its trust-list sequence.
pub struct Federation {
    /// Partner nodes by region.
    pub partners: BTreeMap<RegionCode, PartnerLink>,
    /// This node's witness key.
    pub witness: Option<CosignatureSigner>,
    /// The sequence number of this node's trust list.
    pub sequence: AtomicU64,
}

fn read_text(key: &str, p: &std::path::Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(p).map_err(|e| ConfigError {
        key: key.into(),
        problem: format!("{}: {e}", p.display()),
    })
}

fn cfg_err(key: impl Into<String>, problem: impl std::fmt::Display) -> ConfigError {
    ConfigError {
        key: key.into(),
        problem: problem.to_string(),
    }
}

impl Federation {
    /// Opens the partner links (and the trust lists kept for them) and the witness key.
    pub fn open(config: &Config, log: &AuditLog) -> Result<Federation, ConfigError> {
        let mut partners = BTreeMap::new();
        for (i, p) in config.partners.values().enumerate() {
            let k = format!("partners[{i}]");
            let tls = super::tls::client_config(&p.tls_ca, &config.tls_cert, &config.tls_key)
                .map_err(|e| cfg_err(format!("{k}.tls_ca"), e))?;
            let log_key = NoteVerifier::parse(read_text("audit_vkey", &p.audit_vkey)?.trim())
                .map_err(|e| cfg_err(format!("{k}.audit_vkey"), e))?;
            let witness_key = match &p.witness_vkey {
                Some(path) => Some(
                    CosignatureVerifier::parse(read_text("witness_vkey", path)?.trim())
                        .map_err(|e| cfg_err(format!("{k}.witness_vkey"), e))?,
                ),
                None => None,
            };
            let kept = match log.state().trust_list(&p.region) {
                Ok(Some(v)) => serde_json::from_slice::<TrustList>(&v).ok(),
                Ok(None) => None,
                Err(e) => return Err(cfg_err("node.data_dir", e)),
            };
            partners.insert(
                p.region,
                PartnerLink {
                    partner: p.clone(),
                    tls,
                    pool: Mutex::new(Vec::new()),
                    log_key,
                    witness_key,
                    trust_list: RwLock::new(kept),
                    last_refused: Mutex::new(None),
                    progress: Mutex::new(WitnessProgress::default()),
                },
            );
        }
        let witness = match &config.witness_key {
            Some(p) => Some(
                CosignatureSigner::from_private_key(read_text("witness.key", p)?.trim_end())
                    .map_err(|e| cfg_err("witness.key", e))?,
            ),
            None => None,
        };
        let sequence = match log.state().own_trust_list() {
            Ok(Some(v)) => serde_json::from_slice::<OwnSequence>(&v)
                .map(|s| s.sequence)
                .unwrap_or(0),
            Ok(None) => 0,
            Err(e) => return Err(cfg_err("node.data_dir", e)),
        };
        Ok(Federation {
            partners,
            witness,
            sequence: AtomicU64::new(sequence),
        })
    }

    /// The partner whose node `caller` is, if it is one.
    pub fn partner_node(&self, caller: &Caller) -> Option<&PartnerLink> {
        self.partners
            .get(&caller.region)
            .filter(|p| p.partner.node_id == caller.id)
    }

    /// The partner of `region`.
    pub fn partner(&self, region: &RegionCode) -> Option<&PartnerLink> {
        self.partners.get(region)
    }

    /// The partner whose log has this origin.
    pub fn partner_by_origin(&self, origin: &str) -> Option<&PartnerLink> {
        self.partners
            .values()
            .find(|p| p.partner.audit_origin == origin)
    }

    /// `note` (this node's latest checkpoint, whose body is `body`) with the cosignatures
    /// partners made of exactly that body.
    pub fn cosigned(&self, note: &str, body: &str) -> String {
        let mut out = note.to_owned();
        for p in self.partners.values() {
            if let Ok(g) = p.progress.lock()
                && let Some((b, lines)) = &g.cosigned
                && b == body
            {
                out.push_str(lines);
            }
        }
        out
    }
}

/// Appends `draft` (with `writes` to the state table) and waits for its synced write.
async fn log_entry(node: &Node, draft: EntryDraft, writes: Vec<Write>) -> Result<(), String> {
    node.log
        .submit(vec![draft], writes)
        .map_err(|e| e.to_string())?
        .recv()
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn self_actor(node: &Node) -> Actor {
    Actor {
        id: node.config.node_id.clone(),
        region: Some(node.config.region),
        cert_sha256: None,
    }
}

// ---------------------------------------------------------------------------------------------
// This node's trust list.

/// The content of this node's trust list as configured: signers, revoked signers, types.
fn own_content(node: &Node) -> Result<TrustList, String> {
    let mut signers = vec![
        node.signer
            .chain()
            .first()
            .map(|d| STANDARD.encode(d))
            .ok_or("the signer has no certificate")?,
    ];
    for path in &node.config.signer_also {
        for der in super::tls::certs(path)? {
            let b = STANDARD.encode(der.as_ref());
            if !signers.contains(&b) {
                signers.push(b);
            }
        }
    }
    let revoked_signers = node
        .config
        .signer_revoked
        .iter()
        .map(|r| RevokedEntry {
            sha256: r.sha256.clone(),
            revoked_at: rfc3339(r.at),
            reason: r.reason.clone(),
        })
        .collect();
    Ok(TrustList {
        region: node.config.region.to_string(),
        node: node.config.node_id.clone(),
        sequence: 0,
        issued_at: String::new(),
        next_update: String::new(),
        signers,
        revoked_signers,
        types: node.config.signer_types.to_list(),
    })
}

/// At start: if the configured content differs from the last published, the sequence grows,
/// and the publication is logged (`federation.trust_list`, outcome `published`).
pub async fn publish_trust_list(node: &Node) -> Result<u64, String> {
    let content = own_content(node)?.content_hash();
    let stored = node
        .log
        .state()
        .own_trust_list()
        .map_err(|e| e.to_string())?
        .and_then(|v| serde_json::from_slice::<OwnSequence>(&v).ok());
    if let Some(s) = &stored
        && s.content == content
    {
        node.federation.sequence.store(s.sequence, Ordering::SeqCst);
        return Ok(s.sequence);
    }
    let sequence = stored.map_or(1, |s| s.sequence + 1);
    let write = Write::own_trust_list(&OwnSequence {
        sequence,
        content: content.clone(),
    })
    .map_err(|e| e.to_string())?;
    let mut draft = EntryDraft::new(self_actor(node), Action::FederationTrustList, "published");
    draft.detail.insert("sequence".into(), sequence.into());
    draft.detail.insert("content_sha256".into(), content.into());
    log_entry(node, draft, vec![write]).await?;
    node.federation.sequence.store(sequence, Ordering::SeqCst);
    Ok(sequence)
}

/// This node's trust list, signed now.
pub fn signed_trust_list(node: &Node) -> Result<String, String> {
    let mut list = own_content(node)?;
    let now = now_unix_ms() / 1000;
    list.sequence = node.federation.sequence.load(Ordering::SeqCst);
    list.issued_at = rfc3339(now);
    list.next_update = rfc3339(now + TRUST_LIST_VALIDITY_SECS);
    let payload = serde_json::to_vec(&list).map_err(|e| e.to_string())?;
    node.signer
        .sign_document(TRUST_LIST_TYP, &payload)
        .map_err(|e| e.to_string())
}

fn parse_time(what: &str, s: &str) -> Result<i64, Refusal> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| refuse("malformed", format!("{what}: {e}")))
}

/// Checks a partner's signed trust list: signed by a licence signer of `region` under the
/// anchors in `trust`, about `region`, and not past its `next_update`. Returns the list and
/// the SHA-256 of its signer's certificate.
pub fn check_trust_list(
    token: &str,
    region: &RegionCode,
    trust: &TrustStore,
    now: i64,
) -> Result<(TrustList, String), Refusal> {
    let (list, signer) = usage::check_document::<TrustList>(token, TRUST_LIST_TYP, trust, |l| {
        let r = RegionCode::from_str(&l.region)
            .map_err(|e| refuse("malformed", format!("region: {e}")))?;
        Ok((r, parse_time("issued_at", &l.issued_at)?))
    })?;

    if list.region != region.to_string() {
        return Err(refuse(
            "wrong_region",
            format!("the list is about region {}, not {region}", list.region),
        ));
    }
    if parse_time("next_update", &list.next_update)? <= now {
        return Err(refuse("stale", "the list is past its next_update"));
    }
    Ok((list, sha256_hex(&signer)))
}

/// Fetches, checks and keeps one partner's trust list. A lower sequence (rollback) or the
/// same sequence with other content (equivocation) is refused and the list kept so far stays.
pub async fn refresh_trust_list(node: &Node, link: &PartnerLink) -> Result<(), String> {
    let region = link.partner.region;
    let reply = link
        .get_ok("/v1/trust-list", node.config.federation.lookup_deadline)
        .await?;
    let token = reply.text();
    let now = now_unix_ms() / 1000;
    let kept = link.trust_list();
    let checked = check_trust_list(token.trim(), &region, node.verifier.trust(), now);
    let verdict = match &checked {
        Err(r) => Err((r.outcome, r.detail.clone(), 0, String::new())),
        Ok((list, signer)) => {
            let hash = list.content_hash();
            match &kept {
                Some(k) if list.sequence < k.sequence => Err((
                    "rollback",
                    format!(
                        "sequence {} is below sequence {} already accepted",
                        list.sequence, k.sequence
                    ),
                    list.sequence,
                    hash,
                )),
                Some(k) if list.sequence == k.sequence && k.content_hash() != hash => Err((
                    "equivocation",
                    format!("sequence {} was accepted with other content", list.sequence),
                    list.sequence,
                    hash,
                )),
                Some(k) if list.sequence == k.sequence => return Ok(()),
                // A signer the list accepted so far revokes cannot sign its way back in.
                Some(k) if k.revocation(signer).is_some() => Err((
                    "signer_revoked",
                    format!(
                        "the list is signed by a signer that sequence {} revokes",
                        k.sequence
                    ),
                    list.sequence,
                    hash,
                )),
                _ => Ok((list.clone(), hash)),
            }
        }
    };
    let mut draft = EntryDraft::new(self_actor(node), Action::FederationTrustList, "accepted");
    draft
        .detail
        .insert("partner".into(), region.to_string().into());
    match verdict {
        Ok((list, hash)) => {
            draft.detail.insert("sequence".into(), list.sequence.into());
            draft.detail.insert("content_sha256".into(), hash.into());
            let write = Write::trust_list(&region, &list).map_err(|e| e.to_string())?;
            log_entry(node, draft, vec![write]).await?;
            tracing::info!(partner = %region, sequence = list.sequence, "trust list accepted");
            if let Ok(mut l) = link.trust_list.write() {
                *l = Some(list);
            }
            Ok(())
        }
        Err((outcome, detail, sequence, hash)) => {
            {
                let Ok(mut last) = link.last_refused.lock() else {
                    return Err(detail);
                };
                let this = (sequence, format!("{outcome}/{hash}"));
                if last.as_ref() == Some(&this) {
                    return Err(detail);
                }
                *last = Some(this);
            }
            tracing::warn!(partner = %region, %outcome, %detail, "trust list refused");
            draft.outcome = outcome.to_owned();
            draft.detail.insert("sequence".into(), sequence.into());
            draft.detail.insert("message".into(), detail.clone().into());
            log_entry(node, draft, Vec::new()).await?;
            Err(detail)
        }
    }
}

/// Fetches every partner's trust list now and then on the configured schedule, until `stop`.
pub async fn trust_list_loop(node: Arc<Node>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        for link in node.federation.partners.values() {
            if let Err(e) = refresh_trust_list(&node, link).await {
                tracing::debug!(partner = %link.partner.region, error = %e, "trust list not updated");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(node.config.federation.trust_list_refresh) => {}
            _ = stop.changed() => return,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Witnessing: sending this node's checkpoints to its partners.

/// One round: the latest checkpoint to every partner witness that has not cosigned it.
pub async fn send_checkpoints(node: &Node) {
    let Some(cp) = node.log.latest_checkpoint() else {
        return;
    };
    let body = cp.checkpoint.body();
    let size = cp.checkpoint.size;
    for link in node.federation.partners.values() {
        let Some(key) = &link.witness_key else {
            continue;
        };
        let (known, done, refused) = match link.progress.lock() {
            Ok(g) => (
                g.known,
                g.cosigned.as_ref().is_some_and(|(b, _)| b == &body),
                g.refused,
            ),
            Err(_) => continue,
        };
        if done || refused {
            continue;
        }
        let mut old = known.unwrap_or(0);
        for _attempt in 0..2 {
            if old > size {
                tracing::error!(partner = %link.partner.region, witness_size = old, size,
                    "the witness holds a larger tree of this log than the log has");
                break;
            }
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                match node.log.consistency_proof(old, size) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::error!(error = %e, "consistency proof for the witness");
                        break;
                    }
                }
            };
            let mut text = format!("old {old}\n");
            for h in &proof {
                text.push_str(&STANDARD.encode(h));
                text.push('\n');
            }
            text.push('\n');
            text.push_str(&cp.note);
            let reply = link
                .call(
                    "POST",
                    "/v1/witness/add-checkpoint",
                    Some("text/plain; charset=utf-8"),
                    text.into_bytes(),
                    node.config.federation.status_deadline,
                )
                .await;
            let reply = match reply {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(partner = %link.partner.region, error = %e, "witness not reached");
                    break;
                }
            };
            match reply.status {
                200 => {
                    let lines = reply.text();
                    let joined = format!("{}{}", cp.note, lines);
                    match key.verify(&joined) {
                        Ok(_) => {
                            if let Ok(mut g) = link.progress.lock() {
                                g.known = Some(size);
                                g.cosigned = Some((body.clone(), lines));
                            }
                        }
                        Err(e) => tracing::warn!(partner = %link.partner.region, error = %e,
                            "the witness's cosignature does not verify"),
                    }
                    break;
                }
                409 => {
                    let Ok(n) = reply.text().trim().parse::<u64>() else {
                        break;
                    };
                    if let Ok(mut g) = link.progress.lock() {
                        g.known = Some(n);
                    }
                    old = n;
                }
                403 | 422 => {
                    tracing::error!(partner = %link.partner.region, status = reply.status,
                        answer = %reply.text(), "the witness refused this log's checkpoint");
                    if let Ok(mut g) = link.progress.lock() {
                        g.refused = true;
                    }
                    break;
                }
                other => {
                    tracing::warn!(partner = %link.partner.region, status = other, "witness answer");
                    break;
                }
            }
        }
    }
}

/// Sends checkpoints to the partner witnesses on the configured interval, until `stop`.
pub async fn witness_loop(node: Arc<Node>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        send_checkpoints(&node).await;
        tokio::select! {
            _ = tokio::time::sleep(node.config.federation.witness_interval) => {}
            _ = stop.changed() => return,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Licences of partners.

/// SHA-256 (hex) of a licence's signer certificate, `x5c[0]` of its header.
pub fn signer_sha256(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct X5c {
        x5c: Vec<String>,
    }
    let h = token.split('.').next()?;
    let header: X5c = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    let der = STANDARD.decode(header.x5c.first()?).ok()?;
    Some(sha256_hex(&der))
}

/// Why a partner's (validly signed) licence is not accepted here, if it is not: the type is
/// not recognised at signing time, or the partner's trust list revokes or omits its signer.
pub fn partner_refusal(
    link: &PartnerLink,
    token: &str,
    type_code: &str,
    signed_at: i64,
) -> Option<(&'static str, String)> {
    if !link.partner.recognises(type_code, signed_at) {
        return Some((
            "not_recognised",
            format!(
                "type {type_code} of region {} is not recognised here for licences signed at {}",
                link.partner.region,
                rfc3339(signed_at)
            ),
        ));
    }
    if let Some(list) = link.trust_list() {
        let Some(sha) = signer_sha256(token) else {
            return Some(("malformed", "no signer certificate".into()));
        };
        if let Some(r) = list.revocation(&sha) {
            return Some((
                "signer_revoked",
                format!(
                    "the partner's trust list (sequence {}) revokes the signer since {}: {}",
                    list.sequence, r.revoked_at, r.reason
                ),
            ));
        }
        if !list.lists_signer(&sha) {
            return Some((
                "signer_not_listed",
                format!(
                    "the signer is not in the partner's trust list (sequence {})",
                    list.sequence
                ),
            ));
        }
    }
    None
}

/// The live status of a partner's licence, asked of the partner under the status deadline:
/// `Ok(status)` as the partner states it (by name, with its code if the partner gives one; see
/// [`Status::from_answer`](crate::node::state::Status::from_answer)), or `Err(why)` when it
/// cannot be had.
pub async fn partner_status(
    node: &Node,
    link: &PartnerLink,
    id: &str,
) -> Result<crate::node::state::Status, String> {
    let reply = link
        .get_ok(
            &format!("/v1/licences/{id}/status"),
            node.config.federation.status_deadline,
        )
        .await?;
    let v = reply.json()?;
    crate::node::state::Status::from_answer(
        v.get("status").and_then(|s| s.as_str()),
        v.get("status_code").and_then(|s| s.as_str()),
    )
    .map_err(|why| format!("the partner's answer: {why}"))
}
