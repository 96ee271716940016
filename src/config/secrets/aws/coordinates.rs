//! Which secret, in Atlassian's form: `{"region": …, "secretId": …, "secretPointer": …}`.

use std::fmt;

use serde_json::{Map, Value};

/// A secret's place in AWS Secrets Manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Coordinates {
    /// The region that holds it, e.g. `ap-southeast-2`.
    pub(crate) region: String,
    /// Its name or ARN.
    pub(crate) secret_id: String,
    /// A JSON pointer into a structured secret (`/password`); `None` for a plaintext one.
    pub(crate) secret_pointer: Option<String>,
}

/// A coordinate's key compared without case or underscores (`secretId`, `secret_id`).
pub(crate) fn normalised(key: &str) -> String {
    key.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

impl Coordinates {
    /// Reads the map; `Err` names what is missing or unknown.
    pub(crate) fn from_map(map: &Map<String, Value>) -> Result<Coordinates, String> {
        let (mut region, mut secret_id, mut secret_pointer) = (None, None, None);
        for (key, value) in map {
            let slot = match normalised(key).as_str() {
                "region" => &mut region,
                "secretid" => &mut secret_id,
                "secretpointer" => &mut secret_pointer,
                _ => {
                    return Err(format!(
                        "AWS Secrets Manager coordinates: unknown key {key} (known: region, secretId, secretPointer)"
                    ))
                }
            };
            match value {
                Value::String(s) if !s.trim().is_empty() => *slot = Some(s.trim().to_string()),
                Value::Null => {}
                _ => return Err(format!("AWS Secrets Manager coordinates: {key} must be non-empty text")),
            }
        }
        let missing = |what: &str| {
            format!(
                "AWS Secrets Manager coordinates need {what}: \
                 {{\"region\": \"ap-southeast-2\", \"secretId\": \"mySecretId\", \"secretPointer\": \"/password\"}}"
            )
        };
        Ok(Coordinates {
            region: region.ok_or_else(|| missing("region"))?,
            secret_id: secret_id.ok_or_else(|| missing("secretId"))?,
            secret_pointer,
        })
    }
}

impl fmt::Display for Coordinates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AWS secret {} in {}", self.secret_id, self.region)?;
        if let Some(pointer) = &self.secret_pointer {
            write!(f, " (secretPointer {pointer})")?;
        }
        Ok(())
    }
}
