//! Reading `config.yml` into one tree: the file, `${VAR}` interpolation, dotted keys, then
//! environment overrides.
//!
//! Layers, lowest first:
//! 1. the YAML file; a top-level key with dots (`elasticsearch.bulk.chunk_size: 500`) is the
//!    same as the nested form, and both may be mixed, as in Elastic's connector;
//! 2. `${VAR}` (or `${VAR:default}`) inside any string value is replaced by the environment
//!    variable, so secrets can stay out of the file; an unset variable without a default is
//!    an error naming the key; `${file:…}` is left for [`secrets`](super::secrets);
//! 3. environment variables `CONFLUENCE_CONNECTOR__<PATH>` where `__` separates the levels:
//!    `CONFLUENCE_CONNECTOR__ELASTICSEARCH__HOST`, `CONFLUENCE_CONNECTOR__CONFLUENCE__API_TOKEN`,
//!    `CONFLUENCE_CONNECTOR__ELASTICSEARCH__BULK__CHUNK_SIZE`. Their values are text; the
//!    validator turns them into numbers, booleans or lists (`DEV,OPS`).
//!
//! The `config` crate does the layering; this module only prepares the file layer.

use std::collections::HashMap;
use std::path::Path;

use config::{Config as Layers, Environment, File, FileFormat, Map, Source};
use serde_json::Value;

use super::ConfigError;

/// Prefix of the environment variables that override the file.
pub(super) const ENV_PREFIX: &str = "CONFLUENCE_CONNECTOR";

/// Reads the file at `path` and the environment into one JSON tree.
pub(super) fn read(path: &Path, env: &HashMap<String, String>) -> Result<Value, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Read { path: path.display().to_string(), reason: e.to_string() })?;
    read_str(&text, env)
}

/// Like [`read`], from the file's text.
pub(super) fn read_str(text: &str, env: &HashMap<String, String>) -> Result<Value, ConfigError> {
    let file_layer = parse_yaml(text)?;
    let mut problems = Vec::new();
    let file_layer = interpolate(file_layer, "", env, &mut problems);
    let mut nested = nest_dotted_keys(file_layer);
    forgive_unused_credentials(&mut nested, env, &mut problems);
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems, Vec::new()));
    }

    let env_layer = Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        .source(Some(env.clone().into_iter().collect()));
    let json = serde_json::to_string(&nested).map_err(|e| ConfigError::Parse(e.to_string()))?;
    let layered = Layers::builder()
        .add_source(File::from_str(&json, FileFormat::Json))
        .add_source(env_layer)
        .build()
        .map_err(|e| ConfigError::Parse(e.to_string()))?;
    layered.try_deserialize::<Value>().map_err(|e| ConfigError::Parse(e.to_string()))
}

/// One `CONFLUENCE_CONNECTOR__…` variable and the key path it overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EnvOverride {
    /// The dotted key path, lower case (`confluence.retry_count`).
    pub(crate) path: String,
    /// The variable's name.
    pub(crate) var: String,
}

/// The override variables of `env`, and a warning for each variable that starts like one
/// but overrides nothing (`CONFLUENCE_CONNECTOR_CONFLUENCE__API_TOKEN`: one `_` too few).
pub(super) fn env_overrides(env: &HashMap<String, String>) -> (Vec<EnvOverride>, Vec<String>) {
    let mut overrides = Vec::new();
    let mut warnings = Vec::new();
    let full_prefix = format!("{ENV_PREFIX}__");
    for var in env.keys() {
        if let Some(rest) = var.strip_prefix(&full_prefix) {
            let parts: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            if parts.iter().any(String::is_empty) {
                warnings.push(format!(
                    "environment variable {var} is ignored: write it as {full_prefix}<SECTION>__<KEY>, one `__` between levels"
                ));
            } else {
                overrides.push(EnvOverride { path: parts.join("."), var: var.clone() });
            }
        } else if var.starts_with(ENV_PREFIX) {
            warnings.push(format!(
                "environment variable {var} is ignored: overrides start with {full_prefix} (two underscores)"
            ));
        }
    }
    overrides.sort_by(|a, b| a.var.cmp(&b.var));
    warnings.sort();
    (overrides, warnings)
}

/// The credential keys only some flavours use: (key under `confluence`, the `data_source`
/// values that use it).
const FLAVOUR_CREDENTIALS: [(&str, &[&str]); 8] = [
    ("username", &["confluence_server"]),
    ("password", &["confluence_server"]),
    ("account_email", &["confluence_cloud"]),
    ("api_token", &["confluence_cloud"]),
    ("oauth_access_token", &["confluence_cloud"]),
    ("data_center_username", &["confluence_data_center"]),
    ("data_center_password", &["confluence_data_center"]),
    ("data_center_personal_access_token", &["confluence_data_center"]),
];

