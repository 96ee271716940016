//! The crawl: spaces → pages and blog posts → their attachments, labels and comments, as a
//! stream of [`CrawlEvent`]s.
//!
//! Spaces are crawled concurrently (`max_concurrent_spaces`); within a space, pages stream
//! page by page while the attachments, labels and comments of each are listed with bounded
//! concurrency. Everything goes through one bounded channel, so memory is set by its
//! capacity, not by the size of the site. A listing that fails after its retries is reported
//! as [`CrawlEvent::SpaceFailed`] and the space is never declared complete: the sync then
//! deletes nothing in it.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::{stream, StreamExt, TryStreamExt};
use tokio::sync::{mpsc, Mutex};

use crate::acl::AclResolver;
use crate::confluence::{
    Ancestor, Ancestry, Attachment, AttachmentRef, Comment, ConfluenceClient, ConfluenceError, Content,
    ContentOptions, ContentType, Flavour, Space,
};
use crate::extract::storage::storage_to_text;

use super::document::{iso, DocType, Document};
use super::selection::Selection;

/// What to crawl.
#[derive(Debug, Clone)]
pub(super) struct CrawlSettings {
    /// Space keys, or empty / `*` for all.
    pub(crate) spaces: Vec<String>,
    /// Fetch label names.
    pub(crate) index_labels: bool,
    /// Index footer comments.
    pub(crate) index_comments: bool,
    /// Spaces crawled at once.
    pub(crate) max_concurrent_spaces: usize,
    /// Attachment/label/comment listings in flight per space.
    pub(crate) per_space_concurrency: usize,
    /// `_timestamp` of space documents (spaces carry no modification date).
    pub(crate) started_at: DateTime<Utc>,
    /// Who may read each document (`use_document_level_security`); `None`: documents carry
    /// no `_allow_access_control`.
    pub(crate) acl: Option<Arc<AclResolver>>,
}

impl CrawlSettings {
    /// What a listing of pages or blog posts asks for: bodies, labels when they are indexed,
    /// and on Server/DC each page's own read restriction and its first attachments, at no
    /// extra request (one attachment listing saved per page with few; Cloud v2 has no such
    /// expansions).
    pub(super) fn content_options(&self) -> ContentOptions {
        ContentOptions {
            body: true,
            labels: self.index_labels,
            restrictions: self.acl.is_some(),
            attachments: true,
            ..Default::default()
        }
    }
}

/// One thing the crawl found or finished.
#[derive(Debug)]
pub(super) enum CrawlEvent {
    /// The list of spaces completed; these are the keys in scope.
    SpaceList(Vec<String>),
    /// Listing the spaces failed: nothing is in scope.
    SpaceListFailed(ConfluenceError),
    /// A document; attachments carry what a download needs.
    Document(Box<Document>, Option<AttachmentRef>),
    /// Every listing of this space completed.
    SpaceDone(String),
    /// A listing of this space (or, in a selected crawl, of what the label names) failed
    /// after its retries.
    SpaceFailed(String, ConfluenceError),
    /// A selected crawl (advanced rules) listed everything it covers: what it did not see
    /// may be deleted.
    Complete,
    /// One item of a listing in this space could not be read and was skipped; the crawl
    /// went on, but the space's listings are not complete: nothing in it may be deleted.
    Malformed(String, ConfluenceError),
}

/// Author names by Cloud account id, looked up once per sync (v2 gives only ids).
#[derive(Default)]
pub(super) struct AuthorNames(Mutex<HashMap<String, Option<String>>>);

impl AuthorNames {
    /// The author's name: from the listing when it has one, else looked up by account id.
    async fn name(
        &self,
        client: &ConfluenceClient,
        content: &Content,
    ) -> Result<Option<String>, ConfluenceError> {
        match &content.author_name {
            Some(name) => Ok(Some(name.clone())),
            None => self.lookup(client, content.author_id.as_deref()).await,
        }
    }

