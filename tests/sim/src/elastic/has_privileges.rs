//! `GET|POST /_security/user/_has_privileges` (and `/_security/user/{user}/_has_privileges`):
//! whether the caller holds the cluster, index and application privileges it names, as
//! Elasticsearch answers it (`username`, `has_all_requested`, `cluster`, `index`,
//! `application`).
//!
//! Index privileges are modelled as Elasticsearch defines them, by the actions each one
//! grants (`IndexPrivilege`): one privilege implies another when it grants all of the
//! other's actions (`write` implies `index`, `create_doc`, `delete`; `manage` implies
//! `create_index` and `maintenance` but not `view_index_metadata`, which also grants a
//! transform action; `all` implies everything). A role grants named privileges on index
//! patterns ([`super::privileges::Role::indices`]). Action names as privileges
//! (`indices:data/write/bulk`), restricted indices and application privileges beyond `*`
//! are not modelled: an action name is refused with a 400 saying so. With security
//! disabled there is no such endpoint, as on a node started with
//! `xpack.security.enabled: false`.

use serde_json::{json, Map, Value};

use super::auth::Principal;
use super::error::EsError;
use super::privileges::role_of;
use super::routes::{Reply, Request};
use super::server::Shared;

/// Groups of index actions, one bit each: what the named privileges are made of.
mod action {
    pub const READ: u32 = 1 << 0; // indices:data/read/* but field_caps
    pub const FIELD_CAPS: u32 = 1 << 1; // indices:data/read/field_caps*
    pub const WRITE_CREATE_DOC: u32 = 1 << 2; // indices:data/write/index (op_type create)
    pub const WRITE_INDEX: u32 = 1 << 3; // the rest of indices:data/write/index*
    pub const WRITE_BULK: u32 = 1 << 4; // indices:data/write/bulk*
    pub const WRITE_UPDATE: u32 = 1 << 5; // indices:data/write/update*
    pub const WRITE_DELETE: u32 = 1 << 6; // indices:data/write/delete*
    pub const WRITE_OTHER: u32 = 1 << 7; // the rest of indices:data/write/*
    pub const AUTO_PUT_MAPPING: u32 = 1 << 8; // indices:admin/mapping/auto_put
    pub const AUTO_CREATE: u32 = 1 << 9; // indices:admin/auto_create
    pub const CREATE: u32 = 1 << 10; // indices:admin/create, data_stream/create
    pub const DELETE_INDEX: u32 = 1 << 11; // indices:admin/delete, data_stream/delete
    pub const METADATA: u32 = 1 << 12; // get index, mappings, settings, aliases, resolve, …
    pub const MAINTENANCE: u32 = 1 << 13; // refresh, flush, forcemerge
    pub const ILM: u32 = 1 << 14; // indices:admin/ilm/*
    pub const FOLLOW: u32 = 1 << 15; // put follow, unfollow, close, promote, rollover
    pub const LEADER: u32 = 1 << 16; // forget follower
    pub const ADMIN_OTHER: u32 = 1 << 17; // the rest of indices:admin/* (put mapping, …)
    pub const MONITOR: u32 = 1 << 18; // indices:monitor/*
    pub const TRANSFORM_CHECKPOINT: u32 = 1 << 19; // indices:internal/transform/checkpoint*
    pub const CROSS_CLUSTER: u32 = 1 << 20; // internal:transport/proxy/indices:data/read/*
    pub const LIFECYCLE: u32 = 1 << 21; // indices:admin/data_stream/lifecycle/*
    pub const CCR: u32 = 1 << 22; // cross-cluster replication of an API key
    pub const CCR_INTERNAL: u32 = 1 << 23; // its internal actions
    pub const FAILURE_STORE_READ: u32 = 1 << 24; // reading a failure store
    pub const FAILURE_STORE_MANAGE: u32 = 1 << 25; // managing a failure store
    /// Every action: those above, and (bit 26) every other `indices:*` action.
    pub const ALL: u32 = (1 << 27) - 1;
}

