//! An incremental sync: fetch what changed since the last completed sync and remove what
//! disappeared, at a cost set by what changed rather than by the size of the site — and
//! still exact.
//!
//! The story:
//! 1. list the spaces in scope;
//! 2. list what exists now, ids only, with the cheapest exact listing of each flavour (Cloud:
//!    v2 pages and blog posts without bodies, 250 a page — with titles, parents and versions
//!    — and each space's attachments, and comments, by CQL with their containers; Server/DC:
//!    CQL without expansions, 1,000 a page);
//! 3. ask CQL what changed in the window (`lastmodified >= now("-Nm")`, see [`Window`]);
//! 4. crawl, as a full sync would, the pages and blog posts that changed, those holding a
//!    changed attachment or comment, and those the index has wrong: missing (restored from
//!    the trash, or failed last time), filed under another space (a move), or indexed with
//!    other ancestors than they have now (below a page renamed or moved); spaces never
//!    indexed are crawled whole. What the window finds again (its overlap reaches back past
//!    the last sync) and the index already holds as it is now is not crawled again;
//! 5. delete the indexed documents the id listing no longer has (trashed, purged, moved out
//!    of scope, in a space no longer configured; attachments of removed pages with them) —
//!    only when every listing and fetch completed, and (Cloud) an attachment only once
//!    Confluence confirms it is gone, as the search index may not show a new one yet.
//!
//! Pages below a renamed or moved page: the rename or move changes their `ancestors` without
//! touching their `lastmodified`, so nothing in the window names them. Following the tree
//! down from the renamed page once it is written (a second pass, as this sync once did)
//! loses them whenever the sync fails or is killed between the two writes: the next run
//! finds the renamed page current and never looks below it again. So each run compares, for
//! the pages that may be affected, the lineage — title and ancestors' titles — their
//! document would have now with the lineage hashed from the indexed document, and crawls
//! those that differ:
//! - Cloud: every page, from the id listing itself (v2 gives each page's title and parent);
//!   nothing is carried from one run to the next;
//! - Server/DC: the pages below those pages the window finds (or holding a changed
//!   attachment or comment) below which pages may be indexed wrong (`ancestor in (…)` with
//!   their ancestors, 200 a page) — which, the state of the previous sync tells: whether it
//!   completed, and what Confluence showed as the latest modification when it began (see
//!   [`PreviousSync`]). Listing every page's ancestors each run would cost a few kB per
//!   page of the site.
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
    Ancestry, ConfluenceClient, ConfluenceError, Content, ContentType, Flavour, Hit, HitKind, Space,
};
use crate::elastic::bulk::{elasticsearch_id, Operation};
use crate::elastic::existing::{lineage, stamp, ExistingDocs, StampParts};
use crate::elastic::sink::Sink;

use super::advanced_rules;
use super::crawl::iso;
use super::full::ContentSync;
use super::report::SyncReport;
use super::selected::{crawl_selected, Selection};

/// Which modifications an incremental sync asks for.
///
/// CQL dates written out (`"2026-11-23 01:00"`) are read as wall-clock time in the site's
/// time zone (Cloud: the instance's, not the user's; Server/DC: the server's), which the
/// connector cannot learn reliably. A UTC instant written out that way names, on a site
/// east of UTC, an earlier instant — in UTC+13, thirteen hours earlier: the window only
/// widens — but on a site west of UTC a later one: in UTC−10 the window would start ten
/// hours after the last sync and silently lose every edit of those ten hours. `now("-Nm")`
/// is evaluated by Confluence against its own clock, so the window is the same in every
/// time zone; the overlap covers the search index's lag behind edits and any clock skew
/// between the connector and Confluence.
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

