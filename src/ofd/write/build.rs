//! Step 1: [`OfdBuilder`] lays out a minimal one-document package of text pages.

use super::{
    A4, FONT_NAME, LINE_HEIGHT, LINE_LEFT, LINE_SIZE, LINE_TOP, OFD_NAMESPACE, OfdFiles,
    OfdWriteError, PROVIDER,
};
use crate::ofd::document::ENTRY_FILE;

/// One text on a page: its top-left corner and size in millimetres, and the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    /// Distance from the page's left edge to the text's box.
    pub x: f64,
    /// Distance from the page's top edge to the text's box.
    pub y: f64,
    /// Font size (the em height).
    pub size: f64,
    /// The text, one line, without control characters.
    pub text: String,
}

/// One page: texts drawn in the document's one font.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The texts, in drawing order.
    pub texts: Vec<Text>,
}

impl Page {
    /// An empty page.
    pub fn new() -> Page {
        Page::default()
    }

    /// A page of lines from the top left: [`LINE_LEFT`], [`LINE_TOP`], one line every
    /// [`LINE_HEIGHT`], in [`LINE_SIZE`]. An empty line leaves a gap.
    pub fn lines<I, S>(lines: I) -> Page
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut page = Page::new();
        for (i, line) in lines.into_iter().enumerate() {
            let text = line.into();
            if !text.is_empty() {
                page.texts.push(Text {
                    x: LINE_LEFT,
                    y: LINE_TOP + LINE_HEIGHT * i as f64,
                    size: LINE_SIZE,
                    text,
                });
            }
        }
        page
    }

    /// This page with one more text at (`x`, `y`) in `size` (millimetres).
    pub fn text(mut self, x: f64, y: f64, size: f64, text: impl Into<String>) -> Page {
        self.texts.push(Text {
            x,
            y,
            size,
            text: text.into(),
        });
        self
    }
}

/// A minimal OFD document to write: metadata and pages of text.
///
/// ```
/// use zhengzhao::codes::LicenceId;
/// use zhengzhao::ofd::write::{OfdBuilder, Page};
/// let id = LicenceId::new(
///     "11100000000013338W032".parse().unwrap(),
///     "11370900004090218Y".parse().unwrap(),
///     "0000001",
///     1,
/// )
/// .unwrap();
/// let date = time::macros::date!(2026 - 11 - 01);
/// let files = OfdBuilder::new("0123456789abcdef0123456789abcdef", "营业执照", date)
///     .custom_data("证照标识", id.as_str())
///     .page(Page::lines(["营业执照", "名称：示例建设有限公司"]))
///     .build()
///     .unwrap();
/// let zip = files.to_zip().unwrap();
/// assert_eq!(zhengzhao::ofd::read(&zip).unwrap().documents[0].pages.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OfdBuilder {
    doc_id: String,
    title: String,
    creation_date: time::Date,
    author: Option<String>,
    custom_datas: Vec<(String, String)>,
    page_area: (f64, f64),
    pages: Vec<Page>,
}

impl OfdBuilder {
    /// A document with `DocID` `doc_id` (conventionally 32 hex digits, a UUID without
    /// dashes), `Title` `title` and `CreationDate` `creation_date`, A4 pages, no page yet.
    pub fn new(
        doc_id: impl Into<String>,
        title: impl Into<String>,
        creation_date: time::Date,
    ) -> OfdBuilder {
        OfdBuilder {
            doc_id: doc_id.into(),
            title: title.into(),
            creation_date,
            author: None,
            custom_datas: Vec::new(),
            page_area: A4,
            pages: Vec::new(),
        }
    }

    /// Sets `DocInfo/Author`.
    pub fn author(mut self, author: impl Into<String>) -> OfdBuilder {
        self.author = Some(author.into());
        self
    }

    /// Adds a `CustomData` (GB/T 36903 metadata: `证照标识` holds the GB/T 36904 licence
    /// identifier, [`super::LICENCE_ID_NAME`]). Written in the order added.
    pub fn custom_data(mut self, name: impl Into<String>, value: impl Into<String>) -> OfdBuilder {
        self.custom_datas.push((name.into(), value.into()));
        self
    }

    /// Sets every page's size in millimetres (default [`A4`]).
    pub fn page_size(mut self, width: f64, height: f64) -> OfdBuilder {
        self.page_area = (width, height);
        self
    }

    /// Adds a page after the others.
    pub fn page(mut self, page: Page) -> OfdBuilder {
        self.pages.push(page);
        self
    }

