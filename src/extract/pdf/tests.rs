//! On the fixtures of `tests/fixtures/pdf`, written by fpdf2 (see `make.py` there).

use super::*;

/// A fixture by name.
fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/pdf/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn plain_text() {
    let text = pdf_text(&fixture("plain.pdf")).unwrap();
    assert!(text.starts_with("Quarterly report of the plainfixture team."), "{text}");
    assert!(text.ends_with("Second line of plain text."), "{text}");
}

#[test]
fn every_page_of_compressed_streams_in_order() {
    let text = pdf_text(&fixture("multipage.pdf")).unwrap();
    let at = |word: &str| text.find(word).unwrap_or_else(|| panic!("{word} not in {text}"));
    assert!(at("alphapage") < at("betapage") && at("betapage") < at("gammapage"));
}

#[test]
fn an_embedded_font_is_read_through_its_to_unicode_map() {
    let text = pdf_text(&fixture("unicode.pdf")).unwrap();
    assert!(text.contains("Привет мир unicodefixture"), "{text}");
    assert!(text.contains("Καλημέρα κόσμε"), "{text}");
}

#[test]
fn a_pdf_that_opens_without_a_password_is_read_though_encrypted() {
    assert!(pdf_text(&fixture("permissions.pdf")).unwrap().contains("openlockfixture"));
}

#[test]
fn what_cannot_be_read_says_why() {
    assert!(matches!(pdf_text(&fixture("encrypted.pdf")), Err(PdfError::Encrypted(_))));
    assert!(matches!(pdf_text(&fixture("truncated.pdf")), Err(PdfError::Unreadable(_))));
    assert_eq!(pdf_text(&fixture("no_text.pdf")), Err(PdfError::NoText));
    assert!(matches!(pdf_text(b"PK\x03\x04 not a pdf"), Err(PdfError::Unreadable(_))));
    assert!(matches!(pdf_text(b""), Err(PdfError::Unreadable(_))));
}

#[test]
fn the_text_stops_at_its_bound() {
    let mut capped = Capped { bytes: Vec::new(), full: false };
    assert!(capped.write_all(&vec![b'a'; MAX_TEXT - 1]).is_ok());
    assert!(capped.write_all("é".as_bytes()).is_err(), "a whole write or none");
    assert!(capped.full);
    assert_eq!(capped.bytes.len(), MAX_TEXT - 1);
}

#[test]
fn names() {
    assert!(is_pdf("Report.PDF") && is_pdf("a/b.pdf"));
    assert!(!is_pdf("pdf") && !is_pdf("a.pdfx") && !is_pdf("a.docx"));
}
