//! The numbers `/metrics` serves: what the worker is doing now and what its syncs did.
//!
//! The state gauge moves as the worker does (idle, running a kind, stopping); the
//! Confluence request series and `documents_processed_total` move while a sync runs (read
//! from [`crate::telemetry`] at each scrape); the per-sync series advance when a sync ends,
//! from its [`SyncReport`]. The text is OpenMetrics (the standardised Prometheus text format, which Prometheus
//! asks for first), written by the Prometheus project's own `prometheus-client` crate. All
//! names start with `confluence_connector_`:
//!
//! | series | labels | meaning |
//! |---|---|---|
//! | `state` | `state` | 1 for what the worker does now: `idle`, `full`, `incremental`, `access_control`, `stopping` |
//! | `syncs_total` | `kind`, `outcome` | syncs that ended: `completed`, `incomplete` (a listing failed), `failed` (could not run) |
//! | `last_sync_duration_seconds` | `kind` | wall time of the last sync of that kind |
//! | `last_completed_sync_timestamp_seconds` | `kind` | when the last completed sync of that kind ended (Unix time) |
//! | `documents_total` | `kind`, `result` | `created`, `updated`, `unchanged`, `deleted`, `filtered`, `failed` |
//! | `documents_processed_total` | `result` | live: `seen`, `unchanged`, `indexed`, `deleted`, `failed` as they happen |
//! | `confluence_requests_total` | `status` | live: Confluence requests by HTTP status (`none`: no response) |
//! | `confluence_route_requests_total` | `route`, `status` | live: the same by route template |
//! | `sink_queued_bytes` | | live: bytes of operations waiting to be sent to Elasticsearch |
//! | `confluence_retries_total` | | live: Confluence requests retried |
//! | `confluence_received_bytes_total` | | live: bytes of Confluence responses |
//! | `bulk_requests_total` | | `_bulk` requests sent to Elasticsearch |
//! | `bulk_items_total` | `result`, `status` | live: `_bulk` items as each answer arrives: `created`, `updated`, `noop`, `deleted`, `not_found`, `rejected` (429/5xx, sent again), `failed` (status `none`: the request got no answer) |
//! | `build_info` | `version` | 1, with the version of this binary |
//!
//! Beside them, the process's own `process_*` series ([`super::process_metrics`]). The text is
//! OpenMetrics unless the scraper's `Accept` asks for the classic Prometheus text
//! (`text/plain; version=0.0.4`) only ([`Exposition`]).

use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use super::process_metrics::ProcessMetrics;
use super::SyncKind;
use crate::sync::SyncReport;

/// The `Content-Type` of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `Content-Type` of the classic Prometheus text ([`Exposition::Prometheus`]).
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The text formats `/metrics` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposition {
    /// OpenMetrics 1.0 (what Prometheus asks for first).
    OpenMetrics,
    /// The classic Prometheus text format 0.0.4.
    Prometheus,
}

impl Exposition {
    /// The format an `Accept` header asks for: OpenMetrics when it names it (or names
    /// neither, as `*/*` does), the classic text when it asks for `text/plain` only.
    pub fn for_accept(accept: Option<&str>) -> Exposition {
        let accept = accept.unwrap_or_default().to_ascii_lowercase();
        if !accept.contains("application/openmetrics-text") && accept.contains("text/plain") {
            Exposition::Prometheus
        } else {
            Exposition::OpenMetrics
        }
    }

    /// Its `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Exposition::OpenMetrics => CONTENT_TYPE,
            Exposition::Prometheus => PROMETHEUS_CONTENT_TYPE,
        }
    }
}

const KINDS: [SyncKind; 3] = [SyncKind::Full, SyncKind::Incremental, SyncKind::AccessControl];

/// What the worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerState {
    /// Waiting for the next scheduled sync.
    Idle,
    /// Running a sync of this kind.
    Running(SyncKind),
    /// Shutdown was requested: no new sync starts.
    Stopping,
}

impl WorkerState {
    const ALL: [WorkerState; 5] = [
        WorkerState::Idle,
        WorkerState::Running(SyncKind::Full),
        WorkerState::Running(SyncKind::Incremental),
        WorkerState::Running(SyncKind::AccessControl),
        WorkerState::Stopping,
    ];

    /// The `state` label, also shown by `/healthz`.
    pub fn name(self) -> &'static str {
        match self {
            WorkerState::Idle => "idle",
            WorkerState::Running(kind) => kind.name(),
            WorkerState::Stopping => "stopping",
        }
    }
}

/// How a sync ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every listing completed and every document was written.
    Completed,
    /// Every listing completed, but some documents failed (reported with their ids; the
    /// cursor stayed, so the next sync tries them again).
    CompletedWithFailures,
    /// It ran to its end but a listing failed (nothing was deleted in that scope).
    Incomplete,
    /// It could not run (configuration, Elasticsearch or Confluence unreachable, …).
    Failed,
}

