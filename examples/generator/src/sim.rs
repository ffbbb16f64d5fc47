//! Minute-by-minute simulation of one component.
//!
//! Only per-minute aggregates are needed, so individual invocations are drawn only
//! when a minute has few of them; busy minutes use the sampling distributions of the
//! statistics instead (exact for the maximum, asymptotic for the mean and percentiles),
//! which keeps a week of `search-api` at 200 requests per second to a few milliseconds.

use adaptd_engine::telemetry::{ComponentTelemetry, Metric, Minute, Stat};

use crate::rng::{Rng, normal_quantile, normal_upper_quantile};
use crate::shapes::{Burst, FargateService, Shape, Traffic};

/// Lambda keeps an idle environment this long (minutes), as the sample config assumes.
pub const KEEP_ALIVE_MINUTES: i64 = 10;

/// Below this many invocations in a minute, durations are drawn one by one.
const EXACT_BELOW: u64 = 64;

/// Slow drift of traffic: log-space AR(1) with ~8 % stationary deviation.
const NOISE_RHO: f64 = 0.97;
const NOISE_STEP: f64 = 0.0195;

/// Per-minute drift of the duration median (shared by the minute's statistics).
const DURATION_JITTER: f64 = 0.03;

/// Spread of memory use between invocations (log space).
const MEMORY_SIGMA: f64 = 0.03;

/// Execution environments, kept warm for [`KEEP_ALIVE_MINUTES`] after their last use;
/// provisioned ones are always warm.
#[derive(Debug)]
struct WarmPool {
    provisioned: u64,
    last_used: Vec<Minute>,
}

impl WarmPool {
    /// Serves `peak` concurrent executions at `minute`, reusing the most recently used
    /// environments first (as Lambda does); returns how many had to start cold.
    fn serve(&mut self, minute: Minute, peak: u64) -> u64 {
        self.last_used.retain(|&t| minute - t <= KEEP_ALIVE_MINUTES);
        let needed = usize::try_from(peak.saturating_sub(self.provisioned)).unwrap_or(usize::MAX);
        self.last_used.sort_unstable_by(|a, b| b.cmp(a));
        let reuse = needed.min(self.last_used.len());
        self.last_used[..reuse].fill(minute);
        let cold = needed - reuse;
        self.last_used.extend(std::iter::repeat_n(minute, cold));
        cold as u64
    }
}

/// One minute's duration statistics (ms).
#[derive(Debug, Clone, Copy)]
struct DurationStats {
    avg: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

/// Statistics of `n` lognormal durations with median `median` and log-sd `sigma`.
fn duration_stats(rng: &mut Rng, n: u64, median: f64, sigma: f64) -> DurationStats {
    let mu = median.ln();
    if n < EXACT_BELOW {
        let mut xs: Vec<f64> = (0..n).map(|_| (mu + sigma * rng.normal()).exp()).collect();
        xs.sort_by(f64::total_cmp);
        let rank = |p: f64| xs[((p * n as f64).ceil() as usize).clamp(1, xs.len()) - 1];
        return DurationStats {
            avg: xs.iter().sum::<f64>() / n as f64,
            p50: rank(0.5),
            p90: rank(0.9),
            p99: rank(0.99),
            max: xs[xs.len() - 1],
        };
    }
    let nf = n as f64;
    // Sample mean: normal around the lognormal mean.
    let mean = (mu + sigma * sigma / 2.0).exp();
    let sd = ((sigma * sigma).exp_m1()).sqrt() * mean;
    let avg = (mean + sd / nf.sqrt() * rng.normal()).max(median * 0.5);
    // Sample quantile in log space: z_p plus normal error sqrt(p(1-p)/n) / φ(z_p).
    let mut quantile = |p: f64| {
        let z = normal_quantile(p);
        let density = (-z * z / 2.0).exp() / (std::f64::consts::TAU).sqrt();
        let err = (p * (1.0 - p) / nf).sqrt() / density;
        (mu + sigma * (z + err * rng.normal())).exp()
    };
    let (p50, p90, p99) = (quantile(0.5), quantile(0.9), quantile(0.99));
    // The maximum of n uniforms is U^(1/n): its upper tail is -expm1(ln U / n).
    let tail = -(rng.open01().ln() / nf).exp_m1();
    let max = (mu + sigma * normal_upper_quantile(tail)).exp();
    let p90 = p90.max(p50);
    let p99 = p99.max(p90);
    DurationStats {
        avg: avg.min(max),
        p50,
        p90,
        p99,
        max: max.max(p99),
    }
}

/// Peak concurrent executions within a minute: the minute holds about
/// `60 s / mean duration` independent windows, each with Poisson(`mean`) executions
/// in flight (Little's law), and the peak is the largest of them — drawn exactly from
/// the CDF of that maximum. At least 1 and at most `n`.
fn peak_concurrency(rng: &mut Rng, mean: f64, mean_ms: f64, n: u64) -> u64 {
    let windows = (60_000.0 / mean_ms.max(1.0)).clamp(1.0, 10_000.0);
    let target = (rng.open01().ln() / windows).exp();
    let peak = if mean > 600.0 {
        // exp(-mean) underflows; the normal approximation is excellent here.
        (mean + mean.sqrt() * normal_quantile(target.min(1.0 - 1e-12))).ceil() as u64
    } else {
        let mut pmf = (-mean).exp();
        let mut cdf = pmf;
        let mut k = 0u64;
        while cdf < target && k < 100_000 {
            k += 1;
            pmf *= mean / k as f64;
            cdf += pmf;
        }
        k
    };
    peak.clamp(1, n)
}

/// Rounds to `digits` significant digits: real exports carry a few, and shorter
/// numbers keep the committed file small.
fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// Base rate with bursts at `minute` (requests per second).
fn rate_at(base: f64, bursts: &[Burst], next: &mut usize, minute: Minute) -> f64 {
    while *next < bursts.len() && bursts[*next].end <= minute {
        *next += 1;
    }
    bursts[*next..]
        .iter()
        .take_while(|b| b.start <= minute)
        .filter(|b| minute < b.end)
        .fold(base, |r, b| r.max(b.rate))
}

/// Requests per minute: Poisson around the shape's rate with a slow drift, bursts on
/// top, or a timer's single run.
struct Arrivals<'a> {
    traffic: Traffic,
    bursts: &'a [Burst],
    next_burst: usize,
    noise: f64,
}

