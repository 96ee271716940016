//! Who may read each document, on recorded permission and restriction answers: every fail-closed path.

use super::*;
use crate::acl::identity::NOBODY;
use crate::confluence::api::v1;
use crate::confluence::client::tests::test_client;
use crate::confluence::test_server::{json as reply, serve};
use serde_json::json as j;

fn users(names: &[&str]) -> serde_json::Value {
    let results: Vec<_> =
        names.iter().map(|n| j!({"type": "known", "username": n, "userKey": format!("k-{n}")})).collect();
    j!({"results": results, "size": names.len(), "limit": 200, "_links": {}})
}

fn no_groups() -> serde_json::Value {
    j!({"results": [], "size": 0, "limit": 200})
}

/// A Server/DC page as the content search lists it: own restrictions and ancestors
/// expanded.
fn page(id: &str, own_users: &[&str], above: &[&str]) -> Content {
    let chain: Vec<_> =
        above.iter().map(|a| j!({"id": a, "type": "page", "title": format!("page {a}")})).collect();
    let value = j!({"id": id, "type": "page", "title": id, "ancestors": chain,
        "restrictions": {"read": {"restrictions": {"user": users(own_users), "group": no_groups()}}}});
    Content::from_v1(serde_json::from_value::<v1::Content>(value).unwrap()).unwrap()
}

fn space(key: &str) -> Space {
    Space::bare("9", key)
}

fn paths(log: &crate::confluence::test_server::Log) -> Vec<String> {
    log.lock().unwrap().iter().map(|s| s.target.split('?').next().unwrap_or_default().to_string()).collect()
}

fn dc_space_permissions(path: &str) -> Option<axum::response::Response> {
    match path {
        "/rest/api/space/ENG/permissions" => Some(reply(
            200,
            j!([
                {"operation": {"targetType": "space", "operationKey": "read"}, "subject": {"type": "group", "name": "confluence-users"}},
                {"operation": {"targetType": "page", "operationKey": "create"}, "subject": {"type": "group", "name": "dev"}}
            ]),
            &[],
        )),
        "/rest/api/space/ENG/permissions/anonymous" => Some(reply(200, j!([]), &[])),
        _ => None,
    }
}

#[tokio::test]
async fn layers_resolve_through_groups_and_unreadable_ancestors_close_gone_ones_do_not() {
    let (server, log) = serve(|seen, _| {
        let path = seen.target.split('?').next().unwrap_or_default();
        if let Some(answer) = dc_space_permissions(path) {
            return answer;
        }
        match path {
            // Ancestor 1 is restricted to the dev group; 2 is in the trash; 3 fails.
            "/rest/api/content/1/restriction/byOperation/read" => reply(
                200,
                j!({"restrictions": {
                "user": {"results": [], "size": 0, "limit": 200},
                "group": {"results": [{"type": "group", "name": "dev"}], "size": 1, "limit": 200}}}),
                &[],
            ),
            "/rest/api/content/2/restriction/byOperation/read" => reply(404, j!({"message": "trashed"}), &[]),
            "/rest/api/content/2" => reply(200, j!({"id": "2", "type": "page", "status": "trashed"}), &[]),
            "/rest/api/content/3/restriction/byOperation/read" => reply(500, j!({}), &[]),
            "/rest/api/group/dev/member" => reply(200, users(&["ann", "bob"]), &[]),
            "/rest/api/group/confluence-users/member" => reply(200, users(&["ann", "bob", "carl"]), &[]),
            other => panic!("unexpected {other}"),
        }
    })
    .await;
    let resolver = AclResolver::new(test_client(&server.origin, Flavour::DataCenter).await);
    let space = space("ENG");
    assert_eq!(resolver.space(&space).await, Some(vec!["group:confluence-users".to_string()]));
    // Space: everyone; ancestor 1: dev; the page: ann and carl. Only ann passes all three.
    let own = page("10", &["ann", "carl"], &["1", "2"]);
    assert_eq!(
        resolver.content(&space, &own, own.ancestors.as_deref().unwrap()).await,
        Some(vec!["user:ann".to_string()])
    );
    // No own restriction, under 1: dev's members who may view the space, by name — dev
    // itself does not grant the space, so whoever joins it later must not get in.
    let open = page("11", &[], &["1"]);
    let expected = Some(vec!["user:ann".to_string(), "user:bob".to_string()]);
    assert_eq!(resolver.content(&space, &open, open.ancestors.as_deref().unwrap()).await, expected);
    // An ancestor whose restrictions cannot be read closes the page.
    let under_broken = page("12", &[], &["1", "3"]);
    assert_eq!(
        resolver.content(&space, &under_broken, under_broken.ancestors.as_deref().unwrap()).await,
        Some(vec![NOBODY.into()])
    );
    assert!(resolver.summary().is_some_and(|s| s.starts_with("1 spaces, pages")));
    let seen = paths(&log);
    let count = |path: &str| seen.iter().filter(|p| *p == path).count();
    assert_eq!(count("/rest/api/content/1/restriction/byOperation/read"), 1, "fetched once for three pages");
    assert_eq!(count("/rest/api/content/2"), 1, "a 404 is checked: is it really gone?");
    assert_eq!(count("/rest/api/space/ENG/permissions"), 1);
    assert_eq!(count("/rest/api/group/dev/member"), 1);
    assert_eq!(
        count("/rest/api/content/3/restriction/byOperation/read"),
        4,
        "5xx is retried before it closes"
    );
}

