//! Crash safety: the connector binary is killed with SIGKILL in the middle of a sync (no
//! handler runs, nothing is flushed or saved), then the next sync must bring the index back to
//! exactly the source: every document the simulator's catalog says is in scope, nothing else,
//! the same count per type, and the same content a fresh full sync writes; a killed
//! incremental sync leaves the cursor where it was. Against the
//! Elasticsearch test server, or a real cluster when `ES_URL` is set.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use sim::confluence::model::parse_api_id;
use sim::confluence::{ContentKind, FaultKind, FaultRule, Flavour, SimConfig, Size, Trigger};

use common::World;
use sim::world as common;

mod child;
use child::Connector;

/// Added to every Confluence request while a sync is to be killed: a full sync of the site
/// (400 pages in 10 spaces, 40 attachments) then takes a few seconds, so the kill lands in
/// its middle.
const LATENCY: Duration = Duration::from_millis(100);

struct Crash {
    world: World,
    index: String,
    config: PathBuf,
    dir: tempfile::TempDir,
}

impl Crash {
    async fn start(name: &str) -> Crash {
        let mut site = SimConfig::new(Flavour::Server, Size::Small);
        site.pages = Some(400);
        let world = World::start(site).await.unwrap();
        // Unique per run, so tests can share a real cluster.
        let index = format!("crash-{name}-{}", std::process::id());
        // Small bulks, one at a time: a kill then leaves at most one bulk in flight, which
        // Elasticsearch finishes without the connector (a real node answers the count only
        // once a bulk is through, so with the default five 250-document bulks in flight the
        // whole site could land after the kill).
        let yaml = world.config_yaml(&index, &["retry_count: 1"]).replacen(
            "elasticsearch:\n",
            "elasticsearch:\n  bulk:\n    chunk_size: 40\n    max_concurrency: 1\n",
            1,
        );
        let config = world.write_config("config.yml", &yaml).unwrap();
        Crash { world, index, config, dir: tempfile::tempdir().unwrap() }
    }

    /// One sync of `kind` to its end; it must succeed.
    async fn sync(&self, kind: &str) {
        let run = self.world.sync(&self.config, kind).await.unwrap();
        assert!(run.success, "{kind} sync failed:\n{}", run.stderr);
    }

