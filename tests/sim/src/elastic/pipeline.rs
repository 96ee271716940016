//! Ingest pipelines: the processors the connector's `search-default-ingestion` pipeline uses
//! (`attachment` on plain-text payloads, `set`, `gsub`, `trim`, `remove`, `append`) plus a few
//! simple ones, with `if` conditions of the form `ctx?.field == literal` and `on_failure`.
//! Unknown processors are refused when the pipeline is stored, like Elasticsearch does.

use base64::Engine;
use regex::Regex;
use serde_json::{json, Map, Value};

use super::error::EsError;

/// The name of the pipeline Elasticsearch installs for connectors.
pub const DEFAULT_PIPELINE: &str = "search-default-ingestion";

/// A stored, compiled pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The body as stored (returned by `GET /_ingest/pipeline/{id}`).
    pub body: Value,
    processors: Vec<Processor>,
}

#[derive(Debug, Clone)]
struct Processor {
    kind: String,
    tag: Option<String>,
    condition: Option<Condition>,
    ignore_failure: bool,
    on_failure: Vec<Processor>,
    op: Op,
}

#[derive(Debug, Clone)]
enum Op {
    Set {
        field: String,
        value: Option<Value>,
        copy_from: Option<String>,
        ignore_empty: bool,
        override_: bool,
    },
    Remove {
        fields: Vec<String>,
        ignore_missing: bool,
    },
    Gsub {
        field: String,
        pattern: Regex,
        replacement: String,
        target: Option<String>,
        ignore_missing: bool,
    },
    Trim {
        field: String,
        target: Option<String>,
        ignore_missing: bool,
    },
    Lowercase {
        field: String,
        target: Option<String>,
        ignore_missing: bool,
    },
    Uppercase {
        field: String,
        target: Option<String>,
        ignore_missing: bool,
    },
    Append {
        field: String,
        values: Vec<Value>,
        allow_duplicates: bool,
    },
    Rename {
        field: String,
        target: String,
        ignore_missing: bool,
    },
    Attachment {
        field: String,
        target: String,
        ignore_missing: bool,
        indexed_chars: i64,
        indexed_chars_field: Option<String>,
        remove_binary: bool,
    },
}

/// `ctx?.a.b == literal` / `!=`.
#[derive(Debug, Clone)]
struct Condition {
    path: String,
    equal: bool,
    literal: Value,
}

fn parse_error(reason: impl Into<String>, kind: &str, tag: Option<&str>) -> EsError {
    let mut e = EsError::new(400, "parse_exception", reason).with("processor_type", kind);
    if let Some(t) = tag {
        e = e.with("processor_tag", t);
    }
    e
}

fn str_opt(cfg: &Map<String, Value>, key: &str) -> Option<String> {
    cfg.get(key).and_then(Value::as_str).map(str::to_string)
}

fn required(cfg: &Map<String, Value>, key: &str, kind: &str, tag: Option<&str>) -> Result<String, EsError> {
    str_opt(cfg, key).ok_or_else(|| parse_error(format!("[{key}] required property is missing"), kind, tag))
}

fn flag(cfg: &Map<String, Value>, key: &str, default: bool) -> bool {
    cfg.get(key).and_then(Value::as_bool).unwrap_or(default)
}

impl Pipeline {
    /// Compiles a pipeline body (`{"description":..,"processors":[..]}`).
    pub fn parse(body: &Value) -> Result<Pipeline, EsError> {
        let obj = body.as_object().ok_or_else(|| EsError::parsing("request body is required"))?;
        let processors = match obj.get("processors") {
            Some(Value::Array(list)) => list.iter().map(parse_processor).collect::<Result<Vec<_>, _>>()?,
            Some(_) => {
                return Err(parse_error(
                    "[processors] property isn't a list, but of type [java.lang.String]",
                    "_none_",
                    None,
                ))
            }
            None => {
                return Err(EsError::new(400, "parse_exception", "[processors] required property is missing"))
            }
        };
        Ok(Pipeline { body: body.clone(), processors })
    }

