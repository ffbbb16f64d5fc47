//! Time zones (IANA names such as `Europe/Berlin`) for hour-of-day schedules.
//!
//! A "business hours" schedule is about local hours: 08:00 in Berlin is 07:00 UTC in
//! winter and 06:00 UTC in summer. So telemetry is bucketed by the local hour of the
//! component's zone, the planned levels are local hours, and whatever carries them out
//! (Application Auto Scaling's `Timezone`, the report's cron) is told the zone, which
//! keeps them right across daylight-saving changes. The zone tables are compiled in
//! (`chrono-tz`), so this stays pure computation. UTC is the default: with it, every
//! hour here is the UTC hour, as before zones existed.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::days_from_civil;
use crate::schedule::{Hourly, describe_schedule};
use crate::telemetry::{MINUTES_PER_DAY, Minute, hour_of_day};

/// An IANA time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Zone(Tz);

/// A name that is not an IANA time zone.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown time zone `{0}` (expected an IANA name such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\")"
)]
pub struct ZoneError(pub String);

impl Default for Zone {
    fn default() -> Self {
        Zone::UTC
    }
}

impl Zone {
    /// Coordinated Universal Time, the default.
    pub const UTC: Zone = Zone(Tz::UTC);

    /// The IANA name, as configured (`Europe/Berlin`).
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The chrono-tz zone, for callers that do calendar arithmetic in it.
    pub fn tz(self) -> Tz {
        self.0
    }

    /// Whether every local hour is the UTC hour.
    pub fn is_utc(self) -> bool {
        self.0 == Tz::UTC || self.0 == Tz::Etc__UTC || self.0 == Tz::UCT
    }

    /// The zone's offset from UTC at `minute`, in minutes (Berlin in summer: +120).
    pub fn offset_minutes(self, minute: Minute) -> i64 {
        if self.is_utc() {
            return 0;
        }
        let Some(at) = DateTime::from_timestamp(minute.saturating_mul(60), 0) else {
            return 0;
        };
        i64::from(
            self.0
                .offset_from_utc_datetime(&at.naive_utc())
                .fix()
                .local_minus_utc(),
        ) / 60
    }

    /// The local hour of day (0–23) that `minute` falls in.
    pub fn hour_of_day(self, minute: Minute) -> usize {
        hour_of_day(minute + self.offset_minutes(minute))
    }

    /// A function from minute to local hour of day for scanning minutes in order: the
    /// offset is looked up once per quarter hour (zones change offset only on quarter
    /// hours), not once per minute, since a fortnight is 20,160 minutes per component.
    pub fn hour_clock(self) -> impl FnMut(Minute) -> usize {
        let mut cached: Option<(Minute, i64)> = None;
        move |minute| {
            if self.is_utc() {
                return hour_of_day(minute);
            }
            let quarter = minute.div_euclid(15);
            let offset = match cached {
                Some((q, off)) if q == quarter => off,
                _ => {
                    let off = self.offset_minutes(quarter * 15);
                    cached = Some((quarter, off));
                    off
                }
            };
            hour_of_day(minute + offset)
        }
    }

    /// `local`, a schedule by local hour in this zone, as it falls on UTC hours: one
    /// schedule per offset the zone keeps in `year` (mid-January and mid-July), with
    /// that offset in minutes. `None` for an offset that is not whole hours (India's
    /// +05:30): its local hours do not fall on UTC hours.
    pub fn in_utc(self, local: &Hourly<u32>, year: i64) -> Vec<(i64, Option<Hourly<u32>>)> {
        let mut offsets: Vec<i64> = [1u32, 7]
            .into_iter()
            .map(|month| {
                let noon = days_from_civil(year, month, 15) * MINUTES_PER_DAY + 12 * 60;
                self.offset_minutes(noon)
            })
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        offsets
            .into_iter()
            .map(|off| {
                let utc = (off % 60 == 0).then(|| {
                    std::array::from_fn(|u| local[(u as i64 + off / 60).rem_euclid(24) as usize])
                });
                (off, utc)
            })
            .collect()
    }

