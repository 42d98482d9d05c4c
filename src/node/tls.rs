//! Mutual TLS on rustls with the ring provider: TLS 1.3 only, a client certificate always.
//!
//! TLS 1.2 is not offered: every caller is a department system or a partner node under our
//! own PKI, all of which speak TLS 1.3, and 1.3 alone removes the renegotiation, RSA key
//! exchange and CBC questions for good.

use std::path::Path;
use std::sync::Arc;

use ring::digest;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName};

use crate::codes::RegionCode;

/// The caller of a request, as its certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Subject CN: a department id or a node id.
    pub id: String,
    /// The region of the CA that issued the certificate.
    pub region: RegionCode,
    /// SHA-256 of the certificate (DER), lower-case hex.
    pub cert_sha256: String,
}

/// A CA that may issue client certificates: its subject, its public key and its region.
#[derive(Debug, Clone)]
pub struct KnownCa {
    subject: Vec<u8>,
    /// The CA's SubjectPublicKeyInfo (DER).
    spki: Vec<u8>,
    region: RegionCode,
}

impl KnownCa {
    /// The CA certificate `der`, placed in `region`.
    pub fn of(der: &[u8], region: RegionCode) -> Result<KnownCa, String> {
        let parsed = x509_parser::parse_x509_certificate(der)
            .map_err(|e| e.to_string())?
            .1;
        Ok(KnownCa {
            subject: parsed.subject().as_raw().to_vec(),
            spki: parsed.public_key().raw.to_vec(),
            region,
        })
    }

    /// Whether this CA signed `cert`: its name is the certificate's issuer and its key
    /// verifies the certificate's signature.
    fn signed(&self, cert: &x509_parser::certificate::X509Certificate<'_>) -> bool {
        use x509_parser::prelude::FromDer as _;
        self.subject == cert.issuer().as_raw()
            && x509_parser::x509::SubjectPublicKeyInfo::from_der(&self.spki)
                .is_ok_and(|(_, key)| cert.verify_signature(Some(&key)).is_ok())
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every certificate in a PEM file.
pub fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no CERTIFICATE block", path.display()));
    }
    Ok(certs)
}

/// The private key in a PEM file.
pub fn key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| format!("{}: no private key: {e}", path.display()))
}

/// Every CRL in a PEM file (one or more `X509 CRL` blocks).
fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, String> {
    let pem = read(path)?;
    let all = CertificateRevocationListDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if all.is_empty() {
        return Err(format!("{}: no X509 CRL block", path.display()));
    }
    Ok(all)
}

/// The server side: our certificate, and client CAs (with CRLs) with their regions.
pub fn server_config(
    cert: &Path,
    key_path: &Path,
    client_cas: &[(std::path::PathBuf, Option<std::path::PathBuf>, RegionCode)],
) -> Result<(Arc<ServerConfig>, Vec<KnownCa>), String> {
    let mut roots = RootCertStore::empty();
    let mut crls = Vec::new();
    let mut known = Vec::new();
    for (ca, ca_crl, region) in client_cas {
        for der in certs(ca)? {
            known.push(KnownCa::of(&der, *region).map_err(|e| format!("{}: {e}", ca.display()))?);
            roots
                .add(der)
                .map_err(|e| format!("{}: {e}", ca.display()))?;
        }
        if let Some(c) = ca_crl {
            crls.extend(read_crls(c)?);
        }
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .with_crls(crls)
        // A CRL past its nextUpdate fails the handshake: fail closed (docs/node-config.md).
        .enforce_revocation_expiration()
        .build()
        .map_err(|e| format!("client certificate verifier: {e}"))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(cert)?, key(key_path)?)
        .map_err(|e| format!("server certificate and key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), known))
}

/// The client side: trust `ca` for the server, present `cert` and `key`.
pub fn client_config(ca: &Path, cert: &Path, key_path: &Path) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    for der in certs(ca)? {
        roots
            .add(der)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(certs(cert)?, key(key_path)?)
        .map_err(|e| format!("client certificate and key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The server name to check a node's certificate against: the host of its URL.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|e| format!("{host:?}: {e}"))
}

/// Who a verified client certificate names: its CN and the region of the CA that signed it.
/// `None` if it has no plain CN or no client CA signed it directly (rustls has already checked
/// the path; a certificate under an intermediate is not a caller we can place).
pub fn caller(cert: &CertificateDer<'_>, cas: &[KnownCa]) -> Option<Caller> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).ok()?;
    let cn = parsed
        .subject()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())?
        .to_owned();
    // Department and node ids are plain names; anything else is not a caller we serve.
    let plain = !cn.is_empty()
        && cn.len() <= 64
        && cn
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !plain {
        return None;
    }
    // The CA that signed it, by name and key. rustls has checked a path to one of the client
    // CAs, but not which: a partner's CA could have issued an intermediate named like ours, and
    // the issuer name alone would then place its certificates in our region.
    let ca = cas.iter().find(|c| c.signed(&parsed))?;
    Some(Caller {
        id: cn,
        region: ca.region,
        cert_sha256: hex::encode(digest::digest(&digest::SHA256, cert)),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use std::str::FromStr;

    fn ca_params(cn: &str) -> CertificateParams {
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p
    }

    fn leaf(cn: &str, issuer: &Issuer<'_, KeyPair>) -> CertificateDer<'static> {
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        let key = KeyPair::generate().unwrap();
        p.signed_by(&key, issuer).unwrap().der().clone()
    }

    fn region(code: &str) -> RegionCode {
        RegionCode::from_str(code).unwrap()
    }

    /// A client certificate is placed by the CA whose key signed it, not by the issuer name it
    /// carries: a partner's CA that issues an intermediate named like our client CA gets no
    /// caller in our region from it.
    #[test]
    fn a_caller_is_placed_by_the_key_that_signed_it_not_by_the_name() {
        let (ours_key, partner_key) = (KeyPair::generate().unwrap(), KeyPair::generate().unwrap());
        let ours = ca_params("Client CA").self_signed(&ours_key).unwrap();
        let partner = ca_params("Partner CA").self_signed(&partner_key).unwrap();
        let cas = [
            KnownCa::of(ours.der(), region("370900")).unwrap(),
            KnownCa::of(partner.der(), region("140802")).unwrap(),
        ];
        let ours = Issuer::new(ca_params("Client CA"), ours_key);
        let partner = Issuer::new(ca_params("Partner CA"), partner_key);

        let window = caller(&leaf("370900-window", &ours), &cas).unwrap();
        assert_eq!(
            (window.id.as_str(), window.region),
            ("370900-window", region("370900"))
        );
        let node = caller(&leaf("zhengzhao-140802", &partner), &cas).unwrap();
        assert_eq!(node.region, region("140802"));

        // The partner's intermediate, named exactly like our client CA.
        let named_like_ours = KeyPair::generate().unwrap();
        ca_params("Client CA")
            .signed_by(&named_like_ours, &partner)
            .unwrap();
        let impostor = Issuer::new(ca_params("Client CA"), named_like_ours);
        assert_eq!(caller(&leaf("370900-bureau", &impostor), &cas), None);
    }
}
