//! Where the service reads the time and waits for a scheduled time.
//!
//! Schedules name wall-clock times (`0 0 * * * ?` is the top of each UTC hour), so the
//! service waits on the system clock. Tests hand the service a clock that follows Tokio's
//! clock instead: with Tokio's time paused, waiting hours for a cron slot takes no real time,
//! and the order and timing of runs can be checked exactly.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// The longest single wait: the wall clock is read again after it, so that a clock set
/// forward or back (NTP, a suspended VM) moves the next run with it.
const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// The time source of the service.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// `None`: the system clock. `Some((wall, instant))`: Tokio's clock, reading `wall` at
    /// `instant`.
    tokio_origin: Option<(DateTime<Utc>, Instant)>,
}

impl Clock {
    /// The system clock.
    pub(crate) fn system() -> Clock {
        Clock { tokio_origin: None }
    }

    /// A clock that reads `wall` now and then advances with Tokio's clock (which a test pauses
    /// and advances).
    #[cfg(test)]
    pub(crate) fn following_tokio(wall: DateTime<Utc>) -> Clock {
        Clock { tokio_origin: Some((wall, Instant::now())) }
    }

    /// The time now.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        match self.tokio_origin {
            None => Utc::now(),
            Some((wall, origin)) => {
                let elapsed = chrono::Duration::from_std(origin.elapsed()).unwrap_or(chrono::Duration::MAX);
                wall.checked_add_signed(elapsed).unwrap_or(DateTime::<Utc>::MAX_UTC)
            }
        }
    }

    /// Waits until `at` (returns at once when it has passed).
    pub(crate) async fn sleep_until(&self, at: DateTime<Utc>) {
        loop {
            let Ok(left) = (at - self.now()).to_std() else { return };
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left.min(LONGEST_WAIT)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_tokio_clock_waits_hours_without_real_time() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z").unwrap().with_timezone(&Utc);
        let clock = Clock::following_tokio(start);
        let real = std::time::Instant::now();
        clock.sleep_until(start + chrono::Duration::hours(3)).await;
        assert_eq!(clock.now(), start + chrono::Duration::hours(3));
        assert!(real.elapsed() < Duration::from_secs(1));
        // A time in the past returns at once.
        clock.sleep_until(start).await;
        assert_eq!(clock.now(), start + chrono::Duration::hours(3));
    }
}
