//! The times in seals and signatures: ASN.1 UTCTime and GeneralizedTime, and the time texts
//! GM/T 0031 vendors write.

use der::asn1::AnyRef;
use der::{Decode, Tag, Tagged};

use super::{SesError, SesTime, malformed_msg};

/// The offset of China Standard Time, assumed for GM/T 0031 time texts that name no zone.
const CHINA_OFFSET_SECONDS: i32 = 8 * 3600;

/// A UTCTime or GeneralizedTime.
pub(super) fn asn1_time(any: AnyRef<'_>, what: &'static str) -> Result<SesTime, SesError> {
    let text = std::str::from_utf8(any.value())
        .map_err(|_| malformed_msg(what, "the time is not text"))?;
    let unix = match any.tag() {
        Tag::GeneralizedTime => parse_generalized(text),
        Tag::UtcTime => parse_utc(text),
        other => {
            return Err(malformed_msg(
                what,
                format!("expected a GeneralizedTime or UTCTime, found {other}"),
            ));
        }
    }
    .ok_or_else(|| malformed_msg(what, format!("unreadable time {text:?}")))?;
    Ok(SesTime {
        unix,
        text: text.to_owned(),
    })
}

/// Reads `n` ASCII digits from the front of `s`.
fn take_digits(s: &mut &str, n: usize) -> Option<u32> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    *s = &s[n..];
    head.parse().ok()
}

/// `Z`, `+HHMM` or `-HHMM` at the end of a time text: the offset in seconds.
fn zone(s: &str) -> Option<i32> {
    match s.as_bytes().first() {
        Some(b'Z') if s.len() == 1 => Some(0),
        Some(sign @ (b'+' | b'-')) if s.len() == 5 => {
            let mut rest = &s[1..];
            let h = take_digits(&mut rest, 2)? as i32;
            let m = take_digits(&mut rest, 2)? as i32;
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            Some(if *sign == b'-' { -off } else { off })
        }
        _ => None,
    }
}

fn unix_of(
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    offset: i32,
) -> Option<i64> {
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
    let t = time::Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    let off = time::UtcOffset::from_whole_seconds(offset).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, t)
            .assume_offset(off)
            .unix_timestamp(),
    )
}

/// `YYYYMMDDHHMMSS[.fff]` then `Z` or `±HHMM` (fractions of a second are dropped).
pub(super) fn parse_generalized(text: &str) -> Option<i64> {
    let mut s = text;
    let year = take_digits(&mut s, 4)? as i32;
    let month = take_digits(&mut s, 2)?;
    let day = take_digits(&mut s, 2)?;
    let hour = take_digits(&mut s, 2)?;
    let minute = take_digits(&mut s, 2)?;
    let second = take_digits(&mut s, 2)?;
    if let Some(rest) = s.strip_prefix(['.', ',']) {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        s = &rest[n..];
    }
    unix_of(year, month, day, hour, minute, second, zone(s)?)
}

/// `YYMMDDHHMM[SS]` then `Z` or `±HHMM`; years 50-99 are 19xx (RFC 5280).
pub(super) fn parse_utc(text: &str) -> Option<i64> {
    let mut s = text;
    let yy = take_digits(&mut s, 2)? as i32;
    let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
    let month = take_digits(&mut s, 2)?;
    let day = take_digits(&mut s, 2)?;
    let hour = take_digits(&mut s, 2)?;
    let minute = take_digits(&mut s, 2)?;
    let second = if s.starts_with(|c: char| c.is_ascii_digit()) {
        take_digits(&mut s, 2)?
    } else {
        0
    };
    unix_of(year, month, day, hour, minute, second, zone(s)?)
}

/// `YYYY-MM-DD HH:MM:SS`, China Standard Time (what GM/T 0031 signers such as ofdrw write).
pub(super) fn parse_dashed_local(text: &str) -> Option<i64> {
    let mut s = text;
    let year = take_digits(&mut s, 4)? as i32;
    s = s.strip_prefix('-')?;
    let month = take_digits(&mut s, 2)?;
    s = s.strip_prefix('-')?;
    let day = take_digits(&mut s, 2)?;
    s = s.strip_prefix(' ')?;
    let hour = take_digits(&mut s, 2)?;
    s = s.strip_prefix(':')?;
    let minute = take_digits(&mut s, 2)?;
    s = s.strip_prefix(':')?;
    let second = take_digits(&mut s, 2)?;
    if !s.is_empty() {
        return None;
    }
    unix_of(year, month, day, hour, minute, second, CHINA_OFFSET_SECONDS)
}

/// GM/T 0031 `timeInfo`: the content of its BIT STRING is a DER UTCTime or GeneralizedTime,
/// or the time as text (`YYMMDDHHMMSSZ`, `YYYYMMDDHHMMSSZ`, or `YYYY-MM-DD HH:MM:SS` in
/// China Standard Time).
pub(super) fn gmt0031_time(content: &[u8]) -> Result<SesTime, SesError> {
    const WHAT: &str = "TBS_Sign.timeInfo";
    if let Ok(any) = AnyRef::from_der(content)
        && matches!(any.tag(), Tag::UtcTime | Tag::GeneralizedTime)
    {
        return asn1_time(any, WHAT);
    }
    let text = std::str::from_utf8(content).map_err(|_| {
        malformed_msg(
            WHAT,
            "neither a DER time nor a time text (a timestamp token is not read)",
        )
    })?;
    let unix = parse_dashed_local(text)
        .or_else(|| parse_generalized(text))
        .or_else(|| parse_utc(text))
        .ok_or_else(|| malformed_msg(WHAT, format!("unreadable time {text:?}")))?;
    Ok(SesTime {
        unix,
        text: text.to_owned(),
    })
}
