//! How CQL fields read a piece of simulated content. [`ContentView`] implements
//! `confluence-cql`'s [`Document`]: it answers `id`, `type`, `space.key`, `space.type`,
//! `space.title`, `title`, `text`, `label`, `ancestor`, `parent`, `container`, `created`,
//! `lastmodified`, `creator` and `contributor` for one content record; parsing, evaluation,
//! date functions and ordering are the crate's, so the simulator and the connector read CQL
//! the same way.

use std::borrow::Cow;

use chrono::DateTime;
use confluence_cql::ast::Query;
use confluence_cql::{CqlError, Document, EvalContext, FieldValue, FieldValues};

use super::body::plain_text;
use super::fields::Render;
use super::model::{Content, ContentKind, Site, Space};

/// One content record as CQL sees it.
pub struct ContentView<'a> {
    site: &'a Site,
    content: &'a Content,
}

impl<'a> ContentView<'a> {
    /// A view of `content` on `site`.
    pub fn new(site: &'a Site, content: &'a Content) -> ContentView<'a> {
        ContentView { site, content }
    }

    /// The full text (`text ~`): title, labels and body words (markup dropped).
    fn full_text(&self) -> String {
        let render = Render { site: self.site, base: "", context: "" };
        let body = match self.content.kind {
            ContentKind::Page | ContentKind::BlogPost | ContentKind::Comment => {
                plain_text(&render.storage(self.content))
            }
            _ => String::new(),
        };
        format!("{} {} {}", self.content.title, self.content.labels.join(" "), body)
    }

    fn users(&self, indexes: &[u32]) -> FieldValues<'a> {
        let mut values = Vec::new();
        for &index in indexes {
            if let Some(user) = self.site.users.get(index as usize) {
                values.push(FieldValue::text(&user.username));
                values.push(FieldValue::text(&user.user_key));
                values.push(FieldValue::text(&user.account_id));
            }
        }
        values
    }
}

fn time(millis: i64) -> FieldValue<'static> {
    FieldValue::Time(DateTime::from_timestamp_millis(millis).unwrap_or_default())
}

fn number(id: u64) -> FieldValue<'static> {
    FieldValue::Number(id as i64)
}

impl Document for ContentView<'_> {
    fn values(&self, field: &str) -> FieldValues<'_> {
        let c = self.content;
        let space = self.site.spaces.get(&c.space_id);
        match field {
            "id" => vec![number(c.id)],
            "type" => vec![FieldValue::text(c.kind.api_name())],
            "space.key" => space.map(|s| vec![FieldValue::text(&s.key)]).unwrap_or_default(),
            "space.type" => {
                space.map(|s| vec![FieldValue::text(s.space_type.api_name())]).unwrap_or_default()
            }
            "space.title" => space.map(|s| vec![FieldValue::text(&s.name)]).unwrap_or_default(),
            "title" => vec![FieldValue::text(&c.title)],
            "text" | "sitesearch" => vec![FieldValue::Text(Cow::Owned(self.full_text()))],
            "label" => c.labels.iter().map(|l| FieldValue::text(l)).collect(),
            "ancestor" => self
                .site
                .ancestors(c.id)
                .into_iter()
                .filter(|id| self.site.get(*id).is_some_and(|a| a.kind == ContentKind::Page))
                .map(number)
                .collect(),
            "parent" if c.kind == ContentKind::Page => c.parent.map(number).into_iter().collect(),
            "container" if matches!(c.kind, ContentKind::Attachment | ContentKind::Comment) => {
                c.parent.map(number).into_iter().collect()
            }
            "created" => vec![time(c.created)],
            "lastmodified" => vec![time(c.modified)],
            "creator" => self.users(&[c.creator]),
            "contributor" => self.users(&[c.creator, c.modifier]),
            _ => Vec::new(),
        }
    }
}

/// One space as CQL sees it (`type = space` in site search).
pub struct SpaceView<'a> {
    site: &'a Site,
    space: &'a Space,
}

impl<'a> SpaceView<'a> {
    /// A view of `space` on `site`.
    pub fn new(site: &'a Site, space: &'a Space) -> SpaceView<'a> {
        SpaceView { site, space }
    }
}

impl Document for SpaceView<'_> {
    fn values(&self, field: &str) -> FieldValues<'_> {
        let s = self.space;
        match field {
            "id" => vec![number(s.id)],
            "type" => vec![FieldValue::text("space")],
            "space.key" => vec![FieldValue::text(&s.key)],
            "space.type" => vec![FieldValue::text(s.space_type.api_name())],
            "title" | "space.title" => vec![FieldValue::text(&s.name)],
            "space.desc" => vec![FieldValue::text(&s.description)],
            "text" | "sitesearch" => {
                vec![FieldValue::Text(Cow::Owned(format!("{} {}", s.name, s.description)))]
            }
            "created" | "lastmodified" => vec![time(s.created)],
            "creator" => self
                .site
                .users
                .get(s.creator as usize)
                .map(|u| {
                    vec![
                        FieldValue::text(&u.username),
                        FieldValue::text(&u.user_key),
                        FieldValue::text(&u.account_id),
                    ]
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

/// Whether a space satisfies `query` in `context`.
pub fn matches_space(view: &SpaceView<'_>, query: &Query, context: &EvalContext) -> Result<bool, CqlError> {
    confluence_cql::matches(query, view, context)
}

/// Parses CQL with the workspace's `confluence-cql` parser and rejects fields Confluence
/// does not know, as Confluence does (400).
pub fn parse_cql(text: &str) -> Result<Query, CqlError> {
    let query = confluence_cql::parse(text)?;
    match confluence_cql::validate_fields(&query).into_iter().next() {
        Some(error) => Err(error.with_query(text)),
        None => Ok(query),
    }
}

/// Whether `view` satisfies `query` in `context`.
pub fn matches(view: &ContentView<'_>, query: &Query, context: &EvalContext) -> Result<bool, CqlError> {
    confluence_cql::matches(query, view, context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::config::{Flavour, SimConfig, Size};
    use crate::confluence::generate::generate;

    #[test]
    fn content_answers_the_cql_fields() {
        let site = generate(&SimConfig::new(Flavour::Cloud, Size::Small));
        let page = site
            .content
            .values()
            .find(|c| c.kind == ContentKind::Page && c.parent.is_some() && !c.labels.is_empty())
            .expect("page");
        let view = ContentView::new(&site, page);
        let context = EvalContext::new(chrono::Utc::now(), site.time_zone);
        let check = |cql: &str| matches(&view, &parse_cql(cql).expect("valid"), &context).expect("evaluates");
        assert!(check(&format!("id = {} and type = page", page.id)));
        assert!(check(&format!("parent = {}", page.parent.expect("parent"))));
        assert!(check(&format!("label = \"{}\"", page.labels[0])));
        assert!(check("created < now()"));
        assert!(!check("type = blogpost"));
        assert!(check(&format!("creator = \"{}\"", site.users[page.creator as usize].account_id)));
    }

    #[test]
    fn unknown_fields_are_rejected_with_a_position() {
        let error = parse_cql("type = page and lastmodifed > now(\"-1d\")").expect_err("unknown field");
        assert_eq!(error.position, 16);
        assert!(error.confluence_message().starts_with("Could not parse cql"));
    }
}
