//! End-to-end checks of the HTTP surface: status codes and error bodies of the REST layer
//! (auth, content type, routing, parameters), near-real-time visibility, the endpoints'
//! success and error shapes, and injected faults.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use super::{EsSim, EsSimConfig};

/// A server and a client that talks to it as `elastic` (shared with the `_connector` tests).
pub(crate) struct Fixture {
    pub(crate) sim: EsSim,
    pub(crate) http: Client,
}

impl Fixture {
    pub(crate) async fn new(config: EsSimConfig) -> Fixture {
        Fixture { sim: EsSim::start(config).await.unwrap(), http: Client::new() }
    }

    /// One JSON request; the status and the body (`null` when empty).
    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut rb = self
            .http
            .request(method, format!("{}{}", self.sim.url(), path))
            .basic_auth("elastic", Some("changeme"));
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b.to_string());
        }
        let r = rb.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
    }

    async fn bulk(&self, path: &str, body: &str, content_type: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{}", self.sim.url(), path))
            .basic_auth("elastic", Some("changeme"))
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap())
    }
}

fn slow_refresh() -> EsSimConfig {
    EsSimConfig { refresh_interval: Duration::from_secs(3600), ..EsSimConfig::default() }
}

#[tokio::test]
async fn rest_layer_errors() {
    let f = Fixture::new(slow_refresh()).await;
    let r = f.http.get(f.sim.url()).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers().get_all("www-authenticate").iter().count(), 2);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "security_exception");
    let r = f.http.get(f.sim.url()).header("authorization", "ApiKey bm9wZTpub3Bl").send().await.unwrap();
    assert_eq!(r.status(), 401);

    let (s, b) = f.bulk("/_bulk", "{}\n", "text/plain").await;
    assert_eq!(
        (s.as_u16(), b),
        (406, json!({"error": "Content-Type header [text/plain] is not supported", "status": 406}))
    );
    let (s, b) = f
        .bulk(
            "/_bulk",
            "{\"index\":{\"_index\":\"v\"}}\n{}\n",
            "application/vnd.elasticsearch+x-ndjson; compatible-with=9",
        )
        .await;
    assert_eq!((s.as_u16(), &b["errors"]), (200, &json!(false)));
    let (s, b) = f
        .bulk(
            "/_bulk",
            "{\"index\":{\"_index\":\"v\"}}\n{}\n",
            "application/vnd.elasticsearch+json; compatible-with=7",
        )
        .await;
    assert_eq!((s.as_u16(), b["error"]["type"].as_str()), (400, Some("media_type_header_exception")));

    let (s, b) = f.call(Method::GET, "/_bulk", None).await;
    assert_eq!(
        (s.as_u16(), b["error"].as_str()),
        (405, Some("Incorrect HTTP method for uri [/_bulk] and method [GET], allowed: [POST, PUT]"))
    );
    let (s, b) = f.call(Method::GET, "/_nope/x/y/z", None).await;
    assert_eq!(
        (s.as_u16(), b["error"].as_str()),
        (400, Some("no handler found for uri [/_nope/x/y/z] and method [GET]"))
    );
    let (s, b) = f.call(Method::GET, "/_search?bogus=1", None).await;
    assert_eq!(
        (s.as_u16(), b["error"]["reason"].as_str()),
        (400, Some("request [/_search] contains unrecognized parameter: [bogus]"))
    );
    let (s, _) = f.call(Method::GET, "/_security/_authenticate", None).await;
    assert_eq!(s, 200);

    // A body where the endpoint reads none, even `{}`, even before the index is looked up.
    for (method, path) in
        [(Method::POST, "/nope/_refresh"), (Method::GET, "/_cluster/health"), (Method::DELETE, "/nope")]
    {
        let (s, b) = f.call(method.clone(), path, Some(json!({}))).await;
        let reason = format!("request [{method} {path}] does not support having a body");
        assert_eq!(
            (s.as_u16(), &b["error"]["root_cause"][0]["type"]),
            (400, &json!("illegal_argument_exception"))
        );
        assert_eq!(b["error"]["reason"].as_str(), Some(reason.as_str()));
    }
    let (s, _) = f.call(Method::PUT, "/with-body", Some(json!({}))).await;
    assert_eq!(s, 200);
}

