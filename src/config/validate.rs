//! Checking the whole tree against the [`schema`] and filling in defaults.
//!
//! Every problem is collected, none stops the walk, so a user fixes a `config.yml` in one
//! round. Values written as text (as environment overrides always are) are turned into the
//! number, boolean or list the key expects. Unknown keys are warnings that name the closest
//! known key. A secret's value never appears in a message.

use serde_json::{Map, Value};

use super::schema::{self, Key, Kind, KEYS, SECTIONS};
use super::Problem;
use sync_rules::{advanced_rule_problems, basic_rule_problems};

/// The outcome of checking a tree.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    /// Problems that stop start-up.
    pub(crate) errors: Vec<Problem>,
    /// Unknown keys and other things worth a warning.
    pub(crate) warnings: Vec<String>,
}

/// Checks `tree` in place: normalises values and fills defaults.
pub(crate) fn check(tree: &mut Value) -> Checked {
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
    let (mut kept, mut foreign) = (Vec::new(), Vec::new());
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
        // Another source's connector would never be served, and nothing would say so.
        if let Some(other) = clean.get("service_type").and_then(Value::as_str).filter(|t| *t != "confluence")
        {
            foreign.push(format!(
                "[{i}].service_type: {other:?} is not served here: this service runs \"confluence\" \
                 connectors (run Elastic's connector service for the others)"
            ));
        }
        kept.push(Value::Object(clean));
    }
    if !foreign.is_empty() {
        return Err(foreign.join("; "));
    }
    *value = Value::Array(kept);
    Ok(())
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
/// mistyped one, `confluence::configured_spaces`).
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

mod sync_rules;

#[cfg(test)]
mod tests;
