//! Checking basic rules and compiling them, with every problem named by its rule's id.
//!
//! The checks are Elastic's validators (`connectors/filtering/validation.py`), so a rule set
//! Kibana accepts is accepted here and one it rejects is rejected for the same reason:
//! - the schema: `id`, `field` and `value` are given, `policy` and `rule` are known words
//!   (`order` is already a whole number: the configuration layer reads it as one);
//! - no match-all regex (`.*` or `(.*)`, exactly) except on the `DEFAULT` rule;
//! - no two rules with the same `(field, rule, value)`. Elastic stops at the first such pair
//!   and marks both rules; we report every group of duplicates, on each of its rules.
//!
//! Ours on top (a config file is written by hand, Kibana's rules never trip them):
//! - a regex must compile (Elastic finds out at the first document, and the sync fails).
//!   Patterns use Rust's `regex` syntax, which has no look-around and no backreferences;
//! - two rules may not share an id: every message, and every log line about a rule, names
//!   it by its id;
//! - a `<`/`>` value must be a number, a date or plain text; what is rejected is text that
//!   starts like a date (`2024-13-01`, `2024-1-32`) but is not one, because such a typo
//!   would otherwise compare as text against dates and silently never match.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicBool;

use regex::Regex;

use super::rule::{Comparison, Operand, Policy, Rule, DEFAULT_RULE_ID};
use super::value::{looks_like_date, parse_instant};
use super::BasicRule;

/// Regex values that match every document (Elastic's `MATCH_ALL_REGEXPS`).
const MATCH_ALL_REGEXES: [&str; 2] = [".*", "(.*)"];

/// One problem with one basic rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleError {
    /// The rule's id (empty when the rule has none).
    pub(crate) rule_id: String,
    /// The rule's place in the configured list, from 1 (names rules without an id).
    pub(crate) position: usize,
    /// What is wrong and how to fix it.
    pub(crate) message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "basic rule {}: {}", rule_name(&self.rule_id, self.position), self.message)
    }
}

impl std::error::Error for RuleError {}

/// `"id"`, or `#3` for the third rule when it has no id.
fn rule_name(id: &str, position: usize) -> String {
    if id.trim().is_empty() {
        format!("#{position}")
    } else {
        format!("\"{id}\"")
    }
}

/// Checks every rule and compiles them all, or returns every problem found (in the order of
/// the rules). The `DEFAULT` rule is checked and compiled like the others.
pub(super) fn compile_all(rules: &[BasicRule]) -> Result<Vec<Rule>, Vec<RuleError>> {
    let mut problems: Vec<(usize, String)> = Vec::new();
    let mut compiled = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        match compile_one(rule) {
            Ok(rule) => compiled.push(rule),
            Err(messages) => problems.extend(messages.into_iter().map(|m| (i, m))),
        }
    }
    problems.extend(shared_ids(rules));
    problems.extend(duplicates(rules));
    if problems.is_empty() {
        return Ok(compiled);
    }
    // Stable: each rule's problems stay in the order they were found.
    problems.sort_by_key(|(i, _)| *i);
    Err(problems
        .into_iter()
        .map(|(i, message)| RuleError { rule_id: rules[i].id.clone(), position: i + 1, message })
        .collect())
}

/// The checks that need only the rule itself.
fn compile_one(rule: &BasicRule) -> Result<Rule, Vec<String>> {
    let mut problems = Vec::new();
    if rule.id.trim().is_empty() {
        problems.push("id is required: give the rule a unique id".to_string());
    }
    if rule.field.trim().is_empty() {
        problems.push(
            "field is required: name a top-level document field such as title, type or _timestamp".into(),
        );
    }
    if rule.value.is_empty() {
        problems.push("value is required: give the text, number or date to compare with".into());
    }
    let policy = Policy::parse(&rule.policy);
    if policy.is_none() {
        problems.push(unknown_word("policy", &rule.policy, "include or exclude"));
    }
    let comparison = Comparison::parse(&rule.rule);
    if comparison.is_none() {
        problems.push(unknown_word(
            "rule",
            &rule.rule,
            "equals, contains, starts_with, ends_with, regex, < or >",
        ));
    }
    let mut regex = None;
    if !rule.value.is_empty() {
        match comparison {
            Some(Comparison::Regex) => match check_regex(rule) {
                Ok(compiled) => regex = Some(compiled),
                Err(message) => problems.push(message),
            },
            Some(Comparison::LessThan | Comparison::GreaterThan)
                if looks_like_date(&rule.value) && parse_instant(&rule.value).is_none() =>
            {
                problems.push(format!(
                    "value \"{}\" looks like a date but is not one: write a date such as 2024-01-31 \
                     or a time such as 2024-01-31T10:00:00Z",
                    rule.value
                ));
            }
            _ => {}
        }
    }
    match (policy, comparison) {
        (Some(policy), Some(comparison)) if problems.is_empty() => Ok(Rule {
            id: rule.id.clone(),
            policy,
            field: rule.field.clone(),
            comparison,
            operand: Operand::new(&rule.value, regex),
            order: rule.order,
            reported_unappliable: AtomicBool::new(false),
        }),
        _ => Err(problems),
    }
}

