//! The site model: spaces, content (pages, blog posts, attachments, footer comments), users,
//! groups, space permissions and read restrictions, as Confluence stores them — one compact
//! record per item, with indexes by space and by container so that every listing is a range
//! walk, never a scan of the whole site. Page bodies and attachment bytes are not stored: they
//! are derived from (seed, id, version) when a request asks for them, unless an edit stored
//! an explicit body.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use super::config::Flavour;

/// The kinds of content Confluence stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContentKind {
    /// A page (lives in a tree under the space's home page).
    Page,
    /// A blog post (flat, by date).
    BlogPost,
    /// A file attached to a page or blog post.
    Attachment,
    /// A footer comment on a page or blog post.
    Comment,
    /// A Cloud folder in the page tree: pages may sit below it, and its read restriction
    /// is inherited like a page's. Not a document: listings and search leave it out.
    Folder,
}

impl ContentKind {
    /// The `type` value the REST API and CQL use.
    pub fn api_name(self) -> &'static str {
        match self {
            ContentKind::Page => "page",
            ContentKind::BlogPost => "blogpost",
            ContentKind::Attachment => "attachment",
            ContentKind::Comment => "comment",
            ContentKind::Folder => "folder",
        }
    }

    /// Parses a CQL / REST `type` value.
    pub fn parse(text: &str) -> Option<ContentKind> {
        match text.to_ascii_lowercase().as_str() {
            "page" => Some(ContentKind::Page),
            "blogpost" | "blog_post" | "blog" => Some(ContentKind::BlogPost),
            "attachment" => Some(ContentKind::Attachment),
            "comment" => Some(ContentKind::Comment),
            "folder" => Some(ContentKind::Folder),
            _ => None,
        }
    }
}

/// Whether content is live or in the space's trash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentStatus {
    /// Live content.
    Current,
    /// In the trash: hidden from search and default listings, can still be purged.
    Trashed,
}

impl ContentStatus {
    /// The `status` value of the REST API.
    pub fn api_name(self) -> &'static str {
        match self {
            ContentStatus::Current => "current",
            ContentStatus::Trashed => "trashed",
        }
    }
}

/// A real file format an attachment can have: the kinds the test world's file generator
/// ([`super::files`]) makes real bytes for.
pub use super::files::FileKind as AttachmentFormat;

/// Confluence's human description of an attachment's media type (v2
/// `mediaTypeDescription`, Cloud v1 `extensions.mediaTypeDescription`).
pub fn format_description(format: AttachmentFormat) -> &'static str {
    match format {
        AttachmentFormat::Txt | AttachmentFormat::Md => "Text File",
        AttachmentFormat::Csv => "CSV File",
        AttachmentFormat::Json => "JSON File",
        AttachmentFormat::Xml => "XML File",
        AttachmentFormat::Html => "HTML Document",
        AttachmentFormat::Pdf => "PDF Document",
        AttachmentFormat::Docx => "Microsoft Word Document",
        AttachmentFormat::Xlsx => "Microsoft Excel Spreadsheet",
        AttachmentFormat::Pptx => "Microsoft PowerPoint Presentation",
        AttachmentFormat::Png => "PNG Image",
    }
}

/// What an attachment record knows about its file.
#[derive(Debug, Clone)]
pub struct FileInfo {
    /// The format of the bytes.
    pub format: AttachmentFormat,
    /// The size asked of the file generator (the real length is close to it).
    pub approx_size: u64,
    /// The exact length of the bytes served, computed once on first use (see
    /// [`super::attachment::file_size`]).
    pub exact_size: std::sync::OnceLock<u64>,
    /// Seed of the bytes (changes with every new version).
    pub seed: u64,
    /// The upload comment.
    pub comment: String,
    /// The Media API file id (Cloud v2 `fileId`).
    pub file_id: String,
}

/// Where a body comes from: derived on demand, or stored by an edit.
#[derive(Debug, Clone)]
pub enum Body {
    /// Derived from (seed, id, version); `paragraphs` sets the size.
    Generated {
        /// Number of generated sections.
        paragraphs: u32,
    },
    /// Storage-format XHTML written by a mutation.
    Stored(Arc<str>),
}

/// The read restriction set directly on one page or blog post (not the inherited ones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadRestriction {
    /// Users (indexes into [`Site::users`]).
    pub users: Vec<u32>,
    /// Groups (indexes into [`Site::groups`]).
    pub groups: Vec<u32>,
}

