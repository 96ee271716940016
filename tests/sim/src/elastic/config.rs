//! How an [`EsSim`](super::EsSim) is set up: the version it claims, the credentials it
//! accepts (and the roles of its users) and how often it refreshes (near-real-time search,
//! like Elasticsearch).

use std::time::Duration;

use super::privileges::{EsApiKey, EsUser};

/// Settings of one simulated Elasticsearch node.
#[derive(Clone)]
pub struct EsSimConfig {
    /// The version reported by `GET /` (default `9.1.0`; `8.x` selects 8.x behaviour such as
    /// accepted `compatible-with` media types).
    pub version: String,
    /// The accepted `Authorization: ApiKey <this>` value (the base64 `id:key`), if any.
    pub api_key: Option<String>,
    /// The accepted basic-auth user (default `elastic`).
    pub username: String,
    /// The accepted basic-auth password (default `changeme`).
    pub password: String,
    /// Further basic-auth users with their roles (none by default).
    pub users: Vec<EsUser>,
    /// Further API keys with their roles (none by default); `api_key` may do everything.
    pub api_keys: Vec<EsApiKey>,
    /// How often every index is refreshed in the background (default 1 s).
    pub refresh_interval: Duration,
    /// The port to bind on 127.0.0.1 (0 = any free port).
    pub port: u16,
    /// When false, every request is accepted without credentials (security disabled).
    pub security_enabled: bool,
    /// The license type reported by `GET /_license` (default `enterprise`).
    pub license_type: String,
    /// The cluster name reported by `GET /`.
    pub cluster_name: String,
    /// `action.destructive_requires_name` (default true, as in Elasticsearch 8): deleting
    /// indices by wildcard or `_all` is refused. Elasticsearch's YAML test clusters turn it off.
    pub destructive_requires_name: bool,
}

impl Default for EsSimConfig {
    fn default() -> Self {
        EsSimConfig {
            version: "9.1.0".to_string(),
            api_key: None,
            username: "elastic".to_string(),
            password: "changeme".to_string(),
            users: Vec::new(),
            api_keys: Vec::new(),
            refresh_interval: Duration::from_secs(1),
            port: 0,
            security_enabled: true,
            license_type: "enterprise".to_string(),
            cluster_name: "es-sim".to_string(),
            destructive_requires_name: true,
        }
    }
}

impl std::fmt::Debug for EsSimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsSimConfig")
            .field("version", &self.version)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("users", &self.users)
            .field("api_keys", &self.api_keys)
            .field("refresh_interval", &self.refresh_interval)
            .field("port", &self.port)
            .field("security_enabled", &self.security_enabled)
            .field("license_type", &self.license_type)
            .finish()
    }
}

impl EsSimConfig {
    /// The major version number (9 for `9.1.0`).
    pub fn major(&self) -> u32 {
        self.version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let c = EsSimConfig {
            api_key: Some("c2VjcmV0".into()),
            password: "hunter2".into(),
            ..Default::default()
        };
        let d = format!("{c:?}");
        assert!(!d.contains("hunter2") && !d.contains("c2VjcmV0"));
        assert_eq!(c.major(), 9);
    }
}
