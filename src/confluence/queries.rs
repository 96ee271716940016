//! The CQL text the connector writes itself (the sync rules' queries are the user's), in one
//! place: literals quoted once ([`cql_quote`]), the same content types everywhere.
//!
//! Dates are never written out: a CQL date is read in the site's time zone, which the
//! connector cannot learn, so windows are relative to Confluence's own clock
//! (`now("-Nm")`).

use super::listing::cql_quote;

/// The content an incremental sync lists: pages, blog posts, attachments and (with
/// `index_comments`) comments.
pub(crate) fn content_types(index_comments: bool) -> &'static str {
    if index_comments {
        "type in (page, blogpost, attachment, comment)"
    } else {
        "type in (page, blogpost, attachment)"
    }
}

/// What was modified in the last `minutes` minutes, by Confluence's clock.
pub(crate) fn modified_within(minutes: i64) -> String {
    format!("lastmodified >= now(\"-{minutes}m\")")
}

/// What changed in the last `minutes` minutes in the spaces `keys` (`None`: every space).
/// `None` when the list of spaces is empty: `space in ()` is not CQL, and nothing can have
/// changed in no space.
pub(crate) fn changed_in(keys: Option<&[&str]>, index_comments: bool, minutes: i64) -> Option<String> {
    let what = format!("{} and {}", content_types(index_comments), modified_within(minutes));
    match keys {
        None => Some(what),
        Some([]) => None,
        Some(keys) => {
            let list: Vec<String> = keys.iter().map(|k| cql_quote(k)).collect();
            Some(format!("space in ({}) and {what}", list.join(",")))
        }
    }
}

/// The pages or blog posts (`content_type`) of one space, in the form Elastic's connector
/// sends (`space in ('KEY') AND type=page`): tools and fixtures written around it (its
/// ftest's Confluence mock among them) recognise the listing by it.
pub(crate) fn space_content(key: &str, content_type: &str) -> String {
    format!("space in ({}) AND type={content_type}", cql_single_quote(key))
}

/// A CQL string literal in single quotes.
fn cql_single_quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The content of one space that an incremental sync lists by id.
pub(crate) fn in_space(key: &str, index_comments: bool) -> String {
    format!("space = {} and {}", cql_quote(key), content_types(index_comments))
}

/// The attachments (and with `index_comments`, comments) of one space.
pub(crate) fn children_in_space(key: &str, index_comments: bool) -> String {
    let kinds = if index_comments { "type in (attachment, comment)" } else { "type = attachment" };
    format!("space = {} and {kinds}", cql_quote(key))
}

/// The content with these ids (`batch`: comma-separated ids).
pub(crate) fn with_ids(batch: &str) -> String {
    format!("id in ({batch})")
}

/// The pages with these ids.
pub(crate) fn pages_with_ids(batch: &str) -> String {
    format!("type = page and id in ({batch})")
}

/// The pages below the pages with these ids, at any depth.
pub(crate) fn pages_below(batch: &str) -> String {
    format!("type = page and ancestor in ({batch})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_changed_query_names_the_spaces_or_none() {
        assert_eq!(
            changed_in(None, false, 5).as_deref(),
            Some("type in (page, blogpost, attachment) and lastmodified >= now(\"-5m\")")
        );
        assert_eq!(
            changed_in(Some(&["DEV", "O\"PS"]), true, 61).as_deref(),
            Some(
                "space in (\"DEV\",\"O\\\"PS\") and type in (page, blogpost, attachment, comment) \
                 and lastmodified >= now(\"-61m\")"
            )
        );
        assert_eq!(changed_in(Some(&[]), false, 5), None);
    }

    #[test]
    fn a_space_is_listed_as_elastics_connector_lists_it() {
        assert_eq!(space_content("DEV", "page"), "space in ('DEV') AND type=page");
        assert_eq!(space_content("~o'brien", "blogpost"), r"space in ('~o\'brien') AND type=blogpost");
    }

    #[test]
    fn listings_by_space_and_by_id_quote_what_they_must() {
        assert_eq!(in_space("DEV", false), "space = \"DEV\" and type in (page, blogpost, attachment)");
        assert_eq!(children_in_space("DEV", true), "space = \"DEV\" and type in (attachment, comment)");
        assert_eq!(pages_below("1,2"), "type = page and ancestor in (1,2)");
        assert_eq!(pages_with_ids("1"), "type = page and id in (1)");
        assert_eq!(with_ids("1,2"), "id in (1,2)");
    }
}
