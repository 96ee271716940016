//! A connector document as the service reads it: which index, which configuration, which
//! features, schedules and sync rules Kibana set, and what the last syncs did.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::sync::SyncKind;

use super::system_index::Versioned;

/// The service type this service serves.
pub(crate) const SERVICE_TYPE: &str = "confluence";

/// A connector document, as read (with its version, for guarded updates).
#[derive(Debug, Clone)]
pub(crate) struct Connector {
    /// The document.
    pub(crate) doc: Versioned,
}

impl Connector {
    /// The connector id.
    pub(crate) fn id(&self) -> &str {
        &self.doc.id
    }

    fn field(&self, name: &str) -> &Value {
        &self.doc.source[name]
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.field(name).as_str().filter(|s| !s.is_empty())
    }

    /// `service_type`, when set.
    pub(crate) fn service_type(&self) -> Option<&str> {
        self.text("service_type")
    }

    /// `index_name`, when set.
    pub(crate) fn index_name(&self) -> Option<&str> {
        self.text("index_name")
    }

    /// `status` (`created`, `needs_configuration`, `configured`, `connected`, `error`).
    pub(crate) fn status(&self) -> &str {
        self.text("status").unwrap_or("created")
    }

    /// `error`, when set.
    pub(crate) fn error(&self) -> Option<&str> {
        self.text("error")
    }

    /// `configuration`: field name → `{value, label, …}`.
    pub(crate) fn configuration(&self) -> Option<&Map<String, Value>> {
        self.field("configuration").as_object()
    }

    /// `features`, when set.
    pub(crate) fn features(&self) -> Option<&Map<String, Value>> {
        self.field("features").as_object().filter(|f| !f.is_empty())
    }

    /// Whether a feature is on: `features.<path>.enabled`, or the legacy flat flags
    /// (`filtering_rules`, `filtering_advanced_config`) Elastic's service also honours.
    pub(crate) fn feature(&self, feature: Feature) -> bool {
        let features = self.field("features");
        let (path, legacy): (&[&str], Option<&str>) = match feature {
            Feature::BasicRules => (&["sync_rules", "basic"], Some("filtering_rules")),
            Feature::AdvancedRules => (&["sync_rules", "advanced"], Some("filtering_advanced_config")),
            Feature::DocumentLevelSecurity => (&["document_level_security"], None),
            Feature::IncrementalSync => (&["incremental_sync"], None),
        };
        let nested = path.iter().fold(features, |v, key| &v[*key]);
        nested["enabled"].as_bool().unwrap_or(false)
            || legacy.is_some_and(|flag| features[flag].as_bool().unwrap_or(false))
    }

    /// The value Kibana set for a configuration field.
    pub(crate) fn configured(&self, field: &str) -> &Value {
        &self.field("configuration")[field]["value"]
    }

    /// `scheduling.<kind>`: the Quartz cron text when that schedule is enabled.
    pub(crate) fn schedule(&self, kind: SyncKind) -> Option<&str> {
        let schedule = &self.field("scheduling")[kind.name()];
        schedule["enabled"].as_bool().unwrap_or(false).then(|| schedule["interval"].as_str()).flatten()
    }

    /// `last_*_scheduled_at` of a kind.
    pub(crate) fn last_scheduled_at(&self, kind: SyncKind) -> Option<DateTime<Utc>> {
        self.text(scheduled_at_field(kind)).and_then(parse_time)
    }

    /// `last_sync_status` (content) or `last_access_control_sync_status`.
    pub(crate) fn last_status(&self, kind: SyncKind) -> Option<&str> {
        self.text(last_status_field(kind))
    }

    /// `last_seen`.
    pub(crate) fn last_seen(&self) -> Option<DateTime<Utc>> {
        self.text("last_seen").and_then(parse_time)
    }

    /// `sync_cursor`, when set.
    pub(crate) fn sync_cursor(&self) -> Option<&Value> {
        Some(self.field("sync_cursor")).filter(|c| !c.is_null())
    }

    /// Whether Kibana deleted it (soft delete).
    pub(crate) fn deleted(&self) -> bool {
        self.field("deleted").as_bool().unwrap_or(false)
    }

