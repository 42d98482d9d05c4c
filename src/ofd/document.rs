//! From the package to the documents: `OFD.xml`, each `Document.xml`, `Signatures.xml` and
//! each `Signature.xml`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use roxmltree::Node;
use serde::{Serialize, Serializer};

use super::path::resolve;
use super::xml::{attr, child, child_text, children, parse, root, text};
use super::{OfdError, Package};
use crate::codes::{CodeError, LicenceId};

/// The entry file every OFD package starts from (GB/T 33190 §7.4).
pub const ENTRY_FILE: &str = "OFD.xml";

/// The `CustomData` name under which GB/T 36905 licence files carry the GB/T 36904 identifier.
pub const LICENCE_ID_NAME: &str = "证照标识";

/// The start every GB/T 36904 identifier shares; a `CustomData` value that begins with it is
/// shaped like one.
const LICENCE_ID_ROOT: &str = "1.2.156.3005.2.";

/// An OFD file read: its package and the documents `OFD.xml` lists (one `DocBody` each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ofd {
    /// Every file of the package with its exact bytes.
    pub package: Package,
    /// The documents, in the order of their `DocBody` elements (at least one).
    pub documents: Vec<OfdDocument>,
}

/// One document of an OFD file: its metadata, pages, resources and signatures, with every
/// location resolved to a package path (see [`resolve`](super::resolve)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfdDocument {
    /// The package path of this document's `Document.xml` (`DocBody/DocRoot`).
    pub doc_root: String,
    /// `DocInfo/DocID`.
    pub doc_id: Option<String>,
    /// `DocInfo/Title`.
    pub title: Option<String>,
    /// `DocInfo/Author`.
    pub author: Option<String>,
    /// `DocInfo/Subject`.
    pub subject: Option<String>,
    /// `DocInfo/Creator`: the application that made the file.
    pub creator: Option<String>,
    /// `DocInfo/CreatorVersion`.
    pub creator_version: Option<String>,
    /// `DocInfo/CreationDate`, as written (`xs:date`).
    pub creation_date: Option<String>,
    /// `DocInfo/ModDate`, as written.
    pub mod_date: Option<String>,
    /// `DocInfo/CustomDatas/CustomData`: (`Name`, text) pairs in document order, repeated
    /// names kept. GB/T 36903 licence metadata lives here (证照名称, 证照编号, 持证主体, …);
    /// values may be personal data.
    pub custom_datas: Vec<(String, String)>,
    /// The GB/T 36904 identifier read from the `CustomData`s (see [`LicenceIdField`]).
    pub licence_id: LicenceIdField,
    /// `Document.xml`'s `Pages/Page`, in order.
    pub pages: Vec<PageRef>,
    /// `CommonData/PublicRes` then `CommonData/DocumentRes` files, in order.
    pub resources: Vec<String>,
    /// `CommonData/TemplatePage@BaseLoc` files, in order.
    pub templates: Vec<String>,
    /// `Document.xml`'s `Annotations` file, if named.
    pub annotations: Option<String>,
    /// `Document.xml`'s `Attachments` file, if named.
    pub attachments: Option<String>,
    /// `Document.xml`'s `CustomTags` file, if named.
    pub custom_tags: Option<String>,
    /// `Document.xml`'s `Extensions` file, if named.
    pub extensions: Option<String>,
    /// The package path of `Signatures.xml` (`DocBody/Signatures`), if the document is signed.
    pub signatures_path: Option<String>,
    /// The signatures `Signatures.xml` lists, in order.
    pub signatures: Vec<SignatureEntry>,
    /// Files this document names that the package lacks, each once, in the order met: pages'
    /// content, resources, templates, annotations, attachments, custom tags, extensions, seals,
    /// signed values and referenced files. Their absence is not fatal to reading (one of
    /// ofdrw's real files names a `PublicRes.xml` it lacks); a verifier decides what it means.
    pub missing: Vec<String>,
}

/// A page of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageRef {
    /// `Page@ID`, as written; `StampAnnot@PageRef` points at it.
    pub id: String,
    /// The package path of the page's content (`Page@BaseLoc`).
    pub path: String,
}

/// What the `CustomData`s say about the document's GB/T 36904 licence identifier.
///
/// The value is taken from the `CustomData` named [`LICENCE_ID_NAME`] (证照标识); when there is
/// none, from a `CustomData` value shaped like an identifier (beginning `1.2.156.3005.2.`). It is
/// parsed with [`LicenceId`], check character included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LicenceIdField {
    /// No `CustomData` gives an identifier.
    Absent,
    /// One identifier, valid.
    Valid {
        /// The identifier.
        id: LicenceId,
    },
    /// A value was there but is not a valid identifier.
    Invalid {
        /// Why (the message names the field at fault, never the value).
        #[serde(serialize_with = "display")]
        error: CodeError,
    },
    /// Several different values (several 证照标识, or no 证照标识 and several values shaped like
    /// identifiers): which one the document means cannot be told.
    Conflicting {
        /// How many different values.
        count: usize,
    },
}

impl LicenceIdField {
    /// The identifier, when exactly one valid identifier is there.
    pub fn id(&self) -> Option<&LicenceId> {
        match self {
            LicenceIdField::Valid { id } => Some(id),
            _ => None,
        }
    }

    /// Whether a value was there that does not give one valid identifier.
    pub fn is_invalid(&self) -> bool {
        matches!(
            self,
            LicenceIdField::Invalid { .. } | LicenceIdField::Conflicting { .. }
        )
    }

