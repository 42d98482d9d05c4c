//! Finding holder codes in text however they are written, and the rules for free text.
//!
//! A 居民身份证号 or a 统一社会信用代码 can reach a message, a log line or an audit entry in
//! disguise: full-width digits (`１１０１…`), spaces, hyphens or dots between the digits,
//! zero-width characters, Chinese numerals (`一一〇一〇五…`, `壹贰…`), percent-encoding
//! (`%31%31…`, also of full-width digits). [`redact_keyed`] reads text the way a person would:
//!
//! 1. each character is normalised on its own with Unicode NFKC (`１` is `1`, `①` is `1`,
//!    U+3000 is a space), keeping the byte span of the character it came from;
//! 2. percent-encoding (`%XX`, any case, repeated: `%2531` is `%31` is `1`) is decoded as
//!    UTF-8, each decoded character spanning all the `%XX` it came from, and normalised again;
//! 3. Chinese numerals (`〇 零 ○ 一 壹 幺 二 贰 貳 两 兩 三 叁 參 四 肆 五 伍 六 陆 陸 七 柒 八 捌
//!    九 玖`) and the decimal digits of other scripts count as digits; ASCII letters (any case)
//!    count as letters;
//! 4. *separators* are skipped: every Unicode white space, hyphens and dashes (`-`, U+2010 to
//!    U+2015, U+2212 minus, `~`, U+301C…), dots and points (`.`, `·`, `•`, `・`, `。`…), `_`,
//!    `/`, `\`, `,`, `、`, `+`, `'`, combining marks, control characters, and every format (Cf)
//!    or otherwise invisible character (zero width space, joiners, bidirectional controls…);
//! 5. anything else (other punctuation such as `:` `=` `&` `"` `<` `(`, other letters, CJK
//!    text) ends a run.
//!
//! On that reading:
//!
//! - a run of 15 or more digits and `X`s (separators inside allowed) has the shape of a
//!   resident ID (old or new): each 18 characters of it that parse as a [`ResidentId`] are
//!   replaced by the holder's token; what is left of the run, where it is still 15 or more
//!   characters long, by `<redacted>`;
//! - 18 letters and digits with no letter or digit directly before or after them (a separator
//!   or the end of a run is fine) with the shape of a [`Uscc`] and the right check character
//!   are replaced by the holder's token when they parse as a [`Uscc`], by `<redacted>` if not;
//! - the replacement covers the whole disguised span in the original text, separators, escapes
//!   and invisible characters inside it included.
//!
//! A holder's token is `<holder:` + the keyed hash the caller gives for the code (64
//! lower-case hex digits, [`HolderKey::holder_hash`](crate::audit::entry::HolderKey::holder_hash)
//! in the node) + `>`; without a key, and for a hash that is not 64 lower-case hex digits, it is
//! `<redacted>`. Tokens (`<holder:…>`, `<licence:…>`, `<redacted>`) and licence ids written
//! out whole in ASCII (GB/T 36904, with the right check character) are kept as they are,
//! unless the licence id's serial itself holds something redacted. The redaction is applied
//! until nothing changes, so redacting its output again changes nothing.
//!
//! Over-redaction is accepted: several numbers written with separators between them that add
//! up to 15 digits are redacted as one.

use std::str::FromStr as _;

mod chars;
mod free_text;
mod scan;

use chars::is_separator;
pub use free_text::{TextFault, check_chars, check_free_text, make_visible};
use scan::find_in_segment;

use super::HolderCode;
use super::licence_id::LicenceId;

/// What replaces an ID-shaped run that is not a valid code, and every code when there is no
/// key.
pub const REDACTED: &str = "<redacted>";

/// Start of a holder's token: `<holder:` + 64 lower-case hex digits + `>`.
pub const HOLDER_TOKEN_PREFIX: &str = "<holder:";

/// Start of a licence's token (a licence id whose serial is a personal code):
/// `<licence:` + 64 lower-case hex digits + `>`.
pub const LICENCE_TOKEN_PREFIX: &str = "<licence:";

/// Most passes of the redaction over one text before it gives up and redacts the text whole.
const MAX_PASSES: usize = 8;

/// Longest licence id looked for in text: the root (15), type code (21), issuer (18), a
/// serial of up to 32, version (3), check (1) and the dots.
const MAX_LICENCE_ID: usize = 15 + 21 + 1 + 18 + 1 + 32 + 1 + 3 + 1 + 1;

/// The fixed start of every licence id.
const LICENCE_ROOT: &str = "1.2.156.3005.2.";

