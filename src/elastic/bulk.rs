//! Bulk operations and their NDJSON encoding.
//!
//! An [`Operation`] becomes one or two `_bulk` lines written straight into the batch's
//! buffer with `serde_json::to_writer` — no intermediate `String` per document:
//!
//! ```text
//! {"index":{"_id":"123"}}
//! {"title":"Home",...}
//! {"delete":{"_id":"456"}}
//! ```
//!
//! The index is named once in the request path (`POST /{index}/_bulk`), not on every line.
//! An `_id` longer than 512 bytes (Elasticsearch's limit) is replaced by the MD5 hex of it,
//! as the Elastic connector does, so the same document always gets the same id.

use std::borrow::Cow;
use std::fmt;
use std::io::Write;

use bytes::{Bytes, BytesMut};
use md5::{Digest, Md5};
use serde::Serialize;

use super::error::ElasticError;
use crate::extract::spool::SpooledFile;

/// Bytes an arena of serialised documents grows by.
const ARENA_CHUNK: usize = 256 * 1024;

thread_local! {
    static ARENA: std::cell::RefCell<BytesMut> = std::cell::RefCell::new(BytesMut::new());
}

/// Elasticsearch's limit on the UTF-8 length of `_id`.
pub(crate) const MAX_ID_BYTES: usize = 512;

/// The kind of a bulk operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// Index (create or replace) a document.
    Index,
    /// Delete a document.
    Delete,
}

