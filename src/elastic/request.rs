//! Sending one JSON request and reading its answer, with the retry policy of every request,
//! and Elasticsearch's error body turned into an [`ElasticError`] that names the method,
//! URL, status and reason.

use elasticsearch::http::headers::{HeaderMap, HeaderValue, CONTENT_TYPE};
use elasticsearch::http::Method;
use serde_json::Value;

use super::client::EsClient;
use super::error::ElasticError;
use super::retry::request_status_is_transient;

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
/// times, waiting `retry_interval × n` before retry *n*, as `_bulk` requests are: one
/// transient 503 on a refresh or a search must not abort a sync.
pub async fn send_json(
    es: &EsClient,
    method: Method,
    path: &str,
    body: Option<&Value>,
    mut headers: HeaderMap,
) -> Result<Answer, ElasticError> {
    let name = method_name(&method);
    let bytes = match body {
        Some(v) => Some(serde_json::to_vec(v).map_err(|e| ElasticError::Response {
            method: name.into(),
            url: path.to_string(),
            reason: e.to_string(),
        })?),
        None => None,
    };
    if bytes.is_some() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let policy = es.policy();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let outcome = send_once(es, method, path, headers.clone(), bytes.as_deref()).await;
        let transient = match &outcome {
            Ok((status, _)) => request_status_is_transient(*status),
            Err((timed_out, _)) => policy.retries_no_answer(*timed_out),
        };
        if transient && attempt <= policy.max_retries {
            let wait = policy.delay(attempt);
            match &outcome {
                Ok((status, _)) => tracing::warn!(
                    method = name,
                    path,
                    status,
                    attempt,
                    "Elasticsearch answered {status}; retrying in {wait:?}"
                ),
                Err((_, reason)) => tracing::warn!(
                    method = name,
                    path,
                    attempt,
                    "no answer from Elasticsearch ({reason}); retrying in {wait:?}"
                ),
            }
            es.count_retry();
            tokio::time::sleep(wait).await;
            continue;
        }
        return match outcome {
            Err((_, reason)) => Err(ElasticError::Transport {
                method: name.into(),
                url: path.to_string(),
                attempts: attempt,
                reason,
            }),
            Ok((status, text)) => answer(name, path, status, &text, attempt),
        };
    }
}

/// One attempt: `(status, body)`, or `(timed out, why)` when no answer came.
async fn send_once(
    es: &EsClient,
    method: Method,
    path: &str,
    headers: HeaderMap,
    body: Option<&[u8]>,
) -> Result<(u16, String), (bool, String)> {
    let response = es
        .elasticsearch()
        .send::<&[u8], ()>(method, path, headers, None, body, None)
        .await
        .map_err(|e| (e.is_timeout(), cause(&e)))?;
    let status = response.status_code().as_u16();
    let text = response.text().await.map_err(|e| (e.is_timeout(), cause(&e)))?;
    Ok((status, text))
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

/// An error with its innermost cause (refused, timed out, DNS), which the outer message of
/// the HTTP client leaves out.
pub fn cause(e: &dyn std::error::Error) -> String {
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
