//! Attachments whose base64 `_attachment` is larger than
//! `elasticsearch.bulk.max_text_document_size` are indexed with it: that cap is the text
//! documents', and a file is bounded by `service.max_file_download_size` instead.

use std::collections::HashMap;

use confluence_connector::config;
use confluence_connector::sync;
use confluence_connector::sync::SyncKind;
use confluence_connector::Shutdown;
use serde_json::json;
use sim::confluence::{AttachmentSizes, Flavour, SimConfig, Size};
use sim::world::World;

#[tokio::test]
async fn binary_attachments_over_the_text_cap_are_indexed_with_their_content() {
    let mut site = SimConfig::new(Flavour::Server, Size::Small);
    site.pages = Some(100);
    site.attachment_sizes = AttachmentSizes::All(2 * 1024 * 1024);
    let world = World::start(site).await.unwrap();
    let index = format!("large-attachments-{}", std::process::id());
    let text = world.config_yaml(&index, &["retry_count: 1"]).replacen(
        "elasticsearch:\n",
        "elasticsearch:\n  bulk:\n    max_text_document_size: 1\n",
        1,
    );
    let config = config::load_str(&text, &HashMap::new()).unwrap().config;
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    world.refresh(&index).await.unwrap();
    assert!(report.downloaded >= 10, "{report}");
    let attachments = world.count(&index, json!({"term": {"type": "attachment"}})).await.unwrap();
    assert!(attachments >= report.downloaded, "{attachments} attachments indexed: {report}");
}

/// Every listing carries the size (Cloud v2, Server/DC `children.attachment` and the
/// per-page listing alike): a file listed over `service.max_file_download_size` is never
/// requested, on any flavour.
#[tokio::test]
async fn a_file_listed_over_the_download_cap_is_not_requested() {
    for flavour in [Flavour::Cloud, Flavour::Server, Flavour::DataCenter] {
        let mut site = SimConfig::new(flavour, Size::Small);
        site.pages = Some(100);
        site.attachment_sizes = AttachmentSizes::All(2 * 1024 * 1024);
        let world = World::start(site).await.unwrap();
        let index = format!("over-the-cap-{flavour}-{}", std::process::id());
        let text = world.config_yaml(&index, &["retry_count: 1"]).replacen(
            "service:\n",
            "service:\n  max_file_download_size: 1048576\n",
            1,
        );
        let config = config::load_str(&text, &HashMap::new()).unwrap().config;
        let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
        assert!(report.failed.is_empty(), "{flavour}: {:?}", report.failed);
        assert!(report.too_large >= 10, "{flavour}: {report}");
        // Only the two small files with awkward names are downloaded.
        assert_eq!(report.downloaded, 2, "{flavour}: {report}");
        let downloads: u64 = world
            .confluence
            .requests()
            .snapshot()
            .iter()
            .filter(|((route, _), _)| route.contains("download"))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(downloads, 2, "{flavour}: {:?}", world.confluence.requests().snapshot());
        // Not a byte of the files over the cap left the server: all it sent were the two
        // small files (Cloud: through the media host, after a redirect without a body).
        let log = world.confluence.requests();
        let served = log.served_bytes("download") + log.served_bytes("binary");
        assert_eq!(served, report.downloaded_bytes, "{flavour}: {report}");
        assert!(served < 1024 * 1024, "{flavour}: {served} bytes served");
    }
}
