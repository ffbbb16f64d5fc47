//! `adaptd collect`: one collection from the sources in `[collectors]`, written as a
//! telemetry file that `adaptd recommend --telemetry` reads.
//!
//! With `--state`, collection is incremental across runs: the watermarks are read
//! before and saved after, and only new minutes are fetched. Without it every run
//! fetches the whole `--since` window. What was collected is written even when a
//! scope failed (the failures are listed and the exit code is 1), since the other
//! accounts' and sources' data are complete.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use adaptd_collectors::cloudwatch::{CloudWatchCollector, Progress, Settings};
use adaptd_collectors::prometheus::PrometheusCollector;
use adaptd_collectors::shutdown::Shutdown;
use adaptd_collectors::watermarks::Watermarks;
use adaptd_config::Config;
use adaptd_engine::telemetry::TelemetrySet;
use anyhow::Context;

use super::EXIT_INVALID_INPUT;

/// Arguments of `adaptd collect`.
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// Config file (TOML) with `[collectors.cloudwatch]` and/or
    /// `[collectors.prometheus]`.
    #[arg(long, short)]
    pub config: PathBuf,
    /// History to fetch for what is collected for the first time: `2w`, `14d`,
    /// `36h`, `90m` (default: each collector's `lookback_days`).
    #[arg(long, value_parser = crate::duration::minutes)]
    pub since: Option<i64>,
    /// Telemetry file to write (`.csv`, `.json` or `.jsonl`).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Incremental state (JSON), read before and written after the collection.
    #[arg(long)]
    pub state: Option<PathBuf>,
}

fn invalid(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("{e}");
    ExitCode::from(EXIT_INVALID_INPUT)
}

/// A one-line progress bar on stderr, drawn only on a terminal.
struct Bar {
    tty: bool,
}

impl Bar {
    fn draw(&self, p: Progress) {
        if !self.tty {
            return;
        }
        let mut err = std::io::stderr().lock();
        match p {
            Progress::Discovered { functions, due } => {
                let _ = writeln!(
                    err,
                    "cloudwatch: {functions} functions, {due} due for metrics"
                );
            }
            Progress::Metrics { done, total } => {
                let width = 30;
                let filled = (done * width).checked_div(total).unwrap_or(width);
                let _ = write!(
                    err,
                    "\rGetMetricData [{}{}] {done}/{total}",
                    "#".repeat(filled),
                    " ".repeat(width - filled)
                );
                if done == total {
                    let _ = writeln!(err);
                }
            }
        }
    }
}

/// Writes `set` in the format its extension names.
fn write_telemetry(set: &TelemetrySet, path: &Path) -> anyhow::Result<()> {
    use adaptd_collectors::file::{Format, write_long_csv, write_long_json, write_long_jsonl};
    let name = path.display();
    let format = Format::of(path)
        .filter(|_| !name.to_string().ends_with(".gz"))
        .with_context(|| format!("{name}: the output must end in .csv, .json or .jsonl"))?;
    let tmp = path.with_extension("partial");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    match format {
        Format::Csv => write_long_csv(set, file),
        Format::Json => write_long_json(set, file),
        Format::JsonLines => write_long_jsonl(set, file),
    }
    .with_context(|| format!("writing {}", tmp.display()))?;
    // Renamed only once complete: a reader never sees half a file.
    std::fs::rename(&tmp, path).with_context(|| format!("writing {name}"))
}

/// Merges one collector's telemetry into the output.
fn merge(into: &mut TelemetrySet, from: TelemetrySet) {
    for (name, c) in from.components {
        let t = into.component_mut(&name);
        t.attributes.extend(c.attributes);
        t.series.extend(c.series);
        t.window = match (t.window, c.window) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        };
    }
    into.sources.extend(from.sources);
}

/// `adaptd collect`.
pub fn collect(args: &CollectArgs) -> anyhow::Result<ExitCode> {
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => return Ok(invalid(&e)),
    };
    let sections = &config.collectors;
    if sections.cloudwatch.is_none() && sections.prometheus.is_none() {
        return Ok(invalid(&format!(
            "{}: nothing to collect: add [collectors.cloudwatch] or [collectors.prometheus]",
            args.config.display()
        )));
    }
    let mut state = match &args.state {
        Some(p) => match Watermarks::load(p) {
            Ok(s) => s,
            Err(e) => return Ok(invalid(&e)),
        },
        None => Watermarks::new(),
    };
    let ecs = sections
        .cloudwatch
        .as_ref()
        .is_some_and(|s| s.ecs.is_some());
    let cloudwatch = match &sections.cloudwatch {
        Some(s) => match Settings::from_section(s) {
            Ok(settings) => {
                let settings = match args.since {
                    Some(m) => settings.with_lookback_minutes(m),
                    None => settings,
                };
                let bar = std::sync::Arc::new(Bar {
                    tty: std::io::stderr().is_terminal(),
                });
                Some(
                    CloudWatchCollector::from_settings(settings)
                        .with_progress(move |p| bar.draw(p)),
                )
            }
            Err(e) => return Ok(invalid(&e)),
        },
        None => None,
    };
    let prometheus = match &sections.prometheus {
        Some(s) => match PrometheusCollector::new(s) {
            Ok(c) => Some(match args.since {
                Some(m) => c.with_lookback_minutes(m),
                None => c,
            }),
            Err(e) => return Ok(invalid(&e)),
        },
        None => None,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (trigger, shutdown) = Shutdown::new();
    let mut out = TelemetrySet::default();
    let mut failures = 0;
    runtime.block_on(async {
        // Ctrl-C stops the collection cleanly: what is complete is still written.
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                trigger.trigger();
            }
        });
        if let Some(c) = &cloudwatch {
            let r = c.collect(&mut state, shutdown.clone()).await;
            let services = if ecs {
                format!(
                    "; {} ECS services, {} fetched, {} not due",
                    r.services_discovered, r.services_fetched, r.services_not_due
                )
            } else {
                String::new()
            };
            eprintln!(
                "cloudwatch: {} functions, {} fetched, {} not due{services}; {} metrics requested (${:.4}), {} API calls",
                r.functions_discovered,
                r.functions_fetched,
                r.functions_not_due,
                r.cost.metrics_requested,
                r.cost.usd(),
                r.cost.total_calls()
            );
            for n in &r.notes {
                eprintln!("cloudwatch: note: {n}");
            }
            for e in &r.errors {
                eprintln!("cloudwatch: error: {e}");
            }
            failures += r.errors.len();
            merge(&mut out, r.telemetry);
        }
        if let Some(c) = &prometheus {
            let r = c.collect(&mut state, shutdown.clone()).await;
            eprintln!(
                "prometheus: {} components, {} queries, {} samples",
                r.telemetry.len(),
                r.queries,
                r.samples
            );
            for e in &r.errors {
                eprintln!("prometheus: error: {e}");
            }
            failures += r.errors.len();
            merge(&mut out, r.telemetry);
        }
    });
    write_telemetry(&out, &args.out)?;
    if let Some(p) = &args.state {
        state.save(p)?;
    }
    eprintln!("wrote {} components to {}", out.len(), args.out.display());
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
