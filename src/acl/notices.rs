//! Problems said once: a permission API missing on this server, or failing the same way
//! for every space, is one warning in the log, not one per document.

use std::collections::HashSet;
use std::sync::Mutex;

/// Warnings already logged, by key.
#[derive(Debug, Default)]
pub(super) struct Notices {
    said: Mutex<HashSet<String>>,
}

impl Notices {
    /// Logs `message()` as a warning the first time `key` comes up; true that first time.
    pub(super) fn warn_once(&self, key: &str, message: impl FnOnce() -> String) -> bool {
        let first = self.first(key);
        if first {
            tracing::warn!("{}", message());
        }
        first
    }

    /// Logs `message()` at INFO the first time `key` comes up: for what is expected on many
    /// servers (an optional plugin absent) and handled by a fallback; true that first time.
    pub(super) fn inform_once(&self, key: &str, message: impl FnOnce() -> String) -> bool {
        let first = self.first(key);
        if first {
            tracing::info!("{}", message());
        }
        first
    }

    fn first(&self, key: &str) -> bool {
        self.said.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(key.to_string())
    }

    /// How many distinct problems were reported.
    #[cfg(test)]
    fn count(&self) -> usize {
        self.said.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_is_said_once() {
        let notices = Notices::default();
        assert!(notices.warn_once("extender-404", || "Extender is not installed".into()));
        assert!(!notices.warn_once("extender-404", || unreachable!("said already")));
        assert_eq!(notices.count(), 1);
    }
}
