//! Index administration: create (`PUT /{index}` with settings, mappings, aliases), exists,
//! get, delete, `_mapping`, `_settings`, aliases and `_refresh`.

use serde_json::{json, Map, Value};

use super::cluster::{validate_index_name, Resolve};
use super::error::EsError;
use super::mapping::Mapping;
use super::routes::{Reply, Request};
use super::server::Shared;

/// `PUT /{index}`.
pub fn create(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let name = req.seg(0);
    let body = req.json()?.unwrap_or(Value::Null);
    shared.write().create_index(name, &body)?;
    Ok(Reply::ok(json!({"acknowledged": true, "shards_acknowledged": true, "index": name})))
}

/// `GET|HEAD /{index}`.
pub fn get(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let c = shared.read();
    let names = c.resolve(req.seg(0), Resolve::from_params(&req.params))?;
    let mut out = Map::new();
    for n in names {
        if let Some(i) = c.indices.get(&n) {
            out.insert(n.clone(), c.index_json(i));
        }
    }
    Ok(Reply::ok(Value::Object(out)))
}

/// `DELETE /{index}`: concrete names, never an alias; wildcards (when
/// `action.destructive_requires_name` allows them) expand to indices only, as Elasticsearch
/// resolves deletions.
pub fn delete(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let expr = req.seg(0);
    let mut c = shared.write();
    let mut names = Vec::new();
    let mut wildcard_matched_nothing = false;
    for part in expr.split(',') {
        if part.contains('*') || part == "_all" {
            if shared.config.destructive_requires_name {
                return Err(EsError::illegal_argument("Wildcard expressions or all indices are not allowed"));
            }
            let pattern = if part == "_all" { "*" } else { part };
            let before = names.len();
            names.extend(
                c.indices
                    .keys()
                    .filter(|n| !n.starts_with('.') && crate::elastic::cluster::glob(pattern, n))
                    .cloned(),
            );
            wildcard_matched_nothing |= names.len() == before;
        } else if c.indices.contains_key(part) {
            names.push(part.to_string());
        } else if req.flag("ignore_unavailable") {
            continue;
        } else if c.alias_targets(part).is_some() {
            return Err(EsError::illegal_argument(format!("The provided expression [{part}] matches an alias, specify the corresponding concrete indices instead.")));
        } else {
            return Err(EsError::index_not_found(part));
        }
    }
    if wildcard_matched_nothing && req.params.get("allow_no_indices").is_some_and(|v| v == "false") {
        return Err(EsError::index_not_found(expr));
    }
    for n in names {
        c.indices.remove(&n);
    }
    Ok(Reply::ok(json!({"acknowledged": true})))
}

/// `GET /_mapping`, `GET /{index}/_mapping`.
pub fn get_mapping(shared: &Shared, req: &Request, expr: &str) -> Result<Reply, EsError> {
    let c = shared.read();
    let mut out = Map::new();
    for n in c.resolve(expr, Resolve::from_params(&req.params))? {
        if let Some(i) = c.indices.get(&n) {
            out.insert(n, json!({"mappings": i.mapping.to_json()}));
        }
    }
    if out.is_empty() && req.params.get("allow_no_indices").is_some_and(|v| v == "false") {
        return Err(EsError::index_not_found(expr));
    }
    Ok(Reply::ok(Value::Object(out)))
}

/// `PUT /{index}/_mapping`.
pub fn put_mapping(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let body = req.json_required()?;
    let update = Mapping::parse(&body)?;
    let mut c = shared.write();
    let names = c.resolve(req.seg(0), Resolve::from_params(&req.params))?;
    for n in &names {
        if let Some(i) = c.indices.get(n) {
            let mut m = i.mapping.clone();
            m.merge(update.clone())?;
        }
    }
    for n in names {
        if let Some(i) = c.indices.get_mut(&n) {
            i.mapping.merge(update.clone())?;
        }
    }
    Ok(Reply::ok(json!({"acknowledged": true})))
}

/// `GET /{index}/_settings`.
pub fn get_settings(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let c = shared.read();
    let mut out = Map::new();
    for n in c.resolve(req.seg(0), Resolve::from_params(&req.params))? {
        if let Some(i) = c.indices.get(&n) {
            out.insert(n, json!({"settings": {"index": c.settings_json(i)}}));
        }
    }
    Ok(Reply::ok(Value::Object(out)))
}

