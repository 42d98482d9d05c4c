//! 电子证照标识: the identifier of a licence, GB/T 36904-2018.

use std::fmt;
use std::str::FromStr;

use super::check::mod37_36_check;
use super::error::{CodeError, LICENCE_CHECK, LICENCE_ID, LICENCE_SERIAL, LICENCE_VERSION};
use super::type_code::LicenceTypeCode;
use super::uscc::Uscc;

/// The fixed root of every licence identifier, with the dot that follows it.
const ROOT: &str = "1.2.156.3005.2.";

/// The symbols of serials and check characters.
const UPPER_ALNUM: &str = "a digit or an upper-case letter A-Z";

/// A licence identifier (电子证照标识, GB/T 36904-2018):
/// `1.2.156.3005.2.<type code>.<issuer>.<serial>.<version>.<check>`.
///
/// - type code: a [`LicenceTypeCode`] (21 characters);
/// - issuer: the [`Uscc`] of the issuing authority (18 characters);
/// - serial: chosen by the issuer, 1 to 32 characters of `0-9A-Z`. Real serials are 7 to 32
///   characters long; shorter ones are accepted so that a partner's odd identifier still parses;
/// - version: three digits, `001` to `999` (`000` is refused);
/// - check: ISO/IEC 7064 MOD 37,36 ([`mod37_36_check`]) over type code ‖ issuer ‖ serial ‖
///   version, without the root and the dots.
///
/// Parsing checks the fields in that order and reports the first one at fault: the root
/// (`BadRoot`), the number of fields (`WrongFieldCount`), the type code and the issuer (their
/// own errors, wrapped in `InField`), the serial, the version, the shape of the check field,
/// and last the check character itself (`BadCheckCharacter`, for which
/// [`CodeError::is_check_failure`] is true). So an identifier whose check character is wrong
/// and whose issuer is also wrong reports the issuer.
///
/// ```
/// use zhengzhao::codes::LicenceId;
/// let id: LicenceId =
///     "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F".parse()?;
/// assert_eq!(id.serial(), "2430599");
/// assert_eq!(id.version(), 1);
/// assert_eq!(id.check(), 'F');
/// # Ok::<(), zhengzhao::codes::CodeError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LicenceId {
    /// The whole identifier.
    text: String,
    /// Field 1 after the root.
    type_code: LicenceTypeCode,
    /// Field 2.
    issuer: Uscc,
    /// Field 3.
    serial: String,
    /// Field 4, 1 to 999.
    version: u16,
    /// Field 5.
    check: char,
}

impl LicenceId {
    /// Build the identifier of version `version` of licence `serial` of type `type_code`
    /// issued by `issuer`, computing the check character.
    ///
    /// Refuses a serial that is empty, longer than 32 characters or not `0-9A-Z`, and a
    /// version outside 1 to 999 (`BadVersion`).
    pub fn new(
        type_code: LicenceTypeCode,
        issuer: Uscc,
        serial: &str,
        version: u16,
    ) -> Result<LicenceId, CodeError> {
        check_serial(serial)?;
        if !(1..=999).contains(&version) {
            return Err(CodeError::BadVersion { found: version });
        }
        let check = compute_check(&type_code, &issuer, serial, version)?;
        let text = format!("{ROOT}{type_code}.{issuer}.{serial}.{version:03}.{check}");
        Ok(LicenceId {
            text,
            type_code,
            issuer,
            serial: serial.to_owned(),
            version,
            check,
        })
    }

    /// The whole identifier.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The licence type.
    pub fn type_code(&self) -> &LicenceTypeCode {
        &self.type_code
    }

    /// The issuing authority.
    pub fn issuer(&self) -> &Uscc {
        &self.issuer
    }

    /// The serial the issuer chose.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The version, 1 to 999 (written as three digits in the identifier).
    pub fn version(&self) -> u16 {
        self.version
    }

    /// The check character.
    pub fn check(&self) -> char {
        self.check
    }
}

/// 1 to 32 characters of `0-9A-Z`.
fn check_serial(serial: &str) -> Result<(), CodeError> {
    let found = serial.chars().count();
    if !(1..=32).contains(&found) {
        return Err(CodeError::WrongLength {
            what: LICENCE_SERIAL,
            expected: "1 to 32",
            found,
        });
    }
    check_upper_alnum(serial, LICENCE_SERIAL)
}

/// Every character of `s` is `0-9A-Z`.
fn check_upper_alnum(s: &str, what: &'static str) -> Result<(), CodeError> {
    match s
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_digit() || c.is_ascii_uppercase()))
    {
        Some((i, found)) => Err(CodeError::BadCharacter {
            what,
            position: i + 1,
            found,
            expected: UPPER_ALNUM,
        }),
        None => Ok(()),
    }
}

