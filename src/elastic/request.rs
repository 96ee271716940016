//! Sending one request and reading its answer, with the retry policy of every request (one
//! loop for JSON requests and `_bulk` bodies), and Elasticsearch's error body turned into an
//! [`ElasticError`] that names the method, URL, status and reason.

use std::time::Duration;

use bytes::Bytes;
use elasticsearch::http::headers::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use elasticsearch::http::Method;
use serde_json::Value;

use super::client::EsClient;
use super::error::ElasticError;
use super::lease::Fence;
use super::retry::{request_status_is_transient, RetryPolicy};
use super::transport::TLS_SETTINGS;

/// A successful answer, or a 404.
#[derive(Debug)]
pub enum Answer {
    /// 2xx with its body (`Null` for HEAD or an empty body).
    Ok(Value),
    /// 404.
    NotFound,
}

fn method_name(method: &Method) -> &'static str {
    match method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Head => "HEAD",
    }
}

/// Sends `body` (JSON) to `path`; 404 is an [`Answer::NotFound`], other non-2xx are errors.
///
/// A 429/500/502/503/504 or no answer (a connection error; a timeout when
/// `elasticsearch.retry_on_timeout` is on) is retried up to `elasticsearch.max_retries`
/// times (see `send_with_retries`), as `_bulk` requests are: one transient 503 on a
/// refresh or a search must not abort a sync.
pub async fn send_json(
    es: &EsClient,
    method: Method,
    path: &str,
    body: Option<&Value>,
    mut headers: HeaderMap,
) -> Result<Answer, ElasticError> {
    let name = method_name(&method);
    let bytes = match body {
        Some(v) => Some(Bytes::from(serde_json::to_vec(v).map_err(|e| ElasticError::Response {
            method: name.into(),
            url: path.to_string(),
            reason: e.to_string(),
        })?)),
        None => None,
    };
    if bytes.is_some() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let request = Request { method, path, query: &[], headers, body: bytes, fence: None };
    let sent = send_with_retries(es, es.policy(), &request, || es.count_retry()).await;
    match sent.outcome {
        Err(NoAnswer::Certificate { reason, hint }) => {
            Err(ElasticError::Tls { method: name.into(), url: path.to_string(), reason, hint })
        }
        Err(no_answer) => Err(ElasticError::Transport {
            method: name.into(),
            url: path.to_string(),
            attempts: sent.attempts,
            reason: no_answer.to_string(),
        }),
        Ok((status, text)) => answer(name, path, status, &text, sent.attempts),
    }
}

/// One request as [`send_with_retries`] sends it, as often as needed.
pub(crate) struct Request<'a> {
    /// GET, POST…
    pub(crate) method: Method,
    /// The path (`/index/_bulk`).
    pub(crate) path: &'a str,
    /// Query parameters (`pipeline`), none when empty.
    pub(crate) query: &'a [(String, String)],
    /// Headers (content type).
    pub(crate) headers: HeaderMap,
    /// The body, shared by every attempt.
    pub(crate) body: Option<Bytes>,
    /// When given, no attempt is made once it closes (the sync lease is in doubt): a batch
    /// retried through an outage must not land after another process took the index over.
    pub(crate) fence: Option<&'a Fence>,
}

/// Why a request has no answer.
#[derive(Debug)]
pub(crate) enum NoAnswer {
    /// No connection or no response (refused, reset, timed out), after the retries.
    Unreachable(String),
    /// The cluster's certificate was refused (`hint`: what to do); never retried.
    Certificate {
        /// The TLS error.
        reason: String,
        /// The fix for this case, naming `elasticsearch.ca_certs` or `elasticsearch.host`.
        hint: String,
    },
    /// Not sent (again): the sync lease could not be renewed in time, or was taken over.
    Fenced,
}

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoAnswer::Unreachable(reason) => f.write_str(reason),
            NoAnswer::Certificate { reason, hint } => write!(f, "TLS failed: {reason}; {hint}"),
            NoAnswer::Fenced => {
                f.write_str("not sent: the sync lease could not be renewed in time, or was taken over")
            }
        }
    }
}

