//! One document write — `index`, `create`, `update` or `delete` — with everything
//! Elasticsearch checks on the way: index auto-creation and alias write indices, `_id` rules
//! (empty, over 512 bytes), ingest pipelines, optimistic concurrency (`if_seq_no` /
//! `if_primary_term`, `create` on an existing id), mapping conflicts and dynamic mapping.
//! Shared by `_bulk` (per-item results) and the single-document APIs.

use serde_json::{json, Map, Value};

use super::cluster::{random_id, validate_index_name, Cluster};
use super::error::EsError;
use super::mapping::DocContext;

/// Longest `_id` Elasticsearch accepts, in UTF-8 bytes.
pub const MAX_ID_BYTES: usize = 512;

/// Elasticsearch's validation message for an `_id` over [`MAX_ID_BYTES`]. It is a request
/// validation error: in `_bulk` it fails the whole request (`BulkRequest.validate` checks
/// every item), not just the item.
pub fn id_too_long(id: &str) -> String {
    format!("id [{id}] is too long, must be no longer than {MAX_ID_BYTES} bytes but was: {}", id.len())
}

/// What to do with the document.
#[derive(Debug, Clone)]
pub enum WriteKind {
    /// `index` (`create: false`) or `create` (`create: true`).
    Index {
        /// Fail with 409 if the id exists.
        create: bool,
        /// The document source.
        source: Value,
        /// The raw source text (for error positions).
        raw: String,
    },
    /// Partial update.
    Update {
        /// `doc` to merge.
        doc: Option<Value>,
        /// `upsert` document when missing.
        upsert: Option<Value>,
        /// Use `doc` as the upsert.
        doc_as_upsert: bool,
        /// Report `noop` when nothing changes (default true).
        detect_noop: bool,
    },
    /// Delete.
    Delete,
}

/// One write request.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// Target index or alias.
    pub index: String,
    /// `_id` (None = auto-generated, for index/create).
    pub id: Option<String>,
    /// The operation.
    pub kind: WriteKind,
    /// `if_seq_no`.
    pub if_seq_no: Option<i64>,
    /// `if_primary_term`.
    pub if_primary_term: Option<i64>,
    /// Pipeline (item-level or request-level); `_none` disables the default pipeline.
    pub pipeline: Option<String>,
    /// Refuse to auto-create a concrete index.
    pub require_alias: bool,
}

impl WriteRequest {
    /// The bulk action name.
    pub fn action(&self) -> &'static str {
        match &self.kind {
            WriteKind::Index { create: true, .. } => "create",
            WriteKind::Index { .. } => "index",
            WriteKind::Update { .. } => "update",
            WriteKind::Delete => "delete",
        }
    }
}

/// A successful write.
#[derive(Debug, Clone)]
pub struct WriteOutcome {
    /// The concrete index written.
    pub index: String,
    /// HTTP status (201 created, 200 otherwise, 404 for a delete of a missing id).
    pub status: u16,
    /// The item body (`_index`, `_id`, `_version`, `result`, `_shards`, `_seq_no`, `_primary_term`).
    pub body: Value,
}

/// A failed write: the index and id to report, and the error.
#[derive(Debug, Clone)]
pub struct WriteFailure {
    /// `_index` to report.
    pub index: String,
    /// `_id` to report (may be absent for auto ids).
    pub id: Option<String>,
    /// The error.
    pub error: EsError,
}

impl WriteFailure {
    /// The bulk item body (`_index`, `_id`, `status`, `error`).
    pub fn item(&self) -> Value {
        let mut m = Map::new();
        m.insert("_index".into(), json!(self.index));
        if let Some(id) = &self.id {
            m.insert("_id".into(), json!(id));
        }
        m.insert("status".into(), json!(self.error.status));
        m.insert("error".into(), self.error.object());
        Value::Object(m)
    }
}

fn shards(total: u64, successful: u64) -> Value {
    json!({"total": total, "successful": successful, "failed": 0})
}

fn version_conflict(id: &str, reason: String, index: &str, uuid: &str) -> EsError {
    EsError::new(409, "version_conflict_engine_exception", format!("[{id}]: {reason}"))
        .with("index_uuid", uuid)
        .with("shard", "0")
        .with("index", index)
}

