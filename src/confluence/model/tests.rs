use super::*;

fn page(id: &str, title: &str, parent: Option<&str>) -> Content {
    Content::from_v2(
        v2::Content {
            id: id.into(),
            status: None,
            title: title.into(),
            space_id: None,
            parent_id: parent.map(str::to_string),
            author_id: None,
            created_at: None,
            version: None,
            body: None,
            links: v2::Links::default(),
        },
        ContentType::Page,
    )
}

#[test]
fn ancestry_rebuilds_chains_root_first_and_survives_cycles() {
    let mut ancestry = Ancestry::default();
    ancestry.record(&page("1", "Home", None));
    ancestry.record(&page("2", "Guide", Some("1")));
    ancestry.record(&page("3", "Loop", Some("4")));
    ancestry.record(&page("4", "Pool", Some("3")));
    let chain = ancestry.ancestors(Some("2"));
    assert_eq!(chain.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["1", "2"]);
    assert_eq!(chain[0].title.as_deref(), Some("Home"));
    let outside = ancestry.ancestors(Some("99"));
    assert_eq!(outside, vec![Ancestor { id: "99".into(), title: None }]);
    assert_eq!(ancestry.ancestors(Some("3")).len(), 2);
}

#[test]
fn v1_content_with_missing_optional_fields_still_converts() {
    let content: v1::Content = serde_json::from_str(r#"{"id":"5","type":"page","title":"T"}"#).unwrap();
    let content = Content::from_v1(content).unwrap();
    assert_eq!(content.labels, None);
    assert_eq!(content.version, None);
    let paged_labels: v1::Content = serde_json::from_str(
        r#"{"id":5,"type":"blogpost","metadata":{"labels":{"results":[{"name":"a"}],"size":1,"limit":1}},
            "version":{"number":"3","when":"2024-01-02T03:04:05.000+01:00"}}"#,
    )
    .unwrap();
    let content = Content::from_v1(paged_labels).unwrap();
    assert_eq!(content.labels, None, "a full expansion page may hide more labels");
    assert_eq!(content.version, Some(3));
    assert_eq!(content.updated_at.unwrap().to_rfc3339(), "2024-01-02T02:04:05+00:00");
}
