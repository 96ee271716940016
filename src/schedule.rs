//! When a scheduled sync runs: a Quartz cron expression as Kibana writes it, or an interval.
//!
//! Kibana stores schedules as Quartz cron strings: `sec min hour day-of-month month
//! day-of-week [year]`, e.g. `0 0 * * * ?` (hourly). Day-of-week counts 1 = Sunday … 7 =
//! Saturday, names (`MON-FRI`, `JAN`) are allowed, as are `*`, `?`, ranges, steps and lists.
//! Times are evaluated in UTC, as Elastic's connector service does. Quartz's `L`, `W` and
//! `#` are refused with a clear message (Elastic's service refuses them too). An interval is
//! a number and a unit: `90s`, `30m`, `1h`, `1d`.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Datelike, Duration as ChronoDuration, TimeZone, Timelike, Utc};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Schedule {
    /// Runs at the times a cron expression names.
    Cron(Box<Cron>),
    /// Runs every `Duration` after the previous start.
    Every(Duration),
}

/// A Quartz cron expression, each field as the set of values it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cron {
    seconds: Vec<bool>,
    minutes: Vec<bool>,
    hours: Vec<bool>,
    /// Index 1..=31.
    days_of_month: Vec<bool>,
    /// Index 1..=12.
    months: Vec<bool>,
    /// Index 1..=7, 1 = Sunday.
    days_of_week: Vec<bool>,
    /// `None` when every year matches.
    years: Option<Vec<bool>>,
    dom_restricted: bool,
    dow_restricted: bool,
    text: String,
}

/// Why a schedule could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScheduleError(String);

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScheduleError {}

const MONTHS: [&str; 12] =
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const FIRST_YEAR: u32 = 1970;
const LAST_YEAR: u32 = 2199;

impl Schedule {
    /// Reads a cron expression or an interval.
    pub(crate) fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let text = text.trim();
        if let Some(every) = parse_interval(text) {
            return every.map(Schedule::Every);
        }
        Cron::parse(text).map(|c| Schedule::Cron(Box::new(c)))
    }

    /// The first time strictly after `after` at which the schedule fires.
    pub(crate) fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(d) => ChronoDuration::from_std(*d).ok().map(|d| after + d),
            Schedule::Cron(c) => c.next_after(after),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Cron(c) => f.write_str(&c.text),
            Schedule::Every(d) => write!(f, "every {}s", d.as_secs()),
        }
    }
}

/// `Some(result)` when `text` looks like an interval (digits then a unit).
fn parse_interval(text: &str) -> Option<Result<Duration, ScheduleError>> {
    let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
    if unit_at == 0 || text.contains(' ') {
        return None;
    }
    let (number, unit) = text.split_at(unit_at);
    let seconds_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    Some(match number.parse::<u64>() {
        Ok(n) if n > 0 => Ok(Duration::from_secs(n.saturating_mul(seconds_per))),
        _ => Err(ScheduleError(format!("interval {text:?} must be at least 1{unit}"))),
    })
}

