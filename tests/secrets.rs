//! Secrets kept outside `config.yml`, end to end: AWS Secrets Manager played by `moto` in
//! server mode (started here on 127.0.0.1, stopped when the test ends), secret files, and a
//! real sync whose secrets come from there. Plaintext and structured secrets, a wrong pointer,
//! a missing secret, a secret that is not JSON, denied access (moto's IAM mode: after
//! `INITIAL_NO_AUTH_ACTION_COUNT` set-up calls it checks signatures and policies), rotation,
//! and that no secret's value shows in any message, log line, metric or stored document.
//!
//! Without `moto_server` (`pip install 'moto[server]'`; `.ci/run` installs it under
//! `target/moto`) the AWS tests print why and pass without running.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use confluence_connector::config::{self, ConfigError};
use serde_json::{json, Value};

use sim::confluence::{Flavour, SimConfig, Size};
use sim::world::World;

mod child;
use child::{free_port, get};

/// A `moto_server` on 127.0.0.1, killed on drop.
struct Moto {
    child: Child,
    url: String,
    http: reqwest::Client,
}

/// The `moto_server` to run: `$MOTO_SERVER`, the one `.ci/run` installs under `target/moto`,
/// or one on `PATH`.
fn moto_server() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return Some(PathBuf::from(path));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/moto/bin/moto_server");
    if venv.exists() {
        return Some(venv);
    }
    let on_path =
        Command::new("moto_server").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status();
    on_path.ok().filter(|s| s.success()).map(|_| PathBuf::from("moto_server"))
}

