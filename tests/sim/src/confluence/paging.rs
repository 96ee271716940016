//! Pagination as each flavour does it. Server/DC: `start`/`limit` offsets with the known
//! bugs (hidden page-size caps, a `_links.next` that steps `start` by the *requested* limit,
//! a `next` link on an empty last page). Cloud v1: an opaque `cursor` in `_links.next`.
//! Cloud v2: an opaque `cursor`, a root-relative `/wiki/...` `_links.next` and a `Link`
//! header.

use base64::Engine;

/// One page of an offset listing, with what the next link should say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetPage {
    /// First item of the page.
    pub start: usize,
    /// The limit the server applied (after any hidden cap).
    pub limit: usize,
    /// The `start` the `_links.next` link carries, if there is one.
    pub next_start: Option<usize>,
}

/// Works out a Server/DC or Cloud-v1 offset page over `total` items.
///
/// `cap` is the hidden maximum page size (Server/DC). With `quirks`, the next link steps by
/// the requested limit (so a client that trusts it skips what the cap hid) and is present on
/// a full last page and on an empty page (so a client that only stops on a missing link
/// loops); without quirks it steps by what was returned and is absent at the end.
pub fn offset_page(start: usize, requested: usize, cap: usize, total: usize, quirks: bool) -> OffsetPage {
    let limit = requested.min(cap).max(if requested == 0 { 0 } else { 1 });
    let returned = total.saturating_sub(start).min(limit);
    let next_start = if quirks {
        let more = start + returned < total;
        let full_or_empty = returned == 0 || returned == limit;
        (more || full_or_empty).then_some(start.saturating_add(requested.max(1)))
    } else {
        (start + returned < total).then_some(start + returned)
    };
    OffsetPage { start, limit, next_start }
}

/// Encodes an opaque Cloud cursor for a position in a listing.
pub fn encode_cursor(position: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("_sa_{position}_sim"))
}

/// Decodes a cursor made by [`encode_cursor`]; `None` if it is not one.
pub fn decode_cursor(cursor: &str) -> Option<u64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("_sa_")?.strip_suffix("_sim")?.parse().ok()
}

/// Builds `path?k=v&...` with the parameters form-encoded, skipping `skip` keys.
pub fn link(path: &str, params: &[(String, String)], skip: &[&str], extra: &[(&str, String)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in extra {
        serializer.append_pair(key, value);
    }
    for (key, value) in params {
        if skip.contains(&key.as_str()) || extra.iter().any(|(k, _)| k == key) {
            continue;
        }
        serializer.append_pair(key, value);
    }
    let query = serializer.finish();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quirky_next_steps_by_the_requested_limit_past_a_hidden_cap() {
        let page = offset_page(0, 100, 50, 120, true);
        assert_eq!(page.limit, 50);
        assert_eq!(page.next_start, Some(100));
    }

    #[test]
    fn quirky_next_is_present_on_an_empty_page_and_on_a_full_last_page() {
        assert_eq!(offset_page(100, 50, 50, 100, true).next_start, Some(150));
        assert_eq!(offset_page(50, 50, 50, 100, true).next_start, Some(100));
        assert_eq!(offset_page(60, 50, 50, 100, true).next_start, None);
    }

    #[test]
    fn plain_next_counts_what_was_returned() {
        assert_eq!(offset_page(0, 100, 50, 120, false).next_start, Some(50));
        assert_eq!(offset_page(100, 50, 50, 120, false).next_start, None);
        assert_eq!(offset_page(50, 50, 50, 100, false).next_start, None);
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(12345)), Some(12345));
        assert_eq!(decode_cursor("not-a-cursor"), None);
    }

    #[test]
    fn links_encode_parameters() {
        let params = vec![("cql".to_string(), "type = page".to_string()), ("start".into(), "5".into())];
        assert_eq!(
            link("/rest/api/content/search", &params, &["start"], &[("next", "true".into())]),
            "/rest/api/content/search?next=true&cql=type+%3D+page"
        );
    }
}
