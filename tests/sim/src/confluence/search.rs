//! CQL search over the site, the way Confluence's search index answers it: only current
//! content, ordered, and — when a search-index lag is configured — as the site looked before
//! the most recent edits. A query is first narrowed with the site's indexes (the spaces and
//! types its top-level `AND` clauses name), then every candidate is evaluated; the ordered
//! hit list is cached per query and site generation, so paging through a large result costs
//! one evaluation in total, not one per page.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use confluence_cql::ast::{Expr, Op, Query, Value};

use confluence_cql::{CqlError, EvalContext};

use super::cql_eval::{matches, matches_space, ContentView, SpaceView};
use super::model::{Content, ContentKind, ContentStatus, Site};

/// The outcome of one search: the ordered hits and, for hits the index has not caught up
/// with, the version the index still holds.
#[derive(Debug, Clone, Default)]
pub struct Hits {
    /// Matching content ids, in result order.
    pub ids: Arc<Vec<u64>>,
    /// Stale versions of hits (search-index lag), by id.
    pub stale: Arc<HashMap<u64, Content>>,
    /// Matching spaces (only for queries that ask for `type = space`), by id; content
    /// search ignores them, site search lists them after the content.
    pub spaces: Arc<Vec<u64>>,
}

impl Hits {
    /// The version of a hit the index shows.
    pub fn content<'a>(&'a self, site: &'a Site, id: u64) -> Option<&'a Content> {
        self.stale.get(&id).or_else(|| site.get(id))
    }
}

/// What narrows a search besides the CQL text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SearchScope {
    /// `cqlcontext.spaceKey`.
    pub space_key: Option<String>,
    /// Leave content of archived spaces out (`rest/api/search` without
    /// `includeArchivedSpaces=true`).
    pub exclude_archived_spaces: bool,
}

#[derive(Debug)]
struct LagEntry {
    /// When the change happened, on the site's clock (ms since the epoch).
    at: i64,
    id: u64,
    before: Option<Content>,
}

/// The search index of one simulator: result cache and lag overlay.
#[derive(Debug)]
pub struct SearchIndex {
    lag: Duration,
    overlay: Mutex<VecDeque<LagEntry>>,
    cache: Mutex<VecDeque<CachedHits>>,
}

const CACHE_ENTRIES: usize = 32;

/// Content ids and space ids of one result.
type IdLists = (Arc<Vec<u64>>, Arc<Vec<u64>>);

/// (query key, site generation, content hit ids, space hit ids).
type CachedHits = (String, u64, Arc<Vec<u64>>, Arc<Vec<u64>>);

impl SearchIndex {
    /// A search index that lags `lag` behind edits.
    pub fn new(lag: Duration) -> SearchIndex {
        SearchIndex { lag, overlay: Mutex::new(VecDeque::new()), cache: Mutex::new(VecDeque::new()) }
    }

    /// Called by every mutation before it changes `id` at `now_ms` (the site's clock): with a
    /// lag, the index keeps the old version (or nothing, for new content) until the lag has
    /// passed on the site's clock — so a test that advances the clock sees it run out.
    pub fn before_change(&self, id: u64, before: Option<&Content>, now_ms: i64) {
        if self.lag.is_zero() {
            return;
        }
        if let Ok(mut overlay) = self.overlay.lock() {
            if overlay.iter().any(|e| e.id == id) {
                return; // the index still holds the version from before the first edit
            }
            overlay.push_back(LagEntry { at: now_ms, id, before: before.cloned() });
        }
    }

    fn stale_versions(&self, now_ms: i64) -> HashMap<u64, Option<Content>> {
        let Ok(mut overlay) = self.overlay.lock() else {
            return HashMap::new();
        };
        let lag = i64::try_from(self.lag.as_millis()).unwrap_or(i64::MAX);
        while overlay.front().is_some_and(|e| now_ms.saturating_sub(e.at) >= lag) {
            overlay.pop_front();
        }
        overlay.iter().map(|e| (e.id, e.before.clone())).collect()
    }

