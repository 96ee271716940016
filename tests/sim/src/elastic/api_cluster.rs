//! Cluster-level endpoints: `GET /` (name, version, tagline), `_security/_authenticate`,
//! `_license`, `_cluster/health`, and ingest pipeline storage (`_ingest/pipeline`).

use serde_json::{json, Map, Value};

use super::auth;
use super::error::EsError;
use super::pipeline::Pipeline;
use super::routes::{Reply, Request};
use super::server::Shared;

/// `GET /`.
pub fn root(shared: &Shared) -> Result<Reply, EsError> {
    let c = &shared.config;
    let (lucene, wire, index_compat) =
        if c.major() >= 9 { ("10.2.2", "8.19.0", "8.0.0") } else { ("9.11.1", "7.17.0", "7.0.0") };
    Ok(Reply::ok(json!({
        "name": "es-sim-node",
        "cluster_name": c.cluster_name,
        "cluster_uuid": shared.cluster_uuid,
        "version": {
            "number": c.version,
            "build_flavor": "default",
            "build_type": "docker",
            "build_hash": "0000000000000000000000000000000000000000",
            "build_date": "2025-07-01T00:00:00.000Z",
            "build_snapshot": false,
            "lucene_version": lucene,
            "minimum_wire_compatibility_version": wire,
            "minimum_index_compatibility_version": index_compat
        },
        "tagline": "You Know, for Search"
    })))
}

/// `GET /_security/_authenticate`.
pub fn authenticate(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    Ok(Reply::ok(auth::authenticate_body(&shared.config, &req.who)))
}

/// `GET /_license`.
pub fn license(shared: &Shared) -> Result<Reply, EsError> {
    Ok(Reply::ok(json!({"license": {
        "status": "active",
        "uid": "00000000-0000-0000-0000-000000000000",
        "type": shared.config.license_type,
        "issue_date": "2024-01-01T00:00:00.000Z",
        "issue_date_in_millis": 1_704_067_200_000i64,
        "expiry_date": "2099-01-01T00:00:00.000Z",
        "expiry_date_in_millis": 4_070_908_800_000i64,
        "max_nodes": 1000,
        "max_resource_units": null,
        "issued_to": "es-sim",
        "issuer": "elasticsearch",
        "start_date_in_millis": -1
    }})))
}

/// `GET /_cluster/health`.
pub fn health(shared: &Shared, _req: &Request) -> Result<Reply, EsError> {
    let c = shared.read();
    let n = c.indices.len();
    Ok(Reply::ok(json!({
        "cluster_name": shared.config.cluster_name, "status": if n == 0 { "green" } else { "yellow" }, "timed_out": false,
        "number_of_nodes": 1, "number_of_data_nodes": 1, "active_primary_shards": n, "active_shards": n,
        "relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": n, "unassigned_primary_shards": 0,
        "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0, "active_shards_percent_as_number": if n == 0 { 100.0 } else { 50.0 }
    })))
}

/// `GET /_ingest/pipeline[/{id}]` (ids may be comma-separated or wildcards).
pub fn get_pipeline(shared: &Shared, id: Option<&str>) -> Result<Reply, EsError> {
    let c = shared.read();
    let mut out = Map::new();
    for (name, p) in &c.pipelines {
        let wanted = id.is_none_or(|ids| ids.split(',').any(|i| super::cluster::glob(i, name)));
        if wanted {
            out.insert(name.clone(), p.body.clone());
        }
    }
    if out.is_empty() && id.is_some() {
        return Ok(Reply::with(404, json!({})));
    }
    Ok(Reply::ok(Value::Object(out)))
}

/// `PUT /_ingest/pipeline/{id}`.
pub fn put_pipeline(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let body = req.json_required()?;
    const KNOWN: &[&str] = &["description", "processors", "on_failure", "version", "_meta", "deprecated"];
    let unknown: Vec<&str> = body
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .map(String::as_str)
        .filter(|k| !KNOWN.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(EsError::new(
            400,
            "parse_exception",
            format!(
                "pipeline [{}] doesn't support one or more provided configuration parameters [{}]",
                req.seg(2),
                unknown.join(", ")
            ),
        ));
    }
    let p = Pipeline::parse(&body)?;
    shared.write().pipelines.insert(req.seg(2).to_string(), p);
    Ok(Reply::ok(json!({"acknowledged": true})))
}

/// `PUT /_index_template/{name}`: kept for the indices created from now on, in the shape
/// Elasticsearch answers it with: `index_patterns` a list, settings nested under `index` with
/// string values.
pub fn put_index_template(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let mut body = req.json_required()?;
    body["index_patterns"] = match body["index_patterns"].take() {
        Value::String(p) => Value::Array(p.split(',').map(|p| Value::String(p.trim().to_string())).collect()),
        list @ Value::Array(_) => list,
        _ => {
            return Err(EsError::new(
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: index patterns are missing;",
            ))
        }
    };
    // Checked now, as Elasticsearch does, so that a bad template fails here, not on a write.
    let settings = crate::elastic::cluster::parse_settings(body["template"].get("settings"))?;
    crate::elastic::mapping::Mapping::parse(body["template"].get("mappings").unwrap_or(&Value::Null))?;
    if let Some(template) = body.get_mut("template").and_then(Value::as_object_mut) {
        if template.contains_key("settings") {
            let flat = settings.into_iter().map(|(k, v)| (format!("index.{k}"), v));
            template.insert("settings".into(), crate::elastic::cluster::nest_settings(flat));
        }
    }
    let name = req.seg(1).to_string();
    let mut c = shared.write();
    if req.flag("create") && c.index_templates.contains_key(&name) {
        return Err(EsError::illegal_argument(format!("index template [{name}] already exists")));
    }
    c.index_templates.insert(name, body);
    Ok(Reply::ok(json!({"acknowledged": true})))
}

/// `GET /_index_template[/{name}]`: every template, or those `name` (a comma-separated list
/// of names and wildcards) matches; none matching a name without wildcards is a 404.
pub fn get_index_template(shared: &Shared, name: Option<&str>) -> Result<Reply, EsError> {
    let c = shared.read();
    let patterns: Vec<&str> = name.map(|n| n.split(',').collect()).unwrap_or_else(|| vec!["*"]);
    let found: Vec<Value> = c
        .index_templates
        .iter()
        .filter(|(n, _)| patterns.iter().any(|p| crate::elastic::cluster::glob(p, n)))
        .map(|(n, t)| json!({"name": n, "index_template": t}))
        .collect();
    if found.is_empty() && patterns.iter().all(|p| !p.contains('*')) {
        return Err(EsError::new(
            404,
            "resource_not_found_exception",
            format!("index template matching [{}] not found", name.unwrap_or("*")),
        ));
    }
    Ok(Reply::ok(json!({"index_templates": found})))
}

/// `DELETE /_index_template/{name}`.
pub fn delete_index_template(shared: &Shared, name: &str) -> Result<Reply, EsError> {
    if shared.write().index_templates.remove(name).is_none() {
        return Err(EsError::new(
            404,
            "resource_not_found_exception",
            format!("index_template [{name}] missing"),
        ));
    }
    Ok(Reply::ok(json!({"acknowledged": true})))
}

/// `DELETE /_ingest/pipeline/{id}`.
pub fn delete_pipeline(shared: &Shared, id: &str) -> Result<Reply, EsError> {
    let mut c = shared.write();
    if c.pipelines.remove(id).is_none() {
        return Err(EsError::new(404, "resource_not_found_exception", format!("pipeline [{id}] is missing")));
    }
    Ok(Reply::ok(json!({"acknowledged": true})))
}
