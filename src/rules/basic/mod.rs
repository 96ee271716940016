//! Basic sync rules: include/exclude rules on document fields, applied by the connector.
//!
//! A rule is `{id, policy, field, rule, value, order}`, as in Elastic's framework
//! (`connectors/filtering/basic_rule.py`). [`BasicRules::compile`] checks a rule set and
//! compiles it; [`BasicRules::should_index`] then decides for each document:
//! - the rule with id `DEFAULT` (Elastic's include-everything placeholder) is dropped;
//! - the others are tried in ascending `order` (ties keep the configured order), and the
//!   first one that matches decides: `include` keeps the document, `exclude` drops it;
//! - a document no rule matches is kept;
//! - a rule matches only a top-level key the document has (no dotted paths); how values
//!   compare is in `apply.rs`.
//!
//! Unlike Elastic's, no comparison fails the sync: a rule that cannot compare with a value
//! (`<` with a word against a number) does not match it, and the first time this happens
//! the rule is named in a warning with the field and the document.

mod apply;
mod definition;
mod rule;
mod validate;
mod value;

use std::sync::atomic::Ordering;

use serde_json::{Map, Value};

use apply::{evaluate, Mismatch, Outcome};
pub(crate) use definition::BasicRule;
use rule::{Policy, Rule, DEFAULT_RULE_ID};
pub(crate) use validate::RuleError;

/// A compiled, ordered set of basic rules. Shareable across tasks (`Send + Sync`).
#[derive(Debug, Default)]
pub(crate) struct BasicRules {
    /// Without the `DEFAULT` rule, sorted by `order`.
    rules: Vec<Rule>,
}

impl BasicRules {
    /// Checks and compiles the configured rules; every problem is returned, each naming its
    /// rule.
    pub(crate) fn compile(rules: &[BasicRule]) -> Result<BasicRules, Vec<RuleError>> {
        let mut rules = validate::compile_all(rules)?;
        rules.retain(|rule| rule.id != DEFAULT_RULE_ID);
        rules.sort_by_key(|rule| rule.order);
        Ok(BasicRules { rules })
    }

    /// True when no rule applies (none configured, or only `DEFAULT`): every document is kept.
    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether the document (as serialised for Elasticsearch; its `id` names it in logs)
    /// is kept: the first matching rule decides, and no match keeps it.
    pub(crate) fn should_index(&self, doc: &Map<String, Value>) -> bool {
        for rule in &self.rules {
            let Some(value) = doc.get(&rule.field) else { continue };
            match evaluate(rule.comparison, &rule.operand, value) {
                Outcome::Match => return rule.policy == Policy::Include,
                Outcome::NoMatch => {}
                Outcome::Unappliable(mismatch) => report_unappliable(rule, doc, mismatch),
            }
        }
        true
    }
}

/// Warns about the first value a rule could not compare with; later ones are silent (a
/// misjudged rule would otherwise log once per document).
fn report_unappliable(rule: &Rule, doc: &Map<String, Value>, mismatch: Mismatch) {
    if rule.reported_unappliable.swap(true, Ordering::Relaxed) {
        return;
    }
    let document_id = match doc.get("id") {
        Some(Value::String(id)) => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        _ => "(no id)".to_string(),
    };
    tracing::warn!(
        rule_id = %rule.id,
        field = %rule.field,
        document_id = %document_id,
        "basic rule \"{}\" cannot compare field \"{}\" of document {}: {}; the rule does not match \
         such values (reported once per rule)",
        rule.id,
        rule.field,
        document_id,
        mismatch.explain(&rule.operand.text)
    );
}

