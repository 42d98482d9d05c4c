//! 居民身份证号 (resident identity card number), GB 11643-1999.

use std::fmt;
use std::str::FromStr;

use time::{Date, Month, OffsetDateTime, UtcOffset, macros::date};

use super::check::resident_id_check;
use super::error::{CodeError, RESIDENT_ID};
use super::region::{RegionCode, check_province};

/// The earliest birth date accepted.
const EARLIEST: Date = date!(1900 - 01 - 01);

/// Today's date in China Standard Time (UTC+8), the date birth dates are checked against.
pub(crate) fn today_in_china() -> Date {
    let offset = UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::now_utc().to_offset(offset).date()
}

/// A 居民身份证号 (GB 11643-1999): the 18-character number of a resident of China, used for
/// person holders.
///
/// Layout: characters 1-6 the region of first registration (the first two a province code),
/// 7-14 the birth date `YYYYMMDD`, 15-17 a sequence number, 18 the MOD 11-2 check character
/// (a digit or `X`). A lower-case `x` is accepted as the check character and stored as `X`,
/// so `Display` always gives the canonical upper-case form.
///
/// Parsing refuses, in this order: a 15-digit first-generation number (its own error), any
/// other length, a non-digit in 1-17 or a check character other than a digit or X, a prefix
/// that is not a province code, a birth date that is not a calendar date, before 1900-01-01 or
/// after today, and a wrong check character. The rest of the region is not checked against a
/// list: retired region codes stay in people's numbers for life.
///
/// This is personal data. `Debug` and [`masked`](ResidentId::masked) show only the first six
/// and last four characters; `Display`, [`as_str`](ResidentId::as_str) and serde give the full
/// number, because it goes into signed licences. Errors never contain the number.
///
/// ```
/// use zhengzhao::codes::ResidentId;
/// use time::macros::date;
/// let id = ResidentId::parse_at("11010519491231002x", date!(2025 - 06 - 01))?;
/// assert_eq!(id.to_string(), "11010519491231002X");
/// assert_eq!(format!("{id:?}"), "ResidentId(110105********002X)");
/// # Ok::<(), zhengzhao::codes::CodeError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResidentId {
    /// The full number, upper case.
    number: String,
    /// Characters 1-6.
    region: RegionCode,
    /// Characters 7-14.
    birth_date: Date,
}

impl ResidentId {
    /// Parse `s`, checking that the birth date is not after `today`.
    ///
    /// [`FromStr`] calls this with today's date in China Standard Time (UTC+8); call it
    /// directly to check against a date of your choosing (e.g. the date a licence was issued).
    pub fn parse_at(s: &str, today: Date) -> Result<ResidentId, CodeError> {
        let found = s.chars().count();
        if found == 15 && s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::FirstGenerationResidentId { what: RESIDENT_ID });
        }
        if found != 18 {
            return Err(CodeError::WrongLength {
                what: RESIDENT_ID,
                expected: "18",
                found,
            });
        }
        for (i, c) in s.chars().enumerate() {
            let position = i + 1;
            if position <= 17 && !c.is_ascii_digit() {
                return Err(CodeError::BadCharacter {
                    what: RESIDENT_ID,
                    position,
                    found: c,
                    expected: "a digit",
                });
            }
            if position == 18 && !(c.is_ascii_digit() || c == 'X' || c == 'x') {
                return Err(CodeError::BadCharacter {
                    what: RESIDENT_ID,
                    position,
                    found: c,
                    expected: "a digit or X",
                });
            }
        }
        // All 18 characters are ASCII now, so byte slicing is safe.
        check_province(s, RESIDENT_ID)?;
        let region: RegionCode = s[..6].parse()?;
        let birth = birth_date(s)?;
        if birth < EARLIEST {
            return Err(CodeError::TooEarly {
                what: RESIDENT_ID,
                earliest: EARLIEST,
            });
        }
        if birth > today {
            return Err(CodeError::InTheFuture {
                what: RESIDENT_ID,
                today,
            });
        }
        let normalised = s.to_ascii_uppercase();
        let (body, last) = normalised.split_at(17);
        let found = last.chars().next().unwrap_or('?');
        let expected = resident_id_check(body).unwrap_or('?');
        if expected != found {
            return Err(CodeError::BadCheckCharacter {
                what: RESIDENT_ID,
                expected,
                found,
            });
        }
        Ok(ResidentId {
            number: normalised,
            region,
            birth_date: birth,
        })
    }

    /// The full number, 18 ASCII characters with an upper-case `X` if any.
    pub fn as_str(&self) -> &str {
        &self.number
    }

    /// The number with characters 7-14 (the birth date) replaced by `*`, for logs and screens:
    /// `110105********002X`.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.number[..6], &self.number[14..])
    }

    /// Characters 1-6: the region where the number was first issued.
    pub fn region(&self) -> RegionCode {
        self.region
    }

    /// Characters 7-14: the birth date.
    pub fn birth_date(&self) -> Date {
        self.birth_date
    }
}

