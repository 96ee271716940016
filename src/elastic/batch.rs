//! Grouping operations into `_bulk` requests that close on line count or bytes.
//!
//! A [`Batch`] encodes each operation straight into one reused buffer. It closes by the
//! Elastic connector's two rules (reference §4.4): *before* adding an operation when the
//! batch is not empty and the operation would push it past `chunk_size` lines or
//! `chunk_max_mem_size` bytes, and *after* adding one when it has reached either limit. So
//! a single document larger than the byte limit still travels, alone. A closed batch is a
//! frozen [`Bytes`] view of the buffer (no copy); once every request holding it is done,
//! the buffer's allocation is reclaimed for the next batch.

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use super::bulk::{encode, OpKind, Operation};
use super::error::ElasticError;

/// One operation inside a batch: who it is and where its lines are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    /// The id as the caller gave it (before any MD5 replacement).
    pub id: String,
    /// Index or delete.
    pub kind: OpKind,
    /// Its NDJSON lines within the batch body.
    pub range: Range<usize>,
}

/// A batch ready to send.
#[derive(Debug, Clone)]
pub struct ClosedBatch {
    /// The NDJSON body.
    pub body: Bytes,
    /// The operations, in body order (the order of the response's `items`).
    pub items: Vec<BatchItem>,
    /// NDJSON lines in the body.
    pub lines: usize,
}

impl ClosedBatch {
    /// A new batch made of some items of this one (for retrying them alone).
    pub fn subset(&self, positions: &[usize]) -> ClosedBatch {
        let size = positions.iter().map(|&p| self.items[p].range.len()).sum();
        let mut body = BytesMut::with_capacity(size);
        let mut items = Vec::with_capacity(positions.len());
        let mut lines = 0;
        for &p in positions {
            let item = &self.items[p];
            let start = body.len();
            body.extend_from_slice(&self.body[item.range.clone()]);
            lines += item.kind.lines();
            items.push(BatchItem { id: item.id.clone(), kind: item.kind, range: start..body.len() });
        }
        ClosedBatch { body: body.freeze(), items, lines }
    }
}

/// When a batch closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most NDJSON lines.
    pub max_lines: usize,
    /// Most bytes.
    pub max_bytes: usize,
}

/// The batch being filled.
#[derive(Debug)]
pub struct Batch {
    buf: BytesMut,
    items: Vec<BatchItem>,
    lines: usize,
    limits: BatchLimits,
}

impl Batch {
    /// An empty batch.
    pub fn new(limits: BatchLimits) -> Self {
        let limits = BatchLimits { max_lines: limits.max_lines.max(1), max_bytes: limits.max_bytes.max(1) };
        Batch { buf: BytesMut::new(), items: Vec::new(), lines: 0, limits }
    }

    /// True when nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Bytes waiting.
    pub fn len_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Adds `op`, pushing onto `closed` the batches that closed because of it (0, 1 or 2).
    /// Returns the operation's encoded size. An operation that cannot be encoded is not added.
    pub fn push(&mut self, op: Operation, closed: &mut Vec<ClosedBatch>) -> Result<usize, ElasticError> {
        let before = self.buf.len();
        encode(&op, &mut self.buf)?;
        let size = self.buf.len() - before;
        let kind = op.kind();
        let id = match op {
            Operation::Index { id, .. } | Operation::Delete { id } => id,
        };
        // Pre-flush: the batch so far closes without the new operation.
        if !self.items.is_empty() && (self.lines + kind.lines() > self.limits.max_lines || before + size > self.limits.max_bytes) {
            let body = self.buf.split_to(before).freeze();
            let items = std::mem::take(&mut self.items);
            closed.push(ClosedBatch { body, items, lines: std::mem::take(&mut self.lines) });
        }
        let start = self.buf.len() - size;
        self.items.push(BatchItem { id, kind, range: start..self.buf.len() });
        self.lines += kind.lines();
        // Post-flush: full now.
        if self.lines >= self.limits.max_lines || self.buf.len() >= self.limits.max_bytes {
            closed.extend(self.close());
        }
        Ok(size)
    }

