//! Managed mode: connectors created and driven from Kibana, through Elastic's connector
//! protocol (`.elastic-connectors`, `.elastic-connectors-sync-jobs` and the `_connector`
//! API), around the same sync engine as standalone mode ([`crate::sync::run_watched`]).
//!
//! Every `service.idling` seconds the service:
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
mod runner;
mod scheduling;
mod status;
mod system_index;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use tokio::task::JoinSet;

use crate::config::{Config, ConnectorEntry};
use crate::elastic::client::EsClient;
use crate::elastic::{self, cluster};
use crate::service::{Metrics, ServiceError, WorkerState};
use crate::shutdown::Shutdown;
use crate::sync::{elastic_options, SyncKind};

pub use check::check_connectors;
pub use configuration::default_configuration;
pub use connector::{Connector, SERVICE_TYPE};
pub use job::JobEnd;
use job::SyncJob;
use runner::{JobContext, NotStarted};
pub use status::{as_text as status_text, connectors_status};
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
pub async fn serve(config: Arc<Config>, metrics: Arc<Metrics>) -> Result<(), ServiceError> {
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

/// The job families that run apart: one content job and one access-control job per
/// connector at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Family {
    Content,
    AccessControl,
}

impl Family {
    fn of(kind: SyncKind) -> Family {
        match kind {
            SyncKind::AccessControl => Family::AccessControl,
            SyncKind::Full | SyncKind::Incremental => Family::Content,
        }
    }
}

/// A job running in this process.
struct Running {
    connector_id: String,
    kind: SyncKind,
    family: Family,
}

/// The state of the service between polls.
struct Service {
    config: Arc<Config>,
    es: EsClient,
    shutdown: Shutdown,
    metrics: Arc<Metrics>,
    /// `connectors:` of config.yml by id.
    listed: HashMap<String, ConnectorEntry>,
    /// Jobs running here, by job id.
    running: HashMap<String, Running>,
    tasks: JoinSet<(String, Result<job::JobEnd, NotStarted>)>,
    /// When the previous scheduling pass ended (Elastic's `last_wake_up_time`).
    last_wake_up: chrono::DateTime<Utc>,
    last_cleanup: Instant,
    /// Problems already logged, so that each is logged once rather than every poll.
    reported: HashSet<String>,
    /// Per connector, what its configuration was when it was last found good, and when.
    checked: HashMap<String, (String, Instant)>,
}

impl Service {
    fn new(config: Arc<Config>, es: EsClient, shutdown: Shutdown, metrics: Arc<Metrics>) -> Service {
        let listed = config.managed_connectors().into_iter().map(|e| (e.connector_id.clone(), e)).collect();
        Service {
            config,
            es,
            shutdown,
            metrics,
            listed,
            running: HashMap::new(),
            tasks: JoinSet::new(),
            last_wake_up: Utc::now(),
            last_cleanup: Instant::now(),
            reported: HashSet::new(),
            checked: HashMap::new(),
        }
    }

    fn listed_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.listed.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Logs `message` at WARN the first time `key` is seen.
    fn report_once(&mut self, key: String, message: &str) {
        if self.reported.insert(key) {
            tracing::warn!("{message}");
        }
    }

    /// One poll: connectors, then jobs, then (when due) the clean-up.
    async fn poll(&mut self) {
        self.reap();
        let all = match connectors(&self.es).await {
            Ok(all) => all,
            Err(e) => {
                tracing::warn!("could not read the connectors: {e}");
                return;
            }
        };
        let served = self.served(&all).await;
        let now = Utc::now();
        let mut ready = Vec::new();
        for connector in served {
            if let Some(connector) = self.upkeep(connector, now).await {
                ready.push(connector);
            }
        }
        self.last_wake_up = now;
        self.start_jobs(&ready).await;
        self.show_state();
        let cleanup_every = Duration::from_secs(self.config.service.job_cleanup_interval);
        if self.last_cleanup.elapsed() >= cleanup_every {
            self.last_cleanup = Instant::now();
            let ids: HashSet<String> = all.iter().map(|c| c.id().to_string()).collect();
            let here: HashSet<String> = self.running.keys().cloned().collect();
            if let Err(e) = cleanup::clean_up(&self.es, &ids, &ready, &here, Utc::now()).await {
                tracing::warn!("could not clean up abandoned jobs: {e}");
            }
        }
    }

