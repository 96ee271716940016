//! Comparing one document value with one rule, typed by the document's value.
//!
//! Elastic's framework compares `str(value)` for text rules and coerces the rule's value to
//! the document value's Python type for `equals`, `<` and `>`, which raises (and fails the
//! sync) on `<` between a number and a word. Here the document value's JSON type decides,
//! and a comparison that makes no sense is reported as [`Outcome::Unappliable`] instead:
//!
//! | document value | `contains`, `starts_with`, `ends_with`, `regex` | `equals` | `<`, `>` |
//! |---|---|---|---|
//! | string that reads as a date | on the text | as instants if the rule value is a date, else as text | as instants; a rule value that is no date cannot apply |
//! | other string | on the text | as text | as text (code-point order) |
//! | number | on its JSON text (`5`, `2.5`) | as numbers; a rule value that is no number cannot apply | same as `equals` |
//! | boolean | on `true` / `false` | with `true/false/yes/no/1/0`; other rule values cannot apply | cannot apply (no order) |
//! | list | matches if any element matches | same | same |
//! | object (alone or in a list, e.g. `ancestors`) | matches if any of its string values matches | same | same |
//! | `null` | no match (like an absent field) | same | same |
//!
//! `regex` is anchored at the start of the text and not at its end, like Python's
//! `re.match`: `Release` matches "Release notes".

use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::rule::{Comparison, Operand};
use super::value::{looks_like_date, parse_instant};

/// What comparing one value with one rule gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The rule matches: its policy decides.
    Match,
    /// The rule does not match: the next rule is tried.
    NoMatch,
    /// The rule cannot compare with this value; it counts as no match.
    Unappliable(Mismatch),
}

/// Why a rule cannot compare with a document value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mismatch {
    /// The document value is a number, the rule value is not.
    NotANumber,
    /// The document value is a date, the rule value is not.
    NotADate,
    /// The document value is a boolean, the rule value is not one of the boolean words.
    NotABoolean,
    /// `<` or `>` against a boolean.
    BooleanOrder,
}

impl Mismatch {
    /// The reason in the user's words, quoting the rule's value.
    pub(super) fn explain(self, rule_value: &str) -> String {
        match self {
            Mismatch::NotANumber => format!("the document's value is a number and \"{rule_value}\" is not"),
            Mismatch::NotADate => format!(
                "the document's value is a date and \"{rule_value}\" is not (write 2024-01-31 or \
                 2024-01-31T10:00:00Z)"
            ),
            Mismatch::NotABoolean => format!(
                "the document's value is true or false and \"{rule_value}\" is not one of true, false, \
                 yes, no, 1, 0"
            ),
            Mismatch::BooleanOrder => {
                "the document's value is true or false, which < and > cannot order".into()
            }
        }
    }
}

/// Compares a document value with a rule's operand.
pub(super) fn evaluate(comparison: Comparison, operand: &Operand, value: &Value) -> Outcome {
    match value {
        Value::Null => Outcome::NoMatch,
        Value::String(text) => on_string(comparison, operand, text),
        Value::Number(number) => on_number(comparison, operand, number),
        Value::Bool(flag) => on_bool(comparison, operand, *flag),
        Value::Array(items) => any(items.iter().map(|item| evaluate(comparison, operand, item))),
        Value::Object(fields) => {
            any(fields.values().filter(|v| v.is_string()).map(|v| evaluate(comparison, operand, v)))
        }
    }
}

/// A match if any outcome matches; otherwise the first reason a comparison could not apply,
/// or no match.
fn any(outcomes: impl Iterator<Item = Outcome>) -> Outcome {
    let mut mismatch = None;
    for outcome in outcomes {
        match outcome {
            Outcome::Match => return Outcome::Match,
            Outcome::Unappliable(m) => {
                mismatch.get_or_insert(m);
            }
            Outcome::NoMatch => {}
        }
    }
    mismatch.map_or(Outcome::NoMatch, Outcome::Unappliable)
}

