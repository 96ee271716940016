//! The documents already in the index: `_id` → `_timestamp` and `space_key`.
//!
//! Read once at the start of a full sync with a point in time and `search_after` (consistent
//! while the sync writes), then consumed: [`ExistingDocs::take`] removes each id the crawl
//! sees, so what [`ExistingDocs::remaining`] yields at the end is what the crawl did not see.
//! Held compactly for a million ids: the id as a boxed string, the timestamp as
//! milliseconds, the space as an index into a table of keys (≈ 60 bytes per id with the
//! hash table's overhead, against ≈ 200 for a map of `String` → `String`).

use std::collections::HashMap;

use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::Method;
use elasticsearch::Elasticsearch;
use serde_json::{json, Value};

use super::error::ElasticError;
use super::request::{send_json, Answer};

const PAGE: usize = 10_000;
const KEEP_ALIVE: &str = "5m";

/// The indexed documents not yet seen by the crawl.
#[derive(Debug, Default)]
pub struct ExistingDocs {
    docs: HashMap<Box<str>, (Option<i64>, u32)>,
    spaces: Vec<Box<str>>,
    space_index: HashMap<Box<str>, u32>,
}

/// No space recorded on the document.
const NO_SPACE: u32 = u32::MAX;

impl ExistingDocs {
    /// Records one indexed document.
    pub fn insert(&mut self, id: &str, timestamp_millis: Option<i64>, space_key: Option<&str>) {
        let space = match space_key {
            None => NO_SPACE,
            Some(key) => match self.space_index.get(key) {
                Some(i) => *i,
                None => {
                    let i = self.spaces.len() as u32;
                    self.spaces.push(key.into());
                    self.space_index.insert(key.into(), i);
                    i
                }
            },
        };
        self.docs.insert(id.into(), (timestamp_millis, space));
    }

    /// Removes `id` (the crawl saw it); its `_timestamp` in milliseconds, if it was indexed.
    pub fn take(&mut self, id: &str) -> Option<i64> {
        self.docs.remove(id).and_then(|(ts, _)| ts.or(Some(i64::MIN)))
    }

    /// Documents not taken: `(id, space_key)`.
    pub fn remaining(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.docs
            .iter()
            .map(|(id, (_, space))| (id.as_ref(), self.spaces.get(*space as usize).map(AsRef::as_ref)))
    }

    /// How many are left.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// True when none are left.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
}

/// Reads every document of `index` (none when the index does not exist).
pub async fn load_existing(es: &Elasticsearch, index: &str) -> Result<ExistingDocs, ElasticError> {
    let mut existing = ExistingDocs::default();
    // Search is near-real-time: without a refresh, documents written in the last second (by
    // a sync that just ended) are invisible, and would be re-created instead of skipped, or
    // never deleted.
    if let Answer::NotFound =
        send_json(es, Method::Post, &format!("/{index}/_refresh"), None, HeaderMap::new()).await?
    {
        return Ok(existing);
    }
    let open = send_json(
        es,
        Method::Post,
        &format!("/{index}/_pit?keep_alive={KEEP_ALIVE}"),
        None,
        HeaderMap::new(),
    )
    .await?;
    let mut pit = match open {
        Answer::NotFound => return Ok(existing),
        Answer::Ok(body) => {
            body["id"].as_str().map(str::to_string).ok_or_else(|| ElasticError::Response {
                method: "POST".into(),
                url: format!("/{index}/_pit"),
                reason: "no point-in-time id in the answer".into(),
            })?
        }
    };
    let mut search_after: Option<Value> = None;
    let result = loop {
        let mut body = json!({
            "size": PAGE,
            "pit": {"id": pit, "keep_alive": KEEP_ALIVE},
            "sort": [{"_shard_doc": "asc"}],
            "_source": ["_timestamp", "space_key"],
            "track_total_hits": false,
        });
        if let Some(after) = &search_after {
            body["search_after"] = after.clone();
        }
        let page = match send_json(es, Method::Post, "/_search", Some(&body), HeaderMap::new()).await {
            Ok(Answer::Ok(page)) => page,
            Ok(Answer::NotFound) => {
                break Err(ElasticError::Response {
                    method: "POST".into(),
                    url: "/_search".into(),
                    reason: format!("the point in time over [{index}] expired or vanished"),
                })
            }
            Err(e) => break Err(e),
        };
        if let Some(id) = page["pit_id"].as_str() {
            pit = id.to_string();
        }
        let hits = page["hits"]["hits"].as_array().cloned().unwrap_or_default();
        for hit in &hits {
            let Some(id) = hit["_id"].as_str() else { continue };
            let source = &hit["_source"];
            let ts = source["_timestamp"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis());
            existing.insert(id, ts, source["space_key"].as_str());
        }
        match hits.last() {
            Some(last) if hits.len() == PAGE => search_after = Some(last["sort"].clone()),
            _ => break Ok(()),
        }
    };
    // Closing is a courtesy: the point in time expires by itself.
    let _ = send_json(es, Method::Delete, "/_pit", Some(&json!({"id": pit})), HeaderMap::new()).await;
    result.map(|()| existing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_removes_and_remaining_lists_the_unseen_with_their_space() {
        let mut e = ExistingDocs::default();
        e.insert("1", Some(10), Some("DEV"));
        e.insert("2", None, Some("OPS"));
        e.insert("3", Some(30), None);
        assert_eq!(e.take("1"), Some(10));
        assert_eq!(e.take("1"), None);
        assert_eq!(e.take("2"), Some(i64::MIN), "indexed without a timestamp: present, never equal");
        let mut left: Vec<_> = e.remaining().collect();
        left.sort();
        assert_eq!(left, [("3", None)]);
        assert_eq!(e.len(), 1);
    }
}
