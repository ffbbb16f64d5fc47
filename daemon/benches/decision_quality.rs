//! The decision-quality benchmark: the five policies of `adaptd backtest` on the Azure
//! Functions 2019 sample (500 functions, 8 hours), with an SLO of ≤ 1 % cold starts and
//! no throttles, first on the http-triggered functions only, then on all functions;
//! then the calibration of the cold-start confidence: adaptd alone on all functions at
//! confidence 0.9, 0.95 and 0.99, against the oracle of the default run.
//! Functions without an SLO stay on demand under every policy but `current`.
//!
//! Run: `cargo bench -p adaptd --bench decision_quality` (add `-- --per-component` for
//! every function). Prints one table per run, the functions that missed the SLO, the
//! model's validation and the calibration table.
//!
//! - `ADAPTD_BENCH_SLO`: which runs, comma-separated `scope` or `scope@confidence`, the
//!   scope `http` or `all`, the confidence a number or `default` (default
//!   `http,all,all@0.9,all@0.95,all@0.99`). A scope's first run replays every policy;
//!   later runs of the same scope replay adaptd alone against that run's oracle.
//! - `ADAPTD_BENCH_JSON`: a path to write every run's figures to, as JSON.
//! - `ADAPTD_BENCH_PLATFORMS`: the platforms the functions may take, `lambda` (the
//!   default) or `lambda,fargate`. With Fargate allowed both platforms are replayed
//!   and the model-vs-replay error of the functions adaptd put on Fargate is printed
//!   on its own line (and written to the JSON file).

#![allow(
    clippy::print_stdout,
    reason = "a command-line tool: its output is the point"
)]

use std::collections::BTreeMap;
use std::time::Instant;

use adaptd::backtest::{Options, PolicyKind, Report, Validation, backtest, render_table};
use adaptd::pipeline::run;
use adaptd_config::Config;
use adaptd_engine::telemetry::TelemetrySet;

/// Current deployment assumed for every function (the trace has none): 1,024 MB x86_64,
/// on demand. Memory floors come from the trace's memory percentiles. `{platforms}` is
/// `ADAPTD_BENCH_PLATFORMS` as a TOML list.
const BASE: &str = r#"
[defaults]
memory_mb = 1024
architecture = "x86_64"

[[guardrails]]
name = "bench"
allowed_platforms = [{platforms}]
allow_arm64 = false
"#;

/// The runs when `ADAPTD_BENCH_SLO` is unset.
const DEFAULT_RUNS: &str = "http,all,all@0.9,all@0.95,all@0.99";

/// One run: which functions carry the SLO, at which confidence (`None`: the default).
struct RunSpec {
    scope: &'static str,
    rule: &'static str,
    confidence: Option<f64>,
}

/// What one run measured, for the calibration table and the JSON file.
#[derive(serde::Serialize)]
struct Measured {
    scope: &'static str,
    /// `None`: the default confidence.
    confidence: Option<f64>,
    slo_components: usize,
    slo_met: usize,
    share_met: f64,
    usd_per_month: f64,
    oracle_usd_per_month: Option<f64>,
    cost_vs_oracle: Option<f64>,
    recommend_seconds: f64,
    /// The functions that missed the SLO in replay: (name, invocations, cold starts,
    /// throttles).
    misses: Vec<(String, u64, u64, u64)>,
    /// The engine against the replay for adaptd's configuration, all functions and
    /// those adaptd put on Fargate.
    validation: Option<Validation>,
    validation_fargate: Option<Validation>,
}

fn parse_runs(text: &str) -> Vec<RunSpec> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (scope, confidence) = entry.split_once('@').unwrap_or((entry, "default"));
            let (scope, rule) = match scope {
                "http" => ("http-triggered functions", "match = { trigger = \"http\" }"),
                "all" => ("all functions", "match = {}"),
                other => panic!("ADAPTD_BENCH_SLO: unknown scope {other:?} (http or all)"),
            };
            let confidence = match confidence {
                "default" => None,
                c => Some(
                    c.parse::<f64>()
                        .unwrap_or_else(|_| panic!("ADAPTD_BENCH_SLO: {c:?} is not a confidence")),
                ),
            };
            RunSpec {
                scope,
                rule,
                confidence,
            }
        })
        .collect()
}

fn run_one(
    spec: &RunSpec,
    platforms: &str,
    telemetry: &TelemetrySet,
    oracle_usd: Option<f64>,
    per_component: bool,
) -> Measured {
    let confidence = spec
        .confidence
        .map_or(String::new(), |c| format!("confidence = {c}\n"));
    let base = BASE.replace("{platforms}", platforms);
    let text = format!(
        "{base}\n[[slo]]\nname = \"bench\"\n{}\nmax_cold_start_rate = 0.01\nmax_throttle_rate = 0.0\n{confidence}",
        spec.rule
    );
    let config = Config::from_str(&text, "bench.toml").expect("bench config is valid");
    let t = Instant::now();
    let planned = run(&config, telemetry).expect("recommendations");
    let recommend_seconds = t.elapsed().as_secs_f64();
    let mut options = Options {
        no_slo_on_demand: true,
        ..Options::default()
    };
    if oracle_usd.is_some() {
        options.policies = vec![PolicyKind::Adaptd];
    }
    let report = backtest(
        &planned.resolved,
        telemetry,
        &planned.profiles,
        &planned.recommendations,
        &options,
    )
    .expect("backtest");
    let label = spec
        .confidence
        .map_or("the default confidence".to_owned(), |c| {
            format!("confidence {c}")
        });
    println!(
        "== SLO (≤ 1 % cold starts, no throttles) on {}, {label}; recommend took {recommend_seconds:.2} s",
        spec.scope
    );
    println!("{}", render_table(&report, per_component));
    measure(spec, &report, oracle_usd, recommend_seconds)
}

