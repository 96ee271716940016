//! Runs one section of a suite: decides from `skip`/`requires` whether it runs at all (a
//! feature this runner lacks skips it, as in Elasticsearch's runner), starts a fresh test
//! server with the users of Elasticsearch's YAML test cluster, and runs `setup`, the section
//! and `teardown`, step by step.

use reqwest::{Client, Method};
use serde_json::{Map, Value};
use sim::elastic::{EsSim, EsSimConfig, EsUser, Role};

use super::api;
use super::assertions::{self, lookup};
use super::stash::Stash;
use super::suite::{Section, Step, Suite};

/// Runner features (`skip.features`, `requires.test_runner_features`) this runner supports.
pub const FEATURES: &[&str] = &["headers", "is_after", "embedded_stash_key", "stash_in_path", "stash_in_key"];

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
    stash: Stash,
    last: Value,
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
        let call = api::build(name, &params)?;
        let method = Method::from_bytes(call.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut rb = self.http.request(method, format!("{}{}", self.base, call.path)).query(&call.query);
        let headers = o.get("headers").and_then(Value::as_object);
        // The superuser, unless the step authenticates as someone else.
        if !headers.is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("authorization"))) {
            rb = rb.basic_auth("elastic", Some("changeme"));
        }
        for (k, v) in headers.into_iter().flatten() {
            rb = rb.header(k.as_str(), v.as_str().unwrap_or_default());
        }
        if let Some(body) = &call.body {
            rb = rb.header("content-type", "application/json").body(body.to_string());
        }
        let resp = rb.send().await.map_err(|e| format!("do {name}: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        let catch = o.get("catch").and_then(Value::as_str);
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
        users: vec![
            EsUser::new("entsearch-user", "entsearch-user-password", Role::ConnectorReader),
            EsUser::new("entsearch-unprivileged", "entsearch-unprivileged-password", Role::Unprivileged),
            EsUser::new("wiki-auditor", "auditor-pass-1", Role::ConnectorReader),
            EsUser::new("wiki-visitor", "visitor-pass-1", Role::Unprivileged),
        ],
        ..EsSimConfig::default()
    }
}

/// Runs one section of a suite on a fresh server.
pub async fn run_section(suite: &Suite, section: &Section) -> Outcome {
    let version = server_version();
    if let Some(reason) =
        skip_reason(&suite.setup, &version).or_else(|| skip_reason(&section.steps, &version))
    {
        return Outcome::Skipped(reason);
    }
    let sim = match EsSim::start(server_config()).await {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(format!("cannot start the test server: {e}")),
    };
    let mut run = Run { http: Client::new(), base: sim.url(), stash: Stash::default(), last: Value::Null };
    let phases = [("setup", &suite.setup), ("test", &section.steps), ("teardown", &suite.teardown)];
    for (phase, steps) in phases {
        for (i, step) in steps.iter().enumerate() {
            if let Err(e) = run.step(step).await {
                return Outcome::Failed(format!("{phase} step {} ({}): {e}", i + 1, step.kind));
            }
        }
    }
    Outcome::Passed
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
        assert!(skip_reason(&[step("skip", json!({"features": "warnings"}))], "9.1.0").is_some());
        assert_eq!(skip_reason(&[step("skip", json!({"features": "headers"}))], "9.1.0"), None);
        assert_eq!(skip_reason(&[step("skip", json!({"features": ["is_after"]}))], "9.1.0"), None);
        assert!(skip_reason(&[step("skip", json!({"version": " - 9.1.99"}))], "9.1.0").is_some());
        assert!(skip_reason(&[step("skip", json!({"version": "all"}))], "9.1.0").is_some());
    }
}
