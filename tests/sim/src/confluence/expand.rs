//! The v1 `expand` parameter: a comma-separated list of dotted paths
//! (`body.storage,history.lastUpdated,restrictions.read.restrictions.user`) read into a tree,
//! so that each JSON shape includes exactly the properties that were asked for and lists the
//! others under `_expandable`, as Confluence does.

use std::collections::BTreeMap;

/// A node of the requested expansion tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expand {
    children: BTreeMap<String, Expand>,
}

impl Expand {
    /// Parses one or more `expand` values (each comma-separated).
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Expand {
        let mut root = Expand::default();
        for value in values {
            for path in value.split(',') {
                let path = path.trim();
                if path.is_empty() {
                    continue;
                }
                let mut node = &mut root;
                for part in path.split('.') {
                    node = node.children.entry(part.to_string()).or_default();
                }
            }
        }
        root
    }

    /// Whether `name` was asked for at this level.
    pub fn has(&self, name: &str) -> bool {
        self.children.contains_key(name)
    }

    /// The sub-tree under `name` (empty when not asked for).
    pub fn sub(&self, name: &str) -> &Expand {
        static EMPTY: Expand = Expand { children: BTreeMap::new() };
        self.children.get(name).unwrap_or(&EMPTY)
    }

    /// Whether nothing was asked for.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// Whether any requested path contains `name` at any depth.
    pub fn mentions(&self, name: &str) -> bool {
        self.children.iter().any(|(key, child)| key == name || child.mentions(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dotted_paths_into_a_tree() {
        let expand = Expand::parse(["body.storage,history.lastUpdated", "space"]);
        assert!(expand.has("body"));
        assert!(expand.sub("body").has("storage"));
        assert!(!expand.sub("body").has("view"));
        assert!(expand.sub("history").has("lastUpdated"));
        assert!(expand.has("space"));
        assert!(!expand.has("version"));
        assert!(expand.mentions("lastUpdated"));
        assert!(Expand::parse([""]).is_empty());
    }
}
