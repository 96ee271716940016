//! The typed listings the sync walks: spaces, pages and blog posts, attachments, labels,
//! footer comments, CQL content search and `rest/api/search`.
//!
//! Each listing picks the API that works for the flavour — Cloud v2 for enumeration (v1
//! listings are deprecated and gone on the gateway), v1 CQL for search; Server/DC v1 with
//! offset paging — and yields [`super::model`] types. `expand=permissions` is never asked
//! for (it answers 500 to non-admins on DC, CONFSERVER-99908), nor `ancestors.restrictions`
//! on Cloud (one trashed ancestor fails the whole batch, CONFCLOUD-77618).

use futures::Stream;

use super::api::{v1, v2};
use super::client::ConfluenceClient;
use super::error::ConfluenceError;
use super::model::{Attachment, Comment, Content, ContentType, Label, Space};
use super::options::Flavour;
use super::paging::{decode, items, Paging};

/// A stream of listed items; it ends with an error item rather than silently short.
///
/// An `Err(ConfluenceError::Item { .. })` is one malformed item and the listing goes on;
/// any other error is the last item of the stream (a page could not be fetched after every
/// retry, or pagination stopped advancing): the listing is then incomplete, and the sync
/// must not delete what it did not see.
pub(crate) type Listing<T> = std::pin::Pin<Box<dyn Stream<Item = Result<T, ConfluenceError>> + Send>>;

/// What to fetch along with pages and blog posts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContentOptions {
    /// Storage-format bodies.
    pub body: bool,
    /// Label names (v1: `metadata.labels` expansion, no extra call; Cloud v2 listings never
    /// carry labels — call [`ConfluenceClient::labels`]).
    pub labels: bool,
    /// Read restrictions (v1 CQL search only).
    pub restrictions: bool,
    /// The first page of each content's attachments (v1 `children.attachment`), so that a
    /// page with few attachments needs no listing of its own.
    pub attachments: bool,
    /// Page size asked of v1 content search (default 50 with bodies, 100 without). Only
    /// advisory: servers cap it silently, and paging copes with that.
    pub page_size: Option<u32>,
}

/// Page size of Cloud v2 listings (the documented maximum).
const V2_LIMIT: u32 = 250;

impl ContentOptions {
    /// The v1 `expand` list for these options.
    fn expand(&self) -> String {
        let mut expand = vec!["ancestors", "history", "history.lastUpdated", "space", "version"];
        if self.body {
            expand.push("body.storage");
        }
        if self.labels {
            expand.push("metadata.labels");
        }
        if self.restrictions {
            expand.push("restrictions.read.restrictions.user");
            expand.push("restrictions.read.restrictions.group");
        }
        if self.attachments {
            // What `Attachment::from_v1` reads; `extensions` and `_links` come by default.
            expand.push("children.attachment.version");
            expand.push("children.attachment.history");
        }
        expand.join(",")
    }

    /// The v1 page size: DC caps body expansions at 50 (and we page by count anyway).
    fn limit(&self) -> u32 {
        if let Some(size) = self.page_size.filter(|size| *size > 0) {
            size
        } else if self.body {
            50
        } else {
            100
        }
    }
}

/// A CQL string literal.
pub(crate) fn cql_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

impl ConfluenceClient {
    /// The spaces with the given keys, or every visible space when `keys` is empty or `*`.
    pub fn spaces(&self, keys: &[String]) -> Listing<Space> {
        let keys: Vec<String> =
            keys.iter().map(|k| k.trim().to_string()).filter(|k| !k.is_empty() && k != "*").collect();
        match self.flavour() {
            Flavour::Cloud => {
                let mut query = vec![("limit", V2_LIMIT.to_string())];
                if !keys.is_empty() {
                    query.push(("keys", keys.join(",")));
                }
                let url = self.url(&["api", "v2", "spaces"], &query);
                Box::pin(items(self, url, "GET /api/v2/spaces", Paging::Cursor, |v| {
                    decode::<v2::Space>(v).map(|s| Some(s.into()))
                }))
            }
            Flavour::Server | Flavour::DataCenter => {
                let mut query = vec![("limit", "100".to_string())];
                query.extend(keys.into_iter().map(|k| ("spaceKey", k)));
                let url = self.url(&["rest", "api", "space"], &query);
                Box::pin(items(self, url, "GET /rest/api/space", Paging::Offset, |v| {
                    decode::<v1::Space>(v).map(|s| Some(s.into()))
                }))
            }
        }
    }

