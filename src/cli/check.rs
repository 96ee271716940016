//! `check`: validate the config, reach Confluence and Elasticsearch, print what was found,
//! and refuse what a sync would then fail on: space keys Confluence does not show (a typo
//! would make a full sync delete everything it did not find), a content index mapped
//! otherwise than the connector maps it, and a missing ingest pipeline.
//!
//! Every problem is one line naming the end that failed; the command fails if either end
//! does, after trying both (a user fixes both in one round).

use crate::config::Config;
use crate::confluence::ConfluenceClient;
use crate::elastic;
use crate::sync::client_options;
use crate::sync::elastic_options;

use super::CliError;

/// Runs the checks; prints a summary unless `quiet`.
pub async fn check(config: &Config, quiet: bool) -> Result<(), CliError> {
    let mut problems = Vec::new();
    let say = |line: String| {
        if !quiet {
            println!("{line}");
        }
    };
    say("config: ok".to_string());

    match elasticsearch_version(config).await {
        Ok(version) => {
            match elastic::cluster::check_version(&version, elastic::cluster::mismatch_allowed()) {
                Ok(()) => say(format!("elasticsearch: {} (version {version})", config.elasticsearch.host)),
                Err(e) => problems.push(format!("elasticsearch: {e}")),
            }
            if let Some(source) = config.standalone() {
                if let Some(problem) = mappings_problem(config, source).await {
                    problems.push(format!("elasticsearch: {problem}"));
                }
                match pipeline_problem(config, source).await {
                    Some(problem) => problems.push(format!("elasticsearch: {problem}")),
                    None if !source.pipeline.name.trim().is_empty() => {
                        say(format!(
                            "elasticsearch: ingest pipeline [{}] present",
                            source.pipeline.name.trim()
                        ));
                    }
                    None => {}
                }
            }
        }
        Err(e) => problems.push(format!("elasticsearch: {e}")),
    }

    match config.standalone() {
        Some(source) => {
            let options = client_options(source);
            let url = options.base_url.clone();
            let client = ConfluenceClient::new(options).await;
            match client {
                Ok(client) => match client.server_info().await {
                    Ok(info) => {
                        say(format!(
                            "confluence: {url} ({}, version {}, {} spaces visible)",
                            info.flavour,
                            info.version.as_deref().unwrap_or("not reported"),
                            info.visible_spaces
                        ));
                        // Advanced rules replace `spaces` (as in Elastic's connector): then
                        // the keys select nothing and are not checked.
                        if source.sync_rules.advanced.is_empty() {
                            if let Err(e) = client.check_configured_spaces(&source.spaces).await {
                                problems.push(format!("confluence: {e}"));
                            }
                        }
                    }
                    Err(e) => problems.push(format!("confluence: {e}")),
                },
                Err(e) => problems.push(format!("confluence: {e}")),
            }
        }
        None => {
            say(format!(
                "confluence: managed mode ({} connector(s) listed); the source settings live in Kibana",
                config.managed_connectors().len()
            ));
            let config = std::sync::Arc::new(config.clone());
            for line in crate::managed::check_connectors(&config).await {
                match line {
                    Ok(found) => say(found),
                    Err(problem) => problems.push(problem),
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Check(problems))
    }
}

/// Why the existing content index cannot take the sync's documents (fields mapped otherwise
/// than the connector maps them), as the sync itself would refuse it. An index that does
/// not exist yet, or one used as it is (`use_existing_index`), passes.
async fn mappings_problem(config: &Config, source: &crate::config::ConfluenceConfig) -> Option<String> {
    if source.use_existing_index {
        return None;
    }
    let es = match elastic::client::connect(&elastic_options(config, None)) {
        Ok(es) => es.without_retries(),
        Err(e) => return Some(e.to_string()),
    };
    elastic::index::check_mappings(&es, source.index_name.trim()).await.err().map(|e| e.to_string())
}

/// Why the ingest pipeline the sync names cannot be used, if it cannot (missing, or
/// unreadable).
async fn pipeline_problem(config: &Config, source: &crate::config::ConfluenceConfig) -> Option<String> {
    let name = source.pipeline.name.trim();
    if name.is_empty() {
        return None;
    }
    let es = match elastic::client::connect(&elastic_options(config, Some(&source.pipeline))) {
        Ok(es) => es,
        Err(e) => return Some(e.to_string()),
    };
    match elastic::cluster::pipeline_exists(&es, name).await {
        Ok(true) => None,
        Ok(false) => Some(format!(
            "ingest pipeline [{name}] does not exist, so a sync would fail on its first write \
             (confluence.pipeline.name): create it (Kibana's connector templates install \
             search-default-ingestion), or set confluence.pipeline.name to '' for none"
        )),
        Err(e) => Some(format!("cannot read ingest pipeline [{name}]: {e}")),
    }
}

/// `GET /` with the client a sync uses (credentials, TLS, headers); the cluster's version.
async fn elasticsearch_version(config: &Config) -> Result<String, String> {
    let options = elastic_options(config, None);
    let es = elastic::client::connect(&options).map_err(|e| e.to_string())?;
    elastic::cluster::cluster_version(&es, &config.elasticsearch.host).await
}
