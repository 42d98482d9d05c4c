#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! The demo PKI, end to end: `generate_demo` writes real files into a temporary directory, and
//! these tests read them back with x509-parser (profile checks), rustls-webpki (path validation,
//! the validator the node uses), and the openssl command line (an
//! implementation nobody here wrote).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use time::OffsetDateTime;
use time::macros::datetime;
use webpki::{
    CertRevocationList, EndEntityCert, Error as WebpkiError, ExpirationPolicy, KeyUsage,
    OwnedCertRevocationList, RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use zhengzhao::demo::{
    Ca, DEMO_REGIONS, DemoError, DemoRegion, KeyAlg, LICENCE_SIGNING_EKU_DER,
    LICENCE_SIGNING_EKU_OID, SignerSpec, crl, department_tls, generate_demo, issue_signer, root_ca,
    serial_from_pem,
};

/// Inside every demo validity window.
const VALIDATION_TIME: OffsetDateTime = datetime!(2030-06-01 00:00 UTC);

/// Generates the demo PKI once per test into its own temporary directory.
fn demo() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let written = generate_demo(dir.path(), false).unwrap();
    (dir, written)
}

fn read(out: &Path, region: &DemoRegion, name: &str) -> String {
    fs::read_to_string(out.join(region.code).join(name)).unwrap()
}

/// DER contents of a PEM certificate or CRL.
fn der(pem: &str) -> Vec<u8> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .unwrap()
        .1
        .contents
}

fn parse(der: &[u8]) -> X509Certificate<'_> {
    x509_parser::parse_x509_certificate(der).unwrap().1
}

fn common_name(cert: &X509Certificate<'_>) -> String {
    let cn = cert.subject().iter_common_name().next().unwrap();
    cn.as_str().unwrap().to_owned()
}

fn organisation(cert: &X509Certificate<'_>) -> String {
    let o = cert.subject().iter_organization().next().unwrap();
    o.as_str().unwrap().to_owned()
}

/// Dotted form of an OID's DER value bytes, with arcs up to u128: x509-parser without the
/// `bigint` feature prints OIDs whose arcs exceed u64 (like the licence OID) as hex.
fn dotted(oid_der: &[u8]) -> String {
    let mut arcs = Vec::new();
    let mut acc: u128 = 0;
    for &b in oid_der {
        acc = (acc << 7) | u128::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
        }
    }
    let first = arcs.remove(0);
    let (a, b) = if first < 80 {
        (first / 40, first % 40)
    } else {
        (2, first - 80)
    };
    let mut parts = vec![a.to_string(), b.to_string()];
    parts.extend(arcs.iter().map(u128::to_string));
    parts.join(".")
}

/// Validates `ee_pem` against the single trust anchor `anchor_pem` at [`VALIDATION_TIME`], for
/// `usage`. With `crls`, also checks the end-entity certificate's revocation status, and an
/// unknown status (no authoritative CRL) is an error.
fn verify(
    ee_pem: &str,
    anchor_pem: &str,
    usage: KeyUsage,
    crls: &[&str],
) -> Result<(), WebpkiError> {
    // `rustls-pki-types`, which defines `CertificateDer` and `UnixTime`, is not a direct
    // dependency, so neither type can be named here. Putting both certificates in one array
    // lets `anchor_from_trusted_cert` fix their type for `EndEntityCert::try_from` too.
    let [anchor_der, ee_der] = [der(anchor_pem).into(), der(ee_pem).into()];
    let anchors = [webpki::anchor_from_trusted_cert(&anchor_der)?];
    let ee = EndEntityCert::try_from(&ee_der)?;

    let crls = crls
        .iter()
        .map(|pem| OwnedCertRevocationList::from_der(&der(pem)).map(CertRevocationList::from))
        .collect::<Result<Vec<_>, _>>()?;
    let crl_refs = crls.iter().collect::<Vec<_>>();
    let revocation = RevocationOptionsBuilder::new(&crl_refs)
        .ok()
        .map(|builder| {
            builder
                .with_depth(RevocationCheckDepth::EndEntity)
                .with_status_policy(UnknownStatusPolicy::Deny)
                .with_expiration_policy(ExpirationPolicy::Enforce)
                .build()
        });

    // Likewise `UnixTime`: the one public way to obtain one is a parsed CRL entry's
    // `revocation_date`, so a throwaway CRL revokes a dummy serial at the validation time.
    let clock_crl = der(&clock_crl_pem(VALIDATION_TIME));
    let clock_crl = webpki::BorrowedCertRevocationList::from_der(&clock_crl)?;
    let time = (&clock_crl).into_iter().next().unwrap()?.revocation_date;

    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &[],
        time,
        usage,
        revocation,
        None,
    )
    .map(|_| ())
}

