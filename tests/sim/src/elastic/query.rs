//! The Query DSL subset: `match_all`, `match_none`, `term`, `terms`, `ids`, `exists`,
//! `range` (numbers, dates with date math, strings), `match`, `prefix`, `constant_score`
//! and `bool` (`must`, `filter`, `should` + `minimum_should_match`, `must_not`). Values are
//! compared the way the field's mapping indexes them: `text` is tokenised by the standard
//! analyzer, `keyword` is exact and skips values over `ignore_above`, numbers and dates are
//! numeric; unmapped fields match nothing, as in Elasticsearch.

use serde_json::{Map, Value};

use super::dates;
use super::error::EsError;
use super::mapping::{FieldMapping, Mapping};
use super::store::StoredDoc;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Every document, score 1 (times boost).
    MatchAll(f64),
    /// No document.
    MatchNone,
    /// Exact term.
    Term { field: String, value: Value, case_insensitive: bool, boost: f64 },
    /// Any of several exact terms.
    Terms { field: String, values: Vec<Value>, boost: f64 },
    /// Documents by `_id`.
    Ids(Vec<String>),
    /// The field has an indexed value.
    Exists(String),
    /// Range over numbers, dates or strings.
    Range {
        field: String,
        gt: Option<Value>,
        gte: Option<Value>,
        lt: Option<Value>,
        lte: Option<Value>,
        boost: f64,
    },
    /// Full-text match.
    Match { field: String, text: String, and: bool, minimum_should_match: Option<String>, boost: f64 },
    /// Term prefix.
    Prefix { field: String, value: String, boost: f64 },
    /// Filter with a constant score.
    ConstantScore(Box<Query>, f64),
    /// Boolean combination.
    Bool {
        must: Vec<Query>,
        filter: Vec<Query>,
        should: Vec<Query>,
        must_not: Vec<Query>,
        minimum_should_match: Option<String>,
        boost: f64,
    },
}

/// Queries Elasticsearch has but this server does not evaluate: refused with a clear
/// message instead of Elasticsearch's "unknown query", which a real cluster would not say.
const UNIMPLEMENTED: &[&str] = &[
    "query_string",
    "simple_query_string",
    "multi_match",
    "wildcard",
    "regexp",
    "fuzzy",
    "nested",
    "has_child",
    "has_parent",
    "function_score",
    "script_score",
    "script",
    "more_like_this",
    "geo_distance",
    "geo_bounding_box",
    "knn",
    "semantic",
    "sparse_vector",
    "text_expansion",
    "match_phrase_prefix",
    "match_bool_prefix",
    "combined_fields",
    "dis_max",
    "boosting",
    "terms_set",
    "intervals",
    "span_term",
    "span_near",
    "pinned",
    "rule",
    "rank_feature",
    "distance_feature",
    "percolate",
    "wrapper",
    "term_set",
    "type",
];

fn single_field<'a>(kind: &str, v: &'a Value) -> Result<(&'a String, &'a Value), EsError> {
    let obj = v.as_object().ok_or_else(|| {
        EsError::parsing(format!("[{kind}] query malformed, no start_object after query name"))
    })?;
    let fields: Vec<_> = obj.iter().filter(|(k, _)| k.as_str() != "boost" && k.as_str() != "_name").collect();
    match fields.as_slice() {
        [one] => Ok(*one),
        [] => Err(EsError::illegal_argument(format!("[{kind}] query requires a field"))),
        [a, b, ..] => Err(EsError::parsing(format!(
            "[{kind}] query doesn't support multiple fields, found [{}] and [{}]",
            a.0, b.0
        ))),
    }
}

fn boost_of(v: &Value) -> f64 {
    v.get("boost").and_then(Value::as_f64).unwrap_or(1.0)
}

fn clauses(v: &Value) -> Result<Vec<Query>, EsError> {
    match v {
        Value::Array(a) => a.iter().map(Query::parse).collect(),
        Value::Object(_) => Ok(vec![Query::parse(v)?]),
        _ => Err(EsError::parsing("[bool] query malformed, expected an object or array of clauses")),
    }
}