/// One piece of content.
#[derive(Debug, Clone)]
pub struct Content {
    /// Numeric id (attachments are shown as `att<id>`).
    pub id: u64,
    /// Page, blog post, attachment or comment.
    pub kind: ContentKind,
    /// Id of the space the content lives in.
    pub space_id: u64,
    /// Pages: the parent page; attachments and comments: the container; blog posts: none.
    pub parent: Option<u64>,
    /// Live or trashed.
    pub status: ContentStatus,
    /// Title (attachments: the file name).
    pub title: String,
    /// Version number, from 1.
    pub version: u32,
    /// Creation time, milliseconds since the epoch.
    pub created: i64,
    /// Last modification time, milliseconds since the epoch.
    pub modified: i64,
    /// Index of the creator in [`Site::users`].
    pub creator: u32,
    /// Index of the last editor in [`Site::users`].
    pub modifier: u32,
    /// Position among siblings (pages).
    pub position: u32,
    /// Global label names.
    pub labels: Vec<String>,
    /// The read restriction set on this content itself.
    pub restriction: Option<Box<ReadRestriction>>,
    /// Storage-format body source.
    pub body: Body,
    /// Attachments only: the file.
    pub file: Option<Box<FileInfo>>,
    /// Child pages, by position.
    pub children: Vec<u64>,
    /// Attachments of this page or blog post.
    pub attachments: Vec<u64>,
    /// Footer comments of this page or blog post.
    pub comments: Vec<u64>,
}

/// `global` or `personal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpaceType {
    /// A team space.
    Global,
    /// A user's personal space (key `~…`).
    Personal,
}

impl SpaceType {
    /// The `type` value of the REST API.
    pub fn api_name(self) -> &'static str {
        match self {
            SpaceType::Global => "global",
            SpaceType::Personal => "personal",
        }
    }
}

/// `current` or `archived`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpaceStatus {
    /// In use.
    Current,
    /// Archived: read-only, left out of `rest/api/search` unless asked for.
    Archived,
}

impl SpaceStatus {
    /// The `status` value of the REST API.
    pub fn api_name(self) -> &'static str {
        match self {
            SpaceStatus::Current => "current",
            SpaceStatus::Archived => "archived",
        }
    }
}

/// Who a space permission is granted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A user (index into [`Site::users`]).
    User(u32),
    /// A group (index into [`Site::groups`]).
    Group(u32),
    /// Anonymous (not logged-in) access.
    Anonymous,
    /// A Cloud access class other than anonymous access (`authenticated-users`,
    /// `all-licensed-users`, `all-product-admins`, …), by its id; see
    /// [`super::access::class_covers`] for whom each covers.
    AccessClass(&'static str),
}

/// One granted space permission: an operation on a target type, to one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpacePermission {
    /// Permission id.
    pub id: u64,
    /// The grantee.
    pub subject: Subject,
    /// `read`, `create`, `delete`, `export`, `administer`, …
    pub operation: String,
    /// `space`, `page`, `blogpost`, `comment`, `attachment`.
    pub target: String,
}

impl SpacePermission {
    /// The Server/DC (JSON-RPC, Extender) name of the permission, e.g. `VIEWSPACE`.
    pub fn server_name(&self) -> &'static str {
        match (self.operation.as_str(), self.target.as_str()) {
            ("read", "space") => "VIEWSPACE",
            ("create", "page") => "EDITSPACE",
            ("create", "blogpost") => "EDITBLOG",
            ("create", "comment") => "COMMENT",
            ("create", "attachment") => "CREATEATTACHMENT",
            ("delete", "page") => "REMOVEPAGE",
            ("export", "space") => "EXPORTSPACE",
            ("administer", "space") => "SETSPACEPERMISSIONS",
            _ => "UNKNOWN",
        }
    }
}

