//! Full syncs against the Confluence simulator and Elasticsearch (the test server, or a real
//! cluster when `ES_URL` is set): exact documents for every flavour, unchanged documents
//! skipped, and no deletion where a listing failed.

use std::collections::{BTreeMap, HashMap, HashSet};

use confluence_connector::config::{self, Config};
use confluence_connector::sync;
use confluence_connector::sync::SyncKind;
use confluence_connector::Shutdown;
use serde_json::{json, Value};
use sim::confluence::model::parse_api_id;
use sim::confluence::{
    AttachmentFormat, ConfluenceSim, ContentKind, FaultKind, FaultRule, Flavour, SimConfig, Size, Trigger,
};

use common::World as World0;
use sim::world as common;

/// The shared test world (also behind `make demo` and `make ftest`), with a unique index.
struct World {
    inner: World0,
    index: String,
}

impl World {
    async fn start(flavour: Flavour, index: &str) -> World {
        let inner = World0::start(SimConfig::new(flavour, Size::Small)).await.unwrap();
        // Unique per run, so tests can share a real cluster.
        World { inner, index: format!("{index}-{}", std::process::id()) }
    }

    fn config(&self, extra: &[&str]) -> Config {
        let mut lines = vec!["retry_count: 1"];
        lines.extend_from_slice(extra);
        let text = self.inner.config_yaml(&self.index, &lines);
        config::load_str(&text, &HashMap::new()).unwrap().config
    }

    fn confluence(&self) -> &ConfluenceSim {
        &self.inner.confluence
    }

    async fn count(&self, query: Value) -> u64 {
        self.inner.refresh(&self.index).await.unwrap();
        self.inner.count(&self.index, query).await.unwrap()
    }

    async fn exists(&self, id: &str) -> bool {
        self.inner.get(&self.index, id).await.unwrap().is_some()
    }
}

async fn every_document_is_indexed(flavour: Flavour) {
    // One index per flavour: on a shared real cluster the three run at once.
    let world = World::start(flavour, &format!("full-sync-{flavour:?}").to_lowercase()).await;
    let config = world.config(&[]);
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed(), "{report}");
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let catalog = world.confluence().catalog();
    assert_eq!(world.count(json!({"match_all": {}})).await, catalog.documents() as u64, "{report}");
    for (kind, doc_type) in [
        (ContentKind::Page, "page"),
        (ContentKind::BlogPost, "blogpost"),
        (ContentKind::Attachment, "attachment"),
    ] {
        assert_eq!(
            world.count(json!({"term": {"type": doc_type}})).await,
            catalog.indexed(kind).count() as u64,
            "{doc_type}"
        );
    }
    // Authors are people's names on every flavour (Cloud v2 lists account ids only: the
    // sync looks the names up), as in Elastic's documents.
    let page = catalog.indexed(ContentKind::Page).next().unwrap();
    let doc = world.inner.get(&world.index, &page.id).await.unwrap().unwrap();
    let author = doc["author"].as_str().unwrap_or_default();
    let user = catalog.users.iter().find(|u| u.display_name == author || u.username == author);
    assert!(user.is_some(), "author {author:?} of page {} is nobody's name", page.id);
    // A second sync changes nothing: every document is unchanged, spaces included (they
    // carry no modification date: their name, key and readers decide), so that
    // `documents_total{result="updated"}` does not grow on an unchanged site.
    let again = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert_eq!(again.unchanged, catalog.documents() as u64, "{again}");
    assert_eq!((again.created, again.updated), (0, 0), "{again}");
    assert_eq!(again.deleted, 0, "{again}");
    assert_eq!(again.downloaded, 0, "unchanged attachments are not downloaded again: {again}");
}

#[tokio::test]
async fn server_every_document_is_indexed() {
    every_document_is_indexed(Flavour::Server).await;
}

#[tokio::test]
async fn data_center_every_document_is_indexed() {
    every_document_is_indexed(Flavour::DataCenter).await;
}

#[tokio::test]
async fn cloud_every_document_is_indexed() {
    every_document_is_indexed(Flavour::Cloud).await;
}

