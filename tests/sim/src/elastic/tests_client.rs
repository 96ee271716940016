//! Round-trips the official `elasticsearch` crate's calls the connector uses (index create,
//! bulk with a pipeline, refresh, count, search with a point in time and `search_after`,
//! delete-by-query) against the simulator — or a real cluster when `ES_URL` is set.

use elasticsearch::auth::Credentials;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::indices::{IndicesCreateParts, IndicesExistsParts, IndicesRefreshParts};
use elasticsearch::{
    BulkOperation, BulkParts, CountParts, DeleteByQueryParts, Elasticsearch, OpenPointInTimeParts,
    SearchParts,
};
use serde_json::{json, Value};

use super::target::EsTarget;

fn client(t: &EsTarget) -> Elasticsearch {
    let pool = SingleNodeConnectionPool::new(t.url.parse().unwrap());
    let mut b = TransportBuilder::new(pool).disable_proxy();
    if let Some(k) = &t.api_key {
        b = b.auth(Credentials::EncodedApiKey(k.clone()));
    } else if let (Some(u), Some(p)) = (&t.username, &t.password) {
        b = b.auth(Credentials::Basic(u.clone(), p.clone()));
    }
    Elasticsearch::new(b.build().unwrap())
}

#[tokio::test]
async fn official_client_round_trip() {
    let target = EsTarget::from_env_or_sim().await.unwrap();
    let es = client(&target);
    let index = format!("search-es-sim-client-{}", std::process::id());
    let test = "official_client_round_trip";
    let pipeline_runs =
        !target.skips_without(test, &["ingest-common"], "checking what search-default-ingestion did").await;

    let r = es.indices().create(IndicesCreateParts::Index(&index)).send().await.unwrap();
    assert_eq!(r.status_code().as_u16(), 200);
    let r = es.indices().exists(IndicesExistsParts::Index(&[&index])).send().await.unwrap();
    assert_eq!(r.status_code().as_u16(), 200);

    let mut ops: Vec<BulkOperation<Value>> = Vec::new();
    for i in 0..25 {
        let doc = json!({"id": i.to_string(), "title": format!("Page {i}"), "body": format!("  text   of page {i} "),
            "_reduce_whitespace": true, "_extract_binary_content": true, "_run_ml_inference": true,
            "_allow_access_control": if i % 2 == 0 { json!(["group:even"]) } else { json!(["group:odd"]) }});
        ops.push(BulkOperation::index(doc).id(i.to_string()).index(&index).into());
    }
    ops.push(
        BulkOperation::update("3", json!({"doc": {"title": "Updated"}, "doc_as_upsert": true}))
            .index(&index)
            .into(),
    );
    ops.push(BulkOperation::delete("24").index(&index).into());
    let r = es.bulk(BulkParts::None).pipeline("search-default-ingestion").body(ops).send().await.unwrap();
    assert_eq!(r.status_code().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"], false, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 27);
    assert_eq!(body["items"][25]["update"]["result"], "updated");
    assert_eq!(body["items"][26]["delete"]["result"], "deleted");

    es.indices().refresh(IndicesRefreshParts::Index(&[&index])).send().await.unwrap();
    let r: Value = es.count(CountParts::Index(&[&index])).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["count"], 24);
    let r: Value = es
        .count(CountParts::Index(&[&index]))
        .body(json!({"query": {"terms": {"_allow_access_control.keyword": ["group:even"]}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["count"], 12);

    // Point in time + search_after paging over everything.
    let pit: Value = es
        .open_point_in_time(OpenPointInTimeParts::Index(&[&index]))
        .keep_alive("1m")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pit_id = pit["id"].as_str().unwrap().to_string();
    let mut seen = Vec::new();
    let mut after: Option<Value> = None;
    loop {
        let mut body = json!({"size": 10, "pit": {"id": pit_id, "keep_alive": "1m"}, "sort": [{"_doc": "asc"}], "_source": ["id", "body"]});
        if let Some(a) = &after {
            body["search_after"] = a.clone();
        }
        let r = es.search(SearchParts::None).body(body).send().await.unwrap();
        assert_eq!(r.status_code().as_u16(), 200);
        let r: Value = r.json().await.unwrap();
        let hits = r["hits"]["hits"].as_array().unwrap().clone();
        if hits.is_empty() {
            break;
        }
        for h in &hits {
            seen.push(h["_source"]["id"].as_str().unwrap().to_string());
            if pipeline_runs {
                assert!(h["_source"].get("_reduce_whitespace").is_none());
            }
        }
        after = Some(hits.last().unwrap()["sort"].clone());
    }
    assert_eq!(seen.len(), 24);
    let r = es.close_point_in_time().body(json!({"id": pit_id})).send().await.unwrap();
    assert_eq!(r.status_code().as_u16(), 200);

    // The pipeline squished whitespace.
    let r: Value = es
        .search(SearchParts::Index(&[&index]))
        .body(json!({"query": {"ids": {"values": ["1"]}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    if pipeline_runs {
        assert_eq!(r["hits"]["hits"][0]["_source"]["body"], "text of page 1");
    }

    if target.skips_without(test, &["reindex"], "_delete_by_query").await {
        es.indices()
            .delete(elasticsearch::indices::IndicesDeleteParts::Index(&[&index]))
            .send()
            .await
            .unwrap();
        return;
    }
    let r: Value = es
        .delete_by_query(DeleteByQueryParts::Index(&[&index]))
        .refresh(true)
        .body(json!({"query": {"terms": {"_allow_access_control.keyword": ["group:odd"]}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["deleted"], 12);
    let r: Value = es.count(CountParts::Index(&[&index])).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["count"], 12);
    es.indices().delete(elasticsearch::indices::IndicesDeleteParts::Index(&[&index])).send().await.unwrap();
}
