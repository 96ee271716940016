//! The v1 REST JSON shapes (Cloud and Server/DC): content, space, user, group, label,
//! restriction and space-permission objects, with `_links` and `_expandable` where
//! Confluence puts them, and only the expansions that were requested.

use serde_json::{json, Map, Value};

use super::attachment::file_size;
use super::body::storage_body;
use super::config::Flavour;
use super::expand::Expand;
use super::generate::mix;
use super::model::{api_id, Body, Content, ContentKind, Group, Site, Space, SpacePermission, Subject, User};

/// Users and groups a restriction shows per list at most (expansions, and the system limit
/// of `byOperation` pages).
pub const RESTRICTION_LIMIT: usize = 200;

/// What every shape needs to know about the request: the site and where it is served.
pub struct Render<'a> {
    /// The site (read-locked for the whole request).
    pub site: &'a Site,
    /// Absolute base: `http://127.0.0.1:P/wiki` (Cloud) or `http://127.0.0.1:P[/context]`.
    pub base: &'a str,
    /// Context: `/wiki`, `/confluence` or `""`.
    pub context: &'a str,
}

impl Render<'_> {
    fn cloud(&self) -> bool {
        self.site.flavour == Flavour::Cloud
    }

    /// A v1 user object (Cloud: by accountId only; Server/DC: username + userKey).
    pub fn user(&self, index: u32) -> Value {
        let Some(user) = self.site.users.get(index as usize) else {
            return json!({"type": "anonymous", "displayName": "Anonymous"});
        };
        self.user_object(user)
    }

    /// See [`Render::user`].
    pub fn user_object(&self, user: &User) -> Value {
        if self.cloud() {
            json!({
                "type": "known",
                "accountId": user.account_id,
                "accountType": user.account_type.api_name(),
                "email": if user.account_type == super::model::AccountType::App { "" } else { user.email.as_str() },
                "publicName": user.display_name,
                "profilePicture": {
                    "path": format!("/wiki/aa-avatar/{}", user.account_id),
                    "width": 48, "height": 48, "isDefault": false
                },
                "displayName": user.display_name,
                "isExternalCollaborator": false,
                "_expandable": {"operations": "", "personalSpace": ""},
                "_links": {"self": format!("{}/rest/api/user?accountId={}", self.base, user.account_id)}
            })
        } else {
            json!({
                "type": "known",
                "username": user.username,
                "userKey": user.user_key,
                "profilePicture": {
                    "path": format!("{}/images/icons/profilepics/default.svg", self.context),
                    "width": 48, "height": 48, "isDefault": true
                },
                "displayName": user.display_name,
                "_links": {"self": format!("{}/rest/api/user?key={}", self.base, user.user_key)},
                "_expandable": {"status": ""}
            })
        }
    }

    /// A v1 group object (Cloud adds the group id).
    pub fn group(&self, group: &Group) -> Value {
        if self.cloud() {
            json!({
                "type": "group",
                "name": group.name,
                "id": group.id,
                "_links": {"self": format!("{}/rest/api/group/by-id?id={}", self.base, group.id)}
            })
        } else {
            json!({
                "type": "group",
                "name": group.name,
                "_links": {"self": format!("{}/rest/api/group/{}", self.base, encode_path(&group.name))}
            })
        }
    }

    /// A v1 space object.
    pub fn space(&self, space: &Space, expand: &Expand) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(space.id));
        out.insert("key".into(), json!(space.key));
        out.insert("name".into(), json!(space.name));
        if self.cloud() {
            out.insert(
                "icon".into(),
                json!({"path": "/images/logo/default-space-logo-256.png", "width": 48, "height": 48, "isDefault": false}),
            );
        }
        out.insert("type".into(), json!(space.space_type.api_name()));
        out.insert("status".into(), json!(space.status.api_name()));
        let mut expandable = Map::new();
        if expand.has("description") {
            out.insert(
                "description".into(),
                json!({"plain": {"value": space.description, "representation": "plain", "embeddedContent": []}}),
            );
        } else {
            expandable.insert("description".into(), json!(""));
        }
        if expand.has("homepage") {
            if let Some(home) = space.homepage.and_then(|id| self.site.get(id)) {
                out.insert("homepage".into(), self.content(home, expand.sub("homepage")));
            }
        } else if let Some(home) = space.homepage {
            expandable.insert("homepage".into(), json!(format!("/rest/api/content/{home}")));
        }
        if expand.has("history") {
            out.insert(
                "history".into(),
                json!({"createdDate": self.site.format_time(space.created), "createdBy": self.user(space.creator)}),
            );
        } else {
            expandable.insert("history".into(), json!(""));
        }
        if expand.has("permissions") {
            let permissions: Vec<Value> =
                space.permissions.iter().map(|p| self.space_permission(p)).collect();
            out.insert("permissions".into(), Value::Array(permissions));
        } else {
            expandable.insert("permissions".into(), json!(""));
        }
        if expand.has("metadata") {
            out.insert(
                "metadata".into(),
                json!({"labels": {"results": [], "start": 0, "limit": 200, "size": 0}}),
            );
        } else {
            expandable.insert("metadata".into(), json!(""));
        }
        for key in ["settings", "operations", "lookAndFeel", "identifiers", "theme"] {
            expandable.insert(key.into(), json!(""));
        }
        out.insert("_expandable".into(), Value::Object(expandable));
        let webui =
            if self.cloud() { format!("/spaces/{}", space.key) } else { format!("/display/{}", space.key) };
        out.insert(
            "_links".into(),
            json!({"webui": webui, "self": format!("{}/rest/api/space/{}", self.base, encode_path(&space.key))}),
        );
        Value::Object(out)
    }

    /// A v1 space permission (as `expand=permissions` shows it).
    pub fn space_permission(&self, permission: &SpacePermission) -> Value {
        let mut subjects = Map::new();
        match permission.subject {
            Subject::User(u) => {
                subjects.insert("user".into(), json!({"results": [self.user(u)], "size": 1}));
            }
            Subject::Group(g) => {
                if let Some(group) = self.site.groups.get(g as usize) {
                    subjects.insert("group".into(), json!({"results": [self.group(group)], "size": 1}));
                }
            }
            Subject::Anonymous | Subject::AccessClass(_) => {}
        }
        let mut out = json!({
            "id": permission.id,
            "operation": {"operation": permission.operation, "targetType": permission.target},
            "anonymousAccess": permission.subject == Subject::Anonymous,
            "unlicensedAccess": false
        });
        if !subjects.is_empty() {
            out["subjects"] = Value::Object(subjects);
        }
        out
    }

    /// The `ri:user` attribute naming a user in a storage body.
    pub fn user_link_attribute(&self, index: u32) -> String {
        match self.site.users.get(index as usize) {
            Some(user) if self.cloud() => format!("ri:account-id=\"{}\"", user.account_id),
            Some(user) => format!("ri:userkey=\"{}\"", user.user_key),
            None => String::new(),
        }
    }

    /// The storage-format body of a content version.
    pub fn storage(&self, content: &Content) -> String {
        if content.kind == ContentKind::Attachment {
            return String::new();
        }
        match &content.body {
            Body::Stored(text) => text.to_string(),
            Body::Generated { paragraphs } => storage_body(
                self.site.seed,
                content.id,
                content.version,
                *paragraphs,
                &self.user_link_attribute(content.creator),
            ),
        }
    }

    /// The web UI path of content (relative to the base).
    pub fn webui(&self, content: &Content) -> String {
        let space_key = self.site.spaces.get(&content.space_id).map(|s| s.key.as_str()).unwrap_or("");
        let date = chrono::DateTime::from_timestamp_millis(content.created)
            .unwrap_or_default()
            .format("%Y/%m/%d")
            .to_string();
        match (content.kind, self.cloud()) {
            (ContentKind::Page, true) => {
                format!("/spaces/{space_key}/pages/{}/{}", content.id, title_slug(&content.title))
            }
            (ContentKind::Folder, _) => format!("/spaces/{space_key}/folder/{}", content.id),
            (ContentKind::BlogPost, true) => {
                format!("/spaces/{space_key}/blog/{date}/{}/{}", content.id, title_slug(&content.title))
            }
            (ContentKind::Page, false) if title_is_url_safe(&content.title) => {
                format!("/display/{space_key}/{}", title_slug(&content.title))
            }
            (ContentKind::BlogPost, false) if title_is_url_safe(&content.title) => {
                format!("/display/{space_key}/{date}/{}", title_slug(&content.title))
            }
            (ContentKind::Page | ContentKind::BlogPost, false) => {
                format!("/pages/viewpage.action?pageId={}", content.id)
            }
            (ContentKind::Attachment, _) => {
                let container = content.parent.unwrap_or(0);
                let preview = format!("/{container}/{}/{}", content.id, content.title);
                format!(
                    "/pages/viewpageattachments.action?pageId={container}&preview={}",
                    encode_component(&preview)
                )
            }
            (ContentKind::Comment, _) => {
                let container = content.parent.unwrap_or(0);
                format!(
                    "/pages/viewpage.action?pageId={container}&focusedCommentId={}#comment-{}",
                    content.id, content.id
                )
            }
        }
    }

    /// The `_links.download` path of an attachment (relative to the base).
    pub fn download_link(&self, content: &Content) -> String {
        let container = content.parent.unwrap_or(0);
        let mut link = format!(
            "/download/attachments/{container}/{}?version={}&modificationDate={}",
            encode_path(&content.title),
            content.version,
            content.modified
        );
        if self.cloud() {
            link.push_str("&cacheVersion=1");
        }
        link.push_str("&api=v2");
        link
    }

    fn version(&self, content: &Content) -> Value {
        let mut version = json!({
            "by": self.user(content.modifier),
            "when": self.site.format_time(content.modified),
            "message": "",
            "number": content.version,
            "minorEdit": false,
            "_expandable": {"collaborators": "", "content": format!("/rest/api/content/{}", content.id)},
            "_links": {"self": format!("{}/rest/api/content/{}/version/{}", self.base, content.id, content.version)}
        });
        if self.cloud() {
            version["friendlyWhen"] = json!(self.site.format_time(content.modified));
            version["confRev"] = json!(format!("confluence${}", content.version));
            version["contentTypeModified"] = json!(false);
        } else {
            version["hidden"] = json!(false);
        }
        version
    }

    fn history(&self, content: &Content, expand: &Expand) -> Value {
        let mut history = Map::new();
        history.insert("latest".into(), json!(true));
        history.insert("createdBy".into(), self.user(content.creator));
        history.insert("createdDate".into(), json!(self.site.format_time(content.created)));
        let mut expandable = Map::new();
        if expand.has("lastUpdated") {
            history.insert(
                "lastUpdated".into(),
                json!({
                    "by": self.user(content.modifier),
                    "when": self.site.format_time(content.modified),
                    "message": "",
                    "number": content.version,
                    "minorEdit": false,
                    "_expandable": {"content": format!("/rest/api/content/{}", content.id)},
                    "_links": {"self": format!("{}/rest/api/content/{}/version/{}", self.base, content.id, content.version)}
                }),
            );
        } else {
            expandable.insert(
                "lastUpdated".into(),
                json!(format!("/rest/api/content/{}/version/{}", content.id, content.version)),
            );
        }
        for key in ["previousVersion", "contributors", "nextVersion"] {
            if expand.has(key) {
                history.insert(key.into(), Value::Null);
            } else {
                expandable.insert(key.into(), json!(""));
            }
        }
        history.insert("_expandable".into(), Value::Object(expandable));
        history.insert(
            "_links".into(),
            json!({"self": format!("{}/rest/api/content/{}/history", self.base, content.id)}),
        );
        Value::Object(history)
    }

    /// The labels of content as a v1 label array.
    pub fn labels(&self, content: &Content, start: usize, limit: usize) -> Value {
        let results: Vec<Value> =
            content.labels.iter().skip(start).take(limit).map(|name| label(name)).collect();
        let size = results.len();
        json!({
            "results": results, "start": start, "limit": limit, "size": size,
            "_links": {"self": format!("{}/rest/api/content/{}/label", self.base, content.id)}
        })
    }

    /// The read (and update) restriction of content, as the `restrictions` expansion shows
    /// it: at most [`RESTRICTION_LIMIT`] users and groups, a full list being a sign that
    /// there may be more.
    pub fn restriction(&self, content: &Content, operation: &str, expand: &Expand) -> Value {
        self.restriction_page(content, operation, expand, 0, RESTRICTION_LIMIT, false)
    }

    /// One page of a restriction's user and group lists (`byOperation/{operation}` with
    /// `start` and `limit`, both lists sliced alike); `wrong_slice` is Data Center's
    /// CONFSERVER-82460: past the first page it answers the first page again.
    pub fn restriction_page(
        &self,
        content: &Content,
        operation: &str,
        expand: &Expand,
        start: usize,
        limit: usize,
        wrong_slice: bool,
    ) -> Value {
        let restriction = if operation == "read" { content.restriction.as_deref() } else { None };
        let from = if wrong_slice { 0 } else { start };
        let slice = |total: usize| from.min(total)..(from + limit).min(total);
        let mut restrictions = Map::new();
        let mut expandable = Map::new();
        if expand.has("user") {
            let all: &[u32] = restriction.map(|r| r.users.as_slice()).unwrap_or_default();
            let users: Vec<Value> = all[slice(all.len())].iter().map(|&u| self.user(u)).collect();
            let size = users.len();
            restrictions.insert(
                "user".into(),
                json!({"results": users, "start": start, "limit": limit, "size": size}),
            );
        } else {
            expandable.insert("user".into(), json!(""));
        }
        if expand.has("group") {
            let all: Vec<&Group> = restriction
                .map(|r| r.groups.iter().filter_map(|&g| self.site.groups.get(g as usize)).collect())
                .unwrap_or_default();
            let groups: Vec<Value> = all[slice(all.len())].iter().map(|g| self.group(g)).collect();
            let size = groups.len();
            restrictions.insert(
                "group".into(),
                json!({"results": groups, "start": start, "limit": limit, "size": size}),
            );
        } else {
            expandable.insert("group".into(), json!(""));
        }
        if !expandable.is_empty() {
            restrictions.insert("_expandable".into(), Value::Object(expandable));
        }
        json!({
            "operation": operation,
            "restrictions": restrictions,
            "_expandable": {"content": format!("/rest/api/content/{}", content.id)},
            "_links": {"self": format!("{}/rest/api/content/{}/restriction/byOperation/{operation}", self.base, content.id)}
        })
    }

    /// A v1 content object with the requested expansions.
    pub fn content(&self, content: &Content, expand: &Expand) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(api_id(content.kind, content.id)));
        out.insert("type".into(), json!(content.kind.api_name()));
        out.insert("status".into(), json!(content.status.api_name()));
        out.insert("title".into(), json!(content.title));
        let mut expandable = Map::new();
        let space = self.site.spaces.get(&content.space_id);

        if expand.has("space") {
            if let Some(space) = space {
                out.insert("space".into(), self.space(space, expand.sub("space")));
            }
        } else if let Some(space) = space {
            expandable.insert("space".into(), json!(format!("/rest/api/space/{}", space.key)));
        }
        if expand.has("history") {
            out.insert("history".into(), self.history(content, expand.sub("history")));
        } else {
            expandable.insert("history".into(), json!(format!("/rest/api/content/{}/history", content.id)));
        }
        if expand.has("version") {
            out.insert("version".into(), self.version(content));
        } else {
            expandable.insert("version".into(), json!(""));
        }
        if expand.has("ancestors") {
            let ancestors: Vec<Value> = self
                .site
                .ancestors(content.id)
                .into_iter()
                .filter_map(|id| self.site.get(id))
                .map(|a| self.content(a, expand.sub("ancestors")))
                .collect();
            out.insert("ancestors".into(), Value::Array(ancestors));
        } else {
            expandable.insert("ancestors".into(), json!(""));
        }
        if expand.has("container") {
            let container = match content.kind {
                ContentKind::Attachment | ContentKind::Comment => content
                    .parent
                    .and_then(|p| self.site.get(p))
                    .map(|c| self.content(c, expand.sub("container"))),
                _ => space.map(|s| self.space(s, expand.sub("container"))),
            };
            if let Some(container) = container {
                out.insert("container".into(), container);
            }
        } else {
            let path = match (content.kind, content.parent) {
                (ContentKind::Attachment | ContentKind::Comment, Some(p)) => format!("/rest/api/content/{p}"),
                _ => format!("/rest/api/space/{}", space.map(|s| s.key.as_str()).unwrap_or("")),
            };
            expandable.insert("container".into(), json!(path));
        }
        if expand.has("children") {
            out.insert("children".into(), self.children(content, expand.sub("children")));
        } else {
            expandable.insert("children".into(), json!(format!("/rest/api/content/{}/child", content.id)));
        }
        expandable
            .insert("descendants".into(), json!(format!("/rest/api/content/{}/descendant", content.id)));
        if expand.has("body") {
            out.insert("body".into(), self.body(content, expand.sub("body")));
        } else {
            expandable.insert("body".into(), json!(""));
        }
        if expand.has("metadata") || content.kind == ContentKind::Attachment {
            out.insert("metadata".into(), self.metadata(content, expand.sub("metadata")));
        } else {
            expandable.insert("metadata".into(), json!(""));
        }
        if expand.has("restrictions") {
            let sub = expand.sub("restrictions");
            let mut restrictions = Map::new();
            for operation in ["read", "update"] {
                if sub.has(operation) {
                    restrictions.insert(
                        operation.into(),
                        self.restriction(content, operation, sub.sub(operation).sub("restrictions")),
                    );
                }
            }
            restrictions.insert(
                "_links".into(),
                json!({"self": format!("{}/rest/api/content/{}/restriction/byOperation", self.base, content.id)}),
            );
            out.insert("restrictions".into(), Value::Object(restrictions));
        } else {
            expandable.insert(
                "restrictions".into(),
                json!(format!("/rest/api/content/{}/restriction/byOperation", content.id)),
            );
        }
        expandable.insert("operations".into(), json!(""));
        match content.kind {
            ContentKind::Attachment => {
                if let Some(file) = &content.file {
                    let mut extensions = json!({
                        "mediaType": file.format.media_type(),
                        "fileSize": file_size(file),
                        "comment": file.comment,
                    });
                    if self.cloud() {
                        extensions["mediaTypeDescription"] =
                            json!(crate::confluence::model::format_description(file.format));
                        extensions["fileId"] = json!(file.file_id);
                        extensions["collectionName"] =
                            json!(format!("contentId-{}", content.parent.unwrap_or(0)));
                    }
                    out.insert("extensions".into(), extensions);
                }
            }
            ContentKind::Comment => {
                out.insert("extensions".into(), json!({"location": "footer"}));
            }
            _ => {}
        }
        if content.kind == ContentKind::Page {
            out.insert("extensions".into(), json!({"position": content.position}));
        }
        out.insert("_expandable".into(), Value::Object(expandable));
        let mut links = Map::new();
        links.insert("webui".into(), json!(self.webui(content)));
        if content.kind == ContentKind::Attachment {
            links.insert("download".into(), json!(self.download_link(content)));
        }
        if matches!(content.kind, ContentKind::Page | ContentKind::BlogPost) {
            links.insert("edit".into(), json!(format!("/pages/resumedraft.action?draftId={}", content.id)));
            links.insert("tinyui".into(), json!(format!("/x/{}", tiny_code(content.id))));
        }
        links.insert(
            "self".into(),
            json!(format!("{}/rest/api/content/{}", self.base, api_id(content.kind, content.id))),
        );
        out.insert("_links".into(), Value::Object(links));
        Value::Object(out)
    }

    fn body(&self, content: &Content, expand: &Expand) -> Value {
        let mut body = Map::new();
        let mut expandable = Map::new();
        for representation in
            ["storage", "view", "export_view", "styled_view", "editor", "anonymous_export_view"]
        {
            if expand.has(representation) {
                let value = match representation {
                    "storage" | "editor" => self.storage(content),
                    _ => super::body::plain_text(&self.storage(content)),
                };
                body.insert(
                    representation.into(),
                    json!({
                        "value": value,
                        "representation": representation,
                        "embeddedContent": [],
                        "_expandable": {"content": format!("/rest/api/content/{}", content.id)}
                    }),
                );
            } else {
                expandable.insert(representation.into(), json!(""));
            }
        }
        body.insert("_expandable".into(), Value::Object(expandable));
        Value::Object(body)
    }

    fn metadata(&self, content: &Content, expand: &Expand) -> Value {
        let mut metadata = Map::new();
        let mut expandable = Map::new();
        if expand.has("labels") {
            metadata.insert("labels".into(), self.labels(content, 0, 200));
        } else {
            expandable.insert("labels".into(), json!(""));
        }
        if let Some(file) = &content.file {
            metadata.insert("mediaType".into(), json!(file.format.media_type()));
            if !file.comment.is_empty() {
                metadata.insert("comment".into(), json!(file.comment));
            }
        }
        for key in ["currentuser", "properties", "frontend", "likes"] {
            expandable.insert(key.into(), json!(""));
        }
        metadata.insert("_expandable".into(), Value::Object(expandable));
        Value::Object(metadata)
    }

    fn children(&self, content: &Content, expand: &Expand) -> Value {
        let mut children = Map::new();
        let mut expandable = Map::new();
        for (name, ids) in [
            ("attachment", &content.attachments),
            ("comment", &content.comments),
            ("page", &content.children),
        ] {
            if expand.has(name) {
                let live: Vec<&Content> = ids
                    .iter()
                    .filter_map(|id| self.site.get(*id))
                    .filter(|c| c.status == super::model::ContentStatus::Current)
                    .collect();
                let limit = 25;
                let results: Vec<Value> =
                    live.iter().take(limit).map(|c| self.content(c, expand.sub(name))).collect();
                let size = results.len();
                let mut links = json!({
                    "self": format!("{}/rest/api/content/{}/child/{name}", self.base, content.id)
                });
                if live.len() > limit {
                    links["next"] = json!(format!(
                        "/rest/api/content/{}/child/{name}?limit={limit}&start={limit}",
                        content.id
                    ));
                }
                children.insert(
                    name.into(),
                    json!({"results": results, "start": 0, "limit": limit, "size": size, "_links": links}),
                );
            } else {
                expandable
                    .insert(name.into(), json!(format!("/rest/api/content/{}/child/{name}", content.id)));
            }
        }
        children.insert("_expandable".into(), Value::Object(expandable));
        children.insert(
            "_links".into(),
            json!({"self": format!("{}/rest/api/content/{}/child", self.base, content.id)}),
        );
        Value::Object(children)
    }

    /// The `_links` object of a v1 listing envelope.
    pub fn envelope_links(&self, self_link: &str, next: Option<String>) -> Value {
        let mut links = json!({"base": self.base, "context": self.context, "self": format!("{}{}", self.base, self_link)});
        if let Some(next) = next {
            links["next"] = json!(next);
        }
        links
    }
}

