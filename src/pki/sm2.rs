//! SM2-with-SM3 for rustls-webpki: certificate and CRL signatures made with 国密 keys.
//!
//! rustls-webpki knows no algorithm by itself: it picks a [`SignatureVerificationAlgorithm`]
//! whose `signature_alg_id` equals, byte for byte, the contents of the certificate's (or CRL's)
//! `signatureAlgorithm`, and then whose `public_key_alg_id` equals the contents of the issuer
//! key's `AlgorithmIdentifier`. Both are compared as the DER *inside* the SEQUENCE (the OID and
//! the parameters), as pki-types' `alg_id` constants are. So each accepted spelling needs its
//! own instance; [`SM2_ALGORITHMS`] holds all of them:
//!
//! | signature algorithm | issuer key algorithm | instance |
//! |---|---|---|
//! | `1.2.156.10197.1.501` | `id-ecPublicKey` + curve `1.2.156.10197.1.301` | [`SM2_SM3`] |
//! | `1.2.156.10197.1.501`, NULL | `id-ecPublicKey` + curve `1.2.156.10197.1.301` | [`SM2_SM3_NULL`] |
//! | `1.2.156.10197.1.501` | `1.2.156.10197.1.301` (GM/T 0015) | [`SM2_SM3_GMT0015_KEY`] |
//! | `1.2.156.10197.1.501`, NULL | `1.2.156.10197.1.301` (GM/T 0015) | [`SM2_SM3_NULL_GMT0015_KEY`] |
//! | `1.2.156.10197.1.501` | `1.2.156.10197.1.301`, NULL (GM/T 0015) | [`SM2_SM3_GMT0015_KEY_NULL`] |
//! | `1.2.156.10197.1.501`, NULL | `1.2.156.10197.1.301`, NULL (GM/T 0015) | [`SM2_SM3_NULL_GMT0015_KEY_NULL`] |
//!
//! **NULL parameters are accepted.** The SM2-with-SM3 OID has no parameters, and what we write
//! has none (as OpenSSL and RustCrypto write it), but some issuers put an explicit NULL there,
//! as RSA identifiers have it, and the GM/T 0015 key form is seen with and without one. A NULL
//! carries no information: it cannot select another hash, curve or ID, so accepting it lets no
//! signature pass that would fail without it, and refusing it would only refuse real
//! certificates. Any *other* parameter is refused (no instance matches it, and webpki reports
//! an unsupported algorithm).
//!
//! The signature is checked over the TBS bytes webpki hands over, with SM3 and the
//! distinguishing ID `1234567812345678` ([`crate::gm::DEFAULT_DISTID`], GB/T 35276), which is
//! what certificates of Chinese CAs, OpenSSL (`-sigopt distid:...`) and RustCrypto use. The
//! value is read with [`Sm2Signature::parse`]: canonical DER `SEQUENCE { r, s }`, as RFC 5280
//! wants, and the vendor encodings that module accepts (INTEGERs missing their leading zero,
//! raw `r ‖ s`). What matters for trust is that the signature is genuine; the encoding carries
//! no meaning webpki relies on (it never compares signatures).

use crate::gm::{Sm2PublicKey, Sm2Signature};
use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};

/// `OBJECT IDENTIFIER 1.2.156.10197.1.501` (SM2-with-SM3), no parameters.
pub const ALG_SM2_WITH_SM3: AlgorithmIdentifier =
    AlgorithmIdentifier::from_slice(&[0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75]);

/// `OBJECT IDENTIFIER 1.2.156.10197.1.501` (SM2-with-SM3) with a NULL parameter.
pub const ALG_SM2_WITH_SM3_NULL: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
    0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75, 0x05, 0x00,
]);

/// `id-ecPublicKey` (1.2.840.10045.2.1) with the named curve SM2 (1.2.156.10197.1.301): the
/// RFC 5480 form, which OpenSSL and RustCrypto write.
pub const KEY_EC_SM2: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55,
    0x01, 0x82, 0x2d,
]);

/// The SM2 OID (1.2.156.10197.1.301) as the key algorithm, no parameters (GM/T 0015).
pub const KEY_GMT0015_SM2: AlgorithmIdentifier =
    AlgorithmIdentifier::from_slice(&[0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d]);

/// The SM2 OID (1.2.156.10197.1.301) as the key algorithm with a NULL parameter (GM/T 0015).
pub const KEY_GMT0015_SM2_NULL: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
    0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, 0x05, 0x00,
]);

