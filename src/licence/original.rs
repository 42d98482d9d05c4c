//! The OFD 原件 of a licence (GB/T 36905): the national format, an OFD document (GB/T 33190)
//! sealed with the issuing authority's electronic seal (GB/T 38540 v4, SM2 over SM3).
//!
//! It is made from the same payload ([`Claims`]) as the licence's JWS, so both carry the same
//! identifier and say the same thing (docs/ofd-issuance.md):
//!
//! - `OFD.xml`'s `DocInfo/CustomDatas` holds the GB/T 36903 metadata ([`metadata`]): name,
//!   type code, number, the GB/T 36904 identifier (`证照标识`, which the verifier binds to the
//!   issuer's region), issuing authority and its code, issue date, holder, holder code and its
//!   type, validity, region and version. The holder's code is written there, where the
//!   standard puts it, and nowhere else in the package: not in the page's text, the title, the
//!   `DocID` or a file name.
//! - One page (more only when the face does not fit) shows the licence face ([`face`]): type
//!   name, number, holder (with the 统一社会信用代码 of an organisation), the face fields,
//!   authority, issue date and validity, as text; the seal's picture is placed over the
//!   authority's name, as a paper licence is stamped.
//! - One seal by the authority's seal signer covers every file of the package
//!   ([`crate::ofd::write`]), signed at the licence's signing time (`iat`).
//!
//! [`OfdSigner`] holds the seal, the signer's SM2 certificate and key, and refuses, when it is
//! loaded, a seal that does not list the signer, a key that is not the certificate's, a
//! certificate that names no single region and issuer, and a seal or certificate not valid at
//! the time given.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::codes::HolderType;
use crate::gm::{self, Sm2PrivateKey};
use crate::licence::issue::Authority;
use crate::licence::model::{Claims, FieldValue};
use crate::licence::verify::{beijing_time, cst_date};
use crate::ofd::document::LICENCE_ID_NAME;
use crate::ofd::ses::{self, Seal};
use crate::ofd::write::{
    A4, Boundary, LINE_HEIGHT, LINE_LEFT, LINE_SIZE, OfdBuilder, OfdFiles, OfdWriteError, Page,
    SealInput,
};
use crate::pki::cert::signer_facts;

/// Font size of the licence's title (its type name), in millimetres (about 22 pt).
const TITLE_SIZE: f64 = 8.0;
/// Top of the title, in millimetres.
const TITLE_TOP: f64 = 22.0;
/// Top of the first line under the title.
const BODY_TOP: f64 = 45.0;
/// The lowest a line of text may start, leaving the bottom margin.
const BODY_BOTTOM: f64 = A4.1 - 25.0;
/// The width a line of text may take before it wraps (A4 less both margins).
const LINE_WIDTH: f64 = A4.0 - 2.0 * LINE_LEFT;
/// Font size of the identifier line at the page's foot, in millimetres.
const FOOT_SIZE: f64 = 3.0;
/// The seal picture's side when the seal gives no size, in millimetres.
const DEFAULT_SEAL_MM: f64 = 40.0;

/// Why an OFD signer cannot be loaded or an 原件 cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OriginalError {
    /// The seal signer's certificate cannot be read, or names no single region and issuer.
    #[error("seal signer certificate: {0}")]
    Certificate(String),
    /// The seal signer's key cannot be read or is not the certificate's.
    #[error("seal signer key: {0}")]
    Key(String),
    /// The seal cannot be read as a GB/T 38540 seal.
    #[error("seal: {0}")]
    Seal(String),
    /// The seal does not list the signer's certificate: every verifier would refuse it.
    #[error(
        "seal: the seal {name:?} ({es_id}) does not list the seal signer's certificate: a seal may be applied only by a signer it lists"
    )]
    SignerNotInSeal {
        /// The seal's name.
        name: String,
        /// Its `esID`.
        es_id: String,
    },
    /// The seal or the signer's certificate is not valid at the time asked.
    #[error("{what} is valid from {from} until {until}, not at {at}")]
    NotValid {
        /// `the seal` or `the seal signer certificate`.
        what: &'static str,
        /// Start, China Standard Time.
        from: String,
        /// End, China Standard Time.
        until: String,
        /// The time asked, China Standard Time.
        at: String,
    },
    /// The licence names another authority than the seal signer's certificate.
    #[error(
        "the licence is issued by {licence} but the seal signer signs for {signer}: a region seals only its own licences"
    )]
    OtherAuthority {
        /// The licence's issuer and region.
        licence: String,
        /// The signer's.
        signer: String,
    },
    /// The package could not be written or sealed.
    #[error("cannot write the OFD: {0}")]
    Write(#[from] OfdWriteError),
}

