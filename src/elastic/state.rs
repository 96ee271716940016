//! The sync state of a content index: when the last full and incremental syncs that
//! completed started, the incremental cursor, and when the last sync started at all.
//!
//! It lives in the index's mapping `_meta` (under `confluence_connector`), not in a local
//! file: a container restarted anywhere resumes from it, and deleting the index deletes the
//! cursor with it — an incremental sync into an emptied index must not trust an old cursor.
//! Other keys of `_meta` (a user's own, with `use_existing_index`) are kept.

use super::client::EsClient;
use chrono::{DateTime, Utc};
use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::ElasticError;
use super::request::{send_json, Answer};

/// The key under `_meta`.
const KEY: &str = "confluence_connector";

/// Setting name → value of the settings that shaped the documents of the last completed
/// sync (built by the sync layer; a map, so that a change can be named).
pub(crate) type DocumentShape = std::collections::BTreeMap<String, String>;

/// What the index remembers of its syncs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// Start of the last sync (full or incremental) that completed: content modified since
    /// then (less an overlap) is what the next incremental sync fetches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<DateTime<Utc>>,
    /// Start of the last full sync that completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_full_sync: Option<DateTime<Utc>>,
    /// Start of the last incremental sync that completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_incremental_sync: Option<DateTime<Utc>>,
    /// Start of the last sync (full or incremental) that started, recorded before it writes
    /// anything: when it is not the `cursor`, that sync did not complete (killed, failed, or
    /// written by an older version that did not record it) and may have left any part of
    /// its work undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_started: Option<DateTime<Utc>>,
    /// Server/DC: the latest page modification Confluence's search showed when the last
    /// sync that started began ([`crate::confluence::ConfluenceClient::latest_page_modification`]):
    /// pages modified at or after it may have changed while that sync ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) latest_modification_at_start: Option<DateTime<Utc>>,
    /// The settings that shaped the documents of the last sync that completed
    /// (`sync::shape`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) document_shape: Option<DocumentShape>,
    /// The last syncs of every kind, oldest first, at most [`HISTORY_LEN`]: what `status`
    /// shows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) history: Vec<SyncRecord>,
}

/// How many syncs [`SyncState::history`] keeps.
pub(crate) const HISTORY_LEN: usize = 20;

/// One sync as `status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SyncRecord {
    /// `full`, `incremental` or `access_control`.
    pub(crate) kind: String,
    /// When it started.
    pub(crate) started_at: DateTime<Utc>,
    /// Wall time, in milliseconds.
    pub(crate) duration_ms: u64,
    /// `completed`, `completed_with_failures`, `incomplete` or `failed`.
    pub(crate) outcome: String,
    /// Documents by result: `seen`, `created`, `updated`, `unchanged`, `filtered`,
    /// `deleted`, `failed`.
    #[serde(default)]
    pub(crate) documents: std::collections::BTreeMap<String, u64>,
    /// The first failures (documents that failed, or why the sync did not complete or run),
    /// at most [`FAILURES_KEPT`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) failures: Vec<String>,
}

/// How many failures a [`SyncRecord`] keeps.
pub(crate) const FAILURES_KEPT: usize = 5;

impl SyncState {
    /// Adds `record`, dropping the oldest beyond [`HISTORY_LEN`].
    pub(crate) fn remember(&mut self, record: SyncRecord) {
        self.history.push(record);
        let excess = self.history.len().saturating_sub(HISTORY_LEN);
        self.history.drain(..excess);
    }

    /// The most recent sync of `kind`.
    pub(crate) fn last_of(&self, kind: &str) -> Option<&SyncRecord> {
        self.history.iter().rev().find(|r| r.kind == kind)
    }
}

/// Adds `record` to the history saved in `index` (a read, then a write of the state).
pub(crate) async fn append_history(
    es: &EsClient,
    index: &str,
    record: SyncRecord,
) -> Result<(), ElasticError> {
    let mut state = read_state(es, index).await?;
    state.remember(record);
    write_state(es, index, &state).await
}

impl SyncState {
    /// Whether the last sync that started also completed (its start is the cursor).
    pub(crate) fn previous_completed(&self) -> bool {
        self.last_started.is_some() && self.last_started == self.cursor
    }
}

