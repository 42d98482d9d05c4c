//! What the OFD reader refuses, one variant per reason.

/// Why an OFD package was refused.
///
/// Every variant names the package file it is about when there is one. Messages never repeat
/// the content of a file (a `CustomData` value may be a 居民身份证号): only paths, element
/// names, sizes and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfdError {
    /// The input is empty.
    #[error("the OFD file is empty")]
    Empty,

    /// The input is larger than the reader accepts at all.
    #[error("the OFD file is {size} bytes long, more than the {limit} bytes accepted")]
    InputTooLarge {
        /// Length of the input.
        size: usize,
        /// [`MAX_INPUT_BYTES`](super::MAX_INPUT_BYTES).
        limit: usize,
    },

    /// The input does not begin like a zip archive (an OFD package is a zip).
    #[error("not an OFD file: it does not begin with a zip header")]
    NotAZip,

    /// The zip structure is damaged or truncated, or an entry's checksum is wrong.
    #[error("the zip container is damaged or truncated: {reason}")]
    Corrupt {
        /// What the zip reader found.
        reason: String,
    },

    /// More entries than the reader accepts.
    #[error("the package has {found} or more entries, more than the {limit} accepted")]
    TooManyEntries {
        /// The number of entries seen (a lower bound when counted from signatures).
        found: usize,
        /// [`MAX_ENTRIES`](super::MAX_ENTRIES).
        limit: usize,
    },

    /// An entry name is empty.
    #[error("an entry of the package has an empty name")]
    EmptyName,

    /// An entry name is not UTF-8.
    #[error("an entry name is not UTF-8")]
    NameNotUtf8,

    /// An entry name is absolute (`/x`, or a drive letter such as `C:`).
    #[error("entry {name:?}: absolute names are refused")]
    AbsoluteName {
        /// The name.
        name: String,
    },

    /// An entry name has a `..` segment.
    #[error("entry {name:?}: `..` segments are refused")]
    ParentSegment {
        /// The name.
        name: String,
    },

    /// An entry name has an empty or `.` segment (`a//b`, `a/./b`).
    #[error("entry {name:?}: empty and `.` segments are refused")]
    DotOrEmptySegment {
        /// The name.
        name: String,
    },

    /// An entry name holds a backslash.
    #[error("entry {name:?}: backslashes are refused")]
    Backslash {
        /// The name.
        name: String,
    },

    /// An entry name holds NUL or another control character.
    #[error("entry {name:?}: control characters (NUL included) are refused")]
    ControlCharacter {
        /// The name, control characters escaped by `Debug`.
        name: String,
    },

    /// Two entries have exactly the same name.
    #[error("two entries of the package have the same name")]
    DuplicateNames,

    /// Two entries have names that differ only in letter case or Unicode normalisation.
    #[error("entries {first:?} and {second:?} differ only in case or Unicode normalisation")]
    NameCollision {
        /// The earlier name.
        first: String,
        /// The later name.
        second: String,
    },

    /// The local headers disagree with the central directory, entries overlap, or a local
    /// header is missing from the central directory.
    #[error("the zip headers are inconsistent: {reason}")]
    InconsistentHeaders {
        /// What the zip reader found.
        reason: String,
    },

    /// An entry is encrypted.
    #[error("entry {name:?} is encrypted")]
    Encrypted {
        /// The name.
        name: String,
    },

    /// An entry uses a compression method other than stored or deflate.
    #[error("entry {name:?} uses compression {method}; only stored and deflate are accepted")]
    UnsupportedCompression {
        /// The name.
        name: String,
        /// The method, as the zip reader names it.
        method: String,
    },

    /// An entry declares more uncompressed bytes than one entry may hold.
    #[error("entry {name:?} declares {size} bytes, more than the {limit} accepted for one file")]
    EntryTooLarge {
        /// The name.
        name: String,
        /// Declared uncompressed size.
        size: u64,
        /// [`MAX_ENTRY_BYTES`](super::MAX_ENTRY_BYTES).
        limit: u64,
    },

    /// The entries together declare more uncompressed bytes than a package may hold.
    #[error("the package's files add up to more than the {limit} bytes accepted")]
    TotalTooLarge {
        /// [`MAX_TOTAL_BYTES`](super::MAX_TOTAL_BYTES).
        limit: u64,
    },

    /// An entry expands more than the accepted compression ratio.
    #[error(
        "entry {name:?} expands {compressed} bytes to {uncompressed}, more than {limit}:1 (a zip bomb?)"
    )]
    CompressionRatio {
        /// The name.
        name: String,
        /// Compressed size.
        compressed: u64,
        /// Declared uncompressed size.
        uncompressed: u64,
        /// [`MAX_RATIO`](super::MAX_RATIO).
        limit: u64,
    },

    /// An entry's data does not inflate to the size its header declares (a lying header).
    #[error("entry {name:?} declares {declared} bytes but its data holds a different amount")]
    SizeMismatch {
        /// The name.
        name: String,
        /// Declared uncompressed size.
        declared: u64,
    },

    /// A file the document cannot be read without is not in the package.
    #[error("{path:?} is missing from the package (named by {named_by})")]
    MissingFile {
        /// The normalised path.
        path: String,
        /// Who names it (`"the OFD standard"` for `OFD.xml`, else a package path).
        named_by: String,
    },

    /// An XML file is not UTF-8 or not well-formed.
    #[error("{path:?} is not well-formed UTF-8 XML: {reason}")]
    Xml {
        /// The package path.
        path: String,
        /// What the XML parser found.
        reason: String,
    },

    /// An XML file holds a document type declaration (DTDs and entities are refused).
    #[error("{path:?} holds a DOCTYPE; DTDs and entity declarations are refused")]
    Dtd {
        /// The package path.
        path: String,
    },

    /// An XML file's root element is not the one the format requires there.
    #[error("{path:?}: the root element must be {expected} in the OFD namespace")]
    WrongRoot {
        /// The package path.
        path: String,
        /// The local name required.
        expected: &'static str,
    },

    /// A required element or attribute is absent or empty.
    #[error("{path:?}: {what} is missing or empty")]
    MissingElement {
        /// The package path.
        path: String,
        /// The element or attribute, e.g. `"DocBody/DocRoot"`, `"Page@BaseLoc"`.
        what: &'static str,
    },

    /// A path written in a file is not one the reader accepts (empty, with a backslash, NUL,
    /// a scheme such as `http:`, or `..` going above the package root).
    #[error("{path:?}: the location {location:?} is not a path inside the package ({reason})")]
    BadLocation {
        /// The package file that holds the location.
        path: String,
        /// The location as written.
        location: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// A `Signature` element's `Type` is neither `Seal` nor `Sign`.
    #[error("{path:?}: signature type {found:?} is neither Seal nor Sign")]
    UnknownSignatureType {
        /// The package path of `Signatures.xml`.
        path: String,
        /// The value found.
        found: String,
    },

    /// A `CheckValue` is not base64.
    #[error("{path:?}: the CheckValue of reference {file_ref:?} is not base64")]
    BadCheckValue {
        /// The package path of `Signature.xml`.
        path: String,
        /// The reference's `FileRef` as written.
        file_ref: String,
    },
}