/// The actions of a named index privilege; `None` for a name Elasticsearch does not know.
pub fn index_privilege(name: &str) -> Option<u32> {
    use action::*;
    const ADMIN: u32 = AUTO_PUT_MAPPING
        | AUTO_CREATE
        | CREATE
        | DELETE_INDEX
        | METADATA
        | MAINTENANCE
        | ILM
        | FOLLOW
        | LEADER
        | LIFECYCLE
        | ADMIN_OTHER;
    Some(match name {
        "none" => 0,
        "all" => ALL,
        "read" => READ | FIELD_CAPS,
        "read_cross_cluster" => CROSS_CLUSTER,
        "create_doc" => WRITE_CREATE_DOC | WRITE_BULK,
        "create" => WRITE_CREATE_DOC | WRITE_INDEX | WRITE_BULK,
        "index" => WRITE_CREATE_DOC | WRITE_INDEX | WRITE_BULK | WRITE_UPDATE,
        "delete" => WRITE_DELETE | WRITE_BULK,
        "write" => {
            WRITE_CREATE_DOC
                | WRITE_INDEX
                | WRITE_BULK
                | WRITE_UPDATE
                | WRITE_DELETE
                | WRITE_OTHER
                | AUTO_PUT_MAPPING
        }
        "monitor" => MONITOR,
        "manage" => MONITOR | ADMIN | FIELD_CAPS,
        "create_index" => CREATE | AUTO_CREATE,
        "delete_index" => DELETE_INDEX,
        "view_index_metadata" => METADATA | FIELD_CAPS | TRANSFORM_CHECKPOINT,
        "manage_follow_index" => FOLLOW,
        "manage_leader_index" => LEADER,
        "manage_ilm" => ILM,
        "maintenance" => MAINTENANCE,
        "auto_configure" => AUTO_PUT_MAPPING | AUTO_CREATE,
        "manage_data_stream_lifecycle" => LIFECYCLE,
        "cross_cluster_replication" => CCR,
        "cross_cluster_replication_internal" => CCR_INTERNAL,
        "read_failure_store" => FAILURE_STORE_READ,
        "manage_failure_store" => FAILURE_STORE_MANAGE,
        _ => return None,
    })
}

/// The index privileges Elasticsearch (8.19) knows, in the order its error message lists
/// them.
const INDEX_PRIVILEGES: [&str; 24] = [
    "manage_failure_store",
    "read_failure_store",
    "none",
    "create_doc",
    "create",
    "auto_configure",
    "create_index",
    "delete",
    "delete_index",
    "index",
    "maintenance",
    "manage_data_stream_lifecycle",
    "manage_follow_index",
    "manage_ilm",
    "manage_leader_index",
    "monitor",
    "view_index_metadata",
    "cross_cluster_replication",
    "cross_cluster_replication_internal",
    "manage",
    "read",
    "read_cross_cluster",
    "write",
    "all",
];

/// The cluster privileges this test server knows (a subset of Elasticsearch's, covering
/// what clients ask about).
const CLUSTER_PRIVILEGES: &[&str] = &[
    "all",
    "none",
    "monitor",
    "manage",
    "manage_index_templates",
    "manage_ingest_pipelines",
    "manage_pipeline",
    "read_pipeline",
    "manage_api_key",
    "manage_own_api_key",
    "manage_security",
    "manage_connector",
    "monitor_connector",
    "read_connector_secrets",
    "write_connector_secrets",
    "manage_ilm",
    "read_ilm",
    "monitor_enrich",
    "manage_enrich",
];

/// Cluster privileges that `manage` implies besides itself.
const UNDER_MANAGE: &[&str] = &[
    "monitor",
    "manage_index_templates",
    "manage_ingest_pipelines",
    "manage_pipeline",
    "read_pipeline",
    "manage_ilm",
    "read_ilm",
    "monitor_enrich",
    "manage_enrich",
];

/// Whether `granted` (a role's cluster privileges) covers `asked`.
fn cluster_allows(granted: &[&str], asked: &str) -> bool {
    asked == "none"
        || granted.iter().any(|g| {
            *g == "all"
                || *g == asked
                || (*g == "manage" && UNDER_MANAGE.contains(&asked))
                || (*g == "manage_pipeline" && asked == "read_pipeline")
                || (*g == "manage_ingest_pipelines" && asked == "read_pipeline")
                || (*g == "manage_connector" && asked == "monitor_connector")
        })
}

