//! The v1 REST routes both Cloud and Server/DC serve: spaces, content by id, CQL content
//! search and site search, children (attachments, comments, pages), labels, restrictions and
//! groups. Cloud pages `content/search` with an opaque cursor; everything else pages with
//! `start`/`limit`, and on Server/DC with the hidden caps and `_links.next` bugs when quirks
//! are on.

use serde_json::{json, Value};

use super::Call;
use crate::confluence::config::Flavour;
use crate::confluence::cql_eval::parse_cql;
use crate::confluence::expand::Expand;
use crate::confluence::model::{parse_api_id, Content, ContentKind, ContentStatus, Space};
use crate::confluence::paging::{decode_cursor, encode_cursor, offset_page};
use crate::confluence::reply::Reply;
use crate::confluence::search::{Hits, SearchScope};

/// Builds an offset listing envelope over `items` (already filtered and ordered).
pub fn offset_listing<T>(
    call: &Call<'_>,
    path: &str,
    items: &[T],
    default_limit: usize,
    cap: usize,
    quirks: bool,
    render: impl Fn(&T) -> Value,
) -> Reply {
    let start = match call.usize_param("start", 0) {
        Ok(v) => v,
        Err(reply) => return reply,
    };
    let requested = match call.usize_param("limit", default_limit) {
        Ok(v) => v,
        Err(reply) => return reply,
    };
    let page = offset_page(start, requested, cap, items.len(), quirks);
    let results: Vec<Value> = items.iter().skip(start).take(page.limit).map(render).collect();
    let next =
        page.next_start.map(|next_start| next_offset_link(path, &call.params, requested, next_start, &[]));
    let size = results.len();
    let links = call.render.envelope_links(&call.relative_path, next);
    let mut body =
        json!({"results": results, "start": start, "limit": page.limit, "size": size, "_links": links});
    if start > 0 {
        let prev_start = start.saturating_sub(requested);
        body["_links"]["prev"] = json!(next_offset_link(path, &call.params, requested, prev_start, &[]));
    }
    Reply::json(body)
}

/// `path?next=true&<other params>&limit=L&start=S`, as Server/DC writes its next links.
pub fn next_offset_link(
    path: &str,
    params: &[(String, String)],
    limit: usize,
    start: usize,
    drop: &[&str],
) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    serializer.append_pair("next", "true");
    for (key, value) in params {
        if ["start", "limit", "next", "prev", "cursor"].contains(&key.as_str())
            || drop.contains(&key.as_str())
        {
            continue;
        }
        serializer.append_pair(key, value);
    }
    serializer.append_pair("limit", &limit.to_string());
    serializer.append_pair("start", &start.to_string());
    format!("{path}?{}", serializer.finish())
}

fn self_hosted(call: &Call<'_>) -> bool {
    call.site.flavour.is_self_hosted()
}

fn quirks(call: &Call<'_>) -> bool {
    self_hosted(call) && call.config.quirks
}

/// CONFSERVER-99908: expanding space permissions as a non-administrator is a 500 on
/// Server/DC.
fn permissions_expand_fails(call: &Call<'_>, expand: &Expand) -> Option<Reply> {
    (self_hosted(call) && !call.caller_is_admin() && expand.mentions("permissions")).then(|| {
        Reply::v1_error(
            500,
            "java.lang.NullPointerException: Cannot invoke \"com.atlassian.confluence.security.SpacePermission.getGroup()\"",
        )
    })
}

fn not_found(id: &str) -> Reply {
    Reply::v1_error(404, format!("No content found with id: ContentId{{id={id}}}"))
}

/// The live content with this id, or the 404 Confluence gives.
fn live_content<'a>(call: &'a Call<'_>, id: &str) -> Result<&'a Content, Reply> {
    let content = parse_api_id(id).and_then(|n| call.site.get(n)).ok_or_else(|| not_found(id))?;
    let wanted_status = call.param("status").unwrap_or("current");
    if content.status != ContentStatus::Current
        && wanted_status != "any"
        && wanted_status != content.status.api_name()
    {
        return Err(not_found(id));
    }
    Ok(content)
}

