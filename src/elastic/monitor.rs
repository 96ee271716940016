//! When item errors end a sync: Elastic's `ErrorMonitor` (`elasticsearch.bulk.error_monitor.*`).
//!
//! Every item result counts: more than `max_consecutive_errors` errors in a row, more than
//! `max_total_errors` in all, or a share of errors above `max_error_rate` in a ring of the
//! last `error_window_size` results (the share of the whole ring, as Elastic computes it)
//! trips the monitor. A tripped monitor stops the sink, and the sync ends as failed: nothing
//! more is written, nothing is deleted, the cursor does not move. Disabled, it only counts.

use std::collections::VecDeque;

use super::options::ErrorMonitorOptions;

/// The state of one sync's monitor.
#[derive(Debug)]
pub(super) struct ErrorMonitor {
    options: ErrorMonitorOptions,
    total: u64,
    consecutive: u64,
    window: Vec<bool>,
    window_at: usize,
    window_errors: usize,
    recent: VecDeque<String>,
    tripped: Option<String>,
}

impl ErrorMonitor {
    /// A monitor with nothing seen.
    pub(super) fn new(options: ErrorMonitorOptions) -> ErrorMonitor {
        ErrorMonitor {
            options,
            total: 0,
            consecutive: 0,
            window: vec![false; options.error_window_size],
            window_at: 0,
            window_errors: 0,
            recent: VecDeque::new(),
            tripped: None,
        }
    }

    /// An item that succeeded.
    pub(super) fn success(&mut self) {
        self.consecutive = 0;
        self.slide(false);
    }

    /// An item that failed for good; `error` is quoted if the monitor trips.
    pub(super) fn error(&mut self, error: impl FnOnce() -> String) {
        self.total += 1;
        self.consecutive += 1;
        self.slide(true);
        if self.options.error_queue_size > 0 {
            if self.recent.len() == self.options.error_queue_size {
                self.recent.pop_front();
            }
            self.recent.push_back(error());
        }
        if self.tripped.is_none() && self.options.enabled {
            self.tripped = self.verdict();
        }
    }

    /// Why the monitor tripped, if it did.
    pub(super) fn tripped(&self) -> Option<&str> {
        self.tripped.as_deref()
    }

    fn slide(&mut self, error: bool) {
        let Some(slot) = self.window.get_mut(self.window_at) else { return };
        if *slot {
            self.window_errors -= 1;
        }
        *slot = error;
        if error {
            self.window_errors += 1;
        }
        self.window_at = (self.window_at + 1) % self.window.len();
    }

    fn verdict(&self) -> Option<String> {
        let o = &self.options;
        let what = if self.consecutive > o.max_consecutive_errors {
            format!(
                "{} item errors in a row, more than elasticsearch.bulk.error_monitor.max_consecutive_errors ({})",
                self.consecutive, o.max_consecutive_errors
            )
        } else if self.total > o.max_total_errors {
            format!(
                "{} item errors, more than elasticsearch.bulk.error_monitor.max_total_errors ({})",
                self.total, o.max_total_errors
            )
        } else if !self.window.is_empty()
            && self.window_errors as f64 / self.window.len() as f64 > o.max_error_rate
        {
            format!(
                "{} errors among the last {} items, a rate above elasticsearch.bulk.error_monitor.max_error_rate ({})",
                self.window_errors,
                self.window.len(),
                o.max_error_rate
            )
        } else {
            return None;
        };
        let recent: Vec<&str> = self.recent.iter().map(String::as_str).collect();
        Some(format!("too many errors writing to Elasticsearch: {what}; last errors: {}", recent.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ErrorMonitorOptions {
        ErrorMonitorOptions {
            enabled: true,
            max_total_errors: 1000,
            max_consecutive_errors: 3,
            max_error_rate: 1.0,
            error_window_size: 10,
            error_queue_size: 2,
        }
    }

    #[test]
    fn more_consecutive_errors_than_allowed_trip_it() {
        let mut m = ErrorMonitor::new(options());
        for i in 0..3 {
            m.error(|| format!("e{i}"));
        }
        assert!(m.tripped().is_none(), "3 in a row is the limit, not over it");
        m.success();
        for i in 3..6 {
            m.error(|| format!("e{i}"));
        }
        assert!(m.tripped().is_none(), "a success resets the run");
        m.error(|| "e6".into());
        let why = m.tripped().unwrap();
        assert!(why.contains("4 item errors in a row"), "{why}");
        assert!(why.contains("max_consecutive_errors (3)"), "{why}");
        assert!(why.ends_with("last errors: e5; e6"), "only error_queue_size errors are quoted: {why}");
    }

    #[test]
    fn more_errors_than_the_total_trip_it() {
        let mut m = ErrorMonitor::new(ErrorMonitorOptions { max_total_errors: 4, ..options() });
        for _ in 0..4 {
            m.error(|| "x".into());
            m.success();
        }
        assert!(m.tripped().is_none());
        m.error(|| "x".into());
        assert!(m.tripped().unwrap().contains("5 item errors, more than"), "{:?}", m.tripped());
    }

    #[test]
    fn the_rate_is_over_the_whole_window_of_recent_items() {
        let mut m = ErrorMonitor::new(ErrorMonitorOptions { max_error_rate: 0.2, ..options() });
        // 2 errors in a ring of 10 is 0.2: not over.
        m.error(|| "a".into());
        m.success();
        m.error(|| "b".into());
        assert!(m.tripped().is_none());
        // Ten successes push both out of the window.
        for _ in 0..10 {
            m.success();
        }
        m.error(|| "c".into());
        m.success();
        m.error(|| "d".into());
        assert!(m.tripped().is_none());
        m.error(|| "e".into());
        assert!(m.tripped().unwrap().contains("3 errors among the last 10 items"), "{:?}", m.tripped());
    }

    #[test]
    fn a_disabled_monitor_never_trips() {
        let mut m = ErrorMonitor::new(ErrorMonitorOptions { enabled: false, ..options() });
        for _ in 0..100 {
            m.error(|| "x".into());
        }
        assert!(m.tripped().is_none());
    }
}
