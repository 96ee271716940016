//! Who may view a space, through each API that can say so.
//!
//! Confluence has no single answer: Cloud lists a space's permissions in v2
//! (`api/v2/spaces/{id}/permissions`); Data Center 9.1+ has a REST API for administrators
//! (`rest/api/space/{key}/permissions`, a 500 for anyone else — CONFSERVER-99908); older
//! Server and Data Center only through the Extender plugin
//! (`rest/extender/1.0/permission/space/{key}/getSpacePermissionActors/VIEWSPACE`) or the
//! remote API (`POST rpc/json-rpc/confluenceservice-v2`, `getSpacePermissionSets`). Each
//! method here asks one of them for the grantees of *view* (`read` on `space`, `VIEWSPACE`)
//! and returns them as [`Viewer`]s; which one to use, and what to do when none answers, is
//! the caller's decision ([`crate::acl`]).

use serde::Deserialize;
use serde_json::{json, Value};

use futures::TryStreamExt;

use super::api::v1;
use super::client::ConfluenceClient;
use super::error::{display_url, ConfluenceError};
use super::model::{GroupRef, UserRef};
use super::paging::{decode, items, Paging};

/// Someone a space's view permission is granted to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Viewer {
    /// A user (Cloud: account id; Data Center REST: user key only; Extender and JSON-RPC:
    /// username).
    User(UserRef),
    /// A group (Cloud: id; Server/DC: name).
    Group(GroupRef),
    /// Anyone, logged in or not.
    Anonymous,
    /// A Cloud access class other than anonymous access (`authenticated-users`,
    /// `all-licensed-users`, `all-product-admins`, …), by its id in lower case: whether it
    /// can be mapped to people is `acl::access_class`'s decision.
    AccessClass(String),
    /// A grantee this connector cannot map to identities (a Cloud role, an entry of a shape
    /// it does not know), described: it grants nobody here, and the caller says so.
    Unsupported(String),
}

/// One entry of Cloud v2 `spaces/{id}/permissions`.
#[derive(Debug, Deserialize)]
struct V2Permission {
    #[serde(default)]
    principal: Option<V2Principal>,
    #[serde(default)]
    operation: Option<V2Operation>,
}

#[derive(Debug, Deserialize)]
struct V2Principal {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default, deserialize_with = "super::api::opt_id_string")]
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct V2Operation {
    #[serde(default)]
    key: String,
    #[serde(default)]
    target_type: String,
}

