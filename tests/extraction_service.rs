//! `use_text_extraction_service`: every downloaded file goes to the configured
//! `extraction_service` (the test world's stand-in, [`sim::extraction`]) and its text is
//! indexed as `body`, streamed or through a file on a shared volume; refusals and outages
//! are tried again, and what still fails is indexed without content and counted — the sync
//! goes on.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use confluence_connector::config;
use confluence_connector::sync::{self, SyncKind, SyncReport};
use confluence_connector::Shutdown;
use serde_json::json;
use sim::confluence::{Flavour, SimConfig, Size};
use sim::extraction::ExtractionSim;
use sim::world::World;

/// A site of 100 pages; a sync of it with the extraction service and `extra` settings of it.
async fn sync_with_service(name: &str, service: &ExtractionSim, extra: &str) -> (World, String, SyncReport) {
    let mut site = SimConfig::new(Flavour::Server, Size::Small);
    site.pages = Some(100);
    let world = World::start(site).await.unwrap();
    let index = format!("{name}-{}", std::process::id());
    let mut text = world.config_yaml(&index, &["retry_count: 1", "use_text_extraction_service: true"]);
    text.push_str(&format!("extraction_service:\n  host: {}\n  timeout: 2\n{extra}", service.url()));
    let config = config::load_str(&text, &HashMap::new()).unwrap().config;
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    (world, index, report)
}

/// Attachments indexed with a `body` and without `_attachment`.
async fn with_text(world: &World, index: &str) -> u64 {
    world.refresh(index).await.unwrap();
    let query =
        json!({"bool": {"filter": [{"term": {"type": "attachment"}}, {"exists": {"field": "body"}}]}});
    world.count(index, query).await.unwrap()
}

#[tokio::test]
async fn files_are_streamed_to_the_service_and_their_text_indexed() {
    let service = ExtractionSim::start().await.unwrap();
    let (world, index, report) = sync_with_service("extraction-stream", &service, "").await;
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    let log = service.log();
    assert!(report.downloaded >= 10, "{report}");
    assert_eq!(log.requests.load(Ordering::Relaxed), report.downloaded, "one request per file");
    assert_eq!(log.bytes.load(Ordering::Relaxed), report.downloaded_bytes, "the whole file, streamed");
    assert_eq!(log.file_pointers.load(Ordering::Relaxed), 0);
    assert_eq!(report.unextracted, 0, "{report}");
    assert!(with_text(&world, &index).await >= report.downloaded, "{report}");
    world.refresh(&index).await.unwrap();
    let base64 = world.count(&index, json!({"exists": {"field": "_attachment"}})).await.unwrap();
    assert_eq!(base64, 0, "no file goes to the pipeline");
}

#[tokio::test]
async fn with_file_pointers_files_go_through_the_shared_volume_and_are_removed() {
    let service = ExtractionSim::start().await.unwrap();
    let volume = tempfile::tempdir().unwrap();
    let extra = format!("  use_file_pointers: true\n  shared_volume_dir: {}\n", volume.path().display());
    let (world, index, report) = sync_with_service("extraction-pointers", &service, &extra).await;
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    let log = service.log();
    assert!(report.downloaded >= 10, "{report}");
    assert_eq!(log.file_pointers.load(Ordering::Relaxed), report.downloaded);
    assert_eq!(log.bytes.load(Ordering::Relaxed), 0, "no body: the path only");
    assert!(with_text(&world, &index).await >= report.downloaded, "{report}");
    assert_eq!(std::fs::read_dir(volume.path()).unwrap().count(), 0, "every file removed");
}

#[tokio::test]
async fn an_outage_is_tried_again_and_a_lasting_one_leaves_files_without_text() {
    // Two 503s: each file is tried up to three times, so every text comes back.
    let service = ExtractionSim::start().await.unwrap();
    service.log().fail_next.store(2, Ordering::Relaxed);
    let (_world, _index, report) = sync_with_service("extraction-retry", &service, "").await;
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    assert_eq!(report.unextracted, 0, "{report}");
    assert_eq!(service.log().requests.load(Ordering::Relaxed), report.downloaded + 2);

    // A service that never answers in time: files are indexed without text, counted, and
    // the sync completes.
    let service = ExtractionSim::start().await.unwrap();
    service.log().stall_ms.store(3_000, Ordering::Relaxed);
    service.log().stall_next.store(u64::MAX, Ordering::Relaxed);
    let (world, index, report) = sync_with_service("extraction-down", &service, "").await;
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    assert!(report.downloaded >= 10, "{report}");
    assert_eq!(report.unextracted, report.downloaded, "{report}");
    world.refresh(&index).await.unwrap();
    let attachments = world.count(&index, json!({"term": {"type": "attachment"}})).await.unwrap();
    assert!(attachments >= report.downloaded, "still indexed, without content: {report}");
}
