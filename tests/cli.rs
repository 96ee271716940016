//! The command line as a user meets it: exit codes, one-line errors, and no secret in any
//! output, even at debug level.

use std::process::Command;

use sim::confluence::{FaultKind, FaultRule, Flavour, SimConfig, Size, Trigger};

use sim::world as common;

const SECRETS: [&str; 3] = ["SECRET-ES-KEY-42", "SECRET-CONF-TOKEN-42", "SECRET-PASSWORD-42"];

fn connector(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_confluence-connector")).args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn write(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("config.yml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn check_against_unreachable_hosts_fails_with_one_line_each_and_leaks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (es, wiki) = (closed_port(), closed_port());
    let config = write(
        &dir,
        &format!(
            "elasticsearch:\n  host: http://127.0.0.1:{es}\n  api_key: SECRET-ES-KEY-42\n  password: SECRET-PASSWORD-42\n\
             confluence:\n  data_source: confluence_cloud\n  confluence_url: http://127.0.0.1:{wiki}\n  account_email: a@b.c\n  \
             api_token: ${{TOKEN}}\n  spaces: '*'\n  retry_count: 0\n"
        ),
    );
    let output = Command::new(env!("CARGO_BIN_EXE_confluence-connector"))
        .args(["check", "-c", &config, "--log-level", "trace"])
        .env("TOKEN", "SECRET-CONF-TOKEN-42")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(errors[0].contains(&format!("elasticsearch: cannot reach http://127.0.0.1:{es}")), "{stderr}");
    assert!(errors[1].contains(&format!("confluence: cannot reach http://127.0.0.1:{wiki}")), "{stderr}");
    for secret in SECRETS {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "{secret} leaked:\n{stdout}\n{stderr}");
    }
}

/// Every line of `stderr` as JSON (the test fails on the first that is not).
fn json_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{stderr}")))
        .collect()
}

#[test]
fn with_json_logs_a_bad_config_is_one_event_listing_its_problems() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        &dir,
        "elasticsearch.bulk.chunk_size: lots\nservice:\n  max_file_download_size: -1\nconfluence:\n  \
         data_source: confluence_clod\n  confluense_url: x\n",
    );
    let (code, _, stderr) = connector(&["check", "-c", &config, "--log-format", "json"]);
    assert_eq!(code, 2, "{stderr}");
    let events = json_lines(&stderr);
    assert_eq!(events.len(), 1, "{stderr}");
    assert_eq!(events[0]["log.level"], "error");
    let problems = events[0]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 3, "{stderr}");
    assert_eq!(problems[2]["key"], "confluence.data_source", "{stderr}");
    assert!(events[0]["warnings"][0].as_str().unwrap().contains("confluense_url"), "{stderr}");
}

#[test]
fn with_json_logs_the_last_error_is_json_too() {
    let dir = tempfile::tempdir().unwrap();
    let (es, wiki) = (closed_port(), closed_port());
    let config = write(
        &dir,
        &format!(
            "elasticsearch:\n  host: http://127.0.0.1:{es}\n\
             confluence:\n  confluence_url: http://127.0.0.1:{wiki}\n  username: u\n  password: p\n  \
             spaces: DEV\n  retry_count: 0\n"
        ),
    );
    let (code, _, stderr) = connector(&["check", "-c", &config, "--log-format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let events = json_lines(&stderr);
    let errors: Vec<_> = events.iter().filter(|e| e["log.level"] == "error").collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(errors[0]["message"].as_str().unwrap().contains("cannot reach"), "{stderr}");
    assert_eq!(events.last().unwrap()["message"], "confluence-connector stopped", "{stderr}");
}

#[test]
fn a_config_with_three_mistakes_lists_all_three_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        &dir,
        "elasticsearch.bulk.chunk_size: lots\nservice:\n  max_file_download_size: -1\nconfluence:\n  \
         data_source: confluence_clod\n  api_token: SECRET-CONF-TOKEN-42\n  confluense_url: x\n",
    );
    let (code, _, stderr) = connector(&["check", "-c", &config]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("config has 3 problems"), "{stderr}");
    for path in
        ["elasticsearch.bulk.chunk_size:", "service.max_file_download_size:", "confluence.data_source:"]
    {
        assert!(stderr.contains(path), "{path} missing:\n{stderr}");
    }
    assert!(stderr.contains("did you mean confluence.confluence_url?"), "{stderr}");
    assert!(!stderr.contains("SECRET-CONF-TOKEN-42"), "{stderr}");
}

