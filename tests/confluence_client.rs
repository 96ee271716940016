//! The Confluence client against the simulator: every listing of a small site, for each
//! flavour, must match the simulator's catalog exactly (no item lost, none twice), also
//! while the simulator stages the pitfalls real sites show (hidden page caps and lying next
//! links are on by default for Server/DC; 429 storms, dropped connections, truncated JSON
//! and the Cloud download redirect are injected here).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use confluence_connector::config::Secret;
use confluence_connector::confluence::{
    Auth, ClientOptions, ConfluenceClient, ContentOptions, ContentType, Flavour,
};
use futures::TryStreamExt;
use sim::confluence::{
    ConfluenceSim, ContentKind, FaultKind, FaultRule, RetryAfter, SimConfig, Size, Trigger,
};

fn sim_flavour(flavour: Flavour) -> sim::confluence::Flavour {
    match flavour {
        Flavour::Cloud => sim::confluence::Flavour::Cloud,
        Flavour::Server => sim::confluence::Flavour::Server,
        Flavour::DataCenter => sim::confluence::Flavour::DataCenter,
    }
}

async fn start(flavour: Flavour) -> (ConfluenceSim, ConfluenceClient) {
    let sim = ConfluenceSim::start(SimConfig::new(sim_flavour(flavour), Size::Small)).await.unwrap();
    let credentials = sim.credentials();
    let auth = match flavour {
        Flavour::Cloud => {
            Auth::CloudApiToken { email: credentials.email, token: Secret::new(credentials.api_token) }
        }
        Flavour::Server => {
            Auth::Basic { username: credentials.username, password: Secret::new(credentials.password) }
        }
        Flavour::DataCenter => Auth::PersonalAccessToken(Secret::new(credentials.pat)),
    };
    let mut options = ClientOptions::new(flavour, sim.url(), auth);
    options.backoff_base = Duration::from_millis(10);
    options.backoff_max = Duration::from_millis(50);
    options.retry_count = 5;
    let client = ConfluenceClient::new(options).await.unwrap();
    (sim, client)
}

/// Lists everything and checks it against the catalog; returns the number of items seen.
async fn assert_listings_match_catalog(sim: &ConfluenceSim, client: &ConfluenceClient) -> usize {
    let catalog = sim.catalog();
    let spaces: Vec<_> = client.spaces(&[]).try_collect().await.unwrap();
    let keys: BTreeSet<String> = spaces.iter().map(|s| s.key.clone()).collect();
    let expected_keys: BTreeSet<String> = catalog.spaces.iter().map(|s| s.key.clone()).collect();
    assert_eq!(keys, expected_keys);
    assert_eq!(keys.len(), spaces.len(), "no space twice");
    let chosen: Vec<String> = expected_keys.iter().take(2).cloned().collect();
    let filtered: Vec<_> = client.spaces(&chosen).try_collect().await.unwrap();
    let filtered_keys: Vec<String> = filtered.iter().map(|s| s.key.clone()).collect();
    assert_eq!(filtered_keys.len(), 2);
    assert!(filtered_keys.iter().all(|k| chosen.contains(k)), "{filtered_keys:?} for {chosen:?}");

    let mut attachments_expected: HashMap<String, BTreeSet<String>> = HashMap::new();
    for entry in catalog.indexed(ContentKind::Attachment) {
        attachments_expected
            .entry(entry.parent.clone().unwrap_or_default())
            .or_default()
            .insert(entry.id.clone());
    }
    let mut seen = spaces.len();
    let options = ContentOptions { body: true, labels: true, ..ContentOptions::default() };
    for space in &spaces {
        for (content_type, kind) in
            [(ContentType::Page, ContentKind::Page), (ContentType::BlogPost, ContentKind::BlogPost)]
        {
            let contents: Vec<_> = client.contents(space, content_type, options).try_collect().await.unwrap();
            let ids: Vec<String> = contents.iter().map(|c| c.id.clone()).collect();
            let unique: BTreeSet<String> = ids.iter().cloned().collect();
            assert_eq!(unique.len(), ids.len(), "no {kind:?} twice in {}", space.key);
            let expected: BTreeSet<String> =
                catalog.indexed(kind).filter(|e| e.space_key == space.key).map(|e| e.id.clone()).collect();
            assert_eq!(unique, expected, "{kind:?} of space {}", space.key);
            for content in &contents {
                assert!(content.body_storage.is_some(), "body of {}", content.id);
                let entry = catalog.get(&content.id).unwrap();
                assert_eq!(content.title, entry.title);
                assert_eq!(content.version, Some(u64::from(entry.version)));
                let attachments: Vec<_> =
                    client.attachments(&content.id, content_type).try_collect().await.unwrap();
                let ids: BTreeSet<String> = attachments.iter().map(|a| a.id.clone()).collect();
                assert_eq!(ids.len(), attachments.len());
                assert_eq!(
                    ids,
                    attachments_expected.remove(&content.id).unwrap_or_default(),
                    "attachments of {}",
                    content.id
                );
                seen += 1 + attachments.len();
            }
        }
    }
    assert_eq!(seen, catalog.documents(), "every document of the catalog was listed");
    seen
}

