//! The environment as the AWS chain reads it: an unset and an empty variable are the same.

use std::collections::HashMap;
use std::path::PathBuf;

/// The variables given to the configuration loader (the process's, or a test's).
pub(super) struct Env<'a>(&'a HashMap<String, String>);

impl<'a> Env<'a> {
    /// Wraps the variables.
    pub(super) fn new(vars: &'a HashMap<String, String>) -> Self {
        Env(vars)
    }

    /// A variable's value, `None` when unset or empty.
    pub(super) fn get(&self, name: &str) -> Option<&'a str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// `name`'s path, or `~/.aws/<file>`.
    pub(super) fn aws_file(&self, name: &str, file: &str) -> Option<PathBuf> {
        match self.get(name) {
            Some(path) => Some(PathBuf::from(path)),
            None => self.get("HOME").map(|home| PathBuf::from(home).join(".aws").join(file)),
        }
    }
}