/// Parameters are per method, as in Elasticsearch's REST spec (`tests/rest_spec.rs` checks
/// every one against the spec when it is at hand): a GET's parameter on a DELETE is refused.
#[tokio::test]
async fn parameters_follow_the_method() {
    let f = Fixture::new(slow_refresh()).await;
    for (method, path, param) in [
        (Method::DELETE, "/i/_doc/1", "realtime"),
        (Method::GET, "/_count", "size"),
        (Method::POST, "/_refresh", "timeout"),
        (Method::PUT, "/_connector/c", "hard"),
    ] {
        let (s, b) = f.call(method.clone(), &format!("{path}?{param}=1"), None).await;
        let reason = format!("request [{path}] contains unrecognized parameter: [{param}]");
        assert_eq!(
            (s.as_u16(), b["error"]["reason"].as_str()),
            (400, Some(reason.as_str())),
            "{method} {path}"
        );
    }
    let (s, _) = f.call(Method::GET, "/_search?analyze_wildcard=true&suggest_mode=missing", None).await;
    assert_eq!(s, 200);
    let template = json!({"index_patterns": ["t-*"]});
    let (s, b) = f.call(Method::POST, "/_index_template/t", Some(template)).await;
    assert_eq!((s.as_u16(), &b["acknowledged"]), (200, &json!(true)));
}

#[tokio::test]
async fn index_lifecycle_and_near_real_time() {
    let f = Fixture::new(slow_refresh()).await;
    let (s, b) = f.call(Method::PUT, "/idx", Some(json!({"settings": {"number_of_shards": 1}, "mappings": {"_meta": {"v": 1}, "properties": {"n": {"type": "long"}}}, "aliases": {"idx-alias": {}}}))).await;
    assert_eq!(
        (s.as_u16(), b),
        (200, json!({"acknowledged": true, "shards_acknowledged": true, "index": "idx"}))
    );
    let (s, b) = f.call(Method::PUT, "/idx", None).await;
    assert_eq!((s.as_u16(), b["error"]["type"].as_str()), (400, Some("resource_already_exists_exception")));
    assert_eq!(f.call(Method::HEAD, "/idx", None).await.0, 200);
    assert_eq!(f.call(Method::HEAD, "/missing", None).await.0, 404);
    let (s, b) = f.call(Method::GET, "/missing", None).await;
    assert_eq!((s.as_u16(), b["error"]["type"].as_str()), (404, Some("index_not_found_exception")));
    let (_, b) = f.call(Method::GET, "/idx-alias", None).await;
    assert_eq!(b["idx"]["mappings"]["_meta"], json!({"v": 1}));
    assert_eq!(b["idx"]["settings"]["index"]["number_of_shards"], "1");

    let (s, b) = f.call(Method::PUT, "/idx/_doc/1", Some(json!({"n": 1}))).await;
    assert_eq!((s.as_u16(), &b["result"]), (201, &json!("created")));
    let (_, b) = f.call(Method::GET, "/idx/_doc/1", None).await;
    assert_eq!(b["found"], true);
    let (_, b) = f.call(Method::POST, "/idx/_search", Some(json!({}))).await;
    assert_eq!(b["hits"]["total"]["value"], 0, "not searchable before a refresh");
    f.call(Method::POST, "/idx/_refresh", None).await;
    let (_, b) = f.call(Method::POST, "/idx-alias/_count", None).await;
    assert_eq!(b["count"], 1);

    let (s, b) = f
        .call(Method::POST, "/idx/_update/1?if_seq_no=7&if_primary_term=1", Some(json!({"doc": {"n": 2}})))
        .await;
    assert_eq!((s.as_u16(), b["error"]["type"].as_str()), (409, Some("version_conflict_engine_exception")));
    let (s, b) = f
        .call(
            Method::POST,
            "/idx/_update/1?if_seq_no=0&if_primary_term=1&refresh=true",
            Some(json!({"doc": {"n": 2}})),
        )
        .await;
    assert_eq!((s.as_u16(), &b["result"], &b["_seq_no"]), (200, &json!("updated"), &json!(1)));
    let (s, b) = f.call(Method::POST, "/idx/_update/9", Some(json!({"doc": {"n": 2}}))).await;
    assert_eq!((s.as_u16(), b["error"]["type"].as_str()), (404, Some("document_missing_exception")));
    let (s, b) = f.call(Method::DELETE, "/idx/_doc/9", None).await;
    assert_eq!((s.as_u16(), &b["result"]), (404, &json!("not_found")));
    let (s, b) =
        f.call(Method::PUT, "/idx/_mapping", Some(json!({"properties": {"n": {"type": "keyword"}}}))).await;
    assert_eq!(
        (s.as_u16(), b["error"]["reason"].as_str()),
        (400, Some("mapper [n] cannot be changed from type [long] to [keyword]"))
    );
    let (s, _) = f.call(Method::DELETE, "/idx-alias", None).await;
    assert_eq!(s, 400);
    let (s, _) = f.call(Method::DELETE, "/idx", None).await;
    assert_eq!(s, 200);
    assert_eq!(f.call(Method::HEAD, "/idx", None).await.0, 404);
}

