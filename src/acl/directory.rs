//! The people of a site and the groups each belongs to: what an access-control sync writes
//! one identity document for.
//!
//! Who counts as a person:
//! - Cloud: the users Confluence's user search lists, except app (bot) accounts, as Elastic's
//!   connector keeps only `atlassian` accounts. Cloud does not say which accounts are
//!   deactivated (CONFCLOUD-83983): they get a document too, which is harmless, as they
//!   cannot sign in to search. Past the search's 10,000-result window, group members are
//!   the source.
//! - Server/DC: the user list (`rest/api/user/list`, Data Center 8.4+) without deactivated
//!   accounts; a server without it lists people through their groups (deactivated accounts
//!   cannot be told apart there, and are kept).
//!
//! Groups are listed with their members; each person carries the keys of their groups.
//! A listing that fails is recorded: the directory is then incomplete, the access-control
//! sync writes what it learnt (people missing a group see less, never more) and deletes
//! nothing.

use std::collections::{BTreeMap, BTreeSet};

use futures::{stream, StreamExt};

use crate::confluence::{Account, ConfluenceClient, ConfluenceError, Flavour, UserRef};

use super::identity::Identities;

/// Cloud's user search answers 400 past this many results (CONFCLOUD-77954).
const USER_SEARCH_WINDOW: usize = 10_000;

/// One person and their groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// The identity document's `_id`: Cloud account id, Server/DC user key (the username
    /// when the API gave no key).
    pub id: String,
    /// Who they are.
    pub user: UserRef,
    /// Keys of their groups ([`Identities::group_key`]).
    pub groups: BTreeSet<String>,
}

/// Everyone, as far as the listings went.
#[derive(Debug, Default)]
pub struct Directory {
    /// People by user key.
    pub people: BTreeMap<String, Person>,
    /// Listings that failed after their retries; empty when the directory is complete.
    pub failures: Vec<String>,
}

/// What the user listing said.
enum Users {
    /// Everyone who counts, complete.
    Complete,
    /// Stopped short (Cloud's search window): group members add the rest.
    Truncated,
    /// This server has no user list: group members are everyone.
    Unavailable,
}

impl Directory {
    /// Lists users, groups and members, `concurrency` group listings at a time.
    pub async fn load(client: &ConfluenceClient, concurrency: usize) -> Directory {
        let ids = Identities::new(client.flavour());
        let mut directory = Directory::default();
        let users = directory.list_users(client, ids).await;
        let groups = match collect(client.groups()).await {
            Ok(groups) => groups,
            Err(e) => {
                directory.failures.push(format!("listing groups: {e}"));
                Vec::new()
            }
        };
        let mut listings = stream::iter(groups)
            .map(|group| async move {
                let members = collect(client.group_members(&group)).await;
                (group, members)
            })
            .buffer_unordered(concurrency.max(1));
        while let Some((group, members)) = listings.next().await {
            let Some(group_key) = ids.group_key(&group) else { continue };
            let members = match members {
                Ok(members) => members,
                Err(e) => {
                    directory.failures.push(format!("listing the members of group {group_key}: {e}"));
                    continue;
                }
            };
            for account in members {
                let Some(key) = ids.user_key(&account.user) else { continue };
                if !directory.people.contains_key(&key) {
                    let joins = match users {
                        Users::Complete => false,
                        Users::Truncated | Users::Unavailable => counts(&account),
                    };
                    if !joins {
                        continue;
                    }
                    directory.people.insert(key.clone(), person(ids, &key, account.user.clone()));
                }
                if let Some(person) = directory.people.get_mut(&key) {
                    person.groups.insert(group_key.clone());
                }
            }
        }
        directory
    }

    async fn list_users(&mut self, client: &ConfluenceClient, ids: Identities) -> Users {
        let mut listing = match client.flavour() {
            Flavour::Cloud => client.cloud_users(),
            Flavour::Server | Flavour::DataCenter => client.user_list(),
        };
        let mut listed = 0usize;
        while let Some(item) = listing.next().await {
            match item {
                Ok(account) => {
                    listed += 1;
                    if !counts(&account) {
                        continue;
                    }
                    if let Some(key) = ids.user_key(&account.user) {
                        self.people.insert(key.clone(), person(ids, &key, account.user));
                    }
                }
                Err(ConfluenceError::Item { url, index, detail }) => {
                    tracing::warn!(url = %url, index, "an unreadable user was left out: {detail}");
                }
                Err(e)
                    if client.flavour() == Flavour::Cloud
                        && e.status() == Some(400)
                        && listed >= USER_SEARCH_WINDOW =>
                {
                    tracing::info!(
                        listed,
                        "Confluence's user search stops at 10,000 users; the others are found through their groups"
                    );
                    return Users::Truncated;
                }
                Err(e) if client.flavour() != Flavour::Cloud && e.is_not_found() && listed == 0 => {
                    tracing::info!(
                        "this server has no user list (rest/api/user/list, Data Center 8.4+): people are listed \
                         through their groups, and deactivated accounts cannot be told apart"
                    );
                    return Users::Unavailable;
                }
                Err(e) => {
                    self.failures.push(format!("listing users: {e}"));
                    return Users::Truncated;
                }
            }
        }
        Users::Complete
    }
}

/// Whether an account gets an identity document: not a bot, not deactivated.
fn counts(account: &Account) -> bool {
    account.account_type.as_deref() != Some("app") && account.active != Some(false)
}

fn person(ids: Identities, key: &str, user: UserRef) -> Person {
    let id = match ids.flavour() {
        Flavour::Cloud => key.to_string(),
        Flavour::Server | Flavour::DataCenter => {
            user.user_key.clone().filter(|k| !k.is_empty()).unwrap_or_else(|| key.to_string())
        }
    };
    Person { id, user, groups: BTreeSet::new() }
}

/// Every item of a listing, skipping malformed ones (logged); the first other error.
async fn collect<T>(mut listing: crate::confluence::Listing<T>) -> Result<Vec<T>, ConfluenceError> {
    let mut all = Vec::new();
    while let Some(item) = listing.next().await {
        match item {
            Ok(value) => all.push(value),
            Err(ConfluenceError::Item { url, index, detail }) => {
                tracing::warn!(url = %url, index, "an unreadable entry was left out: {detail}");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(all)
}
