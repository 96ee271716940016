//! `POST /_bulk` and `/{index}/_bulk`: parsing the NDJSON body with Elasticsearch's
//! whole-request 400s (no trailing newline, malformed or unknown action metadata, a missing
//! source line, validation failures) and running the items, each getting its own `status`,
//! `result` or `error`, with the top-level `errors` flag.

use std::time::Instant;

use serde_json::{json, Map, Value};

use super::cluster::Cluster;
use super::error::EsError;
use super::faults::EsFaults;
use super::write::{execute, WriteFailure, WriteKind, WriteRequest};

/// Request-level bulk parameters.
#[derive(Debug, Clone, Default)]
pub struct BulkParams {
    /// Index from the path (`/{index}/_bulk`).
    pub index: Option<String>,
    /// `?pipeline=`.
    pub pipeline: Option<String>,
    /// `?require_alias=`.
    pub require_alias: bool,
}

/// One parsed item: a request, or a failure already known at parse time.
pub type BulkItem = (String, Result<WriteRequest, WriteFailure>);

const META_KEYS: &[&str] = &[
    "_index",
    "_id",
    "routing",
    "op_type",
    "version",
    "version_type",
    "if_seq_no",
    "if_primary_term",
    "pipeline",
    "retry_on_conflict",
    "require_alias",
    "require_data_stream",
    "dynamic_templates",
    "list_executed_pipelines",
    "_source",
];

fn token_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "START_OBJECT",
        Value::Array(_) => "START_ARRAY",
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Null => "VALUE_NULL",
    }
}

fn malformed(line: usize, rest: String) -> EsError {
    EsError::illegal_argument(format!("Malformed action/metadata line [{line}], {rest}"))
}

fn simple_text(line: usize, key: &str, v: &Value) -> Result<String, EsError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(malformed(
            line,
            format!("expected a simple value for field [{key}] but found [{}]", token_name(other)),
        )),
    }
}

