//! Reading and validating `config.yml`.
//!
//! The file speaks the Elastic connector's keys (`elasticsearch.*`, `service.*`,
//! `connectors`, `extraction_service.*`) plus a `confluence` section for standalone mode.
//! [`load`] reads it in layers ([`layers`]), checks every key against the [`schema`] and
//! collects *all* problems before giving up ([`validate`]), then checks the settings that
//! depend on each other. Unknown keys are warnings; anything invalid stops start-up with
//! every problem listed under its key path. Secrets kept in files or in AWS Secrets Manager
//! are read before validation ([`secrets`]), and again before each scheduled sync.

mod layers;
mod model;
pub(crate) mod schema;
mod secret;
mod secrets;
pub(crate) mod validate;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

// Public: loading `config.yml` (below) and the typed result; the sections are reached
// through `Config`'s fields.
pub use model::Config;
pub(crate) use model::*;
pub use secret::Secret;

/// One thing wrong with the configuration, at a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `elasticsearch.bulk.chunk_size`.
    pub path: String,
    /// What is wrong, in the user's words. Never holds a secret's value.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub(crate) fn new(path: &str, message: impl Into<String>) -> Self {
        Problem { path: path.to_string(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {reason}")]
    Read {
        /// The path given.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The file is not valid YAML (or an override could not be applied).
    #[error("config file is not valid YAML: {0}")]
    Parse(String),
    /// One or more values are invalid (the warnings found on the way come along).
    #[error("{}", problems_text(.0, .1))]
    Invalid(Vec<Problem>, Vec<String>),
}

fn problems_text(problems: &[Problem], warnings: &[String]) -> String {
    let mut text = match problems.len() {
        1 => "config has 1 problem:".to_string(),
        n => format!("config has {n} problems:"),
    };
    for p in problems {
        text.push_str("\n  - ");
        text.push_str(&p.to_string());
    }
    for w in warnings {
        text.push_str("\n  warning: ");
        text.push_str(w);
    }
    text
}

/// A configuration that passed validation, with the warnings worth logging.
#[derive(Debug)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// Unknown keys and similar, each a full sentence.
    pub warnings: Vec<String>,
}

/// Reads `path` with the process environment for `${VAR}` and overrides.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let env: HashMap<String, String> = std::env::vars().collect();
    load_with_env(path, &env)
}

/// Reads `path` with the given environment.
pub fn load_with_env(path: &Path, env: &HashMap<String, String>) -> Result<Loaded, ConfigError> {
    blame_environment(from_tree(layers::read(path, env)?, env), env)
}

/// Reads a configuration from YAML text with the given environment.
pub fn load_str(text: &str, env: &HashMap<String, String>) -> Result<Loaded, ConfigError> {
    blame_environment(from_tree(layers::read_str(text, env)?, env), env)
}

/// Says which environment variable a problem or an unknown key came from, when one did
/// (`CONFLUENCE_CONNECTOR__…`), and warns about variables that look like overrides but are
/// not.
fn blame_environment(
    result: Result<Loaded, ConfigError>,
    env: &HashMap<String, String>,
) -> Result<Loaded, ConfigError> {
    let (overrides, malformed) = layers::env_overrides(env);
    let source_of = |path: &str| {
        overrides
            .iter()
            .find(|o| {
                path == o.path
                    || path.starts_with(&format!("{}.", o.path))
                    || path.starts_with(&format!("{}[", o.path))
            })
            .map(|o| o.var.as_str())
    };
    let rewrite_warnings = |warnings: Vec<String>| -> Vec<String> {
        let mut out: Vec<String> = warnings
            .into_iter()
            .map(|w| {
                let unknown = w.strip_prefix("unknown key ").and_then(|rest| rest.split_once(' '));
                match unknown.and_then(|(path, rest)| source_of(path).map(|var| (path, var, rest))) {
                    Some((path, var, rest)) => {
                        format!("environment variable {var} sets unknown key {path}, which {rest}")
                    }
                    None => w,
                }
            })
            .collect();
        out.extend(malformed.iter().cloned());
        out
    };
    match result {
        Ok(loaded) => Ok(Loaded { config: loaded.config, warnings: rewrite_warnings(loaded.warnings) }),
        Err(ConfigError::Invalid(problems, warnings)) => {
            let problems = problems
                .into_iter()
                .map(|p| match source_of(&p.path) {
                    Some(var) => Problem {
                        message: format!(
                            "{} (the value comes from the environment variable {var}, not the file)",
                            p.message
                        ),
                        path: p.path,
                    },
                    None => p,
                })
                .collect();
            Err(ConfigError::Invalid(problems, rewrite_warnings(warnings)))
        }
        Err(other) => Err(other),
    }
}

