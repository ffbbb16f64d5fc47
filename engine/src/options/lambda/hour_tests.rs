//! Tests of the hour model: hand-computed cases, and hours summarised from ordered series.

mod basics {
    use super::super::*;
    use crate::profile::CountBin;

    fn hour(bins: &[(f64, f64)], idle_starts: f64) -> HourProfile {
        let minutes: f64 = bins.iter().map(|b| b.1).sum();
        HourProfile {
            minutes_observed: minutes as u32,
            invocations: bins.iter().map(|b| b.0 * b.1).sum(),
            active_minutes: bins.iter().filter(|b| b.0 > 0.0).map(|b| b.1).sum::<f64>() as u32,
            idle_starts,
            count_bins: bins
                .iter()
                .map(|&(c, m)| CountBin {
                    count: c,
                    minutes: m,
                })
                .collect(),
            ..HourProfile::default()
        }
    }

    #[test]
    fn sparse_timer_is_cold_every_run_without_provisioned_concurrency() {
        // One run per hour for 7 days: 7 active minutes, all idle starts.
        let h = hour(&[(0.0, 413.0), (1.0, 7.0)], 7.0);
        let m = HourModel::new(
            &h,
            &DurationMoments::constant(500.0, 10),
            None,
            10,
            730.0 / 24.0,
        );
        let per_month = m.invocations_per_month;
        assert!((per_month - 730.0 / 24.0).abs() < 1e-9);
        // Every run is cold at P = 0 …
        assert!(
            (m.cold_starts_per_month(0) - per_month).abs() < 1e-6,
            "{}",
            m.cold_starts_per_month(0)
        );
        // … and none is at P = 1: a single short run never overlaps another.
        assert!(m.cold_starts_per_month(1) < 1e-9);
        assert_eq!(m.provisioned_share(1), 1.0);
    }

    #[test]
    fn busy_steady_traffic_rarely_goes_cold() {
        // 600 invocations a minute of 100 ms: L = 1 in flight on average.
        let h = hour(&[(600.0, 420.0)], 1.0);
        let m = HourModel::new(&h, &DurationMoments::constant(100.0, 10), None, 10, 30.0);
        let rate = m.cold_starts_per_month(0) / m.invocations_per_month;
        assert!(rate < 1e-3, "cold start rate {rate}");
        // Four provisioned environments serve nearly everything at ~1 in flight:
        // Erlang B(4, 0.998) = 0.0153 overflows.
        let share = m.provisioned_share(4);
        assert!((share - (1.0 - 0.015_307)).abs() < 1e-5, "{share}");
        // The busiest minute in 10,000 reaches about 10 in flight, not 600.
        let q = m.peak_quantile(1e-4);
        assert!((6..=11).contains(&q), "{q}");
    }

    #[test]
    fn cold_starts_and_potential_fall_with_provisioned_concurrency() {
        let h = hour(
            &[(0.0, 300.0), (5.0, 80.0), (40.0, 30.0), (200.0, 10.0)],
            20.0,
        );
        let m = HourModel::new(&h, &DurationMoments::constant(800.0, 10), None, 10, 30.0);
        for p in 0..20 {
            assert!(m.cold_starts_per_month(p + 1) <= m.cold_starts_per_month(p) + 1e-12);
            assert!(m.potential_per_month(p + 1) <= m.potential_per_month(p) + 1e-12);
        }
        assert!(m.cold_starts_per_month(0) > 0.0);
        assert!(m.cold_starts_per_month(30) < 1e-6);
    }

    #[test]
    fn a_timers_double_minute_does_not_set_the_spacing_of_its_past() {
        // A timer every 5 minutes (0.2 a minute) whose runs take 11 minutes, in a
        // minute that holds two runs: the last finds the other 30 s before it and the
        // runs 5.5 and 10.5 minutes back still going, 3 in all; at a 30-second spacing
        // throughout it would find 21.
        let dist = QuantileSet::constant(660_000.0);
        let pmf = periodic_occupancy_pmf(2.0, 0.2, &dist);
        assert!((pmf[3] - 1.0).abs() < 1e-9, "{pmf:?}");
        // A minute of one run keeps the hour's spacing: 5 and 10 minutes back.
        let pmf = periodic_occupancy_pmf(1.0, 0.2, &dist);
        assert!((pmf[2] - 1.0).abs() < 1e-9, "{pmf:?}");
        // Two a minute all hour long: 30 s apart throughout, 21 still running.
        let pmf = periodic_occupancy_pmf(2.0, 2.0, &dist);
        assert!((pmf[21] - 1.0).abs() < 1e-9, "{pmf:?}");
    }

    #[test]
    fn reserved_concurrency_throttles_beyond_its_cap() {
        let h = hour(&[(600.0, 60.0)], 0.0);
        // 599 others × 1 s / 60 s ≈ 9.98 in flight on 10 environments: Erlang B = 0.2138.
        let m = HourModel::new(&h, &DurationMoments::constant(1000.0, 10), None, 10, 30.0);
        assert!(
            (m.throttle_share(Some(10)) - 0.2138).abs() < 5e-4,
            "{}",
            m.throttle_share(Some(10))
        );
        assert_eq!(m.throttle_share(None), 0.0);
    }
}

