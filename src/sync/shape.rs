//! The settings that shape every document, recorded with the sync state.
//!
//! Some documents go stale without Confluence changing them: turning on document-level
//! security (every document needs `_allow_access_control`), `index_labels`, a new basic rule,
//! another pipeline, a higher download cap. Their `_timestamp` did not move, so neither the
//! unchanged check of a full sync nor the `lastmodified` window of an incremental one would
//! ever rewrite them — a document indexed before DLS was turned on would stay visible to
//! everyone. So each completed sync records the shape it wrote; when the configured shape
//! differs from the recorded one, an incremental sync runs as a full sync, and a full sync
//! rewrites (and re-downloads) every document.

use crate::config::{Config, ConfluenceConfig};

/// Bumped when this connector starts writing documents differently (fields, body text), so
/// that indexes written by an older version are rewritten once.
const DOCUMENT_FORMAT: &str = "1";

pub(super) use crate::elastic::state::DocumentShape;

/// The shape the configuration asks for.
pub(super) fn document_shape(config: &Config, source: &ConfluenceConfig) -> DocumentShape {
    let mut rules: Vec<_> = source.sync_rules.basic.iter().collect();
    rules.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.id.cmp(&b.id)));
    let rules: Vec<String> = rules
        .iter()
        .map(|r| format!("{}|{}|{}|{}|{}|{}", r.id, r.policy, r.field, r.rule, r.value, r.order))
        .collect();
    let pipeline = &source.pipeline;
    [
        ("document_format", DOCUMENT_FORMAT.to_string()),
        ("use_document_level_security", source.use_document_level_security.to_string()),
        ("index_labels", source.index_labels.to_string()),
        ("index_comments", source.index_comments.to_string()),
        ("pipeline.name", pipeline.name.clone()),
        ("pipeline.extract_binary_content", pipeline.extract_binary_content.to_string()),
        ("pipeline.reduce_whitespace", pipeline.reduce_whitespace.to_string()),
        ("pipeline.run_ml_inference", pipeline.run_ml_inference.to_string()),
        ("service.max_file_download_size", config.service.max_file_download_size.to_string()),
        (
            "elasticsearch.bulk.max_text_document_size",
            config.elasticsearch.bulk.max_text_document_size.to_string(),
        ),
        ("sync_rules.basic", rules.join("\n")),
    ]
    .into_iter()
    // Who extracts attachment text, recorded only when not Elastic's way (the pipeline), so
    // that indices written before it was recorded are not rewritten for nothing.
    .chain(
        (config.service.attachment_text != "pipeline")
            .then(|| ("service.attachment_text", config.service.attachment_text.clone())),
    )
    .chain(source.use_text_extraction_service.then(|| ("use_text_extraction_service", "true".to_string())))
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The settings whose value differs between the recorded shape and the configured one;
/// empty when nothing was recorded (an index written before shapes were recorded: its
/// documents' stamps still apply).
pub(super) fn changed_settings(recorded: Option<&DocumentShape>, configured: &DocumentShape) -> Vec<String> {
    let Some(recorded) = recorded else { return Vec::new() };
    let mut keys: Vec<&String> = recorded.keys().chain(configured.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| recorded.get(*k) != configured.get(*k)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn shape(extra: &str) -> DocumentShape {
        let yaml = format!(
            "confluence:\n  confluence_url: https://wiki\n  username: u\n  password: p\n  spaces: DEV\n{extra}"
        );
        let config = crate::config::load_str(&yaml, &HashMap::new()).unwrap().config;
        let source = config.confluence.clone().unwrap();
        document_shape(&config, &source)
    }

    #[test]
    fn a_setting_that_reshapes_documents_is_named() {
        let before = shape("");
        assert!(changed_settings(Some(&before), &shape("")).is_empty());
        assert_eq!(
            changed_settings(Some(&before), &shape("service:\n  attachment_text: local\n")),
            ["service.attachment_text"]
        );
        let service =
            "  use_text_extraction_service: true\nextraction_service:\n  host: http://127.0.0.1:1\n";
        assert_eq!(changed_settings(Some(&before), &shape(service)), ["use_text_extraction_service"]);
        assert_eq!(
            changed_settings(Some(&before), &shape("  use_document_level_security: true\n")),
            ["use_document_level_security"]
        );
        let rule = "  sync_rules:\n    basic:\n      - {id: r, policy: exclude, field: type, rule: equals, value: attachment, order: 1}\n";
        assert_eq!(changed_settings(Some(&before), &shape(rule)), ["sync_rules.basic"]);
    }

    #[test]
    fn nothing_recorded_is_no_change_and_unknown_keys_are_a_change() {
        assert!(changed_settings(None, &shape("")).is_empty());
        let mut older = shape("");
        older.insert("retired_setting".into(), "x".into());
        assert_eq!(changed_settings(Some(&older), &shape("")), ["retired_setting"]);
    }
}
