//! Hand-checkable Lambda scenarios: environments, throttles, provisioned concurrency
//! and billing.

mod common;

use adaptd_engine::prices::PriceSheet;
use adaptd_engine::spec::Provisioned;
use adaptd_replay::draws::{Draws, OnTheFly};
use adaptd_replay::{Params, replay};
use common::{close, constant, counts, lambda, run};

const OD: f64 = 0.0000166667; // x86_64 on-demand, per GB-s
const PCD: f64 = 0.0000097222; // x86_64 provisioned duration, per GB-s
const PC: f64 = 0.0000041667; // x86_64 provisioned concurrency, per GB-s

#[test]
fn a_lone_invocation_is_cold_then_warm_within_the_keep_alive_then_cold_again() {
    // Minutes 0, 5 and 30: the second follows within 4–6 minutes (warm, keep-alive
    // 10), the third after at least 24 (cold).
    let w = constant(counts(40, &[(0, 1), (5, 1), (30, 1)]), 100.0);
    let r = run(&w, &lambda(Provisioned::None, None));
    assert_eq!(r.total.invocations, 3);
    assert_eq!(r.total.served, 3);
    assert_eq!(r.total.cold_starts, 2);
    let lat = r.total.latency.clone().unwrap();
    assert_eq!(lat.max_ms, 700.0); // 600 ms init + 100 ms
    assert!(close(lat.p50_ms, 700.0, 1.0 / 128.0), "{lat:?}");
    // Requests, 3 × 100 ms on demand, 2 × 600 ms init, 1 GB.
    let c = &r.total.cost;
    assert!(close(c.requests_usd, 3.0 * 0.2e-6, 1e-12));
    assert!(close(c.on_demand_duration_usd, 0.3 * OD, 1e-12));
    assert!(close(c.init_usd, 1.2 * OD, 1e-12));
    assert_eq!(c.provisioned_concurrency_usd, 0.0);
    // The month is 730 h / 40 min of this.
    assert!(close(
        r.cost_per_month.total(),
        c.total() * 730.0 * 60.0 / 40.0,
        1e-12
    ));
    assert_eq!(r.hours.len(), 1);
    assert_eq!(r.hours[0].cold_starts, 2);
}

#[test]
fn the_most_recently_used_environment_is_reused_so_the_other_one_expires() {
    // Minute 0: two overlapping 90 s invocations create two environments. Minutes
    // 3–14: one short invocation a minute. Most-recently-used reuse keeps sending them
    // to the same environment, so the other idles past the keep-alive; at minute 16
    // two overlapping invocations find one warm environment: one more cold start.
    // (Least-recently-used reuse would alternate and keep both warm: no cold start.)
    let mut at: Vec<(usize, u32)> = (3..=14).map(|m| (m, 1)).collect();
    at.extend([(0, 2), (16, 2)]);
    let mut w = constant(counts(20, &at), 100.0);
    w.minute_durations = (0..20)
        .map(|m| {
            [0, 16]
                .contains(&m)
                .then(|| adaptd_engine::quantiles::QuantileSet::constant(90_000.0))
        })
        .collect();
    let r = run(&w, &lambda(Provisioned::None, None));
    assert_eq!(r.total.cold_starts, 3);
    assert_eq!(r.total.served, 16);
}

#[test]
fn idle_environments_are_reclaimed_after_the_keep_alive() {
    // Minutes 0 and 12: 11–13 minutes apart.
    let w = constant(counts(15, &[(0, 1), (12, 1)]), 50.0);
    let prices = PriceSheet::us_east_1();
    let p = lambda(Provisioned::None, None);
    let short = replay(&w, &p, &Params::default(), &prices).unwrap();
    assert_eq!(short.total.cold_starts, 2);
    let long = Params {
        keep_alive_minutes: 14,
        ..Params::default()
    };
    assert_eq!(replay(&w, &p, &long, &prices).unwrap().total.cold_starts, 1);
}

#[test]
fn reserved_concurrency_throttles_exactly_the_overflow_of_a_burst() {
    // Ten 2-minute invocations in minute 0 are all in flight at 60 s; a cap of 4
    // serves four and throttles six, which cost nothing.
    let w = constant(counts(5, &[(0, 10)]), 120_000.0);
    let r = run(&w, &lambda(Provisioned::None, Some(4)));
    assert_eq!(r.total.served, 4);
    assert_eq!(r.total.throttles, 6);
    assert_eq!(r.total.cold_starts, 4);
    assert_eq!(r.total.peak_concurrency, 4);
    assert!(close(r.total.cost.requests_usd, 4.0 * 0.2e-6, 1e-12));
    assert!((r.total.throttle_rate() - 0.6).abs() < 1e-12);
    let free = run(&w, &lambda(Provisioned::None, None));
    assert_eq!((free.total.served, free.total.throttles), (10, 0));
    assert_eq!(free.total.peak_concurrency, 10);
}

