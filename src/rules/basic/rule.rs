//! One basic rule in its compiled form: the policy and the comparison as enums, and the
//! rule's `value` read once as every type it could be compared as.
//!
//! The configuration hands rules over as text (`BasicRule`); compiling them
//! up front means a bad regex is reported when the connector starts, not on the
//! ten-thousandth document, and that no document pays for parsing the rule's value again.

use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};
use regex::Regex;

use super::value::{parse_bool, parse_instant, parse_number};

/// The id of the rule Elastic's tools create with every connector (`_` regex `.*`,
/// include); it is validated like the others but never applied.
pub(super) const DEFAULT_RULE_ID: &str = "DEFAULT";

/// What a matching rule does to the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Policy {
    /// Keep (index) the document.
    Include,
    /// Drop the document (and delete it from the index if it was there).
    Exclude,
}

impl Policy {
    /// Reads `include` / `exclude` (any case).
    pub(super) fn parse(text: &str) -> Option<Policy> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("include") {
            Some(Policy::Include)
        } else if t.eq_ignore_ascii_case("exclude") {
            Some(Policy::Exclude)
        } else {
            None
        }
    }
}

/// How the document's value is compared with the rule's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Comparison {
    /// `equals`: typed equality.
    Equals,
    /// `contains`: the text contains the value.
    Contains,
    /// `starts_with`: the text starts with the value.
    StartsWith,
    /// `ends_with`: the text ends with the value.
    EndsWith,
    /// `regex`: the regex matches at the start of the text (Python's `re.match`).
    Regex,
    /// `<`: typed ordering.
    LessThan,
    /// `>`: typed ordering.
    GreaterThan,
}

impl Comparison {
    /// Every comparison, in the order the error messages list them.
    pub(super) const ALL: [Comparison; 7] = [
        Comparison::Equals,
        Comparison::Contains,
        Comparison::StartsWith,
        Comparison::EndsWith,
        Comparison::Regex,
        Comparison::LessThan,
        Comparison::GreaterThan,
    ];

    /// The word used in rules.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Comparison::Equals => "equals",
            Comparison::Contains => "contains",
            Comparison::StartsWith => "starts_with",
            Comparison::EndsWith => "ends_with",
            Comparison::Regex => "regex",
            Comparison::LessThan => "<",
            Comparison::GreaterThan => ">",
        }
    }

    /// Reads a rule word (any case). `greater_than`/`less_than` are not accepted, as in
    /// Elastic's framework.
    pub(super) fn parse(text: &str) -> Option<Comparison> {
        let t = text.trim();
        Comparison::ALL.into_iter().find(|c| t.eq_ignore_ascii_case(c.as_str()))
    }
}

/// A rule's `value`, read as each type a document value may have.
#[derive(Debug)]
pub(super) struct Operand {
    /// As written; used against strings (and the text of numbers and booleans).
    pub(crate) text: String,
    /// As a number, if it is one; used against JSON numbers.
    pub(crate) number: Option<f64>,
    /// As an instant, if it is a date or date-time; used against date strings.
    pub(crate) instant: Option<DateTime<Utc>>,
    /// As a boolean (`true/false/yes/no/1/0`); used against JSON booleans.
    pub(crate) boolean: Option<bool>,
    /// The compiled pattern, for `regex` rules only.
    pub(crate) regex: Option<Regex>,
}

impl Operand {
    /// Reads `text` as every type; `regex` is the pattern already compiled by validation.
    pub(super) fn new(text: &str, regex: Option<Regex>) -> Operand {
        Operand {
            text: text.to_string(),
            number: parse_number(text),
            instant: parse_instant(text),
            boolean: parse_bool(text),
            regex,
        }
    }
}

/// One compiled rule.
#[derive(Debug)]
pub(super) struct Rule {
    /// The rule's id, named in every message about it.
    pub(crate) id: String,
    /// What a match does.
    pub(crate) policy: Policy,
    /// The top-level document key it reads.
    pub(crate) field: String,
    /// How it compares.
    pub(crate) comparison: Comparison,
    /// What it compares with.
    pub(crate) operand: Operand,
    /// Rules apply in ascending order.
    pub(crate) order: i64,
    /// Set once the rule has met a value it cannot compare with (logged only the first time).
    pub(crate) reported_unappliable: AtomicBool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_in_any_case() {
        assert_eq!(Policy::parse("Include"), Some(Policy::Include));
        assert_eq!(Policy::parse("EXCLUDE"), Some(Policy::Exclude));
        assert_eq!(Policy::parse("keep"), None);
        for c in Comparison::ALL {
            assert_eq!(Comparison::parse(&c.as_str().to_uppercase()), Some(c));
        }
        assert_eq!(Comparison::parse("greater_than"), None);
        assert_eq!(Comparison::parse("less_than"), None);
    }

    #[test]
    fn an_operand_is_read_as_every_type() {
        let one = Operand::new("1", None);
        assert_eq!((one.number, one.boolean, one.instant), (Some(1.0), Some(true), None));
        let day = Operand::new("2024-01-01", None);
        assert!(day.instant.is_some() && day.number.is_none() && day.boolean.is_none());
        let word = Operand::new("draft", None);
        assert!(word.instant.is_none() && word.number.is_none() && word.boolean.is_none());
        assert_eq!(word.text, "draft");
    }
}
