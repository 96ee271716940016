//! The `_allow_access_control` of each document a sync writes, computed as Confluence
//! decides access.
//!
//! - A space: who may view it ([`super::space`]).
//! - A page or blog post: the space's viewers, narrowed by its own read restriction and by
//!   the restriction of every restricted ancestor ([`super::layer::effective`]).
//! - An attachment or a comment: its container's (the crawl passes it on).
//!
//! Everything fetched is kept for the rest of the sync, each key fetched once however many
//! documents ask at the same time ([`OnceMap`]): a space's viewers, a page's restrictions
//! (whether read as its own or as an ancestor's), a group's members, a Data Center user key's
//! username. Restrictions are read one content at a time (`restriction/byOperation/read`),
//! never through the `ancestors.restrictions` expansion, which fails a whole Cloud batch when
//! one ancestor is in the trash (CONFCLOUD-77618).
//!
//! Fail closed: a document whose permissions cannot be read — the space's viewers, its own
//! restriction, an ancestor's restriction answering 401/403/5xx after the retries — is
//! visible to nobody ([`NOBODY`](super::identity::NOBODY)); an ancestor that is gone (404: in
//! the trash, deleted) is skipped, as Confluence no longer applies it. Partial answers (a
//! group whose members could not be listed, a user who cannot be named) only ever narrow a
//! document's readers. Each kind of problem is said once in the log.
//!
//! Permissions change without touching a page's `lastmodified`, so an incremental sync
//! cannot see such a change: the next full sync does — it computes every document's ACL and
//! re-indexes exactly the documents whose ACL changed (the ACL is part of the stamp compared
//! with the index). Pages moved under another parent are re-crawled by incremental syncs
//! with everything below them, so their new inherited restrictions arrive then.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::future::join_all;
use futures::StreamExt;

use crate::confluence::{
    Ancestor, ConfluenceClient, ConfluenceError, Content, ContentType, Flavour, GroupRef, ReadRestrictions,
    Space, UserRef, Viewer,
};

use super::identity::Identities;
use super::layer::{effective, groups_needed, Access, Layer, Memberships};
use super::notices::Notices;
use super::once::OnceMap;
use super::space::{SpacePermissions, Unreadable};

/// The read restriction set on one content, as far as it could be read.
#[derive(Debug, Clone)]
enum Restriction {
    /// None set: anyone who passes the layers above may read.
    Open,
    /// Only these may read.
    Layer(Arc<Layer>),
    /// The content is gone (404): as an ancestor it no longer restricts anything.
    Gone,
    /// It could not be read: nobody may read what it covers.
    Unreadable,
}

/// Computes document ACLs for one sync; shared by every crawl task.
pub struct AclResolver {
    client: ConfluenceClient,
    ids: Identities,
    permissions: SpacePermissions,
    /// Space key → its view layer.
    spaces: OnceMap<Result<Arc<Layer>, Unreadable>>,
    /// Page or blog post id → its own read restriction.
    restrictions: OnceMap<Restriction>,
    /// Group key → member keys (`None`: could not be listed).
    members: OnceMap<Option<Arc<BTreeSet<String>>>>,
    /// Data Center user key → username.
    usernames: OnceMap<Option<String>>,
    /// Cloud: a page missing from the listing → its ancestor ids, root first, itself last.
    chains: OnceMap<Option<Arc<Vec<String>>>>,
    notices: Notices,
    /// Spaces, pages and blog posts made visible to nobody because a permission could not
    /// be read.
    closed: AtomicU64,
}

impl std::fmt::Debug for AclResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AclResolver").field("flavour", &self.ids.flavour()).finish_non_exhaustive()
    }
}

impl AclResolver {
    /// A resolver with empty caches, for one sync.
    pub fn new(client: ConfluenceClient) -> AclResolver {
        AclResolver {
            ids: Identities::new(client.flavour()),
            client,
            permissions: SpacePermissions::default(),
            spaces: OnceMap::default(),
            restrictions: OnceMap::default(),
            members: OnceMap::default(),
            usernames: OnceMap::default(),
            chains: OnceMap::default(),
            notices: Notices::default(),
            closed: AtomicU64::new(0),
        }
    }

