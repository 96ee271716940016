//! `confluence-connector`: the command line.
//!
//! Four commands: `run` (the long-running service), `sync` (one sync, then exit), `check`
//! (validate the config and reach both ends) and `status` (what the last syncs did). An invalid `config.yml` exits with
//! code 2 and every problem listed; any other failure exits with code 1 and one line saying
//! why.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use confluence_connector::cli;
use confluence_connector::config;
use confluence_connector::isolated;
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
  confluence-connector status -c config.yml --format json
      The last sync of each kind, the cursor and the recent syncs, from Elasticsearch.

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
    /// Show the last sync of each kind, the cursor and the recent syncs of the index.
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: FormatArg,
    },
}

fn main() -> ExitCode {
    confluence_connector::tune_allocator();
    // A child the sync started to read one PDF (src/extract/isolated.rs); not a command.
    if std::env::args_os().nth(1).is_some_and(|arg| arg == isolated::READ_PDF) {
        return isolated::serve();
    }
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
            if matches!(cli.log_format, Some(FormatArg::Json)) {
                eprintln!("{}", config_error_line(&cli.config, &e));
            } else {
                eprintln!("error: {}: {e}", cli.config.display());
            }
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
        Command::Status { .. } => "status",
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
            Command::Status { format } => cli::status(&config, matches!(format, FormatArg::Json)).await,
        }
    });
    let code = match &outcome {
        Ok(()) => 0,
        Err(e) => e.exit_code(),
    };
    match (&outcome, format) {
        // With JSON every line is JSON: the error is an event like any other (each problem
        // `check` found, one event).
        (Err(cli::CliError::Check(problems)), LogFormat::Json) => {
            for problem in problems {
                tracing::error!(command = name, exit_code = code, "{problem}");
            }
        }
        (Err(e), LogFormat::Json) => tracing::error!(command = name, exit_code = code, "{e}"),
        (Err(e), LogFormat::Text) => eprintln!("error: {e}"),
        (Ok(()), _) => {}
    }
    tracing::info!(command = name, exit_code = code, "confluence-connector stopped");
    ExitCode::from(code)
}

/// An unusable `config.yml` as one ECS JSON event: the problems (and warnings) as arrays.
fn config_error_line(path: &std::path::Path, error: &config::ConfigError) -> String {
    let mut fields = serde_json::Map::new();
    fields.insert("config.path".into(), path.display().to_string().into());
    let message = match error {
        config::ConfigError::Invalid(problems, warnings) => {
            let count = problems.len();
            let problems: Vec<serde_json::Value> =
                problems.iter().map(|p| serde_json::json!({ "key": p.path, "problem": p.message })).collect();
            fields.insert("problems".into(), problems.into());
            fields.insert("warnings".into(), warnings.clone().into());
            match count {
                1 => format!("{}: config has 1 problem", path.display()),
                n => format!("{}: config has {n} problems", path.display()),
            }
        }
        other => format!("{}: {other}", path.display()),
    };
    logging::early_error_line(&message, fields)
}
