//! `_search` and `_count`: request parsing (body and URL parameters), matching, sorting
//! (`_score`, fields, `_doc`, `_shard_doc` with missing values last), `from`/`size` within the
//! 10,000 result window, `search_after`, `track_total_hits`, `_source` filtering and the
//! response shape — including the shard-failure wrapping Elasticsearch puts around errors
//! raised while executing on a shard.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::cluster::glob;
use super::error::EsError;
use super::mapping::Mapping;
use super::query::{source_values, DocView, Indexed, Query};
use std::sync::Arc;

use super::store::StoredDoc;

/// Default `index.max_result_window`.
pub const MAX_RESULT_WINDOW: usize = 10_000;

/// One sort criterion.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    /// `_score`.
    Score { desc: bool },
    /// `_doc` (index order).
    Doc { desc: bool },
    /// `_shard_doc` (the point-in-time tiebreak).
    ShardDoc { desc: bool },
    /// A field.
    Field { name: String, desc: bool, missing_first: bool, unmapped_type: Option<String> },
}

impl SortKey {
    fn desc(&self) -> bool {
        match self {
            SortKey::Score { desc }
            | SortKey::Doc { desc }
            | SortKey::ShardDoc { desc }
            | SortKey::Field { desc, .. } => *desc,
        }
    }
}

/// `_source` filtering.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceFilter {
    /// `_source: false`.
    pub disabled: bool,
    /// Include patterns (empty = everything).
    pub includes: Vec<String>,
    /// Exclude patterns.
    pub excludes: Vec<String>,
}

/// `track_total_hits`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrackTotal {
    /// Exact count.
    Exact,
    /// Count up to N, then `gte`.
    UpTo(usize),
    /// No `total`.
    Off,
}

/// A parsed search request.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The query.
    pub query: Query,
    /// `size` (default 10).
    pub size: usize,
    /// `from` (default 0).
    pub from: usize,
    /// Sort keys (empty = by score).
    pub sort: Vec<SortKey>,
    /// Source filtering.
    pub source: SourceFilter,
    /// `search_after` values.
    pub search_after: Option<Vec<Value>>,
    /// `pit.id` and `pit.keep_alive`.
    pub pit: Option<(String, Option<String>)>,
    /// `track_total_hits`.
    pub track_total_hits: TrackTotal,
    /// `seq_no_primary_term`.
    pub seq_no_primary_term: bool,
    /// `version`.
    pub version: bool,
    /// `track_scores`.
    pub track_scores: bool,
    /// `rest_total_hits_as_int`.
    pub total_as_int: bool,
    /// A scroll search: every hit is kept (no `from + size` window), pages are cut later.
    pub scroll: bool,
}

const IGNORED_KEYS: &[&str] = &[
    "timeout",
    "explain",
    "stats",
    "profile",
    "terminate_after",
    "min_score",
    "indices_boost",
    "stored_fields",
    "docvalue_fields",
    "fields",
    "highlight",
    "collapse",
    "runtime_mappings",
    "_name",
    "post_filter",
    "ext",
    "rescore",
    "suggest",
];

fn parse_source_filter(v: &Value) -> Result<SourceFilter, EsError> {
    let strings = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    };
    Ok(match v {
        Value::Bool(b) => SourceFilter { disabled: !b, ..Default::default() },
        Value::String(_) | Value::Array(_) => SourceFilter { includes: strings(v), ..Default::default() },
        Value::Object(o) => SourceFilter {
            disabled: false,
            includes: o.get("includes").or_else(|| o.get("include")).map(strings).unwrap_or_default(),
            excludes: o.get("excludes").or_else(|| o.get("exclude")).map(strings).unwrap_or_default(),
        },
        _ => return Err(EsError::parsing(
            "Expected one of [TRUE, FALSE, VALUE_STRING, START_ARRAY, START_OBJECT] but found [VALUE_NULL]",
        )),
    })
}

fn order(v: &str) -> Result<bool, EsError> {
    match v.to_ascii_lowercase().as_str() {
        "asc" => Ok(false),
        "desc" => Ok(true),
        other => Err(EsError::illegal_argument(format!("Unknown SortOrder [{other}]"))),
    }
}

