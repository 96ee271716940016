//! Walking paginated listings without losing or repeating items.
//!
//! Two schemes, each with the defences the field taught us:
//! - [`Paging::Cursor`] (Cloud v2 and Cloud v1 `content/search`): follow `_links.next` or
//!   the `Link: <…>; rel="next"` header, resolved by [`ConfluenceClient::resolve_link`]
//!   (v2 links are root-relative `/wiki/…`; v1 links are relative to `_links.base`). A cursor
//!   seen before is an error, not a loop; a run of empty pages that keep a next link is
//!   followed a few times, then reported as an error.
//! - [`Paging::Offset`] (Server/DC): `start` advances by the number of results received,
//!   never by `limit` and never by the next link's `start`, because the server silently caps
//!   page sizes while its next link steps by the requested limit. The walk never stops on
//!   `size < limit`; it stops on an empty page, or when neither a next link nor `totalSize`
//!   says more remain (Server's `rest/api/search` has no usable next link, but a
//!   `totalSize`). A page made only of items already listed (Server answering past the end)
//!   is an error.
//!
//! When a Server/DC page still fails with a 5xx after every retry, the same `start` is asked
//! again with half the `limit` (down to 10) before the listing gives up: large bodies are a
//! known cause of DC 500s.
//!
//! Items are deduplicated by `id` across pages, and a page is decoded item by item, so one
//! malformed item is one error item rather than a lost page. Each item stays raw JSON text
//! until it is decoded straight into its type: building a `Value` tree first cost a third of
//! a sync's CPU in allocations. The next page is fetched in the
//! background while the consumer works on the current one.

use std::borrow::Cow;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use url::Url;

use super::api::opt_u64;
use super::client::{ConfluenceClient, Fetched};
use super::error::{display_url, ConfluenceError};
use super::seen_ids::SeenIds;

/// Smallest page size the adaptive halving (after persistent 5xx on offset pages) goes to.
const MIN_ADAPTIVE_LIMIT: u32 = 10;

/// Consecutive empty pages with a next link followed before giving up (cursor paging).
const MAX_EMPTY_CURSOR_PAGES: usize = 5;

/// How a listing pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// Follow next links (opaque cursors).
    Cursor,
    /// `start` offsets, advanced by the number of results received.
    Offset,
}

/// The envelope every listing page shares.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Envelope {
    results: Vec<Box<RawValue>>,
    #[serde(rename = "_links")]
    links: EnvelopeLinks,
    #[serde(rename = "totalSize", deserialize_with = "opt_u64")]
    total_size: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EnvelopeLinks {
    next: Option<String>,
}

/// A spawned page fetch that is cancelled when dropped (when the consumer stops early).
struct Prefetch<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for Prefetch<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for Prefetch<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

type PageResult = Result<Fetched<Envelope>, ConfluenceError>;

fn prefetch(client: &ConfluenceClient, url: Url, route: &'static str) -> Prefetch<PageResult> {
    let client = client.clone();
    Prefetch(tokio::spawn(async move { client.get_json::<Envelope>(url, route).await }))
}

/// `url` with query parameter `name` set to `value` (replacing any previous value).
pub(crate) fn with_param(url: &Url, name: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut next = url.clone();
    next.set_query(None);
    {
        let mut query = next.query_pairs_mut();
        for (key, value) in &pairs {
            query.append_pair(key, value);
        }
        query.append_pair(name, value);
    }
    next
}

/// The `rel="next"` target of a `Link` header.
pub(crate) fn link_header_next(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers.get_all(reqwest::header::LINK).iter().filter_map(|v| v.to_str().ok()).find_map(|value| {
        value.split(',').find_map(|part| {
            let (target, params) = part.split_once(';')?;
            let is_next = params.split(';').any(|p| {
                p.trim().trim_start_matches("rel=").trim_matches('"').split_whitespace().any(|r| r == "next")
                    && p.trim().starts_with("rel=")
            });
            is_next.then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_string())
        })
    })
}

