//! The test world as the integration tests, `make demo`, `make ftest` and the benchmarks use it: a Confluence simulator
//! and an Elasticsearch (the test server, or a real cluster when `ES_URL` is set), a
//! `config.yml` pointing the connector at both, and the connector binary run as a user
//! would run it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::confluence::{ConfluenceSim, Flavour, SimConfig};
use crate::elastic::EsTarget;
use anyhow::{bail, Context};
use serde_json::{json, Value};

/// A running Confluence simulator and Elasticsearch, and a scratch directory.
pub struct World {
    /// The Confluence simulator.
    pub confluence: ConfluenceSim,
    /// The Elasticsearch the connector writes to.
    pub es: EsTarget,
    /// Holds config files; removed on drop.
    pub dir: tempfile::TempDir,
    http: reqwest::Client,
}

/// What one run of the connector binary did.
pub struct SyncRun {
    /// Whether it exited 0.
    pub success: bool,
    /// Wall time.
    pub elapsed: Duration,
    /// Its standard error (logs and the final report).
    pub stderr: String,
    /// CPU seconds (user + system) the child used, when the platform says.
    pub cpu_seconds: Option<f64>,
    /// Peak resident memory of the child in KiB, when the platform says.
    pub max_rss_kib: Option<u64>,
}

impl World {
    /// Starts both servers.
    pub async fn start(config: SimConfig) -> anyhow::Result<World> {
        let confluence = ConfluenceSim::start(config).await.context("starting the Confluence simulator")?;
        let es = EsTarget::from_env_or_sim().await.context("reaching Elasticsearch")?;
        Ok(World { confluence, es, dir: tempfile::tempdir()?, http: reqwest::Client::new() })
    }

    /// Starts both servers, Elasticsearch being the test server even when `ES_URL` names a
    /// real cluster: for tests whose point is a fault only the test server can inject.
    pub async fn start_with_test_elasticsearch(config: SimConfig) -> anyhow::Result<World> {
        let confluence = ConfluenceSim::start(config).await.context("starting the Confluence simulator")?;
        let es = EsTarget::sim().await.context("starting the Elasticsearch test server")?;
        Ok(World { confluence, es, dir: tempfile::tempdir()?, http: reqwest::Client::new() })
    }

    /// A `config.yml` for this world, writing into `index`; `extra` is appended to the
    /// `confluence:` section (indented two spaces).
    pub fn config_yaml(&self, index: &str, extra: &[&str]) -> String {
        let creds = self.confluence.credentials();
        let flavour = self.confluence.config().flavour;
        let source = match flavour {
            Flavour::Cloud => format!(
                "  data_source: confluence_cloud\n  account_email: {}\n  api_token: {}\n",
                creds.email, creds.api_token
            ),
            Flavour::Server => format!(
                "  data_source: confluence_server\n  username: {}\n  password: {}\n",
                creds.username, creds.password
            ),
            Flavour::DataCenter => format!(
                "  data_source: confluence_data_center\n  data_center_username: {}\n  data_center_password: {}\n",
                creds.username, creds.password
            ),
        };
        let mut es = format!("elasticsearch:\n  host: {}\n", self.es.url);
        if let Some(key) = &self.es.api_key {
            es.push_str(&format!("  api_key: {key}\n"));
        }
        if let (Some(u), Some(p)) = (&self.es.username, &self.es.password) {
            es.push_str(&format!("  username: {u}\n  password: {p}\n"));
        }
        let mut text = format!(
            "{es}service:\n  log_level: info\nconfluence:\n{source}  confluence_url: {}\n  spaces: \"*\"\n  index_name: {index}\n",
            self.confluence.url()
        );
        for line in extra {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Writes `yaml` under the scratch directory and returns its path.
    pub fn write_config(&self, name: &str, yaml: &str) -> anyhow::Result<PathBuf> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, yaml)?;
        Ok(path)
    }

    /// Runs `confluence-connector sync --kind <kind> -c <config>` and waits for it.
    pub async fn sync(&self, config: &Path, kind: &str) -> anyhow::Result<SyncRun> {
        let binary = connector_binary()?;
        // A profiler to run the connector under (`CONNECTOR_WRAPPER="heaptrack -o /tmp/h"`),
        // for looking into a benchmark; its output goes to stderr with the connector's.
        if let Ok(wrapper) = std::env::var("CONNECTOR_WRAPPER") {
            let mut words = wrapper.split_whitespace();
            let program = words.next().context("CONNECTOR_WRAPPER is empty")?;
            let started = Instant::now();
            let output = tokio::process::Command::new(program)
                .args(words)
                .arg(&binary)
                .args(["sync", "--kind", kind, "-c"])
                .arg(config)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .output()
                .await?;
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            return Ok(SyncRun {
                success: output.status.success(),
                elapsed: started.elapsed(),
                stderr,
                cpu_seconds: None,
                max_rss_kib: None,
            });
        }
        let started = Instant::now();
        let child = tokio::process::Command::new("/usr/bin/time")
            .arg("-f")
            .arg("__TIME__ %U %S %M")
            .arg(&binary)
            .args(["sync", "--kind", kind, "-c"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        // /usr/bin/time is optional: without it the numbers are simply not reported.
        let child = match child {
            Ok(c) => c,
            Err(_) => tokio::process::Command::new(&binary)
                .args(["sync", "--kind", kind, "-c"])
                .arg(config)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("running {}", binary.display()))?,
        };
        let output = child.wait_with_output().await?;
        let elapsed = started.elapsed();
        let mut stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let (mut cpu_seconds, mut max_rss_kib) = (None, None);
        if let Some(pos) = stderr.rfind("__TIME__ ") {
            let parts: Vec<&str> = stderr[pos + 9..].split_whitespace().collect();
            if let [user, system, rss, ..] = parts.as_slice() {
                cpu_seconds = Some(user.parse::<f64>().unwrap_or(0.0) + system.parse::<f64>().unwrap_or(0.0));
                max_rss_kib = rss.parse().ok();
            }
            stderr.truncate(pos);
        }
        Ok(SyncRun { success: output.status.success(), elapsed, stderr, cpu_seconds, max_rss_kib })
    }

    /// A request to the Elasticsearch of this world, with its credentials.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{}", self.es.url.trim_end_matches('/'), path));
        if let Some(key) = &self.es.api_key {
            req = req.header("Authorization", format!("ApiKey {key}"));
        } else if let (Some(u), Some(p)) = (&self.es.username, &self.es.password) {
            req = req.basic_auth(u, Some(p));
        }
        req
    }

