//! Server and Data Center over HTTP: auth, context path, the pagination quirks, every
//! self-hosted route and a complete walk that finds exactly the catalog.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{client, enc, get, get_json, start};
use crate::confluence::{ContentKind, Flavour};

#[tokio::test]
async fn auth_accepts_basic_and_dc_pats_and_refuses_the_rest_with_a_json_body() {
    let sim = start(Flavour::DataCenter, |_| {}).await;
    let url = format!("{}/rest/api/space?limit=1", sim.base_url());
    let credentials = sim.credentials();
    let none = client().get(&url).send().await.expect("send");
    assert_eq!(none.status().as_u16(), 401);
    let body: Value = none.json().await.expect("json");
    assert_eq!(body["statusCode"], 401);
    let wrong =
        client().get(&url).basic_auth(&credentials.username, Some("nope")).send().await.expect("send");
    assert_eq!(wrong.status().as_u16(), 401);
    let pat = client().get(&url).bearer_auth(&credentials.pat).send().await.expect("send");
    assert_eq!(pat.status().as_u16(), 200);
    let basic = client()
        .get(&url)
        .basic_auth(&credentials.username, Some(&credentials.password))
        .send()
        .await
        .expect("send");
    assert_eq!(basic.status().as_u16(), 200);

    let server = start(Flavour::Server, |_| {}).await;
    let bearer = client()
        .get(format!("{}/rest/api/space", server.base_url()))
        .bearer_auth(&server.credentials().pat)
        .send()
        .await
        .expect("send");
    assert_eq!(bearer.status().as_u16(), 401, "Server has no personal access tokens");
    let old = start(Flavour::DataCenter, |c| c.dc_version = (7, 4)).await;
    let old_bearer = client()
        .get(format!("{}/rest/api/space", old.base_url()))
        .bearer_auth(&old.credentials().pat)
        .send()
        .await
        .expect("send");
    assert_eq!(old_bearer.status().as_u16(), 401, "PATs arrived in DC 7.9");
    assert_eq!(sim.requests().count_status("/rest/api/space", 401), 2);
}

#[tokio::test]
async fn context_path_prefixes_every_route_and_link() {
    let sim = start(Flavour::Server, |c| c.context_path = "/confluence".into()).await;
    assert!(sim.url().ends_with("/confluence"));
    let body = get_json(&sim, "/rest/api/space?limit=1", 200).await;
    assert_eq!(body["_links"]["context"], "/confluence");
    assert!(body["_links"]["base"].as_str().expect("base").ends_with("/confluence"));
    let bare = client()
        .get(format!("{}/rest/api/space", sim.url().trim_end_matches("/confluence")))
        .basic_auth(&sim.credentials().username, Some(&sim.credentials().password))
        .send()
        .await
        .expect("send");
    assert_eq!(bare.status().as_u16(), 404);
}

/// Pages a DC offset listing the way a correct client must: `start += len(results)` until an
/// empty page, never trusting `_links.next`'s `start`.
async fn walk(sim: &crate::confluence::ConfluenceSim, path: &str, limit: usize) -> (Vec<Value>, usize) {
    let mut start = 0;
    let mut all = Vec::new();
    let mut requests = 0;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let body = get_json(sim, &format!("{path}{separator}limit={limit}&start={start}"), 200).await;
        requests += 1;
        let results = body["results"].as_array().expect("results").clone();
        if results.is_empty() {
            assert!(body["_links"]["next"].is_string(), "quirk: next link on the empty last page");
            break;
        }
        start += results.len();
        all.extend(results);
        assert!(requests < 1000, "walk does not end");
    }
    (all, requests)
}

