//! The XML of an OFD package: parsed with `roxmltree`, without DTDs, elements matched by local
//! name in either OFD namespace.

use roxmltree::{Document, Node, ParsingOptions};

use super::OfdError;

/// The namespaces of OFD elements: GB/T 33190-2016's, and the earlier one without the year
/// that real files still carry. An element in another namespace, or in none, is not an OFD
/// element and is ignored where one is looked for.
pub const NAMESPACES: [&str; 2] = ["http://www.ofdspec.org/2016", "http://www.ofdspec.org"];

/// The most XML nodes one file may have. The files read here (`OFD.xml`, `Document.xml`,
/// `Signatures.xml`, `Signature.xml`) have tens to thousands; the bound keeps the parsed tree
/// small even for a file at [`MAX_ENTRY_BYTES`](super::MAX_ENTRY_BYTES).
pub const MAX_XML_NODES: u32 = 1_000_000;

/// Parse the package file `path` as XML.
///
/// The bytes must be UTF-8 (a byte order mark is skipped). Any `<!DOCTYPE` in the text, in
/// any letter case and even inside a comment, is refused as [`OfdError::Dtd`] before parsing:
/// no OFD file needs a DTD, and without one there are no entity declarations to expand.
/// `roxmltree` is told to refuse DTDs as well, and to stop at [`MAX_XML_NODES`].
pub(crate) fn parse<'a>(path: &str, bytes: &'a [u8]) -> Result<Document<'a>, OfdError> {
    let text = std::str::from_utf8(bytes).map_err(|e| OfdError::Xml {
        path: path.to_owned(),
        reason: format!("not UTF-8 ({e})"),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doctype = b"<!doctype";
    if text
        .as_bytes()
        .windows(doctype.len())
        .any(|w| w.eq_ignore_ascii_case(doctype))
    {
        return Err(OfdError::Dtd {
            path: path.to_owned(),
        });
    }
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => OfdError::Dtd {
            path: path.to_owned(),
        },
        e => OfdError::Xml {
            path: path.to_owned(),
            reason: e.to_string(),
        },
    })
}

/// Whether `node` is the OFD element `local` (in one of the [`NAMESPACES`]).
pub(crate) fn is(node: Node<'_, '_>, local: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == local
        && node
            .tag_name()
            .namespace()
            .is_some_and(|ns| NAMESPACES.contains(&ns))
}

/// The root element of `doc`, which must be the OFD element `expected`.
pub(crate) fn root<'a, 'i>(
    doc: &'a Document<'i>,
    path: &str,
    expected: &'static str,
) -> Result<Node<'a, 'i>, OfdError> {
    let root = doc.root_element();
    if is(root, expected) {
        Ok(root)
    } else {
        Err(OfdError::WrongRoot {
            path: path.to_owned(),
            expected,
        })
    }
}

/// The OFD child elements `local` of `node`, in document order.
pub(crate) fn children<'a, 'i>(
    node: Node<'a, 'i>,
    local: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |n| is(*n, local))
}

/// The first OFD child element `local` of `node`.
pub(crate) fn child<'a, 'i>(node: Node<'a, 'i>, local: &'static str) -> Option<Node<'a, 'i>> {
    children(node, local).next()
}