mod ordered {
    use super::super::*;
    use crate::profile::summarize;
    use crate::telemetry::{ComponentTelemetry, Metric, Stat};

    fn model(counts: &[f64]) -> HourModel {
        let mut t = ComponentTelemetry::new("f");
        for (m, &c) in counts.iter().enumerate() {
            t.record(m as i64, Metric::Invocations, Stat::Sum, c)
                .unwrap();
        }
        let p = summarize(&t, 10, 1.0);
        HourModel::new(
            &p.hours[0],
            &DurationMoments::constant(30_000.0, 10),
            None,
            10,
            1.0,
        )
    }

    #[test]
    fn a_burst_right_after_another_finds_the_pool_warm() {
        // Two 40-invocation bursts of 30 s work: back to back, the second reuses the
        // first's environments; 30 minutes apart, each builds its own pool. (Both after
        // the history's first keep-alive minutes, whose pool is warm from before.)
        let mut together = vec![0.0; 60];
        together[15] = 40.0;
        together[16] = 40.0;
        let mut apart = vec![0.0; 60];
        apart[15] = 40.0;
        apart[45] = 40.0;
        let (t, a) = (model(&together), model(&apart));
        assert!(
            a.cold_starts_per_month(0) > 1.6 * t.cold_starts_per_month(0),
            "{} vs {}",
            a.cold_starts_per_month(0),
            t.cold_starts_per_month(0)
        );
        // Provisioning the burst's peak removes nearly all of them either way.
        let peak = a.peak_quantile(1e-3);
        assert!(a.cold_starts_per_month(peak + 2) < 0.05 * a.cold_starts_per_month(0));
    }

    #[test]
    fn traffic_from_the_history_start_continues_what_ran_before() {
        // One invocation every minute from the first: the history is steady state, so
        // the first minute finds the environment the traffic before it kept warm, as a
        // replay of the window started warm does. Judged against an empty pool it would
        // be a cold start every day at this hour.
        let steady = model(&[1.0; 60]);
        assert!(
            steady.cold_starts_per_month(0) < 1e-9,
            "{}",
            steady.cold_starts_per_month(0)
        );
        // The same traffic resuming after a quiet stretch longer than the keep-alive
        // starts cold once.
        let mut late = vec![0.0; 60];
        late[20..].fill(1.0);
        let late = model(&late);
        assert!(
            (late.cold_starts_per_month(0) - 1.0).abs() < 1e-9,
            "{}",
            late.cold_starts_per_month(0)
        );
    }

    #[test]
    fn work_that_outlasts_the_keep_alive_is_in_the_peak_and_the_pool_alike() {
        // Four invocations a minute of 20-minute work: about 80 in flight all the
        // time, varying slowly. Half of each run outlasts the 10-minute keep-alive and
        // is in flight at every instant the pool remembers; drawing it afresh for the
        // peak and for each remembered minute (as `beyond_keep_alive = 0` does) makes
        // the in-flight count jump by its whole spread from minute to minute.
        let mut t = ComponentTelemetry::new("f");
        for m in 0..600 {
            t.record(m, Metric::Invocations, Stat::Sum, 4.0).unwrap();
        }
        let p = summarize(&t, 10, 1.0);
        let shared = DurationMoments::constant(1_200_000.0, 10);
        let drawn_afresh = DurationMoments {
            beyond_keep_alive: 0.0,
            ..shared
        };
        let hour = &p.hours[5];
        let (a, b) = (
            HourModel::new(hour, &shared, None, 10, 30.0),
            HourModel::new(hour, &drawn_afresh, None, 10, 30.0),
        );
        for level in [0, 60, 80, 90] {
            let (with, without) = (
                a.cold_starts_per_month(level),
                b.cold_starts_per_month(level),
            );
            assert!(with <= without + 1e-12, "P = {level}: {with} > {without}");
        }
        assert!(
            a.cold_starts_per_month(80) < 0.7 * b.cold_starts_per_month(80),
            "{} vs {}",
            a.cold_starts_per_month(80),
            b.cold_starts_per_month(80)
        );
        // The shared work holds provisioned environments too: far above the level in
        // flight, nothing is cold either way.
        assert!(a.cold_starts_per_month(140) < 1e-3);
        for level in 0..140 {
            assert!(a.cold_starts_per_month(level + 1) <= a.cold_starts_per_month(level) + 1e-12);
        }
    }
}

#[test]
fn shared_work_shifts_the_cold_starts_of_the_rest() {
    // cold(0) = 1, cold(1) = 0.5, none beyond; S ~ Poisson(1):
    // out(p) = Σ_s P(S = s)·cold(max(p − s, 0)).
    let out = super::with_shared_work(&[1.0, 0.5], 1.0);
    let e = (-1.0f64).exp();
    assert!((out[0] - 1.0).abs() < 1e-12, "{out:?}");
    assert!((out[1] - (e * 0.5 + (1.0 - e))).abs() < 1e-12, "{out:?}");
    assert!(
        (out[2] - (e * 0.5 + (1.0 - 2.0 * e))).abs() < 1e-12,
        "{out:?}"
    );
    assert!(out.windows(2).all(|w| w[1] <= w[0] + 1e-15));
}
