//! Sync jobs: one document per requested sync in `.elastic-connectors-sync-jobs-v1`, holding
//! a snapshot of its connector taken at creation (id, index — `.search-acl-filter-<index>` for
//! access-control jobs —, language, pipeline, service type, configuration and the *active*
//! filtering), its `job_type`, `trigger_method`, `status` and counters.
//!
//! The life of a job as the API enforces it: created `pending` (the connector must have an
//! index and a service type); claimed by a worker (`in_progress`; Elasticsearch checks no
//! status here); checked in (`last_seen`) and given counters (`_stats`); ended with an error
//! (only from `in_progress` or `canceling`). A cancel of a job that is not running (`pending`,
//! `suspended`) makes it `canceled` at once; of a running one, `canceling`, which the worker
//! completes; of a finished one, a 400.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::mappings::{CONNECTOR_INDEX, SYNC_JOB_INDEX};
use super::status::{check_sync_job, SYNC_STATUSES};
use super::store::{
    self, list_param, live, not_found, page, require_id, searchable, status_exception, with_id, Body,
};
use crate::elastic::cluster::{random_id, Cluster, ACL_INDEX_PATTERN};
use crate::elastic::error::EsError;
use crate::elastic::routes::{Reply, Request};
use crate::elastic::server::Shared;
use crate::elastic::store::StoredDoc;
use crate::elastic::write::WriteKind;

/// Job types.
pub const JOB_TYPES: &[&str] = &["full", "incremental", "access_control"];
/// Trigger methods.
pub const TRIGGER_METHODS: &[&str] = &["on_demand", "scheduled"];

/// What an update of a missing job answers (Elasticsearch turns its `document_missing` into
/// this).
fn job_not_found(id: &str) -> EsError {
    not_found(format!("connector sync job [{id}] not found"))
}

/// The job id from the path, refused when empty.
fn job_id(req: &Request) -> Result<&str, EsError> {
    let id = req.seg(2);
    require_id(id, "connector_sync_job_id")?;
    Ok(id)
}

/// A job by id; a missing one is a 404 whose reason is the bare id, as Elasticsearch words it.
fn get_job(c: &Cluster, id: &str) -> Result<Arc<StoredDoc>, EsError> {
    live(c, SYNC_JOB_INDEX, id).ok_or_else(|| not_found(id.to_string()))
}

/// An enum-valued body field, with its default.
fn one_of(body: &Body, key: &str, allowed: &[&str], default: &str) -> Result<String, EsError> {
    match body.string(key)? {
        None => Ok(default.to_string()),
        Some(v) if allowed.contains(&v.as_str()) => Ok(v),
        Some(v) => Err(EsError::illegal_argument(format!(
            "Unknown {key} [{v}]. Allowed values: {}",
            allowed.join(", ")
        ))),
    }
}

/// `POST /_connector/_sync_job`: a new `pending` job for a connector (201 Created).
pub fn post(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let body =
        Body::parse(req, "connector_sync_job_post_request", &["id", "job_type", "trigger_method"], true)?;
    body.no_null("job_type")?;
    body.no_null("trigger_method")?;
    let connector_id = body.required_string("id")?;
    let enums = one_of(&body, "job_type", JOB_TYPES, "full")
        .and_then(|j| Ok((j, one_of(&body, "trigger_method", TRIGGER_METHODS, "on_demand")?)));
    let (job_type, trigger_method) = match enums {
        Ok(e) => e,
        // With all three fields given, Elasticsearch's parser builds the request while it
        // reads the last of them, so the refusal comes wrapped as a failure to parse that
        // field (the documented order puts `trigger_method` last); with fewer, the request
        // is built after the body and the `illegal_argument_exception` comes out as it is.
        Err(e) if ["id", "job_type", "trigger_method"].iter().all(|k| body.get(k).is_some()) => {
            return Err(EsError::new(
                400,
                "x_content_parse_exception",
                "[connector_sync_job_post_request] failed to parse field [trigger_method]",
            )
            .caused_by(e));
        }
        Err(e) => return Err(e),
    };
    if connector_id.is_empty() {
        return Err(EsError::validation(&["[id] of the connector cannot be [null] or [\"\"]."]));
    }
    let mut c = shared.write();
    let connector = live(&c, CONNECTOR_INDEX, &connector_id)
        .ok_or_else(|| not_found(format!("Connector with id '{connector_id}' does not exist.")))?;
    let src = &connector.source;
    let Some(index_name) = src["index_name"].as_str().filter(|s| !s.is_empty()) else {
        return Err(status_exception(format!("Cannot start a sync for connector [{connector_id}] with no index attached. Set the [index_name] property for the connector to enable syncing data.")));
    };
    if src["service_type"].as_str().is_none_or(str::is_empty) {
        return Err(status_exception(format!("Cannot start a sync for connector [{connector_id}] with [service_type] not defined. Set the service type of your connector before starting the sync.")));
    }
    let target = if job_type == "access_control" {
        format!("{}{index_name}", ACL_INDEX_PATTERN.trim_end_matches('*'))
    } else {
        index_name.to_string()
    };
    // The job's copy of its connector, without what the connector lacks (as Elasticsearch
    // serializes it); the sync cursor is added by the claim.
    let mut snapshot = Map::new();
    snapshot.insert("id".into(), json!(connector_id));
    if let Some(active) = src["filtering"].get(0).map(|f| f["active"].clone()) {
        snapshot.insert("filtering".into(), active);
    }
    snapshot.insert("index_name".into(), json!(target));
    for key in ["language", "pipeline", "service_type", "configuration"] {
        if let Some(v) = src.get(key).filter(|v| !v.is_null()) {
            snapshot.insert(key.into(), v.clone());
        }
    }
    let now = store::now();
    let job = json!({
        "connector": snapshot,
        "created_at": now,
        "deleted_document_count": 0,
        "indexed_document_count": 0,
        "indexed_document_volume": 0,
        "job_type": job_type,
        "last_seen": now,
        "metadata": {},
        "status": "pending",
        "total_document_count": 0,
        "trigger_method": trigger_method,
    });
    let id = random_id();
    store::put(&mut c, SYNC_JOB_INDEX, Some(&id), job)?;
    Ok(Reply::with(201, json!({"id": id})))
}

