//! A small runner for tests in the format of Elasticsearch's YAML REST tests, enough for the
//! connector suites (ours in `tests/sim/yaml-rest/`, and Elasticsearch's entsearch ones when
//! pointed at them): it reads a file into its `setup`, `teardown` and sections ([`suite`]),
//! turns each `do` into an HTTP request through the API table ([`api`]), keeps the `$stash`
//! ([`stash`]), and checks `match`, `length`, `is_true`, `is_false`, `exists`,
//! `gt`/`lt`/`gte`/`lte` and `is_after` ([`assertions`]). Each section runs against a fresh
//! server, which is what Elasticsearch's runner gets by wiping the cluster between tests.

// Each test binary that includes the runner uses a part of it.
#![allow(dead_code)]

pub mod api;
pub mod assertions;
pub mod runner;
pub mod stash;
pub mod suite;