/// A space and its content indexes.
#[derive(Debug, Clone)]
pub struct Space {
    /// Numeric id.
    pub id: u64,
    /// Space key (`ENG`, `~admin`).
    pub key: String,
    /// Display name.
    pub name: String,
    /// Global or personal.
    pub space_type: SpaceType,
    /// Current or archived.
    pub status: SpaceStatus,
    /// Plain-text description.
    pub description: String,
    /// The home page.
    pub homepage: Option<u64>,
    /// Creation time (ms since the epoch).
    pub created: i64,
    /// Creator (index into [`Site::users`]).
    pub creator: u32,
    /// Granted permissions.
    pub permissions: Vec<SpacePermission>,
    /// Every page of the space (any status), by id.
    pub pages: BTreeSet<u64>,
    /// Every blog post of the space (any status), by id.
    pub blogposts: BTreeSet<u64>,
    /// Every attachment of the space (any status), by id.
    pub attachments: BTreeSet<u64>,
    /// Every footer comment of the space (any status), by id.
    pub comments: BTreeSet<u64>,
    /// Every folder of the space (Cloud), by id.
    pub folders: BTreeSet<u64>,
}

impl Space {
    /// The index set of one content kind.
    pub fn ids(&self, kind: ContentKind) -> &BTreeSet<u64> {
        match kind {
            ContentKind::Page => &self.pages,
            ContentKind::BlogPost => &self.blogposts,
            ContentKind::Attachment => &self.attachments,
            ContentKind::Comment => &self.comments,
            ContentKind::Folder => &self.folders,
        }
    }

    /// The mutable index set of one content kind.
    pub fn ids_mut(&mut self, kind: ContentKind) -> &mut BTreeSet<u64> {
        match kind {
            ContentKind::Page => &mut self.pages,
            ContentKind::BlogPost => &mut self.blogposts,
            ContentKind::Attachment => &mut self.attachments,
            ContentKind::Comment => &mut self.comments,
            ContentKind::Folder => &mut self.folders,
        }
    }
}

/// `atlassian` (a person) or `app` (a bot account), Cloud's `accountType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountType {
    /// A person.
    Atlassian,
    /// An app / bot account.
    App,
}

impl AccountType {
    /// The `accountType` value of the REST API.
    pub fn api_name(self) -> &'static str {
        match self {
            AccountType::Atlassian => "atlassian",
            AccountType::App => "app",
        }
    }
}

/// A user account. `Debug` hides the secrets.
#[derive(Clone)]
pub struct User {
    /// Server/DC login name.
    pub username: String,
    /// Server/DC stable key (32 hex digits).
    pub user_key: String,
    /// Cloud account id.
    pub account_id: String,
    /// Full name.
    pub display_name: String,
    /// E-mail address.
    pub email: String,
    /// Whether the account may log in.
    pub active: bool,
    /// Person or app.
    pub account_type: AccountType,
    /// Site administrator (may read space permissions on DC).
    pub site_admin: bool,
    /// Server/DC password.
    pub password: String,
    /// Cloud API token.
    pub api_token: String,
    /// Data Center personal access token.
    pub pat: String,
    /// Deleted by a mutation (kept so that indexes stay stable).
    pub removed: bool,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("username", &self.username)
            .field("account_id", &self.account_id)
            .field("display_name", &self.display_name)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// A group of users.
#[derive(Debug, Clone)]
pub struct Group {
    /// Group name (Server/DC identity).
    pub name: String,
    /// Cloud group id (a UUID).
    pub id: String,
    /// Members (indexes into [`Site::users`]).
    pub members: BTreeSet<u32>,
    /// Deleted by a mutation (kept so that indexes stay stable).
    pub removed: bool,
}

/// The whole site.
#[derive(Debug, Clone)]
pub struct Site {
    /// Flavour served (changes the shape of users, ids and timestamps).
    pub flavour: Flavour,
    /// Seed of derived bodies and files.
    pub seed: u64,
    /// The site's time zone.
    pub time_zone: chrono_tz::Tz,
    /// Spaces by id.
    pub spaces: BTreeMap<u64, Space>,
    /// Space id by key.
    pub space_keys: HashMap<String, u64>,
    /// All content by id.
    pub content: BTreeMap<u64, Content>,
    /// All users ever created.
    pub users: Vec<User>,
    /// All groups ever created.
    pub groups: Vec<Group>,
    /// Next id for new content, spaces and permissions.
    pub next_id: u64,
    /// Bumped by every mutation (search caches key on it).
    pub generation: u64,
    /// How far the site's clock is ahead of the host's (negative: behind), in milliseconds:
    /// tests set it to place the site at a chosen date (`SiteHandle::set_clock`) or to let
    /// minutes pass on the site without waiting (`SiteHandle::advance_clock`).
    pub clock_offset_ms: i64,
}

impl Site {
    /// The site's "now": what CQL's `now()` is relative to, and when mutations happen.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::milliseconds(self.clock_offset_ms)
    }

