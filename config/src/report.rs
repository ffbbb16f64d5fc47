//! `[report]`: the weekly report — when it runs, what it covers, where it goes.
//!
//! The service reads `schedule` to know when to build the report; `adaptd report` reads
//! the rest as defaults for its flags. Delivery has two channels, files (always) and an
//! optional Slack-compatible incoming webhook, whose retry settings live here so that an
//! operator can tune them without a rebuild.

pub mod cron;
pub mod s3;

use adaptd_engine::zone::{Zone, ZoneError};
use serde::Deserialize;

use crate::check::{Bound, Check};
use crate::spans::{index, join};

pub use cron::{Cron, CronError, next_run_after};
pub use s3::S3Section;

/// Formats a report can be written in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// One self-contained HTML page with inline SVG charts.
    Html,
    /// Markdown, for chat, wikis and pull requests.
    Markdown,
    /// The report document as JSON (schema in `docs/report.schema.json`).
    Json,
    /// One row per component.
    Csv,
}

impl ReportFormat {
    /// All formats, in the order files are written.
    pub const ALL: [ReportFormat; 4] = [
        ReportFormat::Html,
        ReportFormat::Markdown,
        ReportFormat::Json,
        ReportFormat::Csv,
    ];

    /// The name used in config and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Markdown => "markdown",
            ReportFormat::Json => "json",
            ReportFormat::Csv => "csv",
        }
    }
}

impl std::str::FromStr for ReportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| {
                f.as_str().eq_ignore_ascii_case(s.trim())
                    || (s.trim() == "md" && *f == ReportFormat::Markdown)
            })
            .ok_or_else(|| {
                format!("unknown report format `{s}` (expected one of: html, markdown, json, csv)")
            })
    }
}

/// The `[report]` section. Every key is optional.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportSection {
    /// When the service builds the report: a five-field cron expression, read in
    /// `timezone` (default `"0 8 * * MON"`, Mondays at 08:00).
    pub schedule: String,
    /// The IANA time zone `schedule` is in, such as `"Europe/Berlin"`: the report then
    /// runs at 08:00 local time in winter and in summer alike (default `"UTC"`).
    pub timezone: Option<String>,
    /// Days of telemetry the report covers, ending at the run (1–90; default 7).
    pub period_days: u32,
    /// Directory the service writes reports into, one subdirectory per period
    /// (relative to the config file; default `"reports"`).
    pub output_dir: String,
    /// Formats written (default all four: `["html", "markdown", "json", "csv"]`).
    pub formats: Vec<ReportFormat>,
    /// Components (largest savings first) whose cost–latency frontier is charted
    /// (0–20; default 3). Each costs a few optimiser solves.
    pub frontier_components: u32,
    /// Where the report directory is served, for links in the webhook message
    /// (`http://` or `https://`; default none: the message names the file path).
    pub link_base_url: Option<String>,
    /// The webhook message (default none: files only).
    pub webhook: Option<WebhookSection>,
    /// A copy of the archive in an S3 bucket (default none: the local archive only).
    pub s3: Option<S3Section>,
}

impl Default for ReportSection {
    fn default() -> Self {
        Self {
            schedule: "0 8 * * MON".to_owned(),
            timezone: None,
            period_days: 7,
            output_dir: "reports".to_owned(),
            formats: ReportFormat::ALL.to_vec(),
            frontier_components: 3,
            link_base_url: None,
            webhook: None,
            s3: None,
        }
    }
}

/// `[report.webhook]`: a Slack-compatible incoming webhook.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSection {
    /// The incoming-webhook URL (`http://` or `https://`; required).
    pub url: String,
    /// Attempts before giving up, the first included (1–10; default 4).
    pub max_attempts: u32,
    /// Wait after the first failure, in seconds; doubled after each further failure
    /// (> 0; default 2).
    pub initial_backoff_seconds: f64,
    /// Longest wait between attempts, in seconds (>= `initial_backoff_seconds`;
    /// default 60).
    pub max_backoff_seconds: f64,
    /// Time allowed for one attempt, in seconds (> 0; default 10).
    pub timeout_seconds: f64,
    /// Components listed in the message, largest savings first (1–20; default 5).
    pub top_items: u32,
}

