//! Offline inclusion proofs (c2sp.org/tlog-proof@v1): an entry's index, its RFC 6962
//! inclusion proof and the signed checkpoint it leads to, in one text file.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>            (optional)
//! index <decimal>
//! <base64 hash>             (zero or more, at most 64)
//!
//! <signed checkpoint note>
//! ```

use crate::audit::checkpoint::Checkpoint;
use crate::audit::merkle::{self, Hash};
use crate::audit::note::{
    MAX_NOTE_BYTES, Note, NoteError, NoteVerifier, check_text, decode_b64, decode_hash, encode_b64,
    parse_decimal,
};

/// The first line of every proof file.
pub const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The most inclusion hashes a proof may carry (a tree of 2^64 - 1 leaves needs no more).
pub const MAX_PROOF_HASHES: usize = 64;

/// The largest proof file accepted: a maximal note plus 64 KiB for the lines before it.
pub const MAX_PROOF_BYTES: usize = MAX_NOTE_BYTES + (1 << 16);

/// A parsed `c2sp.org/tlog-proof@v1` file. Parsing checks the syntax of every part, the
/// checkpoint note included; [`TlogProof::verify`] checks the signature and the proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated extra data (never empty when present).
    pub extra: Option<Vec<u8>>,
    /// Zero-based index of the entry in the log.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up to the root's child.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    /// Parse a proof file, strictly (see the module documentation for the layout).
    pub fn parse(text: &str) -> Result<TlogProof, NoteError> {
        check_text(text, MAX_PROOF_BYTES)?;
        let mut rest = text;
        let mut next_line = || -> Option<&str> {
            let (line, tail) = rest.split_once('\n')?;
            rest = tail;
            Some(line)
        };

        if next_line() != Some(PROOF_HEADER) {
            return Err(NoteError::BadProofHeader);
        }
        let mut line = next_line().ok_or(NoteError::MissingIndex)?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            let bytes = decode_b64(b64, "proof extra data")?;
            if bytes.is_empty() {
                return Err(NoteError::EmptyExtra);
            }
            extra = Some(bytes);
            line = next_line().ok_or(NoteError::MissingIndex)?;
        }
        let Some(index) = line.strip_prefix("index ") else {
            return Err(NoteError::MissingIndex);
        };
        let index = parse_decimal(index, "index")?;

        let mut hashes = Vec::new();
        loop {
            let line = next_line().ok_or(NoteError::MissingProofSeparator)?;
            if line.is_empty() {
                break;
            }
            if hashes.len() == MAX_PROOF_HASHES {
                return Err(NoteError::TooManyProofHashes {
                    max: MAX_PROOF_HASHES,
                });
            }
            hashes.push(decode_hash(line, "proof hash")?);
        }

        let checkpoint = rest;
        let note = Note::parse(checkpoint)?;
        Checkpoint::parse_body(note.body)?;
        Ok(TlogProof {
            extra,
            index,
            hashes,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// The proof file text. A parsed proof comes back byte for byte.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(
            PROOF_HEADER.len() + 32 + 45 * self.hashes.len() + self.checkpoint.len(),
        );
        out.push_str(PROOF_HEADER);
        out.push('\n');
        if let Some(extra) = &self.extra {
            out.push_str("extra ");
            out.push_str(&encode_b64(extra));
            out.push('\n');
        }
        out.push_str("index ");
        out.push_str(&self.index.to_string());
        out.push('\n');
        for hash in &self.hashes {
            out.push_str(&encode_b64(hash));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Check that `entry` is in the log: open the checkpoint with the log's key (and origin,
    /// when given), hash the entry as an RFC 6962 leaf and check the inclusion proof against
    /// the checkpoint's size and root. Returns the checkpoint.
    pub fn verify(
        &self,
        entry: &[u8],
        verifier: &NoteVerifier,
        origin: Option<&str>,
    ) -> Result<Checkpoint, NoteError> {
        let checkpoint = Checkpoint::open(&self.checkpoint, verifier, origin)?;
        let leaf = merkle::leaf_hash(entry);
        merkle::verify_inclusion(
            &leaf,
            self.index,
            checkpoint.size,
            &self.hashes,
            &checkpoint.root,
        )?;
        Ok(checkpoint)
    }
}