/// Replaces every holder code and ID-shaped run found in `text` (see the module docs) with
/// `<redacted>`. For the keyed form, see [`redact_keyed`].
pub fn redact_id_numbers(text: &str) -> String {
    redact_keyed(text, &|_| String::new())
}

/// Replaces every holder code found in `text` (see the module docs) with its token:
/// `<holder:HASH>`, `HASH` being what `hash` gives for the code; an ID-shaped run that is no
/// valid code, and a code whose `hash` is not 64 lower-case hex digits, with `<redacted>`.
/// Redacting the result again changes nothing.
pub fn redact_keyed(text: &str, hash: &dyn Fn(&HolderCode) -> String) -> String {
    if cannot_hold_a_code(text) {
        return text.to_owned();
    }
    let mut current = text.to_owned();
    for _ in 0..MAX_PASSES {
        // Read with percent-encoding decoded, and as written: a `%` just before a code would
        // otherwise take its first two digits for an escape and hide it.
        let mut changed = false;
        for decode in [true, false] {
            if let Some(next) = pass(&current, decode, hash) {
                current = next;
                changed = true;
            }
        }
        if !changed {
            return current;
        }
    }
    // Every pass that changes something takes at least 15 digits or letters out, so this is
    // not reached; should it be, nothing of the text is kept.
    REDACTED.to_owned()
}

/// Whether `text` holds a valid holder code (a [`ResidentId`] or a [`Uscc`]), in any of the
/// disguises [`redact_keyed`] sees through; an ID-shaped run that is no valid code does not
/// count.
pub fn holds_holder_codes(text: &str) -> bool {
    let marker = "0".repeat(64);
    let redacted = redact_keyed(text, &|_| marker.clone());
    redacted.matches(HOLDER_TOKEN_PREFIX).count() > text.matches(HOLDER_TOKEN_PREFIX).count()
}

/// Whether `text` holds anything [`redact_id_numbers`] would replace.
pub fn holds_id_numbers(text: &str) -> bool {
    [true, false]
        .into_iter()
        .any(|decode| pass(text, decode, &|_| String::new()).is_some())
}

/// One pass over `text`, with percent-encoding decoded or not: `None` when nothing is found,
/// else the text with what was found replaced.
fn pass(text: &str, decode: bool, hash: &dyn Fn(&HolderCode) -> String) -> Option<String> {
    // Every code has digits in it; a text of ASCII with no digit and no `%` has none.
    if !text
        .bytes()
        .any(|b| b.is_ascii_digit() || b == b'%' || !b.is_ascii())
    {
        return None;
    }
    let mut found = Vec::new();
    let mut pos = 0;
    for (start, end) in protected_spans(text)
        .into_iter()
        .chain(std::iter::once((text.len(), text.len())))
    {
        if pos < start {
            let edges = Edges {
                after_kept: pos > 0,
                before_kept: start < text.len(),
            };
            find_in_segment(text, (pos, start), edges, decode, hash, &mut found);
        }
        pos = end;
    }
    if found.is_empty() {
        return None;
    }
    found.sort_by_key(|f| f.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        // Two finds overlap only where one character reads as several (NFKC of `㉑` is
        // `21`): both are replaced, and the character shared with them.
        out.push_str(text.get(at..f.start.max(at)).unwrap_or(""));
        out.push_str(&f.with);
        at = at.max(f.end);
    }
    out.push_str(text.get(at..).unwrap_or(""));
    Some(out)
}

/// A span of the original text to replace.
struct Found {
    start: usize,
    end: usize,
    with: String,
}

/// Whether a segment of free text touches a kept span (a token or a licence id) directly.
#[derive(Clone, Copy)]
struct Edges {
    after_kept: bool,
    before_kept: bool,
}

/// The spans of `text` kept as they are: tokens, and licence ids written out whole whose
/// serial holds nothing to redact. Sorted, not overlapping.
fn protected_spans(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let rest = text.get(i..).unwrap_or("");
        if b[i] == b'<'
            && let Some(len) = token_len(rest)
        {
            out.push((i, i + len));
            i += len;
            continue;
        }
        if b[i] == b'1'
            && rest.starts_with(LICENCE_ROOT)
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.'))
            && let Some(len) = licence_len(rest)
        {
            out.push((i, i + len));
            i += len;
            continue;
        }
        i += 1;
    }
    out
}