    /// The pages or blog posts of a space. Cloud: v2 (`parent_id` and `author_id` only; no
    /// labels, ancestors or restrictions — see [`super::Ancestry`]). Server/DC: CQL content
    /// search with the expansions `options` ask for.
    pub fn contents(
        &self,
        space: &Space,
        content_type: ContentType,
        options: ContentOptions,
    ) -> Listing<Content> {
        match self.flavour() {
            Flavour::Cloud => {
                let mut query = vec![("limit", V2_LIMIT.to_string())];
                if options.body {
                    query.push(("body-format", "storage".to_string()));
                }
                let url = self.url(&["api", "v2", "spaces", &space.id, content_type.plural()], &query);
                let route = match content_type {
                    ContentType::Page => "GET /api/v2/spaces/{id}/pages",
                    ContentType::BlogPost => "GET /api/v2/spaces/{id}/blogposts",
                };
                Box::pin(items(self, url, route, Paging::Cursor, move |v| {
                    decode::<v2::Content>(v).map(|c| Some(Content::from_v2(c, content_type)))
                }))
            }
            Flavour::Server | Flavour::DataCenter => {
                let cql = super::queries::space_content(&space.key, content_type.as_str());
                self.search_content(&cql, options)
            }
        }
    }

    /// Pages and blog posts matching a CQL query (sync rules, incremental syncs). Cloud
    /// follows cursors; Server/DC pages by count. Other content types are skipped.
    pub fn search_content(&self, cql: &str, options: ContentOptions) -> Listing<Content> {
        let query = vec![
            ("cql", cql.to_string()),
            ("limit", options.limit().to_string()),
            ("expand", options.expand()),
        ];
        let url = self.url(&["rest", "api", "content", "search"], &query);
        let paging = if self.flavour() == Flavour::Cloud { Paging::Cursor } else { Paging::Offset };
        Box::pin(items(self, url, "GET /rest/api/content/search", paging, |v| {
            decode::<v1::Content>(v).map(Content::from_v1)
        }))
    }

    /// `rest/api/search` hits for a CQL query, raw (spaces, content, attachments). Server's
    /// next link is unusable, so self-hosted flavours page by count.
    pub fn search(&self, cql: &str, expand: &[&str], limit: u32) -> Listing<v1::SearchResult> {
        let mut query = vec![("cql", cql.to_string()), ("limit", limit.max(1).to_string())];
        if !expand.is_empty() {
            query.push(("expand", expand.join(",")));
        }
        let url = self.url(&["rest", "api", "search"], &query);
        let paging = if self.flavour() == Flavour::Cloud { Paging::Cursor } else { Paging::Offset };
        Box::pin(items(self, url, "GET /rest/api/search", paging, |v| {
            decode::<v1::SearchResult>(v).map(Some)
        }))
    }

    /// The attachments of a page or blog post.
    pub fn attachments(&self, container_id: &str, container_type: ContentType) -> Listing<Attachment> {
        let container = container_id.to_string();
        match self.flavour() {
            Flavour::Cloud => {
                let url = self.url(
                    &["api", "v2", container_type.plural(), container_id, "attachments"],
                    &[("limit", V2_LIMIT.to_string())],
                );
                let route = match container_type {
                    ContentType::Page => "GET /api/v2/pages/{id}/attachments",
                    ContentType::BlogPost => "GET /api/v2/blogposts/{id}/attachments",
                };
                Box::pin(items(self, url, route, Paging::Cursor, move |v| {
                    decode::<v2::Attachment>(v).map(|a| Some(Attachment::from_v2(a, &container)))
                }))
            }
            Flavour::Server | Flavour::DataCenter => {
                let url = self.url(
                    &["rest", "api", "content", container_id, "child", "attachment"],
                    &[("limit", "100".to_string()), ("expand", "version,history,container".to_string())],
                );
                Box::pin(items(
                    self,
                    url,
                    "GET /rest/api/content/{id}/child/attachment",
                    Paging::Offset,
                    move |v| decode::<v1::Content>(v).map(|a| Some(Attachment::from_v1(a, &container))),
                ))
            }
        }
    }

