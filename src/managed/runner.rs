//! One sync job from claim to end, as Elastic's `SyncJobRunner` runs it: the connector is
//! marked busy (guarded by its version, so two processes never start one connector's jobs
//! twice), the job claimed, the source built from the job's own snapshot of the
//! configuration, and the one sync engine ([`crate::sync::run_watched`]) run. Meanwhile the
//! counters go to `_stats` every 10 s, and the job is read again every 2 s: `canceling`
//! stops the sync (nothing is deleted, the cursor stays) and ends it `canceled`; a job or
//! connector that vanished ends it in `error`. A service shutdown ends it `suspended`,
//! which a later run picks up again.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::config::{Config, ConnectorEntry};
use crate::elastic::client::EsClient;
use crate::service::Metrics;
use crate::shutdown::Shutdown;
use crate::sync::{self, SyncKind, Watch};

use super::configuration::{problems_line, source_settings, ConnectorSettings};
use super::connector::{last_error_field, last_status_field, now_text, Connector, Feature};
use super::job::{self, JobEnd, JobStats, SyncJob};
use super::system_index::{self, UpdateError, CONNECTORS};
use super::{acl_index_prefix_stripped, reload_connector};

/// How often the counters go to `_stats` (Elastic's `JOB_REPORTING_INTERVAL`).
const STATS_EVERY: Duration = Duration::from_secs(10);
/// How often the job is read again for a cancel (Elastic checks every 5 s).
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// What a job needs from the service.
#[derive(Clone)]
pub(super) struct JobContext {
    /// The service configuration.
    pub(crate) config: Arc<Config>,
    /// The service's Elasticsearch client (protocol documents).
    pub(crate) es: EsClient,
    /// The connector's entry in `config.yml` (its `api_key`), for native ones `None`.
    pub(crate) entry: Option<ConnectorEntry>,
    /// Fires on service shutdown.
    pub(crate) shutdown: Shutdown,
    /// Where the syncs' outcomes are counted.
    pub(crate) metrics: Arc<Metrics>,
}

/// Why a job was left for later instead of run.
#[derive(Debug)]
pub(super) enum NotStarted {
    /// The connector runs a job of this kind already (here or in another process).
    Busy,
    /// Elasticsearch could not be asked; the next poll tries again.
    Unreachable(String),
}

/// Runs `job` to its end; `Err` when it was not started (it stays pending).
pub(super) async fn execute(ctx: &JobContext, job: SyncJob) -> Result<JobEnd, NotStarted> {
    let es = &ctx.es;
    let Some(kind) = job.kind() else {
        let why = format!("job type {:?} is not one this service runs", job.doc.source["job_type"]);
        finish_unstarted(es, &job, &why).await;
        return Ok(JobEnd::Error(why));
    };
    let connector = match reload_connector(es, job.connector_id()).await {
        Ok(Some(connector)) => connector,
        Ok(None) => {
            let why = format!("Couldn't find the connector {}", job.connector_id());
            finish_unstarted(es, &job, &why).await;
            return Ok(JobEnd::Error(why));
        }
        Err(e) => return Err(NotStarted::Unreachable(e)),
    };
    mark_started(es, &connector, kind).await?;
    // With the connector marked, no other process starts a job of this family for it; the
    // job itself may have been run meanwhile by one that read the pending list first.
    match job::reload(es, job.id()).await {
        Ok(Some(fresh)) if matches!(fresh.status(), "pending" | "suspended") => {}
        other => {
            unmark(es, &connector, kind).await;
            return match other {
                Err(e) => Err(NotStarted::Unreachable(e.to_string())),
                _ => Err(NotStarted::Busy),
            };
        }
    }
    let cursor = (kind == SyncKind::Incremental).then(|| connector.sync_cursor()).flatten();
    if let Err(e) = job::claim(es, &job, cursor).await {
        let why = format!("could not claim the job: {e}");
        sync_done(es, &connector, kind, &JobEnd::Error(why.clone()), JobStats::default()).await;
        return Ok(JobEnd::Error(why));
    }
    tracing::info!(job = job.id(), connector = connector.id(), kind = kind.name(), "sync job claimed");

    // Secrets kept in files or AWS are read again, so a rotated one is picked up.
    let prepared = match ctx.config.with_fresh_secrets().await {
        Ok(fresh) => prepare(ctx, &fresh, &job, &connector, kind),
        Err(e) => Err(format!("secrets: {e}")),
    };
    let end = match prepared {
        Ok((job_config, source)) => run(ctx, &job, &job_config, &source, kind).await,
        Err(why) => (JobEnd::Error(why), JobStats::default(), json!({})),
    };
    let (end, stats, metadata) = end;
    let total = total_documents(es, connector.index_name()).await;
    if let Err(e) = job::terminate(es, job.id(), &end, stats, total, metadata).await {
        tracing::warn!(job = job.id(), "could not write the end of the job: {e}");
    }
    sync_done(es, &connector, kind, &end, stats).await;
    match &end {
        JobEnd::Error(why) => tracing::warn!(job = job.id(), kind = kind.name(), "sync job failed: {why}"),
        other => tracing::info!(
            job = job.id(),
            kind = kind.name(),
            status = other.status(),
            indexed = stats.indexed,
            deleted = stats.deleted,
            "sync job ended"
        ),
    }
    Ok(end)
}