    /// `filtering[0]` (domain `DEFAULT`): the `draft` or `active` side.
    pub(crate) fn filtering(&self, side: &str) -> &Value {
        let filtering = self.field("filtering");
        let first = filtering
            .as_array()
            .and_then(|all| all.iter().find(|f| f["domain"] == "DEFAULT").or_else(|| all.first()));
        first.map_or(&Value::Null, |f| &f[side])
    }
}

/// A feature of the connector document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Feature {
    /// Basic sync rules.
    BasicRules,
    /// Advanced sync rules (CQL).
    AdvancedRules,
    /// Document level security (access-control syncs).
    DocumentLevelSecurity,
    /// Incremental syncs.
    IncrementalSync,
}

/// The connector field that records when a kind was last scheduled.
pub(super) fn scheduled_at_field(kind: SyncKind) -> &'static str {
    match kind {
        SyncKind::Full => "last_sync_scheduled_at",
        SyncKind::Incremental => "last_incremental_sync_scheduled_at",
        SyncKind::AccessControl => "last_access_control_sync_scheduled_at",
    }
}

/// The connector field with the status of the last job of a kind.
pub(super) fn last_status_field(kind: SyncKind) -> &'static str {
    match kind {
        SyncKind::Full | SyncKind::Incremental => "last_sync_status",
        SyncKind::AccessControl => "last_access_control_sync_status",
    }
}

/// The connector field with the error of the last job of a kind.
pub(super) fn last_error_field(kind: SyncKind) -> &'static str {
    match kind {
        SyncKind::Full | SyncKind::Incremental => "last_sync_error",
        SyncKind::AccessControl => "last_access_control_sync_error",
    }
}

/// An ISO-8601 time as these documents hold it (with or without an offset).
pub(super) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).ok().or_else(|| {
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc())
    })
}

/// Now, as these documents hold times.
pub(super) fn now_text() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn connector(source: Value) -> Connector {
        Connector { doc: Versioned { id: "c1".into(), seq_no: 1, primary_term: 1, source } }
    }

    #[test]
    fn features_are_read_nested_or_from_the_legacy_flags() {
        let c = connector(json!({"features": {
            "sync_rules": {"basic": {"enabled": true}, "advanced": {"enabled": false}},
            "incremental_sync": {"enabled": true},
            "filtering_advanced_config": true
        }}));
        assert!(c.feature(Feature::BasicRules));
        assert!(c.feature(Feature::AdvancedRules), "legacy flag");
        assert!(c.feature(Feature::IncrementalSync));
        assert!(!c.feature(Feature::DocumentLevelSecurity));
    }

    #[test]
    fn a_schedule_counts_only_when_enabled() {
        let c = connector(json!({"scheduling": {
            "full": {"enabled": true, "interval": "0 * * * * ?"},
            "incremental": {"enabled": false, "interval": "0 * * * * ?"}
        }}));
        assert_eq!(c.schedule(SyncKind::Full), Some("0 * * * * ?"));
        assert_eq!(c.schedule(SyncKind::Incremental), None);
        assert_eq!(c.schedule(SyncKind::AccessControl), None);
    }

    #[test]
    fn times_with_and_without_an_offset_are_read_as_utc() {
        assert_eq!(parse_time("2026-01-02T03:04:05.678Z").map(|t| t.timestamp()), Some(1767323045));
        assert_eq!(parse_time("2026-01-02T03:04:05.678+00:00").map(|t| t.timestamp()), Some(1767323045));
        assert_eq!(parse_time("2026-01-02T03:04:05.678").map(|t| t.timestamp()), Some(1767323045));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn filtering_is_the_default_domain() {
        let c = connector(json!({"filtering": [
            {"domain": "OTHER", "active": {"rules": [1]}},
            {"domain": "DEFAULT", "active": {"rules": [2]}, "draft": {"rules": [3]}}
        ]}));
        assert_eq!(c.filtering("active")["rules"], json!([2]));
        assert_eq!(c.filtering("draft")["rules"], json!([3]));
    }
}
