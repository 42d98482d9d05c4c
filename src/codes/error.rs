//! Why a code was refused.

use time::Date;

/// Name of a 统一社会信用代码 in messages.
pub(crate) const USCC: &str = "统一社会信用代码";
/// Name of the organisation code (GB 11714) embedded in a 统一社会信用代码 at positions 9-17.
pub(crate) const USCC_ORG_CODE: &str = "统一社会信用代码 (embedded 组织机构代码, positions 9-17)";
/// Name of a 居民身份证号 in messages.
pub(crate) const RESIDENT_ID: &str = "居民身份证号";
/// Name of a GB/T 2260 region code in messages.
pub(crate) const REGION_CODE: &str = "行政区划代码";
/// Name of a licence type code in messages.
pub(crate) const TYPE_CODE: &str = "证照类型代码";
/// Name of a GB/T 36904 licence identifier in messages.
pub(crate) const LICENCE_ID: &str = "电子证照标识";
/// Name of the serial field of a licence identifier.
pub(crate) const LICENCE_SERIAL: &str = "电子证照标识 serial";
/// Name of the version field of a licence identifier.
pub(crate) const LICENCE_VERSION: &str = "电子证照标识 version";
/// Name of the check field of a licence identifier.
pub(crate) const LICENCE_CHECK: &str = "电子证照标识 check character";

/// Why a code was refused.
///
/// Every variant names the code it is about (`what`, a fixed name such as `"居民身份证号"`) and
/// the position or character at fault. Messages and `Debug` output never repeat the input as a
/// whole: a 居民身份证号 is personal data, and an error may end up in a log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// The input has the wrong number of characters.
    #[error("{what}: must be {expected} characters long, found {found}")]
    WrongLength {
        /// Which code.
        what: &'static str,
        /// The accepted length, e.g. `"18"` or `"1 to 32"`.
        expected: &'static str,
        /// The number of characters (not bytes) found.
        found: usize,
    },
    /// A character is not allowed at its position.
    #[error("{what}: character {position} is {found:?}, but must be {expected}")]
    BadCharacter {
        /// Which code (or field of a code).
        what: &'static str,
        /// 1-based position of the character within that code or field.
        position: usize,
        /// The character found.
        found: char,
        /// What is allowed there, e.g. `"a digit"`.
        expected: &'static str,
    },
    /// The structure is right but a check character does not match the rest.
    #[error("{what}: check character is '{found}' but should be '{expected}'")]
    BadCheckCharacter {
        /// Which code (or embedded code) the check belongs to.
        what: &'static str,
        /// The check character computed from the other characters.
        expected: char,
        /// The check character found.
        found: char,
    },
    /// A 15-digit first-generation resident ID number (before 1999); only 18-character numbers
    /// are accepted.
    #[error(
        "{what}: 15-digit first-generation numbers are not accepted; give the 18-character number"
    )]
    FirstGenerationResidentId {
        /// Which code.
        what: &'static str,
    },
    /// The two-digit province prefix is not a GB/T 2260 province code.
    #[error(
        "{what}: characters {position}-{end} are \"{found}\", which is not a province code",
        end = position + 1
    )]
    BadRegion {
        /// Which code.
        what: &'static str,
        /// 1-based position of the first province digit within the code.
        position: usize,
        /// The two province digits found.
        found: String,
    },
    /// The birth date (characters 7-14, `YYYYMMDD`) is not a calendar date. The digits are not
    /// repeated here because they are personal data.
    #[error("{what}: characters 7-14 are not a calendar date (YYYYMMDD)")]
    NotADate {
        /// Which code.
        what: &'static str,
    },
    /// The birth date is before the earliest accepted date.
    #[error("{what}: birth date is before {earliest}")]
    TooEarly {
        /// Which code.
        what: &'static str,
        /// The earliest date accepted (1900-01-01).
        earliest: Date,
    },
    /// The birth date is after the date the code was checked on.
    #[error("{what}: birth date is after today ({today})")]
    InTheFuture {
        /// Which code.
        what: &'static str,
        /// The date the code was checked on (China Standard Time unless the caller chose).
        today: Date,
    },
    /// A holder type code (持证主体代码类型) other than `111` (person) or `001` (organisation).
    #[error("持证主体类型: must be \"111\" (person) or \"001\" (organisation)")]
    UnknownHolderType,
    /// A licence identifier does not start with the GB/T 36904 root `1.2.156.3005.2.`.
    #[error("{LICENCE_ID}: must start with \"1.2.156.3005.2.\"")]
    BadRoot,
    /// A licence identifier does not have five dot-separated fields after the root
    /// (type code, issuer, serial, version, check).
    #[error("{LICENCE_ID}: must have 5 fields after the root, found {found}")]
    WrongFieldCount {
        /// The number of fields found after the root.
        found: usize,
    },
    /// A licence version outside `001`-`999`.
    #[error("{LICENCE_VERSION}: must be 001 to 999, found {found}")]
    BadVersion {
        /// The version found.
        found: u16,
    },
    /// A field of a licence identifier holds a code that is itself refused.
    #[error("{LICENCE_ID} {field}: {error}")]
    InField {
        /// Which field: `"type code"` or `"issuer"`.
        field: &'static str,
        /// Why the field's code was refused.
        error: Box<CodeError>,
    },
}