#[tokio::test]
async fn a_listing_that_fails_deletes_nothing_and_the_sync_is_reported_incomplete() {
    let world = World::start(Flavour::Server, "partial").await;
    let config = world.config(&[]);
    assert!(sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap().completed());

    // Trash a page, then make every content listing fail for good.
    let catalog = world.confluence().catalog();
    let page = catalog.indexed(ContentKind::Page).next().unwrap().clone();
    world.confluence().site().trash(parse_api_id(&page.id).unwrap()).unwrap();
    world.confluence().faults().add(FaultRule::on(
        "/rest/api/content/search",
        Trigger::Always,
        FaultKind::Status(500),
    ));

    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(!report.completed(), "{report}");
    assert!(report.listing_failures().any(|f| f.to_string().contains("500")), "{:?}", report.incomplete);
    assert_eq!(report.deleted, 0, "{report}");
    assert!(
        world.exists(&page.id).await,
        "the trashed page must stay until a complete listing says it is gone"
    );
    assert_eq!(world.count(json!({"match_all": {}})).await, catalog.documents() as u64);

    // Once the listing works again, the next sync reconciles.
    world.confluence().faults().clear();
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed(), "{report}");
    assert!(!world.exists(&page.id).await);
}

/// The crawl works, then Confluence breaks for good part-way through it: the spaces that
/// finished are reconciled, the others keep every document, and the sync says which failed.
#[tokio::test]
async fn a_crawl_that_breaks_part_way_deletes_only_in_the_spaces_it_finished() {
    let world = World::start(Flavour::Server, "mid-crawl").await;
    let config = world.config(&[]);
    let requests = world.confluence().requests();
    assert!(sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap().completed());
    let searches = requests.count("/rest/api/content/search");

    // One page trashed in every space: a complete listing of a space deletes it.
    let before = world.confluence().catalog();
    let mut trashed: BTreeMap<String, String> = BTreeMap::new();
    for entry in before.indexed(ContentKind::Page) {
        trashed.entry(entry.space_key.clone()).or_insert_with(|| entry.id.clone());
    }
    for id in trashed.values() {
        world.confluence().site().trash(parse_api_id(id).unwrap()).unwrap();
    }
    let after = world.confluence().catalog();
    world.confluence().faults().add(FaultRule::on(
        "/rest/api/content/search",
        Trigger::AfterN(searches / 2),
        FaultKind::Status(500),
    ));

    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(!report.completed(), "{report}");
    let failed: HashSet<&String> = trashed
        .keys()
        .filter(|key| report.listing_failures().any(|f| f.to_string().starts_with(&format!("space {key}:"))))
        .collect();
    assert!(!failed.is_empty() && failed.len() < trashed.len(), "{failed:?} of {trashed:?}: {report}");
    for (key, id) in &trashed {
        let in_space = world.count(json!({"term": {"space_key": key}})).await;
        if failed.contains(key) {
            assert!(world.exists(id).await, "{id} of failed space {key} must stay");
            assert_eq!(in_space, before.documents_in(&[key.as_str()]) as u64, "space {key} lost documents");
        } else {
            assert!(!world.exists(id).await, "{id} of completed space {key} must go");
            assert_eq!(in_space, after.documents_in(&[key.as_str()]) as u64, "space {key}");
        }
    }
    assert!(report.kept_unverified > 0, "{report}");
}

/// One unreadable item in a listing is reported and skipped; the rest of its space is still
/// indexed, and nothing in that space is deleted, since its listing did not show everything.
#[tokio::test]
async fn a_malformed_item_is_reported_and_its_space_keeps_its_documents() {
    let world = World::start(Flavour::DataCenter, "malformed").await;
    let config = world.config(&[]);
    assert!(sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap().completed());
    let documents = world.confluence().catalog().documents() as u64;
    // The spoiled item is the first result of the first page listing (with bodies): some page
    // of some space.
    world.confluence().faults().add(
        FaultRule::on("/rest/api/content/search", Trigger::Nth(1), FaultKind::MalformedItem)
            .when_query_contains("body.storage"),
    );
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed(), "the listings themselves completed: {report}");
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    assert!(report.failed[0].contains("malformed"), "{:?}", report.failed);
    assert_eq!(report.deleted, 0, "{report}");
    // The spoiled page was not seen, nor, with it, its attachments: all stay indexed.
    assert!(report.kept_unverified >= 1, "the skipped item stays indexed: {report}");
    assert_eq!(world.count(json!({"match_all": {}})).await, documents);
}

