//! Steps 1, 3 and 4: what to crawl — what changed in the window, what the index has wrong,
//! and (Server/DC) the pages below changed pages where they may be indexed wrong — by space,
//! or by the advanced rules' queries.

use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};

use crate::confluence::{queries, ContentType, Flavour, Hit, HitKind, Space};
use crate::elastic::bulk::elasticsearch_id;
use crate::elastic::existing::ExistingDocs;

use crate::sync::advanced_rules;
use crate::sync::completeness::Incomplete;
use crate::sync::content::ContentSync;
use crate::sync::selection::Selection;

use super::live::{content_stamp, current, page_lineage, Live, LiveIds};
use super::window::{changed_cql, PreviousSync, Window};
use super::Failures;

/// What to crawl, and what exists.
pub(super) struct Plan {
    /// What changed or what the index has wrong.
    pub(super) selection: Selection,
    /// The ids that exist now, as indexed.
    pub(super) live_ids: LiveIds,
    /// Cloud, by space: the spaces whose attachments the id listing took from the search
    /// index, so that one missing from it is asked for by id before it is deleted.
    pub(super) confirm_attachments_in: Option<HashSet<String>>,
}

impl ContentSync {
    /// Steps 1–3 by space: the selection to crawl and the ids that exist. `None` when the
    /// spaces could not be listed (nothing can be done safely).
    pub(super) async fn plan_by_space(
        &self,
        existing: &ExistingDocs,
        window: Window,
        previous: PreviousSync,
        failures: &mut Failures,
    ) -> Option<Plan> {
        let client = &self.client;
        let keys: Vec<String> = self.crawl.spaces.iter().filter(|k| k.as_str() != "*").cloned().collect();
        let spaces: Vec<Space> = match client.spaces(&keys).try_collect().await {
            Ok(spaces) => spaces,
            Err(e) => {
                failures.0.push(Incomplete::SpaceList(e.to_string()));
                return None;
            }
        };
        let live = self.live_by_space(&spaces, failures).await;
        let mut selection = Selection::everything();
        let mut live_ids = LiveIds::default();
        for space in &spaces {
            live_ids.insert(&space.id);
            selection.space_document(&space.key);
            if existing.space_of(&elasticsearch_id(&space.id)).is_none() {
                selection.whole_space(&space.key);
            }
            selection.know(space.clone());
        }

        // What changed in the window. Cloud's listing told each page's and blog post's stamp;
        // Server/DC's window tells it (`changed_hits`), and its pages are the roots below which
        // ancestors are checked.
        let cloud = client.flavour() == Flavour::Cloud;
        let stamps = self.crawl.acl.is_none();
        let mut window_pages: Vec<String> = Vec::new();
        // Server/DC: pages holding a changed attachment or comment, whose lineage is checked
        // too (a rename the search does not show yet leaves such a page out of the window,
        // yet it is crawled, with its new title).
        let mut containers: HashSet<String> = HashSet::new();
        let mut seen: HashSet<String> = HashSet::new();
        if let Some(cql) = changed_cql(&keys, &spaces, self.crawl.index_comments, window) {
            let mut changed = if cloud {
                Box::pin(client.content_hits(&cql, true).map_ok(|hit| (hit, None)))
            } else {
                client.changed_hits(&cql)
            };
            while let Some(hit) = changed.next().await {
                match hit {
                    Ok((hit, content)) => {
                        let listed = live.ids.get(hit.id.as_str());
                        let space = hit.space_key.clone().or_else(|| listed.map(|l| l.space_key.to_string()));
                        let Some(space) = space else { continue };
                        if !cloud {
                            match (hit.kind, &hit.container) {
                                (HitKind::Content(ContentType::Page), _) => {
                                    seen.insert(hit.id.clone());
                                    if previous.check_below(existing, &hit.id, content.as_ref()) {
                                        window_pages.push(hit.id.clone());
                                    }
                                }
                                (HitKind::Attachment | HitKind::Comment, Some((c, ContentType::Page))) => {
                                    containers.insert(c.clone());
                                }
                                _ => {}
                            }
                        }
                        let now = match (listed, content) {
                            (Some(l), _) if cloud => l.stamp,
                            // Without its ancestors (not expanded) the stamp is unknown: crawl.
                            (_, Some(c)) if stamps && c.ancestors.is_some() => {
                                let name = spaces.iter().find(|s| s.key == space).map(|s| s.name.as_str());
                                let name = c.space_name.as_deref().or(name).unwrap_or_default();
                                let titles = c.ancestors.iter().flatten().filter_map(|a| a.title.as_deref());
                                Some(content_stamp(c.updated_at, &space, name, titles))
                            }
                            _ => None,
                        };
                        // Found again by the overlap, and already indexed as it is now.
                        if now.is_some_and(|now| current(existing, &hit.id, &space, now)) {
                            continue;
                        }
                        select_container(&mut selection, &space, hit.kind, &hit.id, hit.container);
                    }
                    Err(e) => {
                        failures.add("content changed in the window", e);
                        break;
                    }
                }
            }
        }
        containers.retain(|id| !seen.contains(id));
        if !containers.is_empty() {
            let ids: Vec<String> = containers.into_iter().collect();
            window_pages.extend(self.containers_to_check(ids, existing, previous, failures).await);
        }
        if !window_pages.is_empty() {
            self.below_changed(&window_pages, existing, &live, &mut selection, failures).await;
        }

        // What the index has wrong: missing, filed under another space, with other ancestors
        // than the page has now, or (where the listing tells) not as it is now.
        let mut unknown_containers = Vec::new();
        for (id, item) in &live.ids {
            live_ids.insert(id);
            let indexed_id = elasticsearch_id(id);
            let wrong = match existing.space_of(&indexed_id) {
                None => true,
                Some(indexed_space) => {
                    indexed_space != Some(&*item.space_key)
                        || item.lineage.is_some_and(|now| existing.lineage_of(&indexed_id) != Some(now))
                        || item.stamp.is_some_and(|now| existing.stamp_of(&indexed_id) != Some(now))
                }
            };
            if !wrong {
                continue;
            }
            match (item.kind, &item.container) {
                (HitKind::Content(_), _) | (_, Some(_)) => {
                    let container = item.container.as_ref().map(|(c, t)| (c.to_string(), *t));
                    select_container(&mut selection, &item.space_key, item.kind, id, container)
                }
                _ => unknown_containers.push(id.to_string()),
            }
        }
        let mut hits = client.content_hits_by_ids(&unknown_containers);
        while let Some(hit) = hits.next().await {
            match hit {
                Ok(hit) => {
                    if let Some(item) = live.ids.get(hit.id.as_str()) {
                        select_container(&mut selection, &item.space_key, hit.kind, &hit.id, hit.container);
                    }
                }
                Err(e) => {
                    failures.add("containers of attachments and comments", e);
                    break;
                }
            }
        }
        for (key, ancestry) in live.ancestries {
            selection.know_ancestry(&key, ancestry);
        }
        let confirm_attachments_in =
            (client.flavour() == Flavour::Cloud).then(|| spaces.iter().map(|s| s.key.clone()).collect());
        Some(Plan { selection, live_ids, confirm_attachments_in })
    }

