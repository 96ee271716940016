//! The classic `rest/api` shapes (Server/DC everywhere; Cloud content search and search).

use serde::Deserialize;

use super::{id_string, opt_id_string, opt_u64};

/// `_links` of an object or a page of results.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Links {
    /// Next page, relative to `base` (absent on the last page).
    pub(crate) next: Option<String>,
    /// The REST base, e.g. `https://x.atlassian.net/wiki`.
    pub(crate) base: Option<String>,
    /// Web UI path.
    pub(crate) webui: Option<String>,
    /// Binary download path of an attachment.
    pub(crate) download: Option<String>,
}

/// A paginated expansion (`metadata.labels`, restriction subjects, `children.attachment`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub(crate) struct Expansion<T> {
    /// This page of the expansion.
    pub(crate) results: Vec<T>,
    /// Offset of the page.
    pub(crate) start: Option<u64>,
    /// Page size asked for.
    pub(crate) limit: Option<u64>,
    /// Size of the returned page (not a total), though some answers put the total here.
    pub(crate) size: Option<u64>,
    /// The total before pagination, when the API says (`shouldReturnTotalSize`).
    #[serde(rename = "totalSize")]
    pub(crate) total_size: Option<u64>,
    /// Links; `next` means more items exist than were expanded.
    #[serde(rename = "_links")]
    pub(crate) links: Links,
}

impl<T> Default for Expansion<T> {
    fn default() -> Self {
        Expansion {
            results: Vec::new(),
            start: None,
            limit: None,
            size: None,
            total_size: None,
            links: Links::default(),
        }
    }
}

impl<T> Expansion<T> {
    /// True when the expansion holds every item: no next page, not a full page, and no
    /// size or total beyond the items returned.
    pub(crate) fn is_complete(&self) -> bool {
        let returned = self.results.len() as u64;
        self.links.next.is_none()
            && !matches!((self.size, self.limit), (Some(size), Some(limit)) if limit > 0 && size >= limit)
            && self.size.is_none_or(|size| size <= returned)
            && self.total_size.is_none_or(|total| total <= returned)
    }
}

/// A space.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Space {
    /// Numeric id (sent as a number).
    #[serde(deserialize_with = "id_string")]
    pub(crate) id: String,
    /// Space key.
    pub(crate) key: String,
    /// Display name.
    #[serde(default)]
    pub(crate) name: String,
    /// `global` or `personal`.
    #[serde(rename = "type", default)]
    pub(crate) kind: Option<String>,
    /// `current` or `archived`.
    #[serde(default)]
    pub(crate) status: Option<String>,
    /// Links.
    #[serde(rename = "_links", default)]
    pub(crate) links: Links,
}

/// A user reference (Cloud: accountId; Server/DC: username/userKey).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct User {
    /// `known`, `unknown`, `anonymous`, `user`.
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    /// Cloud account id.
    pub(crate) account_id: Option<String>,
    /// Server/DC username.
    pub(crate) username: Option<String>,
    /// Server/DC user key.
    pub(crate) user_key: Option<String>,
    /// Display name.
    pub(crate) display_name: Option<String>,
    /// Public name (Cloud).
    pub(crate) public_name: Option<String>,
    /// Email (often hidden on Cloud).
    pub(crate) email: Option<String>,
}

/// A group reference (Cloud has an id; Server/DC only a name).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Group {
    /// Group name.
    pub(crate) name: Option<String>,
    /// Cloud group id.
    #[serde(deserialize_with = "opt_id_string")]
    pub(crate) id: Option<String>,
}

/// `history` expansion.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct History {
    /// Creator.
    pub(crate) created_by: Option<User>,
    /// Creation instant (ISO-8601).
    pub(crate) created_date: Option<String>,
    /// Last update (`history.lastUpdated`).
    pub(crate) last_updated: Option<Version>,
}

/// A version (`version` or `history.lastUpdated`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Version {
    /// Version number.
    #[serde(deserialize_with = "opt_u64")]
    pub(crate) number: Option<u64>,
    /// When it was made (ISO-8601).
    pub(crate) when: Option<String>,
    /// Who made it.
    pub(crate) by: Option<User>,
}

/// `body` expansion.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Body {
    /// Storage format.
    pub(crate) storage: Option<Storage>,
}

/// A body representation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Storage {
    /// The XHTML.
    pub(crate) value: String,
}

