//! Index mappings: parsing and validating explicit mappings, dynamic mapping of new fields
//! exactly as Elasticsearch's defaults do (strings → `text` + `keyword` sub-field with
//! `ignore_above: 256`, integers → `long`, floats → `float`, date-looking strings → `date`),
//! and rejecting documents whose values conflict with the mapping with the same
//! `document_parsing_exception` Elasticsearch reports. Queries resolve field paths here.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::dates;
use super::error::EsError;

/// Field types Elasticsearch knows; anything else is rejected at mapping time.
const KNOWN_TYPES: &[&str] = &[
    "text",
    "keyword",
    "long",
    "integer",
    "short",
    "byte",
    "double",
    "float",
    "half_float",
    "scaled_float",
    "unsigned_long",
    "boolean",
    "date",
    "date_nanos",
    "object",
    "nested",
    "flattened",
    "binary",
    "ip",
    "geo_point",
    "geo_shape",
    "dense_vector",
    "sparse_vector",
    "rank_feature",
    "rank_features",
    "semantic_text",
    "match_only_text",
    "wildcard",
    "constant_keyword",
    "search_as_you_type",
    "alias",
    "version",
    "histogram",
    "integer_range",
    "long_range",
    "float_range",
    "double_range",
    "date_range",
    "ip_range",
    "completion",
    "token_count",
    "percolator",
    "join",
    "point",
    "shape",
    "passthrough",
    "counted_keyword",
];

/// Mapping parameters accepted on a field (any type).
const KNOWN_PARAMS: &[&str] = &[
    "type",
    "index",
    "store",
    "doc_values",
    "null_value",
    "copy_to",
    "meta",
    "ignore_malformed",
    "coerce",
    "boost",
    "fields",
    "analyzer",
    "search_analyzer",
    "search_quote_analyzer",
    "normalizer",
    "ignore_above",
    "format",
    "locale",
    "scaling_factor",
    "index_options",
    "norms",
    "similarity",
    "term_vector",
    "fielddata",
    "eager_global_ordinals",
    "position_increment_gap",
    "split_queries_on_whitespace",
    "dynamic",
    "enabled",
    "properties",
    "subobjects",
    "time_series_dimension",
    "time_series_metric",
    "script",
    "on_script_error",
    "dims",
    "element_type",
    "index_prefixes",
    "index_phrases",
    "value",
    "path",
    "max_shingle_size",
    "inference_id",
    "search_inference_id",
    "fielddata_frequency_filter",
    "positive_score_impact",
    "depth_limit",
    "include_in_parent",
    "include_in_root",
    "relations",
    "precision_step",
    "ignore_z_value",
    "orientation",
    "strategy",
    "model_settings",
    "chunking_settings",
    "synthetic_source_keep",
    "priority",
    "index_options",
];

/// How unknown fields are handled (`dynamic` mapping parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dynamic {
    /// New fields are mapped (the default).
    #[default]
    True,
    /// New fields are kept in `_source` but not indexed.
    False,
    /// New fields reject the document.
    Strict,
    /// New fields become runtime fields (treated like `false` here: not searchable).
    Runtime,
}

impl Dynamic {
    fn parse(v: &Value, field: &str) -> Result<Dynamic, EsError> {
        match v {
            Value::Bool(true) => Ok(Dynamic::True),
            Value::Bool(false) => Ok(Dynamic::False),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" => Ok(Dynamic::True),
                "false" => Ok(Dynamic::False),
                "strict" => Ok(Dynamic::Strict),
                "runtime" => Ok(Dynamic::Runtime),
                _ => Err(mapper_parsing(format!("Could not convert [{field}.dynamic] to boolean"))),
            },
            _ => Err(mapper_parsing(format!("Could not convert [{field}.dynamic] to boolean"))),
        }
    }

    fn to_json(self) -> Value {
        match self {
            Dynamic::True => json!("true"),
            Dynamic::False => json!("false"),
            Dynamic::Strict => json!("strict"),
            Dynamic::Runtime => json!("runtime"),
        }
    }
}

