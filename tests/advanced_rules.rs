//! Advanced sync rules (CQL) against the Confluence simulator and Elasticsearch (the test
//! server, or a real cluster when `ES_URL` is set): each flavour pages every query to its
//! end, overlapping queries index each document once, a narrowed rule deletes what it no
//! longer matches, a failed query deletes nothing, Confluence's own rejection stops the sync
//! before anything is written, and the README's three example rules run.

use std::collections::{BTreeSet, HashMap};

use confluence_connector::config::{self, Config};
use confluence_connector::sync;
use confluence_connector::sync::SyncKind;
use confluence_connector::Shutdown;
use serde_json::{json, Value};
use sim::confluence::model::parse_api_id;
use sim::confluence::{
    AttachmentFormat, ContentKind, FaultKind, FaultRule, Flavour, SimConfig, Size, Trigger,
};

use common::World;
use sim::world as common;

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
    rules.world.confluence.requests().reset();
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed(), "{report}");
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let mut expected = rules.expected("ENG", &[ContentKind::Page, ContentKind::BlogPost]);
    let catalog = rules.world.confluence.catalog();
    let attachments: Vec<_> = catalog.indexed(ContentKind::Attachment).collect();
    assert!(attachments.len() > 500, "the attachment query needs several pages");
    // Attachments are listed only for the containers of attachment hits.
    let containers: BTreeSet<String> = attachments.iter().filter_map(|a| a.parent.clone()).collect();
    expected.extend(attachments.iter().map(|a| a.id.clone()));
    let ids = rules.ids().await;
    assert_eq!(ids.len(), expected.len(), "{report}");
    assert_eq!(ids, expected);
    // Elasticsearch keeps one document per `_id` whatever is sent twice: that each was made,
    // fetched and downloaded once shows in the counts and the requests.
    assert_eq!(report.seen as usize, expected.len(), "{report}");
    assert_eq!(report.created as usize, expected.len(), "{report}");
    let log = rules.world.confluence.requests();
    let listings = match flavour {
        Flavour::Cloud => {
            log.count("/wiki/api/v2/pages/{id}/attachments")
                + log.count("/wiki/api/v2/blogposts/{id}/attachments")
        }
        _ => log.count("/rest/api/content/{id}/child/attachment"),
    };
    // Cloud lists each container's attachments; Server/DC containers fetched by id carry
    // theirs (children.attachment), none of these has more than that expansion holds.
    let expected_listings = if flavour == Flavour::Cloud { containers.len() } else { 0 };
    assert_eq!(listings as usize, expected_listings, "each container's attachments listed at most once");
    let downloads = match flavour {
        Flavour::Cloud => log.count("/wiki/rest/api/content/{id}/child/attachment/{attId}/download"),
        _ => log.count("/download/attachments/{id}/{file}"),
    };
    assert!(report.downloaded > 0, "{report}");
    assert_eq!(downloads, report.downloaded, "each attachment downloaded once: {}", report.routes_line());
    // More results than one page: besides one check per rule, the attachment query was
    // paged (at most 250 a page on any flavour).
    let log = rules.world.confluence.requests();
    let searches = log.count("/rest/api/search") + log.count("/wiki/rest/api/search");
    assert!(searches >= 3 + 2 + 3, "{searches} search requests for three queries");

    // A rule narrowed: what it no longer matches is deleted.
    let narrowed = rules.config(&["space = ENG and type = page"]);
    let report = sync::run(&narrowed, SyncKind::Full, Shutdown::never()).await.unwrap();
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
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
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
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(!report.completed(), "{report}");
    assert_eq!(report.deleted, 0, "{report}");
    assert_eq!(rules.ids().await, before);

    rules.world.confluence.faults().clear();
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
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
    let error = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap_err().to_string();
    assert!(error.contains("advanced rule 2") && error.contains("space = MKT"), "{error}");
    // The index does not exist: counting in it fails.
    assert!(
        rules.world.count(&rules.index, json!({"match_all": {}})).await.is_err(),
        "the index was created"
    );
}

