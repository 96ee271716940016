//! Faults, mutations, search lag and the request log, over HTTP.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{client, enc, get, get_json, start};
use crate::confluence::{ContentKind, FaultKind, FaultRule, Flavour, RetryAfter, Trigger};

#[tokio::test]
async fn status_faults_fire_on_the_nth_request_with_retry_after() {
    let sim = start(Flavour::Cloud, |_| {}).await;
    let faults = sim.faults();
    faults.add(FaultRule::on(
        "/wiki/api/v2/spaces",
        Trigger::Nth(2),
        FaultKind::TooManyRequests { retry_after: RetryAfter::Seconds(7) },
    ));
    assert_eq!(get(&sim, "/api/v2/spaces").await.status().as_u16(), 200);
    let limited = get(&sim, "/api/v2/spaces").await;
    assert_eq!(limited.status().as_u16(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    assert!(limited.headers().contains_key("x-ratelimit-reset"));
    assert_eq!(get(&sim, "/api/v2/spaces").await.status().as_u16(), 200);

    faults.clear();
    faults.add(FaultRule::global(
        Trigger::FirstN(1),
        FaultKind::Unavailable { retry_after: RetryAfter::HttpDate(Duration::from_secs(30)) },
    ));
    let unavailable = get(&sim, "/api/v2/spaces").await;
    assert_eq!(unavailable.status().as_u16(), 503);
    let date = unavailable.headers()["retry-after"].to_str().expect("ascii").to_string();
    assert!(date.ends_with("GMT"), "{date}");
    for status in [500, 502, 504] {
        faults.add(FaultRule::global(Trigger::FirstN(1), FaultKind::Status(status)));
        assert_eq!(get(&sim, "/api/v2/spaces").await.status().as_u16(), status);
        faults.clear();
    }
    let log = sim.requests();
    assert_eq!(log.count_status("/wiki/api/v2/spaces", 429), 1);
    assert_eq!(log.count("/wiki/api/v2/spaces"), 7);
}

#[tokio::test]
async fn server_rate_limits_with_403_and_bodies_can_be_spoiled() {
    let sim = start(Flavour::Server, |_| {}).await;
    let faults = sim.faults();
    faults.add(FaultRule::on("/rest/api/space", Trigger::FirstN(1), FaultKind::RateLimitForbidden));
    let forbidden = get(&sim, "/rest/api/space").await;
    assert_eq!(forbidden.status().as_u16(), 403);
    assert!(forbidden.text().await.expect("text").contains("Rate limit"));

    faults.add(FaultRule::on("/rest/api/space", Trigger::FirstN(1), FaultKind::TruncatedJson));
    let truncated = get(&sim, "/rest/api/space").await.text().await.expect("text");
    assert!(serde_json::from_str::<Value>(&truncated).is_err());

    faults.add(FaultRule::on("/rest/api/space", Trigger::FirstN(1), FaultKind::DropMidBody));
    let dropped = get(&sim, "/rest/api/space").await.bytes().await;
    assert!(dropped.is_err(), "the body must fail mid-way");

    faults.add(FaultRule::on(
        "/rest/api/space",
        Trigger::FirstN(1),
        FaultKind::SlowBody { chunk: 256, delay: Duration::from_millis(20) },
    ));
    let started = Instant::now();
    let slow: Value = get(&sim, "/rest/api/space").await.json().await.expect("complete json");
    assert!(slow["results"].is_array());
    assert!(started.elapsed() >= Duration::from_millis(40));

    faults.add(FaultRule::global(
        Trigger::FirstN(1),
        FaultKind::Latency { fixed: Duration::from_millis(120), jitter: Duration::ZERO },
    ));
    let started = Instant::now();
    get_json(&sim, "/rest/api/space", 200).await;
    assert!(started.elapsed() >= Duration::from_millis(120));
}

#[tokio::test]
async fn configured_latency_delays_every_request() {
    let sim = start(Flavour::Server, |c| c.latency = Duration::from_millis(80)).await;
    let started = Instant::now();
    get_json(&sim, "/rest/api/space?limit=1", 200).await;
    assert!(started.elapsed() >= Duration::from_millis(80));
}

#[tokio::test]
async fn mutations_change_listings_versions_and_the_catalog() {
    let sim = start(Flavour::DataCenter, |_| {}).await;
    let site = sim.site();
    let before = sim.catalog().documents();
    let home = site.read(|s| s.space_by_key("MKT").and_then(|sp| sp.homepage)).expect("home");
    let page = site.create_page("MKT", Some(home), "Launch plan", Some("<p>launch</p>")).expect("page");
    let attachment = site
        .create_attachment(page, "plan.csv", crate::confluence::AttachmentFormat::Csv, 3000)
        .expect("attachment");
    assert_eq!(sim.catalog().documents(), before + 2);

    let cql = enc(&format!("id = {page}"));
    let found =
        get_json(&sim, &format!("/rest/api/content/search?cql={cql}&expand=version,body.storage"), 200).await;
    assert_eq!(found["results"][0]["version"]["number"], 1);
    site.edit(page, Some("Launch plan v2"), Some("<p>updated</p>")).expect("edit");
    let edited =
        get_json(&sim, &format!("/rest/api/content/search?cql={cql}&expand=version,body.storage"), 200).await;
    assert_eq!(edited["results"][0]["version"]["number"], 2);
    assert_eq!(edited["results"][0]["title"], "Launch plan v2");
    assert_eq!(edited["results"][0]["body"]["storage"]["value"], "<p>updated</p>");

    let recent = get_json(
        &sim,
        &format!("/rest/api/content/search?cql={}", enc("space = MKT and lastmodified >= now(\"-1h\")")),
        200,
    )
    .await;
    assert_eq!(recent["size"], 2, "the new page and its attachment");

    site.trash(page).expect("trash");
    assert_eq!(sim.catalog().documents(), before, "trashed page and its attachment leave the index");
    get_json(&sim, &format!("/rest/api/content/{page}"), 404).await;
    get_json(&sim, &format!("/rest/api/content/{page}?status=trashed"), 200).await;
    site.restore(page).expect("restore");
    site.purge(page).expect("purge");
    assert!(sim.catalog().get(&format!("att{attachment}")).is_none());
    assert_eq!(sim.catalog().documents(), before);

    let other_space = site.read(|s| s.space_by_key("ENG").and_then(|sp| sp.homepage)).expect("eng home");
    let moved = site.create_page("MKT", Some(home), "Moving page", None).expect("page");
    site.move_page(moved, other_space).expect("move");
    let entry = sim.catalog().get(&moved.to_string()).cloned().expect("entry");
    assert_eq!(entry.space_key, "ENG");
    assert_eq!(entry.parent, Some(other_space.to_string()));

    site.restrict(moved, &["jdoe"], &["engineering"]).expect("restrict");
    let read = get_json(&sim, &format!("/rest/api/content/{moved}/restriction/byOperation/read"), 200).await;
    assert_eq!(read["restrictions"]["user"]["results"][0]["username"], "jdoe");
    assert_eq!(read["restrictions"]["group"]["results"][0]["name"], "engineering");

    site.add_user("newbie", "New Bie");
    site.set_membership("engineering", "newbie", true).expect("member");
    let members = get_json(&sim, "/rest/api/group/engineering/member?limit=500", 200).await;
    assert!(members["results"].as_array().expect("members").iter().any(|m| m["username"] == "newbie"));
    site.remove_space("MKT").expect("remove");
    get_json(&sim, "/rest/api/space/MKT", 404).await;
}

#[tokio::test]
async fn search_index_lags_behind_edits_when_configured() {
    let sim = start(Flavour::Cloud, |c| c.search_lag = Duration::from_millis(300)).await;
    let cql = enc("space = SALES and type = page and title ~ \"Lagging\"");
    let page = sim.site().create_page("SALES", None, "Lagging page", None).expect("page");
    let immediately = get_json(&sim, &format!("/rest/api/content/search?cql={cql}"), 200).await;
    assert_eq!(immediately["size"], 0, "not indexed yet");
    assert!(sim.catalog().get(&page.to_string()).is_some(), "the catalog is the truth at once");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let later = get_json(&sim, &format!("/rest/api/content/search?cql={cql}"), 200).await;
    assert_eq!(later["size"], 1);
}

#[tokio::test]
async fn admin_route_applies_mutations_and_faults_without_confluence_auth() {
    let sim = start(Flavour::Server, |_| {}).await;
    let origin = sim.url();
    let response: Value = client()
        .post(format!("{origin}/__sim/mutate"))
        .json(&serde_json::json!({"op": "create_blogpost", "space": "HR", "title": "Policy update"}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(response["ok"], true);
    let id = response["id"].as_u64().expect("id");
    assert_eq!(sim.catalog().get(&id.to_string()).map(|c| c.kind), Some(ContentKind::BlogPost));
    let bad = client()
        .post(format!("{origin}/__sim/mutate"))
        .json(&serde_json::json!({"op": "trash", "id": 1}))
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status().as_u16(), 400);
    client()
        .post(format!("{origin}/__sim/faults"))
        .json(&serde_json::json!({"route": "/rest/api/space", "status": 502, "first": 1}))
        .send()
        .await
        .expect("send");
    assert_eq!(get(&sim, "/rest/api/space").await.status().as_u16(), 502);
    let counts: Value = client()
        .get(format!("{origin}/__sim/requests"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(counts["total"].as_u64().expect("total") >= 3);
    let catalog: Value = client()
        .get(format!("{origin}/__sim/catalog"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(catalog["documents"].as_u64(), Some(sim.catalog().documents() as u64));
}
