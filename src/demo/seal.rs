//! The demo electronic seal (电子印章) of each demo region: `seal.esl`, a GB/T 38540 v4 seal
//! made by the region's seal maker (制章者, `seal-maker.pem`/`.key`), listing the region's seal
//! signer (签章者, `seal-signer.pem`), named `<authority>电子印章`, valid over
//! [`DEMO_SEAL_VALIDITY`], with a picture drawn here ([`demo_seal_picture`]: a red ring and
//! star, PNG).
//!
//! A seal is a function of the maker's key and certificate and the signer's certificate: the
//! dates are fixed and SM2 signs with a deterministic nonce, so [`demo_seal`] gives the same
//! bytes every time for the same material. [`write_demo_seals`] (`zhengzhao pki demo
//! --seals-only`) remakes the seals of a demo PKI already on disk from its keys, without
//! touching anything else; [`crate::demo::generate_demo`] writes them with everything
//! else.
//!
//! Public test material, like the rest of the demo PKI.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use time::macros::datetime;

use super::{DEMO_REGIONS, DemoError, DemoRegion};
use crate::gm::Sm2PrivateKey;
use crate::ofd::ses::{self, SealSpec};

/// The seal's file in each region directory.
pub const DEMO_SEAL_FILE: &str = "seal.esl";

/// Validity of every demo seal: 2026-01-01 to 2031-01-01 (UTC); it is also the seal's
/// `createDate`. Fixed, like the certificates' dates, so committed seals do not rot.
pub const DEMO_SEAL_VALIDITY: (OffsetDateTime, OffsetDateTime) = (
    datetime!(2026-01-01 00:00 UTC),
    datetime!(2031-01-01 00:00 UTC),
);

/// The side of the seal's square picture, in pixels.
pub const DEMO_SEAL_PIXELS: u32 = 160;

/// The side of the seal's picture on the page, in millimetres (a common size for an
/// organisation's round seal).
pub const DEMO_SEAL_MILLIMETRES: i64 = 40;

/// The header's vendor id (`Vid`) of the demo seals.
pub const DEMO_SEAL_VENDOR: &str = "zhengzhao";

/// The seal's name: `<the region's issuing authority>电子印章`.
pub fn demo_seal_name(region: &DemoRegion) -> String {
    format!("{}电子印章", region.authority)
}

/// The seal's identifier (`esID`): `<region code>-demo-seal`.
pub fn demo_seal_es_id(region: &DemoRegion) -> String {
    format!("{}-demo-seal", region.code)
}

/// The seal of `region` made by the seal maker (`maker_cert_pem`, `maker_key_pem`) for the
/// seal signer `signer_cert_pem`: see the module doc.
///
/// Refuses a maker key that is not the maker certificate's ([`DemoError::KeyMismatch`]),
/// unreadable PEM ([`DemoError::CertificateParse`], [`DemoError::Sm2`]).
pub fn demo_seal(
    region: &DemoRegion,
    maker_cert_pem: &str,
    maker_key_pem: &str,
    signer_cert_pem: &str,
) -> Result<Vec<u8>, DemoError> {
    let maker_cert = cert_der(maker_cert_pem)?;
    let signer_cert = cert_der(signer_cert_pem)?;
    let maker_key = Sm2PrivateKey::from_pem(maker_key_pem)
        .map_err(|e| DemoError::Sm2(super::sm2_cert::Sm2CertError::Key(e)))?;
    let maker_public = ses::sm2_key_of_certificate(&maker_cert, "seal maker's certificate")
        .map_err(|e| DemoError::CertificateParse {
            reason: e.to_string(),
        })?;
    if maker_public.to_sec1() != maker_key.public_key().to_sec1() {
        return Err(DemoError::KeyMismatch);
    }
    let picture = demo_seal_picture()?;
    let (start, end) = DEMO_SEAL_VALIDITY;
    ses::build_seal_v4(
        &SealSpec {
            vendor_id: DEMO_SEAL_VENDOR,
            es_id: &demo_seal_es_id(region),
            seal_type: 1,
            name: &demo_seal_name(region),
            signer_certs: &[&signer_cert],
            created: start.unix_timestamp(),
            valid_start: start.unix_timestamp(),
            valid_end: end.unix_timestamp(),
            picture_type: "PNG",
            picture: &picture,
            width: DEMO_SEAL_MILLIMETRES,
            height: DEMO_SEAL_MILLIMETRES,
        },
        &maker_cert,
        &maker_key,
    )
    .map_err(|e| DemoError::Seal(e.to_string()))
}

