//! Office documents made here, as their writers lay them out (a zip package of XML parts),
//! then read back.

use std::io::Write;

use zip::write::SimpleFileOptions;

use super::*;

/// A zip package of `parts` (name, XML).
pub(crate) fn package(parts: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, xml) in parts {
        zip.start_file(*name, options).unwrap();
        zip.write_all(xml.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A DOCX of two paragraphs, the second with a tab and an entity.
pub(crate) fn docx() -> Vec<u8> {
    package(&[
        ("[Content_Types].xml", "<?xml version=\"1.0\"?><Types/>"),
        (
            "word/document.xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>Quarterly report</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">Revenue </w:t></w:r><w:r><w:tab/><w:t>up 5 % &amp; costs &lt;flat&gt; &#8364;</w:t></w:r></w:p>
</w:body></w:document>"#,
        ),
    ])
}

#[test]
fn docx_paragraphs_become_lines() {
    let text = office_text("r.docx", &docx()).unwrap();
    assert_eq!(text, "Quarterly report\nRevenue \tup 5 % & costs <flat> €");
}

#[test]
fn pptx_slides_in_order() {
    let slide = |t: &str| {
        format!(
            r#"<p:sld xmlns:a="a" xmlns:p="p"><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>{t}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>"#
        )
    };
    let (two, ten, one) = (slide("Second"), slide("Tenth"), slide("First"));
    let file = package(&[
        ("ppt/slides/slide2.xml", &two),
        ("ppt/slides/slide10.xml", &ten),
        ("ppt/slides/slide1.xml", &one),
        ("ppt/slides/_rels/slide1.xml.rels", "<Relationships/>"),
    ]);
    assert_eq!(office_text("deck.PPTX", &file).unwrap(), "First\nSecond\nTenth");
}

#[test]
fn xlsx_shared_strings_and_values_not_formulas() {
    let file = package(&[
        ("xl/sharedStrings.xml", r#"<sst><si><t>Region</t></si><si><t>North</t></si></sst>"#),
        (
            "xl/worksheets/sheet1.xml",
            r#"<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="B2"><f>SUM(A1:A9)</f><v>42</v></c><c t="inlineStr"><is><t>inline</t></is></c></row></sheetData></worksheet>"#,
        ),
    ]);
    let text = office_text("t.xlsx", &file).unwrap();
    assert!(text.starts_with("Region\nNorth\n"), "{text:?}");
    assert!(text.contains("42") && text.contains("inline") && !text.contains("SUM"), "{text:?}");
}

#[test]
fn opendocument_text_spreadsheet_and_presentation() {
    let content = r#"<office:document-content><office:body><office:text><text:h>Title</text:h><text:p>Body <text:span>text</text:span></text:p></office:text></office:body></office:document-content>"#;
    let file = package(&[("mimetype", "application/vnd.oasis.opendocument.text"), ("content.xml", content)]);
    assert_eq!(office_text("a.odt", &file).unwrap(), "Title\nBody text");
    let cells = r#"<table:table><table:table-row><table:table-cell><text:p>a</text:p></table:table-cell><table:table-cell><text:p>b</text:p></table:table-cell></table:table-row></table:table>"#;
    let file = package(&[("content.xml", cells)]);
    assert_eq!(office_text("s.ods", &file).unwrap(), "a\n\tb");
    let file = package(&[(
        "content.xml",
        "<draw:page><draw:frame><text:p>Slide one</text:p></draw:frame></draw:page>",
    )]);
    assert_eq!(office_text("p.odp", &file).unwrap(), "Slide one");
}

#[test]
fn rtf_text_without_its_tables() {
    let rtf = br"{\rtf1\ansi\deff0{\fonttbl{\f0 Times New Roman;}}{\colortbl;\red0\green0\blue0;}{\*\generator Writer;}
\f0\fs24 Hello {\b world}\par
Caf\'e9 \u8364?5\tab end\par}";
    assert_eq!(office_text("a.rtf", rtf).unwrap(), "Hello world\nCafé €5\tend");
}

#[test]
fn what_cannot_be_read_is_an_error_never_a_panic() {
    for (name, bytes) in
        [("a.docx", &b"not a zip"[..]), ("a.rtf", b"plain text"), ("a.xlsx", b"PK\x03\x04 truncated")]
    {
        let error = office_text(name, bytes).unwrap_err();
        assert!(error.to_string().contains(name), "{error}");
    }
    // A package without the expected part has no text, and no error.
    assert_eq!(office_text("a.docx", &package(&[("other.xml", "<x>y</x>")])).unwrap(), "");
    // Cut anywhere, a package is refused or read, never a panic.
    let whole = docx();
    for cut in (0..whole.len()).step_by(7) {
        let _ = office_text("a.docx", &whole[..cut]);
    }
    let rtf = br"{\rtf1 {\*\x \'";
    let _ = office_text("a.rtf", rtf);
}
