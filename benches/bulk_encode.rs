//! CPU of the sink's NDJSON path: serialising documents (the sync's `Indexed` view) and
//! writing them into `_bulk` batches of 500 lines / 3 MiB in pooled buffers, without any
//! network — with documents cut from the serialisation arena, and with a `Vec` of their own
//! (as before the arena), to show what the arena saves. Prints the median µs of CPU per
//! document and MB/s over several runs and writes `target/bench/bulk_encode.json`.
//!
//! CPU time is this thread's (`/proc/thread-self/schedstat`), so other processes on the
//! machine do not count; wall time is printed beside it.

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use confluence_connector::elastic::{Batch, Batcher, BufferPool};
use confluence_connector::elastic::{Document as Source, Operation};
use confluence_connector::sync::{DocType, Document, Indexed, PipelineFlags};

/// Documents per run: pages of 1–8 KiB of text, and one attachment in 50 with 1 MiB of base64.
/// Documents and runs of a measurement (`cargo bench`), and of the smoke run `cargo test`
/// makes of this bench (no `--bench` argument): a debug build encoding 20,000 documents
/// seven times took minutes of the test suite.
struct Size {
    docs: usize,
    runs: usize,
}

const BENCH: Size = Size { docs: 20_000, runs: 7 };
const SMOKE: Size = Size { docs: 200, runs: 1 };

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// `pages-only` on the command line leaves the attachments out.
fn corpus(with_attachments: bool, size: &Size) -> Vec<Document> {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        seed.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let words = ["deployment", "cluster", "Zürich", "release", "東京", "the", "index", "\"quoted\"", "a\tb"];
    (0..size.docs)
        .map(|i| {
            let mut body = String::new();
            let target = 1024 + (next() % 7168) as usize;
            while body.len() < target {
                body.push_str(words[(next() % words.len() as u64) as usize]);
                body.push(if next() % 12 == 0 { '\n' } else { ' ' });
            }
            let attachment = with_attachments && i % 50 == 0;
            Document {
                id: if attachment { format!("att{i}") } else { format!("{i}") },
                doc_type: if attachment { DocType::Attachment } else { DocType::Page },
                timestamp: "2026-01-02T03:04:05.000Z".into(),
                title: format!("Page {i} about the cluster"),
                space_key: "DEV".into(),
                space_name: Some("Development".into()),
                url: format!("https://confluence.example.com/spaces/DEV/pages/{i}"),
                body: (!attachment).then_some(body),
                ancestors: Some(vec!["Home".into(), "Guides".into()]),
                author: Some("Ann Example".into()),
                created_date: Some("2025-01-02T03:04:05.000Z".into()),
                labels: Some(vec!["ops".into(), "howto".into()]),
                size: attachment.then_some(786_432),
                container: attachment.then(|| (DocType::Page, "Home".into())),
                attachment: attachment.then(|| Bytes::from(vec![b'A'; 786_432]).into()),
                allow_access_control: Some(vec!["group:confluence-users".into()]),
            }
        })
        .collect()
}

/// How a document becomes bytes.
#[derive(Clone, Copy)]
enum Serialise {
    /// `Document::serialize`: cut from a per-thread arena.
    Arena,
    /// A `Vec` of its own per document (`serde_json::to_vec`), as before the arena.
    OwnVec,
}

/// The NDJSON path as it runs in a sync: serialise, then batch into pooled buffers, each
/// buffer given back once "sent".
fn run(docs: &[Document], flags: PipelineFlags, how: Serialise) -> u64 {
    let max_bytes = 3 * 1024 * 1024;
    let pool = BufferPool::new(max_bytes + 64 * 1024, 7);
    let mut batcher = Batcher::new(pool.clone(), 500, max_bytes);
    let mut sent = 0u64;
    let mut send = |batch: Batch| {
        let body = batch.body.freeze();
        sent += body.len() as u64;
        black_box(&batch.items);
        pool.give(body);
    };
    for doc in docs {
        let view = Indexed { doc, flags };
        let source = match (how, &doc.attachment) {
            (Serialise::Arena, Some(file)) => {
                Source::serialize_with_file(&doc.id, &view, file.clone()).unwrap()
            }
            (Serialise::Arena, None) => Source::serialize(&doc.id, &view).unwrap(),
            (Serialise::OwnVec, Some(file)) => {
                Source::with_file(&doc.id, Bytes::from(serde_json::to_vec(&view).unwrap()), file.clone())
                    .unwrap()
            }
            (Serialise::OwnVec, None) => Source::Raw(Bytes::from(serde_json::to_vec(&view).unwrap())),
        };
        let op = Operation::Index { id: doc.id.clone(), doc: source };
        for batch in batcher.push(&op, None).unwrap() {
            send(batch);
        }
    }
    if let Some(batch) = batcher.finish() {
        send(batch);
    }
    black_box(sent)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median µs of CPU per document, MB/s and ms of wall time of `size.runs` runs.
fn measure(
    docs: &[Document],
    flags: PipelineFlags,
    how: Serialise,
    size: &Size,
) -> (f64, f64, f64, Vec<f64>) {
    run(docs, flags, how);
    let (mut cpu_us, mut mb_s, mut wall_ms) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..size.runs {
        let (cpu0, wall0) = (thread_cpu_ns(), Instant::now());
        let bytes = run(docs, flags, how);
        let cpu = (thread_cpu_ns() - cpu0) as f64;
        cpu_us.push(cpu / 1e3 / size.docs as f64);
        mb_s.push(bytes as f64 / (1024.0 * 1024.0) / (cpu / 1e9));
        wall_ms.push(wall0.elapsed().as_secs_f64() * 1e3);
    }
    (median(cpu_us.clone()), median(mb_s), median(wall_ms), cpu_us)
}

fn main() {
    // The allocator settings of the connector's binary: large buffers get their own mappings.
    confluence_connector::tune_allocator();
    let benching = std::env::args().any(|a| a == "--bench");
    let size = if benching { BENCH } else { SMOKE };
    let with_attachments = !std::env::args().any(|a| a == "pages-only");
    let docs = corpus(with_attachments, &size);
    let flags =
        PipelineFlags { extract_binary_content: true, reduce_whitespace: true, run_ml_inference: false };
    let (docs_n, runs) = (size.docs, size.runs);
    let mut json = serde_json::json!({"documents": docs_n, "runs": runs});
    for (name, how) in [("arena", Serialise::Arena), ("own_vec", Serialise::OwnVec)] {
        let (cpu, mb, wall, per_run) = measure(&docs, flags, how, &size);
        println!(
            "bulk_encode ({name}): {docs_n} documents, median of {runs}: {cpu:.2} µs CPU/document, {mb:.0} MB/s, {wall:.0} ms wall"
        );
        json[name] = serde_json::json!({
            "median_cpu_us_per_document": cpu,
            "median_mb_per_cpu_s": mb,
            "median_wall_ms": wall,
            "cpu_us_per_document_runs": per_run,
        });
    }
    if !benching {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("bulk_encode.json"), json.to_string());
}
