//! One 200 response of every Cloud JSON route, checked against the schema Atlassian's
//! official OpenAPI documents give for it (`shared/reference/openapi/*.json`). The checker
//! is small and strict where it matters: `type`, `properties`, `required`, `items`, `enum`,
//! `$ref`, `allOf` / `oneOf` / `anyOf` and `nullable` (a `null` where the schema does not
//! allow one is an error); extra properties are allowed, as the documents allow them.

use serde_json::Value;

use super::{enc, get_json, start};
use crate::confluence::{ContentKind, Flavour};

fn load(name: &str) -> Value {
    let path = format!("{}/../../../shared/reference/openapi/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).expect("OpenAPI document is JSON")
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').expect("local $ref");
    doc.pointer(pointer).unwrap_or_else(|| panic!("unresolved $ref {reference}"))
}

/// Appends to `errors` every way `value` breaks `schema`.
fn check(doc: &Value, value: &Value, schema: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return check(doc, value, resolve(doc, reference), at, errors);
    }
    if value.is_null() {
        let nullable = schema.get("nullable").and_then(Value::as_bool) == Some(true);
        let typed = schema.get("type").is_some() || schema.get("properties").is_some();
        if typed && !nullable {
            errors.push(format!("{at}: null where the schema does not allow it"));
        }
        return;
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for part in all {
            check(doc, value, part, at, errors);
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let any_fits = options.iter().any(|option| {
                let mut option_errors = Vec::new();
                check(doc, value, option, at, &mut option_errors);
                option_errors.is_empty()
            });
            if !any_fits {
                errors.push(format!("{at}: matches none of {key}"));
            }
        }
    }
    let declared = schema.get("type").and_then(Value::as_str);
    let kind = declared.or(if schema.get("properties").is_some() { Some("object") } else { None });
    match kind {
        Some("object") => {
            let Some(object) = value.as_object() else {
                errors.push(format!("{at}: expected an object, got {value}"));
                return;
            };
            for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                if let Some(name) = required.as_str() {
                    if !object.contains_key(name) {
                        errors.push(format!("{at}: missing required property '{name}'"));
                    }
                }
            }
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    if let Some(child) = object.get(name) {
                        check(doc, child, property, &format!("{at}.{name}"), errors);
                    }
                }
            }
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                errors.push(format!("{at}: expected an array"));
                return;
            };
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(doc, item, item_schema, &format!("{at}[{i}]"), errors);
                }
            }
        }
        Some("string") if !value.is_string() => {
            errors.push(format!("{at}: expected a string, got {value}"));
        }
        Some("integer") if !(value.is_i64() || value.is_u64()) => {
            errors.push(format!("{at}: expected an integer, got {value}"));
        }
        Some("number") if !value.is_number() => {
            errors.push(format!("{at}: expected a number, got {value}"));
        }
        Some("boolean") if !value.is_boolean() => {
            errors.push(format!("{at}: expected a boolean, got {value}"));
        }
        _ => {}
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
}

fn response_schema<'a>(doc: &'a Value, path: &str) -> &'a Value {
    doc["paths"]
        .get(path)
        .and_then(|p| p.pointer("/get/responses/200/content/application~1json/schema"))
        .unwrap_or_else(|| panic!("the OpenAPI document has no 200 JSON response for GET {path}"))
}

