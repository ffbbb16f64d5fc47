//! Whole-minute timestamps as text.
//!
//! The long format stores one row per sample, so a week of telemetry is over a million
//! timestamps: the canonical `YYYY-MM-DDTHH:MM:SSZ` form is parsed and written by hand
//! (a few integer operations) and only other RFC 3339 spellings go through `chrono`. Dates use the proleptic Gregorian calendar, as RFC 3339 does.

use adaptd_engine::calendar::{civil_from_days, days_from_civil, days_in_month};
use adaptd_engine::telemetry::{MINUTES_PER_DAY, Minute};
use chrono::{DateTime, Timelike};

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Neither RFC 3339 nor integer Unix seconds.
    #[error(
        "bad timestamp `{0}` (expected RFC 3339 such as 2026-11-16T08:00:00Z, or Unix seconds)"
    )]
    Malformed(String),
    /// A valid instant that is not at a whole minute.
    #[error("timestamp `{0}` is not at a whole minute (samples are per minute)")]
    NotWholeMinute(String),
    /// Too far from 1970 to be a minute index.
    #[error("timestamp `{0}` is out of range")]
    OutOfRange(String),
}

/// Parses an RFC 3339 timestamp (any offset) or integer Unix seconds into a minute.
pub fn parse_minute(text: &str) -> Result<Minute, TimestampError> {
    if let Some(m) = parse_canonical(text.as_bytes()) {
        return m.ok_or_else(|| TimestampError::NotWholeMinute(text.to_owned()));
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = text
            .parse()
            .map_err(|_| TimestampError::OutOfRange(text.to_owned()))?;
        return if secs % 60 == 0 {
            Ok(secs / 60)
        } else {
            Err(TimestampError::NotWholeMinute(text.to_owned()))
        };
    }
    let t = DateTime::parse_from_rfc3339(text)
        .map_err(|_| TimestampError::Malformed(text.to_owned()))?;
    if t.second() != 0 || t.nanosecond() != 0 {
        return Err(TimestampError::NotWholeMinute(text.to_owned()));
    }
    Ok(t.timestamp().div_euclid(60))
}

/// The fast path: exactly `YYYY-MM-DDTHH:MM:SSZ`. `None` when the text has another
/// shape (the slow path decides), `Some(None)` when it is valid but not a whole minute.
#[allow(clippy::option_option)]
fn parse_canonical(b: &[u8]) -> Option<Option<Minute>> {
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (year, month, day) = (i64::from(num(0..4)?), num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    if second != 0 {
        return Some(None);
    }
    let days = days_from_civil(year, month, day);
    Some(Some(
        days * MINUTES_PER_DAY + i64::from(hour) * 60 + i64::from(minute),
    ))
}

/// Appends `minute` as `YYYY-MM-DDTHH:MM:00Z`, or as Unix seconds when its year has
/// no four-digit RFC 3339 form; both read back to the same minute.
pub fn push_minute(out: &mut String, minute: Minute) {
    let days = minute.div_euclid(MINUTES_PER_DAY);
    let in_day = minute.rem_euclid(MINUTES_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        out.push_str(&(i128::from(minute) * 60).to_string());
        return;
    }
    let mut buf = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, (in_day / 60) as u32);
    put(14, 2, (in_day % 60) as u32);
    out.extend(buf.iter().map(|&c| char::from(c)));
}

/// `minute` as text (see [`push_minute`]).
pub fn format_minute(minute: Minute) -> String {
    let mut s = String::with_capacity(20);
    push_minute(&mut s, minute);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_and_general_forms_agree() {
        let m = parse_minute("2026-11-16T08:00:00Z").unwrap();
        assert_eq!(m, 1_794_816_000 / 60);
        assert_eq!(parse_minute("2026-11-16T09:00:00+01:00").unwrap(), m);
        assert_eq!(parse_minute("2026-11-16t08:00:00.000z").unwrap(), m);
        assert_eq!(parse_minute("1794816000").unwrap(), m);
        assert_eq!(format_minute(m), "2026-11-16T08:00:00Z");
    }

    #[test]
    fn refuses_partial_minutes_and_nonsense() {
        for bad in [
            "2026-11-16T08:00:30Z",
            "1794816030",
            "2026-11-16T08:00:00.5Z",
        ] {
            assert!(
                matches!(parse_minute(bad), Err(TimestampError::NotWholeMinute(_))),
                "{bad}"
            );
        }
        for bad in ["2026-02-30T00:00:00Z", "yesterday", "", "2026-11-16 08:00"] {
            assert!(parse_minute(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn minutes_round_trip_through_text() {
        for m in [-1_000_000_000_i64, -1, 0, 59, 1_000_000_000, 10_000_000_000] {
            assert_eq!(parse_minute(&format_minute(m)).unwrap(), m, "{m}");
        }
    }
}
