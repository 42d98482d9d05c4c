//! OFD usage copies (OFD 加注件): a licence's OFD 原件 handed to one department for one matter,
//! case and purpose, for a short time (docs/ofd-issuance.md).
//!
//! The 原件 is kept byte for byte. The annotation (加注) is one new package file,
//! [`ANNOTATION_FILE`]: a GB/T 33190 `PageAnnot` whose `Parameters` say, by name, who made the
//! copy, for whom, for which matter and case, why, when and until when, and whose `Appearance`
//! shows the same as text at the page's foot. The node then seals the package a second time with
//! its own seal: that signature covers every file, the annotation and the first seal's files
//! included, and the first seal, which references neither `Signatures.xml` nor anything added
//! after it, stays valid. A reader checks both seals and the annotation ([`read_annotation`]).
//!
//! The annotation is not named by `Document.xml` (naming it would change a file the issuer's seal
//! covers); an OFD viewer shows both seals, and this node and any reader of this format find the
//! annotation at its fixed path.

use crate::licence::original::{OfdSigner, OriginalError};
use crate::licence::verify::{MAX_CLOCK_SKEW, beijing_time, rfc3339};
use crate::ofd::report::{OfdOutcome, OfdReport};
use crate::ofd::write::{Boundary, OfdFiles, Text, XML_DECL, escape, text_object};
use crate::ofd::xml::{attr, child, children, parse, root, text};
use std::str::FromStr as _;

/// Where the annotation is written in the package.
pub const ANNOTATION_FILE: &str = "Doc_0/Annots/UsageCopy.xml";

/// The `Subtype` of the annotation.
pub const SUBTYPE: &str = "加注件";

/// What a usage copy says: the members of the annotation's `Parameters`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct UsageAnnotation {
    /// The licence (`证照标识`).
    pub licence: String,
    /// The node that made the copy (`加注节点`).
    pub made_by_node: String,
    /// Its region (`加注节点行政区划`).
    pub made_by_region: String,
    /// The department it was made for (`用证部门`).
    pub department: String,
    /// That department's region (`用证部门行政区划`).
    pub department_region: String,
    /// The matter's code (`事项编码`).
    pub matter: String,
    /// The matter's name (`事项名称`).
    pub matter_name: String,
    /// The case number (`业务流水号`), when the lookup gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// The stated purpose (`用证目的`).
    pub purpose: String,
    /// When it was made, RFC 3339 UTC (`加注时间`).
    pub made_at: String,
    /// When it stops being valid (exclusive), RFC 3339 UTC (`有效期至`).
    pub valid_until: String,
}

/// The parameter names, in the order written.
const NAMES: [&str; 11] = [
    "证照标识",
    "加注节点",
    "加注节点行政区划",
    "用证部门",
    "用证部门行政区划",
    "事项编码",
    "事项名称",
    "业务流水号",
    "用证目的",
    "加注时间",
    "有效期至",
];

impl UsageAnnotation {
    fn values(&self) -> [Option<&str>; 11] {
        [
            Some(&self.licence),
            Some(&self.made_by_node),
            Some(&self.made_by_region),
            Some(&self.department),
            Some(&self.department_region),
            Some(&self.matter),
            Some(&self.matter_name),
            self.case.as_deref(),
            Some(&self.purpose),
            Some(&self.made_at),
            Some(&self.valid_until),
        ]
    }
}

/// The lines the annotation shows at the page's foot.
fn shown(a: &UsageAnnotation, made_at: i64, valid_until: i64) -> [String; 3] {
    let case = a
        .case
        .as_deref()
        .map(|c| format!("业务流水号：{c}　"))
        .unwrap_or_default();
    [
        format!(
            "加注件：仅供{}（{}）办理{}（{}）使用",
            a.department, a.department_region, a.matter_name, a.matter
        ),
        format!("{case}用证目的：{}", a.purpose),
        format!(
            "加注时间：{}　有效期至：{}",
            beijing_time(made_at),
            beijing_time(valid_until)
        ),
    ]
}

