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

    /// Which of `modules` the cluster lacks (by the names of Elasticsearch's `modules/`
    /// folder: `ingest-common`, `ingest-attachment`, `reindex`, `rest-root`, …). The test
    /// server serves what the connector needs of all of them; a real node may not: the one
    /// `make test-es` runs (Elasticsearch's integ-test-zip) has only `transport-netty4`,
    /// `x-pack-core`, `x-pack-security` and `apm`.
    pub async fn missing_modules(&self, modules: &[&str]) -> anyhow::Result<Vec<String>> {
        if !self.is_real() {
            return Ok(Vec::new());
        }
        let mut request = reqwest::Client::new()
            .get(format!("{}/_nodes/_local/plugins?filter_path=nodes.*.modules.name", self.url));
        if let Some(auth) = self.authorization() {
            request = request.header("Authorization", auth);
        }
        let response = request.send().await?.error_for_status()?;
        let body: serde_json::Value = response.json().await?;
        let present: Vec<&str> = body["nodes"]
            .as_object()
            .into_iter()
            .flat_map(|nodes| nodes.values())
            .flat_map(|node| node["modules"].as_array().into_iter().flatten())
            .filter_map(|module| module["name"].as_str())
            .collect();
        Ok(modules.iter().filter(|m| !present.contains(m)).map(|m| m.to_string()).collect())
    }

    /// Whether `test` must skip (part of) itself because the cluster lacks one of `modules`,
    /// which it needs for `purpose`. Says so on standard error, past the test harness's
    /// capture, so that a skip is never silent. When the cluster cannot say which modules it
    /// has, nothing is skipped: the test then fails with the cluster's own answer.
    pub async fn skips_without(&self, test: &str, modules: &[&str], purpose: &str) -> bool {
        use std::io::Write;
        match self.missing_modules(modules).await {
            Ok(missing) if missing.is_empty() => false,
            Ok(missing) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "{test}: skipped: {purpose} needs the Elasticsearch module(s) {}, which {} lacks",
                    missing.join(", "),
                    self.url
                );
                true
            }
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "{test}: cannot list the modules of {}: {e:#}", self.url);
                false
            }
        }
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