    /// The `search-default-ingestion` pipeline exactly as Elasticsearch installs it.
    pub fn search_default_ingestion() -> Pipeline {
        let failure = |what: &str| {
            json!([{"append": {"description": "Record error information", "field": "_ingestion_errors",
                "value": format!("Processor '{what}' in pipeline '{{{{ _ingest.on_failure_pipeline }}}}' failed with message '{{{{ _ingest.on_failure_message }}}}'")}}])
        };
        let body = json!({
            "version": 1,
            "description": "Default search ingest pipeline",
            "_meta": {"managed_by": "Search", "managed": true},
            "processors": [
                {"attachment": {"description": "Extract text from binary attachments", "field": "_attachment",
                    "target_field": "_extracted_attachment", "ignore_missing": true,
                    "indexed_chars_field": "_attachment_indexed_chars", "if": "ctx?._extract_binary_content == true",
                    "on_failure": failure("attachment"), "remove_binary": false}},
                {"set": {"tag": "set_body", "description": "Set any extracted text on the 'body' field", "field": "body",
                    "copy_from": "_extracted_attachment.content", "ignore_empty_value": true,
                    "if": "ctx?._extract_binary_content == true", "on_failure": failure("set' with tag 'set_body")}},
                {"gsub": {"tag": "remove_replacement_chars", "description": "Remove unicode 'replacement' characters",
                    "field": "body", "pattern": "\u{FFFD}", "replacement": "", "ignore_missing": true,
                    "if": "ctx?._extract_binary_content == true", "on_failure": failure("gsub' with tag 'remove_replacement_chars")}},
                {"gsub": {"tag": "remove_extra_whitespace", "description": "Squish whitespace", "field": "body",
                    "pattern": "\\s+", "replacement": " ", "ignore_missing": true, "if": "ctx?._reduce_whitespace == true",
                    "on_failure": failure("gsub' with tag 'remove_extra_whitespace")}},
                {"trim": {"description": "Trim leading and trailing whitespace", "field": "body", "ignore_missing": true,
                    "if": "ctx?._reduce_whitespace == true", "on_failure": failure("trim")}},
                {"remove": {"tag": "remove_meta_fields", "description": "Remove meta fields",
                    "field": ["_attachment", "_attachment_indexed_chars", "_extracted_attachment", "_extract_binary_content",
                        "_reduce_whitespace", "_run_ml_inference"],
                    "ignore_missing": true, "on_failure": failure("remove' with tag 'remove_meta_fields")}}
            ]
        });
        // The body above is a fixed literal that parses; a failure would be a bug here.
        Pipeline::parse(&body).unwrap_or_else(|e| panic!("built-in pipeline does not compile: {e}"))
    }

    /// Runs the pipeline over a document source. The error is the per-document failure.
    pub fn run(&self, name: &str, doc: &mut Value) -> Result<(), EsError> {
        for p in &self.processors {
            run_processor(p, name, doc)?;
        }
        Ok(())
    }
}

