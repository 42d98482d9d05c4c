//! Witness cosignatures (`cosignature/v1`): [`CosignatureSigner`] and [`CosignatureVerifier`].

use super::keys::{Ed25519Signer, Ed25519Verifier, KeyKind};
use super::signed::Note;
use super::{ALG_COSIGNATURE_V1, COSIGNATURE_HEADER, MAX_COSIGNATURE_TIMESTAMP, NoteError};
use crate::audit::checkpoint::Checkpoint;

/// The message a `cosignature/v1` signs: header, time line, checkpoint body.
fn cosigned_message(checkpoint_body: &str, timestamp: u64) -> String {
    format!("{COSIGNATURE_HEADER}time {timestamp}\n{checkpoint_body}")
}

/// Ed25519 witness cosignatures, `cosignature/v1` (type byte 0x04).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CosignatureKind {}

impl KeyKind for CosignatureKind {
    const ALG: u8 = ALG_COSIGNATURE_V1;
    const NAME: &'static str = "Cosignature";
}

/// A witness key for Ed25519 `cosignature/v1` cosignatures (type byte 0x04) and its name.
///
/// `Debug` shows the name and key id only.
pub type CosignatureSigner = Ed25519Signer<CosignatureKind>;

impl CosignatureSigner {
    /// Cosign a checkpoint body at `timestamp` (POSIX seconds, at most 2^63 - 1). Returns one
    /// signature line, `— <name> <base64(key id ‖ timestamp ‖ signature)>\n`, to append to
    /// the signed checkpoint.
    pub fn cosign(&self, checkpoint_body: &str, timestamp: u64) -> Result<String, NoteError> {
        if timestamp > MAX_COSIGNATURE_TIMESTAMP {
            return Err(NoteError::TimestampTooLarge(timestamp));
        }
        Checkpoint::parse_body(checkpoint_body)?;
        let message = cosigned_message(checkpoint_body, timestamp);
        let mut signed = Vec::with_capacity(72);
        signed.extend_from_slice(&timestamp.to_be_bytes());
        signed.extend_from_slice(self.0.pair.sign(message.as_bytes()).as_ref());
        Ok(self.0.signature_line(&signed))
    }
}

/// A witness verifier key for Ed25519 `cosignature/v1` (type byte 0x04) and its name.
pub type CosignatureVerifier = Ed25519Verifier<CosignatureKind>;

impl CosignatureVerifier {
    /// Verify this witness's cosignature on a signed checkpoint `note` and return its
    /// timestamp. The body must be a checkpoint; exactly one signature line must carry this
    /// key's name and key id, and it must verify. Other lines are ignored (the log's own
    /// signature is not checked here).
    pub fn verify(&self, note: &str) -> Result<u64, NoteError> {
        let parsed = Note::parse(note)?;
        Checkpoint::parse_body(parsed.body)?;
        let sig = parsed.only_signature_by(&self.0.name, self.0.key_id)?;
        let Some((ts, ed)) = sig.signature.split_first_chunk::<8>() else {
            return Err(NoteError::BadCosignatureLength {
                len: 4 + sig.signature.len(),
            });
        };
        if ed.len() != 64 {
            return Err(NoteError::BadCosignatureLength {
                len: 4 + sig.signature.len(),
            });
        }
        let timestamp = u64::from_be_bytes(*ts);
        if timestamp > MAX_COSIGNATURE_TIMESTAMP {
            return Err(NoteError::TimestampTooLarge(timestamp));
        }
        self.0
            .verify(cosigned_message(parsed.body, timestamp).as_bytes(), ed)?;
        Ok(timestamp)
    }
}