/// Marks the connector as running a job of `kind`, unless it already is: the update is
/// guarded by the version read, so of two processes racing for one connector, one wins.
async fn mark_started(es: &EsClient, connector: &Connector, kind: SyncKind) -> Result<(), NotStarted> {
    if connector.last_status(kind) == Some("in_progress") && running_elsewhere(es, connector, kind).await? {
        return Err(NotStarted::Busy);
    }
    let doc = json!({
        "status": "connected",
        "error": null,
        last_status_field(kind): "in_progress",
        last_error_field(kind): null,
    });
    match system_index::update(es, CONNECTORS, connector.id(), doc, Some(&connector.doc)).await {
        Ok(()) => Ok(()),
        Err(UpdateError::Conflict) => Err(NotStarted::Busy),
        Err(e) => Err(NotStarted::Unreachable(e.to_string())),
    }
}

/// Gives the connector back as it was before [`mark_started`], for a job that was not run.
async fn unmark(es: &EsClient, before: &Connector, kind: SyncKind) {
    let source = &before.doc.source;
    let doc = json!({
        "status": source["status"],
        "error": source["error"],
        last_status_field(kind): source[last_status_field(kind)],
        last_error_field(kind): source[last_error_field(kind)],
    });
    if let Err(e) = system_index::update(es, CONNECTORS, before.id(), doc, None).await {
        tracing::warn!(
            connector = before.id(),
            "could not give the connector back after a job another process ran: {e}"
        );
    }
}

/// Whether a job of the connector of the same family (content, or access control) is said
/// to run. A connector left `in_progress` by a process that died with no job running is not
/// busy: its jobs would otherwise wait forever.
async fn running_elsewhere(es: &EsClient, connector: &Connector, kind: SyncKind) -> Result<bool, NotStarted> {
    let running = job::running(es).await.map_err(|e| NotStarted::Unreachable(e.to_string()))?;
    let acl = kind == SyncKind::AccessControl;
    Ok(running.iter().any(|j| {
        j.connector_id() == connector.id() && j.kind().is_some_and(|k| (k == SyncKind::AccessControl) == acl)
    }))
}

/// The job's settings: the service config with the connector's API key for the writes,
/// and the source built from the job's snapshot of the connector.
fn prepare(
    ctx: &JobContext,
    config: &Config,
    job: &SyncJob,
    connector: &Connector,
    kind: SyncKind,
) -> Result<(Config, crate::config::ConfluenceConfig), String> {
    let snapshot = job.connector();
    let Some(configuration) = snapshot["configuration"].as_object() else {
        return Err("the job carries no configuration".into());
    };
    // An access-control job's snapshot names the identity index; the source wants the
    // content index it belongs to.
    let index_name = snapshot["index_name"]
        .as_str()
        .map(acl_index_prefix_stripped)
        .or(connector.index_name())
        .unwrap_or_default()
        .to_string();
    if index_name.is_empty() {
        return Err("the connector has no index_name".into());
    }
    let filtering = job_filtering(snapshot);
    let state = filtering["validation"]["state"].as_str().unwrap_or("valid");
    let rules_on = connector.feature(Feature::BasicRules) || connector.feature(Feature::AdvancedRules);
    if rules_on && state != "valid" {
        return Err(format!("Filtering in state {state}, errors: {}", filtering["validation"]["errors"]));
    }
    let settings = ConnectorSettings {
        configuration,
        index_name: &index_name,
        pipeline: &snapshot["pipeline"],
        filtering: &filtering,
        basic_rules: connector.feature(Feature::BasicRules),
        advanced_rules: connector.feature(Feature::AdvancedRules),
    };
    let mut source = source_settings(&settings, config.extraction_service.as_ref()).map_err(|problems| {
        format!("the connector configuration is invalid: {}", problems_line(&problems))
    })?;
    source.use_document_level_security &= connector.feature(Feature::DocumentLevelSecurity);
    if kind == SyncKind::AccessControl && !source.use_document_level_security {
        return Err("access-control jobs need document level security: turn it on in the connector's \
                    configuration (and its feature)"
            .into());
    }
    if kind == SyncKind::Incremental && !connector.feature(Feature::IncrementalSync) {
        return Err("incremental syncs are not enabled for this connector (features.incremental_sync)".into());
    }
    let mut job_config = config.clone();
    let id = job.connector_id();
    // The entry as read now (its key may have rotated), else as served.
    let entry =
        config.managed_connectors().into_iter().find(|e| e.connector_id == id).or_else(|| ctx.entry.clone());
    if let Some(key) = entry.and_then(|e| e.api_key).filter(|k| !k.is_empty()) {
        // The connector's own key writes its content, as in Elastic's service.
        job_config.elasticsearch.api_key = Some(key);
    }
    Ok((job_config, source))
}