    /// Makes what was written searchable.
    pub async fn refresh(&self, index: &str) -> anyhow::Result<()> {
        let r = self.request(reqwest::Method::POST, &format!("/{index}/_refresh")).send().await?;
        if !r.status().is_success() {
            bail!("refresh {index}: {}", r.status());
        }
        Ok(())
    }

    /// `_count` of documents matching `query`.
    pub async fn count(&self, index: &str, query: Value) -> anyhow::Result<u64> {
        let r = self
            .request(reqwest::Method::POST, &format!("/{index}/_count"))
            .json(&json!({ "query": query }))
            .send()
            .await?;
        let status = r.status();
        let body: Value = r.json().await?;
        if !status.is_success() {
            bail!("count {index}: {status} {body}");
        }
        body["count"].as_u64().context("count missing")
    }

    /// Documents of one `type`.
    pub async fn count_type(&self, index: &str, doc_type: &str) -> anyhow::Result<u64> {
        self.count(index, json!({"term": {"type": doc_type}})).await
    }

    /// One document's `_source`, or `None` when it does not exist.
    pub async fn get(&self, index: &str, id: &str) -> anyhow::Result<Option<Value>> {
        let r = self.request(reqwest::Method::GET, &format!("/{index}/_doc/{id}")).send().await?;
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body: Value = r.json().await?;
        Ok(body.get("_source").cloned())
    }

    /// The index mapping's `_meta` (where the sync state lives); `Null` when it has none.
    pub async fn meta(&self, index: &str) -> anyhow::Result<Value> {
        let r = self.request(reqwest::Method::GET, &format!("/{index}/_mapping")).send().await?;
        let body: Value = r.json().await?;
        let meta = body.as_object().and_then(|m| m.values().next()).map(|i| i["mappings"]["_meta"].clone());
        Ok(meta.unwrap_or(Value::Null))
    }

    /// Every document of an index as `_id` → a hash of its `_source`, read with a point in
    /// time and `search_after` (any size). A space's `_timestamp` is left out: it is the
    /// time of the sync that wrote it, the one field two exact syncs may disagree on.
    pub async fn fingerprints(&self, index: &str) -> anyhow::Result<std::collections::BTreeMap<String, u64>> {
        use std::hash::{Hash, Hasher};
        self.refresh(index).await?;
        let r = self.request(reqwest::Method::POST, &format!("/{index}/_pit?keep_alive=2m")).send().await?;
        let opened: Value = r.json().await?;
        let mut pit = opened["id"].as_str().context("no point in time")?.to_string();
        let mut out = std::collections::BTreeMap::new();
        let mut after: Option<Value> = None;
        loop {
            let mut body = json!({"size": 5000, "pit": {"id": pit, "keep_alive": "2m"}, "sort": [{"_shard_doc": "asc"}]});
            if let Some(a) = &after {
                body["search_after"] = a.clone();
            }
            let page: Value =
                self.request(reqwest::Method::POST, "/_search").json(&body).send().await?.json().await?;
            if let Some(id) = page["pit_id"].as_str() {
                pit = id.to_string();
            }
            let hits = page["hits"]["hits"].as_array().cloned().unwrap_or_default();
            for hit in &hits {
                let mut source = hit["_source"].clone();
                if source["type"] == "Space" {
                    if let Some(o) = source.as_object_mut() {
                        o.remove("_timestamp");
                    }
                }
                let mut h = std::collections::hash_map::DefaultHasher::new();
                source.to_string().hash(&mut h);
                out.insert(hit["_id"].as_str().unwrap_or_default().to_string(), h.finish());
            }
            match hits.last() {
                Some(last) if hits.len() == 5000 => after = Some(last["sort"].clone()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// A search; returns the whole response.
    pub async fn search(&self, index: &str, body: Value) -> anyhow::Result<Value> {
        let r = self.request(reqwest::Method::POST, &format!("/{index}/_search")).json(&body).send().await?;
        Ok(r.json().await?)
    }
}

/// The connector binary built alongside this example (`target/<profile>/confluence-connector`).
pub fn connector_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/<profile>/examples/<name> → target/<profile>/confluence-connector
    let profile_dir = exe.parent().and_then(Path::parent).context("cannot locate target directory")?;
    let binary = profile_dir.join("confluence-connector");
    if !binary.exists() {
        bail!("{} not found: build it first (cargo build --release)", binary.display());
    }
    Ok(binary)
}
