//! The decision-quality benchmark: the five policies of `adaptd backtest` on the Azure
//! Functions 2019 sample (500 functions, 8 hours), with an SLO of ≤ 1 % cold starts and
//! no throttles, first on the http-triggered functions only, then on all functions.
//! Functions without an SLO stay on demand under every policy but `current`.
//!
//! Run: `cargo bench -p adaptd --bench decision_quality` (add `-- --per-component` for
//! every function). Prints one table per SLO scope and the model's validation.

#![allow(
    clippy::print_stdout,
    reason = "a command-line tool: its output is the point"
)]

use std::time::Instant;

use adaptd::backtest::{Options, backtest, render_table};
use adaptd::pipeline::run;
use adaptd_config::Config;

/// Current deployment assumed for every function (the trace has none): 1,024 MB x86_64,
/// on demand. Memory floors come from the trace's memory percentiles.
const BASE: &str = r#"
[defaults]
memory_mb = 1024
architecture = "x86_64"

[[guardrails]]
name = "bench"
allowed_platforms = ["lambda"]
allow_arm64 = false
"#;

fn main() {
    let per_component = std::env::args().any(|a| a == "--per-component");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/azure2019-500");
    let t = Instant::now();
    let telemetry = adaptd_collectors::load(&format!("azure2019:{dir}")).expect("the sample loads");
    eprintln!(
        "loaded {} functions in {:.2} s",
        telemetry.len(),
        t.elapsed().as_secs_f64()
    );
    for (scope, rule) in [
        ("http-triggered functions", "match = { trigger = \"http\" }"),
        ("all functions", "match = {}"),
    ] {
        let text = format!(
            "{BASE}\n[[slo]]\nname = \"bench\"\n{rule}\nmax_cold_start_rate = 0.01\nmax_throttle_rate = 0.0\n"
        );
        let config = Config::from_str(&text, "bench.toml").expect("bench config is valid");
        let t = Instant::now();
        let planned = run(&config, &telemetry).expect("recommendations");
        let recommend_s = t.elapsed().as_secs_f64();
        let options = Options {
            no_slo_on_demand: true,
            ..Options::default()
        };
        let report = backtest(
            &planned.resolved,
            &telemetry,
            &planned.profiles,
            &planned.recommendations,
            &options,
        )
        .expect("backtest");
        println!(
            "== SLO (≤ 1 % cold starts, no throttles) on {scope}; recommend took {recommend_s:.2} s"
        );
        println!("{}", render_table(&report, per_component));
    }
}
