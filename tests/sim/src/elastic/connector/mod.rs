//! Elasticsearch's `_connector` API (x-pack ent-search), which a real node of this project's
//! test machines lacks: connectors, their sync jobs and connector secrets, answered as
//! Elasticsearch 8.x/9.x answers them — defaults, validation messages, state rules, error
//! types.
//!
//! Like Elasticsearch, the API keeps nothing of its own: every connector is a document of
//! `.elastic-connectors-v1` (aliased `.elastic-connectors`) and every sync job one of
//! `.elastic-connectors-sync-jobs-v1`, hidden indices with Elasticsearch's mappings, written
//! through the same path as `_doc` and `_update` and refreshed at once (the API's
//! `RefreshPolicy.IMMEDIATE`). Elastic's connector service mixes API calls with direct
//! `_search`, `_doc` reads and `_update`s carrying `if_seq_no`/`if_primary_term` on these
//! indices, so both views must be one: sequence numbers, versions and conflicts are shared.
//!
//! Requests reach [`routes`] through the server's front, so the request log records them and
//! injected faults (409, 429, 5xx) apply to them like to any other route.
//!
//! Followed: Elasticsearch's 8.x main line (REST spec `connector.*.json` as of 8.19, the
//! `ConnectorIndexService`/`ConnectorSyncJobIndexService` and index templates of that line);
//! yardstick: our own YAML REST suite in `tests/sim/yaml-rest/` (Elasticsearch's own YAML
//! tests run too when `ES_ENTSEARCH_YAML_DIR` points at them).

pub mod configuration;
pub mod connectors;
pub mod filtering;
pub mod mappings;
pub mod routes;
pub mod secrets;
pub mod status;
pub mod store;
pub mod sync_jobs;
pub mod updates;

#[cfg(test)]
mod tests;
