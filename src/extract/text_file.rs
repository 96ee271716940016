//! Attachments as text: which file names the connector downloads at all (Elastic's list of
//! Tika-supported types), which of those it can read itself because they are text, and how
//! their bytes become a `String`.
//!
//! Why here: the Elastic connector hands every attachment to Tika or the ingest pipeline;
//! text files need neither, and decoding them locally keeps them searchable when no
//! extraction service is configured.

use std::borrow::Cow;

use super::storage::storage_to_text;

/// Extensions (lower case, without the dot) that Elastic's connector accepts for download:
/// `TIKA_SUPPORTED_FILETYPES` of `connectors/content_extraction.py`.
const SUPPORTED_EXTENSIONS: [&str; 31] = [
    "txt", "py", "rst", "html", "markdown", "json", "xml", "csv", "md", "ppt", "rtf", "docx", "odt", "xls",
    "xlsx", "rb", "paper", "sh", "pptx", "pdf", "doc", "aspx", "xlsb", "xlsm", "tsv", "svg", "msg", "potx",
    "vsd", "vsdx", "vsdm",
];

/// Extensions (lower case, without the dot) whose content is text the connector decodes
/// itself: prose and data formats (txt, text, md, markdown, rst, adoc, org, csv, tsv, json,
/// ndjson, jsonl, xml, html, htm, xhtml, svg, log, yaml, yml, toml, ini, cfg, conf,
/// properties, sql) and source code (py, rb,
/// sh, bash, rs, js, mjs, ts, tsx, jsx, java, kt, scala, go, c, h, cpp, cc, hpp, cs, php, pl,
/// swift, css, scss, lua, r, m, aspx, tex, bat, ps1, gradle, dockerfile).
const TEXT_EXTENSIONS: [&str; 60] = [
    "txt",
    "md",
    "markdown",
    "rst",
    "csv",
    "tsv",
    "json",
    "xml",
    "html",
    "htm",
    "xhtml",
    "svg",
    "log",
    "yaml",
    "yml",
    "toml",
    "ini",
    "cfg",
    "conf",
    "properties",
    "sql",
    "py",
    "rb",
    "sh",
    "bash",
    "rs",
    "js",
    "mjs",
    "ts",
    "tsx",
    "jsx",
    "java",
    "kt",
    "scala",
    "go",
    "c",
    "h",
    "cpp",
    "cc",
    "hpp",
    "cs",
    "php",
    "pl",
    "swift",
    "css",
    "scss",
    "lua",
    "r",
    "m",
    "aspx",
    "tex",
    "bat",
    "ps1",
    "gradle",
    "dockerfile",
    "text",
    "adoc",
    "org",
    "ndjson",
    "jsonl",
];

/// Extensions whose text is markup, read through [`storage_to_text`].
const MARKUP_EXTENSIONS: [&str; 6] = ["html", "htm", "xhtml", "xml", "svg", "aspx"];

/// The extension of a file name, lower-cased, as Python's `os.path.splitext` sees it: after
/// the last dot of the last path component, and none for a name that only starts with a dot.
pub(crate) fn extension(name: &str) -> Cow<'_, str> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let base = base.trim_start_matches('.');
    match base.rfind('.') {
        Some(dot) => {
            let ext = &base[dot + 1..];
            if ext.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(ext.to_ascii_lowercase())
            } else {
                Cow::Borrowed(ext)
            }
        }
        None => Cow::Borrowed(""),
    }
}

/// Whether Elastic's connector would download and extract an attachment of this file name
/// (`is_valid_file_type`): its extension, case-insensitive, is one Tika supports. A name
/// without an extension is rejected.
pub(crate) fn is_supported_extension(name: &str) -> bool {
    let ext = extension(name);
    !ext.is_empty() && SUPPORTED_EXTENSIONS.contains(&ext.as_ref())
}

/// Whether an attachment of this file name is text the connector can decode itself with
/// [`decode_text`] (see the module's list of extensions; case-insensitive).
pub(crate) fn text_like(name: &str) -> bool {
    let ext = extension(name);
    !ext.is_empty() && TEXT_EXTENSIONS.contains(&ext.as_ref())
}

/// Whether the bytes of a file named as text are not text: a NUL byte among the first 8 KiB
/// (as git and grep judge it), unless a UTF-16 byte-order mark says NULs are expected. A
/// `.txt` that is really an archive would otherwise become pages of garbage in `body`.
pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return false;
    }
    bytes.iter().take(8 * 1024).any(|b| *b == 0)
}