    /// Reads the restrictions of every page and blog post of a space in one listing, before
    /// a crawl of the whole space asks for them one by one (Cloud only: Server/DC listings
    /// carry them). What it misses — the listing failed, the search index lags — is fetched
    /// per content later, so a failure here costs requests, not correctness.
    pub async fn prefetch(&self, space: &Space) {
        if self.ids.flavour() != Flavour::Cloud {
            return;
        }
        let mut listing = self.client.space_restrictions(&space.key);
        while let Some(item) = listing.next().await {
            match item {
                Ok((id, restrictions)) if restrictions.complete => {
                    let restriction = self.restriction_of(&id, &restrictions).await;
                    self.restrictions.offer(&id, restriction);
                }
                Ok(_) | Err(ConfluenceError::Item { .. }) => {}
                Err(e) => {
                    self.notices.warn_once(&format!("prefetch-{:?}", e.status()), || {
                        format!(
                            "cannot list the restrictions of space {} at once ({e}): reading them one by one",
                            space.key
                        )
                    });
                    return;
                }
            }
        }
    }

    /// The `_allow_access_control` of a space's document.
    pub async fn space(&self, space: &Space) -> Option<Vec<String>> {
        let access = match self.space_layer(space).await {
            Ok(layer) => effective(std::slice::from_ref(layer.as_ref()), &Memberships::new()),
            Err(_) => self.closed(),
        };
        access.field(self.ids)
    }

    /// The `_allow_access_control` of a page or blog post (and of its attachments and
    /// comments), given its ancestors root first as the crawl knows them.
    pub async fn content(
        &self,
        space: &Space,
        content: &Content,
        ancestors: &[Ancestor],
    ) -> Option<Vec<String>> {
        self.content_access(space, content, ancestors).await.field(self.ids)
    }

    /// A line for the end of the sync when some documents were closed, else `None`.
    pub fn summary(&self) -> Option<String> {
        let closed = self.closed.load(Ordering::Relaxed);
        (closed > 0).then(|| {
            format!(
                "{closed} spaces, pages and blog posts (with their attachments and comments) are visible to nobody \
                 because their permissions could not be read; see the warnings above"
            )
        })
    }

    fn closed(&self) -> Access {
        self.closed.fetch_add(1, Ordering::Relaxed);
        Access::nobody()
    }

    async fn content_access(&self, space: &Space, content: &Content, ancestors: &[Ancestor]) -> Access {
        let Ok(space_layer) = self.space_layer(space).await else {
            return self.closed();
        };
        let Some(chain) = self.chain(content, ancestors).await else {
            return self.closed();
        };
        let own = async {
            match content.read_restrictions.as_ref().filter(|r| r.complete) {
                // Came with the listing (Server/DC): no request.
                Some(listed) => {
                    let restriction = self.restriction_of(&content.id, listed).await;
                    if content.content_type == ContentType::Page {
                        self.restrictions.offer(&content.id, restriction.clone());
                    }
                    restriction
                }
                None => self.restriction(&content.id).await,
            }
        };
        let (own, above) = futures::join!(own, join_all(chain.iter().map(|id| self.restriction(id))));
        let mut layers = vec![space_layer.as_ref().clone()];
        for restriction in above {
            match restriction {
                Restriction::Open | Restriction::Gone => {}
                Restriction::Layer(layer) => layers.push(layer.as_ref().clone()),
                Restriction::Unreadable => return self.closed(),
            }
        }
        match own {
            Restriction::Open => {}
            Restriction::Layer(layer) => layers.push(layer.as_ref().clone()),
            // The content itself could not be read, or vanished while the sync ran.
            Restriction::Gone | Restriction::Unreadable => return self.closed(),
        }
        let needed = groups_needed(&layers);
        let memberships: Memberships =
            join_all(needed.iter().map(|group| async move {
                self.members(group).await.map(|members| (group.clone(), members))
            }))
            .await
            .into_iter()
            .flatten()
            .collect();
        effective(&layers, &memberships)
    }

    /// The ancestor ids of a content, root first. On Cloud a chain the listing broke off at
    /// a page it did not return (in the trash) is completed from the API; `None` when that
    /// fails.
    async fn chain(&self, content: &Content, ancestors: &[Ancestor]) -> Option<Vec<String>> {
        let ids: Vec<String> = ancestors.iter().map(|a| a.id.clone()).collect();
        let broken_at = match ancestors.first() {
            Some(top) if top.title.is_none() && self.ids.flavour() == Flavour::Cloud => top.id.clone(),
            _ => return Some(ids),
        };
        let above = self
            .chains
            .get_or_init(&broken_at, || async {
                match self.client.page_ancestor_ids(&content.id).await {
                    Ok(full) => {
                        let end = full.iter().position(|id| *id == broken_at)?;
                        Some(Arc::new(full[..=end].to_vec()))
                    }
                    Err(e) => {
                        self.notices.warn_once(&format!("ancestors-{:?}", e.status()), || {
                            format!(
                                "cannot read the ancestors of page {} ({e}): pages under a page the listing did not \
                                 return are visible to nobody",
                                content.id
                            )
                        });
                        None
                    }
                }
            })
            .await?;
        let mut chain = above.as_ref().clone();
        chain.extend(ids.into_iter().skip(1));
        Some(chain)
    }