#[test]
fn credentials_in_urls_stop_start_up_naming_the_key_and_never_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        &dir,
        &format!(
            "elasticsearch:\n  host: http://elastic:SECRET-ES-KEY-42@127.0.0.1:{}\nconfluence:\n  \
             confluence_url: http://bob:SECRET-PASSWORD-42@127.0.0.1:{}/wiki\n  spaces: DEV\n",
            closed_port(),
            closed_port()
        ),
    );
    for command in [&["check"][..], &["sync", "--kind", "full"][..]] {
        let mut args = command.to_vec();
        args.extend(["-c", config.as_str(), "--log-level", "trace"]);
        let (code, stdout, stderr) = connector(&args);
        assert_eq!(code, 2, "{command:?}: {stdout}\n{stderr}");
        for key in ["elasticsearch.host:", "confluence.confluence_url:"] {
            assert!(stderr.contains(key), "{key} missing:\n{stderr}");
        }
        assert!(stderr.contains("carries credentials"), "{stderr}");
        for secret in SECRETS {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "{secret} leaked:\n{stdout}\n{stderr}"
            );
        }
    }
}

#[test]
fn a_missing_config_file_says_which() {
    let (code, _, stderr) = connector(&["check", "-c", "/nonexistent/config.yml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read config file /nonexistent/config.yml"), "{stderr}");
}

#[test]
fn help_has_examples_and_version_prints() {
    let (code, stdout, _) = connector(&["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Examples:") && stdout.contains("sync --kind full"), "{stdout}");
    let (code, stdout, _) = connector(&["--version"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("confluence-connector "), "{stdout}");
}

#[test]
fn log_level_comes_from_the_cli_then_the_config_then_rust_log() {
    let dir = tempfile::tempdir().unwrap();
    let base = format!(
        "elasticsearch:\n  host: http://127.0.0.1:{}\nconfluence:\n  confluence_url: http://127.0.0.1:{}\n  \
         username: u\n  password: p\n  spaces: DEV\n  retry_count: 0\n",
        closed_port(),
        closed_port()
    );
    let run = |config: &str, args: &[&str]| {
        let path = write(&dir, config);
        let mut all = vec!["check", "-c", path.as_str()];
        all.extend_from_slice(args);
        let output = Command::new(env!("CARGO_BIN_EXE_confluence-connector"))
            .args(&all)
            .env("RUST_LOG", "debug")
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stderr).contains("DEBUG")
    };
    assert!(run(&base, &[]), "RUST_LOG applies when neither the CLI nor the config sets a level");
    let quiet = base.replace("confluence:\n", "service:\n  log_level: ERROR\nconfluence:\n");
    assert!(!run(&quiet, &[]), "the config's level wins over RUST_LOG");
    assert!(run(&quiet, &["--log-level", "debug"]), "the CLI's level wins over the config");
}

