//! The rights a sync needs on its indices, asked of Elasticsearch before it starts
//! (`check`): `POST /_security/user/_has_privileges` with the index privileges of what the
//! sync does, so that a key that may read but not write is named before a sync downloads
//! anything.
//!
//! What a sync does, and the privilege each needs (Elasticsearch's `IndexPrivilege`): on the
//! content index it reads what is indexed (`read`), indexes and deletes documents (`write`),
//! reads its mappings (`view_index_metadata`), keeps its state in the mapping's `_meta` and
//! refreshes it (`manage`: an explicit mapping update is no part of `write`), and creates it
//! when missing (`create_index`); on the lease index and, with document-level security, the
//! identity index it reads, writes and looks for the index (and creates it when missing).
//! With security off the endpoint does not exist (or says security is not enabled): every
//! client may do everything, and that is the answer.

use std::collections::BTreeMap;

use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::Method;
use serde_json::{json, Value};

use super::client::EsClient;
use super::error::ElasticError;
use super::request::{send_json, Answer};

/// One index privilege a sync needs, and what for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Needed {
    /// The index.
    pub(crate) index: String,
    /// The privilege's name, as Elasticsearch's roles spell it.
    pub(crate) privilege: &'static str,
    /// What the sync does with it, for the message.
    pub(crate) why: &'static str,
}

/// The indices a sync writes, and which of them do not exist yet.
#[derive(Debug, Clone)]
pub(crate) struct SyncIndices {
    /// The content index, and whether the sync creates it (missing, not `use_existing_index`).
    pub(crate) content: (String, bool),
    /// The lease index, and whether it is missing.
    pub(crate) lease: (String, bool),
    /// The identity index of document-level security, when that is on, and whether it is
    /// missing.
    pub(crate) identity: Option<(String, bool)>,
}

/// The index privileges a sync of `indices` needs.
pub(crate) fn needed(indices: &SyncIndices) -> Vec<Needed> {
    let need = |index: &str, privilege, why| Needed { index: index.to_string(), privilege, why };
    let (content, create_content) = &indices.content;
    let mut needed = vec![
        need(content, "read", "read which documents are indexed"),
        need(content, "write", "index and delete documents"),
        need(content, "view_index_metadata", "read its mappings and the sync state"),
        need(content, "manage", "keep the sync state in its mapping's _meta, and refresh it"),
    ];
    if *create_content {
        needed.push(need(content, "create_index", "create it: it does not exist yet"));
    }
    let mut small = |(index, missing): &(String, bool), what: &'static str| {
        needed.push(need(index, "read", what));
        needed.push(need(index, "write", what));
        needed.push(need(index, "view_index_metadata", what));
        if *missing {
            needed.push(need(index, "create_index", "create it: it does not exist yet"));
        }
    };
    small(&indices.lease, "hold the lease that keeps syncs of an index apart");
    if let Some(identity) = &indices.identity {
        small(identity, "write the identity documents of document-level security");
    }
    needed
}

/// What the cluster said about the rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rights {
    /// Security is not enabled: every client may do everything.
    SecurityOff,
    /// `username` (the user, or the API key's owner) holds every needed privilege.
    Held {
        /// Who the credentials are.
        username: String,
    },
    /// `username` lacks `missing`.
    Missing {
        /// Who the credentials are.
        username: String,
        /// The privileges not held.
        missing: Vec<Needed>,
    },
}

/// Asks the cluster, once, whether the credentials of `es` hold `needed`.
pub(crate) async fn check(es: &EsClient, needed: &[Needed]) -> Result<Rights, ElasticError> {
    let (es, body) = (es.without_retries(), request(needed));
    let path = "/_security/user/_has_privileges";
    match send_json(&es, Method::Post, path, Some(&body), HeaderMap::new()).await {
        Ok(Answer::Ok(body)) => Ok(read(&body, needed)),
        Ok(Answer::NotFound) => Ok(Rights::SecurityOff),
        Err(e @ ElasticError::Status { .. }) if says_security_is_off(&e) => Ok(Rights::SecurityOff),
        Err(e) => Err(e),
    }
}

/// The `_has_privileges` body: one entry per index with the privileges asked on it.
fn request(needed: &[Needed]) -> Value {
    let mut by_index: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for n in needed {
        let privileges = by_index.entry(n.index.as_str()).or_default();
        if !privileges.contains(&n.privilege) {
            privileges.push(n.privilege);
        }
    }
    let index: Vec<Value> = by_index
        .into_iter()
        .map(|(name, privileges)| json!({"names": [name], "privileges": privileges}))
        .collect();
    json!({ "index": index })
}

