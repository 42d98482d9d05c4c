//! Writing OFD documents (GB/T 33190) and sealing them with GB/T 38540 electronic seals.
//!
//! Two steps, both pure (bytes in, bytes out, nothing read from the clock or the disk):
//!
//! 1. [`OfdBuilder`] makes a minimal one-document package, laid out as ofdrw and most
//!    vendors write it: `OFD.xml` (`DocInfo` with `DocID`, `Title`, `CreationDate`,
//!    `CustomDatas`), `Doc_0/Document.xml` (`CommonData` with `MaxUnitID`, `PageArea` and
//!    `PublicRes`), `Doc_0/PublicRes.xml` (one font) and one `Doc_0/Pages/Page_N/Content.xml`
//!    per [`Page`], each a layer of `TextObject`s. The result is an [`OfdFiles`]: the package's
//!    files, in order.
//! 2. [`OfdFiles::seal`] (or [`seal`] on a zip) applies a seal: it writes
//!    `Signs/Sign_N/Seal.esl` (the seal), `Signs/Sign_N/Signature.xml` whose `References`
//!    (`CheckMethod` SM3, `1.2.156.10197.1.401`) give the SM3 digest of **every** package file
//!    except `Signatures.xml` and this signature's own `Signature.xml` and `SignedValue.dat`,
//!    a `StampAnnot` placing the seal on a page, and `Signs/Sign_N/SignedValue.dat`: a
//!    GB/T 38540 v4 `SES_Signature` ([`ses::sign_v4`]) whose `dataHash` is SM3 of the raw
//!    bytes of that `Signature.xml`. `Signatures.xml` is (re)written to list every signature.
//!
//! `Signatures.xml` is never referenced: a later seal must rewrite it, and a signature that
//! referenced it would then break (ofdrw's `h.ofd` shows it). So a sealed package can be
//! sealed again, by the same or another signer, and every earlier seal stays valid: the later
//! seal covers the earlier seals' files too.
//!
//! The writer checks what would make its output malformed or self-contradictory (text XML
//! cannot carry, a page that does not exist, a signer key that is not the certificate's, a
//! seal that is not GB/T 38540). It does not judge trust: whether the seal lists the signer,
//! whether the seal and the certificate are valid at the signing time, whether they chain to
//! an anchor is for [`super::verify::OfdVerifier`], which an issuer should run on the result.
//!
//! The output is deterministic: the same inputs give the same bytes (zip entries carry the
//! zip epoch 1980-01-01 as their time, SM2 signatures use a deterministic nonce).

