//! Lambda cost and latency pinned to hand-computed examples.

use super::*;
use crate::options::Context;
use crate::prices::PriceSheet;
use crate::profile::{CountBin, HourProfile, Profile};
use crate::quantiles::QuantileSet;
use crate::spec::{ComponentSpec, Guardrails, ModelParams, Slo};

/// A profile with the same traffic every hour: `per_minute` invocations in each of 60
/// observed minutes (one day), of a constant `duration_ms`.
pub(crate) fn flat_profile(
    per_minute: f64,
    duration_ms: f64,
    idle_starts_per_hour: f64,
) -> Profile {
    let hour = HourProfile {
        minutes_observed: 60,
        minutes_missing: 0,
        invocations: per_minute * 60.0,
        active_minutes: if per_minute > 0.0 { 60 } else { 0 },
        idle_starts: idle_starts_per_hour,
        count_bins: vec![CountBin {
            count: per_minute,
            minutes: 60.0,
        }],
        active_cells: vec![],
        duration_ms: None,
        peak_concurrency_observed: None,
    };
    Profile {
        component: "f".into(),
        covered_minutes: 1440,
        observed_minutes: 1440,
        invocations: per_minute * 1440.0,
        hours: vec![hour; 24],
        timezone: Default::default(),
        duration_ms: Some(QuantileSet::constant(duration_ms)),
        duration_memory_mb: None,
        init_duration_ms: Some(600.0),
        max_memory_used_mb: Some(100.0),
        cold_starts: None,
        errors: None,
        throttles: None,
        peak_concurrency_observed: None,
        cpu_bound: None,
        keep_alive_minutes: 10,
        periodic: false,
        warnings: vec![],
    }
}

pub(crate) fn lambda_spec(memory_mb: u32, provisioned: Provisioned) -> ComponentSpec {
    ComponentSpec {
        name: "f".into(),
        account: "main".into(),
        environment: None,
        tags: Default::default(),
        trigger: None,
        runtime: None,
        current: Deployment::Lambda(LambdaConfig {
            memory_mb,
            architecture: Architecture::X86_64,
            provisioned,
            reserved_concurrency: None,
        }),
        current_is_known: true,
        slo: Slo::default(),
        guardrails: Guardrails::default(),
        databases: vec![],
        model: ModelParams::default(),
        load_balancer: false,
        timezone: Default::default(),
    }
}

fn evaluate(spec: &ComponentSpec, profile: &Profile) -> Evaluation {
    let prices = PriceSheet::us_east_1();
    let ctx = Context::new(spec, profile, &prices);
    Lambda.evaluate(&ctx, &spec.current).expect("evaluates")
}

/// 3 million invocations a month spread evenly: 3e6 / (730 h × 60 min).
const THREE_MILLION_PER_MONTH_PER_MINUTE: f64 = 3e6 / (730.0 * 60.0);

#[test]
fn on_demand_matches_the_aws_pricing_page_example() {
    // AWS's example: 512 MB, 3 M invocations of 1 s a month, x86:
    // compute 3e6 × 1 s × 0.5 GB = 1.5e6 GB-s × $0.0000166667 = $25.00005,
    // requests 3e6 × $0.20/1e6 = $0.60.
    let profile = flat_profile(THREE_MILLION_PER_MONTH_PER_MINUTE, 1000.0, 0.0);
    let e = evaluate(&lambda_spec(512, Provisioned::None), &profile);
    assert!(
        (e.invocations_per_month - 3e6).abs() < 1e-3,
        "{}",
        e.invocations_per_month
    );
    assert!((e.cost.requests_usd_per_month - 0.60).abs() < 1e-9);
    assert!(
        (e.cost.duration_usd_per_month - 25.00005).abs() < 1e-6,
        "{}",
        e.cost.duration_usd_per_month
    );
    assert_eq!(e.cost.provisioned_usd_per_month, 0.0);
    let cold = e.cold_start_rate * e.invocations_per_month;
    assert!((e.on_demand_gb_seconds_per_month - (1.5e6 + cold * 0.6 * 0.5)).abs() < 1e-3);
    // Steady traffic at ~1 execution in flight: cold starts are rare, and each costs
    // 0.6 s × 0.5 GB of init.
    assert!(e.cold_start_rate < 2e-3, "{}", e.cold_start_rate);
    let cold = e.cold_start_rate * e.invocations_per_month;
    assert!((e.cost.init_usd_per_month - cold * 0.6 * 0.5 * 0.0000166667).abs() < 1e-9);
}

