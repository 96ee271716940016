//! `sync --kind …` and the syncs `run` starts: build both ends from the config, run one
//! sync, report it.

use std::sync::Arc;

use chrono::Utc;

use crate::acl::AclResolver;
use crate::config::{Config, ConfluenceConfig};
use crate::confluence::{ConfluenceClient, Flavour};
use crate::elastic;
use crate::elastic::lease::Lease;
use crate::rules::BasicRules;
use crate::service::{Shutdown, SyncKind};
use crate::sync::advanced_rules;
use crate::sync::attachment::ContentPolicy;
use crate::sync::crawl::CrawlSettings;
use crate::sync::document::PipelineFlags;
use crate::sync::full::ContentSync;
use crate::sync::incremental::{PreviousSync, Window};
use crate::sync::report::SyncReport;
use crate::sync::shape::{changed_settings, document_shape};
use crate::sync::source::client_options;
use crate::sync::target::elastic_options;

use super::CliError;

/// The standalone source, or why there is none.
fn standalone(config: &Config) -> Result<&ConfluenceConfig, CliError> {
    config.standalone().ok_or_else(|| {
        CliError::Unsupported(
            "managed mode (`connectors:` driven from Kibana) is not supported by this version: \
             put the source settings in the `confluence` section of config.yml"
                .into(),
        )
    })
}

/// Runs one sync of `kind`; `Ok` carries the report's summary line, and only when the sync
/// completed. SIGTERM or SIGINT stops it gracefully (what was sent is written, nothing is
/// deleted, the cursor stays); a second signal exits at once.
pub async fn sync_once(config: &Config, kind: SyncKind) -> Result<String, CliError> {
    let report = run_sync_until(config, kind, Shutdown::on_signals()).await?;
    match report.incomplete_reason() {
        None => Ok(report.to_string()),
        Some(why) => Err(CliError::Sync(why)),
    }
}

/// Runs one sync of `kind` and returns its report, complete or not; `Err` when the sync
/// could not start or run at all.
pub async fn run_sync(config: &Config, kind: SyncKind) -> Result<SyncReport, CliError> {
    run_sync_until(config, kind, Shutdown::never()).await
}

/// [`run_sync`], stopping early when `stop` fires: the crawl ends, what reached the sink is
/// written, and the report says the sync is incomplete.
pub async fn run_sync_until(config: &Config, kind: SyncKind, stop: Shutdown) -> Result<SyncReport, CliError> {
    let source = standalone(config)?;
    match kind {
        SyncKind::Full | SyncKind::Incremental => {}
        SyncKind::AccessControl => return super::access_control::run(config, source).await,
    }
    if source.use_text_extraction_service {
        tracing::warn!(
            "use_text_extraction_service is not supported by this version: attachment content goes \
             through the ingest pipeline (_attachment) instead"
        );
    }
    // Checked when the config was loaded; compiled again here for the sync.
    let rules = BasicRules::compile(&source.sync_rules.basic).map_err(|errors| {
        CliError::Sync(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
    })?;

    let client =
        ConfluenceClient::new(client_options(source)).await.map_err(|e| CliError::Sync(e.to_string()))?;
    let advanced: Vec<String> = source.sync_rules.advanced.iter().map(|rule| rule.query.clone()).collect();
    // Checked locally when the config was loaded; Confluence has the last word on fields and
    // functions, and is asked before anything is written.
    let rejected = advanced_rules::check_remotely(&client, &advanced)
        .await
        .map_err(|e| CliError::Sync(format!("checking the advanced rules with Confluence: {e}")))?;
    if !rejected.is_empty() {
        return Err(CliError::Sync(rejected.join("; ")));
    }

    let es_options = elastic_options(config, Some(&source.pipeline));
    let es = elastic::client::connect(&es_options).map_err(|e| CliError::Sync(e.to_string()))?;
    let index = source.index_name.as_str();
    let mode = if source.use_existing_index {
        elastic::index::IndexMode::UseExisting
    } else {
        elastic::index::IndexMode::CreateIfMissing
    };
    elastic::index::ensure_content_index(&es, index, mode)
        .await
        .map_err(|e| CliError::Sync(e.to_string()))?;
    // One sync of an index at a time, whichever process starts it.
    let lease = Lease::acquire(&es, index, kind.name()).await.map_err(|e| CliError::Sync(e.to_string()))?;
    let stop = stop.or(&lease.lost());
    let mut state =
        elastic::state::read_state(&es, index).await.map_err(|e| CliError::Sync(e.to_string()))?;
    // Pages modified at or after what the previous sync saw as the latest modification when
    // it began may have changed while it ran (see `PreviousSync`).
    let previous =
        if state.previous_completed() { PreviousSync::Completed } else { PreviousSync::Incomplete };
    let mark = state.latest_modification_at_start.filter(|_| previous == PreviousSync::Completed);
    let existing = elastic::existing::load_existing(&es, index, mark)
        .await
        .map_err(|e| CliError::Sync(e.to_string()))?;
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
    let window = match (kind, state.cursor) {
        (SyncKind::Incremental, Some(_)) if !reshaped.is_empty() => {
            tracing::info!(
                index,
                "running a full sync instead of an incremental one, to rewrite every document"
            );
            None
        }
        (SyncKind::Incremental, Some(cursor)) => {
            Some(Window::since(cursor, started_at, source.incremental_overlap_minutes))
        }
        (SyncKind::Incremental, None) => {
            tracing::info!(
                index,
                "no completed sync is recorded for this index: running a full sync instead"
            );
            None
        }
        _ => None,
    };

    // Recorded before anything is listed or written: should this sync not complete, the next
    // one knows that what it wrote may be partial; should it complete, the next one knows
    // which pages may have changed while it ran. The latest modification is only needed
    // where pages below a changed page are checked (Server/DC); unknown, the next sync checks
    // below every page it finds changed.
    state.latest_modification_at_start = match client.flavour() {
        Flavour::Cloud => None,
        Flavour::Server | Flavour::DataCenter => client.latest_page_modification().await.unwrap_or_else(|e| {
            tracing::warn!("could not read the latest page modification ({e}); the next incremental sync checks more pages");
            None
        }),
    };
    state.last_started = Some(started_at);
    elastic::state::write_state(&es, index, &state)
        .await
        .map_err(|e| CliError::Sync(format!("recording the start of the sync in {index}: {e}")))?;

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
            extract_binary_content: source.pipeline.extract_binary_content,
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
    let sink = elastic::sink::Sink::start(es.clone(), index, &es_options);
    let mut report = match window {
        Some(window) => content.incremental(existing, &sink, window, previous).await,
        None => content.full(existing, &sink).await,
    };
    let written = sink.finish().await;
    report.absorb_sink(&written, es.retries());
    let name = if window.is_some() { "incremental" } else { "full" };
    tracing::info!("{name} sync of {index}: {report}");
    if let Some(closed) = acl.as_ref().and_then(|acl| acl.summary()) {
        tracing::warn!("{closed}");
    }
    tracing::info!("{}", report.routes_line());
    report.log_failures();
    // The cursor moves only past a sync that completed with every document written: a
    // document that failed is then fetched again by the next incremental sync.
    if report.completed() && report.failed.is_empty() {
        state.cursor = Some(started_at);
        state.document_shape = Some(shape);
        match window {
            Some(_) => state.last_incremental_sync = Some(started_at),
            None => state.last_full_sync = Some(started_at),
        }
        if let Err(e) = elastic::state::write_state(&es, index, &state).await {
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
    lease.release().await;
    Ok(report)
}
