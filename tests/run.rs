//! `run`, the long-running service, as a child process against the Confluence simulator and
//! Elasticsearch (the test server, or a real cluster when `ES_URL` is set): scheduled syncs,
//! `/healthz` and `/metrics`, the first signal's graceful stop within
//! `service.shutdown_timeout`, the second signal's immediate exit, and start-up errors that
//! name their key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sim::confluence::{FaultKind, FaultRule, Flavour, SimConfig, Size, Trigger};

use common::World;
use sim::world as common;

mod child;
use child::{free_port, get, metric, Connector};

/// Logged by the service loop once its signal handlers are in place.
const READY: &str = "next sync scheduled";

/// A world and a `config.yml` for `run` with a full sync every second, the health port on
/// `port` and the given shutdown timeout.
async fn world_and_config(name: &str, port: u16, shutdown_timeout: u64) -> (World, PathBuf) {
    let mut site = SimConfig::new(Flavour::Server, Size::Small);
    site.pages = Some(200);
    config_for(World::start(site).await.unwrap(), name, port, shutdown_timeout)
}

/// The `config.yml` of [`world_and_config`] for a given world.
fn config_for(world: World, name: &str, port: u16, shutdown_timeout: u64) -> (World, PathBuf) {
    let index = format!("run-{name}-{}", std::process::id());
    let yaml = world.config_yaml(&index, &["retry_count: 1", "schedules: {full: 1s}"]).replacen(
        "service:\n",
        &format!("service:\n  shutdown_timeout: {shutdown_timeout}\n  http: {{port: {port}}}\n"),
        1,
    );
    let path = world.write_config("config.yml", &yaml).unwrap();
    (world, path)
}

/// `run` in the middle of a slow full sync (every Confluence request takes 300 ms), with
/// its health port.
struct SlowSync {
    /// The simulators; they stop when this is dropped.
    world: World,
    /// Holds the log; removed when this is dropped.
    _dir: tempfile::TempDir,
    connector: Connector,
    port: u16,
}

impl SlowSync {
    /// Starts `run` and waits until the metrics say a full sync is running.
    async fn start(name: &str, shutdown_timeout: u64) -> SlowSync {
        let port = free_port();
        let (world, config) = world_and_config(name, port, shutdown_timeout).await;
        SlowSync::run(world, config, port).await
    }

    /// [`SlowSync::start`] whose bulk requests, once the sync runs, each take `bulk_delay`:
    /// its last writes outlast a shutdown request. Only the test server can be slowed down,
    /// so these use it even when `ES_URL` names a real cluster.
    async fn start_with_slow_bulk(name: &str, shutdown_timeout: u64, bulk_delay: Duration) -> SlowSync {
        let port = free_port();
        let mut site = SimConfig::new(Flavour::Server, Size::Small);
        site.pages = Some(200);
        let world = World::start_with_test_elasticsearch(site).await.unwrap();
        let (world, config) = config_for(world, name, port, shutdown_timeout);
        let slow = SlowSync::run(world, config, port).await;
        slow.world.es.sim.as_ref().expect("the test server").faults().slow_responses(bulk_delay, 1.0);
        slow
    }

