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

mod live;
mod plan;
mod reconcile;
mod window;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::confluence::ConfluenceError;
use crate::elastic::existing::ExistingDocs;
use crate::elastic::sink::Sink;

use crate::sync::completeness::Incomplete;
use crate::sync::content::ContentSync;
use crate::sync::report::SyncReport;
use crate::sync::selected::crawl_selected;
use crate::sync::selection::Selection;

pub(super) use window::{PreviousSync, Window};

/// Everything the steps learned that makes the sync incomplete.
#[derive(Default)]
pub(super) struct Failures(pub(super) Vec<Incomplete>);

impl Failures {
    pub(super) fn add(&mut self, what: &str, e: ConfluenceError) {
        self.0.push(Incomplete::listing(what, e));
    }
}

impl ContentSync {
    /// Runs an incremental sync of what changed in `window`.
    pub(super) async fn incremental(
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
            report.incomplete = failures.0;
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
        if !complete && report.completed() {
            // Every way the crawl can end short reports why; should one not, this does.
            report.incomplete.push(Incomplete::CrawlAborted("the crawl of what changed ended short".into()));
        }
        let (live, confirm) = (plan.live_ids, plan.confirm_attachments_in);
        self.reconcile(existing, live, confirm, failures, sink, &mut report).await;
        self.finish(&mut report, started);
        report
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
                report.incomplete.push(Incomplete::CrawlAborted(e.to_string()));
                false
            }
        }
    }
}
