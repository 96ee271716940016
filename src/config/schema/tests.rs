use super::*;

#[test]
fn defaults_are_valid_json_and_keys_sit_in_known_sections() {
    for k in KEYS {
        if let Some(d) = k.default {
            assert!(serde_json::from_str::<serde_json::Value>(d).is_ok(), "{}", k.path);
        }
        if let Some((parent, _)) = k.path.rsplit_once('.') {
            assert!(section(parent).is_some(), "{} has no section", k.path);
        }
    }
}

#[test]
fn the_eighteen_elastic_fields_are_all_here() {
    let fields = [
        "data_source",
        "username",
        "password",
        "data_center_auth_method",
        "data_center_username",
        "data_center_password",
        "data_center_personal_access_token",
        "account_email",
        "api_token",
        "confluence_url",
        "spaces",
        "index_labels",
        "ssl_enabled",
        "ssl_ca",
        "retry_count",
        "concurrent_downloads",
        "use_document_level_security",
        "use_text_extraction_service",
    ];
    for f in fields {
        assert!(key(&format!("confluence.{f}")).is_some(), "{f}");
    }
}

// The agreement of the other places that name a setting with this table (see the module
// doc): the typed configuration, and `config.yml.example`.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

/// Keys the typed configuration does not read: the table must say so.
fn accepted_only(key: &Key) -> bool {
    key.doc.starts_with("accepted for compatibility")
}

/// A configuration with every section present, each key at its default where it has one.
fn every_section() -> serde_json::Value {
    let text =
        "confluence:\n  confluence_url: http://wiki:8090\n  username: admin\n  password: pw\n  spaces: DEV\n\
                extraction_service:\n  host: http://extraction:8090\n";
    let loaded = super::super::load_str(text, &HashMap::new()).unwrap();
    serde_json::to_value(&loaded.config).unwrap()
}

/// The paths of the leaves of `tree` as the table names them: a key's value is a leaf even
/// when it is a list or a map.
fn leaf_paths(tree: &Value, path: &str, out: &mut BTreeSet<String>) {
    match tree {
        Value::Object(map) if key(path).is_none() => {
            for (name, value) in map {
                let child = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                leaf_paths(value, &child, out);
            }
        }
        _ => {
            out.insert(path.to_string());
        }
    }
}

/// Numbers compare by value (`10` and `10.0` are one default).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn at<'a>(tree: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(tree, |node, part| &node[part])
}

#[test]
fn every_field_of_the_typed_configuration_is_a_key_and_every_key_not_read_says_so() {
    let mut read = BTreeSet::new();
    leaf_paths(&every_section(), "", &mut read);
    for path in &read {
        let key =
            key(path).unwrap_or_else(|| panic!("the configuration reads {path}, which the schema lacks"));
        assert!(
            !accepted_only(key),
            "{path} is read, but its doc says it is accepted for compatibility only"
        );
    }
    for key in KEYS {
        assert!(
            read.contains(key.path) || accepted_only(key),
            "{} is in the schema but not read: add it to the typed configuration, or say \
             \"accepted for compatibility\" in its doc",
            key.path
        );
    }
}

#[test]
fn the_typed_configuration_holds_the_defaults_of_the_schema() {
    let config = every_section();
    for key in KEYS.iter().filter(|k| !accepted_only(k)) {
        let Some(default) = key.default else { continue };
        let default: Value = serde_json::from_str(default).unwrap();
        let value = at(&config, key.path);
        // A secret's default is shown redacted.
        if key.kind == Kind::Secret {
            assert!(value.is_string(), "{}", key.path);
            continue;
        }
        assert!(
            same(value, &default),
            "{}: the configuration holds {value}, the schema says {default}",
            key.path
        );
    }
}

#[test]
fn the_example_file_shows_each_default() {
    let example = include_str!("../../../config.yml.example");
    let mut tree = super::super::layers::read_str(example, &HashMap::new()).unwrap();
    let written = tree.clone();
    let checked = super::super::validate::check(&mut tree);
    assert!(checked.errors.is_empty(), "{:?}", checked.errors);
    for key in KEYS {
        let Some(default) = key.default else { continue };
        let default: Value = serde_json::from_str(default).unwrap();
        if at(&written, key.path).is_null() {
            continue;
        }
        let value = at(&tree, key.path);
        assert!(
            same(value, &default),
            "config.yml.example sets {} to {value}; its default is {default}",
            key.path
        );
    }
}
