//! The REST routing table: which path pattern a request hits (`/{index}/_doc/{id}`), the
//! methods each pattern allows (405 otherwise, 400 for unknown paths — Elasticsearch's own
//! wording), the URL parameters each endpoint accepts (others are refused as
//! "unrecognized parameter", as Elasticsearch does), whether the sender's role may call it
//! ([`privileges`]), and `filter_path`. `_connector` paths have their own table
//! ([`connector::routes`]).

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::http::Method;
use serde_json::{Map, Value};

use super::auth::Principal;
use super::cluster::glob;
use super::error::EsError;
use super::server::Shared;
use super::{api_cluster, api_docs, api_indices, api_search, connector, has_privileges, privileges};

/// A request as the endpoints see it.
#[derive(Debug, Clone)]
pub struct Request {
    /// HTTP method.
    pub method: Method,
    /// Path.
    pub path: String,
    /// Percent-decoded path segments.
    pub segments: Vec<String>,
    /// URL parameters.
    pub params: HashMap<String, String>,
    /// Raw body.
    pub body: Bytes,
    /// Who sent it.
    pub who: Principal,
    /// When it arrived (for `took`).
    pub started: Instant,
}

impl Request {
    /// The body as JSON (None when empty).
    pub fn json(&self) -> Result<Option<Value>, EsError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&self.body).map(Some).map_err(|e| EsError::json_parse(&e))
    }

    /// The body as JSON, required.
    pub fn json_required(&self) -> Result<Value, EsError> {
        self.json()?.ok_or_else(|| EsError::new(400, "parse_exception", "request body is required"))
    }

    /// Segment `i`.
    pub fn seg(&self, i: usize) -> &str {
        self.segments.get(i).map(String::as_str).unwrap_or("")
    }

    /// A boolean URL parameter (`?x`, `?x=true`).
    pub fn flag(&self, key: &str) -> bool {
        self.params.get(key).is_some_and(|v| v.is_empty() || v == "true")
    }

    /// Milliseconds since the request arrived.
    pub fn took(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

/// An endpoint's answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl Reply {
    /// 200 with a body.
    pub fn ok(body: Value) -> Reply {
        Reply { status: 200, body }
    }

    /// Any status with a body.
    pub fn with(status: u16, body: Value) -> Reply {
        Reply { status, body }
    }
}

/// Splits and percent-decodes a path. Empty segments are dropped, except inside `_connector`
/// paths, where Elasticsearch routes `/_connector//_error` to the endpoint with an empty id
/// (and refuses it there) rather than to another endpoint.
pub fn segments(path: &str) -> Vec<String> {
    let keep_empty = path.starts_with("/_connector/");
    let trimmed = path.trim_start_matches('/').trim_end_matches('/');
    trimmed
        .split('/')
        .filter(|s| keep_empty || !s.is_empty())
        .map(|s| {
            url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| s.to_string())
        })
        .collect()
}

/// Parses a query string.
pub fn parse_query(q: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// The route pattern of a path, if any endpoint serves it.
pub fn pattern(segs: &[String]) -> Option<&'static str> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    if s.first() == Some(&"_connector") {
        return connector::routes::pattern(&s);
    }
    Some(match s.as_slice() {
        [] => "/",
        ["_bulk"] => "/_bulk",
        ["_search"] => "/_search",
        ["_count"] => "/_count",
        ["_refresh"] => "/_refresh",
        ["_pit"] => "/_pit",
        ["_aliases"] => "/_aliases",
        ["_alias"] => "/_alias",
        ["_alias", _] => "/_alias/{name}",
        ["_mapping" | "_mappings"] => "/_mapping",
        ["_license"] => "/_license",
        ["_cluster", "health"] => "/_cluster/health",
        ["_cluster", "health", _] => "/_cluster/health/{index}",
        ["_security", "_authenticate"] => "/_security/_authenticate",
        ["_security", "user", "_has_privileges"] => "/_security/user/_has_privileges",
        ["_security", "user", _, "_has_privileges"] => "/_security/user/{user}/_has_privileges",
        ["_ingest", "pipeline"] => "/_ingest/pipeline",
        ["_ingest", "pipeline", _] => "/_ingest/pipeline/{id}",
        ["_index_template"] => "/_index_template",
        ["_index_template", _] => "/_index_template/{name}",
        ["_search", "scroll"] => "/_search/scroll",
        ["_search", "scroll", _] => "/_search/scroll/{scroll_id}",
        ["_search", "template"] => "/_search/template",
        ["_render", "template"] => "/_render/template",
        ["_scripts", _] => "/_scripts/{id}",
        [_, "_bulk"] => "/{index}/_bulk",
        [_, "_search"] => "/{index}/_search",
        [_, "_search", "template"] => "/{index}/_search/template",
        [_, "_count"] => "/{index}/_count",
        [_, "_refresh"] => "/{index}/_refresh",
        [_, "_pit"] => "/{index}/_pit",
        [_, "_delete_by_query"] => "/{index}/_delete_by_query",
        // `_mappings` is the older spelling Elasticsearch still routes.
        [_, "_mapping" | "_mappings"] => "/{index}/_mapping",
        [_, "_settings"] => "/{index}/_settings",
        [_, "_alias"] => "/{index}/_alias",
        [_, "_alias", _] | [_, "_aliases", _] => "/{index}/_alias/{name}",
        [_, "_doc"] => "/{index}/_doc",
        [_, "_doc", _] => "/{index}/_doc/{id}",
        [_, "_create", _] => "/{index}/_create/{id}",
        [_, "_update", _] => "/{index}/_update/{id}",
        [_, "_source", _] => "/{index}/_source/{id}",
        [i] if !i.starts_with('_') => "/{index}",
        _ => return None,
    })
}

