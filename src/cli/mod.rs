//! The commands behind `confluence-connector run | sync | check`.

mod check;
pub mod sync;

use clap::ValueEnum;
use std::fmt;

use std::time::Duration;

use crate::config::Config;
use crate::schedule::Schedule;
use crate::service::{self, Shutdown, Stopped, SyncKind, Timetable};

pub use check::check;

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
    /// The configuration asks for something this version cannot do.
    Unsupported(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Check(problems) => f.write_str(&problems.join("\nerror: ")),
            CliError::Sync(reason) | CliError::Unsupported(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for CliError {}

/// One sync, then return: `Ok` only when it completed.
pub async fn sync(config: &Config, kind: SyncKindArg) -> Result<(), CliError> {
    let kind = match kind {
        SyncKindArg::Full => SyncKind::Full,
        SyncKindArg::Incremental => SyncKind::Incremental,
        SyncKindArg::AccessControl => SyncKind::AccessControl,
    };
    sync::sync_once(config, kind).await.map(|_| ())
}

/// The long-running service: the configured schedules until SIGTERM/SIGINT.
pub async fn run(config: &Config) -> Result<(), CliError> {
    let source = config.standalone().ok_or_else(|| {
        CliError::Unsupported(
            "managed mode (`connectors:` driven from Kibana) is not supported by this version: \
             put the source settings in the `confluence` section of config.yml"
                .into(),
        )
    })?;
    let now = chrono::Utc::now();
    let mut timetable = Timetable::new();
    let schedules = [
        (SyncKind::Full, &source.schedules.full, "full"),
        (SyncKind::Incremental, &source.schedules.incremental, "incremental"),
        (SyncKind::AccessControl, &source.schedules.access_control, "access_control"),
    ];
    for (kind, text, name) in schedules {
        let Some(text) = text else { continue };
        if kind == SyncKind::AccessControl {
            return Err(CliError::Unsupported(format!(
                "confluence.schedules.{name}: {name} syncs are not available in this version; \
                 remove this schedule"
            )));
        }
        // Validated when the config was loaded.
        let schedule =
            Schedule::parse(text).map_err(|e| CliError::Sync(format!("confluence.schedules.{name}: {e}")))?;
        tracing::info!(kind = name, schedule = %schedule, "scheduled");
        timetable.add(kind, schedule, now);
    }
    if timetable.is_empty() {
        return Err(CliError::Unsupported(
            "nothing to run: set confluence.schedules.full or .incremental (e.g. \"0 0 * * * ?\" or 1h)"
                .into(),
        ));
    }
    let grace = Duration::from_secs(config.service.shutdown_timeout);
    let stopped = service::run(timetable, Shutdown::on_signals(), grace, |kind| async move {
        sync::sync_once(config, kind).await.map_err(|e| e.to_string())
    })
    .await;
    match stopped {
        Stopped::Shutdown | Stopped::NothingScheduled => Ok(()),
        Stopped::TimedOut => {
            Err(CliError::Sync("a sync was still running when the shutdown timeout passed".into()))
        }
    }
}
