//! The one error type of the crate.
//!
//! Every mistake in a CQL query — a syntax slip, an unknown field, an operator a field does not
//! take, a date that cannot be read — is reported with the character offset where it happened,
//! what was found there and what would have been accepted, so a user can fix a sync rule
//! without guessing. [`CqlError::confluence_message`] renders the same problem in the shape of
//! Confluence's own HTTP 400 text, for the simulator.

/// What kind of problem a [`CqlError`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CqlErrorKind {
    /// The text is not valid CQL syntax.
    Syntax,
    /// The field name is not one Confluence knows.
    UnknownField {
        /// The closest known field name, when one is close enough to be a likely typo.
        suggestion: Option<String>,
    },
    /// The field exists but does not accept this operator.
    UnsupportedOperator {
        /// The field name, lower-cased.
        field: String,
    },
    /// The value cannot be used: an unreadable date, an unknown function, a bad increment.
    InvalidValue,
}

/// A problem in a CQL query, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CQL: {}", self.detail())]
pub struct CqlError {
    /// What kind of problem this is.
    pub kind: CqlErrorKind,
    /// 0-based character offset (not byte offset) in the query text.
    pub position: usize,
    /// What was found at `position`, e.g. `end of query`, `'page'`, `'lastmodifed'`.
    pub found: String,
    /// What would have been accepted there, e.g. `')' to close the '(' at position 16`.
    pub expected: String,
    /// The query text, when known (set by [`crate::parse`]; empty for errors raised on an
    /// already parsed [`crate::ast::Query`] unless the caller adds it with
    /// [`CqlError::with_query`]).
    pub query: String,
}

impl CqlError {
    /// A syntax error at `position`.
    pub fn syntax(position: usize, found: impl Into<String>, expected: impl Into<String>) -> Self {
        CqlError {
            kind: CqlErrorKind::Syntax,
            position,
            found: found.into(),
            expected: expected.into(),
            query: String::new(),
        }
    }

    /// A value problem at `position` (the position of the clause that holds the value).
    pub fn invalid_value(position: usize, found: impl Into<String>, expected: impl Into<String>) -> Self {
        CqlError {
            kind: CqlErrorKind::InvalidValue,
            position,
            found: found.into(),
            expected: expected.into(),
            query: String::new(),
        }
    }

    /// The same error, remembering the query text it belongs to.
    pub fn with_query(mut self, query: &str) -> Self {
        self.query = query.to_string();
        self
    }

    /// 1-based (line, column) of [`CqlError::position`] in `query`.
    pub fn line_column(&self, query: &str) -> (usize, usize) {
        let mut line = 1;
        let mut column = 1;
        for c in query.chars().take(self.position) {
            if c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        (line, column)
    }

    /// The problem without the `CQL: ` prefix.
    pub fn detail(&self) -> String {
        match &self.kind {
            CqlErrorKind::Syntax => {
                format!("expected {}, found {} at position {}", self.expected, self.found, self.position)
            }
            CqlErrorKind::UnknownField { suggestion } => {
                let hint = match suggestion {
                    Some(s) => format!("; did you mean '{s}'?"),
                    None => format!("; use {}", self.expected),
                };
                format!("unknown field '{}' at position {}{}", self.found, self.position, hint)
            }
            CqlErrorKind::UnsupportedOperator { field } => format!(
                "field '{}' at position {} does not support the operator {}; use {}",
                field, self.position, self.found, self.expected
            ),
            CqlErrorKind::InvalidValue => {
                format!("{} in the clause at position {} is not {}", self.found, self.position, self.expected)
            }
        }
    }

    /// The error in the shape of Confluence's HTTP 400 message:
    /// `Could not parse cql : <query>` followed by the detail.
    pub fn confluence_message(&self) -> String {
        format!("Could not parse cql : {} ({})", self.query, self.detail())
    }
}