/// What the state tells of the sync before this one, and so (Server/DC) below which pages
/// the window finds the pages must be checked. Those below a page are indexed right when
/// the page is indexed with the lineage it has now by a completed sync that listed them
/// after the page's last change. So, below a page the window finds (or holding a changed
/// attachment or comment), they are checked when:
/// - the previous sync did not complete: it may have written the page and not those below
///   (it was killed in between), and its cursor did not move, so the window finds the page
///   again — below every page the window finds (and every page holding a changed attachment
///   or comment), as long as syncs do not complete;
/// - the page is not indexed, or with another lineage (renamed or moved since);
/// - its indexed copy was modified at or after the latest modification Confluence's search
///   showed when the previous sync began ([`ExistingDocs::recent`]): it changed while that
///   sync ran, perhaps after the pages below were listed. Both dates are Confluence's, so
///   no clock skew enters; the search's lag can only make that mark earlier, which checks
///   more pages, never fewer.
///
/// A page at the top of a large tree whose body alone was edited then costs no listing of
/// its tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviousSync {
    /// It did not complete, or is not known to have.
    Incomplete,
    /// It completed; the indexed documents are marked [`ExistingDocs::recent`] against its
    /// mark (all of them when it had none).
    Completed,
}

impl PreviousSync {
    /// Whether the pages below page `id`, as `content` shows it now, need checking.
    fn check_below(&self, existing: &ExistingDocs, id: &str, content: Option<&Content>) -> bool {
        if *self == PreviousSync::Incomplete {
            return true;
        }
        // Without its ancestors, its lineage now is unknown.
        let Some((content, Some(ancestors))) = content.map(|c| (c, c.ancestors.as_ref())) else {
            return true;
        };
        let now = page_lineage(&content.title, ancestors.iter().filter_map(|a| a.title.as_deref()));
        let indexed_id = elasticsearch_id(id);
        existing.lineage_of(&indexed_id) != Some(now) || existing.recent(&indexed_id) != Some(false)
    }
}

/// What exists now: id → (space key, what it is, its container, its lineage).
#[derive(Debug, Default)]
struct Live {
    ids: HashMap<Box<str>, LiveItem>,
    /// Cloud page titles and parents, from the same listing, by space key (the crawl reuses
    /// them rather than listing the pages again).
    ancestries: HashMap<String, Arc<Ancestry>>,
}

#[derive(Debug, Clone)]
struct LiveItem {
    /// Shared by every item of the space.
    space_key: Arc<str>,
    kind: HitKind,
    container: Option<(Box<str>, ContentType)>,
    /// Pages: the [`lineage`] their document would have now.
    lineage: Option<u64>,
    /// Pages (and Cloud blog posts), without document-level security: the [`stamp`] their
    /// document would have now.
    stamp: Option<u64>,
}

/// One item of a space's id listing, and (pages, blog posts) what its document would be.
struct Listed {
    hit: Hit,
    lineage: Option<u64>,
    stamp: Option<u64>,
}

impl Listed {
    fn id_only(hit: Hit) -> Listed {
        Listed { hit, lineage: None, stamp: None }
    }
}

/// What to crawl, and what exists.
struct Plan {
    /// What changed or what the index has wrong.
    selection: Selection,
    /// The ids that exist now, as indexed.
    live_ids: LiveIds,
    /// Cloud, by space: the spaces whose attachments the id listing took from the search
    /// index, so that one missing from it is asked for by id before it is deleted.
    confirm_attachments_in: Option<HashSet<String>>,
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

/// The query for what changed in `window`: in the configured spaces that exist (`keys`
/// empty: every space). `None` when spaces were configured and none of them exists any
/// more: `space in ()` is not CQL, and nothing can have changed in them — what the index
/// holds of them is deleted by the reconciliation.
fn changed_cql(keys: &[String], spaces: &[Space], index_comments: bool, window: Window) -> Option<String> {
    let what = format!("{} and {}", content_types(index_comments), window.clause());
    if keys.is_empty() {
        return Some(what);
    }
    if spaces.is_empty() {
        return None;
    }
    let list: Vec<String> = spaces.iter().map(|s| quote(&s.key)).collect();
    Some(format!("space in ({}) and {what}", list.join(",")))
}

/// The lineage a page's document gets: its title and its ancestors' titles, root first
/// (as [`super::document::Document::lineage`] hashes them).
fn page_lineage<'a>(title: &str, ancestors: impl Iterator<Item = &'a str>) -> u64 {
    lineage(Some(title), ancestors)
}

