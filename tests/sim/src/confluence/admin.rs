//! The admin HTTP route (`/__sim/...`, no Confluence auth), for driving a simulator that
//! runs as a separate process (`make demo`, benchmarks): apply mutations, add or clear
//! faults, read request counts and the catalog summary.
//!
//! - `POST /__sim/mutate` with `{"op": "...", ...}` — ops: `create_page {space, parent?,
//!   title, body?}`, `create_blogpost {space, title, body?}`, `create_attachment {container,
//!   file_name, size?}`, `create_comment {container, body}`, `edit {id, title?, body?}`,
//!   `move {id, parent}`, `restrict {id, users[], groups[]}`, `trash {id}`, `restore {id}`,
//!   `purge {id}`, `add_space {key, name}`, `remove_space {key}`, `archive_space {key}`,
//!   `add_user {username, display_name}`, `remove_user {user}`, `add_group {name}`,
//!   `remove_group {name}`, `add_member {group, user}`, `remove_member {group, user}`,
//!   `grant {space, user?|group?|anonymous?, operation, target}`, `revoke {space, user?|group?}`.
//!   Answers `{"ok": true, "id": ...}` or 400 with the error.
//! - `POST /__sim/faults` with `{"route"?: "/rest/api/space", "status"?: 500 | "retry_after"?:
//!   seconds (429) , "nth"?: n, "first"?: n, "rate"?: p}`; `DELETE /__sim/faults`.
//! - `GET /__sim/requests` — counts per route and status; `DELETE /__sim/requests` resets.
//! - `GET /__sim/catalog` — document counts.

use std::sync::Arc;

use serde_json::{json, Value};

use super::catalog::Catalog;
use super::faults::{FaultKind, FaultRule, RetryAfter, Trigger};
use super::model::AttachmentFormat;
use super::mutations::{Grantee, MutationError, SiteHandle};
use super::reply::Reply;
use super::server::Shared;

/// Answers one admin request.
pub fn handle(shared: &Arc<Shared>, method: &str, path: &str, body: &[u8]) -> Reply {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (method, path.trim_end_matches('/')) {
        ("POST", "mutate") => match mutate(&SiteHandle::new(shared.clone()), &request) {
            Ok(id) => Reply::json(json!({"ok": true, "id": id})),
            Err(error) => Reply::json(json!({"ok": false, "error": error})).with_status(400),
        },
        ("POST", "faults") => match fault_rule(&request) {
            Some(rule) => Reply::json(json!({"ok": true, "id": shared.faults.add(rule)})),
            None => Reply::json(json!({"ok": false, "error": "expected {route?, status | retry_after, nth? | first? | rate?}"})).with_status(400),
        },
        ("DELETE", "faults") => {
            shared.faults.clear();
            Reply::json(json!({"ok": true}))
        }
        ("GET", "requests") => {
            let counts: Vec<Value> = shared
                .log
                .snapshot()
                .into_iter()
                .map(|((route, status), count)| json!({"route": route, "status": status, "count": count}))
                .collect();
            Reply::json(json!({"total": shared.log.total(), "counts": counts}))
        }
        ("DELETE", "requests") => {
            shared.log.reset();
            Reply::json(json!({"ok": true}))
        }
        ("GET", "catalog") => {
            let catalog = match shared.site.read() {
                Ok(site) => Catalog::of(&site),
                Err(poisoned) => Catalog::of(&poisoned.into_inner()),
            };
            Reply::json(json!({
                "documents": catalog.documents(),
                "spaces": catalog.spaces.len(),
                "content": catalog.content.len(),
            }))
        }
        _ => Reply::json(json!({"ok": false, "error": format!("no admin route {method} /__sim/{path}")})).with_status(404),
    }
}

fn text<'a>(request: &'a Value, key: &str) -> Result<&'a str, String> {
    request.get(key).and_then(Value::as_str).ok_or_else(|| format!("missing string field '{key}'"))
}

fn number(request: &Value, key: &str) -> Result<u64, String> {
    match request.get(key) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| format!("field '{key}' is not an id")),
        Some(Value::String(s)) => {
            super::model::parse_api_id(s).ok_or_else(|| format!("field '{key}' is not an id"))
        }
        _ => Err(format!("missing id field '{key}'")),
    }
}

