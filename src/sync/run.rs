//! One sync from start to end — the story every driver calls: `sync` and `run` on the
//! command line today, the managed service (Kibana's sync jobs) next.
//!
//! A content sync (full or incremental):
//! 1. compiles the basic rules, has Confluence check the advanced ones and the configured
//!    space keys, before anything is written;
//! 2. makes sure the content index exists and takes the index's lease (one sync of an index
//!    at a time, whichever process starts it); a lost lease stops the sync as shutdown does;
//! 3. reads the saved state and the ids already indexed, and picks the window: an
//!    incremental sync runs as a full one when there is no cursor yet, or when the settings
//!    that shape documents changed ([`super::shape`]);
//! 4. records its start in the state, runs ([`ContentSync`]) with the sink behind the lease's
//!    fence, and moves the cursor only when [`SyncReport::may_advance_cursor`] says so and
//!    the lease is confirmed still held.
//!
//! An access-control sync takes the lease of the identity index and writes the identity
//! documents ([`AccessControlSync`]); it too stops on shutdown or a lost lease.

use std::sync::Arc;

use chrono::Utc;

use crate::acl::AclResolver;
use crate::config::{Config, ConfluenceConfig};
use crate::confluence::{ConfluenceClient, Flavour};
use crate::elastic;
use crate::elastic::client::EsClient;
use crate::elastic::lease::Lease;
use crate::elastic::state::SyncState;
use crate::rules::BasicRules;
use crate::shutdown::Shutdown;

use super::access_control::{identity_index, AccessControlSync};
use super::advanced_rules;
use super::attachment::ContentPolicy;
use super::completeness::Incomplete;
use super::content::ContentSync;
use super::crawl::CrawlSettings;
use super::document::PipelineFlags;
use super::error::{start, SyncError};
use super::incremental::{PreviousSync, Window};
use super::report::SyncReport;
use super::shape::{changed_settings, document_shape};
use super::source::client_options;
use super::target::elastic_options;
use super::watch::Watch;
use super::SyncKind;

/// Runs one sync of `kind` of the standalone source (`confluence:` in `config.yml`) and
/// returns its report, complete or not; `Err` when the sync could not start or run at all.
/// When `stop` fires, the crawl ends, what reached the sink is written, nothing is deleted,
/// the cursor stays, and the report says the sync is incomplete.
pub async fn run(config: &Config, kind: SyncKind, stop: Shutdown) -> Result<SyncReport, SyncError> {
    run_source(config, standalone_source(config)?, kind, stop).await
}

/// The standalone source settings, or why there are none.
pub(crate) fn standalone_source(config: &Config) -> Result<&ConfluenceConfig, SyncError> {
    config.standalone().ok_or_else(|| {
        SyncError::Unsupported(
            "this config is for managed mode (`connectors:`): the source settings live in the \
             connector document that Kibana edits, not in config.yml"
                .into(),
        )
    })
}

/// [`run`] with the source settings given, wherever they came from.
pub(crate) async fn run_source(
    config: &Config,
    source: &ConfluenceConfig,
    kind: SyncKind,
    stop: Shutdown,
) -> Result<SyncReport, SyncError> {
    run_watched(config, source, kind, stop, &Watch::new()).await
}

/// [`run_source`], with `watch` following the sink's counters while the sync runs (the
/// managed service reports them to Kibana).
pub(crate) async fn run_watched(
    config: &Config,
    source: &ConfluenceConfig,
    kind: SyncKind,
    stop: Shutdown,
    watch: &Watch,
) -> Result<SyncReport, SyncError> {
    let started_at = Utc::now();
    let result = match kind {
        SyncKind::Full | SyncKind::Incremental => content(config, source, kind, stop, watch).await,
        SyncKind::AccessControl => access_control(config, source, stop, watch).await,
    };
    super::history::remember(config, source, kind, started_at, &result).await;
    let report = result?;
    tracing::info!("{}", report.routes_line());
    report.log_failures();
    Ok(report)
}

