//! Runs one section of a suite: decides from `skip`/`requires` whether it runs at all (a
//! feature this runner lacks skips it, as in Elasticsearch's runner), then runs `setup`, the
//! section and `teardown`, step by step, on a [`Target`]: a fresh test server with the users
//! of Elasticsearch's YAML test cluster, or a real, throw-away node that is wiped back to
//! what it held before after every section (as Elasticsearch's runner wipes its cluster).

use std::collections::BTreeSet;
use std::sync::Arc;

use reqwest::{Client, Method};
use serde_json::{Map, Value};
use sim::elastic::{EsSim, EsSimConfig, EsUser, Role};

use super::api::{self, SpecApis, SpecError};
use super::assertions::{self, lookup};
use super::stash::Stash;
use super::suite::{Section, Step, Suite};

/// Runner features (`skip.features`, `requires.test_runner_features`) this runner supports.
pub const FEATURES: &[&str] = &[
    "headers",
    "is_after",
    "embedded_stash_key",
    "stash_in_path",
    "stash_in_key",
    "warnings",
    "allowed_warnings",
    "warnings_regex",
    "allowed_warnings_regex",
    "default_shards",
    "contains",
];

/// Where sections run, and which API table their `do` steps go through.
#[derive(Clone)]
pub struct Target {
    /// The APIs of a REST spec (Elasticsearch's own suites); `None`: the connector suites'
    /// table ([`api::APIS`]).
    pub spec: Option<Arc<SpecApis>>,
    /// A real node, and what it held before the run; `None`: a fresh test server per section.
    pub node: Option<Node>,
    /// The version `skip`/`requires` are judged against.
    pub version: String,
}

impl Target {
    /// A fresh test server per section, with the connector suites' API table.
    pub fn test_server() -> Target {
        Target { spec: None, node: None, version: server_version() }
    }
}

/// A real node and the names it held before any section ran: only what a section added is
/// removed after it.
#[derive(Clone, Debug)]
pub struct Node {
    /// Its URL.
    pub url: String,
    before: Holdings,
}

/// What a node holds that a section may add.
#[derive(Clone, Debug, Default, PartialEq)]
struct Holdings {
    indices: BTreeSet<String>,
    index_templates: BTreeSet<String>,
    legacy_templates: BTreeSet<String>,
    pipelines: BTreeSet<String>,
}

/// The names `GET url` answers (none on 404): the keys of its object, or — with
/// `Some((list, field))` — `field` of each element of the array at JSON pointer `list`
/// (`""` for an answer that is the array itself).
async fn names(http: &Client, url: &str, list: Option<(&str, &str)>) -> Result<BTreeSet<String>, String> {
    let resp = http.get(url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(BTreeSet::new());
    }
    let body: Value = resp.json().await.map_err(|e| format!("GET {url}: {e}"))?;
    Ok(match list {
        None => body.as_object().into_iter().flat_map(|o| o.keys().cloned()).collect(),
        Some((list, field)) => body
            .pointer(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|x| x.get(field)?.as_str().map(str::to_string))
            .collect(),
    })
}

impl Holdings {
    async fn read(http: &Client, url: &str) -> Result<Holdings, String> {
        let cat = format!("{url}/_cat/indices?h=index&format=json&expand_wildcards=all");
        Ok(Holdings {
            indices: names(http, &cat, Some(("", "index"))).await?,
            index_templates: names(
                http,
                &format!("{url}/_index_template"),
                Some(("/index_templates", "name")),
            )
            .await?,
            legacy_templates: names(http, &format!("{url}/_template"), None).await?,
            pipelines: names(http, &format!("{url}/_ingest/pipeline"), None).await?,
        })
    }
}

impl Node {
    /// The node at `url`, with what it holds now.
    pub async fn at(url: &str) -> Result<Node, String> {
        let url = url.trim_end_matches('/').to_string();
        let before = Holdings::read(&Client::new(), &url).await?;
        Ok(Node { url, before })
    }

