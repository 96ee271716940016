//! Server and Data Center only routes: the user list, group members by name, the DC 9.1+
//! space-permissions API (500 for non-administrators, CONFSERVER-99908), the Extender
//! plugin's endpoints (404 unless the plugin is installed), JSON-RPC
//! `getSpacePermissionSets`, and attachment bytes at `download/attachments/{id}/{file}`.

use serde_json::{json, Value};

use super::v1::offset_listing;
use super::Call;
use crate::confluence::attachment::file_bytes;
use crate::confluence::config::Flavour;
use crate::confluence::model::{ContentStatus, Space, Subject, User};
use crate::confluence::reply::{Reply, ReplyBody};

fn dc_at_least(call: &Call<'_>, major: u32, minor: u32) -> bool {
    call.site.flavour == Flavour::DataCenter && call.config.dc_version >= (major, minor)
}

fn no_route() -> Reply {
    Reply::v1_error(404, "null for uri: the requested resource does not exist")
}

/// `GET rest/api/user/list` (Data Center 8.4+).
pub fn user_list(call: &Call<'_>) -> Reply {
    if !dc_at_least(call, 8, 4) {
        return no_route();
    }
    let users: Vec<&User> = call.site.users.iter().filter(|u| !u.removed).collect();
    let with_status = call.expand().has("status");
    offset_listing(call, "/rest/api/user/list", &users, 200, 200, false, |u| {
        let mut user = call.render.user_object(u);
        if with_status {
            // `expand=status`: whether the account may still log in.
            user["status"] = json!(if u.active { "current" } else { "deactivated" });
            if let Some(expandable) = user.get_mut("_expandable").and_then(Value::as_object_mut) {
                expandable.remove("status");
            }
        }
        user
    })
}

/// `GET rest/api/user?username=` or `?key=`.
pub fn user(call: &Call<'_>) -> Reply {
    let wanted = call.param("username").or(call.param("key"));
    match wanted.and_then(|w| call.site.find_user(w)) {
        Some(index) => Reply::json(call.render.user(index)),
        None => Reply::v1_error(404, format!("No user found with key/username: {}", wanted.unwrap_or(""))),
    }
}

/// `GET rest/api/group/{name}/member`
pub fn group_members(call: &Call<'_>) -> Reply {
    let Some(group) = call.site.find_group(call.capture(0)).and_then(|g| call.site.group(g)) else {
        return Reply::v1_error(404, format!("No group found with name: {}", call.capture(0)));
    };
    let members: Vec<u32> = group.members.iter().copied().filter(|&u| call.site.user(u).is_some()).collect();
    let path = format!("/rest/api/group/{}/member", crate::confluence::fields::encode_path(&group.name));
    offset_listing(call, &path, &members, 200, 200, false, |&u| call.render.user(u))
}

fn space_or_404<'a>(call: &'a Call<'_>) -> Result<&'a Space, Reply> {
    call.site
        .space_by_key(call.capture(0))
        .ok_or_else(|| Reply::v1_error(404, format!("No space found with key : {}", call.capture(0))))
}

