//! Target tracking and the hindsight oracle on constructed traces.

mod common;

use adaptd_engine::prices::PriceSheet;
use adaptd_engine::quantiles::QuantileSet;
use adaptd_engine::spec::{Architecture, Hourly, Provisioned};
use adaptd_replay::{
    OracleSpace, Params, Policy, ReplaySlo, TargetTracking, Workload, oracle, replay,
};
use common::{constant, lambda, run};

#[test]
fn target_tracking_scales_out_after_three_high_minutes_and_in_after_fifteen_low_ones() {
    // Minutes 0–9: 6,000 one-second invocations a minute (about 100 in flight), far
    // above the provisioned environments, which are busy ~99 % of the time (an
    // environment waits ~10 ms for the next arrival). Minutes 10–59: one 1-second
    // invocation a minute (utilisation near 0).
    let c: Vec<u32> = (0..60).map(|m| if m < 10 { 6000 } else { 1 }).collect();
    let w = constant(c, 1000.0);
    let tt = TargetTracking::new(1024, Architecture::X86_64, 2, 100);
    let r = run(&w, &Policy::TargetTracking(tt));
    let cap = &r.capacity;
    // Datapoints of minutes 0, 1, 2 are ~0.99 > 0.7: at minute 3 the policy asks for
    // ceil(2 × 0.99 / 0.7) = 3, ready two minutes later.
    assert!(r.utilization[..10].iter().all(|u| u.unwrap() > 0.98));
    assert_eq!(&cap[..5], &[2, 2, 2, 2, 2]);
    assert_eq!(&cap[5..8], &[3, 3, 3]);
    // At minute 6 (datapoint of minute 5, 3 ready, ~0.99): ceil(4.24) = 5, ready at 8;
    // at minute 9: ceil(5 × 0.99 / 0.7) = 8, ready at 11.
    assert_eq!(&cap[8..11], &[5, 5, 5]);
    assert_eq!(cap[11], 8);
    // Minutes 10–24 give 15 low datapoints: at minute 25 capacity falls at once to
    // ceil(8 × ~0 / 0.7) bounded by the minimum, 2.
    assert!(r.utilization[10..25].iter().all(|u| u.unwrap() < 0.63));
    assert!(cap[11..25].iter().all(|&c| c == 8));
    assert!(cap[25..].iter().all(|&c| c == 2));
    // Billing: 2 open all hour, +1 from 3, +2 from 6, +3 from 9, those 6 disabled at
    // 25 (LIFO): 22, 19 and 16 minutes, rounded to 25, 20 and 20.
    let expected = 2.0 * 3600.0 + (25.0 + 2.0 * 20.0 + 3.0 * 20.0) * 60.0;
    assert_eq!(r.total.capacity_seconds, expected);
}

#[test]
fn target_tracking_never_scales_from_zero_nor_in_without_invocations() {
    // No provisioned capacity: no datapoint, no scale-out however busy.
    let w = constant(vec![1000; 30], 1000.0);
    let tt = TargetTracking::new(1024, Architecture::X86_64, 0, 50);
    let r = run(&w, &Policy::TargetTracking(tt));
    assert!(r.capacity.iter().all(|&c| c == 0));
    assert!(r.utilization.iter().all(Option::is_none));
    // Idle after a burst: no datapoints, capacity stays up.
    let c: Vec<u32> = (0..60).map(|m| if m < 10 { 1000 } else { 0 }).collect();
    let w = constant(c, 1000.0);
    let tt = TargetTracking::new(1024, Architecture::X86_64, 2, 100);
    let r = run(&w, &Policy::TargetTracking(tt));
    assert_eq!(*r.capacity.last().unwrap(), r.capacity[12]);
    assert!(r.capacity[12] > 2);
}

/// A day-shaped synthetic trace: quiet nights, a busy day, sparse evening calls.
fn synthetic(seed_shape: u32) -> Workload {
    let c: Vec<u32> = (0..1440u32)
        .map(|m| {
            let h = m / 60;
            match h {
                8..=17 => 40 + (m * 7 + seed_shape) % 25,
                18..=21 => u32::from((m + seed_shape).is_multiple_of(7)),
                _ => u32::from((m + seed_shape).is_multiple_of(45)),
            }
        })
        .collect();
    let q = QuantileSet::new(
        vec![(0.0, 80.0), (0.5, 200.0), (0.9, 600.0), (1.0, 2500.0)],
        None,
    )
    .unwrap();
    Workload::new("synthetic", 0, c, q, 1024.0)
}

