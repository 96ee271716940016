//! Search-family endpoints: `_search` (indices, point in time, scroll), `_count`, search
//! templates and stored scripts, `_pit` open/close, scroll continue/clear and
//! `_delete_by_query` (which, like Elasticsearch, only sees refreshed documents and reports
//! version conflicts for documents changed since).

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use super::cluster::{random_id, Cluster, Frozen, Resolve, Scroll, ScrollHit};
use super::error::EsError;
use super::query::{parse_optional, DocView, Query};
use super::routes::{Reply, Request};
use super::search::{execute, hit_json, response, Hit, SearchRequest, Target, MAX_RESULT_WINDOW};
use super::server::Shared;
use super::template;
use super::write::{self, WriteKind, WriteRequest};

/// Parses an Elasticsearch time value (`1m`, `30s`, `500ms`, `1h`, `1d`).
pub fn parse_time(v: &str, setting: &str) -> Result<Duration, EsError> {
    let bad = || {
        EsError::new(400, "parse_exception", format!("failed to parse setting [{setting}] with value [{v}] as a time value: unit is missing or unrecognized"))
    };
    let t = v.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    Ok(match unit {
        "nanos" => Duration::from_nanos(n),
        "micros" => Duration::from_micros(n),
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        "d" => Duration::from_secs(n * 86_400),
        _ => return Err(bad()),
    })
}

fn max_window(c: &Cluster, index: &str) -> usize {
    c.indices
        .get(index)
        .and_then(|i| i.settings.get("max_result_window"))
        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(MAX_RESULT_WINDOW)
}

fn run_search(
    shared: &Shared,
    req: &Request,
    index: Option<&str>,
    body: Option<&Value>,
) -> Result<Reply, EsError> {
    let sreq = SearchRequest::parse(body, &req.params)?;
    if let Some((pit_id, keep_alive)) = &sreq.pit {
        if index.is_some() {
            return Err(EsError::validation(&[
                "[indices] cannot be used with point in time. Do not specify any index with point in time.",
            ]));
        }
        if sreq.scroll {
            return Err(EsError::validation(&["using [point in time] is not allowed in a scroll context"]));
        }
        let mut c = shared.write();
        c.expire();
        let keep = keep_alive.as_deref().map(|k| parse_time(k, "keep_alive")).transpose()?;
        let frozen = c.pits.get_mut(pit_id).ok_or_else(|| {
            EsError::new(
                404,
                "search_context_missing_exception",
                format!("No search context found for id [{}]", pit_id.len()),
            )
        })?;
        if let Some(k) = keep {
            frozen.expires = Instant::now() + k;
        }
        let targets: Vec<Target<'_>> = frozen
            .indices
            .iter()
            .map(|(name, mapping, docs)| Target {
                index: name.as_str(),
                mapping: mapping.as_ref(),
                docs: Box::new(docs.iter().map(|(o, d)| (*o, d))),
                max_window: MAX_RESULT_WINDOW,
            })
            .collect();
        let shards = targets.len();
        let (hits, total) = execute(&sreq, targets)?;
        let max =
            hits.iter().map(|h| h.score).fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
        let page: Vec<Value> =
            hits.iter().skip(sreq.from).take(sreq.size).map(|h| hit_json(&sreq, h)).collect();
        let mut body = response(&sreq, &page, max, total, req.took(), shards);
        body["pit_id"] = json!(pit_id);
        return Ok(Reply::ok(body));
    }
    let resolve = Resolve::from_params(&req.params);
    if sreq.scroll {
        let keep = parse_time(req.params.get("scroll").map(String::as_str).unwrap_or(""), "scroll")?;
        let mut c = shared.write();
        c.expire();
        let names = c.resolve(index.unwrap_or("_all"), resolve)?;
        let (all, total, max, shards) = {
            let targets = targets(&c, &names);
            let shards = targets.len();
            let (hits, total) = execute(&sreq, targets)?;
            let max =
                hits.iter().map(|h| h.score).fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
            let kept: Vec<ScrollHit> = hits
                .iter()
                .skip(sreq.from)
                .map(|h| (h.index.to_string(), h.doc.clone(), h.score, h.sort.clone()))
                .collect();
            (kept, total, max, shards)
        };
        let id = base64::engine::general_purpose::STANDARD.encode(format!("scroll:{}", random_id()));
        let page = render_scroll_page(&sreq, &all[..all.len().min(sreq.size)]);
        let mut body = response(&sreq, &page, max, total, req.took(), shards);
        body["_scroll_id"] = json!(id);
        c.scrolls.insert(
            id,
            Scroll {
                next: page.len(),
                request: sreq.clone(),
                hits: all,
                size: sreq.size.max(1),
                total,
                expires: Instant::now() + keep,
            },
        );
        return Ok(Reply::ok(body));
    }
    let c = shared.read();
    let names = c.resolve(index.unwrap_or("_all"), resolve)?;
    let targets = targets(&c, &names);
    let shards = targets.len();
    let (hits, total) = execute(&sreq, targets)?;
    let max = hits.iter().map(|h| h.score).fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
    let page: Vec<Value> = hits.iter().skip(sreq.from).take(sreq.size).map(|h| hit_json(&sreq, h)).collect();
    Ok(Reply::ok(response(&sreq, &page, max, total, req.took(), shards)))
}

