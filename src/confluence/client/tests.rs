//! The client against a local server: links, gateway, retries, 429 pauses, timeouts, proxy.

use super::*;
use crate::config::Secret;
use crate::confluence::options::{Auth, ClientOptions, GatewayCredential};
use crate::confluence::test_server::{json, serve, Log, TestServer};
use axum::response::Response;
use serde_json::json as j;

/// A Server-flavour client with fast backoff for tests.
pub(crate) async fn test_client(origin: &str, flavour: Flavour) -> ConfluenceClient {
    let auth = match flavour {
        Flavour::Cloud => {
            Auth::CloudApiToken { email: "me@example.com".into(), token: Secret::new("api-token-xyz") }
        }
        _ => Auth::Basic { username: "admin".into(), password: Secret::new("pw-xyz") },
    };
    let mut options = ClientOptions::new(flavour, origin, auth);
    options.backoff_base = Duration::from_millis(5);
    options.backoff_max = Duration::from_millis(20);
    ConfluenceClient::new(options).await.unwrap()
}

#[tokio::test]
async fn links_resolve_against_the_api_root_without_doubling_the_context() {
    let cloud = test_client("https://x.atlassian.net/", Flavour::Cloud).await;
    assert_eq!(cloud.api_root().as_str(), "https://x.atlassian.net/wiki");
    assert_eq!(
        cloud.resolve_link("/wiki/api/v2/spaces?cursor=abc").as_str(),
        "https://x.atlassian.net/wiki/api/v2/spaces?cursor=abc"
    );
    assert_eq!(
        cloud.resolve_link("/rest/api/content/search?cql=x&cursor=c").as_str(),
        "https://x.atlassian.net/wiki/rest/api/content/search?cql=x&cursor=c"
    );
    assert_eq!(
        cloud.resolve_link("https://evil.example/wiki/api/v2/pages?cursor=z").as_str(),
        "https://x.atlassian.net/wiki/api/v2/pages?cursor=z",
        "absolute links never leave the configured origin"
    );
    assert_eq!(cloud.web_url("/spaces/SD/pages/1/T"), "https://x.atlassian.net/wiki/spaces/SD/pages/1/T");
    let dc = test_client("http://host:8090/confluence/", Flavour::DataCenter).await;
    assert_eq!(
        dc.resolve_link("/rest/api/space?start=50").as_str(),
        "http://host:8090/confluence/rest/api/space?start=50"
    );
    assert_eq!(
        dc.resolve_link("/confluence/download/attachments/1/a.pdf").as_str(),
        "http://host:8090/confluence/download/attachments/1/a.pdf"
    );
    assert_eq!(
        dc.url(&["rest", "api", "content", "a b/c"], &[("cql", "space=\"A\"".into())]).as_str(),
        "http://host:8090/confluence/rest/api/content/a%20b%2Fc?cql=space%3D%22A%22"
    );
}

#[tokio::test]
async fn gateway_discovers_the_cloud_id_and_sends_auth_only_to_the_gateway() {
    let (site, site_log) = serve(|_, _| json(200, j!({"cloudId": "abc-123"}), &[])).await;
    let (gateway, gateway_log) = serve(|seen, _| {
        assert!(seen.target.starts_with("/ex/confluence/abc-123/wiki/api/v2/spaces"), "{}", seen.target);
        json(200, j!({"results": [{"id": "1", "key": "A", "name": "Alpha"}], "_links": {}}), &[])
    })
    .await;
    let mut options = ClientOptions::new(
        Flavour::Cloud,
        site.origin.clone(),
        Auth::CloudGateway {
            cloud_id: None,
            credential: GatewayCredential::Bearer(Secret::new("oauth-tok")),
        },
    );
    options.gateway_origin = gateway.origin.clone();
    let client = ConfluenceClient::new(options).await.unwrap();
    client.ping().await.unwrap();
    let site_seen = site_log.lock().unwrap().clone();
    assert_eq!(site_seen[0].target, "/_edge/tenant_info");
    assert_eq!(site_seen[0].authorization, None, "tenant_info is unauthenticated");
    let gateway_seen = gateway_log.lock().unwrap().clone();
    assert_eq!(gateway_seen[0].authorization.as_deref(), Some("Bearer oauth-tok"));
}

