//! The bulk sink and the index setup against Elasticsearch: retries of items and of whole
//! requests, failures listed, the ingest pipeline, the index's mappings, batch limits,
//! concurrency, long ids, the queue's byte bound, the error monitor, retries of the other
//! requests, and progress lines of a sync where nothing changed.
//!
//! Tests that inject faults (rejected items, failed or slow requests) or read the server's
//! request log run against the Elasticsearch test server even when `ES_URL` is set: a real
//! cluster cannot be made to fail on cue. The others use `ES_URL` when it is set.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use confluence_connector::config;
use confluence_connector::elastic::load_existing;
use confluence_connector::elastic::read_state;
use confluence_connector::elastic::{connect, EsClient};
use confluence_connector::elastic::{elasticsearch_id, Document, OpKind, Operation};
use confluence_connector::elastic::{ensure_content_index, template_name, IndexMode};
use confluence_connector::elastic::{ElasticOptions, ErrorMonitorOptions};
use confluence_connector::elastic::{Sink, SinkReport};
use confluence_connector::sync;
use confluence_connector::sync::SyncKind;
use confluence_connector::sync::SyncReport;
use confluence_connector::Shutdown;
use serde_json::{json, Value};
use sim::confluence::{Flavour, SimConfig, Size};
use sim::elastic::{EsSim, EsSimConfig, EsTarget};

use sim::world as common;

mod child;
use child::metric;

/// The test server, whatever `ES_URL` says (for fault injection and the request log).
async fn test_server() -> EsTarget {
    let config = EsSimConfig::default();
    let (username, password) = (config.username.clone(), config.password.clone());
    let sim = EsSim::start(config).await.unwrap();
    EsTarget {
        url: sim.url(),
        api_key: None,
        username: Some(username),
        password: Some(password),
        sim: Some(sim),
    }
}

fn sim(target: &EsTarget) -> &EsSim {
    target.sim.as_ref().unwrap()
}

