//! Dates the way Elasticsearch reads them by default: `strict_date_optional_time` or
//! `epoch_millis`, plus `now`-relative date math in range queries. Dates are compared and
//! sorted as epoch milliseconds, which is also what Elasticsearch returns as sort values.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Parses a `strict_date_optional_time` string (`2024-05-01`, `2024-05-01T12:00:00.123Z`,
/// `2024-05-01T12:00:00+02:00`, …) into epoch milliseconds.
pub fn parse_strict_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() < 4 || !s.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp_millis());
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"] {
        if let Ok(d) = DateTime::parse_from_str(s, f) {
            return Some(d.timestamp_millis());
        }
    }
    let naive = s.strip_suffix('Z').unwrap_or(s);
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(naive, f) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    if let Some(h) = naive.strip_suffix("T00").or_else(|| naive.split_once('T').map(|(d, _)| d)) {
        if naive.len() == 13 {
            if let Ok(d) = NaiveDate::parse_from_str(h, "%Y-%m-%d") {
                let hour: u32 = naive[11..13].parse().ok()?;
                return d.and_hms_opt(hour, 0, 0).map(|t| t.and_utc().timestamp_millis());
            }
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(naive, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis());
    }
    if naive.len() == 7 {
        if let Ok(d) = NaiveDate::parse_from_str(&format!("{naive}-01"), "%Y-%m-%d") {
            return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis());
        }
    }
    if naive.len() == 4 {
        let y: i32 = naive.parse().ok()?;
        return Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).single().map(|d| d.timestamp_millis());
    }
    None
}

/// Whether dynamic mapping should map this string to `date` (Elasticsearch's
/// `date_detection` with `strict_date_optional_time`; a full `yyyy-MM-dd` is required).
pub fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && parse_strict_date(s).is_some()
}

/// A date field value: a date string or epoch milliseconds (as number or numeric string).
pub fn parse_date_value(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        serde_json::Value::String(s) => parse_strict_date(s).or_else(|| {
            if s.chars().all(|c| c.is_ascii_digit() || c == '-') {
                s.parse().ok()
            } else {
                None
            }
        }),
        _ => None,
    }
}

/// A date field value read with the field's `format` (`a||b`: the first that reads it).
/// Named formats Elasticsearch documents are read by their meaning; any other is a Java
/// `DateTimeFormatter` pattern (`yyyy-MM-dd HH:mm:ss.SSS`). No format: the default,
/// `strict_date_optional_time||epoch_millis`.
pub fn parse_date_with_format(v: &serde_json::Value, format: Option<&str>) -> Option<i64> {
    let Some(format) = format else { return parse_date_value(v) };
    let text = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    format.split("||").find_map(|f| match f.trim() {
        "strict_date_optional_time"
        | "date_optional_time"
        | "strict_date_optional_time_nanos"
        | "iso8601" => parse_strict_date(&text),
        "epoch_millis" => text.parse::<f64>().ok().map(|f| f as i64),
        "epoch_second" => text.parse::<f64>().ok().map(|f| (f * 1000.0) as i64),
        "strict_date" | "date" | "year_month_day" | "strict_year_month_day" => {
            NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok().and_then(midnight)
        }
        pattern => parse_java_pattern(&text, pattern),
    })
}

fn midnight(d: NaiveDate) -> Option<i64> {
    d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis())
}

/// A Java `DateTimeFormatter` pattern as a `chrono` one: the letters mappings use.
fn chrono_pattern(java: &str) -> Option<String> {
    let mut out = String::new();
    let chars: Vec<char> = java.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let end = chars[i + 1..].iter().position(|&x| x == '\'')? + i + 1;
            out.extend(chars[i + 1..end].iter());
            i = end + 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let piece = match (c, run) {
            ('y' | 'u', 2) => "%y".to_string(),
            ('y' | 'u', _) => "%Y".to_string(),
            ('M', 1 | 2) => "%m".to_string(),
            ('M', 3) => "%b".to_string(),
            ('M', _) => "%B".to_string(),
            ('d', _) => "%d".to_string(),
            ('H', _) => "%H".to_string(),
            ('h', _) => "%I".to_string(),
            ('a', _) => "%p".to_string(),
            ('m', _) => "%M".to_string(),
            ('s', _) => "%S".to_string(),
            ('S', 3) => "%3f".to_string(),
            ('S', 6) => "%6f".to_string(),
            ('S', 9) => "%9f".to_string(),
            ('S', _) => "%f".to_string(),
            ('X' | 'x' | 'Z', _) => "%:z".to_string(),
            (c, _) if c.is_ascii_alphabetic() => return None,
            (c, n) => std::iter::repeat_n(c, n).collect(),
        };
        out.push_str(&piece);
        i += run;
    }
    Some(out)
}

fn parse_java_pattern(text: &str, java: &str) -> Option<i64> {
    let f = chrono_pattern(java)?;
    if let Ok(d) = DateTime::parse_from_str(text, &f) {
        return Some(d.timestamp_millis());
    }
    if let Ok(d) = NaiveDateTime::parse_from_str(text, &f) {
        return Some(d.and_utc().timestamp_millis());
    }
    NaiveDate::parse_from_str(text, &f).ok().and_then(midnight)
}

