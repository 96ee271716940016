//! The connector API as clients other than Kibana see it: the backing indices are real
//! indices (hidden, aliased, mapped), direct `_doc` reads, `_search` and `_update` with
//! `if_seq_no`/`if_primary_term` share one history with the API, and the request log and
//! fault injection cover `_connector` routes.

use reqwest::Method;
use serde_json::json;

use crate::elastic::tests_http::Fixture;
use crate::elastic::EsSimConfig;

async fn fixture() -> Fixture {
    Fixture::new(EsSimConfig::default()).await
}

/// Creates connector `id` on `search-x`.
async fn connector(f: &Fixture, id: &str) {
    let body = json!({"index_name": "search-x", "service_type": "confluence", "name": "wiki"});
    let (s, b) = f.call(Method::PUT, &format!("/_connector/{id}"), Some(body)).await;
    assert_eq!(s, 201, "{b}");
}

/// What creates answers 201 Created, what replaces 200 — as Elasticsearch's responses report
/// it (a secret `POST` always 200, a sync-job `POST` always 201).
#[tokio::test]
async fn creations_answer_201() {
    let f = fixture().await;
    let body = json!({"index_name": "search-s", "service_type": "confluence"});
    let (s, _) = f.call(Method::PUT, "/_connector/s1", Some(body.clone())).await;
    assert_eq!(s, 201);
    let (s, b) = f.call(Method::PUT, "/_connector/s1", Some(body)).await;
    assert_eq!((s.as_u16(), b["result"].as_str()), (200, Some("updated")));
    let (s, _) = f.call(Method::POST, "/_connector", Some(json!({"name": "p"}))).await;
    assert_eq!(s, 201);
    let (s, _) = f.call(Method::POST, "/_connector/_sync_job", Some(json!({"id": "s1"}))).await;
    assert_eq!(s, 201);
    let (s, _) = f.call(Method::PUT, "/_connector/_secret/k", Some(json!({"value": "a"}))).await;
    assert_eq!(s, 201);
    let (s, _) = f.call(Method::PUT, "/_connector/_secret/k", Some(json!({"value": "b"}))).await;
    assert_eq!(s, 200);
    let (s, _) = f.call(Method::POST, "/_connector/_secret", Some(json!({"value": "c"}))).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_new_connector_has_elasticsearch_defaults_in_a_hidden_aliased_index() {
    let f = fixture().await;
    connector(&f, "c1").await;
    let (_, c) = f.call(Method::GET, "/_connector/c1", None).await;
    assert_eq!(c["status"], "created");
    assert_eq!(c["scheduling"]["full"], json!({"enabled": false, "interval": "0 0 0 * * ?"}));
    assert_eq!(c["pipeline"]["name"], "search-default-ingestion");
    assert_eq!(c["filtering"][0]["active"]["rules"][0]["id"], "DEFAULT");
    assert_eq!(c["filtering"][0]["draft"]["validation"]["state"], "valid");
    let (_, idx) = f.call(Method::GET, "/.elastic-connectors-v1", None).await;
    let v1 = &idx[".elastic-connectors-v1"];
    assert_eq!(v1["aliases"], json!({".elastic-connectors": {}}));
    assert_eq!(v1["settings"]["index"]["hidden"], "true");
    assert_eq!(v1["mappings"]["dynamic"], "false");
    assert_eq!(v1["mappings"]["properties"]["index_name"], json!({"type": "keyword"}));
    // Hidden: a plain wildcard does not see it, `expand_wildcards=hidden` does.
    let (_, all) = f.call(Method::GET, "/*/_search", None).await;
    assert_eq!(all["hits"]["total"]["value"], 0);
    let (_, hidden) = f.call(Method::GET, "/.elastic-connectors/_search?expand_wildcards=hidden", None).await;
    assert_eq!(hidden["hits"]["hits"][0]["_id"], "c1");
}

#[tokio::test]
async fn direct_updates_and_the_api_share_sequence_numbers() {
    let f = fixture().await;
    connector(&f, "c1").await;
    let (_, doc) = f.call(Method::GET, "/.elastic-connectors/_doc/c1", None).await;
    let (seq, term) = (doc["_seq_no"].as_i64().unwrap(), doc["_primary_term"].as_i64().unwrap());
    // The API moves the document on…
    let (s, _) = f.call(Method::PUT, "/_connector/c1/_check_in", None).await;
    assert_eq!(s, 200);
    // …so an update holding the old sequence number conflicts, as on a real cluster.
    let path = format!("/.elastic-connectors/_update/c1?if_seq_no={seq}&if_primary_term={term}");
    let (s, e) = f.call(Method::POST, &path, Some(json!({"doc": {"status": "connected"}}))).await;
    assert_eq!(s, 409);
    assert_eq!(e["error"]["type"], "version_conflict_engine_exception");
    let (_, doc) = f.call(Method::GET, "/.elastic-connectors/_doc/c1", None).await;
    let path = format!("/.elastic-connectors/_update/c1?if_seq_no={}&if_primary_term=1", doc["_seq_no"]);
    let (s, _) =
        f.call(Method::POST, &path, Some(json!({"doc": {"status": "configured", "error": null}}))).await;
    assert_eq!(s, 200);
    let (_, c) = f.call(Method::GET, "/_connector/c1", None).await;
    assert_eq!(c["status"], "configured");
    assert!(c["last_seen"].is_string());
}

#[tokio::test]
async fn sync_jobs_follow_the_protocol_states() {
    let f = fixture().await;
    connector(&f, "c1").await;
    let post = |job_type: &str| json!({"id": "c1", "job_type": job_type});
    let (_, j) = f.call(Method::POST, "/_connector/_sync_job", Some(post("full"))).await;
    let id = j["id"].as_str().unwrap().to_string();
    let (_, job) = f.call(Method::GET, &format!("/_connector/_sync_job/{id}"), None).await;
    assert_eq!(
        (job["status"].as_str(), job["trigger_method"].as_str()),
        (Some("pending"), Some("on_demand"))
    );
    assert_eq!(job["connector"]["filtering"]["rules"][0]["id"], "DEFAULT");
    // An error needs a running job.
    let (s, _) =
        f.call(Method::PUT, &format!("/_connector/_sync_job/{id}/_error"), Some(json!({"error": "x"}))).await;
    assert_eq!(s, 400);
    let claim = json!({"worker_hostname": "host-1", "sync_cursor": {"at": "2024"}});
    let (s, _) =
        f.call(Method::PUT, &format!("/_connector/_sync_job/{id}/_claim"), Some(claim.clone())).await;
    assert_eq!(s, 200);
    let string_cursor = json!({"worker_hostname": "host-1", "sync_cursor": "2024"});
    let (s, _) =
        f.call(Method::PUT, &format!("/_connector/_sync_job/{id}/_claim"), Some(string_cursor)).await;
    assert_eq!(s, 400);
    // Claim checks no status, as in Elasticsearch: a second worker's claim succeeds too.
    let again = json!({"worker_hostname": "host-2"});
    let (s, _) = f.call(Method::PUT, &format!("/_connector/_sync_job/{id}/_claim"), Some(again)).await;
    assert_eq!(s, 200);
    let stats =
        json!({"deleted_document_count": 1, "indexed_document_count": 5, "indexed_document_volume": 2});
    let (s, _) = f.call(Method::PUT, &format!("/_connector/_sync_job/{id}/_stats"), Some(stats)).await;
    assert_eq!(s, 200);
    // Cancel of a running job only asks for it…
    f.call(Method::PUT, &format!("/_connector/_sync_job/{id}/_cancel"), None).await;
    let (_, job) = f.call(Method::GET, &format!("/_connector/_sync_job/{id}"), None).await;
    assert_eq!(job["status"], "canceling");
    assert_eq!(job["worker_hostname"], "host-2");
    assert_eq!(job["connector"]["sync_cursor"], json!({"at": "2024"}));
    assert_eq!(job["indexed_document_count"], 5);
    // …of a pending one cancels at once; of a canceled one is refused.
    let (_, j) = f.call(Method::POST, "/_connector/_sync_job", Some(post("access_control"))).await;
    let acl = j["id"].as_str().unwrap().to_string();
    f.call(Method::PUT, &format!("/_connector/_sync_job/{acl}/_cancel"), None).await;
    let (_, job) = f.call(Method::GET, &format!("/_connector/_sync_job/{acl}"), None).await;
    assert_eq!(job["status"], "canceled");
    assert_eq!(job["connector"]["index_name"], ".search-acl-filter-search-x");
    assert!(job["canceled_at"].is_string() && job["completed_at"].is_string());
    let (s, _) = f.call(Method::PUT, &format!("/_connector/_sync_job/{acl}/_cancel"), None).await;
    assert_eq!(s, 400);
    // The service's pending-jobs query works on the alias.
    let q = json!({"query": {"bool": {"must": [{"terms": {"status": ["pending", "canceling"]}}, {"terms": {"connector.id": ["c1"]}}]}}, "sort": [{"created_at": "asc"}]});
    let (_, hits) =
        f.call(Method::POST, "/.elastic-connectors-sync-jobs/_search?expand_wildcards=hidden", Some(q)).await;
    assert_eq!(hits["hits"]["total"]["value"], 1);
}

#[tokio::test]
async fn connector_calls_are_logged_and_faults_apply_to_them() {
    let f = fixture().await;
    connector(&f, "c1").await;
    f.sim.faults().fail_next_requests(1, 429, Some("_check_in"));
    let (s, e) = f.call(Method::PUT, "/_connector/c1/_check_in", None).await;
    assert_eq!(s, 429);
    assert_eq!(e["error"]["type"], "es_rejected_execution_exception");
    let (s, _) = f.call(Method::PUT, "/_connector/c1/_check_in", None).await;
    assert_eq!(s, 200);
    f.sim.faults().fail_next_requests(1, 409, Some("PUT /_connector/{connector_id}/_filtering/_validation"));
    let body = json!({"validation": {"state": "valid", "errors": []}});
    let (s, _) = f.call(Method::PUT, "/_connector/c1/_filtering/_validation", Some(body)).await;
    assert_eq!(s, 409);
    let log = f.sim.requests();
    assert_eq!(log.count("PUT /_connector/{connector_id}/_check_in"), 2);
    assert_eq!(log.count("PUT /_connector/c1/_check_in"), 2);
    assert_eq!(log.count("PUT /_connector/{connector_id}"), 1);
}

#[tokio::test]
async fn secrets_round_trip() {
    let f = fixture().await;
    let (_, s) = f.call(Method::POST, "/_connector/_secret", Some(json!({"value": "k"}))).await;
    let id = s["id"].as_str().unwrap().to_string();
    let (_, got) = f.call(Method::GET, &format!("/_connector/_secret/{id}"), None).await;
    assert_eq!(got, json!({"id": id, "value": "k"}));
    let (_, put) =
        f.call(Method::PUT, &format!("/_connector/_secret/{id}"), Some(json!({"value": "k2"}))).await;
    assert_eq!(put["result"], "updated");
    let (_, del) = f.call(Method::DELETE, &format!("/_connector/_secret/{id}"), None).await;
    assert_eq!(del, json!({"deleted": true}));
    let (s, _) = f.call(Method::GET, &format!("/_connector/_secret/{id}"), None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn the_service_preflight_and_connector_query_work_on_the_indices() {
    let f = fixture().await;
    // Elastic's service: HEAD the concrete indices, PUT them without a body when missing.
    let (s, _) = f.call(Method::HEAD, "/.elastic-connectors-v1", None).await;
    assert_eq!(s, 404);
    for index in ["/.elastic-connectors-v1", "/.elastic-connectors-sync-jobs-v1"] {
        let (s, b) = f.call(Method::PUT, index, None).await;
        assert_eq!(s, 200, "{b}");
    }
    let (_, idx) = f.call(Method::GET, "/.elastic-connectors-sync-jobs", None).await;
    let v1 = &idx[".elastic-connectors-sync-jobs-v1"];
    assert_eq!(v1["aliases"], json!({".elastic-connectors-sync-jobs": {}}));
    assert_eq!(v1["mappings"]["properties"]["connector"]["properties"]["id"], json!({"type": "keyword"}));
    connector(&f, "mine").await;
    let other = json!({"index_name": "content-other", "service_type": "confluence", "is_native": true});
    f.call(Method::PUT, "/_connector/native-one", Some(other)).await;
    f.call(Method::PUT, "/_connector/gone", Some(json!({"service_type": "confluence"}))).await;
    f.call(Method::DELETE, "/_connector/gone", None).await;
    // The service's query for the connectors it runs (protocol/connectors.py).
    let custom = json!({"bool": {"must_not": [{"term": {"deleted": true}}], "filter": [{"terms": {"_id": ["mine", "gone"]}}]}});
    let q = json!({"query": custom, "from": 0, "size": 100, "seq_no_primary_term": true});
    let (_, hits) =
        f.call(Method::POST, "/.elastic-connectors/_search?expand_wildcards=hidden", Some(q)).await;
    assert_eq!(hits["hits"]["total"]["value"], 1);
    assert_eq!(hits["hits"]["hits"][0]["_id"], "mine");
    assert!(hits["hits"]["hits"][0]["_seq_no"].is_u64());
    let native = json!({"bool": {"filter": [{"terms": {"service_type": ["confluence"]}}, {"term": {"is_native": true}}]}});
    let (_, hits) =
        f.call(Method::POST, "/.elastic-connectors/_search", Some(json!({"query": native}))).await;
    assert_eq!(hits["hits"]["hits"][0]["_id"], "native-one");
}

/// The single-purpose updates of a connector, end to end over HTTP.
#[tokio::test]
async fn single_purpose_updates() {
    let f = fixture().await;
    let put = |path: &str, body: serde_json::Value| {
        let path = path.to_string();
        let f = &f;
        async move { f.call(Method::PUT, &path, Some(body)).await }
    };
    let (s, created) = f
        .call(Method::POST, "/_connector", Some(json!({"index_name": "search-p", "service_type": "x"})))
        .await;
    assert_eq!((s.as_u16(), created["result"].as_str()), (201, Some("created")));
    let id = created["id"].as_str().unwrap().to_string();
    let path = |what: &str| format!("/_connector/{id}/{what}");

    let (s, _) = put(&path("_name"), json!({"name": "n", "description": "d"})).await;
    assert_eq!(s, 200);
    let (s, e) = put(&path("_name"), json!({})).await;
    assert_eq!(s, 400, "{e}");

    let pipeline = json!({"pipeline": {"extract_binary_content": false, "name": "p", "reduce_whitespace": true, "run_ml_inference": false}});
    assert_eq!(put(&path("_pipeline"), pipeline).await.0, 200);
    assert_eq!(put(&path("_pipeline"), json!({"pipeline": {"name": "p"}})).await.0, 400);

    let full = json!({"scheduling": {"full": {"enabled": true, "interval": "0 0 * * * ?"}}});
    assert_eq!(put(&path("_scheduling"), full).await.0, 200);
    let bad = json!({"scheduling": {"full": {"enabled": true, "interval": "hourly"}}});
    assert_eq!(put(&path("_scheduling"), bad).await.0, 400);

    let features = json!({"features": {"document_level_security": {"enabled": true}, "sync_rules": {"basic": {"enabled": true}}, "future_feature": {"enabled": true}}});
    assert_eq!(put(&path("_features"), features).await.0, 200);
    let last = json!({"last_sync_status": "completed", "last_synced": "2024-05-01T10:00:00.000Z", "last_indexed_document_count": 7});
    assert_eq!(put(&path("_last_sync"), last).await.0, 200);
    assert_eq!(put(&path("_last_sync"), json!({"last_sync_status": "done"})).await.0, 400);
    assert_eq!(f.call(Method::PUT, &path("_check_in"), None).await.0, 200);

    let (_, c) = f.call(Method::GET, &format!("/_connector/{id}"), None).await;
    assert_eq!((c["name"].as_str(), c["description"].as_str()), (Some("n"), Some("d")));
    assert_eq!(c["pipeline"]["name"], "p");
    assert_eq!(c["scheduling"]["full"]["enabled"], true);
    assert_eq!(c["scheduling"]["incremental"]["interval"], "0 0 0 * * ?");
    assert_eq!(c["features"]["document_level_security"]["enabled"], true);
    assert!(c["features"].get("future_feature").is_none());
    assert_eq!(c["last_indexed_document_count"], 7);
    assert!(c["last_seen"].is_string());

    // A new service type keeps a `created` connector created, sends a configured one back.
    put(&path("_service_type"), json!({"service_type": "y"})).await;
    let (_, c) = f.call(Method::GET, &format!("/_connector/{id}"), None).await;
    assert_eq!(c["status"], "created");
    put(&path("_status"), json!({"status": "needs_configuration"})).await;
    put(&path("_status"), json!({"status": "configured"})).await;
    put(&path("_service_type"), json!({"service_type": "z"})).await;
    let (_, c) = f.call(Method::GET, &format!("/_connector/{id}"), None).await;
    assert_eq!(c["status"], "needs_configuration");

    // Sync jobs: counters are validated, a deleted job is gone.
    let (_, j) = f.call(Method::POST, "/_connector/_sync_job", Some(json!({"id": id}))).await;
    let job = j["id"].as_str().unwrap().to_string();
    let negative =
        json!({"deleted_document_count": -1, "indexed_document_count": 0, "indexed_document_volume": 0});
    assert_eq!(put(&format!("/_connector/_sync_job/{job}/_stats"), negative).await.0, 400);
    assert_eq!(
        put(&format!("/_connector/_sync_job/{job}/_stats"), json!({"indexed_document_count": 1})).await.0,
        400
    );
    let (s, _) = f.call(Method::DELETE, &format!("/_connector/_sync_job/{job}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(f.call(Method::GET, &format!("/_connector/_sync_job/{job}"), None).await.0, 404);

    // Soft-deleted connectors are found with `include_deleted` only; unknown parameters are refused.
    f.call(Method::DELETE, &format!("/_connector/{id}"), None).await;
    assert_eq!(f.call(Method::GET, &format!("/_connector/{id}"), None).await.0, 404);
    let (_, c) = f.call(Method::GET, &format!("/_connector/{id}?include_deleted=true"), None).await;
    assert_eq!(c["deleted"], true);
    let (s, e) = f.call(Method::GET, &format!("/_connector/{id}?deleted=true"), None).await;
    assert_eq!((s.as_u16(), e["error"]["type"].as_str()), (400, Some("illegal_argument_exception")));

    // A secret put under a chosen id.
    let (_, p) = f.call(Method::PUT, "/_connector/_secret/s1", Some(json!({"value": "v"}))).await;
    assert_eq!(p["result"], "created");
}

#[tokio::test]
async fn a_concrete_index_named_like_the_alias_blocks_the_template() {
    let f = fixture().await;
    let (s, _) = f.call(Method::PUT, "/.elastic-connectors", None).await;
    assert_eq!(s, 200);
    let (s, e) = f.call(Method::PUT, "/_connector/c1", Some(json!({}))).await;
    assert_eq!((s.as_u16(), e["error"]["type"].as_str()), (400, Some("invalid_alias_name_exception")));
}

#[tokio::test]
async fn unchanged_updates_answer_like_their_elasticsearch_counterparts() {
    let f = fixture().await;
    connector(&f, "c1").await;
    // A partial `doc` update that changes nothing is a noop…
    let validation = json!({"validation": {"state": "valid", "errors": []}});
    let (_, r) = f.call(Method::PUT, "/_connector/c1/_filtering/_validation", Some(validation)).await;
    assert_eq!(r["result"], "noop");
    let (_, r) =
        f.call(Method::PUT, "/_connector/c1/_index_name", Some(json!({"index_name": "search-x"}))).await;
    assert_eq!(r["result"], "noop");
    // …the scripted configuration update always writes.
    let conf = json!({"configuration": {"url": {"label": "URL", "value": "http://x"}}});
    for _ in 0..2 {
        let (_, r) = f.call(Method::PUT, "/_connector/c1/_configuration", Some(conf.clone())).await;
        assert_eq!(r["result"], "updated");
    }
}

#[tokio::test]
async fn configuration_entries_are_stored_as_elasticsearch_parses_them() {
    let f = fixture().await;
    connector(&f, "c1").await;
    let conf = json!({"configuration": {"url": {"label": "URL", "value": "http://x", "unknown_key": 1, "order": 2}}});
    let (s, _) = f.call(Method::PUT, "/_connector/c1/_configuration", Some(conf)).await;
    assert_eq!(s, 200);
    let (_, c) = f.call(Method::GET, "/_connector/c1", None).await;
    assert_eq!(
        c["configuration"]["url"],
        json!({"default_value": null, "label": "URL", "order": 2, "required": false, "sensitive": false, "value": "http://x"})
    );
    let list = json!({"configuration": {"spaces": {"label": "Spaces", "value": ["a", "b"]}}});
    assert_eq!(f.call(Method::PUT, "/_connector/c1/_configuration", Some(list)).await.0, 400);
}
