//! Step 2: applying a GB/T 38540 seal to a package ([`OfdFiles::seal`], [`seal`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::build::{XML_DECL, coordinate, escape, number};
use super::{CHECK_METHOD, OFD_NAMESPACE, OfdFiles, OfdWriteError, PROVIDER, SIGNATURE_METHOD};
use crate::gm::{self, Sm2PrivateKey};
use crate::licence::verify::rfc3339;
use crate::ofd::OfdError;
use crate::ofd::document::{ENTRY_FILE, read};
use crate::ofd::ses::{self, TbsSpec};

impl OfdFiles {
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
        // Read as a verifier would, so that only what it reads gets sealed; stored, not
        // deflated: these bytes are read at once and dropped.
        let ofd = read(&self.to_zip_stored()?)?;
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
    use crate::ofd::xml::{attr, child_text, children, parse, root};
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
    use crate::ofd::xml::{child, children, parse, root};
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
