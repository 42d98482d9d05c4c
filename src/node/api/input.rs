//! Reading what callers send: JSON bodies, query parameters, codes, free text, holders and
//! licence ids, and quoting it back in messages.

use std::str::FromStr;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::audit::entry::now_unix_ms;
use crate::audit::store::Table;
use crate::codes::{HolderCode, HolderType, LicenceId};
use crate::node::state::{LicenceRecord, licence_key};

use super::dispatch::Ctx;
use super::error::{ApiError, bad, internal, unavailable};

/// Longest purpose, in characters.
pub(super) const MAX_PURPOSE_CHARS: usize = 200;

// ---------------------------------------------------------------------------------------------
// Input helpers.

/// Parses a JSON body into `T`, naming what is wrong: `malformed_json`, `unknown_field`,
/// `invalid_request`.
pub(super) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        // serde quotes the offending value, which may be a holder's number.
        let msg = crate::codes::redact_id_numbers(&e.to_string());
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                bad("malformed_json", format!("the body is not JSON: {msg}"))
            }
            Category::Data if msg.contains("unknown field") => bad("unknown_field", msg),
            Category::Data => bad("invalid_request", msg),
        }
    })
}

pub(super) type Query = Vec<(String, String)>;

pub(super) fn parse_query(q: Option<&str>) -> Result<Query, ApiError> {
    let mut out: Query = Vec::new();
    for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if out.iter().any(|(seen, _)| seen == k) {
            return Err(bad(
                "invalid_query",
                format!("parameter {} is repeated", quoted(k)),
            ));
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    Ok(out)
}

pub(super) fn no_params(q: &Query) -> Result<(), ApiError> {
    match q.first() {
        None => Ok(()),
        Some((k, _)) => Err(bad(
            "invalid_query",
            format!("unknown parameter {}", quoted(k)),
        )),
    }
}

/// The unsigned integer parameters `names` (each required unless it has a default); any other
/// parameter is refused.
pub(super) fn int_params<const N: usize>(
    q: &Query,
    names: [(&str, Option<u64>); N],
) -> Result<[u64; N], ApiError> {
    for (k, _) in q {
        if !names.iter().any(|(n, _)| n == k) {
            return Err(bad(
                "invalid_query",
                format!("unknown parameter {}", quoted(k)),
            ));
        }
    }
    let mut out = [0u64; N];
    for (i, (name, default)) in names.iter().enumerate() {
        out[i] = match q.iter().find(|(k, _)| k == name) {
            Some((_, v)) => {
                if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad(
                        "invalid_query",
                        format!("{name} must be a non-negative integer"),
                    ));
                }
                v.parse()
                    .map_err(|_| bad("invalid_query", format!("{name} is out of range")))?
            }
            None => default.ok_or_else(|| bad("invalid_query", format!("{name} is required")))?,
        };
    }
    Ok(out)
}

/// A matter code or id: 1 to 64 characters of `A-Z a-z 0-9 - _ .`.
pub(super) fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A free text of 1 to `max` characters, not only white space, without control, line-separator,
/// bidirectional-control or invisible format characters (docs/api.md, Free text).
pub(super) fn free_text(what: &str, s: &str, max: usize) -> Result<(), ApiError> {
    crate::codes::check_free_text(s, max)
        .map_err(|fault| bad("invalid_request", format!("{what}: {fault}")))
}

/// The most characters of a caller's input an error message quotes.
pub(super) const MAX_QUOTED_CHARS: usize = 64;
/// The most characters of an error message, in the answer and in the entry.
pub(super) const MAX_MESSAGE_CHARS: usize = 512;

/// `s` quoted for an error message: at most [`MAX_QUOTED_CHARS`] characters of it (`…` marks a
/// cut), escaped as a Rust string literal so that control and invisible characters show.
pub(super) fn quoted(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTED_CHARS) {
        None => format!("{s:?}"),
        Some((i, _)) => format!("{:?}…", &s[..i]),
    }
}

/// At most `max` characters of `s`, `…` marking a cut.
pub(super) fn cut_chars(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => s.into(),
        Some((i, _)) => format!("{}…", &s[..i]).into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HolderRef {
    #[serde(rename = "type")]
    pub(super) holder_type: String,
    pub(super) code: String,
}

impl HolderRef {
    /// The type and code of an issuance request's holder.
    pub(super) fn of(h: &crate::licence::model::HolderRequest) -> HolderRef {
        HolderRef {
            holder_type: h.holder_type.clone(),
            code: h.code.clone(),
        }
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

pub(super) fn holder_code(h: &HolderRef) -> Result<HolderCode, ApiError> {
    let t = HolderType::from_str(&h.holder_type)
        .map_err(|e| bad("invalid_holder", format!("holder.type: {e}")))?;
    HolderCode::parse(t, &h.code).map_err(|e| bad("invalid_holder", format!("holder.code: {e}")))
}

/// Parses the holder, records its keyed hash in the entry, and returns both.
pub(super) fn holder_in_entry(
    ctx: &mut Ctx,
    h: &HolderRef,
) -> Result<(HolderCode, crate::audit::entry::HolderHash), ApiError> {
    let holder = holder_code(h)?;
    let hash = ctx.node.holder_key.holder_hash(&holder);
    ctx.draft.holder = Some(hash.clone());
    Ok((holder, hash))
}

pub(super) fn now_ms() -> i64 {
    now_unix_ms()
}

pub(super) fn load_licence(ctx: &Ctx, id: &str) -> Result<Option<LicenceRecord>, ApiError> {
    load_record(ctx, id)
}

/// A licence record, or the part of it `T` names (the rest is skipped, not built).
pub(super) fn load_record<T: DeserializeOwned>(ctx: &Ctx, id: &str) -> Result<Option<T>, ApiError> {
    match ctx.node.log.get(Table::State, &licence_key(id)) {
        Ok(None) => Ok(None),
        Ok(Some(v)) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| internal(format!("licence record {id}: {e}"))),
        Err(e) => Err(unavailable(e)),
    }
}

/// A licence id from a path: it must parse, and names the entry's licence.
pub(super) fn licence_id(ctx: &mut Ctx, id: &str) -> Result<LicenceId, ApiError> {
    let parsed = LicenceId::from_str(id)
        .map_err(|e| bad("invalid_licence_id", format!("not a licence id: {e}")))?;
    ctx.draft.licence = Some(parsed.clone());
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    #[test]
    fn quotes_and_messages_are_cut() {
        assert_eq!(quoted("abc"), "\"abc\"");
        let long = "é".repeat(100);
        let q = quoted(&long);
        assert_eq!(q, format!("{:?}…", "é".repeat(MAX_QUOTED_CHARS)));
        // Invisible characters show in a quote.
        assert_eq!(quoted("a\u{202E}b"), "\"a\\u{202e}b\"");
        assert_eq!(cut_chars("abcdef", 3), "abc…");
        assert_eq!(cut_chars("abc", 3), "abc");
    }
}