fn msm_string(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

impl Query {
    /// Parses a query object such as `{"term":{"status":"pending"}}`.
    pub fn parse(v: &Value) -> Result<Query, EsError> {
        let obj =
            v.as_object().ok_or_else(|| EsError::parsing("query malformed, must start with start_object"))?;
        if obj.len() != 1 {
            let keys: Vec<&String> = obj.keys().collect();
            return Err(if keys.is_empty() {
                EsError::parsing("query malformed, empty clause found")
            } else {
                EsError::parsing(format!(
                    "[{}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]",
                    keys[0]
                ))
            });
        }
        let (kind, body) =
            obj.iter().next().ok_or_else(|| EsError::parsing("query malformed, empty clause found"))?;
        match kind.as_str() {
            "match_all" => Ok(Query::MatchAll(boost_of(body))),
            "match_none" => Ok(Query::MatchNone),
            "term" => {
                let (field, spec) = single_field("term", body)?;
                let (value, ci, boost) = match spec {
                    Value::Object(o) => (
                        o.get("value").cloned().ok_or_else(|| {
                            EsError::parsing("[term] query does not support [value] missing")
                        })?,
                        o.get("case_insensitive").and_then(Value::as_bool).unwrap_or(false),
                        boost_of(spec),
                    ),
                    Value::Array(_) => {
                        return Err(EsError::parsing("[term] query does not support array of values"))
                    }
                    other => (other.clone(), false, 1.0),
                };
                Ok(Query::Term { field: field.clone(), value, case_insensitive: ci, boost })
            }
            "terms" => {
                let (field, spec) = single_field("terms", body)?;
                match spec {
                    Value::Array(values) => Ok(Query::Terms {
                        field: field.clone(),
                        values: values.clone(),
                        boost: boost_of(body),
                    }),
                    _ => Err(EsError::parsing(format!("[terms] query does not support [{field}]"))),
                }
            }
            "ids" => {
                let values = body
                    .get("values")
                    .and_then(Value::as_array)
                    .ok_or_else(|| EsError::parsing("[ids] query malformed, no values"))?;
                Ok(Query::Ids(
                    values
                        .iter()
                        .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                        .collect(),
                ))
            }
            "exists" => {
                let field = body
                    .get("field")
                    .and_then(Value::as_str)
                    .ok_or_else(|| EsError::parsing("[exists] must be provided with a [field]"))?;
                Ok(Query::Exists(field.to_string()))
            }
            "range" => {
                let (field, spec) = single_field("range", body)?;
                let o = spec
                    .as_object()
                    .ok_or_else(|| EsError::parsing(format!("[range] query does not support [{field}]")))?;
                for k in o.keys() {
                    if ![
                        "gt",
                        "gte",
                        "lt",
                        "lte",
                        "from",
                        "to",
                        "include_lower",
                        "include_upper",
                        "format",
                        "time_zone",
                        "boost",
                        "relation",
                        "_name",
                    ]
                    .contains(&k.as_str())
                    {
                        return Err(EsError::parsing(format!("[range] query does not support [{k}]")));
                    }
                }
                let get = |k: &str| o.get(k).filter(|v| !v.is_null()).cloned();
                let (mut gt, mut gte, mut lt, mut lte) = (get("gt"), get("gte"), get("lt"), get("lte"));
                if let Some(from) = get("from") {
                    if o.get("include_lower").and_then(Value::as_bool).unwrap_or(true) {
                        gte = Some(from)
                    } else {
                        gt = Some(from)
                    }
                }
                if let Some(to) = get("to") {
                    if o.get("include_upper").and_then(Value::as_bool).unwrap_or(true) {
                        lte = Some(to)
                    } else {
                        lt = Some(to)
                    }
                }
                Ok(Query::Range { field: field.clone(), gt, gte, lt, lte, boost: boost_of(spec) })
            }
            "match" | "match_phrase" => {
                let (field, spec) = single_field(kind, body)?;
                let (text, and, msm, boost) = match spec {
                    Value::Object(o) => (
                        o.get("query")
                            .map(text_of)
                            .ok_or_else(|| EsError::parsing("No text specified for text query"))?,
                        kind == "match_phrase"
                            || o.get("operator")
                                .and_then(Value::as_str)
                                .is_some_and(|s| s.eq_ignore_ascii_case("and")),
                        o.get("minimum_should_match").and_then(msm_string),
                        boost_of(spec),
                    ),
                    other => (text_of(other), kind == "match_phrase", None, 1.0),
                };
                Ok(Query::Match { field: field.clone(), text, and, minimum_should_match: msm, boost })
            }
            "prefix" => {
                let (field, spec) = single_field("prefix", body)?;
                let value = match spec {
                    Value::Object(o) => o.get("value").map(text_of).unwrap_or_default(),
                    other => text_of(other),
                };
                Ok(Query::Prefix { field: field.clone(), value, boost: boost_of(spec) })
            }
            "constant_score" => {
                let filter = body
                    .get("filter")
                    .ok_or_else(|| EsError::parsing("[constant_score] requires a 'filter' element"))?;
                Ok(Query::ConstantScore(Box::new(Query::parse(filter)?), boost_of(body)))
            }
            "bool" => {
                let o = body.as_object().ok_or_else(|| {
                    EsError::parsing("[bool] query malformed, no start_object after query name")
                })?;
                let mut q = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                let mut msm = None;
                for (k, val) in o {
                    match k.as_str() {
                        "must" => q.0 = clauses(val)?,
                        "filter" => q.1 = clauses(val)?,
                        "should" => q.2 = clauses(val)?,
                        "must_not" | "mustNot" => q.3 = clauses(val)?,
                        "minimum_should_match" => msm = msm_string(val),
                        "boost" | "_name" | "adjust_pure_negative" => {}
                        other => {
                            return Err(EsError::parsing(format!("[bool] query does not support [{other}]")))
                        }
                    }
                }
                Ok(Query::Bool {
                    must: q.0,
                    filter: q.1,
                    should: q.2,
                    must_not: q.3,
                    minimum_should_match: msm,
                    boost: boost_of(body),
                })
            }
            other if UNIMPLEMENTED.contains(&other) => Err(EsError::illegal_argument(format!(
                "es-sim does not implement the [{other}] query (Elasticsearch does); use term, terms, ids, exists, range, match, prefix or bool"
            ))),
            other => Err(EsError::parsing(format!("unknown query [{other}]")).caused_by(EsError::new(
                400,
                "named_object_not_found_exception",
                format!("[1:{}] unknown field [{other}]", other.len() + 3),
            ))),
        }
    }

    /// Scores a document: `Some(score)` when it matches.
    pub fn score(&self, doc: &DocView<'_>) -> Result<Option<f64>, EsError> {
        Ok(match self {
            Query::MatchAll(b) => Some(*b),
            Query::MatchNone => None,
            Query::Ids(ids) => ids.iter().any(|i| i == &doc.doc.id).then_some(1.0),
            Query::Exists(field) => doc.exists(field).then_some(1.0),
            Query::Term { field, value, case_insensitive, boost } => {
                let vals = doc.values(field);
                let mut hit = false;
                for v in &vals {
                    if v.equals(value, *case_insensitive)? {
                        hit = true;
                        break;
                    }
                }
                hit.then_some(*boost)
            }
            Query::Terms { field, values, boost } => {
                let vals = doc.values(field);
                let mut hit = false;
                'outer: for v in &vals {
                    for t in values {
                        if v.equals(t, false)? {
                            hit = true;
                            break 'outer;
                        }
                    }
                }
                hit.then_some(*boost)
            }
            Query::Range { field, gt, gte, lt, lte, boost } => {
                let vals = doc.values(field);
                let mut hit = false;
                for v in &vals {
                    if v.in_range(gt.as_ref(), gte.as_ref(), lt.as_ref(), lte.as_ref())? {
                        hit = true;
                        break;
                    }
                }
                hit.then_some(*boost)
            }
            Query::Prefix { field, value, boost } => {
                let vals = doc.values(field);
                vals.iter()
                    .any(|v| match v {
                        Indexed::Keyword(s) | Indexed::Token(s) => s.starts_with(value.as_str()),
                        _ => false,
                    })
                    .then_some(*boost)
            }
            Query::Match { field, text, and, minimum_should_match, boost } => {
                let vals = doc.values(field);
                let text_field = vals.iter().any(|v| matches!(v, Indexed::Token(_)));
                if !text_field {
                    let mut hit = false;
                    for v in &vals {
                        if v.equals(&Value::String(text.clone()), false)? {
                            hit = true;
                            break;
                        }
                    }
                    return Ok(hit.then_some(*boost));
                }
                let terms = analyze(text);
                if terms.is_empty() {
                    return Ok(None);
                }
                let matched = terms
                    .iter()
                    .filter(|t| vals.iter().any(|v| matches!(v, Indexed::Token(s) if s == *t)))
                    .count();
                let required = if *and {
                    terms.len()
                } else {
                    minimum_should_match.as_deref().map_or(1, |m| required_count(m, terms.len()))
                };
                (matched >= required.max(1)).then_some(*boost * matched as f64)
            }
            Query::ConstantScore(inner, boost) => inner.score(doc)?.map(|_| *boost),
            Query::Bool { must, filter, should, must_not, minimum_should_match, boost } => {
                let mut score = 0.0;
                for q in must {
                    match q.score(doc)? {
                        Some(s) => score += s,
                        None => return Ok(None),
                    }
                }
                for q in filter {
                    if q.score(doc)?.is_none() {
                        return Ok(None);
                    }
                }
                for q in must_not {
                    if q.score(doc)?.is_some() {
                        return Ok(None);
                    }
                }
                let mut matched = 0;
                for q in should {
                    if let Some(s) = q.score(doc)? {
                        matched += 1;
                        score += s;
                    }
                }
                let required = match minimum_should_match {
                    Some(m) => required_count(m, should.len()),
                    None if must.is_empty() && filter.is_empty() && !should.is_empty() => 1,
                    None => 0,
                };
                if matched < required {
                    return Ok(None);
                }
                Some(score * boost)
            }
        })
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `minimum_should_match` (`2`, `-1`, `75%`, `-25%`) for `n` optional clauses.
fn required_count(spec: &str, n: usize) -> usize {
    let spec = spec.trim();
    let r = if let Some(p) = spec.strip_suffix('%') {
        let pct: f64 = p.parse().unwrap_or(0.0);
        let k = (n as f64 * pct.abs() / 100.0).floor() as i64;
        if pct < 0.0 {
            n as i64 - k
        } else {
            k
        }
    } else {
        let k: i64 = spec.parse().unwrap_or(0);
        if k < 0 {
            n as i64 + k
        } else {
            k
        }
    };
    r.clamp(0, n as i64) as usize
}

/// Elasticsearch's `standard` analyzer, closely enough: lowercase word tokens.
pub fn analyze(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '_' && c != '\'')
        .map(|t| t.trim_matches('\'').to_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// A value as the field's mapping indexes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Indexed {
    /// A `keyword` (or `_id`) value.
    Keyword(String),
    /// One token of a `text` value.
    Token(String),
    /// A number.
    Number(f64),
    /// A date, epoch millis.
    Date(i64),
    /// A boolean.
    Bool(bool),
}

fn number_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn bad_number(v: &Value) -> EsError {
    EsError::new(
        400,
        "query_shard_exception",
        format!("failed to create query: For input string: \"{}\"", text_of(v)),
    )
    .caused_by(EsError::new(
        400,
        "number_format_exception",
        format!("For input string: \"{}\"", text_of(v)),
    ))
}

impl Indexed {
    fn equals(&self, q: &Value, ci: bool) -> Result<bool, EsError> {
        Ok(match self {
            Indexed::Keyword(s) | Indexed::Token(s) => {
                let t = text_of(q);
                if ci {
                    s.to_lowercase() == t.to_lowercase()
                } else {
                    *s == t
                }
            }
            Indexed::Number(n) => *n == number_of(q).ok_or_else(|| bad_number(q))?,
            Indexed::Date(d) => Some(*d) == dates::parse_date_bound(q, chrono::Utc::now()),
            Indexed::Bool(b) => match q {
                Value::Bool(x) => b == x,
                Value::String(s) => s == if *b { "true" } else { "false" },
                _ => false,
            },
        })
    }

    fn in_range(
        &self,
        gt: Option<&Value>,
        gte: Option<&Value>,
        lt: Option<&Value>,
        lte: Option<&Value>,
    ) -> Result<bool, EsError> {
        use std::cmp::Ordering;
        let cmp = |bound: &Value| -> Result<Option<Ordering>, EsError> {
            Ok(match self {
                Indexed::Number(n) => n.partial_cmp(&number_of(bound).ok_or_else(|| bad_number(bound))?),
                Indexed::Date(d) => {
                    let b = dates::parse_date_bound(bound, chrono::Utc::now()).ok_or_else(|| {
                        EsError::new(400, "parse_exception", format!("failed to parse date field [{}] with format [strict_date_optional_time||epoch_millis]", text_of(bound)))
                    })?;
                    Some(d.cmp(&b))
                }
                Indexed::Keyword(s) | Indexed::Token(s) => Some(s.as_str().cmp(text_of(bound).as_str())),
                Indexed::Bool(_) => None,
            })
        };
        if let Some(b) = gt {
            if cmp(b)? != Some(Ordering::Greater) {
                return Ok(false);
            }
        }
        if let Some(b) = gte {
            if !matches!(cmp(b)?, Some(Ordering::Greater | Ordering::Equal)) {
                return Ok(false);
            }
        }
        if let Some(b) = lt {
            if cmp(b)? != Some(Ordering::Less) {
                return Ok(false);
            }
        }
        if let Some(b) = lte {
            if !matches!(cmp(b)?, Some(Ordering::Less | Ordering::Equal)) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// One document as queries and sorts see it.
pub struct DocView<'a> {
    /// The stored document.
    pub doc: &'a StoredDoc,
    /// The index it lives in.
    pub index: &'a str,
    /// That index's mapping.
    pub mapping: &'a Mapping,
}

/// Collects the raw `_source` values at a dotted path (objects, dotted keys and arrays).
pub fn source_values<'v>(v: &'v Value, path: &str, out: &mut Vec<&'v Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| source_values(i, path, out)),
        Value::Object(o) => {
            for (k, val) in o {
                if k == path {
                    push_leaves(val, out);
                } else if let Some(rest) = path.strip_prefix(k.as_str()).and_then(|r| r.strip_prefix('.')) {
                    source_values(val, rest, out);
                }
            }
        }
        _ => {}
    }
}

fn push_leaves<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| push_leaves(i, out)),
        Value::Null => {}
        other => out.push(other),
    }
}

