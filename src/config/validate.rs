//! Checking the whole tree against the [schema](super::schema) and filling in defaults.
//!
//! Every problem is collected, none stops the walk, so a user fixes a `config.yml` in one
//! round. Values written as text (as environment overrides always are) are turned into the
//! number, boolean or list the key expects. Unknown keys are warnings that name the closest
//! known key. A secret's value never appears in a message.

use serde_json::{Map, Value};

use super::schema::{self, Key, Kind, KEYS, SECTIONS};
use super::Problem;

/// The outcome of checking a tree.
#[derive(Debug, Default)]
pub struct Checked {
    /// Problems that stop start-up.
    pub errors: Vec<Problem>,
    /// Unknown keys and other things worth a warning.
    pub warnings: Vec<String>,
}

/// Checks `tree` in place: normalises values and fills defaults.
pub fn check(tree: &mut Value) -> Checked {
    let mut out = Checked::default();
    if tree.is_null() {
        *tree = Value::Object(Map::new());
    }
    match tree {
        Value::Object(map) => check_map("", map, &mut out),
        _ => out.errors.push(Problem::new("(top)", "expected a map of settings")),
    }
    // Report in the order of the schema (and of config.yml.example), not of the map.
    out.errors.sort_by_key(|p| schema_rank(&p.path));
    out.warnings.sort();
    out
}

/// Position of `path` (or of its first key, for a section) in the schema.
fn schema_rank(path: &str) -> usize {
    let section_prefix = format!("{path}.");
    KEYS.iter().position(|k| k.path == path || k.path.starts_with(&section_prefix)).unwrap_or(usize::MAX)
}

fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}.{child}")
    }
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('.').map_or("", |(p, _)| p)
}

fn leaf_of(path: &str) -> &str {
    path.rsplit_once('.').map_or(path, |(_, l)| l)
}

fn check_map(path: &str, map: &mut Map<String, Value>, out: &mut Checked) {
    let names: Vec<String> = map.keys().cloned().collect();
    for name in names {
        let child = join(path, &name);
        if let Some(section) = schema::section(&child) {
            let value = map.get_mut(&name);
            match value {
                Some(v) if v.is_null() => {
                    if section.optional {
                        map.remove(&name);
                    } else {
                        *v = Value::Object(Map::new());
                    }
                }
                Some(Value::Object(_)) => {}
                Some(_) => {
                    out.errors.push(Problem::new(&child, "expected a map of settings"));
                    map.remove(&name);
                    continue;
                }
                None => {}
            }
            if let Some(Value::Object(inner)) = map.get_mut(&name) {
                check_map(&child, inner, out);
            }
        } else if let Some(key) = schema::key(&child) {
            let Some(value) = map.get_mut(&name) else { continue };
            if value.is_null() {
                // Written but empty (`api_key:`): the same as not written.
                map.remove(&name);
                continue;
            }
            if let Err(message) = normalise(key, value, out) {
                out.errors.push(Problem::new(&child, message));
                map.remove(&name);
            }
        } else {
            out.warnings.push(unknown_key_warning(&child));
        }
    }
    fill_defaults(path, map, out);
}

fn fill_defaults(path: &str, map: &mut Map<String, Value>, out: &mut Checked) {
    for key in KEYS.iter().filter(|k| parent_of(k.path) == path) {
        let leaf = leaf_of(key.path);
        if map.contains_key(leaf) {
            continue;
        }
        if let Some(default) = key.default {
            if let Ok(value) = serde_json::from_str(default) {
                map.insert(leaf.to_string(), value);
            }
        }
    }
    for section in SECTIONS.iter().filter(|s| parent_of(s.path) == path && !s.optional) {
        let leaf = leaf_of(section.path);
        if !map.contains_key(leaf) {
            let mut inner = Map::new();
            check_map(section.path, &mut inner, out);
            map.insert(leaf.to_string(), Value::Object(inner));
        }
    }
}