/// Server/DC listings carry each page's first attachments (`children.attachment`): a page
/// with more than that expansion holds still has every attachment indexed, through its own
/// listing, and pages with few need no listing at all.
#[tokio::test]
async fn pages_with_many_attachments_have_them_all_and_the_others_need_no_attachment_listing() {
    let world = World::start(Flavour::DataCenter, "many-attachments").await;
    let page =
        world.confluence().site().create_page("ENG", None, "Many files", Some("<p>files</p>")).unwrap();
    for n in 0..30 {
        world
            .confluence()
            .site()
            .create_attachment(page, &format!("file-{n}.txt"), AttachmentFormat::Txt, 100)
            .unwrap();
    }
    let requests = world.confluence().requests();
    let report = sync::run(&world.config(&[]), SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed(), "{report}");
    let catalog = world.confluence().catalog();
    assert_eq!(world.count(json!({"match_all": {}})).await, catalog.documents() as u64, "{report}");
    assert_eq!(world.count(json!({"term": {"page.keyword": "Many files"}})).await, 30);
    assert_eq!(
        requests.count("/rest/api/content/{id}/child/attachment"),
        1,
        "only the page with more attachments than its listing carried is listed"
    );
}

/// Confluence behind a reverse proxy at `/confluence`: every route, link and download keeps
/// the context path.
#[tokio::test]
async fn a_site_under_a_context_path_is_synced_whole() {
    let mut site = SimConfig::new(Flavour::DataCenter, Size::Small);
    site.pages = Some(200);
    site.context_path = "/confluence".into();
    let inner = World0::start(site).await.unwrap();
    let world = World { inner, index: format!("context-path-{}", std::process::id()) };
    assert!(world.confluence().url().ends_with("/confluence"), "{}", world.confluence().url());
    let report = sync::run(&world.config(&[]), SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    assert!(report.downloaded > 0, "{report}");
    let catalog = world.confluence().catalog();
    assert_eq!(world.count(json!({"match_all": {}})).await, catalog.documents() as u64);
    let page = catalog.indexed(ContentKind::Page).next().unwrap();
    let doc = world.inner.get(&world.index, &page.id).await.unwrap().unwrap();
    let url = doc["url"].as_str().unwrap();
    assert!(url.starts_with(&world.confluence().url()) && url.contains("/confluence/"), "{url}");
}

#[tokio::test]
async fn a_removed_space_is_deleted_with_everything_in_it() {
    let world = World::start(Flavour::DataCenter, "removed-space").await;
    let config = world.config(&[]);
    assert!(sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap().completed());
    let catalog = world.confluence().catalog();
    let key = catalog.spaces[0].key.clone();
    let in_space = catalog.documents_in(&[key.as_str()]) as u64;
    assert!(in_space > 1);
    world.confluence().site().remove_space(&key).unwrap();
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed(), "{report}");
    assert_eq!(report.deleted, in_space, "{report}");
    assert_eq!(world.count(json!({"term": {"space_key": key}})).await, 0);
}

/// A space key with a typo stops the sync before anything is listed, naming the key and
/// the spaces there are; listings that find nothing at all (here, an advanced rule that
/// matches nothing) delete nothing, in a full or an incremental sync, and end incomplete
/// saying why.
#[tokio::test]
async fn a_scope_that_lists_nothing_deletes_nothing() {
    let world = World::start(Flavour::Server, "typo").await;
    assert!(sync::run(&world.config(&[]), SyncKind::Full, Shutdown::never()).await.unwrap().completed());
    let indexed = world.count(json!({"match_all": {}})).await;
    assert!(indexed > 0);
    let text =
        world.inner.config_yaml(&world.index, &["retry_count: 1"]).replace("spaces: \"*\"", "spaces: eng");
    let typo = config::load_str(&text, &HashMap::new()).unwrap().config;
    for kind in [SyncKind::Full, SyncKind::Incremental] {
        let refused = sync::run(&typo, kind, Shutdown::never()).await.unwrap_err().to_string();
        assert!(refused.contains("did you mean 'ENG'?"), "{refused}");
        assert!(refused.contains("Available spaces are:"), "{refused}");
        assert_eq!(world.count(json!({"match_all": {}})).await, indexed, "{kind:?}");
    }
    let nothing = world.config(&["sync_rules:", "  advanced:", "    - query: 'title = \"No such title\"'"]);
    for kind in [SyncKind::Full, SyncKind::Incremental] {
        let report = sync::run(&nothing, kind, Shutdown::never()).await.unwrap();
        assert!(!report.completed(), "{report}");
        assert_eq!(report.deleted, 0, "{report}");
        let why = report.incomplete_reason().unwrap();
        assert!(why.contains("listed nothing in scope") && why.contains("check `spaces`"), "{why}");
        assert_eq!(world.count(json!({"match_all": {}})).await, indexed, "{kind:?}");
    }
}

