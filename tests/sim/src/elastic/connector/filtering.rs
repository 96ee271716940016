//! Sync rules as the connector API keeps them: a one-element `filtering` list holding an
//! `active` and a `draft` rule set (`advanced_snippet`, `rules`, `validation`) for the
//! `DEFAULT` domain. Kibana edits the draft (`PUT _filtering`, which marks it `edited`), the
//! connector service validates it (`PUT _filtering/_validation`) and, when valid, activates it
//! (`PUT _filtering/_activate`, refused for any other state). Draft rules are kept sorted by
//! `order`, the catch-all `DEFAULT` rule always last, one past the highest order.

use serde_json::{json, Map, Value};

use super::connectors::get_connector;
use super::mappings::CONNECTOR_INDEX;
use super::store::{self, require_id, status_exception, Body, Unchanged};
use crate::elastic::dates::parse_strict_date;
use crate::elastic::error::EsError;
use crate::elastic::routes::{Reply, Request};
use crate::elastic::server::Shared;

/// Rule policies.
const POLICIES: &[&str] = &["exclude", "include"];
/// Rule conditions.
const CONDITIONS: &[&str] = &["contains", "ends_with", "equals", "regex", "starts_with", ">", "<"];
/// Validation states.
const VALIDATION_STATES: &[&str] = &["edited", "invalid", "valid"];

/// The catch-all rule: include everything.
pub fn default_rule(timestamp: &str, order: i64) -> Value {
    json!({
        "created_at": timestamp, "field": "_", "id": "DEFAULT", "order": order, "policy": "include",
        "rule": "regex", "updated_at": timestamp, "value": ".*",
    })
}

/// A rule set holding only the default rule, validated.
fn default_rules(timestamp: &str) -> Value {
    json!({
        "advanced_snippet": {"created_at": timestamp, "updated_at": timestamp, "value": {}},
        "rules": [default_rule(timestamp, 0)],
        "validation": {"errors": [], "state": "valid"},
    })
}

/// The filtering entry of a new connector.
pub fn default_filtering() -> Value {
    let now = store::now();
    json!({"active": default_rules(&now), "domain": "DEFAULT", "draft": default_rules(&now)})
}

fn invalid(what: &str) -> EsError {
    EsError::new(
        400,
        "x_content_parse_exception",
        format!("[connector_filtering] failed to parse field [{what}]"),
    )
}

fn timestamp(v: Option<&Value>, what: &str) -> Result<Value, EsError> {
    match v {
        None | Some(Value::Null) => Ok(json!(store::now())),
        Some(Value::String(s)) if parse_strict_date(s).is_some() => Ok(json!(s)),
        Some(_) => Err(invalid(what)),
    }
}

fn string_of(o: &Map<String, Value>, key: &str, allowed: Option<&[&str]>) -> Result<String, EsError> {
    let s = o.get(key).and_then(Value::as_str).ok_or_else(|| invalid(key))?;
    if allowed.is_some_and(|a| !a.contains(&s.to_ascii_lowercase().as_str())) {
        return Err(invalid(key));
    }
    Ok(s.to_string())
}

/// One rule, checked: every field present and of the right kind.
fn parse_rule(v: &Value) -> Result<Value, EsError> {
    let o = v.as_object().ok_or_else(|| invalid("rules"))?;
    let order = o.get("order").and_then(Value::as_i64).ok_or_else(|| invalid("order"))?;
    Ok(json!({
        "created_at": timestamp(o.get("created_at"), "created_at")?,
        "field": string_of(o, "field", None)?,
        "id": string_of(o, "id", None)?,
        "order": order,
        "policy": string_of(o, "policy", Some(POLICIES))?,
        "rule": string_of(o, "rule", Some(CONDITIONS))?,
        "updated_at": timestamp(o.get("updated_at"), "updated_at")?,
        "value": string_of(o, "value", None)?,
    }))
}

fn parse_rules(v: &Value) -> Result<Vec<Value>, EsError> {
    v.as_array().ok_or_else(|| invalid("rules"))?.iter().map(parse_rule).collect()
}

/// An advanced snippet: its `value` is an object or a list, never a scalar.
fn parse_snippet(v: &Value) -> Result<Value, EsError> {
    let o = v.as_object().ok_or_else(|| invalid("advanced_snippet"))?;
    let value = match o.get("value") {
        Some(v @ (Value::Object(_) | Value::Array(_))) => v.clone(),
        _ => return Err(invalid("value")),
    };
    Ok(json!({
        "created_at": timestamp(o.get("created_at"), "created_at")?,
        "updated_at": timestamp(o.get("updated_at"), "updated_at")?,
        "value": value,
    }))
}

/// A validation block: `state` and `errors` (lists of rule ids and messages), both required.
fn parse_validation(v: &Value) -> Result<Value, EsError> {
    let o = v.as_object().ok_or_else(|| invalid("validation"))?;
    let state = string_of(o, "state", Some(VALIDATION_STATES))?;
    let errors = o.get("errors").and_then(Value::as_array).ok_or_else(|| invalid("errors"))?;
    for e in errors {
        let ok = ["ids", "messages"]
            .iter()
            .all(|k| e.get(*k).and_then(Value::as_array).is_some_and(|a| a.iter().all(Value::is_string)));
        if !ok {
            return Err(invalid("errors"));
        }
    }
    Ok(json!({"errors": errors, "state": state}))
}

