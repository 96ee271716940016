//! Attachment downloads are bounded by bytes (`service.max_download_memory`), not only by
//! count (`concurrent_downloads`): with a budget of one file, files are fetched one after the
//! other however many downloads are allowed at once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

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
    let started = Instant::now();
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    let elapsed = started.elapsed();
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    let large = report.downloaded - 2; // the two 20 KB files with awkward names
    assert!(large >= 10, "{report}");
    // Each 1 MiB file needs more than the whole budget (bytes + base64): it goes alone, and
    // the files' slow bodies follow one another.
    let one = CHUNK_DELAY * 15;
    assert!(elapsed >= one * large as u32, "{elapsed:?} for {large} files of at least {one:?} each");
    drop(world);
}

#[tokio::test]
async fn with_the_default_budget_they_download_together() {
    let (world, config, _index) = slow_site("download-together", 64 * MIB).await;
    let started = Instant::now();
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    let elapsed = started.elapsed();
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    let large = report.downloaded - 2;
    let one = CHUNK_DELAY * 15;
    // Together: well under one after the other (at least `one × large`), the sync's own work
    // included — with room for a loaded machine, where that work takes longer.
    assert!(elapsed < one * large as u32 * 3 / 4, "{elapsed:?} for {large} files of at least {one:?} each");
    drop(world);
}
