//! Confluence connector: copies Confluence (Cloud, Server, Data Center) into Elasticsearch.
//!
//! The data path runs one way: [`confluence`] (the REST client and the crawler) yields
//! documents, [`extract`] turns storage-format bodies and attachments into text, [`acl`] says
//! who may read each (document-level security), and [`elastic`] writes them with `_bulk`;
//! [`sync`] tells the story of each sync kind and [`service`] runs them on schedules.
//! [`config`] reads `config.yml`.

pub mod acl;
pub mod cli;
pub mod config;
pub mod confluence;
pub mod elastic;
pub mod extract;
pub mod logging;
pub mod memory;
pub mod rules;
pub mod schedule;
pub mod service;
pub mod sync;
