//! `make bench`: full syncs of simulated sites (Server flavour) run with the release binary
//! exactly as a user runs it, into the Elasticsearch test server.
//!
//! For each site: the median of several runs of wall time, documents per second, requests
//! made, CPU seconds and peak RSS of the connector process, and the latency lower bound with
//! the ratio of wall time to it. The bound is the larger of two: every request made, spread
//! over the requests allowed in flight (`requests × latency ÷ max_concurrent_requests`), and
//! the chain of listing pages that must follow one another (each space's listing pages one
//! after the other, spaces `max_concurrent_spaces` at a time). The test world (simulator and
//! Elasticsearch test server, in this process) shares the machine's cores with the connector,
//! so the CPU both spend over the cores is a bound too (`cpu bound s`): where it is above the
//! latency bound, the wall is the machine's, not the latency's. Printed as a table and written
//! to `target/bench/full_sync.json` (one file per invocation: `name=` picks another name).
//!
//! `cargo bench --bench full_sync -- [medium|large|pages=N]… [runs=N] [latency-ms=N]
//! [extract=off] [reject=R] [attachments=small|mix|8MiB] [downloads=N] [budget-mib=N]
//! [name=NAME]` — `attachments=` sets the sizes of the simulated files (`8MiB`: every one;
//! `mix`: most small, a tail of 1–50 MiB), `downloads=` sets `concurrent_downloads` (default
//! 50) and `budget-mib=` `service.max_download_memory` (default 64): peak RSS then shows
//! whether memory follows the files or the budget. `extract=off` turns the pipeline's
//! `extract_binary_content` off, so attachments are indexed without downloading them: the
//! CPU then is the connector's own per document. `reject=0.3` has the Elasticsearch test
//! server (always it, then, even with `ES_URL`) turn away 30 % of the `_bulk` items with 429,
//! as a loaded cluster does: compare its wall time with a run without.
//!
//! `equal-bytes=K` runs each site twice: as asked, and with the same bytes in K times as
//! many files of 1/K the size (with `pages=`, each tenth page then carries K files), and
//! prints the ratio of their wall times: what large files cost against small ones once the
//! budget, not `concurrent_downloads`, limits the downloads in flight. With
//! `throughput-mibps=N` every download streams at N MiB/s (each connection alone, as over a
//! WAN link), so the files in flight, not the machine, set the wall time. E.g.
//! `pages=500 runs=3 latency-ms=0 attachments=8MiB equal-bytes=8 throughput-mibps=8`.

use sim::world as common;

use std::time::Duration;

use anyhow::Context;
use common::World;
use serde_json::json;
use sim::confluence::{AttachmentSizes, FaultKind, FaultRule, Flavour, SimConfig, Size, Trigger};

const MAX_CONCURRENT_REQUESTS: u64 = 10;
/// The default of `confluence.max_concurrent_spaces`.
const MAX_CONCURRENT_SPACES: u64 = 10;
/// Spaces of every simulated site.
const SPACES: u64 = 10;

/// What every run of an invocation shares.
#[derive(Clone, Copy)]
struct Settings {
    latency_ms: u64,
    extract: bool,
    reject: f64,
    attachments: AttachmentSizes,
    concurrent_downloads: Option<u32>,
    budget_mib: Option<u64>,
    /// Files on each page that carries files (`pages=` sites).
    files_per_page: u32,
    /// MiB/s of each download, if bounded.
    throughput_mibps: Option<f64>,
}

struct Case {
    name: String,
    size: Size,
    pages: Option<u64>,
}

#[derive(Default)]
struct Run {
    wall: f64,
    cpu: f64,
    /// CPU seconds of the test world (this process) during the sync.
    world_cpu: f64,
    rss_mib: f64,
    /// The sink queue's peak, from the sync's report line.
    queue_mib: f64,
    requests: u64,
    /// Listing requests (all but attachment downloads).
    listings: u64,
    documents: u64,
    /// The most files the simulator was handing out at once.
    files_at_once: u64,
}

