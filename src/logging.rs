//! Log output: readable lines on a terminal, or ECS JSON for log shippers.
//!
//! The level comes from, in order: the CLI's `--log-level`, then `service.log_level` in
//! `config.yml`, then `RUST_LOG`, then `info`. Python-style names (`WARNING`, `CRITICAL`,
//! `NOTSET`) are accepted so an Elastic `config.yml` works unchanged. JSON lines follow the
//! Elastic Common Schema (`@timestamp`, `log.level`, `message`, `log.logger`,
//! `ecs.version`), as Elastic's connector service writes them with `--filebeat`.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One ECS JSON object per line.
    Json,
}

impl LogFormat {
    /// Reads `text` or `json`.
    pub fn parse(s: &str) -> Option<LogFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// Turns a level name (Rust or Python style) into a filter directive.
pub fn level_directive(name: &str) -> Option<&'static str> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "trace" | "notset" => "trace",
        "debug" => "debug",
        "info" => "info",
        "warn" | "warning" => "warn",
        "error" | "critical" => "error",
        _ => return None,
    })
}

/// Picks the filter: CLI level, then config level, then `RUST_LOG`, then `info`.
pub fn filter(cli_level: Option<&str>, config_level: Option<&str>) -> EnvFilter {
    if let Some(d) = cli_level.and_then(level_directive).or_else(|| config_level.and_then(level_directive)) {
        return EnvFilter::new(d);
    }
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs the global subscriber, writing to standard error.
pub fn init(format: LogFormat, filter: EnvFilter) {
    // On a terminal with text logs, syncs draw a live line; log lines are written around it.
    crate::elastic::progress_bar::enable(format == LogFormat::Text);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::elastic::progress_bar::LogWriter);
    // A second init (in tests) keeps the first subscriber; that is fine.
    let _ = match format {
        LogFormat::Text => {
            builder.with_target(false).with_ansi(colours(std::env::var_os("NO_COLOR"))).try_init()
        }
        LogFormat::Json => builder.event_format(EcsFormat).try_init(),
    };
}

/// Colours only for a person at a terminal: not when standard error is piped or redirected
/// (a file, a log collector), nor when `NO_COLOR` is set to anything but an empty string
/// (no-color.org).
fn colours(no_color: Option<std::ffi::OsString>) -> bool {
    use std::io::IsTerminal;
    no_color.is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Formats events as ECS JSON lines.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EcsFormat;

impl<S, N> FormatEvent<S, N> for EcsFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writeln!(writer, "{}", ecs_line(event))
    }
}

fn ecs_line(event: &Event<'_>) -> String {
    let meta = event.metadata();
    let mut fields = FieldCollector(Map::new());
    event.record(&mut fields);
    let message = fields.0.remove("message").unwrap_or(Value::String(String::new()));
    ecs_object(meta.level().as_str(), meta.target(), message, fields.0)
}

/// One ECS JSON line (no newline) from its parts; `fields` go beside the ECS keys.
fn ecs_object(level: &str, logger: &str, message: Value, fields: Map<String, Value>) -> String {
    let mut line = Map::new();
    line.insert(
        "@timestamp".into(),
        Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
    );
    line.insert("log.level".into(), Value::String(level.to_ascii_lowercase()));
    line.insert("message".into(), message);
    line.insert("log.logger".into(), Value::String(logger.to_string()));
    line.insert("ecs.version".into(), Value::String("1.6.0".into()));
    line.insert("service.name".into(), Value::String("confluence-connector".into()));
    for (k, v) in fields {
        line.insert(k, v);
    }
    Value::Object(line).to_string()
}

/// The ECS JSON line of an error said before logging is set up (an unusable `config.yml`):
/// `fields` carry the details as JSON values (the problems as an array), so that a log
/// shipper reads one event, not one per line of text.
pub fn early_error_line(message: &str, fields: Map<String, Value>) -> String {
    ecs_object("ERROR", "confluence_connector", Value::String(message.to_string()), fields)
}

struct FieldCollector(Map<String, Value>);

impl Visit for FieldCollector {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_string(), Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), Value::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), Value::Bool(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
}

/// The ECS JSON events `f` logs (at every level), for tests of what a piece of code says.
#[cfg(test)]
pub(crate) fn capture_json(f: impl FnOnce()) -> Vec<Value> {
    let captured = Captured::start();
    f();
    captured.events()
}

/// Captures the ECS JSON events logged on this thread while it lives (for async tests on a
/// current-thread runtime).
#[cfg(test)]
pub(crate) struct Captured {
    buffer: tests::Buffer,
    _guard: tracing::subscriber::DefaultGuard,
}

#[cfg(test)]
impl Captured {
    /// Starts capturing.
    pub(crate) fn start() -> Captured {
        let buffer = tests::Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(buffer.clone())
            .event_format(EcsFormat)
            .finish();
        Captured { buffer, _guard: tracing::subscriber::set_default(subscriber) }
    }

    /// The events so far.
    pub(crate) fn events(&self) -> Vec<Value> {
        let bytes = self.buffer.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    pub(crate) struct Buffer(pub(crate) Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn python_and_rust_level_names() {
        assert_eq!(level_directive("WARNING"), Some("warn"));
        assert_eq!(level_directive("CRITICAL"), Some("error"));
        assert_eq!(level_directive("debug"), Some("debug"));
        assert_eq!(level_directive("loud"), None);
    }

    #[test]
    fn an_early_error_is_one_json_event_with_its_fields() {
        let mut fields = Map::new();
        fields.insert("problems".into(), serde_json::json!(["a: bad", "b: missing"]));
        let line: Value = serde_json::from_str(&early_error_line("config has 2 problems", fields)).unwrap();
        assert_eq!(line["log.level"], "error");
        assert_eq!(line["message"], "config has 2 problems");
        assert_eq!(line["problems"][1], "b: missing");
    }

    #[test]
    fn json_lines_follow_ecs() {
        let buffer = Buffer::default();
        let subscriber =
            tracing_subscriber::fmt().with_writer(buffer.clone()).event_format(EcsFormat).finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(space = "DEV", pages = 3u64, "space listed");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["log.level"], "warn");
        assert_eq!(line["message"], "space listed");
        assert_eq!(line["space"], "DEV");
        assert_eq!(line["pages"], 3);
        assert_eq!(line["ecs.version"], "1.6.0");
        assert!(line["@timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
