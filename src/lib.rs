//! Confluence connector: copies Confluence (Cloud, Server, Data Center) into Elasticsearch.
//!
//! The data path runs one way: [`confluence`] (the REST client: auth, TLS, rate limit,
//! retries, pagination, and the CQL it writes) lists spaces, pages, blog posts, attachments
//! and comments; [`extract`] turns storage-format bodies and attachments into text;
//! [`rules`] applies basic sync rules; [`acl`] says who may read each document
//! (document-level security); [`elastic`] writes them with `_bulk` and keeps the index's
//! state, lease and mappings.
//!
//! [`sync`] is the one engine: [`sync::run`] runs a full, incremental or access-control sync
//! from start to end (lease, state, window, crawl, deletions, cursor), and every driver
//! calls it — the command line ([`cli`]: `check`, `sync`, `run`) and the scheduler of the
//! long-running service ([`service`], with [`schedule`] for cron and intervals). Whether a
//! sync saw all of its scope is a type ([`sync::Incomplete`]); one policy reads it before
//! anything is deleted or the cursor moves.
//!
//! Shared below everything: [`config`] (`config.yml`, checked whole at start), [`shutdown`]
//! (SIGTERM/SIGINT, and a lost lease, as one signal every wait hears), [`tls`] (the
//! certificates an administrator configured, for both ends), [`logging`] and [`memory`].

// Nothing that comes from the network, a file or the user may panic the service; tests may.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod acl;
pub mod cli;
pub mod config;
pub mod confluence;
pub mod elastic;
pub mod extract;
pub mod logging;
pub mod managed;
pub mod memory;
pub mod rules;
pub mod schedule;
pub mod service;
pub mod shutdown;
pub mod sync;
pub mod telemetry;
pub mod tls;
