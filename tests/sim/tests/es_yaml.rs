//! Elasticsearch's own YAML REST tests for the APIs the connector and its managed mode use,
//! run against the test server — and against a real node when one is given, which proves the
//! runner reads the tests as Elasticsearch does.
//!
//! The tests come from `org.elasticsearch:rest-api-spec:7.10.2` on Maven Central, the last
//! version of that jar to ship them (`rest-api-spec/test/`, beside the API files the runner
//! builds requests from; Apache-2.0). `tests/es-node/rest-spec.sh` (run by `make test-es`)
//! fetches it into `target/rest-tests/`; [`TESTS_VAR`] may name another jar or a directory
//! holding `rest-api-spec/`. Without it both tests say `skipped` and pass, so that
//! `make test` needs nothing but Rust.
//!
//! Every section of the folders and files in [`SUITES`] runs, except those its own `skip`
//! rules out (a runner feature this runner lacks) and those [`LEFT_OUT`] names with the reason
//! (behaviour Elasticsearch changed after 7.10, which the real node shows too, or a feature
//! the connector never uses). A left-out entry that matches nothing fails the test, so the
//! list stays true.
//!
//! With [`NODE_VAR`] naming a throw-away node (`make test-es` sets it), the same sections run
//! there, each followed by removing what it created.
//!
//! Our own suite `tests/sim/yaml-rest/core/` (point in time as the connector reads an index;
//! written here, from Elasticsearch's documentation) runs the same two ways — on the test
//! server always, so `make test` covers it, and on the node when one is given.

mod spec_jar;
mod yaml_rest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use yaml_rest::api::{spec_apis, SpecApis};
use yaml_rest::runner::{run_section_on, server_version, Node, Outcome, Target};
use yaml_rest::suite::{self, Suite};

/// The variable naming the tests: a jar, or a directory holding `rest-api-spec/{api,test}`.
const TESTS_VAR: &str = "ES_YAML_TESTS_JAR";

/// The variable naming a node the suites may write to and wipe (never a cluster in use).
const NODE_VAR: &str = "ES_YAML_NODE";

/// What runs: folders of `rest-api-spec/test/` (every file), or single files in them.
const SUITES: &[&str] = &[
    "bulk",
    "index",
    "create",
    "get",
    "get_source",
    "delete",
    "exists",
    "count",
    "scroll",
    "search/10_source_filtering.yml",
    "search/90_search_after.yml",
    "indices.create",
    "indices.delete",
    "indices.exists",
    "indices.get_mapping",
    "indices.put_mapping",
    "indices.put_index_template",
    "indices.get_index_template",
    "indices.refresh",
    "ingest",
];

