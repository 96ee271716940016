//! Connectors themselves: create (`PUT /_connector[/{id}]`, `POST /_connector`), read, list
//! and delete, and the document a new connector starts as — status `created`
//! (`needs_configuration` for an Elastic-managed one), empty `configuration` and
//! `custom_scheduling`, the default filtering block, the default ingest pipeline, every
//! schedule off at midnight, `sync_now: false`.
//!
//! A connector's `index_name` may belong to no other live connector, and an Elastic-managed
//! (`is_native`) connector's index must start with `content-`. Delete is soft by default
//! (`deleted: true`, hidden from reads and lists unless `include_deleted`); `hard=true`
//! removes the document, `delete_sync_jobs=true` its sync jobs too.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::filtering;
use super::mappings::{CONNECTOR_INDEX, SYNC_JOB_INDEX};
use super::store::{self, list_param, live, not_found, page, searchable, status_exception, with_id, Body};
use crate::elastic::cluster::{random_id, validate_index_name, Cluster};
use crate::elastic::error::EsError;
use crate::elastic::routes::{Reply, Request};
use crate::elastic::server::Shared;
use crate::elastic::store::StoredDoc;
use crate::elastic::write::WriteKind;

/// Prefix the index of an Elastic-managed connector must carry.
pub const MANAGED_CONNECTOR_INDEX_PREFIX: &str = "content-";

/// The Quartz cron every default schedule uses: every day at midnight.
pub const EVERYDAY_AT_MIDNIGHT: &str = "0 0 0 * * ?";

/// The ingest pipeline a new connector is given: the one Elasticsearch installs
/// (`search-default-ingestion`), extracting binary content and reducing whitespace, without
/// ML inference.
pub fn default_pipeline() -> Value {
    json!({
        "extract_binary_content": true,
        "name": crate::elastic::pipeline::DEFAULT_PIPELINE,
        "reduce_whitespace": true,
        "run_ml_inference": false,
    })
}

/// Full, incremental and access-control schedules, all disabled, at midnight.
pub fn default_scheduling() -> Value {
    let off = json!({"enabled": false, "interval": EVERYDAY_AT_MIDNIGHT});
    json!({"access_control": off, "full": off, "incremental": off})
}

/// The fields a create request may carry.
const CREATE_FIELDS: &[&str] =
    &["description", "index_name", "is_native", "language", "name", "service_type"];

/// The document of a new connector. Like Elasticsearch's serializer it leaves out what is
/// not set (no `index_name: null`), except the flags `is_native`, `sync_now` and `deleted`.
fn new_connector(body: &Body) -> Result<Value, EsError> {
    let is_native = body.boolean("is_native")?.unwrap_or(false);
    let mut doc = Map::new();
    let optional = |doc: &mut Map<String, Value>, key: &str| -> Result<(), EsError> {
        if let Some(v) = body.string(key)? {
            doc.insert(key.into(), json!(v));
        }
        Ok(())
    };
    doc.insert("configuration".into(), json!({}));
    doc.insert("custom_scheduling".into(), json!({}));
    optional(&mut doc, "description")?;
    doc.insert("filtering".into(), json!([filtering::default_filtering()]));
    optional(&mut doc, "index_name")?;
    doc.insert("is_native".into(), json!(is_native));
    optional(&mut doc, "language")?;
    doc.insert("name".into(), json!(body.string("name")?.unwrap_or_default()));
    doc.insert("pipeline".into(), default_pipeline());
    doc.insert("scheduling".into(), default_scheduling());
    optional(&mut doc, "service_type")?;
    doc.insert("status".into(), json!(if is_native { "needs_configuration" } else { "created" }));
    doc.insert("sync_now".into(), json!(false));
    doc.insert("deleted".into(), json!(false));
    Ok(Value::Object(doc))
}

/// Request validation of an index name for a connector.
pub fn check_index_name(index_name: &str, is_native: bool) -> Result<(), EsError> {
    if let Err(e) = validate_index_name(index_name) {
        return Err(EsError::validation(&[&e.reason]));
    }
    if is_native && !index_name.starts_with(MANAGED_CONNECTOR_INDEX_PREFIX) {
        return Err(EsError::validation(&[&format!(
            "Index attached to an Elastic-managed connector must start with the prefix: [{MANAGED_CONNECTOR_INDEX_PREFIX}]. The index name in the payload [{index_name}] doesn't comply with this requirement."
        )]));
    }
    Ok(())
}

/// Whether a live (not soft-deleted) connector other than `except` uses `index_name`.
pub fn index_name_in_use(c: &Cluster, index_name: &str, except: Option<&str>) -> bool {
    searchable(c, CONNECTOR_INDEX).iter().any(|d| {
        d.source["index_name"].as_str() == Some(index_name)
            && d.source["deleted"] != json!(true)
            && Some(d.id.as_str()) != except
    })
}

/// The refusal when another connector owns the index.
pub fn index_name_taken(index_name: &str) -> EsError {
    status_exception(format!("Index name [{index_name}] is used by another connector."))
}

/// `connector [id] not found`.
pub fn connector_not_found(id: &str) -> EsError {
    not_found(format!("connector [{id}] not found"))
}

/// A connector by id; soft-deleted ones count as missing unless `include_deleted`.
pub fn get_connector(c: &Cluster, id: &str, include_deleted: bool) -> Result<Arc<StoredDoc>, EsError> {
    match live(c, CONNECTOR_INDEX, id) {
        Some(d) if include_deleted || d.source["deleted"] != json!(true) => Ok(d),
        _ => Err(connector_not_found(id)),
    }
}

