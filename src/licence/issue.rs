//! Issuance: a document signer turns an issuance request into a signed licence.

use crate::codes::{HolderCode, HolderType, LicenceId, LicenceTypeCode, RegionCode, Uscc};
use crate::licence::jws::{self, Alg, MAX_TOKEN_BYTES};
use crate::licence::model::{Claims, FieldValue, IssuanceRequest, LicenceFace};
use crate::pki::cert::{Eku, PublicKey, signer_facts};
use crate::pki::{PkiError, cert::parse_der};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use std::str::FromStr;

/// Length of the random serial in a licence id.
pub const SERIAL_LEN: usize = 20;
/// Limits on request fields (characters).
const MAX_NAME_CHARS: usize = 200;
const MAX_FIELD_NAME_CHARS: usize = 64;
const MAX_FIELDS: usize = 200;

/// Why a licence could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The issuance request is wrong; the message names the member.
    #[error("request: {0}")]
    Request(String),
    /// The signer's certificate or key cannot sign licences.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

/// A private key that signs licences: ECDSA P-256 (ES256) or Ed25519 (EdDSA).
pub enum SigningKey {
    /// ES256.
    Es256(EcdsaKeyPair),
    /// EdDSA with Ed25519.
    Ed25519(Ed25519KeyPair),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "SigningKey({})", self.alg().as_str())
    }
}

impl SigningKey {
    /// Reads a PKCS#8 private key (PEM `PRIVATE KEY`), P-256 or Ed25519.
    pub fn from_pkcs8_pem(pem: &[u8]) -> Result<SigningKey, PkiError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem)
            .map_err(|e| PkiError::Key(format!("no PKCS#8 PRIVATE KEY block: {e}")))?;
        let rng = SystemRandom::new();
        if let Ok(k) = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            der.secret_pkcs8_der(),
            &rng,
        ) {
            return Ok(SigningKey::Es256(k));
        }
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der.secret_pkcs8_der())
            .map(SigningKey::Ed25519)
            .map_err(|_| PkiError::Key("neither a P-256 nor an Ed25519 PKCS#8 key".into()))
    }

    /// The JWS algorithm this key signs with.
    pub fn alg(&self) -> Alg {
        match self {
            SigningKey::Es256(_) => Alg::Es256,
            SigningKey::Ed25519(_) => Alg::EdDsa,
        }
    }

    /// The public key bytes (uncompressed point, or the 32-byte Ed25519 key).
    pub fn public_key(&self) -> &[u8] {
        match self {
            SigningKey::Es256(k) => k.public_key().as_ref(),
            SigningKey::Ed25519(k) => k.public_key().as_ref(),
        }
    }

    /// Signs `msg`, giving the JWS signature bytes (raw `r‖s` for ES256).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, IssueError> {
        match self {
            SigningKey::Es256(k) => k
                .sign(&SystemRandom::new(), msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| IssueError::Signing("ECDSA signing failed".into())),
            SigningKey::Ed25519(k) => Ok(k.sign(msg).as_ref().to_vec()),
        }
    }

    /// Signs `claims` with `x5c` in the header, giving the compact JWS.
    pub fn sign_claims(&self, x5c: &[Vec<u8>], claims: &Claims) -> Result<String, IssueError> {
        let input = jws::signing_input(self.alg(), x5c, claims)
            .map_err(|e| IssueError::Signing(e.to_string()))?;
        let sig = self.sign(input.as_bytes())?;
        Ok(jws::assemble(&input, &sig))
    }
}

/// A document signer: its key, its certificate chain, and who it signs for.
#[derive(Debug)]
pub struct Signer {
    key: SigningKey,
    chain: Vec<Vec<u8>>,
    authority: Authority,
}

/// Who a licence is issued by, as a signer's certificate names it: the region (its
/// `urn:gbt2260` SAN), the issuing authority's 统一社会信用代码 (`urn:gb32100`) and name
/// (the subject's O). The JWS signer and the OFD seal signer of a region name the same one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// The region.
    pub region: RegionCode,
    /// The issuing authority's 统一社会信用代码.
    pub issuer: Uscc,
    /// The issuing authority's name.
    pub issuer_name: String,
}

impl Authority {
    /// The authority a signer certificate (DER) names: exactly one region and one issuer in
    /// its SAN URIs, and a subject organisation. `what` names the certificate in errors.
    pub fn of_certificate(der: &[u8], what: &str) -> Result<Authority, PkiError> {
        let facts = signer_facts(der)?;
        Authority::of_facts(&facts, what)
    }

