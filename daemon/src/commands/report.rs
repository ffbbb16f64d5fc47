//! `adaptd report`: the weekly report from a config and telemetry, written to a
//! directory and optionally announced on the configured webhook.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use adaptd_config::{Config, ReportFormat};
use adaptd_optimizer::recommend::RecommendationSet;
use adaptd_report::{AppliedFile, build};

use super::{invalid, print};
use crate::pipeline::PipelineError;
use crate::report::deliver::{Target, WebhookSettings, deliver};
use crate::report::scheduled::{keep_recommendations, previous_from_archive};
use crate::report::{Options, PrepareError, now_minute, prepare};

/// Arguments of `adaptd report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Config file (TOML); its `[report]` section gives the defaults below.
    #[arg(long, short)]
    pub config: PathBuf,
    /// Telemetry, as for `recommend`.
    #[arg(long, short)]
    pub telemetry: Option<String>,
    /// Length of the period, ending where the telemetry ends: `7d`, `36h`, `2w`
    /// (default: `[report] period_days`).
    #[arg(long, value_parser = parse_period)]
    pub period: Option<i64>,
    /// Formats, comma-separated: html, markdown, json, csv (default: `[report] formats`).
    #[arg(long, short, value_delimiter = ',', value_parser = parse_format)]
    pub format: Vec<ReportFormat>,
    /// Write into this directory. Without it, the report goes to
    /// `[report] output_dir/<period end date>/` and the index there is rebuilt.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Applied changes (JSON, see docs/reports.md) whose savings are measured.
    #[arg(long)]
    pub applied: Option<PathBuf>,
    /// The previous period's recommendations (`recommendations.json` of last week's
    /// report, or `adaptd recommend --output json`), for week-over-week changes.
    #[arg(long)]
    pub previous: Option<PathBuf>,
    /// Components whose cost–latency frontier is charted (default: `[report]
    /// frontier_components`).
    #[arg(long)]
    pub frontier: Option<usize>,
    /// Also post the message to `[report.webhook]`.
    #[arg(long)]
    pub notify: bool,
    /// Seed of the replays that measure realised savings.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// A duration (`7d`, `36h`, `2w`, see [`crate::duration`]) of at most 90 days, in
/// minutes.
pub fn parse_period(s: &str) -> Result<i64, String> {
    let minutes = crate::duration::minutes(s)?;
    if minutes > 90 * 1440 {
        return Err(format!("at most 90 days (got `{}`)", s.trim()));
    }
    Ok(minutes)
}

fn parse_format(s: &str) -> Result<ReportFormat, String> {
    s.parse()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read the {what} ({e})", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))
}

