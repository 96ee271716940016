//! The connector's view of Confluence objects, the same for Cloud, Server and Data Center.
//!
//! Listings convert the wire types of [`super::api`] into these, so the sync never branches
//! on the API version. What an API does not give is `None` (not an empty value that would
//! look like "no labels"), e.g. Cloud v2 pages carry no ancestor titles and no author names,
//! only ids ([`Content::parent_id`], [`Content::author_id`]); see [`Ancestry`] for rebuilding
//! ancestor titles from one listing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::api::{v1, v2};
use super::download::AttachmentRef;

/// A space.
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    /// Space id.
    pub(crate) id: String,
    /// Space key.
    pub key: String,
    /// Display name.
    pub(crate) name: String,
    /// `global` or `personal`, when known.
    pub(crate) kind: Option<String>,
    /// `current` or `archived`, when known.
    pub(crate) status: Option<String>,
    /// Web UI path (relative; resolve with `ConfluenceClient::web_url`).
    pub(crate) webui: Option<String>,
    /// Creation instant (Cloud v2 only).
    pub(crate) created_at: Option<DateTime<Utc>>,
    /// Creator's account id (Cloud v2 only).
    pub(crate) author_id: Option<String>,
}

#[cfg(test)]
impl Space {
    /// A space known only by its id and key (named after its key), for unit tests.
    pub(crate) fn bare(id: &str, key: &str) -> Space {
        Space {
            id: id.into(),
            key: key.into(),
            name: key.into(),
            kind: None,
            status: None,
            webui: None,
            created_at: None,
            author_id: None,
        }
    }
}

/// Page or blog post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// A page.
    Page,
    /// A blog post.
    BlogPost,
}

impl ContentType {
    /// The v1 / CQL name (`page`, `blogpost`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ContentType::Page => "page",
            ContentType::BlogPost => "blogpost",
        }
    }

    fn v2_segment(self) -> &'static str {
        match self {
            ContentType::Page => "pages",
            ContentType::BlogPost => "blogposts",
        }
    }

    /// The v2 path segment (`pages`, `blogposts`).
    pub(crate) fn plural(self) -> &'static str {
        self.v2_segment()
    }

    fn from_v1(kind: &str) -> Option<ContentType> {
        match kind {
            "page" => Some(ContentType::Page),
            "blogpost" => Some(ContentType::BlogPost),
            _ => None,
        }
    }
}

/// An ancestor of a page, root first.
#[derive(Debug, Clone, PartialEq)]
pub struct Ancestor {
    /// Content id.
    pub id: String,
    /// Title (None when the API gave only the id).
    pub(crate) title: Option<String>,
}

/// A user as Confluence names them in restrictions and authorship.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserRef {
    /// Cloud account id.
    pub account_id: Option<String>,
    /// Server/DC username.
    pub username: Option<String>,
    /// Server/DC user key.
    pub(crate) user_key: Option<String>,
    /// Display name.
    pub(crate) display_name: Option<String>,
    /// Email, when visible.
    pub(crate) email: Option<String>,
}

/// A group as named in restrictions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupRef {
    /// Group name.
    pub name: Option<String>,
    /// Cloud group id.
    pub(crate) id: Option<String>,
}

/// Read restrictions set directly on a content (not inherited ones).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadRestrictions {
    /// Users allowed.
    pub users: Vec<UserRef>,
    /// Groups allowed.
    pub groups: Vec<GroupRef>,
    /// True only when both lists were in the answer and hold every subject. False when a
    /// list was left out (not expanded) or paginated (a next link, a full page, a size or
    /// total beyond the items given): the lists here are then a part of the restriction,
    /// and an empty part does not mean "not restricted". `Default` is false for that
    /// reason.
    pub complete: bool,
}

impl ReadRestrictions {
    /// True when the lists are complete and name nobody: the content is not restricted
    /// itself.
    pub fn is_open(&self) -> bool {
        self.complete && self.users.is_empty() && self.groups.is_empty()
    }
}

