//! `zhengzhao licence …`

use super::{Failure, now, read_file, read_input};
use crate::licence::Signer;
use crate::licence::json::parse_object;
use crate::licence::model::IssuanceRequest;
use crate::licence::original::OfdSigner;
use crate::licence::verify::{Outcome, Report, Verifier};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use clap::Subcommand;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(crate) enum LicenceCommand {
    /// Issue a licence from an issuance request (JSON): print the compact JWS, or with
    /// `--format ofd` write the OFD 原件 sealed with the authority's seal to `--out`.
    Issue {
        /// `jws` (ES256 or EdDSA, X.509 chain) or `ofd` (GB/T 36905, sealed per GB/T 38540).
        #[arg(long, value_enum, default_value_t = Format::Jws)]
        format: Format,
        /// The document signer's certificate (PEM); for `ofd`, the seal signer's SM2
        /// certificate, which the seal must list.
        #[arg(long, value_name = "PEM")]
        signer_cert: PathBuf,
        /// The document signer's PKCS#8 private key (PEM); for `ofd`, the SM2 key.
        #[arg(long, value_name = "PEM")]
        signer_key: PathBuf,
        /// Intermediate certificates to carry in x5c after the signer (PEM); `jws` only.
        #[arg(long, value_name = "PEM")]
        chain: Option<PathBuf>,
        /// The electronic seal (GB/T 38540 `.esl`); `ofd` only.
        #[arg(long, value_name = "ESL")]
        seal: Option<PathBuf>,
        /// Where to write the OFD (a new file; never overwritten); `ofd` only.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The issuance request; `-` for standard input.
        #[arg(long, value_name = "FILE|-", default_value = "-")]
        input: PathBuf,
    },
    /// Verify a licence: exit 0 when valid, 1 when not, 2 on usage or I/O errors.
    Verify {
        /// A trust anchor and the regions it may vouch for: `root.pem=370900[,370115...]`.
        #[arg(long = "trust", value_name = "PEM=REGION[,REGION...]", required = true)]
        trust: Vec<String>,
        /// A CRL to honour (PEM); repeatable.
        #[arg(long = "crl", value_name = "PEM")]
        crls: Vec<PathBuf>,
        #[command(flatten)]
        report: super::ReportArgs,
        /// The licence (compact JWS); `-` for standard input.
        #[arg(value_name = "FILE|-")]
        file: PathBuf,
    },
    /// Decode a licence WITHOUT verifying anything, and say so.
    Show {
        /// The licence (compact JWS); `-` for standard input.
        #[arg(value_name = "FILE|-")]
        file: PathBuf,
    },
}

/// The format a licence is issued in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A compact JWS.
    Jws,
    /// An OFD 原件 sealed with the authority's electronic seal.
    Ofd,
}

pub(crate) fn run(cmd: LicenceCommand) -> Result<ExitCode, Failure> {
    match cmd {
        LicenceCommand::Issue {
            format,
            signer_cert,
            signer_key,
            chain,
            seal,
            out,
            input,
        } => match (format, chain, seal, out) {
            (Format::Jws, chain, None, None) => {
                issue(&signer_cert, &signer_key, chain.as_deref(), &input)
            }
            (Format::Jws, ..) => Err(Failure::Usage(
                "--seal and --out are for --format ofd; a JWS is printed".into(),
            )),
            (Format::Ofd, Some(_), ..) => Err(Failure::Usage(
                "--chain is for --format jws: an OFD carries the signer's certificate only".into(),
            )),
            (Format::Ofd, None, Some(seal), Some(out)) => {
                issue_ofd(&signer_cert, &signer_key, &seal, &input, &out)
            }
            (Format::Ofd, None, ..) => Err(Failure::Usage(
                "--format ofd needs --seal (the .esl) and --out (the .ofd to write)".into(),
            )),
        },
        LicenceCommand::Verify {
            trust,
            crls,
            report,
            file,
        } => verify(&trust, &crls, &report, &file),
        LicenceCommand::Show { file } => show(&file),
    }
}

fn issue(cert: &Path, key: &Path, chain: Option<&Path>, input: &Path) -> Result<ExitCode, Failure> {
    let chain_pem = chain.map(read_file).transpose()?;
    let signer = Signer::from_pem(&read_file(cert)?, &read_file(key)?, chain_pem.as_deref())
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let req = read_request(input)?;
    let issued = signer
        .issue(&req, now())
        .map_err(|e| Failure::No(e.to_string()))?;
    println!("{}", issued.token);
    Ok(ExitCode::SUCCESS)
}

