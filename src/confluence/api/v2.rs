//! Cloud `api/v2` shapes: flat objects whose relations are ids (`spaceId`, `parentId`,
//! `authorId`), no expansions.

use serde::Deserialize;

pub use super::v1::{Body, Storage};
use super::{id_string, opt_id_string, opt_u64};

/// `_links` of a v2 object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Links {
    /// Web UI path, relative to `{site}/wiki`.
    pub webui: Option<String>,
    /// Legacy download path (401 with API tokens on Cloud; not used for downloads).
    pub download: Option<String>,
}

/// A space.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Space {
    /// Space id.
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// Space key.
    pub key: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// `global`, `personal`, ...
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// `current`, `archived`.
    #[serde(default)]
    pub status: Option<String>,
    /// Home page id.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub homepage_id: Option<String>,
    /// Creation instant.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Creator's account id.
    #[serde(default)]
    pub author_id: Option<String>,
    /// Links.
    #[serde(rename = "_links", default)]
    pub links: Links,
}

/// A version of a v2 object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Version {
    /// Version number.
    #[serde(deserialize_with = "opt_u64")]
    pub number: Option<u64>,
    /// When it was created (ISO-8601): the last modification of the object.
    pub created_at: Option<String>,
    /// Who made it.
    pub author_id: Option<String>,
}

/// A page or blog post.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    /// Id.
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// `current`, `archived`, ...
    #[serde(default)]
    pub status: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Space id.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub space_id: Option<String>,
    /// Parent id (pages only).
    #[serde(default, deserialize_with = "opt_id_string")]
    pub parent_id: Option<String>,
    /// Parent type.
    #[serde(default)]
    pub parent_type: Option<String>,
    /// Creator's account id.
    #[serde(default)]
    pub author_id: Option<String>,
    /// Owner's account id.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// Creation instant.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Current version.
    #[serde(default)]
    pub version: Option<Version>,
    /// Body.
    #[serde(default)]
    pub body: Option<Body>,
    /// Links.
    #[serde(rename = "_links", default)]
    pub links: Links,
}

/// An attachment.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// Id (`att123`).
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
    /// File name.
    #[serde(default)]
    pub title: String,
    /// Creation instant.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Page container id.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub page_id: Option<String>,
    /// Blog post container id.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub blog_post_id: Option<String>,
    /// Media type.
    #[serde(default)]
    pub media_type: Option<String>,
    /// Upload comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Media file id.
    #[serde(default)]
    pub file_id: Option<String>,
    /// Declared size in bytes.
    #[serde(default, deserialize_with = "opt_u64")]
    pub file_size: Option<u64>,
    /// Web UI link.
    #[serde(default)]
    pub webui_link: Option<String>,
    /// Legacy download link.
    #[serde(default)]
    pub download_link: Option<String>,
    /// Version.
    #[serde(default)]
    pub version: Option<Version>,
    /// Links.
    #[serde(rename = "_links", default)]
    pub links: Links,
}

/// A label.
#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    /// Id.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    /// Name.
    pub name: String,
    /// Prefix.
    #[serde(default)]
    pub prefix: Option<String>,
}

/// A footer comment.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    /// Id.
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Page container.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub page_id: Option<String>,
    /// Blog post container.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub blog_post_id: Option<String>,
    /// Version (author and instant).
    #[serde(default)]
    pub version: Option<Version>,
    /// Body.
    #[serde(default)]
    pub body: Option<Body>,
    /// Links.
    #[serde(rename = "_links", default)]
    pub links: Links,
}
