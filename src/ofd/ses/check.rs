//! The cryptographic checks on parsed seals and signatures: whether each signature holds.

use crate::gm::{self, Sm2PublicKey, Sm2Signature};

use der::Decode;
use der::asn1::ObjectIdentifier;

use super::{
    CertList, OID_SM2_SIGN, OID_SM2_WITH_SM3, Seal, SesError, SesSignature, SignedData,
    malformed_msg,
};

/// The SM2 public key of a certificate (DER).
///
/// A certificate that cannot be read is [`SesError::Malformed`]; one whose key is not an SM2
/// key is [`SesError::UnsupportedAlgorithm`].
pub fn sm2_key_of_certificate(
    cert_der: &[u8],
    what: &'static str,
) -> Result<Sm2PublicKey, SesError> {
    let (rest, cert) = x509_parser::parse_x509_certificate(cert_der)
        .map_err(|e| malformed_msg(what, format!("certificate: {e}")))?;
    if !rest.is_empty() {
        return Err(malformed_msg(what, "bytes after the certificate"));
    }
    let spki_der = cert.tbs_certificate.subject_pki.raw;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| malformed_msg(what, format!("certificate's public key: {e}")))?;
    let alg = spki.algorithm.oid.to_string();
    let curve = spki
        .algorithm
        .parameters
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .map(|o| o.to_string());
    let sm2 = alg == gm::OID_SM2_CURVE
        || (alg == gm::OID_EC_PUBLIC_KEY && curve.as_deref() == Some(gm::OID_SM2_CURVE));
    if !sm2 {
        return Err(SesError::UnsupportedAlgorithm {
            what,
            oid: match curve {
                Some(c) => format!("{alg} on curve {c}"),
                None => alg,
            },
        });
    }
    Sm2PublicKey::from_spki_der(spki_der)
        .map_err(|e| malformed_msg(what, format!("certificate's public key: {e}")))
}

/// Checks an SM2-with-SM3 signature value over `msg` with the key of `cert_der`.
fn check_sm2(
    alg: &str,
    cert_der: &[u8],
    msg: &[u8],
    signature: &[u8],
    what: &'static str,
) -> Result<(), SesError> {
    if alg != OID_SM2_WITH_SM3 {
        return Err(SesError::UnsupportedAlgorithm {
            what,
            oid: alg.to_owned(),
        });
    }
    let key = sm2_key_of_certificate(cert_der, what)?;
    let sig = Sm2Signature::parse(signature)
        .map_err(|e| malformed_msg(what, format!("signature value: {e}")))?;
    key.verify(msg, &sig)
        .map_err(|_| SesError::BadSignature { what })
}

impl Seal {
    /// Checks the seal maker's signature over [`Seal::maker_signed_bytes`] with the key of
    /// [`Seal::maker_cert_der`]. Says nothing about whether the maker is trusted.
    pub fn verify_maker_signature(&self) -> Result<(), SesError> {
        check_sm2(
            &self.maker_signature_alg,
            &self.maker_cert_der,
            &self.maker_signed_bytes,
            &self.maker_signature,
            "seal maker's signature",
        )
    }

    /// Checks that the seal's validity period covers `at` (Unix seconds), both ends included.
    pub fn valid_at(&self, at: i64) -> Result<(), SesError> {
        if self.valid_start.unix <= at && at <= self.valid_end.unix {
            Ok(())
        } else {
            Err(SesError::SealNotValid {
                at,
                valid_start: self.valid_start.unix,
                valid_end: self.valid_end.unix,
            })
        }
    }

    /// Whether the seal lists `cert_der`: the same DER, or its digest under the named hash
    /// (SM3, SHA-1 or SHA-256). A digest under another hash never matches.
    pub fn lists_certificate(&self, cert_der: &[u8]) -> bool {
        match &self.cert_list {
            CertList::Certificates(certs) => certs.iter().any(|c| c.as_slice() == cert_der),
            CertList::Digests(digests) => digests
                .iter()
                .any(|d| digest_by_name(&d.algorithm, cert_der).is_some_and(|h| h == d.value)),
        }
    }
}

