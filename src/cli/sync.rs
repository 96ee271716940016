//! `sync --kind …`: one sync through the sync layer ([`crate::sync::run`]), stopped
//! gracefully by SIGTERM or SIGINT.

use crate::shutdown::Shutdown;
use crate::sync::{self, SyncError, SyncKind};

use super::CliError;

/// Runs one sync of `kind`; `Ok` carries the report's summary line, and only when the sync
/// completed with every document written. SIGTERM or SIGINT stops it gracefully (what was
/// sent is written, nothing is deleted, the cursor stays) within `service.shutdown_timeout`:
/// a sync still waiting then (on retries of an unreachable Elasticsearch, a backoff, a
/// lease) is given up; a second signal exits at once.
pub(super) async fn sync_once(config: &crate::config::Config, kind: SyncKind) -> Result<String, CliError> {
    let stop = Shutdown::on_signals();
    let grace = std::time::Duration::from_secs(config.service.shutdown_timeout);
    let Some(report) = stop.within_grace(grace, sync::run(config, kind, stop.clone())).await else {
        return Err(CliError::Sync(format!(
            "stopped by a signal: the sync was still waiting when service.shutdown_timeout ({} s) ran out; \
             nothing was deleted and the cursor stays, so the next sync starts from the same point",
            grace.as_secs()
        )));
    };
    let report = report?;
    if let Some(why) = report.incomplete_reason() {
        return Err(CliError::Sync(why));
    }
    match report.failed.first() {
        None => Ok(report.to_string()),
        Some(first) => Err(CliError::DocumentsFailed(format!(
            "the sync completed, but {} documents failed (each is in the log; the cursor stays so that \
             the next sync tries them again), the first: {first}",
            report.failed.len()
        ))),
    }
}

impl From<SyncError> for CliError {
    fn from(e: SyncError) -> CliError {
        match e {
            SyncError::Unsupported(why) => CliError::Unsupported(why),
            SyncError::Start(why) => CliError::Sync(why),
        }
    }
}