/// CPU seconds (user + system) this process has used.
fn own_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes --bench; under `cargo test` this is a quick smoke run of one
    // small sync without latency, which checks that the benchmark still works.
    let benching = std::env::args().any(|a| a == "--bench");
    let mut cases = Vec::new();
    let mut runs = if benching { 3usize } else { 1 };
    let mut latency_ms = if benching { 50u64 } else { 0 };
    let mut extract = true;
    let mut name = "full_sync".to_string();
    let mut reject = 0.0f64;
    let mut attachments = AttachmentSizes::Small;
    let mut concurrent_downloads = None;
    let mut budget_mib = None;
    let mut equal_bytes: Option<u32> = None;
    let mut throughput_mibps = None;
    for arg in std::env::args().skip(1).filter(|a| !a.starts_with("--")) {
        if let Some(n) = arg.strip_prefix("runs=") {
            runs = n.parse()?;
        } else if let Some(n) = arg.strip_prefix("latency-ms=") {
            latency_ms = n.parse()?;
        } else if let Some(v) = arg.strip_prefix("extract=") {
            extract = v != "off";
        } else if let Some(v) = arg.strip_prefix("reject=") {
            reject = v.parse()?;
        } else if let Some(v) = arg.strip_prefix("attachments=") {
            attachments = AttachmentSizes::parse(v).context("attachments=small|mix|<size, e.g. 8MiB>")?;
        } else if let Some(v) = arg.strip_prefix("budget-mib=") {
            budget_mib = Some(v.parse()?);
        } else if let Some(v) = arg.strip_prefix("downloads=") {
            concurrent_downloads = Some(v.parse()?);
        } else if let Some(v) = arg.strip_prefix("equal-bytes=") {
            equal_bytes = Some(v.parse()?);
        } else if let Some(v) = arg.strip_prefix("throughput-mibps=") {
            throughput_mibps = Some(v.parse()?);
        } else if let Some(v) = arg.strip_prefix("name=") {
            name = v.to_string();
        } else if let Some(n) = arg.strip_prefix("pages=") {
            cases.push(Case { name: format!("{n} pages"), size: Size::Small, pages: Some(n.parse()?) });
        } else if let Some(size) = Size::parse(&arg) {
            cases.push(Case { name: arg.clone(), size, pages: None });
        }
    }
    if cases.is_empty() {
        let (name, size) = if benching { ("medium", Size::Medium) } else { ("small", Size::Small) };
        cases.push(Case { name: name.into(), size, pages: None });
    }

    let settings = Settings {
        latency_ms,
        extract,
        reject,
        attachments,
        concurrent_downloads,
        budget_mib,
        files_per_page: 1,
        throughput_mibps,
    };
    // Each site as asked, and with `equal-bytes=K` the same bytes in K times as many files.
    let mut variants: Vec<(String, &Case, Settings)> =
        cases.iter().map(|case| (case.name.clone(), case, settings)).collect();
    if let (Some(k), AttachmentSizes::All(size)) = (equal_bytes, attachments) {
        let k = k.clamp(1, 16);
        variants = cases
            .iter()
            .flat_map(|case| {
                let small = Settings {
                    attachments: AttachmentSizes::All(size / u64::from(k)),
                    files_per_page: k,
                    ..settings
                };
                [(case.name.clone(), case, settings), (format!("{} ×{k} files", case.name), case, small)]
            })
            .collect();
    }
    let mut rows = Vec::new();
    println!(
        "full syncs, Server flavour, {latency_ms} ms per Confluence request, median of {runs} run(s), \
         attachment content {}, attachment sizes {attachments:?}, concurrent_downloads {}, max_download_memory {} MiB{}",
        if extract { "downloaded" } else { "not downloaded (extract=off)" },
        concurrent_downloads.map_or("50 (default)".to_string(), |n| n.to_string()),
        budget_mib.map_or("64 (default)".to_string(), |n| n.to_string()),
        if reject > 0.0 {
            format!(", {:.0} % of _bulk items rejected with 429", reject * 100.0)
        } else {
            String::new()
        } + &throughput_mibps.map_or(String::new(), |n| format!(", each download at {n} MiB/s"))
    );
    println!(
        "{:<14} {:>8} {:>9} {:>9} {:>11} {:>7} {:>9} {:>8} {:>10} {:>9} {:>9} {:>11} {:>11}",
        "site",
        "docs",
        "requests",
        "wall s",
        "bound s",
        "ratio",
        "docs/s",
        "cpu s",
        "cpu ms/doc",
        "rss MiB",
        "queue MiB",
        "world cpu s",
        "cpu bound s"
    );
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    let mut walls = Vec::new();
    for (label, case, settings) in &variants {
        let mut results = Vec::new();
        for _ in 0..runs {
            results.push(run_once(case, *settings).await?);
        }
        let wall = median(results.iter().map(|r| r.wall).collect());
        let cpu = median(results.iter().map(|r| r.cpu).collect());
        let rss = median(results.iter().map(|r| r.rss_mib).collect());
        let queue = median(results.iter().map(|r| r.queue_mib).collect());
        let world_cpu = median(results.iter().map(|r| r.world_cpu).collect());
        let cpu_bound = (cpu + world_cpu) / cores;
        let requests = median(results.iter().map(|r| r.requests as f64).collect());
        let listings = median(results.iter().map(|r| r.listings as f64).collect());
        let documents = results.first().map(|r| r.documents).unwrap_or(0) as f64;
        let latency = latency_ms as f64 / 1000.0;
        let spread = requests * latency / MAX_CONCURRENT_REQUESTS as f64;
        let rounds = SPACES.div_ceil(MAX_CONCURRENT_SPACES) as f64;
        let chain = rounds * (listings / SPACES as f64) * latency;
        let bound = spread.max(chain).max(f64::MIN_POSITIVE);
        // Without latency there is no lower bound to compare with.
        let (bound_text, ratio_text) = if latency_ms == 0 {
            ("-".to_string(), "-".to_string())
        } else {
            (format!("{bound:.1}"), format!("{:.2}", wall / bound))
        };
        walls.push(wall);
        let files_at_once = median(results.iter().map(|r| r.files_at_once as f64).collect());
        println!(
            "{:<14} {:>8} {:>9} {:>9.1} {:>11} {:>7} {:>9.0} {:>8.2} {:>10.3} {:>9.1} {:>9.1} {:>11.1} {:>11.1}",
            label,
            documents,
            requests,
            wall,
            bound_text,
            ratio_text,
            documents / wall,
            cpu,
            cpu * 1000.0 / documents.max(1.0),
            rss,
            queue,
            world_cpu,
            cpu_bound
        );
        rows.push(json!({
            "site": label, "runs": runs, "files_per_page": settings.files_per_page,
            "throughput_mibps": settings.throughput_mibps, "latency_ms": latency_ms, "extract": extract,
            "bulk_item_reject_rate": reject, "attachment_sizes": format!("{attachments:?}"),
            "concurrent_downloads": concurrent_downloads.unwrap_or(50),
            "max_download_memory_mib": budget_mib.unwrap_or(64),
            "peak_rss_mib_runs": results.iter().map(|r| r.rss_mib).collect::<Vec<_>>(),
            "documents": documents, "requests": requests, "listing_requests": listings,
            "wall_s_median": wall, "lower_bound_s": bound, "ratio": wall / bound,
            "docs_per_s": documents / wall, "cpu_s_median": cpu, "cpu_ms_per_doc": cpu * 1000.0 / documents.max(1.0),
            "peak_rss_mib_median": rss, "sink_queue_peak_mib_median": queue,
            "world_cpu_s_median": world_cpu, "cpu_bound_s": cpu_bound, "cores": cores,
            "wall_s_runs": results.iter().map(|r| r.wall).collect::<Vec<_>>(),
            "files_at_once_median": files_at_once,
        }));
    }
    if let Some(k) = equal_bytes.filter(|_| walls.len() % 2 == 0) {
        for (pair, (label, _, _)) in walls.chunks(2).zip(variants.iter().step_by(2)) {
            println!("{label}: wall {:.2}× that of the same bytes in {k}× as many files", pair[0] / pair[1]);
        }
        for (label, _, _) in &variants {
            let row = rows.iter().find(|r| r["site"] == label.as_str());
            let at_once = row.map_or(0.0, |r| r["files_at_once_median"].as_f64().unwrap_or(0.0));
            println!("{label}: at most {at_once} files downloading at once (median)");
        }
    }
    if benching {
        std::fs::create_dir_all("target/bench")?;
        let path = format!("target/bench/{name}.json");
        std::fs::write(&path, serde_json::to_string_pretty(&rows)?)?;
        println!("written: {path}");
    }
    Ok(())
}

