//! Tests a parsed query against one piece of content, and orders results by `ORDER BY`.
//!
//! The simulator implements [`Document`] for its pages, blog posts, attachments, comments and
//! spaces; [`matches`] then answers whether a query selects it, following Confluence's rules
//! as closely as a search index can be imitated without one:
//!
//! * `=`, `!=`, `in`, `not in` compare text case-insensitively (space keys, types, labels,
//!   titles) and numbers exactly (ids); a number in the query equals a text value only if the
//!   text is exactly that number.
//! * A multi-valued field (labels, ancestors, contributors) matches `=` / `in` if **any** of
//!   its values matches, and `!=` / `not in` if **none** does (so content without labels
//!   matches `label != draft`).
//! * `~` is a case-insensitive word match: every word of the query (split on anything that is
//!   not a letter or digit; `*` and `?` wildcards are dropped) must occur somewhere in the
//!   value as a substring, so `title ~ "rel note"` matches "Release Notes". A query wrapped in
//!   double quotes inside the string (`text ~ "\"exact phrase\""`) must occur as one phrase.
//!   `!~` is the negation. This is simpler than Confluence's stemming search index.
//! * Dates compare at minute precision, as CQL has no seconds: both the content's instant and
//!   the query's date are truncated to the minute before comparing.
//! * `currentUser()` is the user in [`EvalContext::current_user`]; other server-state
//!   functions (`favouriteSpaces()`, `recentlyViewedContent()` …) cannot be evaluated here and
//!   produce an error.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::ast::{Clause, Expr, Op, OrderKey, Query, Value};
use crate::dates::{is_date_function, resolve_date_at, to_minute};
use crate::error::CqlError;
use crate::fields;

/// One value of a field of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    /// A key, type, label, title, user, body text …
    Text(Cow<'a, str>),
    /// An instant (`created`, `lastmodified`).
    Time(DateTime<Utc>),
    /// A numeric id (`id`, `ancestor`, `parent`, `container`).
    Number(i64),
}

impl<'a> FieldValue<'a> {
    /// A text value borrowed from the document.
    pub fn text(s: &'a str) -> Self {
        FieldValue::Text(Cow::Borrowed(s))
    }
}

/// All values a document has for one field; empty when it has none or the field does not
/// apply to it.
pub type FieldValues<'a> = Vec<FieldValue<'a>>;

/// Content a CQL query can be tested against.
pub trait Document {
    /// The values of `field`, named by its canonical lower-case name: `id`, `type`,
    /// `space.key` (asked for `space` too), `space.type`, `space.title`, `space.category`,
    /// `space.desc`, `title`, `text`, `sitesearch`, `label`, `ancestor`, `parent`,
    /// `container`, `created`, `lastmodified`, `creator`, `contributor`, `mention`, `macro`,
    /// `favourite` (asked for `favorite` too), `watcher`, `user`, `user.accountid`,
    /// `user.fullname`, `user.userkey`. A field not in the list is asked for as written
    /// (lower-cased). Return an empty list for a field that does not apply.
    fn values(&self, field: &str) -> FieldValues<'_>;
}

impl<T: Document + ?Sized> Document for &T {
    fn values(&self, field: &str) -> FieldValues<'_> {
        (**self).values(field)
    }
}

/// What evaluation needs besides the query and the document.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalContext {
    /// The current instant, for `now()` and the other date functions.
    pub now: DateTime<Utc>,
    /// The site's time zone, in which dates are read.
    pub tz: Tz,
    /// The user `currentUser()` stands for (an account id or user key), if one is logged in.
    pub current_user: Option<String>,
}

impl EvalContext {
    /// A context with no logged-in user.
    pub fn new(now: DateTime<Utc>, tz: Tz) -> Self {
        EvalContext { now, tz, current_user: None }
    }

    /// The same context with `user` as `currentUser()`.
    pub fn with_current_user(mut self, user: impl Into<String>) -> Self {
        self.current_user = Some(user.into());
        self
    }
}

/// Whether `doc` satisfies the condition of `query` (`ORDER BY` plays no part).
pub fn matches<D: Document + ?Sized>(query: &Query, doc: &D, ctx: &EvalContext) -> Result<bool, CqlError> {
    holds(&query.expr, doc, ctx)
}

fn holds<D: Document + ?Sized>(expr: &Expr, doc: &D, ctx: &EvalContext) -> Result<bool, CqlError> {
    Ok(match expr {
        Expr::And(a, b) => holds(a, doc, ctx)? && holds(b, doc, ctx)?,
        Expr::Or(a, b) => holds(a, doc, ctx)? || holds(b, doc, ctx)?,
        Expr::Not(inner) => !holds(inner, doc, ctx)?,
        Expr::Clause(clause) => clause_holds(clause, doc, ctx)?,
    })
}

