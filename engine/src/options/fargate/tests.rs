//! Fargate cost, start, scaling and limits pinned to hand-computed cases.

use super::*;
use crate::options::lambda::tests::{flat_profile, lambda_spec};
use crate::prices::PriceSheet;
use crate::spec::{FargateConfig, FargateTracking, PlatformKind, Provisioned};

#[test]
fn two_small_tasks_cost_what_the_price_sheet_says() {
    // 2 × (0.5 vCPU × $0.04048 + 1 GB × $0.004445) × 730 h = $36.0401.
    let profile = flat_profile(60.0, 100.0, 0.0);
    let mut spec = lambda_spec(1024, Provisioned::None);
    spec.current = Deployment::Fargate(FargateConfig {
        vcpu: 0.5,
        memory_mb: 1024,
        architecture: Architecture::X86_64,
        tasks: [2; 24],
        per_task_concurrency: 4,
        ..FargateConfig::default()
    });
    let prices = PriceSheet::us_east_1();
    let ctx = Context::new(&spec, &profile, &prices);
    let e = Fargate.evaluate(&ctx, &spec.current).unwrap();
    assert!(
        (e.usd_per_month - 36.0401).abs() < 1e-4,
        "{}",
        e.usd_per_month
    );
    assert_eq!(e.cost.load_balancer_usd_per_month, 0.0);
    // 1 req/s of 100 ms on 8 slots: no queueing to speak of.
    assert!(e.cold_start_rate < 1e-12, "{}", e.cold_start_rate);
    assert!(e.p99_ms < 110.0, "{}", e.p99_ms);
}

#[test]
fn an_http_function_leaving_lambda_pays_for_a_load_balancer() {
    let profile = flat_profile(60.0, 100.0, 0.0);
    let mut spec = lambda_spec(1024, Provisioned::None);
    spec.trigger = Some("http".into());
    let prices = PriceSheet::us_east_1();
    let ctx = Context::new(&spec, &profile, &prices);
    let c = Fargate.candidates(&ctx);
    // x86_64: a schedule and request-count tracking (a full task of one 100 ms request
    // cannot reach the CPU target, so no CPU tracking); arm64 (not allowed): one.
    assert_eq!(
        c.len(),
        3,
        "{:?}",
        c.iter().map(|c| &c.label).collect::<Vec<_>>()
    );
    // $0.0225 × 730 h plus 1 req/s / 250 LCU × $0.008 × 730 h.
    let expected = 0.0225 * 730.0 + 0.008 * 730.0 / 250.0;
    assert!(
        (c[0].fixed_usd_per_month - expected).abs() < 1e-9,
        "{}",
        c[0].fixed_usd_per_month
    );
    assert!(c[..2].iter().all(|c| c.excluded.is_none()));
    assert_eq!(c[2].excluded.as_ref().unwrap().guardrail, "allow_arm64");
    spec.guardrails.allowed_platforms = [PlatformKind::Lambda].into();
    let ctx = Context::new(&spec, &profile, &prices);
    assert!(
        Fargate
            .candidates(&ctx)
            .iter()
            .all(|c| c.excluded.as_ref().unwrap().guardrail == "allowed_platforms")
    );
}

#[test]
fn a_p99_target_buys_tasks_until_queueing_fits() {
    // 50 req/s of 200 ms, IO-bound: 10 in flight on average.
    let mut profile = flat_profile(3000.0, 200.0, 0.0);
    profile.duration_memory_mb = Some(1024.0);
    let mut spec = lambda_spec(1024, Provisioned::None);
    spec.model.cpu_bound_fraction = Some(0.0);
    spec.slo.p99_ms = Some(250.0);
    let prices = PriceSheet::us_east_1();
    let ctx = Context::new(&spec, &profile, &prices);
    let best = &Fargate.candidates(&ctx)[0];
    let choice: Vec<usize> = best
        .slots
        .iter()
        .map(|s| {
            s.levels
                .iter()
                .position(|o| o.as_ref().is_some_and(|o| o.p99_ms <= 250.0))
                .unwrap()
        })
        .collect();
    let e = Fargate.evaluate(&ctx, &best.deployment(&choice)).unwrap();
    assert!(e.worst_hour_p99_ms <= 250.0, "{}", e.worst_hour_p99_ms);
}