    /// The node's version, from `_nodes` (`GET /` is not served by every distribution).
    pub async fn version(&self) -> Result<String, String> {
        let url = format!("{}/_nodes/_local?filter_path=nodes.*.version", self.url);
        let body: Value = Client::new()
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        body.get("nodes")
            .and_then(Value::as_object)
            .and_then(|n| n.values().next())
            .and_then(|n| n.get("version"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("GET {url}: no version in {body}"))
    }

    /// Removes what a section added: indices, templates, pipelines, open scrolls.
    async fn wipe(&self) -> Result<(), String> {
        let http = Client::new();
        let now = Holdings::read(&http, &self.url).await?;
        let mut deletes: Vec<String> = Vec::new();
        let fresh = |now: &BTreeSet<String>, before: &BTreeSet<String>| -> Vec<String> {
            now.difference(before)
                .map(|n| url::form_urlencoded::byte_serialize(n.as_bytes()).collect())
                .collect()
        };
        deletes.extend(fresh(&now.indices, &self.before.indices).into_iter().map(|n| format!("/{n}")));
        deletes.extend(
            fresh(&now.index_templates, &self.before.index_templates)
                .into_iter()
                .map(|n| format!("/_index_template/{n}")),
        );
        deletes.extend(
            fresh(&now.legacy_templates, &self.before.legacy_templates)
                .into_iter()
                .map(|n| format!("/_template/{n}")),
        );
        deletes.extend(
            fresh(&now.pipelines, &self.before.pipelines)
                .into_iter()
                .map(|n| format!("/_ingest/pipeline/{n}")),
        );
        deletes.push("/_search/scroll/_all".into());
        for path in deletes {
            let url = format!("{}{path}", self.url);
            let resp = http.delete(&url).send().await.map_err(|e| format!("DELETE {url}: {e}"))?;
            let status = resp.status().as_u16();
            if status >= 400 && status != 404 {
                return Err(format!("DELETE {url}: {status} {}", resp.text().await.unwrap_or_default()));
            }
        }
        Ok(())
    }
}

/// How a section ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every step held.
    Passed,
    /// A step failed: which, and why.
    Failed(String),
    /// The YAML's own `skip`/`requires` ruled it out here.
    Skipped(String),
}

/// A list of strings from a YAML value that may be one string or a list.
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

fn version_tuple(v: &str) -> (u32, u32, u32) {
    let mut p = v.trim().trim_start_matches('v').split('.').map(|x| x.trim().parse().unwrap_or(0));
    (p.next().unwrap_or(0), p.next().unwrap_or(0), p.next().unwrap_or(0))
}

/// Whether the server has a cluster feature; `gte_vX.Y.Z` holds from that version on.
fn has_feature(feature: &str, version: &str) -> bool {
    feature.strip_prefix("gte_v").is_some_and(|v| version_tuple(version) >= version_tuple(v))
}

/// Whether `version` falls in a `skip.version` range (`"8.0.0 - 8.11.99"`, `" - 8.11.99"`, `"all"`).
fn in_range(range: &str, version: &str) -> bool {
    let v = version_tuple(version);
    range.split(',').any(|r| {
        let r = r.trim();
        if r == "all" {
            return true;
        }
        let (lo, hi) = r.split_once('-').unwrap_or((r, r));
        let lo = if lo.trim().is_empty() { (0, 0, 0) } else { version_tuple(lo) };
        let hi = if hi.trim().is_empty() { (u32::MAX, 0, 0) } else { version_tuple(hi) };
        lo <= v && v <= hi
    })
}

/// Why the steps' `skip`/`requires` rule the section out, if they do.
pub fn skip_reason(steps: &[Step], version: &str) -> Option<String> {
    for step in steps {
        let a = &step.arg;
        match step.kind.as_str() {
            "requires" => {
                let runner: Vec<String> = strings(a.get("test_runner_features"));
                if let Some(f) = runner.iter().find(|f| !FEATURES.contains(&f.as_str())) {
                    return Some(format!("requires runner feature [{f}]"));
                }
                if let Some(f) = strings(a.get("cluster_features")).iter().find(|f| !has_feature(f, version))
                {
                    return Some(format!("requires cluster feature [{f}]"));
                }
            }
            "skip" => {
                if let Some(f) = strings(a.get("features")).iter().find(|f| !FEATURES.contains(&f.as_str())) {
                    return Some(format!("skip: runner feature [{f}] not supported"));
                }
                if let Some(r) = a.get("version").and_then(Value::as_str).filter(|r| in_range(r, version)) {
                    return Some(format!("skip: version {r}"));
                }
                let cf = strings(a.get("cluster_features"));
                if !cf.is_empty() && cf.iter().all(|f| has_feature(f, version)) {
                    return Some(format!("skip: cluster features {cf:?}"));
                }
                if a.get("awaits_fix").is_some() || a.get("known_issues").is_some() {
                    return Some("skip: awaits fix".into());
                }
            }
            _ => {}
        }
    }
    None
}

/// Maps a `catch` to the statuses it accepts (None for a `/regex/` on the error).
fn catch_statuses(catch: &str) -> Option<Vec<u16>> {
    Some(match catch {
        "bad_request" => vec![400],
        "unauthorized" => vec![401],
        "forbidden" => vec![403],
        "missing" => vec![404],
        "request_timeout" => vec![408],
        "conflict" => vec![409],
        "unavailable" => vec![503],
        "request" => (400..600).collect(),
        _ => return None,
    })
}

