//! The commands behind `confluence-connector run | sync | check`.

mod check;

use std::fmt;

use clap::ValueEnum;

use crate::config::Config;

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

/// One sync, then return.
pub async fn sync(_config: &Config, kind: SyncKindArg) -> Result<(), CliError> {
    Err(CliError::Unsupported(format!("sync --kind {kind:?} is being wired in")))
}

/// The long-running service.
pub async fn run(_config: &Config) -> Result<(), CliError> {
    Err(CliError::Unsupported("run is being wired in".into()))
}
