//! Command-line interface.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::apply::ApplyArgs;
use crate::commands::collect::CollectArgs;
use crate::commands::iac::IacArgs;
use crate::commands::recommendations::RecommendationsArgs;
use crate::commands::report::ReportArgs;
use crate::commands::serve::ServeArgs;
use crate::output::{Detail, Format};

/// `adaptd --version`: the release and the commit it was built from (build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ADAPTD_GIT_COMMIT"),
    ")"
);

/// adaptd: telemetry-driven cost and latency optimisation for AWS Lambda and Fargate.
#[derive(Debug, Parser)]
#[command(name = "adaptd", version = VERSION, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// `--log-level`, `--log-format` (every subcommand takes them).
    #[command(flatten)]
    pub log: crate::logging::LogArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Recommend a configuration for every component from local telemetry.
    Recommend(RecommendArgs),
    /// Run `recommend` on the embedded sample (no files or cloud account needed).
    Demo(DemoArgs),
    /// Replay the telemetry against what each policy would have deployed.
    Backtest(BacktestArgs),
    /// The cost–latency frontier of one component (cheapest configuration per p99).
    Frontier(FrontierArgs),
    /// Write the weekly report (HTML, Markdown, JSON, CSV) and optionally announce it.
    Report(ReportArgs),
    /// The recommendations as a change to Terraform or CloudFormation (diff or write).
    Iac(IacArgs),
    /// Collect telemetry from CloudWatch and Prometheus into a telemetry file.
    Collect(CollectArgs),
    /// Apply recommendations through the AWS API within guardrails (dry run by default).
    Apply(ApplyArgs),
    /// Run the service: cycles on a schedule, HTTP API, /metrics (see docs/service.md).
    Serve(ServeArgs),
    /// List, show, approve or reject a running service's recommendations (its HTTP API).
    Recommendations(RecommendationsArgs),
    /// Validate a config file; print every error with file:line:col.
    CheckConfig {
        /// The config file.
        file: PathBuf,
    },
}

/// Arguments of `adaptd recommend`.
#[derive(Debug, clap::Args)]
pub struct RecommendArgs {
    /// Config file (TOML). Without one, documented defaults apply.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Telemetry: a long-format file (.csv, .json, .jsonl, optionally .gz), a directory
    /// of them, or `azure2019:DIR` for the Azure Functions 2019 trace format.
    #[arg(long, short)]
    pub telemetry: String,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: Format,
    /// How much of each recommendation JSON and NDJSON carry.
    #[arg(long, value_enum, default_value = "summary")]
    pub detail: Detail,
}

/// Arguments of `adaptd backtest`.
#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// Config file (TOML). Without one, documented defaults apply.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Telemetry, as for `recommend`.
    #[arg(long, short)]
    pub telemetry: String,
    /// Policies to compare (default: all five).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub policy: Vec<crate::backtest::PolicyKind>,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: BacktestFormat,
    /// Also list every component under every policy.
    #[arg(long)]
    pub per_component: bool,
    /// Seed of the replay's arrival and duration draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Keep components without an SLO on demand under every policy but `current`.
    #[arg(long)]
    pub no_slo_on_demand: bool,
}

/// Arguments of `adaptd frontier`.
#[derive(Debug, clap::Args)]
pub struct FrontierArgs {
    /// Config file (TOML). Without one, documented defaults apply.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Telemetry, as for `recommend`.
    #[arg(long, short)]
    pub telemetry: String,
    /// The component.
    #[arg(long)]
    pub component: String,
    /// Most points to compute.
    #[arg(long, default_value_t = 12)]
    pub points: usize,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: BacktestFormat,
}

/// Output formats of `adaptd backtest` and `adaptd frontier`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BacktestFormat {
    /// Aligned text.
    Table,
    /// JSON.
    Json,
}

/// Arguments of `adaptd demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Output format.
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: Format,
    /// How much of each recommendation JSON and NDJSON carry.
    #[arg(long, value_enum, default_value = "summary")]
    pub detail: Detail,
}
