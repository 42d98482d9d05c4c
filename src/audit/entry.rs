//! The audit entry: one access, as a deterministic JSON object (docs/audit-format.md).
//!
//! The leaf of the Merkle tree is the exact bytes of an entry. They are canonical: an object
//! with its keys sorted, no whitespace, strings escaped as `serde_json` does (only `"`, `\` and
//! control characters), integers only. Re-serialising a parsed entry the same way gives the same
//! bytes, which [`Entry::parse`] checks.
//!
//! No holder code is ever stored: the `holder` member is an HMAC-SHA256 under a per-node secret
//! ([`HolderKey`]). Free text (actor id, matter, purpose, the strings and member names of
//! `detail`) passes through [`crate::codes::redact_keyed`] before it is written: a holder code
//! found there, however it is written, becomes `<holder:HASH>` with the same hash as the
//! `holder` member (when the log has the node's key; `<redacted>` without), an ID-shaped run
//! that is no code becomes `<redacted>`. A licence id whose serial holds such a code is written
//! as `licence: null` and `detail.licence_hash: "<licence:HASH>"`.

use std::fmt;
use std::path::Path;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::codes::{
    HolderCode, LicenceId, LicenceTypeCode, REDACTED, RegionCode, check_chars, holds_id_numbers,
    make_visible, redact_id_numbers, redact_keyed,
};
use std::str::FromStr as _;

/// Largest entry, in bytes of its serialised form.
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;

/// The `detail` member naming a verified OFD file by its SM3 digest (64 lower-case hex
/// digits). It is the one `detail` string kept as it is, unredacted: the node computes it, so
/// no caller can make it spell a holder code, and an auditor must be able to compare it with
/// the file's digest whatever digits it holds.
pub const OFD_SM3: &str = "ofd_sm3";

/// The `detail` member naming the case (业务流水号) a lookup served. It is kept as it is when it
/// holds no holder code ([`crate::codes::holds_holder_codes`]) and no character free text
/// refuses: a case number is an identifier that is often a long run of digits, which the
/// redaction would otherwise blank as ID-shaped, and an auditor finds a case's entries by it.
/// The node refuses a case number that holds a holder code before it reaches the entry.
pub const CASE: &str = "case";

/// Longest free-text member (actor id, matter, purpose), in characters.
pub const MAX_TEXT_CHARS: usize = 512;

/// Why an entry was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EntryError {
    /// The serialised entry is larger than [`MAX_ENTRY_BYTES`].
    #[error("entry is {0} bytes; the limit is {MAX_ENTRY_BYTES}")]
    TooLarge(usize),
    /// A member is missing, of the wrong type or out of range.
    #[error("entry member `{member}`: {reason}")]
    Member {
        /// The member's name.
        member: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The bytes are not an entry in canonical form.
    #[error("not a canonical audit entry: {0}")]
    NotCanonical(String),
}

fn member(member: &'static str, reason: impl Into<String>) -> EntryError {
    EntryError::Member {
        member,
        reason: reason.into(),
    }
}

/// What was done. Serialised as its dotted name, for example `licence.issue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// A licence was issued.
    #[serde(rename = "licence.issue")]
    LicenceIssue,
    /// A licence's status changed (revoked, suspended, reinstated, superseded).
    #[serde(rename = "licence.status")]
    LicenceStatus,
    /// A licence was verified.
    #[serde(rename = "licence.verify")]
    LicenceVerify,
    /// A department looked licences up (免证办).
    #[serde(rename = "licence.lookup")]
    LicenceLookup,
    /// A usage copy (加注件) was handed out.
    #[serde(rename = "licence.usage_copy")]
    LicenceUsageCopy,
    /// A holder granted consent.
    #[serde(rename = "consent.grant")]
    ConsentGrant,
    /// A holder withdrew consent.
    #[serde(rename = "consent.revoke")]
    ConsentRevoke,
    /// Someone read the audit log (entries, proofs, checkpoints).
    #[serde(rename = "audit.read")]
    AuditRead,
    /// A call was forwarded to a partner node.
    #[serde(rename = "federation.forward")]
    FederationForward,
    /// A witness cosigned, or was asked to cosign, a checkpoint.
    #[serde(rename = "federation.witness")]
    FederationWitness,
    /// A caller was refused before the request was served.
    #[serde(rename = "auth.denied")]
    AuthDenied,
    /// The node started.
    #[serde(rename = "node.start")]
    NodeStart,
    /// The node stopped in an orderly way.
    #[serde(rename = "node.stop")]
    NodeStop,
    /// A licence's status and history were read.
    #[serde(rename = "licence.status_read")]
    LicenceStatusRead,
    /// A licence's OFD 原件 was read (`GET /v1/licences/{id}/ofd`).
    #[serde(rename = "licence.ofd_read")]
    LicenceOfdRead,
    /// The API description was read.
    #[serde(rename = "api.describe")]
    ApiDescribe,
    /// A request matched no route (or no method of its route).
    #[serde(rename = "request.unknown")]
    RequestUnknown,
    /// This node published a new trust list, or accepted or refused a partner's.
    #[serde(rename = "federation.trust_list")]
    FederationTrustList,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 18] = [
        Action::LicenceIssue,
        Action::LicenceStatus,
        Action::LicenceVerify,
        Action::LicenceLookup,
        Action::LicenceUsageCopy,
        Action::ConsentGrant,
        Action::ConsentRevoke,
        Action::AuditRead,
        Action::FederationForward,
        Action::FederationWitness,
        Action::AuthDenied,
        Action::NodeStart,
        Action::NodeStop,
        Action::LicenceStatusRead,
        Action::LicenceOfdRead,
        Action::ApiDescribe,
        Action::RequestUnknown,
        Action::FederationTrustList,
    ];

    /// The dotted name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::LicenceIssue => "licence.issue",
            Action::LicenceStatus => "licence.status",
            Action::LicenceVerify => "licence.verify",
            Action::LicenceLookup => "licence.lookup",
            Action::LicenceUsageCopy => "licence.usage_copy",
            Action::ConsentGrant => "consent.grant",
            Action::ConsentRevoke => "consent.revoke",
            Action::AuditRead => "audit.read",
            Action::FederationForward => "federation.forward",
            Action::FederationWitness => "federation.witness",
            Action::AuthDenied => "auth.denied",
            Action::NodeStart => "node.start",
            Action::NodeStop => "node.stop",
            Action::LicenceStatusRead => "licence.status_read",
            Action::LicenceOfdRead => "licence.ofd_read",
            Action::ApiDescribe => "api.describe",
            Action::RequestUnknown => "request.unknown",
            Action::FederationTrustList => "federation.trust_list",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who acted: the authenticated caller, or the node itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// The caller's name, from its certificate (or the node's own name).
    pub id: String,
    /// The caller's region, when known.
    pub region: Option<RegionCode>,
    /// SHA-256 of the caller's certificate (DER), lower-case hex, when there was one.
    pub cert_sha256: Option<String>,
}

