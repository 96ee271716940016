//! The field names Confluence CQL knows, and which operators each accepts.
//!
//! Taken from the Confluence Cloud and Data Center CQL field references. Connectors use
//! [`validate_fields`] to reject a user's sync rule before a sync starts, with a suggestion for
//! a misspelt field (`lastmodifed` → `lastmodified`) instead of a bare HTTP 400 from the server.

use crate::ast::{Expr, Op, Query, Value};
use crate::dates;
use crate::error::{CqlError, CqlErrorKind};

/// The kind of values a field holds; it decides the operators and how values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Keys, types, labels, ids, users: `=`, `!=`, `in`, `not in`.
    Key,
    /// Instants (`created`, `lastmodified`): `=`, `!=`, `<`, `<=`, `>`, `>=`.
    Date,
    /// Full text (`text`, `space.desc`): `~`, `!~`.
    Text,
    /// Text that can also be matched exactly (`title`, `space.title`, `user.fullname`):
    /// `=`, `!=`, `in`, `not in`, `~`, `!~`.
    Title,
}

impl FieldKind {
    /// The operators this kind of field accepts.
    pub fn operators(self) -> &'static [Op] {
        match self {
            FieldKind::Key => &[Op::Eq, Op::Ne, Op::In, Op::NotIn],
            FieldKind::Date => &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge],
            FieldKind::Text => &[Op::Contains, Op::NotContains],
            FieldKind::Title => &[Op::Eq, Op::Ne, Op::In, Op::NotIn, Op::Contains, Op::NotContains],
        }
    }
}

/// One known field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Lower-case name as written in CQL.
    pub name: &'static str,
    /// What it holds.
    pub kind: FieldKind,
    /// The name documents answer to in [`crate::eval::Document::values`] (`favorite` →
    /// `favourite`, `space` → `space.key`, `content` → `id`).
    pub canonical: &'static str,
}

const fn field(name: &'static str, kind: FieldKind) -> Field {
    Field { name, kind, canonical: name }
}

const fn alias(name: &'static str, kind: FieldKind, canonical: &'static str) -> Field {
    Field { name, kind, canonical }
}

/// Every field Confluence CQL knows (Cloud and Data Center), lower-cased.
pub const FIELDS: &[Field] = &[
    field("ancestor", FieldKind::Key),
    field("container", FieldKind::Key),
    alias("content", FieldKind::Key, "id"),
    field("created", FieldKind::Date),
    field("creator", FieldKind::Key),
    field("contributor", FieldKind::Key),
    field("favourite", FieldKind::Key),
    alias("favorite", FieldKind::Key, "favourite"),
    field("id", FieldKind::Key),
    field("label", FieldKind::Key),
    field("lastmodified", FieldKind::Date),
    field("macro", FieldKind::Key),
    field("mention", FieldKind::Key),
    field("parent", FieldKind::Key),
    alias("space", FieldKind::Key, "space.key"),
    field("space.category", FieldKind::Key),
    field("space.desc", FieldKind::Text),
    field("space.key", FieldKind::Key),
    field("space.title", FieldKind::Title),
    field("space.type", FieldKind::Key),
    field("sitesearch", FieldKind::Text),
    field("text", FieldKind::Text),
    field("title", FieldKind::Title),
    field("type", FieldKind::Key),
    field("user", FieldKind::Key),
    field("user.accountid", FieldKind::Key),
    field("user.fullname", FieldKind::Title),
    field("user.userkey", FieldKind::Key),
    field("watcher", FieldKind::Key),
];

/// Fields `ORDER BY` can sort on in [`crate::eval`].
pub const SORTABLE: &[&str] = &["created", "lastmodified", "title", "id"];

