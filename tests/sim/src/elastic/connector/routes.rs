//! The `_connector` routing table: path patterns (literal `_sync_job` and `_secret` win over a
//! connector id, as in Elasticsearch's path trie), the methods each allows and the URL
//! parameters each accepts (Elasticsearch's REST spec, `connector.*.json`), and the endpoint
//! each request runs.

use super::{configuration, connectors, filtering, secrets, sync_jobs, updates};
use crate::elastic::error::EsError;
use crate::elastic::routes::{Reply, Request};
use crate::elastic::server::Shared;

/// The route pattern of a `/_connector…` path (segments keep empty ids, so that
/// `/_connector//_error` reaches the endpoint and its validation, as in Elasticsearch).
pub fn pattern(segs: &[&str]) -> Option<&'static str> {
    Some(match segs {
        ["_connector"] => "/_connector",
        ["_connector", "_sync_job"] => "/_connector/_sync_job",
        ["_connector", "_sync_job", _] => "/_connector/_sync_job/{connector_sync_job_id}",
        ["_connector", "_sync_job", _, "_cancel"] => "/_connector/_sync_job/{connector_sync_job_id}/_cancel",
        ["_connector", "_sync_job", _, "_check_in"] => {
            "/_connector/_sync_job/{connector_sync_job_id}/_check_in"
        }
        ["_connector", "_sync_job", _, "_claim"] => "/_connector/_sync_job/{connector_sync_job_id}/_claim",
        ["_connector", "_sync_job", _, "_error"] => "/_connector/_sync_job/{connector_sync_job_id}/_error",
        ["_connector", "_sync_job", _, "_stats"] => "/_connector/_sync_job/{connector_sync_job_id}/_stats",
        ["_connector", "_secret"] => "/_connector/_secret",
        ["_connector", "_secret", _] => "/_connector/_secret/{id}",
        ["_connector", _] => "/_connector/{connector_id}",
        ["_connector", _, "_check_in"] => "/_connector/{connector_id}/_check_in",
        ["_connector", _, "_last_sync"] => "/_connector/{connector_id}/_last_sync",
        ["_connector", _, "_api_key_id"] => "/_connector/{connector_id}/_api_key_id",
        ["_connector", _, "_configuration"] => "/_connector/{connector_id}/_configuration",
        ["_connector", _, "_error"] => "/_connector/{connector_id}/_error",
        ["_connector", _, "_features"] => "/_connector/{connector_id}/_features",
        ["_connector", _, "_filtering"] => "/_connector/{connector_id}/_filtering",
        ["_connector", _, "_filtering", "_activate"] => "/_connector/{connector_id}/_filtering/_activate",
        ["_connector", _, "_filtering", "_validation"] => "/_connector/{connector_id}/_filtering/_validation",
        ["_connector", _, "_index_name"] => "/_connector/{connector_id}/_index_name",
        ["_connector", _, "_name"] => "/_connector/{connector_id}/_name",
        ["_connector", _, "_native"] => "/_connector/{connector_id}/_native",
        ["_connector", _, "_pipeline"] => "/_connector/{connector_id}/_pipeline",
        ["_connector", _, "_scheduling"] => "/_connector/{connector_id}/_scheduling",
        ["_connector", _, "_service_type"] => "/_connector/{connector_id}/_service_type",
        ["_connector", _, "_status"] => "/_connector/{connector_id}/_status",
        _ => return None,
    })
}

/// Methods a pattern allows.
pub fn allowed(pattern: &str) -> &'static [&'static str] {
    match pattern {
        "/_connector" => &["GET", "PUT", "POST"],
        "/_connector/_sync_job" => &["GET", "POST"],
        "/_connector/_sync_job/{connector_sync_job_id}" => &["GET", "DELETE"],
        "/_connector/_secret" => &["POST"],
        "/_connector/_secret/{id}" => &["GET", "PUT", "DELETE"],
        "/_connector/{connector_id}" => &["GET", "PUT", "DELETE"],
        _ => &["PUT"],
    }
}

