//! Conformance of the test server with Elasticsearch's REST API specification.
//!
//! The specification is Elasticsearch's `rest-api-spec` jar: one JSON file per API naming its
//! paths, the methods of each and the URL parameters it takes (plus `_common.json`, the
//! parameters every API takes). `tests/es-node/rest-spec.sh` (run by `make test-es`) fetches
//! it from Maven Central into `target/rest-spec/`; [`SPEC_VAR`] may name another jar or a
//! directory holding `rest-api-spec/api/*.json`. Without it the test says `skipped` and
//! passes, so that `make test` needs nothing but Rust.
//!
//! For every API the connector and its managed mode call ([`APIS`]) and every path and
//! method of it, against one test server:
//! - the route is served: no 405 and no "no handler found";
//! - every documented parameter is taken: not refused as unrecognized;
//! - an undocumented parameter is refused as Elasticsearch's REST layer refuses it: 400
//!   `illegal_argument_exception`, `request [<path>] contains unrecognized parameter: [<name>]`;
//!   both a made-up name and every parameter another checked API documents but this route
//!   does not (`realtime` on `DELETE /{index}/_doc/{id}`): a test server that shares one list
//!   of parameters between the methods of a path accepts what Elasticsearch refuses.
//!
//! A divergence fails the test unless [`ALLOWED`] lists it with the reason; an entry of
//! [`ALLOWED`] that no longer diverges fails it too, so the list stays true.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod spec_jar;

use reqwest::Method;
use serde_json::Value;
use sim::elastic::{EsSim, EsSimConfig};

/// The variable naming the spec: the jar, or a directory with `rest-api-spec/api/*.json`.
const SPEC_VAR: &str = "ES_REST_SPEC_JAR";

/// The APIs checked (their names in the spec); every `connector.*` API is added to them.
const APIS: &[&str] = &[
    "bulk",
    "index",
    "create",
    "get",
    "delete",
    "exists",
    "search",
    "count",
    "scroll",
    "clear_scroll",
    "delete_by_query",
    "open_point_in_time",
    "close_point_in_time",
    "indices.create",
    "indices.delete",
    "indices.exists",
    "indices.get_mapping",
    "indices.put_mapping",
    "indices.put_index_template",
    "indices.refresh",
    "ingest.put_pipeline",
    "ingest.get_pipeline",
    "ingest.delete_pipeline",
    "security.has_privileges",
];

/// The undocumented parameter sent to every route: far (in edit distance) from every real
/// one, so that Elasticsearch adds no "did you mean" to its answer.
const BOGUS: &str = "rest_spec_conformance_probe";

/// Known divergences, each with the reason it stays: `<check> <METHOD> <path>[ <param>]`.
const ALLOWED: &[(&str, &str)] = &[];

/// The spec's files by name (`search.json` → its JSON).
type Spec = BTreeMap<String, Value>;

/// Where the spec is: [`SPEC_VAR`], else the jar `rest-spec.sh` keeps under `target/`.
fn spec_location() -> Option<PathBuf> {
    spec_jar::location(SPEC_VAR, "rest-spec")
}

/// Reads every `rest-api-spec/api/*.json` of a jar or directory (the `api` folder itself too).
fn read_spec(at: &Path) -> Result<Spec, String> {
    let api_file = |name: &str| {
        let name = name.strip_prefix("api/").unwrap_or(name);
        name.ends_with(".json") && !name.contains('/')
    };
    let mut spec = Spec::new();
    for (name, text) in spec_jar::read(at, api_file)? {
        let name = name.strip_prefix("api/").unwrap_or(&name).to_string();
        let json = serde_json::from_str(&text).map_err(|e| format!("{name}: {e}"))?;
        spec.insert(name, json);
    }
    if spec.contains_key("_common.json") {
        Ok(spec)
    } else {
        Err(format!("{}: no rest-api-spec/api/_common.json in it", at.display()))
    }
}

/// One documented route: an API's path with one of its methods, and its parameters.
#[derive(Debug)]
struct Route {
    api: String,
    method: Method,
    /// The path as the spec writes it (`/{index}/_doc/{id}`).
    template: String,
    /// Documented parameters (the API's and the common ones), name → spec.
    params: BTreeMap<String, Value>,
}

impl Route {
    /// The path with its parts filled in.
    fn path(&self) -> String {
        let mut out = self.template.clone();
        for (part, value) in [
            ("{index}", "rest-spec"),
            ("{id}", "rest-spec-1"),
            ("{name}", "rest-spec-template"),
            ("{scroll_id}", "rest-spec-scroll"),
            ("{connector_id}", "rest-spec-connector"),
            ("{connector_sync_job_id}", "rest-spec-job"),
            // The caller itself: a user may only check its own privileges.
            ("{user}", "elastic"),
        ] {
            out = out.replace(part, value);
        }
        assert!(!out.contains('{'), "{}: a path part the test does not fill in: {out}", self.api);
        out
    }

    /// What names the route in [`ALLOWED`] and in failures.
    fn key(&self, check: &str, param: Option<&str>) -> String {
        match param {
            Some(p) => format!("{check} {} {} {p}", self.method, self.template),
            None => format!("{check} {} {}", self.method, self.template),
        }
    }
}