/// One mapped field (a leaf, or an `object`/`nested` with `properties`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMapping {
    /// The field type (`object` for objects).
    pub ty: String,
    /// Other parameters, kept as given (`ignore_above`, `format`, `analyzer`, …).
    pub params: Map<String, Value>,
    /// Sub-fields of an object.
    pub properties: BTreeMap<String, FieldMapping>,
    /// Multi-fields (`fields`), e.g. `keyword` under a `text` field.
    pub fields: BTreeMap<String, FieldMapping>,
    /// The object's own `dynamic` setting, when given.
    pub dynamic: Option<Dynamic>,
}

impl FieldMapping {
    fn leaf(ty: &str) -> FieldMapping {
        FieldMapping {
            ty: ty.to_string(),
            params: Map::new(),
            properties: BTreeMap::new(),
            fields: BTreeMap::new(),
            dynamic: None,
        }
    }

    /// Whether this is an `object` or `nested` field.
    pub fn is_object(&self) -> bool {
        self.ty == "object" || self.ty == "nested"
    }

    /// `ignore_above` for keyword fields (strings longer than this are not indexed).
    pub fn ignore_above(&self) -> Option<usize> {
        self.params.get("ignore_above").and_then(Value::as_u64).map(|n| n as usize)
    }

    /// The dynamic mapping Elasticsearch creates for a string.
    fn dynamic_text() -> FieldMapping {
        let mut kw = FieldMapping::leaf("keyword");
        kw.params.insert("ignore_above".into(), json!(256));
        let mut t = FieldMapping::leaf("text");
        t.fields.insert("keyword".into(), kw);
        t
    }

    fn parse(name: &str, v: &Value) -> Result<FieldMapping, EsError> {
        let obj = v.as_object().ok_or_else(|| {
            mapper_parsing(format!(
                "Expected map for property [fields] on field [{name}] but got a class java.lang.String"
            ))
        })?;
        let ty = match obj.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(_) => return Err(mapper_parsing(format!("No type specified for field [{name}]"))),
            None => "object".to_string(),
        };
        if !KNOWN_TYPES.contains(&ty.as_str()) {
            return Err(mapper_parsing(format!("No handler for type [{ty}] declared on field [{name}]")));
        }
        let mut f = FieldMapping::leaf(&ty);
        for (k, val) in obj {
            match k.as_str() {
                "type" => {}
                "properties" => {
                    if !f.is_object() {
                        return Err(mapper_parsing(format!(
                            "unknown parameter [properties] on mapper [{name}] of type [{ty}]"
                        )));
                    }
                    let props = val.as_object().ok_or_else(|| {
                        mapper_parsing(format!("Expected map for property [properties] on field [{name}]"))
                    })?;
                    for (pk, pv) in props {
                        insert_dotted(&mut f.properties, pk, FieldMapping::parse(pk, pv)?);
                    }
                }
                "fields" => {
                    let subs = val.as_object().ok_or_else(|| {
                        mapper_parsing(format!("Expected map for property [fields] on field [{name}]"))
                    })?;
                    for (sk, sv) in subs {
                        f.fields.insert(sk.clone(), FieldMapping::parse(sk, sv)?);
                    }
                }
                "dynamic" => f.dynamic = Some(Dynamic::parse(val, name)?),
                other if KNOWN_PARAMS.contains(&other) => {
                    f.params.insert(k.clone(), val.clone());
                }
                other => {
                    return Err(mapper_parsing(format!(
                        "unknown parameter [{other}] on mapper [{name}] of type [{ty}]"
                    )))
                }
            }
        }
        Ok(f)
    }

    /// The field as `GET /_mapping` prints it.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if self.ty != "object" || self.properties.is_empty() {
            m.insert("type".into(), json!(self.ty));
        }
        if let Some(d) = self.dynamic {
            m.insert("dynamic".into(), d.to_json());
        }
        for (k, v) in &self.params {
            m.insert(k.clone(), v.clone());
        }
        if !self.fields.is_empty() {
            let fields: Map<String, Value> =
                self.fields.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
            m.insert("fields".into(), Value::Object(fields));
        }
        if !self.properties.is_empty() {
            let props: Map<String, Value> =
                self.properties.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
            m.insert("properties".into(), Value::Object(props));
        }
        Value::Object(m)
    }

    fn merge(&mut self, path: &str, other: FieldMapping) -> Result<(), EsError> {
        if self.ty != other.ty {
            return Err(EsError::illegal_argument(format!(
                "mapper [{path}] cannot be changed from type [{}] to [{}]",
                self.ty, other.ty
            )));
        }
        for (k, v) in other.params {
            self.params.insert(k, v);
        }
        if other.dynamic.is_some() {
            self.dynamic = other.dynamic;
        }
        for (k, v) in other.fields {
            match self.fields.get_mut(&k) {
                Some(existing) => existing.merge(&format!("{path}.{k}"), v)?,
                None => {
                    self.fields.insert(k, v);
                }
            }
        }
        merge_properties(&mut self.properties, other.properties, path)
    }
}

