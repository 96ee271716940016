//! What a crawl of chosen content fetches and emits: the pages and blog posts (by space)
//! that advanced rules matched or that changed since the last sync, and which of their
//! documents and children are wanted. [`super::selected`] crawls it; [`super::crawl`] asks it
//! what to emit.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::confluence::{Ancestry, ContentType, Space};

/// Pages and blog posts of one space to crawl.
#[derive(Debug, Default, Clone)]
pub(super) struct Containers {
    pub(super) pages: BTreeSet<String>,
    pub(super) blog_posts: BTreeSet<String>,
}

/// What a selected crawl fetches and emits.
#[derive(Debug, Default)]
pub(super) struct Selection {
    /// Documents to emit, by id; `None`: every document of the crawled containers.
    pub(super) only: Option<HashSet<String>>,
    /// Containers whose attachments and comments are listed; `None`: every crawled one.
    pub(super) children: Option<HashSet<String>>,
    /// Pages and blog posts to crawl, by space key.
    pub(super) containers: BTreeMap<String, Containers>,
    /// Spaces whose own document is emitted.
    pub(super) space_documents: BTreeSet<String>,
    /// Spaces crawled whole, as a full sync crawls them.
    pub(super) whole: BTreeSet<String>,
    /// Spaces already fetched, by key.
    pub(super) known: HashMap<String, Space>,
    /// Cloud ancestries already built (by the listing that found the ids), by space key.
    pub(super) ancestries: HashMap<String, Arc<Ancestry>>,
}

impl Selection {
    /// A selection that emits every document of what it crawls (incremental syncs).
    pub(super) fn everything() -> Selection {
        Selection::default()
    }

    /// A selection that emits only the documents whose ids are added with
    /// [`Selection::want`] (advanced sync rules).
    pub(super) fn only_wanted() -> Selection {
        Selection { only: Some(HashSet::new()), children: Some(HashSet::new()), ..Selection::default() }
    }

    /// Whether the document with this id is emitted.
    pub(super) fn wants(&self, id: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(id))
    }

    /// Whether the attachments and comments of this container are listed.
    pub(super) fn children_of(&self, container_id: &str) -> bool {
        self.children.as_ref().is_none_or(|c| c.contains(container_id))
    }

    /// Marks a document as wanted (with [`Selection::only_wanted`]).
    pub(super) fn want(&mut self, id: &str) {
        if let Some(only) = self.only.as_mut() {
            only.insert(id.to_string());
        }
    }

    /// Crawls a page or blog post of a space.
    pub(super) fn container(&mut self, space_key: &str, id: &str, content_type: ContentType) {
        let entry = self.containers.entry(space_key.to_string()).or_default();
        match content_type {
            ContentType::Page => entry.pages.insert(id.to_string()),
            ContentType::BlogPost => entry.blog_posts.insert(id.to_string()),
        };
    }

    /// Crawls a container for its attachments or comments.
    pub(super) fn children(&mut self, space_key: &str, container_id: &str, content_type: ContentType) {
        self.container(space_key, container_id, content_type);
        if let Some(children) = self.children.as_mut() {
            children.insert(container_id.to_string());
        }
    }

    /// Emits the document of a space.
    pub(super) fn space_document(&mut self, key: &str) {
        self.space_documents.insert(key.to_string());
    }

    /// Crawls a whole space (one that was not indexed before).
    pub(super) fn whole_space(&mut self, key: &str) {
        self.whole.insert(key.to_string());
    }

    /// A space already fetched.
    pub(super) fn know(&mut self, space: Space) {
        self.known.insert(space.key.clone(), space);
    }

    /// A Cloud ancestry already built for a space.
    pub(super) fn know_ancestry(&mut self, space_key: &str, ancestry: Arc<Ancestry>) {
        self.ancestries.insert(space_key.to_string(), ancestry);
    }

    /// Pages and blog posts to crawl.
    pub(super) fn container_count(&self) -> usize {
        self.containers.values().map(|c| c.pages.len() + c.blog_posts.len()).sum()
    }

    pub(super) fn space_keys(&self) -> BTreeSet<String> {
        self.containers.keys().chain(&self.space_documents).chain(&self.whole).cloned().collect()
    }
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
