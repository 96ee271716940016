//! Who the users and groups of a site are: the listings an access-control sync needs, and
//! the group members document-level security resolves restrictions with.
//!
//! Everything comes from Confluence itself — Cloud's user search (`search/user` with
//! `type=user`), groups and members by group id; Server/DC's user list and members by group
//! name — never from Jira's API (Elastic's connector needs Jira on the site for Cloud) and
//! with no cap on the number of users (Elastic's stops at 1,000 on Server/DC).

use serde::Deserialize;

use super::api::v1;
use super::client::ConfluenceClient;
use super::listing::Listing;
use super::model::{GroupRef, UserRef};
use super::options::Flavour;
use super::paging::{decode, items, Paging};

/// Page size of user, group and member listings.
const LIMIT: u32 = 200;

/// A user account as a user listing or a group's member listing gives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Account {
    /// Who it is.
    pub(crate) user: UserRef,
    /// Cloud `accountType`: `atlassian` (a person), `app` (a bot), or absent.
    pub(crate) account_type: Option<String>,
    /// Whether the account may log in, when the API says (Data Center's user list with
    /// `expand=status`); `None` when it does not (Cloud has no such flag, CONFCLOUD-83983).
    pub(crate) active: Option<bool>,
    /// Cloud `isExternalCollaborator`: a guest, without a licence; `None` when not said.
    pub(crate) external_collaborator: Option<bool>,
}

/// A v1 user with the fields only these listings read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListedUser {
    #[serde(flatten)]
    user: v1::User,
    #[serde(default)]
    account_type: Option<String>,
    /// `current` or `deactivated` (`expand=status`), or an object on some versions.
    #[serde(default)]
    status: Option<serde_json::Value>,
    /// Cloud: a guest.
    #[serde(default)]
    is_external_collaborator: Option<bool>,
    /// The same, under its deprecated name (Cloud sends both).
    #[serde(default)]
    external_collaborator: Option<bool>,
}

impl ListedUser {
    fn into_account(self) -> Account {
        let status = self.status.as_ref().and_then(|s| s.as_str().or_else(|| s.get("value")?.as_str()));
        Account {
            user: UserRef::from(&self.user),
            account_type: self.account_type.filter(|t| !t.is_empty()),
            active: status.map(|s| s == "current"),
            external_collaborator: match (self.is_external_collaborator, self.external_collaborator) {
                (None, None) => None,
                (a, b) => Some(a == Some(true) || b == Some(true)),
            },
        }
    }
}

/// A Cloud user search hit (`{"user": {...}, "entityType": "user", ...}`).
#[derive(Debug, Deserialize)]
struct UserHit {
    #[serde(default)]
    user: Option<ListedUser>,
}

impl ConfluenceClient {
    /// Cloud: the site's users from Confluence's user search (`cql=type=user`). Atlassian
    /// stops this search at 10,000 results (CONFCLOUD-77954): past that the listing ends
    /// with a 400, and group members are the only way to see further.
    pub(crate) fn cloud_users(&self) -> Listing<Account> {
        let url = self.url(
            &["rest", "api", "search", "user"],
            &[("cql", "type=user".to_string()), ("limit", LIMIT.to_string())],
        );
        Box::pin(items(self, url, "GET /rest/api/search/user", Paging::Offset, |v| {
            decode::<UserHit>(v).map(|hit| hit.user.map(ListedUser::into_account))
        }))
    }

    /// Server/DC 8.4+: every user, with whether the account is active (`expand=status`).
    /// A 404 means this server has no user list.
    pub(crate) fn user_list(&self) -> Listing<Account> {
        let url = self.url(
            &["rest", "api", "user", "list"],
            &[("limit", LIMIT.to_string()), ("expand", "status".to_string())],
        );
        Box::pin(items(self, url, "GET /rest/api/user/list", Paging::Offset, |v| {
            decode::<ListedUser>(v).map(|u| Some(u.into_account()))
        }))
    }