fn parse_rule_set(v: &Value) -> Result<Value, EsError> {
    let o = v.as_object().ok_or_else(|| invalid("filtering"))?;
    let get = |k: &str| o.get(k).ok_or_else(|| invalid(k));
    Ok(json!({
        "advanced_snippet": parse_snippet(get("advanced_snippet")?)?,
        "rules": parse_rules(get("rules")?)?,
        "validation": parse_validation(get("validation")?)?,
    }))
}

/// Whether a rule is the default one, whatever its timestamps and order.
fn is_default_rule(rule: &Value) -> bool {
    let d = default_rule("", 0);
    ["field", "id", "policy", "rule", "value"].iter().all(|k| rule[*k] == d[*k])
}

/// Sorts rules by `order` and puts the default rule last, one past the highest order (0 when
/// alone), keeping its creation time when the request carried it.
pub fn sort_rules(rules: Vec<Value>) -> Vec<Value> {
    let created = rules.iter().find(|r| is_default_rule(r)).map(|r| r["created_at"].clone());
    let mut sorted: Vec<Value> = rules.into_iter().filter(|r| !is_default_rule(r)).collect();
    sorted.sort_by_key(|r| r["order"].as_i64().unwrap_or(0));
    let order = sorted.last().map_or(0, |r| r["order"].as_i64().unwrap_or(0) + 1);
    let now = store::now();
    let mut default = default_rule(&now, order);
    if let Some(c) = created.filter(|c| !c.is_null()) {
        default["created_at"] = c;
    }
    sorted.push(default);
    sorted
}

/// The connector's single filtering entry.
fn current_filtering(source: &Value) -> Value {
    source["filtering"].get(0).cloned().unwrap_or_else(default_filtering)
}

/// Replaces a connector's `filtering` with what `rewrite` makes of its current entry (`noop`
/// when nothing changes).
fn rewrite_filtering(
    shared: &Shared,
    id: &str,
    rewrite: impl FnOnce(Value) -> Result<Value, EsError>,
) -> Result<Reply, EsError> {
    let mut c = shared.write();
    let doc = get_connector(&c, id, false)?;
    let filtering = rewrite(current_filtering(&doc.source))?;
    let fields = [("filtering".to_string(), filtering)].into_iter().collect();
    let result = store::replace_fields(&mut c, CONNECTOR_INDEX, &doc, fields, Unchanged::Noop)?;
    Ok(Reply::ok(json!({"result": result})))
}

/// `PUT /_connector/{id}/_filtering`: either the whole `filtering` list, or a new draft from
/// `rules` and/or `advanced_snippet`.
pub fn update(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = req.seg(1);
    require_id(id, "connector_id")?;
    let body = Body::parse(
        req,
        "connector_update_filtering_request",
        &["filtering", "rules", "advanced_snippet"],
        true,
    )?;
    let filtering = match body.get("filtering").filter(|v| !v.is_null()) {
        Some(list) => {
            let entries = list.as_array().ok_or_else(|| invalid("filtering"))?;
            let parsed: Result<Vec<Value>, EsError> = entries
                .iter()
                .map(|e| {
                    let domain = e.get("domain").and_then(Value::as_str).unwrap_or("DEFAULT");
                    Ok(json!({
                        "active": parse_rule_set(e.get("active").ok_or_else(|| invalid("active"))?)?,
                        "domain": domain,
                        "draft": parse_rule_set(e.get("draft").ok_or_else(|| invalid("draft"))?)?,
                    }))
                })
                .collect();
            Some(parsed?)
        }
        None => None,
    };
    let rules = body.get("rules").filter(|v| !v.is_null()).map(parse_rules).transpose()?;
    let snippet = body.get("advanced_snippet").filter(|v| !v.is_null()).map(parse_snippet).transpose()?;
    if filtering.is_none() && rules.is_none() && snippet.is_none() {
        return Err(EsError::validation(&[
            "[advanced_snippet] and [rules] cannot be both [null] when [filtering] is not provided",
        ]));
    }
    rewrite_filtering(shared, id, |mut entry| {
        if let Some(list) = filtering {
            return Ok(Value::Array(list));
        }
        let draft = &mut entry["draft"];
        if let Some(s) = snippet {
            draft["advanced_snippet"] = s;
        }
        if let Some(r) = rules {
            draft["rules"] = Value::Array(sort_rules(r));
        }
        draft["validation"] = json!({"errors": [], "state": "edited"});
        Ok(json!([entry]))
    })
}

/// `PUT /_connector/{id}/_filtering/_validation`: the connector service's verdict on the draft.
pub fn update_validation(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = req.seg(1);
    require_id(id, "connector_id")?;
    let body = Body::parse(req, "connector_update_filtering_validation_request", &["validation"], true)?;
    let validation = parse_validation(body.get("validation").ok_or_else(|| invalid("validation"))?)?;
    rewrite_filtering(shared, id, |mut entry| {
        entry["draft"]["validation"] = validation;
        Ok(json!([entry]))
    })
}

/// `PUT /_connector/{id}/_filtering/_activate`: the draft becomes active, if it is `valid`.
pub fn activate(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = req.seg(1);
    require_id(id, "connector_id")?;
    rewrite_filtering(shared, id, |mut entry| {
        let state = entry["draft"]["validation"]["state"].as_str().unwrap_or("").to_string();
        if state != "valid" {
            return Err(status_exception(format!(
                "Filtering draft needs to be validated by the connector service before activation. Current filtering draft validation state [{state}] is not equal to [valid]."
            )));
        }
        entry["active"] = entry["draft"].clone();
        Ok(json!([entry]))
    })
}