fn sort_key(name: &str, spec: Option<&Value>) -> Result<SortKey, EsError> {
    let (mut desc, mut missing_first, mut unmapped) = (name == "_score", false, None);
    match spec {
        None => {}
        Some(Value::String(s)) => desc = order(s)?,
        Some(Value::Object(o)) => {
            if let Some(s) = o.get("order").and_then(Value::as_str) {
                desc = order(s)?;
            }
            missing_first = o.get("missing").and_then(Value::as_str) == Some("_first");
            unmapped = o.get("unmapped_type").and_then(Value::as_str).map(str::to_string);
        }
        Some(other) => return Err(EsError::parsing(format!("[sort] unexpected value {other}"))),
    }
    Ok(match name {
        "_score" => SortKey::Score { desc },
        "_doc" => SortKey::Doc { desc },
        "_shard_doc" => SortKey::ShardDoc { desc },
        field => SortKey::Field { name: field.to_string(), desc, missing_first, unmapped_type: unmapped },
    })
}

fn parse_sort(v: &Value) -> Result<Vec<SortKey>, EsError> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::String(s) => out.push(sort_key(s, None)?),
            Value::Object(o) => {
                for (k, spec) in o {
                    out.push(sort_key(k, Some(spec))?);
                }
            }
            other => return Err(EsError::parsing(format!("[sort] malformed sort format, found {other}"))),
        }
    }
    Ok(out)
}

fn usize_param(params: &HashMap<String, String>, key: &str) -> Result<Option<usize>, EsError> {
    match params.get(key) {
        None => Ok(None),
        Some(v) => v.parse::<i64>().map(|n| Some(n.max(0) as usize)).map_err(|_| {
            EsError::illegal_argument(format!("Failed to parse int parameter [{key}] with value [{v}]"))
        }),
    }
}

fn track_total(v: &Value) -> Result<TrackTotal, EsError> {
    Ok(match v {
        Value::Bool(true) => TrackTotal::Exact,
        Value::Bool(false) => TrackTotal::Off,
        Value::Number(n) => match n.as_i64() {
            Some(-1) | None => TrackTotal::Exact,
            Some(n) if n < 0 => {
                return Err(EsError::illegal_argument(format!(
                    "[track_total_hits] parameter must be positive or equals to -1, got {n}"
                )))
            }
            Some(n) => TrackTotal::UpTo(n as usize),
        },
        Value::String(s) if s == "true" => TrackTotal::Exact,
        Value::String(s) if s == "false" => TrackTotal::Off,
        Value::String(s) => TrackTotal::UpTo(s.parse().map_err(|_| {
            EsError::illegal_argument(format!("Failed to parse [track_total_hits] value [{s}]"))
        })?),
        _ => TrackTotal::UpTo(MAX_RESULT_WINDOW),
    })
}

