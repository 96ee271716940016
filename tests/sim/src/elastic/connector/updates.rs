//! The single-purpose updates of a connector, `PUT /_connector/{id}/_<what>`: heartbeat
//! (`_check_in`), last-sync bookkeeping (`_last_sync`), `_error`, `_name`, `_native`,
//! `_index_name`, `_pipeline`, `_scheduling`, `_service_type`, `_status`, `_api_key_id` and
//! `_features`. Each answers `{"result": "updated"}` (or `noop` when nothing changed), and
//! carries the rules Elasticsearch attaches to it: an error sets `status: error` and clearing
//! it `connected`; a status must follow the protocol's state machine; an Elastic-managed
//! connector's index must start with `content-`; a new service type sends a configured
//! connector back to `needs_configuration`.
//!
//! Updates Elasticsearch runs without reading the connector first answer a missing one with
//! `document_missing_exception`, the others with `resource_not_found_exception`, as there.

use serde_json::{json, Map, Value};

use super::connectors::MANAGED_CONNECTOR_INDEX_PREFIX;
use super::connectors::{check_index_name, get_connector, index_name_in_use, index_name_taken};
use super::mappings::CONNECTOR_INDEX;
use super::status::{check_connector, CONNECTOR_STATUSES, SYNC_STATUSES};
use super::store::{self, require_id, status_exception, Body};
use crate::elastic::dates::parse_strict_date;
use crate::elastic::error::EsError;
use crate::elastic::routes::{Reply, Request};
use crate::elastic::server::Shared;

fn updated(result: impl Into<String>) -> Reply {
    Reply::ok(json!({"result": result.into()}))
}

/// A partial update of a connector that Elasticsearch sends without reading it first.
fn patch(shared: &Shared, id: &str, doc: Value) -> Result<Reply, EsError> {
    let mut c = shared.write();
    let o = store::update(&mut c, CONNECTOR_INDEX, id, doc)?;
    Ok(updated(store::result_of(&o)))
}

/// The connector id from the path, refused when empty.
fn connector_id(req: &Request) -> Result<&str, EsError> {
    let id = req.seg(1);
    require_id(id, "connector_id")?;
    Ok(id)
}

/// `PUT /_connector/{id}/_check_in`: `last_seen` = now.
pub fn check_in(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = connector_id(req)?;
    patch(shared, id, json!({"last_seen": store::now()}))
}

/// Fields `_last_sync` may set.
const LAST_SYNC_FIELDS: &[&str] = &[
    "last_access_control_sync_error",
    "last_access_control_sync_scheduled_at",
    "last_access_control_sync_status",
    "last_deleted_document_count",
    "last_incremental_sync_scheduled_at",
    "last_indexed_document_count",
    "last_seen",
    "last_sync_error",
    "last_sync_scheduled_at",
    "last_sync_status",
    "last_synced",
    "sync_cursor",
];

/// `PUT /_connector/{id}/_last_sync`: the outcome of the last syncs.
pub fn last_sync(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = connector_id(req)?;
    let body = Body::parse(req, "connector_update_last_sync_stats_request", LAST_SYNC_FIELDS, true)?;
    for (k, v) in &body.fields {
        let ok = match k.as_str() {
            _ if v.is_null() => true,
            k if k.ends_with("_at") || k == "last_seen" || k == "last_synced" => {
                v.as_str().is_some_and(|s| parse_strict_date(s).is_some())
            }
            k if k.ends_with("_status") => v.as_str().is_some_and(|s| SYNC_STATUSES.contains(&s)),
            k if k.ends_with("_count") => v.as_i64().is_some(),
            k if k.ends_with("_error") => v.is_string(),
            _ => true,
        };
        if !ok {
            return Err(body.bad_field(k));
        }
    }
    patch(shared, id, Value::Object(body.fields))
}

/// `PUT /_connector/{id}/_error`: an error puts the connector in `error`, `null` clears it
/// back to `connected`.
pub fn error(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = connector_id(req)?;
    let body = Body::parse(req, "connector_update_error_request", &["error"], true)?;
    let error = match body.get("error") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(body.bad_field("error")),
    };
    let status = if error.as_deref().is_none_or(str::is_empty) { "connected" } else { "error" };
    patch(shared, id, json!({"error": error, "status": status}))
}