#[test]
fn provisioned_concurrency_is_billed_per_gb_second_allocated() {
    // 10 environments of 1 GB all month: 10 × 1 GB × 730 h × 3,600 s × $0.0000041667
    // = $109.500876; invocations then run at the provisioned-duration price:
    // 3e6 × 1 s × 1 GB × $0.0000097222 = $29.1666.
    let profile = flat_profile(THREE_MILLION_PER_MONTH_PER_MINUTE, 1000.0, 0.0);
    let e = evaluate(&lambda_spec(1024, Provisioned::Constant(10)), &profile);
    assert!(
        (e.cost.provisioned_usd_per_month - 109.500876).abs() < 1e-6,
        "{}",
        e.cost.provisioned_usd_per_month
    );
    assert!(
        (e.cost.duration_usd_per_month - 29.1666).abs() < 1e-3,
        "{}",
        e.cost.duration_usd_per_month
    );
    assert!(e.cold_start_rate < 1e-5, "{}", e.cold_start_rate);
}

#[test]
fn arm64_prices_apply_on_arm64() {
    let profile = flat_profile(THREE_MILLION_PER_MONTH_PER_MINUTE, 1000.0, 0.0);
    let mut spec = lambda_spec(1024, Provisioned::Constant(10));
    if let Deployment::Lambda(l) = &mut spec.current {
        l.architecture = Architecture::Arm64;
    }
    let e = evaluate(&spec, &profile);
    // 10 × 730 × 3,600 × $0.0000033334 = $87.600;  3e6 × 1 GB-s × $0.0000077778 = $23.333.
    assert!(
        (e.cost.provisioned_usd_per_month - 87.602_352).abs() < 1e-3,
        "{}",
        e.cost.provisioned_usd_per_month
    );
    assert!(
        (e.cost.duration_usd_per_month - 23.3334).abs() < 1e-3,
        "{}",
        e.cost.duration_usd_per_month
    );
}

#[test]
fn billed_duration_rounds_each_invocation_up_to_the_millisecond() {
    // 0.4 ms invocations are billed 1 ms each.
    let profile = flat_profile(THREE_MILLION_PER_MONTH_PER_MINUTE, 0.4, 0.0);
    let e = evaluate(&lambda_spec(1024, Provisioned::None), &profile);
    let expected = 3e6 * 0.001 * 1.0 * 0.0000166667;
    assert!(
        (e.cost.duration_usd_per_month - expected).abs() < 1e-9,
        "{} vs {expected}",
        e.cost.duration_usd_per_month
    );
}

#[test]
fn a_rare_function_is_cold_every_time_and_one_environment_fixes_it() {
    // One invocation an hour, each after an idle gap.
    let mut profile = flat_profile(0.0, 200.0, 0.0);
    for h in &mut profile.hours {
        h.count_bins = vec![
            CountBin {
                count: 0.0,
                minutes: 59.0,
            },
            CountBin {
                count: 1.0,
                minutes: 1.0,
            },
        ];
        h.invocations = 1.0;
        h.active_minutes = 1;
        h.idle_starts = 1.0;
    }
    let cold = evaluate(&lambda_spec(512, Provisioned::None), &profile);
    assert!(
        (cold.cold_start_rate - 1.0).abs() < 1e-9,
        "{}",
        cold.cold_start_rate
    );
    // p99 includes the 600 ms init.
    assert!((cold.p99_ms - 800.0).abs() < 1e-6, "{}", cold.p99_ms);
    let warm = evaluate(&lambda_spec(512, Provisioned::Constant(1)), &profile);
    assert!(warm.cold_start_rate < 1e-12);
    assert!((warm.p99_ms - 200.0).abs() < 1e-6);
}

