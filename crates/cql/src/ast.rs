//! The parsed form of a CQL query.
//!
//! CQL (Confluence Query Language) is a flat language: clauses `field op value` joined by
//! `AND`, `OR`, `NOT` and parentheses, then an optional `ORDER BY`. Values are strings
//! (quoted or bare words), numbers, lists `( … )` and function calls such as `now("-4w")`.

/// A whole query: the condition and the requested ordering.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The condition every result must satisfy.
    pub expr: Expr,
    /// `ORDER BY` keys, in order; empty when the query has none.
    pub order_by: Vec<OrderKey>,
    /// Character offset of the `ORDER` keyword; `None` when the query has no `ORDER BY`.
    pub order_by_position: Option<usize>,
}

impl Query {
    /// The condition of `text` (the query this was parsed from) without its `ORDER BY`
    /// clause: what can be combined with another condition, as `(<condition>) and …`.
    /// `ORDER BY` may only end a whole query, so `(space = X order by created) and …` is
    /// invalid CQL.
    pub fn condition_text(&self, text: &str) -> String {
        match self.order_by_position {
            Some(at) => text.chars().take(at).collect::<String>().trim_end().to_string(),
            None => text.trim_end().to_string(),
        }
    }
}

/// A boolean condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both sides hold.
    And(Box<Expr>, Box<Expr>),
    /// Either side holds.
    Or(Box<Expr>, Box<Expr>),
    /// The inner condition does not hold.
    Not(Box<Expr>),
    /// One `field op value` comparison.
    Clause(Clause),
}

/// One comparison, e.g. `space.key = "DEV"` or `lastmodified >= now("-2h")`.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// The field name as written, lower-cased (`space.key`, `lastmodified`, `text`).
    pub field: String,
    /// The operator.
    pub op: Op,
    /// The right-hand side.
    pub value: Value,
    /// Character offset of the field in the query text, for error messages.
    pub position: usize,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `in (…)`
    In,
    /// `not in (…)`
    NotIn,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `~` (contains / text match)
    Contains,
    /// `!~` (does not contain)
    NotContains,
}

/// A right-hand side value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A quoted string or a bare word (`DEV`, `page`).
    Text(String),
    /// A number literal (`42`, `-1`).
    Number(i64),
    /// A parenthesised list, for `in` / `not in`.
    List(Vec<Value>),
    /// A function call: `now("-4w")`, `startOfDay()`, `currentUser()`.
    Function {
        /// Function name as written (case kept; compare case-insensitively).
        name: String,
        /// Arguments (usually zero or one string).
        args: Vec<Value>,
    },
}

/// One `ORDER BY` key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderKey {
    /// Field name, lower-cased.
    pub field: String,
    /// `true` for `desc`.
    pub descending: bool,
    /// Character offset of the field in the query text, for error messages.
    pub position: usize,
}
