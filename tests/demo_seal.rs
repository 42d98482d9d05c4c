#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! The committed demo seals `certs/<region>/seal.esl`: each is the region's GB/T 38540 seal,
//! made by the committed seal maker for the committed seal signer, chaining to the region's
//! SM2 root; OpenSSL agrees with the maker's signature, Python reads its picture, and
//! `zhengzhao pki demo --seals-only` remakes exactly these bytes from the committed keys.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use std::path::Path;
use std::process::Command;
use support::command::{openssl_pubkey, openssl_sm2_verify};
use support::{REGIONS, cert_path, read};
use zhengzhao::codes::RegionCode;
use zhengzhao::demo::seal::{
    DEMO_SEAL_FILE, DEMO_SEAL_VALIDITY, demo_seal, demo_seal_es_id, demo_seal_name,
    demo_seal_picture,
};
use zhengzhao::demo::{DEMO_REGIONS, DemoRegion};
use zhengzhao::ofd::ses::{CertList, SesFormat, parse_seal};
use zhengzhao::pki::trust::{ChainUsage, ChainVerdict, TrustStore};

fn region(code: &str) -> &'static DemoRegion {
    DEMO_REGIONS.iter().find(|r| r.code == code).unwrap()
}

fn der(pem: &[u8]) -> Vec<u8> {
    x509_parser::pem::parse_x509_pem(pem).unwrap().1.contents
}

fn text(code: &str, file: &str) -> String {
    String::from_utf8(read(&cert_path(code, file))).unwrap()
}

#[test]
fn every_committed_seal_is_its_regions_seal_and_chains_to_its_sm2_root() {
    for code in REGIONS {
        let seal = parse_seal(&read(&cert_path(code, DEMO_SEAL_FILE))).unwrap();
        assert_eq!(seal.format, SesFormat::Gbt38540, "{code}");
        assert_eq!(seal.header_version, 4, "{code}");
        assert_eq!(seal.name, demo_seal_name(region(code)));
        assert_eq!(
            seal.name,
            format!("{}电子印章", region(code).authority),
            "{code}"
        );
        assert_eq!(seal.es_id, demo_seal_es_id(region(code)));
        assert_eq!(seal.seal_type, 1);
        assert_eq!(seal.valid_start.unix, DEMO_SEAL_VALIDITY.0.unix_timestamp());
        assert_eq!(seal.valid_end.unix, DEMO_SEAL_VALIDITY.1.unix_timestamp());
        assert_eq!(seal.created.unix, DEMO_SEAL_VALIDITY.0.unix_timestamp());
        assert_eq!(seal.picture.kind, "PNG");
        assert_eq!(seal.picture.data, demo_seal_picture().unwrap());
        assert_eq!((seal.picture.width, seal.picture.height), (40, 40));

        seal.verify_maker_signature()
            .unwrap_or_else(|e| panic!("{code}: {e}"));
        let maker = der(&read(&cert_path(code, "seal-maker.pem")));
        assert_eq!(
            seal.maker_cert_der, maker,
            "{code}: not the committed maker"
        );
        let signer = der(&read(&cert_path(code, "seal-signer.pem")));
        assert!(seal.lists_certificate(&signer), "{code}");
        assert!(
            matches!(&seal.cert_list, CertList::Certificates(c) if c == &vec![signer.clone()]),
            "{code}: {:?}",
            seal.cert_list
        );
        for other in REGIONS.iter().filter(|o| **o != code) {
            let theirs = der(&read(&cert_path(other, "seal-signer.pem")));
            assert!(!seal.lists_certificate(&theirs), "{code} lists {other}");
        }

        let mut trust = TrustStore::new();
        let rc: RegionCode = code.parse().unwrap();
        trust
            .add_pem(&read(&cert_path(code, "sm2-root.pem")), &[rc], code)
            .unwrap();
        trust
            .add_crl_pem(&read(&cert_path(code, "sm2-root.crl.pem")), code)
            .unwrap();
        let verdict = trust.validate_for(
            std::slice::from_ref(&seal.maker_cert_der),
            Some(&rc),
            seal.created.unix,
            ChainUsage::SealMaker,
        );
        assert!(
            matches!(verdict, ChainVerdict::Trusted { .. }),
            "{code}: {verdict:?}"
        );
    }
}