/// `base` requests a minute, `burst` in `burst_minutes` of every hour, of
/// `duration_ms` each.
fn bursty(base: f64, burst: f64, burst_minutes: f64, duration_ms: f64) -> crate::profile::Profile {
    use crate::profile::CountBin;
    let mut p = flat_profile(base, duration_ms, 0.0);
    for h in &mut p.hours {
        h.count_bins = vec![
            CountBin {
                count: base,
                minutes: 60.0 - burst_minutes,
            },
            CountBin {
                count: burst,
                minutes: burst_minutes,
            },
        ];
        h.invocations = base * (60.0 - burst_minutes) + burst * burst_minutes;
    }
    p.invocations = p.hours.iter().map(|h| h.invocations).sum();
    p
}

fn http_spec() -> ComponentSpec {
    let mut spec = lambda_spec(1024, Provisioned::None);
    spec.trigger = Some("http".into());
    spec.model.cpu_bound_fraction = Some(0.2);
    spec
}

fn by_label<'a>(c: &'a [Candidate], part: &str) -> &'a Candidate {
    c.iter()
        .find(|c| c.label.contains(part) && c.excluded.is_none())
        .unwrap_or_else(|| {
            panic!(
                "no `{part}` in {:?}",
                c.iter().map(|c| &c.label).collect::<Vec<_>>()
            )
        })
}

use crate::spec::ComponentSpec;

#[test]
fn target_tracking_holds_fewer_tasks_and_queues_the_bursts_it_lags() {
    // 60 requests a minute, 3,000 in 2 minutes of every hour, 200 ms each.
    let profile = bursty(60.0, 3000.0, 2.0, 200.0);
    let spec = http_spec();
    let prices = PriceSheet::us_east_1();
    let ctx = Context::new(&spec, &profile, &prices);
    let c = Fargate.candidates(&ctx);
    let fixed = by_label(&c, "per task");
    let tracking = by_label(&c, "requests per task-minute");
    let schedule = fixed.deployment(&vec![0; fixed.slots.len()]);
    let tracked = tracking.deployment(&[0]);
    let Deployment::Fargate(t) = &tracked else {
        unreachable!()
    };
    let rule = t.target_tracking.as_ref().expect("a tracking policy");
    assert_eq!(rule.metric, TrackingMetric::AlbRequestCountPerTarget);
    assert_eq!(rule.min_tasks, MIN_TASKS);
    let s = Fargate.evaluate(&ctx, &schedule).unwrap();
    let e = Fargate.evaluate(&ctx, &tracked).unwrap();
    // The schedule is sized for the 99th-percentile minute (the burst): no backlog.
    assert!(s.cold_start_rate < 1e-6, "{}", s.cold_start_rate);
    // Tracking holds what the 90th-percentile minute needs, so it is cheaper, and
    // each burst waits for capacity it does not have.
    assert!(
        e.usd_per_month < s.usd_per_month,
        "{} vs {}",
        e.usd_per_month,
        s.usd_per_month
    );
    assert!(e.cold_start_rate > 0.01, "{}", e.cold_start_rate);
    assert!(e.worst_hour_p99_ms > s.worst_hour_p99_ms);
    // The candidate's slot says the same as the evaluation.
    let o = tracking.slots[0].levels[0].as_ref().unwrap();
    assert!(
        (o.cold_starts_per_month - e.cold_start_rate * e.invocations_per_month).abs()
            < 1e-6 * e.invocations_per_month
    );
    assert!((o.usd_per_month + tracking.fixed_usd_per_month - e.usd_per_month).abs() < 1e-6);
}