    async fn space_layer(&self, space: &Space) -> Result<Arc<Layer>, Unreadable> {
        self.spaces
            .get_or_init(&space.key, || async {
                let viewers = self.permissions.viewers(&self.client, space, &self.notices).await?;
                let mut layer = Layer::default();
                for viewer in viewers {
                    match viewer {
                        Viewer::User(user) => layer.users.extend(self.user_key(&user).await),
                        Viewer::Group(group) => layer.groups.extend(self.group_key(&group)),
                        Viewer::Anonymous => layer.anyone = true,
                        Viewer::Unsupported(what) => {
                            self.notices.warn_once(&format!("grantee-{what}"), || {
                                format!(
                                    "space {} grants view to {what}, which this connector cannot map to people: \
                                     that grant lets nobody through",
                                    space.key
                                )
                            });
                        }
                    }
                }
                Ok(Arc::new(layer))
            })
            .await
    }

    /// A page's own read restriction, fetched once per sync.
    async fn restriction(&self, id: &str) -> Restriction {
        self.restrictions.get_or_init(id, || self.fetch_restriction(id)).await
    }

    async fn fetch_restriction(&self, id: &str) -> Restriction {
        match self.client.read_restrictions(id).await {
            Ok(restrictions) => self.restriction_of(id, &restrictions).await,
            Err(e) if e.is_not_found() => Restriction::Gone,
            Err(e) => {
                self.notices.warn_once(&format!("restrictions-{:?}", e.status()), || {
                    format!(
                        "cannot read the read restrictions of content {id} ({e}): what they cover is visible to nobody"
                    )
                });
                Restriction::Unreadable
            }
        }
    }

    async fn restriction_of(&self, id: &str, restrictions: &ReadRestrictions) -> Restriction {
        if restrictions.is_empty() {
            return Restriction::Open;
        }
        if !restrictions.complete {
            self.notices.warn_once("restrictions-incomplete", || {
                format!(
                    "content {id} names more readers than one answer holds: only those listed are let through"
                )
            });
        }
        let mut layer = Layer::default();
        for user in &restrictions.users {
            layer.users.extend(self.user_key(user).await);
        }
        layer.groups.extend(restrictions.groups.iter().filter_map(|g| self.group_key(g)));
        Restriction::Layer(Arc::new(layer))
    }

    /// A user's key; a Data Center user named by key only is looked up once.
    async fn user_key(&self, user: &UserRef) -> Option<String> {
        if let Some(key) = self.ids.user_key(user) {
            return Some(key);
        }
        let found = match (self.ids.flavour(), user.user_key.as_deref()) {
            (Flavour::Server | Flavour::DataCenter, Some(user_key)) => {
                self.usernames
                    .get_or_init(user_key, || async {
                        match self.client.user_by_key(user_key).await {
                            Ok(found) => found.and_then(|u| u.username),
                            Err(e) => {
                                self.notices.warn_once(&format!("user-key-{:?}", e.status()), || {
                                    format!("cannot look up user key {user_key} ({e}): that user is let through nowhere")
                                });
                                None
                            }
                        }
                    })
                    .await
            }
            _ => None,
        };
        if found.is_none() {
            self.notices.warn_once("unnamed-user", || {
                format!("a permission names a user this connector cannot name ({user:?}): that grant lets nobody through")
            });
        }
        found
    }

    fn group_key(&self, group: &GroupRef) -> Option<String> {
        let key = self.ids.group_key(group);
        if key.is_none() {
            self.notices.warn_once("unnamed-group", || {
                format!(
                    "a permission names a group without its key ({group:?}): that grant lets nobody through"
                )
            });
        }
        key
    }