/// A page or blog post.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    /// Content id.
    pub id: String,
    /// Page or blog post.
    pub(crate) content_type: ContentType,
    /// `current`, `archived`, ...
    pub(crate) status: Option<String>,
    /// Title.
    pub title: String,
    /// Space id (v2; v1 when `space` is expanded).
    pub(crate) space_id: Option<String>,
    /// Space key (v1 only).
    pub(crate) space_key: Option<String>,
    /// Space name (v1 only).
    pub(crate) space_name: Option<String>,
    /// Parent page id (v2; on v1 the last ancestor).
    pub(crate) parent_id: Option<String>,
    /// Ancestors root first, when the API gave them (v1 `ancestors` expansion); `None` on
    /// v2 and whenever the expansion is missing — not the empty chain of a top-level page.
    pub ancestors: Option<Vec<Ancestor>>,
    /// Creator: Cloud account id (v2 `authorId`, v1 `history.createdBy.accountId`).
    pub(crate) author_id: Option<String>,
    /// Creator's display name (v1 only).
    pub(crate) author_name: Option<String>,
    /// Creation instant.
    pub(crate) created_at: Option<DateTime<Utc>>,
    /// Last modification instant (current version).
    pub(crate) updated_at: Option<DateTime<Utc>>,
    /// Current version number.
    pub version: Option<u64>,
    /// Storage-format body, when asked for.
    pub body_storage: Option<String>,
    /// Label names, when they came with the listing (None = not fetched).
    pub(crate) labels: Option<Vec<String>>,
    /// Read restrictions, when asked for (Server/DC content search; Cloud CQL search).
    pub read_restrictions: Option<ReadRestrictions>,
    /// Web UI path (resolve with `ConfluenceClient::web_url`).
    pub(crate) webui: Option<String>,
    /// Its attachments, when they came whole with the listing (the `children.attachment`
    /// expansion of Server/DC content search); `None`: list them.
    pub(crate) attachments: Option<Vec<Attachment>>,
}

/// Whether a content id is an attachment's as Cloud lists it: `att` and a number
/// (`att123456`), where pages, blog posts and comments have bare numbers. Server/DC ids
/// carry no prefix, so this says nothing about theirs.
pub(crate) fn is_cloud_attachment_id(id: &str) -> bool {
    id.starts_with("att")
}

/// An attachment.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    /// Attachment id.
    pub id: String,
    /// File name.
    pub(crate) title: String,
    /// Media type.
    pub(crate) media_type: Option<String>,
    /// Declared size in bytes (informational; downloads enforce their own limit).
    pub file_size: Option<u64>,
    /// Id of the page / blog post it belongs to.
    pub(crate) container_id: String,
    /// Creation instant.
    pub(crate) created_at: Option<DateTime<Utc>>,
    /// Last modification (current version).
    pub(crate) updated_at: Option<DateTime<Utc>>,
    /// Version number.
    pub(crate) version: Option<u64>,
    /// Web UI path.
    pub(crate) webui: Option<String>,
    /// What [`super::ConfluenceClient::download`] needs.
    pub download: AttachmentRef,
}

/// A footer comment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comment {
    /// Comment id.
    pub(crate) id: String,
    /// Id of the page / blog post it is on.
    pub(crate) container_id: String,
    /// Storage-format body.
    pub(crate) body_storage: Option<String>,
    /// Author (Cloud account id or Server/DC username).
    pub(crate) author_id: Option<String>,
    /// Last modification.
    pub(crate) updated_at: Option<DateTime<Utc>>,
    /// Version number.
    pub(crate) version: Option<u64>,
    /// Web UI path.
    pub(crate) webui: Option<String>,
}

/// A label.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Label {
    /// Name.
    pub(crate) name: String,
    /// Prefix (`global`, `my`, `team`), when given.
    pub(crate) prefix: Option<String>,
}