/// The annotation file's bytes.
fn annotation_xml(
    a: &UsageAnnotation,
    made_at: i64,
    valid_until: i64,
) -> Result<Vec<u8>, OriginalError> {
    let mut params = String::new();
    for (name, value) in NAMES.iter().zip(a.values()) {
        if let Some(v) = value {
            params.push_str(&format!(
                r#"<ofd:Parameter Name="{name}">{}</ofd:Parameter>"#,
                escape(v, "an annotation parameter")?
            ));
        }
    }
    let lines = shown(a, made_at, valid_until);
    let mut objects = String::new();
    for (i, line) in lines.iter().enumerate() {
        objects.push_str(&text_object(
            2 + i as u64,
            &Text {
                x: 0.0,
                y: 5.0 * i as f64,
                size: 3.2,
                text: line.clone(),
            },
        )?);
    }
    let date = &a.made_at[..a.made_at.len().min(10)];
    Ok(format!(
        r#"{XML_DECL}<ofd:PageAnnot xmlns:ofd="{ns}"><ofd:Annot ID="1" Type="Watermark" Subtype="{SUBTYPE}" Creator="{creator}" LastModDate="{date}" ReadOnly="true" Print="true"><ofd:Remark>{remark}</ofd:Remark><ofd:Parameters>{params}</ofd:Parameters><ofd:Appearance Boundary="20 262 170 16">{objects}</ofd:Appearance></ofd:Annot></ofd:PageAnnot>"#,
        ns = crate::ofd::write::OFD_NAMESPACE,
        creator = escape(&a.made_by_node, "the node id")?,
        date = escape(date, "the date")?,
        remark = escape(&lines[0], "the remark")?,
    )
    .into_bytes())
}

/// The usage copy of the 原件 `original` (the `.ofd` bytes as issued) that `a` describes, sealed
/// by `signer` at `made_at` (Unix seconds; `a.made_at` is its RFC 3339 form) and valid until
/// `valid_until`. Refuses a package that already holds an annotation (a copy of a copy), and
/// what sealing refuses.
pub fn annotate(
    original: &[u8],
    a: &UsageAnnotation,
    signer: &OfdSigner,
    made_at: i64,
    valid_until: i64,
) -> Result<Vec<u8>, OriginalError> {
    let mut files = OfdFiles::from_zip(original)?;
    if files.get(ANNOTATION_FILE).is_some() {
        return Err(OriginalError::Write(
            crate::ofd::write::OfdWriteError::BadPath {
                path: ANNOTATION_FILE.to_owned(),
                reason: "the document is already a usage copy",
            },
        ));
    }
    files.insert(ANNOTATION_FILE, annotation_xml(a, made_at, valid_until)?)?;
    let picture = &signer.seal().picture;
    let side = |v: i64| if v > 0 && v <= 100 { v as f64 } else { 40.0 };
    let (w, h) = (side(picture.width), side(picture.height));
    // Lower right, over the annotation's text, as a window stamps a copy.
    let boundary = Boundary {
        x: 210.0 - 20.0 - w,
        y: (262.0 + 8.0 - h / 2.0).max(0.0),
        width: w,
        height: h,
    };
    Ok(signer.seal_files(&files, made_at, 0, boundary)?.to_zip()?)
}

/// The usage annotation of `files`, if the package holds [`ANNOTATION_FILE`]: `None` when it
/// does not (a 原件), `Some(Err(why))` when it does but cannot be read.
pub fn read_annotation(
    files: impl Fn(&str) -> Option<Vec<u8>>,
) -> Option<Result<UsageAnnotation, String>> {
    let bytes = files(ANNOTATION_FILE)?;
    Some(parse_annotation(&bytes))
}

fn parse_annotation(bytes: &[u8]) -> Result<UsageAnnotation, String> {
    let doc = parse(ANNOTATION_FILE, bytes).map_err(|e| e.to_string())?;
    let page = root(&doc, ANNOTATION_FILE, "PageAnnot").map_err(|e| e.to_string())?;
    let annots: Vec<_> = children(page, "Annot").collect();
    let [annot] = annots.as_slice() else {
        return Err(format!(
            "{} annotations; a usage copy has one",
            annots.len()
        ));
    };
    if attr(*annot, "Subtype").as_deref() != Some(SUBTYPE) {
        return Err(format!("the annotation's Subtype is not {SUBTYPE}"));
    }
    let params = child(*annot, "Parameters").ok_or("the annotation has no Parameters")?;
    let mut values: [Option<String>; 11] = Default::default();
    for p in children(params, "Parameter") {
        let name = attr(p, "Name").ok_or("a Parameter without a Name")?;
        let i = NAMES
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| format!("an unknown parameter {name:?}"))?;
        if values[i].is_some() {
            return Err(format!("the parameter {name} is given twice"));
        }
        values[i] = Some(text(p).unwrap_or_default());
    }
    let [
        licence,
        node,
        node_region,
        dept,
        dept_region,
        matter,
        matter_name,
        case,
        purpose,
        made_at,
        valid_until,
    ] = values;
    let need = |v: Option<String>, i: usize| v.ok_or_else(|| format!("no {} parameter", NAMES[i]));
    Ok(UsageAnnotation {
        licence: need(licence, 0)?,
        made_by_node: need(node, 1)?,
        made_by_region: need(node_region, 2)?,
        department: need(dept, 3)?,
        department_region: need(dept_region, 4)?,
        matter: need(matter, 5)?,
        matter_name: need(matter_name, 6)?,
        case,
        purpose: need(purpose, 8)?,
        made_at: need(made_at, 9)?,
        valid_until: need(valid_until, 10)?,
    })
}

