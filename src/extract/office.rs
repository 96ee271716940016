//! Text of office documents, read here (`service.attachment_text: local`): the OOXML formats
//! (DOCX, XLSX, PPTX) and the OpenDocument ones (ODT, ODS, ODP) are zip packages of XML,
//! read with the `zip` crate the connector already has and a small XML text reader below;
//! RTF is read by a small reader of its control words.
//!
//! Each file is bounded: a package entry is read up to [`MAX_ENTRY`] bytes inflated (a zip
//! bomb stops there), the text stops at [`MAX_TEXT`], and the caller runs the reader on a
//! blocking thread under a time limit. A file it cannot read is an [`OfficeError`]: the
//! caller indexes the document without content and reports it.

use std::io::{Cursor, Read};

use super::text_file::extension;

/// The most bytes one package entry is inflated to.
pub(crate) const MAX_ENTRY: u64 = 64 * 1024 * 1024;
/// The most bytes of text kept from one file.
pub(crate) const MAX_TEXT: usize = 16 * 1024 * 1024;

/// Why a file's text could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the text of {file:?}: {reason}")]
pub struct OfficeError {
    /// The file's name.
    pub file: String,
    /// What went wrong.
    pub reason: String,
}

/// Whether [`office_text`] reads files of this name.
pub(crate) fn is_office(name: &str) -> bool {
    matches!(extension(name).as_ref(), "docx" | "xlsx" | "pptx" | "odt" | "ods" | "odp" | "rtf")
}

/// The text of the office document `file` named `name` (see [`is_office`]).
pub fn office_text(name: &str, file: &[u8]) -> Result<String, OfficeError> {
    let fail = |reason: String| OfficeError { file: name.to_string(), reason };
    let ext = extension(name);
    if ext == "rtf" {
        return rtf_text(file).map_err(fail);
    }
    let mut package =
        zip::ZipArchive::new(Cursor::new(file)).map_err(|e| fail(format!("not a zip package: {e}")))?;
    let mut names: Vec<String> = package.file_names().map(str::to_string).collect();
    // The parts holding the text, the elements that end a line (or a cell), and the
    // elements whose character data is text (whitespace between the others is layout).
    let (parts, breaks, keep): (Vec<String>, &[&str], &[&str]) = match ext.as_ref() {
        "docx" => (vec!["word/document.xml".into()], &["w:p", "w:br", "w:tab"], &["w:t"]),
        "pptx" => {
            names.retain(|n| n.starts_with("ppt/slides/slide") && n.ends_with(".xml"));
            names.sort_by_key(|n| number_in(n));
            (names, &["a:p", "a:br"], &["a:t"])
        }
        "xlsx" => {
            let mut sheets: Vec<String> = names
                .iter()
                .filter(|n| n.starts_with("xl/worksheets/sheet") && n.ends_with(".xml"))
                .cloned()
                .collect();
            sheets.sort_by_key(|n| number_in(n));
            let mut parts = vec!["xl/sharedStrings.xml".to_string()];
            parts.extend(sheets);
            // Shared strings, inline strings and values; not formulas (`<f>`).
            (parts, &["si", "c", "row"], &["t", "v"])
        }
        _ => (
            vec!["content.xml".into()],
            &["text:p", "text:h", "text:line-break", "table:table-cell"],
            &["text:p", "text:h"],
        ),
    };
    let mut text = String::new();
    for part in parts {
        let Ok(entry) = package.by_name(&part) else { continue };
        let mut xml = Vec::new();
        entry.take(MAX_ENTRY).read_to_end(&mut xml).map_err(|e| fail(format!("{part}: {e}")))?;
        xml_text(&String::from_utf8_lossy(&xml), breaks, keep, &mut text);
        if text.len() >= MAX_TEXT {
            break;
        }
    }
    if text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    Ok(text.trim().to_string())
}

