//! Cloud-only v1 routes: user search (`search/user`, offset paging that stops at 10,000),
//! group members by group id, a user's groups, one user by accountId, the attachment
//! download that redirects (302) to the media host, and the legacy `download/attachments`
//! path that refuses API-token auth (401) as Cloud now does.

use serde_json::{json, Value};

use super::v1::offset_listing;
use super::Call;
use crate::confluence::model::{ContentKind, ContentStatus, User};
use crate::confluence::reply::{Reply, ReplyBody};

/// Cloud's user search cannot page past this offset (CONFCLOUD-77954).
pub const USER_SEARCH_WINDOW: usize = 10_000;

/// `GET rest/api/search/user?cql=type=user`
pub fn search_users(call: &Call<'_>) -> Reply {
    let Some(cql) = call.param("cql").filter(|c| !c.trim().is_empty()) else {
        return Reply::v1_error(400, "CQL query parameter is required");
    };
    let normalized: String = cql.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    if !normalized.contains("type=user") {
        return Reply::v1_error(400, format!("Could not parse cql : {cql} (user search needs type=user)"));
    }
    let start = call.usize_param("start", 0).unwrap_or(0);
    if start >= USER_SEARCH_WINDOW {
        return Reply::v1_error(400, "The requested page exceeds the maximum search result window of 10000");
    }
    let users: Vec<&User> = call.site.users.iter().filter(|u| !u.removed).take(USER_SEARCH_WINDOW).collect();
    let mut reply = offset_listing(call, "/rest/api/search/user", &users, 25, 1000, false, |u| {
        json!({
            "user": call.render.user_object(u),
            "title": u.display_name,
            "excerpt": "",
            "url": format!("/people/{}", u.account_id),
            "breadcrumbs": [],
            "entityType": "user",
            "iconCssClass": "aui-icon content-type-profile",
            "lastModified": "2024-01-01T00:00:00.000Z",
            "score": 0.0
        })
    });
    if let ReplyBody::Json(body) = &mut reply.body {
        body["totalSize"] = json!(users.len());
        body["cqlQuery"] = json!(cql);
        body["searchDuration"] = json!(3);
    }
    reply
}

/// `GET rest/api/group/{groupId}/membersByGroupId`
pub fn members_by_group_id(call: &Call<'_>) -> Reply {
    let Some(group) = call.site.groups.iter().find(|g| !g.removed && g.id == call.capture(0)) else {
        return Reply::v1_error(404, format!("No group found with id: {}", call.capture(0)));
    };
    let members: Vec<u32> = group.members.iter().copied().filter(|&u| call.site.user(u).is_some()).collect();
    let path = format!("/rest/api/group/{}/membersByGroupId", group.id);
    let mut reply = offset_listing(call, &path, &members, 200, 200, false, |&u| call.render.user(u));
    if call.param("shouldReturnTotalSize") == Some("true") {
        if let ReplyBody::Json(body) = &mut reply.body {
            body["totalSize"] = json!(members.len());
        }
    }
    reply
}

/// `GET rest/api/user/memberof?accountId=`
pub fn member_of(call: &Call<'_>) -> Reply {
    let Some(index) = call.param("accountId").and_then(|a| call.site.find_user(a)) else {
        return Reply::v1_error(404, "No user found with the given accountId");
    };
    let groups: Vec<&crate::confluence::model::Group> =
        call.site.groups.iter().filter(|g| !g.removed && g.members.contains(&index)).collect();
    offset_listing(call, "/rest/api/user/memberof", &groups, 200, 200, false, |g| call.render.group(g))
}

/// `GET rest/api/user?accountId=`
pub fn user(call: &Call<'_>) -> Reply {
    match call.param("accountId").and_then(|a| call.site.find_user(a)) {
        Some(index) => Reply::json(call.render.user(index)),
        None => Reply::v1_error(404, "No user found with the given accountId"),
    }
}

/// `GET rest/api/content/{pageId}/child/attachment/{attId}/download`: 302 to the media host.
/// Only the id as listed (`att123`) is found, as on real Cloud; the bare number is a 404, so
/// a client that strips the prefix fails here as it would there.
pub fn download_redirect(call: &Call<'_>) -> Reply {
    let container = call.capture(0).parse::<u64>().ok();
    let listed = call.capture(1).strip_prefix("att").and_then(|n| n.parse::<u64>().ok());
    let attachment = listed.and_then(|id| call.site.get(id)).filter(|a| {
        a.kind == ContentKind::Attachment && a.parent == container && a.status == ContentStatus::Current
    });
    let Some((attachment, file)) = attachment.and_then(|a| a.file.as_ref().map(|f| (a, f))) else {
        return Reply::v1_error(404, format!("No attachment found with id: {}", call.capture(1)));
    };
    let token = call.media.mint(attachment.id, attachment.version);
    let location = format!(
        "{}/file/{}/binary?token={token}&client=sim-client&dl=true&name={}",
        call.media_origin,
        file.file_id,
        crate::confluence::fields::encode_path(&attachment.title)
    );
    Reply { status: 302, headers: vec![("Location".into(), location)], body: ReplyBody::Empty }
}

/// `GET download/attachments/...` on Cloud: refused for API-token basic auth.
pub fn legacy_download(_call: &Call<'_>) -> Reply {
    let mut reply = Reply::v1_error(
        401,
        "Basic authentication with API tokens is not supported for this resource; use /wiki/rest/api/content/{id}/child/attachment/{attachmentId}/download",
    );
    if let ReplyBody::Json(Value::Object(body)) = &mut reply.body {
        body.insert("reason".into(), json!("Unauthorized"));
    }
    reply
}
