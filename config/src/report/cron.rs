//! Five-field cron expressions (`minute hour day-of-month month day-of-week`), in UTC,
//! and the next time one fires.
//!
//! The report schedule is the only user of cron in adaptd, and its needs are small, so
//! this is a self-contained parser rather than a dependency: it gives errors that name
//! the field and the token at fault, which a config file deserves. The dialect is the
//! classic Vixie one: `*`, numbers, `a-b` ranges, `/n` steps, `,` lists, month names
//! (`JAN`–`DEC`) and day names (`SUN`–`SAT`, `7` is Sunday too). When both
//! day-of-month and day-of-week are restricted, a day matching either fires, as in
//! Vixie cron; when one is `*`, only the other counts.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use adaptd_engine::calendar::civil_from_days;

/// A parsed cron expression. Times are UTC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    text: String,
    /// Bit `m` set when minute `m` matches.
    minutes: u64,
    hours: u32,
    /// Bits 1–31.
    days_of_month: u32,
    /// Bits 1–12.
    months: u16,
    /// Bits 0–6, Sunday = 0.
    days_of_week: u8,
    dom_restricted: bool,
    dow_restricted: bool,
}

/// Why a cron expression was refused. The message names the field and the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CronError(String);

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
    },
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    },
];

impl Field {
    fn value(&self, token: &str) -> Result<u32, CronError> {
        if let Some(i) = self
            .names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(token))
        {
            // Month names count from 1 (the field's minimum), day names from 0 (Sunday).
            return Ok(i as u32 + self.min);
        }
        let v: u32 = token.parse().map_err(|_| {
            let names = if self.names.is_empty() {
                String::new()
            } else {
                format!(
                    " or a name {}–{}",
                    self.names[0],
                    self.names[self.names.len() - 1]
                )
            };
            CronError(format!(
                "{}: `{token}` is not a number {}–{}{names}",
                self.name, self.min, self.max
            ))
        })?;
        if v < self.min || v > self.max {
            return Err(CronError(format!(
                "{}: {v} is out of range {}–{}",
                self.name, self.min, self.max
            )));
        }
        Ok(v)
    }

    /// The set of values of one field, as bits, and whether it starts with `*` (which
    /// Vixie cron treats as unrestricted when combining the two day fields).
    fn parse(&self, text: &str) -> Result<(u64, bool), CronError> {
        let mut bits = 0u64;
        for item in text.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => {
                    let step: u32 = s.parse().ok().filter(|&s| s > 0).ok_or_else(|| {
                        CronError(format!(
                            "{}: step `{s}` in `{item}` must be a whole number > 0",
                            self.name
                        ))
                    })?;
                    (r, step)
                }
                None => (item, 1),
            };
            let (lo, hi) = if range == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = range.split_once('-') {
                let (a, b) = (self.value(a)?, self.value(b)?);
                if a > b {
                    return Err(CronError(format!(
                        "{}: range `{range}` runs backwards",
                        self.name
                    )));
                }
                (a, b)
            } else if range.is_empty() {
                return Err(CronError(format!("{}: empty item in `{text}`", self.name)));
            } else {
                let v = self.value(range)?;
                // `5/15` means from 5 to the end, every 15.
                (v, if step > 1 { self.max } else { v })
            };
            for v in (lo..=hi).step_by(step as usize) {
                bits |= 1 << v;
            }
        }
        Ok((bits, text.starts_with('*')))
    }
}

impl FromStr for Cron {
    type Err = CronError;

    fn from_str(text: &str) -> Result<Self, CronError> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(CronError(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), got {}",
                parts.len()
            )));
        }
        let mut parsed = [(0u64, false); 5];
        for (i, (field, part)) in FIELDS.iter().zip(&parts).enumerate() {
            parsed[i] = field.parse(part)?;
        }
        let mut dow = parsed[4].0;
        if dow & (1 << 7) != 0 {
            dow = (dow & !(1 << 7)) | 1;
        }
        Ok(Cron {
            text: parts.join(" "),
            minutes: parsed[0].0,
            hours: parsed[1].0 as u32,
            days_of_month: parsed[2].0 as u32,
            months: parsed[3].0 as u16,
            days_of_week: dow as u8,
            dom_restricted: !parsed[2].1,
            dow_restricted: !parsed[4].1,
        })
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Longest gap between two runs of a satisfiable expression: 29 February on a given
/// weekday recurs within 28 years, and 2100 skips one leap day.
const SEARCH_DAYS: i64 = 366 * 40;

impl Cron {
    fn day_matches(&self, days: i64) -> bool {
        let (_, month, day) = civil_from_days(days);
        if self.months & (1 << month) == 0 {
            return false;
        }
        let weekday = (days + 4).rem_euclid(7) as u32;
        let dom = self.days_of_month & (1 << day) != 0;
        let dow = self.days_of_week & (1 << weekday) != 0;
        match (self.dom_restricted, self.dow_restricted) {
            (true, true) => dom || dow,
            (true, false) => dom,
            (false, true) => dow,
            (false, false) => true,
        }
    }

