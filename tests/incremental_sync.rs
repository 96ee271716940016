//! Incremental syncs against the Confluence simulator and Elasticsearch (the test server, or
//! a real cluster when `ES_URL` is set). After edits, moves between spaces, trashing,
//! purging, restoring, new and removed spaces (from the site or from the configuration),
//! comments and new attachment versions, an incremental sync leaves the index exactly as a
//! fresh full sync makes it, for every flavour, and a sync that failed halfway through a
//! rename is completed by the next; the search index's lag is covered by the overlap, and a
//! site time zone far east or far west of UTC loses nothing; a failed incremental sync
//! deletes nothing and leaves the cursor where it was.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use confluence_connector::config::{self, Config};
use confluence_connector::sync;
use confluence_connector::sync::SyncKind;
use confluence_connector::sync::SyncReport;
use confluence_connector::Shutdown;
use serde_json::{json, Value};
use sim::confluence::model::parse_api_id;
use sim::confluence::{
    AttachmentFormat, Catalog, ContentKind, FaultKind, FaultRule, Flavour, SimConfig, Size, Trigger,
};

use common::World;
use sim::world as common;

struct Incremental {
    world: World,
    index: String,
    /// The `spaces` setting (YAML).
    spaces: String,
    /// More lines of the `confluence` section.
    extra: Vec<String>,
}

impl Incremental {
    async fn start(config: SimConfig, name: &str) -> Incremental {
        let world = World::start(config).await.unwrap();
        Incremental {
            world,
            index: format!("incr-{name}-{}", std::process::id()),
            spaces: "\"*\"".into(),
            extra: vec!["retry_count: 1".into()],
        }
    }

    /// A site of 40 pages in 10 spaces (and the simulator's edge cases): enough for one
    /// change of each kind, and quick.
    async fn tiny(flavour: Flavour, name: &str) -> Incremental {
        let mut config = SimConfig::new(flavour, Size::Small);
        config.pages = Some(40);
        Incremental::start(config, &format!("{name}-{}", format!("{flavour:?}").to_lowercase())).await
    }

    fn config_for(&self, index: &str) -> Config {
        self.config_with(index, &[])
    }

    /// The settings of this test for `index`, with `more` lines in the `confluence` section.
    fn config_with(&self, index: &str, more: &[&str]) -> Config {
        let mut extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        extra.extend_from_slice(more);
        let text = self
            .world
            .config_yaml(index, &extra)
            .replace("  spaces: \"*\"\n", &format!("  spaces: {}\n", self.spaces));
        config::load_str(&text, &HashMap::new()).unwrap().config
    }

    async fn try_sync(&self, kind: SyncKind) -> SyncReport {
        sync::run(&self.config_for(&self.index), kind, Shutdown::never()).await.unwrap()
    }

