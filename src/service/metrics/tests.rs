use super::*;

fn line<'a>(text: &'a str, series: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(series)).and_then(|l| l.rsplit(' ').next())
}

#[test]
fn a_sync_report_becomes_counters() {
    let metrics = Metrics::new();
    let report = SyncReport {
        created: 10,
        updated: 2,
        deleted: 3,
        failed: vec!["1 (page): mapper_parsing_exception".into()],
        confluence_routes: vec![
            ("GET /rest/api/space".into(), 200, 4),
            ("GET /rest/api/content/search".into(), 200, 6),
            ("GET /rest/api/content/search".into(), 429, 2),
            ("GET /download".into(), 0, 1),
        ],
        confluence_retries: 3,
        confluence_bytes: 2048,
        bulk_requests: 5,
        ..SyncReport::default()
    };
    let ended = DateTime::from_timestamp(1_767_261_600, 0).unwrap_or_default();
    metrics.sync_ended(SyncKind::Full, &Ok(report.clone()), Duration::from_millis(1500), ended);
    // The same sync once every document got in.
    let clean = SyncReport { failed: Vec::new(), ..report };
    metrics.sync_ended(SyncKind::Full, &Ok(clean), Duration::from_millis(2500), ended);
    metrics.sync_ended(SyncKind::Incremental, &Err("no Elasticsearch".into()), Duration::ZERO, ended);
    let text = metrics.encode();

    let value = |series: &str| line(&text, series).unwrap_or_else(|| panic!("{series} missing:\n{text}"));
    assert_eq!(value(r#"confluence_connector_syncs_total{kind="full",outcome="completed"}"#), "1");
    assert_eq!(
        value(r#"confluence_connector_syncs_total{kind="full",outcome="completed_with_failures"}"#),
        "1",
        "a sync whose documents failed is not counted as completed"
    );
    assert_eq!(value(r#"confluence_connector_syncs_total{kind="incremental",outcome="failed"}"#), "1");
    assert_eq!(value(r#"confluence_connector_syncs_total{kind="access_control",outcome="completed"}"#), "0");
    assert_eq!(value(r#"confluence_connector_last_sync_duration_seconds{kind="full"}"#), "2.5");
    assert_eq!(
        value(r#"confluence_connector_last_completed_sync_timestamp_seconds{kind="full"}"#),
        "1767261600.0"
    );
    assert!(line(&text, r#"confluence_connector_last_completed_sync_timestamp_seconds{kind="incremental"}"#)
        .is_none());
    assert_eq!(value(r#"confluence_connector_documents_total{kind="full",result="created"}"#), "20");
    assert_eq!(value(r#"confluence_connector_documents_total{kind="full",result="deleted"}"#), "6");
    assert_eq!(value(r#"confluence_connector_documents_total{kind="full",result="failed"}"#), "1");
    assert_eq!(value("confluence_connector_bulk_requests_total"), "10");
    assert!(text.contains("# TYPE confluence_connector_syncs counter"), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn request_and_document_series_move_while_a_sync_runs() {
    // No sync has ended: what the client and the sink count shows at the next scrape.
    let metrics = Metrics::new();
    let stats = crate::confluence::stats::RequestStats::default();
    stats.record("GET /test/live-metrics", 200);
    stats.record("GET /test/live-metrics", 200);
    stats.record("GET /test/live-metrics", 503);
    let progress = crate::elastic::progress::Progress::new(1000);
    progress.document_seen(false);
    progress.confirmed(1, 0, 0);
    crate::telemetry::bulk_items(&std::collections::BTreeMap::from([(("noop", 200), 2), (("failed", 0), 1)]));
    let text = metrics.encode();
    let value = |series: &str| {
        line(&text, series)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{series} missing:\n{text}"))
    };
    let route = r#"confluence_connector_confluence_route_requests_total{route="GET /test/live-metrics",status="200"}"#;
    assert_eq!(value(route), 2.0);
    assert!(value(r#"confluence_connector_confluence_requests_total{status="503"}"#) >= 1.0);
    assert!(value(r#"confluence_connector_documents_processed_total{result="seen"}"#) >= 1.0);
    assert!(value(r#"confluence_connector_documents_processed_total{result="indexed"}"#) >= 1.0);
    assert!(value("confluence_connector_sink_queued_bytes") >= 0.0);
    assert!(value(r#"confluence_connector_bulk_items_total{result="noop",status="200"}"#) >= 2.0);
    assert!(value(r#"confluence_connector_bulk_items_total{result="failed",status="none"}"#) >= 1.0);
    // A later scrape sees more, never less.
    stats.record("GET /test/live-metrics", 200);
    assert!(metrics.encode().contains(&format!("{route} 3")));
}

#[test]
fn build_info_and_process_series_are_served() {
    let text = Metrics::new().encode();
    let build = format!("confluence_connector_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
    assert!(text.contains(&build), "{text}");
    for series in ["process_resident_memory_bytes ", "process_cpu_seconds_total ", "process_open_fds "] {
        assert!(text.lines().any(|l| l.starts_with(series)), "{series} missing:\n{text}");
    }
    if cfg!(target_os = "linux") {
        let resident = line(&text, "process_resident_memory_bytes ").unwrap_or("0");
        assert!(resident.parse::<f64>().unwrap_or(0.0) > 0.0, "{text}");
    }
    assert_eq!(text.matches("# EOF").count(), 1, "{text}");
}

#[test]
fn the_classic_prometheus_text_is_served_when_asked_for() {
    assert_eq!(Exposition::for_accept(None), Exposition::OpenMetrics);
    assert_eq!(Exposition::for_accept(Some("*/*")), Exposition::OpenMetrics);
    let prometheus = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4";
    assert_eq!(Exposition::for_accept(Some(prometheus)), Exposition::OpenMetrics);
    assert_eq!(Exposition::for_accept(Some("text/plain;version=0.0.4")), Exposition::Prometheus);

    let metrics = Metrics::new();
    let text = metrics.encode_as(Exposition::Prometheus);
    assert!(text.contains("# TYPE confluence_connector_syncs_total counter\n"), "{text}");
    assert!(text.contains("# HELP confluence_connector_syncs_total Syncs"), "{text}");
    assert!(text.contains("# TYPE confluence_connector_build_info gauge\n"), "{text}");
    assert!(text.contains("# TYPE confluence_connector_state gauge\n"), "{text}");
    assert!(!text.contains("# EOF") && !text.contains("# UNIT"), "{text}");
}

#[test]
fn exactly_one_state_is_current() {
    let metrics = Metrics::new();
    assert_eq!(metrics.state(), WorkerState::Idle);
    metrics.set_state(WorkerState::Running(SyncKind::Incremental));
    assert_eq!(metrics.state(), WorkerState::Running(SyncKind::Incremental));
    let text = metrics.encode();
    let states: Vec<&str> =
        text.lines().filter(|l| l.starts_with("confluence_connector_state{") && l.ends_with(" 1")).collect();
    assert_eq!(states, [r#"confluence_connector_state{state="incremental"} 1"#], "{text}");
    assert!(text.contains(r#"confluence_connector_state{state="idle"} 0"#), "{text}");
}
