//! Elastic's data extraction service (`use_text_extraction_service`): a file goes to the
//! configured `extraction_service.host` and its text comes back, as Elastic's framework does
//! it.
//!
//! - streaming: `PUT {host}/extract_text/` with the file as the body
//!   (`content-type: application/octet-stream`, in `stream_chunk_size` chunks);
//! - file pointers (`use_file_pointers`): the file is written into `shared_volume_dir` (a
//!   volume the service sees at the same path), `PUT {host}/extract_text/?local_file_path=…`
//!   without a body, and the file is removed after;
//! - the answer is `{"extracted_text": "…"}`; a status other than 200 or an `error` key is
//!   the service's refusal (with `error` and `message`).
//!
//! Each try is bounded by `extraction_service.timeout`. A timeout, no answer, 429 or 5xx is
//! tried again (up to [`ATTEMPTS`] tries, half a second more between each); a refusal is
//! not. What could not be extracted is the caller's to index without content and report —
//! as Elastic indexes an empty text — never a reason to stop the sync.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;

use crate::config::ExtractionServiceConfig;

/// Tries per file: the first and two more.
pub(crate) const ATTEMPTS: u32 = 3;

/// Why a file's text did not come back.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExtractionError {
    /// The service answered, and refused.
    #[error("the extraction service at {url} refused {file:?} ({status}): {reason}")]
    Refused {
        /// The endpoint.
        url: String,
        /// The file's name.
        file: String,
        /// HTTP status.
        status: u16,
        /// Its `error` and `message`, or the start of its body.
        reason: String,
    },
    /// No usable answer after every try.
    #[error(
        "no answer from the extraction service at {url} for {file:?} after {attempts} tries: {reason} \
         (check extraction_service.host and that the service runs; extraction_service.timeout is {timeout:?})"
    )]
    Unreachable {
        /// The endpoint.
        url: String,
        /// The file's name.
        file: String,
        /// Tries made.
        attempts: u32,
        /// The last failure.
        reason: String,
        /// The timeout of each try.
        timeout: Duration,
    },
    /// The file could not be written to the shared volume.
    #[error(
        "cannot write {path} for the extraction service (extraction_service.shared_volume_dir): {reason}"
    )]
    SharedVolume {
        /// The file's path.
        path: String,
        /// The I/O error.
        reason: String,
    },
}

/// A configured extraction service; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct ExtractionService {
    http: reqwest::Client,
    /// `{host}/extract_text/`.
    endpoint: String,
    timeout: Duration,
    chunk: usize,
    /// `Some(dir)` in file-pointer mode.
    shared_volume: Option<PathBuf>,
    /// Wait before the second try (the third waits twice as long).
    backoff: Duration,
}

/// The service a sync of `source` uses: `Some` when `use_text_extraction_service` is on and
/// `extraction_service.host` is set (the config check requires it then).
pub(crate) fn from_config(
    config: &crate::config::Config,
    source: &crate::config::ConfluenceConfig,
) -> Option<std::sync::Arc<ExtractionService>> {
    if !source.use_text_extraction_service {
        return None;
    }
    let service = config.extraction_service.as_ref().and_then(ExtractionService::new);
    if service.is_none() {
        tracing::warn!(
            "use_text_extraction_service is on but extraction_service.host is not set: attachment \
             content goes through the ingest pipeline (_attachment) instead"
        );
    }
    service.map(std::sync::Arc::new)
}

/// Names of files written to the shared volume: unique within the process.
static NEXT_FILE: AtomicU64 = AtomicU64::new(0);

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    extracted_text: Option<String>,
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<serde_json::Value>,
}

impl ExtractionService {
    /// The service `config` names; `None` without a host.
    pub(crate) fn new(config: &ExtractionServiceConfig) -> Option<ExtractionService> {
        let host = config.host.as_deref().map(str::trim).filter(|h| !h.is_empty())?;
        let timeout = Duration::from_secs(config.timeout.max(1));
        let http = reqwest::Client::builder().connect_timeout(timeout).build().ok()?;
        Some(ExtractionService {
            http,
            endpoint: format!("{}/extract_text/", host.trim_end_matches('/')),
            timeout,
            chunk: config.stream_chunk_size.max(1024),
            shared_volume: config.use_file_pointers.then(|| PathBuf::from(&config.shared_volume_dir)),
            backoff: Duration::from_millis(500),
        })
    }

