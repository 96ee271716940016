//! The HTTP connection to the cluster: one `reqwest` client with the connector's TLS, the
//! credentials and the headers of every request.
//!
//! The official `elasticsearch` crate builds its own `reqwest` client and lets a CA be
//! added only as a root: a self-signed certificate made by `openssl req -x509` (marked as a
//! CA) is then refused as `CaUsedAsEndEntity` even when given as `elasticsearch.ca_certs`,
//! and its `TransportBuilder` has no way to hand it another verifier. So requests go out
//! through this client, built with [`crate::tls::client_config`] — the verifier Confluence's
//! `ssl_ca` uses — when `ca_certs` is set, and with reqwest's own roots otherwise. What the
//! crate's transport added to each request is added here: the base URL, `Authorization`,
//! JSON content type and accept headers by default.

use bytes::Bytes;
use elasticsearch::http::headers::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use elasticsearch::http::Method;
use url::Url;

use super::error::ElasticError;
use super::options::{user_agent, ElasticOptions};

/// The settings a certificate hint names on the Elasticsearch side.
pub(crate) const TLS_SETTINGS: crate::tls::Settings = crate::tls::Settings {
    ca: "elasticsearch.ca_certs",
    enable: "elasticsearch.ssl: true",
    url: "elasticsearch.host",
    ca_form: "(the path of a PEM file)",
    plain_example: "a node without TLS is reached at http://host:9200",
};

/// Where requests go and what each carries.
#[derive(Debug)]
pub(crate) struct Node {
    /// The client: TLS, timeout, default headers, no proxy.
    http: reqwest::Client,
    /// `elasticsearch.host`, its path ending in `/` so that paths join below it.
    base: Url,
    /// `ApiKey …` or `Basic …`, marked sensitive so that it is never printed.
    authorization: Option<HeaderValue>,
    /// Whether `elasticsearch.ca_certs` is in use (for the hint of a refused certificate).
    pub(crate) ca_set: bool,
}

impl Node {
    /// The client for `options`: credentials (an API key wins), TLS, headers, timeout.
    pub(crate) fn connect(options: &ElasticOptions) -> Result<Node, ElasticError> {
        let invalid =
            |key: &str, reason: String| ElasticError::InvalidOption { key: key.to_string(), reason };
        let mut base = Url::parse(&options.host)
            .map_err(|e| invalid("host", format!("{:?} is not a URL: {e}", options.host)))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let mut builder = reqwest::Client::builder().timeout(options.request_timeout).no_proxy();
        let mut ca_set = false;
        if options.ssl {
            if !options.verify_certs {
                tracing::warn!(
                    "elasticsearch.verify_certs is false: the cluster's certificate is not checked"
                );
                builder = builder.danger_accept_invalid_certs(true);
            } else if let Some(path) = &options.ca_certs {
                let pem = std::fs::read(path)
                    .map_err(|e| invalid("ca_certs", format!("cannot read {}: {e}", path.display())))?;
                let certificates = crate::tls::read_pem(&pem)
                    .map_err(|e| invalid("ca_certs", format!("{}: {e}", path.display())))?;
                let config = crate::tls::client_config(certificates)
                    .map_err(|e| invalid("ca_certs", format!("{}: {e}", path.display())))?;
                builder = builder.use_preconfigured_tls(config);
                ca_set = true;
            }
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-elastic-product-origin"),
            HeaderValue::from_static("connectors"),
        );
        headers.insert(
            elasticsearch::http::headers::USER_AGENT,
            HeaderValue::from_str(&user_agent())
                .unwrap_or_else(|_| HeaderValue::from_static("confluence-connector")),
        );
        for (name, value) in &options.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| invalid("headers", format!("{name:?} is not a header name: {e}")))?;
            let value =
                HeaderValue::from_str(value).map_err(|e| invalid("headers", format!("{name}: {e}")))?;
            headers.insert(name, value);
        }
        let http = builder.default_headers(headers).build().map_err(|e| ElasticError::Transport {
            method: "(setup)".into(),
            url: options.host.clone(),
            attempts: 0,
            reason: e.to_string(),
        })?;
        Ok(Node { http, base, authorization: authorization(options)?, ca_set })
    }

    /// Sends one request to `path` (below the base URL; it may carry its own query) with
    /// `query` added.
    pub(crate) async fn send(
        &self,
        method: &Method,
        path: &str,
        query: &[(String, String)],
        headers: &HeaderMap,
        body: Option<Bytes>,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let url = match self.base.join(path.trim_start_matches('/')) {
            Ok(url) => url,
            // Paths are built by this crate; one that does not join is sent as it is to the
            // base, and the cluster's answer says what is wrong.
            Err(_) => self.base.clone(),
        };
        let method = match method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
            Method::Head => reqwest::Method::HEAD,
        };
        let mut request_headers = HeaderMap::with_capacity(3 + headers.len());
        request_headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        request_headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(authorization) = &self.authorization {
            request_headers.insert(AUTHORIZATION, authorization.clone());
        }
        for (name, value) in headers {
            request_headers.insert(name.clone(), value.clone());
        }
        let mut request = self.http.request(method, url).headers(request_headers);
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        request.send().await
    }
}

/// The `Authorization` header of the configured credentials: the API key, else basic auth.
fn authorization(options: &ElasticOptions) -> Result<Option<HeaderValue>, ElasticError> {
    use base64::Engine;
    let text = match (&options.api_key, &options.username, &options.password) {
        (Some(key), _, _) => format!("ApiKey {}", key.expose()),
        (None, Some(user), Some(password)) => format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", password.expose()))
        ),
        _ => return Ok(None),
    };
    // The error would quote the value: only the key is named.
    let mut value = HeaderValue::from_str(&text).map_err(|_| ElasticError::InvalidOption {
        key: if options.api_key.is_some() { "api_key" } else { "password" }.to_string(),
        reason: "holds characters that cannot be sent in an HTTP header (a line break?)".to_string(),
    })?;
    value.set_sensitive(true);
    Ok(Some(value))
}