#[tokio::test]
async fn content_search_caps_body_pages_at_50_and_its_next_link_skips() {
    let sim = start(Flavour::Server, |_| {}).await;
    let cql = enc("space in ('ENG') AND type=page");
    let attachments = enc("type=attachment");
    let first = get_json(
        &sim,
        &format!("/rest/api/content/search?cql={attachments}&limit=100&expand=body.storage"),
        200,
    )
    .await;
    assert_eq!(first["size"], 50);
    assert_eq!(first["limit"], 50);
    assert!(first["_links"]["next"].as_str().expect("next").ends_with("limit=100&start=100"));
    let page = get_json(
        &sim,
        &format!("/rest/api/content/search?cql={cql}&limit=20&expand=body.storage,space"),
        200,
    )
    .await;
    let next = page["_links"]["next"].as_str().expect("next");
    assert!(next.starts_with("/rest/api/content/search?next=true&cql="), "{next}");
    assert!(next.ends_with("limit=20&start=20"), "{next}");

    let (found, _) =
        walk(&sim, &format!("/rest/api/content/search?cql={cql}&expand=body.storage"), 100).await;
    let ids: BTreeSet<String> = found.iter().map(|r| r["id"].as_str().expect("id").to_string()).collect();
    let expected: BTreeSet<String> = sim
        .catalog()
        .indexed(ContentKind::Page)
        .filter(|c| c.space_key == "ENG")
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(ids, expected);
    // No expand: up to 1000; other expands: 200.
    let none =
        get_json(&sim, &format!("/rest/api/content/search?cql={}&limit=5000", enc("type=attachment")), 200)
            .await;
    assert_eq!(none["limit"], 1000);
    let some = get_json(
        &sim,
        &format!("/rest/api/content/search?cql={}&limit=5000&expand=version", enc("type=attachment")),
        200,
    )
    .await;
    assert_eq!(some["limit"], 200);
    assert_eq!(some["size"], 200);
    assert!(some["_links"]["next"].as_str().expect("next").ends_with("start=5000"));
}

#[tokio::test]
async fn space_listing_caps_at_50_and_past_the_cap_the_next_link_skips() {
    let sim = start(Flavour::DataCenter, |_| {}).await;
    for i in 0..60 {
        sim.site().add_space(&format!("EXTRA{i}"), &format!("Extra {i}")).expect("space");
    }
    let first = get_json(&sim, "/rest/api/space?limit=100", 200).await;
    assert_eq!(first["size"], 50);
    assert!(first["_links"]["next"].as_str().expect("next").ends_with("limit=100&start=100"));
    let (all, _) = walk(&sim, "/rest/api/space", 100).await;
    assert_eq!(all.len(), sim.catalog().spaces.len());
}

#[tokio::test]
async fn quirks_off_gives_honest_pagination() {
    let sim = start(Flavour::Server, |c| c.quirks = false).await;
    let cql = enc("type=blogpost");
    let mut next = Some(format!("/rest/api/content/search?cql={cql}&limit=100&expand=body.storage"));
    let mut seen = 0;
    while let Some(path) = next {
        let body = get_json(&sim, &path, 200).await;
        seen += body["size"].as_u64().expect("size");
        next = body["_links"]["next"].as_str().map(str::to_string);
    }
    assert_eq!(seen as usize, sim.catalog().indexed(ContentKind::BlogPost).count());
}

#[tokio::test]
async fn site_search_next_link_drops_the_cql() {
    let sim = start(Flavour::Server, |_| {}).await;
    let body =
        get_json(&sim, &format!("/rest/api/search?cql={}&limit=10", enc("type=page and space=ENG")), 200)
            .await;
    assert_eq!(body["size"], 10);
    assert_eq!(body["results"][0]["entityType"], "content");
    assert!(body["totalSize"].as_u64().expect("total") > 10);
    let next = body["_links"]["next"].as_str().expect("next");
    assert!(!next.contains("cql="), "{next}");
    let followed = get_json(&sim, next, 400).await;
    assert_eq!(followed["message"], "CQL query parameter is required");
}

