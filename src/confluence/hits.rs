//! What a CQL query or an id listing matched, reduced to what routes it: the kind, the id,
//! the space, and — for attachments and comments — the page or blog post holding them.
//!
//! Advanced sync rules and incremental syncs find *which* content to index here, then fetch
//! it through the same listings a full sync uses ([`ConfluenceClient::contents_by_id`] and
//! the attachment listing of each container), so every kind of sync makes the same
//! documents for the same content.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::api::{v1, v2};
use super::client::ConfluenceClient;
use super::error::ConfluenceError;
use super::listing::{ContentOptions, Listing};
use super::model::{Content, ContentType, Space};
use super::options::Flavour;
use super::paging::{decode, items, Paging};
use serde_json::value::RawValue;

/// What a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum HitKind {
    /// A space (only `rest/api/search` returns these).
    Space,
    /// A page or a blog post.
    Content(ContentType),
    /// An attachment.
    Attachment,
    /// A comment.
    Comment,
}

/// One matched item.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    /// What it is.
    pub(crate) kind: HitKind,
    /// Its id (the space id for spaces).
    pub(crate) id: String,
    /// Key of its space, when the response said.
    pub(crate) space_key: Option<String>,
    /// The page or blog post holding an attachment or a comment.
    pub(crate) container: Option<(String, ContentType)>,
    /// The space itself, for space hits (boxed: content hits, the many, stay small).
    pub(crate) space: Option<Box<Space>>,
}

/// Ids asked for in one `id in (…)` query or v2 `id=` filter.
const IDS_PER_REQUEST: usize = 100;

fn content_type(kind: &str) -> Option<ContentType> {
    match kind {
        "page" => Some(ContentType::Page),
        "blogpost" => Some(ContentType::BlogPost),
        _ => None,
    }
}

/// The hit a v1 content item stands for; `None` for kinds a sync does not index.
fn content_hit(content: v1::Content) -> Option<Hit> {
    let kind = match content.kind.as_str() {
        "attachment" => HitKind::Attachment,
        "comment" => HitKind::Comment,
        other => HitKind::Content(content_type(other)?),
    };
    let container = content
        .container
        .and_then(|c| Some((c.id.clone(), content_type(c.kind.as_deref().unwrap_or("page"))?)));
    Some(Hit { kind, id: content.id, space_key: content.space.and_then(|s| s.key), container, space: None })
}

fn search_hit(result: v1::SearchResult) -> Option<Hit> {
    if let Some(content) = result.content {
        return content_hit(content);
    }
    let space: Space = result.space?.into();
    Some(Hit {
        kind: HitKind::Space,
        id: space.id.clone(),
        space_key: Some(space.key.clone()),
        container: None,
        space: Some(Box::new(space)),
    })
}

impl ConfluenceClient {
    /// Everything a CQL query matches through `rest/api/search`, spaces included (advanced
    /// sync rules). Archived spaces are included, as a full sync includes them.
    pub(crate) fn search_hits(&self, cql: &str) -> Listing<Hit> {
        let query = vec![
            ("cql", cql.to_string()),
            ("limit", "250".to_string()),
            ("includeArchivedSpaces", "true".to_string()),
            ("expand", "content.space,content.container".to_string()),
        ];
        let url = self.url(&["rest", "api", "search"], &query);
        // Server/DC's next link drops the query (Elastic #3320): page by count there.
        let paging = if self.flavour() == Flavour::Cloud { Paging::Cursor } else { Paging::Offset };
        Box::pin(items(self, url, "GET /rest/api/search", paging, |v: &RawValue| {
            decode::<v1::SearchResult>(v).map(search_hit)
        }))
    }

    /// Runs a CQL query once with a limit of 1, to learn whether Confluence accepts it.
    pub(crate) async fn check_cql(&self, cql: &str) -> Result<(), ConfluenceError> {
        let query = vec![("cql", cql.to_string()), ("limit", "1".to_string())];
        let url = self.url(&["rest", "api", "search"], &query);
        self.get_json::<Value>(url, "GET /rest/api/search").await.map(|_| ())
    }