/// `GET rest/api/space`
pub fn spaces(call: &Call<'_>) -> Reply {
    let expand = call.expand();
    if let Some(reply) = permissions_expand_fails(call, &expand) {
        return reply;
    }
    let keys = call.list_param("spaceKey");
    let ids = call.list_param("spaceId");
    let space_type = call.param("type");
    let status = call.param("status");
    let spaces: Vec<&Space> = call
        .site
        .spaces
        .values()
        .filter(|s| keys.is_empty() || keys.contains(&s.key))
        .filter(|s| ids.is_empty() || ids.contains(&s.id.to_string()))
        .filter(|s| space_type.is_none_or(|t| t == s.space_type.api_name()))
        .filter(|s| status.is_none_or(|t| t == s.status.api_name()))
        .collect();
    let cap = if quirks(call) { 50 } else { 500 };
    offset_listing(call, "/rest/api/space", &spaces, 25, cap, quirks(call), |s| call.render.space(s, &expand))
}

/// `GET rest/api/space/{key}`
pub fn space(call: &Call<'_>) -> Reply {
    let expand = call.expand();
    if let Some(reply) = permissions_expand_fails(call, &expand) {
        return reply;
    }
    match call.site.space_by_key(call.capture(0)) {
        Some(space) => Reply::json(call.render.space(space, &expand)),
        None => Reply::v1_error(404, format!("No space found with key : {}", call.capture(0))),
    }
}

/// `GET rest/api/content/{id}`
pub fn content(call: &Call<'_>) -> Reply {
    let expand = call.expand();
    if let Some(reply) = permissions_expand_fails(call, &expand) {
        return reply;
    }
    match live_content(call, call.capture(0)) {
        Ok(content) => Reply::json(call.render.content(content, &expand)),
        Err(reply) => reply,
    }
}

/// The hidden page-size cap of Server/DC CQL search: 50 with a body expanded, 200 with
/// other expansions, 1000 with none. Cloud: 25 for the exported body views, else 250.
pub fn search_cap(call: &Call<'_>, expand: &Expand, content_level: bool) -> usize {
    let content = if content_level { expand } else { expand.sub("content") };
    if self_hosted(call) {
        if !call.config.quirks {
            1000
        } else if content.has("body") {
            50
        } else if !expand.is_empty() {
            200
        } else {
            1000
        }
    } else if content.sub("body").has("export_view") || content.sub("body").has("styled_view") {
        25
    } else {
        250
    }
}

/// Parses the `cql` and `cqlcontext` parameters and runs the search.
fn run_search(call: &Call<'_>, exclude_archived: bool) -> Result<Hits, Reply> {
    let cql = call
        .param("cql")
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| Reply::v1_error(400, "CQL query parameter is required"))?;
    let query = parse_cql(cql).map_err(|e| Reply::v1_error(400, e.confluence_message()))?;
    let mut scope = SearchScope { space_key: None, exclude_archived_spaces: exclude_archived };
    if let Some(context) = call.param("cqlcontext") {
        let parsed: Value = serde_json::from_str(context)
            .map_err(|_| Reply::v1_error(400, format!("Could not parse cqlcontext : {context}")))?;
        scope.space_key = parsed.get("spaceKey").and_then(Value::as_str).map(str::to_string);
    }
    let key = format!("{cql}\u{0}{:?}", scope);
    let now = call.site.now();
    let mut context = confluence_cql::EvalContext::new(now, call.site.time_zone);
    if let Some(user) = call.site.users.get(call.caller as usize) {
        let me = if call.site.flavour.is_self_hosted() { &user.user_key } else { &user.account_id };
        context = context.with_current_user(me.clone());
    }
    // CQL has minute precision: results of relative dates change at most once a minute.
    let key = format!("{key}\u{0}{}\u{0}{}", now.timestamp() / 60, call.caller);
    call.search
        .search(call.site, &query, &scope, &context, &key)
        .map_err(|e| Reply::v1_error(400, e.with_query(cql).confluence_message()))
}

/// `GET rest/api/content/search`
pub fn content_search(call: &Call<'_>) -> Reply {
    let expand = call.expand();
    if let Some(reply) = permissions_expand_fails(call, &expand) {
        return reply;
    }
    let hits = match run_search(call, false) {
        Ok(hits) => hits,
        Err(reply) => return reply,
    };
    let cap = search_cap(call, &expand, true);
    // CONFCLOUD-77618/76424: on Cloud, expanding ancestors' restrictions fails the whole
    // batch when any result has an ancestor in the trash.
    let ancestor_quirk =
        !self_hosted(call) && call.config.quirks && expand.sub("ancestors").has("restrictions");
    let broken = std::cell::Cell::new(None);
    let render = |id: &u64| {
        let Some(content) = hits.content(call.site, *id) else {
            return Value::Null;
        };
        if ancestor_quirk {
            if let Some(bad) = call
                .site
                .ancestors(content.id)
                .into_iter()
                .find(|a| call.site.get(*a).is_some_and(|c| c.status != ContentStatus::Current))
            {
                broken.set(Some(bad));
            }
        }
        call.render.content(content, &expand)
    };
    if self_hosted(call) {
        return offset_listing(call, "/rest/api/content/search", &hits.ids, 25, cap, quirks(call), render);
    }
    let reply = cursor_listing(call, "/rest/api/content/search", &hits.ids, cap, render);
    match broken.get() {
        Some(bad) => Reply::v1_error(
            404,
            format!(
                "com.atlassian.confluence.api.service.exceptions.NotFoundException: Cannot find content <ContentId{{id={bad}}}>. Outdated version/old_draft/trashed? Please provide valid ContentId."
            ),
        ),
        None => reply,
    }
}

