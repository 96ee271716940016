//! One poll of the managed service, and the state kept between polls: the connectors this
//! process serves, their upkeep (document, check-in, configuration check, scheduled jobs),
//! the jobs it starts within the concurrency limits, and the clean-up when it is due.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use tokio::task::JoinSet;

use crate::config::{Config, ConnectorEntry};
use crate::elastic::client::EsClient;
use crate::service::{Metrics, ServiceError, WorkerState};
use crate::shutdown::Shutdown;
use crate::sync::SyncKind;

use super::connector::{Connector, SERVICE_TYPE};
use super::job::{self, SyncJob};
use super::runner::{self, JobContext, NotStarted};
use super::system_index::{self, CONNECTORS};
use super::{cleanup, filtering, reload_connector, scheduling};

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
pub(super) struct Service {
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
    pub(super) fn new(
        config: Arc<Config>,
        es: EsClient,
        shutdown: Shutdown,
        metrics: Arc<Metrics>,
    ) -> Service {
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

    pub(super) fn listed_ids(&self) -> Vec<String> {
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
    pub(super) async fn poll(&mut self) {
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
    pub(super) async fn stop(mut self, grace: Duration) -> Result<(), ServiceError> {
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