fn parse_processor(v: &Value) -> Result<Processor, EsError> {
    let obj = v.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
        EsError::new(
            400,
            "parse_exception",
            "processor definition must be an object with exactly one processor type",
        )
    })?;
    let (kind, cfg) = obj.iter().next().ok_or_else(|| EsError::parsing("empty processor"))?;
    let cfg = cfg
        .as_object()
        .ok_or_else(|| parse_error("processor configuration must be an object", kind, None))?;
    let tag = str_opt(cfg, "tag");
    let t = tag.as_deref();
    let condition = match cfg.get("if") {
        Some(Value::String(s)) => Some(parse_condition(s).ok_or_else(|| {
            EsError::new(
                400,
                "script_exception",
                format!("compile error: es-sim evaluates only `ctx?.field == literal` conditions, not [{s}]"),
            )
            .with("script", s.as_str())
            .with("lang", "painless")
        })?),
        Some(_) => return Err(parse_error("[if] must be a script string", kind, t)),
        None => None,
    };
    let on_failure = match cfg.get("on_failure") {
        Some(Value::Array(list)) => list.iter().map(parse_processor).collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    let ignore_missing = flag(cfg, "ignore_missing", false);
    let target = str_opt(cfg, "target_field");
    let op = match kind.as_str() {
        "set" => {
            let field = required(cfg, "field", kind, t)?;
            let value = cfg.get("value").cloned();
            let copy_from = str_opt(cfg, "copy_from");
            if value.is_none() && copy_from.is_none() {
                return Err(parse_error("[value] required property is missing", kind, t));
            }
            if value.is_some() && copy_from.is_some() {
                return Err(parse_error(
                    "[copy_from] cannot set both `copy_from` and `value` in the same processor",
                    kind,
                    t,
                ));
            }
            Op::Set {
                field,
                value,
                copy_from,
                ignore_empty: flag(cfg, "ignore_empty_value", false),
                override_: flag(cfg, "override", true),
            }
        }
        "remove" => {
            let fields = match cfg.get("field") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
                _ => return Err(parse_error("[field] required property is missing", kind, t)),
            };
            Op::Remove { fields, ignore_missing }
        }
        "gsub" => {
            let field = required(cfg, "field", kind, t)?;
            let pat = required(cfg, "pattern", kind, t)?;
            let pattern = Regex::new(&pat)
                .map_err(|e| parse_error(format!("[pattern] Invalid regex pattern. {e}"), kind, t))?;
            let replacement = cfg
                .get("replacement")
                .and_then(Value::as_str)
                .ok_or_else(|| parse_error("[replacement] required property is missing", kind, t))?;
            Op::Gsub { field, pattern, replacement: java_replacement(replacement), target, ignore_missing }
        }
        "trim" => Op::Trim { field: required(cfg, "field", kind, t)?, target, ignore_missing },
        "lowercase" => Op::Lowercase { field: required(cfg, "field", kind, t)?, target, ignore_missing },
        "uppercase" => Op::Uppercase { field: required(cfg, "field", kind, t)?, target, ignore_missing },
        "rename" => Op::Rename {
            field: required(cfg, "field", kind, t)?,
            target: required(cfg, "target_field", kind, t)?,
            ignore_missing,
        },
        "append" => {
            let field = required(cfg, "field", kind, t)?;
            let values = match cfg.get("value") {
                Some(Value::Array(a)) => a.clone(),
                Some(v) => vec![v.clone()],
                None => return Err(parse_error("[value] required property is missing", kind, t)),
            };
            Op::Append { field, values, allow_duplicates: flag(cfg, "allow_duplicates", true) }
        }
        "attachment" => Op::Attachment {
            field: required(cfg, "field", kind, t)?,
            target: target.unwrap_or_else(|| "attachment".to_string()),
            ignore_missing,
            indexed_chars: cfg.get("indexed_chars").and_then(Value::as_i64).unwrap_or(100_000),
            indexed_chars_field: str_opt(cfg, "indexed_chars_field"),
            remove_binary: flag(cfg, "remove_binary", false),
        },
        other => {
            return Err(EsError::new(
                400,
                "parse_exception",
                format!("No processor type exists with name [{other}]"),
            )
            .with("processor_type", other))
        }
    };
    Ok(Processor {
        kind: kind.clone(),
        tag,
        condition,
        ignore_failure: flag(cfg, "ignore_failure", false),
        on_failure,
        op,
    })
}

/// Java regex replacement `$1` is the same in Rust's `regex` except `${1}` ambiguity; keep as is.
fn java_replacement(s: &str) -> String {
    s.replace("$$", "$")
}

fn parse_condition(s: &str) -> Option<Condition> {
    let (lhs, rhs, equal) = if let Some((l, r)) = s.split_once("==") {
        (l, r, true)
    } else if let Some((l, r)) = s.split_once("!=") {
        (l, r, false)
    } else {
        return None;
    };
    let lhs = lhs.trim();
    let path = lhs.strip_prefix("ctx?.").or_else(|| lhs.strip_prefix("ctx."))?;
    let path = path.replace("?.", ".");
    if path.is_empty() || !path.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') {
        return None;
    }
    let rhs = rhs.trim();
    let literal = match rhs {
        "true" => json!(true),
        "false" => json!(false),
        "null" => Value::Null,
        r if (r.starts_with('\'') && r.ends_with('\'') && r.len() >= 2)
            || (r.starts_with('"') && r.ends_with('"') && r.len() >= 2) =>
        {
            json!(r[1..r.len() - 1])
        }
        r => serde_json::from_str::<serde_json::Number>(r).ok().map(Value::Number)?,
    };
    Some(Condition { path, equal, literal })
}

