//! Which deletions a full sync may make: only inside scopes whose listing completed.
//!
//! A full sync deletes the indexed documents it did not see. That is right only where it
//! looked everywhere: a listing that failed (after its retries) leaves its scope untouched,
//! and a failed list of spaces leaves everything untouched. This is the rule whose absence
//! made Elastic's connector delete documents after a partial crawl (elastic/connectors#2393).

use std::collections::HashSet;

/// What the crawl managed to list completely.
#[derive(Debug, Default, Clone)]
pub(super) struct Scope {
    /// The list of spaces itself completed; without it nothing may be deleted.
    space_list_complete: bool,
    /// Keys of the spaces the sync covers (configured and existing).
    in_scope: HashSet<String>,
    /// Keys of the spaces whose every listing (content, attachments…) completed.
    completed: HashSet<String>,
    /// Keys of the spaces where a malformed item was skipped: their listings ran to the end
    /// but did not show everything, so nothing in them is deleted.
    skipped_items: HashSet<String>,
    /// Any listing failed somewhere.
    any_failure: bool,
}

impl Scope {
    /// The list of spaces completed; these are the spaces the sync covers.
    pub(super) fn space_list_completed(&mut self, keys: impl IntoIterator<Item = String>) {
        self.space_list_complete = true;
        self.in_scope.extend(keys);
    }

    /// A crawl that is not by space (advanced rules) listed everything it covers: every
    /// indexed document it did not see is out of scope.
    pub(super) fn everything_listed(&mut self) {
        self.space_list_complete = true;
    }

    /// Every listing of this space completed.
    pub(super) fn space_completed(&mut self, key: &str) {
        self.completed.insert(key.to_string());
    }

    /// A listing failed; its space (when known) keeps its documents.
    pub(super) fn listing_failed(&mut self) {
        self.any_failure = true;
    }

    /// A malformed item of a listing in this space was skipped: the space keeps its
    /// documents even once its listings complete.
    pub(super) fn item_skipped(&mut self, key: &str) {
        self.any_failure = true;
        self.skipped_items.insert(key.to_string());
    }

    /// True when nothing failed.
    pub(super) fn is_complete(&self) -> bool {
        self.space_list_complete
            && !self.any_failure
            && self.in_scope.iter().all(|k| self.completed.contains(k))
    }

    /// Whether an indexed document the crawl did not see may be deleted.
    ///
    /// `space_key` is the key the document was indexed under; `None` for documents indexed
    /// without one (by another tool), which only a wholly complete crawl may delete.
    pub(super) fn may_delete(&self, space_key: Option<&str>) -> bool {
        if !self.space_list_complete {
            return false;
        }
        if space_key.is_some_and(|key| self.skipped_items.contains(key)) {
            return false;
        }
        match space_key {
            None => self.is_complete(),
            // A space that is gone, or no longer configured: the complete space list says so.
            Some(key) if !self.in_scope.contains(key) => true,
            Some(key) => self.completed.contains(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(spaces: &[&str], completed: &[&str]) -> Scope {
        let mut s = Scope::default();
        s.space_list_completed(spaces.iter().map(|k| k.to_string()));
        for k in completed {
            s.space_completed(k);
        }
        s
    }

    #[test]
    fn nothing_is_deleted_before_the_space_list_completes() {
        let s = Scope::default();
        assert!(!s.may_delete(Some("DEV")));
        assert!(!s.may_delete(None));
    }

    #[test]
    fn a_failed_space_keeps_its_documents_while_others_are_reconciled() {
        let mut s = scope(&["DEV", "OPS"], &["DEV"]);
        s.listing_failed();
        assert!(s.may_delete(Some("DEV")));
        assert!(!s.may_delete(Some("OPS")));
        assert!(!s.may_delete(None), "unknown-space documents need a complete crawl");
        assert!(!s.is_complete());
    }

    #[test]
    fn a_complete_rules_crawl_may_delete_anything_it_did_not_see() {
        let mut s = Scope::default();
        s.everything_listed();
        assert!(s.may_delete(Some("DEV")) && s.may_delete(None));
        let mut failed = Scope::default();
        failed.listing_failed();
        assert!(!failed.may_delete(Some("DEV")) && !failed.may_delete(None));
    }

    #[test]
    fn a_space_with_a_skipped_item_keeps_its_documents() {
        let mut s = scope(&["DEV", "OPS"], &["DEV", "OPS"]);
        s.item_skipped("OPS");
        assert!(s.may_delete(Some("DEV")));
        assert!(!s.may_delete(Some("OPS")));
        assert!(!s.may_delete(None));
        assert!(!s.is_complete());
        let mut rules = Scope::default();
        rules.everything_listed();
        rules.item_skipped("OPS");
        assert!(!rules.may_delete(Some("OPS")), "a rules crawl too keeps what it could not read");
        assert!(rules.may_delete(Some("DEV")));
    }

    #[test]
    fn documents_of_removed_spaces_go_when_the_space_list_completed() {
        let s = scope(&["DEV"], &["DEV"]);
        assert!(s.may_delete(Some("GONE")));
        assert!(s.is_complete());
        assert!(s.may_delete(None));
    }
}
