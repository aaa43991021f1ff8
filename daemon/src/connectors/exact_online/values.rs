//! Exact Online's values as it sends them: space-padded codes, booleans as `true` or 0/1, dates as
//! `/Date(ms)/` in Dutch local time.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

/// A text value, trimmed (codes come right-aligned with spaces); none when empty.
pub fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A boolean sent as `true`/`false`, 1/0, or either as text.
pub fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.trim() {
            "1" => Some(true),
            "0" => Some(false),
            s if s.eq_ignore_ascii_case("true") => Some(true),
            s if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `/Date(1641034800000)/`: milliseconds of Amsterdam's wall clock read as if they were UTC.
pub fn date(value: &str) -> Option<DateTime<Utc>> {
    let millis: i64 = value.strip_prefix("/Date(")?.strip_suffix(")/")?.split(['+', '-']).next()?.parse().ok()?;
    let wall = DateTime::<Utc>::from_timestamp_millis(millis)?.naive_utc();
    crate::slots::ZONE.from_local_datetime(&wall).earliest().map(|local| local.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_padded_codes_numeric_booleans_and_dutch_local_dates() {
        assert_eq!(text(&json!("5  ")), Some("5".into()));
        assert_eq!(text(&json!("   ")), None);
        assert_eq!(flag(&json!(1)), Some(true));
        assert_eq!(flag(&json!(0)), Some(false));
        assert_eq!(flag(&json!(true)), Some(true));
        assert_eq!(flag(&json!("1")), Some(true));
        // 1 January 2022 12:00 on Amsterdam's clock is 11:00 UTC (winter time).
        assert_eq!(date("/Date(1641038400000)/").unwrap().to_rfc3339(), "2022-01-01T11:00:00+00:00");
        // 1 July 2022 12:00 there is 10:00 UTC (summer time).
        assert_eq!(date("/Date(1656676800000)/").unwrap().to_rfc3339(), "2022-07-01T10:00:00+00:00");
        assert_eq!(date("2022-01-01"), None);
    }
}
