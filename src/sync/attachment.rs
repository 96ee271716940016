//! Attachment content: downloaded only for new or changed attachments, only for supported
//! file types, never above the size limit, then turned into text: by the extraction service
//! when `use_text_extraction_service` is on ([`crate::extract::service`]), else here
//! (text-like files; office documents and PDFs with `service.attachment_text: local`) or by
//! the ingest pipeline from base64 `_attachment` (everything else it can read).

use std::path::PathBuf;
use std::sync::Arc;

use crate::confluence::{AttachmentRef, ConfluenceClient, ConfluenceError};
use crate::elastic::Attached;
use crate::extract::budget::{DownloadBudget, Share};
use crate::extract::isolated::read_pdf;
use crate::extract::office::{is_office, office_text};
use crate::extract::pdf::is_pdf;
use crate::extract::service::ExtractionService;
use crate::extract::spool::{in_memory, Encoding};
use crate::extract::text_file::{decode_text, is_supported_extension, looks_binary, text_like};

use super::document::Document;

/// How attachment content is handled.
#[derive(Debug, Clone)]
pub(super) struct ContentPolicy {
    /// `service.max_file_download_size`: larger files are indexed without content.
    pub(crate) max_bytes: u64,
    /// `service.max_download_memory`: bytes that downloads and the documents carrying their
    /// content hold at once ([`crate::extract::budget`]).
    pub(crate) memory_budget: u64,
    /// The pipeline extracts `_attachment` (`pipeline.extract_binary_content`).
    pub(crate) extract_binary_content: bool,
    /// `service.attachment_text: local`: office documents and PDFs are read here
    /// ([`crate::extract::office`], [`crate::extract::pdf`]) and only their text is sent.
    pub(crate) local_text: bool,
    /// `use_text_extraction_service` with a configured `extraction_service.host`: every file
    /// goes there and its text is indexed as `body`.
    pub(crate) extraction: Option<Arc<ExtractionService>>,
    /// Where large files are downloaded to ([`crate::extract::spool`]): `TMPDIR`, when a
    /// temporary file could be made there as the sync started ([`spool_dir`]).
    pub(crate) spool_dir: Option<PathBuf>,
}

/// Files larger than this (or of a size not listed) are spooled to disk as they download;
/// smaller ones stay in memory, where they cost less than a file would.
const SPOOL_ABOVE: u64 = 1024 * 1024;

/// `dir`, if a spool can be made there and it is on disk: checked once per sync, so that an
/// unwritable `TMPDIR` (a read-only container) or one in memory (a tmpfs, whose files a
/// container's memory limit counts) keeps large files in memory within the budget, said
/// once, rather than failing each of them or holding memory beside the budget.
pub(super) fn spool_dir(dir: PathBuf) -> Option<PathBuf> {
    let unusable = match tempfile::tempfile_in(&dir) {
        Err(e) => format!("no temporary file can be made in {} ({e})", dir.display()),
        Ok(_) if in_memory(&dir) => {
            format!(
                "{} is a file system in memory (tmpfs): files waiting there would take memory",
                dir.display()
            )
        }
        Ok(_) => return Some(dir),
    };
    tracing::warn!(
        "{unusable}: large attachments are held in memory while they download, within \
         service.max_download_memory, so fewer download at once; set TMPDIR to a writable \
         directory on disk"
    );
    None
}

impl ContentPolicy {
    /// Whether content extraction is on at all (Elastic downloads only then: with the
    /// extraction service, or for the pipeline).
    pub(super) fn downloads(&self) -> bool {
        self.extract_binary_content || self.extraction.is_some()
    }

    /// Whether a file of this name is read here by an office or PDF reader.
    fn reads_here(&self, title: &str) -> bool {
        self.extraction.is_none() && self.local_text && (is_office(title) || is_pdf(title))
    }

    /// Whether a file of this listed size is downloaded to disk: a large one, or one of an
    /// unknown size.
    fn spools(&self, size: Option<u64>) -> bool {
        self.spool_dir.is_some() && size.is_none_or(|size| size > SPOOL_ABOVE)
    }

