//! What can go wrong talking to Confluence, said so that the user knows what to fix.
//!
//! Every variant names the URL (scheme, host and path only: query strings may carry cursors
//! or signed media tokens, so they are never shown) and, for HTTP failures, the status and the
//! likely fix. Secrets never reach this type: the client only ever stores the URL and a
//! short excerpt of the response body.

use std::time::Duration;

/// A URL as shown in errors and logs: no user info, no query, no fragment.
pub(super) fn display_url(url: &url::Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    shown
}

/// An error from the Confluence client.
#[derive(Debug, thiserror::Error)]
pub enum ConfluenceError {
    /// The options cannot produce a working client.
    #[error("invalid Confluence setting `{field}`: {detail}")]
    Config {
        /// The setting at fault (`confluence_url`, `ssl_ca`, `proxy`, ...).
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// Confluence answered with an error status.
    #[error("{status} from {url}: {hint}{}", excerpt_suffix(.excerpt))]
    Status {
        /// The request URL (without query).
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The likely fix, in the user's words.
        hint: String,
        /// The start of the response body (Confluence's own message).
        excerpt: String,
    },
    /// The connection failed (DNS, refused, reset, TLS) or the response body broke off.
    #[error("cannot reach {url}: {detail}; {hint}")]
    Network {
        /// The request URL (without query).
        url: String,
        /// The transport error.
        detail: String,
        /// The likely fix.
        hint: &'static str,
    },
    /// The TLS handshake failed for a reason trying again cannot fix (an untrusted, expired
    /// or misnamed certificate, a server that does not speak TLS); never retried.
    #[error("TLS with {url} failed: {detail}; {hint}")]
    Tls {
        /// The request URL (without query).
        url: String,
        /// The TLS error.
        detail: String,
        /// The likely fix for this case.
        hint: String,
    },
    /// No answer within the connect or read timeout.
    #[error("timed out waiting for {url}: the server is slow or unreachable; raise read_timeout / connect_timeout or check the network")]
    Timeout {
        /// The request URL (without query).
        url: String,
    },
    /// The response body is not the JSON we expect.
    #[error("unexpected response from {url}: {detail}")]
    Decode {
        /// The request URL (without query).
        url: String,
        /// The serde error, with the line/column or field it stopped at.
        detail: String,
    },
    /// The response body ended before the JSON did (a dropped connection); retried.
    #[error("truncated response from {url}: {detail}")]
    Truncated {
        /// The request URL (without query).
        url: String,
        /// The serde or transport error.
        detail: String,
    },
    /// One item of a listing page could not be read; the rest of the page was kept.
    #[error("item {index}{} of the page from {url} is malformed: {detail}", id_part(.id.as_deref()))]
    Item {
        /// The request URL (without query).
        url: String,
        /// Position of the item in the page.
        index: usize,
        /// Its `id`, when one could be read: what an operator looks up.
        id: Option<String>,
        /// The serde error.
        detail: String,
    },
    /// Pagination did not make progress (a repeated cursor or start, only repeated items).
    #[error("pagination of {url} does not advance: {detail}; stopping rather than looping or losing data")]
    Pagination {
        /// The request URL (without query).
        url: String,
        /// What repeated.
        detail: String,
    },
    /// A redirect could not be followed.
    #[error("bad redirect from {url}: {detail}")]
    Redirect {
        /// The request URL (without query).
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A download passed its byte limit; the transfer was aborted.
    #[error("attachment at {url} is larger than the limit of {limit} bytes; raise the attachment size limit to index it")]
    TooLarge {
        /// The download URL (without query).
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A download could not be kept in its temporary file (a full disk, an unwritable
    /// `TMPDIR`); not retried.
    #[error("cannot keep the attachment from {url} in a temporary file: {detail}; free space there or set TMPDIR to a writable volume with room")]
    Spool {
        /// The download URL (without query).
        url: String,
        /// The I/O error and the directory.
        detail: String,
    },
    /// A transient failure persisted through every retry.
    #[error("gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// Attempts made (first try plus retries).
        attempts: u32,
        /// The last failure.
        last: Box<ConfluenceError>,
    },
    /// A request was not sent (again) because shutdown was requested while it waited: for
    /// a retry's backoff (`last`: the failure it was for) or a rate-limit pause.
    #[error("{} not sent: shutdown was requested", match last { Some(last) => format!("{last}; the retry was"), None => format!("request to {url}") })]
    Stopped {
        /// The request URL (without query).
        url: String,
        /// The failure the retry was for.
        last: Option<Box<ConfluenceError>>,
    },
    /// The cloud id of the site could not be discovered for the API gateway.
    #[error("cannot discover the cloud id from {url}: {detail}; set cloud_id in the configuration")]
    CloudId {
        /// The `_edge/tenant_info` URL.
        url: String,
        /// Why.
        detail: String,
    },
}

fn excerpt_suffix(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!(" (Confluence said: {excerpt})")
    }
}

impl ConfluenceError {
    /// The HTTP status, when Confluence answered (looks through `RetriesExhausted`).
    pub fn status(&self) -> Option<u16> {
        match self {
            ConfluenceError::Status { status, .. } => Some(*status),
            ConfluenceError::RetriesExhausted { last, .. } => last.status(),
            ConfluenceError::Stopped { last, .. } => last.as_ref().and_then(|last| last.status()),
            _ => None,
        }
    }

    /// The error without its generic advice: `404 from {url}` for a status (with
    /// Confluence's own message), the full text otherwise. For callers that give their own
    /// advice for the case.
    pub(crate) fn brief(&self) -> String {
        match self {
            ConfluenceError::Status { url, status, excerpt, .. } => {
                format!("{status} from {url}{}", excerpt_suffix(excerpt))
            }
            ConfluenceError::RetriesExhausted { last, .. } => last.brief(),
            other => other.to_string(),
        }
    }

    /// True for a 404: the content is gone (deleted, trashed, or never visible).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Builds a status error with the hint for the status.
    pub(crate) fn from_status(url: &url::Url, status: u16, body: &[u8], auth_hint: &str) -> ConfluenceError {
        let hint = match status {
            401 => auth_hint.to_string(),
            403 => "the account lacks permission for this resource: grant it access to the space (or site/admin permission for this API), or check the token's scopes".to_string(),
            404 => "not found: check confluence_url (Cloud sites end in .atlassian.net; Server/DC may need a context path such as /confluence), the space key, or the content was deleted".to_string(),
            410 => "this API has been removed by Atlassian for this authentication method".to_string(),
            429 => "rate limited by Confluence; lower requests_per_second or raise retry_count".to_string(),
            400 => "Confluence rejected the request (check the CQL of sync rules and the space keys)".to_string(),
            500..=599 => "Confluence had a server error; retry later or check its logs".to_string(),
            _ => "unexpected status".to_string(),
        };
        ConfluenceError::Status { url: display_url(url), status, hint, excerpt: body_excerpt(body) }
    }

    /// A transport error: a refused TLS handshake becomes [`ConfluenceError::Tls`] with the
    /// hint for its case (`ssl_ca_set`: whether `ssl_ca` is in use); anything else is a
    /// network error, retried.
    pub(crate) fn from_transport(
        url: &url::Url,
        error: &reqwest::Error,
        ssl_ca_set: bool,
    ) -> ConfluenceError {
        if error.is_timeout() {
            return ConfluenceError::Timeout { url: display_url(url) };
        }
        let detail = error_chain(error);
        if let Some(hint) = crate::tls::refusal(error, &TLS_SETTINGS, ssl_ca_set) {
            return ConfluenceError::Tls { url: display_url(url), detail, hint };
        }
        let hint = if error.is_connect() {
            "check confluence_url, DNS, firewalls and the proxy setting"
        } else {
            "the connection broke; it is retried"
        };
        ConfluenceError::Network { url: display_url(url), detail, hint }
    }

    /// True when trying again may help (used by the retry loop).
    pub(crate) fn is_transient(&self) -> bool {
        matches!(
            self,
            ConfluenceError::Network { .. }
                | ConfluenceError::Timeout { .. }
                | ConfluenceError::Truncated { .. }
        )
    }
}

/// The settings a certificate hint names on the Confluence side.
const TLS_SETTINGS: crate::tls::Settings = crate::tls::Settings {
    ca: "ssl_ca",
    enable: "ssl_enabled: true",
    url: "confluence_url",
    ca_form: "(PEM text or a file path)",
    plain_example: "http://host:8090 is plain HTTP",
};

/// The error and its sources, joined, without URLs (reqwest puts the full URL, query
/// included, into its Display).
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(inner) = source {
        parts.push(inner.to_string());
        source = inner.source();
    }
    if parts.is_empty() {
        let kind = if error.is_body() || error.is_decode() {
            "the response body broke off"
        } else if error.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        parts.push(kind.to_string());
    }
    parts.join(": ")
}

/// What Confluence said, in at most 200 characters on one line: the message of a JSON error
/// body (`message`, `errorMessage`, `errors[0]`), never JSON cut in the middle; the start of
/// any other body (an HTML page), marked with `…` where it was cut.
fn body_excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => {
            let said =
                ["/message", "/errorMessage", "/errors/0/title", "/errors/0/message", "/errors/0", "/reason"]
                    .iter()
                    .find_map(|pointer| {
                        json.pointer(pointer).and_then(|v| v.as_str()).filter(|s| !s.trim().is_empty())
                    });
            match said {
                Some(message) => message.to_string(),
                None => return String::new(),
            }
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= MAX {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(MAX - 1).collect();
    cut.push('…');
    cut
}

/// A wait shown to humans, e.g. in logs of retries.
pub(crate) fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

/// ` (id 123)` for an item whose id could be read.
fn id_part(id: Option<&str>) -> String {
    id.map(|id| format!(" (id {id})")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_body_is_shown_by_its_message_never_cut_in_the_middle() {
        let long = format!(
            r#"{{"statusCode":404,"data":{{"authorized":false,"valid":true,"errors":[]}},"message":"No space with key : DEV","reason":"Not Found","padding":"{}"}}"#,
            "x".repeat(300)
        );
        assert_eq!(body_excerpt(long.as_bytes()), "No space with key : DEV");
        assert_eq!(body_excerpt(br#"{"errors":[{"title":"Invalid cursor"}]}"#), "Invalid cursor");
        assert_eq!(body_excerpt(b"{}"), "");
        let html = format!("<html><body>{}</body></html>", "word ".repeat(100));
        let excerpt = body_excerpt(html.as_bytes());
        assert_eq!(excerpt.chars().count(), 200);
        assert!(excerpt.ends_with('…'), "{excerpt}");
    }

    #[test]
    fn status_error_names_url_status_and_fix_without_query() {
        let url =
            url::Url::parse("https://me:pw@x.atlassian.net/wiki/api/v2/spaces?cursor=abc&token=zzz").unwrap();
        let error = ConfluenceError::from_status(
            &url,
            401,
            b"",
            "check account_email and api_token (API tokens expire after at most a year)",
        );
        let shown = error.to_string();
        assert_eq!(
            shown,
            "401 from https://x.atlassian.net/wiki/api/v2/spaces: check account_email and api_token (API tokens expire after at most a year)"
        );
        assert!(!shown.contains("zzz") && !shown.contains("pw"));
        assert_eq!(error.status(), Some(401));
        let forbidden = ConfluenceError::from_status(&url, 403, b"{\"message\": \"no\"}", "");
        assert!(forbidden.to_string().contains("permission"));
        assert!(forbidden.to_string().contains("Confluence said"));
        let gone = ConfluenceError::RetriesExhausted {
            attempts: 4,
            last: Box::new(ConfluenceError::from_status(&url, 404, b"", "")),
        };
        assert!(gone.is_not_found());
    }
}