impl OfdError {
    /// A short, stable, snake_case name of the refusal, for reports and logs. It says what was
    /// found, not what it is suspected to be.
    pub fn code(&self) -> &'static str {
        match self {
            OfdError::Empty => "empty",
            OfdError::InputTooLarge { .. } => "input_too_large",
            OfdError::NotAZip => "not_a_zip",
            OfdError::Corrupt { .. } => "corrupt",
            OfdError::TooManyEntries { .. } => "too_many_entries",
            OfdError::EmptyName => "empty_name",
            OfdError::NameNotUtf8 => "name_not_utf8",
            OfdError::AbsoluteName { .. } => "absolute_name",
            OfdError::ParentSegment { .. } => "parent_segment",
            OfdError::DotOrEmptySegment { .. } => "dot_or_empty_segment",
            OfdError::Backslash { .. } => "backslash",
            OfdError::ControlCharacter { .. } => "control_character",
            OfdError::DuplicateNames => "duplicate_names",
            OfdError::NameCollision { .. } => "name_collision",
            OfdError::InconsistentHeaders { .. } => "inconsistent_headers",
            OfdError::Encrypted { .. } => "encrypted",
            OfdError::UnsupportedCompression { .. } => "unsupported_compression",
            OfdError::EntryTooLarge { .. } => "entry_too_large",
            OfdError::TotalTooLarge { .. } => "total_too_large",
            OfdError::CompressionRatio { .. } => "compression_ratio",
            OfdError::SizeMismatch { .. } => "size_mismatch",
            OfdError::MissingFile { .. } => "missing_file",
            OfdError::Xml { .. } => "xml",
            OfdError::Dtd { .. } => "dtd",
            OfdError::WrongRoot { .. } => "wrong_root",
            OfdError::MissingElement { .. } => "missing_element",
            OfdError::BadLocation { .. } => "bad_location",
            OfdError::UnknownSignatureType { .. } => "unknown_signature_type",
            OfdError::BadCheckValue { .. } => "bad_check_value",
        }
    }
}
