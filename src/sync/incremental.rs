//! An incremental sync: fetch what changed since the last completed sync and remove what
//! disappeared, at a cost set by what changed rather than by the size of the site — and
//! still exact.
//!
//! The story:
//! 1. list the spaces in scope;
//! 2. list what exists now, ids only, with the cheapest exact listing of each flavour (Cloud:
//!    v2 pages and blog posts without bodies, 250 a page, and the site's attachments;
//!    Server/DC: CQL without expansions, 1,000 a page);
//! 3. ask CQL what changed in the window (`lastmodified >= now("-Nm")`, see [`Window`]);
//! 4. crawl, as a full sync would, the pages and blog posts that changed, those holding a
//!    changed attachment or comment, and those the index has wrong (missing — restored from
//!    the trash, or failed last time — or filed under another space after a move); spaces
//!    never indexed are crawled whole;
//! 5. delete the indexed documents the id listing no longer has (trashed, purged, moved out
//!    of scope, in a space no longer configured; attachments of removed pages with them) —
//!    only when every listing and fetch completed.
//!
//! With advanced rules, step 2 is every query's hits (ids only), step 3 each query combined
//! with the window, and step 5 reconciles against the union of the queries' hits.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::{stream, StreamExt, TryStreamExt};
use tokio::sync::mpsc;

use crate::confluence::{
    Ancestry, ConfluenceClient, ConfluenceError, ContentType, Flavour, Hit, HitKind, Space,
};
use crate::elastic::bulk::{elasticsearch_id, Operation};
use crate::elastic::existing::ExistingDocs;
use crate::elastic::sink::Sink;

use super::advanced_rules;
use super::full::ContentSync;
use super::report::SyncReport;
use super::selected::{crawl_selected, Selection};

/// Which modifications an incremental sync asks for.
///
/// CQL dates written out (`"2026-11-23 01:00"`) are read in the site's time zone (Cloud: the
/// instance's, not the user's; Server/DC: the server's), which the connector cannot learn
/// reliably — a site in UTC+13 would silently lose thirteen hours of edits. `now("-Nm")` is
/// evaluated by Confluence against its own clock, so the window is the same in every time
/// zone; the overlap covers the search index's lag behind edits and any clock skew between
/// the connector and Confluence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Minutes back from Confluence's "now".
    pub minutes: i64,
}

impl Window {
    /// The window covering everything modified since `since`, plus `overlap_minutes`.
    pub fn since(since: DateTime<Utc>, now: DateTime<Utc>, overlap_minutes: i64) -> Window {
        let elapsed = (now - since).num_seconds().max(0);
        // Rounded up: a window one minute too wide costs nothing, one too narrow loses edits.
        let minutes = (elapsed + 59) / 60 + overlap_minutes.max(0);
        Window { minutes: minutes.max(1) }
    }

    /// The CQL clause.
    pub fn clause(&self) -> String {
        format!("lastmodified >= now(\"-{}m\")", self.minutes)
    }
}

/// What exists now: id → (space key, what it is, its container).
#[derive(Debug, Default)]
struct Live {
    ids: HashMap<Box<str>, LiveItem>,
    /// Cloud page titles and parents, from the same listing, by space key.
    ancestries: HashMap<String, Arc<Ancestry>>,
}

#[derive(Debug, Clone)]
struct LiveItem {
    /// Shared by every item of the space.
    space_key: Arc<str>,
    kind: HitKind,
    container: Option<(Box<str>, ContentType)>,
}

/// What to crawl, and what exists.
struct Plan {
    /// The first pass: what changed or what the index has wrong.
    selection: Selection,
    /// The ids that exist now, as indexed.
    live_ids: LiveIds,
    /// The id listing by space, to find the pages below renamed or moved ones (not with
    /// advanced rules).
    tree: Option<Tree>,
}

/// The id listing by space.
struct Tree {
    live: Live,
    spaces: Vec<Space>,
}

