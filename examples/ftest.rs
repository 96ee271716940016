//! `make ftest NAME=confluence [DATA_SIZE=small|medium|large] [FLAVOUR=server|data-center|cloud]`
//!
//! The functional test, as Elastic's `make ftest` runs it but without Docker: start the
//! Confluence simulator and Elasticsearch, run a full sync with the real binary, check the
//! exact count of each document type and a sample document's fields; then remove 5 spaces,
//! edit and trash some pages, run a second full sync and check the updates and deletions;
//! then edit, trash and add a few more and run an incremental sync, which must leave the same
//! documents as a fresh full sync. Then the managed flow of Elastic's ftest on a fresh site:
//! a connector created through the `_connector` API with a full sync scheduled, the service
//! (`run`) started, the configuration set once the service has filled in the form, the
//! scheduled job waited for through the connector's `last_synced`, SIGINT, and the index
//! checked. Prints one line and exits non-zero on any mismatch.

use sim::world as common;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, ensure, Context};
use common::World;
use serde_json::Value;
use sim::confluence::model::parse_api_id;
use sim::confluence::{Catalog, ContentKind, Flavour, SimConfig, Size};

const INDEX: &str = "search-confluence-ftest";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let size = args.get(1).map(String::as_str).unwrap_or("small");
    let flavour = args.get(2).map(String::as_str).unwrap_or("server");
    let outcome = match run(size, flavour).await {
        Ok(standalone) => managed(size, flavour).await.map(|managed| format!("{standalone}; {managed}")),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(line) => {
            println!("ftest confluence: PASS — {line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            // One line of result; the log lines behind it, when there are any, below on stderr.
            let text = format!("{e:#}");
            let (line, detail) = text.split_once('\n').unwrap_or((&text, ""));
            println!("ftest confluence: FAIL — {line}");
            if !detail.is_empty() {
                eprintln!("{detail}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(size: &str, flavour: &str) -> anyhow::Result<String> {
    let size =
        Size::parse(size).with_context(|| format!("DATA_SIZE {size:?}: expected small, medium or large"))?;
    let flavour = Flavour::parse(flavour)
        .with_context(|| format!("FLAVOUR {flavour:?}: expected server, data-center or cloud"))?;
    let mut sim = SimConfig::new(flavour, size);
    sim.latency = Duration::from_millis(5);
    let world = World::start(sim).await?;
    let config = world.write_config("config.yml", &world.config_yaml(INDEX, &[]))?;

    // First full sync.
    let first = world.sync(&config, "full").await?;
    ensure!(first.success, "first full sync failed:\n{}", tail(&first.stderr));
    world.refresh(INDEX).await?;
    let catalog = world.confluence.catalog();
    check_counts(&world, &catalog).await.context("after the first sync")?;
    check_sample(&world, &catalog).await?;

    // Change the site: remove 5 spaces, edit 3 pages and trash 3 others in the remaining ones.
    let site = world.confluence.site();
    let removed: Vec<String> = catalog.spaces.iter().take(5).map(|s| s.key.clone()).collect();
    for key in &removed {
        site.remove_space(key).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let remaining_pages: Vec<_> = catalog
        .indexed(ContentKind::Page)
        .filter(|p| !removed.contains(&p.space_key))
        .take(6)
        .cloned()
        .collect();
    ensure!(remaining_pages.len() == 6, "the site has too few pages outside the removed spaces");
    let (edited, trashed) = remaining_pages.split_at(3);
    for page in edited {
        let id = parse_api_id(&page.id).context("page id")?;
        site.edit(id, Some(&format!("{} (edited)", page.title)), None).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    for page in trashed {
        site.trash(parse_api_id(&page.id).context("page id")?).map_err(|e| anyhow::anyhow!("{e}"))?;
    }

    // Second full sync.
    let second = world.sync(&config, "full").await?;
    ensure!(second.success, "second full sync failed:\n{}", tail(&second.stderr));
    world.refresh(INDEX).await?;
    let after = world.confluence.catalog();
    check_counts(&world, &after).await.context("after the second sync")?;
    for page in edited {
        let doc = world
            .get(INDEX, &page.id)
            .await?
            .with_context(|| format!("edited page {} is missing", page.id))?;
        ensure!(
            doc["title"].as_str() == Some(format!("{} (edited)", page.title).as_str()),
            "edited page {} has title {}",
            page.id,
            doc["title"]
        );
    }
    for page in trashed {
        ensure!(world.get(INDEX, &page.id).await?.is_none(), "trashed page {} is still indexed", page.id);
    }
    for key in &removed {
        let left = world.count(INDEX, serde_json::json!({"term": {"space_key": key}})).await?;
        ensure!(left == 0, "{left} documents of removed space {key} are still indexed");
    }

    // Incremental round: a few more changes, then the index must equal a fresh full sync.
    let more: Vec<_> = after.indexed(ContentKind::Page).skip(10).take(5).cloned().collect();
    ensure!(more.len() == 5, "the site has too few pages left");
    for page in &more[..3] {
        let id = parse_api_id(&page.id).context("page id")?;
        site.edit(id, Some(&format!("{} (edited again)", page.title)), None)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    for page in &more[3..] {
        site.trash(parse_api_id(&page.id).context("page id")?).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let space = &more[0].space_key;
    let added = site
        .create_page(space, None, "Added for the incremental round", Some("<p>new</p>"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let third = world.sync(&config, "incremental").await?;
    ensure!(third.success, "incremental sync failed:\n{}", tail(&third.stderr));
    let last = world.confluence.catalog();
    world.refresh(INDEX).await?;
    check_counts(&world, &last).await.context("after the incremental sync")?;
    ensure!(world.get(INDEX, &added.to_string()).await?.is_some(), "the added page {added} is not indexed");
    let fresh_index = format!("{INDEX}-fresh");
    let fresh_config = world.write_config("fresh.yml", &world.config_yaml(&fresh_index, &[]))?;
    let fresh = world.sync(&fresh_config, "full").await?;
    ensure!(fresh.success, "fresh full sync failed:\n{}", tail(&fresh.stderr));
    let (ours, theirs) = (world.fingerprints(INDEX).await?, world.fingerprints(&fresh_index).await?);
    ensure!(ours == theirs, "after the incremental sync the index differs from a fresh full sync");

    Ok(format!(
        "{flavour:?}/{size:?}: first sync {} documents in {:.1}s; second sync {} documents in {:.1}s \
         (5 spaces removed, 3 pages edited, 3 trashed); incremental sync in {:.1}s (3 edited, 2 trashed, \
         1 added) equals a fresh full sync",
        catalog.documents(),
        first.elapsed.as_secs_f64(),
        after.documents(),
        second.elapsed.as_secs_f64(),
        third.elapsed.as_secs_f64()
    ))
}

/// The exact number of documents of each type.
async fn check_counts(world: &World, catalog: &Catalog) -> anyhow::Result<()> {
    let spaces = catalog.spaces.iter().filter(|s| s.indexed).count() as u64;
    let expected = [
        ("Space", spaces),
        ("page", catalog.indexed(ContentKind::Page).count() as u64),
        ("blogpost", catalog.indexed(ContentKind::BlogPost).count() as u64),
        ("attachment", catalog.indexed(ContentKind::Attachment).count() as u64),
    ];
    let mut wrong = Vec::new();
    for (doc_type, want) in expected {
        let got = world.count_type(INDEX, doc_type).await?;
        if got != want {
            wrong.push(format!("{doc_type}: indexed {got}, expected {want}"));
        }
    }
    let total = world.count(INDEX, serde_json::json!({"match_all": {}})).await?;
    if total != catalog.documents() as u64 {
        wrong.push(format!("total: indexed {total}, expected {}", catalog.documents()));
    }
    if !wrong.is_empty() {
        bail!("{}", wrong.join("; "));
    }
    Ok(())
}

/// A page's fields are those of Elastic's connector.
async fn check_sample(world: &World, catalog: &Catalog) -> anyhow::Result<()> {
    let page = catalog.indexed(ContentKind::Page).next().context("no page in the catalog")?;
    let doc =
        world.get(INDEX, &page.id).await?.with_context(|| format!("page {} is not indexed", page.id))?;
    let text = |field: &str| doc.get(field).and_then(Value::as_str).unwrap_or("");
    ensure!(text("type") == "page", "type is {:?}", doc.get("type"));
    ensure!(text("title") == page.title, "title {:?} != {:?}", text("title"), page.title);
    ensure!(text("id") == page.id, "id is {:?}", doc.get("id"));
    ensure!(!text("space").is_empty(), "space is empty");
    ensure!(!text("body").is_empty(), "body is empty");
    ensure!(text("url").starts_with("http"), "url is {:?}", doc.get("url"));
    ensure!(!text("author").is_empty(), "author is empty");
    ensure!(!text("createdDate").is_empty(), "createdDate is empty");
    let ts = chrono::DateTime::parse_from_rfc3339(text("_timestamp")).context("_timestamp is not a date")?;
    ensure!(
        ts.timestamp_millis() == page.last_modified.timestamp_millis(),
        "_timestamp {ts} != last modified {}",
        page.last_modified
    );
    ensure!(doc.get("ancestors").is_some_and(Value::is_array), "ancestors is not a list");
    Ok(())
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// The managed flow, as Elastic's ftest runs it (fake Kibana, the service, a scheduled job).
async fn managed(size: &str, flavour: &str) -> anyhow::Result<String> {
    use reqwest::Method;
    use serde_json::json;
    use std::time::Instant;

    let size = Size::parse(size).context("DATA_SIZE")?;
    let flavour = Flavour::parse(flavour).context("FLAVOUR")?;
    let mut sim = SimConfig::new(flavour, size);
    sim.latency = Duration::from_millis(5);
    let world = World::start(sim).await?;
    let probe = world.request(Method::GET, "/_connector").send().await?;
    if !probe.status().is_success() {
        return Ok(format!(
            "managed flow skipped: this Elasticsearch has no _connector API ({})",
            probe.status()
        ));
    }
    let id = "confluence-ftest";
    let index = "search-confluence-managed-ftest";
    let call = |method: Method, path: String, body: Value| {
        let request = world.request(method, &path).json(&body);
        async move {
            let response = request.send().await?;
            let status = response.status();
            let text = response.text().await?;
            ensure!(status.is_success(), "{path}: {status} {text}");
            anyhow::Ok(serde_json::from_str::<Value>(&text).unwrap_or(Value::Null))
        }
    };
    // What fake-kibana does: the connector, a full sync every second (Elastic's uses every
    // minute; the mechanism is the same), and an empty content index.
    call(
        Method::PUT,
        format!("/_connector/{id}"),
        json!({"index_name": index, "name": "ftest", "service_type": "confluence"}),
    )
    .await?;
    let never = json!({"enabled": false, "interval": "0 0 0 * * ?"});
    call(
        Method::PUT,
        format!("/_connector/{id}/_scheduling"),
        json!({"scheduling": {"full": {"enabled": true, "interval": "* * * * * ?"}, "incremental": never, "access_control": never}}),
    )
    .await?;
    let mut es = format!("elasticsearch:\n  host: {}\n", world.es.url);
    if let Some(key) = &world.es.api_key {
        es.push_str(&format!("  api_key: {key}\n"));
    }
    if let (Some(u), Some(p)) = (&world.es.username, &world.es.password) {
        es.push_str(&format!("  username: {u}\n  password: {p}\n"));
    }
    let yaml = format!(
        "{es}service:\n  idling: 1\n  log_level: info\nconnectors:\n  - connector_id: {id}\n    service_type: confluence\n"
    );
    let config = world.write_config("managed.yml", &yaml)?;
    let log_path = world.dir.path().join("managed.log");
    let log = std::fs::File::create(&log_path)?;
    let mut service = tokio::process::Command::new(common::connector_binary()?)
        .args(["--config-file", &config.to_string_lossy(), "--debug"])
        .stderr(log)
        .kill_on_drop(true)
        .spawn()?;
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let connector = || call(Method::GET, format!("/_connector/{id}"), Value::Null);
    let started = Instant::now();
    while connector().await?["status"] != "needs_configuration" {
        ensure!(
            started.elapsed() < Duration::from_secs(30),
            "the service never prepared the connector:\n{}",
            tail(&read_log())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let creds = world.confluence.credentials();
    let mut values = match flavour {
        Flavour::Cloud => {
            json!({"data_source": "confluence_cloud", "account_email": creds.email, "api_token": creds.api_token})
        }
        Flavour::Server => {
            json!({"data_source": "confluence_server", "username": creds.username, "password": creds.password})
        }
        Flavour::DataCenter => json!({
            "data_source": "confluence_data_center", "data_center_username": creds.username,
            "data_center_password": creds.password
        }),
    };
    values["confluence_url"] = json!(world.confluence.url());
    values["spaces"] = json!("*");
    values["concurrent_downloads"] = json!(50);
    call(Method::PUT, format!("/_connector/{id}/_configuration"), json!({"values": values})).await?;
    // fixture.py --action monitor: the connector's last_synced, every second, 20 minutes at most.
    let synced = loop {
        let c = connector().await?;
        if c["last_synced"].is_string() {
            break c;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(1200),
            "no sync within 20 minutes:\n{}",
            tail(&read_log())
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let took = started.elapsed();
    let pid = service.id().context("the service exited early")?;
    std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status()?;
    let status = tokio::time::timeout(Duration::from_secs(60), service.wait())
        .await
        .context("no exit after SIGINT")??;
    ensure!(status.success(), "the service exited with {status}:\n{}", tail(&read_log()));
    // The next scheduled job may be running already: the first one's outcome is on its job.
    ensure!(synced["last_sync_error"].is_null(), "the sync failed: {}", synced["last_sync_error"]);
    // verify.py: the count, a document with fields, the pipeline's leftovers gone.
    world.refresh(index).await?;
    let catalog = world.confluence.catalog();
    let count = world.count(index, json!({"match_all": {}})).await?;
    ensure!(
        count == catalog.documents() as u64,
        "managed: indexed {count}, expected {}",
        catalog.documents()
    );
    let hits = world.search(index, json!({"size": 1, "query": {"term": {"type": "page"}}})).await?;
    let first = &hits["hits"]["hits"][0]["_source"];
    ensure!(first.as_object().is_some_and(|f| f.len() >= 3), "the first hit has too few fields: {first}");
    let jobs = call(Method::GET, format!("/_connector/_sync_job?connector_id={id}"), Value::Null).await?;
    let scheduled = jobs["results"].as_array().is_some_and(|all| {
        all.iter().any(|j| j["trigger_method"] == "scheduled" && j["status"] == "completed")
    });
    ensure!(scheduled, "no completed scheduled job: {jobs}");
    Ok(format!("managed flow: connector prepared, configured and synced by a scheduled job ({count} documents) in {:.1}s", took.as_secs_f64()))
}