impl Cron {
    /// Reads a Quartz cron expression.
    pub(crate) fn parse(text: &str) -> Result<Cron, ScheduleError> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 6 && fields.len() != 7 {
            return Err(ScheduleError(format!(
                "{text:?} is neither an interval (30m, 1h) nor a Quartz cron expression: expected 6 or 7 fields \
                 (seconds minutes hours day-of-month month day-of-week [year]), found {}; e.g. \"0 0 * * * ?\" runs hourly",
                fields.len()
            )));
        }
        let err = |name: &str, e: String| ScheduleError(format!("cron {text:?}, {name} field: {e}"));
        let dom_restricted = !matches!(fields[3], "*" | "?");
        let dow_restricted = !matches!(fields[5], "*" | "?");
        if dom_restricted && dow_restricted {
            return Err(ScheduleError(format!(
                "cron {text:?}: give either a day-of-month or a day-of-week, and ? in the other"
            )));
        }
        Ok(Cron {
            seconds: field(fields[0], 0, 59, &[], false).map_err(|e| err("seconds", e))?,
            minutes: field(fields[1], 0, 59, &[], false).map_err(|e| err("minutes", e))?,
            hours: field(fields[2], 0, 23, &[], false).map_err(|e| err("hours", e))?,
            days_of_month: field(fields[3], 1, 31, &[], true).map_err(|e| err("day-of-month", e))?,
            months: field(fields[4], 1, 12, &MONTHS, false).map_err(|e| err("month", e))?,
            days_of_week: field(fields[5], 1, 7, &WEEKDAYS, true).map_err(|e| err("day-of-week", e))?,
            years: match fields.get(6) {
                None | Some(&"*") => None,
                Some(y) => Some(field(y, FIRST_YEAR, LAST_YEAR, &[], false).map_err(|e| err("year", e))?),
            },
            dom_restricted,
            dow_restricted,
            text: text.to_string(),
        })
    }

    fn day_matches(&self, t: &DateTime<Utc>) -> bool {
        let dom = self.days_of_month[t.day() as usize];
        let dow = self.days_of_week[t.weekday().number_from_sunday() as usize];
        match (self.dom_restricted, self.dow_restricted) {
            (true, false) => dom,
            (false, true) => dow,
            _ => dom && dow,
        }
    }

    /// The first matching second strictly after `after`.
    pub(crate) fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut t = after.with_nanosecond(0)? + ChronoDuration::seconds(1);
        // Each step moves to the start of the next candidate unit, so this ends quickly;
        // the bound only guards against expressions that can never match (30 FEB).
        for _ in 0..100_000 {
            if t.year() as u32 > LAST_YEAR {
                return None;
            }
            if let Some(years) = &self.years {
                if !years[(t.year() as u32 - FIRST_YEAR) as usize] {
                    t = Utc.with_ymd_and_hms(t.year() + 1, 1, 1, 0, 0, 0).single()?;
                    continue;
                }
            }
            if !self.months[t.month() as usize] {
                t = start_of_next_month(t)?;
                continue;
            }
            if !self.day_matches(&t) {
                t = (t + ChronoDuration::days(1)).with_hour(0)?.with_minute(0)?.with_second(0)?;
                continue;
            }
            if !self.hours[t.hour() as usize] {
                t = (t + ChronoDuration::hours(1)).with_minute(0)?.with_second(0)?;
                continue;
            }
            if !self.minutes[t.minute() as usize] {
                t = (t + ChronoDuration::minutes(1)).with_second(0)?;
                continue;
            }
            if !self.seconds[t.second() as usize] {
                t += ChronoDuration::seconds(1);
                continue;
            }
            return Some(t);
        }
        None
    }
}

fn start_of_next_month(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let (y, m) = if t.month() == 12 { (t.year() + 1, 1) } else { (t.year(), t.month() + 1) };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single()
}

/// Parses one field into a membership table indexed by value (0..=max).
fn field(text: &str, min: u32, max: u32, names: &[&str], allow_question: bool) -> Result<Vec<bool>, String> {
    let mut set = vec![false; max as usize + 1];
    if text == "?" {
        if !allow_question {
            return Err("? is allowed only in day-of-month and day-of-week".into());
        }
        set[min as usize..=max as usize].iter_mut().for_each(|v| *v = true);
        return Ok(rebase(set, min));
    }
    if text.contains(['L', 'W', '#']) && !names.iter().any(|n| text.to_ascii_uppercase().contains(n)) {
        return Err(format!("{text:?}: L, W and # are not supported"));
    }
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s.parse::<u32>().map_err(|_| format!("step {s:?} is not a number"))?)),
            None => (part, None),
        };
        if step == Some(0) {
            return Err(format!("{part:?}: a step must be at least 1"));
        }
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, min, max, names)?, value(b, min, max, names)?)
        } else {
            let v = value(range, min, max, names)?;
            (v, if step.is_some() { max } else { v })
        };
        if lo > hi {
            return Err(format!("range {range:?} runs backwards"));
        }
        let mut v = lo;
        while v <= hi {
            set[v as usize] = true;
            v += step.unwrap_or(1);
        }
    }
    Ok(rebase(set, min))
}

/// Years are stored from `FIRST_YEAR`; every other field from 0.
fn rebase(set: Vec<bool>, min: u32) -> Vec<bool> {
    if min >= FIRST_YEAR {
        set[FIRST_YEAR as usize..].to_vec()
    } else {
        set
    }
}