#[tokio::test]
async fn invalid_cql_is_a_400_naming_the_position() {
    let sim = start(Flavour::DataCenter, |_| {}).await;
    let body =
        get_json(&sim, &format!("/rest/api/content/search?cql={}", enc("space = ENG AND type page")), 400)
            .await;
    let message = body["message"].as_str().expect("message");
    assert!(message.starts_with("Could not parse cql : space = ENG AND type page"), "{message}");
    assert!(message.contains("position 21"), "{message}");
}

#[tokio::test]
async fn children_labels_comments_and_download_agree_with_each_other() {
    let sim = start(Flavour::DataCenter, |_| {}).await;
    let catalog = sim.catalog();
    let page = catalog
        .indexed(ContentKind::Page)
        .find(|p| {
            catalog
                .content
                .iter()
                .filter(|c| c.parent.as_ref() == Some(&p.id) && c.kind == ContentKind::Attachment)
                .count()
                == 2
        })
        .expect("a page with two attachments");
    let attachments = get_json(
        &sim,
        &format!("/rest/api/content/{}/child/attachment?limit=100&expand=version,history", page.id),
        200,
    )
    .await;
    assert_eq!(attachments["size"], 2);
    let first = &attachments["results"][0];
    assert!(first["id"].as_str().expect("id").starts_with("att"));
    assert!(first["version"]["when"].as_str().expect("when").contains('+'), "DC times carry the site offset");
    let size = first["extensions"]["fileSize"].as_u64().expect("size");
    let download = first["_links"]["download"].as_str().expect("download");
    let bytes = get(&sim, download).await.bytes().await.expect("bytes");
    assert_eq!(bytes.len() as u64, size);

    let labels = get_json(&sim, &format!("/rest/api/content/{}/label", page.id), 200).await;
    assert!(labels["results"].is_array());
    let comments =
        get_json(&sim, &format!("/rest/api/content/{}/child/comment?expand=body.storage", page.id), 200)
            .await;
    for comment in comments["results"].as_array().expect("comments") {
        assert_eq!(comment["type"], "comment");
        assert!(comment["body"]["storage"]["value"].is_string());
    }
    get_json(&sim, "/rest/api/content/999999999/child/attachment", 404).await;
}

#[tokio::test]
async fn restrictions_are_shown_per_page() {
    let sim = start(Flavour::DataCenter, |_| {}).await;
    let restricted = sim.site().read(|site| {
        site.content
            .values()
            .find(|c| c.restriction.is_some() && c.kind == ContentKind::Page)
            .map(|c| c.id)
            .expect("restricted page")
    });
    let read =
        get_json(&sim, &format!("/rest/api/content/{restricted}/restriction/byOperation/read"), 200).await;
    assert_eq!(read["operation"], "read");
    let users = read["restrictions"]["user"]["results"].as_array().expect("users");
    assert!(!users.is_empty());
    assert!(users[0]["username"].is_string() && users[0]["userKey"].is_string());
    let expanded = get_json(
        &sim,
        &format!("/rest/api/content/{restricted}?expand=restrictions.read.restrictions.user,restrictions.read.restrictions.group"),
        200,
    )
    .await;
    assert_eq!(expanded["restrictions"]["read"]["restrictions"]["user"]["size"], users.len());
}

#[tokio::test]
async fn dc_space_permissions_need_9_1_and_an_administrator() {
    let sim = start(Flavour::DataCenter, |_| {}).await;
    let permissions = get_json(&sim, "/rest/api/space/ENG/permissions", 200).await;
    let first = &permissions[0];
    assert_eq!(first["spaceKey"], "ENG");
    assert!(first["operation"]["operationKey"].is_string());
    let credentials = sim.credentials();
    let as_user = client()
        .get(format!("{}/rest/api/space/ENG/permissions", sim.base_url()))
        .basic_auth(&credentials.user_username, Some(&credentials.user_password))
        .send()
        .await
        .expect("send");
    assert_eq!(as_user.status().as_u16(), 500, "CONFSERVER-99908");
    let expand_as_user = client()
        .get(format!("{}/rest/api/space?expand=permissions", sim.base_url()))
        .basic_auth(&credentials.user_username, Some(&credentials.user_password))
        .send()
        .await
        .expect("send");
    assert_eq!(expand_as_user.status().as_u16(), 500);

    let old = start(Flavour::DataCenter, |c| c.dc_version = (9, 0)).await;
    get_json(&old, "/rest/api/space/ENG/permissions", 404).await;
    let server = start(Flavour::Server, |_| {}).await;
    get_json(&server, "/rest/api/space/ENG/permissions", 404).await;
    get_json(&server, "/rest/api/user/list", 404).await;
}

