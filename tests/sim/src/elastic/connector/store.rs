//! How the connector API reads and writes its documents: through the cluster's own write path
//! ([`execute`]) on the concrete `-v1` indices — so mappings, sequence numbers, versions and
//! auto-creation with the built-in templates behave exactly as for `_doc`/`_update` — followed
//! by a refresh, as the API's `RefreshPolicy.IMMEDIATE` does. Also the pieces every endpoint
//! shares: timestamps, request bodies parsed strictly (unknown fields and wrong types are
//! 400s, as Elasticsearch's object parsers make them), and the error types the API answers.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::{Map, Value};

use crate::elastic::cluster::Cluster;
use crate::elastic::error::EsError;
use crate::elastic::routes::Request;
use crate::elastic::store::StoredDoc;
use crate::elastic::write::{execute, WriteKind, WriteOutcome, WriteRequest};

/// The last timestamp handed out (epoch millis).
static LAST_MILLIS: AtomicI64 = AtomicI64::new(0);

/// Now, as Elasticsearch prints an `Instant` in these documents (ISO-8601, UTC). Strictly
/// increasing within the process, so that two sync jobs created in the same millisecond
/// still sort by `created_at` the way they were created.
pub fn now() -> String {
    let wall = Utc::now().timestamp_millis();
    let mut prev = LAST_MILLIS.load(Ordering::Relaxed);
    loop {
        let next = wall.max(prev + 1);
        match LAST_MILLIS.compare_exchange(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => {
                let t = Utc.timestamp_millis_opt(next).single().unwrap_or_else(Utc::now);
                return t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
            }
            Err(current) => prev = current,
        }
    }
}

/// `resource_not_found_exception` (404), what the API answers for a missing connector, sync
/// job or secret.
pub fn not_found(reason: impl Into<String>) -> EsError {
    EsError::new(404, "resource_not_found_exception", reason)
}

/// `status_exception` (400), Elasticsearch's `ElasticsearchStatusException`: the API's
/// refusals that are not request validation (index name in use, invalid transition, …).
pub fn status_exception(reason: impl Into<String>) -> EsError {
    EsError::new(400, "status_exception", reason)
}

/// The current version of a document, real-time, if the index and document exist.
pub fn live(c: &Cluster, index: &str, id: &str) -> Option<Arc<StoredDoc>> {
    c.indices.get(index).and_then(|i| i.get(id)).cloned()
}

/// Documents of an index as searches see them, in index order (none if it does not exist).
pub fn searchable(c: &Cluster, index: &str) -> Vec<Arc<StoredDoc>> {
    c.indices.get(index).map(|i| i.searchable().map(|(_, d)| d.clone()).collect()).unwrap_or_default()
}

/// Runs one write on a concrete index and refreshes it.
pub fn write(
    c: &mut Cluster,
    index: &str,
    id: Option<&str>,
    kind: WriteKind,
) -> Result<WriteOutcome, EsError> {
    let req = WriteRequest {
        index: index.to_string(),
        id: id.map(str::to_string),
        kind,
        if_seq_no: None,
        if_primary_term: None,
        pipeline: None,
        require_alias: false,
    };
    let outcome = execute(c, req).map_err(|f| f.error)?;
    if let Some(i) = c.indices.get_mut(&outcome.index) {
        i.refresh();
    }
    Ok(outcome)
}

/// Indexes a whole document (create or overwrite).
pub fn put(c: &mut Cluster, index: &str, id: Option<&str>, source: Value) -> Result<WriteOutcome, EsError> {
    let raw = source.to_string();
    write(c, index, id, WriteKind::Index { create: false, source, raw })
}

/// A partial update (`doc` merged into the stored source, `noop` when nothing changes).
pub fn update(c: &mut Cluster, index: &str, id: &str, doc: Value) -> Result<WriteOutcome, EsError> {
    write(
        c,
        index,
        Some(id),
        WriteKind::Update { doc: Some(doc), upsert: None, doc_as_upsert: false, detect_noop: true },
    )
}

