//! The history of syncs `status` reads: after each sync, one [`SyncRecord`] (kind, start,
//! duration, outcome, counts, first failures) is added to the sync state of the content
//! index ([`crate::elastic::state`]), which keeps the last few.

use chrono::{DateTime, Utc};

use crate::config::{Config, ConfluenceConfig};
use crate::elastic;
use crate::elastic::state::{SyncRecord, FAILURES_KEPT};

use super::error::SyncError;
use super::report::SyncReport;
use super::target::elastic_options;
use super::SyncKind;

/// The record of a sync of `kind` that started at `started_at` and ended with `result`.
pub(super) fn record(
    kind: SyncKind,
    started_at: DateTime<Utc>,
    result: &Result<SyncReport, SyncError>,
) -> SyncRecord {
    let elapsed = (Utc::now() - started_at).to_std().unwrap_or_default();
    let mut record = SyncRecord {
        kind: kind.name().to_string(),
        started_at,
        duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        ..SyncRecord::default()
    };
    match result {
        Err(e) => {
            record.outcome = "failed".into();
            record.failures.push(e.to_string());
        }
        Ok(report) => {
            record.outcome = match (report.completed(), report.failed.is_empty()) {
                (true, true) => "completed",
                (true, false) => "completed_with_failures",
                (false, _) => "incomplete",
            }
            .into();
            record.duration_ms =
                u64::try_from(report.duration.as_millis()).unwrap_or(u64::MAX).max(record.duration_ms);
            let counts = [
                ("seen", report.seen),
                ("created", report.created),
                ("updated", report.updated),
                ("unchanged", report.unchanged),
                ("filtered", report.filtered),
                ("deleted", report.deleted),
                ("failed", report.failed.len() as u64),
            ];
            record.documents = counts.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            record.failures.extend(report.incomplete_reason());
            record.failures.extend(report.failed.iter().cloned());
        }
    }
    record.failures.truncate(FAILURES_KEPT);
    for failure in &mut record.failures {
        if failure.chars().count() > FAILURE_CHARS {
            *failure = failure.chars().take(FAILURE_CHARS - 1).chain(['…']).collect();
        }
    }
    record
}

/// The longest failure kept in the history, in characters (the log has the whole text).
const FAILURE_CHARS: usize = 400;

/// Adds the record of this sync to the history kept in the content index. Once, without
/// retries: a history that cannot be written (Elasticsearch unreachable, which the sync has
/// already said) is a warning, never a reason to fail or to wait.
pub(super) async fn remember(
    config: &Config,
    source: &ConfluenceConfig,
    kind: SyncKind,
    started_at: DateTime<Utc>,
    result: &Result<SyncReport, SyncError>,
) {
    let index = source.index_name.as_str();
    let es = match elastic::client::connect(&elastic_options(config, None)) {
        Ok(es) => es.without_retries(),
        Err(e) => {
            tracing::warn!(index, "could not record the sync in the history: {e}");
            return;
        }
    };
    if let Err(e) = elastic::state::append_history(&es, index, record(kind, started_at, result)).await {
        tracing::warn!(index, "could not record the sync in the history: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_says_the_outcome_the_counts_and_the_first_failures() {
        let started = Utc::now();
        let failed: Vec<String> = (0..8).map(|i| format!("{i} (page): mapper_parsing_exception")).collect();
        let report = SyncReport { seen: 10, created: 2, failed, ..SyncReport::default() };
        let record = record(SyncKind::Full, started, &Ok(report));
        assert_eq!((record.kind.as_str(), record.outcome.as_str()), ("full", "completed_with_failures"));
        assert_eq!(record.documents["seen"], 10);
        assert_eq!(record.documents["failed"], 8);
        assert_eq!(record.failures.len(), FAILURES_KEPT);
        let failed =
            super::record(SyncKind::Incremental, started, &Err(SyncError::Start("no Elasticsearch".into())));
        assert_eq!(failed.outcome, "failed");
        assert_eq!(failed.failures, ["no Elasticsearch"]);
        let long = super::record(SyncKind::Full, started, &Err(SyncError::Start("x".repeat(1000))));
        assert_eq!(long.failures[0].chars().count(), FAILURE_CHARS);
    }
}