fn allowed(pattern: &str) -> &'static [&'static str] {
    match pattern {
        p if p.starts_with("/_connector") => connector::routes::allowed(p),
        "/" => &["GET", "HEAD"],
        "/_bulk" | "/{index}/_bulk" => &["POST", "PUT"],
        "/_search"
        | "/{index}/_search"
        | "/_count"
        | "/{index}/_count"
        | "/_search/template"
        | "/{index}/_search/template"
        | "/_render/template" => &["GET", "POST"],
        "/_refresh" | "/{index}/_refresh" => &["GET", "POST"],
        "/_security/user/_has_privileges" | "/_security/user/{user}/_has_privileges" => &["GET", "POST"],
        "/_pit" => &["DELETE"],
        "/{index}/_pit" | "/_aliases" | "/{index}/_delete_by_query" => &["POST"],
        "/_alias"
        | "/{index}/_alias"
        | "/_mapping"
        | "/_license"
        | "/_cluster/health"
        | "/_cluster/health/{index}"
        | "/_security/_authenticate"
        | "/_ingest/pipeline"
        | "/_index_template"
        | "/{index}/_settings" => &["GET"],
        "/_alias/{name}" => &["GET", "HEAD"],
        "/_ingest/pipeline/{id}" | "/_scripts/{id}" => &["GET", "PUT", "DELETE"],
        "/_index_template/{name}" => &["GET", "PUT", "POST", "DELETE", "HEAD"],
        "/_search/scroll" | "/_search/scroll/{scroll_id}" => &["GET", "POST", "DELETE"],
        "/{index}/_mapping" => &["GET", "PUT", "POST"],
        "/{index}/_alias/{name}" => &["PUT", "POST", "DELETE", "GET", "HEAD"],
        "/{index}/_doc" => &["POST"],
        "/{index}/_doc/{id}" => &["GET", "HEAD", "PUT", "POST", "DELETE"],
        "/{index}/_create/{id}" => &["PUT", "POST"],
        "/{index}/_update/{id}" => &["POST"],
        "/{index}/_source/{id}" => &["GET", "HEAD"],
        "/{index}" => &["GET", "HEAD", "PUT", "DELETE"],
        _ => &[],
    }
}

/// Whether the endpoint reads no body, so that Elasticsearch answers one (even `{}` or a
/// blank line) with 400 `illegal_argument_exception` (`_refresh`, reads, deletes).
fn refuses_body(pattern: &str, method: &str) -> bool {
    match pattern {
        "/"
        | "/_refresh"
        | "/{index}/_refresh"
        | "/_cluster/health"
        | "/_cluster/health/{index}"
        | "/_license"
        | "/_alias"
        | "/_alias/{name}"
        | "/{index}/_alias"
        | "/_mapping"
        | "/{index}/_settings"
        | "/_index_template"
        | "/_ingest/pipeline"
        | "/{index}/_source/{id}" => true,
        "/{index}"
        | "/{index}/_doc/{id}"
        | "/{index}/_mapping"
        | "/{index}/_alias/{name}"
        | "/_ingest/pipeline/{id}"
        | "/_scripts/{id}"
        | "/_index_template/{name}" => matches!(method, "GET" | "HEAD" | "DELETE"),
        _ => false,
    }
}