#[tokio::test]
async fn documents_a_basic_rule_now_excludes_are_filtered_and_removed() {
    let world = World::start(Flavour::Server, "basic-rules").await;
    assert!(sync::run(&world.config(&[]), SyncKind::Full, Shutdown::never()).await.unwrap().completed());
    let attachments = world.confluence().catalog().indexed(ContentKind::Attachment).count() as u64;
    assert!(attachments > 0);
    let rules = [
        "sync_rules:",
        "  basic:",
        "    - {id: no-files, policy: exclude, field: type, rule: equals, value: attachment, order: 1}",
    ];
    let report = sync::run(&world.config(&rules), SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed(), "{report}");
    assert_eq!(report.filtered, attachments, "{report}");
    assert_eq!(report.deleted, attachments, "{report}");
    assert_eq!(world.count(json!({"term": {"type": "attachment"}})).await, 0);
    assert_eq!(report.downloaded, 0, "filtered attachments are not downloaded: {report}");
}

/// A text document over `elasticsearch.bulk.max_text_document_size` is indexed without its
/// text (as a file over the download cap is without content), counted, and the rest of the
/// sync goes on; unchanged, the next sync does not read it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_document_over_the_size_cap_is_indexed_without_its_text() {
    let world = World::start(Flavour::Server, "too-large").await;
    let huge = format!("<p>{}</p>", "word ".repeat(300_000));
    let id = world.confluence().site().create_page("ENG", None, "Huge page", Some(&huge)).unwrap();
    let text = world.inner.config_yaml(&world.index, &["retry_count: 1"]);
    let env = HashMap::from([(
        "CONFLUENCE_CONNECTOR__ELASTICSEARCH__BULK__MAX_TEXT_DOCUMENT_SIZE".to_string(),
        "1".to_string(),
    )]);
    let config = config::load_str(&text, &env).unwrap().config;
    let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    // Ours, and the simulator's large text attachment (its text becomes `body`).
    assert!(report.too_large_documents >= 1, "{report}");
    let doc = world.inner.get(&world.index, &id.to_string()).await.unwrap().unwrap();
    assert_eq!(doc["title"], "Huge page");
    assert!(doc.get("body").is_none_or(|b| b.is_null()), "{}", doc["body"]);
    let catalog = world.confluence().catalog();
    assert_eq!(world.count(json!({"match_all": {}})).await, catalog.documents() as u64);
    let again = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert_eq!((again.too_large_documents, again.downloaded), (0, 0), "{again}");
}

/// A file named as text that holds binary data (an archive saved as `.txt`) is sent as a file
/// for the pipeline and reported, not decoded into pages of garbage in `body`.
#[tokio::test]
async fn a_text_named_file_holding_binary_is_sent_as_a_file_and_reported() {
    let world = World::start(Flavour::Server, "not-text").await;
    let page =
        world.confluence().catalog().indexed(ContentKind::Page).next().and_then(|p| parse_api_id(&p.id));
    world
        .confluence()
        .site()
        .create_attachment(page.unwrap(), "notes.txt", AttachmentFormat::Docx, 20_000)
        .unwrap();
    let report = sync::run(&world.config(&[]), SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    assert_eq!(report.not_text, 1, "{report}");
    assert!(report.to_string().contains("1 attachments named as text held binary data"), "{report}");
    world.inner.refresh(&world.index).await.unwrap();
    let found = world
        .inner
        .search(&world.index, json!({"query": {"term": {"title.keyword": "notes.txt"}}}))
        .await
        .unwrap();
    let doc = &found["hits"]["hits"][0]["_source"];
    assert_eq!(doc["type"], "attachment", "{found}");
    let body = doc["body"].as_str().unwrap_or_default();
    assert!(
        !body.contains('\u{0}') && !body.starts_with("PK"),
        "binary decoded as text: {:?}",
        &body[..body.len().min(80)]
    );
}