/// The birth date in characters 7-14 of `s`, which are ASCII digits.
fn birth_date(s: &str) -> Result<Date, CodeError> {
    let not_a_date = CodeError::NotADate { what: RESIDENT_ID };
    let number = |range: std::ops::Range<usize>| s.get(range).and_then(|t| t.parse::<u16>().ok());
    let (Some(year), Some(month), Some(day)) = (number(6..10), number(10..12), number(12..14))
    else {
        return Err(not_a_date);
    };
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or(not_a_date.clone())?;
    let day = u8::try_from(day).map_err(|_| not_a_date.clone())?;
    Date::from_calendar_date(i32::from(year), month, day).map_err(|_| not_a_date)
}

impl FromStr for ResidentId {
    type Err = CodeError;

    /// Parse `s`, checking the birth date against today in China Standard Time (UTC+8).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResidentId::parse_at(s, today_in_china())
    }
}

impl fmt::Display for ResidentId {
    /// The full number. Use [`ResidentId::masked`] where the full number is not needed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.number)
    }
}

impl fmt::Debug for ResidentId {
    /// Masked: `ResidentId(110105********002X)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

super::string_serde!(ResidentId);

#[cfg(test)]
mod tests {
    use super::*;

    /// The domain notes' invalid example: its check character is wrong (6, not 7), so it is
    /// nobody's number. The valid ones used here are the notes' and GB 11643's own examples.
    const BAD_CHECK_EXAMPLE: &str = "110101197608056896";
    use proptest::prelude::*;

    const TODAY: Date = date!(2025 - 06 - 01);

    fn parse(s: &str) -> Result<ResidentId, CodeError> {
        ResidentId::parse_at(s, TODAY)
    }

    /// A number with the right check character for the first 17 digits.
    fn complete(body: &str) -> String {
        format!("{body}{}", resident_id_check(body).unwrap())
    }

    #[test]
    fn known_numbers_parse() {
        for s in ["11010519491231002X", "360426199101010071"] {
            let id = parse(s).unwrap();
            assert_eq!(id.as_str(), s);
            assert_eq!(id.to_string(), s);
            assert_eq!(s.parse::<ResidentId>().unwrap(), id);
        }
        let id = parse("11010519491231002X").unwrap();
        assert_eq!(id.region().as_str(), "110105");
        assert_eq!(id.birth_date(), date!(1949 - 12 - 31));
    }

