//! Injected failures: rules that, for one route template or for every route, on the Nth
//! matching request, on the first N, or at a rate, add latency, answer 429 / 503 with
//! `Retry-After` (seconds or an HTTP date), 500 / 502 / 504, Server's 403-for-rate-limit,
//! or spoil the body (dropped connection mid-body, truncated JSON, a slow trickle). The
//! random choices come from a seeded generator, so a failing test replays identically.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How a `Retry-After` header is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `Retry-After: <HTTP date>`, this far in the future.
    HttpDate(Duration),
    /// No `Retry-After` header.
    Absent,
}

/// What a fault does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Waits `fixed` plus up to `jitter` before answering normally.
    Latency {
        /// Always added.
        fixed: Duration,
        /// Uniformly random extra, up to this.
        jitter: Duration,
    },
    /// 429 Too Many Requests.
    TooManyRequests {
        /// The `Retry-After` header.
        retry_after: RetryAfter,
    },
    /// 503 Service Unavailable.
    Unavailable {
        /// The `Retry-After` header.
        retry_after: RetryAfter,
    },
    /// A bare error status (500, 502, 504).
    Status(u16),
    /// Server/DC's rate limiter answering 403 instead of 429.
    RateLimitForbidden,
    /// The connection is closed after part of the body was sent.
    DropMidBody,
    /// A 200 whose JSON body is cut in half (with a matching `Content-Length`).
    TruncatedJson,
    /// A 200 listing whose first result has a `title` that is not a string (its `id` is
    /// intact): one malformed item among good ones.
    MalformedItem,
    /// The body is sent in small chunks at a steady pace, as over a slow link: chunk `i`
    /// leaves no earlier than `i × delay` after the first (a deadline, so the time each chunk
    /// takes to send does not slow the pace, whatever the body's length).
    SlowBody {
        /// Bytes per chunk.
        chunk: usize,
        /// Time between chunks.
        delay: Duration,
    },
}

/// When a rule fires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// On every matching request.
    Always,
    /// On each matching request with this probability (0.0–1.0).
    Rate(f64),
    /// On the Nth matching request only (1-based).
    Nth(u64),
    /// On the first N matching requests.
    FirstN(u64),
    /// On every matching request after the first N: a listing that works, then breaks for
    /// good part-way through a crawl.
    AfterN(u64),
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// The route template it applies to (as in the request log), or `None` for every route.
    pub route: Option<String>,
    /// Only requests whose query string contains this (percent-encoded, as sent), or any.
    pub query: Option<String>,
    /// When it fires.
    pub trigger: Trigger,
    /// What it does.
    pub kind: FaultKind,
}

impl FaultRule {
    /// A rule for one route template (e.g. `/rest/api/content/search`).
    pub fn on(route: &str, trigger: Trigger, kind: FaultKind) -> FaultRule {
        FaultRule { route: Some(route.to_string()), query: None, trigger, kind }
    }

    /// The same rule, only for requests whose query string contains `part` — one listing
    /// among the many a route serves (`expand=ancestors`).
    pub fn when_query_contains(mut self, part: &str) -> FaultRule {
        self.query = Some(part.to_string());
        self
    }

    /// A rule for every route.
    pub fn global(trigger: Trigger, kind: FaultKind) -> FaultRule {
        FaultRule { route: None, query: None, trigger, kind }
    }
}

#[derive(Debug)]
struct Armed {
    id: u64,
    rule: FaultRule,
    seen: u64,
}

#[derive(Debug)]
struct State {
    rules: Vec<Armed>,
    next_id: u64,
    rng: ChaCha8Rng,
}

/// The fault rules of one simulator (cheap to clone; clones share the rules).
#[derive(Debug, Clone)]
pub struct Faults {
    state: Arc<Mutex<State>>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            state: Arc::new(Mutex::new(State {
                rules: Vec::new(),
                next_id: 1,
                rng: ChaCha8Rng::seed_from_u64(0x5eed),
            })),
        }
    }
}

impl Faults {
    /// Adds a rule; returns its id (for [`Faults::remove`]).
    pub fn add(&self, rule: FaultRule) -> u64 {
        let Ok(mut state) = self.state.lock() else {
            return 0;
        };
        let id = state.next_id;
        state.next_id += 1;
        state.rules.push(Armed { id, rule, seen: 0 });
        id
    }

    /// Removes one rule.
    pub fn remove(&self, id: u64) {
        if let Ok(mut state) = self.state.lock() {
            state.rules.retain(|r| r.id != id);
        }
    }

