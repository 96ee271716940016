//! A connector's `configuration`: the source's settings schema (one entry per field, with its
//! label, display, type, validations and value) that Kibana renders and the connector service
//! reads. `PUT _connector/{id}/_configuration` either replaces the whole schema or, with
//! `values`, sets the `value` of fields the schema already has; both leave the connector
//! `configured`.

use serde_json::{json, Map, Value};

use super::connectors::get_connector;
use super::mappings::CONNECTOR_INDEX;
use super::store::{self, require_id, status_exception, Body, Unchanged};
use crate::elastic::error::EsError;
use crate::elastic::routes::{Reply, Request};
use crate::elastic::server::Shared;

/// `display` values Kibana knows.
const DISPLAYS: &[&str] = &["textbox", "textarea", "numeric", "toggle", "dropdown"];
/// Field `type`s.
const FIELD_TYPES: &[&str] = &["str", "int", "list", "bool"];
/// Validation `type`s.
const VALIDATION_TYPES: &[&str] = &["less_than", "greater_than", "list_type", "included_in", "regex"];

fn invalid(field: &str, what: &str) -> EsError {
    EsError::new(
        400,
        "x_content_parse_exception",
        format!("[connector_configuration] failed to parse field [{what}] of configuration field [{field}]"),
    )
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_))
}

fn is_list_of(v: &Value, item: impl Fn(&Map<String, Value>) -> bool) -> bool {
    v.as_array().is_some_and(|a| a.iter().all(|x| x.as_object().is_some_and(&item)))
}

/// One configuration entry as Elasticsearch parses and stores it: `label` required; `display`,
/// `type` and each validation's `type` known values; `value` a scalar or an object (what the
/// crawler keeps there), never a list; unknown keys dropped; `default_value`, `required`,
/// `sensitive` and `value` always written.
fn normalize_entry(name: &str, v: &Value) -> Result<Value, EsError> {
    let o = v.as_object().ok_or_else(|| invalid(name, "configuration"))?;
    let get = |k: &str| o.get(k).filter(|v| !v.is_null());
    let mut out = Map::new();
    let keep = |out: &mut Map<String, Value>, key: &str, ok: bool| -> Result<(), EsError> {
        match get(key) {
            Some(_) if !ok => Err(invalid(name, key)),
            Some(v) => {
                out.insert(key.into(), v.clone());
                Ok(())
            }
            None => Ok(()),
        }
    };
    let one_of = |key: &str, allowed: &[&str]| {
        get(key).is_none_or(|v| v.as_str().is_some_and(|s| allowed.contains(&s)))
    };
    keep(&mut out, "category", get("category").is_none_or(Value::is_string))?;
    out.insert("default_value".into(), o.get("default_value").cloned().unwrap_or(Value::Null));
    if !o.get("default_value").is_none_or(is_scalar) {
        return Err(invalid(name, "default_value"));
    }
    let dependency = |d: &Map<String, Value>| {
        d.get("field").is_some_and(Value::is_string) && d.get("value").is_some_and(is_scalar)
    };
    keep(&mut out, "depends_on", get("depends_on").is_none_or(|v| is_list_of(v, dependency)))?;
    keep(&mut out, "display", one_of("display", DISPLAYS))?;
    let Some(label) = o.get("label").and_then(Value::as_str) else {
        return Err(EsError::new(
            400,
            "x_content_parse_exception",
            format!(
                "[connector_configuration] failed to parse configuration field [{name}]: Required [label]"
            ),
        ));
    };
    out.insert("label".into(), json!(label));
    let option = |d: &Map<String, Value>| {
        d.get("label").is_some_and(Value::is_string) && d.get("value").is_some_and(is_scalar)
    };
    keep(&mut out, "options", get("options").is_none_or(|v| is_list_of(v, option)))?;
    keep(&mut out, "order", get("order").is_none_or(|v| v.as_i64().is_some()))?;
    keep(&mut out, "placeholder", get("placeholder").is_none_or(Value::is_string))?;
    for flag in ["required", "sensitive"] {
        let b = match get(flag) {
            None => false,
            Some(v) => v.as_bool().ok_or_else(|| invalid(name, flag))?,
        };
        out.insert(flag.into(), json!(b));
    }
    keep(&mut out, "tooltip", get("tooltip").is_none_or(Value::is_string))?;
    keep(&mut out, "type", one_of("type", FIELD_TYPES))?;
    let strings = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    keep(&mut out, "ui_restrictions", get("ui_restrictions").is_none_or(strings))?;
    let validation = |d: &Map<String, Value>| {
        d.contains_key("constraint")
            && d.get("type").and_then(Value::as_str).is_some_and(|t| VALIDATION_TYPES.contains(&t))
    };
    keep(&mut out, "validations", get("validations").is_none_or(|v| is_list_of(v, validation)))?;
    let value = o.get("value").cloned().unwrap_or(Value::Null);
    if value.is_array() {
        return Err(invalid(name, "value"));
    }
    out.insert("value".into(), value);
    Ok(Value::Object(out))
}

/// `PUT /_connector/{id}/_configuration`.
pub fn update(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = req.seg(1);
    require_id(id, "connector_id")?;
    let body =
        Body::parse(req, "connector_update_configuration_request", &["configuration", "values"], true)?;
    let configuration = body.object("configuration")?;
    let values = body.object("values")?;
    match (configuration, values) {
        (Some(_), Some(_)) => {
            return Err(EsError::validation(&[
                "[configuration] and [values] cannot both be provided in the same request.",
            ]))
        }
        (None, None) => {
            return Err(EsError::validation(&["[configuration] and [values] cannot both be null."]))
        }
        _ => {}
    }
    let schema: Option<Map<String, Value>> = configuration
        .map(|conf| {
            conf.iter().map(|(name, entry)| Ok((name.clone(), normalize_entry(name, entry)?))).collect()
        })
        .transpose()?;
    let mut c = shared.write();
    let doc = get_connector(&c, id, false)?;
    let result = if let Some(conf) = schema {
        let fields: Map<String, Value> =
            [("configuration".to_string(), Value::Object(conf)), ("status".to_string(), json!("configured"))]
                .into_iter()
                .collect();
        store::replace_fields(&mut c, CONNECTOR_INDEX, &doc, fields, Unchanged::Updated)?.to_string()
    } else {
        let values = values.cloned().unwrap_or_default();
        let known = doc.source["configuration"].as_object().cloned().unwrap_or_default();
        let mut unknown: Vec<&String> = values.keys().filter(|k| !known.contains_key(*k)).collect();
        if !unknown.is_empty() {
            unknown.sort();
            let list: Vec<&str> = unknown.iter().map(|k| k.as_str()).collect();
            return Err(status_exception(format!(
                "Unknown [configuration] fields in the request payload: [{}]. Remove them from request or register their schema first.",
                list.join(", ")
            )));
        }
        let patch: Map<String, Value> = values.into_iter().map(|(k, v)| (k, json!({"value": v}))).collect();
        let o = store::update(
            &mut c,
            CONNECTOR_INDEX,
            id,
            json!({"configuration": patch, "status": "configured"}),
        )?;
        store::result_of(&o)
    };
    Ok(Reply::ok(json!({"result": result})))
}