    /// The content a CQL query matches through `rest/api/content/search`, as hits:
    /// without expansions the servers answer up to 1,000 a page, so this is the cheap way to
    /// learn ids. `container` asks for the holder of attachments and comments.
    pub(crate) fn content_hits(&self, cql: &str, container: bool) -> Listing<Hit> {
        let mut query = vec![("cql", cql.to_string()), ("limit", "1000".to_string())];
        if container {
            query.push(("expand", "container,space".to_string()));
        }
        let url = self.url(&["rest", "api", "content", "search"], &query);
        let paging = if self.flavour() == Flavour::Cloud { Paging::Cursor } else { Paging::Offset };
        Box::pin(items(self, url, "GET /rest/api/content/search", paging, |v: &RawValue| {
            decode::<v1::Content>(v).map(content_hit)
        }))
    }

    /// The pages a CQL query matches, each with its title and its ancestors' titles
    /// (`expand=ancestors` and nothing else: Server/DC then answer 200 a page, against 50 with
    /// a body): what an incremental sync needs to tell which pages' indexed ancestors are out
    /// of date without fetching the pages.
    pub(crate) fn page_tree(&self, cql: &str) -> Listing<Content> {
        let query =
            vec![("cql", cql.to_string()), ("limit", "200".to_string()), ("expand", "ancestors".to_string())];
        let url = self.url(&["rest", "api", "content", "search"], &query);
        let paging = if self.flavour() == Flavour::Cloud { Paging::Cursor } else { Paging::Offset };
        Box::pin(items(self, url, "GET /rest/api/content/search", paging, |v: &RawValue| {
            decode::<v1::Content>(v).map(Content::from_v1)
        }))
    }

    /// [`ConfluenceClient::page_tree`] for a query on many ids: `cql` makes the query for a
    /// batch of them (comma-separated), [`IDS_PER_REQUEST`] a batch, one batch after another.
    pub(crate) fn page_tree_by_ids(&self, ids: &[String], cql: impl Fn(&str) -> String) -> Listing<Content> {
        let queries: Vec<String> = ids.chunks(IDS_PER_REQUEST).map(|batch| cql(&batch.join(","))).collect();
        let client = self.clone();
        Box::pin(async_stream::stream! {
            for query in queries {
                let mut listing = client.page_tree(&query);
                while let Some(item) = futures::StreamExt::next(&mut listing).await {
                    yield item;
                }
            }
        })
    }

    /// [`ConfluenceClient::content_hits`] (with containers) for the content with these ids,
    /// [`IDS_PER_REQUEST`] a request, one batch after another.
    pub(crate) fn content_hits_by_ids(&self, ids: &[String]) -> Listing<Hit> {
        let queries: Vec<String> =
            ids.chunks(IDS_PER_REQUEST).map(|batch| super::queries::with_ids(&batch.join(","))).collect();
        let client = self.clone();
        Box::pin(async_stream::stream! {
            for query in queries {
                let mut listing = client.content_hits(&query, true);
                while let Some(item) = futures::StreamExt::next(&mut listing).await {
                    yield item;
                }
            }
        })
    }

    /// What a CQL query matches, as hits with their containers and spaces, and for pages and
    /// blog posts also as content with its version and ancestors (`expand=container,space,
    /// ancestors,version`, 200 a page on Server/DC): what an incremental sync needs to tell
    /// whether a page the window found again is already indexed as it is.
    pub(crate) fn changed_hits(&self, cql: &str) -> Listing<(Hit, Option<Content>)> {
        let query = vec![
            ("cql", cql.to_string()),
            ("limit", "200".to_string()),
            ("expand", "container,space,ancestors,version".to_string()),
        ];
        let url = self.url(&["rest", "api", "content", "search"], &query);
        let paging = if self.flavour() == Flavour::Cloud { Paging::Cursor } else { Paging::Offset };
        Box::pin(items(self, url, "GET /rest/api/content/search", paging, |v: &RawValue| {
            decode::<v1::Content>(v).map(|c| {
                let content = Content::from_v1(c.clone());
                content_hit(c).map(|hit| (hit, content))
            })
        }))
    }

    /// The latest modification of a page the search shows now (`order by lastmodified desc`,
    /// one result, with its version): Confluence's own clock, read before a sync lists
    /// anything, so that a page modified later can be told by its date alone. The search lags
    /// behind edits: the instant can only be earlier than the true latest, never later.
    /// `None` when no page is visible.
    pub(crate) async fn latest_page_modification(&self) -> Result<Option<DateTime<Utc>>, ConfluenceError> {
        let query = vec![
            ("cql", "type = page order by lastmodified desc".to_string()),
            ("limit", "1".to_string()),
            ("expand", "version".to_string()),
        ];
        let url = self.url(&["rest", "api", "content", "search"], &query);
        let page =
            self.get_json::<v1::Expansion<v1::Content>>(url, "GET /rest/api/content/search").await?.body;
        Ok(page.results.into_iter().next().and_then(Content::from_v1).and_then(|c| c.updated_at))
    }

