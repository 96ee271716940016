//! The documents already in the index: `_id` → a [`stamp`] of what makes them current, and
//! `space_key`.
//!
//! Read once at the start of a full sync with a point in time and `search_after` (consistent
//! while the sync writes), then consumed: [`ExistingDocs::take`] removes each id the crawl
//! sees, so what [`ExistingDocs::remaining`] yields at the end is what the crawl did not see.
//! Held compactly for a million ids: the id as a boxed string, the stamp and the lineage as
//! 64-bit hashes, the space as an index into a table of keys, whether it was modified at or
//! after a mark as a flag in the padding (≈ 70 bytes per id with the hash table's overhead,
//! against ≈ 200 for a map of `String` → `String`).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::{DateTime, Utc};

use super::client::EsClient;
use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::Method;
use serde_json::{json, Value};

use super::error::ElasticError;
use super::request::{send_json, Answer};

/// Hits per page: small enough that one parsed page stays a few MiB.
const PAGE: usize = 2_000;
const KEEP_ALIVE: &str = "5m";

/// The indexed documents not yet seen by the crawl.
#[derive(Debug, Default)]
pub struct ExistingDocs {
    docs: HashMap<Box<str>, Indexed>,
    /// Documents whose `_timestamp` is at or after this are [`ExistingDocs::recent`].
    mark: Option<DateTime<Utc>>,
    spaces: Vec<Box<str>>,
    space_index: HashMap<Box<str>, u32>,
}

/// What is kept of one indexed document.
#[derive(Debug, Clone, Copy)]
struct Indexed {
    stamp: u64,
    lineage: u64,
    /// Index into the table of space keys, or [`NO_SPACE`].
    space: u32,
    /// Modified at or after the mark (or no mark, or no readable `_timestamp`).
    recent: bool,
}

/// No space recorded on the document.
const NO_SPACE: u32 = u32::MAX;

/// The parts of a document that decide whether the indexed copy is still current.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StampParts<'a> {
    /// `_timestamp` (RFC 3339; compared as an instant).
    pub(crate) timestamp: Option<&'a str>,
    /// `space_key`: changes when a page tree moves to another space.
    pub(crate) space_key: Option<&'a str>,
    /// `space` (the space's name): changes when the space is renamed.
    pub(crate) space: Option<&'a str>,
    /// The container's title (`page`/`blogpost` of attachments and comments).
    pub(crate) container: Option<&'a str>,
}

impl<'a> StampParts<'a> {
    /// The parts of a space document. Its `_timestamp` is the time of the sync that wrote it
    /// (a space has no modification date), so it is left out: an unchanged space is
    /// unchanged, not rewritten (and counted `updated`) by every sync. Its name (`title`)
    /// takes the place of `space`.
    pub(crate) fn space(key: Option<&'a str>, name: Option<&'a str>) -> StampParts<'a> {
        StampParts { timestamp: None, space_key: key, space: name, container: None }
    }
}

/// A hash of what makes an indexed document current: its `_timestamp`, and the fields that
/// change without a new `_timestamp` — its space (a move), the space's name, its ancestors'
/// titles (a parent renamed or moved), its container's title, and who may read it
/// (permissions do not touch `lastmodified`). Equal stamps: nothing to re-index.
pub(crate) fn stamp<'a>(
    parts: StampParts<'_>,
    ancestors: impl Iterator<Item = &'a str>,
    access: impl Iterator<Item = &'a str>,
) -> u64 {
    // Deterministic within a process, which is all a comparison between the index (read at
    // the start of a sync) and the crawl (of the same sync) needs.
    let mut h = DefaultHasher::new();
    let millis =
        parts.timestamp.and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.timestamp_millis());
    millis.hash(&mut h);
    parts.space_key.hash(&mut h);
    parts.space.hash(&mut h);
    parts.container.hash(&mut h);
    for title in ancestors {
        1u8.hash(&mut h);
        title.hash(&mut h);
    }
    for identity in access {
        2u8.hash(&mut h);
        identity.hash(&mut h);
    }
    h.finish()
}

/// A hash of a page's place in its tree: its title and its ancestors' titles. When it
/// changes (a page renamed or moved), the `ancestors` of every page below it change too.
pub(crate) fn lineage<'a>(title: Option<&str>, ancestors: impl Iterator<Item = &'a str>) -> u64 {
    let mut h = DefaultHasher::new();
    title.hash(&mut h);
    for a in ancestors {
        a.hash(&mut h);
    }
    h.finish()
}

