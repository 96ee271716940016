//! The window of an incremental sync and what the previous sync tells it: which
//! modifications it asks for ([`Window`]), and below which changed pages it checks the pages
//! ([`PreviousSync`]).

use chrono::{DateTime, Utc};

use crate::confluence::{queries, Content, Space};
use crate::elastic::bulk::elasticsearch_id;
use crate::elastic::existing::ExistingDocs;

use super::live::page_lineage;

/// Which modifications an incremental sync asks for.
///
/// CQL dates written out (`"2026-11-23 01:00"`) are read as wall-clock time in the site's
/// time zone (Cloud: the instance's, not the user's; Server/DC: the server's), which the
/// connector cannot learn reliably. A UTC instant written out that way names, on a site
/// east of UTC, an earlier instant — in UTC+13, thirteen hours earlier: the window only
/// widens — but on a site west of UTC a later one: in UTC−10 the window would start ten
/// hours after the last sync and silently lose every edit of those ten hours. `now("-Nm")`
/// is evaluated by Confluence against its own clock, so the window is the same in every
/// time zone; the overlap covers the search index's lag behind edits and any clock skew
/// between the connector and Confluence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// Minutes back from Confluence's "now".
    pub(crate) minutes: i64,
}

impl Window {
    /// The window covering everything modified since `since`, plus `overlap_minutes`.
    pub(crate) fn since(since: DateTime<Utc>, now: DateTime<Utc>, overlap_minutes: i64) -> Window {
        let elapsed = (now - since).num_seconds().max(0);
        // Rounded up: a window one minute too wide costs nothing, one too narrow loses edits.
        let minutes = (elapsed + 59) / 60 + overlap_minutes.max(0);
        Window { minutes: minutes.max(1) }
    }

    /// The CQL clause.
    pub(crate) fn clause(&self) -> String {
        queries::modified_within(self.minutes)
    }
}

/// What the state tells of the sync before this one, and so (Server/DC) below which pages
/// the window finds the pages must be checked. Those below a page are indexed right when
/// the page is indexed with the lineage it has now by a completed sync that listed them
/// after the page's last change. So, below a page the window finds (or holding a changed
/// attachment or comment), they are checked when:
/// - the previous sync did not complete: it may have written the page and not those below
///   (it was killed in between), and its cursor did not move, so the window finds the page
///   again — below every page the window finds (and every page holding a changed attachment
///   or comment), as long as syncs do not complete;
/// - the page is not indexed, or with another lineage (renamed or moved since);
/// - its indexed copy was modified at or after the latest modification Confluence's search
///   showed when the previous sync began ([`ExistingDocs::recent`]): it changed while that
///   sync ran, perhaps after the pages below were listed. Both dates are Confluence's, so
///   no clock skew enters; the search's lag can only make that mark earlier, which checks
///   more pages, never fewer.
///
/// A page at the top of a large tree whose body alone was edited then costs no listing of
/// its tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PreviousSync {
    /// It did not complete, or is not known to have.
    Incomplete,
    /// It completed; the indexed documents are marked [`ExistingDocs::recent`] against its
    /// mark (all of them when it had none).
    Completed,
}

impl PreviousSync {
    /// Whether the pages below page `id`, as `content` shows it now, need checking.
    pub(super) fn check_below(&self, existing: &ExistingDocs, id: &str, content: Option<&Content>) -> bool {
        if *self == PreviousSync::Incomplete {
            return true;
        }
        // Without its ancestors, its lineage now is unknown.
        let Some((content, Some(ancestors))) = content.map(|c| (c, c.ancestors.as_ref())) else {
            return true;
        };
        let now = page_lineage(&content.title, ancestors.iter().filter_map(|a| a.title.as_deref()));
        let indexed_id = elasticsearch_id(id);
        existing.lineage_of(&indexed_id) != Some(now) || existing.recent(&indexed_id) != Some(false)
    }
}