/// Parameters every endpoint accepts.
const COMMON: &[&str] =
    &["pretty", "human", "error_trace", "filter_path", "format", "source", "source_content_type"];
const SEARCH: &[&str] = &[
    "size",
    "from",
    "sort",
    "_source",
    "_source_includes",
    "_source_excludes",
    "track_total_hits",
    "seq_no_primary_term",
    "version",
    "scroll",
    "rest_total_hits_as_int",
    "expand_wildcards",
    "ignore_unavailable",
    "allow_no_indices",
    "typed_keys",
    "search_type",
    "preference",
    "routing",
    "request_cache",
    "timeout",
    "allow_partial_search_results",
    "batched_reduce_size",
    "ccs_minimize_roundtrips",
    "max_concurrent_shard_requests",
    "pre_filter_shard_size",
    "track_scores",
    "q",
    "analyzer",
    "default_operator",
    "df",
    "lenient",
    "stored_fields",
    "docvalue_fields",
    "terminate_after",
    "stats",
    "suggest_field",
    "explain",
    "ignore_throttled",
    "include_named_queries_score",
    "analyze_wildcard",
    "suggest_mode",
    "suggest_size",
    "suggest_text",
];
/// `_update` (and the shape the others are cut from).
const WRITE: &[&str] = &[
    "refresh",
    "pipeline",
    "routing",
    "timeout",
    "wait_for_active_shards",
    "require_alias",
    "require_data_stream",
    "if_seq_no",
    "if_primary_term",
    "op_type",
    "version",
    "version_type",
    "_source",
    "_source_includes",
    "_source_excludes",
    "retry_on_conflict",
    "list_executed_pipelines",
    "include_source_on_error",
    "lang",
];
const BULK: &[&str] = &[
    "wait_for_active_shards",
    "refresh",
    "routing",
    "timeout",
    "_source",
    "_source_excludes",
    "_source_includes",
    "pipeline",
    "require_alias",
    "require_data_stream",
    "list_executed_pipelines",
    "include_source_on_error",
];
const INDEX_DOC: &[&str] = &[
    "wait_for_active_shards",
    "op_type",
    "refresh",
    "routing",
    "timeout",
    "version",
    "version_type",
    "if_seq_no",
    "if_primary_term",
    "pipeline",
    "require_alias",
    "require_data_stream",
    "include_source_on_error",
];
const CREATE_DOC: &[&str] = &[
    "wait_for_active_shards",
    "refresh",
    "routing",
    "timeout",
    "version",
    "version_type",
    "pipeline",
    "include_source_on_error",
    "require_alias",
    "require_data_stream",
];
const DELETE_DOC: &[&str] = &[
    "wait_for_active_shards",
    "refresh",
    "routing",
    "timeout",
    "if_seq_no",
    "if_primary_term",
    "version",
    "version_type",
];
const GET_DOC: &[&str] = &[
    "_source",
    "_source_includes",
    "_source_excludes",
    "realtime",
    "refresh",
    "routing",
    "stored_fields",
    "version",
    "version_type",
    "preference",
];
const COUNT: &[&str] = &[
    "ignore_unavailable",
    "ignore_throttled",
    "allow_no_indices",
    "expand_wildcards",
    "min_score",
    "preference",
    "routing",
    "q",
    "analyzer",
    "analyze_wildcard",
    "default_operator",
    "df",
    "lenient",
    "terminate_after",
];
/// Which indices a request names: `ignore_unavailable` and its kin.
const INDICES: &[&str] = &["ignore_unavailable", "allow_no_indices", "expand_wildcards"];
const INDEX_OPTS: &[&str] = &[
    "expand_wildcards",
    "ignore_unavailable",
    "allow_no_indices",
    "master_timeout",
    "timeout",
    "wait_for_active_shards",
    "local",
    "include_defaults",
    "flat_settings",
    "features",
];
const DBQ: &[&str] = &[
    "refresh",
    "conflicts",
    "wait_for_completion",
    "slices",
    "scroll_size",
    "requests_per_second",
    "max_docs",
    "scroll",
    "expand_wildcards",
    "ignore_unavailable",
    "allow_no_indices",
    "timeout",
    "routing",
    "q",
    "preference",
    "search_timeout",
    "wait_for_active_shards",
    "analyzer",
    "df",
    "lenient",
    "analyze_wildcard",
    "default_operator",
    "from",
    "request_cache",
    "search_type",
    "sort",
    "stats",
    "terminate_after",
    "version",
];