fn matched(yes: bool) -> Outcome {
    if yes {
        Outcome::Match
    } else {
        Outcome::NoMatch
    }
}

/// The comparisons that read text whatever the value's type; `None` for the typed ones.
fn on_text(comparison: Comparison, operand: &Operand, text: &str) -> Option<Outcome> {
    let yes = match comparison {
        Comparison::Contains => text.contains(&operand.text),
        Comparison::StartsWith => text.starts_with(&operand.text),
        Comparison::EndsWith => text.ends_with(&operand.text),
        // Leftmost-first search: if any match starts at 0, the one found does.
        Comparison::Regex => {
            operand.regex.as_ref().and_then(|r| r.find(text)).is_some_and(|found| found.start() == 0)
        }
        Comparison::Equals | Comparison::LessThan | Comparison::GreaterThan => return None,
    };
    Some(matched(yes))
}

/// `equals`, `<`, `>` given how the document value orders against the rule value.
fn ordered(comparison: Comparison, order: Option<Ordering>) -> Outcome {
    let wanted = match comparison {
        Comparison::LessThan => Ordering::Less,
        Comparison::GreaterThan => Ordering::Greater,
        _ => Ordering::Equal,
    };
    matched(order == Some(wanted))
}

fn on_string(comparison: Comparison, operand: &Operand, text: &str) -> Outcome {
    if let Some(outcome) = on_text(comparison, operand, text) {
        return outcome;
    }
    let instant = if looks_like_date(text) { parse_instant(text) } else { None };
    match (comparison, instant, operand.instant) {
        (_, Some(at), Some(rule_at)) => ordered(comparison, Some(at.cmp(&rule_at))),
        (Comparison::LessThan | Comparison::GreaterThan, Some(_), None) => {
            Outcome::Unappliable(Mismatch::NotADate)
        }
        _ => ordered(comparison, Some(text.cmp(&operand.text))),
    }
}

fn on_number(comparison: Comparison, operand: &Operand, number: &Number) -> Outcome {
    if let Some(outcome) = on_text(comparison, operand, &number.to_string()) {
        return outcome;
    }
    match (number.as_f64(), operand.number) {
        (Some(n), Some(rule_n)) => ordered(comparison, n.partial_cmp(&rule_n)),
        (_, None) => Outcome::Unappliable(Mismatch::NotANumber),
        // serde_json numbers always convert to f64 (no arbitrary precision): unreachable.
        (None, Some(_)) => Outcome::NoMatch,
    }
}

