//! Recursive-descent parser from tokens to [`crate::ast::Query`].
//!
//! Grammar (keywords case-insensitive; `AND` binds tighter than `OR`; `NOT` is a prefix):
//!
//! ```text
//! query   := or [ORDER BY key ("," key)*] END
//! or      := and (OR and)*
//! and     := unary (AND unary)*
//! unary   := NOT unary | "(" or ")" | clause
//! clause  := field op value
//! op      := = | != | < | <= | > | >= | ~ | !~ | IN | NOT IN
//! value   := string | number | word | word "(" [value ("," value)*] ")" | "(" value ("," value)* ")"
//! key     := field [ASC | DESC]
//! ```
//!
//! Every failure names the position, what was found and what was expected there.

use crate::ast::{Clause, Expr, Op, OrderKey, Query, Value};
use crate::error::CqlError;
use crate::lexer::{tokenize, Token, TokenKind};

/// Words that cannot be used as a field name or an unquoted value.
const RESERVED: &[&str] = &["and", "or", "not", "in", "order", "by"];

/// What an operator may be followed by, for messages.
const EXPECTED_OPERATOR: &str = "an operator (=, !=, ~, !~, <, <=, >, >=, IN, NOT IN)";

/// Parses CQL text into a [`Query`].
///
/// Errors carry the 0-based character position of the problem and the query text.
pub fn parse(text: &str) -> Result<Query, CqlError> {
    let run = || -> Result<Query, CqlError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, at: 0 };
        parser.query()
    };
    run().map_err(|e| e.with_query(text))
}

