//! The HTTP front: [`EsSim`] binds 127.0.0.1, and every request goes through what
//! Elasticsearch's REST layer does before an action runs — request log, injected faults,
//! authentication, the `Content-Type` check — then to [`routes`](super::routes). A custom
//! listener implements "refuse connections for N seconds" for real (the socket is closed and
//! open connections are reset), and a background task refreshes indices every
//! `refresh_interval`, giving Elasticsearch's near-real-time search.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

use super::auth;
use super::cluster::Cluster;
use super::config::EsSimConfig;
use super::error::EsError;
use super::faults::EsFaults;
use super::requests::{LoggedRequest, RequestLog};
use super::routes;

/// State shared by all requests of one server.
pub struct Shared {
    /// The configuration it was started with.
    pub config: EsSimConfig,
    /// Indices, pipelines, points in time, scrolls.
    pub cluster: RwLock<Cluster>,
    /// Injected faults.
    pub faults: EsFaults,
    /// Request log.
    pub log: RequestLog,
    /// `cluster_uuid`.
    pub cluster_uuid: String,
}

impl Shared {
    /// Read access to the cluster state.
    pub fn read(&self) -> RwLockReadGuard<'_, Cluster> {
        // A poisoned lock means a handler panicked; the state itself is still consistent
        // enough for a test server, so keep serving.
        self.cluster.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Write access to the cluster state.
    pub fn write(&self) -> RwLockWriteGuard<'_, Cluster> {
        self.cluster.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running Elasticsearch test server; dropping it stops the server.
pub struct EsSim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
    refresher: JoinHandle<()>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for EsSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsSim").field("addr", &self.addr).field("config", &self.shared.config).finish()
    }
}

impl EsSim {
    /// Starts a server on 127.0.0.1 (`config.port`, 0 = a free port).
    pub async fn start(config: EsSimConfig) -> anyhow::Result<EsSim> {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], config.port))).map_err(|e| {
            anyhow::anyhow!(
                "es-sim cannot listen on 127.0.0.1:{}: {e}; pick another port or use 0",
                config.port
            )
        })?;
        let addr = listener.local_addr()?;
        let faults = EsFaults::default();
        let shared = Arc::new(Shared {
            cluster: RwLock::new(Cluster::new(&config.version)),
            faults: faults.clone(),
            log: RequestLog::default(),
            cluster_uuid: super::cluster::random_id()[..20].to_string(),
            config,
        });
        let app = Router::new()
            .fallback(dispatch)
            .layer(DefaultBodyLimit::max(100 * 1024 * 1024))
            .with_state(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let refusing = RefusingListener { listener: Some(listener), addr, faults };
        let server = tokio::spawn(async move {
            let serve = axum::serve(refusing, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!("es-sim server stopped: {e}");
            }
        });
        let refresh_state = shared.clone();
        let interval = shared.config.refresh_interval.max(std::time::Duration::from_millis(10));
        let refresher = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                let mut c = refresh_state.write();
                for idx in c.indices.values_mut() {
                    // `index.refresh_interval: -1` turns periodic refresh off, as in Elasticsearch.
                    let disabled = idx.settings.get("refresh_interval").and_then(Value::as_str) == Some("-1");
                    if idx.needs_refresh() && !disabled {
                        idx.refresh();
                    }
                }
                c.expire();
            }
        });
        Ok(EsSim { addr, shared, server, refresher, shutdown: Some(tx) })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Fault injection for this server.
    pub fn faults(&self) -> EsFaults {
        self.shared.faults.clone()
    }

    /// The request log of this server.
    pub fn requests(&self) -> RequestLog {
        self.shared.log.clone()
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &EsSimConfig {
        &self.shared.config
    }

    /// Refreshes every index now (what `POST /_refresh` does).
    pub fn refresh(&self) {
        for idx in self.shared.write().indices.values_mut() {
            idx.refresh();
        }
    }

    /// Number of live documents in an index (real-time), or None if it does not exist.
    pub fn doc_count(&self, index: &str) -> Option<usize> {
        self.shared.read().indices.get(index).map(|i| i.live_count())
    }

    /// The current `_source` of a document (real-time get), if any.
    pub fn document(&self, index: &str, id: &str) -> Option<Value> {
        self.shared.read().indices.get(index).and_then(|i| i.get(id)).map(|d| (*d.source).clone())
    }

    /// Names of all indices.
    pub fn index_names(&self) -> Vec<String> {
        self.shared.read().indices.keys().cloned().collect()
    }
}