    /// Whether a file of this name goes to the pipeline as it is (`_attachment`): it is not
    /// text, and neither read here nor by the extraction service. Spooled, it is kept as
    /// base64.
    fn sends_file(&self, title: &str) -> bool {
        self.extraction.is_none() && !self.reads_here(title) && !text_like(title)
    }
}

/// What happened to one attachment's content.
#[derive(Debug)]
pub(super) enum ContentOutcome {
    /// Text in `body`, or base64 in `_attachment`.
    Extracted {
        /// Bytes downloaded.
        bytes: u64,
    },
    /// Not downloaded: the type is not one the pipeline reads, or extraction is off.
    Skipped,
    /// Larger than the limit: indexed without content.
    TooLarge,
    /// Its text could not be read (the extraction service refused or did not answer, or the
    /// local reader could not read the file): indexed without content, reported.
    Unextracted {
        /// Bytes downloaded.
        bytes: u64,
        /// Why.
        reason: String,
    },
    /// Named as text but holding binary data: sent as a file (`_attachment`), for the
    /// pipeline to read what it can, not decoded into garbage text.
    NotText {
        /// Bytes downloaded.
        bytes: u64,
    },
}

/// What is to be done with one attachment's content, decided before any request.
#[derive(Debug)]
pub(super) enum Plan {
    /// No download: indexed without content, for this reason.
    Skip(ContentOutcome),
    /// Download it, once this many bytes of the download budget are free.
    Download {
        /// The most the download and what is made from it hold at once; for a file
        /// downloaded to disk, what its download holds (what is made from it takes its own
        /// share once it is downloaded).
        reserve: u64,
        /// To disk ([`crate::extract::spool`]).
        spool: bool,
    },
}

/// Decides, from the listing alone, whether `doc`'s content is downloaded and how much of the
/// budget ([`crate::extract::budget`]) it needs first.
///
/// A file listed over the size cap is never requested; it is named in the log. A file whose
/// size is not listed reserves what it may become at most (the cap): the download enforces
/// the cap while streaming, and the unused part is given back after. A file downloaded to
/// disk reserves nothing: its buffers are the budget's set-aside slice.
pub(super) fn plan(doc: &Document, policy: &ContentPolicy) -> Plan {
    if !policy.downloads() || !is_supported_extension(&doc.title) {
        return Plan::Skip(ContentOutcome::Skipped);
    }
    match doc.size {
        Some(size) if size > policy.max_bytes => {
            tracing::warn!(
                id = doc.id.as_str(),
                title = doc.title.as_str(),
                bytes = size,
                "attachment {:?} ({size} bytes) is over service.max_file_download_size ({} bytes): \
                 indexed without its content, not downloaded",
                doc.title,
                policy.max_bytes
            );
            Plan::Skip(ContentOutcome::TooLarge)
        }
        // Its download's buffers are the budget's set-aside slice ([`DownloadBudget::stream`]).
        size if policy.spools(size) => Plan::Download { reserve: 0, spool: true },
        Some(size) => Plan::Download { reserve: peak_bytes(&doc.title, size, policy), spool: false },
        None => Plan::Download { reserve: peak_bytes(&doc.title, policy.max_bytes, policy), spool: false },
    }
}

/// The most that a file of `size` bytes holds while it is turned into what is indexed: its
/// bytes, and beside them its text (at most twice the bytes for UTF-16 or markup, counted
/// as the bytes once more; the extraction service's text likewise) or its base64 (4 bytes
/// for 3).
///
/// An office document read here holds its bytes, one inflated part at a time (bounded by
/// [`crate::extract::office::MAX_ENTRY`]) and its text: counted as four times its size; a
/// PDF, its bytes until its reader has them and the text it answers, likewise (the reader's
/// own memory is its process's, bounded there: [`crate::extract::isolated`]).
fn peak_bytes(title: &str, size: u64, policy: &ContentPolicy) -> u64 {
    if policy.reads_here(title) {
        return size.saturating_mul(4);
    }
    if text_like(title) || policy.extraction.is_some() {
        size.saturating_mul(2)
    } else {
        size.saturating_add(size.div_ceil(3).saturating_mul(4))
    }
}

