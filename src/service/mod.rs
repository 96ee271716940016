//! The long-running service (`run`): scheduled syncs, one at a time, until SIGTERM.
//!
//! The [`timetable`] says which sync is due next; the loop waits until then on its
//! [`clock`] (or until shutdown is requested), runs it to the end, and computes that kind's
//! next time from when it finished. Running one sync at a time is what keeps a full and an
//! incremental sync of the same index apart, and computing from the end is what makes a
//! sync that overruns its next slot delay that run rather than stack runs behind it. On
//! shutdown no new sync starts; a sync in flight gets `service.shutdown_timeout` seconds to
//! finish, then the process leaves it (the next sync brings the index back in line). The
//! [`metrics`] follow every step, and the [`health`] port serves them.

mod clock;
mod health;
// Being changed on another branch: its items are narrowed to `pub(crate)` after that merge.
#[allow(unreachable_pub)]
mod metrics;
mod process_metrics;
mod start;
mod timetable;

use std::future::Future;
use std::time::Duration;

use chrono::SecondsFormat;

pub(crate) use clock::Clock;
// Public: the metrics, as tests/elastic_sink.rs reads them while a sink runs.
pub use metrics::Metrics;
pub(crate) use metrics::{Outcome, WorkerState};
pub(crate) use start::{serve, serve_health, ServiceError};
pub(crate) use timetable::Timetable;

use crate::shutdown::Shutdown;
use crate::sync::SyncKind;

use crate::sync::SyncReport;

/// How `run` ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// Shutdown was requested and the service stopped cleanly.
    Shutdown,
    /// A sync in flight did not finish within the shutdown timeout.
    TimedOut,
    /// Nothing is scheduled.
    NothingScheduled,
}

/// Runs the timetable until shutdown. `sync` runs one sync of a kind and returns its report,
/// or why it could not run; either way the service goes on with the next one. It is handed
/// the shutdown handle so that a sync in flight stops its crawl when shutdown is requested
/// (and writes what it already sent) rather than run on until the grace period cuts it off.
pub(crate) async fn run<F, Fut>(
    mut timetable: Timetable,
    mut shutdown: Shutdown,
    grace: Duration,
    clock: Clock,
    metrics: &Metrics,
    sync: F,
) -> Stopped
where
    F: Fn(SyncKind, Shutdown) -> Fut,
    Fut: Future<Output = Result<SyncReport, String>>,
{
    loop {
        let Some((kind, at)) = timetable.next() else { return Stopped::NothingScheduled };
        metrics.set_state(WorkerState::Idle);
        tracing::info!(
            kind = kind.name(),
            at = %at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "next sync scheduled"
        );
        tokio::select! {
            _ = clock.sleep_until(at) => {}
            _ = shutdown.wait() => {}
        }
        if shutdown.requested() {
            metrics.set_state(WorkerState::Stopping);
            return Stopped::Shutdown;
        }
        tracing::info!(kind = kind.name(), "scheduled sync starting");
        metrics.set_state(WorkerState::Running(kind));
        let started = clock.now();
        let run = sync(kind, shutdown.clone());
        tokio::pin!(run);
        let (result, stopping) = tokio::select! {
            // A sync that ended because the signal ended its waits is one stopped by it.
            result = &mut run => {
                let stopping = shutdown.requested();
                if stopping {
                    metrics.set_state(WorkerState::Stopping);
                }
                (result, stopping)
            }
            _ = shutdown.wait() => {
                metrics.set_state(WorkerState::Stopping);
                match tokio::time::timeout(grace, &mut run).await {
                    Ok(result) => (result, true),
                    Err(_) => {
                        tracing::error!(
                            kind = kind.name(),
                            grace_s = grace.as_secs(),
                            "the sync did not finish within the shutdown timeout; leaving it (the next sync brings the index back in line)"
                        );
                        return Stopped::TimedOut;
                    }
                }
            }
        };
        let ended = clock.now();
        let took = (ended - started).to_std().unwrap_or(Duration::ZERO);
        log_outcome(kind, &result, took, stopping);
        metrics.sync_ended(kind, &result, took, ended);
        if stopping {
            return Stopped::Shutdown;
        }
        timetable.finished(kind, ended);
    }
}