/// The URL parameters an endpoint takes (beyond [`COMMON`]): per method, as Elasticsearch's
/// REST spec lists them, so that `realtime` on a DELETE is refused as Elasticsearch refuses it.
fn accepted(pattern: &str, method: &str) -> Vec<&'static str> {
    let mut v = COMMON.to_vec();
    let extra: &[&[&str]] = match (pattern, method) {
        ("/_bulk" | "/{index}/_bulk", _) => &[BULK],
        ("/_search" | "/{index}/_search" | "/_search/template" | "/{index}/_search/template", _) => &[SEARCH],
        ("/_count" | "/{index}/_count", _) => &[COUNT],
        ("/{index}/_pit", _) => &[&[
            "keep_alive",
            "expand_wildcards",
            "ignore_unavailable",
            "preference",
            "routing",
            "allow_partial_search_results",
            "max_concurrent_shard_requests",
        ]],
        ("/_search/scroll" | "/_search/scroll/{scroll_id}", "DELETE") => &[],
        ("/_search/scroll" | "/_search/scroll/{scroll_id}", _) => {
            &[&["scroll", "scroll_id", "rest_total_hits_as_int"]]
        }
        ("/{index}/_delete_by_query", _) => &[DBQ],
        ("/{index}/_doc" | "/{index}/_doc/{id}", "PUT" | "POST") => &[INDEX_DOC],
        ("/{index}/_doc/{id}", "DELETE") => &[DELETE_DOC],
        ("/{index}/_doc/{id}" | "/{index}/_source/{id}", _) => &[GET_DOC],
        ("/{index}/_create/{id}", _) => &[CREATE_DOC],
        ("/{index}/_update/{id}", _) => &[WRITE],
        ("/{index}", "PUT") => &[&["wait_for_active_shards", "timeout", "master_timeout"]],
        ("/{index}", "DELETE") => &[INDICES, &["timeout", "master_timeout"]],
        ("/{index}", "HEAD") => &[INDICES, &["local", "flat_settings", "include_defaults"]],
        ("/{index}/_mapping", "PUT" | "POST") => {
            &[INDICES, &["timeout", "master_timeout", "write_index_only"]]
        }
        ("/{index}/_mapping" | "/_mapping", _) => &[INDICES, &["master_timeout", "local"]],
        ("/_refresh" | "/{index}/_refresh", _) => &[INDICES],
        (
            "/{index}"
            | "/{index}/_settings"
            | "/{index}/_alias"
            | "/_alias"
            | "/_alias/{name}"
            | "/{index}/_alias/{name}"
            | "/_aliases",
            _,
        ) => &[INDEX_OPTS, &["write_index_only"]],
        ("/_cluster/health" | "/_cluster/health/{index}", _) => &[&[
            "wait_for_status",
            "timeout",
            "level",
            "local",
            "master_timeout",
            "wait_for_nodes",
            "wait_for_events",
            "wait_for_no_relocating_shards",
            "wait_for_no_initializing_shards",
            "wait_for_active_shards",
            "expand_wildcards",
        ]],
        ("/_index_template/{name}", "PUT" | "POST") => &[&["master_timeout", "create", "cause"]],
        ("/_index_template/{name}", "DELETE") => &[&["master_timeout", "timeout"]],
        ("/_index_template/{name}", "HEAD") => &[&["master_timeout", "local", "flat_settings"]],
        ("/_index_template/{name}" | "/_index_template", _) => {
            &[&["master_timeout", "local", "flat_settings", "include_defaults"]]
        }
        ("/_ingest/pipeline/{id}", "PUT") => &[&["if_version", "master_timeout", "timeout"]],
        ("/_ingest/pipeline/{id}", "DELETE") => &[&["master_timeout", "timeout"]],
        ("/_ingest/pipeline/{id}" | "/_ingest/pipeline", _) => &[&["summary", "master_timeout"]],
        ("/_scripts/{id}", _) => &[&["master_timeout", "timeout", "context"]],
        ("/_license", _) => &[&["local", "accept_enterprise"]],
        (p, m) if p.starts_with("/_connector") => &[connector::routes::params(p, m)],
        _ => &[],
    };
    for e in extra {
        v.extend_from_slice(e);
    }
    v
}

