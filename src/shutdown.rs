//! Shutdown on SIGTERM / SIGINT: the first signal asks for a graceful stop, the second
//! exits at once.
//!
//! [`Shutdown`] is a watch channel that remembers it fired, so every task can both check it
//! and wait for it.

use tokio::sync::watch;

/// A handle that says whether shutdown was requested, and waits for it.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    /// Listens for SIGTERM and SIGINT. The second signal ends the process with code 130.
    /// The handlers are in place when this returns, so a signal sent right after start-up is
    /// not lost (nor does it kill the process the default way).
    pub(crate) fn on_signals() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        let mut signals = Signals::listen();
        tokio::spawn(async move {
            signals.next().await;
            tracing::warn!(
                "shutdown requested: no new sync starts, the sync in flight may finish (a second signal exits at once)"
            );
            let _ = tx.send(true);
            signals.next().await;
            tracing::error!("second signal: exiting now");
            std::process::exit(130);
        });
        Shutdown { rx }
    }

    /// A handle fired by the returned sender (tests, embedding).
    pub fn manual() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown { rx })
    }

    /// A handle that never fires (a sync nobody can stop but the process's end).
    pub fn never() -> Shutdown {
        let (_, rx) = watch::channel(false);
        Shutdown { rx }
    }

    /// A handle that fires when either `self` or `other` does (a sync stops on shutdown and
    /// when it loses its lease).
    pub(crate) fn or(&self, other: &Shutdown) -> Shutdown {
        let (tx, rx) = watch::channel(self.requested() || other.requested());
        let (mut a, mut b) = (self.clone(), other.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = a.wait() => {}
                _ = b.wait() => {}
                // Nobody listens any more.
                _ = tx.closed() => return,
            }
            let _ = tx.send(true);
        });
        Shutdown { rx }
    }

    /// True once shutdown was requested.
    pub(crate) fn requested(&self) -> bool {
        *self.rx.borrow()
    }

    /// Runs `work` to its end, unless shutdown is requested and `work` then does not end
    /// within `grace` (`service.shutdown_timeout`): `None` then, and `work` is dropped
    /// wherever it was waiting (a retry's backoff, a connection attempt, a lease).
    pub(crate) async fn within_grace<F: std::future::Future>(
        &self,
        grace: std::time::Duration,
        work: F,
    ) -> Option<F::Output> {
        let mut stop = self.clone();
        tokio::pin!(work);
        tokio::select! {
            output = &mut work => return Some(output),
            () = stop.wait() => {}
        }
        tokio::time::timeout(grace, work).await.ok()
    }

    /// Sleeps for `duration`, unless shutdown is requested first (or already was): `false`
    /// then, at once. Every wait before a retry sleeps through this, so that a signal ends
    /// the wait instead of the grace period.
    pub(crate) async fn sleep(&self, duration: std::time::Duration) -> bool {
        if self.requested() {
            return false;
        }
        let mut stop = self.clone();
        tokio::select! {
            () = tokio::time::sleep(duration) => true,
            () = stop.wait() => false,
        }
    }

    /// Waits until shutdown is requested.
    pub(crate) async fn wait(&mut self) {
        while !*self.rx.borrow_and_update() {
            if self.rx.changed().await.is_err() {
                // The sender is gone: nobody can request shutdown any more; wait forever.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// The process's SIGTERM and SIGINT streams.
#[cfg(unix)]
struct Signals {
    terminate: Option<tokio::signal::unix::Signal>,
    interrupt: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
impl Signals {
    /// Registers both handlers now. One that cannot be registered is logged and never fires.
    fn listen() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        let listen = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(stream) => Some(stream),
            Err(e) => {
                tracing::warn!("cannot listen for {name}: {e}");
                None
            }
        };
        Signals {
            terminate: listen(SignalKind::terminate(), "SIGTERM"),
            interrupt: listen(SignalKind::interrupt(), "SIGINT"),
        }
    }

    /// Waits for the next SIGTERM or SIGINT.
    async fn next(&mut self) {
        async fn one(stream: &mut Option<tokio::signal::unix::Signal>) {
            match stream {
                Some(stream) => {
                    stream.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        let Signals { terminate, interrupt } = self;
        tokio::select! {
            _ = one(terminate) => {}
            _ = one(interrupt) => {}
        }
    }
}

/// Ctrl-C, where there are no Unix signals.
#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn listen() -> Signals {
        Signals
    }

    async fn next(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn work_gets_the_grace_period_after_shutdown_and_no_more() {
        let (tx, stop) = Shutdown::manual();
        let grace = std::time::Duration::from_secs(30);
        let started = tokio::time::Instant::now();
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            let _ = tx.send(true);
        });
        // A wait of 150 s (Elasticsearch retries) ends 30 s after the signal.
        let waited = stop.within_grace(grace, tokio::time::sleep(std::time::Duration::from_secs(150))).await;
        assert!(waited.is_none());
        assert_eq!(started.elapsed().as_secs(), 35);
        stopper.await.unwrap();
        // Work that ends in time keeps its output.
        assert_eq!(stop.within_grace(grace, async { 7 }).await, Some(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_sleep_ends_at_the_signal() {
        let (tx, stop) = Shutdown::manual();
        let started = tokio::time::Instant::now();
        assert!(stop.sleep(std::time::Duration::from_secs(3)).await, "slept its full time");
        assert_eq!(started.elapsed().as_secs(), 3);
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let _ = tx.send(true);
        });
        assert!(!stop.sleep(std::time::Duration::from_secs(150)).await);
        assert_eq!(started.elapsed().as_secs(), 5, "the wait ended at the signal");
        stopper.await.unwrap();
        assert!(!stop.sleep(std::time::Duration::from_secs(10)).await, "after it: no wait at all");
        assert_eq!(started.elapsed().as_secs(), 5);
    }

    #[tokio::test]
    async fn fires_once_and_stays_fired() {
        let (tx, mut shutdown) = Shutdown::manual();
        assert!(!shutdown.requested());
        tx.send(true).unwrap();
        shutdown.wait().await;
        assert!(shutdown.requested());
        shutdown.wait().await;
    }

    #[tokio::test]
    async fn either_fires_the_combination() {
        let (tx, first) = Shutdown::manual();
        let mut both = first.or(&Shutdown::never());
        assert!(!both.requested());
        tx.send(true).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(1), both.wait()).await.unwrap();
        assert!(both.requested());
    }

    #[tokio::test]
    async fn never_never_fires() {
        let mut never = Shutdown::never();
        assert!(!never.requested());
        let waited = tokio::time::timeout(std::time::Duration::from_millis(20), never.wait()).await;
        assert!(waited.is_err());
    }
}