/// Parses an NDJSON bulk body.
pub fn parse(body: &[u8], params: &BulkParams) -> Result<Vec<BulkItem>, EsError> {
    if body.is_empty() {
        return Err(EsError::new(400, "parse_exception", "request body is required"));
    }
    if body.last() != Some(&b'\n') {
        return Err(EsError::illegal_argument("The bulk request must be terminated by a newline [\\n]"));
    }
    let lines: Vec<&[u8]> = body[..body.len() - 1].split(|b| *b == b'\n').collect();
    let mut items = Vec::new();
    let mut validation: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let raw = trim_cr(lines[i]);
        i += 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let action_line: Value = serde_json::from_slice(raw).map_err(|e| EsError::json_parse(&e))?;
        let obj = match &action_line {
            Value::Object(o) => o,
            other => {
                return Err(malformed(
                    line_no,
                    format!("expected START_OBJECT or END_OBJECT but found [{}]", token_name(other)),
                ))
            }
        };
        let mut entries = obj.iter();
        let Some((action, meta)) = entries.next() else {
            return Err(malformed(line_no, "expected FIELD_NAME but found [END_OBJECT]".to_string()));
        };
        if entries.next().is_some() {
            return Err(malformed(line_no, "expected END_OBJECT but found [FIELD_NAME]".to_string()));
        }
        if !["index", "create", "update", "delete"].contains(&action.as_str()) {
            return Err(malformed(
                line_no,
                format!("expected field [create], [delete], [index] or [update] but found [{action}]"),
            ));
        }
        let meta = match meta {
            Value::Object(m) => m,
            other => {
                return Err(malformed(
                    line_no,
                    format!("expected START_OBJECT but found [{}]", token_name(other)),
                ))
            }
        };
        let mut index = params.index.clone();
        let mut id = None;
        let mut pipeline = params.pipeline.clone();
        let mut if_seq_no = None;
        let mut if_primary_term = None;
        let mut require_alias = params.require_alias;
        let mut op_create = action == "create";
        for (k, v) in meta {
            if !META_KEYS.contains(&k.as_str()) {
                return Err(EsError::illegal_argument(format!(
                    "Action/metadata line [{line_no}] contains an unknown parameter [{k}]"
                )));
            }
            match k.as_str() {
                "_index" => index = Some(simple_text(line_no, k, v)?),
                "_id" => id = Some(simple_text(line_no, k, v)?),
                "pipeline" => pipeline = Some(simple_text(line_no, k, v)?),
                "routing" | "version_type" => {
                    simple_text(line_no, k, v)?;
                }
                "op_type" => {
                    let t = simple_text(line_no, k, v)?;
                    match t.as_str() {
                        "create" => op_create = true,
                        "index" => {}
                        other => {
                            return Err(EsError::illegal_argument(format!(
                                "opType must be 'create' or 'index', found: [{other}]"
                            )))
                        }
                    }
                }
                "if_seq_no" => {
                    if_seq_no = Some(v.as_i64().ok_or_else(|| {
                        malformed(
                            line_no,
                            format!("expected a simple value for field [{k}] but found [{}]", token_name(v)),
                        )
                    })?)
                }
                "if_primary_term" => {
                    if_primary_term = Some(v.as_i64().ok_or_else(|| {
                        malformed(
                            line_no,
                            format!("expected a simple value for field [{k}] but found [{}]", token_name(v)),
                        )
                    })?)
                }
                "require_alias" => require_alias = v.as_bool().unwrap_or(v.as_str() == Some("true")),
                _ => {}
            }
        }
        if let Some(long) = id.as_ref().filter(|i| i.len() > super::write::MAX_ID_BYTES) {
            validation.push(super::write::id_too_long(long));
        }
        let index_name = match &index {
            Some(i) => i.clone(),
            None => {
                validation.push("index is missing".to_string());
                String::new()
            }
        };
        let base = |kind: WriteKind, id: Option<String>| WriteRequest {
            index: index_name.clone(),
            id,
            kind,
            if_seq_no,
            if_primary_term,
            pipeline: pipeline.clone(),
            require_alias,
        };
        if action == "delete" {
            if id.is_none() {
                validation.push("id is missing".to_string());
            }
            items.push(("delete".to_string(), Ok(base(WriteKind::Delete, id))));
            continue;
        }
        if i >= lines.len() {
            return Err(EsError::illegal_argument("The bulk request must be terminated by a newline [\\n]"));
        }
        let source_raw = trim_cr(lines[i]);
        i += 1;
        let source_text = String::from_utf8_lossy(source_raw).into_owned();
        if action == "update" {
            if id.is_none() {
                validation.push("id is missing".to_string());
            }
            let upd: Value = serde_json::from_slice(source_raw).map_err(|e| EsError::json_parse(&e))?;
            let Value::Object(u) = upd else {
                return Err(EsError::new(
                    400,
                    "x_content_parse_exception",
                    "[1:1] [UpdateRequest] Expected START_OBJECT but was: ".to_string() + token_name(&upd),
                ));
            };
            let mut doc = None;
            let mut upsert = None;
            let mut doc_as_upsert = false;
            let mut detect_noop = true;
            let mut script = false;
            for (k, v) in &u {
                match k.as_str() {
                    "doc" => doc = Some(v.clone()),
                    "upsert" => upsert = Some(v.clone()),
                    "doc_as_upsert" => doc_as_upsert = v.as_bool().unwrap_or(false),
                    "detect_noop" => detect_noop = v.as_bool().unwrap_or(true),
                    "script" => script = true,
                    "scripted_upsert" | "_source" | "lang" | "params" => {}
                    other => {
                        return Err(EsError::new(
                            400,
                            "x_content_parse_exception",
                            format!("[1:2] [UpdateRequest] unknown field [{other}]"),
                        ))
                    }
                }
            }
            if doc.is_none() && !script {
                validation.push("script or doc is missing".to_string());
            }
            if script {
                let f = WriteFailure {
                    index: index_name.clone(),
                    id: id.clone(),
                    error: EsError::illegal_argument(
                        "es-sim does not run update scripts; send a partial `doc` instead",
                    ),
                };
                items.push(("update".to_string(), Err(f)));
                continue;
            }
            items.push((
                "update".to_string(),
                Ok(base(WriteKind::Update { doc, upsert, doc_as_upsert, detect_noop }, id)),
            ));
            continue;
        }
        let name = if op_create { "create" } else { "index" };
        match serde_json::from_slice::<Value>(source_raw) {
            Ok(source @ Value::Object(_)) => {
                items.push((
                    name.to_string(),
                    Ok(base(WriteKind::Index { create: op_create, source, raw: source_text }, id)),
                ));
            }
            Ok(other) => {
                let error = EsError::new(400, "document_parsing_exception", "[1:1] failed to parse")
                    .caused_by(EsError::new(
                        400,
                        "not_x_content_exception",
                        format!(
                            "Malformed content, must start with an object, found [{}]",
                            token_name(&other)
                        ),
                    ));
                items.push((name.to_string(), Err(WriteFailure { index: index_name.clone(), id, error })));
            }
            Err(e) => {
                let error = EsError::new(
                    400,
                    "document_parsing_exception",
                    format!("[{}:{}] failed to parse", e.line(), e.column()),
                )
                .caused_by(EsError::json_parse(&e));
                items.push((name.to_string(), Err(WriteFailure { index: index_name.clone(), id, error })));
            }
        }
    }
    if items.is_empty() {
        validation.push("no requests added".to_string());
    }
    if !validation.is_empty() {
        let refs: Vec<&str> = validation.iter().map(String::as_str).collect();
        return Err(EsError::validation(&refs));
    }
    Ok(items)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The 429 item Elasticsearch returns when its write thread pool or indexing pressure
