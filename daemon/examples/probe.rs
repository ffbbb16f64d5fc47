//! Development probe: the engine's prediction against the replay for one component
//! under a few fixed deployments.
//!
//! `cargo run --release -p adaptd --example probe -- CONFIG TELEMETRY COMPONENT MEMORY_MB PC...`
//! prints, for each constant provisioned concurrency PC at MEMORY_MB, the predicted and
//! replayed window cost and cold starts.

#![allow(
    clippy::print_stdout,
    reason = "a command-line tool: its output is the point"
)]

use adaptd::backtest::{Options, PolicyKind, backtest};
use adaptd::pipeline::run;
use adaptd_config::Config;
use adaptd_engine::spec::{Deployment, Provisioned};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, config, telemetry, component, memory, levels @ ..] = args.as_slice() else {
        eprintln!("usage: probe CONFIG TELEMETRY COMPONENT MEMORY_MB PC...");
        std::process::exit(2);
    };
    let config = Config::load(std::path::Path::new(config)).expect("config");
    let telemetry = adaptd_collectors::load(telemetry).expect("telemetry");
    let mut planned = run(&config, &telemetry).expect("recommendations");
    for level in levels {
        let pc: u32 = level.parse().expect("a number");
        let rec = planned
            .recommendations
            .components
            .iter_mut()
            .find(|r| &r.component == component)
            .expect("component");
        let p = rec.recommended.as_mut().expect("recommended");
        if let Deployment::Lambda(l) = &mut p.deployment {
            l.memory_mb = memory.parse().expect("memory");
            l.provisioned = Provisioned::from_hourly([pc; 24]);
        }
        let mut resolved = planned.resolved.clone();
        resolved.components.retain(|c| &c.name == component);
        let options = Options {
            policies: vec![PolicyKind::Adaptd],
            ..Options::default()
        };
        let r = backtest(
            &resolved,
            &telemetry,
            &planned.profiles,
            &planned.recommendations,
            &options,
        )
        .expect("backtest");
        let o = &r.outcomes[0];
        println!(
            "{component} {memory} MB PC {pc}: window cost predicted {:.3} replayed {:.3}; cold predicted {:.1} replayed {}",
            o.predicted_window_usd.unwrap_or(f64::NAN),
            o.window_usd,
            o.predicted_cold_start_rate.unwrap_or(f64::NAN) * o.invocations as f64,
            o.cold_starts
        );
    }
}