/// Left out, each with the reason: `"<file part>"` leaves out every file whose path holds it,
/// `"<file> / <section>"` one section. Those marked "8.0" fail on a real 8.x node too.
const LEFT_OUT: &[(&str, &str)] = &[
    // Changed in Elasticsearch 8.0.
    ("_with_types.yml", "8.0: mapping types were removed; these files call typed paths"),
    ("typeless_typeful.yml", "8.0: mixes typed and typeless calls; types were removed"),
    ("indices.get_mapping/20_missing_type.yml", "8.0: `include_type_name` and typed mapping paths were removed"),
    (
        "indices.get_mapping/40_aliases.yml / Getting mapping for aliases should return the real index as key",
        "8.0: sends `include_type_name`, which was removed",
    ),
    (
        "indices.put_mapping/10_basic.yml / Put mappings with explicit _doc type",
        "8.0: expects the 7.x message naming `include_type_name`",
    ),
    (
        "indices.create/10_basic.yml / Create index without soft deletes",
        "8.0: soft deletes can no longer be disabled (no deprecation warning: an error)",
    ),
    (
        "search/10_source_filtering.yml / docvalue_fields with default format",
        "8.0: the `use_field_mapping` format was removed",
    ),
    (
        "indices.get_mapping/50_wildcard_expansion.yml",
        "closes indices (the connector never does; the test server has no closed state); its `expand_wildcards: none` section changed in 8.0",
    ),
    // Features the connector never uses, which the test server does not model.
    ("_routing.yml", "custom routing: the connector never routes, and the test server keeps one shard per index"),
    ("_external_version.yml", "external versioning (`version_type=external`): the connector never sets versions"),
    ("_external_gte_version.yml", "external versioning (`version_type=external_gte`): the connector never sets versions"),
    ("create/70_nested.yml", "`nested` fields and `index.mapping.nested_objects.limit`: the connector maps none"),
    (
        "indices.put_index_template/15_composition.yml",
        "component templates (`_component_template`): the connector never composes templates",
    ),
    (
        "indices.exists/20_read_only_index.yml",
        "updates index settings (`index.blocks.read_only`): the connector never changes settings of an existing index",
    ),
    ("scroll/12_slices.yml", "sliced scrolls and `index.max_slices_per_scroll`: the connector never slices"),
    ("scroll/20_keep_alive.yml", "cluster settings (`search.max_keep_alive`): the connector never changes cluster settings"),
    ("get/20_stored_fields.yml", "`stored_fields` (`store: true` mappings): the connector reads `_source` only"),
    (
        "get/70_source_filtering.yml / Source filtering",
        "ends with `stored_fields` (`store: true` mappings): the connector reads `_source` only",
    ),
    ("search/10_source_filtering.yml / fields in body", "`stored_fields` in the body: the connector reads `_source` only"),
    ("search/10_source_filtering.yml / docvalue_fields", "`docvalue_fields`: the connector reads `_source` only"),
    ("search/10_source_filtering.yml / multiple docvalue_fields", "`docvalue_fields`: the connector reads `_source` only"),
    ("search/10_source_filtering.yml / docvalue_fields as url param", "`docvalue_fields`: the connector reads `_source` only"),
    (
        "search/10_source_filtering.yml / docvalue_fields with explicit format",
        "`docvalue_fields`: the connector reads `_source` only",
    ),
    ("search/10_source_filtering.yml / docvalue_fields - double", "`docvalue_fields`: the connector reads `_source` only"),
    (
        "search/90_search_after.yml / date_nanos",
        "`date_nanos` sort values in nanoseconds: the test server keeps dates in milliseconds, and the connector maps no `date_nanos` field",
    ),
    (
        "delete/50_refresh.yml / Refresh",
        "a refresh of one shard of five: the test server keeps one shard per index, so a refresh shows every write",
    ),
    (
        "indices.create/10_basic.yml / Create index with aliases",
        "alias routing (`routing`, `search_routing`): the connector never routes",
    ),
    (
        "indices.put_index_template/10_basic.yml / Put multiple index templates",
        "ends with alias routing in a template: the connector never routes",
    ),
    (
        "bulk/40_source.yml / Source filtering",
        "`update` actions in `_bulk` (with `_source` in the answer): the connector's bulk bodies hold `index` and `delete` actions only",
    ),
    (
        "count/20_query_string.yml / count with query_string parameters",
        "the `q` URL parameter (Lucene query syntax, `default_operator`, `lenient`): the connector always sends a query body",
    ),
];

/// Assertions on `_type`, dropped from every section: Elasticsearch 8.0 removed `_type` from
/// responses, and its own 8.x copies of these tests dropped exactly these lines.
fn drop_type_assertions(suite: &mut Suite) {
    let keep = |step: &yaml_rest::suite::Step| {
        let on_type = matches!(step.kind.as_str(), "match" | "is_true" | "is_false")
            && match &step.arg {
                Value::Object(o) => o.keys().all(|k| k == "_type" || k.ends_with("._type")),
                Value::String(path) => path == "_type" || path.ends_with("._type"),
                _ => false,
            };
        !on_type
    };
    suite.setup.retain(keep);
    suite.teardown.retain(keep);
    for section in &mut suite.sections {
        section.steps.retain(keep);
    }
}

/// The files of the tests, path under `rest-api-spec/` → text (API JSONs and YAML tests).
type Files = BTreeMap<String, String>;