/// Length of the token `s` starts with, if it does.
fn token_len(s: &str) -> Option<usize> {
    if s.starts_with(REDACTED) {
        return Some(REDACTED.len());
    }
    for prefix in [HOLDER_TOKEN_PREFIX, LICENCE_TOKEN_PREFIX] {
        if let Some(rest) = s.strip_prefix(prefix)
            && rest.get(..64).is_some_and(is_hex64)
            && rest.as_bytes().get(64) == Some(&b'>')
        {
            return Some(prefix.len() + 65);
        }
    }
    None
}

/// Length of the licence id `s` starts with, if it does and its serial holds nothing to
/// redact.
fn licence_len(s: &str) -> Option<usize> {
    let run = s
        .bytes()
        .take(MAX_LICENCE_ID + 1)
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'.')
        .count();
    let b = s.as_bytes();
    (LICENCE_ROOT.len() + 2..=run)
        .rev()
        .filter(|&end| b[end - 2] == b'.' && b[end - 1].is_ascii_alphanumeric())
        .find_map(|end| {
            let id = LicenceId::from_str(s.get(..end)?).ok()?;
            (!holds_id_numbers(id.serial())).then_some(end)
        })
}

/// Whether `s` is 64 lower-case hex digits.
pub(crate) fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `text` is too plain to hold a holder code, in any disguise: every code has at least
/// six decimal digits (a credit code's region, and a resident ID's), and plain ASCII without `%`
/// has no other way to write one. Most strings of an entry (methods, paths, outcome codes) are
/// such text, and skip the full reading.
fn cannot_hold_a_code(text: &str) -> bool {
    text.is_ascii() && !text.contains('%') && !ascii_has_code_shape(text)
}

/// Whether ASCII `text` with no `%` has a stretch that [`scan_run`] could take for a code: 15
/// or more digits and `X`s in a row (separators skipped), or 18 letters and digits with no
/// letter or digit glued to either end. Kept spans only split runs and glue their edges, so
/// what the full reading finds in such text is found here first; without a stretch (a hex
/// digest, a path, most messages) the text is left as it is without being read character by
/// character.
fn ascii_has_code_shape(text: &str) -> bool {
    // For the current run: its units' glue (directly after the previous unit), and the
    // current streak of digits and `X`s.
    let mut glued_units: Vec<bool> = Vec::new();
    let mut streak = 0usize;
    let mut glued = false;
    let uscc_window = |units: &[bool]| {
        (0..units.len().saturating_sub(17))
            .any(|i| !units[i] && units.get(i + 18).is_none_or(|g| !*g))
    };
    for b in text.bytes() {
        let c = char::from(b);
        if c.is_ascii_alphanumeric() {
            glued_units.push(glued);
            glued = true;
            if c.is_ascii_digit() || c == 'X' || c == 'x' {
                streak += 1;
                if streak >= 15 {
                    return true;
                }
            } else {
                streak = 0;
            }
        } else if is_separator(c) {
            glued = false;
        } else {
            if uscc_window(&glued_units) {
                return true;
            }
            glued_units.clear();
            streak = 0;
            glued = false;
        }
    }
    uscc_window(&glued_units)
}

#[cfg(test)]
mod tests {

    #![allow(clippy::unwrap_used, clippy::expect_used)]
    //! `11010519491231002X` is the example number printed in GB 11643 itself, nobody's;
    //! `91110000600037341L` is a credit code from the domain notes' examples.
    use super::chars::{Kind, classify, read_chars};
    use super::*;
    use crate::audit::entry::HolderKey;
    use crate::codes::{HolderType, Uscc};
    use proptest::prelude::*;

    const EXAMPLE_ID: &str = "11010519491231002X";
    const EXAMPLE_USCC: &str = "91110000600037341L";

    fn key() -> HolderKey {
        HolderKey::from_bytes(&[7; 32])
    }

    fn person_token(k: &HolderKey) -> String {
        let code = HolderCode::parse(HolderType::Person, EXAMPLE_ID).unwrap();
        format!("<holder:{}>", k.holder_hash(&code).as_str())
    }

    fn org_token(k: &HolderKey) -> String {
        let code = HolderCode::parse(HolderType::Organisation, EXAMPLE_USCC).unwrap();
        format!("<holder:{}>", k.holder_hash(&code).as_str())
    }