    /// The connectors this process serves, with a word on listed ones that cannot be.
    async fn served(&mut self, all: &[Connector]) -> Vec<Connector> {
        let config = self.config.clone();
        let native_types = &config.service.service_types;
        let mut served = Vec::new();
        for id in self.listed_ids() {
            if !all.iter().any(|c| c.id() == id) {
                self.report_once(
                    format!("missing {id}"),
                    &format!(
                        "connector {id:?} (config.yml `connectors`) does not exist in Elasticsearch: create it in \
                         Kibana (Search → Connectors) or with PUT _connector/{id}, or fix the id"
                    ),
                );
            }
        }
        for connector in all {
            let listed = self.listed.contains_key(connector.id());
            let native = !listed
                && connector.service_type().is_some_and(|t| native_types.iter().any(|n| n == t))
                && connector.doc.source["is_native"] == json!(false);
            if !listed && !native {
                continue;
            }
            if let Some(other) = connector.service_type().filter(|t| *t != SERVICE_TYPE) {
                let why = format!(
                    "service_type {other:?} is not served here: this service runs Confluence connectors \
                     (service_type \"{SERVICE_TYPE}\")"
                );
                if connector.error() != Some(why.as_str()) {
                    let doc = json!({"status": "error", "error": why});
                    let _ = system_index::update(&self.es, CONNECTORS, connector.id(), doc, None).await;
                }
                self.report_once(
                    format!("type {}", connector.id()),
                    &format!("connector {}: {why}", connector.id()),
                );
                continue;
            }
            served.push(connector.clone());
        }
        served
    }

    /// The scheduling service's work for one connector; the connector when its jobs may run.
    async fn upkeep(&mut self, connector: Connector, now: chrono::DateTime<Utc>) -> Option<Connector> {
        let connector = match scheduling::prepare(&self.es, connector).await {
            Ok(connector) => connector,
            Err(e) => {
                tracing::warn!("could not prepare a connector document: {e}");
                return None;
            }
        };
        scheduling::heartbeat(&self.es, &connector, self.config.service.heartbeat, now).await;
        if matches!(connector.status(), "created" | "needs_configuration") {
            self.report_once(
                format!("unconfigured {}", connector.id()),
                &format!("connector {} waits to be configured in Kibana", connector.id()),
            );
            return None;
        }
        // Confluence is asked again when what Kibana saved changed, when the connector is not
        // connected, when a draft of the rules waits to be checked, or every
        // `service.heartbeat` seconds — not on every poll.
        let fingerprint = connector_fingerprint(&connector);
        let fresh = self.checked.get(connector.id()).is_some_and(|(seen, at)| {
            *seen == fingerprint && at.elapsed() < Duration::from_secs(self.config.service.heartbeat)
        });
        let draft_waits = filtering::draft_needs_validation(connector.filtering("draft"));
        if !fresh || connector.status() != "connected" || draft_waits {
            let client = match scheduling::check_configuration(&self.config, &self.es, &connector).await {
                Ok(client) => client,
                // Written on the connector (status error) and logged when it changed.
                Err(_) => {
                    self.checked.remove(connector.id());
                    return None;
                }
            };
            self.checked.insert(connector.id().to_string(), (fingerprint, Instant::now()));
            if let Some(client) = &client {
                scheduling::validate_filtering(&self.es, &connector, client).await;
            }
        }
        scheduling::schedule_due_jobs(&self.es, &connector, self.last_wake_up, now).await;
        reload_connector(&self.es, connector.id()).await.ok().flatten()
    }

    /// Starts the pending and suspended jobs of the ready connectors there is room for.
    async fn start_jobs(&mut self, ready: &[Connector]) {
        if self.shutdown.requested() || ready.is_empty() {
            return;
        }
        let ids: Vec<String> = ready.iter().map(|c| c.id().to_string()).collect();
        let kinds = [SyncKind::Full, SyncKind::Incremental, SyncKind::AccessControl];
        let pending = match job::pending(&self.es, &ids, &kinds).await {
            Ok(pending) => pending,
            Err(e) => {
                tracing::warn!("could not read the pending sync jobs: {e}");
                return;
            }
        };
        for job in pending {
            let Some(kind) = job.kind() else {
                // Ended in error by the runner, which names the unknown type.
                self.spawn(job, SyncKind::Full);
                continue;
            };
            let family = Family::of(kind);
            if self.running.contains_key(job.id()) || !self.has_room(family) {
                continue;
            }
            if self.running.values().any(|r| r.connector_id == job.connector_id() && r.family == family) {
                continue;
            }
            self.spawn(job, kind);
        }
    }