    /// A group's members, listed once per sync; `None` when the listing failed.
    async fn members(&self, group: &str) -> Option<Arc<BTreeSet<String>>> {
        self.members
            .get_or_init(group, || async {
                let mut keys = BTreeSet::new();
                let mut listing = self.client.group_members(&self.ids.group_ref(group));
                while let Some(item) = listing.next().await {
                    match item {
                        Ok(account) => keys.extend(self.ids.user_key(&account.user)),
                        // A malformed member is one person less let through: narrower, safe.
                        Err(ConfluenceError::Item { .. }) => {}
                        Err(e) => {
                            self.notices.warn_once(&format!("members-{group}"), || {
                                format!(
                                    "cannot list the members of group {group} ({e}): pages restricted on several \
                                     levels let none of them through by that group"
                                )
                            });
                            return None;
                        }
                    }
                }
                Some(Arc::new(keys))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::identity::NOBODY;
    use crate::confluence::api::v1;
    use crate::confluence::client::tests::test_client;
    use crate::confluence::test_server::{json as reply, serve};
    use serde_json::json as j;

    fn users(names: &[&str]) -> serde_json::Value {
        let results: Vec<_> =
            names.iter().map(|n| j!({"type": "known", "username": n, "userKey": format!("k-{n}")})).collect();
        j!({"results": results, "size": names.len(), "limit": 200, "_links": {}})
    }

    fn page(id: &str, own_users: &[&str]) -> Content {
        let value = j!({"id": id, "type": "page", "title": id,
            "restrictions": {"read": {"restrictions": {"user": users(own_users), "group": {"results": [], "size": 0, "limit": 200}}}}});
        Content::from_v1(serde_json::from_value::<v1::Content>(value).unwrap()).unwrap()
    }

    fn ancestors(ids: &[&str]) -> Vec<Ancestor> {
        ids.iter().map(|id| Ancestor { id: id.to_string(), title: Some(format!("page {id}")) }).collect()
    }

    #[tokio::test]
    async fn layers_resolve_through_groups_and_unreadable_ancestors_close_gone_ones_do_not() {
        let (server, log) = serve(|seen, _| {
            let path = seen.target.split('?').next().unwrap_or_default();
            match path {
                "/rest/api/space/ENG/permissions" => reply(200, j!([
                    {"operation": {"targetType": "space", "operationKey": "read"}, "subject": {"type": "group", "name": "confluence-users"}},
                    {"operation": {"targetType": "page", "operationKey": "create"}, "subject": {"type": "group", "name": "dev"}}
                ]), &[]),
                "/rest/api/space/ENG/permissions/anonymous" => reply(200, j!([]), &[]),
                // Ancestor 1 is restricted to the dev group; 2 is in the trash; 3 fails.
                "/rest/api/content/1/restriction/byOperation/read" => reply(200, j!({"restrictions": {
                    "user": {"results": [], "size": 0, "limit": 200},
                    "group": {"results": [{"type": "group", "name": "dev"}], "size": 1, "limit": 200}}}), &[]),
                "/rest/api/content/2/restriction/byOperation/read" => reply(404, j!({"message": "trashed"}), &[]),
                "/rest/api/content/3/restriction/byOperation/read" => reply(500, j!({}), &[]),
                "/rest/api/group/dev/member" => reply(200, users(&["ann", "bob"]), &[]),
                "/rest/api/group/confluence-users/member" => reply(200, users(&["ann", "bob", "carl"]), &[]),
                other => panic!("unexpected {other}"),
            }
        })
        .await;
        let resolver = AclResolver::new(test_client(&server.origin, Flavour::DataCenter).await);
        let space = Space {
            id: "9".into(),
            key: "ENG".into(),
            name: "Eng".into(),
            kind: None,
            status: None,
            webui: None,
            created_at: None,
            author_id: None,
        };
        assert_eq!(resolver.space(&space).await, Some(vec!["group:confluence-users".to_string()]));
        // Space: everyone; ancestor 1: dev; the page: ann and carl. Only ann passes all three.
        let own = page("10", &["ann", "carl"]);
        assert_eq!(
            resolver.content(&space, &own, &ancestors(&["1", "2"])).await,
            Some(vec!["user:ann".to_string()])
        );
        // No own restriction, under 1: dev's members who may view the space, by name — dev
        // itself does not grant the space, so whoever joins it later must not get in.
        let open = page("11", &[]);
        let expected = Some(vec!["user:ann".to_string(), "user:bob".to_string()]);
        assert_eq!(resolver.content(&space, &open, &ancestors(&["1"])).await, expected);
        // An ancestor whose restrictions cannot be read closes the page.
        let under_broken = page("12", &[]);
        assert_eq!(
            resolver.content(&space, &under_broken, &ancestors(&["1", "3"])).await,
            Some(vec![NOBODY.into()])
        );
        assert!(resolver.summary().is_some_and(|s| s.starts_with("1 spaces, pages")));
        let seen: Vec<String> = log
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.target.split('?').next().unwrap_or_default().to_string())
            .collect();
        let count = |path: &str| seen.iter().filter(|p| *p == path).count();
        assert_eq!(
            count("/rest/api/content/1/restriction/byOperation/read"),
            1,
            "fetched once for three pages"
        );
        assert_eq!(count("/rest/api/space/ENG/permissions"), 1);
        assert_eq!(count("/rest/api/group/dev/member"), 1);
        assert_eq!(
            count("/rest/api/content/3/restriction/byOperation/read"),
            4,
            "5xx is retried before it closes"
        );
    }
}