/// Every item of a listing, converted by `convert` (which may skip items with `Ok(None)`).
pub(crate) fn items<T, F>(
    client: &ConfluenceClient,
    first: Url,
    route: &'static str,
    paging: Paging,
    convert: F,
) -> impl Stream<Item = Result<T, ConfluenceError>> + Send + 'static
where
    T: Send + 'static,
    F: Fn(&RawValue) -> Result<Option<T>, serde_json::Error> + Send + 'static,
{
    let client = client.clone();
    async_stream::stream! {
        let mut seen_urls: HashSet<String> = HashSet::new();
        let mut seen_ids = SeenIds::default();
        let mut empty_run = 0usize;
        let mut start: u64 = 0;
        let mut base = first.clone();
        let mut current = match paging {
            Paging::Offset => with_param(&base, "start", "0"),
            Paging::Cursor => first.clone(),
        };
        seen_urls.insert(current.to_string());
        let mut pending = Some(prefetch(&client, current.clone(), route));
        while let Some(fetch) = pending.take() {
            let fetched = match fetch.await {
                Ok(Ok(fetched)) => fetched,
                Ok(Err(error)) => {
                    // A self-hosted server that keeps failing on a page may be failing on its
                    // size (bodies of huge pages): ask again for the same start with half the
                    // limit. Safe only with offsets; a cursor fixes its page size.
                    let limit = base
                        .query_pairs()
                        .find(|(key, _)| key == "limit")
                        .and_then(|(_, value)| value.parse::<u32>().ok());
                    let server_error = error.status().is_some_and(|status| (500..600).contains(&status));
                    if let (Paging::Offset, true, Some(limit)) = (paging, server_error, limit) {
                        if limit > MIN_ADAPTIVE_LIMIT {
                            let smaller = (limit / 2).max(MIN_ADAPTIVE_LIMIT);
                            tracing::warn!(url = %display_url(&current), limit, smaller, error = %error,
                                "page keeps failing; asking for smaller pages");
                            base = with_param(&base, "limit", &smaller.to_string());
                            current = with_param(&base, "start", &start.to_string());
                            pending = Some(prefetch(&client, current.clone(), route));
                            continue;
                        }
                    }
                    yield Err(error);
                    return;
                }
                Err(join) => {
                    yield Err(ConfluenceError::Pagination {
                        url: display_url(&current),
                        detail: format!("the page fetch stopped unexpectedly ({join})"),
                    });
                    return;
                }
            };
            let envelope = fetched.body;
            let received = envelope.results.len();
            let next_link = envelope.links.next.clone().or_else(|| link_header_next(&fetched.headers));

            // Work out the next page before handing out this one, so it loads meanwhile.
            let page_start = start;
            let next = match paging {
                Paging::Offset => {
                    start += received as u64;
                    let more = next_link.is_some() || envelope.total_size.is_some_and(|total| start < total);
                    (received > 0 && more).then(|| with_param(&base, "start", &start.to_string()))
                }
                Paging::Cursor => match next_link {
                    None => None,
                    Some(link) => {
                        let url = client.resolve_link(&link);
                        if !seen_urls.insert(url.to_string()) {
                            yield Err(ConfluenceError::Pagination {
                                url: display_url(&current),
                                detail: "the next link repeats a cursor already followed".to_string(),
                            });
                            return;
                        }
                        empty_run = if received == 0 { empty_run + 1 } else { 0 };
                        if empty_run > MAX_EMPTY_CURSOR_PAGES {
                            yield Err(ConfluenceError::Pagination {
                                url: display_url(&current),
                                detail: format!("{empty_run} empty pages in a row still carry a next link"),
                            });
                            return;
                        }
                        Some(url)
                    }
                },
            };

            let mut fresh = 0usize;
            let mut converted = Vec::with_capacity(received);
            for (index, raw) in envelope.results.iter().enumerate() {
                let id = raw_id(raw);
                if let Some(id) = &id {
                    if !seen_ids.insert(id) {
                        continue;
                    }
                }
                fresh += 1;
                match convert(raw) {
                    Ok(Some(item)) => converted.push(Ok(item)),
                    Ok(None) => {}
                    Err(error) => converted.push(Err(ConfluenceError::Item {
                        url: display_url(&current),
                        index,
                        id: id.map(|id| id.into_owned()),
                        detail: error.to_string(),
                    })),
                }
            }
            if received > 0 && fresh == 0 {
                yield Err(ConfluenceError::Pagination {
                    url: display_url(&current),
                    detail: match paging {
                        Paging::Offset => format!("the page at start={page_start} only repeats items already listed"),
                        Paging::Cursor => "the page only repeats items already listed".to_string(),
                    },
                });
                return;
            }
            if let Some(url) = next {
                pending = Some(prefetch(&client, url.clone(), route));
                current = url;
            }
            for item in converted {
                yield item;
            }
        }
    }
}

