//! 证照类型代码: the 21-character code of a licence type.

use std::fmt;
use std::str::FromStr;

use super::error::{CodeError, TYPE_CODE};
use super::uscc::Uscc;

/// A licence type code (证照类型代码): the 统一社会信用代码 of the ministry that defines the
/// licence type, followed by a three-digit sequence number, e.g. `11100000000013338W032`
/// (住房和城乡建设部, type 032).
///
/// Parsing refuses a length other than 21, a first part that is not a valid [`Uscc`] (with the
/// `Uscc`'s own error; its positions are the same in both codes), and a non-digit at 19-21.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LicenceTypeCode {
    /// The whole code.
    code: String,
    /// The first 18 characters.
    ministry: Uscc,
}

impl LicenceTypeCode {
    /// The whole code, 21 ASCII characters.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// The 统一社会信用代码 of the ministry that defines the licence type.
    pub fn ministry(&self) -> &Uscc {
        &self.ministry
    }

    /// The three-digit sequence number the ministry gave the licence type.
    pub fn sequence(&self) -> &str {
        &self.code[18..]
    }
}

impl FromStr for LicenceTypeCode {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let found = s.chars().count();
        if found != 21 {
            return Err(CodeError::WrongLength {
                what: TYPE_CODE,
                expected: "21",
                found,
            });
        }
        // Split after the 18th character, wherever that is in bytes.
        let split = s.char_indices().nth(18).map_or(s.len(), |(i, _)| i);
        let (ministry, sequence) = s.split_at(split);
        let ministry: Uscc = ministry.parse()?;
        for (i, c) in sequence.chars().enumerate() {
            if !c.is_ascii_digit() {
                return Err(CodeError::BadCharacter {
                    what: TYPE_CODE,
                    position: 19 + i,
                    found: c,
                    expected: "a digit",
                });
            }
        }
        Ok(LicenceTypeCode {
            code: s.to_owned(),
            ministry,
        })
    }
}

impl fmt::Display for LicenceTypeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

impl fmt::Debug for LicenceTypeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LicenceTypeCode({})", self.code)
    }
}

super::string_serde!(LicenceTypeCode);

#[cfg(test)]
mod tests {
    use super::super::error::USCC;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_code() {
        let code: LicenceTypeCode = "11100000000013338W032".parse().unwrap();
        assert_eq!(code.ministry().as_str(), "11100000000013338W");
        assert_eq!(code.sequence(), "032");
        assert_eq!(code.as_str(), "11100000000013338W032");
        assert_eq!(code.to_string().parse::<LicenceTypeCode>().unwrap(), code);
        assert_eq!(
            serde_json::to_string(&code).unwrap(),
            "\"11100000000013338W032\""
        );
        assert_eq!(
            serde_json::from_str::<LicenceTypeCode>("\"11100000000013338W032\"").unwrap(),
            code
        );
    }

    #[test]
    fn wrong_length() {
        for (s, found) in [
            ("", 0),
            ("11100000000013338W", 18),
            ("11100000000013338W0321", 22),
        ] {
            assert_eq!(
                s.parse::<LicenceTypeCode>(),
                Err(CodeError::WrongLength {
                    what: TYPE_CODE,
                    expected: "21",
                    found
                })
            );
        }
    }

    #[test]
    fn bad_ministry() {
        assert_eq!(
            "11100000000013338X032".parse::<LicenceTypeCode>(),
            Err(CodeError::BadCheckCharacter {
                what: USCC,
                expected: 'W',
                found: 'X'
            })
        );
        assert!(matches!(
            "1110000000001333一W032".parse::<LicenceTypeCode>(),
            Err(CodeError::BadCharacter {
                what: USCC,
                position: 17,
                found: '一',
                ..
            })
        ));
    }

    #[test]
    fn bad_sequence() {
        assert_eq!(
            "11100000000013338W03A".parse::<LicenceTypeCode>(),
            Err(CodeError::BadCharacter {
                what: TYPE_CODE,
                position: 21,
                found: 'A',
                expected: "a digit"
            })
        );
        assert!(matches!(
            "11100000000013338W一32".parse::<LicenceTypeCode>(),
            Err(CodeError::BadCharacter {
                what: TYPE_CODE,
                position: 19,
                found: '一',
                ..
            })
        ));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,24}|11100000000013338W\\PC{3}") {
            if let Ok(code) = s.parse::<LicenceTypeCode>() {
                prop_assert_eq!(code.to_string(), s);
            }
        }
    }
}
