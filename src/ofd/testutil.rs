//! Zip packages built in memory for the tests, and byte patches that make them lie.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Write};

use zip::CompressionMethod;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

/// A zip of `files` (name, content), each deflated, in order.
pub fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let entries: Vec<(&[u8], &[u8])> = files
        .iter()
        .map(|(name, data)| (name.as_bytes(), *data))
        .collect();
    zip_raw(&entries, CompressionMethod::Deflated)
}

/// A zip of `entries` (raw name, content) with `method`, names written as given (the zip
/// writer does not check them).
pub fn zip_raw(entries: &[(&[u8], &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .name(name);
        writer.start_file_with_options(options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A header field that both the local and the central header of an entry hold.
#[derive(Clone, Copy)]
pub enum Field {
    /// General purpose flags (u16).
    Flags,
    /// Compression method (u16).
    Method,
    /// CRC-32 (u32).
    Crc,
    /// Uncompressed size (u32).
    Uncompressed,
}

impl Field {
    /// (offset in the central header, offset in the local header, width in bytes).
    fn offsets(self) -> (usize, usize, usize) {
        match self {
            Field::Flags => (8, 6, 2),
            Field::Method => (10, 8, 2),
            Field::Crc => (16, 14, 4),
            Field::Uncompressed => (24, 22, 4),
        }
    }
}

fn le(bytes: &[u8], at: usize, width: usize) -> usize {
    (0..width)
        .map(|i| (bytes[at + i] as usize) << (8 * i))
        .sum()
}

/// The offsets of the central header and of the local header of entry `index` (in central
/// directory order).
pub fn headers(zip: &[u8], index: usize) -> (usize, usize) {
    let central = memchr::memmem::find_iter(zip, b"PK\x01\x02")
        .nth(index)
        .unwrap();
    (central, le(zip, central + 42, 4))
}

/// Set `field` of entry `index` to `value` in both of its headers (or, with `local_only`, in
/// its local header alone).
pub fn patch(zip: &mut [u8], index: usize, field: Field, value: u32, local_only: bool) {
    let (central, local) = headers(zip, index);
    let (c, l, width) = field.offsets();
    let bytes = value.to_le_bytes();
    zip[local + l..local + l + width].copy_from_slice(&bytes[..width]);
    if !local_only {
        zip[central + c..central + c + width].copy_from_slice(&bytes[..width]);
    }
}

/// Replace every occurrence of `from` by `to` (same length) in `zip`: renames an entry in
/// both headers.
pub fn rename(zip: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let found: Vec<usize> = memchr::memmem::find_iter(zip, from).collect();
    assert!(!found.is_empty());
    for at in found {
        zip[at..at + to.len()].copy_from_slice(to);
    }
}