/// "policy is required: …" or "policy \"keep\" is not valid: …".
fn unknown_word(name: &str, given: &str, choices: &str) -> String {
    if given.trim().is_empty() {
        format!("{name} is required: use {choices}")
    } else {
        format!("{name} \"{given}\" is not valid: use {choices}")
    }
}

/// A regex rule's pattern: not match-all (unless DEFAULT) and compiling.
fn check_regex(rule: &BasicRule) -> Result<Regex, String> {
    if rule.id != DEFAULT_RULE_ID && MATCH_ALL_REGEXES.contains(&rule.value.as_str()) {
        return Err(format!(
            "regex \"{}\" matches every document: remove the rule (a document no rule matches is \
             indexed anyway) or narrow the pattern",
            rule.value
        ));
    }
    Regex::new(&rule.value)
        .map_err(|e| format!("regex \"{}\" does not compile: {}", rule.value, regex_problem(&e)))
}

/// The regex crate's error in one line (its syntax errors span several, with a caret).
fn regex_problem(error: &regex::Error) -> String {
    match error {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("error: "))
            .map(str::to_string)
            .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" ")),
        regex::Error::CompiledTooBig(limit) => {
            format!("the compiled pattern exceeds the {limit}-byte limit; simplify it")
        }
        other => other.to_string(),
    }
}

/// Rules that reuse an earlier rule's id (each later one is reported).
fn shared_ids(rules: &[BasicRule]) -> Vec<(usize, String)> {
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    let mut problems = Vec::new();
    for (i, rule) in rules.iter().enumerate().filter(|(_, r)| !r.id.trim().is_empty()) {
        if let Some(first) = first_seen.get(rule.id.as_str()) {
            problems
                .push((i, format!("id is already used by rule #{}: give each rule its own id", first + 1)));
        } else {
            first_seen.insert(&rule.id, i);
        }
    }
    problems
}