    /// Read the identifier from `custom_datas` (see the type's documentation).
    pub fn from_custom_datas(custom_datas: &[(String, String)]) -> LicenceIdField {
        let mut values: Vec<&str> = custom_datas
            .iter()
            .filter(|(name, _)| name.trim() == LICENCE_ID_NAME)
            .map(|(_, value)| value.trim())
            .collect();
        if values.is_empty() {
            values = custom_datas
                .iter()
                .map(|(_, value)| value.trim())
                .filter(|value| value.starts_with(LICENCE_ID_ROOT))
                .collect();
        }
        values.sort_unstable();
        values.dedup();
        match values.as_slice() {
            [] => LicenceIdField::Absent,
            [one] => match one.parse::<LicenceId>() {
                Ok(id) => LicenceIdField::Valid { id },
                Err(error) => LicenceIdField::Invalid { error },
            },
            many => LicenceIdField::Conflicting { count: many.len() },
        }
    }
}

/// Serialise a value by its `Display`.
fn display<T: std::fmt::Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// Serialise bytes as standard base64, as OFD writes them.
fn base64<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&STANDARD.encode(bytes))
}

/// `Signature@Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SignatureType {
    /// An electronic seal (电子签章), GB/T 38540 / GM/T 0031; the default when `Type` is absent.
    Seal,
    /// A plain digital signature (GB/T 35275 SignedData or a bare SM2 signature).
    Sign,
}

/// A signature of a document: its `Signatures.xml` entry and its `Signature.xml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureEntry {
    /// `Signature@ID`.
    pub id: String,
    /// `Signature@Type`.
    #[serde(rename = "type")]
    pub kind: SignatureType,
    /// The package path of its `Signature.xml` (`Signature@BaseLoc`).
    pub signature_xml_path: String,
    /// The exact bytes of that `Signature.xml`: what the signed value's data hash covers.
    #[serde(skip)]
    pub signature_xml_bytes: Vec<u8>,
    /// Its `SignedInfo`.
    pub signed_info: SignedInfo,
    /// The package path of the signed value (`Signature/SignedValue`, usually
    /// `SignedValue.dat`). It may be missing from the package (then it is in
    /// [`OfdDocument::missing`]).
    pub signed_value_path: String,
}

/// `Signature.xml`'s `SignedInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedInfo {
    /// `Provider`: who made the signature.
    pub provider: Option<Provider>,
    /// `SignatureMethod`, as written (e.g. `1.2.156.10197.1.501`).
    pub signature_method: Option<String>,
    /// `SignatureDateTime`, as written.
    pub signature_date_time: Option<String>,
    /// `References@CheckMethod`, as written (`1.2.156.10197.1.401`, `SM3`, …); `None` when
    /// absent (GB/T 33190 then means MD5, which a verifier should refuse).
    pub check_method: Option<String>,
    /// `References/Reference`, in order.
    pub references: Vec<Reference>,
    /// `StampAnnot`s: where the seal's picture appears.
    pub stamp_annots: Vec<StampAnnot>,
    /// The package path of the seal file (`Seal/BaseLoc`), if named.
    pub seal_path: Option<String>,
}

/// `SignedInfo/Provider`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provider {
    /// `ProviderName`.
    pub name: Option<String>,
    /// `Company`.
    pub company: Option<String>,
    /// `Version`.
    pub version: Option<String>,
}

/// One `References/Reference`: a package file and its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// `FileRef` as written (`/Doc_0/Document.xml`).
    pub file_ref_raw: String,
    /// `FileRef` resolved to a package path (relative locations start at the directory of
    /// `Signature.xml`).
    pub file_ref: String,
    /// `CheckValue`, base64-decoded: the digest of the file under `CheckMethod`.
    #[serde(serialize_with = "base64")]
    pub check_value: Vec<u8>,
}

/// One `SignedInfo/StampAnnot`, attributes as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StampAnnot {
    /// `ID`.
    pub id: String,
    /// `PageRef`: the `ID` of the page.
    pub page_ref: String,
    /// `Boundary`: `x y w h` in millimetres.
    pub boundary: String,
    /// `Clip`, if present (a riding seal shows one slice per page).
    pub clip: Option<String>,
}

/// Read the OFD file `bytes`: the package ([`Package::read`]) and every document `OFD.xml`
/// lists.
///
/// Besides what [`Package::read`] refuses, this refuses (each [`OfdError`] naming the file):
/// a missing `OFD.xml`, `Document.xml`, `Signatures.xml` or `Signature.xml` (without them
/// there is no document, or no way to tell what is signed); XML that is not UTF-8, not
/// well-formed, or holds a DTD; a root element other than the one required; a required
/// element or attribute that is absent (`DocBody`, `DocInfo`, `DocRoot`, `Pages`,
/// `Page@ID`/`@BaseLoc`, `Signature@ID`/`@BaseLoc`, `SignedInfo`, `SignedValue`,
/// `References`, `Reference@FileRef`, `CheckValue`, `StampAnnot@ID`/`@PageRef`/`@Boundary`,
/// `CustomData@Name`); a location that does not stay inside the package; a signature type
/// other than `Seal` or `Sign`; a `CheckValue` that is not base64.
///
/// Other files a document names may be missing: they are listed in
/// [`OfdDocument::missing`]. Never panics, whatever the input.
pub fn read(bytes: &[u8]) -> Result<Ofd, OfdError> {
    let package = Package::read(bytes)?;
    let entry = package
        .get(ENTRY_FILE)
        .ok_or_else(|| OfdError::MissingFile {
            path: ENTRY_FILE.to_owned(),
            named_by: "the OFD standard".to_owned(),
        })?;
    let doc = parse(ENTRY_FILE, entry)?;
    let ofd = root(&doc, ENTRY_FILE, "OFD")?;
    let mut documents = Vec::new();
    for body in children(ofd, "DocBody") {
        documents.push(read_document(&package, body)?);
    }
    if documents.is_empty() {
        return Err(missing_element(ENTRY_FILE, "OFD/DocBody"));
    }
    Ok(Ofd { package, documents })
}