impl SearchRequest {
    /// Parses a search from its body and URL parameters.
    pub fn parse(body: Option<&Value>, params: &HashMap<String, String>) -> Result<SearchRequest, EsError> {
        let empty = Map::new();
        let obj = match body {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(o)) => o,
            Some(_) => return Err(EsError::parsing("request body must be an object")),
        };
        let mut req = SearchRequest {
            query: Query::MatchAll(1.0),
            size: 10,
            from: 0,
            sort: Vec::new(),
            source: SourceFilter::default(),
            search_after: None,
            pit: None,
            track_total_hits: TrackTotal::UpTo(MAX_RESULT_WINDOW),
            seq_no_primary_term: false,
            version: false,
            track_scores: false,
            total_as_int: params.get("rest_total_hits_as_int").is_some_and(|v| v == "true" || v.is_empty()),
            scroll: params.contains_key("scroll"),
        };
        for (k, v) in obj {
            match k.as_str() {
                "query" => req.query = Query::parse(v)?,
                "size" => {
                    req.size =
                        v.as_i64().ok_or_else(|| EsError::parsing("[size] must be a number"))?.max(0) as usize
                }
                "from" => {
                    req.from =
                        v.as_i64().ok_or_else(|| EsError::parsing("[from] must be a number"))?.max(0) as usize
                }
                "sort" => req.sort = parse_sort(v)?,
                "_source" => req.source = parse_source_filter(v)?,
                "search_after" => {
                    req.search_after = Some(
                        v.as_array()
                            .cloned()
                            .ok_or_else(|| EsError::parsing("[search_after] must be an array"))?,
                    )
                }
                "pit" => {
                    let id = v
                        .get("id")
                        .and_then(Value::as_str)
                        .ok_or_else(|| EsError::parsing("[pit] requires [id]"))?;
                    req.pit = Some((
                        id.to_string(),
                        v.get("keep_alive").and_then(Value::as_str).map(str::to_string),
                    ));
                }
                "track_total_hits" => req.track_total_hits = track_total(v)?,
                "seq_no_primary_term" => req.seq_no_primary_term = v.as_bool().unwrap_or(false),
                "version" => req.version = v.as_bool().unwrap_or(false),
                "track_scores" => req.track_scores = v.as_bool().unwrap_or(false),
                "aggs" | "aggregations" => {
                    return Err(EsError::illegal_argument("es-sim does not implement aggregations"));
                }
                other if IGNORED_KEYS.contains(&other) => {}
                other => {
                    let token = match v {
                        Value::Object(_) => "START_OBJECT",
                        Value::Array(_) => "START_ARRAY",
                        Value::String(_) => "VALUE_STRING",
                        Value::Number(_) => "VALUE_NUMBER",
                        Value::Bool(_) => "VALUE_BOOLEAN",
                        Value::Null => "VALUE_NULL",
                    };
                    return Err(EsError::parsing(format!("Unknown key for a {token} in [{other}].")));
                }
            }
        }
        if let Some(n) = usize_param(params, "size")? {
            req.size = n;
        }
        if let Some(n) = usize_param(params, "from")? {
            req.from = n;
        }
        if let Some(s) = params.get("sort") {
            let mut keys = Vec::new();
            for part in s.split(',').filter(|p| !p.is_empty()) {
                let (f, o) = part.split_once(':').unwrap_or((part, ""));
                let spec = Value::String(o.to_string());
                keys.push(sort_key(f, if o.is_empty() { None } else { Some(&spec) })?);
            }
            req.sort = keys;
        }
        if let Some(s) = params.get("_source") {
            req.source = match s.as_str() {
                "false" => SourceFilter { disabled: true, ..Default::default() },
                "true" | "" => SourceFilter::default(),
                list => SourceFilter {
                    includes: list.split(',').map(str::to_string).collect(),
                    ..Default::default()
                },
            };
        }
        if let Some(s) = params.get("_source_includes") {
            req.source.includes = s.split(',').map(str::to_string).collect();
            req.source.disabled = false;
        }
        if let Some(s) = params.get("_source_excludes") {
            req.source.excludes = s.split(',').map(str::to_string).collect();
        }
        if let Some(t) = params.get("track_total_hits") {
            req.track_total_hits = track_total(&Value::String(t.clone()))?;
        }
        if let Some(v) = params.get("seq_no_primary_term") {
            req.seq_no_primary_term = v == "true" || v.is_empty();
        }
        if let Some(v) = params.get("version") {
            req.version = v == "true" || v.is_empty();
        }
        if params.contains_key("q") {
            return Err(EsError::illegal_argument(
                "es-sim does not implement the [q] query-string parameter; send a query body",
            ));
        }
        if req.scroll && req.size == 0 {
            return Err(EsError::validation(&["[size] cannot be [0] in a scroll context"]));
        }
        if req.scroll && params.get("request_cache").is_some_and(|v| v == "true" || v.is_empty()) {
            return Err(EsError::validation(&["[request_cache] cannot be used in a scroll context"]));
        }
        if req.search_after.is_some() && req.from > 0 {
            return Err(EsError::validation(&[
                "`from` parameter must be set to 0 when `search_after` is used",
            ]));
        }
        // With a point in time Elasticsearch adds the `_shard_doc` tiebreaker, unless a
        // `search_after` gives one value per sort field only (then hits carry no tiebreaker).
        let after_without_tiebreaker = req.search_after.as_ref().is_some_and(|a| a.len() == req.sort.len());
        if req.pit.is_some()
            && !req.sort.iter().any(|k| matches!(k, SortKey::ShardDoc { .. }))
            && !req.sort.is_empty()
            && !after_without_tiebreaker
        {
            req.sort.push(SortKey::ShardDoc { desc: false });
        }
        Ok(req)
    }
}

/// A sort value.
#[derive(Debug, Clone, PartialEq)]
pub enum SortVal {
    /// Integer (longs, dates, `_doc`).
    Int(i64),
    /// Floating point (scores, floats).
    Float(f64),
    /// Keyword.
    Str(String),
}

