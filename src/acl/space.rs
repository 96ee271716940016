//! Which API says who may view a space on this site, found by trying them in order.
//!
//! Cloud has one (v2 space permissions). Server and Data Center may have up to three, each
//! missing or refused on some installations: the REST API of Data Center 9.1+ (a 500 unless
//! the account is a Confluence administrator, CONFSERVER-99908), the Extender plugin's
//! endpoint (a 404 unless installed), and the remote API's `getSpacePermissionSets`
//! (administrators only, only when the remote API is on, and behind WebSudo an HTML page).
//!
//! The first space tries them in that order. Only an answer that says an API *cannot be used
//! here* moves on to the next one, which is then remembered for the sync and said once in
//! the log with what to do: 404, 405 and 501 (not there), 400 and 410, 401 and 403 (refused
//! to this account), something other than the JSON asked for (an HTML login or WebSudo page,
//! a remote-API error), and the REST API's 500 (its answer to a non-administrator). Any
//! other failure — a 502, a 503, a timeout, rate limiting after every retry — is taken as
//! transient: that space alone is visible to nobody, the API is asked again for the next
//! space, and each such cause is said once. An API that answered before and then refuses
//! fails only that space too. When no API answers, documents are visible to nobody:
//! reported once, never a crash (Elastic's connector stops the sync, elastic/connectors#3669).

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

    /// Whether `error` says this API cannot be used on this site, and if so what to do,
    /// in the user's words; `None` for a failure that may pass (it fails one space only).
    /// True when the refusal says this server does not have the API at all.
    fn absent(self, error: &ConfluenceError) -> bool {
        matches!(error.status(), Some(404 | 405 | 501))
    }

    fn refusal(self, error: &ConfluenceError) -> Option<&'static str> {
        if let ConfluenceError::Decode { .. } = error {
            return Some(match self {
                Api::JsonRpc => {
                    "it needs an administrator account and the remote API enabled (an HTML answer is WebSudo's \
                     or a login page: exempt the remote API from WebSudo)"
                }
                _ => "it answers with something other than the JSON it documents (an HTML login or WebSudo page?)",
            });
        }
        match (self, error.status()?) {
            (Api::Rest, 500) => Some(
                "it needs an administrator account: Data Center answers 500 to anyone else (CONFSERVER-99908); \
                 use a Confluence administrator's credentials",
            ),
            (Api::Rest, 404 | 405 | 501) => Some("it exists from Data Center 9.1"),
            (Api::Extender, 404 | 405 | 501) => Some("the plugin is not installed"),
            (Api::JsonRpc, 404 | 405 | 501) => Some("the remote API is not available on this server"),
            (_, 401 | 403) => Some("this account may not use it: use a Confluence administrator's credentials"),
            (_, 400 | 410) => Some("this server does not accept the request"),
            _ => None,
        }
    }
}

/// A short name for what went wrong, so that each cause is said once.
fn cause(error: &ConfluenceError) -> &'static str {
    match error {
        ConfluenceError::RetriesExhausted { last, .. } => cause(last),
        ConfluenceError::Status { .. } => match error.status() {
            Some(429) => "rate-limited",
            Some(500..=599) => "server-error",
            _ => "status",
        },
        ConfluenceError::Network { .. } => "network",
        ConfluenceError::Tls { .. } => "tls",
        ConfluenceError::Timeout { .. } => "timeout",
        ConfluenceError::Truncated { .. } => "truncated",
        _ => "other",
    }
}

const UNKNOWN: u8 = 0;
const WORKS: u8 = 1;
const UNAVAILABLE: u8 = 2;

/// Remembers which Server/DC API answers on this site.
#[derive(Debug, Default)]
pub(super) struct SpacePermissions {
    states: [AtomicU8; 3],
    /// Held while an API is tried for the first time, so that the spaces crawled at once do
    /// not all knock on a door that turns out to be shut.
    probing: tokio::sync::Mutex<()>,
}

/// Why a space's viewers could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unreadable(pub String);

impl SpacePermissions {
    fn state(&self, api: Api) -> &AtomicU8 {
        &self.states[api as usize]
    }

