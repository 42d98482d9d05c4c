//! 统一社会信用代码 (unified social credit code), GB 32100-2015.

use std::fmt;
use std::str::FromStr;

use super::check::{org_code_check, uscc_check, uscc_value};
use super::error::{CodeError, USCC, USCC_ORG_CODE};

/// What the 31-symbol alphabet looks like in messages.
const ALPHABET_TEXT: &str = "one of 0-9 A-H J-N P-R T U W-Y (upper case; no I, O, S, V, Z)";

/// A 统一社会信用代码 (GB 32100-2015): the 18-character code of an organisation, used for
/// issuers, ministries and organisation holders.
///
/// Layout: position 1 registering authority, 2 entity type, 3-8 the registering region's code
/// (digits), 9-17 an organisation code (GB 11714) whose last character is its own check,
/// 18 the GB 32100 check character. Every character is one of the 31 symbols
/// `0123456789ABCDEFGHJKLMNPQRTUWXY`; lower case is refused, so a `Uscc` is always in its
/// canonical form.
///
/// Parsing refuses, in this order: a wrong length, a character outside the alphabet (or a
/// non-digit at 3-8), a wrong GB 32100 check character, and then an organisation code whose
/// check character (position 17) is wrong. The GB 32100 check comes first because it covers
/// all 17 other characters: when it fails the code was most likely mistyped.
///
/// ```
/// use zhengzhao::codes::Uscc;
/// let code: Uscc = "91110000600037341L".parse()?;
/// assert_eq!(code.region_digits(), "110000");
/// # Ok::<(), zhengzhao::codes::CodeError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

impl Uscc {
    /// Complete the first 17 characters with the GB 32100 check character.
    ///
    /// Refuses what [`FromStr`] refuses except the last check: a wrong length (17 expected),
    /// bad characters, and an embedded organisation code with a wrong check character.
    pub fn from_body(first_17: &str) -> Result<Uscc, CodeError> {
        let found = first_17.chars().count();
        if found != 17 {
            return Err(CodeError::WrongLength {
                what: USCC,
                expected: "17 (without the check character)",
                found,
            });
        }
        check_characters(first_17)?;
        check_org_code(first_17)?;
        let check = uscc_check(first_17).ok_or(CodeError::WrongLength {
            what: USCC,
            expected: "17 (without the check character)",
            found,
        })?;
        let mut code = String::with_capacity(18);
        code.push_str(first_17);
        code.push(check);
        Ok(Uscc(code))
    }

    /// The code, 18 ASCII characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Positions 3-8: the code of the region where the organisation registered. Six digits,
    /// but not necessarily a [`RegionCode`](super::RegionCode): central bodies use `100000`.
    pub fn region_digits(&self) -> &str {
        &self.0[2..8]
    }

    /// Positions 9-17: the embedded organisation code (GB 11714), check character included.
    pub fn organisation_code(&self) -> &str {
        &self.0[8..17]
    }
}

/// Whether `s` has the shape of a 统一社会信用代码 (any case): 18 characters of the alphabet,
/// positions 3-8 digits, and the right check character. The organisation code inside is not
/// checked: this is for redaction, where a near miss is still someone's number.
pub(crate) fn looks_like_uscc(s: &str) -> bool {
    let upper = s.to_ascii_uppercase();
    upper.len() == 18
        && check_characters(&upper).is_ok()
        && upper
            .split_at_checked(17)
            .is_some_and(|(body, last)| uscc_check(body).is_some_and(|c| last.starts_with(c)))
}

/// Every character in the alphabet, and positions 3-8 digits. Positions are 1-based.
fn check_characters(s: &str) -> Result<(), CodeError> {
    for (i, c) in s.chars().enumerate() {
        let position = i + 1;
        if (3..=8).contains(&position) {
            if !c.is_ascii_digit() {
                return Err(CodeError::BadCharacter {
                    what: USCC,
                    position,
                    found: c,
                    expected: "a digit (positions 3-8 are a region code)",
                });
            }
        } else if uscc_value(c).is_none() {
            return Err(CodeError::BadCharacter {
                what: USCC,
                position,
                found: c,
                expected: ALPHABET_TEXT,
            });
        }
    }
    Ok(())
}