/// Read one `DocBody` of `OFD.xml`.
fn read_document(package: &Package, body: Node<'_, '_>) -> Result<OfdDocument, OfdError> {
    let info = child(body, "DocInfo").ok_or_else(|| missing_element(ENTRY_FILE, "DocInfo"))?;
    let mut custom_datas = Vec::new();
    for datas in children(info, "CustomDatas") {
        for data in children(datas, "CustomData") {
            let name =
                attr(data, "Name").ok_or_else(|| missing_element(ENTRY_FILE, "CustomData@Name"))?;
            custom_datas.push((name, text(data).unwrap_or_default()));
        }
    }
    let licence_id = LicenceIdField::from_custom_datas(&custom_datas);

    let doc_root_location =
        child_text(body, "DocRoot").ok_or_else(|| missing_element(ENTRY_FILE, "DocRoot"))?;
    let doc_root = locate(ENTRY_FILE, &doc_root_location)?;
    let signatures_path = match child_text(body, "Signatures") {
        Some(location) => Some(locate(ENTRY_FILE, &location)?),
        None => None,
    };

    let mut document = OfdDocument {
        doc_root: doc_root.clone(),
        doc_id: child_text(info, "DocID"),
        title: child_text(info, "Title"),
        author: child_text(info, "Author"),
        subject: child_text(info, "Subject"),
        creator: child_text(info, "Creator"),
        creator_version: child_text(info, "CreatorVersion"),
        creation_date: child_text(info, "CreationDate"),
        mod_date: child_text(info, "ModDate"),
        custom_datas,
        licence_id,
        pages: Vec::new(),
        resources: Vec::new(),
        templates: Vec::new(),
        annotations: None,
        attachments: None,
        custom_tags: None,
        extensions: None,
        signatures_path: signatures_path.clone(),
        signatures: Vec::new(),
        missing: Vec::new(),
    };
    read_document_xml(package, &mut document)?;
    if let Some(path) = signatures_path {
        read_signatures(package, &path, &mut document)?;
    }
    Ok(document)
}

/// Read `Document.xml` into `document`: pages, resources, templates and the other files.
fn read_document_xml(package: &Package, document: &mut OfdDocument) -> Result<(), OfdError> {
    let path = document.doc_root.clone();
    let bytes = required(package, &path, ENTRY_FILE)?;
    let doc = parse(&path, bytes)?;
    let root = root(&doc, &path, "Document")?;
    let common = child(root, "CommonData").ok_or_else(|| missing_element(&path, "CommonData"))?;
    for kind in ["PublicRes", "DocumentRes"] {
        for res in children(common, kind) {
            let location = text(res).ok_or_else(|| missing_element(&path, "CommonData/*Res"))?;
            let file = locate(&path, &location)?;
            document.note_if_missing(package, &file);
            document.resources.push(file);
        }
    }
    for template in children(common, "TemplatePage") {
        let location = attr(template, "BaseLoc")
            .ok_or_else(|| missing_element(&path, "TemplatePage@BaseLoc"))?;
        let file = locate(&path, &location)?;
        document.note_if_missing(package, &file);
        document.templates.push(file);
    }
    let pages = child(root, "Pages").ok_or_else(|| missing_element(&path, "Pages"))?;
    for page in children(pages, "Page") {
        let id = attr(page, "ID").ok_or_else(|| missing_element(&path, "Page@ID"))?;
        let location =
            attr(page, "BaseLoc").ok_or_else(|| missing_element(&path, "Page@BaseLoc"))?;
        let file = locate(&path, &location)?;
        document.note_if_missing(package, &file);
        document.pages.push(PageRef { id, path: file });
    }
    let mut optional = |local: &'static str| -> Result<Option<String>, OfdError> {
        match child_text(root, local) {
            Some(location) => {
                let file = locate(&path, &location)?;
                document.note_if_missing(package, &file);
                Ok(Some(file))
            }
            None => Ok(None),
        }
    };
    let annotations = optional("Annotations")?;
    let attachments = optional("Attachments")?;
    let custom_tags = optional("CustomTags")?;
    let extensions = optional("Extensions")?;
    document.annotations = annotations;
    document.attachments = attachments;
    document.custom_tags = custom_tags;
    document.extensions = extensions;
    Ok(())
}

/// Read `Signatures.xml` at `path` and each `Signature.xml` it lists into `document`.
fn read_signatures(
    package: &Package,
    path: &str,
    document: &mut OfdDocument,
) -> Result<(), OfdError> {
    let bytes = required(package, path, ENTRY_FILE)?;
    let doc = parse(path, bytes)?;
    let root = root(&doc, path, "Signatures")?;
    for signature in children(root, "Signature") {
        let id = attr(signature, "ID").ok_or_else(|| missing_element(path, "Signature@ID"))?;
        let kind = match attr(signature, "Type").as_deref() {
            None | Some("Seal") => SignatureType::Seal,
            Some("Sign") => SignatureType::Sign,
            Some(other) => {
                return Err(OfdError::UnknownSignatureType {
                    path: path.to_owned(),
                    found: other.to_owned(),
                });
            }
        };
        let location =
            attr(signature, "BaseLoc").ok_or_else(|| missing_element(path, "Signature@BaseLoc"))?;
        let xml_path = locate(path, &location)?;
        let entry = read_signature_xml(package, path, id, kind, xml_path, document)?;
        document.signatures.push(entry);
    }
    Ok(())
}

