//! The licence as data: the JWS payload (`Claims`) and the issuance request.
//!
//! The payload keeps identifiers as the strings the issuer wrote, so that a licence from a
//! partner with a wrong check character still decodes and the verifier can report
//! `bad_identifier` for it instead of `malformed`. [`crate::licence::verify`] parses them
//! into the validated types of [`crate::codes`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A value on the licence face (照面信息): a string, a number or a boolean, nothing else.
///
/// Deserialized by hand rather than as an untagged enum: serde's untagged enums buffer each
/// value and build (and drop) an error message for every variant that does not match, which
/// is most of the cost of reading a licence face.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// A boolean.
    Bool(bool),
    /// A finite JSON number.
    Number(serde_json::Number),
    /// A string.
    Text(String),
}

impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldValueVisitor)
    }
}

struct FieldValueVisitor;

impl<'de> serde::de::Visitor<'de> for FieldValueVisitor {
    type Value = FieldValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string, a number or a boolean")
    }

    fn visit_bool<E>(self, v: bool) -> Result<FieldValue, E> {
        Ok(FieldValue::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<FieldValue, E> {
        Ok(FieldValue::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<FieldValue, E> {
        Ok(FieldValue::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<FieldValue, E> {
        serde_json::Number::from_f64(v)
            .map(FieldValue::Number)
            .ok_or_else(|| E::custom("a licence face number must be finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<FieldValue, E> {
        Ok(FieldValue::Text(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<FieldValue, E> {
        Ok(FieldValue::Text(v))
    }
}

/// Deserializes the licence face's `fields`, refusing a name given twice (serde's maps keep
/// the last one silently; a signed document must not mean two things).
fn unique_fields<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, FieldValue>, D::Error> {
    struct Fields;
    impl<'de> serde::de::Visitor<'de> for Fields {
        type Value = BTreeMap<String, FieldValue>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object of licence face fields")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(name) = map.next_key::<String>()? {
                if out.contains_key(&name) {
                    return Err(serde::de::Error::custom(format_args!(
                        "duplicate member name {name:?}"
                    )));
                }
                let value = map.next_value()?;
                out.insert(name, value);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Fields)
}

/// The JWS payload of a licence (docs/licence-format.md).
///
/// `Debug` masks `sub`: a person's 公民身份号码 never reaches a log through it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// The licence id (GB/T 36904 电子证照标识).
    pub jti: String,
    /// The issuing authority's 统一社会信用代码.
    pub iss: String,
    /// The holder's code: 公民身份号码 (holder type `111`) or 统一社会信用代码 (`001`).
    pub sub: String,
    /// Signing time, seconds since the Unix epoch.
    pub iat: i64,
    /// Start of validity, seconds since the Unix epoch.
    pub nbf: i64,
    /// End of validity (exclusive), seconds since the Unix epoch; absent means long-term (长期有效).
    /// `null` is refused: the format says absent, and a verifier must not guess.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_integer"
    )]
    pub exp: Option<i64>,
    /// The licence itself.
    pub lic: LicenceFace,
}

/// The `lic` member of the payload: what the licence says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceFace {
    /// The 21-character licence type code (证照类型代码).
    pub type_code: String,
    /// The licence type's name, e.g. 营业执照.
    pub type_name: String,
    /// The licence number as printed (证照编号).
    pub number: String,
    /// `111` for a person, `001` for an organisation.
    pub holder_type: String,
    /// The holder's name.
    pub holder_name: String,
    /// The issuing authority's name.
    pub issuer_name: String,
    /// The GB/T 2260 code of the issuing region.
    pub region: String,
    /// The licence version, three digits, `001` for the first.
    pub version: String,
    /// The licence face data (照面信息), possibly empty but always present.
    #[serde(deserialize_with = "unique_fields")]
    pub fields: BTreeMap<String, FieldValue>,
}

/// Deserializes a member that, when present, must be an integer (not `null`).
fn present_integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    i64::deserialize(d).map(Some)
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claims")
            .field("jti", &self.jti)
            .field("iss", &self.iss)
            .field("sub", &crate::codes::mask(&self.sub))
            .field("iat", &self.iat)
            .field("nbf", &self.nbf)
            .field("exp", &self.exp)
            .field("lic", &self.lic)
            .finish()
    }
}

/// The holder named in an issuance request; `Debug` masks the code.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolderRequest {
    /// `111` (person) or `001` (organisation).
    #[serde(rename = "type")]
    pub holder_type: String,
    /// The holder's 公民身份号码 or 统一社会信用代码.
    pub code: String,
    /// The holder's name.
    pub name: String,
}

impl std::fmt::Debug for HolderRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HolderRequest")
            .field("holder_type", &self.holder_type)
            .field("code", &crate::codes::mask(&self.code))
            .field("name", &self.name)
            .finish()
    }
}

/// A request to issue a licence; the CLI and the node's API take the same body.
///
/// The issuer's 统一社会信用代码, name and region come from the signer certificate, never from
/// the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuanceRequest {
    /// The 21-character licence type code.
    pub type_code: String,
    /// The licence type's name.
    pub type_name: String,
    /// The licence number as printed; defaults to the licence serial.
    #[serde(default)]
    pub number: Option<String>,
    /// Who holds the licence.
    pub holder: HolderRequest,
    /// Start of validity: RFC 3339 or a date (`YYYY-MM-DD`, from 00:00 China Standard Time);
    /// defaults to the signing time.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// Last day or instant of validity: RFC 3339 (exclusive) or a date (`YYYY-MM-DD`, valid
    /// through the end of that day, China Standard Time); absent means long-term.
    #[serde(default)]
    pub valid_until: Option<String>,
    /// The licence face data; a name given twice is refused.
    #[serde(default, deserialize_with = "unique_fields")]
    pub fields: BTreeMap<String, FieldValue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(fields: &str) -> Result<IssuanceRequest, serde_json::Error> {
        serde_json::from_str(&format!(
            r#"{{"type_code": "11100000000013338W032", "type_name": "营业执照",
                "holder": {{"type": "001", "code": "91110000600037341L", "name": "某公司"}},
                "fields": {fields}}}"#
        ))
    }

    #[test]
    fn an_issuance_request_naming_a_field_twice_is_refused() {
        let r = request(r#"{"住所": "泰安", "注册资本": 100}"#).unwrap();
        assert_eq!(r.fields.len(), 2);
        assert_eq!(r.fields["注册资本"], FieldValue::Number(100.into()));
        let e = request(r#"{"住所": "泰安", "住所": "运城"}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate member name"), "{e}");
    }
}
