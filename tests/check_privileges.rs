//! `check` tells, before a sync would fail on its first write, whether the credentials hold
//! the index privileges a sync needs (`_has_privileges`): a key that may only read fails,
//! naming `write` on the content index; full rights pass; a cluster without security passes,
//! saying so.
//!
//! Against the test server, the read-only key is one of its configured API keys. Against a
//! real cluster (`ES_URL`) with security, it is made with `POST /_security/api_key` and
//! invalidated afterwards; a real cluster without security cannot show that case (every
//! client may write), and the test says so. `check` asks `GET /` first, which needs the
//! `rest-root` module: a node without it skips the test, saying so.

use std::path::Path;

use serde_json::{json, Value};
use sim::confluence::{ConfluenceSim, Flavour, SimConfig, Size};
use sim::elastic::{EsApiKey, EsSim, EsSimConfig, EsTarget, Role};

const TEST: &str = "check_privileges";

/// `check -c <config>`: exit code, stdout, stderr.
async fn check(config: &Path) -> (i32, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_confluence-connector"))
        .args(["check", "-c"])
        .arg(config)
        .output()
        .await
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

/// A `config.yml` in `dir` for `wiki` and Elasticsearch at `url` with `credentials` (YAML
/// lines under `elasticsearch:`), syncing into `index` with no ingest pipeline.
fn config(
    dir: &tempfile::TempDir,
    wiki: &ConfluenceSim,
    url: &str,
    credentials: &str,
    index: &str,
) -> std::path::PathBuf {
    let creds = wiki.credentials();
    let text = format!(
        "elasticsearch:\n  host: {url}\n{credentials}confluence:\n  data_source: confluence_server\n  \
         confluence_url: {}\n  username: {}\n  password: {}\n  spaces: '*'\n  index_name: {index}\n  pipeline: {{name: ''}}\n",
        wiki.url(),
        creds.username,
        creds.password
    );
    let path = dir.path().join(format!("{}.yml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

/// The `elasticsearch:` credential lines of a target.
fn credentials(target: &EsTarget) -> String {
    match (&target.api_key, &target.username, &target.password) {
        (Some(key), _, _) => format!("  api_key: {key}\n"),
        (None, Some(u), Some(p)) => format!("  username: {u}\n  password: {p}\n"),
        _ => String::new(),
    }
}

/// `method path` with `body` on the target, as its credentials: status and body.
async fn call(target: &EsTarget, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", target.url)).json(&body);
    if let Some(auth) = target.authorization() {
        request = request.header("Authorization", auth);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn assert_lacks_write(code: i32, stdout: &str, stderr: &str, index: &str) {
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("on [{index}]: write (index and delete documents)")), "{stderr}");
    assert!(stderr.contains("manage (keep the sync state"), "{stderr}");
    assert!(stderr.contains("on [.confluence-connector-leases]: write"), "{stderr}");
}

#[tokio::test]
async fn check_names_the_privilege_a_key_lacks_and_passes_full_rights() {
    let wiki = ConfluenceSim::start(SimConfig::new(Flavour::Server, Size::Small)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let index = format!("search-rights-{}", std::process::id());
    let target = EsTarget::from_env_or_sim().await.unwrap();
    if target.is_real() {
        return on_a_real_cluster(&target, &wiki, &dir, &index).await;
    }
    // The test server, with a second API key that may only read.
    let reader = EsApiKey::new("read-only", "r3ad-only-secret", Role::Reader);
    let es =
        EsSim::start(EsSimConfig { api_keys: vec![reader.clone()], ..EsSimConfig::default() }).await.unwrap();
    let full = config(&dir, &wiki, &es.url(), "  username: elastic\n  password: changeme\n", &index);
    let (code, stdout, stderr) = check(&full).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("user [elastic] holds the index privileges a sync needs on [{index}]")),
        "{stdout}"
    );

    let read_only = config(&dir, &wiki, &es.url(), &format!("  api_key: {}\n", reader.encoded()), &index);
    let (code, stdout, stderr) = check(&read_only).await;
    assert_lacks_write(code, &stdout, &stderr, &index);
    assert!(stderr.contains("the API key (of user [elastic]) lacks"), "{stderr}");
    // The index does not exist yet: creating it is named too.
    assert!(stderr.contains("create_index (create it: it does not exist yet)"), "{stderr}");
    assert!(!stderr.contains("r3ad-only-secret") && !stderr.contains(&reader.encoded()), "{stderr}");
}

#[tokio::test]
async fn check_passes_a_cluster_without_security_saying_so() {
    let wiki = ConfluenceSim::start(SimConfig::new(Flavour::Server, Size::Small)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let index = format!("search-open-{}", std::process::id());
    let target = EsTarget::from_env_or_sim().await.unwrap();
    let (url, creds, _sim) = if target.is_real() {
        if target.skips_without(TEST, &["rest-root"], "`check`, which asks `GET /` first,").await {
            return;
        }
        let (status, _) = call(
            &target,
            reqwest::Method::POST,
            "/_security/user/_has_privileges",
            json!({"cluster": ["monitor"]}),
        )
        .await;
        if status == 200 {
            eprintln!(
                "{TEST}: skipped: {} runs with security, so it cannot show a cluster without",
                target.url
            );
            return;
        }
        (target.url.clone(), credentials(&target), None)
    } else {
        let es =
            EsSim::start(EsSimConfig { security_enabled: false, ..EsSimConfig::default() }).await.unwrap();
        (es.url(), String::new(), Some(es))
    };
    let (code, stdout, stderr) = check(&config(&dir, &wiki, &url, &creds, &index)).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("security is not enabled on the cluster"), "{stdout}");
}

/// The read-only case on a real cluster: a key made for it, when the cluster has security.
async fn on_a_real_cluster(target: &EsTarget, wiki: &ConfluenceSim, dir: &tempfile::TempDir, index: &str) {
    if target.skips_without(TEST, &["rest-root"], "`check`, which asks `GET /` first,").await {
        return;
    }
    let full = config(dir, wiki, &target.url, &credentials(target), index);
    let (code, stdout, stderr) = check(&full).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let role = json!({"reader": {"indices": [{
        "names": [index, ".confluence-connector-leases"],
        "privileges": ["read", "view_index_metadata"]
    }]}});
    let body = json!({"name": "check-privileges-test", "expiration": "1h", "role_descriptors": role});
    let (status, key) = call(target, reqwest::Method::POST, "/_security/api_key", body).await;
    if status != 200 {
        eprintln!(
            "{TEST}: skipped the read-only key: {} cannot make API keys ({status}; security off?): {}",
            target.url,
            if stdout.contains("security is not enabled") {
                "it runs without security"
            } else {
                "see its answer"
            }
        );
        return;
    }
    let encoded = key["encoded"].as_str().unwrap().to_string();
    let read_only = config(dir, wiki, &target.url, &format!("  api_key: {encoded}\n"), index);
    let (code, stdout, stderr) = check(&read_only).await;
    let _ = call(target, reqwest::Method::DELETE, "/_security/api_key", json!({"ids": [key["id"]]})).await;
    assert_lacks_write(code, &stdout, &stderr, index);
}
