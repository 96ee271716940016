//! Documents of one index, with Elasticsearch's bookkeeping: `_seq_no` (per index),
//! `_primary_term`, `_version`, and near-real-time visibility. Writes are visible to
//! `GET _doc` at once (real-time get) but to searches only after a refresh, as in Lucene.
//! Documents keep their insertion order (what `_doc`/`_shard_doc` sort on); rewriting a
//! document moves it to the end, like a Lucene update (delete + add).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::mapping::Mapping;

/// One version of a stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDoc {
    /// `_id`.
    pub id: String,
    /// `_source`.
    pub source: Arc<Value>,
    /// `_seq_no` of the write that produced this version.
    pub seq_no: u64,
    /// `_primary_term` (always 1: the simulated primary never fails over).
    pub primary_term: u64,
    /// `_version`.
    pub version: u64,
}

#[derive(Debug)]
struct Slot {
    doc: Arc<StoredDoc>,
    /// Current for real-time get and writes.
    live: bool,
    /// Seen by searches (as of the last refresh).
    visible: bool,
}

/// The outcome of a write.
#[derive(Debug, Clone)]
pub struct WriteResult {
    /// The document version written (or, for a missing delete, the tombstone).
    pub doc: Arc<StoredDoc>,
    /// True when the id did not exist before.
    pub created: bool,
}

/// One index: its metadata and documents.
#[derive(Debug)]
pub struct Index {
    /// The index name.
    pub name: String,
    /// `index.uuid`.
    pub uuid: String,
    /// `index.creation_date` (epoch millis).
    pub creation_date: i64,
    /// The mapping, grown by dynamic mapping.
    pub mapping: Mapping,
    /// `settings.index`, values as strings like Elasticsearch prints them.
    pub settings: Map<String, Value>,
    /// Aliases pointing at this index, with their definitions.
    pub aliases: std::collections::BTreeMap<String, Value>,
    slots: Vec<Slot>,
    ids: HashMap<String, usize>,
    tombstones: HashMap<String, u64>,
    pending: Vec<usize>,
    next_seq_no: u64,
    dead: usize,
}

impl Index {
    /// A new empty index.
    pub fn new(name: &str, uuid: String, mapping: Mapping, settings: Map<String, Value>) -> Index {
        Index {
            name: name.to_string(),
            uuid,
            creation_date: chrono::Utc::now().timestamp_millis(),
            mapping,
            settings,
            aliases: Default::default(),
            slots: Vec::new(),
            ids: HashMap::new(),
            tombstones: HashMap::new(),
            pending: Vec::new(),
            next_seq_no: 0,
            dead: 0,
        }
    }

    /// Real-time get of the current version.
    pub fn get(&self, id: &str) -> Option<&Arc<StoredDoc>> {
        self.ids.get(id).map(|&i| &self.slots[i].doc)
    }

    /// The version searches see (as of the last refresh): what a `realtime=false` get reads.
    pub fn get_refreshed(&self, id: &str) -> Option<&Arc<StoredDoc>> {
        self.slots.iter().rev().find(|s| s.visible && s.doc.id == id).map(|s| &s.doc)
    }

