//! How redaction reads text: each character normalised (NFKC), percent-encoding decoded, and
//! every character classed as a digit, a letter, a separator or a break.

use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

/// How a character reads for redaction.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A digit, by its value.
    Digit(u8),
    /// An ASCII letter, upper case.
    Letter(u8),
    /// A kept span next to the segment: glues like a letter, is part of no code.
    Kept,
    /// A separator: skipped.
    Skip,
    /// Anything else: ends a run.
    Break,
}

/// The characters of `segment` as read: each normalised (NFKC) on its own, percent-encoding
/// decoded; each with the byte span (offset by `base`) of the original it came from.
pub(super) fn read_chars(segment: &str, base: usize, decode: bool) -> Vec<(char, usize, usize)> {
    let mut chars = Vec::with_capacity(segment.len());
    for (i, c) in segment.char_indices() {
        push_normalised(&mut chars, c, base + i, base + i + c.len_utf8());
    }
    if !decode {
        return chars;
    }
    // Decode again while something decodes (`%2531` is `%31` is `1`), a few times at most.
    for _ in 0..4 {
        match percent_decode(&chars) {
            Some(decoded) => chars = decoded,
            None => break,
        }
    }
    chars
}

fn push_normalised(out: &mut Vec<(char, usize, usize)>, c: char, start: usize, end: usize) {
    if c.is_ascii() {
        out.push((c, start, end));
    } else {
        out.extend(std::iter::once(c).nfkc().map(|n| (n, start, end)));
    }
}

/// `chars` with every `%XX` sequence that is UTF-8 decoded, or `None` if there is none.
fn percent_decode(chars: &[(char, usize, usize)]) -> Option<Vec<(char, usize, usize)>> {
    let hex_at = |i: usize| chars.get(i).and_then(|c| c.0.to_digit(16));
    let escape_at = |i: usize| -> Option<(u8, usize, usize)> {
        let (c, start, _) = *chars.get(i)?;
        if c != '%' {
            return None;
        }
        let value = hex_at(i + 1)? * 16 + hex_at(i + 2)?;
        Some((u8::try_from(value).ok()?, start, chars.get(i + 2)?.2))
    };
    if !chars.iter().any(|c| c.0 == '%') {
        return None;
    }
    let mut out = Vec::with_capacity(chars.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        let mut bytes = Vec::new();
        let mut j = i;
        while let Some(e) = escape_at(j) {
            bytes.push(e);
            j += 3;
        }
        if bytes.is_empty() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // Decode the escapes' bytes as UTF-8; a byte that starts no valid character stays
        // as the three characters it was written as.
        let mut k = 0;
        while k < bytes.len() {
            let decoded = (1..=4).find_map(|w| {
                let slice: Vec<u8> = bytes.get(k..k + w)?.iter().map(|b| b.0).collect();
                let c = std::str::from_utf8(&slice).ok()?.chars().next()?;
                Some((c, w))
            });
            match decoded {
                Some((c, w)) => {
                    push_normalised(&mut out, c, bytes[k].1, bytes[k + w - 1].2);
                    changed = true;
                    k += w;
                }
                None => {
                    let at = i + 3 * k;
                    out.extend_from_slice(chars.get(at..at + 3).unwrap_or(&[]));
                    k += 1;
                }
            }
        }
        i = j;
    }
    changed.then_some(out)
}

/// How `c` (already normalised) reads.
pub(super) fn classify(c: char) -> Kind {
    if c.is_ascii_digit() {
        return Kind::Digit(c as u8 - b'0');
    }
    if c.is_ascii_alphabetic() {
        return Kind::Letter(c.to_ascii_uppercase() as u8);
    }
    if let Some(d) = chinese_numeral(c).or_else(|| other_digit(c)) {
        return Kind::Digit(d);
    }
    if is_separator(c) {
        return Kind::Skip;
    }
    Kind::Break
}

/// The value of a Chinese numeral used as a digit.
fn chinese_numeral(c: char) -> Option<u8> {
    Some(match c {
        '〇' | '零' | '○' | '◯' => 0,
        '一' | '壹' | '幺' | '弌' => 1,
        '二' | '贰' | '貳' | '两' | '兩' | '弍' => 2,
        '三' | '叁' | '參' | '弎' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' | '陸' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

/// The zeros of decimal digit sets (general category Nd) that NFKC leaves as they are; each
/// set runs from its zero to nine.
const DIGIT_ZEROS: [u32; 52] = [
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11C50, 0x16A60, 0x16B50, 0x1E950,
];

/// The value of a decimal digit of another script.
fn other_digit(c: char) -> Option<u8> {
    let c = u32::from(c);
    DIGIT_ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&c))
        .and_then(|zero| u8::try_from(c - zero).ok())
}

/// Whether `c` (already normalised) is skipped between the characters of a code.
pub(super) fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || is_combining_mark(c)
        || is_format(c)
        || is_invisible(c)
        || is_noncharacter(c)
        || is_private_use(c)
        || matches!(
            c,
            '-' | '_'
                | '.'
                | '/'
                | '\\'
                | ','
                | '+'
                | '\''
                | '~'
                | '\u{00B7}'
                | '\u{2010}'..='\u{2015}'
                | '\u{2022}'
                | '\u{2024}'..='\u{2027}'
                | '\u{2043}'
                | '\u{2212}'
                | '\u{2219}'
                | '\u{22C5}'
                | '\u{2E3A}'
                | '\u{2E3B}'
                | '\u{3001}'
                | '\u{3002}'
                | '\u{301C}'
                | '\u{3030}'
                | '\u{30FB}'
                | '\u{30FC}'
                | '\u{FE58}'
                | '\u{FE63}'
                | '\u{FF0D}'
                | '\u{FF61}'
                | '\u{FF64}'
                | '\u{FF65}'
        )
}

/// General category Cf (format), Unicode 15.1.
pub(super) fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// Characters that show nothing but are not Cf: fillers and blanks that a reader cannot see.
pub(super) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{2800}' | '\u{3164}' | '\u{FFA0}'
    ) || ('\u{FE00}'..='\u{FE0F}').contains(&c)
        || ('\u{E0100}'..='\u{E01EF}').contains(&c)
}

/// Unicode noncharacters: U+FDD0 to U+FDEF and the last two code points of every plane.
pub(super) fn is_noncharacter(c: char) -> bool {
    let v = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&v) || v & 0xFFFE == 0xFFFE
}

/// Private-use characters (general category Co).
pub(super) fn is_private_use(c: char) -> bool {
    matches!(
        c,
        '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{FFFFD}' | '\u{100000}'..='\u{10FFFD}'
    )
}

/// Bidirectional controls: embeddings, overrides, isolates and marks.
pub(super) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}
