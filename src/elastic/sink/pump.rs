//! The sink's task: the batch being filled, the requests in flight (at most
//! `max_concurrency`), and the items rejected with 429/5xx waiting outside the request slots
//! for their next try.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::super::batch::{Batch, Batcher, Rejections};
use super::super::bulk::OpKind;
use super::super::queue::{Message, Queued};
use super::send::{failure, record, send_batch};
use super::{ItemFailure, Shared, SinkReport, Target};
use crate::extract::budget::Share;

/// How long a batch holding items sent again waits for fresh operations to fill it before it
/// goes out as it is.
const RETRY_LINGER: Duration = Duration::from_millis(20);

/// How long a batch holding shares of the content budget waits for more operations before it
/// goes out as it is: the crawl may be waiting for what those shares hold.
const CONTENT_LINGER: Duration = Duration::from_millis(20);

/// An item rejected with 429/5xx, waiting for its next try outside any request slot.
#[derive(Debug)]
pub(super) struct Waiting {
    /// The id as the sync gave it.
    pub(super) id: String,
    /// Index or delete.
    pub(super) kind: OpKind,
    /// Its NDJSON lines, copied out of the body it was rejected in.
    pub(super) lines: Bytes,
    /// How often and since when it was rejected.
    pub(super) rejected: Rejections,
    /// The share of the content budget it holds, if any.
    pub(super) held: Option<Share>,
}

/// What a request task hands back: its report, and the items to send again later.
pub(super) struct BatchOutcome {
    pub(super) report: SinkReport,
    /// When the rejected items are due, and the items.
    pub(super) again: Option<(Instant, Vec<Waiting>)>,
}

/// The sink task: the batch being filled, the requests in flight, and the rejected items
/// waiting for their next try.
///
/// A rejected item never holds a request slot while it waits: its request ends, the item
/// waits here (briefly, see [`RetryPolicy::item_delay`](super::super::retry::RetryPolicy::item_delay)) and then goes into the batch being
/// filled, which leaves when full, or after [`RETRY_LINGER`] when no fresh operation fills
/// it. Other batches go out meanwhile.
struct Pump {
    target: Target,
    batcher: Batcher,
    in_flight: JoinSet<BatchOutcome>,
    max_concurrency: usize,
    /// Rejected items by due time (and arrival, to keep equal times apart).
    waiting: BTreeMap<(Instant, u64), Vec<Waiting>>,
    arrivals: u64,
    /// Bytes of the waiting items; above `waiting_limit` no new operation is taken in.
    waiting_bytes: usize,
    waiting_limit: usize,
    /// When the batch being filled leaves even if not full (it holds items sent again).
    linger: Option<Instant>,
    report: SinkReport,
    shared: Arc<Shared>,
}

pub(super) async fn run(
    mut rx: mpsc::Receiver<Message>,
    target: Target,
    batcher: Batcher,
    max_concurrency: usize,
    shared: Arc<Shared>,
) -> SinkReport {
    let started = std::time::Instant::now();
    let waiting_limit = target.pool.buffer_capacity().saturating_mul(max_concurrency);
    let mut pump = Pump {
        target,
        batcher,
        in_flight: JoinSet::new(),
        max_concurrency,
        waiting: BTreeMap::new(),
        arrivals: 0,
        waiting_bytes: 0,
        waiting_limit,
        linger: None,
        report: SinkReport::default(),
        shared,
    };
    let mut open = true;
    while open {
        let next_due = pump.next_due();
        let linger = pump.linger;
        // Items waiting for another try count against the sink's memory: past the limit, the
        // crawl waits for them.
        let take_more = pump.waiting_bytes <= pump.waiting_limit;
        tokio::select! {
            biased;
            Some(done) = pump.in_flight.join_next(), if !pump.in_flight.is_empty() => pump.absorb(done),
            () = sleep_until(next_due), if next_due.is_some() => {
                pump.move_due().await;
                if pump.batcher.is_filling() && pump.linger.is_none() {
                    pump.linger = Some(Instant::now() + RETRY_LINGER);
                }
            }
            () = sleep_until(linger), if linger.is_some() => {
                pump.linger = None;
                if let Some(batch) = pump.batcher.finish() {
                    pump.dispatch(batch).await;
                }
            }
            message = rx.recv(), if take_more => match message {
                None => open = false,
                Some(Message::Flush(done)) => {
                    pump.drain().await;
                    let _ = done.send(());
                }
                Some(Message::Op(queued)) => pump.take(queued, &mut rx).await,
            },
        }
    }
    pump.drain().await;
    let mut report = pump.report;
    report.duration = started.elapsed();
    report
}

