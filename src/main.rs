//! `confluence-connector`: the command line.
//!
//! Three commands: `run` (the long-running service), `sync` (one sync, then exit) and
//! `check` (validate the config and reach both ends). An invalid `config.yml` exits with
//! code 2 and every problem listed; any other failure exits with code 1 and one line saying
//! why.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use confluence_connector::cli;
use confluence_connector::config;
use confluence_connector::logging::{self, LogFormat};

const EXAMPLES: &str = "\
Examples:
  confluence-connector check -c config.yml
      Validate config.yml, reach Confluence and Elasticsearch, print what was found.
  confluence-connector sync --kind full -c config.yml
      Run one full sync, then exit (0 only if it completed).
  confluence-connector sync --kind incremental -c config.yml --log-format json
      One incremental sync, logging ECS JSON lines.
  confluence-connector run -c config.yml
      Run the service until SIGTERM: the configured schedules (standalone), or the
      connectors, schedules and sync jobs of Kibana (managed: `connectors:` in config.yml).
  elastic-ingest -c config.yml
      The same service under the name of Elastic's (the Docker image has /app/bin/elastic-ingest).

Environment:
  CONFLUENCE_CONNECTOR__<PATH>   overrides a config key, `__` between levels
                                 (CONFLUENCE_CONNECTOR__CONFLUENCE__API_TOKEN=...)
  RUST_LOG                       log filter when neither --log-level nor service.log_level is set";

/// Copies Confluence (Cloud, Server, Data Center) into Elasticsearch.
#[derive(Debug, Parser)]
#[command(name = "confluence-connector", version, about, after_help = EXAMPLES)]
struct Cli {
    /// Path to config.yml (`--config-file`, as `elastic-ingest` names it, works too).
    #[arg(
        short,
        long,
        global = true,
        default_value = "config.yml",
        value_name = "FILE",
        visible_alias = "config-file"
    )]
    config: PathBuf,
    /// Log level (trace, debug, info, warning, error); wins over service.log_level.
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
    /// Log format; wins over service.log_format.
    #[arg(long, global = true, value_enum)]
    log_format: Option<FormatArg>,
    /// Same as --log-level debug (`elastic-ingest`'s flag).
    #[arg(long, global = true)]
    debug: bool,
    /// What to do; `run` when none is given (as `elastic-ingest -c config.yml` runs the service).
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the long-running service: scheduled syncs until SIGTERM/SIGINT.
    Run,
    /// Run one sync, then exit: 0 when it completed, non-zero with the reason otherwise.
    Sync {
        /// Which sync.
        #[arg(long, value_enum)]
        kind: cli::SyncKindArg,
    },
    /// Validate the config, reach Confluence and Elasticsearch, and print what was found.
    Check {
        /// Print nothing on success (for health checks).
        #[arg(long)]
        quiet: bool,
    },
}

fn main() -> ExitCode {
    confluence_connector::memory::tune_allocator();
    let mut cli = Cli::parse();
    if cli.debug && cli.log_level.is_none() {
        cli.log_level = Some("debug".into());
    }
    let command = cli.command.take().unwrap_or(Command::Run);
    if let Some(level) = &cli.log_level {
        if logging::level_directive(level).is_none() {
            eprintln!("error: --log-level {level:?} is not one of trace, debug, info, warning, error");
            return ExitCode::from(2);
        }
    }
    let loaded = match config::load(&cli.config) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {}: {e}", cli.config.display());
            // Every configuration problem (unreadable, not YAML, invalid) is exit code 2.
            return ExitCode::from(2);
        }
    };
    let format = match cli.log_format {
        Some(FormatArg::Json) => LogFormat::Json,
        Some(FormatArg::Text) => LogFormat::Text,
        None => LogFormat::parse(&loaded.config.service.log_format).unwrap_or(LogFormat::Text),
    };
    logging::init(
        format,
        logging::filter(cli.log_level.as_deref(), loaded.config.service.log_level.as_deref()),
    );
    for warning in &loaded.warnings {
        tracing::warn!("{}: {warning}", cli.config.display());
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = loaded.config;
    let name = match command {
        Command::Check { .. } => "check",
        Command::Sync { .. } => "sync",
        Command::Run => "run",
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        command = name,
        "confluence-connector {} starting",
        env!("CARGO_PKG_VERSION")
    );
    let outcome = runtime.block_on(async move {
        match command {
            Command::Check { quiet } => cli::check(&config, quiet).await,
            Command::Sync { kind } => cli::sync(&config, kind).await,
            Command::Run => cli::run(&config).await,
        }
    });
    let code = match &outcome {
        Ok(()) => 0,
        Err(e) => e.exit_code(),
    };
    tracing::info!(command = name, exit_code = code, "confluence-connector stopped");
    if let Err(e) = outcome {
        eprintln!("error: {e}");
    }
    ExitCode::from(code)
}