/// The name a document is asked for when the query says `field`.
fn canonical(field: &str) -> &str {
    fields::lookup(field).map_or(field, |f| f.canonical)
}

fn clause_holds<D: Document + ?Sized>(clause: &Clause, doc: &D, ctx: &EvalContext) -> Result<bool, CqlError> {
    let values = doc.values(canonical(&clause.field));
    let items: Vec<&Value> = match &clause.value {
        Value::List(items) => items.iter().collect(),
        single => vec![single],
    };
    let any_equal = || -> Result<bool, CqlError> {
        for value in &values {
            for item in &items {
                if equals(value, item, clause, ctx)? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    };
    let any_contains = || -> Result<bool, CqlError> {
        let needle = literal_text(&clause.value, clause)?;
        Ok(values.iter().any(|v| match v {
            FieldValue::Text(t) => text_contains(t, &needle),
            FieldValue::Number(n) => text_contains(&n.to_string(), &needle),
            FieldValue::Time(_) => false,
        }))
    };
    match clause.op {
        Op::Eq | Op::In => any_equal(),
        Op::Ne | Op::NotIn => Ok(!any_equal()?),
        Op::Contains => any_contains(),
        Op::NotContains => Ok(!any_contains()?),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            for value in &values {
                if let Some(order) = order_against(value, &clause.value, clause, ctx)? {
                    let hit = match clause.op {
                        Op::Lt => order == Ordering::Less,
                        Op::Le => order != Ordering::Greater,
                        Op::Gt => order == Ordering::Greater,
                        _ => order != Ordering::Less,
                    };
                    if hit {
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        }
    }
}

/// Whether one document value equals one query value.
fn equals(
    value: &FieldValue<'_>,
    target: &Value,
    clause: &Clause,
    ctx: &EvalContext,
) -> Result<bool, CqlError> {
    if let Value::Function { name, .. } = target {
        if name.eq_ignore_ascii_case("currentuser") {
            let user = ctx.current_user.as_deref().ok_or_else(|| {
                CqlError::invalid_value(
                    clause.position,
                    "currentUser()",
                    "usable here: no user is logged in (anonymous requests cannot use it)",
                )
            })?;
            return Ok(matches!(value, FieldValue::Text(t) if same_text(t, user)));
        }
    }
    Ok(match value {
        FieldValue::Time(t) => {
            let bound = resolve_date_at(target, ctx.now, ctx.tz, clause.position)?;
            to_minute(*t) == to_minute(bound)
        }
        FieldValue::Number(n) => match target {
            Value::Number(m) => n == m,
            Value::Text(s) => s.trim().parse::<i64>().ok() == Some(*n),
            other => return Err(not_evaluable(other, clause)),
        },
        FieldValue::Text(t) => match target {
            Value::Text(s) => same_text(t, s),
            Value::Number(m) => t.trim() == m.to_string(),
            other => return Err(not_evaluable(other, clause)),
        },
    })
}

/// How a document value orders against a query value, for `<`, `<=`, `>`, `>=`; `None` when
/// they cannot be ordered (text).
fn order_against(
    value: &FieldValue<'_>,
    target: &Value,
    clause: &Clause,
    ctx: &EvalContext,
) -> Result<Option<Ordering>, CqlError> {
    Ok(match value {
        FieldValue::Time(t) => {
            let bound = resolve_date_at(target, ctx.now, ctx.tz, clause.position)?;
            Some(to_minute(*t).cmp(&to_minute(bound)))
        }
        FieldValue::Number(n) => match target {
            Value::Number(m) => Some(n.cmp(m)),
            Value::Text(s) => s.trim().parse::<i64>().ok().map(|m| n.cmp(&m)),
            _ => None,
        },
        FieldValue::Text(_) => None,
    })
}

/// The text of a literal query value (for `~`).
fn literal_text(value: &Value, clause: &Clause) -> Result<String, CqlError> {
    match value {
        Value::Text(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(not_evaluable(other, clause)),
    }
}

fn not_evaluable(value: &Value, clause: &Clause) -> CqlError {
    let found = match value {
        Value::Function { name, .. } if is_date_function(name) => {
            format!("the date function {name}()")
        }
        Value::Function { name, .. } => format!("the function {name}()"),
        Value::List(_) => "a list".to_string(),
        Value::Text(s) => format!("\"{s}\""),
        Value::Number(n) => n.to_string(),
    };
    CqlError::invalid_value(
        clause.position,
        found,
        format!(
            "a value '{}' can be compared with here (a string, a number, currentUser(), or a \
             date function on a date field)",
            clause.field
        ),
    )
}

fn same_text(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// The `~` rule: every word of `needle` occurs in `haystack`, or the quoted phrase does.
pub fn text_contains(haystack: &str, needle: &str) -> bool {
    let haystack = haystack.to_lowercase();
    let needle = needle.trim().to_lowercase();
    if needle.len() >= 2 && needle.starts_with('"') && needle.ends_with('"') {
        let phrase = needle[1..needle.len() - 1].trim();
        return !phrase.is_empty() && haystack.contains(phrase);
    }
    let words: Vec<&str> = needle.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    !words.is_empty() && words.iter().all(|w| haystack.contains(w))
}

/// Orders two documents by `order_by` (fields `created`, `lastmodified`, `title`, `id`, or
/// any other field the documents answer). The first value of each field is used; text orders
/// case-insensitively; a document without the field sorts after those with it, whatever the
/// direction.
pub fn compare<D: Document + ?Sized>(order_by: &[OrderKey], a: &D, b: &D) -> Ordering {
    for key in order_by {
        let field = canonical(&key.field);
        let left = a.values(field);
        let right = b.values(field);
        let order = match (left.first(), right.first()) {
            (None, None) => Ordering::Equal,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => {
                let natural = compare_values(x, y);
                if key.descending {
                    natural.reverse()
                } else {
                    natural
                }
            }
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

fn compare_values(x: &FieldValue<'_>, y: &FieldValue<'_>) -> Ordering {
    fn rank(v: &FieldValue<'_>) -> u8 {
        match v {
            FieldValue::Time(_) => 0,
            FieldValue::Number(_) => 1,
            FieldValue::Text(_) => 2,
        }
    }
    match (x, y) {
        (FieldValue::Time(a), FieldValue::Time(b)) => a.cmp(b),
        (FieldValue::Number(a), FieldValue::Number(b)) => a.cmp(b),
        (FieldValue::Text(a), FieldValue::Text(b)) => a.to_lowercase().cmp(&b.to_lowercase()),
        _ => rank(x).cmp(&rank(y)),
    }
}

/// Sorts `docs` by the query's `ORDER BY` (stable: equal documents keep their order; a query
/// without `ORDER BY` leaves the slice as it is).
pub fn sort<D: Document>(query: &Query, docs: &mut [D]) {
    if query.order_by.is_empty() {
        return;
    }
    docs.sort_by(|a, b| compare(&query.order_by, a, b));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;
    use chrono_tz::America::Los_Angeles;
    use chrono_tz::Pacific::Kiritimati;
    use chrono_tz::UTC;

    /// A tiny piece of content for the tests.
    struct Item {
        id: i64,
        kind: &'static str,
        space: &'static str,
        title: &'static str,
        body: &'static str,
        labels: Vec<&'static str>,
        ancestors: Vec<i64>,
        creator: &'static str,
        created: DateTime<Utc>,
        modified: DateTime<Utc>,
    }

    impl Document for Item {
        fn values(&self, field: &str) -> FieldValues<'_> {
            match field {
                "id" => vec![FieldValue::Number(self.id)],
                "type" => vec![FieldValue::text(self.kind)],
                "space.key" => vec![FieldValue::text(self.space)],
                "title" => vec![FieldValue::text(self.title)],
                "text" => vec![FieldValue::text(self.title), FieldValue::text(self.body)],
                "label" => self.labels.iter().map(|l| FieldValue::text(l)).collect(),
                "ancestor" => self.ancestors.iter().map(|a| FieldValue::Number(*a)).collect(),
                "creator" => vec![FieldValue::text(self.creator)],
                "created" => vec![FieldValue::Time(self.created)],
                "lastmodified" => vec![FieldValue::Time(self.modified)],
                _ => Vec::new(),
            }
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    /// Now is Friday 2024-03-15 12:00 UTC.
    fn ctx() -> EvalContext {
        EvalContext::new(utc("2024-03-15T12:00:00Z"), UTC).with_current_user("u-ann")
    }

    fn items() -> Vec<Item> {
        vec![
            Item {
                id: 10,
                kind: "page",
                space: "DEV",
                title: "Release Notes 2024",
                body: "What changed in the connector",
                labels: vec!["release", "Public"],
                ancestors: vec![1, 2],
                creator: "u-ann",
                created: utc("2024-03-01T09:00:00Z"),
                modified: utc("2024-03-14T09:00:00Z"),
            },
            Item {
                id: 11,
                kind: "blogpost",
                space: "dev",
                title: "Sprint review",
                body: "Demo of the search page",
                labels: vec![],
                ancestors: vec![],
                creator: "u-bob",
                created: utc("2023-06-01T09:00:00Z"),
                modified: utc("2023-12-31T23:59:59Z"),
            },
            Item {
                id: 12,
                kind: "attachment",
                space: "SD",
                title: "diagram.png",
                body: "",
                labels: vec!["draft"],
                ancestors: vec![10],
                creator: "u-bob",
                created: utc("2024-02-20T09:00:00Z"),
                modified: utc("2024-01-01T00:00:30Z"),
            },
            Item {
                id: 13,
                kind: "page",
                space: "SD",
                title: "Runbook",
                body: "Restart the service",
                labels: vec!["ops"],
                ancestors: vec![1],
                creator: "u-ann",
                created: utc("2024-01-05T09:00:00Z"),
                modified: utc("2024-03-15T11:59:00Z"),
            },
        ]
    }

    fn ids(text: &str, ctx: &EvalContext) -> Vec<i64> {
        let query = parse(text).unwrap();
        items().into_iter().filter(|i| matches(&query, i, ctx).unwrap()).map(|i| i.id).collect()
    }

    #[test]
    fn the_three_user_queries() {
        let ctx = ctx();
        assert_eq!(ids("space = DEV", &ctx), vec![10, 11]);
        // Created since 2024-02-09 12:00 and last modified before 2024-01-01 00:00.
        assert_eq!(ids("created >= now('-5w') and lastmodified < startOfYear()", &ctx), Vec::<i64>::new());
        assert_eq!(ids("created >= now('-5w') or lastmodified < startOfYear()", &ctx), vec![10, 11, 12]);
        assert_eq!(ids("type in ('page', 'attachment') AND space.key = 'SD'", &ctx), vec![12, 13]);
    }

    #[test]
    fn boolean_structure() {
        let ctx = ctx();
        assert_eq!(ids("not space = dev", &ctx), vec![12, 13]);
        assert_eq!(ids("space = SD and (type = page or id = 12)", &ctx), vec![12, 13]);
        assert_eq!(ids("space = SD and type = page or id = 10", &ctx), vec![10, 13]);
        assert_eq!(ids("type not in (page, blogpost)", &ctx), vec![12]);
        assert_eq!(ids("space != sd", &ctx), vec![10, 11]);
    }

    #[test]
    fn multi_valued_fields() {
        let ctx = ctx();
        assert_eq!(ids("label = public", &ctx), vec![10]);
        assert_eq!(ids("label != release", &ctx), vec![11, 12, 13]);
        assert_eq!(ids("label in (ops, draft)", &ctx), vec![12, 13]);
        assert_eq!(ids("ancestor = 1", &ctx), vec![10, 13]);
        assert_eq!(ids("ancestor = \"10\"", &ctx), vec![12]);
        assert_eq!(ids("ancestor != 1", &ctx), vec![11, 12]);
    }

    #[test]
    fn ids_compare_exactly() {
        let ctx = ctx();
        assert_eq!(ids("id = 11", &ctx), vec![11]);
        assert_eq!(ids("content = '12'", &ctx), vec![12]);
        assert_eq!(ids("id in (10, 13)", &ctx), vec![10, 13]);
        assert_eq!(ids("id = 1x", &ctx), Vec::<i64>::new());
    }

    #[test]
    fn contains_is_a_word_match() {
        let ctx = ctx();
        assert_eq!(ids("title ~ \"notes release\"", &ctx), vec![10]);
        assert_eq!(ids("title ~ re*", &ctx), vec![10, 11]);
        assert_eq!(ids("text ~ search", &ctx), vec![11]);
        assert_eq!(ids("text ~ '\"the service\"'", &ctx), vec![13]);
        assert_eq!(ids("text ~ '\"service the\"'", &ctx), Vec::<i64>::new());
        assert_eq!(ids("title !~ review", &ctx), vec![10, 12, 13]);
        assert!(!text_contains("anything", "  "));
    }

    #[test]
    fn dates_compare_at_minute_precision() {
        let ctx = ctx();
        // Item 12 was modified at 00:00:30, which CQL sees as 00:00.
        assert_eq!(ids("lastmodified = '2024-01-01 00:00'", &ctx), vec![12]);
        assert_eq!(ids("lastmodified < '2024-01-01'", &ctx), vec![11]);
        assert_eq!(ids("lastmodified <= '2024/01/01'", &ctx), vec![11, 12]);
        // Item 13 was modified at 11:59, one minute before now.
        assert_eq!(ids("lastmodified > now('-1m')", &ctx), Vec::<i64>::new());
        assert_eq!(ids("lastmodified >= now('-1m')", &ctx), vec![13]);
        assert_eq!(ids("lastmodified >= startOfDay()", &ctx), vec![13]);
        assert_eq!(ids("created > endOfMonth('-1M')", &ctx), vec![10]);
    }

    #[test]
    fn site_zone_moves_day_boundaries() {
        // 2024-03-15 12:00Z is 2024-03-16 02:00 in Kiritimati: startOfDay is 2024-03-15 10:00Z.
        let kiritimati = EvalContext::new(utc("2024-03-15T12:00:00Z"), Kiritimati);
        assert_eq!(ids("lastmodified >= startOfDay()", &kiritimati), vec![13]);
        assert_eq!(ids("lastmodified >= startOfDay('-1d')", &kiritimati), vec![13]);
        assert_eq!(ids("lastmodified >= startOfDay('-2d')", &kiritimati), vec![10, 13]);
        // In Los Angeles (PDT, -7) it is 05:00 on the 15th: the day began at 07:00Z.
        let la = EvalContext::new(utc("2024-03-15T12:00:00Z"), Los_Angeles);
        assert_eq!(ids("lastmodified >= startOfDay()", &la), vec![13]);
        assert_eq!(ids("lastmodified >= startOfDay('-1d')", &la), vec![10, 13]);
        // Item 12 modified 2024-01-01 00:00:30Z = 2023-12-31 16:00 local in Los Angeles.
        assert_eq!(ids("lastmodified < '2024-01-01'", &la), vec![11, 12]);
    }

    #[test]
    fn current_user() {
        assert_eq!(ids("creator = currentUser()", &ctx()), vec![10, 13]);
        assert_eq!(ids("creator != currentUser()", &ctx()), vec![11, 12]);
        let anonymous = EvalContext::new(ctx().now, UTC);
        let query = parse("creator = currentUser()").unwrap();
        let err = matches(&query, &items()[0], &anonymous).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CQL: currentUser() in the clause at position 0 is not usable here: no user is \
             logged in (anonymous requests cannot use it)"
        );
    }

    #[test]
    fn unevaluable_values_are_errors() {
        let query = parse("space = DEV and created > 'last tuesday'").unwrap();
        let err = matches(&query, &items()[0], &ctx()).unwrap_err();
        assert_eq!(err.position, 16);
        assert_eq!(err.found, "\"last tuesday\"");
        let query = parse("space in favouriteSpaces()").unwrap();
        let err = matches(&query, &items()[0], &ctx()).unwrap_err();
        assert_eq!(err.found, "the function favouriteSpaces()");
        // The right side of an OR is not evaluated when the left side already holds.
        let query = parse("space = DEV or space in favouriteSpaces()").unwrap();
        assert!(matches(&query, &items()[0], &ctx()).unwrap());
    }

    #[test]
    fn order_by() {
        let order = |text: &str| -> Vec<i64> {
            let query = parse(text).unwrap();
            let mut docs = items();
            sort(&query, &mut docs);
            docs.iter().map(|d| d.id).collect()
        };
        assert_eq!(order("id > 0"), vec![10, 11, 12, 13]);
        assert_eq!(order("id > 0 order by created"), vec![11, 13, 12, 10]);
        assert_eq!(order("id > 0 order by lastmodified desc"), vec![13, 10, 12, 11]);
        assert_eq!(order("id > 0 order by title"), vec![12, 10, 13, 11]);
        assert_eq!(order("id > 0 ORDER BY id DESC"), vec![13, 12, 11, 10]);
        assert_eq!(order("id > 0 order by space, id desc"), vec![11, 10, 13, 12]);
        // Content without labels sorts last in both directions.
        assert_eq!(order("id > 0 order by label"), vec![12, 13, 10, 11]);
        assert_eq!(order("id > 0 order by label desc"), vec![10, 13, 12, 11]);
        // Sorting references works through the blanket impl.
        let all = items();
        let mut refs: Vec<&Item> = all.iter().collect();
        sort(&parse("id > 0 order by id desc").unwrap(), &mut refs);
        assert_eq!(refs[0].id, 13);
    }
}
