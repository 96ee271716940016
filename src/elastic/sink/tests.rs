//! The sink on its own: queue bounds, batches, retries of rejected items, the error monitor, against a local server.

use super::send::failure;
use super::*;

#[test]
fn the_rejected_share_follows_recent_answers() {
    let mut recent = Recent::default();
    assert_eq!(recent.add(0, 0), 0.0);
    assert_eq!(recent.add(30, 100), 0.3);
    assert_eq!(recent.add(1, 1), 31.0 / 101.0, "one small answer says little");
    for _ in 0..40 {
        recent.add(100, 100);
    }
    assert!(recent.add(100, 100) > 0.9, "an overloaded cluster shows within a few answers");
    for _ in 0..40 {
        recent.add(0, 100);
    }
    assert!(recent.add(0, 100) < 0.1, "and its recovery too");
}

#[test]
fn item_failures_read_well() {
    let f = failure(
        "42",
        OpKind::Index,
        400,
        "document_parsing_exception",
        "failed to parse field [size] of type [long]",
    );
    assert_eq!(
        f.to_string(),
        "index 42 (400): document_parsing_exception: failed to parse field [size] of type [long]"
    );
}