    fn of_facts(facts: &crate::pki::cert::SignerFacts, what: &str) -> Result<Authority, PkiError> {
        let bad = |detail: String| PkiError::Certificate {
            what: what.into(),
            detail,
        };
        let [region] = facts.regions.as_slice() else {
            return Err(bad("must name exactly one urn:gbt2260 region".into()));
        };
        let [uscc] = facts.usccs.as_slice() else {
            return Err(bad("must name exactly one urn:gb32100 issuer".into()));
        };
        let region = RegionCode::from_str(region).map_err(|e| bad(format!("region SAN: {e}")))?;
        let issuer = Uscc::from_str(uscc).map_err(|e| bad(format!("issuer SAN: {e}")))?;
        let issuer_name = facts
            .organisation
            .clone()
            .ok_or_else(|| bad("subject has no organisation (O), the issuer's name".into()))?;
        Ok(Authority {
            region,
            issuer,
            issuer_name,
        })
    }
}

/// A licence just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Its identifier.
    pub id: LicenceId,
    /// Its payload.
    pub claims: Claims,
    /// The compact JWS.
    pub token: String,
}

impl Signer {
    /// Loads a signer from its certificate, its PKCS#8 key and the rest of its chain (PEM).
    ///
    /// Refuses a certificate without keyUsage digitalSignature or the licence-signing EKU, one
    /// that does not name exactly one region and one issuer in its SAN URIs, one without a
    /// subject organisation (the issuer's name), and a key that does not match it.
    pub fn from_pem(
        cert_pem: &[u8],
        key_pem: &[u8],
        chain_pem: Option<&[u8]>,
    ) -> Result<Signer, PkiError> {
        let bad = |detail: String| PkiError::Certificate {
            what: "signer certificate".into(),
            detail,
        };
        let leaf = CertificateDer::from_pem_slice(cert_pem)
            .map_err(|e| bad(format!("no CERTIFICATE block: {e}")))?;
        let mut chain = vec![leaf.to_vec()];
        if let Some(pem) = chain_pem {
            for der in CertificateDer::pem_slice_iter(pem) {
                let der = der.map_err(|e| PkiError::Pem {
                    what: "signer chain".into(),
                    detail: e.to_string(),
                })?;
                parse_der(&der)?;
                chain.push(der.to_vec());
            }
        }
        if chain.len() > jws::MAX_X5C {
            return Err(bad(format!(
                "the chain has {} certificates; at most {} travel in x5c",
                chain.len(),
                jws::MAX_X5C
            )));
        }
        let facts = signer_facts(&chain[0])?;
        if facts.digital_signature != Some(true) {
            return Err(bad("keyUsage must include digitalSignature".into()));
        }
        if facts.eku != Eku::LicenceSigning {
            return Err(bad("extendedKeyUsage must include licence signing".into()));
        }
        let authority = Authority::of_facts(&facts, "signer certificate")?;
        let key = SigningKey::from_pkcs8_pem(key_pem)?;
        let matches = match &facts.key {
            PublicKey::P256(pk) | PublicKey::Ed25519(pk) => pk.as_slice() == key.public_key(),
            PublicKey::Other(_) => false,
        };
        if !matches {
            return Err(PkiError::Key(
                "the key does not belong to the signer certificate".into(),
            ));
        }
        Ok(Signer {
            key,
            chain,
            authority,
        })
    }

    /// The region this signer signs for.
    pub fn region(&self) -> &RegionCode {
        &self.authority.region
    }

    /// The authority this signer signs for.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The issuing authority's 统一社会信用代码.
    pub fn issuer(&self) -> &Uscc {
        &self.authority.issuer
    }

