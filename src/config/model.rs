//! The typed configuration, built from the checked tree (every default already filled in).
//!
//! Field names are the `config.yml` keys; meanings and defaults live in
//! [`schema`](super::schema), the one place that knows them. A field is here only when the
//! connector reads it; the tests serialise this model (hence `Serialize` in tests) to check
//! it against the schema.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Secret;

/// Everything `config.yml` says.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct Config {
    /// Where documents go.
    pub elasticsearch: ElasticsearchConfig,
    /// How the long-running service behaves.
    pub service: ServiceConfig,
    /// Managed mode: the connectors this process serves (empty in standalone mode).
    #[serde(default)]
    pub connectors: Vec<ConnectorEntry>,
    /// Deprecated single-connector form of `connectors`.
    #[serde(default)]
    pub(crate) connector_id: Option<String>,
    /// An optional data extraction service for attachments.
    #[serde(default)]
    pub(crate) extraction_service: Option<ExtractionServiceConfig>,
    /// Standalone mode: the Confluence source, its index, rules and schedules.
    #[serde(default)]
    pub(crate) confluence: Option<ConfluenceConfig>,
    /// Where the secrets kept outside `config.yml` come from, to read them again before each
    /// scheduled sync ([`Config::with_fresh_secrets`](super::Config::with_fresh_secrets)).
    #[serde(skip)]
    pub(crate) secrets: super::secrets::Sources,
}

/// `elasticsearch.*`
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct ElasticsearchConfig {
    /// Cluster URL.
    pub(crate) host: String,
    /// API key; wins over basic auth.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// Basic auth user.
    pub(crate) username: String,
    /// Basic auth password.
    pub password: Secret,
    /// Apply `verify_certs` and `ca_certs`.
    pub(crate) ssl: bool,
    /// Verify the server's certificate.
    pub(crate) verify_certs: bool,
    /// Path to a PEM CA bundle.
    #[serde(default)]
    pub(crate) ca_certs: Option<String>,
    /// Retry requests that time out (connection errors always are).
    pub(crate) retry_on_timeout: bool,
    /// Seconds per request.
    pub(crate) request_timeout: u64,
    /// Retries of any request (`_bulk` included) answered 429/5xx or unanswered.
    pub(crate) max_retries: u32,
    /// Seconds; linear backoff base between retries.
    pub(crate) retry_interval: f64,
    /// Extra HTTP headers.
    pub(crate) headers: BTreeMap<String, String>,
    /// `_bulk` tuning.
    pub(crate) bulk: BulkConfig,
}

/// `elasticsearch.bulk.*`
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) struct BulkConfig {
    /// Log progress every N documents seen.
    pub(crate) display_every: u64,
    /// Operations queued for `_bulk` before the crawl waits.
    pub(crate) queue_max_size: usize,
    /// MiB of operations queued for `_bulk` before the crawl waits.
    pub(crate) queue_max_mem_size: u64,
    /// MiB per `_bulk` request.
    pub(crate) chunk_max_mem_size: f64,
    /// MiB; larger text documents are reported and skipped (0 = no limit).
    pub(crate) max_text_document_size: u64,
    /// NDJSON lines per `_bulk` request.
    pub(crate) chunk_size: usize,
    /// `_bulk` requests in flight.
    pub(crate) max_concurrency: usize,
    /// Rounds of re-sending the `_bulk` items rejected with 429/5xx.
    pub(crate) max_retries: u32,
    /// Seconds; linear backoff base between those rounds.
    pub(crate) retry_interval: f64,
    /// Log every item result at debug level.
    pub(crate) enable_operations_logging: bool,
    /// When too many item errors fail a sync.
    pub(crate) error_monitor: ErrorMonitorConfig,
}

/// `elasticsearch.bulk.error_monitor.*`
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) struct ErrorMonitorConfig {
    /// Whether the monitor may fail a sync.
    pub(crate) enabled: bool,
    /// More item errors than this fail the sync.
    pub(crate) max_total_errors: u64,
    /// More consecutive item errors than this fail the sync.
    pub(crate) max_consecutive_errors: u64,
    /// An error rate above this over the window fails the sync.
    pub(crate) max_error_rate: f64,
    /// Items in that window.
    pub(crate) error_window_size: usize,
    /// Last errors quoted in the message that fails the sync.
    pub(crate) error_queue_size: usize,
}

