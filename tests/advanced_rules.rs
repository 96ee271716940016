//! Advanced sync rules (CQL) against the Confluence simulator and Elasticsearch (the test
//! server, or a real cluster when `ES_URL` is set): each flavour pages every query to its
//! end, overlapping queries index each document once, a narrowed rule deletes what it no
//! longer matches, a failed query deletes nothing, Confluence's own rejection stops the sync
//! before anything is written, and the README's three example rules run.

use std::collections::{BTreeSet, HashMap};

use confluence_connector::cli::sync::run_sync;
use confluence_connector::config::{self, Config};
use confluence_connector::service::SyncKind;
use serde_json::{json, Value};
use sim::confluence::model::parse_api_id;
use sim::confluence::{
    AttachmentFormat, ContentKind, FaultKind, FaultRule, Flavour, SimConfig, Size, Trigger,
};

#[path = "../examples/common/mod.rs"]
mod common;
use common::World;

struct Rules {
    world: World,
    index: String,
}

impl Rules {
    async fn start(flavour: Flavour, name: &str) -> Rules {
        let world = World::start(SimConfig::new(flavour, Size::Small)).await.unwrap();
        Rules { world, index: format!("rules-{name}-{}", std::process::id()) }
    }

    fn config(&self, queries: &[&str]) -> Config {
        let rules: Vec<Value> = queries.iter().map(|q| json!({ "query": q })).collect();
        let line = format!("sync_rules: {{advanced: {}}}", serde_json::to_string(&rules).unwrap());
        let text = self.world.config_yaml(&self.index, &["retry_count: 1", &line]);
        config::load_str(&text, &HashMap::new()).unwrap().config
    }