/// The text of a text attachment: UTF-8 (a byte-order mark is dropped, invalid sequences
/// become U+FFFD) or UTF-16 with a byte-order mark; HTML, XML and SVG files are then reduced to
/// their text with [`storage_to_text`].
///
/// The bytes are taken by value: valid UTF-8 becomes the string without a copy, so a large
/// text file is held once, not twice (as bytes and as text), on its way to the index.
pub fn decode_text(name: &str, bytes: impl Into<Vec<u8>>) -> String {
    let mut bytes: Vec<u8> = bytes.into();
    let raw: String = if bytes.starts_with(&[0xFF, 0xFE]) {
        utf16(&bytes[2..], u16::from_le_bytes)
    } else if bytes.starts_with(&[0xFE, 0xFF]) {
        utf16(&bytes[2..], u16::from_be_bytes)
    } else {
        if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            bytes.drain(..3);
        }
        match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(invalid) => String::from_utf8_lossy(invalid.as_bytes()).into_owned(),
        }
    };
    let ext = extension(name);
    if MARKUP_EXTENSIONS.contains(&ext.as_ref()) {
        storage_to_text(&raw)
    } else {
        raw
    }
}

/// UTF-16 code units to a string; unpaired surrogates and an odd last byte become U+FFFD.
fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|p| unit([p[0], p[1]]));
    let mut out: String =
        char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect();
    if bytes.len() % 2 == 1 {
        out.push(char::REPLACEMENT_CHARACTER);
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn binary_named_as_text_is_told_apart() {
        assert!(looks_binary(b"PK\x03\x04\x14\x00\x00\x00\x08\x00"));
        assert!(!looks_binary("plain words, accents éà, and\ttabs\n".as_bytes()));
        assert!(!looks_binary(&[0xFF, 0xFE, b'h', 0, b'i', 0]), "UTF-16 has NULs");
        assert!(!looks_binary(b""));
        let late = [vec![b'a'; 9000], vec![0u8]].concat();
        assert!(!looks_binary(&late), "only the first 8 KiB are looked at");
    }

    use super::*;

    #[test]
    fn supported_extensions_follow_elastic() {
        for name in ["a.pdf", "b.DOCX", "dir/c.Xlsx", "d.vsdm", "e.tar.txt", "f.md", "g.svg"] {
            assert!(is_supported_extension(name), "{name}");
        }
        for name in ["noext", "page.htm", ".bashrc", "a.png", "b.zip", "c.", "dir.pdf/file", "a.rs", "x.jpeg"]
        {
            assert!(!is_supported_extension(name), "{name}");
        }
    }

    #[test]
    fn text_like_names() {
        for name in
            ["notes.TXT", "README.md", "data.csv", "x.json", "main.rs", "a.b.py", "c.yml", "page.html"]
        {
            assert!(text_like(name), "{name}");
        }
        for name in ["a.pdf", "b.docx", "c.png", "Makefile", ".txt", "x.txt/"] {
            assert!(!text_like(name), "{name}");
        }
    }

    #[test]
    fn utf8_with_and_without_bom() {
        assert_eq!(decode_text("a.txt", b"\xEF\xBB\xBFh\xC3\xA9llo"), "héllo");
        assert_eq!(decode_text("a.txt", "plain ü".as_bytes()), "plain ü");
        // Valid UTF-8 becomes the text in place: the file is not held twice.
        let bytes = "plain ü".as_bytes().to_vec();
        let at = bytes.as_ptr();
        let text = decode_text("a.txt", bytes);
        assert_eq!(text.as_ptr(), at);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(decode_text("a.txt", b"ok\xFF\xFEno"), "ok\u{FFFD}\u{FFFD}no");
    }

    #[test]
    fn utf16_with_bom() {
        let le: Vec<u8> =
            [0xFF, 0xFE].into_iter().chain("hé😀".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(decode_text("a.txt", le), "hé😀");
        let be: Vec<u8> =
            [0xFE, 0xFF].into_iter().chain("hé😀".encode_utf16().flat_map(u16::to_be_bytes)).collect();
        assert_eq!(decode_text("a.csv", be), "hé😀");
        assert_eq!(decode_text("a.txt", [0xFF, 0xFE, 0x41, 0x00, 0x00, 0xD8, 0x42]), "A\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn markup_files_become_text() {
        assert_eq!(
            decode_text("page.HTML", b"<html><body><h1>T</h1><p>a &amp; b</p></body></html>"),
            "T\na & b"
        );
        assert_eq!(decode_text("d.xml", b"<?xml version=\"1.0\"?><r><v>1</v></r>"), "1");
        assert_eq!(decode_text("d.md", b"# <b>kept</b>"), "# <b>kept</b>");
        assert_eq!(
            decode_text(
                "i.svg",
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"><text x=\"1\">Label</text></svg>"
            ),
            "Label"
        );
    }
}
