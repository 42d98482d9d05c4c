//! 国密 (Chinese commercial cryptography): SM3 hashing and SM2 signatures.
//!
//! Built on RustCrypto's `sm2` and `sm3` (one coherent RustCrypto stack with `der` and `spki`);
//! `ring` stays for P-256, Ed25519 and TLS. Every SM2 signature here is made and checked with
//! the distinguishing ID `1234567812345678` (GB/T 35276) unless a caller names another one.
//!
//! Signatures arrive in the encodings real vendors write, and [`Sm2Signature::parse`] reads all
//! of them: DER `SEQUENCE { r INTEGER, s INTEGER }`, the raw 64-byte `r ‖ s`, and DER whose
//! INTEGERs lack the leading zero a value with its top bit set needs (so they read as negative
//! numbers to a strict parser). What matters is that the signature is genuine; which encoding
//! carried it is kept in [`SigEncoding`] for reports.

use der::{Decode, Encode, Reader, SliceReader, Tag, Tagged, asn1::AnyRef};
use sm2::dsa::signature::{Signer, Verifier};
use sm3::Digest;

/// The distinguishing ID of GB/T 35276 used when a format names no other.
pub const DEFAULT_DISTID: &str = "1234567812345678";

/// OID of the SM2 curve (sm2p256v1), also used as a key algorithm by GM/T 0015.
pub const OID_SM2_CURVE: &str = "1.2.156.10197.1.301";
/// OID of SM2 signatures with SM3 (`SM2-with-SM3`).
pub const OID_SM2_WITH_SM3: &str = "1.2.156.10197.1.501";
/// OID of the SM3 hash.
pub const OID_SM3: &str = "1.2.156.10197.1.401";
/// OID of `id-ecPublicKey` (RFC 5480).
pub const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

/// What went wrong with a key or a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GmError {
    /// The public key is not a point of the SM2 curve, or not encoded as one.
    #[error("not an SM2 public key: {0}")]
    BadPublicKey(String),
    /// The private key could not be read.
    #[error("not an SM2 private key: {0}")]
    BadPrivateKey(String),
    /// The signature is in none of the accepted encodings, or r or s is out of range.
    #[error("not an SM2 signature value: {0}")]
    BadEncoding(String),
    /// The signature is well formed but does not verify under the key.
    #[error("the SM2 signature does not verify")]
    Mismatch,
}

/// SM3 of `data` (GB/T 32905).
pub fn sm3(data: &[u8]) -> [u8; 32] {
    sm3::Sm3::digest(data).into()
}

/// SM3 over several slices, as if concatenated.
pub fn sm3_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = sm3::Sm3::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// How a signature value was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SigEncoding {
    /// Canonical DER `SEQUENCE { r, s }`.
    Der,
    /// DER `SEQUENCE { r, s }` whose INTEGERs are not minimal (a missing leading zero, or
    /// extra leading zeros): read as the unsigned numbers the vendor meant.
    LenientDer,
    /// The raw 64 bytes `r ‖ s`.
    Raw,
}

/// An SM2 signature: the two scalars, and the encoding they came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sm2Signature {
    r: [u8; 32],
    s: [u8; 32],
    encoding: SigEncoding,
}

impl Sm2Signature {
    /// Reads a signature value in any of the accepted encodings.
    ///
    /// Refuses anything else: other lengths, trailing bytes, more or fewer than two
    /// INTEGERs, a scalar longer than 32 bytes after its leading zeros, r or s zero.
    pub fn parse(bytes: &[u8]) -> Result<Self, GmError> {
        if bytes.len() == 64 && bytes.first() != Some(&0x30) {
            return Self::from_parts(&bytes[..32], &bytes[32..], SigEncoding::Raw);
        }
        if bytes.len() == 64 {
            // A raw value whose r starts with 0x30 is also possible: try DER, then raw.
            return Self::parse_der(bytes)
                .or_else(|_| Self::from_parts(&bytes[..32], &bytes[32..], SigEncoding::Raw));
        }
        Self::parse_der(bytes)
    }

