//! The APIs of Elasticsearch's REST spec (`rest-api-spec/api/*.json`) our own suites call —
//! every `connector.*` API, and the document, index and search APIs (`get`, `index`,
//! `update`, `delete`, `bulk`, `search`, `count`, `indices.create`, point in time) used on
//! the connector indices directly and by `yaml-rest/core/`: for each, its paths
//! (with `{parts}`) and method. A `do` picks the path whose parts it
//! provides (the most specific one), sends `body` as JSON and every other parameter in the
//! query string.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// One API: its name and `(method, path)` alternatives.
pub struct Api {
    /// `connector.put`, …
    pub name: &'static str,
    /// Alternatives, most specific first.
    pub paths: &'static [(&'static str, &'static str)],
}

/// The APIs the connector suites call.
pub const APIS: &[Api] = &[
    Api { name: "connector.put", paths: &[("PUT", "/_connector/{connector_id}"), ("PUT", "/_connector")] },
    Api { name: "connector.post", paths: &[("POST", "/_connector")] },
    Api { name: "connector.get", paths: &[("GET", "/_connector/{connector_id}")] },
    Api { name: "connector.list", paths: &[("GET", "/_connector")] },
    Api { name: "connector.delete", paths: &[("DELETE", "/_connector/{connector_id}")] },
    Api { name: "connector.check_in", paths: &[("PUT", "/_connector/{connector_id}/_check_in")] },
    Api { name: "connector.last_sync", paths: &[("PUT", "/_connector/{connector_id}/_last_sync")] },
    Api { name: "connector.update_api_key_id", paths: &[("PUT", "/_connector/{connector_id}/_api_key_id")] },
    Api {
        name: "connector.update_configuration",
        paths: &[("PUT", "/_connector/{connector_id}/_configuration")],
    },
    Api { name: "connector.update_error", paths: &[("PUT", "/_connector/{connector_id}/_error")] },
    Api { name: "connector.update_features", paths: &[("PUT", "/_connector/{connector_id}/_features")] },
    Api { name: "connector.update_filtering", paths: &[("PUT", "/_connector/{connector_id}/_filtering")] },
    Api {
        name: "connector.update_active_filtering",
        paths: &[("PUT", "/_connector/{connector_id}/_filtering/_activate")],
    },
    Api {
        name: "connector.update_filtering_validation",
        paths: &[("PUT", "/_connector/{connector_id}/_filtering/_validation")],
    },
    Api { name: "connector.update_index_name", paths: &[("PUT", "/_connector/{connector_id}/_index_name")] },
    Api { name: "connector.update_name", paths: &[("PUT", "/_connector/{connector_id}/_name")] },
    Api { name: "connector.update_native", paths: &[("PUT", "/_connector/{connector_id}/_native")] },
    Api { name: "connector.update_pipeline", paths: &[("PUT", "/_connector/{connector_id}/_pipeline")] },
    Api { name: "connector.update_scheduling", paths: &[("PUT", "/_connector/{connector_id}/_scheduling")] },
    Api {
        name: "connector.update_service_type",
        paths: &[("PUT", "/_connector/{connector_id}/_service_type")],
    },
    Api { name: "connector.update_status", paths: &[("PUT", "/_connector/{connector_id}/_status")] },
    Api { name: "connector.sync_job_post", paths: &[("POST", "/_connector/_sync_job")] },
    Api { name: "connector.sync_job_list", paths: &[("GET", "/_connector/_sync_job")] },
    Api {
        name: "connector.sync_job_get",
        paths: &[("GET", "/_connector/_sync_job/{connector_sync_job_id}")],
    },
    Api {
        name: "connector.sync_job_delete",
        paths: &[("DELETE", "/_connector/_sync_job/{connector_sync_job_id}")],
    },
    Api {
        name: "connector.sync_job_cancel",
        paths: &[("PUT", "/_connector/_sync_job/{connector_sync_job_id}/_cancel")],
    },
    Api {
        name: "connector.sync_job_check_in",
        paths: &[("PUT", "/_connector/_sync_job/{connector_sync_job_id}/_check_in")],
    },
    Api {
        name: "connector.sync_job_claim",
        paths: &[("PUT", "/_connector/_sync_job/{connector_sync_job_id}/_claim")],
    },
    Api {
        name: "connector.sync_job_error",
        paths: &[("PUT", "/_connector/_sync_job/{connector_sync_job_id}/_error")],
    },
    Api {
        name: "connector.sync_job_update_stats",
        paths: &[("PUT", "/_connector/_sync_job/{connector_sync_job_id}/_stats")],
    },
    Api { name: "connector.secret_post", paths: &[("POST", "/_connector/_secret")] },
    Api { name: "connector.secret_put", paths: &[("PUT", "/_connector/_secret/{id}")] },
    Api { name: "connector.secret_get", paths: &[("GET", "/_connector/_secret/{id}")] },
    Api { name: "connector.secret_delete", paths: &[("DELETE", "/_connector/_secret/{id}")] },
    Api { name: "get", paths: &[("GET", "/{index}/_doc/{id}")] },
    Api { name: "delete", paths: &[("DELETE", "/{index}/_doc/{id}")] },
    Api { name: "bulk", paths: &[("POST", "/{index}/_bulk"), ("POST", "/_bulk")] },
    Api { name: "indices.create", paths: &[("PUT", "/{index}")] },
    Api { name: "open_point_in_time", paths: &[("POST", "/{index}/_pit")] },
    Api { name: "close_point_in_time", paths: &[("DELETE", "/_pit")] },
    Api { name: "index", paths: &[("PUT", "/{index}/_doc/{id}"), ("POST", "/{index}/_doc")] },
    Api { name: "update", paths: &[("POST", "/{index}/_update/{id}")] },
    Api { name: "search", paths: &[("POST", "/{index}/_search"), ("POST", "/_search")] },
    Api { name: "count", paths: &[("POST", "/{index}/_count"), ("POST", "/_count")] },
];

