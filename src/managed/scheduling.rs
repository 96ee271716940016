//! What the service does for each connector it serves on every poll, in the order of
//! Elastic's scheduling service: prepare the document (configuration schema, features), check
//! in, stop there until Kibana has configured it, check the configuration against Confluence
//! (→ `connected` or `error` with the reason), check edited sync rules, and create the
//! scheduled jobs that are due.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::config::Config;
use crate::confluence::ConfluenceClient;
use crate::elastic::client::EsClient;
use crate::schedule::Schedule;
use crate::sync::{client_options, SyncKind};

use super::configuration::{default_configuration, problems_line, source_settings, ConnectorSettings};
use super::connector::{scheduled_at_field, Connector, Feature, SERVICE_TYPE};
use super::filtering;
use super::job;
use super::reload_connector;
use super::system_index::{self, UpdateError, CONNECTORS};

/// Tries of an update that lost a race (Elastic's `with_concurrency_control(retries=3)`).
const RACE_RETRIES: usize = 3;

/// What this service says it can do (Kibana shows the matching controls).
pub(super) fn features() -> Value {
    json!({
        "sync_rules": {"basic": {"enabled": true}, "advanced": {"enabled": true}},
        "document_level_security": {"enabled": true},
        "incremental_sync": {"enabled": true},
        "native_connector_api_keys": {"enabled": false}
    })
}

/// Fills what a connector created in Kibana lacks: the service type, the configuration
/// schema (→ `needs_configuration`) and the features. Returns the connector as it is now.
pub(super) async fn prepare(es: &EsClient, mut connector: Connector) -> Result<Connector, String> {
    for _ in 0..RACE_RETRIES {
        let mut doc = serde_json::Map::new();
        if connector.service_type().is_none() {
            doc.insert("service_type".into(), json!(SERVICE_TYPE));
        }
        if connector.configuration().is_none_or(|c| c.is_empty()) {
            doc.insert("configuration".into(), default_configuration());
            doc.insert("status".into(), json!("needs_configuration"));
        }
        if connector.features().is_none() {
            doc.insert("features".into(), features());
        }
        if doc.is_empty() {
            return Ok(connector);
        }
        match system_index::update(es, CONNECTORS, connector.id(), Value::Object(doc), Some(&connector.doc))
            .await
        {
            Ok(()) => {
                tracing::info!(connector = connector.id(), "prepared the connector document for Kibana")
            }
            Err(UpdateError::Conflict) => {}
            Err(e) => return Err(e.to_string()),
        }
        connector = reload_connector(es, connector.id()).await?.ok_or("the connector was deleted")?;
    }
    Ok(connector)
}

/// `_check_in` when the last one is older than `service.heartbeat` seconds.
pub(super) async fn heartbeat(es: &EsClient, connector: &Connector, every: u64, now: DateTime<Utc>) {
    let due = connector.last_seen().is_none_or(|seen| (now - seen).num_seconds() >= every as i64);
    if !due {
        return;
    }
    let path = format!("/_connector/{}/_check_in", system_index::encode(connector.id()));
    if let Err(e) = system_index::api(es, elasticsearch::http::Method::Put, &path, None).await {
        tracing::warn!(connector = connector.id(), "check-in failed: {e}");
    }
}

/// Checks the configuration Kibana saved and reaches Confluence with it: `connected`, or
/// `error` with every problem. `Ok` carries the client for checking sync rules.
pub(super) async fn check_configuration(
    config: &Config,
    es: &EsClient,
    connector: &Connector,
) -> Result<Option<ConfluenceClient>, String> {
    if connector.configuration().is_none_or(|c| c.is_empty()) {
        return Ok(None);
    }
    let outcome = match ConnectorSettings::of_connector(connector) {
        None => Err("the connector has no index_name: set one in Kibana".to_string()),
        Some(settings) => match source_settings(&settings, config.extraction_service.as_ref()) {
            Err(problems) => Err(format!("the configuration is invalid: {}", problems_line(&problems))),
            Ok(source) => reach(&source).await,
        },
    };
    let (status, error) = match &outcome {
        Ok(_) => ("connected", None),
        Err(why) => ("error", Some(why.as_str())),
    };
    if connector.status() != status || connector.error() != error {
        let doc = json!({"status": status, "error": error});
        if let Err(e) = system_index::update(es, CONNECTORS, connector.id(), doc, None).await {
            tracing::warn!(connector = connector.id(), "could not write the connector's status: {e}");
        }
        match error {
            Some(why) => tracing::warn!(connector = connector.id(), "connector in error: {why}"),
            None => tracing::info!(connector = connector.id(), "connector connected"),
        }
    }
    outcome.map(Some)
}

/// Builds the Confluence client and asks Confluence once (Elastic's `ping`).
pub(super) async fn reach(source: &crate::config::ConfluenceConfig) -> Result<ConfluenceClient, String> {
    let client = ConfluenceClient::new(client_options(source)).await.map_err(|e| e.to_string())?;
    client.ping().await.map_err(|e| format!("Confluence did not answer as expected: {e}"))?;
    Ok(client)
}

