//! Attachment files of the test world: real, valid bytes for every kind of file a Confluence
//! space holds (text, PDF, Office documents, images), deterministic from a seed and of about
//! the size asked for.
//!
//! Why real files: the connector's extraction (locally for text, or through an extraction
//! service for binary formats) must be tested on what a reader really opens. Each text-bearing
//! kind embeds a sentence with [`expected_marker`] so a test can check that extraction found
//! the text. Sizes are reached cheaply by padding inside a valid structure: filler lines for
//! text kinds, an unreferenced stream object for PDF, a stored (uncompressed) package
//! thumbnail for the OOXML kinds, and stored deflate blocks of pixels for PNG — so a 10 MB
//! file takes milliseconds.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A kind of attachment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// Plain text (`text/plain`).
    Txt,
    /// Markdown.
    Md,
    /// Comma-separated values.
    Csv,
    /// JSON.
    Json,
    /// XML.
    Xml,
    /// HTML page.
    Html,
    /// PDF 1.4 with one page of text.
    Pdf,
    /// Word document (OOXML).
    Docx,
    /// Excel workbook (OOXML).
    Xlsx,
    /// PowerPoint presentation (OOXML).
    Pptx,
    /// PNG image (carries no text, so no marker).
    Png,
}

impl FileKind {
    /// Every kind, in declaration order.
    pub const ALL: [FileKind; 11] = [
        FileKind::Txt,
        FileKind::Md,
        FileKind::Csv,
        FileKind::Json,
        FileKind::Xml,
        FileKind::Html,
        FileKind::Pdf,
        FileKind::Docx,
        FileKind::Xlsx,
        FileKind::Pptx,
        FileKind::Png,
    ];

    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Txt => "txt",
            FileKind::Md => "md",
            FileKind::Csv => "csv",
            FileKind::Json => "json",
            FileKind::Xml => "xml",
            FileKind::Html => "html",
            FileKind::Pdf => "pdf",
            FileKind::Docx => "docx",
            FileKind::Xlsx => "xlsx",
            FileKind::Pptx => "pptx",
            FileKind::Png => "png",
        }
    }

    /// The media type Confluence reports for an attachment of this kind.
    pub fn media_type(self) -> &'static str {
        match self {
            FileKind::Txt => "text/plain",
            FileKind::Md => "text/markdown",
            FileKind::Csv => "text/csv",
            FileKind::Json => "application/json",
            FileKind::Xml => "application/xml",
            FileKind::Html => "text/html",
            FileKind::Pdf => "application/pdf",
            FileKind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileKind::Pptx => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            FileKind::Png => "image/png",
        }
    }
}

/// The word a text-bearing file of this seed contains, unique per seed and unlikely anywhere
/// else (letters and digits only, so every format carries it unescaped).
pub fn expected_marker(seed: u64) -> String {
    format!("qzmark{:016x}", mix(seed))
}

/// Real bytes of a valid file of this kind, deterministic from `seed`, about `approx_size`
/// bytes (at least a valid minimal file). Text-bearing kinds embed a sentence containing the
/// marker `expected_marker(seed)` so tests can check that extraction found the text.
pub fn attachment_bytes(kind: FileKind, seed: u64, approx_size: usize) -> Vec<u8> {
    match kind {
        FileKind::Txt => text_file(seed, approx_size, TextShape::Txt),
        FileKind::Md => text_file(seed, approx_size, TextShape::Md),
        FileKind::Csv => text_file(seed, approx_size, TextShape::Csv),
        FileKind::Json => text_file(seed, approx_size, TextShape::Json),
        FileKind::Xml => text_file(seed, approx_size, TextShape::Xml),
        FileKind::Html => text_file(seed, approx_size, TextShape::Html),
        FileKind::Pdf => pdf(seed, approx_size),
        FileKind::Docx => docx(seed, approx_size),
        FileKind::Xlsx => xlsx(seed, approx_size),
        FileKind::Pptx => pptx(seed, approx_size),
        FileKind::Png => png(seed, approx_size),
    }
}

/// The sentence that carries the marker.
fn marker_sentence(seed: u64) -> String {
    format!("The review notes for attachment {seed} mention {} as the tracking word.", expected_marker(seed))
}

/// SplitMix64 finaliser: a well-spread 64-bit hash of the seed.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Deterministic filler words.
struct Filler(u64);

