//! Document endpoints: `_bulk`, `GET /{index}/_doc/{id}` (real-time get), index/create
//! (`PUT|POST /{index}/_doc[/{id}]`, `_create`), `POST /{index}/_update/{id}` and
//! `DELETE /{index}/_doc/{id}`, with `?refresh=` making the writes searchable at once.

use serde_json::{json, Value};

use super::bulk::{self, BulkParams};
use super::cluster::{Cluster, Resolve};
use super::error::EsError;
use super::routes::{Reply, Request};
use super::search::{filter_source, SourceFilter};
use super::server::Shared;
use super::write::{execute, WriteKind, WriteRequest};

/// Whether `?refresh` asks for the writes to be searchable before the response.
fn wants_refresh(req: &Request) -> Result<bool, EsError> {
    match req.params.get("refresh").map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("" | "true" | "wait_for") => Ok(true),
        Some(other) => Err(EsError::illegal_argument(format!("Unknown value for refresh: [{other}]."))),
    }
}

fn refresh(c: &mut Cluster, names: &[String]) {
    for n in names {
        if let Some(i) = c.indices.get_mut(n) {
            i.refresh();
        }
    }
}

/// `POST /_bulk`, `POST /{index}/_bulk`.
pub fn bulk(shared: &Shared, req: &Request, index: Option<&str>) -> Result<Reply, EsError> {
    let do_refresh = wants_refresh(req)?;
    let params = BulkParams {
        index: index.map(str::to_string),
        pipeline: req.params.get("pipeline").cloned(),
        require_alias: req.flag("require_alias"),
    };
    let items = bulk::parse(&req.body, &params)?;
    let mut c = shared.write();
    let (body, touched) = bulk::run(&mut c, items, &shared.faults, req.started);
    let mut body = body;
    if do_refresh {
        refresh(&mut c, &touched);
        // `refresh=true` (not `wait_for`) marks every written item as force-refreshed.
        let forced = matches!(req.params.get("refresh").map(String::as_str), Some("" | "true"));
        if let (true, Some(Value::Array(items))) = (forced, body.get_mut("items")) {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                for result in item.values_mut().filter_map(Value::as_object_mut) {
                    if result.contains_key("result") && result.get("result") != Some(&json!("noop")) {
                        result.insert("forced_refresh".into(), json!(true));
                    }
                }
            }
        }
    }
    Ok(Reply::ok(body))
}

fn cas(req: &Request, key: &str) -> Result<Option<i64>, EsError> {
    req.params
        .get(key)
        .map(|v| {
            v.parse().map_err(|_| {
                EsError::illegal_argument(format!("Failed to parse long parameter [{key}] with value [{v}]"))
            })
        })
        .transpose()
}

fn finish(shared: &Shared, req: &Request, write: WriteRequest) -> Result<Reply, EsError> {
    let do_refresh = wants_refresh(req)?;
    let mut c = shared.write();
    match execute(&mut c, write) {
        Ok(o) => {
            let mut body = o.body;
            if do_refresh {
                refresh(&mut c, std::slice::from_ref(&o.index));
                // Only `refresh=true` forces one; `wait_for` waits for it.
                let forced = matches!(req.params.get("refresh").map(String::as_str), Some("" | "true"));
                if let (true, Value::Object(m)) = (forced, &mut body) {
                    m.insert("forced_refresh".into(), json!(true));
                }
            }
            Ok(Reply::with(o.status, body))
        }
        Err(f) => Err(f.error),
    }
}

/// `PUT|POST /{index}/_doc[/{id}]`, `PUT|POST /{index}/_create/{id}`.
pub fn index(shared: &Shared, req: &Request, id: Option<&str>, create: bool) -> Result<Reply, EsError> {
    let source = req.json_required()?;
    if !source.is_object() {
        return Err(EsError::new(400, "document_parsing_exception", "[1:1] failed to parse").caused_by(
            EsError::new(
                400,
                "not_x_content_exception",
                "Compressor detection can only be called on some xcontent bytes or compressed xcontent bytes",
            ),
        ));
    }
    let create = create || req.params.get("op_type").is_some_and(|o| o == "create");
    let write = WriteRequest {
        index: req.seg(0).to_string(),
        id: id.map(str::to_string),
        kind: WriteKind::Index { create, raw: String::from_utf8_lossy(&req.body).into_owned(), source },
        if_seq_no: cas(req, "if_seq_no")?,
        if_primary_term: cas(req, "if_primary_term")?,
        pipeline: req.params.get("pipeline").cloned(),
        require_alias: req.flag("require_alias"),
    };
    finish(shared, req, write)
}

