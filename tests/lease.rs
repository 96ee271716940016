//! One sync of an index at a time across processes: the sync lease in Elasticsearch (the
//! test server, or a real cluster when `ES_URL` is set). A second sync of the same index is
//! refused while the first runs, and gets it once the first ended; a lease left by a process
//! that died is taken over — at once on its own host, after its expiry elsewhere.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use confluence_connector::config::{self, Config};
use confluence_connector::elastic::LEASE_INDEX;
use confluence_connector::sync;
use confluence_connector::sync::SyncKind;
use confluence_connector::Shutdown;
use serde_json::json;
use sim::confluence::{FaultKind, FaultRule, Flavour, SimConfig, Size, Trigger};

use common::World;
use sim::world as common;

async fn world() -> World {
    let mut site = SimConfig::new(Flavour::Server, Size::Small);
    site.pages = Some(100);
    World::start(site).await.unwrap()
}

fn config(world: &World, index: &str) -> Config {
    let text = world.config_yaml(index, &["retry_count: 1"]);
    config::load_str(&text, &HashMap::new()).unwrap().config
}

/// Writes a lease document as another process would have left it.
async fn plant_lease(world: &World, index: &str, host: &str, pid: u32, expires_in: chrono::Duration) {
    // The lease index exists once any sync ran.
    let now = Utc::now();
    let lease = json!({
        "host": host, "pid": pid, "token": "0123456789abcdef", "kind": "full",
        "since": now - chrono::Duration::minutes(5), "expires": now + expires_in,
    });
    let r = world
        .request(reqwest::Method::PUT, &format!("/{LEASE_INDEX}/_doc/{index}?refresh=true"))
        .json(&lease)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

/// A client of the world's Elasticsearch, as a sync builds one.
fn es_client(world: &World) -> confluence_connector::elastic::EsClient {
    use confluence_connector::config::Secret;
    use confluence_connector::elastic::{connect, ElasticOptions};
    let options = ElasticOptions {
        host: world.es.url.clone(),
        api_key: world.es.api_key.as_deref().map(Secret::new),
        username: world.es.username.clone(),
        password: world.es.password.as_deref().map(Secret::new),
        ..ElasticOptions::default()
    };
    connect(&options).unwrap()
}

/// Waits until a lease document for `index` exists.
async fn wait_for_lease(world: &World, index: &str) {
    for _ in 0..1500 {
        let r = world.request(reqwest::Method::GET, &format!("/{LEASE_INDEX}/_doc/{index}")).send().await;
        if r.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the first sync never took its lease");
}

#[tokio::test]
async fn a_second_sync_of_an_index_is_refused_while_the_first_runs() {
    let world = world().await;
    let index = format!("lease-busy-{}", std::process::id());
    let config = config(&world, &index);
    world.confluence.faults().add(FaultRule::global(
        Trigger::Always,
        FaultKind::Latency { fixed: Duration::from_millis(400), jitter: Duration::ZERO },
    ));
    let (first, second) = tokio::join!(sync::run(&config, SyncKind::Full, Shutdown::never()), async {
        // Start once the first holds the lease: its crawl (several requests at 400 ms) is
        // still running then, however fast or slow the machine is.
        wait_for_lease(&world, &index).await;
        sync::run(&config, SyncKind::Incremental, Shutdown::never()).await
    });
    let second = second.unwrap_err().to_string();
    assert!(second.contains(&format!("another full sync of {index} is running")), "{second}");
    assert!(second.contains(&format!("process {}", std::process::id())), "{second}");
    let first = first.unwrap();
    assert!(first.completed(), "{first}");
    world.confluence.faults().clear();
    // Given back at the end: the next sync runs.
    let next = sync::run(&config, SyncKind::Incremental, Shutdown::never()).await.unwrap();
    assert!(next.completed(), "{next}");
}

#[tokio::test]
async fn a_lease_of_a_dead_process_is_taken_over() {
    let world = world().await;
    let index = format!("lease-dead-{}", std::process::id());
    let config = config(&world, &index);
    assert!(sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap().completed());
    let here = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_string();

    // This host, a process that is gone (pids stay below 2^22 on Linux): taken over at once.
    plant_lease(&world, &index, &here, 4_194_303, chrono::Duration::minutes(10)).await;
    assert!(sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap().completed());

    // Another host, not expired: refused, naming the holder and when it lapses.
    plant_lease(&world, &index, "elsewhere", 7, chrono::Duration::minutes(10)).await;
    let refused = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap_err().to_string();
    assert!(refused.contains("(on elsewhere, process 7, since"), "{refused}");
    assert!(refused.contains("its lease lapses at"), "{refused}");

    // Another host, expired: taken over.
    plant_lease(&world, &index, "elsewhere", 7, chrono::Duration::seconds(-1)).await;
    assert!(sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap().completed());
}

/// An access-control sync hears shutdown (and so a lost lease, which stops a sync the same
/// way) as a content sync does: it stops, deletes no identity, and says it is incomplete.
#[tokio::test]
async fn an_access_control_sync_stops_on_shutdown() {
    let world = world().await;
    let index = format!("lease-acl-{}", std::process::id());
    let text = world.config_yaml(&index, &["retry_count: 1", "use_document_level_security: true"]);
    let config = config::load_str(&text, &HashMap::new()).unwrap().config;
    world.confluence.faults().add(FaultRule::global(
        Trigger::Always,
        FaultKind::Latency { fixed: Duration::from_millis(300), jitter: Duration::ZERO },
    ));
    let (stop, shutdown) = Shutdown::manual();
    let (report, ()) = tokio::join!(sync::run(&config, SyncKind::AccessControl, shutdown), async {
        // Once it holds the lease it is listing people and groups (several requests at 300 ms).
        wait_for_lease(&world, &format!(".search-acl-filter-{index}")).await;
        let _ = stop.send(true);
    });
    let report = report.unwrap();
    assert!(!report.completed(), "{report}");
    assert!(report.stopped().is_some_and(|why| why.contains("shutdown")), "{report}");
    assert_eq!(report.deleted, 0, "{report}");
}

/// The renewer and the confirmation before the state is written take turns: renewing every
/// 20 ms while the sync confirms again and again never reads as a takeover.
#[tokio::test]
async fn confirming_while_the_renewer_renews_is_no_takeover() {
    use confluence_connector::elastic::{Lease, LeaseTimes};
    let world = world().await;
    let es = es_client(&world);
    let index = format!("lease-confirm-{}", std::process::id());
    let times = LeaseTimes {
        ttl: Duration::from_secs(30),
        renew_every: Duration::from_millis(20),
        margin: Duration::from_secs(10),
    };
    let lease = Lease::acquire_with(&es, &index, "full", times).await.unwrap();
    for _ in 0..50 {
        lease.confirm().await.unwrap();
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    assert!(lease.fence().holds());
    lease.release().await;
}

/// A renewal the aborted renewer had sent may land after the version the lease holds: giving
/// the lease back still removes it (it is ours by its token), so the next sync need not wait
/// out the TTL.
#[tokio::test]
async fn a_renewal_landing_late_does_not_keep_the_lease() {
    use confluence_connector::elastic::Lease;
    let world = world().await;
    let es = es_client(&world);
    let index = format!("lease-late-renewal-{}", std::process::id());
    let lease = Lease::acquire(&es, &index, "full").await.unwrap();
    // What the late renewal does: the same holder written again, a new version.
    let doc_path = format!("/{LEASE_INDEX}/_doc/{index}");
    let doc: serde_json::Value =
        world.request(reqwest::Method::GET, &doc_path).send().await.unwrap().json().await.unwrap();
    let r = world.request(reqwest::Method::PUT, &doc_path).json(&doc["_source"]).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    lease.release().await;
    let r = world.request(reqwest::Method::GET, &doc_path).send().await.unwrap();
    assert_eq!(
        r.status(),
        reqwest::StatusCode::NOT_FOUND,
        "the lease is still there: {}",
        r.text().await.unwrap()
    );
}
