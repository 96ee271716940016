//! What a correct full sync must produce: every space and every content item with its type,
//! space, title, last modification and parent, and whether a sync of `spaces: *` indexes it.
//!
//! The rule (matching what the real APIs list by default):
//! - every space is indexed — current and archived, global and personal — because
//!   `rest/api/space` and v2 `spaces` list them all when no `status`/`type` filter is given;
//! - pages, blog posts and attachments are indexed when they are current and, for
//!   attachments, their container is current too; content of archived spaces is indexed;
//! - trashed content is never indexed (CQL and default v2 listings leave it out);
//! - footer comments are listed (kind [`ContentKind::Comment`]) but not indexed, as the
//!   Elastic connector does not index comments.

use chrono::{DateTime, Utc};

use super::access::{class_covers, read_layers, space_viewers, Principals};
use super::model::{api_id, AccountType, ContentKind, ContentStatus, Site, SpaceStatus, SpaceType};

/// One space in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogSpace {
    /// Space id (as the API shows it).
    pub id: String,
    /// Space key.
    pub key: String,
    /// Name.
    pub name: String,
    /// Global or personal.
    pub space_type: SpaceType,
    /// Current or archived.
    pub status: SpaceStatus,
    /// Whether a `spaces: *` sync indexes it (always true; see the module docs).
    pub indexed: bool,
    /// Who may view the space (`read`/`space`, Server/DC VIEWSPACE).
    pub viewers: Principals,
}

/// One content item in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    /// Content id as the API shows it (`att…` for attachments).
    pub id: String,
    /// Page, blog post, attachment or comment.
    pub kind: ContentKind,
    /// Key of its space.
    pub space_key: String,
    /// Title (file name for attachments).
    pub title: String,
    /// Last modification.
    pub last_modified: DateTime<Utc>,
    /// Current version number.
    pub version: u32,
    /// Parent page (pages) or container (attachments, comments), API id.
    pub parent: Option<String>,
    /// Current or trashed.
    pub status: ContentStatus,
    /// Whether a `spaces: *` sync indexes it.
    pub indexed: bool,
    /// Read restrictions that apply, root-most first (see [`super::access::read_layers`]);
    /// the effective readers are the space's viewers who satisfy every layer.
    pub read_layers: Vec<Principals>,
}

/// One user account, as an access-control sync must see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogUser {
    /// Server/DC username.
    pub username: String,
    /// Server/DC user key.
    pub user_key: String,
    /// Cloud account id.
    pub account_id: String,
    /// Full name.
    pub display_name: String,
    /// E-mail address.
    pub email: String,
    /// Active (may log in).
    pub active: bool,
    /// Person or app.
    pub account_type: AccountType,
    /// Site administrator.
    pub site_admin: bool,
    /// Names of the groups the user belongs to.
    pub groups: Vec<String>,
}

/// The expected result of a full sync.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Every space.
    pub spaces: Vec<CatalogSpace>,
    /// Every content item (including trashed ones and comments, marked not indexed).
    pub content: Vec<CatalogEntry>,
    /// Every (not deleted) user.
    pub users: Vec<CatalogUser>,
}