    /// How many requests a rule has matched so far (0 once removed): lets a test act while
    /// a delayed request is held.
    pub fn seen(&self, id: u64) -> u64 {
        let Ok(state) = self.state.lock() else {
            return 0;
        };
        state.rules.iter().find(|r| r.id == id).map_or(0, |r| r.seen)
    }

    /// Removes every rule.
    pub fn clear(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.rules.clear();
        }
    }

    /// The faults that fire for one request to `route` with `query`, in the order they were
    /// added.
    pub fn decide(&self, route: &str, query: &str) -> Vec<FaultKind> {
        let Ok(mut state) = self.state.lock() else {
            return Vec::new();
        };
        let State { rules, rng, .. } = &mut *state;
        let mut fired = Vec::new();
        for armed in rules.iter_mut() {
            if armed.rule.route.as_deref().is_some_and(|r| r != route)
                || armed.rule.query.as_deref().is_some_and(|q| !query.contains(q))
            {
                continue;
            }
            armed.seen += 1;
            let fires = match armed.rule.trigger {
                Trigger::Always => true,
                Trigger::Rate(p) => rng.gen_bool(p.clamp(0.0, 1.0)),
                Trigger::Nth(n) => armed.seen == n,
                Trigger::FirstN(n) => armed.seen <= n,
                Trigger::AfterN(n) => armed.seen > n,
            };
            if fires {
                let mut kind = armed.rule.kind;
                if let FaultKind::Latency { fixed, jitter } = kind {
                    let extra = if jitter.is_zero() {
                        Duration::ZERO
                    } else {
                        Duration::from_micros(rng.gen_range(0..=jitter.as_micros() as u64))
                    };
                    kind = FaultKind::Latency { fixed: fixed + extra, jitter: Duration::ZERO };
                }
                fired.push(kind);
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_and_first_n_fire_exactly_when_asked() {
        let faults = Faults::default();
        faults.add(FaultRule::on("/a", Trigger::Nth(2), FaultKind::Status(500)));
        faults.add(FaultRule::global(Trigger::FirstN(1), FaultKind::Status(502)));
        assert_eq!(faults.decide("/a", ""), vec![FaultKind::Status(502)]);
        assert_eq!(faults.decide("/a", ""), vec![FaultKind::Status(500)]);
        assert_eq!(faults.decide("/a", ""), vec![]);
        assert_eq!(faults.decide("/b", ""), vec![]);
    }

    #[test]
    fn a_query_filter_counts_and_fires_only_on_matching_requests() {
        let faults = Faults::default();
        let rule = FaultRule::on("/s", Trigger::Nth(1), FaultKind::Status(401))
            .when_query_contains("expand=ancestors");
        faults.add(rule);
        assert_eq!(faults.decide("/s", "cql=x&expand=space"), vec![]);
        assert_eq!(faults.decide("/s", "cql=x&expand=ancestors"), vec![FaultKind::Status(401)]);
        assert_eq!(faults.decide("/s", "cql=x&expand=ancestors"), vec![]);
    }

    #[test]
    fn after_n_fires_on_every_request_past_the_first_n() {
        let faults = Faults::default();
        faults.add(FaultRule::on("/a", Trigger::AfterN(2), FaultKind::Status(500)));
        let fired: Vec<bool> = (0..5).map(|_| !faults.decide("/a", "").is_empty()).collect();
        assert_eq!(fired, [false, false, true, true, true]);
    }

    #[test]
    fn rates_are_roughly_honoured_and_removal_works() {
        let faults = Faults::default();
        let id = faults.add(FaultRule::global(Trigger::Rate(0.5), FaultKind::Status(504)));
        let fired = (0..1000).filter(|_| !faults.decide("/x", "").is_empty()).count();
        assert!((350..650).contains(&fired), "{fired}");
        faults.remove(id);
        assert!(faults.decide("/x", "").is_empty());
    }

    #[test]
    fn latency_jitter_stays_within_bounds() {
        let faults = Faults::default();
        faults.add(FaultRule::global(
            Trigger::Always,
            FaultKind::Latency { fixed: Duration::from_millis(5), jitter: Duration::from_millis(5) },
        ));
        for _ in 0..50 {
            match faults.decide("/x", "")[0] {
                FaultKind::Latency { fixed, .. } => {
                    assert!(fixed >= Duration::from_millis(5) && fixed <= Duration::from_millis(10))
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
