//! Whether the space keys of `confluence.spaces` name spaces Confluence shows us.
//!
//! A full sync deletes what it did not see. A key Confluence does not know (`NOPE`, or `eng`
//! for `ENG` — keys are case-sensitive) lists nothing, so a sync that trusted it would find
//! an empty scope and delete the whole index. Elastic's connector refuses such a
//! configuration ("Spaces 'X' are not available"); so do `check` and the start of every sync,
//! with the keys that are visible and the closest one to each unknown key.
//!
//! [`check_space_keys`] is the pure judgement; [`ConfluenceClient::check_configured_spaces`]
//! asks Confluence first. It lists only the configured keys (one request in the usual case)
//! and walks the whole space listing only when some key is missing, to name the alternatives.

use std::fmt;

use futures::TryStreamExt;

use crate::config::validate::edit_distance;

use super::client::ConfluenceClient;
use super::error::ConfluenceError;
use super::model::Space;

/// Most visible keys quoted in a message; a site with thousands of spaces gets a count.
const KEYS_QUOTED: usize = 50;

/// A configured key that names no visible space, and the visible key closest to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownSpace {
    /// The key as configured.
    pub(crate) key: String,
    /// The visible key it most likely meant, if one is near.
    pub(crate) closest: Option<Closest>,
}

/// How near a visible key is to an unknown one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Closest {
    /// The same key in other letter case (`eng` for `ENG`).
    Case(String),
    /// A key a few edits away (`DEVV` for `DEV`).
    Near(String),
}

/// Configured space keys Confluence does not show: the sync must not run with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownSpaces {
    /// Every unknown key, in configured order.
    pub(crate) unknown: Vec<UnknownSpace>,
    /// The keys Confluence lists to these credentials, sorted.
    pub(crate) available: Vec<String>,
}

impl fmt::Display for UnknownSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.closest {
            Some(Closest::Case(key)) => write!(
                f,
                "'{}' is not a space key; did you mean '{key}'? (space keys are case-sensitive)",
                self.key
            ),
            Some(Closest::Near(key)) => {
                write!(f, "'{}' is not a space these credentials can see; did you mean '{key}'?", self.key)
            }
            None => write!(f, "'{}' is not a space these credentials can see", self.key),
        }
    }
}

impl fmt::Display for UnknownSpaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("confluence.spaces: ")?;
        for (i, unknown) in self.unknown.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{unknown}")?;
        }
        if self.available.is_empty() {
            f.write_str(". These credentials see no space at all")?;
        } else {
            let quoted: Vec<&str> = self.available.iter().take(KEYS_QUOTED).map(String::as_str).collect();
            write!(f, ". Available spaces are: {}", quoted.join(", "))?;
            if self.available.len() > KEYS_QUOTED {
                write!(f, " … ({} in all)", self.available.len())?;
            }
        }
        f.write_str(
            ". Fix confluence.spaces (or the account's permissions): keys that select nothing \
             would make a full sync delete what the index holds",
        )
    }
}

impl std::error::Error for UnknownSpaces {}

/// Why the configured spaces could not be confirmed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpaceCheckError {
    /// Some keys name no visible space.
    #[error("{0}")]
    Unknown(UnknownSpaces),
    /// The space listing failed, so nothing could be confirmed.
    #[error("cannot list the spaces to check confluence.spaces: {0}")]
    Listing(#[from] ConfluenceError),
}

