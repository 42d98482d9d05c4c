//! Ed25519 note keys: [`NoteSigner`] signs a note, [`NoteVerifier`] checks its signature.

use std::fmt;
use std::marker::PhantomData;

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use super::signed::{Note, NoteSignature};
use super::text::{
    check_body, check_key_name, check_text, decode_b64, encode_b64, hex_id, key_id, parse_hex_id,
};
use super::{ALG_ED25519, MAX_NOTE_BYTES, NoteError, PRIVATE_PREFIX};

/// Key text `<prefix><name>+<hex id>+<base64(alg ‖ key)>`, split and checked. `private` picks
/// the error for malformed text so that private key errors say nothing about the text.
pub(super) fn parse_key_text(
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
pub(super) struct Ed25519Key {
    pub(super) name: String,
    pub(super) alg: u8,
    pub(super) key_id: [u8; 4],
    pub(super) pair: Ed25519KeyPair,
}

impl Ed25519Key {
    pub(super) fn from_seed(name: &str, alg: u8, seed: &[u8; 32]) -> Result<Ed25519Key, NoteError> {
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

    pub(super) fn generate(name: &str, alg: u8) -> Result<(Ed25519Key, String), NoteError> {
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

    pub(super) fn from_private_key(text: &str, alg: u8) -> Result<Ed25519Key, NoteError> {
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

    pub(super) fn public_key(&self) -> [u8; 32] {
        let mut pk = [0u8; 32];
        pk.copy_from_slice(self.pair.public_key().as_ref());
        pk
    }

    pub(super) fn signature_line(&self, signed: &[u8]) -> String {
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
pub(super) struct PublicKey {
    pub(super) name: String,
    pub(super) alg: u8,
    pub(super) key_id: [u8; 4],
    pub(super) key: [u8; 32],
}

impl PublicKey {
    pub(super) fn parse(vkey: &str, alg: u8) -> Result<PublicKey, NoteError> {
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

    pub(super) fn vkey(&self) -> String {
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

    pub(super) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), NoteError> {
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

/// What sets one kind of Ed25519 key apart from another: the type byte its key texts and key
/// ids carry, which keeps note keys and witness keys from being loaded as one another. Only
/// this crate names the trait, so [`NoteKind`] and the witnesses' kind are the only kinds.
pub trait KeyKind {
    /// The type byte.
    const ALG: u8;
    /// The kind's name, which `Debug` puts before `Signer` and `Verifier`.
    const NAME: &'static str;
}

/// How keys of kind `K` show in `Debug`: as `<kind><role>(…)`, `NoteSigner(…)` for instance,
/// with only what `key`'s own `Debug` shows (never a private key).
fn debug_key<K: KeyKind>(
    f: &mut fmt::Formatter<'_>,
    role: &str,
    key: &dyn fmt::Debug,
) -> fmt::Result {
    f.debug_tuple(&format!("{}{role}", K::NAME))
        .field(key)
        .finish()
}

/// Ed25519 note signatures (type byte 0x01).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {}

impl KeyKind for NoteKind {
    const ALG: u8 = ALG_ED25519;
    const NAME: &'static str = "Note";
}

/// An Ed25519 signing key of kind `K` and its name: the key handling both kinds share, so
/// that note keys and witness keys are made, read and shown alike.
///
/// `Debug` shows the name and key id only.
pub struct Ed25519Signer<K: KeyKind>(pub(super) Ed25519Key, PhantomData<K>);

/// An Ed25519 note signing key (type byte 0x01) and its name.
pub type NoteSigner = Ed25519Signer<NoteKind>;

impl<K: KeyKind> Ed25519Signer<K> {
    /// Make a new random key. Returns the signer and its private key text,
    /// `PRIVATE+KEY+<name>+<key id>+<base64(type byte ‖ seed)>` followed by a newline, with
    /// the kind's type byte (0x01 for note keys, 0x04 for witness keys).
    pub fn generate(name: &str) -> Result<(Self, String), NoteError> {
        let (key, text) = Ed25519Key::generate(name, K::ALG)?;
        Ok((Ed25519Signer(key, PhantomData), text))
    }

    /// Read private key text as [`Ed25519Signer::generate`] writes it (one trailing newline
    /// is optional). The type byte must be this kind's, and the stated key id must match the
    /// key.
    pub fn from_private_key(text: &str) -> Result<Self, NoteError> {
        Ed25519Key::from_private_key(text, K::ALG).map(|key| Ed25519Signer(key, PhantomData))
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
    pub fn verifier(&self) -> Ed25519Verifier<K> {
        Ed25519Verifier(
            PublicKey {
                name: self.0.name.clone(),
                alg: self.0.alg,
                key_id: self.0.key_id,
                key: self.0.public_key(),
            },
            PhantomData,
        )
    }

    /// Verifier key text, `<name>+<key id>+<base64(type byte ‖ public key)>`.
    pub fn vkey(&self) -> String {
        self.verifier().vkey()
    }
}

impl<K: KeyKind> fmt::Debug for Ed25519Signer<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_key::<K>(f, "Signer", &self.0)
    }
}

impl NoteSigner {
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

/// An Ed25519 verifier key of kind `K` and its name.
#[derive(Clone, PartialEq, Eq)]
pub struct Ed25519Verifier<K: KeyKind>(pub(super) PublicKey, PhantomData<K>);

/// An Ed25519 note verifier key (type byte 0x01) and its name.
pub type NoteVerifier = Ed25519Verifier<NoteKind>;

impl<K: KeyKind> Ed25519Verifier<K> {
    /// Parse verifier key text `<name>+<8 lowercase hex key id>+<base64(type byte ‖ public
    /// key)>`; the type byte must be this kind's.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        PublicKey::parse(vkey, K::ALG).map(|key| Ed25519Verifier(key, PhantomData))
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
}

impl<K: KeyKind> fmt::Debug for Ed25519Verifier<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_key::<K>(f, "Verifier", &self.0)
    }
}

impl NoteVerifier {
    /// Verify `note` and return its body. Exactly one signature line must carry this key's
    /// name and key id, and it must verify; lines by other keys are ignored.
    pub fn verify<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let parsed = Note::parse(note)?;
        let sig = parsed.only_signature_by(&self.0.name, self.0.key_id)?;
        self.0.verify(parsed.body.as_bytes(), &sig.signature)?;
        Ok(parsed.body)
    }
}