    async fn run(world: World, config: PathBuf, port: u16) -> SlowSync {
        world.confluence.faults().add(FaultRule::global(
            Trigger::Always,
            FaultKind::Latency { fixed: Duration::from_millis(300), jitter: Duration::ZERO },
        ));
        let dir = tempfile::tempdir().unwrap();
        let connector = Connector::start(&["run", "-c", config.to_str().unwrap()], &dir.path().join("log"));
        connector.wait_for_log(READY, Duration::from_secs(30)).await;
        for _ in 0..400 {
            if let Some((200, text)) = get(port, "/metrics").await {
                if metric(&text, r#"confluence_connector_state{state="full"}"#) == Some(1.0) {
                    return SlowSync { world, _dir: dir, connector, port };
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no full sync started:\n{}", connector.log());
    }
}

#[tokio::test]
async fn scheduled_syncs_show_in_metrics_health_follows_elasticsearch_and_sigterm_stops_cleanly() {
    let port = free_port();
    let (mut world, config) = world_and_config("metrics", port, 30).await;
    let dir = tempfile::tempdir().unwrap();
    let mut connector = Connector::start(&["run", "-c", config.to_str().unwrap()], &dir.path().join("log"));
    connector.wait_for_log(READY, Duration::from_secs(30)).await;

    let completed = r#"confluence_connector_syncs_total{kind="full",outcome="completed"}"#;
    let mut text = String::new();
    for _ in 0..600 {
        if let Some((200, body)) = get(port, "/metrics").await {
            text = body;
            if metric(&text, completed).unwrap_or(0.0) >= 1.0 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        metric(&text, completed).unwrap_or(0.0) >= 1.0,
        "no completed sync:\n{text}\n{}",
        connector.log()
    );
    let documents = world.confluence.catalog().documents() as f64;
    assert_eq!(
        metric(&text, r#"confluence_connector_documents_total{kind="full",result="created"}"#),
        Some(documents),
        "{text}"
    );
    assert!(
        metric(&text, r#"confluence_connector_confluence_requests_total{status="200"}"#) > Some(0.0),
        "{text}"
    );
    assert!(metric(&text, "confluence_connector_bulk_requests_total") > Some(0.0), "{text}");
    assert!(metric(&text, r#"confluence_connector_last_sync_duration_seconds{kind="full"}"#) > Some(0.0));

    let test =
        "scheduled_syncs_show_in_metrics_health_follows_elasticsearch_and_sigterm_stops_cleanly (/healthz)";
    if !world.es.skips_without(test, &["rest-root"], "/healthz, which asks Elasticsearch `GET /`,").await {
        let (status, body) = get(port, "/healthz").await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.starts_with("ok: "), "{body}");
    }

    // Elasticsearch goes away (only the test server can be stopped): unhealthy, with the reason.
    if let Some(es) = world.es.sim.take() {
        drop(es);
        let (status, body) = get(port, "/healthz").await.unwrap();
        assert_eq!(status, 503, "{body}");
        assert!(body.starts_with("elasticsearch: cannot reach"), "{body}");
    }

    connector.signal("TERM");
    let status =
        connector.exit_within(Duration::from_secs(40)).await.expect("run did not stop after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", connector.log());
    assert!(connector.log().contains("shutdown requested"), "{}", connector.log());
}

/// The first signal stops the crawl of the sync in flight: what it already sent is written,
/// nothing is deleted, the cursor stays, and the process exits cleanly long before its grace
/// period ends; the next sync completes the index.
#[tokio::test]
async fn sigterm_stops_the_sync_in_flight_promptly_and_the_next_sync_completes_it() {
    let mut slow = SlowSync::start("stop", 60).await;
    let signalled = std::time::Instant::now();
    slow.connector.signal("TERM");
    let status = slow.connector.exit_within(Duration::from_secs(20)).await.expect("run did not stop");
    assert!(signalled.elapsed() < Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", slow.connector.log());
    let log = slow.connector.log();
    assert!(log.contains("stopped before the crawl finished: shutdown was requested"), "{log}");
    // A stop that was asked for is no error; the process says who it is and that it stopped.
    assert!(!log.lines().any(|l| l.contains("ERROR")), "{log}");
    assert!(log.contains(concat!("confluence-connector ", env!("CARGO_PKG_VERSION"), " starting")), "{log}");
    assert!(log.contains("confluence-connector stopped"), "{log}");

    // The faults go, and a one-shot full sync brings the index to exactly the site.
    slow.world.confluence.faults().clear();
    let index = format!("run-stop-{}", std::process::id());
    let yaml = slow.world.config_yaml(&index, &["retry_count: 1"]);
    let config = slow.world.write_config("again.yml", &yaml).unwrap();
    // Not std's Command: the simulators run on this test's runtime and must go on answering.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_confluence-connector"))
        .args(["sync", "--kind", "full", "-c", config.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    slow.world.refresh(&index).await.unwrap();
    let indexed = slow.world.count(&index, serde_json::json!({"match_all": {}})).await.unwrap();
    assert_eq!(indexed, slow.world.confluence.catalog().documents() as u64, "{stderr}");
}

#[tokio::test]
async fn a_second_signal_exits_at_once_during_the_grace_period() {
    let mut slow = SlowSync::start_with_slow_bulk("second-signal", 60, Duration::from_secs(30)).await;
    slow.connector.signal("TERM");
    // The sync in flight has its grace period: the process stays, but says it is stopping.
    let stopping = Some((503, "stopping: shutdown was requested\n".to_string()));
    let mut answer = None;
    for _ in 0..100 {
        answer = get(slow.port, "/healthz").await;
        if answer == stopping {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(answer, stopping);
    assert!(slow.connector.running(), "{}", slow.connector.log());

    slow.connector.signal("INT");
    let status =
        slow.connector.exit_within(Duration::from_secs(5)).await.expect("a second signal must exit at once");
    assert_eq!(status.code(), Some(130), "{}", slow.connector.log());
}

#[tokio::test]
async fn the_shutdown_timeout_bounds_a_sync_that_does_not_finish() {
    let mut slow = SlowSync::start_with_slow_bulk("grace", 1, Duration::from_secs(30)).await;
    let signalled = std::time::Instant::now();
    slow.connector.signal("TERM");
    let status =
        slow.connector.exit_within(Duration::from_secs(15)).await.expect("run outlived its shutdown timeout");
    assert!(signalled.elapsed() >= Duration::from_secs(1), "it did not wait for the sync in flight");
    assert_eq!(status.code(), Some(1), "{}", slow.connector.log());
    let log = slow.connector.log();
    assert!(
        log.contains("still running when the shutdown timeout (1 s, service.shutdown_timeout) passed"),
        "{log}"
    );
}

/// A `config.yml` in `dir` whose Elasticsearch and Confluence are nowhere (port 9), for what
/// happens before either is asked; `service` and `schedules` are the YAML of those sections.
fn offline_config(dir: &tempfile::TempDir, service: &str, schedules: &str) -> PathBuf {
    let config = dir.path().join("config.yml");
    let text = format!(
        "elasticsearch:\n  host: http://127.0.0.1:9\nservice: {service}\nconfluence:\n  \
         confluence_url: http://127.0.0.1:9\n  username: u\n  password: p\n  spaces: DEV\n  schedules: {schedules}\n"
    );
    std::fs::write(&config, text).unwrap();
    config
}

/// `run -c <config>` to its end: the exit code and standard error.
fn run_to_the_end(config: &Path) -> (Option<i32>, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_confluence-connector"))
        .args(["run", "-c", config.to_str().unwrap()])
        .output()
        .unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test]
async fn sigterm_while_waiting_for_the_next_slot_exits_cleanly_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // Yearly: nothing runs while the test does; Elasticsearch and Confluence are never asked.
    let config = offline_config(&dir, "{}", r#"{full: "0 0 0 1 1 ?"}"#);
    let mut connector = Connector::start(&["run", "-c", config.to_str().unwrap()], &dir.path().join("log"));
    connector.wait_for_log(READY, Duration::from_secs(30)).await;
    connector.signal("TERM");
    let status = connector.exit_within(Duration::from_secs(5)).await.expect("an idle run must stop at once");
    assert_eq!(status.code(), Some(0), "{}", connector.log());
}

#[test]
fn a_malformed_schedule_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(&dir, "{}", r#"{full: 1h, access_control: "0 0 25 * * ?"}"#);
    let (code, stderr) = run_to_the_end(&config);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("confluence.schedules.access_control:"), "{stderr}");
}

#[test]
fn a_taken_health_port_stops_start_up_naming_the_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(&dir, &format!("{{http: {{port: {port}}}}}"), "{full: 1h}");
    let (code, stderr) = run_to_the_end(&config);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("service.http.port: cannot listen on 127.0.0.1:{port}")), "{stderr}");
}

/// A `config.yml` whose Elasticsearch is nowhere (a free port) and asks for 50 retries a
/// second apart, with `service.shutdown_timeout` of `grace` seconds and the `extra` source
/// settings.
fn unreachable_elasticsearch(world: &World, name: &str, grace: u64, extra: &[&str]) -> PathBuf {
    let mut settings = vec!["retry_count: 1"];
    settings.extend_from_slice(extra);
    let yaml = world.config_yaml(name, &settings);
    let host = yaml.lines().find(|l| l.starts_with("  host: ")).unwrap().to_string();
    let yaml = yaml
        .replacen(
            &host,
            &format!("  host: http://127.0.0.1:{}\n  max_retries: 50\n  retry_interval: 1", free_port()),
            1,
        )
        .replacen("service:\n", &format!("service:\n  shutdown_timeout: {grace}\n"), 1);
    world.write_config("config.yml", &yaml).unwrap()
}

/// Starts the connector with `args`, sends SIGTERM once it retries Elasticsearch, and
/// returns its exit code, which must come within 5 s of the signal, and its log.
async fn terminated_while_retrying(args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut connector = Connector::start(args, &dir.path().join("log"));
    connector.wait_for_log("no answer from Elasticsearch", Duration::from_secs(30)).await;
    let signalled = std::time::Instant::now();
    connector.signal("TERM");
    let status =
        connector.exit_within(Duration::from_secs(70)).await.expect("retrying went on after SIGTERM");
    assert!(signalled.elapsed() < Duration::from_secs(5), "{:?}\n{}", signalled.elapsed(), connector.log());
    let log = connector.log();
    assert!(log.contains("not sent again: shutdown was requested"), "{log}");
    assert!(log.contains("confluence-connector stopped"), "{log}");
    (status.code(), log)
}

/// A one-shot `sync` waiting on an unreachable Elasticsearch (50 retries a second apart)
/// stops at SIGTERM, saying why, instead of retrying on: the wait ends at the signal.
#[tokio::test]
async fn sigterm_ends_a_one_shot_sync_waiting_on_retries_at_once() {
    let world = World::start(SimConfig::new(Flavour::Server, Size::Small)).await.unwrap();
    let config = unreachable_elasticsearch(&world, "run-retry-wait", 30, &[]);
    let (code, log) =
        terminated_while_retrying(&["sync", "--kind", "full", "-c", config.to_str().unwrap()]).await;
    assert_eq!(code, Some(1), "{log}");
}

/// `run` whose sync waits to retry an unreachable Elasticsearch stops at SIGTERM, well
/// within its 60 s shutdown timeout: the wait ends at the signal, the sync with it, and the
/// service exits cleanly.
#[tokio::test]
async fn sigterm_ends_the_retry_waits_of_a_sync_under_run_at_once() {
    let world = World::start(SimConfig::new(Flavour::Server, Size::Small)).await.unwrap();
    let config = unreachable_elasticsearch(&world, "run-retry-wait-run", 60, &["schedules: {full: 1s}"]);
    let (code, log) = terminated_while_retrying(&["run", "-c", config.to_str().unwrap()]).await;
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("scheduled sync ended by the shutdown"), "{log}");
    assert!(!log.lines().any(|l| l.contains("ERROR")), "{log}");
}