    /// The text of `file` (named `name`).
    pub(crate) async fn extract(&self, name: &str, file: Bytes) -> Result<String, ExtractionError> {
        let Some(dir) = &self.shared_volume else {
            return self.put(name, Some(file), None).await;
        };
        let extension = name.rsplit_once('.').map(|(_, e)| e).filter(|e| e.len() <= 8).unwrap_or("bin");
        let unique = NEXT_FILE.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("confluence-{}-{unique}.{extension}", std::process::id()));
        let shown = path.display().to_string();
        let written = tokio::fs::write(&path, &file).await;
        drop(file);
        if let Err(e) = written {
            return Err(ExtractionError::SharedVolume { path: shown, reason: e.to_string() });
        }
        let text = self.put(name, None, Some(&shown)).await;
        if let Err(e) = tokio::fs::remove_file(&path).await {
            tracing::warn!(
                path = shown.as_str(),
                "could not remove a file given to the extraction service: {e}"
            );
        }
        text
    }

    /// `PUT extract_text/` with the file or its path, tried again on no answer, 429 or 5xx.
    async fn put(
        &self,
        name: &str,
        file: Option<Bytes>,
        path: Option<&str>,
    ) -> Result<String, ExtractionError> {
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(self.backoff * (attempt - 1)).await;
            }
            let mut request = self
                .http
                .put(&self.endpoint)
                .timeout(self.timeout)
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(path) = path {
                request = request.query(&[("local_file_path", path)]);
            }
            if let Some(file) = &file {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .header(reqwest::header::CONTENT_LENGTH, file.len())
                    .body(reqwest::Body::wrap_stream(chunks(file.clone(), self.chunk)));
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) => {
                    last = if e.is_timeout() {
                        format!("no answer within {:?}", self.timeout)
                    } else {
                        e.to_string()
                    };
                    continue;
                }
            };
            let status = response.status().as_u16();
            let body = match response.text().await {
                Ok(body) => body,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            if status == 429 || status >= 500 {
                last = format!("{status}: {}", body.chars().take(200).collect::<String>());
                continue;
            }
            return self.read(name, status, &body);
        }
        Err(ExtractionError::Unreachable {
            url: self.endpoint.clone(),
            file: name.to_string(),
            attempts: ATTEMPTS,
            reason: last,
            timeout: self.timeout,
        })
    }

    /// The text of an answer, or the service's refusal.
    fn read(&self, name: &str, status: u16, body: &str) -> Result<String, ExtractionError> {
        let refused = |reason: String| ExtractionError::Refused {
            url: self.endpoint.clone(),
            file: name.to_string(),
            status,
            reason,
        };
        let answer: Answer = serde_json::from_str(body)
            .map_err(|_| refused(format!("not JSON: {}", body.chars().take(200).collect::<String>())))?;
        if status != 200 || answer.error.is_some() {
            let text = |v: &Option<serde_json::Value>| match v {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            return Err(refused(
                format!("{} {}", text(&answer.error), text(&answer.message)).trim().to_string(),
            ));
        }
        Ok(answer.extracted_text.unwrap_or_default())
    }
}

/// `file` as a stream of `chunk`-byte slices (no copies).
fn chunks(file: Bytes, chunk: usize) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    let total = file.len();
    futures::stream::iter(
        (0..total).step_by(chunk).map(move |at| Ok(file.slice(at..(at + chunk).min(total)))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn config(host: &str) -> ExtractionServiceConfig {
        ExtractionServiceConfig {
            host: Some(host.into()),
            timeout: 30,
            use_file_pointers: false,
            stream_chunk_size: 65536,
            shared_volume_dir: "/app/files".into(),
        }
    }

    #[test]
    fn no_host_no_service() {
        let mut c = config("  ");
        assert!(ExtractionService::new(&c).is_none());
        c.host = None;
        assert!(ExtractionService::new(&c).is_none());
        let service = ExtractionService::new(&config("http://127.0.0.1:8090/")).unwrap();
        assert_eq!(service.endpoint, "http://127.0.0.1:8090/extract_text/");
    }

    #[test]
    fn answers_are_read_as_the_framework_reads_them() {
        let service = ExtractionService::new(&config("http://127.0.0.1:1")).unwrap();
        assert_eq!(service.read("a.pdf", 200, r#"{"extracted_text":"Hello"}"#).unwrap(), "Hello");
        assert_eq!(service.read("a.pdf", 200, "{}").unwrap(), "");
        let refused = service
            .read("a.pdf", 422, r#"{"error":"unprocessable","message":"bad pdf"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("(422): unprocessable bad pdf") && refused.contains("\"a.pdf\""),
            "{refused}"
        );
        assert!(service.read("a.pdf", 200, r#"{"error":"x"}"#).is_err(), "an error key is a refusal");
        assert!(service.read("a.pdf", 200, "<html>").is_err());
    }

    #[tokio::test]
    async fn files_go_in_chunks() {
        let parts: Vec<usize> =
            chunks(Bytes::from(vec![0u8; 2500]), 1024).map(|c| c.unwrap().len()).collect().await;
        assert_eq!(parts, [1024, 1024, 452]);
    }
}