/// The longest an office document's or a PDF's text may take to read
/// (`service.attachment_text: local`); past it the document is indexed without content. An
/// office reader's thread runs on to its own bounds ([`crate::extract::office::MAX_ENTRY`],
/// `MAX_TEXT`) and ends; a PDF's reader process is killed.
const READ_TIME: std::time::Duration = std::time::Duration::from_secs(30);

/// What `doc`'s content holds at most from now until Elasticsearch has answered the request
/// that wrote it: a file beside its base64 while it is written into the `_bulk` body, or a
/// text beside its serialized copy.
fn carried_peak(doc: &Document) -> u64 {
    let file = doc.attachment.as_ref().map_or(0, Attached::file_len);
    let text = doc.body.as_ref().map_or(0, |t| t.len() as u64);
    file + file.div_ceil(3) * 4 + text * 2
}

/// Downloads `reference` and puts its content into `doc` (text in `body`, or the file in
/// `attachment`, for `_attachment`); `share` is the budget taken for it ([`plan`]), cut down
/// to what `doc` carries ([`carried_peak`]).
///
/// A file downloaded to disk (`spool`) holds buffers, not itself, while it downloads; then
/// its share is given back and what is made from it takes one of its own from `budget`: its
/// base64, copied from disk by the bulk encoder, or the file read back and its text. The task
/// holds no memory while it waits for that share, only its file on disk.
///
/// An error means the download itself failed after its retries: the caller reports the
/// document and does not index it, so the next sync tries again.
pub(super) async fn fill(
    client: &ConfluenceClient,
    doc: &mut Document,
    reference: &AttachmentRef,
    policy: &ContentPolicy,
    spool: bool,
    share: &mut Share,
    budget: &DownloadBudget,
) -> Result<ContentOutcome, ConfluenceError> {
    let on_disk = match policy.spool_dir.as_deref().filter(|_| spool) {
        Some(dir) => to_disk(client, doc, reference, policy, dir, share, budget).await?,
        None => OnDisk::Memory,
    };
    let file = match on_disk {
        OnDisk::Done(outcome) => return Ok(outcome),
        OnDisk::Read(file) => file,
        OnDisk::Memory => {
            if spool {
                // Its share was that of a download to disk: now that of one into memory.
                let size = doc.size.unwrap_or(policy.max_bytes);
                *share = budget.take(peak_bytes(&doc.title, size, policy)).await;
            }
            match client.download(reference, policy.max_bytes).await {
                Ok(download) => download.bytes,
                Err(e) => return over_the_cap(doc, e, share),
            }
        }
    };
    let bytes = file.len() as u64;
    if let Some(service) = &policy.extraction {
        return Ok(match service.extract(&doc.title, file).await {
            Ok(text) => {
                doc.body = Some(text);
                share.shrink_to(carried_peak(doc));
                ContentOutcome::Extracted { bytes }
            }
            Err(e) => {
                share.shrink_to(0);
                ContentOutcome::Unextracted { bytes, reason: e.to_string() }
            }
        });
    }
    if policy.reads_here(&doc.title) {
        let read = if is_pdf(&doc.title) {
            read_pdf(file, READ_TIME).await
        } else {
            read_office(doc.title.clone(), file).await
        };
        return Ok(match read {
            Ok(text) => {
                doc.body = Some(text);
                share.shrink_to(carried_peak(doc));
                ContentOutcome::Extracted { bytes }
            }
            Err(reason) => {
                share.shrink_to(0);
                ContentOutcome::Unextracted { bytes, reason }
            }
        });
    }
    let not_text = text_like(&doc.title) && looks_binary(&file);
    if text_like(&doc.title) && !not_text {
        // Valid UTF-8 becomes the text without a copy.
        let text = decode_text(&doc.title, Vec::from(file));
        doc.body = Some(text);
    } else {
        // Kept as downloaded: the bulk encoder writes its base64 straight into the request.
        doc.attachment = Some(Attached::Bytes(file));
    }
    share.shrink_to(carried_peak(doc));
    Ok(if not_text { ContentOutcome::NotText { bytes } } else { ContentOutcome::Extracted { bytes } })
}