impl Drop for EsSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.refresher.abort();
        self.server.abort();
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// A listener that closes its socket while connections are to be refused.
struct RefusingListener {
    listener: Option<TcpListener>,
    addr: SocketAddr,
    faults: EsFaults,
}

impl axum::serve::Listener for RefusingListener {
    type Io = RefusableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Some(until) = self.faults.refusing_until() {
                self.listener = None;
                tokio::time::sleep_until(until.into()).await;
                continue;
            }
            if self.listener.is_none() {
                match bind(self.addr) {
                    Ok(l) => self.listener = Some(l),
                    Err(e) => {
                        tracing::warn!("es-sim cannot re-bind {}: {e}", self.addr);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                }
            }
            let Some(listener) = &self.listener else { continue };
            tokio::select! {
                r = listener.accept() => match r {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        return (RefusableStream { inner: stream, faults: self.faults.clone() }, peer);
                    }
                    Err(e) => {
                        tracing::debug!("es-sim accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    }
                },
                _ = tokio::time::sleep(std::time::Duration::from_millis(50)) => {}
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// A connection that is reset when the server starts refusing connections.
pub struct RefusableStream {
    inner: TcpStream,
    faults: EsFaults,
}

impl AsyncRead for RefusableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.faults.refusing_until().is_some() {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "es-sim refuses connections",
            )));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for RefusableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A JSON response with Elasticsearch's product header.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert("x-elastic-product", HeaderValue::from_static("Elasticsearch"));
    r
}

fn error_response(e: &EsError) -> Response {
    let mut r = e.clone().into_response();
    if e.status == 401 {
        for c in auth::CHALLENGES {
            r.headers_mut().append(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
    }
    r
}

/// The `compatible-with` version of a vendored media type (`None` for plain types).
fn compatible_with(value: &str) -> Option<String> {
    let mut parts = value.split(';');
    let base = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    if !base.starts_with("application/vnd.elasticsearch+") {
        return None;
    }
    Some(
        parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("compatible-with"))
            .map(|(_, v)| v.trim().trim_matches('"').to_string())
            .unwrap_or_default(),
    )
}

fn compat_error(accept: &str, content_type: &str) -> EsError {
    EsError::new(400, "media_type_header_exception", "Invalid media-type value on headers [Content-Type, Accept]").caused_by(EsError::new(
        400,
        "status_exception",
        format!("A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version and the compatible versions must match. Accept={accept}, Content-Type={content_type}"),
    ))
}

/// Checks a vendored `Accept` header: its `compatible-with` must be this major or the
/// previous one, and match the `Content-Type`'s when the request has a body.
pub fn check_accept(headers: &HeaderMap, major: u32, has_body: bool) -> Result<(), EsError> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("null");
    let shown_ct = if has_body { content_type } else { "null" };
    let Some(a) = compatible_with(accept) else {
        return Ok(());
    };
    let n: u32 = a.parse().unwrap_or(0);
    if n != major && n + 1 != major {
        return Err(compat_error(accept, shown_ct));
    }
    if has_body {
        if let Some(c) = compatible_with(content_type) {
            if c != a {
                return Err(compat_error(accept, content_type));
            }
        }
    }
    Ok(())
}

/// Checks the `Content-Type` of a request with a body, as Elasticsearch's REST layer does.
pub fn check_content_type(headers: &HeaderMap, major: u32) -> Result<(), EsError> {
    let values: Vec<&str> =
        headers.get_all(header::CONTENT_TYPE).iter().filter_map(|v| v.to_str().ok()).collect();
    let Some(raw) = values.first() else {
        return Err(EsError::simple(406, "Content-Type header is missing"));
    };
    let mut parts = raw.split(';');
    let base = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let vendored = match base.as_str() {
        "application/json" | "application/x-ndjson" => false,
        "application/vnd.elasticsearch+json" | "application/vnd.elasticsearch+x-ndjson" => true,
        _ => {
            return Err(EsError::simple(
                406,
                format!("Content-Type header [{}] is not supported", values.join(",")),
            ))
        }
    };
    let compat = parts
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("compatible-with"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string());
    match (vendored, compat) {
        (false, _) => Ok(()),
        (true, None) => {
            Err(EsError::simple(406, format!("Content-Type header [{}] is not supported", values.join(","))))
        }
        (true, Some(v)) => {
            let n: u32 = v.parse().unwrap_or(0);
            if n == major || n + 1 == major {
                Ok(())
            } else {
                let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("null");
                Err(EsError::new(400, "media_type_header_exception", "Invalid media-type value on headers [Content-Type, Accept]").caused_by(EsError::new(
                    400,
                    "status_exception",
                    format!("A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version and the compatible versions must match. Accept={accept}, Content-Type={raw}"),
                )))
            }
        }
    }
}

async fn dispatch(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let full_uri = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| path.clone());
    let segments = routes::segments(&path);
    let pattern = routes::pattern(&segments);
    let route = format!("{} {}", method.as_str(), pattern.unwrap_or(&path));
    let concrete = format!("{} {}", method.as_str(), path);
    let answering = shared.log.answering();
    let kept = shared.log.keeps_bodies().then(|| body.clone());