/// `GET rest/api/content` (`spaceKey`, `type`, `status`, `title`): content of a space by
/// type, including the trash with `status=trashed`.
pub fn content_list(call: &Call<'_>) -> Reply {
    list_content(call, call.param("spaceKey"), call.param("type"), "/rest/api/content")
}

/// `GET rest/api/space/{key}/content/{type}`: the same listing for one space and type.
pub fn space_content(call: &Call<'_>) -> Reply {
    let path = format!("/rest/api/space/{}/content/{}", call.capture(0), call.capture(1));
    list_content(call, Some(call.capture(0)), Some(call.capture(1)), &path)
}

fn list_content(call: &Call<'_>, space_key: Option<&str>, kind: Option<&str>, path: &str) -> Reply {
    let expand = call.expand();
    if let Some(reply) = permissions_expand_fails(call, &expand) {
        return reply;
    }
    let kind = match kind.map(ContentKind::parse) {
        None => ContentKind::Page,
        Some(Some(kind @ (ContentKind::Page | ContentKind::BlogPost))) => kind,
        Some(_) => return Reply::v1_error(400, format!("Invalid type: {}", kind.unwrap_or(""))),
    };
    let status = call.param("status").unwrap_or("current");
    let title = call.param("title");
    let spaces: Vec<&Space> = match space_key {
        Some(key) => match call.site.space_by_key(key) {
            Some(space) => vec![space],
            None => return Reply::v1_error(404, format!("No space found with key : {key}")),
        },
        None => call.site.spaces.values().collect(),
    };
    let items: Vec<&Content> = spaces
        .iter()
        .flat_map(|s| s.ids(kind).iter())
        .filter_map(|id| call.site.get(*id))
        .filter(|c| status == "any" || c.status.api_name() == status)
        .filter(|c| title.is_none_or(|t| t == c.title))
        .collect();
    let cap = search_cap(call, &expand, true);
    offset_listing(call, path, &items, 25, cap, quirks(call), |c| call.render.content(c, &expand))
}

/// A Cloud v1 cursor listing (`content/search`).
fn cursor_listing(
    call: &Call<'_>,
    path: &str,
    items: &[u64],
    cap: usize,
    render: impl Fn(&u64) -> Value,
) -> Reply {
    let position = match call.param("cursor") {
        None | Some("") => 0,
        Some(cursor) => match decode_cursor(cursor) {
            Some(p) => p as usize,
            None => return Reply::v1_error(400, format!("Invalid cursor: {cursor}")),
        },
    };
    let limit = match call.usize_param("limit", 25) {
        Ok(l) => l.clamp(1, cap),
        Err(reply) => return reply,
    };
    let results: Vec<Value> = items.iter().skip(position).take(limit).map(render).collect();
    let returned = results.len();
    let cursor_link = |to: usize, direction: &str| {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        serializer.append_pair(direction, "true");
        serializer.append_pair("cursor", &encode_cursor(to as u64));
        for (key, value) in &call.params {
            if !["cursor", "next", "prev", "limit", "start"].contains(&key.as_str()) {
                serializer.append_pair(key, value);
            }
        }
        serializer.append_pair("limit", &limit.to_string());
        format!("{path}?{}", serializer.finish())
    };
    let next = (position + returned < items.len()).then(|| cursor_link(position + returned, "next"));
    let mut links = call.render.envelope_links(&call.relative_path, next);
    if position > 0 {
        links["prev"] = json!(cursor_link(position.saturating_sub(limit), "prev"));
    }
    Reply::json(
        json!({"results": results, "start": position, "limit": limit, "size": returned, "_links": links}),
    )
}