/// One entry of Data Center's `rest/api/space/{key}/permissions` (and `/anonymous`).
#[derive(Debug, Deserialize)]
struct DcPermission {
    #[serde(default)]
    operation: Option<DcOperation>,
    #[serde(default)]
    subject: Option<DcSubject>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DcOperation {
    #[serde(default)]
    target_type: String,
    #[serde(default)]
    operation_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DcSubject {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    user_key: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl DcOperation {
    fn is_view(&self) -> bool {
        self.operation_key == "read" && self.target_type == "space"
    }
}

/// Extender's `getSpacePermissionActors` answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ExtenderActors {
    permissions: std::collections::HashMap<String, ExtenderPermission>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ExtenderPermission {
    anonymous_access: bool,
    groups: Vec<String>,
    users: Vec<String>,
}

/// A JSON-RPC answer: a result or an error, both with status 200.
#[derive(Debug, Deserialize)]
struct RpcAnswer {
    #[serde(default)]
    result: Option<Vec<RpcPermissionSet>>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcPermissionSet {
    #[serde(rename = "type", default)]
    kind: String,
    /// Kept raw: anonymous access is told from a malformed entry by which keys are there.
    #[serde(default)]
    space_permissions: Vec<Value>,
}

/// One `spacePermissions` entry of `getSpacePermissionSets`. The remote API writes both
/// keys every time: `userName` for a user, `groupName` for a group, and both `null` for
/// anonymous access. Anything else — a key missing, a wrong type, an empty name, both
/// names — is not a shape it sends, so it grants nobody rather than everybody.
fn rpc_viewer(entry: &Value) -> Viewer {
    let name = |key: &str| match entry.get(key) {
        Some(Value::String(name)) if !name.is_empty() => Some(Some(name.clone())),
        Some(Value::Null) => Some(None),
        _ => None,
    };
    match (name("userName"), name("groupName")) {
        (Some(Some(user)), Some(None)) => user_named(user),
        (Some(None), Some(Some(group))) => group_named(group),
        (Some(None), Some(None)) => Viewer::Anonymous,
        _ => Viewer::Unsupported(format!("the remote API entry {entry}")),
    }
}

/// A v2 principal. Users and groups by id; anonymous access as the role or access class
/// `anonymous` / `anonymous-users`; the other access classes of RBAC sites
/// (`authenticated-users`, `all-licensed-users`, `all-product-admins`,
/// `jsm-project-admins`) as [`Viewer::AccessClass`], whichever of `role` or
/// `access_class` (any case) the principal's type says; anything else is unsupported.
fn cloud_viewer(kind: &str, id: Option<String>) -> Viewer {
    let class_like = ["role", "access_class"].iter().any(|k| kind.eq_ignore_ascii_case(k));
    match (kind, id) {
        ("user", Some(id)) if !id.is_empty() => {
            Viewer::User(UserRef { account_id: Some(id), ..UserRef::default() })
        }
        ("group", Some(id)) if !id.is_empty() => Viewer::Group(GroupRef { name: None, id: Some(id) }),
        (_, Some(id))
            if class_like && ["anonymous", "anonymous-users"].iter().any(|a| id.eq_ignore_ascii_case(a)) =>
        {
            Viewer::Anonymous
        }
        (_, Some(id)) if class_like && !id.is_empty() => Viewer::AccessClass(id.to_ascii_lowercase()),
        (kind, id) => Viewer::Unsupported(format!("{kind} {}", id.unwrap_or_default())),
    }
}

fn user_named(username: String) -> Viewer {
    Viewer::User(UserRef { username: Some(username), ..UserRef::default() })
}

fn group_named(name: String) -> Viewer {
    Viewer::Group(GroupRef { name: Some(name), id: None })
}

impl ConfluenceClient {
    /// Cloud: the grantees of `read` on `space`, from v2 `spaces/{id}/permissions`.
    pub(crate) async fn space_viewers_cloud(&self, space_id: &str) -> Result<Vec<Viewer>, ConfluenceError> {
        let url =
            self.url(&["api", "v2", "spaces", space_id, "permissions"], &[("limit", "250".to_string())]);
        let entries: Vec<V2Permission> =
            items(self, url, "GET /api/v2/spaces/{id}/permissions", Paging::Cursor, |v| {
                decode::<V2Permission>(v).map(Some)
            })
            .try_collect()
            .await?;
        Ok(entries
            .into_iter()
            .filter(|e| e.operation.as_ref().is_some_and(|o| o.key == "read" && o.target_type == "space"))
            .filter_map(|e| e.principal)
            .map(|p| cloud_viewer(&p.kind, p.id))
            .collect())
    }

    /// Data Center 9.1+: the grantees of `read` on `space` from the REST API (users by user
    /// key only), anonymous access included. Administrators only: others get a 500.
    pub(crate) async fn space_viewers_rest(&self, space_key: &str) -> Result<Vec<Viewer>, ConfluenceError> {
        let url = self.url(&["rest", "api", "space", space_key, "permissions"], &[]);
        let granted =
            self.get_json::<Vec<DcPermission>>(url, "GET /rest/api/space/{key}/permissions").await?.body;
        let url = self.url(&["rest", "api", "space", space_key, "permissions", "anonymous"], &[]);
        let anonymous = self
            .get_json::<Vec<DcPermission>>(url, "GET /rest/api/space/{key}/permissions/anonymous")
            .await?
            .body;
        let mut viewers: Vec<Viewer> = granted
            .into_iter()
            .filter(|p| p.operation.as_ref().is_some_and(DcOperation::is_view))
            .filter_map(|p| p.subject)
            .map(|s| match (s.kind.as_str(), s.user_key, s.name) {
                ("user", Some(key), _) => Viewer::User(UserRef { user_key: Some(key), ..UserRef::default() }),
                ("group", _, Some(name)) => group_named(name),
                (kind, key, name) => {
                    Viewer::Unsupported(format!("{kind} {}", key.or(name).unwrap_or_default()))
                }
            })
            .collect();
        if anonymous.iter().any(|p| p.operation.as_ref().is_some_and(DcOperation::is_view)) {
            viewers.push(Viewer::Anonymous);
        }
        Ok(viewers)
    }

    /// Server/DC with the Extender plugin: the `VIEWSPACE` actors (a 404 without the plugin).
    pub(crate) async fn space_viewers_extender(
        &self,
        space_key: &str,
    ) -> Result<Vec<Viewer>, ConfluenceError> {
        let url = self.url(
            &[
                "rest",
                "extender",
                "1.0",
                "permission",
                "space",
                space_key,
                "getSpacePermissionActors",
                "VIEWSPACE",
            ],
            &[],
        );
        let actors = self
            .get_json::<ExtenderActors>(
                url,
                "GET /rest/extender/1.0/permission/space/{key}/getSpacePermissionActors/{permission}",
            )
            .await?
            .body;
        let mut viewers = Vec::new();
        if let Some(view) =
            actors.permissions.into_iter().find(|(name, _)| name == "VIEWSPACE").map(|(_, p)| p)
        {
            viewers.extend(view.users.into_iter().map(user_named));
            viewers.extend(view.groups.into_iter().map(group_named));
            if view.anonymous_access {
                viewers.push(Viewer::Anonymous);
            }
        }
        Ok(viewers)
    }

    /// Server/DC remote API: `getSpacePermissionSets(spaceKey)`'s `VIEWSPACE` set. Needs an
    /// administrator and the remote API enabled; its errors come inside a 200 and are
    /// returned as [`ConfluenceError::Decode`] with Confluence's message.
    pub(crate) async fn space_viewers_json_rpc(
        &self,
        space_key: &str,
    ) -> Result<Vec<Viewer>, ConfluenceError> {
        let url = self.url(&["rpc", "json-rpc", "confluenceservice-v2"], &[]);
        let request =
            json!({"jsonrpc": "2.0", "method": "getSpacePermissionSets", "params": [space_key], "id": 1});
        let answer = self
            .post_json::<RpcAnswer>(url.clone(), "POST /rpc/json-rpc/confluenceservice-v2", &request)
            .await?
            .body;
        let sets = match (answer.result, answer.error) {
            (Some(sets), _) => sets,
            (None, error) => {
                let message = error
                    .as_ref()
                    .and_then(|e| e.get("message"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        error.map(|e| e.to_string()).unwrap_or_else(|| "no result".to_string())
                    });
                return Err(ConfluenceError::Decode {
                    url: display_url(&url),
                    detail: format!("getSpacePermissionSets failed: {message}"),
                });
            }
        };
        Ok(sets
            .into_iter()
            .filter(|set| set.kind == "VIEWSPACE")
            .flat_map(|set| set.space_permissions)
            .map(|entry| rpc_viewer(&entry))
            .collect())
    }

    /// Server/DC: the user with this user key (the Data Center REST permissions name users
    /// by key only); `None` when there is none.
    pub(crate) async fn user_by_key(&self, user_key: &str) -> Result<Option<UserRef>, ConfluenceError> {
        let url = self.url(&["rest", "api", "user"], &[("key", user_key.to_string())]);
        match self.get_json::<v1::User>(url, "GET /rest/api/user").await {
            Ok(fetched) => Ok(Some(UserRef::from(&fetched.body))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::client::tests::test_client;
    use crate::confluence::options::Flavour;
    use crate::confluence::test_server::{json as reply, serve};
    use serde_json::json as j;

    #[tokio::test]
    async fn cloud_viewers_keep_read_on_space_and_name_roles() {
        let (server, _log) = serve(|_, _| {
            reply(
                200,
                j!({"results": [
                    {"principal": {"type": "user", "id": "acc-1"}, "operation": {"key": "read", "targetType": "space"}},
                    {"principal": {"type": "group", "id": "g-1"}, "operation": {"key": "read", "targetType": "space"}},
                    {"principal": {"type": "group", "id": "g-2"}, "operation": {"key": "create", "targetType": "page"}},
                    {"principal": {"type": "role", "id": "anonymous"}, "operation": {"key": "read", "targetType": "space"}},
                    {"principal": {"type": "role", "id": "all-product-admins"}, "operation": {"key": "read", "targetType": "space"}},
                    {"principal": {"type": "ACCESS_CLASS", "id": "All-Licensed-Users"}, "operation": {"key": "read", "targetType": "space"}},
                    {"principal": {"type": "access_class", "id": "anonymous-users"}, "operation": {"key": "read", "targetType": "space"}},
                    {"principal": {"type": "access_class"}, "operation": {"key": "read", "targetType": "space"}},
                    {"principal": {"type": "user", "id": ""}, "operation": {"key": "read", "targetType": "space"}},
                    {"principal": {"type": "team", "id": "t-1"}, "operation": {"key": "read", "targetType": "space"}}
                ], "_links": {}}),
                &[],
            )
        })
        .await;
        let client = test_client(&server.origin, Flavour::Cloud).await;
        let viewers = client.space_viewers_cloud("7").await.unwrap();
        assert_eq!(viewers.len(), 9);
        assert!(matches!(&viewers[0], Viewer::User(u) if u.account_id.as_deref() == Some("acc-1")));
        assert!(matches!(&viewers[1], Viewer::Group(g) if g.id.as_deref() == Some("g-1")));
        assert_eq!(viewers[2], Viewer::Anonymous);
        assert_eq!(viewers[3], Viewer::AccessClass("all-product-admins".into()));
        assert_eq!(viewers[4], Viewer::AccessClass("all-licensed-users".into()));
        assert_eq!(viewers[5], Viewer::Anonymous);
        assert_eq!(viewers[6], Viewer::Unsupported("access_class ".into()));
        assert_eq!(viewers[7], Viewer::Unsupported("user ".into()));
        assert_eq!(viewers[8], Viewer::Unsupported("team t-1".into()));
    }

    #[tokio::test]
    async fn json_rpc_anonymous_access_needs_both_names_present_and_null() {
        let (server, _log) = serve(|_, _| {
            let entry = |user: serde_json::Value, group: serde_json::Value| {
                let mut e = j!({"type": "VIEWSPACE"});
                e["userName"] = user;
                e["groupName"] = group;
                e
            };
            reply(
                200,
                j!({"jsonrpc": "2.0", "id": 1, "result": [
                    {"type": "VIEWSPACE", "spacePermissions": [
                        entry(j!("ann"), j!(null)),
                        entry(j!(null), j!("dev")),
                        entry(j!(null), j!(null)),
                        {"type": "VIEWSPACE"},
                        {"type": "VIEWSPACE", "userName": null},
                        {"type": "VIEWSPACE", "groupName": null},
                        entry(j!(""), j!(null)),
                        entry(j!(7), j!(null)),
                        entry(j!("ann"), j!("dev")),
                        "VIEWSPACE"
                    ]},
                    {"type": "EDITSPACE", "spacePermissions": [entry(j!(null), j!(null))]}
                ]}),
                &[],
            )
        })
        .await;
        let client = test_client(&server.origin, Flavour::Server).await;
        let viewers = client.space_viewers_json_rpc("ENG").await.unwrap();
        assert_eq!(viewers.len(), 10, "{viewers:?}");
        assert!(matches!(&viewers[0], Viewer::User(u) if u.username.as_deref() == Some("ann")));
        assert!(matches!(&viewers[1], Viewer::Group(g) if g.name.as_deref() == Some("dev")));
        assert_eq!(viewers[2], Viewer::Anonymous);
        assert_eq!(viewers.iter().filter(|v| **v == Viewer::Anonymous).count(), 1, "{viewers:?}");
        assert!(viewers[3..].iter().all(|v| matches!(v, Viewer::Unsupported(_))), "{viewers:?}");
    }

    #[tokio::test]
    async fn json_rpc_errors_inside_a_200_are_errors() {
        let (server, log) = serve(|seen, _| {
            assert!(seen.target.ends_with("/rpc/json-rpc/confluenceservice-v2"));
            reply(
                200,
                j!({"jsonrpc": "2.0", "error": {"code": 500, "message": "Not permitted"}, "id": 1}),
                &[],
            )
        })
        .await;
        let client = test_client(&server.origin, Flavour::Server).await;
        let error = client.space_viewers_json_rpc("ENG").await.unwrap_err();
        assert!(error.to_string().contains("Not permitted"), "{error}");
        assert_eq!(log.lock().unwrap().len(), 1);
    }
}
