//! `service.attachment_text: local`: office documents are read here and only their text is
//! sent. The files are the test world's own (real DOCX, XLSX and PPTX packages generated from
//! a seed, each carrying a marker word), read directly and through a whole sync, which reads
//! the simulator's PDFs too (in their own processes: `tests/pdf_text.rs`).

use std::collections::HashMap;

use confluence_connector::config;
use confluence_connector::office_text;
use confluence_connector::sync::{self, SyncKind};
use confluence_connector::use_program;
use confluence_connector::Shutdown;
use serde_json::json;
use sim::confluence::files::{attachment_bytes, expected_marker, FileKind};
use sim::confluence::{Flavour, SimConfig, Size};
use sim::world::World;

#[test]
fn the_simulators_office_files_give_their_marker() {
    for (kind, name) in [(FileKind::Docx, "a.docx"), (FileKind::Xlsx, "a.xlsx"), (FileKind::Pptx, "a.pptx")] {
        for (seed, size) in [(1, 0), (7, 200_000), (9, 3_000_000)] {
            let file = attachment_bytes(kind, seed, size);
            let text = office_text(name, &file).unwrap_or_else(|e| panic!("{kind:?} {size}: {e}"));
            assert!(text.contains(&expected_marker(seed)), "{kind:?} of {size} bytes: {text:.200}");
            assert!(text.len() < file.len().max(4096), "{kind:?}: the padding is not text");
        }
    }
}

#[tokio::test]
async fn a_sync_sends_the_text_of_office_files_not_the_files() {
    // PDFs are read by the connector's program, not this test harness.
    use_program(env!("CARGO_BIN_EXE_confluence-connector"));
    let mut site = SimConfig::new(Flavour::Server, Size::Small);
    site.pages = Some(200);
    let world = World::start(site).await.unwrap();
    let mut reports = Vec::new();
    for mode in ["pipeline", "local"] {
        let index = format!("attachment-text-{mode}-{}", std::process::id());
        let text = world.config_yaml(&index, &["retry_count: 1"]).replacen(
            "service:\n",
            &format!("service:\n  attachment_text: {mode}\n"),
            1,
        );
        let config = config::load_str(&text, &HashMap::new()).unwrap().config;
        let report = sync::run(&config, SyncKind::Full, Shutdown::never()).await.unwrap();
        assert!(report.completed() && report.failed.is_empty(), "{mode}: {report}");
        assert_eq!(report.unextracted, 0, "{mode}: {report}");
        world.refresh(&index).await.unwrap();
        let attachments = world.count(&index, json!({"term": {"type": "attachment"}})).await.unwrap();
        let with_text = world
            .count(&index, json!({"bool": {"filter": [{"term": {"type": "attachment"}}, {"exists": {"field": "body"}}]}}))
            .await
            .unwrap();
        assert!(attachments >= 10, "{mode}: {report}");
        if mode == "local" {
            every_pdf_has_its_text(&world, &index).await;
        }
        reports.push((report, with_text));
    }
    let ((pipeline, pipeline_text), (local, local_text)) = (&reports[0], &reports[1]);
    // What the test pipeline reads from `_attachment`, read here as well: no text lost.
    assert!(
        local_text >= pipeline_text,
        "{local_text} attachments with text, {pipeline_text} with the pipeline"
    );
    assert_eq!(pipeline.downloaded_bytes, local.downloaded_bytes, "the same files");
    // The office files' text instead of their base64: fewer bytes sent.
    assert!(local.bulk_bytes < pipeline.bulk_bytes, "{} vs {} bytes", local.bulk_bytes, pipeline.bulk_bytes);
}

/// Every PDF attachment of `index` carries its text, marker included, in `body`.
async fn every_pdf_has_its_text(world: &World, index: &str) {
    let query =
        json!({"query": {"term": {"type": "attachment"}}, "size": 1000, "_source": ["title", "body"]});
    let found = world.search(index, query).await.unwrap();
    let hits = found["hits"]["hits"].as_array().cloned().unwrap_or_default();
    let pdfs: Vec<&serde_json::Value> = hits
        .iter()
        .map(|hit| &hit["_source"])
        .filter(|doc| doc["title"].as_str().is_some_and(|t| t.ends_with(".pdf")))
        .collect();
    assert!(!pdfs.is_empty(), "the site has PDFs");
    for pdf in pdfs {
        let body = pdf["body"].as_str().unwrap_or_default();
        assert!(body.contains("qzmark"), "{}: {body:.200}", pdf["title"]);
    }
}