impl OpKind {
    /// The `_bulk` action name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OpKind::Index => "index",
            OpKind::Delete => "delete",
        }
    }

    /// NDJSON lines the operation takes.
    pub(crate) fn lines(self) -> usize {
        match self {
            OpKind::Index => 2,
            OpKind::Delete => 1,
        }
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A document source to index.
#[derive(Debug, Clone)]
pub enum Document {
    /// A JSON value, serialized into the bulk buffer.
    Json(serde_json::Value),
    /// An already serialized JSON object on one line, copied as is.
    Raw(Bytes),
    /// A serialized JSON object and a file, written as that object with the file added as
    /// base64 `_attachment` for the ingest pipeline, straight into the bulk buffer: never as
    /// a base64 string beside a serialized copy of it.
    WithFile {
        /// The other fields (a one-line JSON object, without `_attachment`).
        json: Bytes,
        /// The file.
        file: Attached,
    },
}

/// A file to be written as base64 `_attachment`.
#[derive(Debug, Clone)]
pub enum Attached {
    /// Its bytes, as downloaded: encoded into the bulk buffer.
    Bytes(Bytes),
    /// Its base64, spooled to disk as it downloaded ([`crate::extract::spool`]): copied into
    /// the bulk buffer.
    Base64(SpooledFile),
}

impl Attached {
    /// Bytes of its base64.
    pub fn base64_len(&self) -> usize {
        match self {
            Attached::Bytes(bytes) => base64_len(bytes.len()),
            Attached::Base64(file) => usize::try_from(file.len()).unwrap_or(usize::MAX),
        }
    }

    /// Bytes of the file itself.
    pub fn file_len(&self) -> u64 {
        match self {
            Attached::Bytes(bytes) => bytes.len() as u64,
            Attached::Base64(file) => file.raw_len(),
        }
    }
}

impl From<Bytes> for Attached {
    fn from(bytes: Bytes) -> Attached {
        Attached::Bytes(bytes)
    }
}

impl PartialEq for Attached {
    fn eq(&self, other: &Attached) -> bool {
        match (self, other) {
            (Attached::Bytes(a), Attached::Bytes(b)) => a == b,
            (Attached::Base64(a), Attached::Base64(b)) => a.same(b),
            _ => false,
        }
    }
}

impl Document {
    /// Serializes any document (e.g. the sync's `Indexed` view) once, into bytes the sink
    /// copies into its batch.
    ///
    /// The bytes are cut from a per-thread arena (a `BytesMut` that is split, never copied),
    /// so a document costs no allocation of its own nor the copies of a growing `Vec`; an
    /// arena chunk is freed once every document cut from it has been written into a batch.
    pub fn serialize<T: Serialize + ?Sized>(id: &str, doc: &T) -> Result<Document, ElasticError> {
        serialize_in_arena(id, doc).map(Document::Raw)
    }

    /// Serializes `doc` (an object) like [`Document::serialize`], with `file` to be added as
    /// base64 `_attachment` when it is written ([`Document::WithFile`]).
    pub fn serialize_with_file<T: Serialize + ?Sized>(
        id: &str,
        doc: &T,
        file: impl Into<Attached>,
    ) -> Result<Document, ElasticError> {
        Document::with_file(id, serialize_in_arena(id, doc)?, file)
    }

    /// Pre-serialized JSON; refused when it holds a raw newline (it would break NDJSON).
    pub(crate) fn raw(id: &str, json: Bytes) -> Result<Document, ElasticError> {
        let json = match json.last() {
            Some(b'\n') => json.slice(..json.len() - 1),
            _ => json,
        };
        if json.contains(&b'\n') {
            return Err(ElasticError::Document {
                id: id.to_string(),
                reason: "pre-serialized JSON must be on one line".to_string(),
            });
        }
        Ok(Document::Raw(json))
    }

    /// `json` (a serialized object, see [`Document::raw`]) with `file` to be added as base64
    /// `_attachment` when it is written.
    pub fn with_file(id: &str, json: Bytes, file: impl Into<Attached>) -> Result<Document, ElasticError> {
        match Document::raw(id, json)? {
            Document::Raw(json) if json.last() == Some(&b'}') => {
                Ok(Document::WithFile { json, file: file.into() })
            }
            _ => Err(ElasticError::Document {
                id: id.to_string(),
                reason: "a document carrying a file must be a JSON object".to_string(),
            }),
        }
    }
}

/// Serializes `doc` into bytes cut from the per-thread arena (see [`Document::serialize`]).
fn serialize_in_arena<T: Serialize + ?Sized>(id: &str, doc: &T) -> Result<Bytes, ElasticError> {
    ARENA.with(|arena| {
        let mut arena = arena.borrow_mut();
        if arena.capacity() < ARENA_CHUNK / 16 {
            arena.reserve(ARENA_CHUNK);
        }
        match serde_json::to_writer(Append(&mut arena), doc) {
            Ok(()) => Ok(arena.split().freeze()),
            Err(e) => {
                arena.clear();
                Err(ElasticError::Document { id: id.to_string(), reason: e.to_string() })
            }
        }
    })
}

/// The key a file's base64 follows (after a comma; a closing `"}` follows it).
const ATTACHMENT_KEY: &[u8] = b"\"_attachment\":\"";

/// The base64 length of `bytes` bytes (padded).
fn base64_len(bytes: usize) -> usize {
    bytes.div_ceil(3) * 4
}

/// One change to the content index.
#[derive(Debug, Clone)]
pub enum Operation {
    /// Index `doc` under `id` (replacing any previous version).
    Index {
        /// `_id`.
        id: String,
        /// `_source`.
        doc: Document,
    },
    /// Delete the document `id`.
    Delete {
        /// `_id`.
        id: String,
    },
}

impl Operation {
    /// The id as given by the caller.
    pub(crate) fn id(&self) -> &str {
        match self {
            Operation::Index { id, .. } | Operation::Delete { id } => id,
        }
    }

    /// The kind.
    pub(crate) fn kind(&self) -> OpKind {
        match self {
            Operation::Index { .. } => OpKind::Index,
            Operation::Delete { .. } => OpKind::Delete,
        }
    }

    /// About the bytes its NDJSON lines take: what it counts for in the sink's queue.
    pub(crate) fn queued_size(&self) -> usize {
        // `{"index":{"_id":""}}` and two newlines.
        const ACTION: usize = 24;
        match self {
            Operation::Delete { id } => ACTION + id.len(),
            Operation::Index { id, doc: Document::Raw(bytes) } => ACTION + id.len() + bytes.len(),
            Operation::Index { id, doc: Document::Json(value) } => ACTION + id.len() + json_size(value),
            Operation::Index { id, doc: Document::WithFile { json, file } } => {
                ACTION + id.len() + json.len() + ATTACHMENT_KEY.len() + 3 + file.base64_len()
            }
        }
    }
}

/// About the serialised length of `value`, without serialising it.
fn json_size(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 20,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|v| json_size(v) + 1).sum::<usize>(),
        Value::Object(map) => 2 + map.iter().map(|(k, v)| k.len() + 4 + json_size(v)).sum::<usize>(),
    }
}