impl SortVal {
    fn cmp(&self, other: &SortVal) -> Ordering {
        match (self, other) {
            (SortVal::Int(a), SortVal::Int(b)) => a.cmp(b),
            (SortVal::Str(a), SortVal::Str(b)) => a.cmp(b),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()).unwrap_or(Ordering::Equal),
        }
    }

    fn as_f64(&self) -> f64 {
        match self {
            SortVal::Int(i) => *i as f64,
            SortVal::Float(f) => *f,
            SortVal::Str(_) => 0.0,
        }
    }

    fn from_json(v: &Value, like: Option<&SortVal>) -> Option<SortVal> {
        match v {
            Value::Null => None,
            Value::Number(n) => Some(match (n.as_i64(), like) {
                (_, Some(SortVal::Float(_))) => SortVal::Float(n.as_f64().unwrap_or(0.0)),
                (Some(i), _) => SortVal::Int(i),
                (None, _) => SortVal::Float(n.as_f64().unwrap_or(0.0)),
            }),
            Value::String(s) => Some(match like {
                Some(SortVal::Int(_)) => s.parse().map(SortVal::Int).unwrap_or(SortVal::Str(s.clone())),
                Some(SortVal::Float(_)) => s.parse().map(SortVal::Float).unwrap_or(SortVal::Str(s.clone())),
                _ => SortVal::Str(s.clone()),
            }),
            other => Some(SortVal::Str(other.to_string())),
        }
    }
}

/// A document set to search: one index (live, or frozen by a point in time).
pub struct Target<'a> {
    /// Index name.
    pub index: &'a str,
    /// Its mapping.
    pub mapping: &'a Mapping,
    /// Documents with their `_doc` ordinals.
    pub docs: Box<dyn Iterator<Item = (u64, &'a Arc<StoredDoc>)> + 'a>,
    /// `index.max_result_window`.
    pub max_window: usize,
}

/// A matching document.
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    /// Its index.
    pub index: &'a str,
    /// The document.
    pub doc: &'a Arc<StoredDoc>,
    /// Score.
    pub score: f64,
    /// Sort values (None = missing), one per sort key.
    pub sort: Vec<Option<SortVal>>,
}

/// Wraps an error raised on a shard the way the search API reports it.
pub fn shard_failure(index: &str, err: EsError) -> EsError {
    let mut outer = EsError::new(err.status, "search_phase_execution_exception", "all shards failed")
        .with("phase", "query")
        .with("grouped", true)
        .with(
            "failed_shards",
            json!([{"shard": 0, "index": index, "node": "es-sim-node", "reason": err.object()}]),
        );
    outer.root_cause = Some(Box::new(EsError { caused_by: None, ..err.clone() }));
    outer.caused_by(err)
}

