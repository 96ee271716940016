//! `status` in managed mode: what Kibana shows, from the connector and sync-job documents —
//! each listed connector's state, its last syncs, and its recent jobs.

use serde_json::{json, Value};

use crate::config::Config;
use crate::elastic;
use crate::sync::elastic_options;

use super::job::SyncJob;
use super::reload_connector;
use super::system_index::{self, SYNC_JOBS};

/// Jobs shown per connector.
const RECENT_JOBS: usize = 10;

/// Each listed connector and its recent jobs, as JSON.
pub(crate) async fn connectors_status(config: &Config) -> Result<Value, String> {
    let es = elastic::client::connect(&elastic_options(config, None))
        .map_err(|e| e.to_string())?
        .without_retries();
    let mut connectors = Vec::new();
    for entry in config.managed_connectors() {
        let id = entry.connector_id;
        let Some(connector) = reload_connector(&es, &id).await? else {
            connectors.push(json!({"id": id, "found": false}));
            continue;
        };
        let query = json!({"term": {"connector.id": id}});
        let jobs = system_index::search(&es, SYNC_JOBS, query, json!([{"created_at": "desc"}]))
            .await
            .map_err(|e| e.to_string())?;
        let jobs: Vec<Value> =
            jobs.into_iter().take(RECENT_JOBS).map(|doc| job_line(&SyncJob { doc })).collect();
        let source = &connector.doc.source;
        let pick = |names: &[&str]| -> Value {
            names
                .iter()
                .map(|n| (n.to_string(), source[*n].clone()))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let mut shown = pick(&[
            "index_name",
            "status",
            "error",
            "last_seen",
            "last_synced",
            "last_sync_status",
            "last_sync_error",
            "last_indexed_document_count",
            "last_deleted_document_count",
            "last_access_control_sync_status",
            "last_access_control_sync_error",
            "scheduling",
        ]);
        shown["id"] = json!(id);
        shown["found"] = json!(true);
        shown["jobs"] = json!(jobs);
        connectors.push(shown);
    }
    Ok(json!({"connectors": connectors}))
}

fn job_line(job: &SyncJob) -> Value {
    let s = &job.doc.source;
    json!({
        "id": job.id(),
        "job_type": s["job_type"],
        "trigger_method": s["trigger_method"],
        "status": s["status"],
        "error": s["error"],
        "created_at": s["created_at"],
        "started_at": s["started_at"],
        "completed_at": s["completed_at"],
        "indexed_document_count": s["indexed_document_count"],
        "deleted_document_count": s["deleted_document_count"],
        "worker_hostname": s["worker_hostname"],
    })
}

/// The same as lines for people.
pub(crate) fn as_text(status: &Value) -> String {
    let mut text = String::new();
    for c in status["connectors"].as_array().into_iter().flatten() {
        let id = c["id"].as_str().unwrap_or("");
        if c["found"] != json!(true) {
            text.push_str(&format!("connector {id}: not found in Elasticsearch\n"));
            continue;
        }
        let or_dash = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| "-".into());
        text.push_str(&format!(
            "connector {id} (index {}): {}{}\n  last sync: {} at {} ({} indexed, {} deleted){}\n",
            or_dash(&c["index_name"]),
            or_dash(&c["status"]),
            c["error"].as_str().map(|e| format!(": {e}")).unwrap_or_default(),
            or_dash(&c["last_sync_status"]),
            or_dash(&c["last_synced"]),
            c["last_indexed_document_count"].as_u64().unwrap_or(0),
            c["last_deleted_document_count"].as_u64().unwrap_or(0),
            c["last_sync_error"].as_str().map(|e| format!(": {e}")).unwrap_or_default(),
        ));
        text.push_str("  recent jobs, newest first:\n");
        for j in c["jobs"].as_array().into_iter().flatten() {
            text.push_str(&format!(
                "    {} {} {} {} created {}{}\n",
                or_dash(&j["id"]),
                or_dash(&j["job_type"]),
                or_dash(&j["trigger_method"]),
                or_dash(&j["status"]),
                or_dash(&j["created_at"]),
                j["error"].as_str().map(|e| format!(": {e}")).unwrap_or_default(),
            ));
        }
    }
    text
}
