//! JWS compact serialization of licences (RFC 7515), parsed strictly and without trust.
//!
//! [`decode`] turns a token into its parts and refuses anything the format does not allow,
//! but it checks no signature and trusts no certificate: that is
//! [`crate::licence::verify`]'s job. [`encode`] is the signing side.

use crate::codes::redact_id_numbers;
use crate::licence::json::{StrictJsonError, parse_object};
use crate::licence::model::Claims;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Serialize;
use serde_json::Value;

/// The largest token accepted, in bytes (64 KiB).
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;
/// The most certificates `x5c` may carry (leaf first).
pub const MAX_X5C: usize = 4;
/// The `typ` header value of a licence.
pub const TYP: &str = "licence+jwt";

/// A signature algorithm a licence may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Alg {
    /// ECDSA with P-256 and SHA-256, signature as raw 64-byte `r‖s` (the default).
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519 (RFC 8037).
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl Alg {
    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }
}

/// Why a token could not be decoded; each maps to one verification outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The token is larger than [`MAX_TOKEN_BYTES`].
    #[error("token is {0} bytes; the limit is {MAX_TOKEN_BYTES}")]
    TooLarge(usize),
    /// Not three base64url segments separated by dots.
    #[error("{0}")]
    Structure(String),
    /// The protected header is not a strict JSON object.
    #[error("protected header: {0}")]
    Header(StrictJsonError),
    /// `alg` is missing or not a string.
    #[error("protected header: `alg` is missing or not a string")]
    AlgMissing,
    /// `alg` names an algorithm this format does not allow.
    #[error("algorithm {0:?} is not allowed (only ES256 and EdDSA)")]
    UnsupportedAlg(String),
    /// `typ` is missing or not `licence+jwt`.
    #[error("protected header: `typ` must be \"licence+jwt\", found {0}")]
    Typ(String),
    /// `crit` is present: this format understands no extension.
    #[error("protected header: `crit` names {0}, which this verifier does not understand")]
    Crit(String),
    /// A header that would bring a key from outside the validated chain.
    #[error("protected header: `{0}` is not accepted; the signer's key comes only from `x5c`")]
    KeySource(&'static str),
    /// `x5c` is missing, empty, too long, or holds something that is not one DER certificate.
    #[error("protected header: {0}")]
    X5c(String),
    /// The payload is not a strict JSON object.
    #[error("payload: {0}")]
    Payload(StrictJsonError),
    /// The payload is a JSON object but not a licence.
    #[error("payload: {0}")]
    Claims(String),
}

/// A decoded, not yet verified, licence token.
#[derive(Debug, Clone)]
pub struct Decoded<'t> {
    /// The algorithm named in the header.
    pub alg: Alg,
    /// The DER certificates from `x5c`, leaf first.
    pub x5c: Vec<Vec<u8>>,
    /// The payload.
    pub claims: Claims,
    /// The bytes the signature covers: `base64url(header) "." base64url(payload)`.
    pub signing_input: &'t [u8],
    /// The decoded signature bytes.
    pub signature: Vec<u8>,
}

/// Header members that would let a token name its own key: refused outright.
const KEY_SOURCE_HEADERS: [&str; 3] = ["jwk", "jku", "x5u"];

fn b64url(segment: &str, what: &str) -> Result<Vec<u8>, DecodeError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|e| DecodeError::Structure(format!("{what} is not unpadded base64url: {e}")))
}