impl<'a> Arrivals<'a> {
    fn new(shape: &Shape, bursts: &'a [Burst]) -> Self {
        Arrivals {
            traffic: shape.traffic,
            bursts,
            next_burst: 0,
            noise: 0.0,
        }
    }

    /// Requests started in `minute` (minutes must come in order).
    fn draw(&mut self, rng: &mut Rng, minute: Minute) -> u64 {
        match (self.traffic, self.traffic.rate(minute)) {
            (Traffic::Hourly { minute: at }, _) => u64::from(minute.rem_euclid(60) == at),
            (_, Some(base)) => {
                self.noise = NOISE_RHO * self.noise + NOISE_STEP * rng.normal();
                let rate = rate_at(
                    base * self.noise.exp(),
                    self.bursts,
                    &mut self.next_burst,
                    minute,
                );
                rng.poisson(rate * 60.0)
            }
            (_, None) => 0,
        }
    }
}

/// An ECS service on Fargate behind a load balancer, as CloudWatch shows it: the
/// target group's requests, 5xx answers and response time; the service's CPU and
/// memory utilisation every minute, idle or not; its running tasks. The tasks are
/// sized far above the load, so a request never waits for a worker and the response
/// time is the handler's time.
fn simulate_service(
    shape: &Shape,
    service: &FargateService,
    rng: &mut Rng,
    bursts: &[Burst],
    start: Minute,
    end: Minute,
) -> ComponentTelemetry {
    let mut c = ComponentTelemetry::new(shape.name);
    for (k, v) in [
        ("platform", "fargate".to_owned()),
        ("trigger", shape.trigger.to_owned()),
        ("vcpu", service.vcpu.to_string()),
        ("memory_mb", shape.memory_mb.to_string()),
        ("architecture", shape.architecture.to_owned()),
        ("tasks", service.tasks.to_string()),
        (
            "per_task_concurrency",
            service.per_task_concurrency.to_string(),
        ),
        ("load_balancer", "true".to_owned()),
    ] {
        c.attributes.insert(k.to_owned(), v);
    }
    let mut put = |m: Minute, metric: Metric, stat: Stat, v: f64| {
        c.record(m, metric, stat, v)
            .expect("simulated values are finite");
    };
    let vcpus = service.vcpu * f64::from(service.tasks);
    let memory_share = shape.memory_used_mb / f64::from(shape.memory_mb);
    let mut arrivals = Arrivals::new(shape, bursts);
    for m in start..end {
        let n = arrivals.draw(rng, m);
        put(m, Metric::Invocations, Stat::Sum, n as f64);
        // The runtime's own idle work: about 0.5 % of a vCPU per task.
        let mut cpu = 0.5 * (0.1 * rng.normal()).exp();
        if n > 0 {
            let nf = n as f64;
            let median = shape.duration_median_ms * (DURATION_JITTER * rng.normal()).exp();
            let d = duration_stats(rng, n, median, shape.duration_sigma);
            let errors = rng.poisson(nf * shape.error_rate).min(n);
            put(m, Metric::Errors, Stat::Sum, errors as f64);
            for (stat, v) in [
                (Stat::Average, d.avg),
                (Stat::P50, d.p50),
                (Stat::P90, d.p90),
                (Stat::P99, d.p99),
                (Stat::Maximum, d.max),
            ] {
                put(m, Metric::DurationMs, stat, round_sig(v, 4));
            }
            cpu += 100.0 * nf * d.avg / 60_000.0 * service.cpu_share / vcpus;
        }
        put(
            m,
            Metric::CpuUtilizationPercent,
            Stat::Average,
            round_sig(cpu, 3),
        );
        let memory = 100.0 * memory_share * (MEMORY_SIGMA * rng.normal()).exp();
        put(
            m,
            Metric::MemoryUtilizationPercent,
            Stat::Maximum,
            round_sig(memory, 3),
        );
        put(
            m,
            Metric::RunningTasks,
            Stat::Average,
            f64::from(service.tasks),
        );
    }
    c
}