/// A full or incremental sync of the content index.
async fn content(
    config: &Config,
    source: &ConfluenceConfig,
    kind: SyncKind,
    stop: Shutdown,
    watch: &Watch,
) -> Result<SyncReport, SyncError> {
    // Checked when the config was loaded; compiled again here for the sync.
    let rules = BasicRules::compile(&source.sync_rules.basic).map_err(|errors| {
        SyncError::Start(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
    })?;
    // The signal ends every wait of the sync: retries' backoff on both ends, rate-limit pauses.
    let client = ConfluenceClient::new(client_options(source)).await.map_err(start)?.stopping_on(&stop);
    let advanced: Vec<String> = source.sync_rules.advanced.iter().map(|rule| rule.query.clone()).collect();
    // Checked locally when the config was loaded; Confluence has the last word on fields and
    // functions, and is asked before anything is written.
    let rejected = advanced_rules::check_remotely(&client, &advanced)
        .await
        .map_err(|e| SyncError::Start(format!("checking the advanced rules with Confluence: {e}")))?;
    if !rejected.is_empty() {
        return Err(SyncError::Start(rejected.join("; ")));
    }
    // A key Confluence does not show (a typo, `eng` for `ENG`) would list nothing and make
    // the sync delete its space's documents. Advanced rules replace `spaces`, as in
    // Elastic's connector, so the keys are not checked then.
    if advanced.is_empty() {
        client.check_configured_spaces(&source.spaces).await.map_err(start)?;
    }

    let es_options = elastic_options(config, Some(&source.pipeline));
    let es = elastic::client::connect(&es_options).map_err(start)?.stopping_on(&stop);
    elastic::cluster::refuse_unsupported(&es, &config.elasticsearch.host).await.map_err(SyncError::Start)?;
    let index = source.index_name.as_str();
    let mode = if source.use_existing_index {
        elastic::index::IndexMode::UseExisting
    } else {
        elastic::index::IndexMode::CreateIfMissing
    };
    elastic::index::ensure_content_index(&es, index, mode).await.map_err(start)?;
    let lease = Lease::acquire(&es, index, kind.name()).await.map_err(start)?;
    let prepared = Prepared { client, rules, advanced, es, watch: watch.clone() };
    let result = content_under_lease(config, source, kind, stop, prepared, &lease).await;
    lease.release().await;
    result
}

/// What a content sync prepared before it took the lease.
struct Prepared {
    client: ConfluenceClient,
    rules: BasicRules,
    advanced: Vec<String>,
    es: EsClient,
    watch: Watch,
}

/// Steps 3 and 4 of a content sync, with the lease held: a lost lease stops it as shutdown
/// does, its fence stops the sink's writes, and the cursor is written only right after the
/// lease is confirmed.
async fn content_under_lease(
    config: &Config,
    source: &ConfluenceConfig,
    kind: SyncKind,
    stop: Shutdown,
    prepared: Prepared,
    lease: &Lease,
) -> Result<SyncReport, SyncError> {
    let Prepared { client, rules, advanced, es, watch } = prepared;
    let es = &es;
    let stop = stop.or(&lease.lost());
    let index = source.index_name.as_str();
    let mut state = elastic::state::read_state(es, index).await.map_err(start)?;
    // Pages modified at or after what the previous sync saw as the latest modification when
    // it began may have changed while it ran (see `PreviousSync`).
    let previous =
        if state.previous_completed() { PreviousSync::Completed } else { PreviousSync::Incomplete };
    let mark = state.latest_modification_at_start.filter(|_| previous == PreviousSync::Completed);
    let existing = elastic::existing::load_existing(es, index, mark).await.map_err(start)?;
    tracing::info!(index, documents = existing.len(), "read the ids already indexed");
    let started_at = Utc::now();
    let shape = document_shape(config, source);
    let reshaped = changed_settings(state.document_shape.as_ref(), &shape);
    if !reshaped.is_empty() {
        tracing::info!(
            index,
            changed = reshaped.join(", "),
            "settings that shape the documents changed since the last completed sync: every document is rewritten"
        );
    }
    let window = window(kind, &state, !reshaped.is_empty(), started_at, source, index);
    record_start(&client, es, index, &mut state, started_at).await?;

    // Document-level security: one resolver (and its caches) per sync.
    let acl = source.use_document_level_security.then(|| Arc::new(AclResolver::new(client.clone())));
    let content = ContentSync {
        client: Arc::new(client),
        crawl: Arc::new(CrawlSettings {
            spaces: source.spaces.clone(),
            index_labels: source.index_labels,
            index_comments: source.index_comments,
            max_concurrent_spaces: source.max_concurrent_spaces,
            // The client caps requests in flight; each space may queue up to that many so that
            // the cap, not a per-space share of it, is what limits the crawl.
            per_space_concurrency: source.max_concurrent_requests,
            started_at,
            acl: acl.clone(),
        }),
        content: ContentPolicy {
            max_bytes: config.service.max_file_download_size,
            memory_budget: config.service.max_download_memory,
            extract_binary_content: source.pipeline.extract_binary_content,
            local_text: config.service.attachment_text == "local",
            extraction: crate::extract::service::from_config(config, source),
            spool_dir: super::attachment::spool_dir(std::env::temp_dir()),
        },
        concurrent_downloads: source.concurrent_downloads,
        flags: PipelineFlags {
            extract_binary_content: source.pipeline.extract_binary_content,
            reduce_whitespace: source.pipeline.reduce_whitespace,
            run_ml_inference: source.pipeline.run_ml_inference,
        },
        rules: Arc::new(rules),
        queue_size: config.elasticsearch.bulk.queue_max_size,
        advanced: Arc::new(advanced),
        max_text_bytes: config.elasticsearch.bulk.max_text_document_size * 1024 * 1024,
        rewrite_all: !reshaped.is_empty(),
        stop,
    };
    let es_options = elastic_options(config, Some(&source.pipeline));
    let sink = elastic::sink::Sink::start_fenced(es.clone(), index, &es_options, Some(lease.fence()));
    watch.attach(sink.progress());
    let mut report = match window {
        Some(window) => content.incremental(existing, &sink, window, previous).await,
        None => content.full(existing, &sink).await,
    };
    let written = sink.finish().await;
    report.absorb_sink(&written, es.retries());
    let name = if window.is_some() { "incremental" } else { "full" };
    report.log_finished(name, index);
    if let Some(closed) = acl.as_ref().and_then(|acl| acl.summary()) {
        tracing::warn!("{closed}");
    }
    if report.may_advance_cursor() {
        if let Err(why) = lease.confirm().await {
            // Another process may hold the index now: its state is the one that counts.
            report.stop(Incomplete::LeaseLost(why));
            return Ok(report);
        }
        state.cursor = Some(started_at);
        state.document_shape = Some(shape);
        match window {
            Some(_) => state.last_incremental_sync = Some(started_at),
            None => state.last_full_sync = Some(started_at),
        }
        if let Err(e) = elastic::state::write_state(es, index, &state).await {
            // The old cursor stays: the next incremental sync looks further back, which is safe.
            tracing::warn!(index, "could not save the sync state: {e}");
        }
    } else if report.completed() {
        tracing::warn!(
            index,
            failed = report.failed.len(),
            "the cursor stays where it was so that the next incremental sync retries the failed documents"
        );
    }
    Ok(report)
}

/// The window of an incremental sync; `None` runs a full sync: asked for, no completed sync
/// recorded yet, or documents to rewrite (`reshaped`).
fn window(
    kind: SyncKind,
    state: &SyncState,
    reshaped: bool,
    now: chrono::DateTime<Utc>,
    source: &ConfluenceConfig,
    index: &str,
) -> Option<Window> {
    match (kind, state.cursor) {
        (SyncKind::Incremental, Some(_)) if reshaped => {
            tracing::info!(
                index,
                "running a full sync instead of an incremental one, to rewrite every document"
            );
            None
        }
        (SyncKind::Incremental, Some(cursor)) => {
            Some(Window::since(cursor, now, source.incremental_overlap_minutes))
        }
        (SyncKind::Incremental, None) => {
            tracing::info!(
                index,
                "no completed sync is recorded for this index: running a full sync instead"
            );
            None
        }
        _ => None,
    }
}

/// Records the start of the sync before anything is listed or written: should it not
/// complete, the next one knows that what it wrote may be partial; should it complete, the
/// next one knows which pages may have changed while it ran. The latest modification is only
/// needed where pages below a changed page are checked (Server/DC); unknown, the next sync
/// checks below every page it finds changed.
async fn record_start(
    client: &ConfluenceClient,
    es: &EsClient,
    index: &str,
    state: &mut SyncState,
    started_at: chrono::DateTime<Utc>,
) -> Result<(), SyncError> {
    state.latest_modification_at_start = match client.flavour() {
        Flavour::Cloud => None,
        Flavour::Server | Flavour::DataCenter => client.latest_page_modification().await.unwrap_or_else(|e| {
            tracing::warn!("could not read the latest page modification ({e}); the next incremental sync checks more pages");
            None
        }),
    };
    state.last_started = Some(started_at);
    elastic::state::write_state(es, index, state)
        .await
        .map_err(|e| SyncError::Start(format!("recording the start of the sync in {index}: {e}")))
}

/// An access-control sync into `.search-acl-filter-<index_name>`.
async fn access_control(
    config: &Config,
    source: &ConfluenceConfig,
    stop: Shutdown,
    watch: &Watch,
) -> Result<SyncReport, SyncError> {
    if !source.use_document_level_security {
        return Err(SyncError::Unsupported(
            "access-control syncs write the identity documents of document-level security: set \
             confluence.use_document_level_security: true (and run a full sync, so documents carry \
             _allow_access_control)"
                .into(),
        ));
    }
    let client = ConfluenceClient::new(client_options(source)).await.map_err(start)?.stopping_on(&stop);
    // Identity documents go straight in: no ingest pipeline (it is for content).
    let es_options = elastic_options(config, None);
    let es = elastic::client::connect(&es_options).map_err(start)?.stopping_on(&stop);
    elastic::cluster::refuse_unsupported(&es, &config.elasticsearch.host).await.map_err(SyncError::Start)?;
    let index = identity_index(&source.index_name);
    let sync = AccessControlSync { client: Arc::new(client), concurrency: source.max_concurrent_requests };
    let lease = Lease::acquire(&es, &index, SyncKind::AccessControl.name()).await.map_err(start)?;
    let stop = stop.or(&lease.lost());
    let sink = elastic::sink::Sink::start_fenced(es.clone(), &index, &es_options, Some(lease.fence()));
    watch.attach(sink.progress());
    let result = sync.run(&es, &index, &sink, stop).await;
    let written = sink.finish().await;
    lease.release().await;
    let mut report = result.map_err(|e| SyncError::Start(format!("access-control sync of {index}: {e}")))?;
    report.absorb_sink(&written, es.retries());
    report.log_finished("access-control", &index);
    for failure in report.listing_failures() {
        tracing::warn!("incomplete: {failure}");
    }
    Ok(report)
}
