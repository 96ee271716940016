//! Cloud's v2 REST routes (`/wiki/api/v2/...`): spaces, pages, blog posts, attachments,
//! labels, footer comments, ancestors and space permissions. No `expand`: related objects
//! are ids. Pagination is an opaque cursor carried in a root-relative `_links.next`
//! (`/wiki/api/v2/...`) and in a `Link: <…>; rel="next"` header, absent on the last page.
//! Listings sorted by id walk the site's indexes from the cursor on, so a page of results
//! costs the same at the start and at the end of a million-page space.

use std::collections::BTreeSet;
use std::ops::Bound;

use serde_json::{json, Map, Value};

use super::Call;
use crate::confluence::attachment::file_size;
use crate::confluence::fields::{label, tiny_code};
use crate::confluence::model::{api_id, parse_api_id, Content, ContentKind, ContentStatus, Space, Subject};
use crate::confluence::paging::{decode_cursor, encode_cursor};
use crate::confluence::reply::Reply;

/// Where a listing's ids come from, in id order.
enum Source<'a> {
    /// An index set (a space's pages, blog posts, attachments).
    Set(&'a BTreeSet<u64>),
    /// A container's ids (appended in id order).
    Slice(&'a [u64]),
    /// All content of one kind.
    All(ContentKind),
}

impl Source<'_> {
    fn after<'s>(&'s self, call: &'s Call<'_>, after: Option<u64>) -> Box<dyn Iterator<Item = u64> + 's> {
        let lower = after.map(Bound::Excluded).unwrap_or(Bound::Unbounded);
        match self {
            Source::Set(set) => Box::new(set.range((lower, Bound::Unbounded)).copied()),
            Source::Slice(slice) => {
                let start = after.map(|a| slice.partition_point(|&id| id <= a)).unwrap_or(0);
                Box::new(slice[start..].iter().copied())
            }
            Source::All(kind) => {
                let kind = *kind;
                Box::new(
                    call.site
                        .content
                        .range((lower, Bound::Unbounded))
                        .filter(move |(_, c)| c.kind == kind)
                        .map(|(id, _)| *id),
                )
            }
        }
    }
}

fn limit(call: &Call<'_>, default: usize) -> Result<usize, Reply> {
    match call.param("limit") {
        None | Some("") => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=250).contains(&n) => Ok(n),
            _ => Err(Reply::v2_error(400, format!("Invalid limit '{text}': it must be between 1 and 250"))),
        },
    }
}

fn cursor(call: &Call<'_>) -> Result<Option<u64>, Reply> {
    match call.param("cursor") {
        None | Some("") => Ok(None),
        Some(text) => decode_cursor(text)
            .map(Some)
            .ok_or_else(|| Reply::v2_error(400, format!("Invalid cursor '{text}'"))),
    }
}

/// Builds the envelope, `_links.next` and `Link` header for one page of results.
fn envelope(call: &Call<'_>, results: Vec<Value>, next_cursor: Option<u64>, limit: usize) -> Reply {
    let mut links = json!({"base": call.render.base});
    let mut reply_headers = Vec::new();
    if let Some(next) = next_cursor {
        let path = call.relative_path.split('?').next().unwrap_or("");
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &call.params {
            if key != "cursor" && key != "limit" {
                serializer.append_pair(key, value);
            }
        }
        serializer.append_pair("limit", &limit.to_string());
        serializer.append_pair("cursor", &encode_cursor(next));
        let link = format!("{}{path}?{}", call.render.context, serializer.finish());
        reply_headers.push((
            "Link".to_string(),
            format!("<{link}>; rel=\"next\", <{}>; rel=\"base\"", call.render.base),
        ));
        links["next"] = json!(link);
    }
    let mut reply = Reply::json(json!({"results": results, "_links": links}));
    reply.headers = reply_headers;
    reply
}

