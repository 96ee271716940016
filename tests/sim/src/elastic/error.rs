//! Elasticsearch's error bodies. Every failure the server reports — whole-request or per bulk
//! item — is an [`EsError`], rendered exactly in the shape Elasticsearch uses
//! (`{"error":{"root_cause":[..],"type":..,"reason":..},"status":N}`), so that client code
//! written against the simulator parses real cluster errors the same way.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// One Elasticsearch exception: its `type`, `reason`, HTTP status, extra metadata fields
/// (`index`, `index_uuid`, `shard`, …) and optional cause.
#[derive(Debug, Clone, PartialEq)]
pub struct EsError {
    /// HTTP status of the response (or of the bulk item).
    pub status: u16,
    /// Elasticsearch's exception name, e.g. `index_not_found_exception`.
    pub kind: String,
    /// Human-readable reason, worded as Elasticsearch words it.
    pub reason: String,
    /// Extra metadata fields, in the order Elasticsearch prints them.
    pub fields: Vec<(String, Value)>,
    /// The nested `caused_by`.
    pub caused_by: Option<Box<EsError>>,
    /// Overrides the `root_cause` list (wrapper exceptions such as
    /// `search_phase_execution_exception` report their shard failure instead of themselves).
    pub root_cause: Option<Box<EsError>>,
    /// When set, the body is the bare `{"error":"<reason>","status":N}` Elasticsearch uses for
    /// REST-layer failures (content type, unknown route, wrong method).
    pub simple: bool,
}

impl EsError {
    /// A new error with a status, an exception type and a reason.
    pub fn new(status: u16, kind: &str, reason: impl Into<String>) -> Self {
        EsError {
            status,
            kind: kind.to_string(),
            reason: reason.into(),
            fields: Vec::new(),
            caused_by: None,
            root_cause: None,
            simple: false,
        }
    }

    /// A REST-layer error rendered as `{"error":"<reason>","status":N}`.
    pub fn simple(status: u16, reason: impl Into<String>) -> Self {
        let mut e = EsError::new(status, "", reason);
        e.simple = true;
        e
    }

    /// Adds one metadata field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.push((key.to_string(), value.into()));
        self
    }

    /// Sets the `caused_by`.
    pub fn caused_by(mut self, cause: EsError) -> Self {
        self.caused_by = Some(Box::new(cause));
        self
    }

    /// `illegal_argument_exception` with status 400.
    pub fn illegal_argument(reason: impl Into<String>) -> Self {
        EsError::new(400, "illegal_argument_exception", reason)
    }

    /// `parsing_exception` with status 400.
    pub fn parsing(reason: impl Into<String>) -> Self {
        EsError::new(400, "parsing_exception", reason)
    }

    /// `action_request_validation_exception` listing the given validation failures.
    pub fn validation(errors: &[&str]) -> Self {
        let mut reason = String::from("Validation Failed: ");
        for (i, e) in errors.iter().enumerate() {
            reason.push_str(&format!("{}: {};", i + 1, e));
        }
        EsError::new(400, "action_request_validation_exception", reason)
    }

    /// `index_not_found_exception` for a missing index or alias.
    pub fn index_not_found(index: &str) -> Self {
        EsError::new(404, "index_not_found_exception", format!("no such index [{index}]"))
            .with("resource.type", "index_or_alias")
            .with("resource.id", index)
            .with("index_uuid", "_na_")
            .with("index", index)
    }

    /// `x_content_parse_exception`/`parse_exception` for a body that is not valid JSON.
    pub fn json_parse(err: &serde_json::Error) -> Self {
        EsError::new(
            400,
            "x_content_parse_exception",
            format!("[{}:{}] {}", err.line(), err.column(), json_error_words(err)),
        )
    }

    /// The error object as it appears inside `error` (and in bulk items): no `root_cause`.
    pub fn object(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), Value::String(self.kind.clone()));
        m.insert("reason".into(), Value::String(self.reason.clone()));
        for (k, v) in &self.fields {
            m.insert(k.clone(), v.clone());
        }
        if let Some(c) = &self.caused_by {
            m.insert("caused_by".into(), c.object());
        }
        Value::Object(m)
    }

    /// The full response body.
    pub fn body(&self) -> Value {
        if self.simple {
            return json!({"error": self.reason, "status": self.status});
        }
        let root = match &self.root_cause {
            Some(r) => r.object(),
            None => {
                let mut plain = self.clone();
                plain.caused_by = None;
                plain.object()
            }
        };
        let mut obj = self.object();
        if let Value::Object(m) = &mut obj {
            let mut with_root = Map::new();
            with_root.insert("root_cause".into(), Value::Array(vec![root]));
            for (k, v) in std::mem::take(m) {
                with_root.insert(k, v);
            }
            *m = with_root;
        }
        json!({"error": obj, "status": self.status})
    }
}

impl std::fmt::Display for EsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.kind, self.status, self.reason)
    }
}

impl std::error::Error for EsError {}

impl IntoResponse for EsError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        crate::elastic::server::json_response(status, &self.body())
    }
}

/// serde_json's message without its trailing " at line X column Y".
fn json_error_words(err: &serde_json::Error) -> String {
    let s = err.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_not_found_body_matches_elasticsearch() {
        let body = EsError::index_not_found("foo").body();
        assert_eq!(
            body,
            json!({"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [foo]","resource.type":"index_or_alias","resource.id":"foo","index_uuid":"_na_","index":"foo"}],"type":"index_not_found_exception","reason":"no such index [foo]","resource.type":"index_or_alias","resource.id":"foo","index_uuid":"_na_","index":"foo"},"status":404})
        );
    }

    #[test]
    fn simple_errors_are_bare_strings() {
        let body = EsError::simple(406, "Content-Type header [text/plain] is not supported").body();
        assert_eq!(body, json!({"error":"Content-Type header [text/plain] is not supported","status":406}));
    }
}
