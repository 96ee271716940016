//! A YAML test file as Elasticsearch's runner reads it: documents separated by `---`; the
//! `setup` and `teardown` documents run around every section; every other document is one
//! section, `name: [steps]`. Each step is a one-key mapping (`do`, `match`, `set`, `skip`, …).

use serde_json::{Map, Number, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// One step, its kind and argument (as JSON).
#[derive(Debug, Clone)]
pub struct Step {
    /// `do`, `match`, `set`, `skip`, `requires`, `length`, …
    pub kind: String,
    /// The step's argument.
    pub arg: Value,
}

/// A named list of steps.
#[derive(Debug, Clone)]
pub struct Section {
    /// The section's name.
    pub name: String,
    /// Its steps.
    pub steps: Vec<Step>,
}

/// One test file.
#[derive(Debug, Clone, Default)]
pub struct Suite {
    /// Steps before each section.
    pub setup: Vec<Step>,
    /// Steps after each section.
    pub teardown: Vec<Step>,
    /// The test sections, in file order.
    pub sections: Vec<Section>,
}

/// YAML as JSON (mapping keys as strings, mapping order kept).
pub fn to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Real(s) => {
            s.parse::<f64>().ok().and_then(Number::from_f64).map_or(Value::String(s.clone()), Value::Number)
        }
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Yaml::Hash(h) => {
            let m: Map<String, Value> = h.iter().map(|(k, v)| (key(k), to_json(v))).collect();
            Value::Object(m)
        }
        Yaml::Null | Yaml::Alias(_) | Yaml::BadValue => Value::Null,
    }
}

fn key(k: &Yaml) -> String {
    match to_json(k) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn steps(y: &Yaml) -> Result<Vec<Step>, String> {
    let list = y.as_vec().ok_or("a section must be a list of steps")?;
    list.iter()
        .map(|s| {
            let h = s
                .as_hash()
                .filter(|h| h.len() == 1)
                .ok_or_else(|| format!("a step must be a one-key mapping: {s:?}"))?;
            let (k, v) = h.iter().next().ok_or("empty step")?;
            Ok(Step { kind: key(k), arg: to_json(v) })
        })
        .collect()
}

/// Parses a test file.
pub fn parse(text: &str) -> Result<Suite, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    let mut suite = Suite::default();
    for doc in docs {
        let Some(h) = doc.as_hash() else { continue };
        for (k, v) in h {
            match key(k).as_str() {
                "setup" => suite.setup = steps(v)?,
                "teardown" => suite.teardown = steps(v)?,
                name => suite.sections.push(Section { name: name.to_string(), steps: steps(v)? }),
            }
        }
    }
    Ok(suite)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn setup_and_sections() {
        let s = parse("setup:\n  - do:\n      connector.put: {connector_id: a}\n---\n'One':\n  - match: { result: created }\n  - is_false: x\n").unwrap();
        assert_eq!(s.setup.len(), 1);
        assert_eq!(s.sections[0].name, "One");
        assert_eq!(s.sections[0].steps[0].arg, json!({"result": "created"}));
        assert_eq!(s.sections[0].steps[1].arg, json!("x"));
    }
}
