//! Which failures are worth another try, and how long to wait before it.
//!
//! One place for the retry policy, as data: a request that got no answer (a connection
//! error, or a timeout when `elasticsearch.retry_on_timeout` is on) or a 429/500/502/503/504
//! is sent again, every request alike (`elasticsearch.max_retries`, `retry_interval`); a bulk
//! item rejected with 429 or any 5xx is sent again *alone* (re-batched with the other
//! rejected items, `elasticsearch.bulk.max_retries`, `bulk.retry_interval`) — unlike the
//! Elastic connector and Vector, which never retry items or retry whole batches. Anything
//! else (mapping errors, illegal arguments, 4xx) is final.
//!
//! Whole requests wait linearly like the reference's `TransientElasticsearchRetrier`:
//! interval × attempt (10, 20, 30 s …), or what the server's `Retry-After` asks (at most
//! [`MAX_RETRY_AFTER`]). Rejected *items* are different: a cluster that turns away a share
//! of items under load is still answering, and each item is worth another try soon. So they
//! wait briefly — [`ITEM_BACKOFF_BASE`] doubling per retry, never above `bulk.retry_interval`
//! nor [`ITEM_BACKOFF_CAP`], and no more than twice while the cluster accepts most items
//! (the share of recent items it rejected is its signal, [`RetryPolicy::item_delay`]);
//! jittered so that the rejected items of different answers do not come back together — and
//! without holding a request slot (the sink puts them in a later batch). They are given up
//! only after `bulk.max_retries` retries *and* as long as the linear schedule would have
//! waited (`bulk.retry_interval` × (1 + 2 + … + `bulk.max_retries`), 150 s by default):
//! generous enough that a cluster rejecting 30 % of items loses none, bounded so that a
//! cluster rejecting everything ends the sync, with every such item reported.

use std::time::Duration;

use super::bulk::OpKind;

/// Retries allowed and the back-off between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt.
    pub(crate) max_retries: u32,
    /// Back-off base: retry *n* waits `interval × n`.
    pub(crate) interval: Duration,
    /// Whether a request that timed out is sent again (`elasticsearch.retry_on_timeout`);
    /// connection errors are, always.
    pub(crate) retry_on_timeout: bool,
}

/// The first wait before an item rejected with 429/5xx goes out again.
pub(super) const ITEM_BACKOFF_BASE: Duration = Duration::from_millis(50);

/// The longest wait before a rejected item goes out again, whatever `bulk.retry_interval`.
pub(super) const ITEM_BACKOFF_CAP: Duration = Duration::from_secs(3);

/// A cluster that rejected at most this share of the recent items is busy, not overloaded:
/// its rejected items do not back off beyond [`CALM_MAX_DOUBLINGS`].
pub(super) const CALM_REJECTED_SHARE: f64 = 0.5;

/// How often the wait of an item rejected by a busy (not overloaded) cluster doubles at most.
pub(super) const CALM_MAX_DOUBLINGS: u32 = 2;

/// The longest `Retry-After` of a whole request that is honoured (a proxy may ask for hours).
pub(super) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based) of a whole request.
    pub(crate) fn delay(&self, retry: u32) -> Duration {
        self.interval.saturating_mul(retry.max(1))
    }

    /// The wait before retry number `retry` (1-based) of a whole request the server answered
    /// with `Retry-After: retry_after` (seconds), if it did: the server's wish, capped.
    pub(crate) fn request_delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(wait) => wait.min(MAX_RETRY_AFTER),
            None => self.delay(retry),
        }
    }

    /// The wait before retry number `retry` (1-based) of an item rejected by a cluster that
    /// rejected `rejected_share` (0–1) of the recent items: `jitter` (0.5–1.0) of
    /// [`ITEM_BACKOFF_BASE`] × 2^(retry−1), capped by `interval` and [`ITEM_BACKOFF_CAP`].
    ///
    /// The share is the cluster's signal: one that accepts most of what it gets is not
    /// overloaded, it turned some items away (a busy shard's write queue was full), and
    /// those come back within [`ITEM_BACKOFF_BASE`] × 2^[`CALM_MAX_DOUBLINGS`]; one that
    /// rejects most items is, and they back off all the way to the cap.
    pub(crate) fn item_delay(&self, retry: u32, rejected_share: f64, jitter: f64) -> Duration {
        let cap = self.interval.min(ITEM_BACKOFF_CAP);
        let mut doublings = retry.saturating_sub(1).min(16);
        if rejected_share <= CALM_REJECTED_SHARE {
            doublings = doublings.min(CALM_MAX_DOUBLINGS);
        }
        let grown = ITEM_BACKOFF_BASE.saturating_mul(1u32 << doublings);
        grown.min(cap).mul_f64(jitter.clamp(0.5, 1.0))
    }

    /// How long items are retried at least: what the linear schedule of `max_retries` rounds
    /// waits in all (interval × (1 + 2 + … + max_retries)).
    pub(crate) fn item_window(&self) -> Duration {
        let rounds = self.max_retries.min(1000);
        self.interval.saturating_mul(rounds * (rounds + 1) / 2)
    }

    /// Whether an item rejected again after `retries` retries, first rejected `rejected_for`
    /// ago, is given up: only after `max_retries` retries and [`Self::item_window`].
    pub(crate) fn item_gives_up(&self, retries: u32, rejected_for: Duration) -> bool {
        retries >= self.max_retries && rejected_for >= self.item_window()
    }
}