/// An authority's seal signer (签章者): the seal (`.esl`), the signer's SM2 certificate and key,
/// and the authority the certificate names.
pub struct OfdSigner {
    authority: Authority,
    cert_der: Vec<u8>,
    key: Sm2PrivateKey,
    seal_der: Vec<u8>,
    seal: Seal,
    cert_validity: (i64, i64),
}

impl std::fmt::Debug for OfdSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("OfdSigner")
            .field("authority", &self.authority)
            .field("seal", &self.seal.es_id)
            .finish_non_exhaustive()
    }
}

impl OfdSigner {
    /// Loads a seal signer: its certificate (PEM), its SM2 private key (PKCS#8 PEM) and the
    /// seal (`SES_Seal` DER), and checks them at `now` (Unix seconds): the certificate names one
    /// region and one issuer and has an SM2 key, the key is the certificate's, the seal is a
    /// seal that lists the certificate, and both are valid at `now`.
    pub fn from_pem(
        cert_pem: &[u8],
        key_pem: &[u8],
        seal_der: &[u8],
        now: i64,
    ) -> Result<OfdSigner, OriginalError> {
        let cert = |e: String| OriginalError::Certificate(e);
        let cert_der = CertificateDer::from_pem_slice(cert_pem)
            .map_err(|e| cert(format!("no CERTIFICATE block: {e}")))?
            .to_vec();
        let facts = signer_facts(&cert_der).map_err(|e| cert(e.to_string()))?;
        let authority = Authority::of_certificate(&cert_der, "seal signer certificate")
            .map_err(|e| cert(e.to_string()))?;
        let public = ses::sm2_key_of_certificate(&cert_der, "seal signer certificate")
            .map_err(|e| cert(e.to_string()))?;
        let key_text = std::str::from_utf8(key_pem)
            .map_err(|_| OriginalError::Key("not a PEM text file".into()))?;
        let key =
            Sm2PrivateKey::from_pem(key_text).map_err(|e| OriginalError::Key(e.to_string()))?;
        if key.public_key().to_sec1() != public.to_sec1() {
            return Err(OriginalError::Key(
                "the key does not belong to the seal signer certificate".into(),
            ));
        }
        let seal = ses::parse_seal(seal_der).map_err(|e| OriginalError::Seal(e.to_string()))?;
        if !seal.lists_certificate(&cert_der) {
            return Err(OriginalError::SignerNotInSeal {
                name: seal.name.clone(),
                es_id: seal.es_id.clone(),
            });
        }
        let signer = OfdSigner {
            authority,
            cert_der,
            key,
            seal_der: seal_der.to_vec(),
            seal,
            cert_validity: (facts.not_before, facts.not_after),
        };
        signer.check_at(now)?;
        Ok(signer)
    }

    /// The authority the seal signer's certificate names.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The seal.
    pub fn seal(&self) -> &Seal {
        &self.seal
    }

    /// The signer's certificate, DER.
    pub fn certificate(&self) -> &[u8] {
        &self.cert_der
    }

    /// Checks that the seal and the signer's certificate are both valid at `at`.
    pub fn check_at(&self, at: i64) -> Result<(), OriginalError> {
        let periods = [
            (
                "the seal",
                self.seal.valid_start.unix,
                self.seal.valid_end.unix,
            ),
            (
                "the seal signer certificate",
                self.cert_validity.0,
                self.cert_validity.1,
            ),
        ];
        for (what, from, until) in periods {
            if !(from <= at && at <= until) {
                return Err(OriginalError::NotValid {
                    what,
                    from: beijing_time(from),
                    until: beijing_time(until),
                    at: beijing_time(at),
                });
            }
        }
        Ok(())
    }

