//! Reading attachment text here (`service.attachment_text: local`, and the text files read
//! in every mode): MB/s of file per format, and the bytes a `_bulk` request then carries — the
//! text as JSON — against the base64 `_attachment` Elastic's way sends. The files are made
//! here, about 4 MiB each, as their writers lay them out (DOCX, XLSX, PPTX, ODT: deflated zip
//! packages of XML; PDF: pages of Helvetica text in Flate-compressed content streams, written
//! with lopdf; RTF; CSV, JSON, XML, HTML, plain text). A PDF is read twice: by the reader
//! itself, and as a sync reads it, in a child process (`pdf+proc`). Median of several runs;
//! written to `target/bench/attachment_text.json`.

use std::hint::black_box;
use std::io::{Cursor, Write};
use std::time::Instant;

use confluence_connector::decode_text;
use confluence_connector::office_text;
use confluence_connector::pdf_text;
use confluence_connector::PdfReader;
use pdf_extract::{dictionary, Document, Object, Stream};
use serde_json::json;

const RUNS: usize = 5;
/// Paragraphs per file: about 4 MiB of text-bearing markup.
const PARAGRAPHS: usize = 40_000;

/// Twelve words of a deterministic, varied text (words and numbers drawn by a small hash of
/// `i`), so that files deflate about as much as real documents do, not to nothing.
fn sentence(i: usize) -> String {
    const WORDS: [&str; 32] = [
        "cluster",
        "release",
        "Zürich",
        "deployment",
        "the",
        "of",
        "naïve",
        "index",
        "and",
        "shard",
        "report",
        "€",
        "quarterly",
        "revenue",
        "incident",
        "postmortem",
        "latency",
        "budget",
        "team",
        "roadmap",
        "customer",
        "migration",
        "database",
        "rollback",
        "alert",
        "on-call",
        "Kraków",
        "dashboard",
        "capacity",
        "review",
        "owner",
        "decision",
    ];
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..12)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 5 == 0 {
                format!("{}", x % 100_000)
            } else {
                WORDS[(x % 32) as usize].to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn package(parts: &[(&str, String)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, xml) in parts {
        zip.start_file(*name, options).unwrap();
        zip.write_all(xml.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A PDF of `PARAGRAPHS` lines of text, 50 to a page, in Helvetica (WinAnsi), each page's
/// content stream deflated as PDF writers do.
fn pdf() -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let mut kids = Vec::new();
    for page in 0..PARAGRAPHS / 50 {
        let mut content = String::from("BT\n/F1 10 Tf\n12 TL\n40 770 Td\n");
        for line in 0..50 {
            content.push_str(&format!("({}) Tj T*\n", sentence(page * 50 + line)));
        }
        content.push_str("ET\n");
        // WinAnsi bytes for the few characters past ASCII.
        let bytes: Vec<u8> = content
            .chars()
            .map(|c| match c {
                '€' => 0x80,
                c => u8::try_from(u32::from(c)).unwrap_or(b'?'),
            })
            .collect();
        let mut stream = Stream::new(dictionary! {}, bytes);
        stream.compress().unwrap();
        let content_id = doc.add_object(stream);
        kids.push(Object::Reference(doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
        })));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn files() -> Vec<(&'static str, Vec<u8>)> {
    let each = |f: &dyn Fn(usize) -> String| (0..PARAGRAPHS).map(f).collect::<String>();
    let docx = each(&|i| format!("<w:p><w:r><w:rPr><w:b/></w:rPr><w:t>{}</w:t></w:r></w:p>", sentence(i)));
    let slides: Vec<(String, String)> = (0..100)
        .map(|s| {
            let body = (0..PARAGRAPHS / 100)
                .map(|i| {
                    format!("<a:p><a:r><a:rPr lang=\"en\"/><a:t>{}</a:t></a:r></a:p>", sentence(s * 400 + i))
                })
                .collect::<String>();
            (format!("ppt/slides/slide{}.xml", s + 1), format!("<p:sld><p:txBody>{body}</p:txBody></p:sld>"))
        })
        .collect();
    let slide_parts: Vec<(&str, String)> = slides.iter().map(|(n, x)| (n.as_str(), x.clone())).collect();
    let shared = each(&|i| format!("<si><t>{}</t></si>", sentence(i)));
    let sheet = each(&|i| format!("<row r=\"{i}\"><c t=\"s\"><v>{i}</v></c><c><v>{}</v></c></row>", i * 3));
    let odt = each(&|i| format!("<text:p text:style-name=\"P1\">{}</text:p>", sentence(i)));
    let rtf = format!(
        "{{\\rtf1\\ansi{{\\fonttbl{{\\f0 Arial;}}}}{}}}",
        each(&|i| format!(
            "\\f0\\fs20 {}\\par\n",
            sentence(i).replace('ü', "\\'fc").replace('ï', "\\'ef").replace('€', "\\u8364?")
        ))
    );
    vec![
        (
            "docx",
            package(&[("word/document.xml", format!("<w:document><w:body>{docx}</w:body></w:document>"))]),
        ),
        (
            "xlsx",
            package(&[
                ("xl/sharedStrings.xml", format!("<sst>{shared}</sst>")),
                (
                    "xl/worksheets/sheet1.xml",
                    format!("<worksheet><sheetData>{sheet}</sheetData></worksheet>"),
                ),
            ]),
        ),
        ("pptx", package(&slide_parts)),
        (
            "odt",
            package(&[(
                "content.xml",
                format!(
                    "<office:document-content><office:text>{odt}</office:text></office:document-content>"
                ),
            )]),
        ),
        ("pdf", pdf()),
        ("pdf+proc", pdf()),
        ("rtf", rtf.into_bytes()),
        ("txt", each(&|i| sentence(i) + "\n").into_bytes()),
        ("csv", each(&|i| format!("{i},\"{}\",{}\n", sentence(i), i * 3)).into_bytes()),
        (
            "json",
            format!("[{}{{}}]", each(&|i| format!("{{\"id\":{i},\"text\":\"{}\"}},", sentence(i))))
                .into_bytes(),
        ),
        (
            "xml",
            format!(
                "<rows>{}</rows>",
                each(&|i| format!("<row id=\"{i}\"><text>{}</text></row>", sentence(i)))
            )
            .into_bytes(),
        ),
        (
            "html",
            format!(
                "<html><body>{}</body></html>",
                each(&|i| format!("<p class=\"x\">{} <b>bold</b></p>", sentence(i)))
            )
            .into_bytes(),
        ),
    ]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let reader = PdfReader::at(env!("CARGO_BIN_EXE_confluence-connector"));
    let mut rows = Vec::new();
    println!(
        "{:<8} {:>10} {:>10} {:>12} {:>12} {:>12} {:>12} {:>8}",
        "format", "file MiB", "text MiB", "file MB/s", "text MB/s", "bulk text", "bulk base64", "base64/text"
    );
    for (ext, file) in files() {
        let name = format!("file.{}", ext.trim_end_matches("+proc"));
        let mut times = Vec::new();
        let mut text = String::new();
        for _ in 0..RUNS {
            let started = Instant::now();
            text = if ext == "docx" || ext == "xlsx" || ext == "pptx" || ext == "odt" || ext == "rtf" {
                office_text(&name, black_box(&file)).unwrap()
            } else if ext == "pdf" {
                pdf_text(black_box(&file)).unwrap()
            } else if ext == "pdf+proc" {
                let file = bytes::Bytes::from(file.clone());
                runtime.block_on(reader.read(file, std::time::Duration::from_secs(120))).unwrap()
            } else {
                decode_text(&name, black_box(file.clone()))
            };
            times.push(started.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let seconds = times[RUNS / 2];
        let mb_per_s = file.len() as f64 / 1e6 / seconds;
        let text_mb_per_s = text.len() as f64 / 1e6 / seconds;
        // What a `_bulk` line carries: the text as a JSON string, or the file as base64.
        let bulk_text = serde_json::to_string(&text).unwrap().len();
        let bulk_base64 = file.len().div_ceil(3) * 4;
        let mib = |n: usize| n as f64 / (1024.0 * 1024.0);
        println!(
            "{ext:<8} {:>10.2} {:>10.2} {mb_per_s:>12.0} {text_mb_per_s:>12.0} {:>12} {:>12} {:>8.2}",
            mib(file.len()),
            mib(text.len()),
            bulk_text,
            bulk_base64,
            bulk_base64 as f64 / bulk_text.max(1) as f64
        );
        rows.push(json!({"format": ext, "file_bytes": file.len(), "text_bytes": text.len(), "mb_per_s_median": mb_per_s, "text_mb_per_s_median": text_mb_per_s,
            "bulk_bytes_text": bulk_text, "bulk_bytes_base64": bulk_base64}));
    }
    std::fs::create_dir_all("target/bench").unwrap();
    std::fs::write("target/bench/attachment_text.json", serde_json::to_string_pretty(&rows).unwrap())
        .unwrap();
    println!("written: target/bench/attachment_text.json");
}