fn render_scroll_page(req: &SearchRequest, hits: &[ScrollHit]) -> Vec<Value> {
    hits.iter()
        .map(|(index, doc, score, sort)| {
            hit_json(req, &Hit { index, doc, score: *score, sort: sort.clone() })
        })
        .collect()
}

fn targets<'a>(c: &'a Cluster, names: &'a [String]) -> Vec<Target<'a>> {
    names
        .iter()
        .filter_map(|n| c.indices.get(n))
        .map(|i| Target {
            index: i.name.as_str(),
            mapping: &i.mapping,
            docs: Box::new(i.searchable()),
            max_window: max_window(c, &i.name),
        })
        .collect()
}

/// `GET|POST /_search`, `/{index}/_search`.
pub fn search(shared: &Shared, req: &Request, index: Option<&str>) -> Result<Reply, EsError> {
    let body = req.json()?;
    run_search(shared, req, index, body.as_ref())
}

/// `GET|POST /_count`, `/{index}/_count`.
pub fn count(shared: &Shared, req: &Request, index: Option<&str>) -> Result<Reply, EsError> {
    let body = req.json()?;
    if let Some(Value::Object(o)) = &body {
        if let Some(k) = o.keys().find(|k| k.as_str() != "query") {
            return Err(EsError::parsing(format!("request does not support [{k}]")));
        }
    }
    let query = parse_optional(body.as_ref().and_then(|b| b.get("query")))?;
    let c = shared.read();
    let names = c.resolve(index.unwrap_or("_all"), Resolve::from_params(&req.params))?;
    let mut n = 0usize;
    for name in &names {
        let Some(i) = c.indices.get(name) else { continue };
        for (_, d) in i.searchable() {
            let v = DocView { doc: d, index: name, mapping: &i.mapping };
            if query.score(&v).map_err(|e| super::search::shard_failure(name, e))?.is_some() {
                n += 1;
            }
        }
    }
    Ok(Reply::ok(
        json!({"count": n, "_shards": {"total": names.len(), "successful": names.len(), "skipped": 0, "failed": 0}}),
    ))
}

fn rendered_body(shared: &Shared, body: &Value) -> Result<Value, EsError> {
    let params = body.get("params").cloned().unwrap_or_else(|| json!({}));
    let source = match (body.get("source"), body.get("id").and_then(Value::as_str)) {
        (Some(Value::String(s)), _) => s.clone(),
        (Some(other), _) => other.to_string(),
        (None, Some(id)) => {
            let c = shared.read();
            let script = c.scripts.get(id).ok_or_else(|| {
                EsError::new(
                    404,
                    "resource_not_found_exception",
                    format!("unable to find script [{id}] in cluster state"),
                )
            })?;
            match script.get("source") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            }
        }
        (None, None) => return Err(EsError::validation(&["template is missing"])),
    };
    let text = template::render(&source, &params)?;
    serde_json::from_str(&text).map_err(|e| EsError::json_parse(&e))
}

/// `POST /{index}/_search/template`.
pub fn search_template(shared: &Shared, req: &Request, index: Option<&str>) -> Result<Reply, EsError> {
    let body = req.json_required()?;
    let search_body = rendered_body(shared, &body)?;
    run_search(shared, req, index, Some(&search_body))
}

/// `POST /_render/template`.
pub fn render_template(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let body = req.json_required()?;
    Ok(Reply::ok(json!({"template_output": rendered_body(shared, &body)?})))
}