/// A unique index name (tests may share a real cluster).
fn index(name: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("search-sink-{name}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Options for `target`: no pipeline (a real cluster may lack it), quick retries.
fn options(target: &EsTarget) -> ElasticOptions {
    let mut o = ElasticOptions {
        host: target.url.clone(),
        api_key: target.api_key.as_deref().map(confluence_connector::config::Secret::new),
        username: target.username.clone(),
        password: target.password.as_deref().map(confluence_connector::config::Secret::new),
        max_retries: 2,
        retry_interval: Duration::from_millis(20),
        request_timeout: Duration::from_secs(30),
        ..ElasticOptions::default()
    };
    o.bulk.pipeline = None;
    o.bulk.item_retries = 2;
    o.bulk.item_retry_interval = Duration::from_millis(50);
    o
}

fn client(o: &ElasticOptions) -> EsClient {
    connect(o).unwrap()
}

fn doc(id: &str, source: Value) -> Operation {
    Operation::Index { id: id.into(), doc: Document::serialize(id, &source).unwrap() }
}

/// Sends `ops` through a new sink and returns its report.
async fn write(es: &EsClient, index: &str, o: &ElasticOptions, ops: Vec<Operation>) -> SinkReport {
    let sink = Sink::start(es.clone(), index, o);
    for op in ops {
        sink.send(op).await;
    }
    sink.finish().await
}

/// Plain HTTP to the target, for looking at what was written.
async fn http(target: &EsTarget, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", target.url));
    if let Some(auth) = target.authorization() {
        req = req.header("Authorization", auth);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get_doc(target: &EsTarget, index: &str, id: &str) -> Option<Value> {
    let (status, body) = http(target, reqwest::Method::GET, &format!("/{index}/_doc/{id}"), None).await;
    (status == 200).then(|| body["_source"].clone())
}

/// The `_id`s of each `_bulk` request the test server received, in order.
fn bulk_ids(target: &EsTarget) -> Vec<Vec<String>> {
    sim(target)
        .requests()
        .entries()
        .iter()
        .filter(|e| e.path.ends_with("/_bulk"))
        .map(|e| {
            let body = e.body.as_ref().expect("bodies are kept");
            body.split(|b| *b == b'\n')
                .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
                .filter_map(|v| v.get("index").or_else(|| v.get("delete")).map(|m| m["_id"].clone()))
                .filter_map(|id| id.as_str().map(str::to_string))
                .collect()
        })
        .collect()
}

fn bulk_queries(target: &EsTarget) -> Vec<String> {
    sim(target)
        .requests()
        .entries()
        .iter()
        .filter(|e| e.path.ends_with("/_bulk"))
        .map(|e| e.query.clone())
        .collect()
}

fn pages(n: usize) -> Vec<Operation> {
    (0..n).map(|i| doc(&format!("p{i}"), json!({"title": format!("Page {i}")}))).collect()
}

#[tokio::test]
async fn items_rejected_with_429_are_retried_alone_with_backoff() {
    let target = test_server().await;
    let o = options(&target);
    let es = client(&o);
    let index = index("item-retry");
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    sim(&target).requests().keep_bodies(true);
    // The 2nd and 5th items of the first request are rejected with 429.
    sim(&target).faults().reject_bulk_item_on(2);
    sim(&target).faults().reject_bulk_item_on(5);
    let report = write(&es, &index, &o, pages(6)).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!((report.indexed, report.retried_items, report.requests), (6, 2, 2));
    assert_eq!(bulk_ids(&target), [vec!["p0", "p1", "p2", "p3", "p4", "p5"], vec!["p1", "p4"]]);
    // The first retry waits half to all of min(50 ms, bulk.retry_interval), jittered.
    assert!(
        report.duration >= o.bulk.item_retry_interval / 2,
        "waited before re-sending: {:?}",
        report.duration
    );
    for i in 0..6 {
        assert!(get_doc(&target, &index, &format!("p{i}")).await.is_some(), "p{i}");
    }
}

#[tokio::test]
async fn items_rejected_every_time_fail_after_bulk_max_retries_and_as_long_as_their_schedule() {
    let target = test_server().await;
    let mut o = options(&target);
    o.bulk.error_monitor.enabled = false;
    let es = client(&o);
    let index = index("item-fail");
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    sim(&target).requests().keep_bodies(true);
    sim(&target).faults().reject_bulk_items(1.0);
    let report = write(&es, &index, &o, pages(3)).await;
    // Retried at least bulk.max_retries (2) times and for 50 ms × (1 + 2), each retry of the
    // three items in one request.
    assert!(report.requests >= 3, "{report:?}");
    assert!(report.duration >= Duration::from_millis(150), "{report:?}");
    assert_eq!(report.retried_items, 3 * (report.requests - 1));
    assert!(bulk_ids(&target).iter().all(|ids| ids == &["p0", "p1", "p2"]), "{:?}", bulk_ids(&target));
    assert_eq!(report.failed.len(), 3);
    let f = &report.failed[0];
    assert_eq!((f.id.as_str(), f.op, f.status), ("p0", OpKind::Index, 429));
    assert_eq!(f.error_type, "es_rejected_execution_exception");
    assert!(f.reason.contains(&format!("(rejected {} times over", report.requests)), "{f}");
}

/// A cluster that turns away 30 % of the items under load (429) is still answering: with
/// the default retry settings every item gets in, and the rejected ones wait outside the
/// request slots, so the run takes a few seconds more than a clean one — not a retry
/// schedule of 10, 20, 30 … s per batch (881 s for a 2.7 s sync before).
#[tokio::test]
async fn with_thirty_percent_of_items_rejected_every_item_gets_in_soon() {
    let target = test_server().await;
    let mut o = options(&target);
    let defaults = ElasticOptions::default().bulk;
    (o.bulk.item_retries, o.bulk.item_retry_interval) = (defaults.item_retries, defaults.item_retry_interval);
    let es = client(&o);
    let (clean_index, index) = (index("reject-none"), index("reject-30"));
    for name in [&clean_index, &index] {
        ensure_content_index(&es, name, IndexMode::CreateIfMissing).await.unwrap();
    }
    let clean = write(&es, &clean_index, &o, pages(5000)).await;
    assert_eq!((clean.indexed, clean.retried_items), (5000, 0));
    sim(&target).faults().reject_bulk_items(0.3);
    let report = write(&es, &index, &o, pages(5000)).await;
    assert!(report.failed.is_empty(), "{:?}", &report.failed[..report.failed.len().min(3)]);
    assert_eq!(report.indexed, 5000);
    assert!(report.retried_items > 1500, "{}", report.retried_items);
    sim(&target).faults().clear();
    http(&target, reqwest::Method::POST, &format!("/{index}/_refresh"), None).await;
    let (_, count) = http(&target, reqwest::Method::GET, &format!("/{index}/_count"), None).await;
    assert_eq!(count["count"], 5000);
    // Seven to nine rounds of rejection cover 5,000 items at 30 % (0.3^7 × 5000 ≈ 1); while
    // the cluster accepts most items their waits stay at most 0.2 s (1.5 s for nine rounds;
    // about 1 s here against 0.1–0.2 s for the clean run).
    assert!(
        report.duration < clean.duration * 3 + Duration::from_secs(3),
        "clean {:?}, 30 % rejected {:?}",
        clean.duration,
        report.duration
    );
}

#[tokio::test]
async fn whole_requests_failing_are_retried_up_to_max_retries() {
    let target = test_server().await;
    let o = options(&target);
    let es = client(&o);
    let index = index("request-retry");
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    // Two 503s, then an answer: max_retries (2) is enough.
    sim(&target).faults().fail_next_requests(2, 503, Some("_bulk"));
    let report = write(&es, &index, &o, pages(4)).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!((report.indexed, report.requests, report.retried_requests), (4, 3, 2));
    // Three 429s: one more than allowed, every item fails with the request's status.
    sim(&target).faults().fail_next_requests(3, 429, Some("_bulk"));
    let report = write(&es, &index, &o, pages(2)).await;
    assert_eq!((report.indexed, report.requests, report.retried_requests), (0, 3, 2));
    assert_eq!(report.failed.len(), 2);
    assert_eq!(report.failed[0].status, 429);
    assert!(report.failed[0].reason.contains("after 3 attempts"), "{}", report.failed[0]);
    // Not transient: a 400 is not sent again.
    sim(&target).faults().fail_next_requests(1, 400, Some("_bulk"));
    let report = write(&es, &index, &o, pages(1)).await;
    assert_eq!((report.requests, report.failed.len()), (1, 1));
}

#[tokio::test]
async fn timeouts_are_retried_only_with_retry_on_timeout() {
    let target = test_server().await;
    let mut o = options(&target);
    let index = index("timeout");
    ensure_content_index(&client(&o), &index, IndexMode::CreateIfMissing).await.unwrap();
    o.request_timeout = Duration::from_millis(150);
    o.max_retries = 1;
    sim(&target).faults().slow_responses(Duration::from_millis(600), 1.0);

    o.retry_on_timeout = false;
    let es = client(&o);
    let report = write(&es, &index, &o, pages(1)).await;
    assert_eq!((report.requests, report.retried_requests), (1, 0));
    assert_eq!(report.failed[0].status, 0);
    assert!(report.failed[0].reason.contains("no answer after 1 attempt"), "{}", report.failed[0]);
    let refresh = load_existing(&es, &index, None).await.unwrap_err();
    assert!(refresh.to_string().contains("after 1 attempt"), "{refresh}");
    assert_eq!(es.retries(), 0);

    o.retry_on_timeout = true;
    let es = client(&o);
    let report = write(&es, &index, &o, pages(1)).await;
    assert_eq!((report.requests, report.retried_requests), (2, 1));
    let refresh = load_existing(&es, &index, None).await.unwrap_err();
    assert!(refresh.to_string().contains("after 2 attempt"), "{refresh}");
    assert_eq!(es.retries(), 1);
}

#[tokio::test]
async fn other_requests_are_retried_like_bulk_requests() {
    let target = test_server().await;
    let o = options(&target);
    let es = client(&o);
    let index = index("other-retry");
    // Index creation: the existence check and the creation each answered 503 once.
    sim(&target).faults().fail_next_requests(1, 503, Some("HEAD /"));
    sim(&target).faults().fail_next_requests(1, 503, Some("PUT /"));
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    assert_eq!(es.retries(), 2);
    write(&es, &index, &o, pages(3)).await;
    // Refresh, point in time and search each fail once (429, 502, 503).
    sim(&target).faults().fail_next_requests(1, 429, Some("_refresh"));
    sim(&target).faults().fail_next_requests(1, 502, Some("_pit"));
    sim(&target).faults().fail_next_requests(1, 503, Some("POST /_search"));
    let existing = load_existing(&es, &index, None).await.unwrap();
    assert_eq!(existing.len(), 3);
    assert_eq!(es.retries(), 5);
    // The mapping `_meta` read and update.
    sim(&target).faults().fail_next_requests(2, 503, Some("_mapping"));
    let state = read_state(&es, &index).await.unwrap();
    assert!(state.cursor.is_none());
    // More failures than max_retries (2): the error names the request and the attempts.
    sim(&target).faults().fail_next_requests(3, 503, Some("_refresh"));
    let e = load_existing(&es, &index, None).await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert!(e.to_string().contains(&format!("/{index}/_refresh")), "{e}");
    assert!(e.to_string().contains("after 3 attempts"), "{e}");
}

#[tokio::test]
async fn items_that_fail_for_good_are_listed_with_id_type_and_reason() {
    let target = EsTarget::from_env_or_sim().await.unwrap();
    let o = options(&target);
    let es = client(&o);
    let index = index("mapping-error");
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    let ops = vec![
        doc("good", json!({"title": "Fine", "size": 12})),
        doc("bad", json!({"title": "Broken", "size": "not a number"})),
        Operation::Delete { id: "never-indexed".into() },
    ];
    let report = write(&es, &index, &o, ops).await;
    assert_eq!((report.indexed, report.deleted), (1, 1), "a delete of a missing document is done");
    assert_eq!(report.failed.len(), 1);
    let f = &report.failed[0];
    assert_eq!((f.id.as_str(), f.op, f.status), ("bad", OpKind::Index, 400));
    assert_eq!(f.error_type, "document_parsing_exception");
    assert!(f.reason.contains("size"), "{}", f.reason);
    assert_eq!(report.retried_items, 0, "a mapping error is final");
    let mut sync = SyncReport::default();
    sync.absorb_sink(&report, es.retries());
    assert_eq!(sync.failed.len(), 1);
    assert!(
        sync.failed[0].starts_with("index bad (400): document_parsing_exception: "),
        "{}",
        sync.failed[0]
    );
}

#[tokio::test]
async fn bulk_items_show_in_the_metrics_by_result_and_status_as_each_answer_arrives() {
    use confluence_connector::service::Metrics;
    let target = EsTarget::from_env_or_sim().await.unwrap();
    let o = options(&target);
    let es = client(&o);
    let index = index("item-metrics");
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    let series = |result: &str, status: u16| {
        format!("confluence_connector_bulk_items_total{{result=\"{result}\",status=\"{status}\"}}")
    };
    let expected = [
        ("created", 201, 2.0),
        ("updated", 200, 1.0),
        ("failed", 400, 1.0),
        ("not_found", 404, 1.0),
        ("deleted", 200, 1.0),
    ];
    // The counters are the process's: other tests of this binary add to them meanwhile.
    let metrics = Metrics::new();
    let before = metrics.encode();
    let sink = Sink::start(es.clone(), &index, &o);
    for op in [
        doc("twice", json!({"title": "First"})),
        doc("twice", json!({"title": "Second"})),
        doc("gone", json!({"title": "Soon deleted"})),
        doc("bad", json!({"title": "Broken", "size": "not a number"})),
        Operation::Delete { id: "never-indexed".into() },
        Operation::Delete { id: "gone".into() },
    ] {
        sink.send(op).await;
    }
    // Every answer is in, the sink (and so the sync) is still open: the metrics show them.
    sink.flush().await;
    let during = metrics.encode();
    for (result, status, count) in expected {
        let name = series(result, status);
        let value = |text: &str| metric(text, &name).unwrap_or(0.0);
        let grew = value(&during) - value(&before);
        assert!(grew >= count, "{name} grew by {grew}, not {count}:\n{during}");
    }
    let report = sink.finish().await;
    assert_eq!((report.indexed, report.deleted, report.failed.len()), (3, 2, 1));
}

#[tokio::test]
async fn the_pipeline_is_the_default_one_or_configured_or_none() {
    // Reads the request log: the test server.
    let target = test_server().await;
    let mut o = options(&target);
    let es = client(&o);
    let index = index("pipeline");
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    o.bulk.pipeline = ElasticOptions::default().bulk.pipeline;
    write(&es, &index, &o, pages(1)).await;
    o.bulk.pipeline = Some("my-pipeline".into());
    let (status, _) = http(
        &target,
        reqwest::Method::PUT,
        "/_ingest/pipeline/my-pipeline",
        Some(json!({"processors": [{"set": {"field": "piped", "value": true}}]})),
    )
    .await;
    assert_eq!(status, 200);
    let report = write(&es, &index, &o, vec![doc("piped", json!({"title": "x"}))]).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    o.bulk.pipeline = None;
    write(&es, &index, &o, pages(1)).await;
    assert_eq!(bulk_queries(&target), ["pipeline=search-default-ingestion", "pipeline=my-pipeline", ""]);
    assert_eq!(get_doc(&target, &index, "piped").await.unwrap()["piped"], json!(true));
}

#[tokio::test]
async fn a_configured_pipeline_runs_on_what_is_written() {
    let target = EsTarget::from_env_or_sim().await.unwrap();
    let test = "a_configured_pipeline_runs_on_what_is_written";
    if target.skips_without(test, &["ingest-common"], "a pipeline with a `set` processor").await {
        return;
    }
    let mut o = options(&target);
    let es = client(&o);
    let index = index("pipeline-runs");
    let pipeline = format!("{index}-pipeline");
    let (status, body) = http(
        &target,
        reqwest::Method::PUT,
        &format!("/_ingest/pipeline/{pipeline}"),
        Some(json!({"processors": [{"set": {"field": "piped", "value": true}}]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    o.bulk.pipeline = Some(pipeline.clone());
    write(&es, &index, &o, vec![doc("a", json!({"title": "x"}))]).await;
    o.bulk.pipeline = None;
    write(&es, &index, &o, vec![doc("b", json!({"title": "y"}))]).await;
    assert_eq!(get_doc(&target, &index, "a").await.unwrap()["piped"], json!(true));
    assert_eq!(get_doc(&target, &index, "b").await.unwrap().get("piped"), None);
    http(&target, reqwest::Method::DELETE, &format!("/_ingest/pipeline/{pipeline}"), None).await;
}

#[tokio::test]
async fn the_index_is_created_with_the_connectors_mappings() {
    let target = EsTarget::from_env_or_sim().await.unwrap();
    let es = client(&options(&target));
    let index = index("mappings");
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    let (_, body) = http(&target, reqwest::Method::GET, &format!("/{index}/_mapping"), None).await;
    let properties = &body[&index]["mappings"]["properties"];
    for field in ["title", "space", "author", "_allow_access_control"] {
        assert_eq!(properties[field]["type"], "text", "{field}");
        assert_eq!(properties[field]["fields"]["keyword"]["type"], "keyword", "{field}");
    }
    assert_eq!(properties["_timestamp"]["type"], "date");
    assert_eq!(properties["createdDate"]["type"], "date");
    // Called again (every sync does), it leaves the index alone.
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
}

/// An index deleted under a running sync is created again by the next write — from the
/// connector's index template, with its mappings, not with dynamic ones.
#[tokio::test]
async fn a_write_after_the_index_was_deleted_creates_it_with_the_connectors_mappings() {
    let target = EsTarget::from_env_or_sim().await.unwrap();
    let o = options(&target);
    let es = client(&o);
    let index = index("deleted");
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    let page = |id: &str| {
        doc(
            id,
            json!({"id": id, "title": "Home", "url": format!("https://wiki/pages/{id}"), "body": "Welcome",
                   "_timestamp": "2026-01-02T03:04:05Z", "_allow_access_control": ["user:ann"]}),
        )
    };
    let sink = Sink::start(es.clone(), &index, &o);
    sink.send(page("1")).await;
    sink.flush().await;
    let (status, body) = http(&target, reqwest::Method::DELETE, &format!("/{index}"), None).await;
    assert_eq!(status, 200, "{body}");
    sink.send(page("2")).await;
    let report = sink.finish().await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(get_doc(&target, &index, "2").await.is_some());
    let (_, body) = http(&target, reqwest::Method::GET, &format!("/{index}/_mapping"), None).await;
    let properties = &body[&index]["mappings"]["properties"];
    // Dynamic mappings would make these text with a keyword subfield.
    assert_eq!(properties["url"], json!({"type": "keyword"}), "{body}");
    assert_eq!(properties["id"], json!({"type": "keyword"}), "{body}");
    assert_eq!(properties["body"], json!({"type": "text"}), "{body}");
    assert_eq!(properties["_timestamp"]["type"], "date", "{body}");
    assert_eq!(properties["_allow_access_control"]["fields"]["keyword"]["type"], "keyword", "{body}");
    http(&target, reqwest::Method::DELETE, &format!("/_index_template/{}", template_name(&index)), None)
        .await;
}

#[tokio::test]
async fn an_existing_index_or_template_is_used_untouched() {
    let target = EsTarget::from_env_or_sim().await.unwrap();
    let es = client(&options(&target));
    // An index of the user's own, with its own mapping.
    let own = index("own");
    let mapping = json!({"mappings": {"properties": {"title": {"type": "keyword"}}}});
    assert_eq!(http(&target, reqwest::Method::PUT, &format!("/{own}"), Some(mapping)).await.0, 200);
    ensure_content_index(&es, &own, IndexMode::UseExisting).await.unwrap();
    ensure_content_index(&es, &own, IndexMode::CreateIfMissing).await.unwrap();
    let (_, body) = http(&target, reqwest::Method::GET, &format!("/{own}/_mapping"), None).await;
    assert_eq!(body[&own]["mappings"]["properties"], json!({"title": {"type": "keyword"}}));
    // A template: with UseExisting nothing is created; the first write creates the index
    // from the template.
    let templated = index("templated");
    let template = format!("{templated}-template");
    let (status, body) = http(
        &target,
        reqwest::Method::PUT,
        &format!("/_index_template/{template}"),
        Some(json!({"index_patterns": [templated], "priority": 500,
                    "template": {"mappings": {"properties": {"title": {"type": "keyword"}}}}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    ensure_content_index(&es, &templated, IndexMode::UseExisting).await.unwrap();
    assert_eq!(http(&target, reqwest::Method::HEAD, &format!("/{templated}"), None).await.0, 404);
    let o = options(&target);
    let report = write(&es, &templated, &o, vec![doc("1", json!({"title": "Home"}))]).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let (_, body) = http(&target, reqwest::Method::GET, &format!("/{templated}/_mapping"), None).await;
    assert_eq!(body[&templated]["mappings"]["properties"]["title"], json!({"type": "keyword"}));
    http(&target, reqwest::Method::DELETE, &format!("/_index_template/{template}"), None).await;
}

#[tokio::test]
async fn batches_close_at_chunk_size_operations_or_chunk_max_mem_size_bytes() {
    let target = EsTarget::from_env_or_sim().await.unwrap();
    let mut o = options(&target);
    let es = client(&o);
    let index = index("chunks");
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    // 10 lines: 5 index operations a request; 23 of them make 5 requests.
    o.bulk.chunk_size = 10;
    let report = write(&es, &index, &o, pages(23)).await;
    assert_eq!((report.indexed, report.requests), (23, 5));
    // A delete is one line: 10 of them and 5 index operations make 2 requests.
    let mut ops = pages(5);
    ops.extend((0..10).map(|i| Operation::Delete { id: format!("gone{i}") }));
    let report = write(&es, &index, &o, ops).await;
    assert_eq!(report.requests, 2);
    // By bytes: each operation is ~1 KiB, 4 KiB a request → 3 operations a request.
    o.bulk.chunk_size = 500;
    o.bulk.chunk_max_mem_size = 4096;
    let ops: Vec<Operation> =
        (0..9).map(|i| doc(&format!("b{i}"), json!({"body": "x".repeat(1000)}))).collect();
    let report = write(&es, &index, &o, ops).await;
    assert_eq!((report.indexed, report.requests), (9, 3));
    assert!(report.bytes <= 3 * 4096, "{}", report.bytes);
}

#[tokio::test]
async fn at_most_max_concurrency_requests_are_in_flight() {
    // Needs slow answers and the server's count of requests in flight: the test server.
    let target = test_server().await;
    let mut o = options(&target);
    let es = client(&o);
    let index = index("concurrency");
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    sim(&target).faults().slow_responses(Duration::from_millis(80), 1.0);
    o.bulk.chunk_size = 2; // one index operation a request
    for max in [3, 1] {
        o.bulk.max_concurrency = max;
        sim(&target).requests().clear();
        let report = write(&es, &index, &o, pages(12)).await;
        assert_eq!((report.indexed, report.requests), (12, 12));
        assert_eq!(sim(&target).requests().peak_in_flight(), max, "max_concurrency {max}");
    }
}

#[tokio::test]
async fn ids_over_512_bytes_become_their_md5_hex() {
    let target = EsTarget::from_env_or_sim().await.unwrap();
    let o = options(&target);
    let es = client(&o);
    let index = index("long-id");
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    let long = format!("att-{}", "x".repeat(600));
    let report = write(&es, &index, &o, vec![doc(&long, json!({"title": "Long"}))]).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let md5 = elasticsearch_id(&long).into_owned();
    assert_eq!(md5.len(), 32);
    assert_eq!(get_doc(&target, &index, &md5).await.unwrap()["title"], "Long");
    // Deleting by the long id deletes the same document.
    let report = write(&es, &index, &o, vec![Operation::Delete { id: long }]).await;
    assert_eq!(report.deleted, 1);
    assert!(get_doc(&target, &index, &md5).await.is_none());
}

#[tokio::test]
async fn a_slow_cluster_keeps_the_queued_bytes_under_queue_max_mem_size() {
    // Needs slow answers: the test server.
    let target = test_server().await;
    let mut o = options(&target);
    let es = client(&o);
    let index = index("queue-bytes");
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    sim(&target).faults().slow_responses(Duration::from_millis(20), 1.0);
    // 20 KiB documents: the count bound (1024) would let 20 MiB wait; the bytes bound is
    // 256 KiB. Batches of at most 64 KiB, one in flight.
    let bound = 256 * 1024;
    o.bulk.queue_max_mem_size = bound;
    o.bulk.chunk_max_mem_size = 64 * 1024;
    o.bulk.max_concurrency = 1;
    let body = "y".repeat(20 * 1024);
    let sink = Sink::start(es.clone(), &index, &o);
    let mut most = 0;
    for i in 0..100 {
        sink.send(doc(&format!("q{i}"), json!({"body": body}))).await;
        most = most.max(sink.queued_bytes());
    }
    // One operation larger than the whole bound still goes, once the queue is empty.
    sink.send(doc("huge", json!({"body": "z".repeat(bound + 1)}))).await;
    let report = sink.finish().await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.indexed, 101);
    assert!(most <= bound, "{most} bytes queued, over {bound}");
    // The byte bound, not the count, is what held the sync back.
    assert!(most > bound - 21 * 1024, "the queue never filled: {most}");
    assert!(report.peak_queued_bytes as usize > bound, "the huge one was let in alone");
    assert!(get_doc(&target, &index, "huge").await.is_some());
}

#[tokio::test]
async fn the_error_monitor_stops_the_sink_after_too_many_errors() {
    // Needs rejected items: the test server.
    let target = test_server().await;
    let mut o = options(&target);
    let es = client(&o);
    let index = index("monitor");
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    sim(&target).faults().reject_bulk_items(1.0);
    o.bulk.item_retries = 0;
    o.bulk.chunk_size = 2;
    o.bulk.max_concurrency = 1;
    o.bulk.error_monitor =
        ErrorMonitorOptions { max_consecutive_errors: 3, ..ErrorMonitorOptions::default() };
    let report = write(&es, &index, &o, pages(10)).await;
    // The 4th error in a row stops it: the rest is not sent.
    assert_eq!(report.failed.len(), 4);
    assert_eq!((report.requests, report.discarded), (4, 6));
    let why = report.stopped.as_deref().unwrap();
    assert!(why.contains("4 item errors in a row"), "{why}");
    assert!(why.contains("es_rejected_execution_exception"), "quotes the last errors: {why}");
    // Disabled, it only counts.
    o.bulk.error_monitor.enabled = false;
    let report = write(&es, &index, &o, pages(10)).await;
    assert_eq!((report.failed.len(), report.discarded), (10, 0));
    assert!(report.stopped.is_none());
}

/// A tiny Confluence site (40 pages in 10 spaces) and the test server.
async fn tiny_world() -> common::World {
    let mut config = SimConfig::new(Flavour::Server, Size::Small);
    config.pages = Some(40);
    let mut world = common::World::start(config).await.unwrap();
    world.es = test_server().await;
    world
}

fn sync_config(world: &common::World, index: &str, bulk: &str) -> config::Config {
    let yaml = world.config_yaml(index, &["retry_count: 1"]);
    let yaml =
        yaml.replacen("elasticsearch:\n", &format!("elasticsearch:\n  max_retries: 0\n  bulk:\n{bulk}"), 1);
    config::load_str(&yaml, &HashMap::new()).unwrap().config
}

#[tokio::test]
async fn a_sync_stopped_by_the_error_monitor_deletes_nothing_and_keeps_its_cursor() {
    // Needs rejected items: the test server.
    let world = tiny_world().await;
    let index = index("monitor-sync");
    let config = sync_config(
        &world,
        &index,
        "    max_retries: 0\n    error_monitor:\n      max_consecutive_errors: 2\n",
    );
    let first = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(first.completed() && first.failed.is_empty(), "{first}");
    let es = client(&confluence_connector::sync::elastic_options(&config, None));
    let cursor = read_state(&es, &index).await.unwrap().cursor;
    assert!(cursor.is_some());
    // Three documents to write again (gone from the index), one stale document to delete.
    let ids: Vec<String> = world.fingerprints(&index).await.unwrap().into_keys().take(3).collect();
    for id in &ids {
        http(&world.es, reqwest::Method::DELETE, &format!("/{index}/_doc/{id}?refresh=true"), None).await;
    }
    let space =
        get_doc(&world.es, &index, &world.fingerprints(&index).await.unwrap().into_keys().next().unwrap())
            .await
            .unwrap()["space_key"]
            .clone();
    http(
        &world.es,
        reqwest::Method::PUT,
        &format!("/{index}/_doc/stale?refresh=true"),
        Some(json!({"title": "Stale", "space_key": space, "_timestamp": "2020-01-01T00:00:00Z"})),
    )
    .await;
    sim(&world.es).faults().reject_bulk_items(1.0);
    let second = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(!second.completed(), "{second}");
    assert!(second.stopped().unwrap().contains("3 item errors in a row"), "{:?}", second.stopped());
    assert!(second.incomplete_reason().unwrap().contains("too many errors"));
    // The spaces (rewritten by every sync) and the three documents: all rejected.
    assert!(second.failed.len() >= 3, "{:?}", second.failed);
    assert_eq!(second.es_indexed, 0);
    sim(&world.es).faults().clear();
    assert!(get_doc(&world.es, &index, "stale").await.is_some(), "nothing is deleted");
    assert_eq!(read_state(&es, &index).await.unwrap().cursor, cursor, "the cursor does not move");
}

/// Log lines written while `f` runs on this thread (the sync's own task logs progress).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn progress_lines_count_unchanged_documents_too() {
    let world = tiny_world().await;
    let index = index("progress");
    let config = sync_config(&world, &index, "    display_every: 10\n");
    let first = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(first.completed() && first.failed.is_empty(), "{first}");
    assert_eq!(first.es_indexed, first.created, "every write confirmed");
    // Nothing changed but the spaces (whose `_timestamp` is the sync's start): hardly
    // anything reaches the sink, yet progress is logged for every document seen.
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let second = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    drop(_guard);
    assert!(second.unchanged > second.seen / 2, "{second}");
    assert_eq!(second.unchanged + second.updated, second.seen, "{second}");
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains("progress: ")).collect();
    assert_eq!(lines.len() as u64, second.seen / 10, "{logs}");
    let last = lines.last().unwrap();
    let seen = second.seen / 10 * 10;
    assert!(last.contains(&format!("progress: {seen} documents seen, ")), "{last}");
    let unchanged: u64 =
        last.split(" unchanged").next().and_then(|s| s.rsplit(' ').next()).unwrap().parse().unwrap();
    assert!(unchanged + second.updated >= seen, "{last}");
}

/// A partition between a sync and Elasticsearch outlasts its lease: the sync's fence closes
/// before the lease can lapse, so its batches — retried through the outage — never land
/// after another process took the index over, and it cannot confirm the lease to write its
/// state. The index ends as the newer holder wrote it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_cut_off_from_elasticsearch_stops_writing_before_its_lease_lapses() {
    use confluence_connector::elastic::FENCE_CLOSED;
    use confluence_connector::elastic::{Lease, LeaseTimes};
    let target = test_server().await;
    let index = index("fence");
    let mut o = options(&target);
    // Requests are retried for longer than the outage lasts, as they are by default: after
    // 1, 3, 6, 10… s.
    (o.max_retries, o.retry_interval) = (20, Duration::from_secs(1));
    let es = client(&o);
    ensure_content_index(&es, &index, IndexMode::CreateIfMissing).await.unwrap();
    let times = LeaseTimes {
        ttl: Duration::from_secs(3),
        renew_every: Duration::from_millis(500),
        margin: Duration::from_millis(1500),
    };
    let a = Lease::acquire_with(&es, &index, "full", times).await.unwrap();
    let sink = Sink::start_fenced(es.clone(), &index, &o, Some(a.fence()));
    sink.send(doc("1", json!({"title": "A, before"}))).await;
    sink.flush().await;

    // Cut off for 4 s: A's renewals fail and its fence closes 1.5 s after the last one; its
    // write of page 2 waits for a retry.
    sim(&target).faults().refuse_connections_for(Duration::from_secs(4));
    sink.send(doc("2", json!({"title": "A, stale"}))).await;
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert!(!a.fence().holds());

    // Elasticsearch answers again; A's lease has lapsed and B takes the index over and
    // writes page 2 — before A's retry at 6 s would have.
    let b = Lease::acquire_with(&es, &index, "full", times).await.unwrap();
    let written = write(&es, &index, &o, vec![doc("2", json!({"title": "B"}))]).await;
    assert_eq!(written.indexed, 1);
    tokio::time::sleep(Duration::from_secs(3)).await;

    let report = sink.finish().await;
    assert_eq!(report.stopped.as_deref(), Some(FENCE_CLOSED), "{report:?}");
    assert_eq!(report.discarded, 1, "{report:?}");
    assert!(a.confirm().await.is_err(), "A may not write its state any more");
    http(&target, reqwest::Method::POST, &format!("/{index}/_refresh"), None).await;
    assert_eq!(get_doc(&target, &index, "2").await.unwrap()["title"], "B");
    assert_eq!(get_doc(&target, &index, "1").await.unwrap()["title"], "A, before");
    b.release().await;
    a.release().await;
}

/// An index someone (or a write before the template existed) made with dynamic mappings is
/// refused, naming the fields and the way out, rather than synced into: its `space_key` as
/// text would make every search by space and every deletion by space miss documents.
#[tokio::test]
async fn an_index_with_dynamic_mappings_is_refused_with_the_way_out() {
    let target = EsTarget::from_env_or_sim().await.unwrap();
    let index = index("dynamic");
    let doc = json!({"id": "1", "type": "page", "space_key": "ENG", "url": "https://wiki/1", "_timestamp": "2026-01-01T00:00:00Z"});
    let (status, _) =
        http(&target, reqwest::Method::PUT, &format!("/{index}/_doc/1?refresh=true"), Some(doc)).await;
    assert!(status == 200 || status == 201, "{status}");
    let o = options(&target);
    let error =
        ensure_content_index(&client(&o), &index, IndexMode::CreateIfMissing).await.unwrap_err().to_string();
    assert!(error.contains("space_key as text"), "{error}");
    assert!(error.contains("where the connector needs") && error.contains("space_key as keyword"), "{error}");
    assert!(error.contains(&format!("DELETE /{index}")) && error.contains("use_existing_index"), "{error}");
    // As asked, an existing index is used as it is.
    ensure_content_index(&client(&o), &index, IndexMode::UseExisting).await.unwrap();
    // An index made by the connector passes.
    let ours = self::index("ours");
    ensure_content_index(&client(&o), &ours, IndexMode::CreateIfMissing).await.unwrap();
    ensure_content_index(&client(&o), &ours, IndexMode::CreateIfMissing).await.unwrap();
}