/// Reads a dotted path from the ingest document.
pub fn get_path<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = doc;
    for seg in path.split('.') {
        cur = cur.as_object()?.get(seg)?;
    }
    Some(cur)
}

fn set_path(doc: &mut Value, path: &str, value: Value) -> Result<(), EsError> {
    let segs: Vec<&str> = path.split('.').collect();
    let mut cur = doc;
    for (i, seg) in segs.iter().enumerate() {
        let obj = cur.as_object_mut().ok_or_else(|| {
            EsError::illegal_argument(format!(
                "cannot set [{}] with parent object of type [{}] as part of path [{path}]",
                seg, "java.lang.String"
            ))
        })?;
        if i == segs.len() - 1 {
            obj.insert(seg.to_string(), value);
            return Ok(());
        }
        cur = obj.entry(seg.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
}

fn remove_path(doc: &mut Value, path: &str) -> Option<Value> {
    match path.rsplit_once('.') {
        None => doc.as_object_mut()?.remove(path),
        Some((parent, leaf)) => {
            let mut cur = doc;
            for seg in parent.split('.') {
                cur = cur.as_object_mut()?.get_mut(seg)?;
            }
            cur.as_object_mut()?.remove(leaf)
        }
    }
}

fn not_present(field: &str) -> EsError {
    EsError::illegal_argument(format!("field [{field}] not present as part of path [{field}]"))
}

fn java_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(n) if n.is_f64() => "java.lang.Double",
        Value::Number(_) => "java.lang.Integer",
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "java.util.ArrayList",
        Value::Object(_) => "java.util.LinkedHashMap",
    }
}

