//! Tiny HTTP servers for the client's unit tests: an axum router on 127.0.0.1 with a free
//! port, stopped when dropped, plus a log of what each request carried.

use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::response::Response;
use axum::Router;

/// A running test server.
pub(crate) struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub(crate) origin: String,
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// What a request looked like, as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// Path and query.
    pub(crate) target: String,
    /// The `Authorization` header, if sent.
    pub(crate) authorization: Option<String>,
    /// When it arrived.
    pub(crate) at: std::time::Instant,
}

/// A shared request log.
pub(crate) type Log = Arc<Mutex<Vec<Seen>>>;

/// Serves `respond` for every request, logging each into the returned log.
pub(crate) async fn serve<F>(respond: F) -> (TestServer, Log)
where
    F: Fn(&Seen, usize) -> Response + Send + Sync + 'static,
{
    let log: Log = Arc::default();
    let respond = Arc::new(respond);
    let shared = log.clone();
    let router = Router::new().fallback(move |request: Request| {
        let log = shared.clone();
        let respond = respond.clone();
        async move {
            let header =
                |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
            let seen = Seen {
                target: request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default(),
                authorization: header("authorization"),
                at: std::time::Instant::now(),
            };
            let index = {
                let mut log = log.lock().unwrap();
                log.push(seen.clone());
                log.len() - 1
            };
            respond(&seen, index)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (TestServer { origin, handle }, log)
}

/// A JSON response with a status and extra headers.
pub(crate) fn json(status: u16, body: serde_json::Value, headers: &[(&str, &str)]) -> Response {
    let mut builder = Response::builder().status(status).header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(axum::body::Body::from(body.to_string())).unwrap()
}

/// The value of query parameter `name` in a request target.
pub(crate) fn param(target: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(&format!("http://x{target}")).ok()?;
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}