impl Moto {
    /// Starts moto; `free_calls` turns on its IAM checks after that many calls. `None` (and a
    /// printed reason) when moto is not installed.
    async fn start(test: &str, free_calls: Option<u32>) -> Option<Moto> {
        let Some(binary) = moto_server() else {
            // Straight to standard error: the test harness captures println!, and a skip
            // should be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: moto_server is not installed (pip install 'moto[server]', or run .ci/run)"
            );
            return None;
        };
        let port = free_port();
        let mut command = Command::new(&binary);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(n) = free_calls {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
        }
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let moto = Moto { child, url: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
        let started = Instant::now();
        while get(port, "/moto-api/").await.is_none() {
            assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not answer on port {port}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(moto)
    }

    /// A signed AWS call (keys `testing`, which moto accepts until its IAM checks start).
    async fn call(
        &self,
        service: &str,
        region: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> (u16, String) {
        let url = format!("{}/", self.url);
        let identity =
            aws_credential_types::Credentials::new("testing", "testing", None, None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let signable =
            SignableRequest::new("POST", &url, headers.iter().copied(), SignableBody::Bytes(body.as_bytes()))
                .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut request = self.http.post(&url).body(body);
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A Secrets Manager action.
    async fn secrets_manager(&self, region: &str, action: &str, body: Value) -> Value {
        let target = format!("secretsmanager.{action}");
        let headers = [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", target.as_str())];
        let (status, text) = self.call("secretsmanager", region, &headers, body.to_string()).await;
        assert_eq!(status, 200, "{action}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Creates secret `name` holding `value` in `region`.
    async fn create(&self, region: &str, name: &str, value: &str) {
        self.secrets_manager(region, "CreateSecret", json!({"Name": name, "SecretString": value})).await;
    }

    /// An IAM action (query protocol); its XML answer.
    async fn iam(&self, form: &[(&str, &str)]) -> String {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        body.append_pair("Version", "2010-05-08").extend_pairs(form);
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        let (status, text) = self.call("iam", "us-east-1", &headers, body.finish()).await;
        assert_eq!(status, 200, "{form:?}: {text}");
        text
    }

    /// A user with an access key, allowed `policy` when given: its key id and secret.
    async fn user(&self, name: &str, policy: Option<Value>) -> (String, String) {
        self.iam(&[("Action", "CreateUser"), ("UserName", name)]).await;
        let xml = self.iam(&[("Action", "CreateAccessKey"), ("UserName", name)]).await;
        if let Some(policy) = policy {
            let document = policy.to_string();
            let form = [
                ("Action", "PutUserPolicy"),
                ("UserName", name),
                ("PolicyName", "read"),
                ("PolicyDocument", &document),
            ];
            self.iam(&form).await;
        }
        let element = |tag: &str| {
            let start = xml.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
            xml[start..start + xml[start..].find('<').unwrap()].to_string()
        };
        (element("AccessKeyId"), element("SecretAccessKey"))
    }

    /// The environment the connector reads AWS from: this emulator and the given keys.
    fn env(&self, key_id: &str, secret: &str) -> HashMap<String, String> {
        [
            ("AWS_ENDPOINT_URL", self.url.as_str()),
            ("AWS_ACCESS_KEY_ID", key_id),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const REGION: &str = "ap-southeast-2";

/// A managed-mode config (no Confluence settings needed) whose secrets are `secrets`, YAML
/// lines under `elasticsearch:`.
fn managed_config(elasticsearch: &[&str]) -> String {
    let mut text = "elasticsearch:\n".to_string();
    for line in elasticsearch {
        text.push_str(&format!("  {line}\n"));
    }
    text.push_str("connectors:\n  - connector_id: c1\n    service_type: confluence\n");
    text
}

fn problems(result: Result<config::Loaded, ConfigError>) -> Vec<(String, String)> {
    match result {
        Err(ConfigError::Invalid(problems, _)) => problems.into_iter().map(|p| (p.path, p.message)).collect(),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("loaded"),
    }
}

fn load(text: &str, env: &HashMap<String, String>) -> Result<config::Loaded, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yml");
    std::fs::write(&path, text).unwrap();
    config::load_with_env(&path, env)
}

#[tokio::test(flavor = "multi_thread")]
async fn plaintext_and_structured_secrets_are_read_and_rotation_is_picked_up() {
    let Some(moto) = Moto::start("plaintext_and_structured_secrets", None).await else { return };
    moto.create(REGION, "es-key", "AWS-PLAIN-KEY-1\n").await;
    moto.create(REGION, "es-login", r#"{"username":"elastic","password":"AWS-STRUCT-PW-2"}"#).await;
    moto.create(REGION, "connector", r#"{"api_key":"AWS-CONNECTOR-KEY-3"}"#).await;
    let text = "elasticsearch:\n  api_key: {\"region\":\"ap-southeast-2\",\"secretId\":\"es-key\"}\n  \
                password:\n    region: ap-southeast-2\n    secretId: es-login\n    secretPointer: /password\n\
                connectors:\n  - connector_id: c1\n    api_key: '{\"region\":\"ap-southeast-2\",\"secretId\":\"connector\",\"secretPointer\":\"/api_key\"}'\n";
    let env = moto.env("testing", "testing");

    // Start-up with three AWS-held secrets, timed (median of five).
    let mut took = Vec::new();
    let mut loaded = None;
    for _ in 0..5 {
        let started = Instant::now();
        loaded = Some(load(text, &env).unwrap());
        took.push(started.elapsed());
    }
    took.sort();
    println!(
        "loading a config with three AWS-held secrets (moto on 127.0.0.1): median {:?}, all {took:?}",
        took[2]
    );
    let config = loaded.unwrap().config;
    let es = &config.elasticsearch;
    assert_eq!(
        es.api_key.as_ref().unwrap().expose(),
        "AWS-PLAIN-KEY-1\n",
        "a plaintext secret is taken as stored"
    );
    assert_eq!(es.password.expose(), "AWS-STRUCT-PW-2");
    assert_eq!(config.connectors[0].api_key.as_ref().unwrap().expose(), "AWS-CONNECTOR-KEY-3");
    let shown = format!("{config:?}");
    for value in ["AWS-PLAIN-KEY-1", "AWS-STRUCT-PW-2", "AWS-CONNECTOR-KEY-3"] {
        assert!(!shown.contains(value), "{value} in {shown}");
    }

    moto.secrets_manager(
        REGION,
        "PutSecretValue",
        json!({"SecretId": "es-login", "SecretString": r#"{"password":"AWS-ROTATED-4"}"#}),
    )
    .await;
    let fresh = config.with_fresh_secrets().await.unwrap();
    assert_eq!(fresh.elasticsearch.password.expose(), "AWS-ROTATED-4");
    assert_eq!(config.elasticsearch.password.expose(), "AWS-STRUCT-PW-2", "the old config is left as it was");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_unreadable_secret_is_named_with_its_cause_and_no_value() {
    let Some(moto) = Moto::start("each_unreadable_secret", None).await else { return };
    moto.create(REGION, "plain", "AWS-PLAIN-VALUE-5").await;
    moto.create(REGION, "structured", r#"{"password":"AWS-STRUCT-VALUE-6"}"#).await;
    let text = managed_config(&[
        "api_key: {region: ap-southeast-2, secretId: missing}",
        "password: {region: ap-southeast-2, secretId: structured, secretPointer: /pasword}",
    ])
    .replace("service_type: confluence\n", "service_type: confluence\n    api_key: {region: ap-southeast-2, secretId: plain, secretPointer: /password}\n");
    let result = load(&text, &moto.env("testing", "testing"));
    let shown = match &result {
        Err(e) => e.to_string(),
        Ok(_) => String::new(),
    };
    let found = problems(result);
    let at = |path: &str| found.iter().find(|(p, _)| p == path).map(|(_, m)| m.clone()).unwrap_or_default();
    assert_eq!(found.len(), 3, "{shown}");
    assert!(
        at("elasticsearch.api_key").contains("AWS secret missing in ap-southeast-2: no such secret"),
        "{shown}"
    );
    assert!(
        at("elasticsearch.password")
            .contains("secretPointer /pasword not found in the secret (its keys: password)"),
        "{shown}"
    );
    assert!(at("connectors[0].api_key").contains("the secret is not JSON"), "{shown}");
    for value in ["AWS-PLAIN-VALUE-5", "AWS-STRUCT-VALUE-6"] {
        assert!(!shown.contains(value), "{value} in {shown}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn denied_access_and_refused_credentials_are_told_apart() {
    // Six free calls: the secret, two users and their keys, one policy. After them moto
    // checks every signature and policy, as AWS does.
    let Some(moto) = Moto::start("denied_access", Some(6)).await else { return };
    moto.create(REGION, "guarded", "AWS-GUARDED-7").await;
    let allow = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]});
    let reader = moto.user("reader", Some(allow)).await;
    let nobody = moto.user("nobody", None).await;
    let text = managed_config(&["api_key: {region: ap-southeast-2, secretId: guarded}"]);

    let read = load(&text, &moto.env(&reader.0, &reader.1)).unwrap();
    assert_eq!(
        read.config.elasticsearch.api_key.unwrap().expose(),
        "AWS-GUARDED-7",
        "a correct signature is accepted"
    );

    let denied = problems(load(&text, &moto.env(&nobody.0, &nobody.1)));
    assert_eq!(denied[0].0, "elasticsearch.api_key");
    assert!(denied[0].1.contains("access denied (AccessDeniedException)"), "{denied:?}");
    assert!(denied[0].1.contains("from the environment (AWS_ACCESS_KEY_ID)"), "{denied:?}");

    let wrong_key = problems(load(&text, &moto.env(&reader.0, "not-the-key")));
    assert!(
        wrong_key[0].1.contains("AWS refused the credentials")
            && wrong_key[0].1.contains("SignatureDoesNotMatch"),
        "{wrong_key:?}"
    );
    assert!(!format!("{denied:?}{wrong_key:?}").contains("AWS-GUARDED-7"));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_sync_with_its_password_in_aws_and_a_file_leaks_it_nowhere() {
    let Some(moto) = Moto::start("a_sync_with_its_password_in_aws", None).await else { return };
    let world =
        World::start_with_test_elasticsearch(SimConfig::new(Flavour::Server, Size::Small)).await.unwrap();
    let password = world.confluence.credentials().password.clone();
    let username = world.confluence.credentials().username.clone();
    moto.create(REGION, "confluence", &json!({"username": username, "password": password}).to_string()).await;
    let index = format!("secrets-{}", std::process::id());
    // The Confluence password from AWS; the Elasticsearch password from a file.
    let es_password = world.es.password.clone().unwrap_or_else(|| "changeme".into());
    let es_password_file = world.write_config("es_password", &format!("{es_password}\n")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&es_password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut yaml = world.config_yaml(&index, &[]).replace("log_level: info", "log_level: debug").replace(
        &format!("  password: {password}\n"),
        "  password: {region: ap-southeast-2, secretId: confluence, secretPointer: /password}\n",
    );
    let file_reference = format!("  password: ${{file:{}}}\n", es_password_file.display());
    match yaml.find(&format!("  password: {es_password}\n")) {
        Some(at) => yaml.replace_range(at..at + es_password.len() + 13, &file_reference),
        None => yaml = yaml.replacen("elasticsearch:\n", &format!("elasticsearch:\n{file_reference}"), 1),
    }
    assert!(!yaml.contains(&password), "the password is still written in the config:\n{yaml}");
    let config = world.write_config("config.yml", &yaml).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let yaml_run = yaml.replacen("service:\n", &format!("service:\n  http: {{port: {port}}}\n"), 1)
        + "  schedules: {full: 1h}\n";
    let config_run = world.write_config("config-run.yml", &yaml_run).unwrap();

    // One sync through the binary, as an operator runs it.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_confluence-connector"))
        .args(["sync", "--kind", "full", "-c"])
        .arg(&config)
        .envs(moto.env("testing", "testing"))
        .output()
        .await
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr).into_owned() + &String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{log}");
    world.refresh(&index).await.unwrap();
    let documents = world.search(&index, json!({"query": {"match_all": {}}, "size": 1000})).await.unwrap();
    let hits = documents["hits"]["hits"].as_array().map(Vec::len).unwrap_or(0);
    assert!(hits > 0, "nothing indexed: {documents}");
    let stored = documents.to_string();

    // The service, with its metrics (the next sync an hour away).
    let run_log = dir.path().join("run.log");
    let mut service = tokio::process::Command::new(env!("CARGO_BIN_EXE_confluence-connector"))
        .args(["run", "-c"])
        .arg(&config_run)
        .envs(moto.env("testing", "testing"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&run_log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !std::fs::read_to_string(&run_log).unwrap_or_default().contains("next sync scheduled") {
        let so_far = std::fs::read_to_string(&run_log).unwrap_or_default();
        assert!(started.elapsed() < Duration::from_secs(60), "the service did not start:\n{so_far}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = get(port, "/metrics").await.map(|(_, body)| body).unwrap_or_default();
    assert!(metrics.contains("# TYPE"), "no metrics: {metrics}");
    service.start_kill().unwrap();
    service.wait().await.unwrap();
    let run_log = std::fs::read_to_string(&run_log).unwrap_or_default();

    for value in [password.as_str(), es_password.as_str()] {
        assert!(!log.contains(value), "{value} in the sync's log:\n{log}");
        assert!(!stored.contains(value), "{value} in a stored document");
        assert!(!metrics.contains(value), "{value} in the metrics");
        assert!(!run_log.contains(value), "{value} in the service's log");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_web_identity_token_is_exchanged_with_sts_for_the_credentials() {
    let Some(moto) = Moto::start("a_web_identity_token", None).await else { return };
    moto.create(REGION, "eks", "AWS-EKS-VALUE-9").await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n").unwrap();
    let mut env = moto.env("", "");
    env.retain(|k, _| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET_ACCESS_KEY"));
    env.insert("AWS_WEB_IDENTITY_TOKEN_FILE".into(), token.display().to_string());
    env.insert("AWS_ROLE_ARN".into(), "arn:aws:iam::123456789012:role/confluence-connector".into());
    env.insert("HOME".into(), dir.path().display().to_string());
    let text = managed_config(&["api_key: {region: ap-southeast-2, secretId: eks}"]);
    let loaded = load(&text, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.elasticsearch.api_key.unwrap().expose(), "AWS-EKS-VALUE-9");
}

/// Waits until `log` holds `text` at least `times` times; its text.
async fn wait_in_log(log: &Path, text: &str, times: usize) -> String {
    let started = Instant::now();
    loop {
        let so_far = std::fs::read_to_string(log).unwrap_or_default();
        if so_far.matches(text).count() >= times {
            return so_far;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "no {text:?} ×{times}:\n{so_far}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_reads_a_rotated_secret_before_each_sync() {
    let Some(moto) = Moto::start("the_service_reads_a_rotated_secret", None).await else { return };
    let mut site = SimConfig::new(Flavour::Server, Size::Small);
    site.pages = Some(20);
    let world = World::start_with_test_elasticsearch(site).await.unwrap();
    let password = world.confluence.credentials().password.clone();
    let put = |value: String| {
        let body = json!({"SecretId": "rotating", "SecretString": json!({"password": value}).to_string()});
        moto.secrets_manager(REGION, "PutSecretValue", body)
    };
    moto.create(REGION, "rotating", &json!({"password": password}).to_string()).await;
    let index = format!("rotation-{}", std::process::id());
    let yaml = world.config_yaml(&index, &["retry_count: 0", "schedules: {full: 1s}"]).replace(
        &format!("  password: {password}\n"),
        "  password: {region: ap-southeast-2, secretId: rotating, secretPointer: /password}\n",
    );
    let config = world.write_config("config.yml", &yaml).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    let mut service = tokio::process::Command::new(env!("CARGO_BIN_EXE_confluence-connector"))
        .args(["run", "-c"])
        .arg(&config)
        .envs(moto.env("testing", "testing"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let completed = "scheduled sync completed";
    let before = wait_in_log(&log, completed, 1).await.matches(completed).count();
    put("WRONG-ROTATED-10".into()).await;
    // The next sync signs in with the rotated (wrong) password: Confluence answers 401.
    let failed = wait_in_log(&log, "the next sync tries again", 1).await;
    assert!(failed.contains("401"), "{failed}");
    put(password.clone()).await;
    let after = wait_in_log(&log, completed, before + 1).await;
    service.start_kill().unwrap();
    service.wait().await.unwrap();
    for value in [password.as_str(), "WRONG-ROTATED-10"] {
        assert!(!after.contains(value), "{value} in the service's log:\n{after}");
    }
}