/// `service.*`
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct ServiceConfig {
    /// Seconds between polls of the worker.
    pub(crate) idling: u64,
    /// Seconds between connector check-ins.
    pub(crate) heartbeat: u64,
    /// Managed mode: attempts to reach Elasticsearch at start.
    pub(crate) preflight_max_attempts: u64,
    /// Managed mode: seconds between those attempts.
    pub(crate) preflight_idle: u64,
    /// Managed mode: seconds between clean-ups of abandoned sync jobs.
    pub(crate) job_cleanup_interval: u64,
    /// Content syncs at once.
    pub(crate) max_concurrent_content_syncs: usize,
    /// Access-control syncs at once.
    pub(crate) max_concurrent_access_control_syncs: usize,
    /// Bytes; larger attachments are not downloaded.
    pub(crate) max_file_download_size: u64,
    /// Bytes shared by attachment downloads and the documents carrying their content until
    /// Elasticsearch has answered the request that wrote them: what bounds memory when files
    /// are large, whatever `concurrent_downloads` allows.
    pub(crate) max_download_memory: u64,
    /// `pipeline` (office files and PDFs as base64 `_attachment`, Elastic's way) or `local`
    /// (their text read here, [`crate::extract::office`], [`crate::extract::pdf`]).
    pub(crate) attachment_text: String,
    /// Log level name; `None` lets `RUST_LOG` decide.
    #[serde(default)]
    pub log_level: Option<String>,
    /// `text` or `json`.
    pub log_format: String,
    /// Seconds a graceful shutdown may take.
    pub(crate) shutdown_timeout: u64,
    /// Managed mode: native service types.
    pub(crate) service_types: Vec<String>,
    /// Where `run` serves `/healthz` and `/metrics`.
    pub(crate) http: HttpConfig,
}

/// `service.http.*`
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) struct HttpConfig {
    /// Address to listen on.
    pub(crate) host: String,
    /// Port; `None` leaves the endpoints off (nothing listens that nobody asked for).
    #[serde(default)]
    pub(crate) port: Option<u16>,
}

/// One entry of `connectors:`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct ConnectorEntry {
    /// The connector document's id.
    pub(crate) connector_id: String,
    /// API key for this connector's sync jobs.
    #[serde(default)]
    pub api_key: Option<Secret>,
}

/// `extraction_service.*`
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) struct ExtractionServiceConfig {
    /// Service URL.
    #[serde(default)]
    pub(crate) host: Option<String>,
    /// Seconds per extraction.
    pub(crate) timeout: u64,
    /// Send file paths instead of bytes.
    pub(crate) use_file_pointers: bool,
    /// Bytes per streamed chunk.
    pub(crate) stream_chunk_size: usize,
    /// Directory shared with the service.
    pub(crate) shared_volume_dir: String,
}

/// Which Confluence a source talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(rename_all = "snake_case")]
#[allow(clippy::enum_variant_names)] // the values of `data_source`: confluence_cloud, …
pub(crate) enum DataSource {
    /// Confluence Cloud (`*.atlassian.net`).
    ConfluenceCloud,
    /// Confluence Server.
    ConfluenceServer,
    /// Confluence Data Center.
    ConfluenceDataCenter,
}

/// How Data Center requests are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(rename_all = "snake_case")]
pub(crate) enum DataCenterAuthMethod {
    /// Username and password.
    Basic,
    /// `Authorization: Bearer <token>`.
    PersonalAccessToken,
}

/// How Cloud requests are signed, and through which host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(rename_all = "snake_case")]
pub(crate) enum CloudAuthMethod {
    /// Classic API token with the account email, on the site's own host.
    ApiToken,
    /// Scoped API token with the account email, through `api.atlassian.com`.
    ScopedApiToken,
    /// OAuth 2.0 access token, through `api.atlassian.com`.
    Oauth,
}

