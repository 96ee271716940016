//! Validation of whole config trees: every problem listed under its key path, secrets never shown.

use super::*;
use serde_json::json;

#[test]
fn fills_defaults_and_coerces_text() {
    let mut tree =
        json!({"elasticsearch": {"bulk": {"chunk_size": "42"}}, "confluence": {"spaces": "DEV, OPS,"}});
    let checked = check(&mut tree);
    assert!(checked.errors.is_empty(), "{:?}", checked.errors);
    assert_eq!(tree["elasticsearch"]["bulk"]["chunk_size"], json!(42));
    assert_eq!(tree["elasticsearch"]["bulk"]["max_concurrency"], json!(5));
    assert_eq!(tree["elasticsearch"]["host"], json!("http://localhost:9200"));
    assert_eq!(tree["confluence"]["spaces"], json!(["DEV", "OPS"]));
    assert_eq!(tree["confluence"]["concurrent_downloads"], json!(50));
    assert_eq!(tree["service"]["max_file_download_size"], json!(10485760));
    assert_eq!(tree["service"]["max_download_memory"], json!(64 * 1024 * 1024));
    assert!(tree.get("extraction_service").is_none());
}

#[test]
fn collects_every_problem_with_its_path() {
    let mut tree = json!({
        "elasticsearch": {"bulk": {"chunk_size": "lots"}, "host": "not a url"},
        "confluence": {"data_source": "confluence_clod", "concurrent_downloads": 51},
    });
    let checked = check(&mut tree);
    let paths: Vec<&str> = checked.errors.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "elasticsearch.host",
            "elasticsearch.bulk.chunk_size",
            "confluence.data_source",
            "confluence.concurrent_downloads"
        ],
        "{:?}",
        checked.errors
    );
    assert!(checked.errors[2].message.contains("confluence_cloud"));
    assert!(checked.errors[3].message.contains("1 to 50"), "{}", checked.errors[3].message);
}

#[test]
fn unknown_keys_warn_with_the_closest_key() {
    let mut tree =
        json!({"elasticsearch": {"bulk": {"chunk_sise": 3}}, "confluence": {"index_lables": true}, "zzz": 1});
    let checked = check(&mut tree);
    assert!(checked.errors.is_empty());
    assert_eq!(
        checked.warnings,
        [
            "unknown key confluence.index_lables is ignored; did you mean confluence.index_labels?",
            "unknown key elasticsearch.bulk.chunk_sise is ignored; did you mean elasticsearch.bulk.chunk_size?",
            "unknown key zzz is ignored",
        ]
    );
}

#[test]
fn credentials_in_urls_are_refused_without_being_repeated() {
    let mut tree = json!({
        "elasticsearch": {"host": "http://elastic:S3CRET-PW@localhost:9200"},
        "confluence": {"confluence_url": "https://bob:S3CRET-TOKEN@wiki.example.com/confluence"},
    });
    let checked = check(&mut tree);
    let paths: Vec<&str> = checked.errors.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["elasticsearch.host", "confluence.confluence_url"], "{:?}", checked.errors);
    for problem in &checked.errors {
        assert!(!problem.message.contains("S3CRET"), "{}", problem.message);
        assert!(
            !problem.message.contains("bob") && !problem.message.contains("elastic:"),
            "{}",
            problem.message
        );
        assert!(problem.message.contains("carries credentials"), "{}", problem.message);
    }
    assert!(checked.errors[0].message.contains("elasticsearch.api_key"), "{}", checked.errors[0].message);
    assert!(checked.errors[1].message.contains("\"https://***@wiki.example.com/confluence\""));
    // A user name alone is refused too; a proxy may carry its credentials.
    let mut tree =
        json!({"confluence": {"confluence_url": "https://bob@wiki", "proxy": "http://u:p@proxy:3128"}});
    let checked = check(&mut tree);
    assert_eq!(checked.errors.len(), 1, "{:?}", checked.errors);
    assert_eq!(checked.errors[0].path, "confluence.confluence_url");
    // Other problems of such a URL do not repeat the password either.
    let mut tree = json!({"elasticsearch": {"host": "ftp://u:S3CRET-PW@host"}});
    let checked = check(&mut tree);
    assert!(!checked.errors[0].message.contains("S3CRET"), "{}", checked.errors[0].message);
    assert_eq!(without_userinfo("http://a:b@c@host:1/x@y"), "http://***@host:1/x@y");
    assert_eq!(without_userinfo("not a url"), "not a url");
}

#[test]
fn secrets_are_not_echoed_in_messages() {
    let mut tree = json!({"confluence": {"api_token": ["s3cr3t-token"]}});
    let checked = check(&mut tree);
    assert_eq!(checked.errors.len(), 1);
    assert!(!checked.errors[0].message.contains("s3cr3t"));
}