impl DocView<'_> {
    /// The indexed values of a field (empty when unmapped or absent).
    pub fn values(&self, field: &str) -> Vec<Indexed> {
        match field {
            "_id" => return vec![Indexed::Keyword(self.doc.id.clone())],
            "_index" => return vec![Indexed::Keyword(self.index.to_string())],
            _ => {}
        }
        let Some(r) = self.mapping.resolve(field) else { return Vec::new() };
        let mut raw = Vec::new();
        source_values(&self.doc.source, &field[..r.source_path_len], &mut raw);
        let mut out = Vec::new();
        for v in raw {
            index_value(r.field, v, &mut out);
        }
        out
    }

    /// Whether the field (or, for an object, any field below it) has an indexed value.
    pub fn exists(&self, field: &str) -> bool {
        if field == "_id" || field == "_index" {
            return true;
        }
        match self.mapping.resolve(field) {
            Some(r) if r.field.is_object() => {
                let mut raw = Vec::new();
                source_values(&self.doc.source, field, &mut raw);
                raw.iter().any(|v| match v {
                    Value::Object(o) => !o.is_empty(),
                    _ => true,
                })
            }
            Some(_) => !self.values(field).is_empty(),
            None => false,
        }
    }
}

fn index_value(f: &FieldMapping, v: &Value, out: &mut Vec<Indexed>) {
    if matches!(v, Value::Object(_)) {
        return;
    }
    match f.ty.as_str() {
        "keyword" | "constant_keyword" | "wildcard" | "version" => {
            let s = text_of(v);
            if f.ignore_above().is_none_or(|max| s.chars().count() <= max) {
                out.push(Indexed::Keyword(s));
            }
        }
        "text" | "match_only_text" | "search_as_you_type" => {
            for t in analyze(&text_of(v)) {
                out.push(Indexed::Token(t));
            }
        }
        "long" | "integer" | "short" | "byte" | "unsigned_long" => {
            if let Some(n) = number_of(v) {
                out.push(Indexed::Number(n.trunc()));
            }
        }
        "double" | "float" | "half_float" | "scaled_float" => {
            if let Some(n) = number_of(v) {
                out.push(Indexed::Number(n));
            }
        }
        "date" | "date_nanos" => {
            if let Some(d) = dates::parse_date_with_format(v, f.params.get("format").and_then(Value::as_str))
            {
                out.push(Indexed::Date(d));
            }
        }
        "boolean" => match v {
            Value::Bool(b) => out.push(Indexed::Bool(*b)),
            Value::String(s) if s == "true" => out.push(Indexed::Bool(true)),
            Value::String(s) if s == "false" || s.is_empty() => out.push(Indexed::Bool(false)),
            _ => {}
        },
        _ => out.push(Indexed::Keyword(text_of(v))),
    }
}