/// The needed privileges the answer does not grant (one missing from the answer counts as
/// not granted).
fn read(body: &Value, needed: &[Needed]) -> Rights {
    let username = body["username"].as_str().unwrap_or("(unknown)").to_string();
    let missing: Vec<Needed> = needed
        .iter()
        .filter(|n| body["index"][n.index.as_str()][n.privilege].as_bool() != Some(true))
        .cloned()
        .collect();
    if missing.is_empty() {
        Rights::Held { username }
    } else {
        Rights::Missing { username, missing }
    }
}

/// Whether an error answer means that security is not enabled: a node without it has no
/// such endpoint (`no handler found`, 400), and older or basic-licensed ones say so.
fn says_security_is_off(e: &ElasticError) -> bool {
    let text = e.to_string().to_lowercase();
    [
        "no handler found",
        "security must be explicitly enabled",
        "security is not enabled",
        "security is disabled",
    ]
    .iter()
    .any(|words| text.contains(words))
}

/// One line per index with missing privileges: which, what for, and how to grant them;
/// `who` names the credentials (`the API key (of user [elastic])`, `user [connector]`).
pub(crate) fn describe(who: &str, missing: &[Needed]) -> Vec<String> {
    let mut by_index: BTreeMap<&str, Vec<&Needed>> = BTreeMap::new();
    for n in missing {
        by_index.entry(n.index.as_str()).or_default().push(n);
    }
    by_index
        .into_iter()
        .map(|(index, missing)| {
            let list: Vec<String> = missing.iter().map(|n| format!("{} ({})", n.privilege, n.why)).collect();
            format!(
                "{who} lacks index privileges a sync needs on [{index}]: {}; grant them to its role \
                 (`all` on [{index}] covers every one)",
                list.join(", ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indices(create: bool) -> SyncIndices {
        SyncIndices {
            content: ("search-wiki".into(), create),
            lease: (".confluence-connector-leases".into(), false),
            identity: None,
        }
    }

    #[test]
    fn the_request_asks_each_index_for_what_the_sync_does_there() {
        let body = request(&needed(&indices(true)));
        assert_eq!(
            body,
            json!({"index": [
                {"names": [".confluence-connector-leases"], "privileges": ["read", "write", "view_index_metadata"]},
                {"names": ["search-wiki"], "privileges": ["read", "write", "view_index_metadata", "manage", "create_index"]},
            ]})
        );
        assert!(!needed(&indices(false)).iter().any(|n| n.privilege == "create_index"));
    }

    #[test]
    fn an_answer_without_write_names_it_on_its_index() {
        let needed = needed(&indices(false));
        let answer = json!({
            "username": "elastic", "has_all_requested": false, "cluster": {},
            "index": {
                "search-wiki": {"read": true, "write": false, "view_index_metadata": true, "manage": true},
                ".confluence-connector-leases": {"read": true, "write": true, "view_index_metadata": true}
            },
            "application": {}
        });
        let Rights::Missing { username, missing } = read(&answer, &needed) else { panic!("nothing missing") };
        let lines = describe(&format!("user [{username}]"), &missing);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("user [elastic]")
                && lines[0].contains("on [search-wiki]: write (index and delete documents)"),
            "{}",
            lines[0]
        );
        let all = json!({"username": "u", "index": {
            "search-wiki": {"read": true, "write": true, "view_index_metadata": true, "manage": true},
            ".confluence-connector-leases": {"read": true, "write": true, "view_index_metadata": true}
        }});
        assert_eq!(read(&all, &needed), Rights::Held { username: "u".into() });
    }

    #[test]
    fn a_node_without_security_is_recognised() {
        let no_handler = ElasticError::Status {
            method: "POST".into(),
            url: "/_security/user/_has_privileges".into(),
            status: 400,
            error_type: None,
            reason: "\"no handler found for uri [/_security/user/_has_privileges] and method [POST]\"".into(),
        };
        assert!(says_security_is_off(&no_handler));
        let denied = ElasticError::Status {
            method: "POST".into(),
            url: "/_security/user/_has_privileges".into(),
            status: 401,
            error_type: Some("security_exception".into()),
            reason: "unable to authenticate".into(),
        };
        assert!(!says_security_is_off(&denied));
    }
}
