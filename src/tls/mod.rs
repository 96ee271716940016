//! TLS as administrators set it up, for both ends: Confluence (`ssl_ca`) and Elasticsearch
//! (`elasticsearch.ca_certs`).
//!
//! [`pinned`] builds the rustls configuration that trusts the configured certificates as
//! roots and, when a server presents exactly one of them, as that server's own (a
//! self-signed certificate made by `openssl req -x509` is marked as a CA, which webpki
//! otherwise refuses as `CaUsedAsEndEntity`). [`refused`] finds the certificate error in a
//! failed request and says what to do about it, in the words of the end's own settings:
//! a refused certificate is never worth another try.

pub(crate) mod pinned;
pub(crate) mod refused;

pub(crate) use pinned::{client_config, read_pem};
pub(crate) use refused::{refusal, Settings};