/// Deep-merges `doc` into `target` the way Elasticsearch's partial update does; returns
/// whether anything changed.
fn merge(target: &mut Value, doc: &Value) -> bool {
    match (target, doc) {
        (Value::Object(t), Value::Object(d)) => {
            let mut changed = false;
            for (k, v) in d {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => changed |= merge(existing, v),
                    Some(existing) => {
                        if existing != v {
                            *existing = v.clone();
                            changed = true;
                        }
                    }
                    None => {
                        t.insert(k.clone(), v.clone());
                        changed = true;
                    }
                }
            }
            changed
        }
        (t, d) => {
            let changed = t != d;
            *t = d.clone();
            changed
        }
    }
}

fn run_pipeline(
    cluster: &Cluster,
    index: &str,
    requested: Option<&str>,
    source: &mut Value,
) -> Result<(), EsError> {
    let name = match requested {
        Some("_none") => return Ok(()),
        Some(p) => Some(p.to_string()),
        None => cluster
            .indices
            .get(index)
            .and_then(|i| i.settings.get("default_pipeline"))
            .and_then(Value::as_str)
            .filter(|p| *p != "_none")
            .map(str::to_string),
    };
    let Some(name) = name else { return Ok(()) };
    let p = cluster
        .pipelines
        .get(&name)
        .ok_or_else(|| EsError::illegal_argument(format!("pipeline with id [{name}] does not exist")))?;
    p.run(&name, source)
}