/// `check` with `spaces: <keys>` against a small simulated site (which has `ENG` and `OPS`):
/// its exit code, stdout and stderr.
async fn check_spaces(flavour: Flavour, spaces: &str) -> (i32, String, String) {
    // The test server, whatever `ES_URL` says: `check` asks `GET /`, which the real node of
    // `make test-es` lacks (no rest-root module); the point here is Confluence's side.
    let world =
        common::World::start_with_test_elasticsearch(SimConfig::new(flavour, Size::Small)).await.unwrap();
    let yaml = world
        .config_yaml("search-check-spaces", &[])
        .replace("  spaces: \"*\"\n", &format!("  spaces: {spaces}\n"));
    let config = world.write_config("config.yml", &yaml).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_confluence-connector"))
        .args(["check", "-c"])
        .arg(&config)
        .output()
        .await
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn check_refuses_space_keys_confluence_does_not_show() {
    for flavour in [Flavour::Server, Flavour::Cloud] {
        let (code, stdout, stderr) = check_spaces(flavour, "\"eng, NOPE, OPS\"").await;
        assert_eq!(code, 1, "{flavour:?}\n{stdout}\n{stderr}");
        assert!(
            stderr.contains("'eng' is not a space key; did you mean 'ENG'? (space keys are case-sensitive)"),
            "{flavour:?}: {stderr}"
        );
        assert!(stderr.contains("'NOPE' is not a space these credentials can see"), "{stderr}");
        assert!(!stderr.contains("'OPS'"), "OPS exists: {stderr}");
        assert!(stderr.contains("Available spaces are: ") && stderr.contains("ENG"), "{stderr}");
    }
    let (code, stdout, stderr) = check_spaces(Flavour::Server, "\"ENG, OPS\"").await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) = check_spaces(Flavour::Server, "\"*\"").await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

/// `check` fails, naming the key, when the ingest pipeline the sync would write through is
/// missing (a sync would crawl and download before its first `_bulk` failed).
#[tokio::test]
async fn check_refuses_a_missing_ingest_pipeline() {
    let world = common::World::start_with_test_elasticsearch(SimConfig::new(Flavour::Server, Size::Small))
        .await
        .unwrap();
    let run = |yaml: String| {
        let config = world.write_config("config.yml", &yaml).unwrap();
        async move {
            let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_confluence-connector"))
                .args(["check", "-c"])
                .arg(&config)
                .output()
                .await
                .unwrap();
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
        }
    };
    let (code, stdout, stderr) =
        run(world.config_yaml("search-pipeline", &["pipeline: {name: no-such-pipeline}"])).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("ingest pipeline [no-such-pipeline] does not exist"), "{stderr}");
    assert!(stderr.contains("confluence.pipeline.name"), "{stderr}");
    let (code, stdout, stderr) = run(world.config_yaml("search-pipeline", &[])).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("ingest pipeline [search-default-ingestion] present"), "{stdout}");

    // An index made by dynamic mappings (a write before the connector's template) is refused
    // by `check` as the sync would refuse it.
    let doc = serde_json::json!({"id": "1", "type": "page", "space_key": "ENG", "url": "https://wiki/1"});
    let made = world
        .request(reqwest::Method::PUT, "/search-dynamic/_doc/1?refresh=true")
        .json(&doc)
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success(), "{}", made.status());
    let (code, stdout, stderr) = run(world.config_yaml("search-dynamic", &[])).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("space_key as text"), "{stderr}");
}

/// A sync that lists everything but cannot write every document (here every attachment
/// download fails) exits 3, names the count and a document, and is told apart from one
/// that did not complete (1).
#[tokio::test]
async fn a_sync_with_failed_documents_exits_3() {
    let world = common::World::start_with_test_elasticsearch(SimConfig::new(Flavour::Server, Size::Small))
        .await
        .unwrap();
    world.confluence.faults().add(FaultRule::on(
        "/download/attachments/{id}/{file}",
        Trigger::Always,
        FaultKind::Status(500),
    ));
    let yaml = world.config_yaml("search-failed-documents", &["retry_count: 0"]);
    let config = world.write_config("config.yml", &yaml).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_confluence-connector"))
        .args(["sync", "--kind", "full", "-c"])
        .arg(&config)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("error: the sync completed, but "), "{stderr}");
    assert!(stderr.contains("download failed"), "{stderr}");
}

/// Logs piped or redirected (a file, a collector) carry no colour codes: the test's pipe is
/// such a case.
#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (es, wiki) = (closed_port(), closed_port());
    let config = write(
        &dir,
        &format!(
            "elasticsearch:\n  host: http://127.0.0.1:{es}\n  max_retries: 1\n  retry_interval: 0\n\
             confluence:\n  data_source: confluence_server\n  confluence_url: http://127.0.0.1:{wiki}\n  \
             username: u\n  password: p\n  spaces: '*'\n  retry_count: 0\n"
        ),
    );
    let (code, _, stderr) = connector(&["sync", "--kind", "full", "-c", &config, "--log-level", "debug"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.lines().any(|l| l.contains("WARN") || l.contains("DEBUG")), "no log lines:\n{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes in piped logs:\n{stderr:?}");
}

