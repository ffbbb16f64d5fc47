use super::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn a_cpu_bound_task_saturates_its_vcpu() {
    // One slot: the request has the vCPU to itself, busy all the time when full.
    let one = CpuShare::new(1.0, 1, 1.0, 1.0, 1.0, 1.0);
    assert!(close(one.saturated_utilization(), 1.0, 1e-12));
    assert!(close(one.factor(1.0), 1.0, 1e-12));
    // Four slots share the vCPU: alone as fast as observed, four at once 4× slower, and
    // at half load twice as slow (processor sharing's 1 / (1 − ρ)).
    let four = CpuShare::new(1.0, 4, 1.0, 1.0, 1.0, 1.0);
    assert!(close(four.saturated_utilization(), 1.0, 1e-12));
    assert!(close(four.lone_factor(), 1.0, 1e-12));
    assert!(close(four.factor(0.5), 2.0, 1e-12));
    assert!(close(four.factor(1.0), 4.0, 1e-12));
    // Single-threaded requests on four vCPUs, one at a time: a quarter of the task.
    let wide = CpuShare::new(4.0, 1, 1.0, 1.0, 1.0, 1.0);
    assert!(close(wide.saturated_utilization(), 0.25, 1e-12));
}

#[test]
fn an_io_bound_task_lends_idle_cpu_to_the_requests_computing() {
    // search-api in the demo: 10 % of 2048 MB Lambda durations is CPU (1 vCPU), on a
    // 1-vCPU task of 16 slots. Each request wants 0.1 vCPU-durations of work against 0.9
    // of waiting: sixteen of them want 1.6 vCPUs, so the task is nearly always computing
    // (the closed network's idle probability, 1 / Σ 16!/(16−n)! (1/9)^n, is 1.1 %),
    // far above the 64 % a fixed sixteenth of a vCPU per slot would give.
    let s = CpuShare::new(1.0, 16, 0.1, 1.0, 1.0, 1.0);
    let idle: f64 = 1.0
        / (0..=16u32)
            .map(|n| {
                let falling: f64 = (0..n).map(|i| f64::from(16 - i)).product();
                falling * (1.0_f64 / 9.0).powi(n as i32)
            })
            .sum::<f64>();
    assert!(close(s.saturated_utilization(), 1.0 - idle, 1e-9));
    assert!(s.saturated_utilization() > 0.98);
    // Alone it is as fast as on the 2048 MB Lambda (one vCPU either way).
    assert!(close(s.lone_factor(), 1.0, 1e-12));
    // Full, it is what sixteen requests sharing one vCPU complete: Little.
    let full = s.factor(1.0);
    assert!(close(16.0 * 0.1 / full, s.saturated_utilization(), 1e-9));
}

#[test]
fn a_full_task_uses_exactly_its_saturated_cpu() {
    // Whatever the shape, `per_task` requests at the saturated duration use the
    // saturated utilisation between them (what the replay's datapoints show), and the
    // factor rises with load without a jump at saturation.
    for &vcpu in &[0.25, 0.5, 1.0, 2.0, 4.0] {
        for &per_task in &[1, 2, 4, 8, 16, 32, 64] {
            for &f in &[0.0, 0.05, 0.1, 0.3, 0.5, 0.9, 1.0] {
                for &par in &[1.0, 2.0] {
                    let s = CpuShare::new(vcpu, per_task, f, 0.5, par, 1.0);
                    let sat = s.saturated_utilization();
                    let used = f64::from(per_task) * s.busy_vcpu(sat) / vcpu;
                    assert!(
                        close(used, sat, 1e-9),
                        "{vcpu} vCPU, {per_task}/task, f {f}, par {par}: {used} vs {sat}"
                    );
                    let mut last = s.lone_factor();
                    for i in 1..=100 {
                        let x = s.factor(sat * f64::from(i) / 100.0);
                        assert!(x >= last - 1e-12, "{vcpu} {per_task} {f} {par}");
                        last = x;
                    }
                }
            }
        }
    }
}

#[test]
fn the_architecture_scales_work_and_wait() {
    let x86 = CpuShare::new(1.0, 8, 0.5, 1.0, 1.0, 1.0);
    let arm = CpuShare::new(1.0, 8, 0.5, 1.0, 1.0, 0.8);
    assert!(close(arm.lone_factor(), 0.8 * x86.lone_factor(), 1e-12));
    assert!(close(
        arm.cpu_seconds(2.0),
        0.8 * x86.cpu_seconds(2.0),
        1e-12
    ));
    assert!(close(
        arm.saturated_utilization(),
        x86.saturated_utilization(),
        1e-12
    ));
}

#[test]
fn ecs_durations_are_read_at_the_speed_their_load_left_them() {
    // A nearly idle service ran its requests alone: at the task's full vCPU, not at
    // a sixteenth of it.
    let idle = observed_vcpu_at(1.0, 16, 0.5, 1.0, 0.01);
    assert!(idle > 0.99, "{idle}");
    // A busy one was slowed by sharing: the speed reproduces the observed duration.
    let busy = observed_vcpu_at(1.0, 16, 0.5, 1.0, 8.0);
    assert!(busy < 0.6 && busy > 1.0 / 16.0, "{busy}");
    let law = CpuShare::new(1.0, 16, 0.5, busy, 1.0, 1.0);
    assert!(close(law.factor(8.0 * law.cpu_seconds(1.0)), 1.0, 1e-6));
    // Without CPU work the speed does not matter; the lone speed is reported.
    assert!(close(observed_vcpu_at(2.0, 4, 0.0, 1.0, 3.0), 1.0, 1e-12));
}