    /// Every group (Cloud with its id).
    pub(crate) fn groups(&self) -> Listing<GroupRef> {
        let url = self.url(&["rest", "api", "group"], &[("limit", LIMIT.to_string())]);
        Box::pin(items(self, url, "GET /rest/api/group", Paging::Offset, |v| {
            decode::<v1::Group>(v).map(|g| Some(GroupRef { name: g.name, id: g.id }))
        }))
    }

    /// The members of a group: Cloud by group id, Server/DC by name (percent-encoded, so a
    /// name with a `/` stays one path segment).
    pub(crate) fn group_members(&self, group: &GroupRef) -> Listing<Account> {
        let (url, route) = match self.flavour() {
            Flavour::Cloud => (
                self.url(
                    &["rest", "api", "group", group.id.as_deref().unwrap_or_default(), "membersByGroupId"],
                    &[("limit", LIMIT.to_string())],
                ),
                "GET /rest/api/group/{groupId}/membersByGroupId",
            ),
            Flavour::Server | Flavour::DataCenter => (
                self.url(
                    &["rest", "api", "group", group.name.as_deref().unwrap_or_default(), "member"],
                    &[("limit", LIMIT.to_string())],
                ),
                "GET /rest/api/group/{name}/member",
            ),
        };
        Box::pin(items(self, url, route, Paging::Offset, |v| {
            decode::<ListedUser>(v).map(|u| Some(u.into_account()))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::client::tests::test_client;
    use crate::confluence::test_server::{json as reply, param, serve};
    use futures::TryStreamExt;
    use serde_json::json as j;

    #[tokio::test]
    async fn the_user_list_pages_past_a_thousand_users_and_reads_the_status() {
        // 2,345 users, 200 a page: Elastic's connector would stop at 1,000.
        let (server, _log) = serve(|seen, _| {
            let start: usize = param(&seen.target, "start").unwrap().parse().unwrap();
            let results: Vec<_> = (start..2_345.min(start + 200))
                .map(|i| {
                    j!({"type": "known", "username": format!("u{i}"), "userKey": format!("k{i}"),
                        "displayName": format!("User {i}"), "status": if i % 10 == 0 { "deactivated" } else { "current" }})
                })
                .collect();
            let next = (start + 200 < 2_345).then(|| format!("/rest/api/user/list?limit=200&start={}", start + 200));
            reply(200, j!({"results": results, "size": results.len(), "_links": {"next": next}}), &[])
        })
        .await;
        let client = test_client(&server.origin, Flavour::DataCenter).await;
        let users: Vec<Account> = client.user_list().try_collect().await.unwrap();
        assert_eq!(users.len(), 2_345);
        assert_eq!(users[0].active, Some(false));
        assert_eq!(users[1].active, Some(true));
        assert_eq!(users[1].user.username.as_deref(), Some("u1"));
    }

    #[tokio::test]
    async fn group_members_name_the_group_by_id_on_cloud_and_by_name_elsewhere() {
        let (server, log) = serve(|_, _| {
            reply(
                200,
                j!({"results": [{"type": "known", "accountId": "a1", "accountType": "app"}], "_links": {}}),
                &[],
            )
        })
        .await;
        let group = GroupRef { name: Some("team/x".into()), id: Some("g-1".into()) };
        let cloud = test_client(&server.origin, Flavour::Cloud).await;
        let members: Vec<Account> = cloud.group_members(&group).try_collect().await.unwrap();
        assert_eq!(members[0].account_type.as_deref(), Some("app"));
        let dc = test_client(&server.origin, Flavour::DataCenter).await;
        let _: Vec<Account> = dc.group_members(&group).try_collect().await.unwrap();
        let targets: Vec<String> = log.lock().unwrap().iter().map(|s| s.target.clone()).collect();
        assert!(targets[0].starts_with("/wiki/rest/api/group/g-1/membersByGroupId?"), "{targets:?}");
        assert!(targets[1].starts_with("/rest/api/group/team%2Fx/member?"), "{targets:?}");
    }
}