#[test]
fn elastic_ingests_command_line_runs_the_service() {
    // `elastic-ingest --config-file config.yml --debug`: no subcommand means `run`.
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        &dir,
        &format!(
            "elasticsearch:\n  host: http://127.0.0.1:{}\nconfluence:\n  confluence_url: http://127.0.0.1:{}\n  \
             username: u\n  password: SECRET-PASSWORD-42\n  spaces: DEV\n",
            closed_port(),
            closed_port()
        ),
    );
    let (code, _, stderr) = connector(&["--config-file", &config, "--debug"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("command=\"run\""), "{stderr}");
    assert!(stderr.contains("nothing to run"), "{stderr}");
    assert!(!stderr.contains("SECRET-PASSWORD-42"), "{stderr}");
}

#[test]
fn a_config_for_both_modes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        &dir,
        "elasticsearch:\n  host: http://127.0.0.1:9200\nconnectors:\n  - connector_id: abc\n    service_type: confluence\n\
         confluence:\n  confluence_url: http://wiki\n  username: u\n  password: p\n  spaces: DEV\n",
    );
    let (code, _, stderr) = connector(&["check", "-c", &config]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("connectors: a config runs one mode"), "{stderr}");
}

#[tokio::test]
async fn an_elasticsearch_of_an_unsupported_major_is_refused_unless_allowed() {
    let wiki =
        sim::confluence::ConfluenceSim::start(SimConfig::new(Flavour::Server, Size::Small)).await.unwrap();
    let es_config = sim::elastic::EsSimConfig { version: "7.17.9".into(), ..Default::default() };
    let es = sim::elastic::EsSim::start(es_config).await.unwrap();
    let creds = wiki.credentials();
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        &dir,
        &format!(
            "elasticsearch:\n  host: {}\n  username: elastic\n  password: changeme\nconfluence:\n  confluence_url: {}\n  \
             username: {}\n  password: {}\n  spaces: '*'\n  index_name: search-old\n",
            es.url(),
            wiki.url(),
            creds.username,
            creds.password
        ),
    );
    let run = |allow: bool| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_confluence-connector"));
        command.args(["sync", "--kind", "full", "-c", &config]);
        if allow {
            command.env("ALLOW_ES_VERSION_MISMATCH", "true");
        }
        command.output()
    };
    let refused = run(false).await.unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Elasticsearch 7.17.9 is not supported"), "{stderr}");
    let allowed = run(true).await.unwrap();
    let stderr = String::from_utf8_lossy(&allowed.stderr);
    assert!(stderr.contains("going on because ALLOW_ES_VERSION_MISMATCH is set"), "{stderr}");
    assert!(!stderr.contains("error: Elasticsearch 7.17.9"), "{stderr}");
}

/// `status` shows, from Elasticsearch, the last sync of each kind with its counts and the
/// recent syncs, as JSON and as text.
#[tokio::test]
async fn status_shows_the_last_syncs_from_elasticsearch() {
    let world = common::World::start(SimConfig::new(Flavour::Server, Size::Small)).await.unwrap();
    let yaml = world.config_yaml(&format!("search-status-{}", std::process::id()), &["retry_count: 0"]);
    let config = world.write_config("config.yml", &yaml).unwrap();
    let status = |format: &'static str| {
        let config = config.clone();
        async move {
            let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_confluence-connector"))
                .args(["status", "--format", format, "-c"])
                .arg(&config)
                .output()
                .await
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
            stdout
        }
    };
    let before = status("text").await;
    assert!(before.contains("last full sync: none recorded"), "{before}");

    for kind in ["full", "incremental"] {
        let run = world.sync(&config, kind).await.unwrap();
        assert!(run.success, "{}", run.stderr);
    }
    let json: serde_json::Value = serde_json::from_str(&status("json").await).unwrap();
    let full = &json["last"]["full"];
    assert_eq!(full["outcome"], "completed", "{json}");
    let documents = world.confluence.catalog().documents() as u64;
    assert_eq!(full["documents"]["created"].as_u64(), Some(documents), "{json}");
    assert_eq!(json["last"]["incremental"]["outcome"], "completed", "{json}");
    assert!(json["last"]["access_control"].is_null(), "{json}");
    assert!(json["cursor"].is_string(), "{json}");
    assert_eq!(json["history"].as_array().map(Vec::len), Some(2), "{json}");
    let text = status("text").await;
    assert!(text.contains("last full sync: ") && text.contains("completed: "), "{text}");
    assert!(text.contains("recent syncs, newest first:\n  incremental "), "{text}");
}