/// One section's run: the client, the stash and the last response.
struct Run {
    http: Client,
    base: String,
    /// The API table of Elasticsearch's own suites, when they are what runs.
    spec: Option<Arc<SpecApis>>,
    /// Send the superuser's credentials (the test server); a real node runs without security.
    authenticate: bool,
    stash: Stash,
    last: Value,
}

/// The message of each `Warning` header (`299 Elasticsearch-<version> "<message>" ...`).
fn warnings_of(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .get_all("warning")
        .iter()
        .filter_map(|h| h.to_str().ok())
        .map(|h| {
            let Some(start) = h.find('"') else { return h.to_string() };
            let mut msg = String::new();
            let mut chars = h[start + 1..].chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => msg.extend(chars.next()),
                    '"' => break,
                    c => msg.push(c),
                }
            }
            msg
        })
        .collect()
}

/// Checks a response's warnings against a `do`'s `warnings` (each must come) and
/// `allowed_warnings` (each may come; nothing else may), as Elasticsearch's runner does.
fn check_warnings(o: &Map<String, Value>, actual: &[String]) -> Result<(), String> {
    let list = |k: &str| strings(o.get(k));
    let regexes =
        |k: &str| -> Vec<regex::Regex> { list(k).iter().filter_map(|r| regex::Regex::new(r).ok()).collect() };
    let (expected, allowed) = (list("warnings"), list("allowed_warnings"));
    let (expected_re, allowed_re) = (regexes("warnings_regex"), regexes("allowed_warnings_regex"));
    if let Some(missing) = expected.iter().find(|w| !actual.contains(w)) {
        return Err(format!("expected the warning [{missing}], got {actual:?}"));
    }
    if let Some(missing) = expected_re.iter().find(|r| !actual.iter().any(|w| r.is_match(w))) {
        return Err(format!("expected a warning matching [{missing}], got {actual:?}"));
    }
    let known = |w: &String| {
        expected.contains(w)
            || allowed.contains(w)
            || expected_re.iter().chain(&allowed_re).any(|r| r.is_match(w))
    };
    match actual.iter().find(|w| !known(w)) {
        Some(w) => Err(format!("unexpected warning [{w}]")),
        None => Ok(()),
    }
}

impl Run {
    async fn step(&mut self, step: &Step) -> Result<(), String> {
        let arg = &step.arg;
        let pairs = || arg.as_object().cloned().unwrap_or_default();
        let path_arg = || arg.as_str().unwrap_or("").to_string();
        match step.kind.as_str() {
            "skip" | "requires" => Ok(()),
            "do" => self.call(arg).await,
            "set" => {
                for (path, name) in pairs() {
                    let v = lookup(&self.last, &path, &self.stash)
                        .cloned()
                        .ok_or(format!("set: [{path}] not found"))?;
                    self.stash.set(name.as_str().unwrap_or(""), v);
                }
                Ok(())
            }
            "match" => {
                for (path, expected) in pairs() {
                    let expected = self.stash.replace(&expected, &self.last);
                    let actual = lookup(&self.last, &path, &self.stash);
                    if !assertions::matches(actual, &expected) {
                        return Err(format!("match [{path}]: expected {expected}, got {actual:?}"));
                    }
                }
                Ok(())
            }
            "length" => {
                for (path, expected) in pairs() {
                    let n = assertions::length(lookup(&self.last, &path, &self.stash));
                    if n.map(|n| n as u64) != expected.as_u64() {
                        return Err(format!("length [{path}]: expected {expected}, got {n:?}"));
                    }
                }
                Ok(())
            }
            "is_true" | "is_false" | "exists" => {
                let path = path_arg();
                let v = lookup(&self.last, &path, &self.stash);
                let ok = match step.kind.as_str() {
                    "is_true" => assertions::is_true(v),
                    "is_false" => assertions::is_false(v),
                    _ => v.is_some_and(|v| !v.is_null()),
                };
                if ok {
                    Ok(())
                } else {
                    Err(format!("{} [{path}]: got {v:?}", step.kind))
                }
            }
            "gt" | "gte" | "lt" | "lte" => {
                for (path, expected) in pairs() {
                    let expected = self.stash.replace(&expected, &self.last);
                    let actual = lookup(&self.last, &path, &self.stash)
                        .ok_or(format!("{} [{path}]: missing", step.kind))?;
                    let ord = assertions::compare(actual, &expected).ok_or("incomparable")?;
                    let ok = match step.kind.as_str() {
                        "gt" => ord.is_gt(),
                        "gte" => ord.is_ge(),
                        "lt" => ord.is_lt(),
                        _ => ord.is_le(),
                    };
                    if !ok {
                        return Err(format!("{} [{path}]: {actual} vs {expected}", step.kind));
                    }
                }
                Ok(())
            }
            "contains" => {
                for (path, expected) in pairs() {
                    let expected = self.stash.replace(&expected, &self.last);
                    let actual = lookup(&self.last, &path, &self.stash);
                    if !assertions::contains(actual, &expected) {
                        return Err(format!("contains [{path}]: {expected} not in {actual:?}"));
                    }
                }
                Ok(())
            }
            "is_after" => {
                for (path, expected) in pairs() {
                    let expected = self.stash.replace(&expected, &self.last);
                    let actual = lookup(&self.last, &path, &self.stash)
                        .ok_or(format!("is_after [{path}]: missing"))?;
                    if assertions::is_after(actual, &expected) != Some(true) {
                        return Err(format!("is_after [{path}]: {actual} is not after {expected}"));
                    }
                }
                Ok(())
            }
            other => Err(format!("unsupported step [{other}]")),
        }
    }