fn strings(request: &Value, key: &str) -> Vec<String> {
    request
        .get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn grantee(request: &Value) -> Result<Grantee, String> {
    if let Some(user) = request.get("user").and_then(Value::as_str) {
        Ok(Grantee::User(user.to_string()))
    } else if let Some(group) = request.get("group").and_then(Value::as_str) {
        Ok(Grantee::Group(group.to_string()))
    } else if request.get("anonymous").and_then(Value::as_bool) == Some(true) {
        Ok(Grantee::Anonymous)
    } else {
        Err("expected 'user', 'group' or 'anonymous'".to_string())
    }
}

fn mutate(site: &SiteHandle, request: &Value) -> Result<Value, String> {
    let op = text(request, "op")?;
    let done = |r: Result<(), MutationError>| r.map(|_| Value::Null).map_err(|e| e.to_string());
    let id = |r: Result<u64, MutationError>| r.map(|id| json!(id)).map_err(|e| e.to_string());
    match op {
        "create_page" => id(site.create_page(
            text(request, "space")?,
            request.get("parent").and_then(Value::as_u64),
            text(request, "title")?,
            request.get("body").and_then(Value::as_str),
        )),
        "create_blogpost" => id(site.create_blogpost(
            text(request, "space")?,
            text(request, "title")?,
            request.get("body").and_then(Value::as_str),
        )),
        "create_attachment" => {
            let name = text(request, "file_name")?;
            let extension = name.rsplit('.').next().unwrap_or("");
            let format = AttachmentFormat::ALL
                .into_iter()
                .find(|f| f.extension() == extension)
                .unwrap_or(AttachmentFormat::Txt);
            let size = request.get("size").and_then(Value::as_u64).unwrap_or(4096);
            id(site.create_attachment(number(request, "container")?, name, format, size))
                .map(|v| json!(format!("att{}", v)))
        }
        "create_comment" => id(site.create_comment(number(request, "container")?, text(request, "body")?)),
        "edit" => done(site.edit(
            number(request, "id")?,
            request.get("title").and_then(Value::as_str),
            request.get("body").and_then(Value::as_str),
        )),
        "move" => done(site.move_page(number(request, "id")?, number(request, "parent")?)),
        "restrict" => {
            let users = strings(request, "users");
            let groups = strings(request, "groups");
            let users: Vec<&str> = users.iter().map(String::as_str).collect();
            let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
            done(site.restrict(number(request, "id")?, &users, &groups))
        }
        "trash" => done(site.trash(number(request, "id")?)),
        "restore" => done(site.restore(number(request, "id")?)),
        "purge" => done(site.purge(number(request, "id")?)),
        "add_space" => id(site.add_space(text(request, "key")?, text(request, "name")?)),
        "remove_space" => done(site.remove_space(text(request, "key")?)),
        "archive_space" => done(site.archive_space(text(request, "key")?)),
        "add_user" => Ok(json!(site.add_user(text(request, "username")?, text(request, "display_name")?))),
        "remove_user" => done(site.remove_user(text(request, "user")?)),
        "add_group" => site.add_group(text(request, "name")?).map(|g| json!(g)).map_err(|e| e.to_string()),
        "remove_group" => done(site.remove_group(text(request, "name")?)),
        "add_member" => done(site.set_membership(text(request, "group")?, text(request, "user")?, true)),
        "remove_member" => done(site.set_membership(text(request, "group")?, text(request, "user")?, false)),
        "grant" => done(site.grant(
            text(request, "space")?,
            &grantee(request)?,
            text(request, "operation")?,
            text(request, "target")?,
        )),
        "revoke" => done(site.revoke(text(request, "space")?, &grantee(request)?)),
        other => Err(format!("unknown op '{other}'")),
    }
}

fn fault_rule(request: &Value) -> Option<FaultRule> {
    let trigger = if let Some(n) = request.get("nth").and_then(Value::as_u64) {
        Trigger::Nth(n)
    } else if let Some(n) = request.get("first").and_then(Value::as_u64) {
        Trigger::FirstN(n)
    } else if let Some(n) = request.get("after").and_then(Value::as_u64) {
        Trigger::AfterN(n)
    } else if let Some(p) = request.get("rate").and_then(Value::as_f64) {
        Trigger::Rate(p)
    } else {
        Trigger::Always
    };
    let kind = match (
        request.get("status").and_then(Value::as_u64),
        request.get("retry_after").and_then(Value::as_u64),
    ) {
        (Some(429), retry) | (None, retry @ Some(_)) => FaultKind::TooManyRequests {
            retry_after: retry.map(RetryAfter::Seconds).unwrap_or(RetryAfter::Absent),
        },
        (Some(503), retry) => FaultKind::Unavailable {
            retry_after: retry.map(RetryAfter::Seconds).unwrap_or(RetryAfter::Absent),
        },
        (Some(403), _) => FaultKind::RateLimitForbidden,
        (Some(status), _) => FaultKind::Status(status as u16),
        (None, None) => match request.get("kind").and_then(Value::as_str)? {
            "drop" => FaultKind::DropMidBody,
            "truncate" => FaultKind::TruncatedJson,
            "malformed" => FaultKind::MalformedItem,
            _ => return None,
        },
    };
    Some(FaultRule {
        route: request.get("route").and_then(Value::as_str).map(str::to_string),
        query: request.get("query").and_then(Value::as_str).map(str::to_string),
        trigger,
        kind,
    })
}
