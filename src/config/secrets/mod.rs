//! Secrets kept outside `config.yml`.
//!
//! A secret key ([`reference::secret_keys`]: every password, token and API key, the
//! Confluence CA certificate and the proxy URL, which may carry credentials) holds its value,
//! `${VAR}` (replaced while the file is read, by [`layers`](super::layers)), a file
//! reference `${file:/run/secrets/confluence_token}` (how Kubernetes and Docker hand secrets
//! over), or the coordinates of a secret in AWS Secrets Manager in the form Atlassian
//! documents for Confluence itself: `{"region": "ap-southeast-2", "secretId": "mySecretId",
//! "secretPointer": "/password"}` (`secretPointer`, a JSON pointer into a structured secret,
//! is left out for a plaintext one).
//!
//! [`Sources::find`] spots the references in the layered tree, before validation;
//! [`Sources::resolve`] reads them all (the AWS ones at once, with one credential lookup) and
//! writes their values into a copy of the tree, which is then validated like any other. The
//! sources stay on the [`Config`](super::Config), so that the service reads them again before
//! each scheduled sync and a rotated secret is picked up without a restart. A secret that
//! cannot be read is a [`Problem`] at its key, saying why — never what the value is.

mod aws;
mod file;
mod reference;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

pub(super) use reference::Origin;
use reference::Reference;

use super::Problem;

/// Where the secrets of one configuration come from, kept to read them again.
#[derive(Clone, Default)]
pub(crate) struct Sources {
    /// The layered tree with the references in place (literal secrets included: never shown).
    tree: Arc<Value>,
    /// The keys whose value lives elsewhere.
    references: Vec<Reference>,
    /// The environment the AWS credential chain reads (`AWS_*` and `HOME` only).
    env: Arc<HashMap<String, String>>,
}

/// The tree with every secret read, and what is worth a warning.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// The layered tree with values in place of the references.
    pub(crate) tree: Value,
    /// Files readable by everyone, and the like; each names its key.
    pub(crate) warnings: Vec<String>,
}

impl Sources {
    /// The references of `tree`, or the malformed ones as problems. `env` is kept for the
    /// AWS credential chain.
    pub(crate) fn find(tree: Value, env: &HashMap<String, String>) -> Result<Sources, Vec<Problem>> {
        let references = reference::find(&tree)?;
        let env = env
            .iter()
            .filter(|(k, _)| k.starts_with("AWS_") || k.as_str() == "HOME")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Sources { tree: Arc::new(tree), references, env: Arc::new(env) })
    }

    /// True when every secret is written in the file (or came from `${VAR}`).
    pub(crate) fn is_empty(&self) -> bool {
        self.references.is_empty()
    }

    /// The tree as read, for a configuration without references.
    pub(crate) fn tree(&self) -> Value {
        (*self.tree).clone()
    }

    /// Reads every referenced secret and returns the tree with their values; on failure one
    /// problem per key that could not be read (with the warnings found on the way).
    pub(crate) async fn resolve(&self) -> Result<Resolved, (Vec<Problem>, Vec<String>)> {
        let mut tree = self.tree();
        let (mut problems, mut warnings) = (Vec::new(), Vec::new());
        let mut values = Vec::new();
        let mut in_aws = Vec::new();
        for reference in &self.references {
            match &reference.origin {
                Origin::File(path) => match file::read(path) {
                    Ok(read) => {
                        if let Some(warning) = read.warning {
                            warnings.push(format!("{}: {warning}", reference.path));
                        }
                        values.push((reference, read.value));
                    }
                    Err(why) => problems.push(Problem::new(&reference.path, why)),
                },
                Origin::Aws(coordinates) => in_aws.push((reference, coordinates)),
            }
        }
        if !in_aws.is_empty() {
            let coordinates: Vec<_> = in_aws.iter().map(|(_, c)| *c).collect();
            let read = aws::read_all(&coordinates, &self.env).await;
            for ((reference, _), result) in in_aws.iter().zip(read) {
                match result {
                    Ok(value) => values.push((reference, value)),
                    Err(why) => problems.push(Problem::new(&reference.path, why)),
                }
            }
        }
        if !problems.is_empty() {
            problems.sort_by(|a, b| a.path.cmp(&b.path));
            return Err((problems, warnings));
        }
        for (reference, value) in values {
            if let Some(slot) = tree.pointer_mut(&reference.pointer) {
                *slot = Value::String(value.expose().to_string());
            }
        }
        Ok(Resolved { tree, warnings })
    }
}

/// Names the keys and where they come from; never a value.
impl fmt::Debug for Sources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.references.iter().map(|r| format!("{} <- {}", r.path, r.origin))).finish()
    }
}

#[cfg(test)]
mod tests;
