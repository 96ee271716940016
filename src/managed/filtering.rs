//! Sync rules edited in Kibana: the draft is checked as Elastic's service checks it (basic
//! rules compiled, advanced CQL parsed here and then run by Confluence with a limit of 1),
//! the result written with `_filtering/_validation`, and a valid draft activated — so a job
//! only ever runs with rules that were found valid.

use elasticsearch::http::Method;
use serde_json::{json, Value};

use crate::config::{AdvancedRule, BasicRule};
use crate::confluence::ConfluenceClient;
use crate::elastic::client::EsClient;
use crate::elastic::error::ElasticError;
use crate::rules::BasicRules;

use super::system_index::{self, encode};

/// The rule id Elastic's validators give the advanced snippet.
pub(super) const ADVANCED_RULES_ID: &str = "advanced_snippet";

/// One problem of the draft, as `_filtering/_validation` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RuleProblem {
    /// The rule ids it is about.
    pub(crate) ids: Vec<String>,
    /// What is wrong.
    pub(crate) message: String,
}

/// Whether the draft must be checked: Kibana marks an edited draft `edited`.
pub(super) fn draft_needs_validation(draft: &Value) -> bool {
    draft["validation"]["state"].as_str() == Some("edited")
}

/// Problems of the draft found without Confluence: rules that do not compile, and advanced
/// rules that are not a list of `{query}` or whose CQL does not parse.
pub(super) fn local_problems(
    draft: &Value,
    basic_on: bool,
    advanced_on: bool,
) -> (Vec<RuleProblem>, Vec<String>) {
    let mut problems = Vec::new();
    let mut queries = Vec::new();
    if basic_on {
        match serde_json::from_value::<Vec<BasicRule>>(nonnull(&draft["rules"], json!([]))) {
            Ok(rules) => {
                if let Err(errors) = BasicRules::compile(&rules) {
                    problems.extend(
                        errors
                            .into_iter()
                            .map(|e| RuleProblem { ids: vec![e.rule_id.clone()], message: e.to_string() }),
                    );
                }
            }
            Err(e) => problems.push(RuleProblem { ids: vec![], message: format!("basic rules: {e}") }),
        }
    }
    let snippet = &draft["advanced_snippet"]["value"];
    let empty = snippet.is_null() || snippet.as_object().is_some_and(|m| m.is_empty());
    if advanced_on && !empty {
        match serde_json::from_value::<Vec<AdvancedRule>>(snippet.clone()) {
            Ok(rules) => {
                for (i, rule) in rules.iter().enumerate() {
                    if let Err(e) = confluence_cql::parse(&rule.query) {
                        problems.push(advanced(format!("advanced rule {} ({:?}): {e}", i + 1, rule.query)));
                    } else {
                        queries.push(rule.query.clone());
                    }
                }
            }
            Err(_) => problems.push(advanced(
                "advanced rules must be a list of {\"query\": \"<CQL>\"} objects".to_string(),
            )),
        }
    }
    (problems, queries)
}

fn advanced(message: String) -> RuleProblem {
    RuleProblem { ids: vec![ADVANCED_RULES_ID.to_string()], message }
}

fn nonnull(value: &Value, default: Value) -> Value {
    if value.is_null() {
        default
    } else {
        value.clone()
    }
}

/// Has Confluence run each parsed query once; its rejections become problems.
pub(super) async fn remote_problems(
    client: &ConfluenceClient,
    queries: &[String],
) -> Result<Vec<RuleProblem>, String> {
    let rejected =
        crate::sync::check_advanced_rules_remotely(client, queries).await.map_err(|e| e.to_string())?;
    Ok(rejected.into_iter().map(advanced).collect())
}

/// Writes the outcome of the check, and activates the draft when it is valid.
pub(super) async fn record(
    es: &EsClient,
    connector_id: &str,
    problems: &[RuleProblem],
) -> Result<(), ElasticError> {
    let state = if problems.is_empty() { "valid" } else { "invalid" };
    let errors: Vec<Value> =
        problems.iter().map(|p| json!({"ids": p.ids, "messages": [p.message]})).collect();
    let body = json!({"validation": {"state": state, "errors": errors}});
    let id = encode(connector_id);
    system_index::api(es, Method::Put, &format!("/_connector/{id}/_filtering/_validation"), Some(&body))
        .await?;
    if problems.is_empty() {
        system_index::api(es, Method::Put, &format!("/_connector/{id}/_filtering/_activate"), None).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_edited_draft_is_checked() {
        assert!(draft_needs_validation(&json!({"validation": {"state": "edited"}})));
        assert!(!draft_needs_validation(&json!({"validation": {"state": "valid"}})));
        assert!(!draft_needs_validation(&json!({})));
    }

    #[test]
    fn each_bad_rule_is_named_by_its_id() {
        let draft = json!({
            "rules": [
                {"id": "bad-regex", "policy": "include", "field": "title", "rule": "regex", "value": "(", "order": 0},
                {"id": "ok", "policy": "exclude", "field": "title", "rule": "equals", "value": "x", "order": 1},
                {"id": "DEFAULT", "policy": "include", "field": "_", "rule": "regex", "value": ".*", "order": 2}
            ],
            "advanced_snippet": {"value": [{"query": "space = DEV"}, {"query": "type = page AND ("}]}
        });
        let (problems, queries) = local_problems(&draft, true, true);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].ids, ["bad-regex"]);
        assert_eq!(problems[1].ids, [ADVANCED_RULES_ID]);
        assert!(problems[1].message.contains("advanced rule 2"), "{}", problems[1].message);
        assert_eq!(queries, ["space = DEV"]);
    }

    #[test]
    fn a_snippet_that_is_not_a_list_of_queries_is_refused() {
        let draft = json!({"advanced_snippet": {"value": {"cql": "space = DEV"}}});
        let (problems, _) = local_problems(&draft, true, true);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].ids, [ADVANCED_RULES_ID]);
    }

    #[test]
    fn rules_of_features_that_are_off_are_not_checked() {
        let draft =
            json!({"rules": [{"id": "x", "policy": "nope"}], "advanced_snippet": {"value": "garbage"}});
        let (problems, queries) = local_problems(&draft, false, false);
        assert!(problems.is_empty() && queries.is_empty());
    }
}
