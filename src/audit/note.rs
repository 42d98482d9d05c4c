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

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::audit::checkpoint::Checkpoint;
use crate::audit::merkle::ProofError;

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

fn hex_id(id: [u8; 4]) -> String {
    hex::encode(id)
}

/// Parse exactly 8 lowercase hex digits.
fn parse_hex_id(text: &str) -> Option<[u8; 4]> {
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
    fn only_signature_by(&self, name: &str, key_id: [u8; 4]) -> Result<&NoteSignature, NoteError> {
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

/// Key text `<prefix><name>+<hex id>+<base64(alg ‖ key)>`, split and checked. `private` picks
/// the error for malformed text so that private key errors say nothing about the text.
fn parse_key_text(
    text: &str,
    alg: u8,
    private: bool,
) -> Result<(String, [u8; 4], [u8; 32]), NoteError> {
    let malformed = if private {
        NoteError::MalformedPrivateKey
    } else {
        NoteError::MalformedVerifierKey
    };
    let field = if private {
        "private key"
    } else {
        "verifier key"
    };
    // Names and ids have no '+'; base64 may.
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed);
    };
    check_key_name(name)?;
    let Some(stated_id) = parse_hex_id(id_hex) else {
        return Err(malformed);
    };
    let bytes = decode_b64(b64, field)?;
    let Some((&found, key)) = bytes.split_first() else {
        return Err(NoteError::WrongKeyLength { field, len: 0 });
    };
    if found != alg {
        return Err(NoteError::WrongAlgorithm {
            found,
            expected: alg,
        });
    }
    let key = <[u8; 32]>::try_from(key).map_err(|_| NoteError::WrongKeyLength {
        field,
        len: bytes.len(),
    })?;
    Ok((name.to_owned(), stated_id, key))
}

/// An Ed25519 key pair with its key name, signing notes of one type byte.
struct Ed25519Key {
    name: String,
    alg: u8,
    key_id: [u8; 4],
    pair: Ed25519KeyPair,
}

impl Ed25519Key {
    fn from_seed(name: &str, alg: u8, seed: &[u8; 32]) -> Result<Ed25519Key, NoteError> {
        check_key_name(name)?;
        let pair =
            Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| NoteError::PrivateKeyRejected)?;
        let key_id = key_id(name, alg, pair.public_key().as_ref());
        Ok(Ed25519Key {
            name: name.to_owned(),
            alg,
            key_id,
            pair,
        })
    }

    fn generate(name: &str, alg: u8) -> Result<(Ed25519Key, String), NoteError> {
        check_key_name(name)?;
        let mut seed = [0u8; 32];
        SystemRandom::new()
            .fill(&mut seed)
            .map_err(|_| NoteError::KeyGeneration)?;
        let key = Ed25519Key::from_seed(name, alg, &seed)?;
        let mut material = Vec::with_capacity(33);
        material.push(alg);
        material.extend_from_slice(&seed);
        let text = format!(
            "{PRIVATE_PREFIX}{}+{}+{}\n",
            key.name,
            hex_id(key.key_id),
            encode_b64(&material)
        );
        material.fill(0);
        seed.fill(0);
        Ok((key, text))
    }

    fn from_private_key(text: &str, alg: u8) -> Result<Ed25519Key, NoteError> {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let Some(rest) = text.strip_prefix(PRIVATE_PREFIX) else {
            return Err(NoteError::MalformedPrivateKey);
        };
        let (name, stated_id, mut seed) = parse_key_text(rest, alg, true)?;
        let key = Ed25519Key::from_seed(&name, alg, &seed);
        seed.fill(0);
        let key = key?;
        if key.key_id != stated_id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(key)
    }

    fn public_key(&self) -> [u8; 32] {
        let mut pk = [0u8; 32];
        pk.copy_from_slice(self.pair.public_key().as_ref());
        pk
    }

    fn signature_line(&self, signed: &[u8]) -> String {
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: signed.to_vec(),
        }
        .to_line()
    }
}

impl fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("name", &self.name)
            .field("key_id", &hex_id(self.key_id))
            .finish_non_exhaustive()
    }
}

/// A public Ed25519 key with its name and type byte.
#[derive(Clone, PartialEq, Eq)]
struct PublicKey {
    name: String,
    alg: u8,
    key_id: [u8; 4],
    key: [u8; 32],
}

impl PublicKey {
    fn parse(vkey: &str, alg: u8) -> Result<PublicKey, NoteError> {
        let (name, stated_id, key) = parse_key_text(vkey, alg, false)?;
        let key_id = key_id(&name, alg, &key);
        if key_id != stated_id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(PublicKey {
            name,
            alg,
            key_id,
            key,
        })
    }

    fn vkey(&self) -> String {
        let mut material = Vec::with_capacity(33);
        material.push(self.alg);
        material.extend_from_slice(&self.key);
        format!(
            "{}+{}+{}",
            self.name,
            hex_id(self.key_id),
            encode_b64(&material)
        )
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), NoteError> {
        UnparsedPublicKey::new(&ED25519, &self.key)
            .verify(message, signature)
            .map_err(|_| NoteError::SignatureInvalid {
                name: self.name.clone(),
                key_id: hex_id(self.key_id),
            })
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.vkey())
    }
}