/// A v1 label object.
pub fn label(name: &str) -> Value {
    let id = mix(0x1abe1, name.bytes().fold(0u64, |acc, b| mix(acc, u64::from(b)))) % 10_000_000;
    json!({"prefix": "global", "name": name, "id": id.to_string(), "label": name})
}

/// Confluence's tiny link code: the id's little-endian bytes in base64, trimmed.
pub fn tiny_code(id: u64) -> String {
    use base64::Engine;
    let bytes = id.to_le_bytes();
    let len = bytes.iter().rposition(|&b| b != 0).map(|p| p + 1).unwrap_or(1);
    let mut padded = bytes[..len].to_vec();
    while !padded.len().is_multiple_of(3) {
        padded.push(0);
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(padded);
    encoded.trim_end_matches(['A', '=']).replace('/', "-").replace('+', "_")
}

fn title_slug(title: &str) -> String {
    url::form_urlencoded::byte_serialize(title.as_bytes()).collect()
}

fn title_is_url_safe(title: &str) -> bool {
    title.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-' || c == '.')
}

/// Percent-encodes one path segment.
pub fn encode_path(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect::<String>().replace('+', "%20")
}

fn encode_component(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_codes_look_like_confluence_ones() {
        // Page 983046 has the tiny link /x/BgAP on a real site.
        assert_eq!(tiny_code(983_046), "BgAP");
    }

    #[test]
    fn path_segments_encode_spaces_as_percent_20() {
        assert_eq!(encode_path("a b.pdf"), "a%20b.pdf");
    }
}