/// An unset `${VAR}` in a credential the chosen flavour does not use is no problem (a Cloud
/// site does not need the Server password's variable): the key is dropped instead.
fn forgive_unused_credentials(
    tree: &mut Value,
    env: &HashMap<String, String>,
    problems: &mut Vec<super::Problem>,
) {
    let from_env = env.get(&format!("{ENV_PREFIX}__CONFLUENCE__DATA_SOURCE")).map(|v| v.trim().to_string());
    let data_source = from_env
        .or_else(|| tree["confluence"]["data_source"].as_str().map(|v| v.trim().to_string()))
        .unwrap_or_else(|| "confluence_server".to_string());
    problems.retain(|problem| {
        let Some(key) = problem.path.strip_prefix("confluence.") else { return true };
        let unused = FLAVOUR_CREDENTIALS
            .iter()
            .any(|(name, flavours)| *name == key && !flavours.contains(&data_source.as_str()));
        if unused {
            if let Some(section) = tree.get_mut("confluence").and_then(Value::as_object_mut) {
                section.remove(key);
            }
        }
        !unused
    });
}

/// Parses YAML with the `config` crate's parser, keeping keys exactly as written.
fn parse_yaml(text: &str) -> Result<Value, ConfigError> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let map: Map<String, config::Value> =
        File::from_str(text, FileFormat::Yaml).collect().map_err(|e| ConfigError::Parse(e.to_string()))?;
    let mut out = serde_json::Map::new();
    for (key, value) in map {
        let value =
            value.try_deserialize::<Value>().map_err(|e| ConfigError::Parse(format!("{key}: {e}")))?;
        out.insert(key, value);
    }
    Ok(Value::Object(out))
}

/// Replaces `${VAR}` and `${VAR:default}` in every string of the tree.
fn interpolate(
    value: Value,
    path: &str,
    env: &HashMap<String, String>,
    problems: &mut Vec<super::Problem>,
) -> Value {
    match value {
        Value::String(s) => match expand(&s, env) {
            Ok(expanded) => Value::String(expanded),
            Err(var) => {
                problems.push(super::Problem::new(
                    path,
                    format!("environment variable {var} is not set (used as ${{{var}}})"),
                ));
                Value::String(s)
            }
        },
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| interpolate(v, &format!("{path}[{i}]"), env, problems))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let child = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    (k, interpolate(v, &child, env, problems))
                })
                .collect(),
        ),
        other => other,
    }
}