    /// [`Site::now`] in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// The space with this key.
    pub fn space_by_key(&self, key: &str) -> Option<&Space> {
        self.space_keys.get(key).and_then(|id| self.spaces.get(id))
    }

    /// The content with this id.
    pub fn get(&self, id: u64) -> Option<&Content> {
        self.content.get(&id)
    }

    /// Ids of the page ancestors of `id`, root first (for attachments and comments: their
    /// container's ancestors followed by the container).
    pub fn ancestors(&self, id: u64) -> Vec<u64> {
        let mut chain = Vec::new();
        let mut current = self.content.get(&id).and_then(|c| c.parent);
        while let Some(parent) = current {
            chain.push(parent);
            current = self.content.get(&parent).and_then(|c| c.parent);
            if chain.len() > 10_000 {
                break; // a cycle would be a generator bug; never loop forever on it
            }
        }
        chain.reverse();
        chain
    }

    /// The user at `index`, if present.
    pub fn user(&self, index: u32) -> Option<&User> {
        self.users.get(index as usize).filter(|u| !u.removed)
    }

    /// The group at `index`, if present.
    pub fn group(&self, index: u32) -> Option<&Group> {
        self.groups.get(index as usize).filter(|g| !g.removed)
    }

    /// Index of the user with this username, userKey or accountId.
    pub fn find_user(&self, who: &str) -> Option<u32> {
        self.users
            .iter()
            .position(|u| !u.removed && (u.username == who || u.user_key == who || u.account_id == who))
            .map(|i| i as u32)
    }

    /// Index of the group with this name or id.
    pub fn find_group(&self, who: &str) -> Option<u32> {
        self.groups.iter().position(|g| !g.removed && (g.name == who || g.id == who)).map(|i| i as u32)
    }

    /// Whether the content is current and so is every container above it.
    pub fn is_live(&self, id: u64) -> bool {
        let Some(content) = self.content.get(&id) else {
            return false;
        };
        if content.status != ContentStatus::Current {
            return false;
        }
        match content.kind {
            ContentKind::Attachment | ContentKind::Comment => content
                .parent
                .and_then(|p| self.content.get(&p))
                .is_some_and(|c| c.status == ContentStatus::Current),
            _ => true,
        }
    }

    /// Allocates a fresh id.
    pub fn allocate_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Formats a timestamp as this flavour's REST API does: Cloud in UTC with `Z`,
    /// Server/DC in the site's zone with its offset (`2023-01-24T14:07:19.672+10:00`).
    pub fn format_time(&self, millis: i64) -> String {
        format_time(self.flavour, self.time_zone, millis)
    }
}

/// See [`Site::format_time`].
pub fn format_time(flavour: Flavour, zone: chrono_tz::Tz, millis: i64) -> String {
    let utc: DateTime<Utc> = Utc
        .timestamp_millis_opt(millis)
        .single()
        .unwrap_or_else(|| DateTime::<Utc>::from_timestamp(0, 0).unwrap_or_default());
    match flavour {
        Flavour::Cloud => utc.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Flavour::Server | Flavour::DataCenter => {
            utc.with_timezone(&zone).format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
        }
    }
}

/// The id of content as the REST API shows it: attachments are `att<id>`.
pub fn api_id(kind: ContentKind, id: u64) -> String {
    match kind {
        ContentKind::Attachment => format!("att{id}"),
        _ => id.to_string(),
    }
}

/// Parses an id as a client may send it (`123`, `att123`).
pub fn parse_api_id(text: &str) -> Option<u64> {
    text.strip_prefix("att").unwrap_or(text).parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_follow_the_flavour() {
        let millis = 1_674_533_239_672; // 2023-01-24T04:07:19.672Z
        assert_eq!(
            format_time(Flavour::Cloud, chrono_tz::Australia::Sydney, millis),
            "2023-01-24T04:07:19.672Z"
        );
        assert_eq!(
            format_time(Flavour::DataCenter, chrono_tz::Australia::Sydney, millis),
            "2023-01-24T15:07:19.672+11:00"
        );
    }

    #[test]
    fn attachment_ids_carry_the_att_prefix() {
        assert_eq!(api_id(ContentKind::Attachment, 7), "att7");
        assert_eq!(api_id(ContentKind::Page, 7), "7");
        assert_eq!(parse_api_id("att7"), Some(7));
        assert_eq!(parse_api_id("x"), None);
    }
}