/// Parser state: the tokens and the index of the next one.
struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The token list always ends with `End`, and `advance` never moves past it.
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        &self.tokens[(self.at + ahead).min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != TokenKind::End {
            self.at += 1;
        }
        token
    }

    fn error(&self, expected: impl Into<String>) -> CqlError {
        let token = self.peek();
        CqlError::syntax(token.position, token.describe(), expected)
    }

    /// Whether the next token is the bare keyword `word` (case-insensitive).
    fn is_keyword(&self, ahead: usize, word: &str) -> bool {
        matches!(&self.peek_at(ahead).kind, TokenKind::Word(w) if w.eq_ignore_ascii_case(word))
    }

    fn query(&mut self) -> Result<Query, CqlError> {
        if self.peek().kind == TokenKind::End {
            return Err(self.error("a field name or '('"));
        }
        let expr = self.or()?;
        let mut order_by = Vec::new();
        let mut order_by_position = None;
        if self.is_keyword(0, "order") {
            order_by_position = Some(self.peek().position);
            self.advance();
            if !self.is_keyword(0, "by") {
                return Err(self.error("BY after ORDER"));
            }
            self.advance();
            loop {
                order_by.push(self.order_key()?);
                if self.peek().kind == TokenKind::Comma {
                    self.advance();
                } else {
                    break;
                }
            }
            if self.peek().kind != TokenKind::End {
                return Err(self.error("',' and another ORDER BY field, or end of query"));
            }
        } else if self.peek().kind != TokenKind::End {
            return Err(self.error("AND, OR, ORDER BY or end of query"));
        }
        Ok(Query { expr, order_by, order_by_position })
    }

    fn order_key(&mut self) -> Result<OrderKey, CqlError> {
        let position = self.peek().position;
        let field = match &self.peek().kind {
            TokenKind::Word(w) if !is_reserved(w) => w.to_lowercase(),
            _ => return Err(self.error("a field name to order by")),
        };
        self.advance();
        let mut descending = false;
        if self.is_keyword(0, "desc") {
            descending = true;
            self.advance();
        } else if self.is_keyword(0, "asc") {
            self.advance();
        }
        Ok(OrderKey { field, descending, position })
    }

    fn or(&mut self) -> Result<Expr, CqlError> {
        let mut left = self.and()?;
        while self.is_keyword(0, "or") {
            self.advance();
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, CqlError> {
        let mut left = self.unary()?;
        while self.is_keyword(0, "and") {
            self.advance();
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, CqlError> {
        if self.is_keyword(0, "not") {
            self.advance();
            let inner = self.unary()?;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.peek().kind == TokenKind::Open {
            let position = self.advance().position;
            let inner = self.or()?;
            if self.peek().kind != TokenKind::Close {
                let what = if self.peek().kind == TokenKind::End {
                    format!("')' to close the '(' at position {position}")
                } else {
                    format!("AND, OR or ')' to close the '(' at position {position}")
                };
                return Err(self.error(what));
            }
            self.advance();
            return Ok(inner);
        }
        self.clause()
    }

    fn clause(&mut self) -> Result<Expr, CqlError> {
        let token = self.peek().clone();
        let field = match &token.kind {
            TokenKind::Word(w) if !is_reserved(w) => w.to_lowercase(),
            _ => return Err(self.error("a field name or '('")),
        };
        self.advance();
        let op = self.operator()?;
        let value = match op {
            Op::In | Op::NotIn => self.list_or_function()?,
            _ => self.single_value()?,
        };
        Ok(Expr::Clause(Clause { field, op, value, position: token.position }))
    }

    fn operator(&mut self) -> Result<Op, CqlError> {
        let op = match &self.peek().kind {
            TokenKind::Eq => Op::Eq,
            TokenKind::Ne => Op::Ne,
            TokenKind::Lt => Op::Lt,
            TokenKind::Le => Op::Le,
            TokenKind::Gt => Op::Gt,
            TokenKind::Ge => Op::Ge,
            TokenKind::Tilde => Op::Contains,
            TokenKind::NotTilde => Op::NotContains,
            TokenKind::Word(w) if w.eq_ignore_ascii_case("in") => Op::In,
            TokenKind::Word(w) if w.eq_ignore_ascii_case("not") => {
                if !self.is_keyword(1, "in") {
                    self.advance();
                    return Err(self.error("IN after NOT"));
                }
                self.advance();
                Op::NotIn
            }
            _ => return Err(self.error(EXPECTED_OPERATOR)),
        };
        self.advance();
        Ok(op)
    }

    /// The right side of `in` / `not in`: a list, or a function returning one.
    fn list_or_function(&mut self) -> Result<Value, CqlError> {
        if let TokenKind::Word(_) = self.peek().kind {
            if self.peek_at(1).kind == TokenKind::Open {
                return self.single_value();
            }
        }
        if self.peek().kind != TokenKind::Open {
            return Err(self.error("'(' to start the list of values"));
        }
        let open = self.advance().position;
        let items = self.values(open, "a value")?;
        if items.is_empty() {
            return Err(self.error("a value in the list"));
        }
        Ok(Value::List(items))
    }

    /// Comma-separated values up to and including the `)` matching the `(` at `open`.
    fn values(&mut self, open: usize, first: &str) -> Result<Vec<Value>, CqlError> {
        let mut items = Vec::new();
        if self.peek().kind == TokenKind::Close {
            self.advance();
            return Ok(items);
        }
        loop {
            if matches!(self.peek().kind, TokenKind::End | TokenKind::Comma) {
                return Err(self.error(first));
            }
            items.push(self.single_value()?);
            match self.peek().kind {
                TokenKind::Comma => {
                    self.advance();
                }
                TokenKind::Close => {
                    self.advance();
                    return Ok(items);
                }
                _ => return Err(self.error(format!("',' or ')' to close the '(' at position {open}"))),
            }
        }
    }

    fn single_value(&mut self) -> Result<Value, CqlError> {
        let token = self.peek().clone();
        let value = match token.kind {
            TokenKind::Quoted(s) => Value::Text(s),
            TokenKind::Number(n) => Value::Number(n),
            TokenKind::Word(w) if !is_reserved(&w) => {
                if self.peek_at(1).kind == TokenKind::Open {
                    self.advance();
                    let open = self.advance().position;
                    let args = self.values(open, "a function argument or ')'")?;
                    return Ok(Value::Function { name: w, args });
                }
                Value::Text(w)
            }
            TokenKind::Open => return Err(self.error("a value (a list in '( … )' needs IN or NOT IN)")),
            _ => return Err(self.error("a value")),
        };
        self.advance();
        Ok(value)
    }
}

fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(field: &str, op: Op, value: Value, position: usize) -> Expr {
        Expr::Clause(Clause { field: field.into(), op, value, position })
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn simple_clause() {
        let q = parse("space = DEV").unwrap();
        assert_eq!(q.expr, clause("space", Op::Eq, text("DEV"), 0));
        assert!(q.order_by.is_empty());
        assert_eq!(q.order_by_position, None);
    }

    #[test]
    fn the_condition_is_the_query_without_its_order_by() {
        for (text, condition) in [
            ("space = X order by created", "space = X"),
            ("space = X ORDER  BY created desc, title", "space = X"),
            ("title ~ \"order by\" and type = page Order By title", "title ~ \"order by\" and type = page"),
            // Character offsets, not bytes: a title with accents before the clause.
            ("title = \"Ébauche ünd\" order by id", "title = \"Ébauche ünd\""),
            ("  space = X  ", "  space = X"),
            ("(space = X or space = Y)", "(space = X or space = Y)"),
        ] {
            let query = parse(text).unwrap();
            assert_eq!(query.condition_text(text), condition, "{text}");
            // What is left is a query of its own, with the same condition.
            assert_eq!(parse(&query.condition_text(text)).unwrap().expr, query.expr, "{text}");
        }
    }

    #[test]
    fn and_binds_tighter_than_or_and_not_is_prefix() {
        let q = parse("a = 1 or B = 2 AnD not c = 3").unwrap();
        let expected = Expr::Or(
            Box::new(clause("a", Op::Eq, Value::Number(1), 0)),
            Box::new(Expr::And(
                Box::new(clause("b", Op::Eq, Value::Number(2), 9)),
                Box::new(Expr::Not(Box::new(clause("c", Op::Eq, Value::Number(3), 23)))),
            )),
        );
        assert_eq!(q.expr, expected);
    }

    #[test]
    fn parentheses_override_precedence() {
        let q = parse("(a = x OR b = y) and c = z").unwrap();
        match q.expr {
            Expr::And(left, _) => assert!(matches!(*left, Expr::Or(_, _))),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn all_operators() {
        let cases = [
            ("id = 1", Op::Eq),
            ("id != 1", Op::Ne),
            ("id < 1", Op::Lt),
            ("id <= 1", Op::Le),
            ("id > 1", Op::Gt),
            ("id >= 1", Op::Ge),
            ("id ~ 1", Op::Contains),
            ("id !~ 1", Op::NotContains),
            ("id in (1)", Op::In),
            ("id NOT IN (1)", Op::NotIn),
        ];
        for (text, op) in cases {
            match parse(text).unwrap().expr {
                Expr::Clause(c) => assert_eq!(c.op, op, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn lists_functions_and_order_by() {
        let q = parse(
            "type in ('page', \"blogpost\", 7) and created >= startOfDay(\"-1d\") \
             and creator = currentUser() order by lastmodified DESC, title asc, id",
        )
        .unwrap();
        let Expr::And(left, right) = q.expr else { panic!("expected AND") };
        let Expr::And(first, second) = *left else { panic!("expected AND") };
        assert_eq!(
            *first,
            clause("type", Op::In, Value::List(vec![text("page"), text("blogpost"), Value::Number(7)]), 0)
        );
        assert_eq!(
            *second,
            clause(
                "created",
                Op::Ge,
                Value::Function { name: "startOfDay".into(), args: vec![text("-1d")] },
                36
            )
        );
        assert_eq!(
            *right,
            clause("creator", Op::Eq, Value::Function { name: "currentUser".into(), args: vec![] }, 69)
        );
        assert_eq!(
            q.order_by,
            vec![
                OrderKey { field: "lastmodified".into(), descending: true, position: 102 },
                OrderKey { field: "title".into(), descending: false, position: 121 },
                OrderKey { field: "id".into(), descending: false, position: 132 },
            ]
        );
    }

    #[test]
    fn in_accepts_a_function() {
        let q = parse("space in favouriteSpaces()").unwrap();
        assert_eq!(
            q.expr,
            clause("space", Op::In, Value::Function { name: "favouriteSpaces".into(), args: vec![] }, 0)
        );
    }

    #[test]
    fn good_queries_parse() {
        let good = [
            "space = DEV",
            "created >= now('-5w') and lastmodified < startOfYear()",
            "type in ('page', 'attachment') AND space.key = 'SD'",
            "SPACE = \"DEV\" and TYPE = page",
            "title ~ 'it\\'s \\\"quoted\\\"' or text !~ secret",
            "label not in (draft, \"old stuff\") and ancestor = 12345",
            "not (space.type = personal or space.category = archive)",
            "lastmodified > \"2024/01/31 10:00\" and created <= '2024-01-31'",
            "created > endOfDay(\"-1d\") and created < startOfWeek(+1d)",
            "creator = currentUser() and mention != currentUser()",
            "user.fullname ~ \"Ann\" and user.accountid = 5b10a2844c20165700ede21g",
            "favourite = currentUser() order by created",
            "((space = A))",
            "parent = 1 OR container = 2 OR macro = toc OR watcher = bob",
            "id >= -5",
        ];
        for text in good {
            assert!(parse(text).is_ok(), "{text}: {:?}", parse(text));
        }
        let q = parse("title ~ 'it\\'s'").unwrap();
        assert_eq!(q.expr, clause("title", Op::Contains, text("it's"), 0));
        let q = parse("SPACE.Key = 'DEV'").unwrap();
        assert_eq!(q.expr, clause("space.key", Op::Eq, text("DEV"), 0));
    }

    /// (query, position, found, full Display message)
    const BAD: &[(&str, usize, &str, &str)] = &[
        (
            "space = DEV AND (type = page",
            28,
            "end of query",
            "CQL: expected ')' to close the '(' at position 16, found end of query at position 28",
        ),
        (
            "",
            0,
            "end of query",
            "CQL: expected a field name or '(', found end of query at position 0",
        ),
        (
            "space DEV",
            6,
            "'DEV'",
            "CQL: expected an operator (=, !=, ~, !~, <, <=, >, >=, IN, NOT IN), found 'DEV' at position 6",
        ),
        (
            "space =",
            7,
            "end of query",
            "CQL: expected a value, found end of query at position 7",
        ),
        (
            "space = DEV type = page",
            12,
            "'type'",
            "CQL: expected AND, OR, ORDER BY or end of query, found 'type' at position 12",
        ),
        (
            "space = DEV and",
            15,
            "end of query",
            "CQL: expected a field name or '(', found end of query at position 15",
        ),
        (
            "type in page",
            8,
            "'page'",
            "CQL: expected '(' to start the list of values, found 'page' at position 8",
        ),
        (
            "type in ('page' 'blogpost')",
            16,
            "the string \"blogpost\"",
            "CQL: expected ',' or ')' to close the '(' at position 8, found the string \"blogpost\" at position 16",
        ),
        (
            "type in ()",
            10,
            "end of query",
            "CQL: expected a value in the list, found end of query at position 10",
        ),
        (
            "type not page",
            9,
            "'page'",
            "CQL: expected IN after NOT, found 'page' at position 9",
        ),
        (
            "(type = page space = x)",
            13,
            "'space'",
            "CQL: expected AND, OR or ')' to close the '(' at position 0, found 'space' at position 13",
        ),
        (
            "title = \"abc",
            12,
            "end of query",
            "CQL: expected \" to close the string that starts at position 8, found end of query at position 12",
        ),
        (
            "created > now(\"-1d\"",
            19,
            "end of query",
            "CQL: expected ',' or ')' to close the '(' at position 13, found end of query at position 19",
        ),
        (
            "space = DEV order title",
            18,
            "'title'",
            "CQL: expected BY after ORDER, found 'title' at position 18",
        ),
        (
            "space = DEV order by",
            20,
            "end of query",
            "CQL: expected a field name to order by, found end of query at position 20",
        ),
        (
            "space = DEV order by title sideways",
            27,
            "'sideways'",
            "CQL: expected ',' and another ORDER BY field, or end of query, found 'sideways' at position 27",
        ),
        (
            "title = and",
            8,
            "'and'",
            "CQL: expected a value, found 'and' at position 8",
        ),
        (
            "space = (DEV)",
            8,
            "'('",
            "CQL: expected a value (a list in '( … )' needs IN or NOT IN), found '(' at position 8",
        ),
        (
            "space = DEV)",
            11,
            "')'",
            "CQL: expected AND, OR, ORDER BY or end of query, found ')' at position 11",
        ),
    ];

    #[test]
    fn bad_queries_report_position_found_and_expected() {
        for (text, position, found, message) in BAD {
            let err = parse(text).unwrap_err();
            assert_eq!(err.position, *position, "{text}");
            assert_eq!(err.found, *found, "{text}");
            assert_eq!(err.to_string(), *message, "{text}");
            assert_eq!(err.query, *text);
        }
    }

    #[test]
    fn confluence_message_and_line_column() {
        let text = "space = DEV AND\n(type = page";
        let err = parse(text).unwrap_err();
        assert_eq!(err.line_column(text), (2, 13));
        assert_eq!(
            err.confluence_message(),
            "Could not parse cql : space = DEV AND\n(type = page (expected ')' to close the '(' at position 16, found end of query at position 28)"
        );
    }
}
