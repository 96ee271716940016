//! Step 2: what exists now, ids only, with the cheapest exact listing of each flavour —
//! and for pages (and Cloud blog posts) the lineage and stamp their documents would have, to
//! tell which indexed copies are wrong without fetching them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::{stream, StreamExt};

use crate::confluence::{
    queries, Ancestry, ConfluenceClient, ConfluenceError, Content, ContentType, Flavour, Hit, HitKind, Space,
};
use crate::elastic::bulk::elasticsearch_id;
use crate::elastic::existing::{lineage, stamp, ExistingDocs, StampParts};

use crate::sync::content::ContentSync;
use crate::sync::document::iso;

use super::Failures;

/// What exists now: id → (space key, what it is, its container, its lineage).
#[derive(Debug, Default)]
pub(super) struct Live {
    pub(super) ids: HashMap<Box<str>, LiveItem>,
    /// Cloud page titles and parents, from the same listing, by space key (the crawl reuses
    /// them rather than listing the pages again).
    pub(super) ancestries: HashMap<String, Arc<Ancestry>>,
}

#[derive(Debug, Clone)]
pub(super) struct LiveItem {
    /// Shared by every item of the space.
    pub(super) space_key: Arc<str>,
    pub(super) kind: HitKind,
    pub(super) container: Option<(Box<str>, ContentType)>,
    /// Pages: the [`lineage`] their document would have now.
    pub(super) lineage: Option<u64>,
    /// Pages (and Cloud blog posts), without document-level security: the [`stamp`] their
    /// document would have now.
    pub(super) stamp: Option<u64>,
}

/// One item of a space's id listing, and (pages, blog posts) what its document would be.
pub(super) struct Listed {
    pub(super) hit: Hit,
    pub(super) lineage: Option<u64>,
    pub(super) stamp: Option<u64>,
}

impl Listed {
    pub(super) fn id_only(hit: Hit) -> Listed {
        Listed { hit, lineage: None, stamp: None }
    }
}

/// The lineage a page's document gets: its title and its ancestors' titles, root first
/// (as `Document::lineage` hashes them).
pub(super) fn page_lineage<'a>(title: &str, ancestors: impl Iterator<Item = &'a str>) -> u64 {
    lineage(Some(title), ancestors)
}

/// The stamp a page's or blog post's document gets when it carries no access list (as
/// [`Document::stamp`](crate::sync::Document::stamp) hashes it): from what the id listing tells — the
/// last modification, the space, the ancestors' titles — whether the indexed copy is current.
pub(super) fn content_stamp<'a>(
    updated: Option<DateTime<Utc>>,
    space_key: &str,
    space_name: &str,
    ancestors: impl Iterator<Item = &'a str>,
) -> u64 {
    let timestamp = updated.map(iso).unwrap_or_default();
    let parts = StampParts {
        timestamp: Some(&timestamp),
        space_key: Some(space_key),
        space: Some(space_name),
        container: None,
    };
    stamp(parts, ancestors, std::iter::empty())
}

impl ContentSync {
    /// Step 2 by space: the ids that exist in each space, listed concurrently.
    pub(super) async fn live_by_space(&self, spaces: &[Space], failures: &mut Failures) -> Live {
        let client = self.client.clone();
        let index_comments = self.crawl.index_comments;
        // With document-level security a document's stamp holds its access list, which the
        // id listing does not tell.
        let stamps = self.crawl.acl.is_none();
        let listed: Vec<(String, SpaceIds)> = stream::iter(spaces)
            .map(|space| {
                let client = client.clone();
                async move { (space.key.clone(), live_in_space(&client, space, index_comments, stamps).await) }
            })
            .buffer_unordered(self.crawl.max_concurrent_spaces.max(1))
            .collect()
            .await;
        let mut live = Live::default();
        for (key, result) in listed {
            match result {
                Ok((hits, ancestry)) => {
                    let space_key: Arc<str> = key.as_str().into();
                    for Listed { hit, lineage, stamp } in hits {
                        let container = hit.container.map(|(c, t)| (c.into_boxed_str(), t));
                        live.ids.insert(
                            hit.id.into_boxed_str(),
                            LiveItem {
                                space_key: space_key.clone(),
                                kind: hit.kind,
                                container,
                                lineage,
                                stamp,
                            },
                        );
                    }
                    if let Some(ancestry) = ancestry {
                        live.ancestries.insert(key, Arc::new(ancestry));
                    }
                }
                Err(e) => failures.add(&format!("listing the ids of space {key}"), e),
            }
        }
        live
    }
}

/// The ids of one space that exist now (pages with their lineage and stamp), and (Cloud)
/// its pages' titles and parents.
pub(super) type SpaceIds = Result<(Vec<Listed>, Option<Ancestry>), ConfluenceError>;

