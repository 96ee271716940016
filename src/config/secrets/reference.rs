//! Which keys may hold a secret kept elsewhere, and how such a reference is written.
//!
//! A reference is the whole value of a secret key: `${file:<path>}`, or AWS Secrets Manager
//! coordinates as a YAML map or as JSON text (an environment override can only give text).
//! Anything else is the secret itself.

use std::fmt;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::aws::Coordinates;
use crate::config::schema::{Kind, KEYS};
use crate::config::Problem;

/// Where a secret key's value lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A file holding the value.
    File(PathBuf),
    /// A secret in AWS Secrets Manager.
    Aws(Coordinates),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Aws(c) => write!(f, "{c}"),
        }
    }
}

/// A secret key whose value lives elsewhere.
#[derive(Debug, Clone)]
pub(super) struct Reference {
    /// The key as the user writes it, e.g. `connectors[0].api_key`.
    pub(crate) path: String,
    /// The same key as a JSON pointer into the tree, e.g. `/connectors/0/api_key`.
    pub(crate) pointer: String,
    /// Where the value lives.
    pub(crate) origin: Origin,
}

/// Keys besides the schema's secrets that may hold a reference: the CA certificate, and the
/// proxy URL, the only place proxy credentials can be written.
const ALSO_SECRET: &[&str] = &["confluence.ssl_ca", "confluence.proxy"];

/// Every key of `tree` that may hold a secret: (path, JSON pointer).
pub(super) fn secret_keys(tree: &Value) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = KEYS
        .iter()
        .filter(|k| k.kind == Kind::Secret)
        .map(|k| k.path)
        .chain(ALSO_SECRET.iter().copied())
        .map(|path| (path.to_string(), format!("/{}", path.replace('.', "/"))))
        .collect();
    if let Some(Value::Array(connectors)) = tree.get("connectors") {
        for i in 0..connectors.len() {
            keys.push((format!("connectors[{i}].api_key"), format!("/connectors/{i}/api_key")));
        }
    }
    keys
}

/// The references in `tree`; the malformed ones, and file references outside secret keys,
/// as problems.
pub(super) fn find(tree: &Value) -> Result<Vec<Reference>, Vec<Problem>> {
    let (mut references, mut problems) = (Vec::new(), Vec::new());
    for (path, pointer) in secret_keys(tree) {
        let Some(value) = tree.pointer(&pointer) else { continue };
        match origin(value) {
            Ok(Some(origin)) => references.push(Reference { path, pointer, origin }),
            Ok(None) => {}
            Err(why) => problems.push(Problem::new(&path, why)),
        }
    }
    let mut misplaced = Vec::new();
    file_references(tree, "", &mut misplaced);
    for (path, pointer) in misplaced {
        if !references.iter().any(|r| r.pointer == pointer) {
            problems.push(Problem::new(
                &path,
                "${file:…} is read only as the whole value of a secret key (passwords, tokens, \
                 API keys, confluence.ssl_ca, confluence.proxy)",
            ));
        }
    }
    if problems.is_empty() {
        Ok(references)
    } else {
        Err(problems)
    }
}

/// What `value` refers to: `None` for a value written in place.
fn origin(value: &Value) -> Result<Option<Origin>, String> {
    match value {
        Value::String(text) => {
            let text = text.trim();
            if let Some(path) = text.strip_prefix("${file:").and_then(|rest| rest.strip_suffix('}')) {
                let path = path.trim();
                if path.is_empty() {
                    return Err("${file:} names no file; write ${file:/path/to/secret}".into());
                }
                return Ok(Some(Origin::File(PathBuf::from(path))));
            }
            if text.starts_with('{') {
                // JSON text of coordinates (an environment override); any other text that
                // merely starts with a brace is a value.
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
                    if looks_like_coordinates(&map) {
                        return Coordinates::from_map(&map).map(|c| Some(Origin::Aws(c)));
                    }
                }
            }
            Ok(None)
        }
        Value::Object(map) => Coordinates::from_map(map).map(|c| Some(Origin::Aws(c))),
        _ => Ok(None),
    }
}

fn looks_like_coordinates(map: &Map<String, Value>) -> bool {
    map.keys().any(|k| matches!(super::aws::normalised(k).as_str(), "secretid" | "region"))
}

/// Every string of `tree` holding `${file:`, as (path, pointer).
fn file_references(value: &Value, pointer: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) if s.contains("${file:") => {
            let path = pointer.trim_start_matches('/').replace('/', ".");
            out.push((path, pointer.to_string()));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                file_references(item, &format!("{pointer}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                file_references(v, &format!("{pointer}/{k}"), out);
            }
        }
        _ => {}
    }
}