/// Builds the query for a search body's `query` (default `match_all`).
pub fn parse_optional(v: Option<&Value>) -> Result<Query, EsError> {
    match v {
        None | Some(Value::Null) => Ok(Query::MatchAll(1.0)),
        Some(q) => Query::parse(q),
    }
}

/// Unused-field helper kept for callers that need an empty map.
pub fn empty() -> Map<String, Value> {
    Map::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn view_matches(mapping: &Mapping, source: Value, q: Value) -> bool {
        let doc =
            StoredDoc { id: "d1".into(), source: Arc::new(source), seq_no: 0, primary_term: 1, version: 1 };
        let v = DocView { doc: &doc, index: "i", mapping };
        Query::parse(&q).unwrap().score(&v).unwrap().is_some()
    }

    fn mapped(source: &Value) -> Mapping {
        let mut m = Mapping::default();
        let raw = source.to_string();
        m.apply_document(&super::super::mapping::DocContext { id: "d1", raw: &raw, legacy: false }, source)
            .unwrap();
        m
    }

    #[test]
    fn dls_query_on_keyword_subfield() {
        let doc = json!({"title":"Hello World","_allow_access_control":["user:bob","group:eng"]});
        let m = mapped(&doc);
        let dls = json!({"bool":{"should":[{"bool":{"must_not":{"exists":{"field":"_allow_access_control"}}}},{"terms":{"_allow_access_control.keyword":["group:eng"]}}]}});
        assert!(view_matches(&m, doc.clone(), dls));
        let dls = json!({"bool":{"should":[{"bool":{"must_not":{"exists":{"field":"_allow_access_control"}}}},{"terms":{"_allow_access_control.keyword":["group:ops"]}}]}});
        assert!(!view_matches(&m, doc.clone(), dls));
        // term on the text field itself compares against tokens.
        assert!(!view_matches(&m, doc.clone(), json!({"term":{"title":"Hello World"}})));
        assert!(view_matches(&m, doc.clone(), json!({"term":{"title.keyword":"Hello World"}})));
        assert!(view_matches(&m, doc.clone(), json!({"match":{"title":"hello there"}})));
        assert!(!view_matches(
            &m,
            doc.clone(),
            json!({"match":{"title":{"query":"hello there","operator":"and"}}})
        ));
        assert!(!view_matches(&m, doc, json!({"term":{"unmapped":"x"}})));
    }

    #[test]
    fn ranges_on_numbers_and_dates() {
        let doc = json!({"n": 5, "at": "2024-05-01T00:00:00Z"});
        let m = mapped(&doc);
        assert!(view_matches(&m, doc.clone(), json!({"range":{"n":{"gte":5,"lt":6}}})));
        assert!(!view_matches(&m, doc.clone(), json!({"range":{"n":{"gt":5}}})));
        assert!(view_matches(&m, doc.clone(), json!({"range":{"at":{"gte":"2024-04-30","lte":"now"}}})));
        assert!(!view_matches(&m, doc.clone(), json!({"range":{"at":{"gt":"2024-05-01T00:00:00Z"}}})));
        assert!(view_matches(
            &m,
            doc,
            json!({"bool":{"should":[{"term":{"n":4}},{"term":{"n":"5"}}],"minimum_should_match":1}})
        ));
    }

    #[test]
    fn keyword_ignore_above_is_not_indexed() {
        let long = "x".repeat(300);
        let doc = json!({"s": long});
        let m = mapped(&doc);
        assert!(!view_matches(&m, doc.clone(), json!({"exists":{"field":"s.keyword"}})));
        assert!(view_matches(&m, doc, json!({"exists":{"field":"s"}})));
    }

    #[test]
    fn unknown_query_is_a_parsing_exception() {
        let e = Query::parse(&json!({"foo":{}})).unwrap_err();
        assert_eq!((e.kind.as_str(), e.reason.as_str()), ("parsing_exception", "unknown query [foo]"));
        assert_eq!(required_count("75%", 4), 3);
        assert_eq!(required_count("-1", 4), 3);
    }
}