    async fn sync(&self, kind: SyncKind) -> SyncReport {
        let report = self.try_sync(kind).await;
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

    /// Checks the index against a fresh full sync of the same site, with the same settings,
    /// into another index.
    async fn matches_a_fresh_full_sync(&self) {
        let fresh = format!("{}-fresh", self.index);
        let report = sync::run(&self.config_for(&fresh), SyncKind::Full, Shutdown::never()).await.unwrap();
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

    /// Ids of the documents in the index.
    async fn ids(&self) -> BTreeSet<String> {
        self.documents(&self.index).await.into_keys().collect()
    }

    /// Forgets the simulator's request counts.
    fn reset_requests(&self) {
        self.world.confluence.requests().reset();
    }

    /// Requests to a route template since the last reset (Cloud templates start `/wiki`).
    fn requests(&self, route: &str) -> u64 {
        let log = self.world.confluence.requests();
        match self.world.confluence.config().flavour {
            Flavour::Cloud => log.count(&format!("/wiki{route}")),
            _ => log.count(route),
        }
    }

    /// The route listing a page's attachments.
    fn attachment_listing_route(&self) -> &'static str {
        match self.world.confluence.config().flavour {
            Flavour::Cloud => "/api/v2/pages/{id}/attachments",
            _ => "/rest/api/content/{id}/child/attachment",
        }
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

/// Confluence's search index lags behind edits: an edit made just before a sync is hidden
/// from it, and by the time the search shows it the next sync's window (from the start of
/// the previous sync) may have moved past the edit's `lastmodified`. Only the overlap
/// reaches back to it. Two indexes of the same site are kept, one with the default overlap
/// (60 minutes), one without: the edit reaches the first and is lost to the second, so the
/// test fails if the overlap is not applied. Rather than waiting, the test moves the site's
/// clock on: the lag (ten minutes) and CQL's `now()` run on it, the connector's cursor on the
/// host's — to the connector Confluence's clock then runs fifteen minutes ahead, a skew the
/// overlap covers as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_the_search_index_hides_is_caught_by_the_overlap() {
    let mut config = SimConfig::new(Flavour::DataCenter, Size::Small);
    config.pages = Some(40);
    config.search_lag = Duration::from_secs(600);
    let t = Incremental::start(config, "lag").await;
    let without = format!("{}-no-overlap", t.index);
    let no_overlap = t.config_with(&without, &["incremental_overlap_minutes: 0"]);
    let body = |doc: Value| doc["body"].as_str().unwrap_or_default().to_string();

    t.sync(SyncKind::Full).await;
    assert!(sync::run(&no_overlap, SyncKind::Full, Shutdown::never()).await.unwrap().completed());
    // A body edit: it changes no title or ancestor, so only the window can find it.
    let page = t.page_ids("MKT", ContentKind::Page)[1];
    t.world.confluence.site().edit(page, None, Some("<p>seen late</p>")).unwrap();

    // Hidden by the lag from both.
    t.sync(SyncKind::Incremental).await;
    assert!(sync::run(&no_overlap, SyncKind::Incremental, Shutdown::never()).await.unwrap().completed());
    let doc = t.world.get(&t.index, &page.to_string()).await.unwrap().unwrap();
    assert!(!body(doc).contains("seen late"), "the lag did not hide the edit");

    // The lag has run out; the edit is fifteen minutes old on Confluence's clock.
    t.world.confluence.site().advance_clock(Duration::from_secs(15 * 60));
    let report = sync::run(&no_overlap, SyncKind::Incremental, Shutdown::never()).await.unwrap();
    assert!(report.completed(), "{report}");
    let doc = t.world.get(&without, &page.to_string()).await.unwrap().unwrap();
    assert!(!body(doc).contains("seen late"), "found without the overlap: the test shows nothing");
    t.sync(SyncKind::Incremental).await;
    let doc = t.world.get(&t.index, &page.to_string()).await.unwrap().unwrap();
    assert!(body(doc).contains("seen late"), "the overlap did not reach back to the edit");
    t.matches_a_fresh_full_sync().await;
}

/// Cloud takes attachment ids from the search index (v2 lists attachments only site-wide or
/// page by page), and the index lags behind uploads: an attachment a full sync found through
/// its page may not be searchable yet when the next incremental sync runs. It is asked for
/// by id before being deleted, and kept; one whose page is trashed still goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_not_yet_searchable_is_not_deleted() {
    let mut config = SimConfig::new(Flavour::Cloud, Size::Small);
    config.pages = Some(40);
    config.search_lag = Duration::from_secs(600);
    let t = Incremental::start(config, "unsearchable").await;
    let site = t.world.confluence.site();
    let pages = t.page_ids("MKT", ContentKind::Page);
    let doomed = site.create_attachment(pages[2], "doomed.txt", AttachmentFormat::Txt, 100).unwrap();
    site.advance_clock(Duration::from_secs(15 * 60));
    let fresh = site.create_attachment(pages[1], "fresh.txt", AttachmentFormat::Txt, 100).unwrap();
    t.sync(SyncKind::Full).await;
    let ids = t.ids().await;
    assert!(ids.contains(&format!("att{fresh}")) && ids.contains(&format!("att{doomed}")), "{ids:?}");

    site.trash(pages[2]).unwrap();
    t.reset_requests();
    let report = t.sync(SyncKind::Incremental).await;
    let ids = t.ids().await;
    assert!(ids.contains(&format!("att{fresh}")), "deleted while not searchable yet: {report}");
    assert!(!ids.contains(&format!("att{doomed}")), "the attachment of a trashed page stayed: {report}");
    assert!(t.requests("/api/v2/attachments/{id}") >= 1, "{}", report.routes_line());

    site.advance_clock(Duration::from_secs(15 * 60));
    t.sync(SyncKind::Incremental).await;
    t.matches_a_fresh_full_sync().await;
}

/// The site's clock in a zone far west of UTC (UTC−12) and far east (UTC+14): edits and a
/// new page made just after a full sync are found by the next incremental sync. A window
/// written out as a UTC date would start twelve hours late in UTC−12 and lose the edits (a
/// new attachment version is found by the window alone on every flavour; so is a page's
/// body edit on Data Center, while Cloud's id listing tells it too).
async fn far_time_zones_lose_nothing(flavour: Flavour) {
    for (name, zone) in [("west", chrono_tz::Etc::GMTPlus12), ("east", chrono_tz::Pacific::Kiritimati)] {
        let mut config = SimConfig::new(flavour, Size::Small);
        config.pages = Some(40);
        config.time_zone = zone;
        let t = Incremental::start(config, &format!("zone-{name}-{}", format!("{flavour:?}").to_lowercase()))
            .await;
        let site = t.world.confluence.site();
        let page = t.page_ids("MKT", ContentKind::Page)[1];
        let attachment = site
            .create_attachment(
                t.page_ids("SALES", ContentKind::Page)[1],
                "zone.txt",
                AttachmentFormat::Txt,
                64,
            )
            .unwrap();
        t.sync(SyncKind::Full).await;
        site.edit(page, None, Some("<p>edited far from UTC</p>")).unwrap();
        site.edit(attachment, None, Some("a version far from UTC")).unwrap();
        let added = site.create_page("SALES", None, "Added far from UTC", Some("<p>new</p>")).unwrap();
        let report = t.sync(SyncKind::Incremental).await;
        let doc = t.world.get(&t.index, &page.to_string()).await.unwrap().unwrap();
        assert!(doc["body"].as_str().unwrap_or_default().contains("edited far from UTC"), "{name}: {doc}");
        assert_eq!(report.downloaded, 1, "{name}: the new attachment version: {report}");
        assert!(t.world.get(&t.index, &added.to_string()).await.unwrap().is_some(), "{name}");
        t.matches_a_fresh_full_sync().await;
    }
}

/// What the window finds again — its overlap reaches back past the last sync — and the
/// index already holds as it is now is not crawled again: a round with nothing new costs its
/// listings, not a crawl of the last hour's edits.
async fn the_overlap_does_not_crawl_again(flavour: Flavour) {
    let t = Incremental::tiny(flavour, "overlap").await;
    t.sync(SyncKind::Full).await;
    let page = t.page_ids("MKT", ContentKind::Page)[1];
    t.world.confluence.site().edit(page, Some("Edited once"), Some("<p>once</p>")).unwrap();
    let first = t.sync(SyncKind::Incremental).await;
    // The page and the page below it (its ancestor's title changed); the space documents are
    // seen, unchanged.
    assert_eq!(first.updated, 2, "{first}");

    t.reset_requests();
    let again = t.sync(SyncKind::Incremental).await;
    // Only the space documents, seen and unchanged.
    assert_eq!(again.seen as usize, t.world.confluence.catalog().spaces.len(), "{again}");
    assert_eq!((again.updated, again.unchanged), (0, again.seen), "{again}");
    assert_eq!(t.requests(t.attachment_listing_route()), 0, "{}", again.routes_line());
    t.matches_a_fresh_full_sync().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_overlap() {
    the_overlap_does_not_crawl_again(Flavour::Server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_overlap() {
    the_overlap_does_not_crawl_again(Flavour::Cloud).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_center_far_time_zones() {
    far_time_zones_lose_nothing(Flavour::DataCenter).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_far_time_zones() {
    far_time_zones_lose_nothing(Flavour::Cloud).await;
}

/// The id of page `n` (from 1, the top) of the simulator's ten-level chain of pages.
fn chain_level(catalog: &Catalog, n: u32) -> u64 {
    let title = format!("Deep chain level {n}");
    let page = catalog.content.iter().find(|c| c.title == title).unwrap();
    parse_api_id(&page.id).unwrap()
}

/// A page with pages below it is renamed, and the sync that picks the rename up fails after
/// writing the renamed page and before the pages below it (their attachment listing is
/// refused). The next incremental sync finds the renamed page current in the index — and
/// still rewrites the pages below with their new ancestors, because it compares every
/// page's indexed ancestors with the ones the id listing gives it. The pages are the
/// simulator's ten-level chain, generated long ago: outside any window, only that
/// comparison can find them.
async fn an_interrupted_rename_is_completed_by_the_next_sync(flavour: Flavour) {
    let mut t = Incremental::tiny(flavour, "rename").await;
    // One request at a time: the crawl takes the pages in order, the renamed (oldest) first.
    t.extra.push("max_concurrent_requests: 1".into());
    let catalog = t.world.confluence.catalog();
    let (renamed, below, bottom) =
        (chain_level(&catalog, 3), chain_level(&catalog, 4), chain_level(&catalog, 10));
    t.sync(SyncKind::Full).await;
    let doc = async |id: u64| t.world.get(&t.index, &id.to_string()).await.unwrap().unwrap();
    let ancestors = async |id: u64| -> Vec<String> {
        let doc = doc(id).await;
        doc["ancestors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(ancestors(below).await.contains(&"Deep chain level 3".to_string()));

    t.world.confluence.site().edit(renamed, Some("Renamed level 3"), None).unwrap();
    let fault = match flavour {
        // The renamed page's attachment listing answers; the next one is refused.
        Flavour::Cloud => {
            FaultRule::on("/wiki/api/v2/pages/{id}/attachments", Trigger::Nth(2), FaultKind::Status(401))
        }
        // Server's listings carry the attachments: the listing of the pages below the renamed
        // one (with their ancestors) is refused instead; the renamed page is still written.
        _ => FaultRule::on("/rest/api/content/search", Trigger::Always, FaultKind::Status(401))
            .when_query_contains("expand=ancestors&"),
    };
    t.world.confluence.faults().add(fault);
    let failed = t.try_sync(SyncKind::Incremental).await;
    assert!(!failed.completed(), "{failed}");
    t.world.confluence.faults().clear();
    // The failure landed between the renamed page and the pages below it.
    t.world.refresh(&t.index).await.unwrap();
    assert_eq!(doc(renamed).await["title"], "Renamed level 3");
    assert!(ancestors(below).await.contains(&"Deep chain level 3".to_string()));

    let report = t.sync(SyncKind::Incremental).await;
    for id in [below, bottom] {
        let chain = ancestors(id).await;
        assert!(chain.contains(&"Renamed level 3".to_string()), "{id}: {chain:?}\n{report}");
    }
    t.matches_a_fresh_full_sync().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_interrupted_rename() {
    an_interrupted_rename_is_completed_by_the_next_sync(Flavour::Server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_interrupted_rename() {
    an_interrupted_rename_is_completed_by_the_next_sync(Flavour::Cloud).await;
}

/// Server/DC: a page at the top of a tree whose body alone was edited costs no listing of
/// the pages below it (the listing is refused here: asking for it fails the sync) — unless
/// the sync before did not complete, when the pages below are checked, as it may have
/// written the page and not them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_a_body_edit_above_a_tree_lists_nothing_below_it() {
    let t = Incremental::tiny(Flavour::Server, "body-edit").await;
    let top = chain_level(&t.world.confluence.catalog(), 1);
    let below = FaultRule::on("/rest/api/content/search", Trigger::Always, FaultKind::Status(401))
        .when_query_contains("expand=ancestors&");
    t.sync(SyncKind::Full).await;

    t.world.confluence.site().edit(top, None, Some("<p>edited once</p>")).unwrap();
    t.world.confluence.faults().add(below.clone());
    t.sync(SyncKind::Incremental).await;
    t.world.refresh(&t.index).await.unwrap();
    let doc = t.world.get(&t.index, &top.to_string()).await.unwrap().unwrap();
    assert!(doc["body"].as_str().unwrap_or_default().contains("edited once"), "{doc}");
    t.world.confluence.faults().clear();

    // A sync that does not complete (every search refused)...
    t.world.confluence.faults().add(FaultRule::on(
        "/rest/api/content/search",
        Trigger::Always,
        FaultKind::Status(401),
    ));
    assert!(!t.try_sync(SyncKind::Incremental).await.completed());
    t.world.confluence.faults().clear();
    // ...makes the next one check below every page its window finds.
    t.world.confluence.site().edit(top, None, Some("<p>edited twice</p>")).unwrap();
    t.world.confluence.faults().add(below);
    let refused = t.try_sync(SyncKind::Incremental).await;
    assert!(!refused.completed(), "the pages below were not checked: {refused}");
    t.world.confluence.faults().clear();
    t.sync(SyncKind::Incremental).await;
    t.matches_a_fresh_full_sync().await;
}

/// Server/DC: a page renamed while a sync runs — after the sync decided nothing below it
/// needed checking (only its body had changed), before it fetched the page — is written
/// renamed, the pages below it still with the old title. The sync completes; the next one
/// finds the page indexed as it is, but modified after the latest modification Confluence
/// showed when the previous sync began, so it checks the pages below and rewrites them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_a_rename_during_a_sync_is_caught_by_the_next() {
    let mut t = Incremental::tiny(Flavour::Server, "rename-during").await;
    t.extra.push("max_concurrent_requests: 1".into());
    let catalog = t.world.confluence.catalog();
    let (renamed, below) = (chain_level(&catalog, 3), chain_level(&catalog, 4));
    t.sync(SyncKind::Full).await;

    t.world.confluence.site().edit(renamed, None, Some("<p>edited</p>")).unwrap();
    // The fetch of the edited page (the first with bodies) is held while the page is renamed.
    let held = FaultKind::Latency { fixed: Duration::from_secs(2), jitter: Duration::ZERO };
    let faults = t.world.confluence.faults();
    let rule = faults.add(
        FaultRule::on("/rest/api/content/search", Trigger::Nth(1), held).when_query_contains("body.storage"),
    );
    let config = t.config_for(&t.index);
    let rename = async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while faults.seen(rule) == 0 {
            assert!(tokio::time::Instant::now() < deadline, "the sync never fetched the edited page");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        t.world.confluence.site().edit(renamed, Some("Renamed level 3"), None).unwrap();
    };
    let (report, ()) = tokio::join!(sync::run(&config, SyncKind::Incremental, Shutdown::never()), rename);
    let report = report.unwrap();
    assert!(report.completed(), "{report}");
    faults.clear();
    t.world.refresh(&t.index).await.unwrap();
    let doc = async |id: u64| t.world.get(&t.index, &id.to_string()).await.unwrap().unwrap();
    assert_eq!(doc(renamed).await["title"], "Renamed level 3");
    let titles = |doc: Value| doc["ancestors"].to_string();
    assert!(titles(doc(below).await).contains("Deep chain level 3"), "the race was not staged");

    t.sync(SyncKind::Incremental).await;
    assert!(titles(doc(below).await).contains("Renamed level 3"));
    t.matches_a_fresh_full_sync().await;
}

/// A space created since the last sync, holding a nested page tree with attachments, is
/// crawled once: each page's attachments listed at most once, each attachment downloaded once, each
/// document counted once as created.
async fn a_new_space_is_crawled_once(flavour: Flavour) {
    let t = Incremental::tiny(flavour, "new-space").await;
    t.sync(SyncKind::Full).await;
    let site = t.world.confluence.site();
    site.add_space("NEW", "New space").unwrap();
    let home = t.page_ids("NEW", ContentKind::Page)[0];
    let mut parent = home;
    for level in 1..=3 {
        let page =
            site.create_page("NEW", Some(parent), &format!("Level {level}"), Some("<p>x</p>")).unwrap();
        site.create_attachment(page, &format!("notes-{level}.txt"), AttachmentFormat::Txt, 100).unwrap();
        parent = page;
    }
    site.create_page("NEW", Some(home), "Sibling", None).unwrap();
    let catalog = t.world.confluence.catalog();
    let pages = t.page_ids("NEW", ContentKind::Page).len();
    assert_eq!(pages, 5);

    t.reset_requests();
    let report = t.sync(SyncKind::Incremental).await;
    assert_eq!(report.created as usize, catalog.documents_in(&["NEW"]), "{report}");
    // Besides, only the documents of the other spaces, unchanged.
    assert_eq!(report.updated, 0, "{report}");
    assert_eq!(report.unchanged as usize, catalog.spaces.len() - 1, "{report}");
    assert_eq!(report.seen, report.created + report.unchanged, "{report}");
    assert_eq!(report.deleted, 0, "{report}");
    assert_eq!(report.downloaded, 3, "{report}");
    // Cloud lists each page's attachments; Server's space listing carries them with each page
    // (children.attachment), so a page of a few attachments needs no listing of its own.
    let listings = if flavour == Flavour::Cloud { pages } else { 0 };
    assert_eq!(t.requests(t.attachment_listing_route()) as usize, listings, "{}", report.routes_line());
    t.matches_a_fresh_full_sync().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_new_space() {
    a_new_space_is_crawled_once(Flavour::Server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_new_space() {
    a_new_space_is_crawled_once(Flavour::Cloud).await;
}

/// A space taken out of `spaces` (it is still on the site): the incremental sync completes
/// and deletes what the index holds of it. Then the last configured space removed from the
/// site: the sync refuses the key, and keeps everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spaces_leaving_the_configuration_are_deleted_but_not_the_last_one() {
    let mut t = Incremental::tiny(Flavour::Server, "spaces").await;
    t.spaces = "[MKT, SALES]".into();
    t.sync(SyncKind::Full).await;
    let catalog = t.world.confluence.catalog();
    assert_eq!(t.ids().await.len(), catalog.documents_in(&["MKT", "SALES"]));

    t.spaces = "[MKT]".into();
    let report = t.sync(SyncKind::Incremental).await;
    assert_eq!(report.deleted as usize, catalog.documents_in(&["SALES"]), "{report}");
    t.matches_a_fresh_full_sync().await;

    // A configured space gone from the site looks exactly like a typo in `spaces`: the sync
    // stops before listing anything, naming the key, and nothing is deleted.
    t.world.confluence.site().remove_space("MKT").unwrap();
    let refused = sync::run(&t.config_for(&t.index), SyncKind::Incremental, Shutdown::never())
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("'MKT' is not a space"), "{refused}");
    assert_eq!(t.ids().await.len(), catalog.documents_in(&["MKT"]));
}

/// With `index_comments`, an incremental round finds a comment added, one edited and one
/// trashed.
async fn comments_are_caught_up(flavour: Flavour) {
    let mut t = Incremental::tiny(flavour, "comments").await;
    t.extra.push("index_comments: true".into());
    let site = t.world.confluence.site();
    let pages = t.page_ids("MKT", ContentKind::Page);
    let edited = site.create_comment(pages[1], "<p>first words</p>").unwrap();
    let trashed = site.create_comment(pages[2], "<p>soon gone</p>").unwrap();
    t.sync(SyncKind::Full).await;
    let ids = t.ids().await;
    assert!(ids.contains(&edited.to_string()) && ids.contains(&trashed.to_string()), "{ids:?}");

    site.edit(edited, None, Some("<p>second thoughts</p>")).unwrap();
    site.trash(trashed).unwrap();
    let added = site.create_comment(pages[3], "<p>a new comment</p>").unwrap();
    let report = t.sync(SyncKind::Incremental).await;
    assert_eq!(report.deleted, 1, "{report}");
    let ids = t.ids().await;
    assert!(ids.contains(&added.to_string()) && !ids.contains(&trashed.to_string()), "{ids:?}");
    let doc = t.world.get(&t.index, &edited.to_string()).await.unwrap().unwrap();
    assert!(doc["body"].as_str().unwrap_or_default().contains("second thoughts"), "{doc}");
    t.matches_a_fresh_full_sync().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_center_comments() {
    comments_are_caught_up(Flavour::DataCenter).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_comments() {
    comments_are_caught_up(Flavour::Cloud).await;
}

/// A new version of an attachment is downloaded again, and only it: the other attachments,
/// on the same page or elsewhere, are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_changed_attachment_is_downloaded_again() {
    let t = Incremental::tiny(Flavour::DataCenter, "versions").await;
    let site = t.world.confluence.site();
    let page = t.page_ids("MKT", ContentKind::Page)[1];
    let kept = site.create_attachment(page, "kept.txt", AttachmentFormat::Txt, 200).unwrap();
    let changed = site.create_attachment(page, "changed.txt", AttachmentFormat::Txt, 200).unwrap();
    let full = t.sync(SyncKind::Full).await;
    assert!(full.downloaded >= 2, "{full}");
    let first = t.world.get(&t.index, &format!("att{changed}")).await.unwrap().unwrap();

    site.edit(changed, None, Some("the second version")).unwrap();
    t.reset_requests();
    let report = t.sync(SyncKind::Incremental).await;
    assert_eq!(report.downloaded, 1, "{report}");
    assert_eq!(t.requests("/download/attachments/{id}/{file}"), 1, "{}", report.routes_line());
    assert!(report.unchanged >= 1, "the unchanged attachment beside it: {report}");
    assert!(t.world.get(&t.index, &format!("att{kept}")).await.unwrap().is_some());
    let second = t.world.get(&t.index, &format!("att{changed}")).await.unwrap().unwrap();
    assert_ne!(first["_timestamp"], second["_timestamp"], "the new version was not indexed");
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
    let report = sync::run(&t.config_for(&t.index), SyncKind::Incremental, Shutdown::never()).await.unwrap();
    assert!(!report.completed(), "{report}");
    assert_eq!(report.deleted, 0);
    assert!(t.world.get(&t.index, &page.to_string()).await.unwrap().is_some());
    let mut state_after = t.world.meta(&t.index).await.unwrap();
    // Only the start of the failed sync is new.
    let state = &mut state_after["confluence_connector"];
    assert_ne!(state["last_started"], state["cursor"], "{state}");
    for started in ["last_started", "latest_modification_at_start"] {
        state[started] = state_before["confluence_connector"][started].clone();
    }
    // And the history (for `status`) records the incomplete sync.
    let history = state["history"].as_array_mut().unwrap();
    let failed = history.pop().unwrap();
    assert_eq!(
        (failed["kind"].as_str(), failed["outcome"].as_str()),
        (Some("incremental"), Some("incomplete"))
    );
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