fn merge_properties(
    into: &mut BTreeMap<String, FieldMapping>,
    from: BTreeMap<String, FieldMapping>,
    prefix: &str,
) -> Result<(), EsError> {
    for (k, v) in from {
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match into.get_mut(&k) {
            Some(existing) => existing.merge(&path, v)?,
            None => {
                into.insert(k, v);
            }
        }
    }
    Ok(())
}

/// Inserts a field whose name may contain dots (`a.b` = object `a` with field `b`).
fn insert_dotted(props: &mut BTreeMap<String, FieldMapping>, name: &str, f: FieldMapping) {
    match name.split_once('.') {
        None => {
            props.insert(name.to_string(), f);
        }
        Some((head, rest)) => {
            let obj = props.entry(head.to_string()).or_insert_with(|| FieldMapping::leaf("object"));
            insert_dotted(&mut obj.properties, rest, f);
        }
    }
}

/// The mapping of one index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapping {
    /// Top-level `dynamic`.
    pub dynamic: Option<Dynamic>,
    /// `_meta`, returned as given.
    pub meta: Option<Value>,
    /// Other top-level sections kept verbatim (`_source`, `dynamic_templates`, …).
    pub extra: Map<String, Value>,
    /// The mapped fields.
    pub properties: BTreeMap<String, FieldMapping>,
}

/// A field path resolved against the mapping.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// The mapping of the field (for `title.keyword`, the `keyword` multi-field).
    pub field: &'a FieldMapping,
    /// Where its values live in `_source` (for `title.keyword`, `title`).
    pub source_path_len: usize,
}

/// A new field found in a document, to be added to the mapping.
type NewField = (Vec<String>, FieldMapping);