impl Actor {
    /// An actor with no region and no certificate, for example the node itself at start-up.
    pub fn named(id: impl Into<String>) -> Actor {
        Actor {
            id: id.into(),
            region: None,
            cert_sha256: None,
        }
    }
}

/// An entry as the caller gives it: everything but `index` and `time`, which the log assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryDraft {
    /// Who acted.
    pub actor: Actor,
    /// For a forwarded call, who the forwarding node acted for.
    pub on_behalf_of: Option<Actor>,
    /// What was done.
    pub action: Action,
    /// The licence concerned, if any.
    pub licence: Option<LicenceId>,
    /// The holder concerned, as [`HolderKey::holder_hash`], if any.
    pub holder: Option<HolderHash>,
    /// The matter (事项) the access was for.
    pub matter: Option<String>,
    /// The stated purpose.
    pub purpose: Option<String>,
    /// How it ended: a short lower-case word such as `ok`, `denied`, `not_found` or a
    /// verification outcome.
    pub outcome: String,
    /// SHA-256 of the request body, lower-case hex.
    pub request_sha256: Option<String>,
    /// Anything else worth keeping, as a JSON object (may be empty).
    pub detail: Map<String, Value>,
}

impl EntryDraft {
    /// A draft with only the required members; fill in the rest as needed.
    pub fn new(actor: Actor, action: Action, outcome: impl Into<String>) -> EntryDraft {
        EntryDraft {
            actor,
            on_behalf_of: None,
            action,
            licence: None,
            holder: None,
            matter: None,
            purpose: None,
            outcome: outcome.into(),
            request_sha256: None,
            detail: Map::new(),
        }
    }
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the log, from 0.
    pub index: u64,
    /// When it was logged: RFC 3339, UTC, milliseconds (`2026-11-21T08:30:00.123Z`).
    pub time: String,
    /// The rest.
    pub draft: EntryDraft,
}

/// A keyed hash of a holder: HMAC-SHA256 under the node's [`HolderKey`], lower-case hex.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HolderHash(String);

impl HolderHash {
    /// The hex string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A stored hash (64 lower-case hex digits), for example from a consent record.
    pub fn from_hex(s: &str) -> Result<HolderHash, String> {
        HolderHash::parse(s).map_err(|e| e.to_string())
    }

    fn parse(s: &str) -> Result<HolderHash, EntryError> {
        if is_hex(s, 64) {
            Ok(HolderHash(s.to_owned()))
        } else {
            Err(member("holder", "must be 64 lower-case hex digits"))
        }
    }
}

impl fmt::Debug for HolderHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HolderHash({})", self.0)
    }
}

/// The per-node secret that turns holder codes into [`HolderHash`]es. 32 random bytes, kept in
/// a file of 64 hex digits. Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct HolderKey {
    key: hmac::Key,
}

impl fmt::Debug for HolderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HolderKey(<secret>)")
    }
}

impl HolderKey {
    /// A key from its 32 secret bytes.
    pub fn from_bytes(secret: &[u8; 32]) -> HolderKey {
        HolderKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// Make a new random secret and its file text (64 hex digits and a newline).
    pub fn generate() -> Result<(HolderKey, String), EntryError> {
        let mut secret = [0u8; 32];
        SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| member("holder", "no randomness for a new holder key"))?;
        Ok((
            HolderKey::from_bytes(&secret),
            format!("{}\n", hex::encode(secret)),
        ))
    }

