//! The sink's queue, bounded like Elastic's `MemQueue`: by operations
//! (`elasticsearch.bulk.queue_max_size`) and by bytes (`queue_max_mem_size`).
//!
//! A count bound alone lets 1,024 base64 attachments of ~13 MiB wait at once (GiBs) when the
//! cluster is slow; the byte bound keeps what waits under 25 MiB by default. An operation
//! larger than the whole bound is let in when the queue is empty (it takes every byte
//! permit), as `MemQueue` does, so one big attachment never blocks the sync forever. Bytes
//! leave the queue when the sink takes the operation into a batch.
//!
//! An operation that carries a share of the content budget ([`crate::extract::budget`]: a
//! document with a downloaded file's content) is bounded by that budget instead, from its
//! download until Elasticsearch has answered: it takes no bytes of the queue's bound (only a
//! place in its count), so that files are not held up twice, nor one at a time behind the
//! bound, and the share goes on with it into its batch.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use super::bulk::Operation;
use crate::extract::budget::Share;

/// The most bytes a semaphore acquisition can take at once.
const MAX_BOUND: usize = u32::MAX as usize;

/// An operation in the queue, holding its share of the byte bound until dropped.
pub(super) struct Queued {
    /// The operation.
    pub(crate) op: Operation,
    /// The share of the content budget its content holds, if any.
    pub(crate) held: Option<Share>,
    size: usize,
    bytes: Arc<Gauge>,
    /// Its bytes of the queue's bound (none when `held` bounds it).
    _permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.bytes.current.fetch_sub(self.size, Ordering::Relaxed);
        crate::telemetry::sink_dequeued(self.size as u64);
    }
}

/// What the queue carries.
pub(super) enum Message {
    /// An operation.
    Op(Queued),
    /// Everything queued before is to be written, then the sender told.
    Flush(oneshot::Sender<()>),
}

/// Bytes queued now, and the most ever queued.
#[derive(Debug, Default)]
struct Gauge {
    current: AtomicUsize,
    peak: AtomicUsize,
}

/// The sending half.
pub(super) struct QueueSender {
    tx: mpsc::Sender<Message>,
    permits: Arc<Semaphore>,
    bound: usize,
    bytes: Arc<Gauge>,
}

/// A new queue of at most `max_ops` operations and `max_bytes` bytes.
pub(super) fn queue(max_ops: usize, max_bytes: usize) -> (QueueSender, mpsc::Receiver<Message>) {
    let (tx, rx) = mpsc::channel(max_ops.max(1));
    let bound = max_bytes.clamp(1, MAX_BOUND);
    let sender = QueueSender { tx, permits: Arc::new(Semaphore::new(bound)), bound, bytes: Arc::default() };
    (sender, rx)
}

impl QueueSender {
    /// Queues `op` of `size` bytes, waiting while either bound is reached (the byte bound
    /// only when no share of the content budget, `held`, bounds it); gives the operation back
    /// when the receiving side is gone.
    pub(super) async fn send(
        &self,
        op: Operation,
        size: usize,
        held: Option<Share>,
    ) -> Result<(), Operation> {
        let permit = match held {
            Some(_) => None,
            // Capped at the bound: a larger operation then waits for an empty queue.
            None => match self.permits.clone().acquire_many_owned(size.min(self.bound) as u32).await {
                Ok(permit) => Some(permit),
                Err(_) => return Err(op),
            },
        };
        let now = self.bytes.current.fetch_add(size, Ordering::Relaxed) + size;
        crate::telemetry::sink_queued(size as u64);
        self.bytes.peak.fetch_max(now, Ordering::Relaxed);
        let queued = Queued { op, held, size, bytes: self.bytes.clone(), _permit: permit };
        self.tx.send(Message::Op(queued)).await.map_err(|e| match e.0 {
            Message::Op(mut queued) => {
                std::mem::replace(&mut queued.op, Operation::Delete { id: String::new() })
            }
            Message::Flush(_) => Operation::Delete { id: String::new() },
        })
    }

    /// Waits until everything queued before has been written (or the receiver is gone).
    pub(super) async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    /// Bytes queued now.
    pub(super) fn queued_bytes(&self) -> usize {
        self.bytes.current.load(Ordering::Relaxed)
    }

    /// The most bytes that were ever queued at once.
    pub(super) fn peak_bytes(&self) -> usize {
        self.bytes.peak.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn op(id: &str) -> Operation {
        Operation::Delete { id: id.into() }
    }

    async fn next(rx: &mut mpsc::Receiver<Message>) -> Queued {
        match rx.recv().await {
            Some(Message::Op(queued)) => queued,
            _ => panic!("an operation was expected"),
        }
    }

    #[tokio::test]
    async fn bytes_bound_the_queue_and_leave_it_when_taken() {
        let (tx, mut rx) = queue(100, 10);
        tx.send(op("a"), 6, None).await.unwrap();
        tx.send(op("b"), 4, None).await.unwrap();
        assert_eq!(tx.queued_bytes(), 10);
        // Full by bytes (not by count): the next one waits until something is taken.
        let waiting = tokio::time::timeout(Duration::from_millis(50), tx.send(op("c"), 1, None)).await;
        assert!(waiting.is_err(), "the byte bound must hold");
        let first = next(&mut rx).await;
        assert_eq!(first.op.id(), "a");
        drop(first);
        assert_eq!(tx.queued_bytes(), 4);
        tx.send(op("c"), 5, None).await.unwrap();
        assert_eq!(tx.peak_bytes(), 10);
    }

    #[tokio::test]
    async fn an_operation_over_the_bound_waits_for_an_empty_queue_then_goes_in() {
        let (tx, mut rx) = queue(100, 10);
        tx.send(op("small"), 3, None).await.unwrap();
        let tx = Arc::new(tx);
        let big = {
            let tx = tx.clone();
            tokio::spawn(async move { tx.send(op("big"), 50, None).await })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!big.is_finished(), "waits while the queue holds something");
        drop(next(&mut rx).await);
        big.await.unwrap().unwrap();
        assert_eq!(tx.queued_bytes(), 50);
        assert_eq!(next(&mut rx).await.op.id(), "big");
    }

    #[tokio::test]
    async fn an_operation_holding_a_share_of_the_content_budget_takes_no_bytes_of_the_bound() {
        let budget = crate::extract::budget::DownloadBudget::new(1 << 20, 0);
        let (tx, mut rx) = queue(100, 10);
        tx.send(op("small"), 8, None).await.unwrap();
        let share = budget.take(500_000).await;
        let sent = tokio::time::timeout(Duration::from_millis(50), tx.send(op("file"), 500_000, Some(share)));
        sent.await.expect("not held up by the byte bound").unwrap();
        assert_eq!(tx.queued_bytes(), 500_008, "still counted in the gauge");
        drop(next(&mut rx).await);
        let file = next(&mut rx).await;
        assert_eq!(file.held.as_ref().map(|s| s.kib()), Some(489), "the share goes on with it");
    }

    #[tokio::test]
    async fn the_count_bound_still_holds() {
        let (tx, _rx) = queue(2, 1_000_000);
        tx.send(op("a"), 1, None).await.unwrap();
        tx.send(op("b"), 1, None).await.unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(50), tx.send(op("c"), 1, None)).await;
        assert!(waiting.is_err());
    }

    #[tokio::test]
    async fn a_closed_queue_gives_the_operation_back() {
        let (tx, rx) = queue(2, 10);
        drop(rx);
        let back = tx.send(op("x"), 1, None).await.unwrap_err();
        assert_eq!(back.id(), "x");
    }
}
