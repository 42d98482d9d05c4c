//! [`generate_demo`]: the whole demo PKI of the four demo regions, written to disk with its
//! README.

use std::fs;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::ca::{CertAndKey, KeyAlg, SignerSpec, TlsSpec, crl, issue_signer, issue_tls, root_ca};
use super::seal::{DEMO_SEAL_FILE, demo_seal};
use super::sm2_cert::{self, Sm2LeafSpec};
use super::{
    DEMO_CA_VALIDITY, DEMO_CRL_VALIDITY, DEMO_EE_VALIDITY, DEMO_REGIONS, DemoError, DemoRegion,
};

/// Writes the demo PKI of all [`DEMO_REGIONS`] under `out`, and `out/README.md`.
///
/// For each region, `out/<code>/` gets:
/// `licence-root.pem`/`.key`/`.crl.pem` (licence root CA, its key, an empty CRL),
/// `signer.pem`/`.key` ([`SignerSpec::standard`], ECDSA P-256),
/// `sm2-root.pem`/`.key`/`.crl.pem` (the SM2 root, its key, an empty CRL),
/// `seal-maker.pem`/`.key` ([`Sm2LeafSpec::seal_maker`]), `seal-signer.pem`/`.key`
/// ([`Sm2LeafSpec::seal_signer`]), `seal.esl` (the region's electronic seal,
/// [`demo_seal`]),
/// `tls-ca.pem`/`.key`/`.crl.pem` (the TLS CA, its key, an empty CRL),
/// `node.pem`/`.key` (CN `zhengzhao-<code>`, serverAuth+clientAuth, SAN DNS `localhost`, IP
/// `127.0.0.1` and `::1`), and `<code>-bureau.pem`/`.key`, `<code>-window.pem`/`.key` (client
/// certificates whose CN is the department id, clientAuth only), `audit.key` (the node's
/// Ed25519 checkpoint key, C2SP form) and `holder.secret` (its holder-hash secret).
///
/// Dates are fixed ([`DEMO_CA_VALIDITY`], [`DEMO_EE_VALIDITY`], [`DEMO_CRL_VALIDITY`]) so
/// committed material does not expire soon. Private keys are PKCS#8 PEM, mode 0600 on unix.
///
/// Refuses, before writing anything, if a region directory exists and is not empty or
/// `README.md` exists, unless `overwrite` ([`DemoError::Exists`]). Returns every file written.
pub fn generate_demo(out: &Path, overwrite: bool) -> Result<Vec<PathBuf>, DemoError> {
    let readme = out.join("README.md");
    if !overwrite {
        if readme.exists() {
            return Err(DemoError::Exists(readme));
        }
        for region in &DEMO_REGIONS {
            let dir = out.join(region.code);
            if is_non_empty_dir(&dir)? {
                return Err(DemoError::Exists(dir));
            }
        }
    }

    let mut written = Vec::new();
    for region in &DEMO_REGIONS {
        let dir = out.join(region.code);
        fs::create_dir_all(&dir).map_err(|source| DemoError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut put = |name: &str, contents: &[u8], secret: bool| -> Result<(), DemoError> {
            let path = dir.join(name);
            write_file(&path, contents, secret)?;
            written.push(path);
            Ok(())
        };
        let mut put_pair = |stem: &str, pair: &CertAndKey| -> Result<(), DemoError> {
            put(&format!("{stem}.pem"), pair.cert_pem.as_bytes(), false)?;
            put(&format!("{stem}.key"), pair.key_pem.as_bytes(), true)
        };

        let (root, root_pair) = demo_root(root_ca, region, "电子证照根CA")?;
        put_pair("licence-root", &root_pair)?;
        let signer = issue_signer(&root, &SignerSpec::standard(region, KeyAlg::EcdsaP256))?;
        put_pair("signer", &signer)?;

        let (sm2_root, sm2_root_pair) =
            demo_root(sm2_cert::sm2_root_ca, region, "电子证照SM2根CA")?;
        put_pair("sm2-root", &sm2_root_pair)?;
        let maker = sm2_cert::issue_sm2_leaf(&sm2_root, &Sm2LeafSpec::seal_maker(region))?;
        put_pair("seal-maker", &maker)?;
        let seal_signer = sm2_cert::issue_sm2_leaf(&sm2_root, &Sm2LeafSpec::seal_signer(region))?;
        put_pair("seal-signer", &seal_signer)?;

        let (tls_ca, tls_ca_pair) = demo_root(root_ca, region, "节点TLS CA")?;
        put_pair("tls-ca", &tls_ca_pair)?;
        let node = issue_tls(
            &tls_ca,
            &TlsSpec {
                common_name: super::node_id(region.code),
                organisation: region.authority.to_owned(),
                dns_names: vec!["localhost".to_owned()],
                ip_addresses: vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()],
                server_auth: true,
                client_auth: true,
                not_before: DEMO_EE_VALIDITY.0,
                not_after: DEMO_EE_VALIDITY.1,
            },
        )?;
        put_pair("node", &node)?;
        for department in ["bureau", "window"] {
            let id = format!("{}-{department}", region.code);
            let client = issue_tls(
                &tls_ca,
                &TlsSpec {
                    common_name: id.clone(),
                    organisation: region.authority.to_owned(),
                    dns_names: Vec::new(),
                    ip_addresses: Vec::new(),
                    server_auth: false,
                    client_auth: true,
                    not_before: DEMO_EE_VALIDITY.0,
                    not_after: DEMO_EE_VALIDITY.1,
                },
            )?;
            put_pair(&id, &client)?;
        }

        // The region's electronic seal, made by its seal maker for its seal signer.
        let seal = demo_seal(
            region,
            &maker.cert_pem,
            &maker.key_pem,
            &seal_signer.cert_pem,
        )?;
        put(DEMO_SEAL_FILE, &seal, false)?;

        // The node's audit checkpoint key, its witness key and holder-hash secret (public demo
        // material too): each key's private text, and its verifier key text beside it.
        let audit = crate::audit::note::NoteSigner::generate(&crate::audit::log::default_origin(
            region.code,
        ))
        .map(|(signer, key)| (key, signer.vkey()));
        let witness = crate::audit::note::CosignatureSigner::generate(&crate::audit::witness_name(
            region.code,
        ))
        .map(|(signer, key)| (key, signer.vkey()));
        for (stem, generated) in [("audit", audit), ("witness", witness)] {
            let (key, vkey) = generated.map_err(|_| DemoError::Random)?;
            put(&format!("{stem}.key"), key.as_bytes(), true)?;
            put(
                &format!("{stem}.vkey"),
                format!("{vkey}\n").as_bytes(),
                false,
            )?;
        }
        let (_, holder_secret) =
            crate::audit::entry::HolderKey::generate().map_err(|_| DemoError::Random)?;
        put("holder.secret", holder_secret.as_bytes(), true)?;

        // An empty CRL for each of the region's three roots.
        let (this_update, next_update) = DEMO_CRL_VALIDITY;
        for (stem, crl_pem) in [
            (
                "licence-root",
                crl(&root, &[], this_update, next_update, 1)?,
            ),
            ("tls-ca", crl(&tls_ca, &[], this_update, next_update, 1)?),
            (
                "sm2-root",
                sm2_cert::sm2_crl(&sm2_root, &[], this_update, next_update, 1)?,
            ),
        ] {
            put(&format!("{stem}.crl.pem"), crl_pem.as_bytes(), false)?;
        }
    }

    write_file(&readme, readme_text().as_bytes(), false)?;
    written.push(readme);
    Ok(written)
}

