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
//! Groups are listed with their members; each person carries the keys of their groups and,
//! on Cloud, the access classes that cover them ([`super::access_class`]). A Server/DC
//! account listed by user key only is looked up by that key, once.
//! A listing or a lookup that fails is recorded: the directory is then incomplete, the
//! access-control sync writes what it learnt (people missing a group see less, never more)
//! and deletes nothing.

use std::collections::{BTreeMap, BTreeSet};

use futures::{stream, StreamExt};

use crate::confluence::{Account, ConfluenceClient, ConfluenceError, Flavour, UserRef};

use super::access_class::classes_of;
use super::identity::Identities;

/// Cloud's user search answers 400 past this many results (CONFCLOUD-77954).
pub(crate) const USER_SEARCH_WINDOW: usize = 10_000;

/// One person and their groups.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Person {
    /// The identity document's `_id`: Cloud account id, Server/DC user key (the username
    /// when the API gave no key).
    pub(crate) id: String,
    /// Who they are.
    pub(crate) user: UserRef,
    /// Keys of their groups ([`Identities::group_key`]).
    pub(crate) groups: BTreeSet<String>,
    /// Ids of the Cloud access classes that cover them.
    pub(crate) classes: BTreeSet<String>,
}

/// Everyone, as far as the listings went.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    /// People by user key.
    pub(crate) people: BTreeMap<String, Person>,
    /// Listings that failed after their retries; empty when the directory is complete.
    pub(crate) failures: Vec<String>,
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
    pub(crate) async fn load(client: &ConfluenceClient, concurrency: usize) -> Directory {
        let ids = Identities::new(client.flavour());
        let mut directory = Directory::default();
        let mut lookups = Lookups::default();
        let users = directory.list_users(client, ids, &mut lookups).await;
        let groups = match collect(client.groups()).await {
            Ok(groups) => groups,
            Err(e) => {
                directory.failures.push(format!("listing groups: {e}"));
                Vec::new()
            }
        };
        let mut listings = stream::iter(groups.into_iter().filter_map(|g| Some((ids.group_key(&g)?, g))))
            .map(|(group_key, group)| async move {
                let members = collect(client.group_members(&group)).await;
                (group_key, members)
            })
            .buffer_unordered(concurrency.max(1));
        while let Some((group_key, members)) = listings.next().await {
            let members = match members {
                Ok(members) => members,
                Err(e) => {
                    directory.failures.push(format!("listing the members of group {group_key}: {e}"));
                    continue;
                }
            };
            for account in members {
                let Some((key, account)) = directory.named(client, ids, account, &mut lookups).await else {
                    continue;
                };
                if !directory.people.contains_key(&key) {
                    let joins = match users {
                        Users::Complete => false,
                        Users::Truncated | Users::Unavailable => counts(&account),
                    };
                    if !joins {
                        continue;
                    }
                    directory.people.insert(key.clone(), person(ids, &key, &account));
                }
                if let Some(person) = directory.people.get_mut(&key) {
                    person.groups.insert(group_key.clone());
                }
            }
        }
        directory
    }

    async fn list_users(
        &mut self,
        client: &ConfluenceClient,
        ids: Identities,
        lookups: &mut Lookups,
    ) -> Users {
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
                    if let Some((key, account)) = self.named(client, ids, account, lookups).await {
                        self.people.insert(key.clone(), person(ids, &key, &account));
                    }
                }
                Err(ConfluenceError::Item { url, index, id, detail }) => {
                    let id = id.unwrap_or_default();
                    tracing::warn!(url = %url, index, id, "an unreadable user was left out: {detail}");
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

    /// An account with its key. A Server/DC account given by user key only is looked up
    /// (once per key); one that cannot be looked up is recorded as a failure, so that
    /// nobody's identity document is deleted on the strength of a listing that could not
    /// name everyone. `None` when the account cannot be named or no longer exists.
    async fn named(
        &mut self,
        client: &ConfluenceClient,
        ids: Identities,
        mut account: Account,
        lookups: &mut Lookups,
    ) -> Option<(String, Account)> {
        if let Some(key) = ids.user_key(&account.user) {
            return Some((key, account));
        }
        let user_key =
            account.user.user_key.clone().filter(|k| !k.is_empty() && ids.flavour() != Flavour::Cloud)?;
        let username = match lookups.usernames.get(&user_key) {
            Some(known) => known.clone(),
            None => {
                let found = match client.user_by_key(&user_key).await {
                    Ok(found) => found.and_then(|u| u.username).filter(|u| !u.is_empty()),
                    Err(e) => {
                        self.failures.push(format!("looking up user key {user_key}: {e}"));
                        None
                    }
                };
                lookups.usernames.insert(user_key.clone(), found.clone());
                found
            }
        }?;
        account.user.username = Some(username.clone());
        Some((username, account))
    }
}