/// The `_id` Elasticsearch gets for `id`: itself, or its MD5 hex when over 512 bytes.
pub fn elasticsearch_id(id: &str) -> Cow<'_, str> {
    if id.len() <= MAX_ID_BYTES {
        return Cow::Borrowed(id);
    }
    let digest = Md5::digest(id.as_bytes());
    let mut hex = String::with_capacity(32);
    for byte in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    Cow::Owned(hex)
}

#[derive(Serialize)]
struct ActionMeta<'a> {
    #[serde(rename = "_id")]
    id: &'a str,
}

#[derive(Serialize)]
enum Action<'a> {
    #[serde(rename = "index")]
    Index(ActionMeta<'a>),
    #[serde(rename = "delete")]
    Delete(ActionMeta<'a>),
}

/// Appends the NDJSON lines of `op` to `buf`. On error `buf` is left as it was.
pub(crate) fn encode(op: &Operation, buf: &mut BytesMut) -> Result<(), ElasticError> {
    let start = buf.len();
    let result = encode_lines(op, buf);
    if result.is_err() {
        buf.truncate(start);
    }
    result.map_err(|e| ElasticError::Document { id: op.id().to_string(), reason: e.to_string() })
}

fn encode_lines(op: &Operation, buf: &mut BytesMut) -> std::io::Result<()> {
    let id = elasticsearch_id(op.id());
    let action = match op {
        Operation::Index { .. } => Action::Index(ActionMeta { id: &id }),
        Operation::Delete { .. } => Action::Delete(ActionMeta { id: &id }),
    };
    serde_json::to_writer(Append(buf), &action)?;
    buf.extend_from_slice(b"\n");
    if let Operation::Index { doc, .. } = op {
        match doc {
            Document::Json(value) => serde_json::to_writer(Append(buf), value)?,
            Document::Raw(bytes) => buf.extend_from_slice(bytes),
            Document::WithFile { json, file } => write_with_file(json, file, buf)?,
        }
        buf.extend_from_slice(b"\n");
    }
    Ok(())
}

/// Writes `json` (an object) with `file` added as base64 `_attachment`, the base64 encoded
/// (or copied from its spool) in place: the buffer grows once, by exactly what is written.
/// Fails only when a spool cannot be read.
fn write_with_file(json: &[u8], file: &Attached, buf: &mut BytesMut) -> std::io::Result<()> {
    use base64::Engine;
    if matches!(file, Attached::Base64(spool) if !spool.is_base64()) {
        return Err(std::io::Error::other("its spooled file holds the file, not its base64"));
    }
    // `json` ends with `}` (checked by `Document::with_file`); an empty object takes no comma.
    let head = &json[..json.len() - 1];
    let empty = head.iter().all(|b| *b == b'{' || b.is_ascii_whitespace());
    let encoded = file.base64_len();
    buf.reserve(head.len() + 1 + ATTACHMENT_KEY.len() + encoded + 2);
    buf.extend_from_slice(head);
    if !empty {
        buf.extend_from_slice(b",");
    }
    buf.extend_from_slice(ATTACHMENT_KEY);
    let start = buf.len();
    buf.resize(start + encoded, 0);
    match file {
        Attached::Bytes(bytes) => {
            let written =
                base64::engine::general_purpose::STANDARD.encode_slice(bytes, &mut buf[start..]).unwrap_or(0);
            // The length is exact; a shorter write would only mean a bug here, never bad input.
            buf.truncate(start + written);
        }
        Attached::Base64(spool) => spool.read_into(&mut buf[start..]).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("its file, spooled to a temporary file, cannot be read back: {e}"),
            )
        })?,
    }
    buf.extend_from_slice(b"\"}");
    Ok(())
}

