//! Fargate: FIFO queueing over task slots, task billing and CPU target tracking.

mod common;

use adaptd_engine::prices::PriceSheet;
use adaptd_engine::spec::{
    Architecture, Deployment, FargateConfig, FargateTracking, TrackingMetric,
};
use adaptd_replay::draws::{Draws, OnTheFly};
use adaptd_replay::{Alarms, FargateTargetTracking, Params, Policy, Workload, replay};
use common::{constant, counts};

fn service(tasks: [u32; 24], per_task: u32) -> FargateConfig {
    FargateConfig {
        vcpu: 1.0,
        memory_mb: 2048,
        architecture: Architecture::X86_64,
        tasks,
        per_task_concurrency: per_task,
        ..FargateConfig::default()
    }
}

/// Durations observed with one full vCPU, so a 1-vCPU single-slot task serves them
/// as observed.
fn one_vcpu(mut w: Workload) -> Workload {
    w.observed_vcpu = Some(1.0);
    w.cpu_bound_fraction = 1.0;
    w
}

#[test]
fn requests_wait_in_fifo_order_for_the_one_slot() {
    // Three 30-second requests in minute 0 on one single-slot task: the second starts
    // when the first ends, the third when the second ends.
    let w = one_vcpu(constant(counts(5, &[(0, 3)]), 30_000.0));
    let p = Policy::Static(Deployment::Fargate(service([1; 24], 1)));
    let r = replay(&w, &p, &Params::default(), &PriceSheet::us_east_1()).unwrap();
    let mut draws = OnTheFly::new(&w, 0);
    let a = draws.minute(0).0.to_vec();
    let end1 = a[0] + 30_000.0;
    let start2 = a[1].max(end1);
    let end2 = start2 + 30_000.0;
    let start3 = a[2].max(end2);
    let wait3 = start3 - a[2];
    assert!(wait3 > 0.0);
    let lat = r.total.latency.clone().unwrap();
    assert!((lat.max_ms - (wait3 + 30_000.0)).abs() < 1e-6, "{lat:?}");
    assert_eq!(r.total.served, 3);
    assert_eq!(r.total.peak_concurrency, 1);
    // Fargate's cold start: both queued requests waited more than a second for a slot.
    assert_eq!(r.total.cold_starts, 2);
    // Two slots on the same vCPU: each request gets half of it (60-second services)
    // and the third waits for the first.
    let p = Policy::Static(Deployment::Fargate(service([1; 24], 2)));
    let r2 = replay(&w, &p, &Params::default(), &PriceSheet::us_east_1()).unwrap();
    assert_eq!(r2.total.peak_concurrency, 2);
    let lat2 = r2.total.latency.unwrap();
    assert!((lat2.max_ms - 60_000.0 - (a[0] + 60_000.0 - a[2]).max(0.0)).abs() < 1e-6);
    // Two single-slot tasks: the third waits for the first to end.
    let two = service([2; 24], 1);
    let r3 = replay(
        &w,
        &Policy::Static(Deployment::Fargate(two)),
        &Params::default(),
        &PriceSheet::us_east_1(),
    )
    .unwrap();
    let lat3 = r3.total.latency.unwrap();
    assert!(lat3.max_ms < lat.max_ms);
    assert!((lat3.max_ms - 30_000.0 - (a[0] + 30_000.0 - a[2]).max(0.0)).abs() < 1e-6);
}

#[test]
fn tasks_are_billed_per_second_from_launch() {
    // One task all window (5 minutes, open at both ends): 300 task-seconds at
    // 1 vCPU × $0.04048 + 2 GB × $0.004445 per hour.
    let w = one_vcpu(constant(counts(5, &[(0, 1)]), 100.0));
    let p = Policy::Static(Deployment::Fargate(service([1; 24], 1)));
    let r = replay(&w, &p, &Params::default(), &PriceSheet::us_east_1()).unwrap();
    assert_eq!(r.total.capacity_seconds, 300.0);
    let expected = 300.0 * (0.04048 + 2.0 * 0.004445) / 3600.0;
    assert!((r.total.cost.tasks_usd - expected).abs() < 1e-15);
    assert_eq!(r.total.cost.requests_usd, 0.0);
}