/// Decodes a listing item into its type.
pub(crate) fn decode<T: DeserializeOwned>(raw: &RawValue) -> Result<T, serde_json::Error> {
    serde_json::from_str(raw.get())
}

/// The `id` of a raw item, as text (a string or a number); `None` when it has none or the
/// item is not an object (the item's own decoding reports that). Borrowed from the page
/// unless the string holds escapes.
fn raw_id(raw: &RawValue) -> Option<Cow<'_, str>> {
    #[derive(Deserialize)]
    struct Identified<'a> {
        #[serde(borrow)]
        id: Option<&'a RawValue>,
    }
    // serde would also read a struct from an array.
    if !raw.get().trim_start().starts_with('{') {
        return None;
    }
    let id = serde_json::from_str::<Identified>(raw.get()).ok()?.id?.get();
    if let Ok(text) = serde_json::from_str::<&str>(id) {
        return Some(Cow::Borrowed(text));
    }
    match serde_json::from_str::<serde_json::Value>(id).ok()? {
        serde_json::Value::String(text) => Some(Cow::Owned(text)),
        serde_json::Value::Number(number) => Some(Cow::Owned(number.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn link_header_next_is_found_among_other_relations() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            HeaderValue::from_static(
                "</wiki/api/v2/pages?cursor=b>; rel=\"prev\", </wiki/api/v2/pages?cursor=c>; rel=\"next\"",
            ),
        );
        assert_eq!(link_header_next(&headers).as_deref(), Some("/wiki/api/v2/pages?cursor=c"));
        assert_eq!(link_header_next(&HeaderMap::new()), None);
    }

    #[test]
    fn with_param_replaces_the_start() {
        let url = Url::parse("http://h/rest/api/space?limit=50&start=0&spaceKey=A").unwrap();
        let next = with_param(&url, "start", "37");
        assert_eq!(next.as_str(), "http://h/rest/api/space?limit=50&spaceKey=A&start=37");
    }

    #[test]
    fn an_items_id_is_read_as_text_from_a_string_or_a_number() {
        let id = |text: &str| {
            let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
            raw_id(&raw).map(|id| (id.into_owned(), matches!(raw_id(&raw), Some(Cow::Borrowed(_)))))
        };
        assert_eq!(id(r#"{"id":"65551","title":"x"}"#), Some(("65551".into(), true)));
        assert_eq!(id(r#"{"title":"x","id":65551}"#), Some(("65551".into(), false)));
        assert_eq!(id(r#"{"id":"a\"b"}"#), Some(("a\"b".into(), false)));
        assert_eq!(id(r#"{"id":null}"#), None);
        assert_eq!(id(r#"{"id":[1]}"#), None);
        assert_eq!(id(r#"{"title":"x"}"#), None);
        assert_eq!(id(r#"[1]"#), None);
    }
}

#[cfg(test)]
mod http_tests {
    use super::*;
    use crate::confluence::client::tests::test_client;
    use crate::confluence::options::Flavour;
    use crate::confluence::test_server::{json, param, serve};
    use futures::StreamExt;
    use serde_json::json as j;
    use serde_json::Value;

    fn ids(values: &[Result<Value, ConfluenceError>]) -> Vec<String> {
        values
            .iter()
            .map(|v| match &v.as_ref().unwrap()["id"] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect()
    }

    fn identity(raw: &RawValue) -> Result<Option<Value>, serde_json::Error> {
        decode(raw).map(Some)
    }

    #[tokio::test]
    async fn offset_paging_counts_results_despite_hidden_caps_and_lying_next_links() {
        // 23 items; the server caps pages at 5 whatever the limit, its next link steps by
        // the requested limit, and it keeps a next link on the last and the empty page.
        let (server, log) = serve(|seen, _| {
            let start: usize = param(&seen.target, "start").unwrap().parse().unwrap();
            let limit: usize = param(&seen.target, "limit").unwrap().parse().unwrap();
            let results: Vec<Value> = (start..23.min(start + 5)).map(|i| j!({"id": i})).collect();
            json(200, j!({"results": results, "start": start, "limit": 5, "size": results.len(),
                          "_links": {"next": format!("/rest/api/space?limit={limit}&start={}", start + limit)}}), &[])
        })
        .await;
        let client = test_client(&server.origin, Flavour::Server).await;
        let first = client.url(&["rest", "api", "space"], &[("limit", "100".into())]);
        let all: Vec<_> =
            items(&client, first, "GET /rest/api/space", Paging::Offset, identity).collect().await;
        let expected: Vec<String> = (0..23).map(|i| i.to_string()).collect();
        assert_eq!(ids(&all), expected);
        let starts: Vec<String> =
            log.lock().unwrap().iter().map(|s| param(&s.target, "start").unwrap()).collect();
        assert_eq!(
            starts,
            ["0", "5", "10", "15", "20", "23"],
            "start advances by results received; the empty page ends it"
        );
    }

    #[tokio::test]
    async fn offset_paging_refuses_a_server_that_repeats_past_the_end() {
        let (server, _log) =
            serve(|_, _| json(200, j!({"results": [{"id": 1}, {"id": 2}], "_links": {"next": "/x"}}), &[]))
                .await;
        let client = test_client(&server.origin, Flavour::Server).await;
        let all: Vec<_> = items(
            &client,
            client.url(&["rest", "api", "space"], &[]),
            "GET /rest/api/space",
            Paging::Offset,
            identity,
        )
        .collect()
        .await;
        assert_eq!(all.len(), 3);
        assert!(matches!(all[2], Err(ConfluenceError::Pagination { .. })), "{:?}", all[2]);
    }

    #[tokio::test]
    async fn offset_paging_without_next_links_uses_total_size() {
        // Server's rest/api/search: no next link at all, but a totalSize.
        let (server, _log) = serve(|seen, _| {
            let start: usize = param(&seen.target, "start").unwrap().parse().unwrap();
            let results: Vec<Value> = (start..7.min(start + 3)).map(|i| j!({"id": i})).collect();
            json(200, j!({"results": results, "totalSize": 7, "_links": {}}), &[])
        })
        .await;
        let client = test_client(&server.origin, Flavour::Server).await;
        let all: Vec<_> = items(
            &client,
            client.url(&["rest", "api", "search"], &[]),
            "GET /rest/api/search",
            Paging::Offset,
            identity,
        )
        .collect()
        .await;
        assert_eq!(ids(&all).len(), 7);
    }

    #[tokio::test]
    async fn cursor_paging_follows_root_relative_links_and_empty_pages() {
        let (server, log) = serve(|seen, _| match param(&seen.target, "cursor").as_deref() {
            None => json(
                200,
                j!({"results": [{"id": "1"}], "_links": {"next": "/wiki/api/v2/spaces?cursor=a"}}),
                &[],
            ),
            Some("a") => json(
                200,
                j!({"results": [], "_links": {}}),
                &[("Link", "</wiki/api/v2/spaces?cursor=b>; rel=\"next\"")],
            ),
            Some("b") => json(200, j!({"results": [{"id": "2"}, {"id": 3, "bad": true}], "_links": {}}), &[]),
            Some(other) => panic!("unexpected cursor {other}"),
        })
        .await;
        let client = test_client(&server.origin, Flavour::Cloud).await;
        let first = client.url(&["api", "v2", "spaces"], &[]);
        let strict = |raw: &RawValue| -> Result<Option<String>, serde_json::Error> {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Strict {
                id: String,
            }
            decode::<Strict>(raw).map(|s| Some(s.id))
        };
        let all: Vec<_> = items(&client, first, "GET /api/v2/spaces", Paging::Cursor, strict).collect().await;
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].as_ref().unwrap(), "1");
        assert_eq!(all[1].as_ref().unwrap(), "2");
        assert!(
            matches!(all[2], Err(ConfluenceError::Item { index: 1, .. })),
            "one bad item, not a lost page"
        );
        // Reported by its id, which could be read.
        let shown = all[2].as_ref().unwrap_err().to_string();
        assert!(shown.starts_with("item 1 (id 3) of the page from "), "{shown}");
        let targets: Vec<String> = log.lock().unwrap().iter().map(|s| s.target.clone()).collect();
        assert_eq!(
            targets,
            ["/wiki/api/v2/spaces", "/wiki/api/v2/spaces?cursor=a", "/wiki/api/v2/spaces?cursor=b"]
        );
    }

    #[tokio::test]
    async fn a_repeated_cursor_is_an_error_not_a_loop() {
        let (server, _log) = serve(|_, _| {
            json(
                200,
                j!({"results": [{"id": "1"}], "_links": {"next": "/wiki/api/v2/pages?cursor=same"}}),
                &[],
            )
        })
        .await;
        let client = test_client(&server.origin, Flavour::Cloud).await;
        let all: Vec<_> = items(
            &client,
            client.url(&["api", "v2", "pages"], &[]),
            "GET /api/v2/pages",
            Paging::Cursor,
            identity,
        )
        .collect()
        .await;
        assert_eq!(all.len(), 2);
        assert!(
            matches!(&all[1], Err(ConfluenceError::Pagination { detail, .. }) if detail.contains("repeats a cursor"))
        );
    }

    #[tokio::test]
    async fn persistent_server_errors_halve_the_page_size() {
        // The server fails on any page larger than 25 items; 60 items in all.
        let (server, _log) = serve(|seen, _| {
            let start: usize = param(&seen.target, "start").unwrap().parse().unwrap();
            let limit: usize = param(&seen.target, "limit").unwrap().parse().unwrap();
            if limit > 25 {
                return json(500, j!({"message": "java.lang.OutOfMemoryError"}), &[]);
            }
            let results: Vec<Value> = (start..60.min(start + limit)).map(|i| j!({"id": i})).collect();
            json(200, j!({"results": results, "_links": {"next": "/more"}}), &[])
        })
        .await;
        let client = test_client(&server.origin, Flavour::DataCenter).await;
        let first = client.url(&["rest", "api", "content", "search"], &[("limit", "100".into())]);
        let all: Vec<_> =
            items(&client, first, "GET /rest/api/content/search", Paging::Offset, identity).collect().await;
        assert_eq!(ids(&all).len(), 60);
        let stats = client.stats();
        assert_eq!(stats.by_route[&("GET /rest/api/content/search", 500)], 8, "two sizes, 4 attempts each");
    }

    #[tokio::test]
    async fn a_failing_page_ends_the_listing_with_an_error() {
        let (server, _log) = serve(|seen, _| match param(&seen.target, "start").as_deref() {
            Some("0") => json(200, j!({"results": [{"id": 1}], "_links": {"next": "/n"}}), &[]),
            _ => json(404, j!({"message": "gone"}), &[]),
        })
        .await;
        let client = test_client(&server.origin, Flavour::Server).await;
        let all: Vec<_> = items(
            &client,
            client.url(&["rest", "api", "space"], &[]),
            "GET /rest/api/space",
            Paging::Offset,
            identity,
        )
        .collect()
        .await;
        assert_eq!(all.len(), 2);
        assert!(all[1].as_ref().is_err_and(|e| e.is_not_found()));
    }
}
