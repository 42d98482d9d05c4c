//! [`Note`]: a signed note's text split into its body and signature lines, and printed back.

use super::text::{check_body, check_key_name, check_text, decode_b64, encode_b64, hex_id};
use super::{MAX_NOTE_BYTES, MAX_SIGNATURES, NoteError, SIG_PREFIX};

/// One signature line of a note, parsed but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key id: the first four decoded bytes.
    pub key_id: [u8; 4],
    /// The signature: the decoded bytes after the key id (at least one).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, `— <name> <base64(key id ‖ signature)>\n`.
    pub fn to_line(&self) -> String {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id);
        bytes.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, encode_b64(&bytes))
    }
}

/// A signed note, parsed but with no signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note<'a> {
    /// The note body, including its final newline but not the blank separator line.
    pub body: &'a str,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

impl<'a> Note<'a> {
    /// Parse a signed note. Checks syntax only: no signature is verified.
    pub fn parse(text: &'a str) -> Result<Note<'a>, NoteError> {
        check_text(text, MAX_NOTE_BYTES)?;
        if text.is_empty() || text.starts_with('\n') {
            return Err(NoteError::EmptyBody);
        }
        if !text.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        let Some(split) = text.rfind("\n\n") else {
            return Err(NoteError::MissingBlankLine);
        };
        let (body, sigs) = (&text[..split + 1], &text[split + 2..]);
        if sigs.is_empty() {
            // "…\n— sig\n\n": the last line before the blank one is a signature line.
            let last = body
                .trim_end_matches('\n')
                .rsplit('\n')
                .next()
                .unwrap_or("");
            return Err(if last.starts_with(SIG_PREFIX) {
                NoteError::TrailingBlankLine
            } else {
                NoteError::NoSignatures
            });
        }
        check_body(body)?;
        let mut signatures = Vec::new();
        for (i, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
            let n = i + 1;
            if n > MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            let Some(rest) = line.strip_prefix(SIG_PREFIX) else {
                return Err(NoteError::MissingEmDash { line: n });
            };
            let Some((name, b64)) = rest.split_once(' ') else {
                return Err(NoteError::MalformedSignatureLine { line: n });
            };
            if b64.contains(' ') {
                return Err(NoteError::MalformedSignatureLine { line: n });
            }
            check_key_name(name)?;
            let bytes = decode_b64(b64, "signature")?;
            if bytes.len() < 5 {
                return Err(NoteError::SignatureTooShort {
                    line: n,
                    len: bytes.len(),
                });
            }
            let mut key_id = [0u8; 4];
            key_id.copy_from_slice(&bytes[..4]);
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id,
                signature: bytes[4..].to_vec(),
            });
        }
        Ok(Note { body, signatures })
    }

    /// The note text again: body, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.body.len() + 1 + 100 * self.signatures.len());
        out.push_str(self.body);
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.to_line());
        }
        out
    }

    /// The single signature by `name` and `key_id`: none is [`NoteError::NoMatchingSignature`],
    /// more than one is [`NoteError::DuplicateSignature`]. Other keys' signatures are ignored.
    pub(super) fn only_signature_by(
        &self,
        name: &str,
        key_id: [u8; 4],
    ) -> Result<&NoteSignature, NoteError> {
        let mut matching = self
            .signatures
            .iter()
            .filter(|s| s.name == name && s.key_id == key_id);
        let first = matching
            .next()
            .ok_or_else(|| NoteError::NoMatchingSignature {
                name: name.to_owned(),
                key_id: hex_id(key_id),
            })?;
        if matching.next().is_some() {
            return Err(NoteError::DuplicateSignature {
                name: name.to_owned(),
                key_id: hex_id(key_id),
            });
        }
        Ok(first)
    }
}
