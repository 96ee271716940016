use super::*;

const MINIMAL_SERVER: &str =
    "confluence:\n  confluence_url: http://wiki:8090\n  username: admin\n  password: pw\n  spaces: DEV\n";

fn env() -> HashMap<String, String> {
    HashMap::new()
}

#[test]
fn the_environment_is_blamed_for_its_own_values_and_unknown_variables() {
    let env: HashMap<String, String> = [
        ("CONFLUENCE_CONNECTOR__CONFLUENCE__RETRY_COUNT", "many"),
        ("CONFLUENCE_CONNECTOR__CONFLUENCE__API_TOKN", "t"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let Err(ConfigError::Invalid(problems, warnings)) = load_str(MINIMAL_SERVER, &env) else {
        panic!("a bad value from the environment must fail");
    };
    let retry = problems.iter().find(|p| p.path == "confluence.retry_count").unwrap();
    assert!(
        retry.message.contains("environment variable CONFLUENCE_CONNECTOR__CONFLUENCE__RETRY_COUNT"),
        "{retry}"
    );
    assert!(
        warnings.iter().any(|w| w.starts_with(
            "environment variable CONFLUENCE_CONNECTOR__CONFLUENCE__API_TOKN sets unknown key confluence.api_tokn"
        )),
        "{warnings:?}"
    );
    // A value from the file is the file's.
    let from_file = format!("{MINIMAL_SERVER}  retry_count: many\n");
    let Err(ConfigError::Invalid(problems, _)) = load_str(&from_file, &HashMap::new()) else { panic!() };
    assert!(!problems[0].message.contains("environment"), "{}", problems[0]);
}

#[test]
fn ssl_ca_without_ssl_enabled_is_warned_about() {
    let with_ca = format!("{MINIMAL_SERVER}  ssl_ca: /etc/ssl/wiki.pem\n");
    let loaded = load_str(&with_ca, &env()).unwrap();
    assert!(loaded.warnings.iter().any(|w| w.contains("ssl_enabled")), "{:?}", loaded.warnings);
    let enabled = format!("{with_ca}  ssl_enabled: true\n");
    assert!(load_str(&enabled, &env()).unwrap().warnings.is_empty());
}

#[test]
fn a_minimal_server_config_loads_with_defaults() {
    let loaded = load_str(MINIMAL_SERVER, &env()).unwrap();
    let source = loaded.config.confluence.unwrap();
    assert_eq!(source.data_source, DataSource::ConfluenceServer);
    assert_eq!(source.spaces, ["DEV"]);
    assert_eq!(source.index_name, "search-confluence");
    assert_eq!(source.retry_count, 3);
    assert_eq!(loaded.config.elasticsearch.bulk.chunk_size, 500);
    assert!(loaded.warnings.is_empty());
}

#[test]
fn three_mistakes_are_all_reported_with_their_paths() {
    let text = "elasticsearch.bulk.chunk_size: zero\nservice:\n  max_file_download_size: -1\nconfluence:\n  data_source: confluence_clod\n";
    let err = load_str(text, &env()).unwrap_err();
    let ConfigError::Invalid(problems, _) = &err else { panic!("{err}") };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        ["elasticsearch.bulk.chunk_size", "service.max_file_download_size", "confluence.data_source"]
    );
    assert!(err.to_string().starts_with("config has 3 problems:"), "{err}");
}

#[test]
fn credentials_are_required_per_flavour() {
    let cloud = "confluence:\n  data_source: confluence_cloud\n  confluence_url: https://x.atlassian.net\n  spaces: '*'\n";
    let err = load_str(cloud, &env()).unwrap_err().to_string();
    assert!(err.contains("confluence.account_email: required when data_source is confluence_cloud"), "{err}");
    assert!(err.contains("confluence.api_token: required"), "{err}");

    let dc = "confluence:\n  data_source: confluence_data_center\n  data_center_auth_method: personal_access_token\n  confluence_url: https://wiki\n  spaces: '*'\n";
    let err = load_str(dc, &env()).unwrap_err().to_string();
    assert!(err.contains("confluence.data_center_personal_access_token: required"), "{err}");
}

#[test]
fn an_access_control_schedule_needs_document_level_security() {
    let text = format!("{MINIMAL_SERVER}  schedules:\n    access_control: 1h\n");
    let err = load_str(&text, &env()).unwrap_err().to_string();
    assert!(
        err.contains(
            "confluence.schedules.access_control: access-control syncs write the identity documents"
        ),
        "{err}"
    );
    let with_dls = format!("{text}  use_document_level_security: true\n");
    assert!(load_str(&with_dls, &env()).is_ok());
}

#[test]
fn no_source_and_no_connectors_is_an_error() {
    let err = load_str("elasticsearch:\n  host: http://es:9200\n", &env()).unwrap_err().to_string();
    assert!(err.contains("confluence: missing"), "{err}");
    assert!(load_str("connectors:\n  - connector_id: abc\n    service_type: confluence\n", &env()).is_ok());
}

#[test]
fn secrets_never_appear_in_debug_or_errors() {
    let text = "elasticsearch:\n  api_key: ES-KEY-123456\n  password: ES-PW-654321\nconfluence:\n  data_source: confluence_cloud\n  confluence_url: https://x.atlassian.net\n  account_email: a@b.c\n  api_token: CONF-TOKEN-999\n  spaces: '*'\n";
    let loaded = load_str(text, &env()).unwrap();
    let shown = format!("{:?}", loaded.config);
    for secret in ["ES-KEY-123456", "ES-PW-654321", "CONF-TOKEN-999"] {
        assert!(!shown.contains(secret), "{secret} leaked in {shown}");
    }
    let bad = text.replace("spaces: '*'", "spaces: '*'\n  retry_count: many");
    let err = load_str(&bad, &env()).unwrap_err().to_string();
    for secret in ["ES-KEY-123456", "ES-PW-654321", "CONF-TOKEN-999"] {
        assert!(!err.contains(secret), "{secret} leaked in {err}");
    }
}

#[test]
fn the_example_file_documents_every_key_and_loads() {
    let example = include_str!("../../config.yml.example");
    for key in schema::KEYS {
        let leaf = key.path.rsplit('.').next().unwrap_or(key.path);
        assert!(example.contains(&format!("{leaf}:")), "config.yml.example does not mention {}", key.path);
    }
    let loaded = load_str(example, &env()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}
