//! Every key `config.yml` may hold: its path, type, default and one line of meaning.
//!
//! This table is where a setting is declared. The Elastic connector's keys keep its names
//! and defaults (`elastic-connector.md` §1), so a `config.yml` written for it loads here; the
//! `confluence` section holds the standalone source settings (the 18 fields of Elastic's
//! Confluence connector plus ours).
//!
//! Derived from it at run time: validation (types, ranges, choices), the defaults filled in
//! before the typed configuration is built, and the suggestions for unknown keys. Checked
//! against it by tests, because deriving them would be contorted:
//! - the typed configuration ([`super::model`]): a field per key that the connector reads,
//!   holding this table's default, and no other field; a key it does not read says
//!   "accepted for compatibility" in its doc (`tests.rs`). Generating the structs from this
//!   table would take a macro that also writes their enums, options and serde attributes:
//!   harder to read than both written out and held together;
//! - the defaults the Elasticsearch and Confluence options assume on their own
//!   ([`ElasticOptions::default`](crate::elastic::ElasticOptions),
//!   [`ClientOptions::new`](crate::confluence::ClientOptions::new)): those layers take plain
//!   options and know nothing of `config.yml`; a test in `sync::target` and one in
//!   `sync::source` hold them to this table;
//! - `config.yml.example`: it names every key, shows each default it writes, and loads
//!   without a warning (`tests.rs`, and `config/tests.rs`);
//! - the first values of Kibana's configuration form in managed mode
//!   (`managed/configuration/tests.rs`).
//!
//! The README describes the settings in prose and sends the reader to `config.yml.example`
//! for the full list; it holds no table to keep in step.

/// What a key holds, and the checks its value must pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    /// Any scalar, kept as a string (numbers and booleans are turned into text).
    Text,
    /// A string that must never be printed.
    Secret,
    /// An absolute `http://` or `https://` URL.
    Url,
    /// `true` or `false`.
    Bool,
    /// A whole number within the bounds.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A number within the bounds.
    Float {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// One of the listed words, compared case-insensitively.
    OneOf(&'static [&'static str]),
    /// A list of strings, or one comma-separated string (`"DEV, OPS"`).
    List,
    /// A map of string to string (HTTP headers).
    TextMap,
    /// A schedule: a Quartz cron expression (`0 0 * * * ?`) or an interval (`30m`, `1h`).
    Schedule,
    /// `connectors:` — a list of `{connector_id, service_type, api_key}`.
    Connectors,
    /// Advanced sync rules — a list of `{query: <CQL>}`.
    AdvancedRules,
    /// Basic sync rules — a list of rule objects.
    BasicRules,
    /// Accepted as written, not checked (Elastic's `sources` map).
    Any,
}

/// One key of `config.yml`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    /// Dotted path from the top of the file.
    pub(crate) path: &'static str,
    /// What it holds.
    pub(crate) kind: Kind,
    /// Default as JSON text, or `None` when the key is optional and has no default.
    pub(crate) default: Option<&'static str>,
    /// One line of meaning. A key the typed configuration does not read says "accepted for
    /// compatibility" here, which the tests hold it to.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) doc: &'static str,
}

/// A map of keys, e.g. `elasticsearch.bulk`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Section {
    /// Dotted path from the top of the file.
    pub(crate) path: &'static str,
    /// True when the section is absent unless the user writes it (its defaults are then
    /// filled in); false when it always exists with its defaults.
    pub(crate) optional: bool,
}

const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warning", "warn", "error", "critical", "notset"];

/// The sections, parents before children.
pub(crate) const SECTIONS: &[Section] = &[
    Section { path: "elasticsearch", optional: false },
    Section { path: "elasticsearch.bulk", optional: false },
    Section { path: "elasticsearch.bulk.error_monitor", optional: false },
    Section { path: "service", optional: false },
    Section { path: "service.http", optional: false },
    Section { path: "extraction_service", optional: true },
    Section { path: "confluence", optional: true },
    Section { path: "confluence.pipeline", optional: false },
    Section { path: "confluence.sync_rules", optional: false },
    Section { path: "confluence.schedules", optional: false },
];

