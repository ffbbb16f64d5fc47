//! One function per subcommand. They print to stdout (results) and stderr (errors) and
//! return the process exit code.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use adaptd_config::Config;
use anyhow::Context;

use crate::cli::{DemoArgs, RecommendArgs};
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

/// `adaptd recommend`.
pub fn recommend(args: &RecommendArgs) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(c) => c,
            Err(e) => return Ok(invalid(&e)),
        },
        None => Config::from_str("", "<defaults>").map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let telemetry = match adaptd_collectors::load(&args.telemetry) {
        Ok(t) => t,
        Err(e) => return Ok(invalid(&e)),
    };
    report(&config, &telemetry, args.output)
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

fn report(
    config: &Config,
    telemetry: &adaptd_engine::telemetry::TelemetrySet,
    format: Format,
) -> anyhow::Result<ExitCode> {
    match run(config, telemetry) {
        Ok((_, set)) => {
            print(&render(&set, format)?)?;
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