fn value(text: &str, min: u32, max: u32, names: &[&str]) -> Result<u32, String> {
    let upper = text.to_ascii_uppercase();
    let v = match names.iter().position(|n| *n == upper) {
        Some(i) => i as u32 + 1,
        None => text.parse::<u32>().map_err(|_| {
            format!("{text:?} is not a number{}", if names.is_empty() { "" } else { " or a name" })
        })?,
    };
    if v < min || v > max {
        return Err(format!("{v} is out of range {min}-{max}"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(expr: &str, now: &str) -> String {
        Schedule::parse(expr).unwrap().next_after(at(now)).unwrap().to_rfc3339()
    }

    /// Elastic's test vectors (its service drops seconds; ours keeps them, so each is the
    /// same minute at second 0). Now = Wed 2023-01-18 17:18:56Z.
    #[test]
    fn elastic_vectors() {
        let now = "2023-01-18T17:18:56Z";
        assert_eq!(next("0 * * * * *", now), "2023-01-18T17:19:00+00:00");
        assert_eq!(next("0 0,5,10,15,20,25,30,35,40,45,50,55 * * * ?", now), "2023-01-18T17:20:00+00:00");
        assert_eq!(next("0 */5 * * * *", now), "2023-01-18T17:20:00+00:00");
        assert_eq!(next("0 3 * * * ?", now), "2023-01-18T18:03:00+00:00");
        assert_eq!(next("0 3 5 * * ?", now), "2023-01-19T05:03:00+00:00");
        assert_eq!(next("0 3 5 ? * 4", now), "2023-01-25T05:03:00+00:00");
        assert_eq!(next("0 3 5 5 * ?", now), "2023-02-05T05:03:00+00:00");
        assert_eq!(next("0 3 5 5 1 ?", "2023-01-05T06:18:00Z"), "2024-01-05T05:03:00+00:00");
    }

    #[test]
    fn names_ranges_and_sunday_is_one() {
        // Sat 2023-01-21 → the next weekday is Mon 23rd.
        assert_eq!(next("0 0 9 ? * MON-FRI", "2023-01-21T10:00:00Z"), "2023-01-23T09:00:00+00:00");
        assert_eq!(next("0 0 9 ? * 1", "2023-01-18T10:00:00Z"), "2023-01-22T09:00:00+00:00");
        assert_eq!(next("0 0 0 1 JAN,JUL ?", "2023-01-18T10:00:00Z"), "2023-07-01T00:00:00+00:00");
        assert_eq!(next("30 0/20 * * * ? 2030", "2023-01-18T10:00:00Z"), "2030-01-01T00:00:30+00:00");
    }

    #[test]
    fn intervals() {
        assert_eq!(Schedule::parse("30m").unwrap(), Schedule::Every(Duration::from_secs(1800)));
        assert_eq!(next("1h", "2023-01-18T10:00:00Z"), "2023-01-18T11:00:00+00:00");
        assert!(Schedule::parse("0m").is_err());
    }

    #[test]
    fn malformed_expressions_say_what_is_wrong() {
        let cases = [
            ("0 0 * * *", "expected 6 or 7 fields"),
            ("0 61 * * * ?", "minutes field: 61 is out of range 0-59"),
            ("0 0 * L * ?", "L, W and # are not supported"),
            ("0 0 12 1 * MON", "either a day-of-month or a day-of-week"),
            ("0 0 * * * FOO", "\"FOO\" is not a number or a name"),
            ("0 0 5-2 * * ?", "runs backwards"),
            ("? 0 * * * *", "? is allowed only"),
            ("0 */0 * * * ?", "a step must be at least 1"),
        ];
        for (expr, expected) in cases {
            let e = Schedule::parse(expr).unwrap_err().to_string();
            assert!(e.contains(expected), "{expr}: {e}");
        }
    }

    #[test]
    fn impossible_dates_end() {
        assert_eq!(Schedule::parse("0 0 0 30 FEB ?").unwrap().next_after(at("2023-01-01T00:00:00Z")), None);
    }
}
