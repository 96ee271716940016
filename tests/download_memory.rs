//! Attachment downloads are bounded by bytes (`service.max_download_memory`), not only by
//! count (`concurrent_downloads`): with a budget smaller than any file, files held in memory
//! are fetched one after the other however many downloads are allowed at once; with the default
//! budget, many together. Files over 1 MiB download to disk, holding buffers rather than
//! themselves, so a small budget does not hold them back; and what a finished download holds
//! goes to Elasticsearch at once, whatever the crawl is waiting for. Judged by what the
//! simulator saw: the most files it was handing out at once
//! ([`sim::confluence::RequestLog::peak_files_in_flight`]), a count that a loaded machine
//! does not change, where a wall time does.

use std::collections::HashMap;
use std::time::Duration;

use confluence_connector::config;
use confluence_connector::sync;
use confluence_connector::sync::SyncKind;
use confluence_connector::Shutdown;
use sim::confluence::{AttachmentSizes, FaultKind, FaultRule, Flavour, SimConfig, Size, Trigger};
use sim::world::World;

const MIB: u64 = 1024 * 1024;
/// Each download's body arrives in chunks of 64 KiB, this far apart.
const CHUNK_DELAY: Duration = Duration::from_millis(50);

/// A site of 100 pages, one attachment of `size` bytes every tenth; every download streams
/// slowly.
async fn slow_site(index: &str, size: u64, budget: u64) -> (World, config::Config, String) {
    let mut site = SimConfig::new(Flavour::Server, Size::Small);
    site.pages = Some(100);
    site.attachment_sizes = AttachmentSizes::All(size);
    let world = World::start(site).await.unwrap();
    world.confluence.faults().add(FaultRule::on(
        "/download/attachments/{id}/{file}",
        Trigger::Always,
        FaultKind::SlowBody { chunk: 64 * 1024, delay: CHUNK_DELAY },
    ));
    let index = format!("{index}-{}", std::process::id());
    let text = world.config_yaml(&index, &["retry_count: 1", "concurrent_downloads: 50"]).replacen(
        "service:\n",
        &format!("service:\n  max_download_memory: {budget}\n"),
        1,
    );
    let config = config::load_str(&text, &HashMap::new()).unwrap().config;
    (world, config, index)
}

#[tokio::test]
async fn a_budget_smaller_than_any_file_downloads_them_one_at_a_time() {
    let (world, config, _index) = slow_site("download-budget", MIB / 2, 64 * 1024).await;
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    let large = report.downloaded - 2; // the two 20 KB files with awkward names
    assert!(large >= 10, "{report}");
    // Each file, held in memory, needs more than the whole budget (its bytes and base64: 47 KB
    // for the smallest; half of the 64 KiB is set aside for the buffers of downloads to
    // disk): it goes alone.
    assert_eq!(world.confluence.requests().peak_files_in_flight(), 1, "{report}");
}

#[tokio::test]
async fn with_the_default_budget_they_download_together() {
    let (world, config, _index) = slow_site("download-together", MIB / 2, 64 * MIB).await;
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    let large = report.downloaded - 2;
    assert!(large >= 10, "{report}");
    // The budget holds over 40 of them (1.2 MiB each with their base64) and each body takes
    // at least 350 ms to arrive, so the files the crawl finds meanwhile are fetched beside it.
    let together = world.confluence.requests().peak_files_in_flight();
    assert!(together >= large / 2, "at most {together} of {large} files at once: {report}");
}

#[tokio::test]
async fn large_files_for_the_pipeline_wait_on_disk_and_download_together() {
    // A file of 2 MiB held in memory from its first byte would take 4 to 4.7 MiB of this
    // budget (bytes and text or base64), so one or two would download at a time; downloaded
    // to disk, each holds buffers while it downloads, and its text or base64 only after.
    let (world, config, index) = slow_site("download-spooled", 2 * MIB, 8 * MIB).await;
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    let large = report.downloaded - 2;
    assert!(large >= 10, "{report}");
    let together = world.confluence.requests().peak_files_in_flight();
    assert!(
        together >= large / 2,
        "at most {together} of {large} files at once (nothing is spooled where TMPDIR is a tmpfs or \
         unwritable): {report}"
    );
    // Each file reached Elasticsearch whole: the test server's pipeline reads the text of the
    // `_attachment` that was copied from the spool into `body`, where the file's marker is; a
    // real node without the attachment processor keeps `_attachment` as it was sent.
    world.refresh(&index).await.unwrap();
    let query = serde_json::json!({
        "query": {"term": {"type": "attachment"}}, "size": 1000,
        "_source": ["title", "body", "size", "_attachment"]
    });
    let found = world.search(&index, query).await.unwrap();
    let hits = found["hits"]["hits"].as_array().cloned().unwrap_or_default();
    let pdfs: Vec<_> = hits
        .iter()
        .map(|hit| &hit["_source"])
        .filter(|doc| doc["title"].as_str().is_some_and(|t| t.ends_with(".pdf")))
        .filter(|doc| doc["size"].as_u64().is_some_and(|size| size > MIB))
        .collect();
    assert!(!pdfs.is_empty(), "the site has large PDFs: {hits:?}");
    for pdf in pdfs {
        let text = match pdf["_attachment"].as_str() {
            Some(encoded) => {
                use base64::Engine;
                let file = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
                assert_eq!(Some(file.len() as u64), pdf["size"].as_u64(), "{}", pdf["title"]);
                String::from_utf8_lossy(&file).into_owned()
            }
            None => pdf["body"].as_str().unwrap_or_default().to_string(),
        };
        assert!(text.contains("qzmark"), "{}: {text:.200}", pdf["title"]);
    }
}

#[tokio::test]
async fn a_finished_download_is_written_while_the_crawl_waits() {
    // One space; the first two content searches of its crawl answer at once, every later one
    // after 4 s: the files they list download meanwhile, and are written without waiting for
    // the crawl's next event (their share of the budget would be held until then).
    let mut site = SimConfig::new(Flavour::Server, Size::Small);
    site.pages = Some(100);
    site.attachment_sizes = AttachmentSizes::All(64 * 1024);
    let world = World::start(site).await.unwrap();
    let stall = Duration::from_secs(4);
    world.confluence.faults().add(FaultRule::on(
        "/rest/api/content/search",
        Trigger::AfterN(2),
        FaultKind::Latency { fixed: stall, jitter: Duration::ZERO },
    ));
    let index = format!("download-while-crawling-{}", std::process::id());
    let text = world.config_yaml(&index, &["retry_count: 1"]).replace("  spaces: \"*\"\n", "  spaces: ENG\n");
    let config = config::load_str(&text, &HashMap::new()).unwrap().config;
    let started = std::time::Instant::now();
    let attachments = serde_json::json!({"term": {"type": "attachment"}});
    let watch = async {
        let mut written = 0;
        while started.elapsed() < stall - Duration::from_millis(500) && written == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if world.refresh(&index).await.is_ok() {
                written = world.count(&index, attachments.clone()).await.unwrap_or(0);
            }
        }
        written
    };
    let (report, written) = tokio::join!(sync::run(&config, SyncKind::Full, Shutdown::never()), watch);
    let report = report.unwrap();
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    assert!(report.downloaded >= 1, "{report}");
    assert!(written >= 1, "no attachment written while the crawl waited {stall:?}: {report}");
}
