//! From `elasticsearch.*` (and the connector's pipeline settings) to Elasticsearch options.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Config, PipelineConfig};
use crate::elastic::options::{BulkOptions, ElasticOptions, ErrorMonitorOptions};

/// The Elasticsearch options the configuration describes.
pub fn elastic_options(config: &Config, pipeline: Option<&PipelineConfig>) -> ElasticOptions {
    let es = &config.elasticsearch;
    let bulk = &es.bulk;
    ElasticOptions {
        host: es.host.clone(),
        api_key: es.api_key.clone().filter(|k| !k.is_empty()),
        username: Some(es.username.clone()),
        password: Some(es.password.clone()),
        ssl: es.ssl,
        verify_certs: es.verify_certs,
        ca_certs: es.ca_certs.as_ref().map(PathBuf::from),
        request_timeout: Duration::from_secs(es.request_timeout),
        max_retries: es.max_retries,
        retry_interval: Duration::from_secs_f64(es.retry_interval),
        retry_on_timeout: es.retry_on_timeout,
        headers: es.headers.clone(),
        bulk: BulkOptions {
            chunk_size: bulk.chunk_size,
            chunk_max_mem_size: (bulk.chunk_max_mem_size * 1024.0 * 1024.0) as usize,
            max_concurrency: bulk.max_concurrency,
            display_every: bulk.display_every,
            queue_size: bulk.queue_max_size,
            queue_max_mem_size: usize::try_from(bulk.queue_max_mem_size.saturating_mul(1024 * 1024))
                .unwrap_or(usize::MAX),
            pipeline: pipeline.map(|p| p.name.trim().to_string()).filter(|n| !n.is_empty()),
            item_retries: bulk.max_retries,
            item_retry_interval: Duration::from_secs_f64(bulk.retry_interval),
            log_operations: bulk.enable_operations_logging,
            error_monitor: ErrorMonitorOptions {
                enabled: bulk.error_monitor.enabled,
                max_total_errors: bulk.error_monitor.max_total_errors,
                max_consecutive_errors: bulk.error_monitor.max_consecutive_errors,
                max_error_rate: bulk.error_monitor.max_error_rate,
                error_window_size: bulk.error_monitor.error_window_size,
                error_queue_size: bulk.error_monitor.error_queue_size,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// What the Elasticsearch side assumes when nothing is said ([`ElasticOptions::default`])
    /// is what the schema's defaults give, field for field: one set of defaults.
    #[test]
    fn the_defaults_of_the_options_are_the_schemas() {
        let text =
            "confluence:\n  confluence_url: http://wiki:8090\n  username: u\n  password: p\n  spaces: DEV\n";
        let config = crate::config::load_str(text, &HashMap::new()).unwrap().config;
        let source = config.confluence.as_ref().unwrap();
        let mut from_schema = elastic_options(&config, Some(&source.pipeline));
        // The one difference: the options leave the credentials to the caller.
        from_schema.username = None;
        from_schema.password = None;
        assert_eq!(format!("{from_schema:#?}"), format!("{:#?}", ElasticOptions::default()));
    }
}
