//! Identifier codes, parsed once at the edge and carried as validated types.
//!
//! Each code is a type that cannot hold a bad value: it is built by [`FromStr`](std::str::FromStr)
//! (or a constructor that computes the check character), displayed as its canonical string,
//! and serialised with serde as that string; deserialising parses it again, so bad input is a
//! serde error that carries the [`CodeError`] message.
//!
//! - [`Uscc`]: 统一社会信用代码 (GB 32100-2015), for issuers, ministries and organisations;
//! - [`ResidentId`]: 居民身份证号 (GB 11643-1999), for persons; personal data, masked in `Debug`;
//! - [`RegionCode`]: 行政区划代码 (GB/T 2260);
//! - [`LicenceTypeCode`]: a ministry's [`Uscc`] and a three-digit sequence;
//! - [`LicenceId`]: 电子证照标识 (GB/T 36904-2018), built from the above;
//! - [`HolderType`] and [`HolderCode`]: who holds a licence;
//! - [`redact_keyed`] and [`check_free_text`]: holder codes found in text however they are
//!   written, and the rules for free text a caller gives.
//!
//! Every parser refuses rather than panics, on any input (including non-ASCII text), and
//! reports the first fault as a [`CodeError`] naming the code, position and character.

pub(crate) mod check;
mod error;
mod holder;
mod licence_id;
mod redact;
mod region;
mod resident_id;
mod type_code;
mod uscc;

pub use check::mod37_36_check;
pub use error::CodeError;
pub use holder::{HolderCode, HolderType};
pub use licence_id::LicenceId;
pub use redact::{
    HOLDER_TOKEN_PREFIX, LICENCE_TOKEN_PREFIX, REDACTED, TextFault, check_chars, check_free_text,
    holds_holder_codes, holds_id_numbers, make_visible, redact_id_numbers, redact_keyed,
};
pub use region::RegionCode;
pub use resident_id::ResidentId;
pub use type_code::LicenceTypeCode;
pub use uscc::Uscc;

/// Serialise a code as its string and deserialise it through `FromStr`.
macro_rules! string_serde {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
use string_serde;

/// Masks a holder code for logs and `Debug`: the first 6 and last 4 characters stay, the rest
/// become `*` (codes of 10 characters or fewer are masked whole).
pub fn mask(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..6].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 10));
    out.extend(&chars[chars.len() - 4..]);
    out
}

#[cfg(test)]
mod privacy_tests {
    //! `11010519491231002X` is the example number printed in GB 11643 itself, nobody's; the
    //! other ID-shaped numbers here are mutations of it with a wrong check digit.
    use super::*;

    #[test]
    fn mask_keeps_only_the_ends() {
        assert_eq!(mask("11010519491231002X"), "110105********002X");
        assert_eq!(mask("short"), "*****");
    }

    #[test]
    fn redaction_removes_id_shaped_runs_only() {
        assert_eq!(
            redact_id_numbers(
                // GB 11643's example with a wrong check digit: nobody's number.
                "invalid type: integer `110105194912310021`, expected a string at line 1 column 40"
            ),
            "invalid type: integer `<redacted>`, expected a string at line 1 column 40"
        );
        assert_eq!(redact_id_numbers("11010519491231002X"), "<redacted>");
        assert_eq!(
            redact_id_numbers("line 12 column 345"),
            "line 12 column 345"
        );
    }

    #[test]
    fn redaction_removes_credit_codes_with_letters_too() {
        // A credit code with letters is no run of digits, but it is an organisation's number.
        assert_eq!(
            redact_id_numbers("invalid type: string \"91110000600037341L\", expected a map"),
            "invalid type: string \"<redacted>\", expected a map"
        );
        assert_eq!(
            redact_id_numbers("核验91110000600037341l的证照"),
            "核验<redacted>的证照"
        );
        // One with letters in the body (as most since 2015), and its check character wrong.
        let body = "91110108MA01ABCD2";
        let right = check::uscc_check(body).unwrap();
        let wrong = if right == 'A' { 'B' } else { 'A' };
        assert_eq!(
            redact_id_numbers(&format!("holder {body}{right}.")),
            "holder <redacted>."
        );
        let near = format!("{body}{wrong}");
        assert_eq!(redact_id_numbers(&near), near);
        // A credit code's shape inside a longer word is not a credit code.
        let longer = format!("{body}{right}Z");
        assert_eq!(redact_id_numbers(&longer), longer);
        // Digit runs inside a longer word are still found.
        assert_eq!(
            redact_id_numbers("id=ab110105194912310021cd"),
            "id=ab<redacted>cd"
        );
    }
}