    /// Writes the package's files: `OFD.xml`, `Doc_0/Document.xml`, `Doc_0/PublicRes.xml`
    /// and `Doc_0/Pages/Page_N/Content.xml`, in that order.
    ///
    /// Refuses a document without pages ([`OfdWriteError::NoPages`]), a text with a control
    /// character ([`OfdWriteError::BadText`]), a number that is not finite or a size that is
    /// negative ([`OfdWriteError::BadNumber`]).
    pub fn build(&self) -> Result<OfdFiles, OfdWriteError> {
        if self.pages.is_empty() {
            return Err(OfdWriteError::NoPages);
        }
        let (width, height) = self.page_area;
        let area = format!(
            "0 0 {} {}",
            size(width, "the page width")?,
            size(height, "the page height")?
        );
        let mut ids = 1u64; // 1 is the font
        let mut page_refs = String::new();
        let mut contents = Vec::new();
        for (n, page) in self.pages.iter().enumerate() {
            ids += 1;
            let page_id = ids;
            ids += 1;
            let layer_id = ids;
            let mut objects = String::new();
            for text in &page.texts {
                ids += 1;
                objects.push_str(&text_object(ids, text)?);
            }
            page_refs.push_str(&format!(
                r#"<ofd:Page ID="{page_id}" BaseLoc="Pages/Page_{n}/Content.xml"/>"#
            ));
            contents.push((
                format!("Doc_0/Pages/Page_{n}/Content.xml"),
                format!(
                    r#"{XML_DECL}<ofd:Page xmlns:ofd="{OFD_NAMESPACE}"><ofd:Content><ofd:Layer ID="{layer_id}">{objects}</ofd:Layer></ofd:Content></ofd:Page>"#
                ),
            ));
        }

        let mut info = format!(
            "<ofd:DocID>{}</ofd:DocID><ofd:Title>{}</ofd:Title>",
            escape(&self.doc_id, "the DocID")?,
            escape(&self.title, "the title")?
        );
        if let Some(author) = &self.author {
            info.push_str(&format!(
                "<ofd:Author>{}</ofd:Author>",
                escape(author, "the author")?
            ));
        }
        info.push_str(&format!(
            "<ofd:CreationDate>{}</ofd:CreationDate><ofd:Creator>{PROVIDER}</ofd:Creator><ofd:CreatorVersion>{}</ofd:CreatorVersion>",
            date(self.creation_date),
            env!("CARGO_PKG_VERSION")
        ));
        if !self.custom_datas.is_empty() {
            info.push_str("<ofd:CustomDatas>");
            for (name, value) in &self.custom_datas {
                info.push_str(&format!(
                    r#"<ofd:CustomData Name="{}">{}</ofd:CustomData>"#,
                    escape(name, "a CustomData name")?,
                    escape(value, "a CustomData value")?
                ));
            }
            info.push_str("</ofd:CustomDatas>");
        }
        let ofd = format!(
            r#"{XML_DECL}<ofd:OFD xmlns:ofd="{OFD_NAMESPACE}" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo>{info}</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"#
        );
        let document = format!(
            r#"{XML_DECL}<ofd:Document xmlns:ofd="{OFD_NAMESPACE}"><ofd:CommonData><ofd:MaxUnitID>{ids}</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>{area}</ofd:PhysicalBox><ofd:ApplicationBox>{area}</ofd:ApplicationBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages>{page_refs}</ofd:Pages></ofd:Document>"#
        );
        let public_res = format!(
            r#"{XML_DECL}<ofd:Res xmlns:ofd="{OFD_NAMESPACE}" BaseLoc="Res"><ofd:Fonts><ofd:Font ID="1" FontName="{FONT_NAME}" FamilyName="{FONT_NAME}"/></ofd:Fonts></ofd:Res>"#
        );

        let mut files = OfdFiles::new();
        files.put(ENTRY_FILE, ofd.into_bytes());
        files.put("Doc_0/Document.xml", document.into_bytes());
        files.put("Doc_0/PublicRes.xml", public_res.into_bytes());
        for (path, content) in contents {
            files.put(&path, content.into_bytes());
        }
        Ok(files)
    }
}

pub(crate) const XML_DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// A `TextObject` for `text`, with a `DeltaX` that gives CJK characters a full em and the
/// others half of one, so every viewer lays the text out alike.
pub(crate) fn text_object(id: u64, text: &Text) -> Result<String, OfdWriteError> {
    let x = coordinate(text.x, "a text's x")?;
    let y = coordinate(text.y, "a text's y")?;
    let em = size(text.size, "a text's size")?;
    let advances: Vec<f64> = text
        .text
        .chars()
        .map(|c| {
            if (c as u32) < 0x2E80 {
                text.size / 2.0
            } else {
                text.size
            }
        })
        .collect();
    let width: f64 = advances.iter().sum();
    let delta_x = advances
        .iter()
        .take(advances.len().saturating_sub(1))
        .map(|a| number(*a))
        .collect::<Vec<_>>()
        .join(" ");
    let delta = if delta_x.is_empty() {
        String::new()
    } else {
        format!(r#" DeltaX="{delta_x}""#)
    };
    Ok(format!(
        r#"<ofd:TextObject ID="{id}" Boundary="{x} {y} {} {}" Font="1" Size="{em}"><ofd:TextCode X="0" Y="{em}"{delta}>{}</ofd:TextCode></ofd:TextObject>"#,
        number(width),
        number(text.size * 1.25),
        escape(&text.text, "a page's text")?
    ))
}

/// A number as OFD writes them: at most three decimals, no trailing zeros.
pub(super) fn number(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

pub(super) fn coordinate(v: f64, what: &'static str) -> Result<String, OfdWriteError> {
    if v.is_finite() && v >= 0.0 {
        Ok(number(v))
    } else {
        Err(OfdWriteError::BadNumber { what, value: v })
    }
}

fn size(v: f64, what: &'static str) -> Result<String, OfdWriteError> {
    coordinate(v, what)
}

fn date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `s` escaped for XML text and attribute values; control characters refused.
pub(crate) fn escape(s: &str, what: &'static str) -> Result<String, OfdWriteError> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(OfdWriteError::BadText {
                    what,
                    code: c as u32,
                });
            }
            c => out.push(c),
        }
    }
    Ok(out)
}
