//! The `_allow_access_control` of each document a sync writes, computed as Confluence
//! decides access.
//!
//! - A space: who may view it ([`super::space`]).
//! - A page or blog post: the space's viewers, narrowed by its own read restriction and by
//!   the restriction of every restricted ancestor ([`super::layer::effective`]) — pages,
//!   and on Cloud the folders, whiteboards and databases a page may sit below.
//! - An attachment or a comment: its container's (the crawl passes it on).
//!
//! Everything fetched is kept for the rest of the sync, each key fetched once however many
//! documents ask at the same time ([`OnceMap`]): a space's viewers, a content's restrictions
//! (whether read as its own or as an ancestor's), a group's members, the accounts an access
//! class covers, a Data Center user key's username. Restrictions are read one content at a
//! time (`restriction/byOperation/read`), never through the `ancestors.restrictions`
//! expansion, which fails a whole Cloud batch when one ancestor is in the trash
//! (CONFCLOUD-77618).
//!
//! Fail closed: a document whose permissions cannot be read is visible to nobody
//! ([`NOBODY`](super::identity::NOBODY)) — the space's viewers; its own restriction; an
//! ancestor's restriction answering 401/403/5xx after the retries; restriction lists left
//! out of an answer or longer than can be read; an ancestor chain that did not come with the
//! listing and cannot be fetched; an ancestor whose restrictions 404 while the ancestor
//! itself exists (a Cloud folder, whiteboard or database). Only an ancestor that is really
//! gone — deleted or in the trash, checked after the 404 — is skipped, as Confluence no
//! longer applies it. Partial answers (a group whose members could not be listed, a user who
//! cannot be named) only ever narrow a document's readers. Each kind of problem is said once
//! in the log.
//!
//! Permissions change without touching a page's `lastmodified`, so an incremental sync
//! cannot see such a change: the next full sync does — it computes every document's ACL and
//! re-indexes exactly the documents whose ACL changed (the ACL is part of the stamp compared
//! with the index). Pages moved under another parent are re-crawled by incremental syncs
//! with everything below them, so their new inherited restrictions arrive then.
//!
//! The half that names people (user keys, a group's members, the accounts of an access class)
//! is in `people.rs`; the tests are in `tests.rs`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::future::join_all;
use futures::StreamExt;

use crate::confluence::{
    Account, Ancestor, ConfluenceClient, ConfluenceError, Content, ContentType, Flavour, Presence,
    ReadRestrictions, Space, Viewer,
};

use super::access_class::AccessClass;
use super::identity::Identities;
use super::layer::{effective, needed, Access, Layer, Memberships};
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
    /// The content is gone (deleted, in the trash): as an ancestor it no longer restricts
    /// anything.
    Gone,
    /// It could not be read: nobody may read what it covers.
    Unreadable,
}

/// A content on the way from the space down to a document: its id and, when known, its
/// type (`page`, `blogpost`, `folder`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Link {
    id: String,
    kind: Option<String>,
}

impl Link {
    fn page(id: &str) -> Link {
        Link { id: id.to_string(), kind: Some("page".to_string()) }
    }
}