fn measure(
    spec: &RunSpec,
    report: &Report,
    oracle_usd: Option<f64>,
    recommend_seconds: f64,
) -> Measured {
    let adaptd = report
        .policies
        .iter()
        .find(|p| p.policy == PolicyKind::Adaptd)
        .expect("adaptd ran");
    let oracle_usd = oracle_usd.or_else(|| {
        report
            .policies
            .iter()
            .find(|p| p.policy == PolicyKind::Oracle)
            .map(|p| p.usd_per_month)
    });
    let misses: Vec<(String, u64, u64, u64)> = report
        .outcomes
        .iter()
        .filter(|o| o.policy == PolicyKind::Adaptd && o.has_slo && !o.meets_slo)
        .map(|o| {
            (
                o.component.clone(),
                o.invocations,
                o.cold_starts,
                o.throttles,
            )
        })
        .collect();
    let listed: Vec<String> = misses
        .iter()
        .map(|(n, i, c, t)| format!("{n} ({c} cold, {t} throttled of {i})"))
        .collect();
    println!("missed: {}\n", listed.join(", "));
    Measured {
        scope: spec.scope,
        confidence: spec.confidence,
        slo_components: adaptd.slo_components,
        slo_met: adaptd.slo_met,
        share_met: adaptd.slo_met as f64 / adaptd.slo_components.max(1) as f64,
        usd_per_month: adaptd.usd_per_month,
        oracle_usd_per_month: oracle_usd,
        cost_vs_oracle: oracle_usd
            .filter(|&o| o > 0.0)
            .map(|o| adaptd.usd_per_month / o),
        recommend_seconds,
        misses,
        validation: report.validation.clone(),
        validation_fargate: report.validation_fargate.clone(),
    }
}

/// The calibration table: per run, the share of functions meeting the SLO against the
/// share the confidence plans for.
fn print_calibration(measured: &[Measured]) {
    println!("== Calibration: a planned probability c must come true for a share ≥ c");
    println!("| scope | confidence | SLO met | share | vs oracle | share ≥ c |");
    println!("|---|---|---|---|---|---|");
    for m in measured {
        let planned = m
            .confidence
            .unwrap_or(adaptd_engine::spec::DEFAULT_SLO_CONFIDENCE);
        println!(
            "| {} | {} | {}/{} | {:.1} % | {} | {} |",
            m.scope,
            m.confidence
                .map_or(format!("default ({planned})"), |c| c.to_string()),
            m.slo_met,
            m.slo_components,
            100.0 * m.share_met,
            m.cost_vs_oracle
                .map_or("-".to_owned(), |x| format!("{x:.3}×")),
            if m.share_met >= planned { "yes" } else { "no" },
        );
    }
}

fn main() {
    let per_component = std::env::args().any(|a| a == "--per-component");
    let runs =
        parse_runs(&std::env::var("ADAPTD_BENCH_SLO").unwrap_or_else(|_| DEFAULT_RUNS.to_owned()));
    let platforms: Vec<String> = std::env::var("ADAPTD_BENCH_PLATFORMS")
        .unwrap_or_else(|_| "lambda".to_owned())
        .split(',')
        .map(|p| format!("{:?}", p.trim()))
        .collect();
    let platforms = platforms.join(", ");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/azure2019-500");
    let t = Instant::now();
    let telemetry = adaptd_collectors::load(&format!("azure2019:{dir}")).expect("the sample loads");
    eprintln!(
        "loaded {} functions in {:.2} s",
        telemetry.len(),
        t.elapsed().as_secs_f64()
    );
    let mut oracle: BTreeMap<&'static str, f64> = BTreeMap::new();
    let mut measured = Vec::new();
    for spec in &runs {
        let m = run_one(
            spec,
            &platforms,
            &telemetry,
            oracle.get(spec.scope).copied(),
            per_component,
        );
        if let Some(o) = m.oracle_usd_per_month {
            oracle.entry(spec.scope).or_insert(o);
        }
        measured.push(m);
    }
    print_calibration(&measured);
    if let Ok(path) = std::env::var("ADAPTD_BENCH_JSON") {
        let json = serde_json::to_string_pretty(&measured).expect("figures serialise");
        std::fs::write(&path, json).expect("the JSON file is written");
        eprintln!("wrote {path}");
    }
}