    /// The 原件 of the licence `claims` (a zip, the `.ofd` file's bytes): see the module doc.
    /// Refuses a licence of another authority than the signer's, and a seal or certificate not
    /// valid at the licence's signing time.
    pub fn original(&self, claims: &Claims) -> Result<Vec<u8>, OriginalError> {
        let a = &self.authority;
        if claims.iss != a.issuer.to_string() || claims.lic.region != a.region.to_string() {
            return Err(OriginalError::OtherAuthority {
                licence: format!("{} in {}", claims.iss, claims.lic.region),
                signer: format!("{} in {}", a.issuer, a.region),
            });
        }
        self.check_at(claims.iat)?;
        let seal_mm = |v: i64| {
            if v > 0 && v <= 100 {
                v as f64
            } else {
                DEFAULT_SEAL_MM
            }
        };
        let seal_size = (
            seal_mm(self.seal.picture.width),
            seal_mm(self.seal.picture.height),
        );
        let (pages, page, boundary) = face(claims, seal_size);
        let mut builder = OfdBuilder::new(
            doc_id(&claims.jti),
            claims.lic.type_name.clone(),
            cst_date(claims.iat),
        )
        .author(claims.lic.issuer_name.clone());
        for (name, value) in metadata(claims) {
            builder = builder.custom_data(name, value);
        }
        for p in pages {
            builder = builder.page(p);
        }
        let files = builder.build()?;
        let sealed = self.seal_files(&files, claims.iat, page, boundary)?;
        Ok(sealed.to_zip()?)
    }

    /// `files` with this signer's seal applied at `signed_at`, its picture at `boundary` on
    /// `page`: every file of the package covered, earlier seals left valid.
    pub fn seal_files(
        &self,
        files: &OfdFiles,
        signed_at: i64,
        page: usize,
        boundary: Boundary,
    ) -> Result<OfdFiles, OriginalError> {
        self.check_at(signed_at)?;
        Ok(files.seal(&SealInput {
            seal_der: &self.seal_der,
            signer_cert_der: &self.cert_der,
            signer_key: &self.key,
            signed_at,
            page,
            boundary,
        })?)
    }
}