/// Reads the secrets the tree refers to, then checks it.
fn from_tree(tree: serde_json::Value, env: &HashMap<String, String>) -> Result<Loaded, ConfigError> {
    let sources =
        secrets::Sources::find(tree, env).map_err(|problems| ConfigError::Invalid(problems, Vec::new()))?;
    let resolved = if sources.is_empty() {
        secrets::Resolved { tree: sources.tree(), warnings: Vec::new() }
    } else {
        resolve_now(&sources).map_err(|(problems, warnings)| ConfigError::Invalid(problems, warnings))?
    };
    let mut loaded = checked(resolved.tree, resolved.warnings)?;
    loaded.config.secrets = sources;
    Ok(loaded)
}

/// Reads the secrets at start-up, before the service's runtime exists (or beside a test's):
/// on a thread and a runtime of their own, so that loading stays a plain function call.
fn resolve_now(sources: &secrets::Sources) -> Result<secrets::Resolved, (Vec<Problem>, Vec<String>)> {
    let failed = |why: String| (vec![Problem::new("(secrets)", why)], Vec::new());
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| failed(format!("cannot start a runtime to read them: {e}")))?;
                runtime.block_on(sources.resolve())
            })
            .join()
            .unwrap_or_else(|_| Err(failed("reading them stopped unexpectedly".into())))
    })
}

/// Validates the tree (secrets in place) into a configuration; `warnings` come along.
fn checked(mut tree: serde_json::Value, mut warnings: Vec<String>) -> Result<Loaded, ConfigError> {
    let checked = validate::check(&mut tree);
    warnings.extend(checked.warnings);
    let checked = validate::Checked { errors: checked.errors, warnings };
    if !checked.errors.is_empty() {
        return Err(ConfigError::Invalid(checked.errors, checked.warnings));
    }
    let config: Config = match serde_json::from_value(tree) {
        Ok(config) => config,
        Err(e) => {
            let problem = Problem::new("(config)", format!("could not be read: {e}"));
            return Err(ConfigError::Invalid(vec![problem], checked.warnings));
        }
    };
    let problems = cross_checks(&config);
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems, checked.warnings));
    }
    let mut warnings = checked.warnings;
    warnings.extend(cross_warnings(&config));
    Ok(Loaded { config, warnings })
}

/// Settings that are valid but, in combination, probably not what was meant.
fn cross_warnings(config: &Config) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(source) = &config.confluence {
        let ssl_ca_set = source.ssl_ca.as_deref().is_some_and(|ca| !ca.trim().is_empty());
        if ssl_ca_set && !source.ssl_enabled {
            warnings.push(
                "confluence.ssl_ca is set but confluence.ssl_enabled is false, so the certificate is not trusted \
                 (as in Elastic's connector): set confluence.ssl_enabled: true to use it"
                    .to_string(),
            );
        }
    }
    warnings
}

/// Settings that are required or wrong only in combination with others.
fn cross_checks(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Some(source) = &config.confluence else {
        if config.managed_connectors().is_empty() && config.service.service_types.is_empty() {
            problems.push(Problem::new(
                "confluence",
                "missing: write the Confluence source settings (see config.yml.example), \
                 or list Kibana-managed connectors under `connectors`",
            ));
        }
        return problems;
    };
    if !config.managed_connectors().is_empty() {
        problems.push(Problem::new(
            "connectors",
            "a config runs one mode: Kibana-managed connectors (`connectors`) or the standalone \
             source (`confluence`); remove one of them",
        ));
    }
    problems.extend(source_checks(source, config.extraction_service.as_ref()));
    problems
}

/// Reads the `confluence` section alone — a managed connector's settings, gathered from its
/// connector document — with the same checks and defaults as in `config.yml`. Problems are
/// named `confluence.<key>`; unknown keys come back as warnings.
pub(crate) fn source_section(
    section: serde_json::Value,
    extraction_service: Option<&ExtractionServiceConfig>,
) -> Result<(ConfluenceConfig, Vec<String>), Vec<Problem>> {
    let mut tree = serde_json::json!({ "confluence": section });
    let checked = validate::check(&mut tree);
    if !checked.errors.is_empty() {
        return Err(checked.errors);
    }
    let source: ConfluenceConfig = match serde_json::from_value(tree["confluence"].take()) {
        Ok(source) => source,
        Err(e) => {
            let problem = Problem::new("confluence", format!("could not be read: {e}"));
            return Err(vec![problem]);
        }
    };
    let problems = source_checks(&source, extraction_service);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok((source, checked.warnings))
}