/// (Re)writes `out/<code>/seal.esl` for every demo region from the `seal-maker.pem`,
/// `seal-maker.key` and `seal-signer.pem` already in `out/<code>/`, and nothing else.
/// Returns the files written.
pub fn write_demo_seals(out: &Path) -> Result<Vec<PathBuf>, DemoError> {
    let mut written = Vec::new();
    for region in &DEMO_REGIONS {
        let dir = out.join(region.code);
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| DemoError::Io { path, source })
        };
        let seal = demo_seal(
            region,
            &read("seal-maker.pem")?,
            &read("seal-maker.key")?,
            &read("seal-signer.pem")?,
        )?;
        let path = dir.join(DEMO_SEAL_FILE);
        std::fs::write(&path, seal).map_err(|source| DemoError::Io {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

fn cert_der(pem: &str) -> Result<Vec<u8>, DemoError> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map(|(_, p)| p.contents)
        .map_err(|e| DemoError::CertificateParse {
            reason: e.to_string(),
        })
}

/// The seal's red colour (RGBA).
const RED: [u8; 4] = [0xd7, 0x1a, 0x1a, 0xff];

/// The demo seal's picture: a red ring around a red five-pointed star on a transparent
/// background, [`DEMO_SEAL_PIXELS`] square, as a PNG (8-bit RGBA, one zlib stream, no
/// interlace), encoded here with flate2's zlib and CRC-32.
pub fn demo_seal_picture() -> Result<Vec<u8>, DemoError> {
    let side = DEMO_SEAL_PIXELS;
    let c = (side as f64 - 1.0) / 2.0;
    let outer = side as f64 / 2.0 - 3.0;
    let inner = outer - 8.0;
    // The star's ten corners, the first pointing up.
    let star: Vec<(f64, f64)> = (0..10)
        .map(|i| {
            let r = if i % 2 == 0 {
                outer * 0.55
            } else {
                outer * 0.22
            };
            let a = std::f64::consts::PI * (i as f64 / 5.0 - 0.5);
            (c + r * a.cos(), c + r * a.sin())
        })
        .collect();
    let mut raw = Vec::with_capacity((side * (side * 4 + 1)) as usize);
    for y in 0..side {
        raw.push(0); // filter type None
        for x in 0..side {
            let (px, py) = (x as f64, y as f64);
            let d = ((px - c).powi(2) + (py - c).powi(2)).sqrt();
            let red = (inner..=outer).contains(&d) || inside(&star, px, py);
            raw.extend_from_slice(if red { &RED } else { &[0, 0, 0, 0] });
        }
    }
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    zlib.write_all(&raw)
        .map_err(|e| DemoError::Seal(format!("PNG: {e}")))?;
    let idat = zlib
        .finish()
        .map_err(|e| DemoError::Seal(format!("PNG: {e}")))?;

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8 bits, RGBA, deflate, adaptive, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    Ok(png)
}

/// One PNG chunk: length, type, data, CRC-32 of type and data.
fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    png.extend_from_slice(&len.to_be_bytes());
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    png.extend_from_slice(&crc.sum().to_be_bytes());
}

/// Whether (`x`, `y`) is inside the polygon (even-odd rule).
fn inside(polygon: &[(f64, f64)], x: f64, y: f64) -> bool {
    let mut result = false;
    let mut j = polygon.len().saturating_sub(1);
    for (i, &(xi, yi)) in polygon.iter().enumerate() {
        let (xj, yj) = polygon[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            result = !result;
        }
        j = i;
    }
    result
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_picture_is_a_png_whose_chunks_and_pixels_decode() {
        use std::io::Read as _;
        let png = demo_seal_picture().unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let mut at = 8;
        let mut kinds = Vec::new();
        let mut idat = Vec::new();
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind = &png[at + 4..at + 8];
            let data = &png[at + 8..at + 8 + len];
            let mut crc = flate2::Crc::new();
            crc.update(kind);
            crc.update(data);
            assert_eq!(
                crc.sum().to_be_bytes(),
                png[at + 8 + len..at + 12 + len],
                "CRC of {kind:?}"
            );
            if kind == b"IDAT" {
                idat.extend_from_slice(data);
            }
            kinds.push(String::from_utf8(kind.to_vec()).unwrap());
            at += 12 + len;
        }
        assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(idat.as_slice())
            .read_to_end(&mut raw)
            .unwrap();
        let side = DEMO_SEAL_PIXELS as usize;
        let row = 1 + 4 * side;
        assert_eq!(raw.len(), side * row);
        let pixel = |x: usize, y: usize| &raw[y * row + 1 + 4 * x..y * row + 5 + 4 * x];
        assert_eq!(pixel(side / 2, side / 2), RED, "the star's centre");
        assert_eq!(pixel(side / 2, 5), RED, "the ring");
        assert_eq!(pixel(0, 0), [0, 0, 0, 0], "a corner");
        assert_eq!(pixel(side / 2, 20), [0, 0, 0, 0], "between ring and star");
        assert!(png.len() < 4096, "{} bytes", png.len());
    }

    #[test]
    fn a_maker_key_that_is_not_the_makers_is_refused() {
        let region = &DEMO_REGIONS[0];
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("certs");
        let read = |r: &str, f: &str| std::fs::read_to_string(dir.join(r).join(f)).unwrap();
        let err = demo_seal(
            region,
            &read(region.code, "seal-maker.pem"),
            &read(region.code, "seal-signer.key"),
            &read(region.code, "seal-signer.pem"),
        )
        .unwrap_err();
        assert!(matches!(err, DemoError::KeyMismatch), "{err}");
    }
}
