//! The HTTP side: two listeners on 127.0.0.1 (the site, and the media host Cloud redirects
//! attachment downloads to) and the path every request takes — strip `/wiki` or the context
//! path, find the route, apply injected faults and latency, check auth, answer from a read
//! view of the site, spoil the body if a fault says so, and count the request.

use std::sync::{Arc, RwLock};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::attachment::file_bytes;
use super::auth::authenticate;
use super::config::{Flavour, SimConfig};
use super::faults::{FaultKind, Faults, RetryAfter};
use super::fields::Render;
use super::media::MediaTokens;
use super::model::Site;
use super::reply::{Reply, ReplyBody};
use super::request_log::{FileInFlight, RequestLog};
use super::routes::{self, Call, Route};
use super::search::SearchIndex;

/// State shared by the listeners, the in-process handles and the admin route.
pub struct Shared {
    /// The configuration the simulator was started with.
    pub config: SimConfig,
    /// The site.
    pub site: RwLock<Site>,
    /// The search index (cache and lag).
    pub search: SearchIndex,
    /// Request counts.
    pub log: RequestLog,
    /// Injected faults.
    pub faults: Faults,
    /// Route table of the flavour.
    pub routes: Vec<Route>,
    /// `http://127.0.0.1:P`
    pub origin: String,
    /// `http://127.0.0.1:M` (media host).
    pub media_origin: String,
    /// `/wiki` (Cloud), the context path or `""` (Server/DC).
    pub context: String,
    /// Media download tokens.
    pub media: MediaTokens,
}

impl Shared {
    /// Absolute base URL of the REST API (`_links.base`).
    pub fn base(&self) -> String {
        format!("{}{}", self.origin, self.context)
    }
}

/// The running listeners; dropping this stops them.
pub struct Listeners {
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Listeners {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Binds both listeners and starts serving `site`.
pub async fn start(config: SimConfig, site: Site) -> anyhow::Result<(Arc<Shared>, Listeners)> {
    let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
    let media_listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let origin = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let media_origin = format!("http://127.0.0.1:{}", media_listener.local_addr()?.port());
    let context = match config.flavour {
        Flavour::Cloud => "/wiki".to_string(),
        _ => config.normalized_context_path(),
    };
    let shared = Arc::new(Shared {
        search: SearchIndex::new(config.search_lag),
        routes: routes::table(config.flavour),
        config,
        site: RwLock::new(site),
        log: RequestLog::default(),
        faults: Faults::default(),
        origin,
        media_origin,
        context,
        media: MediaTokens::default(),
    });
    let (shutdown, _) = watch::channel(false);
    let main_app = {
        let shared = shared.clone();
        Router::new().fallback(move |request: Request| dispatch(shared.clone(), request))
    };
    let media_app = {
        let shared = shared.clone();
        Router::new().fallback(move |request: Request| media(shared.clone(), request))
    };
    let mut tasks = Vec::new();
    for (listener, app) in [(listener, main_app), (media_listener, media_app)] {
        let mut stop = shutdown.subscribe();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                })
                .await;
        }));
    }
    Ok((shared, Listeners { shutdown, tasks }))
}

const MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;

