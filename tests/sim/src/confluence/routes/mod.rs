//! The route tables of each flavour and what a route handler gets: the request's
//! parameters, the caller and a read view of the site. A route is a method plus a path
//! template (`rest/api/content/{id}/child/attachment`); the template, prefixed as the
//! client sees it (`/wiki/...` on Cloud), names the route in the request log and in fault
//! rules.

pub mod cloud_v1;
pub mod self_hosted;
pub mod v1;
pub mod v2;

use super::config::{Flavour, SimConfig};
use super::expand::Expand;
use super::fields::Render;
use super::model::Site;
use super::reply::Reply;
use super::search::SearchIndex;

/// Everything a handler may read.
pub struct Call<'a> {
    /// The site, read-locked for the request.
    pub site: &'a Site,
    /// The simulator's configuration.
    pub config: &'a SimConfig,
    /// The search index.
    pub search: &'a SearchIndex,
    /// Shapes JSON for this request.
    pub render: Render<'a>,
    /// Path parameters in template order.
    pub captures: Vec<String>,
    /// Query parameters in request order.
    pub params: Vec<(String, String)>,
    /// The path the client requested, relative to the base (for `_links.self`).
    pub relative_path: String,
    /// The caller (index into [`Site::users`]).
    pub caller: u32,
    /// Media tokens minted by this request (Cloud download redirects).
    pub media: &'a super::media::MediaTokens,
    /// Origin of the media listener.
    pub media_origin: &'a str,
    /// The request body (JSON-RPC).
    pub body: Vec<u8>,
}

impl Call<'_> {
    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of a (possibly repeated, possibly comma-separated) parameter.
    pub fn list_param(&self, name: &str) -> Vec<String> {
        self.params
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// A numeric parameter, or `default`; a value that is not a number is an error reply.
    pub fn usize_param(&self, name: &str, default: usize) -> Result<usize, Reply> {
        match self.param(name) {
            None | Some("") => Ok(default),
            Some(text) => text.parse().map_err(|_| {
                Reply::v1_error(400, format!("Invalid value '{text}' for query parameter {name}"))
            }),
        }
    }

    /// The `expand` tree.
    pub fn expand(&self) -> Expand {
        Expand::parse(self.params.iter().filter(|(k, _)| k == "expand").map(|(_, v)| v.as_str()))
    }

    /// Path capture `i`.
    pub fn capture(&self, i: usize) -> &str {
        self.captures.get(i).map(String::as_str).unwrap_or("")
    }

    /// Whether the caller is a site administrator.
    pub fn caller_is_admin(&self) -> bool {
        self.site.users.get(self.caller as usize).is_some_and(|u| u.site_admin)
    }
}

