//! Fault injection: what a loaded or failing cluster does to a client — bulk items rejected
//! with 429 `es_rejected_execution_exception`, whole requests answered 429 or 503, the node
//! refusing connections for a while, slow responses — by rate or on the Nth occurrence, so
//! that retry and back-off paths can be tested deterministically.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone)]
struct RequestFault {
    route: Option<String>,
    status: u16,
    rate: f64,
    on: Option<u64>,
    remaining: Option<u64>,
    seen: u64,
}

#[derive(Debug)]
struct FaultState {
    item_reject_rate: f64,
    item_reject_on: BTreeSet<u64>,
    items_seen: u64,
    requests: Vec<RequestFault>,
    refuse_until: Option<Instant>,
    slow: Option<(Duration, f64)>,
    rng: ChaCha8Rng,
}

impl Default for FaultState {
    fn default() -> Self {
        FaultState {
            item_reject_rate: 0.0,
            item_reject_on: BTreeSet::new(),
            items_seen: 0,
            requests: Vec::new(),
            refuse_until: None,
            slow: None,
            rng: ChaCha8Rng::seed_from_u64(0x5eed),
        }
    }
}

/// Handle to the faults of one server (cheap to clone; changes apply at once).
#[derive(Debug, Clone, Default)]
pub struct EsFaults {
    inner: Arc<Mutex<FaultState>>,
}

impl EsFaults {
    fn state(&self) -> MutexGuard<'_, FaultState> {
        // A poisoned lock only means a test panicked while holding it; the state is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seeds the random generator used by rate-based faults (default seed is fixed).
    pub fn seed(&self, seed: u64) {
        self.state().rng = ChaCha8Rng::seed_from_u64(seed);
    }

    /// Rejects each bulk item with probability `rate` (0.0–1.0) with a 429.
    pub fn reject_bulk_items(&self, rate: f64) {
        self.state().item_reject_rate = rate.clamp(0.0, 1.0);
    }

    /// Rejects the `nth` bulk item from now (1-based, counted across requests) with a 429.
    pub fn reject_bulk_item_on(&self, nth: u64) {
        let mut s = self.state();
        let at = s.items_seen + nth;
        s.item_reject_on.insert(at);
    }

    /// Answers requests whose route contains `route` (all when None) with `status` (429 or
    /// 503) with probability `rate`.
    pub fn fail_requests(&self, status: u16, rate: f64, route: Option<&str>) {
        self.state().requests.push(RequestFault {
            route: route.map(str::to_string),
            status,
            rate,
            on: None,
            remaining: None,
            seen: 0,
        });
    }

    /// Answers the `nth` matching request from now (1-based) with `status`.
    pub fn fail_request_on(&self, nth: u64, status: u16, route: Option<&str>) {
        self.state().requests.push(RequestFault {
            route: route.map(str::to_string),
            status,
            rate: 0.0,
            on: Some(nth),
            remaining: Some(1),
            seen: 0,
        });
    }

    /// Answers the next `count` matching requests with `status`.
    pub fn fail_next_requests(&self, count: u64, status: u16, route: Option<&str>) {
        self.state().requests.push(RequestFault {
            route: route.map(str::to_string),
            status,
            rate: 1.0,
            on: None,
            remaining: Some(count),
            seen: 0,
        });
    }

    /// Refuses every connection (new ones get "connection refused", open ones are closed)
    /// for `duration` from now.
    pub fn refuse_connections_for(&self, duration: Duration) {
        self.state().refuse_until = Some(Instant::now() + duration);
    }

    /// Delays responses by `delay` with probability `rate`.
    pub fn slow_responses(&self, delay: Duration, rate: f64) {
        self.state().slow = Some((delay, rate.clamp(0.0, 1.0)));
    }

    /// Removes every fault.
    pub fn clear(&self) {
        let mut s = self.state();
        s.item_reject_rate = 0.0;
        s.item_reject_on.clear();
        s.requests.clear();
        s.refuse_until = None;
        s.slow = None;
    }

    /// Whether the next bulk item is to be rejected (counts the item).
    pub(crate) fn bulk_item_rejected(&self) -> bool {
        let mut s = self.state();
        s.items_seen += 1;
        let n = s.items_seen;
        if s.item_reject_on.remove(&n) {
            return true;
        }
        let rate = s.item_reject_rate;
        rate > 0.0 && s.rng.gen_bool(rate)
    }

    /// The status to fail this request with, if any.
    pub(crate) fn request_fault(&self, route: &str, path: &str) -> Option<u16> {
        let mut s = self.state();
        let FaultState { requests, rng, .. } = &mut *s;
        let mut hit = None;
        for f in requests.iter_mut() {
            if f.route.as_deref().is_some_and(|r| !route.contains(r) && !path.contains(r)) {
                continue;
            }
            f.seen += 1;
            let fire = match f.on {
                Some(n) => f.seen == n,
                None => f.rate >= 1.0 || (f.rate > 0.0 && rng.gen_bool(f.rate)),
            };
            if fire && hit.is_none() {
                hit = Some(f.status);
                if let Some(r) = &mut f.remaining {
                    *r = r.saturating_sub(1);
                }
            }
        }
        requests.retain(|f| f.remaining != Some(0));
        hit
    }

    /// The delay to apply to this response, if any.
    pub(crate) fn delay(&self) -> Option<Duration> {
        let mut s = self.state();
        let (d, rate) = s.slow?;
        (rate >= 1.0 || s.rng.gen_bool(rate)).then_some(d)
    }

    /// Until when connections are refused, if now.
    pub(crate) fn refusing_until(&self) -> Option<Instant> {
        let mut s = self.state();
        match s.refuse_until {
            Some(t) if t > Instant::now() => Some(t),
            Some(_) => {
                s.refuse_until = None;
                None
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_faults_fire_once() {
        let f = EsFaults::default();
        f.reject_bulk_item_on(2);
        assert!(!f.bulk_item_rejected());
        assert!(f.bulk_item_rejected());
        assert!(!f.bulk_item_rejected());
        f.fail_request_on(2, 503, Some("_bulk"));
        assert_eq!(f.request_fault("GET /", "/"), None);
        assert_eq!(f.request_fault("POST /_bulk", "/_bulk"), None);
        assert_eq!(f.request_fault("POST /_bulk", "/_bulk"), Some(503));
        assert_eq!(f.request_fault("POST /_bulk", "/_bulk"), None);
        f.fail_next_requests(2, 429, None);
        assert_eq!(f.request_fault("GET /", "/"), Some(429));
        assert_eq!(f.request_fault("GET /", "/"), Some(429));
        assert_eq!(f.request_fault("GET /", "/"), None);
    }

    #[test]
    fn rates_are_reproducible() {
        let f = EsFaults::default();
        f.reject_bulk_items(0.5);
        let n = (0..1000).filter(|_| f.bulk_item_rejected()).count();
        assert!((400..600).contains(&n), "{n}");
    }
}
