//! Replay speed on real traffic: 1,000 functions × one day of per-minute counts
//! resampled from the Azure Functions 2019 sample, each under its static
//! configuration; then the hindsight oracle over the 500-function sample (8 hours) with
//! a 1 % cold-start SLO.
//!
//! `cargo bench -p adaptd-replay --bench replay` (env `REPLAY_RUNS`, default 5, sets
//! the runs whose median is reported; `REPLAY_THREADS`, default 1, spreads functions
//! over threads; `REPLAY_SKIP_ORACLE=1` skips the oracle).
//!
//! Resampling: function `j` of 1,000 takes sample function `j mod 500`'s 480 minutes,
//! rotated by `(j div 500) × 240 + 37 j mod 480` minutes and repeated three times, so
//! the second 500 are the same shapes at other times of day. Its configuration: the
//! smallest standard Lambda size holding the function's largest memory use plus 20 %,
//! x86_64, no provisioned concurrency; its durations are taken as observed there.

#![allow(clippy::print_stdout)]

use std::path::Path;
use std::time::Instant;

use adaptd_engine::prices::PriceSheet;
use adaptd_engine::spec::{Architecture, Deployment, LambdaConfig, Provisioned};
use adaptd_replay::{
    OracleSpace, Params, Policy, ReplaySlo, Workload, WorkloadOptions, oracle, replay,
};

const SIZES: [u32; 10] = [128, 256, 512, 768, 1024, 1536, 2048, 3008, 4096, 10240];

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/azure2019-500");
    let set = adaptd_collectors::load(&format!("azure2019:{}", dir.display()))
        .expect("the repository's Azure sample loads");
    let runs: usize = env_or("REPLAY_RUNS", 5);
    let threads: usize = env_or("REPLAY_THREADS", 1).max(1);
    let prices = PriceSheet::us_east_1();
    let params = Params::default();

    let sample: Vec<(Workload, Policy)> = set
        .components
        .values()
        .map(|t| {
            let used = t.memory_used_mb.as_ref().map_or(128.0, |m| m.max());
            let memory = SIZES
                .iter()
                .copied()
                .find(|&s| f64::from(s) >= used * 1.2)
                .unwrap_or(10240);
            let opts = WorkloadOptions {
                observed_memory_mb: Some(f64::from(memory)),
                ..WorkloadOptions::default()
            };
            let w = Workload::from_telemetry(t, &opts).expect("sample functions replay");
            let p = Policy::Static(Deployment::Lambda(LambdaConfig {
                memory_mb: memory,
                architecture: Architecture::X86_64,
                provisioned: Provisioned::None,
                reserved_concurrency: None,
            }));
            (w, p)
        })
        .collect();
    assert_eq!(sample.len(), 500);

    let day: Vec<(Workload, &Policy)> = (0..1000)
        .map(|j| {
            let (src, policy) = &sample[j % 500];
            let n = src.counts.len();
            let rot = (j / 500) * 240 + (37 * j) % n;
            let mut w = src.clone();
            w.name = format!("{}#{j}", src.name);
            w.start = src.start - src.start.rem_euclid(1440);
            w.counts = (0..1440).map(|m| src.counts[(m + rot) % n]).collect();
            w.minute_durations.clear();
            w.missing_minutes.clear();
            (w, policy)
        })
        .collect();
    let invocations: u64 = day.iter().map(|(w, _)| w.invocations()).sum();
    println!(
        "replay: 1,000 functions × 1,440 minutes, {invocations} invocations, {threads} thread(s), median of {runs} runs"
    );

    let mut times = Vec::with_capacity(runs);
    let mut events = 0;
    let mut cost = 0.0;
    let mut cold = 0;
    for _ in 0..runs {
        let t0 = Instant::now();
        let chunk = day.len().div_ceil(threads);
        let totals: Vec<(u64, f64, u64)> = std::thread::scope(|s| {
            let handles: Vec<_> = day
                .chunks(chunk)
                .map(|part| {
                    let (prices, params) = (&prices, &params);
                    s.spawn(move || {
                        let mut acc = (0u64, 0.0f64, 0u64);
                        for (w, p) in part {
                            let r = replay(w, p, params, prices).expect("replays");
                            acc.0 += r.events;
                            acc.1 += r.total.cost.total();
                            acc.2 += r.total.cold_starts;
                        }
                        acc
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        times.push(t0.elapsed().as_secs_f64());
        events = totals.iter().map(|t| t.0).sum();
        cost = totals.iter().map(|t| t.1).sum();
        cold = totals.iter().map(|t| t.2).sum();
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "  median {median:.3} s (runs {times:.3?}); {events} events, {:.1} M events/s, {:.1} M invocations/s",
        events as f64 / median / 1e6,
        invocations as f64 / median / 1e6
    );
    println!("  day cost ${cost:.2}, cold starts {cold}");

    if std::env::var("REPLAY_SKIP_ORACLE").is_ok() {
        return;
    }
    let slo = ReplaySlo {
        max_cold_start_rate: Some(0.01),
        max_throttle_rate: 0.0,
    };
    let t0 = Instant::now();
    let (mut evals, mut equivalents, mut met) = (0u64, 0.0, 0);
    let (mut oracle_cost, mut static_cost) = (0.0, 0.0);
    let mut with_pc = 0;
    let mut slowest = (0.0, String::new());
    for (w, p) in &sample {
        let Policy::Static(Deployment::Lambda(cfg)) = p else {
            unreachable!()
        };
        let t = Instant::now();
        let space = OracleSpace::memory(cfg.memory_mb);
        let o = oracle(w, &slo, &space, &params, &prices).expect("oracle runs");
        let dt = t.elapsed().as_secs_f64();
        if dt > slowest.0 {
            slowest = (dt, format!("{} ({} invocations)", w.name, w.invocations()));
        }
        evals += o.replays_run;
        equivalents += o.full_replay_equivalents;
        met += usize::from(o.meets_slo);
        oracle_cost += o.result.total.cost.total();
        static_cost += replay(w, p, &params, &prices)
            .expect("replays")
            .total
            .cost
            .total();
        let Deployment::Lambda(c) = &o.deployment else {
            unreachable!()
        };
        with_pc += usize::from(c.provisioned.peak() > 0);
    }
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "oracle: 500 functions × 480 minutes, 1 % cold-start SLO, one memory: {dt:.2} s \
         ({evals} schedules evaluated, {equivalents:.0} whole-replay equivalents; \
         slowest {:.2} s: {})",
        slowest.0, slowest.1
    );
    println!(
        "  SLO met by {met}/500; {with_pc} use provisioned concurrency; window cost ${oracle_cost:.2} vs ${static_cost:.2} with none"
    );
}

fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
