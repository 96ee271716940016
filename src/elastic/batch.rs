//! `_bulk` batches: NDJSON written straight into a buffer taken from a small pool.
//!
//! A batch closes at `chunk_size` lines or `chunk_max_mem_size` bytes — *before* an
//! operation that would cross either, and *after* one that reaches it, as Elastic's sink
//! does. Each item remembers the byte range of its lines, so items rejected with 429/5xx are
//! re-sent by copying their lines out of the sent body into a later batch
//! ([`Batcher::push_again`]), without keeping the operations (and their documents) beside
//! the body or serialising them again. Buffers come back to the
//! pool when their request is done, so a sync reuses a handful of `chunk_max_mem_size`
//! buffers instead of growing a new one, by doubling, for every request. An operation larger
//! than a pooled buffer (a file's base64) is written into a buffer of exactly its size, taken
//! for it alone and freed after its request, never kept in the pool.
//!
//! A batch also holds the shares of the content budget ([`crate::extract::budget`]) of the
//! documents written into it, each cut down to the bytes its lines take: they are given back
//! when Elasticsearch has answered (or go on with an item sent again).

use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use super::bulk::{encode, OpKind, Operation};
use super::error::ElasticError;
use crate::extract::budget::Share;

/// One item of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The id as the sync gave it (before any MD5 of a long id).
    pub(crate) id: String,
    /// Index or delete.
    pub(crate) kind: OpKind,
    /// Where its lines are in the body.
    pub(crate) range: Range<usize>,
    /// Its earlier rejections, when it is sent again.
    pub(crate) rejected: Rejections,
}

/// How often and since when Elasticsearch rejected an item (429/5xx): what decides whether
/// it is sent again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Rejections {
    /// Times it was sent again so far.
    pub(crate) retries: u32,
    /// When it was first rejected (`None`: never).
    pub(crate) since: Option<Instant>,
}

/// NDJSON lines ready to send, and what they hold.
#[derive(Debug)]
pub struct Batch {
    /// The `_bulk` body.
    pub body: BytesMut,
    /// The items, in body order.
    pub items: Vec<Item>,
    /// Shares of the content budget held by items (by their index in `items`).
    pub(crate) held: Vec<(usize, Share)>,
    lines: usize,
}

impl Batch {
    fn new(body: BytesMut) -> Batch {
        Batch { body, items: Vec::new(), held: Vec::new(), lines: 0 }
    }

    /// Takes the share held by item `index`, if any.
    pub(crate) fn take_held(&mut self, index: usize) -> Option<Share> {
        let at = self.held.iter().position(|(i, _)| *i == index)?;
        Some(self.held.swap_remove(at).1)
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
    pub(crate) fn take(&self) -> BytesMut {
        let reused = self.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        reused.unwrap_or_else(|| BytesMut::with_capacity(self.capacity))
    }

    /// An empty buffer for `bytes`: a pooled one when they fit, else one of exactly their
    /// size (not kept once given back).
    pub(crate) fn take_for(&self, bytes: usize) -> BytesMut {
        if bytes <= self.capacity {
            return self.take();
        }
        BytesMut::with_capacity(bytes)
    }

    /// Gives a sent body back; kept when nothing else holds it, it is of the pool's size (not
    /// one grown or taken for one large operation) and the pool is not full.
    pub fn give(&self, body: Bytes) {
        let Ok(mut buf) = body.try_into_mut() else { return };
        buf.clear();
        if buf.capacity() < self.capacity || buf.capacity() > self.capacity.saturating_mul(2) {
            return;
        }
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        if free.len() < self.keep {
            free.push(buf);
        }
    }

    /// The capacity of each buffer: the most bytes of one request (with headroom).
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.capacity
    }