/// The job's filtering snapshot (`{rules, advanced_snippet, validation}`); older documents
/// keep the whole `filtering` list.
fn job_filtering(snapshot: &Value) -> Value {
    match &snapshot["filtering"] {
        Value::Array(all) => all.first().map(|f| f["active"].clone()).unwrap_or(Value::Null),
        other => other.clone(),
    }
}

/// Runs the sync, reporting and watching the job meanwhile.
async fn run(
    ctx: &JobContext,
    job: &SyncJob,
    job_config: &Config,
    source: &crate::config::ConfluenceConfig,
    kind: SyncKind,
) -> (JobEnd, JobStats, Value) {
    let (cancel, canceled) = Shutdown::manual();
    let stop = ctx.shutdown.or(&canceled);
    let watch = Watch::new();
    let started = std::time::Instant::now();
    let sync = sync::run_watched(job_config, source, kind, stop, &watch);
    tokio::pin!(sync);
    let mut stats_tick = tokio::time::interval(STATS_EVERY);
    let mut check_tick = tokio::time::interval(CHECK_EVERY);
    stats_tick.tick().await;
    check_tick.tick().await;
    // Why the job was stopped from outside, if it was.
    let mut stopped: Option<JobEnd> = None;
    let result = loop {
        tokio::select! {
            result = &mut sync => break result,
            _ = stats_tick.tick() => {
                if let Err(e) = job::report_stats(&ctx.es, job.id(), live_stats(&watch)).await {
                    tracing::warn!(job = job.id(), "could not report the job's progress: {e}");
                }
            }
            _ = check_tick.tick(), if stopped.is_none() => {
                if let Some(end) = check(&ctx.es, job).await {
                    tracing::info!(job = job.id(), status = end.status(), "stopping the sync job");
                    stopped = Some(end);
                    let _ = cancel.send(true);
                }
            }
        }
    };
    let took = started.elapsed();
    let outcome = result.clone().map_err(|e| e.to_string());
    ctx.metrics.sync_ended(kind, &outcome, took, chrono::Utc::now());
    let end = match (stopped, result) {
        (Some(end), _) => end,
        // Stopped by the service's shutdown before it completed: a later run resumes it.
        (None, Ok(report)) if ctx.shutdown.requested() && !report.completed() => JobEnd::Suspended,
        (None, Err(_)) if ctx.shutdown.requested() => JobEnd::Suspended,
        (None, Err(e)) => JobEnd::Error(authorization_hint(&e.to_string(), &source.index_name)),
        (None, Ok(report)) => match report.incomplete_reason() {
            Some(why) => JobEnd::Error(why),
            None => JobEnd::Completed,
        },
    };
    (end, live_stats(&watch), metadata(&watch))
}

/// Elastic's words for a key without rights on the index (what Kibana users search for),
/// before ours; other errors as they are.
fn authorization_hint(error: &str, index: &str) -> String {
    // Elasticsearch's errors read "<method> <url> answered <status>…" (Confluence's do not).
    let refused = |status: &str| {
        error.contains(&format!("answered {status}:")) || error.contains(&format!("answered {status} "))
    };
    match ["401", "403"].into_iter().find(|status| refused(status)) {
        Some(status) => format!(
            "Connector is not authorized to access index [{index}]. API key may need to be regenerated. \
             Status code: [{status}]. ({error})"
        ),
        None => error.to_string(),
    }
}