/// `PUT /_scripts/{id}`.
pub fn put_script(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let body = req.json_required()?;
    let script = body
        .get("script")
        .cloned()
        .ok_or_else(|| EsError::parsing("must specify [script] for storing a script"))?;
    if script.get("lang").and_then(Value::as_str).is_some_and(|l| l != "mustache") {
        return Err(EsError::illegal_argument("es-sim stores only mustache scripts (search templates)"));
    }
    shared.write().scripts.insert(req.seg(1).to_string(), script);
    Ok(Reply::ok(json!({"acknowledged": true})))
}

/// `GET /_scripts/{id}`.
pub fn get_script(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = req.seg(1);
    match shared.read().scripts.get(id) {
        Some(s) => Ok(Reply::ok(json!({"_id": id, "found": true, "script": s}))),
        None => Ok(Reply::with(404, json!({"_id": id, "found": false}))),
    }
}

/// `DELETE /_scripts/{id}`.
pub fn delete_script(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = req.seg(1);
    match shared.write().scripts.remove(id) {
        Some(_) => Ok(Reply::ok(json!({"acknowledged": true}))),
        None => Err(EsError::new(
            404,
            "resource_not_found_exception",
            format!("stored script [{id}] does not exist"),
        )),
    }
}

/// `POST /{index}/_pit?keep_alive=…`.
pub fn open_pit(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let keep = req
        .params
        .get("keep_alive")
        .ok_or_else(|| EsError::validation(&["[keep_alive] is not specified"]))?;
    let keep = parse_time(keep, "keep_alive")?;
    let mut c = shared.write();
    c.expire();
    let names = c.resolve(req.seg(0), Resolve::from_params(&req.params))?;
    let indices = names
        .iter()
        .filter_map(|n| c.indices.get(n))
        .map(|i| (i.name.clone(), Arc::new(i.mapping.clone()), Arc::new(i.snapshot())))
        .collect::<Vec<_>>();
    let n = indices.len();
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "pit:{}:{}",
        req.seg(0),
        random_id()
    ));
    c.pits.insert(id.clone(), Frozen { indices, expires: Instant::now() + keep });
    Ok(Reply::ok(json!({"id": id, "_shards": {"total": n, "successful": n, "skipped": 0, "failed": 0}})))
}

/// `DELETE /_pit`.
pub fn close_pit(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let body = req.json_required()?;
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| EsError::validation(&["point-in-time id must not be empty"]))?;
    let freed = usize::from(shared.write().pits.remove(id).is_some());
    Ok(Reply::with(if freed == 0 { 404 } else { 200 }, json!({"succeeded": true, "num_freed": freed})))
}

fn scroll_ids(req: &Request) -> Result<Vec<String>, EsError> {
    let mut ids = Vec::new();
    if let Some(id) = req.segments.get(2) {
        ids.extend(id.split(',').map(str::to_string));
    }
    if let Some(id) = req.params.get("scroll_id") {
        ids.extend(id.split(',').map(str::to_string));
    }
    if let Some(b) = req.json()? {
        match b.get("scroll_id") {
            Some(Value::String(s)) => ids.push(s.clone()),
            Some(Value::Array(a)) => ids.extend(a.iter().filter_map(|v| v.as_str().map(str::to_string))),
            _ => {}
        }
    }
    Ok(ids)
}

/// `GET|POST /_search/scroll`.
pub fn scroll(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let ids = scroll_ids(req)?;
    // The body's id, read last, wins over the path's and the query string's.
    let id = ids.last().cloned().ok_or_else(|| EsError::validation(&["scrollId is missing"]))?;
    let keep = req
        .json()?
        .and_then(|b| b.get("scroll").and_then(Value::as_str).map(str::to_string))
        .or_else(|| req.params.get("scroll").cloned());
    let keep = keep.map(|k| parse_time(&k, "scroll")).transpose()?;
    let mut c = shared.write();
    c.expire();
    let s = c.scrolls.get_mut(&id).ok_or_else(|| {
        let inner =
            EsError::new(404, "search_context_missing_exception", "No search context found for id [1]");
        let mut e = EsError::new(404, "search_phase_execution_exception", "all shards failed")
            .with("phase", "query")
            .with("grouped", true)
            .with("failed_shards", json!([]));
        e.root_cause = Some(Box::new(inner.clone()));
        e.caused_by(inner)
    })?;
    if let Some(k) = keep {
        s.expires = Instant::now() + k;
    }
    let end = (s.next + s.size).min(s.hits.len());
    let page = render_scroll_page(&s.request, &s.hits[s.next..end]);
    s.next += page.len();
    let total = s.total;
    let total_as_int = req.flag("rest_total_hits_as_int");
    Ok(Reply::ok(json!({
        "_scroll_id": id, "took": req.took(), "timed_out": false,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {"total": if total_as_int { json!(total) } else { json!({"value": total, "relation": "eq"}) }, "max_score": null, "hits": page}
    })))
}

