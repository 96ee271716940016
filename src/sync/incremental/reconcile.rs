//! Step 5: what an incremental sync deletes — the indexed documents the id listing no
//! longer has, only when every listing and fetch completed, and (Cloud) an attachment only
//! once Confluence confirms it is gone.

use std::collections::HashSet;

use futures::{stream, StreamExt};

use crate::confluence::is_cloud_attachment_id;
use crate::elastic::bulk::{elasticsearch_id, Operation};
use crate::elastic::existing::ExistingDocs;
use crate::elastic::sink::Sink;

use crate::sync::completeness::{may_delete_unseen, nothing_listed};
use crate::sync::content::ContentSync;
use crate::sync::report::SyncReport;

use super::live::LiveIds;
use super::Failures;

impl ContentSync {
    /// Deletes the indexed documents that no longer exist — when every listing and the crawl
    /// of what changed completed; else keeps them, counted as unverified. The plan's failures
    /// end in the report.
    pub(super) async fn reconcile(
        &self,
        existing: ExistingDocs,
        live: LiveIds,
        confirm_attachments_in: Option<HashSet<String>>,
        mut failures: Failures,
        sink: &Sink,
        report: &mut SyncReport,
    ) {
        if let Some(nothing) = nothing_listed(live.len() as u64, existing.len()) {
            failures.0.push(nothing);
        }
        let mut gone: Vec<(String, Option<String>)> = existing
            .remaining()
            .filter(|(id, _)| !live.contains(id))
            .map(|(id, space)| (id.to_string(), space.map(str::to_string)))
            .collect();
        let deletable = |failures: &Failures, report: &SyncReport| {
            may_delete_unseen(&failures.0) && may_delete_unseen(&report.incomplete)
        };
        if let Some(spaces) = confirm_attachments_in.as_ref().filter(|_| deletable(&failures, report)) {
            let kept = self.attachments_still_there(&gone, spaces, &live, &mut failures).await;
            gone.retain(|(id, _)| !kept.contains(id));
        }
        // Every write judged first: if the error monitor stops the sink, nothing is deleted.
        sink.flush().await;
        let deletions_allowed = deletable(&failures, report) && !sink.is_stopped();
        report.incomplete.extend(failures.0);
        if deletions_allowed {
            for (id, _) in gone {
                sink.send(Operation::Delete { id }).await;
                report.deleted += 1;
            }
        } else {
            report.kept_unverified += gone.len() as u64;
        }
    }

    /// The attachments among `gone` (indexed, not in the id listing) that Confluence still
    /// has, current, on a page or blog post that exists: the search index, where the Cloud
    /// id listing takes attachments from, lags behind uploads (CONFCLOUD-73997) — one a
    /// full sync found through its page may not be searchable yet. Only attachments of
    /// `spaces` (listed, in scope) are asked for, one request each: in an ordinary round
    /// that is the few deleted since the last sync.
    pub(super) async fn attachments_still_there(
        &self,
        gone: &[(String, Option<String>)],
        spaces: &HashSet<String>,
        live: &LiveIds,
        failures: &mut Failures,
    ) -> HashSet<String> {
        let asked: Vec<&str> = gone
            .iter()
            .filter(|(id, space)| {
                is_cloud_attachment_id(id) && space.as_deref().is_some_and(|s| spaces.contains(s))
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
}