/// Everything the steps learned that can make the sync incomplete.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn add(&mut self, what: &str, e: ConfluenceError) {
        self.0.push(format!("{what}: {e}"));
    }
}

fn content_types(index_comments: bool) -> &'static str {
    if index_comments {
        "type in (page, blogpost, attachment, comment)"
    } else {
        "type in (page, blogpost, attachment)"
    }
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

impl ContentSync {
    /// Runs an incremental sync of what changed in `window`.
    pub async fn incremental(&self, mut existing: ExistingDocs, sink: &Sink, window: Window) -> SyncReport {
        let started = Instant::now();
        let mut report = SyncReport::default();
        let mut failures = Failures::default();

        let plan = if self.advanced.is_empty() {
            self.plan_by_space(&existing, window, &mut failures).await
        } else {
            self.plan_by_rules(&existing, window, &mut failures).await
        };
        let Some(plan) = plan else {
            report.listing_failures = failures.0;
            self.finish(&mut report, started);
            return report;
        };
        tracing::info!(
            window_minutes = window.minutes,
            containers = plan.selection.container_count(),
            live = plan.live_ids.len(),
            "incremental sync: fetching what changed"
        );
        let crawled = plan.selection.containers();
        let (mut complete, relineaged) =
            self.crawl_phase(plan.selection, &mut existing, sink, &mut report).await;

        // Pages renamed or moved (and, on Cloud, pages gone) change the ancestors of the
        // pages below them: those are crawled again in a second pass.
        if let Some(tree) = &plan.tree {
            let mut roots: HashSet<String> = relineaged.into_iter().collect();
            if self.client.flavour() == Flavour::Cloud {
                roots.extend(
                    existing
                        .remaining()
                        .filter(|(id, _)| !plan.live_ids.contains(id))
                        .map(|(id, _)| id.to_string()),
                );
            }
            let below = self.descendants(tree, &roots, &mut failures).await;
            let mut selection = Selection::everything();
            for id in below.iter().filter(|id| !crawled.contains(*id)) {
                if let Some(item) = tree.live.ids.get(id.as_str()) {
                    selection.container(&item.space_key, id, ContentType::Page);
                }
            }
            if selection.container_count() > 0 {
                tracing::info!(
                    pages = selection.container_count(),
                    "incremental sync: pages below renamed or moved pages"
                );
                for space in &tree.spaces {
                    selection.know(space.clone());
                }
                for (key, ancestry) in &tree.live.ancestries {
                    selection.know_ancestry(key, ancestry.clone());
                }
                let (done, _) = self.crawl_phase(selection, &mut existing, sink, &mut report).await;
                complete &= done;
            }
        }

        report.listing_failures.extend(failures.0);
        let live = plan.live_ids;
        if complete && report.listing_failures.is_empty() {
            for (id, _) in existing.remaining() {
                if !live.contains(id) {
                    sink.send(Operation::Delete { id: id.to_string() }).await;
                    report.deleted += 1;
                }
            }
        } else {
            report.kept_unverified +=
                existing.remaining().filter(|(id, _)| !live.contains(id)).count() as u64;
        }
        self.finish(&mut report, started);
        report
    }

    /// Crawls a selection into the sink; returns whether it completed, and the pages whose
    /// title or ancestors changed.
    async fn crawl_phase(
        &self,
        selection: Selection,
        existing: &mut ExistingDocs,
        sink: &Sink,
        report: &mut SyncReport,
    ) -> (bool, Vec<String>) {
        let (tx, rx) = mpsc::channel(self.queue_size.max(1));
        let crawler =
            tokio::spawn(crawl_selected(self.client.clone(), self.crawl.clone(), Arc::new(selection), tx));
        // The crawl's own failures land in the report.
        let ingested = self.ingest(rx, existing, sink, report).await;
        match crawler.await {
            Ok(complete) => (complete, ingested.relineaged),
            Err(e) => {
                report.listing_failures.push(format!("the crawl stopped: {e}"));
                (false, ingested.relineaged)
            }
        }
    }