#[test]
fn with_no_task_left_queued_requests_are_never_served() {
    let mut tasks = [0u32; 24];
    tasks[0] = 1;
    // Ten 10-minute requests at minute 50 on one slot; the task stops at 01:00.
    let w = one_vcpu(constant(counts(120, &[(50, 10)]), 600_000.0));
    let p = Policy::Static(Deployment::Fargate(service(tasks, 1)));
    let r = replay(&w, &p, &Params::default(), &PriceSheet::us_east_1()).unwrap();
    assert_eq!(r.total.served, 1);
    assert_eq!(r.total.throttles, 9);
}

#[test]
fn cpu_target_tracking_adds_tasks_after_three_busy_minutes_and_the_start_lag() {
    // Fully CPU-bound one-second requests, 600 a minute: 10 vCPUs of work against 2
    // one-vCPU tasks (CPU 100 %).
    let w = one_vcpu(constant(vec![600; 30], 1000.0));
    let ft = FargateTargetTracking {
        config: service([2; 24], 1),
        target: 0.7,
        min_tasks: 2,
        max_tasks: 40,
        alarms: Alarms::ECS,
    };
    let r = replay(
        &w,
        &Policy::FargateTargetTracking(ft),
        &Params::default(),
        &PriceSheet::us_east_1(),
    )
    .unwrap();
    assert!(r.utilization[..3].iter().all(|u| u.unwrap() > 0.99));
    // Decided at minute 3 from 2 tasks at 100 %: ceil(2 / 0.7) = 3, ready at 5.
    assert_eq!(&r.capacity[..6], &[2, 2, 2, 2, 2, 3]);
    assert!(r.capacity.windows(2).all(|p| p[1] >= p[0]));
    assert!(*r.capacity.last().unwrap() >= 10);
}

#[test]
fn request_count_tracking_scales_after_the_alarm_and_the_start_and_504s_the_long_waits() {
    // 100 one-second requests a minute on one slot per task, then 1,200 a minute: the
    // target of 50 requests per task-minute asks for 24 tasks after three busy minutes,
    // ready two minutes later. Meanwhile two tasks serve 120 a minute and the backlog
    // waits past the load balancer's 60-second timeout.
    let mut c = vec![100u32; 5];
    c.extend(vec![1200u32; 25]);
    let w = one_vcpu(constant(c, 1000.0));
    let mut cfg = service([2; 24], 1);
    cfg.target_tracking = Some(FargateTracking {
        metric: TrackingMetric::AlbRequestCountPerTarget,
        target_value: 50.0,
        min_tasks: 2,
        max_tasks: 40,
    });
    let params = Params {
        http_timeout_ms: Some(60_000.0),
        ..Params::default()
    };
    let r = replay(
        &w,
        &Policy::Static(Deployment::Fargate(cfg)),
        &params,
        &PriceSheet::us_east_1(),
    )
    .unwrap();
    // 100 a minute on 2 tasks is already 50 per task: no scale-out before the burst.
    assert!(r.capacity[..6].iter().all(|&n| n == 2), "{:?}", r.capacity);
    // Busy from minute 5: three datapoints (5, 6, 7), decided at 8, ready at 10.
    assert_eq!(r.capacity[9], 2, "{:?}", r.capacity);
    assert!(r.capacity[10] > 2, "{:?}", r.capacity);
    assert!(r.total.cold_starts > 1000, "{}", r.total.cold_starts);
    assert!(r.total.throttles > 0, "{}", r.total.throttles);
    assert_eq!(r.total.served + r.total.throttles, r.total.invocations);
}

#[test]
fn spot_tasks_above_the_on_demand_one_pay_the_spot_price() {
    let w = one_vcpu(constant(counts(5, &[(0, 1)]), 100.0));
    let prices = PriceSheet::us_east_1();
    let run = |spot: f64| {
        let mut cfg = service([3; 24], 1);
        cfg.spot_share = spot;
        replay(
            &w,
            &Policy::Static(Deployment::Fargate(cfg)),
            &Params::default(),
            &prices,
        )
        .unwrap()
        .total
        .cost
        .tasks_usd
    };
    // Three tasks, all but one on Spot at 70 % off: (3 − 2 × 0.7) / 3 of the price.
    let ratio = run(1.0) / run(0.0);
    assert!((ratio - (3.0 - 2.0 * 0.7) / 3.0).abs() < 1e-12, "{ratio}");
}