#[tokio::test]
async fn background_refresh_makes_documents_searchable() {
    let f =
        Fixture::new(EsSimConfig { refresh_interval: Duration::from_millis(50), ..EsSimConfig::default() })
            .await;
    f.call(Method::PUT, "/nrt/_doc/1", Some(json!({"a": 1}))).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, b) = f.call(Method::GET, "/nrt/_count", None).await;
    assert_eq!(b["count"], 1);
}

#[tokio::test]
async fn search_pit_scroll_template_and_delete_by_query() {
    let f = Fixture::new(slow_refresh()).await;
    let mut nd = String::new();
    for i in 0..30 {
        nd.push_str(&format!("{{\"index\":{{\"_index\":\"s\",\"_id\":\"{i}\"}}}}\n{{\"n\":{i},\"acl\":[\"g{}\"],\"title\":\"page number {i}\"}}\n", i % 3));
    }
    let (s, b) = f.bulk("/_bulk?refresh=wait_for", &nd, "application/x-ndjson").await;
    assert_eq!((s.as_u16(), &b["errors"]), (200, &json!(false)));

    let (_, b) = f.call(Method::POST, "/s/_search", Some(json!({"size": 3, "from": 2, "sort": [{"n": "desc"}], "_source": false, "query": {"range": {"n": {"gte": 10}}}}))).await;
    assert_eq!(b["hits"]["total"], json!({"value": 20, "relation": "eq"}));
    let ids: Vec<&str> =
        b["hits"]["hits"].as_array().unwrap().iter().map(|h| h["_id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["27", "26", "25"]);
    assert!(b["hits"]["hits"][0].get("_source").is_none());

    let (s, b) = f.call(Method::POST, "/s/_pit?keep_alive=1m", None).await;
    assert_eq!(s, 200);
    let pit = b["id"].as_str().unwrap().to_string();
    // Writes after the PIT opened are not seen through it.
    f.bulk("/_bulk?refresh=true", "{\"delete\":{\"_index\":\"s\",\"_id\":\"0\"}}\n", "application/x-ndjson")
        .await;
    let (s, b) = f.call(Method::POST, "/s/_search", Some(json!({"pit": {"id": pit}}))).await;
    assert_eq!((s.as_u16(), b["error"]["reason"].as_str()), (400, Some("Validation Failed: 1: [indices] cannot be used with point in time. Do not specify any index with point in time.;")));
    let (_, b) = f
        .call(
            Method::POST,
            "/_search",
            Some(json!({"size": 100, "pit": {"id": pit, "keep_alive": "1m"}, "sort": ["_doc"]})),
        )
        .await;
    assert_eq!(b["hits"]["total"]["value"], 30);
    assert_eq!(b["pit_id"], json!(pit));
    assert_eq!(b["hits"]["hits"][0]["sort"].as_array().unwrap().len(), 2, "implicit _shard_doc tiebreak");
    // A `search_after` with one value per sort field is taken (no tiebreaker added), as by
    // Elasticsearch 8.19: its hits then carry no `_shard_doc` value.
    let page = json!({"size": 1, "pit": {"id": pit}, "sort": [{"n": "asc"}], "search_after": [3]});
    let (s, b) = f.call(Method::POST, "/_search", Some(page)).await;
    assert_eq!((s.as_u16(), &b["hits"]["hits"][0]["sort"]), (200, &json!([4])), "{b}");
    let (s, b) = f.call(Method::DELETE, "/_pit", Some(json!({"id": pit}))).await;
    assert_eq!((s.as_u16(), b), (200, json!({"succeeded": true, "num_freed": 1})));
    let (s, _) = f.call(Method::POST, "/_search", Some(json!({"pit": {"id": pit}}))).await;
    assert_eq!(s, 404);

    let (_, b) = f.call(Method::POST, "/s/_search?scroll=1m", Some(json!({"size": 10, "sort": ["n"]}))).await;
    let scroll_id = b["_scroll_id"].as_str().unwrap().to_string();
    let mut n = b["hits"]["hits"].as_array().unwrap().len();
    loop {
        let (_, b) = f
            .call(Method::POST, "/_search/scroll", Some(json!({"scroll": "1m", "scroll_id": scroll_id})))
            .await;
        let page = b["hits"]["hits"].as_array().unwrap().len();
        if page == 0 {
            break;
        }
        n += page;
    }
    assert_eq!(n, 29);
    let (s, _) = f.call(Method::DELETE, "/_search/scroll", Some(json!({"scroll_id": scroll_id}))).await;
    assert_eq!(s, 200);

    let dls = r#"{"query":{"bool":{"should":[{"bool":{"must_not":{"exists":{"field":"acl"}}}},{"terms":{"acl.keyword":{{#toJson}}access_control{{/toJson}}}}]}}}"#;
    let (s, b) = f
        .call(
            Method::POST,
            "/s/_search/template",
            Some(json!({"source": dls, "params": {"access_control": ["g1"]}})),
        )
        .await;
    assert_eq!((s.as_u16(), &b["hits"]["total"]["value"]), (200, &json!(10)));
    let (_, b) =
        f.call(Method::POST, "/s/_search", Some(json!({"query": {"match": {"title": "NUMBER 7"}}}))).await;
    assert_eq!(b["hits"]["hits"][0]["_id"], "7");

    let (s, b) = f
        .call(
            Method::POST,
            "/s/_delete_by_query?refresh=true",
            Some(json!({"query": {"term": {"acl.keyword": "g2"}}})),
        )
        .await;
    assert_eq!((s.as_u16(), &b["deleted"]), (200, &json!(10)));
    let (_, b) = f.call(Method::GET, "/s/_count", None).await;
    assert_eq!(b["count"], 19);
}

#[tokio::test]
async fn faults_and_request_log() {
    let f = Fixture::new(slow_refresh()).await;
    let faults = f.sim.faults();
    faults.fail_next_requests(1, 429, Some("_bulk"));
    let (s, b) = f.bulk("/_bulk", "{\"index\":{\"_index\":\"x\"}}\n{}\n", "application/x-ndjson").await;
    assert_eq!((s.as_u16(), b["error"]["type"].as_str()), (429, Some("es_rejected_execution_exception")));
    faults.fail_request_on(1, 503, None);
    assert_eq!(f.call(Method::GET, "/", None).await.0, 503);
    assert_eq!(f.call(Method::GET, "/", None).await.0, 200);

    faults.slow_responses(Duration::from_millis(150), 1.0);
    let t = std::time::Instant::now();
    f.call(Method::GET, "/", None).await;
    assert!(t.elapsed() >= Duration::from_millis(150));
    faults.clear();

    faults.refuse_connections_for(Duration::from_millis(400));
    tokio::time::sleep(Duration::from_millis(120)).await;
    let fresh = Client::new();
    let r = fresh.get(f.sim.url()).basic_auth("elastic", Some("changeme")).send().await;
    assert!(r.is_err(), "connections are refused");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = fresh.get(f.sim.url()).basic_auth("elastic", Some("changeme")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let log = f.sim.requests();
    assert_eq!(log.count("POST /_bulk"), 1);
    assert_eq!(log.count("GET /"), 4, "{:?}", log.counts());
    assert_eq!(log.total(), 5);
}

#[tokio::test]
async fn version_8_and_refresh_disabled_indices() {
    let f = Fixture::new(EsSimConfig {
        version: "8.15.0".into(),
        refresh_interval: Duration::from_millis(30),
        ..EsSimConfig::default()
    })
    .await;
    let (_, b) = f.call(Method::GET, "/", None).await;
    assert_eq!(b["version"]["number"], "8.15.0");
    let (s, _) = f
        .bulk(
            "/_bulk",
            "{\"index\":{\"_index\":\"v\"}}\n{}\n",
            "application/vnd.elasticsearch+x-ndjson; compatible-with=9",
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = f
        .bulk(
            "/_bulk",
            "{\"index\":{\"_index\":\"v\"}}\n{}\n",
            "application/vnd.elasticsearch+x-ndjson; compatible-with=8",
        )
        .await;
    assert_eq!(s, 200);
    f.call(Method::PUT, "/manual", Some(json!({"settings": {"index": {"refresh_interval": "-1"}}}))).await;
    f.call(Method::PUT, "/manual/_doc/1", Some(json!({"a": 1}))).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(f.call(Method::GET, "/manual/_count", None).await.1["count"], 0);
    f.call(Method::POST, "/_refresh", None).await;
    assert_eq!(f.call(Method::GET, "/manual/_count", None).await.1["count"], 1);
}

#[tokio::test]
async fn pipelines_and_stored_templates() {
    let f = Fixture::new(slow_refresh()).await;
    let (s, b) = f.call(Method::GET, "/_ingest/pipeline/search-default-ingestion", None).await;
    assert_eq!(s, 200);
    assert_eq!(b["search-default-ingestion"]["processors"].as_array().unwrap().len(), 6);
    let (s, b) =
        f.call(Method::PUT, "/_ingest/pipeline/bad", Some(json!({"processors": [{"nope": {}}]}))).await;
    assert_eq!(
        (s.as_u16(), b["error"]["reason"].as_str()),
        (400, Some("No processor type exists with name [nope]"))
    );
    let (s, _) = f
        .call(
            Method::PUT,
            "/_ingest/pipeline/lower",
            Some(json!({"processors": [{"lowercase": {"field": "t"}}]})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) =
        f.call(Method::PUT, "/p/_doc/1?pipeline=lower&refresh=true", Some(json!({"t": "ABC"}))).await;
    assert_eq!(s, 201);
    assert_eq!(f.call(Method::GET, "/p/_doc/1", None).await.1["_source"], json!({"t": "abc"}));
    assert_eq!(f.call(Method::GET, "/_ingest/pipeline/missing", None).await.0, 404);

    let (s, _) = f.call(Method::PUT, "/_scripts/by-t", Some(json!({"script": {"lang": "mustache", "source": {"query": {"term": {"t.keyword": "{{t}}"}}}}}))).await;
    assert_eq!(s, 200);
    let (_, b) = f
        .call(Method::POST, "/p/_search/template", Some(json!({"id": "by-t", "params": {"t": "abc"}})))
        .await;
    assert_eq!(b["hits"]["total"]["value"], 1);
}

#[tokio::test]
async fn aliases_settings_and_cluster_endpoints() {
    let f = Fixture::new(slow_refresh()).await;
    f.call(Method::PUT, "/.elastic-connectors-v1", Some(json!({"settings": {"hidden": true}}))).await;
    let (s, b) = f.call(Method::POST, "/_aliases", Some(json!({"actions": [{"add": {"index": ".elastic-connectors-v1", "alias": ".elastic-connectors", "is_write_index": true}}]}))).await;
    assert_eq!((s.as_u16(), b), (200, json!({"acknowledged": true, "errors": false})));
    let (_, b) = f.call(Method::GET, "/_alias/.elastic-connectors", None).await;
    assert_eq!(
        b,
        json!({".elastic-connectors-v1": {"aliases": {".elastic-connectors": {"is_write_index": true}}}})
    );
    let (s, b) = f.call(Method::GET, "/_alias/nope", None).await;
    assert_eq!((s.as_u16(), b), (404, json!({"error": "alias [nope] missing", "status": 404})));
    // Writes through the alias land in the concrete index; hidden indices stay out of `*`.
    let (s, b) = f
        .call(
            Method::POST,
            "/.elastic-connectors/_doc?refresh=true",
            Some(json!({"service_type": "confluence"})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), &b["_index"], &b["forced_refresh"]),
        (201, &json!(".elastic-connectors-v1"), &json!(true))
    );
    assert_eq!(f.call(Method::GET, "/*/_count", None).await.1["count"], 0);
    assert_eq!(f.call(Method::GET, "/*/_count?expand_wildcards=all", None).await.1["count"], 1);
    let (_, b) = f
        .call(
            Method::POST,
            "/.elastic-connectors/_search?expand_wildcards=hidden",
            Some(json!({"query": {"term": {"service_type": "confluence"}}, "seq_no_primary_term": true})),
        )
        .await;
    assert_eq!(b["hits"]["hits"][0]["_seq_no"], 0);

    let (_, b) = f.call(Method::GET, "/.elastic-connectors-v1/_settings", None).await;
    assert_eq!(b[".elastic-connectors-v1"]["settings"]["index"]["hidden"], "true");
    let (s, b) =
        f.call(Method::PUT, "/bad", Some(json!({"settings": {"index": {"number_of_shards": "x"}}}))).await;
    assert_eq!((s.as_u16(), b["error"]["type"].as_str()), (400, Some("illegal_argument_exception")));
    let (s, b) = f.call(Method::PUT, "/Bad", None).await;
    assert_eq!(
        (s.as_u16(), b["error"]["reason"].as_str()),
        (400, Some("Invalid index name [Bad], must be lowercase"))
    );
    let (s, b) = f
        .call(Method::PUT, "/bad", Some(json!({"mappings": {"properties": {"f": {"type": "strng"}}}})))
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["root_cause"][0]["reason"].as_str()),
        (400, Some("No handler for type [strng] declared on field [f]"))
    );

    assert_eq!(f.call(Method::GET, "/_license", None).await.1["license"]["status"], "active");
    assert_eq!(f.call(Method::GET, "/_cluster/health", None).await.0, 200);
    let (_, b) = f
        .call(
            Method::POST,
            "/_render/template",
            Some(json!({"source": "{\"size\": {{n}}}", "params": {"n": 3}})),
        )
        .await;
    assert_eq!(b, json!({"template_output": {"size": 3}}));
    let (s, _) = f.call(Method::DELETE, "/_search/scroll", Some(json!({"scroll_id": "nope"}))).await;
    assert_eq!(s, 404);
    let (s, b) = f.call(Method::POST, "/_search", Some(json!({"aggs": {}}))).await;
    assert_eq!((s.as_u16(), b["error"]["type"].as_str()), (400, Some("illegal_argument_exception")));
}

#[tokio::test]
async fn vendored_accept_headers() {
    let f = Fixture::new(slow_refresh()).await;
    let get = |accept: &'static str| {
        f.http.get(f.sim.url()).basic_auth("elastic", Some("changeme")).header("accept", accept).send()
    };
    assert_eq!(get("application/vnd.elasticsearch+json; compatible-with=9").await.unwrap().status(), 200);
    assert_eq!(get("application/vnd.elasticsearch+json; compatible-with=8").await.unwrap().status(), 200);
    assert_eq!(get("application/vnd.elasticsearch+json; compatible-with=7").await.unwrap().status(), 400);
    assert_eq!(get("application/json").await.unwrap().status(), 200);
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<EsSim>();
    check::<super::EsTarget>();
    check::<super::EsFaults>();
    check::<super::RequestLog>();
}

#[tokio::test]
async fn has_privileges_answers_for_the_caller_as_elasticsearch_does() {
    use super::{EsApiKey, Role};
    let reader = EsApiKey::new("ro-key", "s3cret", Role::Reader);
    let f = Fixture::new(EsSimConfig { api_keys: vec![reader.clone()], ..EsSimConfig::default() }).await;
    let ask = json!({
        "cluster": ["monitor", "manage_index_templates"],
        "index": [
            {"names": ["search-a", ".confluence-connector-leases"], "privileges": ["read", "write"]},
            {"names": "search-a", "privileges": ["create_index"]}
        ]
    });
    let (status, body) = f.call(Method::POST, "/_security/user/_has_privileges", Some(ask.clone())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["username"], "elastic");
    assert_eq!(body["has_all_requested"], true);
    assert_eq!(body["index"]["search-a"], json!({"read": true, "write": true, "create_index": true}));
    assert_eq!(body["application"], json!({}));

    // The reader key: read, not write; the answer names the key's owner.
    let r = f
        .http
        .get(format!("{}/_security/user/_has_privileges", f.sim.url()))
        .header("Authorization", format!("ApiKey {}", reader.encoded()))
        .header("content-type", "application/json")
        .body(ask.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["has_all_requested"], false);
    assert_eq!(body["cluster"], json!({"monitor": true, "manage_index_templates": false}));
    assert_eq!(body["index"]["search-a"], json!({"read": true, "write": false, "create_index": false}));
    assert_eq!(body["index"][".confluence-connector-leases"], json!({"read": true, "write": false}));

    // Refused as Elasticsearch refuses: an unknown privilege, no privilege, another user.
    let (status, body) = f
        .call(
            Method::POST,
            "/_security/user/_has_privileges",
            Some(json!({"index": [{"names": ["x"], "privileges": ["wrte"]}]})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["reason"].as_str().unwrap().starts_with("unknown index privilege [wrte]"),
        "{body}"
    );
    let (status, body) = f.call(Method::POST, "/_security/user/_has_privileges", Some(json!({}))).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["reason"],
        "failed to parse privileges check [elastic/has_privileges]. All privilege fields [cluster,index,applications] are missing"
    );
    let (status, _) = f.call(Method::POST, "/_security/user/bob/_has_privileges", Some(ask.clone())).await;
    assert_eq!(status, 400);
    let (status, body) = f.call(Method::POST, "/_security/user/elastic/_has_privileges", Some(ask)).await;
    assert_eq!((status.as_u16(), &body["has_all_requested"]), (200, &json!(true)));

    // Security off: no such endpoint, as on a node with xpack.security.enabled: false.
    let open = Fixture::new(EsSimConfig { security_enabled: false, ..EsSimConfig::default() }).await;
    let (status, body) = open
        .call(Method::POST, "/_security/user/_has_privileges", Some(json!({"cluster": ["monitor"]})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "no handler found for uri [/_security/user/_has_privileges] and method [POST]");
}
