//! `zhengzhao ofd`: verify and inspect OFD documents sealed with electronic seals.

use super::{Failure, read_file, read_input};
use crate::gm::Sm2PublicKey;
use crate::licence::annotated;
use crate::licence::verify::rfc3339;
use crate::ofd::report::{OfdOutcome, OfdReport};
use crate::ofd::ses::{self, SignedValue};
use crate::ofd::verify::OfdVerifier;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `zhengzhao ofd ...`
#[derive(Debug, Subcommand)]
pub enum OfdCommand {
    /// Verify an OFD document's seals and signatures: exit 0 when valid, 1 for any other
    /// outcome (a file that is not an OFD document is `malformed`), 2 on usage or I/O errors.
    Verify {
        /// A trust anchor (SM2 root, PEM), and the regions whose licences it may vouch for:
        /// `root.pem=370900[,370115...]`; without `=REGION` it vouches only for documents that
        /// name no region. Repeatable.
        #[arg(long = "trust", value_name = "PEM[=REGION,...]")]
        trust: Vec<String>,
        /// A CRL to honour (PEM); repeatable.
        #[arg(long = "crl", value_name = "PEM")]
        crls: Vec<PathBuf>,
        /// An SM2 public key (PEM) trusted for bare SM2 signatures, which carry no
        /// certificate; repeatable.
        #[arg(long = "key", value_name = "PEM")]
        keys: Vec<PathBuf>,
        #[command(flatten)]
        report: super::ReportArgs,
        /// The OFD file; `-` for standard input.
        #[arg(value_name = "FILE|-")]
        file: PathBuf,
    },
    /// Show an OFD document's pages, signatures, seals, certificates and metadata, WITHOUT
    /// verifying or trusting anything.
    Show {
        /// The OFD file; `-` for standard input.
        #[arg(value_name = "FILE|-")]
        file: PathBuf,
    },
}

/// Runs an `ofd` subcommand.
pub(crate) fn run(cmd: OfdCommand) -> Result<ExitCode, Failure> {
    match cmd {
        OfdCommand::Verify {
            trust,
            crls,
            keys,
            report,
            file,
        } => verify(&trust, &crls, &keys, &report, &file),
        OfdCommand::Show { file } => show(&file),
    }
}

fn verify(
    trust: &[String],
    crls: &[PathBuf],
    keys: &[PathBuf],
    args: &super::ReportArgs,
    file: &Path,
) -> Result<ExitCode, Failure> {
    let store = super::trust_store(trust, crls, false)?;
    let mut verifier = OfdVerifier::new(store);
    for path in keys {
        let pem = read_file(path)?;
        let key = Sm2PublicKey::from_pem(&String::from_utf8_lossy(&pem))
            .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
        verifier = verifier.with_key(key);
    }
    let at = args.instant()?;
    let bytes = read_input(file)?;
    let (report, annotation) = annotated::verify_file(&verifier, &bytes, at);
    let usage_copy = match annotation {
        None => None,
        Some(Ok(a)) => Some(CopyVerdict {
            refused: annotated::check(&report, &a, at).err(),
            annotation: Some(a),
        }),
        Some(Err(e)) => Some(CopyVerdict {
            annotation: None,
            refused: Some(annotated::refuse(
                "malformed",
                format!("the usage annotation: {e}"),
            )),
        }),
    };
    let valid = report.outcome == OfdOutcome::Valid
        && usage_copy.as_ref().is_none_or(|c| c.refused.is_none());
    let verified = Verified {
        report: &report,
        usage_copy,
    };
    args.finish(&verified, print_verified, valid)
}

/// What `ofd verify` reports: the document's report and, for a usage copy (加注件), its
/// annotation and whether it holds at the time checked.
#[derive(serde::Serialize)]
struct Verified<'a> {
    #[serde(flatten)]
    report: &'a OfdReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage_copy: Option<CopyVerdict>,
}

/// A usage copy's annotation (when it can be read) and its refusal (when it does not hold).
#[derive(serde::Serialize)]
struct CopyVerdict {
    annotation: Option<annotated::UsageAnnotation>,
    refused: Option<annotated::CopyRefusal>,
}

/// [`print_report`], then the usage copy's annotation and verdict.
fn print_verified(v: &Verified<'_>) {
    let refused = v.usage_copy.as_ref().and_then(|c| c.refused.as_ref());
    match refused {
        // A usage copy that does not hold is not valid, whatever its seals say.
        Some(r) if v.report.outcome == OfdOutcome::Valid => {
            println!("outcome: {}", r.outcome);
            println!("seals:   valid (the usage copy does not hold: below)");
        }
        _ => println!("outcome: {}", v.report.outcome.as_str()),
    }
    print_report_body(v.report);
    let Some(c) = &v.usage_copy else {
        return;
    };
    println!();
    match &c.refused {
        None => println!("usage copy (加注件): holds"),
        Some(r) => println!("usage copy (加注件): refused: {} ({})", r.outcome, r.detail),
    }
    if let Some(a) = &c.annotation {
        println!(
            "  for:     {} ({}), matter {} {}",
            a.department, a.department_region, a.matter, a.matter_name
        );
        if let Some(case) = &a.case {
            println!("  case:    {case}");
        }
        println!("  purpose: {}", a.purpose);
        println!(
            "  made:    {} by {} ({}), valid until {}",
            super::shown_time(&a.made_at),
            a.made_by_node,
            a.made_by_region,
            super::shown_time(&a.valid_until)
        );
    }
    println!("  status:  not checked (live status comes from the issuing node)");
}