/// The configured keys worth checking: trimmed, without blanks and duplicates; empty when
/// they say "every space" (`*` or nothing).
fn wanted(configured: &[String]) -> Vec<&str> {
    let mut keys: Vec<&str> = Vec::new();
    for key in configured.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
        if key == "*" {
            return Vec::new();
        }
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// Checks the configured keys (`confluence.spaces`; `*` means every space) against the keys
/// Confluence lists: `Ok` when each names a listed space exactly, else every unknown key
/// with its closest listed key.
pub(crate) fn check_space_keys<S: AsRef<str>>(
    configured: &[String],
    available: &[S],
) -> Result<(), UnknownSpaces> {
    let unknown: Vec<UnknownSpace> = wanted(configured)
        .into_iter()
        .filter(|key| !available.iter().any(|a| a.as_ref() == *key))
        .map(|key| UnknownSpace { key: key.to_string(), closest: closest(key, available) })
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let mut available: Vec<String> = available.iter().map(|a| a.as_ref().to_string()).collect();
    available.sort();
    available.dedup();
    Err(UnknownSpaces { unknown, available })
}

/// The listed key `key` most likely meant: the same in other case, else the nearest within
/// a third of its length in edits (at least one).
fn closest<S: AsRef<str>>(key: &str, available: &[S]) -> Option<Closest> {
    if let Some(same) = available.iter().find(|a| a.as_ref().to_lowercase() == key.to_lowercase()) {
        return Some(Closest::Case(same.as_ref().to_string()));
    }
    let upper = key.to_uppercase();
    let within = (key.chars().count() / 3).max(1);
    available
        .iter()
        .map(|a| (edit_distance(&upper, &a.as_ref().to_uppercase()), a.as_ref()))
        .filter(|(d, _)| *d <= within)
        .min_by_key(|(d, a)| (*d, a.to_string()))
        .map(|(_, a)| Closest::Near(a.to_string()))
}

impl ConfluenceClient {
    /// Confirms that every key of `configured` (`confluence.spaces`) names a space these
    /// credentials can see, before anything is synced — let alone deleted.
    ///
    /// `*` (or no key) confirms at once. Otherwise the configured keys are listed (one
    /// request in the usual case); only when one is missing is every visible space listed,
    /// to name the alternatives in the error.
    pub(crate) async fn check_configured_spaces(&self, configured: &[String]) -> Result<(), SpaceCheckError> {
        let keys: Vec<String> = wanted(configured).into_iter().map(str::to_string).collect();
        if keys.is_empty() {
            return Ok(());
        }
        let found: Vec<Space> = self.spaces(&keys).try_collect().await?;
        let found: Vec<&str> = found.iter().map(|s| s.key.as_str()).collect();
        if check_space_keys(&keys, &found).is_ok() {
            return Ok(());
        }
        let visible: Vec<Space> = self.spaces(&[]).try_collect().await?;
        let visible: Vec<&str> = visible.iter().map(|s| s.key.as_str()).collect();
        check_space_keys(&keys, &visible).map_err(SpaceCheckError::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> Vec<String> {
        list.iter().map(|k| k.to_string()).collect()
    }

    const SITE: [&str; 4] = ["DEV", "ENG", "HR", "~jdoe"];

    #[test]
    fn every_space_or_known_keys_pass() {
        assert_eq!(check_space_keys(&keys(&["*"]), &SITE), Ok(()));
        assert_eq!(check_space_keys(&keys(&[]), &SITE), Ok(()));
        assert_eq!(check_space_keys(&keys(&["*"]), &[] as &[&str]), Ok(()));
        assert_eq!(check_space_keys(&keys(&["DEV", " ENG ", "", "~jdoe", "DEV"]), &SITE), Ok(()));
    }

    #[test]
    fn a_case_only_difference_is_named_as_such() {
        let err = check_space_keys(&keys(&["eng"]), &SITE).unwrap_err();
        assert_eq!(
            err.unknown,
            [UnknownSpace { key: "eng".into(), closest: Some(Closest::Case("ENG".into())) }]
        );
        assert!(
            err.to_string()
                .contains("'eng' is not a space key; did you mean 'ENG'? (space keys are case-sensitive)"),
            "{err}"
        );
    }

    #[test]
    fn every_unknown_key_is_listed_with_the_available_keys() {
        let err = check_space_keys(&keys(&["NOPE", "DEV", "DEVV", "hr"]), &SITE).unwrap_err();
        let unknown: Vec<(&str, Option<Closest>)> =
            err.unknown.iter().map(|u| (u.key.as_str(), u.closest.clone())).collect();
        assert_eq!(
            unknown,
            [
                ("NOPE", None),
                ("DEVV", Some(Closest::Near("DEV".into()))),
                ("hr", Some(Closest::Case("HR".into())))
            ]
        );
        assert_eq!(err.available, ["DEV", "ENG", "HR", "~jdoe"]);
        let text = err.to_string();
        assert!(
            text.starts_with("confluence.spaces: 'NOPE' is not a space these credentials can see; "),
            "{text}"
        );
        assert!(
            text.contains("'DEVV' is not a space these credentials can see; did you mean 'DEV'?"),
            "{text}"
        );
        assert!(text.contains("Available spaces are: DEV, ENG, HR, ~jdoe."), "{text}");
    }

    #[test]
    fn no_visible_space_and_long_lists_read_well() {
        let err = check_space_keys(&keys(&["DEV"]), &[] as &[&str]).unwrap_err();
        assert!(err.to_string().contains("These credentials see no space at all"), "{err}");
        let many: Vec<String> = (0..120).map(|i| format!("S{i:03}")).collect();
        let err = check_space_keys(&keys(&["NOPE"]), &many).unwrap_err();
        assert!(err.to_string().contains("S049 … (120 in all)"), "{err}");
        assert!(!err.to_string().contains("S050"), "{err}");
    }

    #[test]
    fn far_keys_get_no_suggestion() {
        let err = check_space_keys(&keys(&["MARKETING"]), &SITE).unwrap_err();
        assert_eq!(err.unknown[0].closest, None);
    }
}