/// What a value looks like, for messages (never the value of a secret).
fn describe(key: &Key, value: &Value) -> String {
    if key.kind == Kind::Secret {
        return match value {
            Value::Array(_) => "a list".into(),
            Value::Object(_) => "a map".into(),
            _ => "a value".into(),
        };
    }
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a map".into(),
        other => other.to_string(),
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Turns `value` into the shape `key` expects, or says why it cannot.
fn normalise(key: &Key, value: &mut Value, out: &mut Checked) -> Result<(), String> {
    match key.kind {
        Kind::Text | Kind::Secret => {
            let text =
                scalar_text(value).ok_or_else(|| format!("expected text, found {}", describe(key, value)))?;
            *value = Value::String(text);
        }
        Kind::Url => {
            let text = scalar_text(value)
                .ok_or_else(|| format!("expected a URL, found {}", describe(key, value)))?;
            let trimmed = text.trim();
            // Messages quote the URL without its user information: it may hold a password.
            let shown = without_userinfo(trimmed);
            let parsed = url::Url::parse(trimmed);
            if let (Ok(u), Some(keys)) = (&parsed, credential_keys(key.path)) {
                if !u.username().is_empty() || u.password().is_some() {
                    return Err(format!(
                        "{shown:?} carries credentials (user:password@); they would travel and be \
                         logged with the URL. Remove them from the URL and set {keys} instead"
                    ));
                }
            }
            match parsed {
                Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {
                    *value = Value::String(trimmed.to_string());
                }
                Ok(u) => {
                    return Err(format!(
                        "{shown:?} is not an http(s) URL (scheme {:?}); write e.g. https://host:port",
                        u.scheme()
                    ))
                }
                Err(e) => return Err(format!("{shown:?} is not a URL ({e}); write e.g. https://host:port")),
            }
        }
        Kind::Bool => {
            let parsed = match value {
                Value::Bool(b) => Some(*b),
                Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                    "true" | "yes" | "on" | "1" => Some(true),
                    "false" | "no" | "off" | "0" => Some(false),
                    _ => None,
                },
                _ => None,
            };
            let b =
                parsed.ok_or_else(|| format!("expected true or false, found {}", describe(key, value)))?;
            *value = Value::Bool(b);
        }
        Kind::Int { min, max } => {
            let parsed = match value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            let n =
                parsed.ok_or_else(|| format!("expected a whole number, found {}", describe(key, value)))?;
            if n < min || n > max {
                return Err(range_message(n as f64, min as f64, max as f64, i64::MAX as f64));
            }
            *value = Value::from(n);
        }
        Kind::Float { min, max } => {
            let parsed = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            let n = parsed
                .filter(|n| n.is_finite())
                .ok_or_else(|| format!("expected a number, found {}", describe(key, value)))?;
            if n < min || n > max {
                return Err(range_message(n, min, max, f64::MAX));
            }
            *value = Value::from(n);
        }
        Kind::OneOf(choices) => {
            let text = scalar_text(value).unwrap_or_default().trim().to_ascii_lowercase();
            if !choices.contains(&text.as_str()) {
                return Err(format!("{} is not one of: {}", describe(key, value), choices.join(", ")));
            }
            *value = Value::String(text);
        }
        Kind::List => {
            let items: Vec<String> = match value {
                Value::String(s) => s.split(',').map(|p| p.trim().to_string()).collect(),
                Value::Array(items) => {
                    let mut texts = Vec::new();
                    for item in items.iter() {
                        texts.push(scalar_text(item).ok_or_else(|| {
                            "expected a list of text items, found a nested list or map".to_string()
                        })?);
                    }
                    texts.into_iter().map(|t| t.trim().to_string()).collect()
                }
                _ => return Err(format!("expected a list, found {}", describe(key, value))),
            };
            // A trailing comma must not produce an empty item (Elastic #3090).
            *value = Value::Array(items.into_iter().filter(|i| !i.is_empty()).map(Value::String).collect());
        }
        Kind::TextMap => {
            let Value::Object(map) = value else {
                return Err(format!("expected a map of names to values, found {}", describe(key, value)));
            };
            for (name, v) in map.iter_mut() {
                let text = scalar_text(v).ok_or_else(|| format!("{name}: expected text"))?;
                *v = Value::String(text);
            }
        }
        Kind::Schedule => {
            let text = scalar_text(value).ok_or_else(|| {
                format!("expected a cron expression or an interval, found {}", describe(key, value))
            })?;
            crate::schedule::Schedule::parse(&text).map_err(|e| e.to_string())?;
            *value = Value::String(text.trim().to_string());
        }
        Kind::Connectors => normalise_connectors(key, value, out)?,
        Kind::AdvancedRules => {
            let problems = advanced_rule_problems(value)?;
            out.errors.extend(problems.into_iter().map(|p| Problem::new(key.path, p)));
        }
        Kind::BasicRules => {
            let problems = basic_rule_problems(value)?;
            out.errors.extend(problems.into_iter().map(|p| Problem::new(key.path, p)));
        }
        Kind::Any => {}
    }
    Ok(())
}

