//! OFD documents (GB/T 33190), the electronic seals and signatures they carry, and their
//! verification.
//!
//! An OFD file is a zip package. [`Package::read`] reads the zip within fixed bounds
//! ([`MAX_INPUT_BYTES`], [`MAX_ENTRIES`], [`MAX_ENTRY_BYTES`], [`MAX_TOTAL_BYTES`],
//! [`MAX_RATIO`]) and refuses what a verifier must not guess about (duplicate or colliding
//! names, absolute names, `..`, backslashes, encryption, unknown compression). [`read`] then
//! follows `OFD.xml` → each `DocBody` → `Document.xml` (pages, resources) and
//! `Signatures.xml` → each `Signature.xml`, resolving every location inside the package with
//! [`resolve`], and returns an [`Ofd`]: the package's exact bytes and one [`OfdDocument`] per
//! document. docs/ofd-package.md describes the bounds, the refusals and the path rules.
//!
//! - [`ses`]: the DER structures inside `SignedValue.dat` and `.esl` files (GB/T 38540 seals and
//!   signatures, GM/T 0031 v1/v2, GB/T 35275 `SignedData`, bare SM2 values), and the
//!   cryptographic checks on them.
//! - [`verify`]: every signature of a document checked, with the coverage of the package's
//!   files, into a [`report::OfdReport`] (docs/ofd-verification.md).
//! - [`write`]: a minimal OFD document written, and sealed with GB/T 38540 seals (one or
//!   several), the other way round.
//!
//! Everything here is pure: bytes in, values out.

pub(crate) mod document;
mod error;
mod package;
mod path;
pub mod report;
pub mod ses;
#[cfg(test)]
mod testutil;
pub mod verify;
pub mod write;
pub(crate) mod xml;

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