#[test]
fn advanced_rules_accept_json_text_and_report_each_bad_rule() {
    let mut good = json!({"confluence": {"sync_rules": {"advanced": "[{\"query\": \"space = DEV\"}]"}}});
    assert!(check(&mut good).errors.is_empty());
    assert_eq!(good["confluence"]["sync_rules"]["advanced"], json!([{"query": "space = DEV"}]));

    let mut bad = json!({"confluence": {"sync_rules": {"advanced": [
        {"query": ""}, {"qurey": "x"}, {"query": "space = DEV AND (type = page"}, {"query": "lastmodifed > now('-1d')"}
    ]}}});
    let checked = check(&mut bad);
    let shown: Vec<String> = checked.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "confluence.sync_rules.advanced: advanced rule 1: the query is empty",
            "confluence.sync_rules.advanced: advanced rule 2: unknown key \"qurey\"; a rule holds only \"query\"",
            "confluence.sync_rules.advanced: advanced rule 2: missing \"query\"",
            "confluence.sync_rules.advanced: advanced rule 3 (\"space = DEV AND (type = page\"): CQL: expected ')' \
             to close the '(' at position 16, found end of query at position 28",
            "confluence.sync_rules.advanced: advanced rule 4 (\"lastmodifed > now('-1d')\"): CQL: unknown field \
             'lastmodifed' at position 0; did you mean 'lastmodified'?",
        ]
    );
}

