//! The settings of the Elasticsearch side, as plain data.
//!
//! The lead maps `config.yml` (`elasticsearch.*`, `elasticsearch.bulk.*`, the connector's
//! pipeline) onto [`ElasticOptions`]; nothing here reads files or the environment. Defaults
//! are the Elastic connector's (reference §1). Secrets sit in [`Secret`], so `Debug` of the
//! options is safe to log.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::retry::RetryPolicy;
use crate::config::Secret;

/// The pipeline Elasticsearch installs for connector indices.
pub(crate) const DEFAULT_PIPELINE: &str = "search-default-ingestion";

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
    /// `elasticsearch.max_retries`: retries after the first attempt of any request — `_bulk`,
    /// refresh, point in time, search, index creation, mapping updates (5).
    pub max_retries: u32,
    /// `elasticsearch.retry_interval`: linear back-off base; retry *n* waits n × this (10 s).
    pub retry_interval: Duration,
    /// `elasticsearch.retry_on_timeout`: a request that timed out is retried too (true);
    /// connection errors always are.
    pub retry_on_timeout: bool,
    /// `elasticsearch.headers`: extra HTTP headers on every request.
    pub headers: BTreeMap<String, String>,
    /// `_bulk` settings.
    pub bulk: BulkOptions,
}

/// How documents are grouped into `_bulk` requests (`elasticsearch.bulk.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOptions {
    /// Most NDJSON lines per request (index = 2 lines, delete = 1) (500).
    pub chunk_size: usize,
    /// Most bytes of NDJSON per request (3 MiB).
    pub chunk_max_mem_size: usize,
    /// `_bulk` requests in flight at once (5).
    pub max_concurrency: usize,
    /// Log a progress line every N documents written (100).
    pub(crate) display_every: u64,
    /// Operations that may wait in the sink's queue before senders wait (1024,
    /// `queue_max_size`).
    pub(crate) queue_size: usize,
    /// Bytes of operations that may wait in the queue before senders wait (25 MiB,
    /// `queue_max_mem_size`); one larger operation is let in when the queue is empty.
    pub queue_max_mem_size: usize,
    /// Ingest pipeline named on every `_bulk` (`?pipeline=`); `None` sends none.
    pub pipeline: Option<String>,
    /// `bulk.max_retries`: the least retries of an item rejected with 429/5xx before it is
    /// given up (5); see [`RetryPolicy::item_gives_up`].
    pub item_retries: u32,
    /// `bulk.retry_interval`: the longest wait before an item is sent again (10 s, and never
    /// more than 3 s), and the unit of how long items are retried (1 + 2 + … + max_retries
    /// times this) (10 s).
    pub item_retry_interval: Duration,
    /// `bulk.enable_operations_logging`: every item's result at debug level.
    pub(crate) log_operations: bool,
    /// `bulk.error_monitor.*`.
    pub error_monitor: ErrorMonitorOptions,
}

/// When item errors end a sync (`elasticsearch.bulk.error_monitor.*`), as Elastic's
/// `ErrorMonitor` decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorMonitorOptions {
    /// Off: errors are only counted and listed.
    pub enabled: bool,
    /// More item errors than this end the sync (1000).
    pub max_total_errors: u64,
    /// More errors in a row than this end the sync (10).
    pub max_consecutive_errors: u64,
    /// A share of errors above this among the last `error_window_size` items ends it (0.15).
    pub max_error_rate: f64,
    /// Items the rate is measured over (100).
    pub error_window_size: usize,
    /// The last errors quoted in the message that ends the sync (10).
    pub error_queue_size: usize,
}

impl Default for ErrorMonitorOptions {
    fn default() -> Self {
        ErrorMonitorOptions {
            enabled: true,
            max_total_errors: 1000,
            max_consecutive_errors: 10,
            max_error_rate: 0.15,
            error_window_size: 100,
            error_queue_size: 10,
        }
    }
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions {
            chunk_size: 500,
            chunk_max_mem_size: 3 * 1024 * 1024,
            max_concurrency: 5,
            display_every: 100,
            queue_size: 1024,
            queue_max_mem_size: 25 * 1024 * 1024,
            pipeline: Some(DEFAULT_PIPELINE.to_string()),
            item_retries: 5,
            item_retry_interval: Duration::from_secs(10),
            log_operations: false,
            error_monitor: ErrorMonitorOptions::default(),
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
            retry_on_timeout: true,
            headers: BTreeMap::new(),
            bulk: BulkOptions::default(),
        }
    }
}

impl ElasticOptions {
    /// How every request (`_bulk` included) is retried.
    pub(crate) fn request_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.max_retries,
            interval: self.retry_interval,
            retry_on_timeout: self.retry_on_timeout,
        }
    }

    /// How `_bulk` items rejected with 429/5xx are re-sent.
    pub(crate) fn item_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.bulk.item_retries,
            interval: self.bulk.item_retry_interval,
            retry_on_timeout: self.retry_on_timeout,
        }
    }
}

/// The `user-agent` every request carries.
pub(crate) fn user_agent() -> String {
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
        assert_eq!(o.bulk.queue_max_mem_size, 25 * 1024 * 1024);
        assert!(o.retry_on_timeout);
        assert_eq!(o.request_policy().max_retries, 5);
        assert_eq!(o.item_policy().interval, Duration::from_secs(10));
        assert!(o.bulk.error_monitor.enabled);
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
