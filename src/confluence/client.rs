//! The HTTP transport of one Confluence source: URLs, authentication, redirects, retries.
//!
//! One `reqwest` client per source (rustls with the system roots plus an optional CA, proxy,
//! connect/read timeouts). Automatic redirects are off: [`ConfluenceClient`] follows them
//! itself and attaches `Authorization` only to requests for the origin the credential belongs
//! to — the Cloud attachment download redirects to a signed media URL on another host, which
//! must never see the user's token. Every request goes through [`Throttle`] and the retry
//! policy of [`super::retry`], and is counted in [`RequestStats`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, LOCATION};
use serde::de::DeserializeOwned;
use url::Url;

use super::error::{display_url, seconds, ConfluenceError};
use super::options::{Auth, ClientOptions, Flavour, GatewayCredential};
use super::rate_limit::Throttle;
use super::retry::{backoff_steps, classify, delay, quota_exhausted_wait, server_wait, Verdict};
use super::stats::{RequestStats, StatsSnapshot};

/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// A client for one Confluence source; cheap to clone (all clones share the connection pool,
/// the throttle and the counters).
#[derive(Clone)]
pub struct ConfluenceClient {
    inner: Arc<Inner>,
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
    /// Builds the client; for gateway auth without a configured cloud id, discovers it from
    /// `{site}/_edge/tenant_info`. Logs a warning when certificate checks are disabled.
    pub async fn new(options: ClientOptions) -> Result<Self, ConfluenceError> {
        let site = parse_base(&options)?;
        let http = build_http(&options)?;
        if options.danger_accept_invalid_certs {
            tracing::warn!(
                url = %display_url(&site),
                "danger_accept_invalid_certs is set: the Confluence server's certificate is not checked, so anyone on the network path can read the credentials and data"
            );
        }
        let (ui_base, link_context) = match options.flavour {
            Flavour::Cloud => {
                let mut wiki = site.clone();
                if !wiki.path().trim_end_matches('/').ends_with("/wiki") {
                    let path = format!("{}/wiki", wiki.path().trim_end_matches('/'));
                    wiki.set_path(&path);
                }
                (wiki, "/wiki".to_string())
            }
            Flavour::Server | Flavour::DataCenter => {
                let context = site.path().trim_end_matches('/').to_string();
                (site.clone(), context)
            }
        };
        let mut first =
            Inner::new(&options, http.clone(), ui_base.clone(), link_context.clone(), ui_base.clone());
        if matches!(options.auth, Auth::CloudGateway { .. }) {
            // Until the gateway is known, requests (the cloud id discovery) carry no
            // credential: `_edge/tenant_info` is public.
            first.authorization = None;
        }
        let mut client = ConfluenceClient { inner: Arc::new(first) };
        if let Auth::CloudGateway { cloud_id, .. } = &options.auth {
            let gateway = Url::parse(options.gateway_origin.trim_end_matches('/'))
                .map_err(|e| ConfluenceError::Config { field: "gateway_origin", detail: e.to_string() })?;
            let cloud_id = match cloud_id {
                Some(id) if !id.trim().is_empty() => id.trim().to_string(),
                _ => client.discover_cloud_id(&site).await?,
            };
            let mut api_root = gateway;
            api_root.set_path(&format!("/ex/confluence/{cloud_id}/wiki"));
            client = ConfluenceClient {
                inner: Arc::new(Inner::new(&options, http, api_root, link_context, ui_base)),
            };
        }
        Ok(client)
    }

    async fn discover_cloud_id(&self, site: &Url) -> Result<String, ConfluenceError> {
        #[derive(serde::Deserialize)]
        struct TenantInfo {
            #[serde(rename = "cloudId", default)]
            cloud_id: Option<String>,
        }
        let mut url = site.clone();
        url.set_path("/_edge/tenant_info");
        url.set_query(None);
        let info: Fetched<TenantInfo> = self
            .get_json(url.clone(), "GET /_edge/tenant_info")
            .await
            .map_err(|e| ConfluenceError::CloudId { url: display_url(&url), detail: e.to_string() })?;
        info.body.cloud_id.filter(|id| !id.is_empty()).ok_or_else(|| ConfluenceError::CloudId {
            url: display_url(&url),
            detail: "the answer has no cloudId".to_string(),
        })
    }