/// The selected test files, parsed, by path under `test/`.
type Suites = Vec<(String, Suite)>;

/// Where the tests are: [`TESTS_VAR`], else the jar `rest-spec.sh` keeps under `target/`.
fn tests_location() -> Option<PathBuf> {
    spec_jar::location(TESTS_VAR, "rest-tests")
}

/// Reads `rest-api-spec/api/*.json` and `rest-api-spec/test/**.yml` from a jar or directory.
fn read_files(at: &Path) -> Result<Files, String> {
    let wanted = |name: &str| {
        (name.starts_with("api/") && name.ends_with(".json"))
            || (name.starts_with("test/") && (name.ends_with(".yml") || name.ends_with(".yaml")))
    };
    let files = spec_jar::read(at, wanted)?;
    if !files.keys().any(|k| k.starts_with("test/")) {
        return Err(format!(
            "{}: no rest-api-spec/test/ in it (only rest-api-spec 7.10.2 and older ship the tests)",
            at.display()
        ));
    }
    Ok(files)
}

/// The API table of the spec beside the tests.
fn apis(files: &Files) -> Result<SpecApis, String> {
    let mut spec = BTreeMap::new();
    for (name, text) in files {
        if let Some(file) = name.strip_prefix("api/") {
            spec.insert(
                file.to_string(),
                serde_json::from_str::<Value>(text).map_err(|e| format!("{name}: {e}"))?,
            );
        }
    }
    Ok(spec_apis(&spec))
}

/// The test files [`SUITES`] selects, parsed, by path under `test/`.
fn selected(files: &Files) -> Result<Suites, String> {
    let mut out = Vec::new();
    for (name, text) in files {
        let Some(rel) = name.strip_prefix("test/") else { continue };
        let picked =
            SUITES.iter().any(
                |s| {
                    if s.ends_with(".yml") {
                        rel == *s
                    } else {
                        rel.split('/').next() == Some(s)
                    }
                },
            );
        if picked {
            let mut suite = suite::parse(text).map_err(|e| format!("{rel}: {e}"))?;
            drop_type_assertions(&mut suite);
            out.push((rel.to_string(), suite));
        }
    }
    Ok(out)
}

/// The [`LEFT_OUT`] entry covering a section, if one does.
fn left_out(file: &str, section: &str) -> Option<&'static (&'static str, &'static str)> {
    LEFT_OUT.iter().find(|(pattern, _)| match pattern.split_once(" / ") {
        Some((f, s)) => f == file && s == section,
        None => file.contains(pattern),
    })
}

/// What a run came to.
#[derive(Debug, Default)]
struct Tally {
    passed: usize,
    skipped: Vec<String>,
    left_out: usize,
    failed: Vec<String>,
    /// [`LEFT_OUT`] entries that matched a section.
    used: std::collections::BTreeSet<&'static str>,
}

/// Runs every selected section on `target`.
async fn run_all(target: &Target, suites: &[(String, Suite)]) -> Tally {
    let mut tally = Tally::default();
    for (file, suite) in suites {
        for section in &suite.sections {
            if let Some((pattern, _)) = left_out(file, &section.name) {
                tally.left_out += 1;
                tally.used.insert(pattern);
                continue;
            }
            match run_section_on(target, suite, section).await {
                Outcome::Passed => tally.passed += 1,
                Outcome::Skipped(why) => tally.skipped.push(format!("{file} / {}: {why}", section.name)),
                Outcome::Failed(why) => tally.failed.push(format!("{file} / {}: {why}", section.name)),
            }
        }
    }
    tally
}

