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
