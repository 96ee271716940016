//! A basic rule as it is written — in `config.yml`, or in Kibana's filtering — before it is
//! checked and compiled ([`super::BasicRules::compile`]).

use serde::Deserialize;

/// One basic rule, as Elastic's framework defines it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) struct BasicRule {
    /// Rule id, named in every message about it.
    pub(crate) id: String,
    /// `include` or `exclude`.
    pub(crate) policy: String,
    /// Top-level document field.
    pub(crate) field: String,
    /// `equals`, `contains`, `starts_with`, `ends_with`, `regex`, `<`, `>`.
    pub(crate) rule: String,
    /// Value compared with.
    pub(crate) value: String,
    /// Rules apply in ascending order.
    pub(crate) order: i64,
}
