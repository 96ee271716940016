//! Cloud over HTTP: v2 cursor listings, v1 CQL with cursors, users and groups, and the
//! attachment download that redirects to the media host.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{client, enc, get, get_json, start};
use crate::confluence::{ConfluenceSim, ContentKind, Flavour};

/// Follows v2 `_links.next` (root-relative, resolved against the origin) to the end.
async fn walk_v2(sim: &ConfluenceSim, first: &str) -> Vec<Value> {
    let origin = sim.url().trim_end_matches('/').to_string();
    let mut results = Vec::new();
    let mut url = format!("{}{first}", sim.base_url());
    for _ in 0..1000 {
        let credentials = sim.credentials();
        let response = client()
            .get(&url)
            .basic_auth(&credentials.email, Some(&credentials.api_token))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), 200, "{url}");
        let link_header = response.headers().get("link").map(|v| v.to_str().expect("ascii").to_string());
        let body: Value = response.json().await.expect("json");
        results.extend(body["results"].as_array().expect("results").iter().cloned());
        match body["_links"]["next"].as_str() {
            Some(next) => {
                assert!(next.starts_with("/wiki/api/v2/"), "{next}");
                assert!(link_header.expect("Link header").contains(&format!("<{next}>; rel=\"next\"")));
                url = format!("{origin}{next}");
            }
            None => {
                assert!(link_header.is_none());
                return results;
            }
        }
    }
    panic!("v2 walk does not end");
}