use std::io::{Cursor, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::OfdError;
use super::document::{ENTRY_FILE, read};
use super::path::resolve;
use super::ses::{self, SesError, TbsSpec};
use crate::gm::{self, Sm2PrivateKey};
use crate::licence::verify::rfc3339;

/// The OFD namespace written (GB/T 33190-2016).
pub const OFD_NAMESPACE: &str = "http://www.ofdspec.org/2016";

/// Width and height of an A4 page in millimetres, the default page area.
pub const A4: (f64, f64) = (210.0, 297.0);

/// Left margin of [`Page::lines`], in millimetres.
pub const LINE_LEFT: f64 = 25.0;
/// Top of the first line of [`Page::lines`], in millimetres.
pub const LINE_TOP: f64 = 30.0;
/// Distance between two lines of [`Page::lines`], in millimetres.
pub const LINE_HEIGHT: f64 = 8.0;
/// Font size of [`Page::lines`], in millimetres (12 pt).
pub const LINE_SIZE: f64 = 4.2;

/// The one font every page uses, declared in `PublicRes.xml`.
const FONT_NAME: &str = "宋体";

/// `SignatureMethod` written: SM2 with SM3.
const SIGNATURE_METHOD: &str = gm::OID_SM2_WITH_SM3;
/// `CheckMethod` written: SM3.
const CHECK_METHOD: &str = gm::OID_SM3;
/// `Provider@ProviderName` and `Company`, and `DocInfo/Creator`.
const PROVIDER: &str = "zhengzhao";

/// What stops a document from being written or sealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OfdWriteError {
    /// A document needs at least one page.
    #[error("the document has no page: add at least one")]
    NoPages,
    /// A text holds a character XML 1.0 cannot carry, or a control character (line breaks
    /// included: write one [`Text`] per line).
    #[error(
        "{what} holds the control character U+{code:04X}: write one text per line, without control characters"
    )]
    BadText {
        /// Which text.
        what: &'static str,
        /// The character refused.
        code: u32,
    },
    /// A position, size or page dimension that is not a finite number, or is negative where
    /// only sizes make sense.
    #[error("{what} is {value}: it must be a finite number of millimetres, not negative")]
    BadNumber {
        /// Which number.
        what: &'static str,
        /// The value refused.
        value: f64,
    },
    /// A package path that is not a normalised path inside the package.
    #[error("{path:?} is not a path inside the package: {reason}")]
    BadPath {
        /// The path refused.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// The package to seal is not an OFD document the reader accepts.
    #[error("the package cannot be read as an OFD document: {0}")]
    Read(#[from] OfdError),
    /// The package to seal holds several documents; only one-document packages are sealed.
    #[error("the package holds {count} documents: only a package of one document can be sealed")]
    SeveralDocuments {
        /// How many `DocBody` elements `OFD.xml` has.
        count: usize,
    },
    /// The page asked for does not exist.
    #[error("page {page} does not exist: the document has {pages} pages (counted from 0)")]
    NoSuchPage {
        /// The page index asked for.
        page: usize,
        /// How many pages the document has.
        pages: usize,
    },
    /// The signer's key is not the key of the signer's certificate: every verifier would
    /// refuse the signature.
    #[error("the signer's private key does not belong to the signer's certificate")]
    KeyMismatch,
    /// The seal, the certificate or the signature cannot be read or built (a seal that is not
    /// GB/T 38540, a certificate without an SM2 key, a signing time before 1970).
    #[error("cannot make the seal's signature: {0}")]
    Ses(#[from] SesError),
    /// The zip writer failed.
    #[error("cannot write the zip: {0}")]
    Zip(String),
}

/// One text on a page: its top-left corner and size in millimetres, and the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    /// Distance from the page's left edge to the text's box.
    pub x: f64,
    /// Distance from the page's top edge to the text's box.
    pub y: f64,
    /// Font size (the em height).
    pub size: f64,
    /// The text, one line, without control characters.
    pub text: String,
}

/// One page: texts drawn in the document's one font.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The texts, in drawing order.
    pub texts: Vec<Text>,
}

impl Page {
    /// An empty page.
    pub fn new() -> Page {
        Page::default()
    }

    /// A page of lines from the top left: [`LINE_LEFT`], [`LINE_TOP`], one line every
    /// [`LINE_HEIGHT`], in [`LINE_SIZE`]. An empty line leaves a gap.
    pub fn lines<I, S>(lines: I) -> Page
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut page = Page::new();
        for (i, line) in lines.into_iter().enumerate() {
            let text = line.into();
            if !text.is_empty() {
                page.texts.push(Text {
                    x: LINE_LEFT,
                    y: LINE_TOP + LINE_HEIGHT * i as f64,
                    size: LINE_SIZE,
                    text,
                });
            }
        }
        page
    }

    /// This page with one more text at (`x`, `y`) in `size` (millimetres).
    pub fn text(mut self, x: f64, y: f64, size: f64, text: impl Into<String>) -> Page {
        self.texts.push(Text {
            x,
            y,
            size,
            text: text.into(),
        });
        self
    }
}

