//! Which responses are retried, and how long to wait before the next try.
//!
//! The policy is data you can read in one place: 429, 500, 502, 503, 504, transport errors,
//! timeouts, truncated bodies, and Server/DC's 403 whose body says "rate limit" are retried;
//! 400, 401, 404 and every other status are not (retrying a bad credential only locks the
//! account). The wait is the server's `Retry-After` (seconds or an HTTP date), else its
//! `X-RateLimit-Reset` (ISO-8601), capped at `max_retry_after`; else exponential backoff with
//! full jitter (a uniformly random wait between zero and the backoff step), with the steps
//! produced by `backon`'s exponential builder. A success that reports the quota spent
//! (`X-RateLimit-Remaining: 0`) pauses the client until `X-RateLimit-Reset`.

use std::time::Duration;

use backon::BackoffBuilder;
use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::header::HeaderMap;

/// What to do with a response status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Success: use the response.
    Success,
    /// Try again; `rate_limited` also pauses every request of the client.
    Retry {
        /// The server said we are over a rate limit (429, or 403 "rate limit").
        rate_limited: bool,
    },
    /// Give up at once: retrying cannot help.
    Fail,
}

/// Classifies a response by status and (for 403) body.
pub(super) fn classify(status: u16, body: &[u8]) -> Verdict {
    match status {
        200..=299 => Verdict::Success,
        429 => Verdict::Retry { rate_limited: true },
        403 if says_rate_limit(body) => Verdict::Retry { rate_limited: true },
        500 | 502 | 503 | 504 => Verdict::Retry { rate_limited: false },
        _ => Verdict::Fail,
    }
}

/// Server/DC answers 403 when its rate limiter trips; only the body tells it apart.
fn says_rate_limit(body: &[u8]) -> bool {
    String::from_utf8_lossy(body).to_ascii_lowercase().contains("rate limit")
}

/// The wait the server asked for, capped at `cap`: `Retry-After` first, then
/// `X-RateLimit-Reset`. A date in the past means "now" (zero).
pub(super) fn server_wait(headers: &HeaderMap, now: DateTime<Utc>, cap: Duration) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let wait = header("retry-after")
        .and_then(|value| parse_retry_after(value, now))
        .or_else(|| header("x-ratelimit-reset").and_then(|value| parse_reset(value, now)))?;
    Some(wait.min(cap))
}

/// On a successful response that spent the last of the quota (`X-RateLimit-Remaining: 0`),
/// the wait until the quota resets, so the next request does not earn a 429.
pub(super) fn quota_exhausted_wait(
    headers: &HeaderMap,
    now: DateTime<Utc>,
    cap: Duration,
) -> Option<Duration> {
    let remaining = headers.get("x-ratelimit-remaining")?.to_str().ok()?.trim().parse::<f64>().ok()?;
    if remaining > 0.0 {
        return None;
    }
    server_wait(headers, now, cap).filter(|wait| !wait.is_zero())
}

/// Parses `Retry-After`: delta-seconds (integer or, leniently, fractional) or an HTTP date
/// (IMF-fixdate, which RFC 2822 parsing accepts).
pub(super) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Some(Duration::from_secs_f64(seconds.min(1e9)));
        }
        return None;
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?;
    Some(until(date.with_timezone(&Utc), now))
}

/// Parses `X-RateLimit-Reset` (an ISO-8601 instant).
fn parse_reset(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let date = DateTime::parse_from_rfc3339(value).ok()?;
    Some(until(date.with_timezone(&Utc), now))
}

fn until(then: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (then - now).to_std().unwrap_or(Duration::ZERO)
}

/// The backoff steps (before jitter) for `retries` retries: base, 2·base, 4·base, … ≤ max.
pub(super) fn backoff_steps(base: Duration, max: Duration, retries: u32) -> Vec<Duration> {
    backon::ExponentialBuilder::default()
        .with_min_delay(base)
        .with_max_delay(max)
        .with_factor(2.0)
        .with_max_times(retries as usize)
        .build()
        .collect()
}

/// Full jitter: a uniformly random wait in `[0, step]`.
pub(super) fn full_jitter(step: Duration) -> Duration {
    let millis = step.as_millis().min(u64::MAX as u128) as u64;
    Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
}

