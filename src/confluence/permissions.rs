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
use super::listing::{cql_quote, Listing};
use super::model::{read_restrictions, GroupRef, ReadRestrictions, UserRef};
use super::options::Flavour;
use super::paging::{items, Paging};

/// Someone a space's view permission is granted to.
#[derive(Debug, Clone, PartialEq)]
pub enum Viewer {
    /// A user (Cloud: account id; Data Center REST: user key only; Extender and JSON-RPC:
    /// username).
    User(UserRef),
    /// A group (Cloud: id; Server/DC: name).
    Group(GroupRef),
    /// Anyone, logged in or not.
    Anonymous,
    /// A grantee this connector cannot map to identities (a Cloud role or access class other
    /// than anonymous), by its type and id: it grants nobody here, and the caller says so.
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
    #[serde(default)]
    space_permissions: Vec<RpcPermission>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcPermission {
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    group_name: Option<String>,
}

fn user_named(username: String) -> Viewer {
    Viewer::User(UserRef { username: Some(username), ..UserRef::default() })
}

fn group_named(name: String) -> Viewer {
    Viewer::Group(GroupRef { name: Some(name), id: None })
}

impl ConfluenceClient {
    /// Cloud: the grantees of `read` on `space`, from v2 `spaces/{id}/permissions`.
    pub async fn space_viewers_cloud(&self, space_id: &str) -> Result<Vec<Viewer>, ConfluenceError> {
        let url =
            self.url(&["api", "v2", "spaces", space_id, "permissions"], &[("limit", "250".to_string())]);
        let entries: Vec<V2Permission> =
            items(self, url, "GET /api/v2/spaces/{id}/permissions", Paging::Cursor, |v| {
                serde_json::from_value::<V2Permission>(v).map(Some)
            })
            .try_collect()
            .await?;
        Ok(entries
            .into_iter()
            .filter(|e| e.operation.as_ref().is_some_and(|o| o.key == "read" && o.target_type == "space"))
            .filter_map(|e| e.principal)
            .map(|p| match (p.kind.as_str(), p.id) {
                ("user", Some(id)) => Viewer::User(UserRef { account_id: Some(id), ..UserRef::default() }),
                ("group", Some(id)) => Viewer::Group(GroupRef { name: None, id: Some(id) }),
                (kind, Some(id))
                    if ["role", "access_class"].iter().any(|k| kind.eq_ignore_ascii_case(k))
                        && ["anonymous", "anonymous-users"].iter().any(|a| id.eq_ignore_ascii_case(a)) =>
                {
                    Viewer::Anonymous
                }
                (kind, id) => Viewer::Unsupported(format!("{kind} {}", id.unwrap_or_default())),
            })
            .collect())
    }

    /// Data Center 9.1+: the grantees of `read` on `space` from the REST API (users by user
    /// key only), anonymous access included. Administrators only: others get a 500.
    pub async fn space_viewers_rest(&self, space_key: &str) -> Result<Vec<Viewer>, ConfluenceError> {
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
    pub async fn space_viewers_extender(&self, space_key: &str) -> Result<Vec<Viewer>, ConfluenceError> {
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
    pub async fn space_viewers_json_rpc(&self, space_key: &str) -> Result<Vec<Viewer>, ConfluenceError> {
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
            .map(|p| match (p.user_name, p.group_name) {
                (Some(user), _) if !user.is_empty() => user_named(user),
                (_, Some(group)) if !group.is_empty() => group_named(group),
                _ => Viewer::Anonymous,
            })
            .collect())
    }

    /// The read restrictions set on each page and blog post of a space, from one CQL
    /// listing: a request per 200 contents instead of one per content (Cloud's v2 listings
    /// carry no restrictions). Only the contents' own restrictions: the `ancestors`
    /// expansion of restrictions fails whole Cloud batches (CONFCLOUD-77618). The search
    /// index may lag behind new pages; callers fetch what this does not list.
    pub fn space_restrictions(&self, space_key: &str) -> Listing<(String, ReadRestrictions)> {
        let cql = format!("space={} and type in (page, blogpost)", cql_quote(space_key));
        let url = self.url(
            &["rest", "api", "content", "search"],
            &[
                ("cql", cql),
                ("limit", "200".to_string()),
                (
                    "expand",
                    "restrictions.read.restrictions.user,restrictions.read.restrictions.group".to_string(),
                ),
            ],
        );
        let paging = if self.flavour() == Flavour::Cloud { Paging::Cursor } else { Paging::Offset };
        Box::pin(items(self, url, "GET /rest/api/content/search", paging, |v| {
            serde_json::from_value::<v1::Content>(v).map(|c| {
                let read = c.restrictions.and_then(|r| r.read)?;
                Some((c.id, read_restrictions(&read)))
            })
        }))
    }

    /// Server/DC: the user with this user key (the Data Center REST permissions name users
    /// by key only); `None` when there is none.
    pub async fn user_by_key(&self, user_key: &str) -> Result<Option<UserRef>, ConfluenceError> {
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
                    {"principal": {"type": "role", "id": "all-product-admins"}, "operation": {"key": "read", "targetType": "space"}}
                ], "_links": {}}),
                &[],
            )
        })
        .await;
        let client = test_client(&server.origin, Flavour::Cloud).await;
        let viewers = client.space_viewers_cloud("7").await.unwrap();
        assert_eq!(viewers.len(), 4);
        assert!(matches!(&viewers[0], Viewer::User(u) if u.account_id.as_deref() == Some("acc-1")));
        assert!(matches!(&viewers[1], Viewer::Group(g) if g.id.as_deref() == Some("g-1")));
        assert_eq!(viewers[2], Viewer::Anonymous);
        assert_eq!(viewers[3], Viewer::Unsupported("role all-product-admins".into()));
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