/// A CRL (from a throwaway CA) whose single entry was revoked at `at`; see [`verify`].
fn clock_crl_pem(at: OffsetDateTime) -> String {
    let (ca, _) = root_ca("clock", "clock", zhengzhao::demo::DEMO_CA_VALIDITY).unwrap();
    let (this_update, next_update) = zhengzhao::demo::DEMO_CRL_VALIDITY;
    crl(&ca, &[(1u64.into(), at)], this_update, next_update, 1).unwrap()
}

fn all_files(region: &DemoRegion) -> Vec<String> {
    let mut names: Vec<String> = [
        "licence-root.pem",
        "licence-root.key",
        "licence-root.crl.pem",
        "signer.pem",
        "signer.key",
        "sm2-root.pem",
        "sm2-root.key",
        "sm2-root.crl.pem",
        "seal-maker.pem",
        "seal-maker.key",
        "seal-signer.pem",
        "seal-signer.key",
        "seal.esl",
        "tls-ca.pem",
        "tls-ca.key",
        "tls-ca.crl.pem",
        "node.pem",
        "node.key",
        "audit.key",
        "audit.vkey",
        "witness.key",
        "witness.vkey",
        "holder.secret",
    ]
    .map(String::from)
    .to_vec();
    for dept in ["bureau", "window"] {
        for ext in ["pem", "key"] {
            names.push(format!("{}-{dept}.{ext}", region.code));
        }
    }
    names
}

#[test]
fn generate_demo_writes_every_file_and_a_warning_readme() {
    let (dir, written) = demo();
    let out = dir.path();
    let mut expected: Vec<PathBuf> = DEMO_REGIONS
        .iter()
        .flat_map(|r| all_files(r).into_iter().map(|n| out.join(r.code).join(n)))
        .collect();
    expected.push(out.join("README.md"));
    let mut written_sorted = written.clone();
    written_sorted.sort();
    expected.sort();
    assert_eq!(written_sorted, expected);
    for path in &written {
        assert!(
            fs::metadata(path).unwrap().len() > 0,
            "{} is empty",
            path.display()
        );
    }

    // Each region's seal is made by its new seal maker for its new seal signer.
    for region in &DEMO_REGIONS {
        let seal = fs::read(out.join(region.code).join("seal.esl")).unwrap();
        let seal = zhengzhao::ofd::ses::parse_seal(&seal).unwrap();
        seal.verify_maker_signature().unwrap();
        assert_eq!(
            seal.maker_cert_der,
            der(&read(out, region, "seal-maker.pem"))
        );
        assert!(seal.lists_certificate(&der(&read(out, region, "seal-signer.pem"))));
    }

    let readme = fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("PUBLIC TEST MATERIAL"));
    assert!(readme.contains("NEVER use these keys"));
    for date in ["2026-01-01", "2036-01-01", "2046-01-01"] {
        assert!(readme.contains(date), "README lacks {date}");
    }
    for region in &DEMO_REGIONS {
        assert!(readme.contains(region.code));
    }
}

