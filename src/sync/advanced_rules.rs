//! Advanced sync rules: CQL queries decide what is indexed.
//!
//! Each query runs through `rest/api/search` (spaces and every content kind), paged to the
//! end on every flavour — Server/DC by count, since their next link drops the query (the
//! reason Elastic's connector sees only the first page there, #3320). Hits of all queries are
//! merged by id; the documents are then made by the same code as a sync without rules
//! ([`super::selected`]). Deleting what no query matches any more is allowed only when every
//! query and every fetch completed ([`CrawlEvent::Complete`]).

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use tokio::sync::mpsc;

use crate::confluence::{ConfluenceClient, ConfluenceError, Hit, HitKind};

use super::crawl::{CrawlEvent, CrawlSettings};
use super::selected::crawl_selected;
use super::selection::Selection;

/// Runs the queries, then crawls what they matched.
pub(super) async fn crawl(
    client: Arc<ConfluenceClient>,
    settings: Arc<CrawlSettings>,
    queries: Arc<Vec<String>>,
    tx: mpsc::Sender<CrawlEvent>,
) {
    let mut selection = Selection::only_wanted();
    let mut complete = true;
    for query in queries.iter() {
        match matches(&client, query, &mut selection).await {
            Ok(count) => tracing::info!(query = query.as_str(), matches = count, "advanced rule ran"),
            Err(e) => {
                complete = false;
                if tx.send(CrawlEvent::SpaceFailed(format!("(advanced rule {query:?})"), e)).await.is_err() {
                    return;
                }
            }
        }
    }
    // Comments a query matched are indexed even when `index_comments` is off: the rule
    // asked for them. Only wanted ids are emitted, so no other comment is.
    let settings = Arc::new(CrawlSettings { index_comments: true, ..(*settings).clone() });
    let crawled = crawl_selected(client, settings, Arc::new(selection), tx.clone()).await;
    if complete && crawled {
        let _ = tx.send(CrawlEvent::Complete).await;
    }
}

/// Adds a query's hits to the selection; returns how many there were.
async fn matches(
    client: &ConfluenceClient,
    query: &str,
    selection: &mut Selection,
) -> Result<u64, ConfluenceError> {
    let mut hits = client.search_hits(query);
    let mut count = 0;
    while let Some(hit) = hits.next().await {
        let hit = hit?;
        count += 1;
        select(selection, hit);
    }
    Ok(count)
}

/// Every hit of a query.
pub(super) async fn hits(client: &ConfluenceClient, query: &str) -> Result<Vec<Hit>, ConfluenceError> {
    client.search_hits(query).try_collect().await
}

/// A rule narrowed by `clause` (an incremental sync's window): `(<rule>) and <clause>`,
/// without the rule's `ORDER BY`, which may only end a whole query — `(space = X order by
/// created) and …` is invalid CQL. The order does not matter here: the hits are merged by id.
/// Rules were parsed when the configuration was loaded; one that does not parse here is sent
/// as written, for Confluence to judge.
pub(super) fn within(query: &str, clause: &str) -> String {
    let condition = match confluence_cql::parse(query) {
        Ok(parsed) => parsed.condition_text(query),
        Err(_) => query.trim().to_string(),
    };
    format!("({condition}) and {clause}")
}

/// What a hit adds to the selection: itself, and the container it is reached through.
pub(super) fn select(selection: &mut Selection, hit: Hit) {
    let Some(space_key) = hit.space_key.clone() else {
        tracing::warn!(id = hit.id.as_str(), "a search hit has no space; skipped");
        return;
    };
    match hit.kind {
        HitKind::Space => {
            selection.want(&hit.id);
            selection.space_document(&space_key);
            if let Some(space) = hit.space {
                selection.know(*space);
            }
        }
        HitKind::Content(content_type) => {
            selection.want(&hit.id);
            selection.container(&space_key, &hit.id, content_type);
        }
        HitKind::Attachment | HitKind::Comment => match hit.container {
            Some((container, container_type)) => {
                selection.want(&hit.id);
                selection.children(&space_key, &container, container_type);
            }
            // As Elastic's connector does: without a container there is no parent title.
            None => {
                tracing::warn!(id = hit.id.as_str(), "an attachment or comment hit has no container; skipped")
            }
        },
    }
}

/// Runs each query once with a limit of 1 and returns Confluence's own error for each that
/// it rejects (a field it does not know, a function it does not have). Errors that are not
/// about the query (network, auth) are returned as they are, once.
pub(crate) async fn check_remotely(
    client: &ConfluenceClient,
    queries: &[String],
) -> Result<Vec<String>, ConfluenceError> {
    let mut rejected = Vec::new();
    for (i, query) in queries.iter().enumerate() {
        match client.check_cql(query).await {
            Err(ConfluenceError::Status { status: 400, excerpt, .. }) => {
                rejected
                    .push(format!("advanced rule {} ({query:?}): Confluence rejected it: {excerpt}", i + 1));
            }
            Err(e) => return Err(e),
            Ok(()) => {}
        }
    }
    Ok(rejected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::ContentType;

    fn hit(kind: HitKind, id: &str, container: Option<&str>) -> Hit {
        Hit {
            kind,
            id: id.into(),
            space_key: Some("DEV".into()),
            container: container.map(|c| (c.to_string(), ContentType::Page)),
            space: None,
        }
    }

    #[test]
    fn overlapping_queries_select_each_document_once() {
        let mut s = Selection::only_wanted();
        for _ in 0..2 {
            select(&mut s, hit(HitKind::Content(ContentType::Page), "1", None));
            select(&mut s, hit(HitKind::Attachment, "att9", Some("1")));
        }
        assert_eq!(s.container_count(), 1);
        assert!(s.wants("1") && s.wants("att9") && !s.wants("2"));
        assert!(s.children_of("1"));
    }

    #[test]
    fn a_rule_within_the_window_drops_its_order_by() {
        let clause = "lastmodified >= now(\"-61m\")";
        assert_eq!(
            within("space = X order by created desc", clause),
            "(space = X) and lastmodified >= now(\"-61m\")"
        );
        assert_eq!(
            within("type = page OR title ~ \"order by\"", clause),
            "(type = page OR title ~ \"order by\") and lastmodified >= now(\"-61m\")"
        );
        for query in ["space = X order by created desc", "type = page OR title ~ \"order by\""] {
            assert!(confluence_cql::parse(&within(query, clause)).is_ok(), "{query}");
        }
    }

    #[test]
    fn an_attachment_hit_reaches_its_container_without_indexing_it() {
        let mut s = Selection::only_wanted();
        select(&mut s, hit(HitKind::Attachment, "att9", Some("1")));
        assert!(!s.wants("1") && s.wants("att9"));
        select(&mut s, hit(HitKind::Comment, "c5", None));
        assert!(!s.wants("c5"), "a comment without container is skipped");
    }
}
