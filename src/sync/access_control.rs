//! An access-control sync: one identity document per person in
//! `.search-acl-filter-<index>`, so that search applications can filter by user.
//!
//! The story:
//! 1. list the people of the site and their groups ([`Directory`]);
//! 2. make sure the identity index exists (created with no body, as Elastic's framework
//!    does, so Elasticsearch's `search-acl-filter` template applies), and read a digest of
//!    every identity document in it;
//! 3. write each person's document when it is new or says something else than the indexed
//!    copy (keeping its `created_at`); leave unchanged ones alone;
//! 4. delete the documents of people no longer listed — only when every listing completed,
//!    as a full sync does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::elastic::client::EsClient;
use chrono::Utc;
use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::Method;

use crate::acl::directory::Directory;
use crate::acl::identity::Identities;
use crate::acl::identity_doc::{stored_digest, IdentityDoc};
use crate::confluence::ConfluenceClient;
use crate::elastic::bulk::{Document as Source, Operation};
use crate::elastic::error::ElasticError;
use crate::elastic::existing::scan;
use crate::elastic::request::{send_json, Answer};
use crate::elastic::sink::Sink;

use crate::shutdown::Shutdown;

use super::completeness::{may_delete_unseen, Incomplete};
use super::document::iso;
use super::report::SyncReport;

/// The identity index of a content index.
pub(crate) fn identity_index(content_index: &str) -> String {
    format!(".search-acl-filter-{content_index}")
}

/// Everything an access-control sync needs.
pub(super) struct AccessControlSync {
    /// The Confluence client.
    pub(crate) client: Arc<ConfluenceClient>,
    /// Group member listings at once.
    pub(crate) concurrency: usize,
}

/// An indexed identity document: its digest and when it was first written.
struct Indexed {
    digest: u64,
    created_at: Option<String>,
}

impl AccessControlSync {
    /// Runs the sync into `sink` (writing to `index`) until done or until `stop` fires; the
    /// report says whether every listing completed.
    pub(super) async fn run(
        &self,
        es: &EsClient,
        index: &str,
        sink: &Sink,
        mut stop: Shutdown,
    ) -> Result<SyncReport, ElasticError> {
        let started = Instant::now();
        let mut report = SyncReport::default();
        let ids = Identities::new(self.client.flavour());
        let directory = tokio::select! {
            directory = Directory::load(&self.client, self.concurrency) => directory,
            _ = stop.wait() => {
                report.stop(Incomplete::Stopped);
                self.finish(&mut report, started);
                return Ok(report);
            }
        };
        report.incomplete.extend(directory.failures.iter().cloned().map(Incomplete::Directory));
        ensure_index(es, index).await?;
        let mut indexed = read_indexed(es, index).await?;
        let now = iso(Utc::now());
        for person in directory.people.values() {
            if stop.requested() {
                report.stop(Incomplete::Stopped);
                break;
            }
            let Some(doc) = IdentityDoc::of(person, ids) else { continue };
            report.seen += 1;
            let created_at = match indexed.remove(&doc.id) {
                Some(old) if old.digest == doc.digest() => {
                    report.unchanged += 1;
                    sink.document_seen(true);
                    continue;
                }
                Some(old) => {
                    report.updated += 1;
                    old.created_at.unwrap_or_else(|| now.clone())
                }
                None => {
                    report.created += 1;
                    now.clone()
                }
            };
            sink.document_seen(false);
            match Source::serialize(&doc.id, &doc.source(&created_at)) {
                Ok(source) => sink.send(Operation::Index { id: doc.id.clone(), doc: source }).await,
                Err(e) => report.failed.push(format!("{} (identity): {e}", doc.id)),
            }
        }
        // Every write judged first: if the error monitor stops the sink, nothing is deleted.
        sink.flush().await;
        let deletable = may_delete_unseen(&report.incomplete) && !sink.is_stopped();
        for id in indexed.into_keys() {
            if deletable {
                sink.send(Operation::Delete { id }).await;
                report.deleted += 1;
            } else {
                report.kept_unverified += 1;
            }
        }
        self.finish(&mut report, started);
        Ok(report)
    }

    /// The counters every sync ends with.
    fn finish(&self, report: &mut SyncReport, started: Instant) {
        report.count_requests(&self.client.stats());
        report.duration = started.elapsed();
    }
}

/// Creates the identity index when it is missing, with no body (Elasticsearch's template
/// for `.search-acl-filter-*` gives its settings and mappings).
async fn ensure_index(es: &EsClient, index: &str) -> Result<(), ElasticError> {
    let path = format!("/{index}");
    if let Answer::Ok(_) = send_json(es, Method::Head, &path, None, HeaderMap::new()).await? {
        return Ok(());
    }
    match send_json(es, Method::Put, &path, None, HeaderMap::new()).await {
        Ok(_) => {
            tracing::info!(index, "created the identity index");
            Ok(())
        }
        Err(ElasticError::Status { error_type: Some(t), .. }) if t == "resource_already_exists_exception" => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The identity documents of `index` by id.
async fn read_indexed(es: &EsClient, index: &str) -> Result<HashMap<String, Indexed>, ElasticError> {
    let mut indexed = HashMap::new();
    scan(es, index, &["identity", "created_at", "_allow_access_control", "query"], |id, source| {
        let created_at = source["created_at"].as_str().map(str::to_string);
        indexed.insert(id.to_string(), Indexed { digest: stored_digest(source), created_at });
    })
    .await?;
    Ok(indexed)
}