/// A route handler.
pub type Handler = fn(&Call<'_>) -> Reply;

/// One route.
#[derive(Clone, Copy)]
pub struct Route {
    /// `GET`, `POST`, …
    pub method: &'static str,
    /// Path template relative to the base, e.g. `rest/api/content/{id}/label`.
    pub template: &'static str,
    /// The handler.
    pub handler: Handler,
}

const fn get(template: &'static str, handler: Handler) -> Route {
    Route { method: "GET", template, handler }
}

const fn post(template: &'static str, handler: Handler) -> Route {
    Route { method: "POST", template, handler }
}

/// The routes a flavour serves (paths relative to `/wiki` on Cloud, to the context path on
/// Server/DC).
pub fn table(flavour: Flavour) -> Vec<Route> {
    let mut routes = vec![
        get("rest/api/space", v1::spaces),
        get("rest/api/space/{key}", v1::space),
        get("rest/api/space/{key}/content/{type}", v1::space_content),
        get("rest/api/content", v1::content_list),
        get("rest/api/content/search", v1::content_search),
        get("rest/api/search", v1::search),
        get("rest/api/content/{id}", v1::content),
        get("rest/api/content/{id}/child/attachment", v1::child_attachments),
        get("rest/api/content/{id}/child/comment", v1::child_comments),
        get("rest/api/content/{id}/child/page", v1::child_pages),
        get("rest/api/content/{id}/label", v1::labels),
        get("rest/api/content/{id}/restriction/byOperation", v1::restrictions_by_operation),
        get("rest/api/content/{id}/restriction/byOperation/{operation}", v1::restriction),
        get("rest/api/group", v1::groups),
    ];
    match flavour {
        Flavour::Cloud => routes.extend([
            get("rest/api/search/user", cloud_v1::search_users),
            get("rest/api/group/{groupId}/membersByGroupId", cloud_v1::members_by_group_id),
            get("rest/api/user/memberof", cloud_v1::member_of),
            get("rest/api/user", cloud_v1::user),
            get("rest/api/content/{id}/child/attachment/{attId}/download", cloud_v1::download_redirect),
            get("download/attachments/{id}/{file}", cloud_v1::legacy_download),
            get("api/v2/spaces", v2::spaces),
            get("api/v2/spaces/{id}", v2::space),
            get("api/v2/spaces/{id}/pages", v2::space_pages),
            get("api/v2/spaces/{id}/blogposts", v2::space_blogposts),
            get("api/v2/spaces/{id}/permissions", v2::space_permissions),
            get("api/v2/pages", v2::pages),
            get("api/v2/pages/{id}", v2::page_by_id),
            get("api/v2/blogposts", v2::blogposts),
            get("api/v2/blogposts/{id}", v2::blogpost_by_id),
            get("api/v2/pages/{id}/attachments", v2::page_attachments),
            get("api/v2/blogposts/{id}/attachments", v2::blogpost_attachments),
            get("api/v2/attachments", v2::attachments),
            get("api/v2/attachments/{id}", v2::attachment_by_id),
            get("api/v2/pages/{id}/labels", v2::page_labels),
            get("api/v2/blogposts/{id}/labels", v2::blogpost_labels),
            get("api/v2/pages/{id}/footer-comments", v2::page_footer_comments),
            get("api/v2/blogposts/{id}/footer-comments", v2::blogpost_footer_comments),
            get("api/v2/pages/{id}/ancestors", v2::page_ancestors),
            get("api/v2/folders/{id}", v2::folder_by_id),
        ]),
        Flavour::Server | Flavour::DataCenter => routes.extend([
            get("rest/api/user/list", self_hosted::user_list),
            get("rest/api/user", self_hosted::user),
            get("rest/api/group/{name}/member", self_hosted::group_members),
            get("rest/api/space/{key}/permissions", self_hosted::space_permissions),
            get("rest/api/space/{key}/permissions/anonymous", self_hosted::space_permissions_anonymous),
            get("download/attachments/{id}/{file}", self_hosted::download),
            get(
                "rest/extender/1.0/permission/space/{key}/getSpacePermissionActors/{permission}",
                self_hosted::extender_space_actors,
            ),
            get("rest/extender/1.0/user/getUsersWithConfluenceAccess", self_hosted::extender_users),
            get("rest/extender/1.0/group/getUsers/{group}", self_hosted::extender_group_users),
            post("rpc/json-rpc/confluenceservice-v2", self_hosted::json_rpc),
        ]),
    }
    routes
}

/// Finds the route for `method` and `path` (relative, no leading slash); returns it with
/// the captured path parameters (percent-decoded).
pub fn find<'r>(routes: &'r [Route], method: &str, path: &str) -> Option<(&'r Route, Vec<String>)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    'routes: for route in routes {
        if route.method != method {
            continue;
        }
        let template: Vec<&str> = route.template.split('/').collect();
        if template.len() != segments.len() {
            continue;
        }
        let mut captures = Vec::new();
        for (t, s) in template.iter().zip(&segments) {
            if t.starts_with('{') {
                if s.is_empty() {
                    continue 'routes;
                }
                captures.push(percent_decode(s));
            } else if t != s {
                continue 'routes;
            }
        }
        return Some((route, captures));
    }
    None
}

/// Decodes `%XX` escapes (and leaves `+` alone, as paths do).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(value) = u8::from_str_radix(hex, 16) {
                out.push(value);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_templates_and_capture_parameters() {
        let routes = table(Flavour::Server);
        let (route, captures) = find(&routes, "GET", "rest/api/content/123/child/attachment").expect("route");
        assert_eq!(route.template, "rest/api/content/{id}/child/attachment");
        assert_eq!(captures, ["123"]);
        let (route, captures) = find(&routes, "GET", "download/attachments/5/a%20b.pdf").expect("route");
        assert_eq!(route.template, "download/attachments/{id}/{file}");
        assert_eq!(captures, ["5", "a b.pdf"]);
        assert!(find(&routes, "GET", "api/v2/spaces").is_none());
        assert!(find(&table(Flavour::Cloud), "GET", "api/v2/spaces").is_some());
    }
}
