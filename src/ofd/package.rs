//! The zip container of an OFD document, read strictly and within fixed bounds.

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};

use unicode_normalization::UnicodeNormalization;
use zip::CompressionMethod;
use zip::read::{ArchiveOffset, Config, ZipArchive};

use super::OfdError;

/// The largest input accepted, in bytes. A one-page licence is tens of kilobytes and a scanned
/// multi-page document a few megabytes; the bound also caps what the zip reader's in-memory
/// central directory can cost.
pub const MAX_INPUT_BYTES: usize = 64 << 20;

/// The most entries (files and directories) a package may have. Real OFD documents have tens
/// to hundreds; each entry costs the zip reader a few hundred bytes of memory before any check
/// of ours runs, so the bound is checked before it reads the central directory (see
/// [`Package::read`]).
pub const MAX_ENTRIES: usize = 10_000;

/// The largest uncompressed size of one file: room for a big scanned page image.
pub const MAX_ENTRY_BYTES: u64 = 32 << 20;

/// The largest uncompressed size of all files together: what reading a package may allocate
/// for file contents at most.
pub const MAX_TOTAL_BYTES: u64 = 64 << 20;

/// The highest compression ratio (uncompressed : compressed) accepted for a file larger than
/// [`RATIO_FLOOR`]. XML deflates 5-30:1 and images hardly at all; only crafted data (runs of
/// zeros, a zip bomb) expands further. Deflate cannot exceed about 1032:1.
pub const MAX_RATIO: u64 = 200;

/// Files up to this uncompressed size are not held to [`MAX_RATIO`]: a small, very regular
/// file (an empty page's XML) can deflate well beyond it and costs nothing to inflate.
pub const RATIO_FLOOR: u64 = 64 << 10;

/// The signature that starts every zip local file header.
const LOCAL_HEADER: &[u8; 4] = b"PK\x03\x04";
/// The signature of the end of central directory record (the whole of an empty zip).
const END_OF_CENTRAL_DIRECTORY: &[u8; 4] = b"PK\x05\x06";
/// The signature that starts every central directory header.
const CENTRAL_HEADER: &[u8; 4] = b"PK\x01\x02";

/// The files of an OFD package: each path with its exact bytes, in the order of the zip.
///
/// Paths are entry names, checked by [`Package::read`] to be normalised already: relative to
/// the package root, `/`-separated, without empty, `.` or `..` segments. Directory entries are
/// not files and are left out. Lookups are exact (case-sensitive); since no two names may
/// differ only in case or Unicode normalisation, a lookup cannot be steered to another file
/// by the case a reader folds to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Package {
    /// Path and bytes, in zip order.
    files: Vec<(String, Vec<u8>)>,
    /// Path → index in `files`.
    index: BTreeMap<String, usize>,
}