#[test]
fn a_slower_task_start_lengthens_what_a_sustained_rise_waits() {
    // Quiet nights, busy days: tracking must scale out at 08:00 and waits the lag.
    let mut profile = flat_profile(30.0, 200.0, 0.0);
    for h in 8..18 {
        let hp = &mut profile.hours[h];
        hp.count_bins[0].count = 3000.0;
        hp.invocations = 3000.0 * 60.0;
    }
    profile.invocations = profile.hours.iter().map(|h| h.invocations).sum();
    let eval = |image_mb: f64| {
        let mut spec = http_spec();
        spec.model.fargate_image_size_mb = Some(image_mb);
        let prices = PriceSheet::us_east_1();
        let ctx = Context::new(&spec, &profile, &prices);
        let c = Fargate.candidates(&ctx);
        let d = by_label(&c, "requests per task-minute").deployment(&[0]);
        let e = Fargate.evaluate(&ctx, &d).unwrap();
        (
            e.hours[8].cold_starts_per_month,
            e.hours[9].cold_starts_per_month,
            e.assumptions,
        )
    };
    let (small, steady, a) = eval(100.0);
    let (large, _, _) = eval(4000.0);
    assert!(small > 0.0 && large > small, "{small} {large}");
    assert!(
        steady < 1e-6,
        "once scaled out the hour is served: {steady}"
    );
    let start = a
        .iter()
        .find(|a| a.name == "fargate_task_start_seconds")
        .unwrap();
    assert_eq!(
        (start.value.as_str(), start.source.as_str()),
        ("22", "default by image size")
    );
}

#[test]
fn task_start_comes_from_telemetry_then_config_then_image_size() {
    assert_eq!(crate::spec::default_task_start_seconds(Some(250.0)), 25.0);
    assert_eq!(crate::spec::default_task_start_seconds(Some(2000.0)), 60.0);
    let mut profile = flat_profile(60.0, 100.0, 0.0);
    profile.init_duration_ms = Some(41_000.0);
    let mut spec = lambda_spec(1024, Provisioned::None);
    let prices = PriceSheet::us_east_1();
    // A Lambda's init is not a task start.
    assert_eq!(
        TaskStart::of(&Context::new(&spec, &profile, &prices)).source,
        "default by image size"
    );
    spec.model.fargate_task_start_seconds = Some(12.0);
    assert_eq!(
        TaskStart::of(&Context::new(&spec, &profile, &prices)).seconds,
        12.0
    );
    spec.current = Deployment::Fargate(FargateConfig::default());
    let t = TaskStart::of(&Context::new(&spec, &profile, &prices));
    assert_eq!((t.seconds, t.source), (41.0, "telemetry"));
}

#[test]
fn spot_is_offered_to_queue_consumers_and_costs_less() {
    let profile = flat_profile(600.0, 200.0, 0.0);
    let mut spec = lambda_spec(1024, Provisioned::None);
    spec.trigger = Some("queue".into());
    let prices = PriceSheet::us_east_1();
    let ctx = Context::new(&spec, &profile, &prices);
    let c = Fargate.candidates(&ctx);
    let od = c
        .iter()
        .find(|c| {
            c.excluded.is_none() && !c.label.contains("Spot") && !c.label.contains("tracking")
        })
        .unwrap();
    let spot = c.iter().find(|c| c.label.ends_with("75 % Spot")).unwrap();
    let cost = |c: &Candidate| -> f64 {
        c.slots
            .iter()
            .map(|s| s.levels.iter().flatten().next().unwrap().usd_per_month)
            .sum()
    };
    // Above the one on-demand task, 75 % of the tasks at 70 % off.
    let Deployment::Fargate(f) = spot.deployment(&[0; 24]) else {
        unreachable!()
    };
    let n = f.tasks[0];
    let expected = (f64::from(n) - f64::from(n - 1) * 0.75 * 0.7) / f64::from(n);
    assert!(
        (cost(spot) / cost(od) - expected).abs() < 1e-9,
        "{} vs {expected}",
        cost(spot) / cost(od)
    );
    let e = Fargate.evaluate(&ctx, &spot.deployment(&[0; 24])).unwrap();
    assert!(
        e.assumptions
            .iter()
            .any(|a| a.name == "fargate_spot_interruptions_per_month")
    );
    // HTTP services are not offered Spot.
    spec.trigger = Some("http".into());
    let ctx = Context::new(&spec, &profile, &prices);
    assert!(
        Fargate
            .candidates(&ctx)
            .iter()
            .all(|c| !c.label.contains("Spot"))
    );
}