/// Parses an ISO-8601 instant leniently (None when absent or odd).
pub(crate) fn instant(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?.trim()).ok().map(|t| t.with_timezone(&Utc))
}

impl From<v1::Space> for Space {
    fn from(space: v1::Space) -> Self {
        Space {
            id: space.id,
            key: space.key,
            name: space.name,
            kind: space.kind,
            status: space.status,
            webui: space.links.webui,
            created_at: None,
            author_id: None,
        }
    }
}

impl From<v2::Space> for Space {
    fn from(space: v2::Space) -> Self {
        Space {
            id: space.id,
            key: space.key,
            name: space.name,
            kind: space.kind,
            status: space.status,
            webui: space.links.webui,
            created_at: instant(space.created_at.as_deref()),
            author_id: space.author_id,
        }
    }
}

impl From<&v1::User> for UserRef {
    fn from(user: &v1::User) -> Self {
        UserRef {
            account_id: user.account_id.clone(),
            username: user.username.clone(),
            user_key: user.user_key.clone(),
            display_name: user.display_name.clone().or_else(|| user.public_name.clone()),
            email: user.email.clone().filter(|e| !e.is_empty()),
        }
    }
}

/// Read restrictions from a v1 `restrictions.read` (or `byOperation/read`) object; a
/// subject list the answer left out makes them incomplete, never empty.
pub(crate) fn read_restrictions(operation: &v1::RestrictionOperation) -> ReadRestrictions {
    let subjects = operation.restrictions.as_ref();
    let users = subjects.and_then(|s| s.user.as_ref());
    let groups = subjects.and_then(|s| s.group.as_ref());
    ReadRestrictions {
        complete: users.is_some_and(v1::Expansion::is_complete)
            && groups.is_some_and(v1::Expansion::is_complete),
        users: users.map(|u| u.results.iter().map(UserRef::from).collect()).unwrap_or_default(),
        groups: groups
            .map(|g| g.results.iter().map(|g| GroupRef { name: g.name.clone(), id: g.id.clone() }).collect())
            .unwrap_or_default(),
    }
}

impl Content {
    /// Converts a v1 content; None for types other than page and blog post.
    pub(crate) fn from_v1(content: v1::Content) -> Option<Content> {
        let content_type = ContentType::from_v1(&content.kind)?;
        let history = content.history.unwrap_or_default();
        let created_by = history.created_by.unwrap_or_default();
        let version = content.version.or(history.last_updated).unwrap_or_default();
        let labels = content
            .metadata
            .and_then(|m| m.labels)
            .filter(|labels| labels.is_complete())
            .map(|labels| labels.results.into_iter().map(|l| l.name).collect());
        let space = content.space.unwrap_or_default();
        let attachments = content
            .children
            .and_then(|children| children.attachment)
            .filter(|attachments| attachments.is_complete())
            .map(|attachments| {
                attachments.results.into_iter().map(|a| Attachment::from_v1(a, &content.id)).collect()
            });
        Some(Content {
            attachments,
            id: content.id,
            content_type,
            status: content.status,
            title: content.title,
            space_id: space.id,
            space_key: space.key,
            space_name: space.name,
            parent_id: content.ancestors.as_ref().and_then(|a| a.last()).map(|a| a.id.clone()),
            ancestors: content
                .ancestors
                .map(|chain| chain.into_iter().map(|a| Ancestor { id: a.id, title: a.title }).collect()),
            author_id: created_by.account_id.clone().or_else(|| created_by.username.clone()),
            author_name: created_by.display_name.or(created_by.public_name).or(created_by.username),
            created_at: instant(history.created_date.as_deref()),
            updated_at: instant(version.when.as_deref()),
            version: version.number,
            body_storage: content.body.and_then(|b| b.storage).map(|s| s.value),
            labels,
            read_restrictions: content.restrictions.and_then(|r| r.read).map(|read| read_restrictions(&read)),
            webui: content.links.webui,
        })
    }

