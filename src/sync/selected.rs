//! A crawl of chosen content rather than of whole spaces: what advanced sync rules matched,
//! or what changed since the last sync.
//!
//! The chosen pages and blog posts are fetched by id through the listings a full sync uses
//! and go through the same [`crawl_content`], so a document looks the same whichever kind of
//! sync made it. Attachments and comments are reached through their container, which is
//! how a full sync reaches them too.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use futures::{stream, StreamExt, TryStreamExt};
use tokio::sync::mpsc;

use crate::confluence::listing::ContentOptions;
use crate::confluence::{Ancestry, ConfluenceClient, ConfluenceError, ContentType, Flavour, Space};

use super::crawl::{
    ancestry, crawl_content, crawl_space, emit, space_document, AuthorNames, CrawlEvent, CrawlSettings,
};

/// Pages and blog posts of one space to crawl.
#[derive(Debug, Default, Clone)]
struct Containers {
    pages: BTreeSet<String>,
    blog_posts: BTreeSet<String>,
}

/// What a selected crawl fetches and emits.
#[derive(Debug, Default)]
pub struct Selection {
    /// Documents to emit, by id; `None`: every document of the crawled containers.
    only: Option<HashSet<String>>,
    /// Containers whose attachments and comments are listed; `None`: every crawled one.
    children: Option<HashSet<String>>,
    /// Pages and blog posts to crawl, by space key.
    containers: BTreeMap<String, Containers>,
    /// Spaces whose own document is emitted.
    space_documents: BTreeSet<String>,
    /// Spaces crawled whole, as a full sync crawls them.
    whole: BTreeSet<String>,
    /// Spaces already fetched, by key.
    known: HashMap<String, Space>,
    /// Cloud ancestries already built (by the listing that found the ids), by space key.
    ancestries: HashMap<String, Arc<Ancestry>>,
}

impl Selection {
    /// A selection that emits every document of what it crawls (incremental syncs).
    pub fn everything() -> Selection {
        Selection::default()
    }

    /// A selection that emits only the documents whose ids are added with
    /// [`Selection::want`] (advanced sync rules).
    pub fn only_wanted() -> Selection {
        Selection { only: Some(HashSet::new()), children: Some(HashSet::new()), ..Selection::default() }
    }

    /// Whether the document with this id is emitted.
    pub fn wants(&self, id: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(id))
    }

    /// Whether the attachments and comments of this container are listed.
    pub fn children_of(&self, container_id: &str) -> bool {
        self.children.as_ref().is_none_or(|c| c.contains(container_id))
    }

    /// Marks a document as wanted (with [`Selection::only_wanted`]).
    pub fn want(&mut self, id: &str) {
        if let Some(only) = self.only.as_mut() {
            only.insert(id.to_string());
        }
    }

    /// Crawls a page or blog post of a space.
    pub fn container(&mut self, space_key: &str, id: &str, content_type: ContentType) {
        let entry = self.containers.entry(space_key.to_string()).or_default();
        match content_type {
            ContentType::Page => entry.pages.insert(id.to_string()),
            ContentType::BlogPost => entry.blog_posts.insert(id.to_string()),
        };
    }

    /// Crawls a container for its attachments or comments.
    pub fn children(&mut self, space_key: &str, container_id: &str, content_type: ContentType) {
        self.container(space_key, container_id, content_type);
        if let Some(children) = self.children.as_mut() {
            children.insert(container_id.to_string());
        }
    }

    /// Emits the document of a space.
    pub fn space_document(&mut self, key: &str) {
        self.space_documents.insert(key.to_string());
    }

    /// Crawls a whole space (one that was not indexed before).
    pub fn whole_space(&mut self, key: &str) {
        self.whole.insert(key.to_string());
    }

    /// A space already fetched.
    pub fn know(&mut self, space: Space) {
        self.known.insert(space.key.clone(), space);
    }

    /// A Cloud ancestry already built for a space.
    pub fn know_ancestry(&mut self, space_key: &str, ancestry: Arc<Ancestry>) {
        self.ancestries.insert(space_key.to_string(), ancestry);
    }

    /// Ids of the pages and blog posts crawled.
    pub fn containers(&self) -> HashSet<String> {
        self.containers.values().flat_map(|c| c.pages.iter().chain(&c.blog_posts)).cloned().collect()
    }

    /// Pages and blog posts to crawl.
    pub fn container_count(&self) -> usize {
        self.containers.values().map(|c| c.pages.len() + c.blog_posts.len()).sum()
    }

    fn space_keys(&self) -> BTreeSet<String> {
        self.containers.keys().chain(&self.space_documents).chain(&self.whole).cloned().collect()
    }
}

