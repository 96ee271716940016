//! Splits CQL text into tokens, each remembering its character offset.
//!
//! CQL has few token shapes: quoted strings (`"…"` or `'…'`, with backslash escapes), bare
//! words (`space.key`, `DEV`, `2024-01-31`, `-4w`), whole numbers, parentheses, commas and the
//! comparison operators. Keywords (`AND`, `in`, `ORDER` …) are bare words; the parser gives
//! them meaning, case-insensitively.

use crate::error::CqlError;

/// The shape of one token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// A bare word: field name, keyword, unquoted value or function name.
    Word(String),
    /// A quoted string, escapes resolved.
    Quoted(String),
    /// A bare whole number.
    Number(i64),
    /// `(`
    Open,
    /// `)`
    Close,
    /// `,`
    Comma,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `~`
    Tilde,
    /// `!~`
    NotTilde,
    /// End of the query text.
    End,
}

/// A token and the character offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub position: usize,
}

impl Token {
    /// How the token reads in an error message (`end of query`, `'page'`, `"DEV"`).
    pub fn describe(&self) -> String {
        match &self.kind {
            TokenKind::Word(w) => format!("'{w}'"),
            TokenKind::Quoted(s) => format!("the string \"{s}\""),
            TokenKind::Number(n) => format!("the number {n}"),
            TokenKind::Open => "'('".into(),
            TokenKind::Close => "')'".into(),
            TokenKind::Comma => "','".into(),
            TokenKind::Eq => "'='".into(),
            TokenKind::Ne => "'!='".into(),
            TokenKind::Lt => "'<'".into(),
            TokenKind::Le => "'<='".into(),
            TokenKind::Gt => "'>'".into(),
            TokenKind::Ge => "'>='".into(),
            TokenKind::Tilde => "'~'".into(),
            TokenKind::NotTilde => "'!~'".into(),
            TokenKind::End => "end of query".into(),
        }
    }
}

/// Characters that end a bare word.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | ',' | '=' | '!' | '<' | '>' | '~' | '"' | '\'')
}

/// Splits `text` into tokens; the last token is always [`TokenKind::End`].
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, CqlError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let next = chars.get(i + 1).copied();
        let (kind, len) = match c {
            '(' => (TokenKind::Open, 1),
            ')' => (TokenKind::Close, 1),
            ',' => (TokenKind::Comma, 1),
            '=' => (TokenKind::Eq, 1),
            '~' => (TokenKind::Tilde, 1),
            '<' if next == Some('=') => (TokenKind::Le, 2),
            '<' => (TokenKind::Lt, 1),
            '>' if next == Some('=') => (TokenKind::Ge, 2),
            '>' => (TokenKind::Gt, 1),
            '!' if next == Some('=') => (TokenKind::Ne, 2),
            '!' if next == Some('~') => (TokenKind::NotTilde, 2),
            '!' => {
                let found = match next {
                    Some(n) => format!("'!{n}'"),
                    None => "'!'".to_string(),
                };
                return Err(CqlError::syntax(start, found, "'!=' or '!~'"));
            }
            '"' | '\'' => {
                let (value, end) = quoted(&chars, start)?;
                tokens.push(Token { kind: TokenKind::Quoted(value), position: start });
                i = end;
                continue;
            }
            _ => {
                let mut end = i;
                while end < chars.len() && !is_delimiter(chars[end]) {
                    end += 1;
                }
                let word: String = chars[i..end].iter().collect();
                let kind = match number(&word) {
                    Some(n) => TokenKind::Number(n),
                    None => TokenKind::Word(word),
                };
                (kind, end - i)
            }
        };
        tokens.push(Token { kind, position: start });
        i += len;
    }
    tokens.push(Token { kind: TokenKind::End, position: chars.len() });
    Ok(tokens)
}

/// A bare word that is a whole number (`42`, `-1`), if it is one that fits an `i64`.
fn number(word: &str) -> Option<i64> {
    let digits = word.strip_prefix('-').unwrap_or(word);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    word.parse().ok()
}

/// Reads a quoted string starting at `start`; returns its value and the index after it.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), CqlError> {
    let quote = chars[start];
    let mut value = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => match chars.get(i + 1) {
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some('r') => value.push('\r'),
                Some(&other) => value.push(other),
                None => break,
            },
            c if c == quote => return Ok((value, i + 1)),
            c => {
                value.push(c);
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    Err(CqlError::syntax(
        chars.len(),
        "end of query",
        format!("{quote} to close the string that starts at position {start}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn splits_operators_words_and_strings() {
        assert_eq!(
            kinds(r#"space.key!="D\"EV"<=-12 ~'a\\b'"#),
            vec![
                TokenKind::Word("space.key".into()),
                TokenKind::Ne,
                TokenKind::Quoted("D\"EV".into()),
                TokenKind::Le,
                TokenKind::Number(-12),
                TokenKind::Tilde,
                TokenKind::Quoted("a\\b".into()),
                TokenKind::End,
            ]
        );
    }

    #[test]
    fn positions_are_character_offsets() {
        let tokens = tokenize("titre = 'é' and x").unwrap();
        let positions: Vec<usize> = tokens.iter().map(|t| t.position).collect();
        assert_eq!(positions, vec![0, 6, 8, 12, 16, 17]);
    }

    #[test]
    fn unterminated_string_is_reported() {
        let err = tokenize("title = \"abc").unwrap_err();
        assert_eq!(err.position, 12);
        assert_eq!(
            err.to_string(),
            "CQL: expected \" to close the string that starts at position 8, found end of query at position 12"
        );
    }

    #[test]
    fn lone_bang_is_reported() {
        let err = tokenize("title ! x").unwrap_err();
        assert_eq!(err.position, 6);
        assert_eq!(err.found, "'! '");
    }
}
