//! Checks of single configuration values: names, region codes, files, CRLs, durations, times
//! and lists of licence types. Each names the key it checks in its error.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use super::{ConfigError, Types, err};
use crate::codes::{LicenceTypeCode, RegionCode};

/// A department id or matter code: 1 to 64 characters of `A-Z a-z 0-9 - _ .`.
pub(super) fn check_name(key: &str, s: &str) -> Result<(), ConfigError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(err(
            key,
            format!("{s:?} must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'"),
        ))
    }
}

pub(super) fn region(key: &str, s: &str) -> Result<RegionCode, ConfigError> {
    RegionCode::from_str(s).map_err(|e| err(key, format!("{s:?} is not a region code: {e}")))
}

/// A path that must name an existing file; relative to `base`.
pub(super) fn file(base: &Path, key: &str, p: &Path) -> Result<PathBuf, ConfigError> {
    let p = base.join(p);
    match std::fs::metadata(&p) {
        Ok(m) if m.is_file() => Ok(p),
        Ok(_) => Err(err(key, format!("{} is not a file", p.display()))),
        Err(e) => Err(err(key, format!("{}: {e}", p.display()))),
    }
}

/// How close a CRL's `nextUpdate` may come before the node warns at start: a week.
const CRL_WARNING_SECS: i64 = 7 * 86_400;

/// A CRL file, if one is given: one or more PEM `X509 CRL` blocks, each parseable, none past its `nextUpdate`,
/// and each issued by the CA certificate it is given with (`ca`, the file of key `ca_key`). A
/// stale CRL cannot say what was revoked since, so the node refuses to start on one (and its
/// TLS refuses a handshake checked against one that goes stale while it runs). A CRL from
/// another issuer would be consulted for no certificate that CA issued: it would check nothing
/// while the configuration read as if it did, so it is refused too.
pub(super) fn crl_file(
    base: &Path,
    key: &str,
    p: Option<&Path>,
    ca: &Path,
    ca_key: &str,
) -> Result<Option<PathBuf>, ConfigError> {
    match p {
        Some(p) => one_crl_file(base, key, p, ca, ca_key).map(Some),
        None => Ok(None),
    }
}

/// The CRL file at `p` (key `key`), checked as [`crl_file`] says.
fn one_crl_file(
    base: &Path,
    key: &str,
    p: &Path,
    ca: &Path,
    ca_key: &str,
) -> Result<PathBuf, ConfigError> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
    let p = file(base, key, p)?;
    // The CA's subjects. A CA file that cannot be read or holds no certificate is reported by
    // its own loader, under its own key; the CRL is then not compared with it here.
    let subjects: Vec<(Vec<u8>, String)> = std::fs::read(ca)
        .map(|pem| {
            CertificateDer::pem_slice_iter(&pem)
                .filter_map(Result::ok)
                .filter_map(|der| {
                    let (_, cert) = x509_parser::parse_x509_certificate(&der).ok()?;
                    Some((cert.subject().as_raw().to_vec(), cert.subject().to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let bytes = std::fs::read(&p).map_err(|e| err(key, format!("{}: {e}", p.display())))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let mut n = 0;
    for der in CertificateRevocationListDer::pem_slice_iter(&bytes) {
        let der = der.map_err(|e| err(key, format!("{}: {e}", p.display())))?;
        let (_, crl) = x509_parser::parse_x509_crl(&der)
            .map_err(|e| err(key, format!("{}: not a CRL: {e}", p.display())))?;
        if !subjects.is_empty()
            && !subjects
                .iter()
                .any(|(raw, _)| raw.as_slice() == crl.issuer().as_raw())
        {
            let names: Vec<&str> = subjects.iter().map(|(_, n)| n.as_str()).collect();
            return Err(err(
                key,
                format!(
                    "{}: issued by {}, which is not the CA of `{ca_key}` ({}): it would check \
                     nothing",
                    p.display(),
                    crl.issuer(),
                    names.join("; ")
                ),
            ));
        }
        if let Some(next) = crl.next_update()
            && next.timestamp() <= now
        {
            return Err(err(
                key,
                format!(
                    "{}: the CRL's nextUpdate ({next}) has passed: it cannot say what was revoked \
                     since; install a fresh one",
                    p.display()
                ),
            ));
        }
        if let Some(next) = crl.next_update()
            && next.timestamp() - now < CRL_WARNING_SECS
        {
            tracing::warn!(key, %next, "a CRL's nextUpdate is less than a week away: once it passes, the node refuses the certificates it covers");
        }
        n += 1;
    }
    if n == 0 {
        return Err(err(key, format!("{}: no X509 CRL block", p.display())));
    }
    Ok(p)
}

/// A number from the configuration: `default` when the key is not given, the value when it
/// lies in `range`, otherwise an error saying "must be " and `range_words`.
pub(super) fn bounded<T: PartialOrd>(
    key: &str,
    v: Option<T>,
    default: T,
    range: std::ops::RangeInclusive<T>,
    range_words: impl std::fmt::Display,
) -> Result<T, ConfigError> {
    match v {
        None => Ok(default),
        Some(n) if range.contains(&n) => Ok(n),
        Some(_) => Err(err(key, format!("must be {range_words}"))),
    }
}

/// A time in milliseconds from the configuration, from 1 ms to an hour; `default` when the
/// key is not given.
pub(super) fn millis(
    key: &str,
    v: Option<u64>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match v {
        None => Ok(default),
        Some(0) => Err(err(key, "must be at least 1")),
        Some(ms) if ms > 3_600_000 => Err(err(key, "must be at most 3600000 (an hour)")),
        Some(ms) => Ok(Duration::from_millis(ms)),
    }
}

/// An RFC 3339 time, as Unix seconds.
pub(super) fn rfc3339_secs(key: &str, s: &str) -> Result<i64, ConfigError> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| err(key, format!("{s:?} is not an RFC 3339 time: {e}")))
}

/// A list of licence type codes, or `["*"]` for all.
pub(super) fn types(key: &str, list: &[String]) -> Result<Types, ConfigError> {
    if list.iter().any(|t| t == "*") {
        if list.len() > 1 {
            return Err(err(key, "\"*\" (every type) stands alone"));
        }
        return Ok(Types::All);
    }
    let mut set = BTreeSet::new();
    for (j, t) in list.iter().enumerate() {
        LicenceTypeCode::from_str(t).map_err(|e| {
            err(
                format!("{key}[{j}]"),
                format!("{t:?} is not a licence type code: {e}"),
            )
        })?;
        set.insert(t.clone());
    }
    Ok(Types::Only(set))
}

pub(super) fn optional_file(
    base: &Path,
    key: &str,
    p: &Option<PathBuf>,
) -> Result<Option<PathBuf>, ConfigError> {
    match p {
        Some(p) => Ok(Some(file(base, key, p)?)),
        None => Ok(None),
    }
}