fn issue_ofd(
    cert: &Path,
    key: &Path,
    seal: &Path,
    input: &Path,
    out: &Path,
) -> Result<ExitCode, Failure> {
    let now = now();
    let signer = OfdSigner::from_pem(&read_file(cert)?, &read_file(key)?, &read_file(seal)?, now)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let req = read_request(input)?;
    let (id, claims) = signer
        .authority()
        .claims(&req, now, None)
        .map_err(|e| Failure::No(e.to_string()))?;
    let ofd = signer
        .original(&claims)
        .map_err(|e| Failure::No(e.to_string()))?;
    super::write_owner_only(out, &ofd, false)?;
    println!("{id}");
    eprintln!(
        "zhengzhao: wrote the OFD of {id} to {} ({} bytes)",
        out.display(),
        ofd.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The issuance request read from `input` (a file or `-`), strictly.
fn read_request(input: &Path) -> Result<IssuanceRequest, Failure> {
    let body = read_input(input)?;
    // Strict parse first: duplicate member names are refused, as in licences.
    let object = parse_object(&body).map_err(|e| Failure::No(format!("request: {e}")))?;
    let req: IssuanceRequest = serde_json::from_value(Value::Object(object)).map_err(|e| {
        Failure::No(format!(
            "request: {}",
            crate::codes::redact_id_numbers(&e.to_string())
        ))
    })?;
    Ok(req)
}

fn verify(
    trust: &[String],
    crls: &[PathBuf],
    args: &super::ReportArgs,
    file: &Path,
) -> Result<ExitCode, Failure> {
    let store = super::trust_store(trust, crls, true)?;
    let at = args.instant()?;
    let token = read_input(file)?;
    let token = String::from_utf8_lossy(&token);
    let report = Verifier::new(store).verify(&token, at);
    let valid = report.outcome == Outcome::Valid;
    args.finish(&report, print_report, valid)
}

fn print_report(r: &Report) {
    println!("outcome: {}", r.outcome.as_str());
    if let Some(l) = &r.licence {
        println!(
            "licence: {} ({}, {})",
            l.jti, l.lic.type_name, l.lic.issuer_name
        );
    }
    if let Some(s) = &r.signer {
        println!("signer:  {s}");
    }
    println!("checked: {}", super::shown_time(&r.verified_at));
    for c in &r.checks {
        super::print_check(c.ok, c.check, &c.detail, 18);
    }
    println!("status:  not checked (live status comes from the issuing node)");
}

fn show(file: &Path) -> Result<ExitCode, Failure> {
    let token = read_input(file)?;
    let token = String::from_utf8_lossy(&token);
    let token = token.trim_end();
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err(Failure::No(format!(
            "not a compact JWS: {} segments, expected 3",
            parts.len()
        )));
    };
    let segment = |seg: &str, what: &str| -> Result<Value, Failure> {
        let bytes = URL_SAFE_NO_PAD
            .decode(seg)
            .map_err(|e| Failure::No(format!("{what}: not base64url: {e}")))?;
        serde_json::from_slice(&bytes).map_err(|e| Failure::No(format!("{what}: not JSON: {e}")))
    };
    let header = segment(h, "header")?;
    let payload = segment(p, "payload")?;
    let certs: Vec<Value> = header
        .get("x5c")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(describe_cert).collect())
        .unwrap_or_default();
    let out = json!({
        "verified": false,
        "warning": "NOT VERIFIED: decoded without checking the signature, the certificates or the dates; use `zhengzhao licence verify`",
        "header": header,
        "payload": payload,
        "certificates": certs,
        "signature_bytes": URL_SAFE_NO_PAD.decode(s).map(|b| b.len()).ok(),
    });
    super::print_json(&out)?;
    eprintln!("zhengzhao: NOT VERIFIED: this only decodes the licence");
    Ok(ExitCode::SUCCESS)
}

fn describe_cert(entry: &Value) -> Value {
    let Some(text) = entry.as_str() else {
        return json!({"error": "not a string"});
    };
    let Ok(der) = STANDARD.decode(text) else {
        return json!({"error": "not standard base64"});
    };
    match crate::pki::cert::parse_der(&der) {
        Ok(c) => json!({
            "subject": c.subject().to_string(),
            "issuer": c.issuer().to_string(),
            "not_before": c.validity().not_before.to_string(),
            "not_after": c.validity().not_after.to_string(),
        }),
        Err(e) => json!({"error": e.to_string()}),
    }
}
