//! Jobs nobody runs any more: a job `in_progress` or `canceling` whose connector is gone
//! (orphaned), or whose runner has not reported for five minutes (its process died) — each
//! ended in `error`, and its connector no longer shown as busy. Elastic's cleanup service
//! does the same every `service.job_cleanup_interval`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::elastic::client::EsClient;
use crate::sync::SyncKind;

use super::connector::Connector;
use super::job::{self, JobEnd, JobStats};
use super::runner::sync_done;

/// Seconds without a report after which a running job is taken for dead (Elastic's
/// `IDLE_JOBS_THRESHOLD`).
pub(super) const IDLE_SECONDS: i64 = 300;

/// Ends orphaned jobs, and idle jobs of the connectors served here (`served`) that this
/// process is not running (`running_here`).
pub(super) async fn clean_up(
    es: &EsClient,
    all_connector_ids: &HashSet<String>,
    served: &[Connector],
    running_here: &HashSet<String>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let running = job::running(es).await.map_err(|e| e.to_string())?;
    for job in running {
        if running_here.contains(job.id()) {
            continue;
        }
        let why = if !all_connector_ids.contains(job.connector_id()) {
            "The job's connector no longer exists."
        } else if job.last_seen().is_none_or(|seen| (now - seen).num_seconds() > IDLE_SECONDS) {
            "The job has not seen any update for some time."
        } else {
            continue;
        };
        let end = JobEnd::Error(why.to_string());
        if let Err(e) = job::terminate(es, job.id(), &end, JobStats::default(), None, json!({})).await {
            tracing::warn!(job = job.id(), "could not end an abandoned job: {e}");
            continue;
        }
        tracing::warn!(job = job.id(), connector = job.connector_id(), "ended an abandoned sync job: {why}");
        if let Some(connector) = served.iter().find(|c| c.id() == job.connector_id()) {
            let kind = job.kind().unwrap_or(SyncKind::Full);
            sync_done(es, connector, kind, &end, JobStats::default()).await;
        }
    }
    Ok(())
}