/// What a user is shown for basic rules is what the rules' validator says (its own
/// table of exact messages is in `rules::basic::validate`), each message naming the rule
/// by its id, or by its place in the list (from 1) when it has none; shape problems the
/// validator cannot see (`order`, a list where text belongs) are told the same way.
#[test]
fn basic_rules_are_reported_with_the_validators_messages() {
    let mut tree = json!({"confluence": {"sync_rules": {"basic": [
        {"id": "drafts", "policy": "exclude", "field": "title", "rule": "regex", "value": "(", "order": 1},
        {"policy": "include", "field": "type", "rule": "equals", "value": "page", "order": "2"},
        {"id": "sizes", "policy": "Exclude", "field": "size", "rule": ">", "value": 1024},
        "not a rule",
        {"id": "lists", "policy": "exclude", "field": ["title"], "rule": "equals", "value": "x", "order": 5},
        {"id": "DEFAULT", "policy": "include", "field": "_", "rule": "regex", "value": ".*", "order": 0}
    ]}}});
    let checked = check(&mut tree);
    let shown: Vec<String> = checked.errors.iter().map(ToString::to_string).collect();
    let path = "confluence.sync_rules.basic";
    assert_eq!(
        shown,
        [
            format!(r#"{path}: basic rule "drafts": regex "(" does not compile: unclosed group"#),
            format!("{path}: basic rule #2: id is required: give the rule a unique id"),
            format!(
                r#"{path}: basic rule "sizes": order is required and must be a whole number: rules apply in ascending order"#
            ),
            format!("{path}: basic rule #4: expected a rule {{id, policy, field, rule, value, order}}"),
            format!(
                r#"{path}: basic rule "lists": field must be text, a number or a boolean, not a list or a map"#
            ),
        ]
    );
    // The same rules, fixed, pass; text is normalised for the model.
    let mut fixed = json!({"confluence": {"sync_rules": {"basic": [
        {"id": "sizes", "policy": "Exclude", "field": "size", "rule": ">", "value": 1024, "order": "3"}
    ]}}});
    assert!(check(&mut fixed).errors.is_empty());
    assert_eq!(
        fixed["confluence"]["sync_rules"]["basic"][0],
        json!({"id": "sizes", "policy": "Exclude", "field": "size", "rule": ">", "value": "1024", "order": 3})
    );
}

/// End to end: `load_str` stops with the validator's messages, one problem each.
#[test]
fn a_config_with_bad_basic_rules_names_each_rule() {
    let yaml = "confluence:\n  confluence_url: https://wiki\n  username: u\n  password: p\n  spaces: DEV\n  \
                sync_rules:\n    basic:\n      - {id: a, policy: include, field: title, rule: equals, value: A, order: 1}\n      \
                - {id: b, policy: include, field: title, rule: equals, value: A, order: 2}\n";
    let error = crate::config::load_str(yaml, &std::collections::HashMap::new()).err().map(|e| e.to_string());
    assert_eq!(
        error.as_deref(),
        Some(
            "config has 2 problems:\n  - confluence.sync_rules.basic: basic rule \"a\": same field, rule and value \
             as rule \"b\" (title equals \"A\"): keep only one of them\n  - confluence.sync_rules.basic: basic rule \
             \"b\": same field, rule and value as rule \"a\" (title equals \"A\"): keep only one of them"
        )
    );
}

#[test]
fn connectors_without_id_are_skipped_with_a_warning() {
    let mut tree =
        json!({"connectors": [{"connector_id": 12, "service_type": "confluence"}, {"service_type": "x"}]});
    let checked = check(&mut tree);
    assert!(checked.errors.is_empty());
    assert_eq!(tree["connectors"], json!([{"connector_id": "12", "service_type": "confluence"}]));
    assert_eq!(checked.warnings, ["connectors[1]: no connector_id, entry skipped"]);
}

#[test]
fn a_connector_of_another_service_type_is_refused_by_its_entry() {
    let mut tree = json!({"connectors": [
        {"connector_id": "a", "service_type": "jira"},
        {"connector_id": "b"},
        {"connector_id": "c", "service_type": "confluence"},
        {"connector_id": "d", "service_type": "sharepoint_online"},
    ]});
    let checked = check(&mut tree);
    assert_eq!(checked.errors.len(), 1, "{:?}", checked.errors);
    let error = checked.errors[0].to_string();
    for part in [
        "connectors",
        "[0].service_type: \"jira\"",
        "[3].service_type: \"sharepoint_online\"",
        "\"confluence\"",
    ] {
        assert!(error.contains(part), "{part} in {error}");
    }
    assert!(!error.contains("[1]") && !error.contains("[2]"), "{error}");
}

#[test]
fn edit_distance_counts_edits() {
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(edit_distance("same", "same"), 0);
}

/// Advanced rules as a table of inputs and the problems they give.
mod advanced_rule_table {
    use super::*;
    use serde_json::json;

    /// Good and bad advanced rules, with the exact message a user sees for each bad one.
    #[test]
    fn advanced_rules_are_validated_with_exact_messages() {
        // `Err`: the value as a whole; `Ok`: one message per problem of a rule.
        let cases: Vec<(Value, Result<Vec<&str>, &str>)> = vec![
            (json!([]), Ok(vec![])),
            (json!([{"query": "space = DEV"}]), Ok(vec![])),
            (json!([{"query": "created >= now('-5w') and lastmodified < startOfYear()"}]), Ok(vec![])),
            (json!([{"query": "type in ('page', 'attachment') AND space.key = 'SD'"}]), Ok(vec![])),
            (json!([{"query": "space = DEV order by created desc"}]), Ok(vec![])),
            (json!({"query": "space = DEV"}), Err("expected a list of {query: <CQL>} objects")),
            (json!(["space = DEV"]), Ok(vec!["advanced rule 1: expected an object {query: <CQL>}"])),
            (json!([{}]), Ok(vec!["advanced rule 1: missing \"query\""])),
            (json!([{"query": 3}]), Ok(vec!["advanced rule 1: the query must be text"])),
            (json!([{"query": "space = DEV"}, {"query": "  "}]), Ok(vec!["advanced rule 2: the query is empty"])),
            (
                json!([{"query": "space = DEV", "limit": 5}]),
                Ok(vec!["advanced rule 1: unknown key \"limit\"; a rule holds only \"query\""]),
            ),
            (
                json!([{"query": "space = DEV AND (type = page"}]),
                Ok(vec![
                    "advanced rule 1 (\"space = DEV AND (type = page\"): CQL: expected ')' to close the '(' at \
                     position 16, found end of query at position 28",
                ]),
            ),
            (
                json!([{"query": "space = "}]),
                Ok(vec!["advanced rule 1 (\"space = \"): CQL: expected a value, found end of query at position 8"]),
            ),
            (
                json!([{"query": "titel ~ \"x\""}]),
                Ok(vec![
                    "advanced rule 1 (\"titel ~ \\\"x\\\"\"): CQL: unknown field 'titel' at position 0; did you mean \
                     'title'?",
                ]),
            ),
            (
                json!([{"query": "space = DEV order by"}]),
                Ok(vec![
                    "advanced rule 1 (\"space = DEV order by\"): CQL: expected a field name to order by, found end \
                     of query at position 20",
                ]),
            ),
            (
                json!([{"query": "created > now('-5q')"}]),
                Ok(vec![
                    "advanced rule 1 (\"created > now('-5q')\"): CQL: \"-5q\" in the clause at position 0 is not an \
                     increment like \"-4w\" or \"+2d\": (+/-)nn(y|M|w|d|h|m) (years, Months, weeks, days, hours, \
                     minutes)",
                ]),
            ),
            (
                json!("[{\"query\": \"space = DEV\"]"),
                Err("not valid JSON: expected `,` or `}` at line 1 column 25; expected [{\"query\": \"<CQL>\"}]"),
            ),
        ];
        for (rules, expected) in cases {
            let mut value = rules.clone();
            let got = advanced_rule_problems(&mut value);
            let got: Result<Vec<&str>, &str> =
                got.as_ref().map(|p| p.iter().map(String::as_str).collect()).map_err(String::as_str);
            assert_eq!(got, expected, "{rules}");
        }
    }
}