#[tokio::test]
async fn absent_expansions_and_ancestors_that_exist_but_404_close_the_page() {
    let (server, log) = serve(|seen, _| {
        let path = seen.target.split('?').next().unwrap_or_default();
        if let Some(answer) = dc_space_permissions(path) {
            return answer;
        }
        match path {
            // 20 came without ancestors; 21's cannot be read either.
            "/rest/api/content/20" => reply(200, j!({"id": "20", "type": "page", "ancestors": []}), &[]),
            "/rest/api/content/21" => reply(503, j!({}), &[]),
            // 22's group list was left out of the listing, and its own answer names
            // more users than it gives.
            "/rest/api/content/22/restriction/byOperation/read" => reply(
                200,
                j!({"restrictions": {
                "user": {"results": [], "size": 4, "limit": 200}, "group": no_groups()}}),
                &[],
            ),
            // Ancestor 5 answers 404 for its restrictions but exists.
            "/rest/api/content/5/restriction/byOperation/read" => reply(404, j!({}), &[]),
            "/rest/api/content/5" => reply(200, j!({"id": "5", "type": "page", "status": "current"}), &[]),
            other => panic!("unexpected {other}"),
        }
    })
    .await;
    let resolver = AclResolver::new(test_client(&server.origin, Flavour::DataCenter).await);
    let space = space("ENG");
    let bare = |id: &str, extra: serde_json::Value| {
        let mut value = j!({"id": id, "type": "page", "title": id,
            "restrictions": {"read": {"restrictions": {"user": users(&[]), "group": no_groups()}}}});
        for (k, v) in extra.as_object().unwrap() {
            value[k] = v.clone();
        }
        Content::from_v1(serde_json::from_value::<v1::Content>(value).unwrap()).unwrap()
    };
    // Without the expansion the chain is read, and a top-level page is public to the space.
    let fetched = bare("20", j!({}));
    assert_eq!(fetched.ancestors, None);
    assert_eq!(resolver.content(&space, &fetched, &[]).await, Some(vec!["group:confluence-users".into()]));
    let unknown = bare("21", j!({}));
    assert_eq!(resolver.content(&space, &unknown, &[]).await, Some(vec![NOBODY.into()]));
    let partial = bare(
        "22",
        j!({"ancestors": [], "restrictions": {"read": {"restrictions": {"user": users(&[]), "_expandable": {"group": ""}}}}}),
    );
    assert_eq!(partial.read_restrictions.as_ref().map(|r| r.complete), Some(false));
    assert_eq!(resolver.content(&space, &partial, &[]).await, Some(vec![NOBODY.into()]));
    let below = page("23", &[], &["5"]);
    assert_eq!(
        resolver.content(&space, &below, below.ancestors.as_deref().unwrap()).await,
        Some(vec![NOBODY.into()])
    );
    assert_eq!(resolver.closed.load(Ordering::Relaxed), 3);
    assert!(paths(&log).contains(&"/rest/api/content/20".to_string()));
}

