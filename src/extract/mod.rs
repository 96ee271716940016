//! Turning Confluence storage-format bodies and attachments into the text that is indexed.
//!
//! [`storage`] reads page, blog post and comment bodies (XHTML with Confluence macros, or
//! plain HTML); [`text_file`] decides which attachments can be read as text and decodes them.
//! Office documents (DOCX, XLSX, PPTX, ODT, ODS, ODP, RTF) are read here by [`office`] and
//! PDFs by [`pdf`], in a child process of their own ([`isolated`]), when
//! `service.attachment_text` is `local`; other binary documents (legacy Office) are left to
//! the extraction service ([`service`]) or the ingest pipeline. [`budget`] bounds the memory
//! that attachment content holds on its way to Elasticsearch.

pub(crate) mod budget;
pub mod isolated;
pub(crate) mod office;
pub(crate) mod pdf;
pub(crate) mod service;
pub(crate) mod spool;
pub(crate) mod storage;
pub(crate) mod text_file;