/// `POST /{index}/_update/{id}`.
pub fn update(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let body = req.json_required()?;
    let obj = body.as_object().ok_or_else(|| EsError::parsing("request body must be an object"))?;
    let (mut doc, mut upsert, mut doc_as_upsert, mut detect_noop) = (None, None, false, true);
    for (k, v) in obj {
        match k.as_str() {
            "doc" => doc = Some(v.clone()),
            "upsert" => upsert = Some(v.clone()),
            "doc_as_upsert" => doc_as_upsert = v.as_bool().unwrap_or(false),
            "detect_noop" => detect_noop = v.as_bool().unwrap_or(true),
            "script" => {
                return Err(EsError::illegal_argument(
                    "es-sim does not run update scripts; send a partial `doc` instead",
                ))
            }
            "_source" | "scripted_upsert" => {}
            other => {
                return Err(EsError::new(
                    400,
                    "x_content_parse_exception",
                    format!("[1:2] [UpdateRequest] unknown field [{other}]"),
                ))
            }
        }
    }
    if doc.is_none() {
        return Err(EsError::validation(&["script or doc is missing"]));
    }
    let write = WriteRequest {
        index: req.seg(0).to_string(),
        id: Some(req.seg(2).to_string()),
        kind: WriteKind::Update { doc, upsert, doc_as_upsert, detect_noop },
        if_seq_no: cas(req, "if_seq_no")?,
        if_primary_term: cas(req, "if_primary_term")?,
        pipeline: None,
        require_alias: req.flag("require_alias"),
    };
    finish(shared, req, write)
}

/// `DELETE /{index}/_doc/{id}`.
pub fn delete(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let write = WriteRequest {
        index: req.seg(0).to_string(),
        id: Some(req.seg(2).to_string()),
        kind: WriteKind::Delete,
        if_seq_no: cas(req, "if_seq_no")?,
        if_primary_term: cas(req, "if_primary_term")?,
        pipeline: None,
        require_alias: false,
    };
    finish(shared, req, write)
}

/// `GET|HEAD /{index}/_doc/{id}` and `/{index}/_source/{id}`.
pub fn get(shared: &Shared, req: &Request, source_only: bool) -> Result<Reply, EsError> {
    if req.flag("refresh") {
        // Refreshed before it reads, as `refresh=true` on a get asks.
        let mut c = shared.write();
        if let Ok([one]) = c.resolve(req.seg(0), Resolve::default()).as_deref() {
            if let Some(i) = c.indices.get_mut(one) {
                i.refresh();
            }
        }
    }
    let c = shared.read();
    let expr = req.seg(0);
    let names = c.resolve(expr, Resolve::default())?;
    let index = match names.as_slice() {
        [one] => one.clone(),
        [] => return Err(EsError::index_not_found(expr)),
        many => {
            return Err(EsError::illegal_argument(format!(
            "alias [{expr}] has more than one index associated with it [{}], can't execute a single index op",
            many.join(", ")
        )))
        }
    };
    let id = req.seg(2);
    // `realtime=false` reads what searches see, as of the last refresh.
    let realtime = req.params.get("realtime").is_none_or(|v| v != "false");
    let found = c.indices.get(&index).and_then(|i| if realtime { i.get(id) } else { i.get_refreshed(id) });
    let source_disabled = c.indices.get(&index).is_some_and(|i| {
        i.mapping.extra.get("_source").and_then(|s| s.get("enabled")) == Some(&json!(false))
    });
    if let (Some(doc), Some(v)) = (found, req.params.get("version")) {
        let asked: u64 = v.parse().map_err(|_| {
            EsError::illegal_argument(format!("Failed to parse long parameter [version] with value [{v}]"))
        })?;
        if asked != doc.version {
            return Err(EsError::new(
                409,
                "version_conflict_engine_exception",
                format!("[{id}]: version conflict, current version [{}] is different than the one provided [{asked}]", doc.version),
            ));
        }
    }
    let Some(doc) = found.filter(|_| !(source_only && source_disabled)) else {
        if source_only {
            return Err(EsError::new(
                404,
                "resource_not_found_exception",
                format!("Document not found [{index}]/[{id}]"),
            ));
        }
        return Ok(Reply::with(404, json!({"_index": index, "_id": id, "found": false})));
    };
    let mut filter = SourceFilter::default();
    match req.params.get("_source").map(String::as_str) {
        Some("false") => filter.disabled = true,
        Some("true") | Some("") | None => {}
        Some(list) => filter.includes = list.split(',').map(str::to_string).collect(),
    }
    if let Some(s) = req.params.get("_source_includes") {
        filter.includes = s.split(',').map(str::to_string).collect();
    }
    if let Some(s) = req.params.get("_source_excludes") {
        filter.excludes = s.split(',').map(str::to_string).collect();
    }
    let source = filter_source(&doc.source, &filter);
    if source_only {
        return Ok(Reply::ok(source));
    }
    let mut body = json!({
        "_index": index, "_id": id, "_version": doc.version, "_seq_no": doc.seq_no,
        "_primary_term": doc.primary_term, "found": true,
    });
    if !filter.disabled {
        body["_source"] = source;
    }
    Ok(Reply::ok(body))
}