#[tokio::test]
async fn extender_endpoints_exist_only_when_enabled() {
    let without = start(Flavour::Server, |_| {}).await;
    get_json(&without, "/rest/extender/1.0/permission/space/ENG/getSpacePermissionActors/VIEWSPACE", 404)
        .await;
    let sim = start(Flavour::Server, |c| c.extender = true).await;
    let actors =
        get_json(&sim, "/rest/extender/1.0/permission/space/ENG/getSpacePermissionActors/VIEWSPACE", 200)
            .await;
    assert_eq!(actors["key"], "ENG");
    let view = &actors["permissions"]["VIEWSPACE"];
    assert!(view["groups"].as_array().expect("groups").iter().any(|g| g == "confluence-users"));
    assert_eq!(view["anonymousAccess"], false);
    let users = get_json(&sim, "/rest/extender/1.0/user/getUsersWithConfluenceAccess?showExtendedDetails=true&startAt=0&maxResults=10", 200).await;
    assert_eq!(users["status"], "success");
    assert_eq!(users["users"].as_array().expect("users").len(), 10);
    assert!(users["total"].as_u64().expect("total") > 10);
}

#[tokio::test]
async fn json_rpc_lists_space_permission_sets_for_administrators() {
    let sim = start(Flavour::Server, |_| {}).await;
    let credentials = sim.credentials();
    let response = client()
        .post(format!("{}/rpc/json-rpc/confluenceservice-v2", sim.base_url()))
        .basic_auth(&credentials.username, Some(&credentials.password))
        .json(&serde_json::json!({"jsonrpc": "2.0", "method": "getSpacePermissionSets", "params": ["ENG"], "id": 7}))
        .send()
        .await
        .expect("send");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["id"], 7);
    let sets = body["result"].as_array().expect("result");
    assert!(sets.iter().any(|s| s["type"] == "VIEWSPACE"));
}

#[tokio::test]
async fn dc_users_and_group_members_page_by_offset() {
    let sim = start(Flavour::DataCenter, |_| {}).await;
    let users = get_json(&sim, "/rest/api/user/list?limit=10", 200).await;
    assert_eq!(users["size"], 10);
    assert!(users["results"][0]["userKey"].is_string());
    assert!(users["_links"]["next"].is_string());
    let members = get_json(&sim, "/rest/api/group/engineering/member?limit=200", 200).await;
    assert!(members["size"].as_u64().expect("size") > 0);
    let groups = get_json(&sim, "/rest/api/group", 200).await;
    assert!(groups["results"].as_array().expect("groups").iter().all(|g| g.get("id").is_none()));
}

#[tokio::test]
async fn a_plain_walk_pages_through_the_whole_site() {
    let sim = start(Flavour::Server, |_| {}).await;
    let (spaces, _) = walk(&sim, "/rest/api/space", 25).await;
    let catalog = sim.catalog();
    assert_eq!(spaces.len(), catalog.spaces.len());
    let mut documents = spaces.len();
    for space in &spaces {
        let key = space["key"].as_str().expect("key");
        for kind in ["page", "blogpost", "attachment"] {
            let cql = enc(&format!("space in ('{key}') AND type={kind}"));
            let (found, _) = walk(
                &sim,
                &format!("/rest/api/content/search?cql={cql}&expand=body.storage,history.lastUpdated"),
                50,
            )
            .await;
            documents += found.len();
        }
    }
    assert_eq!(documents, catalog.documents());
}