#[test]
fn an_existing_load_balancer_is_not_bought_again() {
    let profile = flat_profile(60.0, 100.0, 0.0);
    let mut spec = http_spec();
    spec.load_balancer = true;
    let prices = PriceSheet::us_east_1();
    let ctx = Context::new(&spec, &profile, &prices);
    assert!(
        Fargate
            .candidates(&ctx)
            .iter()
            .all(|c| c.fixed_usd_per_month == 0.0)
    );
}

#[test]
fn fargate_to_lambda_stops_at_lambdas_limits() {
    use crate::options::lambda::Lambda;
    let mut spec = lambda_spec(1024, Provisioned::None);
    spec.current = Deployment::Fargate(FargateConfig {
        vcpu: 1.0,
        memory_mb: 2048,
        per_task_concurrency: 2,
        ..FargateConfig::default()
    });
    let prices = PriceSheet::us_east_1();
    let short = flat_profile(10.0, 300.0, 0.0);
    let ctx = Context::new(&spec, &short, &prices);
    assert!(Lambda.candidates(&ctx).iter().any(|c| c.excluded.is_none()));
    // A 20-minute job cannot run on Lambda: one excluded representative per arch.
    let long = flat_profile(0.1, 1_200_000.0, 0.0);
    let ctx = Context::new(&spec, &long, &prices);
    let c = Lambda.candidates(&ctx);
    assert!(!c.is_empty() && c.len() <= 2);
    let why = c[0].excluded.as_ref().unwrap();
    assert_eq!(why.guardrail, "lambda_limits");
    assert!(why.reason.contains("15-minute"), "{}", why.reason);
    // So does a 7 MB payload.
    spec.model.max_payload_kb = Some(7_000.0);
    let ctx = Context::new(&spec, &short, &prices);
    assert!(Lambda.candidates(&ctx).iter().all(|c| {
        c.excluded
            .as_ref()
            .is_some_and(|e| e.reason.contains("6 MB"))
    }));
}

/// The x86_64 size the candidates settled on, rebuilt from the schedule's template.
fn chosen_sizing<'a>(ctx: &'a Context<'a>, c: &[Candidate]) -> Sizing<'a> {
    let Deployment::Fargate(cfg) = &by_label(c, "x86_64").template else {
        unreachable!()
    };
    Sizing::new(
        ctx,
        cfg.vcpu,
        cfg.memory_mb,
        cfg.architecture,
        cfg.per_task_concurrency,
    )
    .expect("a size")
}