    /// The example number in each disguise, with what surrounds it.
    fn disguises() -> Vec<(&'static str, String)> {
        vec![
            ("plain", EXAMPLE_ID.to_owned()),
            ("lower-case x", "11010519491231002x".to_owned()),
            (
                "full-width",
                "１１０１０５１９４９１２３１００２Ｘ".to_owned(),
            ),
            (
                "ideographic spaces",
                "110105\u{3000}19491231\u{3000}002X".to_owned(),
            ),
            ("spaces", "110105 1949 1231 002X".to_owned()),
            (
                "no-break spaces",
                "110105\u{A0}19491231\u{202F}002X".to_owned(),
            ),
            ("hyphens", "110105-19491231-002X".to_owned()),
            ("dashes", "110105\u{2013}19491231\u{2212}002X".to_owned()),
            ("dots", "110.105.1949.1231.002.X".to_owned()),
            (
                "underscores and slashes",
                "110105_1949/1231_002X".to_owned(),
            ),
            (
                "zero-width",
                "1101\u{200B}0519491231\u{200D}002\u{FEFF}X".to_owned(),
            ),
            (
                "bidi controls",
                "110105\u{202E}19491231\u{2066}002X".to_owned(),
            ),
            (
                "combining marks",
                "1\u{0332}10105194912310\u{0301}02X".to_owned(),
            ),
            (
                "Chinese numerals",
                "一一〇一〇五一九四九一二三一〇〇二X".to_owned(),
            ),
            (
                "零 for zero",
                "一一零一零五一九四九一二三一零零二X".to_owned(),
            ),
            (
                "financial numerals",
                "壹壹零壹零伍壹玖肆玖壹贰叁壹零零贰X".to_owned(),
            ),
            (
                "percent-encoded",
                "%31%31%30%31%30%35%31%39%34%39%31%32%33%31%30%30%32%58".to_owned(),
            ),
            (
                "percent-encoded full-width",
                "%EF%BC%91%ef%bc%91010519491231002X".to_owned(),
            ),
            (
                "percent-encoded twice",
                "%2531%2531010519491231002X".to_owned(),
            ),
            ("circled and superscript", "①¹0105194912310０2X".to_owned()),
            ("Devanagari digits", "११०१०५19491231002X".to_owned()),
            (
                "mixed",
                "１1〇-1０5 %31９4九 \u{200B}12·31 零0%32 x".to_owned(),
            ),
        ]
    }

    #[test]
    fn each_disguise_is_found_whole_and_replaced_by_the_holders_token() {
        let k = key();
        let token = person_token(&k);
        for (name, code) in disguises() {
            let text = format!("核验 {code} 的证照");
            assert_eq!(
                redact_id_numbers(&text),
                "核验 <redacted> 的证照",
                "{name}: {text}"
            );
            assert_eq!(
                k.redact(&text),
                format!("核验 {token} 的证照"),
                "{name}: {text}"
            );
            // Glued to the text around it, too.
            let glued = format!("号码{code}。");
            assert_eq!(
                k.redact(&glued),
                format!("号码{token}。"),
                "{name}: {glued}"
            );
        }
    }

    #[test]
    fn a_credit_code_in_disguise_is_found_and_replaced() {
        let k = key();
        let token = org_token(&k);
        for code in [
            EXAMPLE_USCC,
            "91110000600037341l",
            "９１１１００００６０００３７３４１Ｌ",
            "9111 0000 6000 3734 1L",
            "91110000-60003734-1L",
            "9111\u{200B}0000600037341\u{2060}L",
            "%39%31%31%31%30%30%30%30%36%30%30%30%33%37%33%34%31%4C",
            "九一一一〇〇〇〇六〇〇〇三七三四一L",
        ] {
            let text = format!("holder: {code}, ok");
            assert_eq!(k.redact(&text), format!("holder: {token}, ok"), "{text}");
            assert_eq!(redact_id_numbers(&text), "holder: <redacted>, ok", "{text}");
        }
    }

    #[test]
    fn the_same_code_gets_the_same_token_everywhere_and_it_is_the_holder_hash() {
        let k = key();
        let found: Vec<String> = disguises()
            .iter()
            .map(|(_, code)| {
                let out = k.redact(code);
                assert!(out.starts_with("<holder:"), "{code} -> {out}");
                out
            })
            .collect();
        assert!(found.iter().all(|t| *t == found[0]));
        assert_eq!(found[0], person_token(&k));
        // Another key, another token: the token is keyed.
        assert_ne!(HolderKey::from_bytes(&[8; 32]).redact(EXAMPLE_ID), found[0]);
    }