impl CodeError {
    /// True only when the structure is right but a check character is wrong: the code is
    /// well-formed, and either it was mistyped or its issuer computed the check wrongly.
    pub fn is_check_failure(&self) -> bool {
        match self {
            CodeError::BadCheckCharacter { .. } => true,
            CodeError::InField { error, .. } => error.is_check_failure(),
            _ => false,
        }
    }

    /// Wrap the error of a field of a licence identifier.
    pub(crate) fn in_field(self, field: &'static str) -> Self {
        CodeError::InField {
            field,
            error: Box::new(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_message_reads_well() {
        let e = CodeError::BadCheckCharacter {
            what: USCC,
            expected: 'X',
            found: 'W',
        };
        assert_eq!(
            e.to_string(),
            "统一社会信用代码: check character is 'W' but should be 'X'"
        );
        assert!(e.is_check_failure());
    }

    #[test]
    fn nested_check_failure_is_a_check_failure() {
        let e = CodeError::BadCheckCharacter {
            what: USCC,
            expected: 'X',
            found: 'W',
        }
        .in_field("issuer");
        assert!(e.is_check_failure());
        assert_eq!(
            e.to_string(),
            "电子证照标识 issuer: 统一社会信用代码: check character is 'W' but should be 'X'"
        );
        assert!(!CodeError::BadRoot.in_field("issuer").is_check_failure());
    }

    #[test]
    fn other_errors_are_not_check_failures() {
        let errors = [
            CodeError::WrongLength {
                what: USCC,
                expected: "18",
                found: 3,
            },
            CodeError::BadCharacter {
                what: USCC,
                position: 1,
                found: 'I',
                expected: "x",
            },
            CodeError::FirstGenerationResidentId { what: RESIDENT_ID },
            CodeError::BadRegion {
                what: REGION_CODE,
                position: 1,
                found: "19".into(),
            },
            CodeError::NotADate { what: RESIDENT_ID },
            CodeError::UnknownHolderType,
            CodeError::BadRoot,
            CodeError::WrongFieldCount { found: 4 },
            CodeError::BadVersion { found: 0 },
        ];
        for e in errors {
            assert!(!e.is_check_failure(), "{e}");
        }
    }

    #[test]
    fn region_message_names_positions() {
        let e = CodeError::BadRegion {
            what: RESIDENT_ID,
            position: 1,
            found: "19".into(),
        };
        assert_eq!(
            e.to_string(),
            "居民身份证号: characters 1-2 are \"19\", which is not a province code"
        );
    }
}
