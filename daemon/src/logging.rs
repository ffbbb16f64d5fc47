//! The one place that decides where logs go: the libraries emit `tracing` events and
//! spans, and the binary installs this subscriber before running a command.
//!
//! Logs go to stderr, so stdout stays the command's result (a telemetry file's summary,
//! a recommendation document) that a pipe can read. The filter is `RUST_LOG`'s syntax
//! for everyone's events: adaptd's, the AWS SDK's (`aws_config`,
//! `aws_smithy_runtime`, `aws_sdk_*`), sqlx's (`sqlx::query`, `sqlx::pool`). Records of
//! dependencies that log through the `log` crate become events too (the subscriber's
//! `tracing-log` feature installs the bridge).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Without `--log-level` or `RUST_LOG`: adaptd's own information (its crates' targets
/// all begin with `adaptd`), and only warnings from the libraries underneath.
pub const DEFAULT_FILTER: &str = "warn,adaptd=info";

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line per event for a person: time, level, spans with their fields, target,
    /// message.
    #[default]
    Text,
    /// One JSON object per line for a log pipeline, with the current span's fields
    /// (`span`) and every enclosing span's (`spans`).
    Json,
}

/// The logging flags every subcommand takes.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct LogArgs {
    /// Which events are logged, in `RUST_LOG` syntax: `debug`, `adaptd=debug`,
    /// `info,aws_config=debug`, `sqlx::query=debug`. Default: `RUST_LOG`, else
    /// `warn,adaptd=info`.
    #[arg(long, global = true, value_name = "FILTER", env = "RUST_LOG")]
    pub log_level: Option<String>,
    /// How logs are written to stderr.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "FORMAT",
        env = "ADAPTD_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

/// The filter `args` name (or the default); an error names the filter that does not
/// parse.
pub fn filter(args: &LogArgs) -> anyhow::Result<EnvFilter> {
    let text = args
        .log_level
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(DEFAULT_FILTER);
    EnvFilter::builder().parse(text).map_err(|e| {
        anyhow::anyhow!("--log-level (or RUST_LOG) `{text}` is not a valid filter: {e}")
    })
}

/// Installs the subscriber for this process. Called once, before the command runs; a
/// second call (a test that runs two commands in one process) keeps the first.
pub fn init(args: &LogArgs) -> anyhow::Result<()> {
    let filter = filter(args)?;
    let registry = tracing_subscriber::registry().with(filter);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let installed = match args.log_format {
        LogFormat::Text => registry
            .with(fmt.with_ansi(std::io::stderr().is_terminal()))
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt.json()
                    .with_current_span(true)
                    .with_span_list(true)
                    .with_span_events(FmtSpan::NONE),
            )
            .try_init(),
    };
    // Already installed: the first one stays, which is what a second call wants.
    drop(installed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_adaptd_at_info_and_the_rest_at_warn() {
        let f = filter(&LogArgs::default()).unwrap();
        assert_eq!(f.to_string(), "adaptd=info,warn");
    }

    #[test]
    fn a_filter_that_does_not_parse_is_named() {
        let args = LogArgs {
            log_level: Some("adaptd=loud".into()),
            ..LogArgs::default()
        };
        let e = filter(&args).unwrap_err().to_string();
        assert!(e.contains("`adaptd=loud` is not a valid filter"), "{e}");
    }
}
