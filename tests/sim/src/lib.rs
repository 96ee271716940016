//! The test world: a Confluence simulator ([`confluence`]) and an Elasticsearch test server
//! ([`elastic`]), both in-process on 127.0.0.1 for tests and as the binaries `confluence-sim`
//! and `es-sim`; [`world`] puts both together with a `config.yml` and the connector binary.
//! [`extraction`] stands in for Elastic's data extraction service.

pub mod confluence;
pub mod elastic;
pub mod extraction;
pub mod world;