    /// Read a key file written by [`HolderKey::generate`].
    pub fn from_file(path: &Path) -> Result<HolderKey, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        HolderKey::from_text(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parse the file text: 64 hex digits, optionally followed by one newline.
    pub fn from_text(text: &str) -> Result<HolderKey, String> {
        let t = text.strip_suffix('\n').unwrap_or(text);
        let mut secret = [0u8; 32];
        hex::decode_to_slice(t, &mut secret)
            .map_err(|_| "a holder key is 64 hex digits".to_owned())?;
        Ok(HolderKey::from_bytes(&secret))
    }

    /// The keyed hash of a holder: HMAC-SHA256 over `<holder type code> ":" <holder code>`.
    pub fn holder_hash(&self, holder: &HolderCode) -> HolderHash {
        let msg = format!("{}:{}", holder.holder_type().code(), holder.as_str());
        HolderHash(hex::encode(hmac::sign(&self.key, msg.as_bytes())))
    }

    /// The keyed hash of a licence id, for a licence whose serial holds a personal code:
    /// HMAC-SHA256 over `"licence:" <licence id>`, lower-case hex.
    pub fn licence_hash(&self, id: &LicenceId) -> String {
        let msg = format!("licence:{id}");
        hex::encode(hmac::sign(&self.key, msg.as_bytes()))
    }

    /// `text` with every holder code found in it, however written, replaced by
    /// `<holder:HASH>` ([`HolderKey::holder_hash`] of the code) and every ID-shaped run that is
    /// no valid code by `<redacted>`; see [`crate::codes::redact_keyed`].
    pub fn redact(&self, text: &str) -> String {
        redact_keyed(text, &|code| self.holder_hash(code).0)
    }
}

/// How an entry's text is redacted: with the node's key, or (no key) every code found becomes
/// `<redacted>`.
#[derive(Clone, Copy)]
struct Redactor<'a>(Option<&'a HolderKey>);