/// The query for what changed in `window`: in the configured spaces that exist (`keys`
/// empty: every space). `None` when spaces were configured and none of them exists any
/// more: `space in ()` is not CQL, and nothing can have changed in them — what the index
/// holds of them is deleted by the reconciliation.
pub(super) fn changed_cql(
    keys: &[String],
    spaces: &[Space],
    index_comments: bool,
    window: Window,
) -> Option<String> {
    let existing: Vec<&str> = spaces.iter().map(|s| s.key.as_str()).collect();
    let keys = (!keys.is_empty()).then_some(existing.as_slice());
    queries::changed_in(keys, index_comments, window.minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_window_rounds_up_and_adds_the_overlap() {
        let w = Window::since(at("2026-11-23T01:00:00Z"), at("2026-11-23T01:30:01Z"), 60);
        assert_eq!(w.minutes, 31 + 60);
        assert_eq!(w.clause(), "lastmodified >= now(\"-91m\")");
        // A clock that went backwards still asks for the overlap.
        assert_eq!(Window::since(at("2026-11-23T02:00:00Z"), at("2026-11-23T01:00:00Z"), 0).minutes, 1);
    }

    fn space(key: &str) -> Space {
        Space::bare(&format!("id-{key}"), key)
    }

    #[test]
    fn the_changed_query_names_the_spaces_that_exist_or_none() {
        let window = Window { minutes: 61 };
        let keys = vec!["DEV".to_string(), "GONE".to_string()];
        assert_eq!(
            changed_cql(&keys, &[space("DEV")], false, window).as_deref(),
            Some("space in (\"DEV\") and type in (page, blogpost, attachment) and lastmodified >= now(\"-61m\")")
        );
        // `*`: every space, no space clause.
        assert_eq!(
            changed_cql(&[], &[space("DEV")], true, window).as_deref(),
            Some("type in (page, blogpost, attachment, comment) and lastmodified >= now(\"-61m\")")
        );
        // Every configured space is gone: no query (`space in ()` is not CQL).
        assert_eq!(changed_cql(&keys, &[], false, window), None);
        for cql in [changed_cql(&keys, &[space("DEV")], false, window), changed_cql(&[], &[], true, window)] {
            let cql = cql.unwrap();
            assert!(confluence_cql::parse(&cql).is_ok(), "{cql}");
        }
    }

    /// A page as the window's `changed_hits` gives it (v1, ancestors expanded or not).
    fn found(title: &str, ancestors: Option<&[&str]>) -> Content {
        let mut page = serde_json::json!({"id": "5", "type": "page", "title": title});
        if let Some(ancestors) = ancestors {
            let chain: Vec<_> = ancestors
                .iter()
                .enumerate()
                .map(|(i, t)| serde_json::json!({"id": i.to_string(), "title": t}))
                .collect();
            page["ancestors"] = serde_json::Value::Array(chain);
        }
        Content::from_v1(serde_json::from_value(page).unwrap()).unwrap()
    }

    #[test]
    fn the_pages_below_are_checked_only_where_they_may_be_wrong() {
        let chain: &[&str] = &["Home", "Docs"];
        let lineage = page_lineage("Guide", chain.iter().copied());
        // The previous sync began when the latest modification was at 04:00.
        let mut existing = ExistingDocs::with_mark(Some(at("2026-01-02T04:00:00Z")));
        existing.insert("5", 1, lineage, Some("DEV"), Some("2026-01-02T03:00:00Z"));
        existing.insert("7", 1, lineage, Some("DEV"), Some("2026-01-02T04:00:00.001Z"));
        let body_edit = found("Guide", Some(chain));
        let completed = PreviousSync::Completed;

        // Indexed as it is, modified before the previous (completed) sync began: nothing below
        // to check.
        assert!(!completed.check_below(&existing, "5", Some(&body_edit)));
        // The previous sync did not complete: it may have written this page and not those below.
        assert!(PreviousSync::Incomplete.check_below(&existing, "5", Some(&body_edit)));
        // Renamed, or moved under another parent, since it was indexed.
        assert!(completed.check_below(&existing, "5", Some(&found("Renamed", Some(chain)))));
        assert!(completed.check_below(&existing, "5", Some(&found("Guide", Some(&["Home"])))));
        // Indexed with a modification from after the previous sync began: it changed while that
        // sync ran, maybe after the pages below were listed.
        assert!(completed.check_below(&existing, "7", Some(&body_edit)));
        // Not indexed; or its ancestors not given.
        assert!(completed.check_below(&existing, "6", Some(&body_edit)));
        assert!(completed.check_below(&existing, "5", Some(&found("Guide", None))));
        assert!(completed.check_below(&existing, "5", None));
        // No mark from the previous sync: every indexed page counts as recent.
        let mut unmarked = ExistingDocs::default();
        unmarked.insert("5", 1, lineage, Some("DEV"), Some("2026-01-02T03:00:00Z"));
        assert!(completed.check_below(&unmarked, "5", Some(&body_edit)));
    }
}
