//! The whole simulated cluster state: indices (with aliases), ingest pipelines, open points
//! in time and scrolls — and how index expressions (`a,b`, `search-*`, aliases,
//! `expand_wildcards`, `ignore_unavailable`) resolve to concrete indices, which is where
//! Elasticsearch's 404s and empty results come from.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use rand::Rng;
use serde_json::{json, Map, Value};

use super::error::EsError;
use super::mapping::Mapping;
use super::pipeline::{Pipeline, DEFAULT_PIPELINE};
use super::search::{SearchRequest, SortVal};
use super::store::{Index, StoredDoc};

/// Index settings Elasticsearch accepts (after the `index.` prefix); unknown ones are refused.
const KNOWN_SETTINGS: &[&str] = &[
    "number_of_shards",
    "number_of_replicas",
    "auto_expand_replicas",
    "refresh_interval",
    "max_result_window",
    "hidden",
    "default_pipeline",
    "final_pipeline",
    "codec",
    "max_inner_result_window",
    "max_terms_count",
    "max_ngram_diff",
    "max_shingle_diff",
    "priority",
    "number_of_routing_shards",
    "sort.field",
    "sort.order",
    "similarity",
    "query.default_field",
    "highlight.max_analyzed_offset",
    "max_docvalue_fields_search",
    "mode",
    "translog.durability",
    "store.type",
    "shard.check_on_startup",
    "load_fixed_bitset_filters_eagerly",
];
/// Setting prefixes accepted as a whole.
const KNOWN_SETTING_PREFIXES: &[&str] = &[
    "analysis.",
    "mapping.",
    "blocks.",
    "lifecycle.",
    "routing.",
    "routing_path",
    "search.",
    "indexing.",
    "merge.",
    "translog.",
    "similarity.",
    "sort.",
    "store.",
    "query.",
    "unassigned.",
    "write.",
    "version.",
    "verified_before_close",
    "uuid",
    "creation_date",
    "provided_name",
];

/// One index as a point in time froze it: name, mapping, documents with their ordinal.
pub type FrozenIndex = (String, Arc<Mapping>, Arc<Vec<(u64, Arc<StoredDoc>)>>);

/// An open point in time: a frozen view of some indices.
#[derive(Debug)]
pub struct Frozen {
    /// Per index: name, mapping at open time, documents with their ordinal.
    pub indices: Vec<FrozenIndex>,
    /// When it expires unless extended.
    pub expires: Instant,
}

/// One hit kept by a scroll: index, document (shared, not copied), score, sort values.
pub type ScrollHit = (String, Arc<StoredDoc>, f64, Vec<Option<SortVal>>);

/// An open scroll: the ordered hits, rendered page by page as they are fetched.
#[derive(Debug)]
pub struct Scroll {
    /// The search that opened it (for rendering: `_source` filtering, sort values).
    pub request: SearchRequest,
    /// Every hit, in order.
    pub hits: Vec<ScrollHit>,
    /// Index of the next hit to return.
    pub next: usize,
    /// Page size.
    pub size: usize,
    /// Total hits, as reported by every page.
    pub total: usize,
    /// When it expires unless extended.
    pub expires: Instant,
}

/// The cluster state.
#[derive(Debug)]
pub struct Cluster {
    /// Indices by name.
    pub indices: BTreeMap<String, Index>,
    /// Ingest pipelines by id.
    pub pipelines: BTreeMap<String, Pipeline>,
    /// Open points in time by id.
    pub pits: HashMap<String, Frozen>,
    /// Open scrolls by id.
    pub scrolls: HashMap<String, Scroll>,
    /// Stored scripts (search templates) by id: the `script` object.
    pub scripts: BTreeMap<String, Value>,
    /// Composable index templates by name: the `PUT /_index_template/{name}` body.
    pub index_templates: BTreeMap<String, Value>,
    /// Errors worded as before 8.8 (`mapper_parsing_exception`).
    pub legacy_errors: bool,
    /// The version string (`index.version.created` etc.).
    pub version: String,
}

/// Options of index-expression resolution.
#[derive(Debug, Clone, Copy)]
pub struct Resolve {
    /// Missing concrete names are skipped instead of 404.
    pub ignore_unavailable: bool,
    /// Wildcards may match hidden (and dot-prefixed) indices.
    pub expand_hidden: bool,
    /// Wildcards expand at all (`expand_wildcards=none` turns this off).
    pub expand: bool,
    /// An expression that matches nothing is an error.
    pub allow_no_indices: bool,
}

