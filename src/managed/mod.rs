//! Managed mode: connectors created and driven from Kibana, through Elastic's connector
//! protocol (`.elastic-connectors`, `.elastic-connectors-sync-jobs` and the `_connector`
//! API), around the same sync engine as standalone mode ([`crate::sync::run_watched`]).
//!
//! Every `service.idling` seconds the service ([`poll`]):
//! 1. reads the connectors it serves — those listed under `connectors:` in `config.yml`, and
//!    those of `service.service_types` — and for each ([`scheduling`]) prepares the document
//!    for Kibana, checks in, checks the configuration and edited sync rules, and creates the
//!    scheduled jobs that are due;
//! 2. runs the pending (and suspended) jobs of those connectors ([`runner`]), up to
//!    `service.max_concurrent_content_syncs` and `max_concurrent_access_control_syncs` at
//!    once, one of each family per connector;
//! 3. every `service.job_cleanup_interval`, ends the jobs nobody runs any more ([`cleanup`]).
//!
//! On SIGTERM/SIGINT the running jobs stop (what was sent is written, nothing is deleted) and
//! end `suspended`; the next start resumes them.

mod check;
mod cleanup;
mod configuration;
mod connector;
mod filtering;
mod job;
mod poll;
mod runner;
mod scheduling;
mod status;
mod system_index;

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::elastic::client::EsClient;
use crate::elastic::{self, cluster};
use crate::service::{Metrics, ServiceError};
use crate::shutdown::Shutdown;
use crate::sync::{elastic_options, SyncKind};

pub(crate) use check::check_connectors;
pub(crate) use connector::Connector;
pub(crate) use job::JobEnd;
use poll::Service;
use runner::{JobContext, NotStarted};
pub(crate) use status::{as_text as status_text, connectors_status};
use system_index::CONNECTORS;

/// The index-name prefix of an access-control job's snapshot.
const ACL_PREFIX: &str = ".search-acl-filter-";

/// A content index name from an access-control job's index name (or itself).
fn acl_index_prefix_stripped(index: &str) -> &str {
    index.strip_prefix(ACL_PREFIX).unwrap_or(index)
}

/// A connector, fresh.
async fn reload_connector(es: &EsClient, id: &str) -> Result<Option<Connector>, String> {
    let doc = system_index::get(es, CONNECTORS, id).await.map_err(|e| e.to_string())?;
    Ok(doc.map(|doc| Connector { doc }).filter(|c| !c.deleted()))
}

/// Serves the managed connectors until SIGTERM/SIGINT; `metrics` count the jobs' syncs.
pub(crate) async fn serve(config: Arc<Config>, metrics: Arc<Metrics>) -> Result<(), ServiceError> {
    let es = elastic::client::connect(&elastic_options(&config, None))
        .map_err(|e| ServiceError::Start(e.to_string()))?;
    let mut shutdown = Shutdown::on_signals();
    wait_for_elasticsearch(&config, &es, &mut shutdown).await?;
    system_index::ensure_indices(&es).await.map_err(|e| ServiceError::Start(e.to_string()))?;
    let local = tokio::task::LocalSet::new();
    local.run_until(serve_until_shutdown(config, es, shutdown, metrics)).await
}

/// The poll loop of [`serve`], inside a [`tokio::task::LocalSet`] (see [`Service::spawn`]).
async fn serve_until_shutdown(
    config: Arc<Config>,
    es: EsClient,
    mut shutdown: Shutdown,
    metrics: Arc<Metrics>,
) -> Result<(), ServiceError> {
    let mut service = Service::new(config.clone(), es, shutdown.clone(), metrics);
    tracing::info!(
        connectors = %service.listed_ids().join(", "),
        service_types = %config.service.service_types.join(", "),
        "managed mode: serving the connectors of Kibana"
    );
    let idling = Duration::from_secs(config.service.idling);
    loop {
        service.poll().await;
        tokio::select! {
            _ = tokio::time::sleep(idling) => {}
            _ = shutdown.wait() => {}
        }
        if shutdown.requested() {
            break;
        }
    }
    service.stop(Duration::from_secs(config.service.shutdown_timeout)).await
}

/// Waits until Elasticsearch answers (`service.preflight_max_attempts` ×
/// `service.preflight_idle`), as Elastic's preflight does.
async fn wait_for_elasticsearch(
    config: &Config,
    es: &EsClient,
    shutdown: &mut Shutdown,
) -> Result<(), ServiceError> {
    let host = &config.elasticsearch.host;
    let attempts = preflight_attempts(config);
    let mut last = String::new();
    for attempt in 1..=attempts {
        match cluster::cluster_version(es, host).await {
            Ok(version) => {
                tracing::info!(version, "Elasticsearch answered");
                return cluster::check_version(&version, cluster::mismatch_allowed())
                    .map_err(ServiceError::Start);
            }
            Err(e) => last = e,
        }
        if attempt < attempts {
            tracing::warn!(attempt, "Elasticsearch is not answering yet ({last}); trying again");
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(preflight_idle(config))) => {}
                _ = shutdown.wait() => return Err(ServiceError::Start("stopped while waiting for Elasticsearch".into())),
            }
        }
    }
    Err(ServiceError::Start(format!("Elasticsearch did not answer after {attempts} attempts: {last}")))
}

fn preflight_attempts(config: &Config) -> u64 {
    config.service.preflight_max_attempts.max(1)
}

fn preflight_idle(config: &Config) -> u64 {
    config.service.preflight_idle
}

/// `sync --kind …` in managed mode: an on-demand job of `kind` for each listed connector,
/// created and run here, one after the other, as the service would run it; what each ended
/// as. SIGTERM/SIGINT suspends the job in flight.
pub(crate) async fn sync_once(
    config: Arc<Config>,
    kind: SyncKind,
) -> Result<Vec<(String, job::JobEnd)>, String> {
    let es = elastic::client::connect(&elastic_options(&config, None)).map_err(|e| e.to_string())?;
    system_index::ensure_indices(&es).await.map_err(|e| e.to_string())?;
    let shutdown = Shutdown::on_signals();
    let metrics = Arc::new(Metrics::new());
    let mut ends = Vec::new();
    for entry in config.managed_connectors() {
        let id = entry.connector_id.clone();
        if reload_connector(&es, &id).await?.is_none() {
            return Err(format!("connector {id:?} does not exist in Elasticsearch"));
        }
        let job_id =
            job::create(&es, &id, kind, "on_demand").await.map_err(|e| format!("connector {id}: {e}"))?;
        let job = job::reload(&es, &job_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the job {job_id} created for {id} cannot be read"))?;
        let ctx = JobContext {
            config: config.clone(),
            es: es.clone(),
            entry: Some(entry),
            shutdown: shutdown.clone(),
            metrics: metrics.clone(),
        };
        let local = tokio::task::LocalSet::new();
        let end = local.run_until(runner::execute(&ctx, job)).await;
        match end {
            Ok(end) => ends.push((id, end)),
            Err(NotStarted::Busy) => {
                return Err(format!(
                    "connector {id} runs a {} job already; the job {job_id} stays pending for the service",
                    kind.name()
                ))
            }
            Err(NotStarted::Unreachable(e)) => return Err(format!("connector {id}: {e}")),
        }
        if shutdown.requested() {
            break;
        }
    }
    Ok(ends)
}
