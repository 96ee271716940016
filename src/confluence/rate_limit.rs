//! Pacing of one client's requests: a ceiling, a shared pause, and a concurrency bound.
//!
//! Three independent brakes, all shared by every request of a client:
//! - a "paused until" instant: when Confluence answers 429 (or Server/DC's 403 "rate limit"),
//!   every request — not only the one that was refused — waits until the `Retry-After`
//!   instant, because the quota is per user, not per request;
//! - a `governor` token bucket for the configured `requests_per_second` ceiling;
//! - a semaphore bounding requests in flight (`max_concurrent_requests`).

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// The pacing state of one client.
#[derive(Debug)]
pub(super) struct Throttle {
    paused_until: Mutex<Option<Instant>>,
    limiter: Option<DefaultDirectRateLimiter>,
    in_flight: Semaphore,
    /// The bound of `in_flight`.
    max_concurrent: usize,
}

impl Throttle {
    /// Requests allowed in flight at once.
    pub(super) fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// A throttle with an optional requests-per-second ceiling (fractions allowed: 0.5 is
    /// one request every two seconds) and a concurrency bound.
    pub(super) fn new(requests_per_second: Option<f64>, max_concurrent: usize) -> Self {
        let limiter = requests_per_second
            .filter(|rate| rate.is_finite() && *rate > 0.0)
            .and_then(|rate| Quota::with_period(Duration::from_secs_f64(1.0 / rate)))
            .map(|quota| RateLimiter::direct(quota.allow_burst(NonZeroU32::MIN)));
        let max_concurrent = max_concurrent.max(1);
        Throttle {
            paused_until: Mutex::new(None),
            limiter,
            in_flight: Semaphore::new(max_concurrent),
            max_concurrent,
        }
    }

    /// Pauses every request of the client for `wait` (extends, never shortens, a pause).
    pub(super) fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    /// The instant requests are paused until, if in the future.
    pub(super) fn paused_until(&self) -> Option<Instant> {
        let paused = *self.paused_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        paused.filter(|until| *until > Instant::now())
    }

    /// Waits for the pause, the rate ceiling and a free slot; the permit is held for the
    /// duration of the request.
    pub(super) async fn admit(&self) -> SemaphorePermit<'_> {
        loop {
            // A pause may be extended while we sleep, hence the loop.
            while let Some(until) = self.paused_until() {
                tokio::time::sleep_until(until).await;
            }
            if let Some(limiter) = &self.limiter {
                limiter.until_ready().await;
            }
            // The semaphore lives as long as the throttle and is never closed, so acquiring
            // cannot fail.
            #[allow(clippy::expect_used)] // An invariant of this type, not input.
            let permit = self.in_flight.acquire().await.expect("the request semaphore is never closed");
            // A 429 may have arrived while this request queued for a slot: it waits too.
            if self.paused_until().is_none() {
                return permit;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pause_holds_every_request_and_is_never_shortened() {
        let throttle = Throttle::new(None, 2);
        throttle.pause_for(Duration::from_millis(150));
        throttle.pause_for(Duration::from_millis(10));
        let started = std::time::Instant::now();
        let _permit = throttle.admit().await;
        assert!(started.elapsed() >= Duration::from_millis(140), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn the_ceiling_spaces_requests() {
        let throttle = Throttle::new(Some(20.0), 4);
        let started = std::time::Instant::now();
        for _ in 0..5 {
            drop(throttle.admit().await);
        }
        // 5 requests at 20/s with a burst of 1 need at least 4 intervals of 50 ms.
        assert!(started.elapsed() >= Duration::from_millis(190), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_fraction_of_a_request_per_second_is_kept_exactly() {
        // 2.5/s is one request every 400 ms (rounded up to 3/s it would be 333 ms).
        let throttle = Throttle::new(Some(2.5), 4);
        let started = std::time::Instant::now();
        for _ in 0..3 {
            drop(throttle.admit().await);
        }
        assert!(started.elapsed() >= Duration::from_millis(790), "{:?}", started.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn requests_queued_for_a_slot_wait_for_a_pause_that_began_meanwhile() {
        let throttle = std::sync::Arc::new(Throttle::new(None, 1));
        let held = throttle.admit().await;
        let queued = {
            let throttle = throttle.clone();
            tokio::spawn(async move {
                let _permit = throttle.admit().await;
                Instant::now()
            })
        };
        tokio::task::yield_now().await;
        // The request in flight is refused with a 429: the pause starts before its slot
        // is given back, as `ConfluenceClient::run_with` does.
        let refused_at = Instant::now();
        throttle.pause_for(Duration::from_secs(30));
        drop(held);
        let admitted_at = queued.await.unwrap();
        assert!(admitted_at - refused_at >= Duration::from_secs(30), "{:?}", admitted_at - refused_at);
    }
}