    fn parse_der(bytes: &[u8]) -> Result<Self, GmError> {
        let bad = |e: der::Error| GmError::BadEncoding(format!("DER: {e}"));
        let mut outer = SliceReader::new(bytes).map_err(bad)?;
        let seq = AnyRef::decode(&mut outer).map_err(bad)?;
        outer.finish().map_err(bad)?;
        if seq.tag() != Tag::Sequence {
            return Err(GmError::BadEncoding(format!(
                "expected a SEQUENCE or 64 bytes, found {} ({} bytes)",
                seq.tag(),
                bytes.len()
            )));
        }
        let mut inner = SliceReader::new(seq.value()).map_err(bad)?;
        let r = AnyRef::decode(&mut inner).map_err(bad)?;
        let s = AnyRef::decode(&mut inner).map_err(bad)?;
        inner.finish().map_err(bad)?;
        if r.tag() != Tag::Integer || s.tag() != Tag::Integer {
            return Err(GmError::BadEncoding(
                "the SEQUENCE must hold two INTEGERs".into(),
            ));
        }
        let canonical = minimal(r.value()) && minimal(s.value());
        let encoding = if canonical {
            SigEncoding::Der
        } else {
            SigEncoding::LenientDer
        };
        Self::from_parts(r.value(), s.value(), encoding)
    }

    fn from_parts(r: &[u8], s: &[u8], encoding: SigEncoding) -> Result<Self, GmError> {
        let r = scalar(r, "r")?;
        let s = scalar(s, "s")?;
        Ok(Sm2Signature { r, s, encoding })
    }

    /// The encoding the value came in.
    pub fn encoding(&self) -> SigEncoding {
        self.encoding
    }

    /// The raw 64 bytes `r ‖ s`.
    pub fn to_raw(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.r);
        out[32..].copy_from_slice(&self.s);
        out
    }

    /// Canonical DER `SEQUENCE { r, s }`.
    pub fn to_der(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(72);
        for v in [&self.r, &self.s] {
            let (h, t) = der_uint(v);
            body.extend_from_slice(&h);
            body.extend_from_slice(&t);
        }
        let mut out = Vec::with_capacity(body.len() + 2);
        out.push(0x30);
        out.push(body.len() as u8); // at most 2 × 35 bytes, a one-byte length
        out.extend_from_slice(&body);
        out
    }

    fn to_crate(&self) -> Result<sm2::dsa::Signature, GmError> {
        sm2::dsa::Signature::from_slice(&self.to_raw())
            .map_err(|_| GmError::BadEncoding("r or s is not a scalar of the curve".into()))
    }
}

/// Whether `v` is a minimal DER INTEGER encoding of a non-negative number.
fn minimal(v: &[u8]) -> bool {
    match v {
        [] => false,
        [first, ..] if first & 0x80 != 0 => false,
        [0, second, ..] => second & 0x80 != 0,
        _ => true,
    }
}

/// Reads an INTEGER's content octets as an unsigned 32-byte big-endian scalar.
fn scalar(v: &[u8], name: &str) -> Result<[u8; 32], GmError> {
    let start = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    let digits = &v[start..];
    if digits.is_empty() {
        return Err(GmError::BadEncoding(format!("{name} is zero")));
    }
    if digits.len() > 32 {
        return Err(GmError::BadEncoding(format!(
            "{name} is {} bytes long, more than 32",
            digits.len()
        )));
    }
    let mut out = [0u8; 32];
    out[32 - digits.len()..].copy_from_slice(digits);
    Ok(out)
}

/// The minimal DER INTEGER (tag and length, then content) of an unsigned 32-byte number.
fn der_uint(v: &[u8; 32]) -> ([u8; 2], Vec<u8>) {
    let start = v.iter().position(|b| *b != 0).unwrap_or(31);
    let mut content = Vec::with_capacity(33);
    if v[start] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(&v[start..]);
    ([0x02, content.len() as u8], content)
}

/// An SM2 public key with the distinguishing ID it verifies under.
#[derive(Debug, Clone)]
pub struct Sm2PublicKey {
    key: sm2::dsa::VerifyingKey,
}

impl Sm2PublicKey {
    /// A key from its SEC1 point (`04 ‖ x ‖ y`, or compressed), under the default ID.
    pub fn from_sec1(point: &[u8]) -> Result<Self, GmError> {
        Self::from_sec1_with_id(point, DEFAULT_DISTID)
    }

    /// A key from its SEC1 point under the distinguishing ID `distid`.
    pub fn from_sec1_with_id(point: &[u8], distid: &str) -> Result<Self, GmError> {
        sm2::dsa::VerifyingKey::from_sec1_bytes(distid, point)
            .map(|key| Sm2PublicKey { key })
            .map_err(|_| GmError::BadPublicKey("not a point of the SM2 curve".into()))
    }

