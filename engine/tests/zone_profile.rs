//! Telemetry bucketed by local hour across daylight-saving changes: a workload that is
//! busy 08:00–18:00 local time every day lands in local hours 8–17 before and after
//! the change, while in UTC its busy hours move by one.

use adaptd_engine::calendar::days_from_civil;
use adaptd_engine::profile::{Profile, summarize_in};
use adaptd_engine::telemetry::{ComponentTelemetry, MINUTES_PER_DAY, Metric, Minute, Stat};
use adaptd_engine::zone::Zone;

fn day(y: i64, m: u32, d: u32) -> Minute {
    days_from_civil(y, m, d) * MINUTES_PER_DAY
}

/// Ten days from `start`: 30 invocations a minute while the local clock in `zone` reads
/// 08:00–17:59, 1 otherwise, with a 40 ms duration every minute.
fn office_hours(zone: Zone, start: Minute) -> ComponentTelemetry {
    let mut t = ComponentTelemetry::new("office");
    for m in start..start + 10 * MINUTES_PER_DAY {
        let busy = (8..18).contains(&zone.hour_of_day(m));
        let count = if busy { 30.0 } else { 1.0 };
        t.record(m, Metric::Invocations, Stat::Sum, count).unwrap();
        t.record(m, Metric::DurationMs, Stat::Average, 40.0)
            .unwrap();
    }
    t
}

fn busy_hours(p: &Profile) -> Vec<usize> {
    (0..24)
        .filter(|&h| p.hours[h].mean_per_minute() > 15.0)
        .collect()
}

fn check(zone_name: &str, around_change: Minute) {
    let zone: Zone = zone_name.parse().unwrap();
    let t = office_hours(zone, around_change - 5 * MINUTES_PER_DAY);
    let local = summarize_in(&t, 10, 1.0, false, zone);
    assert_eq!(local.timezone, zone);
    assert_eq!(
        busy_hours(&local),
        (8..18).collect::<Vec<_>>(),
        "{zone_name}"
    );
    for h in 8..18 {
        let hp = &local.hours[h];
        assert!(
            (hp.mean_per_minute() - 30.0).abs() < 1e-9,
            "{zone_name} hour {h}: every minute of a local business hour is busy, before and after the change ({})",
            hp.mean_per_minute()
        );
    }
    // The same minutes in UTC: the busy block is an hour longer (both offsets) and its
    // edge hours are busy only on some days.
    let utc = summarize_in(&t, 10, 1.0, false, Zone::UTC);
    let mixed: Vec<usize> = (0..24)
        .filter(|&h| {
            let m = utc.hours[h].mean_per_minute();
            m > 1.5 && m < 29.5
        })
        .collect();
    assert_eq!(
        mixed.len(),
        2,
        "{zone_name}: two UTC hours are busy only on one side of the change ({mixed:?})"
    );
    // Every minute counted once either way.
    let total = |p: &Profile| p.hours.iter().map(|h| h.minutes_observed).sum::<u32>();
    assert_eq!(total(&local), total(&utc));
    assert_eq!(total(&local), 10 * 1440);
}

#[test]
fn berlin_spring_and_autumn() {
    check("Europe/Berlin", day(2026, 3, 29));
    check("Europe/Berlin", day(2026, 10, 25));
}

#[test]
fn new_york_spring_and_autumn() {
    check("America/New_York", day(2026, 3, 8));
    check("America/New_York", day(2026, 11, 1));
}

#[test]
fn the_day_of_the_change_has_23_or_25_local_hours() {
    let zone: Zone = "Europe/Berlin".parse().unwrap();
    let mut t = ComponentTelemetry::new("flat");
    // From midnight to midnight local on the spring day (23 h) and the autumn day (25 h).
    let spring = (day(2026, 3, 28) + 23 * 60, day(2026, 3, 29) + 22 * 60);
    let autumn = (day(2026, 10, 24) + 22 * 60, day(2026, 10, 25) + 23 * 60);
    for (a, b) in [spring, autumn] {
        for m in a..b {
            t.record(m, Metric::Invocations, Stat::Sum, 1.0).unwrap();
        }
        let p = summarize_in(&t, 10, 1.0, false, zone);
        let observed: Vec<u32> = p.hours.iter().map(|h| h.minutes_observed).collect();
        assert_eq!(observed.iter().sum::<u32>(), u32::try_from(b - a).unwrap());
        if b - a == 23 * 60 {
            assert_eq!(
                observed[2], 0,
                "02:00–02:59 does not exist on the spring day"
            );
        } else {
            assert_eq!(
                observed[2], 120,
                "02:00–02:59 happens twice on the autumn day"
            );
        }
        t = ComponentTelemetry::new("flat");
    }
}
