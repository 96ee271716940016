//! Attachment content: downloaded only for new or changed attachments, only for supported
//! file types, never above the size limit, then turned into text here (text-like files) or
//! handed to the ingest pipeline as base64 `_attachment` (everything else it can read).

use base64::Engine;

use crate::confluence::{AttachmentRef, ConfluenceClient, ConfluenceError};
use crate::extract::text_file::{decode_text, is_supported_extension, text_like};

use super::document::Document;

/// How attachment content is handled.
#[derive(Debug, Clone, Copy)]
pub struct ContentPolicy {
    /// `service.max_file_download_size`: larger files are indexed without content.
    pub max_bytes: u64,
    /// The pipeline extracts `_attachment` (`pipeline.extract_binary_content`).
    pub extract_binary_content: bool,
}

impl ContentPolicy {
    /// Whether content extraction is on at all (Elastic downloads only then).
    pub fn downloads(&self) -> bool {
        self.extract_binary_content
    }
}

/// What happened to one attachment's content.
#[derive(Debug)]
pub enum ContentOutcome {
    /// Text in `body`, or base64 in `_attachment`.
    Extracted {
        /// Bytes downloaded.
        bytes: u64,
    },
    /// Not downloaded: the type is not one the pipeline reads, or extraction is off.
    Skipped,
    /// Larger than the limit: indexed without content.
    TooLarge,
}

/// Downloads and extracts `reference` into `doc` when the policy allows it.
///
/// An error means the download itself failed after its retries: the caller reports the
/// document and does not index it, so the next sync tries again.
pub async fn fill(
    client: &ConfluenceClient,
    doc: &mut Document,
    reference: &AttachmentRef,
    policy: ContentPolicy,
) -> Result<ContentOutcome, ConfluenceError> {
    if !policy.downloads() || !is_supported_extension(&doc.title) {
        return Ok(ContentOutcome::Skipped);
    }
    if doc.size.is_some_and(|s| s > policy.max_bytes) {
        return Ok(ContentOutcome::TooLarge);
    }
    let download = match client.download(reference, policy.max_bytes).await {
        Ok(d) => d,
        Err(ConfluenceError::TooLarge { .. }) => return Ok(ContentOutcome::TooLarge),
        Err(e) => return Err(e),
    };
    let bytes = download.bytes.len() as u64;
    if text_like(&doc.title) {
        doc.body = Some(decode_text(&doc.title, &download.bytes));
    } else {
        doc.attachment_base64 = Some(base64::engine::general_purpose::STANDARD.encode(&download.bytes));
    }
    Ok(ContentOutcome::Extracted { bytes })
}