/// Checks an edited draft of the sync rules, records the result and activates it when valid.
pub(super) async fn validate_filtering(es: &EsClient, connector: &Connector, client: &ConfluenceClient) {
    let draft = connector.filtering("draft");
    if !filtering::draft_needs_validation(draft) {
        return;
    }
    let basic = connector.feature(Feature::BasicRules);
    let advanced = connector.feature(Feature::AdvancedRules);
    let (mut problems, queries) = filtering::local_problems(draft, basic, advanced);
    match filtering::remote_problems(client, &queries).await {
        Ok(remote) => problems.extend(remote),
        // Not a verdict on the rules: checked again on the next poll.
        Err(e) => {
            tracing::warn!(
                connector = connector.id(),
                "could not check the advanced rules with Confluence: {e}"
            );
            return;
        }
    }
    match filtering::record(es, connector.id(), &problems).await {
        Ok(()) if problems.is_empty() => {
            tracing::info!(connector = connector.id(), "sync rules valid and activated")
        }
        Ok(()) => tracing::warn!(
            connector = connector.id(),
            "sync rules invalid: {}",
            problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; ")
        ),
        Err(e) => {
            tracing::warn!(connector = connector.id(), "could not record the sync rules' validation: {e}")
        }
    }
}

/// The kinds this connector may be scheduled for, access control and incremental first (as
/// Elastic's service tries them).
pub(super) fn schedulable_kinds(connector: &Connector) -> Vec<SyncKind> {
    let mut kinds = Vec::new();
    let dls = connector.configured("use_document_level_security").as_bool().unwrap_or(false);
    if dls && connector.feature(Feature::DocumentLevelSecurity) {
        kinds.push(SyncKind::AccessControl);
    }
    if connector.feature(Feature::IncrementalSync) {
        kinds.push(SyncKind::Incremental);
    }
    kinds.push(SyncKind::Full);
    kinds
}

/// Creates the scheduled jobs that are due: a kind is due when its schedule has a time after
/// the previous poll (`last_wake_up`) that has passed. The time is recorded in
/// `last_*_scheduled_at` first, guarded by the connector's version, so that of several
/// service processes exactly one creates the job.
pub(super) async fn schedule_due_jobs(
    es: &EsClient,
    connector: &Connector,
    last_wake_up: DateTime<Utc>,
    now: DateTime<Utc>,
) {
    for kind in schedulable_kinds(connector) {
        if let Err(why) = schedule_kind(es, connector.id(), kind, last_wake_up, now).await {
            tracing::warn!(connector = connector.id(), kind = kind.name(), "scheduling: {why}");
        }
    }
}

async fn schedule_kind(
    es: &EsClient,
    id: &str,
    kind: SyncKind,
    last_wake_up: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    for _ in 0..RACE_RETRIES {
        let Some(connector) = reload_connector(es, id).await? else { return Ok(()) };
        let Some(text) = connector.schedule(kind) else { return Ok(()) };
        if connector.last_scheduled_at(kind).is_some_and(|at| at > last_wake_up) {
            // Another process scheduled this occurrence.
            return Ok(());
        }
        let schedule = match Schedule::parse(text) {
            Ok(schedule) => schedule,
            Err(e) => {
                let why = format!("the {} schedule {text:?} cannot be used: {e}", kind.name());
                let doc = json!({"status": "error", "error": why});
                if connector.error() != Some(why.as_str()) {
                    system_index::update(es, CONNECTORS, id, doc, None).await.map_err(|e| e.to_string())?;
                }
                return Err(why);
            }
        };
        let Some(next) = schedule.next_after(last_wake_up) else { return Ok(()) };
        if now < next {
            return Ok(());
        }
        let mark =
            json!({ scheduled_at_field(kind): next.to_rfc3339_opts(chrono::SecondsFormat::Millis, true) });
        match system_index::update(es, CONNECTORS, id, mark, Some(&connector.doc)).await {
            Ok(()) => {}
            Err(UpdateError::Conflict) => continue,
            Err(e) => return Err(e.to_string()),
        }
        // A job of this kind still waiting covers this occurrence too: jobs do not pile up
        // behind a sync that runs longer than its schedule's period.
        let waiting = job::pending(es, &[id.to_string()], &[kind]).await.map_err(|e| e.to_string())?;
        if let Some(waiting) = waiting.first() {
            tracing::debug!(
                connector = id,
                kind = kind.name(),
                job = waiting.id(),
                "a job of this kind is still pending; none added"
            );
            return Ok(());
        }
        let job = job::create(es, id, kind, "scheduled").await.map_err(|e| e.to_string())?;
        tracing::info!(connector = id, kind = kind.name(), job, due = %next, "scheduled sync job created");
        return Ok(());
    }
    Ok(())
}