const WORDS: [&str; 16] = [
    "budget", "review", "meeting", "roadmap", "release", "customer", "backlog", "sprint", "design",
    "incident", "report", "metrics", "owner", "deadline", "team", "summary",
];

impl Filler {
    fn new(seed: u64) -> Self {
        Filler(mix(seed) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn word(&mut self) -> &'static str {
        WORDS[(self.next() % WORDS.len() as u64) as usize]
    }
    /// A short line of filler words, numbered.
    fn line(&mut self, i: usize) -> String {
        format!("Item {i} {} {} {} {}", self.word(), self.word(), self.word(), self.word())
    }
}

#[derive(Clone, Copy)]
enum TextShape {
    Txt,
    Md,
    Csv,
    Json,
    Xml,
    Html,
}

/// A text kind: head with the marker sentence, filler records up to the size, tail.
fn text_file(seed: u64, approx_size: usize, shape: TextShape) -> Vec<u8> {
    let sentence = marker_sentence(seed);
    let (head, tail) = match shape {
        TextShape::Txt => (format!("Attachment {seed}\n{sentence}\n"), String::new()),
        TextShape::Md => (format!("# Attachment {seed}\n\n{sentence}\n\n"), String::new()),
        TextShape::Csv => (format!("id,title,note\n0,Attachment {seed},\"{sentence}\"\n"), String::new()),
        TextShape::Json => (
            format!("{{\"title\": \"Attachment {seed}\", \"note\": \"{sentence}\", \"items\": [\"start\""),
            "]}\n".to_string(),
        ),
        TextShape::Xml => (
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<document id=\"{seed}\">\n<note>{sentence}</note>\n<items>\n"),
            "</items>\n</document>\n".to_string(),
        ),
        TextShape::Html => (
            format!("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Attachment {seed}</title></head>\n<body><h1>Attachment {seed}</h1>\n<p>{sentence}</p>\n"),
            "</body></html>\n".to_string(),
        ),
    };
    let mut out = String::with_capacity(approx_size.max(head.len() + tail.len()) + 128);
    out.push_str(&head);
    let mut filler = Filler::new(seed);
    let mut i = 1;
    while out.len() + tail.len() < approx_size {
        let line = filler.line(i);
        match shape {
            TextShape::Txt => out.push_str(&line),
            TextShape::Md => {
                out.push_str("- ");
                out.push_str(&line);
            }
            TextShape::Csv => {
                out.push_str(&format!("{i},{},{line}", filler.word()));
            }
            TextShape::Json => out.push_str(&format!(", \"{line}\"")),
            TextShape::Xml => out.push_str(&format!("<item>{line}</item>")),
            TextShape::Html => out.push_str(&format!("<p>{line}</p>")),
        }
        out.push('\n');
        i += 1;
    }
    out.push_str(&tail);
    out.into_bytes()
}

/// `s` as a PDF literal string body (backslash and parentheses escaped).
fn pdf_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '(' | ')') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A one-page PDF 1.4 (Helvetica text) with a correct cross-reference table; padding goes
/// into an unreferenced stream object.
fn pdf(seed: u64, approx_size: usize) -> Vec<u8> {
    let mut filler = Filler::new(seed);
    let mut content = format!(
        "BT\n/F1 12 Tf\n14 TL\n72 720 Td\n(Attachment {seed}) Tj\nT*\n({}) Tj\n",
        pdf_string(&marker_sentence(seed))
    );
    for i in 1..=10 {
        content.push_str(&format!("T*\n({}) Tj\n", pdf_string(&filler.line(i))));
    }
    content.push_str("ET\n");
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        stream_object(content.as_bytes()),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
    ];
    let base = 1200 + content.len();
    if approx_size > base {
        let mut pad = Vec::with_capacity(approx_size - base);
        let mut i = 0;
        while pad.len() + 80 < approx_size - base {
            pad.extend_from_slice(filler.line(i).as_bytes());
            pad.push(b'\n');
            i += 1;
        }
        objects.push(stream_object(&pad));
    }
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (n, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", n + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
            .as_bytes(),
    );
    out
}