/// `io::Write` straight onto a `BytesMut`: serde_json writes many tiny slices, and
/// `BufMut::writer`'s generic `put` costs more per slice than the copy itself.
struct Append<'a>(&'a mut BytesMut);

impl Write for Append<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encoded(op: &Operation) -> String {
        let mut buf = BytesMut::new();
        encode(op, &mut buf).unwrap();
        String::from_utf8(buf.to_vec()).unwrap()
    }

    #[test]
    fn index_and_delete_lines() {
        let index = Operation::Index {
            id: "p-1".into(),
            doc: Document::Json(json!({"n": 1, "title": "Home\nPage"})),
        };
        assert_eq!(encoded(&index), "{\"index\":{\"_id\":\"p-1\"}}\n{\"n\":1,\"title\":\"Home\\nPage\"}\n");
        assert_eq!(encoded(&Operation::Delete { id: "p\"2".into() }), "{\"delete\":{\"_id\":\"p\\\"2\"}}\n");
    }

    #[test]
    fn raw_documents_are_copied_and_must_be_one_line() {
        let doc = Document::raw("a", Bytes::from_static(b"{\"x\":1}\n")).unwrap();
        assert_eq!(
            encoded(&Operation::Index { id: "a".into(), doc }),
            "{\"index\":{\"_id\":\"a\"}}\n{\"x\":1}\n"
        );
        let err = Document::raw("b", Bytes::from_static(b"{\n\"x\":1}")).unwrap_err();
        assert!(err.to_string().contains("document [b]"), "{err}");
        let doc = Document::serialize("c", &json!({"y": [1, 2]})).unwrap();
        assert_eq!(
            encoded(&Operation::Index { id: "c".into(), doc }),
            "{\"index\":{\"_id\":\"c\"}}\n{\"y\":[1,2]}\n"
        );
        // Documents cut from the arena one after another stay whole, small or large.
        let big = "z".repeat(3 * ARENA_CHUNK);
        let docs: Vec<Document> = (0..50)
            .map(|i| {
                Document::serialize("d", &json!({"i": i, "s": if i % 10 == 0 { big.as_str() } else { "x" }}))
                    .unwrap()
            })
            .collect();
        for (i, doc) in docs.iter().enumerate() {
            let Document::Raw(bytes) = doc else { panic!("raw") };
            let back: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            assert_eq!(back["i"], i);
        }
        // A document that cannot be serialised leaves nothing behind in the arena.
        let mut bad = std::collections::HashMap::new();
        bad.insert(vec![1u8], 1);
        assert!(Document::serialize("e", &bad).is_err());
        let Document::Raw(after) = Document::serialize("f", &json!({"ok": true})).unwrap() else { panic!() };
        assert_eq!(&after[..], b"{\"ok\":true}");
    }

    #[test]
    fn the_queued_size_follows_the_encoded_size() {
        let raw = Operation::Index {
            id: "p-1".into(),
            doc: Document::raw("p-1", Bytes::from("{\"x\":1}")).unwrap(),
        };
        let json = Operation::Index { id: "p-1".into(), doc: Document::Json(json!({"x": "a", "y": [1, 2]})) };
        for op in [raw, json, Operation::Delete { id: "p-1".into() }] {
            let (estimate, exact) = (op.queued_size(), encoded(&op).len());
            assert!(estimate >= exact && estimate <= exact + 64, "{estimate} for {exact} bytes");
        }
    }

    #[test]
    fn a_file_is_written_as_base64_into_the_buffer() {
        let file = Bytes::from_static(b"%PDF-1.4 \x00\xff binary");
        let doc =
            Document::with_file("a", Bytes::from_static(b"{\"title\":\"a.pdf\"}"), file.clone()).unwrap();
        let op = Operation::Index { id: "a".into(), doc };
        let lines = encoded(&op);
        let source: serde_json::Value = serde_json::from_str(lines.lines().nth(1).unwrap()).unwrap();
        use base64::Engine;
        let expected = base64::engine::general_purpose::STANDARD.encode(&file);
        assert_eq!(source, json!({"title": "a.pdf", "_attachment": expected}));
        let (estimate, exact) = (op.queued_size(), lines.len());
        assert!(estimate >= exact && estimate <= exact + 8, "{estimate} for {exact} bytes");
        // An empty object takes no comma; every length of the last group is padded right.
        for n in 0..4 {
            let doc = Document::with_file("b", Bytes::from_static(b"{}"), Bytes::from(vec![7u8; n])).unwrap();
            let lines = encoded(&Operation::Index { id: "b".into(), doc });
            let source: serde_json::Value = serde_json::from_str(lines.lines().nth(1).unwrap()).unwrap();
            assert_eq!(source["_attachment"], base64::engine::general_purpose::STANDARD.encode(vec![7u8; n]));
        }
        assert!(Document::with_file("c", Bytes::from_static(b"[1]"), file).is_err(), "an object only");
    }

    #[tokio::test]
    async fn a_spooled_file_is_copied_as_the_base64_it_would_have_been_encoded_into() {
        use crate::extract::spool::{Encoding, SpoolWriter};
        let file: Vec<u8> = (0..300_001).map(|i| (i % 253) as u8).collect();
        let json = Bytes::from_static(b"{\"title\":\"a.pdf\"}");
        let in_memory = Document::with_file("a", json.clone(), Bytes::from(file.clone())).unwrap();
        let expected = encoded(&Operation::Index { id: "a".into(), doc: in_memory });
        for encoding in [Encoding::Base64, Encoding::Raw] {
            let mut spool = SpoolWriter::create_in(&std::env::temp_dir(), encoding).unwrap();
            spool.write(&file).await.unwrap();
            let attached = Attached::Base64(spool.finish().await.unwrap());
            let doc = Document::with_file("a", json.clone(), attached).unwrap();
            let op = Operation::Index { id: "a".into(), doc };
            if encoding == Encoding::Base64 {
                assert_eq!(encoded(&op), expected);
                let (estimate, exact) = (op.queued_size(), expected.len());
                assert!(estimate >= exact && estimate <= exact + 8, "{estimate} for {exact} bytes");
                continue;
            }
            // A spool of the file itself is never copied in as if it were base64.
            let mut buf = BytesMut::from(&b"kept"[..]);
            let error = encode(&op, &mut buf).unwrap_err().to_string();
            assert_eq!(&buf[..], b"kept", "nothing of the document is left in the buffer");
            assert!(error.contains("not its base64") && error.contains('a'), "{error}");
        }
    }

    #[test]
    fn long_ids_become_their_md5() {
        let short = "x".repeat(512);
        assert_eq!(elasticsearch_id(&short), short.as_str());
        // 171 three-byte characters = 513 bytes: over the limit although only 171 chars.
        let long = "€".repeat(171);
        // Expected values from Python's hashlib.md5(...).hexdigest(), like the reference.
        assert_eq!(elasticsearch_id(&long), "eeebaf1fe0816f79765fadb91ef3b79d");
        assert_eq!(elasticsearch_id(&"a".repeat(513)), "6649c3e827e44f7bf539768bddf76435");
        let line = encoded(&Operation::Delete { id: long });
        assert_eq!(line, "{\"delete\":{\"_id\":\"eeebaf1fe0816f79765fadb91ef3b79d\"}}\n");
    }
}
