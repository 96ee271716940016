//! A sync job document and the calls that move it along: pending → in_progress (claimed) →
//! completed / error / canceled / suspended, with its counters on the way.

use elasticsearch::http::Method;
use serde_json::{json, Value};

use crate::elastic::client::EsClient;
use crate::elastic::error::ElasticError;
use crate::sync::SyncKind;

use super::connector::now_text;
use super::system_index::{self, encode, UpdateError, Versioned, SYNC_JOBS};

/// A sync job, as read.
#[derive(Debug, Clone)]
pub(super) struct SyncJob {
    /// The document.
    pub(crate) doc: Versioned,
}

impl SyncJob {
    /// The job id.
    pub(super) fn id(&self) -> &str {
        &self.doc.id
    }

    /// `connector.id`.
    pub(super) fn connector_id(&self) -> &str {
        self.doc.source["connector"]["id"].as_str().unwrap_or("")
    }

    /// The connector snapshot taken when the job was created.
    pub(super) fn connector(&self) -> &Value {
        &self.doc.source["connector"]
    }

    /// `job_type`, when it is one this service runs.
    pub(super) fn kind(&self) -> Option<SyncKind> {
        match self.doc.source["job_type"].as_str()? {
            "full" => Some(SyncKind::Full),
            "incremental" => Some(SyncKind::Incremental),
            "access_control" => Some(SyncKind::AccessControl),
            _ => None,
        }
    }

    /// `status`.
    pub(super) fn status(&self) -> &str {
        self.doc.source["status"].as_str().unwrap_or("")
    }

    /// `last_seen`.
    pub(super) fn last_seen(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.doc.source["last_seen"].as_str().and_then(super::connector::parse_time)
    }
}

/// The job's counters, as `_stats` and the final update carry them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct JobStats {
    /// Documents written.
    pub(crate) indexed: u64,
    /// MiB written (Elastic's `indexed_document_volume` is whole MiB).
    pub(crate) volume_mib: u64,
    /// Documents deleted.
    pub(crate) deleted: u64,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JobEnd {
    /// Everything in scope was synced.
    Completed,
    /// It failed; the reason is shown in Kibana.
    Error(String),
    /// `_cancel` was asked for.
    Canceled,
    /// The service stopped; a later run resumes it.
    Suspended,
}

impl JobEnd {
    /// The job status it writes.
    pub(crate) fn status(&self) -> &'static str {
        match self {
            JobEnd::Completed => "completed",
            JobEnd::Error(_) => "error",
            JobEnd::Canceled => "canceled",
            JobEnd::Suspended => "suspended",
        }
    }

    /// The error it writes.
    pub(crate) fn error(&self) -> Option<&str> {
        match self {
            JobEnd::Error(e) => Some(e),
            _ => None,
        }
    }
}

/// Pending and suspended jobs of `connector_ids` of the given kinds, oldest first.
pub(super) async fn pending(
    es: &EsClient,
    connector_ids: &[String],
    kinds: &[SyncKind],
) -> Result<Vec<SyncJob>, ElasticError> {
    if connector_ids.is_empty() {
        return Ok(Vec::new());
    }
    let types: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    let query = json!({"bool": {"must": [
        {"terms": {"status": ["pending", "suspended"]}},
        {"terms": {"connector.id": connector_ids}},
        {"terms": {"job_type": types}}
    ]}});
    let docs = system_index::search(es, SYNC_JOBS, query, json!([{"created_at": "asc"}])).await?;
    Ok(docs.into_iter().map(|doc| SyncJob { doc }).collect())
}

/// Jobs said to run (`in_progress` or `canceling`), for the clean-up of idle and orphaned ones.
pub(super) async fn running(es: &EsClient) -> Result<Vec<SyncJob>, ElasticError> {
    let query = json!({"terms": {"status": ["in_progress", "canceling"]}});
    let docs = system_index::search(es, SYNC_JOBS, query, json!([{"created_at": "asc"}])).await?;
    Ok(docs.into_iter().map(|doc| SyncJob { doc }).collect())
}

/// A job, fresh; `None` once deleted.
pub(super) async fn reload(es: &EsClient, id: &str) -> Result<Option<SyncJob>, ElasticError> {
    Ok(system_index::get(es, SYNC_JOBS, id).await?.map(|doc| SyncJob { doc }))
}

/// Creates a job of `kind` for the connector (`trigger_method`: `on_demand` or `scheduled`).
pub(super) async fn create(
    es: &EsClient,
    connector_id: &str,
    kind: SyncKind,
    trigger: &str,
) -> Result<String, ElasticError> {
    let body = json!({"id": connector_id, "job_type": kind.name(), "trigger_method": trigger});
    let answer = system_index::api(es, Method::Post, "/_connector/_sync_job", Some(&body)).await?;
    Ok(answer.and_then(|a| a["id"].as_str().map(str::to_string)).unwrap_or_default())
}

/// Claims the job for this host: Elasticsearch sets `in_progress`, `started_at`, `last_seen`.
pub(super) async fn claim(es: &EsClient, job: &SyncJob, cursor: Option<&Value>) -> Result<(), ElasticError> {
    let mut body = json!({"worker_hostname": hostname()});
    if let Some(cursor) = cursor {
        body["sync_cursor"] = cursor.clone();
    }
    let path = format!("/_connector/_sync_job/{}/_claim", encode(job.id()));
    system_index::api(es, Method::Put, &path, Some(&body)).await.map(|_| ())
}

/// Reports the counters so far (which is also the job's heartbeat).
pub(super) async fn report_stats(es: &EsClient, id: &str, stats: JobStats) -> Result<(), ElasticError> {
    let body = json!({
        "indexed_document_count": stats.indexed,
        "indexed_document_volume": stats.volume_mib,
        "deleted_document_count": stats.deleted,
    });
    let path = format!("/_connector/_sync_job/{}/_stats", encode(id));
    system_index::api(es, Method::Put, &path, Some(&body)).await.map(|_| ())
}

/// Writes the job's end as Elastic's service does: status, error, times and counters.
pub(super) async fn terminate(
    es: &EsClient,
    id: &str,
    end: &JobEnd,
    stats: JobStats,
    total: Option<u64>,
    metadata: Value,
) -> Result<(), UpdateError> {
    let now = now_text();
    let mut doc = json!({
        "last_seen": now,
        "status": end.status(),
        "error": end.error(),
        "indexed_document_count": stats.indexed,
        "indexed_document_volume": stats.volume_mib,
        "deleted_document_count": stats.deleted,
        "metadata": metadata,
    });
    if *end != JobEnd::Suspended {
        doc["completed_at"] = json!(now);
    }
    if *end == JobEnd::Canceled {
        doc["canceled_at"] = json!(now);
    }
    if let Some(total) = total {
        doc["total_document_count"] = json!(total);
    }
    system_index::update(es, SYNC_JOBS, id, doc, None).await
}

/// This machine's name, as `worker_hostname` records it.
pub(super) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}