/// `adaptd report`.
pub fn report(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => return Ok(invalid(&e)),
    };
    let Some(source) = &args.telemetry else {
        return Ok(invalid(
            &"adaptd report: no telemetry: pass --telemetry PATH (a file, a directory or azure2019:DIR)",
        ));
    };
    let telemetry = match adaptd_collectors::load(source) {
        Ok(t) => t,
        Err(e) => return Ok(invalid(&e)),
    };
    let applied = match &args.applied {
        None => Vec::new(),
        Some(p) => {
            let text = match std::fs::read_to_string(p) {
                Ok(t) => t,
                Err(e) => {
                    return Ok(invalid(&format!(
                        "{}: cannot read the applied changes ({e})",
                        p.display()
                    )));
                }
            };
            match AppliedFile::parse(&text, &p.display().to_string()) {
                Ok(f) => f.changes,
                Err(e) => return Ok(invalid(&e)),
            }
        }
    };
    let settings = &config.report;
    let archive_root = args
        .config
        .parent()
        .unwrap_or(Path::new("."))
        .join(&settings.output_dir);
    let previous: Option<RecommendationSet> = match (&args.previous, &args.out) {
        (Some(p), _) => match read_json(p, "previous recommendations") {
            Ok(s) => Some(s),
            Err(e) => return Ok(invalid(&e)),
        },
        // Archived: last period's report is next door.
        (None, None) => crate::report::window::end(&telemetry)
            .and_then(|end| previous_from_archive(&archive_root, &adaptd_report::text::date(end))),
        (None, Some(_)) => None,
    };
    let webhook = match (&settings.webhook, args.notify) {
        (Some(w), true) => Some(WebhookSettings::from(w)),
        (None, true) => {
            return Ok(invalid(&format!(
                "{}: --notify needs a [report.webhook] section with a url",
                args.config.display()
            )));
        }
        (_, false) => None,
    };
    let formats = if args.format.is_empty() {
        settings.formats.clone()
    } else {
        args.format.clone()
    };
    let options = Options {
        title: "adaptd weekly report".to_owned(),
        period_minutes: args
            .period
            .unwrap_or(i64::from(settings.period_days) * 1440),
        end_minute: None,
        generated_at_minute: now_minute(),
        frontier_components: args
            .frontier
            .unwrap_or(settings.frontier_components as usize),
        applied,
        previous,
        params: adaptd_replay::Params {
            seed: args.seed,
            ..Default::default()
        },
    };
    let inputs = match prepare(&config, &telemetry, &options) {
        Ok(i) => i,
        Err(PrepareError::Pipeline(PipelineError::Config(e))) => return Ok(invalid(&e)),
        Err(PrepareError::Pipeline(PipelineError::Telemetry(e))) => return Ok(invalid(&e)),
        Err(e @ (PrepareError::NoTelemetry | PrepareError::EmptyPeriod { .. })) => {
            return Ok(invalid(&e));
        }
        Err(e) => return Err(e.into()),
    };
    let document = build(&inputs);
    let target = match &args.out {
        Some(dir) => Target::Directory(dir),
        None => Target::Archive(&archive_root),
    };
    let delivered = deliver(
        &document,
        &formats,
        target,
        settings.link_base_url.as_deref(),
        webhook.as_ref(),
        &mut std::thread::sleep,
    )?;
    // Next period's `--previous`.
    let recs = keep_recommendations(&delivered.dir, &inputs.recommendations)?;

    let mut out = String::new();
    for f in delivered
        .files
        .iter()
        .chain(&delivered.index)
        .chain([&recs])
    {
        out.push_str(&format!("wrote {}\n", f.display()));
    }
    out.push_str(&format!("report: {}\n", delivered.link));
    let uploaded = match (&settings.s3, &args.out) {
        (Some(s3), None) => Some(copy_archive(&archive_root, s3, &mut out)?),
        _ => None,
    };
    print(&out)?;
    let mut code = ExitCode::SUCCESS;
    if let Some(Err(e)) = delivered.webhook {
        eprintln!("adaptd report: the files are written; {e}");
        code = ExitCode::from(1);
    }
    if let Some(Err(e)) = uploaded {
        eprintln!("adaptd report: the files are written; {e}");
        code = ExitCode::from(1);
    }
    Ok(code)
}

/// Copies the archive to `[report.s3]`; the line for stdout goes into `out`, and a
/// failure is the error message for stderr.
fn copy_archive(
    root: &Path,
    s3: &adaptd_config::S3Section,
    out: &mut String,
) -> anyhow::Result<Result<(), String>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let u = match runtime.block_on(crate::report::s3::upload_archive(root, s3)) {
        Ok(u) => u,
        Err(e) => return Ok(Err(format!("the copy to {} failed: {e}", s3.location()))),
    };
    out.push_str(&format!(
        "copied to {}: {} file(s) put, {} unchanged\n",
        u.location,
        u.put.len(),
        u.unchanged
    ));
    Ok(match u.failed.first() {
        None => Ok(()),
        Some((key, why)) => Err(format!(
            "{} file(s) could not be copied to {} (first: {key}: {why}); the next report tries again",
            u.failed.len(),
            u.location
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_with_units() {
        assert_eq!(parse_period("7d"), Ok(7 * 1440));
        assert_eq!(parse_period("36h"), Ok(36 * 60));
        assert_eq!(parse_period("2w"), Ok(14 * 1440));
        assert!(parse_period("7").unwrap_err().contains("unknown unit"));
        assert!(parse_period("0d").unwrap_err().contains("whole number > 0"));
        assert_eq!(
            parse_period("13w"),
            Err("at most 90 days (got `13w`)".into())
        );
    }
}
