//! Five-field cron expressions (`minute hour day-of-month month day-of-week`) in a time
//! zone (UTC unless told otherwise), and the next time one fires.
//!
//! The report schedule is the only user of cron in adaptd, and its needs are small, so
//! this is a self-contained parser rather than a dependency: it gives errors that name
//! the field and the token at fault, which a config file deserves. The dialect is the
//! classic Vixie one: `*`, numbers, `a-b` ranges, `/n` steps, `,` lists, month names
//! (`JAN`–`DEC`) and day names (`SUN`–`SAT`, `7` is Sunday too). When both
//! day-of-month and day-of-week are restricted, a day matching either fires, as in
//! Vixie cron; when one is `*`, only the other counts.
//!
//! In a zone with daylight saving, the fields are local wall-clock time, so
//! `0 8 * * MON` stays at 08:00 local across the change. A local time that occurs twice
//! (the autumn hour) fires once, at its first occurrence; one that does not occur (the
//! spring gap) fires at the instant it names under the offset before the change, which
//! is as much later on the clock as the gap is long (02:30 in Berlin's gap fires at
//! 03:30 CEST), as cronie does: a daily job is never skipped.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use adaptd_engine::calendar::civil_from_days;
use adaptd_engine::zone::Zone;
use chrono::{DateTime, LocalResult, TimeZone};

/// A parsed cron expression and the zone its fields are in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    text: String,
    zone: Zone,
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

impl From<String> for CronError {
    fn from(message: String) -> Self {
        CronError(message)
    }
}

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
            zone: Zone::UTC,
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
    /// The same expression read in `zone`.
    #[must_use]
    pub fn in_zone(mut self, zone: Zone) -> Self {
        self.zone = zone;
        self
    }

    /// The zone the fields are in.
    pub fn zone(&self) -> Zone {
        self.zone
    }

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
        // Local days, from the day before the start's (an autumn hour that occurs
        // twice may put a later local time at an earlier instant) on.
        let local_start = start_minute + self.zone.offset_minutes(start_minute);
        let first_day = local_start.div_euclid(1440) - 1;
        for days in first_day..first_day + SEARCH_DAYS {
            if !self.day_matches(days) {
                continue;
            }
            // Within a day, instants follow the clock except in the spring gap, whose
            // times fire after the gap: take the earliest.
            let fires = (0..1440)
                .filter(|minute_of_day| {
                    let (h, m) = (minute_of_day / 60, minute_of_day % 60);
                    self.hours & (1 << h) != 0 && self.minutes & (1 << m) != 0
                })
                .map(|minute_of_day| self.instant(days * 1440 + minute_of_day))
                .filter(|&at| at >= start_minute)
                .min();
            if let Some(at) = fires {
                return Some(at * 60);
            }
        }
        None
    }

    /// The UTC minute at which local minute `local` (minutes since 1970-01-01 00:00
    /// on the zone's clock) fires; see the module doc for the autumn and spring hours.
    fn instant(&self, local: i64) -> i64 {
        if self.zone.is_utc() {
            return local;
        }
        let tz = self.zone.tz();
        let at = |local: i64| -> Option<i64> {
            let naive = DateTime::from_timestamp(local.checked_mul(60)?, 0)?.naive_utc();
            match tz.from_local_datetime(&naive) {
                LocalResult::Single(t) => Some(t.timestamp() / 60),
                LocalResult::Ambiguous(first, second) => {
                    Some(first.timestamp().min(second.timestamp()) / 60)
                }
                LocalResult::None => None,
            }
        };
        // In a gap: the last local minute before it, moved on by as many minutes.
        (0..=24 * 60)
            .find_map(|back| at(local - back).map(|t| t + back))
            .unwrap_or(local)
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

    fn next_in(expr: &str, zone: &str, from: i64) -> Option<i64> {
        let zone: Zone = zone.parse().unwrap();
        expr.parse::<Cron>()
            .unwrap()
            .in_zone(zone)
            .next_after_unix(from)
    }

    #[test]
    fn monday_eight_stays_at_eight_local_across_both_changes_in_berlin() {
        // 2026: CEST from Sunday 29 March, CET again from Sunday 25 October.
        let z = "Europe/Berlin";
        assert_eq!(
            next_in("0 8 * * MON", z, at(2026, 3, 24, 12, 0)),
            Some(at(2026, 3, 30, 6, 0)),
            "08:00 CEST is 06:00 UTC"
        );
        assert_eq!(
            next_in("0 8 * * MON", z, at(2026, 3, 20, 12, 0)),
            Some(at(2026, 3, 23, 7, 0)),
            "08:00 CET is 07:00 UTC"
        );
        assert_eq!(
            next_in("0 8 * * MON", z, at(2026, 10, 20, 12, 0)),
            Some(at(2026, 10, 26, 7, 0))
        );
        assert_eq!(
            next_in("0 8 * * MON", z, at(2026, 10, 13, 12, 0)),
            Some(at(2026, 10, 19, 6, 0))
        );
        // Strictly after, in local time too: at 08:00 CET exactly, a week later.
        assert_eq!(
            next_in("0 8 * * MON", z, at(2026, 10, 26, 7, 0)),
            Some(at(2026, 11, 2, 7, 0))
        );
    }

    #[test]
    fn the_spring_gap_fires_late_and_the_autumn_hour_fires_once() {
        let z = "Europe/Berlin";
        // 02:30 does not exist on 29 March 2026: it fires at 03:30 CEST (01:30 UTC).
        assert_eq!(
            next_in("30 2 * * *", z, at(2026, 3, 28, 12, 0)),
            Some(at(2026, 3, 29, 1, 30))
        );
        // 02:30 occurs twice on 25 October 2026 (00:30 and 01:30 UTC): the first runs,
        // and from between the two the next run is the next day's.
        assert_eq!(
            next_in("30 2 * * *", z, at(2026, 10, 24, 12, 0)),
            Some(at(2026, 10, 25, 0, 30))
        );
        assert_eq!(
            next_in("30 2 * * *", z, at(2026, 10, 25, 0, 30)),
            Some(at(2026, 10, 26, 1, 30))
        );
        // An hourly job runs 23 times on the spring day and 24 on the autumn one (the
        // repeated local hour once).
        let count = |from: i64, to: i64| {
            let mut n = 0;
            let mut t = from;
            while let Some(next) = next_in("0 * * * *", z, t).filter(|&x| x < to) {
                n += 1;
                t = next;
            }
            n
        };
        assert_eq!(count(at(2026, 3, 28, 22, 59), at(2026, 3, 29, 22, 0)), 23);
        assert_eq!(count(at(2026, 10, 24, 21, 59), at(2026, 10, 25, 23, 0)), 24);
    }

    #[test]
    fn new_york_follows_its_own_dates() {
        let z = "America/New_York";
        // EDT from Sunday 8 March 2026, EST from Sunday 1 November 2026.
        assert_eq!(
            next_in("0 8 * * MON", z, at(2026, 3, 3, 0, 0)),
            Some(at(2026, 3, 9, 12, 0)),
            "08:00 EDT is 12:00 UTC"
        );
        assert_eq!(
            next_in("0 8 * * MON", z, at(2026, 10, 27, 0, 0)),
            Some(at(2026, 11, 2, 13, 0)),
            "08:00 EST is 13:00 UTC"
        );
        // Sunday 23:00 local on 1 November is Monday 04:00 UTC: the day is local.
        assert_eq!(
            next_in("0 23 * * SUN", z, at(2026, 11, 1, 12, 0)),
            Some(at(2026, 11, 2, 4, 0))
        );
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
