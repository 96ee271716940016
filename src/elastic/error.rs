//! Everything that can go wrong between the connector and Elasticsearch, in the user's words.
//!
//! Each error names what it was doing (the method and URL, the index, the config key) and,
//! where there is one, the likely fix. Credentials never appear: URLs are printed without
//! user info and secrets are only ever held in [`Secret`](crate::config::Secret).

/// An Elasticsearch operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum ElasticError {
    /// A setting cannot be used (bad URL, unreadable CA file, invalid header).
    #[error("elasticsearch.{key}: {reason}")]
    InvalidOption {
        /// The config key below `elasticsearch.`.
        key: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The request never got an HTTP answer (connection refused, timeout, TLS failure),
    /// even after retries.
    #[error("{method} {url} failed after {attempts} attempt(s): {reason}; check that elasticsearch.host is reachable (and elasticsearch.ssl/ca_certs for https), or raise elasticsearch.request_timeout")]
    Transport {
        /// HTTP method.
        method: String,
        /// URL without credentials.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last transport error.
        reason: String,
    },
    /// The cluster's certificate was refused (untrusted, self-signed and not configured,
    /// misnamed, expired) or the port does not speak TLS; never retried.
    #[error("{method} {url}: TLS with elasticsearch.host failed: {reason}; {hint}")]
    Tls {
        /// HTTP method.
        method: String,
        /// URL without credentials.
        url: String,
        /// The TLS error.
        reason: String,
        /// The fix for this case.
        hint: String,
    },
    /// Elasticsearch answered with an error status.
    #[error("{method} {url} answered {status}{}: {reason}{}", error_type.as_deref().map(|t| format!(" {t}")).unwrap_or_default(), hint_for(*status))]
    Status {
        /// HTTP method.
        method: String,
        /// URL without credentials.
        url: String,
        /// HTTP status.
        status: u16,
        /// Elasticsearch's `error.type`, when the body had one.
        error_type: Option<String>,
        /// Elasticsearch's `error.reason`, or the start of the body.
        reason: String,
    },
    /// A response that does not have the documented shape.
    #[error("{method} {url}: unexpected response: {reason}")]
    Response {
        /// HTTP method.
        method: String,
        /// URL without credentials.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The ingest pipeline the bulk requests name does not exist.
    #[error("ingest pipeline [{name}] does not exist in Elasticsearch: it is installed by Elasticsearch's connector templates (Enterprise Search / connectors plugin); create it, or set the connector's pipeline name to none")]
    PipelineMissing {
        /// The pipeline name.
        name: String,
    },
    /// The bulk sink stopped (an earlier request failed for good); `finish()` returns why.
    #[error("the bulk sink for index [{index}] has stopped; its finish() returns the cause")]
    SinkClosed {
        /// The content index.
        index: String,
    },
    /// A document could not be serialized to JSON.
    #[error("document [{id}] cannot be serialized to JSON: {reason}")]
    Document {
        /// The document id.
        id: String,
        /// Why.
        reason: String,
    },
    /// The content index maps fields the connector relies on otherwise than it writes them
    /// (made by dynamic mapping: created by a write, or by another tool).
    #[error("index [{index}] maps {found}, where the connector needs {wanted}: searches by space and type and the deletions of a sync would miss documents. Delete the index (DELETE /{index}) and run a full sync to re-create it with the connector's mappings, or set use_existing_index: true to sync into it as it is")]
    Mappings {
        /// The content index.
        index: String,
        /// What it maps (`space_key as text, url as text`).
        found: String,
        /// What the connector maps.
        wanted: String,
    },
    /// The sync state stored in the index `_meta` cannot be read.
    #[error("sync state in the _meta of index [{index}] is unreadable ({reason}); remove _meta.confluence_connector from the mapping to start over with a full sync")]
    State {
        /// The content index.
        index: String,
        /// Why.
        reason: String,
    },
    /// The background sink task panicked or was cancelled.
    #[error("the bulk sink task for index [{index}] ended abnormally: {reason}")]
    SinkTask {
        /// The content index.
        index: String,
        /// What the runtime reported.
        reason: String,
    },
}

/// The likely fix for a status, appended to the message.
fn hint_for(status: u16) -> String {
    let hint = match status {
        401 => "; check elasticsearch.api_key, or elasticsearch.username and password (API keys can expire or be invalidated)",
        403 => "; the API key or user lacks a privilege on this index or API: grant it (e.g. `all` on the content index) in Elasticsearch",
        429 | 502 | 503 | 504 => "; the cluster is overloaded or unavailable: retries were exhausted, raise elasticsearch.max_retries / retry_interval or lower elasticsearch.bulk.max_concurrency",
        _ => "",
    };
    hint.to_string()
}

impl ElasticError {
    /// The HTTP status, when Elasticsearch answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ElasticError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_errors_name_the_url_type_and_fix() {
        let e = ElasticError::Status {
            method: "POST".into(),
            url: "http://es:9200/search-x/_bulk".into(),
            status: 401,
            error_type: Some("security_exception".into()),
            reason: "unable to authenticate".into(),
        };
        let text = e.to_string();
        assert!(
            text.starts_with(
                "POST http://es:9200/search-x/_bulk answered 401 security_exception: unable to authenticate"
            ),
            "{text}"
        );
        assert!(text.contains("elasticsearch.api_key"), "{text}");
        assert_eq!(e.status(), Some(401));
    }
}