/// The `DocID`: 32 hex digits, the first half of the SM3 digest of the licence identifier, so
/// the same licence always gets the same one and it says nothing of the holder.
fn doc_id(jti: &str) -> String {
    gm::sm3(jti.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A date as GB/T 36903 metadata writes it: `YYYY-MM-DD`.
fn iso_date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// A date as a licence face prints it: `YYYY年MM月DD日`.
fn face_date(d: time::Date) -> String {
    format!(
        "{:04}年{:02}月{:02}日",
        d.year(),
        u8::from(d.month()),
        d.day()
    )
}

/// The last day of validity, China Standard Time: the day before the exclusive end.
fn last_day(exp: i64) -> time::Date {
    cst_date(exp - 1)
}

/// What the end of validity reads as when there is none (长期有效).
pub const LONG_TERM: &str = "长期";

/// The GB/T 36903 metadata of a licence, in the order written to `CustomDatas`.
pub fn metadata(claims: &Claims) -> Vec<(&'static str, String)> {
    let lic = &claims.lic;
    vec![
        ("证照名称", lic.type_name.clone()),
        ("证照类型代码", lic.type_code.clone()),
        ("证照编号", lic.number.clone()),
        (LICENCE_ID_NAME, claims.jti.clone()),
        ("证照颁发机构", lic.issuer_name.clone()),
        ("证照颁发机构代码", claims.iss.clone()),
        ("证照颁发日期", iso_date(cst_date(claims.iat))),
        ("持证主体", lic.holder_name.clone()),
        ("持证主体代码", claims.sub.clone()),
        ("持证主体代码类型", lic.holder_type.clone()),
        ("证照有效期起始日期", iso_date(cst_date(claims.nbf))),
        (
            "证照有效期截止日期",
            claims
                .exp
                .map(|e| iso_date(last_day(e)))
                .unwrap_or_else(|| LONG_TERM.to_owned()),
        ),
        ("行政区划代码", lic.region.clone()),
        ("证照版本号", lic.version.clone()),
    ]
}

/// How a face field's value is printed.
fn field_text(v: &FieldValue) -> String {
    match v {
        FieldValue::Text(s) => s.clone(),
        FieldValue::Number(n) => n.to_string(),
        FieldValue::Bool(true) => "是".to_owned(),
        FieldValue::Bool(false) => "否".to_owned(),
    }
}

/// The width of `text` in millimetres at `size`: a full em for CJK characters, half for the
/// others (as the writer lays them out).
fn width(text: &str, size: f64) -> f64 {
    text.chars()
        .map(|c| {
            if (c as u32) < 0x2E80 {
                size / 2.0
            } else {
                size
            }
        })
        .sum()
}

/// `line` cut into pieces no wider than [`LINE_WIDTH`]; the pieces after the first are
/// indented by two full-width spaces.
fn wrap(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in line.chars() {
        let mut next = current.clone();
        next.push(c);
        if width(&next, LINE_SIZE) > LINE_WIDTH && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            current.push_str("\u{3000}\u{3000}");
        }
        current.push(c);
    }
    out.push(current);
    out
}

/// The licence face as pages, and where the seal's picture goes: the page and the boundary,
/// centred on the line naming the authority. `seal` is the picture's size in millimetres.
pub fn face(claims: &Claims, seal: (f64, f64)) -> (Vec<Page>, usize, Boundary) {
    let lic = &claims.lic;
    let mut lines = vec![
        format!("证照编号：{}", lic.number),
        format!("持证主体：{}", lic.holder_name),
    ];
    if lic.holder_type == HolderType::Organisation.code() {
        // An organisation's code is public and printed on its licences; a person's
        // 公民身份号码 is left to the metadata.
        lines.push(format!("统一社会信用代码：{}", claims.sub));
    }
    for (name, value) in &lic.fields {
        lines.push(format!("{name}：{}", field_text(value)));
    }
    lines.push(String::new());
    let authority_line = lines.len();
    lines.push(format!("发证机关：{}", lic.issuer_name));
    lines.push(format!("发证日期：{}", face_date(cst_date(claims.iat))));
    let until = claims
        .exp
        .map(|e| face_date(last_day(e)))
        .unwrap_or_else(|| LONG_TERM.to_owned());
    lines.push(format!(
        "有效期：{} 至 {until}",
        face_date(cst_date(claims.nbf))
    ));

    let title_x = ((A4.0 - width(&lic.type_name, TITLE_SIZE)) / 2.0).max(LINE_LEFT);
    let mut pages = vec![Page::new().text(title_x, TITLE_TOP, TITLE_SIZE, lic.type_name.clone())];
    let mut y = BODY_TOP;
    let mut seal_at: Option<(usize, f64)> = None;
    for (i, line) in lines.iter().enumerate() {
        for piece in wrap(line) {
            if y > BODY_BOTTOM {
                pages.push(Page::new());
                y = TITLE_TOP;
            }
            if i == authority_line && seal_at.is_none() {
                seal_at = Some((pages.len() - 1, y));
            }
            if !piece.is_empty()
                && let Some(page) = pages.last_mut()
            {
                *page = std::mem::take(page).text(LINE_LEFT, y, LINE_SIZE, piece);
            }
            y += LINE_HEIGHT;
        }
    }
    let foot = format!("{LICENCE_ID_NAME}：{}", claims.jti);
    if let Some(page) = pages.last_mut() {
        *page = std::mem::take(page).text(LINE_LEFT, A4.1 - 15.0, FOOT_SIZE, foot);
    }
    let (seal_page, seal_y) = seal_at.unwrap_or((0, BODY_TOP));
    let (w, h) = seal;
    let boundary = Boundary {
        x: (LINE_LEFT + 30.0).min(A4.0 - w),
        y: (seal_y + LINE_SIZE / 2.0 - h / 2.0).max(0.0),
        width: w,
        height: h,
    };
    (pages, seal_page, boundary)
}

#[cfg(test)]
mod tests;