/// `PUT /_connector[/{connector_id}]` and `POST /_connector`: creates (201) or, for `PUT` on an
/// existing id, replaces (200) a connector.
pub fn create(shared: &Shared, req: &Request, id: Option<&str>) -> Result<Reply, EsError> {
    let parser = if req.method == "POST" { "connector_post_request" } else { "connector_put_request" };
    let body = Body::parse(req, parser, CREATE_FIELDS, false)?;
    let index_name = body.string("index_name")?;
    if let Some(name) = &index_name {
        check_index_name(name, body.boolean("is_native")?.unwrap_or(false))?;
    }
    let doc = new_connector(&body)?;
    let mut c = shared.write();
    let id = id.filter(|i| !i.is_empty()).map(str::to_string);
    if let Some(name) = &index_name {
        if index_name_in_use(&c, name, id.as_deref()) {
            return Err(index_name_taken(name));
        }
    }
    let id = id.unwrap_or_else(random_id);
    let o = store::put(&mut c, CONNECTOR_INDEX, Some(&id), doc)?;
    let result = store::result_of(&o);
    Ok(Reply::with(store::created_or_ok(&result), json!({"result": result, "id": id})))
}

/// `GET /_connector/{connector_id}`.
pub fn get(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = req.seg(1);
    store::require_id(id, "connector_id")?;
    let c = shared.read();
    let doc = get_connector(&c, id, req.flag("include_deleted"))?;
    Ok(Reply::ok(with_id(&doc)))
}

/// `GET /_connector`: connectors by `index_name`, `connector_name`, `service_type` and a
/// `query` matched anywhere in index name, name or description, sorted by index name.
pub fn list(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let (from, size) = page(req)?;
    let index_names = list_param(req, "index_name");
    if let Some(names) = &index_names {
        let bad: Vec<String> =
            names.iter().filter_map(|n| validate_index_name(n).err().map(|e| e.reason)).collect();
        if !bad.is_empty() {
            let refs: Vec<&str> = bad.iter().map(String::as_str).collect();
            return Err(EsError::validation(&refs));
        }
    }
    let names = list_param(req, "connector_name");
    let service_types = list_param(req, "service_type");
    let query = req.params.get("query").filter(|q| !q.is_empty());
    let include_deleted = req.flag("include_deleted");
    let in_list = |list: &Option<Vec<String>>, v: &Value| {
        list.as_ref().is_none_or(|l| v.as_str().is_some_and(|s| l.iter().any(|x| x == s)))
    };
    let c = shared.read();
    store::check_window(&c, CONNECTOR_INDEX, from, size)?;
    let mut hits: Vec<Arc<StoredDoc>> = searchable(&c, CONNECTOR_INDEX)
        .into_iter()
        .filter(|d| {
            let s = &d.source;
            in_list(&index_names, &s["index_name"])
                && in_list(&names, &s["name"])
                && in_list(&service_types, &s["service_type"])
                && query.is_none_or(|q| query_matches(s, q))
                && (include_deleted || s["deleted"] != json!(true))
        })
        .collect();
    // Keyword sort, ascending, documents without an index name last (stable: index order).
    hits.sort_by(|a, b| match (a.source["index_name"].as_str(), b.source["index_name"].as_str()) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let count = hits.len();
    let results: Vec<Value> = hits.iter().skip(from).take(size).map(|d| with_id(d)).collect();
    Ok(Reply::ok(json!({"count": count, "results": results})))
}

/// Whether a connector matches the list's `query` as Elasticsearch's `*query*` wildcard
/// queries match it: against the whole `index_name` and `name` (keywords, case-sensitive), and
/// against each term of `description` (a `text` field: lower-cased words, the pattern
/// normalized the same way) — so a query spanning two words of a description finds nothing.
/// `*` and `?` inside the query are wildcards too.
fn query_matches(source: &Value, query: &str) -> bool {
    let pattern = |q: &str| {
        let mut re = String::from("^.*");
        for ch in q.chars() {
            match ch {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push_str(".*$");
        regex::Regex::new(&re).ok()
    };
    let keyword = pattern(query);
    let on_keyword = |f: &str| {
        let v = source[f].as_str();
        keyword.as_ref().is_some_and(|re| v.is_some_and(|v| re.is_match(v)))
    };
    let term = pattern(&query.to_lowercase());
    let on_text = source["description"].as_str().is_some_and(|d| {
        term.as_ref().is_some_and(|re| crate::elastic::query::analyze(d).iter().any(|t| re.is_match(t)))
    });
    on_keyword("index_name") || on_keyword("name") || on_text
}

/// `DELETE /_connector/{connector_id}`.
pub fn delete(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = req.seg(1);
    store::require_id(id, "connector_id")?;
    let mut c = shared.write();
    if req.flag("hard") {
        if live(&c, CONNECTOR_INDEX, id).is_none() {
            return Err(connector_not_found(id));
        }
        store::write(&mut c, CONNECTOR_INDEX, Some(id), WriteKind::Delete)?;
    } else {
        get_connector(&c, id, false)?;
        store::update(&mut c, CONNECTOR_INDEX, id, json!({"deleted": true}))?;
    }
    if req.flag("delete_sync_jobs") {
        delete_sync_jobs(&mut c, id)?;
    }
    Ok(Reply::ok(json!({"acknowledged": true})))
}

/// Deletes every sync job of a connector (Elasticsearch's delete-by-query on `connector.id`).
fn delete_sync_jobs(c: &mut Cluster, connector_id: &str) -> Result<(), EsError> {
    let ids: Vec<String> = searchable(c, SYNC_JOB_INDEX)
        .iter()
        .filter(|d| d.source["connector"]["id"].as_str() == Some(connector_id))
        .map(|d| d.id.clone())
        .collect();
    for id in ids {
        store::write(c, SYNC_JOB_INDEX, Some(&id), WriteKind::Delete)?;
    }
    Ok(())
}
