//! Document-level security against the simulators, for every flavour: after a full sync and
//! an access-control sync, each user's stored query, run through Elasticsearch (the test
//! server, or a real cluster when `ES_URL` is set), finds exactly the documents Confluence
//! would show them — no leak, no miss — on a site with restricted spaces, page trees
//! restricted by users and groups on different levels, moved pages and changed memberships.
//! On Cloud the site also grants spaces to access classes and puts pages below folders.
//! Plus: every permission that cannot be read closes what it covers — only what it covers —
//! each ancestor's restrictions are fetched once per sync, and advanced sync rules give
//! every document the ACL the crawl gives it.

use std::collections::{BTreeSet, HashMap};

use confluence_connector::acl::NOBODY;
use confluence_connector::config::{self, Config};
use confluence_connector::sync;
use confluence_connector::sync::SyncKind;
use confluence_connector::sync::SyncReport;
use confluence_connector::Shutdown;
use serde_json::{json, Value};
use sim::confluence::access::class_covers;
use sim::confluence::model::parse_api_id;
use sim::confluence::{
    Catalog, CatalogUser, ConfluenceSim, ContentKind, FaultKind, FaultRule, Flavour, Grantee, SimConfig,
    Size, Trigger,
};

use common::World as World0;
use sim::world as common;

/// The shared test world with a unique index, and a plain HTTP client for Elasticsearch.
struct World {
    inner: World0,
    index: String,
    http: reqwest::Client,
}

/// Who sees what, against what Confluence says.
#[derive(Debug, Default)]
struct Matrix {
    users: usize,
    documents: usize,
    /// (user, document) pairs Confluence allows.
    readable: usize,
    /// Visible to a user Confluence would not show it to.
    leaks: Vec<String>,
    /// Hidden from a user Confluence would show it to.
    misses: Vec<String>,
}

impl std::fmt::Display for Matrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} users × {} documents = {} pairs, {} readable; {} leaks, {} misses",
            self.users,
            self.documents,
            self.users * self.documents,
            self.readable,
            self.leaks.len(),
            self.misses.len()
        )
    }
}

impl World {
    async fn start(config: SimConfig, name: &str) -> World {
        let inner = World0::start(config).await.unwrap();
        let index = format!("dls-{name}-{}", std::process::id());
        World { inner, index, http: reqwest::Client::new() }
    }

    async fn small(flavour: Flavour, name: &str) -> World {
        World::start(SimConfig::new(flavour, Size::Small), name).await
    }

    /// A site with 8 pages per space (two of them restricted, one below the other), no blog
    /// posts but the edge cases' (the restricted deep chain, trashed content, a personal and
    /// an archived space): for the tests of one failure, which need every kind of ACL but
    /// not the volume of the permission matrix.
    async fn tiny(flavour: Flavour, name: &str) -> World {
        World::start(tiny_config(flavour), name).await
    }

    fn confluence(&self) -> &ConfluenceSim {
        &self.inner.confluence
    }

    fn flavour(&self) -> Flavour {
        self.confluence().config().flavour
    }

    /// DLS on, comments indexed, one retry (faults are meant to stick).
    fn config(&self) -> Config {
        self.config_from(self.yaml())
    }

    fn yaml(&self) -> String {
        self.yaml_with(&["retry_count: 1"])
    }

    /// [`World::yaml`] with other lines (`retry_count: 0`, sync rules, …).
    fn yaml_with(&self, extra: &[&str]) -> String {
        self.yaml_into(&self.index, extra)
    }

    /// [`World::yaml_with`] writing into another index.
    fn yaml_into(&self, index: &str, extra: &[&str]) -> String {
        let mut lines = vec!["use_document_level_security: true", "index_comments: true"];
        lines.extend_from_slice(extra);
        self.inner.config_yaml(index, &lines)
    }

    fn config_from(&self, yaml: String) -> Config {
        config::load_str(&yaml, &HashMap::new()).unwrap().config
    }

    /// The config with a regular (not administrator) user's credentials.
    fn config_as_regular_user(&self) -> Config {
        let creds = self.confluence().credentials();
        let yaml = self
            .yaml()
            .replace(
                &format!("username: {}\n", creds.username),
                &format!("username: {}\n", creds.user_username),
            )
            .replace(
                &format!("password: {}\n", creds.password),
                &format!("password: {}\n", creds.user_password),
            );
        self.config_from(yaml)
    }

    async fn sync(&self, config: &Config, kind: SyncKind) -> SyncReport {
        let report = sync::run(config, kind, Shutdown::never()).await.unwrap();
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        report
    }

    /// A full sync and an access-control sync, both complete.
    async fn sync_both(&self, config: &Config) {
        let full = self.sync(config, SyncKind::Full).await;
        assert!(full.completed(), "{full}: {:?}", full.incomplete);
        let acl = self.sync(config, SyncKind::AccessControl).await;
        assert!(acl.completed(), "{acl}: {:?}", acl.incomplete);
    }

    fn acl_index(&self) -> String {
        format!(".search-acl-filter-{}", self.index)
    }