/// Executes one write against the cluster.
// The failure is built at most once per item and moved straight into the response; its size
// does not matter here.
#[allow(clippy::result_large_err)]
pub fn execute(cluster: &mut Cluster, req: WriteRequest) -> Result<WriteOutcome, WriteFailure> {
    let fail = |index: &str, id: Option<&String>, error: EsError| WriteFailure {
        index: index.to_string(),
        id: id.cloned(),
        error,
    };
    // Resolve the target index (alias write index, auto-create).
    let index = match cluster.write_index(&req.index) {
        Err(e) => return Err(fail(&req.index, req.id.as_ref(), e)),
        Ok(Some(i)) => i,
        Ok(None) => {
            if let Err(e) = validate_index_name(&req.index) {
                return Err(fail(&req.index, req.id.as_ref(), e));
            }
            if matches!(req.kind, WriteKind::Delete) {
                return Err(fail(&req.index, req.id.as_ref(), EsError::index_not_found(&req.index)));
            }
            if req.require_alias {
                return Err(fail(
                    &req.index,
                    req.id.as_ref(),
                    EsError::new(404, "index_not_found_exception", format!("no such index [{0}] and [require_alias] request flag is [true] and [{0}] is not an alias", req.index))
                        .with("index_uuid", "_na_")
                        .with("index", req.index.as_str()),
                ));
            }
            if let Err(e) = cluster.create_index(&req.index, &Value::Null) {
                return Err(fail(&req.index, req.id.as_ref(), e));
            }
            req.index.clone()
        }
    };
    // `_id` rules.
    if let Some(id) = &req.id {
        if id.is_empty() {
            return Err(fail(
                &index,
                None,
                EsError::illegal_argument("if _id is specified it must not be empty"),
            ));
        }
        if id.len() > MAX_ID_BYTES {
            return Err(fail(&index, Some(id), EsError::validation(&[&id_too_long(id)])));
        }
    }
    let id = match &req.id {
        Some(id) => id.clone(),
        None => random_id(),
    };
    let legacy = cluster.legacy_errors;
    let replicas = cluster.indices.get(&index).map_or(1, |i| i.replicas());
    let total_shards = 1 + replicas;

    match req.kind {
        WriteKind::Index { create, mut source, raw } => {
            if let Err(e) = run_pipeline(cluster, &index, req.pipeline.as_deref(), &mut source) {
                return Err(fail(&index, Some(&id), e));
            }
            let Some(idx) = cluster.indices.get_mut(&index) else {
                return Err(fail(&index, Some(&id), EsError::index_not_found(&index)));
            };
            let uuid = idx.uuid.clone();
            if let Some(existing) = idx.get(&id) {
                if create {
                    return Err(fail(
                        &index,
                        Some(&id),
                        version_conflict(
                            &id,
                            format!(
                                "version conflict, document already exists (current version [{}])",
                                existing.version
                            ),
                            &index,
                            &uuid,
                        ),
                    ));
                }
            }
            check_cas(
                idx.get(&id).map(|d| (d.seq_no, d.primary_term)),
                (req.if_seq_no, req.if_primary_term),
                &id,
                &index,
                &uuid,
            )
            .map_err(|e| fail(&index, Some(&id), e))?;
            let raw_text = raw;
            let ctx = DocContext { id: &id, raw: &raw_text, legacy };
            if let Err(e) = idx.mapping.apply_document(&ctx, &source) {
                return Err(fail(&index, Some(&id), e));
            }
            let w = idx.put(&id, source);
            Ok(written(
                &index,
                &w.doc,
                if w.created { "created" } else { "updated" },
                if w.created { 201 } else { 200 },
                total_shards,
            ))
        }
        WriteKind::Update { doc, upsert, doc_as_upsert, detect_noop } => {
            let Some(idx) = cluster.indices.get(&index) else {
                return Err(fail(&index, Some(&id), EsError::index_not_found(&index)));
            };
            let uuid = idx.uuid.clone();
            let existing = idx.get(&id).cloned();
            check_cas(
                existing.as_ref().map(|d| (d.seq_no, d.primary_term)),
                (req.if_seq_no, req.if_primary_term),
                &id,
                &index,
                &uuid,
            )
            .map_err(|e| fail(&index, Some(&id), e))?;
            let (new_source, created) = match existing {
                Some(current) => {
                    let mut patch = doc.unwrap_or(Value::Object(Map::new()));
                    if doc_as_upsert {
                        if let Err(e) = run_pipeline(cluster, &index, req.pipeline.as_deref(), &mut patch) {
                            return Err(fail(&index, Some(&id), e));
                        }
                    }
                    let mut merged = (*current.source).clone();
                    let changed = merge(&mut merged, &patch);
                    if !changed && detect_noop {
                        let body = json!({
                            "_index": index, "_id": id, "_version": current.version, "result": "noop",
                            "_shards": shards(0, 0), "_seq_no": current.seq_no, "_primary_term": current.primary_term,
                        });
                        return Ok(WriteOutcome { index, status: 200, body });
                    }
                    (merged, false)
                }
                None => {
                    let mut fresh = match (doc_as_upsert, doc, upsert) {
                        (true, Some(d), _) => d,
                        (_, _, Some(u)) => u,
                        _ => {
                            return Err(fail(
                                &index,
                                Some(&id),
                                EsError::new(
                                    404,
                                    "document_missing_exception",
                                    format!("[{id}]: document missing"),
                                )
                                .with("index_uuid", uuid.as_str())
                                .with("shard", "0")
                                .with("index", index.as_str()),
                            ))
                        }
                    };
                    if let Err(e) = run_pipeline(cluster, &index, req.pipeline.as_deref(), &mut fresh) {
                        return Err(fail(&index, Some(&id), e));
                    }
                    (fresh, true)
                }
            };
            let Some(idx) = cluster.indices.get_mut(&index) else {
                return Err(fail(&index, Some(&id), EsError::index_not_found(&index)));
            };
            let raw = new_source.to_string();
            let ctx = DocContext { id: &id, raw: &raw, legacy };
            if let Err(e) = idx.mapping.apply_document(&ctx, &new_source) {
                return Err(fail(&index, Some(&id), e));
            }
            let w = idx.put(&id, new_source);
            Ok(written(
                &index,
                &w.doc,
                if created { "created" } else { "updated" },
                if created { 201 } else { 200 },
                total_shards,
            ))
        }
        WriteKind::Delete => {
            let Some(idx) = cluster.indices.get_mut(&index) else {
                return Err(fail(&index, Some(&id), EsError::index_not_found(&index)));
            };
            let uuid = idx.uuid.clone();
            check_cas(
                idx.get(&id).map(|d| (d.seq_no, d.primary_term)),
                (req.if_seq_no, req.if_primary_term),
                &id,
                &index,
                &uuid,
            )
            .map_err(|e| fail(&index, Some(&id), e))?;
            match idx.delete(&id) {
                Ok(w) => Ok(written(&index, &w.doc, "deleted", 200, total_shards)),
                Err(tomb) => Ok(written(&index, &tomb, "not_found", 404, total_shards)),
            }
        }
    }
}

