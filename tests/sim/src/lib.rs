//! The test world: a Confluence simulator ([`confluence`]) and an Elasticsearch test server
//! ([`elastic`]), both in-process on 127.0.0.1 for tests and as the binaries `confluence-sim`
//! and `es-sim`.

pub mod confluence;
pub mod elastic;
