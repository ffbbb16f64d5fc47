//! The engine's analytic predictions next to replays of the same traffic, on the
//! Azure Functions 2019 sample (500 functions, 8 hours): cold starts and cost with no
//! provisioned concurrency, and for the schedule the oracle finds under a 1 %
//! cold-start SLO.
//!
//! `cargo run --release -p adaptd-replay --example engine_vs_replay [SEEDS]`
//!
//! The window is shorter than a day, so each hour of day occurs once in it: the
//! engine's monthly figures are divided by the occurrences of an hour in a month
//! (730 / 24) to compare with the window's. Replayed figures are averaged over SEEDS
//! seeds (default 3). Both sides count whole UTC hours only (08–15): the sample's
//! first minute, 07:59, is an hour of its own.

#![allow(clippy::print_stdout)]

use std::path::Path;

use adaptd_engine::options::lambda::Lambda;
use adaptd_engine::options::{Context, Platform};
use adaptd_engine::prices::PriceSheet;
use adaptd_engine::profile::summarize;
use adaptd_engine::spec::{
    Architecture, ComponentSpec, Deployment, Guardrails, LambdaConfig, ModelParams, Provisioned,
    Slo,
};
use adaptd_replay::{
    OracleSpace, Params, Policy, ReplaySlo, Workload, WorkloadOptions, oracle, replay,
};

const SIZES: [u32; 10] = [128, 256, 512, 768, 1024, 1536, 2048, 3008, 4096, 10240];

struct Row {
    name: String,
    trigger: String,
    invocations: u64,
    mean_ms: f64,
    engine_cold: f64,
    replay_cold: f64,
    engine_usd: f64,
    replay_usd: f64,
    pc_engine_cold_rate: f64,
    pc_replay_cold_rate: f64,
    pc_engine_usd: f64,
    pc_replay_usd: f64,
    uses_pc: bool,
}

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/azure2019-500");
    let set = adaptd_collectors::load(&format!("azure2019:{}", dir.display())).unwrap();
    let prices = PriceSheet::us_east_1();
    let per_window = prices.hours_per_month / 24.0;
    let mut rows = Vec::new();
    for t in set.components.values() {
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
        let w = Workload::from_telemetry(t, &opts).unwrap();
        if w.invocations() == 0 {
            continue;
        }
        let current = LambdaConfig {
            memory_mb: memory,
            architecture: Architecture::X86_64,
            provisioned: Provisioned::None,
            reserved_concurrency: None,
        };
        let spec = ComponentSpec {
            name: t.name.clone(),
            account: "main".into(),
            environment: None,
            tags: Default::default(),
            trigger: t.attributes.get("trigger").cloned(),
            runtime: None,
            current: Deployment::Lambda(current.clone()),
            current_is_known: true,
            slo: Slo::default(),
            guardrails: Guardrails::default(),
            databases: vec![],
            model: ModelParams::default(),
            load_balancer: false,
            timezone: Default::default(),
        };
        let profile = summarize(t, 10, 1.0);
        let ctx = Context::new(&spec, &profile, &prices);
        let e = Lambda
            .evaluate(&ctx, &spec.current)
            .expect("engine evaluates");
        // Only whole hours: the sample's first hour holds one minute (07:59), which the
        // engine extrapolates to a whole hour.
        let full: Vec<usize> = profile
            .hours
            .iter()
            .enumerate()
            .filter(|(_, h)| h.minutes_observed == 60)
            .map(|(i, _)| i)
            .collect();
        let engine_cold = full
            .iter()
            .map(|&h| e.hours[h].cold_starts_per_month)
            .sum::<f64>()
            / per_window;
        let engine_usd = full.iter().map(|&h| e.hours[h].usd_per_month).sum::<f64>() / per_window;

        let avg = |policy: &Policy| -> (f64, f64, f64) {
            let (mut c, mut usd, mut served) = (0.0, 0.0, 0.0);
            for seed in 0..seeds {
                let params = Params {
                    seed,
                    ..Params::default()
                };
                let r = replay(&w, policy, &params, &prices).unwrap();
                for h in r.hours.iter().filter(|h| h.minutes == 60) {
                    c += h.cold_starts as f64;
                    usd += h.cost.total();
                    served += h.served as f64;
                }
            }
            let k = seeds as f64;
            (c / k, usd / k, served / k)
        };
        let (replay_cold, replay_usd, _) = avg(&Policy::Static(spec.current.clone()));

        let slo = ReplaySlo {
            max_cold_start_rate: Some(0.01),
            max_throttle_rate: 0.0,
        };
        let o = oracle(
            &w,
            &slo,
            &OracleSpace::memory(memory),
            &Params::default(),
            &prices,
        )
        .unwrap();
        let pe = Lambda
            .evaluate(&ctx, &o.deployment)
            .expect("engine evaluates");
        let (pc_cold, pc_usd, pc_served) = avg(&Policy::Static(o.deployment.clone()));
        let Deployment::Lambda(chosen) = &o.deployment else {
            unreachable!()
        };
        rows.push(Row {
            name: t.name.clone(),
            trigger: t.attributes.get("trigger").cloned().unwrap_or_default(),
            invocations: w.invocations(),
            mean_ms: w.duration_ms.mean(),
            engine_cold,
            replay_cold,
            engine_usd,
            replay_usd,
            pc_engine_cold_rate: full
                .iter()
                .map(|&h| pe.hours[h].cold_starts_per_month)
                .sum::<f64>()
                / full
                    .iter()
                    .map(|&h| pe.hours[h].invocations_per_month)
                    .sum::<f64>()
                    .max(1e-9),
            pc_replay_cold_rate: pc_cold / pc_served.max(1.0),
            pc_engine_usd: full.iter().map(|&h| pe.hours[h].usd_per_month).sum::<f64>()
                / per_window,
            pc_replay_usd: pc_usd,
            uses_pc: chosen.provisioned.peak() > 0,
        });
    }
    report(&rows, seeds);
}