/// A Cloud page whose parent is a folder the listing did not return, in a space granted
/// to all licensed users.
#[tokio::test]
async fn cloud_folders_and_access_classes_take_part_in_the_layers() {
    let restricted = |account: &str| {
        reply(
            200,
            j!({"restrictions": {
            "user": {"results": [{"type": "known", "accountId": account}], "size": 1, "limit": 200},
            "group": no_groups()}}),
            &[],
        )
    };
    let (server, _log) = serve(move |seen, _| {
        let path = seen.target.split('?').next().unwrap_or_default();
        match path {
            "/wiki/api/v2/spaces/9/permissions" => reply(200, j!({"results": [
                {"principal": {"type": "access_class", "id": "all-licensed-users"}, "operation": {"key": "read", "targetType": "space"}},
                {"principal": {"type": "access_class", "id": "all-product-admins"}, "operation": {"key": "read", "targetType": "space"}}
            ], "_links": {}}), &[]),
            "/wiki/api/v2/pages/30/ancestors" => reply(200, j!({"results": [
                {"id": "1", "type": "page"}, {"id": "7", "type": "folder"}]}), &[]),
            "/wiki/api/v2/pages/31/ancestors" => reply(200, j!({"results": [
                {"id": "1", "type": "page"}, {"id": "8", "type": "folder"}]}), &[]),
            "/wiki/rest/api/content/1/restriction/byOperation/read" => reply(200, j!({"restrictions": {
                "user": {"results": [], "size": 0, "limit": 200}, "group": no_groups()}}), &[]),
            // Folder 7 is restricted to ann; folder 8's restrictions 404 while it exists.
            "/wiki/rest/api/content/7/restriction/byOperation/read" => restricted("ann"),
            "/wiki/rest/api/content/8/restriction/byOperation/read" => reply(404, j!({}), &[]),
            "/wiki/api/v2/folders/8" => reply(200, j!({"id": "8", "type": "folder", "status": "current"}), &[]),
            "/wiki/rest/api/content/30/restriction/byOperation/read"
            | "/wiki/rest/api/content/31/restriction/byOperation/read" => reply(200, j!({"restrictions": {
                "user": {"results": [], "size": 0, "limit": 200}, "group": no_groups()}}), &[]),
            "/wiki/rest/api/content/32/restriction/byOperation/read" => restricted("carl"),
            "/wiki/rest/api/search/user" => reply(200, j!({"results": [
                {"user": {"type": "known", "accountId": "ann", "accountType": "atlassian", "isExternalCollaborator": false}},
                {"user": {"type": "known", "accountId": "carl", "accountType": "atlassian", "isExternalCollaborator": true}},
                {"user": {"type": "known", "accountId": "bot", "accountType": "app"}}
            ], "size": 3, "_links": {}}), &[]),
            other => panic!("unexpected {other}"),
        }
    })
    .await;
    let resolver = AclResolver::new(test_client(&server.origin, Flavour::Cloud).await);
    let space = Space { id: "9".into(), ..space("ENG") };
    assert_eq!(resolver.space(&space).await, Some(vec!["access_class:all-licensed-users".to_string()]));
    let cloud_page = |id: &str| Content {
        id: id.into(),
        content_type: ContentType::Page,
        status: None,
        title: id.into(),
        space_id: Some("9".into()),
        space_key: None,
        space_name: None,
        parent_id: None,
        ancestors: None,
        author_id: None,
        author_name: None,
        created_at: None,
        updated_at: None,
        version: None,
        body_storage: None,
        labels: None,
        read_restrictions: None,
        webui: None,
        attachments: None,
    };
    let untitled = |id: &str| vec![Ancestor { id: id.into(), title: None }];
    // Under folder 7 (ann): ann is a licensed user.
    assert_eq!(
        resolver.content(&space, &cloud_page("30"), &untitled("7")).await,
        Some(vec!["account_id:ann".into()])
    );
    // Under folder 8, whose restrictions cannot be read: nobody.
    assert_eq!(resolver.content(&space, &cloud_page("31"), &untitled("8")).await, Some(vec![NOBODY.into()]));
    // A top-level page restricted to carl, a guest: not a licensed user, nobody.
    assert_eq!(resolver.content(&space, &cloud_page("32"), &[]).await, Some(vec![NOBODY.into()]));
}
