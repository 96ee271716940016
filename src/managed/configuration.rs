//! The Confluence configuration as Kibana renders and stores it in the connector document,
//! and how its values become the same source settings the `confluence:` section of
//! `config.yml` gives (so one set of checks and defaults serves both modes).

use serde_json::{json, Map, Value};

use crate::config::{self, ConfluenceConfig, ExtractionServiceConfig, Problem};

use super::connector::{Connector, Feature};

/// The fields Kibana renders for a Confluence connector, in Elastic's order, with the
/// attributes every field carries (Elastic's service fills the same defaults).
pub(crate) fn default_configuration() -> Value {
    let server = json!([{"field": "data_source", "value": "confluence_server"}]);
    let data_center = json!([{"field": "data_source", "value": "confluence_data_center"}]);
    let cloud = json!([{"field": "data_source", "value": "confluence_cloud"}]);
    let dc_basic = json!([
        {"field": "data_source", "value": "confluence_data_center"},
        {"field": "data_center_auth_method", "value": "basic"}
    ]);
    let dc_token = json!([
        {"field": "data_source", "value": "confluence_data_center"},
        {"field": "data_center_auth_method", "value": "personal_access_token"}
    ]);
    let fields = [
        (
            "data_source",
            json!({
                "display": "dropdown", "label": "Confluence data source", "type": "str", "value": "confluence_server",
                "options": [
                    {"label": "Confluence Cloud", "value": "confluence_cloud"},
                    {"label": "Confluence Server", "value": "confluence_server"},
                    {"label": "Confluence Data Center", "value": "confluence_data_center"}
                ]
            }),
        ),
        ("username", json!({"label": "Confluence Server username", "depends_on": server, "type": "str"})),
        (
            "password",
            json!({"label": "Confluence Server password", "depends_on": server, "sensitive": true, "type": "str"}),
        ),
        (
            "data_center_auth_method",
            json!({
                "display": "dropdown", "label": "Confluence Data Center authentication method", "depends_on": data_center,
                "type": "str", "value": "basic",
                "options": [
                    {"label": "Basic authentication", "value": "basic"},
                    {"label": "Personal access token", "value": "personal_access_token"}
                ]
            }),
        ),
        (
            "data_center_username",
            json!({"label": "Confluence Data Center username", "depends_on": dc_basic, "type": "str"}),
        ),
        (
            "data_center_password",
            json!({
                "label": "Confluence Data Center password", "depends_on": dc_basic, "sensitive": true, "type": "str"
            }),
        ),
        (
            "data_center_personal_access_token",
            json!({
                "label": "Confluence Data Center personal access token", "depends_on": dc_token, "sensitive": true,
                "type": "str"
            }),
        ),
        (
            "account_email",
            json!({"label": "Confluence Cloud account email", "depends_on": cloud, "type": "str"}),
        ),
        (
            "api_token",
            json!({"label": "Confluence Cloud API token", "depends_on": cloud, "sensitive": true, "type": "str"}),
        ),
        (
            "confluence_url",
            json!({
                "label": "Confluence URL", "type": "str",
                "tooltip": "e.g. https://example.atlassian.net or https://wiki.example.com:8090"
            }),
        ),
        (
            "spaces",
            json!({
                "display": "textarea", "label": "Confluence space keys", "type": "list",
                "tooltip": "Comma-separated space keys, or * for every space. Ignored when advanced sync rules are used."
            }),
        ),
        (
            "index_labels",
            json!({
                "display": "toggle", "label": "Enable indexing labels", "type": "bool", "value": false,
                "tooltip": "One more request per page and blog post."
            }),
        ),
        ("ssl_enabled", json!({"display": "toggle", "label": "Enable SSL", "type": "bool", "value": false})),
        (
            "ssl_ca",
            json!({
                "label": "SSL certificate", "depends_on": [{"field": "ssl_enabled", "value": true}], "type": "str",
                "tooltip": "PEM text of the certificate (or its CA) Confluence presents."
            }),
        ),
        (
            "retry_count",
            json!({
                "display": "numeric", "label": "Retries per request", "type": "int", "value": 3, "default_value": 3,
                "required": false, "ui_restrictions": ["advanced"]
            }),
        ),
        (
            "concurrent_downloads",
            json!({
                "display": "numeric", "label": "Maximum concurrent downloads", "type": "int", "value": 50,
                "default_value": 50, "required": false, "ui_restrictions": ["advanced"],
                "validations": [{"type": "less_than", "constraint": 51}]
            }),
        ),
        (
            "use_document_level_security",
            json!({
                "display": "toggle", "label": "Enable document level security", "type": "bool", "value": false,
                "tooltip": "Keeps the permissions set in Confluence: each document lists who may read it, and access-control syncs write the identities."
            }),
        ),
        (
            "use_text_extraction_service",
            json!({
                "display": "toggle", "label": "Use text extraction service", "type": "bool", "value": false,
                "ui_restrictions": ["advanced"],
                "tooltip": "Requires a separate deployment of the Elastic Text Extraction Service, and pipeline settings that disable text extraction."
            }),
        ),
        // Beyond Elastic's schema: footer comments as documents of their own.
        (
            "index_comments",
            json!({
                "display": "toggle", "label": "Index comments", "type": "bool", "value": false, "required": false,
                "ui_restrictions": ["advanced"], "tooltip": "Footer comments become documents of their own."
            }),
        ),
    ];
    let mut configuration = Map::new();
    for (order, (name, attributes)) in fields.into_iter().enumerate() {
        let mut field = json!({
            "default_value": null, "depends_on": [], "display": "text", "label": "", "options": [],
            "order": order + 1, "required": true, "sensitive": false, "tooltip": null, "type": "str",
            "ui_restrictions": [], "validations": [], "value": ""
        });
        if let (Some(field), Some(attributes)) = (field.as_object_mut(), attributes.as_object()) {
            field.extend(attributes.clone());
        }
        configuration.insert(name.to_string(), field);
    }
    Value::Object(configuration)
}