/// `department_tls` names, for each demo department, files `generate_demo` wrote: the TLS CA
/// and that department's certificate and key.
#[test]
fn department_tls_names_files_the_demo_writes() {
    let (dir, written) = demo();
    for region in &DEMO_REGIONS {
        for who in ["bureau", "window"] {
            let [ca, cert, key] = department_tls(dir.path(), region.code, who);
            for path in [&ca, &cert, &key] {
                assert!(written.contains(path), "{} was not written", path.display());
            }
            assert!(ca.ends_with("tls-ca.pem"));
            let cert = der(&fs::read_to_string(&cert).unwrap());
            assert_eq!(common_name(&parse(&cert)), format!("{}-{who}", region.code));
        }
    }
}

#[cfg(unix)]
#[test]
fn private_keys_are_mode_0600_and_pkcs8() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, written) = demo();
    // The node's audit checkpoint key and witness key (C2SP text) and its holder-hash secret
    // are secrets too.
    for path in written.iter().filter(|p| {
        p.file_name()
            .is_some_and(|n| n == "audit.key" || n == "witness.key" || n == "holder.secret")
    }) {
        let mode = fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
    let keys: Vec<_> = written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "key"))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n != "audit.key" && n != "witness.key")
        })
        .collect();
    // Six P-256 keys and three SM2 keys (the SM2 root, the seal maker, the seal signer).
    assert_eq!(keys.len(), DEMO_REGIONS.len() * 9);
    for key in keys {
        let mode = fs::metadata(key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", key.display());
        let pem = fs::read_to_string(key).unwrap();
        assert!(
            pem.starts_with("-----BEGIN PRIVATE KEY-----"),
            "{}",
            key.display()
        );
    }
}

#[test]
fn signer_has_the_licence_signer_profile() {
    let (dir, _) = demo();
    for region in &DEMO_REGIONS {
        let signer_der = der(&read(dir.path(), region, "signer.pem"));
        let signer = parse(&signer_der);
        let root_der = der(&read(dir.path(), region, "licence-root.pem"));
        let root = parse(&root_der);

        assert_eq!(
            common_name(&signer),
            format!("{}电子证照签发 (demo)", region.name)
        );
        assert_eq!(organisation(&signer), region.authority);

        let ku = signer.key_usage().unwrap().expect("keyUsage").value;
        assert!(ku.digital_signature());
        assert_eq!(ku.flags, 1, "keyUsage must be digitalSignature only");

        let eku = signer.extended_key_usage().unwrap().expect("EKU");
        assert!(!eku.critical);
        let eku = eku.value;
        assert!(!(eku.any || eku.server_auth || eku.client_auth || eku.code_signing));
        assert!(!(eku.email_protection || eku.time_stamping || eku.ocsp_signing));
        let others: Vec<String> = eku.other.iter().map(|o| dotted(o.as_bytes())).collect();
        assert_eq!(others, [LICENCE_SIGNING_EKU_OID]);
        assert_eq!(eku.other[0].as_bytes(), LICENCE_SIGNING_EKU_DER);

        let san = signer.subject_alternative_name().unwrap().expect("SAN");
        let uris: Vec<&str> = san
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::URI(u) => *u,
                other => panic!("unexpected SAN {other:?}"),
            })
            .collect();
        assert_eq!(
            uris,
            [
                format!("urn:gbt2260:{}", region.code),
                format!("urn:gb32100:{}", region.issuer_uscc)
            ]
        );

        let bc = signer
            .basic_constraints()
            .unwrap()
            .expect("basicConstraints");
        assert!(!bc.value.ca);
        assert_eq!(signer.issuer().as_raw(), root.subject().as_raw());
        assert_eq!(signer.raw_serial().len(), 16);
        assert_eq!(
            signer.validity().not_before.to_datetime(),
            datetime!(2026-01-01 00:00 UTC)
        );
        assert_eq!(
            signer.validity().not_after.to_datetime(),
            datetime!(2036-01-01 00:00 UTC)
        );

        // authorityKeyIdentifier = the root's subjectKeyIdentifier.
        let aki = signer
            .iter_extensions()
            .find_map(|e| match e.parsed_extension() {
                x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(a) => {
                    a.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                _ => None,
            })
            .expect("AKI");
        let ski = root
            .iter_extensions()
            .find_map(|e| match e.parsed_extension() {
                x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => {
                    Some(k.0.to_vec())
                }
                _ => None,
            })
            .expect("root SKI");
        assert_eq!(aki, ski);
    }
}