    /// Every indexed `_id`.
    async fn ids(&self) -> BTreeSet<String> {
        self.world.refresh(&self.index).await.unwrap();
        let found = self
            .world
            .search(&self.index, json!({"size": 10000, "_source": false, "query": {"match_all": {}}}))
            .await
            .unwrap();
        found["hits"]["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["_id"].as_str().unwrap().to_string())
            .collect()
    }

    /// Ids of the indexed content of these kinds in a space, from the simulator's catalog.
    fn expected(&self, space: &str, kinds: &[ContentKind]) -> BTreeSet<String> {
        let catalog = self.world.confluence.catalog();
        catalog
            .content
            .iter()
            .filter(|c| c.indexed && c.space_key == space && kinds.contains(&c.kind))
            .map(|c| c.id.clone())
            .collect()
    }
}

async fn queries_are_paged_to_the_end_and_merged(flavour: Flavour) {
    let rules = Rules::start(flavour, &format!("{flavour:?}").to_lowercase()).await;
    // Two overlapping queries (every ENG page is matched twice) and one of attachments.
    let config = rules.config(&[
        "space = ENG and type = page",
        "space = ENG and type in (page, blogpost)",
        "type = attachment",
    ]);
    let report = run_sync(&config, SyncKind::Full).await.unwrap();
    assert!(report.completed(), "{report}");
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let mut expected = rules.expected("ENG", &[ContentKind::Page, ContentKind::BlogPost]);
    let catalog = rules.world.confluence.catalog();
    let attachments: BTreeSet<String> =
        catalog.indexed(ContentKind::Attachment).map(|c| c.id.clone()).collect();
    assert!(attachments.len() > 500, "the attachment query needs several pages");
    expected.extend(attachments);
    let ids = rules.ids().await;
    assert_eq!(ids.len(), expected.len(), "{report}");
    assert_eq!(ids, expected);
    // More results than one page: besides one check per rule, the attachment query was
    // paged (at most 250 a page on any flavour).
    let log = rules.world.confluence.requests();
    let searches = log.count("/rest/api/search") + log.count("/wiki/rest/api/search");
    assert!(searches >= 3 + 2 + 3, "{searches} search requests for three queries");

    // A rule narrowed: what it no longer matches is deleted.
    let narrowed = rules.config(&["space = ENG and type = page"]);
    let report = run_sync(&narrowed, SyncKind::Full).await.unwrap();
    assert!(report.completed(), "{report}");
    assert_eq!(rules.ids().await, rules.expected("ENG", &[ContentKind::Page]));
    assert!(report.deleted > 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_rules() {
    queries_are_paged_to_the_end_and_merged(Flavour::Server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_center_rules() {
    queries_are_paged_to_the_end_and_merged(Flavour::DataCenter).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_rules() {
    queries_are_paged_to_the_end_and_merged(Flavour::Cloud).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_query_deletes_nothing() {
    let rules = Rules::start(Flavour::Server, "failed").await;
    let config = rules.config(&["space = ENG and type = page", "space = MKT and type = page"]);
    let report = run_sync(&config, SyncKind::Full).await.unwrap();
    assert!(report.completed(), "{report}");
    let before = rules.ids().await;

    // A page leaves the first query's results, and that query fails after its retries:
    // nothing may be deleted.
    let page = rules.expected("ENG", &[ContentKind::Page]).into_iter().next().unwrap();
    rules.world.confluence.site().trash(parse_api_id(&page).unwrap()).unwrap();
    // The first two searches are the remote checks of the rules; the third, the first page
    // of the first query, is refused (not retryable).
    rules.world.confluence.faults().add(FaultRule::on(
        "/rest/api/search",
        Trigger::Nth(3),
        FaultKind::Status(401),
    ));
    let report = run_sync(&config, SyncKind::Full).await.unwrap();
    assert!(!report.completed(), "{report}");
    assert_eq!(report.deleted, 0, "{report}");
    assert_eq!(rules.ids().await, before);

    rules.world.confluence.faults().clear();
    let report = run_sync(&config, SyncKind::Full).await.unwrap();
    assert!(report.completed(), "{report}");
    assert!(!rules.ids().await.contains(&page));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluence_rejecting_a_rule_stops_the_sync_before_anything_is_written() {
    let rules = Rules::start(Flavour::DataCenter, "rejected").await;
    rules.world.confluence.faults().add(FaultRule::on(
        "/rest/api/search",
        Trigger::Nth(2),
        FaultKind::Status(400),
    ));
    let config = rules.config(&["space = ENG", "space = MKT"]);
    let error = run_sync(&config, SyncKind::Full).await.unwrap_err().to_string();
    assert!(error.contains("advanced rule 2") && error.contains("space = MKT"), "{error}");
    // The index does not exist: counting in it fails.
    assert!(
        rules.world.count(&rules.index, json!({"match_all": {}})).await.is_err(),
        "the index was created"
    );
}

/// The three example rules of the README, on a site that has the spaces they name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_examples_run() {
    let rules = Rules::start(Flavour::Server, "readme").await;
    let site = rules.world.confluence.site();
    site.add_space("DEV", "Development").unwrap();
    site.add_space("SD", "Service Desk").unwrap();
    for i in 0..3 {
        site.create_page("DEV", None, &format!("Dev page {i}"), Some("<p>dev</p>")).unwrap();
        let page = site.create_page("SD", None, &format!("Desk page {i}"), Some("<p>desk</p>")).unwrap();
        site.create_attachment(page, &format!("notes-{i}.txt"), AttachmentFormat::Txt, 64).unwrap();
    }
    site.create_blogpost("SD", "Desk news", Some("<p>news</p>")).unwrap();
    let every_kind = [ContentKind::Page, ContentKind::BlogPost, ContentKind::Attachment];
    let dev = rules.expected("DEV", &every_kind);
    let sd_pages_and_attachments = rules.expected("SD", &[ContentKind::Page, ContentKind::Attachment]);
    assert!(dev.len() >= 3 && sd_pages_and_attachments.len() >= 6);

    let config = rules.config(&["space = DEV"]);
    let report = run_sync(&config, SyncKind::Full).await.unwrap();
    assert!(report.completed(), "{report}");
    assert_eq!(rules.ids().await, dev);

    // Created in the last five weeks but last modified before this year began: nothing can
    // be both, so nothing is indexed and the earlier documents go.
    let config = rules.config(&["created >= now('-5w') and lastmodified < startOfYear()"]);
    let report = run_sync(&config, SyncKind::Full).await.unwrap();
    assert!(report.completed(), "{report}");
    assert!(rules.ids().await.is_empty(), "{report}");

    let config = rules.config(&["type in ('page', 'attachment') AND space.key = 'SD'"]);
    let report = run_sync(&config, SyncKind::Full).await.unwrap();
    assert!(report.completed(), "{report}");
    assert_eq!(rules.ids().await, sd_pages_and_attachments);
}

/// With rules, an incremental sync fetches what the queries match within the window and
/// reconciles deletions against the union of the queries' hits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_sync_with_rules_follows_them() {
    let rules = Rules::start(Flavour::DataCenter, "incremental").await;
    let config = rules.config(&["space = ENG and type = page", "type = attachment and space = MKT"]);
    let report = run_sync(&config, SyncKind::Full).await.unwrap();
    assert!(report.completed(), "{report}");
    let full_requests = report.confluence_requests;

    let site = rules.world.confluence.site();
    let pages: Vec<u64> =
        rules.expected("ENG", &[ContentKind::Page]).iter().filter_map(|id| parse_api_id(id)).collect();
    site.edit(pages[1], Some("Edited under a rule"), None).unwrap();
    site.trash(pages[2]).unwrap();
    let added = site.create_page("ENG", None, "Added under a rule", Some("<p>new</p>")).unwrap();
    // Outside every rule: not indexed.
    site.create_page("OPS", None, "Not matched", None).unwrap();

    let report = run_sync(&config, SyncKind::Incremental).await.unwrap();
    assert!(report.completed(), "{report}");
    assert!(report.confluence_requests < full_requests, "{report}");
    let mut expected = rules.expected("ENG", &[ContentKind::Page]);
    expected.extend(rules.expected("MKT", &[ContentKind::Attachment]));
    assert_eq!(rules.ids().await, expected);
    assert!(expected.contains(&added.to_string()) && !expected.contains(&pages[2].to_string()));
    let edited = rules.world.get(&rules.index, &pages[1].to_string()).await.unwrap().unwrap();
    assert_eq!(edited["title"], "Edited under a rule");
}
