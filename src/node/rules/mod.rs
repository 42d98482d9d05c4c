//! The 免证办 rules, apart from HTTP: who may use which licence types for which matters (the
//! 用证清单, [`scope`]), the legal basis a lookup names (its case and mode, [`basis`]), holders' consents and their spending ([`consents`]), lookups here and
//! at partner nodes ([`lookups`]), the checks on what a partner answers ([`partners`]), usage
//! copies ([`usage`]), licences' status changes and new versions ([`licences`]), and what a
//! verification adds to the signature: live status, and partners' recognition ([`verify`]).
//!
//! Each rule is given an [`Access`]: the node, who acts, and the audit entry under
//! construction, which the rule fills in as each of its checks passes (so that a refusal's
//! entry shows how far the request got). It answers with what it found and the state writes
//! to make (the HTTP layer writes them in the same synced batch as the entry), or with a
//! [`RuleError`]. Nothing here knows HTTP: `node::api` parses requests, calls these rules and
//! answers, and gives each [`RuleError`] its status.
//!
//! "May this department use this licence for this matter?" is answered in [`scope`]; the
//! consent a person's licences need, in [`consents::spend`].

pub mod basis;
pub mod consents;
mod error;
pub mod licences;
pub mod lookups;
pub mod partners;
pub mod scope;
pub mod usage;
pub mod verify;

use std::str::FromStr;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use error::RuleError;

use crate::audit::entry::{EntryDraft, HolderHash, now_unix_ms};
use crate::codes::{HolderCode, HolderType};
use crate::node::Node;
use crate::node::locks::KeyGuard;
use crate::node::state::{ConsentRecord, LicenceRecord};
use crate::store::Write;

/// Longest purpose, in characters.
pub const MAX_PURPOSE_CHARS: usize = 200;
/// Longest status reason, in characters.
pub const MAX_REASON_CHARS: usize = 200;
/// The most characters of a caller's input a message quotes.
pub const MAX_QUOTED_CHARS: usize = 64;

/// One request under the rules: the node, who acts, and its audit entry.
pub struct Access<'a> {
    /// The node.
    pub node: &'a Arc<Node>,
    /// Who acts: the caller's id (a department, or a partner's node), as status histories and
    /// consents record it.
    pub by: &'a str,
    /// The request's audit entry, filled in as the checks pass.
    pub entry: &'a mut EntryDraft,
}

impl Access<'_> {
    /// Records `key: value` in the entry's details.
    pub fn detail(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.entry.detail.insert(key.into(), value.into());
    }
}

/// The state writes of a change, and the lock they must be written under.
#[derive(Default)]
pub struct Change {
    /// Written with the request's audit entry, in one synced batch.
    pub writes: Vec<Write>,
    /// Held until the writes are on disk (or have failed).
    pub guard: Option<KeyGuard>,
}

/// A holder as a request names it: its type (`111` a person, `001` an organisation) and its
/// code, neither checked yet. Its `Debug` masks the code.
#[derive(Deserialize, Clone, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolderRef {
    /// `111` (a person) or `001` (an organisation).
    #[serde(rename = "type")]
    #[schema(example = "001")]
    pub holder_type: String,
    /// The ID number or unified social credit code.
    pub code: String,
}

impl serde::Serialize for HolderRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Wire<'a> {
            code: &'a str,
            #[serde(rename = "type")]
            holder_type: &'a str,
        }
        Wire {
            code: &self.code,
            holder_type: &self.holder_type,
        }
        .serialize(s)
    }
}

impl HolderRef {
    /// The type and code of an issuance request's holder.
    pub fn of(h: &crate::licence::model::HolderRequest) -> HolderRef {
        HolderRef {
            holder_type: h.holder_type.clone(),
            code: h.code.clone(),
        }
    }

    /// The holder, parsed: refused as `invalid_holder`, naming the member at fault.
    pub fn parse(&self) -> Result<HolderCode, RuleError> {
        let t = HolderType::from_str(&self.holder_type)
            .map_err(|e| RuleError::InvalidHolder(format!("holder.type: {e}")))?;
        HolderCode::parse(t, &self.code)
            .map_err(|e| RuleError::InvalidHolder(format!("holder.code: {e}")))
    }
}

impl std::fmt::Debug for HolderRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HolderRef({}, {})",
            self.holder_type,
            crate::codes::mask(&self.code)
        )
    }
}

/// Parses the holder, records its keyed hash in the entry, and returns both.
pub fn holder_in_entry(
    acc: &mut Access<'_>,
    h: &HolderRef,
) -> Result<(HolderCode, HolderHash), RuleError> {
    let holder = h.parse()?;
    let hash = acc.node.holder_key.holder_hash(&holder);
    acc.entry.holder = Some(hash.clone());
    Ok((holder, hash))
}

/// A matter code or id: 1 to 64 characters of `A-Z a-z 0-9 - _ .`.
pub fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A free text of 1 to `max` characters, not only white space, without control, line-separator,
/// bidirectional-control or invisible format characters (docs/api.md, Free text).
pub fn free_text(what: &str, s: &str, max: usize) -> Result<(), RuleError> {
    crate::codes::check_free_text(s, max)
        .map_err(|fault| RuleError::Invalid(format!("{what}: {fault}")))
}

/// `s` quoted for a message: at most [`MAX_QUOTED_CHARS`] characters of it (`…` marks a cut),
/// escaped as a Rust string literal so that control and invisible characters show.
pub fn quoted(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTED_CHARS) {
        None => format!("{s:?}"),
        Some((i, _)) => format!("{:?}…", &s[..i]),
    }
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    now_unix_ms()
}

/// A licence record.
pub fn load_licence(node: &Node, id: &str) -> Result<Option<LicenceRecord>, RuleError> {
    load_record(node, id)
}

/// A licence record, or the part of it `T` names (the rest is skipped, not built).
pub fn load_record<T: DeserializeOwned>(node: &Node, id: &str) -> Result<Option<T>, RuleError> {
    decode(node.log.state().licence(id), || {
        format!("licence record {id}")
    })
}

/// A consent record; `None` for an id that cannot be one (32 hex digits).
pub fn load_consent(node: &Node, id: &str) -> Result<Option<ConsentRecord>, RuleError> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    decode(node.log.state().consent(id), || "consent record".to_owned())
}

/// A stored JSON record as read, decoded; `what` names it in the error of a record that
/// does not decode.
fn decode<T: DeserializeOwned>(
    read: Result<Option<Vec<u8>>, impl std::fmt::Display>,
    what: impl FnOnce() -> String,
) -> Result<Option<T>, RuleError> {
    match read {
        Ok(None) => Ok(None),
        Ok(Some(v)) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| RuleError::internal(format!("{}: {e}", what()))),
        Err(e) => Err(RuleError::storage(e)),
    }
}

/// A JSON record's write, or an internal error.
fn put(write: Result<Write, serde_json::Error>) -> Result<Write, RuleError> {
    write.map_err(RuleError::internal)
}