    #[test]
    fn an_id_shaped_run_that_is_no_valid_code_is_redacted() {
        for text in [
            // GB 11643's example with a wrong check digit.
            "110105 1949 1231 0021",
            "１１０１０５１９４９１２３１００２１",
            // The old 15-digit form.
            "110105-491231-002",
            // A birth date in the future.
            "110105 2999 1231 0021",
            "一二三四五六七八九〇一二三四五",
        ] {
            assert_eq!(key().redact(text), REDACTED, "{text}");
        }
        // A credit code's shape with its check right is redacted, whether or not the
        // organisation code inside it checks.
        let body = "91110108MA01ABCD2";
        let right = super::super::check::uscc_check(body).unwrap();
        assert_eq!(redact_id_numbers(&format!("{body}{right}")), REDACTED);
    }

    #[test]
    fn two_codes_in_one_run_and_what_is_left_around_them() {
        let k = key();
        let t = person_token(&k);
        assert_eq!(
            k.redact(&format!("{EXAMPLE_ID}{EXAMPLE_ID}")),
            format!("{t}{t}")
        );
        // A short number glued in front is no part of the code and stays.
        assert_eq!(k.redact("第1 11010519491231002X"), format!("第1 {t}"));
        // What is left is still 15 long: redacted too.
        assert_eq!(
            k.redact("123456789012345 11010519491231002X"),
            format!("<redacted> {t}")
        );
    }

    #[test]
    fn what_is_kept() {
        for text in [
            "line 12 column 345",
            "2026-11-21 08:30:00.123",
            "2026-11-21T08:30:00.123Z",
            "127.0.0.1:8443",
            "138-1234-5678",
            "version 0.1.0",
            "营业执照",
            "",
            // A licence id written out whole, in a path.
            "/v1/licences/1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F/status",
            "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
            // Hashes: no digit run of 15.
            "d9daba42b230e1901c9b5f9008131aefbff23cfe4e2946949b4b292e4ffb7923",
            "%E6%A0%B8%E9%AA%8C",
        ] {
            assert_eq!(redact_id_numbers(text), text, "{text}");
            assert_eq!(key().redact(text), text, "{text}");
        }
    }

    #[test]
    fn a_licence_id_whose_serial_is_an_id_number_is_not_kept() {
        let id = LicenceId::new(
            "11100000000013338W032".parse().unwrap(),
            "11220000013544541J".parse().unwrap(),
            EXAMPLE_ID,
            1,
        )
        .unwrap();
        let text = format!("/v1/licences/{id}/status");
        let out = key().redact(&text);
        assert!(!out.contains(EXAMPLE_ID), "{out}");
        assert!(out.contains(&person_token(&key())), "{out}");
        assert!(!redact_id_numbers(&text).contains(EXAMPLE_ID));
    }

    #[test]
    fn tokens_survive_another_pass() {
        let k = key();
        let text =
            format!("a {EXAMPLE_ID} b ９１１１００００６０００３７３４１Ｌ c 110105194912310021");
        let once = k.redact(&text);
        assert_eq!(k.redact(&once), once);
        assert_eq!(redact_id_numbers(&once), once);
        // A token whose hash is all digits (64 of them) is still a token.
        let digits = "1234567890".repeat(7)[..64].to_owned();
        let all_digits = redact_keyed(EXAMPLE_ID, &|_| digits.clone());
        assert_eq!(all_digits, format!("<holder:{digits}>"));
        assert_eq!(redact_id_numbers(&all_digits), all_digits);
        // Codes glued to tokens on either side.
        let glued = format!("{once}{EXAMPLE_USCC}{once}");
        let again = k.redact(&glued);
        assert_eq!(k.redact(&again), again);
        assert_eq!(make_visible(&again), again);
    }

    #[test]
    fn a_hash_that_is_not_hex_gives_redacted() {
        assert_eq!(redact_keyed(EXAMPLE_ID, &|_| "nope".into()), REDACTED);
        assert_eq!(redact_keyed(EXAMPLE_ID, &|_| "AB".repeat(32)), REDACTED);
    }