/// An HTTP request built from a `do`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCall {
    /// Method.
    pub method: &'static str,
    /// Path with parts filled in (percent-encoded).
    pub path: String,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<Value>,
}

/// One API as a REST spec file (`rest-api-spec/api/<name>.json`) describes it, for suites
/// that call more than the connector suites' table: Elasticsearch's own YAML tests.
#[derive(Debug, Clone, Default)]
pub struct SpecApi {
    /// `(methods, path)` alternatives, as listed.
    pub paths: Vec<(Vec<&'static str>, String)>,
    /// URL parameters the API documents (its own and the common ones), parts excluded.
    pub params: BTreeSet<String>,
}

/// Every API of a spec, by name.
pub type SpecApis = BTreeMap<String, SpecApi>;

/// The parameters every API takes (`_common.json`), plus the runner's own `ignore`.
fn common_params(spec: &BTreeMap<String, Value>) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = spec
        .get("_common.json")
        .and_then(|c| c.get("params"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    out.insert("ignore".into());
    out
}

/// A method name as the `'static` string [`HttpCall`] carries.
fn static_method(m: &str) -> Option<&'static str> {
    ["GET", "PUT", "POST", "DELETE", "HEAD"].into_iter().find(|s| s.eq_ignore_ascii_case(m))
}

/// The APIs of a spec (file name → JSON, as read from the jar).
pub fn spec_apis(spec: &BTreeMap<String, Value>) -> SpecApis {
    let common = common_params(spec);
    let mut out = SpecApis::new();
    for (file, json) in spec {
        let Some(name) = file.strip_suffix(".json").filter(|n| !n.starts_with('_')) else { continue };
        let Some(def) = json.get(name) else { continue };
        let url = def.get("url");
        let paths = url
            .and_then(|u| u.get("paths"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|p| {
                        let path = p.get("path")?.as_str()?.to_string();
                        let methods = p.get("methods")?.as_array()?;
                        let methods = methods.iter().filter_map(|m| static_method(m.as_str()?)).collect();
                        Some((methods, path))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let own = def.get("params").and_then(Value::as_object);
        let params = own.into_iter().flat_map(|p| p.keys().cloned()).chain(common.iter().cloned()).collect();
        out.insert(name.to_string(), SpecApi { paths, params });
    }
    out
}

/// The `{parts}` of a path template.
fn parts_of(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}

/// The request for spec API `name` with `params`, as Elasticsearch's runner builds it: the
/// path using the most parts given, a body sent with POST where the path allows it (else
/// PUT), GET otherwise; a parameter the API does not document is an error the caller can
/// expect with `catch: param`.
pub fn build_from_spec(
    apis: &SpecApis,
    name: &str,
    params: &Map<String, Value>,
) -> Result<HttpCall, SpecError> {
    let api = apis.get(name).ok_or_else(|| SpecError::Other(format!("API [{name}] is not in the spec")))?;
    let (methods, template) = api
        .paths
        .iter()
        .filter(|(_, p)| parts_of(p).iter().all(|part| params.contains_key(part)))
        .max_by_key(|(_, p)| parts_of(p).len())
        // A required part missing: the client refuses it, as with an unknown parameter.
        .ok_or_else(|| {
            SpecError::Param(format!(
                "no path of [{name}] fits the parameters {:?}",
                params.keys().collect::<Vec<_>>()
            ))
        })?;
    let parts = parts_of(template);
    if let Some(unknown) =
        params.keys().find(|k| *k != "body" && !parts.contains(k) && !api.params.contains(k.as_str()))
    {
        return Err(SpecError::Param(format!("[{name}] does not take the parameter [{unknown}]")));
    }
    let prefer: &[&str] = if params.contains_key("body") { &["POST", "PUT"] } else { &["GET"] };
    let method = prefer
        .iter()
        .find_map(|m| methods.iter().find(|x| *x == m))
        .or_else(|| methods.first())
        .copied()
        .ok_or_else(|| SpecError::Other(format!("[{name}] {template} lists no method")))?;
    let mut path = template.clone();
    for part in &parts {
        path = path.replace(&format!("{{{part}}}"), &encode(&url_value(&params[part])));
    }
    let query = params
        .iter()
        .filter(|(k, _)| *k != "body" && !parts.contains(k))
        .map(|(k, v)| (k.clone(), url_value(v)))
        .collect();
    Ok(HttpCall { method, path, query, body: params.get("body").cloned() })
}

/// Why [`build_from_spec`] made no request.
#[derive(Debug, Clone, PartialEq)]
pub enum SpecError {
    /// A parameter the API does not take: what `catch: param` expects.
    Param(String),
    /// Anything else: the runner cannot call this.
    Other(String),
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpecError::Param(s) | SpecError::Other(s) => f.write_str(s),
        }
    }
}

/// A parameter value as it appears in a URL (lists comma-joined).
fn url_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(url_value).collect::<Vec<_>>().join(","),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

/// The request for API `name` with `params` (already stash-substituted).
pub fn build(name: &str, params: &Map<String, Value>) -> Result<HttpCall, String> {
    let api = APIS
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| format!("API [{name}] is not in the runner's table"))?;
    let (method, template) =
        api.paths.iter().find(|(_, p)| parts_of(p).iter().all(|part| params.contains_key(part))).ok_or_else(
            || format!("no path of [{name}] fits the parameters {:?}", params.keys().collect::<Vec<_>>()),
        )?;
    let parts = parts_of(template);
    let mut path = template.to_string();
    for part in &parts {
        path = path.replace(&format!("{{{part}}}"), &encode(&url_value(&params[part])));
    }
    let mut query = Vec::new();
    let mut body = None;
    for (k, v) in params {
        if parts.contains(k) {
            continue;
        }
        if k == "body" {
            body = Some(v.clone());
        } else {
            query.push((k.clone(), url_value(v)));
        }
    }
    Ok(HttpCall { method, path, query, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_follow_the_parts_given() {
        let p = |v: Value| v.as_object().unwrap().clone();
        let c = build("connector.put", &p(json!({"connector_id": "a b", "body": {"x": 1}}))).unwrap();
        assert_eq!((c.method, c.path.as_str()), ("PUT", "/_connector/a%20b"));
        assert_eq!(c.body, Some(json!({"x": 1})));
        let c = build("connector.put", &p(json!({}))).unwrap();
        assert_eq!(c.path, "/_connector");
        let c = build("connector.update_error", &p(json!({"connector_id": ""}))).unwrap();
        assert_eq!(c.path, "/_connector//_error");
        let c = build("connector.list", &p(json!({"from": 1, "index_name": "a,b", "include_deleted": true})))
            .unwrap();
        assert_eq!(c.query.len(), 3);
        let c =
            build("update", &p(json!({"index": ".elastic-connectors", "id": "c", "if_seq_no": 3}))).unwrap();
        assert_eq!((c.method, c.path.as_str()), ("POST", "/.elastic-connectors/_update/c"));
        assert_eq!(c.query, vec![("if_seq_no".to_string(), "3".to_string())]);
    }
}