#[test]
fn roots_are_cas_without_eku() {
    let (dir, _) = demo();
    for region in &DEMO_REGIONS {
        for (file, cn) in [
            (
                "licence-root.pem",
                format!("{}电子证照根CA (demo)", region.name),
            ),
            ("tls-ca.pem", format!("{}节点TLS CA (demo)", region.name)),
        ] {
            let ca_der = der(&read(dir.path(), region, file));
            let ca = parse(&ca_der);
            assert_eq!(common_name(&ca), cn);
            assert_eq!(organisation(&ca), region.authority);
            let country = ca.subject().iter_country().next().unwrap();
            assert_eq!(country.as_str().unwrap(), "CN");
            assert_eq!(ca.subject().as_raw(), ca.issuer().as_raw(), "self-signed");

            let bc = ca
                .basic_constraints()
                .unwrap()
                .expect("basicConstraints")
                .value;
            assert!(bc.ca);
            assert!(bc.path_len_constraint.is_none_or(|n| n >= 1));
            let ku = ca.key_usage().unwrap().expect("keyUsage").value;
            assert!(ku.key_cert_sign() && ku.crl_sign());
            assert!(
                ca.extended_key_usage().unwrap().is_none(),
                "{file} has an EKU"
            );
            assert_eq!(ca.raw_serial().len(), 16);
            assert_eq!(
                ca.validity().not_after.to_datetime(),
                datetime!(2046-01-01 00:00 UTC)
            );
        }
    }
}

#[test]
fn node_and_department_certificates_have_the_tls_profile() {
    let (dir, _) = demo();
    for region in &DEMO_REGIONS {
        let node_der = der(&read(dir.path(), region, "node.pem"));
        let node = parse(&node_der);
        assert_eq!(common_name(&node), format!("zhengzhao-{}", region.code));
        let eku = node.extended_key_usage().unwrap().expect("EKU").value;
        assert!(eku.server_auth && eku.client_auth);
        assert!(eku.other.is_empty());
        let san = node.subject_alternative_name().unwrap().expect("SAN").value;
        assert!(
            san.general_names
                .contains(&GeneralName::DNSName("localhost"))
        );
        assert!(
            san.general_names
                .contains(&GeneralName::IPAddress(&[127, 0, 0, 1]))
        );
        let v6_loopback = std::net::Ipv6Addr::LOCALHOST.octets();
        assert!(
            san.general_names
                .contains(&GeneralName::IPAddress(&v6_loopback))
        );
        assert!(node.key_usage().unwrap().unwrap().value.digital_signature());

        for dept in ["bureau", "window"] {
            let id = format!("{}-{dept}", region.code);
            let cert_der = der(&read(dir.path(), region, &format!("{id}.pem")));
            let cert = parse(&cert_der);
            assert_eq!(common_name(&cert), id);
            let eku = cert.extended_key_usage().unwrap().expect("EKU").value;
            assert!(eku.client_auth && !eku.server_auth && eku.other.is_empty());
        }
    }
}

#[test]
fn signer_chains_to_its_licence_root_for_the_licence_eku() {
    let (dir, _) = demo();
    for region in &DEMO_REGIONS {
        let signer = read(dir.path(), region, "signer.pem");
        let root = read(dir.path(), region, "licence-root.pem");
        verify(
            &signer,
            &root,
            KeyUsage::required(LICENCE_SIGNING_EKU_DER),
            &[],
        )
        .unwrap();
    }
}

