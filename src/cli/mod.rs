//! The commands behind `confluence-connector run | sync | check`.

mod check;
mod sync;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;

use crate::config::Config;
use crate::elastic;
use crate::schedule::Schedule;
use crate::service::{self, health, Clock, Metrics, Stopped, Timetable};
use crate::shutdown::Shutdown;
use crate::sync::elastic_options;
use crate::sync::SyncKind;

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
    /// `run` could not start (its health port is taken, …).
    Start(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Check(problems) => f.write_str(&problems.join("\nerror: ")),
            CliError::Sync(reason) | CliError::Unsupported(reason) | CliError::Start(reason) => {
                f.write_str(reason)
            }
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

/// The long-running service: the configured schedules until SIGTERM/SIGINT, with the health
/// port when `service.http.port` is set.
pub async fn run(config: &Config) -> Result<(), CliError> {
    let source = crate::sync::standalone_source(config)?;
    let clock = Clock::system();
    let now = clock.now();
    let mut timetable = Timetable::new();
    let schedules = [
        (SyncKind::Full, &source.schedules.full),
        (SyncKind::Incremental, &source.schedules.incremental),
        (SyncKind::AccessControl, &source.schedules.access_control),
    ];
    for (kind, text) in schedules {
        let Some(text) = text else { continue };
        let name = kind.name();
        // Validated when the config was loaded (a malformed one stops start-up there, with
        // exit code 2); parsed again here for its value.
        let schedule = Schedule::parse(text)
            .map_err(|e| CliError::Start(format!("confluence.schedules.{name}: {e}")))?;
        tracing::info!(kind = name, schedule = %schedule, "scheduled");
        timetable.add(kind, schedule, now);
    }
    if timetable.is_empty() {
        return Err(CliError::Unsupported(
            "nothing to run: set confluence.schedules.full, .incremental or .access_control \
             (e.g. \"0 0 * * * ?\" or 1h)"
                .into(),
        ));
    }
    let metrics = Arc::new(Metrics::new());
    if let Some(port) = config.service.http.port {
        serve_health(config, port, metrics.clone()).await?;
    }
    let grace = Duration::from_secs(config.service.shutdown_timeout);
    let stopped =
        service::run(timetable, Shutdown::on_signals(), grace, clock, &metrics, |kind, stop| async move {
            crate::sync::run(config, kind, stop).await.map_err(|e| e.to_string())
        })
        .await;
    match stopped {
        Stopped::Shutdown | Stopped::NothingScheduled => Ok(()),
        Stopped::TimedOut => Err(CliError::Sync(format!(
            "a sync was still running when the shutdown timeout ({} s, service.shutdown_timeout) passed",
            grace.as_secs()
        ))),
    }
}

/// Starts `/healthz` and `/metrics` on `service.http.host`:`port`; a port that cannot be
/// had stops start-up (a health check that can never pass would restart the process forever).
async fn serve_health(config: &Config, port: u16, metrics: Arc<Metrics>) -> Result<(), CliError> {
    let host = config.service.http.host.trim();
    let listener = tokio::net::TcpListener::bind((host, port)).await.map_err(|e| {
        CliError::Start(format!(
            "service.http.port: cannot listen on {host}:{port} ({e}); choose a free port or another service.http.host"
        ))
    })?;
    let es = elastic::client::connect(&elastic_options(config, None))
        .map_err(|e| CliError::Start(e.to_string()))?;
    let es_host = Arc::<str>::from(without_credentials(&config.elasticsearch.host).as_str());
    let probe: health::Probe = Arc::new(move || {
        let (es, es_host) = (es.clone(), es_host.clone());
        Box::pin(async move { check::cluster_version(&es, &es_host).await.map(|_| ()) })
    });
    let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| format!("{host}:{port}"));
    tracing::info!("health on http://{address}/healthz, metrics on http://{address}/metrics");
    tokio::spawn(health::serve(listener, health::router(metrics, probe)));
    Ok(())
}

/// `url` without a user or password written into it: `/healthz` answers anyone who can reach
/// the port, and names the Elasticsearch URL when it cannot be reached.
fn without_credentials(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            // Only fails for URLs that cannot have credentials, which these just had.
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_credentials;

    #[test]
    fn credentials_in_the_elasticsearch_url_are_not_shown_by_healthz() {
        assert_eq!(without_credentials("https://elastic:s3cret@es:9200"), "https://es:9200/");
        assert_eq!(without_credentials("http://127.0.0.1:9200"), "http://127.0.0.1:9200");
    }
}