#[tokio::test]
async fn cloud_listings_match_the_catalog() {
    let (sim, client) = start(Flavour::Cloud).await;
    assert_listings_match_catalog(&sim, &client).await;
}

#[tokio::test]
async fn server_listings_match_the_catalog_despite_hidden_caps() {
    let (sim, client) = start(Flavour::Server).await;
    assert_listings_match_catalog(&sim, &client).await;
}

#[tokio::test]
async fn data_center_listings_match_the_catalog() {
    let (sim, client) = start(Flavour::DataCenter).await;
    let info = client.server_info().await.unwrap();
    assert_eq!(info.visible_spaces as usize, sim.catalog().spaces.len());
    assert_listings_match_catalog(&sim, &client).await;
}

#[tokio::test]
async fn listings_survive_rate_limits_dropped_connections_and_truncated_json() {
    let (sim, client) = start(Flavour::DataCenter).await;
    let faults = sim.faults();
    let search = "/rest/api/content/search";
    faults.add(FaultRule::on(
        search,
        Trigger::Nth(2),
        FaultKind::TooManyRequests { retry_after: RetryAfter::Seconds(1) },
    ));
    faults.add(FaultRule::on(
        search,
        Trigger::Nth(4),
        FaultKind::TooManyRequests { retry_after: RetryAfter::HttpDate(Duration::from_secs(1)) },
    ));
    faults.add(FaultRule::on(search, Trigger::Nth(6), FaultKind::RateLimitForbidden));
    faults.add(FaultRule::on(search, Trigger::Nth(8), FaultKind::DropMidBody));
    faults.add(FaultRule::on(search, Trigger::Nth(10), FaultKind::TruncatedJson));
    faults.add(FaultRule::on("/rest/api/space", Trigger::FirstN(1), FaultKind::Status(502)));
    faults.add(FaultRule::on(
        "/rest/api/content/{id}/child/attachment",
        Trigger::Nth(3),
        FaultKind::Unavailable { retry_after: RetryAfter::Absent },
    ));
    assert_listings_match_catalog(&sim, &client).await;
    let stats = client.stats();
    assert!(stats.retries >= 7, "{stats}");
    assert!(stats.by_route.get(&("GET /rest/api/content/search", 429)).copied().unwrap_or(0) >= 2, "{stats}");
}

#[tokio::test]
async fn a_persistent_failure_ends_the_listing_with_an_error() {
    let (sim, client) = start(Flavour::Server).await;
    sim.faults().add(FaultRule::on("/rest/api/content/search", Trigger::Always, FaultKind::Status(500)));
    let space = client.spaces(&[]).try_collect::<Vec<_>>().await.unwrap().remove(0);
    let error = client
        .contents(&space, ContentType::Page, ContentOptions::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(500));
    assert!(error.to_string().contains("gave up after 6 attempts"), "{error}");
}