/// How a wholesale field replacement reports an unchanged document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unchanged {
    /// `noop`, as a partial `doc` update does (Elasticsearch's `detect_noop`).
    Noop,
    /// `updated` anyway, as a scripted update does (the API's `_configuration` is a script).
    Updated,
}

/// Replaces top-level fields of a stored document wholesale, where a partial update would
/// merge objects (a new `configuration` schema must drop the fields it no longer has) or
/// where the API rewrites a list (`filtering`).
pub fn replace_fields(
    c: &mut Cluster,
    index: &str,
    current: &StoredDoc,
    fields: Map<String, Value>,
    unchanged: Unchanged,
) -> Result<&'static str, EsError> {
    let mut source = (*current.source).clone();
    let Some(obj) = source.as_object_mut() else { return Ok("noop") };
    let mut changed = false;
    for (k, v) in fields {
        if obj.get(&k) != Some(&v) {
            obj.insert(k, v);
            changed = true;
        }
    }
    if !changed && unchanged == Unchanged::Noop {
        return Ok("noop");
    }
    put(c, index, Some(&current.id), source)?;
    Ok("updated")
}

/// The HTTP status of a create-or-replace: 201 for `created`, 200 otherwise, as the API's
/// responses report it.
pub fn created_or_ok(result: &str) -> u16 {
    if result == "created" {
        201
    } else {
        200
    }
}

/// The `result` of a write (`created`, `updated`, `noop`, `deleted`).
pub fn result_of(o: &WriteOutcome) -> String {
    o.body["result"].as_str().unwrap_or("updated").to_string()
}

/// A request body parsed the way Elasticsearch's object parsers do it: a JSON object whose
/// fields are all known, with typed accessors that answer 400 on a wrong type.
#[derive(Debug, Default)]
pub struct Body {
    /// The parser's name, as it appears in Elasticsearch's error messages.
    parser: &'static str,
    /// The fields.
    pub fields: Map<String, Value>,
}

impl Body {
    /// Parses the request body; `required` makes an empty body an error.
    pub fn parse(
        req: &Request,
        parser: &'static str,
        known: &[&str],
        required: bool,
    ) -> Result<Body, EsError> {
        let value = match req.json()? {
            Some(v) => v,
            None if required => {
                return Err(EsError::new(400, "parse_exception", "request body is required"));
            }
            None => return Ok(Body { parser, fields: Map::new() }),
        };
        let Value::Object(fields) = value else {
            return Err(EsError::new(
                400,
                "x_content_parse_exception",
                format!("[{parser}] Expected START_OBJECT"),
            ));
        };
        if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(EsError::new(
                400,
                "x_content_parse_exception",
                format!("[1:2] [{parser}] unknown field [{unknown}]"),
            ));
        }
        Ok(Body { parser, fields })
    }

    /// Refuses an explicit `null` where the parser takes only a value (Elasticsearch's
    /// `ValueType.STRING` and friends): `[parser] key doesn't support values of type:
    /// VALUE_NULL`, a 400 `x_content_parse_exception`.
    pub fn no_null(&self, key: &str) -> Result<(), EsError> {
        if self.fields.get(key).is_some_and(Value::is_null) {
            return Err(EsError::new(
                400,
                "x_content_parse_exception",
                format!("[{}] {key} doesn't support values of type: VALUE_NULL", self.parser),
            ));
        }
        Ok(())
    }

    /// A string field the parser requires (a required constructor argument of
    /// Elasticsearch's `ConstructingObjectParser`): when it is missing the parser itself
    /// refuses the body — `illegal_argument_exception`, `Required [key]` — before any request
    /// validation runs; `null` is refused as [`Body::no_null`] refuses it.
    pub fn required_string(&self, key: &str) -> Result<String, EsError> {
        self.no_null(key)?;
        self.string(key)?.ok_or_else(|| EsError::illegal_argument(format!("Required [{key}]")))
    }

    /// An object field the parser requires: missing is `Required [key]`, `null` and
    /// non-objects are failures to parse it.
    pub fn required_object(&self, key: &str) -> Result<&Map<String, Value>, EsError> {
        self.no_null(key)?;
        self.object(key)?.ok_or_else(|| EsError::illegal_argument(format!("Required [{key}]")))
    }

    /// A boolean field the parser requires (missing is `Required [key]`).
    pub fn required_boolean(&self, key: &str) -> Result<bool, EsError> {
        self.no_null(key)?;
        self.boolean(key)?.ok_or_else(|| EsError::illegal_argument(format!("Required [{key}]")))
    }

    /// The error for a field of the wrong type.
    pub fn bad_field(&self, key: &str) -> EsError {
        EsError::new(
            400,
            "x_content_parse_exception",
            format!("[{}] failed to parse field [{key}]", self.parser),
        )
    }

    /// A field's raw value (None when absent).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// A string field; absent and `null` are both None.
    pub fn string(&self, key: &str) -> Result<Option<String>, EsError> {
        match self.fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(self.bad_field(key)),
        }
    }

    /// A boolean field (`true`/`false`, or those words as strings).
    pub fn boolean(&self, key: &str) -> Result<Option<bool>, EsError> {
        match self.fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(_) => Err(self.bad_field(key)),
        }
    }

    /// A non-negative whole-number field.
    pub fn count(&self, key: &str) -> Result<Option<i64>, EsError> {
        match self.fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                let n = v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .ok_or_else(|| self.bad_field(key))?;
                Ok(Some(n))
            }
        }
    }

    /// An object field.
    pub fn object(&self, key: &str) -> Result<Option<&Map<String, Value>>, EsError> {
        match self.fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(_) => Err(self.bad_field(key)),
        }
    }
}

