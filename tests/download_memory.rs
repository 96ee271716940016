//! Attachment downloads are bounded by bytes (`service.max_download_memory`), not only by
//! count (`concurrent_downloads`): with a budget of one file, files are fetched one after the
//! other however many downloads are allowed at once; with the default budget, many together.
//! Judged by what the simulator saw: the most files it was handing out at once
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
/// Each download's body arrives in 16 chunks, this far apart.
const CHUNK_DELAY: Duration = Duration::from_millis(50);

/// A site of 100 pages, one 1 MiB attachment every tenth; every download streams slowly.
async fn slow_site(index: &str, budget: u64) -> (World, config::Config, String) {
    let mut site = SimConfig::new(Flavour::Server, Size::Small);
    site.pages = Some(100);
    site.attachment_sizes = AttachmentSizes::All(MIB);
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
async fn a_budget_of_one_file_downloads_them_one_at_a_time() {
    let (world, config, _index) = slow_site("download-budget", MIB).await;
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    let large = report.downloaded - 2; // the two 20 KB files with awkward names
    assert!(large >= 10, "{report}");
    // Each 1 MiB file needs more than the whole budget (bytes + base64): it goes alone.
    assert_eq!(world.confluence.requests().peak_files_in_flight(), 1, "{report}");
}

#[tokio::test]
async fn with_the_default_budget_they_download_together() {
    let (world, config, _index) = slow_site("download-together", 64 * MIB).await;
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    let large = report.downloaded - 2;
    assert!(large >= 10, "{report}");
    // The budget holds 27 of them (2.3 MiB each with their base64) and each body takes at
    // least 750 ms to arrive, so the files the crawl finds meanwhile are fetched beside it.
    let together = world.confluence.requests().peak_files_in_flight();
    assert!(together >= large / 2, "at most {together} of {large} files at once: {report}");
}
