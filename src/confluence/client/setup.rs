//! How a client is built ([`ConfluenceClient::new`]): the checked base URL, the API root
//! (the site, or the `api.atlassian.com` gateway with a discovered cloud id), the
//! `Authorization` header, and the `reqwest` client (rustls with the system roots plus
//! `ssl_ca` ([`crate::tls`]), proxy, timeouts, no automatic redirects).

use std::sync::Arc;

use base64::Engine;
use reqwest::header::HeaderValue;
use url::Url;

use super::{ConfluenceClient, Fetched, Inner};
use crate::confluence::error::{display_url, ConfluenceError};
use crate::confluence::options::{Auth, ClientOptions, Flavour, GatewayCredential};
use crate::confluence::rate_limit::Throttle;
use crate::confluence::retry::backoff_steps;
use crate::confluence::stats::RequestStats;
use crate::shutdown::Shutdown;

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
        let mut client = ConfluenceClient { inner: Arc::new(first), stop: Shutdown::never() };
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
                stop: Shutdown::never(),
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
}

impl Inner {
    /// The shared state of a client whose API calls go to `api_root`.
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
            ssl_ca_set: options.ssl_ca.as_deref().is_some_and(|ca| !ca.trim().is_empty()),
            retry_count: options.retry_count,
            max_retry_after: options.max_retry_after,
            backoff: backoff_steps(options.backoff_base, options.backoff_max, options.retry_count),
            throttle: Throttle::new(options.requests_per_second, options.max_concurrent_requests),
            stats: RequestStats::default(),
        }
    }
}

/// The `Authorization` header value, marked sensitive so `http` never prints it.
pub(super) fn authorization(auth: &Auth) -> Option<HeaderValue> {
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
pub(super) fn parse_base(options: &ClientOptions) -> Result<Url, ConfluenceError> {
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
pub(super) fn build_http(options: &ClientOptions) -> Result<reqwest::Client, ConfluenceError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(options.connect_timeout)
        .read_timeout(options.read_timeout)
        .user_agent(options.user_agent.clone())
        .danger_accept_invalid_certs(options.danger_accept_invalid_certs);
    // Skipping verification wins over a CA to verify with (it is the louder, explicit setting).
    if let Some(ca) = options.ssl_ca.as_deref().filter(|ca| !ca.trim().is_empty()) {
        let invalid = |detail: String| ConfluenceError::Config { field: "ssl_ca", detail };
        let config = crate::tls::client_config(read_ssl_ca(ca)?).map_err(invalid)?;
        if !options.danger_accept_invalid_certs {
            builder = builder.use_preconfigured_tls(config);
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

/// The certificates of `ssl_ca` (PEM text, or the path of a PEM file).
fn read_ssl_ca(ssl_ca: &str) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, ConfluenceError> {
    let pem = if ssl_ca.contains("-----BEGIN") {
        ssl_ca.as_bytes().to_vec()
    } else {
        std::fs::read(ssl_ca.trim()).map_err(|e| ConfluenceError::Config {
            field: "ssl_ca",
            detail: format!("not PEM text, and the file `{}` cannot be read: {e}", ssl_ca.trim()),
        })?
    };
    crate::tls::read_pem(&pem).map_err(|detail| ConfluenceError::Config { field: "ssl_ca", detail })
}
