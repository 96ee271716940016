//! Document-level security: who may read each document, and who each person is.
//!
//! With `use_document_level_security`, every document a sync writes carries in
//! `_allow_access_control` the identities allowed to read it ([`resolver::AclResolver`]),
//! and an access-control sync keeps one identity document per person in
//! `.search-acl-filter-<index>` ([`directory`], [`identity_doc`]) with the query that
//! filters searches for them ([`query`]). A search application looks up the person's
//! identity document and adds its query to their searches.
//!
//! The pieces: [`identity`] names people as the identity strings do; [`layer`] intersects
//! the layers of access Confluence checks (space, restricted ancestors, the page) by
//! people, not by names; [`space`] finds the API that tells who may view a space;
//! [`access_class`] maps Cloud's access classes to the accounts they cover;
//! [`once`] and [`notices`] make each fetch and each warning happen once per sync.
//!
//! A leak is the worst bug this product can have, so everything fails closed: a document
//! whose permissions cannot be read is visible to nobody, never to everybody.

mod access_class;
pub(crate) mod directory;
pub(crate) mod identity;
pub(crate) mod identity_doc;
mod layer;
mod notices;
mod once;
mod query;
mod resolver;
mod space;

// Public: what document-level security writes, as tests/dls.rs checks it.
pub use identity::NOBODY;
pub use query::DLS_QUERY;
pub(crate) use resolver::AclResolver;