impl RetryPolicy {
    /// Whether a request that got no answer is worth another try.
    pub(crate) fn retries_no_answer(&self, timed_out: bool) -> bool {
        !timed_out || self.retry_on_timeout
    }
}

/// Whether a whole request answered with `status` is sent again.
pub(super) fn request_status_is_transient(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// What became of one bulk item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ItemVerdict {
    /// Indexed (created or updated).
    Indexed,
    /// Deleted.
    Deleted,
    /// A delete of a document that was not there: nothing left to do.
    AlreadyDeleted,
    /// Rejected for now (429, 5xx): send it again.
    Retry,
    /// Rejected for good.
    Failed,
}

/// The verdict for an item of kind `op` that answered `status`.
pub(super) fn item_verdict(op: OpKind, status: u16) -> ItemVerdict {
    match (op, status) {
        (OpKind::Index, 200..=299) => ItemVerdict::Indexed,
        (OpKind::Delete, 200..=299) => ItemVerdict::Deleted,
        (OpKind::Delete, 404) => ItemVerdict::AlreadyDeleted,
        (_, 429) | (_, 500..=599) => ItemVerdict::Retry,
        _ => ItemVerdict::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_is_linear_and_scales() {
        let p = RetryPolicy { max_retries: 5, interval: Duration::from_secs(10), retry_on_timeout: true };
        let waits: Vec<u64> = (1..=4).map(|n| p.delay(n).as_secs()).collect();
        assert_eq!(waits, [10, 20, 30, 40]);
        let fast =
            RetryPolicy { max_retries: 5, interval: Duration::from_millis(2), retry_on_timeout: false };
        assert_eq!(fast.delay(3), Duration::from_millis(6));
        assert!(fast.retries_no_answer(false), "connection errors are always retried");
        assert!(!fast.retries_no_answer(true), "timeouts only with retry_on_timeout");
        assert!(p.retries_no_answer(true));
    }

    #[test]
    fn rejected_items_wait_briefly_and_are_kept_for_long() {
        let p = RetryPolicy { max_retries: 5, interval: Duration::from_secs(10), retry_on_timeout: true };
        let overloaded: Vec<u128> = (1..=8).map(|n| p.item_delay(n, 0.9, 1.0).as_millis()).collect();
        assert_eq!(overloaded, [50, 100, 200, 400, 800, 1600, 3000, 3000]);
        let busy: Vec<u128> = (1..=8).map(|n| p.item_delay(n, 0.3, 1.0).as_millis()).collect();
        assert_eq!(busy, [50, 100, 200, 200, 200, 200, 200, 200], "mostly accepted: short waits");
        assert_eq!(p.item_delay(3, 1.0, 0.5), Duration::from_millis(100), "jitter halves at most");
        assert_eq!(p.item_delay(40, 1.0, 1.0), ITEM_BACKOFF_CAP, "no overflow");
        let short = RetryPolicy { interval: Duration::from_millis(30), ..p };
        assert_eq!(
            short.item_delay(4, 1.0, 1.0),
            Duration::from_millis(30),
            "never above bulk.retry_interval"
        );
        assert_eq!(p.item_window(), Duration::from_secs(150));
        assert!(!p.item_gives_up(5, Duration::from_secs(149)), "inside the window");
        assert!(!p.item_gives_up(4, Duration::from_secs(500)), "fewer than max_retries");
        assert!(p.item_gives_up(5, Duration::from_secs(150)));
        let none = RetryPolicy { max_retries: 0, ..p };
        assert!(none.item_gives_up(0, Duration::ZERO), "bulk.max_retries 0: no item retries");
        assert_eq!(p.request_delay(2, None), Duration::from_secs(20));
        assert_eq!(p.request_delay(2, Some(Duration::from_secs(3))), Duration::from_secs(3));
        assert_eq!(p.request_delay(1, Some(Duration::from_secs(7200))), MAX_RETRY_AFTER);
    }

    #[test]
    fn transient_request_statuses() {
        for s in [429, 500, 502, 503, 504] {
            assert!(request_status_is_transient(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 413, 501] {
            assert!(!request_status_is_transient(s), "{s}");
        }
    }

    #[test]
    fn item_verdicts() {
        assert_eq!(item_verdict(OpKind::Index, 201), ItemVerdict::Indexed);
        assert_eq!(item_verdict(OpKind::Index, 200), ItemVerdict::Indexed);
        assert_eq!(item_verdict(OpKind::Delete, 200), ItemVerdict::Deleted);
        assert_eq!(item_verdict(OpKind::Delete, 404), ItemVerdict::AlreadyDeleted);
        assert_eq!(item_verdict(OpKind::Index, 404), ItemVerdict::Failed);
        assert_eq!(item_verdict(OpKind::Index, 429), ItemVerdict::Retry);
        assert_eq!(item_verdict(OpKind::Delete, 503), ItemVerdict::Retry);
        assert_eq!(item_verdict(OpKind::Index, 400), ItemVerdict::Failed);
    }
}