#[tokio::test]
async fn content_listing_shows_the_trash_on_request() {
    let sim = start(Flavour::DataCenter, |_| {}).await;
    let trashed = get_json(&sim, "/rest/api/content?spaceKey=ENG&type=page&status=trashed", 200).await;
    assert_eq!(trashed["size"], 2);
    assert!(trashed["results"].as_array().expect("results").iter().all(|r| r["status"] == "trashed"));
    let blogs = get_json(&sim, "/rest/api/content?spaceKey=ENG&type=blogpost&limit=100", 200).await;
    assert_eq!(blogs["size"], 25);
    get_json(&sim, "/rest/api/content?spaceKey=NOPE", 404).await;
    let space_pages = get_json(&sim, "/rest/api/space/ENG/content/page?limit=5", 200).await;
    assert_eq!(space_pages["size"], 5);
    assert!(space_pages["_links"]["next"]
        .as_str()
        .expect("next")
        .starts_with("/rest/api/space/ENG/content/page?next=true"));
}

#[tokio::test]
async fn site_search_finds_spaces_and_hides_archived_ones_unless_asked() {
    let sim = start(Flavour::DataCenter, |_| {}).await;
    let spaces =
        get_json(&sim, &format!("/rest/api/search?cql={}&limit=100", enc("type = space")), 200).await;
    let current = sim
        .catalog()
        .spaces
        .iter()
        .filter(|s| s.status == crate::confluence::model::SpaceStatus::Current)
        .count();
    assert_eq!(spaces["size"].as_u64(), Some(current as u64));
    assert_eq!(spaces["results"][0]["entityType"], "space");
    assert!(spaces["results"][0]["space"]["key"].is_string());
    let with_archived = get_json(
        &sim,
        &format!("/rest/api/search?cql={}&limit=100&includeArchivedSpaces=true", enc("type = space")),
        200,
    )
    .await;
    assert_eq!(with_archived["size"].as_u64(), Some(current as u64 + 1));
    let archived_pages =
        get_json(&sim, &format!("/rest/api/search?cql={}", enc("space = ARCHIVE and type = page")), 200)
            .await;
    assert_eq!(archived_pages["size"], 0);
    let lower_case_key = get_json(
        &sim,
        &format!("/rest/api/content/search?cql={}", enc("space = archive and type = page")),
        200,
    )
    .await;
    assert_eq!(
        lower_case_key["size"], 4,
        "space keys match case-insensitively; content search keeps archived spaces"
    );
}

#[tokio::test]
async fn attachments_are_real_files_and_one_is_over_10_mb() {
    let sim = start(Flavour::Server, |_| {}).await;
    let catalog = sim.catalog();
    let large = catalog
        .content
        .iter()
        .find(|c| c.title == crate::confluence::generate::LARGE_ATTACHMENT_NAME)
        .expect("large");
    let container = large.parent.clone().expect("container");
    let listed = get_json(
        &sim,
        &format!("/rest/api/content/{container}/child/attachment?filename={}", enc(&large.title)),
        200,
    )
    .await;
    let size = listed["results"][0]["extensions"]["fileSize"].as_u64().expect("size");
    assert!(size > 10 * 1024 * 1024, "{size}");
    let bytes = get(&sim, listed["results"][0]["_links"]["download"].as_str().expect("link"))
        .await
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(bytes.len() as u64, size);
    for (extension, magic) in [("pdf", &b"%PDF"[..]), ("docx", &b"PK"[..]), ("png", &b"\x89PNG"[..])] {
        let entry = catalog
            .indexed(ContentKind::Attachment)
            .find(|c| c.title.ends_with(extension))
            .expect("attachment of the kind");
        let link = format!(
            "/download/attachments/{}/{}",
            entry.parent.clone().expect("container"),
            crate::confluence::fields::encode_path(&entry.title)
        );
        let file = get(&sim, &link).await;
        assert_eq!(file.status().as_u16(), 200);
        let content_type = file.headers()["content-type"].to_str().expect("type").to_string();
        let bytes = file.bytes().await.expect("bytes");
        assert!(bytes.starts_with(magic), "{extension} starts with its magic number");
        assert!(
            content_type.contains(extension)
                || content_type.contains("officedocument")
                || content_type.starts_with("image/"),
            "{content_type}"
        );
    }
}

