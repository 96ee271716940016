//! Faults in the middle of a sync, each ending with the index compared to a fresh full sync
//! of the same site: 0 documents lost, 0 wrongly deleted, 0 stale.
//!
//! Every case: a clean full sync; the site changes (pages edited, one trashed, one created);
//! a sync runs while the fault is on — it may complete or not, but it deletes nothing that
//! still exists; the fault goes, an incremental sync catches up; the index then equals a
//! fresh full sync into another index. Elasticsearch is the test server here whatever
//! `ES_URL` says: a real cluster cannot be made to fail on cue. `kill -9` mid-sync is
//! `tests/crash.rs`; a partition that outlasts the sync lease, `tests/elastic_sink.rs`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use confluence_connector::config::{self, Config};
use confluence_connector::sync::{self, SyncKind};
use confluence_connector::Shutdown;
use sim::confluence::model::parse_api_id;
use sim::confluence::{ContentKind, FaultKind, FaultRule, Flavour, RetryAfter, SimConfig, Size, Trigger};
use sim::elastic::EsSim;
use sim::world::World;

/// What is broken while the faulted sync runs.
enum Fault {
    /// Rules for the Confluence simulator.
    Confluence(Vec<FaultRule>),
    /// A change to the Elasticsearch test server.
    Elasticsearch(fn(&EsSim)),
}

/// How one case ended.
#[derive(Debug)]
struct Outcome {
    /// The faulted sync: completed, incomplete (with why), or refused to start.
    faulted: String,
    /// Documents of the site missing from the index in the end.
    lost: usize,
    /// Documents the index kept that the site no longer has.
    extra: usize,
    /// Documents indexed otherwise than a fresh sync writes them.
    stale: usize,
    /// After the faulted sync: documents of the site that were indexed before it and were
    /// gone after it.
    wrongly_deleted: usize,
}

/// Retries as configured by default, but quicker: a case takes seconds, not minutes.
fn config(world: &World, index: &str) -> Config {
    let text = world.config_yaml(index, &["retry_count: 2", "max_retry_after: 1"]);
    let env =
        HashMap::from([("CONFLUENCE_CONNECTOR__ELASTICSEARCH__RETRY_INTERVAL".to_string(), "1".to_string())]);
    config::load_str(&text, &env).unwrap().config
}

