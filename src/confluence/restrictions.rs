//! Read restrictions, as document-level security must have them: whole or known to be
//! partial, never a part taken for the whole.
//!
//! `restriction/byOperation/read` pages its user and group lists together (`start`,
//! `limit`, both lists sliced alike). Cloud pages them correctly; Data Center answers a
//! wrong slice for `start > 0` (CONFSERVER-82460), so there one larger request is the only
//! safe second try, and a list longer than that stays incomplete — which the caller turns
//! into "visible to nobody". The same goes for the restrictions a listing expanded: a list
//! left out, or cut at a page, is incomplete, not empty.
//!
//! [`ConfluenceClient::content_presence`] tells a content that is gone (deleted, in the
//! trash) from one that exists but whose restrictions could not be read — a 404 on the
//! restrictions of a Cloud folder, whiteboard or database means the latter.

use std::collections::HashSet;

use serde::Deserialize;

use super::api::v1;
use super::client::ConfluenceClient;
use super::error::ConfluenceError;
use super::listing::{cql_quote, Listing};
use super::model::{read_restrictions, GroupRef, ReadRestrictions, UserRef};
use super::options::Flavour;
use super::paging::{decode, items, Paging};

/// Users and groups asked for per request.
const LIMIT: usize = 200;
/// Data Center's second and last try at a list longer than [`LIMIT`].
const SELF_HOSTED_LIMIT: usize = 1_000;
/// Pages of one content's restriction lists, at most (200,000 names: a loop guard).
const MAX_PAGES: usize = 1_000;

/// Whether a content (an ancestor, mostly) still exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    /// Deleted, purged or in the trash: its restrictions no longer apply.
    Gone,
    /// It exists (current, archived, a draft).
    Present,
    /// This connector cannot ask about this kind of content.
    Unknown,
}

/// What a v2 content lookup needs: its status.
#[derive(Debug, Deserialize)]
struct Status {
    #[serde(default)]
    status: Option<String>,
}

fn user_id(user: &v1::User) -> String {
    let parts = [&user.account_id, &user.user_key, &user.username];
    parts.iter().map(|p| p.as_deref().unwrap_or_default()).collect::<Vec<_>>().join("\u{1f}")
}

fn group_id(group: &v1::Group) -> String {
    format!("{}\u{1f}{}", group.id.as_deref().unwrap_or_default(), group.name.as_deref().unwrap_or_default())
}

/// Read restrictions gathered page by page.
#[derive(Default)]
struct Gathered {
    users: Vec<UserRef>,
    groups: Vec<GroupRef>,
    seen_users: HashSet<String>,
    seen_groups: HashSet<String>,
    users_done: bool,
    groups_done: bool,
}

impl Gathered {
    /// Adds one page; false when it brought nothing new to a list still open (the server
    /// ignores `start`), so that paging stops instead of looping.
    fn add(&mut self, users: &v1::Expansion<v1::User>, groups: &v1::Expansion<v1::Group>) -> bool {
        let mut progressed = false;
        if !self.users_done {
            for user in &users.results {
                if self.seen_users.insert(user_id(user)) {
                    self.users.push(UserRef::from(user));
                    progressed = true;
                }
            }
            self.users_done = users.is_complete();
        }
        if !self.groups_done {
            for group in &groups.results {
                if self.seen_groups.insert(group_id(group)) {
                    self.groups.push(GroupRef { name: group.name.clone(), id: group.id.clone() });
                    progressed = true;
                }
            }
            self.groups_done = groups.is_complete();
        }
        progressed || (self.users_done && self.groups_done)
    }

    fn finish(self) -> ReadRestrictions {
        ReadRestrictions {
            complete: self.users_done && self.groups_done,
            users: self.users,
            groups: self.groups,
        }
    }
}

impl ConfluenceClient {
    async fn restriction_page(
        &self,
        content_id: &str,
        start: usize,
        limit: usize,
    ) -> Result<v1::RestrictionOperation, ConfluenceError> {
        let mut query = vec![
            ("expand", "restrictions.user,restrictions.group".to_string()),
            ("limit", limit.to_string()),
        ];
        if start > 0 {
            query.push(("start", start.to_string()));
        }
        let url =
            self.url(&["rest", "api", "content", content_id, "restriction", "byOperation", "read"], &query);
        Ok(self.get_json(url, "GET /rest/api/content/{id}/restriction/byOperation/read").await?.body)
    }

