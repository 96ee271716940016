//! `sync --kind …`: one sync through the sync layer ([`crate::sync::run`]), stopped
//! gracefully by SIGTERM or SIGINT.

use crate::shutdown::Shutdown;
use crate::sync::{self, SyncError, SyncKind};

use super::CliError;

/// Runs one sync of `kind`; `Ok` carries the report's summary line, and only when the sync
/// completed with every document written. SIGTERM or SIGINT stops it gracefully (what was sent is written, nothing is
/// deleted, the cursor stays); a second signal exits at once.
pub async fn sync_once(config: &crate::config::Config, kind: SyncKind) -> Result<String, CliError> {
    let report = sync::run(config, kind, Shutdown::on_signals()).await?;
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