/// A minimal OFD document to write: metadata and pages of text.
///
/// ```
/// use zhengzhao::codes::LicenceId;
/// use zhengzhao::ofd::write::{OfdBuilder, Page};
/// let id = LicenceId::new(
///     "11100000000013338W032".parse().unwrap(),
///     "11370900004090218Y".parse().unwrap(),
///     "0000001",
///     1,
/// )
/// .unwrap();
/// let date = time::macros::date!(2026 - 11 - 01);
/// let files = OfdBuilder::new("0123456789abcdef0123456789abcdef", "营业执照", date)
///     .custom_data("证照标识", id.as_str())
///     .page(Page::lines(["营业执照", "名称：示例建设有限公司"]))
///     .build()
///     .unwrap();
/// let zip = files.to_zip().unwrap();
/// assert_eq!(zhengzhao::ofd::read(&zip).unwrap().documents[0].pages.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OfdBuilder {
    doc_id: String,
    title: String,
    creation_date: time::Date,
    author: Option<String>,
    custom_datas: Vec<(String, String)>,
    page_area: (f64, f64),
    pages: Vec<Page>,
}

impl OfdBuilder {
    /// A document with `DocID` `doc_id` (conventionally 32 hex digits, a UUID without
    /// dashes), `Title` `title` and `CreationDate` `creation_date`, A4 pages, no page yet.
    pub fn new(
        doc_id: impl Into<String>,
        title: impl Into<String>,
        creation_date: time::Date,
    ) -> OfdBuilder {
        OfdBuilder {
            doc_id: doc_id.into(),
            title: title.into(),
            creation_date,
            author: None,
            custom_datas: Vec::new(),
            page_area: A4,
            pages: Vec::new(),
        }
    }

    /// Sets `DocInfo/Author`.
    pub fn author(mut self, author: impl Into<String>) -> OfdBuilder {
        self.author = Some(author.into());
        self
    }

    /// Adds a `CustomData` (GB/T 36903 metadata: `证照标识` holds the GB/T 36904 licence
    /// identifier, [`super::LICENCE_ID_NAME`]). Written in the order added.
    pub fn custom_data(mut self, name: impl Into<String>, value: impl Into<String>) -> OfdBuilder {
        self.custom_datas.push((name.into(), value.into()));
        self
    }

    /// Sets every page's size in millimetres (default [`A4`]).
    pub fn page_size(mut self, width: f64, height: f64) -> OfdBuilder {
        self.page_area = (width, height);
        self
    }

    /// Adds a page after the others.
    pub fn page(mut self, page: Page) -> OfdBuilder {
        self.pages.push(page);
        self
    }

