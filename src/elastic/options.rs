//! The settings of the Elasticsearch side, as plain data.
//!
//! The lead maps `config.yml` (`elasticsearch.*`, `elasticsearch.bulk.*`, the connector's
//! pipeline) onto [`ElasticOptions`]; nothing here reads files or the environment. Defaults
//! are the Elastic connector's (reference §1). Secrets sit in [`Secret`], so `Debug` of the
//! options is safe to log.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::Secret;

/// The pipeline Elasticsearch installs for connector indices.
pub const DEFAULT_PIPELINE: &str = "search-default-ingestion";

/// How to reach and authenticate to Elasticsearch, and how to write to it.
#[derive(Debug, Clone)]
pub struct ElasticOptions {
    /// Cluster URL (`elasticsearch.host`), e.g. `http://localhost:9200`. One node.
    pub host: String,
    /// `elasticsearch.api_key` (the base64 `id:key`); wins over basic auth.
    pub api_key: Option<Secret>,
    /// `elasticsearch.username`, for basic auth when there is no API key.
    pub username: Option<String>,
    /// `elasticsearch.password`.
    pub password: Option<Secret>,
    /// `elasticsearch.ssl`: apply `verify_certs` and `ca_certs` (https hosts only).
    pub ssl: bool,
    /// `elasticsearch.verify_certs`: false accepts any server certificate.
    pub verify_certs: bool,
    /// `elasticsearch.ca_certs`: a PEM file of CA certificates to trust.
    pub ca_certs: Option<PathBuf>,
    /// `elasticsearch.request_timeout` per request (240 s).
    pub request_timeout: Duration,
    /// `elasticsearch.max_retries`: retries after the first attempt of a request, and of a
    /// bulk item that was rejected with 429/5xx (5).
    pub max_retries: u32,
    /// `elasticsearch.retry_interval`: linear back-off base; retry *n* waits n × this (10 s).
    pub retry_interval: Duration,
    /// `elasticsearch.headers`: extra HTTP headers on every request.
    pub headers: BTreeMap<String, String>,
    /// `_bulk` settings.
    pub bulk: BulkOptions,
}

/// How documents are grouped into `_bulk` requests (`elasticsearch.bulk.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOptions {
    /// Most NDJSON lines per request (index = 2 lines, delete = 1) (500).
    pub chunk_size: usize,
    /// Most bytes of NDJSON per request (3 MiB).
    pub chunk_max_mem_size: usize,
    /// `_bulk` requests in flight at once (5).
    pub max_concurrency: usize,
    /// Log a progress line every N documents written (100).
    pub display_every: u64,
    /// Operations that may wait in the sink's channel before senders wait (1024, like
    /// `queue_max_size`).
    pub queue_size: usize,
    /// Ingest pipeline named on every `_bulk` (`?pipeline=`); `None` sends none.
    pub pipeline: Option<String>,
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions {
            chunk_size: 500,
            chunk_max_mem_size: 3 * 1024 * 1024,
            max_concurrency: 5,
            display_every: 100,
            queue_size: 1024,
            pipeline: Some(DEFAULT_PIPELINE.to_string()),
        }
    }
}

impl Default for ElasticOptions {
    fn default() -> Self {
        ElasticOptions {
            host: "http://localhost:9200".to_string(),
            api_key: None,
            username: None,
            password: None,
            ssl: true,
            verify_certs: true,
            ca_certs: None,
            request_timeout: Duration::from_secs(240),
            max_retries: 5,
            retry_interval: Duration::from_secs(10),
            headers: BTreeMap::new(),
            bulk: BulkOptions::default(),
        }
    }
}

/// The `user-agent` every request carries.
pub fn user_agent() -> String {
    format!("confluence-connector/{}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_elastic_connectors() {
        let o = ElasticOptions::default();
        assert_eq!(o.request_timeout, Duration::from_secs(240));
        assert_eq!(o.max_retries, 5);
        assert_eq!(o.retry_interval, Duration::from_secs(10));
        assert_eq!(o.bulk.chunk_size, 500);
        assert_eq!(o.bulk.chunk_max_mem_size, 3_145_728);
        assert_eq!(o.bulk.max_concurrency, 5);
        assert_eq!(o.bulk.display_every, 100);
        assert_eq!(o.bulk.pipeline.as_deref(), Some("search-default-ingestion"));
        assert!(user_agent().starts_with("confluence-connector/"));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let o = ElasticOptions {
            api_key: Some(Secret::new("S3CRET-KEY")),
            username: Some("elastic".into()),
            password: Some(Secret::new("S3CRET-PW")),
            ..Default::default()
        };
        let shown = format!("{o:?}");
        assert!(!shown.contains("S3CRET"), "{shown}");
        assert!(shown.contains("elastic"), "{shown}");
    }
}
