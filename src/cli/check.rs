//! `check`: validate the config, reach Confluence and Elasticsearch, print what was found.
//!
//! Every problem is one line naming the end that failed; the command fails if either end
//! does, after trying both (a user fixes both in one round).

use std::time::Duration;

use crate::config::Config;
use crate::confluence::ConfluenceClient;
use crate::sync::source::client_options;

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
        Ok(version) => say(format!("elasticsearch: {} (version {version})", config.elasticsearch.host)),
        Err(e) => problems.push(format!("elasticsearch: {e}")),
    }

    match config.standalone() {
        Some(source) => {
            let options = client_options(source);
            let url = options.base_url.clone();
            let client = ConfluenceClient::new(options).await;
            match client {
                Ok(client) => match client.server_info().await {
                    Ok(info) => say(format!(
                        "confluence: {url} ({}, version {}, {} spaces visible)",
                        info.flavour,
                        info.version.as_deref().unwrap_or("not reported"),
                        info.visible_spaces
                    )),
                    Err(e) => problems.push(format!("confluence: {e}")),
                },
                Err(e) => problems.push(format!("confluence: {e}")),
            }
        }
        None => say(format!(
            "confluence: managed mode ({} connector(s) listed); the source settings live in Kibana",
            config.managed_connectors().len()
        )),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Check(problems))
    }
}

/// `GET /` with the configured credentials; the cluster's version number.
async fn elasticsearch_version(config: &Config) -> Result<String, String> {
    let es = &config.elasticsearch;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(es.request_timeout.min(30)))
        .danger_accept_invalid_certs(es.ssl && !es.verify_certs)
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = client.get(&es.host);
    request = match &es.api_key {
        Some(key) if !key.is_empty() => request.header("Authorization", format!("ApiKey {}", key.expose())),
        _ => request.basic_auth(&es.username, Some(es.password.expose())),
    };
    for (name, value) in &es.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| {
        // reqwest's error text names the URL; it never holds credentials (they are headers).
        format!("cannot reach {}: {}", es.host, error_chain(&e))
    })?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(format!(
            "401 Unauthorized from {}: check elasticsearch.api_key, or username and password",
            es.host
        ));
    }
    if !status.is_success() {
        return Err(format!("{status} from {}", es.host));
    }
    let body: serde_json::Value =
        response.json().await.map_err(|e| format!("{} did not answer like Elasticsearch: {e}", es.host))?;
    body["version"]["number"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{} did not answer like Elasticsearch (no version.number)", es.host))
}

/// The innermost cause of an error: what actually went wrong (refused, timed out, DNS).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut innermost = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        innermost = s.to_string();
        source = s.source();
    }
    innermost
}
