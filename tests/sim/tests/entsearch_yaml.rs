//! YAML REST tests of the `_connector` API, run against the test server.
//!
//! Our own suite lives in `tests/sim/yaml-rest/` (folders `connector`, `sync_job`, `secret`;
//! see the README there): written in the format of Elasticsearch's YAML REST tests from the
//! documented behaviour of the API. Every one of its sections must run and pass — none may be
//! skipped.
//!
//! Elasticsearch's own files (`x-pack/plugin/ent-search/src/yamlRestTest/resources/
//! rest-api-spec/test/entsearch` in elastic/elasticsearch) are not part of this repository;
//! point [`UPSTREAM_VAR`] at a checkout of that folder (or of its `connector` subfolder) and
//! [`upstream_suite`] runs them with the same runner. Their sections may be skipped by their
//! own `skip`/`requires` (a runner feature this runner lacks, a version the server does not
//! claim); any other failure fails the test.

mod yaml_rest;

use std::path::{Path, PathBuf};

use yaml_rest::runner::{run_section, Outcome};
use yaml_rest::suite;

/// The variable naming a directory of Elasticsearch's entsearch YAML tests.
const UPSTREAM_VAR: &str = "ES_ENTSEARCH_YAML_DIR";

/// Root of our own suite.
fn own_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("yaml-rest")
}

/// Every `.yml`/`.yaml` file under `dir`, recursively, sorted by path.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot read {}: {e}", d.display()));
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// What running a set of files came to.
#[derive(Debug, Default)]
struct Tally {
    files: usize,
    passed: usize,
    skipped: Vec<String>,
    failed: Vec<String>,
}

impl Tally {
    fn summary(&self, what: &str) -> String {
        format!(
            "{what}: {} files, {} passed, {} skipped by the YAML, {} failed",
            self.files,
            self.passed,
            self.skipped.len(),
            self.failed.len()
        )
    }
}

/// Runs every section of every YAML file under `dir` (names shown relative to `root`).
async fn run_dir(root: &Path, dir: &Path) -> Tally {
    let files = yaml_files(dir);
    let mut tally = Tally { files: files.len(), ..Tally::default() };
    for file in &files {
        let rel = file.strip_prefix(root).unwrap_or(file).to_string_lossy().to_string();
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let parsed = match suite::parse(&text) {
            Ok(p) => p,
            Err(e) => {
                tally.failed.push(format!("{rel}: cannot parse: {e}"));
                continue;
            }
        };
        for section in &parsed.sections {
            match run_section(&parsed, section).await {
                Outcome::Passed => tally.passed += 1,
                Outcome::Skipped(why) => tally.skipped.push(format!("{rel} / {}: {why}", section.name)),
                Outcome::Failed(why) => tally.failed.push(format!("{rel} / {}: {why}", section.name)),
            }
        }
    }
    tally
}

/// Runs one folder of our own suite: it must hold tests, and all of them must pass.
async fn run_own(folder: &str) {
    let tally = run_dir(&own_root(), &own_root().join(folder)).await;
    println!("{}", tally.summary(folder));
    assert!(tally.files > 0, "no YAML tests in yaml-rest/{folder}");
    assert!(tally.skipped.is_empty(), "our own sections must not be skipped:\n{}", tally.skipped.join("\n"));
    assert_none_failed(&tally.failed);
}

/// Fails the test with every failed section, one per line.
fn assert_none_failed(failed: &[String]) {
    assert!(failed.is_empty(), "{} section(s) failed:\n{}", failed.len(), failed.join("\n"));
}

#[tokio::test]
async fn connector_suite() {
    run_own("connector").await;
}

#[tokio::test]
async fn sync_job_suite() {
    run_own("sync_job").await;
}

#[tokio::test]
async fn secret_suite() {
    run_own("secret").await;
}

/// Elasticsearch's own entsearch YAML tests, when [`UPSTREAM_VAR`] names a checkout of them:
/// the `connector` subfolder of that directory if it has one (the rest of entsearch —
/// search applications, analytics, query rules — is not served by the test server), the
/// directory itself otherwise.
#[tokio::test]
async fn upstream_suite() {
    let Some(dir) = std::env::var_os(UPSTREAM_VAR).filter(|d| !d.is_empty()) else {
        println!("{UPSTREAM_VAR} is not set: Elasticsearch's own entsearch YAML tests are not run");
        return;
    };
    let dir = PathBuf::from(dir);
    assert!(dir.is_dir(), "{UPSTREAM_VAR}={} is not a directory", dir.display());
    let target = if dir.join("connector").is_dir() { dir.join("connector") } else { dir.clone() };
    let tally = run_dir(&dir, &target).await;
    println!("{}", tally.summary(&target.display().to_string()));
    for s in &tally.skipped {
        println!("  skipped  {s}");
    }
    assert!(tally.files > 0, "no YAML tests under {}", target.display());
    assert_none_failed(&tally.failed);
}

/// The runner must fail a section whose assertion or `catch` does not hold — otherwise a
/// green suite would prove nothing.
#[tokio::test]
async fn the_runner_reports_failures() {
    let yaml = "---\n'wrong match':\n  - do:\n      connector.put: {connector_id: x}\n  - match: {result: updated}\n---\n'wrong catch':\n  - do:\n      catch: missing\n      connector.put: {connector_id: x}\n---\n'unexpected error':\n  - do:\n      connector.get: {connector_id: nope}\n---\n'wrong length':\n  - do:\n      connector.list: {}\n  - length: {results: 1}\n---\n'wrong error type':\n  - do:\n      catch: missing\n      connector.get: {connector_id: nope}\n  - match: {error.type: document_missing_exception}\n";
    let parsed = suite::parse(yaml).unwrap();
    assert_eq!(parsed.sections.len(), 5);
    for section in &parsed.sections {
        let outcome = run_section(&parsed, section).await;
        assert!(matches!(outcome, Outcome::Failed(_)), "{}: {outcome:?}", section.name);
    }
}