/// The lineage of an indexed `_source`.
fn source_lineage(source: &Value) -> u64 {
    let ancestors = source["ancestors"].as_array().into_iter().flatten().filter_map(|a| a["title"].as_str());
    lineage(source["title"].as_str(), ancestors)
}

/// The stamp of an indexed `_source`.
fn source_stamp(source: &Value) -> u64 {
    let text = |field: &str| source[field].as_str();
    let parts = if text("type") == Some("Space") {
        StampParts::space(text("space_key"), text("title"))
    } else {
        StampParts {
            timestamp: text("_timestamp"),
            space_key: text("space_key"),
            space: text("space"),
            container: text("page").or_else(|| text("blogpost")),
        }
    };
    let ancestors = source["ancestors"].as_array().into_iter().flatten().filter_map(|a| a["title"].as_str());
    let access = source["_allow_access_control"].as_array().into_iter().flatten().filter_map(Value::as_str);
    stamp(parts, ancestors, access)
}

impl ExistingDocs {
    /// None yet; those inserted are [`ExistingDocs::recent`] when modified at or after `mark`
    /// (all of them without a mark).
    pub(crate) fn with_mark(mark: Option<DateTime<Utc>>) -> ExistingDocs {
        ExistingDocs { mark, ..ExistingDocs::default() }
    }

    /// Records one indexed document; `timestamp` is its `_timestamp` (RFC 3339).
    pub(crate) fn insert(
        &mut self,
        id: &str,
        stamp: u64,
        lineage: u64,
        space_key: Option<&str>,
        timestamp: Option<&str>,
    ) {
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
        // Unreadable or absent: recent, the safe answer to "may it have changed since?". Parsed
        // only against a mark: most syncs have none.
        let recent = self.mark.is_none_or(|mark| {
            timestamp
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .is_none_or(|modified| modified >= mark)
        });
        self.docs.insert(id.into(), Indexed { stamp, lineage, space, recent });
    }

    /// Removes `id` (the crawl saw it); its [`stamp`] and [`lineage`], if it was indexed.
    pub(crate) fn take(&mut self, id: &str) -> Option<(u64, u64)> {
        self.docs.remove(id).map(|d| (d.stamp, d.lineage))
    }

    /// Whether `id` is (still) held, and the space it was indexed under.
    pub(crate) fn space_of(&self, id: &str) -> Option<Option<&str>> {
        self.docs.get(id).map(|d| self.spaces.get(d.space as usize).map(AsRef::as_ref))
    }

    /// The [`stamp`] `id` was indexed with, while it is held.
    pub(crate) fn stamp_of(&self, id: &str) -> Option<u64> {
        self.docs.get(id).map(|d| d.stamp)
    }

    /// The [`lineage`] `id` was indexed with, while it is held.
    pub(crate) fn lineage_of(&self, id: &str) -> Option<u64> {
        self.docs.get(id).map(|d| d.lineage)
    }

    /// Whether the indexed copy of `id` was modified at or after the mark (yes without a
    /// mark, or when its `_timestamp` is unreadable); `None` when `id` is not held.
    pub(crate) fn recent(&self, id: &str) -> Option<bool> {
        self.docs.get(id).map(|d| d.recent)
    }