    #[test]
    fn free_text_faults_are_named() {
        let check = |s: &str| check_free_text(s, 10);
        assert_eq!(check("核验营业执照"), Ok(()));
        assert_eq!(check(""), Err(TextFault::Empty));
        assert_eq!(check(" \u{3000}\t"), Err(TextFault::Empty));
        assert_eq!(
            check("12345678901"),
            Err(TextFault::TooLong { max: 10, found: 11 })
        );
        for (s, fault) in [
            (
                "a\nb",
                TextFault::LineBreak {
                    position: 2,
                    found: '\n',
                },
            ),
            (
                "a\u{85}b",
                TextFault::LineBreak {
                    position: 2,
                    found: '\u{85}',
                },
            ),
            (
                "a\u{2028}b",
                TextFault::LineBreak {
                    position: 2,
                    found: '\u{2028}',
                },
            ),
            (
                "ab\u{2029}",
                TextFault::LineBreak {
                    position: 3,
                    found: '\u{2029}',
                },
            ),
            (
                "a\u{7}b",
                TextFault::Control {
                    position: 2,
                    found: '\u{7}',
                },
            ),
            (
                "a\u{9F}b",
                TextFault::Control {
                    position: 2,
                    found: '\u{9F}',
                },
            ),
            (
                "a\u{202E}b",
                TextFault::Bidi {
                    position: 2,
                    found: '\u{202E}',
                },
            ),
            (
                "a\u{2067}b",
                TextFault::Bidi {
                    position: 2,
                    found: '\u{2067}',
                },
            ),
            (
                "a\u{200F}b",
                TextFault::Bidi {
                    position: 2,
                    found: '\u{200F}',
                },
            ),
            (
                "a\u{61C}b",
                TextFault::Bidi {
                    position: 2,
                    found: '\u{61C}',
                },
            ),
            (
                "a\u{200B}b",
                TextFault::Invisible {
                    position: 2,
                    found: '\u{200B}',
                },
            ),
            (
                "a\u{2060}b",
                TextFault::Invisible {
                    position: 2,
                    found: '\u{2060}',
                },
            ),
            (
                "a\u{FEFF}b",
                TextFault::Invisible {
                    position: 2,
                    found: '\u{FEFF}',
                },
            ),
            (
                "a\u{AD}b",
                TextFault::Invisible {
                    position: 2,
                    found: '\u{AD}',
                },
            ),
            (
                "a\u{E0041}b",
                TextFault::Invisible {
                    position: 2,
                    found: '\u{E0041}',
                },
            ),
            (
                "a\u{FE0F}b",
                TextFault::Invisible {
                    position: 2,
                    found: '\u{FE0F}',
                },
            ),
            (
                "a\u{FFFF}b",
                TextFault::Unassigned {
                    position: 2,
                    found: '\u{FFFF}',
                },
            ),
            (
                "a\u{E000}b",
                TextFault::Unassigned {
                    position: 2,
                    found: '\u{E000}',
                },
            ),
        ] {
            assert_eq!(check(s), Err(fault), "{s:?}");
        }
        assert_eq!(
            TextFault::Bidi {
                position: 2,
                found: '\u{202E}'
            }
            .to_string(),
            "contains a bidirectional control character (U+202E) at character 2"
        );
        assert_eq!(
            TextFault::LineBreak {
                position: 4,
                found: '\u{2028}'
            }
            .to_string(),
            "contains a line break (U+2028) at character 4; it must be one line"
        );
    }

    #[test]
    fn make_visible_writes_out_what_readers_misread() {
        assert_eq!(
            make_visible("a\u{2028}b\u{202E}c\u{200B}"),
            "a<U+2028>b<U+202E>c<U+200B>"
        );
        assert_eq!(
            make_visible("tab\tand\nnewline 核验"),
            "tab\tand\nnewline 核验"
        );
    }

    /// The text as the redaction reads it, with percent-encoding decoded or not: digits and
    /// upper-case letters, `|` for anything that ends a run (tokens included), separators
    /// dropped.
    fn reading(text: &str, decode: bool) -> String {
        let mut out = String::new();
        let mut pos = 0;
        for (start, end) in protected_spans(text)
            .into_iter()
            .chain(std::iter::once((text.len(), text.len())))
        {
            for (c, _, _) in read_chars(&text[pos..start], pos, decode) {
                match classify(c) {
                    Kind::Digit(d) => out.push(char::from(b'0' + d)),
                    Kind::Letter(l) => out.push(char::from(l)),
                    Kind::Skip => {}
                    Kind::Break | Kind::Kept => out.push('|'),
                }
            }
            out.push('|');
            pos = end;
        }
        out
    }

    /// Whether 15 consecutive characters of `code` can be read in `text`.
    fn survives(code: &str, text: &str) -> bool {
        let code = code.to_ascii_uppercase();
        [true, false].into_iter().any(|decode| {
            let r = reading(text, decode);
            (0..=code.len() - 15).any(|i| r.contains(&code[i..i + 15]))
        })
    }