/// Decodes a compact JWS licence without checking its signature or trusting its chain.
///
/// Refuses: tokens over 64 KiB; anything but three base64url segments; a header or payload
/// that is not a JSON object or repeats a member name; `alg` other than ES256 or EdDSA;
/// `typ` other than `licence+jwt`; any `crit`; `jwk`, `jku` and `x5u`; `x5c` missing, empty,
/// with more than four entries, not standard padded base64, or not framed as one DER SEQUENCE
/// each (bytes after a certificate); a payload that is not a licence. The certificates inside
/// are parsed by the verifier.
pub fn decode(token: &str) -> Result<Decoded<'_>, DecodeError> {
    // A trailing newline from a file or a pipe is not part of the token.
    let token = token.strip_suffix('\n').unwrap_or(token);
    let token = token.strip_suffix('\r').unwrap_or(token);
    if token.len() > MAX_TOKEN_BYTES {
        return Err(DecodeError::TooLarge(token.len()));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DecodeError::Structure(
            "a compact JWS has exactly three dot-separated segments".into(),
        ));
    };
    let header_bytes = b64url(h, "header")?;
    let payload_bytes = b64url(p, "payload")?;
    let signature = b64url(s, "signature")?;
    let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];

    let header = parse_object(&header_bytes).map_err(DecodeError::Header)?;
    let alg = match header.get("alg") {
        Some(Value::String(a)) if a == "ES256" => Alg::Es256,
        Some(Value::String(a)) if a == "EdDSA" => Alg::EdDsa,
        Some(Value::String(a)) => return Err(DecodeError::UnsupportedAlg(a.clone())),
        _ => return Err(DecodeError::AlgMissing),
    };
    for name in KEY_SOURCE_HEADERS {
        if header.contains_key(name) {
            return Err(DecodeError::KeySource(name));
        }
    }
    if let Some(crit) = header.get("crit") {
        return Err(DecodeError::Crit(crit.to_string()));
    }
    match header.get("typ") {
        Some(Value::String(t)) if typ_matches(t) => {}
        Some(other) => return Err(DecodeError::Typ(other.to_string())),
        None => return Err(DecodeError::Typ("nothing".into())),
    }
    let x5c = decode_x5c(header.get("x5c"))?;

    // The payload straight into `Claims`: every member is known (`deny_unknown_fields`),
    // serde refuses a known member given twice, and `lic.fields` refuses a repeated name, so
    // what this accepts the strict two-pass parse below accepts too, with the same claims.
    // Anything it refuses goes through the strict parse, which names the problem.
    let claims = match serde_json::from_slice::<Claims>(&payload_bytes) {
        Ok(claims) => claims,
        Err(_) => {
            let payload = parse_object(&payload_bytes).map_err(DecodeError::Payload)?;
            // serde quotes offending values; a holder's ID number must not travel into a report.
            serde_json::from_value(Value::Object(payload))
                .map_err(|e| DecodeError::Claims(redact_id_numbers(&e.to_string())))?
        }
    };

    Ok(Decoded {
        alg,
        x5c,
        claims,
        signing_input,
        signature,
    })
}

/// `typ` is a media type: compared without regard to case, `application/` optional (RFC 7515 §4.1.9).
fn typ_matches(t: &str) -> bool {
    let t = t.to_ascii_lowercase();
    t == TYP || t.strip_prefix("application/") == Some(TYP)
}

fn decode_x5c(value: Option<&Value>) -> Result<Vec<Vec<u8>>, DecodeError> {
    let Some(value) = value else {
        return Err(DecodeError::X5c("`x5c` is missing".into()));
    };
    let Value::Array(entries) = value else {
        return Err(DecodeError::X5c("`x5c` is not an array".into()));
    };
    if entries.is_empty() || entries.len() > MAX_X5C {
        return Err(DecodeError::X5c(format!(
            "`x5c` holds {} certificates; 1 to {MAX_X5C} are allowed",
            entries.len()
        )));
    }
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let Value::String(text) = entry else {
            return Err(DecodeError::X5c(format!("`x5c[{i}]` is not a string")));
        };
        let der = STANDARD.decode(text).map_err(|e| {
            DecodeError::X5c(format!(
                "`x5c[{i}]` is not standard padded base64 (base64url is not allowed here): {e}"
            ))
        })?;
        check_der_framing(&der).map_err(|e| DecodeError::X5c(format!("`x5c[{i}]`: {e}")))?;
        out.push(der);
    }
    Ok(out)
}

