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
    pub fn on_signals() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::warn!(
                "shutdown requested: finishing the sync in flight (a second signal exits at once)"
            );
            let _ = tx.send(true);
            wait_for_signal().await;
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

    /// True once shutdown was requested.
    pub fn requested(&self) -> bool {
        *self.rx.borrow()
    }

    /// Waits until shutdown is requested.
    pub async fn wait(&mut self) {
        while !*self.rx.borrow_and_update() {
            if self.rx.changed().await.is_err() {
                // The sender is gone: nobody can request shutdown any more; wait forever.
                std::future::pending::<()>().await;
            }
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fires_once_and_stays_fired() {
        let (tx, mut shutdown) = Shutdown::manual();
        assert!(!shutdown.requested());
        tx.send(true).unwrap();
        shutdown.wait().await;
        assert!(shutdown.requested());
        shutdown.wait().await;
    }
}