    /// A valid resident ID number: a region, a birth date from 1900 to 2020, a sequence, and
    /// its check character.
    fn resident_id() -> impl Strategy<Value = String> {
        (
            proptest::sample::select(vec![
                "110105", "370900", "370125", "140802", "370306", "440305", "510104", "650102",
            ]),
            1900u32..=2020,
            1u32..=12,
            1u32..=28,
            0u32..1000,
        )
            .prop_map(|(region, y, m, d, seq)| {
                let body = format!("{region}{y:04}{m:02}{d:02}{seq:03}");
                let check = super::super::check::resident_id_check(&body).unwrap();
                format!("{body}{check}")
            })
    }

    /// A valid credit code: any registering authority, type and region digits, and an
    /// organisation code with its own check character, completed with the GB 32100 check.
    fn credit_code() -> impl Strategy<Value = String> {
        let alphabet: Vec<char> = super::super::check::USCC_ALPHABET.chars().collect();
        (
            proptest::collection::vec(proptest::sample::select(alphabet.clone()), 2),
            0u32..1_000_000,
            proptest::collection::vec(proptest::sample::select(alphabet), 8),
        )
            .prop_map(|(head, region, org)| {
                let org: String = org.into_iter().collect();
                let check = super::super::check::org_code_check(&org).unwrap();
                let body = format!("{}{region:06}{org}{check}", head.iter().collect::<String>());
                Uscc::from_body(&body).unwrap().as_str().to_owned()
            })
    }

    const SEPARATORS: [&str; 16] = [
        "", "", "", " ", "\u{3000}", "-", "\u{2014}", ".", "\u{200B}", "\u{200D}", "\u{FEFF}",
        "\u{202E}", "_", "/", "\u{B7}", "%20",
    ];