    /// The name behind an author id: Cloud account ids are looked up (once per sync);
    /// Server/DC ids are usernames, which is what Elastic's connector shows there.
    async fn by_id(
        &self,
        client: &ConfluenceClient,
        author_id: Option<&str>,
    ) -> Result<Option<String>, ConfluenceError> {
        match client.flavour() {
            Flavour::Cloud => self.lookup(client, author_id).await,
            Flavour::Server | Flavour::DataCenter => Ok(author_id.map(str::to_string)),
        }
    }

    /// A lookup that fails for good (the account is gone, or these credentials may not see
    /// people: 401/403) leaves the author out, as a fresh sync would. One that fails for now
    /// (429, 5xx, no answer, after the client's retries) fails like any other request of
    /// the space: a document written without its author would look current to every later
    /// sync and never get it.
    async fn lookup(
        &self,
        client: &ConfluenceClient,
        author_id: Option<&str>,
    ) -> Result<Option<String>, ConfluenceError> {
        let Some(id) = author_id else { return Ok(None) };
        if let Some(known) = self.0.lock().await.get(id) {
            return Ok(known.clone());
        }
        let name = match client.user_name(id).await {
            Ok(name) => name,
            Err(e) if matches!(e.status(), Some(401 | 403)) => {
                tracing::warn!(account_id = id, "author name not visible to these credentials: {e}");
                None
            }
            Err(e) => return Err(e),
        };
        self.0.lock().await.insert(id.to_string(), name.clone());
        Ok(name)
    }
}

/// Crawls everything in scope, sending events until done or until the receiver is gone.
pub(super) async fn crawl(
    client: Arc<ConfluenceClient>,
    settings: Arc<CrawlSettings>,
    tx: mpsc::Sender<CrawlEvent>,
) {
    let authors = Arc::new(AuthorNames::default());
    let keys: Vec<String> = settings.spaces.iter().filter(|k| k.as_str() != "*").cloned().collect();
    let spaces: Vec<Space> = match client.spaces(&keys).try_collect().await {
        Ok(spaces) => spaces,
        Err(e) => {
            let _ = tx.send(CrawlEvent::SpaceListFailed(e)).await;
            return;
        }
    };
    if tx.send(CrawlEvent::SpaceList(spaces.iter().map(|s| s.key.clone()).collect())).await.is_err() {
        return;
    }
    stream::iter(spaces)
        .for_each_concurrent(settings.max_concurrent_spaces.max(1), |space| {
            let (client, settings, tx, authors) =
                (client.clone(), settings.clone(), tx.clone(), authors.clone());
            async move {
                let key = space.key.clone();
                let crawler = Crawler { client: &client, settings: &settings, authors: &authors, tx: &tx };
                let event = match crawl_space(crawler, &space).await {
                    Ok(()) => CrawlEvent::SpaceDone(key),
                    Err(e) => CrawlEvent::SpaceFailed(key, e),
                };
                let _ = tx.send(event).await;
            }
        })
        .await;
}

/// What every step of a crawl shares: the client, the settings, the author names looked up
/// so far, and the channel its events go to.
#[derive(Clone, Copy)]
pub(super) struct Crawler<'a> {
    pub(super) client: &'a ConfluenceClient,
    pub(super) settings: &'a CrawlSettings,
    pub(super) authors: &'a AuthorNames,
    pub(super) tx: &'a mpsc::Sender<CrawlEvent>,
}

/// Sends a document; `Err` only when the sync stopped listening.
pub(super) async fn emit(
    tx: &mpsc::Sender<CrawlEvent>,
    doc: Document,
    download: Option<AttachmentRef>,
) -> Result<(), Stop> {
    tx.send(CrawlEvent::Document(Box::new(doc), download)).await.map_err(|_| Stop)
}

/// The receiver is gone: the sync ended (failed or cancelled).
pub(super) struct Stop;

/// The document of a space.
pub(super) async fn space_document(crawler: Crawler<'_>, space: &Space) -> Result<Document, ConfluenceError> {
    let Crawler { client, settings, authors, .. } = crawler;
    let allow_access_control = match &settings.acl {
        Some(acl) => acl.space(space).await,
        None => None,
    };
    let url = space.webui.as_deref().map(|w| client.web_url(w)).unwrap_or_default();
    Ok(Document {
        // Cloud v2 says who created the space and when, as Elastic's v1 `history` did.
        author: authors.by_id(client, space.author_id.as_deref()).await?,
        created_date: space.created_at.map(iso),
        allow_access_control,
        ..Document::new(
            space.id.clone(),
            DocType::Space,
            iso(settings.started_at),
            space.name.clone(),
            space.key.clone(),
            url,
        )
    })
}