impl Mapping {
    /// Parses the `mappings` section of an index creation or `PUT _mapping` body.
    pub fn parse(v: &Value) -> Result<Mapping, EsError> {
        let obj = match v {
            Value::Object(o) => o,
            Value::Null => return Ok(Mapping::default()),
            _ => return Err(mapper_parsing("Failed to parse mapping: mapping must be an object")),
        };
        let mut m = Mapping::default();
        for (k, val) in obj {
            match k.as_str() {
                "properties" => {
                    let props = val.as_object().ok_or_else(|| {
                        mapper_parsing("Failed to parse mapping: Expected map for property [properties]")
                    })?;
                    for (pk, pv) in props {
                        if pk.is_empty() {
                            return Err(wrap_mapping_failure(EsError::illegal_argument(
                                "field name cannot be an empty string",
                            )));
                        }
                        let f = FieldMapping::parse(pk, pv).map_err(wrap_mapping_failure)?;
                        insert_dotted(&mut m.properties, pk, f);
                    }
                }
                "dynamic" => m.dynamic = Some(Dynamic::parse(val, "_doc").map_err(wrap_mapping_failure)?),
                "_meta" => {
                    if !val.is_object() {
                        return Err(wrap_mapping_failure(mapper_parsing("[_meta] must be an object")));
                    }
                    m.meta = Some(val.clone())
                }
                "_source" | "dynamic_templates" | "date_detection" | "numeric_detection"
                | "dynamic_date_formats" | "_routing" | "runtime" | "enabled" | "subobjects" => {
                    m.extra.insert(k.clone(), val.clone());
                }
                "_doc" => return Err(EsError::illegal_argument(
                    "The mapping definition cannot be nested under a type [_doc] unless include_type_name is set to true.",
                )),
                other => {
                    return Err(wrap_mapping_failure(mapper_parsing(format!(
                        "Root mapping definition has unsupported parameters:  [{other} : {val}]"
                    ))))
                }
            }
        }
        Ok(m)
    }

    /// The mapping as `GET /{index}/_mapping` prints it.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(d) = self.dynamic {
            m.insert("dynamic".into(), d.to_json());
        }
        if let Some(meta) = &self.meta {
            m.insert("_meta".into(), meta.clone());
        }
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        if !self.properties.is_empty() {
            let props: Map<String, Value> =
                self.properties.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
            m.insert("properties".into(), Value::Object(props));
        }
        Value::Object(m)
    }

    /// Merges a `PUT _mapping` update; changing a field's type is refused as Elasticsearch does.
    pub fn merge(&mut self, other: Mapping) -> Result<(), EsError> {
        let mut copy = self.properties.clone();
        merge_properties(&mut copy, other.properties, "")?;
        self.properties = copy;
        if other.dynamic.is_some() {
            self.dynamic = other.dynamic;
        }
        if other.meta.is_some() {
            self.meta = other.meta;
        }
        for (k, v) in other.extra {
            self.extra.insert(k, v);
        }
        Ok(())
    }

    /// Resolves `a.b` or `a.b.keyword` to its field mapping.
    pub fn resolve(&self, path: &str) -> Option<Resolved<'_>> {
        let segs: Vec<&str> = path.split('.').collect();
        let mut props = &self.properties;
        let mut i = 0;
        let mut consumed = 0usize;
        while i < segs.len() {
            let f = props.get(segs[i])?;
            consumed += segs[i].len() + usize::from(i > 0);
            i += 1;
            if i == segs.len() {
                return Some(Resolved { field: f, source_path_len: consumed });
            }
            if f.is_object() {
                props = &f.properties;
                continue;
            }
            let rest = segs[i..].join(".");
            return f.fields.get(&rest).map(|sub| Resolved { field: sub, source_path_len: consumed });
        }
        None
    }

    /// Checks a document against the mapping and adds the fields dynamic mapping creates.
    /// Errors are the per-document `document_parsing_exception`s of Elasticsearch.
    pub fn apply_document(&mut self, ctx: &DocContext<'_>, source: &Value) -> Result<(), EsError> {
        let obj = match source {
            Value::Object(o) => o,
            _ => return Err(ctx.parsing_error(1, "failed to parse, document is empty".to_string())),
        };
        let mut new_fields = Vec::new();
        let dynamic = self.dynamic.unwrap_or_default();
        check_object(&self.properties, dynamic, &mut Vec::new(), obj, ctx, &mut new_fields)?;
        for (path, f) in new_fields {
            insert_path(&mut self.properties, &path, f);
        }
        Ok(())
    }
}

fn insert_path(props: &mut BTreeMap<String, FieldMapping>, path: &[String], f: FieldMapping) {
    if path.len() == 1 {
        props.entry(path[0].clone()).or_insert(f);
        return;
    }
    let obj = props.entry(path[0].clone()).or_insert_with(|| FieldMapping::leaf("object"));
    insert_path(&mut obj.properties, &path[1..], f);
}