#[tokio::test]
async fn remaining_self_hosted_routes_answer() {
    let sim = start(Flavour::DataCenter, |c| c.extender = true).await;
    let home = sim.site().read(|s| s.space_by_key("SALES").and_then(|sp| sp.homepage)).expect("home");
    let children = get_json(&sim, &format!("/rest/api/content/{home}/child/page?limit=100"), 200).await;
    assert_eq!(children["size"], 2, "a binary page tree: the home page has two children");
    let anonymous = get_json(&sim, "/rest/api/space/FIN/permissions/anonymous", 200).await;
    assert_eq!(anonymous.as_array().expect("array").len(), 1, "FIN grants anonymous read");
    assert_eq!(
        get_json(&sim, "/rest/api/space/ENG/permissions/anonymous", 200).await.as_array().map(Vec::len),
        Some(0)
    );
    let group = get_json(&sim, "/rest/extender/1.0/group/getUsers/engineering?maxResults=5", 200).await;
    let members = sim
        .site()
        .read(|s| s.groups.iter().find(|g| g.name == "engineering").map(|g| g.members.len()).expect("group"));
    assert_eq!(group["users"].as_array().expect("users").len(), members.min(5));
    assert_eq!(group["total"].as_u64(), Some(members as u64));
    let user = get_json(&sim, "/rest/api/user?username=jdoe", 200).await;
    assert_eq!(user["displayName"], "John Doe");
    get_json(&sim, "/rest/api/user?username=nobody", 404).await;
    let space = get_json(&sim, "/rest/api/space/SALES?expand=description.plain,homepage", 200).await;
    assert_eq!(space["homepage"]["id"], home.to_string());
    assert!(space["description"]["plain"]["value"].is_string());
    let by_operation = get_json(
        &sim,
        &format!("/rest/api/content/{home}/restriction/byOperation?expand=read.restrictions.user"),
        200,
    )
    .await;
    assert_eq!(by_operation["read"]["restrictions"]["user"]["size"], 0);
    let content =
        get_json(&sim, &format!("/rest/api/content/{home}?expand=space,version,history"), 200).await;
    assert_eq!(content["space"]["key"], "SALES");
    assert!(content["history"]["createdDate"].as_str().expect("date").contains('+'));
    let users_with_status = get_json(&sim, "/rest/api/user/list?limit=200&expand=status", 200).await;
    assert!(users_with_status["results"]
        .as_array()
        .expect("users")
        .iter()
        .any(|u| u["status"] == "deactivated"));
}

#[tokio::test]
async fn cloud_tenant_info_is_public() {
    let sim = super::start(Flavour::Cloud, |_| {}).await;
    let info: Value = client()
        .get(format!("{}_edge/tenant_info", sim.url()))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(info["cloudId"].is_string());
}

#[tokio::test]
async fn absurd_paging_parameters_are_answered_not_crashed_on() {
    let sim = start(Flavour::Server, |_| {}).await;
    let huge =
        get_json(&sim, &format!("/rest/api/space?start={}&limit={}", usize::MAX, usize::MAX), 200).await;
    assert_eq!(huge["size"], 0);
    get_json(&sim, "/rest/api/space?limit=lots", 400).await;
    get_json(&sim, "/rest/api/space?start=-1", 400).await;
}