/// The stamp a page's or blog post's document gets when it carries no access list (as
/// [`super::document::Document::stamp`] hashes it): from what the id listing tells — the
/// last modification, the space, the ancestors' titles — whether the indexed copy is current.
fn content_stamp<'a>(
    updated: Option<DateTime<Utc>>,
    space_key: &str,
    space_name: &str,
    ancestors: impl Iterator<Item = &'a str>,
) -> u64 {
    let timestamp = updated.map(iso).unwrap_or_default();
    let parts = StampParts {
        timestamp: Some(&timestamp),
        space_key: Some(space_key),
        space: Some(space_name),
        container: None,
    };
    stamp(parts, ancestors, std::iter::empty())
}

impl ContentSync {
    /// Runs an incremental sync of what changed in `window`.
    pub async fn incremental(
        &self,
        mut existing: ExistingDocs,
        sink: &Sink,
        window: Window,
        previous: PreviousSync,
    ) -> SyncReport {
        let started = Instant::now();
        let mut report = SyncReport::default();
        let mut failures = Failures::default();

        let plan = if self.advanced.is_empty() {
            self.plan_by_space(&existing, window, previous, &mut failures).await
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
        let complete = self.crawl_phase(plan.selection, &mut existing, sink, &mut report).await;

        let live = plan.live_ids;
        let mut gone: Vec<(String, Option<String>)> = existing
            .remaining()
            .filter(|(id, _)| !live.contains(id))
            .map(|(id, space)| (id.to_string(), space.map(str::to_string)))
            .collect();
        let deletable = |failures: &Failures, report: &SyncReport| {
            complete && failures.0.is_empty() && report.completed()
        };
        if let Some(spaces) = plan.confirm_attachments_in.as_ref().filter(|_| deletable(&failures, &report)) {
            let kept = self.attachments_still_there(&gone, spaces, &live, &mut failures).await;
            gone.retain(|(id, _)| !kept.contains(id));
        }
        // Every write judged first: if the error monitor stops the sink, nothing is deleted.
        sink.flush().await;
        let deletions_allowed = deletable(&failures, &report) && !sink.is_stopped();
        report.listing_failures.extend(failures.0);
        if deletions_allowed {
            for (id, _) in gone {
                sink.send(Operation::Delete { id }).await;
                report.deleted += 1;
            }
        } else {
            report.kept_unverified += gone.len() as u64;
        }
        self.finish(&mut report, started);
        report
    }

    /// The attachments among `gone` (indexed, not in the id listing) that Confluence still
    /// has, current, on a page or blog post that exists: the search index, where the Cloud
    /// id listing takes attachments from, lags behind uploads (CONFCLOUD-73997) — one a
    /// full sync found through its page may not be searchable yet. Only attachments of
    /// `spaces` (listed, in scope) are asked for, one request each: in an ordinary round
    /// that is the few deleted since the last sync.
    async fn attachments_still_there(
        &self,
        gone: &[(String, Option<String>)],
        spaces: &HashSet<String>,
        live: &LiveIds,
        failures: &mut Failures,
    ) -> HashSet<String> {
        let asked: Vec<&str> = gone
            .iter()
            .filter(|(id, space)| {
                id.starts_with("att") && space.as_deref().is_some_and(|s| spaces.contains(s))
            })
            .map(|(id, _)| id.as_str())
            .collect();
        let client = &self.client;
        let answers: Vec<(&str, _)> = stream::iter(asked)
            .map(|id| async move { (id, client.attachment_by_id(id).await) })
            .buffer_unordered(self.crawl.per_space_concurrency.max(1))
            .collect()
            .await;
        let mut kept = HashSet::new();
        for (id, answer) in answers {
            match answer {
                Ok(Some((hit, status))) => {
                    let current = status.as_deref().is_none_or(|s| s == "current");
                    let held =
                        hit.container.as_ref().is_some_and(|(c, _)| live.contains(&elasticsearch_id(c)));
                    if current && held {
                        tracing::debug!(id, "attachment not yet searchable: kept");
                        kept.insert(id.to_string());
                    }
                }
                Ok(None) => {}
                Err(e) => failures.add(&format!("checking attachment {id} before deleting it"), e),
            }
        }
        kept
    }

    /// Crawls a selection into the sink; returns whether it completed.
    async fn crawl_phase(
        &self,
        selection: Selection,
        existing: &mut ExistingDocs,
        sink: &Sink,
        report: &mut SyncReport,
    ) -> bool {
        let (tx, rx) = mpsc::channel(self.queue_size.max(1));
        let crawler =
            tokio::spawn(crawl_selected(self.client.clone(), self.crawl.clone(), Arc::new(selection), tx));
        // The crawl's own failures land in the report.
        if self.ingest(rx, existing, sink, report).await.stopped {
            // Its requests in flight are dropped; what reached the sink is still written.
            crawler.abort();
            return false;
        }
        match crawler.await {
            Ok(complete) => complete,
            Err(e) => {
                report.listing_failures.push(format!("the crawl stopped: {e}"));
                false
            }
        }
    }

    /// Steps 1–3 by space: the selection to crawl and the ids that exist. `None` when the
    /// spaces could not be listed (nothing can be done safely).
    async fn plan_by_space(
        &self,
        existing: &ExistingDocs,
        window: Window,
        previous: PreviousSync,
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

        // What changed in the window. Cloud's listing told each page's and blog post's stamp;
        // Server/DC's window tells it (`changed_hits`), and its pages are the roots below which
        // ancestors are checked.
        let cloud = client.flavour() == Flavour::Cloud;
        let stamps = self.crawl.acl.is_none();
        let mut window_pages: Vec<String> = Vec::new();
        // Server/DC: pages holding a changed attachment or comment, whose lineage is checked
        // too (a rename the search does not show yet leaves such a page out of the window,
        // yet it is crawled, with its new title).
        let mut containers: HashSet<String> = HashSet::new();
        let mut seen: HashSet<String> = HashSet::new();
        if let Some(cql) = changed_cql(&keys, &spaces, self.crawl.index_comments, window) {
            let mut changed = if cloud {
                Box::pin(client.content_hits(&cql, true).map_ok(|hit| (hit, None)))
            } else {
                client.changed_hits(&cql)
            };
            while let Some(hit) = changed.next().await {
                match hit {
                    Ok((hit, content)) => {
                        let listed = live.ids.get(hit.id.as_str());
                        let space = hit.space_key.clone().or_else(|| listed.map(|l| l.space_key.to_string()));
                        let Some(space) = space else { continue };
                        if !cloud {
                            match (hit.kind, &hit.container) {
                                (HitKind::Content(ContentType::Page), _) => {
                                    seen.insert(hit.id.clone());
                                    if previous.check_below(existing, &hit.id, content.as_ref()) {
                                        window_pages.push(hit.id.clone());
                                    }
                                }
                                (HitKind::Attachment | HitKind::Comment, Some((c, ContentType::Page))) => {
                                    containers.insert(c.clone());
                                }
                                _ => {}
                            }
                        }
                        let now = match (listed, content) {
                            (Some(l), _) if cloud => l.stamp,
                            // Without its ancestors (not expanded) the stamp is unknown: crawl.
                            (_, Some(c)) if stamps && c.ancestors.is_some() => {
                                let name = spaces.iter().find(|s| s.key == space).map(|s| s.name.as_str());
                                let name = c.space_name.as_deref().or(name).unwrap_or_default();
                                let titles = c.ancestors.iter().flatten().filter_map(|a| a.title.as_deref());
                                Some(content_stamp(c.updated_at, &space, name, titles))
                            }
                            _ => None,
                        };
                        // Found again by the overlap, and already indexed as it is now.
                        if now.is_some_and(|now| current(existing, &hit.id, &space, now)) {
                            continue;
                        }
                        select_container(&mut selection, &space, hit.kind, &hit.id, hit.container);
                    }
                    Err(e) => {
                        failures.add("content changed in the window", e);
                        break;
                    }
                }
            }
        }
        containers.retain(|id| !seen.contains(id));
        if !containers.is_empty() {
            let ids: Vec<String> = containers.into_iter().collect();
            window_pages.extend(self.containers_to_check(ids, existing, previous, failures).await);
        }
        if !window_pages.is_empty() {
            self.below_changed(&window_pages, existing, &live, &mut selection, failures).await;
        }

        // What the index has wrong: missing, filed under another space, with other ancestors
        // than the page has now, or (where the listing tells) not as it is now.
        let mut unknown_containers = Vec::new();
        for (id, item) in &live.ids {
            live_ids.insert(id);
            let indexed_id = elasticsearch_id(id);
            let wrong = match existing.space_of(&indexed_id) {
                None => true,
                Some(indexed_space) => {
                    indexed_space != Some(&*item.space_key)
                        || item.lineage.is_some_and(|now| existing.lineage_of(&indexed_id) != Some(now))
                        || item.stamp.is_some_and(|now| existing.stamp_of(&indexed_id) != Some(now))
                }
            };
            if !wrong {
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
        for (key, ancestry) in live.ancestries {
            selection.know_ancestry(&key, ancestry);
        }
        let confirm_attachments_in =
            (client.flavour() == Flavour::Cloud).then(|| spaces.iter().map(|s| s.key.clone()).collect());
        Some(Plan { selection, live_ids, confirm_attachments_in })
    }

    /// Server/DC: which of the pages `ids` (holding a changed attachment or comment) need the
    /// pages below them checked ([`PreviousSync::check_below`]), from their titles and
    /// ancestors now (`id in (…)`); after a sync that did not complete, all of them, without
    /// asking.
    async fn containers_to_check(
        &self,
        ids: Vec<String>,
        existing: &ExistingDocs,
        previous: PreviousSync,
        failures: &mut Failures,
    ) -> Vec<String> {
        if previous == PreviousSync::Incomplete {
            return ids;
        }
        let mut roots = Vec::new();
        let mut pages =
            self.client.page_tree_by_ids(&ids, |batch| format!("type = page and id in ({batch})"));
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) if previous.check_below(existing, &page.id, Some(&page)) => roots.push(page.id),
                Ok(_) => {}
                Err(e) => {
                    failures.add("pages holding changed attachments or comments", e);
                    break;
                }
            }
        }
        roots
    }

