use serde_json::json;

use super::*;
use crate::config::DataSource;

fn values(pairs: Value) -> Map<String, Value> {
    let mut configuration = default_configuration();
    for (name, value) in pairs.as_object().cloned().unwrap_or_default() {
        configuration[&name]["value"] = value;
    }
    configuration.as_object().cloned().unwrap()
}

fn settings<'a>(configuration: &'a Map<String, Value>, filtering: &'a Value) -> ConnectorSettings<'a> {
    static PIPELINE: std::sync::LazyLock<Value> = std::sync::LazyLock::new(
        || json!({"name": "search-default-ingestion", "extract_binary_content": true, "reduce_whitespace": true, "run_ml_inference": false}),
    );
    ConnectorSettings {
        configuration,
        index_name: "search-wiki",
        pipeline: &PIPELINE,
        filtering,
        basic_rules: true,
        advanced_rules: true,
    }
}

#[test]
fn the_schema_has_every_field_of_elastics_with_its_attributes_in_order() {
    let configuration = default_configuration();
    let fields = configuration.as_object().unwrap();
    assert_eq!(fields.len(), 19);
    let mut by_order: Vec<(&String, u64)> =
        fields.iter().map(|(k, v)| (k, v["order"].as_u64().unwrap())).collect();
    by_order.sort_by_key(|(_, order)| *order);
    let names: Vec<&str> = by_order.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(&names[..3], ["data_source", "username", "password"]);
    assert_eq!(names[17], "use_text_extraction_service");
    for (name, field) in fields {
        for attribute in [
            "display",
            "label",
            "order",
            "depends_on",
            "options",
            "sensitive",
            "tooltip",
            "type",
            "ui_restrictions",
            "validations",
            "value",
            "required",
        ] {
            assert!(field.get(attribute).is_some(), "{name}.{attribute}");
        }
        // Every field is a key of the `confluence:` section too.
        assert!(config::schema::key(&format!("confluence.{name}")).is_some(), "{name}");
    }
    assert_eq!(fields["api_token"]["sensitive"], json!(true));
    assert_eq!(fields["concurrent_downloads"]["validations"][0]["constraint"], json!(51));
}

/// What Kibana shows as a field's value before anyone edits it is the default of the same key
/// of the `confluence:` section: one set of defaults for both modes.
#[test]
fn kibanas_first_values_are_the_defaults_of_the_schema() {
    let configuration = default_configuration();
    for (name, field) in configuration.as_object().unwrap() {
        let key = config::schema::key(&format!("confluence.{name}")).unwrap();
        let default: Option<Value> = key.default.map(|d| serde_json::from_str(d).unwrap());
        for attribute in ["value", "default_value"] {
            let shown = &field[attribute];
            if shown.is_null() || shown == &json!("") {
                continue;
            }
            assert_eq!(Some(shown), default.as_ref(), "{name}.{attribute}");
        }
    }
}

#[test]
fn kibana_values_become_the_source_settings() {
    let configuration = values(json!({
        "data_source": "confluence_cloud", "account_email": "a@example.com", "api_token": "tok",
        "confluence_url": "https://example.atlassian.net", "spaces": "DEV, OPS", "concurrent_downloads": 7,
        "index_labels": true
    }));
    let filtering = json!({"rules": [
        {"id": "r1", "policy": "exclude", "field": "title", "rule": "starts_with", "value": "Draft", "order": 0},
        {"id": "DEFAULT", "policy": "include", "field": "_", "rule": "regex", "value": ".*", "order": 1}
    ], "advanced_snippet": {"value": {}}});
    let source = source_settings(&settings(&configuration, &filtering), None).unwrap();
    assert_eq!(source.data_source, DataSource::ConfluenceCloud);
    assert_eq!(source.spaces, ["DEV", "OPS"]);
    assert_eq!(source.concurrent_downloads, 7);
    assert!(source.index_labels);
    assert_eq!(source.index_name, "search-wiki");
    assert!(!source.pipeline.run_ml_inference);
    assert_eq!(source.sync_rules.basic.len(), 2);
    assert!(source.sync_rules.advanced.is_empty());
    // Defaults of the `confluence:` section apply to what Kibana does not show.
    assert_eq!(source.max_concurrent_requests, 10);
}

#[test]
fn a_half_filled_configuration_names_every_missing_field() {
    let configuration = values(json!({"data_source": "confluence_server", "spaces": "DEV"}));
    let filtering = json!({});
    let problems = source_settings(&settings(&configuration, &filtering), None).unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["configuration.confluence_url", "configuration.username", "configuration.password"]);
}

#[test]
fn bad_values_and_rules_are_named_as_kibana_shows_them() {
    let configuration = values(json!({
        "data_source": "confluence_server", "username": "u", "password": "p", "confluence_url": "http://wiki",
        "spaces": "DEV", "concurrent_downloads": 500
    }));
    let filtering = json!({"rules": [
        {"id": "r1", "policy": "include", "field": "title", "rule": "regex", "value": "(", "order": 0}
    ], "advanced_snippet": {"value": [{"query": "space = DEV AND ("}]}});
    let problems = source_settings(&settings(&configuration, &filtering), None).unwrap_err();
    let text = problems_line(&problems);
    assert!(text.contains("configuration.concurrent_downloads"), "{text}");
    assert!(text.contains("filtering.advanced_snippet"), "{text}");
    assert!(!text.contains("confluence."), "{text}");
}

#[test]
fn rules_of_a_disabled_feature_do_not_apply() {
    let configuration = values(json!({
        "data_source": "confluence_server", "username": "u", "password": "p", "confluence_url": "http://wiki",
        "spaces": "DEV"
    }));
    let filtering = json!({"rules": [
        {"id": "r1", "policy": "exclude", "field": "title", "rule": "equals", "value": "x", "order": 0}
    ], "advanced_snippet": {"value": [{"query": "space = DEV"}]}});
    let mut s = settings(&configuration, &filtering);
    s.basic_rules = false;
    s.advanced_rules = false;
    let source = source_settings(&s, None).unwrap();
    assert!(source.sync_rules.basic.is_empty() && source.sync_rules.advanced.is_empty());
}

#[test]
fn a_password_never_appears_in_a_problem() {
    let configuration = values(json!({
        "data_source": "confluence_server", "username": "u", "password": ["hunter2"], "confluence_url": "http://wiki",
        "spaces": "DEV"
    }));
    let filtering = json!({});
    let problems = source_settings(&settings(&configuration, &filtering), None).unwrap_err();
    let text = problems_line(&problems);
    assert!(text.contains("configuration.password"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}