async fn dispatch(shared: Arc<Shared>, request: Request) -> Response {
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let authorization =
        request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = axum::body::to_bytes(request.into_body(), MAX_REQUEST_BODY).await.unwrap_or_default();
    let flavour = shared.config.flavour;

    if let Some(admin_path) = path.strip_prefix("/__sim/") {
        let reply = super::admin::handle(&shared, &method, admin_path, &body);
        shared.log.record("/__sim/admin", reply.status);
        return into_response(reply, None).await;
    }
    if flavour == Flavour::Cloud && path == "/_edge/tenant_info" {
        let reply = Reply::json(
            serde_json::json!({"cloudId": super::generate::secret(shared.config.seed, "cloud-id"), "activationId": "sim"}),
        );
        shared.log.record("/_edge/tenant_info", 200);
        return into_response(reply, None).await;
    }
    let prefix = format!("{}/", shared.context);
    let relative = path.strip_prefix(prefix.as_str()).map(str::to_string);
    let found = relative.as_deref().and_then(|r| routes::find(&shared.routes, &method, r));
    let Some((route, captures)) = found else {
        let reply = not_found_reply(flavour, &path);
        shared.log.record("(unmatched)", reply.status);
        return into_response(reply, None).await;
    };
    let template = format!("{}/{}", if flavour == Flavour::Cloud { "/wiki" } else { "" }, route.template);

    let mut body_fault = None;
    for fault in shared.faults.decide(&template, &query) {
        match fault {
            FaultKind::Latency { fixed, .. } => tokio::time::sleep(fixed).await,
            FaultKind::DropMidBody
            | FaultKind::TruncatedJson
            | FaultKind::MalformedItem
            | FaultKind::SlowBody { .. } => {
                body_fault = Some(fault);
            }
            status_fault => {
                let reply = fault_reply(status_fault, flavour);
                shared.log.record(&template, reply.status);
                return into_response(reply, None).await;
            }
        }
    }
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }

    let reply = {
        let site = match shared.site.read() {
            Ok(site) => site,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Personal access tokens exist from Data Center 7.9 on.
        let pat_unsupported = shared.config.dc_version < (7, 9)
            && authorization
                .as_deref()
                .is_some_and(|h| h.trim_start().to_ascii_lowercase().starts_with("bearer"));
        let caller = if pat_unsupported {
            Err(super::auth::AuthFailure::Invalid)
        } else {
            authenticate(&site, flavour, authorization.as_deref())
        };
        match caller {
            Err(_) => {
                let mut reply =
                    Reply::v1_error(401, "This request requires authentication; check the credentials");
                if flavour == Flavour::Cloud && route.template.starts_with("api/v2") {
                    reply = Reply::v2_error(401, "Authentication failed; check the e-mail and API token");
                }
                reply.with_header("WWW-Authenticate", "Basic realm=\"Protected\"")
            }
            Ok(caller) => {
                let base = shared.base();
                let relative_path = if query.is_empty() {
                    format!("/{}", relative.as_deref().unwrap_or(""))
                } else {
                    format!("/{}?{query}", relative.as_deref().unwrap_or(""))
                };
                let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let call = Call {
                    site: &site,
                    config: &shared.config,
                    search: &shared.search,
                    render: Render { site: &site, base: &base, context: &shared.context },
                    captures,
                    params,
                    relative_path,
                    caller,
                    media: &shared.media,
                    media_origin: &shared.media_origin,
                    body: body.to_vec(),
                };
                let reply = (route.handler)(&call);
                // Confluence names the authenticated caller in a response header.
                match (flavour, site.users.get(caller as usize)) {
                    (Flavour::Cloud, Some(user)) => {
                        reply.with_header("X-AACCOUNTID", user.account_id.clone())
                    }
                    (_, Some(user)) => reply.with_header("X-AUSERNAME", user.username.clone()),
                    (_, None) => reply,
                }
            }
        }
    };
    shared.log.record(&template, reply.status);
    into_response(reply, body_fault).await.counted(&shared.log, &template)
}

fn not_found_reply(flavour: Flavour, path: &str) -> Reply {
    if flavour == Flavour::Cloud && path.contains("/api/v2/") {
        Reply::v2_error(404, format!("No route for {path}"))
    } else {
        Reply::v1_error(404, format!("null for uri: {path}"))
    }
}

