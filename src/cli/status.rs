//! `status`: what the syncs of the configured index did, read from the sync state kept in
//! Elasticsearch ([`crate::elastic::state`]): the last sync of each kind (when, how long,
//! outcome, counts, failures), the incremental cursor, and the recent syncs — as text for
//! people or JSON for scripts.

use serde_json::json;

use crate::config::Config;
use crate::elastic;
use crate::elastic::state::{SyncRecord, SyncState};
use crate::sync::elastic_options;

use super::CliError;

/// The kinds `status` reports on, as the history names them.
const KINDS: [&str; 3] = ["full", "incremental", "access_control"];

/// Prints the status of the standalone index, as JSON when `json`.
pub async fn status(config: &Config, json: bool) -> Result<(), CliError> {
    let Some(source) = config.standalone() else {
        // Managed mode: the connector and sync-job documents, as Kibana shows them.
        let status = crate::managed::connectors_status(config)
            .await
            .map_err(|e| CliError::Sync(format!("elasticsearch: {e}")))?;
        match json {
            true => println!("{status:#}"),
            false => print!("{}", crate::managed::status_text(&status)),
        }
        return Ok(());
    };
    let index = source.index_name.as_str();
    let es = elastic::client::connect(&elastic_options(config, None))
        .map_err(|e| CliError::Sync(format!("elasticsearch: {e}")))?
        .without_retries();
    let state = elastic::state::read_state(&es, index)
        .await
        .map_err(|e| CliError::Sync(format!("elasticsearch: reading the sync state of {index}: {e}")))?;
    if json {
        println!("{}", as_json(index, &state));
    } else {
        print!("{}", as_text(index, &state));
    }
    Ok(())
}

/// The status as one JSON document.
fn as_json(index: &str, state: &SyncState) -> serde_json::Value {
    let last: serde_json::Map<String, serde_json::Value> =
        KINDS.iter().map(|kind| (kind.to_string(), json!(state.last_of(kind)))).collect();
    json!({
        "index": index,
        "cursor": state.cursor,
        "last_started": state.last_started,
        "last_sync_completed": state.previous_completed(),
        "last": last,
        "history": state.history,
    })
}

/// The status as lines for a person.
fn as_text(index: &str, state: &SyncState) -> String {
    let mut text = format!("index: {index}\n");
    match state.cursor {
        Some(cursor) => text.push_str(&format!(
            "cursor: {} (the next incremental sync fetches what changed since, less the overlap)\n",
            cursor.to_rfc3339()
        )),
        None => text.push_str("cursor: none (the next incremental sync runs as a full sync)\n"),
    }
    for kind in KINDS {
        let name = kind.replace('_', "-");
        match state.last_of(kind) {
            Some(record) => text.push_str(&format!("last {name} sync: {}\n", line(record))),
            None => text.push_str(&format!("last {name} sync: none recorded\n")),
        }
    }
    if !state.history.is_empty() {
        text.push_str("recent syncs, newest first:\n");
        for record in state.history.iter().rev() {
            text.push_str(&format!("  {} {}\n", record.kind, line(record)));
            for failure in &record.failures {
                text.push_str(&format!("    - {failure}\n"));
            }
        }
    }
    text
}

/// `2026-01-05T10:00:00+00:00, 12.3 s, completed: 10 seen, 2 created, …`
fn line(record: &SyncRecord) -> String {
    let counts: Vec<String> = ["seen", "created", "updated", "unchanged", "filtered", "deleted", "failed"]
        .iter()
        .filter_map(|k| record.documents.get(*k).map(|n| format!("{n} {k}")))
        .collect();
    let mut line = format!(
        "{}, {:.1} s, {}",
        record.started_at.to_rfc3339(),
        record.duration_ms as f64 / 1000.0,
        record.outcome.replace('_', " ")
    );
    if !counts.is_empty() {
        line.push_str(&format!(": {}", counts.join(", ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_show_the_last_sync_of_each_kind() {
        let at =
            chrono::DateTime::parse_from_rfc3339("2026-01-05T10:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let mut state = SyncState { cursor: Some(at), last_started: Some(at), ..SyncState::default() };
        state.remember(SyncRecord {
            kind: "full".into(),
            started_at: at,
            duration_ms: 12_300,
            outcome: "completed_with_failures".into(),
            documents: [("seen".to_string(), 10), ("failed".to_string(), 1)].into_iter().collect(),
            failures: vec!["42 (page): mapper_parsing_exception".into()],
        });
        let text = as_text("search-wiki", &state);
        assert!(
            text.contains("last full sync: 2026-01-05T10:00:00+00:00, 12.3 s, completed with failures: 10 seen, 1 failed"),
            "{text}"
        );
        assert!(text.contains("last incremental sync: none recorded"), "{text}");
        assert!(text.contains("    - 42 (page): mapper_parsing_exception"), "{text}");
        let json = as_json("search-wiki", &state);
        assert_eq!(json["last"]["full"]["documents"]["seen"], 10);
        assert!(json["last"]["incremental"].is_null());
        assert_eq!(json["last_sync_completed"], true);
        assert_eq!(json["history"].as_array().map(Vec::len), Some(1));
    }
}