/// Computes document ACLs for one sync; shared by every crawl task.
pub(crate) struct AclResolver {
    client: ConfluenceClient,
    ids: Identities,
    permissions: SpacePermissions,
    /// Space key → its view layer.
    spaces: OnceMap<Result<Arc<Layer>, Unreadable>>,
    /// Content id → its own read restriction.
    restrictions: OnceMap<Restriction>,
    /// Group key → member keys (`None`: could not be listed).
    members: OnceMap<Option<Arc<BTreeSet<String>>>>,
    /// Cloud: the accounts the user search lists, for access classes (`None`: could not
    /// be listed).
    accounts: tokio::sync::OnceCell<Option<Arc<Vec<Account>>>>,
    /// Access class id → the keys of the accounts it covers.
    classes: OnceMap<Option<Arc<BTreeSet<String>>>>,
    /// Data Center user key → username.
    usernames: OnceMap<Option<String>>,
    /// Cloud: a page missing from the listing → its ancestors, root first, itself last.
    chains: OnceMap<Option<Arc<Vec<Link>>>>,
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
    pub(crate) fn new(client: ConfluenceClient) -> AclResolver {
        AclResolver {
            ids: Identities::new(client.flavour()),
            client,
            permissions: SpacePermissions::default(),
            spaces: OnceMap::default(),
            restrictions: OnceMap::default(),
            members: OnceMap::default(),
            accounts: tokio::sync::OnceCell::new(),
            classes: OnceMap::default(),
            usernames: OnceMap::default(),
            chains: OnceMap::default(),
            notices: Notices::default(),
            closed: AtomicU64::new(0),
        }
    }