/// `GET /_connector/_sync_job/{id}`.
pub fn get(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = job_id(req)?;
    let c = shared.read();
    let job = get_job(&c, id)?;
    Ok(Reply::ok(with_id(&job)))
}

/// `GET /_connector/_sync_job`: jobs by `connector_id`, `status` and `job_type`, newest first.
pub fn list(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let (from, size) = page(req)?;
    let connector_id = req.params.get("connector_id").filter(|s| !s.is_empty());
    let status = req.params.get("status").filter(|s| !s.is_empty());
    if let Some(s) = status {
        if !SYNC_STATUSES.contains(&s.as_str()) {
            return Err(EsError::illegal_argument(format!("Unknown ConnectorSyncStatus: {s}")));
        }
    }
    let job_types = list_param(req, "job_type");
    if let Some(bad) = job_types.iter().flatten().find(|t| !JOB_TYPES.contains(&t.as_str())) {
        return Err(EsError::illegal_argument(format!("Unknown ConnectorSyncJobType: {bad}")));
    }
    let c = shared.read();
    store::check_window(&c, SYNC_JOB_INDEX, from, size)?;
    let mut hits: Vec<Arc<StoredDoc>> = searchable(&c, SYNC_JOB_INDEX)
        .into_iter()
        .filter(|d| {
            let s = &d.source;
            connector_id.is_none_or(|id| s["connector"]["id"].as_str() == Some(id.as_str()))
                && status.is_none_or(|st| s["status"].as_str() == Some(st.as_str()))
                && job_types
                    .as_ref()
                    .is_none_or(|ts| s["job_type"].as_str().is_some_and(|t| ts.iter().any(|x| x == t)))
        })
        .collect();
    // `created_at` descending; equal times keep index order, as a stable sort on one shard.
    hits.sort_by(|a, b| {
        let t = |d: &StoredDoc| {
            crate::elastic::dates::parse_date_value(&d.source["created_at"]).unwrap_or(i64::MIN)
        };
        t(b).cmp(&t(a))
    });
    let count = hits.len();
    let results: Vec<Value> = hits.iter().skip(from).take(size).map(|d| with_id(d)).collect();
    Ok(Reply::ok(json!({"count": count, "results": results})))
}

/// `DELETE /_connector/_sync_job/{id}`.
pub fn delete(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = job_id(req)?;
    let mut c = shared.write();
    get_job(&c, id)?;
    store::write(&mut c, SYNC_JOB_INDEX, Some(id), WriteKind::Delete)?;
    Ok(Reply::ok(json!({"acknowledged": true})))
}

/// Applies a partial update to a job, answering `{"result": ...}`.
fn patch(c: &mut Cluster, id: &str, doc: Value) -> Result<Reply, EsError> {
    if live(c, SYNC_JOB_INDEX, id).is_none() {
        return Err(job_not_found(id));
    }
    let o = store::update(c, SYNC_JOB_INDEX, id, doc)?;
    Ok(Reply::ok(json!({"result": store::result_of(&o)})))
}