fn stream_object(data: &[u8]) -> Vec<u8> {
    let mut v = format!("<< /Length {} >>\nstream\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend_from_slice(b"\nendstream");
    v
}

/// Escapes text for XML content.
fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
const REL_NS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const OFFICE_REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// An OOXML package: the parts (name, XML), the main document's relationship target and
/// content types, plus a stored thumbnail that brings the package to about `approx_size`.
struct Package<'a> {
    main_part: &'a str,
    overrides: Vec<(&'a str, &'a str)>,
    parts: Vec<(&'a str, String)>,
}

fn write_package(seed: u64, approx_size: usize, pkg: Package<'_>) -> Vec<u8> {
    let xml_len: usize = pkg.parts.iter().map(|(_, x)| x.len()).sum();
    // Compressed XML is small; everything above ~4 KB plus the XML comes from the thumbnail.
    let thumbnail = (approx_size > 4096 + xml_len / 4).then(|| png(seed, approx_size - 3000 - xml_len / 4));
    let mut types = format!(
        "{XML_DECL}<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
<Default Extension=\"xml\" ContentType=\"application/xml\"/>\
<Default Extension=\"png\" ContentType=\"image/png\"/>\
<Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/>"
    );
    for (part, ct) in &pkg.overrides {
        types.push_str(&format!("<Override PartName=\"/{part}\" ContentType=\"{ct}\"/>"));
    }
    types.push_str("</Types>");
    let mut rels = format!(
        "{XML_DECL}<Relationships xmlns=\"{REL_NS}\">\
<Relationship Id=\"rId1\" Type=\"{OFFICE_REL}/officeDocument\" Target=\"{}\"/>\
<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/>",
        pkg.main_part
    );
    if thumbnail.is_some() {
        rels.push_str("<Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/thumbnail\" Target=\"docProps/thumbnail.png\"/>");
    }
    rels.push_str("</Relationships>");
    let core = format!(
        "{XML_DECL}<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><dc:title>Attachment {seed}</dc:title>\
<dc:creator>sim</dc:creator><dcterms:created xsi:type=\"dcterms:W3CDTF\">2024-01-01T00:00:00Z</dcterms:created>\
</cp:coreProperties>"
    );
    let deflated = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    let stored = deflated.compression_method(CompressionMethod::Stored);
    let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(approx_size + 4096)));
    let mut put = |name: &str, bytes: &[u8], opts: SimpleFileOptions| {
        // Writing into a Vec cannot fail; a failure here is a bug in this generator.
        zip.start_file(name, opts).expect("zip entry into memory");
        zip.write_all(bytes).expect("zip write into memory");
    };
    put("[Content_Types].xml", types.as_bytes(), deflated);
    put("_rels/.rels", rels.as_bytes(), deflated);
    put("docProps/core.xml", core.as_bytes(), deflated);
    for (name, xml) in &pkg.parts {
        put(name, xml.as_bytes(), deflated);
    }
    if let Some(png) = &thumbnail {
        put("docProps/thumbnail.png", png, stored);
    }
    // In-memory writer: finishing cannot fail.
    zip.finish().expect("zip finish into memory").into_inner()
}

fn docx(seed: u64, approx_size: usize) -> Vec<u8> {
    let mut filler = Filler::new(seed);
    let mut body = format!(
        "<w:p><w:r><w:t>Attachment {seed}</w:t></w:r></w:p><w:p><w:r><w:t>{}</w:t></w:r></w:p>",
        xml_text(&marker_sentence(seed))
    );
    for i in 1..=10 {
        body.push_str(&format!("<w:p><w:r><w:t>{}</w:t></w:r></w:p>", filler.line(i)));
    }
    let document = format!(
        "{XML_DECL}<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" \
xmlns:r=\"{OFFICE_REL}\"><w:body>{body}<w:sectPr><w:pgSz w:w=\"12240\" w:h=\"15840\"/>\
<w:pgMar w:top=\"1440\" w:right=\"1440\" w:bottom=\"1440\" w:left=\"1440\" w:header=\"720\" w:footer=\"720\" w:gutter=\"0\"/>\
</w:sectPr></w:body></w:document>"
    );
    let doc_rels = format!("{XML_DECL}<Relationships xmlns=\"{REL_NS}\"></Relationships>");
    write_package(
        seed,
        approx_size,
        Package {
            main_part: "word/document.xml",
            overrides: vec![(
                "word/document.xml",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
            )],
            parts: vec![("word/document.xml", document), ("word/_rels/document.xml.rels", doc_rels)],
        },
    )
}

