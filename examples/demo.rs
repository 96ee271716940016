//! `make demo`: the whole product on one machine, nothing else running.
//!
//! Starts the Confluence simulator (Server flavour, the small site) and the Elasticsearch
//! test server, runs `confluence-connector sync --kind full` against them exactly as a user
//! would, then prints how many documents of each type were indexed and a sample search hit.

use sim::world as common;

use std::process::ExitCode;

use anyhow::ensure;
use common::World;
use serde_json::json;
use sim::confluence::{Flavour, SimConfig, Size};

const INDEX: &str = "search-confluence";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let world = World::start(SimConfig::new(Flavour::Server, Size::Small)).await?;
    println!("Confluence simulator (Server): {}", world.confluence.url());
    println!("Elasticsearch:                 {}", world.es.url);
    let config = world.write_config("config.yml", &world.config_yaml(INDEX, &["index_labels: true"]))?;
    println!("running: confluence-connector sync --kind full -c {}", config.display());
    let run = world.sync(&config, "full").await?;
    eprint!("{}", run.stderr);
    ensure!(run.success, "the sync failed");
    world.refresh(INDEX).await?;

    println!("\nIndexed into {INDEX} in {:.1}s:", run.elapsed.as_secs_f64());
    for doc_type in ["Space", "page", "blogpost", "attachment"] {
        println!("  {:<11} {:>6}", doc_type, world.count_type(INDEX, doc_type).await?);
    }
    println!("  {:<11} {:>6}", "total", world.count(INDEX, json!({"match_all": {}})).await?);

    let hits = world
        .search(INDEX, json!({"size": 1, "query": {"bool": {"must": [{"match": {"body": "release"}}], "filter": [{"term": {"type": "page"}}]}}, "_source": ["title", "space", "url", "_timestamp", "body"]}))
        .await?;
    match hits["hits"]["hits"].get(0) {
        Some(hit) => {
            let source = &hit["_source"];
            let body: String = source["body"].as_str().unwrap_or("").chars().take(160).collect();
            println!(
                "\nSample hit for \"release\":\n  title: {}\n  space: {}\n  url:   {}\n  body:  {}…",
                source["title"],
                source["space"],
                source["url"],
                body.replace('\n', " ")
            );
        }
        None => println!("\nNo hit for \"release\"."),
    }
    Ok(())
}
