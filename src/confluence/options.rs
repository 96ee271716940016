//! The settings of one Confluence source, as plain data.
//!
//! The lead's config module maps `config.yml` onto [`ClientOptions`]; the client never reads
//! files or the environment itself. Secrets live in [`Secret`], and the hand-written `Debug`
//! also hides a password embedded in the proxy URL, so the whole struct can be logged.

use std::fmt;
use std::time::Duration;

use crate::config::Secret;

/// Which Confluence product the source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Confluence Cloud (`*.atlassian.net`, v2 API for listings, v1 for CQL and downloads).
    Cloud,
    /// Confluence Server (v1 API, offset pagination).
    Server,
    /// Confluence Data Center (v1 API, offset pagination, personal access tokens).
    DataCenter,
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavour::Cloud => "Confluence Cloud",
            Flavour::Server => "Confluence Server",
            Flavour::DataCenter => "Confluence Data Center",
        })
    }
}

/// The credential of a gateway (`api.atlassian.com`) connection.
#[derive(Debug, Clone)]
pub enum GatewayCredential {
    /// A scoped API token, sent as Basic `email:token`.
    ApiToken {
        /// The Atlassian account's email.
        email: String,
        /// The scoped API token.
        token: Secret,
    },
    /// An OAuth 2.0 (3LO) access token, sent as `Authorization: Bearer`.
    Bearer(Secret),
}

/// How requests authenticate.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Cloud classic API token on the site domain: Basic `email:token`.
    CloudApiToken {
        /// The Atlassian account's email (`account_email`).
        email: String,
        /// The API token (`api_token`).
        token: Secret,
    },
    /// Cloud through the `api.atlassian.com/ex/confluence/{cloudId}` gateway (scoped tokens,
    /// OAuth). The cloud id is discovered from `{site}/_edge/tenant_info` when not given.
    CloudGateway {
        /// The site's cloud id, when known.
        cloud_id: Option<String>,
        /// The token to send.
        credential: GatewayCredential,
    },
    /// Server / Data Center username and password: Basic `user:password`.
    Basic {
        /// The Confluence username.
        username: String,
        /// The password.
        password: Secret,
    },
    /// Data Center personal access token: `Authorization: Bearer <token>`.
    PersonalAccessToken(Secret),
}

impl Auth {
    /// The configuration keys a 401 should send the user to.
    pub(crate) fn fix_hint(&self) -> &'static str {
        match self {
            Auth::CloudApiToken { .. } => {
                "check account_email and api_token (API tokens expire after at most a year)"
            }
            Auth::CloudGateway { credential: GatewayCredential::ApiToken { .. }, .. } => {
                "check account_email and the scoped api_token and its scopes (tokens expire after at most a year)"
            }
            Auth::CloudGateway { credential: GatewayCredential::Bearer(_), .. } => {
                "check the OAuth access token: it may have expired or lack the needed scopes"
            }
            Auth::Basic { .. } => "check username and password (and that basic auth is enabled)",
            Auth::PersonalAccessToken(_) => {
                "check the personal access token (it may be expired or revoked)"
            }
        }
    }
}

/// Everything needed to build a [`super::ConfluenceClient`].
#[derive(Clone)]
pub struct ClientOptions {
    /// Cloud, Server or Data Center.
    pub(crate) flavour: Flavour,
    /// The user's `confluence_url`: `https://x.atlassian.net` (Cloud; `/wiki` is appended when
    /// missing) or `http://host:8090[/context]` (Server/DC).
    pub(crate) base_url: String,
    /// Credentials.
    pub(crate) auth: Auth,
    /// Extra CA certificate(s) trusted on top of the system roots: PEM text or a file path.
    pub ssl_ca: Option<String>,
    /// Accept any server certificate. Dangerous; a warning is logged when the client is built.
    pub danger_accept_invalid_certs: bool,
    /// Outbound proxy URL (`http://[user:pass@]proxy:3128`).
    pub(crate) proxy: Option<String>,
    /// Retries after the first attempt (default 3).
    pub retry_count: u32,
    /// Longest wait honoured from `Retry-After` / `X-RateLimit-Reset` (default 60 s).
    pub(crate) max_retry_after: Duration,
    /// TCP + TLS connect timeout (default 10 s).
    pub(crate) connect_timeout: Duration,
    /// Longest silence while reading a response (default 60 s).
    pub(crate) read_timeout: Duration,
    /// Ceiling on requests per second for this source (none by default).
    pub(crate) requests_per_second: Option<f64>,
    /// Requests in flight at once for this source (default 10).
    pub(crate) max_concurrent_requests: usize,
    /// `User-Agent` header.
    pub(crate) user_agent: String,
    /// Origin of the Atlassian API gateway (default `https://api.atlassian.com`); tests point
    /// it at a local server.
    pub(crate) gateway_origin: String,
    /// First exponential-backoff delay (default 1 s; the n-th retry waits up to base·2ⁿ).
    pub backoff_base: Duration,
    /// Longest exponential-backoff delay (default 30 s).
    pub backoff_max: Duration,
}

impl ClientOptions {
    /// Options with every default for a flavour, URL and credential.
    pub fn new(flavour: Flavour, base_url: impl Into<String>, auth: Auth) -> Self {
        ClientOptions {
            flavour,
            base_url: base_url.into(),
            auth,
            ssl_ca: None,
            danger_accept_invalid_certs: false,
            proxy: None,
            retry_count: 3,
            max_retry_after: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            requests_per_second: None,
            max_concurrent_requests: 10,
            user_agent: concat!("confluence-connector/", env!("CARGO_PKG_VERSION")).to_string(),
            gateway_origin: "https://api.atlassian.com".to_string(),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// A proxy URL with any password replaced, for `Debug`.
fn redacted_proxy(proxy: &str) -> String {
    match url::Url::parse(proxy) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Setting a password only fails for URLs without a host; those have none.
                let _ = parsed.set_password(Some("[REDACTED]"));
            }
            parsed.to_string()
        }
        Err(_) => "[unparsable proxy URL]".to_string(),
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("flavour", &self.flavour)
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("ssl_ca", &self.ssl_ca.as_ref().map(|_| "[set]"))
            .field("danger_accept_invalid_certs", &self.danger_accept_invalid_certs)
            .field("proxy", &self.proxy.as_deref().map(redacted_proxy))
            .field("retry_count", &self.retry_count)
            .field("max_retry_after", &self.max_retry_after)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("requests_per_second", &self.requests_per_second)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("user_agent", &self.user_agent)
            .field("gateway_origin", &self.gateway_origin)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_tokens_passwords_or_proxy_passwords() {
        let mut options = ClientOptions::new(
            Flavour::Cloud,
            "https://x.atlassian.net",
            Auth::CloudApiToken { email: "a@b.c".into(), token: Secret::new("tok-123") },
        );
        options.proxy = Some("http://me:proxypw@proxy:3128".into());
        let shown = format!("{options:?}");
        assert!(!shown.contains("tok-123"), "{shown}");
        assert!(!shown.contains("proxypw"), "{shown}");
        assert!(shown.contains("a@b.c"));
        let pat = Auth::PersonalAccessToken(Secret::new("pat-secret"));
        assert!(!format!("{pat:?}").contains("pat-secret"));
        let gateway = Auth::CloudGateway {
            cloud_id: None,
            credential: GatewayCredential::Bearer(Secret::new("oauth-secret")),
        };
        assert!(!format!("{gateway:?}").contains("oauth-secret"));
    }
}
