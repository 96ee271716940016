//! Where integration tests send their Elasticsearch traffic: a real cluster when `ES_URL`
//! is set (with `ES_API_KEY`, or `ES_USERNAME`/`ES_PASSWORD`), otherwise a fresh in-process
//! [`EsSim`]. Tests written against [`EsTarget`] run unchanged against both.

use super::config::EsSimConfig;
use super::server::EsSim;

/// The Elasticsearch an integration test talks to.
pub struct EsTarget {
    /// Base URL, e.g. `http://127.0.0.1:9200`.
    pub url: String,
    /// `Authorization: ApiKey` value, if any.
    pub api_key: Option<String>,
    /// Basic-auth user, if any.
    pub username: Option<String>,
    /// Basic-auth password, if any.
    pub password: Option<String>,
    /// The simulator, when no real cluster was configured (dropping it stops it).
    pub sim: Option<EsSim>,
}

impl std::fmt::Debug for EsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsTarget")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("sim", &self.sim.is_some())
            .finish()
    }
}

impl EsTarget {
    /// `ES_URL` (+ `ES_API_KEY` or `ES_USERNAME`/`ES_PASSWORD`) if set, else a new simulator
    /// with its default credentials (`elastic`/`changeme`).
    pub async fn from_env_or_sim() -> anyhow::Result<EsTarget> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(url) = var("ES_URL") {
            return Ok(EsTarget {
                url: url.trim_end_matches('/').to_string(),
                api_key: var("ES_API_KEY"),
                username: var("ES_USERNAME"),
                password: var("ES_PASSWORD"),
                sim: None,
            });
        }
        EsTarget::sim().await
    }

    /// A new simulator, whatever `ES_URL` says: for tests of faults only it can inject.
    pub async fn sim() -> anyhow::Result<EsTarget> {
        let config = EsSimConfig::default();
        let (username, password) = (config.username.clone(), config.password.clone());
        let sim = EsSim::start(config).await?;
        Ok(EsTarget {
            url: sim.url(),
            api_key: None,
            username: Some(username),
            password: Some(password),
            sim: Some(sim),
        })
    }

    /// Whether this is a real cluster (no simulator).
    pub fn is_real(&self) -> bool {
        self.sim.is_none()
    }

    /// The `Authorization` header value for these credentials, if any.
    pub fn authorization(&self) -> Option<String> {
        use base64::Engine;
        if let Some(k) = &self.api_key {
            return Some(format!("ApiKey {k}"));
        }
        match (&self.username, &self.password) {
            (Some(u), Some(p)) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )),
            _ => None,
        }
    }
}
