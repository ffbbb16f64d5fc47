//! adaptd's weekly report.
//!
//! Many teams meet adaptd through this report, so it is built to be forwarded: a
//! self-contained HTML page with charts drawn as inline SVG (readable offline, from an
//! attachment, with scripts blocked), the same content as Markdown, and the document
//! itself as JSON (`docs/report.schema.json`) and CSV.
//!
//! The crate is pure: [`Inputs`] (recommendations, what telemetry observed, frontiers,
//! applied changes with their measured savings, data-quality findings) go in, strings
//! come out. Gathering the inputs (telemetry, the optimiser, replays of applied changes)
//! and delivering the outputs (files, the webhook) belong to the daemon, so that the
//! CLI and the long-lived service render identical reports.
//!
//! ```text
//! Inputs ──build──▶ Report ──render──▶ html | markdown | json | csv
//!                          └─message─▶ Slack-compatible webhook JSON
//! ```

mod build;
pub mod chart;
mod csv;
mod files;
mod html;
mod input;
mod markdown;
mod model;
mod slack;
pub mod text;

pub use adaptd_config::ReportFormat;
pub use build::build;
pub use files::{MANIFEST, Manifest, RenderedFile, file_names, render_files, render_index};
pub use html::CONTENT_SECURITY_POLICY;
pub use input::{
    AppliedChange, AppliedError, AppliedFile, ChangeOutcome, ChangeState, DataQualityWarning,
    Inputs, Observed, Period, Realised,
};
pub use model::{
    ComponentReport, HourPoint, PeriodInfo, Report, RiskKind, SCHEMA_VERSION, SloRisk, Summary,
};
pub use slack::message as slack_message;

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The document or manifest could not be serialised.
    #[error("cannot serialise the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Renders one format as a single string (CSV: the components file).
pub fn render(report: &Report, format: ReportFormat) -> Result<String, ReportError> {
    Ok(match format {
        ReportFormat::Html => html::render(report),
        ReportFormat::Markdown => markdown::render(report),
        ReportFormat::Json => serde_json::to_string_pretty(report)? + "\n",
        ReportFormat::Csv => csv::components(report),
    })
}
