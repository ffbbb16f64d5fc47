//! Fargate: FIFO queueing over task slots, task billing and CPU target tracking.

mod common;

use adaptd_engine::prices::PriceSheet;
use adaptd_engine::spec::{Architecture, Deployment, FargateConfig};
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
    assert_eq!(r.total.cold_starts, 0);
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
