//! The document indexed for each space, page, blog post, attachment and comment.
//!
//! Field names and meanings are those of Elastic's Confluence connector
//! (`confluence-source.md`), so search UIs built on it keep working: `type` is `Space`,
//! `page`, `blogpost`, `attachment` (and `comment`, ours); an attachment carries its
//! container's title under the container's type (`"page": "Home"`). We add `space_key`, which
//! lets a sync delete only inside the spaces it listed completely, and the ingest pipeline's
//! flags (`_extract_binary_content`, `_reduce_whitespace`, `_run_ml_inference`), which
//! Elastic's framework adds to every document.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// Formats an instant as Elastic's connector does (`2023-01-24T04:07:19.672Z`).
pub(super) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocType {
    /// A space.
    Space,
    /// A page.
    Page,
    /// A blog post.
    BlogPost,
    /// A file attached to a page or blog post.
    Attachment,
    /// A footer comment (with `index_comments`).
    Comment,
}

impl DocType {
    /// The `type` field's value, as Elastic's connector writes it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DocType::Space => "Space",
            DocType::Page => "page",
            DocType::BlogPost => "blogpost",
            DocType::Attachment => "attachment",
            DocType::Comment => "comment",
        }
    }
}

/// The pipeline flags every document carries (from the connector's `pipeline` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineFlags {
    /// `_extract_binary_content`
    pub extract_binary_content: bool,
    /// `_reduce_whitespace`
    pub reduce_whitespace: bool,
    /// `_run_ml_inference`
    pub run_ml_inference: bool,
}

/// One document, ready to be serialised into a `_bulk` source line.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// `_id` and `id`: the space or content id.
    pub id: String,
    /// What it is.
    pub doc_type: DocType,
    /// `_timestamp`: last modification (ISO 8601), the key of "unchanged" detection.
    pub timestamp: String,
    /// Title, file name for attachments, name for spaces.
    pub title: String,
    /// Space key (spaces: `key`; everything: `space_key`).
    pub space_key: String,
    /// Space name (`space`), absent on spaces themselves.
    pub space_name: Option<String>,
    /// Link to the item in Confluence.
    pub url: String,
    /// Plain text of the body (pages, blog posts, comments, text-like attachments).
    pub body: Option<String>,
    /// Titles of the ancestors, root first (pages).
    pub ancestors: Option<Vec<String>>,
    /// Author's display name (Cloud `publicName`, DC `username` as Elastic does).
    pub author: Option<String>,
    /// Creation date (ISO 8601).
    pub created_date: Option<String>,
    /// Label names (with `index_labels`).
    pub labels: Option<Vec<String>>,
    /// File size in bytes (attachments).
    pub size: Option<u64>,
    /// Container type and title (attachments and comments): `("page", "Home")`.
    pub container: Option<(DocType, String)>,
    /// The file, for the ingest pipeline's attachment processor: written as base64
    /// `_attachment` straight into the `_bulk` body ([`crate::elastic::bulk::Document::WithFile`]),
    /// never by [`Indexed`].
    pub attachment: Option<crate::elastic::Attached>,
    /// Identities allowed to read (document level security).
    pub allow_access_control: Option<Vec<String>>,
}

impl Document {
    /// A document with the fields every kind has; the others start empty and are set by
    /// the kinds that have them (`Document { body: Some(text), ..Document::new(…) }`).
    pub(crate) fn new(
        id: String,
        doc_type: DocType,
        timestamp: String,
        title: String,
        space_key: String,
        url: String,
    ) -> Self {
        Document {
            id,
            doc_type,
            timestamp,
            title,
            space_key,
            space_name: None,
            url,
            body: None,
            ancestors: None,
            author: None,
            created_date: None,
            labels: None,
            size: None,
            container: None,
            attachment: None,
            allow_access_control: None,
        }
    }

    /// The [`lineage`](crate::elastic::existing::lineage) of this document: its title and
    /// its ancestors' titles.
    #[cfg(test)]
    pub(crate) fn lineage(&self) -> u64 {
        crate::elastic::existing::lineage(
            Some(&self.title),
            self.ancestors.iter().flatten().map(String::as_str),
        )
    }

    /// The [`stamp`](crate::elastic::existing::stamp) of this document as it would be
    /// indexed: equal to the indexed copy's when nothing needs re-indexing.
    pub(crate) fn stamp(&self) -> u64 {
        use crate::elastic::existing::StampParts;
        let parts = if self.doc_type == DocType::Space {
            StampParts::space(Some(&self.space_key), Some(&self.title))
        } else {
            StampParts {
                timestamp: Some(&self.timestamp),
                space_key: Some(&self.space_key),
                space: self.space_name.as_deref(),
                container: self.container.as_ref().map(|(_, title)| title.as_str()),
            }
        };
        crate::elastic::existing::stamp(
            parts,
            self.ancestors.iter().flatten().map(String::as_str),
            self.allow_access_control.iter().flatten().map(String::as_str),
        )
    }
}