/// What became of a download to disk.
enum OnDisk {
    /// Nothing more to do: the document carries the spooled base64, or indexes no content.
    Done(ContentOutcome),
    /// The file, read back into memory for its text.
    Read(bytes::Bytes),
    /// Not on disk: no directory can be used, or the disk refused the file (full, or gone
    /// since the sync started). It is downloaded into memory instead, rather than lost.
    Memory,
}

/// Downloads `reference` into a spool in `dir`, with a slot of the buffers set aside in
/// `budget` and no share; then takes the share of what is made from it ([`fill`]).
async fn to_disk(
    client: &ConfluenceClient,
    doc: &mut Document,
    reference: &AttachmentRef,
    policy: &ContentPolicy,
    dir: &std::path::Path,
    share: &mut Share,
    budget: &DownloadBudget,
) -> Result<OnDisk, ConfluenceError> {
    let sends_file = policy.sends_file(&doc.title);
    let encoding = if sends_file { Encoding::Base64 } else { Encoding::Raw };
    share.release();
    let slot = budget.stream().await;
    let file = match client.download_to_disk(reference, policy.max_bytes, dir, encoding).await {
        Ok(file) => file,
        Err(ConfluenceError::Spool { detail, .. }) => {
            tracing::warn!(
                id = doc.id.as_str(),
                title = doc.title.as_str(),
                "attachment {:?} could not be kept on disk ({detail}): downloaded into memory instead",
                doc.title
            );
            return Ok(OnDisk::Memory);
        }
        Err(e) => return over_the_cap(doc, e, share).map(OnDisk::Done),
    };
    drop(slot);
    if sends_file {
        *share = budget.take(file.len()).await;
        let bytes = file.raw_len();
        doc.attachment = Some(Attached::Base64(file));
        return Ok(OnDisk::Done(ContentOutcome::Extracted { bytes }));
    }
    *share = budget.take(peak_bytes(&doc.title, file.raw_len(), policy)).await;
    match file.read_all().await {
        Ok(bytes) => Ok(OnDisk::Read(bytes)),
        Err(e) => {
            tracing::warn!(
                id = doc.id.as_str(),
                title = doc.title.as_str(),
                "attachment {:?} could not be read back from disk ({e}): downloaded into memory instead",
                doc.title
            );
            share.release();
            Ok(OnDisk::Memory)
        }
    }
}

/// A download stopped at the size cap ([`ConfluenceError::TooLarge`]) is an outcome, named
/// here as the listed ones are in [`plan`]; any other error is the caller's.
fn over_the_cap(
    doc: &Document,
    error: ConfluenceError,
    share: &mut Share,
) -> Result<ContentOutcome, ConfluenceError> {
    let ConfluenceError::TooLarge { limit, .. } = error else {
        return Err(error);
    };
    // Not listed with a size (or listed smaller than it is).
    tracing::warn!(
        id = doc.id.as_str(),
        title = doc.title.as_str(),
        "attachment {:?} is over service.max_file_download_size ({limit} bytes): the download \
         stopped there; indexed without its content",
        doc.title
    );
    share.shrink_to(0);
    Ok(ContentOutcome::TooLarge)
}