    /// Writes the package's files: `OFD.xml`, `Doc_0/Document.xml`, `Doc_0/PublicRes.xml`
    /// and `Doc_0/Pages/Page_N/Content.xml`, in that order.
    ///
    /// Refuses a document without pages ([`OfdWriteError::NoPages`]), a text with a control
    /// character ([`OfdWriteError::BadText`]), a number that is not finite or a size that is
    /// negative ([`OfdWriteError::BadNumber`]).
    pub fn build(&self) -> Result<OfdFiles, OfdWriteError> {
        if self.pages.is_empty() {
            return Err(OfdWriteError::NoPages);
        }
        let (width, height) = self.page_area;
        let area = format!(
            "0 0 {} {}",
            size(width, "the page width")?,
            size(height, "the page height")?
        );
        let mut ids = 1u64; // 1 is the font
        let mut page_refs = String::new();
        let mut contents = Vec::new();
        for (n, page) in self.pages.iter().enumerate() {
            ids += 1;
            let page_id = ids;
            ids += 1;
            let layer_id = ids;
            let mut objects = String::new();
            for text in &page.texts {
                ids += 1;
                objects.push_str(&text_object(ids, text)?);
            }
            page_refs.push_str(&format!(
                r#"<ofd:Page ID="{page_id}" BaseLoc="Pages/Page_{n}/Content.xml"/>"#
            ));
            contents.push((
                format!("Doc_0/Pages/Page_{n}/Content.xml"),
                format!(
                    r#"{XML_DECL}<ofd:Page xmlns:ofd="{OFD_NAMESPACE}"><ofd:Content><ofd:Layer ID="{layer_id}">{objects}</ofd:Layer></ofd:Content></ofd:Page>"#
                ),
            ));
        }

        let mut info = format!(
            "<ofd:DocID>{}</ofd:DocID><ofd:Title>{}</ofd:Title>",
            escape(&self.doc_id, "the DocID")?,
            escape(&self.title, "the title")?
        );
        if let Some(author) = &self.author {
            info.push_str(&format!(
                "<ofd:Author>{}</ofd:Author>",
                escape(author, "the author")?
            ));
        }
        info.push_str(&format!(
            "<ofd:CreationDate>{}</ofd:CreationDate><ofd:Creator>{PROVIDER}</ofd:Creator><ofd:CreatorVersion>{}</ofd:CreatorVersion>",
            date(self.creation_date),
            env!("CARGO_PKG_VERSION")
        ));
        if !self.custom_datas.is_empty() {
            info.push_str("<ofd:CustomDatas>");
            for (name, value) in &self.custom_datas {
                info.push_str(&format!(
                    r#"<ofd:CustomData Name="{}">{}</ofd:CustomData>"#,
                    escape(name, "a CustomData name")?,
                    escape(value, "a CustomData value")?
                ));
            }
            info.push_str("</ofd:CustomDatas>");
        }
        let ofd = format!(
            r#"{XML_DECL}<ofd:OFD xmlns:ofd="{OFD_NAMESPACE}" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo>{info}</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"#
        );
        let document = format!(
            r#"{XML_DECL}<ofd:Document xmlns:ofd="{OFD_NAMESPACE}"><ofd:CommonData><ofd:MaxUnitID>{ids}</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>{area}</ofd:PhysicalBox><ofd:ApplicationBox>{area}</ofd:ApplicationBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages>{page_refs}</ofd:Pages></ofd:Document>"#
        );
        let public_res = format!(
            r#"{XML_DECL}<ofd:Res xmlns:ofd="{OFD_NAMESPACE}" BaseLoc="Res"><ofd:Fonts><ofd:Font ID="1" FontName="{FONT_NAME}" FamilyName="{FONT_NAME}"/></ofd:Fonts></ofd:Res>"#
        );

        let mut files = OfdFiles::new();
        files.put(ENTRY_FILE, ofd.into_bytes());
        files.put("Doc_0/Document.xml", document.into_bytes());
        files.put("Doc_0/PublicRes.xml", public_res.into_bytes());
        for (path, content) in contents {
            files.put(&path, content.into_bytes());
        }
        Ok(files)
    }
}

const XML_DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// A `TextObject` for `text`, with a `DeltaX` that gives CJK characters a full em and the
/// others half of one, so every viewer lays the text out alike.
fn text_object(id: u64, text: &Text) -> Result<String, OfdWriteError> {
    let x = coordinate(text.x, "a text's x")?;
    let y = coordinate(text.y, "a text's y")?;
    let em = size(text.size, "a text's size")?;
    let advances: Vec<f64> = text
        .text
        .chars()
        .map(|c| {
            if (c as u32) < 0x2E80 {
                text.size / 2.0
            } else {
                text.size
            }
        })
        .collect();
    let width: f64 = advances.iter().sum();
    let delta_x = advances
        .iter()
        .take(advances.len().saturating_sub(1))
        .map(|a| number(*a))
        .collect::<Vec<_>>()
        .join(" ");
    let delta = if delta_x.is_empty() {
        String::new()
    } else {
        format!(r#" DeltaX="{delta_x}""#)
    };
    Ok(format!(
        r#"<ofd:TextObject ID="{id}" Boundary="{x} {y} {} {}" Font="1" Size="{em}"><ofd:TextCode X="0" Y="{em}"{delta}>{}</ofd:TextCode></ofd:TextObject>"#,
        number(width),
        number(text.size * 1.25),
        escape(&text.text, "a page's text")?
    ))
}

/// A number as OFD writes them: at most three decimals, no trailing zeros.
fn number(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

fn coordinate(v: f64, what: &'static str) -> Result<String, OfdWriteError> {
    if v.is_finite() && v >= 0.0 {
        Ok(number(v))
    } else {
        Err(OfdWriteError::BadNumber { what, value: v })
    }
}

fn size(v: f64, what: &'static str) -> Result<String, OfdWriteError> {
    coordinate(v, what)
}

fn date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `s` escaped for XML text and attribute values; control characters refused.
fn escape(s: &str, what: &'static str) -> Result<String, OfdWriteError> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(OfdWriteError::BadText {
                    what,
                    code: c as u32,
                });
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The files of an OFD package, each a normalised path inside the package (no leading `/`)
/// and its bytes, in the order they are zipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfdFiles {
    files: Vec<(String, Vec<u8>)>,
}

