//! GB/T 2260 administrative division codes (行政区划代码).

use std::fmt;
use std::str::FromStr;

use super::error::{CodeError, REGION_CODE};

/// The two-digit province codes of GB/T 2260: 11-15, 21-23, 31-37, 41-46, 50-54, 61-65,
/// 71 (Taiwan), 81 (Hong Kong) and 82 (Macao).
pub(crate) fn is_province(first_two: u8) -> bool {
    matches!(
        first_two,
        11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82
    )
}

/// Check the province prefix of `s`, whose first two characters are ASCII digits.
/// `what` names the code the prefix belongs to.
pub(crate) fn check_province(s: &str, what: &'static str) -> Result<(), CodeError> {
    let prefix = s.get(..2).unwrap_or("");
    match prefix.parse::<u8>() {
        Ok(n) if is_province(n) => Ok(()),
        _ => Err(CodeError::BadRegion {
            what,
            position: 1,
            found: prefix.to_owned(),
        }),
    }
}

/// A GB/T 2260 administrative division code (行政区划代码): six ASCII digits whose first two
/// are a province code: 11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81 or 82.
///
/// The rest is not checked against a list of current divisions: codes are retired and
/// reassigned (济阳县 `370125` became 济阳区 `370115` in 2018), and older ID numbers and
/// licences keep the old code, so a retired code must still parse.
///
/// ```
/// use zhengzhao::codes::RegionCode;
/// let taian: RegionCode = "370900".parse()?;
/// assert_eq!(taian.as_str(), "370900");
/// assert!("190000".parse::<RegionCode>().is_err());
/// # Ok::<(), zhengzhao::codes::CodeError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode([u8; 6]);

impl RegionCode {
    /// The code, six ASCII digits.
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII digits by construction, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The two-digit province part.
    pub fn province(&self) -> &str {
        &self.as_str()[..2]
    }
}

impl FromStr for RegionCode {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let found = s.chars().count();
        if found != 6 {
            return Err(CodeError::WrongLength {
                what: REGION_CODE,
                expected: "6",
                found,
            });
        }
        for (i, c) in s.chars().enumerate() {
            if !c.is_ascii_digit() {
                return Err(CodeError::BadCharacter {
                    what: REGION_CODE,
                    position: i + 1,
                    found: c,
                    expected: "a digit",
                });
            }
        }
        check_province(s, REGION_CODE)?;
        // Six ASCII digits are six bytes.
        let mut bytes = [0u8; 6];
        bytes.copy_from_slice(s.as_bytes());
        Ok(RegionCode(bytes))
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({})", self.as_str())
    }
}

super::string_serde!(RegionCode);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn demo_federation_regions_parse() {
        for s in [
            "370900", "370115", "370125", "140802", "370306", "110000", "820000",
        ] {
            let code: RegionCode = s.parse().unwrap();
            assert_eq!(code.as_str(), s);
            assert_eq!(code.to_string(), s);
            assert_eq!(format!("{code:?}"), format!("RegionCode({s})"));
        }
        assert_eq!("370125".parse::<RegionCode>().unwrap().province(), "37");
    }

    #[test]
    fn every_province_prefix() {
        let valid: Vec<u8> = (0..100).filter(|&n| is_province(n)).collect();
        assert_eq!(valid.len(), 34);
        for n in 0..100u8 {
            let s = format!("{n:02}0100");
            match s.parse::<RegionCode>() {
                Ok(_) => assert!(valid.contains(&n), "{s}"),
                Err(e) => {
                    assert!(!valid.contains(&n), "{s}");
                    assert_eq!(
                        e,
                        CodeError::BadRegion {
                            what: REGION_CODE,
                            position: 1,
                            found: format!("{n:02}")
                        }
                    );
                }
            }
        }
    }

    #[test]
    fn wrong_length() {
        for (s, found) in [("", 0), ("37090", 5), ("3709001", 7), ("３７０９００", 6)] {
            let r = s.parse::<RegionCode>();
            if found == 6 {
                // Full-width digits are not ASCII digits.
                assert!(matches!(
                    r,
                    Err(CodeError::BadCharacter {
                        position: 1,
                        found: '３',
                        ..
                    })
                ));
            } else {
                assert_eq!(
                    r,
                    Err(CodeError::WrongLength {
                        what: REGION_CODE,
                        expected: "6",
                        found
                    })
                );
            }
        }
    }

    #[test]
    fn non_digits() {
        assert_eq!(
            "37090A".parse::<RegionCode>(),
            Err(CodeError::BadCharacter {
                what: REGION_CODE,
                position: 6,
                found: 'A',
                expected: "a digit"
            })
        );
        assert!(matches!(
            "+37090".parse::<RegionCode>(),
            Err(CodeError::BadCharacter {
                position: 1,
                found: '+',
                ..
            })
        ));
    }

    #[test]
    fn serde_is_the_string() {
        let code: RegionCode = "140802".parse().unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"140802\"");
        assert_eq!(
            serde_json::from_str::<RegionCode>("\"140802\"").unwrap(),
            code
        );
        assert!(serde_json::from_str::<RegionCode>("\"100000\"").is_err());
        assert!(serde_json::from_str::<RegionCode>("140802").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_round_trips(s in "\\PC{0,8}|[0-9]{6}") {
            if let Ok(code) = s.parse::<RegionCode>() {
                prop_assert_eq!(code.as_str(), s.as_str());
                prop_assert_eq!(code.to_string().parse::<RegionCode>().unwrap(), code);
            }
        }
    }
}