/// The known field called `name` (case-insensitive).
pub fn lookup(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

/// The known field name closest to `name`, if it is close enough to be a typo.
pub fn suggest(name: &str) -> Option<&'static str> {
    let name = name.to_lowercase();
    FIELDS
        .iter()
        .map(|f| (edit_distance(&name, f.name), f.name))
        .filter(|(d, candidate)| *d <= 2.max(candidate.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// How an operator is written in CQL.
pub fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "!=",
        Op::In => "IN",
        Op::NotIn => "NOT IN",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Contains => "~",
        Op::NotContains => "!~",
    }
}

/// Checks every clause of `query`: unknown fields (with a suggestion), operators a field does
/// not take, date values that cannot be read, and unknown `ORDER BY` fields. Returns all
/// problems, in query order.
pub fn validate_fields(query: &Query) -> Vec<CqlError> {
    let mut errors = Vec::new();
    visit(&query.expr, &mut errors);
    for key in &query.order_by {
        if lookup(&key.field).is_none() {
            errors.push(unknown_field(&key.field, key.position));
        }
    }
    errors
}

fn unknown_field(name: &str, position: usize) -> CqlError {
    CqlError {
        kind: CqlErrorKind::UnknownField { suggestion: suggest(name).map(str::to_string) },
        position,
        found: name.to_string(),
        expected: "a field from the Confluence CQL field reference (space, type, title, \
                   label, created, lastmodified, …)"
            .into(),
        query: String::new(),
    }
}

fn visit(expr: &Expr, errors: &mut Vec<CqlError>) {
    let clause = match expr {
        Expr::And(a, b) | Expr::Or(a, b) => {
            visit(a, errors);
            visit(b, errors);
            return;
        }
        Expr::Not(inner) => {
            visit(inner, errors);
            return;
        }
        Expr::Clause(clause) => clause,
    };
    let Some(known) = lookup(&clause.field) else {
        errors.push(unknown_field(&clause.field, clause.position));
        return;
    };
    let allowed = known.kind.operators();
    if !allowed.contains(&clause.op) {
        let list: Vec<&str> = allowed.iter().map(|op| op_text(*op)).collect();
        errors.push(CqlError {
            kind: CqlErrorKind::UnsupportedOperator { field: known.name.to_string() },
            position: clause.position,
            found: op_text(clause.op).to_string(),
            expected: list.join(", "),
            query: String::new(),
        });
        return;
    }
    if known.kind == FieldKind::Date {
        // Any instant and zone will do: this only checks that the value can be read.
        let probe = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        if let Err(e) = dates::resolve_date_at(&clause.value, probe, chrono_tz::UTC, clause.position) {
            errors.push(e);
        }
    } else if let Value::Function { name, .. } = &clause.value {
        let date_function = dates::is_date_function(name);
        if date_function {
            errors.push(CqlError::invalid_value(
                clause.position,
                format!("the date function {name}()"),
                format!("a value for '{}' (date functions work on created and lastmodified)", known.name),
            ));
        }
    }
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn problems(text: &str) -> Vec<String> {
        validate_fields(&parse(text).unwrap()).iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn known_queries_are_clean() {
        for text in [
            "space = DEV",
            "created >= now('-5w') and lastmodified < startOfYear()",
            "type in ('page', 'attachment') AND space.key = 'SD'",
            "title ~ \"release notes\" and label not in (draft, old) or favorite = currentUser()",
            "Space.Title ~ eng and text !~ secret and lastmodified >= \"2024/01/31 10:00\"",
            "ancestor = 123 and id != 5 and user.fullname ~ ann",
        ] {
            assert_eq!(problems(text), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn unknown_field_suggests_closest() {
        let errors = validate_fields(&parse("space = DEV and lastmodifed > now()").unwrap());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].position, 16);
        assert_eq!(errors[0].kind, CqlErrorKind::UnknownField { suggestion: Some("lastmodified".into()) });
        assert_eq!(
            errors[0].to_string(),
            "CQL: unknown field 'lastmodifed' at position 16; did you mean 'lastmodified'?"
        );
        assert_eq!(suggest("spacekey"), Some("space.key"));
        assert_eq!(suggest("titel"), Some("title"));
        assert_eq!(suggest("wibblewobble"), None);
        let far = problems("wibblewobble = 1");
        assert_eq!(
            far,
            vec![
                "CQL: unknown field 'wibblewobble' at position 0; use a field from the \
                  Confluence CQL field reference (space, type, title, label, created, \
                  lastmodified, …)"
            ]
        );
    }

    #[test]
    fn unknown_order_by_field() {
        let errors = validate_fields(&parse("space = DEV order by title, lastmodifed desc").unwrap());
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "CQL: unknown field 'lastmodifed' at position 28; did you mean 'lastmodified'?"
        );
    }

    #[test]
    fn unsupported_operators_are_reported() {
        assert_eq!(
            problems("title > 3"),
            vec!["CQL: field 'title' at position 0 does not support the operator >; use =, !=, IN, NOT IN, ~, !~"]
        );
        assert_eq!(
            problems("space = DEV and text = hello"),
            vec!["CQL: field 'text' at position 16 does not support the operator =; use ~, !~"]
        );
        assert_eq!(
            problems("created in (1, 2)"),
            vec!["CQL: field 'created' at position 0 does not support the operator IN; use =, !=, <, <=, >, >="]
        );
        assert_eq!(
            problems("not (type ~ page)"),
            vec!["CQL: field 'type' at position 5 does not support the operator ~; use =, !=, IN, NOT IN"]
        );
    }

    #[test]
    fn several_problems_in_order_and_bad_dates() {
        let errors =
            validate_fields(&parse("titel = x or created > \"yesterday\" or label = now()").unwrap());
        let positions: Vec<usize> = errors.iter().map(|e| e.position).collect();
        assert_eq!(positions, vec![0, 13, 38]);
        assert_eq!(errors[1].kind, CqlErrorKind::InvalidValue);
        assert_eq!(errors[1].found, "\"yesterday\"");
        assert_eq!(
            errors[2].to_string(),
            "CQL: the date function now() in the clause at position 38 is not a value for \
             'label' (date functions work on created and lastmodified)"
        );
    }
}