#[tokio::test]
async fn every_cloud_json_route_matches_the_official_schema() {
    let v1 = load("confluence-cloud-v1.json");
    let v2 = load("confluence-cloud-v2.json");
    let sim = start(Flavour::Cloud, |_| {}).await;
    let (space_id, page, blogpost, restricted, commented, labelled) = sim.site().read(|site| {
        let eng = site.space_by_key("ENG").expect("ENG");
        let page = site
            .content
            .values()
            .find(|c| {
                c.kind == ContentKind::Page
                    && !c.attachments.is_empty()
                    && !c.comments.is_empty()
                    && !c.labels.is_empty()
            })
            .expect("page");
        let blog = site
            .content
            .values()
            .find(|c| {
                c.kind == ContentKind::BlogPost
                    && !c.attachments.is_empty()
                    && !c.comments.is_empty()
                    && !c.labels.is_empty()
            })
            .expect("blog");
        let restricted = site
            .content
            .values()
            .find(|c| c.restriction.as_ref().is_some_and(|r| !r.users.is_empty() && !r.groups.is_empty()))
            .expect("restricted");
        let deep = site
            .content
            .values()
            .find(|c| c.kind == ContentKind::Page && site.ancestors(c.id).len() >= 3)
            .expect("deep");
        (eng.id, page.id, blog.id, restricted.id, deep.id, page.id)
    });
    let group_id = sim.site().read(|site| {
        site.groups.iter().find(|g| g.name == "engineering").map(|g| g.id.clone()).expect("group")
    });
    let account = sim.site().read(|site| site.users[3].account_id.clone());
    let full = "ancestors,children.attachment,children.comment,history.lastUpdated,body.storage,space,version,container,metadata.labels,restrictions.read.restrictions.user,restrictions.read.restrictions.group";
    let cql = enc("space = ENG and type = page");

    let v1_cases: Vec<(&str, String)> = vec![
        ("/wiki/rest/api/space", "/rest/api/space?expand=description.plain,homepage,history,permissions".into()),
        ("/wiki/rest/api/space/{spaceKey}", "/rest/api/space/ENG?expand=description.plain,homepage".into()),
        ("/wiki/rest/api/content/search", format!("/rest/api/content/search?cql={cql}&limit=5&expand={full}")),
        ("/wiki/rest/api/search", format!("/rest/api/search?cql={cql}&limit=5&expand=content.space,content.history")),
        ("/wiki/rest/api/content/{id}", format!("/rest/api/content/{commented}?expand={full}")),
        ("/wiki/rest/api/content/{id}/child/attachment", format!("/rest/api/content/{page}/child/attachment?expand=version,history,container")),
        ("/wiki/rest/api/content/{id}/child/comment", format!("/rest/api/content/{page}/child/comment?expand=body.storage,version")),
        ("/wiki/rest/api/content/{id}/label", format!("/rest/api/content/{labelled}/label")),
        ("/wiki/rest/api/content/{id}/restriction/byOperation", format!("/rest/api/content/{restricted}/restriction/byOperation?expand=read.restrictions.user,read.restrictions.group")),
        ("/wiki/rest/api/content/{id}/restriction/byOperation/{operationKey}", format!("/rest/api/content/{restricted}/restriction/byOperation/read")),
        ("/wiki/rest/api/group", "/rest/api/group".into()),
        ("/wiki/rest/api/group/{groupId}/membersByGroupId", format!("/rest/api/group/{group_id}/membersByGroupId")),
        ("/wiki/rest/api/user/memberof", format!("/rest/api/user/memberof?accountId={account}")),
        ("/wiki/rest/api/user", format!("/rest/api/user?accountId={account}")),
        ("/wiki/rest/api/search/user", format!("/rest/api/search/user?cql={}", enc("type=user"))),
    ];
    let v2_cases: Vec<(&str, String)> = vec![
        ("/spaces", "/api/v2/spaces?keys=ENG,MKT&description-format=plain&include-icon=true".into()),
        ("/spaces/{id}", format!("/api/v2/spaces/{space_id}")),
        ("/spaces/{id}/pages", format!("/api/v2/spaces/{space_id}/pages?body-format=storage&limit=5")),
        (
            "/spaces/{id}/blogposts",
            format!("/api/v2/spaces/{space_id}/blogposts?body-format=storage&limit=5"),
        ),
        ("/spaces/{id}/permissions", format!("/api/v2/spaces/{space_id}/permissions")),
        ("/pages", "/api/v2/pages?limit=5".into()),
        ("/pages/{id}", format!("/api/v2/pages/{page}?body-format=storage")),
        ("/blogposts", "/api/v2/blogposts?limit=5".into()),
        ("/blogposts/{id}", format!("/api/v2/blogposts/{blogpost}")),
        ("/pages/{id}/attachments", format!("/api/v2/pages/{page}/attachments")),
        ("/blogposts/{id}/attachments", format!("/api/v2/blogposts/{blogpost}/attachments")),
        ("/attachments", "/api/v2/attachments?limit=5".into()),
        ("/pages/{id}/labels", format!("/api/v2/pages/{labelled}/labels")),
        ("/blogposts/{id}/labels", format!("/api/v2/blogposts/{blogpost}/labels")),
        ("/pages/{id}/footer-comments", format!("/api/v2/pages/{page}/footer-comments?body-format=storage")),
        ("/blogposts/{id}/footer-comments", format!("/api/v2/blogposts/{blogpost}/footer-comments")),
        ("/pages/{id}/ancestors", format!("/api/v2/pages/{commented}/ancestors")),
    ];
    let mut errors = Vec::new();
    for (doc, cases) in [(&v1, &v1_cases), (&v2, &v2_cases)] {
        for (spec_path, request) in cases {
            let body = get_json(&sim, request, 200).await;
            let results = body.get("results").and_then(Value::as_array).map(Vec::len);
            assert_ne!(results, Some(0), "{request} should return something to check");
            check(doc, &body, response_schema(doc, spec_path), spec_path, &mut errors);
        }
    }
    assert!(errors.is_empty(), "schema violations:\n{}", errors.join("\n"));
}

#[test]
fn the_checker_rejects_what_the_schema_forbids() {
    let doc = serde_json::json!({"components": {"schemas": {
        "Thing": {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "string"}, "n": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}},
            "kind": {"type": "string", "enum": ["a", "b"]}, "maybe": {"type": "string", "nullable": true},
            "strict": {"type": "string"}
        }}
    }}});
    let schema = serde_json::json!({"$ref": "#/components/schemas/Thing"});
    let mut errors = Vec::new();
    check(
        &doc,
        &serde_json::json!({"id": "1", "n": 2, "tags": ["x"], "kind": "a", "maybe": null}),
        &schema,
        "t",
        &mut errors,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let bad = serde_json::json!({"n": "2", "tags": [1], "kind": "c", "strict": null});
    check(&doc, &bad, &schema, "t", &mut errors);
    assert_eq!(errors.len(), 5, "{errors:?}");
}