#[test]
fn provisioned_environments_absorb_a_burst_up_to_their_number() {
    let w = constant(counts(5, &[(0, 8)]), 120_000.0);
    let r = run(&w, &lambda(Provisioned::Constant(5), None));
    assert_eq!(r.total.provisioned_invocations, 5);
    assert_eq!(r.total.spillover, 3);
    assert_eq!(r.total.cold_starts, 3);
    let r = run(&w, &lambda(Provisioned::Constant(8), None));
    assert_eq!(r.total.provisioned_invocations, 8);
    assert_eq!((r.total.spillover, r.total.cold_starts), (0, 0));
    // Eight provisioned environments busy from their arrival in minute 0; minute 1
    // has no invocation, so Lambda publishes no utilisation datapoint for it.
    assert!(r.utilization[0].unwrap() > 0.0);
    assert_eq!(r.utilization[1], None);
    assert_eq!(r.capacity, vec![8; 5]);
    // Duration on provisioned environments: 8 × 120 s at the provisioned price.
    assert!(close(
        r.total.cost.provisioned_duration_usd,
        960.0 * PCD,
        1e-12
    ));
    // Provisioned concurrency present from the start, 5 minutes: 8 × 300 s.
    assert!(close(
        r.total.cost.provisioned_concurrency_usd,
        2400.0 * PC,
        1e-12
    ));
}

#[test]
fn a_scheduled_increase_is_issued_early_billed_from_issue_and_ready_at_the_hour() {
    let mut levels = [0u32; 24];
    levels[1] = 3;
    // 90-second invocations: two at minute 59 (before the hour: on demand), three at
    // minute 60 (provisioned).
    let mut w = constant(counts(120, &[(59, 2), (60, 3)]), 90_000.0);
    w.init_duration_ms = Some(0.0);
    let r = run(&w, &lambda(Provisioned::Hourly(levels), None));
    assert!(r.capacity[..60].iter().all(|&c| c == 0));
    assert!(r.capacity[60..].iter().all(|&c| c == 3));
    assert_eq!(r.total.provisioned_invocations, 3);
    assert_eq!(r.hours[0].cold_starts, 2);
    // Billed from 00:58 (issue, two minutes ahead) to the window's end (open there):
    // hour 0 gets 3 × 2 min, hour 1 3 × 60 min.
    assert_eq!(r.hours[0].capacity_seconds, 360.0);
    assert_eq!(r.hours[1].capacity_seconds, 10_800.0);
}

#[test]
fn a_scheduled_decrease_takes_effect_at_the_hour_and_busy_environments_finish() {
    let mut levels = [0u32; 24];
    levels[0] = 2;
    // Two 90 s invocations at minute 59 run on the provisioned environments into hour
    // 1; one at minute 61 finds none (cold).
    let w = constant(counts(120, &[(59, 2), (61, 1)]), 90_000.0);
    let r = run(&w, &lambda(Provisioned::Hourly(levels), None));
    assert!(r.capacity[..60].iter().all(|&c| c == 2));
    assert!(r.capacity[60..].iter().all(|&c| c == 0));
    assert_eq!(r.total.provisioned_invocations, 2);
    assert_eq!(r.total.cold_starts, 1);
    assert_eq!(r.total.spillover, 0);
    // Present at the start (open), disabled at 01:00: one hour each, unrounded.
    assert_eq!(r.total.capacity_seconds, 7200.0);
    let lat = r.total.latency.unwrap();
    assert_eq!(lat.max_ms, 90_600.0);
}

#[test]
fn provisioned_intervals_are_rounded_up_to_five_minutes() {
    // Two environments for hour 1 only: issued 00:58, disabled 02:00 → 62 minutes,
    // billed 65 each: 2 × 65 × 60 = 7,800 s × 1 GB × $0.0000041667 = $0.03250026.
    let mut levels = [0u32; 24];
    levels[1] = 2;
    let w = constant(counts(180, &[]), 100.0);
    let r = run(&w, &lambda(Provisioned::Hourly(levels), None));
    assert_eq!(r.total.capacity_seconds, 7800.0);
    assert!(
        (r.total.cost.provisioned_concurrency_usd - 0.03250026).abs() < 1e-12,
        "{}",
        r.total.cost.provisioned_concurrency_usd
    );
    // The rounding is charged to the hour of the disable.
    let per_hour: Vec<f64> = r.hours.iter().map(|h| h.capacity_seconds).collect();
    assert_eq!(per_hour, vec![240.0, 7200.0, 360.0]);
}

