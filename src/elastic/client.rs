//! One Elasticsearch client per sync, built from [`ElasticOptions`], carrying the retry
//! policy every request made with it follows (so no call site can forget it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::headers::{HeaderMap, HeaderName, HeaderValue};
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::Elasticsearch;
use url::Url;

use super::error::ElasticError;
use super::options::{user_agent, ElasticOptions};
use super::retry::RetryPolicy;

/// The official client, the retry policy of its requests, and how many it retried.
#[derive(Clone)]
pub struct EsClient {
    es: Elasticsearch,
    policy: RetryPolicy,
    retries: Arc<AtomicU64>,
}

impl EsClient {
    /// Wraps a client; its requests follow `policy`.
    pub(crate) fn new(es: Elasticsearch, policy: RetryPolicy) -> EsClient {
        EsClient { es, policy, retries: Arc::default() }
    }

    /// The official client.
    pub(crate) fn elasticsearch(&self) -> &Elasticsearch {
        &self.es
    }

    /// How requests are retried (`elasticsearch.max_retries`, `retry_interval`,
    /// `retry_on_timeout`).
    pub(crate) fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The same client, trying each request once: for answers that must come at once
    /// (`check`, health probes), where waiting out the retries would only hide the cause.
    pub(crate) fn without_retries(&self) -> EsClient {
        EsClient { policy: RetryPolicy { max_retries: 0, ..self.policy }, ..self.clone() }
    }

    /// Counts one retry of a request other than `_bulk` (the sink counts its own).
    pub(crate) fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests other than `_bulk` sent again so far, by this client and its clones.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
}

/// Builds the client: single node, credentials (API key wins), TLS, headers, timeout.
pub fn connect(options: &ElasticOptions) -> Result<EsClient, ElasticError> {
    let invalid = |key: &str, reason: String| ElasticError::InvalidOption { key: key.to_string(), reason };
    let url = Url::parse(&options.host)
        .map_err(|e| invalid("host", format!("{:?} is not a URL: {e}", options.host)))?;
    let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(url))
        .timeout(options.request_timeout)
        .disable_proxy();
    builder = match (&options.api_key, &options.username, &options.password) {
        (Some(key), _, _) => builder.auth(Credentials::EncodedApiKey(key.expose().to_string())),
        (None, Some(user), Some(password)) => {
            builder.auth(Credentials::Basic(user.clone(), password.expose().to_string()))
        }
        _ => builder,
    };
    if options.ssl {
        if !options.verify_certs {
            tracing::warn!("elasticsearch.verify_certs is false: the cluster's certificate is not checked");
            builder = builder.cert_validation(CertificateValidation::None);
        } else if let Some(path) = &options.ca_certs {
            let pem = std::fs::read(path)
                .map_err(|e| invalid("ca_certs", format!("cannot read {}: {e}", path.display())))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| {
                invalid("ca_certs", format!("{} is not a PEM certificate: {e}", path.display()))
            })?;
            builder = builder.cert_validation(CertificateValidation::Full(cert));
        }
    }
    let mut headers = HeaderMap::new();
    headers
        .insert(HeaderName::from_static("x-elastic-product-origin"), HeaderValue::from_static("connectors"));
    for (name, value) in &options.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| invalid("headers", format!("{name:?} is not a header name: {e}")))?;
        let value = HeaderValue::from_str(value).map_err(|e| invalid("headers", format!("{name}: {e}")))?;
        headers.insert(name, value);
    }
    let transport = builder
        .headers(headers)
        .header(
            elasticsearch::http::headers::USER_AGENT,
            HeaderValue::from_str(&user_agent())
                .unwrap_or_else(|_| HeaderValue::from_static("confluence-connector")),
        )
        .build()
        .map_err(|e| ElasticError::Transport {
            method: "(setup)".into(),
            url: options.host.clone(),
            attempts: 0,
            reason: e.to_string(),
        })?;
    Ok(EsClient::new(Elasticsearch::new(transport), options.request_policy()))
}