/// A cursor listing over `source`: id order (cursor = last id) unless `sort` asks for
/// another order (cursor = offset into the sorted list).
fn listing(
    call: &Call<'_>,
    source: Source<'_>,
    default_limit: usize,
    keep: impl Fn(&Content) -> bool,
    render: impl Fn(&Content) -> Value,
) -> Reply {
    let limit = match limit(call, default_limit) {
        Ok(l) => l,
        Err(reply) => return reply,
    };
    let position = match cursor(call) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let sort = call.param("sort").unwrap_or("id");
    if sort == "id" {
        let mut page: Vec<&Content> = Vec::with_capacity(limit + 1);
        for id in source.after(call, position) {
            if let Some(content) = call.site.get(id).filter(|c| keep(c)) {
                page.push(content);
                if page.len() > limit {
                    break;
                }
            }
        }
        let more = page.len() > limit;
        page.truncate(limit);
        let next = more.then(|| page.last().map(|c| c.id)).flatten();
        return envelope(call, page.into_iter().map(render).collect(), next, limit);
    }
    let mut all: Vec<&Content> =
        source.after(call, None).filter_map(|id| call.site.get(id)).filter(|c| keep(c)).collect();
    let (field, descending) = match sort.strip_prefix('-') {
        Some(field) => (field, true),
        None => (sort, false),
    };
    all.sort_by(|a, b| {
        let ordering = match field {
            "created-date" => a.created.cmp(&b.created),
            "modified-date" => a.modified.cmp(&b.modified),
            "title" => a.title.cmp(&b.title),
            _ => a.id.cmp(&b.id),
        }
        .then(a.id.cmp(&b.id));
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
    let start = position.unwrap_or(0) as usize;
    let page: Vec<Value> = all.iter().skip(start).take(limit).map(|c| render(c)).collect();
    let next = (start + page.len() < all.len()).then_some((start + page.len()) as u64);
    envelope(call, page, next, limit)
}

fn statuses(call: &Call<'_>, default: &[&str]) -> Vec<String> {
    let asked = call.list_param("status");
    if asked.is_empty() {
        default.iter().map(|s| s.to_string()).collect()
    } else {
        asked
    }
}

fn status_ok(statuses: &[String], content: &Content) -> bool {
    statuses.iter().any(|s| s == content.status.api_name())
}

fn version(call: &Call<'_>, content: &Content) -> Value {
    json!({
        "createdAt": call.site.format_time(content.modified),
        "message": "",
        "number": content.version,
        "minorEdit": false,
        "authorId": account(call, content.modifier),
    })
}

fn account(call: &Call<'_>, user: u32) -> String {
    call.site.users.get(user as usize).map(|u| u.account_id.clone()).unwrap_or_default()
}

fn body(call: &Call<'_>, content: &Content) -> Value {
    match call.param("body-format") {
        Some("storage") => {
            json!({"storage": {"representation": "storage", "value": call.render.storage(content)}})
        }
        Some("atlas_doc_format") => {
            json!({"atlas_doc_format": {"representation": "atlas_doc_format", "value": "{\"type\":\"doc\",\"version\":1,\"content\":[]}"}})
        }
        _ => json!({}),
    }
}

fn page_links(call: &Call<'_>, content: &Content) -> Value {
    json!({
        "webui": call.render.webui(content),
        "editui": format!("/pages/resumedraft.action?draftId={}", content.id),
        "tinyui": format!("/x/{}", tiny_code(content.id)),
    })
}

/// A v2 page.
fn page(call: &Call<'_>, content: &Content) -> Value {
    let mut out = json!({
        "id": content.id.to_string(),
        "status": content.status.api_name(),
        "title": content.title,
        "spaceId": content.space_id.to_string(),
        "parentId": content.parent.map(|p| p.to_string()),
        "parentType": content.parent.map(|p| call.site.get(p).map_or("page", |parent| parent.kind.api_name())),
        "position": content.position,
        "authorId": account(call, content.creator),
        "ownerId": account(call, content.creator),
        "lastOwnerId": Value::Null,
        "createdAt": call.site.format_time(content.created),
        "version": version(call, content),
        "body": body(call, content),
        "_links": page_links(call, content),
    });
    if content.parent.is_none() {
        if let Some(object) = out.as_object_mut() {
            object.remove("parentId");
            object.remove("parentType");
        }
    }
    out
}

/// A v2 blog post.
fn blogpost(call: &Call<'_>, content: &Content) -> Value {
    json!({
        "id": content.id.to_string(),
        "status": content.status.api_name(),
        "title": content.title,
        "spaceId": content.space_id.to_string(),
        "authorId": account(call, content.creator),
        "createdAt": call.site.format_time(content.created),
        "version": version(call, content),
        "body": body(call, content),
        "_links": page_links(call, content),
    })
}

/// A v2 attachment.
fn attachment(call: &Call<'_>, content: &Content) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(api_id(content.kind, content.id)));
    out.insert("status".into(), json!(content.status.api_name()));
    out.insert("title".into(), json!(content.title));
    out.insert("createdAt".into(), json!(call.site.format_time(content.created)));
    let container_kind = content.parent.and_then(|p| call.site.get(p)).map(|c| c.kind);
    let container = content.parent.map(|p| p.to_string());
    match container_kind {
        Some(ContentKind::BlogPost) => out.insert("blogPostId".into(), json!(container)),
        _ => out.insert("pageId".into(), json!(container)),
    };
    if let Some(file) = &content.file {
        out.insert("mediaType".into(), json!(file.format.media_type()));
        out.insert(
            "mediaTypeDescription".into(),
            json!(crate::confluence::model::format_description(file.format)),
        );
        out.insert("comment".into(), json!(file.comment));
        out.insert("fileId".into(), json!(file.file_id));
        out.insert("fileSize".into(), json!(file_size(file)));
    }
    let webui = call.render.webui(content);
    let download = call.render.download_link(content);
    out.insert("webuiLink".into(), json!(webui));
    out.insert("downloadLink".into(), json!(download));
    out.insert("version".into(), version(call, content));
    out.insert("_links".into(), json!({"webui": webui, "download": download}));
    Value::Object(out)
}

/// A v2 footer comment.
fn footer_comment(call: &Call<'_>, content: &Content) -> Value {
    let container_kind = content.parent.and_then(|p| call.site.get(p)).map(|c| c.kind);
    let mut out = json!({
        "id": content.id.to_string(),
        "status": content.status.api_name(),
        "title": content.title,
        "version": version(call, content),
        "body": body(call, content),
        "_links": {"webui": call.render.webui(content)},
    });
    let key = if container_kind == Some(ContentKind::BlogPost) { "blogPostId" } else { "pageId" };
    out[key] = json!(content.parent.map(|p| p.to_string()));
    out
}

/// A v2 space.
fn space_json(call: &Call<'_>, space: &Space) -> Value {
    let description = match call.param("description-format") {
        Some("plain") => json!({"plain": {"representation": "plain", "value": space.description}}),
        Some("view") => {
            json!({"view": {"representation": "view", "value": format!("<p>{}</p>", space.description)}})
        }
        _ => Value::Null,
    };
    let icon = if call.param("include-icon") == Some("true") {
        json!({"path": "/wiki/download/attachments/1/default-space-logo.png"})
    } else {
        Value::Null
    };
    let mut out = json!({
        "id": space.id.to_string(),
        "key": space.key,
        "name": space.name,
        "type": space.space_type.api_name(),
        "status": space.status.api_name(),
        "authorId": account(call, space.creator),
        "createdAt": call.site.format_time(space.created),
        "homepageId": space.homepage.map(|h| h.to_string()),
        "_links": {"webui": format!("/spaces/{}", space.key)},
    });
    // Only present when asked for (`description-format`, `include-icon=true`).
    if !description.is_null() {
        out["description"] = description;
    }
    if !icon.is_null() {
        out["icon"] = icon;
    }
    out
}

fn space_by_id<'a>(call: &'a Call<'_>) -> Result<&'a Space, Reply> {
    call.capture(0)
        .parse::<u64>()
        .ok()
        .and_then(|id| call.site.spaces.get(&id))
        .ok_or_else(|| Reply::v2_error(404, format!("No space with id {}", call.capture(0))))
}

fn content_by_id<'a>(call: &'a Call<'_>, kind: ContentKind) -> Result<&'a Content, Reply> {
    parse_api_id(call.capture(0))
        .and_then(|id| call.site.get(id))
        .filter(|c| c.kind == kind)
        .ok_or_else(|| Reply::v2_error(404, format!("No {} with id {}", kind.api_name(), call.capture(0))))
}

/// `GET api/v2/spaces`
pub fn spaces(call: &Call<'_>) -> Reply {
    let limit = match limit(call, 25) {
        Ok(l) => l,
        Err(reply) => return reply,
    };
    let position = match cursor(call) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let keys = call.list_param("keys");
    let ids = call.list_param("ids");
    let types = call.list_param("type");
    let statuses = call.list_param("status");
    let lower = position.map(Bound::Excluded).unwrap_or(Bound::Unbounded);
    let mut page: Vec<&Space> = call
        .site
        .spaces
        .range((lower, Bound::Unbounded))
        .map(|(_, s)| s)
        .filter(|s| keys.is_empty() || keys.contains(&s.key))
        .filter(|s| ids.is_empty() || ids.contains(&s.id.to_string()))
        .filter(|s| types.is_empty() || types.iter().any(|t| t == s.space_type.api_name()))
        .filter(|s| statuses.is_empty() || statuses.iter().any(|t| t == s.status.api_name()))
        .take(limit + 1)
        .collect();
    let more = page.len() > limit;
    page.truncate(limit);
    let next = more.then(|| page.last().map(|s| s.id)).flatten();
    envelope(call, page.iter().map(|s| space_json(call, s)).collect(), next, limit)
}

/// `GET api/v2/spaces/{id}`
pub fn space(call: &Call<'_>) -> Reply {
    match space_by_id(call) {
        Ok(space) => Reply::json(space_json(call, space)),
        Err(reply) => reply,
    }
}

fn title_ok(call: &Call<'_>, content: &Content) -> bool {
    call.param("title").is_none_or(|t| t == content.title)
}

/// `GET api/v2/spaces/{id}/pages`
pub fn space_pages(call: &Call<'_>) -> Reply {
    let space = match space_by_id(call) {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let statuses = statuses(call, &["current", "archived"]);
    let root_only = call.param("depth") == Some("root");
    listing(
        call,
        Source::Set(&space.pages),
        25,
        |c| status_ok(&statuses, c) && title_ok(call, c) && (!root_only || c.parent.is_none()),
        |c| page(call, c),
    )
}

/// `GET api/v2/spaces/{id}/blogposts`
pub fn space_blogposts(call: &Call<'_>) -> Reply {
    let space = match space_by_id(call) {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let statuses = statuses(call, &["current"]);
    listing(
        call,
        Source::Set(&space.blogposts),
        25,
        |c| status_ok(&statuses, c) && title_ok(call, c),
        |c| blogpost(call, c),
    )
}

/// `GET api/v2/spaces/{id}/permissions`
pub fn space_permissions(call: &Call<'_>) -> Reply {
    let space = match space_by_id(call) {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let limit = match limit(call, 25) {
        Ok(l) => l,
        Err(reply) => return reply,
    };
    let position = match cursor(call) {
        Ok(p) => p.unwrap_or(0) as usize,
        Err(reply) => return reply,
    };
    let entries: Vec<Value> = space
        .permissions
        .iter()
        .skip(position)
        .take(limit)
        .map(|p| {
            let principal = match p.subject {
                Subject::User(u) => json!({"type": "user", "id": account(call, u)}),
                Subject::Group(g) => {
                    json!({"type": "group", "id": call.site.groups.get(g as usize).map(|g| g.id.clone())})
                }
                Subject::Anonymous => json!({"type": "role", "id": "anonymous"}),
                Subject::AccessClass(id) => json!({"type": "access_class", "id": id}),
            };
            json!({
                "id": p.id.to_string(),
                "principal": principal,
                "operation": {"key": p.operation, "targetType": p.target},
            })
        })
        .collect();
    let next =
        (position + entries.len() < space.permissions.len()).then_some((position + entries.len()) as u64);
    envelope(call, entries, next, limit)
}

/// The cheapest id source for a listing filtered by `space-id`: one space's index when a
/// single space is named, else every content of the kind.
fn source_for<'a>(call: &'a Call<'_>, space_ids: &[String], kind: ContentKind) -> Source<'a> {
    match space_ids {
        [one] => match one.parse::<u64>().ok().and_then(|id| call.site.spaces.get(&id)) {
            Some(space) => Source::Set(space.ids(kind)),
            None => Source::Slice(&[]),
        },
        _ => Source::All(kind),
    }
}

/// `GET api/v2/pages` (`space-id`, `id`, `status`, `title` filters).
pub fn pages(call: &Call<'_>) -> Reply {
    let statuses = statuses(call, &["current", "archived"]);
    let space_ids = call.list_param("space-id");
    let ids = call.list_param("id");
    listing(
        call,
        source_for(call, &space_ids, ContentKind::Page),
        25,
        |c| {
            status_ok(&statuses, c)
                && title_ok(call, c)
                && (space_ids.is_empty() || space_ids.contains(&c.space_id.to_string()))
                && (ids.is_empty() || ids.contains(&c.id.to_string()))
        },
        |c| page(call, c),
    )
}

/// `GET api/v2/pages/{id}`
pub fn page_by_id(call: &Call<'_>) -> Reply {
    match content_by_id(call, ContentKind::Page) {
        Ok(c) => Reply::json(page(call, c)),
        Err(reply) => reply,
    }
}

/// `GET api/v2/blogposts` (`space-id`, `id`, `status`, `title` filters).
pub fn blogposts(call: &Call<'_>) -> Reply {
    let statuses = statuses(call, &["current"]);
    let space_ids = call.list_param("space-id");
    let ids = call.list_param("id");
    listing(
        call,
        source_for(call, &space_ids, ContentKind::BlogPost),
        25,
        |c| {
            status_ok(&statuses, c)
                && title_ok(call, c)
                && (space_ids.is_empty() || space_ids.contains(&c.space_id.to_string()))
                && (ids.is_empty() || ids.contains(&c.id.to_string()))
        },
        |c| blogpost(call, c),
    )
}

/// `GET api/v2/blogposts/{id}`
pub fn blogpost_by_id(call: &Call<'_>) -> Reply {
    match content_by_id(call, ContentKind::BlogPost) {
        Ok(c) => Reply::json(blogpost(call, c)),
        Err(reply) => reply,
    }
}

fn attachment_filter<'a>(call: &'a Call<'_>) -> impl Fn(&Content) -> bool + 'a {
    let statuses = statuses(call, &["current"]);
    move |c: &Content| {
        status_ok(&statuses, c)
            && call.param("filename").is_none_or(|f| f == c.title)
            && call
                .param("mediaType")
                .is_none_or(|m| c.file.as_ref().is_some_and(|f| f.format.media_type() == m))
    }
}

fn container_attachments(call: &Call<'_>, kind: ContentKind) -> Reply {
    let container = match content_by_id(call, kind) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    listing(call, Source::Slice(&container.attachments), 50, attachment_filter(call), |c| attachment(call, c))
}

/// `GET api/v2/pages/{id}/attachments`
pub fn page_attachments(call: &Call<'_>) -> Reply {
    container_attachments(call, ContentKind::Page)
}

/// `GET api/v2/blogposts/{id}/attachments`
pub fn blogpost_attachments(call: &Call<'_>) -> Reply {
    container_attachments(call, ContentKind::BlogPost)
}

/// `GET api/v2/attachments`
pub fn attachments(call: &Call<'_>) -> Reply {
    listing(call, Source::All(ContentKind::Attachment), 50, attachment_filter(call), |c| attachment(call, c))
}

/// `GET api/v2/attachments/{id}`: any status (a trashed one says so); 404 once purged.
pub fn attachment_by_id(call: &Call<'_>) -> Reply {
    match content_by_id(call, ContentKind::Attachment) {
        Ok(c) => Reply::json(attachment(call, c)),
        Err(reply) => reply,
    }
}

fn labels_of(call: &Call<'_>, kind: ContentKind) -> Reply {
    let content = match content_by_id(call, kind) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    let limit = match limit(call, 25) {
        Ok(l) => l,
        Err(reply) => return reply,
    };
    let position = match cursor(call) {
        Ok(p) => p.unwrap_or(0) as usize,
        Err(reply) => return reply,
    };
    let prefix_ok =
        call.list_param("prefix").iter().all(|p| p == "global") || call.list_param("prefix").is_empty();
    let names: Vec<&String> = content.labels.iter().filter(|_| prefix_ok).collect();
    let results: Vec<Value> = names
        .iter()
        .skip(position)
        .take(limit)
        .map(|name| {
            let l = label(name);
            json!({"id": l["id"], "name": l["name"], "prefix": "global"})
        })
        .collect();
    let next = (position + results.len() < names.len()).then_some((position + results.len()) as u64);
    envelope(call, results, next, limit)
}

/// `GET api/v2/pages/{id}/labels`
pub fn page_labels(call: &Call<'_>) -> Reply {
    labels_of(call, ContentKind::Page)
}

/// `GET api/v2/blogposts/{id}/labels`
pub fn blogpost_labels(call: &Call<'_>) -> Reply {
    labels_of(call, ContentKind::BlogPost)
}

fn footer_comments(call: &Call<'_>, kind: ContentKind) -> Reply {
    let container = match content_by_id(call, kind) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    listing(
        call,
        Source::Slice(&container.comments),
        25,
        |c| c.status == ContentStatus::Current,
        |c| footer_comment(call, c),
    )
}

/// `GET api/v2/pages/{id}/footer-comments`
pub fn page_footer_comments(call: &Call<'_>) -> Reply {
    footer_comments(call, ContentKind::Page)
}

/// `GET api/v2/blogposts/{id}/footer-comments`
pub fn blogpost_footer_comments(call: &Call<'_>) -> Reply {
    footer_comments(call, ContentKind::BlogPost)
}

/// `GET api/v2/pages/{id}/ancestors` (nearest last, at most `limit`, no cursor: re-call
/// with the top ancestor's id for more).
pub fn page_ancestors(call: &Call<'_>) -> Reply {
    let content = match content_by_id(call, ContentKind::Page) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    let limit = match limit(call, 25) {
        Ok(l) => l,
        Err(reply) => return reply,
    };
    let ancestors = call.site.ancestors(content.id);
    let skip = ancestors.len().saturating_sub(limit);
    let results: Vec<Value> = ancestors[skip..]
        .iter()
        .map(|id| json!({"id": id.to_string(), "type": call.site.get(*id).map_or("page", |a| a.kind.api_name())}))
        .collect();
    Reply::json(json!({"results": results}))
}

/// `GET api/v2/folders/{id}`
pub fn folder_by_id(call: &Call<'_>) -> Reply {
    match content_by_id(call, ContentKind::Folder) {
        Ok(c) => {
            let mut out = json!({
                "id": c.id.to_string(),
                "type": "folder",
                "status": c.status.api_name(),
                "title": c.title,
                "spaceId": c.space_id.to_string(),
                "parentId": c.parent.map(|p| p.to_string()),
                "parentType": c.parent.map(|p| call.site.get(p).map_or("page", |parent| parent.kind.api_name())),
                "position": c.position,
                "authorId": account(call, c.creator),
                "ownerId": account(call, c.creator),
                "createdAt": call.site.format_time(c.created),
                "version": version(call, c),
                "_links": {"webui": call.render.webui(c)},
            });
            if c.parent.is_none() {
                if let Some(object) = out.as_object_mut() {
                    object.remove("parentId");
                    object.remove("parentType");
                }
            }
            Reply::json(out)
        }
        Err(reply) => reply,
    }
}
