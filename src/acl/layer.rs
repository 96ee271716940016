//! Who may read a document, from the layers of access Confluence checks one after another.
//!
//! A reader must pass every layer: the space's view permission, then the read restriction
//! of each restricted ancestor, then the document's own. A layer lets through the users it
//! names and the members of the groups it names (the space layer may let anyone through:
//! anonymous access). Intersecting the *names* of the layers, as Elastic's connector does,
//! is wrong as soon as one layer names a group and another a member of it (parent: group
//! `dev`; child: user `ann`, who is in `dev` → an empty list, nobody may read). So
//! [`effective`] intersects *people*: it expands groups into members where it must, and
//! keeps a group's name where the group itself is in every layer, so that membership changes
//! keep reaching the document through the access-control sync.
//!
//! Group memberships it could not read count as empty: a person is let through only when
//! known to pass — the answer is then too narrow, never too wide.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::identity::{Identities, NOBODY};

/// One layer of access, by user and group keys ([`Identities::user_key`]) and Cloud access
/// class ids ([`super::access_class`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Layer {
    /// Anyone passes (anonymous access to the space).
    pub(crate) anyone: bool,
    /// Users named.
    pub(crate) users: BTreeSet<String>,
    /// Groups named.
    pub(crate) groups: BTreeSet<String>,
    /// Access classes named (`all-licensed-users`, …).
    pub(crate) classes: BTreeSet<String>,
}

impl Layer {
    /// True when nobody passes.
    pub(super) fn is_closed(&self) -> bool {
        !self.anyone && self.users.is_empty() && self.groups.is_empty() && self.classes.is_empty()
    }
}

/// Who belongs to the groups and access classes [`effective`] looks into; a key missing
/// here is one whose members are unknown.
#[derive(Debug, Clone, Default)]
pub(super) struct Memberships {
    /// Group key → member keys.
    pub(crate) groups: HashMap<String, Arc<BTreeSet<String>>>,
    /// Access class id → the keys of the accounts it covers.
    pub(crate) classes: HashMap<String, Arc<BTreeSet<String>>>,
}

/// The groups and access classes whose members [`effective`] needs for some layers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Needed {
    /// Group keys.
    pub(crate) groups: BTreeSet<String>,
    /// Access class ids.
    pub(crate) classes: BTreeSet<String>,
}

/// Who may read a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Access {
    /// Anyone: the document carries no `_allow_access_control`.
    Public,
    /// These users, the members of these groups and the accounts of these classes (all
    /// empty: nobody).
    Only {
        /// User keys.
        users: BTreeSet<String>,
        /// Group keys.
        groups: BTreeSet<String>,
        /// Access class ids.
        classes: BTreeSet<String>,
    },
}

impl Access {
    /// Nobody may read.
    pub(super) fn nobody() -> Access {
        Access::Only { users: BTreeSet::new(), groups: BTreeSet::new(), classes: BTreeSet::new() }
    }

    /// The `_allow_access_control` value: `None` for public documents, the identity strings
    /// otherwise, sorted, and [`NOBODY`] alone when nobody may read.
    pub(super) fn field(&self, ids: Identities) -> Option<Vec<String>> {
        match self {
            Access::Public => None,
            Access::Only { users, groups, classes }
                if users.is_empty() && groups.is_empty() && classes.is_empty() =>
            {
                Some(vec![NOBODY.to_string()])
            }
            Access::Only { users, groups, classes } => {
                let mut field: Vec<String> = groups
                    .iter()
                    .map(|g| ids.group(g))
                    .chain(users.iter().map(|u| ids.user(u)))
                    .chain(classes.iter().map(|c| super::identity::access_class(c)))
                    .collect();
                field.sort();
                Some(field)
            }
        }
    }
}

/// The groups and classes whose members [`effective`] looks at for these layers: none when
/// at most one layer restricts (its names are the answer), else every one named.
pub(super) fn needed(layers: &[Layer]) -> Needed {
    let restricting: Vec<&Layer> = layers.iter().filter(|l| !l.anyone).collect();
    if restricting.len() < 2 {
        return Needed::default();
    }
    Needed {
        groups: restricting.iter().flat_map(|l| l.groups.iter().cloned()).collect(),
        classes: restricting.iter().flat_map(|l| l.classes.iter().cloned()).collect(),
    }
}