    /// A key from a DER `SubjectPublicKeyInfo`, under the default ID.
    ///
    /// Accepts both forms in use: `id-ecPublicKey` with the SM2 curve as its parameter
    /// (RFC 5480 style, what OpenSSL writes), and the SM2 OID itself as the key algorithm
    /// (GM/T 0015). Refuses any other algorithm or curve.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, GmError> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| GmError::BadPublicKey(format!("SubjectPublicKeyInfo: {e}")))?;
        check_key_algorithm(&spki.algorithm)?;
        let point = spki.subject_public_key.as_bytes().ok_or_else(|| {
            GmError::BadPublicKey("the key's BIT STRING is not whole bytes".into())
        })?;
        Self::from_sec1(point)
    }

    /// A key from a PEM `PUBLIC KEY` block (SubjectPublicKeyInfo).
    pub fn from_pem(pem: &str) -> Result<Self, GmError> {
        let (label, der) = der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|e| GmError::BadPublicKey(format!("PEM: {e}")))?;
        if label != "PUBLIC KEY" {
            return Err(GmError::BadPublicKey(format!(
                "expected a PUBLIC KEY block, found {label}"
            )));
        }
        Self::from_spki_der(&der)
    }

    /// The uncompressed SEC1 point.
    pub fn to_sec1(&self) -> Vec<u8> {
        self.key.to_sec1_bytes().into_vec()
    }

    /// The key as a DER `SubjectPublicKeyInfo` (`id-ecPublicKey`, SM2 curve).
    pub fn to_spki_der(&self) -> Vec<u8> {
        spki_der(&self.to_sec1())
    }

    /// Checks `sig` over `msg` (SM3 of `Z ‖ msg`, GB/T 32918.2).
    pub fn verify(&self, msg: &[u8], sig: &Sm2Signature) -> Result<(), GmError> {
        self.key
            .verify(msg, &sig.to_crate()?)
            .map_err(|_| GmError::Mismatch)
    }
}

/// Checks that an `AlgorithmIdentifier` names an SM2 key.
fn check_key_algorithm(alg: &spki::AlgorithmIdentifierRef<'_>) -> Result<(), GmError> {
    let oid = alg.oid.to_string();
    if oid == OID_SM2_CURVE {
        return Ok(());
    }
    if oid != OID_EC_PUBLIC_KEY {
        return Err(GmError::BadPublicKey(format!(
            "key algorithm {oid} is neither id-ecPublicKey nor SM2"
        )));
    }
    let curve = alg
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
        .map(|o| o.to_string());
    match curve.as_deref() {
        Some(OID_SM2_CURVE) => Ok(()),
        Some(other) => Err(GmError::BadPublicKey(format!(
            "an EC key on curve {other}, not SM2"
        ))),
        None => Err(GmError::BadPublicKey(
            "an EC key without a named curve".into(),
        )),
    }
}

/// DER `SubjectPublicKeyInfo` of an SM2 point: `id-ecPublicKey` with the SM2 curve.
pub fn spki_der(point: &[u8]) -> Vec<u8> {
    // SEQUENCE { SEQUENCE { OID id-ecPublicKey, OID sm2 }, BIT STRING point }
    const ALG: &[u8] = &[
        0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x81,
        0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d,
    ];
    let mut bits = vec![0x03];
    push_len(&mut bits, point.len() + 1);
    bits.push(0);
    bits.extend_from_slice(point);
    let mut out = vec![0x30];
    push_len(&mut out, ALG.len() + bits.len());
    out.extend_from_slice(ALG);
    out.extend_from_slice(&bits);
    out
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
}

/// An SM2 private key for signing, under the default distinguishing ID.
pub struct Sm2PrivateKey {
    key: sm2::dsa::SigningKey,
}

impl std::fmt::Debug for Sm2PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sm2PrivateKey(..)")
    }
}

impl Sm2PrivateKey {
    /// A new random key.
    pub fn generate() -> Result<Self, GmError> {
        let mut bytes = [0u8; 32];
        loop {
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
                .map_err(|_| GmError::BadPrivateKey("no randomness".into()))?;
            if let Ok(k) = Self::from_scalar(&bytes) {
                return Ok(k);
            }
        }
    }

    /// A key from its 32-byte scalar.
    pub fn from_scalar(bytes: &[u8]) -> Result<Self, GmError> {
        sm2::dsa::SigningKey::from_slice(DEFAULT_DISTID, bytes)
            .map(|key| Sm2PrivateKey { key })
            .map_err(|_| GmError::BadPrivateKey("the scalar is zero or not below the order".into()))
    }

