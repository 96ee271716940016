//! The typed configuration, built from the checked tree (every default already filled in).
//!
//! Field names are the `config.yml` keys; meanings and defaults live in
//! [`schema`](super::schema), the one place that knows them.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Secret;

/// Everything `config.yml` says.
#[derive(Debug, Clone, Deserialize)]
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
    pub connector_id: Option<String>,
    /// Deprecated single-connector form of `connectors`.
    #[serde(default)]
    pub service_type: Option<String>,
    /// An optional data extraction service for attachments.
    #[serde(default)]
    pub extraction_service: Option<ExtractionServiceConfig>,
    /// Standalone mode: the Confluence source, its index, rules and schedules.
    #[serde(default)]
    pub confluence: Option<ConfluenceConfig>,
    /// Where the secrets kept outside `config.yml` come from, to read them again before each
    /// scheduled sync ([`Config::with_fresh_secrets`](super::Config::with_fresh_secrets)).
    #[serde(skip)]
    pub secrets: super::secrets::Sources,
}

/// `elasticsearch.*`
#[derive(Debug, Clone, Deserialize)]
pub struct ElasticsearchConfig {
    /// Cluster URL.
    pub host: String,
    /// API key; wins over basic auth.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// Basic auth user.
    pub username: String,
    /// Basic auth password.
    pub password: Secret,
    /// Apply `verify_certs` and `ca_certs`.
    pub ssl: bool,
    /// Verify the server's certificate.
    pub verify_certs: bool,
    /// Path to a PEM CA bundle.
    #[serde(default)]
    pub ca_certs: Option<String>,
    /// Retry requests that time out (connection errors always are).
    pub retry_on_timeout: bool,
    /// Seconds per request.
    pub request_timeout: u64,
    /// Accepted for compatibility; no effect.
    pub max_wait_duration: u64,
    /// Accepted for compatibility; no effect.
    pub initial_backoff_duration: u64,
    /// Accepted for compatibility; no effect.
    pub backoff_multiplier: u64,
    /// Retries of any request (`_bulk` included) answered 429/5xx or unanswered.
    pub max_retries: u32,
    /// Seconds; linear backoff base between retries.
    pub retry_interval: f64,
    /// Extra HTTP headers.
    pub headers: BTreeMap<String, String>,
    /// `_bulk` tuning.
    pub bulk: BulkConfig,
}

/// `elasticsearch.bulk.*`
#[derive(Debug, Clone, Deserialize)]
pub struct BulkConfig {
    /// Log progress every N documents seen.
    pub display_every: u64,
    /// Operations queued for `_bulk` before the crawl waits.
    pub queue_max_size: usize,
    /// MiB of operations queued for `_bulk` before the crawl waits.
    pub queue_max_mem_size: u64,
    /// MiB per `_bulk` request.
    pub chunk_max_mem_size: f64,
    /// MiB; larger text documents are reported and skipped (0 = no limit).
    pub max_text_document_size: u64,
    /// NDJSON lines per `_bulk` request.
    pub chunk_size: usize,
    /// `_bulk` requests in flight.
    pub max_concurrency: usize,
    /// Accepted for compatibility; `confluence.concurrent_downloads` applies.
    pub concurrent_downloads: usize,
    /// Rounds of re-sending the `_bulk` items rejected with 429/5xx.
    pub max_retries: u32,
    /// Seconds; linear backoff base between those rounds.
    pub retry_interval: f64,
    /// Log every item result at debug level.
    pub enable_operations_logging: bool,
    /// When too many item errors fail a sync.
    pub error_monitor: ErrorMonitorConfig,
}

/// `elasticsearch.bulk.error_monitor.*`
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorMonitorConfig {
    /// Whether the monitor may fail a sync.
    pub enabled: bool,
    /// More item errors than this fail the sync.
    pub max_total_errors: u64,
    /// More consecutive item errors than this fail the sync.
    pub max_consecutive_errors: u64,
    /// An error rate above this over the window fails the sync.
    pub max_error_rate: f64,
    /// Items in that window.
    pub error_window_size: usize,
    /// Last errors quoted in the message that fails the sync.
    pub error_queue_size: usize,
}