macro_rules! key {
    ($path:literal, $kind:expr, $default:expr, $doc:literal) => {
        Key { path: $path, kind: $kind, default: $default, doc: $doc }
    };
}

const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}

const POSITIVE: Kind = int(1, i64::MAX);
const NON_NEGATIVE: Kind = int(0, i64::MAX);

/// Every key, in the order of `config.yml.example`.
pub(crate) const KEYS: &[Key] = &[
    // elasticsearch
    key!("elasticsearch.host", Kind::Url, Some(r#""http://localhost:9200""#), "Elasticsearch URL"),
    key!("elasticsearch.api_key", Kind::Secret, None, "API key; wins over username/password"),
    key!("elasticsearch.username", Kind::Text, Some(r#""elastic""#), "basic auth user"),
    key!("elasticsearch.password", Kind::Secret, Some(r#""changeme""#), "basic auth password"),
    key!("elasticsearch.ssl", Kind::Bool, Some("true"), "apply verify_certs and ca_certs"),
    key!("elasticsearch.verify_certs", Kind::Bool, Some("true"), "verify the server certificate"),
    key!("elasticsearch.ca_certs", Kind::Text, None, "path to a PEM file: the CA, or the node's self-signed certificate"),
    key!(
        "elasticsearch.retry_on_timeout",
        Kind::Bool,
        Some("true"),
        "retry requests that time out (connection errors are always retried)"
    ),
    key!("elasticsearch.request_timeout", POSITIVE, Some("240"), "seconds per request"),
    key!(
        "elasticsearch.max_wait_duration",
        NON_NEGATIVE,
        Some("240"),
        "accepted for compatibility; no effect (requests are retried per max_retries)"
    ),
    key!(
        "elasticsearch.initial_backoff_duration",
        NON_NEGATIVE,
        Some("1"),
        "accepted for compatibility; no effect"
    ),
    key!("elasticsearch.backoff_multiplier", POSITIVE, Some("2"), "accepted for compatibility; no effect"),
    key!(
        "elasticsearch.log_level",
        Kind::OneOf(LOG_LEVELS),
        Some(r#""info""#),
        "accepted for compatibility; no effect (service.log_level or RUST_LOG decide)"
    ),
    key!(
        "elasticsearch.max_retries",
        NON_NEGATIVE,
        Some("5"),
        "retries of any request (_bulk included) answered 429/5xx or unanswered"
    ),
    key!(
        "elasticsearch.retry_interval",
        Kind::Float { min: 0.0, max: 3600.0 },
        Some("10"),
        "seconds; linear backoff base between request retries"
    ),
    key!("elasticsearch.headers", Kind::TextMap, Some("{}"), "extra HTTP headers"),
    key!(
        "elasticsearch.feature_use_connectors_api",
        Kind::Bool,
        Some("true"),
        "accepted for compatibility; managed mode always uses the _connector API where Elastic's service does"
    ),
    key!("elasticsearch.bulk.display_every", POSITIVE, Some("100"), "log progress every N documents seen"),
    key!(
        "elasticsearch.bulk.queue_max_size",
        POSITIVE,
        Some("1024"),
        "operations queued for _bulk before the crawl waits"
    ),
    key!(
        "elasticsearch.bulk.queue_max_mem_size",
        POSITIVE,
        Some("25"),
        "MiB of operations queued for _bulk before the crawl waits"
    ),
    key!(
        "elasticsearch.bulk.queue_refresh_interval",
        POSITIVE,
        Some("1"),
        "accepted for compatibility; no effect"
    ),
    key!(
        "elasticsearch.bulk.queue_refresh_timeout",
        POSITIVE,
        Some("1300"),
        "accepted for compatibility; no effect"
    ),
    key!(
        "elasticsearch.bulk.chunk_max_mem_size",
        Kind::Float { min: 0.001, max: 100.0 },
        Some("3"),
        "MiB per _bulk request"
    ),
    key!(
        "elasticsearch.bulk.max_text_document_size",
        NON_NEGATIVE,
        Some("3"),
        "MiB; larger text documents are reported and skipped (0 = no limit)"
    ),
    key!("elasticsearch.bulk.chunk_size", POSITIVE, Some("500"), "NDJSON lines per _bulk request"),
    key!("elasticsearch.bulk.max_concurrency", int(1, 64), Some("5"), "_bulk requests in flight"),
    key!(
        "elasticsearch.bulk.concurrent_downloads",
        int(1, 100),
        Some("10"),
        "accepted for compatibility; no effect (confluence.concurrent_downloads applies)"
    ),
    key!(
        "elasticsearch.bulk.max_retries",
        NON_NEGATIVE,
        Some("5"),
        "least retries of a _bulk item rejected with 429/5xx before it is given up (Elastic's connector ignores it)"
    ),
    key!(
        "elasticsearch.bulk.retry_interval",
        Kind::Float { min: 0.0, max: 3600.0 },
        Some("10"),
        "seconds; longest wait between them (also at most 3 s); items are kept for 1 + 2 + … + max_retries times this"
    ),
    key!(
        "elasticsearch.bulk.enable_operations_logging",
        Kind::Bool,
        Some("false"),
        "log every _bulk item result at debug level"
    ),
    key!(
        "elasticsearch.bulk.error_monitor.enabled",
        Kind::Bool,
        Some("true"),
        "end a sync as failed (nothing deleted) after too many item errors"
    ),
    key!(
        "elasticsearch.bulk.error_monitor.max_total_errors",
        POSITIVE,
        Some("1000"),
        "more item errors than this fail the sync"
    ),
    key!(
        "elasticsearch.bulk.error_monitor.max_consecutive_errors",
        POSITIVE,
        Some("10"),
        "more consecutive item errors than this fail the sync"
    ),
    key!(
        "elasticsearch.bulk.error_monitor.max_error_rate",
        Kind::Float { min: 0.0, max: 1.0 },
        Some("0.15"),
        "an error rate above this over the last error_window_size items fails the sync"
    ),
    key!(
        "elasticsearch.bulk.error_monitor.error_window_size",
        POSITIVE,
        Some("100"),
        "items that rate is measured over"
    ),
    key!(
        "elasticsearch.bulk.error_monitor.error_queue_size",
        POSITIVE,
        Some("10"),
        "last errors quoted in the message that fails the sync"
    ),
    // service
    key!("service.idling", POSITIVE, Some("30"), "seconds between polls of the worker"),
    key!("service.heartbeat", POSITIVE, Some("300"), "seconds between connector check-ins"),
    key!("service.preflight_max_attempts", POSITIVE, Some("10"), "attempts to reach Elasticsearch at start"),
    key!("service.preflight_idle", POSITIVE, Some("30"), "seconds between those attempts"),
    key!(
        "service.max_errors",
        POSITIVE,
        Some("20"),
        "accepted for compatibility; no effect (a failed poll or sync is logged, and the next one tries again)"
    ),
    key!("service.max_errors_span", POSITIVE, Some("600"), "accepted for compatibility; no effect"),
    key!("service.max_concurrent_content_syncs", POSITIVE, Some("1"), "content syncs at once"),
    key!("service.max_concurrent_access_control_syncs", POSITIVE, Some("1"), "access-control syncs at once"),
    key!("service.max_concurrent_scheduling_tasks", POSITIVE, Some("4"), "accepted for compatibility"),
    key!(
        "service.max_file_download_size",
        POSITIVE,
        Some("10485760"),
        "bytes; larger attachments are not downloaded"
    ),
    key!(
        "service.max_download_memory",
        POSITIVE,
        Some("67108864"),
        "bytes that attachment downloads, and the documents carrying their content until Elasticsearch has answered the _bulk request that wrote them, may hold in memory at once (files over 1 MiB download to TMPDIR)"
    ),
    key!(
        "service.attachment_text",
        Kind::OneOf(&["pipeline", "local"]),
        Some(r#""pipeline""#),
        "pipeline: office files go as base64 _attachment for the ingest pipeline (Elastic's way); local: PDF, DOCX, XLSX, PPTX, ODT, ODS, ODP and RTF are read here and only their text is sent"
    ),
    key!("service.job_cleanup_interval", POSITIVE, Some("300"), "seconds"),
    key!(
        "service.log_level",
        Kind::OneOf(LOG_LEVELS),
        None,
        "log level (the CLI's --log-level wins; RUST_LOG applies when unset)"
    ),
    key!("service.log_format", Kind::OneOf(&["text", "json"]), Some(r#""text""#), "text lines, or ECS JSON"),
    key!("service.shutdown_timeout", POSITIVE, Some("30"), "seconds a shutdown may take"),
    key!("service.fips_mode", Kind::Bool, Some("false"), "accepted for compatibility"),
    key!("service.worker_mode", Kind::Bool, Some("false"), "accepted for compatibility"),
    key!("service.service_types", Kind::List, Some("[]"), "managed mode: native service types"),
    key!(
        "service.http.host",
        Kind::Text,
        Some(r#""127.0.0.1""#),
        "address `run` serves /healthz and /metrics on (0.0.0.0: every interface)"
    ),
    key!("service.http.port", int(1, 65_535), None, "port of /healthz and /metrics; unset: not served"),
    // managed mode
    key!("connectors", Kind::Connectors, Some("[]"), "managed mode: [{connector_id, service_type, api_key}]"),
    key!("connector_id", Kind::Text, None, "deprecated single-connector form"),
    key!(
        "service_type",
        Kind::Text,
        None,
        "accepted for compatibility (the deprecated single-connector form: connector_id is what is read)"
    ),
    key!("sources", Kind::Any, None, "accepted for compatibility"),
    // extraction service
    key!("extraction_service.host", Kind::Url, None, "URL of a data extraction service"),
    key!("extraction_service.timeout", POSITIVE, Some("30"), "seconds per extraction"),
    key!(
        "extraction_service.use_file_pointers",
        Kind::Bool,
        Some("false"),
        "send file paths instead of bytes"
    ),
    key!("extraction_service.stream_chunk_size", POSITIVE, Some("65536"), "bytes per streamed chunk"),
    key!(
        "extraction_service.shared_volume_dir",
        Kind::Text,
        Some(r#""/app/files""#),
        "directory shared with the service"
    ),
    // confluence: the 18 fields of Elastic's Confluence connector
    key!(
        "confluence.data_source",
        Kind::OneOf(&["confluence_cloud", "confluence_server", "confluence_data_center"]),
        Some(r#""confluence_server""#),
        "which Confluence"
    ),
    key!("confluence.username", Kind::Text, None, "Server: username"),
    key!("confluence.password", Kind::Secret, None, "Server: password"),
    key!(
        "confluence.data_center_auth_method",
        Kind::OneOf(&["basic", "personal_access_token"]),
        Some(r#""basic""#),
        "Data Center: how to sign in"
    ),
    key!("confluence.data_center_username", Kind::Text, None, "Data Center: username"),
    key!("confluence.data_center_password", Kind::Secret, None, "Data Center: password"),
    key!(
        "confluence.data_center_personal_access_token",
        Kind::Secret,
        None,
        "Data Center: personal access token"
    ),
    key!("confluence.account_email", Kind::Text, None, "Cloud: Atlassian account email"),
    key!("confluence.api_token", Kind::Secret, None, "Cloud: API token"),
    key!("confluence.confluence_url", Kind::Url, None, "site URL, e.g. https://example.atlassian.net"),
    key!("confluence.spaces", Kind::List, None, "space keys, or * for all"),
    key!("confluence.index_labels", Kind::Bool, Some("false"), "index labels"),
    key!("confluence.ssl_enabled", Kind::Bool, Some("false"), "trust ssl_ca in addition to the system roots"),
    key!("confluence.ssl_ca", Kind::Text, None, "PEM text of a CA certificate (or of the server's own self-signed certificate), or a path to one"),
    key!("confluence.retry_count", int(0, 100), Some("3"), "retries per request"),
    key!("confluence.concurrent_downloads", int(1, 50), Some("50"), "attachment downloads at once"),
    key!(
        "confluence.use_document_level_security",
        Kind::Bool,
        Some("false"),
        "record who may read each document"
    ),
    key!(
        "confluence.use_text_extraction_service",
        Kind::Bool,
        Some("false"),
        "extract attachment text with extraction_service"
    ),
    // confluence: ours
    key!("confluence.index_comments", Kind::Bool, Some("false"), "index footer comments as documents"),
    key!(
        "confluence.cloud_auth_method",
        Kind::OneOf(&["api_token", "scoped_api_token", "oauth"]),
        Some(r#""api_token""#),
        "Cloud: site API token, scoped token or OAuth through api.atlassian.com"
    ),
    key!(
        "confluence.cloud_id",
        Kind::Text,
        None,
        "Cloud: site id for api.atlassian.com (discovered when absent)"
    ),
    key!("confluence.oauth_access_token", Kind::Secret, None, "Cloud: OAuth 2.0 access token"),
    key!(
        "confluence.ssl_insecure_skip_verify",
        Kind::Bool,
        Some("false"),
        "do not verify Confluence's certificate (unsafe)"
    ),
    key!("confluence.proxy", Kind::Url, None, "outbound HTTP(S) proxy"),
    key!("confluence.connect_timeout", POSITIVE, Some("10"), "seconds to connect"),
    key!("confluence.read_timeout", POSITIVE, Some("60"), "seconds to wait for a response"),
    key!("confluence.max_retry_after", POSITIVE, Some("60"), "cap, in seconds, on a server's Retry-After"),
    key!(
        "confluence.requests_per_second",
        Kind::Float { min: 0.0, max: 100000.0 },
        None,
        "ceiling on requests per second"
    ),
    key!("confluence.max_concurrent_requests", int(1, 256), Some("10"), "Confluence requests in flight"),
    key!("confluence.max_concurrent_spaces", int(1, 64), Some("10"), "spaces crawled at once"),
    key!(
        "confluence.incremental_overlap_minutes",
        int(0, 10_080),
        Some("60"),
        "minutes an incremental sync looks back before the last sync began (search index lag, clock skew)"
    ),
    key!("confluence.index_name", Kind::Text, Some(r#""search-confluence""#), "content index"),
    key!(
        "confluence.use_existing_index",
        Kind::Bool,
        Some("false"),
        "write into an existing index or template untouched"
    ),
    key!(
        "confluence.pipeline.name",
        Kind::Text,
        Some(r#""search-default-ingestion""#),
        "ingest pipeline ('' for none)"
    ),
    key!(
        "confluence.pipeline.extract_binary_content",
        Kind::Bool,
        Some("true"),
        "send attachments as _attachment"
    ),
    key!("confluence.pipeline.reduce_whitespace", Kind::Bool, Some("true"), "collapse whitespace in body"),
    key!("confluence.pipeline.run_ml_inference", Kind::Bool, Some("true"), "passed through to the pipeline"),
    key!("confluence.sync_rules.advanced", Kind::AdvancedRules, Some("[]"), "CQL rules: [{query: ...}]"),
    key!("confluence.sync_rules.basic", Kind::BasicRules, Some("[]"), "include/exclude rules"),
    key!("confluence.schedules.full", Kind::Schedule, None, "when to run a full sync"),
    key!("confluence.schedules.incremental", Kind::Schedule, None, "when to run an incremental sync"),
    key!("confluence.schedules.access_control", Kind::Schedule, None, "when to run an access-control sync"),
];

/// The key at `path`, if any.
pub(crate) fn key(path: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.path == path)
}

/// The section at `path`, if any.
pub(crate) fn section(path: &str) -> Option<&'static Section> {
    SECTIONS.iter().find(|s| s.path == path)
}

#[cfg(test)]
mod tests;
