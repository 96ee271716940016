//! Sending one JSON request and reading its answer, with Elasticsearch's error body turned
//! into an [`ElasticError`] that names the method, URL, status and reason.

use elasticsearch::http::headers::{HeaderMap, HeaderValue, CONTENT_TYPE};
use elasticsearch::http::Method;
use elasticsearch::Elasticsearch;
use serde_json::Value;

use super::error::ElasticError;

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
pub async fn send_json(
    es: &Elasticsearch,
    method: Method,
    path: &str,
    body: Option<&Value>,
    mut headers: HeaderMap,
) -> Result<Answer, ElasticError> {
    let name = method_name(&method);
    let url = path.to_string();
    let bytes = match body {
        Some(v) => Some(serde_json::to_vec(v).map_err(|e| ElasticError::Response {
            method: name.into(),
            url: url.clone(),
            reason: e.to_string(),
        })?),
        None => None,
    };
    if bytes.is_some() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let response = es.send::<Vec<u8>, ()>(method, path, headers, None, bytes, None).await.map_err(|e| {
        ElasticError::Transport { method: name.into(), url: url.clone(), attempts: 1, reason: cause(&e) }
    })?;
    let status = response.status_code().as_u16();
    let text = response.text().await.map_err(|e| ElasticError::Transport {
        method: name.into(),
        url: url.clone(),
        attempts: 1,
        reason: cause(&e),
    })?;
    if status == 404 {
        return Ok(Answer::NotFound);
    }
    let value: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if (200..300).contains(&status) {
        return Ok(Answer::Ok(value));
    }
    Err(ElasticError::Status {
        method: name.into(),
        url,
        status,
        error_type: value["error"]["type"].as_str().map(str::to_string),
        reason: value["error"]["reason"].as_str().map(str::to_string).unwrap_or_else(|| value.to_string()),
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