/// A label.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Label {
    /// Label id.
    #[serde(deserialize_with = "opt_id_string")]
    pub(crate) id: Option<String>,
    /// Label name.
    pub(crate) name: String,
    /// `global`, `my`, `team`, `system`.
    pub(crate) prefix: Option<String>,
}

/// `metadata` expansion.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Metadata {
    /// `metadata.labels`.
    pub(crate) labels: Option<Expansion<Label>>,
    /// Attachment media type.
    pub(crate) media_type: Option<String>,
}

/// `restrictions` expansion (read only).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Restrictions {
    /// `restrictions.read`; `None` when not expanded.
    pub(crate) read: Option<RestrictionOperation>,
}

/// One operation's restrictions (also the shape of `restriction/byOperation/read`).
///
/// Every level is an `Option` so that a part Confluence left out (not expanded, listed
/// under `_expandable` instead) stays distinguishable from an empty list: only an empty
/// list means "nobody named" ([`crate::confluence::ReadRestrictions::complete`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RestrictionOperation {
    /// The subjects; `None` when left out.
    pub(crate) restrictions: Option<RestrictionSubjects>,
}

/// Users and groups of a restriction.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RestrictionSubjects {
    /// Users; `None` when not expanded.
    pub(crate) user: Option<Expansion<User>>,
    /// Groups; `None` when not expanded.
    pub(crate) group: Option<Expansion<Group>>,
}

/// Attachment `extensions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Extensions {
    /// Media type.
    pub(crate) media_type: Option<String>,
    /// Size in bytes (declared; never trusted for limits).
    #[serde(deserialize_with = "opt_u64")]
    pub(crate) file_size: Option<u64>,
    /// Upload comment.
    pub(crate) comment: Option<String>,
}

/// The space of a content (`space` expansion).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SpaceRef {
    /// Space id.
    #[serde(deserialize_with = "opt_id_string")]
    pub(crate) id: Option<String>,
    /// Space key.
    pub(crate) key: Option<String>,
    /// Space name.
    pub(crate) name: Option<String>,
}

/// An ancestor or container reference.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ContentRef {
    /// Content id.
    #[serde(deserialize_with = "id_string")]
    pub(crate) id: String,
    /// `page`, `blogpost`, ...
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    /// Title.
    pub(crate) title: Option<String>,
}

/// A content item (page, blog post, comment, attachment) from `content/search`,
/// `child/attachment`, `child/comment`.
#[derive(Debug, Clone, Deserialize)]
pub struct Content {
    /// Content id.
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// `page`, `blogpost`, `comment`, `attachment`.
    #[serde(rename = "type", default)]
    pub(crate) kind: String,
    /// `current`, `archived`, `draft`, `trashed`.
    #[serde(default)]
    pub(crate) status: Option<String>,
    /// Title (the file name for attachments).
    #[serde(default)]
    pub(crate) title: String,
    /// `space` expansion.
    #[serde(default)]
    pub(crate) space: Option<SpaceRef>,
    /// `history` expansion.
    #[serde(default)]
    pub(crate) history: Option<History>,
    /// `version` expansion.
    #[serde(default)]
    pub(crate) version: Option<Version>,
    /// `ancestors` expansion (root first); `None` when not expanded, which is not the
    /// empty chain of a top-level page.
    #[serde(default)]
    pub(crate) ancestors: Option<Vec<ContentRef>>,
    /// `body` expansion.
    #[serde(default)]
    pub(crate) body: Option<Body>,
    /// `metadata` expansion.
    #[serde(default)]
    pub(crate) metadata: Option<Metadata>,
    /// `restrictions` expansion.
    #[serde(default)]
    pub(crate) restrictions: Option<Restrictions>,
    /// Attachment extensions.
    #[serde(default)]
    pub(crate) extensions: Option<Extensions>,
    /// Attachment / comment container.
    #[serde(default)]
    pub(crate) container: Option<ContentRef>,
    /// `children` expansion (`children.attachment`).
    #[serde(default)]
    pub(crate) children: Option<Children>,
    /// Links.
    #[serde(rename = "_links", default)]
    pub(crate) links: Links,
}

/// The `children` expansion of a content.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Children {
    /// `children.attachment`: the first page of its attachments.
    pub(crate) attachment: Option<Expansion<Content>>,
}

/// One hit of `rest/api/search`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    /// The content, for content hits.
    #[serde(default)]
    pub content: Option<Content>,
    /// The space, for space hits.
    #[serde(default)]
    pub(crate) space: Option<Space>,
}