/// `service.*`
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceConfig {
    /// Seconds between polls of the worker.
    pub idling: u64,
    /// Seconds between connector check-ins.
    pub heartbeat: u64,
    /// Managed mode: attempts to reach Elasticsearch at start.
    pub preflight_max_attempts: u64,
    /// Managed mode: seconds between those attempts.
    pub preflight_idle: u64,
    /// Managed mode: seconds between clean-ups of abandoned sync jobs.
    pub job_cleanup_interval: u64,
    /// Accepted for compatibility; no effect.
    pub max_errors: u64,
    /// Accepted for compatibility; no effect.
    pub max_errors_span: u64,
    /// Content syncs at once.
    pub max_concurrent_content_syncs: usize,
    /// Access-control syncs at once.
    pub max_concurrent_access_control_syncs: usize,
    /// Bytes; larger attachments are not downloaded.
    pub max_file_download_size: u64,
    /// Bytes shared by attachment downloads and the documents carrying their content until
    /// Elasticsearch has answered the request that wrote them: what bounds memory when files
    /// are large, whatever `concurrent_downloads` allows.
    pub max_download_memory: u64,
    /// `pipeline` (office files and PDFs as base64 `_attachment`, Elastic's way) or `local`
    /// (their text read here, [`crate::extract::office`], [`crate::extract::pdf`]).
    pub attachment_text: String,
    /// Log level name; `None` lets `RUST_LOG` decide.
    #[serde(default)]
    pub log_level: Option<String>,
    /// `text` or `json`.
    pub log_format: String,
    /// Seconds a graceful shutdown may take.
    pub shutdown_timeout: u64,
    /// Managed mode: native service types.
    pub service_types: Vec<String>,
    /// Where `run` serves `/healthz` and `/metrics`.
    pub http: HttpConfig,
}

/// `service.http.*`
#[derive(Debug, Clone, Deserialize)]
pub struct HttpConfig {
    /// Address to listen on.
    pub host: String,
    /// Port; `None` leaves the endpoints off (nothing listens that nobody asked for).
    #[serde(default)]
    pub port: Option<u16>,
}

/// One entry of `connectors:`.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectorEntry {
    /// The connector document's id.
    pub connector_id: String,
    /// Expected `confluence`.
    #[serde(default)]
    pub service_type: Option<String>,
    /// API key for this connector's sync jobs.
    #[serde(default)]
    pub api_key: Option<Secret>,
}

/// `extraction_service.*`
#[derive(Debug, Clone, Deserialize)]
pub struct ExtractionServiceConfig {
    /// Service URL.
    #[serde(default)]
    pub host: Option<String>,
    /// Seconds per extraction.
    pub timeout: u64,
    /// Send file paths instead of bytes.
    pub use_file_pointers: bool,
    /// Bytes per streamed chunk.
    pub stream_chunk_size: usize,
    /// Directory shared with the service.
    pub shared_volume_dir: String,
}

/// Which Confluence a source talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// Confluence Cloud (`*.atlassian.net`).
    ConfluenceCloud,
    /// Confluence Server.
    ConfluenceServer,
    /// Confluence Data Center.
    ConfluenceDataCenter,
}

/// How Data Center requests are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCenterAuthMethod {
    /// Username and password.
    Basic,
    /// `Authorization: Bearer <token>`.
    PersonalAccessToken,
}

/// How Cloud requests are signed, and through which host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloudAuthMethod {
    /// Classic API token with the account email, on the site's own host.
    ApiToken,
    /// Scoped API token with the account email, through `api.atlassian.com`.
    ScopedApiToken,
    /// OAuth 2.0 access token, through `api.atlassian.com`.
    Oauth,
}