fn range_message(n: f64, min: f64, max: f64, unbounded: f64) -> String {
    if max >= unbounded {
        format!("{n} is too small: the least allowed is {min}")
    } else {
        format!("{n} is out of range: allowed {min} to {max}")
    }
}

fn normalise_connectors(key: &Key, value: &mut Value, out: &mut Checked) -> Result<(), String> {
    let Value::Array(entries) = value else {
        return Err(format!("expected a list of connectors, found {}", describe(key, value)));
    };
    let mut kept = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Value::Object(map) = entry else {
            return Err(format!("[{i}]: expected {{connector_id, service_type, api_key}}"));
        };
        let mut clean = Map::new();
        for (name, v) in map {
            match name.as_str() {
                "connector_id" | "service_type" | "api_key" => {
                    let text = scalar_text(v).ok_or_else(|| format!("[{i}].{name}: expected text"))?;
                    clean.insert(name.clone(), Value::String(text));
                }
                other => out.warnings.push(format!(
                    "connectors[{i}].{other}: unknown key, ignored (known: connector_id, service_type, api_key)"
                )),
            }
        }
        if clean.get("connector_id").and_then(Value::as_str).unwrap_or("").is_empty() {
            out.warnings.push(format!("connectors[{i}]: no connector_id, entry skipped"));
            continue;
        }
        kept.push(Value::Object(clean));
    }
    *value = Value::Array(kept);
    Ok(())
}

/// Advanced rules: a JSON array of objects, each exactly `{"query": "<non-empty CQL>"}`.
/// Kibana stores them as JSON text, so a string holding that JSON is accepted too. `Err`
/// when the value as a whole is not such a list; otherwise one message per problem, each
/// naming its rule as `advanced rule N` from 1 (as Confluence's own check of the rules
/// does, `sync::advanced_rules::check_remotely`).
fn advanced_rule_problems(value: &mut Value) -> Result<Vec<String>, String> {
    if let Value::String(text) = value {
        let parsed: Value = serde_json::from_str(text)
            .map_err(|e| format!("not valid JSON: {e}; expected [{{\"query\": \"<CQL>\"}}]"))?;
        *value = parsed;
    }
    let Value::Array(rules) = value else {
        return Err("expected a list of {query: <CQL>} objects".into());
    };
    let mut problems = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let n = i + 1;
        let Value::Object(map) = rule else {
            problems.push(format!("advanced rule {n}: expected an object {{query: <CQL>}}"));
            continue;
        };
        for name in map.keys().filter(|k| k.as_str() != "query") {
            problems.push(format!("advanced rule {n}: unknown key {name:?}; a rule holds only \"query\""));
        }
        match map.get("query") {
            Some(Value::String(q)) if !q.trim().is_empty() => match confluence_cql::parse(q) {
                Ok(query) => {
                    for e in confluence_cql::validate_fields(&query) {
                        problems.push(format!("advanced rule {n} ({q:?}): {e}"));
                    }
                }
                Err(e) => problems.push(format!("advanced rule {n} ({q:?}): {e}")),
            },
            Some(Value::String(_)) => problems.push(format!("advanced rule {n}: the query is empty")),
            Some(_) => problems.push(format!("advanced rule {n}: the query must be text")),
            None => problems.push(format!("advanced rule {n}: missing \"query\"")),
        }
    }
    Ok(problems)
}