impl Default for Resolve {
    fn default() -> Self {
        Resolve { ignore_unavailable: false, expand_hidden: false, expand: true, allow_no_indices: true }
    }
}

impl Resolve {
    /// From the `expand_wildcards`, `ignore_unavailable` and `allow_no_indices` parameters.
    pub fn from_params(params: &HashMap<String, String>) -> Resolve {
        let mut r = Resolve::default();
        if let Some(ew) = params.get("expand_wildcards") {
            let parts: Vec<&str> = ew.split(',').map(str::trim).collect();
            r.expand_hidden = parts.iter().any(|p| *p == "hidden" || *p == "all");
            r.expand = !parts.iter().all(|p| *p == "none");
        }
        r.ignore_unavailable = params.get("ignore_unavailable").is_some_and(|v| v == "true" || v.is_empty());
        if let Some(a) = params.get("allow_no_indices") {
            r.allow_no_indices = a != "false";
        }
        r
    }
}

/// A random id in the style of Elasticsearch's auto-generated ids (20 URL-safe characters).
pub fn random_id() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::thread_rng();
    (0..20).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

/// Elasticsearch's index name rules.
pub fn validate_index_name(name: &str) -> Result<(), EsError> {
    let invalid = |why: &str| {
        EsError::new(400, "invalid_index_name_exception", format!("Invalid index name [{name}], {why}"))
            .with("index_uuid", "_na_")
            .with("index", name)
    };
    if name.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if name != name.to_lowercase() {
        return Err(invalid("must be lowercase"));
    }
    if name.starts_with(['_', '-', '+']) {
        return Err(invalid("must not start with '_', '-', or '+'"));
    }
    if name.contains(['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':']) {
        return Err(invalid(
            "must not contain the following characters ['\\','/','*','?','\"','<','>','|',' ',',','#',':']",
        ));
    }
    if name == "." || name == ".." {
        return Err(invalid("must not be '.' or '..'"));
    }
    if name.len() > 255 {
        return Err(invalid("index name is too long, (256 > 255)"));
    }
    Ok(())
}

fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(pos) => rest = &rest[pos + p.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Wildcard matching as `_source` filtering and `filter_path` use it.
pub fn glob(pattern: &str, name: &str) -> bool {
    wildcard_match(pattern, name)
}

fn flatten_settings(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(o) => {
            for (k, val) in o {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten_settings(&key, val, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

fn as_setting_string(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.clone()),
        Value::Array(a) => Value::Array(a.iter().map(as_setting_string).collect()),
        other => Value::String(other.to_string()),
    }
}

/// Flat settings (`routing.allocation.x` → value) as Elasticsearch prints them: nested.
pub fn nest_settings(flat: impl IntoIterator<Item = (String, Value)>) -> Value {
    let mut root = Map::new();
    for (k, v) in flat {
        let segs: Vec<&str> = k.split('.').collect();
        let mut cur = &mut root;
        for (i, s) in segs.iter().enumerate() {
            if i == segs.len() - 1 {
                cur.insert(s.to_string(), v.clone());
            } else {
                let next = cur.entry(s.to_string()).or_insert_with(|| Value::Object(Map::new()));
                if !next.is_object() {
                    *next = Value::Object(Map::new());
                }
                match next {
                    Value::Object(m) => cur = m,
                    _ => break,
                }
            }
        }
    }
    Value::Object(root)
}

/// Validates and flattens a `settings` object into `key → string` (without `index.`).
pub fn parse_settings(v: Option<&Value>) -> Result<Map<String, Value>, EsError> {
    let mut flat = BTreeMap::new();
    if let Some(v) = v {
        if !v.is_object() && !v.is_null() {
            return Err(EsError::new(400, "settings_exception", "Failed to load settings from [settings]"));
        }
        flatten_settings("", v, &mut flat);
    }
    let mut out = Map::new();
    for (k, v) in flat {
        let key = k.strip_prefix("index.").unwrap_or(&k).to_string();
        let known = KNOWN_SETTINGS.contains(&key.as_str())
            || KNOWN_SETTING_PREFIXES.iter().any(|p| key.starts_with(p));
        if !known {
            return Err(EsError::illegal_argument(format!(
                "unknown setting [index.{key}] please check that any required plugins are installed, or check the breaking changes documentation for removed settings"
            )));
        }
        if key == "number_of_shards" || key == "number_of_replicas" {
            let n = v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()));
            match n {
                Some(n) if key == "number_of_shards" && n == 0 => {
                    return Err(EsError::illegal_argument(
                        "Failed to parse value [0] for setting [index.number_of_shards] must be >= 1",
                    ))
                }
                Some(_) => {}
                None => {
                    return Err(EsError::illegal_argument(format!(
                        "Failed to parse value [{}] for setting [index.{key}]",
                        v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
                    )))
                }
            }
        }
        out.insert(key, as_setting_string(&v));
    }
    Ok(out)
}

impl Cluster {
    /// A fresh cluster with the pipelines Elasticsearch installs itself.
    pub fn new(version: &str) -> Cluster {
        let mut pipelines = BTreeMap::new();
        let default = Pipeline::search_default_ingestion();
        pipelines.insert("ent-search-generic-ingestion".to_string(), default.clone());
        pipelines.insert(DEFAULT_PIPELINE.to_string(), default);
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(9), parts.next().unwrap_or(0));
        Cluster {
            indices: BTreeMap::new(),
            pipelines,
            pits: HashMap::new(),
            scrolls: HashMap::new(),
            scripts: BTreeMap::new(),
            index_templates: BTreeMap::new(),
            legacy_errors: major < 8 || (major == 8 && minor < 8),
            version: version.to_string(),
        }
    }

    /// Creates an index from a `PUT /{index}` body (`settings`, `mappings`, `aliases`).
    pub fn create_index(&mut self, name: &str, body: &Value) -> Result<(), EsError> {
        validate_index_name(name)?;
        if let Some(existing) = self.indices.get(name) {
            return Err(EsError::new(
                400,
                "resource_already_exists_exception",
                format!("index [{}/{}] already exists", name, existing.uuid),
            )
            .with("index_uuid", existing.uuid.clone())
            .with("index", name));
        }
        if self.alias_targets(name).is_some() {
            return Err(EsError::new(
                400,
                "invalid_index_name_exception",
                format!("Invalid index name [{name}], already exists as alias"),
            )
            .with("index_uuid", "_na_")
            .with("index", name));
        }
        let obj = match body {
            Value::Null => Map::new(),
            Value::Object(o) => o.clone(),
            _ => return Err(EsError::new(400, "parse_exception", "request body must be an object")),
        };
        for k in obj.keys() {
            if !["settings", "mappings", "aliases"].contains(&k.as_str()) {
                return Err(EsError::new(
                    400,
                    "parse_exception",
                    format!("unknown key [{k}] for create index"),
                ));
            }
        }
        let mut settings = parse_settings(obj.get("settings"))?;
        let mut mapping = Mapping::parse(obj.get("mappings").unwrap_or(&Value::Null))?;
        let template =
            builtin_template(name).map(Ok).or_else(|| self.user_template(name).transpose()).transpose()?;
        if let Some((template_settings, template_mapping)) = template {
            // Composable-template semantics: the request's settings and mappings win.
            let mut merged_settings = template_settings;
            for (k, v) in settings {
                merged_settings.insert(k, v);
            }
            settings = merged_settings;
            let mut merged = template_mapping;
            merged.merge(mapping)?;
            mapping = merged;
        }
        let mut aliases = BTreeMap::new();
        if let Some(alias) = super::connector::mappings::template_alias(name) {
            if self.indices.contains_key(alias) {
                return Err(EsError::new(400, "invalid_alias_name_exception", format!("Invalid alias name [{alias}]: an index or data stream exists with the same name as the alias")));
            }
            aliases.insert(alias.to_string(), json!({}));
        }
        if let Some(a) = obj.get("aliases") {
            let a = a
                .as_object()
                .ok_or_else(|| EsError::new(400, "parse_exception", "aliases must be an object"))?;
            for (alias, def) in a {
                validate_index_name(alias)?;
                if self.indices.contains_key(alias) {
                    return Err(EsError::new(400, "invalid_alias_name_exception", format!("Invalid alias name [{alias}]: an index or data stream exists with the same name as the alias")));
                }
                aliases.insert(alias.clone(), def.clone());
            }
        }
        let mut index = Index::new(name, random_id(), mapping, settings);
        index.aliases = aliases;
        self.indices.insert(name.to_string(), index);
        Ok(())
    }

    /// The settings and mappings of the user's index template of highest priority whose
    /// `index_patterns` match `index`, if any.
    pub fn user_template(&self, index: &str) -> Result<Option<TemplateParts>, EsError> {
        let matching = self.index_templates.values().filter(|t| {
            let patterns = match &t["index_patterns"] {
                Value::String(p) => vec![p.as_str()],
                Value::Array(ps) => ps.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            patterns.iter().any(|p| glob(p, index))
        });
        let Some(best) = matching.max_by_key(|t| t["priority"].as_i64().unwrap_or(0)) else {
            return Ok(None);
        };
        let settings = parse_settings(best["template"].get("settings"))?;
        let mapping = Mapping::parse(best["template"].get("mappings").unwrap_or(&Value::Null))?;
        Ok(Some((settings, mapping)))
    }

    /// Indices an alias points at (None when no index has that alias).
    pub fn alias_targets(&self, alias: &str) -> Option<Vec<String>> {
        let v: Vec<String> =
            self.indices.values().filter(|i| i.aliases.contains_key(alias)).map(|i| i.name.clone()).collect();
        (!v.is_empty()).then_some(v)
    }

    /// The index a write to `name` goes to: the index itself, or an alias's write index.
    /// `Ok(None)` means nothing exists with that name (auto-create applies).
    pub fn write_index(&self, name: &str) -> Result<Option<String>, EsError> {
        if self.indices.contains_key(name) {
            return Ok(Some(name.to_string()));
        }
        match self.alias_targets(name) {
            None => Ok(None),
            Some(targets) if targets.len() == 1 => Ok(Some(targets[0].clone())),
            Some(targets) => {
                let writers: Vec<&String> = targets
                    .iter()
                    .filter(|t| {
                        self.indices[*t].aliases[name].get("is_write_index").and_then(Value::as_bool)
                            == Some(true)
                    })
                    .collect();
                match writers.as_slice() {
                    [one] => Ok(Some((*one).clone())),
                    _ => Err(EsError::illegal_argument(format!("no write index is defined for alias [{name}]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index"))),
                }
            }
        }
    }

    fn is_hidden(&self, index: &Index) -> bool {
        index.settings.get("hidden").and_then(Value::as_str) == Some("true")
    }

    /// Resolves an index expression to concrete index names (sorted, deduplicated).
    pub fn resolve(&self, expr: &str, opts: Resolve) -> Result<Vec<String>, EsError> {
        let mut out: Vec<String> = Vec::new();
        let mut any_wildcard = false;
        for part in expr.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some(excl) = part.strip_prefix('-') {
                if !out.is_empty() {
                    out.retain(|n| !wildcard_match(excl, n));
                    continue;
                }
            }
            if part == "_all" || part.contains('*') {
                any_wildcard = true;
                if !opts.expand {
                    continue;
                }
                let pattern = if part == "_all" { "*" } else { part };
                for (name, idx) in &self.indices {
                    let hidden = self.is_hidden(idx) || (name.starts_with('.') && !pattern.starts_with('.'));
                    if hidden && !opts.expand_hidden {
                        continue;
                    }
                    if wildcard_match(pattern, name)
                        || idx.aliases.keys().any(|a| {
                            wildcard_match(pattern, a)
                                && !(a.starts_with('.') && !pattern.starts_with('.') && !opts.expand_hidden)
                        })
                    {
                        out.push(name.clone());
                    }
                }
                continue;
            }
            if self.indices.contains_key(part) {
                out.push(part.to_string());
            } else if let Some(t) = self.alias_targets(part) {
                out.extend(t);
            } else if !opts.ignore_unavailable {
                return Err(EsError::index_not_found(part));
            }
        }
        out.sort();
        out.dedup();
        if out.is_empty() && any_wildcard && !opts.allow_no_indices {
            return Err(EsError::index_not_found(expr));
        }
        Ok(out)
    }

    /// `GET /{index}` body for one index.
    pub fn index_json(&self, index: &Index) -> Value {
        json!({
            "aliases": Value::Object(index.aliases.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            "mappings": index.mapping.to_json(),
            "settings": {"index": self.settings_json(index)},
        })
    }

    /// `settings.index` as Elasticsearch prints it (nested, string values).
    pub fn settings_json(&self, index: &Index) -> Value {
        let mut flat: BTreeMap<String, Value> = BTreeMap::new();
        flat.insert("routing.allocation.include._tier_preference".into(), json!("data_content"));
        flat.insert("number_of_shards".into(), json!("1"));
        flat.insert("number_of_replicas".into(), json!("1"));
        for (k, v) in &index.settings {
            flat.insert(k.clone(), v.clone());
        }
        flat.insert("provided_name".into(), json!(index.name));
        flat.insert("creation_date".into(), json!(index.creation_date.to_string()));
        flat.insert("uuid".into(), json!(index.uuid));
        flat.insert("version.created".into(), json!(version_id(&self.version)));
        nest_settings(flat)
    }

    /// Drops expired points in time and scrolls.
    pub fn expire(&mut self) {
        let now = Instant::now();
        self.pits.retain(|_, p| p.expires > now);
        self.scrolls.retain(|_, s| s.expires > now);
    }
}

/// Index pattern of Elasticsearch's built-in `search-acl-filter` index template.
pub const ACL_INDEX_PATTERN: &str = ".search-acl-filter-*";

/// What an index template gives a new index: its settings and its mapping.
pub type TemplateParts = (Map<String, Value>, Mapping);

/// The settings and mappings of the index templates Elasticsearch installs itself
/// (`ConnectorTemplateRegistry`): access-control indices are hidden and map only
/// `created_at` (`dynamic: false`); the connector and sync-job indices get theirs from
/// [`connector::mappings`](super::connector::mappings).
pub fn builtin_template(index: &str) -> Option<TemplateParts> {
    if let Some(parts) = super::connector::mappings::template(index) {
        return Some(parts);
    }
    if !wildcard_match(ACL_INDEX_PATTERN, index) {
        return None;
    }
    let settings = parse_settings(Some(
        &json!({"index": {"hidden": true, "number_of_shards": 1, "number_of_replicas": 1}}),
    ))
    .ok()?;
    let mapping =
        Mapping::parse(&json!({"dynamic": "false", "properties": {"created_at": {"type": "date"}}})).ok()?;
    Some((settings, mapping))
}

/// Elasticsearch's numeric version id (`8150099` for 8.15.0).
pub fn version_id(version: &str) -> String {
    let p: Vec<u32> = version.split('.').map(|s| s.parse().unwrap_or(0)).collect();
    let g = |i: usize| p.get(i).copied().unwrap_or(0);
    format!("{}", g(0) * 1_000_000 + g(1) * 10_000 + g(2) * 100 + 99)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_control_indices_get_the_builtin_template() {
        let mut c = Cluster::new("9.1.0");
        c.create_index(".search-acl-filter-search-x", &Value::Null).unwrap();
        let idx = &c.indices[".search-acl-filter-search-x"];
        assert_eq!(
            idx.mapping.to_json(),
            json!({"dynamic": "false", "properties": {"created_at": {"type": "date"}}})
        );
        assert_eq!(idx.settings.get("hidden"), Some(&json!("true")));
        assert!(c.resolve("*", Resolve::default()).unwrap().is_empty());
        c.create_index("search-x", &Value::Null).unwrap();
        assert_eq!(c.indices["search-x"].mapping.to_json(), json!({}));
    }

    #[test]
    fn index_names_follow_elasticsearch_rules() {
        assert_eq!(
            validate_index_name("Foo").unwrap_err().reason,
            "Invalid index name [Foo], must be lowercase"
        );
        assert_eq!(
            validate_index_name("_x").unwrap_err().reason,
            "Invalid index name [_x], must not start with '_', '-', or '+'"
        );
        assert!(validate_index_name(".elastic-connectors-v1").is_ok());
    }

    #[test]
    fn resolution_of_aliases_wildcards_and_hidden() {
        let mut c = Cluster::new("9.1.0");
        c.create_index("search-a", &json!({"aliases":{"search-all":{}}})).unwrap();
        c.create_index("search-b", &json!({"aliases":{"search-all":{}}})).unwrap();
        c.create_index(".hidden-x", &Value::Null).unwrap();
        assert_eq!(c.resolve("search-*", Resolve::default()).unwrap(), vec!["search-a", "search-b"]);
        assert_eq!(c.resolve("search-all", Resolve::default()).unwrap(), vec!["search-a", "search-b"]);
        assert_eq!(c.resolve("*", Resolve::default()).unwrap(), vec!["search-a", "search-b"]);
        let hidden = Resolve { expand_hidden: true, ..Resolve::default() };
        assert_eq!(c.resolve("*", hidden).unwrap().len(), 3);
        assert_eq!(c.resolve("nope", Resolve::default()).unwrap_err().kind, "index_not_found_exception");
        let lenient = Resolve { ignore_unavailable: true, ..Resolve::default() };
        assert!(c.resolve("nope", lenient).unwrap().is_empty());
        assert!(c.write_index("search-all").is_err());
        let err = c.create_index("search-a", &Value::Null).unwrap_err();
        assert_eq!(err.kind, "resource_already_exists_exception");
        let err = c.create_index("x", &json!({"settings":{"index":{"frobs":1}}})).unwrap_err();
        assert!(err.reason.starts_with("unknown setting [index.frobs]"));
    }
}