    /// Steps 1–3 by space: the selection to crawl and the ids that exist. `None` when the
    /// spaces could not be listed (nothing can be done safely).
    async fn plan_by_space(
        &self,
        existing: &ExistingDocs,
        window: Window,
        failures: &mut Failures,
    ) -> Option<Plan> {
        let client = &self.client;
        let keys: Vec<String> = self.crawl.spaces.iter().filter(|k| k.as_str() != "*").cloned().collect();
        let spaces: Vec<Space> = match client.spaces(&keys).try_collect().await {
            Ok(spaces) => spaces,
            Err(e) => {
                failures.add("listing spaces", e);
                return None;
            }
        };
        let live = self.live_by_space(&spaces, failures).await;
        let mut selection = Selection::everything();
        let mut live_ids = LiveIds::default();
        for space in &spaces {
            live_ids.insert(&space.id);
            selection.space_document(&space.key);
            if existing.space_of(&elasticsearch_id(&space.id)).is_none() {
                selection.whole_space(&space.key);
            }
            selection.know(space.clone());
        }

        // What changed in the window.
        let mut cql = format!("{} and {}", content_types(self.crawl.index_comments), window.clause());
        if !keys.is_empty() {
            let list: Vec<String> = spaces.iter().map(|s| quote(&s.key)).collect();
            cql = format!("space in ({}) and {cql}", list.join(","));
        }
        let mut changed = client.content_hits(&cql, true);
        while let Some(hit) = changed.next().await {
            match hit {
                Ok(hit) => {
                    let space = hit
                        .space_key
                        .clone()
                        .or_else(|| live.ids.get(hit.id.as_str()).map(|l| l.space_key.to_string()));
                    if let Some(space) = space {
                        select_container(&mut selection, &space, hit.kind, &hit.id, hit.container);
                    }
                }
                Err(e) => {
                    failures.add("content changed in the window", e);
                    break;
                }
            }
        }

        // What the index has wrong: missing, or filed under another space.
        let mut unknown_containers = Vec::new();
        for (id, item) in &live.ids {
            live_ids.insert(id);
            let misfiled = match existing.space_of(&elasticsearch_id(id)) {
                None => true,
                Some(indexed_space) => indexed_space != Some(&*item.space_key),
            };
            if !misfiled {
                continue;
            }
            match (item.kind, &item.container) {
                (HitKind::Content(_), _) | (_, Some(_)) => {
                    let container = item.container.as_ref().map(|(c, t)| (c.to_string(), *t));
                    select_container(&mut selection, &item.space_key, item.kind, id, container)
                }
                _ => unknown_containers.push(id.to_string()),
            }
        }
        for batch in unknown_containers.chunks(100) {
            let cql = format!("id in ({})", batch.join(","));
            let mut hits = client.content_hits(&cql, true);
            while let Some(hit) = hits.next().await {
                match hit {
                    Ok(hit) => {
                        if let Some(item) = live.ids.get(hit.id.as_str()) {
                            select_container(
                                &mut selection,
                                &item.space_key,
                                hit.kind,
                                &hit.id,
                                hit.container,
                            );
                        }
                    }
                    Err(e) => {
                        failures.add("containers of attachments and comments", e);
                        break;
                    }
                }
            }
        }
        for (key, ancestry) in &live.ancestries {
            selection.know_ancestry(key, ancestry.clone());
        }
        Some(Plan { selection, live_ids, tree: Some(Tree { live, spaces }) })
    }