/// The text fields of a basic rule.
const BASIC_TEXT_FIELDS: [&str; 5] = ["id", "policy", "field", "rule", "value"];

/// Basic rules: each is brought into the shape [`crate::config::BasicRule`] reads (scalars
/// as text, `order` as a whole number, absent text as empty), then checked by
/// [`crate::rules::BasicRules::compile`] — so what a user sees here are exactly the
/// messages the rules' own validator gives (and tests), each naming the rule by its id.
/// `Err` when the value is not a list at all.
fn basic_rule_problems(value: &mut Value) -> Result<Vec<String>, String> {
    use crate::rules::RuleError;

    let Value::Array(rules) = value else {
        return Err("expected a list of rules {id, policy, field, rule, value, order}".into());
    };
    let mut shape: Vec<RuleError> = Vec::new();
    // Fields whose problem is already told: the validator's "is required" would mislead.
    let mut told: Vec<(usize, &str)> = Vec::new();
    let mut parsed: Vec<(usize, crate::config::BasicRule)> = Vec::new();
    for (i, rule) in rules.iter_mut().enumerate() {
        let position = i + 1;
        let Value::Object(map) = rule else {
            shape.push(RuleError {
                rule_id: String::new(),
                position,
                message: "expected a rule {id, policy, field, rule, value, order}".into(),
            });
            continue;
        };
        let id = map.get("id").and_then(scalar_text).unwrap_or_default();
        let mut problem = |message: String| shape.push(RuleError { rule_id: id.clone(), position, message });
        for name in BASIC_TEXT_FIELDS {
            let text = match map.get(name) {
                None | Some(Value::Null) => String::new(),
                Some(v) => scalar_text(v).unwrap_or_else(|| {
                    problem(format!("{name} must be text, a number or a boolean, not a list or a map"));
                    told.push((position, name));
                    String::new()
                }),
            };
            map.insert(name.into(), Value::String(text));
        }
        let order = match map.get("order") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match order {
            Some(n) => {
                map.insert("order".into(), Value::from(n));
            }
            None => {
                problem("order is required and must be a whole number: rules apply in ascending order".into())
            }
        }
        // The rest is the validator's to judge, whatever the order.
        let mut checked = map.clone();
        checked.insert("order".into(), Value::from(order.unwrap_or(0)));
        match serde_json::from_value(Value::Object(checked)) {
            Ok(rule) => parsed.push((position, rule)),
            Err(e) => problem(format!("cannot be read: {e}")),
        }
    }
    let mut problems = shape;
    let (places, parsed): (Vec<usize>, Vec<crate::config::BasicRule>) = parsed.into_iter().unzip();
    if let Err(errors) = crate::rules::BasicRules::compile(&parsed) {
        for mut e in errors {
            // `compile` numbers the rules it was given: put each back in its place in the list.
            e.position = e.position.checked_sub(1).and_then(|i| places.get(i)).copied().unwrap_or(e.position);
            let field = e.message.split(' ').next().unwrap_or_default();
            if !told.contains(&(e.position, field)) {
                problems.push(e);
            }
        }
    }
    problems.sort_by_key(|e| e.position);
    Ok(problems.iter().map(ToString::to_string).collect())
}

