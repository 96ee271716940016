//! The sync rules in the tree: advanced rules parsed as CQL, basic rules brought into the
//! shape the rules read and checked by the rules' own validator, every problem named by its
//! rule.

use serde_json::Value;

use super::scalar_text;

/// Advanced rules: a JSON array of objects, each exactly `{"query": "<non-empty CQL>"}`.
/// Kibana stores them as JSON text, so a string holding that JSON is accepted too. `Err`
/// when the value as a whole is not such a list; otherwise one message per problem, each
/// naming its rule as `advanced rule N` from 1 (as Confluence's own check of the rules
/// does, `sync::advanced_rules::check_remotely`).
pub(super) fn advanced_rule_problems(value: &mut Value) -> Result<Vec<String>, String> {
    if let Value::String(text) = value {
        let parsed: Value = serde_json::from_str(text)
            .map_err(|e| format!("not valid JSON: {e}; expected [{{\"query\": \"<CQL>\"}}]"))?;
        *value = parsed;
    }
    let Value::Array(rules) = value else {
        return Err("expected a list of {query: <CQL>} objects".into());
    };
    let mut problems = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let n = i + 1;
        let Value::Object(map) = rule else {
            problems.push(format!("advanced rule {n}: expected an object {{query: <CQL>}}"));
            continue;
        };
        for name in map.keys().filter(|k| k.as_str() != "query") {
            problems.push(format!("advanced rule {n}: unknown key {name:?}; a rule holds only \"query\""));
        }
        match map.get("query") {
            Some(Value::String(q)) if !q.trim().is_empty() => match confluence_cql::parse(q) {
                Ok(query) => {
                    for e in confluence_cql::validate_fields(&query) {
                        problems.push(format!("advanced rule {n} ({q:?}): {e}"));
                    }
                }
                Err(e) => problems.push(format!("advanced rule {n} ({q:?}): {e}")),
            },
            Some(Value::String(_)) => problems.push(format!("advanced rule {n}: the query is empty")),
            Some(_) => problems.push(format!("advanced rule {n}: the query must be text")),
            None => problems.push(format!("advanced rule {n}: missing \"query\"")),
        }
    }
    Ok(problems)
}

/// The text fields of a basic rule.
const BASIC_TEXT_FIELDS: [&str; 5] = ["id", "policy", "field", "rule", "value"];

/// Basic rules: each is brought into the shape [`crate::config::BasicRule`] reads (scalars
/// as text, `order` as a whole number, absent text as empty), then checked by
/// [`crate::rules::BasicRules::compile`] — so what a user sees here are exactly the
/// messages the rules' own validator gives (and tests), each naming the rule by its id.
/// `Err` when the value is not a list at all.
pub(super) fn basic_rule_problems(value: &mut Value) -> Result<Vec<String>, String> {
    use crate::rules::RuleError;

    let Value::Array(rules) = value else {
        return Err("expected a list of rules {id, policy, field, rule, value, order}".into());
    };
    let mut shape: Vec<RuleError> = Vec::new();
    // Fields whose problem is already told: the validator's "is required" would mislead.
    let mut told: Vec<(usize, &str)> = Vec::new();
    let mut parsed: Vec<(usize, crate::config::BasicRule)> = Vec::new();
    for (i, rule) in rules.iter_mut().enumerate() {
        let position = i + 1;
        let Value::Object(map) = rule else {
            shape.push(RuleError {
                rule_id: String::new(),
                position,
                message: "expected a rule {id, policy, field, rule, value, order}".into(),
            });
            continue;
        };
        let id = map.get("id").and_then(scalar_text).unwrap_or_default();
        let mut problem = |message: String| shape.push(RuleError { rule_id: id.clone(), position, message });
        for name in BASIC_TEXT_FIELDS {
            let text = match map.get(name) {
                None | Some(Value::Null) => String::new(),
                Some(v) => scalar_text(v).unwrap_or_else(|| {
                    problem(format!("{name} must be text, a number or a boolean, not a list or a map"));
                    told.push((position, name));
                    String::new()
                }),
            };
            map.insert(name.into(), Value::String(text));
        }
        let order = match map.get("order") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match order {
            Some(n) => {
                map.insert("order".into(), Value::from(n));
            }
            None => {
                problem("order is required and must be a whole number: rules apply in ascending order".into())
            }
        }
        // The rest is the validator's to judge, whatever the order.
        let mut checked = map.clone();
        checked.insert("order".into(), Value::from(order.unwrap_or(0)));
        match serde_json::from_value(Value::Object(checked)) {
            Ok(rule) => parsed.push((position, rule)),
            Err(e) => problem(format!("cannot be read: {e}")),
        }
    }
    let mut problems = shape;
    let (places, parsed): (Vec<usize>, Vec<crate::config::BasicRule>) = parsed.into_iter().unzip();
    if let Err(errors) = crate::rules::BasicRules::compile(&parsed) {
        for mut e in errors {
            // `compile` numbers the rules it was given: put each back in its place in the list.
            e.position = e.position.checked_sub(1).and_then(|i| places.get(i)).copied().unwrap_or(e.position);
            let field = e.message.split(' ').next().unwrap_or_default();
            if !told.contains(&(e.position, field)) {
                problems.push(e);
            }
        }
    }
    problems.sort_by_key(|e| e.position);
    Ok(problems.iter().map(ToString::to_string).collect())
}