impl Package {
    /// Read the zip container `bytes`, within the bounds of this module.
    ///
    /// Refuses, each with its own [`OfdError`]:
    /// - an empty input, an input over [`MAX_INPUT_BYTES`], an input that does not begin with a
    ///   zip header (data prepended to the zip included), a damaged or truncated zip, a wrong
    ///   CRC;
    /// - more than [`MAX_ENTRIES`] entries. Before the zip reader builds its central directory
    ///   in memory, the occurrences of the central header signature in the input are counted:
    ///   every entry needs one, so more than [`MAX_ENTRIES`] of them is refused at once (stored
    ///   data that happens to hold the signature that often is refused too);
    /// - entry names that are empty, not UTF-8, absolute (`/x`, `C:x`), with `..`, `.` or
    ///   empty segments, with a backslash or a control character (NUL included); two entries
    ///   with the same name, or with names equal after Unicode NFC and lower-casing (a viewer on
    ///   a case-insensitive system could show one while a verifier checks the other);
    /// - local headers that disagree with the central directory, overlapping entries, local
    ///   headers the central directory does not list;
    /// - encrypted entries, compression other than stored (0) and deflate (8);
    /// - an entry declaring more than [`MAX_ENTRY_BYTES`], entries declaring more than
    ///   [`MAX_TOTAL_BYTES`] together, an entry over [`RATIO_FLOOR`] declaring a ratio over
    ///   [`MAX_RATIO`] — all judged from the headers before anything is inflated;
    /// - an entry whose data inflates to another size than declared. Each entry is read
    ///   through a reader that stops one byte past the declared size, so a header that lies
    ///   cannot make the reader inflate or allocate more than the bounds above.
    pub fn read(bytes: &[u8]) -> Result<Package, OfdError> {
        if bytes.is_empty() {
            return Err(OfdError::Empty);
        }
        if bytes.len() > MAX_INPUT_BYTES {
            return Err(OfdError::InputTooLarge {
                size: bytes.len(),
                limit: MAX_INPUT_BYTES,
            });
        }
        if !(bytes.starts_with(LOCAL_HEADER) || bytes.starts_with(END_OF_CENTRAL_DIRECTORY)) {
            return Err(OfdError::NotAZip);
        }
        let signatures = memchr::memmem::find_iter(bytes, CENTRAL_HEADER)
            .take(MAX_ENTRIES + 1)
            .count();
        if signatures > MAX_ENTRIES {
            return Err(OfdError::TooManyEntries {
                found: signatures,
                limit: MAX_ENTRIES,
            });
        }

        let config = Config {
            archive_offset: ArchiveOffset::Known(0),
        };
        let mut archive = ZipArchive::with_config(config, Cursor::new(bytes)).map_err(corrupt)?;
        if archive.has_duplicate_names() {
            return Err(OfdError::DuplicateNames);
        }
        if archive.len() > MAX_ENTRIES {
            return Err(OfdError::TooManyEntries {
                found: archive.len(),
                limit: MAX_ENTRIES,
            });
        }

        // Every check that the headers alone allow, before any data is read.
        let mut folded: HashMap<String, String> = HashMap::new();
        let mut plan: Vec<(usize, String, u64)> = Vec::with_capacity(archive.len());
        let mut total: u64 = 0;
        for i in 0..archive.len() {
            let entry = archive.by_index_data(i).map_err(corrupt)?;
            let name = check_name(entry.name_raw())?;
            let fold: String = name.nfc().flat_map(char::to_lowercase).collect();
            if let Some(first) = folded.insert(fold, name.clone()) {
                return Err(OfdError::NameCollision {
                    first,
                    second: name,
                });
            }
            if entry.encrypted() {
                return Err(OfdError::Encrypted { name });
            }
            let method = entry.compression();
            if !matches!(
                method,
                CompressionMethod::Stored | CompressionMethod::Deflated
            ) {
                return Err(OfdError::UnsupportedCompression {
                    name,
                    method: method.to_string(),
                });
            }
            let size = entry.size();
            let compressed = entry.compressed_size();
            if name.ends_with('/') {
                if size != 0 {
                    return Err(OfdError::Corrupt {
                        reason: format!("the directory entry {name:?} declares data"),
                    });
                }
                continue;
            }
            if size > MAX_ENTRY_BYTES {
                return Err(OfdError::EntryTooLarge {
                    name,
                    size,
                    limit: MAX_ENTRY_BYTES,
                });
            }
            total = total.saturating_add(size);
            if total > MAX_TOTAL_BYTES {
                return Err(OfdError::TotalTooLarge {
                    limit: MAX_TOTAL_BYTES,
                });
            }
            if size > RATIO_FLOOR && size > compressed.saturating_mul(MAX_RATIO) {
                return Err(OfdError::CompressionRatio {
                    name,
                    compressed,
                    uncompressed: size,
                    limit: MAX_RATIO,
                });
            }
            plan.push((i, name, size));
        }
        archive
            .validate_header_consistency()
            .map_err(|e| OfdError::InconsistentHeaders {
                reason: e.to_string(),
            })?;

        let mut files = Vec::with_capacity(plan.len());
        let mut index = BTreeMap::new();
        for (i, name, size) in plan {
            let entry = archive.by_index(i).map_err(corrupt)?;
            let capacity = usize::try_from(size).unwrap_or(0);
            let mut data = Vec::with_capacity(capacity);
            // The zip reader also stops at the declared size, with an `InvalidData` error; the
            // `take` is what this module relies on, the error only names the refusal.
            let read = entry.take(size.saturating_add(1)).read_to_end(&mut data);
            if let Err(e) = read {
                if e.kind() == std::io::ErrorKind::InvalidData
                    && e.to_string().contains("larger than its declared")
                {
                    return Err(OfdError::SizeMismatch {
                        name,
                        declared: size,
                    });
                }
                return Err(OfdError::Corrupt {
                    reason: format!("entry {name:?}: {e}"),
                });
            }
            if data.len() as u64 != size {
                return Err(OfdError::SizeMismatch {
                    name,
                    declared: size,
                });
            }
            index.insert(name.clone(), files.len());
            files.push((name, data));
        }
        Ok(Package { files, index })
    }