    /// Runs a parsed query.
    pub fn search(
        &self,
        site: &Site,
        query: &Query,
        scope: &SearchScope,
        context: &EvalContext,
        key: &str,
    ) -> Result<Hits, CqlError> {
        let stale = self.stale_versions(site.now_ms());
        if stale.is_empty() {
            if let Some((ids, spaces)) = self.cached(key, site.generation) {
                return Ok(Hits { ids, stale: Arc::default(), spaces });
            }
        }
        let plan = Plan::of(&query.expr);
        let mut hits: Vec<&Content> = Vec::new();
        let spaces: Vec<&super::model::Space> = match (&scope.space_key, &plan.spaces) {
            (Some(key), _) => site.space_by_key(key).into_iter().collect(),
            (None, Some(keys)) => {
                site.spaces.values().filter(|s| keys.iter().any(|k| k.eq_ignore_ascii_case(&s.key))).collect()
            }
            (None, None) => site.spaces.values().collect(),
        };
        let kinds = plan.kinds.clone().unwrap_or_else(|| {
            vec![ContentKind::Page, ContentKind::BlogPost, ContentKind::Attachment, ContentKind::Comment]
        });
        let mut stale_hits: HashMap<u64, Content> = HashMap::new();
        let evaluate = |content: &Content, site: &Site| -> Result<bool, CqlError> {
            if content.status != ContentStatus::Current {
                return Ok(false);
            }
            if matches!(content.kind, ContentKind::Attachment | ContentKind::Comment)
                && !content
                    .parent
                    .and_then(|p| site.get(p))
                    .is_some_and(|c| c.status == ContentStatus::Current)
            {
                return Ok(false);
            }
            if scope.exclude_archived_spaces
                && site
                    .spaces
                    .get(&content.space_id)
                    .is_some_and(|s| s.status == super::model::SpaceStatus::Archived)
            {
                return Ok(false);
            }
            matches(&ContentView::new(site, content), query, context)
        };
        let mut consider = |id: &u64| -> Result<(), CqlError> {
            if let Some(before) = stale.get(id) {
                if let Some(old) = before {
                    if evaluate(old, site)? {
                        stale_hits.insert(*id, old.clone());
                    }
                }
                return Ok(());
            }
            if let Some(content) = site.get(*id) {
                if evaluate(content, site)? {
                    hits.push(content);
                }
            }
            Ok(())
        };
        // `ancestor in (…)`: what is below those pages, rather than the whole site.
        let below = match (&plan.ids, &plan.ancestors) {
            (None, Some(roots)) => Some(below(site, roots)),
            _ => None,
        };
        match plan.ids.as_ref().or(below.as_ref()) {
            // `id in (…)`: look the few ids up rather than evaluate the whole site.
            Some(ids) => {
                for id in ids {
                    let in_scope =
                        |c: &Content| spaces.iter().any(|s| s.id == c.space_id) && kinds.contains(&c.kind);
                    let known = stale.get(id).map(|before| before.as_ref().is_some_and(in_scope));
                    if known.unwrap_or_else(|| site.get(*id).is_some_and(in_scope)) {
                        consider(id)?;
                    }
                }
            }
            None => {
                for space in &spaces {
                    for kind in &kinds {
                        for id in space.ids(*kind) {
                            consider(id)?;
                        }
                    }
                }
            }
        }
        // Stale versions of content that has since moved or been purged.
        for (id, before) in &stale {
            if let Some(old) = before {
                let in_scope = spaces.iter().any(|s| s.id == old.space_id) && kinds.contains(&old.kind);
                if in_scope
                    && !stale_hits.contains_key(id)
                    && site.get(*id).is_none_or(|c| c.space_id != old.space_id)
                    && evaluate(old, site)?
                {
                    stale_hits.insert(*id, old.clone());
                }
            }
        }
        let mut all: Vec<&Content> = hits;
        all.extend(stale_hits.values());
        order(site, &mut all, query);
        let ids: Arc<Vec<u64>> = Arc::new(all.iter().map(|c| c.id).collect());
        let mut space_hits = Vec::new();
        if plan.space_type {
            for space in &spaces {
                let archived = space.status == super::model::SpaceStatus::Archived;
                if !(scope.exclude_archived_spaces && archived)
                    && matches_space(&SpaceView::new(site, space), query, context)?
                {
                    space_hits.push(space.id);
                }
            }
        }
        let space_hits = Arc::new(space_hits);
        if stale.is_empty() {
            self.store(key, site.generation, ids.clone(), space_hits.clone());
        }
        Ok(Hits { ids, stale: Arc::new(stale_hits), spaces: space_hits })
    }