    /// A key from PEM: PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY` (what OpenSSL writes).
    pub fn from_pem(pem: &str) -> Result<Self, GmError> {
        use sm2::pkcs8::DecodePrivateKey;
        let (label, der) = der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|e| GmError::BadPrivateKey(format!("PEM: {e}")))?;
        let secret = match label {
            "PRIVATE KEY" => sm2::SecretKey::from_pkcs8_der(&der)
                .map_err(|e| GmError::BadPrivateKey(format!("PKCS#8: {e}")))?,
            "EC PRIVATE KEY" => sm2::SecretKey::from_sec1_der(&der)
                .map_err(|e| GmError::BadPrivateKey(format!("SEC1: {e}")))?,
            other => {
                return Err(GmError::BadPrivateKey(format!(
                    "expected a PRIVATE KEY or EC PRIVATE KEY block, found {other}"
                )));
            }
        };
        sm2::dsa::SigningKey::new(DEFAULT_DISTID, &secret)
            .map(|key| Sm2PrivateKey { key })
            .map_err(|_| GmError::BadPrivateKey("unusable key".into()))
    }

    /// The key as PKCS#8 PEM (`PRIVATE KEY`), which OpenSSL 3 reads as an SM2 key.
    pub fn to_pkcs8_pem(&self) -> Result<String, GmError> {
        use sm2::pkcs8::{EncodePrivateKey, LineEnding};
        let secret = sm2::SecretKey::from_bytes(&self.key.to_bytes())
            .map_err(|_| GmError::BadPrivateKey("unusable key".into()))?;
        secret
            .to_pkcs8_pem(LineEnding::LF)
            .map(|z| z.to_string())
            .map_err(|e| GmError::BadPrivateKey(format!("PKCS#8: {e}")))
    }

    /// The RustCrypto signing key, for builders that take a `signature::Keypair` (the
    /// x509-cert certificate and CRL builders). It signs under the default ID too.
    pub(crate) fn signing_key(&self) -> &sm2::dsa::SigningKey {
        &self.key
    }

    /// The public half.
    pub fn public_key(&self) -> Sm2PublicKey {
        Sm2PublicKey {
            key: self.key.verifying_key().clone(),
        }
    }

    /// Signs `msg` (deterministic nonce, RFC 6979 style, as the crate does).
    pub fn sign(&self, msg: &[u8]) -> Result<Sm2Signature, GmError> {
        let sig: sm2::dsa::Signature = self
            .key
            .try_sign(msg)
            .map_err(|_| GmError::BadPrivateKey("signing failed".into()))?;
        let raw = sig.to_bytes();
        Sm2Signature::from_parts(&raw[..32], &raw[32..], SigEncoding::Der)
    }
}

