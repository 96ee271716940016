//! `_bulk` batches: NDJSON written straight into a buffer taken from a small pool.
//!
//! A batch closes at `chunk_size` lines or `chunk_max_mem_size` bytes — *before* an
//! operation that would cross either, and *after* one that reaches it, as Elastic's sink
//! does. Each item remembers the byte range of its lines, so items rejected with 429/5xx are
//! re-sent by copying their lines out of the sent body into a later batch
//! ([`Batcher::push_again`]), without keeping the operations (and their documents) beside
//! the body or serialising them again. Buffers come back to the
//! pool when their request is done, so a sync reuses a handful of `chunk_max_mem_size`
//! buffers instead of growing a new one, by doubling, for every request.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use super::bulk::{encode, OpKind, Operation};
use super::error::ElasticError;

/// One item of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The id as the sync gave it (before any MD5 of a long id).
    pub id: String,
    /// Index or delete.
    pub kind: OpKind,
    /// Where its lines are in the body.
    pub range: Range<usize>,
    /// Its earlier rejections, when it is sent again.
    pub rejected: Rejections,
}

/// How often and since when Elasticsearch rejected an item (429/5xx): what decides whether
/// it is sent again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rejections {
    /// Times it was sent again so far.
    pub retries: u32,
    /// When it was first rejected (`None`: never).
    pub since: Option<Instant>,
}

/// NDJSON lines ready to send, and what they hold.
#[derive(Debug)]
pub struct Batch {
    /// The `_bulk` body.
    pub body: BytesMut,
    /// The items, in body order.
    pub items: Vec<Item>,
    lines: usize,
}

impl Batch {
    fn new(body: BytesMut) -> Batch {
        Batch { body, items: Vec::new(), lines: 0 }
    }
}

/// Buffers of `_bulk` bodies, given back when their request is done.
#[derive(Debug, Clone)]
pub struct BufferPool {
    free: Arc<Mutex<Vec<BytesMut>>>,
    capacity: usize,
    keep: usize,
}

impl BufferPool {
    /// A pool of buffers of `capacity` bytes, keeping at most `keep` idle ones.
    pub fn new(capacity: usize, keep: usize) -> BufferPool {
        BufferPool { free: Arc::default(), capacity, keep }
    }

    /// An empty buffer.
    pub fn take(&self) -> BytesMut {
        let reused = self.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        reused.unwrap_or_else(|| BytesMut::with_capacity(self.capacity))
    }

    /// Gives a sent body back; kept when nothing else holds it and the pool is not full.
    pub fn give(&self, body: Bytes) {
        let Ok(mut buf) = body.try_into_mut() else { return };
        buf.clear();
        if buf.capacity() < self.capacity {
            return;
        }
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        if free.len() < self.keep {
            free.push(buf);
        }
    }

    /// The capacity of each buffer: the most bytes of one request (with headroom).
    pub fn buffer_capacity(&self) -> usize {
        self.capacity
    }

