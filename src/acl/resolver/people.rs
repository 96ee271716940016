//! From the users and groups a permission names to the keys an ACL lists: a Data Center
//! user key looked up once, a group's members and the accounts an access class covers, each
//! listed once per sync. What cannot be named or listed lets nobody through by that grant,
//! and is said once in the log.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::StreamExt;

use crate::acl::access_class::AccessClass;
use crate::acl::directory::USER_SEARCH_WINDOW;
use crate::confluence::{Account, ConfluenceError, Flavour, GroupRef, UserRef};

use super::AclResolver;

impl AclResolver {
    /// A user's key; a Data Center user named by key only is looked up once.
    pub(super) async fn user_key(&self, user: &UserRef) -> Option<String> {
        if let Some(key) = self.ids.user_key(user) {
            return Some(key);
        }
        let found = match (self.ids.flavour(), user.user_key.as_deref()) {
            (Flavour::Server | Flavour::DataCenter, Some(user_key)) => {
                self.usernames
                    .get_or_init(user_key, || async {
                        match self.client.user_by_key(user_key).await {
                            Ok(found) => found.and_then(|u| u.username),
                            Err(e) => {
                                self.notices.warn_once(&format!("user-key-{:?}", e.status()), || {
                                    format!("cannot look up user key {user_key} ({e}): that user is let through nowhere")
                                });
                                None
                            }
                        }
                    })
                    .await
            }
            _ => None,
        };
        if found.is_none() {
            self.notices.warn_once("unnamed-user", || {
                format!("a permission names a user this connector cannot name ({user:?}): that grant lets nobody through")
            });
        }
        found
    }

    pub(super) fn group_key(&self, group: &GroupRef) -> Option<String> {
        let key = self.ids.group_key(group);
        if key.is_none() {
            self.notices.warn_once("unnamed-group", || {
                format!(
                    "a permission names a group without its key ({group:?}): that grant lets nobody through"
                )
            });
        }
        key
    }

    /// A group's members, listed once per sync; `None` when the listing failed.
    pub(super) async fn members(&self, group: &str) -> Option<Arc<BTreeSet<String>>> {
        self.members
            .get_or_init(group, || async {
                let mut keys = BTreeSet::new();
                let mut listing = self.client.group_members(&self.ids.group_ref(group));
                while let Some(item) = listing.next().await {
                    match item {
                        Ok(account) => keys.extend(self.ids.user_key(&account.user)),
                        // A malformed member is one person less let through: narrower, safe.
                        Err(ConfluenceError::Item { .. }) => {}
                        Err(e) => {
                            self.notices.warn_once(&format!("members-{group}"), || {
                                format!(
                                    "cannot list the members of group {group} ({e}): pages restricted on several \
                                     levels let none of them through by that group"
                                )
                            });
                            return None;
                        }
                    }
                }
                Some(Arc::new(keys))
            })
            .await
    }

    /// The keys of the accounts an access class covers, once per sync; `None` when the
    /// user search failed.
    pub(super) async fn class_members(&self, class: &str) -> Option<Arc<BTreeSet<String>>> {
        let covering = AccessClass::from_id(class)?;
        self.classes
            .get_or_init(class, || async {
                let accounts = self.accounts().await?;
                let keys =
                    accounts.iter().filter(|a| covering.covers(a)).filter_map(|a| self.ids.user_key(&a.user));
                Some(Arc::new(keys.collect()))
            })
            .await
    }

    /// Cloud: the accounts of the user search, listed once per sync.
    pub(super) async fn accounts(&self) -> Option<Arc<Vec<Account>>> {
        self.accounts
            .get_or_init(|| async {
                let mut accounts = Vec::new();
                let mut listing = self.client.cloud_users();
                while let Some(item) = listing.next().await {
                    match item {
                        Ok(account) => accounts.push(account),
                        Err(ConfluenceError::Item { .. }) => {}
                        Err(e) if e.status() == Some(400) && accounts.len() >= USER_SEARCH_WINDOW => {
                            self.notices.warn_once("accounts-window", || {
                                "Confluence's user search stops at 10,000 users: accounts past it are not let \
                                 through by access classes on pages restricted below them"
                                    .to_string()
                            });
                            break;
                        }
                        Err(e) => {
                            self.notices.warn_once("accounts", || {
                                format!(
                                    "cannot list the site's users ({e}): pages restricted below a space granted to an \
                                     access class let nobody through by that class"
                                )
                            });
                            return None;
                        }
                    }
                }
                Some(Arc::new(accounts))
            })
            .await
            .clone()
    }
}
