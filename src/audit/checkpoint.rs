//! Transparency log checkpoints (c2sp.org/tlog-checkpoint): a signed note whose body is the
//! log's origin, its tree size and its root hash, then optional extension lines.

use crate::audit::merkle::Hash;
use crate::audit::note::{
    MAX_NOTE_BYTES, NoteError, NoteSigner, NoteVerifier, check_text, decode_hash, encode_b64,
    parse_decimal,
};

/// A checkpoint body: one tree head of one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, the first line (non-empty, no control characters).
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// RFC 6962 root hash of the tree at `size`.
    pub root: Hash,
    /// Opaque extension lines, each non-empty, without their newlines.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note body: `<origin>\n<size>\n<base64 root>\n`, then each extension line.
    pub fn body(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            encode_b64(&self.root)
        );
        for line in &self.extensions {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Parse a checkpoint body, strictly: every line ends in a newline; the origin is
    /// non-empty; the size is decimal with no sign or leading zero ("0" is fine) and fits in
    /// 64 bits; the root is canonical standard base64 of exactly 32 bytes; extension lines are
    /// non-empty; no control characters but newline.
    pub fn parse_body(body: &str) -> Result<Checkpoint, NoteError> {
        check_text(body, MAX_NOTE_BYTES)?;
        let Some(inner) = body.strip_suffix('\n') else {
            return Err(if body.is_empty() {
                NoteError::EmptyBody
            } else {
                NoteError::MissingFinalNewline
            });
        };
        let lines: Vec<&str> = inner.split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(NoteError::CheckpointTooShort { lines: lines.len() });
        };
        if origin.is_empty() {
            return Err(NoteError::EmptyOrigin);
        }
        for (i, line) in lines.iter().enumerate().skip(1) {
            if line.is_empty() {
                return Err(NoteError::EmptyBodyLine { line: i + 1 });
            }
        }
        Ok(Checkpoint {
            origin: (*origin).to_owned(),
            size: parse_decimal(size, "tree size")?,
            root: decode_hash(root, "root hash")?,
            extensions: extensions.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    /// Sign the body with the log's key: returns the signed note. Refuses fields that would
    /// not read back as themselves (a newline or control character in the origin, say).
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, NoteError> {
        let body = self.body();
        match Checkpoint::parse_body(&body) {
            Ok(parsed) if parsed == *self => signer.sign(&body),
            // Refusals that name the field at fault as it is; any other means a field with a
            // newline in it shifted the lines, and the error would name the wrong one.
            Err(
                e @ (NoteError::EmptyOrigin
                | NoteError::CarriageReturn
                | NoteError::ControlCharacter(_)
                | NoteError::TooLarge { .. }),
            ) => Err(e),
            Ok(_) | Err(_) => Err(NoteError::CheckpointNotCanonical),
        }
    }

    /// Verify a signed checkpoint with the log's key, then parse its body. When `origin` is
    /// given, the checkpoint's origin must equal it.
    pub fn open(
        note: &str,
        verifier: &NoteVerifier,
        origin: Option<&str>,
    ) -> Result<Checkpoint, NoteError> {
        let body = verifier.verify(note)?;
        let checkpoint = Checkpoint::parse_body(body)?;
        if let Some(want) = origin
            && checkpoint.origin != want
        {
            return Err(NoteError::WrongOrigin {
                want: want.to_owned(),
                got: checkpoint.origin,
            });
        }
        Ok(checkpoint)
    }
}