    /// The bytes of the file at the normalised package path `path` (no leading slash), if
    /// the package holds it.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        let i = *self.index.get(path)?;
        self.files.get(i).map(|(_, bytes)| bytes.as_slice())
    }

    /// Whether the package holds a file at `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.index.contains_key(path)
    }

    /// Every file, as (path, bytes), in the order of the zip.
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files
            .iter()
            .map(|(path, bytes)| (path.as_str(), bytes.as_slice()))
    }

    /// The number of files (directories not counted).
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the package holds no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// A zip reader error as [`OfdError::Corrupt`].
fn corrupt(e: zip::result::ZipError) -> OfdError {
    OfdError::Corrupt {
        reason: e.to_string(),
    }
}

/// Check an entry name and return it as a string: UTF-8, not empty, relative, `/`-separated
/// without empty, `.` or `..` segments (a directory's one trailing slash excepted), without
/// backslashes or control characters.
fn check_name(raw: &[u8]) -> Result<String, OfdError> {
    if raw.is_empty() {
        return Err(OfdError::EmptyName);
    }
    let name = std::str::from_utf8(raw)
        .map_err(|_| OfdError::NameNotUtf8)?
        .to_owned();
    if name.chars().any(char::is_control) {
        return Err(OfdError::ControlCharacter { name });
    }
    if name.contains('\\') {
        return Err(OfdError::Backslash { name });
    }
    let body = name.strip_suffix('/').unwrap_or(&name);
    if body.starts_with('/') || body.split('/').next().is_some_and(|s| s.contains(':')) {
        return Err(OfdError::AbsoluteName { name });
    }
    for segment in body.split('/') {
        match segment {
            ".." => return Err(OfdError::ParentSegment { name }),
            "" | "." => return Err(OfdError::DotOrEmptySegment { name }),
            _ => {}
        }
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::io::Write;
    use std::sync::OnceLock;
    use std::time::Instant;

    use super::*;
    use crate::ofd::testutil::{Field, patch, rename, zip, zip_raw};

    fn refusal(bytes: &[u8]) -> OfdError {
        Package::read(bytes).expect_err("must be refused")
    }

    fn one(name: &[u8]) -> Vec<u8> {
        zip_raw(&[(name, b"x")], CompressionMethod::Stored)
    }

    #[test]
    fn a_plain_package_reads_in_zip_order_without_directories() {
        let bytes = zip_raw(
            &[
                (b"OFD.xml", b"<a/>"),
                (b"Doc_0/", b""),
                (b"Doc_0/Document.xml", b"<b/>"),
            ],
            CompressionMethod::Deflated,
        );
        let package = Package::read(&bytes).unwrap();
        let files: Vec<(&str, &[u8])> = package.files().collect();
        assert_eq!(
            files,
            vec![
                ("OFD.xml", &b"<a/>"[..]),
                ("Doc_0/Document.xml", &b"<b/>"[..])
            ]
        );
        assert_eq!(package.len(), 2);
        assert_eq!(package.get("Doc_0/Document.xml"), Some(&b"<b/>"[..]));
        assert_eq!(package.get("doc_0/document.xml"), None);
        assert!(!package.contains("Doc_0/"));
    }

    #[test]
    fn empty_input_is_refused() {
        assert_eq!(refusal(b""), OfdError::Empty);
    }

    #[test]
    fn input_that_is_not_a_zip_is_refused() {
        assert_eq!(refusal(b"%PDF-1.7 not a zip"), OfdError::NotAZip);
        // Data prepended to a zip (a self-extractor, a polyglot) is refused too.
        let mut prepended = b"junk".to_vec();
        prepended.extend(zip(&[("OFD.xml", b"<a/>")]));
        assert_eq!(refusal(&prepended), OfdError::NotAZip);
    }

    #[test]
    fn an_oversized_input_is_refused_before_anything_is_parsed() {
        let mut big = vec![0u8; MAX_INPUT_BYTES + 1];
        big[..4].copy_from_slice(LOCAL_HEADER);
        assert_eq!(
            refusal(&big),
            OfdError::InputTooLarge {
                size: MAX_INPUT_BYTES + 1,
                limit: MAX_INPUT_BYTES
            }
        );
    }

    #[test]
    fn a_truncated_zip_is_refused_as_corrupt() {
        let bytes = zip(&[("OFD.xml", b"<a/>"), ("b.xml", b"<b/>")]);
        for cut in [bytes.len() - 1, bytes.len() - 30, bytes.len() / 2, 10] {
            assert!(
                matches!(refusal(&bytes[..cut]), OfdError::Corrupt { .. }),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_wrong_crc_is_refused_as_corrupt() {
        let mut bytes = zip_raw(&[(b"a.xml", b"<a/>")], CompressionMethod::Stored);
        patch(&mut bytes, 0, Field::Crc, 0x1234_5678, false);
        assert!(matches!(
            refusal(&bytes),
            OfdError::Corrupt { reason } if reason.contains("a.xml")
        ));
    }

    #[test]
    fn too_many_entries_are_refused_before_the_directory_is_read() {
        let names: Vec<String> = (0..=MAX_ENTRIES).map(|i| format!("{i}")).collect();
        let entries: Vec<(&[u8], &[u8])> = names.iter().map(|n| (n.as_bytes(), &b""[..])).collect();
        let bytes = zip_raw(&entries, CompressionMethod::Stored);
        assert_eq!(
            refusal(&bytes),
            OfdError::TooManyEntries {
                found: MAX_ENTRIES + 1,
                limit: MAX_ENTRIES
            }
        );
        // One fewer is fine.
        let bytes = zip_raw(&entries[1..], CompressionMethod::Stored);
        assert_eq!(Package::read(&bytes).unwrap().len(), MAX_ENTRIES);
    }

    #[test]
    fn bad_entry_names_are_refused_each_with_its_reason() {
        let cases: Vec<(&[u8], OfdError)> = vec![
            (b"", OfdError::EmptyName),
            (b"Doc_0/\xff.xml", OfdError::NameNotUtf8),
            (
                b"../x",
                OfdError::ParentSegment {
                    name: "../x".into(),
                },
            ),
            (
                b"Doc_0/../../x",
                OfdError::ParentSegment {
                    name: "Doc_0/../../x".into(),
                },
            ),
            (
                b"/abs",
                OfdError::AbsoluteName {
                    name: "/abs".into(),
                },
            ),
            (
                b"C:/x",
                OfdError::AbsoluteName {
                    name: "C:/x".into(),
                },
            ),
            (
                b"a\\b",
                OfdError::Backslash {
                    name: "a\\b".into(),
                },
            ),
            (
                b"a\0b",
                OfdError::ControlCharacter {
                    name: "a\0b".into(),
                },
            ),
            (
                b"a\nb",
                OfdError::ControlCharacter {
                    name: "a\nb".into(),
                },
            ),
            (
                b"a/./b",
                OfdError::DotOrEmptySegment {
                    name: "a/./b".into(),
                },
            ),
            (
                b"a//b",
                OfdError::DotOrEmptySegment {
                    name: "a//b".into(),
                },
            ),
            (b"./a", OfdError::DotOrEmptySegment { name: "./a".into() }),
        ];
        for (name, expected) in cases {
            assert_eq!(refusal(&one(name)), expected, "{name:?}");
        }
    }

    #[test]
    fn duplicate_names_are_refused() {
        let mut bytes = zip_raw(
            &[(b"Doc_0/a.xml", b"1"), (b"Doc_0/b.xml", b"2")],
            CompressionMethod::Stored,
        );
        rename(&mut bytes, b"Doc_0/b.xml", b"Doc_0/a.xml");
        assert_eq!(refusal(&bytes), OfdError::DuplicateNames);
    }

    #[test]
    fn names_differing_only_in_case_or_normalisation_are_refused() {
        let bytes = zip(&[("Doc_0/Page.xml", b"1"), ("doc_0/PAGE.xml", b"2")]);
        assert_eq!(
            refusal(&bytes),
            OfdError::NameCollision {
                first: "Doc_0/Page.xml".into(),
                second: "doc_0/PAGE.xml".into()
            }
        );
        // "é" precomposed (U+00E9) and decomposed (e + U+0301).
        let bytes = zip(&[("r\u{e9}s.xml", b"1"), ("re\u{301}s.xml", b"2")]);
        assert!(matches!(refusal(&bytes), OfdError::NameCollision { .. }));
    }

    #[test]
    fn encrypted_entries_are_refused() {
        let mut bytes = zip_raw(&[(b"a.xml", b"<a/>")], CompressionMethod::Stored);
        patch(&mut bytes, 0, Field::Flags, 1, false);
        assert_eq!(
            refusal(&bytes),
            OfdError::Encrypted {
                name: "a.xml".into()
            }
        );
    }

    #[test]
    fn compression_other_than_stored_and_deflate_is_refused() {
        for method in [12u32, 14, 93, 95, 9] {
            let mut bytes = zip_raw(&[(b"a.xml", b"<a/>")], CompressionMethod::Stored);
            patch(&mut bytes, 0, Field::Method, method, false);
            assert!(
                matches!(
                    refusal(&bytes),
                    OfdError::UnsupportedCompression { name, .. } if name == "a.xml"
                ),
                "method {method}"
            );
        }
    }

    #[test]
    fn local_headers_that_disagree_with_the_central_directory_are_refused() {
        let mut bytes = zip_raw(&[(b"a.xml", b"<a/>")], CompressionMethod::Stored);
        patch(&mut bytes, 0, Field::Method, 8, true);
        assert!(matches!(
            refusal(&bytes),
            OfdError::InconsistentHeaders { .. }
        ));
    }

    /// `n` zeros, deflated into a one-entry zip named `bomb.bin`, written in 1 MiB pieces.
    fn zeros_zip(n: u64) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(9));
        writer.start_file("bomb.bin", options).unwrap();
        let chunk = vec![0u8; 1 << 20];
        let mut left = n;
        while left > 0 {
            let now = left.min(chunk.len() as u64);
            writer.write_all(&chunk[..now as usize]).unwrap();
            left -= now;
        }
        writer.finish().unwrap().into_inner()
    }

    /// A zip whose one entry inflates to 1 GiB of zeros (about 1 MiB compressed), made once.
    fn gib_bomb() -> &'static [u8] {
        static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
        BOMB.get_or_init(|| zeros_zip(1 << 30))
    }

    #[test]
    fn a_1_gib_zip_bomb_with_an_honest_header_is_refused_from_the_header() {
        let bomb = gib_bomb();
        let start = Instant::now();
        let refused = refusal(bomb);
        println!(
            "1 GiB bomb ({} bytes compressed, honest header) refused in {:?}",
            bomb.len(),
            start.elapsed()
        );
        assert_eq!(
            refused,
            OfdError::EntryTooLarge {
                name: "bomb.bin".into(),
                size: 1 << 30,
                limit: MAX_ENTRY_BYTES
            }
        );
    }

    #[test]
    fn a_1_gib_zip_bomb_whose_header_lies_is_refused_after_inflating_one_byte_too_many() {
        // The headers claim 4,000 bytes (below the ratio floor, so only the inflating can tell);
        // the reader inflates at most 4,001 and stops.
        let mut bomb = gib_bomb().to_vec();
        patch(&mut bomb, 0, Field::Uncompressed, 4_000, false);
        let start = Instant::now();
        let refused = refusal(&bomb);
        println!(
            "1 GiB bomb ({} bytes compressed, header claiming 4,000 bytes) refused in {:?}",
            bomb.len(),
            start.elapsed()
        );
        assert_eq!(
            refused,
            OfdError::SizeMismatch {
                name: "bomb.bin".into(),
                declared: 4_000
            }
        );
    }

    #[test]
    fn an_entry_expanding_beyond_the_ratio_is_refused() {
        let bytes = zeros_zip(MAX_ENTRY_BYTES);
        assert!(matches!(
            refusal(&bytes),
            OfdError::CompressionRatio { name, uncompressed, limit: MAX_RATIO, .. }
                if name == "bomb.bin" && uncompressed == MAX_ENTRY_BYTES
        ));
        // Below the floor, any ratio is fine: 64 KiB of zeros is about 100 bytes deflated.
        let small = zeros_zip(RATIO_FLOOR);
        assert_eq!(
            Package::read(&small)
                .unwrap()
                .get("bomb.bin")
                .map(<[u8]>::len),
            Some(RATIO_FLOOR as usize)
        );
    }

    #[test]
    fn entries_adding_up_beyond_the_total_are_refused() {
        // Three stored entries of 160 KiB whose headers claim 30 MiB each (a ratio of 192:1,
        // within bounds): the total is judged from the headers, before any is read.
        let data = vec![7u8; 160 << 10];
        let mut bytes = zip_raw(
            &[(b"a.bin", &data), (b"b.bin", &data), (b"c.bin", &data)],
            CompressionMethod::Stored,
        );
        for i in 0..3 {
            patch(&mut bytes, i, Field::Uncompressed, 30 << 20, false);
        }
        assert_eq!(
            refusal(&bytes),
            OfdError::TotalTooLarge {
                limit: MAX_TOTAL_BYTES
            }
        );
    }

    #[test]
    fn a_stored_entry_whose_header_claims_less_than_it_holds_is_refused() {
        let mut bytes = zip_raw(&[(b"a.bin", &[1u8; 100])], CompressionMethod::Stored);
        patch(&mut bytes, 0, Field::Uncompressed, 10, false);
        assert_eq!(
            refusal(&bytes),
            OfdError::SizeMismatch {
                name: "a.bin".into(),
                declared: 10
            }
        );
    }
}