/// Checks a path id: Elasticsearch refuses an empty one in request validation.
pub fn require_id(id: &str, field: &str) -> Result<(), EsError> {
    if id.is_empty() {
        return Err(EsError::validation(&[&format!("[{field}] cannot be [null] or [\"\"].")]));
    }
    Ok(())
}

/// A `from`/`size` URL parameter pair as the list endpoints read it: Elasticsearch's
/// `PageParams` refuses a negative one with an `illegal_argument_exception`; the sum is left to
/// the search (see [`check_window`]).
pub fn page(req: &Request) -> Result<(usize, usize), EsError> {
    let int = |key: &str, default: i64| -> Result<i64, EsError> {
        match req.params.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                EsError::illegal_argument(format!("Failed to parse int parameter [{key}] with value [{v}]"))
            }),
        }
    };
    let (from, size) = (int("from", 0)?, int("size", 100)?);
    for (key, v) in [("from", from), ("size", size)] {
        if v < 0 {
            return Err(EsError::illegal_argument(format!("Parameter [{key}] cannot be < 0")));
        }
    }
    Ok((from as usize, size as usize))
}

/// The list endpoints search their index with `from`/`size`, so a page past the index's result
/// window fails as that search fails: `search_phase_execution_exception` (400) caused by the
/// shard's refusal. A missing index is no failure (the lists answer it as empty).
pub fn check_window(c: &Cluster, index: &str, from: usize, size: usize) -> Result<(), EsError> {
    const MAX_RESULT_WINDOW: usize = 10_000;
    if from + size <= MAX_RESULT_WINDOW || !c.indices.contains_key(index) {
        return Ok(());
    }
    Err(crate::elastic::search::shard_failure(
        index,
        EsError::illegal_argument(format!(
            "Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was [{}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.",
            from + size
        )),
    ))
}

/// A comma-separated list URL parameter (None when absent or empty).
pub fn list_param(req: &Request, key: &str) -> Option<Vec<String>> {
    let v = req.params.get(key)?;
    let items: Vec<String> =
        v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
    (!items.is_empty()).then_some(items)
}

/// `{"id": <_id>, ..._source}`: how the API shows a stored connector or sync job.
pub fn with_id(doc: &StoredDoc) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), Value::String(doc.id.clone()));
    if let Value::Object(src) = doc.source.as_ref() {
        for (k, v) in src {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}