/// Sleeps until `at` (forever without one; the branch is disabled then).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Pump {
    /// When the earliest waiting item is due.
    fn next_due(&self) -> Option<Instant> {
        self.waiting.keys().next().map(|(due, _)| *due)
    }

    /// Writes a queued operation into the batch being filled; sends what closed.
    async fn take(&mut self, mut queued: Queued, rx: &mut mpsc::Receiver<Message>) {
        if self.shared.is_stopped() {
            // Drained, not sent: senders are told at once from now on.
            rx.close();
            self.shared.discard(1);
            return;
        }
        let held = queued.held.take();
        let holds = held.is_some();
        match self.batcher.push(&queued.op, held) {
            Ok(closed) => {
                drop(queued);
                for batch in closed {
                    self.dispatch(batch).await;
                }
                self.linger_if_holding(holds);
            }
            Err(e) => {
                let op = &queued.op;
                let f = failure(op.id(), op.kind(), 0, "serialization", &e.to_string());
                self.shared.monitor().error(|| f.to_string());
                record(&self.shared, &mut self.report, 0, 0, vec![f]);
            }
        }
    }

    /// A batch being filled that holds a share of the content budget leaves within
    /// [`CONTENT_LINGER`]: the crawl may be waiting for budget that only its answer frees.
    fn linger_if_holding(&mut self, holds: bool) {
        if holds && self.batcher.is_filling() && self.linger.is_none() {
            self.linger = Some(Instant::now() + CONTENT_LINGER);
        }
    }

    /// Moves the items that are due into the batch being filled; sends what closed.
    async fn move_due(&mut self) {
        let now = Instant::now();
        while let Some(entry) = self.waiting.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let items = entry.remove();
            if self.shared.is_stopped() {
                self.shared.discard(items.len());
                self.waiting_bytes -= items.iter().map(|w| w.lines.len()).sum::<usize>();
                continue;
            }
            for w in items {
                self.waiting_bytes -= w.lines.len();
                let holds = w.held.is_some();
                let closed = self.batcher.push_again(w.id, w.kind, &w.lines, w.rejected, w.held);
                for batch in closed {
                    self.dispatch(batch).await;
                }
                self.linger_if_holding(holds);
            }
        }
    }

    /// Sends everything: the batch being filled, and every waiting item when it is due,
    /// until nothing is in flight or waiting.
    async fn drain(&mut self) {
        loop {
            self.linger = None;
            if let Some(batch) = self.batcher.finish() {
                self.dispatch(batch).await;
            }
            if self.in_flight.is_empty() && self.waiting.is_empty() {
                return;
            }
            let next_due = self.next_due();
            tokio::select! {
                biased;
                Some(done) = self.in_flight.join_next(), if !self.in_flight.is_empty() => self.absorb(done),
                () = sleep_until(next_due), if next_due.is_some() => self.move_due().await,
            }
        }
    }

    /// Takes in what a finished request reports: counts, and items to send again.
    fn absorb(&mut self, done: Result<BatchOutcome, tokio::task::JoinError>) {
        match done {
            Ok(sent) => {
                self.report.absorb(sent.report);
                if let Some((due, items)) = sent.again {
                    self.waiting_bytes += items.iter().map(|w| w.lines.len()).sum::<usize>();
                    self.arrivals += 1;
                    self.waiting.insert((due, self.arrivals), items);
                }
            }
            Err(e) => self.report.failed.push(ItemFailure {
                id: "(batch)".into(),
                op: OpKind::Index,
                status: 0,
                error_type: "bulk_task_failed".into(),
                reason: e.to_string(),
            }),
        }
    }

    /// Sends a batch, first waiting for a free slot among the requests in flight.
    async fn dispatch(&mut self, batch: Batch) {
        while self.in_flight.len() >= self.max_concurrency {
            if let Some(done) = self.in_flight.join_next().await {
                self.absorb(done);
            }
        }
        if self.shared.is_stopped() {
            self.shared.discard(batch.items.len());
            self.target.pool.give(batch.body.freeze());
            return;
        }
        let (target, shared) = (self.target.clone(), self.shared.clone());
        self.in_flight.spawn(async move { send_batch(&target, batch, &shared).await });
    }
}
