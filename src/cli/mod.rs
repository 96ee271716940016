//! The commands behind `confluence-connector run | sync | check`.

mod check;
mod status;
mod sync;

use std::fmt;

use clap::ValueEnum;

use crate::config::Config;
use crate::service::{self, ServiceError};
use crate::sync::SyncKind;

pub use check::check;
pub use status::status;

/// `sync --kind …`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncKindArg {
    /// Index everything in scope, delete what is gone.
    Full,
    /// Only what changed since the last successful sync.
    Incremental,
    /// Identity documents for document level security.
    AccessControl,
}

/// Why a command failed; `Display` is the one line the user sees.
#[derive(Debug)]
pub enum CliError {
    /// `check` found problems.
    Check(Vec<String>),
    /// A sync did not complete.
    Sync(String),
    /// A sync completed, but some documents failed (exit code 3).
    DocumentsFailed(String),
    /// The configuration asks for something this version cannot do.
    Unsupported(String),
    /// `run` could not start (its health port is taken, …).
    Start(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Check(problems) => f.write_str(&problems.join("\nerror: ")),
            CliError::Sync(reason)
            | CliError::DocumentsFailed(reason)
            | CliError::Unsupported(reason)
            | CliError::Start(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for CliError {}

impl CliError {
    /// The process's exit code: 3 for a sync that completed with failed documents (they are
    /// listed in the log, and the next sync tries them again), 1 for everything else here
    /// (2, an invalid config, is decided before a command runs).
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::DocumentsFailed(_) => 3,
            _ => 1,
        }
    }
}

/// One sync, then return: `Ok` only when it completed.
pub async fn sync(config: &Config, kind: SyncKindArg) -> Result<(), CliError> {
    let kind = match kind {
        SyncKindArg::Full => SyncKind::Full,
        SyncKindArg::Incremental => SyncKind::Incremental,
        SyncKindArg::AccessControl => SyncKind::AccessControl,
    };
    if config.standalone().is_none() {
        return managed_sync(config, kind).await;
    }
    sync::sync_once(config, kind).await.map(|_| ())
}

/// `sync` in managed mode: one on-demand job per listed connector, run here.
async fn managed_sync(config: &Config, kind: SyncKind) -> Result<(), CliError> {
    let ends =
        crate::managed::sync_once(std::sync::Arc::new(config.clone()), kind).await.map_err(CliError::Sync)?;
    let failed: Vec<String> = ends
        .iter()
        .filter(|(_, end)| *end != crate::managed::JobEnd::Completed)
        .map(|(id, end)| {
            format!(
                "connector {id}: job {}{}",
                end.status(),
                end.error().map(|e| format!(": {e}")).unwrap_or_default()
            )
        })
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Sync(failed.join("; ")))
    }
}

/// The long-running service: the configured schedules until SIGTERM/SIGINT, with the health
/// port when `service.http.port` is set.
pub async fn run(config: &Config) -> Result<(), CliError> {
    let served = if config.standalone().is_some() {
        service::serve(config).await
    } else {
        serve_managed(config).await
    };
    served.map_err(|e| match e {
        ServiceError::Unsupported(why) => CliError::Unsupported(why),
        ServiceError::Start(why) => CliError::Start(why),
        ServiceError::TimedOut(why) => CliError::Sync(why),
    })
}

/// Managed mode: the connectors, their schedules and jobs come from Kibana; the health port
/// as in standalone mode.
async fn serve_managed(config: &Config) -> Result<(), ServiceError> {
    let metrics = std::sync::Arc::new(service::Metrics::new());
    if let Some(port) = config.service.http.port {
        service::serve_health(config, port, metrics.clone()).await?;
    }
    crate::managed::serve(std::sync::Arc::new(config.clone()), metrics).await
}