/// SM2 signatures with SM3 under the default distinguishing ID, for one pair of spellings of
/// the signature and key algorithm identifiers.
#[derive(Debug, Clone, Copy)]
struct Sm2Sm3 {
    public_key_alg_id: AlgorithmIdentifier,
    signature_alg_id: AlgorithmIdentifier,
}

impl SignatureVerificationAlgorithm for Sm2Sm3 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key = Sm2PublicKey::from_sec1(public_key).map_err(|_| InvalidSignature)?;
        let sig = Sm2Signature::parse(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &sig).map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.public_key_alg_id
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.signature_alg_id
    }

    fn fips(&self) -> bool {
        false
    }
}

/// The accepted spellings of the signature algorithm, the plain one first.
const SIGNATURE_SPELLINGS: [AlgorithmIdentifier; 2] = [ALG_SM2_WITH_SM3, ALG_SM2_WITH_SM3_NULL];

/// The accepted spellings of the issuer key's algorithm, the RFC 5480 one first.
const KEY_SPELLINGS: [AlgorithmIdentifier; 3] = [KEY_EC_SM2, KEY_GMT0015_SM2, KEY_GMT0015_SM2_NULL];

/// One instance for each pair of spellings: instance `i` pairs key spelling `i / 2` with
/// signature spelling `i % 2`, so that no pair is forgotten and none is written twice.
static INSTANCES: [Sm2Sm3; 6] = every_pairing();

const fn every_pairing() -> [Sm2Sm3; 6] {
    let mut out = [Sm2Sm3 {
        public_key_alg_id: KEY_SPELLINGS[0],
        signature_alg_id: SIGNATURE_SPELLINGS[0],
    }; 6];
    let mut i = 0;
    while i < out.len() {
        out[i] = Sm2Sm3 {
            public_key_alg_id: KEY_SPELLINGS[i / 2],
            signature_alg_id: SIGNATURE_SPELLINGS[i % 2],
        };
        i += 1;
    }
    out
}

/// SM2-with-SM3 (no parameters) by an `id-ecPublicKey` SM2 key.
pub static SM2_SM3: &dyn SignatureVerificationAlgorithm = &INSTANCES[0];

/// SM2-with-SM3 with a NULL parameter by an `id-ecPublicKey` SM2 key.
pub static SM2_SM3_NULL: &dyn SignatureVerificationAlgorithm = &INSTANCES[1];

/// SM2-with-SM3 (no parameters) by a GM/T 0015 SM2 key (no parameters).
pub static SM2_SM3_GMT0015_KEY: &dyn SignatureVerificationAlgorithm = &INSTANCES[2];

/// SM2-with-SM3 with a NULL parameter by a GM/T 0015 SM2 key (no parameters).
pub static SM2_SM3_NULL_GMT0015_KEY: &dyn SignatureVerificationAlgorithm = &INSTANCES[3];

/// SM2-with-SM3 (no parameters) by a GM/T 0015 SM2 key with a NULL parameter.
pub static SM2_SM3_GMT0015_KEY_NULL: &dyn SignatureVerificationAlgorithm = &INSTANCES[4];

/// SM2-with-SM3 with a NULL parameter by a GM/T 0015 SM2 key with a NULL parameter.
pub static SM2_SM3_NULL_GMT0015_KEY_NULL: &dyn SignatureVerificationAlgorithm = &INSTANCES[5];