impl Catalog {
    /// Builds the catalog of a site.
    pub fn of(site: &Site) -> Catalog {
        let spaces = site
            .spaces
            .values()
            .map(|s| CatalogSpace {
                id: s.id.to_string(),
                key: s.key.clone(),
                name: s.name.clone(),
                space_type: s.space_type,
                status: s.status,
                indexed: true,
                viewers: space_viewers(site, s.id),
            })
            .collect();
        let content = site
            .content
            .values()
            .map(|c| CatalogEntry {
                id: api_id(c.kind, c.id),
                kind: c.kind,
                space_key: site.spaces.get(&c.space_id).map(|s| s.key.clone()).unwrap_or_default(),
                title: c.title.clone(),
                last_modified: DateTime::from_timestamp_millis(c.modified).unwrap_or_default(),
                version: c.version,
                parent: c.parent.map(|p| {
                    let kind = site.get(p).map(|x| x.kind).unwrap_or(ContentKind::Page);
                    api_id(kind, p)
                }),
                status: c.status,
                indexed: indexes(c.kind) && site.is_live(c.id),
                read_layers: read_layers(site, c.id),
            })
            .collect();
        let users = site
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| !u.removed)
            .map(|(i, u)| CatalogUser {
                username: u.username.clone(),
                user_key: u.user_key.clone(),
                account_id: u.account_id.clone(),
                display_name: u.display_name.clone(),
                email: u.email.clone(),
                active: u.active,
                account_type: u.account_type,
                site_admin: u.site_admin,
                groups: site
                    .groups
                    .iter()
                    .filter(|g| !g.removed && g.members.contains(&(i as u32)))
                    .map(|g| g.name.clone())
                    .collect(),
            })
            .collect();
        Catalog { spaces, content, users }
    }

    /// [`Catalog::documents`] of a site, without building the catalog (cheap on a
    /// million-page site).
    pub fn count_documents(site: &Site) -> usize {
        site.spaces.len() + site.content.values().filter(|c| indexes(c.kind) && site.is_live(c.id)).count()
    }

    /// Documents a `spaces: *` sync indexes: spaces plus indexed content.
    pub fn documents(&self) -> usize {
        self.spaces.iter().filter(|s| s.indexed).count() + self.content.iter().filter(|c| c.indexed).count()
    }

    /// Documents a sync of these space keys indexes.
    pub fn documents_in(&self, keys: &[&str]) -> usize {
        self.spaces.iter().filter(|s| s.indexed && keys.contains(&s.key.as_str())).count()
            + self.content.iter().filter(|c| c.indexed && keys.contains(&c.space_key.as_str())).count()
    }

    /// Indexed content of one kind.
    pub fn indexed(&self, kind: ContentKind) -> impl Iterator<Item = &CatalogEntry> {
        self.content.iter().filter(move |c| c.indexed && c.kind == kind)
    }

    /// The active users who may read the content with this API id: space viewers (by name,
    /// by group or anonymously) who satisfy every read restriction layer.
    pub fn readers(&self, id: &str) -> Vec<&CatalogUser> {
        let Some(entry) = self.get(id) else {
            return Vec::new();
        };
        let Some(space) = self.spaces.iter().find(|s| s.key == entry.space_key) else {
            return Vec::new();
        };
        let satisfies = |user: &CatalogUser, principals: &Principals| {
            principals.users.iter().any(|u| u.username == user.username)
                || principals.groups.iter().any(|g| user.groups.contains(&g.name))
                || principals.classes.iter().any(|c| class_covers(c, user.account_type, user.site_admin))
        };
        self.users
            .iter()
            .filter(|u| u.active)
            .filter(|u| space.viewers.anonymous || satisfies(u, &space.viewers))
            .filter(|u| entry.read_layers.iter().all(|layer| satisfies(u, layer)))
            .collect()
    }

    /// The entry with this API id.
    pub fn get(&self, id: &str) -> Option<&CatalogEntry> {
        self.content.iter().find(|c| c.id == id)
    }
}

/// Whether content of this kind is a document: not comments (Elastic's connector does not
/// index them) and not folders.
fn indexes(kind: ContentKind) -> bool {
    !matches!(kind, ContentKind::Comment | ContentKind::Folder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::config::{Flavour, SimConfig, Size};
    use crate::confluence::generate::generate;

    #[test]
    fn small_site_matches_the_fixture_count_plus_the_edge_cases() {
        let site = generate(&SimConfig::new(Flavour::Server, Size::Small));
        let catalog = Catalog::of(&site);
        // Regular part: 10 + 10·50 + 10·50·2 = 1,510. Edge cases: 2 more spaces, 14 pages,
        // a 10 MB attachment and 2 attachments with awkward names in ENG, 2 pages + 1 blog post in the personal space,
        // 4 pages + 1 blog post + 1 attachment in the archived space.
        assert_eq!(catalog.documents(), 1_510 + 2 + 17 + 3 + 6);
        assert_eq!(Catalog::count_documents(&site), catalog.documents());
        assert_eq!(catalog.documents_in(&["MKT"]), 1 + 50 + 100);
        assert!(catalog.content.iter().any(|c| c.status == ContentStatus::Trashed && !c.indexed));
        assert!(catalog.content.iter().any(|c| c.kind == ContentKind::Comment && !c.indexed));
    }

    #[test]
    fn readers_agree_with_the_access_rules() {
        let site = generate(&SimConfig::new(Flavour::DataCenter, Size::Small));
        let catalog = Catalog::of(&site);
        let mut restricted_checked = 0;
        for entry in catalog.content.iter().filter(|c| c.indexed).step_by(7) {
            let id = crate::confluence::model::parse_api_id(&entry.id).expect("id");
            let readers: Vec<&str> = catalog.readers(&entry.id).iter().map(|u| u.username.as_str()).collect();
            for (index, user) in site.users.iter().enumerate() {
                let allowed = crate::confluence::access::can_read(&site, index as u32, id);
                assert_eq!(
                    readers.contains(&user.username.as_str()),
                    allowed,
                    "{} on {}",
                    user.username,
                    entry.id
                );
            }
            restricted_checked += usize::from(!entry.read_layers.is_empty());
        }
        assert!(restricted_checked > 0);
    }
}