/// A range-query bound: a date, epoch millis, or date math (`now-1d/d`, `2024-01-01||+1M`).
pub fn parse_date_bound(v: &serde_json::Value, now: DateTime<Utc>) -> Option<i64> {
    let s = match v {
        serde_json::Value::String(s) => s.as_str(),
        other => return parse_date_value(other),
    };
    let (anchor, math) = if let Some(rest) = s.strip_prefix("now") {
        (now, rest)
    } else if let Some((d, rest)) = s.split_once("||") {
        let ms = parse_strict_date(d)?;
        (Utc.timestamp_millis_opt(ms).single()?, rest)
    } else {
        return parse_date_value(v);
    };
    apply_math(anchor, math).map(|d| d.timestamp_millis())
}

fn apply_math(mut d: DateTime<Utc>, mut math: &str) -> Option<DateTime<Utc>> {
    while !math.is_empty() {
        let op = math.chars().next()?;
        math = &math[1..];
        if op == '/' {
            let unit = math.chars().next()?;
            math = &math[1..];
            d = round_down(d, unit)?;
            continue;
        }
        let digits: String = math.chars().take_while(char::is_ascii_digit).collect();
        math = &math[digits.len()..];
        let n: i64 = if digits.is_empty() { 1 } else { digits.parse().ok()? };
        let n = if op == '-' {
            -n
        } else if op == '+' {
            n
        } else {
            return None;
        };
        let unit = math.chars().next()?;
        math = &math[1..];
        d = match unit {
            'y' => shift_months(d, n * 12)?,
            'M' => shift_months(d, n)?,
            'w' => d + Duration::weeks(n),
            'd' => d + Duration::days(n),
            'h' | 'H' => d + Duration::hours(n),
            'm' => d + Duration::minutes(n),
            's' => d + Duration::seconds(n),
            _ => return None,
        };
    }
    Some(d)
}

fn shift_months(d: DateTime<Utc>, months: i64) -> Option<DateTime<Utc>> {
    let total = d.year() as i64 * 12 + d.month0() as i64 + months;
    let (y, m) = ((total.div_euclid(12)) as i32, (total.rem_euclid(12)) as u32 + 1);
    let day = d.day().min(28);
    let date = NaiveDate::from_ymd_opt(y, m, day)?;
    Some(date.and_time(d.time()).and_utc())
}

fn round_down(d: DateTime<Utc>, unit: char) -> Option<DateTime<Utc>> {
    let date = d.date_naive();
    let t = match unit {
        'y' => NaiveDate::from_ymd_opt(d.year(), 1, 1)?.and_hms_opt(0, 0, 0)?,
        'M' => NaiveDate::from_ymd_opt(d.year(), d.month(), 1)?.and_hms_opt(0, 0, 0)?,
        'w' => (date - Duration::days(d.weekday().num_days_from_monday() as i64)).and_hms_opt(0, 0, 0)?,
        'd' => date.and_hms_opt(0, 0, 0)?,
        'h' | 'H' => date.and_hms_opt(chrono::Timelike::hour(&d), 0, 0)?,
        'm' => date.and_hms_opt(chrono::Timelike::hour(&d), chrono::Timelike::minute(&d), 0)?,
        's' => return Some(d - Duration::nanoseconds(chrono::Timelike::nanosecond(&d) as i64)),
        _ => return None,
    };
    Some(t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_date_optional_time_forms() {
        assert_eq!(parse_strict_date("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_strict_date("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_strict_date("1970-01-01T00:00:01.5"), Some(1500));
        assert_eq!(parse_strict_date("1970-01-01T01:00:00+01:00"), Some(0));
        assert!(parse_strict_date("2024-05-01T12:00:00.123456+00:00").is_some());
        assert_eq!(parse_strict_date("hello"), None);
        assert!(looks_like_date("2024-05-01"));
        assert!(!looks_like_date("2024"));
        assert!(!looks_like_date("2024-13-45"));
    }

    #[test]
    fn formats_of_the_mapping() {
        let v = |s: &str| serde_json::Value::String(s.to_string());
        let f = Some("yyyy-MM-dd HH:mm:ss.SSS");
        assert_eq!(parse_date_with_format(&v("2019-10-21 08:30:04.828"), f), Some(1571646604828));
        assert_eq!(parse_date_with_format(&v("2019-10-21T08:30:04.828Z"), f), None);
        assert_eq!(
            parse_date_with_format(&v("21/10/2019"), Some("dd/MM/yyyy||epoch_millis")),
            Some(1571616000000)
        );
        assert_eq!(
            parse_date_with_format(&v("1571616000000"), Some("dd/MM/yyyy||epoch_millis")),
            Some(1571616000000)
        );
        assert_eq!(parse_date_with_format(&v("2019-10-21'T'x"), Some("yyyy-MM-dd'T'HH")), None);
        assert_eq!(parse_date_with_format(&v("2019-10-21"), None), Some(1571616000000));
    }

    #[test]
    fn date_math() {
        let now = Utc.with_ymd_and_hms(2024, 3, 15, 10, 30, 0).unwrap();
        let v = serde_json::json!("now-1d/d");
        let expect = Utc.with_ymd_and_hms(2024, 3, 14, 0, 0, 0).unwrap().timestamp_millis();
        assert_eq!(parse_date_bound(&v, now), Some(expect));
        let v = serde_json::json!("2024-01-31||+1M");
        assert!(parse_date_bound(&v, now).is_some());
    }
}