fn on_bool(comparison: Comparison, operand: &Operand, flag: bool) -> Outcome {
    if let Some(outcome) = on_text(comparison, operand, if flag { "true" } else { "false" }) {
        return outcome;
    }
    match (comparison, operand.boolean) {
        (Comparison::LessThan | Comparison::GreaterThan, _) => Outcome::Unappliable(Mismatch::BooleanOrder),
        (_, Some(rule_flag)) => matched(flag == rule_flag),
        (_, None) => Outcome::Unappliable(Mismatch::NotABoolean),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use Comparison::*;
    use Outcome::*;

    fn check(comparison: Comparison, rule_value: &str, value: Value) -> Outcome {
        let regex =
            (comparison == Regex).then(|| regex::Regex::new(rule_value).unwrap_or_else(|e| panic!("{e}")));
        evaluate(comparison, &Operand::new(rule_value, regex), &value)
    }

    #[test]
    fn strings_compare_as_text() {
        let title = || json!("Release notes 2.0");
        assert_eq!(check(Equals, "Release notes 2.0", title()), Match);
        assert_eq!(check(Equals, "release notes 2.0", title()), NoMatch);
        assert_eq!(check(Contains, "notes", title()), Match);
        assert_eq!(check(Contains, "draft", title()), NoMatch);
        assert_eq!(check(StartsWith, "Release", title()), Match);
        assert_eq!(check(StartsWith, "notes", title()), NoMatch);
        assert_eq!(check(EndsWith, "2.0", title()), Match);
        assert_eq!(check(EndsWith, "Release", title()), NoMatch);
        assert_eq!(check(LessThan, "S", title()), Match);
        assert_eq!(check(LessThan, "A", title()), NoMatch);
        assert_eq!(check(GreaterThan, "Q", title()), Match);
        assert_eq!(check(GreaterThan, "Release notes 2.0", title()), NoMatch);
        // A number-like rule value against a string is still text: "10" < "9".
        assert_eq!(check(LessThan, "9", json!("10")), Match);
    }

    #[test]
    fn regex_is_anchored_at_the_start_only() {
        let title = || json!("Release notes 2.0");
        assert_eq!(check(Regex, "Release", title()), Match);
        assert_eq!(check(Regex, "notes", title()), NoMatch);
        assert_eq!(check(Regex, ".*notes", title()), Match);
        assert_eq!(check(Regex, "R\\w+ n", title()), Match);
        assert_eq!(check(Regex, "notes|Release", title()), Match);
        assert_eq!(check(Regex, "(?i)release", title()), Match);
        assert_eq!(check(Regex, "x*", title()), Match, "an empty match at 0 is a match, as in re.match");
        assert_eq!(check(Regex, "\\d", json!("v2")), NoMatch);
        assert_eq!(check(Regex, "^2", json!("v2")), NoMatch);
    }

    #[test]
    fn whole_and_float_numbers_compare_as_numbers() {
        assert_eq!(check(Equals, "5", json!(5)), Match);
        assert_eq!(check(Equals, "5.0", json!(5)), Match);
        assert_eq!(check(Equals, "6", json!(5)), NoMatch);
        assert_eq!(check(GreaterThan, "10", json!(100)), Match, "numerically, not as text");
        assert_eq!(check(LessThan, "10", json!(9)), Match);
        assert_eq!(check(LessThan, "1e6", json!(2_000_000)), NoMatch);
        assert_eq!(check(GreaterThan, "2.5", json!(2.75)), Match);
        assert_eq!(check(LessThan, "-1", json!(-1.5)), Match);
        assert_eq!(check(Equals, "2.5", json!(2.5)), Match);
        assert_eq!(check(StartsWith, "12", json!(123)), Match);
        assert_eq!(check(Contains, ".7", json!(2.75)), Match);
        assert_eq!(check(Regex, "\\d+$", json!(42)), Match);
    }

    #[test]
    fn a_number_against_a_word_cannot_apply() {
        for comparison in [Equals, LessThan, GreaterThan] {
            assert_eq!(check(comparison, "big", json!(5)), Unappliable(Mismatch::NotANumber));
        }
        assert_eq!(check(Contains, "big", json!(5)), NoMatch);
    }

    #[test]
    fn booleans_compare_with_boolean_words() {
        assert_eq!(check(Equals, "true", json!(true)), Match);
        assert_eq!(check(Equals, "Yes", json!(true)), Match);
        assert_eq!(check(Equals, "1", json!(true)), Match);
        assert_eq!(check(Equals, "no", json!(false)), Match);
        assert_eq!(check(Equals, "0", json!(true)), NoMatch);
        assert_eq!(check(Equals, "maybe", json!(true)), Unappliable(Mismatch::NotABoolean));
        assert_eq!(check(GreaterThan, "false", json!(true)), Unappliable(Mismatch::BooleanOrder));
        assert_eq!(check(StartsWith, "tr", json!(true)), Match);
        assert_eq!(check(Regex, "f", json!(false)), Match);
    }

    #[test]
    fn date_strings_compare_as_instants() {
        let stamp = || json!("2024-03-10T12:00:00.000Z");
        assert_eq!(check(GreaterThan, "2024-01-01", stamp()), Match);
        assert_eq!(check(LessThan, "2024-01-01", stamp()), NoMatch);
        assert_eq!(check(LessThan, "2024-03-10T13:00:00+02:00", stamp()), NoMatch, "11:00 UTC is earlier");
        assert_eq!(check(GreaterThan, "2024-03-10T13:00:00+02:00", stamp()), Match);
        assert_eq!(check(Equals, "2024-03-10T14:00:00+02:00", stamp()), Match, "the same instant");
        assert_eq!(check(Equals, "2024-03-10", stamp()), NoMatch);
        assert_eq!(check(Equals, "2024-03-10", json!("2024-03-10")), Match);
        assert_eq!(check(StartsWith, "2024-03", stamp()), Match, "text rules read the text");
        assert_eq!(check(LessThan, "last year", stamp()), Unappliable(Mismatch::NotADate));
        assert_eq!(check(GreaterThan, "5", stamp()), Unappliable(Mismatch::NotADate));
        // `equals` with a rule value that is no date compares the text: not an error.
        assert_eq!(check(Equals, "Release notes", json!("2024-01-01")), NoMatch);
        // Text that only starts like a date is text.
        assert_eq!(check(LessThan, "2025", json!("2024-01-01 plans")), Match);
    }

    #[test]
    fn lists_match_when_any_element_matches() {
        let labels = || json!(["draft", "howto", "team-a"]);
        assert_eq!(check(Equals, "howto", labels()), Match);
        assert_eq!(check(Equals, "how", labels()), NoMatch);
        assert_eq!(check(Contains, "ow", labels()), Match);
        assert_eq!(check(StartsWith, "team-", labels()), Match);
        assert_eq!(check(EndsWith, "-b", labels()), NoMatch);
        assert_eq!(check(Regex, "t[a-z]+-a", labels()), Match);
        assert_eq!(check(Regex, "raft", labels()), NoMatch, "anchored on each element");
        assert_eq!(check(Equals, "x", json!([])), NoMatch);
        assert_eq!(check(GreaterThan, "3", json!([1, 2, 5])), Match);
        assert_eq!(check(GreaterThan, "8", json!([1, 2, 5])), NoMatch);
        assert_eq!(check(Equals, "a", json!([null, "a"])), Match);
        assert_eq!(check(Equals, "b", json!([["a"], ["b"]])), Match);
        assert_eq!(check(LessThan, "x", json!([1, 2])), Unappliable(Mismatch::NotANumber));
        assert_eq!(check(Equals, "2", json!(["x", 2])), Match, "any element, each by its own type");
    }

    #[test]
    fn objects_match_on_their_string_values() {
        let ancestors = || json!([{"id": "10", "title": "Engineering"}, {"id": "11", "title": "Runbooks"}]);
        assert_eq!(check(Equals, "Runbooks", ancestors()), Match);
        assert_eq!(check(Equals, "11", ancestors()), Match);
        assert_eq!(check(StartsWith, "Eng", ancestors()), Match);
        assert_eq!(check(Regex, "Run", ancestors()), Match);
        assert_eq!(check(Contains, "Sales", ancestors()), NoMatch);
        assert_eq!(check(Equals, "Engineering", json!({"title": "Engineering", "depth": 1})), Match);
        assert_eq!(check(Equals, "1", json!({"depth": 1})), NoMatch, "only string values");
    }

    #[test]
    fn null_never_matches() {
        for comparison in Comparison::ALL {
            let value = if comparison == Regex { "n" } else { "null" };
            assert_eq!(check(comparison, value, Value::Null), NoMatch);
        }
    }

    #[test]
    fn mismatches_explain_themselves() {
        assert_eq!(
            Mismatch::NotANumber.explain("big"),
            r#"the document's value is a number and "big" is not"#
        );
        assert_eq!(
            Mismatch::NotADate.explain("soon"),
            r#"the document's value is a date and "soon" is not (write 2024-01-31 or 2024-01-31T10:00:00Z)"#
        );
    }
}