    /// [`Zone::in_utc`] as text: `UTC+01:00: 3 in 07–17 h; 0 otherwise / UTC+02:00: …`.
    pub fn describe_in_utc(self, local: &Hourly<u32>, year: i64) -> String {
        self.in_utc(local, year)
            .into_iter()
            .map(|(off, utc)| {
                let sign = if off < 0 { '-' } else { '+' };
                let at = format!("UTC{sign}{:02}:{:02}", off.abs() / 60, off.abs() % 60);
                match utc {
                    Some(h) => format!("{at}: {} UTC", describe_schedule(&h)),
                    None => format!("{at}: not on whole UTC hours"),
                }
            })
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

impl FromStr for Zone {
    type Err = ZoneError;

    fn from_str(name: &str) -> Result<Self, ZoneError> {
        name.trim()
            .parse::<Tz>()
            .map(Zone)
            .map_err(|_| ZoneError(name.to_owned()))
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Zone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> Minute {
        days_from_civil(y, mo, d) * MINUTES_PER_DAY + h * 60 + mi
    }

    #[test]
    fn names_parse_and_unknown_ones_are_refused() {
        let z: Zone = "Europe/Berlin".parse().unwrap();
        assert_eq!(z.name(), "Europe/Berlin");
        assert_eq!(z.to_string(), "Europe/Berlin");
        assert!(!z.is_utc());
        assert!(Zone::default().is_utc());
        assert_eq!(
            "Europe/Berlinn".parse::<Zone>().unwrap_err().to_string(),
            "unknown time zone `Europe/Berlinn` (expected an IANA name such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\")"
        );
        assert!("CEST".parse::<Zone>().is_err());
    }

    #[test]
    fn local_hours_follow_daylight_saving_in_berlin() {
        let z: Zone = "Europe/Berlin".parse().unwrap();
        // 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(z.hour_of_day(at(2026, 3, 29, 0, 59)), 1);
        assert_eq!(z.hour_of_day(at(2026, 3, 29, 1, 0)), 3);
        assert_eq!(z.hour_of_day(at(2026, 10, 25, 0, 59)), 2);
        assert_eq!(z.hour_of_day(at(2026, 10, 25, 1, 0)), 2);
        assert_eq!(z.hour_of_day(at(2026, 10, 25, 2, 0)), 3);
        let mut office = [0u32; 24];
        (8..18).for_each(|h| office[h] = 3);
        assert_eq!(
            z.describe_in_utc(&office, 2026),
            "UTC+01:00: 3 in 07–17 h; 0 otherwise UTC / UTC+02:00: 3 in 06–16 h; 0 otherwise UTC"
        );
    }

    #[test]
    fn local_hours_follow_daylight_saving_in_new_york() {
        let z: Zone = "America/New_York".parse().unwrap();
        // 2026: EDT from 8 March 07:00 UTC to 1 November 06:00 UTC.
        assert_eq!(z.hour_of_day(at(2026, 3, 8, 6, 59)), 1);
        assert_eq!(z.hour_of_day(at(2026, 3, 8, 7, 0)), 3);
        assert_eq!(z.hour_of_day(at(2026, 11, 1, 5, 59)), 1);
        assert_eq!(z.hour_of_day(at(2026, 11, 1, 6, 0)), 1);
        let mut office = [1u32; 24];
        (9..17).for_each(|h| office[h] = 4);
        let utc = z.in_utc(&office, 2026);
        assert_eq!(utc.len(), 2);
        assert_eq!((utc[0].0, utc[1].0), (-300, -240));
        assert_eq!(utc[0].1.unwrap()[14], 4, "09:00 EST is 14:00 UTC");
        assert_eq!(utc[0].1.unwrap()[13], 1);
        assert_eq!(utc[1].1.unwrap()[13], 4, "09:00 EDT is 13:00 UTC");
        let kolkata: Zone = "Asia/Kolkata".parse().unwrap();
        assert_eq!(
            kolkata.describe_in_utc(&office, 2026),
            "UTC+05:30: not on whole UTC hours"
        );
        assert_eq!(
            Zone::UTC.describe_in_utc(&office, 2026),
            "UTC+00:00: 4 in 09–17 h; 1 otherwise UTC"
        );
    }

    #[test]
    fn the_clock_agrees_with_the_direct_lookup_across_both_changes() {
        for name in ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"] {
            let z: Zone = name.parse().unwrap();
            let mut clock = z.hour_clock();
            for start in [at(2026, 3, 7, 0, 0), at(2026, 10, 24, 0, 0)] {
                for m in start..start + 9 * MINUTES_PER_DAY {
                    assert_eq!(clock(m), z.hour_of_day(m), "{name} at minute {m}");
                }
            }
        }
    }

    #[test]
    fn serde_uses_the_name() {
        let z: Zone = "America/New_York".parse().unwrap();
        let json = serde_json::to_string(&z).unwrap();
        assert_eq!(json, "\"America/New_York\"");
        assert_eq!(serde_json::from_str::<Zone>(&json).unwrap(), z);
        assert!(serde_json::from_str::<Zone>("\"Mars/Olympus\"").is_err());
    }
}