async fn run_once(case: &Case, settings: Settings) -> anyhow::Result<Run> {
    let mut config = SimConfig::new(Flavour::Server, case.size);
    config.pages = case.pages;
    config.latency = Duration::from_millis(settings.latency_ms);
    config.attachment_sizes = settings.attachments;
    config.files_per_attached_page = settings.files_per_page;
    let world = if settings.reject > 0.0 {
        let world = World::start_with_test_elasticsearch(config).await?;
        world.es.sim.as_ref().context("the test server")?.faults().reject_bulk_items(settings.reject);
        world
    } else {
        World::start(config).await?
    };
    let pacing = settings.throughput_mibps.map(|mibps| {
        // 64 KiB at a time, paced to the throughput.
        let delay = Duration::from_secs_f64(64.0 / 1024.0 / mibps.max(0.001));
        world.confluence.faults().add(FaultRule::on(
            "/download/attachments/{id}/{file}",
            Trigger::Always,
            FaultKind::SlowBody { chunk: 64 * 1024, delay },
        ))
    });
    let concurrency = format!("max_concurrent_requests: {MAX_CONCURRENT_REQUESTS}");
    let mut extra = vec![concurrency.as_str()];
    if !settings.extract {
        extra.push("pipeline: {extract_binary_content: false}");
    }
    let downloads = settings.concurrent_downloads.map(|n| format!("concurrent_downloads: {n}"));
    extra.extend(downloads.as_deref());
    let mut yaml = world.config_yaml("search-bench", &extra);
    if let Some(mib) = settings.budget_mib {
        yaml = yaml.replacen("service:\n", &format!("service:\n  max_download_memory: {}\n", mib << 20), 1);
    }
    let path = world.write_config("config.yml", &yaml)?;
    world.confluence.requests().reset();
    let world_cpu = own_cpu_seconds();
    let run = world.sync(&path, "full").await?;
    let world_cpu = own_cpu_seconds() - world_cpu;
    // The last run's log, for looking into a result (more of it with `RUST_LOG=debug`).
    std::fs::create_dir_all("target/bench")?;
    std::fs::write("target/bench/last-sync.log", &run.stderr)?;
    anyhow::ensure!(run.success, "the sync failed:\n{}", run.stderr);
    if let Some(rule) = pacing {
        // A rule whose route template matches nothing paces nothing, silently.
        anyhow::ensure!(world.confluence.faults().seen(rule) > 0, "throughput-mibps paced no download");
    }
    world.refresh("search-bench").await?;
    let documents = world.count("search-bench", json!({"match_all": {}})).await?;
    Ok(Run {
        wall: run.elapsed.as_secs_f64(),
        cpu: run.cpu_seconds.unwrap_or(0.0),
        world_cpu,
        rss_mib: run.max_rss_kib.unwrap_or(0) as f64 / 1024.0,
        queue_mib: queue_peak_mib(&run.stderr).unwrap_or(0.0),
        requests: world.confluence.requests().total(),
        listings: world.confluence.requests().total()
            - world.confluence.requests().count("/download/attachments/{id}/{file}"),
        documents,
        files_at_once: world.confluence.requests().peak_files_in_flight(),
    })
}

/// The sink queue's peak from the report line ("sink queue peak 12.3 MiB").
fn queue_peak_mib(log: &str) -> Option<f64> {
    let (_, rest) = log.rsplit_once("sink queue peak ")?;
    rest.split_whitespace().next()?.parse().ok()
}
