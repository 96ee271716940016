//! The HTTP transport of one Confluence source: URLs, authentication, redirects, retries.
//!
//! One `reqwest` client per source (rustls with the system roots plus an optional CA, proxy,
//! connect/read timeouts). Automatic redirects are off: [`ConfluenceClient`] follows them
//! itself and attaches `Authorization` only to requests for the origin the credential belongs
//! to — the Cloud attachment download redirects to a signed media URL on another host, which
//! must never see the user's token. Every request goes through [`Throttle`] and the retry
//! policy of [`super::retry`], and is counted in [`RequestStats`].
//!
//! How a client is built (base URL, gateway and cloud id, TLS, proxy) is in `setup.rs`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, LOCATION};
use serde::de::DeserializeOwned;
use url::Url;

use super::error::{display_url, seconds, ConfluenceError};
use super::options::Flavour;
use super::rate_limit::Throttle;
use super::retry::{classify, delay, quota_exhausted_wait, server_wait, Verdict};
use super::stats::{RequestStats, StatsSnapshot};
use crate::shutdown::Shutdown;

/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// A client for one Confluence source; cheap to clone (all clones share the connection pool,
/// the throttle and the counters).
#[derive(Clone)]
pub struct ConfluenceClient {
    inner: Arc<Inner>,
    /// Ends the waits of a request (a retry's backoff, a rate-limit pause): the sync's
    /// shutdown.
    stop: Shutdown,
}

struct Inner {
    http: reqwest::Client,
    flavour: Flavour,
    /// Where API paths start: `https://x.atlassian.net/wiki`,
    /// `https://api.atlassian.com/ex/confluence/{cloudId}/wiki`, `http://host:8090/confluence`.
    api_root: Url,
    /// The path prefix Confluence puts in front of root-relative links (`/wiki` on Cloud,
    /// the context path on Server/DC).
    link_context: String,
    /// Where the web UI lives, for `webui` links (the site, even when calls use the gateway).
    ui_base: Url,
    /// The only origin that receives the `Authorization` header.
    auth_origin: url::Origin,
    authorization: Option<HeaderValue>,
    auth_hint: &'static str,
    /// Whether `ssl_ca` is in use (for the hint of a refused certificate).
    ssl_ca_set: bool,
    retry_count: u32,
    max_retry_after: Duration,
    backoff: Vec<Duration>,
    throttle: Throttle,
    stats: RequestStats,
}

impl std::fmt::Debug for ConfluenceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfluenceClient")
            .field("flavour", &self.inner.flavour)
            .field("api_root", &display_url(&self.inner.api_root))
            .finish_non_exhaustive()
    }
}

/// Why one attempt failed, and whether another may succeed.
pub(crate) struct Failure {
    error: ConfluenceError,
    retry: Option<RetryHint>,
}

struct RetryHint {
    server_wait: Option<Duration>,
    rate_limited: bool,
}

impl From<ConfluenceError> for Failure {
    fn from(error: ConfluenceError) -> Self {
        let retry = error.is_transient().then_some(RetryHint { server_wait: None, rate_limited: false });
        Failure { error, retry }
    }
}

/// A decoded JSON response and its headers (for the `Link` header of v2 listings).
#[derive(Debug)]
pub(crate) struct Fetched<T> {
    pub(crate) body: T,
    pub(crate) headers: HeaderMap,
}

impl ConfluenceClient {
    /// The same client (sharing its connections, throttle and counters), whose waits end
    /// when `stop` fires: a retry is then not sent, and a request waiting out a rate-limit
    /// pause is not sent at all.
    pub(crate) fn stopping_on(mut self, stop: &Shutdown) -> Self {
        self.stop = stop.clone();
        self
    }

    /// Cloud, Server or Data Center.
    pub(crate) fn flavour(&self) -> Flavour {
        self.inner.flavour
    }

