//! `check`: validate the config, reach Confluence and Elasticsearch, print what was found,
//! and refuse what a sync would then fail on: space keys Confluence does not show (a typo
//! would make a full sync delete everything it did not find), a content index mapped
//! otherwise than the connector maps it, a missing ingest pipeline, and credentials that
//! lack a privilege the sync needs on its indices (`_has_privileges`; with security off,
//! it says so and passes).
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
                match privileges_problems(config, source).await {
                    Ok(found) => say(format!("elasticsearch: {found}")),
                    Err(lines) => problems.extend(lines.into_iter().map(|l| format!("elasticsearch: {l}"))),
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

/// Whether the credentials hold the index privileges a sync needs: what was found, or one
/// line per index lacking some.
async fn privileges_problems(
    config: &Config,
    source: &crate::config::ConfluenceConfig,
) -> Result<String, Vec<String>> {
    use elastic::privileges::{check, describe, needed, Rights, SyncIndices};
    let es = elastic::client::connect(&elastic_options(config, None)).map_err(|e| vec![e.to_string()])?;
    let es = es.without_retries();
    let content = source.index_name.trim().to_string();
    let identity = source.use_document_level_security.then(|| crate::sync::identity_index(&content));
    let indices = SyncIndices {
        lease: (elastic::lease::LEASE_INDEX.to_string(), missing(&es, elastic::lease::LEASE_INDEX).await),
        identity: match identity {
            Some(index) => Some((index.clone(), missing(&es, &index).await)),
            None => None,
        },
        content: (content.clone(), !source.use_existing_index && missing(&es, &content).await),
    };
    match check(&es, &needed(&indices)).await {
        Ok(Rights::SecurityOff) => {
            Ok("security is not enabled on the cluster: any client may write, privileges not checked".into())
        }
        Ok(Rights::Held { username }) => Ok(format!(
            "user [{username}] holds the index privileges a sync needs on [{content}] and its lease"
        )),
        Ok(Rights::Missing { username, missing }) => {
            let who = match config.elasticsearch.api_key {
                Some(_) => format!("the API key (of user [{username}])"),
                None => format!("user [{username}]"),
            };
            Err(describe(&who, &missing))
        }
        Err(e) => Err(vec![format!("cannot check the privileges a sync needs: {e}")]),
    }
}

/// Whether `index` does not exist (`HEAD`); when that cannot be told (no right to look),
/// it is taken to exist, so that only what is sure is asked.
async fn missing(es: &elastic::client::EsClient, index: &str) -> bool {
    use elasticsearch::http::headers::HeaderMap;
    use elasticsearch::http::Method;
    let path = format!("/{}", elastic::request::path_segment(index));
    matches!(
        elastic::request::send_json(es, Method::Head, &path, None, HeaderMap::new()).await,
        Ok(elastic::request::Answer::NotFound)
    )
}

/// `GET /` with the client a sync uses (credentials, TLS, headers); the cluster's version.
async fn elasticsearch_version(config: &Config) -> Result<String, String> {
    let options = elastic_options(config, None);
    let es = elastic::client::connect(&options).map_err(|e| e.to_string())?;
    elastic::cluster::cluster_version(&es, &config.elasticsearch.host).await
}