/// What a job (or a check of the connector) runs with: the configuration values and the
/// connector's index, pipeline and rules.
pub(super) struct ConnectorSettings<'a> {
    /// `configuration` (field → `{value, …}`).
    pub(crate) configuration: &'a Map<String, Value>,
    /// `index_name`.
    pub(crate) index_name: &'a str,
    /// `pipeline` (`{name, extract_binary_content, reduce_whitespace, run_ml_inference}`).
    pub(crate) pipeline: &'a Value,
    /// The active (or checked) filtering: `{rules, advanced_snippet}`.
    pub(crate) filtering: &'a Value,
    /// Whether the basic and the advanced rules apply (the connector's features).
    pub(crate) basic_rules: bool,
    /// See `basic_rules`.
    pub(crate) advanced_rules: bool,
}

impl<'a> ConnectorSettings<'a> {
    /// What the connector document itself says now (its active rules, its index), as a
    /// check of the connector uses it; `None` until it has a configuration and an index.
    pub(super) fn of_connector(connector: &'a Connector) -> Option<ConnectorSettings<'a>> {
        Some(ConnectorSettings {
            configuration: connector.configuration().filter(|c| !c.is_empty())?,
            index_name: connector.index_name()?,
            pipeline: &connector.doc.source["pipeline"],
            filtering: connector.filtering("active"),
            basic_rules: connector.feature(Feature::BasicRules),
            advanced_rules: connector.feature(Feature::AdvancedRules),
        })
    }
}

/// The source settings these values describe, or every problem, each named by the field
/// Kibana shows (`configuration.spaces`, `filtering`, `index_name`).
pub(super) fn source_settings(
    settings: &ConnectorSettings<'_>,
    extraction_service: Option<&ExtractionServiceConfig>,
) -> Result<ConfluenceConfig, Vec<Problem>> {
    let mut section = Map::new();
    for (name, field) in settings.configuration {
        let value = &field["value"];
        // Kibana stores an untouched field as "" (and an unset number as null).
        let unset = value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty());
        if !unset && config::schema::key(&format!("confluence.{name}")).is_some() {
            section.insert(name.clone(), value.clone());
        }
    }
    section.insert("index_name".into(), json!(settings.index_name));
    if let Some(pipeline) = settings.pipeline.as_object() {
        let known = ["name", "extract_binary_content", "reduce_whitespace", "run_ml_inference"];
        let pipeline: Map<String, Value> = pipeline
            .iter()
            .filter(|(k, _)| known.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        section.insert("pipeline".into(), Value::Object(pipeline));
    }
    let mut rules = Map::new();
    if settings.basic_rules {
        let basic = settings.filtering["rules"].clone();
        rules.insert("basic".into(), if basic.is_null() { json!([]) } else { basic });
    }
    if settings.advanced_rules {
        let snippet = &settings.filtering["advanced_snippet"]["value"];
        let advanced = match snippet {
            Value::Null => json!([]),
            Value::Object(map) if map.is_empty() => json!([]),
            other => other.clone(),
        };
        rules.insert("advanced".into(), advanced);
    }
    section.insert("sync_rules".into(), Value::Object(rules));
    match config::source_section(Value::Object(section), extraction_service) {
        Ok((source, warnings)) => {
            for warning in warnings {
                tracing::debug!("connector configuration: {warning}");
            }
            Ok(source)
        }
        Err(problems) => Err(problems.into_iter().map(kibana_names).collect()),
    }
}

/// A problem found under `confluence.<key>`, renamed after what Kibana shows.
fn kibana_names(problem: Problem) -> Problem {
    let key = problem.path.strip_prefix("confluence.").unwrap_or(&problem.path);
    let path = if key.starts_with("sync_rules.basic") {
        "filtering.rules".to_string()
    } else if key.starts_with("sync_rules.advanced") {
        "filtering.advanced_snippet".to_string()
    } else if key == "index_name" || key.starts_with("pipeline") {
        key.to_string()
    } else {
        format!("configuration.{key}")
    };
    let message = problem.message.replace("confluence.", "");
    Problem { path, message }
}

/// A one-line account of the problems, for the connector's or the job's `error`.
pub(super) fn problems_line(problems: &[Problem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests;