    /// Starts a slow sync of `kind`, waits until `started` says it is well under way, and
    /// kills it with SIGKILL.
    async fn kill_mid_sync(&self, kind: &str, started: impl AsyncFn() -> bool) {
        self.world.confluence.faults().add(FaultRule::global(
            Trigger::Always,
            FaultKind::Latency { fixed: LATENCY, jitter: Duration::ZERO },
        ));
        let log = self.dir.path().join(format!("{kind}.log"));
        let config = self.config.to_str().unwrap();
        let mut connector = Connector::start(&["sync", "--kind", kind, "-c", config], &log);
        let begun = Instant::now();
        while !started().await {
            assert!(connector.running(), "the sync ended before it could be killed:\n{}", connector.log());
            assert!(
                begun.elapsed() < Duration::from_secs(60),
                "the sync never got under way:\n{}",
                connector.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        connector.signal("KILL");
        let status = connector.exit_within(Duration::from_secs(10)).await.expect("SIGKILL did not end it");
        assert_eq!(status.signal(), Some(9), "it was not killed but ended by itself:\n{}", connector.log());
        self.world.confluence.faults().clear();
    }

    /// Documents in the index, or 0 while it does not exist yet.
    async fn count(&self) -> u64 {
        if self.world.refresh(&self.index).await.is_err() {
            return 0;
        }
        self.world.count(&self.index, json!({"match_all": {}})).await.unwrap_or(0)
    }

    /// Confluence requests served so far.
    fn requests(&self) -> u64 {
        self.world.confluence.requests().total()
    }

    /// The index holds exactly what the catalog says, and the same content as a fresh full
    /// sync into another index.
    async fn assert_exactly_the_source(&self) {
        let catalog = self.world.confluence.catalog();
        let mut expected: BTreeSet<String> =
            catalog.spaces.iter().filter(|s| s.indexed).map(|s| s.id.clone()).collect();
        expected.extend(catalog.content.iter().filter(|c| c.indexed).map(|c| c.id.clone()));
        assert_eq!(expected.len(), catalog.documents(), "space and content ids overlap");

        let ours = self.world.fingerprints(&self.index).await.unwrap();
        let found: BTreeSet<String> = ours.keys().cloned().collect();
        let missing: Vec<&String> = expected.difference(&found).take(10).collect();
        let extra: Vec<&String> = found.difference(&expected).take(10).collect();
        assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");

        let types = [
            ("Space", catalog.spaces.iter().filter(|s| s.indexed).count()),
            ("page", catalog.indexed(ContentKind::Page).count()),
            ("blogpost", catalog.indexed(ContentKind::BlogPost).count()),
            ("attachment", catalog.indexed(ContentKind::Attachment).count()),
        ];
        for (doc_type, count) in types {
            assert_eq!(
                self.world.count_type(&self.index, doc_type).await.unwrap(),
                count as u64,
                "{doc_type}"
            );
        }

        let fresh_index = format!("{}-fresh", self.index);
        let yaml = self.world.config_yaml(&fresh_index, &["retry_count: 1"]);
        let fresh_config = self.world.write_config("fresh.yml", &yaml).unwrap();
        let run = self.world.sync(&fresh_config, "full").await.unwrap();
        assert!(run.success, "{}", run.stderr);
        let fresh = self.world.fingerprints(&fresh_index).await.unwrap();
        let differ: Vec<&String> = ours
            .iter()
            .filter(|(id, hash)| fresh.get(*id) != Some(hash))
            .map(|(id, _)| id)
            .take(10)
            .collect();
        assert!(differ.is_empty(), "documents that differ from a fresh full sync: {differ:?}");
    }

    /// Changes the site so that the next sync has to add, update and delete: a space removed,
    /// pages trashed and edited, a page created.
    fn change_the_site(&self) {
        let catalog = self.world.confluence.catalog();
        let site = self.world.confluence.site();
        let removed = catalog.spaces[0].key.clone();
        site.remove_space(&removed).unwrap();
        let pages: Vec<u64> = catalog
            .indexed(ContentKind::Page)
            .filter(|p| p.space_key != removed)
            .map(|p| parse_api_id(&p.id).unwrap())
            .take(6)
            .collect();
        for id in &pages[..3] {
            site.trash(*id).unwrap();
        }
        for id in &pages[3..] {
            site.edit(*id, Some(&format!("Edited before the crash {id}")), Some("<p>edited</p>")).unwrap();
        }
        site.create_page(&catalog.spaces[1].key, None, "Created before the crash", Some("<p>new</p>"))
            .unwrap();
    }
}

#[tokio::test]
async fn a_first_full_sync_killed_midway_is_made_whole_by_the_next() {
    let crash = Crash::start("first").await;
    let expected = crash.world.confluence.catalog().documents() as u64;
    // Killed once documents have reached the index, and well before all of them have.
    crash.kill_mid_sync("full", async || crash.count().await > 0).await;
    let left = crash.count().await;
    assert!(left < expected, "the sync had written everything ({left}) before it was killed");
    crash.sync("full").await;
    crash.assert_exactly_the_source().await;
}

#[tokio::test]
async fn a_full_sync_killed_after_the_site_changed_loses_nothing_and_deletes_what_is_gone() {
    let crash = Crash::start("changed").await;
    crash.sync("full").await;
    crash.change_the_site();
    // Killed after 8 of the ~25 requests this sync makes (its listings carry the pages'
    // attachments; unchanged attachments are not downloaded again), before it could reach
    // its deletions.
    let before = crash.requests();
    crash.kill_mid_sync("full", async || crash.requests() > before + 8).await;
    crash.sync("full").await;
    crash.assert_exactly_the_source().await;
}

#[tokio::test]
async fn an_incremental_sync_killed_midway_is_made_whole_by_the_next() {
    let crash = Crash::start("incremental").await;
    crash.sync("full").await;
    crash.change_the_site();
    // Killed after 8 of the ~16 requests this incremental sync makes (Server's listings carry
    // the pages' attachments): its changes are not all written, and its cursor must not have
    // moved.
    let state = crash.world.meta(&crash.index).await.unwrap();
    assert!(state["confluence_connector"]["cursor"].is_string(), "no cursor after the full sync: {state}");
    let before = crash.requests();
    crash.kill_mid_sync("incremental", async || crash.requests() > before + 8).await;
    let after = crash.world.meta(&crash.index).await.unwrap();
    let (before_state, after_state) = (&state["confluence_connector"], &after["confluence_connector"]);
    assert_eq!(after_state["cursor"], before_state["cursor"], "the killed sync moved the cursor");
    // It recorded its start: the next sync knows it did not complete.
    assert_ne!(after_state["last_started"], after_state["cursor"], "{after}");
    crash.sync("incremental").await;
    crash.assert_exactly_the_source().await;
}
