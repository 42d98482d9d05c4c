//! Signed notes (c2sp.org/signed-note) with Ed25519 keys, and Ed25519 witness cosignatures
//! (c2sp.org/tlog-cosignature, `cosignature/v1`).
//!
//! A signed note is a body of one or more non-empty lines, each ending in a newline, then one
//! blank line, then one or more signature lines `— <key name> <base64(key id ‖ signature)>`.
//! The spec lets a note body contain empty lines; this module does not, because the only notes
//! this node signs or reads are checkpoints, whose lines are all non-empty.
//!
//! Everything here fails closed: any input that is not exactly in the canonical form is
//! refused with its own [`NoteError`] variant. Nothing panics on any input.

//!
//! The parts: `text` holds the text forms every part shares (key ids and names, base64,
//! decimals, the checks on a note's text), `signed` the note itself ([`Note`]), `keys` the
//! Ed25519 note keys ([`NoteSigner`], [`NoteVerifier`]), and `cosignature` the witness
//! cosignatures ([`CosignatureSigner`], [`CosignatureVerifier`]).

use crate::audit::merkle::ProofError;

mod cosignature;
mod keys;
mod signed;
mod text;

pub use cosignature::{CosignatureSigner, CosignatureVerifier};
pub use keys::{NoteSigner, NoteVerifier};
pub use signed::{Note, NoteSignature};
pub use text::{check_body, check_key_name, key_id};
pub(crate) use text::{check_text, decode_b64, decode_hash, encode_b64, parse_decimal};

/// The largest note accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// The most signature lines accepted in one note (the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// Signature type byte for Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;

/// Signature type byte for timestamped Ed25519 witness cosignatures.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// The prefix of every signature line: em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// The prefix of private key text.
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// Domain separation header of a `cosignature/v1` signed message.
const COSIGNATURE_HEADER: &str = "cosignature/v1\n";

/// Largest cosignature timestamp the spec allows (2^63 - 1).
pub const MAX_COSIGNATURE_TIMESTAMP: u64 = i64::MAX as u64;

