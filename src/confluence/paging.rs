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
pub(super) enum Paging {
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
mod tests;

#[cfg(test)]
mod http_tests;