async fn run_case(name: &str, flavour: Flavour, fault: Fault, faulted_kind: SyncKind) -> Outcome {
    let mut site = SimConfig::new(flavour, Size::Small);
    site.pages = Some(80);
    let world = World::start_with_test_elasticsearch(site).await.unwrap();
    let index = format!("faults-{name}-{}", std::process::id());
    let settings = config(&world, &index);
    let first = sync::run(&settings, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(first.completed(), "{name}: {first}");
    let before = world.fingerprints(&index).await.unwrap();

    // The site changes: two pages edited, one trashed, one created.
    let catalog = world.confluence.catalog();
    let pages: Vec<u64> = catalog
        .content
        .iter()
        .filter(|c| c.indexed && c.kind == ContentKind::Page)
        .filter_map(|c| parse_api_id(&c.id))
        .take(3)
        .collect();
    let space = catalog.spaces[0].key.clone();
    let edit = world.confluence.site();
    edit.edit(pages[0], None, Some("<p>edited while the fault was on</p>")).unwrap();
    edit.edit(pages[1], Some("Renamed while the fault was on"), None).unwrap();
    edit.trash(pages[2]).unwrap();
    edit.create_page(&space, None, "Created while the fault was on", Some("<p>new</p>")).unwrap();

    match &fault {
        Fault::Confluence(rules) => {
            for rule in rules {
                world.confluence.faults().add(rule.clone());
            }
        }
        Fault::Elasticsearch(set) => set(world.es.sim.as_ref().unwrap()),
    }
    let faulted = match sync::run(&settings, faulted_kind, Shutdown::never()).await {
        Ok(report) => match report.incomplete_reason() {
            None if report.failed.is_empty() => "completed".to_string(),
            None => format!("completed, {} documents failed", report.failed.len()),
            Some(_) => "incomplete, nothing deleted where unlisted".to_string(),
        },
        Err(e) => format!("did not start: {}", e.to_string().chars().take(60).collect::<String>()),
    };
    world.confluence.faults().clear();
    if let Some(es) = world.es.sim.as_ref() {
        es.faults().clear();
    }
    let after_fault = world.fingerprints(&index).await.unwrap();

    let recovery = sync::run(&settings, SyncKind::Incremental, Shutdown::never()).await.unwrap();
    assert!(recovery.completed() && recovery.failed.is_empty(), "{name}: recovery {recovery}");
    let fresh = format!("{index}-fresh");
    let reference = sync::run(&config(&world, &fresh), SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(reference.completed(), "{name}: {reference}");
    let (ours, theirs) =
        (world.fingerprints(&index).await.unwrap(), world.fingerprints(&fresh).await.unwrap());
    if let Some((id, _)) = theirs.iter().find(|(id, h)| ours.get(*id).is_some_and(|o| o != *h)) {
        let (mine, fresh_doc) = (world.get(&index, id).await.unwrap(), world.get(&fresh, id).await.unwrap());
        eprintln!("{name}: {id} differs:\n ours  {mine:?}\n fresh {fresh_doc:?}");
    }
    Outcome {
        faulted,
        lost: theirs.keys().filter(|id| !ours.contains_key(*id)).count(),
        extra: ours.keys().filter(|id| !theirs.contains_key(*id)).count(),
        stale: theirs.iter().filter(|(id, h)| ours.get(*id).is_some_and(|o| o != *h)).count(),
        wrongly_deleted: wrongly_deleted(&before, &after_fault, &theirs),
    }
}

/// Indexed before the faulted sync, still on the site, gone after it.
fn wrongly_deleted(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    site: &BTreeMap<String, u64>,
) -> usize {
    before.keys().filter(|id| site.contains_key(*id) && !after.contains_key(*id)).count()
}

/// Runs a case and checks the guarantees; prints its row of the README's table.
async fn case(name: &str, flavour: Flavour, fault: Fault, kind: SyncKind) {
    let outcome = run_case(name, flavour, fault, kind).await;
    eprintln!(
        "| {name} | {flavour:?} | {} | {} | {} | {} | {} |",
        outcome.faulted, outcome.lost, outcome.wrongly_deleted, outcome.stale, outcome.extra
    );
    assert_eq!(
        (outcome.lost, outcome.wrongly_deleted, outcome.stale, outcome.extra),
        (0, 0, 0, 0),
        "{name}: {outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluence_429_storm() {
    let storm = FaultKind::TooManyRequests { retry_after: RetryAfter::Seconds(0) };
    case(
        "confluence-429-storm",
        Flavour::Cloud,
        Fault::Confluence(vec![FaultRule::global(Trigger::Rate(0.3), storm)]),
        SyncKind::Incremental,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluence_5xx_burst() {
    case(
        "confluence-5xx-burst",
        Flavour::Server,
        Fault::Confluence(vec![FaultRule::global(Trigger::FirstN(4), FaultKind::Status(503))]),
        SyncKind::Incremental,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluence_dropped_connections() {
    case(
        "confluence-dropped-connections",
        Flavour::DataCenter,
        Fault::Confluence(vec![FaultRule::global(Trigger::Rate(0.2), FaultKind::DropMidBody)]),
        SyncKind::Full,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluence_listing_down() {
    case(
        "confluence-listing-down",
        Flavour::Server,
        Fault::Confluence(vec![FaultRule::on(
            "/rest/api/content/search",
            Trigger::Always,
            FaultKind::Status(500),
        )]),
        SyncKind::Full,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluence_malformed_items() {
    case(
        "confluence-malformed-items",
        Flavour::Cloud,
        Fault::Confluence(vec![FaultRule::global(Trigger::Rate(0.3), FaultKind::MalformedItem)]),
        SyncKind::Full,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_429_on_items() {
    case(
        "elasticsearch-429-items",
        Flavour::Server,
        Fault::Elasticsearch(|es| es.faults().reject_bulk_items(0.3)),
        SyncKind::Incremental,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_5xx_burst() {
    case(
        "elasticsearch-5xx-burst",
        Flavour::Cloud,
        Fault::Elasticsearch(|es| es.faults().fail_next_requests(3, 503, Some("_bulk"))),
        SyncKind::Full,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_down() {
    case(
        "elasticsearch-down",
        Flavour::Server,
        Fault::Elasticsearch(|es| es.faults().refuse_connections_for(Duration::from_secs(2))),
        SyncKind::Incremental,
    )
    .await;
}

/// Cloud names authors by looking each account up: with those lookups failing for now, a
/// document written without its author would look current to every later sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluence_user_lookups_down() {
    case(
        "confluence-user-lookups-down",
        Flavour::Cloud,
        Fault::Confluence(vec![FaultRule::on(
            "/wiki/rest/api/user",
            Trigger::Always,
            FaultKind::Status(503),
        )]),
        SyncKind::Full,
    )
    .await;
}