/// Whether the index pattern `granted` of a role covers the requested name or pattern.
fn covers(granted: &str, asked: &str) -> bool {
    granted == "*"
        || granted == asked
        || granted.strip_suffix('*').is_some_and(|prefix| asked.starts_with(prefix))
}

/// The handler: `user` is the `{user}` path segment, if any.
pub fn handle(shared: &Shared, req: &Request, user: Option<&str>) -> Result<Reply, EsError> {
    if !shared.config.security_enabled {
        return Err(EsError::simple(
            400,
            format!("no handler found for uri [{}] and method [{}]", req.path, req.method.as_str()),
        ));
    }
    let username = match &req.who {
        Principal::User(name) => name.clone(),
        // An API key answers for its owner, the superuser here.
        _ => shared.config.username.clone(),
    };
    if user.is_some_and(|u| u != username) {
        return Err(EsError::illegal_argument("users may only check the privileges of their own account"));
    }
    let Some(body) = req.json()? else {
        return Err(EsError::new(400, "parse_exception", "request body or source parameter is required"));
    };
    let check = PrivilegesCheck::parse(&username, &body)?;
    let role = role_of(&shared.config, &req.who);
    let granted_cluster = role.cluster();
    let granted_indices = role.indices();
    let mut all = true;
    let mut cluster = Map::new();
    for name in &check.cluster {
        let has = cluster_allows(granted_cluster, name);
        all &= has;
        cluster.insert(name.clone(), json!(has));
    }
    let mut index = Map::new();
    for (names, privileges) in &check.index {
        for name in names {
            let entry = index.entry(name.clone()).or_insert_with(|| json!({}));
            for privilege in privileges {
                let wanted = index_privilege(&privilege.to_lowercase()).unwrap_or(u32::MAX);
                let held = granted_indices
                    .iter()
                    .filter(|(pattern, _)| covers(pattern, name))
                    .flat_map(|(_, names)| names.iter())
                    .filter_map(|n| index_privilege(n))
                    .fold(0, |held, actions| held | actions);
                let has = wanted & held == wanted;
                all &= has;
                entry[privilege.as_str()] = json!(has);
            }
        }
    }
    let superuser = granted_cluster.contains(&"all");
    let mut application = Map::new();
    for (app, resources, privileges) in &check.application {
        let entry = application.entry(app.clone()).or_insert_with(|| json!({}));
        for resource in resources {
            let mut held = Map::new();
            for privilege in privileges {
                held.insert(privilege.clone(), json!(superuser));
                all &= superuser;
            }
            entry[resource.as_str()] = Value::Object(held);
        }
    }
    Ok(Reply::ok(json!({
        "username": username,
        "has_all_requested": all,
        "cluster": cluster,
        "index": index,
        "application": application,
    })))
}

/// What a request asks about.
struct PrivilegesCheck {
    cluster: Vec<String>,
    /// `(names, privileges)` of each `index` entry.
    index: Vec<(Vec<String>, Vec<String>)>,
    /// `(application, resources, privileges)` of each `application` entry.
    application: Vec<(String, Vec<String>, Vec<String>)>,
}