impl Redactor<'_> {
    fn text(self, s: &str) -> String {
        match self.0 {
            Some(key) => key.redact(s),
            None => redact_id_numbers(s),
        }
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check_text(name: &'static str, s: &str, allow_empty: bool) -> Result<(), EntryError> {
    if !allow_empty && s.is_empty() {
        return Err(member(name, "must not be empty"));
    }
    if s.chars().count() > MAX_TEXT_CHARS {
        return Err(member(
            name,
            format!("longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    check_chars(s).map_err(|fault| member(name, fault.to_string()))
}

fn check_outcome(s: &str) -> Result<(), EntryError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(member("outcome", "must be 1–64 characters of [a-z0-9_.]"))
    }
}

fn actor_value(name: &'static str, a: &Actor, r: Redactor<'_>) -> Result<Value, EntryError> {
    check_text(name, &a.id, false)?;
    if let Some(c) = &a.cert_sha256
        && !is_hex(c, 64)
    {
        return Err(member(name, "cert_sha256 must be 64 lower-case hex digits"));
    }
    let mut m = Map::new();
    m.insert("id".into(), Value::String(r.text(&a.id)));
    m.insert(
        "region".into(),
        a.region
            .map_or(Value::Null, |r| Value::String(r.as_str().to_owned())),
    );
    m.insert("cert_sha256".into(), opt_string(a.cert_sha256.as_deref()));
    Ok(Value::Object(m))
}

fn opt_string(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

/// Redact every string of a JSON value, keys included, and write out the characters a
/// line-based or bidirectional reader would misread ([`make_visible`]). A string that is, whole,
/// a licence type code is kept: a ministry's validated code with its own check characters,
/// never a person's ID number, and an auditor needs it. (A licence id written out whole is kept
/// by the redaction itself, unless its serial holds a code.)
fn redact_value(v: &Value, r: Redactor<'_>) -> Value {
    match v {
        Value::String(s) => {
            if LicenceTypeCode::from_str(s).is_ok() {
                Value::String(s.clone())
            } else {
                Value::String(make_visible(&r.text(s)).into_owned())
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| redact_value(v, r)).collect()),
        Value::Object(m) => Value::Object(redact_map(m, r)),
        other => other.clone(),
    }
}

/// [`redact_value`] of every member, names included.
fn redact_map(m: &Map<String, Value>, r: Redactor<'_>) -> Map<String, Value> {
    m.iter()
        .map(|(k, v)| (make_visible(&r.text(k)).into_owned(), redact_value(v, r)))
        .collect()
}

/// What the store's index finds an entry by (docs/audit-format.md, "The index"): the case
/// number a lookup named (`detail.case`), and every licence the entry names — `licence` (or,
/// for a licence whose serial holds a code, its `detail.licence_hash` token), the previous
/// version of a new one (`detail.previous`), and the licences a lookup handed out
/// (`detail.results[].id`). Taken from the entry as written, after redaction, so that nothing
/// the log would not hold in clear becomes a key; sorted, each once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexTerms {
    /// The case numbers.
    pub cases: Vec<String>,
    /// The licences: ids, or `<licence:HASH>` tokens.
    pub licences: Vec<String>,
}

impl IndexTerms {
    /// The terms of an entry whose `licence` member is `licence` and whose (redacted) `detail`
    /// is `detail`.
    pub fn of(licence: Option<&str>, detail: &Map<String, Value>) -> IndexTerms {
        let id = |v: &Value| {
            v.as_str()
                .filter(|s| LicenceId::from_str(s).is_ok())
                .map(str::to_owned)
        };
        let mut licences: Vec<String> = licence.map(str::to_owned).into_iter().collect();
        if let Some(Value::String(token)) = detail.get("licence_hash")
            && token.starts_with(crate::codes::LICENCE_TOKEN_PREFIX)
        {
            licences.push(token.clone());
        }
        licences.extend(detail.get("previous").and_then(id));
        if let Some(Value::Array(results)) = detail.get("results") {
            licences.extend(results.iter().filter_map(|r| r.get("id").and_then(id)));
        }
        licences.sort();
        licences.dedup();
        let cases = match detail.get("case") {
            Some(Value::String(c)) if !c.is_empty() && !c.contains('/') => vec![c.clone()],
            _ => Vec::new(),
        };
        IndexTerms { cases, licences }
    }

    /// Whether there is nothing to index.
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty() && self.licences.is_empty()
    }
}

/// An entry's canonical bytes but for its `index` and `time`, which the log fills in when it
/// appends: the members before `index` (in canonical, sorted order) and those between `index`
/// and `time`. Callers prepare their entries on their own threads, so the log's single writer
/// only joins the parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedEntry {
    /// `{"action":…,"actor":…,"detail":…,"holder":…,"index":`
    head: Vec<u8>,
    /// `,"licence":…,"matter":…,…,"request_sha256":…,"time":`
    middle: Vec<u8>,
    /// What the store's index finds it by.
    terms: IndexTerms,
}

impl EntryDraft {
    /// Checks every member, redacts ID-shaped text and serialises all but `index` and `time`.
    /// Every holder code found becomes `<redacted>`: see [`EntryDraft::prepare_keyed`].
    pub fn prepare(&self) -> Result<PreparedEntry, EntryError> {
        self.prepare_keyed(None)
    }

    /// Like [`EntryDraft::prepare`], a holder code found in the text becoming `<holder:HASH>`
    /// under `key` (the same hash as the `holder` member) when there is one. A licence whose
    /// serial holds a code is written as `licence: null` with `detail.licence_hash`
    /// `<licence:HASH>` ([`HolderKey::licence_hash`]; `<redacted>` without a key).
    pub fn prepare_keyed(&self, key: Option<&HolderKey>) -> Result<PreparedEntry, EntryError> {
        let r = Redactor(key);
        /// Writes `,"name":value` (the caller opens the object).
        fn put(out: &mut Vec<u8>, name: &str, v: &Value) -> Result<(), EntryError> {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            serde_json::to_writer(&mut *out, v).map_err(|e| EntryError::NotCanonical(e.to_string()))
        }
        let d = self;
        let actor = actor_value("actor", &d.actor, r)?;
        let on_behalf_of = match &d.on_behalf_of {
            Some(a) => actor_value("on_behalf_of", a, r)?,
            None => Value::Null,
        };
        let mut texts = Vec::with_capacity(2);
        for (name, v) in [("matter", &d.matter), ("purpose", &d.purpose)] {
            if let Some(s) = v {
                check_text(name, s, false)?;
            }
            texts.push(opt_string(v.as_deref().map(|s| r.text(s)).as_deref()));
        }
        check_outcome(&d.outcome)?;
        if let Some(h) = &d.request_sha256
            && !is_hex(h, 64)
        {
            return Err(member("request_sha256", "must be 64 lower-case hex digits"));
        }
        let mut detail = redact_map(&d.detail, r);
        // A digest the node computed of a file is kept whole: redacting a run of its digits
        // would break the one thing it is for, and nobody can choose a file whose digest spells
        // a holder code.
        if let Some(Value::String(digest)) = d.detail.get(OFD_SM3)
            && is_hex(digest, 64)
        {
            detail.insert(OFD_SM3.into(), Value::String(digest.clone()));
        }
        if let Some(Value::String(case)) = d.detail.get(CASE)
            && !crate::codes::holds_holder_codes(case)
            && check_chars(case).is_ok()
            && make_visible(case) == case.as_str()
        {
            detail.insert(CASE.into(), Value::String(case.clone()));
        }
        // A licence id whose serial holds a code is logged by its keyed hash only.
        let licence = match &d.licence {
            Some(l) if holds_id_numbers(l.serial()) => {
                let token = key.map_or_else(
                    || REDACTED.to_owned(),
                    |k| {
                        format!(
                            "{}{}>",
                            crate::codes::LICENCE_TOKEN_PREFIX,
                            k.licence_hash(l)
                        )
                    },
                );
                detail.insert("licence_hash".into(), Value::String(token));
                Value::Null
            }
            Some(l) => Value::String(l.to_string()),
            None => Value::Null,
        };
        let terms = IndexTerms::of(licence.as_str(), &detail);
        let detail = Value::Object(detail);
        check_numbers(&detail)?;
        // The members in byte order of their names, as the canonical form wants them.
        let mut head = Vec::with_capacity(512);
        head.extend_from_slice(b"{\"action\":");
        serde_json::to_writer(&mut head, d.action.as_str())
            .map_err(|e| EntryError::NotCanonical(e.to_string()))?;
        put(&mut head, "actor", &actor)?;
        put(&mut head, "detail", &detail)?;
        let holder = opt_string(d.holder.as_ref().map(HolderHash::as_str));
        put(&mut head, "holder", &holder)?;
        head.extend_from_slice(b",\"index\":");
        let mut middle = Vec::with_capacity(256);
        put(&mut middle, "licence", &licence)?;
        put(&mut middle, "matter", &texts[0])?;
        put(&mut middle, "on_behalf_of", &on_behalf_of)?;
        put(&mut middle, "outcome", &Value::String(d.outcome.clone()))?;
        put(&mut middle, "purpose", &texts[1])?;
        let request = opt_string(d.request_sha256.as_deref());
        put(&mut middle, "request_sha256", &request)?;
        middle.extend_from_slice(b",\"time\":");
        Ok(PreparedEntry {
            head,
            middle,
            terms,
        })
    }
}

impl PreparedEntry {
    /// What the store's index finds this entry by.
    pub fn index_terms(&self) -> &IndexTerms {
        &self.terms
    }

    /// The entry's canonical bytes at `index`, appended at `time`; refuses an entry over
    /// [`MAX_ENTRY_BYTES`].
    pub fn assemble(&self, index: u64, time: &str) -> Result<Vec<u8>, EntryError> {
        let mut out = Vec::with_capacity(self.head.len() + self.middle.len() + 48);
        out.extend_from_slice(&self.head);
        out.extend_from_slice(index.to_string().as_bytes());
        out.extend_from_slice(&self.middle);
        serde_json::to_writer(&mut out, time)
            .map_err(|e| EntryError::NotCanonical(e.to_string()))?;
        out.push(b'}');
        if out.len() > MAX_ENTRY_BYTES {
            return Err(EntryError::TooLarge(out.len()));
        }
        Ok(out)
    }
}

impl Entry {
    /// What the store's index finds this entry by: the same as its prepared form's (for an
    /// entry parsed from its bytes, whose `detail` is as written).
    pub fn index_terms(&self) -> IndexTerms {
        let licence = self.draft.licence.as_ref().map(LicenceId::to_string);
        IndexTerms::of(licence.as_deref(), &self.draft.detail)
    }

    /// Serialise to the canonical bytes that are the Merkle leaf. Checks every member and
    /// redacts ID-shaped text; refuses an entry over [`MAX_ENTRY_BYTES`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, EntryError> {
        self.draft.prepare()?.assemble(self.index, &self.time)
    }

    /// Parse stored bytes, checking that they are an entry in canonical form.
    pub fn parse(bytes: &[u8]) -> Result<Entry, EntryError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(EntryError::TooLarge(bytes.len()));
        }
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| EntryError::NotCanonical(redact_id_numbers(&e.to_string())))?;
        let Value::Object(m) = v else {
            return Err(EntryError::NotCanonical("not a JSON object".into()));
        };
        const MEMBERS: [&str; 12] = [
            "action",
            "actor",
            "detail",
            "holder",
            "index",
            "licence",
            "matter",
            "on_behalf_of",
            "outcome",
            "purpose",
            "request_sha256",
            "time",
        ];
        if let Some(k) = m.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
            return Err(EntryError::NotCanonical(format!(
                "unknown member `{}`",
                redact_id_numbers(k)
            )));
        }
        let get = |k: &'static str| m.get(k).ok_or_else(|| member(k, "missing"));
        let string = |k: &'static str| -> Result<Option<String>, EntryError> {
            match get(k)? {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                _ => Err(member(k, "must be a string or null")),
            }
        };
        let actor = |k: &'static str| -> Result<Option<Actor>, EntryError> {
            match get(k)? {
                Value::Null => Ok(None),
                v => serde_json::from_value(v.clone())
                    .map(Some)
                    .map_err(|e| member(k, redact_id_numbers(&e.to_string()))),
            }
        };
        let index = get("index")?
            .as_u64()
            .ok_or_else(|| member("index", "must be an unsigned integer"))?;
        let time = string("time")?.ok_or_else(|| member("time", "must be a string"))?;
        check_time(&time)?;
        let action: Action = serde_json::from_value(get("action")?.clone())
            .map_err(|_| member("action", "unknown action"))?;
        let licence = match string("licence")? {
            None => None,
            Some(s) => Some(
                s.parse::<LicenceId>()
                    .map_err(|e| member("licence", e.to_string()))?,
            ),
        };
        let holder = string("holder")?
            .map(|s| HolderHash::parse(&s))
            .transpose()?;
        let Value::Object(detail) = get("detail")?.clone() else {
            return Err(member("detail", "must be an object"));
        };
        let entry = Entry {
            index,
            time,
            draft: EntryDraft {
                actor: actor("actor")?.ok_or_else(|| member("actor", "must be an object"))?,
                on_behalf_of: actor("on_behalf_of")?,
                action,
                licence,
                holder,
                matter: string("matter")?,
                purpose: string("purpose")?,
                outcome: string("outcome")?.ok_or_else(|| member("outcome", "must be a string"))?,
                request_sha256: string("request_sha256")?,
                detail,
            },
        };
        if entry.to_bytes()? != bytes {
            return Err(EntryError::NotCanonical(
                "bytes differ from the canonical serialisation of the same entry".into(),
            ));
        }
        Ok(entry)
    }
}