    /// Who may view `space`.
    pub(super) async fn viewers(
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
            let error = match answer {
                Ok(viewers) => {
                    state.store(WORKS, Ordering::Release);
                    return Ok(viewers);
                }
                Err(error) => error,
            };
            let refusal = api.refusal(&error);
            if let Some(advice) = refusal {
                let never_answered =
                    state.compare_exchange(UNKNOWN, UNAVAILABLE, Ordering::AcqRel, Ordering::Acquire).is_ok();
                if never_answered {
                    // An API this server does not have is the expected case on many servers:
                    // said at INFO, with the status alone (the generic advice of a 404 does not
                    // apply to a probe).
                    let key = format!("space-permissions-{api:?}");
                    let message = || {
                        format!(
                            "cannot use {} ({}): {advice}; trying the next way",
                            api.name(),
                            error.brief()
                        )
                    };
                    if api.absent(&error) {
                        notices.inform_once(&key, message);
                    } else {
                        notices.warn_once(&key, message);
                    }
                    tried.push(format!("{}: {error}", api.name()));
                    continue;
                }
            }
            notices.warn_once(&format!("space-permissions-{api:?}-{}", cause(&error)), || {
                format!(
                    "{} failed for space {} ({error}); the documents of spaces it fails for this way are visible to \
                     nobody until a later sync reads their permissions",
                    api.name(),
                    space.key
                )
            });
            return Err(Unreadable(error.to_string()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::client::tests::test_client;
    use crate::confluence::test_server::{json as reply, serve, Log};
    use axum::response::Response;
    use serde_json::json as j;

    fn space(key: &str) -> Space {
        Space::bare(key, key)
    }

    fn rest_viewers() -> Response {
        reply(
            200,
            j!([{"operation": {"targetType": "space", "operationKey": "read"}, "subject": {"type": "group", "name": "dev"}}]),
            &[],
        )
    }

    fn count(log: &Log, prefix: &str) -> usize {
        log.lock().unwrap().iter().filter(|s| s.target.starts_with(prefix)).count()
    }

    async fn viewers_of(
        permissions: &SpacePermissions,
        client: &ConfluenceClient,
        key: &str,
    ) -> Result<usize, Unreadable> {
        permissions.viewers(client, &space(key), &Notices::default()).await.map(|v| v.len())
    }

    #[tokio::test]
    async fn a_transient_failure_closes_one_space_and_the_api_is_asked_again() {
        // The first space's REST call fails with 502 through every retry; the others answer.
        let (server, log) = serve(|seen, _| {
            if seen.target.starts_with("/rest/api/space/A/") {
                return reply(502, j!({}), &[]);
            }
            if seen.target.contains("/permissions") {
                return if seen.target.ends_with("/anonymous") {
                    reply(200, j!([]), &[])
                } else {
                    rest_viewers()
                };
            }
            panic!("no other API may be asked: {}", seen.target)
        })
        .await;
        let client = test_client(&server.origin, Flavour::DataCenter).await;
        let permissions = SpacePermissions::default();
        assert!(viewers_of(&permissions, &client, "A").await.is_err());
        assert_eq!(viewers_of(&permissions, &client, "B").await, Ok(1));
        assert_eq!(viewers_of(&permissions, &client, "C").await, Ok(1));
        assert_eq!(count(&log, "/rest/extender") + count(&log, "/rpc"), 0);
        // An API that answered and then fails for one space fails that space only.
        assert!(viewers_of(&permissions, &client, "A").await.is_err());
        assert_eq!(viewers_of(&permissions, &client, "D").await, Ok(1));
    }

    #[tokio::test]
    async fn refusals_move_on_to_the_next_api_once_for_the_whole_sync() {
        // Not an administrator: REST answers 500; no Extender; the remote API is behind
        // WebSudo (an HTML page). Nothing can be read, and each API is asked once.
        let (server, log) = serve(|seen, _| {
            if seen.target.starts_with("/rest/api/space/") {
                return reply(500, j!({"message": "Failed to read space permissions"}), &[]);
            }
            if seen.target.starts_with("/rest/extender/") {
                return reply(404, j!({}), &[]);
            }
            Response::builder()
                .status(200)
                .header("content-type", "text/html")
                .body(axum::body::Body::from("<html><body>Administrator access</body></html>"))
                .unwrap()
        })
        .await;
        let client = test_client(&server.origin, Flavour::DataCenter).await;
        let permissions = SpacePermissions::default();
        for key in ["A", "B", "C"] {
            assert!(viewers_of(&permissions, &client, key).await.is_err());
        }
        assert_eq!(
            count(&log, "/rest/api/space/"),
            4,
            "the first try and its retries, for the first space only"
        );
        assert_eq!(count(&log, "/rest/extender/"), 1);
        assert_eq!(count(&log, "/rpc/json-rpc/"), 1);
        // A 404 of the REST API (before 9.1) moves on too; the remote API then answers.
        let (server, log) = serve(|seen, _| {
            if seen.target.starts_with("/rest/") {
                return reply(404, j!({}), &[]);
            }
            reply(
                200,
                j!({"jsonrpc": "2.0", "id": 1, "result": [{"type": "VIEWSPACE", "spacePermissions": [
                    {"type": "VIEWSPACE", "userName": null, "groupName": "dev"}]}]}),
                &[],
            )
        })
        .await;
        let client = test_client(&server.origin, Flavour::DataCenter).await;
        let permissions = SpacePermissions::default();
        let captured = crate::logging::Captured::start();
        for key in ["A", "B"] {
            assert_eq!(viewers_of(&permissions, &client, key).await, Ok(1));
        }
        // APIs this server lacks are expected: INFO, without the advice of a 404 for content.
        let events = captured.events();
        let fallbacks: Vec<_> = events
            .iter()
            .filter(|e| e["message"].as_str().is_some_and(|m| m.contains("trying the next way")))
            .collect();
        assert_eq!(fallbacks.len(), 2, "{events:?}");
        for event in fallbacks {
            assert_eq!(event["log.level"], "info", "{event}");
            assert!(!event["message"].as_str().unwrap_or("").contains("check confluence_url"), "{event}");
        }
        assert_eq!(
            (count(&log, "/rest/api/"), count(&log, "/rest/extender/"), count(&log, "/rpc/")),
            (1, 1, 2)
        );
    }
}