    /// Server/DC: which of the pages `ids` (holding a changed attachment or comment) need the
    /// pages below them checked ([`PreviousSync::check_below`]), from their titles and
    /// ancestors now (`id in (…)`); after a sync that did not complete, all of them, without
    /// asking.
    pub(super) async fn containers_to_check(
        &self,
        ids: Vec<String>,
        existing: &ExistingDocs,
        previous: PreviousSync,
        failures: &mut Failures,
    ) -> Vec<String> {
        if previous == PreviousSync::Incomplete {
            return ids;
        }
        let mut roots = Vec::new();
        let mut pages = self.client.page_tree_by_ids(&ids, queries::pages_with_ids);
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) if previous.check_below(existing, &page.id, Some(&page)) => roots.push(page.id),
                Ok(_) => {}
                Err(e) => {
                    failures.add("pages holding changed attachments or comments", e);
                    break;
                }
            }
        }
        roots
    }

    /// Server/DC: the pages below `roots` (pages the window found, chosen by
    /// [`PreviousSync::check_below`]), with their ancestors as Confluence gives them now,
    /// against the lineage the index holds; those that differ are crawled. A rename or a move
    /// changes the ancestors of every page below without touching their `lastmodified`.
    pub(super) async fn below_changed(
        &self,
        roots: &[String],
        existing: &ExistingDocs,
        live: &Live,
        selection: &mut Selection,
        failures: &mut Failures,
    ) {
        let mut pages = self.client.page_tree_by_ids(roots, queries::pages_below);
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => {
                    let Some(item) = live.ids.get(page.id.as_str()) else { continue };
                    // A page listed without its ancestors cannot be checked: crawl it.
                    let stale = match &page.ancestors {
                        Some(ancestors) => {
                            let titles = ancestors.iter().filter_map(|a| a.title.as_deref());
                            let now = page_lineage(&page.title, titles);
                            existing.lineage_of(&elasticsearch_id(&page.id)).is_some_and(|l| l != now)
                        }
                        None => true,
                    };
                    if stale {
                        selection.container(&item.space_key, &page.id, ContentType::Page);
                    }
                }
                Err(e) => {
                    failures.add("pages below changed pages", e);
                    return;
                }
            }
        }
    }

    /// Steps 1–3 with advanced rules: every query's hits are what exists; each query within
    /// the window is what changed.
    pub(super) async fn plan_by_rules(
        &self,
        existing: &ExistingDocs,
        window: Window,
        failures: &mut Failures,
    ) -> Option<Plan> {
        let client = &self.client;
        let mut hits: Vec<Hit> = Vec::new();
        let mut changed: HashSet<String> = HashSet::new();
        for query in self.advanced.iter() {
            match advanced_rules::hits(client, query).await {
                Ok(found) => hits.extend(found),
                Err(e) => failures.add(&format!("advanced rule {query:?}"), e),
            }
            let windowed = advanced_rules::within(query, &window.clause());
            match advanced_rules::hits(client, &windowed).await {
                Ok(found) => changed.extend(found.into_iter().map(|h| h.id)),
                Err(e) => failures.add(&format!("advanced rule {query:?} within the window"), e),
            }
        }
        let mut selection = Selection::only_wanted();
        let mut live_ids = LiveIds::default();
        for hit in hits {
            live_ids.insert(&hit.id);
            let stale = hit.kind == HitKind::Space
                || changed.contains(&hit.id)
                || existing
                    .space_of(&elasticsearch_id(&hit.id))
                    .is_none_or(|s| s != hit.space_key.as_deref());
            if stale {
                advanced_rules::select(&mut selection, hit);
            }
        }
        // Pages below a renamed page keep their ancestors until the next full sync: the
        // rules' hits carry no tree to compare. What no rule matches any more goes, whatever
        // Confluence still holds.
        Some(Plan { selection, live_ids, confirm_attachments_in: None })
    }
}

/// Adds what a changed or misfiled item needs crawled: itself when it is a page or blog
/// post, else its container.
pub(super) fn select_container(
    selection: &mut Selection,
    space_key: &str,
    kind: HitKind,
    id: &str,
    container: Option<(String, ContentType)>,
) {
    match (kind, container) {
        (HitKind::Content(content_type), _) => selection.container(space_key, id, content_type),
        (HitKind::Attachment | HitKind::Comment, Some((container, content_type))) => {
            selection.children(space_key, &container, content_type)
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_attachment_brings_its_container() {
        let mut s = Selection::everything();
        select_container(&mut s, "DEV", HitKind::Attachment, "att1", Some(("5".into(), ContentType::Page)));
        select_container(&mut s, "DEV", HitKind::Attachment, "att2", None);
        select_container(&mut s, "DEV", HitKind::Content(ContentType::BlogPost), "9", None);
        assert_eq!(s.container_count(), 2);
    }
}
