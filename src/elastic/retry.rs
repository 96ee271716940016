//! Which failures are worth another try, and how long to wait before it.
//!
//! One place for the retry policy, as data: a request that got no answer (a connection
//! error, or a timeout when `elasticsearch.retry_on_timeout` is on) or a 429/500/502/503/504
//! is sent again, every request alike (`elasticsearch.max_retries`, `retry_interval`); a bulk
//! item rejected with 429 or any 5xx is sent again *alone* (re-batched with the other
//! rejected items, `elasticsearch.bulk.max_retries`, `bulk.retry_interval`) — unlike the
//! Elastic connector and Vector, which never retry items or retry whole batches. Anything
//! else (mapping errors, illegal arguments, 4xx) is final. Waits grow linearly like the
//! reference's `TransientElasticsearchRetrier`: interval × attempt (10, 20, 30 s …).

use std::time::Duration;

use super::bulk::OpKind;

/// Retries allowed and the back-off between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Back-off base: retry *n* waits `interval × n`.
    pub interval: Duration,
    /// Whether a request that timed out is sent again (`elasticsearch.retry_on_timeout`);
    /// connection errors are, always.
    pub retry_on_timeout: bool,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based).
    pub fn delay(&self, retry: u32) -> Duration {
        self.interval.saturating_mul(retry.max(1))
    }
}

impl RetryPolicy {
    /// Whether a request that got no answer is worth another try.
    pub fn retries_no_answer(&self, timed_out: bool) -> bool {
        !timed_out || self.retry_on_timeout
    }
}

/// Whether a whole request answered with `status` is sent again.
pub fn request_status_is_transient(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// What became of one bulk item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemVerdict {
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
pub fn item_verdict(op: OpKind, status: u16) -> ItemVerdict {
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