    fn cached(&self, key: &str, generation: u64) -> Option<IdLists> {
        let cache = self.cache.lock().ok()?;
        cache
            .iter()
            .find(|(k, g, _, _)| k == key && *g == generation)
            .map(|(_, _, ids, spaces)| (ids.clone(), spaces.clone()))
    }

    fn store(&self, key: &str, generation: u64, ids: Arc<Vec<u64>>, spaces: Arc<Vec<u64>>) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|(_, g, _, _)| *g == generation);
            if cache.len() >= CACHE_ENTRIES {
                cache.pop_front();
            }
            cache.push_back((key.to_string(), generation, ids, spaces));
        }
    }
}

/// Everything below `roots`: their child pages, attachments and comments, all the way down.
fn below(site: &Site, roots: &[u64]) -> Vec<u64> {
    let mut found = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<u64> = roots.to_vec();
    while let Some(id) = stack.pop() {
        let Some(content) = site.get(id) else { continue };
        for child in content.children.iter().chain(&content.attachments).chain(&content.comments) {
            if seen.insert(*child) {
                found.push(*child);
                stack.push(*child);
            }
        }
    }
    found
}

fn order(site: &Site, hits: &mut [&Content], query: &Query) {
    hits.sort_by(|a, b| {
        confluence_cql::eval::compare(&query.order_by, &ContentView::new(site, a), &ContentView::new(site, b))
            .then(a.id.cmp(&b.id))
    });
}

/// The spaces and types a query's top-level `AND` clauses restrict it to.
#[derive(Debug, Default, PartialEq)]
struct Plan {
    spaces: Option<Vec<String>>,
    kinds: Option<Vec<ContentKind>>,
    /// The content ids a top-level `id = …` or `id in (…)` allows.
    ids: Option<Vec<u64>>,
    /// The pages a top-level `ancestor = …` or `ancestor in (…)` names: only what is below
    /// them can match.
    ancestors: Option<Vec<u64>>,
    /// The query names `type = space` (or lists `space` in `type in (…)`).
    space_type: bool,
}

impl Plan {
    fn of(expr: &Expr) -> Plan {
        let mut plan = Plan::default();
        plan.visit(expr);
        plan
    }