/// Read one `Signature.xml` (at `xml_path`, listed in `signatures_path`).
fn read_signature_xml(
    package: &Package,
    signatures_path: &str,
    id: String,
    kind: SignatureType,
    xml_path: String,
    document: &mut OfdDocument,
) -> Result<SignatureEntry, OfdError> {
    let bytes = required(package, &xml_path, signatures_path)?;
    let doc = parse(&xml_path, bytes)?;
    let root = root(&doc, &xml_path, "Signature")?;
    let info = child(root, "SignedInfo").ok_or_else(|| missing_element(&xml_path, "SignedInfo"))?;
    let value_location =
        child_text(root, "SignedValue").ok_or_else(|| missing_element(&xml_path, "SignedValue"))?;
    let signed_value_path = locate(&xml_path, &value_location)?;
    document.note_if_missing(package, &signed_value_path);

    let provider = child(info, "Provider").map(|p| Provider {
        name: attr(p, "ProviderName"),
        company: attr(p, "Company"),
        version: attr(p, "Version"),
    });
    let refs = child(info, "References").ok_or_else(|| missing_element(&xml_path, "References"))?;
    let mut references = Vec::new();
    for reference in children(refs, "Reference") {
        let file_ref_raw = attr(reference, "FileRef")
            .ok_or_else(|| missing_element(&xml_path, "Reference@FileRef"))?;
        let file_ref = locate(&xml_path, &file_ref_raw)?;
        let encoded = child_text(reference, "CheckValue")
            .ok_or_else(|| missing_element(&xml_path, "Reference/CheckValue"))?;
        let compact: String = encoded
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let check_value = STANDARD
            .decode(compact)
            .map_err(|_| OfdError::BadCheckValue {
                path: xml_path.clone(),
                file_ref: file_ref_raw.clone(),
            })?;
        document.note_if_missing(package, &file_ref);
        references.push(Reference {
            file_ref_raw,
            file_ref,
            check_value,
        });
    }
    let mut stamp_annots = Vec::new();
    for annot in children(info, "StampAnnot") {
        stamp_annots.push(StampAnnot {
            id: attr(annot, "ID").ok_or_else(|| missing_element(&xml_path, "StampAnnot@ID"))?,
            page_ref: attr(annot, "PageRef")
                .ok_or_else(|| missing_element(&xml_path, "StampAnnot@PageRef"))?,
            boundary: attr(annot, "Boundary")
                .ok_or_else(|| missing_element(&xml_path, "StampAnnot@Boundary"))?,
            clip: attr(annot, "Clip"),
        });
    }
    let seal_path = match child(info, "Seal") {
        Some(seal) => {
            let location = child_text(seal, "BaseLoc")
                .ok_or_else(|| missing_element(&xml_path, "Seal/BaseLoc"))?;
            let file = locate(&xml_path, &location)?;
            document.note_if_missing(package, &file);
            Some(file)
        }
        None => None,
    };
    let signed_info = SignedInfo {
        provider,
        signature_method: child_text(info, "SignatureMethod"),
        signature_date_time: child_text(info, "SignatureDateTime"),
        check_method: attr(refs, "CheckMethod"),
        references,
        stamp_annots,
        seal_path,
    };
    Ok(SignatureEntry {
        id,
        kind,
        signature_xml_bytes: bytes.to_vec(),
        signature_xml_path: xml_path,
        signed_info,
        signed_value_path,
    })
}

impl OfdDocument {
    /// Add `path` to [`missing`](Self::missing) if the package lacks it (once).
    fn note_if_missing(&mut self, package: &Package, path: &str) {
        if !package.contains(path) && !self.missing.iter().any(|m| m == path) {
            self.missing.push(path.to_owned());
        }
    }
}

/// Resolve `location` written in `from`, as [`OfdError::BadLocation`] when refused.
fn locate(from: &str, location: &str) -> Result<String, OfdError> {
    resolve(from, location).map_err(|reason| OfdError::BadLocation {
        path: from.to_owned(),
        location: location.to_owned(),
        reason,
    })
}

/// The bytes of a file the reading cannot go on without.
fn required<'p>(package: &'p Package, path: &str, named_by: &str) -> Result<&'p [u8], OfdError> {
    package.get(path).ok_or_else(|| OfdError::MissingFile {
        path: path.to_owned(),
        named_by: named_by.to_owned(),
    })
}