    /// Reads the restrictions of every page and blog post of a space in one listing, before
    /// a crawl of the whole space asks for them one by one (Cloud only: Server/DC listings
    /// carry them). What it misses — the listing failed, the search index lags, a list was
    /// cut short — is fetched per content later, so a failure here costs requests, not
    /// correctness.
    pub(crate) async fn prefetch(&self, space: &Space) {
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
    pub(crate) async fn space(&self, space: &Space) -> Option<Vec<String>> {
        let access = match self.space_layer(space).await {
            Ok(layer) => effective(std::slice::from_ref(layer.as_ref()), &Memberships::default()),
            Err(_) => self.closed(),
        };
        access.field(self.ids)
    }

    /// The `_allow_access_control` of a page or blog post (and of its attachments and
    /// comments), given its ancestors root first as the crawl knows them. On Server/DC the
    /// chain must have come with the content (`Content::ancestors`); when it did not, it is
    /// fetched.
    pub(crate) async fn content(
        &self,
        space: &Space,
        content: &Content,
        ancestors: &[Ancestor],
    ) -> Option<Vec<String>> {
        self.content_access(space, content, ancestors).await.field(self.ids)
    }

    /// A line for the end of the sync when some documents were closed, else `None`.
    pub(crate) fn summary(&self) -> Option<String> {
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
                None => {
                    let own = Link {
                        id: content.id.clone(),
                        kind: Some(content.content_type.as_str().to_string()),
                    };
                    self.restriction(&own).await
                }
            }
        };
        let (own, above) = futures::join!(own, join_all(chain.iter().map(|link| self.restriction(link))));
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
        let wanted = needed(&layers);
        let groups =
            join_all(wanted.groups.iter().map(|group| async move {
                self.members(group).await.map(|members| (group.clone(), members))
            }));
        let classes = join_all(wanted.classes.iter().map(|class| async move {
            self.class_members(class).await.map(|members| (class.clone(), members))
        }));
        let (groups, classes) = futures::join!(groups, classes);
        let memberships = Memberships {
            groups: groups.into_iter().flatten().collect(),
            classes: classes.into_iter().flatten().collect(),
        };
        effective(&layers, &memberships)
    }

    /// The ancestors of a content, root first; `None` when they cannot be known.
    ///
    /// Server/DC: the listing's `ancestors` expansion, fetched when the listing came
    /// without it (an absent expansion is not a top-level page). Cloud: the chain the crawl
    /// rebuilt from parent ids; when it broke off at a parent the listing did not return (in
    /// the trash, a folder, a whiteboard), the rest comes from the API, with each ancestor's
    /// type.
    async fn chain(&self, content: &Content, ancestors: &[Ancestor]) -> Option<Vec<Link>> {
        if self.ids.flavour() != Flavour::Cloud {
            if content.ancestors.is_some() {
                return Some(ancestors.iter().map(|a| Link::page(&a.id)).collect());
            }
            return match self.client.content_ancestors(&content.id).await {
                Ok(chain) => Some(chain.iter().map(|a| Link::page(&a.id)).collect()),
                Err(e) => {
                    self.notices.warn_once(&format!("content-ancestors-{:?}", e.status()), || {
                        format!(
                            "content {} came without its ancestors and they cannot be read ({e}): such content is \
                             visible to nobody",
                            content.id
                        )
                    });
                    None
                }
            };
        }
        let links: Vec<Link> = ancestors.iter().map(|a| Link::page(&a.id)).collect();
        let broken_at = match ancestors.first() {
            Some(top) if top.title.is_none() => top.id.clone(),
            _ => return Some(links),
        };
        let above = self
            .chains
            .get_or_init(&broken_at, || async {
                match self.client.page_ancestors(&content.id).await {
                    Ok(full) => {
                        let end = full.iter().position(|a| a.id == broken_at)?;
                        Some(Arc::new(full[..=end].iter().map(|a| Link { id: a.id.clone(), kind: a.kind.clone() }).collect()))
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
        chain.extend(links.into_iter().skip(1));
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
                        Viewer::AccessClass(id) => match AccessClass::from_id(&id) {
                            Some(class) => {
                                layer.classes.insert(class.id().to_string());
                            }
                            None => self.cannot_map(space, &format!("the access class {id}")),
                        },
                        Viewer::Unsupported(what) => self.cannot_map(space, &what),
                    }
                }
                Ok(Arc::new(layer))
            })
            .await
    }

    fn cannot_map(&self, space: &Space, what: &str) {
        self.notices.warn_once(&format!("grantee-{what}"), || {
            format!(
                "space {} grants view to {what}, which this connector cannot map to people: that grant lets nobody \
                 through",
                space.key
            )
        });
    }

    /// A content's own read restriction, fetched once per sync.
    async fn restriction(&self, link: &Link) -> Restriction {
        self.restrictions.get_or_init(&link.id, || self.fetch_restriction(link)).await
    }

    async fn fetch_restriction(&self, link: &Link) -> Restriction {
        let id = &link.id;
        match self.client.read_restrictions(id).await {
            Ok(restrictions) => self.restriction_of(id, &restrictions).await,
            Err(e) if e.is_not_found() => self.missing(link).await,
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

    /// A content whose restrictions 404: gone, or there but unreadable — asked, not assumed.
    async fn missing(&self, link: &Link) -> Restriction {
        let kind = link.kind.as_deref().unwrap_or("content");
        let presence = self.client.content_presence(&link.id, link.kind.as_deref()).await;
        let problem = match presence {
            Ok(Presence::Gone) => return Restriction::Gone,
            Ok(Presence::Present) => format!("the {kind} exists but its restrictions answer 404"),
            Ok(Presence::Unknown) => format!("its restrictions answer 404 and a {kind} cannot be looked up"),
            Err(e) => format!("its restrictions answer 404 and whether it still exists cannot be read ({e})"),
        };
        self.notices.warn_once(&format!("restrictions-missing-{kind}"), || {
            format!(
                "cannot read the read restrictions of {kind} {}: {problem}; what is below it is visible to nobody",
                link.id
            )
        });
        Restriction::Unreadable
    }

    async fn restriction_of(&self, id: &str, restrictions: &ReadRestrictions) -> Restriction {
        if !restrictions.complete {
            self.notices.warn_once("restrictions-incomplete", || {
                format!(
                    "the read restriction of content {id} names more users or groups than can be read (or Confluence \
                     left the lists out): what it covers is visible to nobody"
                )
            });
            return Restriction::Unreadable;
        }
        if restrictions.is_open() {
            return Restriction::Open;
        }
        let mut layer = Layer::default();
        for user in &restrictions.users {
            layer.users.extend(self.user_key(user).await);
        }
        layer.groups.extend(restrictions.groups.iter().filter_map(|g| self.group_key(g)));
        Restriction::Layer(Arc::new(layer))
    }
}

mod people;

#[cfg(test)]
mod tests;