/// The first number in `name` (`slide12.xml` → 12), to keep slides and sheets in order.
fn number_in(name: &str) -> u64 {
    let digits: String =
        name.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

/// Appends the character data inside the elements named in `keep` of `xml` to `out`; a
/// newline (a tab for `w:tab` and cells) ends each element named in `breaks`. Entities and
/// character references are decoded.
fn xml_text(xml: &str, breaks: &[&str], keep: &[&str], out: &mut String) {
    let mut rest = xml;
    let mut inside = 0usize;
    while let Some(open) = rest.find('<') {
        let chars = &rest[..open];
        if inside > 0 {
            decode_entities(chars, out);
        }
        let Some(close) = rest[open..].find('>') else { break };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        let closing = tag.starts_with('/');
        let self_closing = tag.ends_with('/');
        let name =
            tag.trim_start_matches('/').split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
        if keep.contains(&name) && !self_closing {
            inside = if closing { inside.saturating_sub(1) } else { inside + 1 };
        }
        if (closing || self_closing) && breaks.contains(&name) {
            out.push(if name.ends_with("tab") || name == "table:table-cell" { '\t' } else { '\n' });
        }
        if out.len() >= MAX_TEXT {
            return;
        }
    }
}

/// `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` and `&#…;` decoded; anything else kept as it is.
fn decode_entities(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|end| *end <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16).ok())
                .unwrap_or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

/// The text of an RTF document: groups of destinations that hold no text (font and colour
/// tables, style sheets, pictures, `{\*…}`) are skipped; `\par` and `\line` end lines, `\tab`
/// is a tab, `\'hh` a Windows-1252 byte (read as Latin-1) and `\uN` a Unicode character (its
/// fallback character skipped).
fn rtf_text(file: &[u8]) -> Result<String, String> {
    if !file.starts_with(b"{\\rtf") {
        return Err("not an RTF document (no {\\rtf header)".into());
    }
    const SKIPPED: [&str; 8] =
        ["fonttbl", "colortbl", "stylesheet", "info", "pict", "header", "footer", "listtable"];
    let mut out = String::new();
    // Depth of each open group, and the depth below which text is skipped.
    let mut depth = 0usize;
    let mut skip_below: Option<usize> = None;
    let mut skip_next = 0usize;
    let mut i = 0;
    while i < file.len() && out.len() < MAX_TEXT {
        let b = file[i];
        match b {
            b'{' => {
                depth += 1;
                if file[i + 1..].starts_with(b"\\*") && skip_below.is_none() {
                    skip_below = Some(depth);
                }
                i += 1;
            }
            b'}' => {
                if skip_below == Some(depth) {
                    skip_below = None;
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'\\' => {
                let start = i + 1;
                let Some(&next) = file.get(start) else { break };
                if next == b'\'' {
                    let hex = file.get(start + 1..start + 3).and_then(|h| std::str::from_utf8(h).ok());
                    if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        if skip_below.is_none() && skip_next == 0 {
                            out.push(char::from(byte));
                        }
                        skip_next = skip_next.saturating_sub(1);
                    }
                    i = start + 3;
                    continue;
                }
                if !next.is_ascii_alphabetic() {
                    if skip_below.is_none() && matches!(next, b'\\' | b'{' | b'}') {
                        out.push(char::from(next));
                    }
                    i = start + 1;
                    continue;
                }
                let mut end = start;
                while end < file.len() && file[end].is_ascii_alphabetic() {
                    end += 1;
                }
                let word = std::str::from_utf8(&file[start..end]).unwrap_or("");
                let mut number_end = end;
                if number_end < file.len() && file[number_end] == b'-' {
                    number_end += 1;
                }
                while number_end < file.len() && file[number_end].is_ascii_digit() {
                    number_end += 1;
                }
                let number: Option<i32> =
                    std::str::from_utf8(&file[end..number_end]).ok().and_then(|n| n.parse().ok());
                i = number_end;
                if file.get(i) == Some(&b' ') {
                    i += 1;
                }
                if SKIPPED.contains(&word) && skip_below.is_none() {
                    skip_below = Some(depth);
                }
                if skip_below.is_some() {
                    continue;
                }
                match word {
                    "par" | "line" | "row" | "sect" | "page" => out.push('\n'),
                    "tab" | "cell" => out.push('\t'),
                    "u" => {
                        if let Some(c) = number
                            .map(|n| if n < 0 { n + 65536 } else { n })
                            .and_then(|n| char::from_u32(n as u32))
                        {
                            out.push(c);
                        }
                        skip_next = 1;
                    }
                    _ => {}
                }
            }
            b'\r' | b'\n' => i += 1,
            _ => {
                if skip_below.is_none() {
                    if skip_next > 0 {
                        skip_next -= 1;
                    } else {
                        out.push(char::from(b));
                    }
                }
                i += 1;
            }
        }
    }
    Ok(out.trim().to_string())
}

#[cfg(test)]
mod tests;