fn retry_after_value(retry_after: RetryAfter) -> Option<String> {
    match retry_after {
        RetryAfter::Seconds(seconds) => Some(seconds.to_string()),
        RetryAfter::HttpDate(after) => {
            let at = chrono::Utc::now() + chrono::Duration::from_std(after).unwrap_or_default();
            Some(at.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        }
        RetryAfter::Absent => None,
    }
}

/// The reply a status fault produces, with the headers each product sends.
pub fn fault_reply(fault: FaultKind, flavour: Flavour) -> Reply {
    match fault {
        FaultKind::TooManyRequests { retry_after } => {
            let mut reply = Reply::v1_error(429, "Rate limit exceeded. Try again later.");
            if let Some(value) = retry_after_value(retry_after) {
                reply = reply.with_header("Retry-After", value);
            }
            if flavour == Flavour::Cloud {
                let reset = (chrono::Utc::now() + chrono::Duration::seconds(60)).to_rfc3339();
                reply
                    .with_header("X-RateLimit-Limit", "100")
                    .with_header("X-RateLimit-Remaining", "0")
                    .with_header("X-RateLimit-Reset", reset)
                    .with_header("RateLimit-Reason", "confluence-quota-tenant-based")
            } else {
                reply
                    .with_header("X-RateLimit-Limit", "20")
                    .with_header("X-RateLimit-Remaining", "0")
                    .with_header("X-RateLimit-Interval-Seconds", "1")
                    .with_header("X-RateLimit-FillRate", "10")
            }
        }
        FaultKind::Unavailable { retry_after } => {
            let reply = Reply::v1_error(503, "Service Unavailable");
            match retry_after_value(retry_after) {
                Some(value) => reply.with_header("Retry-After", value),
                None => reply,
            }
        }
        FaultKind::RateLimitForbidden => Reply::v1_error(
            403,
            "Rate limit exceeded: too many requests from this user. Please try again later.",
        )
        .with_header("X-RateLimit-Remaining", "0")
        .with_header("Retry-After", "1"),
        FaultKind::Status(status) => Reply::v1_error(status, super::reply::reason(status)),
        other => Reply::v1_error(500, format!("unexpected fault {other:?}")),
    }
}

/// [`FaultKind::MalformedItem`]: the first result of a listing gets a title that is not a
/// string.
fn spoil_first_result(value: &mut serde_json::Value) {
    if let Some(first) = value.get_mut("results").and_then(|r| r.as_array_mut()).and_then(|r| r.first_mut()) {
        if let Some(item) = first.as_object_mut() {
            item.insert("title".into(), serde_json::json!({"spoiled": true}));
        }
    }
}

/// Marks a response whose body is a file (an attachment's bytes), for [`Counted`].
#[derive(Debug, Clone, Copy)]
struct FileBody;

/// Counting the body bytes a response actually hands to the connection
/// ([`RequestLog::served_bytes`]): a client that stops reading early stops the count. A
/// file's body counts as in flight ([`RequestLog::peak_files_in_flight`]) from the response
/// until its last byte is handed out, or the connection ends.
trait Counted {
    fn counted(self, log: &RequestLog, route: &str) -> Response;
}

impl Counted for Response {
    fn counted(self, log: &RequestLog, route: &str) -> Response {
        use axum::body::HttpBody;
        use futures::StreamExt;
        let (mut parts, body) = self.into_parts();
        // A length known before stays announced (a stream alone would go chunked).
        if let Some(length) = body.size_hint().exact() {
            parts.headers.entry(header::CONTENT_LENGTH).or_insert(HeaderValue::from(length));
        }
        let mut in_flight = parts.extensions.get::<FileBody>().map(|_| log.file_started());
        let length: Option<u64> =
            parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
        let mut handed = 0u64;
        let (log, route) = (log.clone(), route.to_string());
        let stream = body.into_data_stream().map(move |chunk| {
            if let Ok(bytes) = &chunk {
                log.served(&route, bytes.len() as u64);
                handed += bytes.len() as u64;
                if Some(handed) == length {
                    in_flight.as_mut().map(FileInFlight::end);
                }
            }
            chunk
        });
        Response::from_parts(parts, Body::from_stream(stream))
    }
}

/// Bytes of a file per chunk of its body.
const FILE_CHUNK: usize = 64 * 1024;

async fn into_response(reply: Reply, body_fault: Option<FaultKind>) -> Response {
    let is_file = matches!(reply.body, ReplyBody::Bytes(..));
    let (bytes, content_type) = match reply.body {
        ReplyBody::Json(mut value) => {
            if body_fault == Some(FaultKind::MalformedItem) {
                spoil_first_result(&mut value);
            }
            (
                serde_json::to_vec(&value).unwrap_or_default(),
                Some("application/json;charset=UTF-8".to_string()),
            )
        }
        ReplyBody::Bytes(bytes, content_type) => (bytes, Some(content_type)),
        ReplyBody::Empty => (Vec::new(), None),
    };
    let total = bytes.len();
    let body = match body_fault {
        Some(FaultKind::DropMidBody) => {
            let half = Bytes::copy_from_slice(&bytes[..total / 2]);
            let stream = async_stream::stream! {
                yield Ok::<Bytes, std::io::Error>(half);
                // Let the head and the first half reach the client before the drop.
                tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                yield Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "simulated connection drop",
                ));
            };
            Body::from_stream(stream)
        }
        Some(FaultKind::TruncatedJson) => Body::from(bytes[..total / 2].to_vec()),
        Some(FaultKind::SlowBody { chunk, delay }) => {
            let chunks: Vec<Bytes> = bytes.chunks(chunk.max(1)).map(Bytes::copy_from_slice).collect();
            let stream = async_stream::stream! {
                let start = tokio::time::Instant::now();
                for (i, piece) in chunks.into_iter().enumerate() {
                    tokio::time::sleep_until(start + delay * i as u32).await;
                    yield Ok::<Bytes, std::io::Error>(piece);
                }
            };
            Body::from_stream(stream)
        }
        // Files go in chunks, as a server streams them: a client that stops reading (at its
        // size cap) stops the transfer, which the served-bytes count shows.
        _ if is_file && total > FILE_CHUNK => {
            let bytes = Bytes::from(bytes);
            let chunks = (0..total)
                .step_by(FILE_CHUNK)
                .map(move |at| Ok::<Bytes, std::io::Error>(bytes.slice(at..(at + FILE_CHUNK).min(total))));
            Body::from_stream(futures::stream::iter(chunks))
        }
        _ => Body::from(bytes),
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Some(content_type) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::CONTENT_TYPE, content_type);
    }

    if is_file || matches!(body_fault, Some(FaultKind::DropMidBody) | Some(FaultKind::SlowBody { .. })) {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    }
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) =
            (header::HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value))
        {
            headers.append(name, value);
        }
    }
    if is_file {
        response.extensions_mut().insert(FileBody);
    }
    response
}

