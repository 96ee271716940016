//! The bytes of an attachment, derived from its seed on each download so that no file is
//! held in memory, and the exact length Confluence reports as `fileSize` (computed once per
//! version from the same bytes, so the listing and the download always agree).

use super::model::{AttachmentFormat, FileInfo};

/// The bytes served for an attachment version.
pub fn file_bytes(info: &FileInfo) -> Vec<u8> {
    generate(info.format, info.seed, info.approx_size as usize)
}

/// The exact length of [`file_bytes`], cached on the record after the first call.
pub fn file_size(info: &FileInfo) -> u64 {
    *info.exact_size.get_or_init(|| file_bytes(info).len() as u64)
}

/// The one place where bytes are made: a real, valid file of the format, of about
/// `approx_size` bytes, from the test world's file generator.
fn generate(format: AttachmentFormat, seed: u64, approx_size: usize) -> Vec<u8> {
    super::files::attachment_bytes(format, seed, approx_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_matches_bytes_and_is_deterministic() {
        let info = FileInfo {
            format: AttachmentFormat::Txt,
            approx_size: 5000,
            exact_size: Default::default(),
            seed: 9,
            comment: String::new(),
            file_id: String::new(),
        };
        assert_eq!(file_size(&info), file_bytes(&info).len() as u64);
        assert_eq!(file_bytes(&info), file_bytes(&info));
        let text = String::from_utf8(file_bytes(&info)).expect("a text file");
        assert!(text.contains(&crate::confluence::files::expected_marker(info.seed)));
    }
}