fn cmp_opt(a: &Option<SortVal>, b: &Option<SortVal>, desc: bool, missing_first: bool) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => {
            let o = x.cmp(y);
            if desc {
                o.reverse()
            } else {
                o
            }
        }
        (None, None) => Ordering::Equal,
        (None, Some(_)) => {
            if missing_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (Some(_), None) => {
            if missing_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

fn field_sort_value(view: &DocView<'_>, name: &str, desc: bool) -> Option<SortVal> {
    let vals = view.values(name);
    let mut best: Option<SortVal> = None;
    for v in vals {
        let sv = match v {
            Indexed::Keyword(s) | Indexed::Token(s) => SortVal::Str(s),
            Indexed::Number(n) => {
                if n.fract() == 0.0 && n.abs() < 9.0e15 {
                    SortVal::Int(n as i64)
                } else {
                    SortVal::Float(n)
                }
            }
            Indexed::Date(d) => SortVal::Int(d),
            Indexed::Bool(b) => SortVal::Int(i64::from(b)),
        };
        best = Some(match best {
            None => sv,
            Some(cur) => {
                let better =
                    if desc { sv.cmp(&cur) == Ordering::Greater } else { sv.cmp(&cur) == Ordering::Less };
                if better {
                    sv
                } else {
                    cur
                }
            }
        });
    }
    best
}

/// Checks that sort fields are sortable in at least one searched index.
fn check_sort(req: &SearchRequest, mappings: &[(&str, &Mapping)]) -> Result<(), EsError> {
    for key in &req.sort {
        if let SortKey::Field { name, unmapped_type, .. } = key {
            if name == "_index" {
                continue;
            }
            if name == "_id" {
                let index = mappings.first().map_or("_all", |(i, _)| *i);
                return Err(shard_failure(index, EsError::illegal_argument("Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic cluster setting: indices.id_field_data.enabled")));
            }
            let resolved: Vec<_> =
                mappings.iter().filter_map(|(i, m)| m.resolve(name).map(|r| (i, r))).collect();
            if resolved.is_empty() && unmapped_type.is_none() {
                if let Some((index, _)) = mappings.first() {
                    return Err(shard_failure(
                        index,
                        EsError::new(
                            400,
                            "query_shard_exception",
                            format!("No mapping found for [{name}] in order to sort on"),
                        )
                        .with("index", *index),
                    ));
                }
            }
            for (index, r) in resolved {
                if r.field.ty == "text"
                    && r.field.params.get("fielddata").and_then(Value::as_bool) != Some(true)
                {
                    return Err(shard_failure(index, EsError::illegal_argument(format!("Fielddata is disabled on [{name}] in [{index}]. Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [{name}] in order to load field data by uninverting the inverted index. Note that this can use significant memory."))));
                }
            }
        }
    }
    Ok(())
}

/// Runs the query over the targets; returns matching hits sorted, and the total.
pub fn execute<'a>(req: &SearchRequest, targets: Vec<Target<'a>>) -> Result<(Vec<Hit<'a>>, usize), EsError> {
    let mappings: Vec<(&str, &Mapping)> = targets.iter().map(|t| (t.index, t.mapping)).collect();
    let max_window = targets.iter().map(|t| t.max_window).min().unwrap_or(MAX_RESULT_WINDOW);
    if !req.scroll && req.from + req.size > max_window {
        let index = targets.first().map_or("_all", |t| t.index);
        return Err(shard_failure(index, EsError::illegal_argument(format!(
            "Result window is too large, from + size must be less than or equal to: [{max_window}] but was [{}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.",
            req.from + req.size
        ))));
    }
    check_sort(req, &mappings)?;
    if let Some(after) = &req.search_after {
        if after.len() != req.sort.len().max(1) || req.sort.is_empty() {
            let index = targets.first().map_or("_all", |t| t.index);
            return Err(shard_failure(
                index,
                EsError::illegal_argument(format!(
                    "search_after has {} value(s) but sort has {}.",
                    after.len(),
                    req.sort.len()
                )),
            ));
        }
    }
    let mut hits = Vec::new();
    for (n, t) in targets.into_iter().enumerate() {
        let shard = (n as i64) << 32;
        for (ord, doc) in t.docs {
            let view = DocView { doc: doc.as_ref(), index: t.index, mapping: t.mapping };
            let Some(score) = req.query.score(&view).map_err(|e| shard_failure(t.index, e))? else {
                continue;
            };
            let sort = req
                .sort
                .iter()
                .map(|k| match k {
                    SortKey::Score { .. } => Some(SortVal::Float(score)),
                    SortKey::Doc { .. } | SortKey::ShardDoc { .. } => Some(SortVal::Int(shard | ord as i64)),
                    SortKey::Field { name, desc, missing_first, .. } => field_sort_value(&view, name, *desc)
                        .or_else(|| {
                            // Elasticsearch substitutes the extreme long for a missing numeric or date value.
                            let numeric = t.mapping.resolve(name).is_some_and(|r| {
                                matches!(
                                    r.field.ty.as_str(),
                                    "long"
                                        | "integer"
                                        | "short"
                                        | "byte"
                                        | "date"
                                        | "date_nanos"
                                        | "unsigned_long"
                                        | "boolean"
                                )
                            });
                            numeric.then_some(SortVal::Int(if *desc != *missing_first {
                                i64::MIN
                            } else {
                                i64::MAX
                            }))
                        }),
                })
                .collect();
            hits.push(Hit { index: t.index, doc, score, sort });
        }
    }
    let total = hits.len();
    // A date in `search_after` may be written as the field's format writes it.
    let after_dates: Option<Vec<Value>> = req.search_after.as_ref().map(|after| {
        after
            .iter()
            .zip(req.sort.iter().map(Some).chain(std::iter::repeat(None)))
            .map(|(v, key)| {
                let (Value::String(_), Some(SortKey::Field { name, .. })) = (v, key) else {
                    return v.clone();
                };
                let date_format = mappings.iter().find_map(|(_, m)| {
                    let r = m.resolve(name)?;
                    matches!(r.field.ty.as_str(), "date" | "date_nanos")
                        .then(|| r.field.params.get("format").and_then(Value::as_str).map(str::to_string))
                });
                match date_format {
                    Some(format) => crate::elastic::dates::parse_date_with_format(v, format.as_deref())
                        .map_or_else(|| v.clone(), Value::from),
                    None => v.clone(),
                }
            })
            .collect()
    });
    if let Some(after) = &after_dates {
        let after_vals: Vec<Option<SortVal>> = hits
            .first()
            .map(|h| {
                after.iter().zip(&h.sort).map(|(v, like)| SortVal::from_json(v, like.as_ref())).collect()
            })
            .unwrap_or_else(|| after.iter().map(|v| SortVal::from_json(v, None)).collect());
        hits.retain(|h| compare(req, &h.sort, &after_vals) == Ordering::Greater);
    }
    let order = |a: &Hit<'_>, b: &Hit<'_>| {
        if req.sort.is_empty() {
            b.score.partial_cmp(&a.score).unwrap_or(Ordering::Equal)
        } else {
            compare(req, &a.sort, &b.sort)
        }
    };
    let want = req.from + req.size;
    if !req.scroll && want < hits.len() && want > 0 {
        hits.select_nth_unstable_by(want - 1, |a, b| order(a, b));
        hits.truncate(want);
    }
    hits.sort_by(|a, b| order(a, b));
    Ok((hits, total))
}

fn compare(req: &SearchRequest, a: &[Option<SortVal>], b: &[Option<SortVal>]) -> Ordering {
    for (i, key) in req.sort.iter().enumerate() {
        let missing_first = matches!(key, SortKey::Field { missing_first: true, .. });
        let o = cmp_opt(&a[i], &b[i], key.desc(), missing_first);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Applies `_source` includes/excludes.
pub fn filter_source(source: &Value, f: &SourceFilter) -> Value {
    if f.includes.is_empty() && f.excludes.is_empty() {
        return source.clone();
    }
    filter_level(source, "", f).unwrap_or_else(|| Value::Object(Map::new()))
}

fn filter_level(v: &Value, prefix: &str, f: &SourceFilter) -> Option<Value> {
    match v {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, val) in o {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                if f.excludes.iter().any(|p| glob(p, &path)) {
                    continue;
                }
                let included = f.includes.is_empty()
                    || f.includes.iter().any(|p| {
                        glob(p, &path)
                            || path.starts_with(&format!("{}.", p.trim_end_matches(".*")))
                                && glob(&format!("{p}*"), &path)
                    });
                let below =
                    f.includes.iter().any(|p| p.starts_with(&format!("{path}.")) || p.starts_with('*'));
                if included {
                    if let Some(x) =
                        filter_level(val, &path, &SourceFilter { includes: Vec::new(), ..f.clone() })
                    {
                        out.insert(k.clone(), x);
                    }
                } else if below && (val.is_object() || val.is_array()) {
                    if let Some(x) = filter_level(val, &path, f) {
                        if !x.as_object().is_some_and(Map::is_empty) {
                            out.insert(k.clone(), x);
                        }
                    }
                }
            }
            Some(Value::Object(out))
        }
        Value::Array(items) => {
            Some(Value::Array(items.iter().filter_map(|i| filter_level(i, prefix, f)).collect()))
        }
        other => Some(other.clone()),
    }
}

fn sort_json(v: &Option<SortVal>) -> Value {
    match v {
        Some(SortVal::Int(i)) => json!(i),
        Some(SortVal::Float(f)) => json!(f),
        Some(SortVal::Str(s)) => json!(s),
        None => Value::Null,
    }
}

/// Renders one hit.
pub fn hit_json(req: &SearchRequest, h: &Hit<'_>) -> Value {
    let mut m = Map::new();
    m.insert("_index".into(), json!(h.index));
    m.insert("_id".into(), json!(h.doc.id));
    let scored = req.sort.is_empty()
        || req.track_scores
        || req.sort.iter().any(|k| matches!(k, SortKey::Score { .. }));
    m.insert("_score".into(), if scored { json!(h.score) } else { Value::Null });
    if req.version {
        m.insert("_version".into(), json!(h.doc.version));
    }
    if req.seq_no_primary_term {
        m.insert("_seq_no".into(), json!(h.doc.seq_no));
        m.insert("_primary_term".into(), json!(h.doc.primary_term));
    }
    if !req.source.disabled {
        m.insert("_source".into(), filter_source(&h.doc.source, &req.source));
    }
    if !req.sort.is_empty() {
        m.insert("sort".into(), Value::Array(h.sort.iter().map(sort_json).collect()));
    }
    Value::Object(m)
}

/// The `hits.total` object for a total (None when not tracked).
pub fn total_json(req: &SearchRequest, total: usize) -> Option<Value> {
    let (value, relation) = match req.track_total_hits {
        TrackTotal::Off => return None,
        TrackTotal::Exact => (total, "eq"),
        TrackTotal::UpTo(n) if total > n => (n, "gte"),
        TrackTotal::UpTo(_) => (total, "eq"),
    };
    Some(if req.total_as_int { json!(value) } else { json!({"value": value, "relation": relation}) })
}

/// The whole search response for one page of hits.
pub fn response(
    req: &SearchRequest,
    page: &[Value],
    max_score: Option<f64>,
    total: usize,
    took: u64,
    shards: usize,
) -> Value {
    let mut hits = Map::new();
    if let Some(t) = total_json(req, total) {
        hits.insert("total".into(), t);
    }
    let scored = req.sort.is_empty() || req.track_scores;
    hits.insert(
        "max_score".into(),
        if scored { max_score.map_or(Value::Null, |s| json!(s)) } else { Value::Null },
    );
    hits.insert("hits".into(), Value::Array(page.to_vec()));
    json!({
        "took": took,
        "timed_out": false,
        "_shards": {"total": shards, "successful": shards, "skipped": 0, "failed": 0},
        "hits": Value::Object(hits),
    })
}

/// Raw `_source` values at a path (re-exported for `_count`-style callers).
pub fn values_at<'v>(v: &'v Value, path: &str) -> Vec<&'v Value> {
    let mut out = Vec::new();
    source_values(v, path, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(n: usize) -> (Mapping, Vec<Arc<StoredDoc>>) {
        let mut m = Mapping::default();
        let mut out = Vec::new();
        for i in 0..n {
            let src = json!({"n": i % 3, "name": format!("doc{i}"), "tags": ["a", "b"]});
            let raw = src.to_string();
            m.apply_document(&super::super::mapping::DocContext { id: "x", raw: &raw, legacy: false }, &src)
                .unwrap();
            out.push(Arc::new(StoredDoc {
                id: i.to_string(),
                source: Arc::new(src),
                seq_no: i as u64,
                primary_term: 1,
                version: 1,
            }));
        }
        (m, out)
    }

    fn run(req: &SearchRequest, m: &Mapping, d: &[Arc<StoredDoc>]) -> Result<(Vec<String>, usize), EsError> {
        let t = Target {
            index: "i",
            mapping: m,
            docs: Box::new(d.iter().enumerate().map(|(o, d)| (o as u64, d))),
            max_window: MAX_RESULT_WINDOW,
        };
        let (hits, total) = execute(req, vec![t])?;
        Ok((hits.iter().skip(req.from).take(req.size).map(|h| h.doc.id.clone()).collect(), total))
    }

    #[test]
    fn sort_and_search_after_page_through_everything_once() {
        let (m, d) = docs(10);
        let body = json!({"size": 4, "sort": [{"n": "desc"}, {"name.keyword": "asc"}]});
        let mut req = SearchRequest::parse(Some(&body), &HashMap::new()).unwrap();
        let mut seen = Vec::new();
        loop {
            let t = Target {
                index: "i",
                mapping: &m,
                docs: Box::new(d.iter().enumerate().map(|(o, d)| (o as u64, d))),
                max_window: MAX_RESULT_WINDOW,
            };
            let (hits, total) = execute(&req, vec![t]).unwrap();
            assert_eq!(total, 10);
            let page: Vec<&Hit> = hits.iter().take(4).collect();
            if page.is_empty() {
                break;
            }
            seen.extend(page.iter().map(|h| h.doc.id.clone()));
            let last = hit_json(&req, page[page.len() - 1]);
            req.search_after = Some(last["sort"].as_array().unwrap().clone());
        }
        assert_eq!(seen, vec!["2", "5", "8", "1", "4", "7", "0", "3", "6", "9"]);
    }

    #[test]
    fn window_and_text_sort_errors() {
        let (m, d) = docs(3);
        let req = SearchRequest::parse(Some(&json!({"from": 9995, "size": 10})), &HashMap::new()).unwrap();
        let e = run(&req, &m, &d).unwrap_err();
        assert_eq!(e.kind, "search_phase_execution_exception");
        assert!(e.caused_by.unwrap().reason.starts_with(
            "Result window is too large, from + size must be less than or equal to: [10000] but was [10005]."
        ));
        let req = SearchRequest::parse(Some(&json!({"sort": ["name"]})), &HashMap::new()).unwrap();
        assert!(run(&req, &m, &d)
            .unwrap_err()
            .caused_by
            .unwrap()
            .reason
            .starts_with("Fielddata is disabled on [name]"));
        let req = SearchRequest::parse(Some(&json!({"sort": ["nope"]})), &HashMap::new()).unwrap();
        assert_eq!(
            run(&req, &m, &d).unwrap_err().caused_by.unwrap().reason,
            "No mapping found for [nope] in order to sort on"
        );
        let e = SearchRequest::parse(Some(&json!({"frm": 1})), &HashMap::new()).unwrap_err();
        assert_eq!(e.reason, "Unknown key for a VALUE_NUMBER in [frm].");
    }

    #[test]
    fn missing_values_sort_last_with_extreme_longs() {
        let (mut m, mut d) = docs(2);
        let src = json!({"name": "no-n"});
        let raw = src.to_string();
        m.apply_document(&super::super::mapping::DocContext { id: "x", raw: &raw, legacy: false }, &src)
            .unwrap();
        d.push(Arc::new(StoredDoc {
            id: "m".into(),
            source: Arc::new(src),
            seq_no: 9,
            primary_term: 1,
            version: 1,
        }));
        for (order, expect) in [("asc", json!(i64::MAX)), ("desc", json!(i64::MIN))] {
            let req = SearchRequest::parse(Some(&json!({"sort": [{"n": order}]})), &HashMap::new()).unwrap();
            let t = Target {
                index: "i",
                mapping: &m,
                docs: Box::new(d.iter().enumerate().map(|(o, d)| (o as u64, d))),
                max_window: MAX_RESULT_WINDOW,
            };
            let (hits, _) = execute(&req, vec![t]).unwrap();
            let last = hit_json(&req, hits.last().unwrap());
            assert_eq!((last["_id"].clone(), last["sort"][0].clone()), (json!("m"), expect));
        }
        let req = SearchRequest::parse(Some(&json!({"sort": ["_id"]})), &HashMap::new()).unwrap();
        assert!(run(&req, &m, &d)
            .unwrap_err()
            .caused_by
            .unwrap()
            .reason
            .starts_with("Fielddata access on the _id field is disallowed"));
        // Elasticsearch 8.19 sorts by `_shard_doc` without a point in time too (yaml-rest/core).
        assert!(SearchRequest::parse(Some(&json!({"sort": ["_shard_doc"]})), &HashMap::new()).is_ok());
    }

    #[test]
    fn source_filtering() {
        let src = json!({"a": {"b": 1, "c": 2}, "d": 3, "e": [{"f": 1, "g": 2}]});
        let f =
            SourceFilter { disabled: false, includes: vec!["a.b".into(), "e.f".into()], excludes: vec![] };
        assert_eq!(filter_source(&src, &f), json!({"a": {"b": 1}, "e": [{"f": 1}]}));
        let f = SourceFilter { disabled: false, includes: vec![], excludes: vec!["a".into()] };
        assert_eq!(filter_source(&src, &f), json!({"d": 3, "e": [{"f": 1, "g": 2}]}));
        let f = SourceFilter { disabled: false, includes: vec!["a".into()], excludes: vec!["a.c".into()] };
        assert_eq!(filter_source(&src, &f), json!({"a": {"b": 1}}));
    }

    #[test]
    fn total_hits_tracking() {
        let (m, d) = docs(5);
        let req = SearchRequest::parse(
            Some(&json!({"track_total_hits": 2, "query": {"term": {"n": 1}}})),
            &HashMap::new(),
        )
        .unwrap();
        let (_, total) = run(&req, &m, &d).unwrap();
        assert_eq!(total, 2);
        assert_eq!(total_json(&req, 5), Some(json!({"value": 2, "relation": "gte"})));
    }
}
