//! Reading text as a number, an instant or a boolean.
//!
//! Basic rules compare typed values, and both sides need the same readers: a rule's `value`
//! is always text (parsed once, when the rules are compiled), and a document's string field
//! may hold a date (`_timestamp`, `createdDate`) that must compare as an instant, not as
//! text. Everything here is total: text that does not read as the type gives `None`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Reads a finite number (`5`, `-2.5`, `1e3`; surrounding spaces allowed). `NaN` and the
/// infinities are not numbers here: no comparison with them could ever match.
pub(super) fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Reads `true`/`false`, `yes`/`no`, `1`/`0` (any case, surrounding spaces allowed).
pub(super) fn parse_bool(text: &str) -> Option<bool> {
    let t = text.trim();
    ["true", "yes", "1"]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w))
        .then_some(true)
        .or_else(|| ["false", "no", "0"].iter().any(|w| t.eq_ignore_ascii_case(w)).then_some(false))
}

/// True when `text` starts like an ISO 8601 date (`dddd-d`): cheap, and the gate before
/// any real parsing, so ordinary titles are never run through the date formats.
pub(super) fn looks_like_date(text: &str) -> bool {
    let b = text.trim().as_bytes();
    b.len() >= 6 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[5].is_ascii_digit()
}

/// Reads an instant from an RFC 3339 / ISO 8601 date or date-time:
/// `2024-01-01` (midnight UTC), `2024-01-01T10:00` and `2024-01-01T10:00:00.5` (UTC),
/// `2024-01-01T10:00:00Z`, `…+02:00` and `…+0200` (Confluence Server's form); a space may
/// replace the `T`.
pub(super) fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if !looks_like_date(t) {
        return None;
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Some(at.with_timezone(&Utc));
    }
    let t = if t.as_bytes().get(10) == Some(&b' ') { format!("{}T{}", &t[..10], &t[11..]) } else { t.into() };
    if let Ok(at) = DateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(at.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&t, f).ok())
        .or_else(|| NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_finite() {
        assert_eq!(parse_number(" 5 "), Some(5.0));
        assert_eq!(parse_number("-2.5"), Some(-2.5));
        assert_eq!(parse_number("1e3"), Some(1000.0));
        for text in ["NaN", "inf", "-infinity", "1,000", "1_000", "", "five"] {
            assert_eq!(parse_number(text), None, "{text}");
        }
    }

    #[test]
    fn booleans_read_the_usual_words() {
        for text in ["true", "TRUE", "yes", "Yes", "1", " true "] {
            assert_eq!(parse_bool(text), Some(true), "{text}");
        }
        for text in ["false", "No", "0"] {
            assert_eq!(parse_bool(text), Some(false), "{text}");
        }
        for text in ["y", "on", "2", ""] {
            assert_eq!(parse_bool(text), None, "{text}");
        }
    }

    #[test]
    fn instants_from_dates_and_date_times() {
        let at = |s: &str| parse_instant(s).map(|i| i.to_rfc3339());
        assert_eq!(at("2024-01-01").as_deref(), Some("2024-01-01T00:00:00+00:00"));
        assert_eq!(at("2024-01-01T10:00").as_deref(), Some("2024-01-01T10:00:00+00:00"));
        assert_eq!(at("2024-01-01T10:00:00").as_deref(), Some("2024-01-01T10:00:00+00:00"));
        assert_eq!(at("2024-01-01T10:00:00Z").as_deref(), Some("2024-01-01T10:00:00+00:00"));
        assert_eq!(at("2024-01-01 10:00:00Z").as_deref(), Some("2024-01-01T10:00:00+00:00"));
        assert_eq!(at("2024-01-01T12:00:00+02:00").as_deref(), Some("2024-01-01T10:00:00+00:00"));
        assert_eq!(at("2024-01-01T12:00:00.000+0200").as_deref(), Some("2024-01-01T10:00:00+00:00"));
        assert_eq!(at("2023-01-24T04:07:19.672Z").as_deref(), Some("2023-01-24T04:07:19.672+00:00"));
        for text in ["2024-13-01", "2024-01-01x", "2024", "Release 2024-01-01", "", "12345-01-01"] {
            assert_eq!(at(text), None, "{text}");
        }
    }

    #[test]
    fn date_shape_is_a_cheap_gate() {
        assert!(looks_like_date("2024-13-01"));
        assert!(looks_like_date("2024-1"));
        assert!(!looks_like_date("2024-Q1"));
        assert!(!looks_like_date("Home"));
        assert!(!looks_like_date("2024"));
    }
}