/// The settings of a Confluence source that are required or wrong only in combination.
fn source_checks(
    source: &ConfluenceConfig,
    extraction_service: Option<&ExtractionServiceConfig>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut require = |present: bool, path: &str, why: &str| {
        if !present {
            problems.push(Problem::new(path, format!("required {why}")));
        }
    };
    let text = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    let secret = |v: &Option<Secret>| v.as_ref().is_some_and(|s| !s.is_empty());

    require(
        text(&source.confluence_url),
        "confluence.confluence_url",
        "(e.g. https://example.atlassian.net)",
    );
    require(
        !source.spaces.is_empty() || !source.sync_rules.advanced.is_empty(),
        "confluence.spaces",
        "(space keys such as DEV, OPS — or * for every space)",
    );
    match source.data_source {
        DataSource::ConfluenceCloud => {
            let why = "when data_source is confluence_cloud";
            match source.cloud_auth_method {
                CloudAuthMethod::ApiToken | CloudAuthMethod::ScopedApiToken => {
                    require(text(&source.account_email), "confluence.account_email", why);
                    require(secret(&source.api_token), "confluence.api_token", why);
                }
                CloudAuthMethod::Oauth => {
                    require(
                        secret(&source.oauth_access_token),
                        "confluence.oauth_access_token",
                        "when cloud_auth_method is oauth",
                    );
                }
            }
        }
        DataSource::ConfluenceServer => {
            let why = "when data_source is confluence_server";
            require(text(&source.username), "confluence.username", why);
            require(secret(&source.password), "confluence.password", why);
        }
        DataSource::ConfluenceDataCenter => match source.data_center_auth_method {
            DataCenterAuthMethod::Basic => {
                let why = "when data_source is confluence_data_center with basic authentication";
                require(text(&source.data_center_username), "confluence.data_center_username", why);
                require(secret(&source.data_center_password), "confluence.data_center_password", why);
            }
            DataCenterAuthMethod::PersonalAccessToken => require(
                secret(&source.data_center_personal_access_token),
                "confluence.data_center_personal_access_token",
                "when data_center_auth_method is personal_access_token",
            ),
        },
    }
    if source.ssl_enabled {
        require(
            text(&source.ssl_ca),
            "confluence.ssl_ca",
            "when ssl_enabled is true (PEM text or a file path)",
        );
    }
    if source.use_text_extraction_service {
        require(
            extraction_service.is_some_and(|e| text(&e.host)),
            "extraction_service.host",
            "when confluence.use_text_extraction_service is true",
        );
    }
    if source.spaces.len() > 1 && source.spaces.iter().any(|s| s == "*") {
        problems.push(Problem::new("confluence.spaces", "* means every space; list keys or *, not both"));
    }
    if let Err(errors) = crate::rules::BasicRules::compile(&source.sync_rules.basic) {
        for e in errors {
            problems.push(Problem::new("confluence.sync_rules.basic", e.to_string()));
        }
    }
    if source.index_name.trim().is_empty() {
        problems.push(Problem::new("confluence.index_name", "must not be empty"));
    }
    if source.schedules.access_control.is_some() && !source.use_document_level_security {
        problems.push(Problem::new(
            "confluence.schedules.access_control",
            "access-control syncs write the identity documents of document-level security:              set confluence.use_document_level_security: true, or remove this schedule",
        ));
    }
    problems
}

impl Config {
    /// This configuration with the secrets kept in files and AWS Secrets Manager read again,
    /// so that a rotated secret is picked up without a restart. The same configuration when
    /// every secret is written in `config.yml`.
    pub async fn with_fresh_secrets(&self) -> Result<Config, ConfigError> {
        if self.secrets.is_empty() {
            return Ok(self.clone());
        }
        let resolved = self
            .secrets
            .resolve()
            .await
            .map_err(|(problems, warnings)| ConfigError::Invalid(problems, warnings))?;
        // The warnings were logged at start; once is enough.
        let mut loaded = checked(resolved.tree, Vec::new())?;
        loaded.config.secrets = self.secrets.clone();
        Ok(loaded.config)
    }

    /// The connectors of managed mode: `connectors`, or else the deprecated top-level
    /// `connector_id` (as Elastic's service reads them).
    pub(crate) fn managed_connectors(&self) -> Vec<ConnectorEntry> {
        if !self.connectors.is_empty() {
            return self.connectors.clone();
        }
        match &self.connector_id {
            Some(id) if !id.is_empty() => vec![ConnectorEntry { connector_id: id.clone(), api_key: None }],
            _ => Vec::new(),
        }
    }

    /// The standalone source settings; `None` in managed mode.
    pub(crate) fn standalone(&self) -> Option<&ConfluenceConfig> {
        self.confluence.as_ref()
    }
}

#[cfg(test)]
mod tests;
