use super::*;
use crate::confluence::client::tests::test_client;
use crate::confluence::options::Flavour;
use crate::confluence::test_server::{json, param, serve};
use futures::StreamExt;
use serde_json::json as j;
use serde_json::Value;

fn ids(values: &[Result<Value, ConfluenceError>]) -> Vec<String> {
    values
        .iter()
        .map(|v| match &v.as_ref().unwrap()["id"] {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn identity(raw: &RawValue) -> Result<Option<Value>, serde_json::Error> {
    decode(raw).map(Some)
}

#[tokio::test]
async fn offset_paging_counts_results_despite_hidden_caps_and_lying_next_links() {
    // 23 items; the server caps pages at 5 whatever the limit, its next link steps by
    // the requested limit, and it keeps a next link on the last and the empty page.
    let (server, log) = serve(|seen, _| {
        let start: usize = param(&seen.target, "start").unwrap().parse().unwrap();
        let limit: usize = param(&seen.target, "limit").unwrap().parse().unwrap();
        let results: Vec<Value> = (start..23.min(start + 5)).map(|i| j!({"id": i})).collect();
        json(
            200,
            j!({"results": results, "start": start, "limit": 5, "size": results.len(),
                      "_links": {"next": format!("/rest/api/space?limit={limit}&start={}", start + limit)}}),
            &[],
        )
    })
    .await;
    let client = test_client(&server.origin, Flavour::Server).await;
    let first = client.url(&["rest", "api", "space"], &[("limit", "100".into())]);
    let all: Vec<_> = items(&client, first, "GET /rest/api/space", Paging::Offset, identity).collect().await;
    let expected: Vec<String> = (0..23).map(|i| i.to_string()).collect();
    assert_eq!(ids(&all), expected);
    let starts: Vec<String> =
        log.lock().unwrap().iter().map(|s| param(&s.target, "start").unwrap()).collect();
    assert_eq!(
        starts,
        ["0", "5", "10", "15", "20", "23"],
        "start advances by results received; the empty page ends it"
    );
}

#[tokio::test]
async fn offset_paging_refuses_a_server_that_repeats_past_the_end() {
    let (server, _log) =
        serve(|_, _| json(200, j!({"results": [{"id": 1}, {"id": 2}], "_links": {"next": "/x"}}), &[])).await;
    let client = test_client(&server.origin, Flavour::Server).await;
    let all: Vec<_> = items(
        &client,
        client.url(&["rest", "api", "space"], &[]),
        "GET /rest/api/space",
        Paging::Offset,
        identity,
    )
    .collect()
    .await;
    assert_eq!(all.len(), 3);
    assert!(matches!(all[2], Err(ConfluenceError::Pagination { .. })), "{:?}", all[2]);
}

#[tokio::test]
async fn offset_paging_without_next_links_uses_total_size() {
    // Server's rest/api/search: no next link at all, but a totalSize.
    let (server, _log) = serve(|seen, _| {
        let start: usize = param(&seen.target, "start").unwrap().parse().unwrap();
        let results: Vec<Value> = (start..7.min(start + 3)).map(|i| j!({"id": i})).collect();
        json(200, j!({"results": results, "totalSize": 7, "_links": {}}), &[])
    })
    .await;
    let client = test_client(&server.origin, Flavour::Server).await;
    let all: Vec<_> = items(
        &client,
        client.url(&["rest", "api", "search"], &[]),
        "GET /rest/api/search",
        Paging::Offset,
        identity,
    )
    .collect()
    .await;
    assert_eq!(ids(&all).len(), 7);
}

#[tokio::test]
async fn cursor_paging_follows_root_relative_links_and_empty_pages() {
    let (server, log) = serve(|seen, _| match param(&seen.target, "cursor").as_deref() {
        None => {
            json(200, j!({"results": [{"id": "1"}], "_links": {"next": "/wiki/api/v2/spaces?cursor=a"}}), &[])
        }
        Some("a") => json(
            200,
            j!({"results": [], "_links": {}}),
            &[("Link", "</wiki/api/v2/spaces?cursor=b>; rel=\"next\"")],
        ),
        Some("b") => json(200, j!({"results": [{"id": "2"}, {"id": 3, "bad": true}], "_links": {}}), &[]),
        Some(other) => panic!("unexpected cursor {other}"),
    })
    .await;
    let client = test_client(&server.origin, Flavour::Cloud).await;
    let first = client.url(&["api", "v2", "spaces"], &[]);
    let strict = |raw: &RawValue| -> Result<Option<String>, serde_json::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Strict {
            id: String,
        }
        decode::<Strict>(raw).map(|s| Some(s.id))
    };
    let all: Vec<_> = items(&client, first, "GET /api/v2/spaces", Paging::Cursor, strict).collect().await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].as_ref().unwrap(), "1");
    assert_eq!(all[1].as_ref().unwrap(), "2");
    assert!(matches!(all[2], Err(ConfluenceError::Item { index: 1, .. })), "one bad item, not a lost page");
    // Reported by its id, which could be read.
    let shown = all[2].as_ref().unwrap_err().to_string();
    assert!(shown.starts_with("item 1 (id 3) of the page from "), "{shown}");
    let targets: Vec<String> = log.lock().unwrap().iter().map(|s| s.target.clone()).collect();
    assert_eq!(
        targets,
        ["/wiki/api/v2/spaces", "/wiki/api/v2/spaces?cursor=a", "/wiki/api/v2/spaces?cursor=b"]
    );
}