    /// Closes the batch now (at the end of a sync); `None` when empty.
    pub fn close(&mut self) -> Option<ClosedBatch> {
        if self.items.is_empty() {
            return None;
        }
        // Reclaim the allocation of earlier batches once their requests are done.
        let reserve = self.buf.capacity().max(self.limits.max_bytes.min(4 * 1024 * 1024));
        let body = self.buf.split().freeze();
        self.buf.reserve(reserve.min(self.limits.max_bytes + 1024));
        let items = std::mem::take(&mut self.items);
        Some(ClosedBatch { body, items, lines: std::mem::take(&mut self.lines) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elastic::bulk::Document;
    use serde_json::json;

    fn index(id: &str, text_len: usize) -> Operation {
        Operation::Index { id: id.into(), doc: Document::Json(json!({ "t": "x".repeat(text_len) })) }
    }

    fn delete(id: &str) -> Operation {
        Operation::Delete { id: id.into() }
    }

    #[test]
    fn closes_at_the_line_limit_counting_two_lines_per_index() {
        let mut batch = Batch::new(BatchLimits { max_lines: 5, max_bytes: 1 << 20 });
        let mut closed = Vec::new();
        batch.push(index("a", 1), &mut closed).unwrap();
        batch.push(index("b", 1), &mut closed).unwrap();
        assert!(closed.is_empty());
        // 4 lines + 2 > 5: the pre-flush closes [a, b]; c starts the next batch.
        batch.push(index("c", 1), &mut closed).unwrap();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].lines, 4);
        assert_eq!(closed[0].items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        // c (2) + d (1) + e (2) = 5 lines: the post-flush closes it.
        batch.push(delete("d"), &mut closed).unwrap();
        batch.push(index("e", 1), &mut closed).unwrap();
        assert_eq!(closed.len(), 2);
        assert_eq!(closed[1].lines, 5);
        assert!(batch.is_empty());
        assert!(batch.close().is_none());
    }

    #[test]
    fn bodies_hold_exactly_their_items_lines() {
        let mut batch = Batch::new(BatchLimits { max_lines: 3, max_bytes: 1 << 20 });
        let mut closed = Vec::new();
        batch.push(index("a", 3), &mut closed).unwrap();
        batch.push(delete("b"), &mut closed).unwrap();
        let b = &closed[0];
        let text = std::str::from_utf8(&b.body).unwrap();
        assert_eq!(text, "{\"index\":{\"_id\":\"a\"}}\n{\"t\":\"xxx\"}\n{\"delete\":{\"_id\":\"b\"}}\n");
        assert_eq!(&text[b.items[1].range.clone()], "{\"delete\":{\"_id\":\"b\"}}\n");
        let retry = b.subset(&[1]);
        assert_eq!(&retry.body[..], b"{\"delete\":{\"_id\":\"b\"}}\n");
        assert_eq!(retry.lines, 1);
        assert_eq!(retry.items[0].range, 0..retry.body.len());
    }

    #[test]
    fn closes_on_bytes_before_and_after() {
        // Each index op of text_len 100 is 23 + 110 = 133 bytes (action + source lines).
        let one = {
            let mut b = BytesMut::new();
            encode(&index("a", 100), &mut b).unwrap();
            b.len()
        };
        let mut batch = Batch::new(BatchLimits { max_lines: 500, max_bytes: one * 2 + 10 });
        let mut closed = Vec::new();
        batch.push(index("a", 100), &mut closed).unwrap();
        batch.push(index("b", 100), &mut closed).unwrap();
        assert!(closed.is_empty(), "2 docs fit");
        // A third would exceed the byte limit: pre-flush.
        batch.push(index("c", 100), &mut closed).unwrap();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].body.len(), one * 2);
        // A huge document: closes [c] before it, then goes alone (post-flush).
        batch.push(index("huge", 10_000), &mut closed).unwrap();
        assert_eq!(closed.len(), 3);
        assert_eq!(closed[1].items.len(), 1);
        assert_eq!(closed[2].items[0].id, "huge");
        assert!(batch.is_empty());
    }

    #[test]
    fn exactly_at_the_byte_limit_closes_after() {
        let one = {
            let mut b = BytesMut::new();
            encode(&delete("a"), &mut b).unwrap();
            b.len()
        };
        let mut batch = Batch::new(BatchLimits { max_lines: 500, max_bytes: one * 2 });
        let mut closed = Vec::new();
        batch.push(delete("a"), &mut closed).unwrap();
        assert!(closed.is_empty());
        batch.push(delete("b"), &mut closed).unwrap();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].items.len(), 2);
    }
}