#[tokio::test]
async fn cloud_downloads_follow_the_media_redirect_without_credentials() {
    let (sim, client) = start(Flavour::Cloud).await;
    let catalog = sim.catalog();
    let attachment_entry = catalog.indexed(ContentKind::Attachment).next().unwrap();
    let parent = catalog.get(attachment_entry.parent.as_deref().unwrap()).unwrap();
    let content_type =
        if parent.kind == ContentKind::Page { ContentType::Page } else { ContentType::BlogPost };
    let attachments: Vec<_> = client.attachments(&parent.id, content_type).try_collect().await.unwrap();
    let attachment = attachments.iter().find(|a| a.id == attachment_entry.id).unwrap();
    // The simulator's media host answers 400 to any request carrying Authorization.
    let download = client.download(&attachment.download, 64 * 1024 * 1024).await.unwrap();
    assert!(!download.bytes.is_empty());
    if let Some(size) = attachment.file_size {
        assert_eq!(download.bytes.len() as u64, size);
    }
    let too_small = client.download(&attachment.download, 1).await;
    assert!(
        matches!(too_small, Err(confluence_connector::confluence::ConfluenceError::TooLarge { .. }))
            || download.bytes.len() <= 1
    );
}

#[tokio::test]
async fn server_downloads_use_the_download_link() {
    let (sim, client) = start(Flavour::Server).await;
    let catalog = sim.catalog();
    let attachment_entry = catalog.indexed(ContentKind::Attachment).next().unwrap();
    let parent = catalog.get(attachment_entry.parent.as_deref().unwrap()).unwrap();
    let content_type =
        if parent.kind == ContentKind::Page { ContentType::Page } else { ContentType::BlogPost };
    let attachments: Vec<_> = client.attachments(&parent.id, content_type).try_collect().await.unwrap();
    let attachment = attachments.iter().find(|a| a.id == attachment_entry.id).unwrap();
    let download = client.download(&attachment.download, 64 * 1024 * 1024).await.unwrap();
    assert!(!download.bytes.is_empty());
}

/// Fails with the ids missing and the ids not expected (sets of hundreds are unreadable).
fn assert_same_ids(found: &BTreeSet<String>, expected: &BTreeSet<String>, what: &str) {
    let missing: Vec<_> = expected.difference(found).collect();
    let extra: Vec<_> = found.difference(expected).collect();
    assert!(missing.is_empty() && extra.is_empty(), "{what}: missing {missing:?}, unexpected {extra:?}");
}

/// CQL search across spaces asks for pages larger than the simulator's hidden caps (50 with a
/// body on Server/DC), whose next links step by the requested size: paging by count must
/// still see every page exactly once. `rest/api/search` (whose Server next link is broken)
/// too; it leaves out archived spaces unless asked, as Confluence does.
async fn assert_search_matches_catalog(flavour: Flavour) {
    let (sim, client) = start(flavour).await;
    let catalog = sim.catalog();
    let archived: BTreeSet<String> = catalog
        .spaces
        .iter()
        .filter(|s| matches!(s.status, sim::confluence::model::SpaceStatus::Archived))
        .map(|s| s.key.clone())
        .collect();
    let searchable = |e: &&sim::confluence::CatalogEntry| !archived.contains(&e.space_key);
    let expected: BTreeSet<String> = catalog.indexed(ContentKind::Page).map(|e| e.id.clone()).collect();
    assert!(expected.len() > 200, "the query spans several capped pages");
    let options = ContentOptions { body: true, page_size: Some(100), ..ContentOptions::default() };
    let found: Vec<_> = client.search_content("type=page", options).try_collect().await.unwrap();
    let ids: BTreeSet<String> = found.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids.len(), found.len(), "no page twice");
    if flavour != Flavour::Cloud {
        // 100 asked, 50 served: more pages than an uncapped walk would need.
        let requests = sim.requests().count("/rest/api/content/search") as usize;
        assert!(requests > expected.len() / 50, "{requests} requests: the cap was not in play");
    }
    assert_same_ids(&ids, &expected, "pages of content/search");
    let expected_posts: BTreeSet<String> =
        catalog.indexed(ContentKind::BlogPost).filter(searchable).map(|e| e.id.clone()).collect();
    let hits: Vec<_> = client.search("type=blogpost", &["content.space"], 100).try_collect().await.unwrap();
    let ids: BTreeSet<String> =
        hits.iter().filter_map(|h| h.content.as_ref().map(|c| c.id.clone())).collect();
    assert_eq!(ids.len(), hits.len(), "no hit twice");
    assert_same_ids(&ids, &expected_posts, "blog posts of rest/api/search");
}