/// The wait before retry number `retry` (0-based): the server's wish if any, else jittered
/// backoff.
pub(super) fn delay(server: Option<Duration>, steps: &[Duration], retry: usize) -> Duration {
    match server {
        Some(wait) => wait,
        None => full_jitter(steps.get(retry).or(steps.last()).copied().unwrap_or(Duration::ZERO)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn statuses_and_bodies_decide_retries() {
        let table: &[(u16, &str, Verdict)] = &[
            (200, "", Verdict::Success),
            (204, "", Verdict::Success),
            (429, "", Verdict::Retry { rate_limited: true }),
            (403, "{\"message\":\"Rate Limit exceeded\"}", Verdict::Retry { rate_limited: true }),
            (403, "{\"message\":\"Not permitted\"}", Verdict::Fail),
            (500, "", Verdict::Retry { rate_limited: false }),
            (502, "", Verdict::Retry { rate_limited: false }),
            (503, "", Verdict::Retry { rate_limited: false }),
            (504, "", Verdict::Retry { rate_limited: false }),
            (400, "rate limit", Verdict::Fail),
            (401, "", Verdict::Fail),
            (404, "", Verdict::Fail),
            (410, "", Verdict::Fail),
            (501, "", Verdict::Fail),
        ];
        for (status, body, expected) in table {
            assert_eq!(classify(*status, body.as_bytes()), *expected, "status {status} body {body}");
        }
    }

    #[test]
    fn retry_after_seconds_date_past_and_cap() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap().with_timezone(&Utc);
        let cap = Duration::from_secs(60);
        assert_eq!(server_wait(&headers(&[("Retry-After", "7")]), now, cap), Some(Duration::from_secs(7)));
        assert_eq!(
            server_wait(&headers(&[("Retry-After", "Sun, 22 Nov 2026 10:00:12 GMT")]), now, cap),
            Some(Duration::from_secs(12))
        );
        assert_eq!(
            server_wait(&headers(&[("Retry-After", "Sun, 22 Nov 2026 09:00:00 GMT")]), now, cap),
            Some(Duration::ZERO)
        );
        assert_eq!(server_wait(&headers(&[("Retry-After", "86400")]), now, cap), Some(cap));
        assert_eq!(
            server_wait(&headers(&[("X-RateLimit-Reset", "2026-11-22T10:00:30Z")]), now, cap),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            server_wait(
                &headers(&[("Retry-After", "3"), ("X-RateLimit-Reset", "2026-11-22T10:00:30Z")]),
                now,
                cap
            ),
            Some(Duration::from_secs(3))
        );
        assert_eq!(server_wait(&headers(&[("Retry-After", "soon")]), now, cap), None);
        assert_eq!(server_wait(&headers(&[]), now, cap), None);
    }

    #[test]
    fn an_exhausted_quota_waits_for_its_reset() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap().with_timezone(&Utc);
        let cap = Duration::from_secs(60);
        let spent = headers(&[("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "2026-11-22T10:00:05Z")]);
        assert_eq!(quota_exhausted_wait(&spent, now, cap), Some(Duration::from_secs(5)));
        let left = headers(&[("X-RateLimit-Remaining", "3"), ("X-RateLimit-Reset", "2026-11-22T10:00:05Z")]);
        assert_eq!(quota_exhausted_wait(&left, now, cap), None);
        assert_eq!(quota_exhausted_wait(&headers(&[("X-RateLimit-Remaining", "0")]), now, cap), None);
    }

    #[test]
    fn backoff_grows_and_jitter_stays_below_the_step() {
        let steps = backoff_steps(Duration::from_millis(100), Duration::from_millis(350), 4);
        assert_eq!(steps.len(), 4);
        let millis: Vec<u128> = steps.iter().map(|s| s.as_millis()).collect();
        assert_eq!(millis, [100, 200, 350, 350]);
        for retry in 0..6 {
            let wait = delay(None, &steps, retry);
            assert!(wait <= Duration::from_millis(350), "{wait:?}");
        }
        assert_eq!(delay(Some(Duration::from_secs(2)), &steps, 0), Duration::from_secs(2));
    }
}