    /// `number_of_shards` as configured (1 by default), for `_shards` counts.
    pub fn shards(&self) -> u64 {
        self.settings
            .get("number_of_shards")
            .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_u64()))
            .unwrap_or(1)
    }

    /// Number of live documents (real-time).
    pub fn live_count(&self) -> usize {
        self.ids.len()
    }

    /// `number_of_replicas` as configured (1 by default), for `_shards.total`.
    pub fn replicas(&self) -> u64 {
        self.settings
            .get("number_of_replicas")
            .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_u64()))
            .unwrap_or(1)
    }

    /// Highest sequence number assigned so far, if any.
    pub fn max_seq_no(&self) -> Option<u64> {
        self.next_seq_no.checked_sub(1)
    }

    /// Consumes a sequence number (a delete of a missing document still takes one).
    pub fn take_seq_no(&mut self) -> u64 {
        let s = self.next_seq_no;
        self.next_seq_no += 1;
        s
    }

    /// Stores `source` under `id`, replacing any current version.
    pub fn put(&mut self, id: &str, source: Value) -> WriteResult {
        let seq_no = self.take_seq_no();
        let (version, created) = match self.ids.get(id) {
            Some(&i) => (self.slots[i].doc.version + 1, false),
            None => (self.tombstones.get(id).map_or(1, |v| v + 1), true),
        };
        if let Some(old) = self.ids.remove(id) {
            self.slots[old].live = false;
            self.pending.push(old);
        }
        self.tombstones.remove(id);
        let doc = Arc::new(StoredDoc {
            id: id.to_string(),
            source: Arc::new(source),
            seq_no,
            primary_term: 1,
            version,
        });
        self.slots.push(Slot { doc: doc.clone(), live: true, visible: false });
        let slot = self.slots.len() - 1;
        self.pending.push(slot);
        self.ids.insert(id.to_string(), slot);
        WriteResult { doc, created }
    }

    /// Deletes `id`; `created` is false and the result is the tombstone either way. Returns
    /// `None` (after consuming a sequence number) when the document does not exist.
    pub fn delete(&mut self, id: &str) -> Result<WriteResult, Arc<StoredDoc>> {
        let seq_no = self.take_seq_no();
        match self.ids.remove(id) {
            Some(i) => {
                self.slots[i].live = false;
                self.pending.push(i);
                let version = self.slots[i].doc.version + 1;
                self.tombstones.insert(id.to_string(), version);
                Ok(WriteResult {
                    doc: Arc::new(StoredDoc {
                        id: id.to_string(),
                        source: Arc::new(Value::Null),
                        seq_no,
                        primary_term: 1,
                        version,
                    }),
                    created: false,
                })
            }
            None => {
                let version = self.tombstones.get(id).map_or(1, |v| v + 1);
                Err(Arc::new(StoredDoc {
                    id: id.to_string(),
                    source: Arc::new(Value::Null),
                    seq_no,
                    primary_term: 1,
                    version,
                }))
            }
        }
    }

    /// Makes every write so far visible to searches (Lucene refresh).
    pub fn refresh(&mut self) {
        for i in std::mem::take(&mut self.pending) {
            let slot = &mut self.slots[i];
            if slot.visible && !slot.live {
                self.dead += 1;
            }
            slot.visible = slot.live;
        }
        if self.dead > 1024 && self.dead * 2 > self.slots.len() {
            self.compact();
        }
    }

    /// Whether there are writes not yet visible to searches.
    pub fn needs_refresh(&self) -> bool {
        !self.pending.is_empty()
    }

    fn compact(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.ids.clear();
        for slot in old {
            if slot.live || slot.visible {
                if slot.live {
                    self.ids.insert(slot.doc.id.clone(), self.slots.len());
                }
                self.slots.push(slot);
            }
        }
        self.dead = 0;
    }

    /// Documents visible to searches, in index order, with their `_doc` ordinal.
    pub fn searchable(&self) -> impl Iterator<Item = (u64, &Arc<StoredDoc>)> {
        self.slots.iter().enumerate().filter(|(_, s)| s.visible).map(|(i, s)| (i as u64, &s.doc))
    }

    /// The searchable documents frozen for a point in time or a scroll.
    pub fn snapshot(&self) -> Vec<(u64, Arc<StoredDoc>)> {
        self.searchable().map(|(o, d)| (o, d.clone())).collect()
    }

    /// Number of searchable documents.
    pub fn searchable_count(&self) -> usize {
        self.slots.iter().filter(|s| s.visible).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn index() -> Index {
        Index::new("i", "u".into(), Mapping::default(), Map::new())
    }

    #[test]
    fn writes_are_searchable_only_after_refresh() {
        let mut i = index();
        let w = i.put("1", json!({"a":1}));
        assert!(w.created);
        assert_eq!((w.doc.seq_no, w.doc.version), (0, 1));
        assert!(i.get("1").is_some());
        assert_eq!(i.searchable_count(), 0);
        i.refresh();
        assert_eq!(i.searchable_count(), 1);
        let w = i.put("1", json!({"a":2}));
        assert!(!w.created);
        assert_eq!((w.doc.seq_no, w.doc.version), (1, 2));
        // Old version still searched until the refresh.
        assert_eq!(i.searchable().next().unwrap().1.source["a"], 1);
        i.refresh();
        assert_eq!(i.searchable().next().unwrap().1.source["a"], 2);
    }

    #[test]
    fn delete_keeps_version_and_consumes_seq_no() {
        let mut i = index();
        i.put("1", json!({}));
        let d = i.delete("1").unwrap();
        assert_eq!((d.doc.seq_no, d.doc.version), (1, 2));
        let missing = i.delete("1").unwrap_err();
        assert_eq!(missing.seq_no, 2);
        let again = i.put("1", json!({}));
        assert!(again.created);
        assert_eq!(again.doc.version, 3);
    }

    #[test]
    fn compaction_keeps_order_and_ids() {
        let mut i = index();
        for n in 0..3000 {
            i.put(&format!("{}", n % 1000), json!({"n": n}));
            if n % 500 == 0 {
                i.refresh();
            }
        }
        i.refresh();
        assert_eq!(i.searchable_count(), 1000);
        assert_eq!(i.live_count(), 1000);
        assert_eq!(i.get("5").unwrap().source["n"], 2005);
        let ords: Vec<u64> = i.searchable().map(|(o, _)| o).collect();
        assert!(ords.windows(2).all(|w| w[0] < w[1]));
    }
}
