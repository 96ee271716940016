//! Settings that reshape every document without Confluence changing anything: after such a
//! change, the next sync — incremental or full — rewrites every document, so that none keeps
//! the old shape (above all: none stays visible to everyone once document-level security is
//! turned on). Against the simulators (Elasticsearch: the test server, or `ES_URL`).

use std::collections::HashMap;

use confluence_connector::config::{self, Config};
use confluence_connector::sync;
use confluence_connector::sync::SyncKind;
use confluence_connector::Shutdown;
use serde_json::{json, Value};
use sim::confluence::{Flavour, SimConfig, Size};

use common::World as World0;
use sim::world as common;

struct World {
    inner: World0,
    index: String,
}

impl World {
    async fn start(flavour: Flavour, name: &str) -> World {
        // A small site is enough: the point is that no document keeps the old shape.
        let mut site = SimConfig::new(flavour, Size::Small);
        site.pages = Some(200);
        let inner = World0::start(site).await.unwrap();
        World { inner, index: format!("shape-{name}-{}", std::process::id()) }
    }

    fn config(&self, extra: &[&str]) -> Config {
        self.config_of(&self.index, extra)
    }

    /// The config of another index: where a fresh sync shows what the rewritten one must hold.
    fn config_of(&self, index: &str, extra: &[&str]) -> Config {
        let mut lines = vec!["retry_count: 1"];
        lines.extend_from_slice(extra);
        config::load_str(&self.inner.config_yaml(index, &lines), &HashMap::new()).unwrap().config
    }

    fn fresh_index(&self) -> String {
        format!("{}-fresh", self.index)
    }

    async fn count_in(&self, index: &str, query: Value) -> u64 {
        self.inner.refresh(index).await.unwrap();
        self.inner.count(index, query).await.unwrap()
    }

    async fn count(&self, query: Value) -> u64 {
        self.count_in(&self.index, query).await
    }
}

#[tokio::test]
async fn turning_on_document_level_security_rewrites_every_document_even_in_an_incremental_sync() {
    let world = World::start(Flavour::DataCenter, "dls").await;
    let first = sync::run(&world.config(&[]), SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(first.completed() && first.failed.is_empty(), "{first}");
    let documents = world.count(json!({"match_all": {}})).await;
    let public = json!({"bool": {"must_not": {"exists": {"field": "_allow_access_control"}}}});
    assert_eq!(world.count(public.clone()).await, documents);

    // Nothing changed in Confluence: a plain incremental sync would write nothing.
    let dls = world.config(&["use_document_level_security: true"]);
    let report = sync::run(&dls, SyncKind::Incremental, Shutdown::never()).await.unwrap();
    assert!(report.completed() && report.failed.is_empty(), "{report}");
    assert_eq!(report.unchanged, 0, "every document is rewritten: {report}");
    // Exactly what a first sync with DLS makes: public only where Confluence is public.
    let fresh = world.fresh_index();
    assert!(sync::run(
        &world.config_of(&fresh, &["use_document_level_security: true"]),
        SyncKind::Full,
        Shutdown::never()
    )
    .await
    .unwrap()
    .completed());
    let restricted = json!({"exists": {"field": "_allow_access_control"}});
    let expected = world.count_in(&fresh, restricted.clone()).await;
    assert!(expected > documents / 2, "{expected} of {documents}");
    assert_eq!(world.count(restricted).await, expected);
    assert_eq!(world.count(public.clone()).await, world.count_in(&fresh, public).await);

    // Recorded: the next incremental sync is incremental again and writes nothing new.
    let report = sync::run(&dls, SyncKind::Incremental, Shutdown::never()).await.unwrap();
    assert!(report.completed(), "{report}");
    assert!(report.seen < documents / 4, "an incremental sync again: {report}");
}

#[tokio::test]
async fn turning_on_labels_fills_them_in_on_a_full_sync() {
    let world = World::start(Flavour::Server, "labels").await;
    let first = sync::run(&world.config(&[]), SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(first.completed(), "{first}");
    let labelled = json!({"exists": {"field": "labels"}});
    assert_eq!(world.count(labelled.clone()).await, 0);

    let report =
        sync::run(&world.config(&["index_labels: true"]), SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(report.completed(), "{report}");
    assert_eq!(report.unchanged, 0, "{report}");
    let fresh = world.fresh_index();
    assert!(sync::run(&world.config_of(&fresh, &["index_labels: true"]), SyncKind::Full, Shutdown::never())
        .await
        .unwrap()
        .completed());
    let expected = world.count_in(&fresh, labelled.clone()).await;
    assert!(expected > 0);
    assert_eq!(world.count(labelled).await, expected, "every labelled page and blog post carries its labels");
}