    /// A POST to Elasticsearch; `body` `None` sends none (Elasticsearch refuses a body, even
    /// `{}`, where an endpoint takes none, such as `_refresh`).
    async fn post(&self, path: &str, body: Option<Value>) -> Value {
        let es = &self.inner.es;
        let mut request = self.http.post(format!("{}{path}", es.url.trim_end_matches('/')));
        if let Some(body) = &body {
            request = request.json(body);
        }
        if let Some(key) = &es.api_key {
            request = request.header("Authorization", format!("ApiKey {key}"));
        } else if let (Some(u), Some(p)) = (&es.username, &es.password) {
            request = request.basic_auth(u, Some(p));
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// Every document of an index: `_id` → `_source`.
    async fn documents(&self, index: &str) -> HashMap<String, Value> {
        self.post(&format!("/{index}/_refresh"), None).await;
        let found = self
            .post(&format!("/{index}/_search"), Some(json!({"size": 10_000, "query": {"match_all": {}}})))
            .await;
        let hits = found["hits"]["hits"].as_array().cloned().unwrap_or_default();
        assert!(hits.len() < 10_000, "too many documents for one page");
        hits.into_iter().map(|h| (h["_id"].as_str().unwrap().to_string(), h["_source"].clone())).collect()
    }

    /// The identity document's `_id` for a user.
    fn identity_id(&self, user: &CatalogUser) -> String {
        match self.flavour() {
            Flavour::Cloud => user.account_id.clone(),
            Flavour::Server | Flavour::DataCenter => user.user_key.clone(),
        }
    }

    /// What `user` finds with their stored query (the template and params of their identity
    /// document, rendered by Elasticsearch); a user without an identity document searches
    /// with no identities, and so finds public documents only.
    /// Without `mustache` (a cluster lacking `lang-mustache`), the template is rendered here
    /// as Elasticsearch would (its one tag, `{{#toJson}}access_control{{/toJson}}`) and run
    /// with `_search`: the query is still judged by the cluster, its rendering is not.
    async fn visible(
        &self,
        identities: &HashMap<String, Value>,
        user: &CatalogUser,
        mustache: bool,
    ) -> BTreeSet<String> {
        let (source, params) = match identities.get(&self.identity_id(user)) {
            Some(doc) => (
                doc["query"]["template"]["source"].as_str().unwrap().to_string(),
                doc["query"]["template"]["params"].clone(),
            ),
            None => (confluence_connector::acl::DLS_QUERY.to_string(), json!({"access_control": []})),
        };
        let wrapped =
            format!(r#"{{"query": {{"bool": {{"filter": [{source}]}}}}, "size": 10000, "_source": false}}"#);
        let found = if mustache {
            self.post(
                &format!("/{}/_search/template", self.index),
                Some(json!({"source": wrapped, "params": params})),
            )
            .await
        } else {
            let tag = "{{#toJson}}access_control{{/toJson}}";
            let rendered = wrapped.replace(tag, &params["access_control"].to_string());
            assert!(!rendered.contains("{{"), "a template tag this test cannot render: {rendered}");
            let body: Value = serde_json::from_str(&rendered).unwrap();
            self.post(&format!("/{}/_search", self.index), Some(body)).await
        };
        found["hits"]["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["_id"].as_str().unwrap().to_string())
            .collect()
    }

    /// The permission matrix of every active user against every indexed document.
    async fn matrix(&self) -> Matrix {
        let catalog = self.confluence().catalog();
        let documents = self.documents(&self.index).await;
        let identities = self.documents(&self.acl_index()).await;
        let mut readers: HashMap<String, BTreeSet<String>> = HashMap::new();
        for (id, source) in &documents {
            let allowed: Vec<&CatalogUser> = if source["type"] == "Space" {
                space_viewers(&catalog, id)
            } else {
                assert!(catalog.get(id).is_some(), "document {id} is not in the site");
                catalog.readers(id)
            };
            for user in allowed {
                readers.entry(user.username.clone()).or_default().insert(id.clone());
            }
        }
        // Asked (and said) once per run of this file, not once per test.
        static MUSTACHE: tokio::sync::OnceCell<bool> = tokio::sync::OnceCell::const_new();
        let es = &self.inner.es;
        let mustache = *MUSTACHE
            .get_or_init(|| async {
                let what =
                    "dls: Elasticsearch's rendering of the stored queries (rendered by the test instead)";
                !es.skips_without(what, &["lang-mustache"], "_search/template").await
            })
            .await;
        let mut matrix = Matrix { documents: documents.len(), ..Matrix::default() };
        for user in catalog.users.iter().filter(|u| u.active) {
            matrix.users += 1;
            let expected = readers.remove(&user.username).unwrap_or_default();
            let visible = self.visible(&identities, user, mustache).await;
            matrix.readable += expected.len();
            matrix.leaks.extend(visible.difference(&expected).map(|d| format!("{} sees {d}", user.username)));
            matrix
                .misses
                .extend(expected.difference(&visible).map(|d| format!("{} misses {d}", user.username)));
        }
        matrix
    }

    /// The page titled `title`.
    fn page(&self, title: &str) -> u64 {
        let catalog = self.confluence().catalog();
        let entry =
            catalog.content.iter().find(|c| c.title == title).unwrap_or_else(|| panic!("no page {title}"));
        parse_api_id(&entry.id).unwrap()
    }

    /// The first page of `space_key` restricted on its own and under no restriction.
    fn restricted_subtree(&self, space_key: &str) -> u64 {
        self.confluence().site().read(|site| {
            let space = site.space_by_key(space_key).unwrap();
            space
                .pages
                .iter()
                .filter_map(|id| site.get(*id))
                .find(|c| {
                    c.restriction.is_some()
                        && !c.children.is_empty()
                        && site
                            .ancestors(c.id)
                            .iter()
                            .all(|a| site.get(*a).is_some_and(|a| a.restriction.is_none()))
                })
                .map(|c| c.id)
                .unwrap()
        })
    }
}

fn tiny_config(flavour: Flavour) -> SimConfig {
    let mut config = SimConfig::new(flavour, Size::Small);
    config.pages = Some(80);
    config
}

/// The active users who may view the space with this id.
fn space_viewers<'c>(catalog: &'c Catalog, id: &str) -> Vec<&'c CatalogUser> {
    let space = catalog.spaces.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("no space {id}"));
    catalog
        .users
        .iter()
        .filter(|u| u.active)
        .filter(|u| {
            space.viewers.anonymous
                || space.viewers.users.iter().any(|v| v.username == u.username)
                || space.viewers.groups.iter().any(|g| u.groups.contains(&g.name))
                || space.viewers.classes.iter().any(|c| class_covers(c, u.account_type, u.site_admin))
        })
        .collect()
}

fn assert_exact(flavour: Flavour, round: &str, matrix: &Matrix) {
    println!("permission matrix, {flavour} {round}: {matrix}");
    assert!(
        matrix.leaks.is_empty(),
        "{flavour} {round}: leaks {:?}",
        &matrix.leaks[..matrix.leaks.len().min(20)]
    );
    assert!(
        matrix.misses.is_empty(),
        "{flavour} {round}: misses {:?}",
        &matrix.misses[..matrix.misses.len().min(20)]
    );
    assert!(matrix.readable > 0 && matrix.readable < matrix.users * matrix.documents, "{matrix}");
}

fn username(catalog: &Catalog, index: usize) -> String {
    catalog.users[index].username.clone()
}

/// The permission matrix, before and after pages move and memberships change.
async fn every_user_sees_exactly_what_confluence_shows(flavour: Flavour) {
    let world = World::small(flavour, "matrix").await;
    let site = world.confluence().site();
    let catalog = world.confluence().catalog();
    // The engineering group (users 8, 16, 24, 32) restricts level 3 of ENG's deep chain, and
    // two users restrict level 7: one in the group, one not. Elastic's intersection of names
    // (`group:engineering` ∩ `user:…`) would hide levels 7–10 from everyone.
    let (insider, outsider) = (username(&catalog, 8), username(&catalog, 5));
    let level3 = world.page("Deep chain level 3");
    let level7 = world.page("Deep chain level 7");
    site.restrict(level3, &[], &["engineering"]).unwrap();
    site.restrict(level7, &[&insider, &outsider], &[]).unwrap();
    // A restricted subtree of Marketing (a user and the marketing group, then two users)
    // moves under level 2 of ENG's chain: another space's permissions, same restrictions.
    let subtree = world.restricted_subtree("MKT");
    site.move_page(subtree, world.page("Deep chain level 2")).unwrap();
    if flavour == Flavour::Cloud {
        cloud_classes_and_folders(&world, &insider, &outsider);
    }

    let config = world.config();
    world.sync_both(&config).await;
    let level7_doc = world.inner.get(&world.index, &level7.to_string()).await.unwrap().unwrap();
    let insider_identity = match flavour {
        Flavour::Cloud => format!("account_id:{}", catalog.users[8].account_id),
        _ => format!("user:{insider}"),
    };
    assert_eq!(level7_doc["_allow_access_control"], json!([insider_identity]), "group above, member below");
    assert_exact(flavour, "after the first syncs", &world.matrix().await);

    // Deactivated users get no identity document where Confluence says who they are.
    let identities = world.documents(&world.acl_index()).await;
    let inactive: Vec<&CatalogUser> = catalog.users.iter().filter(|u| !u.active).collect();
    assert!(!inactive.is_empty());
    if flavour == Flavour::DataCenter {
        assert!(inactive.iter().all(|u| !identities.contains_key(&world.identity_id(u))));
    }

    // Level 8 leaves the restricted chain for ENG's home page; the outsider joins
    // engineering; the moved subtree's top is restricted to legal instead.
    let home = world.page("Engineering Home");
    site.move_page(world.page("Deep chain level 8"), home).unwrap();
    site.set_membership("engineering", &outsider, true).unwrap();
    site.restrict(subtree, &[], &["legal"]).unwrap();
    let again = world.sync(&config, SyncKind::Full).await;
    assert!(again.updated > 0, "{again}");
    let acl = world.sync(&config, SyncKind::AccessControl).await;
    assert_eq!(acl.updated, 1, "only the outsider's identity changed: {acl}");
    assert_exact(flavour, "after moves and membership changes", &world.matrix().await);
    // An incremental sync re-crawls a moved page with everything below it: the subtree
    // moves under level 4, below engineering's restriction.
    site.move_page(subtree, world.page("Deep chain level 4")).unwrap();
    let incremental = world.sync(&config, SyncKind::Incremental).await;
    assert!(incremental.completed() && incremental.updated > 1, "{incremental}");
    assert_exact(flavour, "after an incremental sync of a move", &world.matrix().await);
    // Nothing changed: nothing is written again.
    let unchanged = world.sync(&config, SyncKind::AccessControl).await;
    assert_eq!((unchanged.created, unchanged.updated, unchanged.deleted), (0, 0, 0), "{unchanged}");
    assert_eq!(unchanged.unchanged, acl.seen, "{unchanged}");
    // A user who is gone loses their identity document.
    site.remove_user(&username(&catalog, 3)).unwrap();
    let removed = world.sync(&config, SyncKind::AccessControl).await;
    assert_eq!(removed.deleted, 1, "{removed}");
}

/// Cloud's part of the matrix: spaces granted to access classes, with restricted pages
/// below (the class is then intersected with them through the user search), and pages below
/// folders, restricted and not, in a restricted folder and in an open one.
fn cloud_classes_and_folders(world: &World, insider: &str, outsider: &str) {
    let site = world.confluence().site();
    for (space, class) in [
        ("SALES", "all-licensed-users"),
        ("DES", "authenticated-users"),
        // Only site administrators, who may view every space anyway: no miss, no leak.
        ("LEGAL", "all-product-admins"),
        ("HR", "jsm-project-admins"),
    ] {
        site.grant(space, &Grantee::AccessClass(class), "read", "space").unwrap();
    }
    // A space that only a class (and the administrators) may view.
    for team in ["engineering", "marketing"] {
        site.revoke("OPS", &Grantee::Group(team.into())).unwrap();
    }
    site.grant("OPS", &Grantee::AccessClass("all-licensed-users"), "read", "space").unwrap();
    let home = world.page("Engineering Home");
    let folder = site.create_folder("ENG", home, "Team folder").unwrap();
    site.restrict(folder, &[], &["engineering"]).unwrap();
    site.create_page("ENG", Some(folder), "In the team folder", None).unwrap();
    let private = site.create_page("ENG", Some(folder), "Private in the team folder", None).unwrap();
    site.restrict(private, &[insider, outsider], &[]).unwrap();
    let nested = site.create_folder("ENG", folder, "Open folder in the team folder").unwrap();
    site.create_page("ENG", Some(nested), "Deep in the folders", None).unwrap();
    let open = site.create_folder("ENG", home, "Open folder").unwrap();
    site.create_page("ENG", Some(open), "In the open folder", None).unwrap();
}

#[tokio::test]
async fn cloud_every_user_sees_exactly_what_confluence_shows() {
    every_user_sees_exactly_what_confluence_shows(Flavour::Cloud).await;
}

#[tokio::test]
async fn data_center_every_user_sees_exactly_what_confluence_shows() {
    every_user_sees_exactly_what_confluence_shows(Flavour::DataCenter).await;
}

#[tokio::test]
async fn server_every_user_sees_exactly_what_confluence_shows() {
    every_user_sees_exactly_what_confluence_shows(Flavour::Server).await;
}

/// Runs a full and an access-control sync with `faults` armed and checks nobody sees what
/// Confluence would not show them; returns the matrix and the content documents.
async fn closed_under(
    world: &World,
    config: &Config,
    faults: &[FaultRule],
) -> (Matrix, HashMap<String, Value>) {
    for rule in faults {
        world.confluence().faults().add(rule.clone());
    }
    let full = sync::run(config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(full.completed(), "a permission that cannot be read fails closed, not the sync: {full}");
    let _ = sync::run(config, SyncKind::AccessControl, Shutdown::never()).await.unwrap();
    let matrix = world.matrix().await;
    println!("permission matrix, {} with {faults:?}: {matrix}", world.flavour());
    assert!(matrix.leaks.is_empty(), "leaks {:?}", &matrix.leaks[..matrix.leaks.len().min(20)]);
    (matrix, world.documents(&world.index).await)
}

fn closed(doc: &Value) -> bool {
    doc["_allow_access_control"] == json!([NOBODY])
}

#[tokio::test]
async fn cloud_space_permissions_that_cannot_be_read_close_the_space() {
    let world = World::tiny(Flavour::Cloud, "closed-space").await;
    let rule = FaultRule::on("/wiki/api/v2/spaces/{id}/permissions", Trigger::Always, FaultKind::Status(500));
    let (matrix, docs) = closed_under(&world, &world.config(), &[rule]).await;
    assert!(docs.values().all(closed), "every document of every space is visible to nobody");
    assert_eq!(matrix.readable, matrix.misses.len());
}

#[tokio::test]
async fn cloud_restrictions_that_cannot_be_read_close_the_pages() {
    let world = World::tiny(Flavour::Cloud, "closed-pages").await;
    let route = "/wiki/rest/api/content/{id}/restriction/byOperation/{operation}";
    // The listing of a space's restrictions fails, and so does each content's.
    let rules = [
        FaultRule::on("/wiki/rest/api/content/search", Trigger::Always, FaultKind::Status(500)),
        FaultRule::on(route, Trigger::Always, FaultKind::Status(403)),
    ];
    let (_, docs) = closed_under(&world, &world.config(), &rules).await;
    for doc in docs.values() {
        assert_eq!(closed(doc), doc["type"] != "Space", "{doc}");
    }
    assert_eq!(world.confluence().requests().count_status(route, 403) as usize, {
        let catalog = world.confluence().catalog();
        catalog.indexed(ContentKind::Page).count() + catalog.indexed(ContentKind::BlogPost).count() + 1
    });
}

#[tokio::test]
async fn data_center_ancestor_restrictions_that_cannot_be_read_close_the_pages_below() {
    let world = World::tiny(Flavour::DataCenter, "closed-ancestors").await;
    let rule = FaultRule::on(
        "/rest/api/content/{id}/restriction/byOperation/{operation}",
        Trigger::Always,
        FaultKind::Status(502),
    );
    let (_, docs) = closed_under(&world, &world.config(), &[rule]).await;
    let catalog = world.confluence().catalog();
    let mut closed_pages = 0;
    for entry in catalog.indexed(ContentKind::Page).chain(catalog.indexed(ContentKind::BlogPost)) {
        // Own restrictions came with the listing, and so did those of ancestors listed
        // before their descendants: only pages with ancestors can be closed (beyond those
        // nobody may read anyway).
        if closed(&docs[&entry.id]) && !catalog.readers(&entry.id).is_empty() {
            assert!(entry.parent.is_some(), "{}", entry.title);
            closed_pages += 1;
        }
    }
    assert!(closed_pages > 0);
}

#[tokio::test]
async fn data_center_without_an_administrator_closes_every_space_and_says_why() {
    let world = World::tiny(Flavour::DataCenter, "no-admin").await;
    let (matrix, docs) = closed_under(&world, &world.config_as_regular_user(), &[]).await;
    assert!(docs.values().filter(|d| d["type"] != "comment").all(closed));
    assert!(!matrix.misses.is_empty(), "{matrix}");
    let log = world.confluence().requests();
    // Each API was tried on one space only, then known to refuse.
    assert_eq!(log.count_status("/rest/api/space/{key}/permissions", 500), 2, "first try and its retry");
    assert_eq!(
        log.count("/rest/extender/1.0/permission/space/{key}/getSpacePermissionActors/{permission}"),
        1
    );
    assert_eq!(log.count("/rpc/json-rpc/confluenceservice-v2"), 1);
}

#[tokio::test]
async fn cloud_group_members_that_cannot_be_listed_only_narrow_access() {
    let world = World::tiny(Flavour::Cloud, "closed-members").await;
    let rule = FaultRule::on(
        "/wiki/rest/api/group/{groupId}/membersByGroupId",
        Trigger::Always,
        FaultKind::Status(500),
    );
    world.confluence().faults().add(rule);
    let config = world.config();
    let full = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
    assert!(full.completed(), "{full}");
    let acl = sync::run(&config, SyncKind::AccessControl, Shutdown::never()).await.unwrap();
    assert!(!acl.completed(), "the directory is incomplete: {acl}");
    let matrix = world.matrix().await;
    println!("permission matrix, cloud without group members: {matrix}");
    assert!(matrix.leaks.is_empty(), "leaks {:?}", &matrix.leaks[..matrix.leaks.len().min(20)]);
    assert!(!matrix.misses.is_empty());
}

#[tokio::test]
async fn cloud_ancestors_the_listing_lost_are_read_from_the_api_or_close_the_page() {
    let world = World::tiny(Flavour::Cloud, "lost-ancestors").await;
    // Its parent is in the trash: the listing ends its chain there.
    let survivor = world.page("Survivor under a trashed page");
    let rule = FaultRule::on("/wiki/api/v2/pages/{id}/ancestors", Trigger::Always, FaultKind::Status(500));
    let (_, docs) = closed_under(&world, &world.config(), &[rule]).await;
    assert!(closed(&docs[&survivor.to_string()]));
}

#[tokio::test]
async fn server_with_the_extender_plugin_uses_it() {
    let mut config = tiny_config(Flavour::Server);
    config.extender = true;
    let world = World::start(config, "extender").await;
    world.sync_both(&world.config()).await;
    assert_exact(Flavour::Server, "with Extender", &world.matrix().await);
    let log = world.confluence().requests();
    assert_eq!(
        log.count("/rest/extender/1.0/permission/space/{key}/getSpacePermissionActors/{permission}"),
        world.confluence().catalog().spaces.len() as u64
    );
    assert_eq!(log.count("/rpc/json-rpc/confluenceservice-v2"), 0);
}

/// Each content's restrictions, own or as an ancestor's, are fetched once per sync: with
/// one listing per space, or one by one when that listing fails.
#[tokio::test]
async fn cloud_restrictions_and_space_permissions_are_fetched_once_per_sync() {
    let world = World::tiny(Flavour::Cloud, "once").await;
    let config = world.config();
    let log = world.confluence().requests();
    let restrictions = "/wiki/rest/api/content/{id}/restriction/byOperation/{operation}";
    let listing = "/wiki/rest/api/content/search";
    world.sync(&config, SyncKind::Full).await;
    let catalog = world.confluence().catalog();
    assert_eq!(log.count(listing) as usize, catalog.spaces.len(), "one listing per space");
    // Only the ancestor in the trash, which no listing returns, is asked for on its own.
    assert_eq!(log.count(restrictions), 1);
    assert_eq!(log.count("/wiki/api/v2/spaces/{id}/permissions") as usize, catalog.spaces.len());
    log.reset();
    let rule =
        world.confluence().faults().add(FaultRule::on(listing, Trigger::Always, FaultKind::Status(500)));
    world.sync(&config, SyncKind::Full).await;
    world.confluence().faults().remove(rule);
    let pages: BTreeSet<u64> =
        catalog.indexed(ContentKind::Page).map(|e| parse_api_id(&e.id).unwrap()).collect();
    let blog_posts = catalog.indexed(ContentKind::BlogPost).count();
    // Every page and blog post, plus the ancestors no listing returned (in the trash).
    let lost: BTreeSet<u64> = world
        .confluence()
        .site()
        .read(|site| pages.iter().flat_map(|p| site.ancestors(*p)).filter(|a| !pages.contains(a)).collect());
    let fetched = log.count(restrictions);
    println!(
        "restriction requests without the listing: {fetched} for {} pages, {blog_posts} blog posts and {} lost \
         ancestors (the deepest page has {} ancestors)",
        pages.len(),
        lost.len(),
        world.confluence().site().read(|site| pages.iter().map(|p| site.ancestors(*p).len()).max().unwrap_or(0))
    );
    assert_eq!(fetched as usize, pages.len() + blog_posts + lost.len());
    // Caches live for one sync: the next one asks again, once.
    world.sync(&config, SyncKind::Full).await;
    assert_eq!(log.count(restrictions), fetched + 1);
}

#[tokio::test]
async fn data_center_restrictions_come_with_the_listing_and_ancestors_are_fetched_at_most_once() {
    let world = World::tiny(Flavour::DataCenter, "once-dc").await;
    let log = world.confluence().requests();
    world.sync(&world.config(), SyncKind::Full).await;
    let catalog = world.confluence().catalog();
    let ancestors: BTreeSet<u64> = world.confluence().site().read(|site| {
        catalog
            .indexed(ContentKind::Page)
            .flat_map(|e| site.ancestors(parse_api_id(&e.id).unwrap()))
            .collect()
    });
    let fetched = log.count("/rest/api/content/{id}/restriction/byOperation/{operation}");
    println!("restriction requests: {fetched} for {} distinct ancestors", ancestors.len());
    assert!(fetched as usize <= ancestors.len(), "{fetched} > {}", ancestors.len());
    assert_eq!(log.count("/rest/api/space/{key}/permissions") as usize, catalog.spaces.len());
}

/// A restriction naming more users than one answer holds: Cloud pages the restriction to its
/// end; Data Center cannot page it (CONFSERVER-82460) and closes the page.
async fn long_restriction_lists_are_read_whole_or_close_the_page(flavour: Flavour) {
    let world = World::tiny(flavour, "long-restriction").await;
    let site = world.confluence().site();
    let names: Vec<String> = (0..230).map(|i| format!("reader{i}")).collect();
    for name in &names {
        site.add_user(name, &format!("Reader {name}"));
        site.set_membership("confluence-users", name, true).unwrap();
    }
    let page = world.page("Deep chain level 4");
    let admin = world.confluence().catalog().users[0].username.clone();
    let readers: Vec<&str> = names.iter().map(String::as_str).chain([admin.as_str()]).collect();
    site.restrict(page, &readers, &[]).unwrap();
    let (matrix, docs) = closed_under(&world, &world.config(), &[]).await;
    let doc = &docs[&page.to_string()];
    match flavour {
        Flavour::Cloud => {
            assert_eq!(
                doc["_allow_access_control"].as_array().map(Vec::len),
                Some(231),
                "every reader, paged"
            );
            assert!(matrix.misses.is_empty(), "{:?}", &matrix.misses[..matrix.misses.len().min(10)]);
        }
        _ => {
            assert!(closed(doc), "{doc}");
            // Only the page and what is below it.
            let below = world.confluence().site().read(|s| {
                s.content.values().filter(|c| c.id == page || s.ancestors(c.id).contains(&page)).count()
            });
            assert!(matrix.misses.len() <= 231 * below, "{matrix}");
        }
    }
}

#[tokio::test]
async fn cloud_long_restriction_lists_are_paged_to_their_end() {
    long_restriction_lists_are_read_whole_or_close_the_page(Flavour::Cloud).await;
}

#[tokio::test]
async fn data_center_restriction_lists_too_long_to_read_close_the_page() {
    long_restriction_lists_are_read_whole_or_close_the_page(Flavour::DataCenter).await;
}

#[tokio::test]
async fn cloud_a_401_on_restrictions_closes_the_pages() {
    let world = World::tiny(Flavour::Cloud, "closed-401").await;
    let rules = [
        FaultRule::on("/wiki/rest/api/content/search", Trigger::Always, FaultKind::Status(500)),
        FaultRule::on(
            "/wiki/rest/api/content/{id}/restriction/byOperation/{operation}",
            Trigger::Always,
            FaultKind::Status(401),
        ),
    ];
    let (_, docs) = closed_under(&world, &world.config(), &rules).await;
    for doc in docs.values() {
        assert_eq!(closed(doc), doc["type"] != "Space", "{doc}");
    }
}

/// Below a Cloud folder whose restrictions the v1 API does not answer (404) although the
/// folder exists, pages are visible to nobody; the rest of the site is exact.
#[tokio::test]
async fn cloud_pages_below_a_folder_whose_restrictions_404_are_visible_to_nobody() {
    let mut config = tiny_config(Flavour::Cloud);
    config.v1_folder_restrictions = false;
    let world = World::start(config, "folder-404").await;
    let site = world.confluence().site();
    let folder = site.create_folder("ENG", world.page("Engineering Home"), "Unreadable folder").unwrap();
    site.restrict(folder, &[], &["engineering"]).unwrap();
    let below = site.create_page("ENG", Some(folder), "Below the unreadable folder", None).unwrap();
    let (matrix, docs) = closed_under(&world, &world.config(), &[]).await;
    assert!(closed(&docs[&below.to_string()]));
    let readers = world.confluence().catalog().readers(&below.to_string()).len();
    assert!(readers > 0);
    assert_eq!(matrix.misses.len(), readers, "only the page below the folder: {:?}", matrix.misses);
    assert!(world.confluence().requests().count("/wiki/api/v2/folders/{id}") >= 1, "existence was checked");
}

#[tokio::test]
async fn server_remote_api_failures_close_every_space_and_the_sync_goes_on() {
    let world = World::tiny(Flavour::Server, "closed-rpc").await;
    let rule = FaultRule::on("/rpc/json-rpc/confluenceservice-v2", Trigger::Always, FaultKind::Status(502));
    let (matrix, docs) = closed_under(&world, &world.config(), &[rule]).await;
    assert!(docs.values().all(closed));
    assert_eq!(matrix.readable, matrix.misses.len());
    // A transient failure is not "unavailable": every space asked, and its retry.
    let spaces = world.confluence().catalog().spaces.len() as u64;
    assert_eq!(world.confluence().requests().count("/rpc/json-rpc/confluenceservice-v2"), 2 * spaces);
}

/// Each space's documents, by space key.
fn by_space(docs: &HashMap<String, Value>) -> HashMap<String, Vec<&Value>> {
    let mut spaces: HashMap<String, Vec<&Value>> = HashMap::new();
    for doc in docs.values() {
        spaces.entry(doc["space_key"].as_str().unwrap_or_default().to_string()).or_default().push(doc);
    }
    spaces
}

/// A space-permission API fails once, without retries: only the space it failed for is
/// visible to nobody, whether the API had answered before (DC REST; Server's remote API) or
/// not yet (the first space) — one 5xx must not close the whole site.
async fn a_failed_space_permission_call_closes_that_space_only(flavour: Flavour, route: &str, nth: u64) {
    let world = World::tiny(flavour, &format!("one-space-{nth}")).await;
    let config = world.config_from(world.yaml_with(&["retry_count: 0"]));
    let rule = FaultRule::on(route, Trigger::Nth(nth), FaultKind::Status(502));
    let (matrix, docs) = closed_under(&world, &config, &[rule]).await;
    // Documents someone may read but nobody can find: all of one space, and only there.
    let catalog = world.confluence().catalog();
    let readable = |id: &str, doc: &Value| {
        if doc["type"] == "Space" {
            !space_viewers(&catalog, id).is_empty()
        } else {
            !catalog.readers(id).is_empty()
        }
    };
    let wrongly_closed: BTreeSet<String> = docs
        .iter()
        .filter(|(id, doc)| closed(doc) && readable(id, doc))
        .map(|(_, doc)| doc["space_key"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(wrongly_closed.len(), 1, "{wrongly_closed:?}");
    let space = wrongly_closed.first().cloned().unwrap_or_default();
    assert!(by_space(&docs)[&space].iter().all(|d| closed(d)), "all of {space} is closed");
    assert!(!matrix.misses.is_empty(), "{matrix}");
    let log = world.confluence().requests();
    let spaces = world.confluence().catalog().spaces.len() as u64;
    assert_eq!(log.count(route), spaces, "the API is still asked for every space");
    // Server has no REST API: Extender is asked once, and is not there.
    let extender = u64::from(flavour == Flavour::Server);
    assert_eq!(
        log.count("/rest/extender/1.0/permission/space/{key}/getSpacePermissionActors/{permission}"),
        extender
    );
}

#[tokio::test]
async fn data_center_a_transient_failure_on_the_first_space_closes_that_space_only() {
    a_failed_space_permission_call_closes_that_space_only(
        Flavour::DataCenter,
        "/rest/api/space/{key}/permissions",
        1,
    )
    .await;
}

#[tokio::test]
async fn data_center_a_permission_api_that_answered_then_fails_closes_that_space_only() {
    a_failed_space_permission_call_closes_that_space_only(
        Flavour::DataCenter,
        "/rest/api/space/{key}/permissions",
        3,
    )
    .await;
}

#[tokio::test]
async fn server_a_remote_api_that_answered_then_fails_closes_that_space_only() {
    a_failed_space_permission_call_closes_that_space_only(
        Flavour::Server,
        "/rpc/json-rpc/confluenceservice-v2",
        2,
    )
    .await;
}

#[tokio::test]
async fn data_center_user_keys_that_cannot_be_looked_up_grant_nothing() {
    let world = World::tiny(Flavour::DataCenter, "user-key").await;
    let rule = FaultRule::on("/rest/api/user", Trigger::Always, FaultKind::Status(500));
    let (matrix, _) = closed_under(&world, &world.config(), &[rule]).await;
    // Spaces granted to one user by key let that user through nowhere.
    assert!(!matrix.misses.is_empty(), "{matrix}");
}

/// An access-control sync whose group members cannot all be listed writes what it learnt,
/// deletes nothing (not even the identity document of a user who is gone) and says it did
/// not complete.
#[tokio::test]
async fn cloud_an_incomplete_directory_deletes_no_identity_document() {
    let world = World::tiny(Flavour::Cloud, "incomplete-directory").await;
    let config = world.config();
    world.sync_both(&config).await;
    let catalog = world.confluence().catalog();
    let gone = &catalog.users[5];
    assert!(world.documents(&world.acl_index()).await.contains_key(&gone.account_id));
    world.confluence().site().remove_user(&gone.username).unwrap();
    let rule = world.confluence().faults().add(FaultRule::on(
        "/wiki/rest/api/group/{groupId}/membersByGroupId",
        Trigger::Always,
        FaultKind::Status(500),
    ));
    let acl = sync::run(&config, SyncKind::AccessControl, Shutdown::never()).await.unwrap();
    world.confluence().faults().remove(rule);
    assert!(!acl.completed(), "{acl}");
    assert_eq!(acl.deleted, 0, "{acl}");
    assert!(acl.kept_unverified >= 1, "{acl}");
    assert!(world.documents(&world.acl_index()).await.contains_key(&gone.account_id), "kept unverified");
    // Once the listings complete, the user's document goes.
    let again = world.sync(&config, SyncKind::AccessControl).await;
    assert!(again.completed() && again.deleted == 1, "{again}");
}

/// Advanced sync rules select documents through search, not the crawl: every document they
/// index carries the ACL the crawl gives it (issue #7).
async fn advanced_rules_write_the_acls_of_the_crawl(flavour: Flavour) {
    let world = World::tiny(flavour, "rules-acl").await;
    let crawl = world.sync(&world.config(), SyncKind::Full).await;
    assert!(crawl.completed(), "{crawl}");
    let crawled = world.documents(&world.index).await;
    // The same site through the rules, into another index.
    let index = format!("{}-rules", world.index);
    let rules = r#"sync_rules: {advanced: [{query: "space = ENG"}, {query: "space in (MKT, SALES) and type in (page, blogpost, attachment)"}]}"#;
    let config = world.config_from(world.yaml_into(&index, &["retry_count: 1", rules]));
    let ruled = world.sync(&config, SyncKind::Full).await;
    assert!(ruled.completed(), "{ruled}");
    let selected = world.documents(&index).await;
    let restricted = selected.values().filter(|d| d["_allow_access_control"].is_array()).count();
    assert!(selected.len() > 20 && restricted > 0, "{} documents", selected.len());
    let mut compared = 0;
    for (id, doc) in &selected {
        if doc["type"] == "Space" {
            continue;
        }
        let by_crawl = crawled.get(id).unwrap_or_else(|| panic!("{id} is not in the crawl"));
        assert_eq!(doc["_allow_access_control"], by_crawl["_allow_access_control"], "{id}: {}", doc["title"]);
        compared += 1;
    }
    let nobody = selected.values().filter(|d| closed(d)).count();
    println!(
        "advanced rules, {flavour}: {compared} documents carry the crawl's ACL ({nobody} visible to nobody)"
    );
}

#[tokio::test]
async fn cloud_advanced_rules_write_the_acls_of_the_crawl() {
    advanced_rules_write_the_acls_of_the_crawl(Flavour::Cloud).await;
}

#[tokio::test]
async fn data_center_advanced_rules_write_the_acls_of_the_crawl() {
    advanced_rules_write_the_acls_of_the_crawl(Flavour::DataCenter).await;
}