/// The three example rules of the README, on a site that has the spaces they name. The
/// site's clock is placed so that the second one has hits: its content is created on
/// 20 December, one page edited and one created on 6 January, and the rules run on
/// 20 January — "created in the last five weeks, last modified before this year" is then
/// what was created in December and not touched since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_examples_run() {
    let rules = Rules::start(Flavour::Server, "readme").await;
    let site = rules.world.confluence.site();
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&chrono::Utc);
    site.set_clock(at("2026-12-20T10:00:00Z"));
    site.add_space("DEV", "Development").unwrap();
    site.add_space("SD", "Service Desk").unwrap();
    let mut dev_pages = Vec::new();
    for i in 0..3 {
        dev_pages.push(site.create_page("DEV", None, &format!("Dev page {i}"), Some("<p>dev</p>")).unwrap());
        let page = site.create_page("SD", None, &format!("Desk page {i}"), Some("<p>desk</p>")).unwrap();
        site.create_attachment(page, &format!("notes-{i}.txt"), AttachmentFormat::Txt, 64).unwrap();
    }
    site.create_blogpost("SD", "Desk news", Some("<p>news</p>")).unwrap();
    site.set_clock(at("2027-01-06T10:00:00Z"));
    site.edit(dev_pages[0], None, Some("<p>edited this year</p>")).unwrap();
    let january = site.create_page("DEV", None, "January page", Some("<p>new this year</p>")).unwrap();
    site.set_clock(at("2027-01-20T10:00:00Z"));

    let every_kind = [ContentKind::Page, ContentKind::BlogPost, ContentKind::Attachment];
    let dev = rules.expected("DEV", &every_kind);
    let sd_pages_and_attachments = rules.expected("SD", &[ContentKind::Page, ContentKind::Attachment]);
    assert!(dev.len() >= 3 && sd_pages_and_attachments.len() >= 6);
    // Created on or after 16 December (five weeks before 20 January) and last modified
    // before 2027 began in the site's zone (Sydney: 31 December, 13:00 UTC).
    let (since, year) =
        (at("2026-12-16T10:00:00Z").timestamp_millis(), at("2026-12-31T13:00:00Z").timestamp_millis());
    let december: BTreeSet<String> = site.read(|s| {
        s.content
            .values()
            .filter(|c| s.is_live(c.id) && c.kind != ContentKind::Comment)
            .filter(|c| c.created >= since && c.modified < year)
            .map(|c| sim::confluence::model::api_id(c.kind, c.id))
            .collect()
    });
    // Both spaces' home pages, two DEV pages, the SD pages, attachments and blog post.
    assert_eq!(december.len(), 2 + 2 + 3 + 3 + 1, "{december:?}");
    assert!(!december.contains(&dev_pages[0].to_string()) && !december.contains(&january.to_string()));

    let config = rules.config(&["space = DEV"]);
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed(), "{report}");
    assert_eq!(rules.ids().await, dev);

    let config = rules.config(&["created >= now('-5w') and lastmodified < startOfYear()"]);
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed(), "{report}");
    assert_eq!(rules.ids().await, december, "{report}");

    let config = rules.config(&["type in ('page', 'attachment') AND space.key = 'SD'"]);
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed(), "{report}");
    assert_eq!(rules.ids().await, sd_pages_and_attachments);
}

/// With rules (one with an ORDER BY), an incremental sync fetches what the queries match
/// within the window and reconciles deletions against the union of the queries' hits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_sync_with_rules_follows_them() {
    let rules = Rules::start(Flavour::DataCenter, "incremental").await;
    // A rule may end with ORDER BY: combined with the window it must lose it, as
    // `(… order by created desc) and lastmodified >= …` is not CQL and every incremental
    // sync would end incomplete.
    let config = rules
        .config(&["space = ENG and type = page order by created desc", "type = attachment and space = MKT"]);
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
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

    let report = sync::run(&config, SyncKind::Incremental, Shutdown::never()).await.unwrap();
    assert!(report.completed(), "{report}");
    assert!(report.confluence_requests < full_requests, "{report}");
    let mut expected = rules.expected("ENG", &[ContentKind::Page]);
    expected.extend(rules.expected("MKT", &[ContentKind::Attachment]));
    assert_eq!(rules.ids().await, expected);
    assert!(expected.contains(&added.to_string()) && !expected.contains(&pages[2].to_string()));
    let edited = rules.world.get(&rules.index, &pages[1].to_string()).await.unwrap().unwrap();
    assert_eq!(edited["title"], "Edited under a rule");
}