/// The counters so far.
fn live_stats(watch: &Watch) -> JobStats {
    let s = watch.snapshot();
    JobStats { indexed: s.indexed, volume_mib: mib(s.volume), deleted: s.deleted }
}

/// What the job's `metadata` keeps beyond Elastic's counters.
fn metadata(watch: &Watch) -> Value {
    let s = watch.snapshot();
    json!({"documents_seen": s.seen, "documents_unchanged": s.unchanged, "documents_failed": s.failed})
}

/// Bytes as whole MiB (Elastic's `indexed_document_volume`), rounded up so that a sync that
/// wrote anything does not show 0.
fn mib(bytes: u64) -> u64 {
    bytes.div_ceil(1024 * 1024)
}

/// The job read again: how it must end now, if it must (`_cancel` asked, or it is gone or
/// ended by someone else).
async fn check(es: &EsClient, job: &SyncJob) -> Option<JobEnd> {
    match job::reload(es, job.id()).await {
        Ok(Some(fresh)) => match fresh.status() {
            "in_progress" => None,
            "canceling" | "canceled" => Some(JobEnd::Canceled),
            other => Some(JobEnd::Error(format!("the job was set to {other} while it ran"))),
        },
        Ok(None) => Some(JobEnd::Error("the job was deleted while it ran".into())),
        Err(e) => {
            // Elastic's runner logs these and goes on; so does this one.
            tracing::warn!(job = job.id(), "could not read the job again: {e}");
            None
        }
    }
}

/// Ends a job that never started (no connector, unknown type) in error.
async fn finish_unstarted(es: &EsClient, job: &SyncJob, why: &str) {
    let end = JobEnd::Error(why.to_string());
    if let Err(e) = job::terminate(es, job.id(), &end, JobStats::default(), None, json!({})).await {
        tracing::warn!(job = job.id(), "could not write the end of the job: {e}");
    }
    tracing::warn!(job = job.id(), "sync job failed: {why}");
}

/// `_count` of the content index after a refresh (Elastic's `total_document_count`).
async fn total_documents(es: &EsClient, index: Option<&str>) -> Option<u64> {
    use elasticsearch::http::Method;
    let index = system_index::encode(index?);
    let _ = system_index::api(es, Method::Post, &format!("/{index}/_refresh?ignore_unavailable=true"), None)
        .await;
    let answer =
        system_index::api(es, Method::Get, &format!("/{index}/_count?ignore_unavailable=true"), None)
            .await
            .ok()??;
    answer["count"].as_u64()
}

/// Writes the job's end into the connector document, as Elastic's `sync_done` does.
pub(super) async fn sync_done(
    es: &EsClient,
    connector: &Connector,
    kind: SyncKind,
    end: &JobEnd,
    stats: JobStats,
) {
    let error = match end {
        JobEnd::Error(why) if why.is_empty() => Some("unknown error".to_string()),
        other => other.error().map(str::to_string),
    };
    let mut doc = json!({
        "last_synced": now_text(),
        "status": if error.is_some() { "error" } else { "connected" },
        "error": error,
        last_status_field(kind): end.status(),
        last_error_field(kind): error,
    });
    if kind != SyncKind::AccessControl {
        doc["last_indexed_document_count"] = json!(stats.indexed);
        doc["last_deleted_document_count"] = json!(stats.deleted);
        if *end == JobEnd::Completed {
            // Confluence keeps its cursor in the content index's metadata; like Elastic's
            // Confluence source, the connector document's cursor stays empty.
            doc["sync_cursor"] = Value::Null;
        }
    }
    if let Err(e) = system_index::update(es, CONNECTORS, connector.id(), doc, None).await {
        tracing::warn!(
            connector = connector.id(),
            "could not record the end of the job on the connector: {e}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::authorization_hint;

    #[test]
    fn a_refused_key_is_reported_in_elastics_words() {
        let error =
            "PUT /search-wiki answered 403 security_exception: action [indices:admin/create] is unauthorized";
        let hint = authorization_hint(error, "search-wiki");
        assert!(hint.starts_with("Connector is not authorized to access index [search-wiki]."), "{hint}");
        assert!(hint.contains("Status code: [403]") && hint.contains(error), "{hint}");
        assert_eq!(authorization_hint("Confluence answered 401", "i"), "Confluence answered 401");
    }
}