/// `GET rest/api/space/{key}/permissions` (Data Center 9.1+, administrators only).
pub fn space_permissions(call: &Call<'_>) -> Reply {
    if !dc_at_least(call, 9, 1) {
        return no_route();
    }
    if !call.caller_is_admin() {
        return Reply::v1_error(500, "com.atlassian.confluence.api.service.exceptions.ServiceException: Failed to read space permissions");
    }
    let space = match space_or_404(call) {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let entries: Vec<Value> = space
        .permissions
        .iter()
        .filter_map(|p| {
            let subject = match p.subject {
                Subject::User(u) => {
                    json!({"type": "user", "userKey": call.site.users.get(u as usize)?.user_key})
                }
                Subject::Group(g) => json!({"type": "group", "name": call.site.groups.get(g as usize)?.name}),
                Subject::Anonymous | Subject::AccessClass(_) => return None,
            };
            Some(json!({
                "operation": {"targetType": p.target, "operationKey": p.operation},
                "subject": subject,
                "spaceKey": space.key,
                "spaceId": space.id
            }))
        })
        .collect();
    Reply::json(Value::Array(entries))
}

/// `GET rest/api/space/{key}/permissions/anonymous` (Data Center 9.1+).
pub fn space_permissions_anonymous(call: &Call<'_>) -> Reply {
    if !dc_at_least(call, 9, 1) {
        return no_route();
    }
    if !call.caller_is_admin() {
        return Reply::v1_error(500, "com.atlassian.confluence.api.service.exceptions.ServiceException: Failed to read space permissions");
    }
    let space = match space_or_404(call) {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let entries: Vec<Value> = space
        .permissions
        .iter()
        .filter(|p| p.subject == Subject::Anonymous)
        .map(|p| {
            json!({
                "operation": {"targetType": p.target, "operationKey": p.operation},
                "spaceKey": space.key,
                "spaceId": space.id
            })
        })
        .collect();
    Reply::json(Value::Array(entries))
}

/// `GET download/attachments/{containerId}/{fileName}`: the bytes.
pub fn download(call: &Call<'_>) -> Reply {
    let container = call.capture(0).parse::<u64>().ok().and_then(|id| call.site.get(id));
    let attachment = container.and_then(|c| {
        c.attachments
            .iter()
            .filter_map(|id| call.site.get(*id))
            .find(|a| a.title == call.capture(1) && a.status == ContentStatus::Current)
    });
    let Some((attachment, file)) = attachment.and_then(|a| a.file.as_ref().map(|f| (a, f))) else {
        return Reply::v1_error(404, format!("Attachment not found: {}", call.capture(1)));
    };
    let bytes = file_bytes(file);
    Reply {
        status: 200,
        headers: vec![(
            "Content-Disposition".into(),
            format!(
                "attachment; filename*=UTF-8''{}",
                crate::confluence::fields::encode_path(&attachment.title)
            ),
        )],
        body: ReplyBody::Bytes(bytes, file.format.media_type().to_string()),
    }
}

fn extender_enabled(call: &Call<'_>) -> bool {
    call.config.extender
}

/// Extender: `GET rest/extender/1.0/permission/space/{key}/getSpacePermissionActors/{PERM|ALL}`.
pub fn extender_space_actors(call: &Call<'_>) -> Reply {
    if !extender_enabled(call) {
        return no_route();
    }
    let space = match space_or_404(call) {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let wanted = call.capture(1);
    let mut permissions = serde_json::Map::new();
    for permission in &space.permissions {
        let name = permission.server_name();
        if wanted != "ALL" && wanted != name {
            continue;
        }
        let entry = permissions
            .entry(name.to_string())
            .or_insert_with(|| json!({"anonymousAccess": false, "groups": [], "users": []}));
        match permission.subject {
            Subject::AccessClass(_) => {}
            Subject::Anonymous => entry["anonymousAccess"] = json!(true),
            Subject::Group(g) => {
                if let (Some(group), Some(list)) = (call.site.group(g), entry["groups"].as_array_mut()) {
                    list.push(json!(group.name));
                }
            }
            Subject::User(u) => {
                if let (Some(user), Some(list)) = (call.site.user(u), entry["users"].as_array_mut()) {
                    list.push(json!(user.username));
                }
            }
        }
    }
    Reply::json(json!({"permissions": permissions, "name": space.name, "key": space.key}))
}

fn extender_user(user: &User) -> Value {
    json!({
        "name": user.username,
        "fullName": user.display_name,
        "key": user.user_key,
        "email": user.email,
        "active": user.active,
        "directoryName": "Confluence Internal Directory"
    })
}

fn extender_page(call: &Call<'_>, users: Vec<&User>) -> Reply {
    let start = call.usize_param("startAt", 0).unwrap_or(0);
    let max = call.usize_param("maxResults", 50).unwrap_or(50).min(1000);
    let page: Vec<Value> = users.iter().skip(start).take(max).map(|u| extender_user(u)).collect();
    Reply::json(
        json!({"total": users.len(), "maxResults": max, "startAt": start, "users": page, "status": "success"}),
    )
}

/// Extender: `GET rest/extender/1.0/user/getUsersWithConfluenceAccess`.
pub fn extender_users(call: &Call<'_>) -> Reply {
    if !extender_enabled(call) {
        return no_route();
    }
    let users = call.site.users.iter().filter(|u| !u.removed && u.active).collect();
    extender_page(call, users)
}

/// Extender: `GET rest/extender/1.0/group/getUsers/{group}`.
pub fn extender_group_users(call: &Call<'_>) -> Reply {
    if !extender_enabled(call) {
        return no_route();
    }
    let Some(group) = call.site.find_group(call.capture(0)).and_then(|g| call.site.group(g)) else {
        return Reply::json(
            json!({"status": "error", "message": format!("Group {} not found", call.capture(0))}),
        )
        .with_status(404);
    };
    let users = group.members.iter().filter_map(|&u| call.site.user(u)).collect();
    extender_page(call, users)
}

/// `POST rpc/json-rpc/confluenceservice-v2` with `getSpacePermissionSets` (administrators
/// only; the remote API answers errors inside a 200).
pub fn json_rpc(call: &Call<'_>) -> Reply {
    let request: Value = serde_json::from_slice(&call.body).unwrap_or(Value::Null);
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request.get("method").and_then(Value::as_str).unwrap_or("");
    let error = |message: &str| {
        Reply::json(json!({"jsonrpc": "2.0", "error": {"code": 500, "message": message}, "id": id}))
    };
    if method != "getSpacePermissionSets" {
        return error(&format!("No such method: {method}"));
    }
    if !call.caller_is_admin() {
        return error(
            "com.atlassian.confluence.rpc.NotPermittedException: Not permitted to view space permissions",
        );
    }
    let key = request.get("params").and_then(|p| p.get(0)).and_then(Value::as_str).unwrap_or("");
    let Some(space) = call.site.space_by_key(key) else {
        return error(&format!(
            "com.atlassian.confluence.rpc.RemoteException: No space found for space key: {key}"
        ));
    };
    let mut sets: Vec<(String, Vec<Value>)> = Vec::new();
    for permission in &space.permissions {
        let name = permission.server_name().to_string();
        let (user_name, group_name) = match permission.subject {
            Subject::User(u) => (call.site.user(u).map(|u| u.username.clone()), None),
            Subject::Group(g) => (None, call.site.group(g).map(|g| g.name.clone())),
            Subject::Anonymous => (None, None),
            // Cloud's only: the remote API has no such grantee.
            Subject::AccessClass(_) => continue,
        };
        let entry = json!({"type": name, "userName": user_name, "groupName": group_name});
        match sets.iter_mut().find(|(n, _)| *n == name) {
            Some((_, list)) => list.push(entry),
            None => sets.push((name, vec![entry])),
        }
    }
    let result: Vec<Value> =
        sets.into_iter().map(|(name, list)| json!({"type": name, "spacePermissions": list})).collect();
    Reply::json(json!({"jsonrpc": "2.0", "result": result, "id": id}))
}