/// A partial update of two optional string fields of which at least one must be given
/// (`_name`: name and description; `_api_key_id`: the key's id and its secret's id).
fn one_or_both(
    shared: &Shared,
    req: &Request,
    parser: &'static str,
    fields: [&str; 2],
) -> Result<Reply, EsError> {
    let id = connector_id(req)?;
    let body = Body::parse(req, parser, &fields, true)?;
    let mut doc = Map::new();
    for f in fields {
        if let Some(v) = body.string(f)? {
            doc.insert(f.to_string(), json!(v));
        }
    }
    if doc.is_empty() {
        let [a, b] = fields;
        return Err(EsError::validation(&[&format!(
            "[{a}] and [{b}] cannot both be [null]. Please provide a value for at least one of them."
        )]));
    }
    patch(shared, id, Value::Object(doc))
}

/// `PUT /_connector/{id}/_name`: name and/or description.
pub fn name(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    one_or_both(shared, req, "connector_update_name_request", ["name", "description"])
}

/// `PUT /_connector/{id}/_native`: Elastic-managed or not; a connected connector has to
/// reconnect (`configured`).
pub fn native(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = connector_id(req)?;
    let body = Body::parse(req, "connector_update_native_request", &["is_native"], true)?;
    let is_native = body.required_boolean("is_native")?;
    let mut c = shared.write();
    let doc = get_connector(&c, id, false)?;
    if let Some(index) = doc.source["index_name"].as_str() {
        if is_native && !index.starts_with(MANAGED_CONNECTOR_INDEX_PREFIX) {
            return Err(status_exception(format!(
                "The index name [{index}] attached to the connector [{id}] must start with the required prefix: [{MANAGED_CONNECTOR_INDEX_PREFIX}] to be Elastic-managed. Please update the attached index first to comply with this requirement."
            )));
        }
    }
    // A connected connector has to connect again as (or as no longer) Elastic-managed.
    let status = match doc.source["status"].as_str().unwrap_or("created") {
        "connected" => "configured",
        other => other,
    };
    let o = store::update(&mut c, CONNECTOR_INDEX, id, json!({"is_native": is_native, "status": status}))?;
    Ok(updated(store::result_of(&o)))
}

/// `PUT /_connector/{id}/_index_name`: attach another index, or detach with `null`.
pub fn index_name(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = connector_id(req)?;
    let body = Body::parse(req, "connector_update_index_name_request", &["index_name"], true)?;
    let index_name = body.string("index_name")?;
    if let Some(n) = &index_name {
        check_index_name(n, false)?;
    }
    let mut c = shared.write();
    if let Some(n) = &index_name {
        if index_name_in_use(&c, n, Some(id)) {
            return Err(index_name_taken(n));
        }
    }
    let doc = get_connector(&c, id, false)?;
    if let Some(n) = &index_name {
        if doc.source["is_native"] == json!(true) && !n.starts_with(MANAGED_CONNECTOR_INDEX_PREFIX) {
            return Err(status_exception(format!(
                "Index attached to an Elastic-managed connector must start with the prefix: [{MANAGED_CONNECTOR_INDEX_PREFIX}]. The index name in the payload [{n}] doesn't comply with this requirement."
            )));
        }
    }
    let o = store::update(&mut c, CONNECTOR_INDEX, id, json!({"index_name": index_name}))?;
    Ok(updated(store::result_of(&o)))
}

/// `PUT /_connector/{id}/_pipeline`: all four pipeline settings, required (other keys are
/// dropped, as Elasticsearch's lenient pipeline parser drops them).
pub fn pipeline(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = connector_id(req)?;
    let body = Body::parse(req, "connector_update_pipeline_request", &["pipeline"], true)?;
    let p = body.required_object("pipeline")?;
    let mut pipeline = Map::new();
    let name = p.get("name").filter(|v| v.is_string()).ok_or_else(|| body.bad_field("pipeline"))?;
    pipeline.insert("name".into(), name.clone());
    for flag in ["extract_binary_content", "reduce_whitespace", "run_ml_inference"] {
        let v = p.get(flag).filter(|v| v.is_boolean()).ok_or_else(|| body.bad_field("pipeline"))?;
        pipeline.insert(flag.into(), v.clone());
    }
    patch(shared, id, json!({"pipeline": pipeline}))
}

/// Whether an interval looks like a Quartz cron expression (6 or 7 fields).
fn is_cron(s: &str) -> bool {
    matches!(s.split_whitespace().count(), 6 | 7)
}