/// Every page's title and parent in a space, from a cheap Cloud v2 pass without bodies (250
/// a page): v2 lists parent ids, not ancestor titles.
pub(super) async fn ancestry(client: &ConfluenceClient, space: &Space) -> Result<Ancestry, ConfluenceError> {
    let mut ancestry = Ancestry::default();
    let mut pages = client.contents(space, ContentType::Page, Default::default());
    while let Some(page) = pages.next().await {
        ancestry.record(&page?);
    }
    Ok(ancestry)
}

/// A whole space: its document, then its pages and blog posts with everything attached.
pub(super) async fn crawl_space(crawler: Crawler<'_>, space: &Space) -> Result<(), ConfluenceError> {
    let Crawler { client, settings, tx, .. } = crawler;
    if emit(tx, space_document(crawler, space).await?, None).await.is_err() {
        return Ok(());
    }
    if let Some(acl) = &settings.acl {
        acl.prefetch(space).await;
    }
    for content_type in [ContentType::Page, ContentType::BlogPost] {
        // Cloud v2 lists parent ids, not ancestor titles: a cheap pass without bodies first
        // (250 a page) gives every page's title and parent.
        let ancestry = if client.flavour() == Flavour::Cloud && content_type == ContentType::Page {
            Some(ancestry(client, space).await?)
        } else {
            None
        };
        let options = settings.content_options();
        // Stops at the first failed listing and returns its error; a malformed item is
        // reported and skipped.
        client
            .contents(space, content_type, options)
            .map(|item| async {
                let Some(content) = readable(item, &space.key, tx).await? else {
                    return Ok(());
                };
                crawl_content(crawler, space, content, ancestry.as_ref(), None).await
            })
            .buffer_unordered(settings.per_space_concurrency.max(1))
            .try_for_each(|()| futures::future::ready(Ok(())))
            .await?;
    }
    Ok(())
}