#[test]
fn signer_is_rejected_under_another_regions_root_as_unknown_issuer() {
    let (dir, _) = demo();
    for (i, region) in DEMO_REGIONS.iter().enumerate() {
        let other = &DEMO_REGIONS[(i + 1) % DEMO_REGIONS.len()];
        let signer = read(dir.path(), region, "signer.pem");
        let other_root = read(dir.path(), other, "licence-root.pem");
        let err = verify(
            &signer,
            &other_root,
            KeyUsage::required(LICENCE_SIGNING_EKU_DER),
            &[],
        )
        .unwrap_err();
        assert!(matches!(err, WebpkiError::UnknownIssuer), "{err:?}");
        // Nor under its own region's TLS CA.
        let tls_ca = read(dir.path(), region, "tls-ca.pem");
        let err = verify(
            &signer,
            &tls_ca,
            KeyUsage::required(LICENCE_SIGNING_EKU_DER),
            &[],
        )
        .unwrap_err();
        assert!(matches!(err, WebpkiError::UnknownIssuer), "{err:?}");
    }
}

#[test]
fn node_certificate_validates_for_server_and_client_auth_under_its_tls_ca() {
    let (dir, _) = demo();
    for region in &DEMO_REGIONS {
        let node = read(dir.path(), region, "node.pem");
        let tls_ca = read(dir.path(), region, "tls-ca.pem");
        verify(&node, &tls_ca, KeyUsage::server_auth(), &[]).unwrap();
        verify(&node, &tls_ca, KeyUsage::client_auth(), &[]).unwrap();
        for dept in ["bureau", "window"] {
            let cert = read(dir.path(), region, &format!("{}-{dept}.pem", region.code));
            verify(&cert, &tls_ca, KeyUsage::client_auth(), &[]).unwrap();
            let err = verify(&cert, &tls_ca, KeyUsage::server_auth(), &[]).unwrap_err();
            assert!(is_eku_not_found(&err), "{err:?}");
        }
    }
}

fn is_eku_not_found(err: &WebpkiError) -> bool {
    matches!(err, WebpkiError::RequiredEkuNotFoundContext(_))
}

#[test]
fn node_certificate_is_rejected_as_licence_signer_for_missing_eku() {
    let (dir, _) = demo();
    for region in &DEMO_REGIONS {
        let node = read(dir.path(), region, "node.pem");
        let tls_ca = read(dir.path(), region, "tls-ca.pem");
        let err = verify(
            &node,
            &tls_ca,
            KeyUsage::required(LICENCE_SIGNING_EKU_DER),
            &[],
        )
        .unwrap_err();
        assert!(is_eku_not_found(&err), "{err:?}");
    }
}

#[test]
fn signer_is_rejected_for_server_auth_for_missing_eku() {
    let (dir, _) = demo();
    let region = &DEMO_REGIONS[0];
    let signer = read(dir.path(), region, "signer.pem");
    let root = read(dir.path(), region, "licence-root.pem");
    let err = verify(&signer, &root, KeyUsage::server_auth(), &[]).unwrap_err();
    assert!(is_eku_not_found(&err), "{err:?}");
}