/// For a URL key whose credentials have keys of their own, those keys: user information
/// in such a URL is refused. (A proxy URL may carry its own credentials: that is the only
/// way to give them.)
fn credential_keys(path: &str) -> Option<&'static str> {
    match path {
        "elasticsearch.host" => {
            Some("elasticsearch.username and elasticsearch.password, or elasticsearch.api_key")
        }
        "confluence.confluence_url" => Some(
            "confluence.username and confluence.password (Server), confluence.data_center_username and \
             confluence.data_center_password (Data Center), or confluence.account_email and \
             confluence.api_token (Cloud)",
        ),
        "extraction_service.host" => Some("the extraction service's own credentials"),
        _ => None,
    }
}

/// `text` with whatever sits between `scheme://` and an `@` of the authority replaced by
/// `***`, so that no message repeats a password written into a URL, even an unparsable one.
fn without_userinfo(text: &str) -> String {
    let Some(start) = text.find("://").map(|i| i + 3) else {
        return text.to_string();
    };
    let end = text[start..].find(['/', '?', '#']).map_or(text.len(), |i| start + i);
    match text[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &text[start + at..]),
        None => text.to_string(),
    }
}

fn unknown_key_warning(path: &str) -> String {
    match closest_known(path) {
        Some(known) => format!("unknown key {path} is ignored; did you mean {known}?"),
        None => format!("unknown key {path} is ignored"),
    }
}