#[test]
fn the_committed_seals_are_what_the_generator_makes_from_the_committed_keys() {
    for code in REGIONS {
        let made = demo_seal(
            region(code),
            &text(code, "seal-maker.pem"),
            &text(code, "seal-maker.key"),
            &text(code, "seal-signer.pem"),
        )
        .unwrap();
        assert_eq!(made, read(&cert_path(code, DEMO_SEAL_FILE)), "{code}");
    }
}

#[test]
fn pki_demo_seals_only_remakes_the_seals_from_the_keys_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    for code in REGIONS {
        std::fs::create_dir_all(dir.path().join(code)).unwrap();
        for f in ["seal-maker.pem", "seal-maker.key", "seal-signer.pem"] {
            std::fs::copy(cert_path(code, f), dir.path().join(code).join(f)).unwrap();
        }
    }
    let run = |out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_zhengzhao"))
            .args(["pki", "demo", "--seals-only", "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    let out = run(dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for code in REGIONS {
        let mut names: Vec<String> = std::fs::read_dir(dir.path().join(code))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "seal-maker.key",
                "seal-maker.pem",
                "seal-signer.pem",
                "seal.esl"
            ]
        );
        assert_eq!(
            std::fs::read(dir.path().join(code).join(DEMO_SEAL_FILE)).unwrap(),
            read(&cert_path(code, DEMO_SEAL_FILE)),
            "{code}"
        );
    }
    // Without the maker's key there is no seal: exit 2, naming the file.
    std::fs::remove_file(dir.path().join("370900/seal-maker.key")).unwrap();
    let out = run(dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("seal-maker.key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn openssl_verifies_every_seal_makers_signature() {
    let dir = tempfile::tempdir().unwrap();
    for code in REGIONS {
        let seal = parse_seal(&read(&cert_path(code, DEMO_SEAL_FILE))).unwrap();
        let d = dir.path();
        std::fs::write(d.join("info.der"), &seal.maker_signed_bytes).unwrap();
        std::fs::write(d.join("sig.der"), &seal.maker_signature).unwrap();
        std::fs::write(d.join("maker.der"), &seal.maker_cert_der).unwrap();
        let pubkey = openssl_pubkey(&d.join("maker.der"));
        std::fs::write(d.join("maker.pub.pem"), &pubkey).unwrap();
        let verify = |data: &str| {
            openssl_sm2_verify(&d.join("maker.pub.pem"), &d.join("sig.der"), &d.join(data))
        };
        let ok = verify("info.der");
        assert!(
            String::from_utf8_lossy(&ok.stdout).contains("Verified OK"),
            "{code}: {}{}",
            String::from_utf8_lossy(&ok.stdout),
            String::from_utf8_lossy(&ok.stderr)
        );
        // The same signature over one byte more: OpenSSL refuses it.
        let mut other = seal.maker_signed_bytes.clone();
        other.push(0);
        std::fs::write(d.join("other.der"), &other).unwrap();
        assert!(!verify("other.der").status.success(), "{code}");
    }
}

#[test]
fn python_reads_the_seal_picture_as_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("seal.png");
    let seal = parse_seal(&read(&cert_path("370900", DEMO_SEAL_FILE))).unwrap();
    std::fs::write(&png, &seal.picture.data).unwrap();
    let script = r#"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
at, chunks, idat = 8, [], b""
while at < len(data):
    (n,) = struct.unpack(">I", data[at:at + 4])
    kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + n]
    (crc,) = struct.unpack(">I", data[at + 8 + n:at + 12 + n])
    assert zlib.crc32(kind + body) == crc, kind
    chunks.append(kind.decode())
    if kind == b"IHDR":
        w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
    if kind == b"IDAT":
        idat += body
    at += 12 + n
raw = zlib.decompress(idat)
assert len(raw) == h * (1 + 4 * w)
opaque = sum(1 for i in range(h) for j in range(w) if raw[i * (1 + 4 * w) + 1 + 4 * j + 3] == 255)
print(",".join(chunks), w, h, depth, colour, interlace, opaque > w * h // 10)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "IHDR,IDAT,IEND 160 160 8 6 0 True"
    );
}