/// DER of an `AlgorithmIdentifier` for SM2-with-SM3 (no parameters).
pub fn sm2_with_sm3_algorithm_der() -> Vec<u8> {
    let oid = der::asn1::ObjectIdentifier::new_unwrap(OID_SM2_WITH_SM3);
    let mut out = Vec::new();
    // SEQUENCE { OID }: encoding an OID cannot fail for a constant one.
    if let Ok(o) = oid.to_der() {
        out.push(0x30);
        push_len(&mut out, o.len());
        out.extend_from_slice(&o);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    /// GB/T 32905-2016 Appendix A: "abc" and "abcd" × 16.
    #[test]
    fn sm3_known_answers_of_the_standard() {
        assert_eq!(
            sm3(b"abc").to_vec(),
            h("66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0")
        );
        assert_eq!(
            sm3(&b"abcd".repeat(16)).to_vec(),
            h("debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732")
        );
        assert_eq!(sm3_parts(&[b"ab", b"c"]), sm3(b"abc"));
    }

    /// GB/T 32918.5-2017 Annex C (GM/T 0003.5): the signature example on the recommended
    /// curve, message "message digest", ID 1234567812345678.
    const EX_D: &str = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8";
    const EX_X: &str = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020";
    const EX_Y: &str = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13";
    const EX_R: &str = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3";
    const EX_S: &str = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA";

    #[test]
    fn the_standards_example_key_and_signature() {
        let sk = Sm2PrivateKey::from_scalar(&h(EX_D)).unwrap();
        let point = [vec![4], h(EX_X), h(EX_Y)].concat();
        assert_eq!(
            sk.public_key().to_sec1(),
            point,
            "d·G is the example's point"
        );
        let pk = Sm2PublicKey::from_sec1(&point).unwrap();
        let raw = [h(EX_R), h(EX_S)].concat();
        let sig = Sm2Signature::parse(&raw).unwrap();
        assert_eq!(sig.encoding(), SigEncoding::Raw);
        pk.verify(b"message digest", &sig).unwrap();
        assert_eq!(pk.verify(b"message digesT", &sig), Err(GmError::Mismatch));
        // Under another ID the same value does not verify.
        let other = Sm2PublicKey::from_sec1_with_id(&point, "ALICE123@YAHOO.COM").unwrap();
        assert_eq!(
            other.verify(b"message digest", &sig),
            Err(GmError::Mismatch)
        );
    }

    #[test]
    fn every_vendor_encoding_reads_the_same_signature() {
        let sk = Sm2PrivateKey::generate().unwrap();
        let pk = sk.public_key();
        // Find a signature whose r has its top bit set, so that the encodings differ.
        let mut msg = 0u32;
        let sig = loop {
            let s = sk.sign(&msg.to_be_bytes()).unwrap();
            if s.to_raw()[0] & 0x80 != 0 {
                break s;
            }
            msg += 1;
        };
        let m = msg.to_be_bytes();
        let der = sig.to_der();
        let d = Sm2Signature::parse(&der).unwrap();
        assert_eq!(d.encoding(), SigEncoding::Der);
        pk.verify(&m, &d).unwrap();
        let raw = Sm2Signature::parse(&sig.to_raw()).unwrap();
        assert_eq!(raw.encoding(), SigEncoding::Raw);
        pk.verify(&m, &raw).unwrap();
        // The r INTEGER without its leading zero, as some vendors write it.
        let r = &sig.to_raw()[..32];
        let s_int = &der[2 + 2 + 33..];
        let mut body = vec![0x02, 32];
        body.extend_from_slice(r);
        body.extend_from_slice(s_int);
        let mut lenient = vec![0x30, body.len() as u8];
        lenient.extend_from_slice(&body);
        let l = Sm2Signature::parse(&lenient).unwrap();
        assert_eq!(l.encoding(), SigEncoding::LenientDer);
        pk.verify(&m, &l).unwrap();
        assert_eq!(l.to_der(), der, "re-encoded canonically");
    }

    #[test]
    fn malformed_values_are_refused_by_name() {
        for (bytes, why) in [
            (vec![], "DER"),
            (vec![0u8; 63], "DER"),
            (vec![0x30, 0x00], "DER"),
            (
                vec![0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
                "SEQUENCE",
            ),
            (vec![0x30, 0x03, 0x02, 0x01, 0x01], "DER"),
            (
                vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01],
                "r is zero",
            ),
            (
                vec![0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00],
                "DER",
            ),
        ] {
            let e = Sm2Signature::parse(&bytes).unwrap_err();
            assert!(e.to_string().contains(why), "{bytes:?}: {e}");
        }
        let mut long = vec![0x30, 0x26, 0x02, 0x21, 0x01];
        long.extend_from_slice(&[1u8; 32]);
        long.extend_from_slice(&[0x02, 0x01, 0x01]);
        let e = Sm2Signature::parse(&long).unwrap_err();
        assert!(e.to_string().contains("33 bytes long"), "{e}");
    }

    #[test]
    fn keys_round_trip_through_pem_and_spki() {
        let sk = Sm2PrivateKey::generate().unwrap();
        let pem = sk.to_pkcs8_pem().unwrap();
        let back = Sm2PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(back.public_key().to_sec1(), sk.public_key().to_sec1());
        let spki = sk.public_key().to_spki_der();
        let pk = Sm2PublicKey::from_spki_der(&spki).unwrap();
        assert_eq!(pk.to_sec1(), sk.public_key().to_sec1());
        // The GM/T 0015 form: the SM2 OID as the key algorithm.
        let mut gmt = vec![0x30, 0x13 - 9 + 10 + 0x42 + 2 + 1];
        let alg = [
            0x30, 0x0a, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d,
        ];
        let point = sk.public_key().to_sec1();
        let mut bits = vec![0x03, 0x42, 0x00];
        bits.extend_from_slice(&point);
        gmt[1] = (alg.len() + bits.len()) as u8;
        gmt.extend_from_slice(&alg);
        gmt.extend_from_slice(&bits);
        let pk = Sm2PublicKey::from_spki_der(&gmt).unwrap();
        assert_eq!(pk.to_sec1(), point);
        // A P-256 key is refused.
        let p256 = h("3059301306072a8648ce3d020106082a8648ce3d030107034200");
        let mut p = p256.clone();
        p.extend_from_slice(&point);
        let e = Sm2PublicKey::from_spki_der(&p).unwrap_err();
        assert!(e.to_string().contains("1.2.840.10045.3.1.7"), "{e}");
    }

    #[test]
    fn the_algorithm_identifier_is_sm2_with_sm3() {
        assert_eq!(sm2_with_sm3_algorithm_der(), h("300a06082a811ccf55018375"));
    }
}