#[test]
fn cpu_tracking_is_refused_when_a_full_task_cannot_reach_the_target() {
    // search-api's shape: 36,000 requests a minute of 280 ms behind a load balancer on
    // 1 vCPU tasks of 16 requests, 2 % CPU-bound: a task's slots fill long before its
    // vCPU does.
    let profile = flat_profile(36_000.0, 280.0, 0.0);
    let mut spec = http_spec();
    spec.model.cpu_bound_fraction = Some(0.02);
    let prices = PriceSheet::us_east_1();
    let ctx = Context::new(&spec, &profile, &prices);
    let sizing = Sizing::new(&ctx, 1.0, 2048, Architecture::X86_64, 16).unwrap();
    let saturated = sizing.saturated_cpu_utilization();
    // Every slot busy, each request using its CPU work over its saturated duration.
    let implied = f64::from(sizing.per_task) * sizing.share.busy_vcpu(saturated) / sizing.vcpu;
    assert!(
        (implied - saturated).abs() < 1e-9,
        "{implied} vs {saturated}"
    );
    let target = 100.0 * spec.model.fargate_target_cpu_utilization;
    assert!(saturated < target / 100.0, "{saturated}");
    let planned: Vec<u32> = (0..24).map(|h| sizing.planned_tasks(h).unwrap()).collect();
    assert!(tracking_candidate(&ctx, &sizing, &planned, TrackingMetric::Cpu).is_none());
    // Request-count tracking follows the load and stays on offer.
    let alb = tracking_candidate(
        &ctx,
        &sizing,
        &planned,
        TrackingMetric::AlbRequestCountPerTarget,
    )
    .expect("request-count tracking");
    // Evaluated anyway (a deployed policy), CPU tracking holds its minimum all day and
    // the load above two tasks' slots is a queue that grows all hour: past the load
    // balancer's timeout for most requests.
    let Deployment::Fargate(mut cfg) = alb.template.clone() else {
        unreachable!()
    };
    let cpu_rule = FargateTracking {
        metric: TrackingMetric::Cpu,
        target_value: target,
        min_tasks: MIN_TASKS,
        max_tasks: 100,
    };
    assert!(!sizing.scales_out_on_load(&cpu_rule));
    let needed = sizing.stable_tasks(12);
    assert!(needed > 2 * MIN_TASKS, "{needed}");
    cfg.target_tracking = Some(cpu_rule);
    let e = Fargate.evaluate(&ctx, &Deployment::Fargate(cfg)).unwrap();
    assert!(e.hours.iter().all(|h| h.level == MIN_TASKS));
    assert!(e.throttle_rate > 0.5, "{}", e.throttle_rate);
    assert!(
        e.worst_hour_p99_ms > service::ALB_TIMEOUT_MS,
        "{}",
        e.worst_hour_p99_ms
    );
    let tracked = Fargate.evaluate(&ctx, &alb.deployment(&[0])).unwrap();
    assert!(tracked.throttle_rate < 0.01, "{}", tracked.throttle_rate);
}

#[test]
fn a_cpu_heavy_service_still_gets_cpu_tracking() {
    // Same load, 90 % CPU-bound: a full task's CPU passes the target first.
    let profile = flat_profile(36_000.0, 280.0, 0.0);
    let mut spec = http_spec();
    spec.model.cpu_bound_fraction = Some(0.9);
    let prices = PriceSheet::us_east_1();
    let ctx = Context::new(&spec, &profile, &prices);
    let c = Fargate.candidates(&ctx);
    let sizing = chosen_sizing(&ctx, &c);
    assert!(
        sizing.saturated_cpu_utilization() >= spec.model.fargate_target_cpu_utilization,
        "{}",
        sizing.saturated_cpu_utilization()
    );
    let cpu = by_label(&c, "tracking CPU");
    let e = Fargate.evaluate(&ctx, &cpu.deployment(&[0])).unwrap();
    // It scales out to what the load needs, not its minimum.
    assert!(
        e.hours.iter().all(|h| h.level > MIN_TASKS),
        "{:?}",
        e.hours[12].level
    );
    assert!(e.throttle_rate < 0.01, "{}", e.throttle_rate);
}

#[test]
fn engine_and_replay_share_one_cpu_law() {
    // The shapes of replay/tests/fargate_sharing.rs, here from a profile: 280 ms
    // observed on a 1,769 MB Lambda (one vCPU), on 1-vCPU tasks. The replay's
    // datapoints and service times are pinned to the same figures.
    let profile = flat_profile(600.0, 280.0, 0.0);
    let prices = PriceSheet::us_east_1();
    let sizing_for = |f: f64, per_task: u32| {
        let mut spec = lambda_spec(1769, Provisioned::None);
        spec.model.cpu_bound_fraction = Some(f);
        let ctx = Context::new(&spec, &profile, &prices);
        let s = Sizing::new(&ctx, 1.0, 2048, Architecture::X86_64, per_task).expect("a size");
        (
            s.saturated_cpu_utilization(),
            s.service_factor_at_utilization(0.5),
            s.service_factor_at_utilization(1.0),
            s.cpu_seconds,
        )
    };
    // CPU-bound, 4 slots: the vCPU saturates; half busy doubles, full quadruples.
    let (sat, half, full, cpu_s) = sizing_for(1.0, 4);
    assert!((sat - 1.0).abs() < 1e-12, "{sat}");
    assert!((half - 2.0).abs() < 1e-12 && (full - 4.0).abs() < 1e-12);
    assert!((cpu_s - 0.28).abs() < 1e-12);
    // IO-bound (search-api's 10 %), 16 slots: ~98.9 % when full, 1.1 at half.
    let (sat, half, _, cpu_s) = sizing_for(0.1, 16);
    let law = crate::cpu_share::CpuShare::new(1.0, 16, 0.1, 1.0, 1.0, 1.0);
    assert!((sat - law.saturated_utilization()).abs() < 1e-12);
    assert!(sat > 0.98 && sat < 0.995, "{sat}");
    assert!((half - 1.1).abs() < 1e-12, "{half}");
    assert!((cpu_s - 0.028).abs() < 1e-12);
}

