//! Confluence Query Language (CQL): a parser that reports the position of a mistake and what
//! was expected there, the date functions (`now("-4w")`, `startOfDay()` …) evaluated in a
//! site's time zone, the list of field names Confluence knows, and an evaluator that tests a
//! query against any content that implements [`eval::Document`].

pub mod ast;
pub mod dates;
mod error;
pub mod eval;
pub mod fields;
mod lexer;
mod parser;

pub use dates::{format_cql_datetime, resolve_date};
pub use error::{CqlError, CqlErrorKind};
pub use eval::{matches, Document, EvalContext, FieldValue, FieldValues};
pub use fields::validate_fields;
pub use parser::parse;