    /// One attachment by id (Cloud v2), with its status (`current`, `trashed`…); `None` when
    /// Confluence no longer has it. Read from the database, not from the search index, which
    /// lags behind uploads (CONFCLOUD-73997): what an incremental sync asks before deleting an
    /// attachment its CQL listing did not show.
    pub(crate) async fn attachment_by_id(
        &self,
        id: &str,
    ) -> Result<Option<(Hit, Option<String>)>, ConfluenceError> {
        let url = self.url(&["api", "v2", "attachments", id], &[]);
        match self.get_json::<v2::Attachment>(url, "GET /api/v2/attachments/{id}").await {
            Ok(fetched) => {
                let a = fetched.body;
                let container = match (a.page_id, a.blog_post_id) {
                    (Some(page), _) => Some((page, ContentType::Page)),
                    (None, Some(blog)) => Some((blog, ContentType::BlogPost)),
                    (None, None) => None,
                };
                let hit =
                    Hit { kind: HitKind::Attachment, id: a.id, space_key: None, container, space: None };
                Ok(Some((hit, a.status)))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Pages or blog posts by id, in the shape [`ConfluenceClient::contents`] lists them
    /// (Cloud v2 by `id=`; Server/DC CQL `id in (…)` with the same expansions). Ids that are
    /// gone are simply not returned.
    pub(crate) fn contents_by_id(
        &self,
        content_type: ContentType,
        ids: &[String],
        options: ContentOptions,
    ) -> Listing<Content> {
        let batches: Vec<Vec<String>> = ids.chunks(IDS_PER_REQUEST).map(<[String]>::to_vec).collect();
        let client = self.clone();
        Box::pin(async_stream::stream! {
            for batch in batches {
                let mut listing = client.content_batch(content_type, &batch, options);
                while let Some(item) = futures::StreamExt::next(&mut listing).await {
                    yield item;
                }
            }
        })
    }

    fn content_batch(
        &self,
        content_type: ContentType,
        ids: &[String],
        options: ContentOptions,
    ) -> Listing<Content> {
        match self.flavour() {
            Flavour::Cloud => {
                let mut query = vec![("id", ids.join(",")), ("limit", "250".to_string())];
                if options.body {
                    query.push(("body-format", "storage".to_string()));
                }
                let url = self.url(&["api", "v2", content_type.plural()], &query);
                let route = match content_type {
                    ContentType::Page => "GET /api/v2/pages",
                    ContentType::BlogPost => "GET /api/v2/blogposts",
                };
                Box::pin(items(self, url, route, Paging::Cursor, move |v: &RawValue| {
                    decode::<v2::Content>(v).map(|c| Some(Content::from_v2(c, content_type)))
                }))
            }
            Flavour::Server | Flavour::DataCenter => {
                let cql = format!("type={} and id in ({})", content_type.as_str(), ids.join(","));
                self.search_content(&cql, options)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1(json: serde_json::Value) -> v1::Content {
        serde_json::from_value(json).expect("v1 content")
    }

    #[test]
    fn attachments_and_comments_name_their_container() {
        let hit = content_hit(v1(serde_json::json!({
            "id": 7, "type": "attachment", "title": "a.pdf",
            "space": {"key": "DEV"}, "container": {"id": "3", "type": "blogpost", "title": "News"}
        })))
        .expect("hit");
        assert_eq!(hit.kind, HitKind::Attachment);
        assert_eq!(hit.id, "7");
        assert_eq!(hit.space_key.as_deref(), Some("DEV"));
        assert_eq!(hit.container, Some(("3".to_string(), ContentType::BlogPost)));
    }

    #[test]
    fn kinds_a_sync_does_not_index_are_dropped() {
        assert!(content_hit(v1(serde_json::json!({"id": "1", "type": "whiteboard"}))).is_none());
        let page = content_hit(v1(serde_json::json!({"id": "1", "type": "page"}))).expect("page");
        assert_eq!(page.kind, HitKind::Content(ContentType::Page));
    }
}