/// `GET rest/api/search`
pub fn search(call: &Call<'_>) -> Reply {
    let expand = call.expand();
    if let Some(reply) = permissions_expand_fails(call, &expand) {
        return reply;
    }
    let include_archived = call.param("includeArchivedSpaces") == Some("true");
    let hits = match run_search(call, !include_archived) {
        Ok(hits) => hits,
        Err(reply) => return reply,
    };
    let cap = search_cap(call, &expand, false);
    let all: Vec<u64> = hits.ids.iter().chain(hits.spaces.iter()).copied().collect();
    let render = |id: &u64| -> Value {
        if let Some(content) = hits.content(call.site, *id) {
            return search_result(call, content, &expand);
        }
        match call.site.spaces.get(id) {
            Some(space) => space_result(call, space, &expand),
            None => Value::Null,
        }
    };
    let started = std::time::Instant::now();
    let mut reply = if self_hosted(call) {
        let mut reply = offset_listing(call, "/rest/api/search", &all, 25, cap, false, render);
        if call.config.quirks {
            // Server/DC: the next link drops the `cql` parameter, so following it fails
            // with "CQL query parameter is required" (Elastic #3320).
            if let crate::confluence::reply::ReplyBody::Json(body) = &mut reply.body {
                let start = body["start"].as_u64().unwrap_or(0) as usize;
                let size = body["size"].as_u64().unwrap_or(0) as usize;
                let limit = call.usize_param("limit", 25).unwrap_or(25);
                if start + size < all.len() {
                    body["_links"]["next"] = json!(next_offset_link(
                        "/rest/api/search",
                        &call.params,
                        limit,
                        start + size,
                        &["cql"]
                    ));
                }
            }
        }
        reply
    } else {
        cursor_listing(call, "/rest/api/search", &all, cap, render)
    };
    if let crate::confluence::reply::ReplyBody::Json(body) = &mut reply.body {
        body["totalSize"] = json!(all.len());
        body["cqlQuery"] = json!(call.param("cql").unwrap_or(""));
        body["searchDuration"] = json!(started.elapsed().as_millis() as u64 + 1);
        body["archivedResultCount"] = json!(0);
    }
    reply
}

fn space_result(call: &Call<'_>, space: &Space, expand: &Expand) -> Value {
    let created = chrono::DateTime::from_timestamp_millis(space.created).unwrap_or_default();
    let url = if call.site.flavour == Flavour::Cloud {
        format!("/spaces/{}", space.key)
    } else {
        format!("/display/{}", space.key)
    };
    json!({
        "space": call.render.space(space, expand.sub("space")),
        "title": space.name,
        "excerpt": space.description,
        "url": url,
        "breadcrumbs": [],
        "entityType": "space",
        "iconCssClass": "aui-icon space-avatar-project",
        "lastModified": call.site.format_time(space.created),
        "friendlyLastModified": created.format("%b %d, %Y").to_string(),
        "score": 0.0
    })
}

fn search_result(call: &Call<'_>, content: &Content, expand: &Expand) -> Value {
    let space = call.site.spaces.get(&content.space_id);
    let icon = match content.kind {
        ContentKind::Page => "aui-iconfont-page-default",
        ContentKind::BlogPost => "aui-iconfont-blogpost",
        ContentKind::Attachment => "aui-iconfont-file-generic",
        ContentKind::Comment => "aui-iconfont-comment",
        ContentKind::Folder => "aui-iconfont-folder",
    };
    let modified = chrono::DateTime::from_timestamp_millis(content.modified).unwrap_or_default();
    let last_modified = match call.site.flavour {
        Flavour::Cloud => modified.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        _ => call.site.format_time(content.modified),
    };
    let excerpt: String = match content.body {
        crate::confluence::model::Body::Generated { paragraphs } if paragraphs > 50 => String::new(),
        _ => crate::confluence::body::plain_text(&call.render.storage(content))
            .split_whitespace()
            .take(30)
            .collect::<Vec<_>>()
            .join(" "),
    };
    json!({
        "content": call.render.content(content, expand.sub("content")),
        "title": content.title,
        "excerpt": excerpt,
        "url": call.render.webui(content),
        "resultGlobalContainer": space.map(|s| json!({
            "title": s.name,
            "displayUrl": if call.site.flavour == Flavour::Cloud { format!("/spaces/{}", s.key) } else { format!("/display/{}", s.key) }
        })),
        "breadcrumbs": [],
        "entityType": "content",
        "iconCssClass": icon,
        "lastModified": last_modified,
        "friendlyLastModified": modified.format("%b %d, %Y").to_string(),
        "score": 0.0
    })
}