/// Runs the endpoint for a request.
pub fn handle(shared: &Shared, pattern: Option<&'static str>, req: &Request) -> Result<Reply, EsError> {
    let method = req.method.as_str();
    let Some(pattern) = pattern else {
        return Err(EsError::simple(
            400,
            format!("no handler found for uri [{}] and method [{}]", req.path, method),
        ));
    };
    let methods = allowed(pattern);
    if !methods.contains(&method) {
        return Err(EsError::simple(
            405,
            format!(
                "Incorrect HTTP method for uri [{}] and method [{}], allowed: [{}]",
                req.path,
                method,
                methods.join(", ")
            ),
        ));
    }
    let ok = accepted(pattern, method);
    let mut unknown: Vec<&String> = req.params.keys().filter(|k| !ok.contains(&k.as_str())).collect();
    if !unknown.is_empty() {
        unknown.sort();
        let list: Vec<String> = unknown.iter().map(|k| format!("[{k}]")).collect();
        let noun = if unknown.len() == 1 { "parameter" } else { "parameters" };
        return Err(EsError::illegal_argument(format!(
            "request [{}] contains unrecognized {noun}: {}",
            req.path,
            list.join(", ")
        )));
    }
    // After the parameters, as Elasticsearch's `BaseRestHandler` checks: any byte counts.
    if !req.body.is_empty() && refuses_body(pattern, method) {
        return Err(EsError::illegal_argument(format!(
            "request [{method} {}] does not support having a body",
            req.path
        )));
    }
    // Authorization is the action's, after the REST layer read the request.
    privileges::authorize(&shared.config, &req.who, pattern, method)?;
    match (pattern, method) {
        (p, _) if p.starts_with("/_connector") => connector::routes::handle(shared, p, req),
        ("/", _) => api_cluster::root(shared),
        ("/_security/_authenticate", _) => api_cluster::authenticate(shared, req),
        ("/_security/user/_has_privileges", _) => has_privileges::handle(shared, req, None),
        ("/_security/user/{user}/_has_privileges", _) => {
            has_privileges::handle(shared, req, Some(req.seg(2)))
        }
        ("/_license", _) => api_cluster::license(shared),
        ("/_cluster/health" | "/_cluster/health/{index}", _) => api_cluster::health(shared, req),
        ("/_ingest/pipeline", _) => api_cluster::get_pipeline(shared, None),
        ("/_ingest/pipeline/{id}", "GET") => api_cluster::get_pipeline(shared, Some(req.seg(2))),
        ("/_ingest/pipeline/{id}", "PUT") => api_cluster::put_pipeline(shared, req),
        ("/_ingest/pipeline/{id}", _) => api_cluster::delete_pipeline(shared, req.seg(2)),
        ("/_index_template/{name}", "PUT" | "POST") => api_cluster::put_index_template(shared, req),
        ("/_index_template/{name}", "DELETE") => api_cluster::delete_index_template(shared, req.seg(1)),
        ("/_index_template/{name}", _) => api_cluster::get_index_template(shared, Some(req.seg(1))),
        ("/_index_template", _) => api_cluster::get_index_template(shared, None),
        ("/_scripts/{id}", "PUT") => api_search::put_script(shared, req),
        ("/_scripts/{id}", "GET") => api_search::get_script(shared, req),
        ("/_scripts/{id}", _) => api_search::delete_script(shared, req),
        ("/_bulk", _) => api_docs::bulk(shared, req, None),
        ("/{index}/_bulk", _) => api_docs::bulk(shared, req, Some(req.seg(0))),
        ("/_search", _) => api_search::search(shared, req, None),
        ("/{index}/_search", _) => api_search::search(shared, req, Some(req.seg(0))),
        ("/_count", _) => api_search::count(shared, req, None),
        ("/{index}/_count", _) => api_search::count(shared, req, Some(req.seg(0))),
        ("/_search/template", _) => api_search::search_template(shared, req, None),
        ("/{index}/_search/template", _) => api_search::search_template(shared, req, Some(req.seg(0))),
        ("/_render/template", _) => api_search::render_template(shared, req),
        ("/_search/scroll" | "/_search/scroll/{scroll_id}", "DELETE") => {
            api_search::clear_scroll(shared, req)
        }
        ("/_search/scroll" | "/_search/scroll/{scroll_id}", _) => api_search::scroll(shared, req),
        ("/{index}/_pit", _) => api_search::open_pit(shared, req),
        ("/_pit", _) => api_search::close_pit(shared, req),
        ("/{index}/_delete_by_query", _) => api_search::delete_by_query(shared, req),
        ("/_refresh", _) => api_indices::refresh(shared, req, "_all"),
        ("/{index}/_refresh", _) => api_indices::refresh(shared, req, req.seg(0)),
        ("/{index}", "PUT") => api_indices::create(shared, req),
        ("/{index}", "DELETE") => api_indices::delete(shared, req),
        ("/{index}", _) => api_indices::get(shared, req),
        ("/_mapping", _) => api_indices::get_mapping(shared, req, "_all"),
        ("/{index}/_mapping", "GET") => api_indices::get_mapping(shared, req, req.seg(0)),
        ("/{index}/_mapping", _) => api_indices::put_mapping(shared, req),
        ("/{index}/_settings", _) => api_indices::get_settings(shared, req),
        ("/_aliases", _) => api_indices::update_aliases(shared, req),
        ("/_alias", _) => api_indices::get_aliases(shared, req, "_all", None),
        ("/_alias/{name}", _) => api_indices::get_aliases(shared, req, "_all", Some(req.seg(1))),
        ("/{index}/_alias", _) => api_indices::get_aliases(shared, req, req.seg(0), None),
        ("/{index}/_alias/{name}", "GET" | "HEAD") => {
            api_indices::get_aliases(shared, req, req.seg(0), Some(req.seg(2)))
        }
        ("/{index}/_alias/{name}", "DELETE") => api_indices::delete_alias(shared, req),
        ("/{index}/_alias/{name}", _) => api_indices::put_alias(shared, req),
        ("/{index}/_doc/{id}" | "/{index}/_source/{id}", "GET" | "HEAD") => {
            api_docs::get(shared, req, pattern == "/{index}/_source/{id}")
        }
        ("/{index}/_doc/{id}", "DELETE") => api_docs::delete(shared, req),
        ("/{index}/_doc/{id}", _) => api_docs::index(shared, req, Some(req.seg(2)), false),
        ("/{index}/_doc", _) => api_docs::index(shared, req, None, false),
        ("/{index}/_create/{id}", _) => api_docs::index(shared, req, Some(req.seg(2)), true),
        ("/{index}/_update/{id}", _) => api_docs::update(shared, req),
        _ => Err(EsError::simple(
            400,
            format!("no handler found for uri [{}] and method [{}]", req.path, method),
        )),
    }
}

