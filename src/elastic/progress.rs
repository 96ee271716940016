//! How far a sync has got: documents seen (unchanged ones too), what went to the sink, and
//! what Elasticsearch confirmed — a progress line every `elasticsearch.bulk.display_every`
//! documents seen, and the live line of [`progress_bar`](super::progress_bar) on a
//! terminal.
//!
//! Counted where it happens (the sync counts what it sees, the requests in flight what
//! Elasticsearch answered), in atomics, so a sync where everything is unchanged still shows
//! that it moves.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The counters of one sync.
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    display_every: u64,
    seen: AtomicU64,
    unchanged: AtomicU64,
    indexed: AtomicU64,
    deleted: AtomicU64,
    failed: AtomicU64,
    volume: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Snapshot {
    /// Documents the crawl produced.
    pub(crate) seen: u64,
    /// Of which unchanged (not written).
    pub(crate) unchanged: u64,
    /// Index operations Elasticsearch confirmed.
    pub(crate) indexed: u64,
    /// Delete operations Elasticsearch confirmed.
    pub(crate) deleted: u64,
    /// Operations that failed for good.
    pub(crate) failed: u64,
    /// Bytes of the documents sent to be indexed (what Elastic's `indexed_document_volume`
    /// counts).
    pub(crate) volume: u64,
    /// Documents seen per second since the start.
    pub(crate) rate: f64,
}

impl std::fmt::Display for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} documents seen, {} indexed, {} unchanged, {} deleted, {} failed ({:.0} documents/s)",
            self.seen, self.indexed, self.unchanged, self.deleted, self.failed, self.rate
        )
    }
}

impl Progress {
    /// Counters from zero; a line every `display_every` documents seen.
    pub(crate) fn new(display_every: u64) -> Progress {
        Progress {
            started: Instant::now(),
            display_every: display_every.max(1),
            seen: AtomicU64::new(0),
            unchanged: AtomicU64::new(0),
            indexed: AtomicU64::new(0),
            deleted: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            volume: AtomicU64::new(0),
        }
    }

    /// One document seen; logs the progress line when it completes `display_every`.
    pub(crate) fn document_seen(&self, unchanged: bool) {
        crate::telemetry::document_seen(unchanged);
        if unchanged {
            self.unchanged.fetch_add(1, Ordering::Relaxed);
        }
        let seen = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        if seen % self.display_every == 0 {
            tracing::info!("progress: {}", self.snapshot());
        }
    }

    /// A document of `bytes` sent to be indexed.
    pub(crate) fn queued_for_indexing(&self, bytes: u64) {
        self.volume.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Results Elasticsearch gave for a batch.
    pub(crate) fn confirmed(&self, indexed: u64, deleted: u64, failed: u64) {
        crate::telemetry::confirmed(indexed, deleted, failed);
        self.indexed.fetch_add(indexed, Ordering::Relaxed);
        self.deleted.fetch_add(deleted, Ordering::Relaxed);
        self.failed.fetch_add(failed, Ordering::Relaxed);
    }

    /// Where things stand.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let seen = self.seen.load(Ordering::Relaxed);
        let secs = self.started.elapsed().as_secs_f64();
        Snapshot {
            seen,
            unchanged: self.unchanged.load(Ordering::Relaxed),
            indexed: self.indexed.load(Ordering::Relaxed),
            deleted: self.deleted.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            volume: self.volume.load(Ordering::Relaxed),
            rate: if secs > 0.0 { seen as f64 / secs } else { 0.0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_documents_count_as_seen() {
        let p = Progress::new(2);
        p.document_seen(true);
        p.document_seen(true);
        p.document_seen(false);
        p.confirmed(1, 2, 3);
        let s = p.snapshot();
        assert_eq!((s.seen, s.unchanged, s.indexed, s.deleted, s.failed), (3, 2, 1, 2, 3));
        let line = Snapshot { rate: 12.4, ..s }.to_string();
        assert_eq!(line, "3 documents seen, 1 indexed, 2 unchanged, 2 deleted, 3 failed (12 documents/s)");
    }
}