/// Checks that `der` is exactly one DER SEQUENCE: tag, definite length, and no byte after it.
///
/// This is all `decode` checks of a certificate; the verifier parses it in full the first time
/// it sees the chain (and caches the result by fingerprint), so a hot path pays for the framing
/// only.
pub fn check_der_framing(der: &[u8]) -> Result<(), String> {
    let (&tag, rest) = der.split_first().ok_or("empty")?;
    if tag != 0x30 {
        return Err("not a DER certificate (no SEQUENCE)".into());
    }
    let (&first, rest) = rest.split_first().ok_or("truncated length")?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("not a DER certificate (bad length)".into());
        }
        let (bytes, rest) = rest.split_at(n);
        if bytes[0] == 0 {
            return Err("not DER (length not minimal)".into());
        }
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        if len < 0x80 {
            return Err("not DER (length not minimal)".into());
        }
        (len, rest)
    };
    match rest.len().cmp(&len) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less => Err("truncated certificate".into()),
        std::cmp::Ordering::Greater => {
            Err(format!("{} bytes after the certificate", rest.len() - len))
        }
    }
}

/// The protected header this implementation writes: members in this order, nothing else.
#[derive(Serialize)]
struct HeaderOut {
    alg: Alg,
    typ: &'static str,
    x5c: Vec<String>,
}

/// Serializes the signing input `base64url(header) "." base64url(payload)` for `claims`.
pub fn signing_input(
    alg: Alg,
    x5c: &[Vec<u8>],
    claims: &Claims,
) -> Result<String, serde_json::Error> {
    let header = HeaderOut {
        alg,
        typ: TYP,
        x5c: x5c.iter().map(|der| STANDARD.encode(der)).collect(),
    };
    let header = serde_json::to_vec(&header)?;
    let payload = serde_json::to_vec(claims)?;
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    ))
}

