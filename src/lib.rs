//! Confluence connector: copies Confluence (Cloud, Server, Data Center) into Elasticsearch.
//!
//! The data path runs one way: `confluence` (the REST client: auth, TLS, rate limit,
//! retries, pagination, and the CQL it writes) lists spaces, pages, blog posts, attachments
//! and comments; `rules` applies basic sync rules; `acl` says who may read each document
//! (document-level security); `extract` turns storage-format bodies and attachments into
//! text; `elastic` writes them with `_bulk` and keeps the index's state, lease and mappings.
//!
//! `sync` is the one engine: [`sync::run`] runs a full, incremental or access-control sync
//! from start to end (lease, state, window, crawl, deletions, cursor), and every driver
//! calls it: the command line (`cli`: `check`, `sync`, `run`, `status`), the scheduler of
//! the long-running service (`service`, with `schedule` for cron and intervals) and
//! Kibana's connector protocol (`managed`). Whether a sync saw all of its scope is a type
//! ([`sync::Incomplete`]); one policy reads it before anything is deleted or the cursor
//! moves. Shared below everything: `config` (`config.yml`, checked whole at start against
//! one table of keys), `shutdown` (SIGTERM/SIGINT, and a lost lease, as one signal every
//! wait hears), `tls` (the certificates an administrator configured, for both ends),
//! `logging`, `telemetry` and `memory`.
//!
//! ```text
//! src/main.rs      the command line: parse, load config.yml, call cli
//! src/cli/         the commands (check, sync, run, status): parse, print, call the sync layer
//! src/config/      config.yml: schema (the one table of keys), layers, validation, secrets
//! src/confluence/  the REST client: transport, listings, downloads, permissions
//! src/rules/       basic sync rules
//! src/acl/         document-level security: who may read each document, identities
//! src/extract/     storage format, office, PDF and text files to text (PDFs in a child
//!                  process, `isolated`); the download byte budget, the spool of large
//!                  files on disk
//! src/sync/        the engine (run) and its stories: crawl, full, incremental, access control
//! src/elastic/     client, content index, existing ids, bulk sink, state, lease, progress
//! src/service/     `run`: timetable, clock, /healthz and /metrics
//! src/managed/     Kibana's connector protocol around the same engine
//! src/tls/         the certificates an administrator configured, for both ends
//! src/*.rs         schedule, shutdown, logging, telemetry, memory
//! ```
//!
//! # What is public
//!
//! A module is private unless the binary, the integration tests (`tests/`) or the benches
//! (`benches/`) use it; inside a public module only what it re-exports is public, and
//! `unreachable_pub` warns about any other `pub`, so that what is exposed is listed here and
//! unused code shows as dead:
//!
//! - [`cli`]: the commands `main.rs` runs, and [`cli::CliError`] with its exit codes;
//! - [`config`]: [`config::load`] (`load_with_env`, `load_str`), [`config::Config`],
//!   [`config::ConfigError`], [`config::Secret`];
//! - [`logging`]: how `main.rs` sets up the logs;
//! - [`sync`]: [`sync::run`], [`sync::SyncKind`], [`sync::SyncReport`] and the errors a
//!   sync ends with, [`sync::elastic_options`], and the document types the `bulk_encode`
//!   bench builds;
//! - [`confluence`]: the client ([`confluence::ConfluenceClient`], its options and error),
//!   as `tests/confluence_client.rs` and `tests/tls.rs` drive it;
//! - [`elastic`]: the client, index set-up, bulk sink and batches, state and lease, and one
//!   request as a sync sends it ([`elastic::send_json`]), as `tests/elastic_sink.rs`,
//!   `tests/lease.rs`, `tests/tls.rs` and the `bulk_encode` bench drive them;
//! - [`service::Metrics`]: the metrics `run` serves, as `tests/elastic_sink.rs` reads them;
//! - [`acl::NOBODY`] and [`acl::DLS_QUERY`]: what document-level security writes;
//! - at the root: [`Shutdown`], [`tune_allocator`], the text extraction the benches
//!   measure ([`storage_to_text`], [`office_text`], [`pdf_text`], [`decode_text`]), and the
//!   PDF reader's child process ([`isolated`]: `main.rs` serves it; [`PdfReader`] and
//!   [`use_program`] for the tests that run a sync in their own process).

// Nothing that comes from the network, a file or the user may panic the service; tests may.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
// A `pub` item that the public surface below does not reach is `pub(crate)`, so that what is
// exposed is what is listed here, and unused code shows as dead.
#![warn(unreachable_pub)]
// The module docs are the map of the code for those who work on it (`cargo doc
// --document-private-items`): they link to private modules on purpose.
#![allow(rustdoc::private_intra_doc_links)]

pub mod acl;
pub mod cli;
pub mod config;
pub mod confluence;
pub mod elastic;
pub mod logging;
pub mod service;
pub mod sync;

mod extract;
mod managed;
mod memory;
mod rules;
mod schedule;
mod shutdown;
mod telemetry;
mod tls;

pub use extract::isolated;
pub use extract::isolated::{use_program, PdfReader};
pub use extract::office::office_text;
pub use extract::pdf::pdf_text;
pub use extract::storage::storage_to_text;
pub use extract::text_file::decode_text;
pub use memory::tune_allocator;
pub use shutdown::Shutdown;