/// The ids of one space that exist now; with `stamps`, what the documents of its pages (and,
/// on Cloud, blog posts) would be stamped with.
///
/// Cloud attachments are listed by CQL, per space, with their containers, like comments: v2
/// lists attachments only site-wide (a cost set by the whole site, not by the configured
/// spaces) or page by page (one request per page).
pub(super) async fn live_in_space(
    client: &ConfluenceClient,
    space: &Space,
    index_comments: bool,
    stamps: bool,
) -> SpaceIds {
    let mut hits: Vec<Listed> = Vec::new();
    let hit = |kind, id| Hit { kind, id, space_key: Some(space.key.clone()), container: None, space: None };
    let stamp_of = |updated, ancestors: &[&str]| {
        stamps.then(|| content_stamp(updated, &space.key, &space.name, ancestors.iter().copied()))
    };
    match client.flavour() {
        Flavour::Cloud => {
            let mut ancestry = Ancestry::default();
            let mut pages: Vec<Content> = Vec::new();
            for content_type in [ContentType::Page, ContentType::BlogPost] {
                let mut listing = client.contents(space, content_type, Default::default());
                while let Some(content) = listing.next().await {
                    let content = content?;
                    if content_type == ContentType::Page {
                        ancestry.record(&content);
                        pages.push(content);
                    } else {
                        // A blog post's document has no ancestors.
                        let stamp = stamp_of(content.updated_at, &[]);
                        let hit = hit(HitKind::Content(content_type), content.id);
                        hits.push(Listed { hit, lineage: None, stamp });
                    }
                }
            }
            // Once the whole tree is known: the chain a crawl would give each page.
            for page in pages {
                let chain = ancestry.ancestors(page.parent_id.as_deref());
                let titles: Vec<&str> = chain.iter().filter_map(|a| a.title.as_deref()).collect();
                let lineage = Some(page_lineage(&page.title, titles.iter().copied()));
                let stamp = stamp_of(page.updated_at, &titles);
                hits.push(Listed { hit: hit(HitKind::Content(ContentType::Page), page.id), lineage, stamp });
            }
            let mut children =
                client.content_hits(&queries::children_in_space(&space.key, index_comments), true);
            while let Some(child) = children.next().await {
                hits.push(Listed::id_only(child?));
            }
            Ok((hits, Some(ancestry)))
        }
        Flavour::Server | Flavour::DataCenter => {
            // Ids only: the ancestors of every page would cost a few kB each, every run.
            let mut listing = client.content_hits(&queries::in_space(&space.key, index_comments), false);
            while let Some(item) = listing.next().await {
                hits.push(Listed::id_only(item?));
            }
            Ok((hits, None))
        }
    }
}

/// Whether the index holds `id` in `space` with the stamp it has `now`: the window may find
/// it again — the overlap reaches back past the last sync — and crawling it again would
/// change nothing.
pub(super) fn current(existing: &ExistingDocs, id: &str, space: &str, now: u64) -> bool {
    let indexed_id = elasticsearch_id(id);
    existing.stamp_of(&indexed_id) == Some(now) && existing.space_of(&indexed_id) == Some(Some(space))
}

/// The ids (as indexed) that exist now.
#[derive(Debug, Default)]
pub(super) struct LiveIds(HashSet<Box<str>>);

impl LiveIds {
    pub(super) fn insert(&mut self, id: &str) {
        self.0.insert(elasticsearch_id(id).into());
    }

    pub(super) fn contains(&self, id: &str) -> bool {
        self.0.contains(id)
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_page_lineage_and_stamp_are_the_ones_its_document_gets() {
        use crate::sync::document::{DocType, Document};
        let doc = Document {
            space_name: Some("Development".into()),
            ancestors: Some(vec!["Home".into(), "Docs".into()]),
            ..Document::new(
                "5".into(),
                DocType::Page,
                "2026-01-02T03:04:05.000Z".into(),
                "Guide".into(),
                "DEV".into(),
                String::new(),
            )
        };
        assert_eq!(page_lineage("Guide", ["Home", "Docs"].into_iter()), doc.lineage());
        assert_ne!(page_lineage("Guide", ["Home", "Renamed"].into_iter()), doc.lineage());
        assert_ne!(page_lineage("Guide", ["Docs"].into_iter()), doc.lineage());

        // The stamp from what a listing tells equals the document's, and moves with each part.
        let updated = Some(at("2026-01-02T03:04:05Z"));
        let ancestors = ["Home", "Docs"];
        assert_eq!(content_stamp(updated, "DEV", "Development", ancestors.into_iter()), doc.stamp());
        let later = Some(at("2026-01-02T03:04:06Z"));
        assert_ne!(content_stamp(later, "DEV", "Development", ancestors.into_iter()), doc.stamp());
        assert_ne!(content_stamp(updated, "OPS", "Development", ancestors.into_iter()), doc.stamp());
        assert_ne!(content_stamp(updated, "DEV", "Dev", ancestors.into_iter()), doc.stamp());
        assert_ne!(content_stamp(updated, "DEV", "Development", ["Home"].into_iter()), doc.stamp());
        // A document with an access list is not what the listing can tell.
        let mut restricted = doc.clone();
        restricted.allow_access_control = Some(vec!["group:dev".into()]);
        assert_ne!(content_stamp(updated, "DEV", "Development", ancestors.into_iter()), restricted.stamp());
    }
}
