//! The CQL subset over HTTP: each query's hits are compared with the same question answered
//! directly from the site model.

use std::collections::BTreeSet;

use super::{enc, get_json, start};
use crate::confluence::model::{Content, ContentKind, ContentStatus, Site};
use crate::confluence::{ConfluenceSim, Flavour};

/// Every id a DC content search returns (walking `start += size`).
async fn search_ids(sim: &ConfluenceSim, cql: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut start = 0;
    loop {
        let body = get_json(
            sim,
            &format!("/rest/api/content/search?cql={}&limit=1000&start={start}", enc(cql)),
            200,
        )
        .await;
        let results = body["results"].as_array().expect("results");
        if results.is_empty() {
            return ids;
        }
        start += results.len();
        ids.extend(results.iter().map(|r| r["id"].as_str().expect("id").to_string()));
    }
}

fn expected(site: &Site, keep: impl Fn(&Content) -> bool) -> BTreeSet<String> {
    site.content
        .values()
        .filter(|c| c.status == ContentStatus::Current && site.is_live(c.id))
        .filter(|c| keep(c))
        .map(|c| crate::confluence::model::api_id(c.kind, c.id))
        .collect()
}

fn space_of(site: &Site, c: &Content) -> String {
    site.spaces.get(&c.space_id).map(|s| s.key.clone()).unwrap_or_default()
}

#[tokio::test]
async fn the_cql_subset_finds_what_the_model_says() {
    let sim = start(Flavour::DataCenter, |_| {}).await;
    let site = sim.site().read(|s| s.clone());
    let eng_home = site.space_by_key("ENG").and_then(|s| s.homepage).expect("home");
    let page_with_files = site
        .content
        .values()
        .find(|c| c.kind == ContentKind::Page && c.attachments.len() == 2 && !c.comments.is_empty())
        .expect("page")
        .id;
    let label = site.content.values().find_map(|c| c.labels.first().cloned()).expect("a label");
    let admin = "admin";
    let cutoff =
        chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00+11:00").expect("date").timestamp_millis();

    type Case<'a> = (String, Box<dyn Fn(&Content) -> bool + 'a>);
    let site_ref = &site;
    let cases: Vec<Case<'_>> = vec![
        (
            "space = ENG and type = page".into(),
            Box::new(|c: &Content| c.kind == ContentKind::Page && space_of(site_ref, c) == "ENG"),
        ),
        (
            "space.key in (ENG, MKT) AND type = blogpost".into(),
            Box::new(|c: &Content| {
                c.kind == ContentKind::BlogPost && ["ENG", "MKT"].contains(&space_of(site_ref, c).as_str())
            }),
        ),
        (
            "(space = HR OR space = OPS) and type = attachment".into(),
            Box::new(|c: &Content| {
                c.kind == ContentKind::Attachment && ["HR", "OPS"].contains(&space_of(site_ref, c).as_str())
            }),
        ),
        (
            "space = FIN and type != attachment".into(),
            Box::new(|c: &Content| c.kind != ContentKind::Attachment && space_of(site_ref, c) == "FIN"),
        ),
        (
            "space = FIN and NOT type in (attachment, comment)".into(),
            Box::new(|c: &Content| {
                matches!(c.kind, ContentKind::Page | ContentKind::BlogPost) && space_of(site_ref, c) == "FIN"
            }),
        ),
        (
            format!("ancestor = {eng_home} and type = page"),
            Box::new(|c: &Content| {
                c.kind == ContentKind::Page && site_ref.ancestors(c.id).contains(&eng_home)
            }),
        ),
        (
            format!("parent = {eng_home}"),
            Box::new(|c: &Content| c.kind == ContentKind::Page && c.parent == Some(eng_home)),
        ),
        (
            format!("container = {page_with_files}"),
            Box::new(|c: &Content| {
                matches!(c.kind, ContentKind::Attachment | ContentKind::Comment)
                    && c.parent == Some(page_with_files)
            }),
        ),
        (format!("label = \"{label}\""), Box::new(|c: &Content| c.labels.contains(&label))),
        (
            format!("creator = {admin} and type = page"),
            Box::new(|c: &Content| c.kind == ContentKind::Page && c.creator == 0),
        ),
        (
            "type = page and created >= \"2024-01-01\"".into(),
            Box::new(|c: &Content| c.kind == ContentKind::Page && c.created >= cutoff),
        ),
        (
            "type = blogpost and lastmodified < \"2024/01/01 00:00\"".into(),
            Box::new(|c: &Content| c.kind == ContentKind::BlogPost && c.modified < cutoff),
        ),
        (
            format!("id = {eng_home} or id in ({page_with_files})"),
            Box::new(|c: &Content| c.id == eng_home || c.id == page_with_files),
        ),
        ("title = \"Engineering Home\"".into(), Box::new(|c: &Content| c.title == "Engineering Home")),
        (
            "space = SUP and title ~ \"support\" and type = page".into(),
            Box::new(|c: &Content| {
                c.kind == ContentKind::Page
                    && space_of(site_ref, c) == "SUP"
                    && c.title.to_lowercase().contains("support")
            }),
        ),
        ("space = LEGAL and lastmodified >= now(\"-4w\")".into(), Box::new(|_: &Content| false)),
    ];
    for (cql, keep) in &cases {
        let found: BTreeSet<String> = search_ids(&sim, cql).await.into_iter().collect();
        let wanted = expected(&site, keep);
        assert!(
            !wanted.is_empty() || cql.contains("now("),
            "a case that finds nothing proves nothing: {cql}"
        );
        assert_eq!(found, wanted, "{cql}");
    }

    let text_hits = search_ids(&sim, "space = DES and type = page and text ~ \"CDATA\"").await;
    assert!(text_hits.is_empty(), "CDATA markers are markup, not text");
    let word_hits = search_ids(&sim, "space = DES and type = page and text ~ \"println\"").await;
    assert!(!word_hits.is_empty(), "code macro bodies are searchable text");
}