/// What the mapper needs to word an error like Elasticsearch: the document id, its raw JSON
/// (to report `[line:column]`) and whether the cluster is old enough to say
/// `mapper_parsing_exception`.
pub struct DocContext<'a> {
    /// The document `_id`.
    pub id: &'a str,
    /// The raw source line, for error positions.
    pub raw: &'a str,
    /// True before 8.8, where the error type was `mapper_parsing_exception`.
    pub legacy: bool,
}

impl DocContext<'_> {
    fn kind(&self) -> &'static str {
        if self.legacy {
            "mapper_parsing_exception"
        } else {
            "document_parsing_exception"
        }
    }

    fn parsing_error(&self, col: usize, reason: String) -> EsError {
        EsError::new(400, self.kind(), format!("[1:{col}] {reason}"))
    }

    /// Column (1-based) of the value of the last occurrence-free key `leaf` in the raw JSON.
    fn column_of(&self, leaf: &str) -> usize {
        let needle = format!("\"{leaf}\"");
        match self.raw.find(&needle) {
            Some(pos) => {
                let after = &self.raw[pos + needle.len()..];
                let skip = after
                    .char_indices()
                    .find(|(_, c)| !c.is_whitespace() && *c != ':')
                    .map(|(i, _)| i)
                    .unwrap_or(0);
                self.raw[..pos + needle.len() + skip].chars().count() + 1
            }
            None => 1,
        }
    }
}