    /// Idle buffers.
    #[cfg(test)]
    fn idle(&self) -> usize {
        self.free.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Batches that closed while adding one operation: the one closed to make room for it (when
/// its size was known to cross a limit), the one before it (when writing it crossed one),
/// the one it filled. At most two of them in practice; none is ever dropped.
#[derive(Debug, Default)]
pub struct Closed {
    room: Option<Batch>,
    before: Option<Batch>,
    after: Option<Batch>,
}

impl IntoIterator for Closed {
    type Item = Batch;
    type IntoIter = std::iter::Flatten<std::array::IntoIter<Option<Batch>, 3>>;

    fn into_iter(self) -> Self::IntoIter {
        [self.room, self.before, self.after].into_iter().flatten()
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

    /// Writes `op` into the current batch, with the share of the content budget it holds
    /// (`held`); returns the batches that closed. On error (a document that cannot be
    /// serialised) nothing is written and the share is given back.
    pub fn push(&mut self, op: &Operation, held: Option<Share>) -> Result<Closed, ElasticError> {
        let size = op.queued_size();
        // Known to cross a limit: the batch closes first, so that the operation is written
        // once, into a buffer that fits it, rather than into this one and then moved.
        let mut room = None;
        if self.current.items.is_empty() || self.current.body.len() + size > self.max_bytes {
            room = self.close_for(size);
        }
        let before = self.current.body.len();
        encode(op, &mut self.current.body).inspect_err(|_| {
            if let Some(batch) = room.take() {
                // Nothing written: the batch closed for it goes on being filled.
                self.reopen(batch);
            }
        })?;
        let closed = self.added(before, op.id().to_string(), op.kind(), Rejections::default(), held);
        Ok(Closed { room, ..closed })
    }

    /// Writes the `lines` of an item rejected before (copied out of the body it was sent
    /// in) into the current batch, like [`Batcher::push`]; returns the batches that closed.
    pub(crate) fn push_again(
        &mut self,
        id: String,
        kind: OpKind,
        lines: &[u8],
        rejected: Rejections,
        held: Option<Share>,
    ) -> Closed {
        let mut room = None;
        if self.current.items.is_empty() || self.current.body.len() + lines.len() > self.max_bytes {
            room = self.close_for(lines.len());
        }
        let before = self.current.body.len();
        self.current.body.extend_from_slice(lines);
        Closed { room, ..self.added(before, id, kind, rejected, held) }
    }

    /// Makes room for an operation of about `size` bytes: when the current batch holds
    /// something, it closes (returned) and the next one gets a buffer that fits; when it is
    /// empty, its buffer is swapped for one that fits if it does not.
    fn close_for(&mut self, size: usize) -> Option<Batch> {
        if self.current.items.is_empty() {
            if self.current.body.capacity() < size.max(1) {
                let old = std::mem::replace(&mut self.current.body, self.pool.take_for(size));
                self.pool.give(old.freeze());
            }
            return None;
        }
        Some(std::mem::replace(&mut self.current, Batch::new(self.pool.take_for(size))))
    }

    /// Makes `batch` (closed for an operation that was then not written) the one being
    /// filled again.
    fn reopen(&mut self, batch: Batch) {
        let empty = std::mem::replace(&mut self.current, batch);
        self.pool.give(empty.body.freeze());
    }

    /// Whether a batch is being filled.
    pub(crate) fn is_filling(&self) -> bool {
        !self.current.items.is_empty()
    }

    /// Records the item just written from `before` on, closing batches at the limits.
    fn added(
        &mut self,
        before: usize,
        id: String,
        kind: OpKind,
        rejected: Rejections,
        held: Option<Share>,
    ) -> Closed {
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
        if let Some(mut share) = held {
            // What its lines take from now on; what it held to write them comes back.
            share.shrink_to(size as u64);
            self.current.held.push((self.current.items.len(), share));
        }
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
        assert_eq!(b.push(&index("1", "{}"), None).unwrap().into_iter().count(), 0);
        assert_eq!(b.push(&index("2", "{}"), None).unwrap().into_iter().count(), 0);
        let closed: Vec<Batch> = b.push(&index("3", "{}"), None).unwrap().into_iter().collect();
        assert_eq!(closed.len(), 1);
        assert_eq!(ids(&closed[0]), ["1", "2"]);
        // A delete is one line: 2 + 1 = 3 lines, then another index reaches 5 exactly.
        assert_eq!(b.push(&Operation::Delete { id: "4".into() }, None).unwrap().into_iter().count(), 0);
        let closed: Vec<Batch> = b.push(&index("5", "{}"), None).unwrap().into_iter().collect();
        assert_eq!(ids(&closed[0]), ["3", "4", "5"], "closes after the operation that reaches it");
        assert!(b.finish().is_none());
    }

    #[test]
    fn a_batch_closes_at_chunk_max_mem_size_bytes() {
        let doc = format!("{{\"b\":\"{}\"}}", "x".repeat(40));
        let line = "{\"index\":{\"_id\":\"1\"}}\n".len() + doc.len() + 1;
        let mut b = Batcher::new(BufferPool::new(1024, 2), 1000, line * 2 + 10);
        b.push(&index("1", &doc), None).unwrap();
        b.push(&index("2", &doc), None).unwrap();
        let closed: Vec<Batch> = b.push(&index("3", &doc), None).unwrap().into_iter().collect();
        assert_eq!(ids(&closed[0]), ["1", "2"]);
        assert_eq!(closed[0].body.len(), line * 2);
        let last = b.finish().unwrap();
        assert_eq!(ids(&last), ["3"]);
        assert_eq!(&last.body[..], format!("{{\"index\":{{\"_id\":\"3\"}}}}\n{doc}\n").as_bytes());
        // One operation larger than the limit goes alone.
        let mut b = Batcher::new(BufferPool::new(16, 2), 1000, 10);
        let closed: Vec<Batch> = b.push(&index("big", &doc), None).unwrap().into_iter().collect();
        assert_eq!(ids(&closed[0]), ["big"]);
    }

    #[test]
    fn items_know_their_lines_and_go_again_into_a_later_batch() {
        let mut b = Batcher::new(BufferPool::new(1024, 2), 100, 1 << 20);
        b.push(&index("a", "{\"n\":1}"), None).unwrap();
        b.push(&Operation::Delete { id: "b".into() }, None).unwrap();
        b.push(&index("c", "{\"n\":3}"), None).unwrap();
        let batch = b.finish().unwrap();
        let body = batch.body.freeze();
        let line = |i: usize| std::str::from_utf8(&body[batch.items[i].range.clone()]).unwrap().to_string();
        assert_eq!(line(1), "{\"delete\":{\"_id\":\"b\"}}\n");
        assert!(!b.is_filling());
        b.push(&index("d", "{}"), None).unwrap();
        let rejected = Rejections { retries: 1, since: Some(Instant::now()) };
        for i in [0, 2] {
            let item = &batch.items[i];
            let closed = b.push_again(item.id.clone(), item.kind, &body[item.range.clone()], rejected, None);
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

    #[tokio::test]
    async fn a_large_operation_gets_a_buffer_of_its_size_and_its_share_stays_with_the_batch() {
        let budget = crate::extract::budget::DownloadBudget::new(1 << 20, 0);
        let pool = BufferPool::new(1024, 4);
        let mut b = Batcher::new(pool.clone(), 100, 1000);
        b.push(&index("small", "{}"), None).unwrap();
        let big = Operation::Index {
            id: "big".into(),
            doc: Document::with_file("big", Bytes::from_static(b"{}"), Bytes::from(vec![1u8; 30_000]))
                .unwrap(),
        };
        let share = budget.take(100_000).await;
        let closed: Vec<Batch> = b.push(&big, Some(share)).unwrap().into_iter().collect();
        assert_eq!(closed.iter().map(ids).collect::<Vec<_>>(), [vec!["small"], vec!["big"]]);
        let big = &closed[1];
        assert!(big.body.capacity() < 40_100 + 64, "sized once: {}", big.body.capacity());
        assert_eq!(big.held.len(), 1);
        // Cut down to what its lines take (40,029 bytes: 40 KiB rounded up).
        assert_eq!(big.held[0].1.kib(), 40);
        assert_eq!(budget.available_kib(), 1024 - 40);
        for batch in closed {
            pool.give(batch.body.freeze());
        }
        assert_eq!(pool.idle(), 1, "the large buffer is not kept");
        assert_eq!(budget.available_kib(), 1024, "dropped with its batch");
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