/// The digest of `data` under the hash named as seals name them (`SM3`, `SHA1`, `SHA-256`, in
/// any case, or SM3's OID), if it is one known here.
fn digest_by_name(name: &str, data: &[u8]) -> Option<Vec<u8>> {
    let n: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match n.as_str() {
        "sm3" | "12156101971401" => Some(gm::sm3(data).to_vec()),
        "sha1" => Some(
            ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
                .as_ref()
                .to_vec(),
        ),
        "sha256" => Some(
            ring::digest::digest(&ring::digest::SHA256, data)
                .as_ref()
                .to_vec(),
        ),
        _ => None,
    }
}

impl SesSignature {
    /// Checks the signature over the exact `TBS_Sign` bytes with the key of the signer's
    /// certificate. Says nothing about whether the signer is trusted.
    pub fn verify_signature(&self) -> Result<(), SesError> {
        check_sm2(
            &self.signature_alg,
            &self.signer_cert_der,
            &self.tbs_der,
            &self.signature,
            "signature",
        )
    }

    /// Checks that the seal lists the signer's certificate.
    pub fn signer_in_seal(&self) -> Result<(), SesError> {
        if self.seal.lists_certificate(&self.signer_cert_der) {
            Ok(())
        } else {
            Err(SesError::SignerNotInSeal)
        }
    }

    /// Whether `dataHash` is SM3 of `signature_xml` (the raw bytes of the signature's
    /// `Signature.xml`).
    pub fn data_hash_matches(&self, signature_xml: &[u8]) -> bool {
        self.data_hash == gm::sm3(signature_xml)
    }

    /// [`SesSignature::data_hash_matches`] as a check.
    pub fn check_data_hash(&self, signature_xml: &[u8]) -> Result<(), SesError> {
        if self.data_hash_matches(signature_xml) {
            Ok(())
        } else {
            Err(SesError::DataHashMismatch { what: "dataHash" })
        }
    }

    /// Checks that the seal's validity period covers the signing time (`timeInfo`).
    pub fn seal_valid_at_signing(&self) -> Result<(), SesError> {
        self.seal.valid_at(self.time_info.unix)
    }
}

impl SignedData {
    /// The bytes signed: `content` when the `SignedData` carries it, else `signature_xml`.
    fn signed_content<'a>(&'a self, signature_xml: &'a [u8]) -> &'a [u8] {
        self.content.as_deref().unwrap_or(signature_xml)
    }

    /// Checks that what the signature protects is `signature_xml`: the embedded content, if
    /// any, equals it, and the `messageDigest` attribute, if any, is its SM3.
    pub fn check_data_hash(&self, signature_xml: &[u8]) -> Result<(), SesError> {
        if self.content.as_deref().is_some_and(|c| c != signature_xml) {
            return Err(SesError::DataHashMismatch { what: "content" });
        }
        if let Some(attrs) = &self.signed_attributes {
            if self.digest_alg != gm::OID_SM3 {
                return Err(SesError::UnsupportedAlgorithm {
                    what: "SignedData digest",
                    oid: self.digest_alg.clone(),
                });
            }
            if attrs.message_digest != gm::sm3(signature_xml) {
                return Err(SesError::DataHashMismatch {
                    what: "messageDigest",
                });
            }
        }
        Ok(())
    }

    /// Checks the signature with the key of the signer's certificate: over the signed
    /// attributes (as a `SET`) when present, else over the content (`signature_xml` when the
    /// signature is detached). The digest algorithm must be SM3 and the signature algorithm
    /// SM2 (`sm2sign` or SM2-with-SM3).
    pub fn verify_signature(&self, signature_xml: &[u8]) -> Result<(), SesError> {
        const WHAT: &str = "signature";
        if self.digest_alg != gm::OID_SM3 {
            return Err(SesError::UnsupportedAlgorithm {
                what: "SignedData digest",
                oid: self.digest_alg.clone(),
            });
        }
        if self.signature_alg != OID_SM2_SIGN && self.signature_alg != OID_SM2_WITH_SM3 {
            return Err(SesError::UnsupportedAlgorithm {
                what: WHAT,
                oid: self.signature_alg.clone(),
            });
        }
        let cert = self
            .signer_cert_der
            .as_deref()
            .ok_or(SesError::NoSignerCertificate)?;
        let msg = match &self.signed_attributes {
            Some(a) => a.signed_der.as_slice(),
            None => self.signed_content(signature_xml),
        };
        check_sm2(OID_SM2_WITH_SM3, cert, msg, &self.signature, WHAT)
    }
}
