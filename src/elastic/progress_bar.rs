//! The live line on a terminal: documents seen, indexed, unchanged, deleted, failed and the
//! rate, redrawn a few times a second while a sync runs.
//!
//! Only when standard error is a terminal and the logs are text ([`enable`], called by
//! [`logging::init`](crate::logging::init)); never in JSON logs or when piped. Log lines go
//! through [`LogWriter`], which lifts the bars while a line is written and draws them again
//! below it, so the two never garble each other. Drawn with `indicatif`.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;
use tracing_subscriber::fmt::MakeWriter;

use super::progress::Progress;

/// The terminal's bars, once [`enable`] found a terminal.
static TERMINAL: OnceLock<MultiProgress> = OnceLock::new();

/// How often the line is redrawn.
const REDRAW: Duration = Duration::from_millis(250);

/// Whether bars may be drawn: text logs on a terminal.
pub(crate) fn allowed(text_logs: bool, stderr_is_terminal: bool) -> bool {
    text_logs && stderr_is_terminal
}

/// Lets syncs draw bars when standard error is a terminal and the logs are text.
pub(crate) fn enable(text_logs: bool) {
    if allowed(text_logs, std::io::stderr().is_terminal()) {
        let _ = TERMINAL.set(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
    }
}

/// One sync's bar, removed when dropped.
pub(crate) struct Bar {
    bar: ProgressBar,
    redraw: JoinHandle<()>,
}

impl Bar {
    /// A bar for the sync into `index`, when bars are enabled.
    pub(crate) fn start(index: &str, progress: Arc<Progress>) -> Option<Bar> {
        let terminal = TERMINAL.get()?;
        let style = ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = terminal.add(ProgressBar::new_spinner().with_style(style).with_prefix(index.to_string()));
        let shown = bar.clone();
        let redraw = tokio::spawn(async move {
            loop {
                shown.set_message(progress.snapshot().to_string());
                shown.tick();
                tokio::time::sleep(REDRAW).await;
            }
        });
        Some(Bar { bar, redraw })
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.redraw.abort();
        self.bar.finish_and_clear();
        if let Some(terminal) = TERMINAL.get() {
            terminal.remove(&self.bar);
        }
    }
}

/// Standard error for log lines, with the bars lifted while a line is written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LogWriter;

/// One log line's writer.
#[derive(Debug)]
pub(crate) struct LogLine;

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine
    }
}

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter hands over a whole line at once: written whole, the bars around it.
        match TERMINAL.get() {
            Some(terminal) => terminal.suspend(|| std::io::stderr().write_all(buf)).map(|()| buf.len()),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_only_for_text_logs_on_a_terminal() {
        assert!(allowed(true, true));
        assert!(!allowed(false, true), "never in JSON logs");
        assert!(!allowed(true, false), "never when piped");
        assert!(!allowed(false, false));
    }

    #[tokio::test]
    async fn without_a_terminal_there_is_no_bar_and_lines_pass_through() {
        // Tests run with standard error captured or piped: `enable` finds no terminal.
        if std::io::stderr().is_terminal() {
            return;
        }
        enable(true);
        assert!(Bar::start("search-x", Arc::new(Progress::new(10))).is_none());
        let mut line = LogWriter.make_writer();
        assert_eq!(line.write(b"").unwrap(), 0);
    }
}
