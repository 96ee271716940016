//! The `$stash`: values a test saves with `set` and reuses as `$name` (the whole value, any
//! type) or `${name}` (inside a string), in `do` parameters, expected values and paths.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Saved values by name; `$body` is always the last response.
#[derive(Debug, Default)]
pub struct Stash {
    values: HashMap<String, Value>,
}

impl Stash {
    /// Saves `value` under `name`.
    pub fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_string(), value);
    }

    /// The value behind `$name`, if `s` is one.
    fn whole(&self, s: &str, body: &Value) -> Option<Value> {
        let key = s.strip_prefix('$')?;
        let key = key.strip_prefix('{').and_then(|k| k.strip_suffix('}')).unwrap_or(key);
        if key == "body" {
            return Some(body.clone());
        }
        self.values.get(key).cloned()
    }

    /// `${name}` occurrences inside a longer string, replaced by the values as text.
    fn embedded(&self, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start..].find('}') else { break };
            let key = &rest[start + 2..start + len];
            out.push_str(&rest[..start]);
            match self.values.get(key) {
                Some(Value::String(v)) => out.push_str(v),
                Some(v) => out.push_str(&v.to_string()),
                None => out.push_str(&rest[start..start + len + 1]),
            }
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        out
    }

    /// `v` with every stashed reference replaced (keys too).
    pub fn replace(&self, v: &Value, body: &Value) -> Value {
        match v {
            Value::String(s) => self.whole(s, body).unwrap_or_else(|| Value::String(self.embedded(s))),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.replace(x, body)).collect()),
            Value::Object(o) => {
                let m: Map<String, Value> = o
                    .iter()
                    .map(|(k, x)| {
                        let key = match self.whole(k, body) {
                            Some(Value::String(s)) => s,
                            _ => self.embedded(k),
                        };
                        (key, self.replace(x, body))
                    })
                    .collect();
                Value::Object(m)
            }
            other => other.clone(),
        }
    }

    /// A path segment, resolved when it is a stash reference.
    pub fn segment(&self, seg: &str, body: &Value) -> String {
        match self.whole(seg, body) {
            Some(Value::String(s)) => s,
            Some(v) => v.to_string(),
            None => seg.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_and_embedded_references() {
        let mut s = Stash::default();
        s.set("id", json!("abc"));
        s.set("n", json!(3));
        let body = json!({"x": 1});
        assert_eq!(
            s.replace(&json!({"a": "$id", "b": "x-${id}-${n}", "c": "$n", "d": "$body"}), &body),
            json!({"a": "abc", "b": "x-abc-3", "c": 3, "d": {"x": 1}})
        );
        assert_eq!(s.replace(&json!("$missing"), &body), json!("$missing"));
    }
}