    /// The first minute (Unix seconds, a multiple of 60) strictly after `unix_seconds`
    /// at which the expression fires, or `None` if it never does (`0 0 31 2 *`).
    pub fn next_after_unix(&self, unix_seconds: i64) -> Option<i64> {
        let start_minute = unix_seconds.div_euclid(60) + 1;
        let first_day = start_minute.div_euclid(1440);
        for days in first_day..first_day + SEARCH_DAYS {
            if !self.day_matches(days) {
                continue;
            }
            let from = if days == first_day {
                start_minute.rem_euclid(1440)
            } else {
                0
            };
            for minute_of_day in from..1440 {
                let (h, m) = (minute_of_day / 60, minute_of_day % 60);
                if self.hours & (1 << h) != 0 && self.minutes & (1 << m) != 0 {
                    return Some((days * 1440 + minute_of_day) * 60);
                }
            }
        }
        None
    }
}

/// When a report scheduled by `cron` runs next, strictly after `now`.
///
/// This is what the long-lived service calls after each run (and at start) to know how
/// long to sleep. `None` when the expression can never fire (a date that does not exist).
pub fn next_run_after(cron: &Cron, now: SystemTime) -> Option<SystemTime> {
    let secs = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok()?,
        Err(e) => -i64::try_from(e.duration().as_secs_f64().ceil() as u64).ok()?,
    };
    let next = cron.next_after_unix(secs)?;
    let next = u64::try_from(next).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(next))
}

#[cfg(test)]
mod tests {
    use adaptd_engine::calendar::days_from_civil;

    use super::*;

    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
        (days_from_civil(y, mo, d) * 1440 + h * 60 + mi) * 60
    }

    fn next(expr: &str, from: i64) -> Option<i64> {
        expr.parse::<Cron>().unwrap().next_after_unix(from)
    }

    #[test]
    fn the_default_runs_monday_at_eight_utc() {
        // 2026-11-23 is a Monday.
        let monday_8 = at(2026, 11, 23, 8, 0);
        assert_eq!(next("0 8 * * MON", at(2026, 11, 20, 13, 7)), Some(monday_8));
        // Strictly after: at 08:00 exactly, the next is a week later.
        assert_eq!(next("0 8 * * MON", monday_8), Some(at(2026, 11, 30, 8, 0)));
        // A second after 07:59:59 is still today.
        assert_eq!(next("0 8 * * MON", monday_8 - 1), Some(monday_8));
        // Across a year end.
        assert_eq!(
            next("0 8 * * mon", at(2026, 12, 29, 9, 0)),
            Some(at(2027, 1, 4, 8, 0))
        );
    }

    #[test]
    fn steps_ranges_lists_and_names() {
        let t = at(2026, 1, 1, 10, 7);
        assert_eq!(next("*/15 * * * *", t), Some(at(2026, 1, 1, 10, 15)));
        assert_eq!(next("5/20 * * * *", t), Some(at(2026, 1, 1, 10, 25)));
        assert_eq!(next("0 9-17/4 * * *", t), Some(at(2026, 1, 1, 13, 0)));
        assert_eq!(next("30 6 1,15 * *", t), Some(at(2026, 1, 15, 6, 30)));
        assert_eq!(next("0 0 1 jun *", t), Some(at(2026, 6, 1, 0, 0)));
        // 7 is Sunday; 2026-01-04 is a Sunday.
        assert_eq!(next("0 0 * * 7", t), Some(at(2026, 1, 4, 0, 0)));
        assert_eq!(next("0 0 * * SUN", t), Some(at(2026, 1, 4, 0, 0)));
    }

    #[test]
    fn restricted_day_of_month_and_week_match_either() {
        // The 13th or any Friday: 2026-01-02 is a Friday.
        assert_eq!(
            next("0 0 13 * FRI", at(2026, 1, 1, 0, 0)),
            Some(at(2026, 1, 2, 0, 0))
        );
        assert_eq!(
            next("0 0 13 * *", at(2026, 1, 1, 0, 0)),
            Some(at(2026, 1, 13, 0, 0))
        );
    }

    #[test]
    fn leap_days_and_impossible_dates() {
        assert_eq!(
            next("0 0 29 2 *", at(2026, 3, 1, 0, 0)),
            Some(at(2028, 2, 29, 0, 0))
        );
        assert_eq!(next("0 0 31 2 *", 0), None);
        assert_eq!(next("0 0 30 FEB *", 0), None);
    }

    #[test]
    fn system_time_wrapper_agrees() {
        let cron: Cron = "0 8 * * MON".parse().unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(at(2026, 11, 20, 13, 7) as u64 + 30);
        let want = UNIX_EPOCH + Duration::from_secs(at(2026, 11, 23, 8, 0) as u64);
        assert_eq!(next_run_after(&cron, now), Some(want));
    }

    #[test]
    fn bad_expressions_name_the_field_and_token() {
        let err = |s: &str| s.parse::<Cron>().unwrap_err().to_string();
        assert_eq!(
            err("0 8 * *"),
            "expected 5 fields (minute hour day-of-month month day-of-week), got 4"
        );
        assert_eq!(err("60 8 * * MON"), "minute: 60 is out of range 0–59");
        assert_eq!(
            err("0 8 * * MONDAY"),
            "day of week: `MONDAY` is not a number 0–7 or a name SUN–SAT"
        );
        assert_eq!(err("0 17-9 * * *"), "hour: range `17-9` runs backwards");
        assert_eq!(
            err("*/0 * * * *"),
            "minute: step `0` in `*/0` must be a whole number > 0"
        );
        assert_eq!(err("0 8 1,,2 * *"), "day of month: empty item in `1,,2`");
        assert_eq!(err("0 8 0 * *"), "day of month: 0 is out of range 1–31");
    }
}
