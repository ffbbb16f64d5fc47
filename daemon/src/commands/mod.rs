//! One function per subcommand. They print to stdout (results) and stderr (errors) and
//! return the process exit code.

pub mod apply;
pub mod collect;
pub mod iac;
pub mod recommendations;
pub mod report;
pub mod serve;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use adaptd_config::Config;
use adaptd_engine::telemetry::TelemetrySet;
use anyhow::Context;
use clap::Parser;

use crate::cli::{
    BacktestArgs, BacktestFormat, Cli, Command, DemoArgs, FrontierArgs, RecommendArgs,
};
use crate::output::{Detail, Format};
use crate::pipeline::{PipelineError, run};

/// Parses the command line, runs it and maps failures to exit codes: 2 for invalid
/// input (config, telemetry), 1 for everything else.
pub fn main() -> ExitCode {
    run_cli(Cli::parse())
}

/// Runs a parsed command line (see [`main`]); the binary parses first to tune the
/// allocator for the command before any thread starts.
pub fn run_cli(cli: Cli) -> ExitCode {
    if let Err(e) = crate::logging::init(&cli.log) {
        eprintln!("adaptd: {e:#}");
        return ExitCode::from(EXIT_INVALID_INPUT);
    }
    let result = match cli.command {
        Command::Recommend(args) => recommend(&args),
        Command::Demo(args) => demo(&args),
        Command::Backtest(args) => backtest(&args),
        Command::Frontier(args) => frontier(&args),
        Command::Report(args) => report::report(&args),
        Command::Iac(args) => iac::iac(&args),
        Command::Collect(args) => collect::collect(&args),
        Command::Serve(args) => serve::serve(&args),
        Command::Apply(args) => apply::apply(&args),
        Command::Recommendations(args) => recommendations::recommendations(&args),
        Command::CheckConfig { file } => check_config(&file),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("adaptd: {e:#}");
            ExitCode::from(1)
        }
    }
}

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
    report(&config, &telemetry, args.output, args.detail)
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
    report(&config, &telemetry, args.output, args.detail)
}

fn report(
    config: &Config,
    telemetry: &TelemetrySet,
    format: Format,
    detail: Detail,
) -> anyhow::Result<ExitCode> {
    match run(config, telemetry) {
        Ok(planned) => {
            let mut set = planned.recommendations;
            drop(planned.profiles);
            if detail == Detail::Summary && matches!(format, Format::Json | Format::Ndjson) {
                crate::output::trim(&mut set);
            }
            // The table shows them itself; other formats may be read by a program.
            if format != Format::Table {
                for w in &set.warnings {
                    eprintln!("warning: {w}");
                }
            }
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            crate::output::write(&set, format, &mut out)
                .and_then(|()| out.flush())
                .context("writing to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(PipelineError::Config(e)) => Ok(invalid(&e)),
        Err(PipelineError::Telemetry(e)) => Ok(invalid(&e)),
        Err(e) => Err(e.into()),
    }
}

/// `adaptd frontier`.
pub fn frontier(args: &FrontierArgs) -> anyhow::Result<ExitCode> {
    let (config, telemetry) = match inputs(args.config.as_deref(), &args.telemetry)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let resolved = match config.resolve(&crate::pipeline::discovered(&telemetry)) {
        Ok(r) => r,
        Err(e) => return Ok(invalid(&e)),
    };
    let Some(spec) = resolved
        .components
        .iter()
        .find(|c| c.name == args.component)
    else {
        return Ok(invalid(&format!(
            "no component `{}` in the config or the telemetry",
            args.component
        )));
    };
    let profiles = crate::pipeline::profiles(&resolved, &telemetry);
    let Some(profile) = profiles.get(&spec.name) else {
        return Ok(invalid(&format!("no telemetry for `{}`", spec.name)));
    };
    let points = adaptd_optimizer::recommend::frontier::frontier(
        spec,
        profile,
        &resolved.prices,
        args.points,
    );
    let text = match args.output {
        BacktestFormat::Json => serde_json::to_string_pretty(&points)? + "\n",
        BacktestFormat::Table => {
            let mut t = format!(
                "{:>14}  {:>12}  {:>10}  CONFIGURATION\n",
                "$/MONTH", "P99 (WORST H)", "COLD"
            );
            for p in &points {
                t.push_str(&format!(
                    "{:>14}  {:>10.0} ms  {:>10}  {}\n",
                    crate::output::usd(p.usd_per_month),
                    p.worst_hour_p99_ms,
                    crate::output::pct(p.cold_start_rate),
                    p.description
                ));
            }
            t
        }
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
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