/// Crawls a selection. Returns whether every listing completed; failures are also sent as
/// [`CrawlEvent::SpaceFailed`] so the sync reports them.
pub async fn crawl_selected(
    client: Arc<ConfluenceClient>,
    settings: Arc<CrawlSettings>,
    selection: Arc<Selection>,
    tx: mpsc::Sender<CrawlEvent>,
) -> bool {
    let authors = Arc::new(AuthorNames::default());
    let mut spaces = selection.known.clone();
    let missing: Vec<String> =
        selection.space_keys().into_iter().filter(|k| !spaces.contains_key(k)).collect();
    if !missing.is_empty() {
        match client.spaces(&missing).try_collect::<Vec<Space>>().await {
            Ok(found) => spaces.extend(found.into_iter().map(|s| (s.key.clone(), s))),
            Err(e) => {
                let _ = tx.send(CrawlEvent::SpaceFailed("(listing spaces)".into(), e)).await;
                return false;
            }
        }
    }
    let keys: Vec<String> = selection.space_keys().into_iter().collect();
    let results: Vec<bool> = stream::iter(keys)
        .map(|key| {
            let (client, settings, selection, authors, tx) =
                (client.clone(), settings.clone(), selection.clone(), authors.clone(), tx.clone());
            let space = spaces.get(&key).cloned();
            async move {
                // A space that no longer exists has nothing to crawl; its documents are
                // reconciled by the caller.
                let Some(space) = space else { return true };
                match crawl_chosen(&client, &settings, &selection, &space, &authors, &tx).await {
                    Ok(()) => true,
                    Err(e) => {
                        let _ = tx.send(CrawlEvent::SpaceFailed(key, e)).await;
                        false
                    }
                }
            }
        })
        .buffer_unordered(settings.max_concurrent_spaces.max(1))
        .collect()
        .await;
    results.into_iter().all(|ok| ok)
}

/// The chosen content of one space.
async fn crawl_chosen(
    client: &ConfluenceClient,
    settings: &CrawlSettings,
    selection: &Selection,
    space: &Space,
    authors: &AuthorNames,
    tx: &mpsc::Sender<CrawlEvent>,
) -> Result<(), ConfluenceError> {
    if selection.whole.contains(&space.key) {
        return crawl_space(client, settings, space, authors, tx).await;
    }
    if selection.space_documents.contains(&space.key)
        && emit(tx, space_document(client, settings, space, authors).await, None).await.is_err()
    {
        return Ok(());
    }
    let Some(containers) = selection.containers.get(&space.key) else { return Ok(()) };
    for (content_type, ids) in
        [(ContentType::Page, &containers.pages), (ContentType::BlogPost, &containers.blog_posts)]
    {
        if ids.is_empty() {
            continue;
        }
        let ancestry = match (client.flavour(), content_type) {
            (Flavour::Cloud, ContentType::Page) => match selection.ancestries.get(&space.key) {
                Some(known) => Some(known.clone()),
                None => Some(Arc::new(ancestry(client, space).await?)),
            },
            _ => None,
        };
        let wanted = ids;
        let ids: Vec<String> = ids.iter().cloned().collect();
        let options = ContentOptions {
            body: true,
            labels: settings.index_labels,
            // Server/DC listings carry each page's own read restriction at no extra request…
            restrictions: settings.acl.is_some(),
            // …and its first attachments: no attachment listing for a page with few.
            attachments: true,
            ..Default::default()
        };
        client
            .contents_by_id(content_type, &ids, options)
            // Only what was asked for: anything else a server returns would be filed under
            // this space, and emitted once per space that asked.
            .try_filter(|content| futures::future::ready(wanted.contains(&content.id)))
            .map(|item| async {
                let content = item?;
                crawl_content(
                    client,
                    settings,
                    space,
                    content,
                    ancestry.as_deref(),
                    authors,
                    Some(selection),
                    tx,
                )
                .await
            })
            .buffer_unordered(settings.per_space_concurrency.max(1))
            .try_for_each(|()| futures::future::ready(Ok(())))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rules_selection_emits_only_what_was_wanted() {
        let mut s = Selection::only_wanted();
        s.want("7");
        s.children("DEV", "3", ContentType::Page);
        assert!(s.wants("7") && !s.wants("3"));
        assert!(s.children_of("3") && !s.children_of("4"));
        assert_eq!(s.container_count(), 1);
    }

    #[test]
    fn an_incremental_selection_emits_everything_it_crawls() {
        let mut s = Selection::everything();
        s.container("DEV", "3", ContentType::Page);
        s.container("DEV", "3", ContentType::Page);
        s.container("OPS", "9", ContentType::BlogPost);
        assert!(s.wants("anything") && s.children_of("anything"));
        assert_eq!(s.container_count(), 2);
        assert_eq!(s.space_keys().len(), 2);
    }
}
