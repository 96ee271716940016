//! A basic rule as it is written — in `config.yml`, or in Kibana's filtering — before it is
//! checked and compiled ([`super::BasicRules::compile`]).

use serde::Deserialize;

/// One basic rule, as Elastic's framework defines it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BasicRule {
    /// Rule id, named in every message about it.
    pub id: String,
    /// `include` or `exclude`.
    pub policy: String,
    /// Top-level document field.
    pub field: String,
    /// `equals`, `contains`, `starts_with`, `ends_with`, `regex`, `<`, `>`.
    pub rule: String,
    /// Value compared with.
    pub value: String,
    /// Rules apply in ascending order.
    pub order: i64,
}