#[test]
fn crls_parse_are_empty_and_are_signed_by_their_ca() {
    let (dir, _) = demo();
    for region in &DEMO_REGIONS {
        for (crl_file, ca_file, ee_file, usage) in [
            (
                "licence-root.crl.pem",
                "licence-root.pem",
                "signer.pem",
                KeyUsage::required(LICENCE_SIGNING_EKU_DER),
            ),
            (
                "tls-ca.crl.pem",
                "tls-ca.pem",
                "node.pem",
                KeyUsage::server_auth(),
            ),
        ] {
            let crl_pem = read(dir.path(), region, crl_file);
            let ca_pem = read(dir.path(), region, ca_file);
            let ee_pem = read(dir.path(), region, ee_file);

            // x509-parser: well formed, empty, right issuer and dates, signature by the CA key.
            let crl_der = der(&crl_pem);
            let (_, parsed) = x509_parser::parse_x509_crl(&crl_der).unwrap();
            let ca_der = der(&ca_pem);
            let ca = parse(&ca_der);
            assert_eq!(parsed.iter_revoked_certificates().count(), 0);
            assert_eq!(parsed.issuer().as_raw(), ca.subject().as_raw());
            assert_eq!(
                parsed.last_update().to_datetime(),
                datetime!(2026-01-01 00:00 UTC)
            );
            assert_eq!(
                parsed.next_update().unwrap().to_datetime(),
                datetime!(2046-01-01 00:00 UTC)
            );
            parsed.verify_signature(ca.public_key()).unwrap();

            // webpki parses it and, with unknown status denied, accepts it as the authoritative
            // CRL for a certificate the CA issued: that verifies the CRL's signature too.
            OwnedCertRevocationList::from_der(&crl_der).unwrap();
            verify(&ee_pem, &ca_pem, usage, &[&crl_pem]).unwrap();
        }
        // The other hierarchy's CRL is not authoritative for the signer: status unknown.
        let signer = read(dir.path(), region, "signer.pem");
        let root = read(dir.path(), region, "licence-root.pem");
        let tls_crl = read(dir.path(), region, "tls-ca.crl.pem");
        let err = verify(
            &signer,
            &root,
            KeyUsage::required(LICENCE_SIGNING_EKU_DER),
            &[&tls_crl],
        )
        .unwrap_err();
        assert!(
            matches!(err, WebpkiError::UnknownRevocationStatus),
            "{err:?}"
        );
    }
}

#[test]
fn revoked_serial_is_listed_and_rejected_as_revoked() {
    let (dir, _) = demo();
    let region = &DEMO_REGIONS[1];
    let root_pem = read(dir.path(), region, "licence-root.pem");
    let root = Ca::from_pem(&root_pem, &read(dir.path(), region, "licence-root.key")).unwrap();
    let victim = issue_signer(&root, &SignerSpec::standard(region, KeyAlg::EcdsaP256)).unwrap();
    let bystander = read(dir.path(), region, "signer.pem");

    let serial = serial_from_pem(&victim.cert_pem).unwrap();
    let revoked_at = datetime!(2027-03-04 05:06:07 UTC);
    let crl_pem = crl(
        &root,
        &[(serial.clone(), revoked_at)],
        datetime!(2027-03-04 06:00 UTC),
        datetime!(2040-01-01 00:00 UTC),
        2,
    )
    .unwrap();

    let crl_der = der(&crl_pem);
    let (_, parsed) = x509_parser::parse_x509_crl(&crl_der).unwrap();
    let entries: Vec<_> = parsed.iter_revoked_certificates().collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].raw_serial(), serial.to_bytes());
    let victim_der = der(&victim.cert_pem);
    assert_eq!(entries[0].raw_serial(), parse(&victim_der).raw_serial());
    assert_eq!(entries[0].revocation_date.to_datetime(), revoked_at);
    assert_eq!(parsed.crl_number().unwrap().to_string(), "2");
    parsed
        .verify_signature(parse(&der(&root_pem)).public_key())
        .unwrap();

    let licence = KeyUsage::required(LICENCE_SIGNING_EKU_DER);
    let err = verify(&victim.cert_pem, &root_pem, licence, &[&crl_pem]).unwrap_err();
    assert!(matches!(err, WebpkiError::CertRevoked), "{err:?}");
    verify(&bystander, &root_pem, licence, &[&crl_pem]).unwrap();
}

