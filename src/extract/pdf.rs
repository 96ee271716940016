//! Text of PDF files, read here (`service.attachment_text: local`) with `pdf-extract`: the
//! text each page draws, in drawing order, decoded through the fonts' encodings and
//! `ToUnicode` maps; a PDF encrypted with an empty user password (permissions only) is opened
//! as any viewer opens it.
//!
//! A PDF parser meets hostile and broken files and may panic, recurse without end or
//! allocate without bound on them, so the sync never calls [`pdf_text`] itself: it runs in a
//! child process ([`super::isolated`]) with limits on its memory and time. Here it is only
//! bounded in what it returns: the text stops at [`MAX_TEXT`] (the office readers' bound),
//! and reading stops there too.

use std::io::Write;

use pdf_extract::{Document, OutputError, PlainTextOutput};

use super::office::MAX_TEXT;
use super::text_file::extension;

/// Why a PDF's text could not be read; the words are for the log, naming what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PdfError {
    /// Opening it needs a password.
    #[error("it is encrypted with a password ({0}); only PDFs that open without one are read")]
    Encrypted(String),
    /// Not a PDF, or one too damaged to read (truncated, broken cross-references).
    #[error("not a readable PDF: {0}")]
    Unreadable(String),
    /// It opens but draws no text: scanned pages or drawings (no OCR is done here).
    #[error("it holds no text (scanned pages or drawings only?); text in images is not read here")]
    NoText,
}

/// Whether [`pdf_text`] reads files of this name.
pub(crate) fn is_pdf(name: &str) -> bool {
    extension(name) == "pdf"
}

/// The text of the PDF `file`, at most [`MAX_TEXT`] bytes of it. Call it in a process of its
/// own ([`super::isolated`]): on a malformed file it may panic or take any memory or time.
pub fn pdf_text(file: &[u8]) -> Result<String, PdfError> {
    let mut document = Document::load_mem(file).map_err(|e| PdfError::Unreadable(e.to_string()))?;
    if document.is_encrypted() {
        document.decrypt("").map_err(|e| PdfError::Encrypted(e.to_string()))?;
    }
    let mut text = Capped { bytes: Vec::new(), full: false };
    let outcome = {
        let mut output = PlainTextOutput::new(&mut text as &mut dyn Write);
        pdf_extract::output_doc(&document, &mut output)
    };
    match outcome {
        Ok(()) => {}
        // The sink refused more: the text is complete up to the bound.
        Err(OutputError::FormatError(_) | OutputError::IoError(_)) if text.full => {}
        Err(e) => return Err(PdfError::Unreadable(e.to_string())),
    }
    let text = String::from_utf8_lossy(&text.bytes);
    let text = text.trim();
    if text.is_empty() {
        return Err(PdfError::NoText);
    }
    Ok(text.to_string())
}

/// Text written by the reader, refusing any write that would take it past [`MAX_TEXT`]:
/// the refusal ends the reading (whole writes only, so the text stays valid UTF-8).
struct Capped {
    /// The text so far.
    bytes: Vec<u8>,
    /// A write was refused.
    full: bool,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_TEXT {
            self.full = true;
            return Err(std::io::Error::other("the text bound is reached"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