/// A grantee standing for several people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Collective<'a> {
    Group(&'a str),
    Class(&'a str),
}

fn collectives(layer: &Layer) -> impl Iterator<Item = Collective<'_>> {
    layer
        .groups
        .iter()
        .map(|g| Collective::Group(g))
        .chain(layer.classes.iter().map(|c| Collective::Class(c)))
}

fn names(layer: &Layer, collective: Collective<'_>) -> bool {
    match collective {
        Collective::Group(g) => layer.groups.contains(g),
        Collective::Class(c) => layer.classes.contains(c),
    }
}

/// Who passes every layer, as exactly as the known memberships allow.
pub(super) fn effective(layers: &[Layer], members: &Memberships) -> Access {
    let restricting: Vec<&Layer> = layers.iter().filter(|l| !l.anyone).collect();
    match restricting.as_slice() {
        [] => return Access::Public,
        [only] => {
            return Access::Only {
                users: only.users.clone(),
                groups: only.groups.clone(),
                classes: only.classes.clone(),
            }
        }
        _ => {}
    }
    if restricting.iter().any(|l| l.is_closed()) {
        return Access::nobody();
    }
    let members_of = |collective: Collective<'_>| match collective {
        Collective::Group(g) => members.groups.get(g).map(|m| m.as_ref()),
        Collective::Class(c) => members.classes.get(c).map(|m| m.as_ref()),
    };
    let reach = |layer: &Layer| {
        layer.users.len() + collectives(layer).map(|c| members_of(c).map_or(0, BTreeSet::len)).sum::<usize>()
    };
    // Everyone who passes is in every layer, so walking the smallest one finds them all.
    let base = (0..restricting.len()).min_by_key(|&i| reach(restricting[i])).unwrap_or(0);
    let others: Vec<&Layer> =
        restricting.iter().enumerate().filter(|(i, _)| *i != base).map(|(_, l)| *l).collect();
    let passes = |user: &str| {
        others.iter().all(|layer| {
            layer.users.contains(user)
                || collectives(layer).any(|c| members_of(c).is_some_and(|m| m.contains(user)))
        })
    };
    let base = restricting[base];
    let (kept, expanded): (Vec<Collective<'_>>, Vec<Collective<'_>>) =
        collectives(base).partition(|c| others.iter().all(|layer| names(layer, *c)));
    let mut users: BTreeSet<String> = base.users.iter().filter(|u| passes(u)).cloned().collect();
    for collective in &expanded {
        if let Some(collective_members) = members_of(*collective) {
            users.extend(collective_members.iter().filter(|u| passes(u)).cloned());
        }
    }
    // Users a kept group or class already lets through need no entry of their own.
    users.retain(|u| !kept.iter().any(|c| members_of(*c).is_some_and(|m| m.contains(u))));
    let mut access = Access::nobody();
    if let Access::Only { users: u, groups, classes } = &mut access {
        *u = users;
        for collective in kept {
            match collective {
                Collective::Group(g) => groups.insert(g.to_string()),
                Collective::Class(c) => classes.insert(c.to_string()),
            };
        }
    }
    access
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::Flavour;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn layer(users: &[&str], groups: &[&str]) -> Layer {
        Layer { users: set(users), groups: set(groups), ..Layer::default() }
    }

    fn anyone() -> Layer {
        Layer { anyone: true, ..Layer::default() }
    }

    fn groups(entries: &[(&str, &[&str])]) -> Memberships {
        Memberships {
            groups: entries.iter().map(|(g, ms)| (g.to_string(), Arc::new(set(ms)))).collect(),
            ..Memberships::default()
        }
    }

    fn only(users: &[&str], groups: &[&str]) -> Access {
        Access::Only { users: set(users), groups: set(groups), classes: BTreeSet::new() }
    }

    #[test]
    fn a_single_layer_is_its_own_names() {
        let space = layer(&["ann"], &["dev"]);
        assert_eq!(
            effective(std::slice::from_ref(&space), &Memberships::default()),
            only(&["ann"], &["dev"])
        );
        assert_eq!(needed(&[space]), Needed::default(), "one layer needs no membership");
        assert_eq!(
            effective(&[anyone(), layer(&["bob"], &[])], &Memberships::default()),
            only(&["bob"], &[])
        );
        assert_eq!(effective(&[anyone()], &Memberships::default()), Access::Public);
        assert_eq!(effective(&[], &Memberships::default()), Access::Public);
    }

    #[test]
    fn a_group_on_one_level_and_its_member_on_another_let_the_member_through() {
        // Elastic's string intersection gives an empty list here.
        let members = groups(&[("dev", &["ann", "bob"])]);
        let layers = [layer(&[], &["dev"]), layer(&["ann"], &[])];
        assert_eq!(effective(&layers, &members), only(&["ann"], &[]));
        let reversed = [layer(&["ann", "carl"], &[]), layer(&[], &["dev"])];
        assert_eq!(effective(&reversed, &members), only(&["ann"], &[]));
    }

    #[test]
    fn a_group_named_on_every_level_stays_a_group() {
        let members = groups(&[("dev", &["ann", "bob"]), ("all", &["ann", "bob", "carl", "dora"])]);
        let layers = [layer(&[], &["all", "dev"]), layer(&["carl"], &["dev"])];
        // carl passes the space through `all`; dev's members are covered by the group.
        assert_eq!(effective(&layers, &members), only(&["carl"], &["dev"]));
    }

    #[test]
    fn groups_of_different_layers_are_intersected_by_members() {
        let members = groups(&[("all", &["ann", "bob", "carl"]), ("dev", &["bob", "carl", "erin"])]);
        let layers = [layer(&[], &["all"]), layer(&[], &["dev"]), layer(&["carl", "ann"], &[])];
        assert_eq!(effective(&layers, &members), only(&["carl"], &[]));
        assert_eq!(needed(&layers).groups, set(&["all", "dev"]));
    }

    #[test]
    fn unknown_memberships_and_closed_layers_fail_closed() {
        // `dev`'s members could not be read: only people known to pass get through.
        let layers = [layer(&["ann"], &["all"]), layer(&[], &["dev"])];
        let known = groups(&[("all", &["ann", "bob"])]);
        assert_eq!(effective(&layers, &known), only(&[], &[]));
        assert_eq!(effective(&[layer(&["ann"], &[]), Layer::default()], &known), Access::nobody());
        assert_eq!(effective(&[Layer::default()], &known), Access::nobody());
    }

    #[test]
    fn access_classes_stay_classes_alone_and_intersect_by_the_accounts_they_cover() {
        let licensed = "all-licensed-users";
        let space = Layer { classes: set(&[licensed]), ..Layer::default() };
        let alone = effective(std::slice::from_ref(&space), &Memberships::default());
        assert_eq!(
            alone.field(Identities::new(Flavour::Cloud)),
            Some(vec!["access_class:all-licensed-users".to_string()]),
            "a class is not anonymous access"
        );
        // Below, a page restricted to ann, carl (a guest, not covered) and the dev group.
        let page = layer(&["ann", "carl"], &["dev"]);
        let mut members = groups(&[("dev", &["bob", "carl", "dora"])]);
        members.classes.insert(licensed.into(), Arc::new(set(&["ann", "bob", "dora", "erin"])));
        let layers = [space.clone(), page.clone()];
        assert_eq!(needed(&layers).classes, set(&[licensed]));
        assert_eq!(effective(&layers, &members), only(&["ann", "bob", "dora"], &[]));
        // A class on every level stays one.
        let both =
            [space.clone(), Layer { classes: set(&[licensed]), users: set(&["zed"]), ..Layer::default() }];
        assert_eq!(
            effective(&both, &members),
            Access::Only { users: BTreeSet::new(), groups: BTreeSet::new(), classes: set(&[licensed]) }
        );
        // Who the class covers is unknown: only those known to pass get through.
        assert_eq!(effective(&layers, &groups(&[("dev", &["bob"])])), Access::nobody());
    }

    #[test]
    fn the_field_is_absent_for_public_documents_and_never_empty() {
        let ids = Identities::new(Flavour::Server);
        assert_eq!(Access::Public.field(ids), None);
        assert_eq!(Access::nobody().field(ids), Some(vec![NOBODY.to_string()]));
        assert_eq!(
            only(&["ann"], &["dev"]).field(ids),
            Some(vec!["group:dev".to_string(), "user:ann".to_string()])
        );
        let cloud = Identities::new(Flavour::Cloud);
        assert_eq!(
            only(&["a1"], &["g1"]).field(cloud),
            Some(vec!["account_id:a1".into(), "group_id:g1".into()])
        );
    }
}
