//! The rules stage of the data path: which crawled documents are indexed.
//!
//! ```text
//! crawl ──► rules ──► ACL ──► extraction ──► bulk sink
//! ```
//!
//! Elastic's connectors have two kinds of sync rules, and so do we:
//! - **Advanced rules** are CQL queries. Confluence runs them (through its search API), so
//!   they decide what is crawled at all; they are not part of this module.
//! - **Basic rules** ([`basic`]) are include/exclude rules on document fields
//!   (`title starts_with "Draft"`, `_timestamp < 2023-01-01`). They filter each document
//!   locally, right after the crawl and before access control and text extraction, so a
//!   dropped document costs no ACL lookup and no attachment download. They see the document
//!   as it will be serialised, without its extracted content.
//!
//! A document the basic rules filter out is not indexed, and is counted as "filtered" in
//! the sync report; if an earlier sync indexed it, the end of a full sync deletes it, as it
//! deletes any document the crawl no longer yields.

mod basic;

pub(crate) use basic::{BasicRule, BasicRules, RuleError};