#[test]
fn every_invocation_is_billed_rounded_up_to_the_millisecond() {
    // 100 invocations of 10.2 ms: 100 × 11 ms.
    let w = constant(vec![1; 100], 10.2);
    let r = run(&w, &lambda(Provisioned::None, None));
    assert!(close(r.total.cost.on_demand_duration_usd, 1.1 * OD, 1e-12));
    assert!(close(r.total.on_demand_gb_seconds, 1.1 + 0.6, 1e-12));
    // On one provisioned environment, at the provisioned-duration price.
    let r = run(&w, &lambda(Provisioned::Constant(1), None));
    assert_eq!(r.total.provisioned_invocations, 100);
    assert!(close(
        r.total.cost.provisioned_duration_usd,
        1.1 * PCD,
        1e-12
    ));
    assert_eq!(r.total.cost.on_demand_duration_usd, 0.0);
}

#[test]
fn the_same_seed_replays_identically_and_another_draws_other_arrivals() {
    let q = adaptd_engine::quantiles::QuantileSet::new(
        vec![(0.0, 5.0), (0.5, 40.0), (0.99, 900.0), (1.0, 3000.0)],
        None,
    )
    .unwrap();
    let c: Vec<u32> = (0..180).map(|m| (m * 37 % 23) as u32).collect();
    let w = adaptd_replay::Workload::new("f", 1_000_000, c, q, 512.0);
    let prices = PriceSheet::us_east_1();
    let p = lambda(Provisioned::Constant(2), None);
    let a = replay(&w, &p, &Params::default(), &prices).unwrap();
    let b = replay(&w, &p, &Params::default(), &prices).unwrap();
    assert_eq!(a, b);
    let other = Params {
        seed: 1,
        ..Params::default()
    };
    let c = replay(&w, &p, &other, &prices).unwrap();
    assert_eq!(a.total.invocations, c.total.invocations);
    assert_ne!(a.total.latency, c.total.latency);
    let (mut d0, mut d1) = (OnTheFly::new(&w, 0), OnTheFly::new(&w, 1));
    let t0 = d0.minute(1).0.to_vec();
    let t1 = d1.minute(1).0;
    assert_eq!(t0.len(), t1.len());
    assert_ne!(&t0[..], t1);
}

#[test]
fn memory_and_architecture_rescale_durations_by_the_engines_law() {
    let mut w = constant(vec![1; 10], 1000.0);
    w.cpu_bound_fraction = 1.0;
    w.arm64_factor = 0.8;
    w.init_duration_ms = Some(0.0);
    let prices = PriceSheet::us_east_1();
    let half = adaptd_replay::Policy::Static(adaptd_engine::spec::Deployment::Lambda(
        adaptd_engine::spec::LambdaConfig {
            memory_mb: 512,
            architecture: adaptd_engine::spec::Architecture::Arm64,
            provisioned: Provisioned::None,
            reserved_concurrency: None,
        },
    ));
    let r = replay(&w, &half, &Params::default(), &prices).unwrap();
    // 1024 → 512 MB doubles a fully CPU-bound duration; arm64 × 0.8: 1,600 ms.
    assert_eq!(r.total.latency.unwrap().max_ms, 1600.0);
}

#[test]
fn a_warm_start_spares_the_first_minutes_their_cold_starts() {
    // One invocation at minute 3 and one at minute 20 of the window: with a warm start
    // the first finds the environment the same traffic would have left (idle 3 minutes);
    // the second follows a 17-minute gap and is cold either way.
    let w = constant(counts(30, &[(3, 1), (20, 1)]), 100.0);
    let p = lambda(Provisioned::None, None);
    let prices = PriceSheet::us_east_1();
    let cold = replay(&w, &p, &Params::default(), &prices).unwrap();
    assert_eq!(cold.total.cold_starts, 2);
    let warm = replay(
        &w,
        &p,
        &Params {
            warm_start: true,
            ..Params::default()
        },
        &prices,
    )
    .unwrap();
    assert_eq!(warm.total.cold_starts, 1);
}