    /// The pages below `roots`: from the ancestries the id listing built (Cloud), or by CQL
    /// `ancestor in (…)` (Server/DC).
    async fn descendants(
        &self,
        tree: &Tree,
        roots: &HashSet<String>,
        failures: &mut Failures,
    ) -> Vec<String> {
        if roots.is_empty() {
            return Vec::new();
        }
        if self.client.flavour() == Flavour::Cloud {
            return tree.live.ancestries.values().flat_map(|a| a.descendants(roots)).collect();
        }
        let roots: Vec<&String> = roots.iter().collect();
        let mut found = Vec::new();
        for batch in roots.chunks(100) {
            let list: Vec<&str> = batch.iter().map(|id| id.as_str()).collect();
            let cql = format!("type = page and ancestor in ({})", list.join(","));
            match self.client.content_hits(&cql, false).try_collect::<Vec<Hit>>().await {
                Ok(hits) => found.extend(hits.into_iter().map(|h| h.id)),
                Err(e) => failures.add("pages below changed pages", e),
            }
        }
        found
    }

    /// Step 2 by space: the ids that exist in each space, listed concurrently.
    async fn live_by_space(&self, spaces: &[Space], failures: &mut Failures) -> Live {
        let client = self.client.clone();
        let index_comments = self.crawl.index_comments;
        let listed: Vec<(String, SpaceIds)> = stream::iter(spaces)
            .map(|space| {
                let client = client.clone();
                async move { (space.key.clone(), live_in_space(&client, space, index_comments).await) }
            })
            .buffer_unordered(self.crawl.max_concurrent_spaces.max(1))
            .collect()
            .await;
        let mut live = Live::default();
        for (key, result) in listed {
            match result {
                Ok((hits, ancestry)) => {
                    let space_key: Arc<str> = key.as_str().into();
                    for hit in hits {
                        let container = hit.container.map(|(c, t)| (c.into_boxed_str(), t));
                        live.ids.insert(
                            hit.id.into_boxed_str(),
                            LiveItem { space_key: space_key.clone(), kind: hit.kind, container },
                        );
                    }
                    if let Some(ancestry) = ancestry {
                        live.ancestries.insert(key, Arc::new(ancestry));
                    }
                }
                Err(e) => failures.add(&format!("listing the ids of space {key}"), e),
            }
        }
        if client.flavour() == Flavour::Cloud {
            // v2 lists attachments site-wide; those whose container is live are live.
            let mut attachments = client.attachment_hits();
            while let Some(hit) = attachments.next().await {
                match hit {
                    Ok(hit) => {
                        let space = hit
                            .container
                            .as_ref()
                            .and_then(|(container, _)| live.ids.get(container.as_str()))
                            .map(|c| c.space_key.clone());
                        if let Some(space_key) = space {
                            live.ids.insert(
                                hit.id.into_boxed_str(),
                                LiveItem {
                                    space_key,
                                    kind: HitKind::Attachment,
                                    container: hit.container.map(|(c, t)| (c.into_boxed_str(), t)),
                                },
                            );
                        }
                    }
                    Err(e) => {
                        failures.add("listing attachment ids", e);
                        break;
                    }
                }
            }
        }
        live
    }

    /// Steps 1–3 with advanced rules: every query's hits are what exists; each query within
    /// the window is what changed.
    async fn plan_by_rules(
        &self,
        existing: &ExistingDocs,
        window: Window,
        failures: &mut Failures,
    ) -> Option<Plan> {
        let client = &self.client;
        let mut hits: Vec<Hit> = Vec::new();
        let mut changed: HashSet<String> = HashSet::new();
        for query in self.advanced.iter() {
            match advanced_rules::hits(client, query).await {
                Ok(found) => hits.extend(found),
                Err(e) => failures.add(&format!("advanced rule {query:?}"), e),
            }
            let windowed = format!("({query}) and {}", window.clause());
            match advanced_rules::hits(client, &windowed).await {
                Ok(found) => changed.extend(found.into_iter().map(|h| h.id)),
                Err(e) => failures.add(&format!("advanced rule {query:?} within the window"), e),
            }
        }
        let mut selection = Selection::only_wanted();
        let mut live_ids = LiveIds::default();
        for hit in hits {
            live_ids.insert(&hit.id);
            let stale = hit.kind == HitKind::Space
                || changed.contains(&hit.id)
                || existing
                    .space_of(&elasticsearch_id(&hit.id))
                    .is_none_or(|s| s != hit.space_key.as_deref());
            if stale {
                advanced_rules::select(&mut selection, hit);
            }
        }
        // Pages below a renamed page keep their ancestors until the next full sync: the
        // rules' hits carry no tree to walk.
        Some(Plan { selection, live_ids, tree: None })
    }
}