fn xlsx(seed: u64, approx_size: usize) -> Vec<u8> {
    const NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    let mut filler = Filler::new(seed);
    let mut strings = vec![format!("Attachment {seed}"), marker_sentence(seed)];
    let mut rows = String::from(
        "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\"><v>1</v></c></row>\
<row r=\"2\"><c r=\"A2\" t=\"s\"><v>1</v></c><c r=\"B2\"><v>2</v></c></row>",
    );
    for i in 3..=12 {
        rows.push_str(&format!(
            "<row r=\"{i}\"><c r=\"A{i}\" t=\"s\"><v>{}</v></c><c r=\"B{i}\"><v>{i}</v></c></row>",
            strings.len()
        ));
        strings.push(filler.line(i));
    }
    let sst: String = strings.iter().map(|s| format!("<si><t>{}</t></si>", xml_text(s))).collect();
    let n = strings.len();
    let shared = format!("{XML_DECL}<sst xmlns=\"{NS}\" count=\"{n}\" uniqueCount=\"{n}\">{sst}</sst>");
    let sheet = format!(
        "{XML_DECL}<worksheet xmlns=\"{NS}\" xmlns:r=\"{OFFICE_REL}\"><dimension ref=\"A1:B12\"/><sheetData>{rows}</sheetData></worksheet>"
    );
    let workbook = format!(
        "{XML_DECL}<workbook xmlns=\"{NS}\" xmlns:r=\"{OFFICE_REL}\"><sheets><sheet name=\"Sheet1\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"
    );
    let styles = format!(
        "{XML_DECL}<styleSheet xmlns=\"{NS}\"><fonts count=\"1\"><font><sz val=\"11\"/><name val=\"Calibri\"/></font></fonts>\
<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill><fill><patternFill patternType=\"gray125\"/></fill></fills>\
<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>\
<cellXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/></cellXfs>\
<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles></styleSheet>"
    );
    let wb_rels = format!(
        "{XML_DECL}<Relationships xmlns=\"{REL_NS}\">\
<Relationship Id=\"rId1\" Type=\"{OFFICE_REL}/worksheet\" Target=\"worksheets/sheet1.xml\"/>\
<Relationship Id=\"rId2\" Type=\"{OFFICE_REL}/sharedStrings\" Target=\"sharedStrings.xml\"/>\
<Relationship Id=\"rId3\" Type=\"{OFFICE_REL}/styles\" Target=\"styles.xml\"/></Relationships>"
    );
    write_package(
        seed,
        approx_size,
        Package {
            main_part: "xl/workbook.xml",
            overrides: vec![
                (
                    "xl/workbook.xml",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                ),
                (
                    "xl/worksheets/sheet1.xml",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
                ),
                (
                    "xl/sharedStrings.xml",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml",
                ),
                ("xl/styles.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"),
            ],
            parts: vec![
                ("xl/workbook.xml", workbook),
                ("xl/_rels/workbook.xml.rels", wb_rels),
                ("xl/worksheets/sheet1.xml", sheet),
                ("xl/sharedStrings.xml", shared),
                ("xl/styles.xml", styles),
            ],
        },
    )
}