/// Three digits, `001` to `999`.
fn parse_version(s: &str) -> Result<u16, CodeError> {
    let found = s.chars().count();
    if found != 3 {
        return Err(CodeError::WrongLength {
            what: LICENCE_VERSION,
            expected: "3",
            found,
        });
    }
    if let Some((i, found)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(CodeError::BadCharacter {
            what: LICENCE_VERSION,
            position: i + 1,
            found,
            expected: "a digit",
        });
    }
    match s.parse::<u16>() {
        Ok(0) | Err(_) => Err(CodeError::BadVersion { found: 0 }),
        Ok(v) => Ok(v),
    }
}

/// The MOD 37,36 check over the fields, which are all `0-9A-Z` once parsed.
fn compute_check(
    type_code: &LicenceTypeCode,
    issuer: &Uscc,
    serial: &str,
    version: u16,
) -> Result<char, CodeError> {
    let body = format!("{type_code}{issuer}{serial}{version:03}");
    // Unreachable: 统一社会信用代码 symbols and serial characters are all in 0-9A-Z.
    mod37_36_check(&body).ok_or(CodeError::BadCharacter {
        what: LICENCE_ID,
        position: 1,
        found: '?',
        expected: UPPER_ALNUM,
    })
}

impl FromStr for LicenceId {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s.strip_prefix(ROOT).ok_or(CodeError::BadRoot)?;
        let fields: Vec<&str> = rest.split('.').collect();
        let [type_code, issuer, serial, version, check] = fields[..] else {
            return Err(CodeError::WrongFieldCount {
                found: fields.len(),
            });
        };
        let type_code: LicenceTypeCode = type_code
            .parse()
            .map_err(|e: CodeError| e.in_field("type code"))?;
        let issuer: Uscc = issuer
            .parse()
            .map_err(|e: CodeError| e.in_field("issuer"))?;
        check_serial(serial)?;
        let version = parse_version(version)?;
        let found = check.chars().count();
        if found != 1 {
            return Err(CodeError::WrongLength {
                what: LICENCE_CHECK,
                expected: "1",
                found,
            });
        }
        check_upper_alnum(check, LICENCE_CHECK)?;
        let found = check.chars().next().unwrap_or('?');
        let expected = compute_check(&type_code, &issuer, serial, version)?;
        if expected != found {
            return Err(CodeError::BadCheckCharacter {
                what: LICENCE_ID,
                expected,
                found,
            });
        }
        Ok(LicenceId {
            text: s.to_owned(),
            type_code,
            issuer,
            serial: serial.to_owned(),
            version,
            check: found,
        })
    }
}

impl fmt::Display for LicenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for LicenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LicenceId({})", self.text)
    }
}

super::string_serde!(LicenceId);

#[cfg(test)]
mod tests {
    use super::super::error::{TYPE_CODE, USCC};
    use super::*;
    use proptest::prelude::*;