async fn media(shared: Arc<Shared>, request: Request) -> Response {
    const TEMPLATE: &str = "media:/file/{fileId}/binary";
    let flavour = shared.config.flavour;
    let has_authorization = request.headers().contains_key(header::AUTHORIZATION);
    let query = request.uri().query().unwrap_or("").to_string();
    let path = request.uri().path().to_string();
    let token = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned());
    let reply = if !(path.starts_with("/file/") && path.ends_with("/binary")) {
        Reply::v1_error(404, "Not Found")
    } else if has_authorization {
        // The pre-signed URL must be fetched without the Confluence credentials.
        Reply::json(serde_json::json!({
            "error": {"code": "AUTH_HEADER_NOT_ALLOWED", "title": "Unauthorized",
                      "message": "A pre-signed media URL must not carry an Authorization header"}
        }))
        .with_status(401)
    } else {
        let site = match shared.site.read() {
            Ok(site) => site,
            Err(poisoned) => poisoned.into_inner(),
        };
        match token
            .and_then(|t| shared.media.resolve(&t))
            .and_then(|(id, _)| site.get(id))
            .and_then(|a| a.file.as_ref().map(|f| (a, f)))
        {
            Some((attachment, file)) => Reply {
                status: 200,
                headers: vec![(
                    "Content-Disposition".into(),
                    format!("attachment; filename=\"{}\"", attachment.title.replace('"', "")),
                )],
                body: ReplyBody::Bytes(file_bytes(file), file.format.media_type().to_string()),
            },
            None => Reply::json(
                serde_json::json!({"error": {"code": "FORBIDDEN", "message": "Invalid or expired token"}}),
            )
            .with_status(403),
        }
    };
    let mut body_fault = None;
    for fault in shared.faults.decide(TEMPLATE, "") {
        match fault {
            FaultKind::Latency { fixed, .. } => tokio::time::sleep(fixed).await,
            FaultKind::DropMidBody
            | FaultKind::TruncatedJson
            | FaultKind::MalformedItem
            | FaultKind::SlowBody { .. } => body_fault = Some(fault),
            status_fault => {
                let reply = fault_reply(status_fault, flavour);
                shared.log.record(TEMPLATE, reply.status);
                return into_response(reply, None).await;
            }
        }
    }
    shared.log.record(TEMPLATE, reply.status);
    into_response(reply, body_fault).await.counted(&shared.log, TEMPLATE)
}