/// Every SM2-with-SM3 instance, for a chain validator's list of algorithms.
pub static SM2_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    SM2_SM3,
    SM2_SM3_NULL,
    SM2_SM3_GMT0015_KEY,
    SM2_SM3_NULL_GMT0015_KEY,
    SM2_SM3_GMT0015_KEY_NULL,
    SM2_SM3_NULL_GMT0015_KEY_NULL,
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::gm::{Sm2PrivateKey, sm2_with_sm3_algorithm_der};
    use der::Encode;
    use der::asn1::ObjectIdentifier;

    fn oid(dotted: &str) -> Vec<u8> {
        ObjectIdentifier::new(dotted).unwrap().to_der().unwrap()
    }

    /// The constants are the DER a real encoder writes, not hand-typed bytes that merely agree
    /// with themselves.
    #[test]
    fn identifiers_are_the_der_of_the_oids() {
        let sig = oid(crate::gm::OID_SM2_WITH_SM3);
        assert_eq!(ALG_SM2_WITH_SM3.as_ref(), sig.as_slice());
        assert_eq!(
            ALG_SM2_WITH_SM3_NULL.as_ref(),
            [sig.clone(), vec![5, 0]].concat()
        );
        // The contents of gm's full AlgorithmIdentifier (SEQUENCE header stripped).
        assert_eq!(
            &sm2_with_sm3_algorithm_der()[2..],
            ALG_SM2_WITH_SM3.as_ref()
        );
        let curve = oid(crate::gm::OID_SM2_CURVE);
        let ec = oid(crate::gm::OID_EC_PUBLIC_KEY);
        assert_eq!(KEY_EC_SM2.as_ref(), [ec, curve.clone()].concat());
        assert_eq!(KEY_GMT0015_SM2.as_ref(), curve.as_slice());
        assert_eq!(KEY_GMT0015_SM2_NULL.as_ref(), [curve, vec![5, 0]].concat());
        // The SPKI gm writes carries exactly KEY_EC_SM2.
        let spki = Sm2PrivateKey::generate()
            .unwrap()
            .public_key()
            .to_spki_der();
        assert_eq!(&spki[4..4 + KEY_EC_SM2.as_ref().len()], KEY_EC_SM2.as_ref());
    }

    #[test]
    fn every_instance_verifies_a_genuine_signature_and_refuses_others() {
        let sk = Sm2PrivateKey::generate().unwrap();
        let point = sk.public_key().to_sec1();
        let sig = sk.sign(b"tbs").unwrap();
        for alg in SM2_ALGORITHMS {
            alg.verify_signature(&point, b"tbs", &sig.to_der()).unwrap();
            alg.verify_signature(&point, b"tbs", &sig.to_raw()).unwrap();
            assert!(
                alg.verify_signature(&point, b"tbS", &sig.to_der()).is_err(),
                "another message"
            );
            let other = Sm2PrivateKey::generate().unwrap().public_key().to_sec1();
            assert!(
                alg.verify_signature(&other, b"tbs", &sig.to_der()).is_err(),
                "another key"
            );
            assert!(
                alg.verify_signature(&point[1..], b"tbs", &sig.to_der())
                    .is_err(),
                "a key that is not a point"
            );
            assert!(
                alg.verify_signature(&point, b"tbs", &[0x30, 0x00]).is_err(),
                "a signature that is no encoding of r and s"
            );
            assert!(!alg.fips());
        }
    }

    /// Signed without the ID (Z computed over another ID), the value must not verify: the ID
    /// is part of what is checked.
    #[test]
    fn a_signature_under_another_id_is_refused() {
        let sk = Sm2PrivateKey::generate().unwrap();
        let point = sk.public_key().to_sec1();
        let secret = sm2::SecretKey::from_bytes(&sk.signing_key().to_bytes()).unwrap();
        let other_id = sm2::dsa::SigningKey::new("ALICE123@YAHOO.COM", &secret).unwrap();
        let sig: sm2::dsa::Signature =
            sm2::dsa::signature::Signer::try_sign(&other_id, b"tbs").unwrap();
        let sig = Sm2Signature::parse(&sig.to_bytes()).unwrap();
        assert!(
            SM2_SM3
                .verify_signature(&point, b"tbs", &sig.to_der())
                .is_err()
        );
    }

    #[test]
    fn the_instances_cover_each_pair_of_spellings_once() {
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = SM2_ALGORITHMS
            .iter()
            .map(|a| {
                (
                    a.signature_alg_id().as_ref().to_vec(),
                    a.public_key_alg_id().as_ref().to_vec(),
                )
            })
            .collect();
        pairs.sort();
        pairs.dedup();
        assert_eq!(pairs.len(), 6);
    }

    /// Each named instance pairs the spellings its name and documentation promise.
    #[test]
    fn each_name_holds_its_spellings() {
        let named = [
            (SM2_SM3, KEY_EC_SM2, ALG_SM2_WITH_SM3),
            (SM2_SM3_NULL, KEY_EC_SM2, ALG_SM2_WITH_SM3_NULL),
            (SM2_SM3_GMT0015_KEY, KEY_GMT0015_SM2, ALG_SM2_WITH_SM3),
            (
                SM2_SM3_NULL_GMT0015_KEY,
                KEY_GMT0015_SM2,
                ALG_SM2_WITH_SM3_NULL,
            ),
            (
                SM2_SM3_GMT0015_KEY_NULL,
                KEY_GMT0015_SM2_NULL,
                ALG_SM2_WITH_SM3,
            ),
            (
                SM2_SM3_NULL_GMT0015_KEY_NULL,
                KEY_GMT0015_SM2_NULL,
                ALG_SM2_WITH_SM3_NULL,
            ),
        ];
        for (alg, key, sig) in named {
            assert_eq!(alg.public_key_alg_id(), key);
            assert_eq!(alg.signature_alg_id(), sig);
        }
    }
}
