//! Mustache search templates as Elasticsearch renders them: `{{var}}` (JSON-escaped),
//! `{{{var}}}`, dotted names, sections `{{#x}}…{{/x}}` / inverted `{{^x}}…{{/x}}`,
//! `{{.}}`, comments, and Elasticsearch's `{{#toJson}}var{{/toJson}}` and
//! `{{#join}}var{{/join}}` functions — enough for the document-level-security template
//! stored in identity documents.

use serde_json::Value;

use super::error::EsError;

fn lookup<'a>(stack: &[&'a Value], name: &str) -> Option<&'a Value> {
    if name == "." {
        return stack.last().copied();
    }
    for ctx in stack.iter().rev() {
        let mut cur = Some(*ctx);
        for seg in name.split('.') {
            cur = cur.and_then(|c| match c {
                Value::Object(o) => o.get(seg),
                Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            });
        }
        if cur.is_some() {
            return cur;
        }
    }
    None
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(a) => a.iter().map(plain).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn json_escape(s: &str) -> String {
    let quoted = Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        _ => true,
    }
}

fn error(msg: String) -> EsError {
    EsError::new(
        400,
        "general_script_exception",
        format!("Failed to compile inline script [{msg}] using lang [mustache]"),
    )
}

/// Finds the `{{/name}}` that closes a section opened just before `from`.
fn section_end(t: &str, name: &str, from: usize) -> Option<(usize, usize)> {
    let open_a = format!("{{{{#{name}}}}}");
    let open_b = format!("{{{{^{name}}}}}");
    let close = format!("{{{{/{name}}}}}");
    let mut depth = 1;
    let mut pos = from;
    loop {
        let next_close = t[pos..].find(&close)? + pos;
        let next_open =
            [t[pos..].find(&open_a), t[pos..].find(&open_b)].into_iter().flatten().min().map(|p| p + pos);
        match next_open {
            Some(o) if o < next_close => {
                depth += 1;
                pos = o + open_a.len();
            }
            _ => {
                depth -= 1;
                if depth == 0 {
                    return Some((next_close, next_close + close.len()));
                }
                pos = next_close + close.len();
            }
        }
    }
}

fn render_into(t: &str, stack: &mut Vec<&Value>, out: &mut String) -> Result<(), EsError> {
    let mut rest = t;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let abs = offset + start;
        if rest[start..].starts_with("{{{") {
            let end = rest[start + 3..].find("}}}").ok_or_else(|| error(t.to_string()))?;
            let name = rest[start + 3..start + 3 + end].trim();
            if let Some(v) = lookup(stack, name) {
                out.push_str(&plain(v));
            }
            let consumed = start + 3 + end + 3;
            rest = &rest[consumed..];
            offset += consumed;
            continue;
        }
        let end = rest[start + 2..].find("}}").ok_or_else(|| error(t.to_string()))?;
        let tag = rest[start + 2..start + 2 + end].trim();
        let after = abs + 2 + end + 2;
        match tag.chars().next() {
            Some('!') => {}
            Some('#') | Some('^') => {
                let name = tag[1..].trim();
                let (inner_end, close_end) =
                    section_end(t, name, after).ok_or_else(|| error(format!("unclosed section [{name}]")))?;
                let inner = &t[after..inner_end];
                if tag.starts_with('#') && name == "toJson" {
                    let v = lookup(stack, inner.trim()).cloned().unwrap_or(Value::Null);
                    out.push_str(&v.to_string());
                } else if tag.starts_with('#') && name == "join" {
                    let v = lookup(stack, inner.trim()).cloned().unwrap_or(Value::Null);
                    out.push_str(&plain(&v));
                } else {
                    let v = lookup(stack, name);
                    if tag.starts_with('^') {
                        if !truthy(v) {
                            render_into(inner, stack, out)?;
                        }
                    } else if let Some(Value::Array(items)) = v {
                        for item in items {
                            stack.push(item);
                            render_into(inner, stack, out)?;
                            stack.pop();
                        }
                    } else if truthy(v) {
                        if let Some(v) = v {
                            stack.push(v);
                            render_into(inner, stack, out)?;
                            stack.pop();
                        }
                    }
                }
                rest = &t[close_end..];
                offset = close_end;
                continue;
            }
            _ => {
                if let Some(v) = lookup(stack, tag) {
                    out.push_str(&json_escape(&plain(v)));
                }
            }
        }
        rest = &t[after..];
        offset = after;
    }
    out.push_str(rest);
    Ok(())
}

/// Renders a template with its parameters.
pub fn render(template: &str, params: &Value) -> Result<String, EsError> {
    let mut out = String::new();
    let mut stack = vec![params];
    render_into(template, &mut stack, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dls_template_renders_to_json() {
        let src = r#"{"bool":{"should":[{"bool":{"must_not":{"exists":{"field":"_allow_access_control"}}}},{"terms":{"_allow_access_control.keyword":{{#toJson}}access_control{{/toJson}}}}]}}"#;
        let out = render(src, &json!({"access_control": ["user:a", "group:\"x\""]})).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["bool"]["should"][1]["terms"]["_allow_access_control.keyword"],
            json!(["user:a", "group:\"x\""])
        );
    }

    #[test]
    fn variables_sections_and_join() {
        let p = json!({"q": "a\"b", "n": 3, "tags": ["x", "y"], "none": [], "user": {"name": "bob"}});
        assert_eq!(render(r#"{"q":"{{q}}","n":{{n}}}"#, &p).unwrap(), r#"{"q":"a\"b","n":3}"#);
        assert_eq!(render("{{#tags}}[{{.}}]{{/tags}}{{^none}}empty{{/none}}", &p).unwrap(), "[x][y]empty");
        assert_eq!(render("{{#join}}tags{{/join}} {{user.name}}{{! c }}", &p).unwrap(), "x,y bob");
    }
}