/// The organisation code at positions 9-17 ends in its own GB 11714 check character.
/// `s` holds at least 17 characters from the alphabet (so it is ASCII).
fn check_org_code(s: &str) -> Result<(), CodeError> {
    let found = s.chars().nth(16).unwrap_or('?');
    if !(found.is_ascii_digit() || found == 'X') {
        return Err(CodeError::BadCharacter {
            what: USCC_ORG_CODE,
            position: 17,
            found,
            expected: "a digit or X (the 组织机构代码 check character)",
        });
    }
    match org_code_check(s.get(8..16).unwrap_or("")) {
        Some(expected) if expected == found => Ok(()),
        Some(expected) => Err(CodeError::BadCheckCharacter {
            what: USCC_ORG_CODE,
            expected,
            found,
        }),
        // Unreachable: the eight characters were checked against the alphabet.
        None => Err(CodeError::BadCharacter {
            what: USCC_ORG_CODE,
            position: 9,
            found,
            expected: ALPHABET_TEXT,
        }),
    }
}

impl FromStr for Uscc {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let found = s.chars().count();
        if found != 18 {
            return Err(CodeError::WrongLength {
                what: USCC,
                expected: "18",
                found,
            });
        }
        check_characters(s)?;
        // All 18 characters are ASCII now, so byte slicing is safe.
        let (body, last) = s.split_at(17);
        let found = last.chars().next().unwrap_or('?');
        let expected = uscc_check(body).unwrap_or('?');
        if expected != found {
            return Err(CodeError::BadCheckCharacter {
                what: USCC,
                expected,
                found,
            });
        }
        check_org_code(s)?;
        Ok(Uscc(s.to_owned()))
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uscc({})", self.0)
    }
}

super::string_serde!(Uscc);