    /// Cloud, Server or Data Center.
    pub fn flavour(&self) -> Flavour {
        self.inner.flavour
    }

    /// The root API paths are appended to (e.g. `https://x.atlassian.net/wiki`).
    pub fn api_root(&self) -> &Url {
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
    pub fn web_url(&self, webui: &str) -> String {
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
            let permit = inner.throttle.admit().await;
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
            tokio::time::sleep(wait).await;
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
            let response = request.send().await.map_err(|e| ConfluenceError::from_transport(&current, &e))?;
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

impl Inner {
    fn new(
        options: &ClientOptions,
        http: reqwest::Client,
        api_root: Url,
        link_context: String,
        ui_base: Url,
    ) -> Inner {
        Inner {
            http,
            flavour: options.flavour,
            auth_origin: api_root.origin(),
            api_root,
            link_context,
            ui_base,
            authorization: authorization(&options.auth),
            auth_hint: options.auth.fix_hint(),
            retry_count: options.retry_count,
            max_retry_after: options.max_retry_after,
            backoff: backoff_steps(options.backoff_base, options.backoff_max, options.retry_count),
            throttle: Throttle::new(options.requests_per_second, options.max_concurrent_requests),
            stats: RequestStats::default(),
        }
    }
}

/// A body that broke off is a truncated response (retried); other read errors are transport
/// errors.
fn truncated_or_transport(url: &Url, error: &reqwest::Error) -> ConfluenceError {
    match ConfluenceError::from_transport(url, error) {
        ConfluenceError::Network { detail, .. } => {
            ConfluenceError::Truncated { url: display_url(url), detail }
        }
        other => other,
    }
}

/// The `Authorization` header value, marked sensitive so `http` never prints it.
fn authorization(auth: &Auth) -> Option<HeaderValue> {
    let basic = |user: &str, secret: &str| {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}")))
    };
    let text = match auth {
        Auth::CloudApiToken { email, token } => basic(email, token.expose()),
        Auth::CloudGateway { credential: GatewayCredential::ApiToken { email, token }, .. } => {
            basic(email, token.expose())
        }
        Auth::CloudGateway { credential: GatewayCredential::Bearer(token), .. } => {
            format!("Bearer {}", token.expose())
        }
        Auth::Basic { username, password } => basic(username, password.expose()),
        Auth::PersonalAccessToken(token) => format!("Bearer {}", token.expose()),
    };
    let mut value = HeaderValue::from_str(&text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Parses and checks `confluence_url`.
fn parse_base(options: &ClientOptions) -> Result<Url, ConfluenceError> {
    let trimmed = options.base_url.trim();
    let mut url = Url::parse(trimmed).map_err(|e| ConfluenceError::Config {
        field: "confluence_url",
        detail: format!("`{trimmed}` is not a URL ({e}); write it like https://example.atlassian.net or http://host:8090/confluence"),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfluenceError::Config {
            field: "confluence_url",
            detail: format!("`{trimmed}` must be an http(s) URL with a host"),
        });
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

/// The `reqwest` client: rustls with system roots plus `ssl_ca`, proxy, timeouts, no
/// automatic redirects.
fn build_http(options: &ClientOptions) -> Result<reqwest::Client, ConfluenceError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(options.connect_timeout)
        .read_timeout(options.read_timeout)
        .user_agent(options.user_agent.clone())
        .danger_accept_invalid_certs(options.danger_accept_invalid_certs);
    if let Some(ca) = options.ssl_ca.as_deref().filter(|ca| !ca.trim().is_empty()) {
        let pem = if ca.contains("-----BEGIN") {
            ca.as_bytes().to_vec()
        } else {
            std::fs::read(ca.trim()).map_err(|e| ConfluenceError::Config {
                field: "ssl_ca",
                detail: format!("not PEM text, and the file `{}` cannot be read: {e}", ca.trim()),
            })?
        };
        let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            ConfluenceError::Config { field: "ssl_ca", detail: format!("not a valid PEM certificate: {e}") }
        })?;
        if certificates.is_empty() {
            return Err(ConfluenceError::Config {
                field: "ssl_ca",
                detail: "no certificate found in the PEM".to_string(),
            });
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    if let Some(proxy) = options.proxy.as_deref().filter(|p| !p.trim().is_empty()) {
        let proxy = reqwest::Proxy::all(proxy.trim()).map_err(|e| ConfluenceError::Config {
            field: "proxy",
            detail: format!("not a usable proxy URL: {e}"),
        })?;
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(|e| ConfluenceError::Config {
        field: "ssl_ca",
        detail: format!("cannot build the HTTP client: {e}"),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::confluence::test_server::{json, serve, Log, TestServer};
    use axum::response::Response;
    use serde_json::json as j;

    /// A Server-flavour client with fast backoff for tests.
    pub(crate) async fn test_client(origin: &str, flavour: Flavour) -> ConfluenceClient {
        let auth = match flavour {
            Flavour::Cloud => {
                Auth::CloudApiToken { email: "me@example.com".into(), token: Secret::new("api-token-xyz") }
            }
            _ => Auth::Basic { username: "admin".into(), password: Secret::new("pw-xyz") },
        };
        let mut options = ClientOptions::new(flavour, origin, auth);
        options.backoff_base = Duration::from_millis(5);
        options.backoff_max = Duration::from_millis(20);
        ConfluenceClient::new(options).await.unwrap()
    }

    #[tokio::test]
    async fn links_resolve_against_the_api_root_without_doubling_the_context() {
        let cloud = test_client("https://x.atlassian.net/", Flavour::Cloud).await;
        assert_eq!(cloud.api_root().as_str(), "https://x.atlassian.net/wiki");
        assert_eq!(
            cloud.resolve_link("/wiki/api/v2/spaces?cursor=abc").as_str(),
            "https://x.atlassian.net/wiki/api/v2/spaces?cursor=abc"
        );
        assert_eq!(
            cloud.resolve_link("/rest/api/content/search?cql=x&cursor=c").as_str(),
            "https://x.atlassian.net/wiki/rest/api/content/search?cql=x&cursor=c"
        );
        assert_eq!(
            cloud.resolve_link("https://evil.example/wiki/api/v2/pages?cursor=z").as_str(),
            "https://x.atlassian.net/wiki/api/v2/pages?cursor=z",
            "absolute links never leave the configured origin"
        );
        assert_eq!(cloud.web_url("/spaces/SD/pages/1/T"), "https://x.atlassian.net/wiki/spaces/SD/pages/1/T");
        let dc = test_client("http://host:8090/confluence/", Flavour::DataCenter).await;
        assert_eq!(
            dc.resolve_link("/rest/api/space?start=50").as_str(),
            "http://host:8090/confluence/rest/api/space?start=50"
        );
        assert_eq!(
            dc.resolve_link("/confluence/download/attachments/1/a.pdf").as_str(),
            "http://host:8090/confluence/download/attachments/1/a.pdf"
        );
        assert_eq!(
            dc.url(&["rest", "api", "content", "a b/c"], &[("cql", "space=\"A\"".into())]).as_str(),
            "http://host:8090/confluence/rest/api/content/a%20b%2Fc?cql=space%3D%22A%22"
        );
    }

    #[tokio::test]
    async fn gateway_discovers_the_cloud_id_and_sends_auth_only_to_the_gateway() {
        let (site, site_log) = serve(|_, _| json(200, j!({"cloudId": "abc-123"}), &[])).await;
        let (gateway, gateway_log) = serve(|seen, _| {
            assert!(seen.target.starts_with("/ex/confluence/abc-123/wiki/api/v2/spaces"), "{}", seen.target);
            json(200, j!({"results": [{"id": "1", "key": "A", "name": "Alpha"}], "_links": {}}), &[])
        })
        .await;
        let mut options = ClientOptions::new(
            Flavour::Cloud,
            site.origin.clone(),
            Auth::CloudGateway {
                cloud_id: None,
                credential: GatewayCredential::Bearer(Secret::new("oauth-tok")),
            },
        );
        options.gateway_origin = gateway.origin.clone();
        let client = ConfluenceClient::new(options).await.unwrap();
        client.ping().await.unwrap();
        let site_seen = site_log.lock().unwrap().clone();
        assert_eq!(site_seen[0].target, "/_edge/tenant_info");
        assert_eq!(site_seen[0].authorization, None, "tenant_info is unauthenticated");
        let gateway_seen = gateway_log.lock().unwrap().clone();
        assert_eq!(gateway_seen[0].authorization.as_deref(), Some("Bearer oauth-tok"));
    }

    #[tokio::test]
    async fn rate_limits_are_retried_and_fatal_statuses_are_not() {
        // /limited: 429, then 403 "rate limit", then 503, then 200. /denied: 401 always.
        let (server, log) = serve(|seen, index| {
            if seen.target.starts_with("/denied") {
                return json(401, j!({"message": "bad"}), &[]);
            }
            match index {
                0 => json(429, j!({}), &[("Retry-After", "0")]),
                1 => json(403, j!({"message": "Rate limit exceeded"}), &[]),
                2 => json(503, j!({}), &[]),
                _ => json(200, j!({"ok": true}), &[]),
            }
        })
        .await;
        let client = test_client(&server.origin, Flavour::Server).await;
        let ok: Fetched<serde_json::Value> =
            client.get_json(client.url(&["limited"], &[]), "GET /limited").await.unwrap();
        assert_eq!(ok.body["ok"], true);
        assert_eq!(log.lock().unwrap().len(), 4);
        let error = client
            .get_json::<serde_json::Value>(client.url(&["denied"], &[]), "GET /denied")
            .await
            .unwrap_err();
        assert_eq!(log.lock().unwrap().len(), 5, "401 is never retried");
        let shown = error.to_string();
        assert!(
            shown.starts_with(&format!("401 from {}/denied: check username and password", server.origin)),
            "{shown}"
        );
        assert!(!shown.contains("pw-xyz"));
        let stats = client.stats();
        assert_eq!(stats.retries, 3);
        assert_eq!(stats.by_route[&("GET /limited", 429)], 1);
        assert_eq!(stats.by_route[&("GET /denied", 401)], 1);
    }

    #[tokio::test]
    async fn retries_stop_after_retry_count_and_say_so() {
        let (server, log) = serve(|_, _| json(502, j!({}), &[])).await;
        let client = test_client(&server.origin, Flavour::Server).await;
        let error =
            client.get_json::<serde_json::Value>(client.url(&["x"], &[]), "GET /x").await.unwrap_err();
        assert_eq!(log.lock().unwrap().len(), 4, "first attempt + retry_count 3");
        assert!(matches!(error, ConfluenceError::RetriesExhausted { attempts: 4, .. }), "{error}");
        assert!(error.to_string().contains("gave up after 4 attempts: 502"), "{error}");
    }

    #[tokio::test]
    async fn truncated_and_dropped_bodies_are_retried() {
        let (server, log) = serve(|_, index| match index {
            // A complete HTTP response whose JSON is cut in half.
            0 => Response::builder().status(200).body(axum::body::Body::from("{\"results\": [1, 2")).unwrap(),
            // A body that breaks off mid-stream.
            1 => {
                let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
                    Ok(bytes::Bytes::from_static(b"{\"ok\": ")),
                    Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "dropped")),
                ];
                Response::builder()
                    .status(200)
                    .body(axum::body::Body::from_stream(futures::stream::iter(chunks)))
                    .unwrap()
            }
            _ => json(200, j!({"ok": true}), &[]),
        })
        .await;
        let client = test_client(&server.origin, Flavour::Server).await;
        let ok: Fetched<serde_json::Value> =
            client.get_json(client.url(&["x"], &[]), "GET /x").await.unwrap();
        assert_eq!(ok.body["ok"], true);
        assert_eq!(log.lock().unwrap().len(), 3);
        // Malformed (not truncated) JSON is not retried and names the URL and position.
        let (bad, bad_log) = serve(|_, _| {
            Response::builder().status(200).body(axum::body::Body::from("{\"a\": nope}")).unwrap()
        })
        .await;
        let client = test_client(&bad.origin, Flavour::Server).await;
        let error =
            client.get_json::<serde_json::Value>(client.url(&["y"], &[]), "GET /y").await.unwrap_err();
        assert_eq!(bad_log.lock().unwrap().len(), 1);
        let shown = error.to_string();
        assert!(shown.contains(&format!("{}/y", bad.origin)) && shown.contains("line 1 column"), "{shown}");
    }

    /// A server that answers `/first` with a 429 (`Retry-After: 1`) and everything else with
    /// 200, and a client of it that does not retry, with `slots` requests in flight.
    async fn first_answers_429(slots: usize) -> (TestServer, Log, ConfluenceClient) {
        let (server, log) = serve(|seen, _| {
            if seen.target.starts_with("/first") {
                json(429, j!({}), &[("Retry-After", "1")])
            } else {
                json(200, j!({}), &[])
            }
        })
        .await;
        let mut options = ClientOptions::new(
            Flavour::Server,
            server.origin.clone(),
            Auth::PersonalAccessToken(Secret::new("p")),
        );
        options.retry_count = 0;
        options.max_concurrent_requests = slots;
        let client = ConfluenceClient::new(options).await.unwrap();
        (server, log, client)
    }

    #[tokio::test]
    async fn a_429_pauses_every_request_of_the_client() {
        let (_server, log, client) = first_answers_429(10).await;
        let started = std::time::Instant::now();
        let _ = client.get_json::<serde_json::Value>(client.url(&["first"], &[]), "GET /first").await;
        client.get_json::<serde_json::Value>(client.url(&["other"], &[]), "GET /other").await.unwrap();
        let seen = log.lock().unwrap().clone();
        assert_eq!(seen[0].authorization.as_deref(), Some("Bearer p"));
        let other = seen.iter().find(|s| s.target.starts_with("/other")).unwrap();
        assert!(
            other.at.duration_since(started) >= Duration::from_millis(950),
            "{:?}",
            other.at.duration_since(started)
        );
    }

    #[tokio::test]
    async fn a_429_pauses_the_requests_already_queued_for_a_slot() {
        let (_server, log, client) = first_answers_429(1).await;
        let started = std::time::Instant::now();
        // The second request queues for the only slot while the first is in flight.
        let (_, other) = tokio::join!(
            client.get_json::<serde_json::Value>(client.url(&["first"], &[]), "GET /first"),
            client.get_json::<serde_json::Value>(client.url(&["other"], &[]), "GET /other"),
        );
        other.unwrap();
        let seen = log.lock().unwrap().clone();
        let other = seen.iter().find(|s| s.target.starts_with("/other")).unwrap();
        assert!(
            other.at.duration_since(started) >= Duration::from_millis(950),
            "{:?}",
            other.at.duration_since(started)
        );
    }

    #[tokio::test]
    async fn bad_settings_are_named() {
        let auth = Auth::PersonalAccessToken(Secret::new("p"));
        let error = ConfluenceClient::new(ClientOptions::new(Flavour::DataCenter, "host:8090", auth.clone()))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("confluence_url"), "{error}");
        let mut options = ClientOptions::new(Flavour::DataCenter, "http://h", auth);
        options.ssl_ca = Some("/nonexistent/ca.pem".into());
        let error = ConfluenceClient::new(options).await.unwrap_err();
        assert!(error.to_string().contains("ssl_ca"), "{error}");
    }

    #[tokio::test]
    async fn a_stalled_body_times_out_and_is_retried() {
        let (server, log) = serve(|_, index| {
            if index == 0 {
                let stalled = futures::stream::once(async {
                    tokio::time::sleep(Duration::from_millis(600)).await;
                    Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{}"))
                });
                Response::new(axum::body::Body::from_stream(stalled))
            } else {
                json(200, j!({"ok": true}), &[])
            }
        })
        .await;
        let mut options = ClientOptions::new(
            Flavour::Server,
            server.origin.clone(),
            Auth::PersonalAccessToken(Secret::new("p")),
        );
        options.read_timeout = Duration::from_millis(150);
        options.backoff_base = Duration::from_millis(5);
        let client = ConfluenceClient::new(options).await.unwrap();
        let ok: Fetched<serde_json::Value> =
            client.get_json(client.url(&["x"], &[]), "GET /x").await.unwrap();
        assert_eq!(ok.body["ok"], true);
        assert_eq!(log.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn requests_go_through_the_configured_proxy() {
        let (proxy, log) = serve(|_, _| json(200, j!({"via": "proxy"}), &[])).await;
        let mut options = ClientOptions::new(
            Flavour::Server,
            "http://confluence.invalid:8090",
            Auth::PersonalAccessToken(Secret::new("p")),
        );
        options.proxy = Some(proxy.origin.replace("http://", "http://user:proxy-pw@"));
        let client = ConfluenceClient::new(options).await.unwrap();
        let fetched: Fetched<serde_json::Value> =
            client.get_json(client.url(&["rest", "api", "space"], &[]), "GET /rest/api/space").await.unwrap();
        assert_eq!(fetched.body["via"], "proxy");
        assert_eq!(log.lock().unwrap()[0].target, "/rest/api/space");
    }
}
