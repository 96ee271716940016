//! Incremental syncs against the Confluence simulator and Elasticsearch (the test server, or
//! a real cluster when `ES_URL` is set). After edits, moves between spaces, trashing,
//! purging, restoring, new and removed spaces and new attachment versions, an incremental
//! sync leaves the index exactly as a fresh full sync makes it, for every flavour; the search
//! index's lag and a site time zone far from UTC lose nothing; a failed incremental sync
//! deletes nothing and leaves the cursor where it was.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use confluence_connector::cli::sync::run_sync;
use confluence_connector::config::{self, Config};
use confluence_connector::service::SyncKind;
use confluence_connector::sync::report::SyncReport;
use serde_json::{json, Value};
use sim::confluence::model::parse_api_id;
use sim::confluence::{
    AttachmentFormat, ContentKind, FaultKind, FaultRule, Flavour, SimConfig, Size, Trigger,
};

#[path = "../examples/common/mod.rs"]
mod common;
use common::World;

struct Incremental {
    world: World,
    index: String,
}

impl Incremental {
    async fn start(config: SimConfig, name: &str) -> Incremental {
        let world = World::start(config).await.unwrap();
        Incremental { world, index: format!("incr-{name}-{}", std::process::id()) }
    }

    fn config_for(&self, index: &str) -> Config {
        let text = self.world.config_yaml(index, &["retry_count: 1"]);
        config::load_str(&text, &HashMap::new()).unwrap().config
    }

    async fn sync(&self, kind: SyncKind) -> SyncReport {
        let report = run_sync(&self.config_for(&self.index), kind).await.unwrap();
        assert!(report.completed(), "{kind:?}: {report}");
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        report
    }

    /// Every document of an index, without what legitimately differs between two syncs
    /// (a space's `_timestamp` is the time of the sync that wrote it).
    async fn documents(&self, index: &str) -> BTreeMap<String, Value> {
        self.world.refresh(index).await.unwrap();
        let found =
            self.world.search(index, json!({"size": 10000, "query": {"match_all": {}}})).await.unwrap();
        found["hits"]["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hit| {
                let mut source = hit["_source"].clone();
                if source["type"] == "Space" {
                    source.as_object_mut().unwrap().remove("_timestamp");
                }
                (hit["_id"].as_str().unwrap().to_string(), source)
            })
            .collect()
    }

    /// Checks the index against a fresh full sync of the same site into another index.
    async fn matches_a_fresh_full_sync(&self) {
        let fresh = format!("{}-fresh", self.index);
        let report = run_sync(&self.config_for(&fresh), SyncKind::Full).await.unwrap();
        assert!(report.completed(), "{report}");
        let (ours, theirs) = (self.documents(&self.index).await, self.documents(&fresh).await);
        let missing: Vec<&String> = theirs.keys().filter(|id| !ours.contains_key(*id)).collect();
        let extra: Vec<&String> = ours.keys().filter(|id| !theirs.contains_key(*id)).collect();
        let differ: Vec<&String> = theirs
            .iter()
            .filter(|(id, d)| ours.get(*id).is_some_and(|o| o != *d))
            .map(|(id, _)| id)
            .collect();
        if let Some(id) = differ.first() {
            eprintln!("first difference, {id}:\n ours   {}\n theirs {}", ours[*id], theirs[*id]);
        }
        assert!(
            missing.is_empty() && extra.is_empty() && differ.is_empty(),
            "missing {missing:?}, extra {extra:?}, different {differ:?}"
        );
    }

    fn page_ids(&self, space: &str, kind: ContentKind) -> Vec<u64> {
        self.world
            .confluence
            .catalog()
            .content
            .iter()
            .filter(|c| c.indexed && c.space_key == space && c.kind == kind)
            .filter_map(|c| parse_api_id(&c.id))
            .collect()
    }
}