    /// Converts a v2 page or blog post.
    pub(crate) fn from_v2(content: v2::Content, content_type: ContentType) -> Content {
        let version = content.version.unwrap_or_default();
        Content {
            id: content.id,
            content_type,
            status: content.status,
            title: content.title,
            space_id: content.space_id,
            space_key: None,
            space_name: None,
            parent_id: content.parent_id,
            ancestors: None,
            author_id: content.author_id,
            author_name: None,
            created_at: instant(content.created_at.as_deref()),
            updated_at: instant(version.created_at.as_deref()),
            version: version.number,
            body_storage: content.body.and_then(|b| b.storage).map(|s| s.value),
            labels: None,
            read_restrictions: None,
            webui: content.links.webui,
            attachments: None,
        }
    }
}

impl Attachment {
    /// Converts a v1 attachment of `container_id`.
    pub(crate) fn from_v1(attachment: v1::Content, container_id: &str) -> Attachment {
        let extensions = attachment.extensions.unwrap_or_default();
        let history = attachment.history.unwrap_or_default();
        let version = attachment.version.unwrap_or_default();
        let container_id = attachment.container.map(|c| c.id).unwrap_or_else(|| container_id.to_string());
        Attachment {
            download: AttachmentRef {
                id: attachment.id.clone(),
                container_id: container_id.clone(),
                download_path: attachment.links.download,
            },
            id: attachment.id,
            title: attachment.title,
            media_type: extensions.media_type.or_else(|| attachment.metadata.and_then(|m| m.media_type)),
            file_size: extensions.file_size,
            container_id,
            created_at: instant(history.created_date.as_deref()),
            updated_at: instant(version.when.as_deref()),
            version: version.number,
            webui: attachment.links.webui,
        }
    }

    /// Converts a v2 attachment of `container_id`.
    pub(crate) fn from_v2(attachment: v2::Attachment, container_id: &str) -> Attachment {
        let version = attachment.version.unwrap_or_default();
        let container_id =
            attachment.page_id.or(attachment.blog_post_id).unwrap_or_else(|| container_id.to_string());
        Attachment {
            download: AttachmentRef {
                id: attachment.id.clone(),
                container_id: container_id.clone(),
                download_path: attachment.download_link.or(attachment.links.download),
            },
            id: attachment.id,
            title: attachment.title,
            media_type: attachment.media_type,
            file_size: attachment.file_size,
            container_id,
            created_at: instant(attachment.created_at.as_deref()),
            updated_at: instant(version.created_at.as_deref()),
            version: version.number,
            webui: attachment.webui_link.or(attachment.links.webui),
        }
    }
}

/// Rebuilds ancestor chains from the parent ids of one listing (Cloud v2 gives `parentId`
/// but no ancestor titles). Record every page of a space, then ask for a page's ancestors:
/// parents that were not recorded (another space, restricted, trashed) end the chain with an
/// untitled [`Ancestor`]. Cycles cannot loop: a chain stops at the first repeated id.
#[derive(Debug, Default)]
pub(crate) struct Ancestry {
    pages: HashMap<String, (String, Option<String>)>,
}

impl Ancestry {
    /// Remembers a page's title and parent.
    pub(crate) fn record(&mut self, content: &Content) {
        self.pages.insert(content.id.clone(), (content.title.clone(), content.parent_id.clone()));
    }

    /// The ancestors of `parent_id`'s child, root first.
    pub(crate) fn ancestors(&self, parent_id: Option<&str>) -> Vec<Ancestor> {
        let mut chain = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut next = parent_id.map(str::to_string);
        while let Some(id) = next {
            if !seen.insert(id.clone()) {
                break;
            }
            match self.pages.get(&id) {
                Some((title, parent)) => {
                    chain.push(Ancestor { id, title: Some(title.clone()) });
                    next = parent.clone();
                }
                None => {
                    chain.push(Ancestor { id, title: None });
                    next = None;
                }
            }
        }
        chain.reverse();
        chain
    }
}

#[cfg(test)]
mod tests;
