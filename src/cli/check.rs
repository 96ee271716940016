//! `check`: validate the config, reach Confluence and Elasticsearch, print what was found,
//! and refuse space keys Confluence does not show (a typo would make a full sync delete
//! everything it did not find).
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

/// `GET /` with the client a sync uses (credentials, TLS, headers); the cluster's version.
async fn elasticsearch_version(config: &Config) -> Result<String, String> {
    let options = elastic_options(config, None);
    let es = elastic::client::connect(&options).map_err(|e| e.to_string())?;
    elastic::cluster::cluster_version(&es, &config.elasticsearch.host).await
}