#[tokio::test]
async fn server_search_pages_by_count_past_hidden_caps_and_broken_next_links() {
    assert_search_matches_catalog(Flavour::Server).await;
}

#[tokio::test]
async fn cloud_search_follows_cursors() {
    assert_search_matches_catalog(Flavour::Cloud).await;
}

/// A restriction layer as comparable text: sorted user and group names.
fn layer_of(users: Vec<String>, groups: Vec<String>) -> (BTreeSet<String>, BTreeSet<String>) {
    (users.into_iter().collect(), groups.into_iter().collect())
}

/// Each page's own read restrictions (content search expansion) plus its ancestors' (the
/// `byOperation/read` call), root first and skipping unrestricted ones, must be exactly the
/// simulator's read layers: what DLS is built from.
async fn assert_restrictions_match_catalog(flavour: Flavour) {
    let (sim, client) = start(flavour).await;
    let catalog = sim.catalog();
    let user_name = |u: &confluence_connector::confluence::UserRef| match flavour {
        Flavour::Cloud => u.account_id.clone().unwrap_or_default(),
        _ => u.username.clone().unwrap_or_default(),
    };
    let options = ContentOptions { restrictions: true, ..ContentOptions::default() };
    let pages: Vec<_> = client.search_content("type=page", options).try_collect().await.unwrap();
    let mut own = HashMap::new();
    for page in &pages {
        let restrictions = page.read_restrictions.clone().expect("restrictions were expanded");
        assert!(restrictions.complete);
        own.insert(page.id.clone(), restrictions);
    }
    let mut restricted_pages = 0;
    for page in &pages {
        let mut layers = Vec::new();
        for ancestor in page.ancestors.iter().flatten().map(|a| a.id.clone()).chain([page.id.clone()]) {
            let restrictions = match own.get(&ancestor) {
                Some(known) => known.clone(),
                None => match client.read_restrictions(&ancestor).await {
                    Ok(restrictions) => restrictions,
                    // A trashed or purged ancestor restricts nothing any more.
                    Err(error) if error.is_not_found() => continue,
                    Err(error) => panic!("{error}"),
                },
            };
            if !restrictions.is_open() {
                layers.push(layer_of(
                    restrictions.users.iter().map(user_name).collect(),
                    restrictions.groups.iter().map(|g| g.name.clone().unwrap_or_default()).collect(),
                ));
            }
        }
        let expected: Vec<_> = catalog
            .get(&page.id)
            .unwrap()
            .read_layers
            .iter()
            .map(|layer| {
                layer_of(
                    layer
                        .users
                        .iter()
                        .map(|u| {
                            if flavour == Flavour::Cloud {
                                u.account_id.clone()
                            } else {
                                u.username.clone()
                            }
                        })
                        .collect(),
                    layer.groups.iter().map(|g| g.name.clone()).collect(),
                )
            })
            .collect();
        assert_eq!(layers, expected, "read layers of page {}", page.id);
        restricted_pages += usize::from(!layers.is_empty());
    }
    assert!(restricted_pages > 0, "the site has restricted pages to check");
}

#[tokio::test]
async fn data_center_read_restrictions_match_the_catalog() {
    assert_restrictions_match_catalog(Flavour::DataCenter).await;
}

#[tokio::test]
async fn cloud_read_restrictions_match_the_catalog() {
    assert_restrictions_match_catalog(Flavour::Cloud).await;
}