/// Adds what a changed or misfiled item needs crawled: itself when it is a page or blog
/// post, else its container.
fn select_container(
    selection: &mut Selection,
    space_key: &str,
    kind: HitKind,
    id: &str,
    container: Option<(String, ContentType)>,
) {
    match (kind, container) {
        (HitKind::Content(content_type), _) => selection.container(space_key, id, content_type),
        (HitKind::Attachment | HitKind::Comment, Some((container, content_type))) => {
            selection.children(space_key, &container, content_type)
        }
        _ => {}
    }
}

/// The ids of one space that exist now, and (Cloud) its pages' titles and parents.
type SpaceIds = Result<(Vec<Hit>, Option<Ancestry>), ConfluenceError>;

/// The ids of one space that exist now.
async fn live_in_space(client: &ConfluenceClient, space: &Space, index_comments: bool) -> SpaceIds {
    let mut hits = Vec::new();
    match client.flavour() {
        Flavour::Cloud => {
            let mut ancestry = Ancestry::default();
            for content_type in [ContentType::Page, ContentType::BlogPost] {
                let mut listing = client.contents(space, content_type, Default::default());
                while let Some(content) = listing.next().await {
                    let content = content?;
                    if content_type == ContentType::Page {
                        ancestry.record(&content);
                    }
                    hits.push(Hit {
                        kind: HitKind::Content(content_type),
                        id: content.id,
                        space_key: Some(space.key.clone()),
                        container: None,
                        space: None,
                    });
                }
            }
            if index_comments {
                let cql = format!("space = {} and type = comment", quote(&space.key));
                hits.extend(client.content_hits(&cql, true).try_collect::<Vec<_>>().await?);
            }
            Ok((hits, Some(ancestry)))
        }
        Flavour::Server | Flavour::DataCenter => {
            let cql = format!("space = {} and {}", quote(&space.key), content_types(index_comments));
            hits.extend(client.content_hits(&cql, false).try_collect::<Vec<_>>().await?);
            Ok((hits, None))
        }
    }
}

/// The ids (as indexed) that exist now.
#[derive(Debug, Default)]
struct LiveIds(HashSet<Box<str>>);

impl LiveIds {
    fn insert(&mut self, id: &str) {
        self.0.insert(elasticsearch_id(id).into());
    }

    fn contains(&self, id: &str) -> bool {
        self.0.contains(id)
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_window_rounds_up_and_adds_the_overlap() {
        let w = Window::since(at("2026-11-23T01:00:00Z"), at("2026-11-23T01:30:01Z"), 60);
        assert_eq!(w.minutes, 31 + 60);
        assert_eq!(w.clause(), "lastmodified >= now(\"-91m\")");
        // A clock that went backwards still asks for the overlap.
        assert_eq!(Window::since(at("2026-11-23T02:00:00Z"), at("2026-11-23T01:00:00Z"), 0).minutes, 1);
    }

    #[test]
    fn a_changed_attachment_brings_its_container() {
        let mut s = Selection::everything();
        select_container(&mut s, "DEV", HitKind::Attachment, "att1", Some(("5".into(), ContentType::Page)));
        select_container(&mut s, "DEV", HitKind::Attachment, "att2", None);
        select_container(&mut s, "DEV", HitKind::Content(ContentType::BlogPost), "9", None);
        assert_eq!(s.container_count(), 2);
    }
}