/// `PUT /_connector/{id}/_scheduling`: any of `full`, `incremental`, `access_control` (at
/// least one), each `{enabled, interval}` with a Quartz cron interval. Other keys — at either
/// level — are dropped, as Elasticsearch's lenient scheduling parsers drop them.
pub fn scheduling(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = connector_id(req)?;
    let body = Body::parse(req, "connector_update_scheduling_request", &["scheduling"], true)?;
    let s = body.required_object("scheduling")?;
    let mut scheduling = Map::new();
    for kind in ["access_control", "full", "incremental"] {
        let Some(schedule) = s.get(kind).filter(|v| !v.is_null()) else { continue };
        let enabled = schedule.get("enabled").filter(|v| v.is_boolean());
        let interval = schedule.get("interval").filter(|v| v.as_str().is_some_and(is_cron));
        let (Some(enabled), Some(interval)) = (enabled, interval) else {
            return Err(body.bad_field("scheduling"));
        };
        scheduling.insert(kind.into(), json!({"enabled": enabled, "interval": interval}));
    }
    if scheduling.is_empty() {
        return Err(EsError::validation(&[
            "[scheduling] object needs to define at least one schedule type: [full | incremental | access_control]",
        ]));
    }
    patch(shared, id, json!({"scheduling": scheduling}))
}

/// `PUT /_connector/{id}/_service_type`: a new source type; a connector past `created` needs
/// configuring again.
pub fn service_type(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = connector_id(req)?;
    let body = Body::parse(req, "connector_update_service_type_request", &["service_type"], true)?;
    let service_type = body.required_string("service_type")?;
    if service_type.is_empty() {
        return Err(EsError::validation(&["[service_type] cannot be [null] or [\"\"]."]));
    }
    let mut c = shared.write();
    let doc = get_connector(&c, id, false)?;
    let status = if doc.source["status"] == json!("created") { "created" } else { "needs_configuration" };
    let o =
        store::update(&mut c, CONNECTOR_INDEX, id, json!({"service_type": service_type, "status": status}))?;
    Ok(updated(store::result_of(&o)))
}

/// `PUT /_connector/{id}/_status`: a transition of the connector state machine.
pub fn status(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = connector_id(req)?;
    let body = Body::parse(req, "connector_update_status_request", &["status"], true)?;
    body.no_null("status")?;
    let Some(next) = body.string("status")? else {
        return Err(EsError::validation(&["[status] cannot be [null]."]));
    };
    // The status is read by the field's own parser, so an unknown one is a failure to parse
    // the field, caused by the enum's refusal.
    if !CONNECTOR_STATUSES.contains(&next.as_str()) {
        return Err(EsError::new(
            400,
            "x_content_parse_exception",
            "[connector_update_status_request] failed to parse field [status]",
        )
        .caused_by(EsError::illegal_argument(format!("Unknown ConnectorStatus: {next}"))));
    }
    let mut c = shared.write();
    let doc = get_connector(&c, id, false)?;
    check_connector(doc.source["status"].as_str().unwrap_or("created"), &next)?;
    let o = store::update(&mut c, CONNECTOR_INDEX, id, json!({"status": next}))?;
    Ok(updated(store::result_of(&o)))
}

/// `PUT /_connector/{id}/_api_key_id`: the API key (and its secret's id) the connector uses.
pub fn api_key_id(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    one_or_both(shared, req, "connector_update_api_key_id_request", ["api_key_id", "api_key_secret_id"])
}

/// `PUT /_connector/{id}/_features`: which features the connector's source supports. Each
/// is `{"enabled": bool}` (`sync_rules` has `basic` and `advanced`); unknown keys are dropped,
/// as Elasticsearch's lenient features parser drops them.
pub fn features(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = connector_id(req)?;
    let body = Body::parse(req, "connector_update_features_request", &["features"], true)?;
    body.no_null("features")?;
    let Some(f) = body.object("features")? else {
        return Err(EsError::validation(&["[features] cannot be [null]."]));
    };
    let enabled = |v: &Value| -> Result<Value, EsError> {
        let b = v.get("enabled").and_then(Value::as_bool).ok_or_else(|| body.bad_field("features"))?;
        Ok(json!({"enabled": b}))
    };
    let mut features = Map::new();
    for key in ["document_level_security", "incremental_sync", "native_connector_api_keys"] {
        if let Some(v) = f.get(key).filter(|v| !v.is_null()) {
            features.insert(key.into(), enabled(v)?);
        }
    }
    if let Some(rules) = f.get("sync_rules").filter(|v| !v.is_null()) {
        let mut sync_rules = Map::new();
        for kind in ["advanced", "basic"] {
            if let Some(v) = rules.get(kind).filter(|v| !v.is_null()) {
                sync_rules.insert(kind.into(), enabled(v)?);
            }
        }
        features.insert("sync_rules".into(), Value::Object(sync_rules));
    }
    patch(shared, id, json!({"features": features}))
}