/// The index's `_meta` (an empty object when it has none or the index does not exist).
async fn meta(es: &EsClient, index: &str) -> Result<Value, ElasticError> {
    let answer = send_json(es, Method::Get, &format!("/{index}/_mapping"), None, HeaderMap::new()).await?;
    let Answer::Ok(body) = answer else { return Ok(json!({})) };
    // The answer is keyed by the concrete index name (an alias resolves to it).
    let meta = body
        .as_object()
        .and_then(|indices| indices.values().next())
        .and_then(|i| i["mappings"].get("_meta"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    Ok(if meta.is_object() { meta } else { json!({}) })
}

/// Reads the state; the default (no cursor) when none was saved. A state that cannot be
/// read as ours is ignored with a warning: the next sync then runs as a full sync.
pub async fn read_state(es: &EsClient, index: &str) -> Result<SyncState, ElasticError> {
    let meta = meta(es, index).await?;
    match meta.get(KEY) {
        None => Ok(SyncState::default()),
        Some(value) => match serde_json::from_value(value.clone()) {
            Ok(state) => Ok(state),
            Err(e) => {
                tracing::warn!(index, "the saved sync state is unreadable ({e}); starting afresh");
                Ok(SyncState::default())
            }
        },
    }
}

/// Saves the state, keeping the rest of `_meta`.
pub(crate) async fn write_state(es: &EsClient, index: &str, state: &SyncState) -> Result<(), ElasticError> {
    let mut meta = meta(es, index).await?;
    let value = serde_json::to_value(state).map_err(|e| ElasticError::Response {
        method: "PUT".into(),
        url: format!("/{index}/_mapping"),
        reason: e.to_string(),
    })?;
    if let Some(object) = meta.as_object_mut() {
        object.insert(KEY.to_string(), value);
    }
    let body = json!({ "_meta": meta });
    send_json(es, Method::Put, &format!("/{index}/_mapping"), Some(&body), HeaderMap::new()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_is_bounded_and_answers_the_last_sync_of_a_kind() {
        let at = DateTime::parse_from_rfc3339("2026-11-23T01:00:00Z").unwrap().with_timezone(&Utc);
        let mut state = SyncState::default();
        for i in 0..(HISTORY_LEN + 5) {
            let kind = if i % 2 == 0 { "full" } else { "incremental" };
            state.remember(SyncRecord {
                kind: kind.into(),
                started_at: at + chrono::Duration::minutes(i as i64),
                ..SyncRecord::default()
            });
        }
        assert_eq!(state.history.len(), HISTORY_LEN);
        assert_eq!(state.history[0].started_at, at + chrono::Duration::minutes(5));
        assert_eq!(state.last_of("full").map(|r| r.started_at), Some(at + chrono::Duration::minutes(24)));
        assert_eq!(state.last_of("access_control"), None);
        let back: SyncState = serde_json::from_value(serde_json::to_value(&state).unwrap()).unwrap();
        assert_eq!(back, state);
    }

    #[test]
    fn the_state_round_trips_and_omits_what_is_unknown() {
        let empty = serde_json::to_value(SyncState::default()).unwrap();
        assert_eq!(empty, json!({}));
        let at = DateTime::parse_from_rfc3339("2026-11-23T01:00:00Z").unwrap().with_timezone(&Utc);
        let shape = DocumentShape::from([("index_labels".to_string(), "true".to_string())]);
        let state = SyncState {
            cursor: Some(at),
            last_full_sync: Some(at),
            last_incremental_sync: None,
            last_started: Some(at),
            latest_modification_at_start: Some(at),
            document_shape: Some(shape),
            history: Vec::new(),
        };
        let back: SyncState = serde_json::from_value(serde_json::to_value(&state).unwrap()).unwrap();
        assert_eq!(back, state);
        assert!(back.previous_completed());
        let later = at + chrono::Duration::milliseconds(1);
        assert!(!SyncState { last_started: Some(later), ..state.clone() }.previous_completed());
        // Written by a version that did not record starts: not known to have completed.
        assert!(!SyncState { last_started: None, ..state }.previous_completed());
    }
}