fn quantiles(mut v: Vec<f64>) -> String {
    if v.is_empty() {
        return "—".into();
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((p * (v.len() - 1) as f64).round()) as usize];
    format!(
        "p10 {:.2}  p25 {:.2}  median {:.2}  p75 {:.2}  p90 {:.2}  (n = {})",
        q(0.1),
        q(0.25),
        q(0.5),
        q(0.75),
        q(0.9),
        v.len()
    )
}

fn report(rows: &[Row], seeds: u64) {
    let sum = |f: &dyn Fn(&Row) -> f64| rows.iter().map(f).sum::<f64>();
    println!(
        "{} invoked functions, replays averaged over {seeds} seeds\n",
        rows.len()
    );
    println!("No provisioned concurrency (current memory):");
    println!(
        "  cold starts in the window: engine {:.0}, replay {:.1}",
        sum(&|r| r.engine_cold),
        sum(&|r| r.replay_cold)
    );
    println!(
        "  cost of the window: engine ${:.4}, replay ${:.4}",
        sum(&|r| r.engine_usd),
        sum(&|r| r.replay_usd)
    );
    let ratios: Vec<f64> = rows
        .iter()
        .filter(|r| r.replay_cold >= 10.0)
        .map(|r| r.engine_cold / r.replay_cold)
        .collect();
    println!(
        "  engine / replay cold starts, functions with ≥ 10 replayed: {}",
        quantiles(ratios)
    );
    let mut worst: Vec<&Row> = rows
        .iter()
        .filter(|r| r.replay_cold >= 10.0 || r.engine_cold >= 10.0)
        .collect();
    worst.sort_by(|a, b| {
        let k = |r: &Row| (r.engine_cold.max(0.5) / r.replay_cold.max(0.5)).ln();
        k(b).total_cmp(&k(a))
    });
    let line = |r: &Row| {
        println!(
            "    {} {:<13} {:>8} inv, mean {:>8.1} ms: engine {:>7.1} vs replay {:>7.1} cold",
            r.name, r.trigger, r.invocations, r.mean_ms, r.engine_cold, r.replay_cold
        );
    };
    println!("  engine highest above the replay:");
    worst.iter().take(6).for_each(|r| line(r));
    println!("  engine furthest below the replay:");
    worst.iter().rev().take(6).for_each(|r| line(r));
    let cost_ratio: Vec<f64> = rows
        .iter()
        .filter(|r| r.replay_usd > 1e-6)
        .map(|r| r.engine_usd / r.replay_usd)
        .collect();
    println!(
        "  engine / replay cost per function: {}",
        quantiles(cost_ratio)
    );

    let pc: Vec<&Row> = rows.iter().filter(|r| r.uses_pc).collect();
    println!(
        "\nOracle schedules for a 1 % cold-start SLO ({} of {} use provisioned concurrency):",
        pc.len(),
        rows.len()
    );
    let over = pc.iter().filter(|r| r.pc_engine_cold_rate > 0.01).count();
    println!(
        "  engine predicts the SLO broken for {over} of them; replayed cold-start rate {}",
        quantiles(pc.iter().map(|r| r.pc_replay_cold_rate * 100.0).collect())
    );
    println!(
        "  engine cold-start rate (%) {}",
        quantiles(pc.iter().map(|r| r.pc_engine_cold_rate * 100.0).collect())
    );
    println!(
        "  cost of the window: engine ${:.4}, replay ${:.4}",
        pc.iter().map(|r| r.pc_engine_usd).sum::<f64>(),
        pc.iter().map(|r| r.pc_replay_usd).sum::<f64>()
    );
    println!(
        "  engine / replay cost per function: {}",
        quantiles(
            pc.iter()
                .filter(|r| r.pc_replay_usd > 1e-6)
                .map(|r| r.pc_engine_usd / r.pc_replay_usd)
                .collect()
        )
    );
}