/// One of a region's three roots, made by `make` (an X.509 or an SM2 root): all are named
/// `<region name><what> (demo)`, issued to the region's authority and valid for
/// [`DEMO_CA_VALIDITY`].
fn demo_root<Ca, E, F>(make: F, region: &DemoRegion, what: &str) -> Result<(Ca, CertAndKey), E>
where
    F: FnOnce(&str, &str, (OffsetDateTime, OffsetDateTime)) -> Result<(Ca, CertAndKey), E>,
{
    make(
        &format!("{}{what} (demo)", region.name),
        region.authority,
        DEMO_CA_VALIDITY,
    )
}

fn readme_text() -> String {
    let date = |t: OffsetDateTime| t.date().to_string();
    let mut text = String::from(
        "# Demo PKI: PUBLIC TEST MATERIAL\n\
         \n\
         Every private key in this directory is PUBLIC TEST MATERIAL. It is committed to a public\n\
         repository and anyone can sign with it. NEVER use these keys or certificates in\n\
         production, and never trust these roots outside tests and demos.\n\
         \n\
         Generated by `zhengzhao::demo::generate_demo`. Regenerating replaces every key.\n\
         \n\
         ## Files per region directory (`<code>/`)\n\
         \n\
         | File | What it is |\n\
         |---|---|\n\
         | `licence-root.pem`, `licence-root.key` | licence root CA (self-signed, ECDSA P-256) and its PKCS#8 key |\n\
         | `licence-root.crl.pem` | empty CRL signed by the licence root |\n\
         | `signer.pem`, `signer.key` | licence signer: keyUsage digitalSignature, EKU 2.25.91810980038859142214668408484851701763 only, SAN `urn:gbt2260:<code>` and `urn:gb32100:<issuer USCC>` |\n\
         | `sm2-root.pem`, `sm2-root.key` | SM2 root CA (国密, self-signed, SM2-with-SM3, distinguishing ID 1234567812345678) and its PKCS#8 key |\n\
         | `sm2-root.crl.pem` | empty CRL signed by the SM2 root |\n\
         | `seal-maker.pem`, `seal-maker.key` | seal maker (制章者) under the SM2 root: keyUsage digitalSignature + nonRepudiation, no EKU, SAN `urn:gbt2260:<code>` |\n\
         | `seal-signer.pem`, `seal-signer.key` | seal signer (签章者, the issuing authority) under the SM2 root: keyUsage digitalSignature + nonRepudiation, no EKU, the authority's USCC as `organizationIdentifier` and SAN `urn:gb32100:<USCC>`, SAN `urn:gbt2260:<code>` |\n\
         | `seal.esl` | the authority's electronic seal (电子印章): GB/T 38540 v4 `SES_Seal` made (signed) by the seal maker, listing the seal signer's certificate, named `<authority>电子印章`, esID `<code>-demo-seal`, valid 2026-01-01 to 2031-01-01, picture a 160×160 PNG (red ring and star) shown 40×40 mm |\n\
         | `tls-ca.pem`, `tls-ca.key` | the node TLS CA (self-signed, ECDSA P-256) and its key |\n\
         | `tls-ca.crl.pem` | empty CRL signed by the TLS CA |\n\
         | `node.pem`, `node.key` | node certificate, CN `zhengzhao-<code>`, serverAuth + clientAuth, SAN DNS `localhost`, IP `127.0.0.1`, `::1` |\n\
         | `<code>-bureau.pem`, `.key` | client certificate of department `<code>-bureau` (clientAuth only) |\n\
         | `<code>-window.pem`, `.key` | client certificate of department `<code>-window` (clientAuth only) |\n\
         | `audit.key` | the node's audit checkpoint key (Ed25519, C2SP private key text, name `zhengzhao/<code>`) |\n\
         | `holder.secret` | the node's holder-hash secret (HMAC-SHA256 key, 64 hex digits) |\n\
         | `audit.vkey` | the verifier key of `audit.key`, for auditors (`zhengzhao audit keygen --vkey-out`) |\n\
         | `witness.key`, `witness.vkey` | the node's witness cosignature key (C2SP cosignature/v1, name `zhengzhao-witness/<code>`) and its verifier key |\n\
         \n\
         The licence and TLS hierarchies have separate roots, so neither kind of certificate\n\
         passes as the other. CA certificates carry no extendedKeyUsage: rustls-webpki requires\n\
         the wanted EKU on every certificate of a path that has the extension.\n\
         \n\
         Check an SM2 certificate's or CRL's signature with OpenSSL 3 over its TBS, with the ID\n\
         (`openssl dgst -sm3 -verify PUB -sigopt distid:1234567812345678 -signature SIG TBS`):\n\
         OpenSSL 3.0's `openssl verify` checks SM2 certificate signatures without the ID and\n\
         refuses them.\n\
         \n\
         `seal.esl` is a function of `seal-maker.pem`, `seal-maker.key` and `seal-signer.pem`\n\
         (fixed dates, deterministic SM2 nonce): `zhengzhao pki demo --out DIR --seals-only`\n\
         remakes every region's seal from the keys already in DIR, byte for byte the same, and\n\
         touches nothing else. Regenerating the whole PKI makes new keys, hence new seals.\n\
         \n\
         ## Fixed validity dates\n\
         \n\
         Dates are fixed rather than relative to the time of generation, so committed material\n\
         does not rot:\n\
         \n",
    );
    text.push_str(&format!(
        "- CA certificates: {} to {}\n- end-entity certificates: {} to {}\n- CRLs: thisUpdate {}, nextUpdate {}\n\n## Regions\n\n",
        date(DEMO_CA_VALIDITY.0),
        date(DEMO_CA_VALIDITY.1),
        date(DEMO_EE_VALIDITY.0),
        date(DEMO_EE_VALIDITY.1),
        date(DEMO_CRL_VALIDITY.0),
        date(DEMO_CRL_VALIDITY.1),
    ));
    for r in &DEMO_REGIONS {
        text.push_str(&format!(
            "- `{}` {}: {} ({})\n",
            r.code, r.name, r.authority, r.issuer_uscc
        ));
    }
    text
}

fn is_non_empty_dir(dir: &Path) -> Result<bool, DemoError> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(DemoError::Io {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Writes `contents` to `path`, replacing it. A `secret` file is created with mode 0600 on unix,
/// and an existing one is narrowed to 0600 before anything is written into it.
fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), DemoError> {
    let io = |source| DemoError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path).map_err(io)?;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io)?;
        return write_all(file, contents).map_err(io);
    }
    #[cfg(not(unix))]
    let _ = secret;
    write_all(options.open(path).map_err(io)?, contents).map_err(io)
}

fn write_all(mut file: fs::File, contents: &[u8]) -> std::io::Result<()> {
    file.write_all(contents)?;
    file.sync_all()
}