    /// `c` written in style `style`.
    fn disguise_char(c: char, style: u8) -> String {
        const NUMERALS: [&str; 10] = ["〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
        const FINANCIAL: [&str; 10] = ["零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"];
        if let Some(d) = c.to_digit(10) {
            let d = d as usize;
            let full = char::from_u32(0xFF10 + d as u32).unwrap();
            match style {
                1 => full.to_string(),
                2 => NUMERALS[d].to_owned(),
                3 => FINANCIAL[d].to_owned(),
                4 => format!("%3{d}"),
                5 => format!("%EF%BC%9{d}"),
                6 => char::from_u32(0x0966 + d as u32).unwrap().to_string(),
                7 => format!("%253{d}"),
                8 if d == 0 => "⓪".to_owned(),
                8 => char::from_u32(0x2460 + d as u32 - 1).unwrap().to_string(),
                _ => c.to_string(),
            }
        } else {
            let full = char::from_u32(0xFF21 + (c as u32 - 'A' as u32)).unwrap();
            match style {
                1 => full.to_string(),
                2 | 3 => c.to_ascii_lowercase().to_string(),
                4 => format!("%{:02X}", c as u32),
                5 => format!("%{:02x}", c as u32),
                _ => c.to_string(),
            }
        }
    }

    fn disguise(code: &str, styles: &[(u8, u8)]) -> String {
        code.chars()
            .zip(styles)
            .enumerate()
            .map(|(i, (c, (style, sep)))| {
                let sep = if i == 0 {
                    ""
                } else {
                    SEPARATORS[*sep as usize % SEPARATORS.len()]
                };
                format!("{sep}{}", disguise_char(c, *style))
            })
            .collect()
    }

    fn filler() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 核验的证照号码=&%/.-]{0,12}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn no_disguised_code_survives_redaction_or_an_entry(
            person in resident_id(),
            org in credit_code(),
            use_org in any::<bool>(),
            styles in proptest::collection::vec((0u8..10, 0u8..32), 18),
            before in filler(),
            after in filler(),
            edges in proptest::sample::select(vec![(":", "："), ("的", "号"), ("\"", "("), ("=", "&")]),
        ) {
            let code = if use_org { org.clone() } else { person.clone() };
            let holder = if use_org {
                HolderCode::parse(HolderType::Organisation, &org).unwrap()
            } else {
                HolderCode::parse(HolderType::Person, &person).unwrap()
            };
            let text = format!("{before}{}{}{}{after}", edges.0, disguise(&code, &styles), edges.1);
            let k = key();
            let token = format!("<holder:{}>", k.holder_hash(&holder).as_str());

            let plain = redact_id_numbers(&text);
            prop_assert!(!survives(&code, &plain), "{text:?} -> {plain:?}");
            let keyed = k.redact(&text);
            prop_assert!(!survives(&code, &keyed), "{text:?} -> {keyed:?}");
            prop_assert!(keyed.contains(&token), "{text:?} -> {keyed:?}");
            // Redacting again changes nothing, with the key or without.
            prop_assert_eq!(&k.redact(&keyed), &keyed);
            prop_assert_eq!(&redact_id_numbers(&keyed), &keyed);
            prop_assert_eq!(&redact_id_numbers(&plain), &plain);

            // In an entry: as a detail string and member name, and as the purpose when the
            // free-text rules let it in.
            let mut draft = crate::audit::entry::EntryDraft::new(
                crate::audit::entry::Actor::named("370900-window"),
                crate::audit::entry::Action::LicenceVerify,
                "ok",
            );
            draft.detail.insert("path".into(), text.clone().into());
            draft.detail.insert(text.clone(), 1.into());
            if check_chars(&text).is_ok() && !text.is_empty() {
                draft.purpose = Some(text.clone());
            }
            let bytes = draft
                .prepare_keyed(Some(&k))
                .unwrap()
                .assemble(0, "2026-12-01T00:00:00.000Z")
                .unwrap();
            let written = String::from_utf8(bytes.clone()).unwrap();
            prop_assert!(!survives(&code, &written), "{written}");
            prop_assert!(written.contains(&token), "{written}");
            let back = crate::audit::entry::Entry::parse(&bytes).unwrap();
            prop_assert_eq!(back.to_bytes().unwrap(), bytes);
        }
    }

    proptest! {
        /// The ASCII shortcut never skips a text in which the full reading finds something:
        /// texts of digits, `X`, letters, separators and breaks, with whole codes and licence
        /// ids put in at random.
        #[test]
        fn the_ascii_shortcut_skips_only_what_the_reading_finds_nothing_in(
            parts in proptest::collection::vec(
                prop_oneof![
                    "[0-9]{1,20}",
                    "[0-9Xx]{1,18}",
                    "[0-9a-fA-Z]{1,70}",
                    "[ .\\-_/,+'~\t]{1,2}",
                    "[:=&\"<>(){}]{1,2}",
                    resident_id(),
                    credit_code(),
                    Just("1.2.156.3005.2.11100000000013338W.11370900MB1525566Q.33010519800101001X.001.2".to_owned()),
                    Just("<redacted>".to_owned()),
                ],
                0..12,
            ),
        ) {
            let text = parts.concat();
            if cannot_hold_a_code(&text) {
                prop_assert!(pass(&text, true, &|_| String::new()).is_none(), "{text:?}");
                prop_assert!(pass(&text, false, &|_| String::new()).is_none(), "{text:?}");
            }
        }
    }

    #[test]
    fn a_digest_skips_the_reading_and_code_shapes_do_not() {
        let digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert!(cannot_hold_a_code(digest));
        assert!(cannot_hold_a_code(&format!("sha256:{digest}")));
        // 15 digits and X in a row, separators between or not.
        assert!(!cannot_hold_a_code("ab 110105 194912 310 cd"));
        assert!(!cannot_hold_a_code("id=11010519491231002X&x=1"));
        // Few digits but 15 digits and `X`s: the reading redacts such a run, so it is read
        // (a count of digits alone let it through unread).
        assert!(!cannot_hold_a_code("X0xxX00XxXX00XX"));
        assert_eq!(redact_id_numbers("X0xxX00XxXX00XX"), REDACTED);
        // 18 letters and digits standing free.
        assert!(!cannot_hold_a_code("code 91370900MA3C4XYZ12 ok"));
        assert!(!cannot_hold_a_code("9137-0900-MA3C-4XYZ-12"));
        // 18 glued into a longer word: no credit code can stand there.
        assert!(cannot_hold_a_code("a91370900MA3C4XYZ12"));
        // A licence id is read (its serial may hold a code).
        assert!(!cannot_hold_a_code(
            "1.2.156.3005.2.11100000000013338W.11370900MB1525566Q.001.001.2"
        ));
    }

    #[test]
    fn plain_text_with_few_digits_skips_the_reading_and_codes_do_not() {
        assert!(cannot_hold_a_code("POST /v1/verify 1234"));
        // Six digits alone cannot be a code; fifteen in a row may be.
        assert!(cannot_hold_a_code("110105"));
        assert!(!cannot_hold_a_code("110105194912310"));
        assert!(!cannot_hold_a_code("%31"));
        assert!(!cannot_hold_a_code("１"));
        // The smallest disguise of a code still reaches the reading.
        assert_eq!(
            redact_id_numbers("11010519491231002X"),
            REDACTED,
            "a whole code is found"
        );
    }
}