    async fn call(&mut self, arg: &Value) -> Result<(), String> {
        const NOT_API: &[&str] = &[
            "catch",
            "headers",
            "warnings",
            "allowed_warnings",
            "warnings_regex",
            "allowed_warnings_regex",
            "node_selector",
        ];
        let o = arg.as_object().ok_or("do: expected a mapping")?;
        let (name, params) = o.iter().find(|(k, _)| !NOT_API.contains(&k.as_str())).ok_or("do: no API")?;
        let mut params: Map<String, Value> = match self.stash.replace(params, &self.last) {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => return Err(format!("do {name}: parameters must be a mapping, got {other}")),
        };
        let ignore: Vec<u16> = match params.remove("ignore") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_u64).map(|n| n as u16).collect(),
            Some(v) => v.as_u64().map(|n| vec![n as u16]).unwrap_or_default(),
            None => Vec::new(),
        };
        let catch = o.get("catch").and_then(Value::as_str);
        let call = match &self.spec {
            None => api::build(name, &params)?,
            Some(spec) => match api::build_from_spec(spec, name, &params) {
                Ok(call) => call,
                // The client refuses it before sending: what `catch: param` expects.
                Err(SpecError::Param(_)) if catch == Some("param") => return Ok(()),
                Err(e) => return Err(format!("do {name}: {e}")),
            },
        };
        if catch == Some("param") {
            return Err(format!("do {name}: expected the client to refuse a parameter"));
        }
        let method = Method::from_bytes(call.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut rb = self.http.request(method, format!("{}{}", self.base, call.path)).query(&call.query);
        let headers = o.get("headers").and_then(Value::as_object);
        // The superuser, unless the step authenticates as someone else.
        let own_auth = headers.is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("authorization")));
        if self.authenticate && !own_auth {
            rb = rb.basic_auth("elastic", Some("changeme"));
        }
        let has_content_type =
            headers.is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("content-type")));
        for (k, v) in headers.into_iter().flatten() {
            rb = rb.header(k.as_str(), v.as_str().unwrap_or_default());
        }
        match &call.body {
            // A list is newline-delimited JSON (`bulk`), one line per element, as the Java
            // runner sends it; a string goes as written.
            Some(Value::Array(lines)) => {
                let mut ndjson = String::new();
                for line in lines {
                    match line {
                        Value::String(s) => ndjson.push_str(s),
                        other => ndjson.push_str(&other.to_string()),
                    }
                    ndjson.push('\n');
                }
                rb = rb.header("content-type", "application/x-ndjson").body(ndjson);
            }
            Some(Value::String(text)) => {
                if !has_content_type {
                    let ndjson = name == "bulk" || name == "msearch";
                    let kind = if ndjson { "application/x-ndjson" } else { "application/json" };
                    rb = rb.header("content-type", kind);
                }
                let mut text = text.clone();
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                rb = rb.body(text);
            }
            Some(body) => rb = rb.header("content-type", "application/json").body(body.to_string()),
            None => {}
        }
        let resp = rb.send().await.map_err(|e| format!("do {name}: {e}"))?;
        let status = resp.status().as_u16();
        let warnings = warnings_of(resp.headers());
        let text = resp.text().await.map_err(|e| e.to_string())?;
        let head = call.method == "HEAD";
        let body: Value = if head {
            // A HEAD answers with its status only: the runner's body is whether it found.
            Value::Bool(status == 200)
        } else if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if self.spec.is_some() {
            check_warnings(o, &warnings).map_err(|e| format!("do {name}: {e}"))?;
        }
        let result = match catch {
            Some(c) => match catch_statuses(c) {
                Some(statuses) if statuses.contains(&status) => Ok(()),
                Some(_) => Err(format!("do {name}: expected catch [{c}], got {status}: {body}")),
                None => {
                    let re = c.trim_matches('/');
                    let hit =
                        status >= 400 && regex::Regex::new(re).is_ok_and(|r| r.is_match(&body.to_string()));
                    if hit {
                        Ok(())
                    } else {
                        Err(format!("do {name}: expected error matching {c}, got {status}: {body}"))
                    }
                }
            },
            None if head && status == 404 => Ok(()),
            None if status >= 400 && !ignore.contains(&status) => {
                Err(format!("do {name} {} {}: {status} {body}", call.method, call.path))
            }
            None => Ok(()),
        };
        self.last = body;
        result
    }
}

