use super::*;
use reqwest::header::{HeaderMap, HeaderValue};

#[test]
fn link_header_next_is_found_among_other_relations() {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::LINK,
        HeaderValue::from_static(
            "</wiki/api/v2/pages?cursor=b>; rel=\"prev\", </wiki/api/v2/pages?cursor=c>; rel=\"next\"",
        ),
    );
    assert_eq!(link_header_next(&headers).as_deref(), Some("/wiki/api/v2/pages?cursor=c"));
    assert_eq!(link_header_next(&HeaderMap::new()), None);
}

#[test]
fn with_param_replaces_the_start() {
    let url = Url::parse("http://h/rest/api/space?limit=50&start=0&spaceKey=A").unwrap();
    let next = with_param(&url, "start", "37");
    assert_eq!(next.as_str(), "http://h/rest/api/space?limit=50&spaceKey=A&start=37");
}

#[test]
fn an_items_id_is_read_as_text_from_a_string_or_a_number() {
    let id = |text: &str| {
        let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
        raw_id(&raw).map(|id| (id.into_owned(), matches!(raw_id(&raw), Some(Cow::Borrowed(_)))))
    };
    assert_eq!(id(r#"{"id":"65551","title":"x"}"#), Some(("65551".into(), true)));
    assert_eq!(id(r#"{"title":"x","id":65551}"#), Some(("65551".into(), false)));
    assert_eq!(id(r#"{"id":"a\"b"}"#), Some(("a\"b".into(), false)));
    assert_eq!(id(r#"{"id":null}"#), None);
    assert_eq!(id(r#"{"id":[1]}"#), None);
    assert_eq!(id(r#"{"title":"x"}"#), None);
    assert_eq!(id(r#"[1]"#), None);
}
