//! Strict JSON: objects with duplicate member names are refused.
//!
//! RFC 8259 leaves duplicate names undefined and parsers disagree on which one wins, so a
//! signed document with `{"sub": "A", "sub": "B"}` can mean different things to different
//! verifiers. `serde_json` keeps the last one silently; this module refuses the document.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// A JSON value parsed with duplicate member names refused at every depth.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate member name {key:?}"
                )));
            }
            let StrictValue(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// Why a document is not a strict JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StrictJsonError {
    /// The bytes are not JSON, or hold a duplicate member name; the message says where.
    #[error("not valid JSON: {0}")]
    Syntax(String),
    /// The document is JSON but its top level is not an object.
    #[error("top level is {0}, not an object")]
    NotAnObject(&'static str),
}

/// Parses `bytes` as one JSON object, refusing duplicate member names at any depth and
/// anything after the object but white space.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, StrictJsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let StrictValue(value) = StrictValue::deserialize(&mut de)
        .map_err(|e| StrictJsonError::Syntax(crate::codes::redact_id_numbers(&e.to_string())))?;
    de.end()
        .map_err(|e| StrictJsonError::Syntax(crate::codes::redact_id_numbers(&e.to_string())))?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Array(_) => Err(StrictJsonError::NotAnObject("an array")),
        Value::String(_) => Err(StrictJsonError::NotAnObject("a string")),
        Value::Number(_) => Err(StrictJsonError::NotAnObject("a number")),
        Value::Bool(_) => Err(StrictJsonError::NotAnObject("a boolean")),
        Value::Null => Err(StrictJsonError::NotAnObject("null")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_an_object() {
        let m = parse_object(br#"{"a": 1, "b": {"c": [true, null, "x"]}}"#).unwrap();
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn refuses_duplicate_names_at_top_level() {
        let e = parse_object(br#"{"a": 1, "a": 2}"#).unwrap_err();
        assert!(
            matches!(e, StrictJsonError::Syntax(ref m) if m.contains("duplicate member name \"a\"")),
            "{e}"
        );
    }

    #[test]
    fn refuses_duplicate_names_when_nested() {
        let e = parse_object(br#"{"lic": {"x": 1, "y": [{"k": 1, "k": 1}]}}"#).unwrap_err();
        assert!(
            matches!(e, StrictJsonError::Syntax(ref m) if m.contains("duplicate")),
            "{e}"
        );
    }

    #[test]
    fn refuses_non_objects() {
        assert_eq!(
            parse_object(b"[1]"),
            Err(StrictJsonError::NotAnObject("an array"))
        );
        assert_eq!(
            parse_object(b"\"s\""),
            Err(StrictJsonError::NotAnObject("a string"))
        );
        assert_eq!(
            parse_object(b"null"),
            Err(StrictJsonError::NotAnObject("null"))
        );
    }

    #[test]
    fn refuses_trailing_data() {
        assert!(matches!(
            parse_object(b"{} {}"),
            Err(StrictJsonError::Syntax(_))
        ));
    }
}
