//! CQL date values, evaluated in a site's time zone.
//!
//! Confluence reads dates in CQL "relative to your configured time zone (which is by default
//! the Confluence server's time zone)" and at minute precision. A date value is either an
//! absolute `yyyy-MM-dd`, `yyyy/MM/dd`, `yyyy-MM-dd HH:mm` or `yyyy/MM/dd HH:mm` (local time
//! in the site's zone), or a function:
//!
//! * `now(inc)` — the current instant plus the increment;
//! * `startOfDay/Week/Month/Year(inc)` — the first instant of the current local period, then
//!   plus the increment (so `startOfWeek("+1d")` is Monday);
//! * `endOfDay/Week/Month/Year(inc)` — the last millisecond of the current local period
//!   (23:59:59.999), then plus the increment.
//!
//! The increment is `(+/-)nn(y|M|w|d|h|m)` (plus if the sign is left out): years, months,
//! weeks, days, hours, minutes. Years, months, weeks and days move the local calendar date and
//! keep the local wall-clock time (so `startOfDay("-1d")` is yesterday's local midnight even
//! across a daylight-saving change); hours and minutes move the instant. Weeks start on
//! Sunday, Confluence's default (en_US) week. A local time that does not exist (skipped by a
//! daylight-saving change) moves forward to the first minute that does; an ambiguous one
//! takes the earlier instant.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;

use crate::ast::Value;
use crate::error::CqlError;

/// What a date value must look like, for error messages.
const EXPECTED_DATE: &str = "a date: \"yyyy-MM-dd\", \"yyyy/MM/dd\", \"yyyy-MM-dd HH:mm\", \
\"yyyy/MM/dd HH:mm\" or a date function such as now(\"-4w\"), startOfDay(), endOfMonth(\"-1M\")";

/// What an increment must look like, for error messages.
const EXPECTED_INCREMENT: &str =
    "an increment like \"-4w\" or \"+2d\": (+/-)nn(y|M|w|d|h|m) (years, Months, weeks, days, hours, minutes)";

/// Evaluates a date value to an instant. `now` is the current instant; `tz` the site's zone.
///
/// Errors have position 0; callers that know the clause position should move it there
/// (see [`resolve_date_at`]).
pub fn resolve_date(value: &Value, now: DateTime<Utc>, tz: Tz) -> Result<DateTime<Utc>, CqlError> {
    resolve_date_at(value, now, tz, 0)
}

/// [`resolve_date`], reporting problems at `position` (the clause's position).
pub fn resolve_date_at(
    value: &Value,
    now: DateTime<Utc>,
    tz: Tz,
    position: usize,
) -> Result<DateTime<Utc>, CqlError> {
    match value {
        Value::Text(text) => absolute(text, tz)
            .ok_or_else(|| CqlError::invalid_value(position, format!("\"{text}\""), EXPECTED_DATE)),
        Value::Function { name, args } => function(name, args, now, tz, position),
        Value::Number(n) => Err(CqlError::invalid_value(position, format!("the number {n}"), EXPECTED_DATE)),
        Value::List(_) => Err(CqlError::invalid_value(position, "a list", EXPECTED_DATE)),
    }
}

/// Formats an instant as CQL's `yyyy-MM-dd HH:mm` in the site's zone (seconds are dropped,
/// as CQL has minute precision).
pub fn format_cql_datetime(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// Whether `name` is one of the date functions (`now`, `startOfDay` … `endOfYear`),
/// case-insensitively.
pub fn is_date_function(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "now",
        "startofday",
        "startofweek",
        "startofmonth",
        "startofyear",
        "endofday",
        "endofweek",
        "endofmonth",
        "endofyear",
    ];
    NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Truncates an instant to the whole minute, the precision CQL compares dates at.
pub fn to_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp();
    let floored = secs - secs.rem_euclid(60);
    DateTime::from_timestamp(floored, 0).unwrap_or(t)
}

/// Reads an absolute date in one of the four CQL formats, as local time in `tz`.
fn absolute(text: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let text = text.trim();
    for format in ["%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
            return Some(local_to_utc(local, tz));
        }
    }
    for format in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(date) = NaiveDate::parse_from_str(text, format) {
            return Some(local_to_utc(date.and_time(NaiveTime::MIN), tz));
        }
    }
    None
}

