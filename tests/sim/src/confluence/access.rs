//! Who may read what, as Confluence decides it: a space's `read`/`space` (VIEWSPACE)
//! grantees, narrowed by every read restriction on the way down the page tree — a user must
//! satisfy the restriction of each restricted ancestor *and* of the page itself (by name or
//! through a group) — pages and Cloud folders alike; attachments and comments follow their
//! container. Cloud access classes cover kinds of accounts ([`class_covers`]). Tests use this
//! to compute the exact `_allow_access_control` a document-level-security sync must write.

use super::model::{AccountType, ContentKind, ReadRestriction, Site, Subject, User};

/// A user as the identity strings of each flavour name them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PrincipalUser {
    /// Server/DC username.
    pub username: String,
    /// Server/DC user key.
    pub user_key: String,
    /// Cloud account id.
    pub account_id: String,
}

/// A group by name (Server/DC) and id (Cloud).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PrincipalGroup {
    /// Group name.
    pub name: String,
    /// Cloud group id.
    pub id: String,
}

/// A set of grantees: named users, groups, and whether anonymous access is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principals {
    /// Users named directly.
    pub users: Vec<PrincipalUser>,
    /// Groups named.
    pub groups: Vec<PrincipalGroup>,
    /// Anonymous access (space permissions only).
    pub anonymous: bool,
    /// Cloud access classes (space permissions only), by id.
    pub classes: Vec<String>,
}

/// Whether a Cloud access class covers an account, as Confluence decides (`anonymous-users`
/// is anonymous access: anyone): authenticated users are every person (not app) account; every account of this site is
/// licensed, so `all-licensed-users` covers them too; `all-product-admins` covers site
/// administrators; `jsm-project-admins` nobody (there is no Jira Service Management here),
/// and neither does a class this simulator does not know.
pub fn class_covers(class: &str, account_type: AccountType, site_admin: bool) -> bool {
    match class {
        "authenticated-users" | "all-licensed-users" => account_type == AccountType::Atlassian,
        "all-product-admins" => site_admin,
        _ => false,
    }
}

fn covered(user: &User, classes: &[String]) -> bool {
    classes.iter().any(|c| class_covers(c, user.account_type, user.site_admin))
}

fn user(site: &Site, index: u32) -> Option<PrincipalUser> {
    site.user(index).map(|u| PrincipalUser {
        username: u.username.clone(),
        user_key: u.user_key.clone(),
        account_id: u.account_id.clone(),
    })
}

fn group(site: &Site, index: u32) -> Option<PrincipalGroup> {
    site.group(index).map(|g| PrincipalGroup { name: g.name.clone(), id: g.id.clone() })
}

/// The grantees of `read` on `space` (Server/DC: VIEWSPACE) in a space.
pub fn space_viewers(site: &Site, space_id: u64) -> Principals {
    let mut viewers = Principals::default();
    let Some(space) = site.spaces.get(&space_id) else {
        return viewers;
    };
    for permission in space.permissions.iter().filter(|p| p.operation == "read" && p.target == "space") {
        match permission.subject {
            Subject::User(u) => viewers.users.extend(user(site, u)),
            Subject::Group(g) => viewers.groups.extend(group(site, g)),
            Subject::Anonymous => viewers.anonymous = true,
            Subject::AccessClass("anonymous-users") => viewers.anonymous = true,
            Subject::AccessClass(class) => viewers.classes.push(class.to_string()),
        }
    }
    viewers.users.sort();
    viewers.users.dedup();
    viewers.groups.sort();
    viewers.groups.dedup();
    viewers
}

fn layer(site: &Site, restriction: &ReadRestriction) -> Principals {
    Principals {
        users: restriction.users.iter().filter_map(|&u| user(site, u)).collect(),
        groups: restriction.groups.iter().filter_map(|&g| group(site, g)).collect(),
        anonymous: false,
        classes: Vec::new(),
    }
}

/// The read restrictions that apply to content, root-most first, ending with the content's
/// own (attachments and comments: their container's chain). Empty when nothing is restricted.
pub fn read_layers(site: &Site, id: u64) -> Vec<Principals> {
    let Some(content) = site.get(id) else {
        return Vec::new();
    };
    let holder = match content.kind {
        ContentKind::Attachment | ContentKind::Comment => content.parent.unwrap_or(id),
        _ => id,
    };
    let mut chain = site.ancestors(holder);
    chain.push(holder);
    chain
        .into_iter()
        .filter_map(|c| site.get(c))
        .filter(|c| c.kind != ContentKind::Attachment && c.kind != ContentKind::Comment)
        .filter_map(|c| c.restriction.as_deref())
        .map(|r| layer(site, r))
        .collect()
}

fn satisfies(site: &Site, index: u32, principals: &Principals) -> bool {
    let Some(candidate) = site.user(index) else {
        return false;
    };
    principals.users.iter().any(|u| u.username == candidate.username)
        || covered(candidate, &principals.classes)
        || principals.groups.iter().any(|g| {
            site.find_group(&g.name)
                .and_then(|gi| site.group(gi))
                .is_some_and(|grp| grp.members.contains(&index))
        })
}

/// Whether the (active) user may read the content: a space viewer (or anyone, when the
/// space allows anonymous access) who satisfies every layer.
pub fn can_read(site: &Site, index: u32, id: u64) -> bool {
    let Some(content) = site.get(id) else {
        return false;
    };
    if !site.user(index).is_some_and(|u| u.active) {
        return false;
    }
    let viewers = space_viewers(site, content.space_id);
    (viewers.anonymous || satisfies(site, index, &viewers))
        && read_layers(site, id).iter().all(|layer| satisfies(site, index, layer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::config::{Flavour, SimConfig, Size};
    use crate::confluence::generate::generate;

    #[test]
    fn nested_restrictions_intersect_down_the_tree() {
        let site = generate(&SimConfig::new(Flavour::Server, Size::Small));
        let eng = site.space_by_key("ENG").expect("ENG");
        // Page 5 (restricted to two users) is a child of page 2 (restricted to a user and a group).
        let nested = site
            .content
            .values()
            .find(|c| c.space_id == eng.id && c.restriction.is_some() && read_layers(&site, c.id).len() == 2)
            .expect("a page under a restricted page");
        let layers = read_layers(&site, nested.id);
        let admin = site.find_user("admin").expect("admin");
        // A user named only on the outer layer cannot read the inner page.
        let parent_only = site.find_user(&layers[0].users[0].username).expect("user");
        assert!(can_read(&site, parent_only, site.ancestors(nested.id).last().copied().expect("parent")));
        assert!(!can_read(&site, parent_only, nested.id));
        let inner_user = site.find_user(&layers[1].users[0].username).expect("user");
        assert!(
            !can_read(&site, inner_user, nested.id)
                || site
                    .groups
                    .iter()
                    .any(|g| g.members.contains(&inner_user)
                        && layers[0].groups.iter().any(|l| l.name == g.name))
        );
        // The admin is named on the inner layer but is in neither the outer layer's users
        // nor its group, so cannot read it.
        let outer_group = &layers[0].groups[0].name;
        let in_outer =
            site.group(site.find_group(outer_group).expect("group")).expect("group").members.contains(&admin);
        assert_eq!(can_read(&site, admin, nested.id), in_outer);
        assert!(!space_viewers(&site, eng.id).groups.is_empty());
    }
}