#[tokio::test]
async fn rate_limits_are_retried_and_fatal_statuses_are_not() {
    // /limited: 429, then 403 "rate limit", then 503, then 200. /denied: 401 always.
    let (server, log) = serve(|seen, index| {
        if seen.target.starts_with("/denied") {
            return json(401, j!({"message": "bad"}), &[]);
        }
        match index {
            0 => json(429, j!({}), &[("Retry-After", "0")]),
            1 => json(403, j!({"message": "Rate limit exceeded"}), &[]),
            2 => json(503, j!({}), &[]),
            _ => json(200, j!({"ok": true}), &[]),
        }
    })
    .await;
    let client = test_client(&server.origin, Flavour::Server).await;
    let ok: Fetched<serde_json::Value> =
        client.get_json(client.url(&["limited"], &[]), "GET /limited").await.unwrap();
    assert_eq!(ok.body["ok"], true);
    assert_eq!(log.lock().unwrap().len(), 4);
    let error =
        client.get_json::<serde_json::Value>(client.url(&["denied"], &[]), "GET /denied").await.unwrap_err();
    assert_eq!(log.lock().unwrap().len(), 5, "401 is never retried");
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!("401 from {}/denied: check username and password", server.origin)),
        "{shown}"
    );
    assert!(!shown.contains("pw-xyz"));
    let stats = client.stats();
    assert_eq!(stats.retries, 3);
    assert_eq!(stats.by_route[&("GET /limited", 429)], 1);
    assert_eq!(stats.by_route[&("GET /denied", 401)], 1);
}

#[tokio::test]
async fn retries_stop_after_retry_count_and_say_so() {
    let (server, log) = serve(|_, _| json(502, j!({}), &[])).await;
    let client = test_client(&server.origin, Flavour::Server).await;
    let error = client.get_json::<serde_json::Value>(client.url(&["x"], &[]), "GET /x").await.unwrap_err();
    assert_eq!(log.lock().unwrap().len(), 4, "first attempt + retry_count 3");
    assert!(matches!(error, ConfluenceError::RetriesExhausted { attempts: 4, .. }), "{error}");
    assert!(error.to_string().contains("gave up after 4 attempts: 502"), "{error}");
}

#[tokio::test]
async fn the_stop_ends_a_retry_wait_and_a_rate_limit_pause() {
    // Retry-After: 60 on every answer: the retry would wait a minute, as would a request
    // behind the pause that the 429 set.
    let (server, log) = serve(|_, _| json(429, j!({}), &[("Retry-After", "60")])).await;
    let (tx, stop) = crate::shutdown::Shutdown::manual();
    let client = test_client(&server.origin, Flavour::Server).await.stopping_on(&stop);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = tx.send(true);
    });
    let started = std::time::Instant::now();
    let error = client.get_json::<serde_json::Value>(client.url(&["x"], &[]), "GET /x").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{error}");
    assert!(matches!(error, ConfluenceError::Stopped { last: Some(_), .. }), "{error}");
    assert_eq!(error.status(), Some(429));
    assert!(error.to_string().contains("the retry was not sent: shutdown was requested"), "{error}");
    assert_eq!(log.lock().unwrap().len(), 1);
    // Paused by the 429 and stopped: not sent at all.
    let error = client.get_json::<serde_json::Value>(client.url(&["y"], &[]), "GET /y").await.unwrap_err();
    assert!(error.to_string().ends_with("not sent: shutdown was requested"), "{error}");
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn truncated_and_dropped_bodies_are_retried() {
    let (server, log) = serve(|_, index| match index {
        // A complete HTTP response whose JSON is cut in half.
        0 => Response::builder().status(200).body(axum::body::Body::from("{\"results\": [1, 2")).unwrap(),
        // A body that breaks off mid-stream.
        1 => {
            let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
                Ok(bytes::Bytes::from_static(b"{\"ok\": ")),
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "dropped")),
            ];
            Response::builder()
                .status(200)
                .body(axum::body::Body::from_stream(futures::stream::iter(chunks)))
                .unwrap()
        }
        _ => json(200, j!({"ok": true}), &[]),
    })
    .await;
    let client = test_client(&server.origin, Flavour::Server).await;
    let ok: Fetched<serde_json::Value> = client.get_json(client.url(&["x"], &[]), "GET /x").await.unwrap();
    assert_eq!(ok.body["ok"], true);
    assert_eq!(log.lock().unwrap().len(), 3);
    // Malformed (not truncated) JSON is not retried and names the URL and position.
    let (bad, bad_log) =
        serve(|_, _| Response::builder().status(200).body(axum::body::Body::from("{\"a\": nope}")).unwrap())
            .await;
    let client = test_client(&bad.origin, Flavour::Server).await;
    let error = client.get_json::<serde_json::Value>(client.url(&["y"], &[]), "GET /y").await.unwrap_err();
    assert_eq!(bad_log.lock().unwrap().len(), 1);
    let shown = error.to_string();
    assert!(shown.contains(&format!("{}/y", bad.origin)) && shown.contains("line 1 column"), "{shown}");
}