impl Outcome {
    const ALL: [Outcome; 4] =
        [Outcome::Completed, Outcome::CompletedWithFailures, Outcome::Incomplete, Outcome::Failed];

    /// The outcome of a sync that returned `result`.
    pub fn of(result: &Result<SyncReport, String>) -> Outcome {
        match result {
            Ok(report) if report.completed() && report.failed.is_empty() => Outcome::Completed,
            Ok(report) if report.completed() => Outcome::CompletedWithFailures,
            Ok(_) => Outcome::Incomplete,
            Err(_) => Outcome::Failed,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::CompletedWithFailures => "completed_with_failures",
            Outcome::Incomplete => "incomplete",
            Outcome::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SyncLabels {
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DocumentLabels {
    kind: &'static str,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BulkItemLabels {
    result: &'static str,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

type SecondsGauge = Gauge<f64, AtomicU64>;

/// The worker's metrics; shared by the service loop (which records) and the HTTP endpoint
/// (which reads).
#[derive(Debug)]
pub struct Metrics {
    /// Every series below, for encoding.
    registry: Registry,
    /// The `process_*` series.
    process: ProcessMetrics,
    /// The current state, for `/healthz`.
    current: Mutex<WorkerState>,
    state: Family<StateLabels, Gauge>,
    syncs: Family<SyncLabels, Counter>,
    last_duration: Family<KindLabels, SecondsGauge>,
    last_completed: Family<KindLabels, SecondsGauge>,
    documents: Family<DocumentLabels, Counter>,
    requests: Family<StatusLabels, Counter>,
    route_requests: Family<RouteLabels, Counter>,
    processed: Family<ResultLabels, Counter>,
    sink_queued: Gauge,
    retries: Counter,
    received_bytes: Counter,
    bulk_requests: Counter,
    bulk_items: Family<BulkItemLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every series registered, the worker idle, and a zero for each (kind, outcome) so that
    /// `rate()` and alerts see the series before the first sync ends.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("confluence_connector");
        let state = Family::<StateLabels, Gauge>::default();
        registry.register("state", "What the worker is doing now (1 for the current state)", state.clone());
        let syncs = Family::<SyncLabels, Counter>::default();
        registry.register("syncs", "Syncs that ended, by kind and outcome", syncs.clone());
        let last_duration = Family::<KindLabels, SecondsGauge>::default();
        registry.register_with_unit(
            "last_sync_duration",
            "Wall time of the last sync of each kind",
            Unit::Seconds,
            last_duration.clone(),
        );
        let last_completed = Family::<KindLabels, SecondsGauge>::default();
        registry.register_with_unit(
            "last_completed_sync_timestamp",
            "Unix time at which the last completed sync of each kind ended",
            Unit::Seconds,
            last_completed.clone(),
        );
        let documents = Family::<DocumentLabels, Counter>::default();
        registry.register("documents", "Documents handled by syncs, by kind and result", documents.clone());
        let requests = Family::<StatusLabels, Counter>::default();
        registry.register(
            "confluence_requests",
            "Confluence requests by HTTP status (none: no response)",
            requests.clone(),
        );
        let route_requests = Family::<RouteLabels, Counter>::default();
        registry.register(
            "confluence_route_requests",
            "Confluence requests by route template and HTTP status, as they happen",
            route_requests.clone(),
        );
        let processed = Family::<ResultLabels, Counter>::default();
        registry.register(
            "documents_processed",
            "Documents seen by syncs and what Elasticsearch confirmed, as it happens",
            processed.clone(),
        );
        let sink_queued = Gauge::default();
        registry.register_with_unit(
            "sink_queued",
            "Bytes of operations waiting in the queue to Elasticsearch",
            Unit::Bytes,
            sink_queued.clone(),
        );
        let retries = Counter::default();
        registry.register("confluence_retries", "Confluence requests retried", retries.clone());
        let received_bytes = Counter::default();
        registry.register_with_unit(
            "confluence_received",
            "Bytes of Confluence responses",
            Unit::Bytes,
            received_bytes.clone(),
        );
        let bulk_requests = Counter::default();
        registry.register("bulk_requests", "_bulk requests sent to Elasticsearch", bulk_requests.clone());
        let bulk_items = Family::<BulkItemLabels, Counter>::default();
        registry.register(
            "bulk_items",
            "_bulk items by what Elasticsearch answered and its status, as each answer arrives",
            bulk_items.clone(),
        );
        registry.register(
            "build",
            "The version of this binary",
            Info::new(vec![("version".to_string(), env!("CARGO_PKG_VERSION").to_string())]),
        );
        for kind in KINDS {
            for outcome in Outcome::ALL {
                syncs.get_or_create(&SyncLabels { kind: kind.name(), outcome: outcome.name() }).inc_by(0);
            }
        }
        let metrics = Metrics {
            registry,
            process: ProcessMetrics::new(),
            current: Mutex::new(WorkerState::Idle),
            state,
            syncs,
            last_duration,
            last_completed,
            documents,
            requests,
            route_requests,
            processed,
            sink_queued,
            retries,
            received_bytes,
            bulk_requests,
            bulk_items,
        };
        metrics.set_state(WorkerState::Idle);
        metrics
    }

    /// What the worker is doing now.
    pub fn state(&self) -> WorkerState {
        *self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The worker now does `state`.
    pub fn set_state(&self, state: WorkerState) {
        *self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = state;
        for each in WorkerState::ALL {
            self.state.get_or_create(&StateLabels { state: each.name() }).set(i64::from(each == state));
        }
    }

    /// A sync of `kind` ended at `ended` after `took`, with `result`.
    pub fn sync_ended(
        &self,
        kind: SyncKind,
        result: &Result<SyncReport, String>,
        took: Duration,
        ended: DateTime<Utc>,
    ) {
        let outcome = Outcome::of(result);
        self.syncs.get_or_create(&SyncLabels { kind: kind.name(), outcome: outcome.name() }).inc();
        self.last_duration.get_or_create(&KindLabels { kind: kind.name() }).set(took.as_secs_f64());
        if matches!(outcome, Outcome::Completed) {
            let at = ended.timestamp_millis() as f64 / 1000.0;
            self.last_completed.get_or_create(&KindLabels { kind: kind.name() }).set(at);
        }
        let Ok(report) = result else { return };
        let documents = [
            ("created", report.created),
            ("updated", report.updated),
            ("unchanged", report.unchanged),
            ("deleted", report.deleted),
            ("filtered", report.filtered),
            ("failed", report.failed.len() as u64),
        ];
        for (name, count) in documents {
            self.documents.get_or_create(&DocumentLabels { kind: kind.name(), result: name }).inc_by(count);
        }
        self.bulk_requests.inc_by(report.bulk_requests);
    }

    /// Brings the live series up to the process's totals ([`crate::telemetry`]).
    fn catch_up(&self) {
        fn to(counter: &Counter, total: u64) {
            let behind = total.saturating_sub(counter.get());
            if behind > 0 {
                counter.inc_by(behind);
            }
        }
        let totals = crate::telemetry::totals();
        let mut by_status: std::collections::BTreeMap<String, u64> = Default::default();
        for ((route, status), count) in &totals.requests {
            let status = if *status == 0 { "none".to_string() } else { status.to_string() };
            *by_status.entry(status.clone()).or_default() += count;
            to(&self.route_requests.get_or_create(&RouteLabels { route: route.to_string(), status }), *count);
        }
        for (status, count) in by_status {
            to(&self.requests.get_or_create(&StatusLabels { status }), count);
        }
        for (result, count) in totals.documents {
            to(&self.processed.get_or_create(&ResultLabels { result }), count);
        }
        for ((result, status), count) in &totals.bulk_items {
            let status = if *status == 0 { "none".to_string() } else { status.to_string() };
            to(&self.bulk_items.get_or_create(&BulkItemLabels { result, status }), *count);
        }
        self.sink_queued.set(i64::try_from(totals.sink_queued_bytes).unwrap_or(i64::MAX));
        to(&self.retries, totals.retries);
        to(&self.received_bytes, totals.received_bytes);
    }

    /// The OpenMetrics text of every series (see [`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        self.process.refresh();
        self.catch_up();
        let mut text = String::new();
        // Writing into a String cannot fail; an error could only come from a label value's
        // own encoder, and ours are plain text.
        let written = encode_registry(&mut text, &self.registry)
            .and_then(|()| encode_registry(&mut text, &self.process.registry))
            .and_then(|()| encode_eof(&mut text));
        if let Err(e) = written {
            tracing::warn!("encoding the metrics failed: {e}");
        }
        text
    }

    /// Every series in the format `exposition`.
    pub fn encode_as(&self, exposition: Exposition) -> String {
        match exposition {
            Exposition::OpenMetrics => self.encode(),
            Exposition::Prometheus => prometheus_text(&self.encode()),
        }
    }
}

/// OpenMetrics text rewritten as the classic Prometheus text: a counter's `HELP` and `TYPE`
/// name its `_total` samples, an info is a gauge named `_info`, and the `UNIT` and `EOF`
/// lines go.
fn prometheus_text(openmetrics: &str) -> String {
    let types: std::collections::HashMap<&str, &str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .collect();
    let renamed = |name: &str| match types.get(name).copied() {
        Some("counter") => format!("{name}_total"),
        Some("info") => format!("{name}_info"),
        _ => name.to_string(),
    };
    let mut text = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        if let Some((name, rest)) = line.strip_prefix("# HELP ").and_then(|l| l.split_once(' ')) {
            text.push_str(&format!("# HELP {} {rest}\n", renamed(name)));
        } else if let Some((name, kind)) = line.strip_prefix("# TYPE ").and_then(|l| l.split_once(' ')) {
            let kind = if kind == "info" { "gauge" } else { kind };
            text.push_str(&format!("# TYPE {} {kind}\n", renamed(name)));
        } else {
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests;