#[tokio::test]
async fn a_repeated_cursor_is_an_error_not_a_loop() {
    let (server, _log) = serve(|_, _| {
        json(200, j!({"results": [{"id": "1"}], "_links": {"next": "/wiki/api/v2/pages?cursor=same"}}), &[])
    })
    .await;
    let client = test_client(&server.origin, Flavour::Cloud).await;
    let all: Vec<_> = items(
        &client,
        client.url(&["api", "v2", "pages"], &[]),
        "GET /api/v2/pages",
        Paging::Cursor,
        identity,
    )
    .collect()
    .await;
    assert_eq!(all.len(), 2);
    assert!(
        matches!(&all[1], Err(ConfluenceError::Pagination { detail, .. }) if detail.contains("repeats a cursor"))
    );
}

#[tokio::test]
async fn persistent_server_errors_halve_the_page_size() {
    // The server fails on any page larger than 25 items; 60 items in all.
    let (server, _log) = serve(|seen, _| {
        let start: usize = param(&seen.target, "start").unwrap().parse().unwrap();
        let limit: usize = param(&seen.target, "limit").unwrap().parse().unwrap();
        if limit > 25 {
            return json(500, j!({"message": "java.lang.OutOfMemoryError"}), &[]);
        }
        let results: Vec<Value> = (start..60.min(start + limit)).map(|i| j!({"id": i})).collect();
        json(200, j!({"results": results, "_links": {"next": "/more"}}), &[])
    })
    .await;
    let client = test_client(&server.origin, Flavour::DataCenter).await;
    let first = client.url(&["rest", "api", "content", "search"], &[("limit", "100".into())]);
    let all: Vec<_> =
        items(&client, first, "GET /rest/api/content/search", Paging::Offset, identity).collect().await;
    assert_eq!(ids(&all).len(), 60);
    let stats = client.stats();
    assert_eq!(stats.by_route[&("GET /rest/api/content/search", 500)], 8, "two sizes, 4 attempts each");
}

#[tokio::test]
async fn a_failing_page_ends_the_listing_with_an_error() {
    let (server, _log) = serve(|seen, _| match param(&seen.target, "start").as_deref() {
        Some("0") => json(200, j!({"results": [{"id": 1}], "_links": {"next": "/n"}}), &[]),
        _ => json(404, j!({"message": "gone"}), &[]),
    })
    .await;
    let client = test_client(&server.origin, Flavour::Server).await;
    let all: Vec<_> = items(
        &client,
        client.url(&["rest", "api", "space"], &[]),
        "GET /rest/api/space",
        Paging::Offset,
        identity,
    )
    .collect()
    .await;
    assert_eq!(all.len(), 2);
    assert!(all[1].as_ref().is_err_and(|e| e.is_not_found()));
}
