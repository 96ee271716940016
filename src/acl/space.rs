//! Which API says who may view a space on this site, found by trying them in order.
//!
//! Cloud has one (v2 space permissions). Server and Data Center may have up to three, each
//! missing or refused on some installations: the REST API of Data Center 9.1+ (a 500 unless
//! the account is a Confluence administrator), the Extender plugin's endpoint (a 404 unless
//! installed), and the remote API's `getSpacePermissionSets` (administrators only, and only
//! when the remote API is on). The first space tries them in that order; an API that fails
//! before it ever answered is remembered as unavailable — said once in the log, with what to
//! do — and not asked again; an API that answered before and then fails fails only that
//! space. When no API answers, the space's documents are visible to nobody: reported once,
//! never a crash (Elastic's connector stops the sync, elastic/connectors#3669).

use std::sync::atomic::{AtomicU8, Ordering};

use crate::confluence::{ConfluenceClient, ConfluenceError, Flavour, Space, Viewer};

use super::notices::Notices;

/// A Server/DC space-permission API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    /// `rest/api/space/{key}/permissions` (Data Center 9.1+).
    Rest,
    /// The Extender plugin.
    Extender,
    /// JSON-RPC `getSpacePermissionSets`.
    JsonRpc,
}

impl Api {
    const ALL: [Api; 3] = [Api::Rest, Api::Extender, Api::JsonRpc];

    fn name(self) -> &'static str {
        match self {
            Api::Rest => "the space permissions REST API (rest/api/space/{key}/permissions)",
            Api::Extender => "the Extender plugin (rest/extender/1.0)",
            Api::JsonRpc => "the remote API's getSpacePermissionSets (rpc/json-rpc)",
        }
    }

    /// What to do when this API refuses, in the user's words.
    fn advice(self, error: &ConfluenceError) -> &'static str {
        match (self, error.status()) {
            (Api::Rest, Some(500)) => {
                "it needs an administrator account: use a Confluence administrator's credentials"
            }
            (Api::Rest, Some(404)) => "it exists from Data Center 9.1",
            (Api::Extender, Some(404)) => "the plugin is not installed",
            (Api::JsonRpc, _) => {
                "it needs an administrator account and the remote API enabled (and WebSudo must not intercept it)"
            }
            _ => "check the account's permissions",
        }
    }
}

const UNKNOWN: u8 = 0;
const WORKS: u8 = 1;
const UNAVAILABLE: u8 = 2;

/// Remembers which Server/DC API answers on this site.
#[derive(Debug, Default)]
pub struct SpacePermissions {
    states: [AtomicU8; 3],
    /// Held while an API is tried for the first time, so that the spaces crawled at once do
    /// not all knock on a door that turns out to be shut.
    probing: tokio::sync::Mutex<()>,
}

/// Why a space's viewers could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl SpacePermissions {
    fn state(&self, api: Api) -> &AtomicU8 {
        &self.states[api as usize]
    }

    /// Who may view `space`.
    pub async fn viewers(
        &self,
        client: &ConfluenceClient,
        space: &Space,
        notices: &Notices,
    ) -> Result<Vec<Viewer>, Unreadable> {
        if client.flavour() == Flavour::Cloud {
            return client.space_viewers_cloud(&space.id).await.map_err(|e| {
                notices.warn_once(&format!("cloud-space-permissions-{:?}", e.status()), || {
                    format!(
                        "cannot read space permissions (first: space {}): {e}; the documents of such spaces are visible to nobody",
                        space.key
                    )
                });
                Unreadable(e.to_string())
            });
        }
        let mut tried = Vec::new();
        for api in Api::ALL {
            if api == Api::Rest && client.flavour() != Flavour::DataCenter {
                continue;
            }
            let state = self.state(api);
            let _probe = match state.load(Ordering::Acquire) {
                UNAVAILABLE => continue,
                UNKNOWN => {
                    let guard = self.probing.lock().await;
                    // Another space may have settled it meanwhile.
                    if state.load(Ordering::Acquire) == UNAVAILABLE {
                        continue;
                    }
                    Some(guard)
                }
                _ => None,
            };
            let answer = match api {
                Api::Rest => client.space_viewers_rest(&space.key).await,
                Api::Extender => client.space_viewers_extender(&space.key).await,
                Api::JsonRpc => client.space_viewers_json_rpc(&space.key).await,
            };
            match answer {
                Ok(viewers) => {
                    state.store(WORKS, Ordering::Release);
                    return Ok(viewers);
                }
                Err(error) => {
                    let never_answered = state
                        .compare_exchange(UNKNOWN, UNAVAILABLE, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok();
                    if never_answered {
                        notices.warn_once(&format!("space-permissions-{api:?}"), || {
                            format!(
                                "cannot use {} ({error}): {}; trying the next way",
                                api.name(),
                                api.advice(&error)
                            )
                        });
                        tried.push(format!("{}: {error}", api.name()));
                        continue;
                    }
                    notices.warn_once(&format!("space-permissions-{api:?}-{:?}", error.status()), || {
                        format!(
                            "{} failed for space {} ({error}); the documents of spaces it fails for are visible to nobody",
                            api.name(),
                            space.key
                        )
                    });
                    return Err(Unreadable(error.to_string()));
                }
            }
        }
        notices.warn_once("space-permissions-none", || {
            format!(
                "no way to read space permissions on this server ({}): every document is visible to nobody. \
                 Use a Confluence administrator's credentials (Data Center 9.1+, or with the remote API on), \
                 or install the Extender plugin",
                if tried.is_empty() { "every API failed before".to_string() } else { tried.join("; ") }
            )
        });
        Err(Unreadable(format!("no API answered for space {}", space.key)))
    }
}