/// The period a start/end function snaps to.
#[derive(Clone, Copy)]
enum Period {
    Day,
    Week,
    Month,
    Year,
}

fn function(
    name: &str,
    args: &[Value],
    now: DateTime<Utc>,
    tz: Tz,
    position: usize,
) -> Result<DateTime<Utc>, CqlError> {
    let lower = name.to_ascii_lowercase();
    let increment = match args {
        [] => Increment::ZERO,
        [Value::Text(text)] => Increment::parse(text)
            .ok_or_else(|| CqlError::invalid_value(position, format!("\"{text}\""), EXPECTED_INCREMENT))?,
        [Value::Number(0)] => Increment::ZERO,
        _ => {
            return Err(CqlError::invalid_value(
                position,
                format!("the arguments of {name}()"),
                "one increment such as \"-4w\", or nothing",
            ))
        }
    };
    if lower == "now" {
        return Ok(increment.apply(now, tz));
    }
    let (end, period) = match lower.as_str() {
        "startofday" => (false, Period::Day),
        "startofweek" => (false, Period::Week),
        "startofmonth" => (false, Period::Month),
        "startofyear" => (false, Period::Year),
        "endofday" => (true, Period::Day),
        "endofweek" => (true, Period::Week),
        "endofmonth" => (true, Period::Month),
        "endofyear" => (true, Period::Year),
        _ => return Err(CqlError::invalid_value(position, format!("the function {name}()"), EXPECTED_DATE)),
    };
    let today = now.with_timezone(&tz).date_naive();
    let first_day = period_start(today, period);
    let boundary = if end {
        let next = next_period(first_day, period);
        local_to_utc(next.and_time(NaiveTime::MIN), tz) - Duration::milliseconds(1)
    } else {
        local_to_utc(first_day.and_time(NaiveTime::MIN), tz)
    };
    Ok(increment.apply(boundary, tz))
}

/// First day of the period that contains `day`.
fn period_start(day: NaiveDate, period: Period) -> NaiveDate {
    match period {
        Period::Day => day,
        Period::Week => day - Duration::days(i64::from(day.weekday().num_days_from_sunday())),
        Period::Month => day.with_day(1).unwrap_or(day),
        Period::Year => day.with_ordinal(1).unwrap_or(day),
    }
}

/// First day of the period after the one starting at `first`.
fn next_period(first: NaiveDate, period: Period) -> NaiveDate {
    match period {
        Period::Day => first + Duration::days(1),
        Period::Week => first + Duration::days(7),
        Period::Month => first + Months::new(1),
        Period::Year => first + Months::new(12),
    }
}

/// Local wall-clock time in `tz` to an instant: earlier instant when ambiguous, first
/// existing minute after a skipped one.
fn local_to_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    let mut candidate = local;
    // Daylight-saving gaps are at most a few hours; 48 hours bounds the search generously.
    for _ in 0..(48 * 60) {
        match tz.from_local_datetime(&candidate) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => return earlier.with_timezone(&Utc),
            LocalResult::None => candidate += Duration::minutes(1),
        }
    }
    // No zone skips two days; read the wall clock as UTC rather than fail.
    Utc.from_utc_datetime(&local)
}

/// A parsed `(+/-)nn(y|M|w|d|h|m)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Increment {
    amount: i64,
    unit: char,
}

impl Increment {
    const ZERO: Increment = Increment { amount: 0, unit: 'm' };

    fn parse(text: &str) -> Option<Increment> {
        let text = text.trim();
        if text.is_empty() {
            return Some(Increment::ZERO);
        }
        let (sign, rest) = match text.as_bytes()[0] {
            b'-' => (-1, &text[1..]),
            b'+' => (1, &text[1..]),
            _ => (1, text),
        };
        let unit = rest.chars().last()?;
        if !matches!(unit, 'y' | 'M' | 'w' | 'd' | 'h' | 'm') {
            return None;
        }
        let digits = &rest[..rest.len() - 1];
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let amount: i64 = digits.parse().ok()?;
        // Keep amounts in a range chrono can represent (about 100 000 years of minutes).
        if amount > 50_000_000_000 {
            return None;
        }
        Some(Increment { amount: sign * amount, unit })
    }

