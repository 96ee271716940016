//! What a client is built from: the checked base URL, the `Authorization` header, and the
//! `reqwest` client (rustls with the system roots plus `ssl_ca` ([`crate::tls`]), proxy,
//! timeouts, no automatic redirects).

use base64::Engine;
use reqwest::header::HeaderValue;
use url::Url;

use crate::confluence::error::ConfluenceError;
use crate::confluence::options::{Auth, ClientOptions, GatewayCredential};

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
