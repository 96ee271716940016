//! The assertions of Elasticsearch's YAML tests, against the last response: a dotted path
//! (`results.0.id`, `\.` for a literal dot, `$stash` segments; a trailing dot is ignored as
//! Java's `split` ignores it) picks the value; `match` compares it (a `/…/` string is a
//! regular expression; numbers compare by value), `length` counts it, `is_true`/`is_false`
//! judge it as Elasticsearch's runner does, `exists`, `gt`/`gte`/`lt`/`lte` compare,
//! `contains` looks in a list, and `is_after` orders two timestamps.

use chrono::DateTime;
use serde_json::Value;

use super::stash::Stash;

/// Splits a path into segments.
fn split(path: &str) -> Vec<String> {
    let mut segs = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                cur.push('.');
            }
            '.' => segs.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    segs.push(cur);
    while segs.len() > 1 && segs.last().is_some_and(String::is_empty) {
        segs.pop();
    }
    segs
}

/// The value at `path` in `body` (None when missing); `$body` or an empty path is the body.
pub fn lookup<'a>(body: &'a Value, path: &str, stash: &Stash) -> Option<&'a Value> {
    if path == "$body" || path.is_empty() {
        return Some(body);
    }
    let mut cur = body;
    for seg in split(path) {
        let seg = stash.segment(&seg, body);
        cur = match cur {
            Value::Object(o) => o.get(&seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Whether `actual` matches `expected` the way `match` decides it.
pub fn matches(actual: Option<&Value>, expected: &Value) -> bool {
    match (actual, expected) {
        (None | Some(Value::Null), Value::Null) => true,
        (None, _) => false,
        (Some(a), Value::String(e)) if e.len() > 1 && e.starts_with('/') && e.ends_with('/') => {
            let pattern = e[1..e.len() - 1].trim();
            let text = match a {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            regex::RegexBuilder::new(pattern)
                .ignore_whitespace(true)
                .build()
                .map(|re| re.is_match(&text))
                .unwrap_or(false)
        }
        (Some(a), e) => equal(a, e),
    }
}

/// Deep equality with numbers compared by value.
fn equal(a: &Value, e: &Value) -> bool {
    match (a, e) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        (Value::String(x), Value::Number(y)) | (Value::Number(y), Value::String(x)) => *x == y.to_string(),
        _ => a == e,
    }
}

/// The value as Java's `toString` shows it (for `is_true`/`is_false`).
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `is_true`: present, and not `false`, `""` or `0`.
pub fn is_true(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(v) => {
            let t = as_text(v);
            !(t.eq_ignore_ascii_case("false") || t == "0" || t.is_empty())
        }
    }
}

/// `is_false`: missing, or `false`, `""` or `0`.
pub fn is_false(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(v) => {
            let t = as_text(v);
            t.eq_ignore_ascii_case("false") || t == "0" || t.is_empty()
        }
    }
}

/// `length`: elements of a list, entries of an object, characters of a string.
pub fn length(v: Option<&Value>) -> Option<usize> {
    match v? {
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        Value::String(s) => Some(s.chars().count()),
        _ => None,
    }
}

/// Orders two values for `gt`/`lt`/`gte`/`lte`: numbers by value, otherwise as text.
pub fn compare(a: &Value, e: &Value) -> Option<std::cmp::Ordering> {
    match (a.as_f64(), e.as_f64()) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => Some(as_text(a).cmp(&as_text(e))),
    }
}

/// `contains`: the list at the path holds `expected` — for an object, an element having every
/// one of its entries (as Elasticsearch's `ContainsAssertion` judges).
pub fn contains(actual: Option<&Value>, expected: &Value) -> bool {
    let Some(Value::Array(list)) = actual else { return false };
    list.iter().any(|item| match (item, expected) {
        (Value::Object(i), Value::Object(e)) => e.iter().all(|(k, v)| i.get(k).is_some_and(|w| equal(w, v))),
        (i, e) => equal(i, e),
    })
}

/// `is_after`: `actual` is a later instant than `expected`.
pub fn is_after(actual: &Value, expected: &Value) -> Option<bool> {
    let t = |v: &Value| v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok());
    Some(t(actual)? > t(expected)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_and_judgements() {
        let body = json!({"a": {"b.c": [1, {"d": "x"}]}, "n": 0, "e": ""});
        let s = Stash::default();
        assert_eq!(lookup(&body, "a.b\\.c.1.d", &s), Some(&json!("x")));
        assert_eq!(lookup(&body, "a.b\\.c.0.", &s), Some(&json!(1)));
        assert!(lookup(&body, "a.zz", &s).is_none());
        assert!(matches(lookup(&body, "a.zz", &s), &Value::Null));
        assert!(matches(Some(&json!(1.0)), &json!(1)));
        assert!(matches(Some(&json!("abc-123")), &json!("/ abc-\\d+ /")));
        assert!(!matches(Some(&json!({"a": 1, "b": 2})), &json!({"a": 1})));
        assert!(is_false(lookup(&body, "n", &s)) && is_false(lookup(&body, "e", &s)) && is_false(None));
        assert!(is_true(Some(&json!({}))) && !is_true(None));
        assert_eq!(length(lookup(&body, "a.b\\.c", &s)), Some(2));
        let list = json!([{"name": "a", "v": 1}, 2]);
        assert!(contains(Some(&list), &json!({"name": "a"})) && contains(Some(&list), &json!(2)));
        assert!(!contains(Some(&list), &json!({"name": "b"})) && !contains(Some(&json!({})), &json!(2)));
        assert_eq!(
            is_after(&json!("2024-01-01T00:00:00.002Z"), &json!("2024-01-01T00:00:00.001Z")),
            Some(true)
        );
    }
}