/// Expands one string; on an unset variable without default, returns its name.
fn expand(s: &str, env: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            // No closing brace: not a reference, keep the text as written.
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let reference = &after[..end];
        if reference.starts_with("file:") {
            // A secret file (`${file:/run/secrets/x}`), read with the other secrets
            // (`config::secrets`): kept as written.
            out.push_str(&rest[start..start + 2 + end + 1]);
            rest = &after[end + 1..];
            continue;
        }
        let (name, default) = match reference.split_once(":-").or_else(|| reference.split_once(':')) {
            Some((n, d)) => (n, Some(d)),
            None => (reference, None),
        };
        match (env.get(name), default) {
            (Some(v), _) => out.push_str(v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => return Err(name.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Splits top-level keys with dots into nested maps, merging with the nested form.
fn nest_dotted_keys(value: Value) -> Value {
    let Value::Object(map) = value else { return value };
    let mut out = Value::Object(Default::default());
    // Nested maps first, so that a dotted key overrides the nested form wherever it is written.
    let (dotted, plain): (Vec<_>, Vec<_>) = map.into_iter().partition(|(k, _)| k.contains('.'));
    for (key, value) in plain.into_iter().chain(dotted) {
        let parts: Vec<&str> = key.split('.').collect();
        merge_at(&mut out, &parts, value);
    }
    out
}

/// Sets `value` at `parts` inside `target`, merging maps instead of replacing them.
fn merge_at(target: &mut Value, parts: &[&str], value: Value) {
    let Some((first, rest)) = parts.split_first() else { return };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let Value::Object(map) = target else { return };
    if rest.is_empty() {
        match (map.get_mut(*first), value) {
            (Some(existing @ Value::Object(_)), Value::Object(incoming)) => {
                for (k, v) in incoming {
                    merge_at(existing, &[k.as_str()], v);
                }
            }
            (_, value) => {
                map.insert((*first).to_string(), value);
            }
        }
    } else {
        let child = map.entry((*first).to_string()).or_insert_with(|| Value::Object(Default::default()));
        merge_at(child, rest, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_cloud_config_does_not_need_the_server_password_variable() {
        let yaml = "confluence:\n  data_source: confluence_cloud\n  api_token: ${TOKEN}\n  password: ${SERVER_PASSWORD}\n";
        let tree = read_str(yaml, &env(&[("TOKEN", "t")])).unwrap();
        assert_eq!(tree["confluence"]["api_token"], json!("t"));
        assert!(tree["confluence"].get("password").is_none(), "{tree}");
        // The flavour's own credential still must be set.
        let error = read_str(yaml, &env(&[("SERVER_PASSWORD", "p")])).unwrap_err();
        assert!(error.to_string().contains("confluence.api_token: environment variable TOKEN"), "{error}");
        // The server flavour needs its password's variable.
        let server = yaml.replace("confluence_cloud", "confluence_server");
        assert!(read_str(&server, &env(&[("TOKEN", "t")])).is_err());
    }

    #[test]
    fn override_variables_name_their_key_and_malformed_ones_are_warned_about() {
        let (overrides, warnings) = env_overrides(&env(&[
            ("CONFLUENCE_CONNECTOR__CONFLUENCE__RETRY_COUNT", "3"),
            ("CONFLUENCE_CONNECTOR_CONFLUENCE__API_TOKEN", "t"),
            ("CONFLUENCE_CONNECTOR__CONFLUENCE____X", "t"),
            ("PATH", "/bin"),
        ]));
        assert_eq!(
            overrides,
            [EnvOverride {
                path: "confluence.retry_count".into(),
                var: "CONFLUENCE_CONNECTOR__CONFLUENCE__RETRY_COUNT".into()
            }]
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings.iter().any(|w| w.contains("CONFLUENCE_CONNECTOR_CONFLUENCE__API_TOKEN")),
            "{warnings:?}"
        );
    }

    #[test]
    fn dotted_and_nested_keys_merge() {
        let tree = read_str(
            "elasticsearch.bulk.chunk_size: 7\nelasticsearch:\n  host: http://es:9200\n  bulk:\n    max_concurrency: 3\n",
            &env(&[]),
        )
        .unwrap();
        assert_eq!(tree["elasticsearch"]["host"], json!("http://es:9200"));
        assert_eq!(tree["elasticsearch"]["bulk"]["chunk_size"], json!(7));
        assert_eq!(tree["elasticsearch"]["bulk"]["max_concurrency"], json!(3));
    }

    #[test]
    fn variables_are_interpolated_with_defaults() {
        let tree = read_str(
            "confluence:\n  api_token: ${TOKEN}\n  account_email: \"${EMAIL:me@example.com}\"\n  confluence_url: https://${HOST}/x\n",
            &env(&[("TOKEN", "t0k"), ("HOST", "site.example")]),
        )
        .unwrap();
        assert_eq!(tree["confluence"]["api_token"], json!("t0k"));
        assert_eq!(tree["confluence"]["account_email"], json!("me@example.com"));
        assert_eq!(tree["confluence"]["confluence_url"], json!("https://site.example/x"));
    }

    #[test]
    fn an_unset_variable_names_the_key() {
        let err = read_str("confluence:\n  data_source: confluence_cloud\n  api_token: ${NOPE}\n", &env(&[]))
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("confluence.api_token"), "{text}");
        assert!(text.contains("NOPE"), "{text}");
    }

    #[test]
    fn environment_overrides_the_file_and_keeps_case_of_values() {
        let tree = read_str(
            "elasticsearch:\n  host: http://file:9200\n",
            &env(&[
                ("CONFLUENCE_CONNECTOR__ELASTICSEARCH__HOST", "http://env:9200"),
                ("CONFLUENCE_CONNECTOR__ELASTICSEARCH__BULK__CHUNK_SIZE", "42"),
                ("CONFLUENCE_CONNECTOR__CONFLUENCE__API_TOKEN", "0123AbC"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(tree["elasticsearch"]["host"], json!("http://env:9200"));
        assert_eq!(tree["elasticsearch"]["bulk"]["chunk_size"], json!("42"));
        assert_eq!(tree["confluence"]["api_token"], json!("0123AbC"));
        assert!(tree.get("unrelated").is_none());
    }

    #[test]
    fn an_empty_file_is_an_empty_tree() {
        assert_eq!(read_str("", &env(&[])).unwrap(), json!({}));
    }
}