/// Applies `filter_path` (comma-separated dotted patterns with `*` and `**`).
pub fn filter_path(body: Value, spec: Option<&String>) -> Value {
    let Some(spec) = spec.filter(|s| !s.is_empty()) else { return body };
    let patterns: Vec<Vec<&str>> = spec.split(',').map(|p| p.trim().split('.').collect()).collect();
    let includes: Vec<&Vec<&str>> = patterns.iter().filter(|p| !p[0].starts_with('-')).collect();
    if includes.is_empty() {
        return body;
    }
    keep(&body, &includes.iter().map(|p| p.as_slice()).collect::<Vec<_>>())
        .unwrap_or_else(|| Value::Object(Map::new()))
}

fn keep(v: &Value, patterns: &[&[&str]]) -> Option<Value> {
    if patterns.iter().any(|p| p.is_empty()) {
        return Some(v.clone());
    }
    match v {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, val) in o {
                let mut next: Vec<&[&str]> = Vec::new();
                for p in patterns {
                    if p[0] == "**" {
                        next.push(p);
                        next.push(&p[1..]);
                        if p.len() > 1 && glob(p[1], k) {
                            next.push(&p[2..]);
                        }
                    } else if glob(p[0], k) {
                        next.push(&p[1..]);
                    }
                }
                if !next.is_empty() {
                    if let Some(x) = keep(val, &next) {
                        out.insert(k.clone(), x);
                    }
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let kept: Vec<Value> = items.iter().filter_map(|i| keep(i, patterns)).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_and_filter_path() {
        let p = |s: &str| pattern(&segments(s));
        assert_eq!(p("/search-x/_doc/a%2Fb"), Some("/{index}/_doc/{id}"));
        assert_eq!(segments("/i/_doc/a%2Fb")[2], "a/b");
        assert_eq!(p("/.elastic-connectors"), Some("/{index}"));
        assert_eq!(p("/_nope"), None);
        let body = json!({"took": 1, "hits": {"total": {"value": 2}, "hits": [{"_id": "1", "_source": {}}]}});
        assert_eq!(
            filter_path(body.clone(), Some(&"hits.hits._id".to_string())),
            json!({"hits": {"hits": [{"_id": "1"}]}})
        );
        assert_eq!(
            filter_path(body, Some(&"**._id,took".to_string())),
            json!({"took": 1, "hits": {"hits": [{"_id": "1"}]}})
        );
    }
}