/// Prints the tally and fails on any failed section or unused [`LEFT_OUT`] entry.
fn report(what: &str, suites: &[(String, Suite)], tally: &Tally) {
    let sections: usize = suites.iter().map(|(_, s)| s.sections.len()).sum();
    println!(
        "{what}: {} files, {sections} sections: {} passed, {} skipped by their own `skip`, {} left out, {} failed",
        suites.len(),
        tally.passed,
        tally.skipped.len(),
        tally.left_out,
        tally.failed.len()
    );
    for s in &tally.skipped {
        println!("  skipped  {s}");
    }
    let unused: Vec<_> = LEFT_OUT.iter().filter(|(p, _)| !tally.used.contains(p)).map(|(p, _)| *p).collect();
    assert!(unused.is_empty(), "LEFT_OUT entries that match no section: {unused:?}");
    assert!(tally.passed > 0, "{what}: no section ran");
    assert!(
        tally.failed.is_empty(),
        "{} section(s) failed:\n{}",
        tally.failed.len(),
        tally.failed.join("\n")
    );
}

/// The tests and the API table, or `None` (printed) when they are not here.
fn load() -> Option<(Arc<SpecApis>, Suites)> {
    let Some(at) = tests_location() else {
        println!(
            "skipped: Elasticsearch's YAML REST tests are not here (run tests/es-node/rest-spec.sh, as `make test-es` does, or set {TESTS_VAR})"
        );
        return None;
    };
    let files = read_files(&at).unwrap_or_else(|e| panic!("{e}"));
    let apis = apis(&files).unwrap_or_else(|e| panic!("{e}"));
    let suites = selected(&files).unwrap_or_else(|e| panic!("{e}"));
    Some((Arc::new(apis), suites))
}

/// Our own `yaml-rest/core/` suite, parsed.
fn own_core_suite() -> Suites {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("yaml-rest/core");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let suite = suite::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (format!("core/{name}"), suite)
        })
        .collect()
}

/// Runs our own core suite on `target`: every section must pass, none be skipped.
async fn run_own_core(what: &str, target: &Target) {
    let suites = own_core_suite();
    let tally = run_all(target, &suites).await;
    let sections: usize = suites.iter().map(|(_, s)| s.sections.len()).sum();
    println!("{what}: yaml-rest/core: {} files, {sections} sections, {} passed", suites.len(), tally.passed);
    assert!(
        tally.passed > 0 && tally.passed == sections,
        "{what}: every section must run and pass: {tally:?}"
    );
}

#[tokio::test]
async fn our_core_suite_passes_on_the_test_server() {
    run_own_core("test server", &Target::test_server()).await;
}

#[tokio::test]
async fn our_core_suite_passes_on_a_real_node() {
    let Some(url) = std::env::var(NODE_VAR).ok().filter(|u| !u.is_empty()) else {
        println!("skipped: {NODE_VAR} names no throw-away node (make test-es sets it)");
        return;
    };
    let node = Node::at(&url).await.unwrap_or_else(|e| panic!("{NODE_VAR}={url}: {e}"));
    let version = node.version().await.unwrap_or_else(|e| panic!("{e}"));
    let target = Target { spec: None, node: Some(node), version: version.clone() };
    run_own_core(&format!("Elasticsearch {version}"), &target).await;
}

#[tokio::test]
async fn elasticsearch_yaml_tests_pass_on_the_test_server() {
    let Some((apis, suites)) = load() else { return };
    let target = Target { spec: Some(apis), node: None, version: server_version() };
    let tally = run_all(&target, &suites).await;
    report("test server", &suites, &tally);
}

#[tokio::test]
async fn elasticsearch_yaml_tests_pass_on_a_real_node() {
    let Some(url) = std::env::var(NODE_VAR).ok().filter(|u| !u.is_empty()) else {
        println!("skipped: {NODE_VAR} names no throw-away node (make test-es sets it)");
        return;
    };
    let Some((apis, suites)) = load() else { return };
    let node = Node::at(&url).await.unwrap_or_else(|e| panic!("{NODE_VAR}={url}: {e}"));
    let version = node.version().await.unwrap_or_else(|e| panic!("{e}"));
    let target = Target { spec: Some(apis), node: Some(node), version: version.clone() };
    let tally = run_all(&target, &suites).await;
    report(&format!("Elasticsearch {version} at {url}"), &suites, &tally);
}
