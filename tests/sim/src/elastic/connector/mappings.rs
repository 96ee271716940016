//! The indices behind the connector API and what Elasticsearch's `ConnectorTemplateRegistry`
//! gives them when they are created (by the API's first write, or by Elastic's connector
//! service `PUT`ting the concrete name at start-up): hidden, one shard, an alias without the
//! `-v1`, and `dynamic: false` mappings, so that fields the mapping does not name (a
//! connector's `configuration` contents, `deleted`) are kept in `_source` but not indexed.

use serde_json::{json, Map, Value};

use crate::elastic::cluster::{parse_settings, TemplateParts};
use crate::elastic::mapping::Mapping;

/// Concrete index of connector documents.
pub const CONNECTOR_INDEX: &str = ".elastic-connectors-v1";
/// Alias clients read and update connectors through.
pub const CONNECTOR_ALIAS: &str = ".elastic-connectors";
/// Concrete index of sync-job documents.
pub const SYNC_JOB_INDEX: &str = ".elastic-connectors-sync-jobs-v1";
/// Alias of the sync-job index.
pub const SYNC_JOB_ALIAS: &str = ".elastic-connectors-sync-jobs";
/// Index of connector secrets (a system index in Elasticsearch).
pub const SECRETS_INDEX: &str = ".connector-secrets";

/// The settings every connector-management index gets.
fn settings() -> Map<String, Value> {
    parse_settings(Some(
        &json!({"index": {"hidden": true, "number_of_shards": "1", "auto_expand_replicas": "0-1"}}),
    ))
    .unwrap_or_default()
}

fn t(ty: &str) -> Value {
    json!({"type": ty})
}

fn props(fields: &[(&str, Value)]) -> Value {
    let m: Map<String, Value> = fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    json!({"properties": m})
}

/// `advanced_snippet` and `rules`, shared by the connector's filtering and the job's copy.
fn snippet_and_rules() -> Vec<(&'static str, Value)> {
    vec![
        (
            "advanced_snippet",
            props(&[("created_at", t("date")), ("updated_at", t("date")), ("value", t("object"))]),
        ),
        (
            "rules",
            props(&[
                ("created_at", t("date")),
                ("field", t("keyword")),
                ("id", t("keyword")),
                ("order", t("short")),
                ("policy", t("keyword")),
                ("rule", t("keyword")),
                ("updated_at", t("date")),
                ("value", t("keyword")),
            ]),
        ),
    ]
}

fn pipeline() -> Value {
    props(&[
        ("extract_binary_content", t("boolean")),
        ("name", t("keyword")),
        ("reduce_whitespace", t("boolean")),
        ("run_ml_inference", t("boolean")),
    ])
}

fn enabled() -> Value {
    props(&[("enabled", t("boolean"))])
}

/// The mapping of `.elastic-connectors-v1`.
pub fn connectors_mapping() -> Value {
    let mut rules = snippet_and_rules();
    rules.push((
        "validation",
        props(&[
            ("errors", props(&[("ids", t("keyword")), ("messages", t("text"))])),
            ("state", t("keyword")),
        ]),
    ));
    let filtering_rules = props(&rules);
    let schedule = props(&[("enabled", t("boolean")), ("interval", t("text"))]);
    let mut m = props(&[
        ("api_key_id", t("keyword")),
        ("api_key_secret_id", t("keyword")),
        ("configuration", t("object")),
        ("custom_scheduling", t("object")),
        ("deleted", t("boolean")),
        ("description", t("text")),
        ("error", t("keyword")),
        (
            "features",
            props(&[
                ("document_level_security", enabled()),
                ("filtering_advanced_config", t("boolean")),
                ("filtering_rules", t("boolean")),
                ("incremental_sync", enabled()),
                ("native_connector_api_keys", enabled()),
                ("sync_rules", props(&[("advanced", enabled()), ("basic", enabled())])),
            ]),
        ),
        (
            "filtering",
            props(&[
                ("active", filtering_rules.clone()),
                ("domain", t("keyword")),
                ("draft", filtering_rules),
            ]),
        ),
        ("index_name", t("keyword")),
        ("is_native", t("boolean")),
        ("language", t("keyword")),
        ("last_access_control_sync_error", t("keyword")),
        ("last_access_control_sync_scheduled_at", t("date")),
        ("last_access_control_sync_status", t("keyword")),
        ("last_deleted_document_count", t("long")),
        ("last_incremental_sync_scheduled_at", t("date")),
        ("last_indexed_document_count", t("long")),
        ("last_seen", t("date")),
        ("last_sync_error", t("keyword")),
        ("last_sync_scheduled_at", t("date")),
        ("last_sync_status", t("keyword")),
        ("last_synced", t("date")),
        ("name", t("keyword")),
        ("pipeline", pipeline()),
        (
            "scheduling",
            props(&[
                ("access_control", schedule.clone()),
                ("full", schedule.clone()),
                ("incremental", schedule),
            ]),
        ),
        ("service_type", t("keyword")),
        ("status", t("keyword")),
        ("sync_cursor", t("object")),
        ("sync_now", t("boolean")),
    ]);
    m["dynamic"] = json!("false");
    m
}

/// The mapping of `.elastic-connectors-sync-jobs-v1`.
pub fn sync_jobs_mapping() -> Value {
    let mut filtering = snippet_and_rules();
    filtering.push(("domain", t("keyword")));
    filtering.push(("warnings", props(&[("ids", t("keyword")), ("messages", t("text"))])));
    let mut m = props(&[
        ("cancelation_requested_at", t("date")),
        ("canceled_at", t("date")),
        ("completed_at", t("date")),
        (
            "connector",
            props(&[
                ("configuration", t("object")),
                ("filtering", props(&filtering)),
                ("id", t("keyword")),
                ("index_name", t("keyword")),
                ("language", t("keyword")),
                ("pipeline", pipeline()),
                ("service_type", t("keyword")),
                ("sync_cursor", t("object")),
            ]),
        ),
        ("created_at", t("date")),
        ("deleted_document_count", t("integer")),
        ("error", t("keyword")),
        ("indexed_document_count", t("integer")),
        ("indexed_document_volume", t("integer")),
        ("job_type", t("keyword")),
        ("last_seen", t("date")),
        ("metadata", t("object")),
        ("started_at", t("date")),
        ("status", t("keyword")),
        ("total_document_count", t("integer")),
        ("trigger_method", t("keyword")),
        ("worker_hostname", t("keyword")),
    ]);
    m["dynamic"] = json!("false");
    m
}

/// The built-in template for `index`, if it is one of the connector-management indices.
pub fn template(index: &str) -> Option<TemplateParts> {
    let mapping = match index {
        CONNECTOR_INDEX => connectors_mapping(),
        SYNC_JOB_INDEX => sync_jobs_mapping(),
        SECRETS_INDEX => {
            json!({"dynamic": "false", "properties": {"value": {"type": "keyword", "index": false}}})
        }
        _ => return None,
    };
    Some((settings(), Mapping::parse(&mapping).ok()?))
}

/// The alias the built-in template gives `index`, if any.
pub fn template_alias(index: &str) -> Option<&'static str> {
    match index {
        CONNECTOR_INDEX => Some(CONNECTOR_ALIAS),
        SYNC_JOB_INDEX => Some(SYNC_JOB_ALIAS),
        _ => None,
    }
}