#[test]
fn ed25519_signer_under_p256_root_validates() {
    let (dir, _) = demo();
    let region = &DEMO_REGIONS[2];
    let root_pem = read(dir.path(), region, "licence-root.pem");
    let root = Ca::from_pem(&root_pem, &read(dir.path(), region, "licence-root.key")).unwrap();
    let signer = issue_signer(&root, &SignerSpec::standard(region, KeyAlg::Ed25519)).unwrap();

    let signer_der = der(&signer.cert_pem);
    let cert = parse(&signer_der);
    assert_eq!(
        cert.public_key().algorithm.algorithm.to_id_string(),
        "1.3.101.112"
    );
    assert_eq!(
        cert.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.10045.4.3.2",
        "signed by the P-256 root with ecdsa-with-SHA256"
    );
    assert!(signer.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    verify(
        &signer.cert_pem,
        &root_pem,
        KeyUsage::required(LICENCE_SIGNING_EKU_DER),
        &[],
    )
    .unwrap();
}

#[test]
fn generate_demo_refuses_to_overwrite_unless_asked() {
    let (dir, _) = demo();
    let out = dir.path();
    let before = read(out, &DEMO_REGIONS[0], "licence-root.pem");

    // README.md is checked first.
    match generate_demo(out, false) {
        Err(DemoError::Exists(path)) => assert_eq!(path, out.join("README.md")),
        other => panic!("expected Exists, got {other:?}"),
    }
    fs::remove_file(out.join("README.md")).unwrap();
    match generate_demo(out, false) {
        Err(DemoError::Exists(path)) => assert_eq!(path, out.join(DEMO_REGIONS[0].code)),
        other => panic!("expected Exists, got {other:?}"),
    }
    // Refusal wrote nothing.
    assert!(!out.join("README.md").exists());
    assert_eq!(read(out, &DEMO_REGIONS[0], "licence-root.pem"), before);

    // An empty region directory is not "existing material".
    let fresh = tempfile::tempdir().unwrap();
    for region in &DEMO_REGIONS {
        fs::create_dir(fresh.path().join(region.code)).unwrap();
    }
    generate_demo(fresh.path(), false).unwrap();

    // With overwrite, everything is replaced by new keys.
    generate_demo(out, true).unwrap();
    assert_ne!(read(out, &DEMO_REGIONS[0], "licence-root.pem"), before);
}

/// Known-answer check with an implementation nobody here wrote: openssl verifies the chains and
/// CRL signatures and prints the licence EKU in dotted form. `.ci/setup` installs openssl.
#[test]
fn openssl_agrees() {
    assert!(
        Command::new("openssl").arg("version").output().is_ok(),
        "the openssl command line is needed for this cross-check: run .ci/setup (apt-get install openssl)"
    );
    let (dir, _) = demo();
    let openssl = |args: &[&str], cwd: &Path| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(cwd)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "openssl {args:?} failed: {text}");
        text
    };
    // The certificates are valid from 2026-01-01; pin openssl's clock inside the window.
    let at = VALIDATION_TIME.unix_timestamp().to_string();
    for region in &DEMO_REGIONS {
        let cwd = dir.path().join(region.code);
        let text = openssl(
            &[
                "verify",
                "-attime",
                &at,
                "-CAfile",
                "licence-root.pem",
                "signer.pem",
            ],
            &cwd,
        );
        assert!(text.contains("signer.pem: OK"), "{text}");
        let text = openssl(
            &[
                "verify",
                "-attime",
                &at,
                "-purpose",
                "sslserver",
                "-CAfile",
                "tls-ca.pem",
                "node.pem",
            ],
            &cwd,
        );
        assert!(text.contains("node.pem: OK"), "{text}");
        let text = openssl(
            &[
                "x509",
                "-noout",
                "-ext",
                "extendedKeyUsage",
                "-in",
                "signer.pem",
            ],
            &cwd,
        );
        assert!(text.contains(LICENCE_SIGNING_EKU_OID), "{text}");
        for (crl_file, ca_file) in [
            ("licence-root.crl.pem", "licence-root.pem"),
            ("tls-ca.crl.pem", "tls-ca.pem"),
        ] {
            let text = openssl(
                &["crl", "-noout", "-in", crl_file, "-CAfile", ca_file],
                &cwd,
            );
            assert!(text.contains("verify OK"), "{text}");
        }
    }
}