/// What became of a request after its retries.
pub(crate) struct Sent {
    /// Attempts made (the first and the retries).
    pub(crate) attempts: u32,
    /// The last answer (`status`, body), or why none came.
    pub(crate) outcome: Result<(u16, String), NoAnswer>,
}

/// Sends `request`, and again while the answer is 429/500/502/503/504 or missing (a
/// connection error; a timeout only when `policy.retry_on_timeout`), up to
/// `policy.max_retries` times, waiting `interval × n` before retry *n* or what the server's
/// `Retry-After` asks (capped). `on_retry` is called before each retry (for counting). The
/// client's stop ([`EsClient::stopping_on`]) ends a wait, and the request with its last
/// outcome.
///
/// The one retry loop of every Elasticsearch request: JSON requests ([`send_json`]) and
/// `_bulk` bodies alike.
pub(crate) async fn send_with_retries(
    es: &EsClient,
    policy: RetryPolicy,
    request: &Request<'_>,
    mut on_retry: impl FnMut(),
) -> Sent {
    let name = method_name(&request.method);
    let mut attempt = 0u32;
    loop {
        if request.fence.is_some_and(|fence| !fence.holds()) {
            return Sent { attempts: attempt, outcome: Err(NoAnswer::Fenced) };
        }
        attempt += 1;
        let outcome = send_once(es, request).await;
        let transient = match &outcome {
            Ok(answer) => request_status_is_transient(answer.status),
            // A refused certificate stays refused.
            Err(Failed { certificate: Some(_), .. }) => false,
            Err(failed) => policy.retries_no_answer(failed.timed_out),
        };
        if transient && attempt <= policy.max_retries {
            let retry_after = outcome.as_ref().ok().and_then(|answer| answer.retry_after);
            let wait = policy.request_delay(attempt, retry_after);
            let path = request.path;
            match &outcome {
                Ok(answer) => tracing::warn!(
                    method = name,
                    path,
                    status = answer.status,
                    attempt,
                    "Elasticsearch answered {}; retrying in {wait:?}",
                    answer.status
                ),
                Err(Failed { reason, .. }) => tracing::warn!(
                    method = name,
                    path,
                    attempt,
                    "no answer from Elasticsearch ({reason}); retrying in {wait:?}"
                ),
            }
            if !es.stop().sleep(wait).await {
                tracing::info!(method = name, path, "not sent again: shutdown was requested");
                let outcome = match outcome {
                    Ok(answer) => Ok((answer.status, answer.text)),
                    Err(failed) => Err(NoAnswer::Unreachable(format!(
                        "{}; not sent again: shutdown was requested",
                        failed.reason
                    ))),
                };
                return Sent { attempts: attempt, outcome };
            }
            on_retry();
            continue;
        }
        return Sent {
            attempts: attempt,
            outcome: outcome.map(|answer| (answer.status, answer.text)).map_err(Failed::into_no_answer),
        };
    }
}

/// The answer to one attempt.
struct Answered {
    status: u16,
    /// `Retry-After` in seconds, when the server sent one.
    retry_after: Option<Duration>,
    text: String,
}

/// Why one attempt got no answer.
struct Failed {
    /// It timed out (retried only with `elasticsearch.retry_on_timeout`).
    timed_out: bool,
    /// The error and its innermost cause.
    reason: String,
    /// When the TLS handshake refused the certificate: what to do about it.
    certificate: Option<String>,
}

impl Failed {
    fn new(es: &EsClient, error: &reqwest::Error) -> Failed {
        Failed {
            timed_out: error.is_timeout(),
            reason: cause(error),
            certificate: crate::tls::refusal(error, &TLS_SETTINGS, es.node().ca_set),
        }
    }

    fn into_no_answer(self) -> NoAnswer {
        match self.certificate {
            Some(hint) => NoAnswer::Certificate { reason: self.reason, hint },
            None => NoAnswer::Unreachable(self.reason),
        }
    }
}