    fn apply(self, t: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        if self.amount == 0 {
            return t;
        }
        match self.unit {
            'm' => t + Duration::minutes(self.amount),
            'h' => t + Duration::hours(self.amount),
            unit => {
                let local = t.with_timezone(&tz).naive_local();
                let months = |n: i64| -> Option<NaiveDateTime> {
                    let m = Months::new(u32::try_from(n.unsigned_abs()).ok()?);
                    if n < 0 {
                        local.checked_sub_months(m)
                    } else {
                        local.checked_add_months(m)
                    }
                };
                let moved = match unit {
                    'd' => local.checked_add_signed(Duration::days(self.amount)),
                    'w' => local.checked_add_signed(Duration::weeks(self.amount)),
                    'M' => months(self.amount),
                    _ => self.amount.checked_mul(12).and_then(months),
                };
                match moved {
                    Some(local) => local_to_utc(local, tz),
                    // Out of chrono's range: saturate rather than wrap.
                    None if self.amount < 0 => DateTime::<Utc>::MIN_UTC,
                    None => DateTime::<Utc>::MAX_UTC,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::Los_Angeles;
    use chrono_tz::Pacific::Kiritimati;
    use chrono_tz::UTC;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn call(name: &str, arg: Option<&str>) -> Value {
        Value::Function {
            name: name.into(),
            args: arg.map(|a| vec![Value::Text(a.into())]).unwrap_or_default(),
        }
    }

    fn at(value: &Value, now: &str, tz: Tz) -> String {
        resolve_date(value, utc(now), tz).unwrap().to_rfc3339()
    }

    #[test]
    fn absolute_formats_are_local_time() {
        let la = |s: &str| at(&Value::Text(s.into()), "2024-01-01T00:00:00Z", Los_Angeles);
        assert_eq!(la("2024-03-05"), "2024-03-05T08:00:00+00:00");
        assert_eq!(la("2024/03/05"), "2024-03-05T08:00:00+00:00");
        assert_eq!(la("2024-07-05 13:45"), "2024-07-05T20:45:00+00:00");
        assert_eq!(la("2024/07/05 13:45"), "2024-07-05T20:45:00+00:00");
        let err = resolve_date(&Value::Text("05.03.2024".into()), Utc::now(), UTC).unwrap_err();
        assert!(err.to_string().starts_with("CQL: \"05.03.2024\" in the clause at position 0 is not a date"));
    }

    #[test]
    fn now_with_increments() {
        let now = "2024-03-15T10:30:00Z";
        assert_eq!(at(&call("now", None), now, UTC), "2024-03-15T10:30:00+00:00");
        assert_eq!(at(&call("now", Some("-4w")), now, UTC), "2024-02-16T10:30:00+00:00");
        assert_eq!(at(&call("NOW", Some("+2d")), now, UTC), "2024-03-17T10:30:00+00:00");
        assert_eq!(at(&call("now", Some("2d")), now, UTC), "2024-03-17T10:30:00+00:00");
        assert_eq!(at(&call("now", Some("-90m")), now, UTC), "2024-03-15T09:00:00+00:00");
        assert_eq!(at(&call("now", Some("-5h")), now, UTC), "2024-03-15T05:30:00+00:00");
        assert_eq!(at(&call("now", Some("-3M")), now, UTC), "2023-12-15T10:30:00+00:00");
        assert_eq!(at(&call("now", Some("-1y")), now, UTC), "2023-03-15T10:30:00+00:00");
        for bad in ["-4x", "w", "--1d", "1.5d", "-d"] {
            let err = resolve_date(&call("now", Some(bad)), utc(now), UTC).unwrap_err();
            assert!(err.expected.starts_with("an increment"), "{bad}: {err}");
        }
    }

    #[test]
    fn period_boundaries() {
        // Friday 2024-03-15 in UTC; weeks start on Sunday.
        let now = "2024-03-15T10:30:00Z";
        assert_eq!(at(&call("startOfDay", None), now, UTC), "2024-03-15T00:00:00+00:00");
        assert_eq!(at(&call("startOfDay", Some("-1d")), now, UTC), "2024-03-14T00:00:00+00:00");
        assert_eq!(at(&call("startOfWeek", None), now, UTC), "2024-03-10T00:00:00+00:00");
        assert_eq!(at(&call("startOfWeek", Some("+1d")), now, UTC), "2024-03-11T00:00:00+00:00");
        assert_eq!(at(&call("startOfMonth", None), now, UTC), "2024-03-01T00:00:00+00:00");
        assert_eq!(at(&call("startOfMonth", Some("-1M")), now, UTC), "2024-02-01T00:00:00+00:00");
        assert_eq!(at(&call("startOfYear", None), now, UTC), "2024-01-01T00:00:00+00:00");
        assert_eq!(at(&call("endOfDay", None), now, UTC), "2024-03-15T23:59:59.999+00:00");
        assert_eq!(at(&call("endOfWeek", None), now, UTC), "2024-03-16T23:59:59.999+00:00");
        assert_eq!(at(&call("endOfMonth", None), now, UTC), "2024-03-31T23:59:59.999+00:00");
        assert_eq!(at(&call("endOfYear", None), now, UTC), "2024-12-31T23:59:59.999+00:00");
        assert_eq!(at(&call("endOfDay", Some("-1d")), now, UTC), "2024-03-14T23:59:59.999+00:00");
        let err = resolve_date(&call("yesterday", None), utc(now), UTC).unwrap_err();
        assert_eq!(err.found, "the function yesterday()");
    }

    #[test]
    fn los_angeles_across_spring_forward() {
        // 2024-03-10 02:00 PST → 03:00 PDT. Now = 2024-03-11 12:00 PDT = 19:00Z.
        let now = "2024-03-11T19:00:00Z";
        // Local midnight today is PDT (-7); yesterday's midnight is still PST (-8).
        assert_eq!(at(&call("startOfDay", None), now, Los_Angeles), "2024-03-11T07:00:00+00:00");
        assert_eq!(at(&call("startOfDay", Some("-1d")), now, Los_Angeles), "2024-03-10T08:00:00+00:00");
        // The week started Sunday 2024-03-10, before the change.
        assert_eq!(at(&call("startOfWeek", None), now, Los_Angeles), "2024-03-10T08:00:00+00:00");
        // Noon on 2024-03-10 is already PDT, so one calendar day back is 24 hours here…
        assert_eq!(at(&call("now", Some("-1d")), now, Los_Angeles), "2024-03-10T19:00:00+00:00");
        assert_eq!(at(&call("now", Some("-24h")), now, Los_Angeles), "2024-03-10T19:00:00+00:00");
        assert_eq!(
            // …but from 13:00 PDT on the change day, a calendar day back (13:00 PST) is 23 hours.
            at(&call("now", Some("-1d")), "2024-03-10T20:00:00Z", Los_Angeles),
            "2024-03-09T21:00:00+00:00"
        );
        // 02:30 does not exist on 2024-03-10; it moves forward to 03:00 PDT.
        assert_eq!(
            at(&Value::Text("2024-03-10 02:30".into()), now, Los_Angeles),
            "2024-03-10T10:00:00+00:00"
        );
        // 01:30 on 2024-11-03 happens twice; the earlier (PDT) wins.
        assert_eq!(
            at(&Value::Text("2024-11-03 01:30".into()), now, Los_Angeles),
            "2024-11-03T08:30:00+00:00"
        );
        assert_eq!(format_cql_datetime(utc("2024-03-10T10:00:59Z"), Los_Angeles), "2024-03-10 03:00");
    }

    #[test]
    fn kiritimati_is_a_day_ahead() {
        // UTC+14: 2024-12-31 12:00Z is already 2025-01-01 02:00 local.
        let now = "2024-12-31T12:00:00Z";
        assert_eq!(at(&call("startOfDay", None), now, Kiritimati), "2024-12-31T10:00:00+00:00");
        assert_eq!(at(&call("startOfYear", None), now, Kiritimati), "2024-12-31T10:00:00+00:00");
        assert_eq!(at(&call("startOfYear", None), now, UTC), "2024-01-01T00:00:00+00:00");
        assert_eq!(at(&call("endOfMonth", None), now, Kiritimati), "2025-01-31T09:59:59.999+00:00");
        assert_eq!(format_cql_datetime(utc(now), Kiritimati), "2025-01-01 02:00");
        assert_eq!(at(&Value::Text("2025-01-01".into()), now, Kiritimati), "2024-12-31T10:00:00+00:00");
    }

    #[test]
    fn minute_truncation() {
        assert_eq!(to_minute(utc("2024-03-15T10:30:59.900Z")).to_rfc3339(), "2024-03-15T10:30:00+00:00");
        assert_eq!(to_minute(utc("1969-12-31T23:59:30Z")).to_rfc3339(), "1969-12-31T23:59:00+00:00");
    }
}