impl Default for WebhookSection {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_attempts: 4,
            initial_backoff_seconds: 2.0,
            max_backoff_seconds: 60.0,
            timeout_seconds: 10.0,
            top_items: 5,
        }
    }
}

impl ReportSection {
    /// The parsed schedule in its zone (both validated when the config was loaded).
    pub fn cron(&self) -> Result<Cron, CronError> {
        let zone = self.zone().map_err(|e| CronError::from(e.to_string()))?;
        Ok(self.schedule.parse::<Cron>()?.in_zone(zone))
    }

    /// The zone of the schedule (UTC when unset).
    pub fn zone(&self) -> Result<Zone, ZoneError> {
        self.timezone.as_deref().map_or(Ok(Zone::UTC), str::parse)
    }

    pub(crate) fn validate(&self, path: &str, ck: &mut Check<'_>) {
        let p = |k: &str| join(path, k);
        if let Err(e) = self.schedule.parse::<Cron>() {
            ck.err(
                &p("schedule"),
                format!("invalid cron expression: {e} (got \"{}\")", self.schedule),
            );
        }
        ck.zone(&p("timezone"), self.timezone.as_deref());
        ck.num(
            &p("period_days"),
            f64::from(self.period_days),
            &[Bound::Ge(1.0), Bound::Le(90.0)],
        );
        if self.output_dir.trim().is_empty() {
            ck.err(&p("output_dir"), "must not be empty");
        }
        if self.formats.is_empty() {
            ck.err(
                &p("formats"),
                "must name at least one format (expected some of: html, markdown, json, csv)",
            );
        }
        for (i, f) in self.formats.iter().enumerate() {
            if self.formats[..i].contains(f) {
                ck.err(
                    &index(&p("formats"), i),
                    format!("duplicate format \"{}\"", f.as_str()),
                );
            }
        }
        ck.num(
            &p("frontier_components"),
            f64::from(self.frontier_components),
            &[Bound::Ge(0.0), Bound::Le(20.0)],
        );
        if let Some(url) = &self.link_base_url {
            check_url(&p("link_base_url"), url, ck);
        }
        if let Some(w) = &self.webhook {
            w.validate(&p("webhook"), ck);
        }
        if let Some(s3) = &self.s3 {
            s3.validate(&p("s3"), ck);
        }
    }
}

impl WebhookSection {
    fn validate(&self, path: &str, ck: &mut Check<'_>) {
        let p = |k: &str| join(path, k);
        if ck.require(&p("url"), !self.url.is_empty(), "") {
            check_url(&p("url"), &self.url, ck);
        }
        ck.num(
            &p("max_attempts"),
            f64::from(self.max_attempts),
            &[Bound::Ge(1.0), Bound::Le(10.0)],
        );
        let initial_ok = ck.num(
            &p("initial_backoff_seconds"),
            self.initial_backoff_seconds,
            &[Bound::Gt(0.0)],
        );
        if initial_ok {
            ck.num(
                &p("max_backoff_seconds"),
                self.max_backoff_seconds,
                &[Bound::Ge(self.initial_backoff_seconds)],
            );
        }
        ck.num(
            &p("timeout_seconds"),
            self.timeout_seconds,
            &[Bound::Gt(0.0)],
        );
        ck.num(
            &p("top_items"),
            f64::from(self.top_items),
            &[Bound::Ge(1.0), Bound::Le(20.0)],
        );
    }
}

/// An absolute http(s) URL with a host and no whitespace: enough to catch a pasted
/// token or a missing scheme before the first delivery fails at 08:00 on a Monday.
fn check_url(path: &str, url: &str, ck: &mut Check<'_>) {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    if rest.is_none() {
        ck.err(
            path,
            format!("must start with https:// or http:// (got \"{url}\")"),
        );
    } else if host.is_none_or(str::is_empty) {
        ck.err(path, format!("has no host (got \"{url}\")"));
    } else if url.chars().any(char::is_whitespace) {
        ck.err(path, format!("must not contain spaces (got \"{url}\")"));
    }
}