#[tokio::test]
async fn v2_lists_spaces_pages_and_attachments_with_cursors() {
    let sim = start(Flavour::Cloud, |_| {}).await;
    assert!(sim.url().ends_with('/') && sim.base_url().ends_with("/wiki"));
    let catalog = sim.catalog();
    let spaces = walk_v2(&sim, "/api/v2/spaces?limit=5").await;
    assert_eq!(spaces.len(), catalog.spaces.len());
    let eng = get_json(&sim, "/api/v2/spaces?keys=ENG", 200).await;
    let eng_id = eng["results"][0]["id"].as_str().expect("id").to_string();
    assert_eq!(eng["results"].as_array().expect("results").len(), 1);

    let pages = walk_v2(&sim, &format!("/api/v2/spaces/{eng_id}/pages?limit=7&body-format=storage")).await;
    let ids: BTreeSet<String> = pages.iter().map(|p| p["id"].as_str().expect("id").to_string()).collect();
    let expected: BTreeSet<String> =
        catalog.indexed(ContentKind::Page).filter(|c| c.space_key == "ENG").map(|c| c.id.clone()).collect();
    assert_eq!(ids, expected);
    assert!(pages[1]["body"]["storage"]["value"].as_str().expect("body").contains("<p>"));
    assert!(pages[0]["createdAt"].as_str().expect("time").ends_with('Z'));

    // `id=` picks pages and blog posts by id, on both listings.
    for kind in [ContentKind::Page, ContentKind::BlogPost] {
        let two: Vec<String> = catalog.indexed(kind).take(2).map(|c| c.id.clone()).collect();
        let path = if kind == ContentKind::Page { "pages" } else { "blogposts" };
        let found = get_json(&sim, &format!("/api/v2/{path}?id={}", two.join(",")), 200).await;
        let found: Vec<&str> = found["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|c| c["id"].as_str().expect("id"))
            .collect();
        assert_eq!(found, two, "{path}");
    }

    let trashed = get_json(&sim, &format!("/api/v2/pages?status=trashed&space-id={eng_id}"), 200).await;
    assert_eq!(trashed["results"].as_array().expect("results").len(), 2);
    let attachments = get_json(&sim, "/api/v2/attachments", 200).await;
    assert_eq!(attachments["results"].as_array().expect("results").len(), 50, "attachments default to 50");
    get_json(&sim, "/api/v2/spaces?limit=251", 400).await;
    get_json(&sim, "/api/v2/spaces?cursor=garbage", 400).await;
    get_json(&sim, "/api/v2/pages/1/attachments", 404).await;
}

#[tokio::test]
async fn v1_content_search_pages_with_cursors() {
    let sim = start(Flavour::Cloud, |_| {}).await;
    let cql = enc("space in ('MKT') AND type=blogpost");
    let mut path = format!("/rest/api/content/search?cql={cql}&limit=10&expand=history.lastUpdated,space");
    let mut seen = Vec::new();
    loop {
        let body = get_json(&sim, &path, 200).await;
        for result in body["results"].as_array().expect("results") {
            assert!(result["history"]["createdBy"]["accountId"].is_string());
            assert!(result["history"]["createdBy"].get("username").is_none());
            assert!(result["history"]["lastUpdated"]["when"].as_str().expect("when").ends_with('Z'));
            seen.push(result["id"].as_str().expect("id").to_string());
        }
        match body["_links"]["next"].as_str() {
            Some(next) => {
                assert!(next.starts_with("/rest/api/content/search?next=true&cursor="), "{next}");
                path = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    get_json(&sim, &format!("/rest/api/content/search?cql={cql}&cursor=nonsense"), 400).await;
}

#[tokio::test]
async fn attachment_download_redirects_to_a_media_host_that_refuses_forwarded_credentials() {
    let sim = start(Flavour::Cloud, |_| {}).await;
    let catalog = sim.catalog();
    let attachment = catalog.indexed(ContentKind::Attachment).next().expect("attachment");
    let container = attachment.parent.clone().expect("container");
    let response =
        get(&sim, &format!("/rest/api/content/{container}/child/attachment/{}/download", attachment.id))
            .await;
    assert_eq!(response.status().as_u16(), 302);
    let location = response.headers()["location"].to_str().expect("location").to_string();
    assert!(location.starts_with(&sim.media_url()), "{location}");
    // Real Cloud finds the attachment by its id as listed; the bare number is not found.
    let bare = attachment.id.strip_prefix("att").expect("a Cloud attachment id starts with att");
    let stripped =
        get(&sim, &format!("/rest/api/content/{container}/child/attachment/{bare}/download")).await;
    assert_eq!(stripped.status().as_u16(), 404);
    let credentials = sim.credentials();
    let forwarded = client()
        .get(&location)
        .basic_auth(&credentials.email, Some(&credentials.api_token))
        .send()
        .await
        .expect("send");
    assert_eq!(forwarded.status().as_u16(), 401);
    let clean = client().get(&location).send().await.expect("send");
    assert_eq!(clean.status().as_u16(), 200);
    let bytes = clean.bytes().await.expect("bytes");
    let listed =
        get_json(&sim, &format!("/api/v2/attachments?filename={}", enc(&attachment.title)), 200).await;
    assert_eq!(listed["results"][0]["fileSize"].as_u64(), Some(bytes.len() as u64));
    let download_link = listed["results"][0]["downloadLink"].as_str().expect("download link");
    assert_eq!(get(&sim, download_link).await.status().as_u16(), 401, "legacy path refuses API tokens");
}

#[tokio::test]
async fn users_groups_and_memberships() {
    let sim = start(Flavour::Cloud, |_| {}).await;
    let users =
        get_json(&sim, &format!("/rest/api/search/user?cql={}&limit=10", enc("type=user")), 200).await;
    assert_eq!(users["size"], 10);
    let user = &users["results"][0]["user"];
    assert!(user["accountId"].is_string() && user["accountType"].is_string());
    assert!(users["_links"]["next"].as_str().expect("next").contains("start=10"));
    get_json(&sim, &format!("/rest/api/search/user?cql={}&start=10000", enc("type=user")), 400).await;
    let app_accounts =
        get_json(&sim, &format!("/rest/api/search/user?cql={}&limit=1000", enc("type=user")), 200).await;
    assert!(app_accounts["results"]
        .as_array()
        .expect("users")
        .iter()
        .any(|u| u["user"]["accountType"] == "app"));

    let groups = get_json(&sim, "/rest/api/group?limit=200", 200).await;
    let engineering = groups["results"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == "engineering")
        .expect("group")
        .clone();
    let group_id = engineering["id"].as_str().expect("id");
    let members = get_json(
        &sim,
        &format!("/rest/api/group/{group_id}/membersByGroupId?shouldReturnTotalSize=true"),
        200,
    )
    .await;
    let member = members["results"][0]["accountId"].as_str().expect("member").to_string();
    assert!(members["totalSize"].as_u64().expect("total") > 0);
    let member_of = get_json(&sim, &format!("/rest/api/user/memberof?accountId={member}"), 200).await;
    assert!(member_of["results"].as_array().expect("groups").iter().any(|g| g["id"] == group_id));
}

#[tokio::test]
async fn restrictions_and_labels_and_comments_on_cloud() {
    let sim = start(Flavour::Cloud, |_| {}).await;
    let restricted = sim.site().read(|site| {
        site.content
            .values()
            .find(|c| c.restriction.as_ref().is_some_and(|r| !r.groups.is_empty()))
            .map(|c| c.id)
            .expect("restricted")
    });
    let read =
        get_json(&sim, &format!("/rest/api/content/{restricted}/restriction/byOperation/read"), 200).await;
    let group = &read["restrictions"]["group"]["results"][0];
    assert_eq!(group["type"], "group");
    assert!(group["id"].is_string(), "Cloud groups carry their id");
    let labelled = sim.site().read(|site| {
        site.content
            .values()
            .find(|c| c.labels.len() == 2 && c.kind == ContentKind::Page)
            .map(|c| c.id)
            .expect("labelled")
    });
    let labels = get_json(&sim, &format!("/api/v2/pages/{labelled}/labels"), 200).await;
    assert_eq!(labels["results"].as_array().expect("labels").len(), 2);
    assert_eq!(labels["results"][0]["prefix"], "global");
    let commented = sim.site().read(|site| {
        site.content
            .values()
            .find(|c| !c.comments.is_empty() && c.kind == ContentKind::Page)
            .map(|c| (c.id, c.comments.len()))
            .expect("commented")
    });
    let comments = get_json(&sim, &format!("/api/v2/pages/{}/footer-comments", commented.0), 200).await;
    assert_eq!(comments["results"].as_array().expect("comments").len(), commented.1);
}

#[tokio::test]
async fn expanding_ancestor_restrictions_fails_the_batch_when_an_ancestor_is_trashed() {
    let sim = start(Flavour::Cloud, |_| {}).await;
    let survivor = sim
        .catalog()
        .content
        .iter()
        .find(|c| c.title == "Survivor under a trashed page")
        .map(|c| c.id.clone())
        .expect("survivor");
    let cql = enc(&format!("id = {survivor}"));
    let plain = get_json(&sim, &format!("/rest/api/content/search?cql={cql}&expand=ancestors"), 200).await;
    assert_eq!(plain["size"], 1);
    let failing = get_json(
        &sim,
        &format!("/rest/api/content/search?cql={cql}&expand=ancestors.restrictions.read.restrictions.user"),
        404,
    )
    .await;
    assert!(failing["message"].as_str().expect("message").contains("trashed"));
}

#[tokio::test]
async fn awkward_file_names_download_through_both_paths() {
    for flavour in [Flavour::Cloud, Flavour::DataCenter] {
        let sim = start(flavour, |_| {}).await;
        let catalog = sim.catalog();
        let entry =
            catalog.content.iter().find(|c| c.title.starts_with("Überblick")).expect("attachment").clone();
        let container = entry.parent.clone().expect("container");
        let listed = get_json(
            &sim,
            &format!("/rest/api/content/{container}/child/attachment?filename={}", enc(&entry.title)),
            200,
        )
        .await;
        let size = listed["results"][0]["extensions"]["fileSize"].as_u64().expect("size");
        let response = match flavour {
            Flavour::Cloud => {
                let redirect = get(
                    &sim,
                    &format!("/rest/api/content/{container}/child/attachment/{}/download", entry.id),
                )
                .await;
                let location = redirect.headers()["location"].to_str().expect("location").to_string();
                client().get(location).send().await.expect("send")
            }
            _ => get(&sim, listed["results"][0]["_links"]["download"].as_str().expect("download")).await,
        };
        assert_eq!(response.status().as_u16(), 200, "{flavour}");
        assert_eq!(response.bytes().await.expect("bytes").len() as u64, size);
    }
}