    const REAL: [&str; 3] = [
        "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
        "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    ];

    /// From real data: an issuer computed the check wrongly.
    const WRONG_CHECK: &str = "1.2.156.3005.2.11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M";

    fn parse(s: &str) -> Result<LicenceId, CodeError> {
        s.parse()
    }

    #[test]
    fn real_identifiers_parse_and_round_trip() {
        for s in REAL {
            let id = parse(s).unwrap();
            assert_eq!(id.to_string(), s);
            assert_eq!(parse(&id.to_string()).unwrap(), id);
            let rebuilt = LicenceId::new(
                id.type_code().clone(),
                id.issuer().clone(),
                id.serial(),
                id.version(),
            )
            .unwrap();
            assert_eq!(rebuilt, id);
        }
        let id = parse(REAL[1]).unwrap();
        assert_eq!(id.type_code().as_str(), "11100000000013338W009");
        assert_eq!(id.issuer().as_str(), "11330105002500287C");
        assert_eq!(id.serial(), "2025052201");
        assert_eq!(id.version(), 2);
        assert_eq!(id.check(), '0');
    }

    #[test]
    fn real_identifier_with_wrong_check() {
        // Its type code 11100000000013661B006 and issuer 113700000045046442 are both valid
        // (GB 32100 and the embedded GB 11714 check), so the check character is what is
        // reported.
        assert!(
            WRONG_CHECK
                .split('.')
                .nth(6)
                .unwrap()
                .parse::<Uscc>()
                .is_ok()
        );
        let err = parse(WRONG_CHECK).unwrap_err();
        assert_eq!(
            err,
            CodeError::BadCheckCharacter {
                what: LICENCE_ID,
                expected: 'D',
                found: 'M'
            }
        );
        assert!(err.is_check_failure());
        assert_eq!(
            err.to_string(),
            "电子证照标识: check character is 'M' but should be 'D'"
        );
        let fixed = parse(&format!("{}D", &WRONG_CHECK[..WRONG_CHECK.len() - 1])).unwrap();
        assert_eq!(fixed.serial(), "209FA4E88F9E4C878F3E9BED2CE7EA49");
    }

    #[test]
    fn bad_field_comes_before_bad_check() {
        // Break the issuer's check character as well: the issuer is reported first.
        let s = WRONG_CHECK.replace(".113700000045046442.", ".113700000045046443.");
        let err = parse(&s).unwrap_err();
        assert_eq!(
            err,
            CodeError::InField {
                field: "issuer",
                error: Box::new(CodeError::BadCheckCharacter {
                    what: USCC,
                    expected: '2',
                    found: '3'
                })
            }
        );
        assert!(err.is_check_failure());
    }

    #[test]
    fn bad_root() {
        for s in [
            "",
            "1.2.156.3005.2",
            "1.2.156.3005.3.11100000000013338W032.11220000013544541J.2430599.001.F",
            " 1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
            "11100000000013338W032.11220000013544541J.2430599.001.F",
        ] {
            assert_eq!(parse(s), Err(CodeError::BadRoot), "{s}");
        }
    }

    #[test]
    fn wrong_field_count() {
        for (s, found) in [
            ("1.2.156.3005.2.", 1),
            (
                "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001",
                4,
            ),
            (
                "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F.",
                6,
            ),
            (
                "1.2.156.3005.2.11100000000013338W032.11220000013544541J.24.30599.001.F",
                6,
            ),
        ] {
            assert_eq!(parse(s), Err(CodeError::WrongFieldCount { found }), "{s}");
        }
    }

    #[test]
    fn bad_type_code() {
        assert_eq!(
            parse("1.2.156.3005.2.11100000000013338W32.11220000013544541J.2430599.001.F"),
            Err(CodeError::InField {
                field: "type code",
                error: Box::new(CodeError::WrongLength {
                    what: TYPE_CODE,
                    expected: "21",
                    found: 20
                })
            })
        );
        assert!(matches!(
            parse("1.2.156.3005.2.11100000000013338X032.11220000013544541J.2430599.001.F"),
            Err(CodeError::InField { field: "type code", error })
                if matches!(*error, CodeError::BadCheckCharacter { what: USCC, expected: 'W', found: 'X' })
        ));
    }

    #[test]
    fn bad_issuer() {
        assert!(matches!(
            parse("1.2.156.3005.2.11100000000013338W032.1122000001354454IJ.2430599.001.F"),
            Err(CodeError::InField { field: "issuer", error })
                if matches!(*error, CodeError::BadCharacter { what: USCC, position: 17, found: 'I', .. })
        ));
    }

    #[test]
    fn bad_serial() {
        let with_serial = |serial: &str| {
            format!("1.2.156.3005.2.11100000000013338W032.11220000013544541J.{serial}.001.F")
        };
        assert_eq!(
            parse(&with_serial("")),
            Err(CodeError::WrongLength {
                what: LICENCE_SERIAL,
                expected: "1 to 32",
                found: 0
            })
        );
        assert_eq!(
            parse(&with_serial(&"1".repeat(33))),
            Err(CodeError::WrongLength {
                what: LICENCE_SERIAL,
                expected: "1 to 32",
                found: 33
            })
        );
        assert_eq!(
            parse(&with_serial("243059a")),
            Err(CodeError::BadCharacter {
                what: LICENCE_SERIAL,
                position: 7,
                found: 'a',
                expected: UPPER_ALNUM
            })
        );
        assert!(matches!(
            parse(&with_serial("24-0599")),
            Err(CodeError::BadCharacter {
                what: LICENCE_SERIAL,
                position: 3,
                found: '-',
                ..
            })
        ));
        assert!(matches!(
            parse(&with_serial("二")),
            Err(CodeError::BadCharacter {
                what: LICENCE_SERIAL,
                position: 1,
                found: '二',
                ..
            })
        ));
    }

    #[test]
    fn short_and_long_serials_are_accepted() {
        let type_code: LicenceTypeCode = "11100000000013338W032".parse().unwrap();
        let issuer: Uscc = "11220000013544541J".parse().unwrap();
        for serial in ["1".to_owned(), "Z".repeat(32)] {
            let id = LicenceId::new(type_code.clone(), issuer.clone(), &serial, 999).unwrap();
            assert_eq!(parse(id.as_str()).unwrap(), id);
        }
    }

    #[test]
    fn bad_version() {
        let with_version = |version: &str| {
            format!("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.{version}.F")
        };
        assert_eq!(
            parse(&with_version("000")),
            Err(CodeError::BadVersion { found: 0 })
        );
        assert_eq!(
            parse(&with_version("1")),
            Err(CodeError::WrongLength {
                what: LICENCE_VERSION,
                expected: "3",
                found: 1
            })
        );
        assert_eq!(
            parse(&with_version("0001")),
            Err(CodeError::WrongLength {
                what: LICENCE_VERSION,
                expected: "3",
                found: 4
            })
        );
        assert_eq!(
            parse(&with_version("00A")),
            Err(CodeError::BadCharacter {
                what: LICENCE_VERSION,
                position: 3,
                found: 'A',
                expected: "a digit"
            })
        );
        assert!(matches!(
            parse(&with_version("+01")),
            Err(CodeError::BadCharacter {
                what: LICENCE_VERSION,
                position: 1,
                found: '+',
                ..
            })
        ));
    }

    #[test]
    fn new_refuses_bad_versions_and_serials() {
        let type_code: LicenceTypeCode = "11100000000013338W032".parse().unwrap();
        let issuer: Uscc = "11220000013544541J".parse().unwrap();
        for version in [0, 1000, u16::MAX] {
            assert_eq!(
                LicenceId::new(type_code.clone(), issuer.clone(), "2430599", version),
                Err(CodeError::BadVersion { found: version })
            );
        }
        assert!(matches!(
            LicenceId::new(type_code.clone(), issuer.clone(), "", 1),
            Err(CodeError::WrongLength {
                what: LICENCE_SERIAL,
                ..
            })
        ));
        assert!(matches!(
            LicenceId::new(type_code, issuer, "2430.599", 1),
            Err(CodeError::BadCharacter {
                what: LICENCE_SERIAL,
                position: 5,
                found: '.',
                ..
            })
        ));
    }

    #[test]
    fn bad_check_field() {
        let base = &REAL[0][..REAL[0].len() - 1];
        assert_eq!(
            parse(base),
            Err(CodeError::WrongLength {
                what: LICENCE_CHECK,
                expected: "1",
                found: 0
            })
        );
        assert_eq!(
            parse(&format!("{base}FF")),
            Err(CodeError::WrongLength {
                what: LICENCE_CHECK,
                expected: "1",
                found: 2
            })
        );
        assert_eq!(
            parse(&format!("{base}f")),
            Err(CodeError::BadCharacter {
                what: LICENCE_CHECK,
                position: 1,
                found: 'f',
                expected: UPPER_ALNUM
            })
        );
        assert!(matches!(
            parse(&format!("{base}F\n")),
            Err(CodeError::WrongLength {
                what: LICENCE_CHECK,
                found: 2,
                ..
            })
        ));
        assert!(matches!(
            parse(&format!("{base}é")),
            Err(CodeError::BadCharacter {
                what: LICENCE_CHECK,
                found: 'é',
                ..
            })
        ));
    }

    #[test]
    fn serde_is_the_string() {
        let id = parse(REAL[2]).unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", REAL[2]));
        assert_eq!(serde_json::from_str::<LicenceId>(&json).unwrap(), id);
        let err = serde_json::from_str::<LicenceId>(&format!("\"{WRONG_CHECK}\"")).unwrap_err();
        assert!(
            err.to_string()
                .contains("check character is 'M' but should be 'D'"),
            "{err}"
        );
    }

    /// A valid type code, issuer, serial and version.
    fn parts() -> impl Strategy<Value = (LicenceTypeCode, Uscc, String, u16)> {
        (
            proptest::sample::select(vec!["11100000000013338W032", "11100000000013661B006"]),
            proptest::sample::select(vec![
                "11220000013544541J",
                "113700000045046442",
                "11430000006122244L",
                "91110000600037341L",
            ]),
            "[0-9A-Z]{1,32}",
            1u16..=999,
        )
            .prop_map(|(t, i, serial, version)| {
                (t.parse().unwrap(), i.parse().unwrap(), serial, version)
            })
    }

    proptest! {
        #[test]
        fn computed_check_is_valid_and_any_other_is_refused(
            (type_code, issuer, serial, version) in parts(),
        ) {
            let id = LicenceId::new(type_code, issuer, &serial, version).unwrap();
            prop_assert_eq!(parse(id.as_str()).unwrap(), id.clone());
            let text = id.as_str();
            for other in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".chars().filter(|&c| c != id.check()) {
                let wrong = format!("{}{other}", &text[..text.len() - 1]);
                prop_assert_eq!(
                    parse(&wrong),
                    Err(CodeError::BadCheckCharacter { what: LICENCE_ID, expected: id.check(), found: other })
                );
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,100}") {
            if let Ok(id) = parse(&s) {
                prop_assert_eq!(id.to_string(), s);
            }
        }

        #[test]
        fn parse_never_panics_near_valid(
            s in "1\\.2\\.156\\.3005\\.2\\.[0-9A-Z.一]{0,90}",
        ) {
            if let Ok(id) = parse(&s) {
                prop_assert_eq!(id.to_string(), s);
            }
        }
    }
}