/// A configured rule, as the tests of this module and its parts write them.
#[cfg(test)]
fn test_rule(id: &str, policy: &str, field: &str, comparison: &str, value: &str, order: i64) -> BasicRule {
    BasicRule {
        id: id.into(),
        policy: policy.into(),
        field: field.into(),
        rule: comparison.into(),
        value: value.into(),
        order,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use serde_json::json;

    use super::BasicRule;
    use super::*;
    use test_rule as rule;

    fn compile(rules: &[BasicRule]) -> BasicRules {
        BasicRules::compile(rules).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn doc(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn page() -> Map<String, Value> {
        doc(json!({
            "id": "983046",
            "type": "page",
            "title": "Draft: release notes",
            "_timestamp": "2024-03-10T12:00:00.000Z",
            "size": 2048,
            "score": 0.75,
            "_extract_binary_content": true,
            "labels": ["draft", "team-a"],
            "ancestors": [{"title": "Engineering"}, {"title": "Runbooks"}],
            "space_name": null
        }))
    }

    #[test]
    fn no_rules_and_default_only_keep_everything() {
        let none = compile(&[]);
        assert!(none.is_empty() && none.should_index(&page()));
        let default_only = compile(&[rule("DEFAULT", "include", "_", "regex", ".*", 0)]);
        assert!(default_only.is_empty() && default_only.should_index(&page()));
        assert!(BasicRules::default().should_index(&page()));
    }

    #[test]
    fn the_default_rule_is_dropped_even_when_it_would_exclude() {
        let rules = compile(&[rule("DEFAULT", "exclude", "type", "regex", ".*", 0)]);
        assert!(rules.is_empty());
        assert!(rules.should_index(&page()));
    }

    #[test]
    fn the_first_matching_rule_in_order_decides() {
        let include_first = compile(&[
            rule("drop-drafts", "exclude", "labels", "equals", "draft", 2),
            rule("keep-team-a", "include", "labels", "equals", "team-a", 1),
        ]);
        assert!(include_first.should_index(&page()), "order 1 (include) is tried before order 2");
        let exclude_first = compile(&[
            rule("drop-drafts", "exclude", "labels", "equals", "draft", 1),
            rule("keep-team-a", "include", "labels", "equals", "team-a", 2),
        ]);
        assert!(!exclude_first.should_index(&page()));
        // Equal orders keep the configured order.
        let tie = compile(&[
            rule("x", "exclude", "type", "equals", "page", 5),
            rule("y", "include", "type", "starts_with", "pa", 5),
        ]);
        assert!(!tie.should_index(&page()));
    }

    #[test]
    fn no_match_keeps_the_document_even_after_include_rules() {
        let rules = compile(&[rule("only-blogs", "include", "type", "equals", "blogpost", 1)]);
        assert!(rules.should_index(&page()), "Elastic's semantics: no match means include");
        let rules = compile(&[
            rule("only-blogs", "include", "type", "equals", "blogpost", 1),
            rule("rest", "exclude", "type", "regex", "\\w", 2),
        ]);
        assert!(!rules.should_index(&page()), "include-only needs a catch-all exclude after it");
        let blog = doc(json!({"id": "1", "type": "blogpost"}));
        assert!(rules.should_index(&blog));
    }

    #[test]
    fn every_value_type_through_should_index() {
        let excluded_by = |r: BasicRule| !compile(&[r]).should_index(&page());
        assert!(excluded_by(rule("s", "exclude", "title", "starts_with", "Draft:", 1)));
        assert!(!excluded_by(rule("s", "exclude", "title", "regex", "release", 1)));
        assert!(excluded_by(rule("n", "exclude", "size", ">", "1024", 1)));
        assert!(!excluded_by(rule("n", "exclude", "size", "<", "1024", 1)));
        assert!(excluded_by(rule("f", "exclude", "score", "<", "0.8", 1)));
        assert!(excluded_by(rule("b", "exclude", "_extract_binary_content", "equals", "yes", 1)));
        assert!(excluded_by(rule("d", "exclude", "_timestamp", ">", "2024-03-01", 1)));
        assert!(!excluded_by(rule("d", "exclude", "_timestamp", "<", "2024-03-01T00:00:00Z", 1)));
        assert!(excluded_by(rule("l", "exclude", "labels", "ends_with", "-a", 1)));
        assert!(excluded_by(rule("o", "exclude", "ancestors", "equals", "Runbooks", 1)));
        assert!(!excluded_by(rule("m", "exclude", "body", "contains", "x", 1)), "absent field");
        assert!(!excluded_by(rule("z", "exclude", "space_name", "equals", "null", 1)), "null");
        assert!(!excluded_by(rule("k", "exclude", "Title", "starts_with", "Draft", 1)), "keys are exact");
    }

    /// A `tracing` writer that keeps what it is given.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
        }
    }

    #[test]
    fn a_rule_that_cannot_apply_does_not_match_and_is_logged_once() {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .finish();
        let rules = compile(&[
            rule("big", "exclude", "size", ">", "large", 1),
            rule("old", "exclude", "_timestamp", "<", "last year", 2),
            rule("tiny", "exclude", "size", "<", "10", 3),
        ]);
        let small = doc(json!({"id": "7", "size": 5, "_timestamp": "2024-01-01"}));
        let large = doc(json!({"id": "8", "size": 4096, "_timestamp": "2024-01-02"}));
        let verdicts = tracing::subscriber::with_default(subscriber, || {
            [rules.should_index(&small), rules.should_index(&large), rules.should_index(&small)]
        });
        // "big" and "old" never match; "tiny" still decides.
        assert_eq!(verdicts, [false, true, false]);
        let text = logs.text();
        assert_eq!(text.matches("cannot compare").count(), 2, "{text}");
        assert!(
            text.contains(
                "basic rule \"big\" cannot compare field \"size\" of document 7: the document's value is a \
                 number and \"large\" is not; the rule does not match such values (reported once per rule)"
            ),
            "{text}"
        );
        assert!(
            text.contains("basic rule \"old\" cannot compare field \"_timestamp\" of document 7"),
            "{text}"
        );
        assert!(
            text.contains("WARN") && text.contains("rule_id=big") && text.contains("document_id=7"),
            "{text}"
        );
        assert!(!text.contains("document 8"), "{text}");
    }

    #[test]
    fn compile_reports_every_problem() {
        let errors = BasicRules::compile(&[
            rule("a", "include", "title", "regex", "(", 1),
            rule("b", "include", "title", "regex", ".*", 2),
        ])
        .err()
        .unwrap_or_default();
        let rendered: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            rendered,
            [
                r#"basic rule "a": regex "(" does not compile: unclosed group"#,
                r#"basic rule "b": regex ".*" matches every document: remove the rule (a document no rule matches is indexed anyway) or narrow the pattern"#,
            ]
        );
    }

    #[test]
    fn rules_are_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<BasicRules>();
    }
}