/// The version the test server reports.
pub fn server_version() -> String {
    EsSimConfig::default().version
}

/// The test server as Elasticsearch's YAML test cluster is set up: the superuser, plus the
/// ent-search users its privilege tests authenticate as, plus the two our own suite uses
/// (`wiki-auditor`, a connector reader; `wiki-visitor`, without privileges).
fn server_config() -> EsSimConfig {
    EsSimConfig {
        // As Elasticsearch's YAML test clusters run.
        destructive_requires_name: false,
        users: vec![
            EsUser::new("entsearch-user", "entsearch-user-password", Role::ConnectorReader),
            EsUser::new("entsearch-unprivileged", "entsearch-unprivileged-password", Role::Unprivileged),
            EsUser::new("wiki-auditor", "auditor-pass-1", Role::ConnectorReader),
            EsUser::new("wiki-visitor", "visitor-pass-1", Role::Unprivileged),
        ],
        ..EsSimConfig::default()
    }
}

/// Runs one section of a connector suite on a fresh test server.
pub async fn run_section(suite: &Suite, section: &Section) -> Outcome {
    run_section_on(&Target::test_server(), suite, section).await
}

/// Runs one section on `target`.
pub async fn run_section_on(target: &Target, suite: &Suite, section: &Section) -> Outcome {
    let version = &target.version;
    if let Some(reason) = skip_reason(&suite.setup, version).or_else(|| skip_reason(&section.steps, version))
    {
        return Outcome::Skipped(reason);
    }
    // The server lives as long as this function; a node is wiped after the steps.
    let (_sim, base) = match &target.node {
        Some(node) => (None, node.url.clone()),
        None => match EsSim::start(server_config()).await {
            Ok(s) => {
                let url = s.url();
                (Some(s), url)
            }
            Err(e) => return Outcome::Failed(format!("cannot start the test server: {e}")),
        },
    };
    let mut run = Run {
        http: Client::new(),
        base,
        spec: target.spec.clone(),
        authenticate: target.node.is_none(),
        stash: Stash::default(),
        last: Value::Null,
    };
    let mut outcome = Outcome::Passed;
    let phases = [("setup", &suite.setup), ("test", &section.steps), ("teardown", &suite.teardown)];
    'phases: for (phase, steps) in phases {
        for (i, step) in steps.iter().enumerate() {
            if let Err(e) = run.step(step).await {
                outcome = Outcome::Failed(format!("{phase} step {} ({}): {e}", i + 1, step.kind));
                break 'phases;
            }
        }
    }
    if let Some(node) = &target.node {
        if let Err(e) = node.wipe().await {
            return Outcome::Failed(format!("cannot wipe the node after the section: {e}"));
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn skips_follow_features_and_versions() {
        let step = |kind: &str, arg: Value| Step { kind: kind.into(), arg };
        assert_eq!(
            skip_reason(&[step("requires", json!({"cluster_features": ["gte_v8.12.0"]}))], "9.1.0"),
            None
        );
        assert!(
            skip_reason(&[step("requires", json!({"cluster_features": "gte_v9.2.0"}))], "9.1.0").is_some()
        );
        assert!(skip_reason(&[step("skip", json!({"features": "yaml"}))], "9.1.0").is_some());
        assert_eq!(skip_reason(&[step("skip", json!({"features": "headers"}))], "9.1.0"), None);
        assert_eq!(skip_reason(&[step("skip", json!({"features": ["is_after"]}))], "9.1.0"), None);
        assert!(skip_reason(&[step("skip", json!({"version": " - 9.1.99"}))], "9.1.0").is_some());
        assert!(skip_reason(&[step("skip", json!({"version": "all"}))], "9.1.0").is_some());
    }
}
