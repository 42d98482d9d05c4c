//! OFD documents (GB/T 33190): a strict, bounded reader of the package and its XML.
//!
//! An OFD file is a zip package. [`Package::read`] reads the zip within fixed bounds
//! ([`MAX_INPUT_BYTES`], [`MAX_ENTRIES`], [`MAX_ENTRY_BYTES`], [`MAX_TOTAL_BYTES`],
//! [`MAX_RATIO`]) and refuses what a verifier must not guess about (duplicate or colliding
//! names, absolute names, `..`, backslashes, encryption, unknown compression). [`read`] then
//! follows `OFD.xml` → each `DocBody` → `Document.xml` (pages, resources) and
//! `Signatures.xml` → each `Signature.xml`, resolving every location inside the package with
//! [`resolve`], and returns an [`Ofd`]: the package's exact bytes and one [`OfdDocument`] per
//! document. Everything here is pure: bytes in, values out.
//!
//! What each signature's files hold (`SignedValue.dat`, seals) is not read here, and nothing
//! here judges a signature: that is the verifier's work, on what this module returns.
//! docs/ofd-package.md describes the bounds, the refusals and the path rules.

mod document;
mod error;
mod package;
mod path;
#[cfg(test)]
mod testutil;
mod xml;

pub use document::{
    ENTRY_FILE, LICENCE_ID_NAME, LicenceIdField, Ofd, OfdDocument, PageRef, Provider, Reference,
    SignatureEntry, SignatureType, SignedInfo, StampAnnot, read,
};
pub use error::OfdError;
pub use package::{
    MAX_ENTRIES, MAX_ENTRY_BYTES, MAX_INPUT_BYTES, MAX_RATIO, MAX_TOTAL_BYTES, Package, RATIO_FLOOR,
};
pub use path::resolve;
pub use xml::{MAX_XML_NODES, NAMESPACES};
