//! The check-character algorithms behind the codes, as plain functions on ASCII strings.
//!
//! Callers inside this module check the characters first; these functions still refuse
//! (return `None`) rather than panic when handed a character outside their alphabet.

/// The 31 symbols of GB 32100-2015 (统一社会信用代码): digits and upper-case letters
/// without I, O, S, V and Z. A symbol's value is its index.
pub(crate) const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// The 36 symbols of ISO/IEC 7064 MOD 37,36: `0-9A-Z`. A symbol's value is its index.
const MOD37_36_ALPHABET: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// GB 32100-2015 weights for positions 1 to 17.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// GB 11714-1997 weights for the eight body characters of an organisation code.
const ORG_CODE_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// GB 11643-1999 (ISO 7064 MOD 11-2) weights for positions 1 to 17 of a resident ID.
const RESIDENT_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// `USCC_ALPHABET` inverted: the value of each ASCII character, `u8::MAX` for non-symbols.
const USCC_VALUES: [u8; 128] = {
    let mut table = [u8::MAX; 128];
    let alphabet = USCC_ALPHABET.as_bytes();
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Value of a 统一社会信用代码 symbol, or `None` outside the 31-symbol alphabet.
pub(crate) fn uscc_value(c: char) -> Option<u32> {
    let i = usize::try_from(u32::from(c)).ok()?;
    USCC_VALUES
        .get(i)
        .filter(|v| **v != u8::MAX)
        .map(|v| u32::from(*v))
}

/// Value of an ISO/IEC 7064 MOD 37,36 symbol (`0-9A-Z`), or `None` for anything else.
fn mod37_36_value(c: char) -> Option<u32> {
    c.to_digit(36).filter(|_| !c.is_ascii_lowercase())
}

/// The symbol with value `v` in `alphabet`; `v` is always in range where this is called.
fn symbol(alphabet: &str, v: u32) -> Option<char> {
    alphabet
        .as_bytes()
        .get(usize::try_from(v).ok()?)
        .map(|b| char::from(*b))
}

/// GB 32100-2015 check character (position 18) for the first 17 characters.
pub(crate) fn uscc_check(body: &str) -> Option<char> {
    // By bytes: a body with a non-ASCII character is refused either way (it is longer than
    // its character count, or its character has no value).
    if body.len() != USCC_WEIGHTS.len() {
        return None;
    }
    let mut sum = 0u32;
    for (b, w) in body.bytes().zip(USCC_WEIGHTS) {
        sum += uscc_value(char::from(b))? * w;
    }
    symbol(USCC_ALPHABET, (31 - sum % 31) % 31)
}

/// GB 11714-1997 check character for the eight body characters of an organisation code.
///
/// Digits count 0-9 and letters A-Z count 10-35; the check is `11 - Σ mod 11`, written
/// `X` for 10 and `0` for 11.
pub(crate) fn org_code_check(body: &str) -> Option<char> {
    if body.chars().count() != ORG_CODE_WEIGHTS.len() {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in body.chars().zip(ORG_CODE_WEIGHTS) {
        sum += mod37_36_value(c)? * w;
    }
    match 11 - sum % 11 {
        10 => Some('X'),
        11 => Some('0'),
        v => char::from_digit(v, 10),
    }
}

/// GB 11643-1999 check character (position 18) for the first 17 digits of a resident ID.
pub(crate) fn resident_id_check(body: &str) -> Option<char> {
    if body.chars().count() != RESIDENT_ID_WEIGHTS.len() {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in body.chars().zip(RESIDENT_ID_WEIGHTS) {
        sum += c.to_digit(10)? * w;
    }
    "10X98765432".chars().nth(usize::try_from(sum % 11).ok()?)
}

/// ISO/IEC 7064 MOD 37,36 (pure system) check character for `s`, as GB/T 36904-2018 uses
/// it for the last field of a licence identifier.
///
/// `s` must consist of `0-9A-Z` only (upper case); any other character gives `None`.
/// The empty string has the check character `'1'`.
///
/// ```
/// use zhengzhao::codes::mod37_36_check;
/// assert_eq!(
///     mod37_36_check("11100000000013338W03211220000013544541J2430599001"),
///     Some('F')
/// );
/// assert_eq!(mod37_36_check("abc"), None);
/// ```
pub fn mod37_36_check(s: &str) -> Option<char> {
    let mut p = 36u32;
    for c in s.chars() {
        let mut t = (p + mod37_36_value(c)?) % 36;
        if t == 0 {
            t = 36;
        }
        p = (2 * t) % 37;
    }
    // The check value x satisfies (p + x) mod 36 == 1.
    symbol(MOD37_36_ALPHABET, (37 - p) % 36)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uscc_checks_of_known_codes() {
        assert_eq!(uscc_check("11100000000013338"), Some('W'));
        assert_eq!(uscc_check("91110000600037341"), Some('L'));
        assert_eq!(uscc_check("11370115004115358"), Some('0'));
        assert_eq!(uscc_check("1110000000001333"), None);
        assert_eq!(uscc_check("1110000000001333I"), None);
    }

    #[test]
    fn org_code_checks_of_known_codes() {
        assert_eq!(org_code_check("00001333"), Some('8'));
        assert_eq!(org_code_check("00411535"), Some('8'));
        assert_eq!(org_code_check("0013544"), None);
        assert_eq!(org_code_check("0013544a"), None);
    }

    #[test]
    fn org_code_check_can_be_x() {
        // Brute-force a body whose check is X, then confirm the arithmetic by hand.
        let body = (0..100_000_000u32)
            .map(|n| format!("{n:08}"))
            .find(|b| org_code_check(b) == Some('X'))
            .unwrap();
        let sum: u32 = body
            .chars()
            .zip(ORG_CODE_WEIGHTS)
            .map(|(c, w)| c.to_digit(10).unwrap() * w)
            .sum();
        assert_eq!(11 - sum % 11, 10);
    }

    #[test]
    fn resident_id_checks_of_known_codes() {
        assert_eq!(resident_id_check("11010519491231002"), Some('X'));
        assert_eq!(resident_id_check("36042619910101007"), Some('1'));
        assert_eq!(resident_id_check("11010119760805689"), Some('7'));
        assert_eq!(resident_id_check("1101011976080568A"), None);
    }

    #[test]
    fn mod37_36_known_answers() {
        // python-stdnum's doctest value.
        assert_eq!(mod37_36_check("A12425GABC1234002"), Some('M'));
        assert_eq!(mod37_36_check(""), Some('1'));
        assert_eq!(
            mod37_36_check("11100000000013338W00911330105002500287C2025052201002"),
            Some('0')
        );
        assert_eq!(
            mod37_36_check("11100000000013338W01111430000006122244L20230000403001"),
            Some('U')
        );
        assert_eq!(mod37_36_check("A-1"), None);
        assert_eq!(mod37_36_check("é"), None);
    }
}