    /// Documents not taken: `(id, space_key)`.
    pub(crate) fn remaining(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.docs.iter().map(|(id, d)| (id.as_ref(), self.spaces.get(d.space as usize).map(AsRef::as_ref)))
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

/// Reads every document of `index` (none when the index does not exist), each noted
/// [`ExistingDocs::recent`] or not against `mark`.
pub async fn load_existing(
    es: &EsClient,
    index: &str,
    mark: Option<DateTime<Utc>>,
) -> Result<ExistingDocs, ElasticError> {
    let mut existing = ExistingDocs::with_mark(mark);
    let fields = [
        "_timestamp",
        "type",
        "title",
        "space_key",
        "space",
        "ancestors",
        "page",
        "blogpost",
        "_allow_access_control",
    ];
    scan(es, index, &fields, |id, source| {
        let (space_key, timestamp) = (source["space_key"].as_str(), source["_timestamp"].as_str());
        existing.insert(id, source_stamp(source), source_lineage(source), space_key, timestamp);
    })
    .await?;
    Ok(existing)
}

/// Calls `on_hit(_id, _source)` for every document of `index`, its source cut down to
/// `fields`, read with a point in time and `search_after` (consistent while others write);
/// false when the index does not exist.
pub(crate) async fn scan(
    es: &EsClient,
    index: &str,
    fields: &[&str],
    mut on_hit: impl FnMut(&str, &Value),
) -> Result<bool, ElasticError> {
    // Search is near-real-time: without a refresh, documents written in the last second (by
    // a sync that just ended) are invisible, and would be re-created instead of skipped, or
    // never deleted.
    if let Answer::NotFound =
        send_json(es, Method::Post, &format!("/{index}/_refresh"), None, HeaderMap::new()).await?
    {
        return Ok(false);
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
        Answer::NotFound => return Ok(false),
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
            "_source": fields,
            "track_total_hits": false,
        });
        if let Some(after) = &search_after {
            body["search_after"] = after.clone();
        }
        let mut page = match send_json(es, Method::Post, "/_search", Some(&body), HeaderMap::new()).await {
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
        let hits = match page["hits"]["hits"].take() {
            Value::Array(hits) => hits,
            _ => Vec::new(),
        };
        for hit in &hits {
            let Some(id) = hit["_id"].as_str() else { continue };
            on_hit(id, &hit["_source"]);
        }
        match hits.last() {
            Some(last) if hits.len() == PAGE => search_after = Some(last["sort"].clone()),
            _ => break Ok(()),
        }
    };
    // Closing is a courtesy: the point in time expires by itself.
    let _ = send_json(es, Method::Delete, "/_pit", Some(&json!({"id": pit})), HeaderMap::new()).await;
    result.map(|()| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_removes_and_remaining_lists_the_unseen_with_their_space() {
        let mut e = ExistingDocs::default();
        e.insert("1", 10, 1, Some("DEV"), None);
        e.insert("2", 20, 2, Some("OPS"), None);
        e.insert("3", 30, 3, None, None);
        assert_eq!(e.take("1"), Some((10, 1)));
        assert_eq!(e.take("1"), None);
        assert_eq!(e.take("2"), Some((20, 2)));
        let mut left: Vec<_> = e.remaining().collect();
        left.sort();
        assert_eq!(left, [("3", None)]);
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn recent_is_at_or_after_the_mark_to_the_millisecond_and_yes_when_unknown() {
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        let mut e = ExistingDocs::with_mark(Some(at("2026-01-02T03:04:05.900Z")));
        e.insert("before", 1, 1, None, Some("2026-01-02T03:04:05.899Z"));
        e.insert("at", 1, 1, None, Some("2026-01-02T04:04:05.900+01:00"));
        e.insert("after", 1, 1, None, Some("2026-01-02T03:04:06Z"));
        e.insert("odd", 1, 1, None, Some("yesterday"));
        e.insert("none", 1, 1, None, None);
        let recent: Vec<_> = ["before", "at", "after", "odd", "none", "absent"].map(|id| e.recent(id)).into();
        assert_eq!(recent, [Some(false), Some(true), Some(true), Some(true), Some(true), None]);
        // Without a mark, everything is recent.
        let mut unmarked = ExistingDocs::default();
        unmarked.insert("before", 1, 1, None, Some("2000-01-01T00:00:00Z"));
        assert_eq!(unmarked.recent("before"), Some(true));
        assert_eq!(std::mem::size_of::<Indexed>(), 24, "the flag lives in the padding");
    }

    #[test]
    fn a_stamp_changes_with_what_changes_without_a_new_timestamp() {
        let source = json!({
            "_timestamp": "2026-01-02T03:04:05.000Z", "space_key": "DEV", "space": "Development",
            "ancestors": [{"title": "Home"}, {"title": "Guides"}], "_allow_access_control": ["group:dev"]
        });
        let base = source_stamp(&source);
        // The same instant written differently is the same stamp.
        let mut same = source.clone();
        same["_timestamp"] = json!("2026-01-02T03:04:05Z");
        assert_eq!(source_stamp(&same), base);
        for (field, value) in [
            ("space_key", json!("OPS")),
            ("space", json!("Dev")),
            ("ancestors", json!([{"title": "Home"}, {"title": "Renamed"}])),
            ("_allow_access_control", json!(["group:dev", "user:ann"])),
            ("page", json!("Parent")),
        ] {
            let mut changed = source.clone();
            changed[field] = value;
            assert_ne!(source_stamp(&changed), base, "{field}");
        }
    }
}