/// [`OfdError::MissingElement`].
fn missing_element(path: &str, what: &'static str) -> OfdError {
    OfdError::MissingElement {
        path: path.to_owned(),
        what,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::ofd::testutil::zip;

    const NS: &str = "http://www.ofdspec.org/2016";
    const VALID_ID: &str = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F";

    fn ofd_xml(docinfo_extra: &str, body_extra: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{NS}" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>abc</ofd:DocID><ofd:Title>T</ofd:Title><ofd:CreationDate>2024-01-02</ofd:CreationDate>{docinfo_extra}</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>{body_extra}</ofd:DocBody></ofd:OFD>"#
        )
    }

    fn document_xml(pages: &str) -> String {
        format!(
            r#"<ofd:Document xmlns:ofd="{NS}"><ofd:CommonData><ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages>{pages}</ofd:Pages></ofd:Document>"#
        )
    }

    const ONE_PAGE: &str = r#"<ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/>"#;

    fn signatures_xml(entries: &str) -> String {
        format!(r#"<ofd:Signatures xmlns:ofd="{NS}">{entries}</ofd:Signatures>"#)
    }

    fn signature_xml(references: &str) -> String {
        format!(
            r#"<ofd:Signature xmlns:ofd="{NS}"><ofd:SignedInfo><ofd:Provider ProviderName="p" Company="c" Version="1"/><ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod><ofd:SignatureDateTime>20240102030405Z</ofd:SignatureDateTime><ofd:References CheckMethod="1.2.156.10197.1.401">{references}</ofd:References><ofd:StampAnnot ID="9" PageRef="1" Boundary="10 10 40 40"/><ofd:Seal><ofd:BaseLoc>Seal.esl</ofd:BaseLoc></ofd:Seal></ofd:SignedInfo><ofd:SignedValue>SignedValue.dat</ofd:SignedValue></ofd:Signature>"#
        )
    }

    const ONE_REF: &str = r#"<ofd:Reference FileRef="/Doc_0/Document.xml"><ofd:CheckValue>AAEC</ofd:CheckValue></ofd:Reference>"#;
    const SIGNED: &str = "<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures>";
    const ONE_SIGNATURE: &str =
        r#"<ofd:Signature ID="s1" Type="Seal" BaseLoc="Sign_0/Signature.xml"/>"#;

    /// A signed one-page package; `replace` swaps one file's content (or removes it with
    /// `None`).
    fn package(replace: &[(&str, Option<String>)]) -> Vec<u8> {
        let mut files: Vec<(String, String)> = vec![
            ("OFD.xml".into(), ofd_xml("", SIGNED)),
            ("Doc_0/Document.xml".into(), document_xml(ONE_PAGE)),
            (
                "Doc_0/PublicRes.xml".into(),
                format!(r#"<ofd:Res xmlns:ofd="{NS}"/>"#),
            ),
            (
                "Doc_0/Pages/Page_0/Content.xml".into(),
                format!(r#"<ofd:Page xmlns:ofd="{NS}"/>"#),
            ),
            (
                "Doc_0/Signs/Signatures.xml".into(),
                signatures_xml(ONE_SIGNATURE),
            ),
            (
                "Doc_0/Signs/Sign_0/Signature.xml".into(),
                signature_xml(ONE_REF),
            ),
            ("Doc_0/Signs/Sign_0/Seal.esl".into(), "seal".into()),
            ("Doc_0/Signs/Sign_0/SignedValue.dat".into(), "value".into()),
        ];
        for (path, content) in replace {
            match (files.iter().position(|(p, _)| p == path), content) {
                (Some(i), Some(c)) => files[i].1 = c.clone(),
                (Some(i), None) => {
                    files.remove(i);
                }
                (None, Some(c)) => files.push(((*path).to_owned(), c.clone())),
                (None, None) => {}
            }
        }
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_bytes()))
            .collect();
        zip(&refs)
    }

    fn with(path: &str, content: String) -> Vec<u8> {
        package(&[(path, Some(content))])
    }

    fn without(path: &str) -> Vec<u8> {
        package(&[(path, None)])
    }

    fn refusal(bytes: &[u8]) -> OfdError {
        read(bytes).expect_err("must be refused")
    }

    #[test]
    fn a_signed_package_reads_with_every_location_resolved() {
        let ofd = read(&package(&[])).unwrap();
        assert_eq!(ofd.documents.len(), 1);
        let doc = &ofd.documents[0];
        assert_eq!(doc.doc_id.as_deref(), Some("abc"));
        assert_eq!(doc.title.as_deref(), Some("T"));
        assert_eq!(doc.creation_date.as_deref(), Some("2024-01-02"));
        assert_eq!(
            doc.pages,
            vec![PageRef {
                id: "1".into(),
                path: "Doc_0/Pages/Page_0/Content.xml".into()
            }]
        );
        assert_eq!(doc.resources, vec!["Doc_0/PublicRes.xml"]);
        assert!(doc.missing.is_empty(), "{:?}", doc.missing);
        let sig = &doc.signatures[0];
        assert_eq!(sig.id, "s1");
        assert_eq!(sig.signature_xml_path, "Doc_0/Signs/Sign_0/Signature.xml");
        assert_eq!(sig.signed_value_path, "Doc_0/Signs/Sign_0/SignedValue.dat");
        let info = &sig.signed_info;
        assert_eq!(
            info.seal_path.as_deref(),
            Some("Doc_0/Signs/Sign_0/Seal.esl")
        );
        assert_eq!(info.check_method.as_deref(), Some("1.2.156.10197.1.401"));
        assert_eq!(info.signature_date_time.as_deref(), Some("20240102030405Z"));
        assert_eq!(
            info.references,
            vec![Reference {
                file_ref_raw: "/Doc_0/Document.xml".into(),
                file_ref: "Doc_0/Document.xml".into(),
                check_value: vec![0, 1, 2],
            }]
        );
        assert_eq!(
            info.stamp_annots,
            vec![StampAnnot {
                id: "9".into(),
                page_ref: "1".into(),
                boundary: "10 10 40 40".into(),
                clip: None
            }]
        );
        // The report form: bytes of Signature.xml left out, CheckValue as base64.
        let json = serde_json::to_value(doc).unwrap();
        assert_eq!(json["signatures"][0]["type"], "Seal");
        assert_eq!(
            json["signatures"][0]["signed_info"]["references"][0]["check_value"],
            "AAEC"
        );
        assert!(json["signatures"][0].get("signature_xml_bytes").is_none());
        assert_eq!(json["licence_id"]["status"], "absent");
    }

    #[test]
    fn the_old_namespace_and_unprefixed_elements_read_alike() {
        let plain = |xml: String| {
            xml.replace("ofd:", "")
                .replace("xmlns:ofd=", "xmlns=")
                .replace(NS, "http://www.ofdspec.org")
        };
        let files = [
            "OFD.xml",
            "Doc_0/Document.xml",
            "Doc_0/Signs/Signatures.xml",
            "Doc_0/Signs/Sign_0/Signature.xml",
        ];
        let reference = read(&package(&[])).unwrap();
        let original = [
            ofd_xml("", SIGNED),
            document_xml(ONE_PAGE),
            signatures_xml(ONE_SIGNATURE),
            signature_xml(ONE_REF),
        ];
        let replaced: Vec<(&str, Option<String>)> = files
            .iter()
            .zip(original)
            .map(|(p, x)| (*p, Some(plain(x))))
            .collect();
        let ofd = read(&package(&replaced)).unwrap();
        let (a, b) = (&reference.documents[0], &ofd.documents[0]);
        assert_eq!(a.pages, b.pages);
        assert_eq!(a.signatures[0].signed_info, b.signatures[0].signed_info);
        assert_ne!(
            a.signatures[0].signature_xml_bytes,
            b.signatures[0].signature_xml_bytes
        );
    }

    #[test]
    fn a_package_without_ofd_xml_is_refused() {
        assert_eq!(
            refusal(&without("OFD.xml")),
            OfdError::MissingFile {
                path: "OFD.xml".into(),
                named_by: "the OFD standard".into()
            }
        );
    }

    #[test]
    fn fatal_missing_files_are_refused_naming_who_names_them() {
        for (path, named_by) in [
            ("Doc_0/Document.xml", "OFD.xml"),
            ("Doc_0/Signs/Signatures.xml", "OFD.xml"),
            (
                "Doc_0/Signs/Sign_0/Signature.xml",
                "Doc_0/Signs/Signatures.xml",
            ),
        ] {
            assert_eq!(
                refusal(&without(path)),
                OfdError::MissingFile {
                    path: path.into(),
                    named_by: named_by.into()
                }
            );
        }
    }

    #[test]
    fn other_missing_files_are_recorded_once_each() {
        let bytes = package(&[
            ("Doc_0/PublicRes.xml", None),
            ("Doc_0/Pages/Page_0/Content.xml", None),
            ("Doc_0/Signs/Sign_0/Seal.esl", None),
            ("Doc_0/Signs/Sign_0/SignedValue.dat", None),
            (
                "Doc_0/Signs/Sign_0/Signature.xml",
                Some(signature_xml(&format!(
                    r#"{ONE_REF}<ofd:Reference FileRef="/Doc_0/Gone.xml"><ofd:CheckValue>AA==</ofd:CheckValue></ofd:Reference><ofd:Reference FileRef="/Doc_0/PublicRes.xml"><ofd:CheckValue>AA==</ofd:CheckValue></ofd:Reference>"#
                ))),
            ),
        ]);
        let doc = &read(&bytes).unwrap().documents[0];
        assert_eq!(
            doc.missing,
            vec![
                "Doc_0/PublicRes.xml",
                "Doc_0/Pages/Page_0/Content.xml",
                "Doc_0/Signs/Sign_0/SignedValue.dat",
                "Doc_0/Gone.xml",
                "Doc_0/Signs/Sign_0/Seal.esl",
            ]
        );
    }

    #[test]
    fn a_base_loc_pointing_outside_the_package_is_refused() {
        let bytes = with(
            "Doc_0/Document.xml",
            document_xml(r#"<ofd:Page ID="1" BaseLoc="../../etc/passwd"/>"#),
        );
        assert_eq!(
            refusal(&bytes),
            OfdError::BadLocation {
                path: "Doc_0/Document.xml".into(),
                location: "../../etc/passwd".into(),
                reason: "it climbs above the package root"
            }
        );
        let bytes = with(
            "Doc_0/Signs/Signatures.xml",
            signatures_xml(r#"<ofd:Signature ID="s1" BaseLoc="/../Signature.xml"/>"#),
        );
        assert!(matches!(
            refusal(&bytes),
            OfdError::BadLocation { path, .. } if path == "Doc_0/Signs/Signatures.xml"
        ));
        let bytes = with(
            "Doc_0/Signs/Sign_0/Signature.xml",
            signature_xml(
                r#"<ofd:Reference FileRef="file:///etc/passwd"><ofd:CheckValue>AA==</ofd:CheckValue></ofd:Reference>"#,
            ),
        );
        assert!(matches!(
            refusal(&bytes),
            OfdError::BadLocation {
                reason: "it names a scheme or a drive",
                ..
            }
        ));
    }

    #[test]
    fn a_dtd_in_any_xml_file_is_refused() {
        let laughs = format!(
            r#"<?xml version="1.0"?><!DOCTYPE ofd:OFD [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>{}"#,
            ofd_xml("<ofd:Title>&b;</ofd:Title>", "")
        );
        assert_eq!(
            refusal(&with("OFD.xml", laughs)),
            OfdError::Dtd {
                path: "OFD.xml".into()
            }
        );
        let doctype = format!("<!DOCTYPE x>{}", signature_xml(ONE_REF));
        assert_eq!(
            refusal(&with("Doc_0/Signs/Sign_0/Signature.xml", doctype)),
            OfdError::Dtd {
                path: "Doc_0/Signs/Sign_0/Signature.xml".into()
            }
        );
    }

    #[test]
    fn a_wrong_root_element_is_refused() {
        assert_eq!(
            refusal(&with("Doc_0/Document.xml", signatures_xml(""))),
            OfdError::WrongRoot {
                path: "Doc_0/Document.xml".into(),
                expected: "Document"
            }
        );
    }

    #[test]
    fn malformed_xml_is_refused() {
        assert!(matches!(
            refusal(&with("Doc_0/Signs/Signatures.xml", "<ofd:Signatures".into())),
            OfdError::Xml { path, .. } if path == "Doc_0/Signs/Signatures.xml"
        ));
    }

    #[test]
    fn required_elements_and_attributes_are_required() {
        let cases: Vec<(&str, String, &str)> = vec![
            (
                "OFD.xml",
                format!(r#"<ofd:OFD xmlns:ofd="{NS}"/>"#),
                "OFD/DocBody",
            ),
            (
                "OFD.xml",
                ofd_xml("", "").replace("<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>", ""),
                "DocRoot",
            ),
            (
                "OFD.xml",
                ofd_xml(
                    "<ofd:CustomDatas><ofd:CustomData>x</ofd:CustomData></ofd:CustomDatas>",
                    "",
                ),
                "CustomData@Name",
            ),
            (
                "Doc_0/Document.xml",
                document_xml(r#"<ofd:Page ID="1"/>"#),
                "Page@BaseLoc",
            ),
            (
                "Doc_0/Document.xml",
                document_xml(r#"<ofd:Page BaseLoc="a.xml"/>"#),
                "Page@ID",
            ),
            (
                "Doc_0/Signs/Signatures.xml",
                signatures_xml(r#"<ofd:Signature ID="s1"/>"#),
                "Signature@BaseLoc",
            ),
            (
                "Doc_0/Signs/Sign_0/Signature.xml",
                signature_xml(r#"<ofd:Reference FileRef="/OFD.xml"/>"#),
                "Reference/CheckValue",
            ),
            (
                "Doc_0/Signs/Sign_0/Signature.xml",
                signature_xml(ONE_REF)
                    .replace("<ofd:SignedValue>SignedValue.dat</ofd:SignedValue>", ""),
                "SignedValue",
            ),
            (
                "Doc_0/Signs/Sign_0/Signature.xml",
                signature_xml(ONE_REF).replace(r#" PageRef="1""#, ""),
                "StampAnnot@PageRef",
            ),
        ];
        for (path, content, what) in cases {
            let refused = refusal(&with(path, content));
            assert!(
                matches!(&refused, OfdError::MissingElement { what: w, .. } if *w == what),
                "{what}: {refused:?}"
            );
        }
    }

    #[test]
    fn an_unknown_signature_type_is_refused() {
        let bytes = with(
            "Doc_0/Signs/Signatures.xml",
            signatures_xml(
                r#"<ofd:Signature ID="s1" Type="Stamp" BaseLoc="Sign_0/Signature.xml"/>"#,
            ),
        );
        assert_eq!(
            refusal(&bytes),
            OfdError::UnknownSignatureType {
                path: "Doc_0/Signs/Signatures.xml".into(),
                found: "Stamp".into()
            }
        );
    }

    #[test]
    fn signature_type_defaults_to_seal_and_reads_sign() {
        let bytes = with(
            "Doc_0/Signs/Signatures.xml",
            signatures_xml(
                r#"<ofd:Signature ID="a" BaseLoc="Sign_0/Signature.xml"/><ofd:Signature ID="b" Type="Sign" BaseLoc="/Doc_0/Signs/Sign_0/Signature.xml"/>"#,
            ),
        );
        let doc = &read(&bytes).unwrap().documents[0];
        let kinds: Vec<_> = doc
            .signatures
            .iter()
            .map(|s| (s.id.as_str(), s.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![("a", SignatureType::Seal), ("b", SignatureType::Sign)]
        );
    }

    #[test]
    fn a_check_value_that_is_not_base64_is_refused() {
        let bytes = with(
            "Doc_0/Signs/Sign_0/Signature.xml",
            signature_xml(
                r#"<ofd:Reference FileRef="/OFD.xml"><ofd:CheckValue>not base64!</ofd:CheckValue></ofd:Reference>"#,
            ),
        );
        assert_eq!(
            refusal(&bytes),
            OfdError::BadCheckValue {
                path: "Doc_0/Signs/Sign_0/Signature.xml".into(),
                file_ref: "/OFD.xml".into()
            }
        );
        // Line breaks inside a CheckValue are allowed.
        let bytes = with(
            "Doc_0/Signs/Sign_0/Signature.xml",
            signature_xml(
                "<ofd:Reference FileRef=\"/OFD.xml\"><ofd:CheckValue>AA\n  EC</ofd:CheckValue></ofd:Reference>",
            ),
        );
        let doc = &read(&bytes).unwrap().documents[0];
        assert_eq!(
            doc.signatures[0].signed_info.references[0].check_value,
            vec![0, 1, 2]
        );
    }

    fn custom(pairs: &[(&str, &str)]) -> Vec<u8> {
        let items: String = pairs
            .iter()
            .map(|(n, v)| format!(r#"<ofd:CustomData Name="{n}">{v}</ofd:CustomData>"#))
            .collect();
        with(
            "OFD.xml",
            ofd_xml(
                &format!("<ofd:CustomDatas>{items}</ofd:CustomDatas>"),
                SIGNED,
            ),
        )
    }

    #[test]
    fn custom_datas_keep_order_and_repeats() {
        let bytes = custom(&[("证照名称", "营业执照"), ("a", "1"), ("a", "2")]);
        let doc = &read(&bytes).unwrap().documents[0];
        assert_eq!(
            doc.custom_datas,
            vec![
                ("证照名称".to_owned(), "营业执照".to_owned()),
                ("a".to_owned(), "1".to_owned()),
                ("a".to_owned(), "2".to_owned()),
            ]
        );
    }

    #[test]
    fn the_licence_id_comes_from_its_custom_data() {
        let doc = &read(&custom(&[(LICENCE_ID_NAME, VALID_ID)]))
            .unwrap()
            .documents[0];
        assert_eq!(doc.licence_id.id().map(LicenceId::as_str), Some(VALID_ID));
        assert!(!doc.licence_id.is_invalid());
        let json = serde_json::to_value(&doc.licence_id).unwrap();
        assert_eq!(json, serde_json::json!({"status": "valid", "id": VALID_ID}));
    }

    #[test]
    fn a_wrong_check_character_makes_the_licence_id_invalid() {
        let wrong = VALID_ID.replace(".F", ".G");
        let doc = &read(&custom(&[(LICENCE_ID_NAME, &wrong)]))
            .unwrap()
            .documents[0];
        assert_eq!(doc.licence_id.id(), None);
        assert!(doc.licence_id.is_invalid());
        match &doc.licence_id {
            LicenceIdField::Invalid { error } => assert!(error.is_check_failure(), "{error}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_value_shaped_like_an_identifier_is_used_when_no_field_is_named() {
        let doc = &read(&custom(&[("编号", VALID_ID), ("x", "1.2.3")]))
            .unwrap()
            .documents[0];
        assert_eq!(doc.licence_id.id().map(LicenceId::as_str), Some(VALID_ID));
        // The named field wins over a value elsewhere.
        let other = "1.2.156.3005.2.x";
        let doc = &read(&custom(&[("编号", other), (LICENCE_ID_NAME, VALID_ID)]))
            .unwrap()
            .documents[0];
        assert_eq!(doc.licence_id.id().map(LicenceId::as_str), Some(VALID_ID));
    }

    #[test]
    fn different_identifiers_conflict_and_repeats_of_one_do_not() {
        let wrong = VALID_ID.replace(".F", ".G");
        let doc = &read(&custom(&[
            (LICENCE_ID_NAME, VALID_ID),
            (LICENCE_ID_NAME, &wrong),
        ]))
        .unwrap()
        .documents[0];
        assert_eq!(doc.licence_id, LicenceIdField::Conflicting { count: 2 });
        assert!(doc.licence_id.is_invalid());
        let doc = &read(&custom(&[
            (LICENCE_ID_NAME, VALID_ID),
            (LICENCE_ID_NAME, VALID_ID),
        ]))
        .unwrap()
        .documents[0];
        assert!(doc.licence_id.id().is_some());
    }

    #[test]
    fn every_doc_body_is_a_document() {
        let two = ofd_xml("", SIGNED).replace(
            "</ofd:OFD>",
            "<ofd:DocBody><ofd:DocInfo/><ofd:DocRoot>/Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
        );
        let ofd = read(&with("OFD.xml", two)).unwrap();
        assert_eq!(ofd.documents.len(), 2);
        assert_eq!(ofd.documents[0].signatures.len(), 1);
        assert!(ofd.documents[1].signatures.is_empty());
    }

    #[test]
    fn hostile_containers_are_refused_through_read_too() {
        assert_eq!(refusal(b""), OfdError::Empty);
        assert_eq!(refusal(b"<ofd:OFD/>"), OfdError::NotAZip);
        let bytes = package(&[]);
        assert!(matches!(
            refusal(&bytes[..bytes.len() - 5]),
            OfdError::Corrupt { .. }
        ));
        let traversal = zip(&[("OFD.xml", b"<a/>"), ("../x", b"x")]);
        assert_eq!(
            refusal(&traversal),
            OfdError::ParentSegment {
                name: "../x".into()
            }
        );
    }

    #[test]
    fn no_mutation_of_a_signed_package_makes_read_panic() {
        // A deterministic sweep (an LCG, no dependency): flip, zero and truncate bytes of a
        // signed package and read each result. Any outcome but a panic is fine.
        let base = package(&[]);
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        let mut refused = 0;
        for _ in 0..3_000 {
            let mut bytes = base.clone();
            for _ in 0..(1 + next() % 4) {
                let at = next() % bytes.len();
                match next() % 3 {
                    0 => bytes[at] ^= 1 << (next() % 8),
                    1 => bytes[at] = 0,
                    _ => bytes[at] = 0xff,
                }
            }
            if next() % 10 == 0 {
                bytes.truncate(next() % bytes.len());
            }
            if read(&bytes).is_err() {
                refused += 1;
            }
        }
        // Most single-byte changes hit deflated data or a header and are caught (CRC, sizes).
        assert!(refused > 1_000, "only {refused} of 3000 refused");
    }
}