/// A server that answers `/first` with a 429 (`Retry-After: 1`) and everything else with
/// 200, and a client of it that does not retry, with `slots` requests in flight.
async fn first_answers_429(slots: usize) -> (TestServer, Log, ConfluenceClient) {
    let (server, log) = serve(|seen, _| {
        if seen.target.starts_with("/first") {
            json(429, j!({}), &[("Retry-After", "1")])
        } else {
            json(200, j!({}), &[])
        }
    })
    .await;
    let mut options = ClientOptions::new(
        Flavour::Server,
        server.origin.clone(),
        Auth::PersonalAccessToken(Secret::new("p")),
    );
    options.retry_count = 0;
    options.max_concurrent_requests = slots;
    let client = ConfluenceClient::new(options).await.unwrap();
    (server, log, client)
}

#[tokio::test]
async fn a_429_pauses_every_request_of_the_client() {
    let (_server, log, client) = first_answers_429(10).await;
    let started = std::time::Instant::now();
    let _ = client.get_json::<serde_json::Value>(client.url(&["first"], &[]), "GET /first").await;
    client.get_json::<serde_json::Value>(client.url(&["other"], &[]), "GET /other").await.unwrap();
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer p"));
    let other = seen.iter().find(|s| s.target.starts_with("/other")).unwrap();
    assert!(
        other.at.duration_since(started) >= Duration::from_millis(950),
        "{:?}",
        other.at.duration_since(started)
    );
}

#[tokio::test]
async fn a_429_pauses_the_requests_already_queued_for_a_slot() {
    let (_server, log, client) = first_answers_429(1).await;
    let started = std::time::Instant::now();
    // The second request queues for the only slot while the first is in flight.
    let (_, other) = tokio::join!(
        client.get_json::<serde_json::Value>(client.url(&["first"], &[]), "GET /first"),
        client.get_json::<serde_json::Value>(client.url(&["other"], &[]), "GET /other"),
    );
    other.unwrap();
    let seen = log.lock().unwrap().clone();
    let other = seen.iter().find(|s| s.target.starts_with("/other")).unwrap();
    assert!(
        other.at.duration_since(started) >= Duration::from_millis(950),
        "{:?}",
        other.at.duration_since(started)
    );
}

#[tokio::test]
async fn bad_settings_are_named() {
    let auth = Auth::PersonalAccessToken(Secret::new("p"));
    let error = ConfluenceClient::new(ClientOptions::new(Flavour::DataCenter, "host:8090", auth.clone()))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("confluence_url"), "{error}");
    let mut options = ClientOptions::new(Flavour::DataCenter, "http://h", auth);
    options.ssl_ca = Some("/nonexistent/ca.pem".into());
    let error = ConfluenceClient::new(options).await.unwrap_err();
    assert!(error.to_string().contains("ssl_ca"), "{error}");
}

#[tokio::test]
async fn a_stalled_body_times_out_and_is_retried() {
    let (server, log) = serve(|_, index| {
        if index == 0 {
            let stalled = futures::stream::once(async {
                tokio::time::sleep(Duration::from_millis(600)).await;
                Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{}"))
            });
            Response::new(axum::body::Body::from_stream(stalled))
        } else {
            json(200, j!({"ok": true}), &[])
        }
    })
    .await;
    let mut options = ClientOptions::new(
        Flavour::Server,
        server.origin.clone(),
        Auth::PersonalAccessToken(Secret::new("p")),
    );
    options.read_timeout = Duration::from_millis(150);
    options.backoff_base = Duration::from_millis(5);
    let client = ConfluenceClient::new(options).await.unwrap();
    let ok: Fetched<serde_json::Value> = client.get_json(client.url(&["x"], &[]), "GET /x").await.unwrap();
    assert_eq!(ok.body["ok"], true);
    assert_eq!(log.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn requests_go_through_the_configured_proxy() {
    let (proxy, log) = serve(|_, _| json(200, j!({"via": "proxy"}), &[])).await;
    let mut options = ClientOptions::new(
        Flavour::Server,
        "http://confluence.invalid:8090",
        Auth::PersonalAccessToken(Secret::new("p")),
    );
    options.proxy = Some(proxy.origin.replace("http://", "http://user:proxy-pw@"));
    let client = ConfluenceClient::new(options).await.unwrap();
    let fetched: Fetched<serde_json::Value> =
        client.get_json(client.url(&["rest", "api", "space"], &[]), "GET /rest/api/space").await.unwrap();
    assert_eq!(fetched.body["via"], "proxy");
    assert_eq!(log.lock().unwrap()[0].target, "/rest/api/space");
}