/// Server/DC user keys looked up during one load → username (`None`: gone or failed).
#[derive(Default)]
struct Lookups {
    usernames: BTreeMap<String, Option<String>>,
}

/// Whether an account gets an identity document: not a bot, not deactivated.
fn counts(account: &Account) -> bool {
    account.account_type.as_deref() != Some("app") && account.active != Some(false)
}

fn person(ids: Identities, key: &str, account: &Account) -> Person {
    let user = account.user.clone();
    let (id, classes) = match ids.flavour() {
        Flavour::Cloud => (key.to_string(), classes_of(account)),
        Flavour::Server | Flavour::DataCenter => (
            user.user_key.clone().filter(|k| !k.is_empty()).unwrap_or_else(|| key.to_string()),
            BTreeSet::new(),
        ),
    };
    Person { id, user, groups: BTreeSet::new(), classes }
}

/// Every item of a listing, skipping malformed ones (logged); the first other error.
async fn collect<T>(mut listing: crate::confluence::Listing<T>) -> Result<Vec<T>, ConfluenceError> {
    let mut all = Vec::new();
    while let Some(item) = listing.next().await {
        match item {
            Ok(value) => all.push(value),
            Err(ConfluenceError::Item { url, index, id, detail }) => {
                let id = id.unwrap_or_default();
                tracing::warn!(url = %url, index, id, "an unreadable entry was left out: {detail}");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::client::tests::test_client;
    use crate::confluence::test_server::{json as reply, param, serve};
    use serde_json::json as j;

    /// Data Center lists `bob` by user key only, in a group: he is looked up by that key,
    /// once; when the lookup fails, the directory says it is incomplete.
    async fn load_with_lookup(lookup_status: u16) -> (Directory, usize) {
        let (server, log) = serve(move |seen, _| {
            let path = seen.target.split('?').next().unwrap_or_default();
            let ann = j!({"type": "known", "username": "ann", "userKey": "k-ann", "status": "current"});
            let bob = j!({"type": "known", "userKey": "k-bob"});
            match path {
                "/rest/api/user/list" => {
                    reply(200, j!({"results": [ann, bob], "size": 2, "_links": {}}), &[])
                }
                "/rest/api/group" => reply(
                    200,
                    j!({"results": [{"type": "group", "name": "dev"}], "size": 1, "_links": {}}),
                    &[],
                ),
                "/rest/api/group/dev/member" => {
                    reply(200, j!({"results": [ann, bob], "size": 2, "_links": {}}), &[])
                }
                "/rest/api/user" if param(&seen.target, "key").as_deref() == Some("k-bob") => reply(
                    lookup_status,
                    j!({"type": "known", "username": "bob", "userKey": "k-bob", "displayName": "Bob"}),
                    &[],
                ),
                other => panic!("unexpected {other}"),
            }
        })
        .await;
        let client = test_client(&server.origin, Flavour::DataCenter).await;
        let directory = Directory::load(&client, 2).await;
        let lookups = log.lock().unwrap().iter().filter(|s| s.target.starts_with("/rest/api/user?")).count();
        (directory, lookups)
    }

    #[tokio::test]
    async fn accounts_named_by_key_only_are_looked_up_and_a_failed_lookup_makes_it_incomplete() {
        let (directory, lookups) = load_with_lookup(200).await;
        assert!(directory.failures.is_empty(), "{:?}", directory.failures);
        assert_eq!(lookups, 1, "once per key, though listed twice");
        let bob = &directory.people["bob"];
        assert_eq!((bob.id.as_str(), bob.groups.len()), ("k-bob", 1));
        assert!(bob.classes.is_empty(), "access classes are Cloud's");
        let (directory, _) = load_with_lookup(500).await;
        assert!(directory.people.contains_key("ann") && !directory.people.contains_key("bob"));
        assert_eq!(directory.failures.len(), 1, "{:?}", directory.failures);
        assert!(directory.failures[0].contains("k-bob"), "{:?}", directory.failures);
    }
}