impl OfdFiles {
    /// No file.
    pub fn new() -> OfdFiles {
        OfdFiles::default()
    }

    /// The files of the zip `bytes`, read within the bounds and refusals of
    /// [`super::Package::read`] (in zip order, directories left out).
    pub fn from_zip(bytes: &[u8]) -> Result<OfdFiles, OfdWriteError> {
        let package = super::Package::read(bytes)?;
        Ok(OfdFiles {
            files: package
                .files()
                .map(|(p, b)| (p.to_owned(), b.to_vec()))
                .collect(),
        })
    }

    /// The bytes of the file at `path` (no leading `/`).
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, b)| b.as_slice())
    }

    /// Puts `bytes` at `path`: replaces the file in place, or adds it after the others.
    ///
    /// Refuses a path that is not normalised and inside the package (empty, absolute, with
    /// `.` or `..` or empty segments, a backslash, a control character), since the reader
    /// would refuse the package: [`OfdWriteError::BadPath`].
    pub fn insert(&mut self, path: &str, bytes: Vec<u8>) -> Result<(), OfdWriteError> {
        check_path(path)?;
        self.put(path, bytes);
        Ok(())
    }

    /// [`OfdFiles::insert`] for paths made here, known to be good.
    fn put(&mut self, path: &str, bytes: Vec<u8>) {
        match self.files.iter_mut().find(|(p, _)| p == path) {
            Some((_, b)) => *b = bytes,
            None => self.files.push((path.to_owned(), bytes)),
        }
    }

    /// Removes the file at `path`, returning its bytes.
    pub fn remove(&mut self, path: &str) -> Option<Vec<u8>> {
        let i = self.files.iter().position(|(p, _)| p == path)?;
        Some(self.files.remove(i).1)
    }

    /// Every file, as (path, bytes), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(p, b)| (p.as_str(), b.as_slice()))
    }

    /// The number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there is no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The package as a zip: every file deflated, in order, dated 1980-01-01 (the zip epoch)
    /// with mode 0644, so the same files always give the same bytes.
    pub fn to_zip(&self) -> Result<Vec<u8>, OfdWriteError> {
        let zip_err = |e: zip::result::ZipError| OfdWriteError::Zip(e.to_string());
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(DateTime::DEFAULT)
            .unix_permissions(0o644);
        for (path, bytes) in &self.files {
            writer.start_file(path.as_str(), options).map_err(zip_err)?;
            writer
                .write_all(bytes)
                .map_err(|e| OfdWriteError::Zip(e.to_string()))?;
        }
        Ok(writer.finish().map_err(zip_err)?.into_inner())
    }

    /// These files with one more seal applied, as the module doc describes: `Seal.esl`,
    /// `Signature.xml` and `SignedValue.dat` in a new `Signs/Sign_N/` beside `Signatures.xml`,
    /// `Signatures.xml` (re)written with every signature, and `OFD.xml` naming
    /// `Signatures.xml` if it did not yet. Earlier seals are kept as they are and stay valid
    /// (none of our seals references `Signatures.xml`).
    ///
    /// Refuses: a package the reader refuses ([`OfdWriteError::Read`]), several documents
    /// ([`OfdWriteError::SeveralDocuments`]), a page that does not exist
    /// ([`OfdWriteError::NoSuchPage`]), a boundary that is not finite or not positive in size
    /// ([`OfdWriteError::BadNumber`]), a key that is not the certificate's
    /// ([`OfdWriteError::KeyMismatch`]), a certificate without an SM2 key, a seal that is not
    /// GB/T 38540, a signing time before 1970 ([`OfdWriteError::Ses`]).
    pub fn seal(&self, input: &SealInput<'_>) -> Result<OfdFiles, OfdWriteError> {
        let ofd = read(&self.to_zip()?)?;
        let doc = match ofd.documents.as_slice() {
            [doc] => doc,
            docs => {
                return Err(OfdWriteError::SeveralDocuments { count: docs.len() });
            }
        };
        let page = doc.pages.get(input.page).ok_or(OfdWriteError::NoSuchPage {
            page: input.page,
            pages: doc.pages.len(),
        })?;
        let boundary = input.boundary.to_attribute()?;
        let cert_key = ses::sm2_key_of_certificate(input.signer_cert_der, "signer certificate")?;
        if cert_key.to_sec1() != input.signer_key.public_key().to_sec1() {
            return Err(OfdWriteError::KeyMismatch);
        }

        let mut files = self.clone();
        let signatures_path = match &doc.signatures_path {
            Some(p) => p.clone(),
            None => {
                let path = format!("{}Signs/Signatures.xml", parent(&doc.doc_root));
                let ofd_xml = self.get(ENTRY_FILE).unwrap_or_default();
                files.put(ENTRY_FILE, name_signatures(ofd_xml, &path)?);
                path
            }
        };
        let signs_dir = parent(&signatures_path).to_owned();
        let sign_dir = (0usize..)
            .map(|k| format!("{signs_dir}Sign_{k}/"))
            .find(|d| !files.iter().any(|(p, _)| p.starts_with(d.as_str())))
            .unwrap_or_default();

        // IDs: signatures and stamp annotations share one counter, MaxSignId.
        let (existing, max_sign_id) = match self.get(&signatures_path) {
            Some(xml) => signatures_entries(&signatures_path, xml)?,
            None => (Vec::new(), 0),
        };
        let max_used = doc
            .signatures
            .iter()
            .flat_map(|s| {
                std::iter::once(s.id.as_str())
                    .chain(s.signed_info.stamp_annots.iter().map(|a| a.id.as_str()))
            })
            .filter_map(|id| id.trim().parse::<u64>().ok())
            .chain([max_sign_id, doc.signatures.len() as u64])
            .max()
            .unwrap_or(0);
        let sign_id = max_used + 1;
        let annot_id = max_used + 2;

        let seal_path = format!("{sign_dir}Seal.esl");
        let xml_path = format!("{sign_dir}Signature.xml");
        let value_path = format!("{sign_dir}SignedValue.dat");
        files.put(&seal_path, input.seal_der.to_vec());

        let mut references = String::new();
        for (path, bytes) in files.iter() {
            if path == signatures_path {
                continue;
            }
            references.push_str(&format!(
                r#"<ofd:Reference FileRef="/{}"><ofd:CheckValue>{}</ofd:CheckValue></ofd:Reference>"#,
                escape(path, "a package path")?,
                STANDARD.encode(gm::sm3(bytes))
            ));
        }
        let signature_xml = format!(
            r#"{XML_DECL}<ofd:Signature xmlns:ofd="{OFD_NAMESPACE}"><ofd:SignedInfo><ofd:Provider ProviderName="{PROVIDER}" Company="{PROVIDER}" Version="{}"/><ofd:SignatureMethod>{SIGNATURE_METHOD}</ofd:SignatureMethod><ofd:SignatureDateTime>{}</ofd:SignatureDateTime><ofd:References CheckMethod="{CHECK_METHOD}">{references}</ofd:References><ofd:StampAnnot ID="{annot_id}" PageRef="{}" Boundary="{boundary}"/><ofd:Seal><ofd:BaseLoc>/{seal_path}</ofd:BaseLoc></ofd:Seal></ofd:SignedInfo><ofd:SignedValue>/{value_path}</ofd:SignedValue></ofd:Signature>"#,
            env!("CARGO_PKG_VERSION"),
            rfc3339(input.signed_at),
            escape(&page.id, "a page ID")?,
        )
        .into_bytes();
        let value = ses::sign_v4(
            &TbsSpec {
                signed_at: input.signed_at,
                data_hash: gm::sm3(&signature_xml),
                property_info: &format!("/{xml_path}"),
            },
            input.seal_der,
            input.signer_cert_der,
            input.signer_key,
        )?;
        files.put(&xml_path, signature_xml);
        files.put(&value_path, value);

        let mut entries = String::new();
        for e in existing.iter().chain([&SignaturesEntry {
            id: sign_id.to_string(),
            kind: Some("Seal".to_owned()),
            base_loc: format!("/{xml_path}"),
        }]) {
            entries.push_str(&format!(r#"<ofd:Signature ID="{}""#, escape(&e.id, "ID")?));
            if let Some(kind) = &e.kind {
                entries.push_str(&format!(r#" Type="{}""#, escape(kind, "Type")?));
            }
            entries.push_str(&format!(
                r#" BaseLoc="{}"/>"#,
                escape(&e.base_loc, "BaseLoc")?
            ));
        }
        files.put(
            &signatures_path,
            format!(
                r#"{XML_DECL}<ofd:Signatures xmlns:ofd="{OFD_NAMESPACE}"><ofd:MaxSignId>{annot_id}</ofd:MaxSignId>{entries}</ofd:Signatures>"#
            )
            .into_bytes(),
        );
        Ok(files)
    }
}

/// The zip `package` with one more seal: [`OfdFiles::from_zip`], [`OfdFiles::seal`],
/// [`OfdFiles::to_zip`]. Refuses what they refuse.
pub fn seal(package: &[u8], input: &SealInput<'_>) -> Result<Vec<u8>, OfdWriteError> {
    OfdFiles::from_zip(package)?.seal(input)?.to_zip()
}

/// Where a seal's picture goes on its page, in millimetres from the page's top left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Boundary {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width (positive).
    pub width: f64,
    /// Height (positive).
    pub height: f64,
}

impl Boundary {
    /// The `Boundary` attribute `x y width height`.
    fn to_attribute(self) -> Result<String, OfdWriteError> {
        for (what, v) in [
            ("the seal's width", self.width),
            ("the seal's height", self.height),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(OfdWriteError::BadNumber { what, value: v });
            }
        }
        Ok(format!(
            "{} {} {} {}",
            coordinate(self.x, "the seal's x")?,
            coordinate(self.y, "the seal's y")?,
            number(self.width),
            number(self.height)
        ))
    }
}

/// What a seal needs: the seal, the signer's certificate and key, when, and where it shows.
#[derive(Debug, Clone, Copy)]
pub struct SealInput<'a> {
    /// The GB/T 38540 seal (`SES_Seal` DER, a `.esl` file), applied as stored.
    pub seal_der: &'a [u8],
    /// The signer's (签章者's) SM2 certificate, DER; the seal should list it.
    pub signer_cert_der: &'a [u8],
    /// The signer's key, the certificate's.
    pub signer_key: &'a Sm2PrivateKey,
    /// The signing time (Unix seconds), written in `TBS_Sign.timeInfo` and as
    /// `SignatureDateTime` (RFC 3339, UTC).
    pub signed_at: i64,
    /// The page the seal's picture shows on (index into the document's pages, from 0).
    pub page: usize,
    /// Where on that page.
    pub boundary: Boundary,
}