/// `PUT /_connector/_sync_job/{id}/_check_in`: `last_seen` = now.
pub fn check_in(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = job_id(req)?;
    let mut c = shared.write();
    patch(&mut c, id, json!({"last_seen": store::now()}))
}

/// `PUT /_connector/_sync_job/{id}/_cancel`.
pub fn cancel(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = job_id(req)?;
    let mut c = shared.write();
    let job = get_job(&c, id)?;
    let from = job.source["status"].as_str().unwrap_or("").to_string();
    let now = store::now();
    let doc = if from == "pending" || from == "suspended" {
        check_sync_job(&from, "canceled")?;
        json!({"status": "canceled", "cancelation_requested_at": now, "canceled_at": now, "completed_at": now})
    } else {
        check_sync_job(&from, "canceling")?;
        json!({"status": "canceling", "cancelation_requested_at": now})
    };
    patch(&mut c, id, doc)
}

/// `PUT /_connector/_sync_job/{id}/_claim`: a worker takes the job (`in_progress`), with the
/// sync cursor it resumes from. Like Elasticsearch, it checks no status: a job already
/// claimed (or finished) is claimed again, so exclusivity between workers has to come from
/// the connector document (`if_seq_no`), not from this call.
pub fn claim(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = job_id(req)?;
    let body = Body::parse(req, "claim_connector_sync_job", &["worker_hostname", "sync_cursor"], true)?;
    // The cursor is an object (or absent); Elasticsearch's parser refuses anything else.
    let cursor = body.object("sync_cursor")?.cloned();
    let worker = body.required_string("worker_hostname")?;
    let mut c = shared.write();
    get_job(&c, id)?;
    let now = store::now();
    let mut doc =
        json!({"worker_hostname": worker, "status": "in_progress", "last_seen": now, "started_at": now});
    if let Some(cursor) = cursor {
        doc["connector"] = json!({"sync_cursor": cursor});
    }
    patch(&mut c, id, doc)
}

/// `PUT /_connector/_sync_job/{id}/_error`: the job failed.
pub fn error(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = job_id(req)?;
    let body = Body::parse(req, "connector_sync_job_error_request", &["error"], true)?;
    let error = body.required_string("error")?;
    if error.is_empty() {
        return Err(EsError::validation(&["[error] of the connector sync job cannot be null or empty"]));
    }
    let mut c = shared.write();
    let job = get_job(&c, id)?;
    check_sync_job(job.source["status"].as_str().unwrap_or(""), "error")?;
    patch(&mut c, id, json!({"error": error, "status": "error"}))
}

/// `PUT /_connector/_sync_job/{id}/_stats`: ingestion counters (and `last_seen`, `metadata`).
pub fn update_stats(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = job_id(req)?;
    let fields = [
        "deleted_document_count",
        "indexed_document_count",
        "indexed_document_volume",
        "total_document_count",
        "last_seen",
        "metadata",
    ];
    let body = Body::parse(req, "connector_sync_job_update_ingestion_stats", &fields, true)?;
    // The three counters are required by the parser itself: missing ones are named together
    // in one `Required [...]`, before any validation; a null is a failure to parse.
    for key in &fields[..4] {
        body.no_null(key)?;
    }
    let missing: Vec<&str> = fields[..3].iter().copied().filter(|k| body.get(k).is_none()).collect();
    if !missing.is_empty() {
        return Err(EsError::illegal_argument(format!("Required [{}]", missing.join(", "))));
    }
    let mut errors = Vec::new();
    let mut doc = Map::new();
    for key in &fields[..4] {
        match body.count(key)? {
            Some(n) if n < 0 => errors.push(format!("[{key}] cannot be negative.")),
            Some(n) => {
                doc.insert(key.to_string(), json!(n));
            }
            None => {}
        }
    }
    if !errors.is_empty() {
        let refs: Vec<&str> = errors.iter().map(String::as_str).collect();
        return Err(EsError::validation(&refs));
    }
    let last_seen = match body.string("last_seen")? {
        Some(s) if crate::elastic::dates::parse_strict_date(&s).is_none() => {
            return Err(body.bad_field("last_seen"))
        }
        Some(s) => s,
        None => store::now(),
    };
    doc.insert("last_seen".into(), json!(last_seen));
    if let Some(m) = body.object("metadata")? {
        doc.insert("metadata".into(), Value::Object(m.clone()));
    }
    let mut c = shared.write();
    patch(&mut c, id, Value::Object(doc))
}