/// One attempt: the answer, or why none came.
async fn send_once(es: &EsClient, request: &Request<'_>) -> Result<Answered, Failed> {
    let response = es
        .node()
        .send(&request.method, request.path, request.query, &request.headers, request.body.clone())
        .await
        .map_err(|e| Failed::new(es, &e))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = response.text().await.map_err(|e| Failed::new(es, &e))?;
    Ok(Answered { status, retry_after, text })
}

/// The answer of the last attempt.
fn answer(method: &str, path: &str, status: u16, text: &str, attempts: u32) -> Result<Answer, ElasticError> {
    if status == 404 {
        return Ok(Answer::NotFound);
    }
    let value: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
    };
    if (200..300).contains(&status) {
        return Ok(Answer::Ok(value));
    }
    let mut reason =
        value["error"]["reason"].as_str().map(str::to_string).unwrap_or_else(|| value.to_string());
    if attempts > 1 {
        reason.push_str(&format!(" (after {attempts} attempts)"));
    }
    Err(ElasticError::Status {
        method: method.into(),
        url: path.to_string(),
        status,
        error_type: value["error"]["type"].as_str().map(str::to_string),
        reason,
    })
}

/// A name (index, document id, pipeline) as one URL path segment: percent-encoded, a space
/// as `%20` (a `+` in a path is a plus).
pub(crate) fn path_segment(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>().replace('+', "%20")
}

/// An error with its innermost cause (refused, timed out, DNS), which the outer message of
/// the HTTP client leaves out.
pub(crate) fn cause(e: &dyn std::error::Error) -> String {
    let mut innermost = None;
    let mut source = e.source();
    while let Some(s) = source {
        innermost = Some(s.to_string());
        source = s.source();
    }
    match innermost {
        Some(inner) => format!("{e}: {inner}"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::json;

    use super::*;
    use crate::confluence::test_server::{json as reply, serve};
    use crate::elastic::client::connect;
    use crate::elastic::options::ElasticOptions;

    #[tokio::test]
    async fn a_retry_after_is_honoured_instead_of_the_linear_wait() {
        let (server, log) = serve(|_, n| match n {
            0 => reply(429, json!({"error": {"type": "too_many"}}), &[("retry-after", "1")]),
            _ => reply(200, json!({"ok": true}), &[]),
        })
        .await;
        let options = ElasticOptions {
            host: server.origin.clone(),
            max_retries: 1,
            retry_interval: Duration::from_secs(30),
            ..ElasticOptions::default()
        };
        let es = connect(&options).unwrap();
        let started = Instant::now();
        let answer = send_json(&es, Method::Get, "/", None, HeaderMap::new()).await.unwrap();
        assert!(matches!(answer, Answer::Ok(body) if body["ok"] == true));
        let log = log.lock().unwrap().clone();
        assert_eq!(log.len(), 2);
        let waited = log[1].at - log[0].at;
        assert!(waited >= Duration::from_millis(950), "{waited:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "the 30 s linear wait was not used");
        assert_eq!(es.retries(), 1);
    }

    #[tokio::test]
    async fn the_stop_ends_the_wait_before_a_retry_and_the_retry() {
        let (server, log) = serve(|_, _| reply(503, json!({"error": {"type": "unavailable"}}), &[])).await;
        let options = ElasticOptions {
            host: server.origin.clone(),
            max_retries: 5,
            retry_interval: Duration::from_secs(30),
            ..ElasticOptions::default()
        };
        let (tx, stop) = crate::shutdown::Shutdown::manual();
        let es = connect(&options).unwrap().stopping_on(&stop);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = tx.send(true);
        });
        let started = Instant::now();
        let error = send_json(&es, Method::Get, "/", None, HeaderMap::new()).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "waited out the backoff: {error}");
        assert_eq!(error.status(), Some(503), "{error}");
        assert_eq!(log.lock().unwrap().len(), 1, "a retry was sent after the stop");
        assert_eq!(es.retries(), 0);
    }
}