/// URL parameters a pattern accepts with a method beyond the common ones (Elasticsearch's
/// REST spec: only the list and get endpoints and the delete take any).
pub fn params(pattern: &str, method: &str) -> &'static [&'static str] {
    match (pattern, method) {
        ("/_connector", "GET") => {
            &["from", "size", "index_name", "connector_name", "service_type", "query", "include_deleted"]
        }
        ("/_connector/{connector_id}", "GET") => &["include_deleted"],
        ("/_connector/{connector_id}", "DELETE") => &["hard", "delete_sync_jobs"],
        ("/_connector/_sync_job", "GET") => &["from", "size", "status", "connector_id", "job_type"],
        _ => &[],
    }
}

/// Runs the endpoint of a `_connector` pattern.
pub fn handle(shared: &Shared, pattern: &str, req: &Request) -> Result<Reply, EsError> {
    match (pattern, req.method.as_str()) {
        ("/_connector", "GET") => connectors::list(shared, req),
        ("/_connector", _) => connectors::create(shared, req, None),
        ("/_connector/{connector_id}", "GET") => connectors::get(shared, req),
        ("/_connector/{connector_id}", "DELETE") => connectors::delete(shared, req),
        ("/_connector/{connector_id}", _) => connectors::create(shared, req, Some(req.seg(1))),
        ("/_connector/{connector_id}/_check_in", _) => updates::check_in(shared, req),
        ("/_connector/{connector_id}/_last_sync", _) => updates::last_sync(shared, req),
        ("/_connector/{connector_id}/_api_key_id", _) => updates::api_key_id(shared, req),
        ("/_connector/{connector_id}/_configuration", _) => configuration::update(shared, req),
        ("/_connector/{connector_id}/_error", _) => updates::error(shared, req),
        ("/_connector/{connector_id}/_features", _) => updates::features(shared, req),
        ("/_connector/{connector_id}/_filtering", _) => filtering::update(shared, req),
        ("/_connector/{connector_id}/_filtering/_activate", _) => filtering::activate(shared, req),
        ("/_connector/{connector_id}/_filtering/_validation", _) => filtering::update_validation(shared, req),
        ("/_connector/{connector_id}/_index_name", _) => updates::index_name(shared, req),
        ("/_connector/{connector_id}/_name", _) => updates::name(shared, req),
        ("/_connector/{connector_id}/_native", _) => updates::native(shared, req),
        ("/_connector/{connector_id}/_pipeline", _) => updates::pipeline(shared, req),
        ("/_connector/{connector_id}/_scheduling", _) => updates::scheduling(shared, req),
        ("/_connector/{connector_id}/_service_type", _) => updates::service_type(shared, req),
        ("/_connector/{connector_id}/_status", _) => updates::status(shared, req),
        ("/_connector/_sync_job", "GET") => sync_jobs::list(shared, req),
        ("/_connector/_sync_job", _) => sync_jobs::post(shared, req),
        ("/_connector/_sync_job/{connector_sync_job_id}", "GET") => sync_jobs::get(shared, req),
        ("/_connector/_sync_job/{connector_sync_job_id}", _) => sync_jobs::delete(shared, req),
        ("/_connector/_sync_job/{connector_sync_job_id}/_cancel", _) => sync_jobs::cancel(shared, req),
        ("/_connector/_sync_job/{connector_sync_job_id}/_check_in", _) => sync_jobs::check_in(shared, req),
        ("/_connector/_sync_job/{connector_sync_job_id}/_claim", _) => sync_jobs::claim(shared, req),
        ("/_connector/_sync_job/{connector_sync_job_id}/_error", _) => sync_jobs::error(shared, req),
        ("/_connector/_sync_job/{connector_sync_job_id}/_stats", _) => sync_jobs::update_stats(shared, req),
        ("/_connector/_secret", _) => secrets::post(shared, req),
        ("/_connector/_secret/{id}", "GET") => secrets::get(shared, req),
        ("/_connector/_secret/{id}", "PUT") => secrets::put(shared, req),
        ("/_connector/_secret/{id}", _) => secrets::delete(shared, req),
        _ => Err(EsError::simple(
            400,
            format!("no handler found for uri [{}] and method [{}]", req.path, req.method.as_str()),
        )),
    }
}