/// Only integers in `detail`: floats have no single canonical text.
fn check_numbers(v: &Value) -> Result<(), EntryError> {
    match v {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            Err(member("detail", "numbers must be integers"))
        }
        Value::Array(a) => a.iter().try_for_each(check_numbers),
        Value::Object(m) => m.values().try_for_each(check_numbers),
        _ => Ok(()),
    }
}

/// The entry time format: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn check_time(s: &str) -> Result<(), EntryError> {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::PrimitiveDateTime::parse(s, &fmt)
        .map(|_| ())
        .map_err(|_| {
            member(
                "time",
                "must be RFC 3339 UTC with milliseconds, like 2026-11-21T08:30:00.123Z",
            )
        })
}

/// Format a Unix time in milliseconds as an entry time.
pub fn format_time(unix_ms: i64) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_owned())
}

/// Milliseconds since the Unix epoch, now.
pub fn now_unix_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// The example resident ID number printed in GB 11643 itself: valid, and nobody's.
    const EXAMPLE_ID: &str = "11010519491231002X";

    fn sample() -> Entry {
        let mut d = EntryDraft::new(
            Actor {
                id: "370900-window".into(),
                region: Some("370900".parse().unwrap()),
                cert_sha256: Some("ab".repeat(32)),
            },
            Action::LicenceLookup,
            "ok",
        );
        d.matter = Some("企业开办".into());
        d.purpose = Some(format!("核验营业执照 {EXAMPLE_ID}"));
        d.detail
            .insert("types".into(), serde_json::json!(["001", 2]));
        Entry {
            index: 7,
            time: format_time(1_795_000_000_123),
            draft: d,
        }
    }

    /// A case number is kept as given, long runs of digits included, unless it holds a holder
    /// code; its terms (and those of the licences the entry names) are the same prepared and
    /// parsed back.
    #[test]
    fn a_case_number_is_kept_as_given_unless_it_holds_a_holder_code() {
        let licence =
            "1.2.156.3005.2.11100000000013338W032.11370900004090218Y.0ECIX7WSEI5X5Y7RMNMO.001.Z";
        let previous =
            "1.2.156.3005.2.11100000000013338W032.11370900004090218Y.0ECIX7WSEI5X5Y7RMNMO.002.X";
        let mut e = sample();
        e.draft.licence = Some(licence.parse().unwrap());
        e.draft
            .detail
            .insert("case".into(), "3709002026120200000000042".into());
        e.draft.detail.insert("previous".into(), previous.into());
        e.draft.detail.insert(
            "results".into(),
            serde_json::json!([{"id": licence}, {"id": "not an id"}]),
        );
        let prepared = e.draft.prepare().unwrap();
        let bytes = prepared.assemble(e.index, &e.time).unwrap();
        let parsed = Entry::parse(&bytes).unwrap();
        assert_eq!(parsed.draft.detail["case"], "3709002026120200000000042");
        let terms = parsed.index_terms();
        assert_eq!(&terms, prepared.index_terms());
        assert_eq!(terms.cases, ["3709002026120200000000042"]);
        assert_eq!(terms.licences, [licence, previous]);

        // A holder code in it, however written, is redacted as anywhere else, and indexes
        // nothing.
        for case in [EXAMPLE_ID.to_owned(), format!("A-{EXAMPLE_ID}")] {
            let mut e = sample();
            e.draft.detail.insert("case".into(), case.clone().into());
            let prepared = e.draft.prepare().unwrap();
            let bytes = prepared.assemble(e.index, &e.time).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(EXAMPLE_ID),
                "{case}"
            );
            assert!(
                prepared
                    .index_terms()
                    .cases
                    .iter()
                    .all(|c| !c.contains("1101"))
            );
        }
    }

    #[test]
    fn bytes_are_canonical_sorted_and_round_trip() {
        let e = sample();
        let b = e.to_bytes().unwrap();
        let text = std::str::from_utf8(&b).unwrap();
        assert!(
            text.starts_with(r#"{"action":"licence.lookup","actor":{"cert_sha256":"#),
            "{text}"
        );
        assert!(
            !text.contains(EXAMPLE_ID),
            "ID number must be redacted: {text}"
        );
        assert!(
            text.contains(r#""time":"2026-11-18T11:06:40.123Z""#),
            "{text}"
        );
        let back = Entry::parse(&b).unwrap();
        assert_eq!(back.to_bytes().unwrap(), b);
    }

    #[test]
    fn bytes_are_the_sorted_serialisation_with_every_member_set_or_not() {
        let mut full = sample();
        full.draft.on_behalf_of = Some(Actor {
            id: "140802-window".into(),
            region: Some("140802".parse().unwrap()),
            cert_sha256: None,
        });
        full.draft.licence = Some(
            "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
                .parse()
                .unwrap(),
        );
        full.draft.holder = Some(HolderHash::from_hex(&"ef".repeat(32)).unwrap());
        full.draft.request_sha256 = Some("cd".repeat(32));
        full.index = u64::MAX;
        let bare = Entry {
            index: 0,
            time: format_time(0),
            draft: EntryDraft::new(
                Actor {
                    id: "n".into(),
                    region: None,
                    cert_sha256: None,
                },
                Action::AuthDenied,
                "denied",
            ),
        };
        for e in [sample(), full, bare] {
            let b = e.to_bytes().unwrap();
            // serde_json's maps are sorted by name: re-serialising the parsed value is the
            // canonical form, found independently of `prepare` and `assemble`.
            let v: Value = serde_json::from_slice(&b).unwrap();
            assert_eq!(serde_json::to_vec(&v).unwrap(), b);
            assert_eq!(v.as_object().unwrap().len(), 12);
            assert_eq!(v["index"], Value::from(e.index));
            assert_eq!(Entry::parse(&b).unwrap().to_bytes().unwrap(), b);
        }
    }

    #[test]
    fn detail_keeps_licence_ids_and_type_codes_and_redacts_id_numbers() {
        let id = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F";
        let type_code = "11100000000013338W032";
        let mut e = sample();
        e.draft.detail.insert("previous".into(), Value::from(id));
        e.draft
            .detail
            .insert("type_code".into(), Value::from(type_code));
        e.draft.detail.insert(
            "holders".into(),
            serde_json::json!([format!("见 {EXAMPLE_ID}"), {EXAMPLE_ID: 1}]),
        );
        e.draft
            .detail
            .insert("plain".into(), Value::from("营业执照"));
        let b = e.to_bytes().unwrap();
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["detail"]["previous"], Value::from(id));
        assert_eq!(v["detail"]["type_code"], Value::from(type_code));
        assert_eq!(v["detail"]["plain"], Value::from("营业执照"));
        assert_eq!(
            v["detail"]["holders"],
            serde_json::json!(["见 <redacted>", {"<redacted>": 1}])
        );
    }

    /// An OFD file's SM3 whose digits happen to form an ID-shaped run (one in sixty do) is
    /// kept whole under `ofd_sm3`, and only there, and only when it is a digest; the entry
    /// still parses back to the same bytes.
    #[test]
    fn an_ofd_digest_is_kept_whole_and_nothing_else_is() {
        // GB 11643's own example (area 110105, born 1949-12-31: nobody's) with the sequence
        // 003 in place of its 002 and a digit check character, computed here rather than
        // written out, so that it can stand in a hex digest.
        let body = format!("{}{}", "11010519491231", "003");
        let check = crate::codes::check::resident_id_check(&body).unwrap();
        assert!(check.is_ascii_digit());
        let digest = format!("{body}{check}{}", "ab".repeat(23));
        assert_eq!(digest.len(), 64);
        assert!(
            holds_id_numbers(&digest),
            "the test needs a digest redaction would touch"
        );
        let mut e = sample();
        e.draft
            .detail
            .insert(OFD_SM3.into(), Value::from(digest.clone()));
        e.draft
            .detail
            .insert("other_sm3".into(), Value::from(digest.clone()));
        let b = e.to_bytes().unwrap();
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["detail"][OFD_SM3], Value::from(digest.clone()));
        assert_eq!(
            v["detail"]["other_sm3"],
            Value::from(format!("<redacted>{}", "ab".repeat(23)))
        );
        assert_eq!(Entry::parse(&b).unwrap().to_bytes().unwrap(), b);

        // Not a digest: redacted as any text.
        let mut e = sample();
        e.draft
            .detail
            .insert(OFD_SM3.into(), Value::from(format!("见 {EXAMPLE_ID}")));
        let v: Value = serde_json::from_slice(&e.to_bytes().unwrap()).unwrap();
        assert_eq!(v["detail"][OFD_SM3], Value::from("见 <redacted>"));
    }

    #[test]
    fn non_canonical_bytes_are_refused() {
        let b = sample().to_bytes().unwrap();
        let spaced = String::from_utf8(b.clone()).unwrap().replacen(':', ": ", 1);
        assert!(matches!(
            Entry::parse(spaced.as_bytes()),
            Err(EntryError::NotCanonical(_))
        ));
        let mut extra: Value = serde_json::from_slice(&b).unwrap();
        extra["zzz"] = Value::Null;
        assert!(Entry::parse(&serde_json::to_vec(&extra).unwrap()).is_err());
    }

    #[test]
    fn limits_and_member_checks() {
        let mut e = sample();
        e.draft
            .detail
            .insert("big".into(), Value::String("a".repeat(MAX_ENTRY_BYTES)));
        assert!(matches!(e.to_bytes(), Err(EntryError::TooLarge(_))));
        let mut e = sample();
        e.draft.outcome = "Not OK".into();
        assert!(e.to_bytes().is_err());
        let mut e = sample();
        e.draft.detail.insert("f".into(), serde_json::json!(1.5));
        assert!(e.to_bytes().is_err());
        let mut e = sample();
        e.draft.matter = Some("a\nb".into());
        assert!(e.to_bytes().is_err());
    }

    /// The entry's bytes as a log with `key` writes them.
    fn written(e: &Entry, key: Option<&HolderKey>) -> Vec<u8> {
        e.draft
            .prepare_keyed(key)
            .unwrap()
            .assemble(e.index, &e.time)
            .unwrap()
    }

    #[test]
    fn disguised_codes_become_the_holders_token_everywhere_and_replay() {
        let key = HolderKey::from_bytes(&[3; 32]);
        let person = HolderCode::parse(crate::codes::HolderType::Person, EXAMPLE_ID).unwrap();
        let token = format!("<holder:{}>", key.holder_hash(&person).as_str());
        let full_width = "１１０１０５１９４９１２３１００２Ｘ";
        let mut e = sample();
        e.draft.purpose = Some(format!("核验 {full_width}"));
        e.draft.matter = Some("一一〇一〇五 一九四九 一二三一 〇〇二X".into());
        e.draft.actor.id = "window-110105-19491231-002X".into();
        e.draft.detail.insert(
            "path".into(),
            Value::from("/v1/x/%31%31%30%31%30%35%31%39%34%39%31%32%33%31%30%30%32%58"),
        );
        e.draft
            .detail
            .insert("110105\u{200B}19491231002X".into(), Value::from(1));
        e.draft.holder = Some(key.holder_hash(&person));
        let b = written(&e, Some(&key));
        let text = std::str::from_utf8(&b).unwrap();
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["purpose"], Value::from(format!("核验 {token}")), "{text}");
        assert_eq!(v["matter"], Value::from(token.clone()), "{text}");
        assert_eq!(
            v["actor"]["id"],
            Value::from(format!("window-{token}")),
            "{text}"
        );
        assert_eq!(
            v["detail"]["path"],
            Value::from(format!("/v1/x/{token}")),
            "{text}"
        );
        assert_eq!(v["detail"][token.as_str()], Value::from(1), "{text}");
        assert_eq!(v["holder"], Value::from(key.holder_hash(&person).as_str()));
        // The replay, with no key, reads the same bytes back as canonical.
        assert_eq!(Entry::parse(&b).unwrap().to_bytes().unwrap(), b);
        // Without a key, every code is `<redacted>`.
        let plain = String::from_utf8(written(&e, None)).unwrap();
        assert!(!plain.contains("<holder:"), "{plain}");
        assert!(plain.contains("核验 <redacted>"), "{plain}");
    }

    #[test]
    fn a_licence_whose_serial_is_an_id_number_is_logged_by_its_keyed_hash() {
        let key = HolderKey::from_bytes(&[3; 32]);
        let id = LicenceId::new(
            "11100000000013338W032".parse().unwrap(),
            "11220000013544541J".parse().unwrap(),
            EXAMPLE_ID,
            1,
        )
        .unwrap();
        let mut e = sample();
        e.draft.licence = Some(id.clone());
        let b = written(&e, Some(&key));
        let text = std::str::from_utf8(&b).unwrap();
        assert!(!text.contains(EXAMPLE_ID), "{text}");
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["licence"], Value::Null);
        assert_eq!(
            v["detail"]["licence_hash"],
            Value::from(format!("<licence:{}>", key.licence_hash(&id)))
        );
        assert_eq!(Entry::parse(&b).unwrap().to_bytes().unwrap(), b);
        // Without a key: null and `<redacted>`.
        let v: Value = serde_json::from_slice(&written(&e, None)).unwrap();
        assert_eq!(v["licence"], Value::Null);
        assert_eq!(v["detail"]["licence_hash"], Value::from(REDACTED));
        // An ordinary serial is logged in clear.
        let mut e = sample();
        let plain: LicenceId =
            "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
                .parse()
                .unwrap();
        e.draft.licence = Some(plain.clone());
        let v: Value = serde_json::from_slice(&written(&e, Some(&key))).unwrap();
        assert_eq!(v["licence"], Value::from(plain.as_str()));
        assert_eq!(v["detail"].get("licence_hash"), None);
    }

    #[test]
    fn free_text_members_refuse_line_breaks_bidi_and_invisible_characters() {
        for bad in [
            "a\u{2028}b",
            "a\u{2029}b",
            "a\u{85}b",
            "a\u{202E}b",
            "a\u{2066}b",
            "a\u{200B}b",
            "a\u{FEFF}b",
        ] {
            let mut e = sample();
            e.draft.purpose = Some(bad.into());
            assert!(
                matches!(
                    e.to_bytes(),
                    Err(EntryError::Member {
                        member: "purpose",
                        ..
                    })
                ),
                "{bad:?}"
            );
            let mut e = sample();
            e.draft.matter = Some(bad.into());
            assert!(e.to_bytes().is_err(), "{bad:?}");
            let mut e = sample();
            e.draft.actor.id = bad.into();
            assert!(e.to_bytes().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn detail_strings_show_line_separators_and_bidi_controls_written_out() {
        let mut e = sample();
        e.draft.detail.insert(
            "message".into(),
            Value::from("a\u{2028}b\u{202E}c\u{200B}d\u{85}"),
        );
        let b = e.to_bytes().unwrap();
        let text = std::str::from_utf8(&b).unwrap();
        assert!(
            text.contains("a<U+2028>b<U+202E>c<U+200B>d<U+0085>"),
            "{text}"
        );
        assert!(!text.contains('\u{2028}') && !text.contains('\u{85}'));
        assert_eq!(Entry::parse(&b).unwrap().to_bytes().unwrap(), b);
    }

    /// Known answers computed with Python's `hmac` and `hashlib` over the documented message.
    #[test]
    fn holder_hash_known_answers() {
        let mut secret = [0u8; 32];
        for (i, b) in secret.iter_mut().enumerate() {
            *b = i as u8;
        }
        let k = HolderKey::from_bytes(&secret);
        let org = HolderCode::parse(crate::codes::HolderType::Organisation, "11370900004090218Y")
            .unwrap();
        assert_eq!(
            k.holder_hash(&org).as_str(),
            "d9daba42b230e1901c9b5f9008131aefbff23cfe4e2946949b4b292e4ffb7923"
        );
        let person = HolderCode::parse_at(
            crate::codes::HolderType::Person,
            EXAMPLE_ID,
            time::macros::date!(2026 - 11 - 21),
        )
        .unwrap();
        assert_eq!(
            k.holder_hash(&person).as_str(),
            "ac24e418c13774b2d1084d207bda7be97e783d7d29c489fec7378441148a75df"
        );
        let text = format!("{}\n", hex::encode(secret));
        assert_eq!(
            HolderKey::from_text(&text).unwrap().holder_hash(&org),
            k.holder_hash(&org)
        );
        assert!(HolderKey::from_text("abc").is_err());
    }

    #[test]
    fn holder_hash_is_keyed_and_hides_the_code() {
        let k1 = HolderKey::from_bytes(&[1; 32]);
        let k2 = HolderKey::from_bytes(&[2; 32]);
        let h = HolderCode::parse(crate::codes::HolderType::Organisation, "11370900004090218Y")
            .unwrap();
        assert_ne!(k1.holder_hash(&h), k2.holder_hash(&h));
        assert_eq!(k1.holder_hash(&h), k1.holder_hash(&h));
        assert_eq!(k1.holder_hash(&h).as_str().len(), 64);
        assert_eq!(format!("{:?}", k1), "HolderKey(<secret>)");
    }
}