    fn visit(&mut self, expr: &Expr) {
        match expr {
            Expr::And(left, right) => {
                self.visit(left);
                self.visit(right);
            }
            Expr::Clause(clause) => {
                let values = match (&clause.op, &clause.value) {
                    (Op::Eq, value) => texts(std::slice::from_ref(value)),
                    (Op::In, Value::List(items)) => texts(items),
                    _ => None,
                };
                let Some(values) = values else {
                    return;
                };
                match clause.field.as_str() {
                    "space" | "space.key" => {
                        let narrowed = match self.spaces.take() {
                            Some(existing) => existing.into_iter().filter(|k| values.contains(k)).collect(),
                            None => values,
                        };
                        self.spaces = Some(narrowed);
                    }
                    "type" => {
                        self.space_type |= values.iter().any(|v| v.eq_ignore_ascii_case("space"));
                        let kinds: Vec<ContentKind> =
                            values.iter().filter_map(|v| ContentKind::parse(v)).collect();
                        let narrowed = match self.kinds.take() {
                            Some(existing) => existing.into_iter().filter(|k| kinds.contains(k)).collect(),
                            None => kinds,
                        };
                        self.kinds = Some(narrowed);
                    }
                    "id" => {
                        // Only when every value reads as an id: narrowing must never drop a match.
                        let ids: Option<Vec<u64>> =
                            values.iter().map(|v| super::model::parse_api_id(v)).collect();
                        if let Some(ids) = ids {
                            let narrowed = match self.ids.take() {
                                Some(existing) => existing.into_iter().filter(|i| ids.contains(i)).collect(),
                                None => ids,
                            };
                            self.ids = Some(narrowed);
                        }
                    }
                    "ancestor" if self.ancestors.is_none() => {
                        self.ancestors = values.iter().map(|v| super::model::parse_api_id(v)).collect();
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

fn texts(values: &[Value]) -> Option<Vec<String>> {
    values
        .iter()
        .map(|v| match v {
            Value::Text(t) => Some(t.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::config::{Flavour, SimConfig, Size};
    use crate::confluence::cql_eval::parse_cql;
    use crate::confluence::generate::generate;
    use confluence_cql::EvalContext;

    fn run(site: &Site, index: &SearchIndex, cql: &str) -> Hits {
        let query = parse_cql(cql).expect("valid cql");
        index
            .search(
                site,
                &query,
                &SearchScope::default(),
                &EvalContext::new(chrono::Utc::now(), site.time_zone),
                cql,
            )
            .expect("evaluates")
    }

    #[test]
    fn connector_shapes_find_exactly_the_current_content_of_a_space() {
        let site = generate(&SimConfig::new(Flavour::Server, Size::Small));
        let index = SearchIndex::new(Duration::ZERO);
        let eng = site.space_by_key("ENG").expect("ENG");
        let pages = run(&site, &index, "space in ('ENG') AND type=page");
        let expected = eng.pages.iter().filter(|id| site.is_live(**id)).count();
        assert_eq!(pages.ids.len(), expected);
        assert_eq!(expected, 25 + 3 + 10 + 1);
        let blogs = run(&site, &index, "space = ENG and type = blogpost");
        assert_eq!(blogs.ids.len(), 25);
        let attachments = run(&site, &index, "space in (\"ENG\") AND type = attachment");
        assert_eq!(attachments.ids.len(), 50 * 2 + 3);
    }

    #[test]
    fn id_and_ancestor_lists_are_looked_up_with_the_same_hits_as_a_full_evaluation() {
        let site = generate(&SimConfig::new(Flavour::Server, Size::Small));
        let index = SearchIndex::new(Duration::ZERO);
        let eng = site.space_by_key("ENG").expect("ENG");
        let mkt = site.space_by_key("MKT").expect("MKT");
        let mut ids: Vec<String> = eng.pages.iter().take(3).map(|id| id.to_string()).collect();
        ids.extend(mkt.pages.iter().take(2).map(|id| id.to_string()));
        ids.extend(eng.attachments.iter().take(1).map(|id| id.to_string()));
        ids.push("99999999".into());
        let list = ids.join(",");
        let home = eng.homepage.expect("home");
        for narrowed in [
            format!("type = page and ancestor in ({home},{})", ids[1]),
            format!("ancestor = {}", ids[0]),
            format!("type = page and id in ({list})"),
            format!("space = ENG and id in ({list})"),
            format!("id in ({list}) and type = attachment"),
        ] {
            // A top-level OR cannot be narrowed: every candidate is evaluated.
            let evaluated = format!("({narrowed}) or type = nosuchtype");
            let (fast, slow) = (run(&site, &index, &narrowed), run(&site, &index, &evaluated));
            assert_eq!(fast.ids, slow.ids, "{narrowed}");
            assert!(!fast.ids.is_empty(), "{narrowed}");
        }
    }

    #[test]
    fn lagging_index_hides_new_content_until_the_lag_passes() {
        let mut site = generate(&SimConfig::new(Flavour::Server, Size::Small));
        let index = SearchIndex::new(Duration::from_millis(150));
        let before = run(&site, &index, "space = MKT and type = page").ids.len();
        let eng = site.space_by_key("MKT").expect("MKT").id;
        let id = site.allocate_id();
        let mut page =
            site.content[site.space_by_key("MKT").and_then(|s| s.homepage).as_ref().expect("home")].clone();
        page.id = id;
        page.parent = None;
        page.children.clear();
        page.attachments.clear();
        page.comments.clear();
        index.before_change(id, None, site.now_ms());
        site.content.insert(id, page);
        site.spaces.get_mut(&eng).expect("space").pages.insert(id);
        site.generation += 1;
        assert_eq!(run(&site, &index, "space = MKT and type = page").ids.len(), before);
        // The lag runs on the site's clock: moving it on is as good as waiting.
        site.clock_offset_ms += 200;
        assert_eq!(run(&site, &index, "space = MKT and type = page").ids.len(), before + 1);
    }
}
