//! The health port of `run`: `/healthz` for orchestrators and `/metrics` for Prometheus.
//!
//! `/healthz` answers 200 while the worker runs and Elasticsearch answers, and 503 with a
//! one-line reason otherwise: when shutdown was requested (so that a load balancer or
//! orchestrator stops counting on this process) or when Elasticsearch cannot be reached.
//! Confluence is not asked: an outage there fails syncs, which `/metrics` shows, but
//! restarting the connector would not cure it. Elasticsearch is asked on each request (one
//! `GET /`, bounded by [`PROBE_TIMEOUT`]); probes come every few seconds at most.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use super::metrics::{self, Metrics, WorkerState};

/// The longest `/healthz` waits for Elasticsearch; below the usual health-check timeouts
/// (Docker's and Kubernetes' default to a few seconds), so the answer is ours, not theirs.
pub(super) const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Asks Elasticsearch whether it answers: `Ok`, or a short reason (never a credential).
pub(super) type Probe =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// What the handlers share.
#[derive(Clone)]
struct Endpoints {
    /// The worker's state and numbers.
    metrics: Arc<Metrics>,
    /// The Elasticsearch check.
    probe: Probe,
}

/// The routes: `GET /healthz` and `GET /metrics`.
pub(super) fn router(metrics: Arc<Metrics>, probe: Probe) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(Endpoints { metrics, probe })
}

/// Serves `router` on `listener` until the process ends. A failure of the server is logged:
/// the worker goes on syncing without its health port.
pub(super) async fn serve(listener: TcpListener, router: Router) {
    if let Err(e) = axum::serve(listener, router).await {
        tracing::error!("the health and metrics endpoint stopped: {e}");
    }
}

async fn healthz(State(endpoints): State<Endpoints>) -> (StatusCode, String) {
    let state = endpoints.metrics.state();
    if state == WorkerState::Stopping {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping: shutdown was requested\n".into());
    }
    match tokio::time::timeout(PROBE_TIMEOUT, (endpoints.probe)()).await {
        Ok(Ok(())) => (StatusCode::OK, format!("ok: {}\n", state.name())),
        Ok(Err(reason)) => (StatusCode::SERVICE_UNAVAILABLE, format!("elasticsearch: {reason}\n")),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("elasticsearch: no answer within {} s\n", PROBE_TIMEOUT.as_secs()),
        ),
    }
}

/// The metrics in the text format the scraper's `Accept` asks for.
async fn metrics_text(State(endpoints): State<Endpoints>, headers: header::HeaderMap) -> impl IntoResponse {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let exposition = metrics::Exposition::for_accept(accept);
    ([(header::CONTENT_TYPE, exposition.content_type())], endpoints.metrics.encode_as(exposition))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::SyncKind;

    /// Serves the routes on a free loopback port; returns its base URL.
    async fn start(metrics: Arc<Metrics>, answer: Result<(), String>) -> String {
        let probe: Probe = Arc::new(move || {
            let answer = answer.clone();
            Box::pin(async move { answer })
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve(listener, router(metrics, probe)));
        url
    }

    async fn get_text(url: &str) -> (u16, String, String) {
        let response = reqwest::get(url).await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, content_type, response.text().await.unwrap())
    }

    #[tokio::test]
    async fn healthy_while_running_and_elasticsearch_answers() {
        let metrics = Arc::new(Metrics::new());
        let url = start(metrics.clone(), Ok(())).await;
        assert_eq!(get_text(&format!("{url}/healthz")).await.0, 200);
        metrics.set_state(WorkerState::Running(SyncKind::Full));
        let (status, _, body) = get_text(&format!("{url}/healthz")).await;
        assert_eq!((status, body.as_str()), (200, "ok: full\n"));
    }

    #[tokio::test]
    async fn unhealthy_when_elasticsearch_is_unreachable_with_the_reason() {
        let url =
            start(Arc::new(Metrics::new()), Err("cannot reach http://127.0.0.1:9: refused".into())).await;
        let (status, _, body) = get_text(&format!("{url}/healthz")).await;
        assert_eq!(status, 503);
        assert_eq!(body, "elasticsearch: cannot reach http://127.0.0.1:9: refused\n");
    }

    #[tokio::test]
    async fn unhealthy_once_shutdown_was_requested() {
        let metrics = Arc::new(Metrics::new());
        let url = start(metrics.clone(), Ok(())).await;
        metrics.set_state(WorkerState::Stopping);
        let (status, _, body) = get_text(&format!("{url}/healthz")).await;
        assert_eq!((status, body.as_str()), (503, "stopping: shutdown was requested\n"));
    }

    #[tokio::test]
    async fn metrics_are_served_as_openmetrics_text() {
        let url = start(Arc::new(Metrics::new()), Ok(())).await;
        let (status, content_type, body) = get_text(&format!("{url}/metrics")).await;
        assert_eq!(status, 200);
        assert_eq!(content_type, metrics::CONTENT_TYPE);
        assert!(body.contains("confluence_connector_state{state=\"idle\"} 1"), "{body}");
        assert_eq!(get_text(&format!("{url}/nothing")).await.0, 404);
        // A scraper that asks for the classic text only gets it.
        let classic = reqwest::Client::new()
            .get(format!("{url}/metrics"))
            .header("accept", "text/plain; version=0.0.4")
            .send()
            .await
            .unwrap();
        assert_eq!(classic.headers()["content-type"], metrics::PROMETHEUS_CONTENT_TYPE);
        let body = classic.text().await.unwrap();
        assert!(body.contains("# TYPE confluence_connector_syncs_total counter"), "{body}");
    }
}