    /// What `/healthz` and the `state` metric say: a kind running here, or idle.
    fn show_state(&self) {
        let state = match self.running.values().next() {
            Some(running) => WorkerState::Running(running.kind),
            None => WorkerState::Idle,
        };
        self.metrics.set_state(state);
    }

    fn has_room(&self, family: Family) -> bool {
        let limit = match family {
            Family::Content => self.config.service.max_concurrent_content_syncs,
            Family::AccessControl => self.config.service.max_concurrent_access_control_syncs,
        };
        self.running.values().filter(|r| r.family == family).count() < limit.max(1)
    }

    fn spawn(&mut self, job: SyncJob, kind: SyncKind) {
        let family = Family::of(kind);
        let ctx = JobContext {
            config: self.config.clone(),
            es: self.es.clone(),
            entry: self.listed.get(job.connector_id()).cloned(),
            shutdown: self.shutdown.clone(),
            metrics: self.metrics.clone(),
        };
        let id = job.id().to_string();
        self.running
            .insert(id.clone(), Running { connector_id: job.connector_id().to_string(), kind, family });
        // On this thread's task set: the sync engine's top future borrows its settings across
        // awaits in ways the compiler cannot prove `Send` for every lifetime; its heavy parts
        // (sink, downloads) run as tasks of their own on the runtime's workers anyway, as
        // they do under `sync` on the command line.
        self.tasks.spawn_local(async move {
            let end = runner::execute(&ctx, job).await;
            (id, end)
        });
    }

    /// Forgets the jobs that ended.
    fn reap(&mut self) {
        while let Some(done) = self.tasks.try_join_next() {
            match done {
                Ok((id, outcome)) => {
                    self.running.remove(&id);
                    match outcome {
                        Ok(_) => {}
                        Err(NotStarted::Busy) => {
                            tracing::debug!(job = id, "the connector runs a job of that kind already; later")
                        }
                        Err(NotStarted::Unreachable(e)) => {
                            tracing::warn!(job = id, "sync job not started: {e}")
                        }
                    }
                }
                Err(e) => {
                    tracing::error!("a sync job task failed: {e}");
                    self.running.clear();
                }
            }
        }
    }

    /// Waits for the running jobs to suspend themselves, up to `grace`.
    async fn stop(mut self, grace: Duration) -> Result<(), ServiceError> {
        self.metrics.set_state(WorkerState::Stopping);
        if self.running.is_empty() {
            return Ok(());
        }
        tracing::info!(jobs = self.running.len(), "stopping: the running sync jobs end suspended");
        let all_done = async { while self.tasks.join_next().await.is_some() {} };
        match tokio::time::timeout(grace, all_done).await {
            Ok(()) => Ok(()),
            Err(_) => Err(ServiceError::TimedOut(format!(
                "a sync job was still running when the shutdown timeout ({} s, service.shutdown_timeout) passed",
                grace.as_secs()
            ))),
        }
    }
}

/// What of a connector its check depends on: the configuration, the active rules, the index.
fn connector_fingerprint(connector: &Connector) -> String {
    let source = &connector.doc.source;
    format!(
        "{}|{}|{}|{}",
        source["configuration"],
        connector.filtering("active"),
        source["index_name"],
        source["features"]
    )
}

/// Every connector document not deleted.
async fn connectors(es: &EsClient) -> Result<Vec<Connector>, String> {
    let query = json!({"bool": {"must_not": [{"term": {"deleted": true}}]}});
    let docs = system_index::search(es, CONNECTORS, query, json!([{"_doc": "asc"}]))
        .await
        .map_err(|e| e.to_string())?;
    Ok(docs.into_iter().map(|doc| Connector { doc }).collect())
}

/// `sync --kind …` in managed mode: an on-demand job of `kind` for each listed connector,
/// created and run here, one after the other, as the service would run it; what each ended
/// as. SIGTERM/SIGINT suspends the job in flight.
pub async fn sync_once(config: Arc<Config>, kind: SyncKind) -> Result<Vec<(String, job::JobEnd)>, String> {
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