/// Why a note, key, checkpoint, cosignature or proof file was refused.
///
/// Errors about private keys never carry any part of the key text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    /// The input is larger than its cap.
    #[error("input is {len} bytes, over the limit of {max}")]
    TooLarge {
        /// Size of the input.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input contains a carriage return (U+000D); lines end in a bare newline.
    #[error("carriage return in input: lines must end in a bare newline")]
    CarriageReturn,
    /// The input contains an ASCII control character other than newline.
    #[error("control character U+{0:04X} in input")]
    ControlCharacter(u32),
    /// The note or body is empty, or starts with the blank separator line.
    #[error("note body is empty")]
    EmptyBody,
    /// A line of the body is empty.
    #[error("body line {line} is empty")]
    EmptyBodyLine {
        /// 1-based line number within the body.
        line: usize,
    },
    /// The text does not end in a newline.
    #[error("text does not end in a newline")]
    MissingFinalNewline,
    /// No blank line separates the body from the signatures.
    #[error("no blank line between the note body and its signatures")]
    MissingBlankLine,
    /// The blank line is not followed by any signature line.
    #[error("note has no signature lines")]
    NoSignatures,
    /// A blank line follows the signature lines.
    #[error("blank line after the signature lines")]
    TrailingBlankLine,
    /// A signature line does not start with an em dash (U+2014) and a space.
    #[error("signature line {line} does not start with an em dash and a space")]
    MissingEmDash {
        /// 1-based index of the signature line.
        line: usize,
    },
    /// A signature line is not `— <name> <base64>`.
    #[error("signature line {line} is not a key name, one space and a signature")]
    MalformedSignatureLine {
        /// 1-based index of the signature line.
        line: usize,
    },
    /// A key name is empty or contains whitespace, '+' or a control character.
    #[error("key name is empty or contains whitespace, '+' or a control character")]
    BadKeyName,
    /// Some base64 is not canonical standard base64 with padding.
    #[error("{field} is not canonical standard base64 with padding")]
    BadBase64 {
        /// What was being decoded.
        field: &'static str,
    },
    /// A signature is shorter than a key id and one byte.
    #[error("signature line {line} decodes to {len} bytes, fewer than a key id and a signature")]
    SignatureTooShort {
        /// 1-based index of the signature line.
        line: usize,
        /// Decoded length.
        len: usize,
    },
    /// The note has more signature lines than [`MAX_SIGNATURES`].
    #[error("note has more than {max} signature lines")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// Verifier key text is not `<name>+<8 lowercase hex digits>+<base64>`.
    #[error("verifier key is not <name>+<8 lowercase hex digits>+<base64 key>")]
    MalformedVerifierKey,
    /// Private key text is not `PRIVATE+KEY+<name>+<8 lowercase hex digits>+<base64>`.
    #[error("private key is not PRIVATE+KEY+<name>+<8 lowercase hex digits>+<base64 key>")]
    MalformedPrivateKey,
    /// A key carries the wrong signature type byte.
    #[error("key has signature type 0x{found:02x}, expected 0x{expected:02x}")]
    WrongAlgorithm {
        /// The type byte found.
        found: u8,
        /// The type byte this kind of key needs.
        expected: u8,
    },
    /// A key's material has the wrong length.
    #[error("{field} is {len} bytes, expected 33 (type byte and 32-byte key)")]
    WrongKeyLength {
        /// Which key.
        field: &'static str,
        /// Decoded length.
        len: usize,
    },
    /// A key's stated key id does not match the one computed from its name and key.
    #[error("key id in the key text does not match the key")]
    KeyIdMismatch,
    /// The private key seed was refused by the Ed25519 implementation.
    #[error("private key rejected")]
    PrivateKeyRejected,
    /// The system random number generator failed.
    #[error("could not generate a key: system randomness unavailable")]
    KeyGeneration,
    /// No signature line carries this key's name and key id.
    #[error("no signature by key {name}+{key_id}")]
    NoMatchingSignature {
        /// Key name.
        name: String,
        /// Key id, 8 hex digits.
        key_id: String,
    },
    /// More than one signature line carries this key's name and key id.
    #[error("more than one signature by key {name}+{key_id}")]
    DuplicateSignature {
        /// Key name.
        name: String,
        /// Key id, 8 hex digits.
        key_id: String,
    },
    /// A signature line with this key's name and key id does not verify.
    #[error("signature by key {name}+{key_id} does not verify")]
    SignatureInvalid {
        /// Key name.
        name: String,
        /// Key id, 8 hex digits.
        key_id: String,
    },
    /// A cosignature is not a key id, an 8-byte timestamp and a 64-byte signature.
    #[error("cosignature is {len} bytes, expected 76")]
    BadCosignatureLength {
        /// Decoded length.
        len: usize,
    },
    /// A cosignature timestamp is above 2^63 - 1.
    #[error("cosignature timestamp {0} is above 2^63 - 1")]
    TimestampTooLarge(u64),
    /// A checkpoint body has fewer than three lines.
    #[error("checkpoint body has {lines} lines, fewer than origin, size and root hash")]
    CheckpointTooShort {
        /// Lines found.
        lines: usize,
    },
    /// A checkpoint origin is empty.
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    /// A decimal number is not ASCII digits.
    #[error("{field} is not an unsigned decimal number")]
    NotDecimal {
        /// Which number.
        field: &'static str,
    },
    /// A decimal number has a leading zero.
    #[error("{field} has a leading zero")]
    LeadingZero {
        /// Which number.
        field: &'static str,
    },
    /// A decimal number does not fit in 64 bits.
    #[error("{field} does not fit in 64 bits")]
    NumberTooLarge {
        /// Which number.
        field: &'static str,
    },
    /// A hash does not decode to exactly 32 bytes.
    #[error("{field} decodes to {len} bytes, not 32")]
    BadHashLength {
        /// Which hash.
        field: &'static str,
        /// Decoded length.
        len: usize,
    },
    /// A checkpoint's fields do not make a checkpoint body that reads back as the same fields
    /// (an origin or extension line with a newline in it, for example).
    #[error("checkpoint fields do not form a well-formed body")]
    CheckpointNotCanonical,
    /// A checkpoint is for another log.
    #[error("checkpoint origin {got:?} is not the expected {want:?}")]
    WrongOrigin {
        /// The origin expected.
        want: String,
        /// The origin in the checkpoint.
        got: String,
    },
    /// A proof file does not start with `c2sp.org/tlog-proof@v1`.
    #[error("proof does not start with the line c2sp.org/tlog-proof@v1")]
    BadProofHeader,
    /// A proof file's `extra` line is empty.
    #[error("proof extra line is empty")]
    EmptyExtra,
    /// A proof file has no `index` line where one is required.
    #[error("proof has no index line after its header")]
    MissingIndex,
    /// A proof file has more inclusion hashes than any tree of 2^64 - 1 leaves needs.
    #[error("proof has more than {max} hashes")]
    TooManyProofHashes {
        /// The limit.
        max: usize,
    },
    /// A proof file has no blank line between its hashes and its checkpoint.
    #[error("proof has no blank line before its checkpoint")]
    MissingProofSeparator,
    /// The inclusion proof does not verify against the checkpoint.
    #[error("inclusion proof refused: {0}")]
    Inclusion(#[from] ProofError),
}