/// `POST /_refresh`, `POST /{index}/_refresh`.
pub fn refresh(shared: &Shared, req: &Request, expr: &str) -> Result<Reply, EsError> {
    let mut c = shared.write();
    let names = c.resolve(expr, Resolve::from_params(&req.params))?;
    // Every copy counts in `total`; on one node only the primaries are started.
    let (mut total, mut successful) = (0, 0);
    for n in &names {
        if let Some(i) = c.indices.get_mut(n) {
            i.refresh();
            total += i.shards() * (1 + i.replicas());
            successful += i.shards();
        }
    }
    Ok(Reply::ok(json!({"_shards": {"total": total, "successful": successful, "failed": 0}})))
}

fn add_alias(shared: &Shared, index_expr: &str, alias: &str, def: Value) -> Result<(), EsError> {
    validate_index_name(alias)?;
    let mut c = shared.write();
    if c.indices.contains_key(alias) {
        return Err(EsError::new(400, "invalid_alias_name_exception", format!("Invalid alias name [{alias}]: an index or data stream exists with the same name as the alias")));
    }
    let names = c.resolve(index_expr, Resolve::default())?;
    for n in names {
        if let Some(i) = c.indices.get_mut(&n) {
            i.aliases.insert(alias.to_string(), def.clone());
        }
    }
    Ok(())
}

/// `PUT /{index}/_alias/{name}`.
pub fn put_alias(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let def = req.json()?.unwrap_or_else(|| json!({}));
    add_alias(shared, req.seg(0), req.seg(2), def)?;
    Ok(Reply::ok(json!({"acknowledged": true})))
}

/// `DELETE /{index}/_alias/{name}`.
pub fn delete_alias(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let mut c = shared.write();
    let names = c.resolve(req.seg(0), Resolve::default())?;
    let alias = req.seg(2);
    let mut removed = false;
    for n in names {
        if let Some(i) = c.indices.get_mut(&n) {
            let before = i.aliases.len();
            i.aliases.retain(|a, _| !super::cluster::glob(alias, a));
            removed |= i.aliases.len() != before;
        }
    }
    if !removed {
        return Err(EsError::new(404, "aliases_not_found_exception", format!("aliases [{alias}] missing"))
            .with("resource.type", "aliases")
            .with("resource.id", alias));
    }
    Ok(Reply::ok(json!({"acknowledged": true})))
}

/// `GET /_alias[/{name}]`, `GET /{index}/_alias[/{name}]`.
pub fn get_aliases(shared: &Shared, req: &Request, expr: &str, name: Option<&str>) -> Result<Reply, EsError> {
    let c = shared.read();
    let resolve = Resolve { expand_hidden: true, ..Resolve::from_params(&req.params) };
    let mut out = Map::new();
    for n in c.resolve(expr, resolve)? {
        let Some(i) = c.indices.get(&n) else { continue };
        let aliases: Map<String, Value> = i
            .aliases
            .iter()
            .filter(|(a, _)| name.is_none_or(|w| w.split(',').any(|p| super::cluster::glob(p, a))))
            .map(|(a, d)| (a.clone(), d.clone()))
            .collect();
        if name.is_none() || !aliases.is_empty() {
            out.insert(n.clone(), json!({"aliases": aliases}));
        }
    }
    if let Some(w) = name {
        if out.is_empty() {
            return Ok(Reply::with(404, json!({"error": format!("alias [{w}] missing"), "status": 404})));
        }
    }
    Ok(Reply::ok(Value::Object(out)))
}

/// `POST /_aliases` with `add`, `remove` and `remove_index` actions.
pub fn update_aliases(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let body = req.json_required()?;
    let actions = body
        .get("actions")
        .and_then(Value::as_array)
        .ok_or_else(|| EsError::validation(&["One or more aliases actions are required"]))?;
    for a in actions {
        let (kind, spec) = a
            .as_object()
            .and_then(|o| o.iter().next())
            .ok_or_else(|| EsError::parsing("[aliases] failed to parse field [actions]"))?;
        let index = spec.get("index").and_then(Value::as_str).unwrap_or("");
        let alias = spec.get("alias").and_then(Value::as_str).unwrap_or("");
        match kind.as_str() {
            "add" => {
                let mut def = Map::new();
                for k in ["is_write_index", "filter", "routing", "is_hidden"] {
                    if let Some(v) = spec.get(k) {
                        def.insert(k.to_string(), v.clone());
                    }
                }
                add_alias(shared, index, alias, Value::Object(def))?;
            }
            "remove" => {
                let mut c = shared.write();
                for n in c.resolve(index, Resolve::default())? {
                    if let Some(i) = c.indices.get_mut(&n) {
                        i.aliases.remove(alias);
                    }
                }
            }
            "remove_index" => {
                let mut c = shared.write();
                c.indices.remove(index);
            }
            other => return Err(EsError::parsing(format!("[aliases] unknown field [{other}]"))),
        }
    }
    Ok(Reply::ok(json!({"acknowledged": true, "errors": false})))
}