    let response = async {
        if let Some(status) = shared.faults.request_fault(&route, &concrete) {
            return error_response(&injected(status));
        }
        if let Some(d) = shared.faults.delay() {
            tokio::time::sleep(d).await;
        }
        let auth_header = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let who = match auth::authenticate(&shared.config, auth_header, &full_uri) {
            Ok(w) => w,
            Err(e) => return error_response(&e),
        };
        if !body.is_empty() {
            if let Err(e) = check_content_type(&headers, shared.config.major()) {
                return error_response(&e);
            }
        }
        if let Err(e) = check_accept(&headers, shared.config.major(), !body.is_empty()) {
            return error_response(&e);
        }
        let req = routes::Request {
            method: method.clone(),
            path: path.clone(),
            segments: segments.clone(),
            params: routes::parse_query(&query),
            body: body.clone(),
            who,
            started,
        };
        let head = method == Method::HEAD;
        match routes::handle(&shared, pattern, &req) {
            Ok(reply) => {
                let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
                if head {
                    let mut r = status.into_response();
                    r.headers_mut().insert("x-elastic-product", HeaderValue::from_static("Elasticsearch"));
                    r
                } else {
                    let body = routes::filter_path(reply.body, req.params.get("filter_path"));
                    json_response(status, &body)
                }
            }
            Err(e) if head => StatusCode::from_u16(e.status).unwrap_or(StatusCode::NOT_FOUND).into_response(),
            Err(e) => error_response(&e),
        }
    }
    .await;
    shared.log.record(LoggedRequest {
        method: method.as_str().to_string(),
        path,
        query,
        route,
        status: response.status().as_u16(),
        body: kept,
    });
    drop(answering);
    let _ = started;
    response
}

/// The error body of an injected whole-request fault.
fn injected(status: u16) -> EsError {
    match status {
        429 => EsError::new(429, "es_rejected_execution_exception", "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1024, max_coordinating_and_primary_bytes=107374182]"),
        503 => EsError::new(503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];"),
        other => EsError::new(other, "es_sim_injected_fault", format!("fault injected by es-sim with status {other}")),
    }
}
