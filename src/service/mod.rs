//! The long-running service (`run`): scheduled syncs, one at a time, until SIGTERM.
//!
//! The [`timetable`] says which sync is due next; the loop sleeps until then (or until
//! shutdown is requested), runs it to the end, and computes that kind's next time from when
//! it finished. On shutdown no new sync starts; a sync in flight gets
//! `service.shutdown_timeout` seconds to finish, then the process leaves it.

pub mod shutdown;
pub mod timetable;

use std::future::Future;
use std::time::Duration;

use chrono::Utc;

pub use shutdown::Shutdown;
pub use timetable::{SyncKind, Timetable};

/// How `run` ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Shutdown was requested and the service stopped cleanly.
    Shutdown,
    /// A sync in flight did not finish within the shutdown timeout.
    TimedOut,
    /// Nothing is scheduled.
    NothingScheduled,
}

/// Runs the timetable until shutdown. `sync` runs one sync of a kind and says whether it
/// completed (a failed sync is logged; the service goes on).
pub async fn run<F, Fut>(
    mut timetable: Timetable,
    mut shutdown: Shutdown,
    grace: Duration,
    sync: F,
) -> Stopped
where
    F: Fn(SyncKind) -> Fut,
    Fut: Future<Output = Result<String, String>>,
{
    loop {
        let Some((kind, at)) = timetable.next() else { return Stopped::NothingScheduled };
        let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tracing::info!(?kind, at = %at.to_rfc3339(), "next sync scheduled");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait() => return Stopped::Shutdown,
        }
        if shutdown.requested() {
            return Stopped::Shutdown;
        }
        tracing::info!(?kind, "scheduled sync starting");
        let run = sync(kind);
        tokio::pin!(run);
        let outcome = tokio::select! {
            outcome = &mut run => outcome,
            _ = shutdown.wait() => {
                match tokio::time::timeout(grace, &mut run).await {
                    Ok(outcome) => {
                        log_outcome(kind, &outcome);
                        return Stopped::Shutdown;
                    }
                    Err(_) => {
                        tracing::error!(?kind, grace_s = grace.as_secs(), "the sync did not finish within the shutdown timeout; leaving it (the next sync brings the index back in line)");
                        return Stopped::TimedOut;
                    }
                }
            }
        };
        log_outcome(kind, &outcome);
        timetable.finished(kind, Utc::now());
    }
}

fn log_outcome(kind: SyncKind, outcome: &Result<String, String>) {
    match outcome {
        Ok(report) => tracing::info!(?kind, "sync completed: {report}"),
        Err(reason) => tracing::error!(?kind, "sync failed: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Schedule;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn runs_due_syncs_and_stops_on_shutdown() {
        let mut timetable = Timetable::new();
        timetable.add(
            SyncKind::Full,
            Schedule::parse("1s").unwrap(),
            Utc::now() - chrono::Duration::seconds(5),
        );
        let (tx, shutdown) = Shutdown::manual();
        let runs = Arc::new(AtomicU32::new(0));
        let counter = runs.clone();
        let stopped = run(timetable, shutdown, Duration::from_secs(5), move |_kind| {
            let (counter, tx) = (counter.clone(), tx.clone());
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) == 1 {
                    let _ = tx.send(true);
                }
                Ok("done".to_string())
            }
        })
        .await;
        assert_eq!(stopped, Stopped::Shutdown);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_sync_in_flight_gets_the_grace_period_then_is_left() {
        let mut timetable = Timetable::new();
        timetable.add(
            SyncKind::Full,
            Schedule::parse("1s").unwrap(),
            Utc::now() - chrono::Duration::seconds(5),
        );
        let (tx, shutdown) = Shutdown::manual();
        let stopped = run(timetable, shutdown, Duration::from_millis(50), move |_kind| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(true);
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok("never".to_string())
            }
        })
        .await;
        assert_eq!(stopped, Stopped::TimedOut);
    }

    #[tokio::test]
    async fn nothing_scheduled_returns_at_once() {
        let (_tx, shutdown) = Shutdown::manual();
        let stopped =
            run(Timetable::new(), shutdown, Duration::from_secs(1), |_| async { Ok(String::new()) }).await;
        assert_eq!(stopped, Stopped::NothingScheduled);
    }
}