#[test]
fn dropping_provisioned_concurrency_at_an_hour_boundary_costs_cold_starts() {
    // Busy enough that the first minutes of an hour always see traffic.
    let profile = flat_profile(120.0, 1000.0, 0.0); // L = 2
    let mut h = [0u32; 24];
    for v in &mut h[8..18] {
        *v = 6;
    }
    let flat = evaluate(&lambda_spec(1024, Provisioned::Constant(6)), &profile);
    let stepped = evaluate(&lambda_spec(1024, Provisioned::Hourly(h)), &profile);
    // At 18:00 the six provisioned environments go and the pool is rebuilt on demand:
    // more cold starts than in the hours after, which run at 0 throughout.
    let (at_drop, after) = (
        stepped.hours[18].cold_starts_per_month,
        stepped.hours[19].cold_starts_per_month,
    );
    assert!(at_drop > after + 1.0, "{at_drop} vs {after}");
    // A constant schedule has no boundary effect.
    assert!(
        (flat.hours[18].cold_starts_per_month - flat.hours[19].cold_starts_per_month).abs() < 1e-9
    );
}

#[test]
fn an_outline_has_the_evaluations_figures() {
    // A schedule with a drop (transition cold starts) and hours with throttles.
    let profile = flat_profile(120.0, 1000.0, 2.0);
    let mut h = [0u32; 24];
    for v in &mut h[8..18] {
        *v = 6;
    }
    let mut spec = lambda_spec(1024, Provisioned::Hourly(h));
    if let Deployment::Lambda(l) = &mut spec.current {
        l.reserved_concurrency = Some(8);
    }
    let prices = PriceSheet::us_east_1();
    let ctx = Context::new(&spec, &profile, &prices);
    let e = Lambda.evaluate(&ctx, &spec.current).expect("evaluates");
    let o = Lambda.outline(&ctx, &spec.current).expect("outlines");
    assert!(e.throttle_rate > 0.0 && e.cold_start_rate > 0.0);
    assert_eq!(o, Outline::from(e));
}

#[test]
fn memory_changes_scale_duration_by_the_cpu_share() {
    let mut profile = flat_profile(10.0, 1000.0, 0.0);
    profile.duration_memory_mb = Some(1024.0);
    let mut spec = lambda_spec(1024, Provisioned::None);
    spec.model.cpu_bound_fraction = Some(1.0);
    let half = {
        let mut s = spec.clone();
        if let Deployment::Lambda(l) = &mut s.current {
            l.memory_mb = 512;
        }
        evaluate(&s, &profile)
    };
    let full = evaluate(&spec, &profile);
    // Fully CPU-bound: half the memory, twice the duration, the same GB-seconds.
    assert!((half.hours[0].p50_ms - 2.0 * full.hours[0].p50_ms).abs() < 1e-6);
    assert!((half.cost.duration_usd_per_month - full.cost.duration_usd_per_month).abs() < 1e-9);
}