/// The known key or section path nearest to `path`, when it is near enough to be a typo.
fn closest_known(path: &str) -> Option<&'static str> {
    let candidates = KEYS.iter().map(|k| k.path).chain(SECTIONS.iter().map(|s| s.path));
    let leaf = leaf_of(path);
    candidates
        .map(|c| {
            let whole = edit_distance(path, c);
            // A right leaf under the wrong section is also a useful suggestion.
            let by_leaf = edit_distance(leaf, leaf_of(c)) + usize::from(parent_of(path) != parent_of(c));
            (whole.min(by_leaf), c)
        })
        .filter(|(d, _)| *d <= (leaf.chars().count() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters (also what names the closest space key to a
/// mistyped one, [`crate::confluence::configured_spaces`]).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_defaults_and_coerces_text() {
        let mut tree =
            json!({"elasticsearch": {"bulk": {"chunk_size": "42"}}, "confluence": {"spaces": "DEV, OPS,"}});
        let checked = check(&mut tree);
        assert!(checked.errors.is_empty(), "{:?}", checked.errors);
        assert_eq!(tree["elasticsearch"]["bulk"]["chunk_size"], json!(42));
        assert_eq!(tree["elasticsearch"]["bulk"]["max_concurrency"], json!(5));
        assert_eq!(tree["elasticsearch"]["host"], json!("http://localhost:9200"));
        assert_eq!(tree["confluence"]["spaces"], json!(["DEV", "OPS"]));
        assert_eq!(tree["confluence"]["concurrent_downloads"], json!(50));
        assert_eq!(tree["service"]["max_file_download_size"], json!(10485760));
        assert_eq!(tree["service"]["max_download_memory"], json!(64 * 1024 * 1024));
        assert!(tree.get("extraction_service").is_none());
    }

    #[test]
    fn collects_every_problem_with_its_path() {
        let mut tree = json!({
            "elasticsearch": {"bulk": {"chunk_size": "lots"}, "host": "not a url"},
            "confluence": {"data_source": "confluence_clod", "concurrent_downloads": 51},
        });
        let checked = check(&mut tree);
        let paths: Vec<&str> = checked.errors.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "elasticsearch.host",
                "elasticsearch.bulk.chunk_size",
                "confluence.data_source",
                "confluence.concurrent_downloads"
            ],
            "{:?}",
            checked.errors
        );
        assert!(checked.errors[2].message.contains("confluence_cloud"));
        assert!(checked.errors[3].message.contains("1 to 50"), "{}", checked.errors[3].message);
    }

    #[test]
    fn unknown_keys_warn_with_the_closest_key() {
        let mut tree = json!({"elasticsearch": {"bulk": {"chunk_sise": 3}}, "confluence": {"index_lables": true}, "zzz": 1});
        let checked = check(&mut tree);
        assert!(checked.errors.is_empty());
        assert_eq!(
            checked.warnings,
            [
                "unknown key confluence.index_lables is ignored; did you mean confluence.index_labels?",
                "unknown key elasticsearch.bulk.chunk_sise is ignored; did you mean elasticsearch.bulk.chunk_size?",
                "unknown key zzz is ignored",
            ]
        );
    }

    #[test]
    fn credentials_in_urls_are_refused_without_being_repeated() {
        let mut tree = json!({
            "elasticsearch": {"host": "http://elastic:S3CRET-PW@localhost:9200"},
            "confluence": {"confluence_url": "https://bob:S3CRET-TOKEN@wiki.example.com/confluence"},
        });
        let checked = check(&mut tree);
        let paths: Vec<&str> = checked.errors.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["elasticsearch.host", "confluence.confluence_url"], "{:?}", checked.errors);
        for problem in &checked.errors {
            assert!(!problem.message.contains("S3CRET"), "{}", problem.message);
            assert!(
                !problem.message.contains("bob") && !problem.message.contains("elastic:"),
                "{}",
                problem.message
            );
            assert!(problem.message.contains("carries credentials"), "{}", problem.message);
        }
        assert!(checked.errors[0].message.contains("elasticsearch.api_key"), "{}", checked.errors[0].message);
        assert!(checked.errors[1].message.contains("\"https://***@wiki.example.com/confluence\""));
        // A user name alone is refused too; a proxy may carry its credentials.
        let mut tree =
            json!({"confluence": {"confluence_url": "https://bob@wiki", "proxy": "http://u:p@proxy:3128"}});
        let checked = check(&mut tree);
        assert_eq!(checked.errors.len(), 1, "{:?}", checked.errors);
        assert_eq!(checked.errors[0].path, "confluence.confluence_url");
        // Other problems of such a URL do not repeat the password either.
        let mut tree = json!({"elasticsearch": {"host": "ftp://u:S3CRET-PW@host"}});
        let checked = check(&mut tree);
        assert!(!checked.errors[0].message.contains("S3CRET"), "{}", checked.errors[0].message);
        assert_eq!(without_userinfo("http://a:b@c@host:1/x@y"), "http://***@host:1/x@y");
        assert_eq!(without_userinfo("not a url"), "not a url");
    }

    #[test]
    fn secrets_are_not_echoed_in_messages() {
        let mut tree = json!({"confluence": {"api_token": ["s3cr3t-token"]}});
        let checked = check(&mut tree);
        assert_eq!(checked.errors.len(), 1);
        assert!(!checked.errors[0].message.contains("s3cr3t"));
    }

    #[test]
    fn advanced_rules_accept_json_text_and_report_each_bad_rule() {
        let mut good = json!({"confluence": {"sync_rules": {"advanced": "[{\"query\": \"space = DEV\"}]"}}});
        assert!(check(&mut good).errors.is_empty());
        assert_eq!(good["confluence"]["sync_rules"]["advanced"], json!([{"query": "space = DEV"}]));

        let mut bad = json!({"confluence": {"sync_rules": {"advanced": [
            {"query": ""}, {"qurey": "x"}, {"query": "space = DEV AND (type = page"}, {"query": "lastmodifed > now('-1d')"}
        ]}}});
        let checked = check(&mut bad);
        let shown: Vec<String> = checked.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "confluence.sync_rules.advanced: advanced rule 1: the query is empty",
                "confluence.sync_rules.advanced: advanced rule 2: unknown key \"qurey\"; a rule holds only \"query\"",
                "confluence.sync_rules.advanced: advanced rule 2: missing \"query\"",
                "confluence.sync_rules.advanced: advanced rule 3 (\"space = DEV AND (type = page\"): CQL: expected ')' \
                 to close the '(' at position 16, found end of query at position 28",
                "confluence.sync_rules.advanced: advanced rule 4 (\"lastmodifed > now('-1d')\"): CQL: unknown field \
                 'lastmodifed' at position 0; did you mean 'lastmodified'?",
            ]
        );
    }

    /// What a user is shown for basic rules is what the rules' validator says (its own
    /// table of exact messages is in `rules::basic::validate`), each message naming the rule
    /// by its id, or by its place in the list (from 1) when it has none; shape problems the
    /// validator cannot see (`order`, a list where text belongs) are told the same way.
    #[test]
    fn basic_rules_are_reported_with_the_validators_messages() {
        let mut tree = json!({"confluence": {"sync_rules": {"basic": [
            {"id": "drafts", "policy": "exclude", "field": "title", "rule": "regex", "value": "(", "order": 1},
            {"policy": "include", "field": "type", "rule": "equals", "value": "page", "order": "2"},
            {"id": "sizes", "policy": "Exclude", "field": "size", "rule": ">", "value": 1024},
            "not a rule",
            {"id": "lists", "policy": "exclude", "field": ["title"], "rule": "equals", "value": "x", "order": 5},
            {"id": "DEFAULT", "policy": "include", "field": "_", "rule": "regex", "value": ".*", "order": 0}
        ]}}});
        let checked = check(&mut tree);
        let shown: Vec<String> = checked.errors.iter().map(ToString::to_string).collect();
        let path = "confluence.sync_rules.basic";
        assert_eq!(
            shown,
            [
                format!(r#"{path}: basic rule "drafts": regex "(" does not compile: unclosed group"#),
                format!("{path}: basic rule #2: id is required: give the rule a unique id"),
                format!(
                    r#"{path}: basic rule "sizes": order is required and must be a whole number: rules apply in ascending order"#
                ),
                format!("{path}: basic rule #4: expected a rule {{id, policy, field, rule, value, order}}"),
                format!(
                    r#"{path}: basic rule "lists": field must be text, a number or a boolean, not a list or a map"#
                ),
            ]
        );
        // The same rules, fixed, pass; text is normalised for the model.
        let mut fixed = json!({"confluence": {"sync_rules": {"basic": [
            {"id": "sizes", "policy": "Exclude", "field": "size", "rule": ">", "value": 1024, "order": "3"}
        ]}}});
        assert!(check(&mut fixed).errors.is_empty());
        assert_eq!(
            fixed["confluence"]["sync_rules"]["basic"][0],
            json!({"id": "sizes", "policy": "Exclude", "field": "size", "rule": ">", "value": "1024", "order": 3})
        );
    }

    /// End to end: `load_str` stops with the validator's messages, one problem each.
    #[test]
    fn a_config_with_bad_basic_rules_names_each_rule() {
        let yaml = "confluence:\n  confluence_url: https://wiki\n  username: u\n  password: p\n  spaces: DEV\n  \
                    sync_rules:\n    basic:\n      - {id: a, policy: include, field: title, rule: equals, value: A, order: 1}\n      \
                    - {id: b, policy: include, field: title, rule: equals, value: A, order: 2}\n";
        let error =
            crate::config::load_str(yaml, &std::collections::HashMap::new()).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "config has 2 problems:\n  - confluence.sync_rules.basic: basic rule \"a\": same field, rule and value \
                 as rule \"b\" (title equals \"A\"): keep only one of them\n  - confluence.sync_rules.basic: basic rule \
                 \"b\": same field, rule and value as rule \"a\" (title equals \"A\"): keep only one of them"
            )
        );
    }

    #[test]
    fn connectors_without_id_are_skipped_with_a_warning() {
        let mut tree = json!({"connectors": [{"connector_id": 12, "service_type": "confluence"}, {"service_type": "x"}]});
        let checked = check(&mut tree);
        assert!(checked.errors.is_empty());
        assert_eq!(tree["connectors"], json!([{"connector_id": "12", "service_type": "confluence"}]));
        assert_eq!(checked.warnings, ["connectors[1]: no connector_id, entry skipped"]);
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
#[cfg(test)]
mod advanced_rule_table {
    use super::*;
    use serde_json::json;

    /// Good and bad advanced rules, with the exact message a user sees for each bad one.
    #[test]
    fn advanced_rules_are_validated_with_exact_messages() {
        // `Err`: the value as a whole; `Ok`: one message per problem of a rule.
        let cases: Vec<(Value, Result<Vec<&str>, &str>)> = vec![
            (json!([]), Ok(vec![])),
            (json!([{"query": "space = DEV"}]), Ok(vec![])),
            (json!([{"query": "created >= now('-5w') and lastmodified < startOfYear()"}]), Ok(vec![])),
            (json!([{"query": "type in ('page', 'attachment') AND space.key = 'SD'"}]), Ok(vec![])),
            (json!([{"query": "space = DEV order by created desc"}]), Ok(vec![])),
            (json!({"query": "space = DEV"}), Err("expected a list of {query: <CQL>} objects")),
            (json!(["space = DEV"]), Ok(vec!["advanced rule 1: expected an object {query: <CQL>}"])),
            (json!([{}]), Ok(vec!["advanced rule 1: missing \"query\""])),
            (json!([{"query": 3}]), Ok(vec!["advanced rule 1: the query must be text"])),
            (json!([{"query": "space = DEV"}, {"query": "  "}]), Ok(vec!["advanced rule 2: the query is empty"])),
            (
                json!([{"query": "space = DEV", "limit": 5}]),
                Ok(vec!["advanced rule 1: unknown key \"limit\"; a rule holds only \"query\""]),
            ),
            (
                json!([{"query": "space = DEV AND (type = page"}]),
                Ok(vec![
                    "advanced rule 1 (\"space = DEV AND (type = page\"): CQL: expected ')' to close the '(' at \
                     position 16, found end of query at position 28",
                ]),
            ),
            (
                json!([{"query": "space = "}]),
                Ok(vec!["advanced rule 1 (\"space = \"): CQL: expected a value, found end of query at position 8"]),
            ),
            (
                json!([{"query": "titel ~ \"x\""}]),
                Ok(vec![
                    "advanced rule 1 (\"titel ~ \\\"x\\\"\"): CQL: unknown field 'titel' at position 0; did you mean \
                     'title'?",
                ]),
            ),
            (
                json!([{"query": "space = DEV order by"}]),
                Ok(vec![
                    "advanced rule 1 (\"space = DEV order by\"): CQL: expected a field name to order by, found end \
                     of query at position 20",
                ]),
            ),
            (
                json!([{"query": "created > now('-5q')"}]),
                Ok(vec![
                    "advanced rule 1 (\"created > now('-5q')\"): CQL: \"-5q\" in the clause at position 0 is not an \
                     increment like \"-4w\" or \"+2d\": (+/-)nn(y|M|w|d|h|m) (years, Months, weeks, days, hours, \
                     minutes)",
                ]),
            ),
            (
                json!("[{\"query\": \"space = DEV\"]"),
                Err("not valid JSON: expected `,` or `}` at line 1 column 25; expected [{\"query\": \"<CQL>\"}]"),
            ),
        ];
        for (rules, expected) in cases {
            let mut value = rules.clone();
            let got = advanced_rule_problems(&mut value);
            let got: Result<Vec<&str>, &str> =
                got.as_ref().map(|p| p.iter().map(String::as_str).collect()).map_err(String::as_str);
            assert_eq!(got, expected, "{rules}");
        }
    }
}
