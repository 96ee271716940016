//! `check` in managed mode: each connector listed in `config.yml` looked up in
//! Elasticsearch, and its configuration (as Kibana saved it) checked and tried against
//! Confluence — what the service would find on its first poll, said before it runs.

use std::sync::Arc;

use crate::config::Config;
use crate::elastic;
use crate::sync::elastic_options;

use super::configuration::{problems_line, source_settings, ConnectorSettings};
use super::connector::SERVICE_TYPE;
use super::{reload_connector, scheduling};

/// One line per listed connector: `Ok` with what was found, or `Err` with what is wrong.
pub(crate) async fn check_connectors(config: &Arc<Config>) -> Vec<Result<String, String>> {
    let es = match elastic::client::connect(&elastic_options(config, None)) {
        Ok(es) => es,
        Err(e) => return vec![Err(format!("connectors: {e}"))],
    };
    let mut lines = Vec::new();
    for entry in config.managed_connectors() {
        let id = &entry.connector_id;
        let connector = match reload_connector(&es, id).await {
            Ok(Some(connector)) => connector,
            Ok(None) => {
                lines.push(Err(format!(
                    "connector {id}: not found in Elasticsearch (.elastic-connectors): create it in Kibana or \
                     with PUT _connector/{id}, or fix connector_id"
                )));
                continue;
            }
            Err(e) => {
                lines.push(Err(format!("connector {id}: {e}")));
                continue;
            }
        };
        if let Some(other) = connector.service_type().filter(|t| *t != SERVICE_TYPE) {
            lines.push(Err(format!(
                "connector {id}: service_type {other:?}; this service runs {SERVICE_TYPE:?}"
            )));
            continue;
        }
        let Some(index_name) = connector.index_name() else {
            lines.push(Err(format!("connector {id}: no index_name")));
            continue;
        };
        let Some(settings) = ConnectorSettings::of_connector(&connector) else {
            lines.push(Ok(format!(
                "connector {id}: found (index {index_name}); not configured yet: `run` fills in the form for Kibana"
            )));
            continue;
        };
        match source_settings(&settings, config.extraction_service.as_ref()) {
            Err(problems) => lines.push(Err(format!("connector {id}: {}", problems_line(&problems)))),
            Ok(source) => match scheduling::reach(&source).await {
                Ok(_) => lines.push(Ok(format!(
                    "connector {id}: index {index_name}, status {}, Confluence {} answers",
                    connector.status(),
                    source.confluence_url.as_deref().unwrap_or("")
                ))),
                Err(e) => lines.push(Err(format!("connector {id}: {e}"))),
            },
        }
    }
    lines
}