/// A document with the pipeline flags, as serialised into the index (its file, if any, is
/// added as `_attachment` by the bulk encoder).
#[derive(Debug, Clone, Copy)]
pub struct Indexed<'a> {
    /// The document.
    pub doc: &'a Document,
    /// Flags for the ingest pipeline.
    pub flags: PipelineFlags,
}

impl Serialize for Indexed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.doc;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &d.id)?;
        m.serialize_entry("_timestamp", &d.timestamp)?;
        m.serialize_entry("type", d.doc_type.as_str())?;
        m.serialize_entry("title", &d.title)?;
        if d.doc_type == DocType::Space {
            m.serialize_entry("key", &d.space_key)?;
        }
        m.serialize_entry("space_key", &d.space_key)?;
        if let Some(space) = &d.space_name {
            m.serialize_entry("space", space)?;
        }
        m.serialize_entry("url", &d.url)?;
        if let Some(body) = &d.body {
            m.serialize_entry("body", body)?;
        }
        if let Some(ancestors) = &d.ancestors {
            m.serialize_entry("ancestors", &Ancestors(ancestors))?;
        }
        if let Some(author) = &d.author {
            m.serialize_entry("author", author)?;
        }
        if let Some(created) = &d.created_date {
            m.serialize_entry("createdDate", created)?;
        }
        if let Some(labels) = &d.labels {
            m.serialize_entry("labels", labels)?;
        }
        if let Some(size) = d.size {
            m.serialize_entry("size", &size)?;
        }
        if let Some((container_type, container_title)) = &d.container {
            m.serialize_entry(container_type.as_str(), container_title)?;
        }
        if let Some(acl) = &d.allow_access_control {
            m.serialize_entry("_allow_access_control", acl)?;
        }
        m.serialize_entry("_extract_binary_content", &self.flags.extract_binary_content)?;
        m.serialize_entry("_reduce_whitespace", &self.flags.reduce_whitespace)?;
        m.serialize_entry("_run_ml_inference", &self.flags.run_ml_inference)?;
        m.end()
    }
}

/// `ancestors` as Elastic writes it: a list of `{"title": …}`.
struct Ancestors<'a>(&'a [String]);

impl Serialize for Ancestors<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Ancestor<'a> {
            title: &'a str,
        }
        s.collect_seq(self.0.iter().map(|t| Ancestor { title: t }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FLAGS: PipelineFlags =
        PipelineFlags { extract_binary_content: true, reduce_whitespace: true, run_ml_inference: false };

    fn page() -> Document {
        Document {
            id: "983046".into(),
            doc_type: DocType::Page,
            timestamp: "2023-01-24T04:07:19.672Z".into(),
            title: "Product Details".into(),
            space_key: "SD".into(),
            space_name: Some("Software Development".into()),
            url: "https://x.atlassian.net/wiki/spaces/SD/pages/983046".into(),
            body: Some("Hello".into()),
            ancestors: Some(vec!["Home".into()]),
            author: Some("Jane".into()),
            created_date: Some("2023-01-03T09:24:50.633Z".into()),
            labels: None,
            size: None,
            container: None,
            attachment: None,
            allow_access_control: None,
        }
    }

    #[test]
    fn a_page_has_elastics_fields() {
        let v = serde_json::to_value(Indexed { doc: &page(), flags: FLAGS }).unwrap();
        assert_eq!(
            v,
            json!({
                "id": "983046", "_timestamp": "2023-01-24T04:07:19.672Z", "type": "page",
                "title": "Product Details", "space_key": "SD", "space": "Software Development",
                "url": "https://x.atlassian.net/wiki/spaces/SD/pages/983046", "body": "Hello",
                "ancestors": [{"title": "Home"}], "author": "Jane",
                "createdDate": "2023-01-03T09:24:50.633Z",
                "_extract_binary_content": true, "_reduce_whitespace": true, "_run_ml_inference": false
            })
        );
    }

    #[test]
    fn an_attachment_names_its_container_by_type() {
        let mut doc = page();
        doc.doc_type = DocType::Attachment;
        doc.container = Some((DocType::BlogPost, "Release notes".into()));
        doc.size = Some(1234);
        doc.ancestors = None;
        let v = serde_json::to_value(Indexed { doc: &doc, flags: FLAGS }).unwrap();
        assert_eq!(v["blogpost"], "Release notes");
        assert_eq!(v["size"], 1234);
        assert_eq!(v["type"], "attachment");
    }

    #[test]
    fn a_space_carries_its_key() {
        let mut doc = page();
        doc.doc_type = DocType::Space;
        doc.space_name = None;
        let v = serde_json::to_value(Indexed { doc: &doc, flags: FLAGS }).unwrap();
        assert_eq!(v["type"], "Space");
        assert_eq!(v["key"], "SD");
        assert!(v.get("space").is_none());
    }
}
