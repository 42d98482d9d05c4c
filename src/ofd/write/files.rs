//! [`OfdFiles`]: a package's files in zip order, read from and written to a zip.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::OfdWriteError;
use crate::ofd::document::ENTRY_FILE;
use crate::ofd::path::resolve;

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
    /// [`crate::ofd::Package::read`] (in zip order, directories left out).
    pub fn from_zip(bytes: &[u8]) -> Result<OfdFiles, OfdWriteError> {
        let package = crate::ofd::Package::read(bytes)?;
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
    pub(super) fn put(&mut self, path: &str, bytes: Vec<u8>) {
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
        self.zip_with(CompressionMethod::Deflated)
    }

    /// The package as a zip of stored (uncompressed) files: for reading it back at once, where
    /// deflating would only cost time.
    pub(super) fn to_zip_stored(&self) -> Result<Vec<u8>, OfdWriteError> {
        self.zip_with(CompressionMethod::Stored)
    }

    fn zip_with(&self, method: CompressionMethod) -> Result<Vec<u8>, OfdWriteError> {
        let zip_err = |e: zip::result::ZipError| OfdWriteError::Zip(e.to_string());
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default()
            .compression_method(method)
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
}

/// A package path must be what [`resolve`] makes of it as an absolute location.
pub(super) fn check_path(path: &str) -> Result<(), OfdWriteError> {
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