#[tokio::test]
async fn order_by_sorts_and_dates_use_the_site_zone() {
    let sim = start(Flavour::Server, |_| {}).await;
    let body = get_json(
        &sim,
        &format!(
            "/rest/api/content/search?cql={}&limit=200&expand=version",
            enc("space = OPS and type = page order by lastmodified desc")
        ),
        200,
    )
    .await;
    let times: Vec<String> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["version"]["when"].as_str().expect("when").to_string())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by_key(|t| std::cmp::Reverse(chrono::DateTime::parse_from_rfc3339(t).expect("time")));
    assert_eq!(times, sorted);
    let titles = get_json(
        &sim,
        &format!(
            "/rest/api/content/search?cql={}&limit=200",
            enc("space = OPS and type = blogpost order by title")
        ),
        200,
    )
    .await;
    let names: Vec<String> = titles["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["title"].as_str().expect("title").to_lowercase())
        .collect();
    let mut sorted_names = names.clone();
    sorted_names.sort();
    assert_eq!(names, sorted_names);

    // A page edited now is found by a wall-clock time read in the site's zone (Sydney)...
    let page = sim.site().create_page("OPS", None, "Zone check", None).expect("page");
    let now_sydney =
        chrono::Utc::now().with_timezone(&chrono_tz::Australia::Sydney) - chrono::Duration::minutes(5);
    let cql = format!("id = {page} and lastmodified >= \"{}\"", now_sydney.format("%Y-%m-%d %H:%M"));
    assert_eq!(search_ids(&sim, &cql).await.len(), 1);
    // ...and a UTC wall-clock time ten minutes ahead, read in Sydney, lies hours in the past.
    let utc_ahead = chrono::Utc::now() + chrono::Duration::minutes(10);
    let cql = format!("id = {page} and lastmodified <= \"{}\"", utc_ahead.format("%Y-%m-%d %H:%M"));
    assert_eq!(search_ids(&sim, &cql).await.len(), 0);
}