fn check_cas(
    current: Option<(u64, u64)>,
    cas: (Option<i64>, Option<i64>),
    id: &str,
    index: &str,
    uuid: &str,
) -> Result<(), EsError> {
    let (Some(seq), Some(term)) = cas else {
        return Ok(());
    };
    match current {
        Some((s, t)) if s as i64 == seq && t as i64 == term => Ok(()),
        Some((s, t)) => Err(version_conflict(
            id,
            format!("version conflict, required seqNo [{seq}], primary term [{term}]. current document has seqNo [{s}] and primary term [{t}]"),
            index,
            uuid,
        )),
        None => Err(version_conflict(
            id,
            format!("version conflict, required seqNo [{seq}], primary term [{term}]. but no document was found"),
            index,
            uuid,
        )),
    }
}

fn written(
    index: &str,
    doc: &super::store::StoredDoc,
    result: &str,
    status: u16,
    total_shards: u64,
) -> WriteOutcome {
    let body = json!({
        "_index": index,
        "_id": doc.id,
        "_version": doc.version,
        "result": result,
        "_shards": shards(total_shards, 1),
        "_seq_no": doc.seq_no,
        "_primary_term": doc.primary_term,
    });
    WriteOutcome { index: index.to_string(), status, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_req(id: &str, source: Value) -> WriteRequest {
        WriteRequest {
            index: "test".into(),
            id: Some(id.into()),
            kind: WriteKind::Index { create: false, raw: source.to_string(), source },
            if_seq_no: None,
            if_primary_term: None,
            pipeline: None,
            require_alias: false,
        }
    }

    #[test]
    fn index_then_create_conflicts() {
        let mut c = Cluster::new("9.1.0");
        let ok = execute(&mut c, index_req("1", json!({"a":1}))).unwrap();
        assert_eq!(ok.status, 201);
        assert_eq!(ok.body["result"], "created");
        assert_eq!(ok.body["_shards"], json!({"total":2,"successful":1,"failed":0}));
        let mut create = index_req("1", json!({"a":2}));
        create.kind = WriteKind::Index { create: true, source: json!({"a":2}), raw: "{}".into() };
        let err = execute(&mut c, create).unwrap_err();
        assert_eq!(err.error.status, 409);
        assert_eq!(err.error.reason, "[1]: version conflict, document already exists (current version [1])");
    }

    #[test]
    fn long_ids_fail_validation_and_missing_pipelines_fail_per_item() {
        let mut c = Cluster::new("9.1.0");
        let long = "x".repeat(513);
        let err = execute(&mut c, index_req(&long, json!({}))).unwrap_err();
        assert_eq!(
            err.error.reason,
            format!("Validation Failed: 1: id [{long}] is too long, must be no longer than 512 bytes but was: 513;")
        );
        let mut r = index_req("1", json!({}));
        r.pipeline = Some("nope".into());
        let err = execute(&mut c, r).unwrap_err();
        assert_eq!(err.error.reason, "pipeline with id [nope] does not exist");
    }

    #[test]
    fn update_noop_and_cas() {
        let mut c = Cluster::new("9.1.0");
        execute(&mut c, index_req("1", json!({"a":{"b":1},"c":2}))).unwrap();
        let upd = |doc: Value, seq: Option<i64>| WriteRequest {
            index: "test".into(),
            id: Some("1".into()),
            kind: WriteKind::Update { doc: Some(doc), upsert: None, doc_as_upsert: false, detect_noop: true },
            if_seq_no: seq,
            if_primary_term: seq.map(|_| 1),
            pipeline: None,
            require_alias: false,
        };
        assert_eq!(execute(&mut c, upd(json!({"c":2}), None)).unwrap().body["result"], "noop");
        let ok = execute(&mut c, upd(json!({"a":{"d":3}}), Some(0))).unwrap();
        assert_eq!(ok.body["result"], "updated");
        assert_eq!(c.indices["test"].get("1").unwrap().source.as_ref(), &json!({"a":{"b":1,"d":3},"c":2}));
        let err = execute(&mut c, upd(json!({"c":5}), Some(0))).unwrap_err();
        assert_eq!(err.error.reason, "[1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1]");
    }
}
