//! A small stand-in for Elastic's data extraction service, speaking its protocol:
//! `PUT /extract_text/` with the file as the body, or `PUT /extract_text/?local_file_path=…`
//! naming a file on a shared volume; the answer is `{"extracted_text": "…"}`, or
//! `{"error": …, "message": …}` with a non-200 status. `GET /ping/` answers `{}`.
//!
//! Its "extraction" keeps the runs of at least four printable ASCII characters of the file
//! (like `strings`), joined by spaces: enough to find a marker written into a generated file.
//! It counts requests and bytes received, and can be told to answer the next requests with
//! 503 or to stall (to test retries and timeouts). It listens on 127.0.0.1 and stops when
//! dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::json;
use tokio::task::JoinHandle;

/// What the service saw and what it is told to do.
#[derive(Debug, Default)]
pub struct ExtractionLog {
    /// `PUT /extract_text/` requests.
    pub requests: AtomicU64,
    /// Of which with `local_file_path`.
    pub file_pointers: AtomicU64,
    /// Body bytes received.
    pub bytes: AtomicU64,
    /// The next this many requests are answered 503.
    pub fail_next: AtomicU64,
    /// The next this many requests wait this long (ms) before answering.
    pub stall_next: AtomicU64,
    /// How long a stalled request waits, in ms.
    pub stall_ms: AtomicU64,
}

/// A running service; dropping it stops it.
pub struct ExtractionSim {
    addr: SocketAddr,
    log: Arc<ExtractionLog>,
    server: JoinHandle<()>,
}

impl Drop for ExtractionSim {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl ExtractionSim {
    /// Starts the service on a free port of 127.0.0.1.
    pub async fn start() -> anyhow::Result<ExtractionSim> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(ExtractionLog::default());
        let app = Router::new()
            .route("/extract_text/", put(extract))
            .route("/ping/", get(|| async { Json(json!({})) }))
            .layer(axum::extract::DefaultBodyLimit::max(200 * 1024 * 1024))
            .with_state(log.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(ExtractionSim { addr, log, server })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it saw; set its faults here.
    pub fn log(&self) -> &ExtractionLog {
        &self.log
    }
}

#[derive(serde::Deserialize)]
struct Pointer {
    local_file_path: Option<String>,
}

async fn extract(
    State(log): State<Arc<ExtractionLog>>,
    Query(pointer): Query<Pointer>,
    body: Bytes,
) -> Response {
    log.requests.fetch_add(1, Ordering::Relaxed);
    log.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    let take = |counter: &AtomicU64| {
        counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok()
    };
    if take(&log.stall_next) {
        tokio::time::sleep(Duration::from_millis(log.stall_ms.load(Ordering::Relaxed))).await;
    }
    if take(&log.fail_next) {
        let body = json!({"error": "service_unavailable", "message": "busy"});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let file = match pointer.local_file_path {
        Some(path) => {
            log.file_pointers.fetch_add(1, Ordering::Relaxed);
            match tokio::fs::read(&path).await {
                Ok(file) => Bytes::from(file),
                Err(e) => {
                    let body = json!({"error": "file_not_found", "message": format!("{path}: {e}")});
                    return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
                }
            }
        }
        None => body,
    };
    Json(json!({"extracted_text": printable_runs(&file)})).into_response()
}

/// The runs of at least four printable ASCII characters of `file`, joined by spaces.
pub fn printable_runs(file: &[u8]) -> String {
    file.split(|b| !(b.is_ascii_graphic() || *b == b' '))
        .filter(|run| run.len() >= 4)
        .map(|run| String::from_utf8_lossy(run).trim().to_string())
        .filter(|run| !run.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_printable_runs() {
        assert_eq!(printable_runs(b"\x00\x01Hello world\x02ab\x03marker-42\xff"), "Hello world marker-42");
    }
}