impl PrivilegesCheck {
    /// Parses and validates the body as Elasticsearch does.
    fn parse(username: &str, body: &Value) -> Result<PrivilegesCheck, EsError> {
        let what = format!("{username}/has_privileges");
        let parse_error = |reason: String| EsError::new(400, "parse_exception", reason);
        let object = body.as_object().ok_or_else(|| {
            parse_error(format!("failed to parse privileges check [{what}]. expected an object"))
        })?;
        let mut check = PrivilegesCheck { cluster: Vec::new(), index: Vec::new(), application: Vec::new() };
        for (field, value) in object {
            match field.as_str() {
                "cluster" => check.cluster = strings(value, &what, field)?,
                "index" => {
                    for entry in entries(value, &what, field)? {
                        let names = strings(entry.get("names").unwrap_or(&Value::Null), &what, "names")?;
                        let privileges =
                            strings(entry.get("privileges").unwrap_or(&Value::Null), &what, "privileges")?;
                        if let Some(unknown) = entry.as_object().and_then(|o| {
                            o.keys().find(|k| {
                                !["names", "privileges", "allow_restricted_indices"].contains(&k.as_str())
                            })
                        }) {
                            return Err(parse_error(format!(
                                "failed to parse indices privileges for role [{what}]. unexpected field [{unknown}]"
                            )));
                        }
                        for privilege in &privileges {
                            if privilege.contains(':') {
                                return Err(EsError::illegal_argument(format!(
                                    "es-sim does not model action names as index privileges: [{privilege}]"
                                )));
                            }
                            if index_privilege(&privilege.to_lowercase()).is_none() {
                                let known: Vec<String> =
                                    INDEX_PRIVILEGES.iter().map(|p| format!("{p}=[{p}]")).collect();
                                return Err(EsError::illegal_argument(format!(
                                    "unknown index privilege [{privilege}]. a privilege must be either one of the predefined fixed indices privileges [{}] or a pattern over one of the available index actions",
                                    known.join(",")
                                )));
                            }
                        }
                        check.index.push((names, privileges));
                    }
                }
                "application" => {
                    for entry in entries(value, &what, field)? {
                        let app = entry["application"].as_str().unwrap_or_default().to_string();
                        let resources = strings(&entry["resources"], &what, "resources")?;
                        let privileges = strings(&entry["privileges"], &what, "privileges")?;
                        check.application.push((app, resources, privileges));
                    }
                }
                other => {
                    return Err(parse_error(format!(
                        "failed to parse privileges check [{what}]. unexpected field [{other}]"
                    )))
                }
            }
        }
        for name in &check.cluster {
            if !CLUSTER_PRIVILEGES.contains(&name.as_str()) && !name.contains(':') {
                return Err(EsError::illegal_argument(format!(
                    "unknown cluster privilege [{name}]. a privilege must be either one of the predefined cluster privilege names [{}] or a pattern over one of the available cluster actions",
                    CLUSTER_PRIVILEGES.join(",")
                )));
            }
        }
        if !["cluster", "index", "application"].iter().any(|field| object.contains_key(*field)) {
            return Err(parse_error(format!(
                "failed to parse privileges check [{what}]. All privilege fields [cluster,index,applications] are missing"
            )));
        }
        Ok(check)
    }
}

/// A string or an array of strings.
fn strings(value: &Value, what: &str, field: &str) -> Result<Vec<String>, EsError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad(what, field)),
        _ => Err(bad(what, field)),
    }
}

/// An array of objects.
fn entries<'a>(value: &'a Value, what: &str, field: &str) -> Result<&'a Vec<Value>, EsError> {
    value.as_array().filter(|a| a.iter().all(Value::is_object)).ok_or_else(|| bad(what, field))
}

fn bad(what: &str, field: &str) -> EsError {
    EsError::new(
        400,
        "parse_exception",
        format!("failed to parse privileges check [{what}]. expected field [{field}] value to be an array of strings"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileges_imply_as_elasticsearch_defines_them() {
        let implies = |a: &str, b: &str| {
            let (a, b) = (index_privilege(a).unwrap(), index_privilege(b).unwrap());
            a & b == b
        };
        assert!(implies("write", "index") && implies("write", "delete") && implies("write", "create_doc"));
        assert!(implies("index", "create") && !implies("index", "delete"));
        assert!(implies("manage", "create_index") && implies("manage", "maintenance"));
        assert!(!implies("write", "auto_configure"), "write may update mappings, not create indices");
        assert!(!implies("manage", "view_index_metadata"), "view_index_metadata grants a transform action");
        assert!(!implies("manage", "write") && !implies("write", "manage") && !implies("read", "write"));
        for name in INDEX_PRIVILEGES {
            assert!(implies("all", name), "{name}");
        }
        assert!(covers("*", "search-x") && covers("search-*", "search-x") && !covers("search-x", "search-y"));
        assert!(
            cluster_allows(&["manage"], "manage_index_templates") && !cluster_allows(&["monitor"], "manage")
        );
    }
}