    /// The labels of a page or blog post (Server/DC listings already carry them when
    /// [`ContentOptions::labels`] is set and the expansion was complete).
    pub(crate) fn labels(&self, content_id: &str, content_type: ContentType) -> Listing<Label> {
        match self.flavour() {
            Flavour::Cloud => {
                let url = self.url(
                    &["api", "v2", content_type.plural(), content_id, "labels"],
                    &[("limit", V2_LIMIT.to_string())],
                );
                let route = match content_type {
                    ContentType::Page => "GET /api/v2/pages/{id}/labels",
                    ContentType::BlogPost => "GET /api/v2/blogposts/{id}/labels",
                };
                Box::pin(items(self, url, route, Paging::Cursor, |v| {
                    decode::<v2::Label>(v).map(|l| Some(Label { name: l.name, prefix: l.prefix }))
                }))
            }
            Flavour::Server | Flavour::DataCenter => {
                let url = self
                    .url(&["rest", "api", "content", content_id, "label"], &[("limit", "200".to_string())]);
                Box::pin(items(self, url, "GET /rest/api/content/{id}/label", Paging::Offset, |v| {
                    decode::<v1::Label>(v).map(|l| Some(Label { name: l.name, prefix: l.prefix }))
                }))
            }
        }
    }

    /// The footer comments of a page or blog post, with storage bodies (all depths on
    /// Server/DC).
    pub(crate) fn footer_comments(&self, content_id: &str, content_type: ContentType) -> Listing<Comment> {
        let container = content_id.to_string();
        match self.flavour() {
            Flavour::Cloud => {
                let url = self.url(
                    &["api", "v2", content_type.plural(), content_id, "footer-comments"],
                    &[("body-format", "storage".to_string()), ("limit", V2_LIMIT.to_string())],
                );
                let route = match content_type {
                    ContentType::Page => "GET /api/v2/pages/{id}/footer-comments",
                    ContentType::BlogPost => "GET /api/v2/blogposts/{id}/footer-comments",
                };
                Box::pin(items(self, url, route, Paging::Cursor, move |v| {
                    decode::<v2::Comment>(v).map(|c| {
                        let version = c.version.unwrap_or_default();
                        Some(Comment {
                            id: c.id,
                            container_id: c.page_id.or(c.blog_post_id).unwrap_or_else(|| container.clone()),
                            body_storage: c.body.and_then(|b| b.storage).map(|s| s.value),
                            author_id: version.author_id,
                            updated_at: super::model::instant(version.created_at.as_deref()),
                            version: version.number,
                            webui: c.links.webui,
                        })
                    })
                }))
            }
            Flavour::Server | Flavour::DataCenter => {
                let url = self.url(
                    &["rest", "api", "content", content_id, "child", "comment"],
                    &[
                        ("limit", "100".to_string()),
                        ("depth", "all".to_string()),
                        ("expand", "body.storage,version,history".to_string()),
                    ],
                );
                Box::pin(items(
                    self,
                    url,
                    "GET /rest/api/content/{id}/child/comment",
                    Paging::Offset,
                    move |v| {
                        decode::<v1::Content>(v).map(|c| {
                            let history = c.history.unwrap_or_default();
                            let version = c.version.or(history.last_updated).unwrap_or_default();
                            let author = history.created_by.unwrap_or_default();
                            Some(Comment {
                                id: c.id,
                                container_id: c.container.map(|p| p.id).unwrap_or_else(|| container.clone()),
                                body_storage: c.body.and_then(|b| b.storage).map(|s| s.value),
                                author_id: author.account_id.or(author.username),
                                updated_at: super::model::instant(version.when.as_deref()),
                                version: version.number,
                                webui: c.links.webui,
                            })
                        })
                    },
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cql_literals_are_escaped() {
        assert_eq!(cql_quote(r#"A"B\"#), r#""A\"B\\""#);
    }

    #[test]
    fn expansions_follow_the_options_and_never_ask_for_permissions() {
        let all = ContentOptions {
            body: true,
            labels: true,
            restrictions: true,
            attachments: true,
            page_size: None,
        };
        let expand = all.expand();
        assert!(expand.contains("body.storage") && expand.contains("metadata.labels"));
        assert!(expand.contains("restrictions.read.restrictions.group"));
        assert!(expand.contains("children.attachment.version"));
        assert!(!expand.contains("permissions") && !expand.contains("ancestors.restrictions"));
        assert_eq!(all.limit(), 50);
        assert_eq!(ContentOptions::default().limit(), 100);
    }
}
