//! Cloud access classes: space grants to a kind of account rather than to named people.
//!
//! Sites with space roles (RBAC) grant spaces to the access classes `anonymous-users`,
//! `authenticated-users`, `all-licensed-users`, `all-product-admins` and
//! `jsm-project-admins`. The rule this connector applies, class by class:
//!
//! - `anonymous` / `anonymous-users`: anyone — anonymous access, no `_allow_access_control`.
//! - `authenticated-users`: every person account (`accountType: atlassian`) the site's user
//!   search lists.
//! - `all-licensed-users`: the same accounts except external collaborators (guests,
//!   `isExternalCollaborator: true`), who hold no licence.
//!
//!   These two go onto documents as `access_class:<id>`, and the identity document of every
//!   account they cover holds that string too, so a class keeps reaching accounts created
//!   later through the access-control sync alone. Where a class meets another restricting
//!   layer (a restricted page below a space granted to a class), the accounts it covers are
//!   read once per sync from the same user search and intersected like a group's members.
//!   Accounts the search does not list (bots, JSM customers, past its 10,000-result window)
//!   are not covered: they see less, never more.
//! - `all-product-admins`, `jsm-project-admins` and any class not named here: Confluence's
//!   APIs do not say who they cover, so such a grant lets nobody through, reported once.

use std::collections::BTreeSet;

use crate::confluence::Account;

/// An access class this connector can map to accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum AccessClass {
    /// `authenticated-users`.
    AuthenticatedUsers,
    /// `all-licensed-users`.
    AllLicensedUsers,
}

impl AccessClass {
    /// Every class that can be mapped.
    pub(super) const ALL: [AccessClass; 2] = [AccessClass::AuthenticatedUsers, AccessClass::AllLicensedUsers];

    /// The class with this principal id (any case); `None` for classes that cannot be
    /// mapped to accounts (and for anonymous access, which is not a class here).
    pub(super) fn from_id(id: &str) -> Option<AccessClass> {
        AccessClass::ALL.into_iter().find(|class| class.id().eq_ignore_ascii_case(id))
    }

    /// The principal id, as in `access_class:<id>`.
    pub(super) fn id(self) -> &'static str {
        match self {
            AccessClass::AuthenticatedUsers => "authenticated-users",
            AccessClass::AllLicensedUsers => "all-licensed-users",
        }
    }

    /// Whether this class covers the account (see the module docs for the rule).
    pub(super) fn covers(self, account: &Account) -> bool {
        let person = account.account_type.as_deref() == Some("atlassian");
        match self {
            AccessClass::AuthenticatedUsers => person,
            AccessClass::AllLicensedUsers => person && account.external_collaborator != Some(true),
        }
    }
}

/// The ids of the classes that cover an account.
pub(super) fn classes_of(account: &Account) -> BTreeSet<String> {
    AccessClass::ALL.into_iter().filter(|c| c.covers(account)).map(|c| c.id().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(kind: Option<&str>, guest: Option<bool>) -> Account {
        Account { account_type: kind.map(str::to_string), external_collaborator: guest, ..Account::default() }
    }

    #[test]
    fn classes_cover_person_accounts_and_licences_leave_out_guests() {
        let both: BTreeSet<String> = ["all-licensed-users", "authenticated-users"].map(String::from).into();
        assert_eq!(classes_of(&account(Some("atlassian"), Some(false))), both);
        assert_eq!(classes_of(&account(Some("atlassian"), None)), both);
        assert_eq!(
            classes_of(&account(Some("atlassian"), Some(true))),
            ["authenticated-users".to_string()].into()
        );
        for other in [Some("app"), Some("customer"), None] {
            assert!(classes_of(&account(other, Some(false))).is_empty(), "{other:?}");
        }
        assert_eq!(AccessClass::from_id("All-Licensed-Users"), Some(AccessClass::AllLicensedUsers));
        for unmapped in ["all-product-admins", "jsm-project-admins", "anonymous-users", "everyone"] {
            assert_eq!(AccessClass::from_id(unmapped), None);
        }
    }
}
