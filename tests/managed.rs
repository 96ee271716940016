//! Managed mode end to end, with the test playing Kibana's part through the `_connector` API:
//! create a connector, let the service fill its configuration, set values, trigger jobs,
//! cancel one, schedule, edit sync rules, stop the service in the middle of a job, and run two
//! service processes on one connector — checking the job and connector documents and the
//! index each time.
//!
//! A real Elasticsearch needs the ent-search plugin for the `_connector` API; the node CI
//! starts has none, so against `ES_URL` these tests say so and pass without running (README,
//! "Tests against a real Elasticsearch").

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use sim::confluence::{Flavour, SimConfig, Size};
use sim::world::World;

mod child;
use child::Connector as Process;

/// A world, a connector created as Kibana creates one, and a `config.yml` serving it.
struct Managed {
    world: World,
    id: String,
    index: String,
    config: PathBuf,
}

/// Creates connector `id` (index `search-{id}`) as Kibana does, through the `_connector` API.
async fn create_connector(world: &World, id: &str, name: Option<&str>, service_type: &str) {
    let mut body = json!({"index_name": format!("search-{id}"), "service_type": service_type});
    if let Some(name) = name {
        body["name"] = json!(name);
    }
    let r = world.request(Method::PUT, &format!("/_connector/{id}")).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

impl Managed {
    /// `None` when the Elasticsearch of this run has no `_connector` API.
    async fn start(name: &str, site: SimConfig, extra_service: &str) -> Option<Managed> {
        let world = World::start(site).await.unwrap();
        let probe = world.request(Method::GET, "/_connector").send().await.unwrap();
        if !probe.status().is_success() {
            eprintln!(
                "skipped: this Elasticsearch has no _connector API (ent-search); answered {}",
                probe.status()
            );
            return None;
        }
        let id = format!("{name}-{}", std::process::id());
        let index = format!("search-{id}");
        create_connector(&world, &id, Some(name), "confluence").await;
        let config = config_yaml(&world, &id, extra_service);
        let config = world.write_config(&format!("{name}.yml"), &config).unwrap();
        Some(Managed { world, id, index, config })
    }

    fn run(&self, log: &str) -> Process {
        let log = self.world.dir.path().join(log);
        Process::start(&["run", "-c", self.config.to_str().unwrap()], &log)
    }

    async fn connector(&self) -> Value {
        let r = self.world.request(Method::GET, &format!("/_connector/{}", self.id)).send().await.unwrap();
        r.json().await.unwrap()
    }

    async fn job(&self, job: &str) -> Value {
        let r =
            self.world.request(Method::GET, &format!("/_connector/_sync_job/{job}")).send().await.unwrap();
        r.json().await.unwrap()
    }

    async fn jobs(&self) -> Vec<Value> {
        let path = format!("/_connector/_sync_job?connector_id={}&size=100", self.id);
        let r: Value = self.world.request(Method::GET, &path).send().await.unwrap().json().await.unwrap();
        r["results"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `check` holds of the connector document.
    async fn wait_connector(&self, what: &str, limit: Duration, check: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let c = self.connector().await;
            if check(&c) {
                return c;
            }
            assert!(started.elapsed() < limit, "connector never {what}: {c:#}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the job has one of `statuses`.
    async fn wait_job(&self, job: &str, statuses: &[&str], limit: Duration) -> Value {
        let started = Instant::now();
        loop {
            let j = self.job(job).await;
            if statuses.iter().any(|s| j["status"] == *s) {
                return j;
            }
            assert!(started.elapsed() < limit, "job never {statuses:?}: {j:#}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sets the Confluence values as Kibana's form does.
    async fn configure(&self, values: Value) {
        let r = self
            .world
            .request(Method::PUT, &format!("/_connector/{}/_configuration", self.id))
            .json(&json!({"values": values}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    /// The values that reach the world's Confluence.
    fn values(&self) -> Value {
        let creds = self.world.confluence.credentials();
        json!({
            "data_source": "confluence_server",
            "username": creds.username,
            "password": creds.password,
            "confluence_url": self.world.confluence.url(),
            "spaces": "*",
            "retry_count": 1,
        })
    }

    /// An on-demand job of `kind`; its id.
    async fn trigger(&self, kind: &str) -> String {
        let r = self
            .world
            .request(Method::POST, "/_connector/_sync_job")
            .json(&json!({"id": self.id, "job_type": kind, "trigger_method": "on_demand"}))
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        body["id"].as_str().unwrap_or_else(|| panic!("no job id: {body}")).to_string()
    }

    async fn count(&self) -> u64 {
        self.world.refresh(&self.index).await.unwrap();
        self.world.count(&self.index, json!({"match_all": {}})).await.unwrap()
    }

    /// Configured and connected, as after a user filled the form in Kibana.
    async fn configured(&self) {
        self.wait_connector("prepared", Duration::from_secs(20), |c| {
            c["status"] == "needs_configuration" && c["configuration"]["spaces"].is_object()
        })
        .await;
        self.configure(self.values()).await;
        self.wait_connector("connected", Duration::from_secs(20), |c| c["status"] == "connected").await;
    }
}

impl Managed {
    /// A full job running (claimed, a second in) on a slow site (4 pages a second).
    async fn slow_job(name: &str, pages: u64) -> Option<(Managed, Process, String)> {
        let mut site = small_site();
        site.pages = Some(pages);
        site.latency = Duration::from_millis(400);
        let m = Managed::start(name, site, "").await?;
        let service = m.run(&format!("{name}-1.log"));
        m.configured().await;
        let job = m.trigger("full").await;
        m.wait_job(&job, &["in_progress"], Duration::from_secs(20)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some((m, service, job))
    }

    /// `_cancel`, as Kibana's *Cancel* does.
    async fn cancel(&self, job: &str) {
        let r = self
            .world
            .request(Method::PUT, &format!("/_connector/_sync_job/{job}/_cancel"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    /// A full sync every second, as Kibana writes schedules.
    async fn schedule_full_every_second(&self) {
        let never = json!({"enabled": false, "interval": "0 0 0 * * ?"});
        let r = self
            .world
            .request(Method::PUT, &format!("/_connector/{}/_scheduling", self.id))
            .json(&json!({"scheduling": {
                "full": {"enabled": true, "interval": "* * * * * ?"},
                "incremental": never,
                "access_control": never
            }}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
}

/// SIGTERM, and the exit within 20 s.
async fn stop(service: &mut Process) {
    service.signal("TERM");
    service.exit_within(Duration::from_secs(20)).await;
}

fn config_yaml(world: &World, id: &str, extra_service: &str) -> String {
    let mut es = format!("elasticsearch:\n  host: {}\n", world.es.url);
    if let Some(key) = &world.es.api_key {
        es.push_str(&format!("  api_key: {key}\n"));
    }
    if let (Some(u), Some(p)) = (&world.es.username, &world.es.password) {
        es.push_str(&format!("  username: {u}\n  password: {p}\n"));
    }
    format!(
        "{es}service:\n  idling: 1\n  heartbeat: 2\n  log_level: info\n  shutdown_timeout: 20\n{extra_service}\
         connectors:\n  - connector_id: {id}\n    service_type: confluence\n"
    )
}

fn small_site() -> SimConfig {
    let mut site = SimConfig::new(Flavour::Server, Size::Small);
    site.pages = Some(120);
    site
}

#[tokio::test]
async fn a_connector_created_in_kibana_is_prepared_configured_and_synced() {
    let Some(m) = Managed::start("flow", small_site(), "").await else { return };
    let mut service = m.run("flow.log");
    let prepared =
        m.wait_connector("prepared", Duration::from_secs(20), |c| c["status"] == "needs_configuration").await;
    let configuration = prepared["configuration"].as_object().unwrap();
    assert!(configuration.len() >= 18, "{configuration:?}");
    assert_eq!(prepared["configuration"]["password"]["sensitive"], json!(true));
    assert_eq!(prepared["features"]["incremental_sync"]["enabled"], json!(true));
    assert!(prepared["last_seen"].is_string(), "checked in: {prepared:#}");

    m.configure(m.values()).await;
    m.wait_connector("connected", Duration::from_secs(20), |c| c["status"] == "connected").await;
    let created = Instant::now();
    let job = m.trigger("full").await;
    let claimed = m.wait_job(&job, &["in_progress", "completed"], Duration::from_secs(20)).await;
    let claim_time = created.elapsed();
    assert!(claimed["worker_hostname"].is_string(), "{claimed:#}");
    let done = m.wait_job(&job, &["completed", "error"], Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done:#}\n{}", service.log());
    let expected = m.world.confluence.document_count() as u64;
    assert_eq!(m.count().await, expected);
    assert_eq!(done["indexed_document_count"], json!(expected), "{done:#}");
    assert_eq!(done["total_document_count"], json!(expected), "{done:#}");
    assert!(done["indexed_document_volume"].as_u64().unwrap() >= 1, "{done:#}");
    assert!(done["completed_at"].is_string() && done["error"].is_null(), "{done:#}");
    let connector = m.connector().await;
    assert_eq!(connector["last_sync_status"], "completed", "{connector:#}");
    assert_eq!(connector["last_indexed_document_count"], json!(expected));
    assert!(connector["last_synced"].is_string());
    assert_eq!(connector["status"], "connected");
    eprintln!("job created → claimed in {claim_time:?}");

    // A second full job of an unchanged site deletes nothing and writes nothing new.
    let again = m.trigger("full").await;
    let done = m.wait_job(&again, &["completed", "error"], Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(done["deleted_document_count"], json!(0));
    assert_eq!(m.count().await, expected);

    service.signal("TERM");
    let status = service.exit_within(Duration::from_secs(20)).await.expect("stops on SIGTERM");
    assert!(status.success(), "{}", service.log());
}

#[tokio::test]
async fn a_managed_full_sync_asks_confluence_what_a_standalone_one_asks() {
    let Some(m) = Managed::start("same", small_site(), "").await else { return };
    let mut service = m.run("same.log");
    m.configured().await;
    let before = m.world.confluence.requests().total();
    let job = m.trigger("full").await;
    let done = m.wait_job(&job, &["completed", "error"], Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done:#}");
    let managed = m.world.confluence.requests().total() - before;
    stop(&mut service).await;

    // The same site, synced by `sync --kind full` into another index.
    let yaml = m.world.config_yaml(&format!("{}-standalone", m.index), &["retry_count: 1"]);
    let config = m.world.write_config("standalone.yml", &yaml).unwrap();
    let before = m.world.confluence.requests().total();
    let run = m.world.sync(&config, "full").await.unwrap();
    assert!(run.success, "{}", run.stderr);
    let standalone = m.world.confluence.requests().total() - before;
    eprintln!("Confluence requests: managed {managed}, standalone {standalone}");
    // The managed job also checks the connection before it is scheduled (one ping a poll).
    assert!(
        managed.abs_diff(standalone) <= standalone / 20 + 5,
        "managed {managed} vs standalone {standalone}"
    );
}

#[tokio::test]
async fn a_canceled_job_stops_within_seconds_and_deletes_nothing() {
    let Some((m, mut service, job)) = Managed::slow_job("cancel", 1500).await else { return };
    m.cancel(&job).await;
    let asked = Instant::now();
    let done = m.wait_job(&job, &["canceled", "completed", "error"], Duration::from_secs(15)).await;
    let took = asked.elapsed();
    assert_eq!(done["status"], "canceled", "{done:#}\n{}", service.log());
    assert!(took < Duration::from_secs(5), "cancel honoured in {took:?}");
    assert!(done["canceled_at"].is_string() && done["completed_at"].is_string(), "{done:#}");
    assert_eq!(done["deleted_document_count"], json!(0));
    let connector = m.connector().await;
    assert_eq!(connector["last_sync_status"], "canceled");
    eprintln!("cancel honoured in {took:?}");
    stop(&mut service).await;
}

#[tokio::test]
async fn a_scheduled_full_sync_runs_once_per_occurrence() {
    let Some(m) = Managed::start("schedule", small_site(), "").await else { return };
    let mut service = m.run("schedule.log");
    m.configured().await;
    m.schedule_full_every_second().await;
    let started = Instant::now();
    let job = loop {
        let jobs = m.jobs().await;
        if let Some(job) = jobs.iter().find(|j| j["trigger_method"] == "scheduled") {
            break job["id"].as_str().unwrap().to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no scheduled job\n{}", service.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let done = m.wait_job(&job, &["completed", "error"], Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done:#}");
    let connector = m.connector().await;
    assert!(connector["last_sync_scheduled_at"].is_string(), "{connector:#}");
    stop(&mut service).await;
    // One poll a second, one occurrence a second: never two jobs pending at once.
    let jobs = m.jobs().await;
    let pending = jobs.iter().filter(|j| j["status"] == "pending").count();
    let seen: Vec<String> = jobs
        .iter()
        .map(|j| format!("{} {} {} {}", j["created_at"], j["status"], j["trigger_method"], j["job_type"]))
        .collect();
    assert!(pending <= 1, "{seen:#?}\n{}", service.log());
}

#[tokio::test]
async fn invalid_sync_rules_are_reported_in_kibana_and_never_run() {
    let Some(m) = Managed::start("rules", small_site(), "").await else { return };
    let mut service = m.run("rules.log");
    m.configured().await;
    let first = m.trigger("full").await;
    m.wait_job(&first, &["completed"], Duration::from_secs(120)).await;
    let indexed = m.count().await;

    let draft = json!({
        "rules": [
            {"id": "broken", "policy": "include", "field": "title", "rule": "regex", "value": "(",
             "order": 0, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"},
            {"id": "DEFAULT", "policy": "include", "field": "_", "rule": "regex", "value": ".*",
             "order": 1, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
        ],
        "advanced_snippet": {"value": [{"query": "space = DEV AND ("}]}
    });
    let r = m
        .world
        .request(Method::PUT, &format!("/_connector/{}/_filtering", m.id))
        .json(&json!({"rules": draft["rules"], "advanced_snippet": draft["advanced_snippet"]}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let c = m
        .wait_connector("validated the draft", Duration::from_secs(20), |c| {
            c["filtering"][0]["draft"]["validation"]["state"] == "invalid"
        })
        .await;
    let errors = &c["filtering"][0]["draft"]["validation"]["errors"];
    let ids: Vec<&str> = errors
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["ids"].as_array().unwrap())
        .filter_map(Value::as_str)
        .collect();
    assert!(ids.contains(&"broken") && ids.contains(&"advanced_snippet"), "{errors:#}");
    // Not activated: the active rules are still the default ones.
    assert_eq!(c["filtering"][0]["active"]["rules"].as_array().unwrap().len(), 1, "{c:#}");

    // A job whose snapshot carries invalid active rules ends in error, the index untouched.
    let job = m.trigger("full").await;
    let mut doc: Value = m.job(&job).await;
    assert_eq!(doc["status"], "pending");
    doc = json!({"doc": {"connector": {"filtering": {
        "rules": draft["rules"], "advanced_snippet": draft["advanced_snippet"],
        "validation": {"state": "invalid", "errors": [{"ids": ["broken"], "messages": ["bad regex"]}]}
    }}}});
    let r = m
        .world
        .request(Method::POST, &format!("/.elastic-connectors-sync-jobs/_update/{job}?refresh=true"))
        .json(&doc)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let done = m.wait_job(&job, &["completed", "error"], Duration::from_secs(60)).await;
    assert_eq!(done["status"], "error", "{done:#}");
    assert!(done["error"].as_str().unwrap().contains("Filtering in state invalid"), "{done:#}");
    assert_eq!(m.count().await, indexed);
    stop(&mut service).await;
}

#[tokio::test]
async fn sigterm_suspends_a_job_and_the_next_start_completes_it() {
    let Some((m, mut service, job)) = Managed::slow_job("suspend", 1500).await else { return };
    service.signal("TERM");
    let status = service.exit_within(Duration::from_secs(30)).await.expect("stops on SIGTERM");
    assert!(status.success(), "{}", service.log());
    let suspended = m.job(&job).await;
    assert_eq!(suspended["status"], "suspended", "{suspended:#}\n{}", service.log());
    assert!(suspended["completed_at"].is_null(), "{suspended:#}");

    let mut again = m.run("suspend-2.log");
    let done = m.wait_job(&job, &["completed", "error"], Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done:#}\n{}", again.log());
    assert_eq!(m.count().await, m.world.confluence.document_count() as u64);
    again.signal("TERM");
    again.exit_within(Duration::from_secs(20)).await;
}

#[tokio::test]
async fn two_services_on_one_connector_run_each_job_once() {
    let Some(m) = Managed::start("pair", small_site(), "").await else { return };
    let mut one = m.run("pair-1.log");
    let mut two = m.run("pair-2.log");
    m.configured().await;
    let job = m.trigger("full").await;
    let done = m.wait_job(&job, &["completed", "error"], Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done:#}");
    // Both had the chance to see it pending; one claimed it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let claims = [one.log(), two.log()].iter().map(|l| l.matches("sync job claimed").count()).sum::<usize>();
    assert_eq!(claims, 1, "one:\n{}\ntwo:\n{}", one.log(), two.log());

    // A schedule every second, seen by both: each occurrence gets one job at most.
    m.schedule_full_every_second().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let logs = one.log() + &two.log();
    let dues: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("scheduled sync job created"))
        .filter_map(|l| l.split("due=").nth(1))
        .collect();
    assert!(!dues.is_empty(), "nothing scheduled:\n{logs}");
    let unique: std::collections::BTreeSet<&str> = dues.iter().copied().collect();
    assert_eq!(unique.len(), dues.len(), "an occurrence scheduled twice: {dues:?}");
    for p in [&mut one, &mut two] {
        p.signal("TERM");
        p.exit_within(Duration::from_secs(20)).await;
    }
}

#[tokio::test]
async fn bad_input_is_named_on_the_connector_and_in_the_log() {
    let Some(m) = Managed::start("bad", small_site(), "").await else { return };
    // A listed id that does not exist, and a connector of another type.
    let other = format!("other-{}", std::process::id());
    create_connector(&m.world, &other, None, "sharepoint_online").await;
    let yaml = std::fs::read_to_string(&m.config).unwrap()
        + &format!("  - connector_id: nowhere-{0}\n  - connector_id: {other}\n", std::process::id());
    std::fs::write(&m.config, yaml).unwrap();
    let mut service = m.run("bad.log");
    m.wait_connector("prepared", Duration::from_secs(20), |c| c["status"] == "needs_configuration").await;
    // Half-filled: no credentials.
    m.configure(json!({"data_source": "confluence_server", "confluence_url": m.world.confluence.url(), "spaces": "*"}))
        .await;
    let c = m.wait_connector("in error", Duration::from_secs(20), |c| c["status"] == "error").await;
    let error = c["error"].as_str().unwrap();
    assert!(error.contains("configuration.username") && error.contains("configuration.password"), "{error}");
    service.wait_for_log("does not exist in Elasticsearch", Duration::from_secs(10)).await;
    let r: Value = m
        .world
        .request(Method::GET, &format!("/_connector/{other}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "error", "{r:#}");
    assert!(r["error"].as_str().unwrap().contains("sharepoint_online"), "{r:#}");

    // The password is fixed: connected.
    m.configure(m.values()).await;
    m.wait_connector("connected", Duration::from_secs(20), |c| c["status"] == "connected").await;
    let log = service.log();
    assert!(!log.contains(m.world.confluence.credentials().password.as_str()), "password in the log");
    stop(&mut service).await;
}

#[tokio::test]
async fn incremental_and_access_control_jobs_run_as_in_standalone_mode() {
    let Some(m) = Managed::start("kinds", small_site(), "").await else { return };
    let mut service = m.run("kinds.log");
    m.wait_connector("prepared", Duration::from_secs(20), |c| c["status"] == "needs_configuration").await;
    let mut values = m.values();
    values["use_document_level_security"] = json!(true);
    m.configure(values).await;
    m.wait_connector("connected", Duration::from_secs(20), |c| c["status"] == "connected").await;
    let full = m.trigger("full").await;
    let done = m.wait_job(&full, &["completed", "error"], Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done:#}\n{}", service.log());
    let incremental = m.trigger("incremental").await;
    let done = m.wait_job(&incremental, &["completed", "error"], Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(done["deleted_document_count"], json!(0), "{done:#}");
    let acl = m.trigger("access_control").await;
    let done = m.wait_job(&acl, &["completed", "error"], Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done:#}\n{}", service.log());
    let identities = format!(".search-acl-filter-{}", m.index);
    m.world.refresh(&identities).await.unwrap();
    let count = m.world.count(&identities, json!({"match_all": {}})).await.unwrap();
    assert!(count > 0, "no identity documents");
    let connector = m.connector().await;
    assert_eq!(connector["last_access_control_sync_status"], "completed", "{connector:#}");
    // Documents carry who may read them.
    let page =
        m.world.search(&m.index, json!({"size": 1, "query": {"term": {"type": "page"}}})).await.unwrap();
    assert!(page["hits"]["hits"][0]["_source"]["_allow_access_control"].is_array(), "{page:#}");
    stop(&mut service).await;
}

#[tokio::test]
async fn an_abandoned_job_is_ended_by_the_cleanup() {
    let Some(m) = Managed::start("idle", small_site(), "  job_cleanup_interval: 1\n").await else { return };
    // A job some process claimed, then died with: in progress, not seen for an hour.
    let job = m.trigger("full").await;
    let stale = json!({"doc": {"status": "in_progress", "last_seen": "2020-01-01T00:00:00.000Z"}});
    let r = m
        .world
        .request(Method::POST, &format!("/.elastic-connectors-sync-jobs/_update/{job}?refresh=true"))
        .json(&stale)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    // And a job running for a connector that was deleted since (orphaned).
    let gone = format!("gone-{}", std::process::id());
    create_connector(&m.world, &gone, None, "confluence").await;
    let r = m
        .world
        .request(Method::POST, "/_connector/_sync_job")
        .json(&json!({"id": gone, "job_type": "full"}))
        .send()
        .await
        .unwrap();
    let orphan = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let running = json!({"doc": {"status": "in_progress", "last_seen": chrono::Utc::now().to_rfc3339()}});
    let r = m
        .world
        .request(Method::POST, &format!("/.elastic-connectors-sync-jobs/_update/{orphan}?refresh=true"))
        .json(&running)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let r = m.world.request(Method::DELETE, &format!("/_connector/{gone}?hard=true")).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());

    let mut service = m.run("idle.log");
    let done = m.wait_job(&job, &["error"], Duration::from_secs(20)).await;
    assert!(done["error"].as_str().unwrap().contains("not seen any update"), "{done:#}\n{}", service.log());
    let done = m.wait_job(&orphan, &["error"], Duration::from_secs(20)).await;
    assert!(done["error"].as_str().unwrap().contains("no longer exists"), "{done:#}\n{}", service.log());
    stop(&mut service).await;
}

#[tokio::test]
async fn sync_on_the_command_line_runs_one_job_per_connector() {
    let Some(m) = Managed::start("oneshot", small_site(), "").await else { return };
    let mut service = m.run("oneshot-prepare.log");
    m.configured().await;
    stop(&mut service).await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_confluence-connector"))
        .args(["sync", "--kind", "full", "-c", m.config.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let jobs = m.jobs().await;
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0]["status"], "completed");
    assert_eq!(jobs[0]["trigger_method"], "on_demand");
    assert_eq!(m.count().await, m.world.confluence.document_count() as u64);

    // `status` shows what Kibana shows: the connector and its jobs.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_confluence-connector"))
        .args(["status", "--format", "json", "-c", m.config.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    let connector = &status["connectors"][0];
    assert_eq!(connector["last_sync_status"], "completed", "{status:#}");
    assert_eq!(connector["jobs"][0]["status"], "completed", "{status:#}");
    assert_eq!(connector["jobs"][0]["trigger_method"], "on_demand", "{status:#}");
}

#[tokio::test]
async fn a_running_job_reports_its_progress_every_ten_seconds() {
    let Some((m, mut service, job)) = Managed::slow_job("stats", 4000).await else { return };
    let claimed = m.job(&job).await;
    let first_seen = claimed["last_seen"].as_str().unwrap().to_string();
    // `_stats` moves `last_seen` and the counters while the job runs.
    let started = Instant::now();
    let reported = loop {
        let j = m.job(&job).await;
        if j["status"] == "in_progress" && j["last_seen"].as_str() != Some(&first_seen) {
            break j;
        }
        assert_eq!(j["status"], "in_progress", "the job ended before its first report: {j:#}");
        assert!(started.elapsed() < Duration::from_secs(20), "no _stats within 20 s: {j:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let cadence = started.elapsed();
    assert!(reported["indexed_document_count"].as_u64().unwrap() > 0, "{reported:#}");
    assert!(cadence <= Duration::from_secs(12), "first report after {cadence:?}");
    eprintln!("first _stats {cadence:?} after the claim was seen");
    let r =
        m.world.request(Method::PUT, &format!("/_connector/_sync_job/{job}/_cancel")).send().await.unwrap();
    assert!(r.status().is_success());
    m.wait_job(&job, &["canceled"], Duration::from_secs(10)).await;
    stop(&mut service).await;
}

#[tokio::test]
async fn the_health_port_serves_in_managed_mode() {
    let port = child::free_port();
    let extra = format!("  http: {{port: {port}}}\n");
    let Some(m) = Managed::start("health", small_site(), &extra).await else { return };
    let mut service = m.run("health.log");
    m.configured().await;
    let job = m.trigger("full").await;
    m.wait_job(&job, &["completed"], Duration::from_secs(120)).await;
    let (status, body) = child::get(port, "/healthz").await.expect("healthz answers");
    assert_eq!(status, 200, "{body}");
    let (_, metrics) = child::get(port, "/metrics").await.unwrap();
    let completed =
        child::metric(&metrics, "confluence_connector_syncs_total{kind=\"full\",outcome=\"completed\"}");
    assert_eq!(completed, Some(1.0), "{metrics}");
    stop(&mut service).await;
}

#[tokio::test]
async fn a_connector_api_key_without_rights_ends_its_job_in_error() {
    let Some(m) = Managed::start("refused", small_site(), "").await else { return };
    if m.world.es.is_real() {
        return;
    }
    // The service reads the protocol documents with its own credentials; the connector's key
    // (which this Elasticsearch does not accept) writes the content.
    let yaml = std::fs::read_to_string(&m.config).unwrap() + "    api_key: bm90LWEta2V5Om5vLXJpZ2h0cw==\n";
    std::fs::write(&m.config, yaml).unwrap();
    let mut service = m.run("refused.log");
    m.configured().await;
    let job = m.trigger("full").await;
    let done = m.wait_job(&job, &["completed", "error"], Duration::from_secs(60)).await;
    assert_eq!(done["status"], "error", "{done:#}");
    let error = done["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!("Connector is not authorized to access index [{}]", m.index)),
        "{error}"
    );
    assert!(!service.log().contains("bm90LWEta2V5Om5vLXJpZ2h0cw=="), "the key is in the log");
    let connector = m.connector().await;
    assert_eq!(connector["last_sync_status"], "error", "{connector:#}");
    stop(&mut service).await;
}

#[tokio::test]
async fn connectors_of_a_native_service_type_are_served_without_being_listed() {
    let Some(m) = Managed::start("native", small_site(), "  service_types: [confluence]\n").await else {
        return;
    };
    // No `connectors:` at all: the service type alone selects the connector.
    let yaml = std::fs::read_to_string(&m.config).unwrap();
    let unlisted = yaml.split("connectors:\n").next().unwrap().to_string();
    std::fs::write(&m.config, unlisted).unwrap();
    let mut service = m.run("native.log");
    m.configured().await;
    let job = m.trigger("full").await;
    let done = m.wait_job(&job, &["completed", "error"], Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done:#}\n{}", service.log());
    stop(&mut service).await;
}