/// The item of a listing; a malformed one is reported as [`CrawlEvent::Malformed`] and
/// skipped (`None`), any other error ends the listing.
pub(super) async fn readable<T>(
    item: Result<T, ConfluenceError>,
    space_key: &str,
    tx: &mpsc::Sender<CrawlEvent>,
) -> Result<Option<T>, ConfluenceError> {
    match item {
        Ok(item) => Ok(Some(item)),
        Err(error @ ConfluenceError::Item { .. }) => {
            tracing::warn!(space = space_key, "{error}; skipped, and nothing in the space is deleted");
            let _ = tx.send(CrawlEvent::Malformed(space_key.to_string(), error)).await;
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Every item of a listing, skipping (and reporting) malformed ones.
async fn collect<T>(
    mut listing: crate::confluence::Listing<T>,
    space_key: &str,
    tx: &mpsc::Sender<CrawlEvent>,
) -> Result<Vec<T>, ConfluenceError> {
    let mut items = Vec::new();
    while let Some(item) = listing.next().await {
        items.extend(readable(item, space_key, tx).await?);
    }
    Ok(items)
}

/// One page or blog post and everything attached to it; with a `select`ion, only the
/// documents it names, and attachments and comments only of the containers it names.
pub(super) async fn crawl_content(
    crawler: Crawler<'_>,
    space: &Space,
    mut content: Content,
    ancestry: Option<&Ancestry>,
    select: Option<&Selection>,
) -> Result<(), ConfluenceError> {
    let Crawler { client, settings, authors, tx } = crawler;
    let wanted = |id: &str| select.is_none_or(|s| s.wants(id));
    let with_children = select.is_none_or(|s| s.children_of(&content.id));
    let labels = match (&content.labels, settings.index_labels && wanted(&content.id)) {
        (Some(labels), true) => Some(labels.clone()),
        (None, true) => Some(
            collect(client.labels(&content.id, content.content_type), &space.key, tx)
                .await?
                .into_iter()
                .map(|l| l.name)
                .collect(),
        ),
        (_, false) => None,
    };
    let attachments: Vec<Attachment> = match (content.attachments.take(), with_children) {
        (_, false) => Vec::new(),
        (Some(listed), true) => listed,
        (None, true) => {
            collect(client.attachments(&content.id, content.content_type), &space.key, tx).await?
        }
    };
    let comments: Vec<Comment> = if settings.index_comments && with_children {
        collect(client.footer_comments(&content.id, content.content_type), &space.key, tx).await?
    } else {
        Vec::new()
    };

    let container_type = doc_type(content.content_type);
    let space_name = content.space_name.clone().unwrap_or_else(|| space.name.clone());
    let chain: Vec<Ancestor> = match ancestry {
        Some(a) => a.ancestors(content.parent_id.as_deref()),
        None => content.ancestors.clone().unwrap_or_default(),
    };
    let ancestors: Vec<String> = chain.iter().filter_map(|a| a.title.clone()).collect();
    // Attachments and comments are readable by whoever may read their container.
    let allow_access_control = match &settings.acl {
        Some(acl) => acl.content(space, &content, &chain).await,
        None => None,
    };
    let url = content.webui.as_deref().map(|w| client.web_url(w)).unwrap_or_default();
    let page_doc = Document {
        space_name: Some(space_name.clone()),
        body: Some(content.body_storage.as_deref().map(storage_to_text).unwrap_or_default()),
        ancestors: Some(ancestors),
        author: authors.name(client, &content).await?,
        created_date: content.created_at.map(iso),
        labels,
        allow_access_control: allow_access_control.clone(),
        ..Document::new(
            content.id.clone(),
            container_type,
            stamp(content.updated_at.or(content.created_at), settings),
            content.title.clone(),
            space.key.clone(),
            url,
        )
    };
    if wanted(&page_doc.id) && emit(tx, page_doc, None).await.is_err() {
        return Ok(());
    }
    for attachment in attachments.into_iter().filter(|a| wanted(&a.id)) {
        let doc = Document {
            space_name: Some(space_name.clone()),
            created_date: attachment.created_at.map(iso),
            size: attachment.file_size,
            container: Some((container_type, content.title.clone())),
            allow_access_control: allow_access_control.clone(),
            ..Document::new(
                attachment.id.clone(),
                DocType::Attachment,
                stamp(attachment.updated_at.or(attachment.created_at), settings),
                attachment.title.clone(),
                space.key.clone(),
                attachment.webui.as_deref().map(|w| client.web_url(w)).unwrap_or_default(),
            )
        };
        if emit(tx, doc, Some(attachment.download.clone())).await.is_err() {
            return Ok(());
        }
    }
    for comment in comments.into_iter().filter(|c| wanted(&c.id)) {
        let doc = Document {
            space_name: Some(space_name.clone()),
            body: Some(comment.body_storage.as_deref().map(storage_to_text).unwrap_or_default()),
            author: authors.by_id(client, comment.author_id.as_deref()).await?,
            container: Some((container_type, content.title.clone())),
            allow_access_control: allow_access_control.clone(),
            ..Document::new(
                comment.id.clone(),
                DocType::Comment,
                stamp(comment.updated_at, settings),
                content.title.clone(),
                space.key.clone(),
                comment.webui.as_deref().map(|w| client.web_url(w)).unwrap_or_default(),
            )
        };
        if emit(tx, doc, None).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// `_timestamp`: the content's last modification, else its creation; content that carries
/// neither gets the sync's start, as spaces do (`_timestamp` is a date: an empty string
/// would fail the document).
fn stamp(modified: Option<DateTime<Utc>>, settings: &CrawlSettings) -> String {
    iso(modified.unwrap_or(settings.started_at))
}

fn doc_type(t: ContentType) -> DocType {
    match t {
        ContentType::Page => DocType::Page,
        ContentType::BlogPost => DocType::BlogPost,
    }
}