    /// The read restrictions set on one content (v1 `restriction/byOperation/read`, both
    /// flavours), every page of them where the flavour can page; `complete` is false when
    /// the lists could not all be read.
    pub async fn read_restrictions(&self, content_id: &str) -> Result<ReadRestrictions, ConfluenceError> {
        let first = self.restriction_page(content_id, 0, LIMIT).await?;
        let whole = read_restrictions(&first);
        let lists = first.restrictions.as_ref().and_then(|s| s.user.as_ref().zip(s.group.as_ref()));
        let Some((users, groups)) = lists else {
            // Asked for and left out: no further page will have them.
            return Ok(whole);
        };
        if whole.complete {
            return Ok(whole);
        }
        if self.flavour() != Flavour::Cloud {
            let larger = self.restriction_page(content_id, 0, SELF_HOSTED_LIMIT).await?;
            return Ok(read_restrictions(&larger));
        }
        let mut gathered = Gathered::default();
        gathered.add(users, groups);
        let mut start = 0;
        let mut step = users.results.len().max(groups.results.len());
        for _ in 1..MAX_PAGES {
            if step == 0 {
                break;
            }
            start += step;
            let page = self.restriction_page(content_id, start, LIMIT).await?;
            let Some((users, groups)) =
                page.restrictions.as_ref().and_then(|s| s.user.as_ref().zip(s.group.as_ref()))
            else {
                break;
            };
            if !gathered.add(users, groups) || (gathered.users_done && gathered.groups_done) {
                break;
            }
            step = users.results.len().max(groups.results.len());
        }
        Ok(gathered.finish())
    }