/// The report as a clerk reads it, after its outcome line: each signature with each check on
/// its own line, the files no signature covers, the metadata.
fn print_report_body(r: &OfdReport) {
    if let Some(e) = &r.error {
        println!("why:     {e}");
    }
    if let Some(id) = &r.licence_id {
        println!("licence: {id}");
    }
    println!("checked: {}", super::shown_time(&r.verified_at));
    if r.signatures.is_empty() && r.error.is_none() {
        println!("no seal and no signature: nothing vouches for this document");
    }
    for s in &r.signatures {
        println!();
        println!(
            "signature {} ({}, {}): {}",
            s.id,
            s.kind,
            s.format.unwrap_or("unreadable"),
            s.outcome.as_str()
        );
        if let Some(seal) = &s.seal {
            println!(
                "  seal:   {} ({}), valid {} to {}",
                seal.name,
                seal.es_id,
                super::shown_time(&seal.valid_from),
                super::shown_time(&seal.valid_until)
            );
        }
        if let Some(signer) = &s.signer {
            println!("  signer: {} (serial {})", signer.subject, signer.serial);
        }
        if let Some(at) = &s.signed_at {
            println!("  signed: {}", super::shown_time(at));
        }
        for c in &s.checks {
            super::print_check(c.ok, c.check, &c.detail, 17);
        }
    }
    if !r.uncovered.is_empty() {
        println!();
        println!("not covered by any verifying signature:");
        for f in &r.uncovered {
            println!("  {f}");
        }
    }
    if !r.metadata.is_empty() {
        println!();
        println!("metadata (CustomDatas):");
        for m in &r.metadata {
            println!("  {}: {}", m.name, m.value);
        }
    }
}

/// `ofd show`: what the document holds, trusting nothing.
fn show(file: &Path) -> Result<ExitCode, Failure> {
    let bytes = read_input(file)?;
    let ofd = crate::ofd::document::read(&bytes).map_err(|e| Failure::No(e.to_string()))?;
    println!("NOT VERIFIED: what the file says, nothing checked or trusted.");
    for doc in &ofd.documents {
        println!();
        println!("document /{}", doc.doc_root);
        if let Some(t) = &doc.title {
            println!("  title:   {t}");
        }
        if let Some(id) = &doc.doc_id {
            println!("  id:      {id}");
        }
        println!("  pages:   {}", doc.pages.len());
        for p in &doc.pages {
            println!("    {} /{}", p.id, p.path);
        }
        if !doc.custom_datas.is_empty() {
            println!("  metadata:");
            for (name, value) in &doc.custom_datas {
                println!("    {name}: {value}");
            }
        }
        for m in &doc.missing {
            println!("  named but absent: /{m}");
        }
        for s in &doc.signatures {
            println!(
                "  signature {} ({:?}) /{}",
                s.id, s.kind, s.signature_xml_path
            );
            let value = ofd
                .package
                .get(&s.signed_value_path)
                .map(ses::parse_signed_value);
            match value {
                None => println!("    value: /{} is absent", s.signed_value_path),
                Some(Err(e)) => println!("    value: unreadable: {e}"),
                Some(Ok(SignedValue::Ses(v))) => {
                    println!(
                        "    format: {:?}, signed {}",
                        v.format,
                        rfc3339(v.time_info.unix)
                    );
                    println!(
                        "    seal:   {} ({}), picture {} {}x{} mm, valid {} to {}",
                        v.seal.name,
                        v.seal.es_id,
                        v.seal.picture.kind,
                        v.seal.picture.width,
                        v.seal.picture.height,
                        rfc3339(v.seal.valid_start.unix),
                        rfc3339(v.seal.valid_end.unix)
                    );
                    print_cert("signer", &v.signer_cert_der);
                    print_cert("maker", &v.seal.maker_cert_der);
                }
                Some(Ok(SignedValue::SignedData(d))) => {
                    println!("    format: GB/T 35275 SignedData");
                    if let Some(c) = &d.signer_cert_der {
                        print_cert("signer", c);
                    }
                }
                Some(Ok(SignedValue::BareSm2(_))) => {
                    println!("    format: a bare SM2 signature (no certificate)");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_cert(role: &str, der: &[u8]) {
    match crate::pki::cert::parse_der(der) {
        Ok(c) => println!(
            "    {role}: {} (serial {}), valid {} to {}",
            c.subject(),
            c.raw_serial_as_string().replace(':', "").to_uppercase(),
            rfc3339(c.validity().not_before.timestamp()),
            rfc3339(c.validity().not_after.timestamp())
        ),
        Err(e) => println!("    {role}: certificate unreadable: {e}"),
    }
}