fn string_op(
    doc: &mut Value,
    field: &str,
    target: Option<&str>,
    ignore_missing: bool,
    f: impl Fn(&str) -> String,
) -> Result<(), EsError> {
    let value = match get_path(doc, field) {
        None | Some(Value::Null) if ignore_missing => return Ok(()),
        None => return Err(not_present(field)),
        Some(Value::Null) => {
            return Err(EsError::illegal_argument(format!("field [{field}] is null, cannot process it.")))
        }
        Some(v) => v.clone(),
    };
    let out = match &value {
        Value::String(s) => Value::String(f(s)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(Value::String(f(s))),
                    other => Err(EsError::illegal_argument(format!(
                        "value [{other}] of type [{}] in list field [{field}] cannot be cast to [java.lang.String]",
                        java_type(other)
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        other => {
            return Err(EsError::illegal_argument(format!(
                "field [{field}] of type [{}] cannot be cast to [java.lang.String]",
                java_type(other)
            )))
        }
    };
    set_path(doc, target.unwrap_or(field), out)
}

/// Renders `{{ field }}` / `{{{field}}}` templates against the document and failure context.
fn render(template: &str, doc: &Value, failure: &Map<String, Value>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let triple = rest[start..].starts_with("{{{");
        let open = if triple { 3 } else { 2 };
        let close = if triple { "}}}" } else { "}}" };
        let Some(end) = rest[start + open..].find(close) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = rest[start + open..start + open + end].trim();
        let value = failure.get(name).or_else(|| get_path(doc, name));
        match value {
            Some(Value::String(s)) => out.push_str(s),
            Some(Value::Null) | None => {}
            Some(other) => out.push_str(&other.to_string()),
        }
        rest = &rest[start + open + end + close.len()..];
    }
    out.push_str(rest);
    out
}

fn render_value(v: &Value, doc: &Value, failure: &Map<String, Value>) -> Value {
    match v {
        Value::String(s) if s.contains("{{") => Value::String(render(s, doc, failure)),
        other => other.clone(),
    }
}

fn run_processor(p: &Processor, pipeline: &str, doc: &mut Value) -> Result<(), EsError> {
    if let Some(c) = &p.condition {
        let actual = get_path(doc, &c.path).unwrap_or(&Value::Null);
        let same = match (actual, &c.literal) {
            (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
            (a, b) => a == b,
        };
        if same != c.equal {
            return Ok(());
        }
    }
    match apply(p, doc, &Map::new()) {
        Ok(()) => Ok(()),
        Err(_) if p.ignore_failure => Ok(()),
        Err(e) if !p.on_failure.is_empty() => {
            let mut failure = Map::new();
            failure.insert("_ingest.on_failure_message".into(), json!(e.reason));
            failure.insert("_ingest.on_failure_processor_type".into(), json!(p.kind));
            failure.insert("_ingest.on_failure_processor_tag".into(), json!(p.tag));
            failure.insert("_ingest.on_failure_pipeline".into(), json!(pipeline));
            for h in &p.on_failure {
                apply(h, doc, &failure)?;
            }
            Ok(())
        }
        Err(e) => {
            let mut wrapped = e.clone();
            wrapped.fields.push(("processor_type".into(), json!(p.kind)));
            if let Some(t) = &p.tag {
                wrapped.fields.push(("processor_tag".into(), json!(t)));
            }
            Err(wrapped)
        }
    }
}

fn apply(p: &Processor, doc: &mut Value, failure: &Map<String, Value>) -> Result<(), EsError> {
    match &p.op {
        Op::Set { field, value, copy_from, ignore_empty, override_ } => {
            let v = match (value, copy_from) {
                (Some(v), _) => render_value(v, doc, failure),
                (None, Some(from)) => get_path(doc, from).cloned().unwrap_or(Value::Null),
                (None, None) => Value::Null,
            };
            let empty = v.is_null() || v.as_str().is_some_and(str::is_empty);
            if *ignore_empty && empty {
                return Ok(());
            }
            if !override_ && get_path(doc, field).is_some_and(|e| !e.is_null()) {
                return Ok(());
            }
            set_path(doc, field, v)
        }
        Op::Remove { fields, ignore_missing } => {
            for f in fields {
                if remove_path(doc, f).is_none() && !ignore_missing {
                    return Err(not_present(f));
                }
            }
            Ok(())
        }
        Op::Gsub { field, pattern, replacement, target, ignore_missing } => {
            string_op(doc, field, target.as_deref(), *ignore_missing, |s| {
                pattern.replace_all(s, replacement.as_str()).into_owned()
            })
        }
        Op::Trim { field, target, ignore_missing } => {
            string_op(doc, field, target.as_deref(), *ignore_missing, |s| s.trim().to_string())
        }
        Op::Lowercase { field, target, ignore_missing } => {
            string_op(doc, field, target.as_deref(), *ignore_missing, str::to_lowercase)
        }
        Op::Uppercase { field, target, ignore_missing } => {
            string_op(doc, field, target.as_deref(), *ignore_missing, str::to_uppercase)
        }
        Op::Rename { field, target, ignore_missing } => match remove_path(doc, field) {
            Some(v) => set_path(doc, target, v),
            None if *ignore_missing => Ok(()),
            None => Err(EsError::illegal_argument(format!("field [{field}] doesn't exist"))),
        },
        Op::Append { field, values, allow_duplicates } => {
            let rendered: Vec<Value> = values.iter().map(|v| render_value(v, doc, failure)).collect();
            let mut list = match get_path(doc, field).cloned() {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a,
                Some(other) => vec![other],
            };
            for v in rendered {
                if *allow_duplicates || !list.contains(&v) {
                    list.push(v);
                }
            }
            set_path(doc, field, Value::Array(list))
        }
        Op::Attachment {
            field,
            target,
            ignore_missing,
            indexed_chars,
            indexed_chars_field,
            remove_binary,
        } => {
            let data = match get_path(doc, field) {
                None | Some(Value::Null) if *ignore_missing => return Ok(()),
                None => return Err(not_present(field)),
                Some(Value::Null) => {
                    return Err(EsError::illegal_argument(format!("field [{field}] is null, cannot parse.")))
                }
                Some(Value::String(s)) => s.clone(),
                Some(other) => {
                    return Err(EsError::illegal_argument(format!(
                        "field [{field}] of type [{}] cannot be cast to [java.lang.String]",
                        java_type(other)
                    )))
                }
            };
            let bytes = base64::engine::general_purpose::STANDARD.decode(data.trim()).map_err(|e| {
                EsError::illegal_argument(format!("Illegal base64 character in field [{field}]: {e}"))
            })?;
            let limit = indexed_chars_field
                .as_ref()
                .and_then(|f| get_path(doc, f))
                .and_then(Value::as_i64)
                .unwrap_or(*indexed_chars);
            let extracted = extract_plain_text(&bytes, limit);
            if *remove_binary {
                remove_path(doc, field);
            }
            set_path(doc, target, extracted)
        }
    }
}

/// What Tika reports for a payload: plain text is decoded (invalid UTF-8 becomes U+FFFD, as
/// Tika does), trimmed and cut at `limit` characters (-1 = no limit). Payloads with NUL bytes
/// are treated as binary formats this server cannot parse: only the content type is reported.
fn extract_plain_text(bytes: &[u8], limit: i64) -> Value {
    if bytes.contains(&0) {
        return json!({"content_type": "application/octet-stream", "content_length": bytes.len()});
    }
    let text = String::from_utf8_lossy(bytes);
    let charset = if bytes.is_ascii() { "ISO-8859-1" } else { "UTF-8" };
    let mut content: String = text.trim().to_string();
    if limit >= 0 {
        content = content.chars().take(limit as usize).collect();
    }
    let mut out = Map::new();
    out.insert("content_type".into(), json!(format!("text/plain; charset={charset}")));
    if !content.is_empty() {
        out.insert("content_length".into(), json!(content.chars().count()));
        out.insert("content".into(), json!(content));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pipeline_extracts_text_and_removes_meta_fields() {
        let p = Pipeline::search_default_ingestion();
        let b64 =
            base64::engine::general_purpose::STANDARD.encode("  Hello \n\n  attached   world \u{FFFD} ");
        let mut doc = json!({"id":"1","_attachment": b64, "_extract_binary_content": true, "_reduce_whitespace": true, "_run_ml_inference": true});
        p.run(DEFAULT_PIPELINE, &mut doc).unwrap();
        assert_eq!(doc, json!({"id":"1","body":"Hello attached world"}));
    }

    #[test]
    fn default_pipeline_squishes_body_without_attachment() {
        let p = Pipeline::search_default_ingestion();
        let mut doc =
            json!({"body":"  a \n b  ", "_extract_binary_content": false, "_reduce_whitespace": true});
        p.run(DEFAULT_PIPELINE, &mut doc).unwrap();
        assert_eq!(doc, json!({"body":"a b"}));
        let mut doc = json!({"body":"  a \n b  "});
        p.run(DEFAULT_PIPELINE, &mut doc).unwrap();
        assert_eq!(doc, json!({"body":"  a \n b  "}));
    }

    #[test]
    fn failures_are_recorded_by_on_failure() {
        let p = Pipeline::search_default_ingestion();
        let mut doc = json!({"body": 5, "_reduce_whitespace": true});
        p.run(DEFAULT_PIPELINE, &mut doc).unwrap();
        let errs = doc["_ingestion_errors"].as_array().unwrap();
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0], json!("Processor 'gsub' with tag 'remove_extra_whitespace' in pipeline 'search-default-ingestion' failed with message 'field [body] of type [java.lang.Integer] cannot be cast to [java.lang.String]'"));
    }

    #[test]
    fn unknown_processors_are_refused() {
        let err = Pipeline::parse(&json!({"processors":[{"frobnicate":{"field":"a"}}]})).unwrap_err();
        assert_eq!(err.kind, "parse_exception");
        assert_eq!(err.reason, "No processor type exists with name [frobnicate]");
    }

    #[test]
    fn missing_field_fails_the_document_without_handlers() {
        let p = Pipeline::parse(&json!({"processors":[{"trim":{"field":"x"}}]})).unwrap();
        let err = p.run("p", &mut json!({})).unwrap_err();
        assert_eq!(err.reason, "field [x] not present as part of path [x]");
    }
}