/// The 31 symbols, for tests that build codes.
#[cfg(test)]
pub(crate) fn alphabet() -> Vec<char> {
    super::check::USCC_ALPHABET.chars().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID: [&str; 7] = [
        "11100000000013338W",
        "11220000013544541J",
        "91110000600037341L",
        "11370900004090218Y",
        "113701150041153580",
        "11140802011408028G",
        "113703060043061546",
    ];

    #[test]
    fn known_codes_parse_and_round_trip() {
        for s in VALID {
            let code: Uscc = s.parse().unwrap();
            assert_eq!(code.as_str(), s);
            assert_eq!(code.to_string().parse::<Uscc>().unwrap(), code);
            assert_eq!(Uscc::from_body(&s[..17]).unwrap(), code);
        }
        let code: Uscc = "11370900004090218Y".parse().unwrap();
        assert_eq!(code.region_digits(), "370900");
        assert_eq!(code.organisation_code(), "004090218");
    }

    #[test]
    fn wrong_length() {
        for (s, found) in [
            ("", 0),
            ("11100000000013338", 17),
            ("11100000000013338W0", 19),
        ] {
            assert_eq!(
                s.parse::<Uscc>(),
                Err(CodeError::WrongLength {
                    what: USCC,
                    expected: "18",
                    found
                })
            );
        }
        // Length counts characters, not bytes.
        assert!(matches!(
            "一一一一一一一一一一一一一一一一一一".parse::<Uscc>(),
            Err(CodeError::BadCharacter {
                position: 1,
                found: '一',
                ..
            })
        ));
        assert!(matches!(
            Uscc::from_body("11100000000013338W"),
            Err(CodeError::WrongLength { found: 18, .. })
        ));
    }

    #[test]
    fn letters_outside_the_alphabet() {
        for (bad, position) in [
            ('I', 1),
            ('O', 2),
            ('S', 10),
            ('V', 16),
            ('Z', 18),
            ('w', 18),
        ] {
            let mut chars: Vec<char> = VALID[0].chars().collect();
            chars[position - 1] = bad;
            let s: String = chars.into_iter().collect();
            assert!(
                matches!(
                    s.parse::<Uscc>(),
                    Err(CodeError::BadCharacter { what: USCC, position: p, found, .. })
                        if p == position && found == bad
                ),
                "{s}"
            );
        }
    }

    #[test]
    fn region_part_must_be_digits() {
        assert!(matches!(
            "111A0000000013338W".parse::<Uscc>(),
            Err(CodeError::BadCharacter {
                position: 4,
                found: 'A',
                ..
            })
        ));
        assert!(matches!(
            Uscc::from_body("1110000A000013338"),
            Err(CodeError::BadCharacter {
                position: 8,
                found: 'A',
                ..
            })
        ));
    }

    #[test]
    fn letters_at_positions_1_and_2_are_allowed() {
        // GB 32100 uses letters for some registering authorities (A, N, Y) and entity types.
        let code = Uscc::from_body("N2370900004090218").unwrap();
        assert_eq!(code.as_str().parse::<Uscc>().unwrap(), code);
    }

    #[test]
    fn wrong_check_character() {
        assert_eq!(
            "11100000000013338X".parse::<Uscc>(),
            Err(CodeError::BadCheckCharacter {
                what: USCC,
                expected: 'W',
                found: 'X'
            })
        );
    }

    #[test]
    fn wrong_org_code_check_with_right_gb32100_check() {
        // Change the org code's check (position 17) and recompute position 18 with the raw
        // algorithm, so only the embedded check is wrong.
        let body = "11100000000013337";
        let s = format!("{body}{}", uscc_check(body).unwrap());
        let err = s.parse::<Uscc>().unwrap_err();
        assert_eq!(
            err,
            CodeError::BadCheckCharacter {
                what: USCC_ORG_CODE,
                expected: '8',
                found: '7'
            }
        );
        assert!(err.is_check_failure());
        assert_eq!(Uscc::from_body(body), Err(err));
    }

    #[test]
    fn org_code_check_position_must_be_digit_or_x() {
        let body = "1110000000001333A";
        let s = format!("{body}{}", uscc_check(body).unwrap());
        assert!(matches!(
            s.parse::<Uscc>(),
            Err(CodeError::BadCharacter {
                what: USCC_ORG_CODE,
                position: 17,
                found: 'A',
                ..
            })
        ));
        assert!(matches!(
            Uscc::from_body(body),
            Err(CodeError::BadCharacter { position: 17, .. })
        ));
    }

    #[test]
    fn org_code_check_x_is_accepted() {
        // About one body in eleven has the check X; find one.
        let org = (0..10_000u32)
            .map(|n| format!("0000{n:04}"))
            .find(|b| org_code_check(b) == Some('X'))
            .unwrap();
        let code = Uscc::from_body(&format!("11100000{org}X")).unwrap();
        assert!(code.organisation_code().ends_with('X'));
        assert_eq!(code.as_str().parse::<Uscc>().unwrap(), code);
    }

    #[test]
    fn serde_is_the_string() {
        let code: Uscc = VALID[0].parse().unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"11100000000013338W\"");
        assert_eq!(serde_json::from_str::<Uscc>(&json).unwrap(), code);
        let err = serde_json::from_str::<Uscc>("\"11100000000013338X\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("check character is 'X' but should be 'W'")
        );
    }

    /// A body of 17 characters with a valid embedded organisation code.
    fn body() -> impl Strategy<Value = String> {
        let symbol = proptest::sample::select(alphabet());
        (
            proptest::collection::vec(symbol.clone(), 2),
            "[0-9]{6}",
            proptest::collection::vec(symbol, 8),
        )
            .prop_map(|(head, region, org)| {
                let org: String = org.into_iter().collect();
                let check = org_code_check(&org).unwrap();
                format!(
                    "{}{region}{org}{check}",
                    head.into_iter().collect::<String>()
                )
            })
    }

    proptest! {
        #[test]
        fn computed_check_is_valid_and_any_other_is_refused(
            body in body(),
        ) {
            let code = Uscc::from_body(&body).unwrap();
            prop_assert_eq!(code.as_str().parse::<Uscc>().unwrap(), code.clone());
            let right = code.as_str().chars().last().unwrap();
            for other in alphabet().into_iter().filter(|&c| c != right) {
                let wrong = format!("{body}{other}");
                prop_assert_eq!(
                    wrong.parse::<Uscc>(),
                    Err(CodeError::BadCheckCharacter { what: USCC, expected: right, found: other })
                );
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            let _ = s.parse::<Uscc>();
            let _ = Uscc::from_body(&s);
        }

        #[test]
        fn parse_never_panics_near_valid(s in "[0-9A-Za-z一]{16,19}") {
            if let Ok(code) = s.parse::<Uscc>() {
                prop_assert_eq!(code.to_string(), s.clone());
            }
            let _ = Uscc::from_body(&s);
        }
    }
}
