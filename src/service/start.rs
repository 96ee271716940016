//! `run` as `config.yml` sets it up: a timetable from the configured schedules, the health
//! port when one is set, and the loop of [`super::run`] calling the sync engine
//! ([`crate::sync::run`]) for each sync that is due, until SIGTERM or SIGINT.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::elastic;
use crate::schedule::Schedule;
use crate::shutdown::Shutdown;
use crate::sync::{self, elastic_options, SyncError, SyncKind};

use super::{health, Clock, Metrics, Stopped, Timetable};

/// Why the service could not start or did not stop cleanly; `Display` is the one line the
/// user sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServiceError {
    /// The configuration asks for nothing to run, or for what this version cannot do.
    Unsupported(String),
    /// Start-up failed (the health port is taken, a schedule cannot be read, …).
    Start(String),
    /// A sync was still running when the shutdown timeout passed.
    TimedOut(String),
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::Unsupported(why) | ServiceError::Start(why) | ServiceError::TimedOut(why) => {
                f.write_str(why)
            }
        }
    }
}

impl std::error::Error for ServiceError {}

impl From<SyncError> for ServiceError {
    fn from(e: SyncError) -> ServiceError {
        match e {
            SyncError::Unsupported(why) => ServiceError::Unsupported(why),
            SyncError::Start(why) => ServiceError::Start(why),
        }
    }
}

/// Runs the configured schedules until SIGTERM/SIGINT, with the health port when
/// `service.http.port` is set. Standalone configs only: managed mode is [`crate::managed`],
/// which the command line chooses.
pub(crate) async fn serve(config: &Config) -> Result<(), ServiceError> {
    let source = sync::standalone_source(config)?;
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
            .map_err(|e| ServiceError::Start(format!("confluence.schedules.{name}: {e}")))?;
        tracing::info!(kind = name, schedule = %schedule, "scheduled");
        timetable.add(kind, schedule, now);
    }
    if timetable.is_empty() {
        return Err(ServiceError::Unsupported(
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
        super::run(timetable, Shutdown::on_signals(), grace, clock, &metrics, |kind, stop| async move {
            // Secrets kept in files or AWS are read again, so a rotated one is picked up.
            let config = config.with_fresh_secrets().await.map_err(|e| format!("secrets: {e}"))?;
            sync::run(&config, kind, stop).await.map_err(|e| e.to_string())
        })
        .await;
    match stopped {
        Stopped::Shutdown | Stopped::NothingScheduled => Ok(()),
        Stopped::TimedOut => Err(ServiceError::TimedOut(format!(
            "a sync was still running when the shutdown timeout ({} s, service.shutdown_timeout) passed",
            grace.as_secs()
        ))),
    }
}

/// Starts `/healthz` and `/metrics` on `service.http.host`:`port`; a port that cannot be
/// had stops start-up (a health check that can never pass would restart the process forever).
pub(crate) async fn serve_health(
    config: &Config,
    port: u16,
    metrics: Arc<Metrics>,
) -> Result<(), ServiceError> {
    let host = config.service.http.host.trim();
    let listener = tokio::net::TcpListener::bind((host, port)).await.map_err(|e| {
        ServiceError::Start(format!(
            "service.http.port: cannot listen on {host}:{port} ({e}); choose a free port or another service.http.host"
        ))
    })?;
    let es = elastic::client::connect(&elastic_options(config, None))
        .map_err(|e| ServiceError::Start(e.to_string()))?;
    let es_host = Arc::<str>::from(without_credentials(&config.elasticsearch.host).as_str());
    let probe: health::Probe = Arc::new(move || {
        let (es, es_host) = (es.clone(), es_host.clone());
        Box::pin(async move { elastic::cluster::cluster_version(&es, &es_host).await.map(|_| ()) })
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
