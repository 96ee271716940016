//! The numbers `/metrics` serves: what the worker is doing now and what its syncs did.
//!
//! The state gauge moves as the worker does (idle, running a kind, stopping); every other
//! series advances when a sync ends, from its [`SyncReport`], so a scrape never sees half a
//! sync. The text is OpenMetrics (the standardised Prometheus text format, which Prometheus
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
//! | `confluence_requests_total` | `status` | Confluence requests by HTTP status (`none`: no response) |
//! | `confluence_retries_total` | | Confluence requests retried |
//! | `confluence_received_bytes_total` | | bytes of Confluence responses |
//! | `bulk_requests_total` | | `_bulk` requests sent to Elasticsearch |

use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::SyncKind;
use crate::sync::SyncReport;

/// The `Content-Type` of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

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

type SecondsGauge = Gauge<f64, AtomicU64>;

/// The worker's metrics; shared by the service loop (which records) and the HTTP endpoint
/// (which reads).
#[derive(Debug)]
pub struct Metrics {
    /// Every series below, for encoding.
    registry: Registry,
    /// The current state, for `/healthz`.
    current: Mutex<WorkerState>,
    state: Family<StateLabels, Gauge>,
    syncs: Family<SyncLabels, Counter>,
    last_duration: Family<KindLabels, SecondsGauge>,
    last_completed: Family<KindLabels, SecondsGauge>,
    documents: Family<DocumentLabels, Counter>,
    requests: Family<StatusLabels, Counter>,
    retries: Counter,
    received_bytes: Counter,
    bulk_requests: Counter,
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
        for kind in KINDS {
            for outcome in Outcome::ALL {
                syncs.get_or_create(&SyncLabels { kind: kind.name(), outcome: outcome.name() }).inc_by(0);
            }
        }
        let metrics = Metrics {
            registry,
            current: Mutex::new(WorkerState::Idle),
            state,
            syncs,
            last_duration,
            last_completed,
            documents,
            requests,
            retries,
            received_bytes,
            bulk_requests,
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
        for (_route, status, count) in &report.confluence_routes {
            let status = if *status == 0 { "none".to_string() } else { status.to_string() };
            self.requests.get_or_create(&StatusLabels { status }).inc_by(*count);
        }
        self.retries.inc_by(report.confluence_retries);
        self.received_bytes.inc_by(report.confluence_bytes);
        self.bulk_requests.inc_by(report.bulk_requests);
    }

    /// The OpenMetrics text of every series (see [`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; an error could only come from a label value's
        // own encoder, and ours are plain text.
        if let Err(e) = encode(&mut text, &self.registry) {
            tracing::warn!("encoding the metrics failed: {e}");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, series: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(series)).and_then(|l| l.rsplit(' ').next())
    }

    #[test]
    fn a_sync_report_becomes_counters() {
        let metrics = Metrics::new();
        let report = SyncReport {
            created: 10,
            updated: 2,
            deleted: 3,
            failed: vec!["1 (page): mapper_parsing_exception".into()],
            confluence_routes: vec![
                ("GET /rest/api/space".into(), 200, 4),
                ("GET /rest/api/content/search".into(), 200, 6),
                ("GET /rest/api/content/search".into(), 429, 2),
                ("GET /download".into(), 0, 1),
            ],
            confluence_retries: 3,
            confluence_bytes: 2048,
            bulk_requests: 5,
            ..SyncReport::default()
        };
        let ended = DateTime::from_timestamp(1_767_261_600, 0).unwrap_or_default();
        metrics.sync_ended(SyncKind::Full, &Ok(report.clone()), Duration::from_millis(1500), ended);
        // The same sync once every document got in.
        let clean = SyncReport { failed: Vec::new(), ..report };
        metrics.sync_ended(SyncKind::Full, &Ok(clean), Duration::from_millis(2500), ended);
        metrics.sync_ended(SyncKind::Incremental, &Err("no Elasticsearch".into()), Duration::ZERO, ended);
        let text = metrics.encode();

        let value = |series: &str| line(&text, series).unwrap_or_else(|| panic!("{series} missing:\n{text}"));
        assert_eq!(value(r#"confluence_connector_syncs_total{kind="full",outcome="completed"}"#), "1");
        assert_eq!(
            value(r#"confluence_connector_syncs_total{kind="full",outcome="completed_with_failures"}"#),
            "1",
            "a sync whose documents failed is not counted as completed"
        );
        assert_eq!(value(r#"confluence_connector_syncs_total{kind="incremental",outcome="failed"}"#), "1");
        assert_eq!(
            value(r#"confluence_connector_syncs_total{kind="access_control",outcome="completed"}"#),
            "0"
        );
        assert_eq!(value(r#"confluence_connector_last_sync_duration_seconds{kind="full"}"#), "2.5");
        assert_eq!(
            value(r#"confluence_connector_last_completed_sync_timestamp_seconds{kind="full"}"#),
            "1767261600.0"
        );
        assert!(line(
            &text,
            r#"confluence_connector_last_completed_sync_timestamp_seconds{kind="incremental"}"#
        )
        .is_none());
        assert_eq!(value(r#"confluence_connector_documents_total{kind="full",result="created"}"#), "20");
        assert_eq!(value(r#"confluence_connector_documents_total{kind="full",result="deleted"}"#), "6");
        assert_eq!(value(r#"confluence_connector_documents_total{kind="full",result="failed"}"#), "1");
        assert_eq!(value(r#"confluence_connector_confluence_requests_total{status="200"}"#), "20");
        assert_eq!(value(r#"confluence_connector_confluence_requests_total{status="429"}"#), "4");
        assert_eq!(value(r#"confluence_connector_confluence_requests_total{status="none"}"#), "2");
        assert_eq!(value("confluence_connector_confluence_retries_total"), "6");
        assert_eq!(value("confluence_connector_confluence_received_bytes_total"), "4096");
        assert_eq!(value("confluence_connector_bulk_requests_total"), "10");
        assert!(text.contains("# TYPE confluence_connector_syncs counter"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn exactly_one_state_is_current() {
        let metrics = Metrics::new();
        assert_eq!(metrics.state(), WorkerState::Idle);
        metrics.set_state(WorkerState::Running(SyncKind::Incremental));
        assert_eq!(metrics.state(), WorkerState::Running(SyncKind::Incremental));
        let text = metrics.encode();
        let states: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("confluence_connector_state{") && l.ends_with(" 1"))
            .collect();
        assert_eq!(states, [r#"confluence_connector_state{state="incremental"} 1"#], "{text}");
        assert!(text.contains(r#"confluence_connector_state{state="idle"} 0"#), "{text}");
    }
}