/// An Ed25519 note signing key (type byte 0x01) and its name.
///
/// `Debug` shows the name and key id only.
#[derive(Debug)]
pub struct NoteSigner(Ed25519Key);

impl NoteSigner {
    /// Make a new random key. Returns the signer and its private key text,
    /// `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ seed)>` followed by a newline.
    pub fn generate(name: &str) -> Result<(NoteSigner, String), NoteError> {
        let (key, text) = Ed25519Key::generate(name, ALG_ED25519)?;
        Ok((NoteSigner(key), text))
    }

    /// Read private key text as [`NoteSigner::generate`] writes it (one trailing newline is
    /// optional). The stated key id must match the key.
    pub fn from_private_key(text: &str) -> Result<NoteSigner, NoteError> {
        Ed25519Key::from_private_key(text, ALG_ED25519).map(NoteSigner)
    }

    /// Key name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Key id.
    pub fn key_id(&self) -> [u8; 4] {
        self.0.key_id
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier(PublicKey {
            name: self.0.name.clone(),
            alg: self.0.alg,
            key_id: self.0.key_id,
            key: self.0.public_key(),
        })
    }

    /// Verifier key text, `<name>+<key id>+<base64(0x01 ‖ public key)>`.
    pub fn vkey(&self) -> String {
        self.verifier().vkey()
    }

    /// Sign `body` (see [`check_body`] for what it must be): returns the full signed note,
    /// body, blank line and one signature line.
    pub fn sign(&self, body: &str) -> Result<String, NoteError> {
        check_body(body)?;
        let line = self
            .0
            .signature_line(self.0.pair.sign(body.as_bytes()).as_ref());
        let note = format!("{body}\n{line}");
        check_text(&note, MAX_NOTE_BYTES)?;
        Ok(note)
    }
}

/// An Ed25519 note verifier key (type byte 0x01) and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier(PublicKey);

impl NoteVerifier {
    /// Parse verifier key text `<name>+<8 lowercase hex key id>+<base64(0x01 ‖ public key)>`.
    pub fn parse(vkey: &str) -> Result<NoteVerifier, NoteError> {
        PublicKey::parse(vkey, ALG_ED25519).map(NoteVerifier)
    }

    /// Key name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Key id.
    pub fn key_id(&self) -> [u8; 4] {
        self.0.key_id
    }

    /// Verifier key text.
    pub fn vkey(&self) -> String {
        self.0.vkey()
    }

    /// Verify `note` and return its body. Exactly one signature line must carry this key's
    /// name and key id, and it must verify; lines by other keys are ignored.
    pub fn verify<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let parsed = Note::parse(note)?;
        let sig = parsed.only_signature_by(&self.0.name, self.0.key_id)?;
        self.0.verify(parsed.body.as_bytes(), &sig.signature)?;
        Ok(parsed.body)
    }
}

/// The message a `cosignature/v1` signs: header, time line, checkpoint body.
fn cosigned_message(checkpoint_body: &str, timestamp: u64) -> String {
    format!("{COSIGNATURE_HEADER}time {timestamp}\n{checkpoint_body}")
}

/// A witness key for Ed25519 `cosignature/v1` cosignatures (type byte 0x04) and its name.
///
/// `Debug` shows the name and key id only.
#[derive(Debug)]
pub struct CosignatureSigner(Ed25519Key);

impl CosignatureSigner {
    /// Make a new random key. Returns the signer and its private key text,
    /// `PRIVATE+KEY+<name>+<key id>+<base64(0x04 ‖ seed)>` followed by a newline. The type
    /// byte 0x04 keeps witness keys and note keys from being loaded as one another.
    pub fn generate(name: &str) -> Result<(CosignatureSigner, String), NoteError> {
        let (key, text) = Ed25519Key::generate(name, ALG_COSIGNATURE_V1)?;
        Ok((CosignatureSigner(key), text))
    }

    /// Read private key text as [`CosignatureSigner::generate`] writes it (one trailing
    /// newline is optional). The stated key id must match the key.
    pub fn from_private_key(text: &str) -> Result<CosignatureSigner, NoteError> {
        Ed25519Key::from_private_key(text, ALG_COSIGNATURE_V1).map(CosignatureSigner)
    }

    /// Key name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Key id.
    pub fn key_id(&self) -> [u8; 4] {
        self.0.key_id
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier(PublicKey {
            name: self.0.name.clone(),
            alg: self.0.alg,
            key_id: self.0.key_id,
            key: self.0.public_key(),
        })
    }

    /// Verifier key text, `<name>+<key id>+<base64(0x04 ‖ public key)>`.
    pub fn vkey(&self) -> String {
        self.verifier().vkey()
    }

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier(PublicKey);

impl CosignatureVerifier {
    /// Parse verifier key text `<name>+<8 lowercase hex key id>+<base64(0x04 ‖ public key)>`.
    pub fn parse(vkey: &str) -> Result<CosignatureVerifier, NoteError> {
        PublicKey::parse(vkey, ALG_COSIGNATURE_V1).map(CosignatureVerifier)
    }

    /// Key name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Key id.
    pub fn key_id(&self) -> [u8; 4] {
        self.0.key_id
    }

    /// Verifier key text.
    pub fn vkey(&self) -> String {
        self.0.vkey()
    }

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