/// Appends a signature to a signing input, giving the compact token.
pub fn assemble(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licence::model::FieldValue;

    /// A token with this header and an empty-object payload; decode checks no signature.
    fn token(header: &str) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode("{}"),
            URL_SAFE_NO_PAD.encode([1u8; 64])
        )
    }

    #[test]
    fn decode_names_each_header_refusal() {
        let t = token(r#"{"typ":"licence+jwt","x5c":["MAA="]}"#);
        assert_eq!(decode(&t).unwrap_err(), DecodeError::AlgMissing);
        let t = token(r#"{"alg":1,"typ":"licence+jwt"}"#);
        assert_eq!(decode(&t).unwrap_err(), DecodeError::AlgMissing);
        let t = token(r#"{"alg":"ES256","x5c":["MAA="]}"#);
        assert_eq!(decode(&t).unwrap_err(), DecodeError::Typ("nothing".into()));
        let t = token(r#"{"alg":"ES256","typ":["licence+jwt"]}"#);
        assert!(matches!(decode(&t).unwrap_err(), DecodeError::Typ(_)));
        let t = token(r#"{"alg":"ES256","typ":"licence+jwt","crit":[]}"#);
        assert!(matches!(decode(&t).unwrap_err(), DecodeError::Crit(_)));
        let t = token(r#"{"alg":"ES256","typ":"licence+jwt","x5c":"MAA="}"#);
        assert_eq!(
            decode(&t).unwrap_err(),
            DecodeError::X5c("`x5c` is not an array".into())
        );
        let t = token(r#"{"alg":"ES256","typ":"licence+jwt","x5c":[7]}"#);
        assert_eq!(
            decode(&t).unwrap_err(),
            DecodeError::X5c("`x5c[0]` is not a string".into())
        );
        // A refused algorithm is named before anything else is looked at.
        let t = token(r#"{"alg":"none","jwk":{}}"#);
        assert_eq!(
            decode(&t).unwrap_err(),
            DecodeError::UnsupportedAlg("none".into())
        );
    }

    #[test]
    fn decode_refuses_size_and_structure_before_parsing() {
        let big = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            decode(&big).unwrap_err(),
            DecodeError::TooLarge(MAX_TOKEN_BYTES + 1)
        );
        assert!(matches!(
            decode("a.b").unwrap_err(),
            DecodeError::Structure(_)
        ));
        assert!(matches!(
            decode("a.b.c.d").unwrap_err(),
            DecodeError::Structure(_)
        ));
        assert!(matches!(
            decode("a+.b.c").unwrap_err(),
            DecodeError::Structure(_)
        ));
        // One trailing newline (a file, a pipe) is not part of the token.
        let t = token(r#"{"typ":"licence+jwt"}"#);
        assert_eq!(
            decode(&format!("{t}\n")).unwrap_err(),
            DecodeError::AlgMissing
        );
    }

    /// A token with a well-formed header and this payload text.
    fn with_payload(payload: &str) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","typ":"licence+jwt","x5c":["MAA="]}"#),
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode([1u8; 64])
        )
    }

    /// A payload whose `lic.fields` object is `fields` and whose top level ends with `extra`.
    fn payload(fields: &str, extra: &str) -> String {
        format!(
            r#"{{"jti":"J","iss":"I","sub":"S","iat":1,"nbf":2,"lic":{{"type_code":"T","type_name":"N","number":"1","holder_type":"001","holder_name":"H","issuer_name":"A","region":"370900","version":"001","fields":{fields}}}{extra}}}"#
        )
    }

    #[test]
    fn payload_decodes_to_the_claims_of_the_strict_parse() {
        let text = payload(r#"{"a":"x","b":2,"c":1.5,"d":true,"e":-3}"#, "");
        let t = with_payload(&text);
        let fast = decode(&t).unwrap().claims;
        let strict: Claims =
            serde_json::from_value(Value::Object(parse_object(text.as_bytes()).unwrap())).unwrap();
        assert_eq!(fast, strict);
        assert_eq!(fast.lic.fields.len(), 5);
        assert_eq!(fast.lic.fields["a"], FieldValue::Text("x".into()));
        assert_eq!(fast.lic.fields["d"], FieldValue::Bool(true));
        assert_eq!(fast.lic.fields["e"], FieldValue::Number((-3).into()));
    }

    #[test]
    fn payload_with_a_repeated_name_anywhere_is_refused() {
        for text in [
            payload(r#"{"a":"x","a":"y"}"#, ""),
            payload("{}", r#","iat":5"#),
            payload("{}", r#","exp":5,"exp":6"#),
            payload("{}", "").replacen(
                r#""region":"370900","#,
                r#""region":"370900","region":"140802","#,
                1,
            ),
        ] {
            let e = decode(&with_payload(&text)).unwrap_err();
            assert!(
                matches!(&e, DecodeError::Payload(StrictJsonError::Syntax(m)) if m.contains("duplicate")),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn payload_face_values_are_strings_numbers_or_booleans() {
        for bad in [r#"{"a":null}"#, r#"{"a":{"b":1}}"#, r#"{"a":[1]}"#] {
            let e = decode(&with_payload(&payload(bad, ""))).unwrap_err();
            assert!(matches!(e, DecodeError::Claims(_)), "{bad}: {e}");
        }
        let e = decode(&with_payload(&payload("{}", r#","admin":true"#))).unwrap_err();
        assert!(
            matches!(&e, DecodeError::Claims(m) if m.contains("unknown field")),
            "{e}"
        );
    }

    #[test]
    fn der_framing_accepts_exactly_one_sequence() {
        assert_eq!(check_der_framing(&[0x30, 0x00]), Ok(()));
        assert_eq!(check_der_framing(&[0x30, 0x01, 0x05]), Ok(()));
        let long = [&[0x30, 0x81, 0x80][..], &[0u8; 0x80]].concat();
        assert_eq!(check_der_framing(&long), Ok(()));
    }

    #[test]
    fn der_framing_refuses_junk_truncation_and_non_der_lengths() {
        assert!(check_der_framing(&[]).is_err());
        assert!(check_der_framing(&[0x31, 0x00]).is_err());
        assert!(check_der_framing(&[0x30]).is_err());
        assert_eq!(
            check_der_framing(&[0x30, 0x00, 0x00]),
            Err("1 bytes after the certificate".into())
        );
        assert_eq!(
            check_der_framing(&[0x30, 0x02, 0x00]),
            Err("truncated certificate".into())
        );
        // Long form for a short length, a leading zero, indefinite length, over 4 length bytes.
        assert!(check_der_framing(&[0x30, 0x81, 0x01, 0x00]).is_err());
        assert!(check_der_framing(&[0x30, 0x82, 0x00, 0x80]).is_err());
        assert!(check_der_framing(&[0x30, 0x80, 0x00, 0x00]).is_err());
        assert!(check_der_framing(&[0x30, 0x85, 1, 0, 0, 0, 0]).is_err());
    }
}