    /// The read restrictions set on each page and blog post of a space, from one CQL
    /// listing: a request per 200 contents instead of one per content (Cloud's v2 listings
    /// carry no restrictions). Only the contents' own restrictions: the `ancestors`
    /// expansion of restrictions fails whole Cloud batches (CONFCLOUD-77618). The search
    /// index may lag behind new pages, and an expansion may be cut short: callers fetch
    /// what this does not list whole.
    pub(crate) fn space_restrictions(&self, space_key: &str) -> Listing<(String, ReadRestrictions)> {
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
            decode::<v1::Content>(v).map(|c| {
                let read = c.restrictions.and_then(|r| r.read)?;
                Some((c.id, read_restrictions(&read)))
            })
        }))
    }

    /// Whether the content with this id and type (`page`, `blogpost`, `folder`,
    /// `whiteboard`, `database`, `embed`; `None`: a page or blog post) still exists.
    pub(crate) async fn content_presence(
        &self,
        id: &str,
        kind: Option<&str>,
    ) -> Result<Presence, ConfluenceError> {
        let (url, route) = match self.flavour() {
            Flavour::Server | Flavour::DataCenter => (
                self.url(&["rest", "api", "content", id], &[("status", "any".to_string())]),
                "GET /rest/api/content/{id}",
            ),
            Flavour::Cloud => {
                let (plural, route) = match kind.unwrap_or("page") {
                    "page" => ("pages", "GET /api/v2/pages/{id}"),
                    "blogpost" => ("blogposts", "GET /api/v2/blogposts/{id}"),
                    "folder" => ("folders", "GET /api/v2/folders/{id}"),
                    "whiteboard" => ("whiteboards", "GET /api/v2/whiteboards/{id}"),
                    "database" => ("databases", "GET /api/v2/databases/{id}"),
                    "embed" => ("embeds", "GET /api/v2/embeds/{id}"),
                    _ => return Ok(Presence::Unknown),
                };
                (self.url(&["api", "v2", plural, id], &[]), route)
            }
        };
        match self.get_json::<Status>(url, route).await {
            Ok(found) => Ok(match found.body.status.as_deref() {
                Some("trashed" | "deleted" | "purged") => Presence::Gone,
                _ => Presence::Present,
            }),
            Err(e) if e.is_not_found() => Ok(Presence::Gone),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::client::tests::test_client;
    use crate::confluence::test_server::{json as reply, param, serve};
    use serde_json::json as j;

    /// A restriction naming `users` users u0…, paged by `start`/`limit` as Cloud does, or
    /// with Data Center's wrong slice past the first page.
    fn paged(users: usize, groups: usize, start: usize, limit: usize, dc_bug: bool) -> serde_json::Value {
        let start = if dc_bug && start > 0 { 0 } else { start };
        let slice = |total: usize| (start.min(total)..(start + limit).min(total)).collect::<Vec<_>>();
        let us: Vec<_> =
            slice(users).iter().map(|i| j!({"type": "known", "accountId": format!("u{i}")})).collect();
        let gs: Vec<_> = slice(groups)
            .iter()
            .map(|i| j!({"type": "group", "name": format!("g{i}"), "id": format!("g{i}")}))
            .collect();
        j!({"operation": "read", "restrictions": {
            "user": {"results": us, "start": start, "limit": limit, "size": us.len()},
            "group": {"results": gs, "start": start, "limit": limit, "size": gs.len()}}})
    }

    #[tokio::test]
    async fn cloud_pages_long_restriction_lists_to_their_end() {
        let (server, log) = serve(|seen, _| {
            let start = param(&seen.target, "start").map_or(0, |s| s.parse().unwrap());
            let limit: usize = param(&seen.target, "limit").unwrap().parse().unwrap();
            // The server caps pages at 100, whatever is asked.
            reply(200, paged(450, 120, start, limit.min(100), false), &[])
        })
        .await;
        let client = test_client(&server.origin, Flavour::Cloud).await;
        let read = client.read_restrictions("7").await.unwrap();
        assert!(read.complete);
        assert_eq!((read.users.len(), read.groups.len()), (450, 120));
        assert_eq!(read.users[449].account_id.as_deref(), Some("u449"));
        assert_eq!(log.lock().unwrap().len(), 5, "100 a page: 0, 100, 200, 300, 400");
    }

    #[tokio::test]
    async fn data_center_never_pages_by_start_and_fails_closed_past_one_large_request() {
        let (server, log) = serve(|seen, _| {
            let start = param(&seen.target, "start").map_or(0, |s| s.parse().unwrap());
            let limit: usize = param(&seen.target, "limit").unwrap().parse().unwrap();
            reply(200, paged(1_500, 3, start, limit, true), &[])
        })
        .await;
        let client = test_client(&server.origin, Flavour::DataCenter).await;
        let read = client.read_restrictions("7").await.unwrap();
        assert!(!read.complete, "1,500 users cannot be read without paging");
        let targets: Vec<String> = log.lock().unwrap().iter().map(|s| s.target.clone()).collect();
        assert_eq!(targets.len(), 2);
        assert!(targets.iter().all(|t| param(t, "start").is_none()), "{targets:?}");
        assert_eq!(param(&targets[1], "limit").as_deref(), Some("1000"));
        // 300 users fit into the larger request.
        let (server, _log) = serve(|seen, _| {
            let limit: usize = param(&seen.target, "limit").unwrap().parse().unwrap();
            reply(200, paged(300, 0, 0, limit, true), &[])
        })
        .await;
        let client = test_client(&server.origin, Flavour::DataCenter).await;
        let read = client.read_restrictions("7").await.unwrap();
        assert!(read.complete && read.users.len() == 300);
    }

    #[tokio::test]
    async fn lists_left_out_or_cut_short_are_incomplete_not_empty() {
        let answers = [
            // No subjects at all, the group list not expanded, a size beyond the results,
            // a next link.
            j!({"operation": "read", "_expandable": {"restrictions": ""}}),
            j!({"operation": "read", "restrictions": {"user": {"results": [], "size": 0, "limit": 200},
                "_expandable": {"group": ""}}}),
            j!({"operation": "read", "restrictions": {"user": {"results": [], "size": 3, "limit": 200},
                "group": {"results": [], "size": 0, "limit": 200}}}),
            j!({"operation": "read", "restrictions": {"user": {"results": [], "size": 0, "limit": 200},
                "group": {"results": [], "size": 0, "limit": 200, "_links": {"next": "/x?start=200"}}}}),
        ];
        for (i, answer) in answers.iter().enumerate() {
            let read = read_restrictions(&serde_json::from_value(answer.clone()).unwrap());
            assert!(!read.complete && !read.is_open(), "answer {i}: {read:?}");
        }
        let open = j!({"restrictions": {"user": {"results": [], "size": 0, "limit": 200},
            "group": {"results": [], "size": 0, "limit": 200}}});
        assert!(read_restrictions(&serde_json::from_value(open).unwrap()).is_open());
    }

    #[tokio::test]
    async fn presence_tells_gone_from_unreadable() {
        let (server, _log) = serve(|seen, _| {
            let path = seen.target.split('?').next().unwrap_or_default().to_string();
            match path.as_str() {
                "/wiki/api/v2/folders/1" => {
                    reply(200, j!({"id": "1", "type": "folder", "status": "current"}), &[])
                }
                "/wiki/api/v2/pages/2" => reply(200, j!({"id": "2", "status": "trashed"}), &[]),
                "/wiki/api/v2/pages/3" => reply(404, j!({"errors": []}), &[]),
                _ => reply(500, j!({}), &[]),
            }
        })
        .await;
        let client = test_client(&server.origin, Flavour::Cloud).await;
        assert_eq!(client.content_presence("1", Some("folder")).await.unwrap(), Presence::Present);
        assert_eq!(client.content_presence("2", Some("page")).await.unwrap(), Presence::Gone);
        assert_eq!(client.content_presence("3", None).await.unwrap(), Presence::Gone);
        assert_eq!(client.content_presence("4", Some("smart_link")).await.unwrap(), Presence::Unknown);
        assert!(client.content_presence("5", Some("whiteboard")).await.is_err());
    }
}