async fn changes_are_caught_up_exactly(flavour: Flavour) {
    let t = Incremental::start(SimConfig::new(flavour, Size::Small), &format!("{flavour:?}").to_lowercase())
        .await;
    let site = t.world.confluence.site();
    // Trashed before the first sync, restored after it: comes back without a new
    // modification date.
    let restored = t.page_ids("SUP", ContentKind::Page)[3];
    site.trash(restored).unwrap();
    let full = t.sync(SyncKind::Full).await;

    let eng = t.page_ids("ENG", ContentKind::Page);
    site.edit(eng[1], Some("Edited title"), Some("<p>edited body</p>")).unwrap();
    site.edit(eng[2], None, Some("<p>another edit</p>")).unwrap();
    // A new version of an attachment, and a new attachment on an unchanged page.
    let attachment = t.page_ids("ENG", ContentKind::Attachment)[0];
    site.edit(attachment, None, Some("new bytes")).unwrap();
    site.create_attachment(eng[5], "added.txt", AttachmentFormat::Txt, 100).unwrap();
    // A page tree moved to another space.
    let mkt = t.page_ids("MKT", ContentKind::Page);
    site.move_page(eng[3], mkt[0]).unwrap();
    // Trashed and purged pages, with their attachments.
    site.trash(eng[4]).unwrap();
    site.purge(t.page_ids("SALES", ContentKind::Page)[2]).unwrap();
    site.trash(t.page_ids("SALES", ContentKind::BlogPost)[0]).unwrap();
    site.restore(restored).unwrap();
    // A new space with content, and a removed one.
    site.add_space("NEW", "New space").unwrap();
    site.create_page("NEW", None, "Hello", Some("<p>new</p>")).unwrap();
    site.remove_space("FIN").unwrap();

    let incremental = t.sync(SyncKind::Incremental).await;
    eprintln!("{flavour:?} full: {full}\n{flavour:?} incremental: {incremental}");
    assert!(incremental.deleted > 0 && incremental.indexed() > 0, "{incremental}");
    assert!(
        incremental.confluence_requests * 4 < full.confluence_requests,
        "incremental {} requests, full {}",
        incremental.confluence_requests,
        full.confluence_requests
    );
    t.matches_a_fresh_full_sync().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_incremental() {
    changes_are_caught_up_exactly(Flavour::Server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_center_incremental() {
    changes_are_caught_up_exactly(Flavour::DataCenter).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_incremental() {
    changes_are_caught_up_exactly(Flavour::Cloud).await;
}

/// Confluence's search index lags behind edits, and the site's clock is in UTC+14: an edit
/// the search does not show yet is caught by the next incremental sync's overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_search_and_a_far_time_zone_lose_nothing() {
    let mut config = SimConfig::new(Flavour::DataCenter, Size::Small);
    config.search_lag = Duration::from_secs(2);
    config.time_zone = chrono_tz::Pacific::Kiritimati;
    let t = Incremental::start(config, "lag").await;
    t.sync(SyncKind::Full).await;
    let page = t.page_ids("ENG", ContentKind::Page)[1];
    t.world.confluence.site().edit(page, Some("Seen late"), None).unwrap();
    t.sync(SyncKind::Incremental).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    t.sync(SyncKind::Incremental).await;
    let doc = t.world.get(&t.index, &page.to_string()).await.unwrap().unwrap();
    assert_eq!(doc["title"], "Seen late");
    t.matches_a_fresh_full_sync().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_incremental_sync_deletes_nothing_and_keeps_the_cursor() {
    let t = Incremental::start(SimConfig::new(Flavour::Server, Size::Small), "failed").await;
    t.sync(SyncKind::Full).await;
    let state_before = t.world.meta(&t.index).await.unwrap();
    assert!(state_before["confluence_connector"]["cursor"].is_string(), "{state_before}");

    let page = t.page_ids("ENG", ContentKind::Page)[1];
    t.world.confluence.site().trash(page).unwrap();
    t.world.confluence.faults().add(FaultRule::on(
        "/rest/api/content/search",
        Trigger::Always,
        FaultKind::Status(401),
    ));
    let report = run_sync(&t.config_for(&t.index), SyncKind::Incremental).await.unwrap();
    assert!(!report.completed(), "{report}");
    assert_eq!(report.deleted, 0);
    assert!(t.world.get(&t.index, &page.to_string()).await.unwrap().is_some());
    let state_after = t.world.meta(&t.index).await.unwrap();
    assert_eq!(state_before, state_after, "the cursor moved");

    t.world.confluence.faults().clear();
    let report = t.sync(SyncKind::Incremental).await;
    assert!(report.deleted >= 1, "the page and its attachments: {report}");
    assert!(t.world.get(&t.index, &page.to_string()).await.unwrap().is_none());
}

/// Without a recorded sync, an incremental sync is a full one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_incremental_sync_is_a_full_one() {
    let t = Incremental::start(SimConfig::new(Flavour::Cloud, Size::Small), "first").await;
    let report = t.sync(SyncKind::Incremental).await;
    assert_eq!(report.created as usize, t.world.confluence.catalog().documents(), "{report}");
}