/// Rules with the same `(field, rule, value)`: each one of a group is reported, naming the
/// others. Rules without a field or value are left to the schema check.
fn duplicates(rules: &[BasicRule]) -> Vec<(usize, String)> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: HashMap<(&str, String, &str), usize> = HashMap::new();
    for (i, rule) in rules.iter().enumerate() {
        if rule.field.trim().is_empty() || rule.value.is_empty() {
            continue;
        }
        let key = (rule.field.as_str(), rule.rule.trim().to_lowercase(), rule.value.as_str());
        match group_of.get(&key) {
            Some(&g) => groups[g].push(i),
            None => {
                group_of.insert(key, groups.len());
                groups.push(vec![i]);
            }
        }
    }
    let mut problems = Vec::new();
    for group in groups.iter().filter(|g| g.len() > 1) {
        for &i in group {
            let others: Vec<String> =
                group.iter().filter(|&&j| j != i).map(|&j| rule_name(&rules[j].id, j + 1)).collect();
            let noun = if others.len() == 1 { "rule" } else { "rules" };
            let r = &rules[i];
            problems.push((
                i,
                format!(
                    "same field, rule and value as {noun} {} ({} {} \"{}\"): keep only one of them",
                    others.join(", "),
                    r.field,
                    r.rule.trim().to_lowercase(),
                    r.value
                ),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::super::test_rule as rule;
    use super::*;

    fn messages(rules: &[BasicRule]) -> Vec<String> {
        match compile_all(rules) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn good_rule_sets_compile() {
        let sets: Vec<Vec<BasicRule>> = vec![
            vec![],
            vec![rule("DEFAULT", "include", "_", "regex", ".*", 0)],
            vec![rule("DEFAULT", "include", "_", "regex", "(.*)", 0)],
            vec![
                rule("a", "exclude", "title", "equals", "Draft", 1),
                rule("b", "include", "title", "contains", "Draft", 2),
                rule("c", "exclude", "title", "equals", "Draft ", 3),
                rule("d", "include", "type", "starts_with", "page", 4),
                rule("e", "include", "type", "ends_with", "post", 5),
                rule("f", "include", "title", "regex", "Release \\d+", 6),
                rule("g", "include", "title", "regex", ".*draft", 7),
                rule("h", "exclude", "size", ">", "1e6", 8),
                rule("i", "exclude", "_timestamp", "<", "2024-01-01", 9),
                rule("j", "exclude", "_timestamp", "<", "2024-01-01T10:00:00+02:00", 10),
                rule("k", "exclude", "title", "<", "M", 11),
                rule("l", "exclude", "title", ">", "1.2.3", 12),
                rule("m", "Exclude", "title", "EQUALS", "x", 13),
            ],
        ];
        for set in sets {
            let compiled = compile_all(&set).unwrap_or_else(|e| panic!("{set:?}: {e:?}"));
            assert_eq!(compiled.len(), set.len());
        }
    }

    #[test]
    fn bad_rule_sets_are_rejected_with_exact_messages() {
        let table: Vec<(Vec<BasicRule>, Vec<&str>)> = vec![
            (
                vec![rule("excl-drafts", "exclude", "title", "regex", "(", 1)],
                vec![r#"basic rule "excl-drafts": regex "(" does not compile: unclosed group"#],
            ),
            (
                vec![rule("ahead", "exclude", "title", "regex", "a(?=b)", 1)],
                vec![
                    r#"basic rule "ahead": regex "a(?=b)" does not compile: look-around, including look-ahead and look-behind, is not supported"#,
                ],
            ),
            (
                vec![rule("", "include", "", "equals", "", 1)],
                vec![
                    "basic rule #1: id is required: give the rule a unique id",
                    "basic rule #1: field is required: name a top-level document field such as title, type or _timestamp",
                    "basic rule #1: value is required: give the text, number or date to compare with",
                ],
            ),
            (
                vec![rule("p", "keep", "title", "greater_than", "x", 1), rule("q", "", "title", "", "x", 2)],
                vec![
                    r#"basic rule "p": policy "keep" is not valid: use include or exclude"#,
                    r#"basic rule "p": rule "greater_than" is not valid: use equals, contains, starts_with, ends_with, regex, < or >"#,
                    r#"basic rule "q": policy is required: use include or exclude"#,
                    r#"basic rule "q": rule is required: use equals, contains, starts_with, ends_with, regex, < or >"#,
                ],
            ),
            (
                vec![
                    rule("all", "exclude", "title", "regex", ".*", 1),
                    rule("all2", "include", "type", "regex", "(.*)", 2),
                ],
                vec![
                    r#"basic rule "all": regex ".*" matches every document: remove the rule (a document no rule matches is indexed anyway) or narrow the pattern"#,
                    r#"basic rule "all2": regex "(.*)" matches every document: remove the rule (a document no rule matches is indexed anyway) or narrow the pattern"#,
                ],
            ),
            (
                vec![
                    rule("a", "exclude", "title", "equals", "Draft", 1),
                    rule("b", "include", "title", "contains", "Draft", 2),
                    rule("c", "include", "title", "Equals", "Draft", 3),
                ],
                vec![
                    r#"basic rule "a": same field, rule and value as rule "c" (title equals "Draft"): keep only one of them"#,
                    r#"basic rule "c": same field, rule and value as rule "a" (title equals "Draft"): keep only one of them"#,
                ],
            ),
            (
                vec![
                    rule("a", "exclude", "type", "equals", "page", 1),
                    rule("b", "include", "type", "equals", "page", 2),
                    rule("", "include", "type", "equals", "page", 3),
                ],
                vec![
                    r#"basic rule "a": same field, rule and value as rules "b", #3 (type equals "page"): keep only one of them"#,
                    r#"basic rule "b": same field, rule and value as rules "a", #3 (type equals "page"): keep only one of them"#,
                    "basic rule #3: id is required: give the rule a unique id",
                    r#"basic rule #3: same field, rule and value as rules "a", "b" (type equals "page"): keep only one of them"#,
                ],
            ),
            (
                vec![rule("x", "exclude", "title", "equals", "A", 1), rule("x", "exclude", "title", "equals", "B", 2)],
                vec![r#"basic rule "x": id is already used by rule #1: give each rule its own id"#],
            ),
            (
                vec![
                    rule("old", "exclude", "_timestamp", "<", "2024-13-01", 1),
                    rule("eq", "exclude", "_timestamp", "equals", "2024-13-01", 2),
                ],
                vec![
                    r#"basic rule "old": value "2024-13-01" looks like a date but is not one: write a date such as 2024-01-31 or a time such as 2024-01-31T10:00:00Z"#,
                ],
            ),
        ];
        for (set, expected) in table {
            assert_eq!(messages(&set), expected, "{set:?}");
        }
    }

    #[test]
    fn an_invalid_default_rule_is_still_reported() {
        let set = [rule("DEFAULT", "include", "_", "regex", "[", 0)];
        assert_eq!(
            messages(&set),
            [r#"basic rule "DEFAULT": regex "[" does not compile: unclosed character class"#]
        );
    }

    #[test]
    fn errors_carry_the_rule_id_and_position() {
        let set = [
            rule("ok", "include", "title", "equals", "A", 1),
            rule("bad", "include", "title", "regex", "(", 2),
        ];
        let errors = compile_all(&set).err().unwrap_or_default();
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].rule_id.as_str(), errors[0].position), ("bad", 2));
        assert_eq!(errors[0].message, r#"regex "(" does not compile: unclosed group"#);
    }
}