    /// The signer's certificate chain (DER, leaf first).
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// Signs any JSON payload as a compact JWS with this signer's key and chain, under the
    /// header `{"alg", "typ": typ, "x5c"}`; for documents other than licences (usage copies).
    pub fn sign_document(&self, typ: &str, payload: &[u8]) -> Result<String, IssueError> {
        #[derive(serde::Serialize)]
        struct Header<'a> {
            alg: Alg,
            typ: &'a str,
            x5c: Vec<String>,
        }
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let header = serde_json::to_vec(&Header {
            alg: self.key.alg(),
            typ,
            x5c: self.chain.iter().map(|d| STANDARD.encode(d)).collect(),
        })
        .map_err(|e| IssueError::Signing(e.to_string()))?;
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let sig = self.key.sign(input.as_bytes())?;
        Ok(jws::assemble(&input, &sig))
    }

    /// Issues a licence for `req`, signed at `now` (seconds since the Unix epoch).
    pub fn issue(&self, req: &IssuanceRequest, now: i64) -> Result<Issued, IssueError> {
        self.sign(self.authority.claims(req, now, None)?)
    }

    /// Issues the next version of `previous` (变更): same serial, version one higher, same
    /// type and holder; the request gives the new content.
    pub fn issue_next_version(
        &self,
        req: &IssuanceRequest,
        now: i64,
        previous: &LicenceId,
    ) -> Result<Issued, IssueError> {
        self.sign(self.authority.claims(req, now, Some(previous))?)
    }

    /// Signs the payload `claims` made as this signer's authority.
    fn sign(&self, (id, claims): (LicenceId, Claims)) -> Result<Issued, IssueError> {
        if claims.iss != self.authority.issuer.to_string()
            || claims.lic.region != self.authority.region.to_string()
        {
            return Err(IssueError::Signing(
                "the licence names another authority than the signer's".into(),
            ));
        }
        let token = self.key.sign_claims(&self.chain, &claims)?;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(IssueError::Request(format!(
                "the signed licence would be {} bytes; the limit is {MAX_TOKEN_BYTES}",
                token.len()
            )));
        }
        Ok(Issued { id, claims, token })
    }
}

impl Authority {
    /// The identifier and payload of a licence this authority issues for `req` at `now`: a
    /// new licence (new serial, version 1), or with `previous` the next version of it (变更:
    /// same serial, version one higher, same type; the request gives the new content). Both
    /// formats of a licence (JWS and OFD) are made from this one payload.
    pub fn claims(
        &self,
        req: &IssuanceRequest,
        now: i64,
        previous: Option<&LicenceId>,
    ) -> Result<(LicenceId, Claims), IssueError> {
        let serial_version = match previous {
            None => None,
            Some(previous) => {
                if previous.issuer() != &self.issuer {
                    return Err(IssueError::Request(
                        "the licence was issued by another authority".into(),
                    ));
                }
                if previous.type_code().to_string() != req.type_code {
                    return Err(IssueError::Request(
                        "type_code: a new version keeps the licence type".into(),
                    ));
                }
                let version = previous.version() + 1;
                if version > 999 {
                    return Err(IssueError::Request(
                        "the licence has reached version 999".into(),
                    ));
                }
                Some((previous.serial(), version))
            }
        };
        let bad = |m: String| IssueError::Request(m);
        let type_code = LicenceTypeCode::from_str(&req.type_code)
            .map_err(|e| bad(format!("type_code: {e}")))?;
        text("type_name", &req.type_name, MAX_NAME_CHARS)?;
        text("holder.name", &req.holder.name, MAX_NAME_CHARS)?;
        let holder_type = HolderType::from_str(&req.holder.holder_type)
            .map_err(|e| bad(format!("holder.type: {e}")))?;
        let holder = HolderCode::parse(holder_type, &req.holder.code)
            .map_err(|e| bad(format!("holder.code: {e}")))?;
        if req.fields.len() > MAX_FIELDS {
            return Err(bad(format!(
                "fields: {} entries; at most {MAX_FIELDS}",
                req.fields.len()
            )));
        }
        for (name, value) in &req.fields {
            text("fields key", name, MAX_FIELD_NAME_CHARS)?;
            if let FieldValue::Text(s) = value {
                // A field's value may be empty or long (the licence's size is bounded below),
                // but takes no character that would hide or reorder text.
                crate::codes::check_chars(s)
                    .map_err(|fault| bad(format!("fields.{name}: {fault}")))?;
            }
        }
        let nbf = match &req.valid_from {
            Some(s) => parse_instant(s, false).map_err(|e| bad(format!("valid_from: {e}")))?,
            None => now,
        };
        let exp = match &req.valid_until {
            Some(s) => Some(parse_instant(s, true).map_err(|e| bad(format!("valid_until: {e}")))?),
            None => None,
        };
        if let Some(exp) = exp
            && exp <= nbf
        {
            return Err(bad("valid_until must be after valid_from".into()));
        }
        let (serial, version) = match serial_version {
            Some((serial, version)) => (serial.to_owned(), version),
            None => (random_serial()?, 1),
        };
        let id = LicenceId::new(type_code.clone(), self.issuer.clone(), &serial, version)
            .map_err(|e| IssueError::Signing(format!("licence id: {e}")))?;
        let number = match &req.number {
            Some(n) => {
                text("number", n, 64)?;
                n.clone()
            }
            None => serial,
        };
        let claims = Claims {
            jti: id.to_string(),
            iss: self.issuer.to_string(),
            sub: holder.as_str().to_owned(),
            iat: now,
            nbf,
            exp,
            lic: LicenceFace {
                type_code: type_code.to_string(),
                type_name: req.type_name.clone(),
                number,
                holder_type: holder_type.code().to_owned(),
                holder_name: req.holder.name.clone(),
                issuer_name: self.issuer_name.clone(),
                region: self.region.to_string(),
                version: format!("{version:03}"),
                fields: req.fields.clone(),
            },
        };
        Ok((id, claims))
    }
}