/// A `Signature` entry of `Signatures.xml`, kept to be written again.
struct SignaturesEntry {
    id: String,
    kind: Option<String>,
    base_loc: String,
}

/// The entries and `MaxSignId` (0 when absent or not a number) of `Signatures.xml`.
fn signatures_entries(path: &str, xml: &[u8]) -> Result<(Vec<SignaturesEntry>, u64), OfdError> {
    use super::xml::{attr, child_text, children, parse, root};
    let doc = parse(path, xml)?;
    let root = root(&doc, path, "Signatures")?;
    let max = child_text(root, "MaxSignId")
        .and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let mut entries = Vec::new();
    for s in children(root, "Signature") {
        // The reader has already refused an entry without ID or BaseLoc.
        entries.push(SignaturesEntry {
            id: attr(s, "ID").unwrap_or_default(),
            kind: attr(s, "Type"),
            base_loc: attr(s, "BaseLoc").unwrap_or_default(),
        });
    }
    Ok((entries, max))
}

/// `OFD.xml` with a `Signatures` element naming `/path` inserted after the first `DocBody`'s
/// `DocRoot`, in the namespace prefix that `DocRoot` uses; nothing else changes.
fn name_signatures(ofd_xml: &[u8], path: &str) -> Result<Vec<u8>, OfdWriteError> {
    use super::xml::{child, children, parse, root};
    let doc = parse(ENTRY_FILE, ofd_xml)?;
    let ofd = root(&doc, ENTRY_FILE, "OFD")?;
    let doc_root = children(ofd, "DocBody")
        .next()
        .and_then(|body| child(body, "DocRoot"))
        .ok_or_else(|| OfdError::MissingElement {
            path: ENTRY_FILE.to_owned(),
            what: "DocBody/DocRoot",
        })?;
    let range = doc_root.range();
    let text = doc.input_text();
    let tag: String = text
        .get(range.start + 1..)
        .unwrap_or_default()
        .chars()
        .take_while(|c| !matches!(c, ' ' | '>' | '/' | '\t' | '\n' | '\r'))
        .collect();
    let prefix = match tag.split_once(':') {
        Some((p, _)) => format!("{p}:"),
        None => String::new(),
    };
    let element = format!(
        "<{prefix}Signatures>/{}</{prefix}Signatures>",
        escape(path, "a package path")?
    );
    let mut out = Vec::with_capacity(ofd_xml.len() + element.len());
    out.extend_from_slice(text.get(..range.end).unwrap_or_default().as_bytes());
    out.extend_from_slice(element.as_bytes());
    out.extend_from_slice(text.get(range.end..).unwrap_or_default().as_bytes());
    Ok(out)
}

/// The directory part of a package path, with its trailing `/` (empty at the root).
fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    }
}

/// A package path must be what [`resolve`] makes of it as an absolute location.
fn check_path(path: &str) -> Result<(), OfdWriteError> {
    let bad = |reason| OfdWriteError::BadPath {
        path: path.to_owned(),
        reason,
    };
    if path.starts_with('/') {
        return Err(bad("a package path has no leading slash"));
    }
    if path.chars().any(|c| (c as u32) < 0x20) {
        return Err(bad("it holds a control character"));
    }
    match resolve(ENTRY_FILE, &format!("/{path}")) {
        Ok(p) if p == path && !path.ends_with('/') => Ok(()),
        Ok(_) => Err(bad("it is not normalised (empty or `.` segments)")),
        Err(reason) => Err(bad(reason)),
    }
}

#[cfg(test)]
mod tests;
