//! The rules for free text (a purpose, a reason, a name): one line, no control or invisible
//! characters, within a length; and text made visible for a log.

use super::chars::{is_bidi_control, is_format, is_invisible, is_noncharacter, is_private_use};

/// Why a free text (purpose, reason, matter, a name) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextFault {
    /// Empty, or only white space.
    #[error("must not be empty or only white space")]
    Empty,
    /// More characters than allowed.
    #[error("is {found} characters long; the limit is {max}")]
    TooLong {
        /// The limit.
        max: usize,
        /// The length found, in characters.
        found: usize,
    },
    /// A line or paragraph break (LF, CR, VT, FF, U+0085, U+2028, U+2029).
    #[error("contains a line break ({}) at character {position}; it must be one line", code_point(.found))]
    LineBreak {
        /// 1-based position, in characters.
        position: usize,
        /// The character.
        found: char,
    },
    /// Another control character (general category Cc).
    #[error("contains a control character ({}) at character {position}", code_point(.found))]
    Control {
        /// 1-based position, in characters.
        position: usize,
        /// The character.
        found: char,
    },
    /// A bidirectional embedding, override, isolate or mark (U+202A-U+202E, U+2066-U+2069,
    /// U+200E, U+200F, U+061C), which can make text read differently from what it is.
    #[error("contains a bidirectional control character ({}) at character {position}", code_point(.found))]
    Bidi {
        /// 1-based position, in characters.
        position: usize,
        /// The character.
        found: char,
    },
    /// A zero-width or other invisible format character (general category Cf, variation
    /// selectors, fillers).
    #[error("contains an invisible character ({}) at character {position}", code_point(.found))]
    Invisible {
        /// 1-based position, in characters.
        position: usize,
        /// The character.
        found: char,
    },
    /// A Unicode noncharacter or private-use character, which has no agreed meaning.
    #[error("contains a character with no agreed meaning ({}) at character {position}", code_point(.found))]
    Unassigned {
        /// 1-based position, in characters.
        position: usize,
        /// The character.
        found: char,
    },
}

/// `U+XXXX`.
fn code_point(c: &char) -> String {
    format!("U+{:04X}", u32::from(*c))
}

/// The fault `c` at `position` (1-based) makes in free text, if any.
pub(crate) fn char_fault(c: char, position: usize) -> Option<TextFault> {
    let found = c;
    if matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    ) {
        Some(TextFault::LineBreak { position, found })
    } else if c.is_control() {
        Some(TextFault::Control { position, found })
    } else if is_bidi_control(c) {
        Some(TextFault::Bidi { position, found })
    } else if is_format(c) || is_invisible(c) {
        Some(TextFault::Invisible { position, found })
    } else if is_noncharacter(c) || is_private_use(c) {
        Some(TextFault::Unassigned { position, found })
    } else {
        None
    }
}

/// Checks a free text given by a caller (a purpose, a status reason, a matter, a name):
/// not empty or only white space, at most `max_chars` characters, one line, and no character
/// that shows something other than what the text holds: no control character, no line or
/// paragraph separator (U+0085, U+2028, U+2029), no bidirectional control, no zero-width or
/// other format (Cf) character, no variation selector or invisible filler, no noncharacter and
/// no private-use character. Reports the first fault.
pub fn check_free_text(s: &str, max_chars: usize) -> Result<(), TextFault> {
    if s.trim().is_empty() {
        return Err(TextFault::Empty);
    }
    let found = s.chars().count();
    if found > max_chars {
        return Err(TextFault::TooLong {
            max: max_chars,
            found,
        });
    }
    check_chars(s)
}

/// The character rules of [`check_free_text`] alone.
pub fn check_chars(s: &str) -> Result<(), TextFault> {
    match s
        .chars()
        .enumerate()
        .find_map(|(i, c)| char_fault(c, i + 1))
    {
        Some(fault) => Err(fault),
        None => Ok(()),
    }
}

/// `s` with every character that a line-based or bidirectional reader would misread replaced
/// by its code point written out (`<U+2028>`): line and paragraph separators, C1 controls,
/// bidirectional controls, format and invisible characters, noncharacters, private use. C0
/// controls (`\n`, `\t`…) are left: JSON escapes them.
pub fn make_visible(s: &str) -> std::borrow::Cow<'_, str> {
    let shown = |c: char| c.is_ascii() || char_fault(c, 0).is_none();
    if s.chars().all(shown) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if shown(c) {
            out.push(c);
        } else {
            out.push_str(&format!("<{}>", code_point(&c)));
        }
    }
    std::borrow::Cow::Owned(out)
}