/// Checks a free-text request member (a name, a field's name): not blank, at most `max`
/// characters, without control, line-separator, bidirectional-control or invisible format
/// characters ([`crate::codes::check_free_text`]).
fn text(what: &str, s: &str, max: usize) -> Result<(), IssueError> {
    crate::codes::check_free_text(s, max)
        .map_err(|fault| IssueError::Request(format!("{what}: {fault}")))
}

/// A random serial of [`SERIAL_LEN`] characters from `0-9A-Z`, without modulo bias.
pub fn random_serial() -> Result<String, IssueError> {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let rng = SystemRandom::new();
    let mut out = String::with_capacity(SERIAL_LEN);
    let mut buf = [0u8; 32];
    while out.len() < SERIAL_LEN {
        rng.fill(&mut buf)
            .map_err(|_| IssueError::Signing("no randomness".into()))?;
        // 252 = 7 × 36: bytes at or above it would favour the first characters.
        for b in buf.iter().filter(|b| **b < 252) {
            if out.len() < SERIAL_LEN {
                out.push(char::from(ALPHABET[usize::from(*b % 36)]));
            }
        }
    }
    Ok(out)
}

/// Parses RFC 3339, or a date `YYYY-MM-DD` in China Standard Time: its start, or with
/// `end_of_day` the start of the next day (validity runs through the named day).
pub fn parse_instant(s: &str, end_of_day: bool) -> Result<i64, String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(s, &fmt)
        .map_err(|_| format!("{s:?} is neither RFC 3339 nor a date YYYY-MM-DD"))?;
    let date = if end_of_day {
        date.next_day()
            .ok_or_else(|| format!("{s:?} is out of range"))?
    } else {
        date
    };
    Ok(date
        .midnight()
        .assume_offset(time::macros::offset!(+8))
        .unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licence::model::HolderRequest;
    use std::collections::BTreeMap;

    fn demo(region: &str, file: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("certs")
            .join(region)
            .join(file);
        std::fs::read(path).unwrap()
    }

    fn signer() -> Signer {
        Signer::from_pem(
            &demo("370900", "signer.pem"),
            &demo("370900", "signer.key"),
            None,
        )
        .unwrap()
    }

    fn request() -> IssuanceRequest {
        IssuanceRequest {
            type_code: "11100000000013338W032".into(),
            type_name: "营业执照".into(),
            number: None,
            holder: HolderRequest {
                holder_type: "001".into(),
                code: "91110000600037341L".into(),
                name: "示例有限公司".into(),
            },
            valid_from: None,
            valid_until: None,
            fields: BTreeMap::new(),
        }
    }

    fn refused(req: &IssuanceRequest) -> String {
        match signer().issue(req, 1_793_491_200) {
            Err(IssueError::Request(m)) => m,
            other => panic!("expected a refused request, got {other:?}"),
        }
    }

    #[test]
    fn a_plain_request_issues_with_the_certificates_issuer_and_region() {
        let issued = signer().issue(&request(), 1_793_491_200).unwrap();
        assert_eq!(issued.claims.iss, "11370900004090218Y");
        assert_eq!(issued.claims.lic.region, "370900");
        assert_eq!(issued.claims.lic.issuer_name, "泰安市行政审批服务局");
        assert_eq!(issued.claims.lic.number, issued.id.serial());
        assert_eq!(issued.claims.nbf, 1_793_491_200);
    }

    #[test]
    fn request_text_limits_name_the_member() {
        let mut r = request();
        r.type_name = "  ".into();
        assert_eq!(
            refused(&r),
            "type_name: must not be empty or only white space"
        );
        let mut r = request();
        r.holder.name = "名".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            refused(&r),
            format!(
                "holder.name: is {} characters long; the limit is {MAX_NAME_CHARS}",
                MAX_NAME_CHARS + 1
            )
        );
        let mut r = request();
        r.type_name = "营业\n执照".into();
        assert_eq!(
            refused(&r),
            "type_name: contains a line break (U+000A) at character 3; it must be one line"
        );
        // Characters that hide or reorder text are refused in names as in any free text.
        for (name, fault) in [
            (
                "李\u{200B}四",
                "contains an invisible character (U+200B) at character 2",
            ),
            (
                "李\u{202E}四",
                "contains a bidirectional control character (U+202E) at character 2",
            ),
            (
                "李\u{2028}四",
                "contains a line break (U+2028) at character 2; it must be one line",
            ),
        ] {
            let mut r = request();
            r.holder.name = name.into();
            assert_eq!(refused(&r), format!("holder.name: {fault}"));
        }
        let mut r = request();
        r.number = Some("x".repeat(65));
        assert!(refused(&r).starts_with("number: is 65 characters long"));
        let mut r = request();
        r.type_code = "11100000000013338W03".into();
        assert!(refused(&r).starts_with("type_code:"));
        let mut r = request();
        r.holder.holder_type = "002".into();
        assert!(refused(&r).starts_with("holder.type:"));
    }

    #[test]
    fn request_fields_are_bounded() {
        let mut r = request();
        r.fields = (0..=MAX_FIELDS)
            .map(|i| (format!("f{i}"), FieldValue::Bool(true)))
            .collect();
        assert_eq!(
            refused(&r),
            format!("fields: {} entries; at most {MAX_FIELDS}", MAX_FIELDS + 1)
        );
        let mut r = request();
        r.fields
            .insert("k".repeat(MAX_FIELD_NAME_CHARS + 1), FieldValue::Bool(true));
        assert!(refused(&r).starts_with("fields key:"));
        let mut r = request();
        r.fields
            .insert("备注".into(), FieldValue::Text("a\u{0}b".into()));
        assert_eq!(
            refused(&r),
            "fields.备注: contains a control character (U+0000) at character 2"
        );
        // A field's text takes no invisible or reordering character either.
        let mut r = request();
        r.fields
            .insert("备注".into(), FieldValue::Text("整改\u{2066}完成".into()));
        assert_eq!(
            refused(&r),
            "fields.备注: contains a bidirectional control character (U+2066) at character 3"
        );
    }

    #[test]
    fn validity_must_be_a_time_and_end_after_it_starts() {
        let mut r = request();
        r.valid_from = Some("soon".into());
        assert!(refused(&r).starts_with("valid_from:"));
        let mut r = request();
        r.valid_from = Some("2027-01-01".into());
        r.valid_until = Some("2026-12-31".into());
        assert_eq!(refused(&r), "valid_until must be after valid_from");
    }

    #[test]
    fn only_a_document_signer_with_its_own_key_can_sign() {
        let e = Signer::from_pem(
            &demo("370900", "node.pem"),
            &demo("370900", "node.key"),
            None,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("extendedKeyUsage must include licence signing"),
            "{e}"
        );
        let e = Signer::from_pem(
            &demo("370900", "signer.pem"),
            &demo("370115", "signer.key"),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(e, PkiError::Key(ref m) if m.contains("does not belong")),
            "{e}"
        );
        let e = Signer::from_pem(&demo("370900", "signer.pem"), b"not pem", None).unwrap_err();
        assert!(matches!(e, PkiError::Key(_)), "{e}");
        let root = demo("370900", "licence-root.pem");
        let chain = [root.clone(), root.clone(), root.clone(), root].concat();
        let e = Signer::from_pem(
            &demo("370900", "signer.pem"),
            &demo("370900", "signer.key"),
            Some(&chain),
        )
        .unwrap_err();
        assert!(e.to_string().contains("at most 4 travel in x5c"), "{e}");
        let e = Signer::from_pem(b"", &demo("370900", "signer.key"), None).unwrap_err();
        assert!(e.to_string().contains("no CERTIFICATE block"), "{e}");
    }

    #[test]
    fn serials_are_twenty_upper_case_alphanumerics() {
        let a = random_serial().unwrap();
        let b = random_serial().unwrap();
        assert_eq!(a.len(), SERIAL_LEN);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
    }

    #[test]
    fn dates_are_china_standard_time() {
        // 2026-01-01T00:00+08:00 = 2025-12-31T16:00Z
        assert_eq!(parse_instant("2026-01-01", false).unwrap(), 1_767_196_800);
        assert_eq!(parse_instant("2025-12-31", true).unwrap(), 1_767_196_800);
        assert_eq!(
            parse_instant("2025-12-31T16:00:00Z", false).unwrap(),
            1_767_196_800
        );
        assert!(parse_instant("2025-13-01", false).is_err());
        assert!(parse_instant("tomorrow", false).is_err());
    }
}