    /// The root API paths are appended to (e.g. `https://x.atlassian.net/wiki`).
    pub(crate) fn api_root(&self) -> &Url {
        &self.inner.api_root
    }

    /// The counters of every request made so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot()
    }

    /// Adds downloaded body bytes to the counters.
    pub(crate) fn count_bytes(&self, bytes: u64) {
        self.inner.stats.record_bytes(bytes);
    }

    /// An absolute web UI URL for a `webui` link (`/spaces/KEY/pages/1/Title`), resolved
    /// against the site (Cloud: `https://x.atlassian.net/wiki`, even with gateway auth).
    pub(crate) fn web_url(&self, webui: &str) -> String {
        if webui.starts_with("http://") || webui.starts_with("https://") {
            return webui.to_string();
        }
        let base = self.inner.ui_base.as_str().trim_end_matches('/');
        let context = self.inner.link_context.as_str();
        let rest = if !context.is_empty() && webui.starts_with(&format!("{context}/")) {
            &webui[context.len()..]
        } else {
            webui
        };
        if rest.starts_with('/') {
            format!("{base}{rest}")
        } else {
            format!("{base}/{rest}")
        }
    }

    /// An API URL from path segments below the API root (each segment percent-encoded) and
    /// query pairs.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.inner.api_root.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// Resolves a link from a response (`_links.next`, `_links.download`, a `Link` header)
    /// against the API root. Root-relative links that repeat the context (`/wiki/api/v2/...`,
    /// `/confluence/rest/...`) or the whole API root path are not doubled, and absolute links
    /// are re-rooted on the API root, so requests never leave the configured origin.
    pub(crate) fn resolve_link(&self, link: &str) -> Url {
        let relative = match Url::parse(link) {
            Ok(absolute) => match absolute.query() {
                Some(query) => format!("{}?{query}", absolute.path()),
                None => absolute.path().to_string(),
            },
            Err(_) if link.starts_with('/') => link.to_string(),
            Err(_) => format!("/{link}"),
        };
        let (path, query) = match relative.split_once('?') {
            Some((path, query)) => (path.to_string(), Some(query.to_string())),
            None => (relative.clone(), None),
        };
        let root_path = self.inner.api_root.path().trim_end_matches('/').to_string();
        let context = self.inner.link_context.as_str();
        let rest =
            if !root_path.is_empty() && (path == root_path || path.starts_with(&format!("{root_path}/"))) {
                &path[root_path.len()..]
            } else if !context.is_empty() && (path == context || path.starts_with(&format!("{context}/"))) {
                &path[context.len()..]
            } else {
                path.as_str()
            };
        let mut url = self.inner.api_root.clone();
        url.set_path(&format!("{root_path}{rest}"));
        url.set_query(query.as_deref());
        url
    }

    /// GET a JSON document, with retries; a truncated body is retried like a dropped
    /// connection.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: Url,
        route: &'static str,
    ) -> Result<Fetched<T>, ConfluenceError> {
        self.fetch_json(url, route, None).await
    }

    /// POST a JSON body and read a JSON answer, with the retries of a GET: only for calls
    /// that read (JSON-RPC `getSpacePermissionSets`), which are safe to send again.
    pub(crate) async fn post_json<T: DeserializeOwned>(
        &self,
        url: Url,
        route: &'static str,
        body: &serde_json::Value,
    ) -> Result<Fetched<T>, ConfluenceError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ConfluenceError::Decode { url: display_url(&url), detail: e.to_string() })?;
        self.fetch_json(url, route, Some(bytes::Bytes::from(bytes))).await
    }

    async fn fetch_json<T: DeserializeOwned>(
        &self,
        url: Url,
        route: &'static str,
        body: Option<bytes::Bytes>,
    ) -> Result<Fetched<T>, ConfluenceError> {
        let inner = &self.inner;
        self.run_with(&url, route, true, body.as_ref(), |response| async move {
            let headers = response.headers().clone();
            let final_url = response.url().clone();
            let bytes = response.bytes().await.map_err(|e| truncated_or_transport(&final_url, &e))?;
            inner.stats.record_bytes(bytes.len() as u64);
            let body = serde_json::from_slice::<T>(&bytes).map_err(|e| {
                if e.is_eof() {
                    ConfluenceError::Truncated { url: display_url(&final_url), detail: e.to_string() }
                } else {
                    ConfluenceError::Decode { url: display_url(&final_url), detail: e.to_string() }
                }
            })?;
            Ok(Fetched { body, headers })
        })
        .await
    }

    /// Requests in flight at once at most (`max_concurrent_requests`).
    pub(crate) fn max_concurrent_requests(&self) -> usize {
        self.inner.throttle.max_concurrent()
    }

    /// Runs a GET with throttling, redirects and retries; `on_success` reads a 2xx response
    /// (its transient errors — a body that breaks off — are retried too).
    pub(crate) async fn run<'a, T, F, Fut>(
        &'a self,
        url: &Url,
        route: &'static str,
        json: bool,
        on_success: F,
    ) -> Result<T, ConfluenceError>
    where
        F: Fn(reqwest::Response) -> Fut + 'a,
        Fut: Future<Output = Result<T, ConfluenceError>> + 'a,
    {
        self.run_with(url, route, json, None, on_success).await
    }

    /// [`ConfluenceClient::run`] for a GET (`body` None) or a POST of a JSON `body`.
    async fn run_with<'a, T, F, Fut>(
        &'a self,
        url: &Url,
        route: &'static str,
        json: bool,
        body: Option<&bytes::Bytes>,
        on_success: F,
    ) -> Result<T, ConfluenceError>
    where
        F: Fn(reqwest::Response) -> Fut + 'a,
        Fut: Future<Output = Result<T, ConfluenceError>> + 'a,
    {
        let inner = &self.inner;
        let mut retry = 0u32;
        loop {
            let mut stop = self.stop.clone();
            let permit = tokio::select! {
                biased;
                permit = inner.throttle.admit() => permit,
                () = stop.wait() => return Err(ConfluenceError::Stopped { url: display_url(url), last: None }),
            };
            let outcome = match self.attempt(url, route, json, body).await {
                Ok(response) => on_success(response).await.map_err(Failure::from),
                Err(failure) => Err(failure),
            };
            let failure = match outcome {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            let Some(hint) = failure.retry else {
                return Err(failure.error);
            };
            let wait = delay(hint.server_wait, &inner.backoff, retry as usize);
            if hint.rate_limited {
                // The quota is the user's, not the request's: every request waits — set
                // before this slot is given back, so no queued request slips through.
                inner.throttle.pause_for(wait);
            }
            drop(permit);
            if retry >= inner.retry_count {
                if retry == 0 {
                    return Err(failure.error);
                }
                return Err(ConfluenceError::RetriesExhausted {
                    attempts: retry + 1,
                    last: Box::new(failure.error),
                });
            }
            inner.stats.record_retry();
            tracing::warn!(
                url = %display_url(url),
                retry = retry + 1,
                of = inner.retry_count,
                wait = %seconds(wait),
                error = %failure.error,
                "Confluence request failed; retrying"
            );
            if !self.stop.sleep(wait).await {
                return Err(ConfluenceError::Stopped {
                    url: display_url(url),
                    last: Some(Box::new(failure.error)),
                });
            }
            retry += 1;
        }
    }

    /// One attempt: send, follow redirects, classify the status.
    async fn attempt(
        &self,
        url: &Url,
        route: &'static str,
        json: bool,
        body: Option<&bytes::Bytes>,
    ) -> Result<reqwest::Response, Failure> {
        let inner = &self.inner;
        let response = match self.send_following_redirects(url, route, json, body).await {
            Ok(response) => response,
            Err(error) => {
                inner.stats.record(route, 0);
                return Err(Failure::from(error));
            }
        };
        let status = response.status().as_u16();
        inner.stats.record(route, status);
        if (200..300).contains(&status) {
            if let Some(wait) = quota_exhausted_wait(response.headers(), Utc::now(), inner.max_retry_after) {
                tracing::info!(wait = %seconds(wait), "Confluence rate-limit quota spent; pausing until it resets");
                inner.throttle.pause_for(wait);
            }
            return Ok(response);
        }
        let headers = response.headers().clone();
        let final_url = response.url().clone();
        let body = response.bytes().await.unwrap_or_default();
        inner.stats.record_bytes(body.len() as u64);
        let error = ConfluenceError::from_status(&final_url, status, &body, inner.auth_hint);
        match classify(status, &body) {
            Verdict::Retry { rate_limited } => Err(Failure {
                error,
                retry: Some(RetryHint {
                    server_wait: server_wait(&headers, Utc::now(), inner.max_retry_after),
                    rate_limited,
                }),
            }),
            Verdict::Success | Verdict::Fail => Err(Failure { error, retry: None }),
        }
    }

    /// Sends a GET (or a POST of `body`) and follows redirects by hand, attaching
    /// `Authorization` only on the credential's own origin (and never sending cookies: the
    /// client keeps none). A POST is never redirected: Confluence redirects one to a login
    /// or WebSudo page, which is an answer the caller must hear about, not follow.
    async fn send_following_redirects(
        &self,
        url: &Url,
        route: &'static str,
        json: bool,
        body: Option<&bytes::Bytes>,
    ) -> Result<reqwest::Response, ConfluenceError> {
        let inner = &self.inner;
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut request = match body {
                Some(body) => inner
                    .http
                    .post(current.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone()),
                None => inner.http.get(current.clone()),
            };
            if json {
                request = request.header(ACCEPT, "application/json");
            }
            if let Some(authorization) = &inner.authorization {
                if current.origin() == inner.auth_origin {
                    request = request.header(AUTHORIZATION, authorization.clone());
                }
            }
            let response = request
                .send()
                .await
                .map_err(|e| ConfluenceError::from_transport(&current, &e, inner.ssl_ca_set))?;
            if !response.status().is_redirection() {
                return Ok(response);
            }
            inner.stats.record(route, response.status().as_u16());
            if body.is_some() {
                return Err(ConfluenceError::Redirect {
                    url: display_url(&current),
                    detail: format!(
                        "{} to a POST (Confluence sends one to its login or WebSudo page): the account cannot use this API",
                        response.status()
                    ),
                });
            }
            let location =
                response.headers().get(LOCATION).and_then(|value| value.to_str().ok()).ok_or_else(|| {
                    ConfluenceError::Redirect {
                        url: display_url(&current),
                        detail: format!("{} without a Location header", response.status()),
                    }
                })?;
            let next = current.join(location).map_err(|e| ConfluenceError::Redirect {
                url: display_url(&current),
                detail: format!("unusable Location: {e}"),
            })?;
            if current.scheme() == "https" && next.scheme() != "https" {
                return Err(ConfluenceError::Redirect {
                    url: display_url(&current),
                    detail: format!("refusing to follow a redirect from https to {}", display_url(&next)),
                });
            }
            current = next;
        }
        Err(ConfluenceError::Redirect {
            url: display_url(url),
            detail: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }
}

/// A body that broke off is a truncated response (retried); other read errors are transport
/// errors.
fn truncated_or_transport(url: &Url, error: &reqwest::Error) -> ConfluenceError {
    match ConfluenceError::from_transport(url, error, false) {
        ConfluenceError::Network { detail, .. } => {
            ConfluenceError::Truncated { url: display_url(url), detail }
        }
        other => other,
    }
}

mod setup;
#[cfg(test)]
pub(crate) mod tests;