/// Verifies the OFD `file` with `verifier` at `now` and reads its usage annotation (`None` for a
/// document that holds none, a 原件), from one reading of the package: the verification path
/// of the node and of the command line.
pub fn verify_file(
    verifier: &crate::ofd::verify::OfdVerifier,
    file: &[u8],
    now: i64,
) -> (OfdReport, Option<Result<UsageAnnotation, String>>) {
    match crate::ofd::document::read(file) {
        Ok(ofd) => (
            verifier.verify_read(&ofd, now),
            read_annotation(|p| ofd.package.get(p).map(<[u8]>::to_vec)),
        ),
        // Not a package the reader accepts: the verifier says why (`malformed`).
        Err(_) => (verifier.verify(file, now), None),
    }
}

/// The usage annotation of the OFD `file`, if it is a package (the reader's bounds) holding one,
/// read without verifying anything.
pub fn annotation_of(file: &[u8]) -> Option<Result<UsageAnnotation, String>> {
    let package = crate::ofd::Package::read(file).ok()?;
    read_annotation(|p| package.get(p).map(<[u8]>::to_vec))
}

/// Why a usage copy (JWS or OFD) does not hold: an outcome (`malformed`, `untrusted_issuer`,
/// `bad_signature`, `not_yet_valid`, `usage_copy_expired`, or an OFD report's own) and words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CopyRefusal {
    /// The outcome.
    pub outcome: &'static str,
    /// In words.
    pub detail: String,
}

/// A refusal with this outcome and detail.
pub fn refuse(outcome: &'static str, detail: impl Into<String>) -> CopyRefusal {
    CopyRefusal {
        outcome,
        detail: detail.into(),
    }
}

/// An RFC 3339 time of a usage copy, named `what` in the refusal (`malformed`).
pub fn parse_time(what: &str, s: &str) -> Result<i64, CopyRefusal> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| refuse("malformed", format!("{what}: {e}")))
}

/// Checks a usage copy's times at `now`: made (`made`: its name and RFC 3339 text) not more
/// than [`MAX_CLOCK_SKEW`] in the future (`not_yet_valid`), and `until` (exclusive) not reached
/// (`usage_copy_expired`).
pub fn in_time(
    (made_name, made): (&str, &str),
    (until_name, until): (&str, &str),
    now: i64,
) -> Result<(), CopyRefusal> {
    let made_at = parse_time(made_name, made)?;
    let valid_until = parse_time(until_name, until)?;
    if made_at > now + MAX_CLOCK_SKEW {
        return Err(refuse(
            "not_yet_valid",
            format!("made at {made}, in the future"),
        ));
    }
    if now >= valid_until {
        return Err(refuse(
            "usage_copy_expired",
            format!("valid until {until}; it is now {}", rfc3339(now)),
        ));
    }
    Ok(())
}

/// Checks an OFD usage copy whose verification `report` was made at `now` and whose annotation
/// is `a`: every seal valid and every file covered, the annotation naming the licence the
/// metadata names and made by that licence's region, made not in the future and still valid.
pub fn check(report: &OfdReport, a: &UsageAnnotation, now: i64) -> Result<(), CopyRefusal> {
    if report.outcome != OfdOutcome::Valid {
        let outcome = report.outcome.as_str();
        return Err(refuse(
            outcome,
            format!("the OFD usage copy's seals do not hold: {outcome}"),
        ));
    }
    let Some(id) = report.licence_id.as_deref() else {
        return Err(refuse("malformed", "the OFD names no licence (证照标识)"));
    };
    if a.licence != id {
        return Err(refuse(
            "malformed",
            "the annotation names another licence than the document",
        ));
    }
    let issuing_region = crate::codes::LicenceId::from_str(id)
        .map(|l| l.issuer().region_digits().to_owned())
        .map_err(|e| refuse("malformed", format!("证照标识: {e}")))?;
    if a.made_by_region != issuing_region {
        return Err(refuse(
            "untrusted_issuer",
            format!(
                "the copy says it was made in region {}, the licence is region {issuing_region}'s",
                a.made_by_region
            ),
        ));
    }
    in_time(("加注时间", &a.made_at), ("有效期至", &a.valid_until), now)
}

#[cfg(test)]
mod tests;