/// One line per sync at its end (the sync itself has logged its report). A sync that
/// stopped because shutdown was asked for (`stopping`) did what it was told: INFO, not ERROR.
fn log_outcome(kind: SyncKind, result: &Result<SyncReport, String>, took: Duration, stopping: bool) {
    let (kind, seconds) = (kind.name(), took.as_secs_f64());
    match (Outcome::of(result), result) {
        (Outcome::Completed, _) => tracing::info!(kind, seconds, "scheduled sync completed"),
        (Outcome::Incomplete, Ok(report)) if stopping && report.stopped().is_some() => tracing::info!(
            kind,
            seconds,
            "scheduled sync stopped for the shutdown ({}): what was listed is written, nothing deleted, \
             the cursor stays; the next run picks up from there",
            report.stopped().unwrap_or_default()
        ),
        (Outcome::CompletedWithFailures, Ok(report)) => tracing::error!(
            kind,
            seconds,
            failed = report.failed.len(),
            "scheduled sync completed, but {} documents failed; the next sync tries them again",
            report.failed.len()
        ),
        (_, Ok(report)) => tracing::error!(
            kind,
            seconds,
            "scheduled {}; the next sync tries again",
            report.incomplete_reason().unwrap_or_else(|| "sync incomplete".into())
        ),
        // Its waits ended at the signal (a retry not sent, a pause cut short): asked for.
        (_, Err(reason)) if stopping => tracing::warn!(
            kind,
            seconds,
            "scheduled sync ended by the shutdown: {reason}; the next run starts it again"
        ),
        (_, Err(reason)) => tracing::error!(kind, seconds, "scheduled sync failed: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    //! The loop on Tokio's paused clock: hours of schedule pass in no real time, and every
    //! start and end is checked to the second.

    use super::*;
    use crate::schedule::Schedule;
    use chrono::{DateTime, Utc};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn minutes(n: u64) -> Duration {
        Duration::from_secs(60 * n)
    }

    /// A sync that takes `took` of the clock's time and records when it ran.
    #[derive(Clone, Default)]
    struct Recorder {
        /// (kind, start, end) of every sync.
        runs: Arc<Mutex<Vec<(SyncKind, String, String)>>>,
        /// Syncs in flight now, and the most ever.
        in_flight: Arc<AtomicU32>,
        most_in_flight: Arc<AtomicU32>,
    }

    impl Recorder {
        async fn sync(&self, clock: Clock, kind: SyncKind, took: Duration) -> Result<SyncReport, String> {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            let start = clock.now();
            tokio::time::sleep(took).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let time = |t: DateTime<Utc>| t.format("%H:%M").to_string();
            self.runs.lock().unwrap().push((kind, time(start), time(clock.now())));
            Ok(SyncReport::default())
        }

        fn runs(&self) -> Vec<(SyncKind, String, String)> {
            self.runs.lock().unwrap().clone()
        }

        fn count(&self) -> usize {
            self.runs.lock().unwrap().len()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn three_kinds_run_one_at_a_time_and_an_overrun_delays_instead_of_stacking() {
        let start = at("2026-01-05T09:58:00Z");
        let clock = Clock::following_tokio(start);
        let mut timetable = Timetable::new();
        timetable.add(SyncKind::Full, Schedule::parse("0 0 10 * * ?").unwrap(), start);
        timetable.add(SyncKind::Incremental, Schedule::parse("0 */15 * * * ?").unwrap(), start);
        timetable.add(SyncKind::AccessControl, Schedule::parse("30m").unwrap(), start);
        let (tx, shutdown) = Shutdown::manual();
        let recorder = Recorder::default();
        let metrics = Metrics::new();
        let stopped = run(timetable, shutdown, Duration::from_secs(30), clock, &metrics, |kind, _| {
            let (recorder, tx) = (recorder.clone(), tx.clone());
            async move {
                let took = match kind {
                    SyncKind::Full => minutes(25),
                    SyncKind::Incremental => minutes(2),
                    SyncKind::AccessControl => minutes(1),
                };
                let report = recorder.sync(clock, kind, took).await;
                if recorder.count() == 7 {
                    let _ = tx.send(true);
                }
                report
            }
        })
        .await;
        assert_eq!(stopped, Stopped::Shutdown);
        let expected = [
            // Full and incremental are both due at 10:00; the full sync goes first.
            (SyncKind::Full, "10:00", "10:25"),
            // The incremental run due at 10:00 waited for the full sync; its 10:15 slot passed
            // meanwhile and is not run on top.
            (SyncKind::Incremental, "10:25", "10:27"),
            (SyncKind::AccessControl, "10:28", "10:29"),
            (SyncKind::Incremental, "10:30", "10:32"),
            (SyncKind::Incremental, "10:45", "10:47"),
            (SyncKind::AccessControl, "10:59", "11:00"),
            (SyncKind::Incremental, "11:00", "11:02"),
        ]
        .map(|(kind, from, to)| (kind, from.to_string(), to.to_string()));
        assert_eq!(recorder.runs(), expected);
        assert_eq!(recorder.most_in_flight.load(Ordering::SeqCst), 1, "two syncs ran at once");
        let text = metrics.encode();
        for (kind, n) in [("full", 1), ("incremental", 4), ("access_control", 2)] {
            let series =
                format!("confluence_connector_syncs_total{{kind=\"{kind}\",outcome=\"completed\"}} {n}");
            assert!(text.contains(&series), "{series} missing:\n{text}");
        }
        assert_eq!(metrics.state(), WorkerState::Stopping);
    }

    #[tokio::test(start_paused = true)]
    async fn a_sync_longer_than_its_interval_runs_back_to_back_never_twice_at_once() {
        let start = at("2026-01-05T10:00:00Z");
        let clock = Clock::following_tokio(start);
        let mut timetable = Timetable::new();
        timetable.add(SyncKind::Full, Schedule::parse("0 */10 * * * ?").unwrap(), start);
        let (tx, shutdown) = Shutdown::manual();
        let recorder = Recorder::default();
        let metrics = Metrics::new();
        run(timetable, shutdown, Duration::from_secs(30), clock, &metrics, |kind, _| {
            let (recorder, tx) = (recorder.clone(), tx.clone());
            async move {
                let report = recorder.sync(clock, kind, minutes(25)).await;
                if recorder.count() == 3 {
                    let _ = tx.send(true);
                }
                report
            }
        })
        .await;
        // Slots every 10 minutes, runs of 25: each run starts at the first slot after the
        // previous one ended; the slots in between are skipped.
        let starts: Vec<String> = recorder.runs().into_iter().map(|(_, from, _)| from).collect();
        assert_eq!(starts, ["10:10", "10:40", "11:10"]);
        assert_eq!(recorder.most_in_flight.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_while_waiting_starts_nothing() {
        let start = at("2026-01-05T10:05:00Z");
        let clock = Clock::following_tokio(start);
        let mut timetable = Timetable::new();
        timetable.add(SyncKind::Full, Schedule::parse("0 0 * * * ?").unwrap(), start);
        let (tx, shutdown) = Shutdown::manual();
        tokio::spawn(async move {
            tokio::time::sleep(minutes(20)).await;
            let _ = tx.send(true);
        });
        let runs = AtomicU32::new(0);
        let metrics = Metrics::new();
        let stopped = run(timetable, shutdown, Duration::from_secs(30), clock, &metrics, |_, _| {
            runs.fetch_add(1, Ordering::SeqCst);
            async { Ok(SyncReport::default()) }
        })
        .await;
        assert_eq!(stopped, Stopped::Shutdown);
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        assert_eq!(clock.now(), at("2026-01-05T10:25:00Z"), "it stopped when asked, not at the next slot");
        assert_eq!(metrics.state(), WorkerState::Stopping);
    }

    #[tokio::test(start_paused = true)]
    async fn a_sync_in_flight_may_finish_within_the_grace_period() {
        let start = at("2026-01-05T10:00:00Z");
        let clock = Clock::following_tokio(start);
        let mut timetable = Timetable::new();
        timetable.add(SyncKind::Incremental, Schedule::parse("5m").unwrap(), start);
        let (tx, shutdown) = Shutdown::manual();
        let metrics = Metrics::new();
        let stopped = run(timetable, shutdown, Duration::from_secs(30), clock, &metrics, |_, _| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(true);
                tokio::time::sleep(Duration::from_secs(20)).await;
                Ok(SyncReport::default())
            }
        })
        .await;
        assert_eq!(stopped, Stopped::Shutdown);
        assert_eq!(clock.now(), at("2026-01-05T10:05:20Z"));
        let text = metrics.encode();
        assert!(
            text.contains("confluence_connector_syncs_total{kind=\"incremental\",outcome=\"completed\"} 1"),
            "the sync that finished during the grace period is counted:\n{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_sync_in_flight_is_told_to_stop_and_ends_before_its_grace_period() {
        let start = at("2026-01-05T10:00:00Z");
        let clock = Clock::following_tokio(start);
        let mut timetable = Timetable::new();
        timetable.add(SyncKind::Full, Schedule::parse("5m").unwrap(), start);
        let (tx, shutdown) = Shutdown::manual();
        tokio::spawn(async move {
            tokio::time::sleep(minutes(6)).await;
            let _ = tx.send(true);
        });
        let stopped =
            run(timetable, shutdown, minutes(10), clock, &Metrics::new(), |_, mut stop| async move {
                // A sync that would take an hour, but listens.
                tokio::select! {
                    _ = tokio::time::sleep(minutes(60)) => {}
                    _ = stop.wait() => tokio::time::sleep(Duration::from_secs(2)).await,
                }
                Ok(SyncReport::default())
            })
            .await;
        assert_eq!(stopped, Stopped::Shutdown);
        assert_eq!(clock.now(), at("2026-01-05T10:06:02Z"), "it ended when its sync did");
    }

    #[tokio::test(start_paused = true)]
    async fn a_sync_in_flight_is_left_when_the_grace_period_ends() {
        let start = at("2026-01-05T10:00:00Z");
        let clock = Clock::following_tokio(start);
        let mut timetable = Timetable::new();
        timetable.add(SyncKind::Full, Schedule::parse("1m").unwrap(), start);
        let (tx, shutdown) = Shutdown::manual();
        let stopped = run(timetable, shutdown, Duration::from_secs(30), clock, &Metrics::new(), |_, _| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(true);
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(SyncReport::default())
            }
        })
        .await;
        assert_eq!(stopped, Stopped::TimedOut);
        assert_eq!(clock.now(), at("2026-01-05T10:01:30Z"), "exactly the grace period after the signal");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_or_incomplete_sync_is_counted_and_the_schedule_goes_on() {
        let start = at("2026-01-05T10:00:00Z");
        let clock = Clock::following_tokio(start);
        let mut timetable = Timetable::new();
        timetable.add(SyncKind::Full, Schedule::parse("10m").unwrap(), start);
        let (tx, shutdown) = Shutdown::manual();
        let calls = AtomicU32::new(0);
        let metrics = Metrics::new();
        run(timetable, shutdown, Duration::from_secs(30), clock, &metrics, |_, _| {
            let call = calls.fetch_add(1, Ordering::SeqCst);
            let tx = tx.clone();
            async move {
                match call {
                    0 => Err("cannot reach http://127.0.0.1:9200".to_string()),
                    1 => Ok(SyncReport {
                        incomplete: vec![crate::sync::Incomplete::Space {
                            key: "DEV".into(),
                            error: "500".into(),
                        }],
                        ..SyncReport::default()
                    }),
                    _ => {
                        let _ = tx.send(true);
                        Ok(SyncReport::default())
                    }
                }
            }
        })
        .await;
        let text = metrics.encode();
        for outcome in ["failed", "incomplete", "completed"] {
            let series = format!("confluence_connector_syncs_total{{kind=\"full\",outcome=\"{outcome}\"}} 1");
            assert!(text.contains(&series), "{series} missing:\n{text}");
        }
    }

    #[tokio::test]
    async fn nothing_scheduled_returns_at_once() {
        let (_tx, shutdown) = Shutdown::manual();
        let stopped = run(
            Timetable::new(),
            shutdown,
            Duration::from_secs(1),
            Clock::system(),
            &Metrics::new(),
            |_, _| async { Ok(SyncReport::default()) },
        )
        .await;
        assert_eq!(stopped, Stopped::NothingScheduled);
    }
}