/// The text of the office document `file` named `name`, read on a blocking thread within
/// [`READ_TIME`]; an error says why there is none.
async fn read_office(name: String, file: bytes::Bytes) -> Result<String, String> {
    let read = tokio::task::spawn_blocking(move || office_text(&name, &file));
    match tokio::time::timeout(READ_TIME, read).await {
        Ok(Ok(Ok(text))) => Ok(text),
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Err(e)) => Err(format!("its reader failed: {e}")),
        Err(_) => Err(format!("reading its text took longer than {READ_TIME:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attachment(title: &str, size: Option<u64>) -> Document {
        let kind = super::super::document::DocType::Attachment;
        let mut doc =
            Document::new("att1".into(), kind, String::new(), title.into(), "S".into(), String::new());
        doc.size = size;
        doc
    }

    /// Files for the pipeline, at most 1000 bytes, within 1 MiB of memory.
    fn pipeline_policy() -> ContentPolicy {
        ContentPolicy {
            max_bytes: 1000,
            memory_budget: 1 << 20,
            extract_binary_content: true,
            local_text: false,
            extraction: None,
            spool_dir: None,
        }
    }

    #[tokio::test]
    async fn a_file_found_too_large_while_downloading_is_named() {
        use crate::confluence::client::tests::test_client;
        use crate::confluence::test_server::serve;
        use crate::confluence::Flavour;
        let (server, _) = serve(|_, _| {
            axum::response::Response::builder()
                .status(200)
                .body(axum::body::Body::from(vec![b'x'; 4096]))
                .unwrap_or_default()
        })
        .await;
        let client = test_client(&server.origin, Flavour::Server).await;
        let mut doc = attachment("quarterly report.pdf", None);
        let reference = AttachmentRef {
            id: "att1".into(),
            container_id: "1".into(),
            download_path: Some("/download/attachments/1/quarterly%20report.pdf".into()),
        };
        let policy = pipeline_policy();
        let budget = crate::extract::budget::DownloadBudget::new(1 << 20, 0);
        let mut share = budget.take(1000).await;
        let captured = crate::logging::Captured::start();
        let outcome = fill(&client, &mut doc, &reference, &policy, false, &mut share, &budget).await;
        assert!(matches!(outcome, Ok(ContentOutcome::TooLarge)));
        let events = captured.events();
        assert!(
            events.iter().any(|e| e["title"] == "quarterly report.pdf"
                && e["message"].as_str().is_some_and(|m| m.contains("quarterly report.pdf"))),
            "{events:?}"
        );
    }

    #[tokio::test]
    async fn a_file_goes_to_disk_and_back_or_into_memory_when_the_disk_refuses_it() {
        use crate::confluence::client::tests::test_client;
        use crate::confluence::test_server::serve;
        use crate::confluence::Flavour;
        let (server, _) =
            serve(|_, _| axum::response::Response::new(axum::body::Body::from(vec![b'x'; 4096]))).await;
        let client = test_client(&server.origin, Flavour::Server).await;
        let reference = AttachmentRef {
            id: "att1".into(),
            container_id: "1".into(),
            download_path: Some("/download/attachments/1/file".into()),
        };
        let disk = tempfile::tempdir().unwrap();
        let gone = tempfile::tempdir().unwrap();
        let gone_path = gone.path().to_path_buf();
        // Removed after the sync started, as a full or vanished volume refuses files.
        drop(gone);
        let captured = crate::logging::Captured::start();
        for dir in [disk.path().to_path_buf(), gone_path] {
            let refused = !dir.exists();
            let policy = ContentPolicy { max_bytes: 1 << 20, spool_dir: Some(dir), ..pipeline_policy() };
            let budget = crate::extract::budget::DownloadBudget::new(1 << 20, 1);
            for title in ["a.pdf", "notes.txt"] {
                let mut doc = attachment(title, Some(4096));
                let mut share = budget.take(0).await;
                let outcome = fill(&client, &mut doc, &reference, &policy, true, &mut share, &budget).await;
                assert!(
                    matches!(outcome, Ok(ContentOutcome::Extracted { bytes: 4096 })),
                    "{title}: {outcome:?}"
                );
                match (title, &doc.attachment) {
                    ("a.pdf", Some(Attached::Base64(spool))) => {
                        assert!(!refused && spool.is_base64() && spool.raw_len() == 4096);
                        assert_eq!(share.kib(), 6, "its base64's share, taken once downloaded");
                    }
                    ("a.pdf", Some(Attached::Bytes(bytes))) => {
                        assert!(refused && bytes.len() == 4096);
                        assert_eq!(share.kib(), 10, "the file and its base64, in memory");
                    }
                    ("notes.txt", None) => {
                        assert_eq!(
                            doc.body.as_deref().map(str::len),
                            Some(4096),
                            "read back, or downloaded again"
                        );
                        assert_eq!(share.kib(), 8, "the text and its serialized copy");
                    }
                    other => panic!("{other:?} (refused: {refused})"),
                }
            }
        }
        let said = captured
            .events()
            .iter()
            .filter(|e| e["message"].as_str().is_some_and(|m| m.contains("could not be kept on disk")))
            .count();
        assert_eq!(said, 2, "each file the disk refused is named");
    }

    #[test]
    fn large_files_and_files_of_unknown_size_download_to_disk() {
        let policy =
            ContentPolicy { max_bytes: 50 << 20, spool_dir: Some(std::env::temp_dir()), ..pipeline_policy() };
        let spooled = |doc: &Document, policy: &ContentPolicy| match plan(doc, policy) {
            Plan::Download { reserve, spool } => Some((reserve, spool)),
            Plan::Skip(_) => None,
        };
        // Large: no share while it downloads (its buffers are set aside), its own after.
        assert_eq!(spooled(&attachment("a.pdf", Some(8 << 20)), &policy), Some((0, true)));
        assert_eq!(spooled(&attachment("a.txt", Some(8 << 20)), &policy), Some((0, true)));
        assert_eq!(spooled(&attachment("a.pdf", None), &policy), Some((0, true)), "unlisted");
        // Small: in memory, its bytes and base64 reserved before the download.
        assert_eq!(spooled(&attachment("a.pdf", Some(300)), &policy), Some((700, false)));
        assert_eq!(
            spooled(&attachment("a.pdf", Some(1 << 20)), &policy),
            Some(((1 << 20) + (1u64 << 20).div_ceil(3) * 4, false))
        );
        // What a spool keeps: base64 for the pipeline's files, the file for text read here.
        assert!(policy.sends_file("a.pdf") && policy.sends_file("deck.pptx"));
        assert!(!policy.sends_file("a.txt") && !policy.sends_file("notes.html"));
        let local = ContentPolicy { local_text: true, ..policy.clone() };
        assert!(!local.sends_file("a.pdf") && !local.sends_file("a.docx"));
        // No usable directory: everything in memory, as before.
        let unwritable = ContentPolicy { spool_dir: None, ..policy };
        assert_eq!(spooled(&attachment("a.pdf", Some(8 << 20)), &unwritable).map(|p| p.1), Some(false));
    }

    #[test]
    fn an_unwritable_spool_directory_is_said_once_and_not_used() {
        let captured = crate::logging::Captured::start();
        let missing = std::env::temp_dir().join(format!("no-such-dir-{}", std::process::id()));
        assert_eq!(spool_dir(missing.clone()), None);
        let on_disk = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
        assert_eq!(spool_dir(on_disk.clone()), Some(on_disk));
        let events = captured.events();
        let said: Vec<_> = events
            .iter()
            .filter_map(|e| e["message"].as_str())
            .filter(|m| m.contains("no temporary file can be made"))
            .collect();
        assert_eq!(said.len(), 1, "{events:?}");
        assert!(
            said[0].contains(&missing.display().to_string()) && said[0].contains("TMPDIR"),
            "{}",
            said[0]
        );
    }

    #[test]
    fn the_plan_follows_the_listed_size() {
        let policy = pipeline_policy();
        fn reserve_with(doc: &Document, policy: &ContentPolicy) -> Option<u64> {
            match plan(doc, policy) {
                Plan::Download { reserve, .. } => Some(reserve),
                Plan::Skip(_) => None,
            }
        }
        let reserve = |doc: &Document| reserve_with(doc, &policy);
        assert_eq!(reserve(&attachment("a.pdf", Some(300))), Some(300 + 400));
        assert_eq!(reserve(&attachment("a.txt", Some(300))), Some(600));
        assert_eq!(reserve(&attachment("a.pdf", None)), Some(1000 + 1336), "unlisted: the cap");
        assert!(matches!(
            plan(&attachment("a.pdf", Some(1001)), &policy),
            Plan::Skip(ContentOutcome::TooLarge)
        ));
        assert!(matches!(plan(&attachment("a.exe", Some(10)), &policy), Plan::Skip(ContentOutcome::Skipped)));
        let local = ContentPolicy { local_text: true, ..policy.clone() };
        assert_eq!(reserve_with(&attachment("a.docx", Some(300)), &local), Some(1200), "bytes, part, text");
        assert_eq!(reserve_with(&attachment("a.PDF", Some(300)), &local), Some(1200), "bytes and text");
        assert_eq!(reserve_with(&attachment("a.docx", Some(300)), &policy), Some(700), "as base64");
        let off = ContentPolicy { extract_binary_content: false, ..policy.clone() };
        assert!(matches!(plan(&attachment("a.pdf", Some(10)), &off), Plan::Skip(ContentOutcome::Skipped)));
    }
}