/// Simulates `shape` over `[start, end)`; `index` picks its random streams.
pub fn simulate(
    shape: &Shape,
    index: u64,
    seed: u64,
    start: Minute,
    end: Minute,
) -> ComponentTelemetry {
    let mut schedule_rng = Rng::stream(seed, 2 * index);
    let mut rng = Rng::stream(seed, 2 * index + 1);
    let bursts = shape
        .bursts
        .map(|b| b.schedule(&mut schedule_rng, start, end))
        .unwrap_or_default();

    if let Some(service) = shape.fargate {
        return simulate_service(shape, &service, &mut rng, &bursts, start, end);
    }
    let mut c = ComponentTelemetry::new(shape.name);
    for (k, v) in [
        ("trigger", shape.trigger.to_owned()),
        ("runtime", shape.runtime.to_owned()),
        ("memory_mb", shape.memory_mb.to_string()),
        ("architecture", shape.architecture.to_owned()),
    ] {
        c.attributes.insert(k.to_owned(), v);
    }
    let pc = u64::from(shape.provisioned_concurrency);
    if pc > 0 {
        c.attributes
            .insert("provisioned_concurrency".to_owned(), pc.to_string());
    }
    let mut put = |m: Minute, metric: Metric, stat: Stat, v: f64| {
        c.record(m, metric, stat, v)
            .expect("simulated values are finite");
    };

    let mut pool = WarmPool {
        provisioned: pc,
        last_used: Vec::new(),
    };
    let mut arrivals = Arrivals::new(shape, &bursts);
    for m in start..end {
        let n = arrivals.draw(&mut rng, m);
        put(m, Metric::Invocations, Stat::Sum, n as f64);
        if n == 0 {
            continue;
        }
        let nf = n as f64;
        let memory = shape.memory_at(m, start);
        let median = shape.duration_median_at(memory) * (DURATION_JITTER * rng.normal()).exp();
        let d = duration_stats(&mut rng, n, median, shape.duration_sigma);
        let in_flight = nf / 60.0 * d.avg / 1000.0;
        let peak = peak_concurrency(&mut rng, in_flight, d.avg, n);
        let cold = pool.serve(m, peak);
        let errors = rng.poisson(nf * shape.error_rate).min(n);

        put(m, Metric::Errors, Stat::Sum, errors as f64);
        put(m, Metric::Throttles, Stat::Sum, 0.0);
        for (stat, v) in [
            (Stat::Average, d.avg),
            (Stat::P50, d.p50),
            (Stat::P90, d.p90),
            (Stat::P99, d.p99),
            (Stat::Maximum, d.max),
        ] {
            put(m, Metric::DurationMs, stat, round_sig(v, 4));
        }
        put(m, Metric::ConcurrentExecutions, Stat::Maximum, peak as f64);
        put(m, Metric::ColdStarts, Stat::Sum, cold as f64);
        if cold > 0 {
            let draws = cold.min(32);
            let init = (0..draws)
                .map(|_| rng.lognormal(shape.init_ms, 0.15))
                .sum::<f64>()
                / draws as f64;
            put(m, Metric::InitDurationMs, Stat::Average, round_sig(init, 4));
        }
        let tail = -(rng.open01().ln() / nf).exp_m1();
        let used = shape.memory_used_mb * (MEMORY_SIGMA * normal_upper_quantile(tail)).exp();
        put(
            m,
            Metric::MaxMemoryUsedMb,
            Stat::Maximum,
            used.round().min(f64::from(memory)),
        );
        if shape.memory_before.is_some() {
            put(
                m,
                Metric::ConfiguredMemoryMb,
                Stat::Average,
                f64::from(memory),
            );
        }
        if pc > 0 {
            let pcf = pc as f64;
            let on_pc = peak.min(pc);
            let served = if peak <= pc {
                n
            } else {
                (nf * pcf / peak as f64).round() as u64
            };
            put(
                m,
                Metric::ProvisionedConcurrentExecutions,
                Stat::Maximum,
                on_pc as f64,
            );
            let utilization = |x: f64| round_sig(x.min(pcf) / pcf, 4);
            put(
                m,
                Metric::ProvisionedConcurrencyUtilization,
                Stat::Average,
                utilization(in_flight),
            );
            put(
                m,
                Metric::ProvisionedConcurrencyUtilization,
                Stat::Maximum,
                utilization(on_pc as f64),
            );
            put(
                m,
                Metric::ProvisionedConcurrencyInvocations,
                Stat::Sum,
                served as f64,
            );
            put(
                m,
                Metric::ProvisionedConcurrencySpilloverInvocations,
                Stat::Sum,
                (n - served) as f64,
            );
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_pool_keeps_environments_for_the_keep_alive() {
        let mut pool = WarmPool {
            provisioned: 0,
            last_used: Vec::new(),
        };
        assert_eq!(pool.serve(0, 3), 3);
        assert_eq!(pool.serve(1, 1), 0);
        assert_eq!(pool.serve(10, 3), 0, "idle for 10 minutes: still warm");
        assert_eq!(pool.serve(20, 3), 0);
        assert_eq!(pool.serve(31, 1), 1, "idle for 11 minutes: reclaimed");
        let mut provisioned = WarmPool {
            provisioned: 20,
            last_used: Vec::new(),
        };
        assert_eq!(provisioned.serve(0, 5), 0);
        assert_eq!(provisioned.serve(1, 22), 2);
    }

    #[test]
    fn busy_minute_statistics_are_close_to_exact_ones() {
        // Compare the shortcut with brute force at the threshold.
        let mut rng = Rng::new(11);
        let (median, sigma) = (120.0, 0.517);
        let mut approx = Vec::new();
        let mut exact = Vec::new();
        for _ in 0..400 {
            approx.push(duration_stats(&mut rng, 5000, median, sigma));
            let mut xs: Vec<f64> = (0..5000).map(|_| rng.lognormal(median, sigma)).collect();
            xs.sort_by(f64::total_cmp);
            exact.push((xs[4949], xs[4999]));
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let a99 = mean(&approx.iter().map(|d| d.p99).collect::<Vec<_>>());
        let e99 = mean(&exact.iter().map(|x| x.0).collect::<Vec<_>>());
        assert!((a99 / e99 - 1.0).abs() < 0.01, "{a99} vs {e99}");
        let amax = mean(&approx.iter().map(|d| d.max).collect::<Vec<_>>());
        let emax = mean(&exact.iter().map(|x| x.1).collect::<Vec<_>>());
        assert!((amax / emax - 1.0).abs() < 0.05, "{amax} vs {emax}");
        assert!(
            approx
                .iter()
                .all(|d| d.p50 <= d.p90 && d.p90 <= d.p99 && d.p99 <= d.max)
        );
    }

    #[test]
    fn peak_concurrency_is_bounded_and_grows_with_load() {
        let mut rng = Rng::new(5);
        let draws = |rng: &mut Rng, mean: f64| {
            (0..2000)
                .map(|_| peak_concurrency(rng, mean, 300.0, 100_000))
                .sum::<u64>() as f64
                / 2000.0
        };
        let low = draws(&mut rng, 0.05);
        let high = draws(&mut rng, 85.0);
        assert!((1.0..2.0).contains(&low), "{low}");
        assert!((100.0..125.0).contains(&high), "{high}");
        assert_eq!(peak_concurrency(&mut rng, 50.0, 300.0, 3), 3);
    }

    #[test]
    fn rounding_keeps_significant_digits() {
        assert_eq!(round_sig(123.456, 4), 123.5);
        assert_eq!(round_sig(45_123.0, 4), 45_120.0);
        assert_eq!(round_sig(0.012_345, 3), 0.0123);
        assert_eq!(round_sig(0.0, 4), 0.0);
    }
}