fn check_object(
    props: &BTreeMap<String, FieldMapping>,
    dynamic: Dynamic,
    path: &mut Vec<String>,
    obj: &Map<String, Value>,
    ctx: &DocContext<'_>,
    out: &mut Vec<NewField>,
) -> Result<(), EsError> {
    for (key, value) in obj {
        if key.is_empty() || key.trim().is_empty() {
            return Err(
                ctx.parsing_error(ctx.column_of(key), "field name cannot be an empty string".to_string())
            );
        }
        if key.contains('.') {
            let segs: Vec<&str> = key.split('.').collect();
            check_segments(props, dynamic, path, &segs, key, value, ctx, out)?;
        } else {
            check_segments(props, dynamic, path, &[key.as_str()], key, value, ctx, out)?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn check_segments(
    props: &BTreeMap<String, FieldMapping>,
    dynamic: Dynamic,
    path: &mut Vec<String>,
    segs: &[&str],
    key: &str,
    value: &Value,
    ctx: &DocContext<'_>,
    out: &mut Vec<NewField>,
) -> Result<(), EsError> {
    let name = segs[0];
    path.push(name.to_string());
    let result = (|| {
        if segs.len() > 1 {
            // `a.b` in the source: `a` must be (or become) an object.
            return match props.get(name) {
                Some(f) if f.is_object() => {
                    let d = f.dynamic.unwrap_or(dynamic);
                    check_segments(&f.properties, d, path, &segs[1..], key, value, ctx, out)
                }
                Some(f) => Err(ctx.parsing_error(
                    ctx.column_of(key),
                    format!(
                        "Could not dynamically add mapping for field [{}]. Existing mapping for [{}] must be of type object but found [{}].",
                        key,
                        path.join("."),
                        f.ty
                    ),
                )),
                None => new_field(dynamic, path, &nest(&segs[1..], value), key, ctx, out),
            };
        }
        match props.get(name) {
            Some(f) => check_value(f, dynamic, path, key, value, ctx, out),
            None => new_field(dynamic, path, value, key, ctx, out),
        }
    })();
    path.pop();
    result
}

/// `{"b.c": v}` seen under a new field `a` → the value `{"b":{"c":v}}`.
fn nest(segs: &[&str], value: &Value) -> Value {
    let mut v = value.clone();
    for s in segs.iter().rev() {
        let mut m = Map::new();
        m.insert(s.to_string(), v);
        v = Value::Object(m);
    }
    v
}

fn new_field(
    dynamic: Dynamic,
    path: &[String],
    value: &Value,
    key: &str,
    ctx: &DocContext<'_>,
    out: &mut Vec<NewField>,
) -> Result<(), EsError> {
    match dynamic {
        Dynamic::False | Dynamic::Runtime => Ok(()),
        Dynamic::Strict => {
            let parent = if path.len() > 1 { path[..path.len() - 1].join(".") } else { "_doc".to_string() };
            Err(EsError::new(
                400,
                "strict_dynamic_mapping_exception",
                format!(
                    "[1:{}] mapping set to strict, dynamic introduction of [{}] within [{}] is not allowed",
                    ctx.column_of(key),
                    path[path.len() - 1],
                    parent
                ),
            ))
        }
        Dynamic::True => {
            if let Some(existing) = out.iter().find(|(p, _)| p.as_slice() == path) {
                let f = existing.1.clone();
                let mut scratch = Vec::new();
                return check_value(&f, dynamic, &mut path.to_vec(), key, value, ctx, &mut scratch);
            }
            let Some(f) = infer(value) else { return Ok(()) };
            let mut scratch = Vec::new();
            check_value(&f, dynamic, &mut path.to_vec(), key, value, ctx, &mut scratch)?;
            out.push((path.to_vec(), f));
            Ok(())
        }
    }
}

/// The mapping Elasticsearch's dynamic mapping creates for a value (None for null/empty arrays).
fn infer(value: &Value) -> Option<FieldMapping> {
    match value {
        Value::Null => None,
        Value::Bool(_) => Some(FieldMapping::leaf("boolean")),
        Value::Number(n) => Some(FieldMapping::leaf(if n.is_f64() { "float" } else { "long" })),
        Value::String(s) => Some(if dates::looks_like_date(s) {
            FieldMapping::leaf("date")
        } else {
            FieldMapping::dynamic_text()
        }),
        Value::Array(items) => items.iter().find_map(infer),
        Value::Object(o) => {
            let mut f = FieldMapping::leaf("object");
            for (k, v) in o {
                if let Some(sub) = infer(v) {
                    insert_dotted(&mut f.properties, k, sub);
                }
            }
            Some(f)
        }
    }
}

fn check_value(
    f: &FieldMapping,
    dynamic: Dynamic,
    path: &mut Vec<String>,
    key: &str,
    value: &Value,
    ctx: &DocContext<'_>,
    out: &mut Vec<NewField>,
) -> Result<(), EsError> {
    if let Value::Array(items) = value {
        for item in items {
            check_value(f, dynamic, path, key, item, ctx, out)?;
        }
        return Ok(());
    }
    if value.is_null() {
        return Ok(());
    }
    // Error details (full path, column) are computed only when a value is rejected.
    let full = || path.join(".");
    if f.is_object() {
        return match value {
            Value::Object(o) => {
                let d = f.dynamic.unwrap_or(dynamic);
                check_object(&f.properties, d, path, o, ctx, out)
            }
            _ => Err(ctx.parsing_error(
                ctx.column_of(key),
                format!(
                    "object mapping for [{}] tried to parse field [{}] as object, but found a concrete value",
                    full(),
                    path[path.len() - 1]
                ),
            )),
        };
    }
    if f.params.get("ignore_malformed").and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    let col = || ctx.column_of(key);
    let fail = |cause: EsError| {
        ctx.parsing_error(
            col(),
            format!(
                "failed to parse field [{}] of type [{}] in document with id '{}'. Preview of field's value: '{}'",
                full(),
                f.ty,
                ctx.id,
                preview(value)
            ),
        )
        .caused_by(cause)
    };
    if let Value::Object(_) = value {
        if f.ty != "flattened"
            && f.ty != "dense_vector"
            && f.ty != "semantic_text"
            && !f.ty.ends_with("_range")
        {
            return Err(fail(EsError::new(
                500,
                "illegal_state_exception",
                format!("Can't get text on a START_OBJECT at 1:{}", col()),
            )));
        }
        return Ok(());
    }
    match f.ty.as_str() {
        "long" | "integer" | "short" | "byte" | "unsigned_long" => check_integer(&f.ty, value).map_err(fail),
        "double" | "float" | "half_float" | "scaled_float" => check_float(value).map_err(fail),
        "boolean" => match value {
            Value::Bool(_) => Ok(()),
            Value::String(s) if s == "true" || s == "false" || s.is_empty() => Ok(()),
            other => Err(fail(EsError::illegal_argument(format!(
                "Failed to parse value [{}] as only [true] or [false] are allowed.",
                plain(other)
            )))),
        },
        "date" | "date_nanos" => {
            if dates::parse_date_with_format(value, f.params.get("format").and_then(Value::as_str)).is_some()
            {
                Ok(())
            } else {
                let fmt = f
                    .params
                    .get("format")
                    .and_then(Value::as_str)
                    .unwrap_or("strict_date_optional_time||epoch_millis");
                Err(fail(EsError::illegal_argument(format!(
                    "failed to parse date field [{}] with format [{fmt}]",
                    plain(value)
                ))))
            }
        }
        _ => Ok(()),
    }
}

fn check_integer(ty: &str, value: &Value) -> Result<(), EsError> {
    let n: f64 = match value {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| EsError::illegal_argument(format!("For input string: \"{s}\"")))?,
        Value::Bool(b) => {
            return Err(EsError::new(
                400,
                "x_content_parse_exception",
                format!(
                    "Current token ({}) not numeric, can not use numeric value accessors",
                    if *b { "VALUE_TRUE" } else { "VALUE_FALSE" }
                ),
            ))
        }
        _ => return Ok(()),
    };
    let (lo, hi, name) = match ty {
        "integer" => (i32::MIN as f64, i32::MAX as f64, "an integer"),
        "short" => (i16::MIN as f64, i16::MAX as f64, "a short"),
        "byte" => (i8::MIN as f64, i8::MAX as f64, "a byte"),
        "unsigned_long" => (0.0, u64::MAX as f64, "an unsigned long"),
        _ => (i64::MIN as f64, i64::MAX as f64, "a long"),
    };
    if n.trunc() < lo || n.trunc() > hi {
        return Err(EsError::illegal_argument(format!(
            "Value [{}] is out of range for {name}",
            plain(value)
        )));
    }
    Ok(())
}

fn check_float(value: &Value) -> Result<(), EsError> {
    match value {
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map(|_| ())
            .map_err(|_| EsError::illegal_argument(format!("For input string: \"{s}\""))),
        Value::Bool(b) => Err(EsError::new(
            400,
            "x_content_parse_exception",
            format!(
                "Current token ({}) not numeric, can not use numeric value accessors",
                if *b { "VALUE_TRUE" } else { "VALUE_FALSE" }
            ),
        )),
        _ => Ok(()),
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Java's `Map.toString()`-style preview Elasticsearch prints for a field value.
fn preview(v: &Value) -> String {
    match v {
        Value::String(s) => s.chars().take(20).collect(),
        Value::Object(o) => {
            let parts: Vec<String> = o.iter().map(|(k, v)| format!("{k}={}", preview(v))).collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(preview).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

fn mapper_parsing(reason: impl Into<String>) -> EsError {
    EsError::new(400, "mapper_parsing_exception", reason)
}

/// Elasticsearch wraps field-level mapping errors in "Failed to parse mapping: …".
fn wrap_mapping_failure(e: EsError) -> EsError {
    if e.reason.starts_with("Failed to parse mapping") {
        return e;
    }
    let mut outer = mapper_parsing(format!("Failed to parse mapping: {}", e.reason));
    outer.root_cause = Some(Box::new(e.clone()));
    outer.caused_by(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(id: &'a str, raw: &'a str) -> DocContext<'a> {
        DocContext { id, raw, legacy: false }
    }

    #[test]
    fn dynamic_mapping_matches_elasticsearch_defaults() {
        let mut m = Mapping::default();
        let raw = r#"{"title":"Hello","views":3,"score":1.5,"ok":true,"at":"2024-05-01T10:00:00Z","obj":{"a":"b"},"_allow_access_control":["a","b"]}"#;
        let doc: Value = serde_json::from_str(raw).unwrap();
        m.apply_document(&ctx("1", raw), &doc).unwrap();
        assert_eq!(
            m.to_json(),
            json!({"properties":{
                "_allow_access_control":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}},
                "at":{"type":"date"},
                "obj":{"properties":{"a":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}}}},
                "ok":{"type":"boolean"},
                "score":{"type":"float"},
                "title":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}},
                "views":{"type":"long"}
            }})
        );
        let r = m.resolve("_allow_access_control.keyword").unwrap();
        assert_eq!(r.field.ty, "keyword");
        assert_eq!(r.source_path_len, "_allow_access_control".len());
        assert_eq!(m.resolve("obj.a").unwrap().field.ty, "text");
        assert!(m.resolve("missing").is_none());
    }

    #[test]
    fn string_into_long_is_a_document_parsing_exception() {
        let mut m = Mapping::parse(&json!({"properties":{"count":{"type":"long"}}})).unwrap();
        let raw = r#"{"count":"abc"}"#;
        let err = m.apply_document(&ctx("1", raw), &serde_json::from_str(raw).unwrap()).unwrap_err();
        assert_eq!(err.kind, "document_parsing_exception");
        assert_eq!(
            err.reason,
            "[1:10] failed to parse field [count] of type [long] in document with id '1'. Preview of field's value: 'abc'"
        );
        let cause = err.caused_by.unwrap();
        assert_eq!(
            (cause.kind.as_str(), cause.reason.as_str()),
            ("illegal_argument_exception", "For input string: \"abc\"")
        );
    }

    #[test]
    fn object_into_keyword_is_rejected() {
        let mut m = Mapping::parse(&json!({"properties":{"tag":{"type":"keyword"}}})).unwrap();
        let raw = r#"{"tag":{"a":"b"}}"#;
        let err = m.apply_document(&ctx("7", raw), &serde_json::from_str(raw).unwrap()).unwrap_err();
        assert_eq!(err.kind, "document_parsing_exception");
        assert!(err.reason.contains("failed to parse field [tag] of type [keyword] in document with id '7'. Preview of field's value: '{a=b}'"), "{}", err.reason);
        assert_eq!(err.caused_by.unwrap().kind, "illegal_state_exception");
    }

    #[test]
    fn unknown_types_and_type_changes_are_refused() {
        let err = Mapping::parse(&json!({"properties":{"f":{"type":"strng"}}})).unwrap_err();
        assert_eq!(err.reason, "Failed to parse mapping: No handler for type [strng] declared on field [f]");
        let mut m = Mapping::parse(&json!({"properties":{"f":{"type":"long"}}})).unwrap();
        let err = m.merge(Mapping::parse(&json!({"properties":{"f":{"type":"text"}}})).unwrap()).unwrap_err();
        assert_eq!(err.reason, "mapper [f] cannot be changed from type [long] to [text]");
    }

    #[test]
    fn strict_mapping_refuses_new_fields() {
        let mut m =
            Mapping::parse(&json!({"dynamic":"strict","properties":{"a":{"type":"keyword"}}})).unwrap();
        let raw = r#"{"a":"x","b":1}"#;
        let err = m.apply_document(&ctx("1", raw), &serde_json::from_str(raw).unwrap()).unwrap_err();
        assert_eq!(err.kind, "strict_dynamic_mapping_exception");
        assert!(err
            .reason
            .ends_with("mapping set to strict, dynamic introduction of [b] within [_doc] is not allowed"));
    }
}
