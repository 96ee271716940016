//! Wire types of the Confluence REST APIs, as the servers send them.
//!
//! [`v1`] is the classic `rest/api` (Server/DC for everything, Cloud for CQL search, search
//! and downloads); [`v2`] is Cloud's `api/v2`. Every field the real API may omit is
//! `#[serde(default)]` so that one missing optional field never fails a page; ids are accepted
//! as numbers or strings. The listings convert these into [`super::model`] types.

pub(crate) mod v1;
pub(crate) mod v2;

use serde::{Deserialize, Deserializer};

/// An id as the APIs send it: v1 space ids are numbers, everything else strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(i64),
}

impl From<Id> for String {
    fn from(id: Id) -> String {
        match id {
            Id::Text(text) => text,
            Id::Number(number) => number.to_string(),
        }
    }
}

/// Deserializes an id sent as a number or a string.
pub(crate) fn id_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Id::deserialize(deserializer).map(String::from)
}

/// Like [`id_string`] for optional ids (`null` or absent → `None`).
pub(crate) fn opt_id_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Id>::deserialize(deserializer)?.map(String::from))
}

/// Deserializes a number that may come as a string (`"1024"`) or be null.
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Int(u64),
        Float(f64),
        Text(String),
    }
    Ok(match Option::<Number>::deserialize(deserializer)? {
        Some(Number::Int(n)) => Some(n),
        Some(Number::Float(f)) if f >= 0.0 => Some(f as u64),
        Some(Number::Text(text)) => text.trim().parse().ok(),
        _ => None,
    })
}