/// The routes of the checked APIs, from the spec.
fn routes(spec: &Spec) -> Vec<Route> {
    let common = spec["_common.json"]["params"].as_object().cloned().unwrap_or_default();
    let mut names: Vec<String> = APIS.iter().map(|a| format!("{a}.json")).collect();
    names.extend(spec.keys().filter(|k| k.starts_with("connector.")).cloned());
    let mut out = Vec::new();
    for name in names {
        let file = spec.get(&name).unwrap_or_else(|| panic!("the spec has no {name}"));
        let (api, def) = file.as_object().and_then(|o| o.iter().next()).expect("one API per file");
        let mut params: BTreeMap<String, Value> = common.clone().into_iter().collect();
        for (k, v) in def["params"].as_object().into_iter().flatten() {
            // Parameters behind a feature flag are not registered in a release build.
            if v["visibility"] != "feature_flag" {
                params.insert(k.clone(), v.clone());
            }
        }
        for path in def["url"]["paths"].as_array().into_iter().flatten() {
            for method in path["methods"].as_array().into_iter().flatten() {
                out.push(Route {
                    api: api.clone(),
                    method: Method::from_bytes(method.as_str().unwrap_or("").as_bytes()).expect("a method"),
                    template: path["path"].as_str().unwrap_or("").to_string(),
                    params: params.clone(),
                });
            }
        }
    }
    out
}

/// A value of a parameter's type that Elasticsearch would take.
fn sample(spec: &Value) -> String {
    match spec["type"].as_str() {
        Some("boolean") => "true".into(),
        Some("number" | "int" | "long") => "1".into(),
        Some("time") => "1m".into(),
        Some("enum") => spec["options"][0].as_str().unwrap_or("x").to_string(),
        _ => "x".into(),
    }
}

/// The answer to one request: status, `error.type`, `error.reason` (or the string error).
struct Answer {
    status: u16,
    kind: String,
    reason: String,
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    method: &Method,
    path: &str,
    query: &[(&str, String)],
) -> Answer {
    let r = http
        .request(method.clone(), format!("{base}{path}"))
        .query(query)
        .basic_auth("elastic", Some("changeme"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let error = &body["error"];
    let reason = error["reason"].as_str().or(error.as_str()).unwrap_or("").to_string();
    Answer { status, kind: error["type"].as_str().unwrap_or("").to_string(), reason }
}

/// The divergences of the test server from the spec, by key, with what it answered.
async fn divergences(sim: &EsSim, routes: &[Route]) -> BTreeMap<String, String> {
    let every_param: BTreeSet<&String> = routes.iter().flat_map(|r| r.params.keys()).collect();
    let http = reqwest::Client::new();
    let base = sim.url().trim_end_matches('/').to_string();
    let mut found = BTreeMap::new();
    for route in routes {
        let path = route.path();
        let head = route.method == Method::HEAD;
        let a = call(&http, &base, &route.method, &path, &[]).await;
        if a.status == 405 || a.reason.starts_with("no handler found") {
            found.insert(route.key("route", None), format!("{} {}", a.status, a.reason));
            continue;
        }
        for (name, spec) in &route.params {
            let a = call(&http, &base, &route.method, &path, &[(name, sample(spec))]).await;
            let refused =
                if head { a.status == 400 } else { a.reason.contains("contains unrecognized parameter") };
            if refused {
                found.insert(route.key("param", Some(name)), format!("{} {}", a.status, a.reason));
            }
        }
        let a = call(&http, &base, &route.method, &path, &[(BOGUS, "1".into())]).await;
        if !refused_as_unknown(&a, &path, BOGUS, head) {
            found.insert(route.key("unknown", None), format!("{} {} {}", a.status, a.kind, a.reason));
        }
        for name in every_param.iter().filter(|n| !route.params.contains_key(**n)) {
            let a = call(&http, &base, &route.method, &path, &[(name, "1".into())]).await;
            if !refused_as_unknown(&a, &path, name, head) {
                found.insert(
                    route.key("misplaced", Some(name)),
                    format!("{} {} {}", a.status, a.kind, a.reason),
                );
            }
        }
    }
    found
}

/// Whether an answer is Elasticsearch's refusal of an unrecognized parameter (a HEAD answer
/// has no body: its status says it).
fn refused_as_unknown(a: &Answer, path: &str, name: &str, head: bool) -> bool {
    let expected = format!("request [{path}] contains unrecognized parameter: [{name}]");
    a.status == 400 && (head || (a.kind == "illegal_argument_exception" && a.reason == expected))
}

#[tokio::test]
async fn test_server_follows_the_rest_spec() {
    let Some(at) = spec_location() else {
        println!("skipped: no REST spec (run tests/es-node/rest-spec.sh, or set {SPEC_VAR})");
        return;
    };
    if !at.exists() {
        println!("skipped: {SPEC_VAR}={} does not exist", at.display());
        return;
    }
    let spec = read_spec(&at).unwrap_or_else(|e| panic!("cannot read the REST spec: {e}"));
    let routes = routes(&spec);
    let sim = EsSim::start(EsSimConfig::default()).await.expect("test server");
    let found = divergences(&sim, &routes).await;

    let allowed: BTreeSet<&str> = ALLOWED.iter().map(|(k, _)| *k).collect();
    let new: Vec<String> = found
        .iter()
        .filter(|(k, _)| !allowed.contains(k.as_str()))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let stale: Vec<&&str> = allowed.iter().filter(|k| !found.contains_key(**k)).collect();
    println!(
        "{}: {} routes of {} APIs, {} divergences ({} allowed)",
        at.display(),
        routes.len(),
        routes.iter().map(|r| &r.api).collect::<BTreeSet<_>>().len(),
        found.len(),
        found.len() - new.len()
    );
    assert!(new.is_empty(), "{} divergences from the REST spec:\n{}", new.len(), new.join("\n"));
    assert!(stale.is_empty(), "allowed divergences that no longer diverge (remove them): {stale:?}");
}
