//! Reading what callers send: JSON bodies, query parameters and licence ids; and cutting
//! what an error message quotes of it.

use std::str::FromStr;

use serde::de::DeserializeOwned;

use super::dispatch::Ctx;
use super::error::{ApiError, bad};
use crate::codes::LicenceId;
pub(super) use crate::node::rules::quoted;

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

/// The most characters of an error message, in the answer and in the entry.
pub(super) const MAX_MESSAGE_CHARS: usize = 512;

/// At most `max` characters of `s`, `…` marking a cut.
pub(super) fn cut_chars(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => s.into(),
        Some((i, _)) => format!("{}…", &s[..i]).into(),
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
    use crate::node::rules::MAX_QUOTED_CHARS;
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