fn pptx(seed: u64, approx_size: usize) -> Vec<u8> {
    const P: &str = "http://schemas.openxmlformats.org/presentationml/2006/main";
    const A: &str = "http://schemas.openxmlformats.org/drawingml/2006/main";
    let ns = format!("xmlns:a=\"{A}\" xmlns:r=\"{OFFICE_REL}\" xmlns:p=\"{P}\"");
    let group = "<p:nvGrpSpPr><p:cNvPr id=\"1\" name=\"\"/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr>\
<p:grpSpPr><a:xfrm><a:off x=\"0\" y=\"0\"/><a:ext cx=\"0\" cy=\"0\"/><a:chOff x=\"0\" y=\"0\"/><a:chExt cx=\"0\" cy=\"0\"/></a:xfrm></p:grpSpPr>";
    let mut filler = Filler::new(seed);
    let mut paragraphs = format!(
        "<a:p><a:r><a:rPr lang=\"en-US\"/><a:t>{}</a:t></a:r></a:p>",
        xml_text(&marker_sentence(seed))
    );
    for i in 1..=5 {
        paragraphs
            .push_str(&format!("<a:p><a:r><a:rPr lang=\"en-US\"/><a:t>{}</a:t></a:r></a:p>", filler.line(i)));
    }
    let slide = format!(
        "{XML_DECL}<p:sld {ns}><p:cSld><p:spTree>{group}\
<p:sp><p:nvSpPr><p:cNvPr id=\"2\" name=\"Title 1\"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr>\
<p:spPr><a:xfrm><a:off x=\"457200\" y=\"274638\"/><a:ext cx=\"8229600\" cy=\"1143000\"/></a:xfrm><a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom></p:spPr>\
<p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang=\"en-US\"/><a:t>Attachment {seed}</a:t></a:r></a:p></p:txBody></p:sp>\
<p:sp><p:nvSpPr><p:cNvPr id=\"3\" name=\"Content 2\"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr>\
<p:spPr><a:xfrm><a:off x=\"457200\" y=\"1600200\"/><a:ext cx=\"8229600\" cy=\"4525963\"/></a:xfrm><a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom></p:spPr>\
<p:txBody><a:bodyPr/><a:lstStyle/>{paragraphs}</p:txBody></p:sp>\
</p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sld>"
    );
    let layout = format!(
        "{XML_DECL}<p:sldLayout {ns} type=\"blank\" preserve=\"1\"><p:cSld name=\"Blank\"><p:spTree>{group}</p:spTree></p:cSld>\
<p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sldLayout>"
    );
    let master = format!(
        "{XML_DECL}<p:sldMaster {ns}><p:cSld><p:bg><p:bgRef idx=\"1001\"><a:schemeClr val=\"bg1\"/></p:bgRef></p:bg><p:spTree>{group}</p:spTree></p:cSld>\
<p:clrMap bg1=\"lt1\" tx1=\"dk1\" bg2=\"lt2\" tx2=\"dk2\" accent1=\"accent1\" accent2=\"accent2\" accent3=\"accent3\" accent4=\"accent4\" accent5=\"accent5\" accent6=\"accent6\" hlink=\"hlink\" folHlink=\"folHlink\"/>\
<p:sldLayoutIdLst><p:sldLayoutId id=\"2147483649\" r:id=\"rId1\"/></p:sldLayoutIdLst></p:sldMaster>"
    );
    let colors: String = [
        ("dk1", "000000"),
        ("lt1", "FFFFFF"),
        ("dk2", "1F497D"),
        ("lt2", "EEECE1"),
        ("accent1", "4F81BD"),
        ("accent2", "C0504D"),
        ("accent3", "9BBB59"),
        ("accent4", "8064A2"),
        ("accent5", "4BACC6"),
        ("accent6", "F79646"),
        ("hlink", "0000FF"),
        ("folHlink", "800080"),
    ]
    .iter()
    .map(|(n, c)| format!("<a:{n}><a:srgbClr val=\"{c}\"/></a:{n}>"))
    .collect();
    let fill = "<a:solidFill><a:schemeClr val=\"phClr\"/></a:solidFill>";
    let line = "<a:ln w=\"9525\"><a:solidFill><a:schemeClr val=\"phClr\"/></a:solidFill></a:ln>";
    let effect = "<a:effectStyle><a:effectLst/></a:effectStyle>";
    let theme = format!(
        "{XML_DECL}<a:theme xmlns:a=\"{A}\" name=\"Office Theme\"><a:themeElements>\
<a:clrScheme name=\"Office\">{colors}</a:clrScheme>\
<a:fontScheme name=\"Office\"><a:majorFont><a:latin typeface=\"Calibri\"/><a:ea typeface=\"\"/><a:cs typeface=\"\"/></a:majorFont>\
<a:minorFont><a:latin typeface=\"Calibri\"/><a:ea typeface=\"\"/><a:cs typeface=\"\"/></a:minorFont></a:fontScheme>\
<a:fmtScheme name=\"Office\"><a:fillStyleLst>{fill}{fill}{fill}</a:fillStyleLst><a:lnStyleLst>{line}{line}{line}</a:lnStyleLst>\
<a:effectStyleLst>{effect}{effect}{effect}</a:effectStyleLst><a:bgFillStyleLst>{fill}{fill}{fill}</a:bgFillStyleLst></a:fmtScheme>\
</a:themeElements></a:theme>"
    );
    let presentation = format!(
        "{XML_DECL}<p:presentation {ns}><p:sldMasterIdLst><p:sldMasterId id=\"2147483648\" r:id=\"rId1\"/></p:sldMasterIdLst>\
<p:sldIdLst><p:sldId id=\"256\" r:id=\"rId2\"/></p:sldIdLst><p:sldSz cx=\"9144000\" cy=\"6858000\" type=\"screen4x3\"/>\
<p:notesSz cx=\"6858000\" cy=\"9144000\"/></p:presentation>"
    );
    let rels = |items: &[(&str, &str)]| -> String {
        let mut s = format!("{XML_DECL}<Relationships xmlns=\"{REL_NS}\">");
        for (n, (ty, target)) in items.iter().enumerate() {
            s.push_str(&format!(
                "<Relationship Id=\"rId{}\" Type=\"{OFFICE_REL}/{ty}\" Target=\"{target}\"/>",
                n + 1
            ));
        }
        s.push_str("</Relationships>");
        s
    };
    const PML: &str = "application/vnd.openxmlformats-officedocument.presentationml";
    let ct_pres = format!("{PML}.presentation.main+xml");
    let ct_slide = format!("{PML}.slide+xml");
    let ct_layout = format!("{PML}.slideLayout+xml");
    let ct_master = format!("{PML}.slideMaster+xml");
    write_package(
        seed,
        approx_size,
        Package {
            main_part: "ppt/presentation.xml",
            overrides: vec![
                ("ppt/presentation.xml", &ct_pres),
                ("ppt/slides/slide1.xml", &ct_slide),
                ("ppt/slideLayouts/slideLayout1.xml", &ct_layout),
                ("ppt/slideMasters/slideMaster1.xml", &ct_master),
                ("ppt/theme/theme1.xml", "application/vnd.openxmlformats-officedocument.theme+xml"),
            ],
            parts: vec![
                ("ppt/presentation.xml", presentation),
                (
                    "ppt/_rels/presentation.xml.rels",
                    rels(&[
                        ("slideMaster", "slideMasters/slideMaster1.xml"),
                        ("slide", "slides/slide1.xml"),
                        ("theme", "theme/theme1.xml"),
                    ]),
                ),
                ("ppt/slides/slide1.xml", slide),
                (
                    "ppt/slides/_rels/slide1.xml.rels",
                    rels(&[("slideLayout", "../slideLayouts/slideLayout1.xml")]),
                ),
                ("ppt/slideLayouts/slideLayout1.xml", layout),
                (
                    "ppt/slideLayouts/_rels/slideLayout1.xml.rels",
                    rels(&[("slideMaster", "../slideMasters/slideMaster1.xml")]),
                ),
                ("ppt/slideMasters/slideMaster1.xml", master),
                (
                    "ppt/slideMasters/_rels/slideMaster1.xml.rels",
                    rels(&[
                        ("slideLayout", "../slideLayouts/slideLayout1.xml"),
                        ("theme", "../theme/theme1.xml"),
                    ]),
                ),
                ("ppt/theme/theme1.xml", theme),
            ],
        },
    )
}