    /// Server/DC: the pages below `roots` (pages the window found, chosen by
    /// [`PreviousSync::check_below`]), with their ancestors as Confluence gives them now,
    /// against the lineage the index holds; those that differ are crawled. A rename or a move
    /// changes the ancestors of every page below without touching their `lastmodified`.
    async fn below_changed(
        &self,
        roots: &[String],
        existing: &ExistingDocs,
        live: &Live,
        selection: &mut Selection,
        failures: &mut Failures,
    ) {
        let mut pages =
            self.client.page_tree_by_ids(roots, |batch| format!("type = page and ancestor in ({batch})"));
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => {
                    let Some(item) = live.ids.get(page.id.as_str()) else { continue };
                    // A page listed without its ancestors cannot be checked: crawl it.
                    let stale = match &page.ancestors {
                        Some(ancestors) => {
                            let titles = ancestors.iter().filter_map(|a| a.title.as_deref());
                            let now = page_lineage(&page.title, titles);
                            existing.lineage_of(&elasticsearch_id(&page.id)).is_some_and(|l| l != now)
                        }
                        None => true,
                    };
                    if stale {
                        selection.container(&item.space_key, &page.id, ContentType::Page);
                    }
                }
                Err(e) => {
                    failures.add("pages below changed pages", e);
                    return;
                }
            }
        }
    }

    /// Step 2 by space: the ids that exist in each space, listed concurrently.
    async fn live_by_space(&self, spaces: &[Space], failures: &mut Failures) -> Live {
        let client = self.client.clone();
        let index_comments = self.crawl.index_comments;
        // With document-level security a document's stamp holds its access list, which the
        // id listing does not tell.
        let stamps = self.crawl.acl.is_none();
        let listed: Vec<(String, SpaceIds)> = stream::iter(spaces)
            .map(|space| {
                let client = client.clone();
                async move { (space.key.clone(), live_in_space(&client, space, index_comments, stamps).await) }
            })
            .buffer_unordered(self.crawl.max_concurrent_spaces.max(1))
            .collect()
            .await;
        let mut live = Live::default();
        for (key, result) in listed {
            match result {
                Ok((hits, ancestry)) => {
                    let space_key: Arc<str> = key.as_str().into();
                    for Listed { hit, lineage, stamp } in hits {
                        let container = hit.container.map(|(c, t)| (c.into_boxed_str(), t));
                        live.ids.insert(
                            hit.id.into_boxed_str(),
                            LiveItem {
                                space_key: space_key.clone(),
                                kind: hit.kind,
                                container,
                                lineage,
                                stamp,
                            },
                        );
                    }
                    if let Some(ancestry) = ancestry {
                        live.ancestries.insert(key, Arc::new(ancestry));
                    }
                }
                Err(e) => failures.add(&format!("listing the ids of space {key}"), e),
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
            let windowed = advanced_rules::within(query, &window.clause());
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
        // rules' hits carry no tree to compare. What no rule matches any more goes, whatever
        // Confluence still holds.
        Some(Plan { selection, live_ids, confirm_attachments_in: None })
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

/// The ids of one space that exist now (pages with their lineage and stamp), and (Cloud)
/// its pages' titles and parents.
type SpaceIds = Result<(Vec<Listed>, Option<Ancestry>), ConfluenceError>;

/// The ids of one space that exist now; with `stamps`, what the documents of its pages (and,
/// on Cloud, blog posts) would be stamped with.
///
/// Cloud attachments are listed by CQL, per space, with their containers, like comments: v2
/// lists attachments only site-wide (a cost set by the whole site, not by the configured
/// spaces) or page by page (one request per page).
async fn live_in_space(
    client: &ConfluenceClient,
    space: &Space,
    index_comments: bool,
    stamps: bool,
) -> SpaceIds {
    let mut hits: Vec<Listed> = Vec::new();
    let hit = |kind, id| Hit { kind, id, space_key: Some(space.key.clone()), container: None, space: None };
    let stamp_of = |updated, ancestors: &[&str]| {
        stamps.then(|| content_stamp(updated, &space.key, &space.name, ancestors.iter().copied()))
    };
    match client.flavour() {
        Flavour::Cloud => {
            let mut ancestry = Ancestry::default();
            let mut pages: Vec<Content> = Vec::new();
            for content_type in [ContentType::Page, ContentType::BlogPost] {
                let mut listing = client.contents(space, content_type, Default::default());
                while let Some(content) = listing.next().await {
                    let content = content?;
                    if content_type == ContentType::Page {
                        ancestry.record(&content);
                        pages.push(content);
                    } else {
                        // A blog post's document has no ancestors.
                        let stamp = stamp_of(content.updated_at, &[]);
                        let hit = hit(HitKind::Content(content_type), content.id);
                        hits.push(Listed { hit, lineage: None, stamp });
                    }
                }
            }
            // Once the whole tree is known: the chain a crawl would give each page.
            for page in pages {
                let chain = ancestry.ancestors(page.parent_id.as_deref());
                let titles: Vec<&str> = chain.iter().filter_map(|a| a.title.as_deref()).collect();
                let lineage = Some(page_lineage(&page.title, titles.iter().copied()));
                let stamp = stamp_of(page.updated_at, &titles);
                hits.push(Listed { hit: hit(HitKind::Content(ContentType::Page), page.id), lineage, stamp });
            }
            let kinds = if index_comments { "type in (attachment, comment)" } else { "type = attachment" };
            let cql = format!("space = {} and {kinds}", quote(&space.key));
            let mut children = client.content_hits(&cql, true);
            while let Some(child) = children.next().await {
                hits.push(Listed::id_only(child?));
            }
            Ok((hits, Some(ancestry)))
        }
        Flavour::Server | Flavour::DataCenter => {
            // Ids only: the ancestors of every page would cost a few kB each, every run.
            let cql = format!("space = {} and {}", quote(&space.key), content_types(index_comments));
            let mut listing = client.content_hits(&cql, false);
            while let Some(item) = listing.next().await {
                hits.push(Listed::id_only(item?));
            }
            Ok((hits, None))
        }
    }
}

/// Whether the index holds `id` in `space` with the stamp it has `now`: the window may find
/// it again — the overlap reaches back past the last sync — and crawling it again would
/// change nothing.
fn current(existing: &ExistingDocs, id: &str, space: &str, now: u64) -> bool {
    let indexed_id = elasticsearch_id(id);
    existing.stamp_of(&indexed_id) == Some(now) && existing.space_of(&indexed_id) == Some(Some(space))
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

    fn space(key: &str) -> Space {
        Space::bare(&format!("id-{key}"), key)
    }

    #[test]
    fn the_changed_query_names_the_spaces_that_exist_or_none() {
        let window = Window { minutes: 61 };
        let keys = vec!["DEV".to_string(), "GONE".to_string()];
        assert_eq!(
            changed_cql(&keys, &[space("DEV")], false, window).as_deref(),
            Some("space in (\"DEV\") and type in (page, blogpost, attachment) and lastmodified >= now(\"-61m\")")
        );
        // `*`: every space, no space clause.
        assert_eq!(
            changed_cql(&[], &[space("DEV")], true, window).as_deref(),
            Some("type in (page, blogpost, attachment, comment) and lastmodified >= now(\"-61m\")")
        );
        // Every configured space is gone: no query (`space in ()` is not CQL).
        assert_eq!(changed_cql(&keys, &[], false, window), None);
        for cql in [changed_cql(&keys, &[space("DEV")], false, window), changed_cql(&[], &[], true, window)] {
            let cql = cql.unwrap();
            assert!(confluence_cql::parse(&cql).is_ok(), "{cql}");
        }
    }

    #[test]
    fn a_page_lineage_and_stamp_are_the_ones_its_document_gets() {
        let doc = crate::sync::document::Document {
            id: "5".into(),
            doc_type: crate::sync::document::DocType::Page,
            timestamp: "2026-01-02T03:04:05.000Z".into(),
            title: "Guide".into(),
            space_key: "DEV".into(),
            space_name: Some("Development".into()),
            url: String::new(),
            body: None,
            ancestors: Some(vec!["Home".into(), "Docs".into()]),
            author: None,
            created_date: None,
            labels: None,
            size: None,
            container: None,
            attachment_base64: None,
            allow_access_control: None,
        };
        assert_eq!(page_lineage("Guide", ["Home", "Docs"].into_iter()), doc.lineage());
        assert_ne!(page_lineage("Guide", ["Home", "Renamed"].into_iter()), doc.lineage());
        assert_ne!(page_lineage("Guide", ["Docs"].into_iter()), doc.lineage());

        // The stamp from what a listing tells equals the document's, and moves with each part.
        let updated = Some(at("2026-01-02T03:04:05Z"));
        let ancestors = ["Home", "Docs"];
        assert_eq!(content_stamp(updated, "DEV", "Development", ancestors.into_iter()), doc.stamp());
        let later = Some(at("2026-01-02T03:04:06Z"));
        assert_ne!(content_stamp(later, "DEV", "Development", ancestors.into_iter()), doc.stamp());
        assert_ne!(content_stamp(updated, "OPS", "Development", ancestors.into_iter()), doc.stamp());
        assert_ne!(content_stamp(updated, "DEV", "Dev", ancestors.into_iter()), doc.stamp());
        assert_ne!(content_stamp(updated, "DEV", "Development", ["Home"].into_iter()), doc.stamp());
        // A document with an access list is not what the listing can tell.
        let mut restricted = doc.clone();
        restricted.allow_access_control = Some(vec!["group:dev".into()]);
        assert_ne!(content_stamp(updated, "DEV", "Development", ancestors.into_iter()), restricted.stamp());
    }

    /// A page as the window's `changed_hits` gives it (v1, ancestors expanded or not).
    fn found(title: &str, ancestors: Option<&[&str]>) -> Content {
        let mut page = serde_json::json!({"id": "5", "type": "page", "title": title});
        if let Some(ancestors) = ancestors {
            let chain: Vec<_> = ancestors
                .iter()
                .enumerate()
                .map(|(i, t)| serde_json::json!({"id": i.to_string(), "title": t}))
                .collect();
            page["ancestors"] = serde_json::Value::Array(chain);
        }
        Content::from_v1(serde_json::from_value(page).unwrap()).unwrap()
    }

    #[test]
    fn the_pages_below_are_checked_only_where_they_may_be_wrong() {
        let chain: &[&str] = &["Home", "Docs"];
        let lineage = page_lineage("Guide", chain.iter().copied());
        // The previous sync began when the latest modification was at 04:00.
        let mut existing = ExistingDocs::with_mark(Some(at("2026-01-02T04:00:00Z")));
        existing.insert("5", 1, lineage, Some("DEV"), Some("2026-01-02T03:00:00Z"));
        existing.insert("7", 1, lineage, Some("DEV"), Some("2026-01-02T04:00:00.001Z"));
        let body_edit = found("Guide", Some(chain));
        let completed = PreviousSync::Completed;

        // Indexed as it is, modified before the previous (completed) sync began: nothing below
        // to check.
        assert!(!completed.check_below(&existing, "5", Some(&body_edit)));
        // The previous sync did not complete: it may have written this page and not those below.
        assert!(PreviousSync::Incomplete.check_below(&existing, "5", Some(&body_edit)));
        // Renamed, or moved under another parent, since it was indexed.
        assert!(completed.check_below(&existing, "5", Some(&found("Renamed", Some(chain)))));
        assert!(completed.check_below(&existing, "5", Some(&found("Guide", Some(&["Home"])))));
        // Indexed with a modification from after the previous sync began: it changed while that
        // sync ran, maybe after the pages below were listed.
        assert!(completed.check_below(&existing, "7", Some(&body_edit)));
        // Not indexed; or its ancestors not given.
        assert!(completed.check_below(&existing, "6", Some(&body_edit)));
        assert!(completed.check_below(&existing, "5", Some(&found("Guide", None))));
        assert!(completed.check_below(&existing, "5", None));
        // No mark from the previous sync: every indexed page counts as recent.
        let mut unmarked = ExistingDocs::default();
        unmarked.insert("5", 1, lineage, Some("DEV"), Some("2026-01-02T03:00:00Z"));
        assert!(completed.check_below(&unmarked, "5", Some(&body_edit)));
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