#[test]
fn the_oracle_meets_the_slo_and_beats_hand_picked_schedules() {
    let prices = PriceSheet::us_east_1();
    let params = Params::default();
    for shape in [0, 3] {
        let w = synthetic(shape);
        let slo = ReplaySlo {
            max_cold_start_rate: Some(0.001),
            max_throttle_rate: 0.0,
        };
        let o = oracle(&w, &slo, &OracleSpace::memory(1024), &params, &prices).unwrap();
        assert!(o.meets_slo);
        let total = &o.result.total;
        let budget = (0.001 * w.invocations() as f64).floor() as u64;
        assert!(
            total.cold_starts <= budget,
            "{} > {budget}",
            total.cold_starts
        );
        // The spliced evaluations cost exactly what a whole replay costs.
        let found = o.per_memory[0].window_usd;
        assert!(
            (found - total.cost.total()).abs() < 1e-9,
            "{found} vs {}",
            total.cost.total()
        );
        let no_pc = run(&w, &lambda(Provisioned::None, None));
        assert!(no_pc.total.cold_starts > budget, "the SLO must bind");
        let mut hand: Vec<Hourly<u32>> = Vec::new();
        for level in [1, 2, 3, 4, 6, 8] {
            hand.push([level; 24]);
            let mut day = [0; 24];
            day[8..=21].fill(level);
            hand.push(day);
            let mut rest = [1; 24];
            rest[8..=17].fill(level);
            hand.push(rest);
        }
        let mut feasible = 0;
        for s in hand {
            let r = run(&w, &lambda(Provisioned::from_hourly(s), None));
            if r.total.cold_starts <= budget && r.total.throttles == 0 {
                feasible += 1;
                assert!(
                    total.cost.total() <= r.total.cost.total() + 1e-12,
                    "{s:?}: {} < oracle {}",
                    r.total.cost.total(),
                    total.cost.total()
                );
            }
        }
        assert!(feasible > 0, "no hand-picked schedule is feasible");
        assert!(o.replays_run > 10);
        assert!(o.full_replay_equivalents < o.replays_run as f64);
    }
}

#[test]
fn without_an_slo_the_oracle_pays_for_provisioned_concurrency_only_where_it_saves() {
    let prices = PriceSheet::us_east_1();
    let params = Params::default();
    // Sparse traffic: provisioned concurrency can only cost more.
    let w = synthetic(1);
    let free = ReplaySlo::default();
    let o = oracle(&w, &free, &OracleSpace::memory(1024), &params, &prices).unwrap();
    let none = run(&w, &lambda(Provisioned::None, None));
    assert!(o.result.total.cost.total() <= none.total.cost.total() + 1e-12);
    // Saturated traffic (about 33 in flight all day with long invocations): some
    // provisioned environments are busy nearly always and cheaper than on demand.
    let busy = Workload::new(
        "busy",
        0,
        vec![400; 240],
        QuantileSet::new(vec![(0.0, 4000.0), (1.0, 6000.0)], None).unwrap(),
        1024.0,
    );
    let o = oracle(&busy, &free, &OracleSpace::memory(1024), &params, &prices).unwrap();
    let none = run(&busy, &lambda(Provisioned::None, None));
    assert!(o.result.total.cost.total() < none.total.cost.total() * 0.95);
    let Some(adaptd_engine::spec::Deployment::Lambda(cfg)) = Some(o.deployment) else {
        unreachable!()
    };
    assert!(cfg.provisioned.peak() >= 20, "{:?}", cfg.provisioned);
}

#[test]
fn the_oracle_picks_the_cheaper_memory() {
    // Fully IO-bound: more memory is only more expensive.
    let mut w = synthetic(2);
    w.cpu_bound_fraction = 0.0;
    let space = OracleSpace {
        memories: vec![512, 1024, 2048],
        ..OracleSpace::memory(1024)
    };
    let slo = ReplaySlo {
        max_cold_start_rate: Some(0.01),
        max_throttle_rate: 0.0,
    };
    let o = oracle(
        &w,
        &slo,
        &space,
        &Params::default(),
        &PriceSheet::us_east_1(),
    )
    .unwrap();
    assert_eq!(o.per_memory.len(), 3);
    let Some(adaptd_engine::spec::Deployment::Lambda(cfg)) = Some(o.deployment.clone()) else {
        unreachable!()
    };
    assert_eq!(cfg.memory_mb, 512);
    assert!(o.per_memory.iter().all(|m| m.meets_slo));
    let r = replay(
        &w,
        &Policy::Static(o.deployment),
        &Params::default(),
        &PriceSheet::us_east_1(),
    )
    .unwrap();
    assert_eq!(r, o.result);
}
