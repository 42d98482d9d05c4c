//! Locations written in OFD files (`DocRoot`, `BaseLoc`, `FileRef`, …) resolved to package
//! paths.

/// Resolve `location`, written in the package file `from`, to a normalised package path.
///
/// GB/T 33190 locations are either absolute from the package root (`/Doc_0/Document.xml`) or
/// relative to the directory of the file that holds them (`Pages/Page_0/Content.xml` in
/// `Doc_0/Document.xml` is `Doc_0/Pages/Page_0/Content.xml`). The result has no leading slash
/// and no empty, `.` or `..` segments: the form entry names have in [`Package`](super::Package).
/// Surrounding XML whitespace is ignored.
///
/// `..` may climb inside the package (`../Res/a.png` from `Doc_0/Pages/Page_0/Content.xml`);
/// climbing above the root is refused, as are empty locations, locations that name no file
/// (`/`, `a/..`), backslashes, control characters (NUL included), and a first segment with a
/// colon (a URL scheme such as `http:` or a drive letter such as `C:`), so that a location can
/// only ever name a file of this package. The error is the reason, for
/// [`OfdError::BadLocation`](super::OfdError::BadLocation).
pub fn resolve(from: &str, location: &str) -> Result<String, &'static str> {
    let location = location.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\r' | '\n'));
    if location.is_empty() {
        return Err("it is empty");
    }
    if location.contains('\\') {
        return Err("it holds a backslash");
    }
    if location.chars().any(char::is_control) {
        return Err("it holds a control character");
    }
    let (absolute, rest) = match location.strip_prefix('/') {
        Some(rest) => (true, rest),
        None => (false, location),
    };
    if rest
        .split('/')
        .next()
        .is_some_and(|first| first.contains(':'))
    {
        return Err("it names a scheme or a drive");
    }
    let mut segments: Vec<&str> = Vec::new();
    if !absolute {
        // The directory of `from`: every segment but the last.
        if let Some((dir, _file)) = from.rsplit_once('/') {
            segments.extend(dir.split('/').filter(|s| !s.is_empty() && *s != "."));
        }
    }
    for segment in rest.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err("it climbs above the package root");
                }
            }
            s => segments.push(s),
        }
    }
    if segments.is_empty() || location.ends_with('/') {
        return Err("it names no file");
    }
    Ok(segments.join("/"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn absolute_locations_start_at_the_root() {
        assert_eq!(
            resolve(
                "Doc_0/Signs/Signatures.xml",
                "/Doc_0/Signs/Sign_0/Signature.xml"
            ),
            Ok("Doc_0/Signs/Sign_0/Signature.xml".to_owned())
        );
        assert_eq!(resolve("OFD.xml", "/OFD.xml"), Ok("OFD.xml".to_owned()));
    }

    #[test]
    fn relative_locations_start_at_the_referencing_files_directory() {
        assert_eq!(
            resolve("Doc_0/Document.xml", "Pages/Page_0/Content.xml"),
            Ok("Doc_0/Pages/Page_0/Content.xml".to_owned())
        );
        assert_eq!(
            resolve("OFD.xml", "Doc_0/Document.xml"),
            Ok("Doc_0/Document.xml".to_owned())
        );
    }

    #[test]
    fn dot_segments_and_repeated_slashes_are_normalised() {
        assert_eq!(
            resolve("Doc_0/Document.xml", "./Pages//./Page_0/Content.xml"),
            Ok("Doc_0/Pages/Page_0/Content.xml".to_owned())
        );
        assert_eq!(
            resolve("Doc_0/Document.xml", " \n Res/a.png\t"),
            Ok("Doc_0/Res/a.png".to_owned())
        );
    }

    #[test]
    fn parent_segments_may_climb_inside_the_package() {
        assert_eq!(
            resolve("Doc_0/Pages/Page_0/Content.xml", "../../Res/image.png"),
            Ok("Doc_0/Res/image.png".to_owned())
        );
        assert_eq!(
            resolve("Doc_0/Document.xml", "/Doc_0/x/../Document.xml"),
            Ok("Doc_0/Document.xml".to_owned())
        );
    }

    #[test]
    fn climbing_above_the_root_is_refused() {
        assert_eq!(
            resolve("Doc_0/Document.xml", "../../etc/passwd"),
            Err("it climbs above the package root")
        );
        assert_eq!(
            resolve("OFD.xml", "../x"),
            Err("it climbs above the package root")
        );
        assert_eq!(
            resolve("Doc_0/Document.xml", "/../Doc_0/Document.xml"),
            Err("it climbs above the package root")
        );
    }

    #[test]
    fn locations_naming_no_file_are_refused() {
        assert_eq!(resolve("OFD.xml", ""), Err("it is empty"));
        assert_eq!(resolve("OFD.xml", "  "), Err("it is empty"));
        assert_eq!(resolve("OFD.xml", "/"), Err("it names no file"));
        assert_eq!(resolve("OFD.xml", "Doc_0/.."), Err("it names no file"));
        assert_eq!(resolve("OFD.xml", "Doc_0/"), Err("it names no file"));
    }

    #[test]
    fn backslashes_controls_schemes_and_drives_are_refused() {
        assert_eq!(
            resolve("OFD.xml", "Doc_0\\Document.xml"),
            Err("it holds a backslash")
        );
        assert_eq!(
            resolve("OFD.xml", "Doc_0/Doc\0ument.xml"),
            Err("it holds a control character")
        );
        assert_eq!(
            resolve("OFD.xml", "http://example.com/x.xml"),
            Err("it names a scheme or a drive")
        );
        assert_eq!(
            resolve("OFD.xml", "C:/Windows/x.xml"),
            Err("it names a scheme or a drive")
        );
        assert_eq!(
            resolve("OFD.xml", "file:x.xml"),
            Err("it names a scheme or a drive")
        );
        // A colon further down is an ordinary character.
        assert_eq!(resolve("OFD.xml", "a/b:c.xml"), Ok("a/b:c.xml".to_owned()));
    }
}
