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

//!
//! The parts: `build` is step 1, `seal` step 2, and `files` the [`OfdFiles`] between them.

use super::OfdError;
use super::ses::SesError;
use crate::gm;

mod build;
mod files;
mod seal;

pub use build::{OfdBuilder, Page, Text};
pub(crate) use build::{XML_DECL, escape, text_object};
pub use files::OfdFiles;
pub use seal::{Boundary, SealInput, seal};

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

#[cfg(test)]
mod tests;