/// CRC-32 (IEEE), as PNG chunks need: byte-wise with a table built at compile time.
fn crc32(parts: &[&[u8]]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    };
    let mut crc = !0u32;
    for part in parts {
        for &b in *part {
            crc = TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
        }
    }
    !crc
}

/// Adler-32, the zlib stream checksum.
fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// An 8-bit RGB PNG of noise-like pixels whose IDAT is a zlib stream of stored deflate blocks,
/// sized so the file is about `approx_size` bytes.
fn png(seed: u64, approx_size: usize) -> Vec<u8> {
    let width: usize = if approx_size >= 8192 { 256 } else { 16 };
    let row = 1 + 3 * width;
    let height = (approx_size.saturating_sub(120) / row).max(1);
    let mut raw = Vec::with_capacity(row * height);
    let mut filler = Filler::new(seed);
    for _ in 0..height {
        raw.extend_from_slice(&[0]); // each row starts with its filter type: None
        let mut left = row - 1;
        while left > 0 {
            let bytes = filler.next().to_le_bytes();
            let n = left.min(8);
            raw.extend_from_slice(&bytes[..n]);
            left -= n;
        }
    }
    let mut zlib = Vec::with_capacity(raw.len() + raw.len() / 65535 * 5 + 16);
    zlib.extend_from_slice(&[0x78, 0x01]);
    let blocks: Vec<&[u8]> = raw.chunks(65535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(width as u32).to_be_bytes());
    ihdr.extend_from_slice(&(height as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &zlib);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    fn zip_part(bytes: &[u8], name: &str) -> String {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip opens");
        let mut f = archive.by_name(name).unwrap_or_else(|_| panic!("part {name}"));
        let mut s = String::new();
        f.read_to_string(&mut s).expect("utf-8 part");
        s
    }

    #[test]
    fn every_kind_is_deterministic_and_seed_dependent() {
        for kind in FileKind::ALL {
            let a = attachment_bytes(kind, 7, 5000);
            assert_eq!(a, attachment_bytes(kind, 7, 5000), "{kind:?}");
            assert_ne!(a, attachment_bytes(kind, 8, 5000), "{kind:?}");
        }
    }

    #[test]
    fn sizes_are_close_to_the_request() {
        for kind in FileKind::ALL {
            for approx in [20_000usize, 300_000] {
                let n = attachment_bytes(kind, 3, approx).len();
                assert!(n * 10 >= approx * 9 && n * 10 <= approx * 11, "{kind:?} {approx}: {n}");
            }
            // Tiny requests still give a valid, non-empty file.
            assert!(!attachment_bytes(kind, 3, 0).is_empty());
        }
    }

    #[test]
    fn large_files_are_cheap() {
        let start = std::time::Instant::now();
        for kind in [FileKind::Docx, FileKind::Txt] {
            let n = attachment_bytes(kind, 1, 12 * 1024 * 1024).len();
            assert!(n > 11 * 1024 * 1024, "{kind:?}: {n}");
        }
        assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
    }

    #[test]
    fn text_kinds_carry_the_marker_and_parse() {
        let marker = expected_marker(42);
        assert_eq!(marker, expected_marker(42));
        assert_ne!(marker, expected_marker(43));
        for kind in
            [FileKind::Txt, FileKind::Md, FileKind::Csv, FileKind::Json, FileKind::Xml, FileKind::Html]
        {
            let bytes = attachment_bytes(kind, 42, 3000);
            let text = String::from_utf8(bytes).expect("utf-8");
            assert!(text.contains(&marker), "{kind:?}");
        }
        let json = attachment_bytes(FileKind::Json, 42, 3000);
        let v: serde_json::Value = serde_json::from_slice(&json).expect("valid json");
        assert!(v["note"].as_str().is_some_and(|s| s.contains(&marker)));
        let csv = String::from_utf8(attachment_bytes(FileKind::Csv, 42, 3000)).expect("utf-8");
        assert!(csv.lines().skip(2).all(|l| l.split(',').count() == 3), "{csv}");
        let xml = String::from_utf8(attachment_bytes(FileKind::Xml, 42, 3000)).expect("utf-8");
        assert!(xml.starts_with("<?xml") && xml.trim_end().ends_with("</document>"));
        assert_eq!(xml.matches("<item>").count(), xml.matches("</item>").count());
    }

    #[test]
    fn pdf_has_header_marker_and_a_correct_xref() {
        let pdf = attachment_bytes(FileKind::Pdf, 9, 50_000);
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        assert!(contains(&pdf, expected_marker(9).as_bytes()));
        let text = String::from_utf8_lossy(&pdf);
        let startxref: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|s| s.lines().next())
            .and_then(|s| s.parse().ok())
            .expect("startxref");
        assert!(pdf[startxref..].starts_with(b"xref\n0 "));
        let table = std::str::from_utf8(&pdf[startxref..]).expect("ascii xref");
        let count: usize = table
            .lines()
            .nth(1)
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|n| n.parse().ok())
            .expect("count");
        assert_eq!(count, 7);
        for (n, entry) in table.lines().skip(3).take(count - 1).enumerate() {
            assert_eq!(entry.len(), 19, "{entry}");
            let off: usize = entry[..10].parse().expect("offset");
            assert!(pdf[off..].starts_with(format!("{} 0 obj\n", n + 1).as_bytes()), "object {}", n + 1);
        }
        // The content stream's /Length is exact.
        let obj4 = text.find("4 0 obj\n<< /Length ").expect("object 4") + "4 0 obj\n<< /Length ".len();
        let len: usize = text[obj4..].split(' ').next().and_then(|s| s.parse().ok()).expect("length");
        let data = text[obj4..].find("stream\n").expect("stream") + obj4 + "stream\n".len();
        assert!(text[data + len..].starts_with("\nendstream"));
    }

    #[test]
    fn ooxml_packages_open_and_hold_their_parts() {
        let marker = expected_marker(5);
        let cases: [(FileKind, &[&str], &str); 3] = [
            (FileKind::Docx, &["word/document.xml", "word/_rels/document.xml.rels"], "word/document.xml"),
            (
                FileKind::Xlsx,
                &[
                    "xl/workbook.xml",
                    "xl/_rels/workbook.xml.rels",
                    "xl/worksheets/sheet1.xml",
                    "xl/styles.xml",
                ],
                "xl/sharedStrings.xml",
            ),
            (
                FileKind::Pptx,
                &[
                    "ppt/presentation.xml",
                    "ppt/_rels/presentation.xml.rels",
                    "ppt/slides/_rels/slide1.xml.rels",
                    "ppt/slideMasters/slideMaster1.xml",
                    "ppt/slideLayouts/slideLayout1.xml",
                    "ppt/theme/theme1.xml",
                ],
                "ppt/slides/slide1.xml",
            ),
        ];
        for (kind, parts, text_part) in cases {
            for size in [0, 200_000] {
                let bytes = attachment_bytes(kind, 5, size);
                let types = zip_part(&bytes, "[Content_Types].xml");
                let rels = zip_part(&bytes, "_rels/.rels");
                for p in parts {
                    let _ = zip_part(&bytes, p);
                    if !p.contains("_rels") {
                        assert!(types.contains(&format!("PartName=\"/{p}\"")), "{kind:?} {p}");
                    }
                }
                assert!(rels.contains(parts[0]), "{kind:?}");
                assert!(zip_part(&bytes, text_part).contains(&marker), "{kind:?}");
                let has_thumb = zip::ZipArchive::new(Cursor::new(&bytes))
                    .expect("zip")
                    .by_name("docProps/thumbnail.png")
                    .is_ok();
                assert_eq!(has_thumb, size > 0, "{kind:?}");
            }
        }
    }

    #[test]
    fn png_chunks_and_zlib_verify() {
        for size in [0usize, 100_000] {
            let png = attachment_bytes(FileKind::Png, 11, size);
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
            let mut pos = 8;
            let mut kinds = Vec::new();
            let mut idat = Vec::new();
            while pos < png.len() {
                let len = u32::from_be_bytes(png[pos..pos + 4].try_into().expect("4")) as usize;
                let kind = &png[pos + 4..pos + 8];
                let data = &png[pos + 8..pos + 8 + len];
                let crc = u32::from_be_bytes(png[pos + 8 + len..pos + 12 + len].try_into().expect("4"));
                assert_eq!(crc, crc32fast_reference(&[kind, data]), "{}", String::from_utf8_lossy(kind));
                if kind == b"IDAT" {
                    idat.extend_from_slice(data);
                }
                kinds.push(String::from_utf8_lossy(kind).into_owned());
                pos += 12 + len;
            }
            assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
            let (w, h) = (
                u32::from_be_bytes(png[16..20].try_into().expect("4")) as usize,
                u32::from_be_bytes(png[20..24].try_into().expect("4")) as usize,
            );
            // Undo the stored deflate blocks and check the length and the Adler-32.
            assert_eq!((u16::from(idat[0]) << 8 | u16::from(idat[1])) % 31, 0);
            let mut i = 2;
            let mut raw = Vec::new();
            loop {
                let last = idat[i] & 1 == 1;
                let len = u16::from_le_bytes([idat[i + 1], idat[i + 2]]) as usize;
                assert_eq!(
                    !u16::from_le_bytes([idat[i + 1], idat[i + 2]]),
                    u16::from_le_bytes([idat[i + 3], idat[i + 4]])
                );
                raw.extend_from_slice(&idat[i + 5..i + 5 + len]);
                i += 5 + len;
                if last {
                    break;
                }
            }
            assert_eq!(raw.len(), h * (1 + 3 * w));
            assert_eq!(&idat[i..], adler32(&raw).to_be_bytes());
        }
    }

    /// A second, bit-by-bit CRC-32 so the chunk check does not trust the code it checks.
    fn crc32fast_reference(parts: &[&[u8]]) -> u32 {
        let mut crc = !0u32;
        for p in parts {
            for &b in *p {
                crc ^= u32::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
                }
            }
        }
        !crc
    }

    #[test]
    fn known_crc_and_adler_values() {
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn extensions_and_media_types() {
        assert_eq!(FileKind::ALL.len(), 11);
        for kind in FileKind::ALL {
            assert!(!kind.extension().is_empty() && kind.media_type().contains('/'));
        }
        assert_eq!(FileKind::Docx.extension(), "docx");
        assert_eq!(FileKind::Png.media_type(), "image/png");
    }
}