    /// Idle buffers (for tests).
    pub fn idle(&self) -> usize {
        self.free.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Batches that closed while adding one operation: the one before it, the one it filled.
#[derive(Debug, Default)]
pub struct Closed {
    before: Option<Batch>,
    after: Option<Batch>,
}

impl IntoIterator for Closed {
    type Item = Batch;
    type IntoIter = std::iter::Flatten<std::array::IntoIter<Option<Batch>, 2>>;

    fn into_iter(self) -> Self::IntoIter {
        [self.before, self.after].into_iter().flatten()
    }
}

/// Groups operations into batches.
#[derive(Debug)]
pub struct Batcher {
    pool: BufferPool,
    max_lines: usize,
    max_bytes: usize,
    current: Batch,
}

impl Batcher {
    /// Batches of at most `max_lines` NDJSON lines and `max_bytes` bytes, in `pool`'s buffers.
    pub fn new(pool: BufferPool, max_lines: usize, max_bytes: usize) -> Batcher {
        Batcher {
            pool,
            max_lines: max_lines.max(1),
            max_bytes: max_bytes.max(1),
            current: Batch::new(BytesMut::new()),
        }
    }

    /// Writes `op` into the current batch; returns the batches that closed. On error (a
    /// document that cannot be serialised) nothing is written.
    pub fn push(&mut self, op: &Operation) -> Result<Closed, ElasticError> {
        if self.current.body.capacity() == 0 {
            self.current.body = self.pool.take();
        }
        let before = self.current.body.len();
        encode(op, &mut self.current.body)?;
        Ok(self.added(before, op.id().to_string(), op.kind(), Rejections::default()))
    }

    /// Writes the `lines` of an item rejected before (copied out of the body it was sent
    /// in) into the current batch, like [`Batcher::push`]; returns the batches that closed.
    pub fn push_again(&mut self, id: String, kind: OpKind, lines: &[u8], rejected: Rejections) -> Closed {
        if self.current.body.capacity() == 0 {
            self.current.body = self.pool.take();
        }
        let before = self.current.body.len();
        self.current.body.extend_from_slice(lines);
        self.added(before, id, kind, rejected)
    }

    /// Whether a batch is being filled.
    pub fn is_filling(&self) -> bool {
        !self.current.items.is_empty()
    }

    /// Records the item just written from `before` on, closing batches at the limits.
    fn added(&mut self, before: usize, id: String, kind: OpKind, rejected: Rejections) -> Closed {
        let size = self.current.body.len() - before;
        let lines = kind.lines();
        let mut closed = Closed::default();
        // Crossing a limit: the batch closes before this operation, which starts the next.
        if !self.current.items.is_empty()
            && (self.current.lines + lines > self.max_lines || self.current.body.len() > self.max_bytes)
        {
            let mut next = Batch::new(self.pool.take());
            next.body.extend_from_slice(&self.current.body[before..]);
            self.current.body.truncate(before);
            closed.before = Some(std::mem::replace(&mut self.current, next));
        }
        let start = self.current.body.len() - size;
        self.current.items.push(Item { id, kind, range: start..start + size, rejected });
        self.current.lines += lines;
        if self.current.lines >= self.max_lines || self.current.body.len() >= self.max_bytes {
            closed.after = Some(std::mem::replace(&mut self.current, Batch::new(BytesMut::new())));
        }
        closed
    }

    /// The last, partly filled batch, if any.
    pub fn finish(&mut self) -> Option<Batch> {
        if self.current.items.is_empty() {
            return None;
        }
        Some(std::mem::replace(&mut self.current, Batch::new(BytesMut::new())))
    }

    /// The pool the batches' buffers come from.
    pub fn pool(&self) -> &BufferPool {
        &self.pool
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elastic::bulk::Document;

    fn index(id: &str, body: &str) -> Operation {
        Operation::Index { id: id.into(), doc: Document::raw(id, Bytes::from(body.to_string())).unwrap() }
    }

    fn ids(batch: &Batch) -> Vec<&str> {
        batch.items.iter().map(|i| i.id.as_str()).collect()
    }

    #[test]
    fn a_batch_closes_at_chunk_size_lines() {
        // 5 lines: two index operations (4 lines) fit, the third would cross.
        let mut b = Batcher::new(BufferPool::new(1024, 2), 5, 1 << 20);
        assert_eq!(b.push(&index("1", "{}")).unwrap().into_iter().count(), 0);
        assert_eq!(b.push(&index("2", "{}")).unwrap().into_iter().count(), 0);
        let closed: Vec<Batch> = b.push(&index("3", "{}")).unwrap().into_iter().collect();
        assert_eq!(closed.len(), 1);
        assert_eq!(ids(&closed[0]), ["1", "2"]);
        // A delete is one line: 2 + 1 = 3 lines, then another index reaches 5 exactly.
        assert_eq!(b.push(&Operation::Delete { id: "4".into() }).unwrap().into_iter().count(), 0);
        let closed: Vec<Batch> = b.push(&index("5", "{}")).unwrap().into_iter().collect();
        assert_eq!(ids(&closed[0]), ["3", "4", "5"], "closes after the operation that reaches it");
        assert!(b.finish().is_none());
    }

    #[test]
    fn a_batch_closes_at_chunk_max_mem_size_bytes() {
        let doc = format!("{{\"b\":\"{}\"}}", "x".repeat(40));
        let line = "{\"index\":{\"_id\":\"1\"}}\n".len() + doc.len() + 1;
        let mut b = Batcher::new(BufferPool::new(1024, 2), 1000, line * 2 + 10);
        b.push(&index("1", &doc)).unwrap();
        b.push(&index("2", &doc)).unwrap();
        let closed: Vec<Batch> = b.push(&index("3", &doc)).unwrap().into_iter().collect();
        assert_eq!(ids(&closed[0]), ["1", "2"]);
        assert_eq!(closed[0].body.len(), line * 2);
        let last = b.finish().unwrap();
        assert_eq!(ids(&last), ["3"]);
        assert_eq!(&last.body[..], format!("{{\"index\":{{\"_id\":\"3\"}}}}\n{doc}\n").as_bytes());
        // One operation larger than the limit goes alone.
        let mut b = Batcher::new(BufferPool::new(16, 2), 1000, 10);
        let closed: Vec<Batch> = b.push(&index("big", &doc)).unwrap().into_iter().collect();
        assert_eq!(ids(&closed[0]), ["big"]);
    }

    #[test]
    fn items_know_their_lines_and_go_again_into_a_later_batch() {
        let mut b = Batcher::new(BufferPool::new(1024, 2), 100, 1 << 20);
        b.push(&index("a", "{\"n\":1}")).unwrap();
        b.push(&Operation::Delete { id: "b".into() }).unwrap();
        b.push(&index("c", "{\"n\":3}")).unwrap();
        let batch = b.finish().unwrap();
        let body = batch.body.freeze();
        let line = |i: usize| std::str::from_utf8(&body[batch.items[i].range.clone()]).unwrap().to_string();
        assert_eq!(line(1), "{\"delete\":{\"_id\":\"b\"}}\n");
        assert!(!b.is_filling());
        b.push(&index("d", "{}")).unwrap();
        let rejected = Rejections { retries: 1, since: Some(Instant::now()) };
        for i in [0, 2] {
            let item = &batch.items[i];
            let closed = b.push_again(item.id.clone(), item.kind, &body[item.range.clone()], rejected);
            assert_eq!(closed.into_iter().count(), 0);
        }
        assert!(b.is_filling());
        let again = b.finish().unwrap();
        assert_eq!(
            &again.body[..],
            b"{\"index\":{\"_id\":\"d\"}}\n{}\n{\"index\":{\"_id\":\"a\"}}\n{\"n\":1}\n{\"index\":{\"_id\":\"c\"}}\n{\"n\":3}\n"
        );
        assert_eq!(again.items[2].range, 55..again.body.len());
        assert_eq!((again.items[0].rejected, again.items[2].rejected), (Rejections::default(), rejected));
    }

    #[test]
    fn sent_buffers_come_back_to_the_pool() {
        let pool = BufferPool::new(64, 1);
        let mut buf = pool.take();
        buf.extend_from_slice(b"x\n");
        let body = buf.freeze();
        let held = body.clone();
        pool.give(body);
        assert_eq!(pool.idle(), 0, "still held elsewhere: not reused");
        pool.give(held);
        assert_eq!(pool.idle(), 1);
        assert!(pool.take().capacity() >= 64);
        assert_eq!(pool.idle(), 0);
    }
}