/// `confluence.*` — the standalone source settings.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) struct ConfluenceConfig {
    /// Which Confluence.
    pub(crate) data_source: DataSource,
    /// Server: username.
    #[serde(default)]
    pub(crate) username: Option<String>,
    /// Server: password.
    #[serde(default)]
    pub(crate) password: Option<Secret>,
    /// Data Center: how to sign in.
    pub(crate) data_center_auth_method: DataCenterAuthMethod,
    /// Data Center: username.
    #[serde(default)]
    pub(crate) data_center_username: Option<String>,
    /// Data Center: password.
    #[serde(default)]
    pub(crate) data_center_password: Option<Secret>,
    /// Data Center: personal access token.
    #[serde(default)]
    pub(crate) data_center_personal_access_token: Option<Secret>,
    /// Cloud: account email.
    #[serde(default)]
    pub(crate) account_email: Option<String>,
    /// Cloud: API token.
    #[serde(default)]
    pub(crate) api_token: Option<Secret>,
    /// Site URL.
    #[serde(default)]
    pub(crate) confluence_url: Option<String>,
    /// Space keys, or `*`.
    #[serde(default)]
    pub(crate) spaces: Vec<String>,
    /// Index labels.
    pub(crate) index_labels: bool,
    /// Trust `ssl_ca`.
    pub(crate) ssl_enabled: bool,
    /// PEM text or path of a CA certificate.
    #[serde(default)]
    pub(crate) ssl_ca: Option<String>,
    /// Retries per request.
    pub(crate) retry_count: u32,
    /// Attachment downloads at once.
    pub(crate) concurrent_downloads: usize,
    /// Record who may read each document.
    pub(crate) use_document_level_security: bool,
    /// Extract attachment text with the extraction service.
    pub(crate) use_text_extraction_service: bool,
    /// Index footer comments as documents.
    pub(crate) index_comments: bool,
    /// Cloud: how to sign in.
    pub(crate) cloud_auth_method: CloudAuthMethod,
    /// Cloud: site id for `api.atlassian.com`.
    #[serde(default)]
    pub(crate) cloud_id: Option<String>,
    /// Cloud: OAuth 2.0 access token.
    #[serde(default)]
    pub(crate) oauth_access_token: Option<Secret>,
    /// Do not verify Confluence's certificate.
    pub(crate) ssl_insecure_skip_verify: bool,
    /// Outbound proxy URL.
    #[serde(default)]
    pub(crate) proxy: Option<String>,
    /// Seconds to connect.
    pub(crate) connect_timeout: u64,
    /// Seconds to wait for a response.
    pub(crate) read_timeout: u64,
    /// Cap, seconds, on a server's `Retry-After`.
    pub(crate) max_retry_after: u64,
    /// Ceiling on requests per second.
    #[serde(default)]
    pub(crate) requests_per_second: Option<f64>,
    /// Requests in flight.
    pub(crate) max_concurrent_requests: usize,
    /// Spaces crawled at once.
    pub(crate) max_concurrent_spaces: usize,
    /// Minutes an incremental sync looks back before the last sync's start.
    pub(crate) incremental_overlap_minutes: i64,
    /// Content index.
    pub(crate) index_name: String,
    /// Use an existing index or template untouched.
    pub(crate) use_existing_index: bool,
    /// Ingest pipeline settings.
    pub(crate) pipeline: PipelineConfig,
    /// Sync rules.
    pub(crate) sync_rules: SyncRulesConfig,
    /// Schedules per sync kind.
    pub(crate) schedules: SchedulesConfig,
}

/// `confluence.pipeline.*` — as in the connector document's `pipeline`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct PipelineConfig {
    /// Pipeline name; empty for none.
    pub(crate) name: String,
    /// Send attachments as `_attachment`.
    pub(crate) extract_binary_content: bool,
    /// Collapse whitespace in `body`.
    pub(crate) reduce_whitespace: bool,
    /// Passed through to the pipeline.
    pub(crate) run_ml_inference: bool,
}

/// `confluence.sync_rules.*`
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) struct SyncRulesConfig {
    /// CQL rules.
    pub(crate) advanced: Vec<AdvancedRule>,
    /// Include/exclude rules.
    pub(crate) basic: Vec<BasicRule>,
}

/// One advanced rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) struct AdvancedRule {
    /// A CQL query.
    pub(crate) query: String,
}

pub(crate) use crate::rules::BasicRule;

/// `confluence.schedules.*` — cron expressions or intervals; absent means not scheduled.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) struct SchedulesConfig {
    /// Full syncs.
    #[serde(default)]
    pub(crate) full: Option<String>,
    /// Incremental syncs.
    #[serde(default)]
    pub(crate) incremental: Option<String>,
    /// Access-control syncs.
    #[serde(default)]
    pub(crate) access_control: Option<String>,
}