fn child_listing(call: &Call<'_>, kind: ContentKind, path_leaf: &str) -> Reply {
    let expand = call.expand();
    let container = match live_content(call, call.capture(0)) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    let ids = match kind {
        ContentKind::Attachment => &container.attachments,
        ContentKind::Comment => &container.comments,
        _ => &container.children,
    };
    let filename = call.param("filename");
    let media_type = call.param("mediaType");
    let items: Vec<&Content> = ids
        .iter()
        .filter_map(|id| call.site.get(*id))
        .filter(|c| c.status == ContentStatus::Current)
        .filter(|c| filename.is_none_or(|f| f == c.title))
        .filter(|c| {
            media_type.is_none_or(|m| c.file.as_ref().is_some_and(|file| file.format.media_type() == m))
        })
        .collect();
    let path = format!("/rest/api/content/{}/child/{path_leaf}", container.id);
    let default_limit = 25;
    offset_listing(call, &path, &items, default_limit, 200, quirks(call), |c| call.render.content(c, &expand))
}

/// `GET rest/api/content/{id}/child/attachment`
pub fn child_attachments(call: &Call<'_>) -> Reply {
    child_listing(call, ContentKind::Attachment, "attachment")
}

/// `GET rest/api/content/{id}/child/comment`
pub fn child_comments(call: &Call<'_>) -> Reply {
    child_listing(call, ContentKind::Comment, "comment")
}

/// `GET rest/api/content/{id}/child/page`
pub fn child_pages(call: &Call<'_>) -> Reply {
    child_listing(call, ContentKind::Page, "page")
}

/// `GET rest/api/content/{id}/label`
pub fn labels(call: &Call<'_>) -> Reply {
    let content = match live_content(call, call.capture(0)) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    let prefix = call.param("prefix");
    let names: Vec<&String> =
        content.labels.iter().filter(|_| prefix.is_none_or(|p| p == "global")).collect();
    let path = format!("/rest/api/content/{}/label", content.id);
    offset_listing(call, &path, &names, 200, 200, false, |name| crate::confluence::fields::label(name))
}

/// `GET rest/api/content/{id}/restriction/byOperation`
pub fn restrictions_by_operation(call: &Call<'_>) -> Reply {
    let content = match live_content(call, call.capture(0)) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    let expand = call.expand();
    let mut body = json!({
        "_links": {"base": call.render.base, "context": call.render.context, "self": format!("{}/rest/api/content/{}/restriction/byOperation", call.render.base, content.id)}
    });
    for operation in ["read", "update"] {
        body[operation] =
            call.render.restriction(content, operation, expand.sub(operation).sub("restrictions"));
    }
    Reply::json(body)
}

/// `GET rest/api/content/{id}/restriction/byOperation/{operation}` (users and groups are
/// expanded by default).
pub fn restriction(call: &Call<'_>) -> Reply {
    let content = match live_content(call, call.capture(0)) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    let operation = call.capture(1);
    if operation != "read" && operation != "update" {
        return Reply::v1_error(400, format!("Invalid operation: {operation}"));
    }
    // Cloud's v1 may not know folders (then the restrictions of a folder 404 while the
    // folder exists).
    if content.kind == ContentKind::Folder && !call.config.v1_folder_restrictions {
        return not_found(call.capture(0));
    }
    let requested = call.expand();
    let expand = if requested.is_empty() {
        Expand::parse(["restrictions.user,restrictions.group"])
    } else {
        requested
    };
    let start = match call.usize_param("start", 0) {
        Ok(start) => start,
        Err(reply) => return reply,
    };
    let limit = match call.usize_param("limit", 100) {
        Ok(limit) => limit.min(crate::confluence::fields::RESTRICTION_LIMIT),
        Err(reply) => return reply,
    };
    let wrong_slice = self_hosted(call) && call.config.quirks && start > 0;
    let mut body = call.render.restriction_page(
        content,
        operation,
        expand.sub("restrictions"),
        start,
        limit,
        wrong_slice,
    );
    if expand.has("content") {
        body["content"] = call.render.content(content, &Expand::default());
    }
    Reply::json(body)
}

/// `GET rest/api/group`
pub fn groups(call: &Call<'_>) -> Reply {
    let groups: Vec<&crate::confluence::model::Group> =
        call.site.groups.iter().filter(|g| !g.removed).collect();
    offset_listing(call, "/rest/api/group", &groups, 200, 1000, false, |g| call.render.group(g))
}
