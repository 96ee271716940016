//! Cloud `api/v2` shapes: flat objects whose relations are ids (`spaceId`, `parentId`,
//! `authorId`), no expansions.

use serde::Deserialize;

pub(crate) use super::v1::Body;
use super::{id_string, opt_id_string, opt_u64};

/// `_links` of a v2 object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Links {
    /// Web UI path, relative to `{site}/wiki`.
    pub(crate) webui: Option<String>,
    /// Legacy download path (401 with API tokens on Cloud; not used for downloads).
    pub(crate) download: Option<String>,
}

/// A space.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Space {
    /// Space id.
    #[serde(deserialize_with = "id_string")]
    pub(crate) id: String,
    /// Space key.
    pub(crate) key: String,
    /// Name.
    #[serde(default)]
    pub(crate) name: String,
    /// `global`, `personal`, ...
    #[serde(rename = "type", default)]
    pub(crate) kind: Option<String>,
    /// `current`, `archived`.
    #[serde(default)]
    pub(crate) status: Option<String>,
    /// Creation instant.
    #[serde(default)]
    pub(crate) created_at: Option<String>,
    /// Creator's account id.
    #[serde(default)]
    pub(crate) author_id: Option<String>,
    /// Links.
    #[serde(rename = "_links", default)]
    pub(crate) links: Links,
}

/// A version of a v2 object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Version {
    /// Version number.
    #[serde(deserialize_with = "opt_u64")]
    pub(crate) number: Option<u64>,
    /// When it was created (ISO-8601): the last modification of the object.
    pub(crate) created_at: Option<String>,
    /// Who made it.
    pub(crate) author_id: Option<String>,
}

/// A page or blog post.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Content {
    /// Id.
    #[serde(deserialize_with = "id_string")]
    pub(crate) id: String,
    /// `current`, `archived`, ...
    #[serde(default)]
    pub(crate) status: Option<String>,
    /// Title.
    #[serde(default)]
    pub(crate) title: String,
    /// Space id.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub(crate) space_id: Option<String>,
    /// Parent id (pages only).
    #[serde(default, deserialize_with = "opt_id_string")]
    pub(crate) parent_id: Option<String>,
    /// Creator's account id.
    #[serde(default)]
    pub(crate) author_id: Option<String>,
    /// Creation instant.
    #[serde(default)]
    pub(crate) created_at: Option<String>,
    /// Current version.
    #[serde(default)]
    pub(crate) version: Option<Version>,
    /// Body.
    #[serde(default)]
    pub(crate) body: Option<Body>,
    /// Links.
    #[serde(rename = "_links", default)]
    pub(crate) links: Links,
}

/// An attachment.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Attachment {
    /// Id (`att123`).
    #[serde(deserialize_with = "id_string")]
    pub(crate) id: String,
    /// Status.
    #[serde(default)]
    pub(crate) status: Option<String>,
    /// File name.
    #[serde(default)]
    pub(crate) title: String,
    /// Creation instant.
    #[serde(default)]
    pub(crate) created_at: Option<String>,
    /// Page container id.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub(crate) page_id: Option<String>,
    /// Blog post container id.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub(crate) blog_post_id: Option<String>,
    /// Media type.
    #[serde(default)]
    pub(crate) media_type: Option<String>,
    /// Declared size in bytes.
    #[serde(default, deserialize_with = "opt_u64")]
    pub(crate) file_size: Option<u64>,
    /// Web UI link.
    #[serde(default)]
    pub(crate) webui_link: Option<String>,
    /// Legacy download link.
    #[serde(default)]
    pub(crate) download_link: Option<String>,
    /// Version.
    #[serde(default)]
    pub(crate) version: Option<Version>,
    /// Links.
    #[serde(rename = "_links", default)]
    pub(crate) links: Links,
}

/// A label.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Label {
    /// Name.
    pub(crate) name: String,
    /// Prefix.
    #[serde(default)]
    pub(crate) prefix: Option<String>,
}

/// A footer comment.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Comment {
    /// Id.
    #[serde(deserialize_with = "id_string")]
    pub(crate) id: String,
    /// Page container.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub(crate) page_id: Option<String>,
    /// Blog post container.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub(crate) blog_post_id: Option<String>,
    /// Version (author and instant).
    #[serde(default)]
    pub(crate) version: Option<Version>,
    /// Body.
    #[serde(default)]
    pub(crate) body: Option<Body>,
    /// Links.
    #[serde(rename = "_links", default)]
    pub(crate) links: Links,
}
