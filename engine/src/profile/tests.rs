use super::traffic::bin_counts;
use super::*;

fn telemetry_with_counts(counts: &[(Minute, f64)]) -> ComponentTelemetry {
    let mut t = ComponentTelemetry::new("f");
    for &(m, c) in counts {
        t.record(m, Metric::Invocations, Stat::Sum, c).unwrap();
    }
    t
}

#[test]
fn idle_starts_follow_the_ordered_series() {
    let every = |n: i64| -> Vec<(Minute, f64)> {
        (0..180)
            .map(|m| (m, if m % n == 0 { 1.0 } else { 0.0 }))
            .collect()
    };
    let idle = |n: i64| -> f64 {
        let p = summarize(&telemetry_with_counts(&every(n)), 10, 1.0);
        p.hours.iter().map(|h| h.idle_starts).sum()
    };
    // A timer every 15 minutes: every run follows a gap longer than a 10-minute
    // keep-alive, so every run is an idle start but the first, which continues
    // whatever ran before the history (steady state).
    assert_eq!(idle(15), 11.0);
    // Every 5 minutes: none is.
    assert_eq!(idle(5), 0.0);
    // Every 10 minutes: a gap right at the keep-alive is cold half the time.
    assert!((idle(10) - 8.5).abs() < 1e-9, "{}", idle(10));
    let p = summarize(&telemetry_with_counts(&every(5)), 10, 1.0);
    assert_eq!(p.invocations, 36.0);
    assert_eq!(p.hours[0].active_minutes, 12);
}

#[test]
fn minutes_near_the_start_find_the_pool_warm_from_before() {
    // Every other minute one invocation, and five in minute 3: the minutes within
    // the first keep-alive window (0, 2, 3, 4, 6, 8) may reach back before the
    // history, where the busiest of them (5) is taken as warm; later ones may not.
    let counts: Vec<(Minute, f64)> = (0..60)
        .map(|m| {
            (
                m,
                if m == 3 {
                    5.0
                } else {
                    f64::from(u8::from(m % 2 == 0))
                },
            )
        })
        .collect();
    let p = summarize(&telemetry_with_counts(&counts), 10, 1.0);
    let cells = &p.hours[0].active_cells;
    let minutes_with = |warm: f64| -> f64 {
        cells
            .iter()
            .filter(|c| c.warm_before == warm)
            .map(|c| c.minutes)
            .sum()
    };
    assert_eq!(minutes_with(5.0), 6.0, "{cells:?}");
    assert_eq!(minutes_with(0.0), 25.0, "{cells:?}");
    assert_eq!(p.hours[0].idle_starts, 0.0);
}

#[test]
fn missing_minutes_are_not_zero() {
    let mut counts: Vec<(Minute, f64)> = (0..60).map(|m| (m, 2.0)).collect();
    counts.retain(|&(m, _)| !(10..20).contains(&m));
    let p = summarize(&telemetry_with_counts(&counts), 10, 1.0);
    assert_eq!(p.hours[0].minutes_observed, 50);
    assert_eq!(p.hours[0].minutes_missing, 10);
    assert_eq!(p.hours[0].mean_per_minute(), 2.0);
    assert!(
        p.warnings.iter().any(|w| w.contains("10 of 60 minutes")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn bins_keep_zeros_and_the_peak() {
    let mut c: Vec<f64> = (0..1000).map(|i| f64::from(i % 97)).collect();
    c.push(5000.0);
    let bins = bin_counts(&mut c);
    let minutes: f64 = bins.iter().map(|b| b.minutes).sum();
    assert_eq!(minutes, 1001.0);
    assert_eq!(
        bins[0],
        CountBin {
            count: 0.0,
            minutes: 11.0
        }
    );
    assert_eq!(bins.last().unwrap().count, 5000.0);
    let total: f64 = bins.iter().map(|b| b.count * b.minutes).sum();
    let exact: f64 = c.iter().sum();
    assert!((total - exact).abs() < 1e-6, "{total} vs {exact}");
}

#[test]
fn cpu_bound_share_is_learnt_from_a_memory_change() {
    // Work that is 80 % CPU-bound: doubling memory from 512 to 1024 MB takes the
    // duration from 1000 ms to 0.8·500 + 0.2·1000 = 600 ms.
    let mut t = ComponentTelemetry::new("f");
    for m in 0..400 {
        let (mem, d) = if m < 200 {
            (512.0, 1000.0)
        } else {
            (1024.0, 600.0)
        };
        t.record(m, Metric::Invocations, Stat::Sum, 5.0).unwrap();
        t.record(m, Metric::DurationMs, Stat::Average, d).unwrap();
        t.record(m, Metric::ConfiguredMemoryMb, Stat::Average, mem)
            .unwrap();
    }
    let p = summarize(&t, 10, 1.0);
    let est = p.cpu_bound.expect("estimated");
    assert!((est.fraction - 0.8).abs() < 1e-9, "{est:?}");
    // Durations are expressed at the current memory (1024 MB) throughout.
    assert!((p.duration_ms.unwrap().mean() - 600.0).abs() < 1e-6);
    assert_eq!(p.duration_memory_mb, Some(1024.0));
}

#[test]
fn duration_factor_follows_the_vcpu_share() {
    // Fully CPU-bound: 1769 → 884.5 MB doubles the duration.
    assert!((duration_factor(1769.0, 884.5, 1.0, 1.0) - 2.0).abs() < 1e-12);
    // Above one vCPU a single-threaded function gains nothing.
    assert!((duration_factor(1769.0, 3538.0, 1.0, 1.0) - 1.0).abs() < 1e-12);
    // Two threads do.
    assert!((duration_factor(1769.0, 3538.0, 1.0, 2.0) - 0.5).abs() < 1e-12);
    // Half CPU-bound: 1024 → 512 MB: 0.5·2 + 0.5 = 1.5.
    assert!((duration_factor(1024.0, 512.0, 0.5, 1.0) - 1.5).abs() < 1e-12);
}