/// The text of an element (its text children joined, surrounding whitespace trimmed), or
/// `None` when that is empty.
pub(crate) fn text(node: Node<'_, '_>) -> Option<String> {
    let joined: String = node
        .children()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect();
    let trimmed = joined.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// The text of the first OFD child element `local` of `node`, if present and not empty.
pub(crate) fn child_text(node: Node<'_, '_>, local: &'static str) -> Option<String> {
    child(node, local).and_then(text)
}

/// The attribute `name` (without namespace) of `node`, trimmed, if present and not empty.
pub(crate) fn attr(node: Node<'_, '_>, name: &str) -> Option<String> {
    let value = node.attribute(name)?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn both_namespaces_and_both_prefix_styles_match() {
        for xml in [
            r#"<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody/></ofd:OFD>"#,
            r#"<ofd:OFD xmlns:ofd="http://www.ofdspec.org"><ofd:DocBody/></ofd:OFD>"#,
            r#"<OFD xmlns="http://www.ofdspec.org/2016"><DocBody/></OFD>"#,
            r#"<OFD xmlns="http://www.ofdspec.org"><DocBody/></OFD>"#,
        ] {
            let doc = parse("OFD.xml", xml.as_bytes()).unwrap();
            let root = root(&doc, "OFD.xml", "OFD").unwrap();
            assert!(child(root, "DocBody").is_some(), "{xml}");
        }
    }

    #[test]
    fn elements_outside_the_ofd_namespaces_are_not_ofd_elements() {
        for xml in [
            r#"<OFD><DocBody/></OFD>"#,
            r#"<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2017"><ofd:DocBody/></ofd:OFD>"#,
        ] {
            let doc = parse("OFD.xml", xml.as_bytes()).unwrap();
            assert_eq!(
                root(&doc, "OFD.xml", "OFD"),
                Err(OfdError::WrongRoot {
                    path: "OFD.xml".to_owned(),
                    expected: "OFD"
                })
            );
        }
        let xml = r#"<OFD xmlns="http://www.ofdspec.org/2016"><x:DocBody xmlns:x="urn:x"/></OFD>"#;
        let doc = parse("OFD.xml", xml.as_bytes()).unwrap();
        assert!(child(doc.root_element(), "DocBody").is_none());
    }

    #[test]
    fn entity_expansion_is_refused_as_a_dtd() {
        let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<OFD xmlns="http://www.ofdspec.org/2016">&lol3;</OFD>"#;
        assert_eq!(
            parse("OFD.xml", laughs.as_bytes()).map(|_| ()),
            Err(OfdError::Dtd {
                path: "OFD.xml".to_owned()
            })
        );
    }

    #[test]
    fn any_doctype_is_refused_even_empty_lower_case_or_in_a_comment() {
        for xml in [
            "<!DOCTYPE OFD><OFD xmlns=\"http://www.ofdspec.org/2016\"/>",
            "<!doctype OFD><OFD xmlns=\"http://www.ofdspec.org/2016\"/>",
            "<OFD xmlns=\"http://www.ofdspec.org/2016\"><!-- <!DOCTYPE x> --></OFD>",
            "<!DOCTYPE OFD SYSTEM \"http://example.com/ofd.dtd\"><OFD/>",
        ] {
            assert_eq!(
                parse("a.xml", xml.as_bytes()).map(|_| ()),
                Err(OfdError::Dtd {
                    path: "a.xml".to_owned()
                }),
                "{xml}"
            );
        }
    }

    #[test]
    fn roxmltree_itself_refuses_a_dtd_too() {
        // The pre-scan comes first; this shows the parser's own refusal is configured, so a
        // DTD the scan missed would still be refused.
        let options = ParsingOptions {
            allow_dtd: false,
            nodes_limit: MAX_XML_NODES,
            ..ParsingOptions::default()
        };
        let xml = "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>";
        assert!(matches!(
            Document::parse_with_options(xml, options),
            Err(roxmltree::Error::DtdDetected)
        ));
    }

    #[test]
    fn non_utf8_and_malformed_xml_are_refused() {
        let gbk = b"<?xml version=\"1.0\" encoding=\"GBK\"?><OFD>\xc4\xe3</OFD>";
        assert!(matches!(
            parse("OFD.xml", gbk),
            Err(OfdError::Xml { reason, .. }) if reason.starts_with("not UTF-8")
        ));
        assert!(matches!(
            parse("OFD.xml", b"<OFD><DocBody></OFD>"),
            Err(OfdError::Xml { .. })
        ));
        assert!(matches!(parse("OFD.xml", b""), Err(OfdError::Xml { .. })));
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let xml = "\u{feff}<OFD xmlns=\"http://www.ofdspec.org/2016\"/>";
        let doc = parse("OFD.xml", xml.as_bytes()).unwrap();
        assert!(root(&doc, "OFD.xml", "OFD").is_ok());
    }

    #[test]
    fn text_and_attributes_are_trimmed_and_empty_is_absent() {
        let xml = r#"<a xmlns="http://www.ofdspec.org/2016" ID=" 7 " E="  "><b>
  x<![CDATA[y]]>
</b><c>  </c></a>"#;
        let doc = parse("a.xml", xml.as_bytes()).unwrap();
        let a = doc.root_element();
        assert_eq!(attr(a, "ID").as_deref(), Some("7"));
        assert_eq!(attr(a, "E"), None);
        assert_eq!(attr(a, "Missing"), None);
        assert_eq!(child_text(a, "b").as_deref(), Some("xy"));
        assert_eq!(child_text(a, "c"), None);
    }
}
