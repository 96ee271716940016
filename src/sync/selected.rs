//! A crawl of chosen content rather than of whole spaces: what advanced sync rules matched,
//! or what changed since the last sync.
//!
//! The chosen pages and blog posts are fetched by id through the listings a full sync uses
//! and go through the same [`crawl_content`], so a document looks the same whichever kind of
//! sync made it. Attachments and comments are reached through their container, which is
//! how a full sync reaches them too.

use std::sync::Arc;

use futures::{stream, StreamExt, TryStreamExt};
use tokio::sync::mpsc;

use crate::confluence::{ConfluenceClient, ConfluenceError, ContentType, Flavour, Space};

use super::crawl::{
    ancestry, crawl_content, crawl_space, emit, readable, space_document, AuthorNames, CrawlEvent,
    CrawlSettings, Crawler,
};
use super::selection::Selection;

/// Crawls a selection. Returns whether every listing completed; failures are also sent as
/// [`CrawlEvent::SpaceFailed`] so the sync reports them.
pub(super) async fn crawl_selected(
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
                let _ = tx.send(CrawlEvent::SpaceListFailed(e)).await;
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
                let crawler = Crawler { client: &client, settings: &settings, authors: &authors, tx: &tx };
                match crawl_chosen(crawler, &selection, &space).await {
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
    crawler: Crawler<'_>,
    selection: &Selection,
    space: &Space,
) -> Result<(), ConfluenceError> {
    let Crawler { client, settings, tx, .. } = crawler;
    if selection.whole.contains(&space.key) {
        return crawl_space(crawler, space).await;
    }
    if selection.space_documents.contains(&space.key)
        && emit(tx, space_document(crawler, space).await?, None).await.is_err()
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
        let options = settings.content_options();
        client
            .contents_by_id(content_type, &ids, options)
            // Only what was asked for: anything else a server returns would be filed under
            // this space, and emitted once per space that asked.
            .try_filter(|content| futures::future::ready(wanted.contains(&content.id)))
            .map(|item| async {
                // A malformed item is reported and skipped, as in a full crawl.
                let Some(content) = readable(item, &space.key, tx).await? else {
                    return Ok(());
                };
                crawl_content(crawler, space, content, ancestry.as_deref(), Some(selection)).await
            })
            .buffer_unordered(settings.per_space_concurrency.max(1))
            .try_for_each(|()| futures::future::ready(Ok(())))
            .await?;
    }
    Ok(())
}