/// `confluence.*` — the standalone source settings.
#[derive(Debug, Clone, Deserialize)]
pub struct ConfluenceConfig {
    /// Which Confluence.
    pub data_source: DataSource,
    /// Server: username.
    #[serde(default)]
    pub username: Option<String>,
    /// Server: password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Data Center: how to sign in.
    pub data_center_auth_method: DataCenterAuthMethod,
    /// Data Center: username.
    #[serde(default)]
    pub data_center_username: Option<String>,
    /// Data Center: password.
    #[serde(default)]
    pub data_center_password: Option<Secret>,
    /// Data Center: personal access token.
    #[serde(default)]
    pub data_center_personal_access_token: Option<Secret>,
    /// Cloud: account email.
    #[serde(default)]
    pub account_email: Option<String>,
    /// Cloud: API token.
    #[serde(default)]
    pub api_token: Option<Secret>,
    /// Site URL.
    #[serde(default)]
    pub confluence_url: Option<String>,
    /// Space keys, or `*`.
    #[serde(default)]
    pub spaces: Vec<String>,
    /// Index labels.
    pub index_labels: bool,
    /// Trust `ssl_ca`.
    pub ssl_enabled: bool,
    /// PEM text or path of a CA certificate.
    #[serde(default)]
    pub ssl_ca: Option<String>,
    /// Retries per request.
    pub retry_count: u32,
    /// Attachment downloads at once.
    pub concurrent_downloads: usize,
    /// Record who may read each document.
    pub use_document_level_security: bool,
    /// Extract attachment text with the extraction service.
    pub use_text_extraction_service: bool,
    /// Index footer comments as documents.
    pub index_comments: bool,
    /// Cloud: how to sign in.
    pub cloud_auth_method: CloudAuthMethod,
    /// Cloud: site id for `api.atlassian.com`.
    #[serde(default)]
    pub cloud_id: Option<String>,
    /// Cloud: OAuth 2.0 access token.
    #[serde(default)]
    pub oauth_access_token: Option<Secret>,
    /// Do not verify Confluence's certificate.
    pub ssl_insecure_skip_verify: bool,
    /// Outbound proxy URL.
    #[serde(default)]
    pub proxy: Option<String>,
    /// Seconds to connect.
    pub connect_timeout: u64,
    /// Seconds to wait for a response.
    pub read_timeout: u64,
    /// Cap, seconds, on a server's `Retry-After`.
    pub max_retry_after: u64,
    /// Ceiling on requests per second.
    #[serde(default)]
    pub requests_per_second: Option<f64>,
    /// Requests in flight.
    pub max_concurrent_requests: usize,
    /// Spaces crawled at once.
    pub max_concurrent_spaces: usize,
    /// Minutes an incremental sync looks back before the last sync's start.
    pub incremental_overlap_minutes: i64,
    /// Content index.
    pub index_name: String,
    /// Use an existing index or template untouched.
    pub use_existing_index: bool,
    /// Ingest pipeline settings.
    pub pipeline: PipelineConfig,
    /// Sync rules.
    pub sync_rules: SyncRulesConfig,
    /// Schedules per sync kind.
    pub schedules: SchedulesConfig,
}

/// `confluence.pipeline.*` — as in the connector document's `pipeline`.
#[derive(Debug, Clone, Deserialize)]
pub struct PipelineConfig {
    /// Pipeline name; empty for none.
    pub name: String,
    /// Send attachments as `_attachment`.
    pub extract_binary_content: bool,
    /// Collapse whitespace in `body`.
    pub reduce_whitespace: bool,
    /// Passed through to the pipeline.
    pub run_ml_inference: bool,
}

/// `confluence.sync_rules.*`
#[derive(Debug, Clone, Deserialize)]
pub struct SyncRulesConfig {
    /// CQL rules.
    pub advanced: Vec<AdvancedRule>,
    /// Include/exclude rules.
    pub basic: Vec<BasicRule>,
}

/// One advanced rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AdvancedRule {
    /// A CQL query.
    pub query: String,
}

pub use crate::rules::BasicRule;

/// `confluence.schedules.*` — cron expressions or intervals; absent means not scheduled.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SchedulesConfig {
    /// Full syncs.
    #[serde(default)]
    pub full: Option<String>,
    /// Incremental syncs.
    #[serde(default)]
    pub incremental: Option<String>,
    /// Access-control syncs.
    #[serde(default)]
    pub access_control: Option<String>,
}