    #[test]
    fn lower_case_x_is_normalised() {
        let id = parse("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id, parse("11010519491231002X").unwrap());
    }

    #[test]
    fn known_bad_check() {
        let err = parse(BAD_CHECK_EXAMPLE).unwrap_err();
        assert_eq!(
            err,
            CodeError::BadCheckCharacter {
                what: RESIDENT_ID,
                expected: '7',
                found: '6'
            }
        );
        assert!(err.is_check_failure());
    }

    #[test]
    fn debug_and_masked_hide_the_birth_date() {
        let id = parse("11010519491231002X").unwrap();
        assert_eq!(format!("{id:?}"), "ResidentId(110105********002X)");
        assert_eq!(id.masked(), "110105********002X");
        let holder = Some(id);
        assert!(!format!("{holder:?}").contains("19491231"));
    }

    #[test]
    fn errors_never_contain_the_number() {
        // The invalid example and mutations of it (month 13, province 19, years 2076 and
        // 1876, a letter): none is a valid number.
        let bad = [
            BAD_CHECK_EXAMPLE,
            "110101197613056894",
            "190101197608056894",
            "110101207608056894",
            "110101187608056894",
            "11010119760805689A",
        ];
        for s in bad {
            let err = parse(s).unwrap_err();
            for text in [err.to_string(), format!("{err:?}")] {
                assert!(!text.contains(&s[..14]), "{text}");
                assert!(!text.contains(&s[6..14]), "{text}");
            }
        }
    }

    #[test]
    fn first_generation_numbers_have_their_own_error() {
        assert_eq!(
            parse("110105491231002"),
            Err(CodeError::FirstGenerationResidentId { what: RESIDENT_ID })
        );
    }

    #[test]
    fn wrong_length() {
        for (s, found) in [
            ("", 0),
            ("11010519491231002", 17),
            ("11010519491231002X0", 19),
        ] {
            assert_eq!(
                parse(s),
                Err(CodeError::WrongLength {
                    what: RESIDENT_ID,
                    expected: "18",
                    found
                })
            );
        }
        // 15 characters that are not all digits are just the wrong length.
        assert!(matches!(
            parse("11010549123100X"),
            Err(CodeError::WrongLength { found: 15, .. })
        ));
    }

    #[test]
    fn bad_characters() {
        assert_eq!(
            parse("1101051949123100XX"),
            Err(CodeError::BadCharacter {
                what: RESIDENT_ID,
                position: 17,
                found: 'X',
                expected: "a digit"
            })
        );
        assert_eq!(
            parse("11010519491231002Y"),
            Err(CodeError::BadCharacter {
                what: RESIDENT_ID,
                position: 18,
                found: 'Y',
                expected: "a digit or X"
            })
        );
        assert!(matches!(
            parse("１1010519491231002X"),
            Err(CodeError::BadCharacter {
                position: 1,
                found: '１',
                ..
            })
        ));
        assert!(matches!(
            parse("11010519491231002é"),
            Err(CodeError::BadCharacter {
                position: 18,
                found: 'é',
                ..
            })
        ));
    }

    #[test]
    fn bad_province() {
        assert_eq!(
            parse(&complete("10010519491231002")),
            Err(CodeError::BadRegion {
                what: RESIDENT_ID,
                position: 1,
                found: "10".into()
            })
        );
        // A retired county code (济阳县 until 2018) is still accepted.
        assert!(parse(&complete("37012519800101001")).is_ok());
    }

    #[test]
    fn leap_years() {
        assert!(parse(&complete("11010520000229001")).is_ok());
        assert!(parse(&complete("11010520240229001")).is_ok());
        for body in [
            "11010519000229001",
            "11010520230229001",
            "11010521000229001",
        ] {
            assert_eq!(
                parse(&complete(body)),
                Err(CodeError::NotADate { what: RESIDENT_ID }),
                "{body}"
            );
        }
    }

    #[test]
    fn not_dates() {
        for date in ["19491331", "19490001", "19491200", "19490431", "00000000"] {
            assert_eq!(
                parse(&complete(&format!("110105{date}002"))),
                Err(CodeError::NotADate { what: RESIDENT_ID }),
                "{date}"
            );
        }
    }

    #[test]
    fn too_early() {
        assert!(parse(&complete("11010519000101001")).is_ok());
        assert_eq!(
            parse(&complete("11010518991231001")),
            Err(CodeError::TooEarly {
                what: RESIDENT_ID,
                earliest: EARLIEST
            })
        );
    }

    #[test]
    fn future_birth_dates() {
        assert!(parse(&complete("11010520250601001")).is_ok());
        assert_eq!(
            parse(&complete("11010520250602001")),
            Err(CodeError::InTheFuture {
                what: RESIDENT_ID,
                today: TODAY
            })
        );
        assert!(matches!(
            parse(&complete("11010599991231001")),
            Err(CodeError::InTheFuture { .. })
        ));
        // FromStr uses the real date.
        assert!(matches!(
            complete("11010599991231001").parse::<ResidentId>(),
            Err(CodeError::InTheFuture { .. })
        ));
    }

    #[test]
    fn today_is_china_standard_time() {
        let now = OffsetDateTime::now_utc();
        let today = today_in_china();
        assert!(today == now.date() || today == now.date().next_day().unwrap());
    }

    #[test]
    fn serde_is_the_full_string() {
        let id = parse("11010519491231002X").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"11010519491231002X\"");
        assert_eq!(serde_json::from_str::<ResidentId>(&json).unwrap(), id);
        let err =
            serde_json::from_str::<ResidentId>(&format!("\"{BAD_CHECK_EXAMPLE}\"")).unwrap_err();
        assert!(
            err.to_string()
                .contains("check character is '6' but should be '7'")
        );
        assert!(!err.to_string().contains(BAD_CHECK_EXAMPLE));
    }

    /// 17 digits with a province prefix and a birth date between 1900 and TODAY.
    fn body() -> impl Strategy<Value = String> {
        let provinces: Vec<u8> = (0..100)
            .filter(|&n| super::super::region::is_province(n))
            .collect();
        (
            proptest::sample::select(provinces),
            0u32..10_000,
            0i32..(TODAY - EARLIEST).whole_days() as i32,
            0u32..1000,
        )
            .prop_map(|(province, rest, days, seq)| {
                let birth = EARLIEST + time::Duration::days(i64::from(days));
                format!(
                    "{province:02}{rest:04}{:04}{:02}{:02}{seq:03}",
                    birth.year(),
                    u8::from(birth.month()),
                    birth.day()
                )
            })
    }

    proptest! {
        #[test]
        fn computed_check_is_valid_and_any_other_is_refused(
            body in body(),
        ) {
            let id = parse(&complete(&body)).unwrap();
            prop_assert_eq!(parse(&id.to_string()).unwrap(), id.clone());
            let right = id.as_str().chars().last().unwrap();
            for other in "0123456789Xx".chars().filter(|c| c.to_ascii_uppercase() != right) {
                prop_assert_eq!(
                    parse(&format!("{body}{other}")),
                    Err(CodeError::BadCheckCharacter {
                        what: RESIDENT_ID,
                        expected: right,
                        found: other.to_ascii_uppercase()
                    })
                );
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            let _ = parse(&s);
        }

        #[test]
        fn parse_never_panics_near_valid(s in "[0-9Xx一]{14,19}") {
            if let Ok(id) = parse(&s) {
                prop_assert_eq!(id.to_string(), s.to_ascii_uppercase());
            }
        }
    }
}