#[test]
fn candidates_respect_guardrails_and_keep_excluded_ones_marked() {
    let profile = flat_profile(30.0, 300.0, 0.0);
    let mut spec = lambda_spec(2048, Provisioned::None);
    spec.guardrails.max_provisioned_concurrency = 3;
    let prices = PriceSheet::us_east_1();
    let ctx = Context::new(&spec, &profile, &prices);
    let cands = Lambda.candidates(&ctx);
    assert!(!cands.is_empty());
    // Memory floor: 100 MB used + 20 % → 128 MB; never above one vCPU's worth.
    assert!(cands.iter().any(|c| c.label == "lambda 128 MB x86_64"));
    assert!(cands.iter().all(|c| c.levels.iter().all(|&l| l <= 3)));
    let arm = cands
        .iter()
        .find(|c| c.label.contains("arm64"))
        .expect("a representative arm64 candidate");
    assert_eq!(
        arm.excluded.as_ref().map(|e| e.guardrail.as_str()),
        Some("allow_arm64")
    );
    // Slot costs add up to the evaluation of the same deployment.
    let c = &cands[0];
    let choice = vec![1usize; 24];
    let total: f64 = c
        .slots
        .iter()
        .map(|s| s.levels[1].as_ref().unwrap().usd_per_month)
        .sum();
    let e = Lambda.evaluate(&ctx, &c.deployment(&choice)).unwrap();
    assert!(
        (total - e.usd_per_month).abs() < 1e-9,
        "{total} vs {}",
        e.usd_per_month
    );
}

#[test]
fn level_grid_is_dense_then_geometric() {
    let g = level_grid(40, &[7, 45]);
    assert_eq!(&g[..17], &(0..=16).collect::<Vec<_>>()[..]);
    assert!(g.contains(&40) && g.contains(&45));
    assert!(g.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn reserved_concurrency_is_decided_only_where_it_protects_something() {
    let profile = flat_profile(600.0, 1000.0, 0.0);
    let prices = PriceSheet::us_east_1();
    let mut spec = lambda_spec(1024, Provisioned::None);
    let ctx = Context::new(&spec, &profile, &prices);
    // No database and no guardrail: the deployed value (none) is kept, nothing added.
    assert!(
        Lambda
            .candidates(&ctx)
            .iter()
            .all(|c| c.reserved_concurrency.is_none())
    );
    // A database: caps at 1 %, 0.1 % and 0.01 % throttles per hour, fewer connections.
    spec.databases = vec!["db".into()];
    let ctx = Context::new(&spec, &profile, &prices);
    let c: Vec<Candidate> = Lambda
        .candidates(&ctx)
        .into_iter()
        .filter(|c| {
            c.excluded.is_none()
                && matches!(&c.template, Deployment::Lambda(l) if l.memory_mb == 1024)
        })
        .collect();
    let mut caps: Vec<(u32, f64, f64)> = c
        .iter()
        .filter_map(|c| {
            let r = c.reserved_concurrency?;
            let worst = c
                .slots
                .iter()
                .filter_map(|s| s.levels[0].as_ref())
                .map(|o| o.throttle_rate)
                .fold(0.0, f64::max);
            Some((r, worst, c.db_connections))
        })
        .collect();
    caps.sort_by_key(|c| c.0);
    assert_eq!(caps.len(), 3, "{caps:?}");
    for w in caps.windows(2) {
        assert!(w[0].1 > w[1].1, "a lower cap throttles more: {caps:?}");
    }
    assert!(caps[0].1 <= 1e-2 && caps[0].1 > 1e-3, "{caps:?}");
    assert!(caps.iter().all(|&(r, _, conn)| conn <= f64::from(r)));
    // 10 s × 10 req/s: about 10 in flight; a cap of ~15 holds throttles at 1 %.
    let uncapped = c.iter().find(|c| c.reserved_concurrency.is_none()).unwrap();
    assert!(uncapped.db_connections > f64::from(caps[0].0));
    // A guardrail bounds every option.
    spec.guardrails.reserved_concurrency_max = Some(12);
    let ctx = Context::new(&spec, &profile, &prices);
    assert!(
        Lambda
            .candidates(&ctx)
            .iter()
            .all(|c| c.reserved_concurrency.is_some_and(|r| r <= 12))
    );
    assert_eq!(bounded_reserved(&spec.guardrails, None), Some(12));
}
