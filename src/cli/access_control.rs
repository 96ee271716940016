//! `sync --kind access-control` (and the access-control syncs `run` schedules): build both
//! ends from the config and write the identity documents of document-level security.

use std::sync::Arc;

use crate::config::{Config, ConfluenceConfig};
use crate::confluence::ConfluenceClient;
use crate::elastic;
use crate::elastic::lease::Lease;
use crate::sync::access_control::{identity_index, AccessControlSync};
use crate::sync::report::SyncReport;
use crate::sync::source::client_options;
use crate::sync::target::elastic_options;

use super::CliError;

/// Runs one access-control sync into `.search-acl-filter-<index_name>`.
pub async fn run(config: &Config, source: &ConfluenceConfig) -> Result<SyncReport, CliError> {
    if !source.use_document_level_security {
        return Err(CliError::Unsupported(
            "access-control syncs write the identity documents of document-level security: set \
             confluence.use_document_level_security: true (and run a full sync, so documents carry \
             _allow_access_control)"
                .into(),
        ));
    }
    let client =
        ConfluenceClient::new(client_options(source)).await.map_err(|e| CliError::Sync(e.to_string()))?;
    // Identity documents go straight in: no ingest pipeline (it is for content).
    let es_options = elastic_options(config, None);
    let es = elastic::client::connect(&es_options).map_err(|e| CliError::Sync(e.to_string()))?;
    let index = identity_index(&source.index_name);
    let sync = AccessControlSync { client: Arc::new(client), concurrency: source.max_concurrent_requests };
    // One sync of an index at a time, whichever process starts it.
    let lease =
        Lease::acquire(&es, &index, "access_control").await.map_err(|e| CliError::Sync(e.to_string()))?;
    let sink = elastic::sink::Sink::start(es.clone(), &index, &es_options);
    let result = sync.run(&es, &index, &sink).await;
    let written = sink.finish().await;
    lease.release().await;
    let mut report = result.map_err(|e| CliError::Sync(format!("access-control sync of {index}: {e}")))?;
    report.absorb_sink(&written, es.retries());
    tracing::info!("access-control sync of {index}: {report}");
    tracing::info!("{}", report.routes_line());
    for failure in &report.listing_failures {
        tracing::warn!("incomplete: {failure}");
    }
    Ok(report)
}
