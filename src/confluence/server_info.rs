//! What `check` prints about a source: that it answers, what it is, and what it shows us.
//!
//! The version comes from Server/DC's application-links manifest
//! (`GET /rest/applinks/1.0/manifest`, served to any client and cheap); when that route is
//! missing or refuses, the version is simply unknown — it is informational, never a reason
//! to fail a check. Cloud has no version (it is continuously deployed). The number of
//! visible spaces is counted by walking the space listing, which also proves the
//! credentials can list what the sync will list.

use futures::StreamExt;
use serde::Deserialize;

use super::client::ConfluenceClient;
use super::error::ConfluenceError;
use super::options::Flavour;

/// The answer to a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// Cloud, Server or Data Center (as configured).
    pub(crate) flavour: Flavour,
    /// Product version (Server/DC manifest), when available.
    pub(crate) version: Option<String>,
    /// Build number (Server/DC manifest), when available.
    pub(crate) build_number: Option<String>,
    /// Spaces the credentials can see.
    pub visible_spaces: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Manifest {
    version: Option<String>,
    #[serde(deserialize_with = "build_number")]
    build_number: Option<String>,
}

fn build_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(deserializer)? {
        Some(serde_json::Value::String(text)) => Some(text),
        Some(serde_json::Value::Number(number)) => Some(number.to_string()),
        _ => None,
    })
}

impl ConfluenceClient {
    /// One cheap authenticated call (a one-space listing page): proves the URL, TLS and
    /// credentials work.
    pub(crate) async fn ping(&self) -> Result<(), ConfluenceError> {
        let url = match self.flavour() {
            Flavour::Cloud => self.url(&["api", "v2", "spaces"], &[("limit", "1".to_string())]),
            Flavour::Server | Flavour::DataCenter => {
                self.url(&["rest", "api", "space"], &[("limit", "1".to_string())])
            }
        };
        self.get_json::<serde_json::Value>(url, "GET ping").await.map(|_| ())
    }

    /// Flavour, version (when the server tells) and number of visible spaces.
    pub async fn server_info(&self) -> Result<ServerInfo, ConfluenceError> {
        self.ping().await?;
        let manifest = match self.flavour() {
            Flavour::Cloud => Manifest::default(),
            Flavour::Server | Flavour::DataCenter => {
                let url = self.url(&["rest", "applinks", "1.0", "manifest"], &[]);
                match self.get_json::<Manifest>(url, "GET /rest/applinks/1.0/manifest").await {
                    Ok(fetched) => fetched.body,
                    Err(error) => {
                        tracing::debug!(%error, "no application-links manifest; the version stays unknown");
                        Manifest::default()
                    }
                }
            }
        };
        let mut spaces = self.spaces(&[]);
        let mut visible_spaces = 0u64;
        while let Some(space) = spaces.next().await {
            space?;
            visible_spaces += 1;
        }
        Ok(ServerInfo {
            flavour: self.flavour(),
            version: manifest.version,
            build_number: manifest.build_number,
            visible_spaces,
        })
    }
}
