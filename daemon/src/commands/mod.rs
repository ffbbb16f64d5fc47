//! One function per subcommand. They print to stdout (results) and stderr (errors) and
//! return the process exit code.

pub mod report;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use adaptd_config::Config;
use adaptd_engine::telemetry::TelemetrySet;
use anyhow::Context;

use crate::cli::{BacktestArgs, BacktestFormat, DemoArgs, RecommendArgs};
use crate::output::{Format, render};
use crate::pipeline::{PipelineError, run};

/// Exit code for input the user must fix (config or telemetry errors).
pub const EXIT_INVALID_INPUT: u8 = 2;

fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .context("writing to stdout")?;
    out.flush().context("writing to stdout")
}

fn invalid(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("{e}");
    ExitCode::from(EXIT_INVALID_INPUT)
}

/// Loads the config (or the defaults) and the telemetry; `Err(code)` when the user must
/// fix an input.
fn inputs(
    config: Option<&Path>,
    telemetry: &str,
) -> anyhow::Result<Result<(Config, TelemetrySet), ExitCode>> {
    let config = match config {
        Some(path) => match Config::load(path) {
            Ok(c) => c,
            Err(e) => return Ok(Err(invalid(&e))),
        },
        None => Config::from_str("", "<defaults>").map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    match adaptd_collectors::load(telemetry) {
        Ok(t) => Ok(Ok((config, t))),
        Err(e) => Ok(Err(invalid(&e))),
    }
}

/// `adaptd recommend`.
pub fn recommend(args: &RecommendArgs) -> anyhow::Result<ExitCode> {
    let (config, telemetry) = match inputs(args.config.as_deref(), &args.telemetry)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    report(&config, &telemetry, args.output)
}

/// `adaptd backtest`.
pub fn backtest(args: &BacktestArgs) -> anyhow::Result<ExitCode> {
    let (config, telemetry) = match inputs(args.config.as_deref(), &args.telemetry)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let planned = match run(&config, &telemetry) {
        Ok(p) => p,
        Err(PipelineError::Config(e)) => return Ok(invalid(&e)),
        Err(e) => return Err(e.into()),
    };
    let mut options = crate::backtest::Options {
        no_slo_on_demand: args.no_slo_on_demand,
        ..Default::default()
    };
    options.params.seed = args.seed;
    if !args.policy.is_empty() {
        options.policies = args.policy.clone();
    }
    let report = crate::backtest::backtest(
        &planned.resolved,
        &telemetry,
        &planned.profiles,
        &planned.recommendations,
        &options,
    )?;
    print(&match args.output {
        BacktestFormat::Table => crate::backtest::render_table(&report, args.per_component),
        BacktestFormat::Json => crate::backtest::render_json(&report)?,
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `adaptd demo`.
pub fn demo(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let config = Config::from_str(crate::embedded::CONFIG, "examples/adaptd.toml")
        .map_err(|e| anyhow::anyhow!("embedded config: {e}"))?;
    let telemetry = adaptd_collectors::file::read_bytes(
        crate::embedded::TELEMETRY_CSV_GZ,
        "examples/telemetry.csv.gz",
    )
    .map_err(|e| anyhow::anyhow!("embedded telemetry: {e}"))?;
    report(&config, &telemetry, args.output)
}

fn report(config: &Config, telemetry: &TelemetrySet, format: Format) -> anyhow::Result<ExitCode> {
    match run(config, telemetry) {
        Ok(planned) => {
            print(&render(&planned.recommendations, format)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(PipelineError::Config(e)) => Ok(invalid(&e)),
        Err(PipelineError::Telemetry(e)) => Ok(invalid(&e)),
        Err(e) => Err(e.into()),
    }
}

/// `adaptd check-config`.
pub fn check_config(path: &Path) -> anyhow::Result<ExitCode> {
    match Config::load(path) {
        Ok(c) => {
            // Resolution catches what parsing cannot (contradicting guardrails).
            if let Err(e) = c.resolve(&[]) {
                return Ok(invalid(&e));
            }
            print(&format!("{}: ok\n", path.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(invalid(&e)),
    }
}
