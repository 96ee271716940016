//! The stand-in for Atlassian's media host (`api.media.atlassian.com`): Cloud's attachment
//! download answers 302 to a signed URL on this second listener, which serves the bytes to
//! whoever holds the token — and refuses a request that still carries the Confluence
//! `Authorization` header, as a client that forwards credentials across origins deserves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::generate::mix;

/// Download tokens minted by redirects: token → (attachment id, version).
#[derive(Debug, Clone, Default)]
pub struct MediaTokens {
    inner: Arc<Mutex<Minted>>,
}

/// (tokens minted so far, token → (attachment id, version)).
type Minted = (u64, HashMap<String, (u64, u32)>);

impl MediaTokens {
    /// Mints a token for one attachment version.
    pub fn mint(&self, attachment: u64, version: u32) -> String {
        let Ok(mut state) = self.inner.lock() else {
            return String::new();
        };
        state.0 += 1;
        let token = format!("{:016x}{:016x}", mix(attachment, state.0), mix(state.0, u64::from(version)));
        state.1.insert(token.clone(), (attachment, version));
        token
    }

    /// The attachment a token was minted for.
    pub fn resolve(&self, token: &str) -> Option<(u64, u32)> {
        self.inner.lock().ok()?.1.get(token).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_resolve_to_what_they_were_minted_for() {
        let tokens = MediaTokens::default();
        let a = tokens.mint(5, 2);
        let b = tokens.mint(5, 2);
        assert_ne!(a, b);
        assert_eq!(tokens.resolve(&a), Some((5, 2)));
        assert_eq!(tokens.resolve("nope"), None);
    }
}