/// rejects an operation.
pub fn rejected_item(index: &str, id: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("_index".into(), json!(index));
    if let Some(id) = id {
        m.insert("_id".into(), json!(id));
    }
    m.insert("status".into(), json!(429));
    m.insert(
        "error".into(),
        json!({"type": "es_rejected_execution_exception",
               "reason": "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1024, max_coordinating_and_primary_bytes=107374182]"}),
    );
    Value::Object(m)
}

/// Runs parsed items; returns the response body and the indices written.
pub fn run(
    cluster: &mut Cluster,
    items: Vec<BulkItem>,
    faults: &EsFaults,
    started: Instant,
) -> (Value, Vec<String>) {
    let mut out = Vec::with_capacity(items.len());
    let mut errors = false;
    let mut touched: Vec<String> = Vec::new();
    let mut ingest = false;
    for (action, item) in items {
        let body = match item {
            Err(f) => {
                errors = true;
                f.item()
            }
            Ok(req) => {
                if faults.bulk_item_rejected() {
                    errors = true;
                    rejected_item(&req.index, req.id.as_deref())
                } else {
                    ingest |= req.pipeline.is_some();
                    match execute(cluster, req) {
                        Ok(o) => {
                            if touched.last() != Some(&o.index) && !touched.contains(&o.index) {
                                touched.push(o.index.clone());
                            }
                            let mut b = o.body;
                            if let Value::Object(m) = &mut b {
                                m.insert("status".into(), json!(o.status));
                            }
                            b
                        }
                        Err(f) => {
                            errors = true;
                            f.item()
                        }
                    }
                }
            }
        };
        let mut wrapper = Map::new();
        wrapper.insert(action, body);
        out.push(Value::Object(wrapper));
    }
    let mut resp = Map::new();
    resp.insert("errors".into(), json!(errors));
    resp.insert("took".into(), json!(started.elapsed().as_millis() as u64));
    if ingest {
        resp.insert("ingest_took".into(), json!(0));
    }
    resp.insert("items".into(), Value::Array(out));
    (Value::Object(resp), touched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> BulkParams {
        BulkParams::default()
    }

    fn run_body(c: &mut Cluster, body: &str, params: &BulkParams) -> Result<Value, EsError> {
        let items = parse(body.as_bytes(), params)?;
        Ok(run(c, items, &EsFaults::default(), Instant::now()).0)
    }

    #[test]
    fn all_actions_with_per_item_results() {
        let mut c = Cluster::new("9.1.0");
        let body = concat!(
            "{\"index\":{\"_index\":\"t\",\"_id\":\"1\"}}\n{\"a\":1}\n",
            "{\"create\":{\"_index\":\"t\",\"_id\":\"1\"}}\n{\"a\":2}\n",
            "{\"update\":{\"_index\":\"t\",\"_id\":\"2\"}}\n{\"doc\":{\"b\":1},\"doc_as_upsert\":true}\n",
            "{\"update\":{\"_index\":\"t\",\"_id\":\"2\"}}\n{\"doc\":{\"b\":1}}\n",
            "{\"delete\":{\"_index\":\"t\",\"_id\":\"1\"}}\n",
            "{\"delete\":{\"_index\":\"t\",\"_id\":\"9\"}}\n",
            "{\"index\":{\"_index\":\"t\",\"_id\":\"3\"}}\n{\"a\":\"x\"}\n",
        );
        let r = run_body(&mut c, body, &p()).unwrap();
        assert_eq!(r["errors"], true);
        let items = r["items"].as_array().unwrap();
        assert_eq!(items[0]["index"]["result"], "created");
        assert_eq!(items[0]["index"]["status"], 201);
        assert_eq!(items[0]["index"]["_seq_no"], 0);
        assert_eq!(items[1]["create"]["status"], 409);
        assert_eq!(items[1]["create"]["error"]["type"], "version_conflict_engine_exception");
        assert_eq!(items[2]["update"]["result"], "created");
        assert_eq!(items[3]["update"]["result"], "noop");
        assert_eq!(items[4]["delete"]["result"], "deleted");
        assert_eq!(items[5]["delete"]["result"], "not_found");
        assert_eq!(items[5]["delete"]["status"], 404);
        assert_eq!(items[6]["index"]["status"], 400);
        assert_eq!(items[6]["index"]["error"]["type"], "document_parsing_exception");
    }

    #[test]
    fn whole_request_errors() {
        let mut c = Cluster::new("9.1.0");
        let e = run_body(&mut c, "{\"index\":{\"_index\":\"t\"}}\n{}", &p()).unwrap_err();
        assert_eq!(e.reason, "The bulk request must be terminated by a newline [\\n]");
        let e = run_body(&mut c, "{\"index\":{\"_index\":\"t\"}}\n", &p()).unwrap_err();
        assert_eq!(e.reason, "The bulk request must be terminated by a newline [\\n]");
        let e = run_body(&mut c, "{\"index\":{\"_index\":\"t\",\"foo\":1}}\n{}\n", &p()).unwrap_err();
        assert_eq!(e.reason, "Action/metadata line [1] contains an unknown parameter [foo]");
        let e = run_body(&mut c, "{\"upsert\":{\"_index\":\"t\"}}\n{}\n", &p()).unwrap_err();
        assert_eq!(e.reason, "Malformed action/metadata line [1], expected field [create], [delete], [index] or [update] but found [upsert]");
        let e = run_body(&mut c, "{\"index\":{\"_index\":\"t\"}}\n{}\n{}\n", &p()).unwrap_err();
        assert_eq!(
            e.reason,
            "Malformed action/metadata line [3], expected FIELD_NAME but found [END_OBJECT]"
        );
        let e = run_body(&mut c, "{\"index\":{}}\n{}\n", &p()).unwrap_err();
        assert_eq!(e.reason, "Validation Failed: 1: index is missing;");
        let e = run_body(&mut c, "not json\n", &p()).unwrap_err();
        assert_eq!(e.kind, "x_content_parse_exception");
        let long = "y".repeat(600);
        let body = format!("{{\"index\":{{\"_index\":\"t\",\"_id\":\"ok\"}}}}\n{{}}\n{{\"delete\":{{\"_index\":\"t\",\"_id\":\"{long}\"}}}}\n");
        let e = run_body(&mut c, &body, &p()).unwrap_err();
        assert_eq!(e.kind, "action_request_validation_exception");
        assert_eq!(e.reason, format!("Validation Failed: 1: id [{long}] is too long, must be no longer than 512 bytes but was: 600;"));
        assert!(!c.indices.contains_key("t"), "nothing is written when validation fails");
        let e = run_body(&mut c, "\n", &p()).unwrap_err();
        assert_eq!(e.reason, "Validation Failed: 1: no requests added;");
    }

    #[test]
    fn pipeline_parameter_applies_and_unknown_pipeline_fails_items() {
        let mut c = Cluster::new("9.1.0");
        let params = BulkParams { pipeline: Some("search-default-ingestion".into()), ..p() };
        let r = run_body(&mut c, "{\"index\":{\"_index\":\"t\",\"_id\":\"1\"}}\n{\"body\":\" a  b \",\"_reduce_whitespace\":true}\n", &params).unwrap();
        assert_eq!(r["errors"], false);
        assert_eq!(c.indices["t"].get("1").unwrap().source.as_ref(), &json!({"body":"a b"}));
        let params = BulkParams { pipeline: Some("nope".into()), ..p() };
        let r = run_body(&mut c, "{\"index\":{\"_index\":\"t\",\"_id\":\"1\"}}\n{}\n", &params).unwrap();
        assert_eq!(r["items"][0]["index"]["error"]["reason"], "pipeline with id [nope] does not exist");
    }

    #[test]
    fn rejected_items_are_429() {
        let mut c = Cluster::new("9.1.0");
        let faults = EsFaults::default();
        faults.reject_bulk_item_on(2);
        let items = parse(b"{\"index\":{\"_index\":\"t\",\"_id\":\"1\"}}\n{}\n{\"index\":{\"_index\":\"t\",\"_id\":\"2\"}}\n{}\n", &p()).unwrap();
        let (r, _) = run(&mut c, items, &faults, Instant::now());
        assert_eq!(r["items"][1]["index"]["status"], 429);
        assert_eq!(r["items"][1]["index"]["error"]["type"], "es_rejected_execution_exception");
        assert!(c.indices["t"].get("2").is_none());
    }
}