/// `DELETE /_search/scroll`.
pub fn clear_scroll(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let ids = scroll_ids(req)?;
    let mut c = shared.write();
    let freed = if ids.iter().any(|i| i == "_all") {
        let n = c.scrolls.len();
        c.scrolls.clear();
        n
    } else {
        ids.iter().filter(|i| c.scrolls.remove(*i).is_some()).count()
    };
    Ok(Reply::with(if freed == 0 { 404 } else { 200 }, json!({"succeeded": true, "num_freed": freed})))
}

/// `POST /{index}/_delete_by_query`.
pub fn delete_by_query(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    if req.params.get("wait_for_completion").is_some_and(|v| v == "false") {
        return Err(EsError::illegal_argument(
            "es-sim runs delete-by-query synchronously only; drop wait_for_completion=false",
        ));
    }
    let body = req.json()?.ok_or_else(|| EsError::validation(&["query is missing"]))?;
    let query: Query = match body.get("query") {
        Some(q) => Query::parse(q)?,
        None => return Err(EsError::validation(&["query is missing"])),
    };
    let proceed = req.params.get("conflicts").is_some_and(|v| v == "proceed");
    let max_docs = body
        .get("max_docs")
        .and_then(Value::as_u64)
        .or_else(|| req.params.get("max_docs").and_then(|v| v.parse().ok()));
    let mut c = shared.write();
    let names = c.resolve(req.seg(0), Resolve::from_params(&req.params))?;
    let mut matched: Vec<(String, String, u64)> = Vec::new();
    for n in &names {
        let Some(i) = c.indices.get(n) else { continue };
        for (_, d) in i.searchable() {
            let v = DocView { doc: d, index: n, mapping: &i.mapping };
            if query.score(&v).map_err(|e| super::search::shard_failure(n, e))?.is_some() {
                matched.push((n.clone(), d.id.clone(), d.seq_no));
            }
        }
    }
    if let Some(m) = max_docs {
        matched.truncate(m as usize);
    }
    let (mut deleted, mut conflicts) = (0u64, 0u64);
    let mut failures = Vec::new();
    for (index, id, seq_no) in &matched {
        let current = c.indices.get(index).and_then(|i| i.get(id)).map(|d| d.seq_no);
        if current != Some(*seq_no) {
            conflicts += 1;
            let reason = match current {
                Some(s) => format!("[{id}]: version conflict, required seqNo [{seq_no}], primary term [1]. current document has seqNo [{s}] and primary term [1]"),
                None => format!("[{id}]: version conflict, required seqNo [{seq_no}], primary term [1]. but no document was found"),
            };
            failures.push(json!({"index": index, "id": id, "cause": {"type": "version_conflict_engine_exception", "reason": reason, "index": index, "shard": "0"}, "status": 409}));
            if !proceed {
                break;
            }
            continue;
        }
        let w = WriteRequest {
            index: index.clone(),
            id: Some(id.clone()),
            kind: WriteKind::Delete,
            if_seq_no: None,
            if_primary_term: None,
            pipeline: None,
            require_alias: false,
        };
        if write::execute(&mut c, w).is_ok() {
            deleted += 1;
        }
    }
    if req.flag("refresh") {
        for n in &names {
            if let Some(i) = c.indices.get_mut(n) {
                i.refresh();
            }
        }
    }
    let status = if conflicts > 0 && !proceed { 409 } else { 200 };
    Ok(Reply::with(
        status,
        json!({
            "took": req.took(), "timed_out": false, "total": matched.len(), "deleted": deleted, "batches": 1,
            "version_conflicts": conflicts, "noops": 0, "retries": {"bulk": 0, "search": 0}, "throttled_millis": 0,
            "requests_per_second": -1.0, "throttled_until_millis": 0,
            "failures": if proceed { Vec::new() } else { failures }
        }),
    ))
}
