//! The text forms shared by notes, keys and cosignatures: key ids and names, base64, hashes,
//! decimals, and the checks every note text passes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{MAX_NOTE_BYTES, NoteError};

/// Key id: the first four bytes of SHA-256(name ‖ 0x0A ‖ type byte ‖ public key).
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> [u8; 4] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(b"\n");
    ctx.update(&[alg]);
    ctx.update(public_key);
    let digest = ctx.finish();
    let mut id = [0u8; 4];
    id.copy_from_slice(&digest.as_ref()[..4]);
    id
}

/// Check a key name: non-empty, no Unicode whitespace, no '+', no control characters.
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(NoteError::BadKeyName);
    }
    Ok(())
}

/// Decode canonical standard base64 with padding; anything else is [`NoteError::BadBase64`].
pub(crate) fn decode_b64(text: &str, field: &'static str) -> Result<Vec<u8>, NoteError> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|_| NoteError::BadBase64 { field })?;
    // The engine already refuses missing padding and stray trailing bits; re-encoding makes
    // the canonical-form requirement explicit rather than a property of the engine's config.
    if STANDARD.encode(&bytes) != text {
        return Err(NoteError::BadBase64 { field });
    }
    Ok(bytes)
}

/// Standard base64 with padding.
pub(crate) fn encode_b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decode a base64 hash of exactly 32 bytes.
pub(crate) fn decode_hash(text: &str, field: &'static str) -> Result<[u8; 32], NoteError> {
    let bytes = decode_b64(text, field)?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| NoteError::BadHashLength {
        field,
        len: bytes.len(),
    })
}

/// Parse an unsigned decimal with no sign and no leading zeros ("0" itself is fine).
pub(crate) fn parse_decimal(text: &str, field: &'static str) -> Result<u64, NoteError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NoteError::NotDecimal { field });
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(NoteError::LeadingZero { field });
    }
    text.parse::<u64>()
        .map_err(|_| NoteError::NumberTooLarge { field })
}

/// Refuse text over `max` bytes, carriage returns and other control characters but newline.
pub(crate) fn check_text(text: &str, max: usize) -> Result<(), NoteError> {
    if text.len() > max {
        return Err(NoteError::TooLarge {
            len: text.len(),
            max,
        });
    }
    for c in text.chars() {
        if c == '\r' {
            return Err(NoteError::CarriageReturn);
        }
        if c < '\u{20}' && c != '\n' {
            return Err(NoteError::ControlCharacter(u32::from(c)));
        }
    }
    Ok(())
}

/// Check a note body: within the size cap, no control characters but newline, non-empty,
/// ending in a newline, and no empty line.
pub fn check_body(body: &str) -> Result<(), NoteError> {
    check_text(body, MAX_NOTE_BYTES)?;
    if body.is_empty() {
        return Err(NoteError::EmptyBody);
    }
    let Some(inner) = body.strip_suffix('\n') else {
        return Err(NoteError::MissingFinalNewline);
    };
    for (i, line) in inner.split('\n').enumerate() {
        if line.is_empty() {
            return Err(NoteError::EmptyBodyLine { line: i + 1 });
        }
    }
    Ok(())
}

pub(super) fn hex_id(id: [u8; 4]) -> String {
    hex::encode(id)
}

/// Parse exactly 8 lowercase hex digits.
pub(super) fn parse_hex_id(text: &str) -> Option<[u8; 4]> {
    if text.len() != 8
        || !text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let bytes = hex::decode(text).ok()?;
    <[u8; 4]>::try_from(bytes.as_slice()).ok()
}