/// The exhaustive search `best_size` prunes: every size planned, the first cheapest.
fn best_size_by_enumeration<'a>(
    ctx: &'a Context<'a>,
    arch: Architecture,
) -> Option<(Sizing<'a>, Vec<u32>)> {
    let mut best: Option<(f64, Sizing<'_>, Vec<u32>)> = None;
    for vcpu in VCPUS {
        for per_task in PER_TASK_CONCURRENCY {
            let Some(mem) = sizes::smallest_memory(vcpu, memory_need_mb(ctx, per_task)) else {
                continue;
            };
            let Some(sizing) = Sizing::new(ctx, vcpu, mem, arch, per_task) else {
                continue;
            };
            let Some(mut tasks) = (0..24)
                .map(|h| sizing.planned_tasks(h))
                .collect::<Option<Vec<u32>>>()
            else {
                continue;
            };
            if !ctx.spec.guardrails.allow_schedules {
                tasks = vec![*tasks.iter().max().unwrap(); 24];
            }
            let cost: f64 = tasks.iter().map(|&n| sizing.hour_usd(n)).sum();
            if best.as_ref().is_none_or(|b| cost < b.0) {
                best = Some((cost, sizing, tasks));
            }
        }
    }
    best.map(|(_, s, t)| (s, t))
}

#[test]
fn pruned_size_search_finds_what_enumeration_finds() {
    let prices = PriceSheet::us_east_1();
    let cases = [
        (bursty(20.0, 600.0, 5.0, 300.0), None, Some(0.01), true),
        (
            bursty(20.0, 600.0, 5.0, 300.0),
            Some(400.0),
            Some(0.01),
            false,
        ),
        (flat_profile(3000.0, 200.0, 0.0), Some(250.0), None, true),
        (flat_profile(60.0, 2000.0, 0.0), Some(1.0), None, true), // p99 out of reach
        (bursty(1.0, 40.0, 2.0, 8000.0), None, Some(0.001), true),
    ];
    let mut compared = 0;
    for (profile, p99_ms, cold, schedules) in cases {
        let mut spec = http_spec();
        spec.slo.p99_ms = p99_ms;
        spec.slo.max_cold_start_rate = cold;
        spec.guardrails.allow_schedules = schedules;
        let ctx = Context::new(&spec, &profile, &prices);
        for arch in [Architecture::X86_64, Architecture::Arm64] {
            let fast = best_size(&ctx, &SizingInputs::of(&ctx).unwrap(), arch);
            let slow = best_size_by_enumeration(&ctx, arch);
            let key = |b: &Option<(Sizing<'_>, Vec<u32>)>| {
                b.as_ref()
                    .map(|(s, t)| (s.vcpu, s.memory_mb, s.per_task, t.clone()))
            };
            assert_eq!(
                key(&fast),
                key(&slow),
                "p99 {p99_ms:?}, cold {cold:?}, {arch:?}"
            );
            compared += usize::from(fast.is_some());
        }
    }
    assert!(compared >= 6, "too few cases have a size: {compared}");
}
